//! Operator changes to history: deleting historic variable instances (one, or all of a
//! process instance) and annotating user operation log entries. Each is one small write set
//! plus its own user operation entry, as Camunda logs them. Also the identity link log
//! writer that user task changes call.

use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::{HistoryLog, HistoryLogKind, IdentityLinkLog, UserOperation, UserTask};
use crate::store::{Accept, HistoryLogStore, HistoryStore, WriteSet};

impl ProcessEngine {
    /// History log entries of a kind in creation order that `keep` takes, paged while
    /// reading.
    pub fn history_logs_where(
        &self,
        kind: HistoryLogKind,
        keep: &mut dyn FnMut(&HistoryLog) -> Accept,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<HistoryLog>> {
        Ok(self
            .inner
            .store
            .history_logs_where(kind, keep, skip, limit)?)
    }

    /// One history log entry.
    pub fn history_log(&self, kind: HistoryLogKind, id: &str) -> Result<Option<HistoryLog>> {
        Ok(self.inner.store.history_log(kind, id)?)
    }

    /// Stage the identity link log entries of a user task change (`old` is `None` for a new
    /// task): assignee, owner and candidate users and groups added or removed. Only
    /// differences are written; an unchanged task writes nothing.
    pub(crate) fn log_identity_links(
        &self,
        ws: &mut WriteSet,
        old: Option<&UserTask>,
        new: &UserTask,
    ) {
        if !self.history_level().keeps_details() {
            return;
        }
        let now = self.now();
        let mut entry = |link_type: &str, user: Option<&str>, group: Option<&str>, op: &str| {
            let log = IdentityLinkLog {
                id: super::core::new_id(),
                time: now,
                link_type: link_type.to_owned(),
                user_id: user.map(str::to_owned),
                group_id: group.map(str::to_owned),
                task_id: new.id.clone(),
                process_instance_id: new.process_instance_id.clone(),
                process_definition_id: new.process_definition_id.clone(),
                process_definition_key: new.process_definition_key.clone(),
                operation_type: op.to_owned(),
                assigner_id: None,
                tenant_id: new.tenant_id.clone(),
            };
            self.inner
                .store
                .stage_history_log(ws, &HistoryLog::IdentityLink(log));
        };
        for (link_type, before, after) in [
            (
                "assignee",
                old.and_then(|o| o.assignee.as_deref()),
                new.assignee.as_deref(),
            ),
            (
                "owner",
                old.and_then(|o| o.owner.as_deref()),
                new.owner.as_deref(),
            ),
        ] {
            if before != after {
                if let Some(b) = before {
                    entry(link_type, Some(b), None, "delete");
                }
                if let Some(a) = after {
                    entry(link_type, Some(a), None, "add");
                }
            }
        }
        let empty = Vec::new();
        let (old_users, old_groups) = old.map_or((&empty, &empty), |o| {
            (&o.candidate_users, &o.candidate_groups)
        });
        for u in old_users
            .iter()
            .filter(|u| !new.candidate_users.contains(u))
        {
            entry("candidate", Some(u), None, "delete");
        }
        for u in new
            .candidate_users
            .iter()
            .filter(|u| !old_users.contains(u))
        {
            entry("candidate", Some(u), None, "add");
        }
        for g in old_groups
            .iter()
            .filter(|g| !new.candidate_groups.contains(g))
        {
            entry("candidate", None, Some(g), "delete");
        }
        for g in new
            .candidate_groups
            .iter()
            .filter(|g| !old_groups.contains(g))
        {
            entry("candidate", None, Some(g), "add");
        }
    }

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
        self.inner
            .store
            .stage_historic_variable_removal(&mut ws, &v);
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
