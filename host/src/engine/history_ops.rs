//! Operator changes to history: deleting historic variable instances (one, or all of a
//! process instance) and annotating user operation log entries. Each is one small write set
//! plus its own user operation entry, as Camunda logs them.

use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::UserOperation;
use crate::store::{HistoryStore, WriteSet};

impl ProcessEngine {
    /// Delete one historic variable instance.
    pub async fn delete_historic_variable(&self, id: &str) -> Result<()> {
        let v = self
            .inner
            .store
            .historic_variable_by_id(id)?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!(
                    "No historic variable instance found with id: {id}"
                ))
            })?;
        let mut ws = WriteSet::new();
        self.inner.store.stage_historic_variable_removal(&mut ws, &v);
        self.user_operation(
            &mut ws,
            "DeleteHistory",
            "Variable",
            id,
            Some(&v.process_instance_id),
            Some(format!("name={}", v.name)),
        );
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Delete every historic variable instance of a (running or ended) process instance;
    /// how many went.
    pub async fn delete_historic_variables_of(&self, instance_id: &str) -> Result<usize> {
        if !self.inner.store.historic_instance_exists(instance_id)? {
            return Err(ProcessEngineError::NotFound(format!(
                "No historic process instance found with id: {instance_id}"
            )));
        }
        let vars = self.inner.store.historic_variables(Some(instance_id))?;
        let mut ws = WriteSet::new();
        for v in &vars {
            self.inner.store.stage_historic_variable_removal(&mut ws, v);
        }
        self.user_operation(
            &mut ws,
            "DeleteHistory",
            "Variable",
            instance_id,
            Some(instance_id),
            Some(format!("nrOfVariableInstances={}", vars.len())),
        );
        self.inner.store.commit_durable(&ws).await?;
        Ok(vars.len())
    }

    /// Set (or, with `None`, clear) the annotation of a user operation log entry; logs a
    /// `SetAnnotation` / `ClearAnnotation` entry of its own.
    pub async fn annotate_user_operation(
        &self,
        operation_id: &str,
        annotation: Option<String>,
    ) -> Result<()> {
        let mut op: UserOperation = self
            .inner
            .store
            .user_operations()?
            .into_iter()
            .find(|o| o.id == operation_id)
            .ok_or_else(|| ProcessEngineError::BadUserRequest("operation is null".into()))?;
        let kind = if annotation.is_some() {
            "SetAnnotation"
        } else {
            "ClearAnnotation"
        };
        op.annotation = annotation;
        let mut ws = WriteSet::new();
        self.inner.store.stage_user_operation(&mut ws, &op);
        self.user_operation(
            &mut ws,
            kind,
            "OperationLog",
            operation_id,
            op.process_instance_id.as_deref(),
            op.annotation.as_ref().map(|a| format!("annotation={a}")),
        );
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }
}
