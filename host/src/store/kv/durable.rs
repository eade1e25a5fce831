//! Where one tree's checkpointed records live on the embedded engine: a sled tree, or (the
//! history trees) a partition of the history LSM tree ([`super::lsm`]). The memtable sits in
//! front of both; the checkpoint and the replay at open write into them.

use std::ops::Bound;

use sled::IVec;

use super::Result;
use super::lsm::Partition;

/// The durable copy of one tree.
#[derive(Clone)]
pub(super) enum Durable {
    /// A sled tree (the running state, definitions, identity, everything but history).
    Sled(sled::Tree),
    /// A history tree inside the LSM tree.
    History(Partition),
}

/// An ordered scan of a durable tree.
pub(super) type DurableScan = Box<dyn Iterator<Item = Result<(IVec, IVec)>>>;

impl Durable {
    /// The value of a key.
    pub(super) fn get(&self, key: &[u8]) -> Result<Option<IVec>> {
        match self {
            Durable::Sled(tree) => Ok(tree.get(key)?),
            Durable::History(partition) => partition.get(key),
        }
    }

    /// Whether the key exists.
    pub(super) fn contains_key(&self, key: &[u8]) -> Result<bool> {
        match self {
            Durable::Sled(tree) => Ok(tree.contains_key(key)?),
            Durable::History(partition) => partition.contains_key(key),
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
            Durable::Sled(tree) => {
                match value {
                    Some(value) => tree.insert(key, value.clone())?,
                    None => tree.remove(key)?,
                };
            }
            Durable::History(partition) => partition.write(key, value.map(|v| v.as_ref())),
        }
        Ok(())
    }

    /// Put (`Some`) or remove (`None`) the keys of a checkpoint, given in ascending order:
    /// key by key into sled (see [`Durable::write`]), as new tables into a history tree
    /// ([`Partition::ingest`]).
    pub(super) fn write_sorted<'a>(
        &self,
        changes: impl Iterator<Item = (&'a [u8], Option<&'a IVec>)>,
    ) -> Result<()> {
        match self {
            Durable::Sled(_) => {
                for (key, value) in changes {
                    self.write(key, value)?;
                }
                Ok(())
            }
            Durable::History(partition) => partition.ingest(changes),
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
            Durable::Sled(tree) => {
                let iter = tree
                    .range::<Vec<u8>, _>((from, to))
                    .map(|kv| kv.map_err(Into::into));
                if reverse {
                    Box::new(iter.rev())
                } else {
                    Box::new(iter)
                }
            }
            Durable::History(partition) => partition.range(from, to, reverse),
        }
    }

    /// Number of keys (tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.range(Bound::Unbounded, Bound::Unbounded, false)
            .count()
    }
}
