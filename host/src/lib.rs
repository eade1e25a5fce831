//! baton: a BPMN 2.0 process engine in one binary.
//!
//! - [`engine`]: the process engine service (executor, scheduler, long polling, wasm dispatch).
//! - [`store`]: the only module that touches sled.
//! - [`wasm`]: the WebAssembly task runtime (wasmtime, component model).
//! - [`like`]: Camunda's `*Like` filters, matched in linear time.
//! - [`api`]: the Camunda-7-compatible REST API under `/engine-rest`.
//! - [`server`]: binds it all to a listener (`run(listener, config, shutdown)`).
//! - [`cli`]: the `baton` command line.

/// The process-wide allocator of every binary that links baton (the server, the benches,
/// the tests): mimalloc. A durable step allocates and frees many small buffers (keys,
/// encoded records, JSON); under glibc's malloc, allocation was about a fifth of the CPU
/// of `bench-engine throughput` at 64 clients. Built without transparent huge pages
/// (`no_thp`): mimalloc otherwise advises them on its 1 GiB arena, and each thread's first
/// small allocation made a 2 MiB page resident (idle server 71 MB RSS, 26 MB without). Not
/// under the fuzzer, which watches allocations itself.
#[cfg(not(fuzzing))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod api;
pub mod cli;
pub mod clock;
pub mod cockpit;
pub mod config;
mod digest;
pub mod engine;
pub mod like;
pub mod records;
pub mod server;
pub mod store;
pub mod wasm;
