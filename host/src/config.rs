//! Server configuration: built from defaults, an optional TOML file, `BATON_*` environment
//! variables and command-line flags (in increasing precedence; the CLI does the merging).

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::store::Durability;

/// Everything `baton serve` needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where the store, the wasm artifact cache and logs live.
    pub data_dir: PathBuf,
    /// Keep the store in this PostgreSQL database (a cluster's nodes share one) instead of
    /// sled in the data directory.
    pub database: Option<crate::engine::Database>,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Fsync every acknowledged command (default), or relax it for speed.
    pub durability: Durability,
    /// How much history is written (Camunda's history level).
    pub history_level: crate::engine::HistoryLevel,
    /// Require HTTP basic auth on the REST API and cockpit.
    pub auth: bool,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Largest upload (deployments, task modules) in bytes.
    pub max_upload_bytes: usize,
    /// Run in-engine wasm tasks (off: every topic goes to remote workers).
    pub wasm: bool,
    /// Most wasm executions at once.
    pub wasm_concurrency: usize,
    /// Run a pure component's first attempt inside the command that reached its task (see
    /// [`crate::engine::EngineConfig::wasm_inline`]).
    pub wasm_inline: bool,
    /// How many `nice` steps below the engine's threads wasm guests run (0: same priority).
    pub wasm_guest_nice: i32,
    /// Default fuel per wasm execution.
    pub wasm_fuel: u64,
    /// Default wall-time limit per wasm execution, ms.
    pub wasm_timeout_ms: u64,
    /// Default memory limit per wasm execution, bytes.
    pub wasm_memory_bytes: usize,
    /// Retry schedule of in-engine tasks and failing jobs when the model sets none.
    pub default_retry_cycle: String,
    /// Parked long-poll requests before new ones are refused.
    pub max_parked_fetches: usize,
    /// Longest a REST request may run, ms (0: no limit). See [`crate::api::guard`].
    pub request_timeout_ms: u64,
    /// Most rows one list query returns. See [`crate::api::guard`].
    pub query_max_results: usize,
    /// Most variables one request may set (start, complete, correlate, ...). See [`crate::api::guard::ClientLimits`].
    pub max_variables: usize,
    /// Largest value of one variable a request may set, bytes as sent. See [`crate::api::guard::ClientLimits`].
    pub max_variable_bytes: usize,
    /// Parked long-poll requests of one workerId at once. See [`crate::api::guard::ClientLimits`].
    pub max_parked_fetches_per_worker: usize,
    /// Largest maxTasks of one fetchAndLock. See [`crate::api::guard::ClientLimits`].
    pub max_fetch_tasks: usize,
    /// Most resources (files) in one deployment. See [`crate::api::guard::ClientLimits`].
    pub max_deployment_resources: usize,
    /// An uncaught BPMN error raises an incident instead of ending the throwing execution
    /// (Camunda 7's default, followed when this is off).
    pub incident_on_unhandled_bpmn_error: bool,
    /// Failure notifications: rules from the config file (`[[notification_rule]]`) and
    /// delivery settings. See [`crate::engine::notifications`].
    pub notifications: crate::engine::NotificationConfig,
    /// Daily UTC window `HH:MM-HH:MM` in which the history cleanup runs (none: only on
    /// `POST /history/cleanup`).
    pub history_cleanup_batch_window: Option<String>,
    /// Finished instances whose history one cleanup write set removes.
    pub history_cleanup_batch_size: usize,
    /// Days the history of a finished batch is kept, `5` or `P5D` (Camunda's
    /// `batchOperationHistoryTimeToLive`; none: kept).
    pub batch_history_time_to_live: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let limits = crate::wasm::Limits::default();
        ServerConfig {
            data_dir: PathBuf::from("./baton-data"),
            database: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            durability: Durability::Fsync,
            history_level: crate::engine::HistoryLevel::Full,
            auth: false,
            max_body_bytes: 10 * 1024 * 1024,
            max_upload_bytes: 64 * 1024 * 1024,
            wasm: true,
            wasm_concurrency: 64,
            wasm_inline: true,
            wasm_guest_nice: crate::wasm::WasmConfig::default().guest_nice,
            wasm_fuel: limits.fuel,
            wasm_timeout_ms: limits.deadline.as_millis() as u64,
            wasm_memory_bytes: limits.memory_bytes,
            default_retry_cycle: "R3/PT10S".to_owned(),
            max_parked_fetches: 200,
            request_timeout_ms: 30_000,
            query_max_results: 10_000,
            max_variables: 1000,
            max_variable_bytes: 4 * 1024 * 1024,
            max_parked_fetches_per_worker: 4,
            max_fetch_tasks: 1000,
            max_deployment_resources: 1000,
            incident_on_unhandled_bpmn_error: false,
            notifications: crate::engine::NotificationConfig::default(),
            history_cleanup_batch_window: None,
            history_cleanup_batch_size: 500,
            batch_history_time_to_live: None,
        }
    }
}

impl ServerConfig {
    /// The engine configuration this server configuration implies.
    pub fn engine_config(&self, clock: crate::clock::SharedClock) -> crate::engine::EngineConfig {
        let mut engine = crate::engine::EngineConfig::new(self.data_dir.clone());
        engine.durability = self.durability;
        if self.database.is_some() {
            engine.database = self.database.clone();
        }
        engine.clock = clock;
        engine.max_parked_fetches = self.max_parked_fetches;
        engine.max_parked_fetches_per_worker = self.max_parked_fetches_per_worker;
        engine.default_retry_cycle = self.default_retry_cycle.clone();
        engine.incident_on_unhandled_bpmn_error = self.incident_on_unhandled_bpmn_error;
        engine.wasm_inline = self.wasm_inline;
        engine.history_level = self.history_level;
        engine.notifications = self.notifications.clone();
        // Validated when the configuration is read (`cli::serve`); a bad window here means
        // no background cleanup rather than a panic.
        engine.history_cleanup = crate::engine::history_cleanup::HistoryCleanupConfig {
            batch_window: self
                .history_cleanup_batch_window
                .as_deref()
                .and_then(|w| crate::engine::history_cleanup::parse_batch_window(w).ok()),
            batch_size: self.history_cleanup_batch_size,
            batch_time_to_live: self
                .batch_history_time_to_live
                .as_deref()
                .and_then(|t| crate::engine::history_cleanup::parse_time_to_live(t).ok()),
        };
        engine.wasm = if self.wasm {
            Some(crate::wasm::WasmConfig {
                cache_dir: Some(self.data_dir.join("wasm-cache")),
                max_concurrency: self.wasm_concurrency,
                guest_nice: self.wasm_guest_nice,
                default_limits: crate::wasm::Limits {
                    fuel: self.wasm_fuel,
                    deadline: std::time::Duration::from_millis(self.wasm_timeout_ms),
                    memory_bytes: self.wasm_memory_bytes,
                    ..crate::wasm::Limits::default()
                },
                ..crate::wasm::WasmConfig::default()
            })
        } else {
            None
        };
        engine
    }

    /// The REST API configuration.
    pub fn api_config(&self) -> crate::api::ApiConfig {
        crate::api::ApiConfig {
            max_body_bytes: self.max_body_bytes,
            max_upload_bytes: self.max_upload_bytes,
            auth: self.auth,
            limits: crate::api::guard::RequestLimits {
                timeout: (self.request_timeout_ms > 0)
                    .then(|| std::time::Duration::from_millis(self.request_timeout_ms)),
                max_results: self.query_max_results,
                client: crate::api::guard::ClientLimits {
                    max_variables: self.max_variables,
                    max_variable_bytes: self.max_variable_bytes,
                    max_fetch_tasks: self.max_fetch_tasks,
                    max_deployment_resources: self.max_deployment_resources,
                },
            },
        }
    }
}
