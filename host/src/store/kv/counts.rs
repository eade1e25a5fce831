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

/// One tree's counts: all its records, and per first key component (kept only for the
/// trees counted so; a component whose count drops to zero is forgotten).
#[derive(Default, Clone)]
struct TreeCounts {
    total: i64,
    by_component: foldhash::HashMap<Vec<u8>, i64>,
}

/// The counts: per tree, and per (tree, first component). Keyed so that applying a commit's
/// deltas (under the writer lock) looks components up by slice, allocating nothing.
#[derive(Default)]
pub(super) struct Counts {
    by: Mutex<foldhash::HashMap<Tree, TreeCounts>>,
}

impl Counts {
    fn lock(&self) -> std::sync::MutexGuard<'_, foldhash::HashMap<Tree, TreeCounts>> {
        // Counts are plain numbers: a panic elsewhere cannot leave them half-changed.
        self.by.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Count every counted tree by walking it (on open, when the log has no snapshot: a new
    /// store or one written by a release before the log).
    pub(super) fn rebuild(&self, trees: &[Durable]) -> Result<()> {
        let mut by = foldhash::HashMap::default();
        for (tree, per) in COUNTED {
            let mut counts = TreeCounts::default();
            let all = trees[*tree as usize].range(Bound::Unbounded, Bound::Unbounded, false);
            for pair in all {
                let (key, _) = pair?;
                counts.total += 1;
                if *per && let Some(c) = first_component(&key) {
                    *counts.by_component.entry(c.to_vec()).or_insert(0) += 1;
                }
            }
            by.insert(*tree, counts);
        }
        *self.lock() = by;
        Ok(())
    }

    /// The counts now.
    pub(super) fn snapshot(&self) -> Snapshot {
        let by = self.lock();
        let mut snapshot = Snapshot::new();
        for (tree, counts) in by.iter() {
            snapshot.insert((*tree, Vec::new()), counts.total);
            for (component, n) in &counts.by_component {
                snapshot.insert((*tree, component.clone()), *n);
            }
        }
        snapshot
    }

    /// Start from a snapshot (then apply the deltas logged after it).
    pub(super) fn load(&self, snapshot: Snapshot) {
        let mut by: foldhash::HashMap<Tree, TreeCounts> = foldhash::HashMap::default();
        for ((tree, component), n) in snapshot {
            let counts = by.entry(tree).or_default();
            if component.is_empty() {
                counts.total = n;
            } else {
                counts.by_component.insert(component, n);
            }
        }
        *self.lock() = by;
    }

    /// Apply a committed transaction's deltas.
    pub(super) fn apply(&self, deltas: &[Delta]) {
        if deltas.is_empty() {
            return;
        }
        let mut by = self.lock();
        for (tree, key, d) in deltas {
            let counts = by.entry(*tree).or_default();
            counts.total += d;
            if per_component(*tree)
                && let Some(c) = first_component(key)
            {
                match counts.by_component.get_mut(c) {
                    Some(n) => {
                        *n += d;
                        if *n == 0 {
                            counts.by_component.remove(c);
                        }
                    }
                    None => {
                        counts.by_component.insert(c.to_vec(), *d);
                    }
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
        let by = self.lock();
        let counts = by.get(&tree);
        let n = match component {
            None => counts.map(|c| c.total),
            Some(_) => counts.and_then(|c| c.by_component.get(key.as_slice()).copied()),
        };
        n.map_or(0, |n| usize::try_from(n).unwrap_or(0))
    }
}
