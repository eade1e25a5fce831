//! Start forms through the real HTTP server: `startForm`, `deployed-start-form`,
//! `rendered-form` and `submit-form` (by id, key and key and tenant), with Camunda's errors.

use baton_tests::bpmn::definitions;
use reqwest::StatusCode;
use serde_json::json;

use crate::api_definition_extras::ExtrasApi;

/// A start event with `camunda:formKey`.
fn keyed(key: &str, form_key: &str) -> String {
    definitions(
        key,
        &format!(
            r#"    <bpmn:startEvent id="start" camunda:formKey="{form_key}" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end" />"#
        ),
    )
}

/// A start event with generated-form fields: `amount` (required long) and `note`.
fn with_fields(key: &str) -> String {
    definitions(
        key,
        r#"    <bpmn:startEvent id="start">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="amount" label="Amount &amp; more" type="long">
            <camunda:validation><camunda:constraint name="required" /></camunda:validation>
          </camunda:formField>
          <camunda:formField id="note" type="string" />
        </camunda:formData>
      </bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_form_keys_and_the_deployed_form_resource() {
    let api = ExtrasApi::start().await;
    let html = b"<form>deployed start form</form>".to_vec();
    api.deploy_files(
        "keyed",
        &[
            (
                "keyed.bpmn",
                keyed("keyed", "embedded:deployment:start.html").into_bytes(),
            ),
            ("start.html", html.clone()),
        ],
    )
    .await;
    api.deploy("app", &keyed("app", "app:forms/start.html"))
        .await;
    api.deploy("fields", &with_fields("fields")).await;
    api.deploy("missing", &keyed("missing", "deployment:gone.html"))
        .await;
    let keyed_id = api.definition_id("keyed").await;
    let fields_id = api.definition_id("fields").await;

    assert_eq!(
        api.get(&format!("/process-definition/{keyed_id}/startForm"))
            .await,
        json!({"key": "embedded:deployment:start.html", "contextPath": null, "camundaFormRef": null})
    );
    assert_eq!(
        api.get("/process-definition/key/fields/startForm").await["key"],
        format!("embedded:engine://engine/:engine/process-definition/{fields_id}/rendered-form")
    );
    let (s, b) = api
        .send(
            reqwest::Method::GET,
            "/process-definition/nope/startForm",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        b["message"],
        "Cannot get start form data for process definition nope"
    );

    let (s, ct, bytes) = api
        .get_raw(&format!(
            "/process-definition/{keyed_id}/deployed-start-form"
        ))
        .await;
    assert_eq!(
        (s, ct.as_str(), bytes),
        (StatusCode::OK, "application/xhtml+xml", html)
    );
    let (s, b) = api
        .send(
            reqwest::Method::GET,
            "/process-definition/key/fields/deployed-start-form",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["message"], "The form key is not set.");
    let (s, b) = api
        .send(
            reqwest::Method::GET,
            "/process-definition/key/app/deployed-start-form",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        b["message"],
        "The form key 'app:forms/start.html' does not reference a deployed form."
    );
    let (s, b) = api
        .send(
            reqwest::Method::GET,
            "/process-definition/key/missing/deployed-start-form",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        b["message"],
        "The form with the resource name 'gone.html' cannot be found in deployment."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rendered_form_lists_the_fields_and_submit_form_checks_required_ones() {
    let api = ExtrasApi::start().await;
    api.deploy("fields", &with_fields("fields")).await;
    api.deploy("bare", &keyed("bare", "app:x")).await;
    let fields_id = api.definition_id("fields").await;

    let (s, ct, bytes) = api
        .get_raw("/process-definition/key/fields/rendered-form")
        .await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/xhtml+xml"));
    let html = String::from_utf8(bytes).expect("utf-8");
    assert!(
        html.contains(r#"cam-variable-name="amount""#)
            && html.contains(r#"cam-variable-type="Long""#)
            && html.contains(r#"required="required""#)
            && html.contains("Amount &amp; more")
            && html.contains(r#"cam-variable-name="note""#),
        "{html}"
    );
    let bare_id = api.definition_id("bare").await;
    let (s, b) = api
        .send(
            reqwest::Method::GET,
            &format!("/process-definition/{bare_id}/rendered-form"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        b["message"],
        format!(
            "No matching rendered start form for process definition with the id {bare_id} found."
        )
    );

    // Required field missing: Camunda's validation failure, nothing started.
    let (s, b) = api
        .post(
            &format!("/process-definition/{fields_id}/submit-form"),
            json!({"variables": {"note": {"value": "hi", "type": "String"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        b["message"],
        format!(
            "Cannot instantiate process definition {fields_id}: Invalid value submitted for form field 'amount': validation of required failed."
        )
    );
    assert_eq!(api.get("/process-instance/count").await["count"], 0);

    let (s, b) = api
        .post(
            "/process-definition/key/fields/submit-form",
            json!({"variables": {"amount": {"value": 12, "type": "Long"}}, "businessKey": "order-1"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let pi = b["id"].as_str().expect("instance id");
    assert_eq!(b["businessKey"], "order-1");
    let amount = api
        .get(&format!("/process-instance/{pi}/variables/amount"))
        .await;
    assert_eq!(amount["value"], 12);
    let (s, b) = api
        .post("/process-definition/nope/submit-form", json!({}))
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{b}");
    assert!(
        b["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Cannot instantiate process definition nope")),
        "{b}"
    );
    let (s, _) = api
        .post(
            "/process-definition/key/fields/tenant-id/t1/submit-form",
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
