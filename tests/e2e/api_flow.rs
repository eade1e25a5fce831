//! End-to-end flows through the REST API, the way Camunda clients drive it: deploy → start →
//! fetchAndLock → complete → history; failure → incident → retries; bpmnError; user tasks;
//! message correlation; long-poll wake-up; variables and the activity-instance tree.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value as J, json};

use crate::api_rest::Api;

const ORDER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://example.com/order">
  <bpmn:process id="order" name="Order" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="charge"/>
    <bpmn:serviceTask id="charge" name="Charge card" camunda:type="external" camunda:topic="charge"/>
    <bpmn:boundaryEvent id="declined" attachedToRef="charge"><bpmn:errorEventDefinition errorRef="e1"/></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="charge" targetRef="approve"/>
    <bpmn:userTask id="approve" name="Approve" camunda:candidateGroups="managers"/>
    <bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="shipped"/>
    <bpmn:intermediateCatchEvent id="shipped"><bpmn:messageEventDefinition messageRef="m1"/></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="shipped" targetRef="end"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f5" sourceRef="declined" targetRef="declinedEnd"/>
    <bpmn:endEvent id="declinedEnd"/>
  </bpmn:process>
  <bpmn:error id="e1" errorCode="CARD_DECLINED"/>
  <bpmn:message id="m1" name="Shipped"/>
</bpmn:definitions>"#;

async fn fetch(api: &Api, worker: &str, timeout: Option<u64>) -> Vec<J> {
    let mut body = json!({"workerId": worker, "maxTasks": 5, "usePriority": true,
        "topics": [{"topicName": "charge", "lockDuration": 60000, "variables": null, "deserializeValues": true}]});
    if let Some(t) = timeout {
        body["asyncResponseTimeout"] = json!(t);
    }
    let (s, b) = api.post("/external-task/fetchAndLock", body).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b.as_array().cloned().expect("array")
}

async fn start(api: &Api, bk: &str) -> J {
    let (s, b) = api
        .post(
            "/process-definition/key/order/start",
            json!({"businessKey": bk, "variables": {"amount": {"value": 42, "type": "Integer"}, "customer": {"value": "ada"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_start_fetch_complete_user_task_message_history() {
    let api = Api::default().await;
    let dep = api.deploy("order", ORDER).await;
    let defs = dep["deployedProcessDefinitions"]
        .as_object()
        .expect("definitions map");
    assert_eq!(defs.len(), 1);
    let (def_id, def) = defs.iter().next().expect("one");
    assert_eq!(def["key"], "order");
    assert_eq!(def["version"], 1);
    assert_eq!(def["category"], "http://example.com/order");
    assert!(def_id.starts_with("order:1:"), "{def_id}");
    assert!(
        dep["links"][0]["href"]
            .as_str()
            .is_some_and(|h| h.contains("/engine-rest/deployment/")),
        "{dep}"
    );
    for k in [
        "deployedCaseDefinitions",
        "deployedDecisionDefinitions",
        "deployedDecisionRequirementsDefinitions",
    ] {
        assert!(dep.get(k).is_some_and(J::is_null), "{k}");
    }

    let pi = start(&api, "bk-1").await;
    let pi_id = pi["id"].as_str().expect("id").to_owned();
    assert_eq!(
        (pi["ended"].clone(), pi["definitionId"].clone()),
        (json!(false), json!(def_id))
    );
    assert_eq!(pi["links"][0]["rel"], "self");

    // Activity instance tree: root = instance id, processDefinition type, child serviceTask.
    let (s, tree) = api
        .get(&format!("/process-instance/{pi_id}/activity-instances"))
        .await;
    assert_eq!(s, StatusCode::OK, "{tree}");
    assert_eq!(tree["id"], json!(pi_id));
    assert_eq!(tree["activityType"], "processDefinition");
    assert_eq!(tree["childActivityInstances"][0]["activityId"], "charge");
    assert_eq!(
        tree["childActivityInstances"][0]["activityType"],
        "serviceTask"
    );

    // Python-client style fetch.
    let tasks = fetch(&api, "w1", None).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let t = &tasks[0];
    assert_eq!(
        (
            t["topicName"].clone(),
            t["workerId"].clone(),
            t["retries"].clone()
        ),
        (json!("charge"), json!("w1"), J::Null)
    );
    assert_eq!(t["businessKey"], "bk-1");
    assert_eq!(
        t["variables"]["amount"],
        json!({"type": "Integer", "value": 42, "valueInfo": {}})
    );
    assert_eq!(t["variables"]["customer"]["type"], "String");
    assert!(t["extensionProperties"].is_object());
    assert!(
        t["lockExpirationTime"]
            .as_str()
            .is_some_and(|d| d.ends_with("+0000")),
        "{t}"
    );
    let task_id = t["id"].as_str().expect("id").to_owned();

    // Wrong worker: 400.
    let (s, b) = api
        .post(
            &format!("/external-task/{task_id}/complete"),
            json!({"workerId": "other"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    // Complete with untyped (Python) and typed (JS) variables.
    let (s, b) = api
        .post(
            &format!("/external-task/{task_id}/complete"),
            json!({"workerId": "w1", "variables": {"receipt": {"value": {"no": 7}}, "paid": {"value": true, "type": "boolean"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");

    let (s, vars) = api
        .get(&format!("/process-instance/{pi_id}/variables"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        vars["receipt"],
        json!({"type": "Json", "value": "{\"no\":7}", "valueInfo": {}})
    );
    assert_eq!(vars["paid"]["value"], true);
    let (s, v) = api
        .get(&format!("/process-instance/{pi_id}/variables/nope"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    // The JS client reads variables through the root execution.
    let (s, v) = api
        .get(&format!("/execution/{pi_id}/localVariables/amount"))
        .await;
    assert_eq!((s, v["value"].clone()), (StatusCode::OK, json!(42)));

    // User task: candidate filter, claim conflict, complete.
    let (s, list) = api.get("/task?candidateGroup=managers").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    let ut = list[0]["id"].as_str().expect("task id").to_owned();
    for k in [
        "created",
        "due",
        "followUp",
        "delegationState",
        "camundaFormRef",
        "taskState",
        "formKey",
    ] {
        assert!(list[0].get(k).is_some(), "TaskDto lacks {k}");
    }
    let (s, b) = api
        .post(&format!("/task/{ut}/claim"), json!({"userId": "alice"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = api
        .post(&format!("/task/{ut}/claim"), json!({"userId": "bob"}))
        .await;
    assert_eq!(
        (s, b["type"].clone()),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!("TaskAlreadyClaimedException")
        )
    );
    let (_, list) = api.get("/task?candidateGroup=managers").await;
    assert_eq!(list, json!([]), "claimed tasks leave candidate queries");
    let (_, list) = api
        .get("/task?candidateGroup=managers&includeAssignedTasks=true")
        .await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let (s, fv) = api.get(&format!("/task/{ut}/form-variables")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(fv["amount"]["value"], 42);
    let (s, out) = api
        .post(
            &format!("/task/{ut}/complete"),
            json!({"variables": {"approved": {"value": true}}, "withVariablesInReturn": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out["approved"]["value"], true);

    // Message correlation: Python-client shape (resultEnabled, withoutTenantId).
    let (s, r) = api
        .post("/message", json!({"messageName": "Shipped", "businessKey": "bk-1", "resultEnabled": true, "withoutTenantId": true,
                                 "processVariables": {"carrier": {"value": "ups"}}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r[0]["resultType"], "Execution");
    let (s, r) = api
        .post(
            "/message",
            json!({"messageName": "Shipped", "businessKey": "bk-1"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
    assert!(
        r["message"].as_str().is_some_and(
            |m| m.starts_with("org.camunda.bpm.engine.MismatchingMessageCorrelationException")
        ),
        "{r}"
    );

    // History.
    let (s, h) = api.get(&format!("/history/process-instance/{pi_id}")).await;
    assert_eq!(s, StatusCode::OK, "{h}");
    assert_eq!(h["state"], "COMPLETED");
    assert!(h["durationInMillis"].is_number());
    let (s, acts) = api
        .get(&format!(
            "/history/activity-instance?processInstanceId={pi_id}&sortBy=startTime&sortOrder=asc"
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<&str> = acts
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|a| a["activityId"].as_str())
        .collect();
    assert_eq!(
        ids,
        vec!["start", "charge", "approve", "shipped", "end"],
        "{acts}"
    );
    let (s, c) = api
        .get(&format!(
            "/history/variable-instance/count?processInstanceId={pi_id}"
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(c["count"].as_u64().is_some_and(|n| n >= 5), "{c}");
    // One row by its id (read through the by-id index), and an unknown id in Camunda's words.
    let first = &acts[0];
    let (s, one) = api
        .get(&format!(
            "/history/activity-instance/{}",
            first["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(
        (s, &one["activityId"]),
        (StatusCode::OK, &json!("start")),
        "{one}"
    );
    let (s, vars) = api
        .get(&format!(
            "/history/variable-instance?processInstanceId={pi_id}&maxResults=1"
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{vars}");
    let (s, var) = api
        .get(&format!(
            "/history/variable-instance/{}",
            vars[0]["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(
        (s, &var["name"]),
        (StatusCode::OK, &vars[0]["name"]),
        "{var}"
    );
    let (s, e) = api.get("/history/activity-instance/nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    assert_eq!(
        e["message"],
        "Historic activity instance with id nope does not exist"
    );
    let (s, e) = api.get("/history/variable-instance/nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    let (s, b) = api.get(&format!("/process-instance/{pi_id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_with_no_retries_raises_an_incident_and_retries_resolve_it() {
    let api = Api::default().await;
    api.deploy("order", ORDER).await;
    let pi = start(&api, "bk-2").await;
    let pi_id = pi["id"].as_str().expect("id").to_owned();
    let t = fetch(&api, "w", None).await;
    let id = t[0]["id"].as_str().expect("id").to_owned();
    let (s, b) = api
        .post(&format!("/external-task/{id}/failure"), json!({"workerId": "w", "errorMessage": "boom", "errorDetails": "trace", "retries": 0, "retryTimeout": 0}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, inc) = api
        .get(&format!("/incident?processInstanceId={pi_id}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(inc[0]["incidentType"], "failedExternalTask");
    assert_eq!(inc[0]["configuration"], json!(id));
    assert_eq!(inc[0]["incidentMessage"], "boom");
    let (s, b) = api.get(&format!("/external-task/{id}")).await;
    assert_eq!(
        (s, b["retries"].clone(), b["errorMessage"].clone()),
        (StatusCode::OK, json!(0), json!("boom"))
    );
    let r = api
        .client
        .get(api.url(&format!("/external-task/{id}/errorDetails")))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.expect("text"), "trace");
    assert!(
        fetch(&api, "w", None).await.is_empty(),
        "no retries left: not fetchable"
    );
    let (s, b) = api
        .put(
            &format!("/external-task/{id}/retries"),
            json!({"retries": null}),
        )
        .await;
    assert_eq!(
        (s, b["message"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("The number of retries cannot be null.")
        )
    );
    let (s, b) = api
        .put(
            &format!("/external-task/{id}/retries"),
            json!({"retries": 2}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (_, c) = api.get("/incident/count").await;
    assert_eq!(c, json!({"count": 0}));
    let (_, ps) = api.get("/process-instance?withIncident=true").await;
    assert_eq!(ps, json!([]));
    // Unlock as the JS client does (no body), then the task is fetchable again.
    let (s, _, _) = api
        .send(
            api.client
                .post(api.url(&format!("/external-task/{id}/unlock"))),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let again = fetch(&api, "w2", None).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["retries"], 2);
    let (s, b) = api
        .post(
            &format!("/external-task/{id}/extendLock"),
            json!({"workerId": "w2", "newDuration": 0}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, b) = api
        .post(
            &format!("/external-task/{id}/extendLock"),
            json!({"workerId": "w2", "newDuration": 5000}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bpmn_error_is_caught_by_the_boundary_event() {
    let api = Api::default().await;
    api.deploy("order", ORDER).await;
    let pi = start(&api, "bk-3").await;
    let pi_id = pi["id"].as_str().expect("id").to_owned();
    let t = fetch(&api, "w", None).await;
    let id = t[0]["id"].as_str().expect("id").to_owned();
    let (s, b) = api
        .post(
            &format!("/external-task/{id}/bpmnError"),
            json!({"workerId": "w"}),
        )
        .await;
    assert_eq!(
        (s, b["message"].clone()),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!("errorCode is null")
        )
    );
    let (s, b) = api
        .post(&format!("/external-task/{id}/bpmnError"), json!({"workerId": "w", "errorCode": "CARD_DECLINED", "errorMessage": "no", "variables": {"reason": {"value": "limit"}}}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (_, h) = api.get(&format!("/history/process-instance/{pi_id}")).await;
    assert_eq!(h["state"], "COMPLETED", "{h}");
    let (_, acts) = api
        .get(&format!(
            "/history/activity-instance?processInstanceId={pi_id}&activityId=declinedEnd"
        ))
        .await;
    assert_eq!(acts.as_array().map(Vec::len), Some(1), "{acts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_wakes_up_when_a_task_is_created() {
    let api = std::sync::Arc::new(Api::default().await);
    api.deploy("order", ORDER).await;
    let poller = {
        let api = api.clone();
        tokio::spawn(async move {
            let t0 = Instant::now();
            let tasks = fetch(&api, "lp", Some(20_000)).await;
            (tasks, t0.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    start(&api, "bk-4").await;
    let (tasks, elapsed) = poller.await.expect("join");
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert!(elapsed < Duration::from_secs(10), "woke after {elapsed:?}");
    // And an empty long poll answers [] after its timeout.
    let t0 = Instant::now();
    assert!(fetch(&api, "lp", Some(300)).await.is_empty());
    assert!(t0.elapsed() >= Duration::from_millis(250));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definitions_queries_and_start_errors() {
    let api = Api::default().await;
    api.deploy("order", ORDER).await;
    api.deploy("order", ORDER).await;
    let (_, all) = api.get("/process-definition?key=order&sortBy=version&sortOrder=desc&firstResult=0&maxResults=1").await;
    assert_eq!(all[0]["version"], 2, "{all}");
    let (_, latest) = api.get("/process-definition?latestVersion=true").await;
    assert_eq!(latest.as_array().map(Vec::len), Some(1));
    let (s, d) = api.get("/process-definition/key/order").await;
    assert_eq!((s, d["version"].clone()), (StatusCode::OK, json!(2)));
    let (s, xml) = api.get("/process-definition/key/order/xml").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        xml["bpmn20Xml"]
            .as_str()
            .is_some_and(|x| x.contains("Charge card"))
    );
    let (s, b) = api.get("/process-definition/key/nope").await;
    assert_eq!(
        (s, b["message"].clone()),
        (
            StatusCode::NOT_FOUND,
            json!("No matching process definition with key: nope and no tenant-id")
        )
    );
    let (s, b) = api
        .post("/process-definition/key/nope/start", json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    let (s, b) = api.get("/process-definition/nope").await;
    assert_eq!(
        (s, b["message"].clone()),
        (
            StatusCode::NOT_FOUND,
            json!("No matching definition with id nope")
        )
    );
    let (s, b) = api.post("/process-definition/nope/start", json!({})).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{b}");
    assert!(
        b["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Cannot instantiate process definition nope: ")),
        "{b}"
    );
    let (s, b) = api
        .post(
            "/process-definition/key/order/start",
            json!({"variables": {"n": {"value": "x", "type": "Integer"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(
        b["message"]
            .as_str()
            .is_some_and(|m| m.contains("Cannot convert value 'x' of type 'Integer'")),
        "{b}"
    );
    // Duplicate filtering: nothing changed → the old deployment, deployedProcessDefinitions null.
    let form = reqwest::multipart::Form::new()
        .text("deployment-name", "order")
        .text("enable-duplicate-filtering", "True")
        .part(
            "data",
            reqwest::multipart::Part::bytes(ORDER.as_bytes().to_vec()).file_name("order.bpmn"),
        );
    let (s, _, b) = api
        .send(
            api.client
                .post(api.url("/deployment/create"))
                .multipart(form),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b["deployedProcessDefinitions"].is_null(), "{b}");
    let (_, c) = api.get("/deployment/count").await;
    assert_eq!(c, json!({"count": 2}));
    // Process instance queries with the Python client's variable filter.
    start(&api, "bk-5").await;
    let (_, l) = api
        .get("/process-instance?processDefinitionKey=order&variables=customer_eq_ada")
        .await;
    assert_eq!(l.as_array().map(Vec::len), Some(1), "{l}");
    let (_, l) = api.get("/process-instance?variables=amount_eq_42").await;
    assert_eq!(l, json!([]), "GET filter values are strings, like Camunda");
    let (_, l) = api
        .post(
            "/process-instance",
            json!({"variables": [{"name": "amount", "operator": "eq", "value": 42}]}),
        )
        .await;
    assert_eq!(l.as_array().map(Vec::len), Some(1), "{l}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_variables_and_named_engine_links() {
    let api = Api::default().await;
    api.deploy("order", ORDER).await;
    let (s, pi) = api
        .post(
            "/engine/default/process-definition/key/order/start",
            json!({"businessKey": "bk-6"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{pi}");
    let href = pi["links"][0]["href"].as_str().expect("href");
    assert!(
        href.contains("/engine-rest/engine/default/process-instance/"),
        "{href}"
    );
    let pi_id = pi["id"].as_str().expect("id").to_owned();
    let (s, b) = api
        .put(
            &format!("/process-instance/{pi_id}/variables/doc"),
            json!({"type": "file", "value": "aGVsbG8=", "valueInfo": {"filename": "a.txt", "mimetype": "text/plain", "encoding": "utf-8"}}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, v) = api
        .get(&format!("/process-instance/{pi_id}/variables/doc"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["type"], "File");
    assert_eq!(v["valueInfo"]["filename"], "a.txt");
    // The JS client's File.load: through the root execution id.
    let r = api
        .client
        .get(api.url(&format!("/execution/{pi_id}/localVariables/doc/data")))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(r.text().await.expect("text"), "hello");
    let (s, b) = api
        .get(&format!(
            "/process-instance/{pi_id}/variables/customer/data"
        ))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
}
