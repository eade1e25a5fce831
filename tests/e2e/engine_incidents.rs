//! Issue 3 item 7: incidents. Retries reaching 0, a failing expression in an async job (in
//! engine_jobs) and an unhandled BPMN error (with `incident_on_unhandled_bpmn_error`) raise one; setting retries > 0 resolves it.

use baton::engine::FailureRequest;
use baton_bpmn::Variables;
use baton_tests::TestEngine;
use baton_tests::bpmn::one_task;

#[tokio::test]
async fn zero_retries_raise_an_incident_and_new_retries_resolve_it() {
    let t = TestEngine::new().await;
    t.deploy("p", &one_task("inc", "inc")).await;
    let id = t
        .start("inc", Variables::new())
        .await
        .instance
        .id()
        .to_owned();
    let task = t.fetch("w", "inc", 1).await.remove(0).task;
    t.engine
        .external_task_failure(
            &task.id,
            FailureRequest {
                worker_id: "w".into(),
                error_message: Some("gave up".into()),
                retries: 0,
                retry_timeout: 0,
                ..FailureRequest::default()
            },
        )
        .await
        .expect("failure");
    let incidents = t.engine.incidents().await.expect("incidents");
    assert_eq!(incidents.len(), 1);
    let incident = &incidents[0];
    assert_eq!(incident.incident_type.as_str(), "failedExternalTask");
    assert_eq!(incident.message.as_deref(), Some("gave up"));
    assert_eq!(incident.process_instance_id, id);
    assert_eq!(incident.activity_id, "task");
    assert_eq!(incident.configuration.as_deref(), Some(task.id.as_str()));
    assert!(
        t.fetch("w", "inc", 1).await.is_empty(),
        "no retries: not fetchable"
    );

    t.clock.advance(1_000);
    t.engine
        .set_external_task_retries(&task.id, 2)
        .await
        .expect("set retries");
    assert!(
        t.engine.incidents().await.expect("incidents").is_empty(),
        "resolved"
    );
    let history = t
        .engine
        .historic_incidents()
        .await
        .expect("historic incidents");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].id, incident.id);
    assert_eq!(history[0].end_time, Some(incident.timestamp + 1_000));
    let again = t.fetch("w", "inc", 1).await;
    assert_eq!(again.len(), 1, "fetchable again");
    assert_eq!(again[0].task.retries, Some(2));
    t.complete(&again[0].task.id, "w", Variables::new()).await;
    assert_eq!(t.instance_state(&id).await, "COMPLETED");
}

#[tokio::test]
async fn setting_retries_to_zero_raises_an_incident() {
    let t = TestEngine::new().await;
    t.deploy("p", &one_task("inc0", "inc0")).await;
    t.start("inc0", Variables::new()).await;
    let task = t.engine.external_tasks().await.expect("tasks").remove(0);
    t.engine
        .set_external_task_retries(&task.id, 0)
        .await
        .expect("retries 0");
    assert_eq!(t.engine.incidents().await.expect("incidents").len(), 1);
    let e = t.engine.set_external_task_retries(&task.id, -1).await;
    assert!(e.is_err(), "negative retries are refused");
}

#[tokio::test]
async fn an_unhandled_bpmn_error_raises_an_incident_when_configured() {
    // Opt-in: by default an uncaught error ends the execution (bpmn_semantics tests that).
    let t = TestEngine::with(|c| c.incident_on_unhandled_bpmn_error = true).await;
    t.deploy("p", &one_task("unh", "unh")).await;
    let id = t
        .start("unh", Variables::new())
        .await
        .instance
        .id()
        .to_owned();
    let task = t.fetch("w", "unh", 1).await.remove(0).task;
    t.engine
        .external_task_bpmn_error(
            &task.id,
            "w",
            "NOBODY_CATCHES",
            Some("oops".into()),
            Variables::new(),
        )
        .await
        .expect("the report is accepted; the error becomes an incident");
    let incidents = t.engine.incidents().await.expect("incidents");
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0].incident_type.as_str(), "unhandledBpmnError");
    assert_eq!(incidents[0].process_instance_id, id);
    assert_eq!(incidents[0].activity_id, "task");
    assert_eq!(
        t.instance_state(&id).await,
        "ACTIVE",
        "the instance waits at the task"
    );
}

#[tokio::test]
async fn resolve_incident_restores_one_retry() {
    let t = TestEngine::new().await;
    t.deploy("p", &one_task("res", "res")).await;
    t.start("res", Variables::new()).await;
    let task = t.fetch("w", "res", 1).await.remove(0).task;
    t.engine
        .external_task_failure(
            &task.id,
            FailureRequest {
                worker_id: "w".into(),
                retries: 0,
                ..FailureRequest::default()
            },
        )
        .await
        .expect("failure");
    let incident = t.engine.incidents().await.expect("incidents").remove(0);
    t.engine
        .resolve_incident(&incident.id)
        .await
        .expect("resolve");
    assert!(t.engine.incidents().await.expect("incidents").is_empty());
    assert_eq!(t.fetch("w", "res", 1).await.len(), 1);
}
