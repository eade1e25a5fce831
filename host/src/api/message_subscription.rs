//! `/execution/{id}/messageSubscriptions/{name}`: the message subscription an execution
//! holds (get) and delivering that message to it (trigger), Camunda's
//! `MessageEventSubscriptionResource`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::{ApiState, Route};
use crate::engine::ProcessEngineError;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get(
            "/execution/{id}/messageSubscriptions/{name}",
            "An execution's message subscription",
            get_one,
        ),
        Route::post(
            "/execution/{id}/messageSubscriptions/{name}/trigger",
            "Deliver a message to an execution",
            trigger,
        ),
    ]
}

async fn get_one(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<Json<J>> {
    let s = state.engine.message_subscription(&id, &name).await?;
    Ok(Json(json!({
        "id": s.id,
        "eventType": s.event_type,
        "eventName": s.event_name,
        "executionId": s.execution_id,
        "processInstanceId": s.process_instance_id,
        "activityId": s.activity_id,
        "createdDate": super::date::format(s.created),
        "tenantId": s.tenant_id,
    })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TriggerBody {
    variables: Option<J>,
}

/// Camunda wraps every engine failure as `RestException` 500 with this prefix.
async fn trigger(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
    Json(b): Json<TriggerBody>,
) -> ApiResult<Response> {
    let vars = super::variables::decode_or_invalid(b.variables.as_ref(), "")?;
    state
        .engine
        .trigger_message_subscription(&id, &name, vars)
        .await
        .map_err(|e| match e {
            ProcessEngineError::Internal(_) => ApiError::from(e),
            other => ApiError::rest(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Cannot trigger message {name} for execution {id}: {other}"),
            ),
        })?;
    Ok(no_content())
}
