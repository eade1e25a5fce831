//! Camunda 7 REST coverage: the operations baton's `/engine-rest/openapi.json` lists (read
//! from the real server) against Camunda 7's 386 operations
//! (`tests/compat/camunda-rest-operations.txt`, method and path from Camunda's OpenAPI
//! templates). Prints `C7 operation coverage: N of 386 (...)` and what is missing, grouped by
//! tag (`.ci/run` shows it). It fails on no number: it fails when baton serves a Camunda path
//! with a method Camunda does not have there (a typo guard), or the data file is malformed.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::StatusCode;

use crate::api_rest::Api;

/// Camunda's operations, one `METHOD /path` a line.
const CAMUNDA_OPERATIONS: &str = include_str!("../compat/camunda-rest-operations.txt");

/// Groups left out of the second figure: the issue scopes them out (decisions have their
/// own issue; telemetry is Camunda's phone-home). CMMN (`case-*`) is not in the 386 at all.
const EXCLUDED_TAGS: [&str; 7] = [
    "decision-definition",
    "decision-requirements-definition",
    "history/decision-definition",
    "history/decision-instance",
    "history/decision-requirements-definition",
    "telemetry",
    "case",
];

/// `/a/{id}/b/{tenant-id}` → `/a/{}/b/{}`: parameter names differ between the two (axum
/// wants identifiers), the operation does not.
fn normalize(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "{}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// The tag Camunda's templates group an operation under: the first path segment, or the
/// first two below `/history` (`/history/job-log/{id}` → `history/job-log`).
fn tag(path: &str) -> String {
    let mut segs = path.trim_start_matches('/').split('/');
    let first = segs.next().unwrap_or("");
    match first {
        "history" => format!("history/{}", segs.next().unwrap_or("")),
        _ => first.trim_end_matches(".json").to_owned(),
    }
}

fn excluded(tag: &str) -> bool {
    EXCLUDED_TAGS
        .iter()
        .any(|e| tag == *e || tag.starts_with(&format!("{e}-")))
}

/// Camunda's operations as (METHOD, normalized path).
fn camunda_operations() -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (n, line) in CAMUNDA_OPERATIONS.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (method, path) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("line {}: `{line}` is not `METHOD /path`", n + 1));
        assert!(
            ["GET", "POST", "PUT", "DELETE", "OPTIONS"].contains(&method) && path.starts_with('/'),
            "line {}: `{line}` is not `METHOD /path`",
            n + 1
        );
        let fresh = ops.insert((method.to_owned(), normalize(path)));
        assert!(fresh, "line {}: `{line}` listed twice", n + 1);
    }
    ops
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c7_operation_coverage() {
    let camunda = camunda_operations();
    assert_eq!(camunda.len(), 386, "Camunda 7's operation list changed");

    let api = Api::default().await;
    let (s, doc) = api.get("/openapi.json").await;
    assert_eq!(s, StatusCode::OK, "{doc}");
    let mut baton = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in ops.as_object().expect("operations").keys() {
            baton.insert((method.to_ascii_uppercase(), normalize(path)));
        }
    }

    // The typo guard: a Camunda path must only be served with Camunda's methods on it.
    let camunda_paths: BTreeSet<&String> = camunda.iter().map(|(_, p)| p).collect();
    let wrong: Vec<String> = baton
        .iter()
        .filter(|op| camunda_paths.contains(&op.1) && !camunda.contains(*op))
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "baton serves Camunda paths with methods Camunda does not have: {wrong:?}"
    );

    // Per tag: (covered, total, missing).
    let mut by_tag: BTreeMap<String, (usize, usize, Vec<String>)> = BTreeMap::new();
    for (m, p) in &camunda {
        let entry = by_tag.entry(tag(p)).or_default();
        entry.1 += 1;
        if baton.contains(&(m.clone(), p.clone())) {
            entry.0 += 1;
        } else {
            entry.2.push(format!("{m} {p}"));
        }
    }
    let covered: usize = by_tag.values().map(|t| t.0).sum();
    let (in_scope_covered, in_scope_total) = by_tag
        .iter()
        .filter(|(t, _)| !excluded(t))
        .fold((0, 0), |(c, n), (_, t)| (c + t.0, n + t.1));
    let excluded_tags: Vec<&str> = by_tag
        .keys()
        .filter(|t| excluded(t))
        .map(String::as_str)
        .collect();
    println!(
        "C7 operation coverage: {covered} of {} ({in_scope_covered} of {in_scope_total} excluding CMMN/telemetry/decision groups: {})",
        camunda.len(),
        excluded_tags.join(", ")
    );
    println!("per tag (covered/total), missing operations:");
    for (t, (c, n, missing)) in &by_tag {
        let note = if excluded(t) { " (excluded)" } else { "" };
        println!("  {t}: {c}/{n}{note}");
        for op in missing {
            println!("      missing {op}");
        }
    }
}

/// Every operation `/openapi.json` lists, sent once through HTTP against an empty engine with
/// unknown ids and an empty JSON body: each is routed (no `NotFoundException` for the route,
/// no `NotAllowedException` for the method), and every error it answers is in Camunda's shape
/// (`type` and `message`) and is not an internal error. The behaviour of each operation is
/// tested in its own module; this catches a route that is listed but not served, or that
/// panics or fails internally on ids and bodies a client may send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listed_operation_is_served_and_answers_errors_in_camunda_shape() {
    let api = Api::default().await;
    let (s, doc) = api.get("/openapi.json").await;
    assert_eq!(s, StatusCode::OK, "{doc}");
    let mut operations = Vec::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in ops.as_object().expect("operations").keys() {
            operations.push((method.to_ascii_uppercase(), path.clone()));
        }
    }
    assert!(operations.len() > 300, "{} operations", operations.len());
    let mut failures = Vec::new();
    for (method, path) in &operations {
        let concrete: String = path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    "no-such-id"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let url = api.url(&concrete);
        let rb = match method.as_str() {
            "GET" => api.client.get(url),
            "DELETE" => api.client.delete(url),
            "POST" => api.client.post(url).json(&serde_json::json!({})),
            "PUT" => api.client.put(url).json(&serde_json::json!({})),
            other => api.client.request(
                reqwest::Method::from_bytes(other.as_bytes()).expect("method"),
                url,
            ),
        };
        let (status, _, body) = api.send(rb).await;
        let kind = body["type"].as_str().unwrap_or_default();
        let message = body["message"].as_str().unwrap_or_default();
        let problem = if kind == "NotFoundException" || kind == "NotAllowedException" {
            Some("not routed")
        } else if status.is_client_error() || status.is_server_error() {
            if kind.is_empty() || !body["message"].is_string() {
                Some("error not in Camunda's shape")
            } else if message.contains("An internal error occurred") {
                Some("internal error")
            } else {
                None
            }
        } else {
            None
        };
        if let Some(problem) = problem {
            failures.push(format!("{method} {path} -> {status} {problem}: {body}"));
        }
    }
    println!(
        "{} listed operations sent, {} problems",
        operations.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
