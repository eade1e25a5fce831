//! The decoded process definitions an embedded store has read, kept for the next reader.
//!
//! Every start reads its definition (by id, or the latest version of a key: a reverse scan of
//! `DefinitionsByKey` and a decode), and definitions change rarely (a deployment, a
//! suspension, a deletion). The cache is exact: every commit that writes either definition
//! tree moves its epoch on after the change is in memory, and entries filled at an older
//! epoch are dropped before anyone reads them. Only the embedded store has one: on
//! PostgreSQL another node may change a definition without this node's commits seeing it.

use super::epoch_cache::EpochCache;
use crate::records::ProcessDefinition;

/// Definitions by id and the latest version of each (key, tenant), valid for one epoch.
pub(super) type DefinitionCache = EpochCache<Definitions>;

#[derive(Default)]
pub(super) struct Definitions {
    by_id: foldhash::HashMap<String, ProcessDefinition>,
    /// Definition key → (tenant, id of its latest version); a key has one entry per tenant
    /// asked for, so a lookup by `&str` needs no owned key.
    latest: foldhash::HashMap<String, Vec<(Option<String>, String)>>,
}

impl DefinitionCache {
    /// The cached definition with this id, if it is current.
    pub(super) fn by_id(&self, id: &str) -> Option<ProcessDefinition> {
        self.current(|entries| entries.by_id.get(id).cloned())
            .flatten()
    }

    /// The cached latest version of `key` for `tenant`, if it is current.
    pub(super) fn latest(&self, key: &str, tenant: Option<&str>) -> Option<ProcessDefinition> {
        self.current(|entries| {
            let (_, id) = entries
                .latest
                .get(key)?
                .iter()
                .find(|(t, _)| t.as_deref() == tenant)?;
            entries.by_id.get(id).cloned()
        })
        .flatten()
    }

    /// Keep a definition read at `epoch` (and, with `latest_of`, as the latest version of its
    /// key for that tenant). Dropped if a definition commit came after `epoch`.
    pub(super) fn fill(
        &self,
        epoch: u64,
        definition: &ProcessDefinition,
        latest_of: Option<Option<&str>>,
    ) {
        self.at(epoch, |entries| {
            if let Some(tenant) = latest_of {
                let tenants = entries.latest.entry(definition.key.clone()).or_default();
                match tenants.iter_mut().find(|(t, _)| t.as_deref() == tenant) {
                    Some((_, id)) => id.clone_from(&definition.id),
                    None => tenants.push((tenant.map(str::to_owned), definition.id.clone())),
                }
            }
            entries
                .by_id
                .insert(definition.id.clone(), definition.clone());
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(id: &str, key: &str, version: i32) -> ProcessDefinition {
        ProcessDefinition {
            id: id.into(),
            key: key.into(),
            name: None,
            version,
            version_tag: None,
            category: None,
            description: None,
            deployment_id: "d".into(),
            resource_name: "p.bpmn".into(),
            resource_id: "r".into(),
            suspended: false,
            tenant_id: None,
            history_time_to_live: None,
            startable_in_tasklist: true,
            deployed_at: 0,
            job_definitions: Default::default(),
        }
    }

    #[test]
    fn an_entry_filled_before_a_definition_commit_is_never_served() {
        let cache = DefinitionCache::default();
        let read_at = cache.epoch();
        // A commit lands between the reader's store read and its fill.
        cache.invalidate();
        cache.fill(read_at, &definition("p:1", "p", 1), Some(None));
        assert!(cache.by_id("p:1").is_none());
        assert!(cache.latest("p", None).is_none());

        let now = cache.epoch();
        cache.fill(now, &definition("p:2", "p", 2), Some(None));
        assert_eq!(cache.latest("p", None).map(|d| d.id), Some("p:2".into()));
        assert!(cache.latest("p", Some("t1")).is_none());
        // An older reader filling afterwards does not replace the current entries.
        cache.fill(read_at, &definition("p:1", "p", 1), Some(None));
        assert_eq!(cache.latest("p", None).map(|d| d.version), Some(2));

        cache.invalidate();
        assert!(cache.by_id("p:2").is_none());
        assert!(cache.latest("p", None).is_none());
    }
}
