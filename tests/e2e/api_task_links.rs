//! Task delegation and identity links through the real HTTP server: delegate (owner and
//! PENDING), a delegated task refuses completion, resolve (back to the owner, with
//! variables), identity links listed, added and deleted (the candidate-group index follows),
//! and Camunda's error answers.

use reqwest::StatusCode;
use serde_json::{Value as J, json};

use crate::api_rest::Api;

fn review() -> String {
    baton_tests::bpmn::definitions(
        "review",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
    <bpmn:userTask id="check" camunda:candidateGroups="sales" />
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    )
}

fn link_set(links: &J) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = links
        .as_array()
        .expect("links")
        .iter()
        .map(|l| {
            let who = l["userId"]
                .as_str()
                .map(|u| format!("user:{u}"))
                .or_else(|| l["groupId"].as_str().map(|g| format!("group:{g}")))
                .unwrap_or_default();
            (l["type"].as_str().unwrap_or_default().to_owned(), who)
        })
        .collect();
    out.sort();
    out
}

fn pair(kind: &str, who: &str) -> (String, String) {
    (kind.to_owned(), who.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delegated_task_is_resolved_back_to_its_owner_and_links_follow_changes() {
    let api = Api::default().await;
    api.deploy("review", &review()).await;
    let (s, started) = api
        .post("/process-definition/key/review/start", json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{started}");
    let pi = started["id"].as_str().expect("id").to_owned();
    let (_, tasks) = api.get(&format!("/task?processInstanceId={pi}")).await;
    let id = tasks[0]["id"].as_str().expect("task id").to_owned();
    let links_path = format!("/task/{id}/identity-links");
    let (_, links) = api.get(&links_path).await;
    assert_eq!(link_set(&links), vec![pair("candidate", "group:sales")]);

    let (s, _) = api
        .post(&format!("/task/{id}/claim"), json!({"userId": "demo"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, r) = api
        .post(&format!("/task/{id}/delegate"), json!({"userId": "bob"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{r}");
    let (_, task) = api.get(&format!("/task/{id}")).await;
    assert_eq!(
        (&task["assignee"], &task["owner"], &task["delegationState"]),
        (&json!("bob"), &json!("demo"), &json!("PENDING"))
    );
    let (_, links) = api.get(&format!("{links_path}?type=owner")).await;
    assert_eq!(link_set(&links), vec![pair("owner", "user:demo")]);

    let (s, e) = api.post(&format!("/task/{id}/complete"), json!({})).await;
    assert_eq!(
        (s, &e["type"], &e["message"]),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!("RestException"),
            &json!(format!(
                "Cannot complete task {id}: A delegated task cannot be completed, but should be resolved instead."
            ))
        )
    );

    let (s, r) = api
        .post(
            &format!("/task/{id}/resolve"),
            json!({"variables": {"approved": {"value": true, "type": "Boolean"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{r}");
    let (_, task) = api.get(&format!("/task/{id}")).await;
    assert_eq!(
        (&task["assignee"], &task["delegationState"]),
        (&json!("demo"), &json!("RESOLVED"))
    );
    let (_, approved) = api
        .get(&format!("/process-instance/{pi}/variables/approved"))
        .await;
    assert_eq!(approved["value"], true, "{approved}");

    // Candidates: add a user and a group, drop the original group; the index follows.
    for body in [
        json!({"userId": "carol", "type": "candidate"}),
        json!({"groupId": "managers", "type": "candidate"}),
    ] {
        let (s, r) = api.post(&links_path, body).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{r}");
    }
    let (s, r) = api
        .post(
            &format!("{links_path}/delete"),
            json!({"groupId": "sales", "type": "candidate"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{r}");
    let (_, links) = api.get(&format!("{links_path}?type=candidate")).await;
    assert_eq!(
        link_set(&links),
        vec![
            pair("candidate", "group:managers"),
            pair("candidate", "user:carol")
        ]
    );
    let (s, r) = api
        .post(
            &format!("{links_path}/delete"),
            json!({"userId": "demo", "type": "assignee"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{r}");
    let (_, task) = api.get(&format!("/task/{id}")).await;
    assert_eq!(task["assignee"], J::Null);
    // Unassigned now, so candidate-group queries see it (Camunda's default).
    let (_, sales) = api.get("/task/count?candidateGroup=sales").await;
    let (_, managers) = api.get("/task?candidateGroup=managers").await;
    assert_eq!(sales["count"], 0);
    assert_eq!(managers[0]["id"], id.as_str(), "{managers}");

    let cases = [
        (
            links_path.clone(),
            json!({"userId": "a", "groupId": "b", "type": "candidate"}),
            StatusCode::BAD_REQUEST,
            "Identity Link requires userId or groupId, but not both.",
        ),
        (
            links_path.clone(),
            json!({"type": "candidate"}),
            StatusCode::BAD_REQUEST,
            "Identity Link requires userId or groupId.",
        ),
        (
            "/task/nope/delegate".to_owned(),
            json!({"userId": "bob"}),
            StatusCode::INTERNAL_SERVER_ERROR,
            "Cannot find task with id nope: task is null",
        ),
    ];
    for (path, body, status, message) in cases {
        let (s, e) = api.post(&path, body).await;
        assert_eq!((s, &e["message"]), (status, &json!(message)), "{path}");
    }

    let (s, r) = api.post(&format!("/task/{id}/complete"), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{r}");
    let (_, h) = api.get(&format!("/history/process-instance/{pi}")).await;
    assert_eq!(h["state"], "COMPLETED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bpmn_error_from_a_user_task_is_caught_by_its_boundary_event() {
    let api = Api::default().await;
    let xml = baton_tests::bpmn::definitions_with(
        "claim",
        r#"  <bpmn:error id="Err_rejected" errorCode="REJECTED" />"#,
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide" />
    <bpmn:userTask id="decide" />
    <bpmn:boundaryEvent id="rejected" attachedToRef="decide">
      <bpmn:errorEventDefinition errorRef="Err_rejected" />
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="accepted" />
    <bpmn:endEvent id="accepted" />
    <bpmn:sequenceFlow id="f3" sourceRef="rejected" targetRef="refused" />
    <bpmn:endEvent id="refused" />"#,
    );
    api.deploy("claim", &xml).await;
    let (s, started) = api
        .post("/process-definition/key/claim/start", json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{started}");
    let pi = started["id"].as_str().expect("id").to_owned();
    let (_, tasks) = api.get(&format!("/task?processInstanceId={pi}")).await;
    let id = tasks[0]["id"].as_str().expect("task id").to_owned();

    let (s, e) = api.post(&format!("/task/{id}/bpmnError"), json!({})).await;
    assert_eq!(
        (s, &e["type"], &e["message"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("BadUserRequestException"),
            &json!("errorCode is empty")
        )
    );
    let (s, e) = api
        .post("/task/nope/bpmnError", json!({"errorCode": "REJECTED"}))
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!("Cannot find task with id nope: task is null")
        )
    );
    let (s, r) = api
        .post(
            &format!("/task/{id}/bpmnError"),
            json!({"errorCode": "REJECTED", "errorMessage": "not covered",
                   "variables": {"reason": {"value": "expired", "type": "String"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{r}");
    let (_, h) = api.get(&format!("/history/process-instance/{pi}")).await;
    assert_eq!(h["state"], "COMPLETED", "{h}");
    let (_, acts) = api
        .get(&format!(
            "/history/activity-instance?processInstanceId={pi}&activityId=refused"
        ))
        .await;
    assert_eq!(
        acts.as_array().map(Vec::len),
        Some(1),
        "ended at the error path: {acts}"
    );
    let (_, reason) = api
        .get(&format!(
            "/history/variable-instance?processInstanceId={pi}&variableName=reason"
        ))
        .await;
    assert_eq!(reason[0]["value"], "expired", "{reason}");
    let (_, left) = api
        .get(&format!("/task/count?processInstanceId={pi}"))
        .await;
    assert_eq!(left["count"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_task_overwrites_its_attributes() {
    let api = Api::default().await;
    api.deploy("review", &review()).await;
    let (_, started) = api
        .post("/process-definition/key/review/start", json!({}))
        .await;
    let pi = started["id"].as_str().expect("id").to_owned();
    let (_, tasks) = api.get(&format!("/task?processInstanceId={pi}")).await;
    let id = tasks[0]["id"].as_str().expect("task id").to_owned();
    let due = "2027-01-31T12:00:00.000+0000";
    let (s, r) = api
        .put(
            &format!("/task/{id}"),
            json!({"name": "Check big order", "description": "over 1000", "assignee": "demo",
                   "owner": "lead", "priority": 80, "due": due}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{r}");
    let (_, task) = api.get(&format!("/task/{id}")).await;
    assert_eq!(
        (
            &task["name"],
            &task["description"],
            &task["assignee"],
            &task["owner"],
            &task["priority"],
            &task["due"],
            &task["followUp"]
        ),
        (
            &json!("Check big order"),
            &json!("over 1000"),
            &json!("demo"),
            &json!("lead"),
            &json!(80),
            &json!(due),
            &J::Null
        )
    );
    let (_, mine) = api.get("/task?assignee=demo").await;
    assert_eq!(
        mine[0]["id"],
        id.as_str(),
        "the assignee index follows: {mine}"
    );
    let (s, e) = api
        .put(&format!("/task/{id}"), json!({"delegationState": "LATER"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, e) = api.put("/task/nope", json!({"name": "x"})).await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!("No matching task with id nope")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_task_local_variable_is_served_as_data() {
    let api = Api::default().await;
    api.deploy("review", &review()).await;
    let (_, started) = api
        .post("/process-definition/key/review/start", json!({}))
        .await;
    let pi = started["id"].as_str().expect("id").to_owned();
    let (_, tasks) = api.get(&format!("/task?processInstanceId={pi}")).await;
    let id = tasks[0]["id"].as_str().expect("task id").to_owned();
    for (name, body) in [
        ("doc", json!({"value": "aGk=", "type": "Bytes"})),
        ("note", json!({"value": "plain", "type": "String"})),
    ] {
        let (s, r) = api
            .put(&format!("/task/{id}/localVariables/{name}"), body)
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{r}");
    }
    let r = api
        .client
        .get(api.url(&format!("/task/{id}/localVariables/doc/data")))
        .send()
        .await
        .expect("data");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), b"hi");
    let (s, e) = api
        .get(&format!("/task/{id}/localVariables/note/data"))
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("Value of variable with id note is not a binary value.")
        )
    );
    // A name the task does not hold is a 404.
    let (s, _) = api
        .get(&format!("/task/{id}/localVariables/missing/data"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
