//! [`SubscriptionStore`] and [`OutboxStore`] on sled: `Subscriptions` by id with
//! `SubscriptionsByName` (type, name, id) for correlation and `SubscriptionsByInstance`; the
//! `Outbox` by sequence number.

use super::index;
use super::keys::Key;
use super::{Result, Store, Tree, WriteSet};
use crate::records::{EventSubscription, EventType};
use crate::store::{OutboxStore, SubscriptionStore};
use serde::Serialize;
use serde::de::DeserializeOwned;

impl SubscriptionStore for Store {
    fn subscription(&self, id: &str) -> Result<Option<EventSubscription>> {
        self.get(Tree::Subscriptions, &index::id_key(id))
    }

    fn subscriptions(&self) -> Result<Vec<EventSubscription>> {
        self.scan(Tree::Subscriptions, b"")
    }

    fn subscriptions_named(&self, kind: EventType, name: &str) -> Result<Vec<EventSubscription>> {
        let prefix = index::subscription_name_prefix(kind, name);
        let mut out = Vec::new();
        for key in self.scan_keys(Tree::SubscriptionsByName, &prefix, usize::MAX)? {
            if let Some(id) = super::keys::last_str(&key)
                && let Some(sub) = self.subscription(&id)?
            {
                out.push(sub);
            }
        }
        Ok(out)
    }

    fn stage_subscription(&self, ws: &mut WriteSet, subscription: &EventSubscription) {
        index::put_subscription(ws, subscription);
    }

    fn stage_subscription_removal(&self, ws: &mut WriteSet, subscription: &EventSubscription) {
        index::delete_subscription(ws, subscription);
    }
}

fn outbox_key(sequence: u64) -> Vec<u8> {
    Key::new().u64(sequence).build()
}

impl OutboxStore for Store {
    fn stage_outbox_entry<T: Serialize>(&self, ws: &mut WriteSet, entry: &T) -> Result<u64> {
        let sequence = self.generate_id()?;
        ws.put(Tree::Outbox, outbox_key(sequence), entry);
        Ok(sequence)
    }

    fn outbox_entry<T: DeserializeOwned>(&self, sequence: u64) -> Result<Option<T>> {
        self.get(Tree::Outbox, &outbox_key(sequence))
    }

    fn outbox_sequences(&self) -> Result<Vec<u64>> {
        Ok(self
            .scan_keys(Tree::Outbox, b"", usize::MAX)?
            .iter()
            .filter_map(|k| <[u8; 8]>::try_from(k.get(..8)?).ok())
            .map(u64::from_be_bytes)
            .collect())
    }

    fn stage_outbox_done(&self, ws: &mut WriteSet, sequence: u64) {
        ws.delete(Tree::Outbox, outbox_key(sequence));
    }

    fn next_sequence(&self) -> Result<u64> {
        self.generate_id()
    }
}
