//! The process engine service: everything the REST API, the CLI and the tests can ask of
//! baton. It owns the executor (commands applied to instances through the pure
//! `baton_bpmn::StateMachine`, committed to the store with their effects, effects performed after
//! commit), the job/timer scheduler, long-poll waiters, wasm dispatch and the event stream.
//!
//! Concurrency: commands on different instances run concurrently; commands on one instance are
//! serialized by a per-instance async lock. Every mutating call returns only after its writes
//! are durable (group commit), unless durability was relaxed in the configuration.

mod types;

pub use types::*;

use std::sync::Arc;

use baton_bpmn::{Definitions, Process, Variables};

use crate::records::{
    Deployment, ExternalTask, Group, HistoricActivityInstance, HistoricProcessInstance,
    HistoricVariableInstance, Incident, ModuleLimits, ProcessDefinition, ProcessInstance,
    TaskModule, User, UserOperation, UserTask,
};

mod core;
mod deploy;
mod executor;
mod external;
mod index;
mod jobs;
mod runtime;
#[cfg(test)]
mod tests;

pub use self::core::{EngineConfig, EngineEvent};

/// The process engine. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct ProcessEngine {
    inner: Arc<core::Inner>,
}

impl ProcessEngine {
    /// Open (or create) the engine on the store at `config.data_dir`, recover in-flight work
    /// (due timers, expired locks, pending wasm executions, outbox) and start its background
    /// loops on the current tokio runtime.
    pub async fn open(config: EngineConfig) -> Result<ProcessEngine> {
        let inner = core::Inner::open(config).await?;
        Ok(ProcessEngine { inner })
    }

    /// Start stopping: parked long polls are answered at once (Camunda's "Request rejected due
    /// to shutdown of application server.") and new ones are refused. Call it when the stop
    /// signal arrives, before waiting for in-flight requests; then call [`ProcessEngine::shutdown`].
    pub fn begin_shutdown(&self) {
        self.inner.begin_shutdown()
    }

    /// Resolves once the engine has started stopping: long-lived responses (event streams) end
    /// on it so a graceful stop is not held open by them.
    pub async fn stopping(&self) {
        let mut rx = self.inner.stop.subscribe();
        let _ = rx.wait_for(|stopping| *stopping).await;
    }

    /// Stop background loops and flush the store. In-flight commands finish first.
    pub async fn shutdown(&self) -> Result<()> {
        self.inner.shutdown().await
    }

    /// Run every job and timer due at the clock's current time, and return expired locks to
    /// the queue; returns how many jobs ran. The background scheduler does this on its own;
    /// tests that move a `ManualClock` call it to make time-driven behaviour deterministic.
    pub async fn tick(&self) -> Result<usize> {
        self.inner.tick().await
    }

    /// The engine's counters and sizes now.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.metrics_snapshot()
    }

    /// The log captured from an in-engine (wasm) task's executions, oldest line first.
    pub async fn task_log(&self, task_id: &str) -> Result<Vec<String>> {
        self.inner.task_log(task_id)
    }

    /// Current time of the engine's clock (ms since epoch).
    pub fn now(&self) -> i64 {
        self.inner.now()
    }

    /// Live engine events (instance started/ended, activity entered/left, task
    /// created/completed, incident raised/resolved) for the SSE stream and the cockpit.
    pub fn subscribe_events(&self) -> tokio::sync::broadcast::Receiver<EngineEvent> {
        self.inner.subscribe_events()
    }

    // ---------------------------------------------------------------- deployments

    /// Deploy resources (with Camunda's duplicate filtering rules).
    pub async fn deploy(&self, request: DeployRequest) -> Result<DeployResult> {
        self.inner.deploy(request).await
    }

    /// All deployments, oldest first.
    pub async fn deployments(&self) -> Result<Vec<Deployment>> {
        self.inner.deployments().await
    }

    /// One deployment.
    pub async fn deployment(&self, id: &str) -> Result<Deployment> {
        self.inner.deployment(id).await
    }

    /// The bytes of one resource of a deployment.
    pub async fn resource_data(&self, deployment_id: &str, resource_id: &str) -> Result<Vec<u8>> {
        self.inner.resource_data(deployment_id, resource_id).await
    }

    /// Delete a deployment; with `cascade`, its running instances too (else refuse if any).
    pub async fn delete_deployment(&self, id: &str, cascade: bool) -> Result<()> {
        self.inner.delete_deployment(id, cascade).await
    }

    // ---------------------------------------------------------------- definitions

    /// All process definitions, every version.
    pub async fn definitions(&self) -> Result<Vec<ProcessDefinition>> {
        self.inner.definitions().await
    }

    /// One definition by id.
    pub async fn definition(&self, id: &str) -> Result<ProcessDefinition> {
        self.inner.definition(id).await
    }

    /// The latest version of a key (for the tenant given, or without tenant).
    pub async fn latest_definition(
        &self,
        key: &str,
        tenant_id: Option<&str>,
    ) -> Result<ProcessDefinition> {
        self.inner.latest_definition(key, tenant_id).await
    }

    /// The BPMN XML a definition was deployed from.
    pub async fn definition_xml(&self, id: &str) -> Result<String> {
        self.inner.definition_xml(id).await
    }

    /// The parsed model of a definition's resource (diagram, form fields, element names).
    pub async fn definition_model(&self, id: &str) -> Result<(Arc<Definitions>, Arc<Process>)> {
        self.inner.definition_model(id).await
    }

    /// Suspend or activate a definition (and optionally its instances).
    pub async fn set_definition_suspended(
        &self,
        id: &str,
        suspended: bool,
        include_instances: bool,
    ) -> Result<()> {
        self.inner
            .set_definition_suspended(id, suspended, include_instances)
            .await
    }

    /// Delete a definition; with `cascade`, its instances too.
    pub async fn delete_definition(&self, id: &str, cascade: bool) -> Result<()> {
        self.inner.delete_definition(id, cascade).await
    }

    /// Start an instance and run it to its first wait states.
    pub async fn start_instance(
        &self,
        definition: DefinitionRef,
        request: StartRequest,
    ) -> Result<StartResult> {
        self.inner.start_instance(definition, request).await
    }

    // ---------------------------------------------------------------- instances

    /// All running process instances.
    pub async fn instances(&self) -> Result<Vec<ProcessInstance>> {
        self.inner.instances().await
    }

    /// One running process instance.
    pub async fn instance(&self, id: &str) -> Result<ProcessInstance> {
        self.inner.instance(id).await
    }

    /// Cancel a running instance (history: `EXTERNALLY_TERMINATED`).
    pub async fn delete_instance(&self, id: &str, reason: Option<String>) -> Result<()> {
        self.inner.delete_instance(id, reason).await
    }

    /// Suspend or activate an instance.
    pub async fn set_instance_suspended(&self, id: &str, suspended: bool) -> Result<()> {
        self.inner.set_instance_suspended(id, suspended).await
    }

    /// Set and delete variables of an instance. `scope` is an execution or activity instance
    /// id inside it (`None` = the process instance); `local` writes exactly on that scope.
    pub async fn modify_variables(
        &self,
        instance_id: &str,
        scope: Option<&str>,
        modifications: Variables,
        deletions: Vec<String>,
        local: bool,
    ) -> Result<()> {
        self.inner
            .modify_variables(instance_id, scope, modifications, deletions, local)
            .await
    }

    // ---------------------------------------------------------------- external tasks

    /// Fetch and lock tasks; waits up to `async_response_timeout` when none is available.
    pub async fn fetch_and_lock(&self, request: FetchAndLockRequest) -> Result<Vec<LockedTask>> {
        self.inner.fetch_and_lock(request).await
    }

    /// Complete an external task locked by `worker_id`.
    pub async fn complete_external_task(
        &self,
        id: &str,
        worker_id: &str,
        variables: Variables,
        local_variables: Variables,
    ) -> Result<()> {
        self.inner
            .complete_external_task(id, worker_id, variables, local_variables)
            .await
    }

    /// Report a failure (retries, back-off; 0 retries raises an incident).
    pub async fn external_task_failure(&self, id: &str, request: FailureRequest) -> Result<()> {
        self.inner.external_task_failure(id, request).await
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
        self.inner
            .external_task_bpmn_error(id, worker_id, error_code, error_message, variables)
            .await
    }

    /// Extend the lock of a task held by `worker_id` to now + `new_duration` ms.
    pub async fn extend_lock(&self, id: &str, worker_id: &str, new_duration: i64) -> Result<()> {
        self.inner.extend_lock(id, worker_id, new_duration).await
    }

    /// Lock one task for `worker_id` (fails if another worker holds an unexpired lock).
    pub async fn lock_external_task(
        &self,
        id: &str,
        worker_id: &str,
        lock_duration: i64,
    ) -> Result<()> {
        self.inner
            .lock_external_task(id, worker_id, lock_duration)
            .await
    }

    /// Remove the lock of a task (no worker check) and wake long-pollers.
    pub async fn unlock_external_task(&self, id: &str) -> Result<()> {
        self.inner.unlock_external_task(id).await
    }

    /// Set retries (creates an incident at 0, resolves it above 0).
    pub async fn set_external_task_retries(&self, id: &str, retries: i32) -> Result<()> {
        self.inner.set_external_task_retries(id, retries).await
    }

    /// Set the priority.
    pub async fn set_external_task_priority(&self, id: &str, priority: i64) -> Result<()> {
        self.inner.set_external_task_priority(id, priority).await
    }

    /// One external task.
    pub async fn external_task(&self, id: &str) -> Result<ExternalTask> {
        self.inner.external_task(id).await
    }

    /// All external tasks.
    pub async fn external_tasks(&self) -> Result<Vec<ExternalTask>> {
        self.inner.external_tasks().await
    }

    // ---------------------------------------------------------------- user tasks

    /// All open user tasks.
    pub async fn user_tasks(&self) -> Result<Vec<UserTask>> {
        self.inner.user_tasks().await
    }

    /// One user task.
    pub async fn user_task(&self, id: &str) -> Result<UserTask> {
        self.inner.user_task(id).await
    }

    /// Claim a task for `user_id` (fails if someone else has it).
    pub async fn claim_task(&self, id: &str, user_id: &str) -> Result<()> {
        self.inner.claim_task(id, user_id).await
    }

    /// Remove the assignee.
    pub async fn unclaim_task(&self, id: &str) -> Result<()> {
        self.inner.set_assignee(id, None).await
    }

    /// Set (or clear) the assignee without a claim check.
    pub async fn set_assignee(&self, id: &str, user_id: Option<String>) -> Result<()> {
        self.inner.set_assignee(id, user_id).await
    }

    /// Complete a user task; returns the process variables afterwards.
    pub async fn complete_user_task(&self, id: &str, variables: Variables) -> Result<Variables> {
        self.inner.complete_user_task(id, variables).await
    }

    /// Variables visible from a user task.
    pub async fn task_variables(&self, id: &str) -> Result<Variables> {
        self.inner.task_variables(id).await
    }

    // ---------------------------------------------------------------- messages and signals

    /// Correlate a message to waiting executions or message start events.
    pub async fn correlate_message(
        &self,
        request: CorrelateRequest,
    ) -> Result<Vec<CorrelationResult>> {
        self.inner.correlate_message(request).await
    }

    /// Broadcast a signal (or deliver it to one execution).
    pub async fn signal(
        &self,
        name: &str,
        variables: Variables,
        execution_id: Option<&str>,
    ) -> Result<()> {
        self.inner.signal(name, variables, execution_id).await
    }

    // ---------------------------------------------------------------- incidents

    /// All open incidents.
    pub async fn incidents(&self) -> Result<Vec<Incident>> {
        self.inner.incidents().await
    }

    /// One open incident.
    pub async fn incident(&self, id: &str) -> Result<Incident> {
        self.inner.incident(id).await
    }

    /// Resolve an incident (for external tasks: retries back to 1).
    pub async fn resolve_incident(&self, id: &str) -> Result<()> {
        self.inner.resolve_incident(id).await
    }

    /// Set or clear an incident's annotation.
    pub async fn set_incident_annotation(
        &self,
        id: &str,
        annotation: Option<String>,
    ) -> Result<()> {
        self.inner.set_incident_annotation(id, annotation).await
    }

    // ---------------------------------------------------------------- history

    /// Historic process instances (running and ended).
    pub async fn historic_process_instances(&self) -> Result<Vec<HistoricProcessInstance>> {
        self.inner.historic_process_instances().await
    }

    /// One historic process instance by id (`NotFound` if there is none).
    pub async fn historic_process_instance(&self, id: &str) -> Result<HistoricProcessInstance> {
        self.inner.historic_process_instance(id).await
    }

    /// Historic activity instances, of one process instance or of all.
    pub async fn historic_activity_instances(
        &self,
        process_instance_id: Option<&str>,
    ) -> Result<Vec<HistoricActivityInstance>> {
        self.inner
            .historic_activity_instances(process_instance_id)
            .await
    }

    /// Historic variable instances, of one process instance or of all.
    pub async fn historic_variables(
        &self,
        process_instance_id: Option<&str>,
    ) -> Result<Vec<HistoricVariableInstance>> {
        self.inner.historic_variables(process_instance_id).await
    }

    /// Incidents, open and resolved.
    pub async fn historic_incidents(&self) -> Result<Vec<Incident>> {
        self.inner.historic_incidents().await
    }

    /// The user operation log.
    pub async fn user_operations(&self) -> Result<Vec<UserOperation>> {
        self.inner.user_operations().await
    }

    /// Delete the history of an ended instance.
    pub async fn delete_historic_process_instance(&self, id: &str) -> Result<()> {
        self.inner.delete_historic_process_instance(id).await
    }

    // ---------------------------------------------------------------- wasm task modules

    /// Bind a wasm component to a topic (validated and compiled before it is stored).
    pub async fn put_module(
        &self,
        topic: &str,
        bytes: Vec<u8>,
        limits: ModuleLimits,
    ) -> Result<TaskModule> {
        self.inner.put_module(topic, bytes, limits, None).await
    }

    /// The module bound to a topic.
    pub async fn module(&self, topic: &str) -> Result<TaskModule> {
        self.inner.module(topic).await
    }

    /// The component bytes bound to a topic.
    pub async fn module_bytes(&self, topic: &str) -> Result<Vec<u8>> {
        self.inner.module_bytes(topic).await
    }

    /// All modules.
    pub async fn modules(&self) -> Result<Vec<TaskModule>> {
        self.inner.modules().await
    }

    /// Unbind a topic's module (its tasks go to remote workers from then on).
    pub async fn delete_module(&self, topic: &str) -> Result<()> {
        self.inner.delete_module(topic).await
    }

    // ---------------------------------------------------------------- identity

    /// Create or replace a user (password hashed before storing).
    pub async fn create_user(&self, user: User, password: Option<String>) -> Result<()> {
        self.inner.create_user(user, password).await
    }

    /// All users (password hashes removed).
    pub async fn users(&self) -> Result<Vec<User>> {
        self.inner.users().await
    }

    /// Delete a user.
    pub async fn delete_user(&self, id: &str) -> Result<()> {
        self.inner.delete_user(id).await
    }

    /// Create or replace a group.
    pub async fn create_group(&self, group: Group) -> Result<()> {
        self.inner.create_group(group).await
    }

    /// All groups.
    pub async fn groups(&self) -> Result<Vec<Group>> {
        self.inner.groups().await
    }

    /// Add a user to a group.
    pub async fn add_group_member(&self, group_id: &str, user_id: &str) -> Result<()> {
        self.inner.add_group_member(group_id, user_id).await
    }

    /// Check a user's password; returns the user (with groups) when it matches.
    pub async fn authenticate(&self, user_id: &str, password: &str) -> Result<Option<User>> {
        self.inner.authenticate(user_id, password).await
    }

    /// Whether any user exists (auth can only be enforced when one does).
    pub async fn has_users(&self) -> Result<bool> {
        self.inner.has_users().await
    }
}
