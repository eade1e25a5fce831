//! Operations that create batches (answered with Camunda's `BatchDto`), and the synchronous
//! multi-instance modification: `POST /process-instance/{id}/modification-async`,
//! `POST /modification/execute` and `/modification/executeAsync`,
//! `POST /process-instance/delete` (and `delete-historic-query-based`),
//! `POST /process-instance/suspended-async`, `POST /process-instance/variables-async`,
//! `POST /process-instance/message-async`, `POST /process-instance/job-retries` (and
//! `job-retries-historic-query-based`), `POST /process-definition/{id}/restart-async`,
//! `POST /job/retries` and `POST /external-task/retries-async`.
//!
//! Targets come from the ids in the body and, for process instances, from a
//! `processInstanceQuery` (the `/process-instance` filters; without `maxResults` the
//! query's result cap applies). Texts of refusals are Camunda's (its engine's
//! `BadUserRequestException`s, which its REST resources turn into 400s).

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::Value as J;

use super::batch::batch_dto;
use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::modification::parse_request;
use super::query::QueryInput;
use super::{ApiState, Route};
use crate::engine::{ModificationRequest, ProcessEngineError};
use crate::store::batches::BatchOperation;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::post(
            "/process-instance/{id}/modification-async",
            "Modify a process instance in a batch",
            modify_async,
        ),
        Route::post(
            "/modification/execute",
            "Modify many process instances of a definition",
            execute,
        ),
        Route::post(
            "/modification/executeAsync",
            "Modify many process instances in a batch",
            execute_async,
        ),
        Route::post(
            "/process-instance/delete",
            "Delete process instances in a batch",
            delete_async,
        ),
        Route::post(
            "/process-instance/suspended-async",
            "Suspend or activate process instances in a batch",
            suspend_async,
        ),
        Route::post(
            "/process-instance/delete-historic-query-based",
            "Delete the process instances of a historic query in a batch",
            delete_async,
        ),
        Route::post(
            "/process-instance/variables-async",
            "Set variables on process instances in a batch",
            variables_async,
        ),
        Route::post(
            "/process-instance/message-async",
            "Correlate a message to process instances in a batch",
            message_async,
        ),
        Route::post(
            "/process-instance/job-retries",
            "Set the retries of process instances' jobs in a batch",
            instance_job_retries,
        ),
        Route::post(
            "/process-instance/job-retries-historic-query-based",
            "Set the retries of the jobs of a historic query's instances in a batch",
            instance_job_retries,
        ),
        Route::post(
            "/process-definition/{id}/restart-async",
            "Restart finished process instances in a batch",
            restart_async,
        ),
        Route::post("/job/retries", "Set job retries in a batch", job_retries),
        Route::post(
            "/external-task/retries-async",
            "Set external task retries in a batch",
            external_task_retries,
        ),
    ]
}

/// A list of ids from the body (`null`/absent → empty).
fn ids(body: &J, field: &str) -> ApiResult<Vec<String>> {
    match body.get(field) {
        None | Some(J::Null) => Ok(Vec::new()),
        Some(J::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::invalid(format!("'{field}' must hold strings")))
            })
            .collect(),
        Some(_) => Err(ApiError::invalid(format!("'{field}' must be a JSON array"))),
    }
}

/// The process instances a body names: `processInstanceIds`, then the matches of
/// `processInstanceQuery`, then those of `historicProcessInstanceQuery`, each once, in that
/// order.
async fn instance_targets(state: &ApiState, body: &J) -> ApiResult<Vec<String>> {
    let mut out = ids(body, "processInstanceIds")?;
    if let Some(q) = body.get("processInstanceQuery").filter(|q| q.is_object()) {
        let query = QueryInput::from_body(q, &QueryInput::from_pairs(Vec::new()));
        for pi in super::process_instance::query(state, &query).await? {
            out.push(pi.id().to_owned());
        }
    }
    if let Some(q) = body
        .get("historicProcessInstanceQuery")
        .filter(|q| q.is_object())
    {
        out.extend(super::history::historic_instance_ids(state, q).await?);
    }
    let mut seen = std::collections::HashSet::with_capacity(out.len());
    out.retain(|id| seen.insert(id.clone()));
    Ok(out)
}

/// A BadUserRequest of the engine as Camunda's REST resources answer it (400).
fn bad_request(e: ProcessEngineError) -> ApiError {
    match e {
        ProcessEngineError::BadUserRequest(m) => ApiError::invalid(m),
        other => other.into(),
    }
}

/// Create a batch and answer its `BatchDto` (the engine's refusals as 400s).
pub(crate) async fn create(
    state: &ApiState,
    operation: BatchOperation,
    targets: Vec<String>,
) -> ApiResult<Json<J>> {
    let batch = state
        .engine
        .create_batch(operation, targets, None)
        .await
        .map_err(bad_request)?;
    Ok(Json(batch_dto(&batch)))
}

async fn modify_async(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(body): Json<J>,
) -> ApiResult<Json<J>> {
    let request = parse_request(&body)?;
    if request.instructions.is_empty() {
        return Err(ApiError::invalid(
            "Modification instructions cannot be empty is empty",
        ));
    }
    state.engine.instance(&id).await.map_err(|e| match e {
        ProcessEngineError::NotFound(_) => ApiError::engine(format!(
            "ENGINE-13036 Process instance '{id}' cannot be modified. The process instance does not exist"
        )),
        other => other.into(),
    })?;
    create(&state, BatchOperation::Modification(request), vec![id]).await
}

/// A `ModificationDto`: the request, its definition and its instances, checked as Camunda's
/// `ProcessInstanceModificationCmd` does.
async fn modification(
    state: &ApiState,
    body: &J,
) -> ApiResult<(ModificationRequest, String, Vec<String>)> {
    let request = parse_request(body)?;
    if request.instructions.is_empty() {
        return Err(ApiError::invalid(
            "Modification instructions cannot be empty is empty",
        ));
    }
    let targets = instance_targets(state, body).await?;
    if targets.is_empty() {
        return Err(ApiError::invalid(
            "Process instance ids cannot be empty: Process instance ids is empty",
        ));
    }
    let definition = match body.get("processDefinitionId").and_then(J::as_str) {
        Some(d) if state.engine.definition(d).await.is_ok() => d.to_owned(),
        _ => {
            return Err(ApiError::invalid(
                "Process definition id cannot be null is null",
            ));
        }
    };
    Ok((request, definition, targets))
}

async fn execute(State(state): State<ApiState>, Json(body): Json<J>) -> ApiResult<Response> {
    let (request, definition, targets) = modification(&state, &body).await?;
    for id in &targets {
        let pi = state.engine.instance(id).await.map_err(|e| match e {
            ProcessEngineError::NotFound(_) => ApiError::engine(format!(
                "ENGINE-13036 Process instance '{id}' cannot be modified. The process instance does not exist"
            )),
            other => other.into(),
        })?;
        if pi.definition_id != definition {
            return Err(ApiError::engine(format!(
                "ENGINE-13037 Process instance '{id}' cannot be modified. Its process definition '{}' does not match given process definition '{definition}'",
                pi.definition_id
            )));
        }
    }
    for id in &targets {
        state.engine.modify_instance(id, request.clone()).await?;
    }
    Ok(no_content())
}

async fn execute_async(State(state): State<ApiState>, Json(body): Json<J>) -> ApiResult<Json<J>> {
    let (request, _, targets) = modification(&state, &body).await?;
    create(&state, BatchOperation::Modification(request), targets).await
}

async fn delete_async(State(state): State<ApiState>, Json(body): Json<J>) -> ApiResult<Json<J>> {
    let targets = instance_targets(&state, &body).await?;
    if targets.is_empty() {
        return Err(ApiError::invalid("processInstanceIds is empty"));
    }
    let reason = body
        .get("deleteReason")
        .and_then(J::as_str)
        .map(str::to_owned);
    create(&state, BatchOperation::DeleteInstances { reason }, targets).await
}

async fn suspend_async(State(state): State<ApiState>, Json(body): Json<J>) -> ApiResult<Json<J>> {
    let targets = instance_targets(&state, &body).await?;
    if targets.is_empty() {
        return Err(ApiError::invalid(
            "No process instance ids given: process Instance Ids is empty",
        ));
    }
    let suspended = body.get("suspended").and_then(J::as_bool).unwrap_or(false);
    create(
        &state,
        BatchOperation::SuspendInstances { suspended },
        targets,
    )
    .await
}

/// `retries` of a retries body: an integer ≥ 0 (Camunda's texts).
fn retries(body: &J) -> ApiResult<i32> {
    let r = body
        .get("retries")
        .and_then(J::as_i64)
        .ok_or_else(|| ApiError::invalid("retries is null"))?;
    if r < 0 {
        return Err(ApiError::engine(
            "Retries count is not greater than or equal to 0",
        ));
    }
    i32::try_from(r).map_err(|_| ApiError::invalid("retries is too large"))
}

/// `dueDate` of a retries body (Camunda 7.20+): the jobs' new due date, if given.
fn due_date(body: &J) -> ApiResult<Option<i64>> {
    match body.get("dueDate") {
        None | Some(J::Null) => Ok(None),
        Some(J::String(s)) => super::date::parse(s)
            .map(Some)
            .ok_or_else(|| ApiError::invalid(format!("Cannot parse dueDate '{s}': not a date"))),
        Some(other) => Err(ApiError::invalid(format!(
            "Cannot deserialize value of type `java.util.Date` from {other} for 'dueDate'"
        ))),
    }
}

/// `SetJobRetriesDto`: `jobIds` and the jobs of a `jobQuery` (the `/job` filters), each once.
async fn job_retries(State(state): State<ApiState>, Json(body): Json<J>) -> ApiResult<Json<J>> {
    let mut targets = ids(&body, "jobIds")?;
    if let Some(q) = body.get("jobQuery").filter(|q| q.is_object()) {
        targets.extend(super::job::ids_matching(&state, q)?);
    }
    let mut seen = std::collections::HashSet::with_capacity(targets.len());
    targets.retain(|id| seen.insert(id.clone()));
    if targets.is_empty() {
        return Err(ApiError::invalid("jobIds is empty"));
    }
    let retries = retries(&body)?;
    let due = due_date(&body)?;
    create(
        &state,
        BatchOperation::SetJobRetries { retries, due },
        targets,
    )
    .await
}

/// `SetRetriesForExternalTasksDto`: `externalTaskIds`, the tasks of an `externalTaskQuery`,
/// and the tasks of the instances named by `processInstanceIds`, `processInstanceQuery` and
/// `historicProcessInstanceQuery`, each once.
async fn external_task_retries(
    State(state): State<ApiState>,
    Json(body): Json<J>,
) -> ApiResult<Json<J>> {
    let mut targets = ids(&body, "externalTaskIds")?;
    if let Some(q) = body.get("externalTaskQuery").filter(|q| q.is_object()) {
        targets.extend(super::external_task::ids_matching(&state, q).await?);
    }
    let by_instance = [
        "processInstanceIds",
        "processInstanceQuery",
        "historicProcessInstanceQuery",
    ]
    .iter()
    .any(|f| body.get(*f).is_some_and(|v| !v.is_null()));
    if by_instance {
        let instances: std::collections::HashSet<String> =
            instance_targets(&state, &body).await?.into_iter().collect();
        targets.extend(
            state
                .engine
                .external_tasks()
                .await?
                .into_iter()
                .filter(|t| instances.contains(&t.process_instance_id))
                .map(|t| t.id),
        );
    }
    let mut seen = std::collections::HashSet::with_capacity(targets.len());
    targets.retain(|id| seen.insert(id.clone()));
    if targets.is_empty() {
        return Err(ApiError::invalid("externalTaskIds is empty"));
    }
    let retries = retries(&body)?;
    create(
        &state,
        BatchOperation::SetExternalTaskRetries { retries },
        targets,
    )
    .await
}

/// The running instances among a body's targets (Camunda runs the ids it is given through a
/// process instance query: ids of instances that do not run are dropped, not failed);
/// Camunda's texts when the body names none or none runs.
async fn running_targets(state: &ApiState, body: &J, ids_field: &str) -> ApiResult<Vec<String>> {
    let named = [
        ids_field,
        "processInstanceQuery",
        "historicProcessInstanceQuery",
    ]
    .iter()
    .any(|f| body.get(*f).is_some_and(|v| !v.is_null()));
    if !named {
        return Err(ApiError::invalid("No process instances found."));
    }
    let mut body = body.clone();
    if ids_field != "processInstanceIds"
        && let Some(o) = body.as_object_mut()
    {
        let given = o.remove(ids_field).unwrap_or(J::Null);
        o.insert("processInstanceIds".into(), given);
    }
    let mut running = Vec::new();
    for id in instance_targets(state, &body).await? {
        match state.engine.instance(&id).await {
            Ok(_) => running.push(id),
            Err(ProcessEngineError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if running.is_empty() {
        return Err(ApiError::invalid(
            "Process instance ids cannot be empty: process instance ids is empty",
        ));
    }
    Ok(running)
}

/// `SetVariablesAsyncDto`: `variables` (typed, not empty) on every target instance.
async fn variables_async(State(state): State<ApiState>, Json(body): Json<J>) -> ApiResult<Json<J>> {
    let variables =
        super::variables::decode_or_invalid(body.get("variables"), "Cannot set variables: ")?;
    if variables.is_empty() {
        return Err(ApiError::invalid("variables is empty"));
    }
    let targets = running_targets(&state, &body, "processInstanceIds").await?;
    create(&state, BatchOperation::SetVariables { variables }, targets).await
}

/// `CorrelationMessageAsyncDto`: `messageName` to every target instance, with `variables`.
async fn message_async(State(state): State<ApiState>, Json(body): Json<J>) -> ApiResult<Json<J>> {
    let variables =
        super::variables::decode_or_invalid(body.get("variables"), "Cannot set variables: ")?;
    let message_name = match body.get("messageName") {
        Some(J::String(s)) if !s.is_empty() => s.clone(),
        None | Some(J::Null) => return Err(ApiError::invalid("messageName is null")),
        Some(_) => return Err(ApiError::invalid("messageName must be a non-empty string")),
    };
    let targets = running_targets(&state, &body, "processInstanceIds").await?;
    create(
        &state,
        BatchOperation::CorrelateMessage {
            message_name,
            variables,
        },
        targets,
    )
    .await
}

/// `SetJobRetriesByProcessDto`: the retries of every job of the target instances
/// (`processInstances`, `processInstanceQuery`, `historicProcessInstanceQuery`).
async fn instance_job_retries(
    State(state): State<ApiState>,
    Json(body): Json<J>,
) -> ApiResult<Json<J>> {
    let retries = retries(&body)?;
    let instances: std::collections::HashSet<String> =
        running_targets(&state, &body, "processInstances")
            .await?
            .into_iter()
            .collect();
    let jobs: Vec<String> = state
        .engine
        .job_views()?
        .into_iter()
        .filter(|v| {
            v.job
                .process_instance_id
                .as_ref()
                .is_some_and(|pi| instances.contains(pi))
        })
        .map(|v| v.job.id)
        .collect();
    if jobs.is_empty() {
        return Err(ApiError::invalid("job ids is empty"));
    }
    let due = due_date(&body)?;
    create(&state, BatchOperation::SetJobRetries { retries, due }, jobs).await
}

/// `RestartProcessInstanceDto` as a batch: checked like the synchronous restart, then one
/// invocation per finished instance.
async fn restart_async(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(body): Json<J>,
) -> ApiResult<Json<J>> {
    let request = super::restart::read_request(&state, &body).await?;
    let batch = state
        .engine
        .restart_instances_async(&id, request)
        .await
        .map_err(bad_request)?;
    Ok(Json(batch_dto(&batch)))
}
