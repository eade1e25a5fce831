//! Effects → records: what one command's effects write in the same write set as the new
//! instance state (external and user tasks, timers and jobs, event subscriptions, outbox
//! entries for other instances, history). One method per effect; `apply` only dispatches.
//! Pure with respect to the outside world: it reads the store but performs nothing.

mod cross_instance;
mod history;

use super::core::Deployed;
use super::events::EngineEvent;
use super::executor::{AfterCommit, OutboxEntry};
use super::incidents::close_incident;
use super::wasm_tasks::InlineTasks;
use super::{ProcessEngine, Result};
use crate::records::{
    EventSubscription, EventType, ExternalTask, ExternalTaskLog, HistoricActivityInstance,
    HistoricProcessInstance, HistoricVariableInstance, HistoryLog, Job, JobKind, JobLog, LogState,
    ProcessInstance, UserTask,
};
use crate::store::{
    ExternalTaskStore, HistoryStore, IncidentStore, InstanceStore, JobStore, SubscriptionStore,
    UserTaskStore, WASM_WORKER, WriteSet,
};
use baton_bpmn::engine::{Effect, ExternalTaskSpec, InstanceState, InstanceStatus, UserTaskSpec};
use foldhash::{HashMap, HashMapExt};
use std::sync::atomic::Ordering;

/// The record of `id` this command already holds (the newest version), else the stored one
/// (`load`); either way it is no longer held.
fn take_or_load<T>(
    held: &mut HashMap<String, T>,
    id: &str,
    load: impl FnOnce(&str) -> crate::store::Result<Option<T>>,
) -> Result<Option<T>> {
    match held.remove(id) {
        Some(record) => Ok(Some(record)),
        None => Ok(load(id)?),
    }
}

/// Effects → records for one command. Keeps the records created or changed by this command so
/// a later effect of the same command (a timer scheduled then cancelled, an activity started
/// then ended) sees them before they are committed.
pub(super) struct Translation<'a> {
    engine: &'a ProcessEngine,
    deployed: &'a Deployed,
    record: &'a ProcessInstance,
    now: i64,
    /// The command starts the instance: the store holds no history row of it yet (its id is
    /// fresh, checked before the command), so a row this command does not hold is not looked
    /// up.
    new_instance: bool,
    jobs: HashMap<String, Job>,
    subscriptions: HashMap<String, EventSubscription>,
    external_tasks: HashMap<String, ExternalTask>,
    /// The external tasks for workers this command creates, in order: written by
    /// [`Self::finish`], when the command's other effects can no longer remove them, so that
    /// one locked for a parked poll is written once, locked.
    created_external_tasks: Vec<String>,
    /// Those of them not removed again by a later effect of this command.
    unwritten_external_tasks: foldhash::HashSet<String>,
    user_tasks: HashMap<String, UserTask>,
    activities: HashMap<String, HistoricActivityInstance>,
    /// Ids of the history rows (activity instances, variables) this command creates: only
    /// those get their by-id index entry.
    created_history: foldhash::HashSet<String>,
    /// Keyed by (scope id, name).
    variables: HashMap<(String, String), HistoricVariableInstance>,
    pub(super) historic_instance: Option<HistoricProcessInstance>,
    cancel_reason: Option<String>,
    /// Historic decision instances of the business rule tasks this command ran.
    decisions: Vec<crate::records::HistoricDecisionInstance>,
    /// History log entries (variable updates, external task and job logs) this command wrote,
    /// staged together so that one index entry per instance and kind covers them.
    logs: Vec<crate::records::HistoryLog>,
    /// The in-engine tasks this command ran and completed itself, and the modules it looked up.
    pub(super) inline: InlineTasks,
}

impl<'a> Translation<'a> {
    pub(super) fn new(
        engine: &'a ProcessEngine,
        deployed: &'a Deployed,
        record: &'a ProcessInstance,
        now: i64,
        new_instance: bool,
    ) -> Translation<'a> {
        Translation {
            engine,
            deployed,
            record,
            now,
            new_instance,
            jobs: HashMap::new(),
            subscriptions: HashMap::new(),
            external_tasks: HashMap::new(),
            created_external_tasks: Vec::new(),
            unwritten_external_tasks: Default::default(),
            user_tasks: HashMap::new(),
            activities: HashMap::new(),
            created_history: Default::default(),
            variables: HashMap::new(),
            historic_instance: None,
            decisions: Vec::new(),
            logs: Vec::new(),
            cancel_reason: None,
            inline: InlineTasks::default(),
        }
    }

    fn instance_id(&self) -> &str {
        &self.record.state.id
    }

    fn activity_name(&self, activity_id: &str) -> Option<String> {
        self.deployed
            .process
            .node_by_id(activity_id)
            .and_then(|i| self.deployed.process.node(i).name.clone())
    }

    pub(super) fn apply(
        &mut self,
        effect: &Effect,
        ws: &mut WriteSet,
        after: &mut AfterCommit,
    ) -> Result<()> {
        match effect {
            Effect::CreateExternalTask(spec) => self.create_external_task(spec, ws, after)?,
            Effect::CreateUserTask(spec) => self.create_user_task(spec, ws, after)?,
            Effect::CancelTask { task_id } => self.cancel_task(task_id, ws, after)?,
            Effect::UpdateUserTask(spec) => self.update_user_task(spec, ws)?,
            Effect::PatchUserTask(patch) => self.patch_user_task(patch, ws)?,
            Effect::ScheduleTimer {
                timer_id,
                activity_instance_id,
                activity_id,
                due,
            } => {
                let kind = JobKind::Timer {
                    timer_id: timer_id.clone(),
                };
                let job = self.new_job(
                    timer_id,
                    kind,
                    activity_instance_id,
                    activity_id,
                    *due,
                    crate::records::JOB_DEFINITION_TIMER,
                );
                self.schedule(job, ws, after)
            }
            Effect::CancelTimer { timer_id: id } | Effect::CancelJob { job_id: id } => {
                self.cancel_job(id, ws, after)?
            }
            Effect::SubscribeMessage {
                subscription_id,
                message_name,
                activity_instance_id,
                activity_id,
            } => self.subscribe(
                ws,
                subscription_id,
                EventType::Message,
                message_name,
                activity_instance_id,
                activity_id,
            ),
            Effect::SubscribeSignal {
                subscription_id,
                signal_name,
                activity_instance_id,
                activity_id,
            } => self.subscribe(
                ws,
                subscription_id,
                EventType::Signal,
                signal_name,
                activity_instance_id,
                activity_id,
            ),
            Effect::Unsubscribe { subscription_id } => self.unsubscribe(subscription_id, ws)?,
            Effect::ScheduleJob {
                job_id,
                activity_instance_id,
                activity_id,
                kind: when,
                due,
                retry_time_cycle,
            } => {
                let kind = JobKind::AsyncContinuation {
                    job_id: job_id.clone(),
                };
                let suffix = crate::records::job_definition_async_suffix(*when);
                let mut job = self.new_job(
                    job_id,
                    kind,
                    activity_instance_id,
                    activity_id,
                    *due,
                    suffix,
                );
                job.retries = self.engine.initial_retries(retry_time_cycle.as_deref());
                job.retry_time_cycle = retry_time_cycle.clone();
                self.schedule(job, ws, after)
            }
            Effect::BroadcastSignal { .. }
            | Effect::StartCallActivity { .. }
            | Effect::UncaughtError { .. }
            | Effect::CancelChildInstance { .. }
            | Effect::ThrowToCaller { .. } => self.cross_instance(effect, ws, after)?,
            Effect::History(event) => self.history(event, after)?,
            Effect::InstanceCompleted => {}
            Effect::InstanceCanceled { reason } => {
                self.cancel_reason = reason.clone();
            }
        }
        Ok(())
    }

    fn create_external_task(
        &mut self,
        spec: &ExternalTaskSpec,
        ws: &mut WriteSet,
        after: &mut AfterCommit,
    ) -> Result<()> {
        let ran_inline = self.inline.done.remove(&spec.task_id);
        let module = match (&ran_inline, self.inline.modules.get(&spec.topic)) {
            (Some(run), _) => Some(run.module.clone()),
            (None, Some(module)) => module.clone(),
            (None, None) => self
                .engine
                .module_for(&self.deployed.record.deployment_id, &spec.topic)?,
        };
        let task = ExternalTask {
            id: spec.task_id.clone(),
            topic_name: spec.topic.clone(),
            worker_id: module.as_ref().map(|_| WASM_WORKER.to_owned()),
            lock_expiration_time: None,
            retries: None,
            error_message: None,
            error_details: None,
            priority: spec.priority,
            suspended: self.record.suspended,
            create_time: self.now,
            activity_id: spec.activity_id.clone(),
            activity_instance_id: spec.activity_instance_id.clone(),
            execution_id: spec.execution_id.clone(),
            process_instance_id: self.instance_id().to_owned(),
            process_definition_id: self.deployed.record.id.clone(),
            process_definition_key: self.deployed.record.key.clone(),
            process_definition_version_tag: self.deployed.record.version_tag.clone(),
            business_key: self.record.state.business_key.clone(),
            tenant_id: self.record.tenant_id.clone(),
            retry_time_cycle: spec.retry_time_cycle.clone(),
            extension_properties: spec.extension_properties.clone(),
            module_sha256: module.map(|m| m.sha256),
        };
        self.log_external_task(&task, LogState::Created);
        let metrics = &self.engine.inner.metrics;
        ProcessEngine::bump(&metrics.tasks_created_by_topic, &task.topic_name);
        // Events nobody watches are not built (see `events_watched`).
        let watched = self.engine.events_watched();
        if watched {
            after.events.push(EngineEvent::TaskCreated {
                task_id: task.id.clone(),
                task_type: "external".into(),
                topic: Some(task.topic_name.clone()),
                activity_id: task.activity_id.clone(),
                process_instance_id: task.process_instance_id.clone(),
            });
        }
        if let Some(run) = ran_inline {
            // Done by this command: logged, never stored; what is logged and counted is what
            // the background path logs and counts for the same outcome.
            if !run.logs.is_empty() {
                let lines: Vec<String> = run.logs.iter().map(super::wasm_tasks::log_line).collect();
                self.engine.inner.store.stage_task_log(ws, &task.id, &lines);
            }
            if run.threw_error {
                metrics.bpmn_errors.fetch_add(1, Ordering::Relaxed);
            } else {
                self.log_external_task(&task, LogState::Successful);
                ProcessEngine::bump(&metrics.tasks_completed_by_topic, &task.topic_name);
                if watched {
                    after.events.push(EngineEvent::TaskCompleted {
                        task_id: task.id,
                        task_type: "external".into(),
                        process_instance_id: task.process_instance_id,
                    });
                }
            }
            return Ok(());
        }
        if task.module_sha256.is_some() {
            self.engine
                .inner
                .store
                .stage_external_task_write(ws, None, &task, self.now);
            after.wasm_tasks.push(task.id.clone());
        } else {
            self.created_external_tasks.push(task.id.clone());
            self.unwritten_external_tasks.insert(task.id.clone());
        }
        self.external_tasks.insert(task.id.clone(), task);
        Ok(())
    }

    fn create_user_task(
        &mut self,
        spec: &UserTaskSpec,
        ws: &mut WriteSet,
        after: &mut AfterCommit,
    ) -> Result<()> {
        let task = UserTask {
            id: spec.task_id.clone(),
            name: spec.name.clone(),
            description: spec.description.clone(),
            assignee: spec.assignee.clone(),
            owner: None,
            candidate_users: spec.candidate_users.clone(),
            candidate_groups: spec.candidate_groups.clone(),
            created: self.now,
            last_updated: None,
            due: spec.due,
            follow_up: spec.follow_up,
            priority: spec.priority,
            form_key: spec.form_key.clone(),
            task_definition_key: spec.activity_id.clone(),
            activity_instance_id: spec.activity_instance_id.clone(),
            execution_id: spec.execution_id.clone(),
            process_instance_id: self.instance_id().to_owned(),
            process_definition_id: self.deployed.record.id.clone(),
            process_definition_key: self.deployed.record.key.clone(),
            business_key: self.record.state.business_key.clone(),
            suspended: self.record.suspended,
            tenant_id: self.record.tenant_id.clone(),
            delegation_state: None,
        };
        self.engine
            .inner
            .store
            .stage_user_task(ws, &task, None, None);
        self.engine.log_identity_links(ws, None, &task);
        if let Some(h) = self.activities.get_mut(&spec.activity_instance_id) {
            h.assignee = task.assignee.clone();
            h.task_id = Some(task.id.clone());
        }
        after.events.push(EngineEvent::TaskCreated {
            task_id: task.id.clone(),
            task_type: "user".into(),
            topic: None,
            activity_id: task.task_definition_key.clone(),
            process_instance_id: task.process_instance_id.clone(),
        });
        self.user_tasks.insert(task.id.clone(), task);
        Ok(())
    }

    /// What `update`/`assignment` task listeners made of a changed user task: written over
    /// the change the room staged in the same write set.
    fn update_user_task(&mut self, spec: &UserTaskSpec, ws: &mut WriteSet) -> Result<()> {
        let store = &self.engine.inner.store;
        let Some(mut task) = take_or_load(&mut self.user_tasks, &spec.task_id, |id| {
            Ok(store.user_task(id)?.map(|(t, _)| t))
        })?
        else {
            return Ok(());
        };
        // The index entries of the version read (the room's intermediate version, if a
        // listener changed the assignee again, is replaced the same way).
        let old = task.clone();
        task.assignee = spec.assignee.clone();
        task.name = spec.name.clone();
        task.description = spec.description.clone();
        task.priority = spec.priority;
        task.due = spec.due;
        task.follow_up = spec.follow_up;
        task.last_updated = Some(self.now);
        store.stage_user_task(ws, &task, Some(&old), None);
        self.user_tasks.insert(task.id.clone(), task);
        Ok(())
    }

    /// What a `timeout` task listener changed on a waiting user task.
    fn patch_user_task(
        &mut self,
        patch: &baton_bpmn::engine::UserTaskPatch,
        ws: &mut WriteSet,
    ) -> Result<()> {
        let store = &self.engine.inner.store;
        let Some(mut task) = take_or_load(&mut self.user_tasks, &patch.task_id, |id| {
            Ok(store.user_task(id)?.map(|(t, _)| t))
        })?
        else {
            return Ok(());
        };
        let old = task.clone();
        if let Some(v) = &patch.assignee {
            task.assignee = v.clone();
        }
        if let Some(v) = &patch.name {
            task.name = v.clone();
        }
        if let Some(v) = &patch.description {
            task.description = v.clone();
        }
        if let Some(v) = patch.priority {
            task.priority = v;
        }
        if let Some(v) = patch.due {
            task.due = v;
        }
        if let Some(v) = patch.follow_up {
            task.follow_up = v;
        }
        task.last_updated = Some(self.now);
        store.stage_user_task(ws, &task, Some(&old), None);
        self.user_tasks.insert(task.id.clone(), task);
        Ok(())
    }

    fn cancel_task(
        &mut self,
        task_id: &str,
        ws: &mut WriteSet,
        after: &mut AfterCommit,
    ) -> Result<()> {
        let store = &self.engine.inner.store;
        let external = take_or_load(&mut self.external_tasks, task_id, |id| {
            Ok(store.external_task(id)?.map(|(t, _)| t))
        })?;
        if let Some(task) = external {
            if !self.unwritten_external_tasks.remove(task_id) {
                store.stage_external_task_removal(ws, &task);
            }
            self.log_external_task(&task, LogState::Deleted);
            self.close_incidents_of(task_id, ws, after)?;
        } else {
            let user = take_or_load(&mut self.user_tasks, task_id, |id| {
                Ok(store.user_task(id)?.map(|(t, _)| t))
            })?;
            if let Some(task) = user {
                store.stage_user_task_removal(ws, &task, None);
            }
        }
        Ok(())
    }

    /// A job of this instance with the default retries (timers: 3) and no retry cycle.
    fn new_job(
        &self,
        id: &str,
        kind: JobKind,
        activity_instance_id: &str,
        activity_id: &str,
        due: i64,
        definition_suffix: &str,
    ) -> Job {
        let definition = &self.deployed.record;
        let job_definition_id =
            crate::records::job_definition_id(&definition.id, activity_id, definition_suffix);
        // A suspended job definition creates its new jobs suspended (Camunda's rule), as does
        // a suspended instance.
        let settings = definition.job_definitions.get(&job_definition_id);
        Job {
            id: id.to_owned(),
            kind,
            process_instance_id: Some(self.instance_id().to_owned()),
            activity_id: activity_id.to_owned(),
            activity_instance_id: Some(activity_instance_id.to_owned()),
            due,
            retries: 3,
            exception_message: None,
            retry_time_cycle: None,
            process_definition_id: Some(definition.id.clone()),
            tenant_id: self.record.tenant_id.clone(),
            create_time: self.now,
            suspended: self.record.suspended || settings.is_some_and(|s| s.suspended),
            priority: settings.and_then(|s| s.overriding_priority).unwrap_or(0),
            job_definition_id: Some(job_definition_id),
        }
    }

    /// Stage a timer or job and wake the scheduler after commit.
    fn schedule(&mut self, job: Job, ws: &mut WriteSet, after: &mut AfterCommit) {
        self.engine.inner.store.stage_job(ws, &job, None, None);
        self.log_job(&job, LogState::Created);
        self.jobs.insert(job.id.clone(), job);
        after.wake_scheduler = true;
    }

    fn cancel_job(&mut self, id: &str, ws: &mut WriteSet, after: &mut AfterCommit) -> Result<()> {
        let store = &self.engine.inner.store;
        let job = take_or_load(&mut self.jobs, id, |id| Ok(store.job(id)?.map(|(j, _)| j)))?;
        if let Some(job) = job {
            store.stage_job_removal(ws, &job, None);
            self.log_job(&job, LogState::Deleted);
            self.close_incidents_of(id, ws, after)?;
        }
        Ok(())
    }

    fn unsubscribe(&mut self, id: &str, ws: &mut WriteSet) -> Result<()> {
        let store = &self.engine.inner.store;
        if let Some(sub) = take_or_load(&mut self.subscriptions, id, |id| store.subscription(id))? {
            store.stage_subscription_removal(ws, &sub);
        }
        Ok(())
    }

    fn subscribe(
        &mut self,
        ws: &mut WriteSet,
        id: &str,
        event_type: EventType,
        name: &str,
        activity_instance_id: &str,
        activity_id: &str,
    ) {
        let sub = EventSubscription {
            id: id.to_owned(),
            event_type,
            event_name: name.to_owned(),
            process_instance_id: self.instance_id().to_owned(),
            activity_instance_id: activity_instance_id.to_owned(),
            activity_id: activity_id.to_owned(),
            created: self.now,
        };
        self.engine.inner.store.stage_subscription(ws, &sub);
        self.subscriptions.insert(sub.id.clone(), sub);
    }

    /// Close the open incidents whose configuration is `config_id` (a task or job id).
    fn close_incidents_of(
        &mut self,
        config_id: &str,
        ws: &mut WriteSet,
        after: &mut AfterCommit,
    ) -> Result<()> {
        self.engine
            .close_task_incidents(self.instance_id(), config_id, ws, after)
    }

    /// Stage the end of the instance: `stored` is its state as stored before this command
    /// (`None` when it was never stored).
    pub(super) fn end_instance(
        &mut self,
        ws: &mut WriteSet,
        stored: Option<&InstanceState>,
        after: &mut AfterCommit,
    ) -> Result<()> {
        let store = &self.engine.inner.store;
        let id = self.instance_id().to_owned();
        // Anything the state machine left behind (it should leave nothing) is removed with
        // the instance, so no orphaned task can be fetched. The records this command holds in
        // memory are the newer versions: those are deleted, not the stored ones. An instance
        // that was never stored (it ends in the command that started it) has nothing in the
        // store to look for (records, open incidents): every record it made is in this
        // command's maps.
        if let Some(stored) = stored {
            store.stage_instance_records_removal(ws, &id, stored, &|tid| {
                self.external_tasks.contains_key(tid)
            })?;
            for incident in store.open_incidents_of_instance(&id)? {
                close_incident(store, ws, incident, self.now, after);
            }
        }
        for t in self.external_tasks.values() {
            if !self.unwritten_external_tasks.contains(&t.id) {
                store.stage_external_task_removal(ws, t);
            }
        }
        for t in self.user_tasks.values() {
            store.stage_user_task_removal(ws, t, None);
        }
        for j in self.jobs.values() {
            store.stage_job_removal(ws, j, None);
        }
        for s in self.subscriptions.values() {
            store.stage_subscription_removal(ws, s);
        }
        self.external_tasks.clear();
        self.created_external_tasks.clear();
        self.unwritten_external_tasks.clear();
        self.user_tasks.clear();
        self.jobs.clear();
        self.subscriptions.clear();

        let status = self.record.state.status;
        let state = match status {
            InstanceStatus::Completed => "COMPLETED",
            InstanceStatus::Canceled => "EXTERNALLY_TERMINATED",
            InstanceStatus::Terminated => "INTERNALLY_TERMINATED",
            InstanceStatus::Active => "ACTIVE",
        };
        let mut historic = match self.historic_instance.take() {
            Some(h) => Some(h),
            None if !self.engine.history_level().keeps_activities() => None,
            None => store.historic_instance(&id)?,
        };
        if let Some(h) = historic.as_mut() {
            h.end_time = Some(self.now);
            h.state = state.to_owned();
            h.delete_reason = self.cancel_reason.clone();
        }
        self.historic_instance = historic;
        match status {
            InstanceStatus::Completed | InstanceStatus::Terminated => {
                self.engine
                    .inner
                    .metrics
                    .instances_completed
                    .fetch_add(1, Ordering::Relaxed);
                if let Some(sup) = &self.record.state.super_instance {
                    let entry = OutboxEntry::ChildCompleted {
                        parent_instance_id: sup.process_instance_id.clone(),
                        activity_instance_id: sup.activity_instance_id.clone(),
                        variables: self.record.state.process_variables(),
                    };
                    self.outbox(ws, after, entry)?;
                }
            }
            InstanceStatus::Canceled => {
                self.engine
                    .inner
                    .metrics
                    .instances_canceled
                    .fetch_add(1, Ordering::Relaxed);
                super::notifications::stage_instance_canceled(
                    &self.engine.inner.store,
                    ws,
                    self.record,
                    self.cancel_reason.clone(),
                    self.now,
                );
                after.notify = true;
            }
            InstanceStatus::Active => {}
        }
        after.events.push(EngineEvent::InstanceEnded {
            process_instance_id: id,
            process_definition_id: self.deployed.record.id.clone(),
            state: state.to_owned(),
        });
        Ok(())
    }

    /// Write everything collected. A new task for workers that a parked poll takes is
    /// written locked for it, and handed over after the commit (see `parked::HandOffs`).
    pub(super) fn finish(self, ws: &mut WriteSet, after: &mut AfterCommit) {
        let store = &self.engine.inner.store;
        for id in &self.created_external_tasks {
            if !self.unwritten_external_tasks.contains(id) {
                continue;
            }
            let Some(task) = self.external_tasks.get(id) else {
                continue;
            };
            let promise = (!task.suspended)
                .then(|| {
                    self.engine.inner.hand_offs.promise(
                        self.engine,
                        task,
                        &self.record.state,
                        self.now,
                    )
                })
                .flatten();
            match promise.as_ref().and_then(|p| p.task()) {
                Some(locked) => store.stage_external_task_write(ws, None, locked, self.now),
                None => {
                    store.stage_external_task_write(ws, None, task, self.now);
                    after.tasks_available = true;
                }
            }
            after.hand_offs.extend(promise);
        }
        for h in self.activities.values() {
            store.stage_historic_activity(ws, h, self.created_history.contains(&h.id));
        }
        for v in self.variables.values() {
            store.stage_historic_variable(ws, v, self.created_history.contains(&v.id));
        }
        if let Some(h) = &self.historic_instance {
            store.stage_historic_instance(ws, h);
        }
        for d in &self.decisions {
            crate::store::DecisionStore::stage_historic_decision_instance(store, ws, d);
        }
        crate::store::HistoryLogStore::stage_history_logs(store, ws, &self.logs);
    }

    /// Collect an external task log entry (one small record, no read), written by
    /// [`Self::finish`] with the command's other entries.
    fn log_external_task(&mut self, task: &ExternalTask, state: LogState) {
        if !self.engine.history_level().keeps_details() {
            return;
        }
        let log = ExternalTaskLog::of(task, state, super::core::new_id(), self.now);
        self.logs.push(HistoryLog::ExternalTask(log));
    }

    /// Collect a job log entry (timers and async continuations only).
    fn log_job(&mut self, job: &Job, state: LogState) {
        if !self.engine.history_level().keeps_details() {
            return;
        }
        if let Some(log) = JobLog::of(job, state, super::core::new_id(), self.now) {
            self.logs.push(HistoryLog::Job(log));
        }
    }
}
