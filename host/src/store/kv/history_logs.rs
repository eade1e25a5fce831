//! [`HistoryLogStore`] on sled: `HistoryLogs` (kind, id → entry; ids are UUID v7, so key
//! order is creation order) and `HistoryLogsByInstance` (instance id, kind, id → ()), read
//! when an instance's history is removed.

use super::index::{history_log_instance_key, history_log_key, history_log_prefix};
use super::keys::Key;
use super::{Result, Store, Tree, WriteSet};
use crate::records::{HistoryLog, HistoryLogKind};
use crate::store::Accept;
use crate::store::history_logs::HistoryLogStore;

impl HistoryLogStore for Store {
    fn history_logs_where(
        &self,
        kind: HistoryLogKind,
        keep: &mut dyn FnMut(&HistoryLog) -> Accept,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<HistoryLog>> {
        let candidates = self
            .scan_prefix(Tree::HistoryLogs, &history_log_prefix(kind))
            .map(|kv| {
                let (_, v) = kv?;
                super::codec::decode(Tree::HistoryLogs.name(), &v).map(Some)
            });
        super::query::page(candidates, keep, skip, limit)
    }

    fn history_logs_of_instance(
        &self,
        instance_id: &str,
        kind: HistoryLogKind,
    ) -> Result<Vec<HistoryLog>> {
        let prefix = Key::new().str(instance_id).str(kind.as_str()).build();
        let mut out = Vec::new();
        for key in self.scan_keys(Tree::HistoryLogsByInstance, &prefix, usize::MAX)? {
            // instance \0 kind \0 id \0: the id is what follows the prefix.
            let Some(id) = key[prefix.len()..].split(|b| *b == 0).next() else {
                continue;
            };
            let id = String::from_utf8_lossy(id);
            if let Some(log) = self.history_log(kind, &id)? {
                out.push(log);
            }
        }
        Ok(out)
    }

    fn history_log(&self, kind: HistoryLogKind, id: &str) -> Result<Option<HistoryLog>> {
        self.get(Tree::HistoryLogs, &history_log_key(kind, id))
    }

    fn stage_history_log(&self, ws: &mut WriteSet, log: &HistoryLog) {
        ws.put(
            Tree::HistoryLogs,
            history_log_key(log.kind(), log.id()),
            log,
        );
        if let Some(pi) = log.process_instance_id() {
            ws.put_raw(
                Tree::HistoryLogsByInstance,
                history_log_instance_key(pi, log.kind(), log.id()),
                Vec::new(),
            );
        }
    }

    fn stage_history_logs_removal(&self, ws: &mut WriteSet, instance_id: &str) -> Result<()> {
        let prefix = Key::new().str(instance_id).build();
        for key in self.scan_keys(Tree::HistoryLogsByInstance, &prefix, usize::MAX)? {
            // instance \0 kind \0 id \0: the last two components name the entry.
            let rest = &key[prefix.len()..];
            let mut parts = rest.split(|b| *b == 0);
            let (Some(kind), Some(id)) = (parts.next(), parts.next()) else {
                continue;
            };
            let mut entry = kind.to_vec();
            entry.push(0);
            entry.extend_from_slice(id);
            entry.push(0);
            ws.delete(Tree::HistoryLogs, entry);
            ws.delete(Tree::HistoryLogsByInstance, key);
        }
        Ok(())
    }
}
