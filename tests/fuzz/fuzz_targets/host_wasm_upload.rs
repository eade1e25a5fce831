//! `PUT /task-module/{topic}` and `.wasm` deployment resources: the bytes go through
//! `WasmRuntime::load` (header check, wasmtime's validation and compilation, world check).
#![no_main]

use std::sync::OnceLock;

use baton::wasm::{WasmConfig, WasmRuntime};
use libfuzzer_sys::fuzz_target;

fn setup() -> &'static (tokio::runtime::Runtime, WasmRuntime) {
    static SETUP: OnceLock<(tokio::runtime::Runtime, WasmRuntime)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("tokio runtime");
        let wasm = rt
            .block_on(async { WasmRuntime::new(WasmConfig::default()) })
            .expect("wasm runtime");
        (rt, wasm)
    })
}

fuzz_target!(|data: &[u8]| {
    let (rt, wasm) = setup();
    let _ = rt.block_on(wasm.load(data));
});
