//! The history trees' durable home on the embedded engine: LSM trees (the `lsm-tree` crate,
//! the engine under fjall), one per history tree in `<data dir>/history/<tree>`, beside sled.
//!
//! Why not sled: history rows are written once, changed a few times while their instance
//! runs and read rarely, and there are more of them than of anything else. In sled they took
//! two thirds of the disk (sled 0.34 keeps pages up to half dead, a constant) and most of the
//! time of opening a store (sled rebuilds its page table from everything written since the
//! last open; with 1M waiting instances 3.7 s with history, 1.1 s without). The LSM tree
//! writes each checkpoint's history as one sorted, compressed table and opens by reading its
//! manifest and the tables' indexes.
//!
//! Layout: each history tree ([`Tree::is_history`]) is an LSM tree of its own. Not one tree
//! with the history trees as key prefixes: their keys grow with time (instance ids are UUID
//! v7 and derived ids keep their time), so a table flushed from one history tree does not
//! overlap the older ones and compaction mostly moves it down a level without rewriting;
//! one shared tree made every flushed table span all prefixes, and a load of 1M instances
//! rewrote its history many times over. The checkpointer ingests a frozen layer's history
//! entries ([`Partition::ingest`]: a table per tree, fsynced, and its manifest) before the
//! log segments go: baton's write-ahead log stays what makes a change durable, so the LSM
//! trees need no journal of their own. A compaction thread merges tables (leveled) after
//! each checkpoint. The memtable in front ([`super::memtable`]) still answers first, so
//! readers never see a half-written checkpoint.

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

/// The sequence number reads are made at: past every write, so a read sees the newest
/// version of the tables and every value put. Reading at the published ("visible") number
/// instead needs the version of the tables current at that number, which a flush or
/// compaction on another thread may already have dropped (lsm-tree then panics: "should
/// always find a SuperVersion"; fjall registers each snapshot to hold its version, baton
/// takes no snapshots). Seeing a put still being written is harmless: the memtable in front
/// holds every key of the layer being written until the layer is released.
const READ_LATEST: lsm_tree::SeqNo = lsm_tree::SeqNo::MAX >> 1;

impl From<lsm_tree::Error> for StoreError {
    fn from(e: lsm_tree::Error) -> StoreError {
        StoreError::Backend(format!("history tables: {e}"))
    }
}

/// The LSM trees of the history trees, and their compaction thread.
pub(super) struct HistoryLsm {
    /// By [`Tree`] number; `None` for the trees that are not history.
    trees: Vec<Option<AnyTree>>,
    seqno: SequenceNumberCounter,
    visible: SequenceNumberCounter,
    compaction: Option<mpsc::SyncSender<()>>,
    _compactor: Option<Background>,
}

impl HistoryLsm {
    /// Open (or create) the LSM trees under `dir` and start their compaction thread.
    pub(super) fn open(dir: &Path) -> Result<Arc<HistoryLsm>> {
        let seqno = SequenceNumberCounter::default();
        let visible = SequenceNumberCounter::default();
        let cache = Arc::new(lsm_tree::Cache::with_capacity_bytes(CACHE_BYTES));
        let mut trees = Vec::with_capacity(Tree::ALL.len());
        for tree in Tree::ALL {
            if !tree.is_history() {
                trees.push(None);
                continue;
            }
            let path = dir.join(FOLDER).join(tree.name());
            let opened = lsm_tree::Config::new(path, seqno.clone(), visible.clone())
                .use_cache(cache.clone())
                .data_block_compression_policy(lsm_tree::config::CompressionPolicy::all(
                    lsm_tree::CompressionType::Lz4,
                ))
                .open()?;
            trees.push(Some(opened));
        }
        // Sequence numbers go on after the newest one on disk (versions of a key are ordered
        // by them).
        let next = trees
            .iter()
            .flatten()
            .filter_map(|t| t.get_highest_persisted_seqno())
            .max()
            .map_or(0, |s| s + 1);
        seqno.fetch_max(next);
        visible.fetch_max(next);
        let (tx, rx) = mpsc::sync_channel::<()>(1);
        let compacting: Vec<AnyTree> = trees.iter().flatten().cloned().collect();
        let watermark = visible.clone();
        let thread = Background::spawn("baton-history-compaction", move || {
            compact_until_closed(&compacting, &watermark, &rx)
        });
        Ok(Arc::new(HistoryLsm {
            trees,
            seqno,
            visible,
            compaction: thread.as_ref().map(|_| tx),
            _compactor: thread,
        }))
    }

    /// The partition of one history tree (`None` if the tree is not history).
    pub(super) fn partition(self: &Arc<Self>, tree: Tree) -> Option<Partition> {
        let tree = self.trees.get(tree as usize)?.clone()?;
        Some(Partition {
            lsm: self.clone(),
            tree,
        })
    }

    /// Write everything put since the last flush into tables on disk (fsynced, with the
    /// manifests naming them) and let the compaction thread look.
    pub(super) fn flush(&self) -> Result<()> {
        let mut flushed = false;
        for tree in self.trees.iter().flatten() {
            let lock = tree.get_flush_lock();
            tree.rotate_memtable();
            // Not only what was just rotated: a memtable sealed by a flush that failed (disk
            // full) is still waiting, and the log segments it came from go after this call.
            if tree.sealed_memtable_count() == 0 {
                continue;
            }
            tree.flush(&lock, self.visible.get())?;
            flushed = true;
        }
        if flushed {
            self.request_compaction();
        }
        Ok(())
    }

    /// Bytes of the tables on disk.
    pub(super) fn disk_space(&self) -> u64 {
        self.trees
            .iter()
            .flatten()
            .map(AbstractTree::disk_space)
            .sum()
    }

    /// Let the compaction thread look (after a checkpoint or a flush added tables).
    pub(super) fn request_compaction(&self) {
        if let Some(compaction) = &self.compaction {
            let _ = compaction.try_send(());
        }
    }

    fn next_seqno(&self) -> lsm_tree::SeqNo {
        self.seqno.next()
    }

    fn published(&self, seqno: lsm_tree::SeqNo) {
        self.visible.fetch_max(seqno + 1);
    }
}

/// Merge tables whenever a flush asks (or a tick passes), until the store closes.
fn compact_until_closed(
    trees: &[AnyTree],
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
        for tree in trees {
            for _ in 0..COMPACTION_STEPS {
                // A closing store does not wait for the remaining merges (a step can take
                // seconds at millions of rows); the next open goes on with them.
                if let Err(mpsc::TryRecvError::Disconnected) = requests.try_recv() {
                    return;
                }
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
}

/// One history tree: a handle on its LSM tree.
#[derive(Clone)]
pub(super) struct Partition {
    lsm: Arc<HistoryLsm>,
    tree: AnyTree,
}

impl Partition {
    fn tree(&self) -> &AnyTree {
        &self.tree
    }

    /// The value of a key.
    pub(super) fn get(&self, key: &[u8]) -> Result<Option<IVec>> {
        Ok(self.tree().get(key, READ_LATEST)?.map(|v| IVec::from(&*v)))
    }

    /// Whether the key exists.
    pub(super) fn contains_key(&self, key: &[u8]) -> Result<bool> {
        Ok(self.tree().contains_key(key, READ_LATEST)?)
    }

    /// Put (`Some`) or remove (`None`) a key (durable after [`HistoryLsm::flush`]).
    pub(super) fn write(&self, key: &[u8], value: Option<&[u8]>) {
        let seqno = self.lsm.next_seqno();
        match value {
            Some(value) => {
                self.tree().insert(key, value, seqno);
            }
            None => {
                self.tree().remove(key, seqno);
            }
        }
        self.lsm.published(seqno);
    }

    /// Write a checkpoint's changes of this tree, in ascending key order, straight into new
    /// tables (fsynced, with the manifest naming them) at a sequence number above every
    /// older version. Why not [`Partition::write`] and a flush: that copies every row into
    /// the LSM tree's own memtable (a skip list) only to read it back out in the same order
    /// and drop it; the checkpointer's layer is already sorted (a third of its CPU went there).
    pub(super) fn ingest<'a>(
        &self,
        changes: impl Iterator<Item = (&'a [u8], Option<&'a IVec>)>,
    ) -> Result<()> {
        let mut ingestion = self.tree().ingestion()?;
        for (key, value) in changes {
            match value {
                Some(value) => ingestion.write(key, value.as_ref())?,
                None => ingestion.write_tombstone(key)?,
            }
        }
        ingestion.finish().map_err(Into::into)
    }

    /// The pairs between two bounds, in key order or reversed.
    pub(super) fn range(
        &self,
        from: Bound<Vec<u8>>,
        to: Bound<Vec<u8>>,
        reverse: bool,
    ) -> Box<dyn Iterator<Item = Result<(IVec, IVec)>> + Send> {
        let iter = self.tree().range((from, to), READ_LATEST, None);
        let pair = |guard: lsm_tree::IterGuardImpl| {
            let (key, value) = guard.into_inner()?;
            Ok((IVec::from(&*key), IVec::from(&*value)))
        };
        if reverse {
            Box::new(iter.rev().map(pair))
        } else {
            Box::new(iter.map(pair))
        }
    }
}
