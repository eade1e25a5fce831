//! [`HistoryLogStore`]: the history logs (external task log, job log, variable updates,
//! identity link log), one small record per event staged in the write set of the step that
//! caused it, read back in creation order per kind, and removed with their process
//! instance's history.

use super::{Accept, Result, WriteSet};
use crate::records::{HistoryLog, HistoryLogKind};

/// History log entries.
pub trait HistoryLogStore {
    /// Entries of a kind in creation order that `keep` takes, `skip`ped and at most
    /// `limit`: the page is cut while reading (`Abort` stops the read).
    fn history_logs_where(
        &self,
        kind: HistoryLogKind,
        keep: &mut dyn FnMut(&HistoryLog) -> Accept,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<HistoryLog>>;
    /// The entries of a kind of one process instance, in creation order (through the
    /// per-instance index: the cost is that instance's entries, not the whole log).
    fn history_logs_of_instance(
        &self,
        instance_id: &str,
        kind: HistoryLogKind,
    ) -> Result<Vec<HistoryLog>>;
    /// One entry.
    fn history_log(&self, kind: HistoryLogKind, id: &str) -> Result<Option<HistoryLog>>;
    /// Stage new entries: those of one step together, so that one per-instance index entry
    /// covers all of a kind.
    fn stage_history_logs(&self, ws: &mut WriteSet, logs: &[HistoryLog]);
    /// Stage a new entry.
    fn stage_history_log(&self, ws: &mut WriteSet, log: &HistoryLog) {
        self.stage_history_logs(ws, std::slice::from_ref(log));
    }
    /// Stage removing every entry of a process instance.
    fn stage_history_logs_removal(&self, ws: &mut WriteSet, instance_id: &str) -> Result<()>;
}
