
mod wasm_runtime;
mod api_rest;
mod api_flow;
mod wasm_tasks;
