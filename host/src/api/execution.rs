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
use super::query::Params;
use super::{ApiState, Route};
use crate::records::ProcessInstance;

pub(crate) fn routes() -> Vec<Route> {
    vec![
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
    ]
}

fn missing(id: &str) -> ApiError {
    ApiError::not_found(format!("Execution with id {id} does not exist"))
}

/// The instance owning execution `id` and that execution's local variables.
async fn find(state: &ApiState, id: &str) -> ApiResult<(ProcessInstance, Variables)> {
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
