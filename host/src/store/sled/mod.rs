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
//! Nothing outside this module names a sled type: the API is trees, byte keys and records, a
//! shape a PostgreSQL backend (one table per tree, `key bytea primary key, value bytea`) can
//! serve without the engine changing.

mod external_tasks;
pub(crate) mod index;
mod instances;
pub mod keys;

use super::codec;

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled reported an error.
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
    /// A record could not be decoded (corruption or a newer format).
    #[error("corrupt record in {tree}: {message}")]
    Codec {
        /// The tree.
        tree: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The store is shutting down.
    #[error("the store is closed")]
    Closed,
    /// A record guarded with [`WriteSet::guard`] changed before the commit: nothing was written.
    #[error("conflict: a record changed concurrently")]
    Conflict,
}

/// Result alias.
pub type Result<T> = std::result::Result<T, StoreError>;

macro_rules! trees {
    ($($variant:ident => $name:literal: $doc:literal,)*) => {
        /// The trees of the store.
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
    ExternalTasks => "external_tasks": "Task id -> ExternalTask.",
    ExternalTaskQueue => "external_task_queue": "topic, priority desc, created, id -> (): tasks a worker may fetch.",
    ExternalTaskLocks => "external_task_locks": "lock expiry, id -> (): locked tasks by expiry.",
    ExternalTasksByInstance => "external_tasks_by_instance": "instance id, task id -> ().",
    UserTasks => "user_tasks": "Task id -> UserTask.",
    UserTasksByInstance => "user_tasks_by_instance": "instance id, task id -> ().",
    Jobs => "jobs": "Job id -> Job (timers, async continuations, timer starts, wasm retries).",
    JobsDue => "jobs_due": "due, job id -> ().",
    JobsByInstance => "jobs_by_instance": "instance id, job id -> ().",
    Subscriptions => "subscriptions": "Subscription id -> EventSubscription.",
    SubscriptionsByName => "subscriptions_by_name": "type, name, subscription id -> ().",
    SubscriptionsByInstance => "subscriptions_by_instance": "instance id, subscription id -> ().",
    Incidents => "incidents": "Incident id -> open Incident.",
    IncidentsByInstance => "incidents_by_instance": "instance id, incident id -> ().",
    HistoricInstances => "historic_instances": "Instance id -> HistoricProcessInstance.",
    HistoricActivities => "historic_activities": "instance id, activity instance id -> HistoricActivityInstance.",
    HistoricVariables => "historic_variables": "instance id, scope id, name -> HistoricVariableInstance.",
    HistoricIncidents => "historic_incidents": "Incident id -> Incident (open and resolved).",
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
    pub fn put<T: Serialize>(&mut self, tree: Tree, key: impl Into<Vec<u8>>, record: &T) {
        self.ops
            .push(Op::Put(tree, key.into(), codec::encode(record)));
    }

    /// Store raw bytes (blobs, index entries).
    pub fn put_raw(&mut self, tree: Tree, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(Op::Put(tree, key.into(), value.into()));
    }

    /// Add an index entry (empty value).
    pub fn index(&mut self, tree: Tree, key: impl Into<Vec<u8>>) {
        self.ops.push(Op::Put(tree, key.into(), Vec::new()));
    }

    /// Remove a key.
    pub fn delete(&mut self, tree: Tree, key: impl Into<Vec<u8>>) {
        self.ops.push(Op::Delete(tree, key.into()));
    }

    /// Guard: commit only if `key` still holds `current` (raw encoded bytes as read, or
    /// `None` for "absent"); otherwise [`Store::commit`] fails with [`StoreError::Conflict`]
    /// and writes nothing.
    pub fn guard(&mut self, tree: Tree, key: impl Into<Vec<u8>>, current: Option<Vec<u8>>) {
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
    durability: Durability,
    flush_requests: mpsc::UnboundedSender<FlushRequest>,
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
        Ok(Store {
            inner: Arc::new(StoreInner {
                db,
                trees,
                durability,
                flush_requests: tx,
            }),
        })
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
        if touched.len() == 1 && !has_guards {
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
        let result: std::result::Result<(), sled::transaction::TransactionError<()>> =
            trees.as_slice().transaction(|views| {
                let guards_first = writes
                    .ops
                    .iter()
                    .filter(|op| matches!(op, Op::Guard(..)))
                    .chain(writes.ops.iter().filter(|op| !matches!(op, Op::Guard(..))));
                for op in guards_first {
                    match op {
                        Op::Put(t, k, v) => {
                            views[slot(*t)].insert(k.as_slice(), v.as_slice())?;
                        }
                        Op::Delete(t, k) => {
                            views[slot(*t)].remove(k.as_slice())?;
                        }
                        Op::Guard(t, k, current) => {
                            // A point read of one key: allowed inside sled transactions.
                            let actual = views[slot(*t)].get(k.as_slice())?;
                            if actual.as_deref() != current.as_deref() {
                                return Err(
                                    sled::transaction::ConflictableTransactionError::Abort(()),
                                );
                            }
                        }
                    }
                }
                Ok(())
            });
        match result {
            Ok(()) => Ok(()),
            Err(sled::transaction::TransactionError::Storage(e)) => Err(StoreError::Sled(e)),
            Err(sled::transaction::TransactionError::Abort(())) => Err(StoreError::Conflict),
        }
    }

    /// Apply several guarded write sets in one transaction, each only if all of its own
    /// guards hold: a set whose guard fails is skipped, the others still apply. Returns which
    /// sets applied. One transaction instead of one per set is what makes a batch of
    /// independent guarded changes (e.g. locking 32 fetched tasks) cheap.
    pub fn commit_each(&self, sets: &[WriteSet]) -> Result<Vec<bool>> {
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
        let trees: Vec<&sled::Tree> = touched.iter().map(|t| self.tree(*t)).collect();
        let slot = |t: Tree| touched.binary_search(&t).unwrap_or(0);
        use sled::Transactional;
        // Pure closure (sled may re-run it): the applied flags are rebuilt on every attempt.
        let result: std::result::Result<Vec<bool>, sled::transaction::TransactionError<()>> =
            trees.as_slice().transaction(|views| {
                let mut applied = Vec::with_capacity(sets.len());
                for set in sets {
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
                            match op {
                                Op::Put(t, k, v) => {
                                    views[slot(*t)].insert(k.as_slice(), v.as_slice())?;
                                }
                                Op::Delete(t, k) => {
                                    views[slot(*t)].remove(k.as_slice())?;
                                }
                                Op::Guard(..) => {}
                            }
                        }
                    }
                    applied.push(holds);
                }
                Ok(applied)
            });
        match result {
            Ok(applied) => Ok(applied),
            Err(sled::transaction::TransactionError::Storage(e)) => Err(StoreError::Sled(e)),
            Err(sled::transaction::TransactionError::Abort(())) => Err(StoreError::Conflict),
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
    pub fn get<T: DeserializeOwned>(&self, tree: Tree, key: &[u8]) -> Result<Option<T>> {
        match self.tree(tree).get(key)? {
            None => Ok(None),
            Some(bytes) => codec::decode(tree.name(), &bytes).map(Some),
        }
    }

    /// Read raw bytes.
    pub fn get_raw(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.tree(tree).get(key)?.map(|v| v.to_vec()))
    }

    /// Whether a key exists.
    pub fn contains(&self, tree: Tree, key: &[u8]) -> Result<bool> {
        Ok(self.tree(tree).contains_key(key)?)
    }

    /// Every record under a key prefix, in key order.
    pub fn scan<T: DeserializeOwned>(&self, tree: Tree, prefix: &[u8]) -> Result<Vec<T>> {
        self.tree(tree)
            .scan_prefix(prefix)
            .map(|kv| {
                let (_, v) = kv?;
                codec::decode(tree.name(), &v)
            })
            .collect()
    }

    /// The last key under a prefix.
    pub fn last_key_with_prefix(&self, tree: Tree, prefix: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(
            match self.tree(tree).scan_prefix(prefix).keys().next_back() {
                Some(k) => Some(k?.to_vec()),
                None => None,
            },
        )
    }

    /// Keys under a prefix, in order, at most `limit`.
    pub fn scan_keys(&self, tree: Tree, prefix: &[u8], limit: usize) -> Result<Vec<Vec<u8>>> {
        self.tree(tree)
            .scan_prefix(prefix)
            .keys()
            .take(limit)
            .map(|k| Ok(k?.to_vec()))
            .collect()
    }

    /// Keys in `[start, end)`, in order, at most `limit`.
    pub fn range_keys(
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
    pub fn first_key(&self, tree: Tree) -> Result<Option<Vec<u8>>> {
        Ok(self.tree(tree).first()?.map(|(k, _)| k.to_vec()))
    }

    /// Key/value pairs under a prefix (raw values), in key order.
    pub fn scan_raw(&self, tree: Tree, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.tree(tree)
            .scan_prefix(prefix)
            .map(|kv| {
                let (k, v) = kv?;
                Ok((k.to_vec(), v.to_vec()))
            })
            .collect()
    }

    /// Number of records in a tree (walks the tree: for metrics and tests, not hot paths).
    pub fn count(&self, tree: Tree) -> usize {
        self.tree(tree).len()
    }

    /// Bytes used on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.inner.db.size_on_disk()?)
    }

    /// A new unique, increasing number (outbox sequence).
    pub fn generate_id(&self) -> Result<u64> {
        Ok(self.inner.db.generate_id()?)
    }
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
            .and_then(|r| r.map_err(StoreError::Sled));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn write_sets_commit_across_trees_and_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path(), Durability::Fsync).expect("open");
            let mut ws = WriteSet::new();
            ws.put(Tree::Deployments, b"d1".to_vec(), &"hello".to_string());
            ws.index(Tree::ExternalTaskQueue, b"t\0x".to_vec());
            store.commit_durable(&ws).await.expect("commit");
        }
        let store = Store::open(dir.path(), Durability::Fsync).expect("reopen");
        let v: Option<String> = store.get(Tree::Deployments, b"d1").expect("get");
        assert_eq!(v.as_deref(), Some("hello"));
        assert!(
            store
                .contains(Tree::ExternalTaskQueue, b"t\0x")
                .expect("contains")
        );
    }

    #[tokio::test]
    async fn concurrent_syncs_share_flushes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), Durability::Fsync).expect("open");
        let mut handles = Vec::new();
        for i in 0..32u32 {
            let s = store.clone();
            handles.push(tokio::spawn(async move {
                let mut ws = WriteSet::new();
                ws.put(Tree::Meta, format!("k{i}").into_bytes(), &i);
                s.commit_durable(&ws).await
            }));
        }
        for h in handles {
            h.await.expect("join").expect("commit");
        }
        assert_eq!(store.count(Tree::Meta), 33);
    }
}
