//! Parked long polls: the server-wide and per-worker counts of `fetchAndLock` requests
//! waiting for tasks, the guard that gives a place back however the poll ends, and the
//! direct hand-off of a new task to a poll parked for its topic.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use baton_bpmn::engine::InstanceState;
use foldhash::HashMap;
use tokio::sync::Notify;

use super::core::Inner;
use super::external_tasks::{requested_variables, static_filters_pass, variables_match};
use super::{FetchAndLockRequest, LockedTask, ProcessEngine};
use crate::records::ExternalTask;

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

/// Where a parked poll stands, as the commands that offer it tasks see it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SlotState {
    /// Parked: commands may lock new tasks for it.
    Open,
    /// Awake: it takes no new tasks, and waits for the ones already promised to it.
    Closed,
    /// Gone (the request was dropped): a task delivered now is unlocked again.
    Abandoned,
}

struct Slot {
    state: SlotState,
    /// Tasks locked for this poll by commands not yet durable.
    promised: usize,
    /// Tasks locked for this poll by durable commands, not yet answered.
    handed: Vec<LockedTask>,
}

/// A long poll parked for tasks. A command that creates a task of one of its topics, which
/// that topic's filters take, locks the task for it in the command's own write set and hands
/// it over once that write set is durable: the worker's answer waits for one flush, not for
/// the command's and then for the lock's own.
pub(super) struct ParkedPoll {
    request: Arc<FetchAndLockRequest>,
    slot: Mutex<Slot>,
    /// Woken at each hand-over and each promise given back.
    ready: Notify,
}

/// The parked polls by topic, oldest first.
#[derive(Default)]
pub(crate) struct HandOffs {
    by_topic: Mutex<HashMap<String, Vec<Arc<ParkedPoll>>>>,
}

/// A task locked for a parked poll by a command not yet durable. Handed over by
/// [`Promise::deliver`] after the command's flush. Dropped undelivered, it gives its place
/// back and unlocks the task if the command wrote it: the command failed (nothing was
/// written), or its caller went away after the commit (a client that disconnected or a
/// request that timed out while the flush ran), which would otherwise leave the task locked
/// for a worker that never gets it. (A caller dropped while its write set still waits in the
/// committer may find nothing to unlock yet: the lock then expires, as after a lost answer.)
pub(crate) struct Promise {
    engine: ProcessEngine,
    poll: Arc<ParkedPoll>,
    task: Option<LockedTask>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl HandOffs {
    /// Lock `task` (new, not yet stored) for the oldest parked poll that takes it: one of its
    /// topics names the task's topic, that topic's filters pass (variables read from `state`,
    /// the instance as the creating command leaves it), and it has room. The returned promise
    /// holds the task as locked, to be stored in place of the unlocked one.
    pub(crate) fn promise(
        &self,
        engine: &ProcessEngine,
        task: &ExternalTask,
        state: &InstanceState,
        now: i64,
    ) -> Option<Promise> {
        let by_topic = lock(&self.by_topic);
        let polls = by_topic.get(&task.topic_name)?;
        for poll in polls {
            let mut slot = lock(&poll.slot);
            if slot.state != SlotState::Open
                || slot.promised + slot.handed.len() >= poll.request.max_tasks
            {
                continue;
            }
            let Some(topic) = poll.request.topics.iter().find(|t| {
                t.topic_name == task.topic_name
                    && static_filters_pass(t, task)
                    && variables_match(t, state, &task.activity_instance_id)
            }) else {
                continue;
            };
            slot.promised += 1;
            let mut locked = task.clone();
            locked.worker_id = Some(poll.request.worker_id.clone());
            locked.lock_expiration_time = Some(now.saturating_add(topic.lock_duration));
            let variables = requested_variables(topic, state, &task.activity_instance_id);
            return Some(Promise {
                engine: engine.clone(),
                poll: poll.clone(),
                task: Some(LockedTask::of(topic, locked, variables)),
            });
        }
        None
    }

    fn register(&self, poll: &Arc<ParkedPoll>) {
        let mut by_topic = lock(&self.by_topic);
        for topic in &poll.request.topics {
            let polls = by_topic.entry(topic.topic_name.clone()).or_default();
            // A request naming a topic twice is listed once.
            if !polls.iter().any(|p| Arc::ptr_eq(p, poll)) {
                polls.push(poll.clone());
            }
        }
    }

    fn deregister(&self, poll: &Arc<ParkedPoll>) {
        let mut by_topic = lock(&self.by_topic);
        for topic in &poll.request.topics {
            if let Some(polls) = by_topic.get_mut(&topic.topic_name) {
                polls.retain(|p| !Arc::ptr_eq(p, poll));
                if polls.is_empty() {
                    by_topic.remove(&topic.topic_name);
                }
            }
        }
    }
}

impl Promise {
    /// The task as locked for the poll.
    pub(crate) fn task(&self) -> Option<&ExternalTask> {
        self.task.as_ref().map(|t| &t.task)
    }

    /// Hand the task to its poll, once the command that locked it is durable. Gives the task
    /// back when the poll has gone: its lock then belongs to nobody.
    #[must_use]
    pub(crate) fn deliver(mut self) -> Option<ExternalTask> {
        let task = self.task.take()?;
        let mut slot = lock(&self.poll.slot);
        slot.promised = slot.promised.saturating_sub(1);
        let back = if slot.state == SlotState::Abandoned {
            Some(task.task)
        } else {
            slot.handed.push(task);
            None
        };
        drop(slot);
        self.poll.ready.notify_one();
        back
    }
}

impl Drop for Promise {
    fn drop(&mut self) {
        if let Some(locked) = self.task.take() {
            let mut slot = lock(&self.poll.slot);
            slot.promised = slot.promised.saturating_sub(1);
            drop(slot);
            self.poll.ready.notify_one();
            self.engine.release_lost_lock(locked.task);
        }
    }
}

/// A fetch's place among the parked polls, for as long as the fetch runs. Dropped with a
/// request that ends early (the client went away), it unlocks what was handed to it and
/// not yet answered.
pub(super) struct HandOffSlot {
    engine: ProcessEngine,
    poll: Arc<ParkedPoll>,
}

impl HandOffSlot {
    pub(super) fn new(engine: &ProcessEngine, request: Arc<FetchAndLockRequest>) -> HandOffSlot {
        HandOffSlot {
            engine: engine.clone(),
            poll: Arc::new(ParkedPoll {
                request,
                slot: Mutex::new(Slot {
                    state: SlotState::Closed,
                    promised: 0,
                    handed: Vec::new(),
                }),
                ready: Notify::new(),
            }),
        }
    }

    /// Park: new tasks of the request's topics may be locked for it from now on.
    pub(super) fn open(&self) {
        lock(&self.poll.slot).state = SlotState::Open;
        self.engine.inner.hand_offs.register(&self.poll);
    }

    /// Wait for a hand-over (or a promise given back).
    pub(super) async fn ready(&self) {
        self.poll.ready.notified().await;
    }

    /// Stop taking new tasks, wait until every task promised to this poll is handed over or
    /// given back (a command's commit and flush), and take what was handed over.
    pub(super) async fn close(&self) -> Vec<LockedTask> {
        lock(&self.poll.slot).state = SlotState::Closed;
        self.engine.inner.hand_offs.deregister(&self.poll);
        loop {
            // Registered before the check, so a hand-over between the two is not missed.
            let ready = self.poll.ready.notified();
            {
                let mut slot = lock(&self.poll.slot);
                if slot.promised == 0 {
                    return std::mem::take(&mut slot.handed);
                }
            }
            ready.await;
        }
    }
}

impl Drop for HandOffSlot {
    fn drop(&mut self) {
        let handed = {
            let mut slot = lock(&self.poll.slot);
            slot.state = SlotState::Abandoned;
            std::mem::take(&mut slot.handed)
        };
        self.engine.inner.hand_offs.deregister(&self.poll);
        for locked in handed {
            self.engine.release_lost_lock(locked.task);
        }
    }
}
