//! Caches of records an embedded store has decoded, exact per commit: every commit that writes
//! a tree the entries come from moves the cache's epoch on after the change is in memory, and
//! entries filled at an older epoch are dropped before anyone reads them. The definitions
//! ([`super::definition_cache`]) and the task modules ([`super::module_cache`]) keep theirs in
//! one.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Entries decoded from the store, valid for one commit epoch.
#[derive(Default)]
pub(super) struct EpochCache<E> {
    /// Moved on by every commit that writes a tree the entries come from.
    epoch: AtomicU64,
    /// The epoch the entries were read at, and the entries.
    entries: Mutex<(u64, E)>,
}

impl<E: Default> EpochCache<E> {
    /// The current epoch: read it before reading the store, and fill with it.
    pub(super) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Called by the writer after a commit that wrote one of the cached trees is in memory.
    pub(super) fn invalidate(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Run `f` on the entries as of `epoch`: emptied first when they were read before it;
    /// `None` (and `f` not run) when they were read after it, as the caller's read is then the
    /// stale one.
    pub(super) fn at<R>(&self, epoch: u64, f: impl FnOnce(&mut E) -> R) -> Option<R> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (read_at, held) = &mut *entries;
        if *read_at < epoch {
            *held = E::default();
            *read_at = epoch;
        }
        (*read_at == epoch).then(|| f(held))
    }

    /// Run `f` on the entries as of now.
    pub(super) fn current<R>(&self, f: impl FnOnce(&mut E) -> R) -> Option<R> {
        self.at(self.epoch(), f)
    }
}
