//! The tables: one test per element and per semantic rule, several mirroring Camunda 7 tests.

use super::*;
use crate::engine::{Effect, HistoryEvent, InstanceStatus};
use crate::value::Value;

fn s(x: &str) -> Value {
    Value::String(x.into())
}
fn i(x: i32) -> Value {
    Value::Integer(x)
}
fn b(x: bool) -> Value {
    Value::Boolean(x)
}
fn none() -> Variables {
    Variables::new()
}
fn json(v: serde_json::Value) -> Value {
    Value::Json(v)
}

// ---------------------------------------------------------------- the vertical slice

#[test]
fn vertical_slice_service_task_gateway_user_task_end() {
    let h = run(
        "vertical.bpmn",
        &[
            at(1000, Do::Start(vars(&[("amount", i(250)), ("owner", s("demo")), ("reviewers", json(serde_json::json!(["a", "b"])))])))
                .effects(&["ext:charge:charge"])
                .history(&["start:start", "end:start", "start:charge"])
                .active(&["charge"])
                .var("amount", i(250)),
            at(2000, Do::Complete("charge", vars(&[("charged", b(true))])))
                .effects(&["user:approve"])
                .history(&["end:charge", "start:gw", "end:gw", "start:approve"])
                .active(&["approve"])
                .var("charged", b(true)),
            at(3000, Do::Complete("approve", none()))
                .effects(&["completed"])
                .history(&["end:approve", "start:endApproved", "end:endApproved"])
                .completed(),
        ],
    );
    // The external task carries priority, retry cycle and properties; the user task its fields.
    let ext = h
        .all
        .iter()
        .find_map(|e| match e {
            Effect::CreateExternalTask(s) => Some(s.clone()),
            _ => None,
        })
        .expect("external task");
    assert_eq!(ext.priority, 7);
    assert_eq!(ext.retry_time_cycle.as_deref(), Some("R3/PT10S"));
    assert_eq!(ext.extension_properties.get("retries").map(String::as_str), Some("5"));
    assert_eq!(ext.execution_id, "pi-1", "a single path runs on the process instance");
    assert!(ext.activity_instance_id.starts_with("charge:"));
    let user = h
        .all
        .iter()
        .find_map(|e| match e {
            Effect::CreateUserTask(s) => Some(s.clone()),
            _ => None,
        })
        .expect("user task");
    assert_eq!(user.assignee.as_deref(), Some("demo"));
    assert_eq!(user.candidate_groups, vec!["sales", "management"]);
    assert_eq!(user.candidate_users, vec!["a", "b"]);
    assert_eq!(user.priority, 50);
    assert_eq!(user.due, Some(1_767_312_000_000));
    assert_eq!(user.form_key.as_deref(), Some("embedded:app:forms/approve.html"));
    assert_eq!(user.name.as_deref(), Some("Approve order"));
    assert_eq!(user.description.as_deref(), Some("Check the order"));
    // ActivityStarted of a task names its task id; the parent of top-level activities is the
    // process instance; variables are recorded.
    let started = h.all.iter().find_map(|e| match e {
        Effect::History(HistoryEvent::ActivityStarted {
            activity_id,
            task_id,
            parent_activity_instance_id,
            activity_type,
            ..
        }) if activity_id == "charge" => Some((
            task_id.clone(),
            parent_activity_instance_id.clone(),
            activity_type.clone(),
        )),
        _ => None,
    });
    assert_eq!(
        started,
        Some((Some(ext.task_id.clone()), "pi-1".into(), "serviceTask".into()))
    );
    assert!(h.all.iter().any(|e| matches!(e,
        Effect::History(HistoryEvent::VariableSet { scope_id, name, .. })
            if scope_id == "pi-1" && name == "charged")));
    assert_eq!(h.state.ended_at, Some(3000));
}

#[test]
fn vertical_slice_default_flow_to_end() {
    run(
        "vertical.bpmn",
        &[
            step(Do::Start(vars(&[("amount", i(5))]))).active(&["charge"]),
            step(Do::Complete("charge", none()))
                .effects(&["completed"])
                .history(&["end:charge", "start:gw", "end:gw", "start:endCheap", "end:endCheap"])
                .completed(),
        ],
    );
}

#[test]
fn commands_on_ended_or_unknown_ids_fail() {
    let mut h = run(
        "vertical.bpmn",
        &[
            step(Do::Start(vars(&[("amount", i(5))]))),
            step(Do::Raw(Command::CompleteTask {
                task_id: "nope".into(),
                variables: none(),
                local_variables: none(),
            }))
            .fails("NotWaiting"),
            step(Do::Raw(Command::TimerFired { timer_id: "nope".into() })).fails("NotWaiting"),
            step(Do::Raw(Command::RunJob { job_id: "nope".into() })).fails("NotWaiting"),
            step(Do::Raw(Command::MessageReceived {
                subscription_id: "nope".into(),
                variables: none(),
                local_variables: none(),
            }))
            .fails("NotWaiting"),
            step(Do::Raw(Command::SignalReceived {
                subscription_id: "nope".into(),
                variables: none(),
            }))
            .fails("NotWaiting"),
            step(Do::Complete("charge", none())).completed(),
        ],
    );
    let err = h
        .apply(Command::Cancel { reason: None }, 0)
        .expect_err("ended");
    assert!(matches!(err, EngineError::InstanceEnded(_)));
}

#[test]
fn ids_are_deterministic() {
    let a = run("vertical.bpmn", &[step(Do::Start(vars(&[("amount", i(5))])))]);
    let b = run("vertical.bpmn", &[step(Do::Start(vars(&[("amount", i(5))])))]);
    assert_eq!(a.all, b.all);
    assert_eq!(a.state, b.state);
}

// ---------------------------------------------------------------- exclusive gateway

/// ExclusiveGatewayTest.testDefaultSequenceFlow
#[test]
fn exclusive_gateway_default_sequence_flow() {
    for (input, task) in [(1, "theTask1"), (2, "theTask2"), (3, "theTask3"), (99, "theTask2")] {
        run(
            "exclusive_default.bpmn",
            &[step(Do::Start(vars(&[("input", i(input))]))).active(&[task])],
        );
    }
}

/// ExclusiveGatewayTest.testNoSequenceFlowSelected
#[test]
fn exclusive_gateway_without_match_fails() {
    let mut h = Harness::new("exclusive_nodefault.bpmn");
    let err = h
        .apply(h.command(&Do::Start(vars(&[("input", i(4))]))), 0)
        .expect_err("no flow");
    assert_eq!(
        err,
        EngineError::NoOutgoingFlow {
            activity_id: "exclusiveGw".into()
        }
    );
}

// ---------------------------------------------------------------- parallel gateway

/// ParallelGatewayTest.testUnbalancedForkJoin
#[test]
fn parallel_gateway_unbalanced_fork_join() {
    run(
        "parallel_unbalanced.bpmn",
        &[
            step(Do::Start(none()))
                .effects(&["user:task1", "user:task2", "user:task3"])
                .active(&["task1", "task2", "task3"]),
            step(Do::Complete("task1", none())).active(&["firstJoin", "task2", "task3"]),
            step(Do::Complete("task2", none())).active(&["task3", "task4"]),
            step(Do::Complete("task3", none())).active(&["secondJoin", "task4"]),
            step(Do::Complete("task4", none())).completed(),
        ],
    );
}

#[test]
fn parallel_join_inside_a_loop_counts_per_round() {
    run(
        "parallel_loop.bpmn",
        &[
            step(Do::Start(vars(&[("repeat", b(true))]))).active(&["a", "b"]),
            step(Do::Complete("a", none())).active(&["b", "join"]),
            step(Do::Complete("b", none())).active(&["a", "b"]),
            step(Do::Complete("b", vars(&[("repeat", b(false))]))).active(&["a", "join"]),
            step(Do::Complete("a", none())).completed(),
        ],
    );
}

// ---------------------------------------------------------------- inclusive gateway

/// InclusiveGatewayTest.testPartialMergingInclusiveGateway
#[test]
fn inclusive_gateway_partial_merging() {
    run(
        "inclusive_partial.bpmn",
        &[
            step(Do::Start(vars(&[("input", i(2))])))
                .active(&["fullInclusiveGw", "partialTask"]),
            step(Do::Complete("partialTask", none())).active(&["theTask"]),
            step(Do::Complete("theTask", none())).completed(),
        ],
    );
}

/// InclusiveGatewayTest.testDivergingInclusiveGateway (+ default flow)
#[test]
fn inclusive_gateway_diverging_and_default() {
    run(
        "inclusive_diverging.bpmn",
        &[
            step(Do::Start(vars(&[("input", i(1))]))).active(&["taskA", "taskB"]),
            step(Do::Complete("taskB", none())).active(&["join", "taskA"]),
            step(Do::Complete("taskA", none())).completed(),
        ],
    );
    run(
        "inclusive_diverging.bpmn",
        &[
            step(Do::Start(vars(&[("input", i(2))]))).active(&["taskB"]),
            step(Do::Complete("taskB", none())).completed(),
        ],
    );
    run(
        "inclusive_diverging.bpmn",
        &[
            step(Do::Start(vars(&[("input", i(5))]))).active(&["taskDefault"]),
            step(Do::Complete("taskDefault", none())).completed(),
        ],
    );
}
