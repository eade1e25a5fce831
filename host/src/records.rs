//! The persistent entities of baton: what the store keeps and the REST API shows.
//!
//! Field names follow Camunda 7's entities so the mapping to its DTOs is one-to-one. Times are
//! milliseconds since the Unix epoch (UTC). Every record is stored with a format version (see
//! `store::codec`), so adding an optional field (with `#[serde(default)]`) keeps old data
//! readable.

mod authorizations;
mod decisions;
mod history_logs;

pub use authorizations::Authorization;
pub use decisions::{DecisionDefinition, DecisionRequirementsDefinition, HistoricDecisionInstance};
pub use history_logs::{
    ExternalTaskLog, HistoricDetail, HistoryLog, HistoryLogKind, IdentityLinkLog, JobLog, LogState,
};

use std::collections::BTreeMap;

use baton_bpmn::engine::InstanceState;
use serde::{Deserialize, Serialize};

/// A deployment: a set of resources deployed together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// Deployment id (UUID).
    pub id: String,
    /// `deployment-name`.
    pub name: Option<String>,
    /// `deployment-source`.
    pub source: Option<String>,
    /// `tenant-id`.
    pub tenant_id: Option<String>,
    /// When it was deployed.
    pub deployment_time: i64,
    /// Its resources (content is stored separately).
    pub resources: Vec<ResourceMeta>,
}

/// One resource of a deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceMeta {
    /// Resource id (UUID).
    pub id: String,
    /// File name as uploaded.
    pub name: String,
    /// The deployment it belongs to.
    pub deployment_id: String,
    /// sha256 of the content (hex).
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// A deployed process definition (one version of one process key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessDefinition {
    /// `key:version:uuid`.
    pub id: String,
    /// The BPMN process id.
    pub key: String,
    /// Display name.
    pub name: Option<String>,
    /// 1, 2, 3...
    pub version: i32,
    /// `camunda:versionTag`.
    pub version_tag: Option<String>,
    /// The BPMN `targetNamespace`.
    pub category: Option<String>,
    /// Documentation.
    pub description: Option<String>,
    /// The deployment it came from.
    pub deployment_id: String,
    /// The resource (file) name it came from.
    pub resource_name: String,
    /// The resource id it came from.
    pub resource_id: String,
    /// Suspended definitions cannot be started.
    pub suspended: bool,
    /// Tenant.
    pub tenant_id: Option<String>,
    /// `camunda:historyTimeToLive`.
    pub history_time_to_live: Option<i32>,
    /// `camunda:isStartableInTasklist`.
    pub startable_in_tasklist: bool,
    /// When it was deployed.
    pub deployed_at: i64,
    /// Operator settings of its job definitions (suspension, overriding priority), by job
    /// definition id; absent = active, no override.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub job_definitions: BTreeMap<String, JobDefinitionState>,
}

/// What an operator set on one job definition (`/job-definition/{id}/...`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobDefinitionState {
    /// Suspended: new jobs of it are created suspended.
    #[serde(default)]
    pub suspended: bool,
    /// `overridingJobPriority`.
    #[serde(default)]
    pub overriding_priority: Option<i64>,
}

/// A process instance as stored: the state machine's state plus host bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessInstance {
    /// The definition it runs (it keeps running on it after newer versions are deployed).
    pub definition_id: String,
    /// The definition key.
    pub definition_key: String,
    /// Suspended instances hand out no tasks and accept no completions.
    pub suspended: bool,
    /// Tenant.
    pub tenant_id: Option<String>,
    /// The state machine's state (id, business key, tokens, variables).
    pub state: InstanceState,
}

impl ProcessInstance {
    /// The process instance id.
    pub fn id(&self) -> &str {
        &self.state.id
    }
}

/// An external task: a service task waiting for a worker or a wasm component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalTask {
    /// Task id.
    pub id: String,
    /// Topic.
    pub topic_name: String,
    /// The worker holding the lock (stays set after a failure with retry timeout).
    pub worker_id: Option<String>,
    /// When the lock expires.
    pub lock_expiration_time: Option<i64>,
    /// `null` until the first failure is reported.
    pub retries: Option<i32>,
    /// Last failure message.
    pub error_message: Option<String>,
    /// Last failure details.
    pub error_details: Option<String>,
    /// Priority (higher first).
    pub priority: i64,
    /// Suspended with its instance.
    pub suspended: bool,
    /// When it was created.
    pub create_time: i64,
    /// The element id.
    pub activity_id: String,
    /// The waiting activity instance.
    pub activity_instance_id: String,
    /// Its execution id.
    pub execution_id: String,
    /// The process instance.
    pub process_instance_id: String,
    /// The definition id.
    pub process_definition_id: String,
    /// The definition key.
    pub process_definition_key: String,
    /// The definition's version tag.
    pub process_definition_version_tag: Option<String>,
    /// The instance's business key.
    pub business_key: Option<String>,
    /// Tenant.
    pub tenant_id: Option<String>,
    /// `camunda:failedJobRetryTimeCycle` of the activity (drives wasm retries).
    pub retry_time_cycle: Option<String>,
    /// `camunda:properties` of the activity.
    pub extension_properties: BTreeMap<String, String>,
    /// sha256 of the wasm component that runs this task in the engine (`None` = remote workers).
    #[serde(default)]
    pub module_sha256: Option<String>,
}

/// The worker id that marks an external task as owned by the in-engine wasm runtime.
pub const WASM_WORKER: &str = "baton:wasm";

impl ExternalTask {
    /// Whether a remote worker's fetch-and-lock may take this task at `now`: not owned by
    /// the wasm runtime, retries left, not suspended, and not locked (or its lock expired).
    pub fn is_fetchable(&self, now: i64) -> bool {
        !self.is_wasm_owned()
            && self.retries != Some(0)
            && !self.suspended
            && self.lock_expiration_time.is_none_or(|exp| exp <= now)
    }

    /// Whether the in-engine wasm runtime runs this task (not remote workers).
    pub fn is_wasm_owned(&self) -> bool {
        self.worker_id.as_deref() == Some(WASM_WORKER) || self.module_sha256.is_some()
    }
}

/// A user task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserTask {
    /// Task id.
    pub id: String,
    /// Name.
    pub name: Option<String>,
    /// Documentation.
    pub description: Option<String>,
    /// Assignee.
    pub assignee: Option<String>,
    /// Owner.
    pub owner: Option<String>,
    /// Candidate users.
    pub candidate_users: Vec<String>,
    /// Candidate groups.
    pub candidate_groups: Vec<String>,
    /// Created.
    pub created: i64,
    /// Last change.
    pub last_updated: Option<i64>,
    /// Due date.
    pub due: Option<i64>,
    /// Follow-up date.
    pub follow_up: Option<i64>,
    /// Priority (default 50).
    pub priority: i32,
    /// Form key.
    pub form_key: Option<String>,
    /// Element id (`taskDefinitionKey`).
    pub task_definition_key: String,
    /// Its activity instance.
    pub activity_instance_id: String,
    /// Its execution.
    pub execution_id: String,
    /// The process instance.
    pub process_instance_id: String,
    /// The definition id.
    pub process_definition_id: String,
    /// The definition key.
    pub process_definition_key: String,
    /// The instance's business key.
    pub business_key: Option<String>,
    /// Suspended with its instance.
    pub suspended: bool,
    /// Tenant.
    pub tenant_id: Option<String>,
    /// Camunda's `delegationState`: `PENDING` once delegated, `RESOLVED` once resolved.
    #[serde(default)]
    pub delegation_state: Option<String>,
}

/// Where an incident came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum IncidentType {
    /// An external task (remote or wasm) ran out of retries (`failedExternalTask`).
    FailedExternalTask,
    /// A job (async continuation, timer) failed (`failedJob`).
    FailedJob,
    /// A BPMN error nobody catches (baton: `unhandledBpmnError`).
    UnhandledBpmnError,
    /// Any other type, created through `POST /execution/{id}/create-incident` (Camunda's
    /// custom incidents).
    Custom(String),
}

impl IncidentType {
    /// Camunda's `incidentType` string.
    pub fn as_str(&self) -> &str {
        match self {
            IncidentType::FailedExternalTask => "failedExternalTask",
            IncidentType::FailedJob => "failedJob",
            IncidentType::UnhandledBpmnError => "unhandledBpmnError",
            IncidentType::Custom(name) => name,
        }
    }

    /// The type named by Camunda's `incidentType` string.
    pub fn from_name(name: &str) -> IncidentType {
        match name {
            "failedExternalTask" => IncidentType::FailedExternalTask,
            "failedJob" => IncidentType::FailedJob,
            "unhandledBpmnError" => IncidentType::UnhandledBpmnError,
            other => IncidentType::Custom(other.to_owned()),
        }
    }
}

/// An open (or, in history, resolved) incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Incident id.
    pub id: String,
    /// Type.
    pub incident_type: IncidentType,
    /// Message (the last error message).
    pub message: Option<String>,
    /// When it was raised.
    pub timestamp: i64,
    /// The element it is on.
    pub activity_id: String,
    /// The activity instance it is on.
    pub activity_instance_id: String,
    /// The execution.
    pub execution_id: String,
    /// The process instance.
    pub process_instance_id: String,
    /// The definition id.
    pub process_definition_id: String,
    /// The external task id or job id it concerns.
    pub configuration: Option<String>,
    /// A user's note.
    pub annotation: Option<String>,
    /// Tenant.
    pub tenant_id: Option<String>,
    /// When it was resolved (history only).
    pub end_time: Option<i64>,
}

/// What a timer or job does when it comes due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum JobKind {
    /// A timer owned by an instance (`Command::TimerFired`).
    Timer {
        /// The engine's timer id.
        timer_id: String,
    },
    /// An async continuation (`Command::RunJob`).
    AsyncContinuation {
        /// The engine's job id.
        job_id: String,
    },
    /// A timer start event of a definition: starts a new instance.
    TimerStart {
        /// The definition.
        definition_id: String,
        /// The start event id.
        activity_id: String,
        /// Firings so far (cycles).
        fired: u32,
    },
    /// Retry an in-engine (wasm) external task after its back-off.
    WasmRetry {
        /// The external task id.
        task_id: String,
    },
}

/// Job definition id suffix of timer jobs (one timer per activity).
pub const JOB_DEFINITION_TIMER: &str = "timer";

/// Job definition id suffix of an async continuation.
pub fn job_definition_async_suffix(kind: baton_bpmn::engine::JobKind) -> &'static str {
    match kind {
        baton_bpmn::engine::JobKind::AsyncBefore => "async-before",
        baton_bpmn::engine::JobKind::AsyncAfter => "async-after",
    }
}

/// The id of the job definition of `activity_id`'s jobs of one kind in a process definition:
/// `definitionId:activityId:suffix`. Derived, not stored separately, so every job of an
/// older release maps to the same definition; activity ids are XML NCNames (no `:`), so the
/// id splits back.
pub fn job_definition_id(definition_id: &str, activity_id: &str, suffix: &str) -> String {
    format!("{definition_id}:{activity_id}:{suffix}")
}

/// A scheduled job: timers, async continuations, timer starts, wasm retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Job id (the engine's timer/job id where there is one).
    pub id: String,
    /// What it does.
    pub kind: JobKind,
    /// The process instance, when it belongs to one.
    pub process_instance_id: Option<String>,
    /// The element it belongs to.
    pub activity_id: String,
    /// The activity instance it belongs to.
    pub activity_instance_id: Option<String>,
    /// When it is due.
    pub due: i64,
    /// Retries left for failing jobs (`failedJobRetryTimeCycle`, default 3).
    pub retries: i32,
    /// Last failure message.
    pub exception_message: Option<String>,
    /// `camunda:failedJobRetryTimeCycle`.
    pub retry_time_cycle: Option<String>,
    /// The job definition it belongs to (see `engine::management`); `None` in records of
    /// older releases, derived from the model then.
    #[serde(default)]
    pub job_definition_id: Option<String>,
    /// The process definition (instance jobs: the instance's; timer starts: their own).
    #[serde(default)]
    pub process_definition_id: Option<String>,
    /// Tenant of the instance or definition.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// When it was created (0 in records of older releases).
    #[serde(default)]
    pub create_time: i64,
    /// A suspended job has no due entry: the scheduler does not run it.
    #[serde(default)]
    pub suspended: bool,
    /// Camunda's job priority (baton runs due jobs in due order; kept and shown).
    #[serde(default)]
    pub priority: i64,
}

/// A message or signal subscription of a waiting activity instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventSubscription {
    /// Subscription id.
    pub id: String,
    /// `message` or `signal`.
    pub event_type: EventType,
    /// Message or signal name.
    pub event_name: String,
    /// The process instance.
    pub process_instance_id: String,
    /// The owning activity instance.
    pub activity_instance_id: String,
    /// The catching element.
    pub activity_id: String,
    /// Created.
    pub created: i64,
}

/// Kinds of event subscriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    /// A message.
    Message,
    /// A signal.
    Signal,
}

/// History of a process instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoricProcessInstance {
    /// Instance id.
    pub id: String,
    /// Business key.
    pub business_key: Option<String>,
    /// Definition id.
    pub process_definition_id: String,
    /// Definition key.
    pub process_definition_key: String,
    /// Definition name.
    pub process_definition_name: Option<String>,
    /// Definition version.
    pub process_definition_version: i32,
    /// Started.
    pub start_time: i64,
    /// Ended.
    pub end_time: Option<i64>,
    /// Who started it.
    pub start_user_id: Option<String>,
    /// The start event.
    pub start_activity_id: Option<String>,
    /// Why it was deleted.
    pub delete_reason: Option<String>,
    /// Calling instance.
    pub super_process_instance_id: Option<String>,
    /// Root of the call hierarchy.
    pub root_process_instance_id: String,
    /// Tenant.
    pub tenant_id: Option<String>,
    /// `ACTIVE SUSPENDED COMPLETED EXTERNALLY_TERMINATED INTERNALLY_TERMINATED`.
    pub state: String,
    /// A removal time set by `POST /history/process-instance/set-removal-time` (absolute or
    /// cleared); `None`: calculated (end time plus the definition's time to live).
    #[serde(default)]
    pub removal_time: Option<RemovalTimeOverride>,
}

#[cfg(test)]
impl HistoricProcessInstance {
    /// A running instance of definition `order:1:x` started at time 1 (store and codec tests).
    pub(crate) fn example(id: &str) -> HistoricProcessInstance {
        HistoricProcessInstance {
            id: id.into(),
            business_key: None,
            process_definition_id: "order:1:x".into(),
            process_definition_key: "order".into(),
            process_definition_name: None,
            process_definition_version: 1,
            start_time: 1,
            end_time: None,
            start_user_id: None,
            start_activity_id: Some("start".into()),
            delete_reason: None,
            super_process_instance_id: None,
            root_process_instance_id: id.into(),
            tenant_id: None,
            state: "ACTIVE".into(),
            removal_time: None,
        }
    }
}

/// A removal time set by hand (Camunda's absolute and cleared removal-time modes) instead of
/// the one calculated from the end time and a time to live. Historic process instances and
/// historic batches carry it; the calculated mode is the absence of an override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RemovalTimeOverride {
    /// Removed at this time (ms since epoch).
    Absolute(i64),
    /// Never removed by the cleanup.
    Cleared,
}

impl RemovalTimeOverride {
    /// The removal time this override gives, or `calculated` when there is none.
    pub fn apply(
        this: Option<RemovalTimeOverride>,
        calculated: impl FnOnce() -> Option<i64>,
    ) -> Option<i64> {
        match this {
            Some(RemovalTimeOverride::Absolute(t)) => Some(t),
            Some(RemovalTimeOverride::Cleared) => None,
            None => calculated(),
        }
    }
}

/// History of an activity instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoricActivityInstance {
    /// Activity instance id.
    pub id: String,
    /// Parent activity instance id.
    pub parent_activity_instance_id: String,
    /// Element id.
    pub activity_id: String,
    /// Element name.
    pub activity_name: Option<String>,
    /// Camunda activity type.
    pub activity_type: String,
    /// Definition key.
    pub process_definition_key: String,
    /// Definition id.
    pub process_definition_id: String,
    /// Instance id.
    pub process_instance_id: String,
    /// Execution id.
    pub execution_id: String,
    /// Task id (user/external task).
    pub task_id: Option<String>,
    /// Assignee (user task).
    pub assignee: Option<String>,
    /// Child instance (call activity).
    pub called_process_instance_id: Option<String>,
    /// Started.
    pub start_time: i64,
    /// Ended.
    pub end_time: Option<i64>,
    /// Canceled rather than completed.
    pub canceled: bool,
    /// An end event that completed its scope.
    pub complete_scope: bool,
    /// Tenant.
    pub tenant_id: Option<String>,
    /// Order of starts within the instance (Camunda's `occurrence` sort).
    pub sequence: u64,
}

/// History of a variable: its latest value per scope and name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoricVariableInstance {
    /// Variable instance id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Last value.
    pub value: baton_bpmn::Value,
    /// Instance id.
    pub process_instance_id: String,
    /// Definition id.
    pub process_definition_id: String,
    /// Definition key.
    pub process_definition_key: String,
    /// The scope's activity instance id.
    pub activity_instance_id: String,
    /// Created.
    pub create_time: i64,
    /// Last update.
    pub last_updated: i64,
    /// `CREATED` or `DELETED`.
    pub state: String,
    /// Tenant.
    pub tenant_id: Option<String>,
    /// Updates so far (0 when created; Camunda's revision).
    #[serde(default)]
    pub revision: i32,
}

/// A user operation (who did what), Camunda's user operation log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserOperation {
    /// Entry id.
    pub id: String,
    /// The authenticated user, when auth is on.
    pub user_id: Option<String>,
    /// When.
    pub timestamp: i64,
    /// `Create`, `Delete`, `Claim`, `Complete`, `SetRetries`, `Suspend`, ...
    pub operation_type: String,
    /// `ProcessInstance`, `Task`, `ExternalTask`, `Deployment`, ...
    pub entity_type: String,
    /// The entity's id.
    pub entity_id: String,
    /// Instance concerned, when any.
    pub process_instance_id: Option<String>,
    /// Free text (property changed, new value).
    pub details: Option<String>,
    /// A user's note (`set-annotation`).
    #[serde(default)]
    pub annotation: Option<String>,
}

/// A user of the engine (basic auth, tasklist).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// User id.
    pub id: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Password hash: an Argon2id PHC string (`$argon2id$...`), or the salted SHA-256 form
    /// (`sha256:<salt>:<hex>`) older versions wrote, upgraded at the next login; never served.
    pub password_hash: Option<String>,
    /// Group ids.
    pub groups: Vec<String>,
}

/// A group of users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Group id.
    pub id: String,
    /// Name.
    pub name: Option<String>,
    /// Type (free text, Camunda's `type`).
    pub group_type: Option<String>,
}

/// A wasm task component bound to a topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskModule {
    /// The topic it serves.
    pub topic: String,
    /// sha256 of the component bytes (hex); the bytes are stored content-addressed.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// The deployment it came with, when uploaded in a deployment.
    pub deployment_id: Option<String>,
    /// When it was bound.
    pub created: i64,
    /// Limit overrides (None = runtime defaults).
    pub limits: ModuleLimits,
    /// The world check's summary from when the component was bound (`None` in records
    /// written before it was kept).
    #[serde(default)]
    pub world_check: Option<String>,
}

/// Per-module limit overrides, and the module's outbound-HTTP grant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModuleLimits {
    /// Fuel units per execution.
    pub fuel: Option<u64>,
    /// Wall-time limit in ms.
    pub timeout_ms: Option<u64>,
    /// Linear memory limit in bytes.
    pub memory_bytes: Option<u64>,
    /// Largest number of elements of any one table.
    pub table_elements: Option<u64>,
    /// Largest number of core instances the component may create (interpreters such as
    /// componentize-py's CPython need ~50).
    pub instances: Option<u64>,
    /// Hosts the module may call over `wasi:http` (`host`, `host:port`, `host:*`,
    /// `*.domain`); empty denies all. Checked with [`crate::wasm::AllowedHost::parse`] before
    /// it is stored. Records written before this field existed read as empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
}
