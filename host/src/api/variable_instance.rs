//! `/variable-instance`: the variables of running process instances (list and count, GET and
//! POST, Camunda's filters and sort orders), one by id, and a binary one's content (`/data`).
//! Engine room `variable_instances`.

use std::cmp::Ordering;

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value as J, json};

use super::error::ApiResult;
use super::json::Json;
use super::process_instance::var_data_response;
use super::query::{
    Params, QueryInput, Search, eq_opt, in_opt, like_opt, live, sort_and_page, variables_match,
};
use super::variables::encode_value;
use super::{ApiState, Route, dto};
use crate::engine::VariableInstanceView;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get("/variable-instance", "List running variables", list),
        Route::post(
            "/variable-instance",
            "List running variables (query in the body)",
            list,
        ),
        Route::get("/variable-instance/count", "Count running variables", count),
        Route::post(
            "/variable-instance/count",
            "Count running variables (query in the body)",
            count,
        ),
        Route::get("/variable-instance/{id}", "Get a running variable", get_one),
        Route::get(
            "/variable-instance/{id}/data",
            "The content of a binary (Bytes/File) variable",
            data,
        ),
    ]
}

const SORT: &[&str] = &[
    "variableName",
    "variableType",
    "activityInstanceId",
    "tenantId",
];

/// `VariableInstanceDto`.
fn variable(v: &VariableInstanceView, deserialize: bool) -> J {
    let typed = encode_value(&v.value, deserialize);
    json!({
        "id": v.id,
        "name": v.name,
        "type": typed["type"],
        "value": typed["value"],
        "valueInfo": typed["valueInfo"],
        "processDefinitionId": v.process_definition_id,
        "processInstanceId": v.process_instance_id,
        "executionId": v.execution_id,
        "caseInstanceId": null,
        "caseExecutionId": null,
        "taskId": v.task_id,
        "batchId": null,
        "activityInstanceId": v.activity_instance_id,
        "tenantId": v.tenant_id,
        "errorMessage": null,
    })
}

fn matching(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<VariableInstanceView>> {
    let name = q.str("variableName");
    let name_like = q.like("variableNameLike");
    let instances = q.list("processInstanceIdIn");
    let executions = q.list("executionIdIn");
    let tasks = q.list("taskIdIn");
    let activity_instances = q.list("activityInstanceIdIn");
    let tenants = q.list("tenantIdIn");
    let values = q.variables("variableValues")?;
    let names_ignore_case = q.flag("variableNamesIgnoreCase")?;
    let values_ignore_case = q.flag("variableValuesIgnoreCase")?;
    // Case executions and batches do not exist in baton: such a filter matches nothing.
    let impossible = ["caseInstanceIdIn", "caseExecutionIdIn", "batchIdIn"]
        .iter()
        .any(|k| q.list(k).is_some_and(|l| !l.is_empty()));
    if impossible {
        return Ok(Vec::new());
    }
    let all = state.engine.variable_instances(instances.as_deref())?;
    Ok(live(all)
        .filter(|v| {
            eq_opt(&name, Some(&v.name))
                && like_opt(&name_like, Some(&v.name))
                && in_opt(&executions, Some(&v.execution_id))
                && in_opt(&tasks, v.task_id.as_deref())
                && in_opt(&activity_instances, Some(&v.activity_instance_id))
                && in_opt(&tenants, v.tenant_id.as_deref())
                && super::authz::sees::variable(&v.process_instance_id, &v.process_definition_key)
                && (values.is_empty() || {
                    let mut one = baton_bpmn::Variables::new();
                    one.insert(v.name.clone(), v.value.clone());
                    variables_match(&values, &one, names_ignore_case, values_ignore_case)
                })
        })
        .collect())
}

fn compare(a: &VariableInstanceView, b: &VariableInstanceView, by: &str) -> Ordering {
    match by {
        "variableName" => a.name.cmp(&b.name),
        "variableType" => a.value.type_name().cmp(b.value.type_name()),
        "activityInstanceId" => a.activity_instance_id.cmp(&b.activity_instance_id),
        "tenantId" => a.tenant_id.cmp(&b.tenant_id),
        _ => Ordering::Equal,
    }
}

async fn list(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let sorts = q.sorting(SORT)?;
    let page = q.pagination()?;
    let deserialize = q.deserialize_values()?;
    let items = sort_and_page(matching(&state, &q)?, &sorts, page, compare)?;
    Ok(Json(J::Array(
        items.iter().map(|v| variable(v, deserialize)).collect(),
    )))
}

async fn count(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let items = matching(&state, &q)?;
    super::guard::check()?;
    Ok(Json(dto::count(items.len())))
}

async fn get_one(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let v = state.engine.variable_instance(&id)?;
    Ok(Json(variable(&v, q.deserialize_values()?)))
}

async fn data(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    let v = state.engine.variable_instance(&id)?;
    let mut one = baton_bpmn::Variables::new();
    one.insert(id.clone(), v.value);
    var_data_response(&one, &id, "Variable instance")
}
