//! Parked long polls: the server-wide and per-worker counts of `fetchAndLock` requests
//! waiting for tasks, and the guard that gives a place back however the poll ends.

use std::sync::atomic::Ordering;

use super::core::Inner;

/// Decrements the parked-request counts (server-wide and of its worker) when a long poll
/// ends, however it ends.
pub(super) struct Parked<'a>(pub(super) &'a Inner, pub(super) &'a str);

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        self.0.parked_fetches.fetch_sub(1, Ordering::SeqCst);
        if let Ok(mut by_worker) = self.0.parked_by_worker.lock()
            && let Some(n) = by_worker.get_mut(self.1)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                by_worker.remove(self.1);
            }
        }
    }
}

impl Inner {
    /// Count one more parked poll of `worker`; `Err` with the count it already has when that
    /// reaches the per-worker limit (the caller's guard undoes the count either way).
    pub(super) fn park_worker(&self, worker: &str) -> std::result::Result<(), usize> {
        let Ok(mut by_worker) = self.parked_by_worker.lock() else {
            return Ok(());
        };
        let n = by_worker.entry(worker.to_owned()).or_insert(0);
        *n += 1;
        if *n > self.config.max_parked_fetches_per_worker {
            Err(*n - 1)
        } else {
            Ok(())
        }
    }
}
