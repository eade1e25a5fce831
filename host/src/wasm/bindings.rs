//! Rust bindings for the `baton:task/service-task` world (`wit/task.wit`), generated once here
//! and nowhere else (spin's `world` crate pattern): every other module uses these types.
//!
//! The `execute` export is async so calls can yield to tokio on epoch ticks; the `log` import
//! is synchronous because it only appends to a buffer in the store.

// The generated code has no docs of its own; the WIT file documents every item.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "baton:task/service-task",
    exports: { default: async },
});
