//! User tasks: reading, claiming, assigning, completing, and the variables a task sees.

use super::events::EngineEvent;
use super::executor::AfterCommit;
use super::types::conflict;
use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::{HistoricActivityInstance, UserTask};
use crate::store::index;
use crate::store::{Tree, WriteSet};
use baton_bpmn::Variables;
use baton_bpmn::engine::Command;

impl ProcessEngine {
    /// All open user tasks.
    pub async fn user_tasks(&self) -> Result<Vec<UserTask>> {
        let mut all: Vec<UserTask> = self.inner.store.scan(Tree::UserTasks, b"")?;
        all.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    fn load_user_task(&self, id: &str) -> Result<(UserTask, Vec<u8>)> {
        let raw = self
            .inner
            .store
            .get_raw(Tree::UserTasks, &index::id_key(id))?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!("No matching task with id {id}"))
            })?;
        Ok((crate::store::codec::decode("user_tasks", &raw)?, raw))
    }

    /// One user task.
    pub async fn user_task(&self, id: &str) -> Result<UserTask> {
        Ok(self.load_user_task(id)?.0)
    }

    async fn update_user_task(
        &self,
        task: UserTask,
        raw: Vec<u8>,
        operation: &str,
        details: Option<String>,
    ) -> Result<()> {
        let command = self.task_update_command(&task, &raw)?;
        let mut ws = WriteSet::new();
        ws.guard(Tree::UserTasks, index::id_key(&task.id), Some(raw));
        index::put_user_task(&mut ws, &task);
        // Keep the assignee visible in the activity's history.
        let hkey =
            index::historic_activity_key(&task.process_instance_id, &task.activity_instance_id);
        if let Some(mut h) = self
            .inner
            .store
            .get::<HistoricActivityInstance>(Tree::HistoricActivities, &hkey)?
        {
            h.assignee = task.assignee.clone();
            ws.put(Tree::HistoricActivities, hkey, &h);
        }
        self.user_operation(
            &mut ws,
            operation,
            "Task",
            &task.id,
            Some(&task.process_instance_id),
            details,
        );
        // With `update`/`assignment` listeners the change goes through the state machine,
        // which fires them and commits their effects together with the change.
        if let Some(command) = command {
            let instance_id = task.process_instance_id.clone();
            self.run_command(&instance_id, command, ws, Default::default())
                .await?;
            return Ok(());
        }
        self.inner
            .store
            .commit(&ws)
            .map_err(|e| conflict(e, "the task"))?;
        self.inner.store.sync().await?;
        Ok(())
    }

    /// Claim a task for `user_id` (fails if someone else has it).
    pub async fn claim_task(&self, id: &str, user_id: &str) -> Result<()> {
        let (mut task, raw) = self.load_user_task(id)?;
        if let Some(current) = &task.assignee
            && current != user_id
        {
            return Err(ProcessEngineError::AlreadyClaimed(format!(
                "Task '{id}' is already claimed by someone else."
            )));
        }
        task.assignee = Some(user_id.to_owned());
        task.last_updated = Some(self.now());
        self.update_user_task(task, raw, "Claim", Some(format!("assignee={user_id}")))
            .await
    }

    /// Remove the assignee.
    pub async fn unclaim_task(&self, id: &str) -> Result<()> {
        self.set_assignee(id, None).await
    }

    /// Set (or clear) the assignee without a claim check.
    pub async fn set_assignee(&self, id: &str, user_id: Option<String>) -> Result<()> {
        let (mut task, raw) = self.load_user_task(id)?;
        let details = Some(format!("assignee={}", user_id.as_deref().unwrap_or("null")));
        task.assignee = user_id;
        task.last_updated = Some(self.now());
        self.update_user_task(task, raw, "Assign", details).await
    }

    /// Complete a user task; returns the process variables afterwards.
    pub async fn complete_user_task(&self, id: &str, variables: Variables) -> Result<Variables> {
        let (task, raw) = self.load_user_task(id)?;
        if task.suspended {
            return Err(ProcessEngineError::Suspended(format!(
                "Cannot complete task {id}: task is suspended"
            )));
        }
        let mut extra = WriteSet::new();
        extra.guard(Tree::UserTasks, index::id_key(id), Some(raw));
        index::delete_user_task(&mut extra, &task);
        self.user_operation(
            &mut extra,
            "Complete",
            "Task",
            id,
            Some(&task.process_instance_id),
            None,
        );
        let mut after = AfterCommit::default();
        after.events.push(EngineEvent::TaskCompleted {
            task_id: id.to_owned(),
            task_type: "user".into(),
            process_instance_id: task.process_instance_id.clone(),
        });
        let outcome = self
            .run_command(
                &task.process_instance_id,
                Command::CompleteTask {
                    task_id: id.to_owned(),
                    variables,
                    local_variables: Variables::new(),
                },
                extra,
                after,
            )
            .await
            .map_err(|e| match e {
                ProcessEngineError::Engine(m) => {
                    ProcessEngineError::Engine(format!("Cannot complete task {id}: {m}"))
                }
                other => other,
            })?;
        Ok(outcome.instance.state.process_variables())
    }

    /// Variables visible from a user task.
    pub async fn task_variables(&self, id: &str) -> Result<Variables> {
        let task = self.user_task(id).await?;
        let instance = self.instance(&task.process_instance_id).await?;
        Ok(instance.state.visible_variables(&task.activity_instance_id))
    }
}
