//! The store's background threads (the committer, the checkpointer): started with a weak
//! reference to the store, joined when the store closes.
//!
//! Why join: a reopen in the same process must find sled's file lock released, so dropping
//! the store waits for its threads, unless the last store handle is dropped by one of those
//! threads itself (which is exiting anyway and cannot join itself).

use std::thread::{JoinHandle, ThreadId};

/// A running background thread, joined on drop.
pub(super) struct Background {
    thread: Option<JoinHandle<()>>,
    id: ThreadId,
}

impl Background {
    /// Start `body` on a thread called `name`; `None` (logged) if the system refuses.
    pub(super) fn spawn(name: &str, body: impl FnOnce() + Send + 'static) -> Option<Background> {
        match std::thread::Builder::new().name(name.into()).spawn(body) {
            Ok(thread) => Some(Background {
                id: thread.thread().id(),
                thread: Some(thread),
            }),
            Err(e) => {
                tracing::error!("cannot start the {name} thread: {e}");
                None
            }
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take()
            && std::thread::current().id() != self.id
        {
            let _ = thread.join();
        }
    }
}
