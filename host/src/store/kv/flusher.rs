//! Group commit of the write-ahead log: every command waiting for the disk is answered by
//! one flush that covers its record.
//!
//! A waiter whose record no running flush covers leads a new one, while fewer than
//! [`MAX_FLUSHES`] run and none is still gathering (led, not yet writing: it will cover the
//! record); the others wait for a flush that started after their record was appended (one
//! running may not hold it).
//! A leader on a tokio runtime yields once before it flushes when the last flush had company
//! (other waiters when it ended): the commands runnable at that moment (typically the ones
//! the last flush woke, each about to append its next step) append first and are covered by
//! this flush. Measured with 8 clients, durable, 500 `seq10` instances: 27-46% fewer
//! `fdatasync` calls with in-engine wasm tasks, 12-17% fewer with remote workers. A lone
//! client's command flushes at once: the yield would cost it a trip through the scheduler
//! (about 35 µs of a 0.45 ms REST start, measured).
//! A leader that is the only waiter flushes on its own thread: a lone command used to hand
//! its flush to a flush task, which handed it to a blocking thread and back, and on this
//! kind of machine each of those wake-ups costs about as much as the fsync itself. A leader
//! with company hands the flush to a blocking thread, as before: an async thread blocked in
//! fsync under load holds up the commands queued behind it (measured: 15-33% fewer
//! instances/s at 16 and 64 clients when every leader flushed on its own thread).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::{Result, StoreError, wal::Wal};

/// Flushes that may run at once. With one, a record appended just after a flush started
/// writing waited for that flush to end and then for its own: about one and a half flushes
/// per command. A second flush starts at once and writes its records while the first waits
/// for the device; the kernel serves the two cache flushes in order. Measured with
/// `bench-engine throughput` at 64 clients, durable, under `strace -e fdatasync`: 1,878 ->
/// 2,332 `fdatasync` calls for 24,000 instances, start p50 2.10 -> 1.80 ms; instances/s
/// higher in 5 of 7 alternating pairs without strace, by a median 1.2% (the machine's noise is
/// larger); REST `one` with wasm tasks the same. Three were not tried.
const MAX_FLUSHES: usize = 2;

/// The state of the group commit (records are counted by [`Wal::appended`]).
struct State {
    /// Every record up to this many is on disk.
    durable: u64,
    /// Flushes running now (at most [`MAX_FLUSHES`]).
    flushing: usize,
    /// Records the newest running flush covers at least (appended when it started writing).
    covering: u64,
    /// The newest flush was led and has not started writing yet: a record appended now is
    /// still covered by it, so its waiter joins it instead of leading another.
    gathering: bool,
    /// Calls of [`Flusher::sync`] waiting now.
    waiting: usize,
    /// Whether the last flush ended with others waiting (or none ran yet): commands arrive
    /// together, and the next leader yields to let them append first.
    company: bool,
    /// The newest failed flush: the records it was to cover, and why it failed. Waiters for
    /// those records get the error; a later flush tries again.
    failed: Option<(u64, String)>,
}

impl Default for State {
    fn default() -> Self {
        State {
            durable: 0,
            flushing: 0,
            covering: 0,
            gathering: false,
            waiting: 0,
            company: true,
            failed: None,
        }
    }
}

/// Flushes the log for its waiters (see the module comment).
#[derive(Default)]
pub(super) struct Flusher {
    state: Mutex<State>,
    /// Woken after every flush, successful or not.
    flushed: Notify,
    /// Flushes so far.
    flushes: AtomicU64,
}

impl Flusher {
    /// How many flushes ran.
    #[cfg(test)]
    pub(super) fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Return once every record appended to `wal` before the call is on disk.
    pub(super) async fn sync(self: &Arc<Self>, wal: &Arc<Wal>) -> Result<()> {
        let target = wal.appended();
        let _waiting = Waiting::enter(self);
        loop {
            // Registered before the state is read, so a flush that ends in between still
            // wakes this waiter.
            let flushed = self.flushed.notified();
            tokio::pin!(flushed);
            flushed.as_mut().enable();
            let lead = {
                let mut state = self.state();
                if state.durable >= target {
                    return Ok(());
                }
                if let Some((covered, message)) = &state.failed
                    && *covered >= target
                {
                    return Err(StoreError::Backend(message.clone()));
                }
                if state.gathering
                    || (state.flushing > 0 && state.covering >= target)
                    || state.flushing >= MAX_FLUSHES
                {
                    None
                } else {
                    state.flushing += 1;
                    // What it covers is read when it starts writing; until then it gathers.
                    state.gathering = true;
                    let lead = Lead {
                        flusher: Arc::clone(self),
                        wal: Arc::clone(wal),
                        gathering: true,
                        done: false,
                    };
                    Some((lead, state.company))
                }
            };
            if let Some((lead, company)) = lead {
                let runtime = tokio::runtime::Handle::try_current();
                if runtime.is_ok() && company {
                    // Commands already runnable on this runtime append first and join this
                    // flush, instead of each waiting for the next one.
                    tokio::task::yield_now().await;
                }
                let alone = self.state().waiting == 1;
                match runtime {
                    Ok(runtime) if !alone => {
                        // Runs to the end even if this waiter is dropped meanwhile.
                        runtime.spawn_blocking(move || lead.run());
                    }
                    _ => return lead.run(),
                }
            }
            flushed.await;
        }
    }
}

/// A call of [`Flusher::sync`] counted as waiting until it returns or is dropped.
struct Waiting<'a>(&'a Flusher);

impl<'a> Waiting<'a> {
    fn enter(flusher: &'a Flusher) -> Waiting<'a> {
        flusher.state().waiting += 1;
        Waiting(flusher)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.state().waiting -= 1;
    }
}

/// The lead of one flush. Gives the lead back even if it never runs (a blocking task
/// dropped by a runtime shutting down), so later waiters can lead.
struct Lead {
    flusher: Arc<Flusher>,
    wal: Arc<Wal>,
    /// This lead is the one gathering (it has not started writing).
    gathering: bool,
    done: bool,
}

impl Lead {
    /// Flush, record what it covered (or its error), give the lead back, and wake every
    /// waiter to check what it covered.
    fn run(mut self) -> Result<()> {
        {
            // From here a record appended later may miss this flush: its waiter may lead
            // the next one.
            let mut state = self.flusher.state();
            state.gathering = false;
            state.covering = state.covering.max(self.wal.appended());
        }
        self.gathering = false;
        let (covered, outcome) = self.wal.sync_appended();
        self.flusher.flushes.fetch_add(1, Ordering::Relaxed);
        {
            let mut state = self.flusher.state();
            state.flushing -= 1;
            state.company = state.waiting > 1;
            match &outcome {
                Ok(()) => state.durable = state.durable.max(covered),
                Err(e) => state.failed = Some((covered, e.to_string())),
            }
        }
        self.done = true;
        self.flusher.flushed.notify_waiters();
        outcome
    }
}

impl Drop for Lead {
    fn drop(&mut self) {
        if !self.done {
            let mut state = self.flusher.state();
            state.flushing -= 1;
            if self.gathering {
                state.gathering = false;
            }
            drop(state);
            self.flusher.flushed.notify_waiters();
        }
    }
}
