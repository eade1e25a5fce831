//! [`ExternalTaskStore`] on the key-value layer: the available tasks of a topic are the
//! `ExternalTaskQueue` index (topic, priority, create time, id), the locked ones the
//! `ExternalTaskLocks` index (expiry, id). Index entries are hints verified against the
//! record; a stale one is dropped, guarded by the record it was judged on (on sled) or under
//! the row locks of the fetch's transaction (on PostgreSQL).

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Mutex;

use super::index::{self, Placement};
use super::postgres::Postgres;
use super::{Result, Store, StoreError, Tree, WriteSet};
use crate::records::ExternalTask;
use crate::store::codec;
use crate::store::{Accept, ExternalTaskStore, LockOrder, LockRequest, TaskLookup, Version};

/// Rounds of reading the queue and locking in one fetch: a round is repeated only when
/// another worker locked some of its candidates first.
const LOCK_ROUNDS: usize = 4;

/// How many queue entries an unfiltered topic looks at at most: the first entries of its queue
/// are the answer, which keeps fetch-and-lock flat however many tasks wait; the margin covers
/// stale entries.
fn scan_limit(max_tasks: usize, filtered: bool) -> usize {
    if filtered { 10_000 } else { max_tasks * 2 + 8 }
}

/// An available task judged lockable: the task, the raw record it was judged on (the guard of
/// its lock) and the index of its topic in the request.
type Candidate = (ExternalTask, Vec<u8>, usize);

impl Store {
    /// The available tasks of each topic that `accept` takes, with the raw record each was
    /// judged on (the guard of its lock), in `order`; `None` if `accept` aborted. Stale queue
    /// entries go to `cleanup`.
    fn lock_candidates(
        &self,
        request: &LockRequest<'_>,
        wanted: usize,
        claims: Option<&Claims>,
        accept: &mut dyn FnMut(usize, &ExternalTask) -> Accept,
        cleanup: &mut Vec<WriteSet>,
    ) -> Result<Option<Vec<Candidate>>> {
        let mut candidates = Vec::new();
        for (ti, topic) in request.topics.iter().enumerate() {
            // The queue is in priority order: with that order, the first `wanted` tasks a
            // topic's filter takes are all it can contribute, so the scan (and the decoding of
            // each task it judges) stops there.
            let enough = enough(request.order, candidates.len(), wanted);
            // Entries another fetch of this process is locking are passed over before the
            // limit counts (they are as many as the fetches in flight take at most).
            let keys = self
                .scan_prefix(Tree::ExternalTaskQueue, &index::queue_prefix(&topic.topic))
                .filter(|entry| match (entry, claims) {
                    (Ok((key, _)), Some(claims)) => {
                        index::queue_key_id(key).is_none_or(|id| !claims.contains(&id))
                    }
                    _ => true,
                })
                .take(scan_limit(request.max_tasks, topic.filtered));
            for key in keys {
                if candidates.len() >= enough {
                    break;
                }
                let (key, _) = key?;
                let key = key.to_vec();
                let Some(id) = index::queue_key_id(&key) else {
                    continue;
                };
                let raw = self.get_raw(Tree::ExternalTasks, &index::id_key(&id))?;
                let task = match &raw {
                    None => None,
                    Some(raw) => {
                        let task: ExternalTask = codec::decode("external_tasks", raw)?;
                        match judge(&task, &key, request.now) {
                            QueueEntry::Current => Some(task),
                            QueueEntry::RequeuedEarly => continue,
                            QueueEntry::Stale => None,
                        }
                    }
                };
                let (task, raw) = match (task, raw) {
                    (Some(task), Some(raw)) => (task, raw),
                    (_, judged) => {
                        // Guarded by the record as judged, so a task that changed meanwhile
                        // (e.g. its lock was just reclaimed) keeps its entry.
                        let mut drop = WriteSet::new();
                        drop.guard(Tree::ExternalTasks, index::id_key(&id), judged);
                        drop.delete(Tree::ExternalTaskQueue, key);
                        cleanup.push(drop);
                        continue;
                    }
                };
                match accept(ti, &task) {
                    Accept::Take => candidates.push((task, raw, ti)),
                    Accept::Skip => {}
                    Accept::Abort => return Ok(None),
                }
            }
        }
        sort_candidates(&mut candidates, request.order);
        Ok(Some(candidates))
    }
}

/// What a fetch at `now` makes of the queue entry `key` of `task`.
enum QueueEntry {
    /// The task is available and this is its entry.
    Current,
    /// A lock reclaim with a later clock than `now` put the task back: its only reason to be
    /// off the queue is a lock that expires after `now`. Passed over, not dropped: the reclaim
    /// removed the task's lock entry, so dropping this one too left the task in no index,
    /// never to be fetched again (seen once in the SIGKILL test, where the scheduler's reclaim
    /// ran between a fetch's clock reading and its scan). Any later change of the task
    /// replaces its index entries.
    RequeuedEarly,
    /// Left over (the task changed or is not fetchable): dropped.
    Stale,
}

fn judge(task: &ExternalTask, key: &[u8], now: i64) -> QueueEntry {
    if index::queue_key(task) != key {
        return QueueEntry::Stale;
    }
    match index::placement(task, now) {
        Placement::Queue => QueueEntry::Current,
        Placement::Locked(_) => QueueEntry::RequeuedEarly,
        Placement::Nowhere => QueueEntry::Stale,
    }
}

/// The tasks fetches of this process are locking right now (sled only: on PostgreSQL the
/// fetch's transaction holds row locks that other fetches skip).
#[derive(Default)]
pub(super) struct Claims(Mutex<foldhash::HashSet<String>>);

impl Claims {
    fn contains(&self, id: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(id)
    }

    /// A holder of claims, released when dropped (after the commit, or on any error).
    fn hold(&self) -> Claimed<'_> {
        Claimed {
            claims: self,
            ids: Vec::new(),
        }
    }
}

/// The claims of one round of one fetch.
struct Claimed<'a> {
    claims: &'a Claims,
    ids: Vec<String>,
}

impl Claimed<'_> {
    /// Claim `id`; false if another fetch holds it.
    fn take(&mut self, id: &str) -> bool {
        let fresh = self
            .claims
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_owned());
        if fresh {
            self.ids.push(id.to_owned());
        }
        fresh
    }
}

impl Drop for Claimed<'_> {
    fn drop(&mut self) {
        let mut held = self.claims.0.lock().unwrap_or_else(|e| e.into_inner());
        for id in &self.ids {
            held.remove(id);
        }
    }
}

/// Sort lockable tasks into the order the request asks for.
fn sort_candidates(candidates: &mut [Candidate], order: LockOrder) {
    match order {
        LockOrder::Priority | LockOrder::PriorityThenNewest => candidates.sort_by(|a, b| {
            let oldest_first = a.0.create_time.cmp(&b.0.create_time);
            b.0.priority.cmp(&a.0.priority).then(match order {
                LockOrder::PriorityThenNewest => oldest_first.reverse(),
                _ => oldest_first,
            })
        }),
        LockOrder::CreateTimeAsc => candidates.sort_by_key(|c| c.0.create_time),
        LockOrder::CreateTimeDesc => candidates.sort_by_key(|c| std::cmp::Reverse(c.0.create_time)),
    }
}

/// How many candidates are enough once the topics before this one gave `found`: with
/// priority order the first `wanted` a topic's filter takes are all it can contribute.
fn enough(order: LockOrder, found: usize, wanted: usize) -> usize {
    match order {
        LockOrder::Priority => found + wanted,
        LockOrder::PriorityThenNewest | LockOrder::CreateTimeAsc | LockOrder::CreateTimeDesc => {
            usize::MAX
        }
    }
}

/// Stage the lock of `task` for the request's worker: the record, out of the queue, into the
/// lock index, together (whatever a crash keeps, a locked task is in the lock index and not
/// in the queue, so its lock's expiry brings it back).
fn stage_lock(
    ws: &mut WriteSet,
    request: &LockRequest<'_>,
    task: &ExternalTask,
    ti: usize,
) -> ExternalTask {
    let mut new = task.clone();
    new.worker_id = Some(request.worker_id.to_owned());
    new.lock_expiration_time = Some(request.topics[ti].lock_expiration_time);
    ws.put(Tree::ExternalTasks, index::id_key(&new.id), &new);
    ws.delete(Tree::ExternalTaskQueue, index::queue_key(task));
    if let Some(exp) = new.lock_expiration_time {
        ws.index(Tree::ExternalTaskLocks, index::lock_key(exp, &new.id));
    }
    new
}

impl Store {
    /// Fetch-and-lock on PostgreSQL, in one transaction: each topic's first queue rows that
    /// no concurrent fetch holds (`select ... for update skip locked`), then their task
    /// records (`skip locked` too: a task another transaction is changing is left to it), the
    /// engine's filters judge them, and the locks are written and committed. Concurrent
    /// fetches on any node take disjoint tasks without waiting for each other or retrying.
    fn lock_available_skip_locked(
        &self,
        postgres: &Postgres,
        request: &LockRequest<'_>,
        accept: &mut dyn FnMut(usize, &ExternalTask) -> Accept,
    ) -> Result<Vec<(ExternalTask, usize)>> {
        let mut tx = postgres.begin()?;
        let mut entries = Vec::new();
        for (ti, topic) in request.topics.iter().enumerate() {
            let (from, to) = super::prefix_range(&index::queue_prefix(&topic.topic));
            let from = match from {
                Bound::Included(from) => from,
                _ => Vec::new(),
            };
            let limit = scan_limit(request.max_tasks, topic.filtered);
            for key in tx.lock_range(Tree::ExternalTaskQueue, from, to, limit)? {
                if let Some(id) = index::queue_key_id(&key) {
                    entries.push((key, id, ti));
                }
            }
        }
        let records: HashMap<Vec<u8>, Vec<u8>> = tx
            .lock_keys(
                Tree::ExternalTasks,
                entries.iter().map(|(_, id, _)| index::id_key(id)).collect(),
            )?
            .into_iter()
            .collect();
        let mut writes = WriteSet::new();
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut topic_start = (usize::MAX, 0);
        for (key, id, ti) in entries {
            if topic_start.0 != ti {
                topic_start = (ti, candidates.len());
            }
            if candidates.len() >= enough(request.order, topic_start.1, request.max_tasks) {
                continue;
            }
            // Absent: deleted, or locked by a transaction changing it (which keeps or
            // drops the queue entry itself).
            let Some(raw) = records.get(&index::id_key(&id)) else {
                continue;
            };
            let task: ExternalTask = codec::decode("external_tasks", raw)?;
            match judge(&task, &key, request.now) {
                QueueEntry::Current => {}
                QueueEntry::RequeuedEarly => continue,
                QueueEntry::Stale => {
                    writes.delete(Tree::ExternalTaskQueue, key);
                    continue;
                }
            }
            match accept(ti, &task) {
                Accept::Take => candidates.push((task, Vec::new(), ti)),
                Accept::Skip => {}
                // Dropping the transaction rolls it back: nothing locked.
                Accept::Abort => return Ok(Vec::new()),
            }
        }
        sort_candidates(&mut candidates, request.order);
        let locked: Vec<(ExternalTask, usize)> = candidates
            .into_iter()
            .take(request.max_tasks)
            .map(|(task, _, ti)| (stage_lock(&mut writes, request, &task, ti), ti))
            .collect();
        tx.commit(writes)?;
        Ok(locked)
    }
}

impl ExternalTaskStore for Store {
    fn lock_available(
        &self,
        request: &LockRequest<'_>,
        accept: &mut dyn FnMut(usize, &ExternalTask) -> Accept,
    ) -> Result<Vec<(ExternalTask, usize)>> {
        if let Some(postgres) = self.postgres() {
            return self.lock_available_skip_locked(postgres, request, accept);
        }
        let mut cleanup = Vec::new();
        // Each lock changes the record and its index entries together, guarded by the record
        // as read: whatever a crash keeps, a locked task is in the lock index and not in the
        // queue, so its lock's expiry brings it back. (A lock written apart from its index
        // entries lost the task when the process died between the two writes.) The locks of
        // a batch go in one commit; a task another worker locked meanwhile is skipped, and
        // the next round reads the queue again (the tasks others took have left it).
        // Concurrent fetches of this process claim their candidates first and pass over
        // each other's (as `skip locked` does on PostgreSQL): without it every fetch on a busy
        // topic judged the same first tasks, and all but one lost the race and read again.
        let claims = self.fetch_claims();
        let mut locked = Vec::new();
        for _ in 0..LOCK_ROUNDS {
            let wanted = request.max_tasks - locked.len();
            let Some(candidates) =
                self.lock_candidates(request, wanted, claims, accept, &mut cleanup)?
            else {
                break;
            };
            let mut claimed = claims.map(Claims::hold);
            let mut batch = Vec::new();
            let mut sets = Vec::new();
            for (task, raw, ti) in candidates {
                if batch.len() >= wanted {
                    break;
                }
                if let Some(claimed) = &mut claimed
                    && !claimed.take(&task.id)
                {
                    continue;
                }
                let mut ws = WriteSet::new();
                // The engine syncs before it answers the fetch.
                ws.awaits_sync();
                ws.guard(Tree::ExternalTasks, index::id_key(&task.id), Some(raw));
                batch.push((stage_lock(&mut ws, request, &task, ti), ti));
                sets.push(ws);
            }
            if batch.is_empty() {
                break;
            }
            let applied = self.commit_each(&sets)?;
            // Committed locks have left the queue; failed ones are free to be judged again.
            drop(claimed);
            let all_applied = applied.iter().all(|ok| *ok);
            locked.extend(
                batch
                    .into_iter()
                    .zip(applied)
                    .filter_map(|(entry, ok)| ok.then_some(entry)),
            );
            if all_applied || locked.len() >= request.max_tasks {
                break;
            }
        }
        if !cleanup.is_empty() {
            self.commit_each(&cleanup)?;
        }
        Ok(locked)
    }

    fn external_task(&self, id: &str) -> Result<Option<(ExternalTask, Version)>> {
        match self.get_raw(Tree::ExternalTasks, &index::id_key(id))? {
            None => Ok(None),
            Some(raw) => {
                let task = codec::decode("external_tasks", &raw)?;
                Ok(Some((task, Version(raw))))
            }
        }
    }

    fn all_external_tasks(&self) -> Result<Vec<ExternalTask>> {
        self.scan(Tree::ExternalTasks, b"")
    }

    fn wasm_tasks_in_flight(&self) -> Result<Vec<ExternalTask>> {
        let mut tasks = Vec::new();
        for key in self.scan_keys(Tree::WasmTasks, b"", usize::MAX)? {
            if let Some(task) = self.get::<ExternalTask>(Tree::ExternalTasks, &key)? {
                tasks.push(task);
            }
        }
        Ok(tasks)
    }

    fn stage_external_task(
        &self,
        ws: &mut WriteSet,
        old: &ExternalTask,
        version: Version,
        new: Option<&ExternalTask>,
        now: i64,
    ) {
        ws.guard(Tree::ExternalTasks, index::id_key(&old.id), Some(version.0));
        match new {
            Some(new) => index::put_external_task(ws, new, Some(old), now),
            None => index::delete_external_task(ws, old),
        }
    }

    fn reclaim_expired_locks(&self, now: i64) -> Result<usize> {
        let end = index::lock_key(now.saturating_add(1), "");
        let keys = self.range_keys(Tree::ExternalTaskLocks, &[], &end, 1000)?;
        let mut moved = 0;
        for key in keys {
            // One guarded transaction per task: if the task changes between this read and the
            // commit (a worker completes it, a concurrent reclaim requeues it and a fetch locks
            // it), this reclaim is moot and must not re-add a queue entry the task no longer has.
            let mut ws = WriteSet::new();
            ws.delete(Tree::ExternalTaskLocks, key.clone());
            let mut requeued = false;
            if let Some(id) = index::timed_key_id(&key) {
                let raw = self.get_raw(Tree::ExternalTasks, &index::id_key(&id))?;
                if let Some(bytes) = &raw {
                    let task: ExternalTask = codec::decode("external_tasks", bytes)?;
                    if index::placement(&task, now) == Placement::Queue {
                        ws.index(Tree::ExternalTaskQueue, index::queue_key(&task));
                        requeued = true;
                    }
                }
                ws.guard(Tree::ExternalTasks, index::id_key(&id), raw);
            }
            match self.commit(&ws) {
                Ok(()) => moved += usize::from(requeued),
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(moved)
    }

    fn next_lock_expiry(&self) -> Result<Option<i64>> {
        Ok(self
            .first_key(Tree::ExternalTaskLocks)?
            .and_then(|k| super::keys::from_ord_i64(&k)))
    }

    fn external_tasks_of_instance(&self, instance_id: &str) -> Result<Vec<ExternalTask>> {
        index::external_tasks_of_instance(self, instance_id)
    }

    fn stage_external_task_write(
        &self,
        ws: &mut WriteSet,
        old: Option<&ExternalTask>,
        new: &ExternalTask,
        now: i64,
    ) {
        index::put_external_task(ws, new, old, now);
    }

    fn stage_external_task_removal(&self, ws: &mut WriteSet, task: &ExternalTask) {
        index::delete_external_task(ws, task);
    }

    fn count_external_tasks(&self) -> Result<usize> {
        self.count(Tree::ExternalTasks)
    }

    fn waiting_by_topic(
        &self,
        limit: usize,
    ) -> Result<std::collections::HashMap<String, (u64, i64)>> {
        let mut out: std::collections::HashMap<String, (u64, i64)> = Default::default();
        for key in self.scan_keys(Tree::ExternalTaskQueue, b"", limit)? {
            // Layout (index::queue_key): topic\0, priority (8, desc), created (8), id\0.
            let Some(end) = key.iter().position(|&b| b == 0) else {
                continue;
            };
            let Some(created) = key
                .get(end + 9..end + 17)
                .and_then(super::keys::from_ord_i64)
            else {
                continue;
            };
            let topic = String::from_utf8_lossy(&key[..end]).into_owned();
            let e = out.entry(topic).or_insert((0, i64::MAX));
            e.0 += 1;
            e.1 = e.1.min(created);
        }
        Ok(out)
    }

    fn external_tasks_where(
        &self,
        lookup: &TaskLookup<'_>,
        keep: &mut dyn FnMut(&ExternalTask) -> Accept,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<ExternalTask>> {
        let mut keep_matching = |t: &ExternalTask| {
            let fits = lookup.topic.is_none_or(|x| x == t.topic_name)
                && lookup
                    .process_instance_id
                    .is_none_or(|x| x == t.process_instance_id);
            if fits { keep(t) } else { Accept::Skip }
        };
        let keep = &mut keep_matching;
        match (lookup.process_instance_id, lookup.topic) {
            (Some(pi), _) => super::query::page(
                index::external_tasks_of_instance(self, pi)?
                    .into_iter()
                    .map(|t| Ok(Some(t))),
                keep,
                skip,
                limit,
            ),
            (None, Some(topic)) => super::query::page(
                self.indexed(
                    Tree::ExternalTasksByTopic,
                    &index::field_prefix(topic),
                    Tree::ExternalTasks,
                ),
                keep,
                skip,
                limit,
            ),
            (None, None) => {
                super::query::page(self.records(Tree::ExternalTasks, b""), keep, skip, limit)
            }
        }
    }

    fn count_external_tasks_where(&self, lookup: &TaskLookup<'_>) -> Result<usize> {
        match (lookup.process_instance_id, lookup.topic) {
            (None, None) => self.count(Tree::ExternalTasks),
            (None, Some(topic)) => self.count_component(Tree::ExternalTasksByTopic, topic),
            _ => Ok(self
                .external_tasks_where(lookup, &mut |_| Accept::Take, 0, usize::MAX)?
                .len()),
        }
    }

    fn task_log(&self, task_id: &str) -> Result<Vec<String>> {
        Ok(self
            .get(Tree::TaskLogs, &index::id_key(task_id))?
            .unwrap_or_default())
    }

    fn stage_task_log(&self, ws: &mut WriteSet, task_id: &str, lines: &[String]) {
        ws.put(Tree::TaskLogs, index::id_key(task_id), &lines);
    }
}
