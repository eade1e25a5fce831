//! `/deployment/registered` and `/deployment/{id}/redeploy`.
//!
//! baton is one engine without process applications, so every deployment is registered with
//! its job executor: `registered` lists every deployment id. A redeployment creates a new
//! deployment (same name, the original's tenant, `source` from the body) from all of the
//! original's resources, or from the union of `resourceIds` and `resourceNames` when either is
//! given; its processes get new versions (no duplicate filtering), as Camunda's
//! `nameFromDeployment` + `addDeploymentResourcesById/ByName`.

use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::Value as J;

use super::error::{ApiError, ApiResult, not_found_as};
use super::json::Json;
use super::{ApiState, BaseUrl, Route};
use crate::engine::{DeployRequest, Resource};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get(
            "/deployment/registered",
            "Ids of the deployments registered with the job executor",
            registered,
        ),
        Route::post(
            "/deployment/{id}/redeploy",
            "Deploy the resources of a deployment again",
            redeploy,
        ),
    ]
}

async fn registered(State(state): State<ApiState>) -> ApiResult<Json<J>> {
    let ids: Vec<J> = super::query::live(state.engine.deployments().await?)
        .map(|d| J::String(d.id))
        .collect();
    Ok(Json(J::Array(ids)))
}

/// `RedeploymentDto`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RedeployBody {
    resource_ids: Option<Vec<String>>,
    resource_names: Option<Vec<String>>,
    source: Option<String>,
}

async fn redeploy(
    State(state): State<ApiState>,
    base: BaseUrl,
    Path(id): Path<String>,
    Json(body): Json<RedeployBody>,
) -> ApiResult<Json<J>> {
    let original = state.engine.deployment(&id).await.map_err(|e| {
        not_found_as(e, || {
            ApiError::not_found(format!("Deployment with id '{id}' does not exist"))
        })
    })?;
    let ids = body.resource_ids.unwrap_or_default();
    let names = body.resource_names.unwrap_or_default();
    for rid in &ids {
        if !original.resources.iter().any(|r| &r.id == rid) {
            return Err(ApiError::not_found(format!(
                "The deployment with id '{id}' does not contain the following resources with ids: {rid}"
            )));
        }
    }
    for name in &names {
        if !original.resources.iter().any(|r| &r.name == name) {
            return Err(ApiError::not_found(format!(
                "The deployment with id '{id}' does not contain the following resources with names: {name}"
            )));
        }
    }
    let all = ids.is_empty() && names.is_empty();
    let mut resources = Vec::new();
    for r in &original.resources {
        if all || ids.contains(&r.id) || names.contains(&r.name) {
            let bytes = state.engine.resource_data(&id, &r.id).await?;
            resources.push(Resource {
                name: r.name.clone(),
                bytes,
            });
        }
    }
    let request = DeployRequest {
        name: original.name.clone(),
        source: body.source,
        tenant_id: original.tenant_id.clone(),
        resources,
        ..DeployRequest::default()
    };
    let result = state.engine.deploy(request).await?;
    Ok(Json(super::deployment::deploy_result_dto(&result, &base)))
}
