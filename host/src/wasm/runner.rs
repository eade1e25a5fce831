//! One execution: a fresh `Store` with fuel, an epoch deadline, resource limits and the
//! task's WASI context; instantiate from the module's `InstancePre`; call `execute`
//! asynchronously; classify how it ended. Also the runtime object that ties engine, registry
//! and the concurrency bound together.
//!
//! Must not: block a tokio worker (calls are async and yield on every epoch tick), or let
//! anything about one execution leak into the next (nothing but the `InstancePre` is shared).

use std::future::Future;
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use wasmtime::component::{Func, ResourceTable, TypedFunc};
use wasmtime::{Store, Trap, UpdateDeadline};
use wasmtime_wasi_http::WasiHttpCtx;

use super::bindings::ServiceTask;
use super::bindings::baton::task::types as wit;
use super::convert::{variables_from_wit, variables_to_wit, wit_variables_size};
use super::engine::{EPOCH_TICK, WASM_STACK_BYTES, WasmtimeSetup};
use super::http::OutboundHttp;
use super::registry::Registry;
use super::state::{LimitHits, TaskLimiter, TaskState, linker};
use super::wasi::{self, LogSink};
use super::{
    FailureKind, Limits, LogLine, LogStream, ModuleInfo, TaskInput, TaskOutcome, WasmConfig,
    WasmError,
};

/// How long after the deadline the outer `tokio::time::timeout` fires. The epoch callback
/// normally ends a late guest within one tick; the outer timeout catches what epochs cannot
/// interrupt, such as a guest blocked in a host call.
pub(super) const OUTER_GRACE: Duration = Duration::from_millis(100);

/// Everything behind a `WasmRuntime`.
pub(crate) struct Runtime {
    pub(crate) engine: WasmtimeSetup,
    pub(crate) registry: Registry,
    pub(crate) default_limits: Limits,
    slots: Semaphore,
}

impl Runtime {
    pub(crate) fn new(config: WasmConfig) -> Result<Runtime, WasmError> {
        let engine = WasmtimeSetup::new(&config)?;
        let registry = Registry::new(
            linker(&engine.engine)?,
            config.cache_dir.clone(),
            engine.fingerprint.clone(),
        )?;
        Ok(Runtime {
            engine,
            registry,
            default_limits: config.default_limits,
            slots: Semaphore::new(config.max_concurrency.max(1)),
        })
    }

    pub(crate) async fn load(&self, bytes: &[u8]) -> Result<ModuleInfo, WasmError> {
        self.registry.load(&self.engine.engine, bytes).await
    }

    pub(crate) async fn execute(
        &self,
        sha256: &str,
        limits: &Limits,
        input: TaskInput,
    ) -> TaskOutcome {
        let Some(module) = self.registry.get(sha256) else {
            return failed(
                FailureKind::NotLoaded,
                format!("no module with sha256 {sha256} is loaded"),
                None,
                Vec::new(),
            );
        };
        // A free slot is taken without awaiting: an `acquire` spends tokio's cooperative budget,
        // and a caller that ran out of it (a loop of executions on one task, every 128th) was
        // told to yield, which handed that execution to the guest threads (the p99 of
        // `bench-wasm overhead`). The semaphore is never closed, so `acquire` only waits.
        let _slot = match self.slots.try_acquire() {
            Ok(slot) => Some(slot),
            Err(_) => self.slots.acquire().await.ok(),
        };

        // Wall time starts now, not while waiting for a slot.
        let deadline_at = Instant::now() + limits.deadline;
        let sink = LogSink::default();
        let state = TaskState {
            wasi: wasi::ctx(input.task_created_at, input.seed, &sink),
            table: ResourceTable::new(),
            limiter: TaskLimiter::new(limits),
            http: WasiHttpCtx::new(),
            outbound: OutboundHttp::new(limits.allowed_hosts.clone(), deadline_at, sink.clone()),
            sink: sink.clone(),
        };
        let mut store = Store::new(&self.engine.engine, state);
        store.limiter(|state| &mut state.limiter);
        if let Err(e) = store.set_fuel(limits.fuel) {
            return failed(
                FailureKind::Trap,
                format!("cannot set fuel: {e}"),
                None,
                sink.finish(),
            );
        }
        // The first yield hands a long guest from the caller's thread to the guest threads.
        if let Err(e) = store.fuel_async_yield_interval(Some(super::INLINE_FUEL)) {
            return failed(
                FailureKind::Trap,
                format!("cannot set the fuel yield interval: {e}"),
                None,
                sink.finish(),
            );
        }
        // Every tick the callback either ends the call (deadline passed) or yields to tokio
        // and re-arms for the next tick.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline_at {
                Err(DeadlineExceeded.into())
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });

        let task = task_to_wit(input);
        let run = async {
            let instance = module
                .pre
                .instance_pre()
                .instantiate_async(&mut store)
                .await
                .map_err(|e| (Stage::Instantiate, e))?;
            let execute = instance
                .get_func(&mut store, module.execute)
                .map(typed_execute)
                .ok_or_else(|| {
                    (
                        Stage::Instantiate,
                        wasmtime::format_err!("export `execute` is not a function"),
                    )
                })?;
            let (result,) = execute
                .call_async(&mut store, (&task,))
                .await
                .map_err(|e| (Stage::Call, e))?;
            Ok(result)
        };
        // Most executions end within their first poll (see `WasmRuntime::execute`), before
        // any timer could fire: the outer timer is armed only for one that does not, so the
        // common task neither creates nor drops a timer entry.
        let result = {
            let mut run = std::pin::pin!(run);
            match std::future::poll_fn(|cx| Poll::Ready(run.as_mut().poll(cx))).await {
                Poll::Ready(result) => Ok(result),
                Poll::Pending => {
                    let outer = tokio::time::Instant::from_std(deadline_at + OUTER_GRACE);
                    tokio::time::timeout_at(outer, run).await
                }
            }
        };
        let limiter = store.data().limiter.hits;
        drop(store);
        let logs = sink.finish();

        if let Ok(Ok(Ok(output))) = &result {
            let size = wit_variables_size(&output.variables);
            if size > limits.output_bytes {
                return output_too_large(size, limits, logs);
            }
        }
        if let Ok(Ok(Err(wit::TaskError::BpmnError(error)))) = &result {
            let size = wit_variables_size(&error.variables);
            if size > limits.output_bytes {
                return output_too_large(size, limits, logs);
            }
        }
        match result {
            Err(_elapsed) => failed(FailureKind::Deadline, deadline_message(limits), None, logs),
            Ok(Err((stage, error))) => classify_error(stage, &error, limiter, limits, logs),
            Ok(Ok(Ok(output))) => match variables_from_wit(output.variables) {
                Ok(variables) => TaskOutcome::Completed { variables, logs },
                Err(e) => failed(FailureKind::Guest, e, None, logs),
            },
            Ok(Ok(Err(wit::TaskError::BpmnError(error)))) => {
                match variables_from_wit(error.variables) {
                    Ok(variables) => TaskOutcome::BpmnError {
                        code: error.code,
                        message: error.message,
                        variables,
                        logs,
                    },
                    Err(e) => failed(FailureKind::Guest, e, None, logs),
                }
            }
            Ok(Ok(Err(wit::TaskError::Failure(failure)))) => failed(
                FailureKind::Guest,
                failure.message,
                failure.details.map(|d| cut(d, MAX_DETAILS)),
                logs,
            ),
        }
    }
}

/// The signature of `execute` in the world.
type ExecuteFunc<'task> = TypedFunc<(&'task wit::Task,), (Result<wit::Output, wit::TaskError>,)>;

// The signature the bindings type-check `execute` against (their `func_execute` returns the
// export typed with it) is exactly `ExecuteFunc`: a change of the world that changes it stops
// the build here instead of leaving `typed_execute` with a stale signature.
const _: for<'task> fn(&'task ServiceTask) -> ExecuteFunc<'task> = ServiceTask::func_execute;

/// `func` (an instance's `execute` export) as a typed function, without type-checking it again
/// per instance: the bindings' generated code type-checks each instance's export, which cost
/// ~5% of a task's overhead in `perf` (`bench-wasm overhead`).
#[allow(unsafe_code)]
fn typed_execute<'task>(func: Func) -> ExecuteFunc<'task> {
    // SAFETY: `new_unchecked` trusts `func` to have the signature. `func` is the export
    // `execute` of an instance of the very component whose `ServiceTaskPre` was built at load
    // (`registry::check_world`), and building that pre type-checked this export of this
    // component against exactly this signature (the generated `ServiceTaskIndices::new`; the
    // check under `ExecuteFunc` keeps the two the same); a component's export types are fixed,
    // so every instance's `execute` has them too.
    unsafe { TypedFunc::new_unchecked(func) }
}

/// Longest failure details kept from a guest (the message is cut by the engine).
const MAX_DETAILS: usize = 64 << 10;

/// `text` cut to at most `max` bytes on a char boundary, with a note saying so.
fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut at = max;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.truncate(at);
        text.push_str(" ... (cut)");
    }
    text
}

fn output_too_large(size: usize, limits: &Limits, logs: Vec<LogLine>) -> TaskOutcome {
    failed(
        FailureKind::Guest,
        format!(
            "output of {} exceeds the output limit of {}",
            rounded(size),
            bytes(limits.output_bytes)
        ),
        None,
        logs,
    )
}

/// The error the epoch callback raises when the wall-time deadline has passed.
#[derive(Debug)]
pub(super) struct DeadlineExceeded;

impl std::fmt::Display for DeadlineExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("wall-time deadline exceeded")
    }
}

impl std::error::Error for DeadlineExceeded {}

/// Where an error happened.
#[derive(Debug, Clone, Copy)]
pub(super) enum Stage {
    Instantiate,
    Call,
}

pub(super) fn classify_error(
    stage: Stage,
    error: &wasmtime::Error,
    hits: LimitHits,
    limits: &Limits,
    logs: Vec<LogLine>,
) -> TaskOutcome {
    let details = Some(format!("{error:?}"));
    if error.is::<DeadlineExceeded>() {
        return failed(
            FailureKind::Deadline,
            deadline_message(limits),
            details,
            logs,
        );
    }
    if matches!(error.downcast_ref::<Trap>(), Some(Trap::OutOfFuel)) {
        return failed(
            FailureKind::FuelExhausted,
            format!("fuel exhausted after {} units", thousands(limits.fuel)),
            details,
            logs,
        );
    }
    if hits.memory {
        return failed(
            FailureKind::Memory,
            format!("memory limit of {} exceeded", bytes(limits.memory_bytes)),
            details,
            logs,
        );
    }
    if hits.table {
        return failed(
            FailureKind::Memory,
            format!(
                "table limit of {} elements exceeded",
                thousands(limits.table_elements as u64)
            ),
            details,
            logs,
        );
    }
    if matches!(error.downcast_ref::<Trap>(), Some(Trap::StackOverflow)) {
        return failed(
            FailureKind::Memory,
            format!(
                "wasm stack limit of {} exceeded (call stack exhausted)",
                bytes(WASM_STACK_BYTES)
            ),
            details,
            logs,
        );
    }
    let text = format!("{error:#}");
    if text.contains("instance count too high") {
        return failed(
            FailureKind::Memory,
            format!("instance limit of {} exceeded", limits.instances),
            details,
            logs,
        );
    }
    let message = match (stage, error.downcast_ref::<Trap>()) {
        (_, Some(trap)) => {
            // wasmtime's `Trap` text already starts with "wasm trap: ".
            let text = trap.to_string();
            let mut message = if text.starts_with("wasm trap") {
                text
            } else {
                format!("wasm trap: {text}")
            };
            if *trap == Trap::MemoryOutOfBounds {
                // A guest's own stack lives in its linear memory without a guard page (Rust
                // puts it first), so overflowing it ends here, not at the wasm stack limit.
                message.push_str(
                    " (a bad pointer, or an overflow of the guest's own stack in linear memory)",
                );
            }
            if let Some(panic) = panic_message(&logs) {
                message.push_str(": ");
                message.push_str(&panic);
            }
            message
        }
        (Stage::Instantiate, None) => format!("instantiation failed: {}", root(error)),
        (Stage::Call, None) => format!("wasm trap: {}", root(error)),
    };
    failed(FailureKind::Trap, message, details, logs)
}

/// The innermost error message (without wasmtime's backtrace context).
fn root(error: &wasmtime::Error) -> String {
    error.root_cause().to_string()
}

/// The panic message a Rust guest printed to stderr (`thread '..' panicked at file:line:col:`
/// followed by the message), or the last stderr lines of any other guest.
fn panic_message(logs: &[LogLine]) -> Option<String> {
    let stderr: Vec<&str> = logs
        .iter()
        .filter(|line| line.stream == LogStream::Stderr)
        .map(|line| line.message.trim())
        .filter(|line| !line.is_empty() && !line.starts_with("note: run with"))
        .collect();
    if let Some(at) = stderr.iter().position(|line| line.contains("panicked at")) {
        let message = stderr[at + 1..].join(" ");
        return Some(if message.is_empty() {
            stderr[at].to_owned()
        } else {
            format!("{message} ({})", stderr[at])
        });
    }
    let tail = stderr[stderr.len().saturating_sub(3)..].join(" ");
    (!tail.is_empty()).then_some(tail)
}

fn failed(
    kind: FailureKind,
    message: String,
    details: Option<String>,
    logs: Vec<LogLine>,
) -> TaskOutcome {
    TaskOutcome::Failed {
        message,
        details,
        kind,
        logs,
    }
}

fn deadline_message(limits: &Limits) -> String {
    let d = limits.deadline;
    if d.subsec_nanos() == 0 {
        format!("deadline of {} s exceeded", d.as_secs())
    } else {
        format!("deadline of {} ms exceeded", d.as_millis())
    }
}

/// `10000000` → `10,000,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `67108864` → `64 MiB`; sizes that are not whole MiB/KiB stay in bytes.
fn bytes(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// A size in the largest whole-or-tenths unit: `104857600` → `100 MiB`, `1536` → `1.5 KiB`.
fn rounded(n: usize) -> String {
    let (value, unit) = if n >= 1 << 20 {
        (n as f64 / f64::from(1u32 << 20), "MiB")
    } else if n >= 1 << 10 {
        (n as f64 / 1024.0, "KiB")
    } else {
        return format!("{n} bytes");
    };
    let text = format!("{value:.1}");
    format!("{} {unit}", text.strip_suffix(".0").unwrap_or(&text))
}

fn task_to_wit(input: TaskInput) -> wit::Task {
    wit::Task {
        variables: variables_to_wit(input.variables),
        topic: input.topic,
        process_instance_id: input.process_instance_id,
        activity_id: input.activity_id,
        activity_instance_id: input.activity_instance_id,
        business_key: input.business_key,
        attempt: input.attempt,
        retries_left: input.retries_left,
    }
}

// The ticker interval is the granularity of both the deadline and the yields.
const _: () = assert!(EPOCH_TICK.as_millis() < OUTER_GRACE.as_millis());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(10_000_000), "10,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(bytes(64 << 20), "64 MiB");
        assert_eq!(bytes(1500), "1500 bytes");
        assert_eq!(rounded(100 << 20), "100 MiB");
        assert_eq!(rounded(1536), "1.5 KiB");
        assert_eq!(rounded(10), "10 bytes");
        assert_eq!(cut("grüße".into(), 3), "gr ... (cut)");
        let limits = Limits {
            deadline: Duration::from_millis(1500),
            ..Limits::default()
        };
        assert_eq!(deadline_message(&limits), "deadline of 1500 ms exceeded");
        assert_eq!(
            deadline_message(&Limits::default()),
            "deadline of 2 s exceeded"
        );
    }
}
