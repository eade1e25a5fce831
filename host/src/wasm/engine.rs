//! The wasmtime engine: its `Config`, the pooling-allocator probe, the engine fingerprint that
//! keys compiled artifacts, and the epoch ticker thread.
//!
//! Must not: hold a strong engine reference in the ticker (the thread would never exit), or
//! enable anything that changes per execution (limits live in each `Store`).

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::digest::hex;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::{PoolingMode, WasmConfig, WasmError};

/// How often the ticker increments the engine epoch.
///
/// 10 ms: deadlines are seconds, so they fire within 0.5% of their value; a guest that
/// computes for a long time yields to tokio at least every 10 ms; and PERF-NOTES.md measured
/// that a 1 ms ticker adds a ~1.1 ms p99 tail on these 2-vCPU machines, because a tick lands
/// inside ~0.6% of 6 us executions. At 10 ms that is ~0.06%, below the p99.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Most native stack wasm code may use (wasmtime's `max_wasm_stack`): deep recursion in a
/// guest traps with "call stack exhausted" here, named in the incident. wasmtime's default,
/// set explicitly because the incident message quotes it.
pub(crate) const WASM_STACK_BYTES: usize = 512 << 10;

/// The shared engine and what was decided while building it.
pub(crate) struct WasmtimeSetup {
    /// The one engine of the process.
    pub(crate) engine: Engine,
    /// Whether the pooling allocator is in use.
    pub(crate) pooling: bool,
    /// Hex digest of the wasmtime version and every compilation-relevant setting: compiled
    /// artifacts are only valid for an engine with the same fingerprint.
    pub(crate) fingerprint: String,
    /// Liveness of the ticker thread.
    pub(crate) ticker: TickerHandle,
}

impl WasmtimeSetup {
    /// Builds the engine per `config.pooling` and starts the ticker.
    pub(crate) fn new(config: &WasmConfig) -> Result<WasmtimeSetup, WasmError> {
        let (engine, pooling) = match config.pooling {
            PoolingMode::Off => (build(None)?, false),
            PoolingMode::On => (build(Some(pooling_config(config.max_concurrency)))?, true),
            PoolingMode::Auto => match build(Some(pooling_config(config.max_concurrency))) {
                Ok(engine) => (engine, true),
                Err(err) => {
                    tracing::info!(
                        error = %err,
                        "pooling allocator unavailable on this machine; allocating on demand"
                    );
                    (build(None)?, false)
                }
            },
        };
        let fingerprint = fingerprint(&engine);
        let ticker = TickerHandle::start(&engine)?;
        Ok(WasmtimeSetup {
            engine,
            pooling,
            fingerprint,
            ticker,
        })
    }
}

/// Builds an engine; with `Some(pool)` the pooling allocator, whose whole virtual-memory
/// reservation happens here, so a successful build is the probe.
fn build(pool: Option<PoolingAllocationConfig>) -> Result<Engine, WasmError> {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        // Fuel: the deterministic limit. Epochs: the wall-time limit and the yield points
        // that keep long guests from blocking a tokio worker.
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(WASM_STACK_BYTES)
        .parallel_compilation(true);
    if let Some(pool) = pool {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Engine::new(&config).map_err(|e| WasmError::Config(format!("{e:#}")))
}

/// Pool sizes follow the concurrency bound: at most `max_concurrency` stores are alive at
/// once (plus a few being dropped), each with one component instance made of a handful of core
/// instances. The defaults (1000 of everything) would reserve terabytes of address space.
/// Public so a benchmark can time bare wasmtime with exactly baton's pool and per-task memory
/// reset (`bench-wasm overhead`'s floor row).
pub fn pooling_config(max_concurrency: usize) -> PoolingAllocationConfig {
    let slots = u32::try_from(max_concurrency.max(1))
        .unwrap_or(u32::MAX)
        .saturating_mul(2)
        .max(16);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(slots)
        .total_stacks(slots)
        // Interpreter guests (CPython, SpiderMonkey) bring several core instances, memories
        // and tables per component.
        .total_core_instances(slots.saturating_mul(16))
        .total_memories(slots.saturating_mul(4))
        .total_tables(slots.saturating_mul(8))
        // The per-execution `StoreLimits` enforce the real table limit; the pool only needs
        // room for the largest table a module may start with.
        .table_elements(100_000);
    // PERF-NOTES.md: keep-resident pays off only with PAGEMAP_SCAN (Linux >= 6.7), which
    // resets just the dirtied pages; without it keep-resident is slower than the defaults.
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.linear_memory_keep_resident(1 << 20)
            .table_keep_resident(64 << 10)
            .pagemap_scan(Enabled::Yes);
    }
    pool
}

/// SHA-256 over the wasmtime version and the engine's compatibility hash (target, tunables,
/// enabled features: fuel and epoch instrumentation change the generated code).
fn fingerprint(engine: &Engine) -> String {
    struct Sha(Sha256);
    impl Hasher for Sha {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = Sha(Sha256::new());
    hasher.write(b"wasmtime-48.0.8");
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex(&hasher.0.finalize()[..8])
}

/// Tells whether the epoch ticker thread is still running.
#[derive(Debug, Clone)]
pub struct TickerHandle {
    alive: Weak<AtomicBool>,
}

impl TickerHandle {
    /// Starts the ticker thread. It holds only a weak engine reference (spin's pattern): once
    /// the runtime and every component are dropped, `upgrade` fails and the thread exits
    /// within one tick.
    fn start(engine: &Engine) -> Result<TickerHandle, WasmError> {
        let weak = engine.weak();
        let alive = Arc::new(AtomicBool::new(true));
        let handle = TickerHandle {
            alive: Arc::downgrade(&alive),
        };
        thread::Builder::new()
            .name("baton-wasm-epoch".into())
            .spawn(move || {
                loop {
                    thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
                alive.store(false, Ordering::Release);
                // `alive` (the only strong reference) is dropped here.
            })
            .map_err(|e| WasmError::Config(format!("cannot start the epoch ticker: {e}")))?;
        Ok(handle)
    }

    /// `true` while the ticker thread runs.
    pub fn is_running(&self) -> bool {
        self.alive
            .upgrade()
            .is_some_and(|alive| alive.load(Ordering::Acquire))
    }
}
