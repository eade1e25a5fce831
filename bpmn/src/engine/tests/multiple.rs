//! BPMN 2.0 multiple and parallel multiple events (Camunda 7 refuses them; the semantics are
//! the specification's): any one trigger of a multiple catch event fires it, all of them for
//! a parallel multiple one; a multiple throw event throws each of its definitions.

use super::*;

fn none() -> Variables {
    Variables::new()
}

/// The subscription id created for `name` (message or signal) at `activity`, latest first.
fn subscription(h: &Harness, activity: &str, name: &str) -> String {
    h.all
        .iter()
        .rev()
        .find_map(|e| match e {
            Effect::SubscribeMessage {
                subscription_id,
                message_name,
                activity_id,
                ..
            } if activity_id == activity && message_name == name => Some(subscription_id.clone()),
            Effect::SubscribeSignal {
                subscription_id,
                signal_name,
                activity_id,
                ..
            } if activity_id == activity && signal_name == name => Some(subscription_id.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no subscription for {name} at {activity}"))
}

fn message(sub: String) -> Do {
    Do::Raw(Command::MessageReceived {
        subscription_id: sub,
        variables: Variables::new(),
        local_variables: Variables::new(),
    })
}

#[test]
fn multiple_start_parallel_catch_multiple_catch_and_throw() {
    let mut h = run(
        "multiple_events.bpmn",
        &[step(Do::StartAt("start", none()))
            .effects(&["msg:both:a", "msg:both:b"])
            .active(&["both"])],
    );
    // Parallel multiple: one message is not enough.
    let a = subscription(&h, "both", "a");
    h.run(&[step(message(a)).effects(&[]).active(&["both"])]);
    let b = subscription(&h, "both", "b");
    h.run(&[step(message(b))
        .effects(&["msg:either:x", "sig:either:y"])
        .active(&["either"])]);
    // Multiple: the signal alone fires it, the message subscription goes; the throw event
    // broadcasts its signal and passes its message.
    let y = subscription(&h, "either", "y");
    h.run(&[step(Do::Raw(Command::SignalReceived {
        subscription_id: y,
        variables: none(),
    }))
    .effects(&["unsub:either", "broadcast:done", "completed"])
    .completed()]);
}
