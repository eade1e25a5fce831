//! `/incident`: list, count, get, resolve (DELETE), annotation.

use std::cmp::Ordering;

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value as J;

use super::error::{ApiError, ApiResult, not_found_as};
use super::json::{Json, no_content};
use super::query::{
    Params, QueryInput, eq_opt, in_opt, like_opt, list_rows, only_indexed, verdict,
};
use super::{ApiState, Route, dto};
use crate::records::Incident;
use std::collections::BTreeMap;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get("/incident", "List incidents", list),
        Route::get("/incident/count", "Count incidents", count),
        Route::get("/incident/{id}", "Get an incident", get_one),
        Route::delete("/incident/{id}", "Resolve an incident", resolve),
        Route::put(
            "/incident/{id}/annotation",
            "Set the annotation of an incident",
            annotate,
        ),
        Route::delete(
            "/incident/{id}/annotation",
            "Clear the annotation of an incident",
            clear_annotation,
        ),
    ]
}

const SORT: &[&str] = &[
    "incidentId",
    "incidentMessage",
    "incidentTimestamp",
    "incidentType",
    "executionId",
    "activityId",
    "processInstanceId",
    "processDefinitionId",
    "causeIncidentId",
    "rootCauseIncidentId",
    "configuration",
    "tenantId",
];

fn missing(id: &str) -> ApiError {
    ApiError::not_found(format!("No matching incident with id {id}"))
}

/// Filter incidents (shared with the history resource); `definition_keys` maps definition
/// ids to keys (needed only for `processDefinitionKeyIn`).
pub(crate) fn filter(
    q: &QueryInput,
    all: Vec<Incident>,
    definition_keys: BTreeMap<String, String>,
) -> ApiResult<Vec<Incident>> {
    let matches = matcher(q, definition_keys)?;
    Ok(super::query::live(all).filter(|i| matches(i)).collect())
}

/// Camunda's incident query parameters as a predicate.
fn matcher(
    q: &QueryInput,
    definition_keys: BTreeMap<String, String>,
) -> ApiResult<impl Fn(&Incident) -> bool + use<>> {
    let id = q.str("incidentId");
    let kind = q.str("incidentType");
    let message = q.str("incidentMessage");
    let message_like = q.like("incidentMessageLike");
    let pd = q.str("processDefinitionId");
    let pd_key_in = q.list("processDefinitionKeyIn");
    let pi = q.str("processInstanceId");
    let execution = q.str("executionId");
    let before = q.date("incidentTimestampBefore")?;
    let after = q.date("incidentTimestampAfter")?;
    let activity = q.str("activityId");
    let failed_activity = q.str("failedActivityId");
    let cause = q.str("causeIncidentId");
    let root_cause = q.str("rootCauseIncidentId");
    let configuration = q.str("configuration");
    let tenants = q.list("tenantIdIn");
    Ok(move |i: &Incident| {
        eq_opt(&id, Some(&i.id))
            && eq_opt(&kind, Some(i.incident_type.as_str()))
            && eq_opt(&message, i.message.as_deref())
            && like_opt(&message_like, i.message.as_deref())
            && eq_opt(&pd, Some(&i.process_definition_id))
            && pd_key_in.as_ref().is_none_or(|l| {
                definition_keys
                    .get(&i.process_definition_id)
                    .is_some_and(|k| l.contains(k))
            })
            && eq_opt(&pi, Some(&i.process_instance_id))
            && eq_opt(&execution, Some(&i.execution_id))
            && before.is_none_or(|b| i.timestamp < b)
            && after.is_none_or(|a| i.timestamp > a)
            && eq_opt(&activity, Some(&i.activity_id))
            && eq_opt(&failed_activity, Some(&i.activity_id))
            && eq_opt(&cause, Some(&i.id))
            && eq_opt(&root_cause, Some(&i.id))
            && eq_opt(&configuration, i.configuration.as_deref())
            && in_opt(&tenants, i.tenant_id.as_deref())
    })
}

/// Sort comparator shared with history.
pub(crate) fn compare(a: &Incident, b: &Incident, by: &str) -> Ordering {
    match by {
        "incidentId" | "causeIncidentId" | "rootCauseIncidentId" => a.id.cmp(&b.id),
        "incidentMessage" => a.message.cmp(&b.message),
        "incidentTimestamp" | "createTime" => a.timestamp.cmp(&b.timestamp),
        "endTime" => a.end_time.cmp(&b.end_time),
        "incidentType" => a.incident_type.as_str().cmp(b.incident_type.as_str()),
        "executionId" => a.execution_id.cmp(&b.execution_id),
        "activityId" => a.activity_id.cmp(&b.activity_id),
        "processInstanceId" => a.process_instance_id.cmp(&b.process_instance_id),
        "processDefinitionId" => a.process_definition_id.cmp(&b.process_definition_id),
        "configuration" => a.configuration.cmp(&b.configuration),
        "tenantId" => a.tenant_id.cmp(&b.tenant_id),
        _ => Ordering::Equal,
    }
}

async fn key_lookup(state: &ApiState, q: &QueryInput) -> ApiResult<BTreeMap<String, String>> {
    // Authorization filtering needs each incident's definition key too.
    if q.raw("processDefinitionKeyIn").is_none() && !super::authz::restricted() {
        return Ok(Default::default());
    }
    Ok(state
        .engine
        .definitions()
        .await?
        .into_iter()
        .map(|d| (d.id, d.key))
        .collect())
}

/// The query's matcher, narrowed to the incidents of instances the user may read.
async fn visible_matcher(
    state: &ApiState,
    q: &QueryInput,
) -> ApiResult<impl Fn(&Incident) -> bool + use<>> {
    let keys = key_lookup(state, q).await?;
    let matches = matcher(q, keys.clone())?;
    Ok(move |i: &Incident| {
        matches(i)
            && super::authz::sees::instance(
                &i.process_instance_id,
                keys.get(&i.process_definition_id)
                    .map_or("", String::as_str),
            )
    })
}

async fn list(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let sorts = q.sorting(SORT)?;
    let mut keep = verdict(visible_matcher(&state, &q).await?);
    let pi = q.str("processInstanceId");
    let read = |skip, limit| {
        Ok(state
            .engine
            .incidents_where(pi.as_deref(), &mut keep, skip, limit)?)
    };
    let items = list_rows(&sorts, q.pagination()?, read, compare)?;
    Ok(Json(J::Array(items.iter().map(dto::incident).collect())))
}

async fn count(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    if only_indexed(&q, &[]) {
        return Ok(Json(dto::count(state.engine.count_incidents()?)));
    }
    let mut keep = verdict(visible_matcher(&state, &q).await?);
    let pi = q.str("processInstanceId");
    let items = state
        .engine
        .incidents_where(pi.as_deref(), &mut keep, 0, usize::MAX)?;
    super::guard::check()?;
    Ok(Json(dto::count(items.len())))
}

async fn get_one(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let i = state
        .engine
        .incident(&id)
        .await
        .map_err(|e| not_found_as(e, || missing(&id)))?;
    Ok(Json(dto::incident(&i)))
}

async fn resolve(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    state
        .engine
        .resolve_incident(&id)
        .await
        .map_err(|e| not_found_as(e, || missing(&id)))?;
    Ok(no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct AnnotationBody {
    annotation: Option<String>,
}

async fn annotate(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<AnnotationBody>,
) -> ApiResult<Response> {
    state
        .engine
        .set_incident_annotation(&id, b.annotation)
        .await
        .map_err(|e| not_found_as(e, || missing(&id)))?;
    Ok(no_content())
}

async fn clear_annotation(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    state
        .engine
        .set_incident_annotation(&id, None)
        .await
        .map_err(|e| not_found_as(e, || missing(&id)))?;
    Ok(no_content())
}
