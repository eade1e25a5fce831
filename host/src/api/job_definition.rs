//! `/job-definition`: list and count (GET and POST), get, suspension (one, or by process
//! definition), retries of its failed jobs, and the overriding job priority. Job definitions
//! are derived from the deployed models (engine room `management`).

use std::cmp::Ordering;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::query::{QueryInput, Search, eq_opt, in_opt, live, sort_and_page};
use super::{ApiState, Route, dto};
use crate::engine::{JobDefinition, ProcessEngineError};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get("/job-definition", "List job definitions", list),
        Route::post(
            "/job-definition",
            "List job definitions (query in the body)",
            list,
        ),
        Route::get("/job-definition/count", "Count job definitions", count),
        Route::post(
            "/job-definition/count",
            "Count job definitions (query in the body)",
            count,
        ),
        Route::put(
            "/job-definition/suspended",
            "Suspend or activate job definitions by process definition",
            suspend_many,
        ),
        Route::get("/job-definition/{id}", "Get a job definition", get_one),
        Route::put(
            "/job-definition/{id}/suspended",
            "Suspend or activate a job definition",
            suspend_one,
        ),
        Route::put(
            "/job-definition/{id}/retries",
            "Set the retries of a job definition's failed jobs",
            set_retries,
        ),
        Route::put(
            "/job-definition/{id}/jobPriority",
            "Set or clear a job definition's overriding job priority",
            set_priority,
        ),
    ]
}

const SORT: &[&str] = &[
    "jobDefinitionId",
    "activityId",
    "processDefinitionId",
    "processDefinitionKey",
    "jobType",
    "jobConfiguration",
    "tenantId",
];

/// `JobDefinitionDto`.
pub fn job_definition(d: &JobDefinition) -> J {
    json!({
        "id": d.id,
        "processDefinitionId": d.process_definition_id,
        "processDefinitionKey": d.process_definition_key,
        "activityId": d.activity_id,
        "jobType": d.job_type,
        "jobConfiguration": d.job_configuration,
        "overridingJobPriority": d.overriding_priority,
        "suspended": d.suspended,
        "tenantId": d.tenant_id,
        "deploymentId": d.deployment_id,
    })
}

fn matcher(q: &QueryInput) -> ApiResult<impl Fn(&JobDefinition) -> bool + use<>> {
    let id = q.str("jobDefinitionId");
    let ids = q.list("jobDefinitionIdIn");
    let activities = q.list("activityIdIn");
    let pd = q.str("processDefinitionId");
    let pd_key = q.str("processDefinitionKey");
    let job_type = q.str("jobType");
    let config = q.str("jobConfiguration");
    let active = q.flag("active")?;
    let suspended = q.flag("suspended")?;
    let with_priority = q.flag("withOverridingJobPriority")?;
    let tenants = q.list("tenantIdIn");
    let without_tenant = q.flag("withoutTenantId")?;
    let with_untenanted = q.flag("includeJobDefinitionsWithoutTenantId")?;
    Ok(move |d: &JobDefinition| {
        let tenant_ok = match (&tenants, d.tenant_id.as_deref()) {
            (Some(_), None) if with_untenanted => true,
            (t, tenant) => in_opt(t, tenant),
        };
        eq_opt(&id, Some(&d.id))
            && in_opt(&ids, Some(&d.id))
            && in_opt(&activities, Some(&d.activity_id))
            && eq_opt(&pd, Some(&d.process_definition_id))
            && eq_opt(&pd_key, Some(&d.process_definition_key))
            && eq_opt(&job_type, Some(d.job_type))
            && eq_opt(&config, d.job_configuration.as_deref())
            && (!active || !d.suspended)
            && (!suspended || d.suspended)
            && (!with_priority || d.overriding_priority.is_some())
            && tenant_ok
            && (!without_tenant || d.tenant_id.is_none())
    })
}

fn compare(a: &JobDefinition, b: &JobDefinition, by: &str) -> Ordering {
    match by {
        "jobDefinitionId" => a.id.cmp(&b.id),
        "activityId" => a.activity_id.cmp(&b.activity_id),
        "processDefinitionId" => a.process_definition_id.cmp(&b.process_definition_id),
        "processDefinitionKey" => a.process_definition_key.cmp(&b.process_definition_key),
        "jobType" => a.job_type.cmp(b.job_type),
        "jobConfiguration" => a.job_configuration.cmp(&b.job_configuration),
        "tenantId" => a.tenant_id.cmp(&b.tenant_id),
        _ => Ordering::Equal,
    }
}

fn matching(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<JobDefinition>> {
    let keep = matcher(q)?;
    // One process definition when it is named (its model only), else every one.
    let all = match q.str("processDefinitionId") {
        Some(pd) => state.engine.job_definitions_of(&pd).unwrap_or_default(),
        None => state.engine.job_definitions()?,
    };
    Ok(live(all)
        .filter(|d| keep(d) && super::authz::sees::definition(&d.process_definition_key))
        .collect())
}

async fn list(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let sorts = q.sorting(SORT)?;
    let page = q.pagination()?;
    let items = sort_and_page(matching(&state, &q)?, &sorts, page, compare)?;
    Ok(Json(J::Array(items.iter().map(job_definition).collect())))
}

async fn count(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let items = matching(&state, &q)?;
    super::guard::check()?;
    Ok(Json(dto::count(items.len())))
}

async fn get_one(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    Ok(Json(job_definition(&state.engine.job_definition(&id)?)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SuspensionBody {
    suspended: bool,
    include_jobs: bool,
    execution_date: Option<String>,
    job_definition_id: Option<String>,
    process_definition_id: Option<String>,
    process_definition_key: Option<String>,
}

fn no_delayed(b: &SuspensionBody) -> ApiResult<()> {
    match b.execution_date.as_deref() {
        None | Some("") => Ok(()),
        Some(_) => Err(ApiError::invalid(
            "executionDate is not supported: baton suspends and activates at once",
        )),
    }
}

async fn suspend_one(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<SuspensionBody>,
) -> ApiResult<Response> {
    if b.process_definition_id.is_some() || b.process_definition_key.is_some() {
        return Err(ApiError::invalid(
            "Only one of jobDefinitionId, processDefinitionId or processDefinitionKey should be set to update the suspension state.",
        ));
    }
    no_delayed(&b)?;
    state
        .engine
        .set_job_definition_suspended(&id, b.suspended, b.include_jobs)
        .await?;
    Ok(no_content())
}

async fn suspend_many(
    State(state): State<ApiState>,
    Json(b): Json<SuspensionBody>,
) -> ApiResult<Response> {
    super::job::exactly_one_suspension_target(
        &[
            &b.job_definition_id,
            &b.process_definition_id,
            &b.process_definition_key,
        ],
        "jobDefinitionId, processDefinitionId or processDefinitionKey",
    )?;
    no_delayed(&b)?;
    let ids: Vec<String> = if let Some(id) = &b.job_definition_id {
        vec![id.clone()]
    } else {
        state
            .engine
            .job_definitions()?
            .into_iter()
            .filter(|d| {
                eq_opt(&b.process_definition_id, Some(&d.process_definition_id))
                    && eq_opt(&b.process_definition_key, Some(&d.process_definition_key))
            })
            .map(|d| d.id)
            .collect()
    };
    for id in ids {
        state
            .engine
            .set_job_definition_suspended(&id, b.suspended, b.include_jobs)
            .await?;
    }
    Ok(no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RetriesBody {
    retries: Option<i64>,
}

async fn set_retries(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<RetriesBody>,
) -> ApiResult<Response> {
    let retries = b.retries.map_or(-1, |r| {
        i32::try_from(r).unwrap_or(if r < 0 { -1 } else { i32::MAX })
    });
    state
        .engine
        .set_job_definition_retries(&id, retries)
        .await
        .map_err(|e| match e {
            // JobDefinitionResourceImpl: engine failures are a 500 InvalidRequestException.
            ProcessEngineError::Engine(m) | ProcessEngineError::NotFound(m) => {
                ApiError::invalid_status(StatusCode::INTERNAL_SERVER_ERROR, m)
            }
            e => e.into(),
        })?;
    Ok(no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct PriorityBody {
    priority: Option<i64>,
    include_jobs: bool,
}

async fn set_priority(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<PriorityBody>,
) -> ApiResult<Response> {
    if b.priority.is_none() && b.include_jobs {
        return Err(ApiError::invalid(format!(
            "Cannot reset priority for job definition {id} with includeJobs=true"
        )));
    }
    state
        .engine
        .set_job_definition_priority(&id, b.priority, b.include_jobs)
        .await?;
    Ok(no_content())
}
