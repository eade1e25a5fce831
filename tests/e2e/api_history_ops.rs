//! Operator changes to history through the real HTTP server: deleting historic variable
//! instances (one, all of an instance), reading a binary historic variable, the POST count,
//! and annotating user operation log entries.

use reqwest::StatusCode;
use serde_json::{Value as J, json};

use crate::api_definition_extras::{ExtrasApi, user_task};

async fn hvi_count(api: &ExtrasApi, pi: &str) -> J {
    let (s, b) = api
        .post(
            "/history/variable-instance/count",
            json!({"processInstanceId": pi}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["count"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn historic_variables_are_read_as_binary_and_deleted_one_or_all() {
    let api = ExtrasApi::start().await;
    api.deploy("vars", &user_task("vars")).await;
    let (s, b) = api
        .post(
            "/process-definition/key/vars/start",
            json!({"variables": {
                "a": {"value": "text", "type": "String"},
                "bin": {"value": "AQID", "type": "Bytes"},
            }}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let pi = b["id"].as_str().expect("instance").to_owned();
    let rows = api
        .get(&format!(
            "/history/variable-instance?processInstanceId={pi}"
        ))
        .await;
    let id_of = |name: &str| {
        rows.as_array()
            .expect("rows")
            .iter()
            .find(|r| r["name"] == name)
            .and_then(|r| r["id"].as_str())
            .expect("variable id")
            .to_owned()
    };
    let (a, bin) = (id_of("a"), id_of("bin"));
    assert_eq!(hvi_count(&api, &pi).await, 2);

    let (s, ct, bytes) = api
        .get_raw(&format!("/history/variable-instance/{bin}/data"))
        .await;
    assert_eq!(
        (s, ct.as_str(), bytes),
        (StatusCode::OK, "application/octet-stream", vec![1, 2, 3])
    );
    let (s, b) = api
        .send(
            reqwest::Method::GET,
            &format!("/history/variable-instance/{a}/data"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(
        b["message"],
        format!("Value of variable with id {a} is not a binary value.")
    );

    let (s, _) = api.delete(&format!("/history/variable-instance/{a}")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(hvi_count(&api, &pi).await, 1);
    let (s, b) = api.delete(&format!("/history/variable-instance/{a}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        b["message"],
        format!("No historic variable instance found with id: {a}")
    );

    let (s, _) = api
        .delete(&format!(
            "/history/process-instance/{pi}/variable-instances"
        ))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(hvi_count(&api, &pi).await, 0);
    let (s, b) = api
        .delete("/history/process-instance/nope/variable-instances")
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        b["message"],
        "No historic process instance found with id: nope"
    );
    // The running instance still reads its variables: only history was deleted.
    let live = api
        .get(&format!("/process-instance/{pi}/variables/a"))
        .await;
    assert_eq!(live["value"], "text");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_operation_entries_are_annotated_and_cleared() {
    let api = ExtrasApi::start().await;
    api.deploy("ops", &user_task("ops")).await;
    let pi = api.start_instance("ops").await;
    let (s, _) = api.delete(&format!("/process-instance/{pi}")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let ops = api
        .get("/history/user-operation?operationType=Delete")
        .await;
    let op = ops[0]["operationId"]
        .as_str()
        .expect("operation id")
        .to_owned();
    assert_eq!(ops[0]["annotation"], J::Null);

    let (s, b) = api
        .put(
            &format!("/history/user-operation/{op}/set-annotation"),
            json!({"annotation": "approved by ops"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let ops = api
        .get("/history/user-operation?operationType=Delete")
        .await;
    assert_eq!(ops[0]["annotation"], "approved by ops");
    let set = api
        .get("/history/user-operation?operationType=SetAnnotation")
        .await;
    assert_eq!(set.as_array().map(Vec::len), Some(1), "{set}");
    assert_eq!(set[0]["entityType"], "OperationLog");

    let (s, _) = api
        .put(
            &format!("/history/user-operation/{op}/clear-annotation"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let ops = api
        .get("/history/user-operation?operationType=Delete")
        .await;
    assert_eq!(ops[0]["annotation"], J::Null);

    let (s, b) = api
        .put(
            "/history/user-operation/nope/set-annotation",
            json!({"annotation": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        (&b["type"], &b["message"]),
        (
            &json!("BadUserRequestException"),
            &json!("operation is null")
        )
    );
}
