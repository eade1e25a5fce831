//! The execution core: a pure, deterministic state machine over one process instance.
//!
//! `StateMachine::apply(process, &mut state, command, now)` moves tokens until every path reaches a
//! wait state (external task, user task, timer, message, signal, call activity, async job) or
//! ends, and returns the [`Effect`]s the host must perform *after* it has durably stored the new
//! state (restate / Temporal style). Nothing here reads a clock, a random source or any I/O:
//! `now` is an input and every id is derived from the instance id and a counter in the state,
//! so the same commands on the same state always give the same result.
//!
//! In-engine logic runs inside `apply` too: `camunda:expression` tasks complete within the
//! command that reaches them, and expression listeners (execution and task listeners) fire at
//! their points of the lifecycle; a failing expression fails the command.
//!
//! On `Err`, `state` may have been partly modified: the host applies commands to a clone and
//! keeps the original when apply fails (a failed command changes nothing).
//!
//! Vocabulary follows Camunda 7: the root activity instance has the process instance id; every
//! activity instance has an execution id (the root's is the process instance id); variables
//! live on activity instances that are scopes, and a non-local write goes to the nearest scope
//! that already has the variable, else to the process instance.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Process;
use crate::value::Variables;

mod compensation;
mod complex;
mod decisions;
mod events;
mod exec;
mod flow;
mod listeners;
mod modification;
mod multi;
mod scope;
mod standard_loop;
mod state;
mod tasks;
#[cfg(test)]
mod tests;

pub use compensation::{CompensationSubscription, compensation_subscriptions};
pub use modification::{CancelTarget, ModificationInstruction, StartTarget};
pub use state::*;

/// Something that happened to an instance, fed in by the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Start a new instance (`state` must be fresh, from [`InstanceState::new`]).
    Start {
        /// Initial process variables.
        variables: Variables,
        /// The start event to enter; `None` = the process's none start event.
        start_activity_id: Option<String>,
        /// The user who started it (`camunda:initiator`).
        initiator: Option<String>,
    },
    /// Start a new instance at activities instead of a start event (Camunda's instance
    /// restart and instantiation with instructions): the instance scope is set up with
    /// `variables` and its listeners and event subprocesses, then the modification
    /// `instructions` run on it (`state` must be fresh, as for [`Command::Start`]).
    StartAt {
        /// Initial process variables.
        variables: Variables,
        /// Where tokens start (start instructions only).
        instructions: Vec<ModificationInstruction>,
        /// `skipCustomListeners` for the instructions.
        skip_custom_listeners: bool,
        /// `skipIoMappings` for the instructions.
        skip_io_mappings: bool,
    },
    /// An external task or user task was completed.
    CompleteTask {
        /// The task id from [`Effect::CreateExternalTask`] / [`Effect::CreateUserTask`].
        task_id: String,
        /// Variables set from the task's scope upwards (Camunda's `variables`).
        variables: Variables,
        /// Variables set on the task's own execution (Camunda's `localVariables`).
        local_variables: Variables,
    },
    /// A task reported a BPMN error (`bpmnError`): routed to the nearest matching error
    /// boundary event or error event subprocess; [`EngineError::UnhandledError`] when nothing
    /// catches it.
    ///
    /// The host also uses it for an error that escaped a call activity's child instance: with
    /// the child instance id (from [`Effect::StartCallActivity`]) as `task_id`, the error is
    /// thrown at the call activity (the child is cancelled with
    /// [`Effect::CancelChildInstance`] when the call activity is interrupted).
    ThrowError {
        /// The task id, or the child instance id of a waiting call activity.
        task_id: String,
        /// The error code.
        code: String,
        /// The error message.
        message: Option<String>,
        /// Variables set before the error is thrown.
        variables: Variables,
    },
    /// A timer from [`Effect::ScheduleTimer`] came due.
    TimerFired {
        /// The timer id.
        timer_id: String,
    },
    /// A message was correlated to a subscription from [`Effect::SubscribeMessage`].
    MessageReceived {
        /// The subscription id.
        subscription_id: String,
        /// Process variables set on correlation.
        variables: Variables,
        /// Variables set locally on the receiving execution.
        local_variables: Variables,
    },
    /// A signal reached a subscription from [`Effect::SubscribeSignal`].
    SignalReceived {
        /// The subscription id.
        subscription_id: String,
        /// Variables carried by the signal.
        variables: Variables,
    },
    /// An async continuation job from [`Effect::ScheduleJob`] is run.
    RunJob {
        /// The job id.
        job_id: String,
    },
    /// The child instance started by [`Effect::StartCallActivity`] completed. After a child
    /// instance ends, its root activity instance still holds its final variables
    /// ([`InstanceState::process_variables`]): pass those here.
    ChildCompleted {
        /// The call activity's activity instance id.
        activity_instance_id: String,
        /// The child's process variables at its end (out-mappings read these).
        variables: Variables,
    },
    /// Variables were written from outside (REST), which may trigger conditional events.
    SetVariables {
        /// The scope written to; `None` = the process instance.
        activity_instance_id: Option<String>,
        /// Values to set.
        variables: Variables,
        /// Write exactly on that scope instead of Camunda's "nearest scope that has it".
        local: bool,
        /// Variables to remove.
        deletions: Vec<String>,
    },
    /// Signal the execution waiting at a receive task (Camunda's `RuntimeService.signal`,
    /// `POST /execution/{id}/signal`): set `variables`, then leave the task. A receive task
    /// with a message drops its subscription.
    Trigger {
        /// The execution id (or activity instance id) waiting at the receive task.
        execution_id: String,
        /// Variables set from the execution upwards before it leaves.
        variables: Variables,
    },
    /// An escalation nothing in the child instance caught, thrown at the call activity waiting
    /// for that child (from [`Effect::ThrowToCaller`]). Uncaught here too, it is ignored, as
    /// Camunda does.
    ChildEscalation {
        /// The child instance id.
        child_instance_id: String,
        /// The escalation code.
        code: String,
    },
    /// An escalation thrown from a waiting user task (`POST /task/{id}/bpmnEscalation`): the
    /// variables are set from the task, then the escalation goes to the nearest catching
    /// boundary event or event subprocess (an interrupting one ends the task). Nothing
    /// catching it is an [`EngineError::InvalidCommand`] with Camunda's text, and nothing
    /// changes.
    TaskEscalation {
        /// The user task id.
        task_id: String,
        /// The escalation code.
        code: String,
        /// Variables set before the escalation is thrown.
        variables: Variables,
    },
    /// A waiting user task was changed from outside (REST claim, assignee change): fire its
    /// `update` task listeners, then `assignment` ones when the assignee changed. The result
    /// is [`Effect::UpdateUserTask`] with what the listeners made of the task.
    UpdateTask {
        /// The task as the host holds it after the change (boxed: it is the largest command).
        task: Box<UserTaskSpec>,
        /// Whether the change gave the task another assignee.
        assignee_changed: bool,
    },
    /// Cancel the whole instance (`DELETE /process-instance/{id}`).
    Cancel {
        /// Why (becomes the history delete reason).
        reason: Option<String>,
    },
    /// Process instance modification (`POST /process-instance/{id}/modification`): start and
    /// cancel tokens, in order; the instance ends when no token is left (see
    /// [`ModificationInstruction`]).
    Modify {
        /// The instructions, run in order.
        instructions: Vec<ModificationInstruction>,
        /// Execution listeners do not fire during this command.
        skip_custom_listeners: bool,
        /// Input and output mappings are not applied during this command.
        skip_io_mappings: bool,
    },
}

/// Something the host must do after committing the new state. Every effect is keyed by an id
/// so performing it twice is harmless.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    /// A service-like task waits: route it to a wasm component for its topic or queue it for
    /// remote workers.
    CreateExternalTask(ExternalTaskSpec),
    /// A user task waits for a person.
    CreateUserTask(UserTaskSpec),
    /// A waiting user task's properties after [`Command::UpdateTask`] (its listeners may have
    /// changed the assignee, name, priority, dates).
    UpdateUserTask(UserTaskSpec),
    /// What a `timeout` task listener changed on a waiting user task (only those properties:
    /// the state machine does not hold the task's current ones).
    PatchUserTask(UserTaskPatch),
    /// An external or user task was removed (interrupting boundary, cancellation, ...).
    CancelTask {
        /// The task id.
        task_id: String,
    },
    /// Arm a timer.
    ScheduleTimer {
        /// Timer id (fed back in [`Command::TimerFired`]).
        timer_id: String,
        /// The activity instance that owns it (catch event, or the activity a boundary timer
        /// is attached to, or the scope of an event subprocess).
        activity_instance_id: String,
        /// The timer event's element id.
        activity_id: String,
        /// When it is due (ms since epoch).
        due: i64,
    },
    /// Disarm a timer.
    CancelTimer {
        /// The timer id.
        timer_id: String,
    },
    /// Wait for a message.
    SubscribeMessage {
        /// Subscription id (fed back in [`Command::MessageReceived`]).
        subscription_id: String,
        /// The message name (expressions already evaluated).
        message_name: String,
        /// The activity instance that owns it.
        activity_instance_id: String,
        /// The catching element's id.
        activity_id: String,
    },
    /// Wait for a signal.
    SubscribeSignal {
        /// Subscription id (fed back in [`Command::SignalReceived`]).
        subscription_id: String,
        /// The signal name.
        signal_name: String,
        /// The activity instance that owns it.
        activity_instance_id: String,
        /// The catching element's id.
        activity_id: String,
    },
    /// Remove a message or signal subscription.
    Unsubscribe {
        /// The subscription id.
        subscription_id: String,
    },
    /// Run an async continuation (fed back as [`Command::RunJob`]).
    ScheduleJob {
        /// Job id.
        job_id: String,
        /// The activity instance it continues.
        activity_instance_id: String,
        /// The activity's element id.
        activity_id: String,
        /// `asyncBefore` or `asyncAfter`.
        kind: JobKind,
        /// When it may run.
        due: i64,
        /// `camunda:failedJobRetryTimeCycle` of the activity.
        retry_time_cycle: Option<String>,
    },
    /// Remove a job that is no longer needed.
    CancelJob {
        /// The job id.
        job_id: String,
    },
    /// Broadcast a signal to every subscription and signal start event.
    BroadcastSignal {
        /// Signal name.
        signal_name: String,
        /// Variables it carries.
        variables: Variables,
    },
    /// Start a child instance for a call activity.
    StartCallActivity {
        /// The call activity's activity instance id (fed back in [`Command::ChildCompleted`]).
        activity_instance_id: String,
        /// The id to give the child instance.
        child_instance_id: String,
        /// The process key to call (expression already evaluated).
        process_key: String,
        /// Which version.
        binding: CallBinding,
        /// The child's business key.
        business_key: Option<String>,
        /// Variables after the in-mappings.
        variables: Variables,
    },
    /// A BPMN error or escalation that nothing in this instance catches, in an instance started
    /// by a call activity: the host delivers it to the caller (Camunda's error propagation
    /// walks on into the super execution), as [`Command::ThrowError`] or
    /// [`Command::ChildEscalation`] with this instance's id. For an error, the throwing
    /// execution here has already ended (none end event semantics): if the caller catches it,
    /// the call activity is interrupted and this instance cancelled.
    ThrowToCaller {
        /// The caller from [`InstanceState::super_instance`].
        caller: SuperInstance,
        /// Error or escalation.
        kind: ThrownKind,
        /// The error or escalation code.
        code: String,
        /// The error message.
        message: Option<String>,
    },
    /// A BPMN error nothing caught ended its execution (Camunda's default for uncaught
    /// errors): nothing to write, but people may want to hear of it (failure notifications).
    UncaughtError {
        /// The activity that threw it.
        activity_id: String,
        /// The error code.
        code: String,
        /// The error message.
        message: Option<String>,
    },
    /// Cancel a child instance (its call activity was interrupted or cancelled).
    CancelChildInstance {
        /// The child instance id.
        child_instance_id: String,
    },
    /// Record history.
    History(HistoryEvent),
    /// The instance reached its end.
    InstanceCompleted,
    /// The instance ended by cancellation.
    InstanceCanceled {
        /// Why.
        reason: Option<String>,
    },
}

/// What a child instance hands to its caller in [`Effect::ThrowToCaller`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThrownKind {
    /// A BPMN error.
    Error,
    /// A BPMN escalation.
    Escalation,
}

/// How a call activity's binding was resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CallBinding {
    /// The latest version.
    Latest,
    /// The version from the caller's deployment.
    Deployment,
    /// A fixed version number.
    Version(i32),
    /// The newest version with this version tag.
    VersionTag(String),
}

/// Which side of an activity an async continuation sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobKind {
    /// Before the activity is entered.
    AsyncBefore,
    /// After the activity completed, before its outgoing flows are taken.
    AsyncAfter,
}

/// What the host needs to create an external task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalTaskSpec {
    /// Task id.
    pub task_id: String,
    /// The waiting activity instance.
    pub activity_instance_id: String,
    /// Its execution id.
    pub execution_id: String,
    /// The element id.
    pub activity_id: String,
    /// Topic (expression already evaluated).
    pub topic: String,
    /// Priority (`camunda:taskPriority`, default 0).
    pub priority: i64,
    /// Retries configured on the model (zeebe `retries`), when any.
    pub retries: Option<i32>,
    /// `camunda:failedJobRetryTimeCycle` of the activity.
    pub retry_time_cycle: Option<String>,
    /// `camunda:properties` of the activity.
    pub extension_properties: BTreeMap<String, String>,
}

/// What the host needs to create a user task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserTaskSpec {
    /// Task id.
    pub task_id: String,
    /// The waiting activity instance.
    pub activity_instance_id: String,
    /// Its execution id.
    pub execution_id: String,
    /// The element id (Camunda's `taskDefinitionKey`).
    pub activity_id: String,
    /// Task name.
    pub name: Option<String>,
    /// Documentation text.
    pub description: Option<String>,
    /// Assignee (evaluated).
    pub assignee: Option<String>,
    /// Candidate users (evaluated).
    pub candidate_users: Vec<String>,
    /// Candidate groups (evaluated).
    pub candidate_groups: Vec<String>,
    /// Due date (ms since epoch).
    pub due: Option<i64>,
    /// Follow-up date.
    pub follow_up: Option<i64>,
    /// Priority (default 50).
    pub priority: i32,
    /// Form key.
    pub form_key: Option<String>,
}

/// Properties a `timeout` task listener set on a waiting user task; `None` = unchanged.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UserTaskPatch {
    /// The task.
    pub task_id: String,
    /// New assignee (`Some(None)` clears it).
    pub assignee: Option<Option<String>>,
    /// New name.
    pub name: Option<Option<String>>,
    /// New description.
    pub description: Option<Option<String>>,
    /// New priority.
    pub priority: Option<i32>,
    /// New due date.
    pub due: Option<Option<i64>>,
    /// New follow-up date.
    pub follow_up: Option<Option<i64>>,
}

impl UserTaskPatch {
    /// The properties that differ between `before` and `after`.
    pub fn between(before: &UserTaskSpec, after: &UserTaskSpec) -> UserTaskPatch {
        fn changed<T: PartialEq + Clone>(a: &T, b: &T) -> Option<T> {
            (a != b).then(|| b.clone())
        }
        UserTaskPatch {
            task_id: after.task_id.clone(),
            assignee: changed(&before.assignee, &after.assignee),
            name: changed(&before.name, &after.name),
            description: changed(&before.description, &after.description),
            priority: changed(&before.priority, &after.priority),
            due: changed(&before.due, &after.due),
            follow_up: changed(&before.follow_up, &after.follow_up),
        }
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        *self
            == UserTaskPatch {
                task_id: self.task_id.clone(),
                ..UserTaskPatch::default()
            }
    }
}

/// A history record the host stores and serves through `/history/*`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum HistoryEvent {
    /// An activity instance started.
    ActivityStarted {
        /// Activity instance id.
        activity_instance_id: String,
        /// Parent activity instance id (the process instance id at top level).
        parent_activity_instance_id: String,
        /// Element id.
        activity_id: String,
        /// Camunda activity type.
        activity_type: String,
        /// Execution id.
        execution_id: String,
        /// Task id, for user and external tasks.
        task_id: Option<String>,
        /// Child instance id, for call activities.
        called_process_instance_id: Option<String>,
        /// When.
        at: i64,
    },
    /// An activity instance ended.
    ActivityEnded {
        /// Activity instance id.
        activity_instance_id: String,
        /// Element id.
        activity_id: String,
        /// Ended by interruption or cancellation rather than completion.
        canceled: bool,
        /// An end event that completed its scope.
        complete_scope: bool,
        /// When.
        at: i64,
    },
    /// A variable was created or updated.
    VariableSet {
        /// The scope's activity instance id.
        scope_id: String,
        /// Name.
        name: String,
        /// New value.
        value: crate::value::Value,
        /// When.
        at: i64,
    },
    /// A variable was removed.
    VariableDeleted {
        /// The scope's activity instance id.
        scope_id: String,
        /// Name.
        name: String,
        /// When.
        at: i64,
    },
    /// A business rule task evaluated a decision: one row per decision (required ones
    /// included), recorded as historic decision instances in the same commit.
    DecisionEvaluated {
        /// The task's activity instance id.
        activity_instance_id: String,
        /// The task's element id.
        activity_id: String,
        /// The evaluated decisions, root first.
        decisions: Vec<crate::dmn::EvaluatedDecision>,
        /// When.
        at: i64,
    },
}

/// Why a command could not be applied. The host keeps the previous state.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// No waiting task, timer, subscription or job with this id.
    #[error("{kind} '{id}' is not waiting in this process instance")]
    NotWaiting {
        /// task, timer, subscription, job, activity instance.
        kind: &'static str,
        /// The id given.
        id: String,
    },
    /// The instance has already ended.
    #[error("process instance {0} has already ended")]
    InstanceEnded(String),
    /// The command does not fit the instance's state.
    #[error("{0}")]
    InvalidCommand(String),
    /// A modification instruction names something the instance or its model does not have
    /// (Camunda's `NotValidException`, a 400); the text is Camunda's.
    #[error("{0}")]
    NotValid(String),
    /// An expression failed while running an activity.
    #[error("activity '{activity_id}': {message}")]
    Expression {
        /// The element whose expression failed.
        activity_id: String,
        /// What failed.
        message: String,
    },
    /// An exclusive or inclusive gateway found no flow to take. The text is Camunda's
    /// (`ENGINE-02004`, BpmnBehaviorLogger.stuckExecutionException): clients match on it.
    #[error(
        "ENGINE-02004 No outgoing sequence flow for the element with id '{activity_id}' could be selected for continuing the process."
    )]
    NoOutgoingFlow {
        /// The gateway.
        activity_id: String,
    },
    /// An activity (not a gateway) whose outgoing flows all have false conditions and no
    /// default flow. Camunda's text (`ENGINE-02006`, missingConditionalFlowException).
    #[error(
        "ENGINE-02006 No conditional sequence flow leaving the Flow Node '{activity_id}' could be selected for continuing the process."
    )]
    NoConditionalFlow {
        /// The activity.
        activity_id: String,
    },
    /// A BPMN error found no catching boundary event or event subprocess.
    #[error("unhandled BPMN error with code '{code}' thrown at activity '{activity_id}'")]
    UnhandledError {
        /// The error code.
        code: String,
        /// Where it was thrown.
        activity_id: String,
    },
    /// The model asks for something the engine cannot do at runtime.
    #[error("activity '{activity_id}': {message}")]
    Unsupported {
        /// The element.
        activity_id: String,
        /// What is unsupported.
        message: String,
    },
}

/// What happens to a BPMN error that no boundary event or event subprocess of the instance
/// catches (and, in an instance started by a call activity, that is handed to the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum UncaughtErrors {
    /// Camunda 7's default (`enableExceptionsAfterUnhandledBpmnError = false`): the throwing
    /// execution ends as if it had reached a none end event; the instance completes when
    /// nothing else is active.
    #[default]
    EndExecution,
    /// The command fails with [`EngineError::UnhandledError`] (the host raises an incident).
    Fail,
}

/// Engine-wide settings an [`StateMachine::apply_in`] call runs under.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// What an uncaught BPMN error does.
    pub uncaught_errors: UncaughtErrors,
}

/// The state machine. Stateless: everything lives in [`InstanceState`].
pub struct StateMachine;

impl StateMachine {
    /// Apply `command` to `state` at time `now` (ms since epoch) and return the effects to
    /// perform after the new state is stored.
    pub fn apply(
        process: &Process,
        state: &mut InstanceState,
        command: Command,
        now: i64,
    ) -> Result<Vec<Effect>, EngineError> {
        exec::apply(
            process,
            state,
            command,
            now,
            ApplyOptions::default(),
            crate::script::Environment::default(),
        )
    }

    /// [`StateMachine::apply`] under explicit engine settings and with the host's
    /// [`crate::script::Environment`]: the process definition id the instance runs on, and
    /// the runner of JavaScript scripts (which run inside this command, like expressions; see
    /// [`crate::script`]).
    pub fn apply_in(
        process: &Process,
        state: &mut InstanceState,
        command: Command,
        now: i64,
        options: ApplyOptions,
        env: crate::script::Environment<'_>,
    ) -> Result<Vec<Effect>, EngineError> {
        exec::apply(process, state, command, now, options, env)
    }
}
