//! `/external-task`: fetchAndLock (long polling), complete, failure, bpmnError, extendLock,
//! lock, unlock, retries (single and bulk), priority, get, errorDetails, list, count,
//! topic-names; and baton's `GET /external-task/{id}/log`, the log an in-engine (wasm)
//! execution wrote, kept after the task completed.
//!
//! This module validates requests the way Camunda does (camunda-rest.md §6) and leaves the
//! waiting to the engine: `asyncResponseTimeout` is passed on and the engine parks the call.
//! Unknown ids are 404 `External task with id X does not exist` (`RestException`, code null);
//! a worker that does not hold the lock gets the engine's 400 message.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value as J};

use super::error::{ApiError, ApiResult, not_found_as};
use super::json::{Json, no_content};
use super::query::{Params, QueryInput, Search, eq_opt, in_opt, list_rows, only_indexed, verdict};
use super::variables::{decode_or_invalid, infer};
use super::{ApiState, Route, dto, raw};
use crate::engine::{
    FailureRequest, FetchAndLockRequest, ProcessEngineError, TaskLookup, TopicRequest,
};
use crate::records::ExternalTask;

/// Camunda's cap on `asyncResponseTimeout` (30 minutes).
pub const MAX_ASYNC_RESPONSE_TIMEOUT: i64 = 1_800_000;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::post(
            "/external-task/fetchAndLock",
            "Fetch and lock external tasks (long polling)",
            fetch_and_lock,
        ),
        Route::get("/external-task", "List external tasks", list),
        Route::post("/external-task", "List external tasks (query body)", list),
        Route::get("/external-task/count", "Count external tasks", count),
        Route::post(
            "/external-task/count",
            "Count external tasks (query body)",
            count,
        ),
        Route::get(
            "/external-task/topic-names",
            "Distinct topic names",
            topic_names,
        ),
        Route::put(
            "/external-task/retries",
            "Set retries of many external tasks",
            retries_bulk,
        ),
        Route::get("/external-task/{id}", "Get an external task", get_one),
        Route::get(
            "/external-task/{id}/errorDetails",
            "Error details of the last failure (text/plain)",
            error_details,
        ),
        Route::get(
            "/external-task/{id}/log",
            "Log lines of a task's in-engine (wasm) executions, oldest first (baton)",
            task_log,
        ),
        Route::post(
            "/external-task/{id}/complete",
            "Complete an external task",
            complete,
        ),
        Route::post("/external-task/{id}/failure", "Report a failure", failure),
        Route::post(
            "/external-task/{id}/bpmnError",
            "Report a BPMN error",
            bpmn_error,
        ),
        Route::post(
            "/external-task/{id}/extendLock",
            "Extend the lock",
            extend_lock,
        ),
        Route::post("/external-task/{id}/lock", "Lock one external task", lock),
        Route::post(
            "/external-task/{id}/unlock",
            "Unlock an external task",
            unlock,
        ),
        Route::put("/external-task/{id}/retries", "Set the retries", retries),
        Route::put("/external-task/{id}/priority", "Set the priority", priority),
    ]
}

fn unknown(id: &str) -> ApiError {
    ApiError::rest(
        StatusCode::NOT_FOUND,
        format!("External task with id {id} does not exist"),
    )
}

fn map_err(id: &str) -> impl FnOnce(ProcessEngineError) -> ApiError + '_ {
    move |e| not_found_as(e, || unknown(id))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SortEntry {
    sort_by: Option<String>,
    sort_order: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct TopicBody {
    topic_name: Option<String>,
    lock_duration: Option<i64>,
    variables: Option<Vec<String>>,
    local_variables: Option<bool>,
    business_key: Option<String>,
    process_definition_id: Option<String>,
    process_definition_id_in: Option<Vec<String>>,
    process_definition_key: Option<String>,
    process_definition_key_in: Option<Vec<String>>,
    process_definition_version_tag: Option<String>,
    without_tenant_id: Option<bool>,
    tenant_id_in: Option<Vec<String>>,
    process_variables: Option<Map<String, J>>,
    deserialize_values: Option<bool>,
    include_extension_properties: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct FetchBody {
    worker_id: Option<String>,
    max_tasks: Option<i64>,
    use_priority: Option<bool>,
    async_response_timeout: Option<i64>,
    sorting: Option<Vec<SortEntry>>,
    topics: Option<Vec<TopicBody>>,
}

/// Validate a fetchAndLock body into the engine request (and each topic's `deserializeValues`).
fn validate_fetch(body: FetchBody) -> ApiResult<(FetchAndLockRequest, BTreeMap<String, bool>)> {
    let timeout = body.async_response_timeout;
    if timeout.is_some_and(|t| t > MAX_ASYNC_RESPONSE_TIMEOUT) {
        return Err(ApiError::invalid(format!(
            "The asynchronous response timeout cannot be set to a value greater than {MAX_ASYNC_RESPONSE_TIMEOUT} milliseconds"
        )));
    }
    let worker_id = body
        .worker_id
        .ok_or_else(|| ApiError::null_value("workerId is null"))?;
    let max_tasks = body.max_tasks.unwrap_or(0);
    if max_tasks < 0 {
        return Err(ApiError::engine(
            "maxResults is not greater than or equal to 0",
        ));
    }
    let limit = super::guard::client_limits().max_fetch_tasks;
    if usize::try_from(max_tasks).is_ok_and(|m| m > limit) {
        return Err(ApiError::invalid(format!(
            "maxTasks {max_tasks} exceeds the limit of {limit} tasks per fetchAndLock"
        )));
    }
    let mut sort_by_create_time_asc = None;
    for s in body.sorting.unwrap_or_default() {
        match s.sort_by.as_deref() {
            Some("createTime") => {}
            other => {
                return Err(ApiError::invalid(format!(
                    "sortBy parameter has invalid value: {}",
                    other.unwrap_or("null")
                )));
            }
        }
        sort_by_create_time_asc = Some(match s.sort_order.as_deref() {
            Some("asc") | None => true,
            Some("desc") => false,
            Some(other) => {
                return Err(ApiError::invalid(format!(
                    "sortOrder parameter has invalid value: {other}"
                )));
            }
        });
    }
    let mut deserialize = BTreeMap::new();
    let mut topics = Vec::new();
    for t in body.topics.unwrap_or_default() {
        let topic_name = t
            .topic_name
            .ok_or_else(|| ApiError::null_value("topicName is null"))?;
        // Validated (> 0) by the engine (`FetchAndLockRequest::validate`), the one place for
        // fetch-and-lock rules.
        let lock_duration = t.lock_duration.unwrap_or(0);
        deserialize.insert(topic_name.clone(), t.deserialize_values.unwrap_or(false));
        topics.push(TopicRequest {
            topic_name,
            lock_duration,
            variables: t.variables,
            local_variables: t.local_variables.unwrap_or(false),
            business_key: t.business_key,
            process_definition_id: t.process_definition_id,
            process_definition_id_in: t.process_definition_id_in,
            process_definition_key: t.process_definition_key,
            process_definition_key_in: t.process_definition_key_in,
            process_definition_version_tag: t.process_definition_version_tag,
            tenant_id_in: t.tenant_id_in,
            without_tenant_id: t.without_tenant_id.unwrap_or(false),
            process_variables: t
                .process_variables
                .unwrap_or_default()
                .iter()
                .map(|(k, v)| (k.clone(), infer(v)))
                .collect(),
            include_extension_properties: t.include_extension_properties.unwrap_or(false),
        });
    }
    let request = FetchAndLockRequest {
        worker_id,
        max_tasks: usize::try_from(max_tasks).unwrap_or(usize::MAX),
        use_priority: body.use_priority.unwrap_or(false),
        topics,
        async_response_timeout: timeout
            .filter(|t| *t > 0)
            .map(|t| Duration::from_millis(t.unsigned_abs())),
        sort_by_create_time_asc,
    };
    request.validate()?;
    Ok((request, deserialize))
}

async fn fetch_and_lock(
    State(state): State<ApiState>,
    Json(body): Json<FetchBody>,
) -> ApiResult<Json<J>> {
    let (mut request, deserialize) = validate_fetch(body)?;
    // A worker user fetches only the topics it may work on (`UPDATE` on the topic): the
    // others are dropped from the request, as Camunda filters what a user may lock.
    request
        .topics
        .retain(|t| super::authz::sees::topic_work(&t.topic_name));
    let locked = state.engine.fetch_and_lock(request).await?;
    Ok(Json(J::Array(
        locked
            .iter()
            .map(|l| {
                dto::locked_task(
                    l,
                    deserialize
                        .get(&l.task.topic_name)
                        .copied()
                        .unwrap_or(false),
                )
            })
            .collect(),
    )))
}

fn require_worker(w: Option<String>) -> ApiResult<String> {
    w.ok_or_else(|| ApiError::null_value("workerId is null"))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct CompleteBody {
    worker_id: Option<String>,
    variables: Option<J>,
    local_variables: Option<J>,
}

async fn complete(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<CompleteBody>,
) -> ApiResult<Response> {
    let worker = require_worker(b.worker_id)?;
    let prefix = format!("Cannot complete external task {id}: ");
    let vars = decode_or_invalid(b.variables.as_ref(), &prefix)?;
    let local = decode_or_invalid(b.local_variables.as_ref(), &prefix)?;
    state
        .engine
        .complete_external_task(&id, &worker, vars, local)
        .await
        .map_err(map_err(&id))?;
    Ok(no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct FailureBody {
    worker_id: Option<String>,
    error_message: Option<String>,
    error_details: Option<String>,
    retries: Option<i64>,
    retry_timeout: Option<i64>,
    variables: Option<J>,
    local_variables: Option<J>,
}

/// Camunda truncates stored error messages to 666 characters.
fn truncate_message(m: String) -> String {
    if m.chars().count() > 666 {
        m.chars().take(666).collect()
    } else {
        m
    }
}

async fn failure(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<FailureBody>,
) -> ApiResult<Response> {
    let worker = require_worker(b.worker_id)?;
    let retries = b.retries.unwrap_or(0);
    if retries < 0 {
        return Err(ApiError::engine(
            "retries is not greater than or equal to 0",
        ));
    }
    let retry_timeout = b.retry_timeout.unwrap_or(0);
    if retry_timeout < 0 {
        return Err(ApiError::engine(
            "retryDuration is not greater than or equal to 0",
        ));
    }
    let prefix = format!("Cannot report failure of external task {id}: ");
    let vars = decode_or_invalid(b.variables.as_ref(), &prefix)?;
    let local = decode_or_invalid(b.local_variables.as_ref(), &prefix)?;
    let request = FailureRequest {
        worker_id: worker,
        error_message: b.error_message.map(truncate_message),
        error_details: b.error_details,
        retries: i32::try_from(retries).unwrap_or(i32::MAX),
        retry_timeout,
        variables: vars,
        local_variables: local,
    };
    state
        .engine
        .external_task_failure(&id, request)
        .await
        .map_err(map_err(&id))?;
    Ok(no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct BpmnErrorBody {
    worker_id: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
    variables: Option<J>,
}

async fn bpmn_error(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<BpmnErrorBody>,
) -> ApiResult<Response> {
    let worker = require_worker(b.worker_id)?;
    let code = b
        .error_code
        .ok_or_else(|| ApiError::null_value("errorCode is null"))?;
    let vars = decode_or_invalid(
        b.variables.as_ref(),
        &format!("Cannot report BPMN error of external task {id}: "),
    )?;
    state
        .engine
        .external_task_bpmn_error(&id, &worker, &code, b.error_message, vars)
        .await
        .map_err(map_err(&id))?;
    Ok(no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct LockBody {
    worker_id: Option<String>,
    new_duration: Option<i64>,
    lock_duration: Option<i64>,
}

/// The engine refuses a duration that is not positive (400 `BadUserRequestException`,
/// before it looks the task up), so these handlers only pick the body field.
async fn extend_lock(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<LockBody>,
) -> ApiResult<Response> {
    let worker = require_worker(b.worker_id)?;
    let duration = b.new_duration.unwrap_or(0);
    let done = state.engine.extend_lock(&id, &worker, duration).await;
    done.map_err(map_err(&id))?;
    Ok(no_content())
}

async fn lock(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<LockBody>,
) -> ApiResult<Response> {
    let worker = require_worker(b.worker_id)?;
    let duration = b.lock_duration.unwrap_or(0);
    let done = state
        .engine
        .lock_external_task(&id, &worker, duration)
        .await;
    done.map_err(map_err(&id))?;
    Ok(no_content())
}

/// No body extractor: the JS client posts nothing, without a Content-Type.
async fn unlock(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    state
        .engine
        .unlock_external_task(&id)
        .await
        .map_err(map_err(&id))?;
    Ok(no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RetriesBody {
    retries: Option<i64>,
    external_task_ids: Option<Vec<String>>,
    process_instance_ids: Option<Vec<String>>,
    external_task_query: Option<J>,
}

fn checked_retries(r: Option<i64>) -> ApiResult<i32> {
    let r = r.ok_or_else(|| ApiError::invalid("The number of retries cannot be null."))?;
    if r < 0 {
        return Err(ApiError::bad_user_request(
            "The number of retries cannot be negative: retries is not greater than or equal to 0",
        ));
    }
    Ok(i32::try_from(r).unwrap_or(i32::MAX))
}

async fn retries(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<RetriesBody>,
) -> ApiResult<Response> {
    let r = checked_retries(b.retries)?;
    state
        .engine
        .set_external_task_retries(&id, r)
        .await
        .map_err(map_err(&id))?;
    Ok(no_content())
}

async fn retries_bulk(
    State(state): State<ApiState>,
    Params(query): Params,
    Json(b): Json<RetriesBody>,
) -> ApiResult<Response> {
    let r = checked_retries(b.retries)?;
    let mut ids: BTreeSet<String> = b
        .external_task_ids
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let needs_scan = b.process_instance_ids.is_some() || b.external_task_query.is_some();
    if needs_scan {
        let all = state.engine.external_tasks().await?;
        if let Some(pis) = &b.process_instance_ids {
            ids.extend(
                all.iter()
                    .filter(|t| pis.contains(&t.process_instance_id))
                    .map(|t| t.id.clone()),
            );
        }
        if let Some(qb) = &b.external_task_query {
            let q = QueryInput::from_body(qb, &query);
            let matches = matcher(&q, state.engine.now())?;
            ids.extend(super::query::live(all).filter(|t| matches(t)).map(|t| t.id));
        }
    }
    if ids.is_empty() && !needs_scan {
        return Err(ApiError::bad_user_request("externalTaskIds is empty"));
    }
    for id in ids {
        state
            .engine
            .set_external_task_retries(&id, r)
            .await
            .map_err(map_err(&id))?;
    }
    Ok(no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct PriorityBody {
    priority: Option<i64>,
}

async fn priority(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<PriorityBody>,
) -> ApiResult<Response> {
    let p = b
        .priority
        .ok_or_else(|| ApiError::invalid("Priority cannot be null."))?;
    state
        .engine
        .set_external_task_priority(&id, p)
        .await
        .map_err(map_err(&id))?;
    Ok(no_content())
}

async fn get_one(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let t = state
        .engine
        .external_task(&id)
        .await
        .map_err(map_err(&id))?;
    Ok(Json(dto::external_task(&t)))
}

async fn error_details(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let t = state
        .engine
        .external_task(&id)
        .await
        .map_err(map_err(&id))?;
    Ok(match t.error_details {
        Some(d) => raw("text/plain", d.into_bytes()),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// The log outlives the task (it explains how a finished task ended), so an unknown id is
/// only a 404 when there is neither a task nor a log.
async fn task_log(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let lines = state.engine.task_log(&id).await?;
    if lines.is_empty() {
        state
            .engine
            .external_task(&id)
            .await
            .map_err(map_err(&id))?;
    }
    Ok(Json(J::Array(lines.into_iter().map(J::String).collect())))
}

const SORT: &[&str] = &[
    "id",
    "lockExpirationTime",
    "processInstanceId",
    "processDefinitionId",
    "processDefinitionKey",
    "taskPriority",
    "tenantId",
    "createTime",
];

/// The query fields an index serves (see [`lookup`]).
const INDEXED_FIELDS: &[&str] = &["topicName", "processInstanceId"];

/// Camunda's external task query parameters as a predicate (`now` decides `locked`).
fn matcher(q: &QueryInput, now: i64) -> ApiResult<impl Fn(&ExternalTask) -> bool + use<>> {
    let id = q.str("externalTaskId");
    let id_in = q.list("externalTaskIdIn");
    let topic = q.str("topicName");
    let worker = q.str("workerId");
    let locked = q.flag("locked")?;
    let not_locked = q.flag("notLocked")?;
    let with_retries = q.flag("withRetriesLeft")?;
    let no_retries = q.flag("noRetriesLeft")?;
    let lock_after = q.date("lockExpirationAfter")?;
    let lock_before = q.date("lockExpirationBefore")?;
    let activity = q.str("activityId");
    let activity_in = q.list("activityIdIn");
    let execution = q.str("executionId");
    let pi = q.str("processInstanceId");
    let pi_in = q.list("processInstanceIdIn");
    let pd = q.str("processDefinitionId");
    let pd_key = q.str("processDefinitionKey");
    let pd_key_in = q.list("processDefinitionKeyIn");
    let tenants = q.list("tenantIdIn");
    let active = q.flag("active")?;
    let suspended = q.flag("suspended")?;
    let prio_min = q.int("priorityHigherThanOrEquals")?;
    let prio_max = q.int("priorityLowerThanOrEquals")?;
    Ok(move |t: &ExternalTask| {
        let is_locked = t.lock_expiration_time.is_some_and(|e| e > now);
        eq_opt(&id, Some(&t.id))
            && in_opt(&id_in, Some(&t.id))
            && eq_opt(&topic, Some(&t.topic_name))
            && eq_opt(&worker, t.worker_id.as_deref())
            && (!locked || is_locked)
            && (!not_locked || !is_locked)
            && (!with_retries || t.retries.is_none_or(|r| r > 0))
            && (!no_retries || t.retries == Some(0))
            && lock_after.is_none_or(|a| t.lock_expiration_time.is_some_and(|e| e > a))
            && lock_before.is_none_or(|b| t.lock_expiration_time.is_some_and(|e| e < b))
            && eq_opt(&activity, Some(&t.activity_id))
            && in_opt(&activity_in, Some(&t.activity_id))
            && eq_opt(&execution, Some(&t.execution_id))
            && eq_opt(&pi, Some(&t.process_instance_id))
            && in_opt(&pi_in, Some(&t.process_instance_id))
            && eq_opt(&pd, Some(&t.process_definition_id))
            && eq_opt(&pd_key, Some(&t.process_definition_key))
            && in_opt(&pd_key_in, Some(&t.process_definition_key))
            && in_opt(&tenants, t.tenant_id.as_deref())
            && (!active || !t.suspended)
            && (!suspended || t.suspended)
            && prio_min.is_none_or(|p| t.priority >= p)
            && prio_max.is_none_or(|p| t.priority <= p)
    })
}

/// The ids of the external tasks an `externalTaskQuery` body (the `/external-task` filters)
/// matches, as the batch operations take them.
pub(crate) async fn ids_matching(state: &ApiState, query: &J) -> ApiResult<Vec<String>> {
    let q = QueryInput::from_body(query, &QueryInput::from_pairs(Vec::new()));
    Ok(self::query(state, &q)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect())
}

async fn query(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<ExternalTask>> {
    let sorts = q.sorting(SORT)?;
    let matches = matcher(q, state.engine.now())?;
    let mut keep =
        verdict(move |t: &ExternalTask| matches(t) && super::authz::sees::external_task(t));
    let (topic, pi) = (q.str("topicName"), q.str("processInstanceId"));
    let lookup = TaskLookup {
        topic: topic.as_deref(),
        process_instance_id: pi.as_deref(),
        ..TaskLookup::default()
    };
    let read = |skip, limit| {
        Ok(state
            .engine
            .external_tasks_where(&lookup, &mut keep, skip, limit)?)
    };
    list_rows(&sorts, q.pagination()?, read, |a, b, by| match by {
        "id" => a.id.cmp(&b.id),
        "lockExpirationTime" => a.lock_expiration_time.cmp(&b.lock_expiration_time),
        "processInstanceId" => a.process_instance_id.cmp(&b.process_instance_id),
        "processDefinitionId" => a.process_definition_id.cmp(&b.process_definition_id),
        "processDefinitionKey" => a.process_definition_key.cmp(&b.process_definition_key),
        "taskPriority" => a.priority.cmp(&b.priority),
        "tenantId" => a.tenant_id.cmp(&b.tenant_id),
        "createTime" => a.create_time.cmp(&b.create_time),
        _ => Ordering::Equal,
    })
}

async fn list(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let items = query(&state, &q).await?;
    Ok(Json(J::Array(
        items.iter().map(dto::external_task).collect(),
    )))
}

async fn count(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let (topic, pi) = (q.str("topicName"), q.str("processInstanceId"));
    let lookup = TaskLookup {
        topic: topic.as_deref(),
        process_instance_id: pi.as_deref(),
        ..TaskLookup::default()
    };
    if only_indexed(&q, INDEXED_FIELDS) {
        return Ok(Json(dto::count(
            state.engine.count_external_tasks_where(&lookup)?,
        )));
    }
    let matches = matcher(&q, state.engine.now())?;
    let mut keep =
        verdict(move |t: &ExternalTask| matches(t) && super::authz::sees::external_task(t));
    let items = state
        .engine
        .external_tasks_where(&lookup, &mut keep, 0, usize::MAX)?;
    super::guard::check()?;
    Ok(Json(dto::count(items.len())))
}

async fn topic_names(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let with_locked = q.flag("withLockedTasks")?;
    let with_unlocked = q.flag("withUnlockedTasks")?;
    let with_retries = q.flag("withRetriesLeft")?;
    let now = state.engine.now();
    let names: BTreeSet<String> = state
        .engine
        .external_tasks()
        .await?
        .into_iter()
        .take_while(super::query::not_cancelled)
        .filter(|t| {
            let is_locked = t.lock_expiration_time.is_some_and(|e| e > now);
            (!with_locked || is_locked)
                && (!with_unlocked || !is_locked)
                && (!with_retries || t.retries.is_none_or(|r| r > 0))
        })
        .map(|t| t.topic_name)
        .collect();
    Ok(Json(J::Array(names.into_iter().map(J::String).collect())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(j: J) -> FetchBody {
        serde_json::from_value(j).expect("body")
    }

    #[test]
    fn fetch_validation_messages() {
        let e = validate_fetch(body(
            serde_json::json!({"workerId":"w","asyncResponseTimeout":1_800_001}),
        ))
        .expect_err("cap");
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        let e = validate_fetch(body(serde_json::json!({"maxTasks":1}))).expect_err("worker");
        assert_eq!(
            (e.status(), e.kind(), e.message()),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "NullValueException",
                "workerId is null"
            )
        );
        let e = validate_fetch(body(
            serde_json::json!({"workerId":"w","topics":[{"topicName":"t","lockDuration":0}]}),
        ))
        .expect_err("lock");
        assert_eq!(
            (e.status(), e.message()),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "lockTime is not greater than 0"
            )
        );
        let e = validate_fetch(body(
            serde_json::json!({"workerId":"w","sorting":[{"sortBy":"priority","sortOrder":"asc"}]}),
        ))
        .expect_err("sort");
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn fetch_accepts_nulls_like_the_python_client() {
        let (r, d) = validate_fetch(body(serde_json::json!({
            "workerId": "w", "maxTasks": 1, "usePriority": false, "asyncResponseTimeout": 30000, "sorting": null,
            "topics": [{"topicName": "t", "lockDuration": 1000, "processVariables": {}, "includeExtensionProperties": true,
                        "deserializeValues": true, "variables": null}]
        })))
        .expect("valid");
        assert_eq!(r.topics.len(), 1);
        assert!(r.topics[0].variables.is_none());
        assert_eq!(r.async_response_timeout, Some(Duration::from_millis(30000)));
        assert_eq!(d.get("t"), Some(&true));
        let (r, _) = validate_fetch(body(serde_json::json!({"workerId":"w","topics":null})))
            .expect("null topics");
        assert!(r.topics.is_empty());
    }
}
