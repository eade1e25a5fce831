//! `/execution/{id}/messageSubscriptions/{messageName}`: the message subscription of one
//! execution (`GET`, Camunda's `EventSubscriptionDto`) and `POST .../trigger` (deliver the
//! message to it, with `variables`).
//!
//! The trigger correlates the message to the subscription's process instance: exact when the
//! instance waits for that message at one place (the usual case); with several executions of
//! one instance waiting for the same message name it fails as a correlation that matches
//! more than one execution does.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::variables::decode_or_invalid;
use super::{ApiState, Route};
use crate::engine::CorrelateRequest;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get(
            "/execution/{id}/messageSubscriptions/{name}",
            "The message subscription of an execution",
            get_one,
        ),
        Route::post(
            "/execution/{id}/messageSubscriptions/{name}/trigger",
            "Deliver a message to the subscription of an execution",
            trigger,
        ),
    ]
}

fn missing(id: &str, name: &str) -> ApiError {
    ApiError::not_found(format!(
        "Message event subscription for execution {id} named {name} does not exist"
    ))
}

async fn get_one(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<Json<J>> {
    let s = state
        .engine
        .message_subscription_of(&id, &name)?
        .ok_or_else(|| missing(&id, &name))?;
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

/// `ExecutionTriggerDto`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct TriggerBody {
    variables: Option<J>,
}

async fn trigger(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
    Json(body): Json<TriggerBody>,
) -> ApiResult<Response> {
    let prefix = format!("Cannot trigger message {name} for execution {id}: ");
    let variables = decode_or_invalid(body.variables.as_ref(), &prefix)?;
    let Some(sub) = state.engine.message_subscription_of(&id, &name)? else {
        return Err(ApiError::rest(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "{prefix}Execution with id '{id}' does not have a subscription to a message event with name '{name}'"
            ),
        ));
    };
    let request = CorrelateRequest {
        message_name: name.clone(),
        process_instance_id: Some(sub.process_instance_id),
        process_variables: variables,
        ..CorrelateRequest::default()
    };
    state
        .engine
        .correlate_message(request)
        .await
        .map_err(|e| ApiError::from(e).prefixed(&prefix))?;
    Ok(no_content())
}
