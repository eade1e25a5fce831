//! The engine's shared state: store, clock, definition cache, per-instance locks, long-poll
//! wake-ups, the event stream and metrics. The operations live in the sibling modules
//! (`executor`, `deploy`, `external`, ...), each an `impl Inner` block.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use baton_bpmn::{Definitions, Process};
use serde::Serialize;
use tokio::sync::{Notify, OwnedMutexGuard, broadcast};

use super::{ProcessEngineError, Result};
use crate::clock::{SharedClock, SystemClock};
use crate::records::ProcessDefinition;
use crate::store::{Durability, Store};
use crate::wasm::{WasmConfig, WasmRuntime};

/// How the engine is set up.
#[derive(Clone)]
pub struct EngineConfig {
    /// Where the store lives.
    pub data_dir: PathBuf,
    /// Fsync every acknowledged command (default) or relax it.
    pub durability: Durability,
    /// Source of "now" (inject a `ManualClock` in tests).
    pub clock: SharedClock,
    /// The wasm runtime's configuration; `None` disables in-engine tasks (every topic goes to
    /// remote workers).
    pub wasm: Option<WasmConfig>,
    /// Parked long-poll requests before new ones are refused (Camunda: 200).
    pub max_parked_fetches: usize,
    /// Retry schedule of in-engine tasks and failing jobs when the model sets none.
    pub default_retry_cycle: String,
    /// Run the scheduler loop in the background (tests may drive it with `tick` instead).
    pub background_scheduler: bool,
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
            data_dir,
            durability: Durability::Fsync,
            clock: Arc::new(SystemClock),
            max_parked_fetches: 200,
            default_retry_cycle: "R3/PT10S".to_owned(),
            background_scheduler: true,
        }
    }
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("data_dir", &self.data_dir)
            .field("durability", &self.durability)
            .field("wasm", &self.wasm.is_some())
            .field("max_parked_fetches", &self.max_parked_fetches)
            .finish()
    }
}

/// A live event, for the SSE stream (`/engine-rest/events`) and the cockpit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum EngineEvent {
    /// A deployment was created.
    DeploymentCreated {
        /// Deployment id.
        deployment_id: String,
    },
    /// A process instance started.
    InstanceStarted {
        /// Instance id.
        process_instance_id: String,
        /// Definition id.
        process_definition_id: String,
        /// Business key.
        business_key: Option<String>,
    },
    /// A process instance ended.
    InstanceEnded {
        /// Instance id.
        process_instance_id: String,
        /// Definition id.
        process_definition_id: String,
        /// `COMPLETED` or `EXTERNALLY_TERMINATED`.
        state: String,
    },
    /// A token entered an activity.
    ActivityEntered {
        /// Instance id.
        process_instance_id: String,
        /// Definition id.
        process_definition_id: String,
        /// Element id.
        activity_id: String,
        /// Activity instance id.
        activity_instance_id: String,
        /// Camunda activity type.
        activity_type: String,
    },
    /// A token left an activity.
    ActivityLeft {
        /// Instance id.
        process_instance_id: String,
        /// Definition id.
        process_definition_id: String,
        /// Element id.
        activity_id: String,
        /// Activity instance id.
        activity_instance_id: String,
        /// Interrupted or cancelled rather than completed.
        canceled: bool,
    },
    /// An external or user task was created.
    TaskCreated {
        /// Task id.
        task_id: String,
        /// `external` or `user`.
        task_type: String,
        /// Topic (external tasks).
        topic: Option<String>,
        /// Element id.
        activity_id: String,
        /// Instance id.
        process_instance_id: String,
    },
    /// A task was completed.
    TaskCompleted {
        /// Task id.
        task_id: String,
        /// `external` or `user`.
        task_type: String,
        /// Instance id.
        process_instance_id: String,
    },
    /// An incident was raised.
    IncidentRaised {
        /// Incident id.
        incident_id: String,
        /// Instance id.
        process_instance_id: String,
        /// Element id.
        activity_id: String,
        /// Type.
        incident_type: String,
        /// Message.
        message: Option<String>,
    },
    /// An incident was resolved.
    IncidentResolved {
        /// Incident id.
        incident_id: String,
        /// Instance id.
        process_instance_id: String,
    },
}

/// A deployed definition with its parsed model, cached in memory.
pub(crate) struct Deployed {
    pub(crate) record: ProcessDefinition,
    pub(crate) definitions: Arc<Definitions>,
    pub(crate) process: Arc<Process>,
}

/// Counters exposed at `/metrics`.
#[derive(Default)]
pub(crate) struct Metrics {
    pub(crate) instances_started: AtomicU64,
    pub(crate) instances_completed: AtomicU64,
    pub(crate) instances_canceled: AtomicU64,
    pub(crate) incidents_raised: AtomicU64,
    pub(crate) fetch_and_lock_requests: AtomicU64,
    pub(crate) fetch_and_lock_waits: AtomicU64,
    pub(crate) wasm_executions: AtomicU64,
    pub(crate) wasm_failures: AtomicU64,
    pub(crate) wasm_micros_total: AtomicU64,
    pub(crate) tasks_created_by_topic: Mutex<HashMap<String, u64>>,
    pub(crate) tasks_completed_by_topic: Mutex<HashMap<String, u64>>,
    pub(crate) recent_wasm_micros: Mutex<HashMap<String, Vec<u64>>>,
}

pub(crate) struct Inner {
    pub(crate) me: Weak<Inner>,
    pub(crate) config: EngineConfig,
    pub(crate) store: Store,
    pub(crate) clock: SharedClock,
    pub(crate) wasm: Option<WasmRuntime>,
    pub(crate) deployed: Mutex<HashMap<String, Arc<Deployed>>>,
    instance_locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    pub(crate) deploy_lock: tokio::sync::Mutex<()>,
    /// Woken whenever a task may have become fetchable (created, unlocked, lock expired,
    /// retries restored).
    pub(crate) task_available: Notify,
    /// Woken when a job or timer was scheduled, so the scheduler re-reads the earliest due.
    pub(crate) scheduler_wake: Notify,
    pub(crate) parked_fetches: AtomicUsize,
    pub(crate) events: broadcast::Sender<EngineEvent>,
    pub(crate) metrics: Metrics,
    pub(crate) shutting_down: AtomicBool,
    /// Flips to `true` when the engine starts stopping (long-lived streams end on it).
    pub(crate) stop: tokio::sync::watch::Sender<bool>,
    pub(crate) background: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// Holds one instance's lock; dropping it releases the lock and forgets idle entries.
pub(crate) struct InstanceGuard {
    guard: Option<OwnedMutexGuard<()>>,
    id: String,
    locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Drop for InstanceGuard {
    fn drop(&mut self) {
        drop(self.guard.take());
        if let Ok(mut map) = self.locks.lock()
            && let Some(entry) = map.get(&self.id)
            && Arc::strong_count(entry) == 1
        {
            map.remove(&self.id);
        }
    }
}

impl Inner {
    pub(super) async fn open(config: EngineConfig) -> Result<Arc<Inner>> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            ProcessEngineError::Internal(format!(
                "cannot create data dir {}: {e}",
                config.data_dir.display()
            ))
        })?;
        let store = Store::open(&config.data_dir.join("store"), config.durability)?;
        let wasm = match &config.wasm {
            Some(wc) => Some(
                WasmRuntime::new(wc.clone())
                    .map_err(|e| ProcessEngineError::Internal(format!("wasm runtime: {e}")))?,
            ),
            None => None,
        };
        let (events, _) = broadcast::channel(4096);
        let inner = Arc::new_cyclic(|me| Inner {
            me: me.clone(),
            clock: config.clock.clone(),
            config,
            store,
            wasm,
            deployed: Mutex::new(HashMap::new()),
            instance_locks: Arc::new(Mutex::new(HashMap::new())),
            deploy_lock: tokio::sync::Mutex::new(()),
            task_available: Notify::new(),
            scheduler_wake: Notify::new(),
            parked_fetches: AtomicUsize::new(0),
            events,
            metrics: Metrics::default(),
            shutting_down: AtomicBool::new(false),
            stop: tokio::sync::watch::channel(false).0,
            background: Mutex::new(Vec::new()),
        });
        inner.recover().await?;
        if inner.config.background_scheduler {
            inner.start_scheduler();
        }
        Ok(inner)
    }

    /// A strong handle for spawned work.
    pub(crate) fn arc(&self) -> Option<Arc<Inner>> {
        self.me.upgrade()
    }

    /// Refuse new long polls and answer the parked ones at once, so a graceful stop does not
    /// wait for their time-outs.
    pub(super) fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.stop.send_replace(true);
        self.scheduler_wake.notify_waiters();
        self.task_available.notify_waiters();
    }

    pub(super) async fn shutdown(&self) -> Result<()> {
        self.begin_shutdown();
        let handles: Vec<_> = match self.background.lock() {
            Ok(mut h) => h.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        for h in handles {
            h.abort();
        }
        self.store.sync_now().await?;
        Ok(())
    }

    pub(super) fn now(&self) -> i64 {
        self.clock.now()
    }

    pub(super) fn subscribe_events(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }

    pub(crate) fn emit(&self, event: EngineEvent) {
        // No receivers is fine: nobody is watching.
        let _ = self.events.send(event);
    }

    pub(crate) async fn lock_instance(&self, id: &str) -> InstanceGuard {
        let mutex = {
            let mut map = match self.instance_locks.lock() {
                Ok(m) => m,
                Err(poisoned) => poisoned.into_inner(),
            };
            map.entry(id.to_owned())
                .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(())))
                .clone()
        };
        let guard = mutex.lock_owned().await;
        InstanceGuard {
            guard: Some(guard),
            id: id.to_owned(),
            locks: self.instance_locks.clone(),
        }
    }

    pub(crate) fn metrics_snapshot(&self) -> super::MetricsSnapshot {
        use crate::store::Tree;
        let m = &self.metrics;
        let copy = |map: &Mutex<HashMap<String, u64>>| -> std::collections::BTreeMap<String, u64> {
            map.lock()
                .map(|g| g.iter().map(|(k, v)| (k.clone(), *v)).collect())
                .unwrap_or_default()
        };
        super::MetricsSnapshot {
            instances_started: m.instances_started.load(Ordering::Relaxed),
            instances_completed: m.instances_completed.load(Ordering::Relaxed),
            instances_canceled: m.instances_canceled.load(Ordering::Relaxed),
            incidents_raised: m.incidents_raised.load(Ordering::Relaxed),
            fetch_and_lock_requests: m.fetch_and_lock_requests.load(Ordering::Relaxed),
            fetch_and_lock_waits: m.fetch_and_lock_waits.load(Ordering::Relaxed),
            fetch_and_lock_parked: self.parked_fetches.load(Ordering::Relaxed) as u64,
            wasm_executions: m.wasm_executions.load(Ordering::Relaxed),
            wasm_failures: m.wasm_failures.load(Ordering::Relaxed),
            wasm_micros_total: m.wasm_micros_total.load(Ordering::Relaxed),
            tasks_created_by_topic: copy(&m.tasks_created_by_topic),
            tasks_completed_by_topic: copy(&m.tasks_completed_by_topic),
            recent_wasm_micros: m
                .recent_wasm_micros
                .lock()
                .map(|g| g.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            store_bytes: self.store.size_on_disk().unwrap_or(0),
            running_instances: self.store.count(Tree::Instances) as u64,
            open_incidents: self.store.count(Tree::Incidents) as u64,
            open_user_tasks: self.store.count(Tree::UserTasks) as u64,
            open_external_tasks: self.store.count(Tree::ExternalTasks) as u64,
        }
    }

    pub(crate) fn bump(counter: &Mutex<HashMap<String, u64>>, key: &str) {
        if let Ok(mut m) = counter.lock() {
            *m.entry(key.to_owned()).or_insert(0) += 1;
        }
    }
}

/// A new random id (UUID v4) for top-level entities (instances, deployments, incidents).
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
