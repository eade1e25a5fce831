//! More of `/task`: standalone tasks (`POST /task/create`, `DELETE /task/{id}`), a task's
//! form (`/form`, `/rendered-form` for generated `camunda:formData` forms, `/deployed-form`
//! for `deployment:` form keys), the candidate group report, and `bpmnEscalation`.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use baton_bpmn::model::{FormField, NodeKind};
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::date;
use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::{ApiState, Route};
use crate::engine::{NewTask, ProcessEngineError};
use crate::records::UserTask;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::post("/task/create", "Create a standalone task", create),
        Route::delete("/task/{id}", "Delete a standalone task", delete),
        Route::get("/task/{id}/form", "A task's form key", form),
        Route::get(
            "/task/{id}/rendered-form",
            "A task's generated HTML form",
            rendered_form,
        ),
        Route::get(
            "/task/{id}/deployed-form",
            "A task's form deployed with its process",
            deployed_form,
        ),
        Route::get(
            "/task/report/candidate-group-count",
            "Open unassigned tasks per candidate group",
            candidate_group_report,
        ),
        Route::post(
            "/task/{id}/bpmnEscalation",
            "Throw an escalation from a user task",
            escalation,
        ),
    ]
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct TaskBody {
    id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    assignee: Option<String>,
    owner: Option<String>,
    delegation_state: Option<String>,
    due: Option<String>,
    follow_up: Option<String>,
    priority: Option<i32>,
    tenant_id: Option<String>,
}

fn parse_date(field: &str, value: Option<String>) -> ApiResult<Option<i64>> {
    value
        .map(|s| {
            date::parse(&s).ok_or_else(|| {
                ApiError::invalid(format!(
                    "Cannot set {field}: '{s}' is not a date (yyyy-MM-dd'T'HH:mm:ss.SSSZ)"
                ))
            })
        })
        .transpose()
}

async fn create(State(state): State<ApiState>, Json(b): Json<TaskBody>) -> ApiResult<Response> {
    if let Some(d) = &b.delegation_state
        && d != "PENDING"
        && d != "RESOLVED"
    {
        return Err(ApiError::invalid(format!(
            "Valid values for property 'delegationState' are 'PENDING' or 'RESOLVED', but was '{d}'"
        )));
    }
    let new = NewTask {
        id: b.id,
        name: b.name,
        description: b.description,
        assignee: b.assignee,
        owner: b.owner,
        delegation_state: b.delegation_state,
        due: parse_date("due", b.due)?,
        follow_up: parse_date("followUp", b.follow_up)?,
        priority: b.priority,
        tenant_id: b.tenant_id,
    };
    state.engine.create_standalone_task(new).await?;
    Ok(no_content())
}

async fn delete(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    state.engine.delete_task(&id).await?;
    Ok(no_content())
}

/// The form fields of a task's user task element (none for a standalone task).
async fn form_fields(state: &ApiState, t: &UserTask) -> ApiResult<Vec<FormField>> {
    if t.process_definition_id.is_empty() {
        return Ok(Vec::new());
    }
    let (_, process) = state
        .engine
        .definition_model(&t.process_definition_id)
        .await?;
    Ok(process
        .node_by_id(&t.task_definition_key)
        .map(|idx| match &process.node(idx).kind {
            NodeKind::UserTask(def) => def.form_fields.clone(),
            _ => Vec::new(),
        })
        .unwrap_or_default())
}

/// Camunda's `FormDto`: the form key, or the generated form's address when the task has
/// `camunda:formData` fields; no process application, so no context path.
async fn form(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let t = state.engine.user_task(&id).await.map_err(|_| {
        ApiError::rest(
            StatusCode::BAD_REQUEST,
            format!("Cannot get form for task {id}"),
        )
    })?;
    let key = match t.form_key.clone().filter(|k| !k.is_empty()) {
        Some(k) => Some(k),
        None if !form_fields(&state, &t).await?.is_empty() => Some(format!(
            "embedded:engine://engine/:engine/task/{id}/rendered-form"
        )),
        None => None,
    };
    Ok(Json(
        json!({"key": key, "contextPath": null, "camundaFormRef": null}),
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One generated form control, named after its variable (Camunda's `cam-variable-name`).
fn control(f: &FormField) -> String {
    let id = escape(&f.id);
    let label = escape(f.label.as_deref().unwrap_or(&f.id));
    let required = if f.required { " required" } else { "" };
    let readonly = if f.readonly { " readonly" } else { "" };
    let input = match f.type_name.as_str() {
        "boolean" => format!(
            "<input type=\"checkbox\" id=\"{id}\" cam-variable-name=\"{id}\" cam-variable-type=\"Boolean\"{readonly} />"
        ),
        "enum" => {
            let options: String = f
                .enum_values
                .iter()
                .map(|(v, n)| {
                    format!(
                        "<option value=\"{}\">{}</option>",
                        escape(v),
                        escape(n.as_deref().unwrap_or(v))
                    )
                })
                .collect();
            format!(
                "<select id=\"{id}\" cam-variable-name=\"{id}\" cam-variable-type=\"String\"{required}>{options}</select>"
            )
        }
        other => {
            let kind = match other {
                "long" => "Long",
                "date" => "Date",
                _ => "String",
            };
            format!(
                "<input type=\"text\" id=\"{id}\" cam-variable-name=\"{id}\" cam-variable-type=\"{kind}\"{required}{readonly} />"
            )
        }
    };
    format!("<div class=\"form-group\"><label for=\"{id}\">{label}</label>{input}</div>")
}

/// The HTML form Camunda generates from `camunda:formData`; 404 (Camunda's text) for a task
/// without form fields.
async fn rendered_form(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let t = state
        .engine
        .user_task(&id)
        .await
        .map_err(|_| ApiError::null_value(format!("Task '{id}' not found: task is null")))?;
    let fields = form_fields(&state, &t).await?;
    if fields.is_empty() {
        return Err(ApiError::not_found(format!(
            "No matching rendered form for task with the id {id} found."
        )));
    }
    let body: String = fields.iter().map(control).collect();
    let html = format!("<form class=\"form-horizontal\">{body}</form>");
    Ok(super::raw("application/xhtml+xml", html.into_bytes()))
}

/// The form resource a `deployment:` (or `camunda-forms:deployment:`) form key names, from
/// the task's deployment. Camunda's 400s and 404 with its texts otherwise.
async fn deployed_form(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let t =
        state.engine.user_task(&id).await.map_err(|_| {
            ApiError::invalid(format!("No task found for taskId '{id}': task is null"))
        })?;
    let key = t
        .form_key
        .clone()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::invalid("The form key is not set."))?;
    let resource_name = key
        .strip_prefix("camunda-forms:deployment:")
        .or_else(|| key.strip_prefix("deployment:"))
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "The form key '{key}' does not reference a deployed form."
            ))
        })?
        .to_owned();
    let deployment_id = state
        .engine
        .definition(&t.process_definition_id)
        .await?
        .deployment_id;
    let missing = || {
        ApiError::not_found(format!(
            "The form with the resource name '{resource_name}' cannot be found in deployment with id {deployment_id}"
        ))
    };
    let deployment = state.engine.deployment(&deployment_id).await?;
    let resource = deployment
        .resources
        .iter()
        .find(|r| r.name == resource_name)
        .ok_or_else(missing)?;
    let bytes = state
        .engine
        .resource_data(&deployment_id, &resource.id)
        .await
        .map_err(|_| missing())?;
    let content_type = if resource_name.ends_with(".form") {
        "application/json"
    } else {
        "application/xhtml+xml"
    };
    Ok(super::raw(content_type, bytes))
}

/// Camunda's candidate group report: open *unassigned* tasks per candidate group, by group
/// id (tasks without candidate groups under `null`, last).
async fn candidate_group_report(State(state): State<ApiState>) -> ApiResult<Json<J>> {
    let mut counts: BTreeMap<Option<String>, usize> = BTreeMap::new();
    for t in state.engine.user_tasks().await? {
        if t.assignee.is_some() || !super::authz::sees::task(&t) {
            continue;
        }
        if t.candidate_groups.is_empty() {
            *counts.entry(None).or_default() += 1;
        }
        for g in &t.candidate_groups {
            *counts.entry(Some(g.clone())).or_default() += 1;
        }
    }
    let mut rows: Vec<J> = counts
        .iter()
        .filter(|(g, _)| g.is_some())
        .map(|(g, n)| json!({"groupName": g, "taskCount": n}))
        .collect();
    if let Some(n) = counts.get(&None) {
        rows.push(json!({"groupName": null, "taskCount": n}));
    }
    Ok(Json(J::Array(rows)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct EscalationBody {
    escalation_code: Option<String>,
    variables: Option<J>,
}

/// Camunda's answers: an unknown task 404 and a missing code 400 (`RestException`), nothing
/// catching the escalation 500 (`ProcessEngineException`).
async fn escalation(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<EscalationBody>,
) -> ApiResult<Response> {
    let vars = super::variables::decode_or_invalid(b.variables.as_ref(), "")?;
    state
        .engine
        .user_task_escalation(&id, b.escalation_code.as_deref().unwrap_or_default(), vars)
        .await
        .map_err(|e| match e {
            ProcessEngineError::NotFound(_) => ApiError::rest(
                StatusCode::NOT_FOUND,
                format!("Task with id {id} does not exist"),
            ),
            ProcessEngineError::BadUserRequest(m) => ApiError::rest(StatusCode::BAD_REQUEST, m),
            other => other.into(),
        })?;
    Ok(no_content())
}
