//! `bench-wasm`: issue 5's numbers for the in-process WebAssembly runtime.
//!
//! - `bench-wasm overhead`: per-task overhead through `baton::wasm::WasmRuntime`: how long
//!   the caller waits for the outcome (instantiate + call; the store is dropped after the
//!   outcome is returned), p50/p99, and the process CPU per task (teardown included), for two
//!   Rust guests (pooling allocator on and off): `echo`, which makes a real task's host calls
//!   (clocks, random, a log line), and `pass`, which makes none (the overhead alone). Each
//!   guest also runs on a bare wasmtime engine with PERF-NOTES.md's floor settings (the floor
//!   on this machine today: what baton's wrapper adds is the difference). When
//!   `guests/build-polyglot.sh` has built them, also the Python and JavaScript `stock-check`
//!   guests.
//! - `bench-wasm instrumentation`: what fuel metering and epoch interruption cost a CPU-bound
//!   guest (`guests/cpu-bound`, a tight integer loop with no host calls: the worst case for
//!   both). baton always runs with both on, so this builds four bare wasmtime engines with
//!   baton's other settings, one per combination, and times the same call on each.
//!
//! `cargo build --release -p baton-tests --bin bench-wasm && target/release/bench-wasm`
//! (both parts). `BENCH_EXECUTIONS` sets the Rust guests' executions (default 20,000; the
//! polyglot guests get 1/60 of it), `BENCH_POOLING=on|off` times the Rust guests in one
//! allocation mode only (both by default), `BENCH_GUEST=echo|pass` one Rust guest only
//! (both by default), `BENCH_ROUNDS` the cpu-bound loop length (default 20,000,000).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use baton::wasm::{Limits, PoolingMode, TaskInput, TaskOutcome, WasmConfig, WasmRuntime};
use baton_bpmn::{Value, Variables};
use baton_tests::bench::{cpu_seconds, env_count};
use baton_tests::guests;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, UpdateDeadline,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

mod bindings {
    #![allow(missing_docs)]
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "baton:task/service-task",
        exports: { default: async },
    });
}
use bindings::ServiceTask;
use bindings::baton::task::{log as wit_log, types as wit};

fn input(variables: Variables) -> TaskInput {
    TaskInput {
        topic: "bench".into(),
        process_instance_id: "pi-1".into(),
        activity_id: "Task_1".into(),
        activity_instance_id: "Task_1:ai-1".into(),
        business_key: None,
        attempt: 1,
        retries_left: Some(3),
        variables,
        task_created_at: 1_767_225_600_000,
        seed: 42,
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// Runs `n` executions through baton's runtime after `warm` unmeasured ones; prints the row.
async fn time_executions(
    label: &str,
    rt: &WasmRuntime,
    sha: &str,
    limits: &Limits,
    variables: &Variables,
    warm: usize,
    n: usize,
) -> anyhow::Result<()> {
    time_calls(label, warm, n, || async {
        match rt.execute(sha, limits, input(variables.clone())).await {
            TaskOutcome::Completed { .. } => Ok(()),
            outcome => bail!("{label}: {outcome:?}"),
        }
    })
    .await
}

/// Times `n` calls of `call` one at a time after `warm` unmeasured ones; prints p50/p99/max,
/// the CPU per call and calls/s.
async fn time_calls<F, Fut>(label: &str, warm: usize, n: usize, mut call: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    for _ in 0..warm {
        call().await?;
    }
    let mut samples = Vec::with_capacity(n);
    let cpu_before = cpu_seconds(std::process::id());
    let all = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        call().await?;
        samples.push(t.elapsed());
    }
    report(label, n, samples, all.elapsed(), cpu_before);
    Ok(())
}

/// Prints one row: p50/p99/max of `samples`, the process CPU per task since `cpu_before`, and
/// tasks/s over `total`.
fn report(
    label: &str,
    n: usize,
    mut samples: Vec<Duration>,
    total: Duration,
    cpu_before: Option<f64>,
) {
    // Process CPU (every thread, including the store teardown that runs after the outcome is
    // returned): what a task costs the machine, beside how long the caller waits for it.
    let cpu = match (cpu_before, cpu_seconds(std::process::id())) {
        (Some(before), Some(after)) => format!("{:.1}", (after - before) * 1e6 / n as f64),
        _ => "?".to_owned(),
    };
    samples.sort();
    println!(
        "| {label} | {n} | {:.1} | {:.1} | {:.1} | {cpu} | {:.0} |",
        pct(&samples, 0.50).as_secs_f64() * 1e6,
        pct(&samples, 0.99).as_secs_f64() * 1e6,
        samples[samples.len() - 1].as_secs_f64() * 1e6,
        n as f64 / total.as_secs_f64()
    );
}

async fn overhead() -> anyhow::Result<()> {
    let executions = env_count("BENCH_EXECUTIONS", 20_000);
    println!(
        "| guest | executions | p50 µs | p99 µs | max µs | CPU µs per task | tasks/s (1 at a time) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let task_vars: Variables = [
        ("orderId".to_owned(), Value::String("o-1".into())),
        ("amount".to_owned(), Value::Integer(5)),
    ]
    .into_iter()
    .collect();
    // `BENCH_POOLING=on` or `off` times one mode only (for a profile of one).
    let modes = match std::env::var("BENCH_POOLING").as_deref() {
        Ok("on") => vec![PoolingMode::Auto],
        Ok("off") => vec![PoolingMode::Off],
        _ => vec![PoolingMode::Auto, PoolingMode::Off],
    };
    let pooling_on_timed = modes.contains(&PoolingMode::Auto);
    // `echo` makes the host calls a real task makes (clocks, random, a log line); `pass`
    // makes none, so its rows are the per-task overhead alone.
    let guests = [
        (guests::ECHO, "echo", "Rust echo, bare wasmtime (the floor)"),
        (guests::PASS, "pass", "Rust pass, bare wasmtime (the floor)"),
    ];
    // `BENCH_GUEST=echo` or `pass` times one guest only (for a profile of one).
    let only = std::env::var("BENCH_GUEST").ok();
    for (path, guest, floor_label) in guests {
        if only.as_deref().is_some_and(|only| only != guest) {
            continue;
        }
        for &pooling in &modes {
            let rt = WasmRuntime::new(WasmConfig {
                pooling,
                ..WasmConfig::default()
            })?;
            let sha = rt.load(&std::fs::read(path)?).await?.sha256;
            let label = format!(
                "Rust {guest}, pooling {}",
                if rt.pooling_enabled() { "on" } else { "off" }
            );
            time_executions(
                &label,
                &rt,
                &sha,
                &Limits::default(),
                &task_vars,
                executions / 10,
                executions,
            )
            .await?;
        }
        if pooling_on_timed {
            time_floor(path, floor_label, executions).await?;
        }
    }
    let polyglot = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guests/target/polyglot");
    let rt = WasmRuntime::new(WasmConfig {
        cache_dir: Some(std::env::temp_dir().join("baton-polyglot-artifacts")),
        ..WasmConfig::default()
    })?;
    // The interpreters need the per-module raise the README documents.
    let limits = Limits {
        instances: 50,
        table_elements: 100_000,
        memory_bytes: 256 << 20,
        ..Limits::default()
    };
    let items = serde_json::json!([{"sku": "A-1", "quantity": 2}, {"sku": "OUT-7", "quantity": 1}]);
    let stock_vars: Variables = [("items".to_owned(), Value::Json(items))]
        .into_iter()
        .collect();
    for (file, label) in [
        (
            "stock_check_py.wasm",
            "Python stock-check (componentize-py)",
        ),
        (
            "stock_check_js.wasm",
            "JavaScript stock-check (componentize-js)",
        ),
    ] {
        let path = polyglot.join(file);
        let Ok(bytes) = std::fs::read(&path) else {
            println!("| {label} | not built: run guests/build-polyglot.sh | | | | | |");
            continue;
        };
        let sha = rt.load(&bytes).await?.sha256;
        let n = (executions / 60).max(1);
        time_executions(label, &rt, &sha, &limits, &stock_vars, n / 10, n).await?;
    }
    Ok(())
}

/// Store data of the bare engines: WASI (nothing granted) and a log import that drops lines.
struct Bare {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Bare {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wit_log::Host for Bare {
    fn log(&mut self, _level: wit_log::Level, _message: String) {}
}

impl wit::Host for Bare {}

/// One engine configuration, compiled and linked once.
struct Variant {
    label: &'static str,
    fuel: bool,
    epochs: bool,
    engine: Engine,
    pre: bindings::ServiceTaskPre<Bare>,
}

impl Variant {
    fn new(label: &'static str, fuel: bool, epochs: bool, bytes: &[u8]) -> anyhow::Result<Self> {
        Variant::with_allocation(label, fuel, epochs, None, bytes)
    }

    /// A variant on baton's own pooling allocator settings (`baton::wasm::pooling_config`:
    /// PERF-NOTES.md's keep-resident memory reset by PAGEMAP_SCAN where the kernel has it),
    /// fuel and epochs on: the cost of wasmtime alone for a guest, without baton's execution
    /// wrapper.
    fn floor(label: &'static str, bytes: &[u8]) -> anyhow::Result<Self> {
        let pool = baton::wasm::pooling_config(WasmConfig::default().max_concurrency);
        Variant::with_allocation(label, true, true, Some(pool), bytes)
    }

    fn with_allocation(
        label: &'static str,
        fuel: bool,
        epochs: bool,
        pool: Option<PoolingAllocationConfig>,
        bytes: &[u8],
    ) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .consume_fuel(fuel)
            .epoch_interruption(epochs);
        if let Some(pool) = pool {
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&config)?;
        let component = Component::new(&engine, bytes)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        ServiceTask::add_to_linker::<_, HasSelf<Bare>>(&mut linker, |s| s)?;
        let pre = bindings::ServiceTaskPre::new(linker.instantiate_pre(&component)?)?;
        Ok(Variant {
            label,
            fuel,
            epochs,
            engine,
            pre,
        })
    }

    /// One execution of `cpu-bound`'s `kernel` with `rounds`, timed from instantiation to
    /// return.
    async fn run(&self, kernel: &str, rounds: i64) -> anyhow::Result<Duration> {
        let variables = vec![
            ("rounds".into(), wit::Value::Long(rounds)),
            ("kernel".into(), wit::Value::String(kernel.into())),
        ];
        let started = Instant::now();
        let output = self.execute(variables).await?;
        let elapsed = started.elapsed();
        match output.variables.iter().any(|(n, _)| n == "digest") {
            true => Ok(elapsed),
            false => bail!("{}: unexpected result {output:?}", self.label),
        }
    }

    /// A fresh store (WASI granting nothing), instantiate, call `execute` with `variables`,
    /// drop the store.
    async fn execute(&self, variables: Vec<(String, wit::Value)>) -> anyhow::Result<wit::Output> {
        let mut store = Store::new(
            &self.engine,
            Bare {
                wasi: WasiCtx::builder().build(),
                table: ResourceTable::new(),
            },
        );
        if self.fuel {
            store.set_fuel(u64::MAX)?;
        }
        if self.epochs {
            // baton's setting: yield to tokio on every tick.
            store.set_epoch_deadline(1);
            store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
        }
        let task = wit::Task {
            topic: "bench".into(),
            process_instance_id: "pi-1".into(),
            activity_id: "Task_1".into(),
            activity_instance_id: "Task_1:ai-1".into(),
            business_key: None,
            attempt: 1,
            retries_left: None,
            variables,
        };
        let instance = self.pre.instantiate_async(&mut store).await?;
        match instance.call_execute(&mut store, &task).await? {
            Ok(output) => Ok(output),
            Err(e) => bail!("{}: the guest failed: {e:?}", self.label),
        }
    }
}

/// The same task as baton's rows for the guest at `path`, one at a time on a bare engine
/// ([`Variant::floor`]): wasmtime's own share of a task on this machine today, measured in
/// the same run.
async fn time_floor(path: &str, label: &'static str, n: usize) -> anyhow::Result<()> {
    let floor = Variant::floor(label, &std::fs::read(path)?)?;
    let variables = || {
        vec![
            ("orderId".to_owned(), wit::Value::String("o-1".into())),
            ("amount".to_owned(), wit::Value::Integer(5)),
        ]
    };
    time_calls(floor.label, n / 10, n, || async {
        floor.execute(variables()).await.map(|_| ())
    })
    .await
}

async fn instrumentation() -> anyhow::Result<()> {
    let rounds = env_count("BENCH_ROUNDS", 20_000_000) as i64;
    let bytes = std::fs::read(guests::CPU_BOUND).context("cpu-bound guest")?;
    let variants = [
        Variant::new("neither", false, false, &bytes)?,
        Variant::new("fuel only", true, false, &bytes)?,
        Variant::new("epochs only", false, true, &bytes)?,
        Variant::new("fuel + epochs (baton)", true, true, &bytes)?,
    ];
    // The ticker baton runs (10 ms), for every engine with epochs on.
    let ticking = Arc::new(AtomicBool::new(true));
    let engines: Vec<Engine> = variants
        .iter()
        .filter(|v| v.epochs)
        .map(|v| v.engine.clone())
        .collect();
    let flag = Arc::clone(&ticking);
    let ticker = std::thread::spawn(move || {
        while flag.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(10));
            for engine in &engines {
                engine.increment_epoch();
            }
        }
    });

    for (kernel, shape) in [
        ("mix", "multiply chains in one basic block"),
        (
            "scan",
            "a tokenizer's byte classifier: short, branchy blocks",
        ),
    ] {
        // Interleave the variants so machine noise spreads evenly over them.
        let runs = 15;
        let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
        for v in &variants {
            v.run(kernel, rounds / 10).await?;
        }
        for _ in 0..runs {
            for (i, v) in variants.iter().enumerate() {
                samples[i].push(v.run(kernel, rounds).await?);
            }
        }
        println!();
        println!("cpu-bound `{kernel}` ({shape}), {rounds} rounds, {runs} runs per variant");
        println!(
            "| instrumentation | median ms | p10-p90 ms | ns per round | overhead vs neither |"
        );
        println!("|---|---:|---:|---:|---:|");
        for s in &mut samples {
            s.sort();
        }
        let base = samples[0][runs / 2].as_secs_f64();
        for (v, s) in variants.iter().zip(&samples) {
            let m = s[runs / 2].as_secs_f64();
            println!(
                "| {} | {:.1} | {:.1}-{:.1} | {:.2} | {:+.1}% |",
                v.label,
                m * 1e3,
                pct(s, 0.10).as_secs_f64() * 1e3,
                pct(s, 0.90).as_secs_f64() * 1e3,
                m * 1e9 / rounds as f64,
                (m / base - 1.0) * 100.0
            );
        }
    }
    ticking.store(false, Ordering::Relaxed);
    let _ = ticker.join();
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let what = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    // One worker thread: the figures are per task, not per machine.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        println!(
            "bench-wasm: {} CPUs, {}",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            if cfg!(debug_assertions) {
                "debug build (numbers are not representative)"
            } else {
                "release build"
            }
        );
        match what.as_str() {
            "overhead" => overhead().await,
            "instrumentation" => instrumentation().await,
            "all" => {
                overhead().await?;
                instrumentation().await
            }
            other => bail!("unknown benchmark `{other}`: overhead | instrumentation | all"),
        }
    })
}
