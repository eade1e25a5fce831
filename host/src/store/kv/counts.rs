//! Record counts kept in memory, so counts and `/metrics` answer without walking a tree.
//!
//! Exact because they come from the commits themselves: a transaction knows, key by key,
//! whether an insert replaced a value and whether a removal removed one, and the deltas of the
//! attempt that committed are applied once it has. For index trees whose keys start with a
//! string component (`topic\0...`, `definition key\0...`), the count is also kept per first
//! component, which answers "how many tasks of topic T", "how many instances of key K".
//! Rebuilt by one key scan when the store opens.

use std::collections::HashMap;
use std::sync::Mutex;

use std::ops::Bound;

use super::durable::Durable;
use super::{Result, Tree};

/// The trees whose size is kept, and whether per first key component too.
const COUNTED: &[(Tree, bool)] = &[
    (Tree::Instances, false),
    (Tree::InstancesByDefinitionKey, true),
    (Tree::HistoricInstances, false),
    (Tree::HistoricInstancesByDefinitionKey, true),
    (Tree::ExternalTasks, false),
    (Tree::ExternalTasksByTopic, true),
    (Tree::UserTasks, false),
    (Tree::UserTasksByAssignee, true),
    (Tree::UserTasksByCandidateGroup, true),
    (Tree::Incidents, false),
];

/// Whether the tree's size is kept.
pub(super) fn is_counted(tree: Tree) -> bool {
    COUNTED.iter().any(|(t, _)| *t == tree)
}

fn per_component(tree: Tree) -> bool {
    COUNTED.iter().any(|(t, per)| *t == tree && *per)
}

/// The first string component of a key, with its terminator (`b"topic\0"`).
fn first_component(key: &[u8]) -> Option<&[u8]> {
    let end = key.iter().position(|&b| b == 0)?;
    Some(&key[..=end])
}

/// One commit's change of the counts: (tree, key, +1 inserted / -1 removed).
pub(super) type Delta = (Tree, Vec<u8>, i64);

/// All counts at one moment: (tree, first key component or empty for the whole tree) ->
/// records. Written at the start of every log segment, so an open after a crash starts from
/// the oldest segment's snapshot and adds the logged deltas instead of walking the trees.
pub(super) type Snapshot = HashMap<(Tree, Vec<u8>), i64>;

/// The counts: per tree (empty component) and per (tree, first component).
#[derive(Default)]
pub(super) struct Counts {
    by: Mutex<HashMap<(Tree, Vec<u8>), i64>>,
}

impl Counts {
    /// Count every counted tree by walking it (on open, when the log has no snapshot: a new
    /// store or one written by a release before the log).
    pub(super) fn rebuild(&self, trees: &[Durable]) -> Result<()> {
        let mut by = HashMap::new();
        for (tree, per) in COUNTED {
            let mut total = 0i64;
            let all = trees[*tree as usize].range(Bound::Unbounded, Bound::Unbounded, false);
            for pair in all {
                let (key, _) = pair?;
                total += 1;
                if *per && let Some(c) = first_component(&key) {
                    *by.entry((*tree, c.to_vec())).or_insert(0) += 1;
                }
            }
            by.insert((*tree, Vec::new()), total);
        }
        if let Ok(mut guard) = self.by.lock() {
            *guard = by;
        }
        Ok(())
    }

    /// The counts now.
    pub(super) fn snapshot(&self) -> Snapshot {
        self.by.lock().map(|by| by.clone()).unwrap_or_default()
    }

    /// Start from a snapshot (then apply the deltas logged after it).
    pub(super) fn load(&self, snapshot: Snapshot) {
        if let Ok(mut by) = self.by.lock() {
            *by = snapshot;
        }
    }

    /// Apply a committed transaction's deltas.
    pub(super) fn apply(&self, deltas: &[Delta]) {
        if deltas.is_empty() {
            return;
        }
        let Ok(mut by) = self.by.lock() else { return };
        for (tree, key, d) in deltas {
            *by.entry((*tree, Vec::new())).or_insert(0) += d;
            if per_component(*tree)
                && let Some(c) = first_component(key)
            {
                let entry = by.entry((*tree, c.to_vec())).or_insert(0);
                *entry += d;
                if *entry == 0 {
                    by.remove(&(*tree, c.to_vec()));
                }
            }
        }
    }

    /// Records in `tree` (whose first key component is `component`, if given).
    pub(super) fn get(&self, tree: Tree, component: Option<&str>) -> usize {
        let key = match component {
            None => Vec::new(),
            Some(c) => {
                let mut k = c.as_bytes().to_vec();
                k.push(0);
                k
            }
        };
        self.by
            .lock()
            .ok()
            .and_then(|by| by.get(&(tree, key)).copied())
            .map_or(0, |n| usize::try_from(n).unwrap_or(0))
    }
}
