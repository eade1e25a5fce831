//! The PostgreSQL engine of the key-value layer (`baton serve --database postgres://...`): the
//! same trees, keys and records as sled, kept in one table, so every aggregate of this module
//! runs unchanged on either.
//!
//! Layout (`postgres/0001_kv.sql`, applied at open): `kv(tree, key, value)` with the primary
//! key `(tree, key)`. `bytea` compares like `memcmp`, so sled's ordered prefix and range scans
//! are range scans of that key. A tree is a small id assigned once per database
//! (`kv_trees`), not the enum's position, so adding a tree never renumbers the others.
//!
//! Commits: a batch of write sets is one transaction. A guard ([`WriteSet::guard`]) takes a
//! transaction-scoped advisory lock on its key (sorted, so two commits never wait on each
//! other in a cycle) and then reads the row `for update`: another guarded commit of the same
//! key waits for ours, sees what we wrote and fails its guard, which is the `Conflict` the
//! engine already retries or answers. The writes are one `insert ... on conflict do update`
//! and one `delete`, both over arrays. An acknowledgement waits for the commit: PostgreSQL's
//! own log is the durable copy, and baton keeps no log or memtable here. Relaxed durability is
//! `synchronous_commit = off`.
//!
//! Threads: the store's API is synchronous (sled answers from memory). This engine runs a
//! small tokio runtime of its own with the connection pool; a synchronous call hands its query
//! to it and waits on a channel, which works from any thread, inside the engine's runtime or
//! not (a runtime cannot block on itself). The cost is a thread hop beside a network round
//! trip.
//!
//! Connections: a pool ([`deadpool_postgres`]) that drops a broken connection and opens a new
//! one on the next request, so the store reconnects by itself once the database is back; until
//! then requests fail with [`StoreError::Unavailable`] (503) and nothing is half-written.
//!
//! PostgreSQL features relied on (all in 10+): `bytea` ordering, `insert ... on conflict`,
//! `unnest` over arrays, `select ... for update`, `pg_advisory_xact_lock`, sequences and
//! identity columns. A PostgreSQL-compatible database without advisory locks (CockroachDB,
//! YugabyteDB before 2.18) would need the guards as `serializable` transactions instead.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use super::{Durability, Op, Result, StoreError, Tree, WriteSet};

/// The schema migrations, in order: (version, SQL). Applied at open under a lock, each in its
/// own transaction, so several nodes starting at once apply each exactly once.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("postgres/0001_kv.sql")),
    (2, include_str!("postgres/0002_positional_records.sql")),
    (3, include_str!("postgres/0003_compressed_records.sql")),
];

/// Connections per store: enough for the committer's batches in flight and the readers of a
/// 2-core node; several nodes multiply it (PostgreSQL's default `max_connections` is 100).
const POOL_SIZE: usize = 16;

/// Write-set batches committed at once (each on its own connection).
const COMMITS_IN_FLIGHT: usize = 4;

/// At most this many write sets go into one transaction.
const MAX_BATCH: usize = 256;

/// How often a transaction that lost a deadlock or serialization race is tried again.
const MAX_ATTEMPTS: usize = 5;

/// How long a request waits for a connection (a database that is down answers 503 after it).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The advisory lock that serialises migrations across nodes ("baton" in ASCII).
const MIGRATION_LOCK: i64 = 0x6261_746f_6e00;

/// Connections for instance locks held across nodes (one per command in progress on this
/// node; kept apart from the data connections, which the same commands need meanwhile).
const LOCK_POOL_SIZE: usize = 64;

/// The channel other nodes are told of changes on (`listen`/`notify`); the payload is the
/// schema and what changed, so stores in other schemas of the database ignore it.
const CHANNEL: &str = "baton_changes";

/// The channel nodes publish their live events on (the cockpit and SSE streams of every node
/// show every node's events); the payload is the schema and the publisher's batch.
const EVENTS_CHANNEL: &str = "baton_events";

/// PostgreSQL refuses a `notify` payload of 8000 bytes or more; the schema prefix takes the
/// rest of the margin.
pub const MAX_EVENT_PAYLOAD: usize = 7_800;

/// What a commit on some node changed that another node may be waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteChange {
    /// An external task may have become available (created, unlocked, retried).
    Tasks,
    /// A job or timer was scheduled.
    Jobs,
    /// The notification connection was (re)established: anything may have changed.
    Anything,
}

impl RemoteChange {
    fn tag(self) -> &'static str {
        match self {
            RemoteChange::Tasks => "tasks",
            RemoteChange::Jobs => "jobs",
            RemoteChange::Anything => "any",
        }
    }
}

/// An instance lock held across every node on this database: a session advisory lock on a
/// connection of the lock pool. Dropping it unlocks (on the store's runtime) and returns the
/// connection; a node that dies loses its connections, and PostgreSQL releases their locks.
pub struct ClusterLock {
    connection: Option<deadpool_postgres::Object>,
    key: i64,
    handle: tokio::runtime::Handle,
}

impl ClusterLock {
    /// Whether the lock is still held: false once its connection broke (the database
    /// restarted, the network dropped it), after which another node may have taken it.
    pub fn is_held(&self) -> bool {
        self.connection.as_ref().is_some_and(|c| !c.is_closed())
    }
}

impl Drop for ClusterLock {
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else {
            return;
        };
        let key = self.key;
        self.handle.spawn(async move {
            if connection
                .execute("select pg_advisory_unlock($1)", &[&key])
                .await
                .is_err()
            {
                // Not back into the pool still holding the lock: closing the connection
                // releases it.
                drop(deadpool_postgres::Object::take(connection));
            }
        });
    }
}

/// The PostgreSQL engine.
pub(super) struct Postgres {
    _runtime: OwnedRuntime,
    handle: tokio::runtime::Handle,
    pool: Pool,
    locks: Pool,
    trees: Arc<TreeIds>,
    changes: tokio::sync::broadcast::Sender<RemoteChange>,
    /// Event batches published by the nodes of this database (this one's included).
    events: tokio::sync::broadcast::Sender<String>,
    commits: tokio::sync::mpsc::UnboundedSender<(WriteSet, Reply)>,
    /// Where the store lives, for messages (no password).
    target: String,
}

/// The database's id of each tree, by [`Tree`] position.
struct TreeIds(Vec<i16>);

impl TreeIds {
    fn of(&self, tree: Tree) -> i16 {
        self.0[tree as usize]
    }
}

type Reply = tokio::sync::oneshot::Sender<Result<bool>>;

/// A row of a scan: key and (unless only keys were asked for) value.
pub(super) type Row = (Vec<u8>, Vec<u8>);

/// The store's runtime, shut down in the background when dropped: dropping a runtime the
/// usual way blocks, which tokio forbids inside another runtime's task (where a store is
/// opened and closed, and where a failed open returns).
struct OwnedRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

fn backend(e: tokio_postgres::Error) -> StoreError {
    if e.is_closed() || e.code().is_none() {
        return StoreError::Unavailable(format!("database: {e}"));
    }
    match e.as_db_error() {
        Some(db) => StoreError::Backend(format!("database: {}", db.message())),
        None => StoreError::Backend(format!("database: {e}")),
    }
}

fn unavailable(e: deadpool_postgres::PoolError) -> StoreError {
    // The pool's message hides the cause ("error connecting to server"): add the chain
    // ("Connection refused", "password authentication failed", ...).
    let mut message = format!("database unavailable: {e}");
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        message.push_str(&format!(": {c}"));
        cause = c.source();
    }
    StoreError::Unavailable(message)
}

/// Whether a failed transaction lost a race PostgreSQL resolved by aborting it (try again).
fn retryable(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    )
}

/// A schema name baton may put into `search_path` unquoted.
fn valid_schema(schema: &str) -> bool {
    !schema.is_empty()
        && schema.len() <= 63
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !schema.as_bytes()[0].is_ascii_digit()
}

/// FNV-1a over tree id and key: the advisory lock of a guarded key. Stable across builds and
/// nodes (std's hasher promises neither); a collision only makes two commits wait in turn.
fn lock_id(tree: i16, key: &[u8]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in tree.to_be_bytes().iter().chain(key) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

impl Postgres {
    /// Connect to `url` (a `postgres://` URL or a libpq key/value string), in `schema` when
    /// given (created if missing), and apply the migrations. Fails at once with a clear error
    /// when the database cannot be reached.
    pub(super) fn open(
        url: &str,
        schema: Option<&str>,
        durability: Durability,
    ) -> Result<Postgres> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("the database URL is not valid: {e}")))?;
        if let Some(schema) = schema
            && !valid_schema(schema)
        {
            return Err(StoreError::Backend(format!(
                "the database schema {schema:?} is not valid (lower-case letters, digits and _, at most 63)"
            )));
        }
        let mut options = config.get_options().unwrap_or_default().to_string();
        if let Some(schema) = schema {
            options.push_str(&format!(" -c search_path={schema}"));
        }
        if durability == Durability::Relaxed {
            options.push_str(" -c synchronous_commit=off");
        }
        config.options(options.trim());
        if config.get_application_name().is_none() {
            config.application_name("baton");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let target = format!(
            "{}/{}",
            config
                .get_hosts()
                .iter()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(h) => h.clone(),
                    tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            config.get_dbname().unwrap_or("")
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("baton-postgres")
            .enable_all()
            .build()
            .map(|r| OwnedRuntime(Some(r)))
            .map_err(|e| StoreError::Backend(format!("cannot start the database runtime: {e}")))?;
        let locks = pool(config.clone(), LOCK_POOL_SIZE)?;
        let listen_config = config.clone();
        let pool = pool(config, POOL_SIZE)?;
        let handle = match &runtime.0 {
            Some(r) => r.handle().clone(),
            None => return Err(StoreError::Closed),
        };
        let setup_pool = pool.clone();
        let schema = schema.map(str::to_string);
        let trees = block_on(&handle, async move {
            migrate(&setup_pool, schema.as_deref()).await
        })
        .map_err(|e| match e {
            StoreError::Unavailable(m) => {
                StoreError::Unavailable(format!("cannot connect to the database at {target}: {m}"))
            }
            other => other,
        })?;
        let trees = Arc::new(trees);
        let (commits, requests) = tokio::sync::mpsc::unbounded_channel();
        handle.spawn(committer(pool.clone(), trees.clone(), requests));
        let (changes, _) = tokio::sync::broadcast::channel(64);
        let (events, _) = tokio::sync::broadcast::channel(1024);
        handle.spawn(listen(listen_config, changes.clone(), events.clone()));
        Ok(Postgres {
            _runtime: runtime,
            handle,
            pool,
            locks,
            trees,
            changes,
            events,
            commits,
            target,
        })
    }

    /// Take the cross-node lock of instance `id` (waits while another node holds it).
    pub(super) async fn lock_instance(&self, id: &str) -> Result<ClusterLock> {
        let lock = self.lock(lock_id(-1, id.as_bytes()), true).await?;
        lock.ok_or(StoreError::Closed)
    }

    /// Take the cross-node lock of a duty only one node may do at a time (the batch runner,
    /// notification delivery, history cleanup): waiting while another node holds it, or
    /// (`wait` false) `None` at once.
    pub(super) async fn lock_duty(&self, duty: &str, wait: bool) -> Result<Option<ClusterLock>> {
        // Tree -2: apart from the instance locks (-1) and the guarded keys (tree ids >= 1).
        self.lock(lock_id(-2, duty.as_bytes()), wait).await
    }

    async fn lock(&self, key: i64, wait: bool) -> Result<Option<ClusterLock>> {
        let locks = self.locks.clone();
        let connection = self
            .handle
            .spawn(async move {
                let connection = locks.get().await.map_err(unavailable)?;
                if wait {
                    connection
                        .execute("select pg_advisory_lock($1)", &[&key])
                        .await
                        .map_err(backend)?;
                    return Ok::<_, StoreError>(Some(connection));
                }
                let taken: bool = connection
                    .query_one("select pg_try_advisory_lock($1)", &[&key])
                    .await
                    .map_err(backend)?
                    .get(0);
                Ok(taken.then_some(connection))
            })
            .await
            .map_err(|_| StoreError::Closed)??;
        Ok(connection.map(|connection| ClusterLock {
            connection: Some(connection),
            key,
            handle: self.handle.clone(),
        }))
    }

    /// Changes other nodes (and this one) committed that waiters may care about.
    pub(super) fn remote_changes(&self) -> tokio::sync::broadcast::Receiver<RemoteChange> {
        self.changes.subscribe()
    }

    /// Event batches the nodes of this database publish ([`Postgres::publish_events`]).
    pub(super) fn remote_events(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.events.subscribe()
    }

    /// Tell every node of this database (this one too) of a batch of live events, at most
    /// [`MAX_EVENT_PAYLOAD`] bytes. Best effort, like the live view it feeds: a batch that
    /// cannot be sent is logged and dropped.
    pub(super) async fn publish_events(&self, batch: String) {
        let pool = self.pool.clone();
        let sent = self
            .handle
            .spawn(async move {
                let client = pool.get().await.map_err(unavailable)?;
                client
                    .execute(
                        "select pg_notify($1, current_schema() || ':' || $2)",
                        &[&EVENTS_CHANNEL, &batch],
                    )
                    .await
                    .map_err(backend)
            })
            .await;
        match sent {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::debug!("live events not published: {e}"),
            Err(_) => {}
        }
    }

    /// Where the store lives (host and database), for messages.
    pub(super) fn target(&self) -> &str {
        &self.target
    }

    /// Run `work` on the store's runtime and wait for it on this thread.
    fn run<T, F>(&self, work: impl FnOnce(Pool, Arc<TreeIds>) -> F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        block_on(&self.handle, work(self.pool.clone(), self.trees.clone()))
    }

    /// The value of one key.
    pub(super) fn read(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let key = key.to_vec();
        self.run(move |pool, trees| async move {
            let client = pool.get().await.map_err(unavailable)?;
            let statement = client
                .prepare_cached("select value from kv where tree = $1 and key = $2")
                .await
                .map_err(backend)?;
            let row = client
                .query_opt(&statement, &[&trees.of(tree), &key])
                .await
                .map_err(backend)?;
            Ok(row.map(|r| r.get::<_, Vec<u8>>(0)))
        })
    }

    /// The rows of `tree` between `from` and `to`, in key order (or reversed), at most
    /// `limit`; values are empty when `keys_only`.
    pub(super) fn scan(
        &self,
        tree: Tree,
        from: Bound<Vec<u8>>,
        to: Bound<Vec<u8>>,
        reverse: bool,
        limit: Option<usize>,
        keys_only: bool,
    ) -> Result<Vec<Row>> {
        self.run(move |pool, trees| async move {
            let mut sql = String::from(if keys_only {
                "select key from kv where tree = $1"
            } else {
                "select key, value from kv where tree = $1"
            });
            let tree_id = trees.of(tree);
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&tree_id];
            for (bound, inclusive, exclusive) in [(&from, ">=", ">"), (&to, "<=", "<")] {
                let (key, op) = match bound {
                    Bound::Included(k) => (k, inclusive),
                    Bound::Excluded(k) => (k, exclusive),
                    Bound::Unbounded => continue,
                };
                params.push(key);
                sql.push_str(&format!(" and key {op} ${}", params.len()));
            }
            sql.push_str(if reverse {
                " order by key desc"
            } else {
                " order by key"
            });
            let limit = limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
            if let Some(limit) = &limit {
                params.push(limit);
                sql.push_str(&format!(" limit ${}", params.len()));
            }
            let client = pool.get().await.map_err(unavailable)?;
            let statement = client.prepare_cached(&sql).await.map_err(backend)?;
            let rows = client.query(&statement, &params).await.map_err(backend)?;
            Ok(rows
                .into_iter()
                .map(|r| {
                    let key: Vec<u8> = r.get(0);
                    let value: Vec<u8> = if keys_only { Vec::new() } else { r.get(1) };
                    (key, value)
                })
                .collect())
        })
    }

    /// The number of rows of `tree` whose keys start with `prefix`.
    pub(super) fn count(&self, tree: Tree, prefix: &[u8]) -> Result<usize> {
        let (from, to) = super::prefix_range(prefix);
        self.run(move |pool, trees| async move {
            let client = pool.get().await.map_err(unavailable)?;
            let tree_id = trees.of(tree);
            let from = match from {
                Bound::Included(k) => k,
                _ => Vec::new(),
            };
            let row = match to {
                Bound::Excluded(to) => {
                    let statement = client
                        .prepare_cached(
                            "select count(*) from kv where tree = $1 and key >= $2 and key < $3",
                        )
                        .await
                        .map_err(backend)?;
                    client
                        .query_one(&statement, &[&tree_id, &from, &to])
                        .await
                        .map_err(backend)?
                }
                _ => {
                    let statement = client
                        .prepare_cached("select count(*) from kv where tree = $1 and key >= $2")
                        .await
                        .map_err(backend)?;
                    client
                        .query_one(&statement, &[&tree_id, &from])
                        .await
                        .map_err(backend)?
                }
            };
            Ok(usize::try_from(row.get::<_, i64>(0)).unwrap_or(0))
        })
    }

    /// A new number from the shared sequence.
    pub(super) fn next_id(&self) -> Result<u64> {
        self.run(|pool, _| async move {
            let client = pool.get().await.map_err(unavailable)?;
            let row = client
                .query_one("select nextval('kv_ids')", &[])
                .await
                .map_err(backend)?;
            Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
        })
    }

    /// Move the shared sequence past `n` (after copying records numbered up to it).
    pub(super) fn ensure_ids_above(&self, n: u64) -> Result<()> {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        self.run(move |pool, _| async move {
            let client = pool.get().await.map_err(unavailable)?;
            client
                .execute(
                    "select setval('kv_ids', greatest($1, (select last_value from kv_ids)))",
                    &[&n],
                )
                .await
                .map_err(backend)?;
            Ok(())
        })
    }

    /// Bytes the table and its index use.
    pub(super) fn size_on_disk(&self) -> Result<u64> {
        self.run(|pool, _| async move {
            let client = pool.get().await.map_err(unavailable)?;
            let row = client
                .query_one("select pg_total_relation_size('kv')", &[])
                .await
                .map_err(backend)?;
            Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
        })
    }

    /// Apply several write sets in one transaction, each only if its own guards hold (seeing
    /// the sets before it); returns which applied. Waits on this thread.
    pub(super) fn commit_sets(&self, sets: &[&WriteSet]) -> Result<Vec<bool>> {
        let sets: Vec<WriteSet> = sets.iter().map(|s| (*s).clone()).collect();
        self.run(move |pool, trees| async move { commit_with_retries(&pool, &trees, &sets).await })
    }

    /// Commit `writes` with those of concurrent commands in one transaction (the committer
    /// task); `Ok(false)` when its guards failed.
    pub(super) async fn commit_batched(&self, writes: WriteSet) -> Result<bool> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.commits
            .send((writes, tx))
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
}

/// A connection pool of `size` on `config`; a request waits at most [`CONNECT_TIMEOUT`] for
/// a connection (a database that is down answers 503 after it).
fn pool(config: tokio_postgres::Config, size: usize) -> Result<Pool> {
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .wait_timeout(Some(CONNECT_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|e| StoreError::Backend(format!("database pool: {e}")))
}

/// A transaction held open across several synchronous calls, for work that judges rows in
/// between (fetch-and-lock: lock queue rows with `skip locked`, let the engine's filters take
/// or leave each task, write the locks). Rolled back when dropped uncommitted.
pub(super) struct Transaction<'p> {
    postgres: &'p Postgres,
    connection: Option<deadpool_postgres::Object>,
}

/// A statement's future inside a [`Transaction`]: hands the connection back with the outcome.
type Step<T> = (
    deadpool_postgres::Object,
    std::result::Result<T, tokio_postgres::Error>,
);

/// Close a connection instead of returning it to the pool: it is inside a transaction (or
/// broken), which the next user of a pooled connection must never inherit. Closing it makes
/// PostgreSQL roll the transaction back and release its locks.
fn discard(connection: deadpool_postgres::Object) {
    drop(deadpool_postgres::Object::take(connection));
}

impl Postgres {
    /// Begin a [`Transaction`] on a connection of the pool.
    pub(super) fn begin(&self) -> Result<Transaction<'_>> {
        let connection = self.run(|pool, _| async move {
            let connection = pool.get().await.map_err(unavailable)?;
            match connection.batch_execute("begin").await {
                Ok(()) => Ok(connection),
                Err(e) => {
                    discard(connection);
                    Err(backend(e))
                }
            }
        })?;
        Ok(Transaction {
            postgres: self,
            connection: Some(connection),
        })
    }
}

impl Transaction<'_> {
    /// Run one step on the transaction's connection; a failed step ends the transaction
    /// (its connection is closed, which rolls it back).
    fn step<T, F>(
        &mut self,
        work: impl FnOnce(deadpool_postgres::Object, Arc<TreeIds>) -> F,
    ) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Step<T>> + Send + 'static,
    {
        let connection = self.connection.take().ok_or(StoreError::Closed)?;
        let future = work(connection, self.postgres.trees.clone());
        let (connection, outcome) = block_on(&self.postgres.handle, async move {
            let (connection, outcome) = future.await;
            match outcome {
                Ok(value) => Ok((connection, value)),
                Err(e) => {
                    discard(connection);
                    Err(backend(e))
                }
            }
        })?;
        self.connection = Some(connection);
        Ok(outcome)
    }

    /// Lock the first `limit` rows of `tree` with keys in `[from, to)` that no other
    /// transaction has locked (`for update skip locked`), in key order; keys only.
    pub(super) fn lock_range(
        &mut self,
        tree: Tree,
        from: Vec<u8>,
        to: Bound<Vec<u8>>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.step(move |connection, trees| async move {
            let tree = trees.of(tree);
            let rows = match &to {
                Bound::Excluded(to) => {
                    connection
                        .query(
                            "select key from kv where tree = $1 and key >= $2 and key < $3
                             order by key limit $4 for update skip locked",
                            &[&tree, &from, to, &limit],
                        )
                        .await
                }
                _ => {
                    connection
                        .query(
                            "select key from kv where tree = $1 and key >= $2
                             order by key limit $3 for update skip locked",
                            &[&tree, &from, &limit],
                        )
                        .await
                }
            };
            let keys = rows.map(|rows| rows.iter().map(|r| r.get::<_, Vec<u8>>(0)).collect());
            (connection, keys)
        })
    }

    /// Lock those of `keys` in `tree` that exist and no other transaction has locked, and
    /// return them with their values.
    pub(super) fn lock_keys(&mut self, tree: Tree, keys: Vec<Vec<u8>>) -> Result<Vec<Row>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.step(move |connection, trees| async move {
            let rows = connection
                .query(
                    "select key, value from kv where tree = $1 and key = any($2)
                     order by key for update skip locked",
                    &[&trees.of(tree), &keys],
                )
                .await;
            let rows = rows.map(|rows| {
                rows.iter()
                    .map(|r| (r.get::<_, Vec<u8>>(0), r.get::<_, Vec<u8>>(1)))
                    .collect()
            });
            (connection, rows)
        })
    }

    /// Write `writes` and commit. Its guards are not checked: the transaction holds the
    /// locks of the rows it judged, so they cannot have changed.
    pub(super) fn commit(mut self, writes: WriteSet) -> Result<()> {
        self.step(move |connection, trees| async move {
            let mut net = BTreeMap::new();
            add_writes(&mut net, &trees, &writes);
            let mut outcome = write_net(&**connection, &trees, &net).await;
            if outcome.is_ok() {
                outcome = connection.batch_execute("commit").await;
            }
            (connection, outcome)
        })
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else {
            return;
        };
        self.postgres.handle.spawn(async move {
            if connection.batch_execute("rollback").await.is_err() {
                discard(connection);
            }
        });
    }
}

/// The net effect of write sets, key by key (`None` deletes), in key order.
/// Values are as the table keeps them ([`Tree::settled`]).
type NetWrites<'a> = BTreeMap<(i16, &'a [u8]), Option<Cow<'a, [u8]>>>;

/// Add `set`'s puts and deletes to `net`, replacing earlier writes of the same keys (guards
/// write nothing).
fn add_writes<'a>(net: &mut NetWrites<'a>, trees: &TreeIds, set: &'a WriteSet) {
    for op in &set.ops {
        match op {
            Op::Put(tree, key, value) => {
                let value = match tree.settled(value) {
                    Some(settled) => Cow::Owned(settled),
                    None => Cow::Borrowed(value.as_slice()),
                };
                net.insert((trees.of(*tree), key.as_slice()), Some(value));
            }
            Op::Delete(tree, key) => {
                net.insert((trees.of(*tree), key.as_slice()), None);
            }
            Op::Guard(..) => {}
        }
    }
}

/// Write the net effect of committed write sets (`None` deletes) and tell other nodes what
/// they may be waiting for; sent with (and only if) the transaction commits.
async fn write_net<C: tokio_postgres::GenericClient>(
    client: &C,
    trees: &TreeIds,
    net: &NetWrites<'_>,
) -> std::result::Result<(), tokio_postgres::Error> {
    let (mut put_trees, mut put_keys, mut put_values) = (Vec::new(), Vec::new(), Vec::new());
    let (mut del_trees, mut del_keys) = (Vec::new(), Vec::new());
    for ((tree, key), value) in net {
        match value {
            Some(value) => {
                put_trees.push(*tree);
                put_keys.push(*key);
                put_values.push(value.as_ref());
            }
            None => {
                del_trees.push(*tree);
                del_keys.push(*key);
            }
        }
    }
    if !put_keys.is_empty() {
        client
            .execute(
                "insert into kv (tree, key, value)
                 select * from unnest($1::int2[], $2::bytea[], $3::bytea[])
                 on conflict (tree, key) do update set value = excluded.value",
                &[&put_trees, &put_keys, &put_values],
            )
            .await?;
    }
    if !del_keys.is_empty() {
        client
            .execute(
                "delete from kv k using unnest($1::int2[], $2::bytea[]) as d(tree, key)
                 where k.tree = d.tree and k.key = d.key",
                &[&del_trees, &del_keys],
            )
            .await?;
    }
    let mut told = Vec::new();
    for ((tree, _), value) in net {
        if value.is_none() {
            continue;
        }
        let change = if *tree == trees.of(Tree::ExternalTaskQueue) {
            RemoteChange::Tasks
        } else if *tree == trees.of(Tree::JobsDue) {
            RemoteChange::Jobs
        } else {
            continue;
        };
        if !told.contains(&change) {
            told.push(change);
        }
    }
    for change in told {
        client
            .execute(
                "select pg_notify($1, current_schema() || ':' || $2)",
                &[&CHANNEL, &change.tag()],
            )
            .await?;
    }
    Ok(())
}

/// Run `work` on `handle`'s runtime and wait for its result on this thread (any thread but
/// one of that runtime's own workers).
fn block_on<T, F>(handle: &tokio::runtime::Handle, work: F) -> Result<T>
where
    T: Send + 'static,
    F: Future<Output = Result<T>> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = tx.send(work.await);
    });
    // On a worker of a multi-threaded runtime (the server's), say so before blocking: tokio
    // moves this worker's other tasks to another thread meanwhile, so a round trip to the
    // database does not stall every request queued behind it.
    let wait = || rx.recv();
    let reply = match tokio::runtime::Handle::try_current() {
        Ok(current) if current.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait)
        }
        _ => wait(),
    };
    reply.map_err(|_| StoreError::Closed)?
}

/// Create the schema if asked, apply the migrations this database lacks, and read the tree ids
/// (registering trees this release adds).
async fn migrate(pool: &Pool, schema: Option<&str>) -> Result<TreeIds> {
    let mut client = pool.get().await.map_err(unavailable)?;
    // A session lock (held across the migrations' own transactions), released below.
    client
        .execute("select pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(backend)?;
    let outcome = apply_migrations(&mut client, schema).await;
    let unlocked = client
        .execute("select pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(backend);
    let trees = outcome?;
    unlocked?;
    Ok(trees)
}

async fn apply_migrations(
    client: &mut deadpool_postgres::Client,
    schema: Option<&str>,
) -> Result<TreeIds> {
    if let Some(schema) = schema {
        // `valid_schema` admitted only [a-z0-9_]: safe to put in the statement.
        client
            .batch_execute(&format!("create schema if not exists {schema}"))
            .await
            .map_err(backend)?;
    }
    client
        .batch_execute(
            "create table if not exists baton_migrations (
                version integer primary key,
                applied_at timestamptz not null default now()
            )",
        )
        .await
        .map_err(backend)?;
    let applied: Vec<i32> = client
        .query("select version from baton_migrations", &[])
        .await
        .map_err(backend)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if let Some(newest) = applied.iter().max()
        && *newest > MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
    {
        return Err(StoreError::Codec {
            tree: "baton_migrations",
            message: format!(
                "the database has schema version {newest}, newer than this release knows; use a newer baton"
            ),
        });
    }
    for (version, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        let tx = client.transaction().await.map_err(backend)?;
        tx.batch_execute(sql).await.map_err(backend)?;
        tx.execute(
            "insert into baton_migrations (version) values ($1)",
            &[version],
        )
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        tracing::info!("database: applied migration {version}");
    }
    let names: Vec<&str> = Tree::ALL.iter().map(|t| t.name()).collect();
    client
        .execute(
            "insert into kv_trees (name) select unnest($1::text[]) on conflict (name) do nothing",
            &[&names],
        )
        .await
        .map_err(backend)?;
    let ids: HashMap<String, i16> = client
        .query("select name, id from kv_trees", &[])
        .await
        .map_err(backend)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut by_tree = Vec::with_capacity(Tree::ALL.len());
    for tree in Tree::ALL {
        match ids.get(tree.name()) {
            Some(id) => by_tree.push(*id),
            None => {
                return Err(StoreError::Backend(format!(
                    "database: tree {} has no id",
                    tree.name()
                )));
            }
        }
    }
    Ok(TreeIds(by_tree))
}

/// The committer: takes the write sets of concurrent commands, up to [`MAX_BATCH`] per
/// transaction and [`COMMITS_IN_FLIGHT`] transactions at once. While every slot is busy the
/// next batch grows, so one commit (and one flush of PostgreSQL's log) serves many commands.
async fn committer(
    pool: Pool,
    trees: Arc<TreeIds>,
    mut requests: tokio::sync::mpsc::UnboundedReceiver<(WriteSet, Reply)>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(COMMITS_IN_FLIGHT));
    while let Some(first) = requests.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        let trees = trees.clone();
        tokio::spawn(async move {
            let (sets, replies): (Vec<WriteSet>, Vec<Reply>) = batch.into_iter().unzip();
            match commit_with_retries(&pool, &trees, &sets).await {
                Ok(applied) => {
                    for (reply, applied) in replies.into_iter().zip(applied) {
                        let _ = reply.send(Ok(applied));
                    }
                }
                Err(e) => {
                    for reply in replies {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
            drop(slot);
        });
    }
}

async fn commit_with_retries(pool: &Pool, trees: &TreeIds, sets: &[WriteSet]) -> Result<Vec<bool>> {
    let mut client = pool.get().await.map_err(unavailable)?;
    let mut attempt = 1;
    loop {
        match try_commit(&mut client, trees, sets).await {
            Err(e) if retryable(&e) && attempt < MAX_ATTEMPTS => attempt += 1,
            outcome => return outcome.map_err(backend),
        }
    }
}

/// One attempt: lock and read the guarded keys, decide which sets apply (each seeing the
/// writes of those before it), write their net effect, commit.
async fn try_commit(
    client: &mut deadpool_postgres::Client,
    trees: &TreeIds,
    sets: &[WriteSet],
) -> std::result::Result<Vec<bool>, tokio_postgres::Error> {
    let mut guarded: BTreeMap<(i16, &[u8]), ()> = BTreeMap::new();
    for set in sets {
        for op in &set.ops {
            if let Op::Guard(tree, key, _) = op {
                guarded.insert((trees.of(*tree), key.as_slice()), ());
            }
        }
    }
    let tx = client.transaction().await?;
    let mut current: HashMap<(i16, Vec<u8>), Vec<u8>> = HashMap::new();
    if !guarded.is_empty() {
        let mut locks: Vec<i64> = guarded.keys().map(|(t, k)| lock_id(*t, k)).collect();
        locks.sort_unstable();
        locks.dedup();
        tx.query(
            "select pg_advisory_xact_lock(l) from unnest($1::int8[]) as l",
            &[&locks],
        )
        .await?;
        let guard_trees: Vec<i16> = guarded.keys().map(|(t, _)| *t).collect();
        let guard_keys: Vec<&[u8]> = guarded.keys().map(|(_, k)| *k).collect();
        // A statement after the locks: under read committed it sees every commit that held
        // them before us.
        for row in tx
            .query(
                "select k.tree, k.key, k.value from kv k
                 join unnest($1::int2[], $2::bytea[]) as g(tree, key)
                   on k.tree = g.tree and k.key = g.key
                 order by k.tree, k.key
                 for update of k",
                &[&guard_trees, &guard_keys],
            )
            .await?
        {
            current.insert((row.get(0), row.get(1)), row.get(2));
        }
    }
    // The net effect of the sets that apply, key by key, in key order (so two transactions
    // take row locks in the same order).
    let mut net: NetWrites<'_> = BTreeMap::new();
    let mut applied = Vec::with_capacity(sets.len());
    for set in sets {
        let holds = set.ops.iter().all(|op| match op {
            Op::Guard(tree, key, expected) => {
                let id = trees.of(*tree);
                let actual = match net.get(&(id, key.as_slice())) {
                    Some(written) => written.as_deref(),
                    None => current.get(&(id, key.clone())).map(Vec::as_slice),
                };
                super::same_value(actual, expected.as_deref())
            }
            _ => true,
        });
        if holds {
            add_writes(&mut net, trees, set);
        }
        applied.push(holds);
    }
    write_net(&*tx, trees, &net).await?;
    tx.commit().await?;
    Ok(applied)
}

/// Listen for the changes nodes commit and pass them on, reconnecting (after a pause) whenever
/// the connection drops; every (re)connection is announced as [`RemoteChange::Anything`],
/// since notifications sent meanwhile were lost. Ends with the store's runtime.
async fn listen(
    config: tokio_postgres::Config,
    changes: tokio::sync::broadcast::Sender<RemoteChange>,
    events: tokio::sync::broadcast::Sender<String>,
) {
    loop {
        if let Err(e) = listen_once(&config, &changes, &events).await {
            tracing::warn!("database notifications: {}; reconnecting", backend(e));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn listen_once(
    config: &tokio_postgres::Config,
    changes: &tokio::sync::broadcast::Sender<RemoteChange>,
    events: &tokio::sync::broadcast::Sender<String>,
) -> std::result::Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (tx, mut messages) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut stream = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = futures_util::StreamExt::next(&mut stream).await {
            match message {
                Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                    let is_event = n.channel() == EVENTS_CHANNEL;
                    if tx.send((is_event, n.payload().to_string())).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("database notifications: {}", backend(e));
                    return;
                }
            }
        }
    });
    client
        .batch_execute(&format!("listen {CHANNEL}; listen {EVENTS_CHANNEL}"))
        .await?;
    let schema: String = client
        .query_one("select current_schema()", &[])
        .await?
        .get(0);
    let _ = changes.send(RemoteChange::Anything);
    while let Some((is_event, payload)) = messages.recv().await {
        let Some((from, tag)) = payload.split_once(':') else {
            continue;
        };
        if from != schema {
            continue;
        }
        if is_event {
            // Nobody subscribed is fine: no live view is open on this node.
            let _ = events.send(tag.to_string());
            continue;
        }
        let change = match tag {
            "tasks" => RemoteChange::Tasks,
            "jobs" => RemoteChange::Jobs,
            _ => RemoteChange::Anything,
        };
        let _ = changes.send(change);
    }
    driver.abort();
    Ok(())
}
