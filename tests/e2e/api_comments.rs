//! Comments and attachments through the real HTTP server: task comments (create, list, get,
//! update, delete one and all), process instance comments (list, update, delete), task
//! attachments (multipart content, a JSON url, list, get, data, delete), Camunda's error
//! answers, the size limit, a restart that keeps them, and their removal with the
//! instance's history.

use baton_tests::bpmn::definitions;
use reqwest::{Method, StatusCode};
use serde_json::{Value as J, json};

use crate::api_ops::OpsApi;

fn review() -> String {
    definitions(
        "review",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
    <bpmn:userTask id="check" />
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    )
}

/// One review instance and its task id.
async fn review_task(api: &OpsApi) -> (String, String) {
    api.deploy("review", &review()).await;
    let pi = api.start_instance("review").await;
    let tasks = api.get(&format!("/task?processInstanceId={pi}")).await;
    (pi, tasks[0]["id"].as_str().expect("task").to_owned())
}

fn messages(list: &J) -> Vec<&str> {
    list.as_array()
        .expect("comments")
        .iter()
        .map(|c| c["message"].as_str().expect("message"))
        .collect()
}

async fn comment(api: &OpsApi, task: &str, message: &str) -> J {
    let (s, c) = api
        .post(
            &format!("/task/{task}/comment/create"),
            json!({"message": message}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    c
}

async fn no_content(api: &OpsApi, method: Method, path: &str, body: Option<J>) {
    let (s, b) = api.send(method.clone(), path, body).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{method} {path}: {b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_on_tasks_and_instances_are_kept_until_the_history_goes() {
    let api = OpsApi::start().await;
    let (pi, task) = review_task(&api).await;
    let first = comment(&api, &task, "looks fine").await;
    assert_eq!(
        (
            &first["taskId"],
            &first["processInstanceId"],
            &first["userId"]
        ),
        (&json!(task), &json!(pi), &J::Null)
    );
    assert!(first["time"].is_string() && first["links"][0]["rel"] == json!("self"));
    let second = comment(&api, &task, "second thought").await;
    let third = comment(&api, &task, "third").await;
    let tc = format!("/task/{task}/comment");
    assert_eq!(
        messages(&api.get(&tc).await),
        ["looks fine", "second thought", "third"]
    );
    let c2 = second["id"].as_str().expect("id");
    assert_eq!(
        api.get(&format!("{tc}/{c2}")).await["message"],
        json!("second thought")
    );
    no_content(
        &api,
        Method::PUT,
        &tc,
        Some(json!({"id": c2, "message": "changed my mind"})),
    )
    .await;
    let c3 = third["id"].as_str().expect("id");
    no_content(&api, Method::DELETE, &format!("{tc}/{c3}"), None).await;
    let pc = format!("/process-instance/{pi}/comment");
    assert_eq!(
        messages(&api.get(&pc).await),
        ["looks fine", "changed my mind"]
    );
    let c1 = first["id"].as_str().expect("id");
    no_content(
        &api,
        Method::PUT,
        &pc,
        Some(json!({"id": c1, "message": "looks fine to me"})),
    )
    .await;

    let api = api.restart().await;
    assert_eq!(
        messages(&api.get(&tc).await),
        ["looks fine to me", "changed my mind"]
    );
    no_content(&api, Method::DELETE, &format!("{pc}/{c2}"), None).await;
    assert_eq!(messages(&api.get(&pc).await), ["looks fine to me"]);

    // The task completes: its comments stay with the instance's history ...
    let (s, b) = api.post(&format!("/task/{task}/complete"), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(messages(&api.get(&tc).await), ["looks fine to me"]);
    // ... and go with it.
    no_content(
        &api,
        Method::DELETE,
        &format!("/history/process-instance/{pi}"),
        None,
    )
    .await;
    let (s, e) = api.send(Method::GET, &pc, None).await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!(format!("No process instance found for id {pi}"))
        )
    );
    let (s, e) = api.send(Method::GET, &tc, None).await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!(format!("No task found for task id {task}"))
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_comment_requests_get_camundas_answers() {
    let api = OpsApi::start().await;
    let (pi, task) = review_task(&api).await;
    let (s, e) = api
        .post("/task/nope/comment/create", json!({"message": "hi"}))
        .await;
    assert_eq!(
        (s, &e["type"], &e["message"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("InvalidRequestException"),
            &json!("No task found for task id nope")
        )
    );
    let (s, e) = api
        .send(Method::GET, &format!("/task/{task}/comment/nope"), None)
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!(format!(
                "Task comment with id nope does not exist for task id '{task}'."
            ))
        )
    );
    let (s, e) = api
        .send(
            Method::DELETE,
            &format!("/process-instance/{pi}/comment/nope"),
            None,
        )
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!(format!(
                "Deletion is not possible. No comment exists for processInstanceId '{pi}' and comment id 'nope'."
            ))
        )
    );
    let (s, e) = api
        .send(
            Method::PUT,
            &format!("/task/{task}/comment"),
            Some(json!({"id": "nope", "message": "x"})),
        )
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!(format!(
                "Update is not possible. No comment exists for task id '{task}' and comment id 'nope'."
            ))
        )
    );
    // A message over the client limit on a variable (4 MiB by default) is refused.
    let big = "x".repeat(4 * 1024 * 1024 + 1);
    let (s, _) = api
        .post(
            &format!("/task/{task}/comment/create"),
            json!({"message": big}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    no_content(&api, Method::DELETE, &format!("/task/{task}/comment"), None).await;
    assert_eq!(api.get(&format!("/task/{task}/comment")).await, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_keep_their_content_across_a_restart() {
    let api = OpsApi::start().await;
    let (pi, task) = review_task(&api).await;
    let client = reqwest::Client::new();
    let base = api.base_url();
    let content: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let form = reqwest::multipart::Form::new()
        .text("attachment-name", "scan.bin")
        .text("attachment-type", "application/octet-stream")
        .text("attachment-description", "the signed form")
        .part("content", reqwest::multipart::Part::bytes(content.clone()));
    let r = client
        .post(format!("{base}/task/{task}/attachment/create"))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::OK);
    let scan: J = r.json().await.expect("json");
    assert_eq!(
        (
            &scan["name"],
            &scan["taskId"],
            &scan["url"],
            &scan["rootProcessInstanceId"]
        ),
        (&json!("scan.bin"), &json!(task), &J::Null, &json!(pi))
    );
    let (s, link) = api
        .post(
            &format!("/task/{task}/attachment/create"),
            json!({"name": "spec", "type": "url", "url": "https://example.org/spec"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{link}");

    let api = api.restart().await;
    let base = api.base_url();
    let list = api.get(&format!("/task/{task}/attachment")).await;
    let names: Vec<&J> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|a| &a["name"])
        .collect();
    assert_eq!(names, [&json!("scan.bin"), &json!("spec")]);
    let scan_id = scan["id"].as_str().expect("id");
    let got = client
        .get(format!("{base}/task/{task}/attachment/{scan_id}/data"))
        .send()
        .await
        .expect("data");
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.expect("bytes").to_vec(), content);
    let link_id = link["id"].as_str().expect("id");
    assert_eq!(
        api.get(&format!("/task/{task}/attachment/{link_id}")).await["url"],
        json!("https://example.org/spec")
    );
    let (s, e) = api
        .send(
            Method::GET,
            &format!("/task/{task}/attachment/{link_id}/data"),
            None,
        )
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!(format!(
                "Attachment content for attachment with id '{link_id}' does not exist for task id '{task}'."
            ))
        )
    );
    no_content(
        &api,
        Method::DELETE,
        &format!("/task/{task}/attachment/{scan_id}"),
        None,
    )
    .await;
    let (s, e) = api
        .send(
            Method::DELETE,
            &format!("/task/{task}/attachment/{scan_id}"),
            None,
        )
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!(format!(
                "Deletion is not possible. No attachment exists for task id '{task}' and attachment id '{scan_id}'."
            ))
        )
    );
    let (s, e) = api
        .post(
            &format!("/task/{task}/attachment/create"),
            json!({"name": "empty"}),
        )
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("No content or url to remote content exists to create the task attachment.")
        )
    );
}
