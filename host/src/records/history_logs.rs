//! History log records: one small record per event, written in the write set of the step
//! that caused it (Camunda's `ACT_HI_EXT_TASK_LOG`, `ACT_HI_JOB_LOG`, `ACT_HI_DETAIL` and
//! `ACT_HI_IDENTITYLINK`).

use serde::{Deserialize, Serialize};

/// What happened to the external task or job a log entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogState {
    /// Created (`creationLog`).
    Created,
    /// A failure was reported / the job failed (`failureLog`).
    Failed,
    /// Completed / ran successfully (`successLog`).
    Successful,
    /// Removed without completing (`deletionLog`): cancelled with its activity or instance.
    Deleted,
}

/// A historic external task log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalTaskLog {
    /// Log entry id (UUID v7: creation order).
    pub id: String,
    /// When (ms since epoch).
    pub timestamp: i64,
    /// The event.
    pub state: LogState,
    /// The external task.
    pub external_task_id: String,
    /// Topic.
    pub topic_name: String,
    /// The worker holding it (failure, success).
    pub worker_id: Option<String>,
    /// Priority.
    pub priority: i64,
    /// Retries left (after a failure).
    pub retries: Option<i32>,
    /// The failure's message.
    pub error_message: Option<String>,
    /// The failure's details (`/error-details`).
    pub error_details: Option<String>,
    /// Element id.
    pub activity_id: String,
    /// Activity instance.
    pub activity_instance_id: String,
    /// Execution.
    pub execution_id: String,
    /// Process instance.
    pub process_instance_id: String,
    /// Definition id.
    pub process_definition_id: String,
    /// Definition key.
    pub process_definition_key: String,
    /// Tenant.
    pub tenant_id: Option<String>,
}

/// A historic job log entry (timers and async continuations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobLog {
    /// Log entry id (UUID v7: creation order).
    pub id: String,
    /// When (ms since epoch).
    pub timestamp: i64,
    /// The event.
    pub state: LogState,
    /// The job.
    pub job_id: String,
    /// Due date (timers).
    pub due: Option<i64>,
    /// Retries (after a failure: what is left).
    pub retries: i32,
    /// Priority.
    pub priority: i64,
    /// The failure's message.
    pub exception_message: Option<String>,
    /// `timer` or `async-continuation`.
    pub job_definition_type: String,
    /// The job definition.
    pub job_definition_id: Option<String>,
    /// Element id.
    pub activity_id: String,
    /// Activity instance (Camunda's execution).
    pub execution_id: Option<String>,
    /// Process instance.
    pub process_instance_id: Option<String>,
    /// Definition id.
    pub process_definition_id: Option<String>,
    /// Tenant.
    pub tenant_id: Option<String>,
}

/// A variable update (Camunda's `HistoricVariableUpdate`, `/history/detail`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoricDetail {
    /// Detail id (UUID v7: creation order).
    pub id: String,
    /// When (ms since epoch).
    pub time: i64,
    /// The historic variable instance updated.
    pub variable_instance_id: String,
    /// Variable name.
    pub variable_name: String,
    /// The value set.
    pub value: baton_bpmn::Value,
    /// The variable's revision after this update (0 when created).
    pub revision: i32,
    /// Set when its process instance started.
    pub initial: bool,
    /// The variable's scope (activity instance).
    pub activity_instance_id: String,
    /// Process instance.
    pub process_instance_id: String,
    /// Definition id.
    pub process_definition_id: String,
    /// Definition key.
    pub process_definition_key: String,
    /// Tenant.
    pub tenant_id: Option<String>,
}

/// A change of a user task's identity links (Camunda's `HistoricIdentityLinkLog`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityLinkLog {
    /// Entry id (UUID v7: creation order).
    pub id: String,
    /// When (ms since epoch).
    pub time: i64,
    /// `assignee`, `owner` or `candidate`.
    pub link_type: String,
    /// The user linked.
    pub user_id: Option<String>,
    /// The group linked.
    pub group_id: Option<String>,
    /// The task.
    pub task_id: String,
    /// Process instance (for removal with its history).
    pub process_instance_id: String,
    /// Definition id.
    pub process_definition_id: String,
    /// Definition key.
    pub process_definition_key: String,
    /// `add` or `delete`.
    pub operation_type: String,
    /// Who made the change (the authenticated user, when known).
    pub assigner_id: Option<String>,
    /// Tenant.
    pub tenant_id: Option<String>,
}

/// One history log entry of any kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum HistoryLog {
    /// `/history/external-task-log`.
    ExternalTask(ExternalTaskLog),
    /// `/history/job-log`.
    Job(JobLog),
    /// `/history/detail`.
    Detail(HistoricDetail),
    /// `/history/identity-link-log`.
    IdentityLink(IdentityLinkLog),
}

/// The kinds, as stored (one key range each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoryLogKind {
    /// External task log.
    ExternalTask,
    /// Job log.
    Job,
    /// Variable updates.
    Detail,
    /// Identity link log.
    IdentityLink,
}

impl HistoryLogKind {
    /// Every kind.
    pub const ALL: [HistoryLogKind; 4] = [
        HistoryLogKind::ExternalTask,
        HistoryLogKind::Job,
        HistoryLogKind::Detail,
        HistoryLogKind::IdentityLink,
    ];

    /// The key component of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryLogKind::ExternalTask => "ext",
            HistoryLogKind::Job => "job",
            HistoryLogKind::Detail => "detail",
            HistoryLogKind::IdentityLink => "link",
        }
    }
}

impl HistoryLog {
    /// Its kind.
    pub fn kind(&self) -> HistoryLogKind {
        match self {
            HistoryLog::ExternalTask(_) => HistoryLogKind::ExternalTask,
            HistoryLog::Job(_) => HistoryLogKind::Job,
            HistoryLog::Detail(_) => HistoryLogKind::Detail,
            HistoryLog::IdentityLink(_) => HistoryLogKind::IdentityLink,
        }
    }

    /// Its id.
    pub fn id(&self) -> &str {
        match self {
            HistoryLog::ExternalTask(l) => &l.id,
            HistoryLog::Job(l) => &l.id,
            HistoryLog::Detail(l) => &l.id,
            HistoryLog::IdentityLink(l) => &l.id,
        }
    }

    /// The process instance it belongs to (removed with that instance's history).
    pub fn process_instance_id(&self) -> Option<&str> {
        match self {
            HistoryLog::ExternalTask(l) => Some(&l.process_instance_id),
            HistoryLog::Job(l) => l.process_instance_id.as_deref(),
            HistoryLog::Detail(l) => Some(&l.process_instance_id),
            HistoryLog::IdentityLink(l) => Some(&l.process_instance_id),
        }
    }
}

impl ExternalTaskLog {
    /// The log entry of `state` for a task as it is now.
    pub fn of(task: &super::ExternalTask, state: LogState, id: String, now: i64) -> Self {
        ExternalTaskLog {
            id,
            timestamp: now,
            state,
            external_task_id: task.id.clone(),
            topic_name: task.topic_name.clone(),
            worker_id: task.worker_id.clone(),
            priority: task.priority,
            retries: task.retries,
            error_message: task.error_message.clone(),
            error_details: task.error_details.clone(),
            activity_id: task.activity_id.clone(),
            activity_instance_id: task.activity_instance_id.clone(),
            execution_id: task.execution_id.clone(),
            process_instance_id: task.process_instance_id.clone(),
            process_definition_id: task.process_definition_id.clone(),
            process_definition_key: task.process_definition_key.clone(),
            tenant_id: task.tenant_id.clone(),
        }
    }
}

impl JobLog {
    /// The log entry of `state` for a job as it is now (`None` for jobs without a log:
    /// timer start events and in-engine retries keep none, as Camunda keeps none for them).
    pub fn of(job: &super::Job, state: LogState, id: String, now: i64) -> Option<Self> {
        let (kind, due) = match &job.kind {
            super::JobKind::Timer { .. } => ("timer", Some(job.due)),
            super::JobKind::AsyncContinuation { .. } => ("async-continuation", None),
            _ => return None,
        };
        Some(JobLog {
            id,
            timestamp: now,
            state,
            job_id: job.id.clone(),
            due,
            retries: job.retries,
            priority: job.priority,
            exception_message: job.exception_message.clone(),
            job_definition_type: kind.to_owned(),
            job_definition_id: job.job_definition_id.clone(),
            activity_id: job.activity_id.clone(),
            execution_id: job.activity_instance_id.clone(),
            process_instance_id: job.process_instance_id.clone(),
            process_definition_id: job.process_definition_id.clone(),
            tenant_id: job.tenant_id.clone(),
        })
    }
}
