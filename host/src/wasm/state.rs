//! Per-execution store data: the `TaskState` every component instance runs against (WASI,
//! `wasi:http`, the log sink, the resource limiter), and the linker built for it once.
//!
//! Its own module so that the registry (which pre-links modules against `TaskState`) and the
//! runner (which creates one per execution) both depend on it without depending on each other.

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::bindings::ServiceTask;
use super::bindings::baton::task::{log as wit_log, types as wit};
use super::http::OutboundHttp;
use super::wasi::LogSink;
use super::{Limits, LogLevel, WasmError};

/// The linker every module is pre-linked against: WASI p2 (async), `wasi:http` (which denies
/// every request unless the module's grant allows its host) and `baton:task/log`.
pub(super) fn linker(engine: &wasmtime::Engine) -> Result<Linker<TaskState>, WasmError> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)
        .and_then(|()| wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker))
        .and_then(|()| ServiceTask::add_to_linker::<_, HasSelf<TaskState>>(&mut linker, |s| s))
        .map_err(|e| WasmError::Config(format!("linking host interfaces: {e:#}")))?;
    Ok(linker)
}

/// Per-execution store data.
pub(crate) struct TaskState {
    pub(super) wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) limiter: TaskLimiter,
    pub(super) http: WasiHttpCtx,
    pub(super) outbound: OutboundHttp,
    pub(super) sink: LogSink,
}

impl WasiView for TaskState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for TaskState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.outbound,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

impl wit_log::Host for TaskState {
    fn log(&mut self, level: wit_log::Level, message: String) {
        let level = match level {
            wit_log::Level::Trace => LogLevel::Trace,
            wit_log::Level::Debug => LogLevel::Debug,
            wit_log::Level::Info => LogLevel::Info,
            wit_log::Level::Warn => LogLevel::Warn,
            wit_log::Level::Error => LogLevel::Error,
        };
        self.sink.log(level, message);
    }
}

impl wit::Host for TaskState {}

/// Which limits a guest ran into.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct LimitHits {
    pub(super) memory: bool,
    pub(super) table: bool,
}

/// [`StoreLimits`] plus a record of which limit denied a growth, so a guest that aborts
/// after a failed allocation is reported as a memory failure, not a generic trap.
pub(super) struct TaskLimiter {
    limits: StoreLimits,
    memory_bytes: usize,
    table_elements: usize,
    pub(super) hits: LimitHits,
}

impl TaskLimiter {
    pub(super) fn new(limits: &Limits) -> TaskLimiter {
        TaskLimiter {
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.memory_bytes)
                .table_elements(limits.table_elements)
                .instances(limits.instances)
                .build(),
            memory_bytes: limits.memory_bytes,
            table_elements: limits.table_elements,
            hits: LimitHits::default(),
        }
    }
}

impl ResourceLimiter for TaskLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.hits.memory = true;
        }
        self.limits.memory_growing(current, desired, maximum)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            self.hits.table = true;
        }
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}
