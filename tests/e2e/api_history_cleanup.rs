//! History cleanup through the real HTTP server: finished instances are removed once their
//! definition's time to live has passed (with their logs), others are kept; the cleanup job
//! and configuration answers.

use baton::api::date::format;
use baton_tests::T0;
use baton_tests::bpmn::definitions;
use reqwest::StatusCode;
use serde_json::{Value as J, json};

use crate::api_definition_extras::{ExtrasApi, user_task};

const DAY: i64 = 24 * 60 * 60 * 1000;

fn straight_through(key: &str, ttl: Option<u32>) -> String {
    let xml = definitions(
        key,
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    );
    match ttl {
        Some(days) => xml.replace(
            &format!(r#"<bpmn:process id="{key}" isExecutable="true">"#),
            &format!(r#"<bpmn:process id="{key}" isExecutable="true" camunda:historyTimeToLive="{days}">"#),
        ),
        None => xml,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_history_is_removed_and_the_rest_kept() {
    let api = ExtrasApi::start().await;
    api.deploy("short", &straight_through("short", Some(1)))
        .await;
    api.deploy("forever", &straight_through("forever", None))
        .await;
    api.deploy(
        "running",
        &user_task("running").replace(
            r#"<bpmn:process id="running" isExecutable="true">"#,
            r#"<bpmn:process id="running" isExecutable="true" camunda:historyTimeToLive="0">"#,
        ),
    )
    .await;
    let (s, b) = api
        .post(
            "/process-definition/key/short/start",
            json!({"variables": {"x": {"value": 1, "type": "Integer"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let short = b["id"].as_str().expect("id").to_owned();
    let forever = api.start_instance("forever").await;
    let running = api.start_instance("running").await;

    let h = api.get(&format!("/history/process-instance/{short}")).await;
    assert_eq!(h["removalTime"], format(T0 + DAY), "{h}");
    assert_eq!(
        api.get(&format!("/history/process-instance/{forever}"))
            .await["removalTime"],
        J::Null
    );
    let (s, _) = api
        .send(reqwest::Method::GET, "/history/cleanup/job", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no job before the first request");
    assert_eq!(api.get("/history/cleanup/jobs").await, json!([]));

    // Not yet expired: nothing goes.
    let (s, job) = api.post("/history/cleanup", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{job}");
    assert_eq!(job["id"], "history-cleanup");
    assert_eq!(api.get("/history/process-instance/count").await["count"], 3);

    api.clock.advance(DAY + 1);
    let (s, _) = api.post("/history/cleanup", json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = api
        .send(
            reqwest::Method::GET,
            &format!("/history/process-instance/{short}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "expired history is removed");
    assert_eq!(
        api.get(&format!("/history/detail/count?processInstanceId={short}"))
            .await["count"],
        0,
        "with its variable updates"
    );
    for kept in [&forever, &running] {
        api.get(&format!("/history/process-instance/{kept}")).await;
    }
    assert_eq!(
        api.get("/history/cleanup/job").await["id"],
        "history-cleanup"
    );
    assert_eq!(
        api.get("/history/cleanup/configuration").await,
        json!({"batchWindowStartTime": null, "batchWindowEndTime": null, "enabled": true})
    );
}
