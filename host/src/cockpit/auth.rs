//! Basic auth for the cockpit routes (pages, JSON views, `/metrics`, `/engine-rest/events`)
//! when `ServerConfig.auth` is on: the same check as the REST API
//! (`ProcessEngine::authenticate`, header parsed by [`crate::api::auth::parse_basic`]). A
//! failure answers 401 with `WWW-Authenticate: Basic realm="baton"`, so a browser asks for
//! credentials once and then sends them with every request of the origin, REST calls and the
//! event stream included.
//!
//! Authorizations (see `api::authz`) apply here too, as Camunda's webapps check them: apart
//! from the static pages, a user needs `ACCESS` on the application `cockpit` (resource type
//! 0; the task form also accepts `tasklist`), and each view the permission its data needs:
//! a definition's views `READ_INSTANCE` on its key, an instance's views `READ` on it or
//! `READ_INSTANCE` on its definition, a task form `READ` on the task or `READ_TASK` on its
//! definition, and the whole-engine views (overview, topics, decisions, the event stream,
//! `/metrics`) `READ` on every process definition (`*`). Members of `camunda-admin` pass.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::CockpitState;
use crate::api::authz::needs;
use crate::api::error::ApiError;
use crate::engine::authorizations::{ANY, Needed, Permission, Resource};

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
        Ok(Some(u)) => {
            let principal = match state.engine.principal(&u.id, &u.groups).await {
                Ok(p) => p,
                Err(e) => return ApiError::from(e).into_response(),
            };
            if !principal.admin {
                for any_of in view_rule(&state, req.uri().path()).await {
                    if !principal.has_any(&any_of) {
                        return crate::api::authz::denied(&u.id, &any_of).into_response();
                    }
                }
            }
            next.run(req).await
        }
        Ok(None) => unauthorized("Invalid credentials"),
        // The REST API's mapping: an internal failure is logged there and answered generically.
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// What a cockpit route needs (each group: any one of its entries). Unknown ids need only the
/// application access, so the view answers its usual 404.
async fn view_rule(state: &CockpitState, path: &str) -> Vec<Vec<Needed>> {
    let app = |name: &str| Needed::on(Permission::ACCESS, Resource::APPLICATION, name);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let whole_engine = || {
        vec![Needed::on(
            Permission::READ,
            Resource::PROCESS_DEFINITION,
            ANY,
        )]
    };
    match segments.as_slice() {
        [""] | ["cockpit", "app.js" | "ops.js" | "app.css" | "favicon.svg"] => Vec::new(),
        ["cockpit", "api", "definition", id, ..] => {
            let mut rules = vec![vec![app("cockpit")]];
            if let Ok(d) = state.engine.definition(id).await {
                rules.push(vec![Needed::on(
                    Permission::READ_INSTANCE,
                    Resource::PROCESS_DEFINITION,
                    d.key,
                )]);
            }
            rules
        }
        ["cockpit", "api", "instance", id, ..] => {
            let mut rules = vec![vec![app("cockpit")]];
            if let Ok(pi) = state.engine.instance(id).await {
                rules.push(needs::instance(
                    Permission::READ,
                    Permission::READ_INSTANCE,
                    pi.id(),
                    &pi.definition_key,
                ));
            } else if let Ok(h) = state.engine.historic_process_instance(id).await {
                rules.push(vec![Needed::on(
                    Permission::READ_HISTORY,
                    Resource::PROCESS_DEFINITION,
                    h.process_definition_key,
                )]);
            }
            rules
        }
        ["cockpit", "api", "task", id, ..] => {
            let mut rules = vec![vec![app("cockpit"), app("tasklist")]];
            if let Ok(t) = state.engine.user_task(id).await {
                rules.push(vec![
                    Needed::on(Permission::READ, Resource::TASK, &t.id),
                    Needed::on(
                        Permission::READ_TASK,
                        Resource::PROCESS_DEFINITION,
                        &t.process_definition_key,
                    ),
                ]);
            }
            rules
        }
        _ => vec![vec![app("cockpit")], whole_engine()],
    }
}
