//! Issue 3 item 10: messages (by name, business key and correlation keys; message start
//! events) and signals (broadcast to catch events and signal start events).

use baton::engine::{CorrelateRequest, CorrelationResult, ProcessEngineError, StartRequest};
use baton_bpmn::{Value, Variables};
use baton_tests::bpmn::definitions_with;
use baton_tests::{TestEngine, vars};

fn waits_for_payment() -> String {
    definitions_with(
        "order",
        r#"  <bpmn:message id="m_paid" name="paid" />"#,
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:messageEventDefinition messageRef="m_paid" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    )
}

async fn start_order(t: &TestEngine, business_key: &str, order_id: i32) -> String {
    t.start_with(
        "order",
        StartRequest {
            business_key: Some(business_key.into()),
            variables: vars([("orderId", Value::Integer(order_id))]),
            ..StartRequest::default()
        },
    )
    .await
    .instance
    .id()
    .to_owned()
}

#[tokio::test]
async fn a_message_is_correlated_by_name_and_business_key() {
    let t = TestEngine::new().await;
    t.deploy("order", &waits_for_payment()).await;
    let a = start_order(&t, "A", 1).await;
    let b = start_order(&t, "B", 2).await;
    let results = t
        .engine
        .correlate_message(CorrelateRequest {
            message_name: "paid".into(),
            business_key: Some("B".into()),
            process_variables: vars([("paidBy", Value::String("card".into()))]),
            ..CorrelateRequest::default()
        })
        .await
        .expect("correlate");
    assert_eq!(results.len(), 1);
    match &results[0] {
        CorrelationResult::Execution {
            process_instance_id,
            ended,
            variables,
            ..
        } => {
            assert_eq!(process_instance_id, &b);
            assert!(ended);
            assert_eq!(variables.get("paidBy"), Some(&Value::String("card".into())));
        }
        other => panic!("expected an execution, got {other:?}"),
    }
    assert_eq!(t.instance_state(&a).await, "ACTIVE");
    assert_eq!(t.instance_state(&b).await, "COMPLETED");
}

#[tokio::test]
async fn a_message_is_correlated_by_correlation_keys() {
    let t = TestEngine::new().await;
    t.deploy("order", &waits_for_payment()).await;
    let a = start_order(&t, "same", 1).await;
    let b = start_order(&t, "same", 2).await;
    t.engine
        .correlate_message(CorrelateRequest {
            message_name: "paid".into(),
            correlation_keys: vars([("orderId", Value::Integer(1))]),
            ..CorrelateRequest::default()
        })
        .await
        .expect("correlate");
    assert_eq!(t.instance_state(&a).await, "COMPLETED");
    assert_eq!(t.instance_state(&b).await, "ACTIVE");

    // Nothing matches: Camunda's MismatchingMessageCorrelationException, nothing changes.
    let e = t
        .engine
        .correlate_message(CorrelateRequest {
            message_name: "paid".into(),
            correlation_keys: vars([("orderId", Value::Integer(99))]),
            ..CorrelateRequest::default()
        })
        .await
        .expect_err("no match");
    assert!(
        matches!(e, ProcessEngineError::MismatchingCorrelation(_)),
        "{e:?}"
    );
    assert_eq!(t.instance_state(&b).await, "ACTIVE");

    // Two matches without `all`: refused; with `all`: both.
    let c = start_order(&t, "same", 2).await;
    let e = t
        .engine
        .correlate_message(CorrelateRequest {
            message_name: "paid".into(),
            business_key: Some("same".into()),
            ..CorrelateRequest::default()
        })
        .await
        .expect_err("ambiguous");
    assert!(
        matches!(e, ProcessEngineError::MismatchingCorrelation(_)),
        "{e:?}"
    );
    let all = t
        .engine
        .correlate_message(CorrelateRequest {
            message_name: "paid".into(),
            correlation_keys: vars([("orderId", Value::Integer(2))]),
            all: true,
            ..CorrelateRequest::default()
        })
        .await
        .expect("correlate all");
    assert_eq!(all.len(), 2);
    assert_eq!(t.instance_state(&b).await, "COMPLETED");
    assert_eq!(t.instance_state(&c).await, "COMPLETED");
}

#[tokio::test]
async fn a_message_start_event_starts_an_instance() {
    let t = TestEngine::new().await;
    let xml = definitions_with(
        "inbox",
        r#"  <bpmn:message id="m_new" name="newOrder" />"#,
        r#"    <bpmn:startEvent id="start">
      <bpmn:messageEventDefinition messageRef="m_new" />
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:userTask id="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    );
    t.deploy("inbox", &xml).await;
    let results = t
        .engine
        .correlate_message(CorrelateRequest {
            message_name: "newOrder".into(),
            business_key: Some("o-7".into()),
            process_variables: vars([("item", Value::String("book".into()))]),
            ..CorrelateRequest::default()
        })
        .await
        .expect("correlate");
    assert_eq!(results.len(), 1);
    let CorrelationResult::ProcessDefinition { instance, ended } = &results[0] else {
        panic!("expected a started instance: {results:?}");
    };
    assert!(!ended);
    assert_eq!(instance.state.business_key.as_deref(), Some("o-7"));
    assert_eq!(instance.definition_key, "inbox");
    let task = t.engine.user_tasks().await.expect("tasks").remove(0);
    let v = t.engine.task_variables(&task.id).await.expect("variables");
    assert_eq!(v.get("item"), Some(&Value::String("book".into())));
}

#[tokio::test]
async fn a_signal_reaches_every_catch_event_and_signal_start() {
    let t = TestEngine::new().await;
    let catcher = definitions_with(
        "catcher",
        r#"  <bpmn:signal id="s_go" name="go" />"#,
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:signalEventDefinition signalRef="s_go" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    );
    let starter = definitions_with(
        "starter",
        r#"  <bpmn:signal id="s_go2" name="go" />"#,
        r#"    <bpmn:startEvent id="start">
      <bpmn:signalEventDefinition signalRef="s_go2" />
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:userTask id="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    );
    t.deploy("catcher", &catcher).await;
    t.deploy("starter", &starter).await;
    let a = t
        .start("catcher", Variables::new())
        .await
        .instance
        .id()
        .to_owned();
    let b = t
        .start("catcher", Variables::new())
        .await
        .instance
        .id()
        .to_owned();
    t.engine
        .signal("other", Variables::new(), None)
        .await
        .expect("a signal nobody waits for is fine");
    assert_eq!(t.instance_state(&a).await, "ACTIVE");
    t.engine
        .signal("go", vars([("why", Value::String("launch".into()))]), None)
        .await
        .expect("signal");
    assert_eq!(t.instance_state(&a).await, "COMPLETED");
    assert_eq!(t.instance_state(&b).await, "COMPLETED");
    let started: Vec<_> = t
        .engine
        .historic_process_instances()
        .await
        .expect("history")
        .into_iter()
        .filter(|h| h.process_definition_key == "starter")
        .collect();
    assert_eq!(
        started.len(),
        1,
        "the signal start event started one instance"
    );
    let task = t.engine.user_tasks().await.expect("tasks").remove(0);
    let v = t.engine.task_variables(&task.id).await.expect("variables");
    assert_eq!(v.get("why"), Some(&Value::String("launch".into())));
}

/// Found by the chaos run (issue 20): a message correlated to a catch event left its event
/// subscription behind until the instance ended, so it was still listed and a second
/// correlation failed with a 500 instead of Camunda's 400.
#[tokio::test]
async fn a_correlated_message_removes_its_subscription() {
    let server = baton_tests::TestServer::start().await.expect("server");
    let model = definitions_with(
        "order",
        r#"  <bpmn:message id="m_paid" name="paid" />"#,
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:messageEventDefinition messageRef="m_paid" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="ship" />
    <bpmn:userTask id="ship" />
    <bpmn:sequenceFlow id="f3" sourceRef="ship" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    );
    let c = &server.client;
    c.deploy("order", &model).await.expect("deploy");
    let id = c
        .start("order", serde_json::json!({}))
        .await
        .expect("start");
    let subscriptions = format!("/event-subscription?processInstanceId={id}");
    let listed = c
        .get(&subscriptions)
        .await
        .expect("list")
        .json()
        .expect("200");
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let body = serde_json::json!({"messageName": "paid", "processInstanceId": id});
    let first = c.post("/message", &body).await.expect("correlate");
    assert!(first.ok(), "{first:?}");

    // Past the catch event, waiting at the user task: no subscription is left.
    let listed = c
        .get(&subscriptions)
        .await
        .expect("list")
        .json()
        .expect("200");
    assert_eq!(listed, serde_json::json!([]));
    let running = c
        .get(&format!("/process-instance/{id}"))
        .await
        .expect("get");
    assert_eq!(running.status, 200, "{running:?}");
    let second = c.post("/message", &body).await.expect("correlate again");
    assert_eq!(second.status, 400, "{second:?}");
    assert!(
        second.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("Cannot correlate message 'paid'")),
        "{second:?}"
    );
}
