//! History: historic instances, activities, variables and incidents, the user operation log.

use super::core::new_id;
use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::{
    HistoricActivityInstance, HistoricProcessInstance, HistoricVariableInstance, Incident,
    UserOperation,
};
use crate::store::{Accept, HistoricInstanceLookup, HistoryStore, IncidentStore, WriteSet};

impl ProcessEngine {
    /// The historic instances `lookup` selects that `keep` takes, paged while reading.
    pub fn historic_process_instances_where(
        &self,
        lookup: &HistoricInstanceLookup<'_>,
        keep: &mut dyn FnMut(&HistoricProcessInstance) -> Accept,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<HistoricProcessInstance>> {
        Ok(self
            .inner
            .store
            .historic_instances_where(lookup, keep, skip, limit)?)
    }

    /// How many historic instances `lookup` selects, from the kept counts.
    pub fn count_historic_process_instances_where(
        &self,
        lookup: &HistoricInstanceLookup<'_>,
    ) -> Result<usize> {
        Ok(self.inner.store.count_historic_instances_where(lookup)?)
    }

    /// Historic process instances (running and ended).
    pub async fn historic_process_instances(&self) -> Result<Vec<HistoricProcessInstance>> {
        let mut all = self.inner.store.historic_instances()?;
        all.sort_by(|a, b| a.start_time.cmp(&b.start_time).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    /// One historic process instance by id (`NotFound` if there is none), read by key.
    pub async fn historic_process_instance(&self, id: &str) -> Result<HistoricProcessInstance> {
        self.inner.store.historic_instance(id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!(
                "Historic process instance with id {id} does not exist"
            ))
        })
    }

    /// Historic activity instances, of one process instance or of all.
    pub async fn historic_activity_instances(
        &self,
        process_instance_id: Option<&str>,
    ) -> Result<Vec<HistoricActivityInstance>> {
        let mut all = self.inner.store.historic_activities(process_instance_id)?;
        all.sort_by_key(|h| h.sequence);
        Ok(all)
    }

    /// One historic activity instance by id, read by key (no scan).
    pub async fn historic_activity_instance(&self, id: &str) -> Result<HistoricActivityInstance> {
        self.inner
            .store
            .historic_activity_by_id(id)?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!(
                    "Historic activity instance with id {id} does not exist"
                ))
            })
    }

    /// One historic variable instance by id, read by key (no scan).
    pub async fn historic_variable(&self, id: &str) -> Result<HistoricVariableInstance> {
        self.inner
            .store
            .historic_variable_by_id(id)?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!(
                    "Historic variable instance with Id '{id}' does not exist."
                ))
            })
    }

    /// Historic variable instances, of one process instance or of all.
    pub async fn historic_variables(
        &self,
        process_instance_id: Option<&str>,
    ) -> Result<Vec<HistoricVariableInstance>> {
        Ok(self.inner.store.historic_variables(process_instance_id)?)
    }

    /// Incidents, open and resolved.
    pub async fn historic_incidents(&self) -> Result<Vec<Incident>> {
        let mut all = self.inner.store.historic_incidents()?;
        all.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    /// The user operation log.
    pub async fn user_operations(&self) -> Result<Vec<UserOperation>> {
        Ok(self.inner.store.user_operations()?)
    }

    /// Delete the history of an ended instance.
    pub async fn delete_historic_process_instance(&self, id: &str) -> Result<()> {
        let h = self.inner.store.historic_instance(id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!(
                "No historic process instance found with id: {id}"
            ))
        })?;
        if h.end_time.is_none() {
            return Err(ProcessEngineError::BadRequest(format!(
                "Process instance {id} is still running"
            )));
        }
        let mut ws = WriteSet::new();
        self.inner.store.stage_history_removal(&mut ws, id)?;
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Add a user operation (who did what) to `ws`, so the log entry lands in the same commit
    /// as the change it records.
    pub(crate) fn user_operation(
        &self,
        ws: &mut WriteSet,
        operation: &str,
        entity: &str,
        entity_id: &str,
        instance_id: Option<&str>,
        details: Option<String>,
    ) {
        if !self.history_level().keeps_details() {
            return;
        }
        let now = self.now();
        let op = UserOperation {
            id: new_id(),
            user_id: None,
            timestamp: now,
            operation_type: operation.to_owned(),
            entity_type: entity.to_owned(),
            entity_id: entity_id.to_owned(),
            process_instance_id: instance_id.map(str::to_owned),
            details,
            annotation: None,
        };
        self.inner.store.stage_user_operation(ws, &op);
    }
}
