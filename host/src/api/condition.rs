//! `POST /condition`: evaluate the conditional start events of the deployed definitions and
//! start an instance at each one whose condition holds (Camunda's `ConditionRestService`);
//! answers the started instances as `ProcessInstanceDto`s.

use axum::extract::State;
use serde::Deserialize;
use serde_json::Value as J;

use super::error::{ApiError, ApiResult};
use super::json::Json;
use super::variables::decode_variables;
use super::{ApiState, BaseUrl, Route, dto};
use crate::engine::ConditionRequest;

pub(crate) fn routes() -> Vec<Route> {
    vec![Route::post(
        "/condition",
        "Evaluate conditional start events",
        evaluate,
    )]
}

/// Camunda's `EvaluationConditionDto`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ConditionBody {
    variables: Option<J>,
    business_key: Option<String>,
    tenant_id: Option<String>,
    without_tenant_id: Option<bool>,
    process_definition_id: Option<String>,
}

async fn evaluate(
    State(state): State<ApiState>,
    base: BaseUrl,
    Json(b): Json<ConditionBody>,
) -> ApiResult<Json<J>> {
    let variables = decode_variables(b.variables.as_ref())
        .map(|d| d.variables)
        .map_err(|m| ApiError::invalid(format!("Cannot evaluate condition: {m}")))?;
    let started = state
        .engine
        .evaluate_conditions(ConditionRequest {
            variables,
            business_key: b.business_key,
            process_definition_id: b.process_definition_id,
            tenant_id: b.tenant_id,
            without_tenant_id: b.without_tenant_id.unwrap_or(false),
        })
        .await?;
    Ok(Json(J::Array(
        started
            .iter()
            .map(|pi| dto::instance(pi, !pi.state.is_active(), &base))
            .collect(),
    )))
}
