//! Running variable instances (`/variable-instance`): the variables of running process
//! instances, one per scope (the instance, or an activity instance holding local variables),
//! with the id their history record carries (Camunda shows the same id in both). Read from
//! the instances' state, so values are always the current ones; a finished instance has none.

use std::collections::BTreeMap;

use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::ProcessInstance;
use crate::store::{HistoryStore, InstanceStore, UserTaskStore};
use baton_bpmn::Value;

/// One running variable (`VariableInstanceDto`).
#[derive(Debug, Clone)]
pub struct VariableInstanceView {
    /// Variable instance id (that of its history record).
    pub id: String,
    /// Name.
    pub name: String,
    /// Current value.
    pub value: Value,
    /// Process instance.
    pub process_instance_id: String,
    /// Process definition.
    pub process_definition_id: String,
    /// The process definition's key (what authorizations name).
    pub process_definition_key: String,
    /// The scope: the instance id, or the activity instance of a local variable.
    pub activity_instance_id: String,
    /// The scope's execution.
    pub execution_id: String,
    /// The user task whose local variable it is.
    pub task_id: Option<String>,
    /// Tenant.
    pub tenant_id: Option<String>,
}

impl ProcessEngine {
    /// The variables of one running instance, scope by scope (process level first).
    fn variables_of(&self, instance: &ProcessInstance) -> Result<Vec<VariableInstanceView>> {
        let store = &self.inner.store;
        let pi = instance.id();
        let ids: BTreeMap<(String, String), String> = store
            .historic_variables(Some(pi))?
            .into_iter()
            .filter(|h| h.state != "DELETED")
            .map(|h| ((h.activity_instance_id, h.name), h.id))
            .collect();
        let tasks: BTreeMap<String, String> = store
            .user_tasks_of_instance(pi)?
            .into_iter()
            .map(|t| (t.activity_instance_id, t.id))
            .collect();
        let mut scopes: Vec<_> = instance.state.activity_instances.values().collect();
        // The instance's own scope first, then activity instances in id (creation) order.
        scopes.sort_by_key(|ai| (ai.id != pi, ai.id.clone()));
        let mut out = Vec::new();
        for ai in scopes {
            for (name, value) in &ai.variables {
                // A variable's id is its history row's. Without one (history level below
                // audit, or a store of a release before variable history) the id is made
                // of the instance, the scope and the name: [`Self::variable_instance`]
                // finds the instance by its first part.
                let id = ids
                    .get(&(ai.id.clone(), name.clone()))
                    .cloned()
                    .unwrap_or_else(|| {
                        if ai.id == pi {
                            format!("{pi}:{name}")
                        } else {
                            format!("{pi}:{}:{name}", ai.id)
                        }
                    });
                out.push(VariableInstanceView {
                    id,
                    name: name.clone(),
                    value: value.clone(),
                    process_instance_id: pi.to_owned(),
                    process_definition_id: instance.definition_id.clone(),
                    process_definition_key: instance.definition_key.clone(),
                    activity_instance_id: ai.id.clone(),
                    execution_id: ai.execution_id.clone(),
                    task_id: tasks.get(&ai.id).cloned(),
                    tenant_id: instance.tenant_id.clone(),
                });
            }
        }
        Ok(out)
    }

    /// The running variables of the given instances (unknown or finished ones have none), or
    /// of every running instance.
    pub fn variable_instances(
        &self,
        instance_ids: Option<&[String]>,
    ) -> Result<Vec<VariableInstanceView>> {
        let store = &self.inner.store;
        let instances: Vec<ProcessInstance> = match instance_ids {
            Some(ids) => {
                let mut found = Vec::new();
                for id in ids {
                    if let Some(i) = store.running_instance(id)? {
                        found.push(i);
                    }
                }
                found
            }
            None => store.running_instances()?,
        };
        let mut out = Vec::new();
        for instance in &instances {
            out.extend(self.variables_of(instance)?);
        }
        Ok(out)
    }

    /// One running variable by id.
    pub fn variable_instance(&self, id: &str) -> Result<VariableInstanceView> {
        let missing = || {
            ProcessEngineError::NotFound(format!(
                "Variable instance with Id '{id}' does not exist."
            ))
        };
        let store = &self.inner.store;
        let instance_id = match store.historic_variable_by_id(id)? {
            Some(h) => h.process_instance_id,
            // An id made of the instance, scope and name (see `variables_of`).
            None => id.split(':').next().ok_or_else(missing)?.to_owned(),
        };
        let instance = store.running_instance(&instance_id)?.ok_or_else(missing)?;
        self.variables_of(&instance)?
            .into_iter()
            .find(|v| v.id == id)
            .ok_or_else(missing)
    }
}
