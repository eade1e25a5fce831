//! Process instances: starting, reading, cancelling, suspending, and setting variables.

use super::executor::AfterCommit;
use super::executor::StartId;
use super::{DefinitionRef, ProcessEngine, ProcessEngineError, Result, StartRequest, StartResult};
use crate::records::{ProcessDefinition, ProcessInstance};
use crate::store::{
    Accept, ExternalTaskStore, HistoryStore, InstanceLookup, InstanceStore, JobStore,
    UserTaskStore, WriteSet,
};
use baton_bpmn::Variables;
use baton_bpmn::engine::Command;

impl ProcessEngine {
    /// Cancel a running instance (REST delete, call-activity cancellation, cascade deletes).
    pub(crate) async fn cancel_instance(&self, id: &str, reason: Option<String>) -> Result<()> {
        self.run_command(
            id,
            Command::Cancel { reason },
            WriteSet::new(),
            AfterCommit::default(),
        )
        .await
        .map(|_| ())
    }

    /// Start an instance and run it to its first wait states.
    pub async fn start_instance(
        &self,
        definition: DefinitionRef,
        request: StartRequest,
    ) -> Result<StartResult> {
        let record: ProcessDefinition = match &definition {
            DefinitionRef::Id(id) => self.definition(id).await?,
            DefinitionRef::Key { key, tenant_id } => {
                self.latest_definition(key, tenant_id.as_deref()).await?
            }
        };
        if record.suspended {
            return Err(ProcessEngineError::Suspended(format!(
                "Cannot instantiate process definition {}: Process definition {} is suspended",
                record.id, record.id
            )));
        }
        let deployed = self.deployed_sync(&record.id)?;
        if let Some(business_key) = &request.business_key
            && business_key.contains('\0')
        {
            return Err(ProcessEngineError::BadRequest(
                "businessKey must not contain NUL".into(),
            ));
        }
        let outcome = self
            .start_new_instance(
                deployed,
                StartId::Fresh,
                request.business_key,
                None,
                request.variables,
                super::executor::InstanceStart::Event(request.start_activity_id),
                request.initiator,
            )
            .await
            .map_err(|e| match e {
                ProcessEngineError::Engine(m) => ProcessEngineError::Engine(format!(
                    "Cannot instantiate process definition {}: {m}",
                    record.id
                )),
                ProcessEngineError::UnhandledBpmnError(m) => ProcessEngineError::Engine(format!(
                    "Cannot instantiate process definition {}: {m}",
                    record.id
                )),
                other => other,
            })?;
        Ok(StartResult {
            ended: outcome.ended,
            instance: outcome.instance,
        })
    }

    /// All running process instances.
    pub async fn instances(&self) -> Result<Vec<ProcessInstance>> {
        Ok(self.inner.store.running_instances()?)
    }

    /// The running instances a query selects: `lookup` names the indexed fields, `keep` the
    /// rest of the filter; in instance id order, `skip`/`limit` applied while reading, so a
    /// page of a selective query reads only that page.
    pub fn instances_where(
        &self,
        lookup: &InstanceLookup<'_>,
        keep: &mut dyn FnMut(&ProcessInstance) -> Accept,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<ProcessInstance>> {
        Ok(self
            .inner
            .store
            .running_instances_where(lookup, keep, skip, limit)?)
    }

    /// How many running instances `lookup` selects, counted on the indexes.
    pub fn count_instances_where(&self, lookup: &InstanceLookup<'_>) -> Result<usize> {
        Ok(self.inner.store.count_running_instances_where(lookup)?)
    }

    /// One running process instance.
    pub async fn instance(&self, id: &str) -> Result<ProcessInstance> {
        self.inner.store.running_instance(id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!("Process instance with id {id} does not exist"))
        })
    }

    /// Cancel a running instance (history: `EXTERNALLY_TERMINATED`).
    pub async fn delete_instance(&self, id: &str, reason: Option<String>) -> Result<()> {
        let mut log = WriteSet::new();
        self.user_operation(&mut log, "Delete", "ProcessInstance", id, Some(id), None);
        self.run_command(id, Command::Cancel { reason }, log, AfterCommit::default())
            .await
            .map(|_| ())
    }

    /// Suspend or activate an instance.
    pub async fn set_instance_suspended(&self, id: &str, suspended: bool) -> Result<()> {
        let guard = self.lock_instance(id).await?;
        let mut record = self.instance(id).await?;
        if record.suspended == suspended {
            return Ok(());
        }
        record.suspended = suspended;
        let now = self.now();
        let mut ws = WriteSet::new();
        self.inner.store.stage_instance(&mut ws, &record, false);
        // The history shows SUSPENDED as Camunda's does, written with the suspension so that
        // history reads never have to consult the running instances.
        let store = &self.inner.store;
        if let Some(mut h) = store.historic_instance(id)?
            && h.end_time.is_none()
        {
            h.state = if suspended { "SUSPENDED" } else { "ACTIVE" }.to_owned();
            store.stage_historic_instance(&mut ws, &h);
        }
        let mut wasm_to_run = Vec::new();
        for task in store.external_tasks_of_instance(id)? {
            let mut new = task.clone();
            new.suspended = suspended;
            store.stage_external_task_write(&mut ws, Some(&task), &new, now);
            if !suspended && new.module_sha256.is_some() {
                wasm_to_run.push(new.id.clone());
            }
        }
        for task in store.user_tasks_of_instance(id)? {
            let mut new = task.clone();
            new.suspended = suspended;
            store.stage_user_task(&mut ws, &new, Some(&task), None);
        }
        // Its jobs too (Camunda's rule): a suspended job has no due entry, so its timers and
        // async continuations wait; on activation a job with retries left is due again.
        for job in store.jobs_of_instance(id)? {
            let mut new = job.clone();
            new.suspended = suspended;
            if new.retries > 0 || suspended {
                store.stage_job(&mut ws, &new, Some(&job), None);
            } else {
                store.stage_job_parked(&mut ws, &new, &job, None);
            }
        }
        self.inner.store.commit(&ws)?;
        drop(guard);
        self.inner.store.sync().await?;
        let after = AfterCommit {
            tasks_available: !suspended,
            wake_scheduler: !suspended,
            wasm_tasks: wasm_to_run,
            ..AfterCommit::default()
        };
        self.after_commit(after).await;
        Ok(())
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
        let record = self.instance(instance_id).await?;
        let scope_id = match scope {
            None => None,
            Some(s) if s == instance_id => None,
            Some(s) => Some(
                record
                    .state
                    .activity_instances
                    .values()
                    .find(|ai| ai.id == s || ai.execution_id == s)
                    .map(|ai| ai.id.clone())
                    .ok_or_else(|| {
                        ProcessEngineError::NotFound(format!("execution {s} does not exist"))
                    })?,
            ),
        };
        self.run_command(
            instance_id,
            Command::SetVariables {
                activity_instance_id: scope_id,
                variables: modifications,
                local,
                deletions,
            },
            WriteSet::new(),
            AfterCommit::default(),
        )
        .await
        .map(|_| ())
    }
}
