//! `script-js`: the JavaScript interpreter baton ships inside its binary. It runs script
//! tasks, script listeners, `camunda:script` input/output values and script conditions
//! (`scriptFormat` javascript / ecmascript / js) in a fresh boa interpreter per run, inside the
//! wasm sandbox, under the host's fuel, wall-time and memory limits.
//!
//! What it owns: turning the host's input (script text, typed variables, context) into a
//! JavaScript world with Camunda's `execution` (and, in task listeners, `task`) objects and the
//! variables bound as globals; running the script; and handing back its value and the changes
//! it asked for (`prelude.js` records them). It changes nothing outside itself: the engine
//! applies the changes. Syntax errors carry the script's line and column.

wit_bindgen::generate!({ path: "../../wit/script", world: "script" });

use boa_engine::property::Attribute;
use boa_engine::{Context as Js, JsError, JsString, JsValue, Script, Source, js_string};
use serde_json::{Value as Json, json};

use baton::script::types::{Change, TaskWrite, VariableRemoval, VariableWrite};

/// The `execution` / `task` layer, run before every script.
const PRELUDE: &str = include_str!("prelude.js");

struct ScriptJs;

impl Guest for ScriptJs {
    fn run(
        script: String,
        variables: String,
        local_variables: String,
        context: Context,
    ) -> Result<Outcome, ScriptError> {
        // A syntax error gets its position from the parser itself.
        syntax_check(&script)?;
        let variables: Json = parse_json(&variables, "variables")?;
        let locals: Json = parse_json(&local_variables, "local variables")?;
        let input = json!({
            "variables": variables,
            "locals": locals,
            // 32 bits are plenty for mulberry32 and survive JSON's doubles exactly.
            "seed": (context.seed ^ (context.seed >> 32)) & 0xffff_ffff,
            "context": {
                "processInstanceId": context.process_instance_id,
                "processDefinitionId": context.process_definition_id,
                "activityId": context.activity_id,
                "activityInstanceId": context.activity_instance_id,
                "executionId": context.execution_id,
                "businessKey": context.business_key,
                "eventName": context.event_name,
                "task": context.task,
                "now": context.now,
            },
        });

        let mut js = Js::default();
        js.register_global_property(
            js_string!("__baton_input"),
            JsString::from(input.to_string().as_str()),
            Attribute::all(),
        )
        .map_err(|e| runtime_error(e, &mut js))?;
        js.eval(Source::from_bytes(PRELUDE))
            .map_err(|e| internal(format!("prelude: {e}")))?;

        let parsed = Script::parse(Source::from_bytes(script.as_bytes()), None, &mut js)
            .map_err(|e| runtime_error(e, &mut js))?;
        let value = parsed
            .evaluate(&mut js)
            .map_err(|e| runtime_error(e, &mut js))?;
        // Promise jobs the script queued run before its changes are read.
        js.run_jobs().map_err(|e| runtime_error(e, &mut js))?;

        let finish = js
            .global_object()
            .get(js_string!("__baton_finish"), &mut js)
            .map_err(|e| runtime_error(e, &mut js))?;
        let Some(finish) = finish.as_callable() else {
            return Err(internal("the script replaced __baton_finish".into()));
        };
        let text = finish
            .call(&JsValue::undefined(), &[value], &mut js)
            .map_err(|e| runtime_error(e, &mut js))?;
        let text = text
            .as_string()
            .map(|s| s.to_std_string_escaped())
            .ok_or_else(|| internal("the script's result did not serialize".into()))?;
        outcome(&text)
    }

    fn check(script: String) -> Result<(), ScriptError> {
        syntax_check(&script)
    }
}

export!(ScriptJs);

/// Parses `script` as an ECMAScript script; a syntax error carries the parser's position.
fn syntax_check(script: &str) -> Result<(), ScriptError> {
    use boa_parser::{Error as ParseError, Parser, lexer::Error as LexError};
    let mut interner = boa_interner::Interner::default();
    let scope = boa_ast::scope::Scope::new_global();
    let result =
        Parser::new(Source::from_bytes(script.as_bytes())).parse_script(&scope, &mut interner);
    let Err(err) = result else {
        return Ok(());
    };
    let (line, column) = match &err {
        ParseError::Expected { span, .. } | ParseError::Unexpected { span, .. } => {
            (span.start().line_number(), span.start().column_number())
        }
        ParseError::General { position, .. } => (position.line_number(), position.column_number()),
        ParseError::Lex {
            err: LexError::Syntax(_, position),
        } => (position.line_number(), position.column_number()),
        ParseError::Lex { .. } => (0, 0),
        ParseError::AbruptEnd => end_position(script),
    };
    let message = err.to_string();
    // boa appends " at line L, col C" to some messages: the position is reported on its own.
    let message = match message.rfind(" at line ") {
        Some(cut) => message[..cut].to_owned(),
        None => message,
    };
    Err(ScriptError {
        message: format!("SyntaxError: {message}"),
        line,
        column,
    })
}

/// The position just past the last character (where an unterminated script ends).
fn end_position(script: &str) -> (u32, u32) {
    let line = script.lines().count().max(1);
    let column = script.lines().last().map_or(0, |l| l.chars().count()) + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

fn parse_json(text: &str, what: &str) -> Result<Json, ScriptError> {
    serde_json::from_str(text).map_err(|e| internal(format!("{what} are not valid JSON: {e}")))
}

/// A thrown error as the message Camunda users expect (`TypeError: ...`).
fn runtime_error(err: JsError, js: &mut Js) -> ScriptError {
    let message = match err.try_native(js) {
        Ok(native) => native.to_string(),
        Err(_) => {
            // A thrown non-error value (`throw "out of stock"`): its text.
            let value = err.to_opaque(js);
            match value.to_string(js) {
                Ok(s) => format!("Uncaught {}", s.to_std_string_escaped()),
                Err(_) => "Uncaught exception".to_owned(),
            }
        }
    };
    ScriptError {
        message,
        line: 0,
        column: 0,
    }
}

fn internal(message: String) -> ScriptError {
    ScriptError {
        message,
        line: 0,
        column: 0,
    }
}

/// `__baton_finish`'s JSON to the WIT outcome.
fn outcome(text: &str) -> Result<Outcome, ScriptError> {
    let v: Json = parse_json(text, "the script's result")?;
    let value = v
        .get("value")
        .map(Json::to_string)
        .unwrap_or_else(|| "null".into());
    let mut changes = Vec::new();
    for c in v
        .get("changes")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let text = |k: &str| {
            c.get(k)
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let local = c.get("local").and_then(Json::as_bool).unwrap_or(false);
        let value = c
            .get("value")
            .map(Json::to_string)
            .unwrap_or_else(|| "null".into());
        changes.push(match c.get("kind").and_then(Json::as_str) {
            Some("set") => Change::SetVariable(VariableWrite {
                name: text("name"),
                value,
                local,
            }),
            Some("remove") => Change::RemoveVariable(VariableRemoval {
                name: text("name"),
                local,
            }),
            _ => Change::SetTaskProperty(TaskWrite {
                property: text("property"),
                value,
            }),
        });
    }
    Ok(Outcome { value, changes })
}
