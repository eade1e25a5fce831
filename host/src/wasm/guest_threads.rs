//! The threads guests run on: a tokio runtime of their own whose threads run at a lower CPU
//! priority (a higher `nice` value) than the engine's. A guest that computes for its whole
//! deadline (a spin loop under a large fuel budget) then takes a core only while the
//! engine's threads do not want it, so other instances' steps keep their latency on a
//! machine with few cores (issue 20: hostile guests must not slow everyone else).
//!
//! Owns nothing of an execution: [`super::WasmRuntime::execute`] polls an execution once on
//! the caller's thread (a short guest ends there, without two thread wake-ups) and spawns
//! what is still running here, awaiting it from the caller's runtime. Must not: run engine
//! work (commands hold instance locks; at a low priority they would invert priorities), or
//! be dropped by blocking (it is dropped with the engine, possibly on an async thread).

use std::future::Future;

use tokio::runtime::{Builder, Handle, Runtime};
use tokio::task::JoinHandle;

/// The guest runtime. Dropping it stops its threads without waiting for running guests
/// (their tasks stay locked by the in-engine worker and run again after a restart).
pub(crate) struct GuestThreads {
    runtime: Option<Runtime>,
}

impl GuestThreads {
    /// Starts `threads` worker threads (at least one), `nice` steps below the engine's
    /// priority (0 keeps it).
    pub(crate) fn start(threads: usize, nice: i32) -> std::io::Result<GuestThreads> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("baton-guest")
            .enable_all()
            .on_thread_start(move || lower_priority(nice))
            .build()?;
        Ok(GuestThreads {
            runtime: Some(runtime),
        })
    }

    /// The guest runtime's handle, to enter its context when a caller polls an execution on
    /// its own thread (what the execution spawns or arms then belongs to the guest threads).
    pub(crate) fn handle(&self) -> Option<&Handle> {
        self.runtime.as_ref().map(Runtime::handle)
    }

    /// Runs `work` on a guest thread.
    pub(crate) fn spawn<F>(&self, work: F) -> Option<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime.as_ref().map(|rt| rt.spawn(work))
    }
}

impl Drop for GuestThreads {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Adds `nice` to the calling thread's nice value, as the `nice` command does (at most 19;
/// on Linux the nice value is per thread, and `setpriority` on "the calling process" sets
/// the calling thread's). A failure leaves the thread at the engine's priority: guests
/// still run, only less politely.
fn lower_priority(nice: i32) {
    if nice <= 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        let lowered = getpriority_process(None)
            .and_then(|current| setpriority_process(None, (current + nice).min(19)));
        if let Err(e) = lowered {
            tracing::debug!("cannot lower the guest threads' priority: {e}");
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The nice value of the calling thread.
    fn current_nice() -> i32 {
        rustix::process::getpriority_process(None).expect("getpriority")
    }

    #[tokio::test]
    async fn guests_run_below_the_engines_priority() {
        let engine_nice = current_nice();
        let guests = GuestThreads::start(2, 10).expect("guest threads");
        let guest_nice = guests
            .spawn(async { current_nice() })
            .expect("running")
            .await
            .expect("joined");
        assert_eq!(guest_nice, (engine_nice + 10).min(19));
        assert_eq!(
            current_nice(),
            engine_nice,
            "the engine's threads are untouched"
        );
        // Dropped inside an async context without blocking or panicking.
        drop(guests);
    }
}
