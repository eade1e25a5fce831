//! Table-driven tests of the execution core: a fixture from `bpmn/tests/fixtures/engine/`, a
//! list of steps (a command and the injected time), and per step the expected effects (by kind
//! and key fields), active activity ids, variables and instance status.
//!
//! Commands name activities, not generated ids: `Do::Complete("approve", ..)` completes the task
//! waiting at `approve`, `Do::Timer("timeout")` fires the timer armed for the element
//! `timeout`, and so on; the harness looks the ids up in the state. After every step it checks
//! the invariants of the activity-instance tree.

mod cases;
mod compensation;
mod decisions;
mod in_engine;
mod loops;
mod modification;
mod multiple;
mod scripts;
mod triggers;
mod uncaught;

use std::collections::HashMap;

use super::{
    Command, Effect, EngineError, HistoryEvent, InstanceState, InstanceStatus, StateMachine, Wait,
};
use crate::model::Process;
use crate::value::{Value, Variables};

/// Load the first executable process of a fixture.
pub(super) fn load(fixture: &str) -> Process {
    let path = format!(
        "{}/tests/fixtures/engine/{fixture}",
        env!("CARGO_MANIFEST_DIR")
    );
    let xml = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let parsed = crate::parse(&xml).unwrap_or_else(|e| panic!("{fixture}: {e}"));
    parsed
        .definitions
        .executable_processes()
        .next()
        .cloned()
        .unwrap_or_else(|| panic!("{fixture}: no executable process"))
}

/// Build variables from pairs.
pub(super) fn vars(pairs: &[(&str, Value)]) -> Variables {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// What a step does.
#[derive(Debug, Clone)]
pub(super) enum Do {
    /// Start at the none start event.
    Start(Variables),
    /// Start at a named start event.
    StartAt(&'static str, Variables),
    /// Complete the task waiting at the activity (first one in creation order).
    Complete(&'static str, Variables),
    /// Complete with local variables.
    CompleteLocal(&'static str, Variables, Variables),
    /// Throw a BPMN error from the task (or call activity) at the activity.
    Throw(&'static str, &'static str),
    /// Fire the timer of the element.
    Timer(&'static str),
    /// Correlate the message subscription of the element.
    Message(&'static str, Variables),
    /// Deliver the signal subscription of the element.
    Signal(&'static str, Variables),
    /// Run the job waiting at the activity.
    Job(&'static str),
    /// The child of the call activity completed with these variables.
    Child(&'static str, Variables),
    /// Set process variables from outside.
    SetVars(Variables),
    /// Cancel the instance.
    Cancel,
    /// A raw command.
    Raw(Command),
}

/// One row of a table: a command at a time, and what must hold afterwards.
#[derive(Debug, Clone)]
pub(super) struct Step {
    act: Do,
    now: i64,
    effects: Option<Vec<String>>,
    contains: Vec<String>,
    history: Option<Vec<String>>,
    active: Option<Vec<String>>,
    vars: Vec<(String, Option<Value>)>,
    status: Option<InstanceStatus>,
    err: Option<&'static str>,
}

/// A step at time `now`.
pub(super) fn at(now: i64, act: Do) -> Step {
    Step {
        act,
        now,
        effects: None,
        contains: Vec::new(),
        history: None,
        active: None,
        vars: Vec::new(),
        status: None,
        err: None,
    }
}

/// A step at time 0.
pub(super) fn step(act: Do) -> Step {
    at(0, act)
}

impl Step {
    /// Exactly these non-history effects, in order.
    pub fn effects(mut self, e: &[&str]) -> Step {
        self.effects = Some(e.iter().map(|s| (*s).to_owned()).collect());
        self
    }
    /// These non-history effects among the others.
    pub fn contains(mut self, e: &[&str]) -> Step {
        self.contains.extend(e.iter().map(|s| (*s).to_owned()));
        self
    }
    /// Exactly these activity history events (`start:x`, `end:x`, `cancel:x`), in order.
    pub fn history(mut self, h: &[&str]) -> Step {
        self.history = Some(h.iter().map(|s| (*s).to_owned()).collect());
        self
    }
    /// Exactly these active activity ids (sorted by the engine).
    pub fn active(mut self, a: &[&str]) -> Step {
        let mut v: Vec<String> = a.iter().map(|s| (*s).to_owned()).collect();
        v.sort();
        self.active = Some(v);
        self
    }
    /// A process-level variable has this value.
    pub fn var(mut self, name: &str, v: impl Into<Value>) -> Step {
        self.vars.push((name.to_owned(), Some(v.into())));
        self
    }
    /// A process-level variable is absent.
    pub fn no_var(mut self, name: &str) -> Step {
        self.vars.push((name.to_owned(), None));
        self
    }
    /// The instance status.
    pub fn status(mut self, s: InstanceStatus) -> Step {
        self.status = Some(s);
        self
    }
    /// The instance completed.
    pub fn completed(self) -> Step {
        self.status(InstanceStatus::Completed).active(&[])
    }
    /// The command fails with this `EngineError` variant (state unchanged).
    pub fn fails(mut self, variant: &'static str) -> Step {
        self.err = Some(variant);
        self
    }
}

/// Drives one instance through steps.
pub(super) struct Harness {
    /// The model.
    pub process: Process,
    /// The instance.
    pub state: InstanceState,
    /// Activity id of every task/timer/subscription/job/child id seen, for effect summaries.
    names: HashMap<String, String>,
    /// Every effect so far.
    pub all: Vec<Effect>,
    /// The engine settings commands run under.
    pub options: super::ApplyOptions,
}

impl Harness {
    /// A fresh instance of the fixture's process.
    pub fn new(fixture: &str) -> Harness {
        let process = load(fixture);
        let state = InstanceState::new("pi-1", process.id.clone(), None, None);
        Harness {
            process,
            state,
            names: HashMap::new(),
            all: Vec::new(),
            options: super::ApplyOptions::default(),
        }
    }

    fn find(&self, pred: impl Fn(&super::ActivityInstance) -> Option<String>) -> Option<String> {
        let mut v: Vec<_> = self
            .state
            .activity_instances
            .values()
            .filter_map(|ai| pred(ai).map(|x| (ai.internal.get("seq").copied().unwrap_or(0), x)))
            .collect();
        v.sort();
        v.into_iter().next().map(|(_, x)| x)
    }

    fn listener(&self, event: &str) -> Option<String> {
        self.find(|ai| {
            ai.listeners
                .iter()
                .find(|l| l.event_activity_id == event)
                .map(|l| l.id.clone())
        })
    }

    /// Turn a step's action into a command.
    pub fn command(&self, act: &Do) -> Command {
        let missing = |what: &str, id: &str| -> String {
            panic!(
                "no {what} waiting at '{id}'; active: {:?}",
                self.state.active_activity_ids()
            )
        };
        match act.clone() {
            Do::Start(variables) => Command::Start {
                variables,
                start_activity_id: None,
                initiator: None,
            },
            Do::StartAt(id, variables) => Command::Start {
                variables,
                start_activity_id: Some(id.into()),
                initiator: None,
            },
            Do::Complete(id, variables) => Command::CompleteTask {
                task_id: self.task_at(id).unwrap_or_else(|| missing("task", id)),
                variables,
                local_variables: Variables::new(),
            },
            Do::CompleteLocal(id, variables, local_variables) => Command::CompleteTask {
                task_id: self.task_at(id).unwrap_or_else(|| missing("task", id)),
                variables,
                local_variables,
            },
            Do::Throw(id, code) => Command::ThrowError {
                task_id: self
                    .task_at(id)
                    .or_else(|| {
                        self.find(|ai| match &ai.wait {
                            Some(Wait::CallActivity { child_instance_id })
                                if ai.activity_id == id =>
                            {
                                Some(child_instance_id.clone())
                            }
                            _ => None,
                        })
                    })
                    .unwrap_or_else(|| missing("task", id)),
                code: code.into(),
                message: Some(format!("error {code}")),
                variables: Variables::new(),
            },
            Do::Timer(id) => Command::TimerFired {
                timer_id: self
                    .find(|ai| match &ai.wait {
                        Some(Wait::Timer { timer_id }) if ai.activity_id == id => {
                            Some(timer_id.clone())
                        }
                        _ => None,
                    })
                    .or_else(|| self.listener(id))
                    .unwrap_or_else(|| missing("timer", id)),
            },
            Do::Message(id, variables) => Command::MessageReceived {
                subscription_id: self
                    .find(|ai| match &ai.wait {
                        Some(Wait::Message { subscription_id }) if ai.activity_id == id => {
                            Some(subscription_id.clone())
                        }
                        _ => None,
                    })
                    .or_else(|| self.listener(id))
                    .unwrap_or_else(|| missing("message subscription", id)),
                variables,
                local_variables: Variables::new(),
            },
            Do::Signal(id, variables) => Command::SignalReceived {
                subscription_id: self
                    .find(|ai| match &ai.wait {
                        Some(Wait::Signal { subscription_id }) if ai.activity_id == id => {
                            Some(subscription_id.clone())
                        }
                        _ => None,
                    })
                    .or_else(|| self.listener(id))
                    .unwrap_or_else(|| missing("signal subscription", id)),
                variables,
            },
            Do::Job(id) => Command::RunJob {
                job_id: self
                    .find(|ai| match &ai.wait {
                        Some(Wait::Job { job_id })
                            if ai.activity_id == id
                                || ai.activity_id == format!("{id}#multiInstanceBody") =>
                        {
                            Some(job_id.clone())
                        }
                        _ => None,
                    })
                    .unwrap_or_else(|| missing("job", id)),
            },
            Do::Child(id, variables) => Command::ChildCompleted {
                activity_instance_id: self
                    .find(|ai| match &ai.wait {
                        Some(Wait::CallActivity { .. }) if ai.activity_id == id => {
                            Some(ai.id.clone())
                        }
                        _ => None,
                    })
                    .unwrap_or_else(|| missing("call activity", id)),
                variables,
            },
            Do::SetVars(variables) => Command::SetVariables {
                activity_instance_id: None,
                variables,
                local: false,
                deletions: Vec::new(),
            },
            Do::Cancel => Command::Cancel {
                reason: Some("test".into()),
            },
            Do::Raw(c) => c,
        }
    }

    /// The child instance id the call activity at `id` waits for.
    pub fn find_child(&self, id: &str) -> Option<String> {
        self.find(|ai| match &ai.wait {
            Some(Wait::CallActivity { child_instance_id }) if ai.activity_id == id => {
                Some(child_instance_id.clone())
            }
            _ => None,
        })
    }

    /// The id of the task waiting at an activity.
    pub fn task_at(&self, id: &str) -> Option<String> {
        self.find(|ai| match &ai.wait {
            Some(Wait::ExternalTask { task_id, .. }) | Some(Wait::UserTask { task_id })
                if ai.activity_id == id =>
            {
                Some(task_id.clone())
            }
            _ => None,
        })
    }

    /// Apply a command as the host does: to a clone, kept only on success.
    pub fn apply(&mut self, cmd: Command, now: i64) -> Result<Vec<Effect>, EngineError> {
        let mut next = self.state.clone();
        let fx = StateMachine::apply_in(
            &self.process,
            &mut next,
            cmd,
            now,
            self.options,
            crate::script::Environment::default(),
        )?;
        self.state = next;
        for e in &fx {
            self.remember(e);
        }
        self.all.extend(fx.iter().cloned());
        check_invariants(&self.state);
        Ok(fx)
    }

    fn remember(&mut self, e: &Effect) {
        let (id, aid) = match e {
            Effect::CreateExternalTask(s) => (&s.task_id, &s.activity_id),
            Effect::CreateUserTask(s) => (&s.task_id, &s.activity_id),
            Effect::ScheduleTimer {
                timer_id,
                activity_id,
                ..
            } => (timer_id, activity_id),
            Effect::SubscribeMessage {
                subscription_id,
                activity_id,
                ..
            }
            | Effect::SubscribeSignal {
                subscription_id,
                activity_id,
                ..
            } => (subscription_id, activity_id),
            Effect::ScheduleJob {
                job_id,
                activity_id,
                ..
            } => (job_id, activity_id),
            Effect::StartCallActivity {
                child_instance_id,
                process_key,
                ..
            } => (child_instance_id, process_key),
            _ => return,
        };
        self.names.insert(id.clone(), aid.clone());
    }

    fn name(&self, id: &str) -> String {
        self.names.get(id).cloned().unwrap_or_else(|| id.to_owned())
    }

    /// A short text for a non-history effect (`None` for history).
    pub fn summary(&self, e: &Effect) -> Option<String> {
        Some(match e {
            Effect::CreateExternalTask(s) => format!("ext:{}:{}", s.activity_id, s.topic),
            Effect::CreateUserTask(s) => format!("user:{}", s.activity_id),
            Effect::UpdateUserTask(s) => format!(
                "updateUser:{}:{}",
                s.activity_id,
                s.assignee.as_deref().unwrap_or("-")
            ),
            Effect::PatchUserTask(p) => format!(
                "patchUser:{}",
                p.assignee.clone().flatten().unwrap_or_else(|| "-".into())
            ),
            Effect::CancelTask { task_id } => format!("cancelTask:{}", self.name(task_id)),
            Effect::ScheduleTimer {
                activity_id, due, ..
            } => format!("timer:{activity_id}@{due}"),
            Effect::CancelTimer { timer_id } => format!("cancelTimer:{}", self.name(timer_id)),
            Effect::SubscribeMessage {
                activity_id,
                message_name,
                ..
            } => format!("msg:{activity_id}:{message_name}"),
            Effect::SubscribeSignal {
                activity_id,
                signal_name,
                ..
            } => format!("sig:{activity_id}:{signal_name}"),
            Effect::Unsubscribe { subscription_id } => {
                format!("unsub:{}", self.name(subscription_id))
            }
            Effect::ScheduleJob {
                activity_id, kind, ..
            } => format!(
                "job:{activity_id}:{}",
                match kind {
                    super::JobKind::AsyncBefore => "before",
                    super::JobKind::AsyncAfter => "after",
                }
            ),
            Effect::CancelJob { job_id } => format!("cancelJob:{}", self.name(job_id)),
            Effect::BroadcastSignal { signal_name, .. } => format!("broadcast:{signal_name}"),
            Effect::StartCallActivity { process_key, .. } => format!("call:{process_key}"),
            Effect::CancelChildInstance { child_instance_id } => {
                format!("cancelChild:{}", self.name(child_instance_id))
            }
            Effect::ThrowToCaller { kind, code, .. } => format!("toCaller:{kind:?}:{code}"),
            Effect::InstanceCompleted => "completed".into(),
            Effect::InstanceCanceled { .. } => "canceled".into(),
            Effect::History(_) | Effect::UncaughtError { .. } => return None,
        })
    }

    /// Run a table of steps, asserting each row.
    pub fn run(&mut self, steps: &[Step]) {
        for (i, s) in steps.iter().enumerate() {
            let cmd = self.command(&s.act);
            let before = self.state.clone();
            let res = self.apply(cmd, s.now);
            let ctx = format!("step {i} ({:?})", s.act);
            match (res, s.err) {
                (Err(e), Some(variant)) => {
                    let dbg = format!("{e:?}");
                    assert!(
                        dbg.starts_with(variant),
                        "{ctx}: expected {variant}, got {dbg}"
                    );
                    assert_eq!(self.state, before, "{ctx}: state changed on error");
                }
                (Err(e), None) => panic!("{ctx}: failed: {e}"),
                (Ok(fx), Some(variant)) => {
                    panic!("{ctx}: expected {variant}, got effects {fx:#?}")
                }
                (Ok(fx), None) => self.check(&ctx, s, &fx),
            }
        }
    }

    fn check(&self, ctx: &str, s: &Step, fx: &[Effect]) {
        let summaries: Vec<String> = fx.iter().filter_map(|e| self.summary(e)).collect();
        if let Some(expected) = &s.effects {
            assert_eq!(&summaries, expected, "{ctx}: effects");
        }
        for c in &s.contains {
            assert!(summaries.contains(c), "{ctx}: missing {c} in {summaries:?}");
        }
        if let Some(expected) = &s.history {
            let h: Vec<String> = fx
                .iter()
                .filter_map(|e| match e {
                    Effect::History(HistoryEvent::ActivityStarted { activity_id, .. }) => {
                        Some(format!("start:{activity_id}"))
                    }
                    Effect::History(HistoryEvent::ActivityEnded {
                        activity_id,
                        canceled,
                        ..
                    }) => Some(format!(
                        "{}:{activity_id}",
                        if *canceled { "cancel" } else { "end" }
                    )),
                    _ => None,
                })
                .collect();
            assert_eq!(&h, expected, "{ctx}: history");
        }
        if let Some(active) = &s.active {
            assert_eq!(&self.state.active_activity_ids(), active, "{ctx}: active");
        }
        let pv = self.state.process_variables();
        for (name, v) in &s.vars {
            assert_eq!(pv.get(name), v.as_ref(), "{ctx}: variable {name}");
        }
        if let Some(st) = s.status {
            assert_eq!(self.state.status, st, "{ctx}: status");
        }
    }
}

/// The activity-instance tree is consistent: parents exist, waits are leaves, every live
/// non-root instance waits or holds children, an ended instance keeps only its root.
pub(super) fn check_invariants(st: &InstanceState) {
    for ai in st.activity_instances.values() {
        if ai.id == st.id {
            assert!(ai.parent.is_none(), "root has a parent");
            continue;
        }
        let parent = ai.parent.as_ref().expect("non-root without parent");
        assert!(
            st.activity_instances.contains_key(parent),
            "{} has a dangling parent {parent}",
            ai.id
        );
        let has_children = st.children_of(&ai.id).next().is_some();
        if ai.wait.is_some() {
            assert!(!has_children, "{} waits but has children", ai.id);
        } else {
            assert!(has_children, "{} neither waits nor has children", ai.id);
        }
    }
    if !st.is_active() {
        assert_eq!(
            st.activity_instances.len(),
            1,
            "ended instance keeps only its root"
        );
        assert!(st.ended_at.is_some());
    }
}

/// Run a fixture through a table.
pub(super) fn run(fixture: &str, steps: &[Step]) -> Harness {
    let mut h = Harness::new(fixture);
    h.run(steps);
    h
}
