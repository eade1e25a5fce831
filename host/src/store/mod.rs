//! Storage: every byte baton keeps on disk goes through this module, and nothing outside it
//! names a backend.
//!
//! The boundary is a set of traits shaped by what the engine asks, one per aggregate, in the
//! style of restate's storage traits: external tasks (fetch-and-lock and lock expiry),
//! instances, user tasks, jobs, event subscriptions, incidents, history, deployments and
//! definitions, task modules, identity and the outbox. The engine reads typed records through
//! them and stages typed changes into a [`WriteSet`], which it commits as one atomic unit
//! ([`Store::commit`], then [`Store::sync`] before acknowledging). Nothing outside this module
//! builds a key or names a tree: the key layouts live in `kv/index.rs`.
//!
//! Both backends live in [`kv`](self::kv): sled, embedded, the default and what `baton run`
//! uses; and PostgreSQL (`--database`), which several nodes share. They differ only below the
//! key-value layer, so the engine does not change (see docs/architecture.md).
//!
//! Must not: perform effects (a transaction closure may re-run), or scan inside a transaction.

mod authorizations;
pub mod batches;
pub mod codec;
mod decisions;
pub mod history_logs;
mod kv;
pub mod metrics;
pub mod tasklist;
pub mod tenants;

pub use self::authorizations::AuthorizationStore;
pub use self::batches::BatchStore;
pub use self::decisions::DecisionStore;
pub use self::history_logs::HistoryLogStore;
pub use self::kv::{
    ClusterLock, Durability, FORMAT_VERSION, MAX_EVENT_PAYLOAD, RemoteChange, Store, WriteSet,
    log_segment_end,
};
pub use self::metrics::MetricsStore;
pub use self::tasklist::TasklistStore;
pub use self::tenants::TenantStore;

pub(crate) use crate::records::WASM_WORKER;

use crate::like::LikePattern;

use crate::records::{
    Deployment, EventSubscription, EventType, ExternalTask, Group, HistoricActivityInstance,
    HistoricProcessInstance, HistoricVariableInstance, Incident, Job, ProcessDefinition,
    ProcessInstance, TaskModule, User, UserOperation, UserTask,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A storage failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The backend reported an error (I/O, a corrupt file, a lost connection).
    #[error("storage: {0}")]
    Backend(String),
    /// A record could not be decoded (corruption or a newer format).
    #[error("corrupt record in {tree}: {message}")]
    Codec {
        /// The tree.
        tree: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The database cannot be reached (PostgreSQL down or the network gone): nothing was
    /// written; the request may be tried again once it is back (503).
    #[error("{0}")]
    Unavailable(String),
    /// The store is shutting down.
    #[error("the store is closed")]
    Closed,
    /// A record guarded with [`WriteSet::guard`] changed before the commit: nothing was written.
    #[error("conflict: a record changed concurrently")]
    Conflict,
}

/// Result alias.
pub type Result<T> = std::result::Result<T, StoreError>;

/// The version of a stored record as it was read: what a compare-and-set change is guarded
/// by. Opaque to the engine (sled: the record's encoded bytes; a SQL backend: a version
/// column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(pub(crate) Vec<u8>);

/// The order in which fetch-and-lock hands out available tasks (Camunda's `usePriority` and
/// `sorting`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockOrder {
    /// Highest priority first, then oldest first: the queue's own order, also served when a
    /// request asks for no order.
    Priority,
    /// Highest priority first, then newest first (`usePriority` with a descending
    /// `createTime` sorting).
    PriorityThenNewest,
    /// Oldest first.
    CreateTimeAsc,
    /// Newest first.
    CreateTimeDesc,
}

/// One topic of a fetch-and-lock request, as the store sees it.
#[derive(Debug, Clone)]
pub struct TopicLock {
    /// The topic.
    pub topic: String,
    /// When a lock taken under this topic expires (ms since epoch).
    pub lock_expiration_time: i64,
    /// The engine will refuse some tasks of this topic (business key, definition, tenant or
    /// variable filters), so the store should offer more candidates than `max_tasks`.
    pub filtered: bool,
}

/// What the engine's filter says of one candidate record (an available task during
/// fetch-and-lock, an instance during a query).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Lock it (if the request still wants more).
    Take,
    /// Leave it for another request.
    Skip,
    /// Stop: the filter failed; lock nothing and return no task.
    Abort,
}

/// "Lock up to `max_tasks` available tasks of these topics for `worker_id`."
#[derive(Debug, Clone)]
pub struct LockRequest<'a> {
    /// The worker that will hold the locks.
    pub worker_id: &'a str,
    /// At most this many tasks.
    pub max_tasks: usize,
    /// The topics, each with its lock expiry.
    pub topics: &'a [TopicLock],
    /// Which available tasks come first.
    pub order: LockOrder,
    /// The engine's clock: a task whose lock expired before `now` is available.
    pub now: i64,
}

/// External tasks, as the engine asks for them.
///
/// Fetch-and-lock is one operation, not a scan plus compare-and-set done by the engine, so a
/// backend with row locks implements it natively: PostgreSQL as
/// `SELECT ... WHERE topic = ANY($1) AND available ORDER BY ... LIMIT $n FOR UPDATE SKIP
/// LOCKED` followed by one `UPDATE` in the same transaction; sled as a queue-index scan and
/// one guarded transaction per task, committed together ([`Store::commit_each`]).
pub trait ExternalTaskStore {
    /// Lock up to `request.max_tasks` available tasks of `request.topics` for the worker, in
    /// `request.order`, skipping those `accept(topic_index, task)` refuses (the filters the
    /// engine evaluates); an [`Accept::Abort`] locks nothing and returns no task. Returns each locked task (its lock written) with the index of the
    /// topic it was locked under.
    ///
    /// Crash safety: a lock and its index entries commit together, so whatever a crash keeps,
    /// a locked task is findable by its lock's expiry and is not offered again before it. A
    /// task another worker took meanwhile is skipped, never locked twice. The locks are
    /// committed but not yet durable (their log record may wait in memory for the sync:
    /// [`WriteSet::awaits_sync`]): call [`Store::sync`] before promising them.
    fn lock_available(
        &self,
        request: &LockRequest<'_>,
        accept: &mut dyn FnMut(usize, &ExternalTask) -> Accept,
    ) -> Result<Vec<(ExternalTask, usize)>>;

    /// One task with the version it was read at, or `None`.
    fn external_task(&self, id: &str) -> Result<Option<(ExternalTask, Version)>>;

    /// Every external task.
    fn all_external_tasks(&self) -> Result<Vec<ExternalTask>>;

    /// The tasks the in-engine wasm runtime owns (to run again after a restart), read from
    /// their own index: restart time does not grow with the number of tasks.
    fn wasm_tasks_in_flight(&self) -> Result<Vec<ExternalTask>>;

    /// Stage in `ws` the change of task `old` (as read at `version`) to `new`, or its removal
    /// with `None`, together with its index entries. Committing `ws` fails with
    /// [`StoreError::Conflict`] and writes nothing if the task changed since it was read.
    fn stage_external_task(
        &self,
        ws: &mut WriteSet,
        old: &ExternalTask,
        version: Version,
        new: Option<&ExternalTask>,
        now: i64,
    );

    /// Return the tasks whose lock expired before `now` to the available ones; returns how
    /// many became available.
    fn reclaim_expired_locks(&self, now: i64) -> Result<usize>;

    /// When the next lock expires (ms since epoch), if any task is locked.
    fn next_lock_expiry(&self) -> Result<Option<i64>>;

    /// The external tasks of one instance.
    fn external_tasks_of_instance(&self, instance_id: &str) -> Result<Vec<ExternalTask>>;

    /// Stage writing `new` with its index entries (replacing those of `old`, the task as the
    /// caller holds it) without a guard: for changes made under the instance's lock by the
    /// instance's own commands (creation, suspension).
    fn stage_external_task_write(
        &self,
        ws: &mut WriteSet,
        old: Option<&ExternalTask>,
        new: &ExternalTask,
        now: i64,
    );

    /// Stage removing a task and its index entries, without a guard (see
    /// [`ExternalTaskStore::stage_external_task_write`]).
    fn stage_external_task_removal(&self, ws: &mut WriteSet, task: &ExternalTask);

    /// How many external tasks exist (metrics).
    fn count_external_tasks(&self) -> Result<usize>;

    /// Per topic: how many tasks a worker could fetch now, and the oldest one's create time
    /// (reading at most `limit` queue entries).
    fn waiting_by_topic(
        &self,
        limit: usize,
    ) -> Result<std::collections::HashMap<String, (u64, i64)>>;

    /// The external tasks of a topic or an instance (`None`: all), in id order within the
    /// index read, that `keep` takes, paged while reading (see
    /// [`InstanceStore::running_instances_where`]).
    fn external_tasks_where(
        &self,
        lookup: &TaskLookup<'_>,
        keep: &mut dyn FnMut(&ExternalTask) -> Accept,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<ExternalTask>>;

    /// How many external tasks `lookup` selects; from the kept counts when it names one field.
    fn count_external_tasks_where(&self, lookup: &TaskLookup<'_>) -> Result<usize>;

    /// The log lines captured from a task's in-engine executions, oldest first.
    fn task_log(&self, task_id: &str) -> Result<Vec<String>>;

    /// Stage replacing a task's captured log.
    fn stage_task_log(&self, ws: &mut WriteSet, task_id: &str, lines: &[String]);
}

/// The indexed fields of a running-instance query; `None` fields select everything. With
/// several fields set, the most selective index is read and the others are checked on the
/// records.
#[derive(Debug, Clone, Copy, Default)]
pub struct InstanceLookup<'a> {
    /// Only these instance ids.
    pub ids: Option<&'a [String]>,
    /// Only instances of definitions with this key.
    pub definition_key: Option<&'a str>,
    /// Only instances with this business key.
    pub business_key: Option<&'a str>,
    /// Only instances whose business key starts with this (the literal head of a `LIKE`).
    pub business_key_prefix: Option<&'a str>,
    /// Only instances whose business key matches this `LIKE` pattern. Without a literal head
    /// to seek to, the backend matches it against its business-key index entries and reads
    /// only the records that match, instead of decoding every running instance.
    pub business_key_like: Option<&'a LikePattern>,
}

impl InstanceLookup<'_> {
    /// Whether `instance` has the fields this lookup asks for.
    pub fn matches(&self, instance: &ProcessInstance) -> bool {
        self.ids
            .is_none_or(|ids| ids.iter().any(|i| i == instance.id()))
            && self
                .definition_key
                .is_none_or(|k| k == instance.definition_key)
            && self
                .business_key
                .is_none_or(|b| instance.state.business_key.as_deref() == Some(b))
            && self.business_key_prefix.is_none_or(|p| {
                instance
                    .state
                    .business_key
                    .as_deref()
                    .is_some_and(|b| b.starts_with(p))
            })
            && self.business_key_like.is_none_or(|p| {
                instance
                    .state
                    .business_key
                    .as_deref()
                    .is_some_and(|b| p.matches(b))
            })
    }
}

/// The indexed fields of an external or user task query (at most the most selective one is
/// read; the engine's filter checks the rest).
#[derive(Debug, Clone, Copy, Default)]
pub struct TaskLookup<'a> {
    /// External tasks: only this topic.
    pub topic: Option<&'a str>,
    /// User tasks: only this assignee.
    pub assignee: Option<&'a str>,
    /// User tasks: only unassigned tasks offered to this candidate group.
    pub candidate_group: Option<&'a str>,
    /// Only the tasks of this instance.
    pub process_instance_id: Option<&'a str>,
}

/// The indexed fields of a historic process instance query.
#[derive(Debug, Clone, Copy, Default)]
pub struct HistoricInstanceLookup<'a> {
    /// Only instances of definitions with this key.
    pub definition_key: Option<&'a str>,
    /// Only ended (`Some(true)`) or running (`Some(false)`) instances.
    pub finished: Option<bool>,
}

impl HistoricInstanceLookup<'_> {
    /// Whether `instance` has the fields this lookup asks for.
    pub fn matches(&self, instance: &HistoricProcessInstance) -> bool {
        self.definition_key
            .is_none_or(|k| k == instance.process_definition_key)
            && self
                .finished
                .is_none_or(|f| f == instance.end_time.is_some())
    }
}

/// Running process instances (the executor's aggregate: state, variables, tokens).
///
/// Serialization of commands on one instance is the engine's (a per-instance lock on one
/// node); a backend for several nodes adds its own guard (a version column or `SELECT ... FOR
/// UPDATE` on the instance row) when it commits the write set.
pub trait InstanceStore {
    /// One running instance, or `None` (never started, or ended).
    fn running_instance(&self, id: &str) -> Result<Option<ProcessInstance>>;

    /// Every running instance.
    fn running_instances(&self) -> Result<Vec<ProcessInstance>>;

    /// How many instances are running.
    fn count_running_instances(&self) -> Result<usize>;

    /// The running instances `lookup` selects, in instance id order, that `keep` takes (the
    /// filters no index serves; [`Accept::Abort`] stops the read, e.g. when the request was
    /// cancelled), skipping the first `skip` taken and returning at most `limit`. Reads only
    /// what the page needs when the lookup is selective or the page is small: this is where
    /// `firstResult`/`maxResults` are applied.
    fn running_instances_where(
        &self,
        lookup: &InstanceLookup<'_>,
        keep: &mut dyn FnMut(&ProcessInstance) -> Accept,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<ProcessInstance>>;

    /// How many running instances `lookup` selects, from the indexes alone (no record is
    /// decoded).
    fn count_running_instances_where(&self, lookup: &InstanceLookup<'_>) -> Result<usize>;

    /// Stage writing an instance's new state in `ws`; a `new` instance also gets its index
    /// entries (definition key, business key: neither changes while it runs).
    fn stage_instance(&self, ws: &mut WriteSet, instance: &ProcessInstance, new: bool);

    /// Stage removing an ended instance and its index entries in `ws`.
    fn stage_instance_end(&self, ws: &mut WriteSet, instance: &ProcessInstance);

    /// Stage removing every external task, user task, job and subscription a stored instance
    /// still owns (with their index entries). `stored` is the instance's state as stored; its
    /// waits name the external tasks. (An instance never stored owns nothing in the store.)
    /// External tasks `skip_external` names, and those `ws` already removes, are left to the
    /// caller (it holds newer versions of them, or removed them itself).
    fn stage_instance_records_removal(
        &self,
        ws: &mut WriteSet,
        instance_id: &str,
        stored: &baton_bpmn::engine::InstanceState,
        skip_external: &dyn Fn(&str) -> bool,
    ) -> Result<()>;
}

/// User tasks.
pub trait UserTaskStore {
    /// One task with the version it was read at, or `None`.
    fn user_task(&self, id: &str) -> Result<Option<(UserTask, Version)>>;

    /// Every user task.
    fn user_tasks(&self) -> Result<Vec<UserTask>>;

    /// The user tasks of one instance.
    fn user_tasks_of_instance(&self, instance_id: &str) -> Result<Vec<UserTask>>;

    /// Stage writing a task with its index entries (replacing those of `old`, the task as
    /// read); with `read_at`, committing fails with [`StoreError::Conflict`] if the task
    /// changed since it was read.
    fn stage_user_task(
        &self,
        ws: &mut WriteSet,
        task: &UserTask,
        old: Option<&UserTask>,
        read_at: Option<Version>,
    );

    /// Stage removing a task (guarded like [`UserTaskStore::stage_user_task`]).
    fn stage_user_task_removal(&self, ws: &mut WriteSet, task: &UserTask, read_at: Option<Version>);

    /// How many user tasks exist (metrics).
    fn count_user_tasks(&self) -> Result<usize>;

    /// The user tasks `lookup` selects (by assignee, candidate group or instance; `None`:
    /// all) that `keep` takes, paged while reading.
    fn user_tasks_where(
        &self,
        lookup: &TaskLookup<'_>,
        keep: &mut dyn FnMut(&UserTask) -> Accept,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<UserTask>>;

    /// How many user tasks `lookup` selects; from the kept counts when it names one field.
    fn count_user_tasks_where(&self, lookup: &TaskLookup<'_>) -> Result<usize>;
}

/// Jobs: timers, async continuations, timer starts and wasm retry back-offs, by due time.
pub trait JobStore {
    /// One job with the version it was read at, or `None`.
    fn job(&self, id: &str) -> Result<Option<(Job, Version)>>;

    /// Every job.
    fn jobs(&self) -> Result<Vec<Job>>;

    /// Up to `limit` jobs due at `now` or earlier, earliest first. Jobs without a due entry
    /// (out of retries) are not due.
    fn due_jobs(&self, now: i64, limit: usize) -> Result<Vec<Job>>;

    /// When the earliest job is due, if any.
    fn next_job_due(&self) -> Result<Option<i64>>;

    /// Stage writing `job` due at `job.due` (replacing `old`'s due entry); with `read_at`,
    /// guarded on the job as read.
    fn stage_job(&self, ws: &mut WriteSet, job: &Job, old: Option<&Job>, read_at: Option<Version>);

    /// Stage writing `job` with no due entry (out of retries: it waits for an operator);
    /// with `read_at`, guarded on the job as read.
    fn stage_job_parked(&self, ws: &mut WriteSet, job: &Job, old: &Job, read_at: Option<Version>);

    /// The jobs of one process instance (read through its index).
    fn jobs_of_instance(&self, instance_id: &str) -> Result<Vec<Job>>;

    /// Stage removing a job; with `read_at`, guarded on the job as read (a job is run once).
    fn stage_job_removal(&self, ws: &mut WriteSet, job: &Job, read_at: Option<Version>);
}

/// Message and signal subscriptions.
pub trait SubscriptionStore {
    /// One subscription, or `None`.
    fn subscription(&self, id: &str) -> Result<Option<EventSubscription>>;

    /// Every subscription.
    fn subscriptions(&self) -> Result<Vec<EventSubscription>>;

    /// The subscriptions to the event of `kind` named `name`, in creation-key order.
    fn subscriptions_named(&self, kind: EventType, name: &str) -> Result<Vec<EventSubscription>>;

    /// Stage writing a subscription with its indexes.
    fn stage_subscription(&self, ws: &mut WriteSet, subscription: &EventSubscription);

    /// Stage removing a subscription with its indexes.
    fn stage_subscription_removal(&self, ws: &mut WriteSet, subscription: &EventSubscription);
}

/// Incidents: the open ones, and all of them (history).
pub trait IncidentStore {
    /// One open incident, or `None`.
    fn open_incident(&self, id: &str) -> Result<Option<Incident>>;

    /// Every open incident.
    fn open_incidents(&self) -> Result<Vec<Incident>>;

    /// The open incidents of one instance.
    fn open_incidents_of_instance(&self, instance_id: &str) -> Result<Vec<Incident>>;

    /// Every incident, open and resolved.
    fn historic_incidents(&self) -> Result<Vec<Incident>>;

    /// Stage writing an open incident (new or changed) and its history row.
    fn stage_incident(&self, ws: &mut WriteSet, incident: &Incident);

    /// Stage resolving an incident: no longer open; its history row (with `end_time` set by
    /// the caller) stays.
    fn stage_incident_resolved(&self, ws: &mut WriteSet, incident: &Incident);

    /// How many incidents are open (metrics).
    fn count_open_incidents(&self) -> Result<usize>;

    /// The open incidents (of one instance, if given) that `keep` takes, paged while reading.
    fn open_incidents_where(
        &self,
        process_instance_id: Option<&str>,
        keep: &mut dyn FnMut(&Incident) -> Accept,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<Incident>>;
}

/// History: instances, activity instances, variables, the user operation log.
pub trait HistoryStore {
    /// One historic instance, or `None`.
    fn historic_instance(&self, id: &str) -> Result<Option<HistoricProcessInstance>>;

    /// Whether an instance with this id ever started.
    fn historic_instance_exists(&self, id: &str) -> Result<bool>;

    /// Every historic instance.
    fn historic_instances(&self) -> Result<Vec<HistoricProcessInstance>>;

    /// The historic instances `lookup` selects that `keep` takes, in id order within the
    /// index read, paged while reading.
    fn historic_instances_where(
        &self,
        lookup: &HistoricInstanceLookup<'_>,
        keep: &mut dyn FnMut(&HistoricProcessInstance) -> Accept,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<HistoricProcessInstance>>;

    /// How many historic instances `lookup` selects; from the kept counts where possible
    /// (finished = all - running).
    fn count_historic_instances_where(&self, lookup: &HistoricInstanceLookup<'_>) -> Result<usize>;

    /// One historic activity instance of an instance, or `None`.
    fn historic_activity(
        &self,
        instance_id: &str,
        activity_instance_id: &str,
    ) -> Result<Option<HistoricActivityInstance>>;

    /// The historic activity instances of one instance, or of all.
    fn historic_activities(
        &self,
        instance_id: Option<&str>,
    ) -> Result<Vec<HistoricActivityInstance>>;

    /// One historic variable (by instance, scope and name), or `None`.
    fn historic_variable(
        &self,
        instance_id: &str,
        scope_id: &str,
        name: &str,
    ) -> Result<Option<HistoricVariableInstance>>;

    /// The historic variables of one instance, or of all.
    fn historic_variables(
        &self,
        instance_id: Option<&str>,
    ) -> Result<Vec<HistoricVariableInstance>>;

    /// Stage writing a historic instance.
    fn stage_historic_instance(&self, ws: &mut WriteSet, instance: &HistoricProcessInstance);

    /// Stage writing a historic activity instance; a `created` one also gets its by-id entry.
    fn stage_historic_activity(
        &self,
        ws: &mut WriteSet,
        activity: &HistoricActivityInstance,
        created: bool,
    );

    /// Stage writing a historic variable (keyed by its instance, scope and name); a `created`
    /// one also gets its by-id entry.
    fn stage_historic_variable(
        &self,
        ws: &mut WriteSet,
        variable: &HistoricVariableInstance,
        created: bool,
    );

    /// One historic activity instance by its id, or `None`.
    fn historic_activity_by_id(&self, id: &str) -> Result<Option<HistoricActivityInstance>>;

    /// One historic variable by its id, or `None`.
    fn historic_variable_by_id(&self, id: &str) -> Result<Option<HistoricVariableInstance>>;

    /// Stage removing the history of one instance (instance, activities, variables).
    fn stage_history_removal(&self, ws: &mut WriteSet, instance_id: &str) -> Result<()>;

    /// Remove one historic variable instance (the record and its id index entry).
    fn stage_historic_variable_removal(
        &self,
        ws: &mut WriteSet,
        variable: &HistoricVariableInstance,
    );

    /// The user operation log, oldest first.
    fn user_operations(&self) -> Result<Vec<UserOperation>>;

    /// Stage appending to the user operation log.
    fn stage_user_operation(&self, ws: &mut WriteSet, operation: &UserOperation);
}

/// Deployments, their resources, and the process definitions they deployed.
pub trait DeploymentStore {
    /// One deployment, or `None`.
    fn deployment(&self, id: &str) -> Result<Option<Deployment>>;

    /// Every deployment.
    fn deployments(&self) -> Result<Vec<Deployment>>;

    /// A resource's bytes, or `None`.
    fn resource(&self, id: &str) -> Result<Option<Vec<u8>>>;

    /// Stage writing a deployment record.
    fn stage_deployment(&self, ws: &mut WriteSet, deployment: &Deployment);

    /// Stage writing a resource's bytes.
    fn stage_resource(&self, ws: &mut WriteSet, id: &str, bytes: &[u8]);

    /// Stage removing a deployment and its resources.
    fn stage_deployment_removal(&self, ws: &mut WriteSet, deployment: &Deployment);

    /// One process definition, or `None`.
    fn definition(&self, id: &str) -> Result<Option<ProcessDefinition>>;

    /// Every process definition.
    fn definitions(&self) -> Result<Vec<ProcessDefinition>>;

    /// The latest version of the definitions with this key (and tenant), or `None`.
    fn latest_definition(
        &self,
        key: &str,
        tenant: Option<&str>,
    ) -> Result<Option<ProcessDefinition>>;

    /// Stage writing a definition with its (key, tenant, version) index.
    fn stage_definition(&self, ws: &mut WriteSet, definition: &ProcessDefinition);

    /// Stage removing a definition with its index.
    fn stage_definition_removal(&self, ws: &mut WriteSet, definition: &ProcessDefinition);
}

/// Wasm task modules: the topic bindings, the versions deployments bundle, the component bytes.
pub trait ModuleStore {
    /// The module bound to a topic, or `None`.
    fn module(&self, topic: &str) -> Result<Option<TaskModule>>;

    /// Every topic binding.
    fn modules(&self) -> Result<Vec<TaskModule>>;

    /// The module a deployment bundles for a topic, or `None`.
    fn deployment_module(&self, deployment_id: &str, topic: &str) -> Result<Option<TaskModule>>;

    /// The modules a deployment bundles, with their topics.
    fn deployment_modules(&self, deployment_id: &str) -> Result<Vec<(String, TaskModule)>>;

    /// A component's bytes by sha256, or `None`.
    fn module_blob(&self, sha256: &str) -> Result<Option<Vec<u8>>>;

    /// Stage binding a module to a topic.
    fn stage_module(&self, ws: &mut WriteSet, topic: &str, module: &TaskModule);

    /// Stage removing a topic binding.
    fn stage_module_removal(&self, ws: &mut WriteSet, topic: &str);

    /// Stage storing a component's bytes (content-addressed).
    fn stage_module_blob(&self, ws: &mut WriteSet, sha256: &str, bytes: &[u8]);

    /// Stage recording the module a deployment bundles for a topic.
    fn stage_deployment_module(
        &self,
        ws: &mut WriteSet,
        deployment_id: &str,
        topic: &str,
        module: &TaskModule,
    );

    /// Stage forgetting the module a deployment bundles for a topic.
    fn stage_deployment_module_removal(&self, ws: &mut WriteSet, deployment_id: &str, topic: &str);
}

/// Users and groups.
pub trait IdentityStore {
    /// One user, or `None`.
    fn user(&self, id: &str) -> Result<Option<User>>;

    /// Every user.
    fn users(&self) -> Result<Vec<User>>;

    /// Whether any user exists.
    fn has_users(&self) -> Result<bool>;

    /// Stage writing a user.
    fn stage_user(&self, ws: &mut WriteSet, user: &User);

    /// Stage removing a user.
    fn stage_user_removal(&self, ws: &mut WriteSet, id: &str);

    /// One group, or `None`.
    fn group(&self, id: &str) -> Result<Option<Group>>;

    /// Every group.
    fn groups(&self) -> Result<Vec<Group>>;

    /// Stage writing a group.
    fn stage_group(&self, ws: &mut WriteSet, group: &Group);

    /// Stage removing a group.
    fn stage_group_removal(&self, ws: &mut WriteSet, id: &str);
}

/// Cross-instance effects written with the command that caused them and performed after
/// commit (again after a restart), in sequence order.
pub trait OutboxStore {
    /// Stage an entry; returns its sequence number.
    fn stage_outbox_entry<T: Serialize>(&self, ws: &mut WriteSet, entry: &T) -> Result<u64>;

    /// One entry, or `None` once performed.
    fn outbox_entry<T: DeserializeOwned>(&self, sequence: u64) -> Result<Option<T>>;

    /// The sequence numbers of every entry not yet performed, in order.
    fn outbox_sequences(&self) -> Result<Vec<u64>>;

    /// Stage removing a performed entry.
    fn stage_outbox_done(&self, ws: &mut WriteSet, sequence: u64);

    /// A new unique, increasing number (ordering history rows written in one command).
    fn next_sequence(&self) -> Result<u64>;
}

/// A stored record's key, opaque to the engine: what removes exactly that record later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey(pub(crate) Vec<u8>);

/// Failure notifications: rules, the outbox of events (staged with the change that caused
/// them), deliveries with their due index, and grouping windows. The record types belong to
/// the engine's notifications room; the store only keeps them.
pub trait NotificationStore {
    /// Every rule.
    fn notification_rules<T: DeserializeOwned>(&self) -> Result<Vec<T>>;

    /// One rule, or `None`.
    fn notification_rule<T: DeserializeOwned>(&self, id: &str) -> Result<Option<T>>;

    /// How many rules exist.
    fn count_notification_rules(&self) -> Result<usize>;

    /// Stage writing a rule.
    fn stage_notification_rule<T: Serialize>(&self, ws: &mut WriteSet, id: &str, rule: &T);

    /// Stage removing a rule.
    fn stage_notification_rule_removal(&self, ws: &mut WriteSet, id: &str);

    /// Stage an event in the outbox; needs no read (keyed by time and a random id).
    fn stage_notification_event<T: Serialize>(&self, ws: &mut WriteSet, time: i64, event: &T);

    /// Up to `limit` staged events, oldest first, with their keys; an unreadable one is
    /// `Err` (with its key, so it can be dropped).
    fn notification_events<T: DeserializeOwned>(
        &self,
        limit: usize,
    ) -> Result<Vec<(StoredKey, Result<T>)>>;

    /// Stage removing a staged event (folded into deliveries, or unreadable).
    fn stage_notification_event_removal(&self, ws: &mut WriteSet, key: &StoredKey);

    /// The grouping window of (rule, event kind, group), or `None`.
    fn notification_group<T: DeserializeOwned>(
        &self,
        rule_id: &str,
        kind: &str,
        group: &str,
    ) -> Result<Option<T>>;

    /// Stage writing a grouping window.
    fn stage_notification_group<T: Serialize>(
        &self,
        ws: &mut WriteSet,
        rule_id: &str,
        kind: &str,
        group: &str,
        window: &T,
    );

    /// One delivery by sequence, or `None`.
    fn notification_delivery<T: DeserializeOwned>(&self, seq: u64) -> Result<Option<T>>;

    /// Stage writing a delivery; `due` adds it to the due index (`None`: finished), `old_due`
    /// removes its previous entry.
    fn stage_notification_delivery<T: Serialize>(
        &self,
        ws: &mut WriteSet,
        seq: u64,
        delivery: &T,
        due: Option<i64>,
        old_due: Option<i64>,
    );

    /// Stage removing a delivery (finished ones are pruned).
    fn stage_notification_delivery_removal(&self, ws: &mut WriteSet, seq: u64);

    /// Stage removing a due entry whose delivery is gone.
    fn stage_notification_due_removal(&self, ws: &mut WriteSet, due: i64, seq: u64);

    /// Up to `limit` due entries (due time, sequence) with due before `until`, earliest first.
    fn due_notifications(&self, until: i64, limit: usize) -> Result<Vec<(i64, u64)>>;

    /// Every delivery, oldest first.
    fn notification_deliveries<T: DeserializeOwned>(&self) -> Result<Vec<T>>;

    /// The oldest `limit` deliveries with their sequence numbers.
    fn oldest_notification_deliveries<T: DeserializeOwned>(
        &self,
        limit: usize,
    ) -> Result<Vec<(u64, T)>>;

    /// How many deliveries are kept, and how many of them are due.
    fn count_notification_deliveries(&self) -> Result<(usize, usize)>;
}
