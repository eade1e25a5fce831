//! `/notification-rule`: baton's own resource for failure notification rules, in Camunda's
//! conventions (shaped like `/filter`: list, count, get, `POST /create`, `PUT /{id}`,
//! `DELETE /{id}`), plus `POST /{id}/test` and `GET /{id}/delivery`. Secrets are write-only:
//! responses say `secretSet` instead. Validation lives in the engine room
//! (`engine::notifications::rules`); this module only translates.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value as J, json};

use super::error::{ApiError, ApiResult, not_found_as};
use super::json::{Json, no_content};
use super::query::Params;
use super::{ApiState, Route, dto};
use crate::engine::notifications::{Delivery, NotificationRule, RuleInput};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get("/notification-rule", "List notification rules", list),
        Route::get(
            "/notification-rule/count",
            "Count notification rules",
            count,
        ),
        Route::post(
            "/notification-rule/create",
            "Create a notification rule",
            create,
        ),
        Route::get(
            "/notification-rule/{id}",
            "Get a notification rule",
            get_one,
        ),
        Route::put(
            "/notification-rule/{id}",
            "Update a notification rule",
            update,
        ),
        Route::delete(
            "/notification-rule/{id}",
            "Delete a notification rule",
            delete,
        ),
        Route::post(
            "/notification-rule/{id}/test",
            "Send a test notification for a rule",
            test,
        ),
        Route::get(
            "/notification-rule/{id}/delivery",
            "The newest deliveries of a notification rule",
            deliveries,
        ),
    ]
}

fn missing(id: &str) -> ApiError {
    ApiError::not_found(format!("Notification rule with id {id} does not exist"))
}

fn iso(ms: i64) -> J {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| J::String(t.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()))
        .unwrap_or(J::Null)
}

/// A rule as JSON: every field but the secret, which only shows as `secretSet`.
pub(crate) fn rule_json(r: &NotificationRule) -> J {
    json!({
        "id": r.id,
        "name": r.name,
        "condition": r.condition.as_str(),
        "incidentType": r.incident_type,
        "processDefinitionKey": r.process_definition_key,
        "activityId": r.activity_id,
        "topic": r.topic,
        "waitSeconds": r.wait_ms.map(|w| w / 1000),
        "threshold": r.threshold,
        "destination": r.destination.as_str(),
        "messageName": (r.destination == crate::engine::notifications::rules::DestinationKind::Message).then(|| r.event_name.clone()).flatten(),
        "signalName": (r.destination == crate::engine::notifications::rules::DestinationKind::Signal).then(|| r.event_name.clone()).flatten(),
        "url": r.url,
        "secretSet": r.has_secret(),
        "windowSeconds": r.window_ms / 1000,
        "enabled": r.enabled,
        "created": iso(r.created),
    })
}

/// A delivery as JSON.
pub(crate) fn delivery_json(d: &Delivery) -> J {
    json!({
        "id": d.id,
        "ruleId": d.rule_id,
        "event": d.event.kind.as_str(),
        "groupKey": d.group_key,
        "count": d.count,
        "summary": d.summary,
        "processInstanceId": d.event.process_instance_id,
        "status": d.status.as_str(),
        "attempts": d.attempts,
        "nextRetry": if d.status == crate::engine::notifications::DeliveryStatus::Pending { iso(d.due) } else { J::Null },
        "lastStatus": d.last_status,
        "lastError": d.last_error,
        "created": iso(d.created),
        "finished": d.finished.map(iso),
    })
}

async fn filtered(
    state: &ApiState,
    q: &super::query::QueryInput,
) -> ApiResult<Vec<NotificationRule>> {
    let condition = q.str("condition");
    let enabled = q.bool("enabled")?;
    let id = q.str("id");
    Ok(state
        .engine
        .notification_rules()
        .await?
        .into_iter()
        .filter(|r| {
            condition
                .as_deref()
                .is_none_or(|c| r.condition.as_str() == c)
                && enabled.is_none_or(|e| r.enabled == e)
                && id.as_deref().is_none_or(|i| r.id == i)
        })
        .collect())
}

async fn list(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let (first, max) = q.pagination()?;
    let items = filtered(&state, &q).await?;
    // The paging helper also refuses an unbounded list over `query_max_results`.
    let page = super::query::sort_and_page(items, &[], (first, max), |_, _, _| {
        std::cmp::Ordering::Equal
    })?;
    Ok(Json(J::Array(page.iter().map(rule_json).collect())))
}

async fn count(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    Ok(Json(dto::count(filtered(&state, &q).await?.len())))
}

async fn get_one(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let r = state
        .engine
        .notification_rule(&id)
        .await
        .map_err(|e| not_found_as(e, || missing(&id)))?;
    Ok(Json(rule_json(&r)))
}

async fn create(State(state): State<ApiState>, Json(input): Json<RuleInput>) -> ApiResult<Json<J>> {
    let r = state.engine.create_notification_rule(input).await?;
    Ok(Json(rule_json(&r)))
}

async fn update(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(input): Json<RuleInput>,
) -> ApiResult<Response> {
    state
        .engine
        .update_notification_rule(&id, input)
        .await
        .map_err(|e| not_found_as(e, || missing(&id)))?;
    Ok(no_content())
}

async fn delete(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    state
        .engine
        .delete_notification_rule(&id)
        .await
        .map_err(|e| not_found_as(e, || missing(&id)))?;
    Ok(no_content())
}

async fn test(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let o = state
        .engine
        .test_notification_rule(&id)
        .await
        .map_err(|e| not_found_as(e, || missing(&id)))?;
    Ok(Json(json!({
        "deliveryId": o.delivery_id,
        "delivered": o.error.is_none(),
        "statusCode": o.status,
        "error": o.error,
    })))
}

async fn deliveries(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    state
        .engine
        .notification_rule(&id)
        .await
        .map_err(|e| not_found_as(e, || missing(&id)))?;
    let (_, max) = q.pagination()?;
    let items = state
        .engine
        .notification_deliveries(Some(&id), max.min(1000))
        .await?;
    Ok(Json(J::Array(items.iter().map(delivery_json).collect())))
}
