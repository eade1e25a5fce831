//! Scripts in models: which languages baton runs, and the boundary to the host that runs the
//! JavaScript ones.
//!
//! The state machine cannot run JavaScript itself (`bpmn/` has no wasmtime), and a script must
//! still run *inside* the step that reaches it, so that its changes are committed with that
//! step or not at all, exactly like an expression's. So the host passes a [`ScriptRunner`] into
//! [`crate::engine::StateMachine::apply_in`]; wherever a script is evaluated (script tasks,
//! listeners, `camunda:script` input/output values, conditions), the state machine hands the
//! runner a [`ScriptCall`] (the script text, the variables, the execution context, the engine
//! clock and a seed derived from the activity instance) and applies the returned writes with
//! the usual variable rules. The runner is a pure function of the call from the state
//! machine's point of view (the host's runs the script in a fresh, deterministic wasm
//! sandbox), so a replayed command gives the same result.
//!
//! `juel` and `feel` scripts are not scripts at run time: the parser turns them into ordinary
//! expressions. Other languages (Groovy, Python, ...) are refused at deploy.

use crate::expr::Evaluated;
use crate::value::Variables;

/// The script languages baton runs, as named in deploy errors.
pub const SUPPORTED_LANGUAGES: &str = "javascript (or ecmascript, js), juel, feel";

/// A `scriptFormat` / `language` baton runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptFormat {
    /// JavaScript: run by the host's interpreter in the wasm sandbox.
    JavaScript,
    /// JUEL: evaluated as a `${...}` expression (the text may omit the `${}`).
    Juel,
    /// FEEL: evaluated as a FEEL expression (the text may omit the leading `=`).
    Feel,
}

impl ScriptFormat {
    /// The format for a `scriptFormat` / `language` attribute (case-insensitive), or `None`
    /// for a language baton does not run.
    pub fn parse(name: &str) -> Option<ScriptFormat> {
        match name.trim().to_ascii_lowercase().as_str() {
            "javascript"
            | "ecmascript"
            | "js"
            | "text/javascript"
            | "application/javascript"
            | "graal.js"
            | "nashorn" => Some(ScriptFormat::JavaScript),
            "juel" => Some(ScriptFormat::Juel),
            "feel" | "feel-scala" | "feel-juel" => Some(ScriptFormat::Feel),
            _ => None,
        }
    }
}

/// One run of a JavaScript script, as the state machine asks the host for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptCall<'a> {
    /// The script text.
    pub source: &'a str,
    /// The variables visible from the activity instance (bound as globals and read by
    /// `execution.getVariable`).
    pub variables: Variables,
    /// The activity instance's own variables (`execution.getVariableLocal`).
    pub local_variables: Variables,
    /// The process instance id.
    pub process_instance_id: &'a str,
    /// The process definition id, when the host gave one.
    pub process_definition_id: Option<&'a str>,
    /// The element the script belongs to.
    pub activity_id: String,
    /// The activity instance id.
    pub activity_instance_id: &'a str,
    /// The execution id.
    pub execution_id: String,
    /// The business key.
    pub business_key: Option<&'a str>,
    /// The listener event, in listeners.
    pub event_name: Option<&'a str>,
    /// In task listeners: the task's properties as a JSON object.
    pub task: Option<serde_json::Value>,
    /// The engine clock (ms since the epoch): the script's `Date.now()`.
    pub now: i64,
    /// Seed of the script's `Math.random` (derived from the activity instance id, so a replay
    /// sees the same numbers).
    pub seed: u64,
}

/// Runs JavaScript for the state machine. Implemented by the host (a wasm interpreter under
/// fuel, time and memory limits); the `Err` text becomes the step's failure message, e.g.
/// `ReferenceError: x is not defined` or `fuel exhausted after 100,000,000 units`.
pub trait ScriptRunner {
    /// Run the script once; the value and the writes it asked for, in order.
    fn run(&self, call: &ScriptCall<'_>) -> Result<Evaluated, String>;
}

/// The runner of [`crate::engine::StateMachine::apply`]: it has no interpreter, so a
/// JavaScript script fails the step with a message saying so.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoScripts;

impl ScriptRunner for NoScripts {
    fn run(&self, _call: &ScriptCall<'_>) -> Result<Evaluated, String> {
        Err(
            "JavaScript scripts need the host's script interpreter, which this engine was \
             started without"
                .into(),
        )
    }
}

/// What the host tells the state machine about where it runs, beyond the model and the state.
#[derive(Clone, Copy)]
pub struct Environment<'a> {
    /// The process definition id (`execution.getProcessDefinitionId()`).
    pub process_definition_id: Option<&'a str>,
    /// Who runs JavaScript.
    pub scripts: &'a dyn ScriptRunner,
    /// Who knows the deployed DMN decisions (business rule tasks).
    pub decisions: &'a dyn crate::dmn::DecisionResolver,
}

impl std::fmt::Debug for Environment<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("process_definition_id", &self.process_definition_id)
            .finish_non_exhaustive()
    }
}

impl Default for Environment<'_> {
    fn default() -> Self {
        Environment {
            process_definition_id: None,
            scripts: &NoScripts,
            decisions: &crate::dmn::NoDecisions,
        }
    }
}

/// A 64-bit FNV-1a hash: the seed of a script's random numbers, from the activity instance id
/// (stable, unlike `std`'s hasher, across releases).
pub fn seed_of(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_name() {
        for (name, want) in [
            ("javascript", Some(ScriptFormat::JavaScript)),
            ("JavaScript", Some(ScriptFormat::JavaScript)),
            ("ECMAScript", Some(ScriptFormat::JavaScript)),
            (" js ", Some(ScriptFormat::JavaScript)),
            ("juel", Some(ScriptFormat::Juel)),
            ("feel", Some(ScriptFormat::Feel)),
            ("groovy", None),
            ("python", None),
            ("", None),
        ] {
            assert_eq!(ScriptFormat::parse(name), want, "{name}");
        }
        assert_ne!(seed_of("a"), seed_of("b"));
        assert_eq!(seed_of("ai-1"), seed_of("ai-1"));
    }
}
