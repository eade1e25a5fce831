//! In-engine logic: `camunda:expression` tasks and expression listeners, mirroring Camunda 7's
//! `ExpressionServiceTaskTest` (a bean property as the result variable), execution listener
//! ordering (process start, take, activity start/end, process end) and task listeners that
//! shape the task they fire on.

use super::*;
use crate::engine::Effect;
use crate::value::Value;

fn s(x: &str) -> Value {
    Value::String(x.into())
}

fn start_vars() -> Variables {
    vars(&[
        ("x", Value::Integer(5)),
        ("approver", s("kermit")),
        ("bean", Value::Json(serde_json::json!({"value": "ok"}))),
    ])
}

#[test]
fn expression_tasks_and_listeners_run_within_the_command() {
    let mut h = run(
        "in_engine.bpmn",
        &[step(Do::Start(start_vars()))
            .effects(&["user:approve"])
            .active(&["approve"])
            // Camunda's JUEL: Integer + Long literal is a Long.
            .var("y", Value::Long(10))
            .var("sent", s("pi-1"))
            .var("result", s("ok"))
            .var("assigned", s("kermit"))
            .var("log", s("process-start,take,start-compute,end-compute"))],
    );
    let task = h
        .all
        .iter()
        .find_map(|e| match e {
            Effect::CreateUserTask(t) => Some(t.clone()),
            _ => None,
        })
        .expect("user task");
    assert_eq!(
        task.assignee.as_deref(),
        Some("kermit"),
        "set by the create listener"
    );
    assert_eq!(task.priority, 80);
    h.run(&[
        step(Do::Complete("approve", none()))
            .effects(&["ext:java:com.acme.CheckStockDelegate"])
            .var("completed", s("Approve")),
        step(Do::Complete("java", none())).completed().var(
            "log",
            s("process-start,take,start-compute,end-compute,process-end"),
        ),
    ]);
}

fn none() -> Variables {
    Variables::new()
}

#[test]
fn unknown_identifier_fails_the_command_with_camundas_text() {
    let mut h = Harness::new("in_engine.bpmn");
    let mut v = start_vars();
    v.remove("bean");
    let err = h
        .apply(
            Command::Start {
                variables: v,
                start_activity_id: None,
                initiator: None,
            },
            0,
        )
        .expect_err("no bean");
    assert_eq!(
        err.to_string(),
        "activity 'rule': camunda:expression: Unknown property used in expression: \
         ${bean.value}. Cause: Cannot resolve identifier 'bean'"
    );
}

#[test]
fn delete_listener_fires_when_a_boundary_event_cancels_the_task() {
    run(
        "in_engine_delete.bpmn",
        &[
            step(Do::Start(vars(&[("x", Value::Integer(1))]))).active(&["review"]),
            step(Do::Timer("timeout"))
                .completed()
                .var("deleted", s("delete"))
                .no_var("x"),
        ],
    );
}

/// Camunda's `InputOutputTest.testOutputElValue`: an expression task's EL output parameter
/// (`${ 1 + 1 }` is the Long 2), next to an input parameter reading `execution`.
#[test]
fn expression_task_with_el_input_and_output_parameters() {
    run(
        "in_engine_output.bpmn",
        &[step(Do::Start(none()))
            .active(&["wait"])
            .var("var1", Value::Long(2))
            .var("copied", s("run"))
            .no_var("local")],
    );
}

#[test]
fn delete_listener_fires_on_cancellation() {
    run(
        "in_engine_delete.bpmn",
        &[
            step(Do::Start(none())).active(&["review"]),
            step(Do::Cancel)
                .status(crate::engine::InstanceStatus::Canceled)
                .var("deleted", s("delete")),
        ],
    );
}
