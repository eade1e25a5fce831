//! baton's own endpoints: wasm task components bound to topics.
//!
//! - `PUT /engine-rest/task-module/{topic}`: body is the raw component (`application/wasm` or
//!   any non-multipart type) or `multipart/form-data` whose first file part is the component.
//!   Limits come from query parameters `fuel`, `timeoutMs`, `memoryBytes`, `tableElements`,
//!   `instances`; the outbound-HTTP
//!   grant from `allowedHosts` (comma list of `host`, `host:port`, `host:*`, `*.domain`).
//!   → 200 with the module DTO.
//! - In a deployment (`POST /deployment/create`), the text part `task-modules` binds `.wasm`
//!   resources: `{"<resource name>": {"topic", "fuel", "timeoutMs", "memoryBytes",
//!   "tableElements", "instances", "allowedHosts": [..]}}`, every key optional (the topic
//!   defaults to the file stem).
//! - `GET /engine-rest/task-module`: all modules; `GET .../{topic}`: one; `GET .../{topic}/data`:
//!   the bytes; `DELETE .../{topic}`: unbind (204).
//!
//! Module DTO: `{"topic","sha256","size","deploymentId","created","limits":{"fuel","timeoutMs",
//! "memoryBytes","tableElements","instances"},"allowedHosts":[..],"worldCheck"}`.

use axum::body::Bytes;
use axum::extract::multipart::Multipart;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::header;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::date::format;
use super::error::{ApiError, ApiResult, not_found_as};
use super::json::{Json, body_error, no_content};
use super::query::Params;
use super::{ApiState, Route, raw};
use crate::engine::ModuleBinding;
use crate::records::{ModuleLimits, TaskModule};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get("/task-module", "List wasm task modules (baton)", list),
        Route::put(
            "/task-module/{topic}",
            "Bind a wasm component to a topic (baton)",
            put,
        )
        .upload(),
        Route::get(
            "/task-module/{topic}",
            "Get the module bound to a topic (baton)",
            get_one,
        ),
        Route::delete(
            "/task-module/{topic}",
            "Unbind a topic's module (baton)",
            delete,
        ),
        Route::get(
            "/task-module/{topic}/data",
            "The component bytes of a topic's module (baton)",
            data,
        ),
    ]
}

/// The module DTO.
pub fn module_dto(m: &TaskModule) -> J {
    json!({
        "topic": m.topic,
        "sha256": m.sha256,
        "size": m.size,
        "deploymentId": m.deployment_id,
        "created": format(m.created),
        "limits": {
            "fuel": m.limits.fuel,
            "timeoutMs": m.limits.timeout_ms,
            "memoryBytes": m.limits.memory_bytes,
            "tableElements": m.limits.table_elements,
            "instances": m.limits.instances,
        },
        "allowedHosts": m.limits.allowed_hosts,
        "worldCheck": m.world_check,
    })
}

/// One entry of a deployment's `task-modules` part.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BindingDto {
    topic: Option<String>,
    fuel: Option<u64>,
    timeout_ms: Option<u64>,
    memory_bytes: Option<u64>,
    table_elements: Option<u64>,
    instances: Option<u64>,
    #[serde(default)]
    allowed_hosts: Vec<String>,
}

/// Parses a deployment's `task-modules` part: resource name -> binding.
pub(crate) fn parse_bindings(text: &str) -> ApiResult<Vec<(String, ModuleBinding)>> {
    let entries: std::collections::BTreeMap<String, BindingDto> = serde_json::from_str(text)
        .map_err(|e| {
            ApiError::invalid(format!(
                "The form part 'task-modules' must be a JSON object mapping .wasm resource names \
                 to {{topic, fuel, timeoutMs, memoryBytes, tableElements, instances, \
                 allowedHosts}}: {e}"
            ))
        })?;
    entries
        .into_iter()
        .map(|(name, dto)| {
            let positive = |k: &str, v: Option<u64>| match v {
                Some(0) => Err(ApiError::invalid(format!(
                    "task-modules: '{k}' of '{name}' must be greater than 0"
                ))),
                v => Ok(v),
            };
            let limits = ModuleLimits {
                fuel: positive("fuel", dto.fuel)?,
                timeout_ms: positive("timeoutMs", dto.timeout_ms)?,
                memory_bytes: positive("memoryBytes", dto.memory_bytes)?,
                table_elements: positive("tableElements", dto.table_elements)?,
                instances: positive("instances", dto.instances)?,
                allowed_hosts: dto.allowed_hosts,
            };
            let binding = ModuleBinding {
                topic: dto.topic,
                limits,
            };
            Ok((name, binding))
        })
        .collect()
}

fn missing(topic: &str) -> ApiError {
    ApiError::not_found(format!("No task module bound to topic '{topic}'"))
}

fn positive(q: &super::query::QueryInput, k: &str) -> ApiResult<Option<u64>> {
    match q.int(k)? {
        None => Ok(None),
        Some(n) if n > 0 => Ok(u64::try_from(n).ok()),
        Some(n) => Err(ApiError::invalid(format!(
            "Cannot set query parameter '{k}' to value '{n}'"
        ))),
    }
}

async fn put(
    State(state): State<ApiState>,
    Path(topic): Path<String>,
    Params(q): Params,
    req: Request,
) -> ApiResult<Json<J>> {
    let limits = ModuleLimits {
        fuel: positive(&q, "fuel")?,
        timeout_ms: positive(&q, "timeoutMs")?,
        memory_bytes: positive(&q, "memoryBytes")?,
        table_elements: positive(&q, "tableElements")?,
        instances: positive(&q, "instances")?,
        allowed_hosts: q.list("allowedHosts").unwrap_or_default(),
    };
    let limit = state.config.max_upload_bytes;
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let bytes: Vec<u8> = if is_multipart {
        let mut mp = Multipart::from_request(req, &state).await.map_err(|e| {
            ApiError::invalid(format!("Cannot read the multipart body: {}", e.body_text()))
        })?;
        let mut found = None;
        while let Some(field) = mp
            .next_field()
            .await
            .map_err(|e| body_error(e.status(), &e.body_text(), limit))?
        {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| body_error(e.status(), &e.body_text(), limit))?;
            if found.is_none() {
                found = Some(bytes.to_vec());
            }
        }
        found.ok_or_else(|| ApiError::invalid("No component part contained in the form upload."))?
    } else {
        Bytes::from_request(req, &state)
            .await
            .map_err(|e| body_error(e.status(), &e.body_text(), limit))?
            .to_vec()
    };
    if bytes.is_empty() {
        return Err(ApiError::invalid(
            "The request body must contain a wasm component",
        ));
    }
    let m = state.engine.put_module(&topic, bytes, limits).await?;
    Ok(Json(module_dto(&m)))
}

async fn list(State(state): State<ApiState>) -> ApiResult<Json<J>> {
    Ok(Json(J::Array(
        state
            .engine
            .modules()
            .await?
            .iter()
            .filter(|m| super::authz::sees::module(&m.topic))
            .map(module_dto)
            .collect(),
    )))
}

async fn get_one(State(state): State<ApiState>, Path(topic): Path<String>) -> ApiResult<Json<J>> {
    let m = state
        .engine
        .module(&topic)
        .await
        .map_err(|e| not_found_as(e, || missing(&topic)))?;
    Ok(Json(module_dto(&m)))
}

async fn data(State(state): State<ApiState>, Path(topic): Path<String>) -> ApiResult<Response> {
    let b = state
        .engine
        .module_bytes(&topic)
        .await
        .map_err(|e| not_found_as(e, || missing(&topic)))?;
    Ok(raw("application/wasm", b))
}

async fn delete(State(state): State<ApiState>, Path(topic): Path<String>) -> ApiResult<Response> {
    state
        .engine
        .delete_module(&topic)
        .await
        .map_err(|e| not_found_as(e, || missing(&topic)))?;
    Ok(no_content())
}
