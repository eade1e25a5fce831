//! Indexed queries through HTTP (issue 14 point 3): every indexed list agrees with its count
//! and with the unindexed answer, pages (`firstResult`/`maxResults` with no sort order) tile
//! the full list in creation order, and counts follow tasks being claimed, completed and
//! instances ending.

use reqwest::StatusCode;
use serde_json::{Value as J, json};

use crate::api_rest::Api;

/// start -> external task (topic = key) -> user task (candidate group `team-{n}`) -> end.
fn model(key: &str) -> String {
    baton_tests::bpmn::definitions(
        key,
        &format!(
            r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:serviceTask id="work" camunda:type="external" camunda:topic="{key}" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="review" />
    <bpmn:userTask id="review" camunda:candidateGroups="${{team}}" />
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end" />"#
        ),
    )
}

async fn count(api: &Api, path: &str) -> u64 {
    let (s, b) = api.get(path).await;
    assert_eq!(s, StatusCode::OK, "{path}: {b}");
    b["count"].as_u64().unwrap_or_else(|| panic!("{path}: {b}"))
}

async fn list(api: &Api, path: &str) -> Vec<J> {
    let (s, b) = api.get(path).await;
    assert_eq!(s, StatusCode::OK, "{path}: {b}");
    b.as_array()
        .cloned()
        .unwrap_or_else(|| panic!("{path}: {b}"))
}

fn ids(rows: &[J]) -> Vec<String> {
    rows.iter()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect()
}

/// `path` listed whole, counted, and paged by 3: all agree.
async fn agree(api: &Api, path: &str, count_path: &str, expected: u64) -> Vec<String> {
    let all = ids(&list(api, path).await);
    assert_eq!(all.len() as u64, expected, "{path}");
    assert_eq!(count(api, count_path).await, expected, "{count_path}");
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut paged = Vec::new();
    for first in (0..expected).step_by(3) {
        let page = list(api, &format!("{path}{sep}firstResult={first}&maxResults=3")).await;
        paged.extend(ids(&page));
    }
    assert_eq!(paged, all, "pages of {path} tile the list");
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexed_lists_counts_and_pages_agree_and_follow_changes() {
    let api = Api::default().await;
    api.deploy("order", &model("order")).await;
    api.deploy("invoice", &model("invoice")).await;
    let mut started = Vec::new();
    for i in 0..10 {
        let key = if i % 3 == 0 { "invoice" } else { "order" };
        let (s, b) = api
            .post(
                &format!("/process-definition/key/{key}/start"),
                json!({
                    "businessKey": format!("{key}-{i}"),
                    "variables": {"team": {"value": format!("team-{}", i % 2), "type": "String"}}
                }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        started.push(b["id"].as_str().expect("id").to_owned());
    }
    // Running instances: by key (index), by business key prefix (index), unindexed.
    let orders = agree(
        &api,
        "/process-instance?processDefinitionKey=order",
        "/process-instance/count?processDefinitionKey=order",
        6,
    )
    .await;
    let in_creation_order: Vec<String> = started
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 0)
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(
        orders, in_creation_order,
        "unsorted lists come in creation order"
    );
    agree(
        &api,
        "/process-instance?businessKeyLike=order-%25",
        "/process-instance/count?businessKeyLike=order-%25",
        6,
    )
    .await;
    agree(
        &api,
        "/process-instance?processDefinitionKey=order&active=true",
        "/process-instance/count?processDefinitionKey=order&active=true",
        6,
    )
    .await;
    // External tasks by topic, and by topic plus an unindexed filter.
    agree(
        &api,
        "/external-task?topicName=invoice",
        "/external-task/count?topicName=invoice",
        4,
    )
    .await;
    agree(
        &api,
        "/external-task?topicName=invoice&notLocked=true",
        "/external-task/count?topicName=invoice&notLocked=true",
        4,
    )
    .await;
    // Move every instance to its user task.
    for topic in ["order", "invoice"] {
        let (s, tasks) = api
            .post(
                "/external-task/fetchAndLock",
                json!({"workerId": "w", "maxTasks": 20,
                       "topics": [{"topicName": topic, "lockDuration": 60000}]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{tasks}");
        for t in tasks.as_array().expect("tasks") {
            let id = t["id"].as_str().expect("id");
            let (s, b) = api
                .post(
                    &format!("/external-task/{id}/complete"),
                    json!({"workerId": "w"}),
                )
                .await;
            assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
        }
    }
    assert_eq!(
        count(&api, "/external-task/count?topicName=invoice").await,
        0
    );
    // Candidate group (unassigned tasks offered to it) and assignee, as claims move them.
    agree(
        &api,
        "/task?candidateGroup=team-0",
        "/task/count?candidateGroup=team-0",
        5,
    )
    .await;
    let team0 = ids(&list(&api, "/task?candidateGroup=team-0").await);
    for id in &team0[..2] {
        let (s, b) = api
            .post(&format!("/task/{id}/claim"), json!({"userId": "mary"}))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    }
    assert_eq!(count(&api, "/task/count?candidateGroup=team-0").await, 3);
    assert_eq!(
        count(
            &api,
            "/task/count?candidateGroup=team-0&includeAssignedTasks=true"
        )
        .await,
        5
    );
    agree(&api, "/task?assignee=mary", "/task/count?assignee=mary", 2).await;
    // Finishing instances moves them between the finished and unfinished history counts.
    let (s, b) = api
        .post(&format!("/task/{}/complete", team0[0]), json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(count(&api, "/task/count?assignee=mary").await, 1);
    agree(
        &api,
        "/history/process-instance?finished=true",
        "/history/process-instance/count?finished=true",
        1,
    )
    .await;
    agree(
        &api,
        "/history/process-instance?unfinished=true",
        "/history/process-instance/count?unfinished=true",
        9,
    )
    .await;
    let finished_key =
        list(&api, "/history/process-instance?finished=true").await[0]["processDefinitionKey"]
            .as_str()
            .expect("key")
            .to_owned();
    let running_of_key = if finished_key == "order" { 5 } else { 3 };
    assert_eq!(
        count(
            &api,
            &format!(
                "/history/process-instance/count?processDefinitionKey={finished_key}&unfinished=true"
            )
        )
        .await,
        running_of_key
    );
    assert_eq!(
        count(
            &api,
            "/history/process-instance/count?finished=true&unfinished=true"
        )
        .await,
        0
    );
    assert_eq!(count(&api, "/process-instance/count").await, 9);
}
