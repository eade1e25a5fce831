//! Migration through the real HTTP server: a generated plan between two versions, Camunda's
//! validation report for a bad plan, an instance moved with its task (same task id, the new
//! definition's behaviour afterwards), the per-instance refusal, and migration as a batch.

use reqwest::StatusCode;
use serde_json::{Value as J, json};

use crate::api_ops::{OpsApi, modifiable};

/// Version 1 and version 2 (B's topic differs) of `key`; their definition ids.
async fn two_versions(api: &OpsApi, key: &str) -> (String, String) {
    let v1 = api.deploy(key, &modifiable(key)).await;
    let v2 = api
        .deploy(
            key,
            &modifiable(key).replace(r#"camunda:topic="b""#, r#"camunda:topic="b2""#),
        )
        .await;
    assert_ne!(v1, v2);
    (v1, v2)
}

/// Start an instance of a definition version.
async fn start_v(api: &OpsApi, definition: &str) -> String {
    let (s, b) = api
        .post(
            &format!("/process-definition/{definition}/start"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["id"].as_str().expect("id").to_owned()
}

fn plan_with(v1: &str, v2: &str, pairs: &[(&str, &str)]) -> J {
    json!({
        "sourceProcessDefinitionId": v1,
        "targetProcessDefinitionId": v2,
        "instructions": pairs.iter().map(|(s, t)| json!({
            "sourceActivityIds": [s], "targetActivityIds": [t]
        })).collect::<Vec<_>>(),
    })
}

/// generate maps the equal activities; execute moves an instance waiting at A to version 2
/// with its task (same id); completing it continues on version 2 (B's new topic).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_moves_to_the_next_version_with_its_task() {
    let api = OpsApi::start().await;
    let (v1, v2) = two_versions(&api, "mig1").await;
    let pi = start_v(&api, &v1).await;
    let task_before = api.get(&format!("/task?processInstanceId={pi}")).await[0].clone();

    let (s, plan) = api
        .post(
            "/migration/generate",
            json!({"sourceProcessDefinitionId": v1, "targetProcessDefinitionId": v2}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{plan}");
    let mapped: Vec<&str> = plan["instructions"]
        .as_array()
        .expect("instructions")
        .iter()
        .filter_map(|i| i["sourceActivityIds"][0].as_str())
        .collect();
    for id in ["A", "B", "sub", "C", "subTimer"] {
        assert!(mapped.contains(&id), "{id} in {plan}");
    }
    assert!(
        !mapped.contains(&"start"),
        "start events are not migrated: {plan}"
    );
    let (s, report) = api.post("/migration/validate", plan.clone()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(report["instructionReports"], json!([]));

    let (s, b) = api
        .post(
            "/migration/execute",
            json!({"migrationPlan": plan, "processInstanceIds": [pi]}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let instance = api.get(&format!("/process-instance/{pi}")).await;
    assert_eq!(instance["definitionId"], v2.as_str());
    let task_after = api.get(&format!("/task?processInstanceId={pi}")).await[0].clone();
    assert_eq!(task_after["id"], task_before["id"]);
    assert_eq!(task_after["processDefinitionId"], v2.as_str());
    let history = api.get(&format!("/history/process-instance/{pi}")).await;
    assert_eq!(history["processDefinitionVersion"], 2);

    let task = task_after["id"].as_str().expect("task id");
    let (s, b) = api.post(&format!("/task/{task}/complete"), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (_, locked) = api
        .post(
            "/external-task/fetchAndLock",
            json!({"workerId": "w", "maxTasks": 1,
                   "topics": [{"topicName": "b2", "lockDuration": 1000}]}),
        )
        .await;
    assert_eq!(locked[0]["processDefinitionId"], v2.as_str(), "{locked}");
}

/// A plan mapping a user task to a service task is invalid (400 with the report); an
/// instance whose activity is not mapped is refused with its activity instance report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_plans_and_unmapped_instances_are_refused_with_reports() {
    let api = OpsApi::start().await;
    let (v1, v2) = two_versions(&api, "mig2").await;
    let pi = start_v(&api, &v1).await;

    let bad = plan_with(&v1, &v2, &[("A", "B"), ("nope", "A")]);
    let (s, report) = api.post("/migration/validate", bad.clone()).await;
    assert_eq!(s, StatusCode::OK);
    let reports = report["instructionReports"].as_array().expect("reports");
    assert_eq!(reports.len(), 2, "{report}");
    assert!(
        reports[0]["failures"]
            .as_array()
            .expect("failures")
            .contains(&json!(
                "Activities have incompatible types (userTask is not compatible with serviceTask)"
            )),
        "{report}"
    );
    assert_eq!(
        reports[1]["failures"],
        json!(["Source activity 'nope' does not exist"])
    );
    let (s, b) = api
        .post(
            "/migration/execute",
            json!({"migrationPlan": bad, "processInstanceIds": [pi]}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["type"], "MigrationPlanValidationException");
    assert_eq!(
        b["validationReport"]["instructionReports"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    let partial = plan_with(&v1, &v2, &[("B", "B")]);
    let (s, b) = api
        .post(
            "/migration/execute",
            json!({"migrationPlan": partial, "processInstanceIds": [pi]}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["type"], "MigratingProcessInstanceValidationException");
    let ai = &b["validationReport"]["activityInstanceValidationReports"][0];
    assert_eq!(ai["sourceScopeId"], "A");
    assert_eq!(
        ai["failures"],
        json!(["There is no migration instruction for this instance's activity"])
    );
    let instance = api.get(&format!("/process-instance/{pi}")).await;
    assert_eq!(instance["definitionId"], v1.as_str(), "nothing moved");

    let (s, b) = api
        .post(
            "/migration/generate",
            json!({"targetProcessDefinitionId": v2}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["message"], "Source process definition id is null");
}

/// executeAsync migrates as a batch of type instance-migration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_runs_as_a_batch() {
    let api = OpsApi::start().await;
    let (v1, v2) = two_versions(&api, "mig3").await;
    let a = start_v(&api, &v1).await;
    let b = start_v(&api, &v1).await;
    let (s, batch) = api
        .post(
            "/migration/executeAsync",
            json!({
                "migrationPlan": plan_with(&v1, &v2, &[("A", "A")]),
                "processInstanceQuery": {"processDefinitionId": v1},
            }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{batch}");
    assert_eq!(batch["type"], "instance-migration");
    assert_eq!(batch["totalJobs"], 2);
    assert_eq!(api.engine.run_batch_jobs().await.expect("run"), 2);
    for pi in [a, b] {
        let instance = api.get(&format!("/process-instance/{pi}")).await;
        assert_eq!(instance["definitionId"], v2.as_str());
    }
}
