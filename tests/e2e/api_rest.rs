//! REST API conventions against the real router on 127.0.0.1:0: error shapes and content
//! types, unknown routes, malformed JSON, oversized bodies, multipart rules, query validation
//! messages, fetchAndLock validation, basic auth, and OpenAPI route coverage.

use std::time::Duration;

use baton::api::{ApiConfig, ApiState, NO_ROUTE_PREFIX};
use baton::engine::{EngineConfig, ProcessEngine};
use reqwest::StatusCode;
use serde_json::{Value as J, json};

/// A running API over a fresh engine in a temporary directory.
pub(crate) struct Api {
    /// `http://127.0.0.1:port/engine-rest`.
    pub base: String,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
    _server: tokio::task::JoinHandle<()>,
}

/// Serve `app` on 127.0.0.1 at a free port until the returned task is dropped or aborted.
pub(crate) async fn serve_on_loopback(
    app: axum::Router,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, server)
}

impl Api {
    pub(crate) async fn start(config: ApiConfig) -> Api {
        Api::start_with(config, |ec| ec.wasm = None).await
    }

    /// [`Api::start`] with the engine configuration adjusted by `adjust` (which starts from
    /// the defaults, wasm runtime included).
    pub(crate) async fn start_with(
        config: ApiConfig,
        adjust: impl FnOnce(&mut EngineConfig),
    ) -> Api {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ec = EngineConfig::new(dir.path());
        ec.durability = baton::store::Durability::Relaxed;
        adjust(&mut ec);
        let engine = ProcessEngine::open(ec).await.expect("engine");
        let app = baton::api::router(ApiState { engine, config });
        let (addr, server) = serve_on_loopback(app).await;
        Api {
            base: format!("http://{addr}/engine-rest"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
            _dir: dir,
            _server: server,
        }
    }

    pub(crate) async fn default() -> Api {
        Api::start(ApiConfig::default()).await
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Send and return (status, content type, body as JSON or as a string).
    pub(crate) async fn send(
        &self,
        rb: reqwest::RequestBuilder,
    ) -> (StatusCode, Option<String>, J) {
        let r = rb.send().await.expect("request");
        let status = r.status();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = r.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(J::String(text));
        (status, ct, body)
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, J) {
        let (s, _, b) = self.send(self.client.get(self.url(path))).await;
        (s, b)
    }

    pub(crate) async fn post(&self, path: &str, body: J) -> (StatusCode, J) {
        let (s, _, b) = self
            .send(self.client.post(self.url(path)).json(&body))
            .await;
        (s, b)
    }

    pub(crate) async fn put(&self, path: &str, body: J) -> (StatusCode, J) {
        let (s, _, b) = self.send(self.client.put(self.url(path)).json(&body)).await;
        (s, b)
    }

    /// Deploy one BPMN resource; returns the response body.
    pub(crate) async fn deploy(&self, name: &str, xml: &str) -> J {
        let form = reqwest::multipart::Form::new()
            .text("deployment-name", name.to_owned())
            .part(
                "data",
                reqwest::multipart::Part::bytes(xml.as_bytes().to_vec())
                    .file_name(format!("{name}.bpmn")),
            );
        let (s, _, b) = self
            .send(
                self.client
                    .post(self.url("/deployment/create"))
                    .multipart(form),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "deploy: {b}");
        b
    }
}

fn assert_error(status: StatusCode, ct: &Option<String>, body: &J, want: StatusCode, kind: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(ct.as_deref(), Some("application/json"));
    assert_eq!(body["type"], json!(kind), "{body}");
    assert!(body["message"].is_string(), "{body}");
    assert!(body.get("code").is_some(), "code must be present: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_and_version_under_both_roots() {
    let api = Api::default().await;
    for root in ["", "/engine/default"] {
        let (s, ct, b) = api
            .send(api.client.get(api.url(&format!("{root}/engine"))))
            .await;
        assert_eq!(
            (s, ct.as_deref()),
            (StatusCode::OK, Some("application/json"))
        );
        assert_eq!(b, json!([{"name": "default"}]));
        let (s, b) = api.get(&format!("{root}/version")).await;
        assert_eq!((s, b), (StatusCode::OK, json!({"version": "7.24.0"})));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_methods_answer_camunda_json() {
    let api = Api::default().await;
    let (s, ct, b) = api.send(api.client.get(api.url("/no-such-thing"))).await;
    assert_error(s, &ct, &b, StatusCode::NOT_FOUND, "NotFoundException");
    let (s, ct, b) = api
        .send(api.client.get(format!(
            "{}/../nope",
            api.base.trim_end_matches("/engine-rest")
        )))
        .await;
    assert_error(s, &ct, &b, StatusCode::NOT_FOUND, "NotFoundException");
    let (s, ct, b) = api
        .send(api.client.delete(api.url("/external-task/fetchAndLock")))
        .await;
    assert_error(
        s,
        &ct,
        &b,
        StatusCode::METHOD_NOT_ALLOWED,
        "NotAllowedException",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_a_400_invalid_request() {
    let api = Api::default().await;
    let rb = api
        .client
        .post(api.url("/external-task/fetchAndLock"))
        .header("content-type", "application/json")
        .body("{\"workerId\": ");
    let (s, ct, b) = api.send(rb).await;
    assert_error(
        s,
        &ct,
        &b,
        StatusCode::BAD_REQUEST,
        "InvalidRequestException",
    );
    let (s, ct, b) = api
        .send(
            api.client
                .post(api.url("/message"))
                .json(&json!({"messageName": 5})),
        )
        .await;
    assert_error(
        s,
        &ct,
        &b,
        StatusCode::BAD_REQUEST,
        "InvalidRequestException",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_and_lock_validation() {
    let api = Api::default().await;
    let (s, ct, b) = api
        .send(
            api.client
                .post(api.url("/external-task/fetchAndLock"))
                .json(&json!({"maxTasks": 1, "topics": []})),
        )
        .await;
    assert_error(
        s,
        &ct,
        &b,
        StatusCode::INTERNAL_SERVER_ERROR,
        "NullValueException",
    );
    assert_eq!(b["message"], "workerId is null");
    let (s, b) = api
        .post("/external-task/fetchAndLock", json!({"workerId": "w", "maxTasks": 1, "asyncResponseTimeout": 1_800_001, "topics": []}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, b) = api
        .post("/external-task/fetchAndLock", json!({"workerId": "w", "maxTasks": 1, "topics": [{"topicName": "t", "lockDuration": 0}]}))
        .await;
    assert_eq!(
        (s, b["message"].clone()),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!("lockTime is not greater than 0")
        )
    );
    // extendLock and lock validate the duration before looking the task up (Camunda's order).
    for (path, body) in [
        ("extendLock", json!({"workerId": "w", "newDuration": 0})),
        ("lock", json!({"workerId": "w", "lockDuration": -5})),
    ] {
        let (s, b) = api
            .post(&format!("/external-task/no-such-task/{path}"), body)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {b}");
        assert_eq!(b["type"], "BadUserRequestException", "{path}");
        assert_eq!(b["message"], "lockTime is not greater than 0", "{path}");
    }
    for topics in [J::Null, json!([])] {
        let (s, b) = api
            .post(
                "/external-task/fetchAndLock",
                json!({"workerId": "w", "maxTasks": 1, "sorting": null, "topics": topics}),
            )
            .await;
        assert_eq!((s, b), (StatusCode::OK, json!([])));
    }
    // No tasks: 200 [] immediately without asyncResponseTimeout.
    let (s, b) = api
        .post(
            "/external-task/fetchAndLock",
            json!({"workerId": "w", "maxTasks": 1, "topics": [{"topicName": "nothing", "lockDuration": 1000, "variables": null, "processVariables": {}}]}),
        )
        .await;
    assert_eq!((s, b), (StatusCode::OK, json!([])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_external_task_is_404_rest_exception_and_bodyless_unlock() {
    let api = Api::default().await;
    let (s, ct, b) = api
        .send(
            api.client
                .post(api.url("/external-task/nope/complete"))
                .json(&json!({"workerId": "w"})),
        )
        .await;
    assert_error(s, &ct, &b, StatusCode::NOT_FOUND, "RestException");
    assert_eq!(
        b,
        json!({"type": "RestException", "message": "External task with id nope does not exist", "code": null})
    );
    // The JS client's unlock: no body, no content type.
    let (s, _, b) = api
        .send(api.client.post(api.url("/external-task/nope/unlock")))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    let (s, _, b) = api
        .send(
            api.client
                .post(api.url("/external-task/nope/complete"))
                .json(&json!({})),
        )
        .await;
    assert_eq!(
        (s, b["message"].clone()),
        (StatusCode::INTERNAL_SERVER_ERROR, json!("workerId is null"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_413_with_camunda_json() {
    let api = Api::start(ApiConfig {
        max_body_bytes: 1024,
        max_upload_bytes: 2048,
        auth: false,
        ..ApiConfig::default()
    })
    .await;
    let big = "x".repeat(4096);
    let (s, ct, b) = api
        .send(
            api.client
                .post(api.url("/message"))
                .json(&json!({"messageName": big})),
        )
        .await;
    assert_error(
        s,
        &ct,
        &b,
        StatusCode::PAYLOAD_TOO_LARGE,
        "InvalidRequestException",
    );
    let form = reqwest::multipart::Form::new().part(
        "data",
        reqwest::multipart::Part::bytes(vec![b'a'; 8192]).file_name("big.bpmn"),
    );
    let (s, ct, b) = api
        .send(
            api.client
                .post(api.url("/deployment/create"))
                .multipart(form),
        )
        .await;
    assert_error(
        s,
        &ct,
        &b,
        StatusCode::PAYLOAD_TOO_LARGE,
        "InvalidRequestException",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_multipart_rules() {
    let api = Api::default().await;
    let form = reqwest::multipart::Form::new().text("deployment-name", "x");
    let (s, ct, b) = api
        .send(
            api.client
                .post(api.url("/deployment/create"))
                .multipart(form),
        )
        .await;
    assert_error(
        s,
        &ct,
        &b,
        StatusCode::BAD_REQUEST,
        "InvalidRequestException",
    );
    assert_eq!(
        b["message"],
        "No deployment resources contained in the form upload."
    );
    let form = reqwest::multipart::Form::new().text("data", "<xml/>");
    let (s, _, b) = api
        .send(
            api.client
                .post(api.url("/deployment/create"))
                .multipart(form),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        b["message"],
        "No file name found in the deployment resource described by form parameter 'null'."
    );
    let (s, ct, b) = api
        .send(
            api.client
                .post(api.url("/deployment/create"))
                .json(&json!({})),
        )
        .await;
    assert_error(
        s,
        &ct,
        &b,
        StatusCode::BAD_REQUEST,
        "InvalidRequestException",
    );
    // Invalid BPMN: 400 ParseException with details per resource.
    let form = reqwest::multipart::Form::new().part(
        "data",
        reqwest::multipart::Part::bytes(b"<definitions><broken".to_vec()).file_name("bad.bpmn"),
    );
    let (s, ct, b) = api
        .send(
            api.client
                .post(api.url("/deployment/create"))
                .multipart(form),
        )
        .await;
    assert_error(s, &ct, &b, StatusCode::BAD_REQUEST, "ParseException");
    let errors = &b["details"]["bad.bpmn"]["errors"];
    assert!(errors.as_array().is_some_and(|e| !e.is_empty()), "{b}");
    for key in [
        "message",
        "line",
        "column",
        "mainBpmnElementId",
        "bpmnElementIds",
    ] {
        assert!(errors[0].get(key).is_some(), "{key} missing: {b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_validation_messages() {
    let api = Api::default().await;
    let cases = [
        (
            "/process-definition?sortBy=version",
            "Only a single sorting parameter specified. sortBy and sortOrder required",
        ),
        (
            "/process-definition?sortBy=bogus&sortOrder=asc",
            "sortBy parameter has invalid value: bogus",
        ),
        (
            "/process-definition?sortBy=version&sortOrder=up",
            "sortOrder parameter has invalid value: up",
        ),
        (
            "/process-definition?latestVersion=maybe",
            "Cannot set query parameter 'latestVersion' to value 'maybe'",
        ),
        (
            "/process-instance?variables=a_eq",
            "variable query parameter has to have format KEY_OPERATOR_VALUE.",
        ),
        (
            "/process-instance?maxResults=x",
            "Cannot set query parameter 'maxResults' to value 'x'",
        ),
        (
            "/task?sortBy=name",
            "Only a single sorting parameter specified. sortBy and sortOrder required",
        ),
    ];
    for (path, message) in cases {
        let (s, ct, b) = api.send(api.client.get(api.url(path))).await;
        assert_error(
            s,
            &ct,
            &b,
            StatusCode::BAD_REQUEST,
            "InvalidRequestException",
        );
        assert_eq!(b["message"], json!(message), "{path}");
    }
    let (s, b) = api
        .post(
            "/process-instance",
            json!({"sorting": [{"sortBy": "nope", "sortOrder": "asc"}]}),
        )
        .await;
    assert_eq!(
        (s, b["message"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("sortBy parameter has invalid value: nope")
        )
    );
    let (s, b) = api.get("/process-definition/count").await;
    assert_eq!((s, b), (StatusCode::OK, json!({"count": 0})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variable_type_errors_are_400() {
    let api = Api::default().await;
    let (s, b) = api
        .post("/message", json!({"messageName": "m", "processVariables": {"a": {"value": "x", "type": "STRING"}}}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(
        b["message"]
            .as_str()
            .is_some_and(|m| m.contains("Unsupported value type 'STRING'")),
        "{b}"
    );
    let (s, b) = api.post("/message", json!({})).await;
    assert_eq!(
        (s, b["message"].clone()),
        (StatusCode::BAD_REQUEST, json!("No message name supplied"))
    );
    let (s, b) = api
        .post(
            "/message",
            json!({"messageName": "m", "variablesInResultEnabled": true}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, b) = api.post("/signal", json!({})).await;
    assert_eq!(
        (s, b["message"].clone()),
        (StatusCode::BAD_REQUEST, json!("No signal name given"))
    );
}

/// Every route in the OpenAPI document answers something other than the router's own 404/405.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_exactly_served_routes() {
    let api = Api::default().await;
    let (s, doc) = api.get("/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.0.2");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() > 60, "{}", paths.len());
    for (path, ops) in paths {
        let concrete = path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    "doesNotExist"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in ops.as_object().expect("ops").keys() {
            let url = api.url(&concrete);
            let rb = match method.as_str() {
                "get" => api.client.get(url),
                "post" => api.client.post(url).json(&json!({})),
                "put" => api.client.put(url).json(&json!({})),
                "delete" => api.client.delete(url),
                other => panic!("unexpected method {other}"),
            };
            let (s, ct, b) = api.send(rb).await;
            assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}: {b}");
            let router_404 = s == StatusCode::NOT_FOUND
                && b["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with(NO_ROUTE_PREFIX));
            assert!(!router_404, "{method} {path} is documented but not routed");
            if s.as_u16() >= 400 {
                assert_eq!(
                    ct.as_deref(),
                    Some("application/json"),
                    "{method} {path}: {b}"
                );
                assert!(b["type"].is_string(), "{method} {path}: {b}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_when_enabled() {
    let api = Api::start(ApiConfig {
        auth: true,
        ..ApiConfig::default()
    })
    .await;
    let (s, _) = api.get("/version").await;
    assert_eq!(s, StatusCode::OK);
    let r = api
        .client
        .get(api.url("/process-definition"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Basic realm=\"baton\"")
    );
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    // Bootstrap: the first user can be created without credentials.
    let (s, b) = api
        .post("/user/create", json!({"profile": {"id": "demo", "firstName": "De"}, "credentials": {"password": "secret"}}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    // From now on, credentials are required everywhere else, also for creating users.
    let (s, _) = api
        .post(
            "/user/create",
            json!({"profile": {"id": "evil"}, "credentials": {"password": "x"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = api
        .send(
            api.client
                .get(api.url("/process-definition"))
                .basic_auth("demo", Some("wrong")),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, b) = api
        .send(
            api.client
                .get(api.url("/process-definition"))
                .basic_auth("demo", Some("secret")),
        )
        .await;
    assert_eq!((s, b), (StatusCode::OK, json!([])));
    let (s, _, b) = api
        .send(
            api.client
                .get(api.url("/user"))
                .basic_auth("demo", Some("secret")),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        b,
        json!([{"id": "demo", "firstName": "De", "lastName": null, "email": null}])
    );
}

#[tokio::test]
async fn suspension_shows_in_history_and_holds_the_tasks_back() {
    let api = Api::default().await;
    api.deploy("susp", &baton_tests::bpmn::one_task("susp", "susp-topic"))
        .await;
    let (s, started) = api
        .post("/process-definition/key/susp/start", json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{started}");
    let id = started["id"].as_str().expect("id").to_owned();
    let fetch = json!({"workerId": "w", "maxTasks": 1,
        "topics": [{"topicName": "susp-topic", "lockDuration": 1000}]});

    let (s, b) = api
        .put(
            &format!("/process-instance/{id}/suspended"),
            json!({"suspended": true}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (_, h) = api.get(&format!("/history/process-instance/{id}")).await;
    assert_eq!(h["state"], "SUSPENDED", "{h}");
    let (_, tasks) = api.post("/external-task/fetchAndLock", fetch.clone()).await;
    assert_eq!(tasks, json!([]));

    let (s, _) = api
        .put(
            &format!("/process-instance/{id}/suspended"),
            json!({"suspended": false}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, h) = api.get(&format!("/history/process-instance/{id}")).await;
    assert_eq!(h["state"], "ACTIVE", "{h}");
    let (_, listed) = api
        .get(&format!("/history/process-instance?processInstanceId={id}"))
        .await;
    assert_eq!(listed[0]["state"], "ACTIVE", "{listed}");
    let (_, tasks) = api.post("/external-task/fetchAndLock", fetch).await;
    assert_eq!(tasks.as_array().map(Vec::len), Some(1), "{tasks}");

    let (s, missing) = api.get("/history/process-instance/no-such-instance").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{missing}");
}

/// Telemetry is off and stays off; the data describes baton; a bad flag is a 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_is_off_and_describes_baton() {
    let api = Api::default().await;
    let (s, c) = api.get("/telemetry/configuration").await;
    assert_eq!((s, c), (StatusCode::OK, json!({"enableTelemetry": false})));
    let (s, _) = api
        .post("/telemetry/configuration", json!({"enableTelemetry": true}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, c) = api.get("/telemetry/configuration").await;
    assert_eq!(c["enableTelemetry"], false, "enabling changes nothing");
    let (s, b) = api
        .post(
            "/telemetry/configuration",
            json!({"enableTelemetry": "yes"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["type"], "InvalidRequestException");
    let (s, d) = api.get("/telemetry/data").await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["product"]["name"], "baton");
    assert_eq!(d["product"]["internals"]["database"]["vendor"], "sled");
    assert!(
        d["product"]["internals"]["data-collection-start-date"].is_string(),
        "{d}"
    );
}
