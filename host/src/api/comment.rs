//! Comments on tasks (`/task/{id}/comment`: create, list, get, update, delete one or all)
//! and on process instances (`/process-instance/{id}/comment`: list, update, delete one or
//! all). A message obeys the client limit on a variable's size.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::date::format;
use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::{ApiState, AuthUser, BaseUrl, Route};
use crate::engine::CommentOwner;
use crate::store::tasklist::Comment;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::post("/task/{id}/comment/create", "Comment on a task", create),
        Route::get("/task/{id}/comment", "A task's comments", task_list),
        Route::put(
            "/task/{id}/comment",
            "Update a task comment",
            update::<true>,
        ),
        Route::delete(
            "/task/{id}/comment",
            "Delete a task's comments",
            delete_all::<true>,
        ),
        Route::get(
            "/task/{id}/comment/{comment_id}",
            "Get a task comment",
            task_get,
        ),
        Route::delete(
            "/task/{id}/comment/{comment_id}",
            "Delete a task comment",
            delete_one::<true>,
        ),
        Route::get(
            "/process-instance/{id}/comment",
            "A process instance's comments",
            instance_list,
        ),
        Route::put(
            "/process-instance/{id}/comment",
            "Update a process instance comment",
            update::<false>,
        ),
        Route::delete(
            "/process-instance/{id}/comment",
            "Delete a process instance's comments",
            delete_all::<false>,
        ),
        Route::delete(
            "/process-instance/{id}/comment/{comment_id}",
            "Delete a process instance comment",
            delete_one::<false>,
        ),
    ]
}

/// Camunda's `CommentDto` (baton keeps no removal time or root instance apart from the
/// instance itself).
fn comment_dto(c: &Comment) -> J {
    json!({
        "id": c.id,
        "userId": c.user_id,
        "taskId": c.task_id,
        "processInstanceId": c.process_instance_id,
        "time": format(c.time),
        "message": c.message,
        "removalTime": null,
        "rootProcessInstanceId": c.process_instance_id,
    })
}

fn owner(task: bool, id: &str) -> CommentOwner<'_> {
    if task {
        CommentOwner::Task(id)
    } else {
        CommentOwner::Instance(id)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct CommentBody {
    id: Option<String>,
    message: Option<String>,
    process_instance_id: Option<String>,
}

/// Refuse a message over the client limit on one variable's size.
fn check_size(message: &Option<String>) -> ApiResult<()> {
    let limit = super::guard::client_limits().max_variable_bytes;
    match message {
        Some(m) if m.len() > limit => Err(ApiError::invalid(format!(
            "The comment message is {} bytes, more than the limit of {limit} bytes",
            m.len()
        ))),
        _ => Ok(()),
    }
}

async fn create(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    base: BaseUrl,
    Path(id): Path<String>,
    Json(b): Json<CommentBody>,
) -> ApiResult<Json<J>> {
    check_size(&b.message)?;
    let c = state
        .engine
        .create_task_comment(&id, b.process_instance_id, user, b.message)
        .await?;
    let mut dto = comment_dto(&c);
    if let Some(o) = dto.as_object_mut() {
        o.insert(
            "links".into(),
            base.self_link(&format!("/task/{id}/comment/{}", c.id)),
        );
    }
    Ok(Json(dto))
}

async fn task_list(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let list = state.engine.task_comments(&id).await?;
    Ok(Json(J::Array(list.iter().map(comment_dto).collect())))
}

async fn task_get(
    State(state): State<ApiState>,
    Path((id, comment_id)): Path<(String, String)>,
) -> ApiResult<Json<J>> {
    Ok(Json(comment_dto(
        &state.engine.task_comment(&id, &comment_id).await?,
    )))
}

async fn instance_list(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    let list = state.engine.instance_comments(&id).await?;
    Ok(Json(J::Array(list.iter().map(comment_dto).collect())))
}

async fn update<const TASK: bool>(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<CommentBody>,
) -> ApiResult<Response> {
    check_size(&b.message)?;
    state
        .engine
        .update_comment(owner(TASK, &id), b.id.as_deref(), b.message)
        .await?;
    Ok(no_content())
}

async fn delete_one<const TASK: bool>(
    State(state): State<ApiState>,
    Path((id, comment_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    state
        .engine
        .delete_comment(owner(TASK, &id), &comment_id)
        .await?;
    Ok(no_content())
}

async fn delete_all<const TASK: bool>(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    state.engine.delete_comments(owner(TASK, &id)).await?;
    Ok(no_content())
}
