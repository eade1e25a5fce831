//! BPMN semantics that follow Camunda 7 exactly, through the REST API on 127.0.0.1:0 (issue 17):
//! error texts clients parse, uncaught BPMN errors, errors across call activities, wait states
//! and start forms Camunda allows. Each test names the Camunda test it mirrors.

use reqwest::StatusCode;
use serde_json::{Value as J, json};

use crate::api_rest::Api;

/// ExclusiveGatewayTest.testNoSequenceFlowSelected, plus the same gateway reached after an
/// external task completes.
const EXCLUSIVE_NO_FLOW: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://example.com">
  <bpmn:process id="gw" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="first"/>
    <bpmn:exclusiveGateway id="first" default="fDefault"/>
    <bpmn:sequenceFlow id="fSkip" sourceRef="first" targetRef="exclusiveGw">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${input == 4}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="fDefault" sourceRef="first" targetRef="work"/>
    <bpmn:serviceTask id="work" camunda:type="external" camunda:topic="work"/>
    <bpmn:sequenceFlow id="fw" sourceRef="work" targetRef="exclusiveGw"/>
    <bpmn:exclusiveGateway id="exclusiveGw"/>
    <bpmn:sequenceFlow id="f1" sourceRef="exclusiveGw" targetRef="end1">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${input == 1}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f2" sourceRef="exclusiveGw" targetRef="end2">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${input == 2}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="end1"/>
    <bpmn:endEvent id="end2"/>
  </bpmn:process>
</bpmn:definitions>"#;

const ENGINE_02004: &str = "ENGINE-02004 No outgoing sequence flow for the element with id \
     'exclusiveGw' could be selected for continuing the process.";

/// Fetch and lock the tasks of one topic for `worker`.
async fn fetch(api: &Api, worker: &str, topic: &str) -> Vec<J> {
    let (s, b) = api
        .post(
            "/external-task/fetchAndLock",
            json!({"workerId": worker, "maxTasks": 10,
                "topics": [{"topicName": topic, "lockDuration": 60000}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b.as_array().cloned().unwrap_or_default()
}

async fn start(api: &Api, key: &str, variables: J) -> (StatusCode, J) {
    api.post(
        &format!("/process-definition/key/{key}/start"),
        json!({ "variables": variables }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exclusive_gateway_without_flow_fails_with_camunda_text() {
    let api = Api::default().await;
    api.deploy("gw", EXCLUSIVE_NO_FLOW).await;

    // Reached while starting: Camunda's start error wraps the engine's text.
    let (s, b) = start(
        &api,
        "gw",
        json!({"input": {"value": 4, "type": "Integer"}}),
    )
    .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{b}");
    let message = b["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Cannot instantiate process definition gw:1:"),
        "{b}"
    );
    assert!(message.ends_with(&format!(": {ENGINE_02004}")), "{b}");
    let (_, instances) = api.get("/process-instance/count").await;
    assert_eq!(instances["count"], 0, "nothing was started");

    // Reached when a worker completes: the completion is refused with the same text and the
    // task stays locked to the worker.
    let (s, b) = start(
        &api,
        "gw",
        json!({"input": {"value": 3, "type": "Integer"}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let tasks = fetch(&api, "w1", "work").await;
    assert_eq!(tasks.len(), 1);
    let id = tasks[0]["id"].as_str().unwrap_or_default();
    let (s, b) = api
        .post(
            &format!("/external-task/{id}/complete"),
            json!({"workerId": "w1"}),
        )
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{b}");
    assert_eq!(b["message"], ENGINE_02004, "{b}");
    let (s, task) = api.get(&format!("/external-task/{id}")).await;
    assert_eq!((s, task["workerId"].clone()), (StatusCode::OK, json!("w1")));
}
