
mod wasm_runtime;
mod api_rest;
