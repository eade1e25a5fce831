//! Optional HTTP basic authentication ([`super::ApiConfig::auth`], off by default).
//!
//! When on, every request needs `Authorization: Basic <base64(user:password)>` checked with
//! `ProcessEngine::authenticate`; failures get 401 with `WWW-Authenticate: Basic realm="baton"`
//! and Camunda's error JSON. The authenticated user id is put in the request extensions as
//! [`super::AuthUser`] for handlers (start initiator, claim).
//!
//! Open without credentials (they reveal nothing): `GET /engine`, `GET /version` and
//! `GET /openapi.json`, under both roots. Bootstrap: while no user exists, `POST /user/create`
//! is open too, so the first user can be created, and that user joins `camunda-admin` (as
//! Camunda's admin setup page makes its first user an administrator); every other request
//! still needs
//! credentials (which cannot succeed yet), so turning auth on never exposes data.
//! When auth is off, `Authorization` headers (Basic or Bearer, as the Python client can send)
//! are ignored.

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use super::{ApiError, ApiState, AuthGroups, AuthUser, NAMED_ROOT, ROOT, RequestRoot};

/// Marks the one unauthenticated `POST /user/create` allowed while no user exists: the user
/// it creates becomes an administrator.
#[derive(Debug, Clone, Copy)]
pub struct BootstrapAdmin;

/// The path below the API root, if the request is under one.
fn relative(path: &str) -> Option<&str> {
    path.strip_prefix(NAMED_ROOT)
        .or_else(|| path.strip_prefix(ROOT))
}

/// Decode `Basic <b64>` into (user, password).
pub fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The auth middleware (a no-op apart from inserting `AuthUser(None)` when auth is off).
pub async fn middleware(State(state): State<ApiState>, mut req: Request, next: Next) -> Response {
    let root = if req.uri().path().starts_with(NAMED_ROOT) {
        NAMED_ROOT
    } else {
        ROOT
    };
    req.extensions_mut().insert(RequestRoot(root));
    if !state.config.auth {
        req.extensions_mut().insert(AuthUser(None));
        return next.run(req).await;
    }
    let rel = relative(req.uri().path()).unwrap_or("");
    let open =
        req.method() == Method::GET && matches!(rel, "/engine" | "/version" | "/openapi.json");
    if open {
        req.extensions_mut().insert(AuthUser(None));
        return next.run(req).await;
    }
    if req.method() == Method::POST && rel == "/user/create" {
        match state.engine.has_users().await {
            Ok(false) => {
                req.extensions_mut().insert(AuthUser(None));
                req.extensions_mut().insert(BootstrapAdmin);
                return next.run(req).await;
            }
            Ok(true) => {}
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    let creds = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_basic);
    let Some((user, password)) = creds else {
        return ApiError::unauthorized("Authentication required: send HTTP basic credentials")
            .into_response();
    };
    match state.engine.authenticate(&user, &password).await {
        Ok(Some(u)) => {
            req.extensions_mut().insert(AuthUser(Some(u.id)));
            req.extensions_mut().insert(AuthGroups(u.groups));
            next.run(req).await
        }
        Ok(None) => ApiError::unauthorized("Invalid credentials").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_parsing() {
        assert_eq!(
            parse_basic("Basic ZGVtbzpkZW1v"),
            Some(("demo".into(), "demo".into()))
        );
        assert_eq!(
            parse_basic("basic ZGVtbzpkZW1v"),
            Some(("demo".into(), "demo".into()))
        );
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(
            relative("/engine-rest/engine/default/version"),
            Some("/version")
        );
        assert_eq!(relative("/engine-rest/engine"), Some("/engine"));
    }
}
