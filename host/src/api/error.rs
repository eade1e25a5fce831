//! `ApiError`: every failure the REST API reports, rendered in Camunda's error shape
//! `{"type": ..., "message": ..., "code": ...}` with exactly `Content-Type: application/json`.
//!
//! Owns the mapping from [`ProcessEngineError`] to Camunda's status codes and exception type
//! names, the only one in baton: the cockpit's JSON views and its auth check answer with
//! `ApiError` too. It must never put internal error text in a response: `Internal` failures are logged
//! here and shown to the client as a generic message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::engine::ProcessEngineError;

/// The generic message clients see for internal failures (the detail goes to the log).
pub const INTERNAL_MESSAGE: &str = "An internal error occurred; see the server log for details";

/// A failed request, in Camunda's terms: a status, the simple class name of the Java
/// exception Camunda would have thrown, a message and an optional engine error code.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
    code: Option<i32>,
    details: Option<serde_json::Value>,
    /// Extra top-level fields (`AuthorizationException`'s `userId`, `missingAuthorizations`;
    /// the `validationReport` of Camunda's migration exceptions).
    fields: Option<serde_json::Value>,
    authenticate: bool,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.kind,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// An error with every part given explicitly.
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        message: impl Into<String>,
        code: Option<i32>,
    ) -> ApiError {
        ApiError {
            status,
            kind,
            message: message.into(),
            code,
            details: None,
            fields: None,
            authenticate: false,
        }
    }

    /// 400 `InvalidRequestException` (bad parameters, bad JSON, bad variables).
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequestException",
            message,
            None,
        )
    }

    /// `InvalidRequestException` with another status (404 for unknown resources, 500 ...).
    pub fn invalid_status(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError::new(status, "InvalidRequestException", message, None)
    }

    /// 404 `InvalidRequestException` (Camunda's shape for most unknown ids).
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::invalid_status(StatusCode::NOT_FOUND, message)
    }

    /// `RestException` with an explicit status and `code: null` (thrown by the REST layer itself).
    pub fn rest(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError::new(status, "RestException", message, None)
    }

    /// 500 `NullValueException` (Camunda's `EnsureUtil.ensureNotNull`, e.g. `workerId is null`).
    pub fn null_value(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "NullValueException",
            message,
            Some(0),
        )
    }

    /// 500 `ProcessEngineException` (engine-side validation such as `lockTime is not greater than 0`).
    pub fn engine(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ProcessEngineException",
            message,
            Some(0),
        )
    }

    /// 400 `BadUserRequestException`.
    pub fn bad_user_request(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "BadUserRequestException",
            message,
            Some(0),
        )
    }

    /// 401 asking for HTTP basic credentials.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "AuthenticationException",
            message,
            None,
        );
        e.authenticate = true;
        e
    }

    /// 413: the request body exceeds the configured limit.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::invalid_status(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Request body exceeds the limit of {limit} bytes"),
        )
    }

    /// A 500 for an internal failure: `detail` is logged, the client sees a generic message.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(detail = %detail, "internal error while serving a REST request");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ProcessEngineException",
            INTERNAL_MESSAGE,
            None,
        )
    }

    /// Attach Camunda's `details` object (deployment `ParseException`).
    pub fn with_details(mut self, details: serde_json::Value) -> ApiError {
        self.details = Some(details);
        self
    }

    /// Add top-level fields to the body (an object's entries; `type` and `message` stay).
    pub fn with_fields(mut self, fields: serde_json::Value) -> ApiError {
        self.fields = Some(fields);
        self
    }

    /// Prefix the message, keeping everything else (`Cannot instantiate process definition X: ...`).
    pub fn prefixed(mut self, prefix: &str) -> ApiError {
        if self.message != INTERNAL_MESSAGE {
            self.message = format!("{prefix}{}", self.message);
        }
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The Camunda exception type name.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The message shown to the client.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The body as JSON.
    pub fn body(&self) -> serde_json::Value {
        let mut body = json!({"type": self.kind, "message": self.message, "code": self.code});
        if let (Some(details), Some(obj)) = (&self.details, body.as_object_mut()) {
            obj.insert("details".into(), details.clone());
        }
        if let (Some(serde_json::Value::Object(fields)), Some(obj)) =
            (&self.fields, body.as_object_mut())
        {
            for (k, v) in fields {
                obj.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        body
    }
}

impl From<ProcessEngineError> for ApiError {
    /// The default mapping of engine failures (handlers override it where Camunda's message
    /// for the resource differs, e.g. `External task with id X does not exist`).
    fn from(e: ProcessEngineError) -> ApiError {
        match e {
            ProcessEngineError::NotFound(m) => ApiError::not_found(m),
            ProcessEngineError::BadRequest(m) => ApiError::invalid(m),
            ProcessEngineError::BadUserRequest(m) => ApiError::bad_user_request(m),
            ProcessEngineError::NotValid(m) => {
                ApiError::new(StatusCode::BAD_REQUEST, "NotValidException", m, Some(0))
            }
            ProcessEngineError::Parse { message, details } => {
                let mut map = serde_json::Map::new();
                for (resource, problems) in details {
                    let mut errors = Vec::new();
                    let mut warnings = Vec::new();
                    for p in problems {
                        let ids: Vec<&str> = p.element_id.iter().map(String::as_str).collect();
                        let entry = json!({
                            "message": p.message,
                            "line": p.line,
                            "column": p.column,
                            "mainBpmnElementId": p.element_id,
                            "bpmnElementIds": ids,
                        });
                        match p.severity {
                            baton_bpmn::parse::Severity::Error => errors.push(entry),
                            baton_bpmn::parse::Severity::Warning => warnings.push(entry),
                        }
                    }
                    map.insert(resource, json!({"errors": errors, "warnings": warnings}));
                }
                ApiError::new(StatusCode::BAD_REQUEST, "ParseException", message, Some(0))
                    .with_details(serde_json::Value::Object(map))
            }
            ProcessEngineError::WrongWorker(m) => {
                ApiError::new(StatusCode::BAD_REQUEST, "RestException", m, Some(0))
            }
            ProcessEngineError::AlreadyClaimed(m) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "TaskAlreadyClaimedException",
                m,
                Some(0),
            ),
            ProcessEngineError::Suspended(m) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "SuspendedEntityInteractionException",
                m,
                Some(0),
            ),
            ProcessEngineError::MismatchingCorrelation(m) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "RestException",
                format!("org.camunda.bpm.engine.MismatchingMessageCorrelationException: {m}"),
                Some(0),
            ),
            ProcessEngineError::Engine(m) => ApiError::engine(m),
            ProcessEngineError::UnhandledBpmnError(m) => ApiError::engine(m),
            e @ (ProcessEngineError::Overloaded | ProcessEngineError::ShuttingDown) => {
                ApiError::invalid_status(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            }
            ProcessEngineError::InvalidModule(m) => ApiError::invalid(m),
            ProcessEngineError::Unavailable(detail) => {
                tracing::warn!(detail = %detail, "the database is unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ProcessEngineException",
                    "The database is unavailable; nothing was changed. Please try again later.",
                    None,
                )
            }
            ProcessEngineError::Internal(detail) => ApiError::internal(detail),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let bytes = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut response = (self.status, bytes).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"baton\""),
            );
        }
        response
    }
}

/// Map an engine error, replacing `NotFound` with the resource's own Camunda error.
pub fn not_found_as(e: ProcessEngineError, replacement: impl FnOnce() -> ApiError) -> ApiError {
    match e {
        ProcessEngineError::NotFound(_) => replacement(),
        other => other.into(),
    }
}

/// Result alias of handlers.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_type_message_and_code() {
        let e = ApiError::invalid("bad");
        assert_eq!(
            e.body(),
            json!({"type": "InvalidRequestException", "message": "bad", "code": null})
        );
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn internal_errors_are_not_echoed() {
        let e: ApiError = ProcessEngineError::Internal("sled exploded at /secret".into()).into();
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.message().contains("secret"));
        assert_eq!(e.clone().prefixed("Cannot x: ").message(), INTERNAL_MESSAGE);
    }

    #[test]
    fn engine_errors_map_to_camunda_statuses() {
        let cases: Vec<(ProcessEngineError, u16, &str)> = vec![
            (
                ProcessEngineError::NotFound("x".into()),
                404,
                "InvalidRequestException",
            ),
            (
                ProcessEngineError::BadRequest("x".into()),
                400,
                "InvalidRequestException",
            ),
            (
                ProcessEngineError::BadUserRequest("x".into()),
                400,
                "BadUserRequestException",
            ),
            (
                ProcessEngineError::WrongWorker("x".into()),
                400,
                "RestException",
            ),
            (
                ProcessEngineError::AlreadyClaimed("x".into()),
                500,
                "TaskAlreadyClaimedException",
            ),
            (
                ProcessEngineError::Suspended("x".into()),
                500,
                "SuspendedEntityInteractionException",
            ),
            (
                ProcessEngineError::MismatchingCorrelation("x".into()),
                400,
                "RestException",
            ),
            (
                ProcessEngineError::Engine("x".into()),
                500,
                "ProcessEngineException",
            ),
            (
                ProcessEngineError::Overloaded,
                500,
                "InvalidRequestException",
            ),
        ];
        for (e, status, kind) in cases {
            let api: ApiError = e.into();
            assert_eq!(api.status().as_u16(), status, "{api}");
            assert_eq!(api.kind(), kind);
        }
    }

    #[test]
    fn response_has_exact_content_type() {
        let r = ApiError::unauthorized("no").into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            r.headers().get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
            Some(&b"application/json"[..])
        );
        assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
