//! The engine's shared state and lifecycle: configuration, the `Inner` state every room reads
//! (store, clock, definition cache, per-instance locks, long-poll wake-ups), opening with
//! recovery, and stopping. The operations live in the sibling rooms, each an `impl ProcessEngine`.

use super::events::{EngineEvent, Metrics};
use super::{ProcessEngine, ProcessEngineError, Result};
use crate::clock::{SharedClock, SystemClock};
use crate::records::ProcessDefinition;
use crate::store::{Durability, Store};
use crate::wasm::{WasmConfig, WasmRuntime};
use baton_bpmn::{Definitions, Process};
use foldhash::{HashMap, HashMapExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, OwnedMutexGuard, broadcast};

/// A PostgreSQL database to keep the store in, instead of sled in the data directory.
#[derive(Clone)]
pub struct Database {
    /// A `postgres://user:password@host:port/dbname` URL or a libpq key/value string.
    pub url: String,
    /// The schema the tables live in (created if missing); the connection's `search_path`
    /// when `None`.
    pub schema: Option<String>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password.
        f.debug_struct("Database")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// The test suites' switch to PostgreSQL: with `BATON_TEST_DATABASE` set to a database
    /// URL, every engine configured by [`EngineConfig::new`] keeps its store there, in a schema
    /// of its own named after its data directory (a test that reopens a directory finds its
    /// data; tests running side by side never share one). For running the suites against both
    /// backends (`tests/postgres/run.sh`), not for deployments: they use `--database`.
    fn for_tests(data_dir: &std::path::Path) -> Option<Database> {
        let url = std::env::var("BATON_TEST_DATABASE")
            .ok()
            .filter(|u| !u.is_empty())?;
        let absolute = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        let digest = crate::digest::sha256_hex(absolute.to_string_lossy().as_bytes());
        Some(Database {
            url,
            schema: Some(format!("t_{}", &digest[..24])),
        })
    }
}

/// How the engine is set up.
#[derive(Clone)]
pub struct EngineConfig {
    /// Where the store lives (sled, unless [`Self::database`] is set), the wasm cache and
    /// other node-local files.
    pub data_dir: PathBuf,
    /// Keep the store in this PostgreSQL database instead (what several nodes share).
    pub database: Option<Database>,
    /// Fsync every acknowledged command (default) or relax it.
    pub durability: Durability,
    /// Source of "now" (inject a `ManualClock` in tests).
    pub clock: SharedClock,
    /// The wasm runtime's configuration; `None` disables in-engine tasks (every topic goes to
    /// remote workers).
    pub wasm: Option<WasmConfig>,
    /// Parked long-poll requests before new ones are refused (Camunda: 200).
    pub max_parked_fetches: usize,
    /// Parked long polls one worker id may hold at once (a worker needs one or two; more is
    /// a runaway loop or a client hogging the server-wide [`Self::max_parked_fetches`]).
    pub max_parked_fetches_per_worker: usize,
    /// Retry schedule of in-engine tasks and failing jobs when the model sets none.
    pub default_retry_cycle: String,
    /// Run the first attempt of a task whose component is pure (imports no outbound HTTP)
    /// inside the command that reached the task, committed with it, as Camunda runs a Java
    /// delegate in the transaction that reached it (default); off: every in-engine task is
    /// committed first and run in the background.
    pub wasm_inline: bool,
    /// Run the scheduler loop in the background (tests may drive it with `tick` instead).
    pub background_scheduler: bool,
    /// A BPMN error nothing catches raises an incident (and the command that threw it fails)
    /// instead of ending the throwing execution as Camunda 7 does by default.
    pub incident_on_unhandled_bpmn_error: bool,
    /// Failure notifications: config-file rules and delivery settings.
    pub notifications: super::notifications::NotificationConfig,
    /// Commit commands' changes in batches on the committer thread (default), or each in a
    /// transaction of its own on the calling thread. Not a user setting: benchmarks compare
    /// the two in one run, and it is the switch to pull if batching is ever suspected.
    pub batched_commits: bool,
    /// History cleanup: batch window and batch size (see `history_cleanup`).
    pub history_cleanup: super::history_cleanup::HistoryCleanupConfig,
    /// How much history is written (Camunda's history level; default full).
    pub history_level: super::HistoryLevel,
}

impl EngineConfig {
    /// Defaults for a data directory: durable, system clock, wasm on.
    pub fn new(data_dir: impl Into<PathBuf>) -> EngineConfig {
        let data_dir = data_dir.into();
        EngineConfig {
            wasm: Some(WasmConfig {
                cache_dir: Some(data_dir.join("wasm-cache")),
                ..WasmConfig::default()
            }),
            database: Database::for_tests(&data_dir),
            data_dir,
            durability: Durability::Fsync,
            clock: Arc::new(SystemClock),
            max_parked_fetches: 200,
            max_parked_fetches_per_worker: 4,
            default_retry_cycle: "R3/PT10S".to_owned(),
            wasm_inline: true,
            background_scheduler: true,
            incident_on_unhandled_bpmn_error: false,
            notifications: Default::default(),
            batched_commits: true,
            history_cleanup: Default::default(),
            history_level: Default::default(),
        }
    }
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("data_dir", &self.data_dir)
            .field("database", &self.database)
            .field("durability", &self.durability)
            .field("wasm", &self.wasm.is_some())
            .field("max_parked_fetches", &self.max_parked_fetches)
            .field("batched_commits", &self.batched_commits)
            .field("history_cleanup", &self.history_cleanup)
            .field("history_level", &self.history_level)
            .finish()
    }
}

/// A deployed definition with its parsed model, cached in memory.
pub(crate) struct Deployed {
    pub(crate) record: ProcessDefinition,
    pub(crate) definitions: Arc<Definitions>,
    pub(crate) process: Arc<Process>,
}

/// The state every room of the engine reads; `ProcessEngine` is an `Arc` of it.
pub(crate) struct Inner {
    pub(crate) config: EngineConfig,
    pub(crate) store: Store,
    pub(crate) clock: SharedClock,
    pub(crate) wasm: Option<WasmRuntime>,
    pub(crate) deployed: Mutex<HashMap<String, Arc<Deployed>>>,
    /// Parsed DMN decisions by decision definition id (see `decisions`).
    pub(crate) decisions: Mutex<HashMap<String, Arc<baton_bpmn::dmn::DeployedDecision>>>,
    instance_locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    pub(crate) deploy_lock: tokio::sync::Mutex<()>,
    /// Woken whenever a task may have become fetchable (created, unlocked, lock expired,
    /// retries restored).
    pub(crate) task_available: Notify,
    /// Woken when a job or timer was scheduled, so the scheduler re-reads the earliest due.
    pub(crate) scheduler_wake: Notify,
    pub(crate) parked_fetches: AtomicUsize,
    /// Parked long polls per worker id (entries leave at zero, so at most
    /// `max_parked_fetches` of them).
    pub(crate) parked_by_worker: Mutex<HashMap<String, usize>>,
    /// Parked long polls that a command creating a task of their topic locks it for.
    pub(crate) hand_offs: super::parked::HandOffs,
    pub(crate) events: broadcast::Sender<EngineEvent>,
    /// On a shared store, this node's events on their way to the other nodes (see
    /// `events::relay_events`).
    pub(crate) event_relay: Option<tokio::sync::mpsc::Sender<EngineEvent>>,
    /// This process's id among the nodes of a shared store (random per run).
    pub(crate) node_id: u64,
    pub(crate) metrics: Metrics,
    pub(crate) shutting_down: AtomicBool,
    /// Flips to `true` when the engine starts stopping (long-lived streams end on it).
    pub(crate) stop: tokio::sync::watch::Sender<bool>,
    pub(crate) background: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Recent successful password checks (basic auth checks every request).
    pub(crate) password_checks: super::passwords::CheckCache,
    /// Every authorization, read once and dropped at each change (see `authorizations.rs`).
    pub(crate) authorizations: Mutex<Option<Arc<Vec<crate::records::Authorization>>>>,
    /// Failure notifications: rules cache, delivery loop state, counters.
    pub(crate) notifications: super::notifications::State,
    /// The batch runner's lock and wake-up (see `batches`).
    pub(crate) batches: super::batches::Runtime,
    /// Usage metrics not yet written (see `usage_metrics`).
    pub(crate) usage: super::usage_metrics::UsageMeter,
    /// When this engine opened its store (engine clock, ms since epoch).
    pub(crate) opened_at: i64,
    /// The history cleanup's state (see `history_cleanup`).
    pub(crate) cleanup: super::history_cleanup::Cleanup,
    /// Modules (by sha256) an inline attempt of which outran the inline deadline: their tasks
    /// run in the background only, so a slow component does not hold its commands.
    pub(crate) slow_modules: Mutex<std::collections::HashSet<String>>,
    /// `config.default_retry_cycle`, parsed once (every in-engine task asks for its count).
    pub(crate) default_retry: baton_bpmn::timer::RetrySchedule,
}

/// Live events queued for the other nodes of a shared store (see `events::relay_events`).
const EVENT_RELAY_QUEUE: usize = 8192;

/// Holds one instance's lock; dropping it releases the lock and forgets idle entries.
pub(crate) struct InstanceGuard {
    /// The lock other nodes sharing the store respect (PostgreSQL; `None` on sled).
    cluster: Option<crate::store::ClusterLock>,
    guard: Option<OwnedMutexGuard<()>>,
    id: String,
    locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Drop for InstanceGuard {
    fn drop(&mut self) {
        drop(self.cluster.take());
        drop(self.guard.take());
        if let Ok(mut map) = self.locks.lock()
            && let Some(entry) = map.get(&self.id)
            && Arc::strong_count(entry) == 1
        {
            map.remove(&self.id);
        }
    }
}

/// A new id for top-level records (instances, deployments, incidents): a UUID v7, so ids
/// sort in creation order (as Camunda's sequential ids do). The ids an instance derives for
/// its activity instances, tasks and variables keep its first 48 bits
/// (`baton_bpmn::engine::derive_id`), so they sort with it. Queries without a sort order page
/// through the store in id order, which is then the order records were created in.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A new id for a record of the instance `instance_id` that its state does not derive (a
/// historic variable): drawn like [`new_id`], in the instance's millisecond
/// (`baton_bpmn::engine::in_time_prefix_of`), so that it sorts with the instance and the store
/// finds the instance from the id alone, without an index entry.
pub(crate) fn new_id_of_instance(instance_id: &str) -> String {
    baton_bpmn::engine::in_time_prefix_of(new_id(), instance_id)
}

impl ProcessEngine {
    /// Open (or create) the engine on the store at `config.data_dir`, recover in-flight work
    /// (due timers, expired locks, pending wasm executions, outbox) and start its background
    /// loops on the current tokio runtime.
    pub async fn open(config: EngineConfig) -> Result<ProcessEngine> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            ProcessEngineError::Internal(format!(
                "cannot create data dir {}: {e}",
                config.data_dir.display()
            ))
        })?;
        let store = match &config.database {
            None => Store::open(&config.data_dir.join("store"), config.durability)?,
            Some(db) => Store::open_postgres(&db.url, db.schema.as_deref(), config.durability)?,
        };
        let wasm = match &config.wasm {
            Some(wc) => Some(
                WasmRuntime::new(wc.clone())
                    .map_err(|e| ProcessEngineError::Internal(format!("wasm runtime: {e}")))?,
            ),
            None => None,
        };
        let (events, _) = broadcast::channel(4096);
        let (event_relay, relayed_events) = if store.is_shared() {
            let (tx, rx) = tokio::sync::mpsc::channel(EVENT_RELAY_QUEUE);
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let opened_at = config.clock.now();
        let default_retry = baton_bpmn::timer::RetrySchedule::parse(&config.default_retry_cycle)
            .unwrap_or_else(|_| baton_bpmn::timer::RetrySchedule::default_schedule());
        let notifications = super::notifications::State::new(config.notifications.clone());
        let engine = ProcessEngine {
            inner: Arc::new(Inner {
                clock: config.clock.clone(),
                config,
                store,
                wasm,
                deployed: Mutex::new(HashMap::new()),
                decisions: Mutex::new(HashMap::new()),
                instance_locks: Arc::new(Mutex::new(HashMap::new())),
                deploy_lock: tokio::sync::Mutex::new(()),
                task_available: Notify::new(),
                scheduler_wake: Notify::new(),
                parked_fetches: AtomicUsize::new(0),
                parked_by_worker: Mutex::new(HashMap::new()),
                hand_offs: Default::default(),
                events,
                event_relay,
                node_id: uuid::Uuid::new_v4().as_u64_pair().0,
                metrics: Metrics::default(),
                shutting_down: AtomicBool::new(false),
                stop: tokio::sync::watch::channel(false).0,
                background: Mutex::new(Vec::new()),
                password_checks: super::passwords::CheckCache::new(),
                authorizations: Mutex::new(None),
                notifications,
                batches: Default::default(),
                usage: Default::default(),
                opened_at,
                cleanup: Default::default(),
                slow_modules: Default::default(),
                default_retry,
            }),
        };
        engine.follow_other_nodes(relayed_events);
        engine.recover().await?;
        engine.open_notifications().await?;
        if engine.inner.config.background_scheduler {
            engine.start_scheduler();
            engine.start_batch_runner();
            engine.start_history_cleanup();
        }
        Ok(engine)
    }

    /// On a store other nodes share, wake this node's parked long polls and scheduler when
    /// any node commits a fetchable task or a job (PostgreSQL `listen`/`notify`), as this
    /// node's own commits do in memory; and exchange live events, so every node's cockpit
    /// and SSE streams show what every node does.
    fn follow_other_nodes(&self, relayed_events: Option<tokio::sync::mpsc::Receiver<EngineEvent>>) {
        let mut tasks = Vec::new();
        if let Some(relayed) = relayed_events {
            tasks.push(tokio::spawn(ProcessEngine::relay_events(
                Arc::downgrade(&self.inner),
                self.inner.node_id,
                relayed,
            )));
        }
        if let Some(batches) = self.inner.store.remote_events() {
            tasks.push(self.follow(batches, |inner, batch| {
                // A lagged receiver lost batches: the live view misses them, as a slow
                // stream client does.
                if let Some(batch) = batch {
                    ProcessEngine { inner }.show_remote_events(&batch);
                }
            }));
        }
        if let Some(changes) = self.inner.store.remote_changes() {
            tasks.push(self.follow(changes, |inner, change| {
                use crate::store::RemoteChange;
                match change {
                    Some(RemoteChange::Tasks) => inner.task_available.notify_waiters(),
                    Some(RemoteChange::Jobs) => inner.scheduler_wake.notify_one(),
                    // Reconnected or lagged: anything may have changed.
                    Some(RemoteChange::Anything) | None => {
                        inner.task_available.notify_waiters();
                        inner.scheduler_wake.notify_one();
                    }
                }
            }));
        }
        if let Ok(mut background) = self.inner.background.lock() {
            background.extend(tasks);
        }
    }

    /// A background task handing what `messages` receives to `handle` (`None` when the
    /// receiver lagged and lost some), for as long as the engine lives.
    fn follow<T: Clone + Send + 'static>(
        &self,
        mut messages: broadcast::Receiver<T>,
        handle: impl Fn(Arc<Inner>, Option<T>) + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let engine = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                let message = messages.recv().await;
                let Some(inner) = engine.upgrade() else {
                    return;
                };
                match message {
                    Ok(message) => handle(inner, Some(message)),
                    Err(broadcast::error::RecvError::Lagged(_)) => handle(inner, None),
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        })
    }

    /// Start stopping: parked long polls are answered at once (Camunda's "Request rejected due
    /// to shutdown of application server.") and new ones are refused. Call it when the stop
    /// signal arrives, before waiting for in-flight requests; then call [`ProcessEngine::shutdown`].
    ///
    /// Refuse new long polls and answer the parked ones at once, so a graceful stop does not
    /// wait for their time-outs.
    pub fn begin_shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
        self.inner.stop.send_replace(true);
        self.inner.scheduler_wake.notify_waiters();
        self.inner.task_available.notify_waiters();
    }

    /// Stop background loops and flush the store. In-flight commands finish first.
    pub async fn shutdown(&self) -> Result<()> {
        self.begin_shutdown();
        let handles: Vec<_> = match self.inner.background.lock() {
            Ok(mut h) => h.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        for h in handles {
            h.abort();
        }
        if let Err(e) = self.flush_metrics().await {
            tracing::warn!("writing usage metrics at shutdown failed: {e}");
        }
        self.inner.store.sync_now().await?;
        Ok(())
    }

    /// Resolves once the engine has started stopping: long-lived responses (event streams) end
    /// on it so a graceful stop is not held open by them.
    pub async fn stopping(&self) {
        let mut rx = self.inner.stop.subscribe();
        let _ = rx.wait_for(|stopping| *stopping).await;
    }

    /// When this engine opened its store (ms since epoch, engine clock).
    pub fn opened_at(&self) -> i64 {
        self.inner.opened_at
    }

    /// How much history this engine writes.
    pub fn history_level(&self) -> super::HistoryLevel {
        self.inner.config.history_level
    }

    /// Current time of the engine's clock (ms since epoch).
    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    /// Lock one instance for a command: in this process, then (on a shared store) across
    /// nodes. Fails only when a shared database cannot be reached.
    pub(crate) async fn lock_instance(&self, id: &str) -> Result<InstanceGuard> {
        let mutex = {
            let mut map = match self.inner.instance_locks.lock() {
                Ok(m) => m,
                Err(poisoned) => poisoned.into_inner(),
            };
            map.entry(id.to_owned())
                .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(())))
                .clone()
        };
        let guard = mutex.lock_owned().await;
        let mut held = InstanceGuard {
            cluster: None,
            guard: Some(guard),
            id: id.to_owned(),
            locks: self.inner.instance_locks.clone(),
        };
        held.cluster = self.inner.store.lock_instance_across_nodes(id).await?;
        Ok(held)
    }
}
