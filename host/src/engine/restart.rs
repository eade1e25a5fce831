//! Restarting finished process instances (Camunda's `RestartProcessInstancesCmd`): for each
//! historic instance of a definition that has ended, a new instance of the same definition
//! starts at the given instructions, with the old one's business key (unless told not to)
//! and its variables (their last values, or with `initialVariables` those it started with).
//!
//! Every id is checked before the first instance starts, so a bad id changes nothing; the
//! new instances are then started one by one (each its own durable commit), or, with
//! `restart-async`, by a batch (type `instance-restart`), one invocation per old instance.
//! A batch invocation names its new instance by the batch and the old instance (a name-based
//! UUID), so an invocation run again after a crash finds the instance it already started
//! instead of starting a second one.

use std::collections::{HashMap, HashSet};

use baton_bpmn::Variables;
use baton_bpmn::engine::ModificationInstruction;

use super::executor::InstanceStart;
use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::{HistoricProcessInstance, HistoryLog, HistoryLogKind};
use crate::store::batches::{Batch, BatchOperation};
use crate::store::{Accept, HistoryLogStore};

/// Most instances one synchronous restart takes (each is a start and a commit).
pub const MAX_RESTART_INSTANCES: usize = 1_000;

/// What to restart and how (Camunda's `RestartProcessInstanceDto`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RestartRequest {
    /// The finished instances to start again.
    pub process_instance_ids: Vec<String>,
    /// Where the new instances start (start instructions: before or after an activity, on a
    /// transition), applied to the fresh instance scope instead of a start event.
    pub instructions: Vec<ModificationInstruction>,
    /// Use the variables the old instance started with, not their last values.
    pub initial_variables: bool,
    /// Start without the old instance's business key.
    pub without_business_key: bool,
    /// Do not run custom listeners (the instance's and the instructions').
    pub skip_custom_listeners: bool,
    /// Do not apply input/output mappings.
    pub skip_io_mappings: bool,
}

fn bad(message: impl Into<String>) -> ProcessEngineError {
    ProcessEngineError::BadRequest(message.into())
}

/// A restart batch's work: the definition and how to start (the old instances are the
/// batch's targets; `request.process_instance_ids` is empty).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RestartBatch {
    /// The definition the new instances belong to.
    pub definition_id: String,
    /// Instructions and options.
    pub request: RestartRequest,
}

/// The id of the instance a restart batch starts for `old`: the same for every run of the
/// invocation, distinct per batch and old instance.
fn restarted_id(batch_id: &str, old: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("restart\0{batch_id}\0{old}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

impl ProcessEngine {
    /// Restart the finished instances `request` names as new instances of `definition_id`;
    /// returns the new instances' ids in the order of the request.
    pub async fn restart_instances(
        &self,
        definition_id: &str,
        request: RestartRequest,
    ) -> Result<Vec<String>> {
        if request.process_instance_ids.len() > MAX_RESTART_INSTANCES {
            return Err(bad(format!(
                "At most {MAX_RESTART_INSTANCES} process instances per restart"
            )));
        }
        let (deployed, old) = self.restart_checked(definition_id, &request).await?;
        let initial = if request.initial_variables {
            Some(self.initial_variables_of(&old)?)
        } else {
            None
        };
        let mut started = Vec::with_capacity(old.len());
        for historic in &old {
            let variables = match &initial {
                Some(by_instance) => by_instance.get(&historic.id).cloned().unwrap_or_default(),
                None => self.last_variables_of(historic).await?,
            };
            let id = self
                .restart_one(
                    deployed.clone(),
                    historic,
                    variables,
                    &request,
                    super::core::new_id(),
                )
                .await?;
            started.push(id);
        }
        Ok(started)
    }

    /// Check a restart as the synchronous one does, then leave the starting to a batch
    /// (Camunda's `restart-async`).
    pub async fn restart_instances_async(
        &self,
        definition_id: &str,
        mut request: RestartRequest,
    ) -> Result<Batch> {
        if request.process_instance_ids.len() > super::batches::MAX_BATCH_TARGETS {
            return Err(bad(format!(
                "A batch holds at most {} targets",
                super::batches::MAX_BATCH_TARGETS
            )));
        }
        let (deployed, old) = self.restart_checked(definition_id, &request).await?;
        let targets = old.into_iter().map(|h| h.id).collect();
        request.process_instance_ids.clear();
        self.create_batch(
            BatchOperation::Restart(RestartBatch {
                definition_id: deployed.record.id.clone(),
                request,
            }),
            targets,
            None,
        )
        .await
    }

    /// One invocation of a restart batch: start `old` again (once, however often this runs).
    pub(crate) async fn restart_invocation(
        &self,
        batch_id: &str,
        work: &RestartBatch,
        old: &str,
    ) -> Result<()> {
        let definition = self.definition(&work.definition_id).await?;
        if definition.suspended {
            return Err(ProcessEngineError::Suspended(format!(
                "Process definition {} is suspended",
                definition.id
            )));
        }
        let deployed = self.deployed_sync(&definition.id)?;
        let historic = self.finished_instance_of(old, &definition.id).await?;
        let variables = if work.request.initial_variables {
            let mut variables = Variables::new();
            for log in self
                .inner
                .store
                .history_logs_of_instance(old, HistoryLogKind::Detail)?
            {
                if let HistoryLog::Detail(d) = log
                    && d.initial
                {
                    variables.insert(d.variable_name, d.value);
                }
            }
            variables
        } else {
            self.last_variables_of(&historic).await?
        };
        let new_id = restarted_id(batch_id, old);
        match self
            .restart_one(deployed, &historic, variables, &work.request, new_id)
            .await
        {
            Ok(_) => Ok(()),
            // Started by an earlier run of this invocation and already ended since.
            Err(ProcessEngineError::Engine(m)) if m.ends_with("already existed") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The checks both restarts make before anything starts: the request, the definition and
    /// every old instance (unknown, still running, of another definition).
    async fn restart_checked(
        &self,
        definition_id: &str,
        request: &RestartRequest,
    ) -> Result<(
        std::sync::Arc<super::core::Deployed>,
        Vec<HistoricProcessInstance>,
    )> {
        if request.instructions.is_empty() {
            return Err(bad(
                "Restart instructions cannot be empty: instructions is empty",
            ));
        }
        if request
            .instructions
            .iter()
            .any(|i| matches!(i, ModificationInstruction::Cancel(_)))
        {
            return Err(bad(
                "Restart instructions start tokens: 'cancel' is not a restart instruction",
            ));
        }
        if request.process_instance_ids.is_empty() {
            return Err(bad(
                "Process instance ids cannot be empty: Process instance ids is empty",
            ));
        }
        let definition = self.definition(definition_id).await?;
        if definition.suspended {
            return Err(ProcessEngineError::Suspended(format!(
                "Process definition {} is suspended",
                definition.id
            )));
        }
        let deployed = self.deployed_sync(&definition.id)?;
        let mut old = Vec::with_capacity(request.process_instance_ids.len());
        let mut seen = HashSet::with_capacity(request.process_instance_ids.len());
        for id in &request.process_instance_ids {
            if seen.insert(id.as_str()) {
                old.push(self.finished_instance_of(id, &definition.id).await?);
            }
        }
        Ok((deployed, old))
    }

    /// A historic instance that may be restarted as an instance of `definition_id`.
    async fn finished_instance_of(
        &self,
        id: &str,
        definition_id: &str,
    ) -> Result<HistoricProcessInstance> {
        let historic = match self.historic_process_instance(id).await {
            Ok(h) => h,
            Err(ProcessEngineError::NotFound(_)) => {
                return Err(bad(
                    "Historic process instance cannot be found: historicProcessInstanceId is null",
                ));
            }
            Err(e) => return Err(e),
        };
        if historic.end_time.is_none() {
            return Err(bad(format!(
                "Historic process instance {id} cannot be restarted: it is still running"
            )));
        }
        if historic.process_definition_id != definition_id {
            return Err(bad(format!(
                "Its process definition '{}' does not match given process definition '{}'",
                historic.process_definition_id, definition_id
            )));
        }
        Ok(historic)
    }

    /// Start one new instance for a finished one, with `variables`, under `new_id`.
    async fn restart_one(
        &self,
        deployed: std::sync::Arc<super::core::Deployed>,
        historic: &HistoricProcessInstance,
        variables: Variables,
        request: &RestartRequest,
        new_id: String,
    ) -> Result<String> {
        let business_key = if request.without_business_key {
            None
        } else {
            historic.business_key.clone()
        };
        let outcome = self
            .start_new_instance(
                deployed,
                super::executor::StartId::Given(new_id),
                business_key,
                None,
                variables,
                InstanceStart::Activities {
                    instructions: request.instructions.clone(),
                    skip_custom_listeners: request.skip_custom_listeners,
                    skip_io_mappings: request.skip_io_mappings,
                },
                None,
            )
            .await?;
        Ok(outcome.instance.id().to_owned())
    }

    /// The process-scope variables of a finished instance, at their last values.
    async fn last_variables_of(&self, historic: &HistoricProcessInstance) -> Result<Variables> {
        let mut variables = Variables::new();
        for v in self.historic_variables(Some(&historic.id)).await? {
            if v.activity_instance_id == historic.id && v.state != "DELETED" {
                variables.insert(v.name, v.value);
            }
        }
        Ok(variables)
    }

    /// The variables each instance started with (variable updates marked `initial`), in one
    /// pass over the variable updates whatever the number of instances.
    fn initial_variables_of(
        &self,
        old: &[HistoricProcessInstance],
    ) -> Result<HashMap<String, Variables>> {
        let wanted: HashSet<&str> = old.iter().map(|h| h.id.as_str()).collect();
        let mut out: HashMap<String, Variables> = HashMap::new();
        let mut keep = |log: &HistoryLog| match log {
            HistoryLog::Detail(d)
                if d.initial && wanted.contains(d.process_instance_id.as_str()) =>
            {
                Accept::Take
            }
            _ => Accept::Skip,
        };
        let details = self.inner.store.history_logs_where(
            HistoryLogKind::Detail,
            &mut keep,
            0,
            usize::MAX,
        )?;
        for log in details {
            if let HistoryLog::Detail(d) = log {
                out.entry(d.process_instance_id)
                    .or_default()
                    .insert(d.variable_name, d.value);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::restarted_id;

    #[test]
    fn a_restart_invocation_names_the_same_instance_every_time_it_runs() {
        let first = restarted_id("batch-1", "old-1");
        assert_eq!(first, restarted_id("batch-1", "old-1"));
        assert_ne!(first, restarted_id("batch-2", "old-1"));
        assert_ne!(first, restarted_id("batch-1", "old-2"));
        let parsed = uuid::Uuid::parse_str(&first).expect("a UUID");
        assert_eq!(parsed.get_version_num(), 8);
    }
}
