//! The script interpreter: runs JavaScript from models (script tasks, script listeners,
//! `camunda:script` values, script conditions) in the `script-js` component that ships inside
//! the `baton` binary (built by `host/build.rs` from `guests/script-js`, a boa interpreter).
//!
//! What it owns: the embedded component, compiled once per process (lazily, at the first
//! script; the artifact is also kept in the runtime's disk cache and in memory for every
//! engine of the process with the same settings), and one fresh `Store` per run with the same
//! fuel, wall-time and memory limits, the same locked-down deterministic WASI world (clock at
//! the engine's `now`, random seeded from the activity instance) and the same failure
//! classification as task components. It implements [`ScriptRunner`] for the state machine.
//!
//! Why synchronous: a script runs *inside* a command (like an expression), while the state
//! machine holds the instance; its writes must be committed with that command. The call is
//! made on a short-lived thread with its own current-thread tokio runtime (wasmtime's async
//! WASI needs one, and the caller may itself be on a tokio worker, which is told with
//! `block_in_place` where the runtime allows it). Must not: share a `Store` between runs, or
//! let a script reach anything but its input (no imports beyond locked-down WASI).

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use baton_bpmn::expr::{Evaluated, Write};
use baton_bpmn::parse::ScriptSyntaxError;
use baton_bpmn::script::{ScriptCall, ScriptRunner};
use baton_bpmn::value::{Value, Variables};
use serde_json::{Value as Json, json};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi_http::WasiHttpCtx;

use super::http::OutboundHttp;
use super::registry::{read_artifact, write_artifact};
use super::runner::{DeadlineExceeded, OUTER_GRACE, Stage, classify_error};
use super::state::{TaskLimiter, TaskState};
use super::wasi::{self, LogSink};
use super::{Limits, TaskOutcome};
use crate::digest::sha256_hex;

/// Bindings of the `baton:script/script` world (`wit/script/script.wit`), generated once here.
mod bindings {
    // The generated code has no docs of its own; the WIT file documents every item.
    #![allow(missing_docs)]
    wasmtime::component::bindgen!({
        path: "../wit/script",
        world: "baton:script/script",
        exports: { default: async },
    });
}

use bindings::baton::script::types as wit;
use bindings::{Script, ScriptPre};

/// The interpreter component, built by `host/build.rs` (empty with `SKIP_GUEST_BUILD=1`).
static SCRIPT_JS: &[u8] = include_bytes!(env!("BATON_SCRIPT_JS_WASM"));

/// Compiled artifacts of the interpreter by engine fingerprint, shared by every engine of the
/// process (tests open many): compiling 5 MB of wasm costs seconds, deserializing
/// milliseconds.
static COMPILED: Mutex<Vec<(String, Arc<Vec<u8>>)>> = Mutex::new(Vec::new());

/// Held while an engine looks for or compiles the interpreter: engines that need it at the
/// same moment (a test binary opens many) wait for the first compilation and deserialize its
/// artifact, instead of each compiling the same 5 MB on a machine with two cores.
static COMPILING: Mutex<()> = Mutex::new(());

/// Runs JavaScript in the sandbox. Cheap to share (`Arc` inside a [`super::WasmRuntime`]).
pub struct ScriptEngine {
    engine: Engine,
    fingerprint: String,
    cache_dir: Option<std::path::PathBuf>,
    limits: Limits,
    pre: OnceLock<Result<ScriptPre<TaskState>, String>>,
}

impl std::fmt::Debug for ScriptEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptEngine")
            .field("limits", &self.limits)
            .field("compiled", &self.pre.get().is_some())
            .finish()
    }
}

impl ScriptEngine {
    pub(super) fn new(
        engine: Engine,
        fingerprint: String,
        cache_dir: Option<std::path::PathBuf>,
        limits: Limits,
    ) -> ScriptEngine {
        ScriptEngine {
            engine,
            fingerprint,
            cache_dir,
            limits,
            pre: OnceLock::new(),
        }
    }

    /// The limits every script runs under (the runtime's default task limits).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The interpreter, compiled on first use.
    fn pre(&self) -> Result<&ScriptPre<TaskState>, String> {
        self.pre
            .get_or_init(|| self.compile())
            .as_ref()
            .map_err(Clone::clone)
    }

    fn compile(&self) -> Result<ScriptPre<TaskState>, String> {
        if SCRIPT_JS.is_empty() {
            return Err("the JavaScript interpreter was not built into this binary \
                        (SKIP_GUEST_BUILD was set when it was compiled)"
                .into());
        }
        let component = self.component()?;
        let mut linker: Linker<TaskState> = Linker::new(&self.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| format!("linking the script interpreter: {e:#}"))?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| format!("linking the script interpreter: {e:#}"))?;
        ScriptPre::new(pre).map_err(|e| format!("the script interpreter's exports: {e:#}"))
    }

    /// From the process-wide artifact, the disk cache, or a compilation (in that order).
    fn component(&self) -> Result<Component, String> {
        let _one_at_a_time = COMPILING.lock().unwrap_or_else(PoisonError::into_inner);
        let shared = COMPILED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(f, _)| *f == self.fingerprint)
            .map(|(_, bytes)| Arc::clone(bytes));
        if let Some(bytes) = shared
            && let Ok(component) = super::registry::deserialize(&self.engine, &bytes)
        {
            return Ok(component);
        }
        let path = self.cache_dir.as_ref().map(|dir| {
            dir.join(format!(
                "script-js-{}-{}.cwasm",
                &sha256_hex(SCRIPT_JS)[..16],
                self.fingerprint
            ))
        });
        let component = match path.as_deref().and_then(|p| read_artifact(&self.engine, p)) {
            Some(c) => c,
            None => {
                let started = Instant::now();
                let c = Component::new(&self.engine, SCRIPT_JS)
                    .map_err(|e| format!("compiling the script interpreter: {e:#}"))?;
                tracing::info!(
                    ms = started.elapsed().as_millis() as u64,
                    "compiled the JavaScript interpreter"
                );
                if let Some(p) = &path {
                    write_artifact(&c, p);
                }
                c
            }
        };
        if let Ok(bytes) = component.serialize() {
            COMPILED
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((self.fingerprint.clone(), Arc::new(bytes)));
        }
        Ok(component)
    }

    /// Checks a script's syntax (deploy time): `Err` with the line and column in the script.
    pub fn check(&self, source: &str) -> Result<(), ScriptSyntaxError> {
        let input = Input::Check(source.to_owned());
        match self.call(input, 0, 0) {
            Ok(Output::Checked(Ok(()))) => Ok(()),
            Ok(Output::Checked(Err(e))) => Err(ScriptSyntaxError {
                message: e.message,
                line: e.line,
                column: e.column,
            }),
            Ok(Output::Ran(_)) => Ok(()),
            Err(message) => Err(ScriptSyntaxError {
                message,
                line: 0,
                column: 0,
            }),
        }
    }

    /// Runs the guest once, off the caller's thread, and waits for it.
    fn call(&self, input: Input, now: i64, seed: u64) -> Result<Output, String> {
        let pre = self.pre()?.clone();
        let run = || {
            std::thread::scope(|scope| {
                let worker = std::thread::Builder::new()
                    .name("baton-script".into())
                    .spawn_scoped(scope, || self.call_on_this_thread(&pre, input, now, seed))
                    .map_err(|e| format!("cannot start the script thread: {e}"))?;
                worker
                    .join()
                    .map_err(|_| "the script thread panicked".to_owned())?
            })
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(run)
            }
            _ => run(),
        }
    }

    fn call_on_this_thread(
        &self,
        pre: &ScriptPre<TaskState>,
        input: Input,
        now: i64,
        seed: u64,
    ) -> Result<Output, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| format!("cannot start the script runtime: {e}"))?;
        let limits = &self.limits;
        rt.block_on(async {
            let deadline_at = Instant::now() + limits.deadline;
            let sink = LogSink::default();
            let state = TaskState {
                wasi: wasi::ctx(now, seed, &sink),
                table: ResourceTable::new(),
                limiter: TaskLimiter::new(limits),
                http: WasiHttpCtx::new(),
                outbound: OutboundHttp::new(Vec::new(), deadline_at, sink.clone()),
                sink: sink.clone(),
            };
            let mut store = Store::new(&self.engine, state);
            store.limiter(|state| &mut state.limiter);
            store
                .set_fuel(limits.fuel)
                .map_err(|e| format!("cannot set fuel: {e}"))?;
            store.set_epoch_deadline(1);
            store.epoch_deadline_callback(move |_| {
                if Instant::now() >= deadline_at {
                    Err(DeadlineExceeded.into())
                } else {
                    Ok(UpdateDeadline::Yield(1))
                }
            });
            let run = async {
                let instance: Script = pre
                    .instantiate_async(&mut store)
                    .await
                    .map_err(|e| (Stage::Instantiate, e))?;
                match &input {
                    Input::Check(source) => instance
                        .call_check(&mut store, source)
                        .await
                        .map(Output::Checked),
                    Input::Run(run) => instance
                        .call_run(
                            &mut store,
                            &run.source,
                            &run.variables,
                            &run.locals,
                            &run.context,
                        )
                        .await
                        .map(Output::Ran),
                }
                .map_err(|e| (Stage::Call, e))
            };
            let result = tokio::time::timeout(limits.deadline + OUTER_GRACE, run).await;
            let hits = store.data().limiter.hits;
            drop(store);
            let logs = sink.finish();
            match result {
                Ok(Ok(output)) => Ok(output),
                Ok(Err((stage, error))) => {
                    match classify_error(stage, &error, hits, limits, logs) {
                        TaskOutcome::Failed { message, .. } => Err(message),
                        _ => Err("the script interpreter failed".into()),
                    }
                }
                Err(_) => Err(format!(
                    "deadline of {} ms exceeded",
                    limits.deadline.as_millis()
                )),
            }
        })
    }
}

impl ScriptRunner for ScriptEngine {
    fn run(&self, call: &ScriptCall<'_>) -> Result<Evaluated, String> {
        let context = wit::Context {
            process_instance_id: call.process_instance_id.to_owned(),
            process_definition_id: call.process_definition_id.unwrap_or_default().to_owned(),
            activity_id: call.activity_id.clone(),
            activity_instance_id: call.activity_instance_id.to_owned(),
            execution_id: call.execution_id.clone(),
            business_key: call.business_key.map(str::to_owned),
            event_name: call.event_name.map(str::to_owned),
            task: call.task.as_ref().map(Json::to_string),
            now: call.now,
            seed: call.seed,
        };
        let input = Input::Run(Box::new(RunInput {
            source: call.source.to_owned(),
            variables: typed_variables(&call.variables).to_string(),
            locals: typed_variables(&call.local_variables).to_string(),
            context,
        }));
        let outcome = match self.call(input, call.now, call.seed)? {
            Output::Ran(Ok(outcome)) => outcome,
            Output::Ran(Err(e)) if e.line > 0 => {
                return Err(format!(
                    "{} (script line {}, column {})",
                    e.message, e.line, e.column
                ));
            }
            Output::Ran(Err(e)) => return Err(e.message),
            Output::Checked(_) => return Err("the script interpreter answered a check".into()),
        };
        let value = from_typed_text(&outcome.value)?;
        let mut writes = Vec::with_capacity(outcome.changes.len());
        for change in outcome.changes {
            writes.push(match change {
                wit::Change::SetVariable(w) => Write::SetVariable {
                    value: from_typed_text(&w.value)?,
                    name: w.name,
                    local: w.local,
                },
                wit::Change::RemoveVariable(r) => Write::RemoveVariable {
                    name: r.name,
                    local: r.local,
                },
                wit::Change::SetTaskProperty(t) => Write::SetTaskProperty {
                    value: from_typed_text(&t.value)?,
                    property: t.property,
                },
            });
        }
        Ok(Evaluated { value, writes })
    }
}

/// What the guest is asked to do.
enum Input {
    Check(String),
    Run(Box<RunInput>),
}

/// The arguments of `run`.
struct RunInput {
    source: String,
    variables: String,
    locals: String,
    context: wit::Context,
}

/// What it answered.
enum Output {
    Checked(Result<(), wit::ScriptError>),
    Ran(Result<wit::Outcome, wit::ScriptError>),
}

/// Variables as the guest reads them: `{"name": {"type": "Integer", "value": 5}, ...}`.
fn typed_variables(vars: &Variables) -> Json {
    Json::Object(vars.iter().map(|(k, v)| (k.clone(), typed(v))).collect())
}

/// One value as typed JSON. Binary values (Bytes, File) reach scripts as null.
fn typed(v: &Value) -> Json {
    let (t, value) = match v {
        Value::Null => ("Null", Json::Null),
        Value::String(s) => ("String", json!(s)),
        Value::Boolean(b) => ("Boolean", json!(b)),
        Value::Short(n) => ("Short", json!(n)),
        Value::Integer(n) => ("Integer", json!(n)),
        Value::Long(n) => ("Long", json!(n)),
        Value::Double(n) => ("Double", json!(n)),
        Value::Date(ms) => ("Date", json!(ms)),
        Value::Json(j) => ("Json", j.clone()),
        Value::Xml(s) => ("Xml", json!(s)),
        Value::Object { serialized, .. } => ("Object", json!(serialized)),
        Value::Bytes(_) => ("Bytes", Json::Null),
        Value::File { .. } => ("File", Json::Null),
    };
    json!({ "type": t, "value": value })
}

/// A typed JSON value from the guest back to a [`Value`]; anything malformed is an error
/// (the guest is trusted to be ours, but its output is still checked).
fn from_typed_text(text: &str) -> Result<Value, String> {
    let j: Json = serde_json::from_str(text)
        .map_err(|e| format!("the script interpreter returned invalid JSON: {e}"))?;
    let t = j.get("type").and_then(Json::as_str).unwrap_or("Null");
    let v = j.get("value").cloned().unwrap_or(Json::Null);
    let bad = || format!("the script interpreter returned a malformed {t} value");
    Ok(match t {
        "Null" => Value::Null,
        "String" => Value::String(v.as_str().ok_or_else(bad)?.to_owned()),
        "Boolean" => Value::Boolean(v.as_bool().ok_or_else(bad)?),
        "Integer" => Value::Integer(
            v.as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(bad)?,
        ),
        "Long" => Value::Long(
            v.as_i64()
                .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .ok_or_else(bad)?,
        ),
        "Double" => Value::Double(v.as_f64().ok_or_else(bad)?),
        "Date" => Value::Date(
            v.as_i64()
                .or_else(|| v.as_f64().map(|f| f as i64))
                .ok_or_else(bad)?,
        ),
        "Json" => Value::Json(v),
        _ => return Err(bad()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_round_trip() {
        for v in [
            Value::Null,
            Value::String("a".into()),
            Value::Boolean(true),
            Value::Integer(-5),
            Value::Long(1 << 40),
            Value::Double(1.5),
            Value::Date(1_700_000_000_000),
            Value::Json(json!({"a": [1, 2]})),
        ] {
            assert_eq!(from_typed_text(&typed(&v).to_string()), Ok(v.clone()));
        }
        assert!(from_typed_text(r#"{"type":"Integer","value":1e12}"#).is_err());
        assert!(from_typed_text("nope").is_err());
    }
}
