//! Saved filters (the Tasklist's) through the real HTTP server: create a task filter, list
//! and count filters (with `itemCount`), run it (list, count, singleResult; GET, and POST
//! extended by a query in the body), update, delete, Camunda's error answers, and a restart
//! that keeps it.

use baton_tests::bpmn::definitions;
use reqwest::{Method, StatusCode};
use serde_json::{Value as J, json};

use crate::api_ops::OpsApi;

fn review() -> String {
    definitions(
        "review",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
    <bpmn:userTask id="check" camunda:candidateGroups="sales" />
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    )
}

fn task_ids(list: &J) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

/// Three review tasks; the first is claimed by `demo`. Returns the task ids in start order.
async fn three_tasks(api: &OpsApi) -> Vec<String> {
    api.deploy("review", &review()).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let pi = api.start_instance("review").await;
        let tasks = api.get(&format!("/task?processInstanceId={pi}")).await;
        ids.push(tasks[0]["id"].as_str().expect("task").to_owned());
    }
    let (s, b) = api
        .post(
            &format!("/task/{}/claim", ids[0]),
            json!({"userId": "demo"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_filter_runs_its_query_extended_or_not_and_survives_a_restart() {
    let api = OpsApi::start().await;
    let ids = three_tasks(&api).await;
    let (s, created) = api
        .post(
            "/filter/create",
            json!({"resourceType": "Task", "name": "Sales inbox", "owner": "demo",
                   "query": {"candidateGroup": "sales"},
                   "properties": {"color": "#3e4d2f", "priority": 5}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{created}");
    let id = created["id"].as_str().expect("filter id").to_owned();
    assert_eq!(created["query"], json!({"candidateGroup": "sales"}));
    assert_eq!(created["properties"]["priority"], json!(5));

    // The candidate query leaves out the claimed task.
    let mut unclaimed = ids[1..].to_vec();
    unclaimed.sort();
    assert_eq!(
        task_ids(&api.get(&format!("/filter/{id}/list")).await),
        unclaimed
    );
    assert_eq!(
        api.get(&format!("/filter/{id}/count")).await,
        json!({"count": 2})
    );
    let listed = api.get("/filter?itemCount=true&owner=demo").await;
    assert_eq!(
        (listed[0]["id"].as_str(), &listed[0]["itemCount"]),
        (Some(id.as_str()), &json!(2))
    );
    assert_eq!(
        api.get("/filter/count?resourceType=Task").await,
        json!({"count": 1})
    );
    let paged = api
        .get(&format!("/filter/{id}/list?firstResult=0&maxResults=1"))
        .await;
    assert_eq!(paged.as_array().map(Vec::len), Some(1));

    // Extended in the body: its fields win over the stored ones.
    let (s, one) = api
        .post(
            &format!("/filter/{id}/list"),
            json!({"taskIdIn": [ids[2].clone()]}),
        )
        .await;
    assert_eq!((s, task_ids(&one)), (StatusCode::OK, vec![ids[2].clone()]));
    let (_, n) = api
        .post(
            &format!("/filter/{id}/count"),
            json!({"candidateGroup": "sales", "includeAssignedTasks": true}),
        )
        .await;
    assert_eq!(n, json!({"count": 3}));
    let (s, single) = api
        .post(
            &format!("/filter/{id}/singleResult"),
            json!({"taskIdIn": [ids[1].clone()]}),
        )
        .await;
    assert_eq!((s, &single["id"]), (StatusCode::OK, &json!(ids[1])));
    let (s, e) = api
        .send(Method::GET, &format!("/filter/{id}/singleResult"), None)
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("Filter does not returns a valid single result")
        )
    );
    let (s, _) = api
        .post(
            &format!("/filter/{id}/singleResult"),
            json!({"taskIdIn": ["no-such-task"]}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    let (s, b) = api
        .send(
            Method::PUT,
            &format!("/filter/{id}"),
            Some(json!({"resourceType": "Task", "name": "Mine",
                        "query": {"assignee": "demo"}})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");

    let api = api.restart().await;
    let got = api.get(&format!("/filter/{id}?itemCount=true")).await;
    assert_eq!(
        (
            &got["name"],
            &got["query"],
            &got["itemCount"],
            &got["properties"]
        ),
        (
            &json!("Mine"),
            &json!({"assignee": "demo"}),
            &json!(1),
            &json!({})
        )
    );
    assert_eq!(
        task_ids(&api.get(&format!("/filter/{id}/list")).await),
        vec![ids[0].clone()]
    );
    let (s, _) = api
        .send(Method::DELETE, &format!("/filter/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, e) = api
        .send(Method::GET, &format!("/filter/{id}/list"), None)
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!(format!("Filter with id '{id}' does not exist."))
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_filters_get_camundas_answers() {
    let api = OpsApi::start().await;
    let (s, e) = api
        .post(
            "/filter/create",
            json!({"resourceType": "Job", "name": "x"}),
        )
        .await;
    assert_eq!(
        (s, &e["type"], &e["message"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("InvalidRequestException"),
            &json!("Unable to create filter with invalid resource type 'Job'")
        )
    );
    let (s, e) = api
        .post("/filter/create", json!({"resourceType": "Task"}))
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("Unable to create filter with invalid content")
        )
    );
    let (s, created) = api
        .post(
            "/filter/create",
            json!({"resourceType": "Task", "name": "All"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{created}");
    let id = created["id"].as_str().expect("id");
    let (s, e) = api
        .post(
            &format!("/filter/{id}/list"),
            json!(["not", "an", "object"]),
        )
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("Filter cannot be extended by an invalid query")
        )
    );
    let (s, _) = api.send(Method::DELETE, "/filter/nope", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
