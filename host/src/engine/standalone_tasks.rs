//! Standalone tasks (`POST /task/create`): user tasks that belong to no process. They are
//! plain [`UserTask`] records with empty process fields, so the task query, claim, assignee,
//! comments and attachments work on them unchanged; completing one removes it (there is no
//! process to continue), and so does deleting it. A task of a process cannot be deleted
//! (Camunda's rule and text).

use super::core::new_id;
use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::UserTask;
use crate::store::{UserTaskStore, WriteSet};

/// The attributes a new standalone task gets (Camunda's `TaskDto` fields it reads).
#[derive(Debug, Clone, Default)]
pub struct NewTask {
    /// The id (generated when absent).
    pub id: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Assignee.
    pub assignee: Option<String>,
    /// Owner.
    pub owner: Option<String>,
    /// `PENDING`, `RESOLVED` or none.
    pub delegation_state: Option<String>,
    /// Due date.
    pub due: Option<i64>,
    /// Follow-up date.
    pub follow_up: Option<i64>,
    /// Priority (Camunda's default 50).
    pub priority: Option<i32>,
    /// Tenant.
    pub tenant_id: Option<String>,
}

/// Whether a task belongs to no process.
pub fn is_standalone(task: &UserTask) -> bool {
    task.process_instance_id.is_empty()
}

impl ProcessEngine {
    /// Create a standalone task. An id that exists is refused as Camunda's insert refuses it.
    pub async fn create_standalone_task(&self, new: NewTask) -> Result<String> {
        let id = new.id.filter(|i| !i.is_empty()).unwrap_or_else(new_id);
        if id.contains('\0') {
            return Err(ProcessEngineError::BadRequest(
                "Could not save task: the id is not valid".into(),
            ));
        }
        if self.inner.store.user_task(&id)?.is_some() {
            return Err(ProcessEngineError::Engine(format!(
                "Cannot create task {id}: a task with this id exists"
            )));
        }
        let task = UserTask {
            id: id.clone(),
            name: new.name,
            description: new.description,
            assignee: new.assignee,
            owner: new.owner,
            candidate_users: Vec::new(),
            candidate_groups: Vec::new(),
            created: self.now(),
            last_updated: None,
            due: new.due,
            follow_up: new.follow_up,
            priority: new.priority.unwrap_or(50),
            form_key: None,
            task_definition_key: String::new(),
            activity_instance_id: String::new(),
            execution_id: String::new(),
            process_instance_id: String::new(),
            process_definition_id: String::new(),
            process_definition_key: String::new(),
            business_key: None,
            suspended: false,
            tenant_id: new.tenant_id,
            delegation_state: new.delegation_state,
        };
        let mut ws = WriteSet::new();
        self.inner.store.stage_user_task(&mut ws, &task, None, None);
        self.user_operation(&mut ws, "Create", "Task", &id, None, None);
        self.inner.store.commit_durable(&ws).await?;
        Ok(id)
    }

    /// Delete a standalone task (`DELETE /task/{id}`); an unknown id changes nothing, a task
    /// of a process is refused.
    pub async fn delete_task(&self, id: &str) -> Result<()> {
        let Some((task, raw)) = self.inner.store.user_task(id)? else {
            return Ok(());
        };
        if !is_standalone(&task) {
            return Err(ProcessEngineError::Engine(
                "The task cannot be deleted because is part of a running process".into(),
            ));
        }
        self.remove_standalone_task(&task, raw, "Delete").await
    }

    /// Remove a standalone task (completed or deleted) with a user operation entry.
    pub(crate) async fn remove_standalone_task(
        &self,
        task: &UserTask,
        raw: crate::store::Version,
        operation: &str,
    ) -> Result<()> {
        let mut ws = WriteSet::new();
        self.inner
            .store
            .stage_user_task_removal(&mut ws, task, Some(raw));
        self.user_operation(&mut ws, operation, "Task", &task.id, None, None);
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }
}
