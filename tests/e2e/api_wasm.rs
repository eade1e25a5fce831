//! In-engine wasm tasks through the REST API (issue 5, items 3, 4 and 6), on the real server
//! with real components from `guests/`:
//! - a component bundled in `POST /deployment/create` runs its topic's tasks with no worker,
//!   and its log is readable at `GET /external-task/{id}/log`;
//! - the `task-modules` form part binds a resource to another topic, with limits and an
//!   outbound-HTTP grant, and a granted module reaches a real HTTP server;
//! - outbound HTTP without a grant is refused at upload; a host outside the grant is refused
//!   per request (the server never sees it) and the incident says why;
//! - bad uploads (malformed `task-modules`, a name that is not in the deployment, bad allowed
//!   hosts) answer 400 in Camunda's error shape and change nothing.

use std::sync::atomic::Ordering;

use baton::engine::EngineEvent;
use baton_tests::{
    TestServer, guests, pong_server, wait_for_end, wait_for_event, wait_for_incident,
};
use serde_json::{Value as Json, json};

/// start -> service task on `topic` (one attempt, so the first failure is the incident) -> end.
pub(crate) fn one_task(key: &str, topic: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://baton.test">
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task" />
    <bpmn:serviceTask id="task" camunda:type="external" camunda:topic="{topic}">
      <bpmn:extensionElements>
        <camunda:failedJobRetryTimeCycle>R1/PT10S</camunda:failedJobRetryTimeCycle>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"#
    )
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("guest {path}: {e}"))
}

/// `POST /deployment/create` with files and text parts; returns (status, body).
async fn deploy(
    server: &TestServer,
    files: &[(&str, Vec<u8>)],
    texts: &[(&str, &str)],
) -> (u16, Json) {
    let mut form = reqwest::multipart::Form::new().text("deployment-name", "wasm");
    for (name, value) in texts {
        form = form.text((*name).to_owned(), (*value).to_owned());
    }
    for (name, bytes) in files {
        let part = reqwest::multipart::Part::bytes(bytes.clone()).file_name((*name).to_owned());
        form = form.part((*name).to_owned(), part);
    }
    let resp = server
        .client
        .http
        .post(format!("{}/deployment/create", server.client.base))
        .multipart(form)
        .send()
        .await
        .expect("deploy request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Json::Null))
}

/// `PUT /task-module/{topic}?{query}` with the raw component.
pub(crate) async fn put_module(
    server: &TestServer,
    topic: &str,
    query: &str,
    wasm: &str,
) -> (u16, Json) {
    let resp = server
        .client
        .http
        .put(format!(
            "{}/task-module/{topic}?{query}",
            server.client.base
        ))
        .header("content-type", "application/wasm")
        .body(read(wasm))
        .send()
        .await
        .expect("put module");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Json::Null))
}

pub(crate) async fn get(server: &TestServer, path: &str) -> (u16, Json) {
    let answer = server.client.get(path).await.expect("GET");
    (answer.status, answer.body)
}

/// The instance's variables from history, as `name -> value`.
async fn history_variables(server: &TestServer, instance_id: &str) -> Json {
    let (status, body) = get(
        server,
        &format!("/history/variable-instance?processInstanceId={instance_id}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut out = serde_json::Map::new();
    for v in body.as_array().expect("array") {
        out.insert(
            v["name"].as_str().unwrap_or("").to_owned(),
            v["value"].clone(),
        );
    }
    Json::Object(out)
}

pub(crate) async fn start(server: &TestServer, key: &str, variables: Json) -> String {
    server.client.start(key, variables).await.expect("start")
}

#[tokio::test]
async fn a_deployed_component_completes_its_tasks_without_a_worker_and_keeps_its_log() {
    let server = TestServer::start().await.expect("server");
    let (status, body) = deploy(
        &server,
        &[
            ("check.bpmn", one_task("check", "stock-check").into_bytes()),
            ("stock-check.wasm", read(guests::STOCK_CHECK)),
        ],
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let module = &body["deployedTaskModules"]["stock-check"];
    assert_eq!(module["sha256"].as_str().map(str::len), Some(64), "{body}");
    assert_eq!(module["deploymentId"], body["id"]);

    let (status, list) = get(&server, "/task-module").await;
    assert_eq!(status, 200);
    assert!(
        list.as_array()
            .is_some_and(|l| l.iter().any(|m| m["topic"] == "stock-check")),
        "{list}"
    );

    let mut events = server.engine.subscribe_events();
    let items = json!([{"sku": "A-1", "quantity": 2}, {"sku": "OUT-9", "quantity": 1}]);
    let id = start(
        &server,
        "check",
        json!({"items": {"type": "Json", "value": items.to_string()}}),
    )
    .await;
    let task_id = wait_for_event(&mut events, "the task", |event| match event {
        EngineEvent::TaskCreated {
            task_id,
            process_instance_id,
            ..
        } if process_instance_id == id => Some(task_id),
        _ => None,
    })
    .await;
    assert_eq!(wait_for_end(&mut events, &id).await, "COMPLETED");
    let variables = history_variables(&server, &id).await;
    assert_eq!(variables["available"], json!(false), "{variables}");

    // The task is gone; its log is not.
    let (status, tasks) = get(&server, &format!("/external-task?processInstanceId={id}")).await;
    assert_eq!((status, tasks), (200, json!([])), "the task must be done");
    let (status, log) = get(&server, &format!("/external-task/{task_id}/log")).await;
    assert_eq!(status, 200, "{log}");
    assert!(
        log.as_array().is_some_and(|lines| lines
            .iter()
            .any(|l| l.as_str().is_some_and(|l| l.contains("[Info]")))),
        "{log}"
    );
    let (status, unknown) = get(&server, "/external-task/no-such-task/log").await;
    assert_eq!(status, 404, "{unknown}");
    assert_eq!(unknown["type"], "RestException");
}

#[tokio::test]
async fn task_modules_binds_a_topic_with_an_outbound_http_grant() {
    let server = TestServer::start().await.expect("server");
    let (addr, hits) = pong_server().await;
    let bindings = json!({
        "http-fetch.wasm": {"topic": "fetch", "timeoutMs": 5000, "allowedHosts": [addr.to_string()]}
    });
    let (status, body) = deploy(
        &server,
        &[
            ("fetch.bpmn", one_task("fetcher", "fetch").into_bytes()),
            ("http-fetch.wasm", read(guests::HTTP_FETCH)),
        ],
        &[("task-modules", &bindings.to_string())],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let module = &body["deployedTaskModules"]["fetch"];
    assert_eq!(module["allowedHosts"], json!([addr.to_string()]), "{body}");
    assert_eq!(module["limits"]["timeoutMs"], json!(5000), "{body}");

    let mut events = server.engine.subscribe_events();
    let url = format!("http://{addr}/ping");
    let id = start(
        &server,
        "fetcher",
        json!({"url": {"type": "String", "value": url}}),
    )
    .await;
    assert_eq!(wait_for_end(&mut events, &id).await, "COMPLETED");
    let variables = history_variables(&server, &id).await;
    assert_eq!(variables["status"], json!(200), "{variables}");
    assert_eq!(variables["body"], json!("pong"), "{variables}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn outbound_http_needs_a_grant_and_other_hosts_are_never_contacted() {
    let server = TestServer::start().await.expect("server");
    let (addr, hits) = pong_server().await;

    // No grant: refused at upload, nothing bound.
    let (status, body) = put_module(&server, "fetch", "", guests::HTTP_FETCH).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["type"], "InvalidRequestException");
    let message = body["message"].as_str().unwrap_or("");
    assert!(
        message.contains("wasi:http/outgoing-handler") && message.contains("allowedHosts"),
        "{message}"
    );
    assert_eq!(get(&server, "/task-module/fetch").await.0, 404);

    // A malformed entry: refused, naming the entry.
    let (status, body) = put_module(
        &server,
        "fetch",
        "allowedHosts=https://example.com",
        guests::HTTP_FETCH,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("'https://example.com'")),
        "{body}"
    );
    assert_eq!(get(&server, "/task-module/fetch").await.0, 404);

    // Granted another host: every request to the pong server is denied before it leaves.
    let (status, body) = put_module(
        &server,
        "fetch",
        "allowedHosts=api.example.com,*.example.org:8443",
        guests::HTTP_FETCH,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["allowedHosts"],
        json!(["api.example.com", "*.example.org:8443"])
    );
    let (status, body) = server
        .client
        .deploy("fetcher", &one_task("fetcher", "fetch"))
        .await
        .map(|b| (200, b))
        .expect("deploy");
    assert_eq!(status, 200, "{body}");

    let mut events = server.engine.subscribe_events();
    let id = start(
        &server,
        "fetcher",
        json!({"url": {"type": "String", "value": format!("http://{addr}/")}}),
    )
    .await;
    let message = wait_for_incident(&mut events, &id).await;
    assert!(message.contains("HttpRequestDenied"), "{message}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the request must not leave");

    let (_, incidents) = get(&server, &format!("/incident?processInstanceId={id}")).await;
    let task_id = incidents[0]["configuration"]
        .as_str()
        .expect("incident configuration is the external task id")
        .to_owned();
    let (status, log) = get(&server, &format!("/external-task/{task_id}/log")).await;
    assert_eq!(status, 200, "{log}");
    let denied = log
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .any(|line| line.contains("outbound HTTP denied") && line.contains(&addr.to_string()));
    assert!(denied, "{log}");
}

#[tokio::test]
async fn bad_task_modules_parts_are_refused_and_change_nothing() {
    let server = TestServer::start().await.expect("server");
    let files = [
        ("check.bpmn", one_task("check", "stock-check").into_bytes()),
        ("stock-check.wasm", read(guests::STOCK_CHECK)),
    ];
    for (bindings, expected) in [
        ("{not json", "must be a JSON object"),
        (r#"{"stock-check.wasm": {"fuel": 0}}"#, "greater than 0"),
        (
            r#"{"stock-check.wasm": {"colour": "red"}}"#,
            "unknown field",
        ),
        (r#"{"other.wasm": {"topic": "x"}}"#, "'other.wasm'"),
        (
            r#"{"stock-check.wasm": {"allowedHosts": ["a b"]}}"#,
            "'a b' is invalid",
        ),
    ] {
        let (status, body) = deploy(&server, &files, &[("task-modules", bindings)]).await;
        assert_eq!(status, 400, "{bindings}: {body}");
        assert_eq!(body["type"], "InvalidRequestException", "{bindings}");
        let message = body["message"].as_str().unwrap_or("");
        assert!(message.contains(expected), "{bindings}: {message}");
    }
    let (_, count) = get(&server, "/deployment/count").await;
    assert_eq!(count["count"], json!(0));
    let (_, modules) = get(&server, "/task-module").await;
    assert_eq!(modules, json!([]));
}

#[tokio::test]
async fn per_module_instance_and_table_limits_reach_the_runtime() {
    let server = TestServer::start().await.expect("server");
    let (status, body) = put_module(&server, "tight", "instances=1", guests::ECHO).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["limits"]["instances"], json!(1), "{body}");
    assert_eq!(body["limits"]["tableElements"], Json::Null, "{body}");
    assert!(
        body["worldCheck"]
            .as_str()
            .is_some_and(|w| w.starts_with("baton:task/service-task@0.1.0")),
        "{body}"
    );
    let (status, body) = put_module(&server, "tables", "tableElements=0", guests::ECHO).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(get(&server, "/task-module/tables").await.0, 404);

    server
        .client
        .deploy("tight", &one_task("tight", "tight"))
        .await
        .expect("deploy");
    let mut events = server.engine.subscribe_events();
    let id = start(&server, "tight", json!({})).await;
    let message = wait_for_incident(&mut events, &id).await;
    assert_eq!(message, "instance limit of 1 exceeded");
}
