//! External tasks: fetch-and-lock (with long polling), complete, failure, BPMN error, lock
//! management, retries and priority with Camunda 7's rules.
//!
//! Locking a task is a compare-and-swap on its record, not a lock on its instance, so workers
//! never contend with the instances they serve; two fetchers racing for one task cannot both
//! win (the loser drops it from its result, as Camunda's optimistic locking does).

use super::core::new_id;
use super::events::EngineEvent;
use super::executor::AfterCommit;
use super::incidents::{close_incident, open_incident};
use super::parked::{HandOffSlot, Parked};
use super::types::conflict;
use super::{
    FailureRequest, FetchAndLockRequest, LockedTask, ProcessEngine, ProcessEngineError, Result,
    TopicRequest,
};
use crate::records::{
    ExternalTask, ExternalTaskLog, HistoryLog, Incident, IncidentType, LogState, ProcessInstance,
};
use crate::store::{
    Accept, ExternalTaskStore, HistoryLogStore, IncidentStore, InstanceStore, LockOrder,
    LockRequest, TaskLookup, TopicLock, Version, WASM_WORKER, WriteSet,
};
use baton_bpmn::engine::{Command, InstanceState};
use baton_bpmn::{Value, Variables};
use foldhash::{HashMap, HashMapExt};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Camunda truncates stored error messages to this many characters.
const MAX_ERROR_MESSAGE: usize = 666;

pub(super) fn truncate(s: Option<String>) -> Option<String> {
    s.map(|m| {
        if m.chars().count() > MAX_ERROR_MESSAGE {
            m.chars().take(MAX_ERROR_MESSAGE).collect()
        } else {
            m
        }
    })
}

fn owner(task: &ExternalTask) -> String {
    task.worker_id.clone().unwrap_or_else(|| "null".to_owned())
}

/// Loose equality for variable filters: typed equality, or equal JSON/text forms (REST filters
/// often arrive untyped).
fn values_match(filter: &Value, actual: &Value) -> bool {
    if filter == actual {
        return true;
    }
    if let (Some(a), Some(b)) = (filter.as_f64(), actual.as_f64()) {
        return a == b;
    }
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_json().to_string(),
    };
    text(filter) == text(actual)
}

/// The topic's filters that the task alone answers (business key, definition, tenant); an
/// absent filter matches everything.
pub(super) fn static_filters_pass(topic: &TopicRequest, task: &ExternalTask) -> bool {
    let equal = |want: &Option<String>, have: Option<&String>| {
        want.as_ref().is_none_or(|w| have == Some(w))
    };
    let within = |set: &Option<Vec<String>>, have: Option<&String>| {
        set.as_ref()
            .is_none_or(|s| have.is_some_and(|h| s.contains(h)))
    };
    equal(&topic.business_key, task.business_key.as_ref())
        && equal(
            &topic.process_definition_id,
            Some(&task.process_definition_id),
        )
        && within(
            &topic.process_definition_id_in,
            Some(&task.process_definition_id),
        )
        && equal(
            &topic.process_definition_key,
            Some(&task.process_definition_key),
        )
        && within(
            &topic.process_definition_key_in,
            Some(&task.process_definition_key),
        )
        && equal(
            &topic.process_definition_version_tag,
            task.process_definition_version_tag.as_ref(),
        )
        && within(&topic.tenant_id_in, task.tenant_id.as_ref())
        && !(topic.without_tenant_id && task.tenant_id.is_some())
}

/// The topic's process variable filters, judged on the variables the task's activity
/// instance sees in `state`.
pub(super) fn variables_match(
    topic: &TopicRequest,
    state: &InstanceState,
    activity_instance_id: &str,
) -> bool {
    topic.process_variables.iter().all(|(name, wanted)| {
        state
            .lookup_variable(activity_instance_id, name)
            .is_some_and(|actual| values_match(wanted, actual))
    })
}

/// The variables a fetch of `topic` returns with a task of `activity_instance_id`: all it
/// sees, or only its own (`localVariables`), narrowed to the names asked for.
pub(super) fn requested_variables(
    topic: &TopicRequest,
    state: &InstanceState,
    activity_instance_id: &str,
) -> Variables {
    let visible = if topic.local_variables {
        state
            .activity_instances
            .get(activity_instance_id)
            .map(|ai| ai.variables.clone())
            .unwrap_or_default()
    } else {
        state.visible_variables(activity_instance_id)
    };
    match &topic.variables {
        None => visible,
        Some(names) => visible
            .into_iter()
            .filter(|(k, _)| names.contains(k))
            .collect(),
    }
}

impl ProcessEngine {
    /// One task with the version it was read at (`NotFound` if there is none).
    pub(crate) fn load_external_task(&self, id: &str) -> Result<(ExternalTask, Version)> {
        self.inner.store.external_task(id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!("External task with id {id} does not exist"))
        })
    }

    pub(super) fn commit_task_change(
        &self,
        old_raw: Version,
        old: &ExternalTask,
        new: &ExternalTask,
        mut ws: WriteSet,
    ) -> Result<()> {
        let store = &self.inner.store;
        store.stage_external_task(&mut ws, old, old_raw, Some(new), self.now());
        self.inner
            .store
            .commit(&ws)
            .map_err(|e| conflict(e, &format!("External task {}", old.id)))
    }

    /// Fetch and lock tasks; waits up to `async_response_timeout` when none is available.
    pub async fn fetch_and_lock(&self, request: FetchAndLockRequest) -> Result<Vec<LockedTask>> {
        request.validate()?;
        self.note_topics_fetched(request.topics.iter().map(|t| t.topic_name.as_str()));
        if request.topics.is_empty() || request.max_tasks == 0 {
            // Nothing can ever match: Camunda parks such a request until its timeout and
            // answers [].
            if let Some(t) = request.async_response_timeout {
                tokio::time::sleep(t).await;
            }
            return Ok(Vec::new());
        }
        self.inner
            .metrics
            .fetch_and_lock_requests
            .fetch_add(1, Ordering::Relaxed);
        let deadline = request.async_response_timeout.map(|d| Instant::now() + d);
        let request = Arc::new(request);
        let mut parked: Option<Parked<'_>> = None;
        let mut hand_off: Option<HandOffSlot> = None;
        loop {
            // Register for wake-ups before looking, so a task created while we look is not missed.
            let notified = self.inner.task_available.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Parked before: take what commands handed over (durable with their commands;
            // no flush of its own), else look in the queue.
            if let Some(slot) = &hand_off {
                let handed = slot.close().await;
                if !handed.is_empty() {
                    self.inner
                        .metrics
                        .fetch_and_lock_hand_offs
                        .fetch_add(handed.len() as u64, Ordering::Relaxed);
                    return Ok(handed);
                }
            }
            let tasks = self.try_fetch(&request).await?;
            if !tasks.is_empty() {
                return Ok(tasks);
            }
            let Some(deadline) = deadline else {
                return Ok(Vec::new());
            };
            if self.inner.shutting_down.load(Ordering::SeqCst) {
                return Err(ProcessEngineError::ShuttingDown);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            if parked.is_none() {
                let count = self.inner.parked_fetches.fetch_add(1, Ordering::SeqCst);
                let per_worker = self.inner.park_worker(&request.worker_id);
                parked = Some(Parked(&self.inner, &request.worker_id));
                if count >= self.inner.config.max_parked_fetches {
                    return Err(ProcessEngineError::Overloaded);
                }
                if let Err(already) = per_worker {
                    return Err(ProcessEngineError::BadRequest(format!(
                        "Worker '{}' already has {already} long-polling fetchAndLock request(s) \
                         waiting, the limit per worker is {}",
                        request.worker_id, self.inner.config.max_parked_fetches_per_worker
                    )));
                }
                self.inner
                    .metrics
                    .fetch_and_lock_waits
                    .fetch_add(1, Ordering::Relaxed);
            }
            let slot = hand_off.get_or_insert_with(|| HandOffSlot::new(self, request.clone()));
            slot.open();
            // Expired locks and retry time-outs make tasks fetchable without a notification
            // when no scheduler is running; look again at least every few seconds.
            let wait = (deadline - now).min(Duration::from_secs(5));
            tokio::select! {
                _ = &mut notified => {}
                _ = slot.ready() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Unlock a task locked for a poll that never got it (the poll's client disconnected, or
    /// the command that locked it was dropped after its commit), unless something changed its
    /// lock since; a task that was never written is left alone. In the background, as the
    /// caller (a drop) cannot wait.
    pub(crate) fn release_lost_lock(&self, locked: ExternalTask) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime (the engine is being torn down): the lock expires on its own.
            return;
        };
        let me = self.clone();
        runtime.spawn(async move {
            let unlocked = async {
                let (task, raw) = me.load_external_task(&locked.id)?;
                if task.worker_id != locked.worker_id
                    || task.lock_expiration_time != locked.lock_expiration_time
                {
                    return Ok(());
                }
                me.clear_lock(task, raw).await
            };
            match unlocked.await {
                Ok(()) | Err(ProcessEngineError::NotFound(_)) => {}
                // The lock expires on its own, as after an answer lost on the way.
                Err(e) => tracing::warn!("cannot unlock task {} of a gone poll: {e}", locked.id),
            }
        });
    }

    fn topic_filters_pass(
        &self,
        topic: &TopicRequest,
        task: &ExternalTask,
        instances: &mut HashMap<String, Option<ProcessInstance>>,
    ) -> Result<bool> {
        if !static_filters_pass(topic, task) {
            return Ok(false);
        }
        if topic.process_variables.is_empty() {
            return Ok(true);
        }
        Ok(self
            .cached_instance(instances, &task.process_instance_id)?
            .is_some_and(|instance| {
                variables_match(topic, &instance.state, &task.activity_instance_id)
            }))
    }

    fn cached_instance<'m>(
        &self,
        cache: &'m mut HashMap<String, Option<ProcessInstance>>,
        id: &str,
    ) -> Result<Option<&'m ProcessInstance>> {
        if !cache.contains_key(id) {
            let loaded = self.inner.store.running_instance(id)?;
            cache.insert(id.to_owned(), loaded);
        }
        Ok(cache.get(id).and_then(|o| o.as_ref()))
    }

    async fn try_fetch(&self, request: &FetchAndLockRequest) -> Result<Vec<LockedTask>> {
        let now = self.now();
        self.reclaim_expired_locks(now)?;
        let mut instances: HashMap<String, Option<ProcessInstance>> = HashMap::new();
        let topics: Vec<TopicLock> = request
            .topics
            .iter()
            .map(|t| TopicLock {
                topic: t.topic_name.clone(),
                lock_expiration_time: now.saturating_add(t.lock_duration),
                filtered: t.is_filtered(),
            })
            .collect();
        // Without `usePriority` and `sorting` Camunda promises no order. The queue's own order
        // (highest priority, then oldest) is served then: it lets the store stop at the first
        // tasks the filters take, where a create-time order judged and sorted a window of the
        // queue (ten tasks decoded for a fetch of one, a fifth of a short instance's CPU).
        let order = match (request.use_priority, request.sort_by_create_time_asc) {
            (true, None | Some(true)) | (false, None) => LockOrder::Priority,
            (true, Some(false)) => LockOrder::PriorityThenNewest,
            (false, Some(false)) => LockOrder::CreateTimeDesc,
            (false, Some(true)) => LockOrder::CreateTimeAsc,
        };
        let lock = LockRequest {
            worker_id: &request.worker_id,
            max_tasks: request.max_tasks,
            topics: &topics,
            order,
            now,
        };
        // The filters are the engine's (they read instances); a failure while judging stops
        // the fetch before anything is locked.
        let mut filter_error = None;
        let locked = self
            .inner
            .store
            .lock_available(&lock, &mut |ti, task| match self.topic_filters_pass(
                &request.topics[ti],
                task,
                &mut instances,
            ) {
                Ok(true) => Accept::Take,
                Ok(false) => Accept::Skip,
                Err(e) => {
                    filter_error = Some(e);
                    Accept::Abort
                }
            })?;
        if let Some(e) = filter_error {
            return Err(e);
        }
        if locked.is_empty() {
            return Ok(Vec::new());
        }
        // A lock is a promise to the worker: make it durable before answering.
        self.inner.store.sync().await?;
        let mut out = Vec::with_capacity(locked.len());
        for (task, ti) in locked {
            let topic = &request.topics[ti];
            let variables = match self.cached_instance(&mut instances, &task.process_instance_id)? {
                None => Variables::new(),
                Some(instance) => {
                    requested_variables(topic, &instance.state, &task.activity_instance_id)
                }
            };
            out.push(LockedTask::of(topic, task, variables));
        }
        Ok(out)
    }

    /// Return tasks whose lock expired to the queue. Cheap when nothing expired: one range probe.
    /// Return the tasks whose lock expired before `now` to the queue and wake long polls if
    /// any became available; returns how many.
    pub(crate) fn reclaim_expired_locks(&self, now: i64) -> Result<usize> {
        let moved = self.inner.store.reclaim_expired_locks(now)?;
        if moved > 0 {
            self.inner.task_available.notify_waiters();
        }
        Ok(moved)
    }

    /// Complete an external task locked by `worker_id`.
    pub async fn complete_external_task(
        &self,
        id: &str,
        worker_id: &str,
        variables: Variables,
        local_variables: Variables,
    ) -> Result<()> {
        let (task, raw) = self.load_external_task(id)?;
        if task.worker_id.as_deref() != Some(worker_id) {
            return Err(ProcessEngineError::WrongWorker(format!(
                "External Task {id} cannot be completed by worker '{worker_id}'. It is locked by worker '{}'.",
                owner(&task)
            )));
        }
        self.finish_external_task(task, raw, variables, local_variables, WriteSet::new())
            .await
    }

    /// Completes the task; `extra` (e.g. an in-engine execution's log) commits with it.
    pub(super) async fn finish_external_task(
        &self,
        task: ExternalTask,
        raw: Version,
        variables: Variables,
        local_variables: Variables,
        mut extra: WriteSet,
    ) -> Result<()> {
        if task.suspended {
            return Err(ProcessEngineError::Suspended(format!(
                "ExternalTask with id '{}' is suspended",
                task.id
            )));
        }
        self.inner
            .store
            .stage_external_task(&mut extra, &task, raw, None, self.now());
        self.log_external_task(&mut extra, &task, LogState::Successful);
        let mut after = AfterCommit::default();
        if self.events_watched() {
            after.events.push(EngineEvent::TaskCompleted {
                task_id: task.id.clone(),
                task_type: "external".into(),
                process_instance_id: task.process_instance_id.clone(),
            });
        }
        self.run_command(
            &task.process_instance_id,
            Command::CompleteTask {
                task_id: task.id.clone(),
                variables,
                local_variables,
            },
            extra,
            after,
        )
        .await?;
        ProcessEngine::bump(
            &self.inner.metrics.tasks_completed_by_topic,
            &task.topic_name,
        );
        Ok(())
    }

    /// Report a failure (retries, back-off; 0 retries raises an incident).
    pub async fn external_task_failure(&self, id: &str, request: FailureRequest) -> Result<()> {
        let (task, raw) = self.load_external_task(id)?;
        if task.worker_id.as_deref() != Some(request.worker_id.as_str()) {
            return Err(ProcessEngineError::WrongWorker(format!(
                "Failure of External Task {id} cannot be reported by worker '{}'. It is locked by worker '{}'.",
                request.worker_id,
                owner(&task)
            )));
        }
        if request.retries < 0 {
            return Err(ProcessEngineError::Engine(
                "retries is not greater than or equal to 0".into(),
            ));
        }
        if request.retry_timeout < 0 {
            return Err(ProcessEngineError::Engine(
                "retryTimeout is not greater than or equal to 0".into(),
            ));
        }
        self.note_topic_failure(&task.topic_name);
        let now = self.now();
        let mut new = task.clone();
        new.error_message = truncate(request.error_message.clone());
        if request.error_details.is_some() {
            new.error_details = request.error_details.clone();
        }
        new.lock_expiration_time = Some(now.saturating_add(request.retry_timeout));
        new.retries = Some(request.retries);
        self.apply_task_update(
            task,
            raw,
            new,
            request.variables,
            request.local_variables,
            true,
        )
        .await?;
        self.inner
            .metrics
            .external_task_failures
            .fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Stage an external task log entry (one small record in the step's write set).
    pub(crate) fn log_external_task(
        &self,
        ws: &mut WriteSet,
        task: &ExternalTask,
        state: LogState,
    ) {
        if !self.history_level().keeps_details() {
            return;
        }
        let log = ExternalTaskLog::of(task, state, super::core::new_id(), self.now());
        self.inner
            .store
            .stage_history_log(ws, &HistoryLog::ExternalTask(log));
    }

    /// Write a changed task (with incident handling when retries cross 0), setting variables
    /// on its instance in the same commit when there are any; `failure` logs it as a reported
    /// failure in the external task log.
    async fn apply_task_update(
        &self,
        old: ExternalTask,
        raw: Version,
        new: ExternalTask,
        variables: Variables,
        local_variables: Variables,
        failure: bool,
    ) -> Result<()> {
        let mut ws = WriteSet::new();
        let mut after = AfterCommit::default();
        if failure {
            self.log_external_task(&mut ws, &new, LogState::Failed);
        }
        self.incident_transition(&old, &new, &mut ws, &mut after)?;
        if variables.is_empty() && local_variables.is_empty() {
            let _guard = self.lock_instance(&old.process_instance_id).await?;
            self.commit_task_change(raw, &old, &new, ws)?;
            drop(_guard);
            self.inner.store.sync().await?;
            if new.is_fetchable(self.now()) {
                after.tasks_available = true;
            }
            self.after_commit(after).await;
            return Ok(());
        }
        self.inner
            .store
            .stage_external_task(&mut ws, &old, raw, Some(&new), self.now());
        self.run_command(
            &old.process_instance_id,
            Command::SetVariables {
                activity_instance_id: Some(old.activity_instance_id.clone()),
                variables,
                local: false,
                deletions: Vec::new(),
            },
            ws,
            after,
        )
        .await?;
        if !local_variables.is_empty() {
            self.run_command(
                &old.process_instance_id,
                Command::SetVariables {
                    activity_instance_id: Some(old.activity_instance_id.clone()),
                    variables: local_variables,
                    local: true,
                    deletions: Vec::new(),
                },
                WriteSet::new(),
                AfterCommit::default(),
            )
            .await?;
        }
        Ok(())
    }

    /// Raise or resolve the `failedExternalTask` incident when retries reach or leave 0.
    pub(super) fn incident_transition(
        &self,
        old: &ExternalTask,
        new: &ExternalTask,
        ws: &mut WriteSet,
        after: &mut AfterCommit,
    ) -> Result<()> {
        let was_zero = old.retries == Some(0);
        let is_zero = new.retries == Some(0);
        if is_zero && !was_zero {
            let incident = self.task_incident(
                new,
                IncidentType::FailedExternalTask,
                new.error_message.clone(),
            );
            open_incident(&self.inner.store, ws, &incident, after);
            self.inner
                .metrics
                .incidents_raised
                .fetch_add(1, Ordering::Relaxed);
        } else if was_zero && !is_zero {
            self.close_task_incidents(&old.process_instance_id, &old.id, ws, after)?;
        }
        Ok(())
    }

    pub(crate) fn close_task_incidents(
        &self,
        instance_id: &str,
        config_id: &str,
        ws: &mut WriteSet,
        after: &mut AfterCommit,
    ) -> Result<()> {
        let now = self.now();
        for incident in self.inner.store.open_incidents_of_instance(instance_id)? {
            if incident.configuration.as_deref() == Some(config_id) {
                close_incident(&self.inner.store, ws, incident, now, after);
            }
        }
        Ok(())
    }

    fn task_incident(
        &self,
        task: &ExternalTask,
        kind: IncidentType,
        message: Option<String>,
    ) -> Incident {
        Incident {
            id: new_id(),
            incident_type: kind,
            message,
            timestamp: self.now(),
            activity_id: task.activity_id.clone(),
            activity_instance_id: task.activity_instance_id.clone(),
            execution_id: task.execution_id.clone(),
            process_instance_id: task.process_instance_id.clone(),
            process_definition_id: task.process_definition_id.clone(),
            configuration: Some(task.id.clone()),
            annotation: None,
            tenant_id: task.tenant_id.clone(),
            end_time: None,
        }
    }

    /// Report a BPMN error for an external task.
    pub async fn external_task_bpmn_error(
        &self,
        id: &str,
        worker_id: &str,
        error_code: &str,
        error_message: Option<String>,
        variables: Variables,
    ) -> Result<()> {
        let (task, raw) = self.load_external_task(id)?;
        if task.worker_id.as_deref() != Some(worker_id) {
            return Err(ProcessEngineError::WrongWorker(format!(
                "Bpmn error of External Task {id} cannot be reported by worker '{worker_id}'. It is locked by worker '{}'.",
                owner(&task)
            )));
        }
        self.throw_task_error(
            task,
            raw,
            error_code,
            error_message,
            variables,
            WriteSet::new(),
        )
        .await
    }

    /// Throws a BPMN error from the task; `extra` commits with it (and with the incident when
    /// nothing catches the error).
    pub(super) async fn throw_task_error(
        &self,
        task: ExternalTask,
        raw: Version,
        code: &str,
        message: Option<String>,
        variables: Variables,
        log: WriteSet,
    ) -> Result<()> {
        if task.suspended {
            return Err(ProcessEngineError::Suspended(format!(
                "ExternalTask with id '{}' is suspended",
                task.id
            )));
        }
        let mut extra = log.clone();
        let now = self.now();
        self.inner
            .store
            .stage_external_task(&mut extra, &task, raw.clone(), None, now);
        let result = self
            .run_command(
                &task.process_instance_id,
                Command::ThrowError {
                    task_id: task.id.clone(),
                    code: code.to_owned(),
                    message: message.clone(),
                    variables,
                },
                extra,
                AfterCommit::default(),
            )
            .await;
        if matches!(
            result,
            Ok(_) | Err(ProcessEngineError::UnhandledBpmnError(_))
        ) {
            self.inner
                .metrics
                .bpmn_errors
                .fetch_add(1, Ordering::Relaxed);
        }
        match result {
            Ok(_) => Ok(()),
            Err(ProcessEngineError::UnhandledBpmnError(text)) => {
                // Nothing catches the error: the task stays, with an incident that says so.
                let mut new = task.clone();
                new.retries = Some(0);
                new.error_message = truncate(Some(match &message {
                    Some(m) => format!("{text}: {m}"),
                    None => text.clone(),
                }));
                let mut ws = log;
                let mut after = AfterCommit::default();
                let incident = self.task_incident(
                    &new,
                    IncidentType::UnhandledBpmnError,
                    new.error_message.clone(),
                );
                open_incident(&self.inner.store, &mut ws, &incident, &mut after);
                self.inner
                    .metrics
                    .incidents_raised
                    .fetch_add(1, Ordering::Relaxed);
                let _guard = self.lock_instance(&task.process_instance_id).await?;
                self.commit_task_change(raw, &task, &new, ws)?;
                drop(_guard);
                self.inner.store.sync().await?;
                self.after_commit(after).await;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Extend the lock of a task held by `worker_id` to now + `new_duration` ms.
    pub async fn extend_lock(&self, id: &str, worker_id: &str, new_duration: i64) -> Result<()> {
        if new_duration <= 0 {
            // Camunda's EnsureUtil message, checked before the task is looked up.
            return Err(ProcessEngineError::BadUserRequest(
                "lockTime is not greater than 0".into(),
            ));
        }
        let (task, raw) = self.load_external_task(id)?;
        let now = self.now();
        if task.worker_id.as_deref() != Some(worker_id) || task.lock_expiration_time.is_none() {
            return Err(ProcessEngineError::BadRequest(format!(
                "The lock of the External Task {id} cannot be extended by worker '{worker_id}'. It is locked by worker '{}'.",
                owner(&task)
            )));
        }
        if task.lock_expiration_time.is_some_and(|e| e <= now) {
            return Err(ProcessEngineError::BadRequest(
                "Cannot extend a lock that expired".into(),
            ));
        }
        let mut new = task.clone();
        new.lock_expiration_time = Some(now.saturating_add(new_duration));
        self.commit_task_change(raw, &task, &new, WriteSet::new())?;
        self.inner.store.sync().await?;
        Ok(())
    }

    /// Lock one task for `worker_id` (fails if another worker holds an unexpired lock).
    pub async fn lock_external_task(
        &self,
        id: &str,
        worker_id: &str,
        lock_duration: i64,
    ) -> Result<()> {
        if lock_duration <= 0 {
            // Camunda's EnsureUtil message, checked before the task is looked up.
            return Err(ProcessEngineError::BadUserRequest(
                "lockTime is not greater than 0".into(),
            ));
        }
        let (task, raw) = self.load_external_task(id)?;
        let now = self.now();
        if task.worker_id.as_deref() == Some(WASM_WORKER) {
            return Err(ProcessEngineError::BadRequest(format!(
                "External Task {id} is executed by the engine's wasm component for topic '{}'",
                task.topic_name
            )));
        }
        let held_by_other = task.worker_id.as_deref().is_some_and(|w| w != worker_id)
            && task.lock_expiration_time.is_some_and(|e| e > now);
        if held_by_other {
            return Err(ProcessEngineError::BadRequest(format!(
                "External Task {id} is already locked by worker '{}'",
                owner(&task)
            )));
        }
        let mut new = task.clone();
        new.worker_id = Some(worker_id.to_owned());
        new.lock_expiration_time = Some(now.saturating_add(lock_duration));
        self.commit_task_change(raw, &task, &new, WriteSet::new())?;
        self.inner.store.sync().await?;
        Ok(())
    }

    /// Remove the lock of a task (no worker check) and wake long-pollers.
    pub async fn unlock_external_task(&self, id: &str) -> Result<()> {
        let (task, raw) = self.load_external_task(id)?;
        if task.worker_id.as_deref() == Some(WASM_WORKER) {
            return Ok(());
        }
        self.clear_lock(task, raw).await
    }

    /// Return `task` (as read at `raw`) to the queue, durably, and wake long-pollers.
    async fn clear_lock(&self, task: ExternalTask, raw: Version) -> Result<()> {
        let mut new = task.clone();
        new.worker_id = None;
        new.lock_expiration_time = None;
        self.commit_task_change(raw, &task, &new, WriteSet::new())?;
        self.inner.store.sync().await?;
        self.inner.task_available.notify_waiters();
        Ok(())
    }

    /// Set retries (creates an incident at 0, resolves it above 0).
    pub async fn set_external_task_retries(&self, id: &str, retries: i32) -> Result<()> {
        if retries < 0 {
            return Err(ProcessEngineError::BadRequest(
                "The number of retries cannot be negative.".into(),
            ));
        }
        let (task, raw) = self.load_external_task(id)?;
        let mut new = task.clone();
        new.retries = Some(retries);
        let revived_wasm = task.retries == Some(0) && retries > 0 && task.module_sha256.is_some();
        if revived_wasm {
            new.lock_expiration_time = None;
        }
        self.apply_task_update(
            task,
            raw,
            new.clone(),
            Variables::new(),
            Variables::new(),
            false,
        )
        .await?;
        if revived_wasm {
            let me = self.clone();
            tokio::spawn(async move { me.run_wasm_task(new.id).await });
        }
        Ok(())
    }

    /// Set the priority.
    pub async fn set_external_task_priority(&self, id: &str, priority: i64) -> Result<()> {
        let (task, raw) = self.load_external_task(id)?;
        let mut new = task.clone();
        new.priority = priority;
        self.commit_task_change(raw, &task, &new, WriteSet::new())?;
        self.inner.store.sync().await?;
        Ok(())
    }

    /// One external task.
    pub async fn external_task(&self, id: &str) -> Result<ExternalTask> {
        Ok(self.load_external_task(id)?.0)
    }

    /// The external tasks of a topic or an instance that `keep` takes, paged while reading
    /// (see [`ProcessEngine::instances_where`]).
    pub fn external_tasks_where(
        &self,
        lookup: &TaskLookup<'_>,
        keep: &mut dyn FnMut(&ExternalTask) -> Accept,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<ExternalTask>> {
        Ok(self
            .inner
            .store
            .external_tasks_where(lookup, keep, skip, limit)?)
    }

    /// How many external tasks `lookup` selects, counted without reading tasks where an
    /// index serves it.
    pub fn count_external_tasks_where(&self, lookup: &TaskLookup<'_>) -> Result<usize> {
        Ok(self.inner.store.count_external_tasks_where(lookup)?)
    }

    /// All external tasks.
    pub async fn external_tasks(&self) -> Result<Vec<ExternalTask>> {
        let mut all = self.inner.store.all_external_tasks()?;
        all.sort_by(|a, b| a.create_time.cmp(&b.create_time).then(a.id.cmp(&b.id)));
        Ok(all)
    }
}
