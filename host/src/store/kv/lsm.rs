//! The history trees' durable home on the embedded engine: one LSM tree (the `lsm-tree`
//! crate, the engine under fjall) in `<data dir>/history`, beside sled.
//!
//! Why not sled: history rows are written once, changed a few times while their instance
//! runs and read rarely, and there are more of them than of anything else. In sled they took
//! two thirds of the disk (sled 0.34 keeps pages up to half dead, a constant) and most of the
//! time of opening a store (sled rebuilds its page table from everything written since the
//! last open; with 1M waiting instances 3.7 s with history, 1.1 s without). The LSM tree
//! writes each checkpoint's history as one sorted, compressed table and opens by reading its
//! manifest and the tables' indexes.
//!
//! Layout: each history tree ([`Tree::is_history`]) is a partition of the one LSM tree, its
//! keys prefixed by the tree's number. The checkpointer writes a frozen layer's history
//! entries here and calls [`HistoryLsm::flush`] (a table, fsynced, and the manifest) before
//! the log segments go: baton's write-ahead log stays what makes a change durable, so the
//! LSM tree needs no journal of its own. A compaction thread merges tables (leveled) after
//! each flush. The memtable in front ([`super::memtable`]) still answers first, so readers
//! never see a half-written checkpoint.

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use lsm_tree::{AbstractTree, AnyTree, Guard, SequenceNumberCounter};
use sled::IVec;

use super::background::Background;
use super::{Result, StoreError, Tree};

/// The folder of the LSM tree inside the data directory.
const FOLDER: &str = "history";

/// Block cache shared by lookups and scans (history reads are rare; the pinned indexes and
/// filters live outside it).
const CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// How often the compaction thread looks without being asked (a flush asks).
const COMPACTION_TICK: Duration = Duration::from_secs(5);

/// Most compaction steps per wake-up (each merges one set of tables; the next flush wakes
/// the thread again).
const COMPACTION_STEPS: usize = 16;

impl From<lsm_tree::Error> for StoreError {
    fn from(e: lsm_tree::Error) -> StoreError {
        StoreError::Backend(format!("history tables: {e}"))
    }
}

/// The LSM tree holding every history tree, and its compaction thread.
pub(super) struct HistoryLsm {
    tree: AnyTree,
    seqno: SequenceNumberCounter,
    visible: SequenceNumberCounter,
    compaction: Option<mpsc::SyncSender<()>>,
    _compactor: Option<Background>,
}

impl HistoryLsm {
    /// Open (or create) the LSM tree under `dir` and start its compaction thread.
    pub(super) fn open(dir: &Path) -> Result<Arc<HistoryLsm>> {
        let seqno = SequenceNumberCounter::default();
        let visible = SequenceNumberCounter::default();
        let tree = lsm_tree::Config::new(dir.join(FOLDER), seqno.clone(), visible.clone())
            .use_cache(Arc::new(lsm_tree::Cache::with_capacity_bytes(CACHE_BYTES)))
            .data_block_compression_policy(lsm_tree::config::CompressionPolicy::all(
                lsm_tree::CompressionType::Lz4,
            ))
            .open()?;
        // Sequence numbers go on after the newest one on disk (versions of a key are ordered
        // by them).
        let next = tree.get_highest_persisted_seqno().map_or(0, |s| s + 1);
        seqno.fetch_max(next);
        visible.fetch_max(next);
        let (tx, rx) = mpsc::sync_channel::<()>(1);
        let compacting = tree.clone();
        let watermark = visible.clone();
        let thread = Background::spawn("baton-history-compaction", move || {
            compact_until_closed(&compacting, &watermark, &rx)
        });
        Ok(Arc::new(HistoryLsm {
            tree,
            seqno,
            visible,
            compaction: thread.as_ref().map(|_| tx),
            _compactor: thread,
        }))
    }

    /// The partition of one history tree.
    pub(super) fn partition(self: &Arc<Self>, tree: Tree) -> Partition {
        Partition {
            lsm: self.clone(),
            prefix: tree as u8,
        }
    }

    /// Write everything put since the last flush into a table on disk (fsynced, with the
    /// manifest naming it) and let the compaction thread look.
    pub(super) fn flush(&self) -> Result<()> {
        let lock = self.tree.get_flush_lock();
        if self.tree.rotate_memtable().is_none() {
            return Ok(());
        }
        self.tree.flush(&lock, self.visible.get())?;
        drop(lock);
        if let Some(compaction) = &self.compaction {
            let _ = compaction.try_send(());
        }
        Ok(())
    }

    /// Bytes of the tables on disk.
    pub(super) fn disk_space(&self) -> u64 {
        self.tree.disk_space()
    }

    fn read_seqno(&self) -> lsm_tree::SeqNo {
        self.visible.get()
    }

    fn write(&self, key: Vec<u8>, value: Option<&[u8]>) {
        let seqno = self.seqno.next();
        match value {
            Some(value) => {
                self.tree.insert(key, value, seqno);
            }
            None => {
                self.tree.remove(key, seqno);
            }
        }
        self.visible.fetch_max(seqno + 1);
    }
}

/// Merge tables whenever a flush asks (or a tick passes), until the store closes.
fn compact_until_closed(
    tree: &AnyTree,
    watermark: &SequenceNumberCounter,
    requests: &mpsc::Receiver<()>,
) {
    let strategy: Arc<dyn lsm_tree::compaction::CompactionStrategy> =
        Arc::new(lsm_tree::compaction::Leveled::default());
    loop {
        match requests.recv_timeout(COMPACTION_TICK) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        for _ in 0..COMPACTION_STEPS {
            let before = (tree.table_count(), tree.l0_run_count());
            if let Err(e) = tree.compact(strategy.clone(), watermark.get()) {
                tracing::error!("compaction of the history tables failed, retrying: {e}");
                break;
            }
            if (tree.table_count(), tree.l0_run_count()) == before {
                break;
            }
        }
    }
}

/// One history tree inside the LSM tree: its keys are the tree's number and the key.
#[derive(Clone)]
pub(super) struct Partition {
    lsm: Arc<HistoryLsm>,
    prefix: u8,
}

impl Partition {
    fn key(&self, key: &[u8]) -> Vec<u8> {
        let mut prefixed = Vec::with_capacity(key.len() + 1);
        prefixed.push(self.prefix);
        prefixed.extend_from_slice(key);
        prefixed
    }

    /// The value of a key.
    pub(super) fn get(&self, key: &[u8]) -> Result<Option<IVec>> {
        Ok(self
            .lsm
            .tree
            .get(self.key(key), self.lsm.read_seqno())?
            .map(|v| IVec::from(&*v)))
    }

    /// Whether the key exists.
    pub(super) fn contains_key(&self, key: &[u8]) -> Result<bool> {
        Ok(self
            .lsm
            .tree
            .contains_key(self.key(key), self.lsm.read_seqno())?)
    }

    /// Put (`Some`) or remove (`None`) a key (durable after [`HistoryLsm::flush`]).
    pub(super) fn write(&self, key: &[u8], value: Option<&[u8]>) {
        self.lsm.write(self.key(key), value);
    }

    /// The pairs between two bounds, in key order or reversed.
    pub(super) fn range(
        &self,
        from: Bound<Vec<u8>>,
        to: Bound<Vec<u8>>,
        reverse: bool,
    ) -> Box<dyn Iterator<Item = Result<(IVec, IVec)>> + Send> {
        let from = match from {
            Bound::Included(k) => Bound::Included(self.key(&k)),
            Bound::Excluded(k) => Bound::Excluded(self.key(&k)),
            Bound::Unbounded => Bound::Included(vec![self.prefix]),
        };
        let to = match to {
            Bound::Included(k) => Bound::Included(self.key(&k)),
            Bound::Excluded(k) => Bound::Excluded(self.key(&k)),
            // Tree numbers stay below 255, so the next prefix exists.
            Bound::Unbounded => Bound::Excluded(vec![self.prefix + 1]),
        };
        let iter = self.lsm.tree.range((from, to), self.lsm.read_seqno(), None);
        let unprefix = |guard: lsm_tree::IterGuardImpl| {
            let (key, value) = guard.into_inner()?;
            Ok((IVec::from(&key[1..]), IVec::from(&*value)))
        };
        if reverse {
            Box::new(iter.rev().map(unprefix))
        } else {
            Box::new(iter.map(unprefix))
        }
    }
}
