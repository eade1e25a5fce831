//! The WebAssembly task runtime: runs a service task's uploaded component inside the engine,
//! isolated, with fuel, wall-time and memory limits, in a deterministic world.
//!
//! This module owns wasmtime: the one [`wasmtime::Engine`], compiled components and their
//! on-disk artifact cache, the epoch ticker thread, and one `Store` per execution. It knows
//! nothing about process instances, sled or REST: the executor hands it a [`TaskInput`] and
//! gets a [`TaskOutcome`] back, and decides itself what a failure means (retry, incident).
//!
//! Layout (STYLE.md §8):
//! - `bindings`: `bindgen!` for `wit/task.wit`, run exactly once.
//! - `engine`: the wasmtime `Config` (fuel, epochs, pooling behind a probe), the engine
//!   fingerprint that keys the artifact cache, and the epoch ticker thread.
//! - `registry`: validation, world check, compile-once cache (memory and disk), `InstancePre`.
//! - `runner`: one execution: Store, limits, WASI context, call, outcome classification.
//! - `convert`: lossless conversion between [`baton_bpmn::Value`] and the WIT `value`.
//! - `wasi`: the locked-down, deterministic WASI pieces (clocks, RNG, captured stdio).
//! - `http`: outbound `wasi:http`, only to the hosts a module was granted.
//! - `script`: the embedded JavaScript interpreter (`guests/script-js`) that runs scripts
//!   from models under the same limits.

mod bindings;
mod convert;
mod engine;
mod guest_threads;
mod http;
mod registry;
mod runner;
mod script;
mod state;
mod wasi;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use baton_bpmn::Variables;

pub use engine::{TickerHandle, pooling_config};
pub use http::AllowedHost;
pub use script::ScriptEngine;

/// How the runtime allocates instances (see PERF-NOTES.md: pooling is ~5x faster per task).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PoolingMode {
    /// Try the pooling allocator; if the machine refuses it (limited virtual memory, some
    /// containers), fall back to on-demand allocation.
    #[default]
    Auto,
    /// Require the pooling allocator: [`WasmRuntime::new`] fails if it is unavailable.
    On,
    /// Always allocate on demand.
    Off,
}

/// Resource limits of one execution, and its one grant beyond the sandbox (outbound HTTP).
/// Every breach of a limit ends the execution with its own [`FailureKind`] and a readable
/// message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Fuel units (about one per wasm instruction). Deterministic: a retry runs out at the same
    /// point. Host calls burn no fuel, which is why there is also a deadline.
    pub fuel: u64,
    /// Wall-time budget, from instantiation to the end of the call (waiting for a concurrency
    /// slot does not count).
    pub deadline: Duration,
    /// Largest size of any one linear memory, in bytes.
    pub memory_bytes: usize,
    /// Largest number of elements of any one table.
    pub table_elements: usize,
    /// Largest number of core instances one component may create.
    pub instances: usize,
    /// Hosts the component may reach over `wasi:http/outgoing-handler`; empty (the default)
    /// denies every request. Responses from the network are outside the deterministic world:
    /// a retry of a task that reads them may see different data.
    pub allowed_hosts: Vec<AllowedHost>,
    /// Largest output one execution may hand back: the bytes of its output (or BPMN error)
    /// variables. A guest that returns more fails with a message naming this limit, and
    /// nothing of its output is stored.
    pub output_bytes: usize,
}

impl Default for Limits {
    /// - fuel 100,000,000. Measured (`wasm_runtime::fuel_profile`): a Rust task of this
    ///   repository's kind burns 10-25 thousand units, the componentize-py stock-check ~0.4
    ///   million and the componentize-js one ~2 million. 10^8 leaves 50x headroom over the
    ///   interpreted guests, while a runaway loop burns it in tens of milliseconds (24 ms for
    ///   `spin-loop`), so a buggy module fails fast and deterministically (a retry fails at
    ///   the same instruction) instead of holding an execution slot for the whole deadline.
    ///   CPU-heavy modules raise it per module.
    /// - deadline 2 s: the wall-time guard for what fuel cannot see (time in host calls).
    /// - memory 64 MiB, 10,000 table elements, 10 instances: DESIGN.md's defaults, sized for
    ///   Rust guests. CPython components (componentize-py) consist of more than 10 core
    ///   instances and need a per-module raise (50 instances, 100,000 table elements).
    /// - output 16 MiB: every output variable is stored with the instance (and its history)
    ///   in the command's one commit; a 100 MB variable would stall every other commit.
    fn default() -> Self {
        Limits {
            fuel: 100_000_000,
            deadline: Duration::from_secs(2),
            memory_bytes: 64 << 20,
            table_elements: 10_000,
            instances: 10,
            allowed_hosts: Vec::new(),
            output_bytes: 16 << 20,
        }
    }
}

/// Fuel an execution may burn before it yields to its caller, and again each time after
/// (about a tenth of a millisecond of guest code). [`WasmRuntime::execute`] runs a guest on
/// the caller's thread until the first yield, so this bounds what a guest computes at the
/// engine's priority; the later yields, on the guest threads, let their scheduler run the
/// other guests in between.
pub const INLINE_FUEL: u64 = 100_000;

/// The outcome of an execution whose host side panicked (a bug in baton, not in the guest).
fn host_panic() -> TaskOutcome {
    TaskOutcome::Failed {
        message: "the execution panicked in the host".to_owned(),
        details: None,
        kind: FailureKind::Trap,
        logs: Vec::new(),
    }
}

/// Configuration of a [`WasmRuntime`].
#[derive(Debug, Clone)]
pub struct WasmConfig {
    /// Where compiled artifacts are stored (`<sha256>-<engine fingerprint>.cwasm`). `None`
    /// keeps them in memory only, so a restart recompiles.
    pub cache_dir: Option<PathBuf>,
    /// Most executions running at once; further calls to [`WasmRuntime::execute`] wait.
    pub max_concurrency: usize,
    /// Limits used by callers that have no per-module limits (the runtime itself always uses
    /// the limits passed to [`WasmRuntime::execute`]).
    pub default_limits: Limits,
    /// Instance allocation strategy.
    pub pooling: PoolingMode,
    /// How many steps of `nice` below the engine's threads guests run (0: the same
    /// priority). A guest that computes for its whole deadline then leaves the CPU to the
    /// engine's threads whenever they want it.
    pub guest_nice: i32,
}

impl Default for WasmConfig {
    fn default() -> Self {
        WasmConfig {
            cache_dir: None,
            max_concurrency: 64,
            default_limits: Limits::default(),
            pooling: PoolingMode::Auto,
            guest_nice: 10,
        }
    }
}

/// What [`WasmRuntime::load`] learned about a component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    /// Lowercase hex SHA-256 of the component bytes: the module's identity.
    pub sha256: String,
    /// Size of the component bytes.
    pub size: usize,
    /// A one-line summary of the world check, e.g.
    /// `baton:task/service-task@0.1.0: exports execute; imports baton:task/log@0.1.0 + 12 WASI interfaces`.
    pub world_check: String,
    /// `true` when no compilation happened in this call: the module was already loaded, or its
    /// compiled artifact came from the disk cache.
    pub from_cache: bool,
    /// Whether the component imports `wasi:http/outgoing-handler`, i.e. wants outbound HTTP,
    /// which only works for hosts granted in [`Limits::allowed_hosts`].
    pub outbound_http: bool,
}

/// One service-task execution request.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskInput {
    /// The task's topic.
    pub topic: String,
    /// The process instance id.
    pub process_instance_id: String,
    /// The BPMN element id of the service task.
    pub activity_id: String,
    /// The activity instance id (stable across retries).
    pub activity_instance_id: String,
    /// The process instance's business key.
    pub business_key: Option<String>,
    /// 1 for the first execution, 2 for the first retry, ...
    pub attempt: u32,
    /// Retries left after this attempt fails, when a retry policy applies.
    pub retries_left: Option<u32>,
    /// The variables visible to the task.
    pub variables: Variables,
    /// When the task was created (ms since the Unix epoch): the guest's clocks start here.
    pub task_created_at: i64,
    /// Seed of the guest's random numbers (the executor derives it from the activity instance
    /// id, so every attempt of the same task sees the same numbers).
    pub seed: u64,
}

/// Severity of a [`LogLine`], as in the WIT `log.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Very detailed tracing.
    Trace,
    /// Debugging information.
    Debug,
    /// Normal progress.
    Info,
    /// Something unexpected the task recovered from.
    Warn,
    /// A failure.
    Error,
}

/// Where a [`LogLine`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogStream {
    /// The `baton:task/log` import.
    Log,
    /// The guest's stdout (one line per `\n`), logged at `Info`.
    Stdout,
    /// The guest's stderr (one line per `\n`; panics print here), logged at `Warn`.
    Stderr,
}

/// One line of a task's log, in the order the guest produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Severity.
    pub level: LogLevel,
    /// Source.
    pub stream: LogStream,
    /// The text (truncated to 4 KiB; after 64 KiB per execution further lines are replaced by
    /// one "... log truncated" line).
    pub message: String,
}

/// Why an execution failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The component returned `task-error::failure`, or output the host could not accept
    /// (e.g. invalid Json text).
    Guest,
    /// The fuel limit was reached.
    FuelExhausted,
    /// The wall-time deadline passed.
    Deadline,
    /// A memory, table, instance or wasm stack limit stopped the guest.
    Memory,
    /// The guest trapped (panic, unreachable, out-of-bounds access, ...) or could not be
    /// instantiated.
    Trap,
    /// No module with that sha256 is loaded in this runtime: load it, then execute again.
    NotLoaded,
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FailureKind::Guest => "guest failure",
            FailureKind::FuelExhausted => "fuel exhausted",
            FailureKind::Deadline => "deadline exceeded",
            FailureKind::Memory => "memory limit exceeded",
            FailureKind::Trap => "trap",
            FailureKind::NotLoaded => "module not loaded",
        })
    }
}

/// The result of one execution.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    /// `execute` returned output variables.
    Completed {
        /// Variables to set on the process instance.
        variables: Variables,
        /// The task's log.
        logs: Vec<LogLine>,
    },
    /// `execute` threw a BPMN error.
    BpmnError {
        /// The error code.
        code: String,
        /// The error message.
        message: Option<String>,
        /// Variables to set before the error is thrown.
        variables: Variables,
        /// The task's log.
        logs: Vec<LogLine>,
    },
    /// The execution failed: a guest failure, a trap or a blown limit.
    Failed {
        /// What went wrong, e.g. `fuel exhausted after 10,000,000 units`.
        message: String,
        /// More detail (the guest's details, or the wasm backtrace of a trap).
        details: Option<String>,
        /// The failure class.
        kind: FailureKind,
        /// The task's log.
        logs: Vec<LogLine>,
    },
}

impl TaskOutcome {
    /// The task's log, whatever the outcome.
    pub fn logs(&self) -> &[LogLine] {
        match self {
            TaskOutcome::Completed { logs, .. }
            | TaskOutcome::BpmnError { logs, .. }
            | TaskOutcome::Failed { logs, .. } => logs,
        }
    }
}

/// Errors of [`WasmRuntime::new`] and [`WasmRuntime::load`]. Bad module bytes of any kind end
/// here with a message meant for the person who uploaded them.
#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    /// The bytes are not a WebAssembly component (garbage, or a core module).
    #[error("not a WebAssembly component: {0}")]
    NotAComponent(String),
    /// The component does not implement `baton:task/service-task`.
    #[error("component does not match world `baton:task/service-task@0.1.0`: {0}")]
    WorldMismatch(String),
    /// The component is invalid or failed to compile.
    #[error("component failed to compile: {0}")]
    Compile(String),
    /// An I/O error on the artifact cache.
    #[error("artifact cache I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// No module with this sha256 is loaded.
    #[error("no module with sha256 {0} is loaded")]
    UnknownModule(String),
    /// The wasmtime engine could not be created with this configuration.
    #[error("wasm engine configuration failed: {0}")]
    Config(String),
}

/// The WebAssembly task runtime. Cheap to clone (an `Arc` inside); `Send + Sync`.
///
/// One runtime per process: it owns the wasmtime engine and an epoch ticker thread, which
/// exits shortly after the last clone is dropped.
#[derive(Clone)]
pub struct WasmRuntime {
    inner: Arc<runner::Runtime>,
    scripts: Arc<ScriptEngine>,
    /// Where executions run (not inside `inner`: a running execution holds `inner`, and the
    /// guest threads must not be dropped by one of themselves).
    guests: Arc<guest_threads::GuestThreads>,
}

impl fmt::Debug for WasmRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasmRuntime")
            .field("pooling", &self.inner.engine.pooling)
            .field("loaded", &self.inner.registry.len())
            .finish()
    }
}

impl WasmRuntime {
    /// Creates the engine (probing the pooling allocator per [`WasmConfig::pooling`]), the
    /// artifact cache directory and the epoch ticker thread.
    pub fn new(config: WasmConfig) -> Result<WasmRuntime, WasmError> {
        let cache_dir = config.cache_dir.clone();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let guests = guest_threads::GuestThreads::start(threads, config.guest_nice)
            .map_err(|e| WasmError::Config(format!("cannot start the guest threads: {e}")))?;
        let inner = Arc::new(runner::Runtime::new(config)?);
        let scripts = Arc::new(ScriptEngine::new(
            inner.engine.engine.clone(),
            inner.engine.fingerprint.clone(),
            cache_dir,
            inner.default_limits.clone(),
        ));
        Ok(WasmRuntime {
            inner,
            scripts,
            guests: Arc::new(guests),
        })
    }

    /// The JavaScript interpreter for scripts in models (same engine, same default limits).
    pub fn scripts(&self) -> &Arc<ScriptEngine> {
        &self.scripts
    }

    /// Validates and compiles a component (in `spawn_blocking`), checks that it implements
    /// `baton:task/service-task`, and keeps it ready to instantiate. Cached in memory by
    /// sha256 and on disk as a serialized artifact keyed by sha256 and the engine fingerprint,
    /// so a restart deserializes the artifact instead of recompiling.
    pub async fn load(&self, bytes: &[u8]) -> Result<ModuleInfo, WasmError> {
        self.inner.load(bytes).await
    }

    /// Whether a module with this sha256 (lowercase hex) is loaded.
    pub fn is_loaded(&self, sha256: &str) -> bool {
        self.inner.registry.get(sha256).is_some()
    }

    /// Whether the module `sha256` is loaded and pure: it imports no outbound HTTP, so running
    /// it once more than its outcome is used for (an inline attempt that failed, see the
    /// engine's inline wasm tasks) has no effect outside baton.
    pub fn is_loaded_and_pure(&self, sha256: &str) -> bool {
        self.inner
            .registry
            .get(sha256)
            .is_some_and(|m| !m.info.outbound_http)
    }

    /// Runs `execute` of the loaded module `sha256` once, on a fresh instance, within `limits`.
    /// Waits for a concurrency slot first. Never panics on guest behaviour: every way the
    /// guest can end is a [`TaskOutcome`].
    ///
    /// The execution is polled once on the caller's thread: a guest that ends within its
    /// first [`INLINE_FUEL`] units of fuel (and before the next epoch tick) finishes there,
    /// which spares the two thread wake-ups of a hand-off. One that is still running (it
    /// computes longer, waits for a slot or in a host call) goes on on the guest threads,
    /// below the engine's CPU priority, and this awaits it from the caller's runtime. While
    /// the runtime is being dropped (the engine stops) it never resolves: the task stays
    /// locked and runs again after a restart.
    pub async fn execute(&self, sha256: &str, limits: &Limits, input: TaskInput) -> TaskOutcome {
        let Some(guests) = self.guests.handle() else {
            return std::future::pending().await;
        };
        let inner = Arc::clone(&self.inner);
        let (sha256, limits) = (sha256.to_owned(), limits.clone());
        let mut run = Box::pin(async move { inner.execute(&sha256, &limits, input).await });
        let first = std::future::poll_fn(|cx| {
            // Timers, spawned tasks and sockets the execution creates belong to the guest
            // runtime, wherever it is polled.
            let _context = guests.enter();
            Poll::Ready(std::panic::catch_unwind(std::panic::AssertUnwindSafe(
                || run.as_mut().poll(cx),
            )))
        })
        .await;
        match first {
            Ok(Poll::Ready(outcome)) => return outcome,
            Ok(Poll::Pending) => {}
            Err(_panic) => return host_panic(),
        }
        match self.guests.spawn(run) {
            Some(handle) => match handle.await {
                Ok(outcome) => outcome,
                Err(e) if e.is_panic() => host_panic(),
                Err(_) => std::future::pending().await,
            },
            None => std::future::pending().await,
        }
    }

    /// The configured default limits.
    pub fn default_limits(&self) -> &Limits {
        &self.inner.default_limits
    }

    /// Whether the pooling allocator is in use (after the [`PoolingMode::Auto`] probe).
    pub fn pooling_enabled(&self) -> bool {
        self.inner.engine.pooling
    }

    /// How many components this runtime has compiled (not counting artifacts loaded from the
    /// disk cache). For tests and metrics.
    pub fn compile_count(&self) -> u64 {
        self.inner.registry.compile_count()
    }

    /// A handle that tells whether the epoch ticker thread is still running (it stops after the
    /// runtime is dropped). For tests and diagnostics.
    pub fn ticker(&self) -> TickerHandle {
        self.inner.engine.ticker.clone()
    }
}
