//! Builds the script interpreter component (`../guests/script-js`, a JavaScript interpreter
//! compiled to wasm32-wasip2) that the `baton` binary ships with `include_bytes!`, and tells
//! the crate where it is through `BATON_SCRIPT_JS_WASM`.
//!
//! The same safeguards as `tests/build.rs` (STYLE.md §9):
//! - the nested cargo gets its own target dir (`guests/target/host-build`), so it never waits
//!   on the outer build's lock (rust-lang/cargo#6412), and every profile of the outer build
//!   (check, clippy, test, release) shares one guest build;
//! - the inherited environment is cleaned (host RUSTFLAGS, coverage flags, clippy/sccache
//!   wrappers) and the outer `CARGO` binary is used, with `--locked`;
//! - the wasm32-wasip2 target is checked first and added with `rustup target add` if missing;
//! - `SKIP_GUEST_BUILD=1` skips the build: the binary then embeds an empty interpreter and every
//!   script fails with a message saying why, instead of the build failing.
//!
//! The guest is built with the guests workspace's `script` profile (opt-level "s", no LTO, 16
//! codegen units): boa is large and this build runs on every cold `baton` build.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The only target guests are built for: rustc emits a WASI 0.2 component directly.
const TARGET: &str = "wasm32-wasip2";
/// The guest package and the cargo profile it is built with.
const PACKAGE: &str = "script-js";
const PROFILE: &str = "script";

fn main() {
    if let Err(e) = run() {
        // A build script reports failure by panicking; the message is the whole story.
        panic!("building the script interpreter failed: {e}");
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let out_dir = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);
    let guests_dir = manifest_dir
        .join("../guests")
        .canonicalize()
        .map_err(|e| format!("guests/: {e}"))?;
    let wit_dir = manifest_dir.join("../wit/script");

    for path in ["Cargo.toml", "Cargo.lock", ".cargo", PACKAGE] {
        println!("cargo:rerun-if-changed={}", guests_dir.join(path).display());
    }
    println!("cargo:rerun-if-changed={}", wit_dir.display());
    println!("cargo:rerun-if-env-changed=SKIP_GUEST_BUILD");

    let skip = env::var("SKIP_GUEST_BUILD").is_ok_and(|v| !v.is_empty() && v != "0");
    let wasm = if skip {
        println!("cargo:warning=SKIP_GUEST_BUILD is set: the script interpreter was not built");
        let empty = out_dir.join("script_js_not_built.wasm");
        fs::write(&empty, b"").map_err(|e| e.to_string())?;
        empty
    } else {
        ensure_target()?;
        let target_dir = guests_dir.join("target").join("host-build");
        build(&guests_dir, &target_dir)?;
        let wasm = target_dir
            .join(TARGET)
            .join(PROFILE)
            .join(format!("{}.wasm", PACKAGE.replace('-', "_")));
        if !wasm.exists() {
            return Err(format!("built, but {} is missing", wasm.display()));
        }
        wasm
    };
    println!("cargo:rustc-env=BATON_SCRIPT_JS_WASM={}", wasm.display());
    Ok(())
}

/// Makes sure the active toolchain has the wasm32-wasip2 standard library, adding it with
/// rustup when needed (never `rustup update`/`toolchain install`, which replace the toolchain).
fn ensure_target() -> Result<(), String> {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let libdir = Command::new(&rustc)
        .args(["--print=target-libdir", "--target", TARGET])
        .output()
        .map_err(|e| format!("running `{rustc} --print=target-libdir`: {e}"))?;
    let libdir = String::from_utf8_lossy(&libdir.stdout).trim().to_owned();
    if !libdir.is_empty() && Path::new(&libdir).exists() {
        return Ok(());
    }
    match Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
    {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("`rustup target add {TARGET}` failed ({status})")),
        Err(_) => Err(format!(
            "the {TARGET} target is not installed and rustup is not on PATH: install the \
             target's standard library, or set SKIP_GUEST_BUILD=1"
        )),
    }
}

/// Runs the nested `cargo build` of the interpreter with a clean environment.
fn build(guests_dir: &Path, target_dir: &Path) -> Result<(), String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .arg("build")
        .args(["--profile", PROFILE, "--locked", "-p", PACKAGE])
        .args(["--target", TARGET])
        .arg("--manifest-path")
        .arg(guests_dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir)
        // Host flags (coverage instrumentation, target-cpu, ...) must not leak into wasm.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env("RUSTFLAGS", "")
        // Clippy's driver and sccache-style wrappers break or slow the wasm build.
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER")
        // The outer build's profile settings must not reach the guest build.
        .env_remove("CARGO_PROFILE_RELEASE_LTO")
        .env_remove("PROFILE")
        .status()
        .map_err(|e| format!("running `{cargo} build`: {e}"))?;
    if !status.success() {
        return Err(format!(
            "`cargo build -p {PACKAGE}` for {TARGET} failed ({status}); set SKIP_GUEST_BUILD=1 to skip"
        ));
    }
    Ok(())
}
