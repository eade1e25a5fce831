//! Batches (Camunda's `/batch`): an operation over many targets (process instances, jobs,
//! external tasks) that runs in the background in batch jobs of `invocationsPerBatchJob`
//! invocations, `batchJobsPerSeed` jobs per pass, without blocking other traffic: one
//! invocation at a time, each its own command under the target's lock, the runner yielding
//! between them.
//!
//! Durability: the batch (progress), its work (operation and targets) and its history are
//! records; after a restart the runner resumes at the recorded cursor. A modification,
//! migration, deletion, variable update or message correlation commits the batch's progress
//! in the same write set as the instance change, so each runs exactly once; a restart names
//! its new instance by the batch and the old instance, so running it again starts nothing
//! new; the other operations (suspension, retries) are idempotent and record progress right
//! after.
//!
//! Differences from Camunda, kept deliberately: no seed/monitor/batch job rows (the runner
//! is the seed and monitor; `jobsCreated` counts started batch jobs), and a failed invocation
//! does not roll back its batch job's other invocations: the job counts as failed
//! (`failedJobs`), the batch stays until it is deleted.

use tokio::sync::Notify;

use super::{ProcessEngine, ProcessEngineError, Result, executor::AfterCommit};
use crate::store::batches::{Batch, BatchOperation, BatchWork, HistoricBatch, RemovalTimeOverride};
use crate::store::{BatchStore, WriteSet};
use baton_bpmn::engine::Command;

/// Camunda's default `invocationsPerBatchJob`.
pub const INVOCATIONS_PER_BATCH_JOB: u64 = 1;
/// Camunda's default `batchJobsPerSeed`.
pub const BATCH_JOBS_PER_SEED: u64 = 100;
/// More targets than this in one batch are refused (the work record holds them all).
pub const MAX_BATCH_TARGETS: usize = 1_000_000;

/// The batch runner's shared state.
#[derive(Default)]
pub(crate) struct Runtime {
    /// Serializes progress updates with REST changes (suspend, delete) of batches.
    lock: tokio::sync::Mutex<()>,
    /// Woken when a batch was created or activated.
    wake: Notify,
}

/// Held while batches' progress is read and written: this node's mutex, and on a store
/// other nodes share the lock every node takes, so a batch's invocation runs once however
/// many nodes run batches.
pub(crate) struct BatchLock<'a> {
    _local: tokio::sync::MutexGuard<'a, ()>,
    _across_nodes: Option<crate::store::ClusterLock>,
}

impl ProcessEngine {
    async fn lock_batches(&self) -> Result<BatchLock<'_>> {
        let local = self.inner.batches.lock.lock().await;
        let across_nodes = self.inner.store.lock_duty_across_nodes("batches").await?;
        Ok(BatchLock {
            _local: local,
            _across_nodes: across_nodes,
        })
    }
}

/// Camunda's batch type name of an operation.
pub fn batch_type(operation: &BatchOperation) -> &'static str {
    match operation {
        BatchOperation::Modification(_) => "instance-modification",
        BatchOperation::DeleteInstances { .. } => "instance-deletion",
        BatchOperation::SuspendInstances { .. } => "instance-update-suspension-state",
        BatchOperation::SetJobRetries { .. } => "set-job-retries",
        BatchOperation::SetExternalTaskRetries { .. } => "set-external-task-retries",
        BatchOperation::DeleteHistoricInstances { .. } => "historic-process-instance-deletion",
        BatchOperation::SetInstanceRemovalTime { .. } => "process-set-removal-time",
        BatchOperation::SetBatchRemovalTime { .. } => "batch-set-removal-time",
        BatchOperation::DeleteHistoricDecisionInstances => "historic-decision-instance-deletion",
        BatchOperation::SetDecisionRemovalTime { .. } => "decision-set-removal-time",
        BatchOperation::Migration(_) => "instance-migration",
        BatchOperation::Restart(_) => "instance-restart",
        BatchOperation::CorrelateMessage { .. } => "correlate-message",
        BatchOperation::SetVariables { .. } => "set-variables",
    }
}

/// A batch that has just run one more invocation (`failure`: it failed).
fn advanced(batch: &Batch, failure: Option<String>, now: i64) -> Batch {
    let mut b = batch.clone();
    b.cursor += 1;
    b.execution_start_time.get_or_insert(now);
    if let Some(f) = failure {
        b.current_job_failed = true;
        b.last_failure = Some(f);
    }
    let per_job = b.invocations_per_batch_job.max(1);
    if b.cursor.is_multiple_of(per_job) || b.cursor >= b.total_invocations {
        if b.current_job_failed {
            b.failed_jobs += 1;
        } else {
            b.completed_jobs += 1;
        }
        b.current_job_failed = false;
    }
    b
}

impl ProcessEngine {
    /// Create a batch over `targets` (it starts running in the background at once).
    pub async fn create_batch(
        &self,
        operation: BatchOperation,
        targets: Vec<String>,
        invocations_per_batch_job: Option<u64>,
    ) -> Result<Batch> {
        if targets.len() > MAX_BATCH_TARGETS {
            return Err(ProcessEngineError::BadUserRequest(format!(
                "A batch holds at most {MAX_BATCH_TARGETS} targets"
            )));
        }
        let batch = Batch {
            id: super::core::new_id(),
            batch_type: batch_type(&operation).to_owned(),
            total_invocations: targets.len() as u64,
            invocations_per_batch_job: invocations_per_batch_job
                .unwrap_or(INVOCATIONS_PER_BATCH_JOB)
                .max(1),
            batch_jobs_per_seed: BATCH_JOBS_PER_SEED,
            cursor: 0,
            completed_jobs: 0,
            failed_jobs: 0,
            current_job_failed: false,
            last_failure: None,
            suspended: false,
            start_time: self.now(),
            execution_start_time: None,
            create_user_id: None,
        };
        let store = &self.inner.store;
        let mut ws = WriteSet::new();
        store.stage_historic_batch(
            &mut ws,
            &HistoricBatch {
                batch: batch.clone(),
                end_time: None,
                removal_time: None,
            },
        );
        if targets.is_empty() {
            // Nothing to do: the batch is over as soon as it exists.
            store.stage_historic_batch(
                &mut ws,
                &HistoricBatch {
                    batch: batch.clone(),
                    end_time: Some(batch.start_time),
                    removal_time: None,
                },
            );
        } else {
            store.stage_batch(&mut ws, &batch);
            store.stage_batch_work(&mut ws, &batch.id, &BatchWork { operation, targets });
        }
        self.user_operation(&mut ws, "Create", "Batch", &batch.id, None, None);
        store.commit_durable(&ws).await?;
        self.inner.batches.wake.notify_one();
        Ok(batch)
    }

    /// Every running batch, in creation order.
    pub fn batches(&self) -> Result<Vec<Batch>> {
        Ok(self.inner.store.batches()?)
    }

    /// One running batch (`NotFound` when unknown or finished).
    pub fn batch(&self, id: &str) -> Result<Batch> {
        self.inner.store.batch(id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!("Batch with id '{id}' does not exist"))
        })
    }

    /// Every historic batch, in creation order.
    pub fn historic_batches(&self) -> Result<Vec<HistoricBatch>> {
        Ok(self.inner.store.historic_batches()?)
    }

    /// One historic batch.
    pub fn historic_batch(&self, id: &str) -> Result<HistoricBatch> {
        self.inner.store.historic_batch(id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!("Historic batch with id '{id}' does not exist"))
        })
    }

    /// Delete a historic batch (`BadUserRequest` when unknown).
    pub async fn delete_historic_batch(&self, id: &str) -> Result<()> {
        if self.inner.store.historic_batch(id)?.is_none() {
            return Err(ProcessEngineError::BadUserRequest(format!(
                "Historic batch for id '{id}' cannot be found: historic batch is null"
            )));
        }
        let mut ws = WriteSet::new();
        self.inner.store.stage_historic_batch_removal(&mut ws, id);
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Delete a running batch: its remaining work is dropped; its history ends now (or goes
    /// with `cascade`).
    pub async fn delete_batch(&self, id: &str, cascade: bool) -> Result<()> {
        let _guard = self.lock_batches().await?;
        let batch = self.inner.store.batch(id)?.ok_or_else(|| {
            ProcessEngineError::BadUserRequest(format!(
                "Batch for id '{id}' cannot be found: batch is null"
            ))
        })?;
        let mut ws = WriteSet::new();
        self.inner.store.stage_batch_removal(&mut ws, id);
        if cascade {
            self.inner.store.stage_historic_batch_removal(&mut ws, id);
        } else {
            let removal_time = self.kept_removal_time(id);
            self.inner.store.stage_historic_batch(
                &mut ws,
                &HistoricBatch {
                    batch,
                    end_time: Some(self.now()),
                    removal_time,
                },
            );
        }
        self.user_operation(&mut ws, "Delete", "Batch", id, None, None);
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Suspend or activate a running batch (a suspended batch runs no invocation).
    pub async fn set_batch_suspended(&self, id: &str, suspended: bool) -> Result<()> {
        let _guard = self.lock_batches().await?;
        let mut batch = self.inner.store.batch(id)?.ok_or_else(|| {
            ProcessEngineError::BadUserRequest(format!(
                "Batch for id '{id}' cannot be found: batch is null"
            ))
        })?;
        if batch.suspended == suspended {
            return Ok(());
        }
        batch.suspended = suspended;
        let mut ws = WriteSet::new();
        self.inner.store.stage_batch(&mut ws, &batch);
        let op = if suspended {
            "SuspendBatch"
        } else {
            "ActivateBatch"
        };
        self.user_operation(&mut ws, op, "Batch", id, None, None);
        self.inner.store.commit_durable(&ws).await?;
        drop(_guard);
        if !suspended {
            self.inner.batches.wake.notify_one();
        }
        Ok(())
    }

    /// Run every active batch to its end (or until it is suspended); the number of
    /// invocations run. The background runner does the same; tests and `baton run` call it.
    pub async fn run_batch_jobs(&self) -> Result<u64> {
        let mut total = 0;
        loop {
            let mut ran = 0;
            for b in self.batches()? {
                if !b.suspended && b.cursor < b.total_invocations {
                    ran += self.run_seed(&b.id).await?;
                }
            }
            if ran == 0 {
                return Ok(total);
            }
            total += ran;
        }
    }

    /// Start the background runner (with the scheduler).
    pub(crate) fn start_batch_runner(&self) {
        let me = self.clone();
        let handle = tokio::spawn(async move { me.batch_loop().await });
        if let Ok(mut bg) = self.inner.background.lock() {
            bg.push(handle);
        }
    }

    async fn batch_loop(self) {
        loop {
            if self
                .inner
                .shutting_down
                .load(std::sync::atomic::Ordering::SeqCst)
            {
                return;
            }
            let woken = self.inner.batches.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if let Err(e) = self.run_batch_jobs().await {
                tracing::error!("batch runner pass failed: {e}");
            }
            tokio::select! {
                _ = &mut woken => {}
                _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
            }
        }
    }

    /// One seed pass over a batch: up to `batch_jobs_per_seed` batch jobs, one invocation at
    /// a time; the number of invocations run.
    async fn run_seed(&self, id: &str) -> Result<u64> {
        let store = &self.inner.store;
        let Some(work) = store.batch_work(id)? else {
            return Ok(0);
        };
        let Some(first) = store.batch(id)? else {
            return Ok(0);
        };
        let budget = first.batch_jobs_per_seed.max(1) * first.invocations_per_batch_job.max(1);
        let mut ran = 0;
        while ran < budget {
            let guard = self.lock_batches().await?;
            let Some(batch) = store.batch(id)? else { break };
            if batch.suspended || batch.cursor >= batch.total_invocations {
                break;
            }
            let Some(target) = usize::try_from(batch.cursor)
                .ok()
                .and_then(|i| work.targets.get(i))
            else {
                break;
            };
            let now = self.now();
            let mut ws = WriteSet::new();
            self.stage_progress(&mut ws, &advanced(&batch, None, now));
            match self.invoke(id, &work.operation, target, ws).await {
                Ok(None) => {}
                Ok(Some(rest)) => store.commit_durable(&rest).await?,
                Err(e) => {
                    tracing::warn!(batch = id, target = %target, "batch invocation failed: {e}");
                    let mut ws = WriteSet::new();
                    self.stage_progress(&mut ws, &advanced(&batch, Some(e.to_string()), now));
                    store.commit_durable(&ws).await?;
                }
            }
            drop(guard);
            ran += 1;
            // Let fetches and completions in between: a batch never holds the runtime.
            tokio::task::yield_now().await;
        }
        Ok(ran)
    }

    /// Stage a batch's new progress: the record, or its end (history) when every job is done.
    fn stage_progress(&self, ws: &mut WriteSet, batch: &Batch) {
        let store = &self.inner.store;
        if batch.completed_jobs >= batch.total_jobs() {
            store.stage_batch_removal(ws, &batch.id);
            store.stage_historic_batch(
                ws,
                &HistoricBatch {
                    batch: batch.clone(),
                    end_time: Some(self.now()),
                    removal_time: self.kept_removal_time(&batch.id),
                },
            );
        } else {
            store.stage_batch(ws, batch);
        }
    }

    /// Set (or clear, or with `None` recalculate) the removal time of one historic batch (a
    /// `batch-set-removal-time` invocation; its runner holds the batch lock, which orders
    /// this with the batches' ends and the cleanup).
    pub(crate) async fn set_batch_removal_time(
        &self,
        id: &str,
        removal_time: Option<RemovalTimeOverride>,
    ) -> Result<()> {
        let store = &self.inner.store;
        let mut h = store.historic_batch(id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!("Historic batch with id '{id}' does not exist"))
        })?;
        if h.removal_time == removal_time {
            return Ok(());
        }
        h.removal_time = removal_time;
        let mut ws = WriteSet::new();
        store.stage_historic_batch(&mut ws, &h);
        store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Remove the finished historic batches whose removal time is at or before `now`, at
    /// most `chunk` per write set (the history cleanup); how many went.
    pub(crate) async fn remove_expired_historic_batches(
        &self,
        now: i64,
        chunk: usize,
    ) -> Result<usize> {
        let mut removed = 0;
        loop {
            let guard = self.lock_batches().await?;
            // The running batches' history has no end time: only ended ones qualify.
            let expired: Vec<String> = self
                .inner
                .store
                .historic_batches()?
                .into_iter()
                .filter(|h| h.end_time.is_some())
                .filter(|h| self.batch_removal_time_of(h).is_some_and(|t| t <= now))
                .map(|h| h.batch.id)
                .take(chunk.max(1))
                .collect();
            if expired.is_empty() {
                return Ok(removed);
            }
            let mut ws = WriteSet::new();
            for id in &expired {
                self.inner.store.stage_historic_batch_removal(&mut ws, id);
            }
            self.inner.store.commit_durable(&ws).await?;
            drop(guard);
            removed += expired.len();
            tokio::task::yield_now().await;
        }
    }

    /// The removal time override a batch's history already has (set while it ran), kept
    /// when its history is rewritten at its end. Callers hold the batch lock, as the
    /// `batch-set-removal-time` invocations do, so no override is lost in between.
    fn kept_removal_time(&self, id: &str) -> Option<RemovalTimeOverride> {
        match self.inner.store.historic_batch(id) {
            Ok(h) => h.and_then(|h| h.removal_time),
            Err(e) => {
                tracing::warn!(batch = id, "reading a historic batch failed: {e}");
                None
            }
        }
    }

    /// Perform one invocation. Operations that commit `progress` with their own change
    /// return `None`; the others hand it back to be committed after them.
    async fn invoke(
        &self,
        batch_id: &str,
        operation: &BatchOperation,
        target: &str,
        progress: WriteSet,
    ) -> Result<Option<WriteSet>> {
        match operation {
            BatchOperation::Modification(request) => {
                self.modify_instance_with(target, request.clone(), progress)
                    .await?;
                Ok(None)
            }
            BatchOperation::DeleteInstances { reason } => {
                let command = Command::Cancel {
                    reason: reason.clone(),
                };
                match self
                    .run_command(target, command, progress.clone(), AfterCommit::default())
                    .await
                {
                    Ok(_) => Ok(None),
                    // Already gone: deleting it again is done.
                    Err(ProcessEngineError::NotFound(_)) => Ok(Some(progress)),
                    Err(e) => Err(e),
                }
            }
            BatchOperation::SuspendInstances { suspended } => {
                self.set_instance_suspended(target, *suspended).await?;
                Ok(Some(progress))
            }
            BatchOperation::SetJobRetries { retries, due } => {
                self.set_job_retries(target, *retries, *due).await?;
                Ok(Some(progress))
            }
            BatchOperation::SetExternalTaskRetries { retries } => {
                self.set_external_task_retries(target, *retries).await?;
                Ok(Some(progress))
            }
            BatchOperation::DeleteHistoricInstances {
                fail_if_not_exists, ..
            } => {
                self.delete_history_with(target, *fail_if_not_exists, progress)
                    .await
            }
            BatchOperation::SetInstanceRemovalTime {
                removal_time,
                hierarchical,
            } => {
                self.set_instance_removal_time(target, *removal_time, *hierarchical)
                    .await?;
                Ok(Some(progress))
            }
            BatchOperation::SetBatchRemovalTime { removal_time } => {
                self.set_batch_removal_time(target, *removal_time).await?;
                Ok(Some(progress))
            }
            BatchOperation::DeleteHistoricDecisionInstances => {
                self.delete_historic_decision_with(target, progress).await
            }
            BatchOperation::SetDecisionRemovalTime {
                removal_time,
                hierarchical,
            } => {
                self.set_decision_removal_time(target, *removal_time, *hierarchical)
                    .await?;
                Ok(Some(progress))
            }
            BatchOperation::Migration(plan) => {
                self.migrate_instance(plan, target, progress)
                    .await
                    .map_err(super::migration::into_engine_error)?;
                Ok(None)
            }
            BatchOperation::Restart(work) => {
                self.restart_invocation(batch_id, work, target).await?;
                Ok(Some(progress))
            }
            BatchOperation::CorrelateMessage {
                message_name,
                variables,
            } => {
                self.correlate_to_instance(target, message_name, variables, progress)
                    .await
            }
            BatchOperation::SetVariables { variables } => {
                self.run_command(
                    target,
                    Command::SetVariables {
                        activity_instance_id: None,
                        variables: variables.clone(),
                        local: false,
                        deletions: Vec::new(),
                    },
                    progress,
                    AfterCommit::default(),
                )
                .await?;
                Ok(None)
            }
        }
    }
}
