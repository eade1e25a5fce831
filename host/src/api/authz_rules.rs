//! The table of what each REST route needs when `--auth` is on (enforced by
//! [`super::authz::middleware`]). Resolving a rule may read the record the path names (an
//! instance's definition key, an external task's topic); an unknown id needs nothing here, so
//! the handler answers its usual 404, as Camunda checks after loading the entity.
//!
//! Routes not named below need `ALL` on `System` (Camunda's resource 21): operator-only
//! surfaces such as notification rules.

use axum::http::Method;

use super::authz::{Rule, needs};
use super::{ApiError, ApiState};
use crate::engine::authorizations::{ANY, Needed, Permission as P, Resource as R};

fn any(list: Vec<Needed>) -> Rule {
    Rule::AnyOf(list)
}

fn one(p: P, r: R, id: impl Into<String>) -> Rule {
    Rule::AnyOf(vec![Needed::on(p, r, id)])
}

fn of_type(p: P, r: R) -> Rule {
    Rule::AnyOf(vec![Needed::any(p, r)])
}

/// `ALL` on `System`: operators only.
fn operator() -> Rule {
    of_type(
        P {
            name: "ALL",
            bits: crate::engine::authorizations::ALL_BITS,
        },
        R::SYSTEM,
    )
}

/// Whether the route is a list or count the handler filters row by row.
fn filtered_list(path: &str) -> bool {
    matches!(
        path,
        "/process-instance"
            | "/process-instance/count"
            | "/process-definition"
            | "/process-definition/count"
            | "/task"
            | "/task/count"
            | "/external-task"
            | "/external-task/count"
            | "/deployment"
            | "/deployment/count"
            | "/incident"
            | "/incident/count"
            | "/history/process-instance"
            | "/history/process-instance/count"
            | "/history/activity-instance"
            | "/history/activity-instance/count"
            | "/history/variable-instance"
            | "/history/variable-instance/count"
            | "/history/task"
            | "/history/task/count"
            | "/history/incident"
            | "/history/incident/count"
            | "/job"
            | "/job/count"
            | "/job-definition"
            | "/job-definition/count"
            | "/execution"
            | "/execution/count"
            | "/variable-instance"
            | "/variable-instance/count"
            | "/event-subscription"
            | "/event-subscription/count"
            | "/task-module"
            | "/authorization"
            | "/authorization/count"
            | "/user"
            | "/user/count"
            | "/group"
            | "/group/count"
            | "/tenant"
            | "/tenant/count"
            | "/filter"
            | "/filter/count"
    )
}

/// Whether a POST route is a query with the filters in the body: Camunda's POST queries
/// (`POST /execution`, `/job/count`, ...) are exactly the POST routes with a GET twin at the
/// same path and no id in it. Everything else that is POSTed is a command (creating batches,
/// deleting, correlating), checked as a change.
fn post_query(method: &Method, path: &str) -> bool {
    static GET_PATHS: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    method == Method::POST
        && !path.contains('{')
        && GET_PATHS
            .get_or_init(|| {
                super::routes()
                    .into_iter()
                    .filter(|r| r.method == Method::GET)
                    .map(|r| r.path)
                    .collect()
            })
            .contains(path)
}

/// What `method` on the route `path` (a template) needs from `user`, with `param` giving
/// path values.
pub async fn rule(
    state: &ApiState,
    user: &str,
    method: &Method,
    path: &'static str,
    param: &(dyn Fn(&str) -> String + Sync),
) -> Result<Rule, ApiError> {
    if filtered_list(path) && (method == Method::GET || method == Method::POST) {
        return Ok(Rule::Authenticated);
    }
    let engine = &state.engine;
    // Camunda's POST queries (`POST /execution`, `/job/count`, ...) read like GETs.
    let get = method == Method::GET || post_query(method, path);
    let method = if get { &Method::GET } else { method };
    let mut segments = path.trim_start_matches('/').split('/');
    let head = segments.next().unwrap_or("");
    let second = segments.next();
    Ok(match head {
        "engine" | "version" | "openapi.json" => Rule::Authenticated,
        "process-instance" => match second {
            Some("{id}") => match engine.instance(&param("id")).await {
                Ok(pi) if get => any(needs::instance(
                    P::READ,
                    P::READ_INSTANCE,
                    pi.id(),
                    &pi.definition_key,
                )),
                Ok(pi) => any(needs::instance(
                    P::UPDATE,
                    P::UPDATE_INSTANCE,
                    pi.id(),
                    &pi.definition_key,
                )),
                Err(_) => Rule::Authenticated,
            },
            _ => any(needs::all_instances(!get)),
        },
        "process-definition" => definition_rule(state, method, path, param).await,
        "deployment" => match second {
            Some("create") => of_type(P::CREATE, R::DEPLOYMENT),
            Some("{id}") if method == Method::DELETE => one(P::DELETE, R::DEPLOYMENT, param("id")),
            // A redeployment creates a deployment from one the user can read.
            Some("{id}") if path.ends_with("/redeploy") => Rule::Each(vec![
                vec![Needed::any(P::CREATE, R::DEPLOYMENT)],
                vec![Needed::on(P::READ, R::DEPLOYMENT, param("id"))],
            ]),
            Some("{id}") => one(P::READ, R::DEPLOYMENT, param("id")),
            _ => of_type(P::READ, R::DEPLOYMENT),
        },
        "external-task" => match second {
            Some("fetchAndLock") => Rule::Authenticated,
            Some("{id}") => match engine.external_task(&param("id")).await {
                Ok(t) => {
                    let perm = needs::by_method(method, P::UPDATE);
                    let def = if get {
                        P::READ_INSTANCE
                    } else {
                        P::UPDATE_INSTANCE
                    };
                    let mut list = vec![Needed::on(perm, R::EXTERNAL_TASK_TOPIC, &t.topic_name)];
                    list.extend(needs::instance(
                        perm,
                        def,
                        &t.process_instance_id,
                        &t.process_definition_key,
                    ));
                    any(list)
                }
                Err(_) => Rule::Authenticated,
            },
            _ => {
                let perm = needs::by_method(method, P::UPDATE);
                let mut list = vec![Needed::on(perm, R::EXTERNAL_TASK_TOPIC, ANY)];
                list.extend(needs::all_instances(!get));
                any(list)
            }
        },
        "task" => match second {
            Some("create") => of_type(P::CREATE, R::TASK),
            // A standalone task: DELETE on it (a process task is refused by the handler).
            Some("{id}") if method == Method::DELETE && path == "/task/{id}" => {
                one(P::DELETE, R::TASK, param("id"))
            }
            Some("{id}") => match engine.user_task(&param("id")).await {
                // Camunda's identity-link authorizations: READ and UPDATE on the task.
                Ok(t) if super::authz::principal().is_some_and(|p| p.is_task_party(&t)) => {
                    Rule::Authenticated
                }
                Ok(t) if get => any(vec![
                    Needed::on(P::READ, R::TASK, &t.id),
                    Needed::on(
                        P::READ_TASK,
                        R::PROCESS_DEFINITION,
                        &t.process_definition_key,
                    ),
                ]),
                Ok(t) => any(vec![
                    Needed::on(P::UPDATE, R::TASK, &t.id),
                    Needed::on(P::TASK_WORK, R::TASK, &t.id),
                    Needed::on(
                        P::UPDATE_TASK,
                        R::PROCESS_DEFINITION,
                        &t.process_definition_key,
                    ),
                    Needed::on(
                        P::TASK_WORK,
                        R::PROCESS_DEFINITION,
                        &t.process_definition_key,
                    ),
                ]),
                Err(_) => Rule::Authenticated,
            },
            _ => of_type(needs::by_method(method, P::UPDATE), R::TASK),
        },
        "task-module" => {
            let topic = param("topic");
            match *method {
                Method::PUT => one(P::CREATE, R::TASK_MODULE, topic),
                Method::DELETE => one(P::DELETE, R::TASK_MODULE, topic),
                _ => one(P::READ, R::TASK_MODULE, topic),
            }
        }
        "authorization" => match second {
            Some("check") => Rule::Authenticated,
            Some("create") => of_type(P::CREATE, R::AUTHORIZATION),
            Some("{id}") => match *method {
                Method::PUT => one(P::UPDATE, R::AUTHORIZATION, param("id")),
                Method::DELETE => one(P::DELETE, R::AUTHORIZATION, param("id")),
                _ => one(P::READ, R::AUTHORIZATION, param("id")),
            },
            _ => of_type(P::READ, R::AUTHORIZATION),
        },
        "user" => match second {
            Some("create") => of_type(P::CREATE, R::USER),
            // A user may always read their own profile.
            Some("{id}") if get && param("id") == user => Rule::Authenticated,
            Some("{id}") if get => one(P::READ, R::USER, param("id")),
            // Camunda: unlocking is for administrators.
            Some("{id}") if path.ends_with("/unlock") => operator(),
            Some("{id}") if method == Method::PUT => one(P::UPDATE, R::USER, param("id")),
            Some("{id}") => one(P::DELETE, R::USER, param("id")),
            _ => of_type(P::READ, R::USER),
        },
        "group" => match second {
            Some("create") => of_type(P::CREATE, R::GROUP),
            Some("{id}") if path.contains("/members/") => {
                let p = if method == Method::DELETE {
                    P::DELETE
                } else {
                    P::CREATE
                };
                one(p, R::GROUP_MEMBERSHIP, param("id"))
            }
            Some("{id}") => one(needs::by_method(method, P::UPDATE), R::GROUP, param("id")),
            _ => of_type(P::READ, R::GROUP),
        },
        "tenant" => match second {
            Some("create") => of_type(P::CREATE, R::TENANT),
            Some("{id}") if path.contains("-members/") => {
                let p = if method == Method::DELETE {
                    P::DELETE
                } else {
                    P::CREATE
                };
                one(p, R::TENANT_MEMBERSHIP, param("id"))
            }
            Some("{id}") => one(needs::by_method(method, P::UPDATE), R::TENANT, param("id")),
            _ => of_type(P::READ, R::TENANT),
        },
        // Running a saved filter reads the filter; its rows are filtered as `/task` is.
        "filter" => match second {
            Some("create") => of_type(P::CREATE, R::FILTER),
            Some("{id}")
                if path.ends_with("/list")
                    || path.ends_with("/count")
                    || path.ends_with("/singleResult") =>
            {
                one(P::READ, R::FILTER, param("id"))
            }
            Some("{id}") => one(needs::by_method(method, P::UPDATE), R::FILTER, param("id")),
            _ => of_type(P::READ, R::FILTER),
        },
        "identity" => Rule::Authenticated,
        "history" => match second {
            // Batches that remove or plan the removal of history: CREATE on Batch (Camunda's
            // CREATE_BATCH_* permissions are not modelled) and, to delete history,
            // DELETE_HISTORY on the definitions (Camunda checks it per instance as the
            // batch runs; the rule sees no body, so every definition).
            Some("process-instance") if path == "/history/process-instance/delete" => {
                Rule::Each(vec![
                    vec![Needed::any(P::CREATE, R::BATCH)],
                    vec![Needed::on(P::DELETE_HISTORY, R::PROCESS_DEFINITION, ANY)],
                ])
            }
            // The same for decisions: DELETE_HISTORY on the decision definitions.
            Some("decision-instance") if path == "/history/decision-instance/delete" => {
                Rule::Each(vec![
                    vec![Needed::any(P::CREATE, R::BATCH)],
                    vec![Needed::on(P::DELETE_HISTORY, R::DECISION_DEFINITION, ANY)],
                ])
            }
            Some("decision-definition") => one(P::READ_HISTORY, R::DECISION_DEFINITION, ANY),
            Some("process-instance") | Some("batch") | Some("decision-instance")
                if path.ends_with("/set-removal-time") =>
            {
                of_type(P::CREATE, R::BATCH)
            }
            Some("batch") if method == Method::DELETE => one(P::DELETE_HISTORY, R::BATCH, ANY),
            Some("batch") => one(P::READ_HISTORY, R::BATCH, ANY),
            // Running the cleanup and annotating the operation log are operator work.
            Some("cleanup") => operator(),
            Some("user-operation") if *method == Method::PUT => operator(),
            Some("process-instance") if path.contains("{id}") => {
                match engine.historic_process_instance(&param("id")).await {
                    Ok(h) => any(needs::history(&h.id, &h.process_definition_key)),
                    Err(_) => Rule::Authenticated,
                }
            }
            _ if *method == Method::DELETE => one(P::DELETE_HISTORY, R::PROCESS_DEFINITION, ANY),
            _ => one(P::READ_HISTORY, R::PROCESS_DEFINITION, ANY),
        },
        "job" | "variable-instance" | "incident" if second == Some("{id}") => {
            let (perm, def_perm) = if get {
                (P::READ, P::READ_INSTANCE)
            } else {
                (P::UPDATE, P::UPDATE_INSTANCE)
            };
            // The instance the record belongs to, as Camunda checks after loading it.
            let owner = match head {
                "job" => engine.job_view(&param("id")).ok().map(|v| {
                    (
                        v.job.process_instance_id,
                        v.process_definition_key.unwrap_or_default(),
                    )
                }),
                "variable-instance" => engine
                    .variable_instance(&param("id"))
                    .ok()
                    .map(|v| (Some(v.process_instance_id), v.process_definition_key)),
                _ => match engine.incident(&param("id")).await {
                    Ok(i) => {
                        let key = engine
                            .definition(&i.process_definition_id)
                            .await
                            .map(|d| d.key)
                            .unwrap_or_default();
                        Some((Some(i.process_instance_id), key))
                    }
                    Err(_) => None,
                },
            };
            match owner {
                Some((Some(pi), key)) => any(needs::instance(perm, def_perm, &pi, &key)),
                Some((None, key)) => one(
                    needs::by_method(method, P::UPDATE),
                    R::PROCESS_DEFINITION,
                    key,
                ),
                None => Rule::Authenticated,
            }
        }
        "incident" | "execution" | "variable-instance" | "event-subscription" | "job" => {
            any(needs::all_instances(!get))
        }
        "job-definition" => one(
            needs::by_method(method, P::UPDATE),
            R::PROCESS_DEFINITION,
            ANY,
        ),
        // Batches (Camunda's resource 13): reading, suspending and deleting one; a batch's
        // creation is checked as the operation it runs (below and on process-instance).
        "batch" => {
            let id = if second == Some("{id}") {
                param("id")
            } else {
                ANY.to_owned()
            };
            match *method {
                Method::DELETE => one(P::DELETE, R::BATCH, id),
                Method::PUT => one(P::UPDATE, R::BATCH, id),
                _ => one(P::READ, R::BATCH, id),
            }
        }
        // Camunda checks MIGRATE_INSTANCE on the source and target definitions; the rule
        // sees no body, so it asks for it on every definition (operators and migrators).
        "migration" => match second {
            Some("generate") | Some("validate") => of_type(P::READ, R::PROCESS_DEFINITION),
            _ => one(P::MIGRATE_INSTANCE, R::PROCESS_DEFINITION, ANY),
        },
        // Modifying instances chosen by a query or a list: UPDATE on every instance.
        "modification" => any(needs::all_instances(true)),
        "message" | "signal" | "condition" => Rule::Each(vec![
            vec![Needed::any(P::CREATE, R::PROCESS_INSTANCE)],
            needs::all_instances(true),
        ]),
        "decision-definition" | "decision-requirements-definition" => {
            let resource = if head == "decision-definition" {
                R::DECISION_DEFINITION
            } else {
                R::DECISION_REQUIREMENTS_DEFINITION
            };
            let id = if second == Some("key") {
                param("key")
            } else {
                ANY.to_owned()
            };
            if path.ends_with("/evaluate") {
                one(P::CREATE_INSTANCE, resource, id)
            } else {
                one(needs::by_method(method, P::UPDATE), resource, id)
            }
        }
        _ => operator(),
    })
}

async fn definition_rule(
    state: &ApiState,
    method: &Method,
    path: &'static str,
    param: &(dyn Fn(&str) -> String + Sync),
) -> Rule {
    let mut segments = path.trim_start_matches('/').split('/').skip(1);
    let key = match segments.next() {
        Some("key") => param("key"),
        Some("{id}") => match state.engine.definition(&param("id")).await {
            Ok(d) => d.key,
            Err(_) => return Rule::Authenticated,
        },
        // Bulk suspension by key in the body: every definition.
        _ => ANY.to_owned(),
    };
    // Restarting reads the definition's history (Camunda checks READ_HISTORY) and starts
    // instances (at once or in a batch).
    if path.ends_with("/restart") || path.ends_with("/restart-async") {
        return Rule::Each(vec![
            vec![Needed::on(P::READ_HISTORY, R::PROCESS_DEFINITION, &key)],
            vec![Needed::any(P::CREATE, R::PROCESS_INSTANCE)],
            vec![Needed::on(P::CREATE_INSTANCE, R::PROCESS_DEFINITION, key)],
        ]);
    }
    // Submitting a start form starts an instance.
    if path.ends_with("/start") || path.ends_with("/submit-form") {
        Rule::Each(vec![
            vec![Needed::any(P::CREATE, R::PROCESS_INSTANCE)],
            vec![Needed::on(P::CREATE_INSTANCE, R::PROCESS_DEFINITION, key)],
        ])
    } else {
        one(
            needs::by_method(method, P::UPDATE),
            R::PROCESS_DEFINITION,
            key,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_queries_read_and_commands_write() {
        for query in [
            "/execution",
            "/job/count",
            "/history/task",
            "/variable-instance",
        ] {
            assert!(post_query(&Method::POST, query), "{query}");
        }
        for command in [
            "/message",
            "/signal",
            "/condition",
            "/deployment/create",
            "/external-task/fetchAndLock",
            "/task/{id}/complete",
            "/process-instance/delete",
            "/process-instance/suspended-async",
            "/process-instance/variables-async",
            "/process-instance/message-async",
            "/process-instance/job-retries",
            "/process-instance/delete-historic-query-based",
            "/job/retries",
            "/external-task/retries-async",
            "/history/cleanup",
        ] {
            assert!(!post_query(&Method::POST, command), "{command}");
        }
        assert!(!post_query(&Method::GET, "/execution"));
    }
}
