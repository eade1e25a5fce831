//! Standard loops and the complex gateway. Camunda 7 has neither, so these follow the BPMN 2.0
//! specification (§10.2.8 loop activities, §13.3.5 complex gateway); see the module docs of
//! `standard_loop` and `complex` for the exact rules.

use super::*;
use crate::value::Value;

fn loop_counter(h: &Harness, activity: &str) -> Option<Value> {
    h.state
        .activity_instances
        .values()
        .find(|a| a.activity_id == activity)
        .and_then(|a| a.variables.get("loopCounter").cloned())
}

/// do-while: three iterations for `loopCounter < 2`; while: `limit` iterations (none for 0);
/// `loopMaximum="2"` caps an always-true condition.
#[test]
fn standard_loop_do_while_while_and_maximum() {
    let mut h = run(
        "standard_loop.bpmn",
        &[step(Do::Start(vars(&[("limit", Value::Integer(2))])))
            .effects(&["user:doWhile"])
            .active(&["doWhile"])],
    );
    for n in 0..2 {
        assert_eq!(loop_counter(&h, "doWhile"), Some(Value::Integer(n)));
        h.run(&[step(Do::Complete("doWhile", Variables::new()))
            .effects(&["user:doWhile"])
            .active(&["doWhile"])]);
    }
    assert_eq!(loop_counter(&h, "doWhile"), Some(Value::Integer(2)));
    h.run(&[
        step(Do::Complete("doWhile", Variables::new()))
            .history(&["end:doWhile", "start:whileTask"])
            .active(&["whileTask"]),
        step(Do::Complete("whileTask", Variables::new())).active(&["whileTask"]),
        step(Do::Complete("whileTask", Variables::new())).active(&["capped"]),
        step(Do::Complete("capped", Variables::new())).active(&["capped"]),
        step(Do::Complete("capped", Variables::new())).completed(),
    ]);
    // `loopCounter` is local to each iteration: nothing leaks into the process scope.
    assert!(!h.state.process_variables().contains_key("loopCounter"));

    // while with a false condition before the first iteration: the task never runs.
    let mut h = run(
        "standard_loop.bpmn",
        &[step(Do::Start(vars(&[("limit", Value::Integer(0))])))],
    );
    for _ in 0..3 {
        h.run(&[step(Do::Complete("doWhile", Variables::new()))]);
    }
    assert_eq!(h.state.active_activity_ids(), vec!["capped".to_owned()]);
}

/// A converging complex gateway fires once two of three tokens arrived, absorbs the third;
/// the diverging one forks like an inclusive gateway (its default flow when nothing holds).
#[test]
fn complex_gateway_activation_condition_and_reset() {
    run(
        "complex_gateway.bpmn",
        &[
            step(Do::Start(vars(&[("n", Value::Integer(3))]))).effects(&[
                "user:taskA",
                "user:taskB",
                "user:taskC",
            ]),
            step(Do::Complete("taskB", Variables::new())).active(&["join", "taskA", "taskC"]),
            step(Do::Complete("taskA", Variables::new()))
                .effects(&["user:after"])
                .active(&["after", "taskC"]),
            // The third token of the round is absorbed: no second `after`.
            step(Do::Complete("taskC", Variables::new()))
                .effects(&[])
                .active(&["after"]),
            step(Do::Complete("after", Variables::new())).completed(),
        ],
    );
    run(
        "complex_gateway.bpmn",
        &[step(Do::Start(vars(&[("n", Value::Integer(0))])))
            .effects(&["user:taskC"])
            .active(&["taskC"])],
    );
}
