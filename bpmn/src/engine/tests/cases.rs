//! The tables: one test per element and per semantic rule, several mirroring Camunda 7 tests.

use super::*;
use crate::engine::{CallBinding, Effect, HistoryEvent, InstanceStatus, JobKind};
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
            at(
                1000,
                Do::Start(vars(&[
                    ("amount", i(250)),
                    ("owner", s("demo")),
                    ("reviewers", json(serde_json::json!(["a", "b"]))),
                ])),
            )
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
    assert_eq!(
        ext.extension_properties.get("retries").map(String::as_str),
        Some("5")
    );
    assert_eq!(
        ext.execution_id, "pi-1",
        "a single path runs on the process instance"
    );
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
    assert_eq!(
        user.form_key.as_deref(),
        Some("embedded:app:forms/approve.html")
    );
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
        Some((
            Some(ext.task_id.clone()),
            "pi-1".into(),
            "serviceTask".into()
        ))
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
            step(Do::Start(vars(&[("amount", i(5))])))
                .contains(&["ext:charge:charge"])
                .active(&["charge"]),
            step(Do::Complete("charge", none()))
                .effects(&["completed"])
                .history(&[
                    "end:charge",
                    "start:gw",
                    "end:gw",
                    "start:endCheap",
                    "end:endCheap",
                ])
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
            step(Do::Raw(Command::TimerFired {
                timer_id: "nope".into(),
            }))
            .fails("NotWaiting"),
            step(Do::Raw(Command::RunJob {
                job_id: "nope".into(),
            }))
            .fails("NotWaiting"),
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
    let a = run(
        "vertical.bpmn",
        &[step(Do::Start(vars(&[("amount", i(5))])))],
    );
    let b = run(
        "vertical.bpmn",
        &[step(Do::Start(vars(&[("amount", i(5))])))],
    );
    assert_eq!(a.all, b.all);
    assert_eq!(a.state, b.state);
}

// ---------------------------------------------------------------- exclusive gateway

/// ExclusiveGatewayTest.testDefaultSequenceFlow
#[test]
fn exclusive_gateway_default_sequence_flow() {
    for (input, task) in [
        (1, "theTask1"),
        (2, "theTask2"),
        (3, "theTask3"),
        (99, "theTask2"),
    ] {
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
    // Clients match on Camunda's text (BpmnBehaviorLogger.stuckExecutionException).
    assert_eq!(
        err.to_string(),
        "ENGINE-02004 No outgoing sequence flow for the element with id 'exclusiveGw' could be \
         selected for continuing the process."
    );
}

/// InclusiveGatewayTest.testNoSequenceFlowSelected: the same ENGINE-02004 text as the
/// exclusive gateway.
#[test]
fn inclusive_gateway_without_match_fails() {
    let mut h = Harness::new("inclusive_nodefault.bpmn");
    let err = h
        .apply(h.command(&Do::Start(vars(&[("input", i(4))]))), 0)
        .expect_err("no flow");
    assert_eq!(
        err.to_string(),
        "ENGINE-02004 No outgoing sequence flow for the element with id 'inclusiveGw' could be \
         selected for continuing the process."
    );
}

/// A task whose conditional outgoing flows are all false and which has no default flow: Camunda's
/// BpmnActivityBehavior.performOutgoingBehavior raises ENGINE-02006 (missingConditionalFlow).
#[test]
fn activity_with_false_conditional_flows_fails() {
    let mut h = Harness::new("conditional_flows_nodefault.bpmn");
    let start = h.command(&Do::Start(vars(&[("input", i(4))])));
    h.apply(start, 0).expect("started");
    let err = h
        .apply(h.command(&Do::Complete("work", none())), 1)
        .expect_err("no flow");
    assert_eq!(
        err.to_string(),
        "ENGINE-02006 No conditional sequence flow leaving the Flow Node 'work' could be selected \
         for continuing the process."
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
            step(Do::Start(vars(&[("input", i(2))]))).active(&["fullInclusiveGw", "partialTask"]),
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

/// The live activity instances at an activity, in creation order.
fn instances<'h>(h: &'h Harness, activity_id: &str) -> Vec<&'h crate::engine::ActivityInstance> {
    let mut v: Vec<_> = h
        .state
        .activity_instances
        .values()
        .filter(|a| a.activity_id == activity_id)
        .collect();
    v.sort_by_key(|a| a.internal.get("seq").copied());
    v
}

fn history_has(h: &Harness, pred: impl Fn(&HistoryEvent) -> bool) -> bool {
    h.all
        .iter()
        .any(|e| matches!(e, Effect::History(x) if pred(x)))
}

// ---------------------------------------------------------------- boundary events

#[test]
fn boundary_error_specific_code_beats_catch_all() {
    run(
        "boundary_error.bpmn",
        &[
            step(Do::Start(none())).effects(&["ext:work:work"]),
            step(Do::Throw("work", "E1"))
                .effects(&["user:handleE1"])
                .history(&[
                    "cancel:work",
                    "start:catchE1",
                    "end:catchE1",
                    "start:handleE1",
                ])
                .active(&["handleE1"])
                .var("code", s("E1"))
                .var("msg", s("error E1"))
                .no_var("anyCode"),
            step(Do::Complete("handleE1", none())).completed(),
        ],
    );
}

#[test]
fn boundary_error_catch_all_and_error_variables() {
    let mut h = Harness::new("boundary_error.bpmn");
    h.run(&[step(Do::Start(none()))]);
    let task_id = h.task_at("work").expect("task");
    h.run(&[step(Do::Raw(Command::ThrowError {
        task_id,
        code: "OTHER".into(),
        message: None,
        variables: vars(&[("before", i(1))]),
    }))
    .active(&["handleAny"])
    .var("anyCode", s("OTHER"))
    .var("before", i(1))]);
}

#[test]
fn boundary_timer_interrupting() {
    run(
        "boundary_timer.bpmn",
        &[
            at(1000, Do::Start(vars(&[("wait", s("PT1H"))])))
                .effects(&["timer:timeout@3601000", "user:review"])
                .active(&["review"]),
            at(3_601_000, Do::Timer("timeout"))
                .effects(&["cancelTask:review", "user:escalated"])
                .history(&[
                    "cancel:review",
                    "start:timeout",
                    "end:timeout",
                    "start:escalated",
                ])
                .active(&["escalated"]),
            step(Do::Complete("escalated", none())).completed(),
        ],
    );
    // Completing the task first disarms the timer.
    run(
        "boundary_timer.bpmn",
        &[
            at(0, Do::Start(vars(&[("wait", s("PT1M"))])))
                .effects(&["timer:timeout@60000", "user:review"]),
            step(Do::Complete("review", none()))
                .effects(&["cancelTimer:timeout", "completed"])
                .completed(),
        ],
    );
}

/// BoundaryTimerNonInterruptingEventTest.testTimerWithCycle
#[test]
fn boundary_timer_non_interrupting_cycle_rearms() {
    let h = run(
        "timer_cycle.bpmn",
        &[
            step(Do::Start(none())).effects(&["timer:timer@3600000", "user:task"]),
            at(3_600_000, Do::Timer("timer"))
                .effects(&["timer:timer@7200000", "user:timerFiredTask"])
                .active(&["task", "timerFiredTask"]),
            at(7_200_000, Do::Timer("timer"))
                .effects(&["timer:timer@10800000", "user:timerFiredTask"])
                .active(&["task", "timerFiredTask", "timerFiredTask"]),
            step(Do::Complete("task", none()))
                .effects(&["cancelTimer:timer"])
                .active(&["timerFiredTask", "timerFiredTask"]),
        ],
    );
    assert!(instances(&h, "task").is_empty());
}

#[test]
fn boundary_message_signal_and_conditional() {
    run(
        "boundary_events.bpmn",
        &[
            step(Do::Start(none()))
                .effects(&["msg:ping:ping", "sig:stop:stop", "user:wait"])
                .active(&["wait"]),
            // Non-interrupting message: the subscription stays, it can fire again.
            step(Do::Message("ping", vars(&[("pings", i(1))])))
                .effects(&["user:pinged"])
                .active(&["pinged", "wait"])
                .var("pings", i(1)),
            step(Do::Message("ping", none())).active(&["pinged", "pinged", "wait"]),
            // Conditional boundary fires when a variable change makes it true.
            step(Do::SetVars(vars(&[("flag", s("off"))]))).effects(&[]),
            step(Do::SetVars(vars(&[("flag", s("on"))])))
                .effects(&["user:onFlag"])
                .active(&["onFlag", "pinged", "pinged", "wait"]),
            // Interrupting signal: the task, the message subscription go; the rest stays.
            step(Do::Signal("stop", none()))
                .effects(&["cancelTask:wait", "unsub:ping"])
                .history(&[
                    "cancel:wait",
                    "start:stop",
                    "end:stop",
                    "start:stopped",
                    "end:stopped",
                ])
                .active(&["onFlag", "pinged", "pinged"]),
            step(Do::Complete("pinged", none())),
            step(Do::Complete("pinged", none())),
            step(Do::Complete("onFlag", none())).completed(),
        ],
    );
}

// ---------------------------------------------------------------- subprocesses, terminate

/// TerminateEndEventTest.testTerminateInSubProcess: only the subprocess is terminated.
#[test]
fn terminate_end_event_in_subprocess() {
    let h = run(
        "subprocess_terminate.bpmn",
        &[
            step(Do::Start(none()))
                .effects(&[
                    "user:preNormalEnd",
                    "user:innerTask",
                    "cancelTask:innerTask",
                ])
                .active(&["preNormalEnd"])
                .status(InstanceStatus::Active),
            step(Do::Complete("preNormalEnd", none())).completed(),
        ],
    );
    assert!(history_has(&h, |e| matches!(e,
        HistoryEvent::ActivityEnded { activity_id, complete_scope: true, canceled: false, .. }
            if activity_id == "EndEvent_1")));
    assert!(history_has(&h, |e| matches!(e,
        HistoryEvent::ActivityEnded { activity_id, canceled: false, .. } if activity_id == "SubProcess_1")));
    // The subprocess ran on an execution of its own.
    let sub_exec = h.all.iter().find_map(|e| match e {
        Effect::History(HistoryEvent::ActivityStarted {
            activity_id,
            execution_id,
            ..
        }) if activity_id == "SubProcess_1" => Some(execution_id.clone()),
        _ => None,
    });
    assert!(sub_exec.is_some_and(|e| e != "pi-1"));
}

/// TerminateEndEventTest.testProcessTerminate: ends every token; history state COMPLETED.
#[test]
fn terminate_end_event_at_process_level() {
    run(
        "process_terminate.bpmn",
        &[
            step(Do::Start(none())).effects(&["user:other", "ext:last:last"]),
            step(Do::Complete("last", none()))
                .effects(&["cancelTask:other", "completed"])
                .history(&[
                    "end:last",
                    "start:terminate",
                    "cancel:other",
                    "end:terminate",
                ])
                .completed(),
        ],
    );
}

// ---------------------------------------------------------------- errors

/// ErrorEventSubProcessTest.testEventSubprocessTakesPrecedence
#[test]
fn error_event_subprocess_takes_precedence_over_boundary() {
    let h = run(
        "esp_precedence.bpmn",
        &[
            step(Do::Start(none()))
                .effects(&["user:taskAfterErrorCatch"])
                .active(&["taskAfterErrorCatch"])
                .var("caught", s("123")),
            step(Do::Complete("taskAfterErrorCatch", none())).completed(),
        ],
    );
    assert!(!history_has(&h, |e| matches!(e,
        HistoryEvent::ActivityStarted { activity_id, .. } if activity_id == "catchErrorBoundary")));
    assert!(history_has(&h, |e| matches!(e,
        HistoryEvent::ActivityStarted { activity_id, activity_type, .. }
            if activity_id == "eventSubProcess" && activity_type == "eventSubProcess")));
}

/// BoundaryErrorEventTest.testCatchErrorOnEmbeddedSubprocess
#[test]
fn error_end_event_caught_on_embedded_subprocess() {
    run(
        "error_end_subprocess.bpmn",
        &[
            step(Do::Start(none())).active(&["subprocessTask"]),
            step(Do::Complete("subprocessTask", none()))
                .history(&[
                    "end:subprocessTask",
                    "start:errorEnd",
                    "end:errorEnd",
                    "cancel:subprocess",
                    "start:catchError",
                    "end:catchError",
                    "start:taskAfterErrorCatch",
                ])
                .active(&["taskAfterErrorCatch"]),
            step(Do::Complete("taskAfterErrorCatch", none())).completed(),
        ],
    );
}

#[test]
fn unhandled_errors_fail_the_command_when_configured() {
    let mut h = Harness::new("unhandled_error.bpmn");
    h.options.uncaught_errors = crate::engine::UncaughtErrors::Fail;
    h.run(&[step(Do::Start(none()))]);
    h.run(&[
        step(Do::Throw("work", "X")).fails("UnhandledError"),
        step(Do::Complete("work", none())).fails("UnhandledError"),
    ]);
    let err = h
        .apply(h.command(&Do::Complete("work", none())), 0)
        .expect_err("unhandled");
    assert_eq!(
        err,
        EngineError::UnhandledError {
            code: "BOOM".into(),
            activity_id: "fail".into()
        }
    );
}

#[test]
fn external_task_error_event_definition_throws_on_complete() {
    run(
        "error_definition.bpmn",
        &[
            step(Do::Start(none())),
            step(Do::Complete("validate", vars(&[("valid", b(false))])))
                .effects(&["user:fix"])
                .var("why", s("invalid input")),
            step(Do::Complete("fix", none())).completed(),
        ],
    );
    run(
        "error_definition.bpmn",
        &[
            step(Do::Start(none())),
            step(Do::Complete("validate", vars(&[("valid", b(true))]))).completed(),
        ],
    );
}

// ---------------------------------------------------------------- escalation

#[test]
fn escalation_non_interrupting_and_interrupting_boundaries() {
    run(
        "escalation.bpmn",
        &[
            step(Do::Start(none()))
                .effects(&["user:informBoss", "user:inner"])
                .active(&["informBoss", "inner"])
                .var("escCode", s("LATE")),
            step(Do::Complete("inner", none()))
                .effects(&["user:afterDone"])
                .active(&["afterDone", "informBoss"]),
            step(Do::Complete("informBoss", none())),
            step(Do::Complete("afterDone", none())).completed(),
        ],
    );
}

// ---------------------------------------------------------------- event subprocesses

#[test]
fn event_subprocesses_message_and_timer() {
    run(
        "esp_message.bpmn",
        &[
            step(Do::Start(vars(&[("key", s("k1"))]))).effects(&[
                "msg:cancelStart:cancel",
                "msg:infoStart:info-k1",
                "timer:timerStart@600000",
                "user:main",
            ]),
            step(Do::Message("infoStart", none()))
                .effects(&["user:handleInfo"])
                .active(&["handleInfo", "main"]),
            step(Do::Message("infoStart", none())).active(&["handleInfo", "handleInfo", "main"]),
            at(600_000, Do::Timer("timerStart")).effects(&["ext:remind:remind"]),
            step(Do::Message("cancelStart", none()))
                .effects(&[
                    "unsub:infoStart",
                    "cancelTask:main",
                    "cancelTask:handleInfo",
                    "cancelTask:handleInfo",
                    "cancelTask:remind",
                    "user:handleCancel",
                ])
                .active(&["handleCancel"]),
            step(Do::Complete("handleCancel", none()))
                .effects(&["completed"])
                .completed(),
        ],
    );
    // A running non-interrupting event subprocess keeps the instance alive.
    run(
        "esp_message.bpmn",
        &[
            step(Do::Start(vars(&[("key", s("k1"))]))),
            step(Do::Message("infoStart", none())),
            step(Do::Complete("main", none())).active(&["handleInfo"]),
            step(Do::Complete("handleInfo", none()))
                .effects(&[
                    "unsub:cancelStart",
                    "unsub:infoStart",
                    "cancelTimer:timerStart",
                    "completed",
                ])
                .completed(),
        ],
    );
}

// ---------------------------------------------------------------- link events

/// LinkEventTest.testValidEventLink
#[test]
fn link_events_jump_to_the_catch_of_the_same_name() {
    run(
        "link.bpmn",
        &[
            step(Do::Start(none()))
                .history(&[
                    "start:StartEvent_1",
                    "end:StartEvent_1",
                    "start:IntermediateThrowEvent_1",
                    "end:IntermediateThrowEvent_1",
                    "start:IntermediateCatchEvent_1",
                    "end:IntermediateCatchEvent_1",
                    "start:waitAfterLink1",
                ])
                .active(&["waitAfterLink1"]),
            step(Do::Complete("waitAfterLink1", none())).active(&["waitAfterLink2"]),
            step(Do::Complete("waitAfterLink2", none())).completed(),
        ],
    );
}

// ---------------------------------------------------------------- call activities

#[test]
fn call_activity_in_and_out_mappings() {
    let h = run(
        "call_activity.bpmn",
        &[
            step(Do::Start(vars(&[
                ("x", i(5)),
                ("childKey", s("child")),
                ("key", s("bk-1")),
            ])))
            .effects(&["call:child"])
            .active(&["callChild"]),
            step(Do::Child(
                "callChild",
                vars(&[("result", i(21)), ("noise", i(0))]),
            ))
            .effects(&["user:after"])
            .var("fromChild", i(21))
            .var("doubled", Value::Long(42))
            .no_var("noise"),
        ],
    );
    let call = h
        .all
        .iter()
        .find_map(|e| match e {
            Effect::StartCallActivity {
                binding,
                business_key,
                variables,
                activity_instance_id,
                ..
            } => Some((
                binding.clone(),
                business_key.clone(),
                variables.clone(),
                activity_instance_id.clone(),
            )),
            _ => None,
        })
        .expect("call");
    assert_eq!(call.0, CallBinding::Version(2));
    assert_eq!(call.1.as_deref(), Some("bk-1"));
    assert_eq!(call.2.get("childX"), Some(&i(5)));
    assert_eq!(call.2.get("childY").and_then(Value::as_i64), Some(6));
    assert!(call.3.starts_with("callChild:"));
}

#[test]
fn call_activity_all_variables_and_child_errors() {
    let h = run(
        "call_all.bpmn",
        &[
            step(Do::Start(vars(&[("a", i(1)), ("b", s("x"))]))).effects(&["call:child"]),
            step(Do::Child("callChild", vars(&[("a", i(2)), ("c", i(3))])))
                .var("a", i(2))
                .var("c", i(3))
                .completed(),
        ],
    );
    let passed = h.all.iter().find_map(|e| match e {
        Effect::StartCallActivity { variables, .. } => Some(variables.clone()),
        _ => None,
    });
    assert_eq!(passed, Some(vars(&[("a", i(1)), ("b", s("x"))])));
    // An error from the child (its instance id as task id) targets the call activity.
    run(
        "call_activity.bpmn",
        &[
            step(Do::Start(vars(&[
                ("x", i(5)),
                ("childKey", s("child")),
                ("key", s("k")),
            ]))),
            step(Do::Throw("callChild", "CHILD_FAILED"))
                .effects(&["cancelChild:child", "user:repair"])
                .active(&["repair"]),
        ],
    );
}

// ---------------------------------------------------------------- multi-instance

/// MultiInstanceTest.testParallelUserTasksCompletionCondition
#[test]
fn multi_instance_parallel_completion_condition() {
    let mut h = run(
        "mi_parallel.bpmn",
        &[step(Do::Start(none()))
            .effects(&["user:miTasks"; 5])
            .active(&["miTasks"; 5])],
    );
    let body = instances(&h, "miTasks#multiInstanceBody");
    assert_eq!(body.len(), 1);
    assert_eq!(body[0].variables.get("nrOfInstances"), Some(&i(5)));
    assert_eq!(body[0].variables.get("nrOfActiveInstances"), Some(&i(5)));
    let inner = instances(&h, "miTasks");
    let counters: Vec<_> = inner
        .iter()
        .map(|a| a.variables.get("loopCounter").cloned())
        .collect();
    assert_eq!(counters, (0..5).map(|n| Some(i(n))).collect::<Vec<_>>());
    assert!(
        inner
            .iter()
            .all(|a| a.parent.as_deref() == Some(body[0].id.as_str()))
    );
    assert_eq!(body[0].parent.as_deref(), Some("pi-1"));
    h.run(&[step(Do::Complete("miTasks", none())).active(&["miTasks"; 4])]);
    let body = instances(&h, "miTasks#multiInstanceBody");
    assert_eq!(body[0].variables.get("nrOfCompletedInstances"), Some(&i(1)));
    assert_eq!(body[0].variables.get("nrOfActiveInstances"), Some(&i(4)));
    h.run(&[
        step(Do::Complete("miTasks", none())).active(&["miTasks"; 3]),
        step(Do::Complete("miTasks", none()))
            .effects(&["cancelTask:miTasks", "cancelTask:miTasks", "completed"])
            .completed(),
    ]);
    assert!(history_has(&h, |e| matches!(e,
        HistoryEvent::ActivityStarted { activity_id, activity_type, .. }
            if activity_id == "miTasks#multiInstanceBody" && activity_type == "multiInstanceBody")));
}

#[test]
fn multi_instance_sequential_collection() {
    run(
        "mi_sequential.bpmn",
        &[
            step(Do::Start(vars(&[(
                "items",
                json(serde_json::json!(["a", "b", "c"])),
            )])))
            .effects(&["ext:ship:ship-a"]),
            step(Do::Complete("ship", none())).effects(&["ext:ship:ship-b"]),
            step(Do::Complete("ship", none())).effects(&["ext:ship:ship-c"]),
            step(Do::Complete("ship", none()))
                .effects(&["completed"])
                .completed(),
        ],
    );
    run(
        "mi_sequential.bpmn",
        &[step(Do::Start(vars(&[("items", json(serde_json::json!([])))]))).completed()],
    );
}

#[test]
fn multi_instance_subprocess_with_boundary_on_the_body() {
    let h = run(
        "mi_subprocess.bpmn",
        &[step(Do::Start(vars(&[(
            "items",
            json(serde_json::json!(["u1", "u2"])),
        )])))
        .effects(&["timer:tooLong@3600000", "user:handle", "user:handle"])
        .active(&["handle", "handle"])],
    );
    let assignees: Vec<_> = h
        .all
        .iter()
        .filter_map(|e| match e {
            Effect::CreateUserTask(t) => t.assignee.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(assignees, vec!["u1", "u2"]);
    // Tree: handle -> perItem (inner) -> perItem#multiInstanceBody -> process instance.
    let handle = instances(&h, "handle")[0];
    let inner = &h.state.activity_instances[handle.parent.as_deref().expect("parent")];
    assert_eq!(inner.activity_id, "perItem");
    let body = &h.state.activity_instances[inner.parent.as_deref().expect("parent")];
    assert_eq!(body.activity_id, "perItem#multiInstanceBody");
    assert_eq!(body.parent.as_deref(), Some("pi-1"));
    let mut h2 = h;
    h2.run(&[
        step(Do::Complete("handle", none())).active(&["handle"]),
        at(3_600_000, Do::Timer("tooLong"))
            .effects(&["cancelTask:handle", "completed"])
            .completed(),
    ]);
    run(
        "mi_subprocess.bpmn",
        &[
            step(Do::Start(vars(&[(
                "items",
                json(serde_json::json!(["u1", "u2"])),
            )]))),
            step(Do::Complete("handle", none())),
            step(Do::Complete("handle", none()))
                .effects(&["cancelTimer:tooLong", "completed"])
                .completed(),
        ],
    );
}

#[test]
fn multi_instance_zeebe_output_collection() {
    let mut h = run(
        "mi_zeebe.bpmn",
        &[step(Do::Start(vars(&[(
            "numbers",
            json(serde_json::json!([1, 2, 3])),
        )])))
        .effects(&["ext:square:square"; 3])],
    );
    for n in 1..=3 {
        h.run(&[step(Do::CompleteLocal(
            "square",
            none(),
            vars(&[("result", i(n * n))]),
        ))]);
    }
    assert_eq!(h.state.status, InstanceStatus::Completed);
    assert_eq!(
        h.state.process_variables().get("squares"),
        Some(&json(serde_json::json!([1, 4, 9])))
    );
}

// ---------------------------------------------------------------- io mappings, variables

#[test]
fn input_output_mappings() {
    let h = run(
        "io_mapping.bpmn",
        &[step(Do::Start(vars(&[("x", i(4))]))).effects(&["ext:compute:compute"])],
    );
    let compute = instances(&h, "compute")[0];
    assert_eq!(
        compute.variables.get("doubled").and_then(Value::as_i64),
        Some(8)
    );
    assert_eq!(compute.variables.get("literal"), Some(&s("hello")));
    assert_eq!(
        compute.variables.get("list"),
        Some(&json(serde_json::json!(["a", 4])))
    );
    assert_eq!(
        compute.variables.get("map"),
        Some(&json(serde_json::json!({"k": 4})))
    );
    let mut h = h;
    h.run(&[step(Do::Complete("compute", vars(&[("answer", i(41))])))
        .active(&["check"])
        .var("result", Value::Long(42))
        .no_var("answer")
        .no_var("doubled")]);
}

#[test]
fn variable_scoping_and_conditional_catch_with_variable_name() {
    let mut h = run(
        "scoping.bpmn",
        &[step(Do::Start(none())).active(&["inner"]).no_var("local")],
    );
    assert_eq!(
        instances(&h, "sub")[0].variables.get("local"),
        Some(&Value::Long(1))
    );
    h.run(&[
        // `local` exists on the subprocess scope: written there; `other` goes to the instance.
        step(Do::Complete(
            "inner",
            vars(&[("local", i(5)), ("other", i(1))]),
        ))
        .active(&["waitCond"])
        .no_var("local")
        .var("other", i(1)),
        step(Do::SetVars(vars(&[("go", s("no"))]))).active(&["waitCond"]),
        step(Do::SetVars(vars(&[("unrelated", s("yes"))]))).active(&["waitCond"]),
        step(Do::SetVars(vars(&[("go", s("yes"))]))).completed(),
    ]);
    assert_eq!(
        h.state.process_variables().get("local"),
        None,
        "the subprocess's local variable died with it"
    );
}

#[test]
fn set_variables_local_and_deletions() {
    let mut h = run(
        "vertical.bpmn",
        &[step(Do::Start(vars(&[("amount", i(5)), ("gone", i(1))])))],
    );
    let charge = instances(&h, "charge")[0].id.clone();
    h.run(&[
        step(Do::Raw(Command::SetVariables {
            activity_instance_id: Some(charge.clone()),
            variables: vars(&[("mine", i(1))]),
            local: true,
            deletions: vec!["gone".into()],
        }))
        .no_var("mine")
        .var("gone", i(1)),
        step(Do::Raw(Command::SetVariables {
            activity_instance_id: Some(charge.clone()),
            variables: none(),
            local: false,
            deletions: vec!["gone".into()],
        }))
        .no_var("gone"),
        step(Do::Raw(Command::SetVariables {
            activity_instance_id: Some("nope".into()),
            variables: none(),
            local: false,
            deletions: vec![],
        }))
        .fails("NotWaiting"),
    ]);
    assert_eq!(
        instances(&h, "charge")[0].variables.get("mine"),
        Some(&i(1))
    );
    assert!(history_has(&h, |e| matches!(e,
        HistoryEvent::VariableDeleted { name, scope_id, .. } if name == "gone" && scope_id == "pi-1")));
}

// ---------------------------------------------------------------- async continuations

#[test]
fn async_before_and_after() {
    let h = run(
        "async.bpmn",
        &[
            step(Do::Start(none()))
                .effects(&["job:work:before"])
                .history(&["start:start", "end:start"])
                .active(&["work"]),
            step(Do::Job("work"))
                .effects(&["ext:work:work"])
                .history(&["start:work"]),
            // Camunda ends the activity instance before the async-after boundary.
            step(Do::Complete("work", none()))
                .effects(&["job:work:after"])
                .history(&["end:work"])
                .active(&["work"]),
            step(Do::Job("work"))
                .effects(&["completed"])
                .history(&["start:end", "end:end"])
                .completed(),
        ],
    );
    let job = h.all.iter().find_map(|e| match e {
        Effect::ScheduleJob {
            kind: JobKind::AsyncBefore,
            retry_time_cycle,
            due,
            ..
        } => Some((retry_time_cycle.clone(), *due)),
        _ => None,
    });
    assert_eq!(job, Some((Some("R5/PT1M".into()), 0)));
}

// ---------------------------------------------------------------- event-based gateway

#[test]
fn event_based_gateway_first_event_wins() {
    run(
        "event_gateway.bpmn",
        &[
            step(Do::Start(none()))
                .effects(&["timer:timeout@300000", "msg:go:go", "sig:abort:abort"])
                .active(&["gw"]),
            step(Do::Message("go", vars(&[("m", i(1))])))
                .effects(&["cancelTimer:timeout", "unsub:abort", "user:proceed"])
                .history(&["end:gw", "start:go", "end:go", "start:proceed"])
                .active(&["proceed"])
                .var("m", i(1)),
        ],
    );
    run(
        "event_gateway.bpmn",
        &[
            step(Do::Start(none())),
            at(300_000, Do::Timer("timeout"))
                .effects(&["unsub:go", "unsub:abort", "completed"])
                .completed(),
        ],
    );
    run(
        "event_gateway.bpmn",
        &[
            step(Do::Start(none())),
            step(Do::Signal("abort", none())).effects(&[
                "cancelTimer:timeout",
                "unsub:go",
                "completed",
            ]),
        ],
    );
}

// ---------------------------------------------------------------- intermediate events, tasks

#[test]
fn intermediate_catch_and_throw_events() {
    run(
        "catches.bpmn",
        &[
            step(Do::Start(vars(&[("key", s("k"))]))).effects(&["timer:pause@30000"]),
            at(30_000, Do::Timer("pause")).effects(&["timer:until@1893456000000"]),
            at(1_893_456_000_000, Do::Timer("until")).effects(&["msg:waitMsg:msg-k"]),
            step(Do::Message("waitMsg", vars(&[("fromMsg", i(1))])))
                .effects(&["unsub:waitMsg", "sig:waitSignal:go"])
                .var("fromMsg", i(1)),
            // The condition fails to evaluate (`ready` unknown): it waits.
            step(Do::Signal("waitSignal", none()))
                .effects(&["unsub:waitSignal"])
                .active(&["waitCond"]),
            step(Do::SetVars(vars(&[("ready", b(false))]))).active(&["waitCond"]),
            step(Do::SetVars(vars(&[("ready", b(true))]))).effects(&["msg:receive:reply"]),
            step(Do::Message("receive", none()))
                .effects(&[
                    "unsub:receive",
                    "broadcast:done",
                    "broadcast:done",
                    "completed",
                ])
                .completed(),
        ],
    );
}

#[test]
fn start_events_none_message_and_initiator() {
    run(
        "starts.bpmn",
        &[step(Do::Raw(Command::Start {
            variables: none(),
            start_activity_id: None,
            initiator: Some("demo".into()),
        }))
        .active(&["manualEntry"])
        .var("starter", s("demo"))],
    );
    run(
        "starts.bpmn",
        &[step(Do::StartAt("msgStart", vars(&[("order", i(7))])))
            .history(&["start:msgStart", "end:msgStart", "start:fromMessage"])
            .active(&["fromMessage"])
            .var("order", i(7))],
    );
    run(
        "starts.bpmn",
        &[step(Do::StartAt("manualEntry", none())).fails("InvalidCommand")],
    );
    // MessageStartEventTest.testSingleMessageStartEvent: the only start event is the initial
    // one (BpmnParse.selectInitial), so a plain start enters it.
    run(
        "message_start_only.bpmn",
        &[step(Do::Start(none())).active(&["fromMessage"])],
    );
    run(
        "message_start_only.bpmn",
        &[step(Do::StartAt("msgStart", none())).active(&["fromMessage"])],
    );
    let mut h = run("starts.bpmn", &[step(Do::Start(none()))]);
    h.run(&[step(Do::Start(none())).fails("InvalidCommand")]);
}

// ---------------------------------------------------------------- cancellation, loops

#[test]
fn cancel_ends_everything_with_effects() {
    run(
        "esp_message.bpmn",
        &[
            step(Do::Start(vars(&[("key", s("k"))]))),
            step(Do::Message("infoStart", none())),
            step(Do::Cancel)
                .effects(&[
                    "cancelTask:main",
                    "cancelTask:handleInfo",
                    "unsub:cancelStart",
                    "unsub:infoStart",
                    "cancelTimer:timerStart",
                    "canceled",
                ])
                .history(&["cancel:main", "cancel:handleInfo", "cancel:infoSub"])
                .status(InstanceStatus::Canceled)
                .active(&[]),
        ],
    );
    run(
        "call_all.bpmn",
        &[
            step(Do::Start(none())),
            step(Do::Cancel).effects(&["cancelChild:child", "canceled"]),
        ],
    );
    run(
        "async.bpmn",
        &[
            step(Do::Start(none())),
            step(Do::Cancel)
                .effects(&["cancelJob:work", "canceled"])
                .history(&[]),
        ],
    );
}

#[test]
fn loops_run_on_an_explicit_work_stack() {
    run(
        "counted_loop.bpmn",
        &[step(Do::Start(vars(&[("n", i(0))])))
            .var("n", Value::Long(5000))
            .completed()],
    );
    run(
        "endless.bpmn",
        &[step(Do::Start(none())).fails("InvalidCommand")],
    );
}

// ---------------------------------------------------------------- service-like elements

#[test]
fn send_business_rule_message_throw_and_message_end_are_external_tasks() {
    let h = run(
        "service_like.bpmn",
        &[
            step(Do::Start(vars(&[
                ("basePrio", i(3)),
                ("urgent", b(true)),
                ("followUp", Value::Date(123)),
            ])))
            .effects(&["ext:send:mail"]),
            step(Do::Complete("send", none())).effects(&["ext:rules:rules"]),
            step(Do::Complete("rules", none())).effects(&["ext:notify:notify"]),
            step(Do::Complete("notify", none())).effects(&["user:approve"]),
            step(Do::Complete("approve", none())).effects(&["ext:msgEnd:bye"]),
            step(Do::Complete("msgEnd", none())).completed(),
        ],
    );
    let prios: Vec<i64> = h
        .all
        .iter()
        .filter_map(|e| match e {
            Effect::CreateExternalTask(t) => Some(t.priority),
            _ => None,
        })
        .collect();
    assert_eq!(
        prios,
        vec![3, 99, 3, 3],
        "activity priority, else the process's"
    );
    let user = h
        .all
        .iter()
        .find_map(|e| match e {
            Effect::CreateUserTask(t) => Some(t.clone()),
            _ => None,
        })
        .expect("user task");
    assert_eq!(user.priority, 90);
    assert_eq!(user.follow_up, Some(123));
    assert_eq!(user.candidate_users, vec!["anna", "bob"]);
    let types: Vec<String> = h
        .all
        .iter()
        .filter_map(|e| match e {
            Effect::History(HistoryEvent::ActivityStarted { activity_type, .. }) => {
                Some(activity_type.clone())
            }
            _ => None,
        })
        .collect();
    for t in [
        "sendTask",
        "businessRuleTask",
        "intermediateMessageThrowEvent",
        "messageEndEvent",
    ] {
        assert!(types.iter().any(|x| x == t), "{t} in {types:?}");
    }
}

#[test]
fn inclusive_join_fires_when_the_last_possible_token_goes_elsewhere() {
    run(
        "inclusive_reroute.bpmn",
        &[
            step(Do::Start(none())).active(&["a", "b"]),
            step(Do::Complete("a", none())).active(&["b", "join"]),
            step(Do::Complete("b", vars(&[("skip", b(true))]))).active(&["after"]),
            step(Do::Complete("after", none())).completed(),
        ],
    );
    run(
        "inclusive_reroute.bpmn",
        &[
            step(Do::Start(none())),
            step(Do::Complete("b", vars(&[("skip", b(false))]))).active(&["a", "join"]),
            step(Do::Complete("a", none())).active(&["after"]),
        ],
    );
}

#[test]
fn escalation_signal_error_and_conditional_event_subprocesses() {
    run(
        "esp_kinds.bpmn",
        &[
            step(Do::Start(none())).effects(&["sig:alarmStart:alarm", "user:work"]),
            step(Do::Signal("alarmStart", none()))
                .effects(&["ext:alarmTask:alarm"])
                .active(&["alarmTask", "work"]),
            step(Do::Complete("work", none()))
                .effects(&["user:help", "ext:more:more"])
                .active(&["alarmTask", "help", "more"])
                .var("esc", s("HELP")),
            step(Do::Throw("more", "FATAL"))
                .effects(&[
                    "unsub:alarmStart",
                    "cancelTask:alarmTask",
                    "cancelTask:help",
                    "user:cleanup",
                ])
                .active(&["cleanup"]),
            step(Do::Complete("cleanup", none())).completed(),
        ],
    );
    run(
        "esp_kinds.bpmn",
        &[
            step(Do::Start(vars(&[("abort", b(false))]))).active(&["work"]),
            step(Do::SetVars(vars(&[("abort", b(true))])))
                .effects(&["unsub:alarmStart", "cancelTask:work", "completed"])
                .completed(),
        ],
    );
    // True from the start: the interrupting conditional event subprocess fires at once.
    run(
        "esp_kinds.bpmn",
        &[step(Do::Start(vars(&[("abort", b(true))]))).completed()],
    );
}

#[test]
fn errors_from_inner_instances_reach_the_body_and_mi_call_activities() {
    let h = run(
        "mi_errors.bpmn",
        &[
            step(Do::Start(vars(&[(
                "items",
                json(serde_json::json!(["x", "y"])),
            )])))
            .effects(&["call:child", "call:child"]),
            step(Do::Child("calls", none())).effects(&[]),
            step(Do::Child("calls", none())).effects(&["ext:work:work"]),
            step(Do::Throw("work", "ITEM_FAILED"))
                .effects(&["completed"])
                .history(&[
                    "cancel:work",
                    "cancel:work#multiInstanceBody",
                    "start:failed",
                    "end:failed",
                    "start:failedEnd",
                    "end:failedEnd",
                ])
                .completed(),
        ],
    );
    let items: Vec<_> = h
        .all
        .iter()
        .filter_map(|e| match e {
            Effect::StartCallActivity { variables, .. } => variables.get("item").cloned(),
            _ => None,
        })
        .collect();
    assert_eq!(items, vec![s("x"), s("y")]);
}

#[test]
fn call_activity_bindings_and_async_multi_instance_body() {
    let h = run(
        "call_bindings.bpmn",
        &[
            step(Do::Start(vars(&[("tag", s("v7"))]))).effects(&["call:child"]),
            step(Do::Child("latest", none())).effects(&["call:child"]),
            step(Do::Child("deployment", none()))
                .effects(&["job:tagged:before"])
                .active(&["tagged#multiInstanceBody"]),
            step(Do::Job("tagged"))
                .effects(&["call:child"])
                .active(&["tagged"]),
            step(Do::Child("tagged", none())).completed(),
        ],
    );
    let bindings: Vec<CallBinding> = h
        .all
        .iter()
        .filter_map(|e| match e {
            Effect::StartCallActivity { binding, .. } => Some(binding.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        bindings,
        vec![
            CallBinding::Latest,
            CallBinding::Deployment,
            CallBinding::VersionTag("v7".into())
        ]
    );
    // The called instance id is recorded on the call activity's history.
    assert!(history_has(&h, |e| matches!(e,
        HistoryEvent::ActivityStarted { activity_id, called_process_instance_id: Some(_), .. }
            if activity_id == "latest")));
}
