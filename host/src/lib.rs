//! baton: a BPMN 2.0 process engine in one binary.
//!
//! - [`engine`]: the process engine service (executor, scheduler, long polling, wasm dispatch).
//! - [`store`]: the only module that touches sled.
//! - [`wasm`]: the WebAssembly task runtime (wasmtime, component model).
//! - [`like`]: Camunda's `*Like` filters, matched in linear time.
//! - [`api`]: the Camunda-7-compatible REST API under `/engine-rest`.
//! - [`server`]: binds it all to a listener (`run(listener, config, shutdown)`).
//! - [`cli`]: the `baton` command line.

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
