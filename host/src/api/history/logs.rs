//! `/history/external-task-log` and `/history/job-log`: list (GET and POST query), count
//! (GET and POST), one entry, and its error details / stack trace as `text/plain`.
//!
//! Entries are written by the engine in the write set of the step they record (created,
//! failed, successful, deleted); see `records/history_logs.rs`. Without a sort order a page
//! is cut while reading the store in creation order.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value as J, json};

use crate::api::date::format;
use crate::api::error::{ApiError, ApiResult};
use crate::api::json::Json;
use crate::api::query::{QueryInput, Search, eq_opt, in_opt, list_rows, verdict};
use crate::api::{ApiState, Route, dto, raw};
use crate::engine::ProcessEngine;
use crate::records::{ExternalTaskLog, HistoryLog, HistoryLogKind, JobLog, LogState};

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::get(
            "/history/external-task-log",
            "List historic external task log entries",
            ext_list,
        ),
        Route::post(
            "/history/external-task-log",
            "List historic external task log entries (query body)",
            ext_list,
        ),
        Route::get(
            "/history/external-task-log/count",
            "Count historic external task log entries",
            ext_count,
        ),
        Route::post(
            "/history/external-task-log/count",
            "Count historic external task log entries (query body)",
            ext_count,
        ),
        Route::get(
            "/history/external-task-log/{id}",
            "Get a historic external task log entry",
            ext_get,
        ),
        Route::get(
            "/history/external-task-log/{id}/error-details",
            "The error details of a historic external task log entry",
            ext_error_details,
        ),
        Route::get(
            "/history/job-log",
            "List historic job log entries",
            job_list,
        ),
        Route::post(
            "/history/job-log",
            "List historic job log entries (query body)",
            job_list,
        ),
        Route::get(
            "/history/job-log/count",
            "Count historic job log entries",
            job_count,
        ),
        Route::post(
            "/history/job-log/count",
            "Count historic job log entries (query body)",
            job_count,
        ),
        Route::get(
            "/history/job-log/{id}",
            "Get a historic job log entry",
            job_get,
        ),
        Route::get(
            "/history/job-log/{id}/stacktrace",
            "The exception stack trace of a historic job log entry",
            job_stacktrace,
        ),
    ]
}

fn flags(state: LogState) -> [(&'static str, bool); 4] {
    [
        ("creationLog", state == LogState::Created),
        ("failureLog", state == LogState::Failed),
        ("successLog", state == LogState::Successful),
        ("deletionLog", state == LogState::Deleted),
    ]
}

fn with_flags(mut dto: J, state: LogState) -> J {
    if let Some(o) = dto.as_object_mut() {
        for (k, v) in flags(state) {
            o.insert(k.into(), J::Bool(v));
        }
    }
    dto
}

/// The state filter shared by both logs: each given flag must match.
fn state_filter(q: &QueryInput) -> ApiResult<impl Fn(LogState) -> bool + use<>> {
    let wanted: Vec<(LogState, bool)> = [
        ("creationLog", LogState::Created),
        ("failureLog", LogState::Failed),
        ("successLog", LogState::Successful),
        ("deletionLog", LogState::Deleted),
    ]
    .into_iter()
    .filter_map(|(k, s)| match q.bool(k) {
        Ok(Some(b)) => Some(Ok((s, b))),
        Ok(None) => None,
        Err(e) => Some(Err(e)),
    })
    .collect::<ApiResult<_>>()?;
    Ok(move |s: LogState| wanted.iter().all(|(w, b)| (s == *w) == *b))
}

fn tenant_filter(q: &QueryInput) -> ApiResult<impl Fn(Option<&str>) -> bool + use<>> {
    let tenants = q.list("tenantIdIn");
    let without = q.flag("withoutTenantId")?;
    Ok(move |t: Option<&str>| in_opt(&tenants, t) && (!without || t.is_none()))
}

// ------------------------------------------------------------------ external task log

const EXT_SORT: &[&str] = &[
    "timestamp",
    "externalTaskId",
    "retries",
    "priority",
    "topicName",
    "workerId",
    "activityId",
    "activityInstanceId",
    "executionId",
    "processInstanceId",
    "processDefinitionId",
    "processDefinitionKey",
    "tenantId",
];

fn ext_dto(l: &ExternalTaskLog) -> J {
    with_flags(
        json!({
            "id": l.id,
            "timestamp": format(l.timestamp),
            "removalTime": null,
            "externalTaskId": l.external_task_id,
            "topicName": l.topic_name,
            "workerId": l.worker_id,
            "priority": l.priority,
            "retries": l.retries,
            "errorMessage": l.error_message,
            "activityId": l.activity_id,
            "activityInstanceId": l.activity_instance_id,
            "executionId": l.execution_id,
            "processInstanceId": l.process_instance_id,
            "processDefinitionId": l.process_definition_id,
            "processDefinitionKey": l.process_definition_key,
            "tenantId": l.tenant_id,
            "rootProcessInstanceId": l.process_instance_id,
        }),
        l.state,
    )
}

fn ext_matcher(q: &QueryInput) -> ApiResult<impl Fn(&ExternalTaskLog) -> bool + use<>> {
    let id = q.str("logId");
    let task = q.str("externalTaskId");
    let topic = q.str("topicName");
    let worker = q.str("workerId");
    let message = q.str("errorMessage");
    let activities = q.list("activityIdIn");
    let activity_instances = q.list("activityInstanceIdIn");
    let executions = q.list("executionIdIn");
    let pi = q.str("processInstanceId");
    let def = q.str("processDefinitionId");
    let key = q.str("processDefinitionKey");
    let low = q.int("priorityLowerThanOrEquals")?;
    let high = q.int("priorityHigherThanOrEquals")?;
    let state = state_filter(q)?;
    let tenant = tenant_filter(q)?;
    Ok(move |l: &ExternalTaskLog| {
        eq_opt(&id, Some(&l.id))
            && eq_opt(&task, Some(&l.external_task_id))
            && eq_opt(&topic, Some(&l.topic_name))
            && eq_opt(&worker, l.worker_id.as_deref())
            && eq_opt(&message, l.error_message.as_deref())
            && in_opt(&activities, Some(&l.activity_id))
            && in_opt(&activity_instances, Some(&l.activity_instance_id))
            && in_opt(&executions, Some(&l.execution_id))
            && eq_opt(&pi, Some(&l.process_instance_id))
            && eq_opt(&def, Some(&l.process_definition_id))
            && eq_opt(&key, Some(&l.process_definition_key))
            && low.is_none_or(|p| l.priority <= p)
            && high.is_none_or(|p| l.priority >= p)
            && state(l.state)
            && tenant(l.tenant_id.as_deref())
    })
}

fn ext_of(log: &HistoryLog) -> Option<&ExternalTaskLog> {
    match log {
        HistoryLog::ExternalTask(l) => Some(l),
        _ => None,
    }
}

fn ext_rows(
    state: &ApiState,
    q: &QueryInput,
    page: (usize, usize),
    sorts: &[crate::api::query::Sort],
) -> ApiResult<Vec<HistoryLog>> {
    let matches = ext_matcher(q)?;
    list_rows(
        sorts,
        page,
        |skip, limit| {
            let mut keep = verdict(|l: &HistoryLog| ext_of(l).is_some_and(&matches));
            Ok(state.engine.history_logs_where(
                HistoryLogKind::ExternalTask,
                &mut keep,
                skip,
                limit,
            )?)
        },
        |a, b, by| match (ext_of(a), ext_of(b)) {
            (Some(a), Some(b)) => ext_cmp(a, b, by),
            _ => Ordering::Equal,
        },
    )
}

fn ext_cmp(a: &ExternalTaskLog, b: &ExternalTaskLog, by: &str) -> Ordering {
    match by {
        "timestamp" => a.timestamp.cmp(&b.timestamp),
        "externalTaskId" => a.external_task_id.cmp(&b.external_task_id),
        "retries" => a.retries.cmp(&b.retries),
        "priority" => a.priority.cmp(&b.priority),
        "topicName" => a.topic_name.cmp(&b.topic_name),
        "workerId" => a.worker_id.cmp(&b.worker_id),
        "activityId" => a.activity_id.cmp(&b.activity_id),
        "activityInstanceId" => a.activity_instance_id.cmp(&b.activity_instance_id),
        "executionId" => a.execution_id.cmp(&b.execution_id),
        "processInstanceId" => a.process_instance_id.cmp(&b.process_instance_id),
        "processDefinitionId" => a.process_definition_id.cmp(&b.process_definition_id),
        "processDefinitionKey" => a.process_definition_key.cmp(&b.process_definition_key),
        "tenantId" => a.tenant_id.cmp(&b.tenant_id),
        _ => Ordering::Equal,
    }
}

async fn ext_list(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let sorts = q.sorting(EXT_SORT)?;
    let page = q.pagination()?;
    let rows = ext_rows(&state, &q, page, &sorts)?;
    Ok(Json(J::Array(
        rows.iter().filter_map(ext_of).map(ext_dto).collect(),
    )))
}

async fn ext_count(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let matches = ext_matcher(&q)?;
    let mut keep = verdict(|l: &HistoryLog| ext_of(l).is_some_and(&matches));
    let n = state
        .engine
        .history_logs_where(HistoryLogKind::ExternalTask, &mut keep, 0, usize::MAX)?
        .len();
    Ok(Json(dto::count(n)))
}

fn ext_one(state: &ApiState, id: &str) -> ApiResult<ExternalTaskLog> {
    match state.engine.history_log(HistoryLogKind::ExternalTask, id)? {
        Some(HistoryLog::ExternalTask(l)) => Ok(l),
        _ => Err(ApiError::not_found(format!(
            "Historic external task log with id {id} does not exist"
        ))),
    }
}

async fn ext_get(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    Ok(Json(ext_dto(&ext_one(&state, &id)?)))
}

async fn ext_error_details(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let l = ext_one(&state, &id)?;
    Ok(raw(
        "text/plain",
        l.error_details.unwrap_or_default().into_bytes(),
    ))
}

// ------------------------------------------------------------------ job log

const JOB_SORT: &[&str] = &[
    "timestamp",
    "jobId",
    "jobDefinitionId",
    "jobDueDate",
    "jobRetries",
    "jobPriority",
    "activityId",
    "executionId",
    "processInstanceId",
    "processDefinitionId",
    "processDefinitionKey",
    "deploymentId",
    "hostname",
    "occurrence",
    "tenantId",
];

/// Definition id → (key, deployment id), read once per request.
type DefinitionFacts = BTreeMap<String, Option<(String, String)>>;

fn facts<'a>(
    engine: &ProcessEngine,
    cache: &'a mut DefinitionFacts,
    id: Option<&str>,
) -> Option<&'a (String, String)> {
    let id = id?;
    cache
        .entry(id.to_owned())
        .or_insert_with(|| {
            engine
                .deployed_sync(id)
                .ok()
                .map(|d| (d.record.key.clone(), d.record.deployment_id.clone()))
        })
        .as_ref()
}

fn job_dto(l: &JobLog, facts: Option<&(String, String)>) -> J {
    with_flags(
        json!({
            "id": l.id,
            "timestamp": format(l.timestamp),
            "removalTime": null,
            "jobId": l.job_id,
            "jobDueDate": l.due.map(format),
            "jobRetries": l.retries,
            "jobPriority": l.priority,
            "jobExceptionMessage": l.exception_message,
            "failedActivityId": (l.state == LogState::Failed).then(|| l.activity_id.clone()),
            "jobDefinitionId": l.job_definition_id,
            "jobDefinitionType": l.job_definition_type,
            "jobDefinitionConfiguration": null,
            "activityId": l.activity_id,
            "executionId": l.execution_id,
            "processInstanceId": l.process_instance_id,
            "processDefinitionId": l.process_definition_id,
            "processDefinitionKey": facts.map(|f| f.0.clone()),
            "deploymentId": facts.map(|f| f.1.clone()),
            "rootProcessInstanceId": l.process_instance_id,
            "tenantId": l.tenant_id,
            "hostname": null,
            "batchId": null,
        }),
        l.state,
    )
}

fn job_of(log: &HistoryLog) -> Option<&JobLog> {
    match log {
        HistoryLog::Job(l) => Some(l),
        _ => None,
    }
}

fn job_matcher(state: &ApiState, q: &QueryInput) -> ApiResult<impl FnMut(&JobLog) -> bool + use<>> {
    let id = q.str("logId");
    let job = q.str("jobId");
    let message = q.str("jobExceptionMessage");
    let job_def = q.str("jobDefinitionId");
    let job_type = q.str("jobDefinitionType");
    let activities = q.list("activityIdIn");
    let failed_activities = q.list("failedActivityIdIn");
    let executions = q.list("executionIdIn");
    let pi = q.str("processInstanceId");
    let def = q.str("processDefinitionId");
    let key = q.str("processDefinitionKey");
    let deployment = q.str("deploymentId");
    let low = q.int("jobPriorityLowerThanOrEquals")?;
    let high = q.int("jobPriorityHigherThanOrEquals")?;
    let log_state = state_filter(q)?;
    let tenant = tenant_filter(q)?;
    let engine = state.engine.clone();
    let mut cache = DefinitionFacts::new();
    Ok(move |l: &JobLog| {
        let plain = eq_opt(&id, Some(&l.id))
            && eq_opt(&job, Some(&l.job_id))
            && eq_opt(&message, l.exception_message.as_deref())
            && eq_opt(&job_def, l.job_definition_id.as_deref())
            && eq_opt(&job_type, Some(&l.job_definition_type))
            && in_opt(&activities, Some(&l.activity_id))
            && (failed_activities.is_none()
                || (l.state == LogState::Failed
                    && in_opt(&failed_activities, Some(&l.activity_id))))
            && in_opt(&executions, l.execution_id.as_deref())
            && eq_opt(&pi, l.process_instance_id.as_deref())
            && eq_opt(&def, l.process_definition_id.as_deref())
            && low.is_none_or(|p| l.priority <= p)
            && high.is_none_or(|p| l.priority >= p)
            && log_state(l.state)
            && tenant(l.tenant_id.as_deref());
        if !plain || (key.is_none() && deployment.is_none()) {
            return plain;
        }
        let f = facts(&engine, &mut cache, l.process_definition_id.as_deref());
        eq_opt(&key, f.map(|f| f.0.as_str())) && eq_opt(&deployment, f.map(|f| f.1.as_str()))
    })
}

fn job_cmp(a: &JobLog, b: &JobLog, by: &str) -> Ordering {
    match by {
        "timestamp" | "occurrence" => a.timestamp.cmp(&b.timestamp).then(a.id.cmp(&b.id)),
        "jobId" => a.job_id.cmp(&b.job_id),
        "jobDefinitionId" => a.job_definition_id.cmp(&b.job_definition_id),
        "jobDueDate" => a.due.cmp(&b.due),
        "jobRetries" => a.retries.cmp(&b.retries),
        "jobPriority" => a.priority.cmp(&b.priority),
        "activityId" => a.activity_id.cmp(&b.activity_id),
        "executionId" => a.execution_id.cmp(&b.execution_id),
        "processInstanceId" => a.process_instance_id.cmp(&b.process_instance_id),
        "processDefinitionId" | "processDefinitionKey" | "deploymentId" => {
            a.process_definition_id.cmp(&b.process_definition_id)
        }
        "tenantId" => a.tenant_id.cmp(&b.tenant_id),
        _ => Ordering::Equal,
    }
}

fn job_rows(state: &ApiState, q: &QueryInput, page: (usize, usize)) -> ApiResult<Vec<JobLog>> {
    let sorts = q.sorting(JOB_SORT)?;
    let mut matches = job_matcher(state, q)?;
    let rows = list_rows(
        &sorts,
        page,
        |skip, limit| {
            let mut keep = |l: &HistoryLog| {
                if !crate::api::query::not_cancelled(l) {
                    crate::store::Accept::Abort
                } else if job_of(l).is_some_and(&mut matches) {
                    crate::store::Accept::Take
                } else {
                    crate::store::Accept::Skip
                }
            };
            Ok(state
                .engine
                .history_logs_where(HistoryLogKind::Job, &mut keep, skip, limit)?)
        },
        |a, b, by| match (job_of(a), job_of(b)) {
            (Some(a), Some(b)) => job_cmp(a, b, by),
            _ => Ordering::Equal,
        },
    )?;
    Ok(rows.iter().filter_map(job_of).cloned().collect())
}

async fn job_list(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let page = q.pagination()?;
    let rows = job_rows(&state, &q, page)?;
    let mut cache = DefinitionFacts::new();
    Ok(Json(J::Array(
        rows.iter()
            .map(|l| {
                let f = facts(
                    &state.engine,
                    &mut cache,
                    l.process_definition_id.as_deref(),
                );
                job_dto(l, f)
            })
            .collect(),
    )))
}

async fn job_count(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let mut matches = job_matcher(&state, &q)?;
    let mut keep = verdict(|l: &HistoryLog| job_of(l).is_some());
    let n = state
        .engine
        .history_logs_where(HistoryLogKind::Job, &mut keep, 0, usize::MAX)?
        .iter()
        .filter_map(job_of)
        .filter(|l| matches(l))
        .count();
    Ok(Json(dto::count(n)))
}

fn job_one(state: &ApiState, id: &str) -> ApiResult<JobLog> {
    match state.engine.history_log(HistoryLogKind::Job, id)? {
        Some(HistoryLog::Job(l)) => Ok(l),
        _ => Err(ApiError::not_found(format!(
            "Historic job log with id {id} does not exist"
        ))),
    }
}

async fn job_get(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let l = job_one(&state, &id)?;
    let mut cache = DefinitionFacts::new();
    let f = facts(
        &state.engine,
        &mut cache,
        l.process_definition_id.as_deref(),
    );
    Ok(Json(job_dto(&l, f)))
}

async fn job_stacktrace(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let l = job_one(&state, &id)?;
    Ok(raw(
        "text/plain",
        l.exception_message.unwrap_or_default().into_bytes(),
    ))
}
