//! `/execution/{id}/messageSubscriptions/{name}` through the real HTTP server: an
//! execution waiting at a message catch event shows its subscription, the trigger delivers
//! the message with variables and the instance moves on; Camunda's 404 and 500 answers.

use baton_tests::bpmn::definitions_with;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::api_ops::OpsApi;

fn waiting() -> String {
    definitions_with(
        "waiting",
        r#"<bpmn:message id="m" name="paid"/>"#,
        r#"<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="m"/></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="ship"/>
    <bpmn:userTask id="ship"/><bpmn:sequenceFlow id="f3" sourceRef="ship" targetRef="e"/>
    <bpmn:endEvent id="e"/>"#,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_delivered_to_one_execution() {
    let api = OpsApi::start().await;
    api.deploy("waiting", &waiting()).await;
    let pi = api.start_instance("waiting").await;
    let subs = api
        .get(&format!("/event-subscription?processInstanceId={pi}"))
        .await;
    let execution = subs[0]["executionId"]
        .as_str()
        .expect("execution")
        .to_owned();
    let path = format!("/execution/{execution}/messageSubscriptions/paid");
    let sub = api.get(&path).await;
    assert_eq!(
        (
            &sub["eventType"],
            &sub["eventName"],
            &sub["activityId"],
            &sub["processInstanceId"]
        ),
        (
            &json!("message"),
            &json!("paid"),
            &json!("wait"),
            &json!(pi)
        )
    );
    let (s, e) = api
        .send(
            Method::GET,
            &format!("/execution/{execution}/messageSubscriptions/other"),
            None,
        )
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!(format!(
                "Message event subscription for execution {execution} named other does not exist"
            ))
        )
    );
    let (s, e) = api
        .post(
            &format!("/execution/{execution}/messageSubscriptions/other/trigger"),
            json!({}),
        )
        .await;
    assert_eq!(
        (s, &e["type"]),
        (StatusCode::INTERNAL_SERVER_ERROR, &json!("RestException"))
    );
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Cannot trigger message other for execution")),
        "{e}"
    );

    let (s, b) = api
        .post(
            &format!("{path}/trigger"),
            json!({"variables": {"amount": {"value": 42, "type": "Integer"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(api.task_keys(&pi).await, ["ship"]);
    assert_eq!(
        api.get(&format!("/process-instance/{pi}/variables/amount"))
            .await["value"],
        json!(42)
    );
    let (s, _) = api.send(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
