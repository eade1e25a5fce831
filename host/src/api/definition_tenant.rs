//! `DELETE /process-definition/key/{key}/tenant-id/{tenant_id}`: every version of a key that
//! belongs to one tenant (the tenant-less route is in [`super::process_definition`]).

use axum::extract::{Path, State};
use axum::response::Response;

use super::error::{ApiError, ApiResult};
use super::json::no_content;
use super::query::Params;
use super::{ApiState, Route};

pub(crate) fn routes() -> Vec<Route> {
    vec![Route::delete(
        "/process-definition/key/{key}/tenant-id/{tenant_id}",
        "Delete every version of a key of a tenant",
        delete_by_key_tenant,
    )]
}

async fn delete_by_key_tenant(
    State(state): State<ApiState>,
    Path((key, tenant)): Path<(String, String)>,
    Params(q): Params,
) -> ApiResult<Response> {
    let cascade = q.flag("cascade")?;
    let ids: Vec<String> = state
        .engine
        .definitions()
        .await?
        .into_iter()
        .take_while(super::query::not_cancelled)
        .filter(|d| d.key == key && d.tenant_id.as_deref() == Some(tenant.as_str()))
        .map(|d| d.id)
        .collect();
    if ids.is_empty() {
        return Err(ApiError::not_found(format!(
            "No process definition found with key '{key}' and tenant-id '{tenant}'"
        )));
    }
    for id in ids {
        state.engine.delete_definition(&id, cascade).await?;
    }
    Ok(no_content())
}
