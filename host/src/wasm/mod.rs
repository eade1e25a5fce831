//! The WebAssembly task runtime.
