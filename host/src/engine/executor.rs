//! The executor: apply a command to one instance through the pure state machine, turn the
//! effects into records (tasks, jobs, subscriptions, history, outbox) in the same write set as
//! the new instance state, commit, and only then perform what lies outside the store (wake
//! workers and the scheduler, run wasm tasks, start/notify other instances, emit events).

use super::core::{Deployed, new_id};
use super::events::EngineEvent;
use super::index::WASM_WORKER;
use super::{ProcessEngine, ProcessEngineError, Result, index};
use crate::records::{
    EventSubscription, EventType, ExternalTask, HistoricActivityInstance, HistoricProcessInstance,
    HistoricVariableInstance, Incident, Job, JobKind, ProcessInstance, UserTask,
};
use crate::store::keys::Key;
use crate::store::{StoreError, Tree, WriteSet};
use baton_bpmn::engine::{
    CallBinding, Command, Effect, EngineError, HistoryEvent, InstanceState, InstanceStatus,
    SuperInstance,
};
use baton_bpmn::{Engine, Variables};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// What a command did.
pub(crate) struct Outcome {
    /// The instance after the command (also when it ended).
    pub(crate) instance: ProcessInstance,
    /// Whether the instance ended.
    pub(crate) ended: bool,
}

/// Work to perform once a command's writes are committed.
#[derive(Default)]
pub(crate) struct AfterCommit {
    pub(crate) events: Vec<EngineEvent>,
    pub(crate) tasks_available: bool,
    pub(crate) wake_scheduler: bool,
    pub(crate) wasm_tasks: Vec<String>,
    pub(crate) outbox: Vec<u64>,
}

/// A cross-instance effect, stored in the same write set as the command that caused it and
/// performed after commit (again after a restart if the engine died before).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum OutboxEntry {
    StartChild {
        parent_instance_id: String,
        parent_definition_id: String,
        activity_instance_id: String,
        activity_id: String,
        child_instance_id: String,
        process_key: String,
        binding: CallBinding,
        business_key: Option<String>,
        variables: Variables,
        tenant_id: Option<String>,
    },
    ChildCompleted {
        parent_instance_id: String,
        activity_instance_id: String,
        variables: Variables,
    },
    CancelChild {
        child_instance_id: String,
    },
    Signal {
        name: String,
        variables: Variables,
    },
}

pub(crate) fn outbox_key(seq: u64) -> Vec<u8> {
    Key::new().u64(seq).build()
}

/// Map a state-machine refusal to the service error Camunda would give.
pub(crate) fn engine_error(e: EngineError) -> ProcessEngineError {
    match e {
        EngineError::InstanceEnded(id) => {
            ProcessEngineError::NotFound(format!("Process instance with id {id} does not exist"))
        }
        e @ EngineError::UnhandledError { .. } => {
            ProcessEngineError::UnhandledBpmnError(e.to_string())
        }
        other => ProcessEngineError::Engine(other.to_string()),
    }
}

fn store_error(e: StoreError) -> ProcessEngineError {
    match e {
        StoreError::Conflict => ProcessEngineError::Engine(
            "the entity was updated by another transaction concurrently (optimistic locking)"
                .to_owned(),
        ),
        other => ProcessEngineError::Internal(other.to_string()),
    }
}

/// Effects → records for one command. Keeps the records created or changed by this command so
/// a later effect of the same command (a timer scheduled then cancelled, an activity started
/// then ended) sees them before they are committed.
struct Translation<'a> {
    engine: &'a ProcessEngine,
    deployed: &'a Deployed,
    record: &'a ProcessInstance,
    now: i64,
    jobs: HashMap<String, Job>,
    subscriptions: HashMap<String, EventSubscription>,
    external_tasks: HashMap<String, ExternalTask>,
    user_tasks: HashMap<String, UserTask>,
    activities: HashMap<String, HistoricActivityInstance>,
    variables: HashMap<Vec<u8>, HistoricVariableInstance>,
    historic_instance: Option<HistoricProcessInstance>,
    cancel_reason: Option<String>,
}

impl<'a> Translation<'a> {
    fn new(
        engine: &'a ProcessEngine,
        deployed: &'a Deployed,
        record: &'a ProcessInstance,
        now: i64,
    ) -> Translation<'a> {
        Translation {
            engine,
            deployed,
            record,
            now,
            jobs: HashMap::new(),
            subscriptions: HashMap::new(),
            external_tasks: HashMap::new(),
            user_tasks: HashMap::new(),
            activities: HashMap::new(),
            variables: HashMap::new(),
            historic_instance: None,
            cancel_reason: None,
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

    fn apply(&mut self, effect: &Effect, ws: &mut WriteSet, after: &mut AfterCommit) -> Result<()> {
        let store = &self.engine.inner.store;
        match effect {
            Effect::CreateExternalTask(spec) => {
                let module = self
                    .engine
                    .module_for(&self.deployed.record.deployment_id, &spec.topic)?;
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
                index::put_external_task(ws, &task, None, self.now);
                if task.module_sha256.is_some() {
                    after.wasm_tasks.push(task.id.clone());
                } else {
                    after.tasks_available = true;
                }
                ProcessEngine::bump(
                    &self.engine.inner.metrics.tasks_created_by_topic,
                    &task.topic_name,
                );
                after.events.push(EngineEvent::TaskCreated {
                    task_id: task.id.clone(),
                    task_type: "external".into(),
                    topic: Some(task.topic_name.clone()),
                    activity_id: task.activity_id.clone(),
                    process_instance_id: task.process_instance_id.clone(),
                });
                self.external_tasks.insert(task.id.clone(), task);
            }
            Effect::CreateUserTask(spec) => {
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
                };
                index::put_user_task(ws, &task);
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
            }
            Effect::CancelTask { task_id } => {
                let external = match self.external_tasks.remove(task_id) {
                    Some(t) => Some(t),
                    None => {
                        store.get::<ExternalTask>(Tree::ExternalTasks, &index::id_key(task_id))?
                    }
                };
                if let Some(task) = external {
                    index::delete_external_task(ws, &task);
                    self.close_incidents_of(task_id, ws, after)?;
                } else {
                    let user = match self.user_tasks.remove(task_id) {
                        Some(t) => Some(t),
                        None => store.get::<UserTask>(Tree::UserTasks, &index::id_key(task_id))?,
                    };
                    if let Some(task) = user {
                        index::delete_user_task(ws, &task);
                    }
                }
            }
            Effect::ScheduleTimer {
                timer_id,
                activity_instance_id,
                activity_id,
                due,
            } => {
                let job = Job {
                    id: timer_id.clone(),
                    kind: JobKind::Timer {
                        timer_id: timer_id.clone(),
                    },
                    process_instance_id: Some(self.instance_id().to_owned()),
                    activity_id: activity_id.clone(),
                    activity_instance_id: Some(activity_instance_id.clone()),
                    due: *due,
                    retries: 3,
                    exception_message: None,
                    retry_time_cycle: None,
                };
                index::put_job(ws, &job, None);
                self.jobs.insert(job.id.clone(), job);
                after.wake_scheduler = true;
            }
            Effect::CancelTimer { timer_id: id } | Effect::CancelJob { job_id: id } => {
                let job = match self.jobs.remove(id) {
                    Some(j) => Some(j),
                    None => store.get::<Job>(Tree::Jobs, &index::id_key(id))?,
                };
                if let Some(job) = job {
                    index::delete_job(ws, &job);
                    self.close_incidents_of(id, ws, after)?;
                }
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
            Effect::Unsubscribe { subscription_id } => {
                let sub = match self.subscriptions.remove(subscription_id) {
                    Some(s) => Some(s),
                    None => store.get::<EventSubscription>(
                        Tree::Subscriptions,
                        &index::id_key(subscription_id),
                    )?,
                };
                if let Some(sub) = sub {
                    index::delete_subscription(ws, &sub);
                }
            }
            Effect::ScheduleJob {
                job_id,
                activity_instance_id,
                activity_id,
                kind: _,
                due,
                retry_time_cycle,
            } => {
                let retries = self.engine.initial_job_retries(retry_time_cycle.as_deref());
                let job = Job {
                    id: job_id.clone(),
                    kind: JobKind::AsyncContinuation {
                        job_id: job_id.clone(),
                    },
                    process_instance_id: Some(self.instance_id().to_owned()),
                    activity_id: activity_id.clone(),
                    activity_instance_id: Some(activity_instance_id.clone()),
                    due: *due,
                    retries,
                    exception_message: None,
                    retry_time_cycle: retry_time_cycle.clone(),
                };
                index::put_job(ws, &job, None);
                self.jobs.insert(job.id.clone(), job);
                after.wake_scheduler = true;
            }
            Effect::BroadcastSignal {
                signal_name,
                variables,
            } => self.outbox(
                ws,
                after,
                OutboxEntry::Signal {
                    name: signal_name.clone(),
                    variables: variables.clone(),
                },
            )?,
            Effect::StartCallActivity {
                activity_instance_id,
                child_instance_id,
                process_key,
                binding,
                business_key,
                variables,
            } => {
                let activity_id = self
                    .record
                    .state
                    .activity_instances
                    .get(activity_instance_id)
                    .map(|ai| ai.activity_id.clone())
                    .unwrap_or_default();
                self.outbox(
                    ws,
                    after,
                    OutboxEntry::StartChild {
                        parent_instance_id: self.instance_id().to_owned(),
                        parent_definition_id: self.deployed.record.id.clone(),
                        activity_instance_id: activity_instance_id.clone(),
                        activity_id,
                        child_instance_id: child_instance_id.clone(),
                        process_key: process_key.clone(),
                        binding: binding.clone(),
                        business_key: business_key.clone(),
                        variables: variables.clone(),
                        tenant_id: self.record.tenant_id.clone(),
                    },
                )?
            }
            Effect::CancelChildInstance { child_instance_id } => self.outbox(
                ws,
                after,
                OutboxEntry::CancelChild {
                    child_instance_id: child_instance_id.clone(),
                },
            )?,
            Effect::History(event) => self.history(event, after)?,
            Effect::InstanceCompleted => {}
            Effect::InstanceCanceled { reason } => {
                self.cancel_reason = reason.clone();
            }
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
        index::put_subscription(ws, &sub);
        self.subscriptions.insert(sub.id.clone(), sub);
    }

    fn outbox(
        &mut self,
        ws: &mut WriteSet,
        after: &mut AfterCommit,
        entry: OutboxEntry,
    ) -> Result<()> {
        let seq = self.engine.inner.store.generate_id()?;
        ws.put(Tree::Outbox, outbox_key(seq), &entry);
        after.outbox.push(seq);
        Ok(())
    }

    fn history(&mut self, event: &HistoryEvent, after: &mut AfterCommit) -> Result<()> {
        let store = &self.engine.inner.store;
        match event {
            HistoryEvent::ActivityStarted {
                activity_instance_id,
                parent_activity_instance_id,
                activity_id,
                activity_type,
                execution_id,
                task_id,
                called_process_instance_id,
                at,
            } => {
                let h = HistoricActivityInstance {
                    id: activity_instance_id.clone(),
                    parent_activity_instance_id: parent_activity_instance_id.clone(),
                    activity_id: activity_id.clone(),
                    activity_name: self.activity_name(activity_id),
                    activity_type: activity_type.clone(),
                    process_definition_key: self.deployed.record.key.clone(),
                    process_definition_id: self.deployed.record.id.clone(),
                    process_instance_id: self.instance_id().to_owned(),
                    execution_id: execution_id.clone(),
                    task_id: task_id.clone(),
                    assignee: None,
                    called_process_instance_id: called_process_instance_id.clone(),
                    start_time: *at,
                    end_time: None,
                    canceled: false,
                    complete_scope: false,
                    tenant_id: self.record.tenant_id.clone(),
                    sequence: store.generate_id()?,
                };
                after.events.push(EngineEvent::ActivityEntered {
                    process_instance_id: self.instance_id().to_owned(),
                    process_definition_id: self.deployed.record.id.clone(),
                    activity_id: activity_id.clone(),
                    activity_instance_id: activity_instance_id.clone(),
                    activity_type: activity_type.clone(),
                });
                self.activities.insert(h.id.clone(), h);
            }
            HistoryEvent::ActivityEnded {
                activity_instance_id,
                activity_id,
                canceled,
                complete_scope,
                at,
            } => {
                let existing = match self.activities.remove(activity_instance_id) {
                    Some(h) => Some(h),
                    None => store.get::<HistoricActivityInstance>(
                        Tree::HistoricActivities,
                        &index::historic_activity_key(self.instance_id(), activity_instance_id),
                    )?,
                };
                if let Some(mut h) = existing {
                    h.end_time = Some(*at);
                    h.canceled = *canceled;
                    h.complete_scope = *complete_scope;
                    self.activities.insert(h.id.clone(), h);
                }
                after.events.push(EngineEvent::ActivityLeft {
                    process_instance_id: self.instance_id().to_owned(),
                    process_definition_id: self.deployed.record.id.clone(),
                    activity_id: activity_id.clone(),
                    activity_instance_id: activity_instance_id.clone(),
                    canceled: *canceled,
                });
            }
            HistoryEvent::VariableSet {
                scope_id,
                name,
                value,
                at,
            } => {
                let key = index::historic_variable_key(self.instance_id(), scope_id, name);
                let existing = match self.variables.remove(&key) {
                    Some(v) => Some(v),
                    None => store.get::<HistoricVariableInstance>(Tree::HistoricVariables, &key)?,
                };
                let v = match existing {
                    Some(mut v) => {
                        v.value = value.clone();
                        v.last_updated = *at;
                        v.state = "CREATED".into();
                        v
                    }
                    None => HistoricVariableInstance {
                        id: new_id(),
                        name: name.clone(),
                        value: value.clone(),
                        process_instance_id: self.instance_id().to_owned(),
                        process_definition_id: self.deployed.record.id.clone(),
                        process_definition_key: self.deployed.record.key.clone(),
                        activity_instance_id: scope_id.clone(),
                        create_time: *at,
                        last_updated: *at,
                        state: "CREATED".into(),
                        tenant_id: self.record.tenant_id.clone(),
                    },
                };
                self.variables.insert(key, v);
            }
            HistoryEvent::VariableDeleted { scope_id, name, at } => {
                let key = index::historic_variable_key(self.instance_id(), scope_id, name);
                let existing = match self.variables.remove(&key) {
                    Some(v) => Some(v),
                    None => store.get::<HistoricVariableInstance>(Tree::HistoricVariables, &key)?,
                };
                if let Some(mut v) = existing {
                    v.state = "DELETED".into();
                    v.last_updated = *at;
                    self.variables.insert(key, v);
                }
            }
        }
        Ok(())
    }

    /// Close the open incidents whose configuration is `config_id` (a task or job id).
    fn close_incidents_of(
        &mut self,
        config_id: &str,
        ws: &mut WriteSet,
        after: &mut AfterCommit,
    ) -> Result<()> {
        let store = &self.engine.inner.store;
        let keys = store.scan_keys(
            Tree::IncidentsByInstance,
            &index::instance_prefix(self.instance_id()),
            usize::MAX,
        )?;
        for key in keys {
            let Some(incident_id) = crate::store::keys::last_str(&key) else {
                continue;
            };
            let Some(incident) =
                store.get::<Incident>(Tree::Incidents, &index::id_key(&incident_id))?
            else {
                continue;
            };
            if incident.configuration.as_deref() == Some(config_id) {
                close_incident(ws, incident, self.now, after);
            }
        }
        Ok(())
    }

    fn end_instance(&mut self, ws: &mut WriteSet, after: &mut AfterCommit) -> Result<()> {
        let store = &self.engine.inner.store;
        let id = self.instance_id().to_owned();
        // Anything the state machine left behind (it should leave nothing) is removed with
        // the instance, so no orphaned task can be fetched.
        let prefix = index::instance_prefix(&id);
        for key in store.scan_keys(Tree::ExternalTasksByInstance, &prefix, usize::MAX)? {
            if let Some(tid) = crate::store::keys::last_str(&key)
                && !self.external_tasks.contains_key(&tid)
                && let Some(t) =
                    store.get::<ExternalTask>(Tree::ExternalTasks, &index::id_key(&tid))?
            {
                index::delete_external_task(ws, &t);
            }
        }
        for (tid, t) in self.external_tasks.drain() {
            let _ = tid;
            index::delete_external_task(ws, &t);
        }
        for key in store.scan_keys(Tree::UserTasksByInstance, &prefix, usize::MAX)? {
            if let Some(tid) = crate::store::keys::last_str(&key)
                && let Some(t) = store.get::<UserTask>(Tree::UserTasks, &index::id_key(&tid))?
            {
                index::delete_user_task(ws, &t);
            }
        }
        for (_, t) in self.user_tasks.drain() {
            index::delete_user_task(ws, &t);
        }
        for key in store.scan_keys(Tree::JobsByInstance, &prefix, usize::MAX)? {
            if let Some(jid) = crate::store::keys::last_str(&key)
                && let Some(j) = store.get::<Job>(Tree::Jobs, &index::id_key(&jid))?
            {
                index::delete_job(ws, &j);
            }
        }
        for (_, j) in self.jobs.drain() {
            index::delete_job(ws, &j);
        }
        for key in store.scan_keys(Tree::SubscriptionsByInstance, &prefix, usize::MAX)? {
            if let Some(sid) = crate::store::keys::last_str(&key)
                && let Some(s) =
                    store.get::<EventSubscription>(Tree::Subscriptions, &index::id_key(&sid))?
            {
                index::delete_subscription(ws, &s);
            }
        }
        for (_, s) in self.subscriptions.drain() {
            index::delete_subscription(ws, &s);
        }
        for key in store.scan_keys(Tree::IncidentsByInstance, &prefix, usize::MAX)? {
            if let Some(iid) = crate::store::keys::last_str(&key)
                && let Some(i) = store.get::<Incident>(Tree::Incidents, &index::id_key(&iid))?
            {
                close_incident(ws, i, self.now, after);
            }
        }

        let status = self.record.state.status;
        let state = match status {
            InstanceStatus::Completed => "COMPLETED",
            InstanceStatus::Canceled => "EXTERNALLY_TERMINATED",
            InstanceStatus::Terminated => "INTERNALLY_TERMINATED",
            InstanceStatus::Active => "ACTIVE",
        };
        let mut historic = match self.historic_instance.take() {
            Some(h) => Some(h),
            None => store
                .get::<HistoricProcessInstance>(Tree::HistoricInstances, &index::id_key(&id))?,
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

    /// Write everything collected.
    fn finish(self, ws: &mut WriteSet) {
        let pi = self.record.state.id.clone();
        for (id, h) in &self.activities {
            ws.put(
                Tree::HistoricActivities,
                index::historic_activity_key(&pi, id),
                h,
            );
        }
        for (key, v) in &self.variables {
            ws.put(Tree::HistoricVariables, key.clone(), v);
        }
        if let Some(h) = &self.historic_instance {
            ws.put(Tree::HistoricInstances, index::id_key(&h.id), h);
        }
    }
}

/// Move an open incident to history.
pub(crate) fn close_incident(
    ws: &mut WriteSet,
    mut incident: Incident,
    now: i64,
    after: &mut AfterCommit,
) {
    ws.delete(Tree::Incidents, index::id_key(&incident.id));
    ws.delete(
        Tree::IncidentsByInstance,
        index::by_instance(&incident.process_instance_id, &incident.id),
    );
    incident.end_time = Some(now);
    ws.put(
        Tree::HistoricIncidents,
        index::id_key(&incident.id),
        &incident,
    );
    after.events.push(EngineEvent::IncidentResolved {
        incident_id: incident.id.clone(),
        process_instance_id: incident.process_instance_id.clone(),
    });
}

/// Open an incident.
pub(crate) fn open_incident(ws: &mut WriteSet, incident: &Incident, after: &mut AfterCommit) {
    ws.put(Tree::Incidents, index::id_key(&incident.id), incident);
    ws.index(
        Tree::IncidentsByInstance,
        index::by_instance(&incident.process_instance_id, &incident.id),
    );
    ws.put(
        Tree::HistoricIncidents,
        index::id_key(&incident.id),
        incident,
    );
    after.events.push(EngineEvent::IncidentRaised {
        incident_id: incident.id.clone(),
        process_instance_id: incident.process_instance_id.clone(),
        activity_id: incident.activity_id.clone(),
        incident_type: incident.incident_type.as_str().to_owned(),
        message: incident.message.clone(),
    });
}

impl ProcessEngine {
    /// Apply `command` to a running instance, committing `extra` writes with it.
    pub(crate) async fn run_command(
        &self,
        instance_id: &str,
        command: Command,
        extra: WriteSet,
        mut after: AfterCommit,
    ) -> Result<Outcome> {
        let guard = self.lock_instance(instance_id).await;
        let record: ProcessInstance = self
            .inner
            .store
            .get(Tree::Instances, &index::id_key(instance_id))?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!(
                    "Process instance with id {instance_id} does not exist"
                ))
            })?;
        let outcome = self.apply_and_commit(record, command, extra, &mut after, false)?;
        drop(guard);
        self.inner.store.sync().await?;
        self.after_commit(after).await;
        Ok(outcome)
    }

    /// Create and start a new instance with the given id (idempotent: an id that exists or
    /// existed is not started again).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn start_new_instance(
        &self,
        deployed: Arc<Deployed>,
        instance_id: String,
        business_key: Option<String>,
        super_instance: Option<SuperInstance>,
        variables: Variables,
        start_activity_id: Option<String>,
        initiator: Option<String>,
    ) -> Result<Outcome> {
        let guard = self.lock_instance(&instance_id).await;
        if let Some(existing) = self
            .inner
            .store
            .get::<ProcessInstance>(Tree::Instances, &index::id_key(&instance_id))?
        {
            return Ok(Outcome {
                instance: existing,
                ended: false,
            });
        }
        if self
            .inner
            .store
            .contains(Tree::HistoricInstances, &index::id_key(&instance_id))?
        {
            return Err(ProcessEngineError::Engine(format!(
                "process instance {instance_id} already existed"
            )));
        }
        let state = InstanceState::new(
            instance_id.clone(),
            deployed.record.key.clone(),
            business_key.clone(),
            super_instance,
        );
        let record = ProcessInstance {
            definition_id: deployed.record.id.clone(),
            definition_key: deployed.record.key.clone(),
            suspended: false,
            tenant_id: deployed.record.tenant_id.clone(),
            state,
        };
        let mut after = AfterCommit::default();
        after.events.push(EngineEvent::InstanceStarted {
            process_instance_id: instance_id.clone(),
            process_definition_id: deployed.record.id.clone(),
            business_key,
        });
        let outcome = self.apply_and_commit(
            record,
            Command::Start {
                variables,
                start_activity_id,
                initiator: initiator.clone(),
            },
            WriteSet::new(),
            &mut after,
            true,
        )?;
        drop(guard);
        self.inner
            .metrics
            .instances_started
            .fetch_add(1, Ordering::Relaxed);
        self.inner.store.sync().await?;
        self.after_commit(after).await;
        Ok(outcome)
    }

    fn apply_and_commit(
        &self,
        mut record: ProcessInstance,
        command: Command,
        extra: WriteSet,
        after: &mut AfterCommit,
        is_new: bool,
    ) -> Result<Outcome> {
        let deployed = self.deployed_sync(&record.definition_id)?;
        let now = self.now();
        let initiator = match &command {
            Command::Start { initiator, .. } => initiator.clone(),
            _ => None,
        };
        let mut state = record.state.clone();
        let effects =
            Engine::apply(&deployed.process, &mut state, command, now).map_err(engine_error)?;
        record.state = state;
        let mut ws = extra;
        let mut tx = Translation::new(self, &deployed, &record, now);
        if is_new {
            let start_activity_id = effects.iter().find_map(|e| match e {
                Effect::History(HistoryEvent::ActivityStarted {
                    activity_id,
                    activity_type,
                    ..
                }) if activity_type.to_ascii_lowercase().contains("start") => {
                    Some(activity_id.clone())
                }
                _ => None,
            });
            tx.historic_instance = Some(HistoricProcessInstance {
                id: record.state.id.clone(),
                business_key: record.state.business_key.clone(),
                process_definition_id: deployed.record.id.clone(),
                process_definition_key: deployed.record.key.clone(),
                process_definition_name: deployed.record.name.clone(),
                process_definition_version: deployed.record.version,
                start_time: now,
                end_time: None,
                start_user_id: initiator,
                start_activity_id,
                delete_reason: None,
                super_process_instance_id: record
                    .state
                    .super_instance
                    .as_ref()
                    .map(|s| s.process_instance_id.clone()),
                root_process_instance_id: self.root_instance_id(&record),
                tenant_id: record.tenant_id.clone(),
                state: "ACTIVE".to_owned(),
            });
        }
        for effect in &effects {
            tx.apply(effect, &mut ws, after)?;
        }
        let ended = !record.state.is_active();
        if ended {
            tx.end_instance(&mut ws, after)?;
            ws.delete(Tree::Instances, index::id_key(&record.state.id));
        } else {
            ws.put(Tree::Instances, index::id_key(&record.state.id), &record);
        }
        tx.finish(&mut ws);
        self.inner.store.commit(&ws).map_err(store_error)?;
        Ok(Outcome {
            instance: record,
            ended,
        })
    }

    fn root_instance_id(&self, record: &ProcessInstance) -> String {
        let mut current = record.state.super_instance.clone();
        let mut root = record.state.id.clone();
        // Bounded walk: a call hierarchy deeper than this is a modelling loop.
        for _ in 0..64 {
            let Some(sup) = current else { break };
            root = sup.process_instance_id.clone();
            current = self
                .inner
                .store
                .get::<ProcessInstance>(Tree::Instances, &index::id_key(&sup.process_instance_id))
                .ok()
                .flatten()
                .and_then(|p| p.state.super_instance);
        }
        root
    }

    /// Perform what lies outside the store, after the commit.
    pub(crate) fn after_commit(
        &self,
        after: AfterCommit,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            for event in after.events {
                self.emit(event);
            }
            if after.tasks_available {
                self.inner.task_available.notify_waiters();
            }
            if after.wake_scheduler {
                self.inner.scheduler_wake.notify_one();
            }
            if !after.wasm_tasks.is_empty() {
                for task_id in after.wasm_tasks {
                    let me = self.clone();
                    tokio::spawn(async move { me.run_wasm_task(task_id).await });
                }
            }
            for seq in after.outbox {
                self.process_outbox_entry(seq).await;
            }
        })
    }

    /// Perform one outbox entry and remove it.
    pub(crate) fn process_outbox_entry(
        &self,
        seq: u64,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let key = outbox_key(seq);
            let entry: OutboxEntry = match self.inner.store.get(Tree::Outbox, &key) {
                Ok(Some(e)) => e,
                Ok(None) => return,
                Err(e) => {
                    tracing::error!("outbox entry {seq} unreadable: {e}");
                    return;
                }
            };
            if let Err(e) = self.perform_outbox_entry(entry).await {
                tracing::warn!("outbox entry {seq} failed: {e}");
            }
            let mut ws = WriteSet::new();
            ws.delete(Tree::Outbox, key);
            if let Err(e) = self.inner.store.commit(&ws) {
                tracing::error!("cannot remove outbox entry {seq}: {e}");
            }
        })
    }

    async fn perform_outbox_entry(&self, entry: OutboxEntry) -> Result<()> {
        match entry {
            OutboxEntry::StartChild {
                parent_instance_id,
                parent_definition_id,
                activity_instance_id,
                activity_id,
                child_instance_id,
                process_key,
                binding,
                business_key,
                variables,
                tenant_id,
            } => {
                let resolved = self
                    .resolve_called_definition(
                        &process_key,
                        &binding,
                        &parent_definition_id,
                        tenant_id.as_deref(),
                    )
                    .await;
                match resolved {
                    Ok(deployed) => {
                        self.start_new_instance(
                            deployed,
                            child_instance_id,
                            business_key,
                            Some(SuperInstance {
                                process_instance_id: parent_instance_id,
                                activity_instance_id,
                            }),
                            variables,
                            None,
                            None,
                        )
                        .await?;
                    }
                    Err(e) => {
                        self.raise_instance_incident(
                            &parent_instance_id,
                            &activity_instance_id,
                            &activity_id,
                            crate::records::IncidentType::FailedJob,
                            format!("call activity cannot start process '{process_key}': {e}"),
                            None,
                        )
                        .await?;
                    }
                }
                Ok(())
            }
            OutboxEntry::ChildCompleted {
                parent_instance_id,
                activity_instance_id,
                variables,
            } => {
                let result = self
                    .run_command(
                        &parent_instance_id,
                        Command::ChildCompleted {
                            activity_instance_id,
                            variables,
                        },
                        WriteSet::new(),
                        AfterCommit::default(),
                    )
                    .await;
                match result {
                    Ok(_) | Err(ProcessEngineError::NotFound(_)) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            OutboxEntry::CancelChild { child_instance_id } => {
                match self
                    .cancel_instance(&child_instance_id, Some("call activity canceled".into()))
                    .await
                {
                    Ok(()) | Err(ProcessEngineError::NotFound(_)) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            OutboxEntry::Signal { name, variables } => {
                self.deliver_signal(&name, variables, None).await
            }
        }
    }
}
