//! Loaded modules: validation, the world check, compile-once caching in memory (by sha256)
//! and on disk (a serialized artifact keyed by sha256 and the engine fingerprint), and the
//! `InstancePre` with its pre-resolved export index that every execution starts from.
//!
//! Must not: compile on an async worker thread (compilation runs in `spawn_blocking`), or
//! trust an artifact file it cannot verify.

use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, ComponentExportIndex, Linker};

use super::bindings::ServiceTaskPre;
use super::state::TaskState;
use super::{ModuleInfo, WasmError};
use crate::digest::sha256_hex;

/// The world every task component must implement.
const WORLD: &str = "baton:task/service-task@0.1.0";
/// Imports of our own package a component may have (`types` appears when a component
/// imports the type-only interface).
const OWN_IMPORTS: [&str; 2] = ["baton:task/log@0.1.0", "baton:task/types@0.1.0"];
/// WASI 0.2 packages the linker provides (wasmtime-wasi p2, locked down per execution;
/// `http` sends only to the hosts granted to the module).
const WASI_PACKAGES: [&str; 7] = [
    "io",
    "clocks",
    "random",
    "cli",
    "filesystem",
    "sockets",
    "http",
];
/// The import that marks a component as wanting outbound HTTP.
const OUTGOING_HANDLER: &str = "wasi:http/outgoing-handler@";
/// Artifact file header: magic and format version, then the SHA-256 of the rest.
const ARTIFACT_MAGIC: &[u8; 8] = b"BATONCW1";

/// A module ready to execute.
pub(crate) struct LoadedModule {
    /// Pre-linked instance; building it type-checked `execute` against the world.
    pub(crate) pre: ServiceTaskPre<TaskState>,
    /// The `execute` export, resolved once.
    pub(crate) execute: ComponentExportIndex,
    /// What `load` reported.
    pub(crate) info: ModuleInfo,
}

/// The module table.
pub(crate) struct Registry {
    modules: RwLock<HashMap<String, Arc<LoadedModule>>>,
    compiles: Arc<AtomicU64>,
    linker: Arc<Linker<TaskState>>,
    cache_dir: Option<PathBuf>,
    fingerprint: String,
}

impl Registry {
    /// An empty registry; creates `cache_dir` if needed.
    pub(crate) fn new(
        linker: Linker<TaskState>,
        cache_dir: Option<PathBuf>,
        fingerprint: String,
    ) -> Result<Registry, WasmError> {
        if let Some(dir) = &cache_dir {
            fs::create_dir_all(dir)?;
        }
        Ok(Registry {
            modules: RwLock::new(HashMap::new()),
            compiles: Arc::new(AtomicU64::new(0)),
            linker: Arc::new(linker),
            cache_dir,
            fingerprint,
        })
    }

    /// The loaded module with this sha256.
    pub(crate) fn get(&self, sha256: &str) -> Option<Arc<LoadedModule>> {
        self.modules
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(sha256)
            .cloned()
    }

    /// Number of loaded modules.
    pub(crate) fn len(&self) -> usize {
        self.modules
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Components compiled so far (artifacts deserialized from disk do not count).
    pub(crate) fn compile_count(&self) -> u64 {
        self.compiles.load(Ordering::Relaxed)
    }

    /// Validates, compiles (or deserializes), world-checks and registers a component.
    pub(crate) async fn load(
        &self,
        engine: &Engine,
        bytes: &[u8],
    ) -> Result<ModuleInfo, WasmError> {
        let sha256 = sha256_hex(bytes);
        if let Some(module) = self.get(&sha256) {
            return Ok(ModuleInfo {
                from_cache: true,
                ..module.info.clone()
            });
        }
        check_header(bytes)?;

        let engine = engine.clone();
        let linker = Arc::clone(&self.linker);
        let compiles = Arc::clone(&self.compiles);
        let artifact = self
            .cache_dir
            .as_ref()
            .map(|dir| dir.join(format!("{sha256}-{}.cwasm", self.fingerprint)));
        let bytes = bytes.to_vec();
        let sha = sha256.clone();
        let module = tokio::task::spawn_blocking(move || {
            let (component, from_cache) = match artifact
                .as_deref()
                .and_then(|path| read_artifact(&engine, path))
            {
                Some(component) => (component, true),
                None => {
                    let component = Component::new(&engine, &bytes)
                        .map_err(|e| WasmError::Compile(format!("{e:#}")))?;
                    compiles.fetch_add(1, Ordering::Relaxed);
                    if let Some(path) = &artifact {
                        write_artifact(&component, path);
                    }
                    (component, false)
                }
            };
            let (pre, world_check, outbound_http) = check_world(&engine, &linker, &component)?;
            let execute = component
                .get_export_index(None, "execute")
                .ok_or_else(|| WasmError::WorldMismatch("export `execute` not found".into()))?;
            Ok::<_, WasmError>(LoadedModule {
                pre,
                execute,
                info: ModuleInfo {
                    sha256: sha,
                    size: bytes.len(),
                    world_check,
                    from_cache,
                    outbound_http,
                },
            })
        })
        .await
        .map_err(|e| WasmError::Compile(format!("compilation task failed: {e}")))??;

        let info = module.info.clone();
        self.modules
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(sha256)
            .or_insert_with(|| Arc::new(module));
        Ok(info)
    }
}

/// Rejects what is not a component before handing bytes to the compiler, with a message that
/// says what the bytes are instead.
fn check_header(bytes: &[u8]) -> Result<(), WasmError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(WasmError::NotAComponent(
            "the bytes are not WebAssembly (no `\\0asm` header)".into(),
        ));
    }
    // Bytes 4..8: version (u16) and layer (u16); layer 0 is a core module, 1 a component.
    if bytes[6..8] == [0, 0] {
        return Err(WasmError::NotAComponent(
            "this is a core WebAssembly module; baton runs components of world \
             `baton:task/service-task` (build with `--target wasm32-wasip2`, or wrap the module \
             with `wasm-tools component new`)"
                .into(),
        ));
    }
    Ok(())
}

/// Checks imports and the `execute` export, pre-links the component and resolves the export
/// index once. Returns the one-line summary for [`ModuleInfo::world_check`] and whether the
/// component wants outbound HTTP.
fn check_world(
    engine: &Engine,
    linker: &Linker<TaskState>,
    component: &Component,
) -> Result<(ServiceTaskPre<TaskState>, String, bool), WasmError> {
    let ty = component.component_type();
    let mut wasi = 0usize;
    let mut outbound_http = false;
    let mut own = Vec::new();
    for (name, _) in ty.imports(engine) {
        if OWN_IMPORTS.contains(&name) {
            own.push(name.to_owned());
        } else if is_wasi_p2(name) {
            wasi += 1;
            outbound_http |= name.starts_with(OUTGOING_HANDLER);
        } else {
            return Err(WasmError::WorldMismatch(format!(
                "import `{name}` is not provided by baton (a task component may import only \
                 `baton:task/log@0.1.0` and the WASI 0.2 interfaces of {})",
                WASI_PACKAGES.map(|p| format!("wasi:{p}")).join(", ")
            )));
        }
    }
    let exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    match ty.get_export(engine, "execute").map(|export| export.ty) {
        None => {
            let found = if exports.is_empty() {
                "it has no exports".to_owned()
            } else {
                format!("it exports {}", exports.join(", "))
            };
            return Err(WasmError::WorldMismatch(format!(
                "export `execute` of `{WORLD}` not found ({found})"
            )));
        }
        Some(ComponentItem::ComponentFunc(_)) => {}
        Some(_) => {
            return Err(WasmError::WorldMismatch(
                "export `execute` is not a function".into(),
            ));
        }
    }
    let instance_pre = linker
        .instantiate_pre(component)
        .map_err(|e| WasmError::WorldMismatch(format!("cannot link the component: {e:#}")))?;
    let pre = ServiceTaskPre::new(instance_pre).map_err(|e| {
        WasmError::WorldMismatch(format!(
            "export `execute` does not have the signature \
             `func(task: task) -> result<output, task-error>` of `{WORLD}`: {e:#}"
        ))
    })?;
    let own = if own.is_empty() {
        "no baton imports".to_owned()
    } else {
        own.join(", ")
    };
    let http = if outbound_http {
        " (including wasi:http/outgoing-handler: outbound HTTP to granted hosts only)"
    } else {
        ""
    };
    Ok((
        pre,
        format!("{WORLD}: exports execute; imports {own} + {wasi} WASI interfaces{http}"),
        outbound_http,
    ))
}

/// `wasi:<package>/<interface>@0.2.x` for a package in [`WASI_PACKAGES`].
fn is_wasi_p2(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("wasi:") else {
        return false;
    };
    let Some((package, rest)) = rest.split_once('/') else {
        return false;
    };
    let Some((_, version)) = rest.split_once('@') else {
        return false;
    };
    WASI_PACKAGES.contains(&package) && version.starts_with("0.2.")
}

/// Loads a verified artifact; `None` (after logging why) if it is missing, corrupt or was
/// built by an incompatible engine, in which case the caller recompiles.
pub(super) fn read_artifact(engine: &Engine, path: &Path) -> Option<Component> {
    let data = match fs::read(path) {
        Ok(data) => data,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read wasm artifact");
            return None;
        }
    };
    let header = ARTIFACT_MAGIC.len() + 32;
    if data.len() < header
        || &data[..ARTIFACT_MAGIC.len()] != ARTIFACT_MAGIC
        || data[ARTIFACT_MAGIC.len()..header] != Sha256::digest(&data[header..])[..]
    {
        tracing::warn!(path = %path.display(), "wasm artifact is corrupt; recompiling");
        return None;
    }
    match deserialize(engine, &data[header..]) {
        Ok(component) => Some(component),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %format!("{e:#}"), "wasm artifact rejected; recompiling");
            None
        }
    }
}

/// The one `unsafe` of the runtime.
#[allow(unsafe_code)]
pub(super) fn deserialize(engine: &Engine, artifact: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `Component::deserialize` trusts its input to be an artifact produced by
    // `Component::serialize` of a compatible wasmtime: arbitrary bytes could contain arbitrary
    // machine code. These bytes come from our own cache directory, were written by
    // `write_artifact` below, and have just been checked against the SHA-256 stored in front of
    // them, so they are byte-for-byte what this runtime serialized. The file name carries the
    // engine fingerprint, and wasmtime additionally rejects artifacts whose embedded engine
    // settings or version differ from `engine`'s.
    unsafe { Component::deserialize(engine, artifact) }
}

/// Writes an artifact atomically (temporary file + rename). Failure only costs a recompile
/// after the next restart, so it is logged, not returned.
pub(super) fn write_artifact(component: &Component, path: &Path) {
    let result = (|| -> Result<(), String> {
        let artifact = component.serialize().map_err(|e| format!("{e:#}"))?;
        // Unique per write: two loads of the same bytes may race to write the same artifact.
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let tmp = path.with_extension(format!(
            "tmp{}-{}",
            std::process::id(),
            WRITES.fetch_add(1, Ordering::Relaxed)
        ));
        let mut file = fs::File::create(&tmp).map_err(|e| e.to_string())?;
        file.write_all(ARTIFACT_MAGIC)
            .and_then(|()| file.write_all(&Sha256::digest(&artifact)))
            .and_then(|()| file.write_all(&artifact))
            .and_then(|()| file.sync_all())
            .map_err(|e| e.to_string())?;
        fs::rename(&tmp, path).map_err(|e| e.to_string())
    })();
    if let Err(e) = result {
        tracing::warn!(path = %path.display(), error = %e, "cannot write wasm artifact");
    }
}
