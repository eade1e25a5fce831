//! `POST /process-definition/{id}/restart` through the real HTTP server: finished instances
//! start again at the instructions, with their business key and their variables (last values
//! or those they started with); bad requests change nothing.

use baton_tests::bpmn::definitions;
use reqwest::StatusCode;
use serde_json::{Value as J, json};

use crate::api_ops::OpsApi;

/// Two user tasks in a row: `first` then `second`.
fn two_steps() -> String {
    definitions(
        "twostep",
        r#"<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="first" />
<bpmn:userTask id="first" /><bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="second" />
<bpmn:userTask id="second" /><bpmn:sequenceFlow id="f3" sourceRef="second" targetRef="e" />
<bpmn:endEvent id="e" />"#,
    )
}

/// The open user tasks of an instance, by activity id, sorted.
async fn open_tasks(api: &OpsApi, instance: &str) -> Vec<String> {
    let tasks = api
        .get(&format!("/task?processInstanceId={instance}"))
        .await;
    let mut keys: Vec<String> = tasks
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["taskDefinitionKey"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    keys.sort();
    keys
}

/// Start with `amount` = 1 and business key `order-7`, change `amount` to 2, then cancel
/// the instance: a finished instance with a start value and a last value.
async fn finished_instance(api: &OpsApi, definition: &str) -> String {
    let (s, b) = api
        .post(
            &format!("/process-definition/{definition}/start"),
            json!({"businessKey": "order-7",
                   "variables": {"amount": {"value": 1, "type": "Integer"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let id = b["id"].as_str().expect("id").to_owned();
    let (s, b) = api
        .post(
            &format!("/process-instance/{id}/variables"),
            json!({"modifications": {"amount": {"value": 2, "type": "Integer"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = api
        .send(
            reqwest::Method::DELETE,
            &format!("/process-instance/{id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    id
}

/// The instances of the definition that run now, other than `old`.
async fn new_instances(api: &OpsApi, definition: &str) -> Vec<J> {
    api.get(&format!(
        "/process-instance?processDefinitionId={definition}"
    ))
    .await
    .as_array()
    .cloned()
    .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_instance_restarts_at_its_instructions_with_key_and_variables() {
    let api = OpsApi::start().await;
    let definition = api.deploy("twostep", &two_steps()).await;
    let old = finished_instance(&api, &definition).await;
    assert!(new_instances(&api, &definition).await.is_empty());

    // Last values, two tokens: before `second` and before `first`.
    let (s, b) = api
        .post(
            &format!("/process-definition/{definition}/restart"),
            json!({"processInstanceIds": [old], "instructions": [
                {"type": "startBeforeActivity", "activityId": "second"},
                {"type": "startBeforeActivity", "activityId": "first"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let running = new_instances(&api, &definition).await;
    assert_eq!(running.len(), 1, "{running:?}");
    let restarted = running[0]["id"].as_str().expect("id").to_owned();
    assert_ne!(restarted, old);
    assert_eq!(running[0]["businessKey"], "order-7");
    assert_eq!(open_tasks(&api, &restarted).await, vec!["first", "second"]);
    let amount = api
        .get(&format!("/process-instance/{restarted}/variables/amount"))
        .await;
    assert_eq!(amount["value"], 2, "the last value: {amount}");

    // Initial values, without the business key.
    let (s, b) = api
        .post(
            &format!("/process-definition/{definition}/restart"),
            json!({"processInstanceIds": [old], "initialVariables": true,
                   "withoutBusinessKey": true,
                   "instructions": [{"type": "startBeforeActivity", "activityId": "first"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let second = new_instances(&api, &definition)
        .await
        .into_iter()
        .find(|p| p["id"] != json!(restarted))
        .expect("a second restart");
    let id = second["id"].as_str().expect("id");
    assert!(second["businessKey"].is_null(), "{second}");
    let amount = api
        .get(&format!("/process-instance/{id}/variables/amount"))
        .await;
    assert_eq!(amount["value"], 1, "the value it started with: {amount}");
    assert_eq!(open_tasks(&api, id).await, vec!["first"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_restarts_are_refused_and_start_nothing() {
    let api = OpsApi::start().await;
    let definition = api.deploy("twostep", &two_steps()).await;
    let old = finished_instance(&api, &definition).await;
    let running = api.start_instance("twostep").await;
    let before = new_instances(&api, &definition).await.len();
    let start_first = json!([{"type": "startBeforeActivity", "activityId": "first"}]);
    let cases = [
        (
            json!({"processInstanceIds": [old]}),
            "Restart instructions cannot be empty",
        ),
        (
            json!({"instructions": start_first}),
            "Process instance ids cannot be empty",
        ),
        (
            json!({"processInstanceIds": [old, running], "instructions": start_first}),
            "cannot be restarted: it is still running",
        ),
        (
            json!({"processInstanceIds": ["no-such-instance"], "instructions": start_first}),
            "Historic process instance cannot be found",
        ),
        (
            json!({"processInstanceIds": [old], "instructions": [
                {"type": "cancel", "activityId": "first"}]}),
            "'cancel' is not a restart instruction",
        ),
    ];
    for (body, expected) in cases {
        let (s, b) = api
            .post(
                &format!("/process-definition/{definition}/restart"),
                body.clone(),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {b}");
        assert_eq!(b["type"], "InvalidRequestException", "{b}");
        let message = b["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{body}: {message}");
    }
    assert_eq!(new_instances(&api, &definition).await.len(), before);
    // An instance of another definition is refused with Camunda's text.
    let other = api
        .deploy(
            "other",
            &definitions(
                "other",
                r#"<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="first" /><bpmn:userTask id="first" />"#,
            ),
        )
        .await;
    let (s, b) = api
        .post(
            &format!("/process-definition/{other}/restart"),
            json!({"processInstanceIds": [old], "instructions": start_first}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(
        b["message"]
            .as_str()
            .unwrap_or_default()
            .contains("does not match given process definition"),
        "{b}"
    );
}
