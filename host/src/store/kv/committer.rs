//! The committer: one thread that applies the write sets of concurrent commands together, one
//! sled transaction per batch ([`super::Store::commit_batched`]).
//!
//! Why a thread of its own: sled runs every transaction behind one process-wide lock, and a
//! transaction's fixed cost (its overlay, the lock, sealing its log batch) was paid once per
//! command. Commands now prepare their changes on the runtime threads and hand them over; while
//! the committer applies one batch, the next commands are already being computed, and the
//! batch grows with the load. Each set keeps its own guards, so one conflicting command fails
//! alone. Durability is unchanged: a command still waits for the group-committed flush
//! ([`super::Store::sync`]) before it is acknowledged.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Weak};

use tokio::sync::oneshot;

use super::background::Background;
use super::{Result, StoreError, StoreInner, WriteSet};

/// At most this many write sets go into one transaction (bounds its size and the latency of
/// the first set in a long queue).
const MAX_BATCH: usize = 256;

/// The outcome for one submitted set: applied (`true`), or refused by its guards (`false`).
type Reply = oneshot::Sender<Result<bool>>;

/// The handle the store keeps: where to submit, and the thread. Fields drop in order: the
/// channel closes first (the thread's loop ends), then the thread is joined.
pub(super) struct Committer {
    requests: Option<mpsc::Sender<(WriteSet, Reply)>>,
    /// Sets submitted and not yet answered: 0 means the thread is idle, and a caller may
    /// commit on its own thread instead ([`Self::is_idle`]).
    in_flight: Arc<AtomicUsize>,
    _thread: Option<Background>,
}

impl Committer {
    /// Start the thread for `store`. It holds only a weak reference: dropping the last store
    /// handle closes the channel, the thread ends, and the database closes. If the thread
    /// cannot be started, sets are committed by their callers instead ([`Self::submit`]).
    pub(super) fn start(store: Weak<StoreInner>) -> Committer {
        let (tx, rx) = mpsc::channel::<(WriteSet, Reply)>();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&in_flight);
        let thread = Background::spawn("baton-committer", move || run(store, rx, &counted));
        Committer {
            requests: thread.as_ref().map(|_| tx),
            in_flight,
            _thread: thread,
        }
    }

    /// Whether no submitted set is waiting or being applied. A lone command then gains
    /// nothing from the thread (there is nothing to batch it with) and pays two thread
    /// wake-ups for it, so [`super::Store::commit_batched`] commits it on the caller's thread.
    pub(super) fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }

    /// Queue `writes`; the receiver answers once the batch holding them is applied. Gives the
    /// set back when there is no committer thread.
    pub(super) fn submit(
        &self,
        writes: WriteSet,
    ) -> std::result::Result<oneshot::Receiver<Result<bool>>, WriteSet> {
        let Some(requests) = &self.requests else {
            return Err(writes);
        };
        let (tx, rx) = oneshot::channel();
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        if let Err(back) = requests.send((writes, tx)) {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            return Err(back.0.0);
        }
        Ok(rx)
    }
}

fn run(
    store: Weak<StoreInner>,
    requests: mpsc::Receiver<(WriteSet, Reply)>,
    in_flight: &AtomicUsize,
) {
    while let Ok(first) = requests.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        let sets = batch.len();
        let Some(inner) = store.upgrade() else {
            for (_, reply) in batch {
                let _ = reply.send(Err(StoreError::Closed));
            }
            in_flight.fetch_sub(sets, Ordering::AcqRel);
            continue;
        };
        apply(&inner, batch);
        in_flight.fetch_sub(sets, Ordering::AcqRel);
        inner.wait_for_room();
        // Dropped here, possibly the last handle: the store closes on this thread.
        drop::<Arc<StoreInner>>(inner);
    }
}

fn apply(inner: &StoreInner, batch: Vec<(WriteSet, Reply)>) {
    let sets: Vec<&WriteSet> = batch.iter().map(|(writes, _)| writes).collect();
    let outcome = inner.commit_sets(&sets, false);
    drop(sets);
    match outcome {
        Ok(applied) => {
            for ((_, reply), applied) in batch.into_iter().zip(applied) {
                let _ = reply.send(Ok(applied));
            }
        }
        Err(e) => {
            let message = e.to_string();
            for (_, reply) in batch {
                let _ = reply.send(Err(StoreError::Backend(message.clone())));
            }
        }
    }
}
