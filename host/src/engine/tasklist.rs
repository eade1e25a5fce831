//! Comments (on tasks and process instances), task attachments and saved filters: Camunda's
//! Tasklist data. Stored apart from the instance state (they never change how an instance
//! runs), removed with the instance's history. Messages follow Camunda's REST resources.

use super::core::new_id;
use super::{ProcessEngine, ProcessEngineError, Result};
use crate::store::tasklist::{Attachment, Comment, Filter};
use crate::store::{HistoryStore, TasklistStore, UserTaskStore, WriteSet};

/// A new attachment: its metadata and either content or a URL.
#[derive(Debug, Clone, Default)]
pub struct NewAttachment {
    /// Name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Type.
    pub attachment_type: Option<String>,
    /// The URL it points to.
    pub url: Option<String>,
    /// Its content.
    pub content: Option<Vec<u8>>,
}

fn no_task(task_id: &str) -> ProcessEngineError {
    ProcessEngineError::NotFound(format!("No task found for task id {task_id}"))
}

impl ProcessEngine {
    /// The process instance of an open task (`Some(None)` for a standalone task), or `None`
    /// when no open task has that id.
    fn open_task_instance(&self, task_id: &str) -> Result<Option<Option<String>>> {
        Ok(self
            .inner
            .store
            .user_task(task_id)?
            .map(|(t, _)| Some(t.process_instance_id).filter(|p| !p.is_empty())))
    }

    /// A task is known while it is open, and afterwards as long as something is recorded
    /// for it (its comments or attachments).
    fn ensure_task_known(&self, task_id: &str) -> Result<()> {
        let store = &self.inner.store;
        if store.user_task(task_id)?.is_some()
            || !store.comments_of(task_id)?.is_empty()
            || !store.attachments_of(task_id)?.is_empty()
        {
            return Ok(());
        }
        Err(no_task(task_id))
    }

    fn ensure_instance_known(&self, instance_id: &str) -> Result<()> {
        if self.inner.store.historic_instance_exists(instance_id)? {
            return Ok(());
        }
        Err(ProcessEngineError::NotFound(format!(
            "No process instance found for id {instance_id}"
        )))
    }

    /// Write a comment on an open task (Camunda's `createComment`); a comment is on the
    /// task's instance too.
    pub async fn create_task_comment(
        &self,
        task_id: &str,
        process_instance_id: Option<String>,
        user_id: Option<String>,
        message: Option<String>,
    ) -> Result<Comment> {
        let instance = self.open_task_instance(task_id)?.ok_or_else(|| {
            ProcessEngineError::BadRequest(format!("No task found for task id {task_id}"))
        })?;
        let message = message.ok_or_else(|| {
            ProcessEngineError::BadRequest("Not enough parameters submitted".into())
        })?;
        let comment = Comment {
            id: new_id(),
            user_id,
            time: self.now(),
            task_id: Some(task_id.to_owned()),
            process_instance_id: process_instance_id.or(instance),
            message,
        };
        let mut ws = WriteSet::new();
        self.inner.store.stage_comment(&mut ws, &comment);
        self.inner.store.commit_durable(&ws).await?;
        Ok(comment)
    }

    /// The comments of a task, oldest first.
    pub async fn task_comments(&self, task_id: &str) -> Result<Vec<Comment>> {
        self.ensure_task_known(task_id)?;
        Ok(self
            .inner
            .store
            .comments_of(task_id)?
            .into_iter()
            .filter(|c| c.task_id.as_deref() == Some(task_id))
            .collect())
    }

    /// One comment of a task.
    pub async fn task_comment(&self, task_id: &str, comment_id: &str) -> Result<Comment> {
        self.inner
            .store
            .comment(comment_id)?
            .filter(|c| c.task_id.as_deref() == Some(task_id))
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!(
                    "Task comment with id {comment_id} does not exist for task id '{task_id}'."
                ))
            })
    }

    /// The comments of a process instance (its own and its tasks'), oldest first.
    pub async fn instance_comments(&self, instance_id: &str) -> Result<Vec<Comment>> {
        self.ensure_instance_known(instance_id)?;
        Ok(self.inner.store.comments_of(instance_id)?)
    }

    /// Replace a comment's message (task: `owner_task`; instance: `owner_instance`).
    pub async fn update_comment(
        &self,
        owner: CommentOwner<'_>,
        comment_id: Option<&str>,
        message: Option<String>,
    ) -> Result<()> {
        owner.ensure_known(self)?;
        let found = comment_id
            .and_then(|id| self.inner.store.comment(id).transpose())
            .transpose()?
            .filter(|c| owner.owns(c));
        let Some(mut comment) = found else {
            return Err(ProcessEngineError::NotFound(format!(
                "Update is not possible. No comment exists for {} '{}' and comment id '{}'.",
                owner.noun(),
                owner.id(),
                comment_id.unwrap_or("null")
            )));
        };
        comment.message = message.ok_or_else(|| {
            ProcessEngineError::BadRequest("Not enough parameters submitted".into())
        })?;
        comment.time = self.now();
        let mut ws = WriteSet::new();
        self.inner.store.stage_comment(&mut ws, &comment);
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Delete one comment.
    pub async fn delete_comment(&self, owner: CommentOwner<'_>, comment_id: &str) -> Result<()> {
        owner.ensure_known(self)?;
        let comment = self
            .inner
            .store
            .comment(comment_id)?
            .filter(|c| owner.owns(c))
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!(
                    "Deletion is not possible. No comment exists for {} '{}' and comment id '{comment_id}'.",
                    owner.delete_noun(),
                    owner.id()
                ))
            })?;
        let mut ws = WriteSet::new();
        self.inner.store.stage_comment_removal(&mut ws, &comment);
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Delete every comment of a task or process instance.
    pub async fn delete_comments(&self, owner: CommentOwner<'_>) -> Result<()> {
        owner.ensure_known(self)?;
        let mut ws = WriteSet::new();
        for c in self.inner.store.comments_of(owner.id())? {
            if owner.owns(&c) {
                self.inner.store.stage_comment_removal(&mut ws, &c);
            }
        }
        if !ws.is_empty() {
            self.inner.store.commit_durable(&ws).await?;
        }
        Ok(())
    }

    /// Add an attachment to an open task.
    pub async fn create_attachment(&self, task_id: &str, new: NewAttachment) -> Result<Attachment> {
        let instance = self.open_task_instance(task_id)?.ok_or_else(|| {
            ProcessEngineError::BadRequest(format!("No task found for task id {task_id}"))
        })?;
        if new.url.is_none() && new.content.is_none() {
            return Err(ProcessEngineError::BadRequest(
                "No content or url to remote content exists to create the task attachment.".into(),
            ));
        }
        let attachment = Attachment {
            id: new_id(),
            name: new.name,
            description: new.description,
            attachment_type: new.attachment_type,
            url: if new.content.is_some() { None } else { new.url },
            task_id: Some(task_id.to_owned()),
            process_instance_id: instance,
            create_time: self.now(),
            has_content: new.content.is_some(),
        };
        let mut ws = WriteSet::new();
        self.inner
            .store
            .stage_attachment(&mut ws, &attachment, new.content.as_deref());
        self.inner.store.commit_durable(&ws).await?;
        Ok(attachment)
    }

    /// The attachments of a task, oldest first.
    pub async fn task_attachments(&self, task_id: &str) -> Result<Vec<Attachment>> {
        self.ensure_task_known(task_id)?;
        Ok(self
            .inner
            .store
            .attachments_of(task_id)?
            .into_iter()
            .filter(|a| a.task_id.as_deref() == Some(task_id))
            .collect())
    }

    /// One attachment of a task.
    pub async fn task_attachment(&self, task_id: &str, attachment_id: &str) -> Result<Attachment> {
        self.inner
            .store
            .attachment(attachment_id)?
            .filter(|a| a.task_id.as_deref() == Some(task_id))
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!(
                    "Task attachment with id {attachment_id} does not exist for task id '{task_id}'."
                ))
            })
    }

    /// The content of a task's attachment.
    pub async fn task_attachment_content(
        &self,
        task_id: &str,
        attachment_id: &str,
    ) -> Result<(Attachment, Vec<u8>)> {
        let missing = || {
            ProcessEngineError::NotFound(format!(
                "Attachment content for attachment with id '{attachment_id}' does not exist for task id '{task_id}'."
            ))
        };
        let attachment = self
            .task_attachment(task_id, attachment_id)
            .await
            .map_err(|_| missing())?;
        let bytes = self
            .inner
            .store
            .attachment_content(attachment_id)?
            .ok_or_else(missing)?;
        Ok((attachment, bytes))
    }

    /// Delete a task's attachment.
    pub async fn delete_attachment(&self, task_id: &str, attachment_id: &str) -> Result<()> {
        let attachment = self
            .task_attachment(task_id, attachment_id)
            .await
            .map_err(|_| {
                ProcessEngineError::NotFound(format!(
                    "Deletion is not possible. No attachment exists for task id '{task_id}' and attachment id '{attachment_id}'."
                ))
            })?;
        let mut ws = WriteSet::new();
        self.inner
            .store
            .stage_attachment_removal(&mut ws, &attachment);
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Every saved filter.
    pub async fn filters(&self) -> Result<Vec<Filter>> {
        Ok(self.inner.store.filters()?)
    }

    /// One saved filter.
    pub async fn filter(&self, id: &str) -> Result<Filter> {
        self.inner.store.filter(id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!("Filter with id '{id}' does not exist."))
        })
    }

    /// Create or replace a saved filter.
    pub async fn save_filter(&self, filter: &Filter) -> Result<()> {
        let mut ws = WriteSet::new();
        self.inner.store.stage_filter(&mut ws, filter);
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Delete a saved filter.
    pub async fn delete_filter(&self, id: &str) -> Result<()> {
        self.filter(id).await?;
        let mut ws = WriteSet::new();
        self.inner.store.stage_filter_removal(&mut ws, id);
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }
}

/// Whose comments an operation is on.
#[derive(Debug, Clone, Copy)]
pub enum CommentOwner<'a> {
    /// A task's (by task id).
    Task(&'a str),
    /// A process instance's (by instance id).
    Instance(&'a str),
}

impl CommentOwner<'_> {
    fn id(&self) -> &str {
        match self {
            CommentOwner::Task(id) | CommentOwner::Instance(id) => id,
        }
    }

    fn owns(&self, c: &Comment) -> bool {
        match self {
            CommentOwner::Task(id) => c.task_id.as_deref() == Some(id),
            CommentOwner::Instance(id) => c.process_instance_id.as_deref() == Some(id),
        }
    }

    /// The owner as Camunda names it in the "Update is not possible" message.
    fn noun(&self) -> &'static str {
        match self {
            CommentOwner::Task(_) => "task id",
            CommentOwner::Instance(_) => "process instance id",
        }
    }

    /// The owner as Camunda names it in the "Deletion is not possible" message.
    fn delete_noun(&self) -> &'static str {
        match self {
            CommentOwner::Task(_) => "task id",
            CommentOwner::Instance(_) => "processInstanceId",
        }
    }

    fn ensure_known(&self, engine: &ProcessEngine) -> Result<()> {
        match self {
            CommentOwner::Task(id) => engine.ensure_task_known(id),
            CommentOwner::Instance(id) => engine.ensure_instance_known(id),
        }
    }
}
