//! Storage: every byte baton keeps on disk goes through this module, and nothing outside it
//! names a backend.
//!
//! The boundary is a set of traits shaped by what the engine asks, one per aggregate, in the
//! style of restate's storage traits: [`ExternalTaskStore`] today (the hot path: fetch-and-lock
//! and lock expiry). The embedded backend is sled ([`sled`](self::sled), the default and what
//! `baton run` uses); a second backend (PostgreSQL, issue 21) implements the same traits, so the
//! engine does not change. The areas not converted yet still use the sled `Store`'s generic
//! `WriteSet` API and the key layouts in `index` (see docs/architecture.md for what is left).
//!
//! Must not: perform effects (a transaction closure may re-run), or scan inside a transaction.

pub mod codec;
mod sled;

pub(crate) use self::sled::index;
pub use self::sled::{Durability, Result, Store, StoreError, Tree, WriteSet, keys};

use crate::records::{ExternalTask, ProcessInstance};

/// The version of a stored record as it was read: what a compare-and-set change is guarded
/// by. Opaque to the engine (sled: the record's encoded bytes; a SQL backend: a version
/// column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(pub(crate) Vec<u8>);

/// The order in which fetch-and-lock hands out available tasks (Camunda's `usePriority` and
/// `sorting`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockOrder {
    /// Highest priority first, then oldest first.
    Priority,
    /// Oldest first.
    CreateTimeAsc,
    /// Newest first.
    CreateTimeDesc,
}

/// One topic of a fetch-and-lock request, as the store sees it.
#[derive(Debug, Clone)]
pub struct TopicLock {
    /// The topic.
    pub topic: String,
    /// When a lock taken under this topic expires (ms since epoch).
    pub lock_expiration_time: i64,
    /// The engine will refuse some tasks of this topic (business key, definition, tenant or
    /// variable filters), so the store should offer more candidates than `max_tasks`.
    pub filtered: bool,
}

/// What the engine's filter says of one available task during fetch-and-lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Lock it (if the request still wants more).
    Take,
    /// Leave it for another request.
    Skip,
    /// Stop: the filter failed; lock nothing and return no task.
    Abort,
}

/// "Lock up to `max_tasks` available tasks of these topics for `worker_id`."
#[derive(Debug, Clone)]
pub struct LockRequest<'a> {
    /// The worker that will hold the locks.
    pub worker_id: &'a str,
    /// At most this many tasks.
    pub max_tasks: usize,
    /// The topics, each with its lock expiry.
    pub topics: &'a [TopicLock],
    /// Which available tasks come first.
    pub order: LockOrder,
    /// The engine's clock: a task whose lock expired before `now` is available.
    pub now: i64,
}

/// External tasks, as the engine asks for them.
///
/// Fetch-and-lock is one operation, not a scan plus compare-and-set done by the engine, so a
/// backend with row locks implements it natively: PostgreSQL as
/// `SELECT ... WHERE topic = ANY($1) AND available ORDER BY ... LIMIT $n FOR UPDATE SKIP
/// LOCKED` followed by one `UPDATE` in the same transaction; sled as a queue-index scan and
/// one guarded transaction per task, committed together ([`Store::commit_each`]).
pub trait ExternalTaskStore {
    /// Lock up to `request.max_tasks` available tasks of `request.topics` for the worker, in
    /// `request.order`, skipping those `accept(topic_index, task)` refuses (the filters the
    /// engine evaluates); an [`Accept::Abort`] locks nothing and returns no task. Returns each locked task (its lock written) with the index of the
    /// topic it was locked under.
    ///
    /// Crash safety: a lock and its index entries commit together, so whatever a crash keeps,
    /// a locked task is findable by its lock's expiry and is not offered again before it. A
    /// task another worker took meanwhile is skipped, never locked twice. The locks are
    /// committed but not yet durable: call [`Store::sync`] before promising them.
    fn lock_available(
        &self,
        request: &LockRequest<'_>,
        accept: &mut dyn FnMut(usize, &ExternalTask) -> Accept,
    ) -> Result<Vec<(ExternalTask, usize)>>;

    /// One task with the version it was read at, or `None`.
    fn external_task(&self, id: &str) -> Result<Option<(ExternalTask, Version)>>;

    /// Every external task.
    fn all_external_tasks(&self) -> Result<Vec<ExternalTask>>;

    /// Stage in `ws` the change of task `old` (as read at `version`) to `new`, or its removal
    /// with `None`, together with its index entries. Committing `ws` fails with
    /// [`StoreError::Conflict`] and writes nothing if the task changed since it was read.
    fn stage_external_task(
        &self,
        ws: &mut WriteSet,
        old: &ExternalTask,
        version: Version,
        new: Option<&ExternalTask>,
        now: i64,
    );

    /// Return the tasks whose lock expired before `now` to the available ones; returns how
    /// many became available.
    fn reclaim_expired_locks(&self, now: i64) -> Result<usize>;
}

/// Running process instances (the executor's aggregate: state, variables, tokens).
///
/// Serialization of commands on one instance is the engine's (a per-instance lock on one
/// node); a backend for several nodes adds its own guard (a version column or `SELECT ... FOR
/// UPDATE` on the instance row) when it commits the write set.
pub trait InstanceStore {
    /// One running instance, or `None` (never started, or ended).
    fn running_instance(&self, id: &str) -> Result<Option<ProcessInstance>>;

    /// Every running instance.
    fn running_instances(&self) -> Result<Vec<ProcessInstance>>;

    /// How many instances are running.
    fn count_running_instances(&self) -> usize;

    /// Stage writing an instance's new state in `ws`.
    fn stage_instance(&self, ws: &mut WriteSet, instance: &ProcessInstance);

    /// Stage removing an ended instance in `ws`.
    fn stage_instance_end(&self, ws: &mut WriteSet, id: &str);
}
