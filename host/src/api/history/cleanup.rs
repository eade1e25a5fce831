//! `/history/cleanup`: run the history cleanup now (`POST`, `immediatelyDue` defaults to
//! true), its job (`GET /job`, `/jobs`, Camunda's `JobDto`) and the configured batch window
//! (`GET /configuration`). The removal rules live in `engine/history_cleanup.rs`.

use axum::extract::State;
use serde_json::{Value as J, json};

use crate::api::date::{format, format_opt};
use crate::api::error::{ApiError, ApiResult};
use crate::api::json::Json;
use crate::api::query::Params;
use crate::api::{ApiState, Route};
use crate::engine::history_cleanup::{CLEANUP_JOB_ID, CleanupState};

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::post(
            "/history/cleanup",
            "Run the history cleanup (now unless immediatelyDue=false)",
            run,
        ),
        Route::get("/history/cleanup/job", "The history cleanup job", job),
        Route::get("/history/cleanup/jobs", "The history cleanup jobs", jobs),
        Route::get(
            "/history/cleanup/configuration",
            "The history cleanup batch window",
            configuration,
        ),
    ]
}

fn job_dto(s: &CleanupState) -> J {
    json!({
        "id": CLEANUP_JOB_ID,
        "jobDefinitionId": null,
        "processInstanceId": null,
        "executionId": null,
        "processDefinitionId": null,
        "processDefinitionKey": null,
        "exceptionMessage": null,
        "failedActivityId": null,
        "retries": 3,
        "dueDate": format_opt(s.due),
        "suspended": false,
        "priority": 0,
        "tenantId": null,
        "createTime": format_opt(s.created),
        "batchId": null,
    })
}

async fn run(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    if q.bool("immediatelyDue")?.unwrap_or(true) {
        state.engine.run_history_cleanup().await?;
    } else {
        state.engine.schedule_history_cleanup();
    }
    let s = state.engine.history_cleanup_job().unwrap_or_default();
    Ok(Json(job_dto(&s)))
}

async fn job(State(state): State<ApiState>) -> ApiResult<Json<J>> {
    let s = state
        .engine
        .history_cleanup_job()
        .ok_or_else(|| ApiError::not_found("History cleanup job does not exist"))?;
    Ok(Json(job_dto(&s)))
}

async fn jobs(State(state): State<ApiState>) -> ApiResult<Json<J>> {
    Ok(Json(J::Array(
        state
            .engine
            .history_cleanup_job()
            .iter()
            .map(job_dto)
            .collect(),
    )))
}

async fn configuration(State(state): State<ApiState>) -> ApiResult<Json<J>> {
    let window = state.engine.history_cleanup_window();
    Ok(Json(json!({
        "batchWindowStartTime": window.map(|w| format(w.0)),
        "batchWindowEndTime": window.map(|w| format(w.1)),
        "enabled": true,
    })))
}
