//! Command dispatch and the run loop of [`super::StateMachine::apply`].
//!
//! One [`Ctx`] lives for one `apply`: it borrows the model and the instance state, collects the
//! effects in the order they happen, and drives an explicit work stack (never recursion over the
//! flow graph, so loops through sequence flows cannot blow the stack) until every token waits or
//! has ended. The other modules of `engine` add methods to [`Ctx`]: `flow` (token movement,
//! gateways, scopes), `events` (listeners, boundary events, event subprocesses, error and
//! escalation propagation, cancellation, conditionals), `multi` (multi-instance), `scope`
//! (variables, expressions, input/output mappings) and `tasks` (external, user and call
//! activities).
//!
//! Bookkeeping that has no field of its own lives in `ActivityInstance::internal` under the
//! `K_*` keys below; nothing outside this module tree reads them.

use std::collections::BTreeSet;

use super::{ApplyOptions, Command, Effect, EngineError, InstanceState, Wait};
use crate::model::ExecutionEvent;
use crate::model::{NodeIdx, Process};
use crate::value::Variables;

/// Creation order of an activity instance (ids are hashes, so they do not sort by age).
pub(super) const K_SEQ: &str = "seq";
/// `ActivityStarted` history has been emitted.
pub(super) const K_HIST: &str = "hist";
/// The async-before job has run.
pub(super) const K_ASYNC_BEFORE_DONE: &str = "asyncBeforeDone";
/// The async-after job has been scheduled (or run).
pub(super) const K_ASYNC_AFTER: &str = "asyncAfter";
/// Output mappings have been applied.
pub(super) const K_OUTPUTS_DONE: &str = "outputsDone";
/// This is a multi-instance body.
pub(super) const K_MI_BODY: &str = "miBody";
/// This is an inner instance of a multi-instance body.
pub(super) const K_MI_INNER: &str = "miInner";
/// Loop counter of a multi-instance inner instance.
pub(super) const K_MI_LOOP: &str = "miLoop";
/// Number of instances of a multi-instance body.
pub(super) const K_MI_N: &str = "miN";
/// Next loop counter a sequential multi-instance body creates.
pub(super) const K_MI_NEXT: &str = "miNext";

/// Suffix Camunda gives the activity id of a multi-instance body.
pub(super) const MI_BODY_SUFFIX: &str = "#multiInstanceBody";

/// How many work items one `apply` may process before it is declared an endless loop.
const MAX_STEPS: u64 = 200_000;

/// A unit of deferred work on the stack.
#[derive(Debug, Clone)]
pub(super) enum Work {
    /// Run the behaviour of an activity instance that was just created (or whose async-before
    /// job ran).
    Execute(String),
    /// The activity instance completed: apply outputs and take its outgoing flows.
    Leave(String),
    /// A token ended inside this scope: complete the scope when nothing is left in it.
    ScopeCheck(String),
}

/// Variables that arrive with a trigger (message correlation, signal, task completion).
#[derive(Debug, Clone, Default)]
pub(super) struct Payload {
    /// Set non-locally from the receiving activity instance.
    pub variables: Variables,
    /// Set locally on the receiving activity instance.
    pub local_variables: Variables,
}

/// The working context of one `apply`.
pub(super) struct Ctx<'a> {
    /// The model.
    pub p: &'a Process,
    /// The instance.
    pub st: &'a mut InstanceState,
    /// The current time (ms since epoch).
    pub now: i64,
    /// Effects in the order they happened.
    pub fx: Vec<Effect>,
    /// Index of each `ActivityStarted` history effect emitted in this apply, so the task id or
    /// called instance id can be filled in once known.
    pub started_idx: foldhash::HashMap<String, usize>,
    work: Vec<Work>,
    /// Some variable changed since conditions were last evaluated; `None` in the set means a
    /// conditional was armed and every condition must be evaluated.
    pub dirty_all: bool,
    /// Names of variables changed since conditions were last evaluated.
    pub dirty: BTreeSet<String>,
    steps: u64,
    /// The first failure of a listener that fired where errors cannot be returned (task
    /// `delete` listeners during cancellation, process `end` listeners): it fails the command
    /// after the work loop, so the whole command is rejected as if returned directly.
    pub pending: Option<EngineError>,
    /// The engine settings this apply runs under.
    pub options: ApplyOptions,
    /// The host's side of this command: definition id and JavaScript runner.
    pub env: crate::script::Environment<'a>,
    /// What a modification command changes in how this apply runs (off otherwise).
    pub modify_flags: super::modification::ModifyFlags,
}

pub(super) fn apply(
    process: &Process,
    state: &mut InstanceState,
    command: Command,
    now: i64,
    options: ApplyOptions,
    env: crate::script::Environment<'_>,
) -> Result<Vec<Effect>, EngineError> {
    if !state.is_active() {
        return Err(EngineError::InstanceEnded(state.id.clone()));
    }
    let is_start = matches!(command, Command::Start { .. } | Command::StartAt { .. });
    if is_start && !state.activity_instances.is_empty() {
        return Err(EngineError::InvalidCommand(format!(
            "process instance {} has already been started",
            state.id
        )));
    }
    if !is_start && state.root().is_none() {
        return Err(EngineError::InvalidCommand(format!(
            "process instance {} has not been started",
            state.id
        )));
    }
    let mut cx = Ctx::new(process, state, now, env);
    cx.options = options;
    cx.dispatch(command)?;
    cx.run()?;
    if let Some(e) = cx.pending.take() {
        return Err(e);
    }
    Ok(cx.fx)
}

impl<'a> Ctx<'a> {
    fn new(
        p: &'a Process,
        st: &'a mut InstanceState,
        now: i64,
        env: crate::script::Environment<'a>,
    ) -> Ctx<'a> {
        Ctx {
            p,
            st,
            now,
            fx: Vec::new(),
            started_idx: foldhash::HashMap::default(),
            work: Vec::new(),
            dirty_all: false,
            dirty: BTreeSet::new(),
            steps: 0,
            pending: None,
            options: ApplyOptions::default(),
            env,
            modify_flags: Default::default(),
        }
    }

    /// Queue work (LIFO: the last pushed runs first).
    pub fn push(&mut self, w: Work) {
        self.work.push(w);
    }

    /// A node by element id.
    pub fn node_idx(&self, id: &str) -> Option<NodeIdx> {
        self.p.node_by_id(id)
    }

    fn dispatch(&mut self, command: Command) -> Result<(), EngineError> {
        match command {
            Command::Start {
                variables,
                start_activity_id,
                initiator,
            } => self.start(variables, start_activity_id, initiator),
            Command::StartAt {
                variables,
                instructions,
                skip_custom_listeners,
                skip_io_mappings,
            } => self.start_at(
                variables,
                instructions,
                skip_custom_listeners,
                skip_io_mappings,
            ),
            Command::CompleteTask {
                task_id,
                variables,
                local_variables,
            } => self.complete_task(&task_id, variables, local_variables),
            Command::ThrowError {
                task_id,
                code,
                message,
                variables,
            } => self.throw_error_command(&task_id, &code, message, variables),
            Command::TimerFired { timer_id } => self.timer_fired(&timer_id),
            Command::UpdateTask {
                task,
                assignee_changed,
            } => self.update_task(*task, assignee_changed),
            Command::MessageReceived {
                subscription_id,
                variables,
                local_variables,
            } => self.subscription_triggered(
                &subscription_id,
                Payload {
                    variables,
                    local_variables,
                },
                true,
            ),
            Command::SignalReceived {
                subscription_id,
                variables,
            } => self.subscription_triggered(
                &subscription_id,
                Payload {
                    variables,
                    local_variables: Variables::new(),
                },
                false,
            ),
            Command::RunJob { job_id } => self.run_job(&job_id),
            Command::ChildCompleted {
                activity_instance_id,
                variables,
            } => self.child_completed(&activity_instance_id, variables),
            Command::SetVariables {
                activity_instance_id,
                variables,
                local,
                deletions,
            } => self.set_variables_command(activity_instance_id, variables, local, deletions),
            Command::Trigger {
                execution_id,
                variables,
            } => self.trigger(&execution_id, variables),
            Command::ChildEscalation {
                child_instance_id,
                code,
            } => self.child_escalation(&child_instance_id, &code),
            Command::TaskEscalation {
                task_id,
                code,
                variables,
            } => self.task_escalation(&task_id, &code, variables),
            Command::Cancel { reason } => self.cancel_instance(reason),
            Command::Modify {
                instructions,
                skip_custom_listeners,
                skip_io_mappings,
            } => self.modify(instructions, skip_custom_listeners, skip_io_mappings),
        }
    }

    /// Process work until every token waits or has ended; between rounds, fire inclusive joins
    /// that nothing can reach any more and conditional events whose condition became true.
    pub(super) fn run(&mut self) -> Result<(), EngineError> {
        loop {
            while let Some(w) = self.work.pop() {
                if !self.st.is_active() {
                    self.work.clear();
                    return Ok(());
                }
                self.steps += 1;
                if self.steps > MAX_STEPS {
                    return Err(EngineError::InvalidCommand(format!(
                        "process instance {} did not reach a wait state after {MAX_STEPS} steps \
                         (endless loop without a wait state?)",
                        self.st.id
                    )));
                }
                match w {
                    Work::Execute(ai) => self.execute(&ai)?,
                    Work::Leave(ai) => self.leave(&ai)?,
                    Work::ScopeCheck(ai) => self.scope_check(&ai)?,
                }
            }
            if !self.st.is_active() {
                return Ok(());
            }
            if self.fire_ready_inclusive_joins()? {
                continue;
            }
            if self.check_conditionals()? {
                continue;
            }
            return Ok(());
        }
    }

    fn start(
        &mut self,
        variables: Variables,
        start_activity_id: Option<String>,
        initiator: Option<String>,
    ) -> Result<(), EngineError> {
        let p = self.p;
        let start = match &start_activity_id {
            Some(id) => {
                let idx = self.node_idx(id).ok_or_else(|| {
                    EngineError::InvalidCommand(format!(
                        "process '{}' has no start event '{id}'",
                        p.id
                    ))
                })?;
                let node = p.node(idx);
                if node.scope.is_some()
                    || !matches!(node.kind, crate::model::NodeKind::StartEvent { .. })
                {
                    return Err(EngineError::InvalidCommand(format!(
                        "'{id}' is not a start event of process '{}'",
                        p.id
                    )));
                }
                idx
            }
            None => p.initial_start_event().ok_or_else(|| {
                EngineError::InvalidCommand(format!(
                    "process '{}' has no none start event: name the start event to use \
                     (message, timer or signal start)",
                    p.id
                ))
            })?,
        };
        let root_id = self.begin_instance(variables)?;
        if let crate::model::NodeKind::StartEvent {
            initiator: Some(var),
            ..
        } = &p.node(start).kind
            && let Some(user) = initiator
        {
            self.set_var(&root_id, var, crate::value::Value::String(user), true)?;
        }
        self.fire_execution_listeners(&root_id, &p.listeners, ExecutionEvent::Start)?;
        self.arm_event_subprocesses(&root_id, None)?;
        let ai = self.create_instance(start, &root_id, root_id.clone());
        self.push(Work::Execute(ai));
        Ok(())
    }

    /// [`Command::StartAt`]: the instance scope as [`Ctx::start`] sets it up, then the
    /// instructions instead of a start event.
    fn start_at(
        &mut self,
        variables: Variables,
        instructions: Vec<super::ModificationInstruction>,
        skip_custom_listeners: bool,
        skip_io_mappings: bool,
    ) -> Result<(), EngineError> {
        if instructions.is_empty()
            || instructions
                .iter()
                .any(|i| matches!(i, super::ModificationInstruction::Cancel(_)))
        {
            return Err(EngineError::InvalidCommand(
                "an instance started at activities needs start instructions and no cancel".into(),
            ));
        }
        let root_id = self.begin_instance(variables)?;
        if !skip_custom_listeners {
            let p = self.p;
            self.fire_execution_listeners(&root_id, &p.listeners, ExecutionEvent::Start)?;
        }
        self.arm_event_subprocesses(&root_id, None)?;
        self.modify(instructions, skip_custom_listeners, skip_io_mappings)
    }

    /// The instance's root scope, with `variables` set on it; returns its id.
    fn begin_instance(&mut self, variables: Variables) -> Result<String, EngineError> {
        let p = self.p;
        self.st.started_at = self.now;
        let root_id = self.st.id.clone();
        let mut root = super::ActivityInstance {
            id: root_id.clone(),
            activity_id: p.id.clone(),
            parent: None,
            execution_id: root_id.clone(),
            variables: Variables::new(),
            wait: None,
            listeners: Vec::new(),
            started_at: self.now,
            internal: Default::default(),
        };
        root.internal.insert(K_SEQ.into(), 0);
        self.st.activity_instances.insert(root_id.clone(), root);
        for (k, v) in variables {
            self.set_var(&root_id, &k, v, true)?;
        }
        Ok(root_id)
    }

    fn run_job(&mut self, job_id: &str) -> Result<(), EngineError> {
        let ai_id = self
            .st
            .activity_instances
            .values()
            .find(|ai| matches!(&ai.wait, Some(Wait::Job { job_id: j }) if j == job_id))
            .map(|ai| ai.id.clone())
            .ok_or_else(|| EngineError::NotWaiting {
                kind: "job",
                id: job_id.to_owned(),
            })?;
        let ai = self.ai_mut(&ai_id)?;
        ai.wait = None;
        if ai.internal.contains_key(K_ASYNC_AFTER) {
            self.push(Work::Leave(ai_id));
        } else {
            ai.internal.insert(K_ASYNC_BEFORE_DONE.into(), 1);
            self.push(Work::Execute(ai_id));
        }
        Ok(())
    }

    fn set_variables_command(
        &mut self,
        activity_instance_id: Option<String>,
        variables: Variables,
        local: bool,
        deletions: Vec<String>,
    ) -> Result<(), EngineError> {
        let target = activity_instance_id.unwrap_or_else(|| self.st.id.clone());
        if !self.st.activity_instances.contains_key(&target) {
            return Err(EngineError::NotWaiting {
                kind: "activity instance",
                id: target,
            });
        }
        for (k, v) in variables {
            self.set_var(&target, &k, v, local)?;
        }
        for name in deletions {
            self.delete_var(&target, &name, local);
        }
        Ok(())
    }

    /// `Command::Cancel`: end every activity instance, emit the cancel effects.
    fn cancel_instance(&mut self, reason: Option<String>) -> Result<(), EngineError> {
        let root = self.st.id.clone();
        for child in self.children(&root) {
            self.cancel_subtree(&child);
        }
        // An operator's cancellation must always succeed: a failing `delete` task listener
        // does not keep the instance alive (Camunda's skipCustomListeners escape hatch,
        // taken only on failure; its writes before the failure are kept).
        self.pending = None;
        self.drop_listeners(&root, None);
        self.st.status = super::InstanceStatus::Canceled;
        self.st.ended_at = Some(self.now);
        self.fx.push(Effect::InstanceCanceled { reason });
        Ok(())
    }
}
