//! `/execution/{id}/messageSubscriptions/{name}` through the real HTTP server: reading an
//! execution's message subscription and triggering it with variables.

use baton_tests::bpmn::definitions_with;
use reqwest::StatusCode;
use serde_json::json;

use crate::api_definition_extras::ExtrasApi;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_executions_message_subscription_is_read_and_triggered() {
    let api = ExtrasApi::start().await;
    let xml = definitions_with(
        "pay",
        r#"  <bpmn:message id="m_paid" name="paid" />"#,
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:messageEventDefinition messageRef="m_paid" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    );
    api.deploy("pay", &xml).await;
    let pi = api.start_instance("pay").await;
    let subs = api
        .get(&format!("/event-subscription?processInstanceId={pi}"))
        .await;
    let execution = subs[0]["executionId"]
        .as_str()
        .expect("execution")
        .to_owned();

    let sub = api
        .get(&format!("/execution/{execution}/messageSubscriptions/paid"))
        .await;
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
    let (s, b) = api
        .send(
            reqwest::Method::GET,
            &format!("/execution/{execution}/messageSubscriptions/other"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        b["message"],
        format!("Message event subscription for execution {execution} named other does not exist")
    );

    let (s, b) = api
        .post(
            &format!("/execution/{execution}/messageSubscriptions/paid/trigger"),
            json!({"variables": {"amount": {"value": 5, "type": "Integer"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let h = api.get(&format!("/history/process-instance/{pi}")).await;
    assert_eq!(h["state"], "COMPLETED");
    let vars = api
        .get(&format!(
            "/history/variable-instance?processInstanceId={pi}&variableName=amount"
        ))
        .await;
    assert_eq!(vars[0]["value"], 5);
    let (s, b) = api
        .post(
            &format!("/execution/{execution}/messageSubscriptions/paid/trigger"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{b}");
    assert_eq!(b["type"], "RestException");
}
