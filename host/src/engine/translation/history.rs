//! History rows of one command: activity instances started and ended, variables set and
//! deleted, kept in the translation until [`Translation::finish`] stages them.

use super::Translation;
use crate::engine::Result;
use crate::engine::core::{new_id, new_id_of_instance};
use crate::engine::events::EngineEvent;
use crate::engine::executor::AfterCommit;
use crate::engine::usage_metrics::names;
use crate::records::{
    HistoricActivityInstance, HistoricDetail, HistoricVariableInstance, HistoryLog,
};
use crate::store::{HistoryStore, OutboxStore};
use baton_bpmn::engine::HistoryEvent;

impl Translation<'_> {
    pub(super) fn history(&mut self, event: &HistoryEvent, after: &mut AfterCommit) -> Result<()> {
        let store = &self.engine.inner.store;
        let level = self.engine.history_level();
        let watched = self.engine.events_watched();
        match event {
            HistoryEvent::DecisionEvaluated {
                activity_instance_id,
                activity_id,
                decisions,
                at,
            } => {
                after
                    .meters
                    .push((names::EXECUTED_DECISION_INSTANCES, decisions.len() as u64));
                if !level.keeps_details() {
                    return Ok(());
                }
                let instance_id = self.instance_id().to_owned();
                let root = match &self.historic_instance {
                    Some(h) => h.root_process_instance_id.clone(),
                    None => store
                        .historic_instance(&instance_id)?
                        .map_or_else(|| instance_id.clone(), |h| h.root_process_instance_id),
                };
                let record = &self.deployed.record;
                let rows = crate::engine::decisions::historic_rows(decisions, *at, |row| {
                    row.process_definition_id = Some(record.id.clone());
                    row.process_definition_key = Some(record.key.clone());
                    row.process_instance_id = Some(instance_id.clone());
                    row.root_process_instance_id = Some(root.clone());
                    row.activity_id = Some(activity_id.clone());
                    row.activity_instance_id = Some(activity_instance_id.clone());
                });
                self.decisions.extend(rows);
            }
            HistoryEvent::ActivityStarted {
                activity_instance_id,
                parent_activity_instance_id,
                activity_id,
                activity_type,
                execution_id,
                task_id,
                called_process_instance_id,
                at,
            } => {
                after.meters.push((names::ACTIVITY_INSTANCE_START, 1));
                if watched {
                    after.events.push(EngineEvent::ActivityEntered {
                        process_instance_id: self.instance_id().to_owned(),
                        process_definition_id: self.deployed.record.id.clone(),
                        activity_id: activity_id.clone(),
                        activity_instance_id: activity_instance_id.clone(),
                        activity_type: activity_type.clone(),
                    });
                }
                if !level.keeps_activities() {
                    return Ok(());
                }
                let h = HistoricActivityInstance {
                    id: activity_instance_id.clone(),
                    parent_activity_instance_id: parent_activity_instance_id.clone(),
                    activity_id: activity_id.clone(),
                    activity_name: self.activity_name(activity_id),
                    activity_type: activity_type.clone(),
                    process_definition_key: self.deployed.record.key.clone(),
                    process_definition_id: self.deployed.record.id.clone(),
                    process_instance_id: self.instance_id().to_owned(),
                    execution_id: execution_id.clone(),
                    task_id: task_id.clone(),
                    assignee: None,
                    called_process_instance_id: called_process_instance_id.clone(),
                    start_time: *at,
                    end_time: None,
                    canceled: false,
                    complete_scope: false,
                    tenant_id: self.record.tenant_id.clone(),
                    sequence: store.next_sequence()?,
                };
                self.created_history.insert(h.id.clone());
                self.activities.insert(h.id.clone(), h);
            }
            HistoryEvent::ActivityEnded {
                activity_instance_id,
                activity_id,
                canceled,
                complete_scope,
                at,
            } => {
                after.meters.push((names::ACTIVITY_INSTANCE_END, 1));
                if watched {
                    after.events.push(EngineEvent::ActivityLeft {
                        process_instance_id: self.instance_id().to_owned(),
                        process_definition_id: self.deployed.record.id.clone(),
                        activity_id: activity_id.clone(),
                        activity_instance_id: activity_instance_id.clone(),
                        canceled: *canceled,
                    });
                }
                if !level.keeps_activities() {
                    return Ok(());
                }
                let existing = match self.activities.remove(activity_instance_id) {
                    Some(h) => Some(h),
                    None if self.new_instance => None,
                    None => store.historic_activity(self.instance_id(), activity_instance_id)?,
                };
                if let Some(mut h) = existing {
                    h.end_time = Some(*at);
                    h.canceled = *canceled;
                    h.complete_scope = *complete_scope;
                    self.activities.insert(h.id.clone(), h);
                }
            }
            HistoryEvent::VariableSet { .. } | HistoryEvent::VariableDeleted { .. } => {
                if level.keeps_variables() {
                    self.variable_history(event, level.keeps_details())?;
                }
            }
        }
        Ok(())
    }

    /// A variable's history row: the newest version this command holds, else the stored
    /// one, updated (or created, with a new id) by a set or a delete; with `details`, a
    /// variable update record per set too.
    fn variable_history(&mut self, event: &HistoryEvent, details: bool) -> Result<()> {
        let store = &self.engine.inner.store;
        match event {
            HistoryEvent::VariableSet {
                scope_id,
                name,
                value,
                at,
            } => {
                let key = (scope_id.clone(), name.clone());
                let existing = match self.variables.remove(&key) {
                    Some(v) => Some(v),
                    None if self.new_instance => None,
                    None => store.historic_variable(self.instance_id(), scope_id, name)?,
                };
                let v = match existing {
                    Some(mut v) => {
                        v.value = value.clone();
                        v.last_updated = *at;
                        v.state = "CREATED".into();
                        v.revision = v.revision.saturating_add(1);
                        v
                    }
                    None => HistoricVariableInstance {
                        id: {
                            let id = new_id_of_instance(self.instance_id());
                            self.created_history.insert(id.clone());
                            id
                        },
                        name: name.clone(),
                        value: value.clone(),
                        process_instance_id: self.instance_id().to_owned(),
                        process_definition_id: self.deployed.record.id.clone(),
                        process_definition_key: self.deployed.record.key.clone(),
                        activity_instance_id: scope_id.clone(),
                        create_time: *at,
                        last_updated: *at,
                        state: "CREATED".into(),
                        tenant_id: self.record.tenant_id.clone(),
                        revision: 0,
                    },
                };
                // One variable update record per set (`/history/detail`); "initial" when
                // created by the command that started the instance (its record has no start
                // time yet) or at its start time.
                if details {
                    self.logs.push(HistoryLog::Detail(HistoricDetail {
                        id: new_id(),
                        time: *at,
                        variable_instance_id: v.id.clone(),
                        variable_name: v.name.clone(),
                        value: v.value.clone(),
                        revision: v.revision,
                        initial: v.revision == 0
                            && (self.record.state.started_at == 0
                                || *at == self.record.state.started_at),
                        activity_instance_id: v.activity_instance_id.clone(),
                        process_instance_id: v.process_instance_id.clone(),
                        process_definition_id: v.process_definition_id.clone(),
                        process_definition_key: v.process_definition_key.clone(),
                        tenant_id: v.tenant_id.clone(),
                    }));
                }
                self.variables.insert(key, v);
            }
            HistoryEvent::VariableDeleted { scope_id, name, at } => {
                let key = (scope_id.clone(), name.clone());
                let existing = match self.variables.remove(&key) {
                    Some(v) => Some(v),
                    None if self.new_instance => None,
                    None => store.historic_variable(self.instance_id(), scope_id, name)?,
                };
                if let Some(mut v) = existing {
                    v.state = "DELETED".into();
                    v.last_updated = *at;
                    self.variables.insert(key, v);
                }
            }
            _ => {}
        }
        Ok(())
    }
}
