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

impl Store {
    /// The ids of the historic instances whose ids begin with the time prefix of `id` (its
    /// first 48 bits): those created in the millisecond `id` was derived or drawn in
    /// ([`baton_bpmn::engine::shared_time_prefix`]), a handful of keys and no record decoded.
    /// Empty when `id` has no time prefix.
    fn instances_sharing_time_prefix(&self, id: &str) -> Result<Vec<String>> {
        let Some(prefix) = baton_bpmn::engine::id_time_prefix(id) else {
            return Ok(Vec::new());
        };
        Ok(self
            .scan_keys(Tree::HistoricInstances, prefix.as_bytes(), usize::MAX)?
            .into_iter()
            .filter_map(|key| String::from_utf8(key).ok())
            .collect())
    }
}

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
        // An id derived from its instance's (nearly all) is found without an index entry
        // ([`HistoryStore::historic_activity_by_id`]): one row fewer per activity instance.
        // The by-id entries of activities and variables and one per-instance entry per history
        // log were 8 of a `one` start's 18 rows; dropping 6 of them saved about 6% of its
        // CPU, mostly in the checkpointer and the compaction.
        if created
            && baton_bpmn::engine::shared_time_prefix(&activity.id, &activity.process_instance_id)
                .is_none()
        {
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
        // As for activities: a variable of an instance has an id in its instance's
        // millisecond (`new_id_of_instance`) and is found without an index entry.
        if created
            && baton_bpmn::engine::shared_time_prefix(&variable.id, &variable.process_instance_id)
                .is_none()
        {
            ws.put_raw(
                Tree::HistoricVariablesById,
                index::id_key(&variable.id),
                key.clone(),
            );
        }
        ws.put(Tree::HistoricVariables, key, variable);
    }

    fn historic_activity_by_id(&self, id: &str) -> Result<Option<HistoricActivityInstance>> {
        // Rows written before this lookup existed, and rows whose id was not derived from
        // their instance's, have an index entry.
        if let Some(key) = self.get_raw(Tree::HistoricActivitiesById, &index::id_key(id))? {
            return self.get(Tree::HistoricActivities, &key);
        }
        // The others share their instance's time prefix: a point read under each instance
        // of that millisecond.
        for instance in self.instances_sharing_time_prefix(id)? {
            let key = index::historic_activity_key(&instance, id);
            if let Some(activity) = self.get(Tree::HistoricActivities, &key)? {
                return Ok(Some(activity));
            }
        }
        Ok(None)
    }

    fn historic_variable_by_id(&self, id: &str) -> Result<Option<HistoricVariableInstance>> {
        if let Some(key) = self.get_raw(Tree::HistoricVariablesById, &index::id_key(id))? {
            return self.get(Tree::HistoricVariables, &key);
        }
        // Keyed by instance, scope and name, not by id: the candidates are the variables of
        // the instances created in the id's millisecond (what a by-id read of a running
        // variable then reads anyway for its instance).
        for instance in self.instances_sharing_time_prefix(id)? {
            for (_, raw) in
                self.scan_raw(Tree::HistoricVariables, &index::field_prefix(&instance))?
            {
                let variable: HistoricVariableInstance =
                    super::codec::decode(Tree::HistoricVariables.name(), &raw)?;
                if variable.id == id {
                    return Ok(Some(variable));
                }
            }
        }
        Ok(None)
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
