//! `/job` and `/job-definition` through the real HTTP server: what a failing job reports
//! (retries, exceptionMessage, failedActivityId, a `failedJob` incident), retries that resolve
//! it, running a job now, moving a timer, suspension (of a job, by process definition, by a
//! job definition, with its instance), priorities, deletion, the filters and Camunda's error
//! answers. Time is the injected clock; jobs run in `tick` or `POST /job/{id}/execute`.

use std::sync::Arc;
use std::time::Duration;

use baton::api::date::format;
use baton::api::{ApiConfig, ApiState};
use baton::clock::ManualClock;
use baton::engine::{EngineConfig, ProcessEngine};
use baton_tests::T0;
use baton_tests::bpmn::definitions;
use reqwest::StatusCode;
use serde_json::{Value as J, json};

use crate::api_rest::serve_on_loopback;

const MINUTE: i64 = 60_000;

/// The HTTP server over an engine on a manual clock without the background scheduler: jobs
/// run only when a test calls [`JobApi::tick`] (or asks over HTTP).
struct JobApi {
    engine: ProcessEngine,
    clock: ManualClock,
    base: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
    _server: tokio::task::JoinHandle<()>,
}

impl JobApi {
    async fn start() -> JobApi {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::new(T0);
        let mut ec = EngineConfig::new(dir.path());
        ec.clock = Arc::new(clock.clone());
        ec.background_scheduler = false;
        ec.wasm = None;
        let engine = ProcessEngine::open(ec).await.expect("engine");
        let app = baton::api::router(ApiState {
            engine: engine.clone(),
            config: ApiConfig::default(),
        });
        let (addr, server) = serve_on_loopback(app).await;
        JobApi {
            engine,
            clock,
            base: format!("http://{addr}/engine-rest"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
            _dir: dir,
            _server: server,
        }
    }

    async fn tick(&self) -> usize {
        self.engine.tick().await.expect("tick")
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<J>) -> (StatusCode, J) {
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

    async fn get(&self, path: &str) -> J {
        let (s, b) = self.send(reqwest::Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "GET {path}: {b}");
        b
    }

    async fn put(&self, path: &str, body: J) -> (StatusCode, J) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    async fn post(&self, path: &str, body: J) -> (StatusCode, J) {
        self.send(reqwest::Method::POST, path, Some(body)).await
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

    /// The one job of an instance.
    async fn job_of(&self, instance: &str) -> J {
        let jobs = self
            .get(&format!("/job?processInstanceId={instance}"))
            .await;
        assert_eq!(jobs.as_array().map(Vec::len), Some(1), "{jobs}");
        jobs[0].clone()
    }

    async fn state(&self, instance: &str) -> String {
        let h = self
            .get(&format!("/history/process-instance/{instance}"))
            .await;
        h["state"].as_str().unwrap_or_default().to_owned()
    }
}

/// An async gateway whose conditions need a variable nobody set: its job fails.
fn failing_job() -> String {
    definitions(
        "failjob",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" camunda:asyncBefore="true">
      <bpmn:extensionElements>
        <camunda:failedJobRetryTimeCycle>R2/PT5M</camunda:failedJobRetryTimeCycle>
      </bpmn:extensionElements>
    </bpmn:exclusiveGateway>
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

fn timer_catch() -> String {
    definitions(
        "wait",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="timer" />
    <bpmn:intermediateCatchEvent id="timer">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT10M</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="timer" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_job_reports_retries_exception_and_a_failed_job_incident_until_retried() {
    let api = JobApi::start().await;
    api.deploy("failjob", &failing_job()).await;
    let pi = api.start_instance("failjob").await;

    let job = api.job_of(&pi).await;
    let id = job["id"].as_str().expect("job id").to_owned();
    assert_eq!(job["retries"], 2, "R2 cycle: {job}");
    assert_eq!(job["exceptionMessage"], J::Null);
    assert_eq!(job["failedActivityId"], J::Null);
    assert_eq!(
        job["dueDate"],
        J::Null,
        "an async continuation has no due date: {job}"
    );
    assert_eq!(job["processDefinitionKey"], "failjob");
    assert!(job["executionId"].is_string(), "{job}");
    assert_eq!(job["suspended"], false);
    assert_eq!(job["createTime"], format(T0));
    let jd = job["jobDefinitionId"].as_str().expect("jobDefinitionId");
    let definition = api.get(&format!("/job-definition/{jd}")).await;
    assert_eq!(
        (
            &definition["activityId"],
            &definition["jobType"],
            &definition["jobConfiguration"]
        ),
        (
            &json!("gw"),
            &json!("async-continuation"),
            &json!("async-before")
        )
    );

    // Run it now: it fails, Camunda answers the failure, and the job shows it.
    let (s, b) = api.post(&format!("/job/{id}/execute"), json!({})).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{b}");
    assert_eq!(b["type"], "RestException");
    let job = api.get(&format!("/job/{id}")).await;
    assert_eq!(job["retries"], 1);
    let message = job["exceptionMessage"].as_str().expect("exceptionMessage");
    assert!(message.contains("missing"), "{message}");
    assert_eq!(b["message"], message);
    assert_eq!(job["failedActivityId"], "gw");
    assert_eq!(
        job["dueDate"],
        format(T0 + 5 * MINUTE),
        "retried after PT5M"
    );
    let r = api
        .client
        .get(format!("{}/job/{id}/stacktrace", api.base))
        .send()
        .await
        .expect("stacktrace");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/plain")
    );
    assert_eq!(r.text().await.expect("text"), message);
    assert_eq!(api.get("/incident").await, json!([]), "a retry is left");

    // The second failure uses the last retry: a failedJob incident names the job.
    api.clock.advance(5 * MINUTE);
    assert_eq!(api.tick().await, 1);
    let incidents = api.get(&format!("/incident?processInstanceId={pi}")).await;
    assert_eq!(incidents.as_array().map(Vec::len), Some(1), "{incidents}");
    assert_eq!(incidents[0]["incidentType"], "failedJob");
    assert_eq!(incidents[0]["configuration"], id.as_str());
    assert_eq!(incidents[0]["activityId"], "gw");
    assert_eq!(api.get("/job/count?noRetriesLeft=true").await["count"], 1);
    assert_eq!(api.get("/job/count?withRetriesLeft=true").await["count"], 0);
    assert_eq!(api.get("/job/count?executable=true").await["count"], 0);
    let (s, b) = api
        .post(
            "/job/count",
            json!({"withException": true, "failedActivityId": "gw"}),
        )
        .await;
    assert_eq!((s, &b["count"]), (StatusCode::OK, &json!(1)), "{b}");
    api.clock.advance(60 * MINUTE);
    assert_eq!(api.tick().await, 0, "out of retries: not run again");

    // Fix the cause, give it a retry: the incident is resolved and the job runs.
    let (s, b) = api
        .post(
            &format!("/process-instance/{pi}/variables"),
            json!({"modifications": {"missing": {"value": 5, "type": "Integer"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = api
        .put(&format!("/job/{id}/retries"), json!({"retries": 1}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(
        api.get("/incident").await,
        json!([]),
        "resolved by the retries"
    );
    assert_eq!(api.get("/job/count?executable=true").await["count"], 1);
    assert_eq!(api.tick().await, 1);
    assert_eq!(api.state(&pi).await, "COMPLETED");
    let (s, b) = api
        .send(reqwest::Method::GET, &format!("/job/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(b["message"], format!("Job with id {id} does not exist"));
}

/// Requests on unknown or wrongly addressed jobs and job definitions, with Camunda's answer
/// (status, exception type, message).
fn error_cases() -> Vec<(
    reqwest::Method,
    &'static str,
    J,
    StatusCode,
    &'static str,
    &'static str,
)> {
    vec![
        (
            reqwest::Method::PUT,
            "/job/nope/retries",
            json!({"retries": 1}),
            StatusCode::INTERNAL_SERVER_ERROR,
            "InvalidRequestException",
            "No job found with id 'nope'.",
        ),
        (
            reqwest::Method::PUT,
            "/job/nope/retries",
            json!({"retries": -1}),
            StatusCode::INTERNAL_SERVER_ERROR,
            "InvalidRequestException",
            "The number of job retries must be a non-negative Integer, but '-1' has been provided.",
        ),
        (
            reqwest::Method::GET,
            "/job/nope",
            json!({}),
            StatusCode::NOT_FOUND,
            "InvalidRequestException",
            "Job with id nope does not exist",
        ),
        (
            reqwest::Method::POST,
            "/job/nope/execute",
            json!({}),
            StatusCode::NOT_FOUND,
            "InvalidRequestException",
            "No job found with id 'nope'",
        ),
        (
            reqwest::Method::DELETE,
            "/job/nope",
            json!({}),
            StatusCode::NOT_FOUND,
            "InvalidRequestException",
            "No job found with id 'nope': job is null",
        ),
        (
            reqwest::Method::PUT,
            "/job/nope/priority",
            json!({}),
            StatusCode::BAD_REQUEST,
            "RestException",
            "Priority for job 'nope' cannot be null.",
        ),
        (
            reqwest::Method::PUT,
            "/job/nope/priority",
            json!({"priority": 5}),
            StatusCode::NOT_FOUND,
            "InvalidRequestException",
            "No job found with id 'nope': job is null",
        ),
        (
            reqwest::Method::PUT,
            "/job/suspended",
            json!({"suspended": true}),
            StatusCode::BAD_REQUEST,
            "InvalidRequestException",
            "Either jobId, jobDefinitionId, processInstanceId, processDefinitionId or processDefinitionKey should be set to update the suspension state.",
        ),
        (
            reqwest::Method::PUT,
            "/job/suspended",
            json!({"suspended": true, "processInstanceId": "a", "processDefinitionKey": "b"}),
            StatusCode::BAD_REQUEST,
            "InvalidRequestException",
            "Only one of jobId, jobDefinitionId, processInstanceId, processDefinitionId or processDefinitionKey should be set to update the suspension state.",
        ),
        (
            reqwest::Method::GET,
            "/job?timers=true&messages=true",
            json!({}),
            StatusCode::BAD_REQUEST,
            "InvalidRequestException",
            "Parameter timers cannot be used together with parameter messages.",
        ),
        (
            reqwest::Method::GET,
            "/job-definition/nope",
            json!({}),
            StatusCode::NOT_FOUND,
            "InvalidRequestException",
            "Job Definition with id nope does not exist",
        ),
        (
            reqwest::Method::PUT,
            "/job-definition/suspended",
            json!({"suspended": true}),
            StatusCode::BAD_REQUEST,
            "InvalidRequestException",
            "Either jobDefinitionId, processDefinitionId or processDefinitionKey should be set to update the suspension state.",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setting_retries_to_zero_raises_the_incident_and_unknown_jobs_get_camundas_errors() {
    let api = JobApi::start().await;
    api.deploy("wait", &timer_catch()).await;
    let pi = api.start_instance("wait").await;
    let id = api.job_of(&pi).await["id"].as_str().expect("id").to_owned();

    let (s, _) = api
        .put(&format!("/job/{id}/retries"), json!({"retries": 0}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let incidents = api.get("/incident").await;
    assert_eq!(incidents[0]["incidentType"], "failedJob", "{incidents}");
    api.clock.advance(20 * MINUTE);
    assert_eq!(api.tick().await, 0, "no retries: the timer waits");
    let (s, _) = api
        .put(&format!("/job/{id}/retries"), json!({"retries": 3}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(api.get("/incident/count").await["count"], 0);
    assert_eq!(api.tick().await, 1, "overdue: runs at once");
    assert_eq!(api.state(&pi).await, "COMPLETED");

    for (method, path, body, status, kind, message) in error_cases() {
        let (s, b) = api.send(method.clone(), path, Some(body)).await;
        assert_eq!(
            (s, &b["type"], &b["message"]),
            (status, &json!(kind), &json!(message)),
            "{method} {path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_can_be_moved_suspended_activated_sorted_and_deleted() {
    let api = JobApi::start().await;
    api.deploy("wait", &timer_catch()).await;
    let a = api.start_instance("wait").await;
    api.clock.advance(MINUTE);
    let b = api.start_instance("wait").await;
    let c = api.start_instance("wait").await;
    let ja = api.job_of(&a).await;
    assert_eq!(ja["dueDate"], format(T0 + 10 * MINUTE));
    assert_eq!(api.get("/job/count?timers=true").await["count"], 3);
    assert_eq!(api.get("/job/count?messages=true").await["count"], 0);
    let due_before = format(T0 + 10 * MINUTE + 1);
    assert_eq!(
        api.get(&format!("/job/count?dueDates=lt_{due_before}"))
            .await["count"],
        1,
        "only a's timer is due before 10:00.001"
    );
    let sorted = api.get("/job?sortBy=jobDueDate&sortOrder=desc").await;
    let order: Vec<&J> = sorted
        .as_array()
        .expect("list")
        .iter()
        .map(|j| &j["processInstanceId"])
        .collect();
    assert_eq!(order.last(), Some(&&json!(a)), "{sorted}");
    let definitions = api.get("/job-definition?processDefinitionKey=wait").await;
    assert_eq!(
        definitions.as_array().map(Vec::len),
        Some(1),
        "{definitions}"
    );
    assert_eq!(definitions[0]["jobType"], "timer-intermediate-transition");
    assert_eq!(definitions[0]["jobConfiguration"], "DURATION: PT10M");
    assert_eq!(definitions[0]["id"], ja["jobDefinitionId"]);

    // Move a's timer to now: it fires on the next pass, the others do not.
    let ida = ja["id"].as_str().expect("id").to_owned();
    let (s, r) = api
        .put(
            &format!("/job/{ida}/duedate"),
            json!({"duedate": format(T0 + MINUTE)}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{r}");
    assert_eq!(api.tick().await, 1);
    assert_eq!(api.state(&a).await, "COMPLETED");

    // Suspend b's job: it does not fire when due, cannot be executed, and shows suspended.
    let idb = api.job_of(&b).await["id"].as_str().expect("id").to_owned();
    let (s, _) = api
        .put(&format!("/job/{idb}/suspended"), json!({"suspended": true}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(api.job_of(&b).await["suspended"], true);
    assert_eq!(api.get("/job/count?suspended=true").await["count"], 1);
    assert_eq!(api.get("/job/count?active=true").await["count"], 1);
    let (s, _) = api.post(&format!("/job/{idb}/execute"), json!({})).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    // Delete c's timer: c will wait forever, as in Camunda.
    let idc = api.job_of(&c).await["id"].as_str().expect("id").to_owned();
    let (s, _) = api
        .send(reqwest::Method::DELETE, &format!("/job/{idc}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    api.clock.advance(30 * MINUTE);
    assert_eq!(api.tick().await, 0, "b is suspended, c has no job");
    assert_eq!(api.state(&b).await, "ACTIVE");

    // Activate every job of the definition by key: b fires.
    let (s, r) = api
        .put(
            "/job/suspended",
            json!({"processDefinitionKey": "wait", "suspended": false}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{r}");
    assert_eq!(api.tick().await, 1);
    assert_eq!(api.state(&b).await, "COMPLETED");
    assert_eq!(api.state(&c).await, "ACTIVE");
    assert_eq!(api.get("/job/count").await["count"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_definitions_suspend_and_prioritise_their_jobs_and_instances_suspend_theirs() {
    let api = JobApi::start().await;
    api.deploy("wait", &timer_catch()).await;
    let a = api.start_instance("wait").await;
    let jd = api.job_of(&a).await["jobDefinitionId"]
        .as_str()
        .expect("jobDefinitionId")
        .to_owned();

    // Suspending the definition with its jobs: a's job and every new one are suspended.
    let (s, r) = api
        .put(
            &format!("/job-definition/{jd}/suspended"),
            json!({"suspended": true, "includeJobs": true}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{r}");
    assert_eq!(
        api.get(&format!("/job-definition/{jd}")).await["suspended"],
        true
    );
    assert_eq!(api.job_of(&a).await["suspended"], true);
    let b = api.start_instance("wait").await;
    assert_eq!(api.job_of(&b).await["suspended"], true, "created suspended");
    assert_eq!(
        api.get("/job-definition/count?suspended=true").await["count"],
        1
    );
    api.clock.advance(10 * MINUTE);
    assert_eq!(api.tick().await, 0);

    // An overriding priority goes to new jobs, and to existing ones with includeJobs.
    let (s, r) = api
        .put(
            &format!("/job-definition/{jd}/jobPriority"),
            json!({"priority": 7, "includeJobs": true}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{r}");
    assert_eq!(api.job_of(&a).await["priority"], 7);
    assert_eq!(
        api.get(&format!("/job-definition/{jd}")).await["overridingJobPriority"],
        7
    );
    assert_eq!(
        api.get("/job/count?priorityHigherThanOrEquals=7").await["count"],
        2
    );

    // Activating the definition by process definition key, jobs included: both fire.
    let (s, r) = api
        .put(
            "/job-definition/suspended",
            json!({"processDefinitionKey": "wait", "suspended": false, "includeJobs": true}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{r}");
    assert_eq!(api.tick().await, 2);
    assert_eq!(api.state(&a).await, "COMPLETED");
    assert_eq!(api.state(&b).await, "COMPLETED");

    // A suspended instance's timer is suspended with it and fires after activation.
    let c = api.start_instance("wait").await;
    let (s, r) = api
        .put(
            &format!("/process-instance/{c}/suspended"),
            json!({"suspended": true}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{r}");
    assert_eq!(api.job_of(&c).await["suspended"], true);
    api.clock.advance(10 * MINUTE);
    assert_eq!(api.tick().await, 0, "suspended instance: its timer waits");
    let (s, _) = api
        .put(
            &format!("/process-instance/{c}/suspended"),
            json!({"suspended": false}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(api.job_of(&c).await["suspended"], false);
    assert_eq!(api.tick().await, 1);
    assert_eq!(api.state(&c).await, "COMPLETED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_definition_retries_restore_the_failed_jobs_of_that_definition() {
    let api = JobApi::start().await;
    api.deploy("failjob", &failing_job()).await;
    let pi = api.start_instance("failjob").await;
    let job = api.job_of(&pi).await;
    let (id, jd) = (
        job["id"].as_str().expect("id").to_owned(),
        job["jobDefinitionId"].as_str().expect("jd").to_owned(),
    );
    assert_eq!(api.tick().await, 1);
    api.clock.advance(5 * MINUTE);
    assert_eq!(api.tick().await, 1);
    assert_eq!(api.get(&format!("/job/{id}")).await["retries"], 0);
    assert_eq!(api.get("/incident/count").await["count"], 1);
    let (s, r) = api
        .put(
            &format!("/job-definition/{jd}/retries"),
            json!({"retries": 2}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{r}");
    assert_eq!(api.get(&format!("/job/{id}")).await["retries"], 2);
    assert_eq!(api.get("/incident/count").await["count"], 0);
    let (s, r) = api
        .put(
            &format!("/job-definition/{jd}/retries"),
            json!({"retries": -3}),
        )
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        r["message"],
        "The number of job retries must be a non-negative Integer, but '-3' has been provided."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_due_date_is_recalculated_from_now_or_from_its_creation() {
    let api = JobApi::start().await;
    api.deploy("wait", &timer_catch()).await;
    api.deploy("failjob", &failing_job()).await;
    let pi = api.start_instance("wait").await;
    let id = api.job_of(&pi).await["id"].as_str().expect("id").to_owned();
    api.clock.advance(3 * MINUTE);
    let path = format!("/job/{id}/duedate/recalculate");
    let (s, r) = api.post(&path, json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{r}");
    assert_eq!(
        api.get(&format!("/job/{id}")).await["dueDate"],
        format(T0 + 13 * MINUTE),
        "PT10M from now"
    );
    let (s, r) = api
        .post(&format!("{path}?creationDateBased=true"), json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{r}");
    assert_eq!(
        api.get(&format!("/job/{id}")).await["dueDate"],
        format(T0 + 10 * MINUTE),
        "PT10M from its creation"
    );

    let async_job = api.start_instance("failjob").await;
    let async_id = api.job_of(&async_job).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (s, r) = api
        .post(&format!("/job/{async_id}/duedate/recalculate"), json!({}))
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        r["message"],
        format!(
            "Only timer jobs can be recalculated, but the job with id '{async_id}' is of type 'async-continuation'."
        )
    );
    let (s, r) = api.post("/job/nope/duedate/recalculate", json!({})).await;
    assert_eq!(
        (s, &r["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!("No job found with id 'nope': job is null")
        )
    );
}

/// Serve the REST API over `engine` on 127.0.0.1 (for tests that reopen the engine).
async fn serve(engine: &ProcessEngine) -> (String, tokio::task::JoinHandle<()>) {
    let app = baton::api::router(ApiState {
        engine: engine.clone(),
        config: ApiConfig::default(),
    });
    let (addr, server) = serve_on_loopback(app).await;
    (format!("http://{addr}/engine-rest"), server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspension_by_key_and_tenant_holds_instances_and_jobs_across_a_restart() {
    let t = baton_tests::TestEngine::new().await;
    let (base, server) = serve(&t.engine).await;
    let client = reqwest::Client::new();
    let form = reqwest::multipart::Form::new()
        .text("deployment-name", "wait")
        .text("tenant-id", "acme")
        .part(
            "data",
            reqwest::multipart::Part::bytes(timer_catch().into_bytes()).file_name("wait.bpmn"),
        );
    let r = client
        .post(format!("{base}/deployment/create"))
        .multipart(form)
        .send()
        .await
        .expect("deploy");
    assert_eq!(r.status(), StatusCode::OK);
    let started: J = client
        .post(format!(
            "{base}/process-definition/key/wait/tenant-id/acme/start"
        ))
        .json(&json!({}))
        .send()
        .await
        .expect("start")
        .json()
        .await
        .expect("json");
    let pi = started["id"].as_str().expect("id").to_owned();
    let suspend = |tenant: &str, suspended: bool| {
        client
            .put(format!(
                "{base}/process-definition/key/wait/tenant-id/{tenant}/suspended"
            ))
            .json(&json!({"suspended": suspended, "includeProcessInstances": true}))
            .send()
    };
    let r = suspend("acme", true).await.expect("suspend");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = suspend("other", true).await.expect("suspend");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let e: J = r.json().await.expect("json");
    assert_eq!(
        e["message"],
        "No matching process definition with key: wait and tenant-id: other"
    );
    server.abort();

    // After a restart the definition, the instance and its timer are still suspended.
    let t = t.reopen().await;
    let (base, _server) = serve(&t.engine).await;
    let get = |path: String| {
        let client = client.clone();
        async move {
            client
                .get(path)
                .send()
                .await
                .expect("get")
                .json::<J>()
                .await
                .expect("json")
        }
    };
    let defs = get(format!("{base}/process-definition?key=wait")).await;
    assert_eq!(defs[0]["suspended"], true, "{defs}");
    let instances = get(format!("{base}/process-instance?suspended=true")).await;
    assert_eq!(instances[0]["id"], pi.as_str(), "{instances}");
    let jobs = get(format!("{base}/job?processInstanceId={pi}")).await;
    assert_eq!(
        (&jobs[0]["suspended"], &jobs[0]["tenantId"]),
        (&json!(true), &json!("acme")),
        "{jobs}"
    );
    assert_eq!(t.advance(20 * MINUTE).await, 0, "a suspended timer waits");
    let r = client
        .put(format!(
            "{base}/process-definition/key/wait/tenant-id/acme/suspended"
        ))
        .json(&json!({"suspended": false, "includeProcessInstances": true}))
        .send()
        .await
        .expect("activate");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(t.tick().await, 1, "activated: the overdue timer fires");
    assert_eq!(t.instance_state(&pi).await, "COMPLETED");
}
