//! The checkpointer: one thread that moves committed changes from memory into sled.
//!
//! When the memtable's active layer has grown past [`CHECKPOINT_BYTES`] (the committer asks
//! for it) or has held changes for [`CHECKPOINT_AGE`], the thread starts a new log segment and
//! freezes the layer in one step under the writer lock, writes the frozen layer into sled (key
//! by key) and the LSM tables ([`super::lsm`], a new table per tree), flushes sled, deletes
//! the log segments the layer came from, and drops it.
//! Commits go on meanwhile into the new active layer. A checkpoint that fails (disk full) is
//! retried on the next tick; its segments stay, so nothing is lost.
//!
//! With relaxed durability the thread also syncs the log on every tick: acknowledged writes
//! reach the disk within [`TICK`].

use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::background::Background;
use super::memtable::{Entry, Layer};
use super::{Durability, Result, StoreInner};

/// Active-layer size that starts a checkpoint.
pub(super) const CHECKPOINT_BYTES: usize = 16 * 1024 * 1024;

/// Active-layer size at which the committer waits for checkpoints to catch up (memory stays
/// bounded when sled is slower than the commits).
const MEMORY_LIMIT: usize = 16 * CHECKPOINT_BYTES;

/// Longest time changes stay only in memory and the log.
const CHECKPOINT_AGE: Duration = Duration::from_secs(1);

/// How often the thread looks, unasked.
const TICK: Duration = Duration::from_millis(200);

/// A frozen layer and the last log segment it makes obsolete once sled holds it.
pub(super) struct Pending {
    layer: Arc<Layer>,
    last_segment: u64,
}

/// The handle the store keeps (same life cycle as the committer's: the channel closes, then
/// the thread is joined).
pub(super) struct Checkpointer {
    requests: Option<mpsc::SyncSender<()>>,
    _thread: Option<Background>,
}

impl Checkpointer {
    /// Start the thread for `store` (a weak reference: dropping the store ends it). Without
    /// it the log grows until the next open replays it into sled.
    pub(super) fn start(store: Weak<StoreInner>) -> Checkpointer {
        let (tx, rx) = mpsc::sync_channel::<()>(1);
        let thread = Background::spawn("baton-checkpoint", move || run(store, rx));
        Checkpointer {
            requests: thread.as_ref().map(|_| tx),
            _thread: thread,
        }
    }

    /// Ask for a checkpoint soon (never blocks; one request waiting is enough).
    pub(super) fn request(&self) {
        if let Some(requests) = &self.requests {
            let _ = requests.try_send(());
        }
    }
}

fn run(store: Weak<StoreInner>, requests: mpsc::Receiver<()>) {
    let mut last_rotation = Instant::now();
    loop {
        let asked = match requests.recv_timeout(TICK) {
            Ok(()) => true,
            Err(mpsc::RecvTimeoutError::Timeout) => false,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let Some(inner) = store.upgrade() else {
            return;
        };
        if inner.durability == Durability::Relaxed
            && let Err(e) = inner.wal.sync()
        {
            tracing::error!("relaxed sync of the write-ahead log failed: {e}");
        }
        let due = asked || last_rotation.elapsed() >= CHECKPOINT_AGE;
        match inner.checkpoint(due) {
            Ok(true) => last_rotation = Instant::now(),
            Ok(false) => {}
            Err(e) => tracing::error!("checkpoint failed, retrying: {e}"),
        }
        drop::<Arc<StoreInner>>(inner);
    }
}

impl Drop for StoreInner {
    /// A store closed in order leaves sled complete and the log empty, so the next open has
    /// nothing to replay (a crash leaves at most a second or 16 MB of changes to replay).
    fn drop(&mut self) {
        if !self
            .checkpoint_on_close
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        // A pending checkpoint first, then the active layer.
        for _ in 0..2 {
            if let Err(e) = self.checkpoint(true) {
                tracing::error!("final checkpoint failed (the log is replayed on open): {e}");
                return;
            }
        }
    }
}

impl StoreInner {
    /// Finish a pending checkpoint, or (when `due`) freeze the active layer and write it.
    /// Returns whether a new checkpoint was started.
    pub(super) fn checkpoint(&self, due: bool) -> Result<bool> {
        let _only_one = self.checkpointing.lock().unwrap_or_else(|e| e.into_inner());
        let mut started = false;
        let pending = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            if pending.is_none() && due {
                self.wal.prepare_rotation();
                let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(layer) = self.memory.freeze() {
                    match self.wal.rotate(&self.counts.snapshot()) {
                        Ok(last_segment) => {
                            *pending = Some(Pending {
                                layer,
                                last_segment,
                            });
                            started = true;
                        }
                        Err(e) => {
                            // Keep the frozen layer: the next tick writes it with the
                            // segments up to the current one.
                            *pending = Some(Pending {
                                layer,
                                last_segment: u64::MAX,
                            });
                            return Err(e);
                        }
                    }
                }
            }
            match &*pending {
                Some(p) => Pending {
                    layer: p.layer.clone(),
                    last_segment: p.last_segment,
                },
                None => return Ok(false),
            }
        };
        self.write_layer(&pending.layer)?;
        if pending.last_segment != u64::MAX {
            self.wal.discard_through(pending.last_segment)?;
        }
        *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = None;
        // Under the writer lock: a commit works out what lies below memory before it locks
        // the layers, and that must not change before it applies.
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        self.memory.release_frozen();
        Ok(started)
    }

    /// Wait (the committer thread, between batches) while the active layer is over
    /// [`MEMORY_LIMIT`], asking for checkpoints, but not longer than a few seconds: if sled
    /// cannot take changes (disk full), commits go on failing or succeeding on their own.
    pub(super) fn wait_for_room(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.has_room() && Instant::now() < deadline {
            self.checkpointer.request();
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Whether the active layer is within [`MEMORY_LIMIT`] (a commit on the caller's thread
    /// must not grow it past the limit the committer waits at).
    pub(super) fn has_room(&self) -> bool {
        self.memory.active_bytes() <= MEMORY_LIMIT
    }

    /// Write a frozen layer into sled and the LSM tables, and flush both.
    fn write_layer(&self, layer: &Layer) -> Result<()> {
        for (tree, entries) in layer.entries() {
            // Compressed where they settle: few records of the running state live until a
            // checkpoint, so compressing them on the commit path was mostly wasted.
            self.trees[tree as usize].write_sorted(entries.iter().map(|(key, entry)| {
                let value = match entry {
                    Entry::Put { value, .. } => Some(
                        tree.settled(value)
                            .map_or_else(|| value.clone(), sled::IVec::from),
                    ),
                    Entry::Removed => None,
                };
                (key.as_slice(), value)
            }))?;
        }
        self.db.flush()?;
        // The LSM trees took their changes as tables already; this writes what the
        // replay at open put into their memtables.
        self.tables.flush()?;
        // Once per checkpoint, after every tree's tables are in (a request per tree had the
        // compaction thread merging after each and rewriting more).
        self.tables.request_compaction();
        Ok(())
    }
}
