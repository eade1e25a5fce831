//! The process-instance batch operations through the real HTTP server: `variables-async`,
//! `message-async`, `job-retries` (and its historic-query variant),
//! `delete-historic-query-based` and `process-definition/{id}/restart-async`, each creating
//! a Camunda `BatchDto` whose invocations run when the test calls `run_batch_jobs`; plus
//! `POST /execution/{id}/create-incident` and the start form variables by key and tenant.
//! Bad bodies get Camunda's 400s and create no batch.

use baton_tests::bpmn::definitions;
use reqwest::{Method, StatusCode};
use serde_json::{Value as J, json};

use crate::api_ops::OpsApi;

/// start → message catch `go` → user task `after` (the message sets variables).
fn waits_for_go(key: &str) -> String {
    definitions(
        key,
        r#"<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait" />
<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="goMsg" /></bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="after" />
<bpmn:userTask id="after" /><bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e" />
<bpmn:endEvent id="e" />"#,
    )
    .replace(
        "<bpmn:process ",
        r#"<bpmn:message id="goMsg" name="go" /><bpmn:process "#,
    )
}

/// start → timer catch (one hour) → end: each instance holds one job.
fn waits_an_hour(key: &str) -> String {
    definitions(
        key,
        r#"<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t" />
<bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e" /><bpmn:endEvent id="e" />"#,
    )
}

/// start → user task `first` → end.
fn one_task(key: &str) -> String {
    definitions(
        key,
        r#"<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="first" />
<bpmn:userTask id="first" /><bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="e" />
<bpmn:endEvent id="e" />"#,
    )
}

/// Create a batch; its id, after checking its type and size.
async fn batch(api: &OpsApi, path: &str, body: J, kind: &str, total: u64) -> String {
    let (s, b) = api.post(path, body).await;
    assert_eq!(s, StatusCode::OK, "{path}: {b}");
    assert_eq!(b["type"], kind, "{b}");
    assert_eq!(b["totalJobs"], total, "{b}");
    b["id"].as_str().expect("batch id").to_owned()
}

/// A refused request: 400, the text, and no new batch.
async fn refused(api: &OpsApi, path: &str, body: J, expected: &str) {
    let before = api.get("/history/batch/count").await["count"].clone();
    let (s, b) = api.post(path, body.clone()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{path} {body}: {b}");
    assert_eq!(b["type"], "InvalidRequestException", "{b}");
    let message = b["message"].as_str().unwrap_or_default();
    assert!(message.contains(expected), "{path} {body}: {message}");
    assert_eq!(api.get("/history/batch/count").await["count"], before);
}

async fn variable(api: &OpsApi, instance: &str, name: &str) -> J {
    let (s, b) = api
        .send(
            Method::GET,
            &format!("/process-instance/{instance}/variables/{name}"),
            None,
        )
        .await;
    if s == StatusCode::OK {
        b["value"].clone()
    } else {
        J::Null
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_async_sets_variables_on_every_selected_instance() {
    let api = OpsApi::start().await;
    api.deploy("vars", &one_task("vars")).await;
    let a = api.start_instance("vars").await;
    let b = api.start_instance("vars").await;
    let path = "/process-instance/variables-async";
    let id = batch(
        &api,
        path,
        json!({
            // An id that does not run is dropped (Camunda runs the ids through a query).
            "processInstanceIds": [a, "no-such-instance"],
            "processInstanceQuery": {"processDefinitionKey": "vars"},
            "variables": {"approved": {"value": true, "type": "Boolean"},
                          "amount": {"value": 42, "type": "Integer"}}
        }),
        "set-variables",
        2,
    )
    .await;
    assert_eq!(variable(&api, &a, "approved").await, J::Null);
    assert_eq!(api.engine.run_batch_jobs().await.expect("run"), 2);
    for pi in [&a, &b] {
        assert_eq!(variable(&api, pi, "approved").await, true, "{pi}");
        assert_eq!(variable(&api, pi, "amount").await, 42, "{pi}");
    }
    let h = api.get(&format!("/history/batch/{id}")).await;
    assert!(h["endTime"].is_string(), "{h}");

    refused(
        &api,
        path,
        json!({"processInstanceIds": [a], "variables": {}}),
        "variables is empty",
    )
    .await;
    refused(
        &api,
        path,
        json!({"variables": {"x": {"value": 1}}}),
        "No process instances found.",
    )
    .await;
    refused(
        &api,
        path,
        json!({"processInstanceIds": ["gone"], "variables": {"x": {"value": 1}}}),
        "Process instance ids cannot be empty",
    )
    .await;
    refused(
        &api,
        path,
        json!({"processInstanceIds": [a], "variables": {"x": {"value": "y", "type": "Integer"}}}),
        "Cannot set variables",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_async_correlates_to_the_instances_of_a_historic_query() {
    let api = OpsApi::start().await;
    api.deploy("msg", &waits_for_go("msg")).await;
    let a = api.start_instance("msg").await;
    let b = api.start_instance("msg").await;
    // Not waiting for `go` any more: correlating to it again is not an error.
    let path = "/process-instance/message-async";
    batch(
        &api,
        path,
        json!({
            "messageName": "go",
            "historicProcessInstanceQuery": {"processDefinitionKey": "msg", "unfinished": true},
            "variables": {"by": {"value": "batch", "type": "String"}}
        }),
        "correlate-message",
        2,
    )
    .await;
    assert!(api.task_keys(&a).await.is_empty());
    assert_eq!(api.engine.run_batch_jobs().await.expect("run"), 2);
    for pi in [&a, &b] {
        assert_eq!(api.task_keys(pi).await, ["after"], "{pi}");
        assert_eq!(variable(&api, pi, "by").await, "batch", "{pi}");
    }
    let id = batch(
        &api,
        path,
        json!({"messageName": "go", "processInstanceIds": [a]}),
        "correlate-message",
        1,
    )
    .await;
    assert_eq!(api.engine.run_batch_jobs().await.expect("run"), 1);
    let stats = api.get(&format!("/history/batch/{id}")).await;
    assert!(stats["endTime"].is_string(), "{stats}");
    assert_eq!(api.task_keys(&a).await, ["after"]);

    refused(
        &api,
        path,
        json!({"processInstanceIds": [a]}),
        "messageName is null",
    )
    .await;
    refused(
        &api,
        path,
        json!({"messageName": "go"}),
        "No process instances found.",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_retries_of_process_instances_are_set_in_a_batch() {
    let api = OpsApi::start().await;
    api.deploy("hour", &waits_an_hour("hour")).await;
    let a = api.start_instance("hour").await;
    let b = api.start_instance("hour").await;
    let retries_of = |pi: String| {
        let api = &api;
        async move {
            let jobs = api.get(&format!("/job?processInstanceId={pi}")).await;
            jobs.as_array()
                .map(|a| a.iter().map(|j| j["retries"].clone()).collect::<Vec<_>>())
                .unwrap_or_default()
        }
    };
    batch(
        &api,
        "/process-instance/job-retries",
        json!({"processInstances": [a], "retries": 7}),
        "set-job-retries",
        1,
    )
    .await;
    assert_eq!(api.engine.run_batch_jobs().await.expect("run"), 1);
    assert_eq!(retries_of(a.clone()).await, [json!(7)]);
    assert_eq!(retries_of(b.clone()).await, [json!(3)]);
    batch(
        &api,
        "/process-instance/job-retries-historic-query-based",
        json!({"historicProcessInstanceQuery": {"processDefinitionKey": "hour"}, "retries": 1}),
        "set-job-retries",
        2,
    )
    .await;
    assert_eq!(api.engine.run_batch_jobs().await.expect("run"), 2);
    assert_eq!(retries_of(a).await, [json!(1)]);
    assert_eq!(retries_of(b.clone()).await, [json!(1)]);

    // Camunda's engine-side check: 500 ProcessEngineException.
    let (s, e) = api
        .post(
            "/process-instance/job-retries",
            json!({"processInstances": [b], "retries": -1}),
        )
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{e}");
    assert_eq!(
        e["message"],
        "Retries count is not greater than or equal to 0"
    );
    refused(
        &api,
        "/process-instance/job-retries",
        json!({"retries": 2}),
        "No process instances found.",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_historic_query_based_deletes_the_running_instances_it_names() {
    let api = OpsApi::start().await;
    api.deploy("gone", &one_task("gone")).await;
    api.deploy("kept", &one_task("kept")).await;
    let a = api.start_instance("gone").await;
    let b = api.start_instance("gone").await;
    let kept = api.start_instance("kept").await;
    batch(
        &api,
        "/process-instance/delete-historic-query-based",
        json!({"historicProcessInstanceQuery": {"processDefinitionKey": "gone"},
               "deleteReason": "cleanup"}),
        "instance-deletion",
        2,
    )
    .await;
    assert_eq!(api.engine.run_batch_jobs().await.expect("run"), 2);
    assert_eq!(api.state(&a).await, "EXTERNALLY_TERMINATED");
    assert_eq!(api.state(&b).await, "EXTERNALLY_TERMINATED");
    assert_eq!(api.state(&kept).await, "ACTIVE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_async_starts_finished_instances_again_in_a_batch() {
    let api = OpsApi::start().await;
    let definition = api.deploy("again", &one_task("again")).await;
    let (s, b) = api
        .post(
            "/process-definition/key/again/start",
            json!({"businessKey": "order-9",
                   "variables": {"amount": {"value": 5, "type": "Integer"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let old = b["id"].as_str().expect("id").to_owned();
    let (s, _) = api
        .send(Method::DELETE, &format!("/process-instance/{old}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let path = format!("/process-definition/{definition}/restart-async");
    let id = batch(
        &api,
        &path,
        json!({"historicProcessInstanceQuery": {"processDefinitionKey": "again", "finished": true},
               "instructions": [{"type": "startBeforeActivity", "activityId": "first"}]}),
        "instance-restart",
        1,
    )
    .await;
    assert_eq!(api.get("/process-instance/count").await["count"], 0);
    assert_eq!(api.engine.run_batch_jobs().await.expect("run"), 1);
    let running = api
        .get(&format!(
            "/process-instance?processDefinitionId={definition}"
        ))
        .await;
    let running = running.as_array().cloned().unwrap_or_default();
    assert_eq!(running.len(), 1, "{running:?}");
    let new = running[0]["id"].as_str().expect("id");
    assert_ne!(new, old);
    assert_eq!(running[0]["businessKey"], "order-9");
    assert_eq!(variable(&api, new, "amount").await, 5);
    assert_eq!(api.task_keys(new).await, ["first"]);
    let h = api.get(&format!("/history/batch/{id}")).await;
    assert!(h["endTime"].is_string(), "{h}");

    refused(
        &api,
        &path,
        json!({"processInstanceIds": [old]}),
        "Restart instructions cannot be empty",
    )
    .await;
    refused(
        &api,
        &path,
        json!({"processInstanceIds": [new],
               "instructions": [{"type": "startBeforeActivity", "activityId": "first"}]}),
        "cannot be restarted: it is still running",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_incident_is_created_on_an_execution_and_resolved() {
    let api = OpsApi::start().await;
    api.deploy("inc", &one_task("inc")).await;
    let pi = api.start_instance("inc").await;
    let (s, incident) = api
        .post(
            &format!("/execution/{pi}/create-incident"),
            json!({"incidentType": "manualReview", "configuration": "ticket-17",
                   "message": "check the order by hand"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{incident}");
    assert_eq!(incident["incidentType"], "manualReview");
    assert_eq!(incident["configuration"], "ticket-17");
    assert_eq!(incident["incidentMessage"], "check the order by hand");
    assert_eq!(incident["processInstanceId"], json!(pi));
    let id = incident["id"].as_str().expect("incident id").to_owned();
    let listed = api
        .get(&format!(
            "/incident?processInstanceId={pi}&incidentType=manualReview"
        ))
        .await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let stats = api
        .get("/process-definition/statistics?incidents=true")
        .await;
    assert!(stats.to_string().contains("manualReview"), "{stats}");

    let (s, b) = api
        .send(Method::DELETE, &format!("/incident/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(
        api.get(&format!("/incident/count?processInstanceId={pi}"))
            .await["count"],
        0
    );
    let history = api
        .get(&format!("/history/incident?processInstanceId={pi}"))
        .await;
    assert_eq!(history[0]["incidentType"], "manualReview", "{history}");
    assert_eq!(history[0]["resolved"], true, "{history}");

    for (path, body, expected) in [
        (
            format!("/execution/{pi}/create-incident"),
            json!({"message": "no type"}),
            "incidentType is null".to_owned(),
        ),
        (
            "/execution/nope/create-incident".to_owned(),
            json!({"incidentType": "x"}),
            "Cannot find an execution with executionId 'nope'".to_owned(),
        ),
        (
            format!("/execution/{pi}/create-incident"),
            json!({"incidentType": 5}),
            "incidentType".to_owned(),
        ),
    ] {
        let (s, b) = api.post(&path, body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {b}");
        assert!(
            b["message"]
                .as_str()
                .unwrap_or_default()
                .contains(&expected),
            "{b}"
        );
    }
    assert_eq!(
        api.get(&format!("/incident/count?processInstanceId={pi}"))
            .await["count"],
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_form_variables_by_key_and_tenant() {
    let api = OpsApi::start().await;
    let xml = one_task("tenanted");
    let form = reqwest::multipart::Form::new()
        .text("deployment-name", "tenanted")
        .text("tenant-id", "acme")
        .part(
            "data",
            reqwest::multipart::Part::bytes(xml.into_bytes()).file_name("tenanted.bpmn"),
        );
    let r = reqwest::Client::new()
        .post(format!("{}/deployment/create", api.base_url()))
        .multipart(form)
        .send()
        .await
        .expect("deploy");
    assert_eq!(r.status(), StatusCode::OK);
    let (s, b) = api
        .send(
            Method::GET,
            "/process-definition/key/tenanted/tenant-id/acme/form-variables",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b.is_object(), "{b}");
    let (s, b) = api
        .send(
            Method::GET,
            "/process-definition/key/tenanted/tenant-id/other/form-variables",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
}

/// start → external task (topic `work`) → end.
fn one_external(key: &str) -> String {
    definitions(
        key,
        r#"<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="w" />
<bpmn:serviceTask id="w" camunda:type="external" camunda:topic="work" />
<bpmn:sequenceFlow id="f2" sourceRef="w" targetRef="e" /><bpmn:endEvent id="e" />"#,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_batches_take_queries_and_a_due_date() {
    let api = OpsApi::start().await;
    api.deploy("hour", &waits_an_hour("hour")).await;
    let a = api.start_instance("hour").await;
    let b = api.start_instance("hour").await;
    batch(
        &api,
        "/job/retries",
        json!({"jobQuery": {"processInstanceId": a}, "retries": 9,
               "dueDate": "2030-01-01T00:00:00.000+0000"}),
        "set-job-retries",
        1,
    )
    .await;
    assert_eq!(api.engine.run_batch_jobs().await.expect("run"), 1);
    let job = api.get(&format!("/job?processInstanceId={a}")).await;
    assert_eq!(job[0]["retries"], 9, "{job}");
    assert!(
        job[0]["dueDate"]
            .as_str()
            .is_some_and(|d| d.starts_with("2030-01-01T00:00:00")),
        "{job}"
    );
    let other = api.get(&format!("/job?processInstanceId={b}")).await;
    assert_eq!(other[0]["retries"], 3, "{other}");
    let (s, e) = api
        .post(
            "/job/retries",
            json!({"jobIds": ["x"], "retries": 1, "dueDate": "soon"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");

    api.deploy("ext", &one_external("ext")).await;
    let c = api.start_instance("ext").await;
    let d = api.start_instance("ext").await;
    let retries_of = |pi: String| {
        let api = &api;
        async move {
            api.get(&format!("/external-task?processInstanceId={pi}"))
                .await[0]["retries"]
                .clone()
        }
    };
    batch(
        &api,
        "/external-task/retries-async",
        json!({"processInstanceQuery": {"processDefinitionKey": "ext"}, "retries": 4}),
        "set-external-task-retries",
        2,
    )
    .await;
    assert_eq!(api.engine.run_batch_jobs().await.expect("run"), 2);
    assert_eq!(retries_of(c.clone()).await, 4);
    assert_eq!(retries_of(d.clone()).await, 4);
    batch(
        &api,
        "/external-task/retries-async",
        json!({"externalTaskQuery": {"topicName": "work", "processInstanceId": d}, "retries": 6}),
        "set-external-task-retries",
        1,
    )
    .await;
    assert_eq!(api.engine.run_batch_jobs().await.expect("run"), 1);
    assert_eq!(retries_of(c).await, 4);
    assert_eq!(retries_of(d).await, 6);
    refused(
        &api,
        "/external-task/retries-async",
        json!({"externalTaskQuery": {"topicName": "nothing"}, "retries": 1}),
        "externalTaskIds is empty",
    )
    .await;
}
