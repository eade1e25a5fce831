//! Receive tasks without a message as wait states left by `Command::Trigger` (Camunda's
//! `RuntimeService.signal`), and plain starts of processes whose only start event has a
//! trigger.

use super::*;
use crate::value::Value;

/// ReceiveTaskTest.testWaitStateBehavior: the task waits; signalling its execution ends the
/// instance. Variables given with the signal are set before it leaves.
#[test]
fn receive_task_without_message_waits_for_a_trigger() {
    let mut h = run(
        "receive_task.bpmn",
        &[step(Do::Start(Variables::new()))
            .effects(&[])
            .active(&["waitState"])],
    );
    let execution = h
        .state
        .activity_instances
        .values()
        .find(|a| a.activity_id == "waitState")
        .map(|a| a.execution_id.clone())
        .expect("waiting");
    // Only the waiting execution can be signalled.
    h.run(&[step(Do::Raw(Command::Trigger {
        execution_id: "nope".into(),
        variables: Variables::new(),
    }))
    .fails("NotWaiting")]);
    h.run(&[step(Do::Raw(Command::Trigger {
        execution_id: execution,
        variables: vars(&[("approved", Value::Boolean(true))]),
    }))
    .var("approved", Value::Boolean(true))
    .completed()]);
}

/// ReceiveTaskTest.testSupportsLegacySignalingOnSingleReceiveTask: a receive task with a
/// message can be signalled too; its subscription goes.
#[test]
fn receive_task_with_message_can_be_signalled() {
    let mut h = run(
        "receive_task_message.bpmn",
        &[step(Do::Start(Variables::new())).effects(&["msg:waitState:newInvoiceMessage"])],
    );
    let execution = h
        .state
        .activity_instances
        .values()
        .find(|a| a.activity_id == "waitState")
        .map(|a| a.execution_id.clone())
        .expect("waiting");
    h.run(&[step(Do::Raw(Command::Trigger {
        execution_id: execution,
        variables: Variables::new(),
    }))
    .effects(&["unsub:waitState", "completed"])
    .completed()]);
}
