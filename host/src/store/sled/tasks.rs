//! [`UserTaskStore`] on sled: `UserTasks` by id, `UserTasksByInstance` (instance, task id).

use super::index;
use super::{Result, Store, Tree, WriteSet};
use crate::records::UserTask;
use crate::store::{UserTaskStore, Version};

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
            &|_| false,
        )
    }

    fn stage_user_task(&self, ws: &mut WriteSet, task: &UserTask, read_at: Option<Version>) {
        if let Some(v) = read_at {
            ws.guard(Tree::UserTasks, index::id_key(&task.id), Some(v.0));
        }
        index::put_user_task(ws, task);
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

    fn count_user_tasks(&self) -> usize {
        self.count(Tree::UserTasks)
    }
}
