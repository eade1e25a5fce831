//! Camunda's `/metrics` REST resource (usage metrics, not the Prometheus `/metrics` endpoint
//! outside `/engine-rest`) and `/schema/log`.
//!
//! - `GET /metrics?name&reporter&startDate&endDate&firstResult&maxResults&interval&aggregateByReporter`
//!   → `[{timestamp, name, reporter, value}]`, sums per `interval` seconds (default 900, the
//!   15-minute reporting interval), newest first; at most 200 rows (Camunda's row limit).
//! - `GET /metrics/{name}/sum?startDate&endDate` → `{"result": n}`; `task-users` (and
//!   `unique-task-workers`) count distinct assignees instead.
//! - `DELETE /metrics/task-worker?date` forgets task workers seen before `date` (all without).
//! - `GET`/`POST /schema/log` → `[{id, timestamp, version}]`: baton's one schema entry is
//!   its store format version (`FORMAT_VERSION`), dated when this engine opened the store.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value as J, json};

use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::query::{Params, QueryInput, Search};
use super::{ApiState, Route, date};
use crate::engine::usage_metrics::{INTERVAL_MS, REPORTER};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get("/metrics", "Usage metrics per interval", intervals),
        Route::get("/metrics/{name}/sum", "Sum of a usage metric", sum),
        Route::delete(
            "/metrics/task-worker",
            "Delete task worker metrics",
            delete_task_workers,
        ),
        Route::get("/schema/log", "The schema log (store format)", schema_log),
        Route::post(
            "/schema/log",
            "Query the schema log (store format)",
            schema_log_query,
        ),
    ]
}

/// Camunda's row limit of an interval query.
const ROW_LIMIT: usize = 200;

fn range(q: &QueryInput) -> ApiResult<(i64, i64)> {
    Ok((
        q.date("startDate")?.unwrap_or(i64::MIN),
        q.date("endDate")?.unwrap_or(i64::MAX),
    ))
}

async fn intervals(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let (from, to) = range(&q)?;
    let (first, max) = q.pagination()?;
    if max != usize::MAX && max > ROW_LIMIT {
        return Err(ApiError::engine(format!(
            "Metrics interval query row limit can't be set larger than {ROW_LIMIT}."
        )));
    }
    let interval_s = q.int("interval")?.unwrap_or(INTERVAL_MS / 1000);
    if interval_s <= 0 {
        return Err(ApiError::invalid(format!(
            "Cannot set query parameter 'interval' to value '{interval_s}': a positive number of seconds is expected"
        )));
    }
    let width = interval_s.saturating_mul(1000);
    let reporter = q.str("reporter");
    if reporter.as_deref().is_some_and(|r| r != REPORTER) {
        return Ok(Json(J::Array(Vec::new())));
    }
    let name = q.str("name");
    let rows = state.engine.metric_rows(name.as_deref(), from, to)?;
    // Regroup the 15-minute sums into the asked width (rows are newest first).
    let mut grouped: Vec<(i64, String, u64)> = Vec::new();
    for r in rows {
        let start = r.interval.div_euclid(width) * width;
        match grouped
            .iter_mut()
            .find(|(s, n, _)| *s == start && *n == r.name)
        {
            Some(g) => g.2 += r.value,
            None => grouped.push((start, r.name, r.value)),
        }
    }
    grouped.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let aggregate = q.flag("aggregateByReporter")?;
    let out: Vec<J> = grouped
        .into_iter()
        .skip(first)
        .take(max.min(ROW_LIMIT))
        .map(|(start, name, value)| {
            json!({
                "timestamp": date::format(start),
                "name": name,
                "reporter": if aggregate { J::Null } else { J::from(REPORTER) },
                "value": value,
            })
        })
        .collect();
    Ok(Json(J::Array(out)))
}

async fn sum(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let (from, to) = range(&q)?;
    Ok(Json(
        json!({"result": state.engine.metric_sum(&name, from, to)?}),
    ))
}

async fn delete_task_workers(
    State(state): State<ApiState>,
    Params(q): Params,
) -> ApiResult<Response> {
    let before = q.date("date")?;
    state.engine.delete_task_workers(before).await?;
    Ok(no_content())
}

fn schema_rows(state: &ApiState, version: Option<String>) -> J {
    let ours = crate::store::FORMAT_VERSION.to_string();
    if version.as_deref().is_some_and(|v| v != ours) {
        return J::Array(Vec::new());
    }
    json!([{
        "id": "0",
        "timestamp": date::format(state.engine.opened_at()),
        "version": ours,
    }])
}

async fn schema_log(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    q.pagination()?;
    Ok(Json(schema_rows(&state, q.str("version"))))
}

async fn schema_log_query(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    q.pagination()?;
    Ok(Json(schema_rows(&state, q.str("version"))))
}
