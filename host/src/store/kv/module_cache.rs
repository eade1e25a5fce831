//! The task modules an embedded store has read, kept for the next in-engine task.
//!
//! Every service task asks which component serves its topic (the one its deployment bundled,
//! else the topic's binding): two store reads and a decode per task, ~2% of the server's CPU
//! for a one-task instance run through REST (perf, issue 15). Modules change rarely (a bind,
//! an unbind, a deployment bringing or deleting its own). The cache is exact in the same way
//! as [`super::definition_cache`]: every commit that writes a module tree moves the epoch on
//! after the change is in memory, and entries filled at an older epoch are dropped before
//! anyone reads them. Absent modules are kept too (most topics have no deployment-bundled
//! component). Only the embedded store has one: on PostgreSQL another node may bind a module
//! without this node's commits seeing it.

use super::Tree;
use super::epoch_cache::EpochCache;
use crate::records::TaskModule;

/// At most this many lookups are kept per tree and epoch; when full the tree's entries start
/// over. The keys come from deployed models' topics, but nothing else bounds them.
const MAX_ENTRIES: usize = 1024;

/// What the module trees held for each key looked up, valid for one epoch.
pub(super) type ModuleCache = EpochCache<Modules>;

#[derive(Default)]
pub(super) struct Modules {
    /// Key in `Modules` (topic) → the module bound there, or none.
    bound: foldhash::HashMap<Vec<u8>, Option<TaskModule>>,
    /// Key in `DeploymentModules` (deployment, topic) → the module bundled there, or none.
    bundled: foldhash::HashMap<Vec<u8>, Option<TaskModule>>,
}

impl Modules {
    /// The map of `tree`'s entries (`None` for a tree this cache does not cover).
    fn of(&mut self, tree: Tree) -> Option<&mut foldhash::HashMap<Vec<u8>, Option<TaskModule>>> {
        match tree {
            Tree::Modules => Some(&mut self.bound),
            Tree::DeploymentModules => Some(&mut self.bundled),
            _ => None,
        }
    }
}

impl ModuleCache {
    /// Whether a commit writing `tree` must call [`EpochCache::invalidate`] on this cache.
    pub(super) fn covers(tree: Tree) -> bool {
        matches!(tree, Tree::Modules | Tree::DeploymentModules)
    }

    /// What `tree` holds at `key` (`Some(None)`: known absent), if it is current.
    pub(super) fn module(&self, tree: Tree, key: &[u8]) -> Option<Option<TaskModule>> {
        self.current(|entries| entries.of(tree)?.get(key).cloned())
            .flatten()
    }

    /// Keep what `tree` held at `key` when read at `epoch`. Dropped if a module commit came
    /// after `epoch`.
    pub(super) fn fill(&self, epoch: u64, tree: Tree, key: &[u8], module: Option<&TaskModule>) {
        self.at(epoch, |entries| {
            let Some(map) = entries.of(tree) else {
                return;
            };
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(key.to_vec(), module.cloned());
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(topic: &str, sha: &str) -> TaskModule {
        TaskModule {
            topic: topic.into(),
            sha256: sha.into(),
            size: 1,
            deployment_id: None,
            created: 0,
            limits: Default::default(),
            world_check: None,
        }
    }

    #[test]
    fn an_entry_filled_before_a_module_commit_is_never_served() {
        let cache = ModuleCache::default();
        let read_at = cache.epoch();
        // A commit lands between the reader's store read and its fill.
        cache.invalidate();
        cache.fill(read_at, Tree::Modules, b"work", Some(&module("work", "a")));
        assert!(cache.module(Tree::Modules, b"work").is_none());

        let now = cache.epoch();
        cache.fill(now, Tree::Modules, b"work", Some(&module("work", "b")));
        cache.fill(now, Tree::DeploymentModules, b"d/work", None);
        let hit = cache.module(Tree::Modules, b"work").flatten();
        assert_eq!(hit.map(|m| m.sha256), Some("b".to_owned()));
        // Known absent is an answer too, and the trees do not mix.
        assert_eq!(cache.module(Tree::DeploymentModules, b"d/work"), Some(None));
        assert!(cache.module(Tree::DeploymentModules, b"work").is_none());
        // A tree the cache does not cover keeps nothing.
        cache.fill(now, Tree::Meta, b"work", Some(&module("work", "c")));
        assert!(cache.module(Tree::Meta, b"work").is_none());

        cache.invalidate();
        assert!(cache.module(Tree::Modules, b"work").is_none());
    }

    #[test]
    fn a_full_cache_starts_over() {
        let cache = ModuleCache::default();
        let epoch = cache.epoch();
        for i in 0..=MAX_ENTRIES {
            cache.fill(epoch, Tree::Modules, format!("t{i}").as_bytes(), None);
        }
        assert!(cache.module(Tree::Modules, b"t0").is_none());
        let last = format!("t{MAX_ENTRIES}");
        assert_eq!(cache.module(Tree::Modules, last.as_bytes()), Some(None));
    }
}
