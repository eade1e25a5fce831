//! `/task/{id}/delegate`, `/task/{id}/resolve`, `/task/{id}/identity-links` (list, add,
//! delete) and `/task/{id}/bpmnError`: delegation, who owns, holds and may claim a task, and
//! a BPMN error thrown from it (engine room `task_links`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::error::{ApiError, ApiResult, not_found_as};
use super::json::{Json, no_content};
use super::query::Params;
use super::variables::decode_or_invalid;
use super::{ApiState, Route};
use crate::engine::{LinkTarget, ProcessEngineError, TaskUpdate};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::post("/task/{id}/delegate", "Delegate a task to a user", delegate),
        Route::post(
            "/task/{id}/resolve",
            "Resolve a delegated task (back to its owner)",
            resolve,
        ),
        Route::get(
            "/task/{id}/identity-links",
            "A task's identity links (assignee, owner, candidates)",
            links,
        ),
        Route::post(
            "/task/{id}/identity-links",
            "Add an identity link to a task",
            add_link,
        ),
        Route::post(
            "/task/{id}/identity-links/delete",
            "Delete an identity link of a task",
            delete_link,
        ),
        Route::put("/task/{id}", "Update a user task's attributes", update),
        Route::post(
            "/task/{id}/bpmnError",
            "Throw a BPMN error from a user task",
            bpmn_error,
        ),
    ]
}

fn null_task(id: &str) -> ApiError {
    ApiError::null_value(format!("Cannot find task with id {id}: task is null"))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct UserIdBody {
    user_id: Option<String>,
}

async fn delegate(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<UserIdBody>,
) -> ApiResult<Response> {
    let user = b.user_id.ok_or_else(|| {
        ApiError::null_value(format!("Cannot delegate task {id}: userId is null"))
    })?;
    state
        .engine
        .delegate_task(&id, &user)
        .await
        .map_err(|e| not_found_as(e, || null_task(&id)))?;
    Ok(no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ResolveBody {
    variables: Option<J>,
}

async fn resolve(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<ResolveBody>,
) -> ApiResult<Response> {
    let prefix = format!("Cannot resolve task {id}: ");
    let vars = decode_or_invalid(b.variables.as_ref(), &prefix)?;
    state
        .engine
        .resolve_task(&id, vars)
        .await
        .map_err(|e| match e {
            ProcessEngineError::NotFound(_) => null_task(&id),
            ProcessEngineError::Engine(m) => {
                ApiError::rest(StatusCode::INTERNAL_SERVER_ERROR, format!("{prefix}{m}"))
            }
            other => other.into(),
        })?;
    Ok(no_content())
}

async fn links(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let kind = q.str("type");
    let all = state
        .engine
        .task_identity_links(&id)
        .map_err(|e| not_found_as(e, || null_task(&id)))?;
    Ok(Json(J::Array(
        all.iter()
            .filter(|l| kind.as_deref().is_none_or(|k| k == l.link_type))
            .map(|l| json!({"userId": l.user_id, "groupId": l.group_id, "type": l.link_type}))
            .collect(),
    )))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct LinkBody {
    user_id: Option<String>,
    group_id: Option<String>,
    #[serde(rename = "type")]
    link_type: Option<String>,
}

/// Camunda's `IdentityLinkDto.validateUserAndGroup` texts.
fn target(b: &LinkBody) -> ApiResult<LinkTarget> {
    match (&b.user_id, &b.group_id) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "Identity Link requires userId or groupId, but not both.",
        )),
        (Some(u), None) => Ok(LinkTarget::User(u.clone())),
        (None, Some(g)) => Ok(LinkTarget::Group(g.clone())),
        (None, None) => Err(ApiError::invalid(
            "Identity Link requires userId or groupId.",
        )),
    }
}

async fn change(state: &ApiState, id: &str, b: LinkBody, add: bool) -> ApiResult<Response> {
    let who = target(&b)?;
    let kind = b
        .link_type
        .ok_or_else(|| ApiError::invalid("Identity Link requires a type."))?;
    state
        .engine
        .change_task_identity_link(id, who, &kind, add)
        .await
        .map_err(|e| not_found_as(e, || null_task(id)))?;
    Ok(no_content())
}

async fn add_link(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<LinkBody>,
) -> ApiResult<Response> {
    change(&state, &id, b, true).await
}

async fn delete_link(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<LinkBody>,
) -> ApiResult<Response> {
    change(&state, &id, b, false).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct BpmnErrorBody {
    error_code: Option<String>,
    error_message: Option<String>,
    variables: Option<J>,
}

async fn bpmn_error(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<BpmnErrorBody>,
) -> ApiResult<Response> {
    let vars = decode_or_invalid(b.variables.as_ref(), "")?;
    state
        .engine
        .user_task_bpmn_error(
            &id,
            b.error_code.as_deref().unwrap_or_default(),
            b.error_message,
            vars,
        )
        .await
        .map_err(|e| match e {
            // HandleTaskBpmnErrorCmd: an unknown task is a NotFoundException (404).
            ProcessEngineError::NotFound(_) => {
                ApiError::not_found(format!("Cannot find task with id {id}: task is null"))
            }
            other => other.into(),
        })?;
    Ok(no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct TaskBody {
    name: Option<String>,
    description: Option<String>,
    assignee: Option<String>,
    owner: Option<String>,
    delegation_state: Option<String>,
    due: Option<String>,
    follow_up: Option<String>,
    priority: Option<i64>,
}

fn date_field(name: &str, value: Option<&str>) -> ApiResult<Option<i64>> {
    value
        .map(|s| {
            super::date::parse(s)
                .ok_or_else(|| ApiError::invalid(format!("Cannot parse {name} '{s}': not a date")))
        })
        .transpose()
}

async fn update(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<TaskBody>,
) -> ApiResult<Response> {
    let delegation_state = match b.delegation_state.as_deref() {
        None => None,
        Some(s @ ("PENDING" | "RESOLVED")) => Some(s.to_owned()),
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Valid values for property 'delegationState' are 'PENDING' or 'RESOLVED', but was '{other}'"
            )));
        }
    };
    let priority = b.priority.unwrap_or(50);
    let priority = i32::try_from(priority)
        .map_err(|_| ApiError::invalid(format!("Priority {priority} is out of range")))?;
    let update = TaskUpdate {
        name: b.name,
        description: b.description,
        assignee: b.assignee,
        owner: b.owner,
        delegation_state,
        due: date_field("due", b.due.as_deref())?,
        follow_up: date_field("followUp", b.follow_up.as_deref())?,
        priority,
    };
    state
        .engine
        .update_task(&id, update)
        .await
        .map_err(|e| match e {
            ProcessEngineError::NotFound(_) => {
                ApiError::not_found(format!("No matching task with id {id}"))
            }
            other => other.into(),
        })?;
    Ok(no_content())
}
