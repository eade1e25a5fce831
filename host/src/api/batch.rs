//! `/batch` and `/history/batch`: running batches (list, count, one, delete, suspend), their
//! statistics, and the history of batches, in Camunda's `BatchDto`, `BatchStatisticsDto` and
//! `HistoricBatchDto` shapes. The batches themselves live in the engine room `batches`.

use std::cmp::Ordering;

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::date::format;
use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::query::{QueryInput, Search, sort_and_page};
use super::{ApiState, Route, dto};
use crate::engine::ProcessEngineError;
use crate::store::batches::{Batch, HistoricBatch};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get("/batch", "List batches", list),
        Route::get("/batch/count", "Count batches", count),
        Route::get("/batch/statistics", "Batch statistics", statistics),
        Route::get("/batch/statistics/count", "Count batch statistics", count),
        Route::get("/batch/{id}", "Get a batch", get_one),
        Route::delete("/batch/{id}", "Delete a batch", delete),
        Route::put(
            "/batch/{id}/suspended",
            "Suspend or activate a batch",
            suspend,
        ),
        Route::get("/history/batch", "List historic batches", history_list),
        Route::get(
            "/history/batch/count",
            "Count historic batches",
            history_count,
        ),
        Route::get("/history/batch/{id}", "Get a historic batch", history_one),
        Route::delete(
            "/history/batch/{id}",
            "Delete a historic batch",
            history_delete,
        ),
    ]
}

/// Camunda's `BatchDto`. baton has no seed/monitor/batch job definitions: those ids are null.
pub(crate) fn batch_dto(b: &Batch) -> J {
    json!({
        "id": b.id,
        "type": b.batch_type,
        "totalJobs": b.total_jobs(),
        "jobsCreated": b.jobs_created(),
        "batchJobsPerSeed": b.batch_jobs_per_seed,
        "invocationsPerBatchJob": b.invocations_per_batch_job,
        "seedJobDefinitionId": null,
        "monitorJobDefinitionId": null,
        "batchJobDefinitionId": null,
        "suspended": b.suspended,
        "tenantId": null,
        "createUserId": b.create_user_id,
        "startTime": format(b.start_time),
        "executionStartTime": b.execution_start_time.map(format),
    })
}

/// Camunda's `BatchStatisticsDto`: the batch plus remaining, completed and failed jobs.
fn statistics_dto(b: &Batch) -> J {
    let mut v = batch_dto(b);
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "remainingJobs".into(),
            json!(b.total_jobs().saturating_sub(b.completed_jobs)),
        );
        o.insert("completedJobs".into(), json!(b.completed_jobs));
        o.insert("failedJobs".into(), json!(b.failed_jobs));
    }
    v
}

/// Camunda's `HistoricBatchDto`; `removalTime` is the one set by hand or end time plus the
/// batch history time to live.
fn historic_dto(state: &ApiState, h: &HistoricBatch) -> J {
    let b = &h.batch;
    json!({
        "id": b.id,
        "type": b.batch_type,
        "totalJobs": b.total_jobs(),
        "batchJobsPerSeed": b.batch_jobs_per_seed,
        "invocationsPerBatchJob": b.invocations_per_batch_job,
        "seedJobDefinitionId": null,
        "monitorJobDefinitionId": null,
        "batchJobDefinitionId": null,
        "tenantId": null,
        "createUserId": b.create_user_id,
        "startTime": format(b.start_time),
        "endTime": h.end_time.map(format),
        "removalTime": state.engine.batch_removal_time_of(h).map(format),
        "executionStartTime": b.execution_start_time.map(format),
    })
}

const SORT: &[&str] = &["batchId", "tenantId"];
const HISTORY_SORT: &[&str] = &["batchId", "startTime", "endTime", "tenantId"];

/// The filters of `/batch` and `/batch/statistics` (no tenants in baton: `tenantIdIn`
/// matches nothing, `withoutTenantId` everything).
fn matching(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<Batch>> {
    let id = q.str("batchId");
    let kind = q.str("type");
    let suspended = q.bool("suspended")?;
    let tenants = q.list("tenantIdIn");
    Ok(state
        .engine
        .batches()?
        .into_iter()
        .filter(|b| id.as_deref().is_none_or(|i| b.id == i))
        .filter(|b| kind.as_deref().is_none_or(|t| b.batch_type == t))
        .filter(|b| suspended.is_none_or(|s| b.suspended == s))
        .filter(|_| tenants.is_none())
        .collect())
}

fn compare(a: &Batch, b: &Batch, by: &str) -> Ordering {
    match by {
        "batchId" => a.id.cmp(&b.id),
        _ => Ordering::Equal,
    }
}

async fn list(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let sorts = q.sorting(SORT)?;
    let items = sort_and_page(matching(&state, &q)?, &sorts, q.pagination()?, compare)?;
    Ok(Json(J::Array(items.iter().map(batch_dto).collect())))
}

async fn statistics(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let sorts = q.sorting(SORT)?;
    let items = sort_and_page(matching(&state, &q)?, &sorts, q.pagination()?, compare)?;
    Ok(Json(J::Array(items.iter().map(statistics_dto).collect())))
}

async fn count(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    Ok(Json(dto::count(matching(&state, &q)?.len())))
}

async fn get_one(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let b = state.engine.batch(&id).map_err(|e| match e {
        ProcessEngineError::NotFound(m) => ApiError::not_found(m),
        other => other.into(),
    })?;
    Ok(Json(batch_dto(&b)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct DeleteParams {
    cascade: Option<bool>,
}

async fn delete(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    axum::extract::Query(p): axum::extract::Query<DeleteParams>,
) -> ApiResult<Response> {
    state
        .engine
        .delete_batch(&id, p.cascade.unwrap_or(false))
        .await
        .map_err(|e| match e {
            ProcessEngineError::BadUserRequest(_) => {
                ApiError::invalid(format!("Unable to delete batch with id '{id}'"))
            }
            other => other.into(),
        })?;
    Ok(no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SuspensionBody {
    suspended: bool,
}

async fn suspend(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<SuspensionBody>,
) -> ApiResult<Response> {
    state
        .engine
        .set_batch_suspended(&id, b.suspended)
        .await
        .map_err(|e| match e {
            ProcessEngineError::BadUserRequest(_) => ApiError::invalid(format!(
                "Unable to {} batch with id '{id}'",
                if b.suspended { "suspend" } else { "activate" }
            )),
            other => other.into(),
        })?;
    Ok(no_content())
}

/// The historic batches the `/history/batch` filters select (also `historicBatchQuery`).
pub(crate) fn history_matching(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<HistoricBatch>> {
    let id = q.str("batchId");
    let kind = q.str("type");
    let completed = q.bool("completed")?;
    let tenants = q.list("tenantIdIn");
    Ok(state
        .engine
        .historic_batches()?
        .into_iter()
        .filter(|h| id.as_deref().is_none_or(|i| h.batch.id == i))
        .filter(|h| kind.as_deref().is_none_or(|t| h.batch.batch_type == t))
        .filter(|h| completed.is_none_or(|c| h.end_time.is_some() == c))
        .filter(|_| tenants.is_none())
        .collect())
}

fn history_compare(a: &HistoricBatch, b: &HistoricBatch, by: &str) -> Ordering {
    match by {
        "batchId" => a.batch.id.cmp(&b.batch.id),
        "startTime" => a.batch.start_time.cmp(&b.batch.start_time),
        "endTime" => a.end_time.cmp(&b.end_time),
        _ => Ordering::Equal,
    }
}

async fn history_list(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let sorts = q.sorting(HISTORY_SORT)?;
    let items = sort_and_page(
        history_matching(&state, &q)?,
        &sorts,
        q.pagination()?,
        history_compare,
    )?;
    Ok(Json(J::Array(
        items.iter().map(|h| historic_dto(&state, h)).collect(),
    )))
}

async fn history_count(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    Ok(Json(dto::count(history_matching(&state, &q)?.len())))
}

async fn history_one(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let h = state.engine.historic_batch(&id).map_err(|e| match e {
        ProcessEngineError::NotFound(m) => ApiError::not_found(m),
        other => other.into(),
    })?;
    Ok(Json(historic_dto(&state, &h)))
}

async fn history_delete(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    state
        .engine
        .delete_historic_batch(&id)
        .await
        .map_err(|e| match e {
            ProcessEngineError::BadUserRequest(_) => {
                ApiError::invalid(format!("Unable to delete historic batch with id '{id}'"))
            }
            other => other.into(),
        })?;
    Ok(no_content())
}
