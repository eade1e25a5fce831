//! Where one tree's checkpointed records live on the embedded engine: a sled tree, or (the
//! history trees and the query indexes, [`super::Tree::in_lsm_tables`]) a partition of the
//! LSM tables ([`super::lsm`]). The memtable sits in front of both; the checkpoint and the
//! replay at open write into them.

use std::ops::Bound;
use std::sync::{Arc, Mutex};

use sled::IVec;

use super::Result;
use super::lsm::Partition;

/// The durable copy of one tree.
#[derive(Clone)]
pub(super) enum Durable {
    /// A sled tree (the running state, definitions, identity: what commands read).
    Sled(SledTree),
    /// A history tree or query index in the LSM tables.
    Lsm(Partition),
}

/// A sled tree, and a key no key of it is above.
///
/// Why: a commit asks whether the keys it creates already exist below memory (for the kept
/// counts, and whether a removal must leave a tombstone), and in sled each answer walks the
/// tree from its root (3% of an instance's instructions, callgrind, issue 15). Almost every
/// key a commit creates is new and sorts after every older key of its tree (ids are UUID v7
/// or derived from one, in creation order), so a key above the bound is known absent without
/// the walk. The bound takes in sled's last key at the first question (after the open's own
/// writes) and is raised before each put through [`Durable::write`] (the only way keys enter
/// a sled tree after that), so it never falls below a stored key; removals leave it where it
/// is (too high is only slower).
#[derive(Clone)]
pub(super) struct SledTree {
    tree: sled::Tree,
    last: Arc<Mutex<LastKey>>,
}

/// The bound of a [`SledTree`].
#[derive(Default)]
struct LastKey {
    /// Whether sled's own last key has been taken in (at the first question).
    read: bool,
    /// The highest key put through [`Durable::write`] (and, once `read`, sled's last key when
    /// it was read); `None` while there is none. Raised by puts before and after the read
    /// alike, so a put racing with the first question is never missed.
    highest: Option<IVec>,
}

impl LastKey {
    fn raise_to(&mut self, key: &[u8]) {
        if self.highest.as_ref().is_none_or(|h| key > h.as_ref()) {
            self.highest = Some(IVec::from(key));
        }
    }
}

impl SledTree {
    pub(super) fn new(tree: sled::Tree) -> SledTree {
        SledTree {
            tree,
            last: Arc::new(Mutex::new(LastKey::default())),
        }
    }

    /// Whether `key` sorts after every key of the tree (so the tree cannot hold it).
    fn above_last(&self, key: &[u8]) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if !last.read {
            // Under the lock: a put waits for this read, or was counted before it.
            match self.tree.last() {
                Ok(Some((stored, _))) => last.raise_to(&stored),
                Ok(None) => {}
                // Unknown: ask sled itself.
                Err(_) => return false,
            }
            last.read = true;
        }
        last.highest.as_ref().is_none_or(|h| key > h.as_ref())
    }

    /// Whether a range from `from` starts above every key of the tree (so it holds none).
    fn starts_above_last(&self, from: &Bound<Vec<u8>>) -> bool {
        match from {
            Bound::Included(key) => self.above_last(key),
            // Above `key` and `key` at or above the last: pushing a zero byte onto the key
            // gives the smallest key above it, so the bound test stays one comparison.
            Bound::Excluded(key) => {
                let mut next = Vec::with_capacity(key.len() + 1);
                next.extend_from_slice(key);
                next.push(0);
                self.above_last(&next)
            }
            Bound::Unbounded => false,
        }
    }
}

/// An ordered scan of a durable tree.
pub(super) type DurableScan = Box<dyn Iterator<Item = Result<(IVec, IVec)>>>;

impl Durable {
    /// The value of a key.
    pub(super) fn get(&self, key: &[u8]) -> Result<Option<IVec>> {
        match self {
            Durable::Sled(sled) => Ok(sled.tree.get(key)?),
            Durable::Lsm(partition) => partition.get(key),
        }
    }

    /// Whether the key exists.
    pub(super) fn contains_key(&self, key: &[u8]) -> Result<bool> {
        match self {
            Durable::Sled(sled) if sled.above_last(key) => Ok(false),
            Durable::Sled(sled) => Ok(sled.tree.contains_key(key)?),
            Durable::Lsm(partition) => partition.contains_key(key),
        }
    }

    /// Put (`Some`) or remove (`None`) one key, on its own.
    ///
    /// Checkpoints and the replay at open write sled key by key, not as a `sled::Batch`: sled
    /// applies a batch under its process-wide write lock, which stops every sled read on every
    /// thread until the whole batch is in (tens of milliseconds for a second's changes: the
    /// commands' p99). Nothing needs the batch's atomicity: readers see these keys in memory
    /// until the layer is released after the flush, and a crash half-way replays the log
    /// again (blind puts).
    pub(super) fn write(&self, key: &[u8], value: Option<&IVec>) -> Result<()> {
        match self {
            Durable::Sled(sled) => {
                match value {
                    Some(value) => {
                        sled.last
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .raise_to(key);
                        sled.tree.insert(key, value.clone())?
                    }
                    None => sled.tree.remove(key)?,
                };
            }
            Durable::Lsm(partition) => partition.write(key, value.map(|v| v.as_ref())),
        }
        Ok(())
    }

    /// Put (`Some`) or remove (`None`) the keys of a checkpoint, given in ascending order:
    /// key by key into sled (see [`Durable::write`]), as new tables into an LSM tree
    /// ([`Partition::ingest`]).
    pub(super) fn write_sorted<'a>(
        &self,
        changes: impl Iterator<Item = (&'a [u8], Option<IVec>)>,
    ) -> Result<()> {
        match self {
            Durable::Sled(_) => {
                for (key, value) in changes {
                    self.write(key, value.as_ref())?;
                }
                Ok(())
            }
            Durable::Lsm(partition) => partition.ingest(changes),
        }
    }

    /// The pairs between two bounds, in key order or reversed.
    pub(super) fn range(
        &self,
        from: Bound<Vec<u8>>,
        to: Bound<Vec<u8>>,
        reverse: bool,
    ) -> DurableScan {
        match self {
            // A range starting above every stored key is empty: the usual case for the
            // by-instance prefixes of a new instance (its id sorts after every older one),
            // which sled would otherwise find empty by walking down from the root.
            Durable::Sled(sled) if sled.starts_above_last(&from) => Box::new(std::iter::empty()),
            Durable::Sled(sled) => {
                let iter = sled
                    .tree
                    .range::<Vec<u8>, _>((from, to))
                    .map(|kv| kv.map_err(Into::into));
                if reverse {
                    Box::new(iter.rev())
                } else {
                    Box::new(iter)
                }
            }
            Durable::Lsm(partition) => partition.range(from, to, reverse),
        }
    }

    /// Number of keys (tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.range(Bound::Unbounded, Bound::Unbounded, false)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temporary_tree() -> sled::Tree {
        sled::Config::new()
            .temporary(true)
            .open()
            .expect("temporary sled")
            .open_tree("t")
            .expect("tree")
    }

    /// The bound skips sled only for keys above every stored key: keys stored before the
    /// store opened, put since (before or after the first question) and removed are all
    /// answered as sled would.
    #[test]
    fn a_sled_tree_answers_existence_as_sled_does() {
        let tree = temporary_tree();
        tree.insert(b"m", &b"v"[..]).expect("insert");
        let durable = Durable::Sled(SledTree::new(tree.clone()));
        let value = IVec::from(&b"v"[..]);
        // A put before the first question.
        durable.write(b"q", Some(&value)).expect("write");
        for (key, held) in [
            (&b"a"[..], false),
            (b"m", true),
            (b"p", false),
            (b"q", true),
        ] {
            assert_eq!(
                durable.contains_key(key).expect("contains"),
                held,
                "{key:?}"
            );
        }
        assert!(!durable.contains_key(b"z").expect("contains"));
        durable.write(b"z", Some(&value)).expect("write");
        assert!(durable.contains_key(b"z").expect("contains"));
        durable.write(b"z", None).expect("remove");
        assert!(!durable.contains_key(b"z").expect("contains"));
        assert!(durable.contains_key(b"q").expect("contains"));
    }

    fn keys_between(durable: &Durable, from: Bound<&[u8]>, reverse: bool) -> Vec<Vec<u8>> {
        durable
            .range(from.map(<[u8]>::to_vec), Bound::Unbounded, reverse)
            .map(|kv| kv.expect("scan").0.to_vec())
            .collect()
    }

    /// Ranges starting at, just below, just above and beyond the last key (which moves with
    /// a put after the first question) list what sled lists, in both directions.
    #[test]
    fn a_sled_tree_ranges_as_sled_does() {
        let tree = temporary_tree();
        tree.insert(b"m", &b"v"[..]).expect("insert");
        let durable = Durable::Sled(SledTree::new(tree));
        let m = vec![b"m".to_vec()];
        for reverse in [false, true] {
            assert_eq!(keys_between(&durable, Bound::Included(b"m"), reverse), m);
            assert_eq!(keys_between(&durable, Bound::Excluded(b"l"), reverse), m);
            assert_eq!(keys_between(&durable, Bound::Unbounded, reverse), m);
            assert!(keys_between(&durable, Bound::Excluded(b"m"), reverse).is_empty());
            assert!(keys_between(&durable, Bound::Included(b"m\0"), reverse).is_empty());
        }
        durable
            .write(b"n", Some(&IVec::from(&b"v"[..])))
            .expect("write");
        assert_eq!(
            keys_between(&durable, Bound::Excluded(b"m"), false),
            vec![b"n".to_vec()]
        );
        assert_eq!(
            keys_between(&durable, Bound::Included(b"m\0"), true),
            vec![b"n".to_vec()]
        );
    }

    #[test]
    fn an_empty_sled_tree_holds_nothing_until_a_put() {
        let durable = Durable::Sled(SledTree::new(temporary_tree()));
        assert!(!durable.contains_key(b"k").expect("contains"));
        durable
            .write(b"k", Some(&IVec::from(&b"v"[..])))
            .expect("write");
        assert!(durable.contains_key(b"k").expect("contains"));
        assert!(!durable.contains_key(b"j").expect("contains"));
    }
}
