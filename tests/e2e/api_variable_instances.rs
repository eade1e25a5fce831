//! `/variable-instance` through the real HTTP server: the variables of running instances
//! (process level and task-local), filters, sort, count, get by id, binary `/data`, and that a
//! finished instance's variables are gone (they stay in `/history/variable-instance`).

use reqwest::StatusCode;
use serde_json::{Value as J, json};

use crate::api_rest::Api;

fn approval() -> String {
    baton_tests::bpmn::definitions(
        "approval",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve" />
    <bpmn:userTask id="approve" />
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    )
}

async fn start(api: &Api, amount: i64, customer: &str) -> String {
    let (s, b) = api
        .post(
            "/process-definition/key/approval/start",
            json!({"variables": {
                "amount": {"value": amount, "type": "Long"},
                "customer": {"value": customer, "type": "String"},
                "scan": {"value": "aGVsbG8=", "type": "Bytes"}
            }}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["id"].as_str().expect("id").to_owned()
}

fn names(list: &J) -> Vec<&str> {
    list.as_array()
        .expect("list")
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect()
}

/// One variable by id, a binary variable's content, and Camunda's errors for a non-binary
/// variable's data and an unknown id.
async fn read_by_id(api: &Api, id: &str, scan: &str) {
    let (s, one) = api.get(&format!("/variable-instance/{id}")).await;
    assert_eq!((s, &one["value"]), (StatusCode::OK, &json!(250)), "{one}");
    let r = api
        .client
        .get(api.url(&format!("/variable-instance/{scan}/data")))
        .send()
        .await
        .expect("data");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), b"hello");
    let (s, e) = api.get(&format!("/variable-instance/{id}/data")).await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::BAD_REQUEST,
            &json!(format!(
                "Value of variable with id {id} is not a binary value."
            ))
        )
    );
    let (s, e) = api.get("/variable-instance/nope").await;
    assert_eq!(
        (s, &e["type"], &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!("InvalidRequestException"),
            &json!("Variable instance with Id 'nope' does not exist.")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_variables_are_listed_filtered_and_read_by_id() {
    let api = Api::default().await;
    api.deploy("approval", &approval()).await;
    let a = start(&api, 250, "Ada").await;
    let b = start(&api, 5000, "Bob").await;
    let (_, tasks) = api.get(&format!("/task?processInstanceId={a}")).await;
    let task = tasks[0]["id"].as_str().expect("task id").to_owned();
    let (s, r) = api
        .put(
            &format!("/task/{task}/localVariables/note"),
            json!({"value": "check stock", "type": "String"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{r}");

    let (s, all) = api
        .get("/variable-instance?sortBy=variableName&sortOrder=asc")
        .await;
    assert_eq!(s, StatusCode::OK, "{all}");
    assert_eq!(
        names(&all),
        vec![
            "amount", "amount", "customer", "customer", "note", "scan", "scan"
        ]
    );
    let (_, count) = api.get("/variable-instance/count").await;
    assert_eq!(count["count"], 7);

    let (_, of_a) = api
        .get(&format!(
            "/variable-instance?processInstanceIdIn={a}&sortBy=variableName&sortOrder=asc"
        ))
        .await;
    assert_eq!(names(&of_a), vec!["amount", "customer", "note", "scan"]);
    let amount = &of_a[0];
    assert_eq!(
        (
            &amount["type"],
            &amount["value"],
            &amount["processInstanceId"]
        ),
        (&json!("Long"), &json!(250), &json!(a))
    );
    assert_eq!(amount["activityInstanceId"], a.as_str(), "process scope");
    assert_eq!(amount["taskId"], J::Null);
    let note = &of_a[2];
    assert_eq!(
        note["taskId"],
        task.as_str(),
        "a task-local variable: {note}"
    );
    assert_ne!(note["activityInstanceId"], a.as_str());
    // The same id as the history record.
    let (_, hist) = api
        .get(&format!(
            "/history/variable-instance?processInstanceId={a}&variableName=amount"
        ))
        .await;
    assert_eq!(hist[0]["id"], amount["id"]);

    let (_, by_task) = api
        .get(&format!("/variable-instance?taskIdIn={task}"))
        .await;
    assert_eq!(names(&by_task), vec!["note"]);
    let (_, big) = api
        .post(
            "/variable-instance",
            json!({"variableValues": [{"name": "amount", "operator": "gt", "value": 1000}]}),
        )
        .await;
    assert_eq!(big.as_array().map(Vec::len), Some(1), "{big}");
    assert_eq!(big[0]["processInstanceId"], b.as_str());
    let (_, like) = api
        .get("/variable-instance/count?variableNameLike=cust%25")
        .await;
    assert_eq!(like["count"], 2);
    let (_, page) = api
        .get("/variable-instance?sortBy=variableName&sortOrder=desc&firstResult=1&maxResults=2")
        .await;
    assert_eq!(names(&page), vec!["scan", "note"]);

    let id = amount["id"].as_str().expect("id").to_owned();
    let scan = of_a[3]["id"].as_str().expect("id").to_owned();
    read_by_id(&api, &id, &scan).await;

    // A finished instance has no running variables; its history keeps them.
    let (s, r) = api.post(&format!("/task/{task}/complete"), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{r}");
    let (_, left) = api
        .get(&format!("/variable-instance/count?processInstanceIdIn={a}"))
        .await;
    assert_eq!(left["count"], 0);
    let (s, _) = api.get(&format!("/variable-instance/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, hist) = api
        .get(&format!(
            "/history/variable-instance/count?processInstanceId={a}"
        ))
        .await;
    assert_eq!(hist["count"], 4);
}
