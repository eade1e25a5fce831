//! Removing history by hand and planning its removal, through the real HTTP server: the
//! historic-instance deletion batch, removal times set on historic instances (absolute,
//! cleared, calculated, hierarchical) and on historic batches, the batch history time to
//! live and the cleanable batch report, and Camunda's refusals. Batches run when the test
//! calls `run_batch_jobs`, and time moves only with the manual clock.

use baton::api::date::format;
use baton::clock::ManualClock;
use baton::engine::ProcessEngine;
use baton_tests::T0;
use baton_tests::bpmn::definitions;
use reqwest::{Method, StatusCode};
use serde_json::{Value as J, json};

use crate::api_definition_extras::user_task;

const HOUR: i64 = 60 * 60 * 1000;
const DAY: i64 = 24 * HOUR;

/// The HTTP server over an engine on a manual clock, no background scheduler, with a batch
/// history time to live of `batch_ttl` days.
struct Api {
    engine: ProcessEngine,
    clock: ManualClock,
    base: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
    _server: tokio::task::JoinHandle<()>,
}

impl Api {
    async fn start(batch_ttl: Option<u32>) -> Api {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::new(T0);
        let served = crate::api_ops::serve_manual(dir.path(), &clock, |ec| {
            ec.history_cleanup.batch_time_to_live = batch_ttl;
        })
        .await;
        Api {
            engine: served.engine,
            clock,
            base: served.base,
            client: served.client,
            _dir: dir,
            _server: served.server,
        }
    }

    async fn raw(&self, method: Method, path: &str, body: Option<String>) -> (StatusCode, J) {
        let mut rb = self.client.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            rb = rb.header("content-type", "application/json").body(b);
        }
        let r = rb.send().await.expect("request");
        let status = r.status();
        let text = r.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(J::String(text)),
        )
    }

    async fn get(&self, path: &str) -> J {
        let (s, b) = self.raw(Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "GET {path}: {b}");
        b
    }

    async fn post(&self, path: &str, body: J) -> (StatusCode, J) {
        self.raw(Method::POST, path, Some(body.to_string())).await
    }

    /// POST that must create a batch; its id.
    async fn batch(&self, path: &str, body: J, batch_type: &str) -> String {
        let (s, b) = self.post(path, body).await;
        assert_eq!(s, StatusCode::OK, "{path}: {b}");
        assert_eq!(b["type"], batch_type, "{b}");
        b["id"].as_str().expect("batch id").to_owned()
    }

    async fn run_batches(&self) {
        self.engine.run_batch_jobs().await.expect("batches run");
    }

    async fn cleanup(&self) {
        let (s, b) = self.post("/history/cleanup", json!({})).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }

    async fn deploy(&self, name: &str, xml: &str) {
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
    }

    async fn start_instance(&self, key: &str) -> String {
        let (s, b) = self
            .post(&format!("/process-definition/key/{key}/start"), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["id"].as_str().expect("id").to_owned()
    }

    /// The history of an instance (`None` when it is gone).
    async fn history(&self, id: &str) -> Option<J> {
        let (s, b) = self
            .raw(
                Method::GET,
                &format!("/history/process-instance/{id}"),
                None,
            )
            .await;
        match s {
            StatusCode::OK => Some(b),
            StatusCode::NOT_FOUND => None,
            other => panic!("GET history of {id}: {other} {b}"),
        }
    }

    async fn removal_time(&self, id: &str) -> J {
        self.history(id).await.expect("history")["removalTime"].clone()
    }

    async fn historic_batch(&self, id: &str) -> Option<J> {
        let (s, b) = self
            .raw(Method::GET, &format!("/history/batch/{id}"), None)
            .await;
        match s {
            StatusCode::OK => Some(b),
            StatusCode::NOT_FOUND => None,
            other => panic!("GET historic batch {id}: {other} {b}"),
        }
    }
}

/// start → end, with a history time to live of `ttl` days.
fn straight(key: &str, ttl: Option<u32>) -> String {
    let xml = definitions(
        key,
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    );
    match ttl {
        Some(days) => xml.replace(
            &format!(r#"<bpmn:process id="{key}" isExecutable="true">"#),
            &format!(
                r#"<bpmn:process id="{key}" isExecutable="true" camunda:historyTimeToLive="{days}">"#
            ),
        ),
        None => xml,
    }
}

/// The report row of a batch type (`null` when absent).
fn row(report: &J, batch_type: &str) -> J {
    report
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["batchType"] == batch_type))
        .cloned()
        .unwrap_or(J::Null)
}

fn assert_error(status: StatusCode, body: &J, kind: &str, message: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["type"], kind, "{body}");
    assert_eq!(body["message"], message, "{body}");
}

/// A history deletion batch removes finished instances' history (ids and a query, each
/// once); unknown ids are refused before any batch exists unless `failIfNotExists` is
/// false; a running instance fails its invocation and keeps its history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_deletion_batch_removes_finished_instances() {
    let api = Api::start(None).await;
    api.deploy("done", &straight("done", None)).await;
    api.deploy("wait", &user_task("wait")).await;
    let d1 = api.start_instance("done").await;
    let d2 = api.start_instance("done").await;
    let d3 = api.start_instance("done").await;
    let running = api.start_instance("wait").await;

    let (s, b) = api
        .post(
            "/history/process-instance/delete",
            json!({"historicProcessInstanceIds": [d1, "nope", "gone"]}),
        )
        .await;
    assert_error(
        s,
        &b,
        "InvalidRequestException",
        "No historic process instance found with id: [nope, gone]",
    );
    let (s, b) = api
        .post("/history/process-instance/delete", json!({}))
        .await;
    assert_error(
        s,
        &b,
        "InvalidRequestException",
        "historicProcessInstanceIds is empty",
    );
    assert_eq!(api.get("/history/batch/count").await["count"], 0);

    let batch = api
        .batch(
            "/history/process-instance/delete",
            json!({
                "historicProcessInstanceIds": [d1],
                "historicProcessInstanceQuery": {"processDefinitionKey": "done"},
                "deleteReason": "tidy up"
            }),
            "historic-process-instance-deletion",
        )
        .await;
    assert_eq!(api.get(&format!("/batch/{batch}")).await["totalJobs"], 3);
    api.run_batches().await;
    for id in [&d1, &d2, &d3] {
        assert!(api.history(id).await.is_none(), "{id} still has history");
    }
    let h = api.historic_batch(&batch).await.expect("historic batch");
    assert_eq!(h["endTime"], format(T0), "{h}");

    // Unknown ids are skipped when the caller says so.
    let d4 = api.start_instance("done").await;
    api.batch(
        "/history/process-instance/delete",
        json!({"historicProcessInstanceIds": ["nope", d4], "failIfNotExists": false}),
        "historic-process-instance-deletion",
    )
    .await;
    api.run_batches().await;
    assert!(api.history(&d4).await.is_none());

    // A running instance: decided when the batch runs (as Camunda's job does): the job fails,
    // the history stays.
    let failing = api
        .batch(
            "/history/process-instance/delete",
            json!({"historicProcessInstanceIds": [running]}),
            "historic-process-instance-deletion",
        )
        .await;
    api.run_batches().await;
    let stats = api
        .get(&format!("/batch/statistics?batchId={failing}"))
        .await;
    assert_eq!(stats[0]["failedJobs"], 1, "{stats}");
    assert!(api.history(&running).await.is_some());
}

/// Absolute, cleared and calculated removal times on historic instances: shown by GET,
/// obeyed by the cleanup as the clock moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removal_times_of_instances_drive_the_cleanup() {
    let api = Api::start(None).await;
    api.deploy("ttl1", &straight("ttl1", Some(1))).await;
    let early = api.start_instance("ttl1").await;
    let kept = api.start_instance("ttl1").await;
    let plain = api.start_instance("ttl1").await;
    assert_eq!(api.removal_time(&early).await, format(T0 + DAY));

    let batch = api
        .batch(
            "/history/process-instance/set-removal-time",
            json!({"absoluteRemovalTime": format(T0 + HOUR), "historicProcessInstanceIds": [early]}),
            "process-set-removal-time",
        )
        .await;
    api.batch(
        "/history/process-instance/set-removal-time",
        json!({"clearedRemovalTime": true, "historicProcessInstanceIds": [kept, "unknown"]}),
        "process-set-removal-time",
    )
    .await;
    api.run_batches().await;
    assert!(api.historic_batch(&batch).await.expect("history")["endTime"].is_string());
    assert_eq!(api.removal_time(&early).await, format(T0 + HOUR));
    assert_eq!(api.removal_time(&kept).await, J::Null);
    assert_eq!(api.removal_time(&plain).await, format(T0 + DAY));

    api.clock.advance(2 * HOUR);
    api.cleanup().await;
    assert!(api.history(&early).await.is_none(), "absolute time passed");
    assert!(api.history(&kept).await.is_some());
    assert!(api.history(&plain).await.is_some());

    api.clock.advance(DAY);
    api.cleanup().await;
    assert!(api.history(&plain).await.is_none(), "time to live passed");
    assert!(
        api.history(&kept).await.is_some(),
        "cleared: kept past the TTL"
    );

    // Calculated again (chosen by a query): end time + TTL, long passed.
    api.batch(
        "/history/process-instance/set-removal-time",
        json!({
            "calculatedRemovalTime": true,
            "historicProcessInstanceQuery": {"processDefinitionKey": "ttl1"},
            "updateInChunks": true,
            "updateChunkSize": 500
        }),
        "process-set-removal-time",
    )
    .await;
    api.run_batches().await;
    assert_eq!(api.removal_time(&kept).await, format(T0 + DAY));
    api.cleanup().await;
    assert!(api.history(&kept).await.is_none());
}

/// The one instance `parent` called.
async fn child_of(api: &Api, parent: &str) -> String {
    let children = api
        .get(&format!(
            "/history/process-instance?superProcessInstanceId={parent}"
        ))
        .await;
    assert_eq!(children.as_array().map(Vec::len), Some(1), "{children}");
    children[0]["id"].as_str().expect("child id").to_owned()
}

/// `hierarchical` reaches the called instances of the same root; without it only the
/// named instance changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_removal_times_reach_called_instances() {
    let api = Api::start(None).await;
    api.deploy("child", &straight("child", None)).await;
    let parent = definitions(
        "parent",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call" />
    <bpmn:callActivity id="call" calledElement="child" />
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="work" />
    <bpmn:userTask id="work" />
    <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    );
    api.deploy("parent", &parent).await;
    let p1 = api.start_instance("parent").await;
    let p2 = api.start_instance("parent").await;
    let c1 = child_of(&api, &p1).await;
    let c2 = child_of(&api, &p2).await;

    let at = format(T0 + 3 * DAY);
    api.batch(
        "/history/process-instance/set-removal-time",
        json!({"absoluteRemovalTime": at, "hierarchical": true, "historicProcessInstanceIds": [p1]}),
        "process-set-removal-time",
    )
    .await;
    api.batch(
        "/history/process-instance/set-removal-time",
        json!({"absoluteRemovalTime": at, "historicProcessInstanceIds": [p2]}),
        "process-set-removal-time",
    )
    .await;
    api.run_batches().await;
    assert_eq!(api.removal_time(&p1).await, at.as_str());
    assert_eq!(api.removal_time(&c1).await, at.as_str(), "hierarchical");
    assert_eq!(api.removal_time(&p2).await, at.as_str());
    assert_eq!(api.removal_time(&c2).await, J::Null, "not hierarchical");

    // The running parent keeps its history past the time; its finished child goes.
    api.clock.advance(4 * DAY);
    api.cleanup().await;
    assert!(api.history(&c1).await.is_none());
    assert!(
        api.history(&p1).await.is_some(),
        "running instances are kept"
    );
}

/// Historic batches: calculated removal time from the batch history time to live,
/// absolute and cleared overrides, the cleanable batch report before and after the time
/// passes, and the cleanup removing them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn historic_batches_are_reported_and_cleaned_up() {
    let api = Api::start(Some(2)).await;
    api.deploy("done", &straight("done", None)).await;
    let mut deletions = Vec::new();
    for _ in 0..2 {
        let pi = api.start_instance("done").await;
        deletions.push(
            api.batch(
                "/history/process-instance/delete",
                json!({"historicProcessInstanceIds": [pi]}),
                "historic-process-instance-deletion",
            )
            .await,
        );
    }
    api.run_batches().await;
    let (b1, b2) = (&deletions[0], &deletions[1]);
    let h = api.historic_batch(b1).await.expect("historic batch");
    assert_eq!(h["removalTime"], format(T0 + 2 * DAY), "{h}");
    assert_eq!(
        api.get("/history/batch/cleanable-batch-report").await,
        json!([{
            "batchType": "historic-process-instance-deletion",
            "historyTimeToLive": 2,
            "finishedBatchesCount": 2,
            "cleanableBatchesCount": 0
        }])
    );
    assert_eq!(
        api.get("/history/batch/cleanable-batch-report/count").await["count"],
        1
    );

    let (s, b) = api
        .post(
            "/history/batch/set-removal-time",
            json!({"historicBatchIds": [b1], "clearedRemovalTime": true, "calculatedRemovalTime": true}),
        )
        .await;
    assert_error(
        s,
        &b,
        "BadUserRequestException",
        "The removal time modes are mutually exclusive: mode is not null",
    );
    let setter = api
        .batch(
            "/history/batch/set-removal-time",
            json!({"historicBatchIds": [b1], "absoluteRemovalTime": format(T0 + HOUR)}),
            "batch-set-removal-time",
        )
        .await;
    api.batch(
        "/history/batch/set-removal-time",
        json!({"historicBatchQuery": {"batchId": b2}, "clearedRemovalTime": true}),
        "batch-set-removal-time",
    )
    .await;
    api.run_batches().await;
    assert_eq!(
        api.historic_batch(b1).await.expect("b1")["removalTime"],
        format(T0 + HOUR)
    );
    assert_eq!(
        api.historic_batch(b2).await.expect("b2")["removalTime"],
        J::Null
    );

    api.clock.advance(2 * HOUR);
    let report = api.get("/history/batch/cleanable-batch-report").await;
    assert_eq!(
        row(&report, "historic-process-instance-deletion")["cleanableBatchesCount"],
        1
    );
    assert_eq!(
        row(&report, "batch-set-removal-time")["finishedBatchesCount"],
        2
    );
    assert_eq!(
        row(&report, "batch-set-removal-time")["cleanableBatchesCount"],
        0
    );
    let (s, b) = api
        .raw(
            Method::GET,
            "/history/batch/cleanable-batch-report?sortBy=type&sortOrder=asc",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

    api.cleanup().await;
    assert!(
        api.historic_batch(b1).await.is_none(),
        "absolute time passed"
    );
    assert!(api.historic_batch(b2).await.is_some());
    assert!(api.historic_batch(&setter).await.is_some());
    // One deletion batch left, two setters: sorted by finished count, paged.
    let types = |report: J| -> Vec<String> {
        report
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| r["batchType"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let desc = api
        .get("/history/batch/cleanable-batch-report?sortBy=finished&sortOrder=desc")
        .await;
    assert_eq!(
        types(desc),
        [
            "batch-set-removal-time",
            "historic-process-instance-deletion"
        ]
    );
    let asc = api
        .get("/history/batch/cleanable-batch-report?sortBy=finished&sortOrder=asc&maxResults=1")
        .await;
    assert_eq!(types(asc), ["historic-process-instance-deletion"]);

    api.clock.advance(2 * DAY);
    let report = api.get("/history/batch/cleanable-batch-report").await;
    assert_eq!(
        row(&report, "batch-set-removal-time")["cleanableBatchesCount"],
        2
    );
    assert_eq!(
        row(&report, "historic-process-instance-deletion")["cleanableBatchesCount"],
        0
    );
    api.cleanup().await;
    assert!(api.historic_batch(&setter).await.is_none(), "TTL passed");
    assert!(api.historic_batch(b2).await.is_some(), "cleared: kept");
    assert_eq!(api.get("/history/batch/count").await["count"], 1);
}

/// Camunda's refusals of the set-removal-time bodies, and malformed or mistyped JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_removal_requests_are_refused_as_camunda_does() {
    let api = Api::start(None).await;
    api.deploy("done", &straight("done", Some(1))).await;
    let pi = api.start_instance("done").await;
    let path = "/history/process-instance/set-removal-time";
    for (body, kind, message) in [
        (
            json!({"absoluteRemovalTime": format(T0), "clearedRemovalTime": true, "historicProcessInstanceIds": [pi]}),
            "BadUserRequestException",
            "The removal time modes are mutually exclusive: mode is not null",
        ),
        (
            json!({"historicProcessInstanceIds": [pi]}),
            "BadUserRequestException",
            "removalTime is null",
        ),
        (
            json!({"clearedRemovalTime": true}),
            "BadUserRequestException",
            "Neither query nor ids provided.",
        ),
        (
            json!({"clearedRemovalTime": true, "historicProcessInstanceIds": ["unknown"]}),
            "BadUserRequestException",
            "historicProcessInstances is empty",
        ),
        (
            json!({"clearedRemovalTime": true, "historicProcessInstanceIds": [pi], "updateChunkSize": 501}),
            "BadUserRequestException",
            "The value for chunk size should be between 1 and 500",
        ),
    ] {
        let (s, b) = api.post(path, body.clone()).await;
        assert_error(s, &b, kind, message);
    }
    let (s, b) = api
        .post(
            "/history/batch/set-removal-time",
            json!({"clearedRemovalTime": true, "historicBatchIds": ["none"]}),
        )
        .await;
    assert_error(s, &b, "BadUserRequestException", "historicBatches is empty");

    for (path, body) in [
        (path, "{\"clearedRemovalTime\": tru"),
        (
            path,
            r#"{"clearedRemovalTime": true, "hierarchical": "yes"}"#,
        ),
        (
            path,
            r#"{"absoluteRemovalTime": "tomorrow", "historicProcessInstanceIds": []}"#,
        ),
        (
            "/history/process-instance/delete",
            r#"{"historicProcessInstanceIds": "one"}"#,
        ),
        (
            "/history/batch/set-removal-time",
            r#"{"historicBatchIds": [1]}"#,
        ),
    ] {
        let (s, b) = api.raw(Method::POST, path, Some(body.to_owned())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path} {body}: {b}");
        assert_eq!(b["type"], "InvalidRequestException", "{b}");
    }
    assert_eq!(api.get("/batch/count").await["count"], 0);
    assert_eq!(api.get("/history/batch/count").await["count"], 0);
}

/// Decision history: the cleanable decision instance report follows each decision's time to
/// live, removal times set by hand (cleared with the evaluation's other decisions, absolute
/// by a query) decide what the cleanup removes, and a deletion batch removes the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decision_history_is_reported_timed_and_deleted() {
    let api = Api::start(None).await;
    let form = reqwest::multipart::Form::new()
        .text("deployment-name", "dinner")
        .part(
            "data",
            reqwest::multipart::Part::bytes(
                include_str!("../fixtures/dmn/dinner.dmn")
                    .as_bytes()
                    .to_vec(),
            )
            .file_name("dinner.dmn"),
        );
    let r = api
        .client
        .post(format!("{}/deployment/create", api.base))
        .multipart(form)
        .send()
        .await
        .expect("deploy");
    assert_eq!(r.status(), StatusCode::OK);
    let (s, b) = api
        .raw(
            Method::PUT,
            "/decision-definition/key/dish/history-time-to-live",
            Some(json!({"historyTimeToLive": 1}).to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let variables = json!({"variables": {"month": {"value": 1, "type": "Integer"},
                                          "guestCount": {"value": 10, "type": "Integer"}}});
    for _ in 0..2 {
        let (s, b) = api
            .post("/decision-definition/key/dish/evaluate", variables.clone())
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    assert_eq!(
        decision_report(&api).await,
        [
            ("dish".to_owned(), json!(1), 2, 0),
            ("season".to_owned(), J::Null, 2, 0)
        ]
    );
    assert_eq!(
        api.get(
            "/history/decision-definition/cleanable-decision-instance-report/count?compact=true"
        )
        .await["count"],
        2
    );
    api.clock.advance(2 * DAY);
    assert_eq!(
        decision_report(&api).await[0],
        ("dish".to_owned(), json!(1), 2, 2)
    );

    // Keep one evaluation: cleared on its dish instance and, hierarchical, its season one.
    let dishes = api
        .get("/history/decision-instance?decisionDefinitionKey=dish&sortBy=evaluationTime&sortOrder=asc")
        .await;
    let kept = dishes[0]["id"].as_str().expect("id").to_owned();
    api.batch(
        "/history/decision-instance/set-removal-time",
        json!({"clearedRemovalTime": true, "hierarchical": true,
               "historicDecisionInstanceIds": [kept]}),
        "decision-set-removal-time",
    )
    .await;
    api.run_batches().await;
    let one = api.get(&format!("/history/decision-instance/{kept}")).await;
    assert!(one["removalTime"].is_null(), "{one}");
    assert_eq!(
        decision_report(&api).await[0],
        ("dish".to_owned(), json!(1), 2, 1)
    );
    // Every season instance is due now, by a query.
    let due = format(T0 + DAY);
    api.batch(
        "/history/decision-instance/set-removal-time",
        json!({"absoluteRemovalTime": due,
               "historicDecisionInstanceQuery": {"decisionDefinitionKey": "season"}}),
        "decision-set-removal-time",
    )
    .await;
    api.run_batches().await;
    assert_eq!(
        decision_report(&api).await[1],
        ("season".to_owned(), J::Null, 2, 2)
    );

    api.cleanup().await;
    let left = api.get("/history/decision-instance").await;
    let left: Vec<&str> = left
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(left, [kept.as_str()]);

    api.batch(
        "/history/decision-instance/delete",
        json!({"historicDecisionInstanceIds": [kept, "no-such-instance"]}),
        "historic-decision-instance-deletion",
    )
    .await;
    api.run_batches().await;
    assert_eq!(
        api.get("/history/decision-instance/count").await["count"],
        0
    );

    let (s, e) = api
        .post("/history/decision-instance/delete", json!({}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["message"], "historicDecisionInstanceIds is empty");
    let (s, e) = api
        .post(
            "/history/decision-instance/set-removal-time",
            json!({"clearedRemovalTime": true, "calculatedRemovalTime": true,
                   "historicDecisionInstanceIds": ["x"]}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("mutually exclusive")),
        "{e}"
    );
}

/// The compact cleanable decision instance report as (key, time to live, finished,
/// cleanable), by key.
async fn decision_report(api: &Api) -> Vec<(String, J, u64, u64)> {
    let rows = api
        .get("/history/decision-definition/cleanable-decision-instance-report?compact=true&sortBy=finished&sortOrder=asc")
        .await;
    let mut out: Vec<(String, J, u64, u64)> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["decisionDefinitionKey"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                r["historyTimeToLive"].clone(),
                r["finishedDecisionInstanceCount"].as_u64().unwrap_or(99),
                r["cleanableDecisionInstanceCount"].as_u64().unwrap_or(99),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
