//! The durable home of the history trees and the query indexes on the embedded engine: LSM
//! trees (the `lsm-tree` crate, the engine under fjall), one per tree, in
//! `<data dir>/history/<tree>` and `<data dir>/indexes/<tree>`, beside sled.
//!
//! The query indexes ([`Tree::is_query_index`]: running instances by definition and business
//! key, external tasks by topic, user tasks by assignee and candidate group) are here since
//! store format 8 for the same reason as history: an entry per waiting instance or task that
//! only queries read, which sled kept at 257-341 bytes of its file each.
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
//!
//! The history logs are keyed by kind, then id: one LSM tree for all of them made every
//! checkpoint's table span every kind, so it overlapped the older tables of each kind and
//! each compaction rewrote them (12-14% of the server's CPU at full history with wasm tasks,
//! growing with the history kept). They live in one LSM tree per kind's key interval
//! ([`Layout::Split`]), where new keys sort after old ones again. A store of the one-tree
//! layout is moved over when opened ([`migrate_joined`]).

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use lsm_tree::{AbstractTree, AnyTree, Guard, SequenceNumberCounter};
use sled::IVec;

use super::background::Background;
use super::{Result, StoreError, Tree};

/// The folder of the history trees' LSM trees inside the data directory.
const FOLDER: &str = "history";

/// The folder of the query indexes' LSM trees inside the data directory.
const INDEX_FOLDER: &str = "indexes";

/// Block cache shared by lookups and scans (history and query index reads are rare; the
/// tables' pinned indexes and filters live outside it).
const CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// Table files kept open after a read, shared by every LSM tree (the least recently
/// read are closed, and opened again when next read). lsm-tree's default is 256 per tree:
/// with twenty LSM trees and tables cut at [`TABLE_BYTES`], queries over a large history could
/// leave up to 5,120 files open, past the 1,024 descriptors a default `ulimit -n` allows.
const OPEN_TABLE_FILES: usize = 256;

/// The size of a table's data blocks, each compressed on its own (lsm-tree's default is
/// 4 KiB).
///
/// Why larger: lsm-tree compresses a block with a fresh LZ4 hash table, allocated and zeroed
/// per block (8 KiB), so with 4 KiB blocks the table cost as much as the compression;
/// writing history as tables (the checkpoints) and merging them (compaction) paid it for
/// every 4 KiB of rows. Larger blocks also compress better. The price is on point reads that
/// miss the block cache: each decompresses one block, 16 KiB instead of 4 (a few microseconds
/// more). Commands make such reads only for an instance that outlived a checkpoint (its
/// history rows are updated when an activity or the instance ends); queries make the rest.
const DATA_BLOCK_BYTES: u32 = 16 * 1024;

/// How often the compaction thread looks without being asked (a flush asks).
const COMPACTION_TICK: Duration = Duration::from_secs(5);

/// The size compaction cuts tables at (lsm-tree's default is 64 MiB).
///
/// Why small: history keys grow with time, but a checkpoint also rewrites rows of instances
/// that were running at the one before (an activity's end, a variable's update), so its table
/// starts a little before the newest keys already merged. Each merge of the first level then
/// rewrote every table that range touches: with 64 MiB tables that was the whole tree until it
/// passed 64 MiB, and the history compaction thread took a quarter of the process's CPU after
/// 200,000 instances (`bench-engine throughput`, 64 clients). With 2 MiB tables a merge
/// rewrites the new rows and the one or two tables at the tail.
const TABLE_BYTES: u64 = 2 << 20;

/// How many tables the first level gathers before compaction merges them into the second
/// (lsm-tree's default is 4; the second level's target size is this many [`TABLE_BYTES`]).
///
/// Why more: each merge of the first level also rewrites the tail table of the second that
/// the checkpoints' rewritten rows overlap (see [`TABLE_BYTES`]), whatever the first level
/// holds; gathering 12 checkpoints' tables instead of 4 spreads that rewrite over three times
/// the rows. Measured (`bench-engine throughput`, 64 clients, docs/benchmarks.md): the
/// compaction thread's CPU fell from 0.98 to 0.53 s for 96,000 instances and from 2.8 to
/// 2.0 s for 200,000. Reads pay little: a point read skips a table whose key range or bloom
/// filter excludes the key, and the first level's tables (whose keys grow with time) mostly
/// do; `bench-queries` at 100,000 instances read as fast as before.
const FIRST_LEVEL_TABLES: u8 = 12;

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
        StoreError::Backend(format!("LSM tables: {e}"))
    }
}

/// The LSM trees of the history trees and query indexes, and their compaction thread.
pub(super) struct LsmTables {
    /// By [`Tree`] number; `None` for the trees in sled.
    trees: Vec<Option<Layout>>,
    seqno: SequenceNumberCounter,
    visible: SequenceNumberCounter,
    compaction: Option<mpsc::SyncSender<()>>,
    _compactor: Option<Background>,
}

impl LsmTables {
    /// Open (or create) the LSM trees under `dir` and start their compaction thread.
    pub(super) fn open(dir: &Path) -> Result<Arc<LsmTables>> {
        let seqno = SequenceNumberCounter::default();
        let visible = SequenceNumberCounter::default();
        let cache = Arc::new(lsm_tree::Cache::with_capacity_bytes(CACHE_BYTES));
        let descriptors = Arc::new(lsm_tree::DescriptorTable::new(OPEN_TABLE_FILES));
        let mut trees = Vec::with_capacity(Tree::ALL.len());
        let open_at = |path: &Path| -> Result<AnyTree> {
            Ok(lsm_tree::Config::new(path, seqno.clone(), visible.clone())
                .use_cache(cache.clone())
                .use_descriptor_table(Some(descriptors.clone()))
                .data_block_compression_policy(lsm_tree::config::CompressionPolicy::all(
                    lsm_tree::CompressionType::Lz4,
                ))
                .data_block_size_policy(lsm_tree::config::BlockSizePolicy::all(DATA_BLOCK_BYTES))
                .open()?)
        };
        let folder = dir.join(FOLDER);
        let index_folder = dir.join(INDEX_FOLDER);
        let mut joined = None;
        for &tree in Tree::ALL {
            if !tree.in_lsm_tables() {
                trees.push(None);
                continue;
            }
            let path = if tree.is_history() {
                &folder
            } else {
                &index_folder
            }
            .join(tree.name());
            let Some(bounds) = split_bounds(tree) else {
                trees.push(Some(Layout::One(open_at(&path)?)));
                continue;
            };
            let mut parts = Vec::with_capacity(bounds.len());
            for (bound, name) in bounds {
                parts.push((
                    bound,
                    open_at(&folder.join(format!("{}.{name}", tree.name())))?,
                ));
            }
            // A move interrupted after the copy: the copy is complete, the rest is removal.
            let moved = folder.join(format!("{}.moved", tree.name()));
            if moved.exists() {
                std::fs::remove_dir_all(&moved).map_err(|e| io_error(&moved, e))?;
            }
            if path.exists() {
                joined = Some((path, moved, open_at(&folder.join(tree.name()))?, tree));
            }
            trees.push(Some(Layout::Split(parts.into())));
        }
        // Sequence numbers go on after the newest one on disk (versions of a key are ordered
        // by them).
        let next = trees
            .iter()
            .flatten()
            .flat_map(Layout::trees)
            .chain(joined.as_ref().map(|(_, _, t, _)| t))
            .filter_map(|t| t.get_highest_persisted_seqno())
            .max()
            .map_or(0, |s| s + 1);
        seqno.fetch_max(next);
        visible.fetch_max(next);
        if let Some((path, moved, old, tree)) = joined
            && let Some(Some(layout)) = trees.get(tree as usize)
        {
            migrate_joined(&old, layout)?;
            drop(old);
            std::fs::rename(&path, &moved).map_err(|e| io_error(&path, e))?;
            std::fs::remove_dir_all(&moved).map_err(|e| io_error(&moved, e))?;
        }
        let (tx, rx) = mpsc::sync_channel::<()>(1);
        let compacting: Vec<AnyTree> = trees
            .iter()
            .flatten()
            .flat_map(Layout::trees)
            .cloned()
            .collect();
        let watermark = visible.clone();
        let thread = Background::spawn("baton-lsm-compaction", move || {
            compact_until_closed(&compacting, &watermark, &rx)
        });
        Ok(Arc::new(LsmTables {
            trees,
            seqno,
            visible,
            compaction: thread.as_ref().map(|_| tx),
            _compactor: thread,
        }))
    }

    /// The partition of one tree (`None` if the tree is in sled).
    pub(super) fn partition(self: &Arc<Self>, tree: Tree) -> Option<Partition> {
        let layout = self.trees.get(tree as usize)?.clone()?;
        Some(Partition {
            lsm: self.clone(),
            layout,
        })
    }

    /// Write everything put since the last flush into tables on disk (fsynced, with the
    /// manifests naming them) and let the compaction thread look.
    pub(super) fn flush(&self) -> Result<()> {
        let mut flushed = false;
        for tree in self.trees.iter().flatten().flat_map(Layout::trees) {
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
            .flat_map(Layout::trees)
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
    let strategy: Arc<dyn lsm_tree::compaction::CompactionStrategy> = Arc::new(
        lsm_tree::compaction::Leveled::default()
            .with_table_target_size(TABLE_BYTES)
            .with_l0_threshold(FIRST_LEVEL_TABLES),
    );
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
                    tracing::error!("compaction of the LSM tables failed, retrying: {e}");
                    break;
                }
                if (tree.table_count(), tree.l0_run_count()) == before {
                    break;
                }
            }
        }
    }
}

/// Where one history tree's keys live.
#[derive(Clone)]
pub(super) enum Layout {
    /// In one LSM tree.
    One(AnyTree),
    /// In one LSM tree per key interval: each starts at its bound (ascending; the first is
    /// the empty key) and ends where the next begins, so every key has exactly one home and
    /// the trees in order hold the keys in order.
    Split(Arc<[(Vec<u8>, AnyTree)]>),
}

impl Layout {
    /// Every LSM tree of the layout.
    fn trees(&self) -> Box<dyn Iterator<Item = &AnyTree> + '_> {
        match self {
            Layout::One(tree) => Box::new(std::iter::once(tree)),
            Layout::Split(parts) => Box::new(parts.iter().map(|(_, tree)| tree)),
        }
    }

    /// The number of the LSM tree that holds `key` (in [`Layout::trees`] order).
    fn home_index(&self, key: &[u8]) -> usize {
        match self {
            Layout::One(_) => 0,
            Layout::Split(parts) => parts
                .partition_point(|(bound, _)| bound.as_slice() <= key)
                .saturating_sub(1),
        }
    }

    /// The LSM tree that holds `key`.
    fn home(&self, key: &[u8]) -> &AnyTree {
        match self {
            Layout::One(tree) => tree,
            Layout::Split(parts) => &parts[self.home_index(key)].1,
        }
    }
}

/// The key intervals a history tree is split into, with the name of each part: the history
/// logs, one per kind (their keys start with the kind). The first interval starts at the
/// empty key.
fn split_bounds(tree: Tree) -> Option<Vec<(Vec<u8>, &'static str)>> {
    if tree != Tree::HistoryLogs {
        return None;
    }
    let mut bounds: Vec<(Vec<u8>, &'static str)> = crate::records::HistoryLogKind::ALL
        .iter()
        .map(|kind| (super::index::history_log_prefix(*kind), kind.as_str()))
        .collect();
    bounds.sort();
    if let Some(first) = bounds.first_mut() {
        first.0 = Vec::new();
    }
    Some(bounds)
}

/// Copy every live pair of a history tree stored in one LSM tree (before the split) into
/// its split layout, one ingestion per part. Run at open, before anything else writes; a
/// crash half-way copies again on the next open (the same pairs at newer sequence numbers).
fn migrate_joined(old: &AnyTree, layout: &Layout) -> Result<()> {
    let pairs = old
        .iter(READ_LATEST, None)
        .map(|guard| guard.into_inner().map_err(StoreError::from));
    let mut copied = 0usize;
    ingest_into(
        layout,
        pairs.map(|pair| {
            copied += 1;
            pair.map(|(key, value)| (key.to_vec(), Some(IVec::from(&*value))))
        }),
    )?;
    if copied > 0 {
        tracing::info!("moved {copied} history records into one table set per key range");
    }
    Ok(())
}

/// Ingest sorted changes into the parts of `layout` they belong to, each part's changes in
/// one ingestion (a table of its own).
fn ingest_into<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    layout: &Layout,
    changes: impl Iterator<Item = Result<(K, Option<V>)>>,
) -> Result<()> {
    let mut current: Option<(usize, lsm_tree::AnyIngestion<'_>)> = None;
    for change in changes {
        let (key, value) = change?;
        let home = layout.home_index(key.as_ref());
        if current.as_ref().is_none_or(|(at, _)| *at != home) {
            if let Some((_, ingestion)) = current.take() {
                ingestion.finish()?;
            }
            current = Some((home, layout.home(key.as_ref()).ingestion()?));
        }
        if let Some((_, ingestion)) = &mut current {
            match value {
                Some(value) => ingestion.write(key.as_ref(), value.as_ref())?,
                None => ingestion.write_tombstone(key.as_ref())?,
            }
        }
    }
    if let Some((_, ingestion)) = current {
        ingestion.finish()?;
    }
    Ok(())
}

fn io_error(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("LSM tables at {}: {e}", path.display()))
}

/// One tree in the LSM tables: a handle on its LSM tree(s).
#[derive(Clone)]
pub(super) struct Partition {
    lsm: Arc<LsmTables>,
    layout: Layout,
}

impl Partition {
    fn tree(&self, key: &[u8]) -> &AnyTree {
        self.layout.home(key)
    }

    /// The value of a key.
    pub(super) fn get(&self, key: &[u8]) -> Result<Option<IVec>> {
        Ok(self
            .tree(key)
            .get(key, READ_LATEST)?
            .map(|v| IVec::from(&*v)))
    }

    /// Whether the key exists.
    pub(super) fn contains_key(&self, key: &[u8]) -> Result<bool> {
        Ok(self.tree(key).contains_key(key, READ_LATEST)?)
    }

    /// Put (`Some`) or remove (`None`) a key (durable after [`LsmTables::flush`]).
    pub(super) fn write(&self, key: &[u8], value: Option<&[u8]>) {
        let seqno = self.lsm.next_seqno();
        match value {
            Some(value) => {
                self.tree(key).insert(key, value, seqno);
            }
            None => {
                self.tree(key).remove(key, seqno);
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
        changes: impl Iterator<Item = (&'a [u8], Option<IVec>)>,
    ) -> Result<()> {
        ingest_into(
            &self.layout,
            changes.map(|(key, value)| Ok::<_, StoreError>((key, value))),
        )
    }

    /// The pairs between two bounds, in key order or reversed.
    pub(super) fn range(
        &self,
        from: Bound<Vec<u8>>,
        to: Bound<Vec<u8>>,
        reverse: bool,
    ) -> Box<dyn Iterator<Item = Result<(IVec, IVec)>> + Send> {
        let pair = |guard: lsm_tree::IterGuardImpl| {
            let (key, value) = guard.into_inner()?;
            Ok((IVec::from(&*key), IVec::from(&*value)))
        };
        // The parts hold consecutive key intervals: their scans one after the other (last
        // first when reversed) are the scan of the whole.
        let mut parts: Vec<&AnyTree> = self.layout.trees().collect();
        if reverse {
            parts.reverse();
        }
        let scans: Vec<_> = parts
            .into_iter()
            .map(|tree| {
                let iter = tree.range((from.clone(), to.clone()), READ_LATEST, None);
                let scan: Box<dyn Iterator<Item = Result<(IVec, IVec)>> + Send> = if reverse {
                    Box::new(iter.rev().map(pair))
                } else {
                    Box::new(iter.map(pair))
                };
                scan
            })
            .collect();
        Box::new(scans.into_iter().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::HistoryLogKind;
    use crate::store::kv::index::history_log_key;

    /// Keys of every kind, interleaved in time as a checkpoint holds them.
    fn keys() -> Vec<Vec<u8>> {
        let mut keys: Vec<Vec<u8>> = (0..30)
            .flat_map(|i| {
                HistoryLogKind::ALL
                    .iter()
                    .map(move |kind| history_log_key(*kind, &format!("{i:04}")))
            })
            .collect();
        keys.sort();
        keys
    }

    fn all(partition: &Partition, reverse: bool) -> Vec<Vec<u8>> {
        partition
            .range(Bound::Unbounded, Bound::Unbounded, reverse)
            .map(|pair| pair.expect("pair").0.to_vec())
            .collect()
    }

    #[test]
    fn history_logs_live_in_one_table_set_per_kind_and_scan_as_one_tree() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lsm = LsmTables::open(dir.path()).expect("open");
        let logs = lsm.partition(Tree::HistoryLogs).expect("history tree");
        let keys = keys();
        let (first, rest) = keys.split_at(keys.len() / 2);
        let v = IVec::from(&b"v"[..]);
        logs.ingest(first.iter().map(|k| (k.as_slice(), Some(v.clone()))))
            .expect("ingest");
        for key in rest {
            logs.write(key, Some(b"w"));
        }
        lsm.flush().expect("flush");
        // Each kind's table set holds only its own keys.
        for kind in HistoryLogKind::ALL {
            let part = lsm.trees[Tree::HistoryLogs as usize]
                .as_ref()
                .expect("layout")
                .home(&history_log_key(kind, "0000"))
                .clone();
            let prefix = super::super::index::history_log_prefix(kind);
            let held: Vec<_> = part
                .iter(READ_LATEST, None)
                .map(|g| g.into_inner().expect("pair").0.to_vec())
                .collect();
            assert_eq!(held.len(), 30, "{}", kind.as_str());
            assert!(held.iter().all(|k| k.starts_with(&prefix)));
        }
        assert_eq!(all(&logs, false), keys);
        let mut reversed = keys.clone();
        reversed.reverse();
        assert_eq!(all(&logs, true), reversed);
        let (from, to) = crate::store::kv::prefix_range(&super::super::index::history_log_prefix(
            HistoryLogKind::Job,
        ));
        let jobs = logs.range(from, to, false).count();
        assert_eq!(jobs, 30);
        assert_eq!(logs.get(&keys[7]).expect("get").as_deref(), Some(&b"v"[..]));
        assert!(logs.contains_key(&keys[keys.len() - 1]).expect("contains"));
        logs.write(&keys[7], None);
        assert_eq!(logs.get(&keys[7]).expect("get"), None);
        assert!(
            !dir.path()
                .join(FOLDER)
                .join(Tree::HistoryLogs.name())
                .exists()
        );
    }

    #[test]
    fn a_store_of_the_one_tree_layout_is_moved_over_when_opened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let joined = dir.path().join(FOLDER).join(Tree::HistoryLogs.name());
        let keys = keys();
        {
            let seqno = SequenceNumberCounter::default();
            let old = lsm_tree::Config::new(&joined, seqno.clone(), seqno)
                .open()
                .expect("old layout");
            let mut ingestion = old.ingestion().expect("ingestion");
            for key in &keys {
                ingestion.write(key, b"old").expect("write");
            }
            ingestion.finish().expect("finish");
        }
        for _ in 0..2 {
            let lsm = LsmTables::open(dir.path()).expect("open");
            let logs = lsm.partition(Tree::HistoryLogs).expect("history tree");
            assert_eq!(all(&logs, false), keys);
            assert_eq!(
                logs.get(&keys[3]).expect("get").as_deref(),
                Some(&b"old"[..])
            );
            assert!(!joined.exists(), "the old layout is gone once moved");
        }
    }
}
