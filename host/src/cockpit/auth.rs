//! Basic auth for the cockpit routes (pages, JSON views, `/metrics`, `/engine-rest/events`)
//! when `ServerConfig.auth` is on: the same check as the REST API
//! (`ProcessEngine::authenticate`, header parsed by [`crate::api::auth::parse_basic`]). A
//! failure answers 401 with `WWW-Authenticate: Basic realm="baton"`, so a browser asks for
//! credentials once and then sends them with every request of the origin, REST calls and the
//! event stream included.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::CockpitState;
use crate::api::error::ApiError;

fn unauthorized(message: &'static str) -> Response {
    ApiError::unauthorized(message).into_response()
}

/// The middleware: a pass-through when auth is off.
pub async fn middleware(State(state): State<CockpitState>, req: Request, next: Next) -> Response {
    if !state.auth {
        return next.run(req).await;
    }
    let creds = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::api::auth::parse_basic);
    let Some((user, password)) = creds else {
        return unauthorized("Authentication required");
    };
    match state.engine.authenticate(&user, &password).await {
        Ok(Some(_)) => next.run(req).await,
        Ok(None) => unauthorized("Invalid credentials"),
        // The REST API's mapping: an internal failure is logged there and answered generically.
        Err(e) => ApiError::from(e).into_response(),
    }
}
