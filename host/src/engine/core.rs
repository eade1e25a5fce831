//! The engine's internals (placeholder bodies until the executor lands).
#![allow(missing_docs)]

use std::sync::Arc;

use baton_bpmn::{Definitions, Process, Variables};

use super::*;
use crate::records::*;

/// Engine configuration.
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    pub data_dir: std::path::PathBuf,
}

/// A live engine event.
#[derive(Debug, Clone)]
pub enum EngineEvent {}

fn pending(op: &str) -> ProcessEngineError {
    ProcessEngineError::Internal(format!("{op} is not implemented yet"))
}

pub(super) struct Inner {
    events: tokio::sync::broadcast::Sender<EngineEvent>,
}

impl Inner {
    pub(super) async fn open(_config: EngineConfig) -> Result<Arc<Inner>> {
        let (events, _) = tokio::sync::broadcast::channel(1024);
        Ok(Arc::new(Inner { events }))
    }
    pub(super) async fn shutdown(&self) -> Result<()> { Ok(()) }
    pub(super) fn now(&self) -> i64 { 0 }
    pub(super) fn subscribe_events(&self) -> tokio::sync::broadcast::Receiver<EngineEvent> { self.events.subscribe() }
    pub(super) async fn deploy(&self, _request: DeployRequest) -> Result<DeployResult> {
        Err(pending("deploy"))
    }
    pub(super) async fn deployments(&self, ) -> Result<Vec<Deployment>> {
        Err(pending("deployments"))
    }
    pub(super) async fn deployment(&self, _id: &str) -> Result<Deployment> {
        Err(pending("deployment"))
    }
    pub(super) async fn resource_data(&self, _deployment_id: &str, _resource_id: &str) -> Result<Vec<u8>> {
        Err(pending("resource_data"))
    }
    pub(super) async fn delete_deployment(&self, _id: &str, _cascade: bool) -> Result<()> {
        Err(pending("delete_deployment"))
    }
    pub(super) async fn definitions(&self, ) -> Result<Vec<ProcessDefinition>> {
        Err(pending("definitions"))
    }
    pub(super) async fn definition(&self, _id: &str) -> Result<ProcessDefinition> {
        Err(pending("definition"))
    }
    pub(super) async fn latest_definition(&self, _key: &str, _tenant_id: Option<&str>,) -> Result<ProcessDefinition> {
        Err(pending("latest_definition"))
    }
    pub(super) async fn definition_xml(&self, _id: &str) -> Result<String> {
        Err(pending("definition_xml"))
    }
    pub(super) async fn definition_model(&self, _id: &str) -> Result<(Arc<Definitions>, Arc<Process>)> {
        Err(pending("definition_model"))
    }
    pub(super) async fn set_definition_suspended(&self, _id: &str, _suspended: bool, _include_instances: bool,) -> Result<()> {
        Err(pending("set_definition_suspended"))
    }
    pub(super) async fn delete_definition(&self, _id: &str, _cascade: bool) -> Result<()> {
        Err(pending("delete_definition"))
    }
    pub(super) async fn start_instance(&self, _definition: DefinitionRef, _request: StartRequest,) -> Result<StartResult> {
        Err(pending("start_instance"))
    }
    pub(super) async fn instances(&self, ) -> Result<Vec<ProcessInstance>> {
        Err(pending("instances"))
    }
    pub(super) async fn instance(&self, _id: &str) -> Result<ProcessInstance> {
        Err(pending("instance"))
    }
    pub(super) async fn delete_instance(&self, _id: &str, _reason: Option<String>) -> Result<()> {
        Err(pending("delete_instance"))
    }
    pub(super) async fn set_instance_suspended(&self, _id: &str, _suspended: bool) -> Result<()> {
        Err(pending("set_instance_suspended"))
    }
    pub(super) async fn modify_variables(&self, _instance_id: &str, _scope: Option<&str>, _modifications: Variables, _deletions: Vec<String>, _local: bool,) -> Result<()> {
        Err(pending("modify_variables"))
    }
    pub(super) async fn fetch_and_lock(&self, _request: FetchAndLockRequest) -> Result<Vec<LockedTask>> {
        Err(pending("fetch_and_lock"))
    }
    pub(super) async fn complete_external_task(&self, _id: &str, _worker_id: &str, _variables: Variables, _local_variables: Variables,) -> Result<()> {
        Err(pending("complete_external_task"))
    }
    pub(super) async fn external_task_failure(&self, _id: &str, _request: FailureRequest) -> Result<()> {
        Err(pending("external_task_failure"))
    }
    pub(super) async fn external_task_bpmn_error(&self, _id: &str, _worker_id: &str, _error_code: &str, _error_message: Option<String>, _variables: Variables,) -> Result<()> {
        Err(pending("external_task_bpmn_error"))
    }
    pub(super) async fn extend_lock(&self, _id: &str, _worker_id: &str, _new_duration: i64) -> Result<()> {
        Err(pending("extend_lock"))
    }
    pub(super) async fn lock_external_task(&self, _id: &str, _worker_id: &str, _lock_duration: i64,) -> Result<()> {
        Err(pending("lock_external_task"))
    }
    pub(super) async fn unlock_external_task(&self, _id: &str) -> Result<()> {
        Err(pending("unlock_external_task"))
    }
    pub(super) async fn set_external_task_retries(&self, _id: &str, _retries: i32) -> Result<()> {
        Err(pending("set_external_task_retries"))
    }
    pub(super) async fn set_external_task_priority(&self, _id: &str, _priority: i64) -> Result<()> {
        Err(pending("set_external_task_priority"))
    }
    pub(super) async fn external_task(&self, _id: &str) -> Result<ExternalTask> {
        Err(pending("external_task"))
    }
    pub(super) async fn external_tasks(&self, ) -> Result<Vec<ExternalTask>> {
        Err(pending("external_tasks"))
    }
    pub(super) async fn user_tasks(&self, ) -> Result<Vec<UserTask>> {
        Err(pending("user_tasks"))
    }
    pub(super) async fn user_task(&self, _id: &str) -> Result<UserTask> {
        Err(pending("user_task"))
    }
    pub(super) async fn claim_task(&self, _id: &str, _user_id: &str) -> Result<()> {
        Err(pending("claim_task"))
    }
    pub(super) async fn set_assignee(&self, _id: &str, _user_id: Option<String>) -> Result<()> {
        Err(pending("set_assignee"))
    }
    pub(super) async fn complete_user_task(&self, _id: &str, _variables: Variables) -> Result<Variables> {
        Err(pending("complete_user_task"))
    }
    pub(super) async fn task_variables(&self, _id: &str) -> Result<Variables> {
        Err(pending("task_variables"))
    }
    pub(super) async fn correlate_message(&self, _request: CorrelateRequest,) -> Result<Vec<CorrelationResult>> {
        Err(pending("correlate_message"))
    }
    pub(super) async fn signal(&self, _name: &str, _variables: Variables, _execution_id: Option<&str>,) -> Result<()> {
        Err(pending("signal"))
    }
    pub(super) async fn incidents(&self, ) -> Result<Vec<Incident>> {
        Err(pending("incidents"))
    }
    pub(super) async fn incident(&self, _id: &str) -> Result<Incident> {
        Err(pending("incident"))
    }
    pub(super) async fn resolve_incident(&self, _id: &str) -> Result<()> {
        Err(pending("resolve_incident"))
    }
    pub(super) async fn set_incident_annotation(&self, _id: &str, _annotation: Option<String>) -> Result<()> {
        Err(pending("set_incident_annotation"))
    }
    pub(super) async fn historic_process_instances(&self, ) -> Result<Vec<HistoricProcessInstance>> {
        Err(pending("historic_process_instances"))
    }
    pub(super) async fn historic_activity_instances(&self, _process_instance_id: Option<&str>,) -> Result<Vec<HistoricActivityInstance>> {
        Err(pending("historic_activity_instances"))
    }
    pub(super) async fn historic_variables(&self, _process_instance_id: Option<&str>,) -> Result<Vec<HistoricVariableInstance>> {
        Err(pending("historic_variables"))
    }
    pub(super) async fn historic_incidents(&self, ) -> Result<Vec<Incident>> {
        Err(pending("historic_incidents"))
    }
    pub(super) async fn user_operations(&self, ) -> Result<Vec<UserOperation>> {
        Err(pending("user_operations"))
    }
    pub(super) async fn delete_historic_process_instance(&self, _id: &str) -> Result<()> {
        Err(pending("delete_historic_process_instance"))
    }
    pub(super) async fn module(&self, _topic: &str) -> Result<TaskModule> {
        Err(pending("module"))
    }
    pub(super) async fn module_bytes(&self, _topic: &str) -> Result<Vec<u8>> {
        Err(pending("module_bytes"))
    }
    pub(super) async fn modules(&self, ) -> Result<Vec<TaskModule>> {
        Err(pending("modules"))
    }
    pub(super) async fn delete_module(&self, _topic: &str) -> Result<()> {
        Err(pending("delete_module"))
    }
    pub(super) async fn create_user(&self, _user: User, _password: Option<String>) -> Result<()> {
        Err(pending("create_user"))
    }
    pub(super) async fn users(&self, ) -> Result<Vec<User>> {
        Err(pending("users"))
    }
    pub(super) async fn delete_user(&self, _id: &str) -> Result<()> {
        Err(pending("delete_user"))
    }
    pub(super) async fn create_group(&self, _group: Group) -> Result<()> {
        Err(pending("create_group"))
    }
    pub(super) async fn groups(&self, ) -> Result<Vec<Group>> {
        Err(pending("groups"))
    }
    pub(super) async fn add_group_member(&self, _group_id: &str, _user_id: &str) -> Result<()> {
        Err(pending("add_group_member"))
    }
    pub(super) async fn authenticate(&self, _user_id: &str, _password: &str) -> Result<Option<User>> {
        Err(pending("authenticate"))
    }
    pub(super) async fn has_users(&self, ) -> Result<bool> {
        Err(pending("has_users"))
    }
    pub(super) async fn put_module(&self, _topic: &str, _bytes: Vec<u8>, _limits: ModuleLimits, _deployment_id: Option<String>) -> Result<TaskModule> {
        Err(pending("put_module"))
    }
}
