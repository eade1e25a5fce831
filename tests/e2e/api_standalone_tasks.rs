//! More of `/task` through the real HTTP server: standalone tasks (create, query, claim,
//! complete, delete; a process task refuses deletion with Camunda's text; kept across a
//! restart), forms (`/form`, `/rendered-form`, `/deployed-form` with Camunda's 400/404s),
//! binary variable upload (a task's `variables/{name}/data` as File, `localVariables` as
//! Bytes, a process instance's and an execution's), the candidate group report, and `bpmnEscalation` (caught by an interrupting or a
//! non-interrupting boundary event; refused when nothing catches it).

use baton_tests::bpmn::{definitions, definitions_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value as J, json};

use crate::api_ops::OpsApi;

async fn deploy_files(api: &OpsApi, files: &[(&str, &str)]) {
    let mut form = reqwest::multipart::Form::new().text("deployment-name", "forms");
    for (name, text) in files {
        form = form.part(
            (*name).to_owned(),
            reqwest::multipart::Part::bytes(text.as_bytes().to_vec()).file_name((*name).to_owned()),
        );
    }
    let r = reqwest::Client::new()
        .post(format!("{}/deployment/create", api.base_url()))
        .multipart(form)
        .send()
        .await
        .expect("deploy");
    assert_eq!(r.status(), StatusCode::OK);
}

async fn only_task(api: &OpsApi, pi: &str) -> String {
    api.get(&format!("/task?processInstanceId={pi}")).await[0]["id"]
        .as_str()
        .expect("task id")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_tasks_are_created_worked_on_and_removed() {
    let api = OpsApi::start().await;
    let (s, b) = api
        .post(
            "/task/create",
            json!({"id": "todo-1", "name": "Call the customer", "priority": 70,
                   "due": "2030-01-02T10:00:00.000+0000", "tenantId": "t1"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = api
        .post("/task/create", json!({"name": "File the report"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let t = api.get("/task/todo-1").await;
    assert_eq!(
        (
            &t["name"],
            &t["priority"],
            &t["processInstanceId"],
            &t["tenantId"]
        ),
        (
            &json!("Call the customer"),
            &json!(70),
            &J::Null,
            &json!("t1")
        )
    );
    assert_eq!(
        api.get("/task/count?tenantIdIn=t1").await,
        json!({"count": 1})
    );
    let (s, e) = api.post("/task/create", json!({"id": "todo-1"})).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{e}");

    let api = api.restart().await;
    let (s, b) = api
        .post("/task/todo-1/claim", json!({"userId": "demo"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(
        api.get("/task?assignee=demo").await[0]["id"],
        json!("todo-1")
    );
    let (s, c) = api
        .post(
            "/task/todo-1/comment/create",
            json!({"message": "left a voicemail"}),
        )
        .await;
    assert_eq!(
        (s, &c["processInstanceId"]),
        (StatusCode::OK, &J::Null),
        "{c}"
    );
    let (s, b) = api.post("/task/todo-1/complete", json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, _) = api.send(Method::GET, "/task/todo-1", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let other = api.get("/task?name=File%20the%20report").await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (s, _) = api
        .send(Method::DELETE, &format!("/task/{other}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(api.get("/task/count").await, json!({"count": 0}));
    // An unknown id changes nothing (Camunda: 204).
    let (s, _) = api.send(Method::DELETE, "/task/nope", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    api.deploy(
        "review",
        &definitions(
            "review",
            r#"<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
               <bpmn:userTask id="t"/><bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
               <bpmn:endEvent id="e"/>"#,
        ),
    )
    .await;
    let pi = api.start_instance("review").await;
    let task = only_task(&api, &pi).await;
    let (s, e) = api
        .send(Method::DELETE, &format!("/task/{task}"), None)
        .await;
    assert_eq!(
        (s, &e["type"], &e["message"]),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!("ProcessEngineException"),
            &json!("The task cannot be deleted because is part of a running process")
        )
    );
}

fn forms_model() -> String {
    definitions(
        "forms",
        r#"<bpmn:startEvent id="s"/>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="fork"/>
    <bpmn:sequenceFlow id="f1" sourceRef="fork" targetRef="deployed"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="generated"/>
    <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="plain"/>
    <bpmn:sequenceFlow id="f4" sourceRef="fork" targetRef="embedded"/>
    <bpmn:userTask id="deployed" camunda:formKey="deployment:forms/approve.html" camunda:candidateGroups="sales,audit"/>
    <bpmn:userTask id="generated" camunda:candidateGroups="sales">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="approved" label="Approved?" type="boolean"/>
        <camunda:formField id="note" label="A &lt;short&gt; note" type="string"/>
      </camunda:formData></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="plain"/>
    <bpmn:userTask id="embedded" camunda:formKey="embedded:app:forms/x.html"/>"#,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_forms_get_camundas_answers() {
    let api = OpsApi::start().await;
    let html = "<form><input cam-variable-name=\"approved\"/></form>";
    deploy_files(
        &api,
        &[("forms.bpmn", &forms_model()), ("forms/approve.html", html)],
    )
    .await;
    let pi = api.start_instance("forms").await;
    let mut ids = std::collections::BTreeMap::new();
    for t in api
        .get(&format!("/task?processInstanceId={pi}"))
        .await
        .as_array()
        .expect("tasks")
    {
        ids.insert(
            t["taskDefinitionKey"].as_str().expect("key").to_owned(),
            t["id"].as_str().expect("id").to_owned(),
        );
    }
    let id = |k: &str| ids[k].clone();

    assert_eq!(
        api.get(&format!("/task/{}/form", id("deployed"))).await,
        json!({"key": "deployment:forms/approve.html", "contextPath": null, "camundaFormRef": null})
    );
    assert_eq!(
        api.get(&format!("/task/{}/form", id("generated"))).await["key"],
        json!(format!(
            "embedded:engine://engine/:engine/task/{}/rendered-form",
            id("generated")
        ))
    );
    assert_eq!(
        api.get(&format!("/task/{}/form", id("plain"))).await["key"],
        J::Null
    );
    let (s, e) = api.send(Method::GET, "/task/nope/form", None).await;
    assert_eq!(
        (s, &e["type"], &e["message"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("RestException"),
            &json!("Cannot get form for task nope")
        )
    );

    let client = reqwest::Client::new();
    let r = client
        .get(format!(
            "{}/task/{}/deployed-form",
            api.base_url(),
            id("deployed")
        ))
        .send()
        .await
        .expect("deployed form");
    assert_eq!(
        (r.status(), r.headers()["content-type"].to_str().ok()),
        (StatusCode::OK, Some("application/xhtml+xml"))
    );
    assert_eq!(r.text().await.expect("text"), html);
    let (s, e) = api
        .send(
            Method::GET,
            &format!("/task/{}/deployed-form", id("plain")),
            None,
        )
        .await;
    assert_eq!(
        (s, &e["message"]),
        (StatusCode::BAD_REQUEST, &json!("The form key is not set."))
    );
    let (s, e) = api
        .send(
            Method::GET,
            &format!("/task/{}/deployed-form", id("embedded")),
            None,
        )
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("The form key 'embedded:app:forms/x.html' does not reference a deployed form.")
        )
    );

    let r = client
        .get(format!(
            "{}/task/{}/rendered-form",
            api.base_url(),
            id("generated")
        ))
        .send()
        .await
        .expect("rendered form");
    assert_eq!(r.status(), StatusCode::OK);
    let rendered = r.text().await.expect("text");
    assert!(
        rendered.contains("cam-variable-name=\"approved\"")
            && rendered.contains("A &lt;short&gt; note"),
        "{rendered}"
    );
    let (s, e) = api
        .send(
            Method::GET,
            &format!("/task/{}/rendered-form", id("plain")),
            None,
        )
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!(format!(
                "No matching rendered form for task with the id {} found.",
                id("plain")
            ))
        )
    );

    // Unassigned open tasks per candidate group, tasks without groups under null.
    let (s, b) = api
        .post(
            &format!("/task/{}/claim", id("generated")),
            json!({"userId": "u"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(
        api.get("/task/report/candidate-group-count").await,
        json!([
            {"groupName": "audit", "taskCount": 1},
            {"groupName": "sales", "taskCount": 1},
            {"groupName": null, "taskCount": 2}
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_task_variables_are_uploaded_as_file_or_bytes() {
    let api = OpsApi::start().await;
    api.deploy(
        "review",
        &definitions(
            "review",
            r#"<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
               <bpmn:userTask id="t"/><bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
               <bpmn:endEvent id="e"/>"#,
        ),
    )
    .await;
    let pi = api.start_instance("review").await;
    let task = only_task(&api, &pi).await;
    let client = reqwest::Client::new();
    let pdf: Vec<u8> = b"%PDF-1.4 not really".to_vec();
    let form = reqwest::multipart::Form::new()
        .part(
            "data",
            reqwest::multipart::Part::bytes(pdf.clone())
                .file_name("invoice.pdf")
                .mime_str("application/pdf")
                .expect("mime"),
        )
        .text("valueType", "File");
    let r = client
        .post(format!(
            "{}/task/{task}/variables/invoice/data",
            api.base_url()
        ))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let v = api
        .get(&format!("/process-instance/{pi}/variables/invoice"))
        .await;
    assert_eq!(
        (
            &v["type"],
            &v["valueInfo"]["filename"],
            &v["valueInfo"]["mimeType"]
        ),
        (
            &json!("File"),
            &json!("invoice.pdf"),
            &json!("application/pdf")
        )
    );
    let got = client
        .get(format!(
            "{}/task/{task}/variables/invoice/data",
            api.base_url()
        ))
        .send()
        .await
        .expect("data");
    assert_eq!(got.bytes().await.expect("bytes").to_vec(), pdf);

    let form = reqwest::multipart::Form::new()
        .part("data", reqwest::multipart::Part::bytes(vec![1u8, 2, 3]));
    let r = client
        .post(format!(
            "{}/task/{task}/localVariables/raw/data",
            api.base_url()
        ))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let local = api.get(&format!("/task/{task}/localVariables/raw")).await;
    assert_eq!(local["type"], json!("Bytes"));
    let (s, _) = api
        .send(
            Method::GET,
            &format!("/process-instance/{pi}/variables/raw"),
            None,
        )
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "a local variable stays on the task"
    );

    // The same upload on a process instance and on an execution (local).
    let upload = |path: String, bytes: Vec<u8>| {
        let form =
            reqwest::multipart::Form::new().part("data", reqwest::multipart::Part::bytes(bytes));
        client
            .post(format!("{}{path}", api.base_url()))
            .multipart(form)
            .send()
    };
    let r = upload(
        format!("/process-instance/{pi}/variables/blob/data"),
        vec![9u8; 300],
    )
    .await
    .expect("upload");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let got = client
        .get(format!(
            "{}/process-instance/{pi}/variables/blob/data",
            api.base_url()
        ))
        .send()
        .await
        .expect("data");
    assert_eq!(got.bytes().await.expect("bytes").to_vec(), vec![9u8; 300]);
    let execution = api.get(&format!("/task/{task}")).await["executionId"]
        .as_str()
        .expect("execution")
        .to_owned();
    let r = upload(
        format!("/execution/{execution}/localVariables/mine/data"),
        vec![7u8],
    )
    .await
    .expect("upload");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        api.get(&format!("/execution/{execution}/localVariables/mine"))
            .await["type"],
        json!("Bytes")
    );
    let r = upload("/process-instance/nope/variables/x/data".into(), vec![1u8])
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let form = reqwest::multipart::Form::new()
        .part("data", reqwest::multipart::Part::bytes(vec![1u8]))
        .text("valueType", "Integer");
    let r = client
        .post(format!("{}/task/{task}/variables/x/data", api.base_url()))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

fn escalating(interrupting: bool) -> String {
    definitions_with(
        "escalating",
        r#"<bpmn:escalation id="late" escalationCode="LATE"/>"#,
        &format!(
            r#"<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
    <bpmn:userTask id="work"/><bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="done"/>
    <bpmn:endEvent id="done"/>
    <bpmn:boundaryEvent id="onLate" attachedToRef="work" cancelActivity="{interrupting}">
      <bpmn:escalationEventDefinition escalationRef="late"/>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="onLate" targetRef="chase"/>
    <bpmn:userTask id="chase"/><bpmn:sequenceFlow id="f4" sourceRef="chase" targetRef="chased"/>
    <bpmn:endEvent id="chased"/>"#
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_from_a_task_follows_its_boundary_event() {
    let api = OpsApi::start().await;
    for interrupting in [false, true] {
        api.deploy("escalating", &escalating(interrupting)).await;
        let pi = api.start_instance("escalating").await;
        let task = only_task(&api, &pi).await;
        let (s, b) = api
            .post(
                &format!("/task/{task}/bpmnEscalation"),
                json!({"escalationCode": "LATE",
                       "variables": {"reason": {"value": "slow", "type": "String"}}}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
        let want: &[&str] = if interrupting {
            &["chase"]
        } else {
            &["chase", "work"]
        };
        assert_eq!(
            api.task_keys(&pi).await,
            want,
            "interrupting={interrupting}"
        );
        assert_eq!(
            api.get(&format!("/process-instance/{pi}/variables/reason"))
                .await["value"],
            json!("slow")
        );
    }
    let pi = api.start_instance("escalating").await;
    let task = only_task(&api, &pi).await;
    let (s, e) = api
        .post(
            &format!("/task/{task}/bpmnEscalation"),
            json!({"escalationCode": "OTHER"}),
        )
        .await;
    assert_eq!(
        (s, &e["type"]),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!("ProcessEngineException")
        )
    );
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("but no escalation handler was defined")),
        "{e}"
    );
    assert_eq!(api.task_keys(&pi).await, ["work"], "nothing changed");
    let (s, e) = api
        .post(&format!("/task/{task}/bpmnEscalation"), json!({}))
        .await;
    assert_eq!(
        (s, &e["type"], &e["message"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("RestException"),
            &json!("escalationCode is empty")
        )
    );
    let (s, e) = api
        .post(
            "/task/nope/bpmnEscalation",
            json!({"escalationCode": "LATE"}),
        )
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!("Task with id nope does not exist")
        )
    );
}
