//! Process instance modification (`Command::Modify`): tokens started before/after activities
//! and on flows, cancellations with their scopes, the instance's end, and Camunda's refusals.

use super::*;
use crate::engine::{CancelTarget, ModificationInstruction, StartTarget};
use crate::value::Value;

fn before(id: &str) -> ModificationInstruction {
    ModificationInstruction::Start {
        target: StartTarget::BeforeActivity(id.into()),
        ancestor_activity_instance_id: None,
        variables: Variables::new(),
        local_variables: Variables::new(),
    }
}

fn under(id: &str, ancestor: &str) -> ModificationInstruction {
    ModificationInstruction::Start {
        target: StartTarget::BeforeActivity(id.into()),
        ancestor_activity_instance_id: Some(ancestor.into()),
        variables: Variables::new(),
        local_variables: Variables::new(),
    }
}

fn cancel(id: &str) -> ModificationInstruction {
    ModificationInstruction::Cancel(CancelTarget::Activity(id.into()))
}

fn modify(instructions: Vec<ModificationInstruction>) -> Do {
    Do::Raw(Command::Modify {
        instructions,
        skip_custom_listeners: false,
        skip_io_mappings: false,
    })
}

/// Apply a command that must fail; its error (the state is kept, as the harness checks).
fn refused(h: &mut Harness, cmd: Command) -> EngineError {
    match h.apply(cmd, 0) {
        Err(e) => e,
        Ok(fx) => panic!("expected a refusal, got {fx:?}"),
    }
}

fn started() -> Harness {
    run(
        "modification.bpmn",
        &[step(Do::Start(Variables::new())).active(&["A"])],
    )
}

/// The id of the (first) activity instance of an element.
fn ai_of(h: &Harness, activity_id: &str) -> String {
    h.state
        .activity_instances
        .values()
        .find(|a| a.activity_id == activity_id)
        .map(|a| a.id.clone())
        .unwrap_or_else(|| panic!("no instance of {activity_id}"))
}

/// Moving a token: start before B (its start listener fires, variables given with the
/// instruction are set), then cancel A (its task goes, history marks it canceled).
#[test]
fn a_token_moves_from_one_task_to_another() {
    let mut h = started();
    h.run(&[step(modify(vec![
        ModificationInstruction::Start {
            target: StartTarget::BeforeActivity("B".into()),
            ancestor_activity_instance_id: None,
            variables: vars(&[("moved", Value::Boolean(true))]),
            local_variables: vars(&[("here", Value::Integer(1))]),
        },
        cancel("A"),
    ]))
    .effects(&["user:B", "cancelTask:A"])
    .history(&["start:B", "cancel:A"])
    .active(&["B"])
    .var("moved", Value::Boolean(true))
    .var("listened", Value::Boolean(true))
    .no_var("here")
    .status(InstanceStatus::Active)]);
    let b = ai_of(&h, "B");
    assert_eq!(
        h.state.activity_instances[&b].variables.get("here"),
        Some(&Value::Integer(1))
    );
    // The moved token goes on like any other: completing B enters the subprocess.
    h.run(&[step(Do::Complete("B", Variables::new())).active(&["C"])]);
}

/// skipCustomListeners and skipIoMappings hold for the whole command.
#[test]
fn listeners_and_io_mappings_can_be_skipped() {
    let mut h = started();
    h.run(&[step(Do::Raw(Command::Modify {
        instructions: vec![before("B"), before("C")],
        skip_custom_listeners: true,
        skip_io_mappings: true,
    }))
    .active(&["A", "B", "C"])
    .no_var("listened")]);
    let sub = ai_of(&h, "sub");
    assert!(h.state.activity_instances[&sub].variables.is_empty());
}

/// Starting inside a subprocess with no instance creates the subprocess: its history, its
/// input mapping and its boundary timer come first; a second token in it joins that scope.
#[test]
fn starting_inside_a_subprocess_creates_its_scope_once() {
    let mut h = started();
    h.run(&[at(1_000, modify(vec![before("C")]))
        .effects(&["timer:subTimer@3601000", "user:C"])
        .history(&["start:sub", "start:C"])
        .active(&["A", "C"])]);
    let sub = ai_of(&h, "sub");
    assert_eq!(
        h.state.activity_instances[&sub].variables.get("inSub"),
        Some(&Value::String("in".into()))
    );
    h.run(&[step(modify(vec![before("D")]))
        .effects(&["ext:D:work"])
        .history(&["start:D"])
        .active(&["A", "C", "D"])]);
    assert_eq!(h.state.children_of(&sub).count(), 2);
}

/// Cancelling the last token of a subprocess cancels the subprocess (its boundary timer goes);
/// the process instance keeps its other token.
#[test]
fn cancelling_the_last_token_of_a_subprocess_cancels_the_subprocess() {
    let mut h = started();
    h.run(&[step(modify(vec![before("C")])).active(&["A", "C"])]);
    h.run(&[step(modify(vec![cancel("C")]))
        .effects(&["cancelTask:C", "cancelTimer:subTimer"])
        .history(&["cancel:C", "cancel:sub"])
        .active(&["A"])
        .status(InstanceStatus::Active)]);
}

/// Cancelling every token ends the instance as cancelled; a token that reaches an end event
/// after the last cancellation completes it instead (the instance is kept until the last
/// instruction ran).
#[test]
fn the_instance_ends_when_no_token_is_left() {
    let mut h = started();
    h.run(&[step(modify(vec![cancel("A")]))
        .effects(&["cancelTask:A", "canceled"])
        .status(InstanceStatus::Canceled)]);
    let mut h = started();
    h.run(&[step(modify(vec![
        cancel("A"),
        ModificationInstruction::Start {
            target: StartTarget::Transition("f4".into()),
            ancestor_activity_instance_id: None,
            variables: Variables::new(),
            local_variables: Variables::new(),
        },
    ]))
    .effects(&["cancelTask:A", "completed"])
    .completed()]);
}

/// Start after an activity takes its single outgoing flow; an activity with two is refused
/// with Camunda's text.
#[test]
fn start_after_takes_the_single_outgoing_flow() {
    let mut h = started();
    h.run(&[step(modify(vec![ModificationInstruction::Start {
        target: StartTarget::AfterActivity("C".into()),
        ancestor_activity_instance_id: None,
        variables: Variables::new(),
        local_variables: Variables::new(),
    }]))
    .contains(&["ext:D:work"])
    .active(&["A", "D"])]);
    let err = refused(
        &mut h,
        Command::Modify {
            instructions: vec![ModificationInstruction::Start {
                target: StartTarget::AfterActivity("A".into()),
                ancestor_activity_instance_id: None,
                variables: Variables::new(),
                local_variables: Variables::new(),
            }],
            skip_custom_listeners: false,
            skip_io_mappings: false,
        },
    );
    assert_eq!(
        err.to_string(),
        "Cannot start after activity A; activity has more than one outgoing sequence flow"
    );
}

/// Unknown elements and instances, and ancestors outside the element's scopes, are refused
/// with Camunda's NotValidException texts; a failed modification changes nothing.
#[test]
fn bad_instructions_are_refused_with_camundas_texts() {
    let mut h = started();
    let a = ai_of(&h, "A");
    let cases = [
        (
            before("nope"),
            "Cannot perform instruction: Start before activity 'nope'; Element 'nope' does not exist in process 'modification'",
        ),
        (
            ModificationInstruction::Cancel(CancelTarget::ActivityInstance("x".into())),
            "Cannot perform instruction: Cancel activity instance 'x'; Activity instance 'x' does not exist",
        ),
        (
            ModificationInstruction::Cancel(CancelTarget::TransitionInstance(a.clone())),
            &*format!(
                "Cannot perform instruction: Cancel transition instance '{a}'; Transition instance '{a}' does not exist"
            ),
        ),
        (
            under("C", &a),
            &*format!(
                "Cannot perform instruction: Start before activity 'C' with ancestor activity instance '{a}'; Scope execution for '{a}' cannot be found in parent hierarchy of flow element 'C'"
            ),
        ),
        (
            under("C", "gone"),
            "Cannot perform instruction: Start before activity 'C' with ancestor activity instance 'gone'; Ancestor activity instance 'gone' does not exist",
        ),
    ];
    for (ins, text) in cases {
        let before_state = h.state.clone();
        let err = refused(
            &mut h,
            Command::Modify {
                instructions: vec![before("B"), ins],
                skip_custom_listeners: false,
                skip_io_mappings: false,
            },
        );
        assert!(matches!(err, EngineError::NotValid(_)), "{err:?}");
        assert_eq!(err.to_string(), text);
        assert_eq!(h.state, before_state);
    }
}

/// Two instances of the subprocess make "start before D" ambiguous until the ancestor is
/// named.
#[test]
fn an_ambiguous_scope_needs_an_ancestor() {
    let mut h = started();
    h.run(&[step(modify(vec![before("sub"), before("sub")])).active(&["A", "C", "C"])]);
    h.run(&[step(modify(vec![before("D")])).fails("InvalidCommand")]);
    let sub = ai_of(&h, "sub");
    h.run(&[step(modify(vec![under("D", &sub)])).active(&["A", "C", "C", "D"])]);
    let d = ai_of(&h, "D");
    assert_eq!(
        h.state.activity_instances[&d].parent.as_deref(),
        Some(sub.as_str())
    );
}

/// A token waiting for its async-before job is a transition instance: cancelled by its id,
/// which is not an activity instance id.
#[test]
fn transition_instances_are_cancelled_by_their_id() {
    let mut h = started();
    h.run(&[step(modify(vec![before("B2")]))
        .effects(&["job:B2:before"])
        .active(&["A", "B2"])]);
    let b2 = ai_of(&h, "B2");
    h.run(&[step(modify(vec![ModificationInstruction::Cancel(
        CancelTarget::ActivityInstance(b2.clone()),
    )]))
    .fails("NotValid")]);
    h.run(&[step(modify(vec![ModificationInstruction::Cancel(
        CancelTarget::TransitionInstance(b2),
    )]))
    .effects(&["cancelJob:B2"])
    .active(&["A"])]);
}

/// `Command::StartAt` (Camunda's restart): a fresh instance starts at the instructions, not
/// at its start event, with its variables on the instance scope; a cancel is refused.
#[test]
fn an_instance_starts_at_activities_instead_of_its_start_event() {
    let mut h = Harness::new("modification.bpmn");
    h.run(&[step(Do::Raw(Command::StartAt {
        variables: vars(&[("amount", Value::Integer(2))]),
        instructions: vec![before("B"), before("C")],
        skip_custom_listeners: false,
        skip_io_mappings: false,
    }))
    .active(&["B", "C"])]);
    let root = h.state.id.clone();
    assert_eq!(
        h.state.activity_instances[&root].variables.get("amount"),
        Some(&Value::Integer(2))
    );
    assert!(
        !h.state
            .activity_instances
            .values()
            .any(|a| a.activity_id == "A"),
        "the start event's path is not taken"
    );

    let mut fresh = Harness::new("modification.bpmn");
    let e = refused(
        &mut fresh,
        Command::StartAt {
            variables: Variables::new(),
            instructions: vec![cancel("A")],
            skip_custom_listeners: false,
            skip_io_mappings: false,
        },
    );
    assert!(matches!(e, EngineError::InvalidCommand(_)), "{e:?}");
}
