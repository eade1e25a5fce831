//! User tasks: reading, claiming, assigning, completing, and the variables a task sees.

use super::events::EngineEvent;
use super::executor::AfterCommit;
use super::types::conflict;
use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::UserTask;
use crate::store::{Accept, HistoryStore, TaskLookup, UserTaskStore, Version, WriteSet};
use baton_bpmn::Variables;
use baton_bpmn::engine::Command;

impl ProcessEngine {
    /// The user tasks `lookup` selects that `keep` takes, paged while reading (see
    /// [`ProcessEngine::instances_where`]).
    pub fn user_tasks_where(
        &self,
        lookup: &TaskLookup<'_>,
        keep: &mut dyn FnMut(&UserTask) -> Accept,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<UserTask>> {
        Ok(self
            .inner
            .store
            .user_tasks_where(lookup, keep, skip, limit)?)
    }

    /// How many user tasks `lookup` selects, counted without reading tasks where an index
    /// serves it.
    pub fn count_user_tasks_where(&self, lookup: &TaskLookup<'_>) -> Result<usize> {
        Ok(self.inner.store.count_user_tasks_where(lookup)?)
    }

    /// All open user tasks.
    pub async fn user_tasks(&self) -> Result<Vec<UserTask>> {
        let mut all = self.inner.store.user_tasks()?;
        all.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    pub(crate) fn load_user_task(&self, id: &str) -> Result<(UserTask, Version)> {
        self.inner
            .store
            .user_task(id)?
            .ok_or_else(|| ProcessEngineError::NotFound(format!("No matching task with id {id}")))
    }

    /// One user task.
    pub async fn user_task(&self, id: &str) -> Result<UserTask> {
        Ok(self.load_user_task(id)?.0)
    }

    pub(crate) async fn update_user_task(
        &self,
        old: &UserTask,
        task: UserTask,
        raw: Version,
        operation: &str,
        details: Option<String>,
    ) -> Result<()> {
        if let Some(assignee) = &task.assignee
            && old.assignee.as_ref() != Some(assignee)
        {
            // Camunda's task meter: every assignment counts its assignee as a task worker.
            self.meter_task_worker(assignee);
        }
        let command = self.task_update_command(&task, old)?;
        let mut ws = WriteSet::new();
        self.inner
            .store
            .stage_user_task(&mut ws, &task, Some(old), Some(raw));
        self.log_identity_links(&mut ws, Some(old), &task);
        // Keep the assignee visible in the activity's history.
        if self.history_level().keeps_activities()
            && let Some(mut h) = self
                .inner
                .store
                .historic_activity(&task.process_instance_id, &task.activity_instance_id)?
        {
            h.assignee = task.assignee.clone();
            self.inner.store.stage_historic_activity(&mut ws, &h, false);
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
        let (old, raw) = self.load_user_task(id)?;
        let mut task = old.clone();
        if let Some(current) = &task.assignee
            && current != user_id
        {
            return Err(ProcessEngineError::AlreadyClaimed(format!(
                "Task '{id}' is already claimed by someone else."
            )));
        }
        task.assignee = Some(user_id.to_owned());
        task.last_updated = Some(self.now());
        self.update_user_task(
            &old,
            task,
            raw,
            "Claim",
            Some(format!("assignee={user_id}")),
        )
        .await
    }

    /// Remove the assignee.
    pub async fn unclaim_task(&self, id: &str) -> Result<()> {
        self.set_assignee(id, None).await
    }

    /// Set (or clear) the assignee without a claim check.
    pub async fn set_assignee(&self, id: &str, user_id: Option<String>) -> Result<()> {
        let (old, raw) = self.load_user_task(id)?;
        let details = Some(format!("assignee={}", user_id.as_deref().unwrap_or("null")));
        let mut task = old.clone();
        task.assignee = user_id;
        task.last_updated = Some(self.now());
        self.update_user_task(&old, task, raw, "Assign", details)
            .await
    }

    /// Complete a user task; returns the process variables afterwards.
    pub async fn complete_user_task(&self, id: &str, variables: Variables) -> Result<Variables> {
        let (task, raw) = self.load_user_task(id)?;
        if task.suspended {
            return Err(ProcessEngineError::Suspended(format!(
                "Cannot complete task {id}: task is suspended"
            )));
        }
        if task.delegation_state.as_deref() == Some("PENDING") {
            return Err(ProcessEngineError::Engine(
                "A delegated task cannot be completed, but should be resolved instead.".into(),
            ));
        }
        // A standalone task has no process to continue: completing it removes it.
        if super::standalone_tasks::is_standalone(&task) {
            self.remove_standalone_task(&task, raw, "Complete").await?;
            return Ok(Variables::new());
        }
        let mut extra = WriteSet::new();
        self.inner
            .store
            .stage_user_task_removal(&mut extra, &task, Some(raw));
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
