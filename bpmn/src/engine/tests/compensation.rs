//! Compensation and transaction subprocesses, mirroring Camunda's CompensateEventTest and
//! TransactionSubProcessTest (models from Camunda's test resources; Java handler classes
//! replaced by user tasks, which are wait states like Camunda's WaitStateUndoService).

use super::*;
use crate::value::Value;

fn none() -> Variables {
    Variables::new()
}

fn count(h: &Harness, activity: &str) -> usize {
    h.state
        .activity_instances
        .values()
        .filter(|a| a.activity_id == activity)
        .count()
}

/// CompensateEventTest.testActivityInstanceTreeForCompensationEndEvent: the end event with
/// `activityRef="bookHotel"` waits while only `undoBookHotel` runs, beside it in the process
/// scope; once the handler completes the end event ends the instance.
#[test]
fn compensation_end_event_with_activity_ref() {
    run(
        "compensation_end_event.bpmn",
        &[
            step(Do::Start(none()))
                .effects(&["user:undoBookHotel"])
                .active(&["end", "undoBookHotel"]),
            step(Do::Complete("undoBookHotel", none())).completed(),
        ],
    );
}

/// CompensateEventTest.testCompensateSubprocessWithBoundaryEvent: a completed subprocess with
/// a compensation boundary event is compensated by its handler; the throw event continues
/// after it (to a receive task, signalled as in Camunda's test).
#[test]
fn compensate_subprocess_with_boundary_event() {
    let mut h = run(
        "compensation_subprocess_boundary.bpmn",
        &[step(Do::Start(none()))
            .effects(&["user:undoSubprocess"])
            .active(&["throwCompensate", "undoSubprocess"])],
    );
    h.run(&[step(Do::Complete("undoSubprocess", none())).active(&["beforeEnd"])]);
    let exec = h
        .state
        .activity_instances
        .values()
        .find(|a| a.activity_id == "beforeEnd")
        .map(|a| a.execution_id.clone())
        .expect("waits");
    h.run(&[step(Do::Raw(Command::Trigger {
        execution_id: exec,
        variables: none(),
    }))
    .completed()]);
}

/// CompensateEventTest.testCompensateScope: every completed activity of the scope is
/// compensated, latest completion first; each completion only once.
#[test]
fn compensation_runs_in_reverse_completion_order_once() {
    let h = run(
        "compensation_order.bpmn",
        &[
            step(Do::Start(none())),
            step(Do::Complete("bookHotel", none())),
            step(Do::Complete("bookFlight", none()))
                .effects(&["user:undoBookFlight", "user:undoBookHotel"])
                .active(&["throwCompensate", "undoBookFlight", "undoBookHotel"]),
            step(Do::Complete("undoBookHotel", none()))
                .active(&["throwCompensate", "undoBookFlight"]),
            step(Do::Complete("undoBookFlight", none())).active(&["beforeEnd"]),
        ],
    );
    assert_eq!(count(&h, "undoBookHotel"), 0);
}

/// TransactionSubProcessTest.testSimpleCaseTxSuccessful: the transaction completes normally
/// and nothing is compensated.
#[test]
fn transaction_successful() {
    run(
        "transaction.bpmn",
        &[
            step(Do::Start(none())).active(&["askCustomer"]),
            step(Do::Complete(
                "askCustomer",
                vars(&[("confirmed", Value::Boolean(true))]),
            ))
            .effects(&[])
            .active(&["afterSuccess"]),
        ],
    );
}

/// TransactionSubProcessTest.testSimpleCaseTxCancelled: the cancel end event compensates
/// every completed activity of the transaction (5 multi-instance hotel bookings, the flight,
/// the card charge; the latest first), then the cancel boundary event leaves the
/// transaction to `afterCancellation`.
#[test]
fn transaction_cancelled_compensates_then_takes_the_cancel_boundary() {
    let mut h = run("transaction.bpmn", &[step(Do::Start(none()))]);
    let fx = h
        .apply(
            h.command(&Do::Complete(
                "askCustomer",
                vars(&[("confirmed", Value::Boolean(false))]),
            )),
            0,
        )
        .expect("completes");
    let created: Vec<String> = fx.iter().filter_map(|e| h.summary(e)).collect();
    assert_eq!(
        created.first().map(String::as_str),
        Some("user:undoChargeCard")
    );
    assert_eq!(count(&h, "undoBookHotel"), 5);
    assert_eq!(count(&h, "undoBookFlight"), 1);
    assert_eq!(count(&h, "undoChargeCard"), 1);
    assert_eq!(count(&h, "failure"), 1, "the cancel end event waits");
    assert_eq!(count(&h, "tx"), 1, "the transaction is still active");
    h.run(&[
        step(Do::Complete("undoChargeCard", none())),
        step(Do::Complete("undoBookFlight", none())),
    ]);
    for _ in 0..4 {
        h.run(&[step(Do::Complete("undoBookHotel", none()))]);
    }
    h.run(&[step(Do::Complete("undoBookHotel", none())).active(&["afterCancellation"])]);
}

/// A completed subprocess without a compensation boundary event is compensated through its
/// own completed activities (latest first), re-entered as an event scope while that runs.
#[test]
fn compensating_a_subprocess_compensates_its_activities() {
    let h = run(
        "compensation_nested.bpmn",
        &[
            step(Do::Start(none()))
                .effects(&["user:undoBookFlight", "user:undoBookHotel"])
                .active(&["throwCompensate", "undoBookFlight", "undoBookHotel"]),
            step(Do::Complete("undoBookFlight", none()))
                .active(&["throwCompensate", "undoBookHotel"]),
            step(Do::Complete("undoBookHotel", none())).active(&["beforeEnd"]),
        ],
    );
    assert_eq!(count(&h, "scope"), 0, "the event scope ended");
}

/// CompensateEventTest.testCompensationEventSubProcess: compensating the subprocess runs its
/// compensation event subprocess, whose throw event compensates the subprocess's booking;
/// then the process-level throw event continues.
#[test]
fn compensation_event_subprocess_runs_when_its_subprocess_is_compensated() {
    run(
        "compensation_event_subprocess.bpmn",
        &[
            step(Do::Start(none()))
                .effects(&["user:beforeCompensation"])
                .active(&["beforeCompensation", "throwCompensate"]),
            step(Do::Complete("beforeCompensation", none()))
                .effects(&["user:undoBookHotel"])
                .active(&["compensateInSub", "throwCompensate", "undoBookHotel"]),
            step(Do::Complete("undoBookHotel", none())).active(&["afterCompensation"]),
            step(Do::Complete("afterCompensation", none())).completed(),
        ],
    );
}

/// `camunda:asyncBefore` on a compensation handler: the handler waits for its job like any
/// activity, and the throw event waits for the handler.
#[test]
fn async_before_compensation_handler_runs_through_its_job() {
    run(
        "compensation_async.bpmn",
        &[
            step(Do::Start(none())),
            step(Do::Complete("bookHotel", none())),
            step(Do::Complete("bookFlight", none()))
                .effects(&["user:undoBookFlight", "job:undoBookHotel:before"]),
            step(Do::Complete("undoBookFlight", none()))
                .active(&["throwCompensate", "undoBookHotel"]),
            step(Do::Job("undoBookHotel")).effects(&["user:undoBookHotel"]),
            step(Do::Complete("undoBookHotel", none())).active(&["beforeEnd"]),
        ],
    );
}
