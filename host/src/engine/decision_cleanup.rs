//! The removal of decision history (Camunda's removal-time-based strategy for historic
//! decision instances): when each one is due (an override set by hand, else its evaluation
//! time plus its decision definition's `historyTimeToLive`, or, for an evaluation inside a
//! process, the removal time of its root process instance while that instance's history is
//! kept), the batch invocations that
//! delete one or set its removal time, and the cleanup pass that removes the due ones in
//! small write sets. Decision definitions without a time to live keep their history.

use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::{HistoricDecisionInstance, RemovalTimeOverride};
use crate::store::{DecisionStore, HistoryStore, WriteSet};

impl ProcessEngine {
    /// When a historic decision instance's history will be removed, `None` when it is kept.
    pub fn decision_removal_time_of(&self, h: &HistoricDecisionInstance) -> Option<i64> {
        RemovalTimeOverride::apply(h.removal_time, || {
            // Evaluated inside a process: it goes with its root process instance while that
            // instance's history is there, else by its own time to live.
            if let Some(root) = h
                .root_process_instance_id
                .as_deref()
                .and_then(|root| self.inner.store.historic_instance(root).ok().flatten())
            {
                return self.removal_time_of(&root);
            }
            let days = self
                .inner
                .store
                .decision_definition(&h.decision_definition_id)
                .ok()??
                .history_time_to_live?;
            super::history_cleanup::after_days(h.evaluation_time, i64::from(days))
        })
    }

    /// Remove one historic decision instance in the same commit as the batch's `progress`
    /// (a `historic-decision-instance-deletion` invocation); one already gone is done.
    pub(crate) async fn delete_historic_decision_with(
        &self,
        id: &str,
        progress: WriteSet,
    ) -> Result<Option<WriteSet>> {
        let store = &self.inner.store;
        if store.historic_decision_instance(id)?.is_none() {
            return Ok(Some(progress));
        }
        let mut ws = progress;
        store.stage_historic_decision_instance_removal(&mut ws, id);
        store.commit_durable(&ws).await?;
        Ok(None)
    }

    /// Set (or clear, or with `None` recalculate) the removal time of one historic decision
    /// instance and, `hierarchical`, of the others of its evaluation (the root decision and
    /// the decisions it required).
    pub(crate) async fn set_decision_removal_time(
        &self,
        id: &str,
        removal_time: Option<RemovalTimeOverride>,
        hierarchical: bool,
    ) -> Result<()> {
        let store = &self.inner.store;
        let h = store.historic_decision_instance(id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!(
                "No historic decision instance found with id: {id}"
            ))
        })?;
        let mut rows = vec![h.clone()];
        if hierarchical {
            let root = h.root_decision_instance_id.clone().unwrap_or(h.id.clone());
            rows.extend(
                store
                    .historic_decision_instances()?
                    .into_iter()
                    .filter(|x| {
                        x.id != h.id
                            && (x.id == root
                                || x.root_decision_instance_id.as_deref() == Some(&root))
                    }),
            );
        }
        let mut ws = WriteSet::new();
        for mut row in rows {
            row.removal_time = removal_time;
            store.stage_historic_decision_instance(&mut ws, &row);
        }
        store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Remove the historic decision instances whose removal time has passed, `batch` per
    /// write set, yielding between; how many went.
    pub(crate) async fn remove_expired_decision_history(
        &self,
        now: i64,
        batch: usize,
    ) -> Result<usize> {
        let due: Vec<String> = self
            .inner
            .store
            .historic_decision_instances()?
            .into_iter()
            .filter(|h| self.decision_removal_time_of(h).is_some_and(|t| t <= now))
            .map(|h| h.id)
            .collect();
        for chunk in due.chunks(batch.max(1)) {
            let mut ws = WriteSet::new();
            for id in chunk {
                self.inner
                    .store
                    .stage_historic_decision_instance_removal(&mut ws, id);
            }
            self.inner.store.commit_durable(&ws).await?;
            tokio::task::yield_now().await;
        }
        Ok(due.len())
    }
}
