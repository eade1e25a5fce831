//! `/history/task` through the real HTTP server: completed, open and deleted user tasks with
//! their assignee, times, delete reason and state, filters, count and sort.

use reqwest::StatusCode;
use serde_json::{Value as J, json};

use crate::api_rest::Api;

fn review() -> String {
    baton_tests::bpmn::definitions(
        "review",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
    <bpmn:userTask id="check" name="Check order" camunda:candidateGroups="sales" />
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    )
}

async fn start_with_task(api: &Api) -> (String, String) {
    let (s, started) = api
        .post("/process-definition/key/review/start", json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{started}");
    let pi = started["id"].as_str().expect("id").to_owned();
    let (_, tasks) = api.get(&format!("/task?processInstanceId={pi}")).await;
    let task = tasks[0]["id"].as_str().expect("task id").to_owned();
    (pi, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completed_open_and_deleted_user_tasks_are_in_task_history() {
    let api = Api::default().await;
    api.deploy("review", &review()).await;
    let (a, task_a) = start_with_task(&api).await;
    let (b, task_b) = start_with_task(&api).await;
    let (c, task_c) = start_with_task(&api).await;
    let (s, _) = api
        .post(&format!("/task/{task_a}/claim"), json!({"userId": "demo"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api
        .post(&format!("/task/{task_a}/complete"), json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let r = api
        .client
        .delete(api.url(&format!("/process-instance/{c}")))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    let (s, done) = api
        .get(&format!("/history/task?processInstanceId={a}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done.as_array().map(Vec::len), Some(1), "{done}");
    let t = &done[0];
    assert_eq!(
        (
            &t["id"],
            &t["assignee"],
            &t["deleteReason"],
            &t["taskDefinitionKey"],
            &t["name"],
            &t["taskState"]
        ),
        (
            &json!(task_a),
            &json!("demo"),
            &json!("completed"),
            &json!("check"),
            &json!("Check order"),
            &json!("Completed")
        )
    );
    assert!(
        t["endTime"].is_string() && t["duration"].as_i64().is_some_and(|d| d >= 0),
        "{t}"
    );

    let (_, open) = api.get("/history/task?unfinished=true").await;
    assert_eq!(open.as_array().map(Vec::len), Some(1), "{open}");
    assert_eq!(
        (
            &open[0]["id"],
            &open[0]["processInstanceId"],
            &open[0]["deleteReason"]
        ),
        (&json!(task_b), &json!(b), &J::Null)
    );
    assert_eq!(open[0]["priority"], 50, "an open task shows its priority");
    assert_eq!(open[0]["endTime"], J::Null);

    let (_, deleted) = api.get("/history/task?taskDeleteReason=deleted").await;
    assert_eq!(deleted[0]["id"], task_c.as_str(), "{deleted}");
    assert_eq!(deleted[0]["taskState"], "Deleted");

    let (_, finished) = api.get("/history/task/count?finished=true").await;
    assert_eq!(finished["count"], 2);
    let (s, mine) = api
        .post("/history/task/count", json!({"taskAssignee": "demo"}))
        .await;
    assert_eq!((s, &mine["count"]), (StatusCode::OK, &json!(1)), "{mine}");
    let (_, sorted) = api
        .get("/history/task?sortBy=startTime&sortOrder=asc&taskDefinitionKey=check")
        .await;
    let ids: Vec<&J> = sorted
        .as_array()
        .expect("list")
        .iter()
        .map(|t| &t["id"])
        .collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[0], &json!(task_a), "{sorted}");
    let (s, e) = api.get("/history/task?sortBy=colour&sortOrder=asc").await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("sortBy parameter has invalid value: colour")
        )
    );
}
