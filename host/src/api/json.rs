//! JSON in and out, the way Camunda's Jackson setup behaves.
//!
//! - [`Json`] as an extractor reads the whole body (bounded by the router's body limit) and
//!   deserializes it. A missing or blank body counts as `{}` (the JS client's `unlock` and
//!   pycamunda's body-less POSTs send none, sometimes without a Content-Type); the
//!   Content-Type is not checked. Unknown fields are ignored (serde's default). Malformed JSON
//!   or a wrong field type is a 400 `InvalidRequestException`, an oversized body a 413.
//! - [`Json`] as a response sets exactly `Content-Type: application/json` (no charset: the JS
//!   client compares the header literally).
//!
//! GET and DELETE handlers simply do not take a body extractor, so bodies sent there
//! (pycamunda sends `{}` everywhere) are ignored.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// JSON request body extractor and JSON response.
#[derive(Debug, Clone, Default)]
pub struct Json<T>(pub T);

/// Map a body-read failure: length limit → 413, anything else → 400.
pub(crate) fn body_error(status: StatusCode, detail: &str, limit: usize) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large(limit)
    } else {
        ApiError::invalid(format!("Cannot read the request body: {detail}"))
    }
}

/// Parse a JSON body; blank means `{}`.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let trimmed = bytes.trim_ascii();
    let source: &[u8] = if trimmed.is_empty() { b"{}" } else { trimmed };
    serde_json::from_slice(source).map_err(|e| {
        ApiError::invalid(format!(
            "Cannot deserialize the request body as JSON: {}",
            // serde's message describes the client's JSON (position, expected type), never
            // server internals, so it is safe and useful to show.
            e
        ))
    })
}

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
    super::ApiState: axum::extract::FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = <super::ApiState as axum::extract::FromRef<S>>::from_ref(state)
            .config
            .max_body_bytes;
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| body_error(e.status(), &e.body_text(), limit))?;
        parse_body(&bytes).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(bytes) => {
                let mut r = (StatusCode::OK, bytes).into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                r
            }
            Err(e) => {
                ApiError::internal(format!("cannot serialize a response: {e}")).into_response()
            }
        }
    }
}

/// 204 No Content.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, Default)]
    #[serde(rename_all = "camelCase", default)]
    struct Body {
        worker_id: Option<String>,
    }

    #[test]
    fn blank_body_is_an_empty_object() {
        let b: Body = parse_body(b"").expect("blank");
        assert!(b.worker_id.is_none());
        let b: Body = parse_body(b"  \n").expect("whitespace");
        assert!(b.worker_id.is_none());
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let b: Body = parse_body(br#"{"workerId":"w","foo":1}"#).expect("parse");
        assert_eq!(b.worker_id.as_deref(), Some("w"));
    }

    #[test]
    fn malformed_json_is_invalid_request() {
        let e = parse_body::<Body>(b"{nope").expect_err("malformed");
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert_eq!(e.kind(), "InvalidRequestException");
        let e = parse_body::<Body>(br#"{"workerId":5}"#).expect_err("wrong type");
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn responses_are_plain_application_json() {
        let r = Json(serde_json::json!([1])).into_response();
        assert_eq!(
            r.headers().get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
            Some(&b"application/json"[..])
        );
    }
}
