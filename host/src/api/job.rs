//! `/job`: list and count (GET and POST, Camunda's filters and sort orders), get, retries,
//! due date, execute now, suspension (one job, or by job definition, instance or process
//! definition), priority, exception stack trace and deletion. The jobs are timers, async
//! continuations and timer start events (engine room `management`).

use std::cmp::Ordering;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::date::{format, format_opt};
use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::query::{Params, QueryInput, Search, eq_opt, in_opt, live, sort_and_page};
use super::{ApiState, Route, dto};
use crate::engine::{JobSelector, JobView, ProcessEngineError};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get("/job", "List jobs", list),
        Route::post("/job", "List jobs (query in the body)", list),
        Route::get("/job/count", "Count jobs", count),
        Route::post("/job/count", "Count jobs (query in the body)", count),
        Route::put(
            "/job/suspended",
            "Suspend or activate the jobs of a job definition, instance or process definition",
            suspend_many,
        ),
        Route::get("/job/{id}", "Get a job", get_one),
        Route::delete("/job/{id}", "Delete a job", delete),
        Route::put("/job/{id}/retries", "Set a job's retries", set_retries),
        Route::put("/job/{id}/duedate", "Set a job's due date", set_due_date),
        Route::post(
            "/job/{id}/duedate/recalculate",
            "Compute a timer job's due date again from its definition",
            recalculate,
        ),
        Route::post("/job/{id}/execute", "Run a job now", execute),
        Route::put(
            "/job/{id}/suspended",
            "Suspend or activate a job",
            suspend_one,
        ),
        Route::put("/job/{id}/priority", "Set a job's priority", set_priority),
        Route::get(
            "/job/{id}/stacktrace",
            "The exception of a job's last failure (text)",
            stacktrace,
        ),
    ]
}

const SORT: &[&str] = &[
    "jobId",
    "executionId",
    "processInstanceId",
    "processDefinitionId",
    "processDefinitionKey",
    "jobPriority",
    "jobRetries",
    "jobDueDate",
    "tenantId",
];

/// `JobDto`. An async continuation ("message") shows a due date only while it waits for a
/// retry, as Camunda's do; timers always show theirs.
pub fn job(v: &JobView) -> J {
    let j = &v.job;
    let failed = j.exception_message.is_some();
    json!({
        "id": j.id,
        "jobDefinitionId": v.job_definition_id,
        "dueDate": (v.timer || failed).then(|| format(j.due)),
        "processInstanceId": j.process_instance_id,
        "processDefinitionId": v.process_definition_id,
        "processDefinitionKey": v.process_definition_key,
        "executionId": j.activity_instance_id.as_ref().or(j.process_instance_id.as_ref()),
        "retries": j.retries,
        "exceptionMessage": j.exception_message,
        "failedActivityId": failed.then_some(&j.activity_id),
        "suspended": j.suspended,
        "priority": j.priority,
        "tenantId": j.tenant_id,
        "createTime": format_opt((j.create_time > 0).then_some(j.create_time)),
        "batchId": null,
    })
}

/// One `dueDates`/`createTimes` condition: `gt` or `lt` a time.
#[derive(Debug, Clone, Copy)]
struct TimeCondition {
    greater: bool,
    at: i64,
}

impl TimeCondition {
    fn holds(&self, t: i64) -> bool {
        if self.greater {
            t > self.at
        } else {
            t < self.at
        }
    }
}

/// `dueDates`/`createTimes`: `gt_DATE,lt_DATE` on GET, `[{"operator","value"}]` in a body.
fn time_conditions(q: &QueryInput, name: &str) -> ApiResult<Vec<TimeCondition>> {
    let pairs: Vec<(String, String)> = match q.raw(name) {
        None => return Ok(Vec::new()),
        Some(J::String(s)) => s
            .split(',')
            .filter(|c| !c.is_empty())
            .map(|c| {
                let (op, value) = c.split_once('_').ok_or_else(|| {
                    ApiError::invalid(format!(
                        "Invalid {name} parameter: {c} (expected operator_value)"
                    ))
                })?;
                Ok((op.to_owned(), value.to_owned()))
            })
            .collect::<ApiResult<_>>()?,
        Some(J::Array(items)) => items
            .iter()
            .map(|c| {
                let op = c["operator"].as_str().unwrap_or_default().to_owned();
                let value = c["value"].as_str().unwrap_or_default().to_owned();
                (op, value)
            })
            .collect(),
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Cannot set query parameter '{name}' to value '{other}'"
            )));
        }
    };
    pairs
        .into_iter()
        .map(|(op, value)| {
            let greater = match op.as_str() {
                "gt" => true,
                "lt" => false,
                _ => {
                    return Err(ApiError::invalid(format!(
                        "Invalid {name} comparator specified: {op}"
                    )));
                }
            };
            let at = super::date::parse(&value).ok_or_else(|| {
                ApiError::invalid(format!(
                    "Cannot set query parameter '{name}' to value '{value}'"
                ))
            })?;
            Ok(TimeCondition { greater, at })
        })
        .collect()
}

/// Camunda's job query parameters as a predicate.
fn matcher(q: &QueryInput, now: i64) -> ApiResult<impl Fn(&JobView) -> bool + use<>> {
    let id = q.str("jobId");
    let ids = q.list("jobIds");
    let definition = q.str("jobDefinitionId");
    let pi = q.str("processInstanceId");
    let pis = q.list("processInstanceIds");
    let execution = q.str("executionId");
    let pd = q.str("processDefinitionId");
    let pd_key = q.str("processDefinitionKey");
    let activity = q.str("activityId");
    let with_retries = q.flag("withRetriesLeft")?;
    let executable = q.flag("executable")?;
    let timers = q.flag("timers")?;
    let messages = q.flag("messages")?;
    if timers && messages {
        return Err(ApiError::invalid(
            "Parameter timers cannot be used together with parameter messages.",
        ));
    }
    let due = time_conditions(q, "dueDates")?;
    let created = time_conditions(q, "createTimes")?;
    let with_exception = q.flag("withException")?;
    let exception = q.str("exceptionMessage");
    let failed_activity = q.str("failedActivityId");
    let no_retries = q.flag("noRetriesLeft")?;
    let active = q.flag("active")?;
    let suspended = q.flag("suspended")?;
    let prio_max = q.int("priorityLowerThanOrEquals")?;
    let prio_min = q.int("priorityHigherThanOrEquals")?;
    let tenants = q.list("tenantIdIn");
    let without_tenant = q.flag("withoutTenantId")?;
    let with_untenanted = q.flag("includeJobsWithoutTenantId")?;
    // baton's jobs are never locked by an executor between runs: none is "acquired".
    let acquired = q.flag("acquired")?;
    Ok(move |v: &JobView| {
        let j = &v.job;
        let tenant_ok = match (&tenants, j.tenant_id.as_deref()) {
            (Some(_), None) if with_untenanted => true,
            (t, tenant) => in_opt(t, tenant),
        };
        eq_opt(&id, Some(&j.id))
            && in_opt(&ids, Some(&j.id))
            && eq_opt(&definition, v.job_definition_id.as_deref())
            && eq_opt(&pi, j.process_instance_id.as_deref())
            && in_opt(&pis, j.process_instance_id.as_deref())
            && eq_opt(
                &execution,
                j.activity_instance_id
                    .as_deref()
                    .or(j.process_instance_id.as_deref()),
            )
            && eq_opt(&pd, v.process_definition_id.as_deref())
            && eq_opt(&pd_key, v.process_definition_key.as_deref())
            && eq_opt(&activity, Some(&j.activity_id))
            && (!with_retries || j.retries > 0)
            && (!executable || (j.retries > 0 && j.due <= now))
            && (!timers || v.timer)
            && (!messages || !v.timer)
            && due.iter().all(|c| c.holds(j.due))
            && created.iter().all(|c| c.holds(j.create_time))
            && (!with_exception || j.exception_message.is_some())
            && eq_opt(&exception, j.exception_message.as_deref())
            && (failed_activity.is_none()
                || (j.exception_message.is_some()
                    && eq_opt(&failed_activity, Some(&j.activity_id))))
            && (!no_retries || j.retries == 0)
            && (!active || !j.suspended)
            && (!suspended || j.suspended)
            && prio_max.is_none_or(|p| j.priority <= p)
            && prio_min.is_none_or(|p| j.priority >= p)
            && tenant_ok
            && (!without_tenant || j.tenant_id.is_none())
            && !acquired
    })
}

fn compare(a: &JobView, b: &JobView, by: &str) -> Ordering {
    let (x, y) = (&a.job, &b.job);
    match by {
        "jobId" => x.id.cmp(&y.id),
        "executionId" => x.activity_instance_id.cmp(&y.activity_instance_id),
        "processInstanceId" => x.process_instance_id.cmp(&y.process_instance_id),
        "processDefinitionId" => a.process_definition_id.cmp(&b.process_definition_id),
        "processDefinitionKey" => a.process_definition_key.cmp(&b.process_definition_key),
        "jobPriority" => x.priority.cmp(&y.priority),
        "jobRetries" => x.retries.cmp(&y.retries),
        "jobDueDate" => x.due.cmp(&y.due),
        "tenantId" => x.tenant_id.cmp(&y.tenant_id),
        _ => Ordering::Equal,
    }
}

fn matching(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<JobView>> {
    let keep = matcher(q, state.engine.now())?;
    Ok(live(state.engine.job_views()?)
        .filter(|v| keep(v) && super::authz::sees::job(v))
        .collect())
}

/// The ids of the jobs a `jobQuery` body (the `/job` filters) matches, as the batch
/// operations take them.
pub(crate) fn ids_matching(state: &ApiState, query: &J) -> ApiResult<Vec<String>> {
    let q = QueryInput::from_body(query, &QueryInput::from_pairs(Vec::new()));
    Ok(matching(state, &q)?.into_iter().map(|v| v.job.id).collect())
}

async fn list(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let sorts = q.sorting(SORT)?;
    let page = q.pagination()?;
    let mut items = matching(&state, &q)?;
    // Creation order when no order is asked (the store reads by id).
    items.sort_by_key(|v| v.job.create_time);
    let items = sort_and_page(items, &sorts, page, compare)?;
    Ok(Json(J::Array(items.iter().map(job).collect())))
}

async fn count(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let items = matching(&state, &q)?;
    super::guard::check()?;
    Ok(Json(dto::count(items.len())))
}

async fn get_one(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let v = state.engine.job_view(&id).map_err(|e| match e {
        ProcessEngineError::NotFound(_) => {
            ApiError::not_found(format!("Job with id {id} does not exist"))
        }
        e => e.into(),
    })?;
    Ok(Json(job(&v)))
}

/// Camunda answers most failures of these commands as a 500 `InvalidRequestException` with
/// the engine's message (`JobResourceImpl`).
fn as_500(e: ProcessEngineError) -> ApiError {
    match e {
        ProcessEngineError::NotFound(m) | ProcessEngineError::Engine(m) => {
            ApiError::invalid_status(StatusCode::INTERNAL_SERVER_ERROR, m)
        }
        e => e.into(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RetriesBody {
    retries: Option<i64>,
    due_date: Option<String>,
}

fn parse_date(name: &str, value: Option<&str>) -> ApiResult<Option<i64>> {
    value
        .map(|s| {
            super::date::parse(s)
                .ok_or_else(|| ApiError::invalid(format!("Cannot parse {name} '{s}': not a date")))
        })
        .transpose()
}

fn retries_of(retries: Option<i64>) -> ApiResult<i32> {
    let r = retries.ok_or_else(|| {
        ApiError::invalid_status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The number of job retries must be a non-negative Integer, but 'null' has been provided.",
        )
    })?;
    Ok(i32::try_from(r).unwrap_or(if r < 0 { -1 } else { i32::MAX }))
}

async fn set_retries(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<RetriesBody>,
) -> ApiResult<Response> {
    let retries = retries_of(b.retries)?;
    let due = parse_date("dueDate", b.due_date.as_deref())?;
    state
        .engine
        .set_job_retries(&id, retries, due)
        .await
        .map_err(as_500)?;
    Ok(no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct DueDateBody {
    duedate: Option<String>,
    cascade: bool,
}

async fn set_due_date(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<DueDateBody>,
) -> ApiResult<Response> {
    let _ = b.cascade; // baton's jobs have no follow-up jobs to move along.
    let due = parse_date("duedate", b.duedate.as_deref())?;
    state
        .engine
        .set_job_due_date(&id, due)
        .await
        .map_err(as_500)?;
    Ok(no_content())
}

async fn recalculate(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Response> {
    let creation_date_based = q.flag("creationDateBased")?;
    state
        .engine
        .recalculate_job_due_date(&id, creation_date_based)
        .await
        .map_err(|e| match e {
            // RecalculateJobDuedateCmd's NotFoundException becomes a 404, other failures a 500.
            ProcessEngineError::NotFound(m) => ApiError::not_found(m),
            e => as_500(e),
        })?;
    Ok(no_content())
}

async fn execute(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    let outcome = state.engine.execute_job(&id).await.map_err(|e| match e {
        ProcessEngineError::NotFound(m) => ApiError::not_found(m.trim_end_matches('.').to_owned()),
        e => e.into(),
    })?;
    match outcome {
        Ok(()) => Ok(no_content()),
        // The job ran and failed: its retries went down (Camunda answers the exception).
        Err(message) => Err(ApiError::rest(StatusCode::INTERNAL_SERVER_ERROR, message)),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SuspensionBody {
    suspended: bool,
    job_id: Option<String>,
    job_definition_id: Option<String>,
    process_instance_id: Option<String>,
    process_definition_id: Option<String>,
    process_definition_key: Option<String>,
}

async fn suspend_one(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<SuspensionBody>,
) -> ApiResult<Response> {
    let others = [
        &b.job_definition_id,
        &b.process_instance_id,
        &b.process_definition_id,
        &b.process_definition_key,
    ];
    if others.iter().any(|o| o.is_some()) {
        return Err(ApiError::invalid(
            "Only one of jobId, jobDefinitionId, processInstanceId, processDefinitionId or processDefinitionKey should be set to update the suspension state.",
        ));
    }
    state.engine.set_job_suspended(&id, b.suspended).await?;
    Ok(no_content())
}

/// A bulk suspension names exactly one target: Camunda's two texts for none and for several
/// (`names` lists the body's target fields as Camunda's message does).
pub(super) fn exactly_one_suspension_target(
    given: &[&Option<String>],
    names: &str,
) -> ApiResult<()> {
    match given.iter().filter(|o| o.is_some()).count() {
        0 => Err(ApiError::invalid(format!(
            "Either {names} should be set to update the suspension state."
        ))),
        1 => Ok(()),
        _ => Err(ApiError::invalid(format!(
            "Only one of {names} should be set to update the suspension state."
        ))),
    }
}

async fn suspend_many(
    State(state): State<ApiState>,
    Json(b): Json<SuspensionBody>,
) -> ApiResult<Response> {
    exactly_one_suspension_target(
        &[
            &b.job_id,
            &b.job_definition_id,
            &b.process_instance_id,
            &b.process_definition_id,
            &b.process_definition_key,
        ],
        "jobId, jobDefinitionId, processInstanceId, processDefinitionId or processDefinitionKey",
    )?;
    let selector = if let Some(id) = b.job_id {
        state.engine.set_job_suspended(&id, b.suspended).await?;
        return Ok(no_content());
    } else if let Some(d) = b.job_definition_id {
        JobSelector::JobDefinition(d)
    } else if let Some(p) = b.process_instance_id {
        JobSelector::ProcessInstance(p)
    } else if let Some(d) = b.process_definition_id {
        JobSelector::ProcessDefinition(d)
    } else if let Some(k) = b.process_definition_key {
        JobSelector::ProcessDefinitionKey(k)
    } else {
        return Ok(no_content());
    };
    state
        .engine
        .set_jobs_suspended(&selector, b.suspended)
        .await?;
    Ok(no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct PriorityBody {
    priority: Option<i64>,
}

async fn set_priority(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<PriorityBody>,
) -> ApiResult<Response> {
    let priority = b.priority.ok_or_else(|| {
        ApiError::rest(
            StatusCode::BAD_REQUEST,
            format!("Priority for job '{id}' cannot be null."),
        )
    })?;
    state
        .engine
        .set_job_priority(&id, priority)
        .await
        .map_err(|e| match e {
            ProcessEngineError::NotFound(_) => {
                ApiError::not_found(format!("No job found with id '{id}': job is null"))
            }
            e => e.into(),
        })?;
    Ok(no_content())
}

async fn stacktrace(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    let v = state.engine.job_view(&id).map_err(|e| match e {
        ProcessEngineError::NotFound(_) => {
            ApiError::not_found(format!("No job found with id {id}: job is null"))
        }
        e => e.into(),
    })?;
    // baton's jobs fail with a message, not a Java stack trace: the message is the trace.
    match v.job.exception_message {
        Some(m) => Ok(super::raw("text/plain", m.into_bytes())),
        None => Ok(no_content()),
    }
}

async fn delete(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    state.engine.delete_job(&id).await.map_err(|e| match e {
        ProcessEngineError::NotFound(_) => {
            ApiError::not_found(format!("No job found with id '{id}': job is null"))
        }
        e => e.into(),
    })?;
    Ok(no_content())
}
