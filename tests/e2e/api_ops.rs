//! Operations through the real HTTP server: process instance modification (tokens started
//! before/after activities and inside subprocesses, cancelled by activity or instance, the
//! instance's end, Camunda's error answers). [`OpsApi`] is the harness the batch and
//! migration tests share: an engine on a manual clock, no background scheduler.

use std::sync::Arc;
use std::time::Duration;

use baton::api::{ApiConfig, ApiState};
use baton::clock::ManualClock;
use baton::engine::{EngineConfig, ProcessEngine};
use baton_tests::T0;
use baton_tests::bpmn::definitions;
use reqwest::{Method, StatusCode};
use serde_json::{Value as J, json};

use crate::api_rest::serve_on_loopback;

/// An engine on `dir` with `clock`, no background scheduler and no wasm runtime (as
/// `adjust` leaves them), behind the real HTTP application on 127.0.0.1: what the
/// manual-clock harnesses of the e2e tests share.
pub(crate) struct Served {
    pub engine: ProcessEngine,
    pub base: String,
    pub client: reqwest::Client,
    pub server: tokio::task::JoinHandle<()>,
}

pub(crate) async fn serve_manual(
    dir: &std::path::Path,
    clock: &ManualClock,
    adjust: impl FnOnce(&mut EngineConfig),
) -> Served {
    let mut ec = EngineConfig::new(dir);
    ec.clock = Arc::new(clock.clone());
    ec.background_scheduler = false;
    ec.wasm = None;
    adjust(&mut ec);
    // A restarted engine waits for the previous one to release sled's file lock.
    let engine = baton_tests::open_retrying(ec).await;
    let app = baton::api::router(ApiState {
        engine: engine.clone(),
        config: ApiConfig::default(),
    });
    let (addr, server) = serve_on_loopback(app).await;
    Served {
        engine,
        base: format!("http://{addr}/engine-rest"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client"),
        server,
    }
}

/// The HTTP server over an engine on a manual clock without the background scheduler.
pub(crate) struct OpsApi {
    pub engine: ProcessEngine,
    pub clock: ManualClock,
    base: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
    _server: tokio::task::JoinHandle<()>,
}

impl OpsApi {
    pub async fn start() -> OpsApi {
        OpsApi::open(tempfile::tempdir().expect("tempdir"), ManualClock::new(T0)).await
    }

    /// Stop the server and the engine, then open both again on the same data (a restart).
    pub async fn restart(self) -> OpsApi {
        self._server.abort();
        // The aborted server task holds an engine clone until it is dropped.
        let _ = self._server.await;
        self.engine.shutdown().await.expect("shutdown");
        drop(self.engine);
        OpsApi::open(self._dir, self.clock).await
    }

    async fn open(dir: tempfile::TempDir, clock: ManualClock) -> OpsApi {
        let served = serve_manual(dir.path(), &clock, |_| {}).await;
        OpsApi {
            engine: served.engine,
            clock,
            base: served.base,
            client: served.client,
            _dir: dir,
            _server: served.server,
        }
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<J>) -> (StatusCode, J) {
        let mut rb = self.client.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("request");
        let status = r.status();
        let text = r.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(J::String(text)),
        )
    }

    /// `http://127.0.0.1:port/engine-rest`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub async fn get(&self, path: &str) -> J {
        let (s, b) = self.send(Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "GET {path}: {b}");
        b
    }

    pub async fn post(&self, path: &str, body: J) -> (StatusCode, J) {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn deploy(&self, name: &str, xml: &str) -> String {
        let form = reqwest::multipart::Form::new()
            .text("deployment-name", name.to_owned())
            .part(
                "data",
                reqwest::multipart::Part::bytes(xml.as_bytes().to_vec())
                    .file_name(format!("{name}.bpmn")),
            );
        let r = self
            .client
            .post(format!("{}/deployment/create", self.base))
            .multipart(form)
            .send()
            .await
            .expect("deploy");
        assert_eq!(r.status(), StatusCode::OK, "deploy {name}");
        let body: J = r.json().await.expect("deployment json");
        let defs = body["deployedProcessDefinitions"]
            .as_object()
            .expect("definitions");
        defs.keys().next().expect("one definition").clone()
    }

    pub async fn start_instance(&self, key: &str) -> String {
        let (s, b) = self
            .post(&format!("/process-definition/key/{key}/start"), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["id"].as_str().expect("id").to_owned()
    }

    /// `POST /process-instance/{id}/modification`.
    pub async fn modify(&self, instance: &str, body: J) -> (StatusCode, J) {
        self.post(&format!("/process-instance/{instance}/modification"), body)
            .await
    }

    /// The activity ids of the user tasks of an instance, sorted.
    pub async fn task_keys(&self, instance: &str) -> Vec<String> {
        let tasks = self
            .get(&format!("/task?processInstanceId={instance}"))
            .await;
        let mut keys: Vec<String> = tasks
            .as_array()
            .expect("tasks")
            .iter()
            .map(|t| {
                t["taskDefinitionKey"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        keys.sort();
        keys
    }

    /// The history state of an instance.
    pub async fn state(&self, instance: &str) -> String {
        let h = self
            .get(&format!("/history/process-instance/{instance}"))
            .await;
        h["state"].as_str().unwrap_or_default().to_owned()
    }
}

/// start → A (user) → B (external `b`) → sub [C (user)] with a boundary timer → end.
pub(crate) fn modifiable(key: &str) -> String {
    definitions(
        key,
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="A" />
    <bpmn:userTask id="A" />
    <bpmn:sequenceFlow id="f2" sourceRef="A" targetRef="B" />
    <bpmn:serviceTask id="B" camunda:type="external" camunda:topic="b" />
    <bpmn:sequenceFlow id="f3" sourceRef="B" targetRef="sub" />
    <bpmn:subProcess id="sub">
      <bpmn:startEvent id="subStart" />
      <bpmn:sequenceFlow id="s1" sourceRef="subStart" targetRef="C" />
      <bpmn:userTask id="C" />
      <bpmn:sequenceFlow id="s2" sourceRef="C" targetRef="subEnd" />
      <bpmn:endEvent id="subEnd" />
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f4" sourceRef="sub" targetRef="end" />
    <bpmn:endEvent id="end" />
    <bpmn:boundaryEvent id="subTimer" attachedToRef="sub">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f5" sourceRef="subTimer" targetRef="late" />
    <bpmn:endEvent id="late" />"#,
    )
}

/// Move a token from A to B: A's task goes (history: canceled), B's external task can be
/// fetched with the variable set by the instruction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_moves_from_a_user_task_to_an_external_task() {
    let api = OpsApi::start().await;
    api.deploy("mod1", &modifiable("mod1")).await;
    let pi = api.start_instance("mod1").await;
    assert_eq!(api.task_keys(&pi).await, ["A"]);

    let (s, b) = api
        .modify(
            &pi,
            json!({
                "skipCustomListeners": false,
                "annotation": "moved by a test",
                "instructions": [
                    {"type": "startBeforeActivity", "activityId": "B",
                     "variables": {"x": {"value": 7, "type": "Integer", "local": false}}},
                    {"type": "cancel", "activityId": "A"}
                ]
            }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert!(api.task_keys(&pi).await.is_empty());
    let (s, locked) = api
        .post(
            "/external-task/fetchAndLock",
            json!({"workerId": "w", "maxTasks": 5,
                   "topics": [{"topicName": "b", "lockDuration": 60000}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{locked}");
    assert_eq!(locked.as_array().map(Vec::len), Some(1), "{locked}");
    assert_eq!(locked[0]["processInstanceId"], pi.as_str());
    assert_eq!(locked[0]["variables"]["x"]["value"], 7);
    let a = api
        .get(&format!(
            "/history/activity-instance?processInstanceId={pi}&activityId=A"
        ))
        .await;
    assert_eq!(a[0]["canceled"], true, "{a}");
    assert!(a[0]["endTime"].is_string(), "{a}");
    let tree = api
        .get(&format!("/process-instance/{pi}/activity-instances"))
        .await;
    let children = tree["childActivityInstances"].as_array().expect("children");
    assert_eq!(children.len(), 1, "{tree}");
    assert_eq!(children[0]["activityId"], "B");
}

/// Starting C creates its subprocess with the boundary timer job; cancelling C's activity
/// instance takes the subprocess and its timer; cancelling the last token ends the instance
/// as EXTERNALLY_TERMINATED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_started_in_a_subprocess_brings_its_scope_and_cancelling_all_ends_the_instance() {
    let api = OpsApi::start().await;
    api.deploy("mod2", &modifiable("mod2")).await;
    let pi = api.start_instance("mod2").await;

    let (s, b) = api
        .modify(
            &pi,
            json!({"instructions": [{"type": "startBeforeActivity", "activityId": "C"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(api.task_keys(&pi).await, ["A", "C"]);
    let jobs = api.get(&format!("/job?processInstanceId={pi}")).await;
    assert_eq!(
        jobs.as_array().map(Vec::len),
        Some(1),
        "the boundary timer: {jobs}"
    );
    let tree = api
        .get(&format!("/process-instance/{pi}/activity-instances"))
        .await;
    let sub = tree["childActivityInstances"]
        .as_array()
        .expect("children")
        .iter()
        .find(|c| c["activityId"] == "sub")
        .cloned()
        .expect("the subprocess instance");
    let c_instance = sub["childActivityInstances"][0]["id"]
        .as_str()
        .expect("C's instance")
        .to_owned();

    let (s, b) = api
        .modify(
            &pi,
            json!({"instructions": [{"type": "cancel", "activityInstanceId": c_instance}]}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(api.task_keys(&pi).await, ["A"]);
    let jobs = api.get(&format!("/job?processInstanceId={pi}")).await;
    assert_eq!(jobs, json!([]), "the subprocess and its timer are gone");
    let sub_history = api
        .get(&format!(
            "/history/activity-instance?processInstanceId={pi}&activityId=sub"
        ))
        .await;
    assert_eq!(sub_history[0]["canceled"], true, "{sub_history}");

    let (s, b) = api
        .modify(
            &pi,
            json!({"instructions": [{"type": "cancel", "activityId": "A"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(api.state(&pi).await, "EXTERNALLY_TERMINATED");
    let (s, _) = api
        .send(Method::GET, &format!("/process-instance/{pi}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// Camunda's answers: the REST layer's 400s, NotValidException 400s from the engine, the
/// ProcessEngineException 500s, and nothing at all for an empty instruction list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_modifications_get_camundas_answers() {
    let api = OpsApi::start().await;
    let definition = api.deploy("mod3", &modifiable("mod3")).await;
    let pi = api.start_instance("mod3").await;
    let cases = [
        (
            json!({"instructions": [{"type": "cancel"}]}),
            400,
            "InvalidRequestException",
            "For instruction type 'cancel': exactly one, 'activityId', 'activityInstanceId', or 'transitionInstanceId', is required".to_owned(),
        ),
        (
            json!({"instructions": [{"type": "startBeforeActivity"}]}),
            400,
            "InvalidRequestException",
            "For instruction type 'startBeforeActivity': 'activityId' must be set".to_owned(),
        ),
        (
            json!({"instructions": [{"type": "startTransition", "activityId": "A"}]}),
            400,
            "InvalidRequestException",
            "For instruction type 'startTransition': 'transitionId' must be set".to_owned(),
        ),
        (
            json!({"instructions": [{"type": "startBeforeActivity", "activityId": "nope"}]}),
            400,
            "NotValidException",
            format!("Cannot perform instruction: Start before activity 'nope'; Element 'nope' does not exist in process '{definition}'"),
        ),
        (
            json!({"instructions": [{"type": "cancel", "activityInstanceId": "x"}]}),
            400,
            "NotValidException",
            "Cannot perform instruction: Cancel activity instance 'x'; Activity instance 'x' does not exist".to_owned(),
        ),
        (
            json!({"instructions": [{"type": "startAfterActivity", "activityId": "end"}]}),
            500,
            "ProcessEngineException",
            "Cannot start after activity end; activity has no outgoing sequence flow to take".to_owned(),
        ),
    ];
    for (body, status, kind, message) in cases {
        let (s, b) = api.modify(&pi, body.clone()).await;
        assert_eq!(s.as_u16(), status, "{body}: {b}");
        assert_eq!(b["type"], kind, "{body}: {b}");
        assert_eq!(b["message"], message.as_str(), "{body}");
    }
    let (s, b) = api
        .modify(
            "unknown",
            json!({"instructions": [{"type": "cancel", "activityId": "A"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        b["message"],
        "ENGINE-13036 Process instance 'unknown' cannot be modified. The process instance does not exist"
    );
    let (s, _) = api.modify(&pi, json!({"instructions": []})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // Nothing of the refused modifications happened.
    assert_eq!(api.task_keys(&pi).await, ["A"]);
}
