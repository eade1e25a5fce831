//! [`HistoryStore`] on sled: `HistoricInstances` by id; `HistoricActivities` and
//! `HistoricVariables` keyed under their instance id, so one instance's history is one
//! prefix; `UserOperations` by (timestamp, id).

use super::index;
use super::keys::Key;
use super::{Result, Store, Tree, WriteSet};
use crate::records::{
    HistoricActivityInstance, HistoricProcessInstance, HistoricVariableInstance, UserOperation,
};
use crate::store::{Accept, HistoricInstanceLookup, HistoryStore};

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

    fn historic_instances_where(
        &self,
        lookup: &HistoricInstanceLookup<'_>,
        keep: &mut dyn FnMut(&HistoricProcessInstance) -> Accept,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<HistoricProcessInstance>> {
        let mut keep_matching = |h: &HistoricProcessInstance| {
            if lookup.matches(h) {
                keep(h)
            } else {
                Accept::Skip
            }
        };
        let keep = &mut keep_matching;
        match lookup.definition_key {
            Some(key) => super::query::page(
                self.indexed(
                    Tree::HistoricInstancesByDefinitionKey,
                    &index::field_prefix(key),
                    Tree::HistoricInstances,
                ),
                keep,
                skip,
                limit,
            ),
            None => super::query::page(
                self.records(Tree::HistoricInstances, b""),
                keep,
                skip,
                limit,
            ),
        }
    }

    fn count_historic_instances_where(&self, lookup: &HistoricInstanceLookup<'_>) -> Result<usize> {
        let all = self.count(Tree::HistoricInstances)?;
        let running = self.count(Tree::Instances)?;
        match (lookup.definition_key, lookup.finished) {
            (None, None) => Ok(all),
            (None, Some(false)) => Ok(running),
            (None, Some(true)) => Ok(all.saturating_sub(running)),
            (Some(key), finished) => {
                let all = self.count_component(Tree::HistoricInstancesByDefinitionKey, key)?;
                let running = self.count_component(Tree::InstancesByDefinitionKey, key)?;
                Ok(match finished {
                    None => all,
                    Some(false) => running,
                    Some(true) => all.saturating_sub(running),
                })
            }
        }
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
        let prefix = instance_id.map(index::field_prefix).unwrap_or_default();
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
        let prefix = instance_id.map(index::field_prefix).unwrap_or_default();
        self.scan(Tree::HistoricVariables, &prefix)
    }

    fn stage_historic_instance(&self, ws: &mut WriteSet, instance: &HistoricProcessInstance) {
        ws.put(
            Tree::HistoricInstances,
            index::id_key(&instance.id),
            instance,
        );
        ws.index(
            Tree::HistoricInstancesByDefinitionKey,
            index::pair_key(&instance.process_definition_key, &instance.id),
        );
    }

    fn stage_historic_activity(
        &self,
        ws: &mut WriteSet,
        activity: &HistoricActivityInstance,
        created: bool,
    ) {
        let key = index::historic_activity_key(&activity.process_instance_id, &activity.id);
        if created {
            ws.put_raw(
                Tree::HistoricActivitiesById,
                index::id_key(&activity.id),
                key.clone(),
            );
        }
        ws.put(Tree::HistoricActivities, key, activity);
    }

    fn stage_historic_variable_removal(
        &self,
        ws: &mut WriteSet,
        variable: &HistoricVariableInstance,
    ) {
        ws.delete(Tree::HistoricVariablesById, index::id_key(&variable.id));
        ws.delete(
            Tree::HistoricVariables,
            index::historic_variable_key(
                &variable.process_instance_id,
                &variable.activity_instance_id,
                &variable.name,
            ),
        );
    }

    fn stage_historic_variable(
        &self,
        ws: &mut WriteSet,
        variable: &HistoricVariableInstance,
        created: bool,
    ) {
        let key = index::historic_variable_key(
            &variable.process_instance_id,
            &variable.activity_instance_id,
            &variable.name,
        );
        if created {
            ws.put_raw(
                Tree::HistoricVariablesById,
                index::id_key(&variable.id),
                key.clone(),
            );
        }
        ws.put(Tree::HistoricVariables, key, variable);
    }

    fn historic_activity_by_id(&self, id: &str) -> Result<Option<HistoricActivityInstance>> {
        match self.get_raw(Tree::HistoricActivitiesById, &index::id_key(id))? {
            Some(key) => self.get(Tree::HistoricActivities, &key),
            None => Ok(None),
        }
    }

    fn historic_variable_by_id(&self, id: &str) -> Result<Option<HistoricVariableInstance>> {
        match self.get_raw(Tree::HistoricVariablesById, &index::id_key(id))? {
            Some(key) => self.get(Tree::HistoricVariables, &key),
            None => Ok(None),
        }
    }

    fn stage_history_removal(&self, ws: &mut WriteSet, instance_id: &str) -> Result<()> {
        if let Some(h) = self.historic_instance(instance_id)? {
            ws.delete(
                Tree::HistoricInstancesByDefinitionKey,
                index::pair_key(&h.process_definition_key, &h.id),
            );
        }
        ws.delete(Tree::HistoricInstances, index::id_key(instance_id));
        crate::store::HistoryLogStore::stage_history_logs_removal(self, ws, instance_id)?;
        let prefix = index::field_prefix(instance_id);
        for key in self.scan_keys(Tree::HistoricActivities, &prefix, usize::MAX)? {
            if let Some(id) = super::keys::last_str(&key) {
                ws.delete(Tree::HistoricActivitiesById, index::id_key(&id));
            }
            ws.delete(Tree::HistoricActivities, key);
        }
        for (key, raw) in self.scan_raw(Tree::HistoricVariables, &prefix)? {
            let variable: HistoricVariableInstance =
                super::codec::decode("historic_variables", &raw)?;
            ws.delete(Tree::HistoricVariablesById, index::id_key(&variable.id));
            ws.delete(Tree::HistoricVariables, key);
        }
        // Comments and attachments of the instance and its tasks go with its history.
        crate::store::TasklistStore::stage_tasklist_removal(self, ws, instance_id)?;
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
