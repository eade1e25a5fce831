//! The key-value layer under the store traits, with its two engines: sled (the default, and
//! what `baton run` uses) and PostgreSQL ([`postgres`], what several nodes share).
//!
//! The store is a set of named trees (one per concern, see [`Tree`]) holding versioned
//! records ([`codec`]) under big-endian keys ([`keys`]). Every change of engine state is one
//! [`WriteSet`] committed atomically across the trees it touches, so a new instance state, its
//! tasks, timers, subscriptions, history and outbox land together or not at all. The
//! aggregates (one file each) are written against the generic tree/key/record API below and
//! run unchanged on either engine.
//!
//! Durability: [`Store::commit`] makes the writes visible; [`Store::sync`] returns once they
//! are on disk. Concurrent `sync` calls share one flush (group commit), so throughput is not
//! bounded by one fsync per command. On PostgreSQL a commit returns once the database has it
//! durably, and `sync` has nothing left to do.
//!
//! On sled, sled is the durable copy, not the first stop: a commit goes to the write-ahead log
//! ([`wal`], what `sync` flushes) and the memtable ([`memtable`], what reads see first), and a
//! checkpoint ([`checkpoint`]) moves the changes into sled in the background. Changes that
//! cancel out between checkpoints (a short instance's task, queue entry, running record) never
//! reach sled. Record counts are kept in memory ([`counts`]); PostgreSQL counts with queries,
//! since other nodes change the rows too.
//!
//! Nothing outside `store` names a backend, a tree or a key: the engine goes through the
//! store traits (implemented here, one file per aggregate), and the generic tree/key/record
//! API below is private to the store.

mod authorizations;
mod background;
mod batches;
mod checkpoint;
mod committer;
mod counts;
mod decisions;
mod definition_cache;
mod deployments;
mod durable;
mod epoch_cache;
mod events;
mod external_tasks;
mod flusher;
mod history;
mod history_logs;
mod identity;
mod incidents;
mod index;
mod instances;
mod jobs;
pub(super) mod keys;
mod lsm;
mod memtable;
mod metrics;
mod module_cache;
mod notifications;
mod postgres;
pub use self::postgres::{ClusterLock, MAX_EVENT_PAYLOAD, RemoteChange};
mod query;
mod tasklist;
mod tasks;
#[cfg(test)]
mod tests;
mod wal;
pub use wal::log_segment_end;
#[cfg(test)]
mod wal_tests;

use super::codec;

use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;

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
    ExternalTasksByInstance => "external_tasks_by_instance": "Retired in store format 5 (the instance record names its external tasks): emptied when an older store is opened, never written.",
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
    HistoricActivitiesById => "historic_activities_by_id": "activity instance id -> its key in historic_activities (ids not derived from their instance's; the others are found by their time prefix).",
    HistoricVariablesById => "historic_variables_by_id": "variable id -> its key in historic_variables (ids not drawn in their instance's millisecond; the others are found by their time prefix).",
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
    Authorizations => "authorizations": "Authorization id -> Authorization.",
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
    Metrics => "metrics": "interval start, metric name -> sum over the 15-minute interval.",
    TaskWorkers => "task_workers": "interval start, worker id -> (): task workers seen per interval.",
    HistoryLogs => "history_logs": "kind, log id -> HistoryLog (external task log, job log, variable updates, identity links).",
    HistoryLogsByInstance => "history_logs_by_instance": "instance id, kind, log id -> the ids of the entries of that kind staged with it.",
    Filters => "filters": "Filter id -> Filter (saved task queries).",
    Comments => "comments": "Comment id -> Comment.",
    CommentsByOwner => "comments_by_owner": "task or instance id, comment id -> ().",
    Attachments => "attachments": "Attachment id -> Attachment.",
    AttachmentsByOwner => "attachments_by_owner": "task or instance id, attachment id -> ().",
    AttachmentContent => "attachment_content": "Attachment id -> raw content bytes.",
    Tenants => "tenants": "Tenant id -> Tenant with its user and group members.",
}

impl Tree {
    /// Whether the tree's records are written positionally (record format 3): the trees every
    /// step of an instance writes. Their record types (`ProcessInstance` with the state
    /// machine's `InstanceState`, `ExternalTask`, `UserTask`, `Job`, `EventSubscription`,
    /// `HistoricProcessInstance`, `HistoricActivityInstance`, `HistoricVariableInstance`,
    /// `HistoryLog`) keep their field order and add fields only at the end; the codec's
    /// fixtures check it.
    pub fn is_positional(self) -> bool {
        matches!(
            self,
            Tree::Instances
                | Tree::ExternalTasks
                | Tree::UserTasks
                | Tree::Jobs
                | Tree::Subscriptions
                | Tree::HistoricInstances
                | Tree::HistoricActivities
                | Tree::HistoricVariables
                | Tree::HistoryLogs
        )
    }

    /// Whether the tree is history (on the embedded engine its durable copy is a partition
    /// of the history tables, [`lsm`], not a sled tree): rows written once, changed a few times
    /// while their instance runs, kept until history cleanup removes them.
    pub fn is_history(self) -> bool {
        matches!(
            self,
            Tree::HistoricInstances
                | Tree::HistoricInstancesByDefinitionKey
                | Tree::HistoricActivities
                | Tree::HistoricVariables
                | Tree::HistoricActivitiesById
                | Tree::HistoricVariablesById
                | Tree::HistoricIncidents
                | Tree::HistoricDecisions
                | Tree::UserOperations
                | Tree::HistoricBatches
                | Tree::HistoryLogs
                | Tree::HistoryLogsByInstance
        )
    }

    /// Whether the tree is an index only queries and the kept counts read, with an entry per
    /// running instance or open task (by definition key, by business key; external tasks by
    /// topic; user tasks by assignee, by candidate group): on the embedded engine it lives in
    /// the LSM tables beside history, not in sled. Why: sled 0.34 keeps each small entry as
    /// log fragments and page images in segments up to half dead: copying a store of 100,000
    /// waiting instances into a fresh sled with and without each of these trees, each cost
    /// 257-341 bytes of sled's file per entry (a 43-byte key); at 1,000,000 waiting instances
    /// the disk per waiting instance went from 3,056 to 2,214 bytes. In the tables an entry
    /// costs its share of a compressed block. Commands never read them (the instance record
    /// names its tasks, the queue and lock trees stay in sled); a short instance's entries
    /// come and go in the memtable and never reach either.
    pub fn is_query_index(self) -> bool {
        matches!(
            self,
            Tree::InstancesByDefinitionKey
                | Tree::InstancesByBusinessKey
                | Tree::ExternalTasksByTopic
                | Tree::UserTasksByAssignee
                | Tree::UserTasksByCandidateGroup
        )
    }

    /// Whether the tree's durable copy is a partition of the LSM tables ([`lsm`]) on the
    /// embedded engine (a sled tree otherwise).
    pub fn in_lsm_tables(self) -> bool {
        self.is_history() || self.is_query_index()
    }

    /// Whether the tree's positional records are compressed (record format 4) where they
    /// settle ([`Tree::settled`]): the running state's, which the store keeps per waiting
    /// instance. History's tables compress their blocks themselves.
    pub fn is_compressed(self) -> bool {
        self.is_positional() && !self.is_history()
    }

    /// A record encoded as this tree's commits carry it (the log and the memtable hold it
    /// so; [`Tree::settled`] is how sled or PostgreSQL keeps it).
    pub(in crate::store) fn encode<T: Serialize>(self, record: &T) -> Vec<u8> {
        if self.is_positional() {
            codec::encode_positional(record)
        } else {
            codec::encode(record)
        }
    }

    /// A committed value as the durable store keeps it: compressed ([`codec::compress`])
    /// in the trees that compress their records, as committed otherwise.
    pub(in crate::store) fn settled(self, value: &[u8]) -> Option<Vec<u8>> {
        if self.is_compressed() {
            codec::compress(value)
        } else {
            None
        }
    }
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
    /// See [`WriteSet::awaits_sync`].
    awaits_sync: bool,
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
            .push(Op::Put(tree, key.into(), tree.encode(record)));
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

    /// Say that whoever commits this set syncs ([`Store::sync`]) before telling anyone of
    /// the change, so its log record may wait in memory for that sync: one `write(2)` for a
    /// group commit's records instead of one per commit. A `kill -9` before the sync loses
    /// the change, as it may lose any change not yet synced, and nobody was told of it. Has
    /// no effect with relaxed durability, which acknowledges before syncing.
    pub fn awaits_sync(&mut self) {
        self.awaits_sync = true;
    }

    /// Append another write set.
    pub fn extend(&mut self, other: WriteSet) {
        self.ops.extend(other.ops);
    }

    /// Whether the set removes `key` of `tree`.
    pub(in crate::store) fn deletes(&self, tree: Tree, key: &[u8]) -> bool {
        self.ops
            .iter()
            .any(|op| matches!(op, Op::Delete(t, k) if *t == tree && k == key))
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
    backend: Backend,
    durability: Durability,
}

/// The engine under the key-value layer.
#[derive(Clone)]
enum Backend {
    /// Embedded: sled with baton's log and memtable in front ([`StoreInner`]).
    Sled(Arc<StoreInner>),
    /// A PostgreSQL database ([`postgres`]), possibly shared by several nodes.
    Postgres(Arc<postgres::Postgres>),
}

/// An ordered scan of one tree: sled's merged view, or the rows of one query.
enum Scan<'a> {
    /// Boxed: the merged scan is several times the size of the other variants.
    Sled(Box<std::iter::Take<memtable::Merged<'a>>>),
    Rows(std::vec::IntoIter<postgres::Row>),
    Failed(Option<StoreError>),
}

impl Iterator for Scan<'_> {
    type Item = Result<(sled::IVec, sled::IVec)>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Scan::Sled(merged) => merged.next(),
            Scan::Rows(rows) => rows
                .next()
                .map(|(k, v)| Ok((sled::IVec::from(k), sled::IVec::from(v)))),
            Scan::Failed(e) => e.take().map(Err),
        }
    }
}

struct StoreInner {
    /// Every tree's durable copy, by [`Tree`] number: sled's trees, and the partitions of
    /// [`StoreInner::tables`] (history and query indexes).
    trees: Vec<durable::Durable>,
    /// The LSM tables of the history trees and query indexes ([`lsm`]). Declared before
    /// `db`, so it is closed (its compaction thread joined) before sled's file lock is
    /// released: a reopen waits for the lock and must not find the tables still being
    /// written.
    tables: Arc<lsm::LsmTables>,
    db: sled::Db,
    counts: counts::Counts,
    durability: Durability,
    /// Group commit of the log ([`flusher`]).
    flusher: Arc<flusher::Flusher>,
    /// Committed changes sled does not have yet (reads look here first).
    memory: memtable::MemTable,
    /// The log that makes those changes durable.
    wal: Arc<wal::Wal>,
    /// The one writer at a time (guards checked and changes applied in commit order), with
    /// its reusable log record.
    writer: Mutex<wal::RecordBuffer>,
    /// A frozen layer being written into sled.
    pending: Mutex<Option<checkpoint::Pending>>,
    /// Held for a whole checkpoint: the checkpoint thread, a test's `checkpoint_now` and the
    /// final checkpoint on close must not write the same layer and discard the same log
    /// segments at once.
    checkpointing: Mutex<()>,
    /// Whether closing the store writes the memtable into sled (tests turn it off to leave
    /// the log as a crash would).
    checkpoint_on_close: std::sync::atomic::AtomicBool,
    committer: committer::Committer,
    checkpointer: checkpoint::Checkpointer,
    /// The tasks fetch-and-lock calls are locking right now.
    fetch_claims: external_tasks::Claims,
    /// Decoded definitions, exact until the next commit that writes a definition tree.
    definitions: definition_cache::DefinitionCache,
    /// Decoded task modules, exact until the next commit that writes a module tree.
    modules: module_cache::ModuleCache,
}

/// Current on-disk format version (bump with a migration when record layouts change
/// incompatibly; additive fields do not need one). 2: a write-ahead log beside sled holds the
/// newest changes (releases that expect 1 would not read it, so they must refuse the store).
/// 3: the hot trees hold positional records (record format 3, see [`codec`]), which releases
/// that expect 2 cannot read. 4: the history trees live in their own tables ([`lsm`]), where
/// releases that expect 3 would not look (they would show no history). 5: the running state's
/// records may be compressed (record format 4, see [`codec`]), which releases that expect 4
/// cannot read, and the external tasks' by-instance index is gone (the instance record names
/// its tasks), which releases that expect 4 would miss. 6: the history logs live in one table
/// set per kind ([`lsm`]), where releases that expect 5 would not look. 7: the write-ahead
/// log's segments are format 2 (checksums bound to the segment number, files reused), which
/// releases that expect 6 would take for segments whose header never reached the disk and
/// skip. 8: the query indexes of running instances, external and user tasks live in the LSM
/// tables ([`Tree::is_query_index`]), where releases that expect 7 would not look (their
/// queries by definition key, business key, topic, assignee or candidate group would find
/// nothing).
pub const FORMAT_VERSION: u8 = 8;

/// Formats this release opens (older stores are upgraded in place: their records stay
/// readable and are rewritten in today's format when they change).
const READABLE_FORMATS: &[u8] = &[1, 2, 3, 4, 5, 6, 7, 8];

impl Store {
    /// Open (or create) the store in `dir`. Must be called inside a tokio runtime (the group
    /// committer is a task).
    pub fn open(dir: &Path, durability: Durability) -> Result<Store> {
        // Sled flushes only at checkpoints: the log is what acknowledgements wait for.
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(256 * 1024 * 1024)
            .flush_every_ms(None)
            .open()?;
        // Refuse a store of an unknown format before anything in it is moved or replayed.
        if let Some(v) = db.open_tree(Tree::Meta.name())?.get(b"format")?
            && !(v.len() == 1 && READABLE_FORMATS.contains(&v[0]))
        {
            return Err(unsupported_format(&v));
        }
        let tables = lsm::LsmTables::open(dir)?;
        move_into_lsm_tables(&db, &tables)?;
        let trees = Tree::ALL
            .iter()
            .map(|t| {
                Ok(match tables.partition(*t) {
                    Some(partition) => durable::Durable::Lsm(partition),
                    None => durable::Durable::Sled(durable::SledTree::new(db.open_tree(t.name())?)),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut recovered = wal::Wal::recover(dir)?;
        replay(&db, &tables, &trees, &mut recovered)?;
        let meta = db.open_tree(Tree::Meta.name())?;
        match meta.get(b"format")? {
            Some(v) if v.len() == 1 && READABLE_FORMATS.contains(&v[0]) => {
                if v[0] < 5 {
                    // Emptied after the replay (an older release's log writes it) and before
                    // the format says 5, so a crash in between empties it again.
                    db.open_tree(Tree::ExternalTasksByInstance.name())?
                        .clear()?;
                }
                if v[0] != FORMAT_VERSION {
                    meta.insert(b"format", &[FORMAT_VERSION])?;
                    db.flush()?;
                }
            }
            None => {
                meta.insert(b"format", &[FORMAT_VERSION])?;
                db.flush()?;
            }
            Some(v) => return Err(unsupported_format(&v)),
        }
        // The counts: the oldest segment's snapshot plus the deltas logged after it, or (a new
        // store, or one from before the log) a walk of the counted trees.
        let counts = counts::Counts::default();
        match recovered.counts.take() {
            Some(snapshot) => {
                counts.load(snapshot);
                counts.apply(&recovered.deltas);
            }
            None => counts.rebuild(&trees)?,
        }
        let wal = wal::Wal::create(
            dir,
            &recovered,
            &counts.snapshot(),
            durability == Durability::Fsync,
        )?;
        if let Some(last) = recovered.segments.last() {
            wal.discard_through(*last)?;
        }
        let store = Store {
            durability,
            backend: Backend::Sled(Arc::new_cyclic(|weak| StoreInner {
                trees,
                tables,
                db,
                counts,
                durability,
                flusher: Arc::default(),
                memory: memtable::MemTable::new(),
                wal: Arc::new(wal),
                writer: Mutex::new(wal::RecordBuffer::default()),
                pending: Mutex::new(None),
                checkpointing: Mutex::new(()),
                checkpoint_on_close: std::sync::atomic::AtomicBool::new(true),
                committer: committer::Committer::start(weak.clone()),
                checkpointer: checkpoint::Checkpointer::start(weak.clone()),
                fetch_claims: Default::default(),
                definitions: Default::default(),
                modules: Default::default(),
            })),
        };
        store.ensure_indexes()?;
        Ok(store)
    }

    /// Open (or create) the store in a PostgreSQL database: `url` is a `postgres://` URL or
    /// a libpq key/value string, `schema` the schema to keep the tables in (created if
    /// missing; the connection's default `search_path` otherwise). The migrations the database
    /// lacks are applied first. Every node of a cluster opens the same database and schema.
    pub fn open_postgres(url: &str, schema: Option<&str>, durability: Durability) -> Result<Store> {
        let postgres = postgres::Postgres::open(url, schema, durability)?;
        tracing::info!("store: PostgreSQL at {}", postgres.target());
        let store = Store {
            durability,
            backend: Backend::Postgres(Arc::new(postgres)),
        };
        store.ensure_indexes()?;
        Ok(store)
    }

    /// Lock instance `id` across every node sharing this store, waiting while another node
    /// holds it; `None` on sled (one process owns the store, and the engine's own lock is
    /// enough). Held for as long as the engine holds its per-instance lock.
    pub async fn lock_instance_across_nodes(&self, id: &str) -> Result<Option<ClusterLock>> {
        match &self.backend {
            Backend::Sled(_) => Ok(None),
            Backend::Postgres(pg) => pg.lock_instance(id).await.map(Some),
        }
    }

    /// Take the lock of a duty only one node sharing this store may do at a time (the batch
    /// runner's invocations, notification delivery, history cleanup), waiting while another
    /// node holds it; `None` on sled (one process owns the store: the engine's own locks
    /// are enough).
    pub async fn lock_duty_across_nodes(&self, duty: &str) -> Result<Option<ClusterLock>> {
        match self.postgres() {
            None => Ok(None),
            Some(pg) => pg.lock_duty(duty, true).await,
        }
    }

    /// Like [`Store::lock_duty_across_nodes`] without waiting: `Ok(None)` while another node
    /// holds the duty. On sled, `Ok(None)` too: ask [`Store::is_shared`] first.
    pub async fn try_lock_duty_across_nodes(&self, duty: &str) -> Result<Option<ClusterLock>> {
        match self.postgres() {
            None => Ok(None),
            Some(pg) => pg.lock_duty(duty, false).await,
        }
    }

    /// What nodes sharing this store commit that a waiter of this node may care about
    /// (tasks to fetch, jobs to run); `None` on sled, where every change is this process's.
    pub fn remote_changes(&self) -> Option<tokio::sync::broadcast::Receiver<RemoteChange>> {
        match &self.backend {
            Backend::Sled(_) => None,
            Backend::Postgres(pg) => Some(pg.remote_changes()),
        }
    }

    /// Live-event batches published by the nodes sharing this store (this one's included);
    /// `None` on sled.
    pub fn remote_events(&self) -> Option<tokio::sync::broadcast::Receiver<String>> {
        self.postgres().map(|pg| pg.remote_events())
    }

    /// Publish a batch of this node's live events to every node sharing the store (a no-op
    /// on sled); at most [`MAX_EVENT_PAYLOAD`] bytes.
    pub async fn publish_events(&self, batch: String) {
        if let Some(pg) = self.postgres() {
            pg.publish_events(batch).await;
        }
    }

    /// Copy every record of this store into `target` (`baton migrate-store`: a sled data
    /// directory into a PostgreSQL database), `chunk` keys per commit, and return the number
    /// of keys copied per tree. Refuses a target that already holds data, so a copy never
    /// mixes two engines' records. The source must not change meanwhile (its server stopped).
    pub fn copy_into(&self, target: &Store, chunk: usize) -> Result<Vec<(&'static str, usize)>> {
        for tree in Tree::ALL {
            if *tree != Tree::Meta && target.first_key(*tree)?.is_some() {
                return Err(StoreError::Backend(format!(
                    "the target already holds baton data (tree {}); copy into an empty database or schema",
                    tree.name()
                )));
            }
        }
        let mut copied = Vec::with_capacity(Tree::ALL.len());
        for tree in Tree::ALL {
            let mut count = 0;
            let mut ws = WriteSet::new();
            for pair in self.scan_prefix(*tree, b"") {
                let (key, value) = pair?;
                ws.put_raw(*tree, key.to_vec(), value.to_vec());
                count += 1;
                if ws.len() >= chunk.max(1) {
                    target.commit(&std::mem::take(&mut ws))?;
                }
            }
            target.commit(&ws)?;
            copied.push((tree.name(), count));
        }
        // New sequence numbers (outbox, notifications) must follow the copied ones.
        let next = self.generate_id()?;
        if let Backend::Postgres(pg) = &target.backend {
            pg.ensure_ids_above(next)?;
        }
        for (name, count) in &copied {
            let tree = Tree::ALL
                .iter()
                .find(|t| t.name() == *name)
                .copied()
                .unwrap_or(Tree::Meta);
            let there = target
                .range(tree, Bound::Unbounded, Bound::Unbounded, false, None, true)
                .count();
            if there < *count {
                return Err(StoreError::Backend(format!(
                    "tree {name}: {count} keys copied but {there} found in the target"
                )));
            }
        }
        Ok(copied)
    }

    /// Whether the store is a PostgreSQL database (shared with other nodes, possibly).
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// The PostgreSQL engine, when the store is one (for operations it does natively).
    fn postgres(&self) -> Option<&postgres::Postgres> {
        match &self.backend {
            Backend::Sled(_) => None,
            Backend::Postgres(pg) => Some(pg),
        }
    }

    /// The decoded definitions this process keeps (sled only: on PostgreSQL another node may
    /// change a definition).
    fn definition_cache(&self) -> Option<&definition_cache::DefinitionCache> {
        match &self.backend {
            Backend::Sled(inner) => Some(&inner.definitions),
            Backend::Postgres(_) => None,
        }
    }

    /// The decoded task modules this process keeps (sled only, as the definitions).
    fn module_cache(&self) -> Option<&module_cache::ModuleCache> {
        match &self.backend {
            Backend::Sled(inner) => Some(&inner.modules),
            Backend::Postgres(_) => None,
        }
    }

    /// What concurrent fetch-and-lock calls of this process are locking (sled only).
    fn fetch_claims(&self) -> Option<&external_tasks::Claims> {
        match &self.backend {
            Backend::Sled(inner) => Some(&inner.fetch_claims),
            Backend::Postgres(_) => None,
        }
    }

    /// The sled engine (tests of its log and memtable).
    #[cfg(test)]
    fn sled(&self) -> &Arc<StoreInner> {
        match &self.backend {
            Backend::Sled(inner) => inner,
            Backend::Postgres(_) => panic!("a sled store was expected"),
        }
    }

    #[cfg(test)]
    fn tree(&self, tree: Tree) -> &durable::Durable {
        &self.sled().trees[tree as usize]
    }

    /// The configured durability.
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// Apply a write set atomically (visible to readers at once; durable after [`Store::sync`]).
    pub fn commit(&self, writes: &WriteSet) -> Result<()> {
        if writes.ops.is_empty() {
            return Ok(());
        }
        match self.commit_sets(&[writes])?.first() {
            Some(true) => Ok(()),
            _ => Err(StoreError::Conflict),
        }
    }

    /// Apply several guarded write sets in one transaction, each only if all of its own
    /// guards hold: a set whose guard fails is skipped, the others still apply. Returns which
    /// sets applied. One transaction instead of one per set is what makes a batch of
    /// independent guarded changes (e.g. locking 32 fetched tasks) cheap.
    pub fn commit_each(&self, sets: &[WriteSet]) -> Result<Vec<bool>> {
        let sets: Vec<&WriteSet> = sets.iter().collect();
        self.commit_sets(&sets)
    }

    fn commit_sets(&self, sets: &[&WriteSet]) -> Result<Vec<bool>> {
        self.commit_sets_awaiting(sets, false)
    }

    /// [`Store::commit_sets`]; with `awaits_sync`, as if every set [`WriteSet::awaits_sync`].
    fn commit_sets_awaiting(&self, sets: &[&WriteSet], awaits_sync: bool) -> Result<Vec<bool>> {
        match &self.backend {
            Backend::Sled(inner) => inner.commit_sets(sets, awaits_sync),
            Backend::Postgres(pg) => pg.commit_sets(sets),
        }
    }

    /// Commit `writes` in the next batch of the committer thread: the write sets of
    /// concurrent commands are applied in one transaction, in arrival order, each only if its
    /// own guards hold ([`StoreError::Conflict`] otherwise). Visible to readers when this
    /// returns; durable after [`Store::sync`]. One transaction per batch instead of one per
    /// command is the lever: sled serialises every transaction behind one process-wide lock,
    /// and the committer applies batches while the runtime threads prepare the next commands.
    /// When the committer has nothing to do, the set is applied on the caller's thread.
    pub async fn commit_batched(&self, writes: WriteSet) -> Result<()> {
        if writes.ops.is_empty() {
            return Ok(());
        }
        let inner = match &self.backend {
            Backend::Sled(inner) => inner,
            Backend::Postgres(pg) => {
                return match pg.commit_batched(writes).await? {
                    true => Ok(()),
                    false => Err(StoreError::Conflict),
                };
            }
        };
        // Nothing to batch with: commit here rather than wake the committer and be woken by
        // it (the write lock orders this against a batch that starts meanwhile).
        if inner.committer.is_idle()
            && inner.has_room()
            && let Some(applied) = inner.try_commit_alone(&writes)
        {
            return match applied? {
                true => Ok(()),
                false => Err(StoreError::Conflict),
            };
        }
        let reply = match inner.committer.submit(writes) {
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
        if self.durability == Durability::Relaxed {
            return Ok(());
        }
        self.sync_now().await
    }

    /// Flush regardless of the durability setting (shutdown, explicit checkpoints).
    pub async fn sync_now(&self) -> Result<()> {
        // PostgreSQL: a commit returned once it was durable (or, relaxed, the database
        // flushes on its own).
        let Backend::Sled(inner) = &self.backend else {
            return Ok(());
        };
        inner.flusher.sync(&inner.wal).await
    }

    /// How many times the log was flushed (sled only; tests of the group commit).
    #[cfg(test)]
    pub(crate) fn flushes(&self) -> u64 {
        match &self.backend {
            Backend::Sled(inner) => inner.flusher.flushes(),
            Backend::Postgres(_) => 0,
        }
    }

    /// Commit and, per the durability setting, wait for the disk.
    pub async fn commit_durable(&self, writes: &WriteSet) -> Result<()> {
        if !writes.ops.is_empty() {
            match self.commit_sets_awaiting(&[writes], true)?.first() {
                Some(true) => {}
                _ => return Err(StoreError::Conflict),
            }
        }
        self.sync().await
    }

    /// Read and decode one record.
    pub(in crate::store) fn get<T: DeserializeOwned>(
        &self,
        tree: Tree,
        key: &[u8],
    ) -> Result<Option<T>> {
        match self.read(tree, key)? {
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
        match self.read(tree, key)? {
            None => Ok(None),
            Some(bytes) => {
                let record = codec::decode(tree.name(), &bytes)?;
                Ok(Some((record, crate::store::Version(bytes.to_vec()))))
            }
        }
    }

    /// Read raw bytes.
    pub(in crate::store) fn get_raw(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.read(tree, key)?.map(|v| v.to_vec()))
    }

    /// Whether a key exists.
    pub(in crate::store) fn contains(&self, tree: Tree, key: &[u8]) -> Result<bool> {
        Ok(self.read(tree, key)?.is_some())
    }

    /// Every record under a key prefix, in key order.
    pub(in crate::store) fn scan<T: DeserializeOwned>(
        &self,
        tree: Tree,
        prefix: &[u8],
    ) -> Result<Vec<T>> {
        self.scan_prefix(tree, prefix)
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
        let (from, to) = prefix_range(prefix);
        match self.range(tree, from, to, true, Some(1), true).next() {
            Some(kv) => Ok(Some(kv?.0.to_vec())),
            None => Ok(None),
        }
    }

    /// Keys under a prefix, in order, at most `limit`.
    pub(in crate::store) fn scan_keys(
        &self,
        tree: Tree,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let (from, to) = prefix_range(prefix);
        self.range(tree, from, to, false, Some(limit), true)
            .map(|kv| Ok(kv?.0.to_vec()))
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
        self.range(
            tree,
            Bound::Included(start.to_vec()),
            Bound::Excluded(end.to_vec()),
            false,
            Some(limit),
            true,
        )
        .map(|kv| Ok(kv?.0.to_vec()))
        .collect()
    }

    /// The first key of a tree.
    pub(in crate::store) fn first_key(&self, tree: Tree) -> Result<Option<Vec<u8>>> {
        match self
            .range(
                tree,
                Bound::Unbounded,
                Bound::Unbounded,
                false,
                Some(1),
                true,
            )
            .next()
        {
            Some(kv) => Ok(Some(kv?.0.to_vec())),
            None => Ok(None),
        }
    }

    /// Key/value pairs under a prefix (raw values), in key order.
    pub(in crate::store) fn scan_raw(
        &self,
        tree: Tree,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.scan_prefix(tree, prefix)
            .map(|kv| {
                let (k, v) = kv?;
                Ok((k.to_vec(), v.to_vec()))
            })
            .collect()
    }

    /// Number of records in a tree: kept in memory for the counted trees (see `counts`),
    /// else a walk of the tree (tests, rare admin reads).
    pub(in crate::store) fn count(&self, tree: Tree) -> Result<usize> {
        match &self.backend {
            Backend::Sled(inner) if counts::is_counted(tree) => Ok(inner.counts.get(tree, None)),
            Backend::Sled(_) => Ok(self.scan_prefix(tree, b"").count()),
            Backend::Postgres(pg) => pg.count(tree, b""),
        }
    }

    /// Records of an index tree whose keys start with the string component `first`.
    pub(in crate::store) fn count_component(&self, tree: Tree, first: &str) -> Result<usize> {
        match &self.backend {
            Backend::Sled(inner) => Ok(inner.counts.get(tree, Some(first))),
            Backend::Postgres(pg) => {
                let mut prefix = first.as_bytes().to_vec();
                prefix.push(0);
                pg.count(tree, &prefix)
            }
        }
    }

    /// Bytes used on disk (sled, the LSM tables and the write-ahead log).
    pub fn size_on_disk(&self) -> Result<u64> {
        match &self.backend {
            Backend::Sled(inner) => {
                Ok(inner.db.size_on_disk()? + inner.tables.disk_space() + inner.wal.size_on_disk())
            }
            Backend::Postgres(pg) => pg.size_on_disk(),
        }
    }

    /// The current value of a key.
    fn read(&self, tree: Tree, key: &[u8]) -> Result<Option<sled::IVec>> {
        match &self.backend {
            Backend::Sled(inner) => inner.read(tree, key),
            Backend::Postgres(pg) => Ok(pg.read(tree, key)?.map(sled::IVec::from)),
        }
    }

    /// Every key/value pair under `prefix`, in key order.
    fn scan_prefix(&self, tree: Tree, prefix: &[u8]) -> Scan<'_> {
        let (from, to) = prefix_range(prefix);
        self.range(tree, from, to, false, None, false)
    }

    /// The pairs of `tree` between two bounds, in key order (or reversed), at most `limit`
    /// (sled: memory merged over sled; PostgreSQL: one query, with the limit in it). With
    /// `keys_only` a backend may leave the values empty.
    fn range(
        &self,
        tree: Tree,
        from: Bound<Vec<u8>>,
        to: Bound<Vec<u8>>,
        reverse: bool,
        limit: Option<usize>,
        keys_only: bool,
    ) -> Scan<'_> {
        match &self.backend {
            Backend::Sled(inner) => {
                let merged = memtable::Merged::new(
                    &inner.memory,
                    &inner.trees[tree as usize],
                    tree,
                    from,
                    to,
                    reverse,
                );
                Scan::Sled(Box::new(merged.take(limit.unwrap_or(usize::MAX))))
            }
            Backend::Postgres(pg) => match pg.scan(tree, from, to, reverse, limit, keys_only) {
                Ok(rows) => Scan::Rows(rows.into_iter()),
                Err(e) => Scan::Failed(Some(e)),
            },
        }
    }

    /// Close the store as a crash would: sled and the log as they are, no final checkpoint.
    #[cfg(test)]
    pub(in crate::store) fn close_as_crash(self) {
        self.sled()
            .checkpoint_on_close
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// Write everything committed so far into sled now (tests; the checkpoint thread does it
    /// on its own).
    #[cfg(test)]
    pub(in crate::store) fn checkpoint_now(&self) -> Result<()> {
        self.sled().checkpoint(true)?;
        Ok(())
    }

    /// A new unique, increasing number (outbox sequence).
    pub(in crate::store) fn generate_id(&self) -> Result<u64> {
        match &self.backend {
            Backend::Sled(inner) => Ok(inner.db.generate_id()?),
            Backend::Postgres(pg) => pg.next_id(),
        }
    }
}

impl StoreInner {
    /// Apply several guarded write sets in order, each only if all of its own guards hold
    /// (seeing the sets applied before it): a set whose guard fails is skipped, the others
    /// still apply. Returns which sets applied. The applied sets go to the log as one record
    /// first and then, all at once, into the memtable; if the log cannot take them (disk
    /// full), nothing is applied.
    /// With `awaits_sync`, as if every set [`WriteSet::awaits_sync`].
    fn commit_sets(&self, sets: &[&WriteSet], awaits_sync: bool) -> Result<Vec<bool>> {
        let record = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        self.commit_sets_as_writer(record, sets, awaits_sync)
    }

    /// Commit one set on the caller's thread if no one else is writing now (`None`: the
    /// writer is busy, and waiting for it would block an async thread for a whole batch).
    fn try_commit_alone(&self, writes: &WriteSet) -> Option<Result<bool>> {
        let record = match self.writer.try_lock() {
            Ok(record) => record,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        let applied = self.commit_sets_as_writer(record, &[writes], false);
        Some(applied.map(|applied| applied.first().copied().unwrap_or(false)))
    }

    fn commit_sets_as_writer(
        &self,
        mut record: std::sync::MutexGuard<'_, wal::RecordBuffer>,
        sets: &[&WriteSet],
        awaits_sync: bool,
    ) -> Result<Vec<bool>> {
        // The values the sets before this one in the batch wrote (their guards see them).
        let mut written: foldhash::HashMap<(Tree, &[u8]), Option<&[u8]>> =
            foldhash::HashMap::default();
        let mut applied = Vec::with_capacity(sets.len());
        // The kept counts' changes, worked out before the log record is written: they go
        // into it, so an open after a crash adds them to a snapshot instead of counting.
        let mut deltas = Vec::new();
        // What sled said of keys memory had no entry for (read for the counts): the memtable
        // takes it instead of asking sled again when such a key is removed. Valid while this
        // writer holds the lock: sled changes only by a checkpoint, which writes only keys
        // memory has entries for.
        let mut in_sled: foldhash::HashMap<(Tree, &[u8]), bool> = foldhash::HashMap::default();
        record.begin();
        for set in sets {
            let mut holds = true;
            for op in &set.ops {
                if let Op::Guard(t, k, current) = op {
                    let matches = match written.get(&(*t, k.as_slice())) {
                        Some(value) => same_value(*value, current.as_deref()),
                        None => same_value(self.read(*t, k)?.as_deref(), current.as_deref()),
                    };
                    if !matches {
                        holds = false;
                        break;
                    }
                }
            }
            if holds {
                for op in &set.ops {
                    let (tree, key, value) = match op {
                        Op::Put(t, k, v) => (*t, k.as_slice(), Some(v.as_slice())),
                        Op::Delete(t, k) => (*t, k.as_slice(), None),
                        Op::Guard(..) => continue,
                    };
                    let counted = counts::is_counted(tree);
                    if counted {
                        let existed = match written.get(&(tree, key)) {
                            Some(before) => before.is_some(),
                            None => {
                                let (exists, held) = self.exists(tree, key)?;
                                if let Some(held) = held {
                                    in_sled.insert((tree, key), held);
                                }
                                exists
                            }
                        };
                        match (existed, value.is_some()) {
                            (false, true) => deltas.push((tree, key.to_vec(), 1)),
                            (true, false) => deltas.push((tree, key.to_vec(), -1)),
                            _ => {}
                        }
                    }
                    if counted || sets.len() > 1 {
                        written.insert((tree, key), value);
                    }
                }
                record.add(set);
            }
            applied.push(holds);
        }
        if record.is_empty() {
            return Ok(applied);
        }
        record.add_deltas(&deltas);
        // Held in memory only when every applied set's committer syncs before telling anyone.
        let held = self.durability == Durability::Fsync
            && (awaits_sync
                || sets
                    .iter()
                    .zip(&applied)
                    .all(|(set, applied)| !applied || set.awaits_sync));
        self.wal.append(&mut record, held)?;
        let changes: Vec<memtable::Change<'_>> = sets
            .iter()
            .zip(&applied)
            .filter(|(_, applied)| **applied)
            .flat_map(|(set, _)| set.ops.iter())
            .filter_map(|op| {
                let (t, k, v) = match op {
                    Op::Put(t, k, v) => (*t, k.as_slice(), Some(v.as_slice())),
                    Op::Delete(t, k) => (*t, k.as_slice(), None),
                    Op::Guard(..) => return None,
                };
                Some((t, k, v, in_sled.get(&(t, k)).copied()))
            })
            .collect();
        // A failed read counts as present: a removal then stays as a tombstone.
        self.memory.apply(&changes, &|tree, key| {
            self.trees[tree as usize].contains_key(key).unwrap_or(true)
        });
        let (mut definitions, mut modules) = (false, false);
        for (tree, ..) in &changes {
            definitions |= matches!(tree, Tree::Definitions | Tree::DefinitionsByKey);
            modules |= module_cache::ModuleCache::covers(*tree);
        }
        if definitions {
            self.definitions.invalidate();
        }
        if modules {
            self.modules.invalidate();
        }
        // Still under the writer lock: a log rotation snapshots counts and log together.
        self.counts.apply(&deltas);
        drop(record);
        if self.memory.active_bytes() >= checkpoint::CHECKPOINT_BYTES {
            self.checkpointer.request();
        }
        Ok(applied)
    }

    /// The current value of a key: memory first, then sled.
    fn read(&self, tree: Tree, key: &[u8]) -> Result<Option<sled::IVec>> {
        match self.memory.get(tree, key) {
            memtable::Lookup::Value(v) => Ok(Some(v)),
            memtable::Lookup::Removed => Ok(None),
            memtable::Lookup::Below => self.trees[tree as usize].get(key),
        }
    }

    /// Whether `key` exists now, and, when memory had no entry for it, whether sled holds it
    /// (what the memtable would otherwise ask sled again when the key is removed).
    fn exists(&self, tree: Tree, key: &[u8]) -> Result<(bool, Option<bool>)> {
        match self.memory.get(tree, key) {
            memtable::Lookup::Value(_) => Ok((true, None)),
            memtable::Lookup::Removed => Ok((false, None)),
            memtable::Lookup::Below => {
                let held = self.trees[tree as usize].contains_key(key)?;
                Ok((held, Some(held)))
            }
        }
    }
}

/// Whether a guard's expected value (`None`: absent) is what the key holds: the same record,
/// compressed or not ([`codec::same_record`]).
pub(super) fn same_value(held: Option<&[u8]>, expected: Option<&[u8]>) -> bool {
    match (held, expected) {
        (Some(held), Some(expected)) => codec::same_record(held, expected),
        (None, None) => true,
        _ => false,
    }
}

/// Write the changes of the segments the last run left into sled and the LSM tables and
/// flush both, so the store starts with an empty memtable (the segments are discarded once
/// the next one exists).
fn replay(
    db: &sled::Db,
    tables: &lsm::LsmTables,
    trees: &[durable::Durable],
    recovered: &mut wal::Recovered,
) -> Result<()> {
    let changes = std::mem::take(&mut recovered.changes);
    let keys: usize = changes.values().map(|m| m.len()).sum();
    for (tree, entries) in changes {
        for (key, value) in entries {
            let value = value.map(|v| sled::IVec::from(tree.settled(&v).unwrap_or(v)));
            trees[tree as usize].write(&key, value.as_ref())?;
        }
    }
    if !recovered.segments.is_empty() {
        db.flush()?;
        tables.flush()?;
        tracing::info!(
            "replayed {} write-ahead log segment(s), {keys} changed keys",
            recovered.segments.len()
        );
    }
    Ok(())
}

/// The refusal of a store whose format this release does not know.
fn unsupported_format(format: &[u8]) -> StoreError {
    StoreError::Codec {
        tree: "meta",
        message: format!(
            "store format {format:?} is not supported by this release (expects {FORMAT_VERSION})"
        ),
    }
}

/// Records moved out of sled between two flushes of the LSM tables (what an upgrade holds in
/// memory at most).
const MOVE_FLUSH_BYTES: usize = 32 * 1024 * 1024;

/// Move the trees that live in the LSM tables ([`Tree::in_lsm_tables`]) out of sled where an
/// older store keeps them (history before format 4, the query indexes before format 8): copy
/// each tree, flush the tables, then drop the sled tree. A crash half-way copies again on the
/// next open (the same keys and values); this runs before the log is replayed, so the log's
/// newer changes land over the copies.
fn move_into_lsm_tables(db: &sled::Db, tables: &Arc<lsm::LsmTables>) -> Result<()> {
    let names = db.tree_names();
    for tree in Tree::ALL.iter().filter(|t| t.in_lsm_tables()) {
        if !names.iter().any(|n| n.as_ref() == tree.name().as_bytes()) {
            continue;
        }
        let Some(partition) = tables.partition(*tree) else {
            continue;
        };
        let old = db.open_tree(tree.name())?;
        let mut moved = 0usize;
        let mut unflushed = 0usize;
        for pair in old.iter() {
            let (key, value) = pair?;
            partition.write(&key, Some(&value));
            moved += 1;
            unflushed += key.len() + value.len();
            if unflushed >= MOVE_FLUSH_BYTES {
                tables.flush()?;
                unflushed = 0;
            }
        }
        tables.flush()?;
        drop(old);
        db.drop_tree(tree.name())?;
        db.flush()?;
        if moved > 0 {
            tracing::info!(
                "moved {moved} records of {} from sled into the LSM tables",
                tree.name()
            );
        }
    }
    Ok(())
}

/// The key range of a prefix: from the prefix itself to the first key past all its
/// extensions (none when the prefix is empty or all `0xff`).
fn prefix_range(prefix: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return (Bound::Included(prefix.to_vec()), Bound::Excluded(end));
        }
    }
    (Bound::Included(prefix.to_vec()), Bound::Unbounded)
}
