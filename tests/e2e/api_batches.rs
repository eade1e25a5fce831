//! Batches through the real HTTP server: a modification of several instances as a batch
//! (statistics, suspension, completion into history), a deletion batch that survives a
//! restart and resumes, a batch with a failing invocation, suspension and job retries as
//! batches, and Camunda's error answers. Batches run when the test calls
//! `run_batch_jobs` (the harness has no background runner), so nothing depends on timing.

use reqwest::{Method, StatusCode};
use serde_json::{Value as J, json};

use crate::api_ops::{OpsApi, modifiable};

async fn batch_stats(api: &OpsApi, id: &str) -> J {
    let all = api.get(&format!("/batch/statistics?batchId={id}")).await;
    all.as_array()
        .and_then(|a| a.first())
        .cloned()
        .unwrap_or(J::Null)
}

/// /modification/executeAsync over three instances (chosen by a query): one batch job per
/// instance, nothing happens while suspended, everything once activated and run; then the
/// batch is history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modification_batch_moves_every_selected_instance() {
    let api = OpsApi::start().await;
    let definition = api.deploy("bmod", &modifiable("bmod")).await;
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(api.start_instance("bmod").await);
    }
    let (s, batch) = api
        .post(
            "/modification/executeAsync",
            json!({
                "processDefinitionId": definition,
                "processInstanceQuery": {"processDefinitionKey": "bmod"},
                "instructions": [
                    {"type": "startBeforeActivity", "activityId": "C"},
                    {"type": "cancel", "activityId": "A"}
                ]
            }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{batch}");
    assert_eq!(batch["type"], "instance-modification");
    assert_eq!(batch["totalJobs"], 3);
    assert_eq!(batch["invocationsPerBatchJob"], 1);
    assert_eq!(batch["suspended"], false);
    let id = batch["id"].as_str().expect("batch id").to_owned();
    assert_eq!(api.get("/batch/count").await["count"], 1);
    let stats = batch_stats(&api, &id).await;
    assert_eq!(
        (
            &stats["remainingJobs"],
            &stats["completedJobs"],
            &stats["failedJobs"]
        ),
        (&json!(3), &json!(0), &json!(0))
    );

    let (s, b) = api
        .send(
            Method::PUT,
            &format!("/batch/{id}/suspended"),
            Some(json!({"suspended": true})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(api.engine.run_batch_jobs().await.expect("run"), 0);
    assert_eq!(api.get(&format!("/batch/{id}")).await["suspended"], true);
    assert_eq!(api.task_keys(&instances[0]).await, ["A"]);

    let (s, _) = api
        .send(
            Method::PUT,
            &format!("/batch/{id}/suspended"),
            Some(json!({"suspended": false})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(api.engine.run_batch_jobs().await.expect("run"), 3);
    for pi in &instances {
        assert_eq!(api.task_keys(pi).await, ["C"], "{pi}");
    }
    let (s, b) = api.send(Method::GET, &format!("/batch/{id}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(b["message"], format!("Batch with id '{id}' does not exist"));
    let h = api.get(&format!("/history/batch/{id}")).await;
    assert_eq!(h["type"], "instance-modification");
    assert!(h["endTime"].is_string(), "{h}");
    assert!(h["executionStartTime"].is_string(), "{h}");
    assert_eq!(
        api.get("/history/batch/count?completed=true").await["count"],
        1
    );
}

/// A deletion batch is durable: after a restart it is still there with its progress and
/// runs to its end; the instances end EXTERNALLY_TERMINATED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_batch_survives_a_restart_and_resumes() {
    let api = OpsApi::start().await;
    api.deploy("bdel", &modifiable("bdel")).await;
    let a = api.start_instance("bdel").await;
    let b = api.start_instance("bdel").await;
    let (s, batch) = api
        .post(
            "/process-instance/delete",
            json!({"processInstanceIds": [a, b], "deleteReason": "cleanup"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{batch}");
    assert_eq!(batch["type"], "instance-deletion");
    let id = batch["id"].as_str().expect("id").to_owned();

    let api = api.restart().await;
    let stats = batch_stats(&api, &id).await;
    assert_eq!(stats["remainingJobs"], 2, "{stats}");
    assert_eq!(api.engine.run_batch_jobs().await.expect("run"), 2);
    assert_eq!(api.state(&a).await, "EXTERNALLY_TERMINATED");
    assert_eq!(api.state(&b).await, "EXTERNALLY_TERMINATED");
    assert_eq!(api.get("/batch/count").await["count"], 0);
}

/// A batch job whose invocation fails counts as failed and keeps the batch (with the other
/// jobs done) until it is deleted; suspension and job retries run as batches too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_invocations_keep_the_batch_and_other_operations_run_as_batches() {
    let api = OpsApi::start().await;
    api.deploy("bops", &modifiable("bops")).await;
    let pi = api.start_instance("bops").await;

    let (s, batch) = api
        .post(
            "/process-instance/suspended-async",
            json!({"processInstanceIds": [pi], "suspended": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{batch}");
    assert_eq!(batch["type"], "instance-update-suspension-state");
    api.engine.run_batch_jobs().await.expect("run");
    let instance = api.get(&format!("/process-instance/{pi}")).await;
    assert_eq!(instance["suspended"], true);

    let (s, batch) = api
        .post(
            "/job/retries",
            json!({"jobIds": ["no-such-job"], "retries": 3}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{batch}");
    assert_eq!(batch["type"], "set-job-retries");
    let id = batch["id"].as_str().expect("id").to_owned();
    api.engine.run_batch_jobs().await.expect("run");
    let stats = batch_stats(&api, &id).await;
    assert_eq!(
        (
            &stats["remainingJobs"],
            &stats["completedJobs"],
            &stats["failedJobs"]
        ),
        (&json!(1), &json!(0), &json!(1)),
        "{stats}"
    );
    let (s, _) = api
        .send(Method::DELETE, &format!("/batch/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(api.get("/batch/count").await["count"], 0);
    let h = api.get(&format!("/history/batch/{id}")).await;
    assert!(
        h["endTime"].is_string(),
        "a deleted batch ends in history: {h}"
    );
}

/// Camunda's answers to bad batch requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_batch_requests_get_camundas_answers() {
    let api = OpsApi::start().await;
    let definition = api.deploy("bbad", &modifiable("bbad")).await;
    let cases = [
        (
            "/process-instance/delete",
            json!({}),
            400,
            "processInstanceIds is empty",
        ),
        (
            "/process-instance/suspended-async",
            json!({"suspended": true}),
            400,
            "No process instance ids given: process Instance Ids is empty",
        ),
        (
            "/job/retries",
            json!({"retries": 1}),
            400,
            "jobIds is empty",
        ),
        (
            "/job/retries",
            json!({"jobIds": ["j"], "retries": -1}),
            500,
            "Retries count is not greater than or equal to 0",
        ),
        (
            "/modification/executeAsync",
            json!({"processDefinitionId": definition, "processInstanceIds": ["x"]}),
            400,
            "Modification instructions cannot be empty is empty",
        ),
        (
            "/modification/executeAsync",
            json!({"processDefinitionId": definition,
                   "instructions": [{"type": "cancel", "activityId": "A"}]}),
            400,
            "Process instance ids cannot be empty: Process instance ids is empty",
        ),
    ];
    for (path, body, status, message) in cases {
        let (s, b) = api.post(path, body.clone()).await;
        assert_eq!(s.as_u16(), status, "{path} {body}: {b}");
        assert_eq!(b["message"], message, "{path} {body}");
    }
    let (s, b) = api.send(Method::DELETE, "/batch/unknown", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["message"], "Unable to delete batch with id 'unknown'");
    let (s, b) = api.send(Method::GET, "/batch/unknown", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(b["type"], "InvalidRequestException");
}
