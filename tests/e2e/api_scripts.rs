//! Scripts in models through the REST API, run by the JavaScript interpreter embedded in the
//! `baton` binary (wasm sandbox): a script task computing a variable, script listeners
//! (execution and task), `camunda:script` input values, a JavaScript sequence-flow condition,
//! a `camunda:resource` script from the deployment; an endless script becoming an incident
//! that names the limit while the server keeps answering; syntax errors and Groovy refused at
//! deploy with their position.

use reqwest::StatusCode;
use serde_json::{Value as J, json};

use crate::api_rest::Api;
use baton::api::ApiConfig;

fn model(body: &str) -> String {
    baton_tests::bpmn::definitions("scripted", body)
}

/// Deploy `files` (name, content) in one deployment; (status, body).
async fn deploy(api: &Api, files: &[(&str, &str)]) -> (StatusCode, J) {
    let mut form = reqwest::multipart::Form::new().text("deployment-name", "scripts");
    for (i, (name, text)) in files.iter().enumerate() {
        form = form.part(
            format!("data{i}"),
            reqwest::multipart::Part::bytes(text.as_bytes().to_vec()).file_name(name.to_string()),
        );
    }
    let (s, _, b) = api
        .send(
            api.client
                .post(api.url("/deployment/create"))
                .multipart(form),
        )
        .await;
    (s, b)
}

async fn scripts_api() -> Api {
    // The default engine configuration keeps the wasm runtime (and so the interpreter).
    Api::start_with(ApiConfig::default(), |_| {}).await
}

const FLOW: &str = r#"
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute"/>
    <bpmn:scriptTask id="compute" scriptFormat="javascript" camunda:resultVariable="total">
      <bpmn:extensionElements>
        <camunda:executionListener event="end"><camunda:script scriptFormat="javascript">execution.setVariable('seenBy', execution.getActivityId() + '@' + execution.getProcessDefinitionId().split(':')[0])</camunda:script></camunda:executionListener>
      </bpmn:extensionElements>
      <bpmn:script><![CDATA[
        var items = execution.getVariable('items');
        execution.setVariable('count', items.length);
        items.reduce(function (s, i) { return s + i.price * i.qty; }, 0) * (1 + vat)
      ]]></bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="resource"/>
    <bpmn:scriptTask id="resource" scriptFormat="js" camunda:resource="deployment://discount.js"/>
    <bpmn:sequenceFlow id="f3" sourceRef="resource" targetRef="gw"/>
    <bpmn:exclusiveGateway id="gw" default="small"/>
    <bpmn:sequenceFlow id="big" sourceRef="gw" targetRef="approve"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="javascript">total &gt; 100</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="small" sourceRef="gw" targetRef="end"/>
    <bpmn:userTask id="approve" name="Approve">
      <bpmn:extensionElements>
        <camunda:executionListener event="start" expression="${execution.setVariable('definitionId', execution.getProcessDefinitionId())}"/>
        <camunda:taskListener event="create"><camunda:script scriptFormat="javascript">task.setAssignee(total > 1000 ? 'boss' : 'clerk'); task.setVariable('listenerRan', true)</camunda:script></camunda:taskListener>
        <camunda:inputOutput><camunda:inputParameter name="half"><camunda:script scriptFormat="javascript">total / 2</camunda:script></camunda:inputParameter></camunda:inputOutput>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f4" sourceRef="approve" targetRef="end"/>
    <bpmn:endEvent id="end"/>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_task_listeners_conditions_and_resources_run_through_rest() {
    let api = scripts_api().await;
    let (s, b) = deploy(
        &api,
        &[
            ("scripted.bpmn", &model(FLOW)),
            (
                "discount.js",
                "execution.setVariable('discount', total > 100 ? 0.1 : 0);",
            ),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    let vars = json!({
        "items": {"type": "Json", "value": r#"[{"price": 50, "qty": 2}, {"price": 10, "qty": 1}]"#},
        "vat": {"type": "Double", "value": 0.5},
    });
    let (s, b) = api
        .post(
            "/process-definition/key/scripted/start",
            json!({"variables": vars}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let id = b["id"].as_str().expect("id").to_owned();

    let (s, v) = api.get(&format!("/process-instance/{id}/variables")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // (50*2 + 10*1) * 1.5 = 165: an integral JavaScript number is an Integer.
    assert_eq!(
        v["total"],
        json!({"type": "Integer", "value": 165, "valueInfo": {}}),
        "{v}"
    );
    assert_eq!(v["count"]["value"], json!(2), "{v}");
    assert_eq!(v["seenBy"]["value"], json!("compute@scripted"), "{v}");
    assert_eq!(
        v["discount"],
        json!({"type": "Double", "value": 0.1, "valueInfo": {}}),
        "{v}"
    );
    assert_eq!(v["listenerRan"]["value"], json!(true), "{v}");
    // JUEL's execution.getProcessDefinitionId() is the real definition id.
    let (_, def) = api.get("/process-definition/key/scripted").await;
    assert_eq!(v["definitionId"]["value"], def["id"], "{v} {def}");
    assert!(
        def["id"]
            .as_str()
            .is_some_and(|d| d.starts_with("scripted:1:")),
        "{def}"
    );

    // The JavaScript condition took the `big` flow; the task listener assigned the task.
    let (s, tasks) = api.get(&format!("/task?processInstanceId={id}")).await;
    assert_eq!(s, StatusCode::OK, "{tasks}");
    assert_eq!(tasks[0]["taskDefinitionKey"], "approve", "{tasks}");
    assert_eq!(tasks[0]["assignee"], "clerk", "{tasks}");
    let task_id = tasks[0]["id"].as_str().expect("task id");
    let (s, local) = api.get(&format!("/task/{task_id}/localVariables")).await;
    assert_eq!(s, StatusCode::OK, "{local}");
    assert_eq!(local["half"]["value"], json!(82.5), "{local}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runaway_script_becomes_an_incident_naming_the_limit_and_the_server_keeps_serving() {
    let api = scripts_api().await;
    let body = r#"
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="spin"/>
    <bpmn:scriptTask id="spin" scriptFormat="javascript" camunda:asyncBefore="true">
      <bpmn:extensionElements><camunda:failedJobRetryTimeCycle>R1/PT0S</camunda:failedJobRetryTimeCycle></bpmn:extensionElements>
      <bpmn:script>var n = 0; while (true) { n++; }</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="spin" targetRef="end"/>
    <bpmn:endEvent id="end"/>"#;
    let (s, b) = deploy(&api, &[("scripted.bpmn", &model(body))]).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = api
        .post("/process-definition/key/scripted/start", json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let id = b["id"].as_str().expect("id").to_owned();

    // The scheduler runs the job; the script burns its fuel (or its deadline) and the job's
    // only retry is used up: an incident with the limit in its message.
    let mut incident = J::Null;
    for _ in 0..600 {
        let (s, list) = api.get(&format!("/incident?processInstanceId={id}")).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        if let Some(first) = list.as_array().and_then(|l| l.first()) {
            incident = first.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let message = incident["incidentMessage"].as_str().unwrap_or_default();
    assert!(
        message.contains("fuel exhausted after") || message.contains("deadline of"),
        "{incident}"
    );
    assert_eq!(incident["activityId"], "spin", "{incident}");
    // The same for an expression failing in an async step: an incident with Camunda's text.
    let body = r#"
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="expr"/>
    <bpmn:serviceTask id="expr" camunda:expression="${bean.value}" camunda:asyncBefore="true">
      <bpmn:extensionElements><camunda:failedJobRetryTimeCycle>R1/PT0S</camunda:failedJobRetryTimeCycle></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="expr" targetRef="end"/>
    <bpmn:endEvent id="end"/>"#;
    let xml = baton_tests::bpmn::definitions("expressive", body);
    let (s, b) = deploy(&api, &[("expressive.bpmn", &xml)]).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = api
        .post("/process-definition/key/expressive/start", json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let expr_id = b["id"].as_str().expect("id").to_owned();
    let mut expr_incident = J::Null;
    for _ in 0..600 {
        let (_, list) = api
            .get(&format!("/incident?processInstanceId={expr_id}"))
            .await;
        if let Some(first) = list.as_array().and_then(|l| l.first()) {
            expr_incident = first.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        expr_incident["incidentMessage"]
            .as_str()
            .is_some_and(|m| m.contains("Unknown property used in expression: ${bean.value}")),
        "{expr_incident}"
    );

    // The engine still serves, and the instance is still there, waiting at the script.
    let (s, b) = api.get(&format!("/process-instance/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = api.get("/process-definition/count").await;
    assert_eq!((s, b["count"].clone()), (StatusCode::OK, json!(2)), "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_errors_are_deploy_errors_or_failed_commands_in_camundas_shape() {
    let api = scripts_api().await;
    // A syntax error: 400 with the file's line:column of the script's error.
    let body = "\n    <bpmn:startEvent id=\"start\"/>\n    <bpmn:sequenceFlow id=\"f1\" sourceRef=\"start\" targetRef=\"bad\"/>\n    <bpmn:scriptTask id=\"bad\" scriptFormat=\"javascript\"><bpmn:script><![CDATA[var a = 1;\nvar b = ;]]></bpmn:script></bpmn:scriptTask>\n    <bpmn:sequenceFlow id=\"f2\" sourceRef=\"bad\" targetRef=\"end\"/>\n    <bpmn:endEvent id=\"end\"/>";
    let xml = model(body);
    let (s, b) = deploy(&api, &[("bad.bpmn", &xml)]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["type"], "ParseException", "{b}");
    let message = b["message"].as_str().unwrap_or_default();
    let line = xml
        .lines()
        .position(|l| l.starts_with("var b = ;"))
        .expect("line")
        + 1;
    assert!(
        message.contains(&format!("bad.bpmn: {line}:9:"))
            && message.contains("JavaScript syntax error"),
        "line {line}: {message}"
    );

    // Groovy: refused at deploy naming the supported languages.
    let groovy = model(
        r#"<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="g"/>
    <bpmn:scriptTask id="g" scriptFormat="groovy"><bpmn:script>println 'hi'</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="end"/><bpmn:endEvent id="end"/>"#,
    );
    let (s, b) = deploy(&api, &[("groovy.bpmn", &groovy)]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let message = b["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("groovy.bpmn: 9:")
            && message.contains(
                "'groovy', which baton does not run: supported script languages are javascript"
            ),
        "{message}"
    );
    let (_, count) = api.get("/deployment/count").await;
    assert_eq!(count["count"], json!(0), "nothing was deployed: {count}");

    // A runtime error in a synchronous start: the start fails in Camunda's error shape and no
    // instance is left behind.
    let throwing = model(
        r#"<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="t"/>
    <bpmn:scriptTask id="t" scriptFormat="javascript"><bpmn:script>undefinedFunction(1)</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="end"/><bpmn:endEvent id="end"/>"#,
    );
    let (s, b) = deploy(&api, &[("throwing.bpmn", &throwing)]).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = api
        .post("/process-definition/key/scripted/start", json!({}))
        .await;
    assert!(s.is_client_error() || s.is_server_error(), "{s} {b}");
    assert!(b["type"].is_string(), "{b}");
    let message = b["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("ReferenceError") && message.contains("undefinedFunction"),
        "{message}"
    );
    let (_, count) = api.get("/process-instance/count").await;
    assert_eq!(count["count"], json!(0), "{count}");
}

/// Task listeners fire on REST changes of a task: `update`, then `assignment` when the
/// assignee changed (claim, setAssignee), committed with the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_and_set_assignee_fire_update_and_assignment_listeners() {
    let api = scripts_api().await;
    let body = r#"
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="Review">
      <bpmn:extensionElements>
        <camunda:taskListener event="update" expression="${execution.setVariable('updates', updates + 1)}"/>
        <camunda:taskListener event="assignment"><camunda:script scriptFormat="javascript">
          execution.setVariable('assignedTo', task.getAssignee());
          task.setPriority(task.getAssignee() === 'piggy' ? 90 : 60);
        </camunda:script></camunda:taskListener>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <bpmn:endEvent id="end"/>"#;
    let (s, b) = deploy(&api, &[("scripted.bpmn", &model(body))]).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = api
        .post(
            "/process-definition/key/scripted/start",
            json!({"variables": {"updates": {"value": 0, "type": "Long"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let id = b["id"].as_str().expect("id").to_owned();
    let (_, tasks) = api.get(&format!("/task?processInstanceId={id}")).await;
    let task_id = tasks[0]["id"].as_str().expect("task").to_owned();

    let (s, b) = api
        .post(
            &format!("/task/{task_id}/claim"),
            json!({"userId": "kermit"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (_, v) = api.get(&format!("/process-instance/{id}/variables")).await;
    assert_eq!(v["assignedTo"]["value"], "kermit", "{v}");
    assert_eq!(v["updates"]["value"], 1, "{v}");
    let (_, t) = api.get(&format!("/task/{task_id}")).await;
    assert_eq!(
        (t["assignee"].clone(), t["priority"].clone()),
        (json!("kermit"), json!(60)),
        "{t}"
    );

    let (s, b) = api
        .post(
            &format!("/task/{task_id}/assignee"),
            json!({"userId": "piggy"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (_, v) = api.get(&format!("/process-instance/{id}/variables")).await;
    assert_eq!(v["assignedTo"]["value"], "piggy", "{v}");
    assert_eq!(v["updates"]["value"], 2, "{v}");
    let (_, t) = api.get(&format!("/task/{task_id}")).await;
    assert_eq!(t["priority"], 90, "{t}");

    // Claiming again by the same user changes nothing, so no listener fires.
    let (s, _) = api
        .post(
            &format!("/task/{task_id}/claim"),
            json!({"userId": "piggy"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = api.get(&format!("/process-instance/{id}/variables")).await;
    assert_eq!(v["updates"]["value"], 2, "{v}");
    assert_eq!(v["assignedTo"]["value"], "piggy", "{v}");
}
