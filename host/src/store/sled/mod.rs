//! The sled backend (sled 0.34): the only module that touches sled, the embedded default.
//!
//! The store is a set of named trees (one per concern, see [`Tree`]) holding versioned
//! records ([`codec`]) under big-endian keys ([`keys`]). Every change of engine state is one
//! [`WriteSet`] committed atomically across the trees it touches, so a new instance state, its
//! tasks, timers, subscriptions, history and outbox land together or not at all.
//!
//! Durability: [`Store::commit`] makes the writes visible; [`Store::sync`] returns once they
//! are on disk. Concurrent `sync` calls share one flush (group commit), so throughput is not
//! bounded by one fsync per command.
//!
//! Nothing outside `store` names a sled type, a tree or a key: the engine goes through the
//! store traits (implemented here, one file per aggregate), and the generic tree/key/record
//! API below is private to the store.

mod batches;
mod committer;
mod counts;
mod decisions;
mod deployments;
mod events;
mod external_tasks;
mod history;
mod identity;
mod incidents;
mod index;
mod instances;
mod jobs;
pub(super) mod keys;
mod notifications;
mod query;
mod tasks;
#[cfg(test)]
mod tests;

use super::codec;

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};

pub use crate::store::{Result, StoreError};

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> StoreError {
        StoreError::Backend(e.to_string())
    }
}

macro_rules! trees {
    ($($variant:ident => $name:literal: $doc:literal,)*) => {
        /// The trees of the store (private to the store: the engine names aggregates, not trees).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Tree {
            $(#[doc = $doc] $variant,)*
        }

        impl Tree {
            /// Every tree, in a fixed order.
            pub const ALL: &'static [Tree] = &[$(Tree::$variant,)*];

            /// The on-disk tree name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Tree::$variant => $name,)*
                }
            }
        }
    };
}

trees! {
    Meta => "meta": "Store metadata (format version, counters).",
    Deployments => "deployments": "Deployment id -> Deployment.",
    Resources => "resources": "Resource id -> raw bytes.",
    Definitions => "definitions": "Definition id -> ProcessDefinition.",
    DefinitionsByKey => "definitions_by_key": "key, tenant, version -> definition id.",
    Instances => "instances": "Process instance id -> ProcessInstance (running only).",
    InstancesByDefinitionKey => "instances_by_definition_key": "definition key, instance id -> () (running only).",
    InstancesByBusinessKey => "instances_by_business_key": "business key, instance id -> () (running only).",
    ExternalTasks => "external_tasks": "Task id -> ExternalTask.",
    ExternalTaskQueue => "external_task_queue": "topic, priority desc, created, id -> (): tasks a worker may fetch.",
    ExternalTaskLocks => "external_task_locks": "lock expiry, id -> (): locked tasks by expiry.",
    ExternalTasksByInstance => "external_tasks_by_instance": "instance id, task id -> ().",
    ExternalTasksByTopic => "external_tasks_by_topic": "topic, task id -> ().",
    WasmTasks => "wasm_tasks": "task id -> (): the external tasks the in-engine wasm runtime owns (run again after a restart).",
    UserTasks => "user_tasks": "Task id -> UserTask.",
    UserTasksByInstance => "user_tasks_by_instance": "instance id, task id -> ().",
    UserTasksByAssignee => "user_tasks_by_assignee": "assignee, task id -> ().",
    UserTasksByCandidateGroup => "user_tasks_by_candidate_group": "candidate group, task id -> ().",
    Jobs => "jobs": "Job id -> Job (timers, async continuations, timer starts, wasm retries).",
    JobsDue => "jobs_due": "due, job id -> ().",
    JobsByInstance => "jobs_by_instance": "instance id, job id -> ().",
    Subscriptions => "subscriptions": "Subscription id -> EventSubscription.",
    SubscriptionsByName => "subscriptions_by_name": "type, name, subscription id -> ().",
    SubscriptionsByInstance => "subscriptions_by_instance": "instance id, subscription id -> ().",
    Incidents => "incidents": "Incident id -> open Incident.",
    IncidentsByInstance => "incidents_by_instance": "instance id, incident id -> ().",
    HistoricInstances => "historic_instances": "Instance id -> HistoricProcessInstance.",
    HistoricInstancesByDefinitionKey => "historic_instances_by_definition_key": "definition key, instance id -> ().",
    HistoricActivities => "historic_activities": "instance id, activity instance id -> HistoricActivityInstance.",
    HistoricVariables => "historic_variables": "instance id, scope id, name -> HistoricVariableInstance.",
    HistoricActivitiesById => "historic_activities_by_id": "activity instance id -> its key in historic_activities.",
    HistoricVariablesById => "historic_variables_by_id": "variable id -> its key in historic_variables.",
    HistoricIncidents => "historic_incidents": "Incident id -> Incident (open and resolved).",
    DecisionDefinitions => "decision_definitions": "Decision definition id -> DecisionDefinition.",
    DecisionDefinitionsByKey => "decision_definitions_by_key": "key, tenant, version -> decision definition id.",
    DecisionRequirements => "decision_requirements": "Decision requirements definition id -> DecisionRequirementsDefinition.",
    DecisionRequirementsByKey => "decision_requirements_by_key": "key, tenant, version -> decision requirements definition id.",
    HistoricDecisions => "historic_decisions": "Historic decision instance id -> HistoricDecisionInstance.",
    UserOperations => "user_operations": "timestamp, id -> UserOperation.",
    Modules => "modules": "Topic -> TaskModule.",
    DeploymentModules => "deployment_modules": "deployment id, topic -> TaskModule (the version an instance keeps).",
    ModuleBlobs => "module_blobs": "sha256 -> component bytes.",
    Users => "users": "User id -> User.",
    Groups => "groups": "Group id -> Group.",
    Outbox => "outbox": "sequence -> cross-instance effect still to perform.",
    TaskLogs => "task_logs": "External task id -> log lines captured from in-engine executions.",
    NotificationRules => "notification_rules": "Rule id -> NotificationRule.",
    NotificationEvents => "notification_events": "time, random id -> NotificationEvent staged with the change that caused it.",
    NotificationDeliveries => "notification_deliveries": "sequence -> Delivery (pending and the newest finished).",
    NotificationDue => "notification_due": "due, sequence -> (): pending deliveries by next attempt.",
    NotificationGroups => "notification_groups": "rule id, group key -> the current grouping window.",
    Batches => "batches": "Batch id -> running Batch with its progress.",
    BatchWork => "batch_work": "Batch id -> BatchWork (operation and targets).",
    HistoricBatches => "historic_batches": "Batch id -> HistoricBatch.",
}

/// One write of a [`WriteSet`].
#[derive(Debug, Clone)]
enum Op {
    Put(Tree, Vec<u8>, Vec<u8>),
    Delete(Tree, Vec<u8>),
    /// The key must hold exactly these bytes (or be absent, for `None`) at commit time.
    Guard(Tree, Vec<u8>, Option<Vec<u8>>),
}

/// Writes to commit atomically, across trees.
#[derive(Debug, Default, Clone)]
pub struct WriteSet {
    ops: Vec<Op>,
}

impl WriteSet {
    /// An empty write set.
    pub fn new() -> WriteSet {
        WriteSet::default()
    }

    /// Store a record.
    pub(in crate::store) fn put<T: Serialize>(
        &mut self,
        tree: Tree,
        key: impl Into<Vec<u8>>,
        record: &T,
    ) {
        self.ops
            .push(Op::Put(tree, key.into(), codec::encode(record)));
    }

    /// Store raw bytes (blobs, index entries).
    pub(in crate::store) fn put_raw(
        &mut self,
        tree: Tree,
        key: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
    ) {
        self.ops.push(Op::Put(tree, key.into(), value.into()));
    }

    /// Add an index entry (empty value).
    pub(in crate::store) fn index(&mut self, tree: Tree, key: impl Into<Vec<u8>>) {
        self.ops.push(Op::Put(tree, key.into(), Vec::new()));
    }

    /// Remove a key.
    pub(in crate::store) fn delete(&mut self, tree: Tree, key: impl Into<Vec<u8>>) {
        self.ops.push(Op::Delete(tree, key.into()));
    }

    /// Guard: commit only if `key` still holds `current` (raw encoded bytes as read, or
    /// `None` for "absent"); otherwise [`Store::commit`] fails with [`StoreError::Conflict`]
    /// and writes nothing.
    pub(in crate::store) fn guard(
        &mut self,
        tree: Tree,
        key: impl Into<Vec<u8>>,
        current: Option<Vec<u8>>,
    ) {
        self.ops.push(Op::Guard(tree, key.into(), current));
    }

    /// Append another write set.
    pub fn extend(&mut self, other: WriteSet) {
        self.ops.extend(other.ops);
    }

    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Number of writes.
    pub fn len(&self) -> usize {
        self.ops.len()
    }
}

/// How acknowledged writes reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Every acknowledged command is fsynced first (group commit). The default.
    #[default]
    Fsync,
    /// Acknowledge after the in-memory commit; sled flushes in the background every
    /// `flush_every_ms`. A crash can lose the last moments of acknowledged work.
    Relaxed,
}

/// The store.
#[derive(Clone)]
pub struct Store {
    inner: Arc<StoreInner>,
}

struct StoreInner {
    db: sled::Db,
    trees: Vec<sled::Tree>,
    counts: counts::Counts,
    durability: Durability,
    flush_requests: mpsc::UnboundedSender<FlushRequest>,
    committer: committer::Committer,
}

/// A waiter for the next flush, with the handle to flush (the committer holds no handle while
/// idle, so dropping the store closes the database at once).
type FlushRequest = (oneshot::Sender<Result<()>>, sled::Db);

/// Current on-disk format version (bump with a migration when record layouts change
/// incompatibly; additive fields do not need one).
const FORMAT_VERSION: u8 = 1;

impl Store {
    /// Open (or create) the store in `dir`. Must be called inside a tokio runtime (the group
    /// committer is a task).
    pub fn open(dir: &Path, durability: Durability) -> Result<Store> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(256 * 1024 * 1024)
            .flush_every_ms(match durability {
                Durability::Fsync => Some(1000),
                Durability::Relaxed => Some(200),
            })
            .open()?;
        let trees = Tree::ALL
            .iter()
            .map(|t| db.open_tree(t.name()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let meta = &trees[Tree::Meta as usize];
        match meta.get(b"format")? {
            None => {
                meta.insert(b"format", &[FORMAT_VERSION])?;
            }
            Some(v) if v.as_ref() == [FORMAT_VERSION] => {}
            Some(v) => {
                return Err(StoreError::Codec {
                    tree: "meta",
                    message: format!(
                        "store format {:?} is not supported by this release (expects {FORMAT_VERSION})",
                        v.as_ref()
                    ),
                });
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(group_commit_loop(rx));
        let store = Store {
            inner: Arc::new_cyclic(|weak| StoreInner {
                db,
                trees,
                counts: counts::Counts::default(),
                durability,
                flush_requests: tx,
                committer: committer::Committer::start(weak.clone()),
            }),
        };
        store.ensure_indexes()?;
        store.inner.counts.rebuild(&store.inner.trees)?;
        Ok(store)
    }

    fn tree(&self, tree: Tree) -> &sled::Tree {
        &self.inner.trees[tree as usize]
    }

    /// The configured durability.
    pub fn durability(&self) -> Durability {
        self.inner.durability
    }

    /// Apply a write set atomically (visible to readers at once; durable after [`Store::sync`]).
    pub fn commit(&self, writes: &WriteSet) -> Result<()> {
        if writes.ops.is_empty() {
            return Ok(());
        }
        // Only the trees this write set touches take part in the transaction.
        let mut touched: Vec<Tree> = writes
            .ops
            .iter()
            .map(|op| match op {
                Op::Put(t, ..) | Op::Delete(t, _) | Op::Guard(t, ..) => *t,
            })
            .collect();
        touched.sort();
        touched.dedup();
        let has_guards = writes.ops.iter().any(|op| matches!(op, Op::Guard(..)));
        if touched.len() == 1 && !has_guards && !counts::is_counted(touched[0]) {
            let mut batch = sled::Batch::default();
            for op in &writes.ops {
                match op {
                    Op::Put(_, k, v) => batch.insert(k.as_slice(), v.as_slice()),
                    Op::Delete(_, k) => batch.remove(k.as_slice()),
                    Op::Guard(..) => {}
                }
            }
            self.tree(touched[0]).apply_batch(batch)?;
            return Ok(());
        }
        let trees: Vec<&sled::Tree> = touched.iter().map(|t| self.tree(*t)).collect();
        let slot = |t: Tree| touched.binary_search(&t).unwrap_or(0);
        use sled::Transactional;
        // The closure is pure (all values precomputed): sled may re-run it on conflict.
        // The closure returns the count deltas of its attempt; only the committed one is applied.
        let result: std::result::Result<
            Vec<counts::Delta>,
            sled::transaction::TransactionError<()>,
        > = trees.as_slice().transaction(|views| {
            let mut deltas = Vec::new();
            let guards_first = writes
                .ops
                .iter()
                .filter(|op| matches!(op, Op::Guard(..)))
                .chain(writes.ops.iter().filter(|op| !matches!(op, Op::Guard(..))));
            for op in guards_first {
                match op {
                    Op::Put(..) | Op::Delete(..) => write(&views[..], &slot, op, &mut deltas)?,
                    Op::Guard(t, k, current) => {
                        // A point read of one key: allowed inside sled transactions.
                        let actual = views[slot(*t)].get(k.as_slice())?;
                        if actual.as_deref() != current.as_deref() {
                            return Err(sled::transaction::ConflictableTransactionError::Abort(()));
                        }
                    }
                }
            }
            Ok(deltas)
        });
        match result {
            Ok(deltas) => {
                self.inner.counts.apply(&deltas);
                Ok(())
            }
            Err(sled::transaction::TransactionError::Storage(e)) => Err(e.into()),
            Err(sled::transaction::TransactionError::Abort(())) => Err(StoreError::Conflict),
        }
    }

    /// Apply several guarded write sets in one transaction, each only if all of its own
    /// guards hold: a set whose guard fails is skipped, the others still apply. Returns which
    /// sets applied. One transaction instead of one per set is what makes a batch of
    /// independent guarded changes (e.g. locking 32 fetched tasks) cheap.
    pub fn commit_each(&self, sets: &[WriteSet]) -> Result<Vec<bool>> {
        let sets: Vec<&WriteSet> = sets.iter().collect();
        self.inner.commit_sets(&sets)
    }

    /// Commit `writes` in the next batch of the committer thread: the write sets of
    /// concurrent commands are applied in one transaction, in arrival order, each only if its
    /// own guards hold ([`StoreError::Conflict`] otherwise). Visible to readers when this
    /// returns; durable after [`Store::sync`]. One transaction per batch instead of one per
    /// command is the lever: sled serialises every transaction behind one process-wide lock,
    /// and the committer applies batches while the runtime threads prepare the next commands.
    pub async fn commit_batched(&self, writes: WriteSet) -> Result<()> {
        if writes.ops.is_empty() {
            return Ok(());
        }
        let reply = match self.inner.committer.submit(writes) {
            Ok(reply) => reply,
            Err(writes) => return self.commit(&writes),
        };
        match reply.await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(StoreError::Conflict),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(StoreError::Closed),
        }
    }

    /// Wait until everything committed so far is on disk. With [`Durability::Relaxed`] this
    /// returns at once.
    pub async fn sync(&self) -> Result<()> {
        if self.inner.durability == Durability::Relaxed {
            return Ok(());
        }
        self.sync_now().await
    }

    /// Flush regardless of the durability setting (shutdown, explicit checkpoints).
    pub async fn sync_now(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .flush_requests
            .send((tx, self.inner.db.clone()))
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Commit and, per the durability setting, wait for the disk.
    pub async fn commit_durable(&self, writes: &WriteSet) -> Result<()> {
        self.commit(writes)?;
        self.sync().await
    }

    /// Read and decode one record.
    pub(in crate::store) fn get<T: DeserializeOwned>(
        &self,
        tree: Tree,
        key: &[u8],
    ) -> Result<Option<T>> {
        match self.tree(tree).get(key)? {
            None => Ok(None),
            Some(bytes) => codec::decode(tree.name(), &bytes).map(Some),
        }
    }

    /// Read and decode one record with the version it was read at (the guard of a later
    /// compare-and-set change).
    pub(in crate::store) fn get_versioned<T: DeserializeOwned>(
        &self,
        tree: Tree,
        key: &[u8],
    ) -> Result<Option<(T, crate::store::Version)>> {
        match self.tree(tree).get(key)? {
            None => Ok(None),
            Some(bytes) => {
                let record = codec::decode(tree.name(), &bytes)?;
                Ok(Some((record, crate::store::Version(bytes.to_vec()))))
            }
        }
    }

    /// Read raw bytes.
    pub(in crate::store) fn get_raw(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.tree(tree).get(key)?.map(|v| v.to_vec()))
    }

    /// Whether a key exists.
    pub(in crate::store) fn contains(&self, tree: Tree, key: &[u8]) -> Result<bool> {
        Ok(self.tree(tree).contains_key(key)?)
    }

    /// Every record under a key prefix, in key order.
    pub(in crate::store) fn scan<T: DeserializeOwned>(
        &self,
        tree: Tree,
        prefix: &[u8],
    ) -> Result<Vec<T>> {
        self.tree(tree)
            .scan_prefix(prefix)
            .map(|kv| {
                let (_, v) = kv?;
                codec::decode(tree.name(), &v)
            })
            .collect()
    }

    /// The last key under a prefix.
    pub(in crate::store) fn last_key_with_prefix(
        &self,
        tree: Tree,
        prefix: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        Ok(
            match self.tree(tree).scan_prefix(prefix).keys().next_back() {
                Some(k) => Some(k?.to_vec()),
                None => None,
            },
        )
    }

    /// Keys under a prefix, in order, at most `limit`.
    pub(in crate::store) fn scan_keys(
        &self,
        tree: Tree,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<Vec<u8>>> {
        self.tree(tree)
            .scan_prefix(prefix)
            .keys()
            .take(limit)
            .map(|k| Ok(k?.to_vec()))
            .collect()
    }

    /// Keys in `[start, end)`, in order, at most `limit`.
    pub(in crate::store) fn range_keys(
        &self,
        tree: Tree,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<Vec<u8>>> {
        self.tree(tree)
            .range(start..end)
            .keys()
            .take(limit)
            .map(|k| Ok(k?.to_vec()))
            .collect()
    }

    /// The first key of a tree.
    pub(in crate::store) fn first_key(&self, tree: Tree) -> Result<Option<Vec<u8>>> {
        Ok(self.tree(tree).first()?.map(|(k, _)| k.to_vec()))
    }

    /// Key/value pairs under a prefix (raw values), in key order.
    pub(in crate::store) fn scan_raw(
        &self,
        tree: Tree,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.tree(tree)
            .scan_prefix(prefix)
            .map(|kv| {
                let (k, v) = kv?;
                Ok((k.to_vec(), v.to_vec()))
            })
            .collect()
    }

    /// Number of records in a tree: kept in memory for the counted trees (see `counts`),
    /// else a walk of the tree (tests, rare admin reads).
    pub(in crate::store) fn count(&self, tree: Tree) -> usize {
        if counts::is_counted(tree) {
            return self.inner.counts.get(tree, None);
        }
        self.tree(tree).len()
    }

    /// Records of an index tree whose keys start with the string component `first`.
    pub(in crate::store) fn count_component(&self, tree: Tree, first: &str) -> usize {
        self.inner.counts.get(tree, Some(first))
    }

    /// Bytes used on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.inner.db.size_on_disk()?)
    }

    /// A new unique, increasing number (outbox sequence).
    pub(in crate::store) fn generate_id(&self) -> Result<u64> {
        Ok(self.inner.db.generate_id()?)
    }
}

impl StoreInner {
    /// Apply several guarded write sets in one transaction (see [`Store::commit_each`]).
    fn commit_sets(&self, sets: &[&WriteSet]) -> Result<Vec<bool>> {
        let mut touched: Vec<Tree> = sets
            .iter()
            .flat_map(|set| set.ops.iter())
            .map(|op| match op {
                Op::Put(t, ..) | Op::Delete(t, _) | Op::Guard(t, ..) => *t,
            })
            .collect();
        touched.sort();
        touched.dedup();
        if touched.is_empty() {
            return Ok(vec![true; sets.len()]);
        }
        let trees: Vec<&sled::Tree> = touched.iter().map(|t| &self.trees[*t as usize]).collect();
        let slot = |t: Tree| touched.binary_search(&t).unwrap_or(0);
        use sled::Transactional;
        // Pure closure (sled may re-run it): the applied flags are rebuilt on every attempt.
        type Applied = (Vec<bool>, Vec<counts::Delta>);
        let result: std::result::Result<Applied, sled::transaction::TransactionError<()>> =
            trees.as_slice().transaction(|views| {
                let mut applied = Vec::with_capacity(sets.len());
                let mut deltas = Vec::new();
                for set in sets.iter() {
                    let mut holds = true;
                    for op in &set.ops {
                        if let Op::Guard(t, k, current) = op {
                            let actual = views[slot(*t)].get(k.as_slice())?;
                            if actual.as_deref() != current.as_deref() {
                                holds = false;
                                break;
                            }
                        }
                    }
                    if holds {
                        for op in &set.ops {
                            write(&views[..], &slot, op, &mut deltas)?;
                        }
                    }
                    applied.push(holds);
                }
                Ok((applied, deltas))
            });
        match result {
            Ok((applied, deltas)) => {
                self.counts.apply(&deltas);
                Ok(applied)
            }
            Err(sled::transaction::TransactionError::Storage(e)) => Err(e.into()),
            Err(sled::transaction::TransactionError::Abort(())) => Err(StoreError::Conflict),
        }
    }
}

/// Apply one put or delete inside a transaction (guards are checked by the caller), noting
/// what it does to the kept counts: an insert of a new key or the removal of an existing one.
fn write(
    views: &[sled::transaction::TransactionalTree],
    slot: &dyn Fn(Tree) -> usize,
    op: &Op,
    deltas: &mut Vec<counts::Delta>,
) -> std::result::Result<(), sled::transaction::ConflictableTransactionError<()>> {
    match op {
        Op::Put(t, k, v) => {
            let old = views[slot(*t)].insert(k.as_slice(), v.as_slice())?;
            if old.is_none() && counts::is_counted(*t) {
                deltas.push((*t, k.clone(), 1));
            }
        }
        Op::Delete(t, k) => {
            let old = views[slot(*t)].remove(k.as_slice())?;
            if old.is_some() && counts::is_counted(*t) {
                deltas.push((*t, k.clone(), -1));
            }
        }
        Op::Guard(..) => {}
    }
    Ok(())
}

/// Group commit: take every flush request that is waiting, flush once, answer them all.
/// Requests that arrive during a flush wait for the next one, which covers their writes.
async fn group_commit_loop(mut requests: mpsc::UnboundedReceiver<FlushRequest>) {
    while let Some((first, db)) = requests.recv().await {
        let mut waiters = vec![first];
        while let Ok((more, _)) = requests.try_recv() {
            waiters.push(more);
        }
        let outcome = tokio::task::spawn_blocking(move || db.flush().map(|_| ()))
            .await
            .map_err(|_| StoreError::Closed)
            .and_then(|r| r.map_err(StoreError::from));
        for w in waiters {
            let reply = match &outcome {
                Ok(()) => Ok(()),
                Err(e) => Err(StoreError::Codec {
                    tree: "flush",
                    message: e.to_string(),
                }),
            };
            let _ = w.send(reply);
        }
    }
}
