//! [`TasklistStore`]: what people add around tasks and instances, Camunda's Tasklist data:
//! saved task filters (`/filter`), comments on tasks and process instances, and task
//! attachments (metadata plus optional content).
//!
//! A comment or attachment belongs to a task and/or a process instance; both owners find it
//! (a task comment of a process task also lists under its instance, as in Camunda), and the
//! instance's history removal takes them with it.

use serde::{Deserialize, Serialize};

use super::{Result, WriteSet};

/// A saved filter (Camunda's `FilterDto`): a named query of one resource type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    /// Filter id.
    pub id: String,
    /// The resource type the query runs against (`Task`).
    pub resource_type: String,
    /// Name.
    pub name: String,
    /// Owner (a user id).
    #[serde(default)]
    pub owner: Option<String>,
    /// The query as JSON text (Camunda's task query fields).
    pub query: String,
    /// Free-form properties as JSON text (`color`, `priority`, `description`, ...).
    pub properties: String,
}

/// A comment on a task and/or a process instance (Camunda's `CommentDto`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    /// Comment id.
    pub id: String,
    /// The user who wrote it.
    #[serde(default)]
    pub user_id: Option<String>,
    /// When it was written or last updated (ms since epoch).
    pub time: i64,
    /// The task it is on.
    #[serde(default)]
    pub task_id: Option<String>,
    /// The process instance it is on (or the instance of its task).
    #[serde(default)]
    pub process_instance_id: Option<String>,
    /// The text.
    pub message: String,
}

/// A task attachment (Camunda's `AttachmentDto`); its content, if any, is stored apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    /// Attachment id.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Type (free text, a MIME type by convention).
    #[serde(default)]
    pub attachment_type: Option<String>,
    /// The URL it points to (attachments without content).
    #[serde(default)]
    pub url: Option<String>,
    /// The task it is on.
    #[serde(default)]
    pub task_id: Option<String>,
    /// The process instance of its task.
    #[serde(default)]
    pub process_instance_id: Option<String>,
    /// When it was created (ms since epoch).
    pub create_time: i64,
    /// Whether content is stored for it.
    pub has_content: bool,
}

/// Filters, comments and attachments.
pub trait TasklistStore {
    /// Every filter, in id order.
    fn filters(&self) -> Result<Vec<Filter>>;
    /// One filter.
    fn filter(&self, id: &str) -> Result<Option<Filter>>;
    /// Stage writing a filter.
    fn stage_filter(&self, ws: &mut WriteSet, filter: &Filter);
    /// Stage removing a filter.
    fn stage_filter_removal(&self, ws: &mut WriteSet, id: &str);

    /// One comment.
    fn comment(&self, id: &str) -> Result<Option<Comment>>;
    /// The comments of a task or of a process instance (`owner` is either id), oldest first.
    fn comments_of(&self, owner: &str) -> Result<Vec<Comment>>;
    /// Stage writing a comment (and its owner index entries).
    fn stage_comment(&self, ws: &mut WriteSet, comment: &Comment);
    /// Stage removing a comment.
    fn stage_comment_removal(&self, ws: &mut WriteSet, comment: &Comment);

    /// One attachment.
    fn attachment(&self, id: &str) -> Result<Option<Attachment>>;
    /// The attachments of a task or process instance (`owner` is either id), oldest first.
    fn attachments_of(&self, owner: &str) -> Result<Vec<Attachment>>;
    /// The stored content of an attachment.
    fn attachment_content(&self, id: &str) -> Result<Option<Vec<u8>>>;
    /// Stage writing an attachment with its content (when it has some).
    fn stage_attachment(&self, ws: &mut WriteSet, attachment: &Attachment, content: Option<&[u8]>);
    /// Stage removing an attachment and its content.
    fn stage_attachment_removal(&self, ws: &mut WriteSet, attachment: &Attachment);

    /// Stage removing every comment and attachment `owner` (a task or instance id) has.
    fn stage_tasklist_removal(&self, ws: &mut WriteSet, owner: &str) -> Result<()>;
}
