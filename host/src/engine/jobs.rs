//! The job and timer scheduler: timers, async continuations, timer start events, wasm retries
//! and lock expiry, driven by the `jobs_due` and `external_task_locks` indexes and the
//! injected clock. On open, [`Inner::recover`] picks up whatever came due or was in flight
//! while the engine was down.

use super::executor::AfterCommit;
use super::executor::StartId;
use super::incidents::open_incident;
use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::{
    ExternalTask, HistoryLog, Incident, IncidentType, Job, JobKind, JobLog, LogState,
};
use crate::store::{
    ExternalTaskStore, HistoryLogStore, InstanceStore, JobStore, OutboxStore, WASM_WORKER, WriteSet,
};
use baton_bpmn::engine::Command;
use baton_bpmn::model::{EventTrigger, NodeKind, TimerDefinition};
use baton_bpmn::timer::RetrySchedule;
use baton_bpmn::{Variables, timer};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// When a timer definition first fires, evaluated without instance variables (timer start
/// events have none).
pub(crate) fn first_due(def: &TimerDefinition, now: i64) -> Option<i64> {
    // The state machine's own rule (baton_bpmn::timer), so a timer start event is due when an
    // intermediate timer with the same definition would be.
    timer::timer_due(def, &Variables::new(), now).ok()
}

fn next_cycle_due(def: &TimerDefinition, previous: i64, fired: u32) -> Option<i64> {
    let empty = Variables::new();
    match def {
        TimerDefinition::Cycle(e) => timer::parse_cycle(&e.eval_string(&empty).ok()??)
            .ok()?
            .next_due(previous, fired),
        _ => None,
    }
}

/// Most jobs run per scheduler pass; the rest run on the next pass right after.
const BATCH: usize = 256;

impl ProcessEngine {
    /// Start an instance for a timer start event (called by the scheduler).
    pub(crate) async fn fire_timer_start(
        &self,
        definition_id: &str,
        activity_id: &str,
    ) -> Result<()> {
        let deployed = self.deployed_sync(definition_id)?;
        if deployed.record.suspended {
            return Ok(());
        }
        self.start_new_instance(
            deployed,
            StartId::Fresh,
            None,
            None,
            Default::default(),
            super::executor::InstanceStart::Event(Some(activity_id.to_owned())),
            None,
        )
        .await
        .map(|_| ())
    }

    /// Retries an in-engine task gets (and failing jobs) from a retry cycle.
    pub(crate) fn retry_schedule(&self, cycle: Option<&str>) -> RetrySchedule {
        cycle
            .and_then(|c| RetrySchedule::parse(c).ok())
            .unwrap_or_else(|| self.inner.default_retry.clone())
    }

    /// The retries a new job or external task starts with (every in-engine task asks).
    pub(crate) fn initial_retries(&self, cycle: Option<&str>) -> i32 {
        let retries = match cycle.and_then(|c| RetrySchedule::parse(c).ok()) {
            Some(schedule) => schedule.retries(),
            None => self.inner.default_retry.retries(),
        };
        retries as i32
    }

    pub(crate) fn start_scheduler(&self) {
        let me = self.clone();
        let handle = tokio::spawn(async move { me.scheduler_loop().await });
        if let Ok(mut bg) = self.inner.background.lock() {
            bg.push(handle);
        }
    }

    async fn scheduler_loop(self) {
        loop {
            if self.inner.shutting_down.load(Ordering::SeqCst) {
                return;
            }
            let woken = self.inner.scheduler_wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let ran = match self.tick().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!("scheduler pass failed: {e}");
                    0
                }
            };
            if ran >= BATCH {
                continue;
            }
            let now = self.now();
            let next = self.next_due().ok().flatten();
            let wait_ms = next.map(|t| (t - now).clamp(0, 1000)).unwrap_or(1000);
            if wait_ms == 0 {
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                _ = &mut woken => {}
                _ = tokio::time::sleep(Duration::from_millis(wait_ms as u64)) => {}
            }
        }
    }

    fn next_due(&self) -> Result<Option<i64>> {
        let job = self.inner.store.next_job_due()?;
        let lock = self.inner.store.next_lock_expiry()?;
        Ok(match (job, lock) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// Run every job and timer due at the clock's current time, and return expired locks to
    /// the queue; returns how many jobs ran. The background scheduler does this on its own;
    /// tests that move a `ManualClock` call it to make time-driven behaviour deterministic.
    ///
    /// Run every job due at the clock's "now" and return expired locks to the queue. Returns
    /// the number of jobs run. Tests call this after moving a `ManualClock`.
    pub async fn tick(&self) -> Result<usize> {
        let now = self.now();
        self.reclaim_expired_locks(now)?;
        let mut ran = 0;
        let mut set = tokio::task::JoinSet::new();
        for job in self.inner.store.due_jobs(now, BATCH)? {
            ran += 1;
            let me = self.clone();
            set.spawn(async move { me.run_job(job).await });
        }
        while let Some(r) = set.join_next().await {
            if let Ok(Err(e)) = r {
                tracing::warn!("job failed: {e}");
            }
        }
        Ok(ran)
    }

    async fn run_job(&self, job: Job) -> Result<()> {
        self.run_job_reporting(job).await.map(|_| ())
    }

    /// Run a job; `Some(message)` when its command failed (the failure is recorded on the
    /// job: retries down, then an incident).
    pub(crate) async fn run_job_reporting(&self, job: Job) -> Result<Option<String>> {
        // Consumed only if nobody changed the job since it was found due: a job runs once.
        let Some((job, read_at)) = self.inner.store.job(&job.id)? else {
            return Ok(None);
        };
        if job.suspended {
            return Ok(None);
        }
        self.inner
            .metrics
            .job_executions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut consume = WriteSet::new();
        self.inner
            .store
            .stage_job_removal(&mut consume, &job, Some(read_at.clone()));
        match &job.kind {
            JobKind::Timer { timer_id } => {
                let command = Command::TimerFired {
                    timer_id: timer_id.clone(),
                };
                self.run_instance_job(&job, command, consume).await
            }
            JobKind::AsyncContinuation { job_id } => {
                let command = Command::RunJob {
                    job_id: job_id.clone(),
                };
                self.run_instance_job(&job, command, consume).await
            }
            JobKind::TimerStart {
                definition_id,
                activity_id,
                fired,
            } => {
                // Re-arm (cycles) or remove first, so a crash during the start cannot fire twice.
                let next = self.deployed_sync(definition_id).ok().and_then(|d| {
                    let node = d.process.node_by_id(activity_id)?;
                    match &d.process.node(node).kind {
                        NodeKind::StartEvent {
                            trigger: EventTrigger::Timer(def),
                            ..
                        } => next_cycle_due(def, job.due, fired + 1),
                        _ => None,
                    }
                });
                let mut ws = WriteSet::new();
                match next {
                    Some(due) => {
                        let mut again = job.clone();
                        again.due = due;
                        again.kind = JobKind::TimerStart {
                            definition_id: definition_id.clone(),
                            activity_id: activity_id.clone(),
                            fired: fired + 1,
                        };
                        self.inner
                            .store
                            .stage_job(&mut ws, &again, Some(&job), Some(read_at));
                    }
                    None => self
                        .inner
                        .store
                        .stage_job_removal(&mut ws, &job, Some(read_at)),
                }
                if self.inner.store.commit(&ws).is_err() {
                    return Ok(None);
                }
                self.inner.store.sync().await?;
                self.fire_timer_start(definition_id, activity_id).await?;
                Ok(None)
            }
            JobKind::WasmRetry { task_id } => {
                if self.inner.store.commit(&consume).is_err() {
                    return Ok(None);
                }
                // Clear the back-off so the task is runnable, then run it.
                if let Ok((task, traw)) = self.load_external_task(task_id) {
                    let mut new = task.clone();
                    new.lock_expiration_time = None;
                    let mut ws = WriteSet::new();
                    let now = self.now();
                    self.inner
                        .store
                        .stage_external_task(&mut ws, &task, traw, Some(&new), now);
                    if self.inner.store.commit(&ws).is_ok() {
                        self.run_wasm_task(task_id.clone()).await;
                    }
                }
                Ok(None)
            }
        }
    }

    async fn run_instance_job(
        &self,
        job: &Job,
        command: Command,
        mut consume: WriteSet,
    ) -> Result<Option<String>> {
        let Some(instance_id) = job.process_instance_id.clone() else {
            return Ok(None);
        };
        // Commits only with the job's command: a failed run leaves no success entry.
        self.log_job(&mut consume, job, LogState::Successful);
        match self
            .run_command(&instance_id, command, consume, AfterCommit::default())
            .await
        {
            Ok(_) => {
                self.meter(super::usage_metrics::names::JOB_SUCCESSFUL, 1);
                Ok(None)
            }
            Err(ProcessEngineError::NotFound(_)) => {
                let mut ws = WriteSet::new();
                self.inner.store.stage_job_removal(&mut ws, job, None);
                self.inner.store.commit(&ws)?;
                Ok(None)
            }
            // The job was consumed concurrently (e.g. cancelled by an interrupting event).
            Err(ProcessEngineError::Engine(m)) if m.contains("optimistic") => Ok(None),
            Err(e) => {
                let message = e.to_string();
                self.inner
                    .metrics
                    .job_failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.meter(super::usage_metrics::names::JOB_FAILED, 1);
                self.fail_job(job, message.clone()).await?;
                Ok(Some(message))
            }
        }
    }

    /// A job whose command failed: retry on its schedule, then an incident.
    async fn fail_job(&self, job: &Job, message: String) -> Result<()> {
        let Some(instance_id) = job.process_instance_id.clone() else {
            return Ok(());
        };
        let _guard = self.lock_instance(&instance_id).await?;
        let Some((current, _)) = self.inner.store.job(&job.id)? else {
            return Ok(());
        };
        let now = self.now();
        let mut ws = WriteSet::new();
        let mut after = AfterCommit::default();
        let mut next = current.clone();
        next.retries = (current.retries - 1).max(0);
        next.exception_message = Some(message.clone());
        self.log_job(&mut ws, &next, LogState::Failed);
        if next.retries > 0 {
            next.due = now.saturating_add(
                self.retry_schedule(job.retry_time_cycle.as_deref())
                    .delay_ms(next.retries as u32),
            );
            self.inner
                .store
                .stage_job(&mut ws, &next, Some(&current), None);
        } else {
            // Out of retries: keep the job (without a due entry) and raise the incident.
            self.inner
                .store
                .stage_job_parked(&mut ws, &next, &current, None);
            let instance = self.inner.store.running_instance(&instance_id)?;
            let incident = Incident {
                id: super::core::new_id(),
                incident_type: IncidentType::FailedJob,
                message: Some(message),
                timestamp: now,
                activity_id: job.activity_id.clone(),
                activity_instance_id: job.activity_instance_id.clone().unwrap_or_default(),
                execution_id: job.activity_instance_id.clone().unwrap_or_default(),
                process_instance_id: instance_id.clone(),
                process_definition_id: instance
                    .as_ref()
                    .map(|i| i.definition_id.clone())
                    .unwrap_or_default(),
                configuration: Some(job.id.clone()),
                annotation: None,
                tenant_id: instance.and_then(|i| i.tenant_id),
                end_time: None,
            };
            open_incident(&self.inner.store, &mut ws, &incident, &mut after);
            self.inner
                .metrics
                .incidents_raised
                .fetch_add(1, Ordering::Relaxed);
        }
        self.inner.store.commit(&ws)?;
        drop(_guard);
        self.inner.store.sync().await?;
        self.after_commit(after).await;
        Ok(())
    }

    /// Pick up in-flight work after a restart: unfinished outbox entries and in-engine tasks
    /// that were running when the engine stopped (at-least-once; their inputs are deterministic).
    pub(crate) async fn recover(&self) -> Result<()> {
        let outbox = self.inner.store.outbox_sequences()?;
        let tasks: Vec<ExternalTask> = self.inner.store.wasm_tasks_in_flight()?;
        let now = self.now();
        let pending_wasm: Vec<String> = tasks
            .into_iter()
            .filter(|t| {
                t.worker_id.as_deref() == Some(WASM_WORKER)
                    && t.retries != Some(0)
                    && !t.suspended
                    && t.lock_expiration_time.is_none_or(|e| e <= now)
            })
            .map(|t| t.id)
            .collect();
        let me = self.clone();
        tokio::spawn(async move {
            for seq in outbox {
                me.process_outbox_entry(seq).await;
            }
            for id in pending_wasm {
                let me2 = me.clone();
                tokio::spawn(async move { me2.run_wasm_task(id).await });
            }
        });
        Ok(())
    }

    /// Stage a job log entry (timers and async continuations only).
    pub(crate) fn log_job(&self, ws: &mut WriteSet, job: &Job, state: LogState) {
        if !self.history_level().keeps_details() {
            return;
        }
        if let Some(log) = JobLog::of(job, state, super::core::new_id(), self.now()) {
            self.inner
                .store
                .stage_history_log(ws, &HistoryLog::Job(log));
        }
    }
}
