//! `GET /event-subscription` and `/event-subscription/count` (Camunda's
//! `EventSubscriptionRestService`): message, signal and compensate subscriptions of the
//! running instances, filtered by Camunda's query parameters.

use axum::extract::State;
use serde_json::{Value as J, json};

use super::error::ApiResult;
use super::json::Json;
use super::query::{QueryInput, Search, sort_and_page};
use super::{ApiState, Route};
use crate::engine::EventSubscriptionView;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get("/event-subscription", "List event subscriptions", list),
        Route::get(
            "/event-subscription/count",
            "Count event subscriptions",
            count,
        ),
    ]
}

/// The subscriptions matching `eventSubscriptionId`, `eventName`, `eventType`, `executionId`,
/// `processInstanceId`, `activityId` and `tenantIdIn`.
async fn query(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<EventSubscriptionView>> {
    let id = q.str("eventSubscriptionId");
    let name = q.str("eventName");
    let kind = q.str("eventType");
    let execution = q.str("executionId");
    let instance = q.str("processInstanceId");
    let activity = q.str("activityId");
    let tenants = q.list("tenantIdIn");
    let all = state.engine.event_subscriptions().await?;
    Ok(all
        .into_iter()
        .filter(|s| {
            id.as_deref().is_none_or(|v| v == s.id)
                && name
                    .as_deref()
                    .is_none_or(|v| Some(v) == s.event_name.as_deref())
                && kind.as_deref().is_none_or(|v| v == s.event_type)
                && execution.as_deref().is_none_or(|v| v == s.execution_id)
                && instance
                    .as_deref()
                    .is_none_or(|v| v == s.process_instance_id)
                && activity.as_deref().is_none_or(|v| v == s.activity_id)
                && tenants
                    .as_ref()
                    .is_none_or(|t| t.iter().any(|t| Some(t.as_str()) == s.tenant_id.as_deref()))
                && super::authz::sees::instance(&s.process_instance_id, &s.process_definition_key)
        })
        .collect())
}

async fn list(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let rows = query(&state, &q).await?;
    let sorts = q.sorting(&["created", "tenantId"])?;
    let page = sort_and_page(rows, &sorts, q.pagination()?, |a, b, by| match by {
        "created" => a.created.cmp(&b.created),
        _ => a.tenant_id.cmp(&b.tenant_id),
    })?;
    Ok(Json(J::Array(
        page.iter()
            .map(|s| {
                json!({
                    "id": s.id,
                    "eventType": s.event_type,
                    "eventName": s.event_name,
                    "executionId": s.execution_id,
                    "processInstanceId": s.process_instance_id,
                    "activityId": s.activity_id,
                    "createdDate": super::date::format(s.created),
                    "tenantId": s.tenant_id,
                })
            })
            .collect(),
    )))
}

async fn count(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let n = query(&state, &q).await?.len();
    Ok(Json(json!({ "count": n })))
}
