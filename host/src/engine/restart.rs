//! Restarting finished process instances (Camunda's `RestartProcessInstancesCmd`): for each
//! historic instance of a definition that has ended, a new instance of the same definition
//! starts at the given instructions, with the old one's business key (unless told not to)
//! and its variables (their last values, or with `initialVariables` those it started with).
//!
//! Every id is checked before the first instance starts, so a bad id changes nothing; the
//! new instances are then started one by one (each its own durable commit).

use std::collections::{HashMap, HashSet};

use baton_bpmn::Variables;
use baton_bpmn::engine::ModificationInstruction;

use super::executor::InstanceStart;
use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::{HistoricProcessInstance, HistoryLog, HistoryLogKind};
use crate::store::{Accept, HistoryLogStore};

/// Most instances one synchronous restart takes (each is a start and a commit).
pub const MAX_RESTART_INSTANCES: usize = 1_000;

/// What to restart and how (Camunda's `RestartProcessInstanceDto`).
#[derive(Debug, Clone, Default)]
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

impl ProcessEngine {
    /// Restart the finished instances `request` names as new instances of `definition_id`;
    /// returns the new instances' ids in the order of the request.
    pub async fn restart_instances(
        &self,
        definition_id: &str,
        request: RestartRequest,
    ) -> Result<Vec<String>> {
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
        if request.process_instance_ids.len() > MAX_RESTART_INSTANCES {
            return Err(bad(format!(
                "At most {MAX_RESTART_INSTANCES} process instances per restart"
            )));
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
        for id in &request.process_instance_ids {
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
            if historic.process_definition_id != definition.id {
                return Err(bad(format!(
                    "Its process definition '{}' does not match given process definition '{}'",
                    historic.process_definition_id, definition.id
                )));
            }
            old.push(historic);
        }
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
            let business_key = if request.without_business_key {
                None
            } else {
                historic.business_key.clone()
            };
            let outcome = self
                .start_new_instance(
                    deployed.clone(),
                    super::core::new_id(),
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
            let id = outcome.instance.id().to_owned();
            started.push(id);
        }
        Ok(started)
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
