//! `/process-definition` statistics, diagram, history time to live, statically called
//! definitions, and `/deployment/registered` and `redeploy`, through the real HTTP server on
//! an engine with a manual clock (jobs run only when a test asks). The harness
//! ([`ExtrasApi`]) is shared with the start form, metrics and history-operations tests.

use baton::clock::ManualClock;
use baton::engine::ProcessEngine;
use baton_tests::T0;
use baton_tests::bpmn::definitions;
use reqwest::StatusCode;
use serde_json::{Value as J, json};

/// The HTTP server over an engine on a manual clock without the background scheduler.
pub(crate) struct ExtrasApi {
    pub(crate) engine: ProcessEngine,
    pub(crate) clock: ManualClock,
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    pub(crate) dir: tempfile::TempDir,
    _server: tokio::task::JoinHandle<()>,
}

impl ExtrasApi {
    pub(crate) async fn start() -> ExtrasApi {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::new(T0);
        ExtrasApi::open(dir, clock).await
    }

    /// An engine and server on an existing data directory (a restart).
    pub(crate) async fn open(dir: tempfile::TempDir, clock: ManualClock) -> ExtrasApi {
        let served = crate::api_ops::serve_manual(dir.path(), &clock, |_| {}).await;
        ExtrasApi {
            engine: served.engine,
            clock,
            base: served.base,
            client: served.client,
            dir,
            _server: served.server,
        }
    }

    /// Stop the engine cleanly and open it again on the same data.
    pub(crate) async fn restart(self) -> ExtrasApi {
        self._server.abort();
        // The aborted server task holds an engine clone until it is dropped.
        let _ = self._server.await;
        self.engine.shutdown().await.expect("shutdown");
        drop(self.engine);
        ExtrasApi::open(self.dir, self.clock).await
    }

    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<J>,
    ) -> (StatusCode, J) {
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

    /// A GET answered 200, its JSON.
    pub(crate) async fn get(&self, path: &str) -> J {
        let (s, b) = self.send(reqwest::Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "GET {path}: {b}");
        b
    }

    /// A GET's status, content type and raw bytes.
    pub(crate) async fn get_raw(&self, path: &str) -> (StatusCode, String, Vec<u8>) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        let status = r.status();
        let ct = r
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, ct, r.bytes().await.expect("bytes").to_vec())
    }

    pub(crate) async fn post(&self, path: &str, body: J) -> (StatusCode, J) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub(crate) async fn put(&self, path: &str, body: J) -> (StatusCode, J) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    pub(crate) async fn delete(&self, path: &str) -> (StatusCode, J) {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// Deploy files (name, bytes) as one deployment; the answer.
    pub(crate) async fn deploy_files(&self, name: &str, files: &[(&str, Vec<u8>)]) -> J {
        let mut form = reqwest::multipart::Form::new().text("deployment-name", name.to_owned());
        for (file, bytes) in files {
            form = form.part(
                file.to_string(),
                reqwest::multipart::Part::bytes(bytes.clone()).file_name(file.to_string()),
            );
        }
        let r = self
            .client
            .post(format!("{}/deployment/create", self.base))
            .multipart(form)
            .send()
            .await
            .expect("deploy");
        assert_eq!(r.status(), StatusCode::OK, "deploy {name}");
        r.json().await.expect("deployment json")
    }

    /// Deploy one BPMN file named `<name>.bpmn`; the deployment.
    pub(crate) async fn deploy(&self, name: &str, xml: &str) -> J {
        self.deploy_files(name, &[(&format!("{name}.bpmn"), xml.as_bytes().to_vec())])
            .await
    }

    pub(crate) async fn start_instance(&self, key: &str) -> String {
        let (s, b) = self
            .post(&format!("/process-definition/key/{key}/start"), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["id"].as_str().expect("id").to_owned()
    }

    pub(crate) async fn definition_id(&self, key: &str) -> String {
        let d = self.get(&format!("/process-definition/key/{key}")).await;
        d["id"].as_str().expect("definition id").to_owned()
    }
}

/// An async gateway whose conditions need a variable nobody set: its job fails.
pub(crate) fn failing_job(key: &str) -> String {
    definitions(
        key,
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" camunda:asyncBefore="true" />
    <bpmn:sequenceFlow id="f2" sourceRef="gw" targetRef="end">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${missing &gt; 1}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="end2">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${missing &lt;= 1}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="end" />
    <bpmn:endEvent id="end2" />"#,
    )
}

/// start → user task `work` → end.
pub(crate) fn user_task(key: &str) -> String {
    definitions(
        key,
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:userTask id="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_and_definition_statistics_count_instances_failed_jobs_and_incidents() {
    let api = ExtrasApi::start().await;
    api.deploy("failjob", &failing_job("failjob")).await;
    api.deploy("review", &user_task("review")).await;
    let a = api.start_instance("failjob").await;
    api.start_instance("failjob").await;
    api.start_instance("review").await;
    let def = api.definition_id("failjob").await;

    // Out of retries: the job of the first instance has failed (and raised an incident).
    let jobs = api.get(&format!("/job?processInstanceId={a}")).await;
    let job = jobs[0]["id"].as_str().expect("job id");
    let (s, b) = api
        .put(&format!("/job/{job}/retries"), json!({"retries": 0}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");

    // Only instances unless asked for more.
    let plain = api
        .get(&format!("/process-definition/{def}/statistics"))
        .await;
    assert_eq!(
        plain,
        json!([{"@class": "org.camunda.bpm.engine.rest.dto.repository.ActivityStatisticsResultDto",
                "id": "gw", "instances": 2, "failedJobs": 0, "incidents": []}])
    );
    let full = api
        .get(&format!(
            "/process-definition/{def}/statistics?failedJobs=true&incidents=true"
        ))
        .await;
    assert_eq!(full[0]["failedJobs"], 1, "{full}");
    assert_eq!(
        full[0]["incidents"],
        json!([{"incidentType": "failedJob", "incidentCount": 1}])
    );
    let other_type = api
        .get(&format!(
            "/process-definition/{def}/statistics?incidentsForType=failedExternalTask"
        ))
        .await;
    assert_eq!(other_type[0]["incidents"], json!([]));
    let by_key = api
        .get("/process-definition/key/failjob/statistics?failedJobs=true&incidents=true")
        .await;
    assert_eq!(by_key, full);

    // Camunda's answers to contradicting parameters and unknown keys.
    let (s, b) = api
        .send(
            reqwest::Method::GET,
            &format!(
                "/process-definition/{def}/statistics?incidents=true&incidentsForType=failedJob"
            ),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        b["message"],
        "Only one of the query parameter includeIncidents or includeIncidentsForType can be set."
    );
    let (s, _) = api
        .send(
            reqwest::Method::GET,
            "/process-definition/key/nope/statistics",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        api.get("/process-definition/unknown-id/statistics").await,
        json!([]),
        "Camunda answers an unknown id with an empty list"
    );

    // Per definition: every definition, with its counts.
    let all = api
        .get("/process-definition/statistics?failedJobs=true&rootIncidents=true")
        .await;
    let rows = all.as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{all}");
    let fj = rows
        .iter()
        .find(|r| r["id"] == def.as_str())
        .expect("failjob");
    assert_eq!(
        (
            &fj["instances"],
            &fj["failedJobs"],
            &fj["definition"]["key"]
        ),
        (&json!(2), &json!(1), &json!("failjob"))
    );
    assert_eq!(
        fj["incidents"],
        json!([{"incidentType": "failedJob", "incidentCount": 1}])
    );
    let review = rows
        .iter()
        .find(|r| r["id"] != def.as_str())
        .expect("review");
    assert_eq!(
        (&review["instances"], &review["failedJobs"]),
        (&json!(1), &json!(0))
    );
    let (s, b) = api
        .send(
            reqwest::Method::GET,
            "/process-definition/statistics?incidents=true&rootIncidents=true",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        b["message"],
        "Only one of the query parameter includeIncidents or includeRootIncidents can be set."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_diagram_deployed_next_to_a_process_is_served_and_204_without_one() {
    let api = ExtrasApi::start().await;
    let png = vec![0x89, b'P', b'N', b'G', 1, 2, 3, 0, 4];
    api.deploy_files(
        "pic",
        &[
            ("pic.bpmn", user_task("pic").into_bytes()),
            ("pic.png", png.clone()),
        ],
    )
    .await;
    api.deploy("plain", &user_task("plain")).await;
    let def = api.definition_id("pic").await;

    let (s, ct, bytes) = api
        .get_raw(&format!("/process-definition/{def}/diagram"))
        .await;
    assert_eq!(
        (s, ct.as_str(), bytes),
        (StatusCode::OK, "image/png", png.clone())
    );
    let (s, _, bytes) = api.get_raw("/process-definition/key/pic/diagram").await;
    assert_eq!((s, bytes), (StatusCode::OK, png));
    let (s, _, bytes) = api.get_raw("/process-definition/key/plain/diagram").await;
    assert_eq!((s, bytes.len()), (StatusCode::NO_CONTENT, 0));
    let (s, _, _) = api.get_raw("/process-definition/nope/diagram").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_time_to_live_comes_from_the_model_and_can_be_changed() {
    let api = ExtrasApi::start().await;
    let xml = user_task("ttl").replace(
        r#"<bpmn:process id="ttl" isExecutable="true">"#,
        r#"<bpmn:process id="ttl" isExecutable="true" camunda:historyTimeToLive="30">"#,
    );
    api.deploy("ttl", &xml).await;
    let def = api.definition_id("ttl").await;
    assert_eq!(
        api.get(&format!("/process-definition/{def}")).await["historyTimeToLive"],
        30
    );

    let (s, b) = api
        .put(
            &format!("/process-definition/{def}/history-time-to-live"),
            json!({"historyTimeToLive": 5}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(
        api.get(&format!("/process-definition/{def}")).await["historyTimeToLive"],
        5
    );
    let (s, _) = api
        .put(
            "/process-definition/key/ttl/history-time-to-live",
            json!({"historyTimeToLive": null}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get("/process-definition/key/ttl").await["historyTimeToLive"],
        J::Null
    );
    let (s, b) = api
        .put(
            &format!("/process-definition/{def}/history-time-to-live"),
            json!({"historyTimeToLive": -1}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["type"], "BadUserRequestException");
    let (s, _) = api
        .put(
            "/process-definition/key/ttl/tenant-id/t1/history-time-to-live",
            json!({"historyTimeToLive": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no definition of tenant t1");
    let ops = api.get("/history/user-operation").await;
    assert!(
        ops.as_array()
            .expect("ops")
            .iter()
            .any(|o| o["operationType"] == "UpdateHistoryTimeToLive"),
        "{ops}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_called_definitions_name_the_constant_call_activities() {
    let api = ExtrasApi::start().await;
    api.deploy("child", &user_task("child")).await;
    let parent = definitions(
        "parent",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="callA" />
    <bpmn:callActivity id="callA" calledElement="child" />
    <bpmn:sequenceFlow id="f2" sourceRef="callA" targetRef="callB" />
    <bpmn:callActivity id="callB" calledElement="child" />
    <bpmn:sequenceFlow id="f3" sourceRef="callB" targetRef="dyn" />
    <bpmn:callActivity id="dyn" calledElement="${which}" />
    <bpmn:sequenceFlow id="f4" sourceRef="dyn" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    );
    api.deploy("parent", &parent).await;
    let parent_id = api.definition_id("parent").await;
    let child_id = api.definition_id("child").await;
    let called = api
        .get(&format!(
            "/process-definition/{parent_id}/static-called-process-definitions"
        ))
        .await;
    assert_eq!(called.as_array().map(Vec::len), Some(1), "{called}");
    assert_eq!(called[0]["id"], child_id.as_str());
    assert_eq!(
        called[0]["calledFromActivityIds"],
        json!(["callA", "callB"])
    );
    assert_eq!(called[0]["callingProcessDefinitionId"], parent_id.as_str());
    assert_eq!(
        api.get(&format!(
            "/process-definition/{child_id}/static-called-process-definitions"
        ))
        .await,
        json!([])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_is_registered_and_redeployed_as_new_versions() {
    let api = ExtrasApi::start().await;
    let first = api.deploy("again", &user_task("again")).await;
    let id = first["id"].as_str().expect("deployment id");
    assert_eq!(api.get("/deployment/registered").await, json!([id]));

    let (s, b) = api
        .post(
            &format!("/deployment/{id}/redeploy"),
            json!({"source": "ops"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_ne!(b["id"], id);
    assert_eq!(b["name"], "again");
    assert_eq!(b["source"], "ops");
    let defs = b["deployedProcessDefinitions"]
        .as_object()
        .expect("definitions");
    assert_eq!(defs.values().next().expect("one")["version"], 2);
    assert_eq!(
        api.get("/deployment/registered")
            .await
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    let (s, b) = api
        .post(
            &format!("/deployment/{id}/redeploy"),
            json!({"resourceNames": ["missing.bpmn"]}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    let (s, b) = api.post("/deployment/nope/redeploy", json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(b["message"], "Deployment with id 'nope' does not exist");
}
