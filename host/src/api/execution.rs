//! `/execution/{id}` and its local variables. The root execution id is the process instance
//! id (the JS client downloads files through `/execution/{processInstanceId}/localVariables/
//! {name}/data`); other execution ids are those of activity instances.
//!
//! The engine has no lookup by execution id yet, so executions are found by scanning the
//! running instances.

use axum::extract::{Path, State};
use axum::response::Response;
use baton_bpmn::Variables;
use serde_json::{Value as J, json};

use super::error::{ApiError, ApiResult, not_found_as};
use super::json::{Json, no_content};
use super::process_instance::{
    ModifyBody, decode_modifications, decode_put, var_data_response, var_response, vars_response,
};
use super::query::{Params, QueryInput, Search, sort_and_page};
use super::variables::decode_variables;
use super::{ApiState, Route};
use crate::records::ProcessInstance;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get("/execution", "List executions", list),
        Route::post("/execution", "List executions (query body)", list),
        Route::get("/execution/count", "Count executions", count),
        Route::post("/execution/count", "Count executions (query body)", count),
        Route::post(
            "/execution/{id}/signal",
            "Signal an execution waiting at a receive task",
            signal,
        ),
        Route::get("/execution/{id}", "Get an execution", get_one),
        Route::get(
            "/execution/{id}/localVariables",
            "Local variables of an execution",
            vars_get,
        ),
        Route::post(
            "/execution/{id}/localVariables",
            "Modify local variables of an execution",
            vars_modify,
        ),
        Route::get(
            "/execution/{id}/localVariables/{name}",
            "One local variable",
            var_get,
        ),
        Route::put(
            "/execution/{id}/localVariables/{name}",
            "Set one local variable",
            var_put,
        ),
        Route::delete(
            "/execution/{id}/localVariables/{name}",
            "Delete one local variable",
            var_delete,
        ),
        Route::get(
            "/execution/{id}/localVariables/{name}/data",
            "Binary content of a local variable",
            var_data,
        ),
        Route::post(
            "/execution/{id}/create-incident",
            "Create an incident of any type on an execution",
            create_incident,
        ),
    ]
}

/// Camunda's 404 for an unknown execution.
pub(crate) fn missing(id: &str) -> ApiError {
    ApiError::not_found(format!("Execution with id {id} does not exist"))
}

/// The instance owning execution `id` and that execution's local variables.
/// An execution's process instance and local variables.
pub(crate) async fn find(state: &ApiState, id: &str) -> ApiResult<(ProcessInstance, Variables)> {
    // Fast path: the root execution is the process instance.
    match state.engine.instance(id).await {
        Ok(pi) => {
            let vars = pi.state.process_variables();
            return Ok((pi, vars));
        }
        Err(crate::engine::ProcessEngineError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    for pi in state.engine.instances().await? {
        let hit = pi
            .state
            .activity_instances
            .values()
            .find(|ai| ai.execution_id == id && ai.id == id)
            .or_else(|| {
                pi.state
                    .activity_instances
                    .values()
                    .find(|ai| ai.execution_id == id)
            })
            .map(|ai| ai.variables.clone());
        if let Some(vars) = hit {
            return Ok((pi, vars));
        }
    }
    Err(missing(id))
}

async fn get_one(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let (pi, _) = find(&state, &id).await?;
    Ok(Json(
        json!({"id": id, "processInstanceId": pi.id(), "ended": false, "tenantId": pi.tenant_id}),
    ))
}

async fn vars_get(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let (_, vars) = find(&state, &id).await?;
    vars_response(&vars, &q)
}

async fn var_get(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let (_, vars) = find(&state, &id).await?;
    var_response(&vars, &name, &q, "execution")
}

async fn var_data(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (_, vars) = find(&state, &id).await?;
    var_data_response(&vars, &name, "execution")
}

async fn var_put(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
    Json(body): Json<J>,
) -> ApiResult<Response> {
    let prefix = format!("Cannot put execution variable {name}: ");
    let mut vars = decode_put(&body, &prefix)?;
    if let Some(v) = vars.remove("") {
        vars.insert(name.clone(), v);
    }
    let (pi, _) = find(&state, &id).await?;
    state
        .engine
        .modify_variables(pi.id(), Some(&id), vars, Vec::new(), true)
        .await
        .map_err(|e| not_found_as(e, || missing(&id)).prefixed(&prefix))?;
    Ok(no_content())
}

async fn var_delete(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (pi, _) = find(&state, &id).await?;
    state
        .engine
        .modify_variables(pi.id(), Some(&id), Variables::new(), vec![name], true)
        .await
        .map_err(|e| not_found_as(e, || missing(&id)))?;
    Ok(no_content())
}

async fn vars_modify(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<ModifyBody>,
) -> ApiResult<Response> {
    let prefix = format!("Cannot modify variables for execution {id}: ");
    let mods = decode_modifications(&b, &prefix)?;
    let (pi, _) = find(&state, &id).await?;
    state
        .engine
        .modify_variables(
            pi.id(),
            Some(&id),
            mods,
            b.deletions.unwrap_or_default(),
            true,
        )
        .await
        .map_err(|e| not_found_as(e, || missing(&id)).prefixed(&prefix))?;
    Ok(no_content())
}

/// One row of `GET /execution`: Camunda's `ExecutionDto` plus the activity it waits at (for
/// filtering).
struct ExecutionRow {
    id: String,
    process_instance_id: String,
    definition_id: String,
    definition_key: String,
    tenant_id: Option<String>,
}

/// Every execution of the running instances matching Camunda's execution query parameters
/// (`processInstanceId`, `processDefinitionId`, `processDefinitionKey`, `businessKey`,
/// `activityId`, `executionId`). Linear in the number of activity instances.
async fn query(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<ExecutionRow>> {
    let pi_filter = q.str("processInstanceId");
    let def_id = q.str("processDefinitionId");
    let def_key = q.str("processDefinitionKey");
    let business_key = q.str("businessKey");
    let activity_id = q.str("activityId");
    let execution_id = q.str("executionId");
    let mut rows = Vec::new();
    for pi in state.engine.instances().await? {
        if pi_filter.as_deref().is_some_and(|f| f != pi.id())
            || def_id.as_deref().is_some_and(|f| f != pi.definition_id)
            || def_key.as_deref().is_some_and(|f| f != pi.definition_key)
            || business_key
                .as_deref()
                .is_some_and(|f| Some(f) != pi.state.business_key.as_deref())
            || !super::authz::sees::instance(pi.id(), &pi.definition_key)
        {
            continue;
        }
        let mut by_execution: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        by_execution.entry(pi.id().to_owned()).or_default();
        for ai in pi.state.activity_instances.values() {
            let acts = by_execution.entry(ai.execution_id.clone()).or_default();
            if ai.wait.is_some() {
                acts.push(ai.activity_id.clone());
            }
        }
        for (id, activity_ids) in by_execution {
            if execution_id.as_deref().is_some_and(|f| f != id)
                || activity_id
                    .as_deref()
                    .is_some_and(|f| !activity_ids.iter().any(|a| a == f))
            {
                continue;
            }
            rows.push(ExecutionRow {
                id,
                process_instance_id: pi.id().to_owned(),
                definition_id: pi.definition_id.clone(),
                definition_key: pi.definition_key.clone(),
                tenant_id: pi.tenant_id.clone(),
            });
        }
    }
    Ok(rows)
}

async fn list(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let rows = query(&state, &q).await?;
    let sorts = q.sorting(&["instanceId", "definitionKey", "definitionId", "tenantId"])?;
    let page = sort_and_page(rows, &sorts, q.pagination()?, |a, b, by| match by {
        "instanceId" => a.process_instance_id.cmp(&b.process_instance_id),
        "definitionKey" => a.definition_key.cmp(&b.definition_key),
        "definitionId" => a.definition_id.cmp(&b.definition_id),
        _ => a.tenant_id.cmp(&b.tenant_id),
    })?;
    Ok(Json(J::Array(
        page.iter()
            .map(|r| {
                json!({"id": r.id, "processInstanceId": r.process_instance_id, "ended": false,
                    "tenantId": r.tenant_id})
            })
            .collect(),
    )))
}

async fn count(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let n = query(&state, &q).await?.len();
    Ok(Json(json!({ "count": n })))
}

/// Camunda's `ExecutionTriggerDto`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct TriggerBody {
    variables: Option<J>,
}

async fn signal(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<TriggerBody>,
) -> ApiResult<Response> {
    let variables = decode_variables(b.variables.as_ref())
        .map(|d| d.variables)
        .map_err(|m| ApiError::invalid(format!("Cannot signal execution {id}: {m}")))?;
    state.engine.signal_execution(&id, variables).await?;
    Ok(no_content())
}

/// `CreateIncidentDto`: `incidentType` (required), `configuration`, `message`; answers the
/// new incident (`IncidentDto`). An unknown execution is Camunda's 400, not a 404.
async fn create_incident(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(body): Json<J>,
) -> ApiResult<Json<J>> {
    let text = |name: &str| -> ApiResult<Option<String>> {
        match body.get(name) {
            None | Some(J::Null) => Ok(None),
            Some(J::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(ApiError::invalid(format!(
                "Cannot deserialize value of type `java.lang.String` from {other} for '{name}'"
            ))),
        }
    };
    if !body.is_object() {
        return Err(ApiError::invalid("The request body must be a JSON object"));
    }
    let incident_type = text("incidentType")?.unwrap_or_default();
    let configuration = text("configuration")?;
    let message = text("message")?;
    if incident_type.is_empty() {
        return Err(ApiError::invalid("incidentType is null"));
    }
    let (instance, _) = find(&state, &id).await.map_err(|_| {
        ApiError::invalid(format!(
            "Cannot find an execution with executionId '{id}': execution is null"
        ))
    })?;
    let incident = state
        .engine
        .create_incident(&instance, &id, &incident_type, configuration, message)
        .await
        .map_err(|e| match e {
            crate::engine::ProcessEngineError::BadUserRequest(m) => ApiError::invalid(m),
            other => other.into(),
        })?;
    Ok(Json(super::dto::incident(&incident)))
}
