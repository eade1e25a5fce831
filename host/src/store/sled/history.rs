//! [`HistoryStore`] on sled: `HistoricInstances` by id; `HistoricActivities` and
//! `HistoricVariables` keyed under their instance id, so one instance's history is one
//! prefix; `UserOperations` by (timestamp, id).

use super::index;
use super::keys::Key;
use super::{Result, Store, Tree, WriteSet};
use crate::records::{
    HistoricActivityInstance, HistoricProcessInstance, HistoricVariableInstance, UserOperation,
};
use crate::store::HistoryStore;

impl HistoryStore for Store {
    fn historic_instance(&self, id: &str) -> Result<Option<HistoricProcessInstance>> {
        self.get(Tree::HistoricInstances, &index::id_key(id))
    }

    fn historic_instance_exists(&self, id: &str) -> Result<bool> {
        self.contains(Tree::HistoricInstances, &index::id_key(id))
    }

    fn historic_instances(&self) -> Result<Vec<HistoricProcessInstance>> {
        self.scan(Tree::HistoricInstances, b"")
    }

    fn historic_activity(
        &self,
        instance_id: &str,
        activity_instance_id: &str,
    ) -> Result<Option<HistoricActivityInstance>> {
        self.get(
            Tree::HistoricActivities,
            &index::historic_activity_key(instance_id, activity_instance_id),
        )
    }

    fn historic_activities(
        &self,
        instance_id: Option<&str>,
    ) -> Result<Vec<HistoricActivityInstance>> {
        let prefix = instance_id.map(index::instance_prefix).unwrap_or_default();
        self.scan(Tree::HistoricActivities, &prefix)
    }

    fn historic_variable(
        &self,
        instance_id: &str,
        scope_id: &str,
        name: &str,
    ) -> Result<Option<HistoricVariableInstance>> {
        self.get(
            Tree::HistoricVariables,
            &index::historic_variable_key(instance_id, scope_id, name),
        )
    }

    fn historic_variables(
        &self,
        instance_id: Option<&str>,
    ) -> Result<Vec<HistoricVariableInstance>> {
        let prefix = instance_id.map(index::instance_prefix).unwrap_or_default();
        self.scan(Tree::HistoricVariables, &prefix)
    }

    fn stage_historic_instance(&self, ws: &mut WriteSet, instance: &HistoricProcessInstance) {
        ws.put(
            Tree::HistoricInstances,
            index::id_key(&instance.id),
            instance,
        );
    }

    fn stage_historic_activity(&self, ws: &mut WriteSet, activity: &HistoricActivityInstance) {
        ws.put(
            Tree::HistoricActivities,
            index::historic_activity_key(&activity.process_instance_id, &activity.id),
            activity,
        );
    }

    fn stage_historic_variable(&self, ws: &mut WriteSet, variable: &HistoricVariableInstance) {
        ws.put(
            Tree::HistoricVariables,
            index::historic_variable_key(
                &variable.process_instance_id,
                &variable.activity_instance_id,
                &variable.name,
            ),
            variable,
        );
    }

    fn stage_history_removal(&self, ws: &mut WriteSet, instance_id: &str) -> Result<()> {
        ws.delete(Tree::HistoricInstances, index::id_key(instance_id));
        let prefix = index::instance_prefix(instance_id);
        for tree in [Tree::HistoricActivities, Tree::HistoricVariables] {
            for key in self.scan_keys(tree, &prefix, usize::MAX)? {
                ws.delete(tree, key);
            }
        }
        Ok(())
    }

    fn user_operations(&self) -> Result<Vec<UserOperation>> {
        self.scan(Tree::UserOperations, b"")
    }

    fn stage_user_operation(&self, ws: &mut WriteSet, operation: &UserOperation) {
        ws.put(
            Tree::UserOperations,
            Key::new()
                .i64(operation.timestamp)
                .str(&operation.id)
                .build(),
            operation,
        );
    }
}
