//! Camunda's `/metrics` REST resource and `/schema/log` through the real HTTP server: sums
//! per 15-minute interval (injected clock), the interval query, unique task workers, their
//! deletion, and that the counts survive a restart (they are written without a write per
//! step, and at shutdown).

use baton::api::date::format;
use baton_tests::T0;
use reqwest::StatusCode;
use serde_json::json;

use crate::api_definition_extras::{ExtrasApi, failing_job, user_task};

const MINUTE: i64 = 60_000;

async fn sum(api: &ExtrasApi, name: &str, query: &str) -> i64 {
    api.get(&format!("/metrics/{name}/sum{query}")).await["result"]
        .as_i64()
        .expect("result")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_metrics_are_summed_per_interval_and_survive_a_restart() {
    let api = ExtrasApi::start().await;
    api.deploy("review", &user_task("review")).await;
    api.start_instance("review").await;
    api.start_instance("review").await;
    let tasks = api.get("/task").await;
    for (task, user) in tasks.as_array().expect("tasks").iter().zip(["ann", "bob"]) {
        let id = task["id"].as_str().expect("task id");
        let (s, _) = api
            .post(&format!("/task/{id}/claim"), json!({"userId": user}))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
    }
    // The next interval: one more instance.
    api.clock.advance(20 * MINUTE);
    api.start_instance("review").await;

    assert_eq!(sum(&api, "root-process-instance-start", "").await, 3);
    assert_eq!(
        sum(&api, "process-instances", "").await,
        3,
        "Camunda's alias"
    );
    let second = format(T0 + 15 * MINUTE);
    assert_eq!(
        sum(
            &api,
            "root-process-instance-start",
            &format!("?startDate={second}")
        )
        .await,
        1
    );
    // One activity-instance-start per historic activity instance, one end per finished one.
    let started = api.get("/history/activity-instance/count").await["count"]
        .as_i64()
        .expect("count");
    let ended = api
        .get("/history/activity-instance/count?finished=true")
        .await["count"]
        .as_i64()
        .expect("count");
    assert_eq!(sum(&api, "activity-instance-start", "").await, started);
    assert_eq!(sum(&api, "activity-instance-end", "").await, ended);
    assert_eq!(sum(&api, "task-users", "").await, 2);

    let rows = api.get("/metrics?name=root-process-instance-start").await;
    assert_eq!(
        rows,
        json!([
            {"timestamp": format(T0 + 15 * MINUTE), "name": "root-process-instance-start", "reporter": "baton", "value": 1},
            {"timestamp": format(T0), "name": "root-process-instance-start", "reporter": "baton", "value": 2},
        ])
    );
    let hourly = api
        .get("/metrics?name=root-process-instance-start&interval=3600&aggregateByReporter=true")
        .await;
    assert_eq!(
        hourly,
        json!([{"timestamp": format(T0), "name": "root-process-instance-start", "reporter": null, "value": 3}])
    );
    let (s, b) = api
        .send(reqwest::Method::GET, "/metrics?maxResults=201", None)
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        b["message"],
        "Metrics interval query row limit can't be set larger than 200."
    );

    // A clean restart keeps every count.
    let api = api.restart().await;
    assert_eq!(sum(&api, "root-process-instance-start", "").await, 3);
    assert_eq!(sum(&api, "activity-instance-start", "").await, started);
    assert_eq!(sum(&api, "task-users", "").await, 2);

    let (s, _) = api
        .delete(&format!(
            "/metrics/task-worker?date={}",
            format(T0 + MINUTE)
        ))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(sum(&api, "task-users", "").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_outcomes_are_counted() {
    let api = ExtrasApi::start().await;
    api.deploy("failjob", &failing_job("failjob")).await;
    let pi = api.start_instance("failjob").await;
    let jobs = api.get(&format!("/job?processInstanceId={pi}")).await;
    let job = jobs[0]["id"].as_str().expect("job id");
    let (s, _) = api.post(&format!("/job/{job}/execute"), json!({})).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(sum(&api, "job-failed", "").await, 1);
    assert_eq!(sum(&api, "job-successful", "").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_log_reports_the_store_format() {
    let api = ExtrasApi::start().await;
    let log = api.get("/schema/log").await;
    assert_eq!(
        log,
        json!([{"id": "0", "timestamp": format(T0), "version": baton::store::FORMAT_VERSION.to_string()}])
    );
    let (s, b) = api.post("/schema/log", json!({"version": "999"})).await;
    assert_eq!((s, b), (StatusCode::OK, json!([])));
}
