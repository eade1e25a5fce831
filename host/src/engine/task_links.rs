//! User task delegation and identity links (Camunda's `TaskService.delegateTask`,
//! `resolveTask`, `getIdentityLinksForTask`, `addUserIdentityLink`, ...): who owns, holds and
//! may claim a task. Changes go through `update_user_task`, so assignment and update task
//! listeners fire as for a claim.

use super::{ProcessEngine, ProcessEngineError, Result};
use baton_bpmn::Variables;

/// One identity link of a task (`IdentityLinkDto`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskIdentityLink {
    /// The user, for user links.
    pub user_id: Option<String>,
    /// The group, for group links.
    pub group_id: Option<String>,
    /// `assignee`, `owner` or `candidate`.
    pub link_type: String,
}

/// Who a link names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// A user.
    User(String),
    /// A group.
    Group(String),
}

impl ProcessEngine {
    /// Delegate a task to `user_id`: the assignee becomes the owner (unless there is one) and
    /// `user_id` the assignee, pending resolution.
    pub async fn delegate_task(&self, id: &str, user_id: &str) -> Result<()> {
        let (old, raw) = self.load_user_task(id)?;
        let mut task = old.clone();
        if task.owner.is_none() {
            task.owner = task.assignee.clone();
        }
        task.assignee = Some(user_id.to_owned());
        task.delegation_state = Some("PENDING".into());
        task.last_updated = Some(self.now());
        let details = Some(format!("delegation=PENDING, assignee={user_id}"));
        self.update_user_task(&old, task, raw, "Delegate", details)
            .await
    }

    /// Resolve a delegated task: back to its owner, with `variables` set from the task.
    pub async fn resolve_task(&self, id: &str, variables: Variables) -> Result<()> {
        let (old, _) = self.load_user_task(id)?;
        if !variables.is_empty() {
            self.modify_variables(
                &old.process_instance_id,
                Some(&old.activity_instance_id),
                variables,
                Vec::new(),
                false,
            )
            .await?;
        }
        let (old, raw) = self.load_user_task(id)?;
        let mut task = old.clone();
        task.assignee = task.owner.clone();
        task.delegation_state = Some("RESOLVED".into());
        task.last_updated = Some(self.now());
        self.update_user_task(&old, task, raw, "Resolve", None)
            .await
    }

    /// The identity links of a task: its assignee, its owner and its candidates.
    pub fn task_identity_links(&self, id: &str) -> Result<Vec<TaskIdentityLink>> {
        let (task, _) = self.load_user_task(id)?;
        let user = |u: &String, kind: &str| TaskIdentityLink {
            user_id: Some(u.clone()),
            group_id: None,
            link_type: kind.to_owned(),
        };
        let mut links = Vec::new();
        links.extend(task.assignee.iter().map(|u| user(u, "assignee")));
        links.extend(task.owner.iter().map(|u| user(u, "owner")));
        links.extend(task.candidate_users.iter().map(|u| user(u, "candidate")));
        links.extend(task.candidate_groups.iter().map(|g| TaskIdentityLink {
            user_id: None,
            group_id: Some(g.clone()),
            link_type: "candidate".into(),
        }));
        Ok(links)
    }

    /// Add (`add`) or delete an identity link. `assignee` and `owner` take a user and set or
    /// clear that role; `candidate` adds or removes a candidate user or group.
    pub async fn change_task_identity_link(
        &self,
        id: &str,
        target: LinkTarget,
        link_type: &str,
        add: bool,
    ) -> Result<()> {
        let (old, raw) = self.load_user_task(id)?;
        let mut task = old.clone();
        match (link_type, &target) {
            ("assignee", LinkTarget::User(u)) => task.assignee = add.then(|| u.clone()),
            ("owner", LinkTarget::User(u)) => task.owner = add.then(|| u.clone()),
            ("candidate", LinkTarget::User(u)) => {
                task.candidate_users.retain(|c| c != u);
                if add {
                    task.candidate_users.push(u.clone());
                }
            }
            ("candidate", LinkTarget::Group(g)) => {
                task.candidate_groups.retain(|c| c != g);
                if add {
                    task.candidate_groups.push(g.clone());
                }
            }
            (kind, LinkTarget::Group(_)) => {
                return Err(ProcessEngineError::BadRequest(format!(
                    "A group can only be a candidate of a task, not its {kind}"
                )));
            }
            (kind, LinkTarget::User(_)) => {
                return Err(ProcessEngineError::BadRequest(format!(
                    "Unknown identity link type '{kind}': expected assignee, owner or candidate"
                )));
            }
        }
        if task == old {
            return Ok(());
        }
        task.last_updated = Some(self.now());
        let operation = if add {
            "AddIdentityLink"
        } else {
            "DeleteIdentityLink"
        };
        self.update_user_task(&old, task, raw, operation, None)
            .await
    }
}

impl ProcessEngine {
    /// Throw a BPMN error from a user task (`TaskService.handleBpmnError`): the task ends and
    /// the error goes to the nearest catching boundary event or event subprocess, after
    /// `variables` are set from the task.
    pub async fn user_task_bpmn_error(
        &self,
        id: &str,
        code: &str,
        message: Option<String>,
        variables: Variables,
    ) -> Result<()> {
        if code.is_empty() {
            return Err(ProcessEngineError::BadUserRequest(
                "errorCode is empty".into(),
            ));
        }
        let (task, raw) = self.load_user_task(id)?;
        if task.suspended {
            return Err(ProcessEngineError::Suspended(format!(
                "Cannot throw a BPMN error from task {id}: task is suspended"
            )));
        }
        let mut extra = crate::store::WriteSet::new();
        crate::store::UserTaskStore::stage_user_task_removal(
            &self.inner.store,
            &mut extra,
            &task,
            Some(raw),
        );
        self.user_operation(
            &mut extra,
            "HandleBpmnError",
            "Task",
            id,
            Some(&task.process_instance_id),
            Some(format!("errorCode={code}")),
        );
        self.run_command(
            &task.process_instance_id,
            baton_bpmn::engine::Command::ThrowError {
                task_id: id.to_owned(),
                code: code.to_owned(),
                message,
                variables,
            },
            extra,
            Default::default(),
        )
        .await
        .map(|_| ())
    }
}

impl ProcessEngine {
    /// Throw an escalation from a user task (`TaskService.handleEscalation`): `variables` are
    /// set from the task, then a catching boundary event or event subprocess takes it (an
    /// interrupting one ends the task). Nothing catching it is refused and changes nothing.
    pub async fn user_task_escalation(
        &self,
        id: &str,
        code: &str,
        variables: Variables,
    ) -> Result<()> {
        if code.is_empty() {
            return Err(ProcessEngineError::BadUserRequest(
                "escalationCode is empty".into(),
            ));
        }
        let (task, _) = self.load_user_task(id)?;
        if task.suspended {
            return Err(ProcessEngineError::Suspended(format!(
                "Cannot throw an escalation from task {id}: task is suspended"
            )));
        }
        let mut extra = crate::store::WriteSet::new();
        self.user_operation(
            &mut extra,
            "HandleEscalation",
            "Task",
            id,
            Some(&task.process_instance_id),
            Some(format!("escalationCode={code}")),
        );
        self.run_command(
            &task.process_instance_id,
            baton_bpmn::engine::Command::TaskEscalation {
                task_id: id.to_owned(),
                code: code.to_owned(),
                variables,
            },
            extra,
            Default::default(),
        )
        .await
        .map(|_| ())
    }
}

/// What `PUT /task/{id}` sets: every field, as Camunda's `TaskService.saveTask` with the
/// DTO's values (a missing field clears it, priority defaults to 50).
#[derive(Debug, Clone, Default)]
pub struct TaskUpdate {
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
    /// Priority.
    pub priority: i32,
}

impl ProcessEngine {
    /// Overwrite a user task's attributes (`PUT /task/{id}`).
    pub async fn update_task(&self, id: &str, update: TaskUpdate) -> Result<()> {
        let (old, raw) = self.load_user_task(id)?;
        let mut task = old.clone();
        task.name = update.name;
        task.description = update.description;
        task.assignee = update.assignee;
        task.owner = update.owner;
        task.delegation_state = update.delegation_state;
        task.due = update.due;
        task.follow_up = update.follow_up;
        task.priority = update.priority;
        task.last_updated = Some(self.now());
        self.update_user_task(&old, task, raw, "Update", None).await
    }
}
