//! Enforcement of Camunda authorizations on the REST API when `--auth` is on (see
//! [`crate::engine::authorizations`] for the model and its precedence rules).
//!
//! Owns the table of what each route needs ([`rule`]), the per-route middleware that checks it
//! before the handler runs ([`middleware`], mounted by `api::router` on every route only when
//! auth is on, so a server without auth pays nothing), and the request's [`Principal`] that
//! list handlers consult to filter rows ([`visible`]): like Camunda, queries are filtered to
//! what the user may read, not refused; single-resource operations answer 403 with Camunda's
//! `AuthorizationException` (`missingAuthorizations` lists the permissions any one of which
//! would have sufficed).
//!
//! Lists that are not filtered row by row (the user operation log, batches, decision history)
//! need the `*` permission that would let the user see every row (`READ_HISTORY` on
//! `ProcessDefinition *`, ...), so nothing leaks.

use std::sync::Arc;

use axum::extract::{RawPathParams, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{ApiError, ApiState, AuthGroups, AuthUser};
use crate::engine::authorizations::{ANY, Needed, Permission, Principal, Resource};

tokio::task_local! {
    static PRINCIPAL: Arc<Principal>;
}

/// What a route needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// Any authenticated user (the handler filters or checks itself).
    Authenticated,
    /// At least one of these.
    AnyOf(Vec<Needed>),
    /// Each group: at least one of its entries (checked in order).
    Each(Vec<Vec<Needed>>),
}

/// The request's principal, when auth is on and a user is authenticated.
pub fn principal() -> Option<Arc<Principal>> {
    PRINCIPAL.try_with(Arc::clone).ok()
}

/// Whether the current user may see a row that needs any of `any_of` (always, without auth
/// or for administrators). `any_of` is only built when a restricted user asks.
pub fn visible(any_of: impl FnOnce() -> Vec<Needed>) -> bool {
    PRINCIPAL
        .try_with(|p| p.admin || p.has_any(&any_of()))
        .unwrap_or(true)
}

/// Whether rows are filtered for this request (a non-admin user): index-only counts must
/// then read the rows.
pub fn restricted() -> bool {
    PRINCIPAL.try_with(|p| !p.admin).unwrap_or(false)
}

/// `Err(403)` unless the current user has one of `any_of` (a no-op without auth).
pub fn require(any_of: &[Needed]) -> Result<(), ApiError> {
    match principal() {
        Some(p) if !p.has_any(any_of) => Err(denied(&p.user_id, any_of)),
        _ => Ok(()),
    }
}

/// Camunda's `AuthorizationException` (403) for a user missing all of `any_of`.
pub fn denied(user_id: &str, any_of: &[Needed]) -> ApiError {
    let message = crate::engine::authorizations::exception_message(user_id, any_of);
    let missing: Vec<_> = any_of
        .iter()
        .map(|n| {
            json!({"permissionName": n.permission.name, "resourceName": n.resource.name,
                   "resourceId": n.resource_id})
        })
        .collect();
    let single = (any_of.len() == 1).then(|| &any_of[0]);
    ApiError::new(
        StatusCode::FORBIDDEN,
        "AuthorizationException",
        message,
        None,
    )
    .with_fields(json!({
        "userId": user_id,
        "permissionName": single.map(|n| n.permission.name),
        "resourceName": single.map(|n| n.resource.name),
        "resourceId": single.and_then(|n| n.resource_id.clone()),
        "missingAuthorizations": missing,
    }))
}

/// The route a middleware instance guards (its path template below the API root).
#[derive(Clone)]
pub struct RouteGuard {
    /// Handler state.
    pub state: ApiState,
    /// `/process-instance/{id}`, ...
    pub path: &'static str,
}

/// The per-route check: resolve the rule for this route and the request's ids, check it, and
/// run the handler with the principal in scope.
pub async fn middleware(
    State(guard): State<RouteGuard>,
    params: RawPathParams,
    req: Request,
    next: Next,
) -> Response {
    let Some(user) = req.extensions().get::<AuthUser>().and_then(|u| u.0.clone()) else {
        // Opened by the auth middleware without credentials (engine info, bootstrap).
        return next.run(req).await;
    };
    let groups = req
        .extensions()
        .get::<AuthGroups>()
        .map(|g| g.0.clone())
        .unwrap_or_default();
    let principal = match guard.state.engine.principal(&user, &groups).await {
        Ok(p) => Arc::new(p),
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !principal.admin {
        let ids: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let param = |name: &str| {
            ids.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        // In the principal's scope: a rule may ask who the user is (a task's parties).
        let resolving =
            super::authz_rules::rule(&guard.state, &user, req.method(), guard.path, &param);
        let rule = match PRINCIPAL.scope(principal.clone(), resolving).await {
            Ok(rule) => rule,
            Err(e) => return e.into_response(),
        };
        let groups = match &rule {
            Rule::Authenticated => Vec::new(),
            Rule::AnyOf(any) => vec![any.clone()],
            Rule::Each(each) => each.clone(),
        };
        for any_of in groups {
            if !principal.has_any(&any_of) {
                return denied(&user, &any_of).into_response();
            }
        }
    }
    PRINCIPAL.scope(principal, next.run(req)).await
}

/// Helpers for rules: the usual disjunctions.
pub mod needs {
    use super::*;

    /// `perm` on the instance, or `def_perm` on its definition key.
    pub fn instance(perm: Permission, def_perm: Permission, id: &str, key: &str) -> Vec<Needed> {
        vec![
            Needed::on(perm, Resource::PROCESS_INSTANCE, id),
            Needed::on(def_perm, Resource::PROCESS_DEFINITION, key),
        ]
    }

    /// Reading every instance (`*`): what unfiltered instance-scoped lists need.
    pub fn all_instances(write: bool) -> Vec<Needed> {
        let (p, d) = if write {
            (Permission::UPDATE, Permission::UPDATE_INSTANCE)
        } else {
            (Permission::READ, Permission::READ_INSTANCE)
        };
        instance(p, d, ANY, ANY)
    }

    /// Reading one historic instance.
    pub fn history(id: &str, key: &str) -> Vec<Needed> {
        vec![
            Needed::on(Permission::READ_HISTORY, Resource::PROCESS_DEFINITION, key),
            Needed::on(Permission::READ, Resource::HISTORIC_PROCESS_INSTANCE, id),
        ]
    }

    /// The permission a method implies: `READ` for GET, else `write`.
    pub fn by_method(method: &Method, write: Permission) -> Permission {
        if method == Method::GET {
            Permission::READ
        } else {
            write
        }
    }
}

/// Row visibility for filtered lists (always true without auth or for administrators).
pub mod sees {
    use super::*;
    use crate::records::{ExternalTask, UserTask};

    /// A running instance: `READ` on it or `READ_INSTANCE` on its definition.
    pub fn instance(id: &str, key: &str) -> bool {
        visible(|| needs::instance(Permission::READ, Permission::READ_INSTANCE, id, key))
    }

    /// A definition: `READ` on its key.
    pub fn definition(key: &str) -> bool {
        visible(|| {
            vec![Needed::on(
                Permission::READ,
                Resource::PROCESS_DEFINITION,
                key,
            )]
        })
    }

    /// A deployment: `READ` on it.
    pub fn deployment(id: &str) -> bool {
        visible(|| vec![Needed::on(Permission::READ, Resource::DEPLOYMENT, id)])
    }

    /// A user task: `READ` on it or `READ_TASK` on its definition, or the user is one of its
    /// parties (assignee, owner, candidate; see [`Principal::is_task_party`]).
    pub fn task(t: &UserTask) -> bool {
        principal().is_some_and(|p| p.is_task_party(t))
            || visible(|| {
                vec![
                    Needed::on(Permission::READ, Resource::TASK, &t.id),
                    Needed::on(
                        Permission::READ_TASK,
                        Resource::PROCESS_DEFINITION,
                        &t.process_definition_key,
                    ),
                ]
            })
    }

    /// An external task: `READ` on its topic, its instance, or `READ_INSTANCE` on its
    /// definition.
    pub fn external_task(t: &ExternalTask) -> bool {
        visible(|| {
            let mut list = vec![Needed::on(
                Permission::READ,
                Resource::EXTERNAL_TASK_TOPIC,
                &t.topic_name,
            )];
            list.extend(needs::instance(
                Permission::READ,
                Permission::READ_INSTANCE,
                &t.process_instance_id,
                &t.process_definition_key,
            ));
            list
        })
    }

    /// A job: `READ` on its instance or `READ_INSTANCE` on its definition; a job of no
    /// instance (a timer start event) needs `READ` on its definition.
    pub fn job(v: &crate::engine::JobView) -> bool {
        match (&v.job.process_instance_id, &v.process_definition_key) {
            (Some(pi), Some(key)) => instance(pi, key),
            (None, Some(key)) => definition(key),
            _ => visible(Vec::new),
        }
    }

    /// A running variable: `READ` on its instance or `READ_INSTANCE` on its definition
    /// (Camunda without `enforceSpecificVariablePermission`, its default).
    pub fn variable(instance_id: &str, key: &str) -> bool {
        instance(instance_id, key)
    }

    /// A historic instance: `READ_HISTORY` on its definition, or `READ` on the historic
    /// instance itself (Camunda's historic instance permissions).
    pub fn history(id: &str, key: &str) -> bool {
        visible(|| needs::history(id, key))
    }

    /// A task module: `READ` on its topic.
    pub fn module(topic: &str) -> bool {
        visible(|| vec![Needed::on(Permission::READ, Resource::TASK_MODULE, topic)])
    }

    /// An external-task topic the user may fetch and complete: `UPDATE` on it.
    pub fn topic_work(topic: &str) -> bool {
        visible(|| {
            vec![Needed::on(
                Permission::UPDATE,
                Resource::EXTERNAL_TASK_TOPIC,
                topic,
            )]
        })
    }

    /// A user (`READ` on it; everyone sees themselves) or a group (`READ` on it).
    pub fn identity(resource: Resource, id: &str) -> bool {
        visible(|| vec![Needed::on(Permission::READ, resource, id)])
            || (resource == Resource::USER && principal().is_some_and(|p| p.user_id == id))
    }
}
