//! `POST /process-definition/{id}/restart`: Camunda's `RestartProcessInstanceDto`
//! (`processInstanceIds`, `historicProcessInstanceQuery`, `instructions`, `initialVariables`,
//! `withoutBusinessKey`, `skipCustomListeners`, `skipIoMappings`) read into
//! [`RestartRequest`]; the engine room `restart` does the rest. `restart-async` (in
//! `batch_ops`) reads the same body.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::Value as J;

use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::{ApiState, Route};
use crate::engine::RestartRequest;

pub(crate) fn routes() -> Vec<Route> {
    vec![Route::post(
        "/process-definition/{id}/restart",
        "Restart finished process instances as new instances of the definition",
        restart,
    )]
}

fn flag(body: &J, name: &str) -> ApiResult<bool> {
    match body.get(name) {
        None | Some(J::Null) => Ok(false),
        Some(J::Bool(b)) => Ok(*b),
        Some(other) => Err(ApiError::invalid(format!(
            "Cannot deserialize value of type `boolean` from {other} for '{name}'"
        ))),
    }
}

async fn restart(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(body): Json<J>,
) -> ApiResult<Response> {
    let request = read_request(&state, &body).await?;
    state.engine.restart_instances(&id, request).await?;
    Ok(no_content())
}

/// A `RestartProcessInstanceDto` body with the instances of its
/// `historicProcessInstanceQuery` added to its ids.
pub(crate) async fn read_request(state: &ApiState, body: &J) -> ApiResult<RestartRequest> {
    let mut request = parse_request(body)?;
    if let Some(q) = body
        .get("historicProcessInstanceQuery")
        .filter(|q| q.is_object())
    {
        request
            .process_instance_ids
            .extend(super::history::historic_instance_ids(state, q).await?);
    }
    Ok(request)
}

/// A `RestartProcessInstanceDto` body (its ids; the historic query is `read_request`'s).
fn parse_request(body: &J) -> ApiResult<RestartRequest> {
    if !body.is_object() {
        return Err(ApiError::invalid("The request body must be a JSON object"));
    }
    let process_instance_ids = match body.get("processInstanceIds") {
        None | Some(J::Null) => Vec::new(),
        Some(J::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str().map(str::to_owned).ok_or_else(|| {
                    ApiError::invalid("Process instance ids cannot be null: 'processInstanceIds' must hold strings")
                })
            })
            .collect::<ApiResult<_>>()?,
        Some(_) => {
            return Err(ApiError::invalid(
                "'processInstanceIds' must be a JSON array",
            ));
        }
    };
    let modification = super::modification::parse_request(body)?;
    Ok(RestartRequest {
        process_instance_ids,
        instructions: modification.instructions,
        initial_variables: flag(body, "initialVariables")?,
        without_business_key: flag(body, "withoutBusinessKey")?,
        skip_custom_listeners: modification.skip_custom_listeners,
        skip_io_mappings: modification.skip_io_mappings,
    })
}
