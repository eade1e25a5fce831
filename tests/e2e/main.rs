
mod wasm_runtime;
