//! [`InstanceStore`] on sled: the `Instances` tree, keyed by instance id, and two index trees
//! for the queries clients send most (`InstancesByDefinitionKey`, `InstancesByBusinessKey`:
//! (field, instance id) → ()). Index entries are written when an instance starts and removed
//! when it ends; the fields they index never change while it runs.

use super::index;
use super::keys::{Key, split_last_str};
use super::{Result, Store, Tree, WriteSet};
use crate::like::LikePattern;
use crate::records::ProcessInstance;
use crate::store::{Accept, InstanceLookup, InstanceStore};

fn definition_key_entry(instance: &ProcessInstance) -> Vec<u8> {
    Key::new()
        .str(&instance.definition_key)
        .str(instance.id())
        .build()
}

fn business_key_entry(instance: &ProcessInstance) -> Option<Vec<u8>> {
    let bk = instance.state.business_key.as_deref()?;
    Some(Key::new().str(bk).str(instance.id()).build())
}

pub(super) fn stage_index_entries(ws: &mut WriteSet, instance: &ProcessInstance) {
    ws.index(
        Tree::InstancesByDefinitionKey,
        definition_key_entry(instance),
    );
    if let Some(k) = business_key_entry(instance) {
        ws.index(Tree::InstancesByBusinessKey, k);
    }
}

/// Where a lookup's candidate ids come from: the most selective index it names.
enum Source<'a> {
    Ids(Vec<&'a str>),
    Index(Tree, Vec<u8>),
    /// Every business-key index entry, matched against a `LIKE` pattern before any record is
    /// read (a pattern with no literal head cannot seek).
    BusinessKeysLike(&'a LikePattern),
    All,
}

fn source<'a>(lookup: &InstanceLookup<'a>) -> Source<'a> {
    if let Some(ids) = lookup.ids {
        let mut ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        ids.sort_unstable();
        ids.dedup();
        return Source::Ids(ids);
    }
    if let Some(bk) = lookup.business_key {
        return Source::Index(Tree::InstancesByBusinessKey, Key::new().str(bk).build());
    }
    if let Some(prefix) = lookup.business_key_prefix {
        // Keys are `business key\0id\0`: without the terminator, the prefix covers every
        // business key that starts with it.
        return Source::Index(Tree::InstancesByBusinessKey, prefix.as_bytes().to_vec());
    }
    if let Some(key) = lookup.definition_key {
        return Source::Index(Tree::InstancesByDefinitionKey, Key::new().str(key).build());
    }
    if let Some(pattern) = lookup.business_key_like {
        return Source::BusinessKeysLike(pattern);
    }
    Source::All
}

impl Store {
    /// The candidate instances of `lookup`, in id order within the source read.
    fn candidates<'a>(
        &'a self,
        lookup: &InstanceLookup<'a>,
    ) -> Box<dyn Iterator<Item = Result<Option<ProcessInstance>>> + 'a> {
        let lookup = *lookup;
        let checked = move |r: Result<Option<ProcessInstance>>| match r {
            Ok(Some(pi)) if !lookup.matches(&pi) => Ok(None),
            other => other,
        };
        match source(&lookup) {
            Source::Ids(ids) => Box::new(
                ids.into_iter()
                    .map(move |id| self.running_instance(id))
                    .map(checked),
            ),
            Source::Index(tree, prefix) => {
                Box::new(self.indexed(tree, &prefix, Tree::Instances).map(checked))
            }
            Source::BusinessKeysLike(pattern) => Box::new(
                self.business_keys_like(pattern)
                    .map(move |id| self.running_instance(&id?))
                    .map(checked),
            ),
            Source::All => Box::new(self.records(Tree::Instances, b"")),
        }
    }

    /// Ids of the running instances whose business key matches `pattern`, from the index
    /// entries alone.
    fn business_keys_like<'a>(
        &'a self,
        pattern: &'a LikePattern,
    ) -> impl Iterator<Item = Result<String>> + 'a {
        self.scan_prefix(Tree::InstancesByBusinessKey, b"")
            .filter_map(move |kv| match kv {
                Err(e) => Some(Err(e)),
                Ok((key, _)) => {
                    let (business_key, id) = split_last_str(&key)?;
                    let business_key = std::str::from_utf8(business_key).ok()?;
                    pattern.matches(business_key).then(|| Ok(id.to_owned()))
                }
            })
    }
}

impl InstanceStore for Store {
    fn running_instance(&self, id: &str) -> Result<Option<ProcessInstance>> {
        self.get(Tree::Instances, &index::id_key(id))
    }

    fn running_instances(&self) -> Result<Vec<ProcessInstance>> {
        self.scan(Tree::Instances, b"")
    }

    fn count_running_instances(&self) -> Result<usize> {
        self.count(Tree::Instances)
    }

    fn running_instances_where(
        &self,
        lookup: &InstanceLookup<'_>,
        keep: &mut dyn FnMut(&ProcessInstance) -> Accept,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<ProcessInstance>> {
        super::query::page(self.candidates(lookup), keep, skip, limit)
    }

    fn count_running_instances_where(&self, lookup: &InstanceLookup<'_>) -> Result<usize> {
        match source(lookup) {
            // Only one index field set: its entries are the answer.
            Source::Index(Tree::InstancesByDefinitionKey, _)
                if lookup.business_key_like.is_none() =>
            {
                self.count_component(
                    Tree::InstancesByDefinitionKey,
                    lookup.definition_key.unwrap_or_default(),
                )
            }
            Source::Index(tree, prefix)
                if lookup.definition_key.is_none()
                    && lookup.business_key_prefix.is_none()
                    && lookup.business_key_like.is_none() =>
            {
                Ok(self.scan_prefix(tree, &prefix).count())
            }
            Source::All => self.count(Tree::Instances),
            Source::BusinessKeysLike(pattern) if lookup.ids.is_none() => {
                let mut n = 0;
                for id in self.business_keys_like(pattern) {
                    id?;
                    n += 1;
                }
                Ok(n)
            }
            _ => {
                let mut n = 0;
                for candidate in self.candidates(lookup) {
                    n += usize::from(candidate?.is_some());
                }
                Ok(n)
            }
        }
    }

    fn stage_instance(&self, ws: &mut WriteSet, instance: &ProcessInstance, new: bool) {
        ws.put(Tree::Instances, index::id_key(&instance.state.id), instance);
        if new {
            stage_index_entries(ws, instance);
        }
    }

    fn stage_instance_end(&self, ws: &mut WriteSet, instance: &ProcessInstance) {
        ws.delete(Tree::Instances, index::id_key(instance.id()));
        ws.delete(
            Tree::InstancesByDefinitionKey,
            definition_key_entry(instance),
        );
        if let Some(k) = business_key_entry(instance) {
            ws.delete(Tree::InstancesByBusinessKey, k);
        }
    }

    fn stage_instance_records_removal(
        &self,
        ws: &mut WriteSet,
        instance_id: &str,
        stored: &baton_bpmn::engine::InstanceState,
        skip_external: &dyn Fn(&str) -> bool,
    ) -> Result<()> {
        index::delete_instance_records(self, ws, instance_id, stored, skip_external)
    }
}
