//! History: historic instances, activities, variables and incidents, the user operation log.

use super::core::new_id;
use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::{
    HistoricActivityInstance, HistoricProcessInstance, HistoricVariableInstance, Incident,
    UserOperation,
};
use crate::store::index;
use crate::store::{Tree, WriteSet};

impl ProcessEngine {
    /// Historic process instances (running and ended).
    pub async fn historic_process_instances(&self) -> Result<Vec<HistoricProcessInstance>> {
        let mut all: Vec<HistoricProcessInstance> =
            self.inner.store.scan(Tree::HistoricInstances, b"")?;
        all.sort_by(|a, b| a.start_time.cmp(&b.start_time).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    /// One historic process instance by id (`NotFound` if there is none).
    ///
    /// One historic process instance, read by key (no scan).
    pub async fn historic_process_instance(&self, id: &str) -> Result<HistoricProcessInstance> {
        self.inner
            .store
            .get(Tree::HistoricInstances, &index::id_key(id))?
            .ok_or_else(|| {
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
        let prefix = process_instance_id
            .map(index::instance_prefix)
            .unwrap_or_default();
        let mut all: Vec<HistoricActivityInstance> =
            self.inner.store.scan(Tree::HistoricActivities, &prefix)?;
        all.sort_by_key(|h| h.sequence);
        Ok(all)
    }

    /// Historic variable instances, of one process instance or of all.
    pub async fn historic_variables(
        &self,
        process_instance_id: Option<&str>,
    ) -> Result<Vec<HistoricVariableInstance>> {
        let prefix = process_instance_id
            .map(index::instance_prefix)
            .unwrap_or_default();
        Ok(self.inner.store.scan(Tree::HistoricVariables, &prefix)?)
    }

    /// Incidents, open and resolved.
    pub async fn historic_incidents(&self) -> Result<Vec<Incident>> {
        let mut all: Vec<Incident> = self.inner.store.scan(Tree::HistoricIncidents, b"")?;
        all.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    /// The user operation log.
    pub async fn user_operations(&self) -> Result<Vec<UserOperation>> {
        Ok(self.inner.store.scan(Tree::UserOperations, b"")?)
    }

    /// Delete the history of an ended instance.
    pub async fn delete_historic_process_instance(&self, id: &str) -> Result<()> {
        let h: HistoricProcessInstance = self
            .inner
            .store
            .get(Tree::HistoricInstances, &index::id_key(id))?
            .ok_or_else(|| {
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
        ws.delete(Tree::HistoricInstances, index::id_key(id));
        for k in self.inner.store.scan_keys(
            Tree::HistoricActivities,
            &index::instance_prefix(id),
            usize::MAX,
        )? {
            ws.delete(Tree::HistoricActivities, k);
        }
        for k in self.inner.store.scan_keys(
            Tree::HistoricVariables,
            &index::instance_prefix(id),
            usize::MAX,
        )? {
            ws.delete(Tree::HistoricVariables, k);
        }
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
        };
        ws.put(
            Tree::UserOperations,
            crate::store::keys::Key::new().i64(now).str(&op.id).build(),
            &op,
        );
    }
}
