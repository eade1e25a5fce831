//! The Camunda-7-compatible REST API (`engine-rest`), plus baton's own task-module endpoints.
//!
//! [`router`] mounts every resource under `/engine-rest` and again under
//! `/engine-rest/engine/default` (Camunda's named-engine form). Each resource module exposes
//! `routes()`: a table of [`Route`]s (method, path, summary, handler). The router *and* the
//! OpenAPI document (`GET /engine-rest/openapi.json`) are built from that one table, so they
//! cannot drift apart.
//!
//! Conventions (camunda-rest.md §1): JSON responses carry exactly `application/json`; errors
//! are `{"type","message","code"}` ([`error::ApiError`]); request bodies are read by
//! [`json::Json`] (blank = `{}`, unknown fields ignored, bodies on GET/DELETE ignored).
//!
//! Body size: every request body is limited to [`ApiConfig::max_body_bytes`] (10 MiB by
//! default); uploads (`/deployment/create`, `/task-module/{topic}`) to
//! [`ApiConfig::max_upload_bytes`] (64 MiB: componentize-py components embed CPython and
//! weigh ~18 MB). An oversized body is answered **413** with Camunda's error JSON
//! (`InvalidRequestException`): Tomcat in front of Camunda rejects over-limit uploads before
//! they reach the engine, and 413 is the status an HTTP client can act on.

pub mod attachment;
pub mod auth;
pub mod authorization;
pub mod authz;
mod authz_rules;
pub mod batch;
pub mod batch_ops;
pub mod comment;
pub mod condition;
pub mod date;
pub mod decision;
pub mod decision_history;
pub mod definition_extras;
pub mod definition_tenant;
pub mod deployment;
pub mod deployment_extras;
pub mod engine_info;
pub mod error;
pub mod event_subscription;
pub mod execution;
pub mod external_task;
pub mod filter;
pub mod guard;
pub mod history;
pub mod history_removal;
pub mod identity;
pub mod identity_admin;
pub mod incident;
pub mod job;
pub mod job_definition;
pub mod json;
pub mod message;
pub mod message_subscription;
pub mod metrics;
pub mod migration;
pub mod modification;
pub mod module;
pub mod notification_rule;
pub mod openapi;
pub mod process_definition;
pub mod process_instance;
pub mod query;
pub mod restart;
pub mod start_form;
pub mod task;
pub mod task_admin;
pub mod task_links;
pub mod telemetry;
pub mod tenant;
pub mod variable_instance;
pub mod variable_upload;
pub mod variables;

mod dto;

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::engine::ProcessEngine;

pub use error::{ApiError, ApiResult};

/// The root path of the API.
pub const ROOT: &str = "/engine-rest";
/// The named-engine root (only the engine `default` exists).
pub const NAMED_ROOT: &str = "/engine-rest/engine/default";

/// REST API settings.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest accepted request body in bytes (default 10 MiB); larger → 413.
    pub max_body_bytes: usize,
    /// Largest accepted upload (deployments, task modules) in bytes (default 64 MiB).
    pub max_upload_bytes: usize,
    /// Require HTTP basic auth (off by default). See [`auth`].
    pub auth: bool,
    /// Time limit and list cap per request. See [`guard`].
    pub limits: guard::RequestLimits,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body_bytes: 10 * 1024 * 1024,
            max_upload_bytes: 64 * 1024 * 1024,
            auth: false,
            limits: guard::RequestLimits::default(),
        }
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct ApiState {
    /// The engine.
    pub engine: ProcessEngine,
    /// Settings.
    pub config: ApiConfig,
}

/// One served route: what the router mounts and what the OpenAPI document lists.
pub struct Route {
    /// HTTP method.
    pub method: Method,
    /// Path below `/engine-rest`, axum syntax (`/external-task/{id}`).
    pub path: &'static str,
    /// One-line summary for the OpenAPI document.
    pub summary: &'static str,
    /// Takes an upload (gets the larger body limit).
    pub upload: bool,
    handler: MethodRouter<ApiState>,
}

impl Route {
    /// A route for `method` on `path` served by `handler`.
    pub fn new<H, T>(method: Method, path: &'static str, summary: &'static str, handler: H) -> Route
    where
        H: Handler<T, ApiState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
        Route {
            method,
            path,
            summary,
            upload: false,
            handler: on(filter, handler),
        }
    }

    /// `GET`.
    pub fn get<H: Handler<T, ApiState>, T: 'static>(
        path: &'static str,
        summary: &'static str,
        h: H,
    ) -> Route {
        Route::new(Method::GET, path, summary, h)
    }
    /// `POST`.
    pub fn post<H: Handler<T, ApiState>, T: 'static>(
        path: &'static str,
        summary: &'static str,
        h: H,
    ) -> Route {
        Route::new(Method::POST, path, summary, h)
    }
    /// `PUT`.
    pub fn put<H: Handler<T, ApiState>, T: 'static>(
        path: &'static str,
        summary: &'static str,
        h: H,
    ) -> Route {
        Route::new(Method::PUT, path, summary, h)
    }
    /// `DELETE`.
    pub fn delete<H: Handler<T, ApiState>, T: 'static>(
        path: &'static str,
        summary: &'static str,
        h: H,
    ) -> Route {
        Route::new(Method::DELETE, path, summary, h)
    }

    /// Mark as an upload route.
    pub fn upload(mut self) -> Route {
        self.upload = true;
        self
    }
}

/// Every route baton serves, in documentation order.
pub fn routes() -> Vec<Route> {
    let mut all = Vec::new();
    all.extend(engine_info::routes());
    all.extend(deployment_extras::routes());
    all.extend(deployment::routes());
    all.extend(process_definition::routes());
    all.extend(definition_extras::routes());
    all.extend(start_form::routes());
    all.extend(definition_tenant::routes());
    all.extend(process_instance::routes());
    all.extend(modification::routes());
    all.extend(restart::routes());
    all.extend(batch::routes());
    all.extend(batch_ops::routes());
    all.extend(migration::routes());
    all.extend(execution::routes());
    all.extend(message_subscription::routes());
    all.extend(external_task::routes());
    all.extend(task::routes());
    all.extend(task_links::routes());
    all.extend(task_admin::routes());
    all.extend(variable_instance::routes());
    all.extend(variable_upload::routes());
    all.extend(message::routes());
    all.extend(condition::routes());
    all.extend(event_subscription::routes());
    all.extend(incident::routes());
    all.extend(job::routes());
    all.extend(job_definition::routes());
    all.extend(history::routes());
    all.extend(history_removal::routes());
    all.extend(identity::routes());
    all.extend(identity_admin::routes());
    all.extend(tenant::routes());
    all.extend(filter::routes());
    all.extend(comment::routes());
    all.extend(attachment::routes());
    all.extend(authorization::routes());
    all.extend(module::routes());
    all.extend(notification_rule::routes());
    all.extend(metrics::routes());
    all.extend(openapi::routes());
    all.extend(decision::routes());
    all.extend(decision_history::routes());
    all.extend(telemetry::routes());
    all
}

/// The whole REST API, with state, ready to serve.
pub fn router(state: ApiState) -> Router {
    let mut by_path: BTreeMap<&'static str, MethodRouter<ApiState>> = BTreeMap::new();
    for r in routes() {
        let handler = if r.upload {
            r.handler
                .layer(DefaultBodyLimit::max(state.config.max_upload_bytes))
        } else {
            r.handler
        };
        // Authorization checks exist only when auth is on: without it no layer is mounted.
        let handler = if state.config.auth {
            handler.route_layer(axum::middleware::from_fn_with_state(
                authz::RouteGuard {
                    state: state.clone(),
                    path: r.path,
                },
                authz::middleware,
            ))
        } else {
            handler
        };
        let merged = match by_path.remove(r.path) {
            Some(existing) => existing.merge(handler),
            None => handler,
        };
        by_path.insert(r.path, merged);
    }
    let mut api: Router<ApiState> = Router::new();
    for (path, mr) in by_path {
        api = api.route(path, mr.fallback(method_not_allowed));
    }
    Router::new()
        .nest(ROOT, api.clone())
        .nest(NAMED_ROOT, api)
        .fallback(not_found)
        // One layer, outermost first: each `Router::layer` call boxes every endpoint again,
        // and axum clones a route's whole chain of boxes for each request it serves (21 of a
        // REST start's 525 allocations went with the four calls this replaced, the request
        // metrics' one in `server::app`). The request metrics are outermost, so a route's
        // latency includes its auth and guards.
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(
                    state.engine.clone(),
                    crate::cockpit::metrics::track,
                ))
                .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
                .layer(axum::middleware::from_fn_with_state(
                    state.config.limits,
                    guard::middleware,
                ))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    auth::middleware,
                )),
        )
        .with_state(state)
}

/// The message of the router's own 404 (no such route), distinct from "unknown id" 404s.
pub const NO_ROUTE_PREFIX: &str = "Could not find resource for relative path";

async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NotFoundException",
        format!("{NO_ROUTE_PREFIX}: {}", uri.path()),
        None,
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "NotAllowedException",
        format!("Method {method} is not allowed on {}", uri.path()),
        None,
    )
}

/// The API base URL of the request (`http://host:port/engine-rest[/engine/default]`), for
/// Camunda's `links` (built from the Host header like JAX-RS `UriInfo` does).
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

impl<S: Send + Sync> FromRequestParts<S> for BaseUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let _ = state;
        // Nesting strips the prefix from the URI; the outer middleware recorded which root
        // the request came through.
        let root = parts.extensions.get::<RequestRoot>().map_or(ROOT, |r| r.0);
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
            .unwrap_or("localhost:8080");
        let scheme = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
            .filter(|s| *s == "https")
            .unwrap_or("http");
        Ok(BaseUrl(format!("{scheme}://{host}{root}")))
    }
}

impl BaseUrl {
    /// A Camunda `links` array with its one entry (`[{"href":...,"method":"GET","rel":"self"}]`).
    pub fn self_link(&self, path: &str) -> serde_json::Value {
        // Cannot fail: the entry is three strings.
        serde_json::to_value([self.link(path)]).unwrap_or_default()
    }

    /// The `self` entry of a `links` array, for DTOs serialized from structs.
    pub fn link(&self, path: &str) -> SelfLink {
        SelfLink {
            href: format!("{}{path}", self.0),
            method: "GET",
            rel: "self",
        }
    }
}

/// A Camunda `links` entry pointing at the resource itself. Fields in alphabetical order, the
/// order a `serde_json` map writes them in.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SelfLink {
    href: String,
    method: &'static str,
    rel: &'static str,
}

/// Which root (`/engine-rest` or the named-engine root) a request came through; set by
/// [`auth::middleware`] before routing strips it.
#[derive(Debug, Clone, Copy)]
pub struct RequestRoot(pub &'static str);

/// The authenticated user of a request (`None` when auth is off). Set by [`auth::middleware`].
#[derive(Debug, Clone, Default)]
pub struct AuthUser(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<AuthUser>()
            .cloned()
            .unwrap_or_default())
    }
}

/// The groups of the authenticated user (set with [`AuthUser`] when auth is on).
#[derive(Debug, Clone, Default)]
pub struct AuthGroups(pub Vec<String>);

/// A raw response with a content type (binary data, text).
pub(crate) fn raw(content_type: &str, body: Vec<u8>) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    if let Ok(v) = header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}
