//! Binary variable upload (`POST .../variables/{name}/data`, Camunda's multipart form): the
//! `data` part is stored as `Bytes`, or as `File` (with the part's file name and content
//! type) when a `valueType` part says so. Served for tasks (visible and local variables),
//! process instances and executions (local). The value obeys the client limit on a
//! variable's size, checked while the part is read.

use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{Path, State};
use axum::response::Response;
use baton_bpmn::{Value, Variables};

use super::error::{ApiError, ApiResult, not_found_as};
use super::json::no_content;
use super::{ApiState, Route};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::post(
            "/task/{id}/variables/{name}/data",
            "Upload a binary task variable",
            task::<false>,
        )
        .upload(),
        Route::post(
            "/task/{id}/localVariables/{name}/data",
            "Upload a binary local task variable",
            task::<true>,
        )
        .upload(),
        Route::post(
            "/process-instance/{id}/variables/{name}/data",
            "Upload a binary process variable",
            instance,
        )
        .upload(),
        Route::post(
            "/execution/{id}/localVariables/{name}/data",
            "Upload a binary local execution variable",
            execution,
        )
        .upload(),
    ]
}

/// Read the form into one value; `what` names the resource in Camunda's messages.
async fn read_value(
    state: &ApiState,
    mp: Result<Multipart, MultipartRejection>,
    name: &str,
    what: &str,
) -> ApiResult<Value> {
    let mut mp = mp.map_err(|e| ApiError::invalid(e.body_text()))?;
    let limit = super::guard::client_limits().max_variable_bytes;
    let upload_limit = state.config.max_upload_bytes;
    let part_error =
        |e: MultipartError| super::json::body_error(e.status(), &e.body_text(), upload_limit);
    let mut data: Option<(Vec<u8>, Option<String>, Option<String>)> = None;
    let mut value_type = "Bytes".to_owned();
    while let Some(mut field) = mp.next_field().await.map_err(part_error)? {
        let part = field.name().unwrap_or("").to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let mime = field.content_type().map(str::to_owned);
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(part_error)? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > limit {
                return Err(ApiError::invalid(format!(
                    "Cannot put {what} variable {name}: the value is more than the limit of {limit} bytes per variable"
                )));
            }
        }
        match part.as_str() {
            "data" => data = Some((bytes, file_name, mime)),
            "valueType" => value_type = String::from_utf8_lossy(&bytes).trim().to_owned(),
            _ => {}
        }
    }
    let (bytes, filename, mime_type) = data.ok_or_else(|| {
        ApiError::invalid(format!(
            "Cannot put {what} variable {name}: no form part with name 'data'"
        ))
    })?;
    match value_type.as_str() {
        "Bytes" => Ok(Value::Bytes(bytes)),
        "File" => Ok(Value::File {
            bytes,
            filename,
            mime_type,
            encoding: None,
        }),
        other => Err(ApiError::invalid(format!(
            "Unsupported value type '{other}'"
        ))),
    }
}

fn one(name: String, value: Value) -> Variables {
    let mut vars = Variables::new();
    vars.insert(name, value);
    vars
}

async fn task<const LOCAL: bool>(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let value = read_value(&state, mp, &name, "task").await?;
    super::task::modify(&state, &id, one(name, value), Vec::new(), LOCAL).await?;
    Ok(no_content())
}

async fn instance(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let value = read_value(&state, mp, &name, "process instance").await?;
    state
        .engine
        .modify_variables(&id, None, one(name, value), Vec::new(), false)
        .await
        .map_err(|e| {
            not_found_as(e, || {
                ApiError::not_found(format!("Process instance with id {id} does not exist"))
            })
        })?;
    Ok(no_content())
}

async fn execution(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let value = read_value(&state, mp, &name, "execution").await?;
    let (pi, _) = super::execution::find(&state, &id).await?;
    state
        .engine
        .modify_variables(pi.id(), Some(&id), one(name, value), Vec::new(), true)
        .await
        .map_err(|e| not_found_as(e, || super::execution::missing(&id)))?;
    Ok(no_content())
}
