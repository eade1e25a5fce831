//! [`HistoryLogStore`] on sled: `HistoryLogs` (kind, id → entry; ids are UUID v7, so key
//! order is creation order) and `HistoryLogsByInstance`, read when an instance's history is
//! removed or restarted.
//!
//! A per-instance entry is `(instance id, kind, id) → the ids of the other entries of that
//! kind staged with it`, each followed by a zero byte: one index entry for all the entries of
//! a kind one step writes (a task's created and successful log, when the task ran in the
//! step) instead of one each. Entries written before had an empty value, which reads the same.

use std::collections::hash_map::Entry;

use foldhash::HashMap;

use super::index::{history_log_instance_key, history_log_key, history_log_prefix};
use super::keys::Key;
use super::{Result, Store, Tree, WriteSet};
use crate::records::{HistoryLog, HistoryLogKind};
use crate::store::Accept;
use crate::store::history_logs::HistoryLogStore;

/// The ids a per-instance entry names: the one in its key (what follows `prefix`, up to the
/// next zero byte) and those in its value.
fn ids_of_entry<'a>(prefix_len: usize, key: &'a [u8], value: &'a [u8]) -> Vec<&'a [u8]> {
    let own = key
        .get(prefix_len..)
        .and_then(|rest| rest.split(|b| *b == 0).next());
    own.into_iter()
        .chain(value.split(|b| *b == 0))
        .filter(|id| !id.is_empty())
        .collect()
}

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
        let mut ids = Vec::new();
        for (key, value) in self.scan_raw(Tree::HistoryLogsByInstance, &prefix)? {
            for id in ids_of_entry(prefix.len(), &key, &value) {
                ids.push(String::from_utf8_lossy(id).into_owned());
            }
        }
        // Creation order (ids are UUID v7), whichever entries named them.
        ids.sort_unstable();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(log) = self.history_log(kind, &id)? {
                out.push(log);
            }
        }
        Ok(out)
    }

    fn history_log(&self, kind: HistoryLogKind, id: &str) -> Result<Option<HistoryLog>> {
        self.get(Tree::HistoryLogs, &history_log_key(kind, id))
    }

    fn stage_history_logs(&self, ws: &mut WriteSet, logs: &[HistoryLog]) {
        // Per instance and kind: the first entry (its key names it) and the others' ids.
        let mut groups: Vec<(&HistoryLog, Vec<u8>)> = Vec::new();
        let mut group_of: HashMap<(&str, HistoryLogKind), usize> = HashMap::default();
        for log in logs {
            ws.put(
                Tree::HistoryLogs,
                history_log_key(log.kind(), log.id()),
                log,
            );
            let Some(instance) = log.process_instance_id() else {
                continue;
            };
            match group_of.entry((instance, log.kind())) {
                Entry::Occupied(group) => {
                    let others = &mut groups[*group.get()].1;
                    others.extend_from_slice(log.id().as_bytes());
                    others.push(0);
                }
                Entry::Vacant(slot) => {
                    slot.insert(groups.len());
                    groups.push((log, Vec::new()));
                }
            }
        }
        for (log, others) in groups {
            if let Some(instance) = log.process_instance_id() {
                ws.put_raw(
                    Tree::HistoryLogsByInstance,
                    history_log_instance_key(instance, log.kind(), log.id()),
                    others,
                );
            }
        }
    }

    fn stage_history_logs_removal(&self, ws: &mut WriteSet, instance_id: &str) -> Result<()> {
        let prefix = Key::new().str(instance_id).build();
        for (key, value) in self.scan_raw(Tree::HistoryLogsByInstance, &prefix)? {
            // instance \0 kind \0 id \0: the kind follows the prefix.
            let Some(kind) = key[prefix.len()..].split(|b| *b == 0).next() else {
                continue;
            };
            let kind_prefix_len = prefix.len() + kind.len() + 1;
            for id in ids_of_entry(kind_prefix_len, &key, &value) {
                let mut entry = kind.to_vec();
                entry.push(0);
                entry.extend_from_slice(id);
                entry.push(0);
                ws.delete(Tree::HistoryLogs, entry);
            }
            ws.delete(Tree::HistoryLogsByInstance, key);
        }
        Ok(())
    }
}
