//! [`UserTaskStore`] on sled: `UserTasks` by id, `UserTasksByInstance` (instance, task id).

use super::index;
use super::{Result, Store, Tree, WriteSet};
use crate::records::UserTask;
use crate::store::{Accept, TaskLookup, UserTaskStore, Version};

impl UserTaskStore for Store {
    fn user_task(&self, id: &str) -> Result<Option<(UserTask, Version)>> {
        self.get_versioned(Tree::UserTasks, &index::id_key(id))
    }

    fn user_tasks(&self) -> Result<Vec<UserTask>> {
        self.scan(Tree::UserTasks, b"")
    }

    fn user_tasks_of_instance(&self, instance_id: &str) -> Result<Vec<UserTask>> {
        index::owned_by_instance(
            self,
            Tree::UserTasksByInstance,
            Tree::UserTasks,
            instance_id,
        )
    }

    fn stage_user_task(
        &self,
        ws: &mut WriteSet,
        task: &UserTask,
        old: Option<&UserTask>,
        read_at: Option<Version>,
    ) {
        if let Some(v) = read_at {
            ws.guard(Tree::UserTasks, index::id_key(&task.id), Some(v.0));
        }
        index::put_user_task(ws, task, old);
    }

    fn stage_user_task_removal(
        &self,
        ws: &mut WriteSet,
        task: &UserTask,
        read_at: Option<Version>,
    ) {
        if let Some(v) = read_at {
            ws.guard(Tree::UserTasks, index::id_key(&task.id), Some(v.0));
        }
        index::delete_user_task(ws, task);
    }

    fn count_user_tasks(&self) -> Result<usize> {
        self.count(Tree::UserTasks)
    }

    fn user_tasks_where(
        &self,
        lookup: &TaskLookup<'_>,
        keep: &mut dyn FnMut(&UserTask) -> Accept,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<UserTask>> {
        let mut keep_matching = |t: &UserTask| {
            let fits = lookup
                .assignee
                .is_none_or(|a| t.assignee.as_deref() == Some(a))
                && lookup.candidate_group.is_none_or(|g| {
                    t.assignee.is_none() && t.candidate_groups.iter().any(|c| c == g)
                })
                && lookup
                    .process_instance_id
                    .is_none_or(|p| p == t.process_instance_id);
            if fits { keep(t) } else { Accept::Skip }
        };
        let keep = &mut keep_matching;
        let source = if let Some(pi) = lookup.process_instance_id {
            Some((Tree::UserTasksByInstance, pi))
        } else if let Some(a) = lookup.assignee {
            Some((Tree::UserTasksByAssignee, a))
        } else {
            lookup
                .candidate_group
                .map(|g| (Tree::UserTasksByCandidateGroup, g))
        };
        match source {
            Some((tree, field)) => super::query::page(
                self.indexed(tree, &index::field_prefix(field), Tree::UserTasks),
                keep,
                skip,
                limit,
            ),
            None => super::query::page(self.records(Tree::UserTasks, b""), keep, skip, limit),
        }
    }

    fn count_user_tasks_where(&self, lookup: &TaskLookup<'_>) -> Result<usize> {
        match (
            lookup.process_instance_id,
            lookup.assignee,
            lookup.candidate_group,
        ) {
            (None, None, None) => self.count(Tree::UserTasks),
            (None, Some(a), None) => self.count_component(Tree::UserTasksByAssignee, a),
            (None, None, Some(g)) => self.count_component(Tree::UserTasksByCandidateGroup, g),
            _ => Ok(self
                .user_tasks_where(lookup, &mut |_| Accept::Take, 0, usize::MAX)?
                .len()),
        }
    }
}
