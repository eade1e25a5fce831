//! Issue 3 item 8: history of process instances, activity instances, variables, incidents and
//! user operations, queryable after the fact (and after a restart).

use baton_bpmn::{Value, Variables};
use baton_tests::bpmn::definitions;
use baton_tests::{T0, TestEngine, vars};

fn task_then_user_task() -> String {
    definitions(
        "hist",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task" />
    <bpmn:serviceTask id="task" camunda:type="external" camunda:topic="hist" />
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="review" />
    <bpmn:userTask id="review" />
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    )
}

#[tokio::test]
async fn a_finished_instance_has_its_whole_history() {
    let t = TestEngine::new().await;
    let defs = t.deploy("hist", &task_then_user_task()).await;
    let r = t
        .start_with(
            "hist",
            baton::engine::StartRequest {
                variables: vars([("amount", Value::Integer(10))]),
                business_key: Some("order-1".into()),
                ..Default::default()
            },
        )
        .await;
    let id = r.instance.id().to_owned();
    t.clock.advance(1_000);
    let task = t.fetch("w", "hist", 1).await.remove(0).task;
    t.complete(&task.id, "w", vars([("amount", Value::Integer(20))]))
        .await;
    t.clock.advance(1_000);
    let ut = t.engine.user_tasks().await.expect("user tasks").remove(0);
    t.engine.claim_task(&ut.id, "mary").await.expect("claim");
    t.engine
        .complete_user_task(&ut.id, vars([("ok", Value::Boolean(true))]))
        .await
        .expect("complete");

    let t = t.reopen().await; // history is durable, not a cache
    let pi = t
        .engine
        .historic_process_instances()
        .await
        .expect("history")
        .into_iter()
        .find(|h| h.id == id)
        .expect("historic instance");
    assert_eq!(pi.state, "COMPLETED");
    assert_eq!(pi.business_key.as_deref(), Some("order-1"));
    assert_eq!(pi.process_definition_id, defs[0].id);
    assert_eq!(pi.process_definition_version, 1);
    assert_eq!(pi.start_time, T0);
    assert_eq!(pi.end_time, Some(T0 + 2_000));
    assert_eq!(pi.start_activity_id.as_deref(), Some("start"));

    let acts = t.activities(&id).await;
    let ids: Vec<&str> = acts.iter().map(|a| a.activity_id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["start", "task", "review", "end"],
        "in order of start"
    );
    assert!(acts.iter().all(|a| a.end_time.is_some() && !a.canceled));
    let task_act = acts.iter().find(|a| a.activity_id == "task").expect("task");
    assert_eq!(task_act.start_time, T0);
    assert_eq!(task_act.end_time, Some(T0 + 1_000));
    assert_eq!(task_act.task_id.as_deref(), Some(task.id.as_str()));
    let review = acts
        .iter()
        .find(|a| a.activity_id == "review")
        .expect("review");
    assert_eq!(review.assignee.as_deref(), Some("mary"));

    let vars = t
        .engine
        .historic_variables(Some(&id))
        .await
        .expect("variables");
    let amount = vars.iter().find(|v| v.name == "amount").expect("amount");
    assert_eq!(amount.value, Value::Integer(20), "the latest value");
    assert_eq!(amount.create_time, T0);
    assert_eq!(amount.last_updated, T0 + 1_000);
    assert!(
        vars.iter()
            .any(|v| v.name == "ok" && v.value == Value::Boolean(true))
    );

    let ops = t.engine.user_operations().await.expect("operations");
    assert!(
        ops.iter()
            .any(|o| o.operation_type == "Claim" && o.entity_id == ut.id),
        "{ops:?}"
    );
    assert!(
        ops.iter()
            .any(|o| o.operation_type == "Complete" && o.entity_id == ut.id)
    );
}

#[tokio::test]
async fn a_deleted_instance_is_externally_terminated_with_canceled_activities() {
    let t = TestEngine::new().await;
    t.deploy("hist", &task_then_user_task()).await;
    let id = t
        .start("hist", Variables::new())
        .await
        .instance
        .id()
        .to_owned();
    t.engine
        .delete_instance(&id, Some("no longer needed".into()))
        .await
        .expect("delete");
    assert_eq!(t.instance_state(&id).await, "EXTERNALLY_TERMINATED");
    let pi = t
        .engine
        .historic_process_instances()
        .await
        .expect("history")
        .into_iter()
        .find(|h| h.id == id)
        .expect("historic instance");
    assert_eq!(pi.delete_reason.as_deref(), Some("no longer needed"));
    let task = t
        .activities(&id)
        .await
        .into_iter()
        .find(|a| a.activity_id == "task")
        .expect("task");
    assert!(task.canceled && task.end_time.is_some());
    assert!(t.engine.external_tasks().await.expect("tasks").is_empty());
    let ops = t.engine.user_operations().await.expect("operations");
    assert!(
        ops.iter()
            .any(|o| o.operation_type == "Delete" && o.entity_id == id)
    );
}
