//! [`BatchStore`]: batches (Camunda's `/batch`): the running ones with their progress, the
//! work each still has to do, and the history of every batch.
//!
//! A batch is three records: [`Batch`] (small, rewritten as its invocations run, in the same
//! commit as each invocation where the operation allows), [`BatchWork`] (the operation and
//! its targets, written once) and [`HistoricBatch`] (written at creation and at the end).

use serde::{Deserialize, Serialize};

use super::{Result, WriteSet};
pub use crate::records::RemovalTimeOverride;

/// A running batch with its progress (Camunda's `BatchDto` plus statistics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// Batch id.
    pub id: String,
    /// Camunda's batch type (`instance-modification`, `instance-deletion`, ...).
    pub batch_type: String,
    /// How many invocations (targets) the batch has.
    pub total_invocations: u64,
    /// How many invocations one batch job performs (`invocationsPerBatchJob`).
    pub invocations_per_batch_job: u64,
    /// How many batch jobs one seed run creates (`batchJobsPerSeed`).
    pub batch_jobs_per_seed: u64,
    /// Invocations performed so far (the next target's index).
    pub cursor: u64,
    /// Batch jobs whose invocations all succeeded.
    pub completed_jobs: u64,
    /// Batch jobs with a failed invocation.
    pub failed_jobs: u64,
    /// The current batch job has a failed invocation.
    pub current_job_failed: bool,
    /// The last failure, for operators (logged and kept here).
    pub last_failure: Option<String>,
    /// Suspended batches do not run.
    pub suspended: bool,
    /// When it was created (ms since epoch).
    pub start_time: i64,
    /// When its first invocation ran.
    pub execution_start_time: Option<i64>,
    /// The user who created it.
    pub create_user_id: Option<String>,
}

impl Batch {
    /// Camunda's `totalJobs`: batch jobs of `invocations_per_batch_job` invocations.
    pub fn total_jobs(&self) -> u64 {
        self.total_invocations
            .div_ceil(self.invocations_per_batch_job.max(1))
    }

    /// Batch jobs created so far (started, done or failed).
    pub fn jobs_created(&self) -> u64 {
        self.cursor.div_ceil(self.invocations_per_batch_job.max(1))
    }
}

/// What a batch does to each target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BatchOperation {
    /// Modify each process instance.
    Modification(crate::engine::ModificationRequest),
    /// Cancel each process instance.
    DeleteInstances {
        /// The delete reason.
        reason: Option<String>,
    },
    /// Suspend or activate each process instance.
    SuspendInstances {
        /// Suspend (true) or activate.
        suspended: bool,
    },
    /// Set the retries of each job.
    SetJobRetries {
        /// The new retries.
        retries: i32,
        /// The jobs' new due date (`dueDate`), if given.
        #[serde(default)]
        due: Option<i64>,
    },
    /// Set the retries of each external task.
    SetExternalTaskRetries {
        /// The new retries.
        retries: i32,
    },
    /// Remove the history of each finished process instance (Camunda's
    /// `historic-process-instance-deletion`).
    DeleteHistoricInstances {
        /// Why (kept for the operation log; history deletion records no reason).
        reason: Option<String>,
        /// An instance without history fails its invocation (else it counts as done).
        fail_if_not_exists: bool,
    },
    /// Set the removal time of each historic process instance (`process-set-removal-time`).
    SetInstanceRemovalTime {
        /// The override to store (`None`: calculated again).
        removal_time: Option<RemovalTimeOverride>,
        /// Also every instance of the target's root hierarchy.
        hierarchical: bool,
    },
    /// Set the removal time of each historic batch (`batch-set-removal-time`).
    SetBatchRemovalTime {
        /// The override to store (`None`: calculated again).
        removal_time: Option<RemovalTimeOverride>,
    },
    /// Delete each historic decision instance (`historic-decision-instance-deletion`).
    DeleteHistoricDecisionInstances,
    /// Set the removal time of each historic decision instance (`decision-set-removal-time`).
    SetDecisionRemovalTime {
        /// The override to store (`None`: calculated again).
        removal_time: Option<RemovalTimeOverride>,
        /// Also the decision instances of the same evaluation (root and required ones).
        hierarchical: bool,
    },
    /// Migrate each process instance by the plan.
    Migration(crate::engine::MigrationPlan),
    /// Start each finished process instance again (`restart-async`).
    Restart(crate::engine::RestartBatch),
    /// Correlate a message to each process instance (`message-async`): every execution of
    /// the instance waiting for it receives it, with the variables.
    CorrelateMessage {
        /// The message name.
        message_name: String,
        /// Process variables set by the correlation.
        variables: baton_bpmn::Variables,
    },
    /// Set process variables on each process instance (`variables-async`).
    SetVariables {
        /// The variables.
        variables: baton_bpmn::Variables,
    },
}

/// The operation of a batch and its targets (instance, job or external task ids).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchWork {
    /// What to do.
    pub operation: BatchOperation,
    /// To what, in order.
    pub targets: Vec<String>,
}

/// A batch in history (Camunda's `HistoricBatchDto`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoricBatch {
    /// The batch as it was created (or as it ended).
    pub batch: Batch,
    /// When it ended (completed or deleted).
    pub end_time: Option<i64>,
    /// A removal time set by `POST /history/batch/set-removal-time`; `None`: calculated (end
    /// time plus the batch history time to live).
    #[serde(default)]
    pub removal_time: Option<RemovalTimeOverride>,
}

/// Batches, their work and their history.
pub trait BatchStore {
    /// Every running batch, in id (creation) order.
    fn batches(&self) -> Result<Vec<Batch>>;

    /// One running batch.
    fn batch(&self, id: &str) -> Result<Option<Batch>>;

    /// The work of a running batch.
    fn batch_work(&self, id: &str) -> Result<Option<BatchWork>>;

    /// Stage writing a batch's progress.
    fn stage_batch(&self, ws: &mut WriteSet, batch: &Batch);

    /// Stage writing a batch's work (once, at creation).
    fn stage_batch_work(&self, ws: &mut WriteSet, id: &str, work: &BatchWork);

    /// Stage removing a running batch and its work.
    fn stage_batch_removal(&self, ws: &mut WriteSet, id: &str);

    /// Every historic batch, in id (creation) order.
    fn historic_batches(&self) -> Result<Vec<HistoricBatch>>;

    /// One historic batch.
    fn historic_batch(&self, id: &str) -> Result<Option<HistoricBatch>>;

    /// Stage writing a historic batch.
    fn stage_historic_batch(&self, ws: &mut WriteSet, batch: &HistoricBatch);

    /// Stage removing a historic batch.
    fn stage_historic_batch_removal(&self, ws: &mut WriteSet, id: &str);
}
