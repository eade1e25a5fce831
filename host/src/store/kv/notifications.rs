//! [`NotificationStore`] on sled: `NotificationRules` by id, `NotificationEvents` by (time,
//! random id), `NotificationDeliveries` by sequence with `NotificationDue` (due, sequence), and
//! `NotificationGroups` by (rule id, event kind, group).

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::keys::{Key, from_ord_i64};
use super::{Result, Store, Tree, WriteSet, codec};
use crate::store::{NotificationStore, StoredKey};

fn delivery_key(seq: u64) -> Vec<u8> {
    Key::new().u64(seq).build()
}

fn due_key(due: i64, seq: u64) -> Vec<u8> {
    Key::new().i64(due).u64(seq).build()
}

fn group_key(rule_id: &str, kind: &str, group: &str) -> Vec<u8> {
    Key::new().str(rule_id).str(kind).str(group).build()
}

fn seq_of(key: &[u8], at: usize) -> Option<u64> {
    key.get(at..at + 8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
}

impl NotificationStore for Store {
    fn notification_rules<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        self.scan(Tree::NotificationRules, b"")
    }

    fn notification_rule<T: DeserializeOwned>(&self, id: &str) -> Result<Option<T>> {
        self.get(Tree::NotificationRules, id.as_bytes())
    }

    fn count_notification_rules(&self) -> Result<usize> {
        self.count(Tree::NotificationRules)
    }

    fn stage_notification_rule<T: Serialize>(&self, ws: &mut WriteSet, id: &str, rule: &T) {
        ws.put(Tree::NotificationRules, id.as_bytes().to_vec(), rule);
    }

    fn stage_notification_rule_removal(&self, ws: &mut WriteSet, id: &str) {
        ws.delete(Tree::NotificationRules, id.as_bytes().to_vec());
    }

    fn stage_notification_event<T: Serialize>(&self, ws: &mut WriteSet, time: i64, event: &T) {
        let key = Key::new()
            .i64(time)
            .str(&uuid::Uuid::new_v4().simple().to_string())
            .build();
        ws.put(Tree::NotificationEvents, key, event);
    }

    fn notification_events<T: DeserializeOwned>(
        &self,
        limit: usize,
    ) -> Result<Vec<(StoredKey, Result<T>)>> {
        let mut out = Vec::new();
        for (key, raw) in self
            .scan_prefix(Tree::NotificationEvents, b"")
            .take(limit)
            .map(|kv| kv.map(|(k, v)| (k.to_vec(), v)))
            .collect::<std::result::Result<Vec<_>, _>>()?
        {
            out.push((
                StoredKey(key),
                codec::decode(Tree::NotificationEvents.name(), &raw),
            ));
        }
        Ok(out)
    }

    fn stage_notification_event_removal(&self, ws: &mut WriteSet, key: &StoredKey) {
        ws.delete(Tree::NotificationEvents, key.0.clone());
    }

    fn notification_group<T: DeserializeOwned>(
        &self,
        rule_id: &str,
        kind: &str,
        group: &str,
    ) -> Result<Option<T>> {
        self.get(Tree::NotificationGroups, &group_key(rule_id, kind, group))
    }

    fn stage_notification_group<T: Serialize>(
        &self,
        ws: &mut WriteSet,
        rule_id: &str,
        kind: &str,
        group: &str,
        window: &T,
    ) {
        ws.put(
            Tree::NotificationGroups,
            group_key(rule_id, kind, group),
            window,
        );
    }

    fn notification_delivery<T: DeserializeOwned>(&self, seq: u64) -> Result<Option<T>> {
        self.get(Tree::NotificationDeliveries, &delivery_key(seq))
    }

    fn stage_notification_delivery<T: Serialize>(
        &self,
        ws: &mut WriteSet,
        seq: u64,
        delivery: &T,
        due: Option<i64>,
        old_due: Option<i64>,
    ) {
        if let Some(old) = old_due {
            ws.delete(Tree::NotificationDue, due_key(old, seq));
        }
        if let Some(due) = due {
            ws.index(Tree::NotificationDue, due_key(due, seq));
        }
        ws.put(Tree::NotificationDeliveries, delivery_key(seq), delivery);
    }

    fn stage_notification_delivery_removal(&self, ws: &mut WriteSet, seq: u64) {
        ws.delete(Tree::NotificationDeliveries, delivery_key(seq));
    }

    fn stage_notification_due_removal(&self, ws: &mut WriteSet, due: i64, seq: u64) {
        ws.delete(Tree::NotificationDue, due_key(due, seq));
    }

    fn due_notifications(&self, until: i64, limit: usize) -> Result<Vec<(i64, u64)>> {
        let end = Key::new().i64(until).build();
        Ok(self
            .range_keys(Tree::NotificationDue, &[], &end, limit)?
            .iter()
            .filter_map(|k| Some((from_ord_i64(k)?, seq_of(k, 8)?)))
            .collect())
    }

    fn notification_deliveries<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        self.scan(Tree::NotificationDeliveries, b"")
    }

    fn oldest_notification_deliveries<T: DeserializeOwned>(
        &self,
        limit: usize,
    ) -> Result<Vec<(u64, T)>> {
        let mut out = Vec::new();
        for (key, raw) in self
            .scan_prefix(Tree::NotificationDeliveries, b"")
            .take(limit)
            .map(|kv| kv.map(|(k, v)| (k.to_vec(), v)))
            .collect::<std::result::Result<Vec<_>, _>>()?
        {
            if let Some(seq) = seq_of(&key, 0) {
                out.push((
                    seq,
                    codec::decode(Tree::NotificationDeliveries.name(), &raw)?,
                ));
            }
        }
        Ok(out)
    }

    fn count_notification_deliveries(&self) -> Result<(usize, usize)> {
        Ok((
            self.count(Tree::NotificationDeliveries)?,
            self.count(Tree::NotificationDue)?,
        ))
    }
}
