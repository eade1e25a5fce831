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

/// The model of Camunda's ExternalTaskServiceTest (oneExternalTaskProcess.bpmn20.xml): one
/// external task between start and end.
const ONE_EXTERNAL_TASK: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" targetNamespace="Examples">
  <process id="oneExternalTaskProcess" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="flow1" sourceRef="start" targetRef="externalTask"/>
    <serviceTask id="externalTask" camunda:type="external" camunda:topic="externalTaskTopic"/>
    <sequenceFlow id="flow2" sourceRef="externalTask" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"#;

/// Start `key`, fetch its one external task and report a BPMN error nobody catches.
async fn start_and_report_uncaught_error(api: &Api) -> String {
    let (s, started) = start(api, "oneExternalTaskProcess", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{started}");
    let instance = started["id"].as_str().unwrap_or_default().to_owned();
    let tasks = fetch(api, "w1", "externalTaskTopic").await;
    assert_eq!(tasks.len(), 1);
    let id = tasks[0]["id"].as_str().unwrap_or_default();
    let (s, b) = api
        .post(
            &format!("/external-task/{id}/bpmnError"),
            json!({"workerId": "w1", "errorCode": "ERROR-OCCURED", "errorMessage": "no stock"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    instance
}

/// ExternalTaskServiceTest.testHandleBpmnErrorWithoutDefinedBoundary: the uncaught error ends
/// the execution, the instance completes, the task is gone, no incident.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncaught_bpmn_error_from_a_worker_ends_the_instance() {
    let api = Api::default().await;
    api.deploy("one", ONE_EXTERNAL_TASK).await;
    let instance = start_and_report_uncaught_error(&api).await;
    let (_, count) = api.get("/external-task/count").await;
    assert_eq!(count["count"], 0);
    let (_, hpi) = api
        .get(&format!("/history/process-instance/{instance}"))
        .await;
    assert_eq!(hpi["state"], "COMPLETED", "{hpi}");
    let (_, incidents) = api.get("/incident").await;
    assert_eq!(incidents, json!([]));
    // The task activity ended without taking its outgoing flow: the end event never ran.
    let (_, acts) = api
        .get(&format!(
            "/history/activity-instance?processInstanceId={instance}&activityId=end"
        ))
        .await;
    assert_eq!(acts, json!([]), "none end semantics: no flow taken");
}

/// `incident_on_unhandled_bpmn_error`: the task stays with an `unhandledBpmnError` incident.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncaught_bpmn_error_raises_an_incident_when_configured() {
    let api = Api::start_with(baton::api::ApiConfig::default(), |c| {
        c.incident_on_unhandled_bpmn_error = true
    })
    .await;
    api.deploy("one", ONE_EXTERNAL_TASK).await;
    let instance = start_and_report_uncaught_error(&api).await;
    let (_, incidents) = api.get("/incident").await;
    assert_eq!(incidents.as_array().map(Vec::len), Some(1), "{incidents}");
    assert_eq!(incidents[0]["incidentType"], "unhandledBpmnError");
    assert_eq!(incidents[0]["processInstanceId"], instance.as_str());
    let (_, hpi) = api
        .get(&format!("/history/process-instance/{instance}"))
        .await;
    assert_eq!(hpi["state"], "ACTIVE", "{hpi}");
}

/// BoundaryErrorEventTest.subprocess.bpmn20.xml: a user task, an escalation before it, then
/// an error end event.
const CHILD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="child" targetNamespace="http://example.com">
  <bpmn:error id="myError" errorCode="myError"/>
  <bpmn:escalation id="esc" escalationCode="ESC"/>
  <bpmn:process id="simpleSubProcess" isExecutable="true">
    <bpmn:startEvent id="theStart"/>
    <bpmn:sequenceFlow id="f1" sourceRef="theStart" targetRef="raise"/>
    <bpmn:intermediateThrowEvent id="raise"><bpmn:escalationEventDefinition escalationRef="esc"/></bpmn:intermediateThrowEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="raise" targetRef="task"/>
    <bpmn:userTask id="task" name="Task in subprocess"/>
    <bpmn:sequenceFlow id="f3" sourceRef="task" targetRef="theEnd"/>
    <bpmn:endEvent id="theEnd"><bpmn:errorEventDefinition errorRef="myError"/></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"#;

/// A caller of `simpleSubProcess`; `catch` adds the error boundary event of
/// BoundaryErrorEventTest.testCatchErrorOnCallActivity-parent.bpmn20.xml.
fn caller(key: &str, called: &str, catch: bool) -> String {
    let boundary = if catch {
        r#"<bpmn:boundaryEvent id="catchError" attachedToRef="callSubProcess"><bpmn:errorEventDefinition errorRef="myError"/></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="catchError" targetRef="escalatedTask"/>
    <bpmn:userTask id="escalatedTask" name="Escalated Task"/>
    <bpmn:sequenceFlow id="f4" sourceRef="escalatedTask" targetRef="theEnd"/>"#
    } else {
        ""
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="parent" targetNamespace="http://example.com">
  <bpmn:error id="myError" errorCode="myError"/>
  <bpmn:escalation id="esc" escalationCode="ESC"/>
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="theStart"/>
    <bpmn:sequenceFlow id="f1" sourceRef="theStart" targetRef="callSubProcess"/>
    <bpmn:callActivity id="callSubProcess" calledElement="{called}"/>
    <bpmn:sequenceFlow id="f2" sourceRef="callSubProcess" targetRef="afterCall"/>
    <bpmn:userTask id="afterCall"/>
    <bpmn:sequenceFlow id="f9" sourceRef="afterCall" targetRef="theEnd"/>
    <bpmn:endEvent id="theEnd"/>
    <bpmn:boundaryEvent id="catchEscalation" attachedToRef="callSubProcess" cancelActivity="false"><bpmn:escalationEventDefinition escalationRef="esc"/></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f5" sourceRef="catchEscalation" targetRef="escalated"/>
    <bpmn:endEvent id="escalated"/>
    {boundary}
  </bpmn:process>
</bpmn:definitions>"#
    )
}

/// The user tasks of one process instance, as task definition keys.
async fn task_keys(api: &Api, instance: &str) -> Vec<String> {
    let (s, tasks) = api
        .get(&format!("/task?processInstanceId={instance}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{tasks}");
    tasks
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["taskDefinitionKey"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The one sub process instance of `instance`.
async fn child_of(api: &Api, instance: &str) -> String {
    let (_, children) = api
        .get(&format!(
            "/process-instance?superProcessInstance={instance}"
        ))
        .await;
    assert_eq!(children.as_array().map(Vec::len), Some(1), "{children}");
    children[0]["id"].as_str().unwrap_or_default().to_owned()
}

async fn complete_task_of(api: &Api, instance: &str) {
    let (_, tasks) = api
        .get(&format!("/task?processInstanceId={instance}"))
        .await;
    let id = tasks[0]["id"].as_str().unwrap_or_default();
    let (s, b) = api.post(&format!("/task/{id}/complete"), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
}

async fn history_state(api: &Api, instance: &str) -> J {
    let (_, hpi) = api
        .get(&format!("/history/process-instance/{instance}"))
        .await;
    hpi["state"].clone()
}

/// BoundaryErrorEventTest.testCatchErrorOnCallActivity: the child's error end event is caught
/// by the call activity's boundary event ("Escalated Task"), the child is cancelled; its
/// escalation fired the caller's non-interrupting escalation boundary event on the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_end_event_in_called_process_reaches_the_callers_boundary_event() {
    let api = Api::default().await;
    api.deploy("child", CHILD).await;
    api.deploy(
        "parent",
        &caller("catchErrorOnCallActivity", "simpleSubProcess", true),
    )
    .await;
    let (s, started) = start(&api, "catchErrorOnCallActivity", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{started}");
    let parent = started["id"].as_str().unwrap_or_default().to_owned();
    let child = child_of(&api, &parent).await;
    assert_eq!(task_keys(&api, &child).await, ["task"]);
    let (_, esc) = api
        .get(&format!(
            "/history/activity-instance?processInstanceId={parent}&activityId=escalated"
        ))
        .await;
    assert_eq!(
        esc.as_array().map(Vec::len),
        Some(1),
        "escalation caught: {esc}"
    );

    complete_task_of(&api, &child).await;
    assert_eq!(task_keys(&api, &parent).await, ["escalatedTask"]);
    assert_ne!(history_state(&api, &child).await, json!("ACTIVE"));
    let (_, running) = api.get(&format!("/process-instance/{child}")).await;
    assert_eq!(running["type"], "InvalidRequestException", "{running}");
    complete_task_of(&api, &parent).await;
    assert_eq!(history_state(&api, &parent).await, "COMPLETED");
}

/// BoundaryErrorEventTest.testUncaughtErrorOnCallActivity under Camunda's default
/// configuration: nobody catches the child's error, so the child's execution ends (the
/// child completes) and the call activity continues normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncaught_error_in_called_process_ends_the_childs_execution() {
    let api = Api::default().await;
    api.deploy("child", CHILD).await;
    api.deploy(
        "parent",
        &caller("uncaughtErrorOnCallActivity", "simpleSubProcess", false),
    )
    .await;
    let (_, started) = start(&api, "uncaughtErrorOnCallActivity", json!({})).await;
    let parent = started["id"].as_str().unwrap_or_default().to_owned();
    let child = child_of(&api, &parent).await;
    complete_task_of(&api, &child).await;
    assert_eq!(history_state(&api, &child).await, "COMPLETED");
    assert_eq!(task_keys(&api, &parent).await, ["afterCall"]);
    let (_, incidents) = api.get("/incident").await;
    assert_eq!(incidents, json!([]));
}

/// With `incident_on_unhandled_bpmn_error` the call activity gets the incident instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncaught_error_in_called_process_is_an_incident_when_configured() {
    let api = Api::start_with(baton::api::ApiConfig::default(), |c| {
        c.incident_on_unhandled_bpmn_error = true
    })
    .await;
    api.deploy("child", CHILD).await;
    api.deploy(
        "parent",
        &caller("uncaughtErrorOnCallActivity", "simpleSubProcess", false),
    )
    .await;
    let (_, started) = start(&api, "uncaughtErrorOnCallActivity", json!({})).await;
    let parent = started["id"].as_str().unwrap_or_default().to_owned();
    let child = child_of(&api, &parent).await;
    complete_task_of(&api, &child).await;
    let (_, incidents) = api
        .get(&format!("/incident?processInstanceId={parent}"))
        .await;
    assert_eq!(incidents.as_array().map(Vec::len), Some(1), "{incidents}");
    assert_eq!(incidents[0]["incidentType"], "unhandledBpmnError");
    assert_eq!(incidents[0]["activityId"], "callSubProcess");
}

/// A called process that fails while it starts (its first gateway's condition reads a
/// variable the call activity does not pass): the caller gets an incident on the call
/// activity instead of waiting forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_that_cannot_start_gives_the_caller_an_incident() {
    let api = Api::default().await;
    let broken = EXCLUSIVE_NO_FLOW.replace(r#"id="gw""#, r#"id="brokenChild""#);
    api.deploy("child", &broken).await;
    api.deploy("parent", &caller("callsBroken", "brokenChild", false))
        .await;
    let (s, started) = start(
        &api,
        "callsBroken",
        json!({"input": {"value": 4, "type": "Integer"}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{started}");
    let parent = started["id"].as_str().unwrap_or_default().to_owned();
    let (_, incidents) = api
        .get(&format!("/incident?processInstanceId={parent}"))
        .await;
    assert_eq!(incidents.as_array().map(Vec::len), Some(1), "{incidents}");
    assert_eq!(incidents[0]["activityId"], "callSubProcess");
    assert!(
        incidents[0]["incidentMessage"].as_str().is_some_and(|m| m
            .starts_with("call activity cannot start process 'brokenChild': ")
            && m.contains("Cannot resolve identifier 'input'")),
        "{incidents}"
    );
}

/// The shape of Camunda's MessageStartEventTest.testSingleMessageStartEvent model: one
/// message start event and nothing else to start at.
const MESSAGE_START_ONLY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="Examples">
  <message id="newInvoice" name="newInvoiceMessage"/>
  <process id="singleMessageStartEvent" isExecutable="true">
    <startEvent id="theStart"><messageEventDefinition messageRef="newInvoice"/></startEvent>
    <sequenceFlow id="flow1" sourceRef="theStart" targetRef="task"/>
    <userTask id="task"/>
    <sequenceFlow id="flow2" sourceRef="task" targetRef="theEnd"/>
    <endEvent id="theEnd"/>
  </process>
</definitions>"#;

/// MessageStartEventTest.testSingleMessageStartEvent: the one message start event is the
/// initial one, so `POST .../start` works as well as the message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_with_only_a_message_start_event_starts_plainly() {
    let api = Api::default().await;
    api.deploy("msg", MESSAGE_START_ONLY).await;
    let (s, started) = start(&api, "singleMessageStartEvent", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{started}");
    let instance = started["id"].as_str().unwrap_or_default();
    let (_, acts) = api
        .get(&format!(
            "/history/activity-instance?processInstanceId={instance}&activityType=messageStartEvent"
        ))
        .await;
    assert_eq!(acts.as_array().map(Vec::len), Some(1), "{acts}");
}

const RECEIVE_TASK: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions id="definitions" xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="Examples">
  <process id="receiveTask" isExecutable="true">
    <startEvent id="theStart"/>
    <sequenceFlow id="flow1" sourceRef="theStart" targetRef="waitState"/>
    <receiveTask id="waitState" name="Wait State"/>
    <sequenceFlow id="flow3" sourceRef="waitState" targetRef="theEnd"/>
    <endEvent id="theEnd"/>
  </process>
</definitions>"#;

/// ReceiveTaskTest.testWaitStateBehavior through REST: the execution query finds the
/// execution at `waitState`, `POST /execution/{id}/signal` moves it on with its variables.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_task_is_a_wait_state_left_by_signal() {
    let api = Api::default().await;
    api.deploy("receive", RECEIVE_TASK).await;
    let (_, started) = start(&api, "receiveTask", json!({})).await;
    let instance = started["id"].as_str().unwrap_or_default().to_owned();
    let (s, executions) = api
        .get(&format!(
            "/execution?processInstanceId={instance}&activityId=waitState"
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{executions}");
    assert_eq!(executions.as_array().map(Vec::len), Some(1), "{executions}");
    assert_eq!(executions[0]["processInstanceId"], instance.as_str());
    let execution = executions[0]["id"].as_str().unwrap_or_default().to_owned();
    let (_, n) = api
        .get(&format!("/execution/count?processInstanceId={instance}"))
        .await;
    assert_eq!(n["count"], 1, "the root execution waits at the task itself");

    // Unknown execution: Camunda's text, nothing changes.
    let (s, b) = api.post("/execution/nope/signal", json!({})).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{b}");
    assert_eq!(
        b["message"],
        "Cannot signal execution nope: execution nope doesn't exist"
    );
    // Bad variables: 400, nothing changes.
    let (s, b) = api
        .post(
            &format!("/execution/{execution}/signal"),
            json!({"variables": {"n": {"value": "x", "type": "Integer"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(history_state(&api, &instance).await, "ACTIVE");

    let (s, b) = api
        .post(
            &format!("/execution/{execution}/signal"),
            json!({"variables": {"approved": {"value": true, "type": "Boolean"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(history_state(&api, &instance).await, "COMPLETED");
    let (_, vars) = api
        .get(&format!(
            "/history/variable-instance?processInstanceId={instance}&variableName=approved"
        ))
        .await;
    assert_eq!(vars[0]["value"], true, "{vars}");
}

/// ConditionalStartEventTest.testSingleConditionalStartEvent.bpmn20.xml.
const CONDITIONAL_START: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="conditionalEventProcess" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1">
      <bpmn:conditionalEventDefinition>
        <bpmn:condition xsi:type="bpmn:tFormalExpression">${foo == 1}</bpmn:condition>
      </bpmn:conditionalEventDefinition>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="task"/>
    <bpmn:userTask id="task" name="User task"/>
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"#;

/// ConditionalStartEventTest.testStartInstanceWithVariableCondition / WithoutResult /
/// WithBusinessKey / ByNonExistingProcessDefinitionId through `POST /condition`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_start_events_fire_through_post_condition() {
    let api = Api::default().await;
    // Nothing declares a conditional start event yet: Camunda's ENGINE-13043.
    let (s, b) = api
        .post("/condition", json!({"variables": {"foo": {"value": 1}}}))
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{b}");
    assert_eq!(
        b["message"],
        "ENGINE-13043 No subscriptions were found during evaluation of the conditional start events."
    );

    api.deploy("cond", CONDITIONAL_START).await;
    // False condition (and a missing variable): nothing starts.
    for body in [json!({"variables": {"foo": {"value": 2}}}), json!({})] {
        let (s, b) = api.post("/condition", body).await;
        assert_eq!((s, b), (StatusCode::OK, json!([])));
    }
    let (s, b) = api
        .post(
            "/condition",
            json!({"variables": {"foo": {"value": 1, "type": "Integer"}}, "businessKey": "bk"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b.as_array().map(Vec::len), Some(1), "{b}");
    assert_eq!(b[0]["businessKey"], "bk");
    assert_eq!(b[0]["ended"], false);
    assert!(
        b[0]["definitionId"]
            .as_str()
            .is_some_and(|d| d.starts_with("conditionalEventProcess:1:")),
        "{b}"
    );
    let instance = b[0]["id"].as_str().unwrap_or_default();
    assert_eq!(task_keys(&api, instance).await, ["task"]);
    let (_, vars) = api
        .get(&format!("/process-instance/{instance}/variables"))
        .await;
    assert_eq!(vars["foo"]["value"], 1, "{vars}");

    // Bad requests change nothing.
    let (s, b) = api
        .post(
            "/condition",
            json!({"variables": {"foo": {"value": 1}}, "tenantId": "t", "withoutTenantId": true}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, b) = api
        .post(
            "/condition",
            json!({"variables": {"foo": {"value": 1}}, "processDefinitionId": "nope"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    assert!(b["message"].is_string(), "{b}");
    let (_, n) = api.get("/process-instance/count").await;
    assert_eq!(n["count"], 1);
}

/// A standard loop (do-while over a user task) feeding a complex gateway join: BPMN 2.0
/// semantics, which Camunda 7 lacks (no Camunda test to mirror).
const LOOP_AND_COMPLEX: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="http://example.com">
  <bpmn:process id="loopAndComplex" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:sequenceFlow id="f1" sourceRef="fork" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="other"/>
    <bpmn:userTask id="review">
      <bpmn:standardLoopCharacteristics>
        <bpmn:loopCondition xsi:type="bpmn:tFormalExpression">${loopCounter &lt; 1}</bpmn:loopCondition>
      </bpmn:standardLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:userTask id="other"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="join"/>
    <bpmn:sequenceFlow id="f4" sourceRef="other" targetRef="join"/>
    <bpmn:complexGateway id="join">
      <bpmn:activationCondition xsi:type="bpmn:tFormalExpression">${activationCount &gt;= 1}</bpmn:activationCondition>
    </bpmn:complexGateway>
    <bpmn:sequenceFlow id="f5" sourceRef="join" targetRef="after"/>
    <bpmn:userTask id="after"/>
    <bpmn:sequenceFlow id="f6" sourceRef="after" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"#;

async fn complete_task_at(api: &Api, instance: &str, key: &str) {
    let (_, tasks) = api
        .get(&format!(
            "/task?processInstanceId={instance}&taskDefinitionKey={key}"
        ))
        .await;
    let id = tasks[0]["id"].as_str().unwrap_or_default();
    let (s, b) = api.post(&format!("/task/{id}/complete"), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{key}: {b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_loop_and_complex_gateway_through_rest() {
    let api = Api::default().await;
    api.deploy("loop", LOOP_AND_COMPLEX).await;
    let (s, started) = start(&api, "loopAndComplex", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{started}");
    let pi = started["id"].as_str().unwrap_or_default().to_owned();
    let mut keys = task_keys(&api, &pi).await;
    keys.sort();
    assert_eq!(keys, ["other", "review"]);
    // First iteration done: loopCounter 0 < 1, the task runs again.
    complete_task_at(&api, &pi, "review").await;
    let mut keys = task_keys(&api, &pi).await;
    keys.sort();
    assert_eq!(keys, ["other", "review"]);
    // Second iteration done: the loop ends and its token activates the complex gateway.
    complete_task_at(&api, &pi, "review").await;
    let mut keys = task_keys(&api, &pi).await;
    keys.sort();
    assert_eq!(keys, ["after", "other"]);
    // The second token is absorbed by the gateway's reset: still one `after`.
    complete_task_at(&api, &pi, "other").await;
    assert_eq!(task_keys(&api, &pi).await, ["after"]);
    complete_task_at(&api, &pi, "after").await;
    assert_eq!(history_state(&api, &pi).await, "COMPLETED");
    let (_, reviews) = api
        .get(&format!(
            "/history/activity-instance?processInstanceId={pi}&activityId=review"
        ))
        .await;
    assert_eq!(reviews.as_array().map(Vec::len), Some(2), "{reviews}");
}

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../bpmn/tests/fixtures/engine/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Complete the user tasks of `instance` at `key` one by one (each completion must be
/// accepted).
async fn complete_all_at(api: &Api, instance: &str, key: &str) -> usize {
    let mut n = 0;
    // Bounded: a handler that kept reappearing would be a bug, not a reason to spin.
    for _ in 0..20 {
        let (_, tasks) = api
            .get(&format!(
                "/task?processInstanceId={instance}&taskDefinitionKey={key}"
            ))
            .await;
        if tasks.as_array().is_none_or(Vec::is_empty) {
            break;
        }
        complete_task_at(api, instance, key).await;
        n += 1;
    }
    n
}

/// CompensateEventTest.testCompensateScope through REST: the throw event compensates both
/// bookings (latest first: the flight's handler task is created first) and continues once
/// both handlers completed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compensation_throw_event_through_rest() {
    let api = Api::default().await;
    api.deploy("comp", &fixture("compensation_order.bpmn"))
        .await;
    let (_, started) = start(&api, "compensateProcess", json!({})).await;
    let pi = started["id"].as_str().unwrap_or_default().to_owned();
    complete_task_at(&api, &pi, "bookHotel").await;
    complete_task_at(&api, &pi, "bookFlight").await;
    let (_, tasks) = api
        .get(&format!(
            "/task?processInstanceId={pi}&sortBy=created&sortOrder=asc"
        ))
        .await;
    let keys: Vec<&str> = tasks
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["taskDefinitionKey"].as_str())
                .collect()
        })
        .unwrap_or_default();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["undoBookFlight", "undoBookHotel"], "{tasks}");
    let (_, tree) = api
        .get(&format!("/process-instance/{pi}/activity-instances"))
        .await;
    let children: Vec<&str> = tree["childActivityInstances"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["activityId"].as_str()).collect())
        .unwrap_or_default();
    assert!(children.contains(&"throwCompensate"), "{tree}");
    complete_task_at(&api, &pi, "undoBookHotel").await;
    assert_eq!(task_keys(&api, &pi).await, ["undoBookFlight"]);
    complete_task_at(&api, &pi, "undoBookFlight").await;
    assert_eq!(task_keys(&api, &pi).await, ["beforeEnd"]);
}

/// TransactionSubProcessTest.testSimpleCaseTxCancelled through REST: 5 + 1 + 1 handlers, then
/// the cancel boundary event; `afterCancellation` is a receive task signalled as in Camunda's
/// test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_cancel_through_rest() {
    let api = Api::default().await;
    api.deploy("tx", &fixture("transaction.bpmn")).await;
    let (_, started) = start(&api, "transactionProcess", json!({})).await;
    let pi = started["id"].as_str().unwrap_or_default().to_owned();
    // As in Camunda's test: after the start, compensate subscriptions for the 5 hotel
    // bookings and the flight.
    for (handler, n) in [("undoBookHotel", 5), ("undoBookFlight", 1)] {
        let (s, subs) = api
            .get(&format!(
                "/event-subscription?processInstanceId={pi}&eventType=compensate&activityId={handler}"
            ))
            .await;
        assert_eq!(s, StatusCode::OK, "{subs}");
        assert_eq!(subs.as_array().map(Vec::len), Some(n), "{handler}: {subs}");
    }
    let (_, tasks) = api
        .get(&format!(
            "/task?processInstanceId={pi}&taskDefinitionKey=askCustomer"
        ))
        .await;
    let id = tasks[0]["id"].as_str().unwrap_or_default();
    let (s, b) = api
        .post(
            &format!("/task/{id}/complete"),
            json!({"variables": {"confirmed": {"value": false, "type": "Boolean"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(complete_all_at(&api, &pi, "undoChargeCard").await, 1);
    assert_eq!(complete_all_at(&api, &pi, "undoBookFlight").await, 1);
    assert_eq!(complete_all_at(&api, &pi, "undoBookHotel").await, 5);
    let (_, executions) = api
        .get(&format!(
            "/execution?processInstanceId={pi}&activityId=afterCancellation"
        ))
        .await;
    assert_eq!(executions.as_array().map(Vec::len), Some(1), "{executions}");
    let exec = executions[0]["id"].as_str().unwrap_or_default();
    let (s, b) = api
        .post(&format!("/execution/{exec}/signal"), json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(history_state(&api, &pi).await, "COMPLETED");
    let (_, n) = api
        .get(&format!(
            "/event-subscription/count?processInstanceId={pi}&eventType=compensate"
        ))
        .await;
    assert_eq!(n["count"], 0, "compensated once: no subscriptions left");
    let (_, hotel) = api
        .get(&format!(
            "/history/activity-instance?processInstanceId={pi}&activityId=undoBookHotel"
        ))
        .await;
    assert_eq!(hotel.as_array().map(Vec::len), Some(5));
}

/// CompensateEventTest.testCompensationEventSubProcess through REST: compensating the
/// subprocess runs its compensation event subprocess, whose throw compensates the booking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compensation_event_subprocess_through_rest() {
    let api = Api::default().await;
    api.deploy("esp", &fixture("compensation_event_subprocess.bpmn"))
        .await;
    let (_, started) = start(&api, "compensateProcess", json!({})).await;
    let pi = started["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(task_keys(&api, &pi).await, ["beforeCompensation"]);
    complete_task_at(&api, &pi, "beforeCompensation").await;
    assert_eq!(task_keys(&api, &pi).await, ["undoBookHotel"]);
    complete_task_at(&api, &pi, "undoBookHotel").await;
    assert_eq!(task_keys(&api, &pi).await, ["afterCompensation"]);
    complete_task_at(&api, &pi, "afterCompensation").await;
    assert_eq!(history_state(&api, &pi).await, "COMPLETED");
}

/// Multiple events through REST: either message starts the process, the parallel multiple
/// catch needs both of its messages, the multiple catch takes the signal alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiple_events_through_rest() {
    let api = Api::default().await;
    api.deploy("multiple", &fixture("multiple_events.bpmn"))
        .await;
    let (s, b) = api
        .post(
            "/message",
            json!({"messageName": "message_2", "resultEnabled": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let pi = b[0]["processInstance"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!pi.is_empty(), "{b}");
    let waiting_at = |activity: &'static str| {
        let api = &api;
        let pi = pi.clone();
        async move {
            let (_, e) = api
                .get(&format!(
                    "/execution/count?processInstanceId={pi}&activityId={activity}"
                ))
                .await;
            e["count"].as_u64()
        }
    };
    assert_eq!(waiting_at("both").await, Some(1));
    let (s, b) = api
        .post(
            "/message",
            json!({"messageName": "a", "processInstanceId": pi}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(waiting_at("both").await, Some(1), "one of two messages");
    let (s, b) = api
        .post(
            "/message",
            json!({"messageName": "b", "processInstanceId": pi}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(waiting_at("either").await, Some(1));
    let (s, b) = api.post("/signal", json!({"name": "y"})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(history_state(&api, &pi).await, "COMPLETED");
    // The message subscription of the multiple catch went with it.
    let (_, n) = api
        .get(&format!("/event-subscription/count?processInstanceId={pi}"))
        .await;
    assert_eq!(n["count"], 0);
}
