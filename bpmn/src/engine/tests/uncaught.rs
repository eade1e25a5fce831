//! Uncaught BPMN errors and errors/escalations crossing call activities, as Camunda 7 does them
//! (BpmnExceptionHandler.propagateError): nothing catches → the throwing execution ends with
//! none end event semantics; in a called instance → handed to the caller.

use super::*;
use crate::engine::{SuperInstance, ThrownKind, UncaughtErrors};

fn none() -> Variables {
    Variables::new()
}

/// ExternalTaskServiceTest.testHandleBpmnErrorWithoutDefinedBoundary: a bpmnError nobody
/// catches ends the execution; with nothing else active the instance completes.
#[test]
fn uncaught_task_error_ends_the_execution() {
    run(
        "unhandled_error.bpmn",
        &[
            step(Do::Start(none())).active(&["work"]),
            step(Do::Throw("work", "ERROR-OCCURED"))
                .effects(&["completed"])
                .completed(),
        ],
    );
}

/// BoundaryErrorEventTest.testUncaughtError (Camunda's default configuration): an error end
/// event nobody catches ends like a none end event.
#[test]
fn uncaught_error_end_event_ends_like_a_none_end_event() {
    run(
        "unhandled_error.bpmn",
        &[
            step(Do::Start(none())),
            step(Do::Complete("work", none()))
                .history(&["end:work", "start:fail", "end:fail"])
                .completed(),
        ],
    );
}

/// A called instance: the uncaught error end event goes to the caller, and the child's
/// execution ends there (BoundaryErrorEventTest.testCatchErrorOnCallActivity, child side).
#[test]
fn error_end_event_in_a_called_instance_goes_to_the_caller() {
    let mut h = Harness::new("error_child.bpmn");
    h.state.super_instance = Some(SuperInstance {
        process_instance_id: "parent".into(),
        activity_instance_id: "callSubProcess:1".into(),
    });
    // Fail would refuse at top level; a called instance hands over regardless.
    h.options.uncaught_errors = UncaughtErrors::Fail;
    h.run(&[
        // The escalation nobody catches in the child goes to the caller too.
        step(Do::Start(none()))
            .effects(&["toCaller:Escalation:ESC", "user:task"])
            .active(&["task"]),
        step(Do::Complete("task", none()))
            .effects(&["toCaller:Error:myError", "completed"])
            .completed(),
    ]);
    let handed = h.all.iter().find_map(|e| match e {
        Effect::ThrowToCaller {
            caller,
            kind: ThrownKind::Error,
            ..
        } => Some(caller.activity_instance_id.clone()),
        _ => None,
    });
    assert_eq!(handed.as_deref(), Some("callSubProcess:1"));
}

/// BoundaryErrorEventTest.testCatchErrorOnCallActivity, caller side: the child's error is
/// caught by the call activity's error boundary event, which cancels the child; the child's
/// escalation fires the non-interrupting escalation boundary event and the call continues.
#[test]
fn caller_catches_the_childs_error_and_escalation() {
    let mut h = run(
        "call_errors.bpmn",
        &[step(Do::Start(none())).effects(&["call:simpleSubProcess"])],
    );
    let child = h.find_child("callSubProcess").expect("call activity waits");
    h.run(&[
        step(Do::Raw(Command::ChildEscalation {
            child_instance_id: child.clone(),
            code: "ESC".into(),
        }))
        .effects(&["user:afterEscalation"])
        .active(&["afterEscalation", "callSubProcess"]),
        step(Do::Throw("callSubProcess", "myError"))
            .effects(&["cancelChild:simpleSubProcess", "user:escalatedTask"])
            .active(&["afterEscalation", "escalatedTask"]),
        step(Do::Complete("escalatedTask", none())).active(&["afterEscalation"]),
        step(Do::Complete("afterEscalation", none())).completed(),
    ]);
}

/// BoundaryErrorEventTest.testUncaughtErrorOnCallActivity (default configuration): the caller
/// does not catch the code either, so only the child's execution ended; the call activity
/// waits for its child to complete. Configured to fail, the caller refuses (the host raises
/// an incident on the call activity).
#[test]
fn uncaught_child_error_leaves_the_call_activity_waiting() {
    let mut h = run("call_errors.bpmn", &[step(Do::Start(none()))]);
    h.run(&[step(Do::Throw("callSubProcess", "otherError"))
        .effects(&[])
        .active(&["callSubProcess"])]);
    h.options.uncaught_errors = UncaughtErrors::Fail;
    h.run(&[step(Do::Throw("callSubProcess", "otherError")).fails("UnhandledError")]);
    h.run(&[step(Do::Child("callSubProcess", none())).completed()]);
}
