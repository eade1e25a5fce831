//! `/process-definition` beyond reading and starting: runtime statistics (per definition and
//! per activity), the diagram image, history time to live and the statically called
//! definitions.
//!
//! Shapes follow Camunda's `StatisticsResultDto` (`id`, `instances`, `failedJobs`,
//! `incidents: [{incidentType, incidentCount}]`, plus `definition` for the per-definition
//! list). `incidents` and `incidentsForType` (and `rootIncidents`) exclude each other: 400 with
//! Camunda's text. The counts come from `engine/statistics.rs`.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::process_definition::{by_id, by_key};
use super::query::{Params, QueryInput};
use super::{ApiState, Route, dto};
use crate::engine::statistics::{IncidentFilter, Statistics, StatisticsOptions};
use crate::records::ProcessDefinition;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get(
            "/process-definition/statistics",
            "Runtime statistics of every process definition",
            definition_statistics,
        ),
        Route::get(
            "/process-definition/{id}/statistics",
            "Per-activity runtime statistics of a definition",
            activity_statistics_by_id,
        ),
        Route::get(
            "/process-definition/key/{key}/statistics",
            "Per-activity runtime statistics of the latest definition of a key",
            activity_statistics_by_key,
        ),
        Route::get(
            "/process-definition/key/{key}/tenant-id/{tenant_id}/statistics",
            "Per-activity runtime statistics of the latest definition of a key for a tenant",
            activity_statistics_by_key_tenant,
        ),
        Route::get(
            "/process-definition/{id}/diagram",
            "The diagram image deployed with a definition (204 when none)",
            diagram_by_id,
        ),
        Route::get(
            "/process-definition/key/{key}/diagram",
            "The diagram image of the latest definition of a key",
            diagram_by_key,
        ),
        Route::get(
            "/process-definition/key/{key}/tenant-id/{tenant_id}/diagram",
            "The diagram image of the latest definition of a key for a tenant",
            diagram_by_key_tenant,
        ),
        Route::put(
            "/process-definition/{id}/history-time-to-live",
            "Set a definition's history time to live",
            ttl_by_id,
        ),
        Route::put(
            "/process-definition/key/{key}/history-time-to-live",
            "Set the history time to live of the latest definition of a key",
            ttl_by_key,
        ),
        Route::put(
            "/process-definition/key/{key}/tenant-id/{tenant_id}/history-time-to-live",
            "Set the history time to live of the latest definition of a key for a tenant",
            ttl_by_key_tenant,
        ),
        Route::get(
            "/process-definition/{id}/static-called-process-definitions",
            "The definitions a definition's call activities name statically",
            static_called,
        ),
    ]
}

const BOTH_TYPE: &str =
    "Only one of the query parameter includeIncidents or includeIncidentsForType can be set.";
const BOTH_ROOT: &str =
    "Only one of the query parameter includeIncidents or includeRootIncidents can be set.";
const ROOT_TYPE: &str =
    "Only one of the query parameter includeRootIncidents or includeIncidentsForType can be set.";

/// The options of a statistics query (`failedJobs`, `incidents`, `incidentsForType`,
/// `rootIncidents`), rejecting the combinations Camunda rejects. As in Camunda, a parameter
/// counts as given when present at all, even as `false`.
fn options(q: &QueryInput, root_allowed: bool) -> ApiResult<StatisticsOptions> {
    let incidents = q.bool("incidents")?;
    let for_type = q.str("incidentsForType");
    let root = if root_allowed {
        q.bool("rootIncidents")?
    } else {
        None
    };
    if incidents.is_some() && for_type.is_some() {
        return Err(ApiError::invalid(BOTH_TYPE));
    }
    if incidents.is_some() && root.is_some() {
        return Err(ApiError::invalid(BOTH_ROOT));
    }
    if root.is_some() && for_type.is_some() {
        return Err(ApiError::invalid(ROOT_TYPE));
    }
    let filter = match (incidents, for_type, root) {
        (Some(true), _, _) => IncidentFilter::All,
        (_, Some(t), _) => IncidentFilter::OfType(t),
        (_, _, Some(true)) => IncidentFilter::Root,
        _ => IncidentFilter::Off,
    };
    Ok(StatisticsOptions {
        failed_jobs: q.flag("failedJobs")?,
        incidents: filter,
    })
}

fn incidents_json(s: &Statistics) -> J {
    J::Array(
        s.incidents
            .iter()
            .map(|(t, n)| json!({"incidentType": t, "incidentCount": n}))
            .collect(),
    )
}

async fn definition_statistics(
    State(state): State<ApiState>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let opts = options(&q, true)?;
    let stats = state.engine.definition_statistics(&opts)?;
    let empty = Statistics::default();
    // Camunda lists every definition, with zero counts where nothing runs.
    let rows = super::query::live(state.engine.definitions().await?)
        .filter(|d| super::authz::sees::definition(&d.key))
        .map(|d| {
            let s = stats.get(&d.id).unwrap_or(&empty);
            json!({
                "@class": "org.camunda.bpm.engine.rest.dto.repository.ProcessDefinitionStatisticsResultDto",
                "id": d.id,
                "instances": s.instances,
                "failedJobs": s.failed_jobs,
                "incidents": incidents_json(s),
                "definition": dto::definition(&d),
            })
        })
        .collect();
    Ok(Json(J::Array(rows)))
}

fn activity_rows(state: &ApiState, definition_id: &str, q: &QueryInput) -> ApiResult<Json<J>> {
    let opts = options(q, false)?;
    let stats = state.engine.activity_statistics(definition_id, &opts)?;
    Ok(Json(J::Array(
        stats
            .iter()
            .map(|(activity, s)| {
                json!({
                    "@class": "org.camunda.bpm.engine.rest.dto.repository.ActivityStatisticsResultDto",
                    "id": activity,
                    "instances": s.instances,
                    "failedJobs": s.failed_jobs,
                    "incidents": incidents_json(s),
                })
            })
            .collect(),
    )))
}

async fn activity_statistics_by_id(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    // Camunda answers an unknown id with an empty list, not a 404.
    activity_rows(&state, &id, &q)
}

async fn activity_statistics_by_key(
    State(state): State<ApiState>,
    Path(key): Path<String>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let d = by_key(&state, &key, None).await?;
    activity_rows(&state, &d.id, &q)
}

async fn activity_statistics_by_key_tenant(
    State(state): State<ApiState>,
    Path((key, tenant)): Path<(String, String)>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let d = by_key(&state, &key, Some(&tenant)).await?;
    activity_rows(&state, &d.id, &q)
}

/// Camunda's media type for a diagram file name (`getMediaTypeForFileSuffix`).
fn media_type(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    match lower.rsplit_once('.').map(|(_, ext)| ext) {
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("bmp") => "image/bmp",
        _ => "application/octet-stream",
    }
}

async fn diagram(state: &ApiState, d: &ProcessDefinition) -> ApiResult<Response> {
    let Some((name, bytes)) = state.engine.definition_diagram(d).await? else {
        return Ok(no_content());
    };
    let mut r = (StatusCode::OK, bytes).into_response();
    if let Ok(v) = header::HeaderValue::from_str(media_type(&name)) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = header::HeaderValue::from_str(&format!("attachment; filename={name}")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

async fn diagram_by_id(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let d = by_id(&state, &id).await?;
    diagram(&state, &d).await
}

async fn diagram_by_key(
    State(state): State<ApiState>,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    let d = by_key(&state, &key, None).await?;
    diagram(&state, &d).await
}

async fn diagram_by_key_tenant(
    State(state): State<ApiState>,
    Path((key, tenant)): Path<(String, String)>,
) -> ApiResult<Response> {
    let d = by_key(&state, &key, Some(&tenant)).await?;
    diagram(&state, &d).await
}

/// `HistoryTimeToLiveDto`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct TtlBody {
    history_time_to_live: Option<J>,
}

async fn set_ttl(state: &ApiState, d: &ProcessDefinition, body: TtlBody) -> ApiResult<Response> {
    let days = match body.history_time_to_live {
        None | Some(J::Null) => None,
        Some(v) => match v.as_i64() {
            Some(n) if n >= 0 => Some(i32::try_from(n).unwrap_or(i32::MAX)),
            Some(_) => {
                return Err(ApiError::bad_user_request(
                    "historyTimeToLive is not greater than or equal to 0",
                ));
            }
            None => {
                return Err(ApiError::invalid(format!(
                    "Cannot set historyTimeToLive to {v}: a number of days is expected"
                )));
            }
        },
    };
    state
        .engine
        .set_definition_history_time_to_live(&d.id, days)
        .await?;
    Ok(no_content())
}

async fn ttl_by_id(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(body): Json<TtlBody>,
) -> ApiResult<Response> {
    let d = by_id(&state, &id).await?;
    set_ttl(&state, &d, body).await
}

async fn ttl_by_key(
    State(state): State<ApiState>,
    Path(key): Path<String>,
    Json(body): Json<TtlBody>,
) -> ApiResult<Response> {
    let d = by_key(&state, &key, None).await?;
    set_ttl(&state, &d, body).await
}

async fn ttl_by_key_tenant(
    State(state): State<ApiState>,
    Path((key, tenant)): Path<(String, String)>,
    Json(body): Json<TtlBody>,
) -> ApiResult<Response> {
    let d = by_key(&state, &key, Some(&tenant)).await?;
    set_ttl(&state, &d, body).await
}

/// `CalledProcessDefinitionDto`: the definition plus `calledFromActivityIds` and
/// `callingProcessDefinitionId`.
async fn static_called(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    let d = by_id(&state, &id).await?;
    let called = state.engine.static_called_definitions(&d.id).await?;
    Ok(Json(J::Array(
        called
            .into_iter()
            .map(|(called, activities)| {
                let mut dto = dto::definition(&called);
                if let Some(o) = dto.as_object_mut() {
                    o.insert("calledFromActivityIds".into(), json!(activities));
                    o.insert("callingProcessDefinitionId".into(), json!(d.id));
                }
                dto
            })
            .collect(),
    )))
}
