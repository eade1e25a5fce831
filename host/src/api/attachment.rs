//! Task attachments (`/task/{id}/attachment`): create (Camunda's multipart form with
//! `attachment-name`, `attachment-type`, `attachment-description` and `content` or `url`;
//! baton also takes a JSON body `{name, type, description, url}`), list, get, content,
//! delete. Content obeys the client limit on a variable's size.

use axum::extract::multipart::Multipart;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::header;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::date::format;
use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::{ApiState, BaseUrl, Route};
use crate::engine::NewAttachment;
use crate::store::tasklist::Attachment;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::post(
            "/task/{id}/attachment/create",
            "Add an attachment to a task",
            create,
        )
        .upload(),
        Route::get("/task/{id}/attachment", "A task's attachments", list),
        Route::get(
            "/task/{id}/attachment/{attachment_id}",
            "Get a task attachment",
            get_one,
        ),
        Route::get(
            "/task/{id}/attachment/{attachment_id}/data",
            "A task attachment's content",
            data,
        ),
        Route::delete(
            "/task/{id}/attachment/{attachment_id}",
            "Delete a task attachment",
            delete,
        ),
    ]
}

/// Camunda's `AttachmentDto`.
fn attachment_dto(a: &Attachment) -> J {
    json!({
        "id": a.id,
        "name": a.name,
        "description": a.description,
        "taskId": a.task_id,
        "type": a.attachment_type,
        "url": a.url,
        "createTime": format(a.create_time),
        "removalTime": null,
        "rootProcessInstanceId": a.process_instance_id,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JsonAttachment {
    name: Option<String>,
    #[serde(rename = "type")]
    attachment_type: Option<String>,
    description: Option<String>,
    url: Option<String>,
}

fn too_big(size: usize, limit: usize) -> ApiError {
    ApiError::invalid(format!(
        "The attachment content is {size} bytes, more than the limit of {limit} bytes"
    ))
}

async fn read_multipart(mut mp: Multipart, limit: usize) -> ApiResult<NewAttachment> {
    let mut new = NewAttachment::default();
    let content_limit = super::guard::client_limits().max_variable_bytes;
    while let Some(mut field) = mp
        .next_field()
        .await
        .map_err(|e| super::json::body_error(e.status(), &e.body_text(), limit))?
    {
        let name = field.name().unwrap_or("").to_owned();
        // Read chunk by chunk so an oversized part is refused before it is all in memory.
        let mut bytes = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| super::json::body_error(e.status(), &e.body_text(), limit))?
        {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > content_limit {
                return Err(too_big(bytes.len(), content_limit));
            }
        }
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "attachment-name" => new.name = Some(text()),
            "attachment-type" => new.attachment_type = Some(text()),
            "attachment-description" => new.description = Some(text()),
            "url" => new.url = Some(text()),
            "content" => new.content = Some(bytes),
            _ => {}
        }
    }
    Ok(new)
}

async fn create(
    State(state): State<ApiState>,
    base: BaseUrl,
    Path(id): Path<String>,
    request: Request,
) -> ApiResult<Json<J>> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    let new = if multipart {
        let mp = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::invalid(e.body_text()))?;
        read_multipart(mp, state.config.max_upload_bytes).await?
    } else {
        let Json(b) = Json::<JsonAttachment>::from_request(request, &state).await?;
        NewAttachment {
            name: b.name,
            description: b.description,
            attachment_type: b.attachment_type,
            url: b.url,
            content: None,
        }
    };
    let a = state.engine.create_attachment(&id, new).await?;
    let mut dto = attachment_dto(&a);
    if let Some(o) = dto.as_object_mut() {
        o.insert(
            "links".into(),
            base.self_link(&format!("/task/{id}/attachment/{}", a.id)),
        );
    }
    Ok(Json(dto))
}

async fn list(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let list = state.engine.task_attachments(&id).await?;
    Ok(Json(J::Array(list.iter().map(attachment_dto).collect())))
}

async fn get_one(
    State(state): State<ApiState>,
    Path((id, attachment_id)): Path<(String, String)>,
) -> ApiResult<Json<J>> {
    Ok(Json(attachment_dto(
        &state.engine.task_attachment(&id, &attachment_id).await?,
    )))
}

/// The content as `application/octet-stream`, as Camunda serves it.
async fn data(
    State(state): State<ApiState>,
    Path((id, attachment_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (_, bytes) = state
        .engine
        .task_attachment_content(&id, &attachment_id)
        .await?;
    Ok(super::raw("application/octet-stream", bytes))
}

async fn delete(
    State(state): State<ApiState>,
    Path((id, attachment_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    state.engine.delete_attachment(&id, &attachment_id).await?;
    Ok(no_content())
}
