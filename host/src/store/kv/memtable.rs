//! The memtable: the newest committed changes, held in memory in front of sled (and of the
//! history tables, [`super::lsm`]; "sled" below means either).
//!
//! Why: a step of an instance used to pay sled's cost per changed key (a node copy, its log
//! frames, its flush) for the instance record, the task, its queue and lock entries, the
//! history rows, and again when the task and the instance went away a few milliseconds later.
//! Now a commit lands here (and in the write-ahead log, [`super::wal`], which is what makes it
//! durable); a checkpoint writes the surviving changes into sled key by key. A record
//! created and removed between two checkpoints (a short instance's task, its queue entry, its
//! running-instance record) never reaches sled at all.
//!
//! Two layers: `active` takes new commits; `frozen` is the previous active layer while a
//! checkpoint writes it into sled. Reads look in active, then frozen, then sled. Each entry
//! knows whether its key exists below it (asked of sled when the key is removed): removing a
//! key no lower layer holds drops the entry instead of leaving a tombstone, so scans of a queue
//! do not wade through the removed entries of every consumed task.

use foldhash::HashMap;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use sled::IVec;

use super::Tree;
use super::durable::{Durable, DurableScan};

/// One key's state in a layer.
#[derive(Debug, Clone)]
pub(super) enum Entry {
    /// The key holds `value`; `lower` says whether a lower layer (frozen, sled) holds it.
    Put { value: IVec, lower: Lower },
    /// The key was removed (a lower layer still holds it).
    Removed,
}

/// Whether a lower layer holds a key memory has a value for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lower {
    /// It does: removing the key leaves a tombstone.
    Holds,
    /// It does not: removing the key drops the entry.
    Lacks,
    /// Not asked yet: sled is asked only when the key is removed while in memory. Most keys
    /// put are new (a history row, a task, an instance under a fresh id) or stay until a
    /// checkpoint, so a put does not pay a sled lookup for an answer nobody reads.
    Unasked,
}

impl Entry {
    fn value(&self) -> Option<&IVec> {
        match self {
            Entry::Put { value, .. } => Some(value),
            Entry::Removed => None,
        }
    }
}

/// One change to apply: a put (`Some` value) or a removal (`None`) of a key of a tree, and
/// whether sled holds the key if the committer already knows (memory had no entry for it).
pub(super) type Change<'a> = (Tree, &'a [u8], Option<&'a [u8]>, Option<bool>);

/// An entry of a scan of memory: a key and its value, `None` when removed.
pub(super) type MemoryEntry = (Vec<u8>, Option<IVec>);

/// What the memtable knows about a key.
pub(super) enum Lookup {
    /// It holds this value.
    Value(IVec),
    /// It was removed.
    Removed,
    /// Not in memory: ask sled.
    Below,
}

/// One layer: an ordered map per tree, and the bytes it holds (the checkpoint trigger).
#[derive(Default)]
pub(super) struct Layer {
    trees: Vec<BTreeMap<Vec<u8>, Entry>>,
    bytes: usize,
}

impl Layer {
    fn new() -> Layer {
        Layer {
            trees: (0..Tree::ALL.len()).map(|_| BTreeMap::new()).collect(),
            bytes: 0,
        }
    }

    fn get(&self, tree: Tree, key: &[u8]) -> Option<&Entry> {
        self.trees[tree as usize].get(key)
    }

    /// Apply one change of a commit, its key and value already copied (the copies are made
    /// before the layers are locked, so readers wait only for the map operations). `from_sled`
    /// is what sled said of the key (`Unasked` when it was not asked); `frozen` is the layer
    /// below this one. One search of the map, whether the key is new or changed in place.
    fn change(
        &mut self,
        tree: Tree,
        key: Vec<u8>,
        value: Option<IVec>,
        from_sled: Lower,
        frozen: Option<&Layer>,
    ) {
        use std::collections::btree_map::Entry as Slot;
        let key_len = key.len();
        let lower_of_new = |key: &[u8]| match frozen.and_then(|f| f.get(tree, key)) {
            Some(Entry::Put { .. }) => Lower::Holds,
            Some(Entry::Removed) => Lower::Lacks,
            // Unasked for a removal only after an earlier change of this batch changed the
            // key; a tombstone is then kept, which is always safe.
            None => from_sled,
        };
        match self.trees[tree as usize].entry(key) {
            Slot::Occupied(mut slot) => {
                let entry = slot.get_mut();
                let lower = match entry {
                    Entry::Put {
                        lower: Lower::Unasked,
                        ..
                    } => from_sled,
                    Entry::Put { lower, .. } => *lower,
                    Entry::Removed => Lower::Holds,
                };
                let old_len = entry.value().map_or(0, |v| v.len());
                match value {
                    Some(value) => {
                        self.bytes = self.bytes + value.len() - old_len;
                        *entry = Entry::Put { value, lower };
                    }
                    None if lower != Lower::Lacks => {
                        self.bytes -= old_len;
                        *entry = Entry::Removed;
                    }
                    None => {
                        slot.remove();
                        self.bytes -= old_len + key_len;
                    }
                }
            }
            Slot::Vacant(slot) => {
                let lower = lower_of_new(slot.key());
                // A removal drops the entry only when no lower layer surely holds the key:
                // then there is nothing to add.
                let entry = match value {
                    Some(value) => {
                        self.bytes += key_len + value.len();
                        Entry::Put { value, lower }
                    }
                    None if lower != Lower::Lacks => {
                        self.bytes += key_len;
                        Entry::Removed
                    }
                    None => return,
                };
                slot.insert(entry);
            }
        }
    }

    /// Every entry, tree by tree (what a checkpoint writes into sled).
    pub(super) fn entries(&self) -> impl Iterator<Item = (Tree, &BTreeMap<Vec<u8>, Entry>)> {
        Tree::ALL
            .iter()
            .map(|tree| (*tree, &self.trees[*tree as usize]))
            .filter(|(_, map)| !map.is_empty())
    }

    /// Whether the layer holds nothing.
    pub(super) fn is_empty(&self) -> bool {
        self.trees.iter().all(BTreeMap::is_empty)
    }
}

struct Layers {
    active: Layer,
    frozen: Option<Arc<Layer>>,
}

/// The two layers behind one lock (held for a map operation at a time, never across I/O).
pub(super) struct MemTable {
    layers: RwLock<Layers>,
    /// Bumped (under the write lock) each time a frozen layer is released: the only moment
    /// memory forgets an entry for a key sled holds (see [`DurableSkips`]).
    releases: AtomicU64,
    /// Where forward scans may start reading sled (see [`DurableSkips`]).
    skips: Mutex<DurableSkips>,
    /// The active layer's bytes, copied out under the write lock at each change of it: every
    /// command asks (is there room?), and taking the read lock for it put commands to sleep
    /// behind a waiting writer (a fifth of the memtable's blocked reads in `perf`).
    active_bytes: AtomicUsize,
}

/// Where the sled side of a forward scan may start, per tree and scan start.
///
/// Why: sled keeps a key until the checkpoint after its removal, and until then memory holds
/// a tombstone for it. A queue scans from its front, where the tasks that waited at the last
/// checkpoint and were locked since sit: every fetch stepped sled's iterator over each of them
/// (a tenth of a short instance's CPU at 64 clients). A scan that found the sled keys from its
/// start up to `K` each matched by a memory entry notes `K`; the next scan from the same start
/// reads sled after `K` and takes those keys from memory alone.
///
/// Sound because a memory entry for a key sled holds is dropped only when the frozen layer is
/// released (a removal in the active layer keeps a tombstone while a lower layer holds the key,
/// and the frozen layer keeps its own), and sled changes only at checkpoints, whose writes the
/// frozen layer holds until that release. So a skip noted in one release epoch holds for the
/// whole epoch: a lookup with another epoch finds nothing, and a scan that sees the epoch move
/// while it runs goes back to reading sled after the last key it decided.
#[derive(Default)]
struct DurableSkips {
    epoch: u64,
    ends: HashMap<(Tree, Vec<u8>), Vec<u8>>,
}

/// At most this many scan starts are remembered per release epoch (scans from clients'
/// query prefixes must not grow it without bound); when full, noting starts over.
const MAX_SKIPS: usize = 1024;

/// How many entries the first refill of a merged scan takes from memory (a fetch of one task
/// reads one queue entry), and the most any refill takes (each later one doubles).
const FIRST_CHUNK: usize = 8;
const MAX_CHUNK: usize = 512;

impl MemTable {
    pub(super) fn new() -> MemTable {
        MemTable {
            layers: RwLock::new(Layers {
                active: Layer::new(),
                frozen: None,
            }),
            releases: AtomicU64::new(0),
            skips: Mutex::new(DurableSkips::default()),
            active_bytes: AtomicUsize::new(0),
        }
    }

    /// The current release epoch (it only grows; `chunk` reports the one it read in).
    fn epoch(&self) -> u64 {
        self.releases.load(Ordering::Acquire)
    }

    fn skips(&self) -> std::sync::MutexGuard<'_, DurableSkips> {
        self.skips.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The last sled key a forward scan of `tree` from `start` may skip in `epoch`.
    fn skip_to(&self, tree: Tree, start: &[u8], epoch: u64) -> Option<Vec<u8>> {
        let skips = self.skips();
        if skips.epoch != epoch {
            return None;
        }
        skips.ends.get(&(tree, start.to_vec())).cloned()
    }

    /// Note that in `epoch` every sled key of `tree` from `start` through `end` has a memory
    /// entry.
    fn note_skip(&self, tree: Tree, start: Vec<u8>, end: Vec<u8>, epoch: u64) {
        let mut skips = self.skips();
        if skips.epoch != epoch {
            if epoch < skips.epoch {
                return;
            }
            skips.epoch = epoch;
            skips.ends.clear();
        }
        if skips.ends.len() >= MAX_SKIPS {
            skips.ends.clear();
        }
        skips.ends.insert((tree, start), end);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Layers> {
        // A panic while holding the lock cannot leave a map half-changed (BTreeMap operations
        // are not interrupted by our code), so a poisoned lock is still consistent.
        self.layers.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Layers> {
        self.layers.write().unwrap_or_else(|e| e.into_inner())
    }

    /// What memory knows about `key`.
    pub(super) fn get(&self, tree: Tree, key: &[u8]) -> Lookup {
        let layers = self.read();
        let entry = layers
            .active
            .get(tree, key)
            .or_else(|| layers.frozen.as_ref().and_then(|f| f.get(tree, key)));
        match entry {
            Some(Entry::Put { value, .. }) => Lookup::Value(value.clone()),
            Some(Entry::Removed) => Lookup::Removed,
            None => Lookup::Below,
        }
    }

    /// Apply puts (`Some`) and removals (`None`) to the active layer, in order, all visible
    /// at once. `in_sled` answers whether sled holds a key; it is asked before the layers are
    /// locked, only for the removals neither memory nor the change itself answers. The caller
    /// is the one writer (no other change of the layers runs meanwhile).
    pub(super) fn apply(&self, changes: &[Change<'_>], in_sled: &dyn Fn(Tree, &[u8]) -> bool) {
        let owned: Vec<(Tree, Vec<u8>, Option<IVec>, Lower)> = {
            let unknown: Vec<bool> = {
                let layers = self.read();
                changes
                    .iter()
                    .map(|(tree, key, value, known)| {
                        value.is_none()
                            && known.is_none()
                            && matches!(
                                layers.active.get(*tree, key),
                                None | Some(Entry::Put {
                                    lower: Lower::Unasked,
                                    ..
                                })
                            )
                            && layers
                                .frozen
                                .as_ref()
                                .is_none_or(|f| f.get(*tree, key).is_none())
                    })
                    .collect()
            };
            changes
                .iter()
                .zip(unknown)
                .map(|((tree, key, value, known), unknown)| {
                    let from_sled = match known.or_else(|| unknown.then(|| in_sled(*tree, key))) {
                        Some(true) => Lower::Holds,
                        Some(false) => Lower::Lacks,
                        None => Lower::Unasked,
                    };
                    (*tree, key.to_vec(), value.map(IVec::from), from_sled)
                })
                .collect()
        };
        let mut layers = self.write();
        let Layers { active, frozen } = &mut *layers;
        for (tree, key, value, from_sled) in owned {
            active.change(tree, key, value, from_sled, frozen.as_deref());
        }
        self.active_bytes.store(active.bytes, Ordering::Relaxed);
    }

    /// Bytes held by the active layer (as of the last change; without a lock).
    pub(super) fn active_bytes(&self) -> usize {
        self.active_bytes.load(Ordering::Relaxed)
    }

    /// Make the active layer the frozen one (there must be none) and start an empty active
    /// layer. Returns the frozen layer for the checkpoint to write, `None` if there was
    /// nothing to freeze or a checkpoint is still running.
    pub(super) fn freeze(&self) -> Option<Arc<Layer>> {
        let mut layers = self.write();
        if layers.frozen.is_some() || layers.active.is_empty() {
            return None;
        }
        let frozen = Arc::new(std::mem::replace(&mut layers.active, Layer::new()));
        self.active_bytes.store(0, Ordering::Relaxed);
        layers.frozen = Some(frozen.clone());
        Some(frozen)
    }

    /// Drop the frozen layer: sled holds it now.
    pub(super) fn release_frozen(&self) {
        let mut layers = self.write();
        layers.frozen = None;
        self.releases.fetch_add(1, Ordering::AcqRel);
    }

    /// About `size` entries of memory (active over frozen, `None` for a removed key) within
    /// `from..to`, in key order (or reverse order from `to`), whether memory may hold more
    /// after the last one returned, and the release epoch they were read in.
    ///
    /// `unseen_below`: a forward scan whose durable side starts after key `K` in release epoch
    /// `E` passes `(K, E)`; if memory is still in `E`, removals at or before `K` hide nothing
    /// that scan will read and are left out. Why: the front of a queue is the tombstones of
    /// the tasks that waited at the last checkpoint and were locked since, and every fetch
    /// copied each of them out of memory only to pass over it.
    pub(super) fn chunk(
        &self,
        tree: Tree,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        reverse: bool,
        size: usize,
        unseen_below: Option<(&[u8], u64)>,
    ) -> (Vec<MemoryEntry>, bool, u64) {
        let layers = self.read();
        let epoch = self.releases.load(Ordering::Acquire);
        let range = (from, to);
        let unseen_below = unseen_below
            .filter(|(_, e)| *e == epoch && !reverse)
            .map(|(k, _)| k);
        let active_map = &layers.active.trees[tree as usize];
        // Whether an entry of `map` decides nothing the scan returns: a removal no durable
        // read will meet, or (frozen) a key the active layer decides.
        let passed_over = |key: &[u8], entry: &Entry, frozen: bool| {
            unseen_below.is_some_and(|below| {
                key <= below
                    && (matches!(entry, Entry::Removed) || (frozen && active_map.contains_key(key)))
            })
        };
        let take = |map: &BTreeMap<Vec<u8>, Entry>, frozen: bool| -> Vec<MemoryEntry> {
            let iter = map.range::<[u8], _>(range);
            let owned = |(k, e): (&Vec<u8>, &Entry)| (k.clone(), e.value().cloned());
            if reverse {
                iter.rev().take(size).map(owned).collect()
            } else {
                iter.filter(|(k, e)| !passed_over(k, e, frozen))
                    .take(size)
                    .map(owned)
                    .collect()
            }
        };
        let active = take(active_map, false);
        let frozen = layers
            .frozen
            .as_ref()
            .map(|f| take(&f.trees[tree as usize], true))
            .unwrap_or_default();
        drop(layers);
        // Each layer's first `size` entries; merged, they are complete only up to the
        // nearer cut (a layer cut short may have more before the other's later keys).
        let cut_of = |entries: &[MemoryEntry]| {
            (entries.len() == size)
                .then(|| entries.last().map(|(k, _)| k.clone()))
                .flatten()
        };
        let cut = match (cut_of(&active), cut_of(&frozen)) {
            (Some(a), Some(f)) => Some(if reverse { a.max(f) } else { a.min(f) }),
            (a, f) => a.or(f),
        };
        let within = |k: &[u8]| match &cut {
            None => true,
            Some(c) if reverse => k >= c.as_slice(),
            Some(c) => k <= c.as_slice(),
        };
        // Both layers are in scan order: one linear merge, active winning on equal keys.
        let ahead = |a: &[u8], f: &[u8]| {
            if reverse {
                a.cmp(f).reverse()
            } else {
                a.cmp(f)
            }
        };
        let mut merged = Vec::with_capacity(active.len() + frozen.len());
        let (mut active, mut frozen) =
            (active.into_iter().peekable(), frozen.into_iter().peekable());
        loop {
            let next = match (active.peek(), frozen.peek()) {
                (None, None) => break,
                (Some(_), None) => active.next(),
                (None, Some(_)) => frozen.next(),
                (Some((a, _)), Some((f, _))) => match ahead(a, f) {
                    std::cmp::Ordering::Less => active.next(),
                    std::cmp::Ordering::Greater => frozen.next(),
                    std::cmp::Ordering::Equal => {
                        frozen.next();
                        active.next()
                    }
                },
            };
            match next {
                Some(entry) if within(&entry.0) => merged.push(entry),
                _ => break,
            }
        }
        (merged, cut.is_some(), epoch)
    }
}

/// A scan of one tree: memory merged over a scan of its durable copy (sled or the history
/// tables) of the same range, memory winning (a removed key hides the durable value). Like
/// sled's own iterators it is not a snapshot: changes committed while it runs may or may not
/// be seen; but what it returns is always some key's committed value, and a key whose value
/// and removal were both committed before the scan began is never seen.
///
/// Memory is read in chunks, each merged with a durable iterator opened in the same release
/// epoch: when a checkpoint's frozen layer is released, memory forgets what sled now holds,
/// while a sled iterator may have read its nodes before the checkpoint wrote them (so it would
/// bring back a key the checkpoint removed, or miss one it put). A chunk read in a later epoch
/// therefore opens sled again after the last key the scan decided.
pub(super) struct Merged<'a> {
    memory: &'a MemTable,
    tree: Tree,
    /// Memory's cursor: what is left to read of memory.
    from: Bound<Vec<u8>>,
    to: Bound<Vec<u8>>,
    /// The scan's own bounds (where sled is opened again from).
    range: (Bound<Vec<u8>>, Bound<Vec<u8>>),
    reverse: bool,
    buffer: std::collections::VecDeque<MemoryEntry>,
    more_in_memory: bool,
    chunk: usize,
    source: &'a Durable,
    durable: DurableScan,
    durable_next: Option<(IVec, IVec)>,
    durable_done: bool,
    /// The release epoch `durable` was opened in.
    epoch: u64,
    /// The last key the scan decided (returned, or passed over as removed).
    last: Option<IVec>,
    /// Forward scans only: what they learn about skipping sled ([`DurableSkips`]).
    skip: Option<SkipState>,
    /// Entries read from sled (tests).
    #[cfg(test)]
    durable_reads: usize,
}

/// A forward scan's part in [`DurableSkips`].
struct SkipState {
    /// The scan's start (an unbounded start is the empty key).
    start: Vec<u8>,
    /// Sled is read after a noted skip (not from the start).
    skipping: bool,
    /// While skipping, the key sled is read after: removals in memory at or before it hide
    /// nothing the scan reads from sled, and memory leaves them out ([`MemTable::chunk`]).
    skipped_through: Option<Vec<u8>>,
    /// Every sled key from the start through this one had a memory entry.
    covered: Option<Vec<u8>>,
    /// No sled key without a memory entry has been met yet.
    contiguous: bool,
    /// The release epoch moved while the scan ran: nothing is noted.
    stale: bool,
}

impl<'a> Merged<'a> {
    /// Scan `tree` within `from..to` (forward, or backward when `reverse`).
    pub(super) fn new(
        memory: &'a MemTable,
        durable: &'a Durable,
        tree: Tree,
        from: Bound<Vec<u8>>,
        to: Bound<Vec<u8>>,
        reverse: bool,
    ) -> Merged<'a> {
        let epoch = memory.epoch();
        let start = match (&from, reverse) {
            (Bound::Included(k), false) => Some(k.clone()),
            (Bound::Unbounded, false) => Some(Vec::new()),
            _ => None,
        };
        let skip = start.map(|start| {
            let skip_to = memory.skip_to(tree, &start, epoch);
            SkipState {
                start,
                skipping: skip_to.is_some(),
                skipped_through: skip_to.clone(),
                covered: skip_to,
                contiguous: true,
                stale: false,
            }
        });
        // A skip that reaches the end of the range leaves nothing to read in sled (and an
        // inverted range is not asked of it).
        let skip_end = skip.as_ref().and_then(|s| s.covered.clone());
        let nothing_after = skip_end.as_deref().is_some_and(|end| match &to {
            Bound::Included(t) => end >= t.as_slice(),
            Bound::Excluded(t) => end >= t.as_slice(),
            Bound::Unbounded => false,
        });
        let durable_from = match skip_end {
            Some(end) if !nothing_after => Bound::Excluded(end),
            _ => from.clone(),
        };
        let scan = durable.range(durable_from, to.clone(), reverse);
        Merged {
            memory,
            tree,
            range: (from.clone(), to.clone()),
            from,
            to,
            reverse,
            buffer: Default::default(),
            more_in_memory: true,
            chunk: FIRST_CHUNK,
            source: durable,
            durable: scan,
            durable_next: None,
            durable_done: nothing_after,
            epoch,
            last: None,
            skip,
            #[cfg(test)]
            durable_reads: 0,
        }
    }

    fn refill(&mut self) {
        let unseen_below = self.skip.as_ref().and_then(|skip| {
            skip.skipping
                .then(|| skip.skipped_through.as_deref().map(|k| (k, self.epoch)))
                .flatten()
        });
        let (entries, more, epoch) = self.memory.chunk(
            self.tree,
            as_ref(&self.from),
            as_ref(&self.to),
            self.reverse,
            self.chunk,
            unseen_below,
        );
        if epoch != self.epoch {
            self.reopen_durable(epoch);
        }
        self.chunk = (self.chunk * 2).min(MAX_CHUNK);
        if let Some((last, _)) = entries.last() {
            let next = Bound::Excluded(last.clone());
            if self.reverse {
                self.to = next;
            } else {
                self.from = next;
            }
        }
        self.more_in_memory = more;
        self.buffer.extend(entries);
    }

    /// Memory moved to release epoch `epoch` (it may have forgotten keys sled now holds):
    /// open sled again after the last key the scan decided, and note nothing. (Removals a
    /// skipping scan left out of a chunk lie before the chunk's last entry, which was decided
    /// before this refill, or after it in a chunk that had all memory held: no refill follows
    /// that one.)
    fn reopen_durable(&mut self, epoch: u64) {
        self.epoch = epoch;
        if let Some(skip) = &mut self.skip {
            skip.stale = true;
            skip.skipping = false;
        }
        let (from, to) = match self.last.as_ref().map(|k| k.to_vec()) {
            None => self.range.clone(),
            Some(after) if self.reverse => (self.range.0.clone(), Bound::Excluded(after)),
            Some(after) => (Bound::Excluded(after), self.range.1.clone()),
        };
        self.durable = self.source.range(from, to, self.reverse);
        self.durable_next = None;
        self.durable_done = false;
    }
}

impl Drop for Merged<'_> {
    fn drop(&mut self) {
        if let Some(skip) = self.skip.take()
            && let Some(end) = skip.covered
            && !skip.stale
        {
            self.memory
                .note_skip(self.tree, skip.start, end, self.epoch);
        }
    }
}

fn as_ref(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl Iterator for Merged<'_> {
    type Item = super::Result<(IVec, IVec)>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::cmp::Ordering;
        loop {
            if self.buffer.is_empty() && self.more_in_memory {
                self.refill();
            }
            if self.durable_next.is_none() && !self.durable_done {
                match self.durable.next() {
                    Some(Ok(kv)) => {
                        #[cfg(test)]
                        {
                            self.durable_reads += 1;
                        }
                        self.durable_next = Some(kv);
                    }
                    Some(Err(e)) => return Some(Err(e)),
                    None => self.durable_done = true,
                }
            }
            let order = match (self.buffer.front(), &self.durable_next) {
                (None, None) => return None,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some((memory_key, _)), Some((durable_key, _))) => {
                    let order = memory_key.as_slice().cmp(durable_key.as_ref());
                    if self.reverse { order.reverse() } else { order }
                }
            };
            if order == Ordering::Greater {
                if let Some(kv) = self.durable_next.take() {
                    if let Some(skip) = &mut self.skip {
                        skip.contiguous = false;
                    }
                    self.last = Some(kv.0.clone());
                    return Some(Ok(kv));
                }
                continue;
            }
            if order == Ordering::Equal
                && let Some((durable_key, _)) = self.durable_next.take()
                && let Some(skip) = &mut self.skip
                && skip.contiguous
            {
                skip.covered = Some(durable_key.to_vec());
            }
            if let Some((key, value)) = self.buffer.pop_front() {
                let key = IVec::from(key);
                self.last = Some(key.clone());
                if let Some(value) = value {
                    return Some(Ok((key, value)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ops::RangeBounds;

    /// `chunk` merges the active layer over the frozen one in key order, both ways, and what
    /// it returns is exact up to its cut: paging through a range with any chunk size gives the
    /// overlay of the two layers (removed keys as `None`).
    #[test]
    fn chunks_merge_active_over_frozen_in_order_both_ways() {
        let tree = Tree::ExternalTaskQueue;
        let key = |i: u32| format!("k{i:04}").into_bytes();
        let memory = MemTable::new();
        let mut model: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        let mut apply = |changes: Vec<(Vec<u8>, Option<Vec<u8>>)>| {
            apply_all(&memory, tree, &changes);
            model.extend(changes);
        };
        // Every `step`th key put (with `value`) or removed (`None`).
        let every = |step: usize, value: Option<u8>| {
            (0..60)
                .step_by(step)
                .map(|i| (key(i), value.map(|v| vec![v])))
                .collect::<Vec<_>>()
        };
        apply(every(2, Some(1)));
        apply(every(9, None));
        assert!(memory.freeze().is_some());
        apply(every(3, Some(2)));
        apply(every(7, None));
        let want: Vec<MemoryEntry> = model
            .into_iter()
            .map(|(k, v)| (k, v.map(IVec::from)))
            .collect();
        let window = (Bound::Included(key(5)), Bound::Excluded(key(50)));
        let in_window = |k: &Vec<u8>| window.contains(k);
        for size in [1, 2, 3, 8, 100] {
            for reverse in [false, true] {
                let (mut from, mut to) = (window.0.clone(), window.1.clone());
                let mut got: Vec<MemoryEntry> = Vec::new();
                loop {
                    let (entries, more, _) =
                        memory.chunk(tree, as_ref(&from), as_ref(&to), reverse, size, None);
                    if let Some((last, _)) = entries.last() {
                        let next = Bound::Excluded(last.clone());
                        if reverse { to = next } else { from = next }
                    }
                    got.extend(entries);
                    if !more {
                        break;
                    }
                }
                let mut expected: Vec<MemoryEntry> =
                    want.iter().filter(|(k, _)| in_window(k)).cloned().collect();
                if reverse {
                    expected.reverse();
                }
                let show = |e: &[MemoryEntry]| -> Vec<(String, Option<u8>)> {
                    e.iter()
                        .map(|(k, v)| (String::from_utf8_lossy(k).into(), v.as_ref().map(|v| v[0])))
                        .collect()
                };
                assert_eq!(
                    show(&got),
                    show(&expected),
                    "size {size}, reverse {reverse}"
                );
            }
        }
    }

    /// Apply owned changes; every key is said to be in sled, so every removal stays visible
    /// as `None`.
    fn apply_all(memory: &MemTable, tree: Tree, changes: &[(Vec<u8>, Option<Vec<u8>>)]) {
        let borrowed: Vec<Change<'_>> = changes
            .iter()
            .map(|(key, value)| (tree, key.as_slice(), value.as_deref(), None))
            .collect();
        memory.apply(&borrowed, &|_, _| true);
    }

    /// A temporary sled tree holding `names`.
    fn sled_holding(names: &[String]) -> Durable {
        let db = sled::Config::new()
            .temporary(true)
            .open()
            .expect("temporary sled");
        let tree = Durable::Sled(super::super::durable::SledTree::new(
            db.open_tree("t").expect("tree"),
        ));
        for name in names {
            tree.write(&k(name), Some(&IVec::from(&b"v"[..])))
                .expect("write");
        }
        tree
    }

    fn k(name: &str) -> Vec<u8> {
        name.as_bytes().to_vec()
    }

    fn keys(scan: &mut Merged<'_>) -> Vec<String> {
        scan.by_ref()
            .map(|r| String::from_utf8_lossy(&r.expect("scan").0).into_owned())
            .collect()
    }

    /// A scan that found sled's first keys all removed in memory notes it; the next scan
    /// from the same start reads sled only after them, and returns the same.
    #[test]
    fn scans_skip_the_sled_keys_memory_removed() {
        let tree = Tree::ExternalTaskQueue;
        let names: Vec<String> = (0..100).map(|i| format!("q{i:03}")).collect();
        let sled = sled_holding(&names);
        let memory = MemTable::new();
        let removed: Vec<(Vec<u8>, Option<Vec<u8>>)> =
            names[..90].iter().map(|n| (k(n), None)).collect();
        apply_all(&memory, tree, &removed);
        let want: Vec<String> = names[90..].to_vec();
        let scan = |memory: &MemTable| {
            let mut scan = Merged::new(
                memory,
                &sled,
                tree,
                Bound::Included(k("q")),
                Bound::Excluded(k("r")),
                false,
            );
            let got = keys(&mut scan);
            (got, scan.durable_reads)
        };
        assert_eq!(scan(&memory), (want.clone(), 100));
        assert_eq!(scan(&memory), (want.clone(), 10), "the second scan skips");
        // A release forgets every skip.
        memory.release_frozen();
        assert_eq!(scan(&memory), (want, 100), "a release forgets the skip");
    }

    /// A scan that skips and sees the frozen layer released meanwhile reads sled again after
    /// the last key it decided: a key that moved from the frozen layer into sled is not lost.
    #[test]
    fn a_skipping_scan_reads_sled_again_when_the_frozen_layer_goes() {
        let tree = Tree::ExternalTaskQueue;
        let names: Vec<String> = (10..20).map(|i| format!("q{i}")).collect();
        let sled = sled_holding(&names);
        let memory = MemTable::new();
        let mut changes: Vec<(Vec<u8>, Option<Vec<u8>>)> =
            names.iter().map(|n| (k(n), None)).collect();
        changes.push((k("q12a"), Some(b"new".to_vec())));
        changes.push((k("q18a"), Some(b"new".to_vec())));
        apply_all(&memory, tree, &changes);
        let frozen = memory.freeze().expect("frozen");
        let range = || (Bound::Included(k("q")), Bound::Excluded(k("r")));
        {
            let (from, to) = range();
            let mut first = Merged::new(&memory, &sled, tree, from, to, false);
            assert_eq!(keys(&mut first), ["q12a", "q18a"]);
        }
        let (from, to) = range();
        let mut second = Merged::new(&memory, &sled, tree, from, to, false);
        let first_key = second.next().expect("one").expect("ok").0;
        assert_eq!(first_key.as_ref(), b"q12a");
        // The checkpoint: the frozen layer goes into sled, then memory lets it go.
        for (key, entry) in frozen.entries().flat_map(|(_, map)| map.iter()) {
            sled.write(key, entry.value()).expect("write");
        }
        memory.release_frozen();
        assert_eq!(keys(&mut second), ["q18a"]);
    }

    /// A scan that skips sled's removed front gets memory without those removals (they are
    /// not copied out at all), and returns exactly the overlay of memory over sled, also when
    /// the checkpoint moves the frozen layer into sled at any point of the scan.
    #[test]
    fn a_skipping_scan_leaves_out_the_removals_it_passes_and_stays_exact() {
        let tree = Tree::ExternalTaskQueue;
        let name = |i: u64| format!("q{i:03}");
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |bound: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % bound
        };
        let mut skipping_rounds = 0;
        for round in 0..40 {
            // Sled: a dense front (the tasks that waited at the checkpoint) and some later keys.
            let in_sled: Vec<String> = (0..200)
                .filter(|i| *i < 80 || next(4) == 0)
                .map(name)
                .collect();
            let sled = sled_holding(&in_sled);
            let mut model: BTreeMap<String, bool> =
                in_sled.iter().map(|n| (n.clone(), true)).collect();
            let memory = MemTable::new();
            let mut change = |memory: &MemTable, model: &mut BTreeMap<String, bool>, n: u64| {
                let changes: Vec<(Vec<u8>, Option<Vec<u8>>)> = (0..n)
                    .map(|_| {
                        // Mostly removals at the front (locked tasks), puts further on.
                        let i = if next(3) == 0 { next(200) } else { next(80) };
                        let put = i >= 80 && next(2) == 0 || next(10) == 0;
                        (k(&name(i)), put.then(|| b"m".to_vec()))
                    })
                    .collect();
                for (key, value) in &changes {
                    model.insert(String::from_utf8_lossy(key).into(), value.is_some());
                }
                let borrowed: Vec<Change<'_>> = changes
                    .iter()
                    .map(|(key, value)| (tree, key.as_slice(), value.as_deref(), None))
                    .collect();
                let sled_keys = &in_sled;
                memory.apply(&borrowed, &|_, key| {
                    sled_keys.iter().any(|n| n.as_bytes() == key)
                });
            };
            change(&memory, &mut model, 120);
            let frozen = memory.freeze().expect("frozen");
            change(&memory, &mut model, 60);
            let want: Vec<String> = model
                .iter()
                .filter(|(_, live)| **live)
                .map(|(n, _)| n.clone())
                .collect();
            let range = || (Bound::Included(k("q")), Bound::Excluded(k("r")));
            let (from, to) = range();
            let mut first = Merged::new(&memory, &sled, tree, from, to, false);
            assert_eq!(keys(&mut first), want, "round {round}: the noting scan");
            drop(first);
            let (from, to) = range();
            let mut second = Merged::new(&memory, &sled, tree, from, to, false);
            let skipped = second.skip.as_ref().and_then(|s| s.skipped_through.clone());
            skipping_rounds += usize::from(skipped.is_some());
            let before = next(want.len() as u64 + 1) as usize;
            let mut got: Vec<String> = second
                .by_ref()
                .take(before)
                .map(|r| String::from_utf8_lossy(&r.expect("scan").0).into_owned())
                .collect();
            if let Some(skipped) = &skipped
                && before == 0
            {
                // Nothing read yet: the first chunk holds no removal through the skip.
                let (entries, _, _) = memory.chunk(
                    tree,
                    Bound::Included(b"q".as_slice()),
                    Bound::Excluded(b"r".as_slice()),
                    false,
                    usize::MAX,
                    Some((skipped, memory.epoch())),
                );
                assert!(
                    entries
                        .iter()
                        .all(|(key, value)| value.is_some() || key > skipped),
                    "round {round}: removals through the skip are left out"
                );
            }
            for (key, entry) in frozen.entries().flat_map(|(_, map)| map.iter()) {
                sled.write(key, entry.value()).expect("write");
            }
            memory.release_frozen();
            got.extend(keys(&mut second));
            assert_eq!(
                got, want,
                "round {round}: read {before} before the checkpoint"
            );
        }
        assert!(skipping_rounds >= 10, "{skipping_rounds} rounds skipped");
    }
}
