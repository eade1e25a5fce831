//! Scripts inside commands: a JavaScript script task, script listeners and a script condition
//! run through the host's `ScriptRunner` (a stand-in here that answers from a table), with
//! their writes applied like an expression's; a failing script fails the command naming the
//! element; `update` and `assignment` task listeners fire on `Command::UpdateTask`.

use crate::engine::ApplyOptions;
use std::cell::RefCell;

use crate::engine::{Command, Effect, EngineError, InstanceState, StateMachine, UserTaskSpec};
use crate::expr::{Evaluated, Write};
use crate::script::{Environment, ScriptCall, ScriptRunner};
use crate::value::{Value, Variables};

const MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="t">
<bpmn:process id="p" isExecutable="true">
<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="calc"/>
<bpmn:scriptTask id="calc" scriptFormat="javascript" camunda:resultVariable="total"><bpmn:script>CALC</bpmn:script></bpmn:scriptTask>
<bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="gw"/>
<bpmn:exclusiveGateway id="gw" default="low"/>
<bpmn:sequenceFlow id="high" sourceRef="gw" targetRef="u"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="javascript">IS_HIGH</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="low" sourceRef="gw" targetRef="e"/>
<bpmn:userTask id="u"><bpmn:extensionElements>
<camunda:taskListener event="update" expression="${execution.setVariable('updates', 1)}"/>
<camunda:taskListener event="assignment"><camunda:script scriptFormat="javascript">ASSIGNED</camunda:script></camunda:taskListener>
</bpmn:extensionElements></bpmn:userTask>
<bpmn:sequenceFlow id="f3" sourceRef="u" targetRef="e"/>
<bpmn:endEvent id="e"/>
</bpmn:process></bpmn:definitions>"#;

/// What the runner was asked: script, event, definition id, clock.
type Seen = (String, Option<String>, Option<String>, i64);

/// Answers scripts by their text; records what it was asked.
#[derive(Default)]
struct Table {
    seen: RefCell<Vec<Seen>>,
}

impl ScriptRunner for Table {
    fn run(&self, call: &ScriptCall<'_>) -> Result<Evaluated, String> {
        self.seen.borrow_mut().push((
            call.source.to_owned(),
            call.event_name.map(str::to_owned),
            call.process_definition_id.map(str::to_owned),
            call.now,
        ));
        let amount = call
            .variables
            .get("amount")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        match call.source {
            "CALC" => Ok(Evaluated {
                value: Value::Integer(i32::try_from(amount * 2).map_err(|e| e.to_string())?),
                writes: vec![Write::SetVariable {
                    name: "computedAt".into(),
                    value: Value::Date(call.now),
                    local: false,
                }],
            }),
            "IS_HIGH" => Ok(Evaluated {
                value: Value::Boolean(
                    call.variables
                        .get("total")
                        .and_then(Value::as_i64)
                        .unwrap_or(0)
                        > 100,
                ),
                writes: Vec::new(),
            }),
            "ASSIGNED" => Ok(Evaluated {
                value: Value::Null,
                writes: vec![Write::SetTaskProperty {
                    property: "priority".into(),
                    value: Value::Integer(99),
                }],
            }),
            _ => Err("ReferenceError: nope is not defined".into()),
        }
    }
}

fn process() -> crate::model::Process {
    let parsed = crate::parse::parse(MODEL.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    parsed.definitions.processes[0].clone()
}

fn start(
    runner: &Table,
    state: &mut InstanceState,
    amount: i64,
) -> Result<Vec<Effect>, EngineError> {
    let p = process();
    let mut variables = Variables::new();
    variables.insert("amount".into(), Value::Long(amount));
    let env = Environment {
        process_definition_id: Some("p:1:x"),
        scripts: runner,
        decisions: &crate::dmn::NoDecisions,
    };
    StateMachine::apply_in(
        &p,
        state,
        Command::Start {
            variables,
            start_activity_id: None,
            initiator: None,
        },
        1_000,
        ApplyOptions::default(),
        env,
    )
}

#[test]
fn script_task_and_script_condition_run_inside_the_start_command() {
    let runner = Table::default();
    let mut state = InstanceState::new("pi-1", "p", None, None);
    let effects = start(&runner, &mut state, 60).expect("starts");
    let vars = state.process_variables();
    assert_eq!(vars.get("total"), Some(&Value::Integer(120)));
    assert_eq!(vars.get("computedAt"), Some(&Value::Date(1_000)));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::CreateUserTask(t) if t.activity_id == "u")),
        "the script condition took the high flow: {effects:?}"
    );
    let seen = runner.seen.borrow();
    assert_eq!(seen[0], ("CALC".into(), None, Some("p:1:x".into()), 1_000));
    assert_eq!(seen[1].0, "IS_HIGH");

    // A low amount takes the default flow and ends.
    let mut state = InstanceState::new("pi-2", "p", None, None);
    start(&Table::default(), &mut state, 10).expect("starts");
    assert!(!state.is_active());
}

#[test]
fn update_and_assignment_listeners_fire_on_update_task() {
    let runner = Table::default();
    let mut state = InstanceState::new("pi-1", "p", None, None);
    let effects = start(&runner, &mut state, 60).expect("starts");
    let Some(Effect::CreateUserTask(mut task)) = effects
        .into_iter()
        .find(|e| matches!(e, Effect::CreateUserTask(_)))
    else {
        panic!("no user task")
    };
    task.assignee = Some("kermit".into());
    let p = process();
    let env = Environment {
        process_definition_id: Some("p:1:x"),
        scripts: &runner,
        decisions: &crate::dmn::NoDecisions,
    };
    let update = |state: &mut InstanceState, task: UserTaskSpec, changed: bool| {
        StateMachine::apply_in(
            &p,
            state,
            Command::UpdateTask {
                task: Box::new(task),
                assignee_changed: changed,
            },
            2_000,
            ApplyOptions::default(),
            env,
        )
    };
    let effects = update(&mut state, task.clone(), true).expect("updates");
    let updated = effects
        .iter()
        .find_map(|e| match e {
            Effect::UpdateUserTask(t) => Some(t.clone()),
            _ => None,
        })
        .expect("update effect");
    assert_eq!(updated.assignee.as_deref(), Some("kermit"));
    assert_eq!(
        updated.priority, 99,
        "set by the assignment script listener"
    );
    assert_eq!(
        state.process_variables().get("updates"),
        Some(&Value::Long(1))
    );
    assert_eq!(
        runner.seen.borrow().last().map(|s| s.1.clone()),
        Some(Some("assignment".into()))
    );
    // Without an assignee change only `update` fires.
    let before = runner.seen.borrow().len();
    let effects = update(&mut state, task.clone(), false).expect("updates");
    assert_eq!(runner.seen.borrow().len(), before);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::UpdateUserTask(t) if t.priority == 50))
    );
    // An unknown task is not waiting.
    let mut other = task;
    other.task_id = "nope".into();
    assert!(matches!(
        update(&mut state, other, true),
        Err(EngineError::NotWaiting { kind: "task", .. })
    ));
}

#[test]
fn a_failing_script_fails_the_command_naming_the_element() {
    let runner = Table::default();
    let xml = MODEL.replace(">CALC<", ">nope<");
    let parsed = crate::parse::parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let p = &parsed.definitions.processes[0];
    let mut state = InstanceState::new("pi-1", "p", None, None);
    let env = Environment {
        process_definition_id: None,
        scripts: &runner,
        decisions: &crate::dmn::NoDecisions,
    };
    let err = StateMachine::apply_in(
        p,
        &mut state,
        Command::Start {
            variables: Variables::new(),
            start_activity_id: None,
            initiator: None,
        },
        0,
        ApplyOptions::default(),
        env,
    )
    .expect_err("script fails");
    assert_eq!(
        err.to_string(),
        "activity 'calc': script: ReferenceError: nope is not defined"
    );
    // Without a runner (StateMachine::apply), JavaScript fails with a message saying why.
    let mut state = InstanceState::new("pi-2", "p", None, None);
    let err = StateMachine::apply(
        p,
        &mut state,
        Command::Start {
            variables: Variables::new(),
            start_activity_id: None,
            initiator: None,
        },
        0,
    )
    .expect_err("no runner");
    assert!(
        err.to_string()
            .contains("need the host's script interpreter"),
        "{err}"
    );
}

const TIMEOUT_MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
<bpmn:process id="p" isExecutable="true">
<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="u"/>
<bpmn:userTask id="u" camunda:assignee="clerk"><bpmn:extensionElements>
<camunda:taskListener event="timeout" id="t1" expression="${task.setAssignee('boss')}"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></camunda:taskListener>
</bpmn:extensionElements></bpmn:userTask>
<bpmn:sequenceFlow id="f2" sourceRef="u" targetRef="e"/>
<bpmn:endEvent id="e"/>
</bpmn:process></bpmn:definitions>"#;

/// A `timeout` task listener: its timer is armed with the task, firing runs the listener once
/// and patches only what it set; completing the task first cancels the timer.
#[test]
fn timeout_listener_timer_fires_once_and_is_cancelled_with_the_task() {
    let parsed = crate::parse::parse(TIMEOUT_MODEL.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let p = &parsed.definitions.processes[0];
    let start = |state: &mut InstanceState| {
        StateMachine::apply(
            p,
            state,
            Command::Start {
                variables: Variables::new(),
                start_activity_id: None,
                initiator: None,
            },
            0,
        )
        .expect("starts")
    };
    let timer_of = |effects: &[Effect]| {
        effects
            .iter()
            .find_map(|e| match e {
                Effect::ScheduleTimer { timer_id, due, .. } => Some((timer_id.clone(), *due)),
                _ => None,
            })
            .expect("timer armed")
    };
    let mut state = InstanceState::new("pi-1", "p", None, None);
    let (timer_id, due) = timer_of(&start(&mut state));
    assert_eq!(due, 3_600_000);
    let effects = StateMachine::apply(
        p,
        &mut state,
        Command::TimerFired {
            timer_id: timer_id.clone(),
        },
        due,
    )
    .expect("fires");
    let patch = effects
        .iter()
        .find_map(|e| match e {
            Effect::PatchUserTask(p) => Some(p.clone()),
            _ => None,
        })
        .expect("patch");
    assert_eq!(patch.assignee, Some(Some("boss".into())));
    assert_eq!(
        (patch.priority, patch.name.clone()),
        (None, None),
        "only what it set"
    );
    assert!(state.is_active());
    // Once: the timer is gone.
    assert!(matches!(
        StateMachine::apply(p, &mut state, Command::TimerFired { timer_id }, due),
        Err(EngineError::NotWaiting { kind: "timer", .. })
    ));

    // Completing first cancels the timer.
    let mut state = InstanceState::new("pi-2", "p", None, None);
    let effects = start(&mut state);
    let (timer_id, _) = timer_of(&effects);
    let Some(Effect::CreateUserTask(task)) = effects
        .iter()
        .find(|e| matches!(e, Effect::CreateUserTask(_)))
        .cloned()
    else {
        panic!("task")
    };
    let effects = StateMachine::apply(
        p,
        &mut state,
        Command::CompleteTask {
            task_id: task.task_id,
            variables: Variables::new(),
            local_variables: Variables::new(),
        },
        10,
    )
    .expect("completes");
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::CancelTimer { timer_id: t } if *t == timer_id)),
        "{effects:?}"
    );
    assert!(!state.is_active());
}
