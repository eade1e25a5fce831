//! Requests, results and errors of the [`super::ProcessEngine`] service API: what the REST
//! layer, the CLI and tests call. Plain data; no HTTP or storage types leak through here.

use baton_bpmn::{Problem, Variables};

use crate::records::{ExternalTask, ProcessDefinition, ProcessInstance};

/// Why a service call failed. The REST layer maps each variant to Camunda's status and
/// error type; `Internal` carries detail for the log only, never for the client.
#[derive(Debug, thiserror::Error)]
pub enum ProcessEngineError {
    /// Unknown id (`NotFoundException`/`RestException` 404 depending on the resource).
    #[error("{0}")]
    NotFound(String),
    /// Bad input from the caller, caught by request validation (400 `InvalidRequestException`).
    #[error("{0}")]
    BadRequest(String),
    /// An instruction names something the instance or its model does not have (400
    /// `NotValidException`, e.g. a modification's unknown activity instance).
    #[error("{0}")]
    NotValid(String),
    /// Bad input the engine itself refuses, as Camunda's commands do with
    /// `BadUserRequestException` (400), e.g. a lock duration that is not positive.
    #[error("{0}")]
    BadUserRequest(String),
    /// A BPMN resource failed to parse (400 `ParseException` with details per resource).
    #[error("{message}")]
    Parse {
        /// Summary.
        message: String,
        /// Problems per resource name.
        details: Vec<(String, Vec<Problem>)>,
    },
    /// A worker that does not hold the lock tried to act on an external task (400).
    #[error("{0}")]
    WrongWorker(String),
    /// The user task is already claimed by someone else (500 `TaskAlreadyClaimedException`).
    #[error("{0}")]
    AlreadyClaimed(String),
    /// The instance or definition is suspended (500 `SuspendedEntityInteractionException`).
    #[error("{0}")]
    Suspended(String),
    /// Message correlation matched nothing or too much (400 `MismatchingMessageCorrelationException`).
    #[error("{0}")]
    MismatchingCorrelation(String),
    /// The engine refused the operation (500 `ProcessEngineException`), e.g. an expression
    /// failed while continuing the process, or a deployment with instances deleted without cascade.
    #[error("{0}")]
    Engine(String),
    /// A BPMN error found no catching boundary event or event subprocess (500; baton turns it
    /// into an incident where a task threw it).
    #[error("{0}")]
    UnhandledBpmnError(String),
    /// The server is shutting down: parked long polls are answered at once (Camunda's wording).
    #[error("Request rejected due to shutdown of application server.")]
    ShuttingDown,
    /// Too many parked long-poll requests (500, Camunda's wording).
    #[error(
        "At the moment the server has to handle too many requests at the same time. Please try again later."
    )]
    Overloaded,
    /// A wasm component was rejected.
    #[error("{0}")]
    InvalidModule(String),
    /// The database cannot be reached (PostgreSQL down): nothing was changed; try again
    /// later (503).
    #[error("{0}")]
    Unavailable(String),
    /// Storage or another internal failure: logged, shown to clients as a generic 500.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<crate::store::StoreError> for ProcessEngineError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Unavailable(m) => ProcessEngineError::Unavailable(m),
            other => ProcessEngineError::Internal(other.to_string()),
        }
    }
}

/// Result alias for service calls.
pub type Result<T> = std::result::Result<T, ProcessEngineError>;

/// One uploaded file of a deployment.
#[derive(Debug, Clone)]
pub struct Resource {
    /// File name (the multipart part's filename).
    pub name: String,
    /// Content.
    pub bytes: Vec<u8>,
}

/// `POST /deployment/create`.
#[derive(Debug, Clone, Default)]
pub struct DeployRequest {
    /// `deployment-name`.
    pub name: Option<String>,
    /// `deployment-source`.
    pub source: Option<String>,
    /// `tenant-id`.
    pub tenant_id: Option<String>,
    /// `enable-duplicate-filtering`.
    pub enable_duplicate_filtering: bool,
    /// `deploy-changed-only`.
    pub deploy_changed_only: bool,
    /// The files: `.bpmn`/`.bpmn20.xml` processes, `.wasm` task components (file stem = topic,
    /// unless `module_bindings` says otherwise), anything else stored as a plain resource.
    pub resources: Vec<Resource>,
    /// Resource name -> how that `.wasm` resource is bound (topic, limits, allowed hosts).
    pub module_bindings: Vec<(String, ModuleBinding)>,
}

/// How a `.wasm` resource of a deployment is bound (the `task-modules` form field).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModuleBinding {
    /// The topic the component serves; `None` = the resource's file stem.
    pub topic: Option<String>,
    /// Limit overrides and the outbound-HTTP grant.
    pub limits: crate::records::ModuleLimits,
}

/// What a deployment produced.
#[derive(Debug, Clone)]
pub struct DeployResult {
    /// The deployment (the existing one when duplicate filtering found nothing new).
    pub deployment: crate::records::Deployment,
    /// New process definitions; `None` when nothing was deployed (duplicate filtering).
    pub deployed_process_definitions: Option<Vec<ProcessDefinition>>,
    /// Task modules bound by this deployment.
    pub deployed_modules: Vec<crate::records::TaskModule>,
    /// New decision and decision requirements definitions; `None` when nothing was deployed.
    pub deployed_decisions: Option<super::DeployedDecisions>,
}

/// Which definition to start.
#[derive(Debug, Clone)]
pub enum DefinitionRef {
    /// By definition id.
    Id(String),
    /// Latest version of a key (without tenant, or of the tenant given).
    Key {
        /// Process key.
        key: String,
        /// Tenant.
        tenant_id: Option<String>,
    },
}

/// `POST /process-definition/.../start`.
#[derive(Debug, Clone, Default)]
pub struct StartRequest {
    /// Initial variables.
    pub variables: Variables,
    /// Business key.
    pub business_key: Option<String>,
    /// The user starting it (for `camunda:initiator`).
    pub initiator: Option<String>,
    /// Start at this start event instead of the none start event.
    pub start_activity_id: Option<String>,
}

/// The outcome of starting an instance.
#[derive(Debug, Clone)]
pub struct StartResult {
    /// The instance after it ran to its first wait states.
    pub instance: ProcessInstance,
    /// True if it already ended inside the start call.
    pub ended: bool,
}

/// One topic of a fetch-and-lock request.
#[derive(Debug, Clone, Default)]
pub struct TopicRequest {
    /// Topic name.
    pub topic_name: String,
    /// Lock duration in ms (> 0).
    pub lock_duration: i64,
    /// Variables to return: `None` = all visible, `Some([])` = none.
    pub variables: Option<Vec<String>>,
    /// Only the task execution's local variables.
    pub local_variables: bool,
    /// Filter: business key.
    pub business_key: Option<String>,
    /// Filter: definition id.
    pub process_definition_id: Option<String>,
    /// Filter: definition ids.
    pub process_definition_id_in: Option<Vec<String>>,
    /// Filter: definition key.
    pub process_definition_key: Option<String>,
    /// Filter: definition keys.
    pub process_definition_key_in: Option<Vec<String>>,
    /// Filter: definition version tag.
    pub process_definition_version_tag: Option<String>,
    /// Filter: tenants.
    pub tenant_id_in: Option<Vec<String>>,
    /// Filter: without tenant.
    pub without_tenant_id: bool,
    /// Filter: process variables equal to these values.
    pub process_variables: Variables,
    /// Return `extensionProperties`.
    pub include_extension_properties: bool,
}

impl TopicRequest {
    /// Whether the engine may refuse some of the topic's tasks (business key, definition,
    /// tenant or variable filters), so fetch-and-lock must look past the first candidates.
    pub fn is_filtered(&self) -> bool {
        self.business_key.is_some()
            || self.process_definition_id.is_some()
            || self.process_definition_id_in.is_some()
            || self.process_definition_key.is_some()
            || self.process_definition_key_in.is_some()
            || self.process_definition_version_tag.is_some()
            || self.tenant_id_in.is_some()
            || self.without_tenant_id
            || !self.process_variables.is_empty()
    }
}

/// `POST /external-task/fetchAndLock`.
#[derive(Debug, Clone, Default)]
pub struct FetchAndLockRequest {
    /// The worker.
    pub worker_id: String,
    /// At most this many tasks.
    pub max_tasks: usize,
    /// Priority first.
    pub use_priority: bool,
    /// Topics with their lock durations and filters.
    pub topics: Vec<TopicRequest>,
    /// Long polling: wait up to this long for a task to appear.
    pub async_response_timeout: Option<std::time::Duration>,
    /// Order by create time (`Some(true)` ascending, `Some(false)` descending).
    pub sort_by_create_time_asc: Option<bool>,
}

impl FetchAndLockRequest {
    /// Camunda's rules for a fetch-and-lock request that the request's shape cannot express
    /// (every lock duration positive). The engine checks them on every fetch; the REST layer
    /// calls this too, so a bad request is refused before it parks.
    pub fn validate(&self) -> Result<()> {
        if self.topics.iter().any(|t| t.lock_duration <= 0) {
            return Err(ProcessEngineError::Engine(
                "lockTime is not greater than 0".to_owned(),
            ));
        }
        Ok(())
    }
}

/// One locked task as handed to a worker.
#[derive(Debug, Clone)]
pub struct LockedTask {
    /// The task (locked to the worker now).
    pub task: ExternalTask,
    /// The variables requested.
    pub variables: Variables,
    /// `extensionProperties` when requested, else empty.
    pub extension_properties: std::collections::BTreeMap<String, String>,
}

impl LockedTask {
    /// `task`, locked for a fetch of `topic`, with the variables the fetch asked for and its
    /// extension properties if asked for.
    pub(crate) fn of(topic: &TopicRequest, task: ExternalTask, variables: Variables) -> Self {
        let extension_properties = if topic.include_extension_properties {
            task.extension_properties.clone()
        } else {
            Default::default()
        };
        LockedTask {
            task,
            variables,
            extension_properties,
        }
    }
}

/// `POST /external-task/{id}/failure`.
#[derive(Debug, Clone, Default)]
pub struct FailureRequest {
    /// The worker.
    pub worker_id: String,
    /// Message (becomes the incident message at 0 retries).
    pub error_message: Option<String>,
    /// Details.
    pub error_details: Option<String>,
    /// Retries left (0 → incident).
    pub retries: i32,
    /// Back-off in ms before it can be fetched again.
    pub retry_timeout: i64,
    /// Variables to set.
    pub variables: Variables,
    /// Local variables to set.
    pub local_variables: Variables,
}

/// `POST /message`.
#[derive(Debug, Clone, Default)]
pub struct CorrelateRequest {
    /// Message name.
    pub message_name: String,
    /// Business key filter (and the business key of a started instance).
    pub business_key: Option<String>,
    /// Correlation keys: process variables that must equal these.
    pub correlation_keys: Variables,
    /// Local correlation keys.
    pub local_correlation_keys: Variables,
    /// Only this instance.
    pub process_instance_id: Option<String>,
    /// Variables to set on the correlated instance.
    pub process_variables: Variables,
    /// Variables set locally on the receiving execution.
    pub process_variables_local: Variables,
    /// Correlate to all matches.
    pub all: bool,
    /// Tenant filter.
    pub tenant_id: Option<String>,
    /// Only definitions/instances without tenant.
    pub without_tenant_id: bool,
}

/// One correlation outcome.
#[derive(Debug, Clone)]
pub enum CorrelationResult {
    /// A waiting execution received it.
    Execution {
        /// The process instance.
        process_instance_id: String,
        /// The receiving execution.
        execution_id: String,
        /// Whether the instance ended as a result.
        ended: bool,
        /// Process variables afterwards.
        variables: Variables,
    },
    /// A message start event started an instance.
    ProcessDefinition {
        /// The new instance.
        instance: ProcessInstance,
        /// Whether it ended inside the call.
        ended: bool,
    },
}

/// A point-in-time copy of the engine's counters (for `/metrics` and the cockpit).
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsSnapshot {
    /// Instances started since the engine opened.
    pub instances_started: u64,
    /// Instances that reached their end.
    pub instances_completed: u64,
    /// Instances cancelled.
    pub instances_canceled: u64,
    /// Incidents raised.
    pub incidents_raised: u64,
    /// fetchAndLock requests.
    pub fetch_and_lock_requests: u64,
    /// fetchAndLock requests that had to wait (long polling).
    pub fetch_and_lock_waits: u64,
    /// Tasks locked for a parked long poll by the command that created them.
    pub fetch_and_lock_hand_offs: u64,
    /// Long polls waiting right now.
    pub fetch_and_lock_parked: u64,
    /// In-engine (wasm) executions.
    pub wasm_executions: u64,
    /// In-engine executions that failed.
    pub wasm_failures: u64,
    /// Total time spent in in-engine executions, microseconds.
    pub wasm_micros_total: u64,
    /// External tasks created, by topic.
    pub tasks_created_by_topic: std::collections::BTreeMap<String, u64>,
    /// External tasks completed, by topic.
    pub tasks_completed_by_topic: std::collections::BTreeMap<String, u64>,
    /// Recent in-engine execution times by topic, microseconds (last 100).
    pub recent_wasm_micros: std::collections::BTreeMap<String, Vec<u64>>,
    /// Bytes the store uses on disk.
    pub store_bytes: u64,
    /// Running instances.
    pub running_instances: u64,
    /// Open incidents.
    pub open_incidents: u64,
    /// Open user tasks.
    pub open_user_tasks: u64,
    /// Open external tasks.
    pub open_external_tasks: u64,
    /// Failures reported for external tasks.
    pub external_task_failures: u64,
    /// BPMN errors thrown by external and in-engine tasks.
    pub bpmn_errors: u64,
    /// Job runs.
    pub job_executions: u64,
    /// Job runs whose command failed.
    pub job_failures: u64,
    /// Incidents raised, by type.
    pub incidents_by_type: std::collections::BTreeMap<String, u64>,
}

/// A compare-and-set guard failed: the record changed between our read and our commit. The
/// one place this rule lives: callers name what changed (`the task`, `External task 42`).
pub(crate) fn conflict(e: crate::store::StoreError, what: &str) -> ProcessEngineError {
    match e {
        crate::store::StoreError::Conflict => {
            ProcessEngineError::Engine(format!("{what} was changed concurrently; try again"))
        }
        other => other.into(),
    }
}
