//! Expressions: JUEL as Camunda 7 evaluates it (`${amount > 1000 && approved}`) and the subset
//! of FEEL that Camunda 8 models use in conditions, assignees and mappings (`=amount > 1000`).
//!
//! An [`Expression`] is parsed once at deploy time (so a malformed one is a deployment error
//! naming the element) and evaluated many times against a [`Scope`]. Evaluation is total:
//! every failure is an [`ExprError`], never a panic.
//!
//! Expressions never change anything themselves. Where Camunda lets them (expression tasks,
//! listeners), [`Expression::eval_mut`] returns the value plus the [`Write`]s asked for through
//! `execution` / `task`, and the state machine applies them; [`Expression::eval`] refuses them.
//!
//! Text without `${`/`#{` and without a leading `=` is a literal; text mixing literal parts and
//! `${...}` parts (`Hello ${name}`) is a composite whose value is the concatenated string.

use serde::Serialize;

use crate::value::Value;

/// Variable and execution lookup for evaluation.
pub trait Scope {
    /// The value of a variable visible from the evaluating scope.
    fn variable(&self, name: &str) -> Option<Value>;

    /// Properties of the implicit `execution` object (`processInstanceId`,
    /// `processBusinessKey`, `activityId`, `processDefinitionId`, ...). `execution.getVariable(x)`
    /// goes through [`Scope::variable`].
    fn execution_property(&self, _name: &str) -> Option<Value> {
        None
    }

    /// A variable of the evaluating scope itself (`execution.getVariableLocal`); by default
    /// the same as [`Scope::variable`].
    fn variable_local(&self, name: &str) -> Option<Value> {
        self.variable(name)
    }

    /// Whether a `task` object is bound (task listeners). Without it, `task` is an ordinary
    /// identifier.
    fn has_task(&self) -> bool {
        false
    }

    /// Properties of the bound `task` object (`id`, `name`, `assignee`, `priority`,
    /// `eventName`, ...).
    fn task_property(&self, _name: &str) -> Option<Value> {
        None
    }

    /// Run a JavaScript script here (through the host's [`crate::script::ScriptRunner`]): its
    /// value and the writes it asked for. Scopes without a runner refuse.
    fn run_script(&self, _source: &str) -> Result<Evaluated, ExprError> {
        Err(ExprError {
            message: "a JavaScript script cannot run here".into(),
        })
    }
}

/// A change an expression asked for (`execution.setVariable('x', 1)`, `task.setAssignee('a')`).
///
/// Evaluation never changes anything itself: [`Expression::eval_mut`] records the writes in
/// order and returns them, and the caller (the state machine) applies them. Later reads in the
/// same expression see earlier writes.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Set a variable: `local` on the evaluating scope, else with Camunda's rule (the nearest
    /// scope that has it, else the process instance).
    SetVariable {
        /// Variable name.
        name: String,
        /// New value.
        value: Value,
        /// `setVariableLocal`.
        local: bool,
    },
    /// Remove a variable (`removeVariable` / `removeVariableLocal`).
    RemoveVariable {
        /// Variable name.
        name: String,
        /// `removeVariableLocal`.
        local: bool,
    },
    /// Set a property of the bound task (`assignee`, `owner`, `name`, `description`,
    /// `priority`, `dueDate`, `followUpDate`), by its Camunda property name.
    SetTaskProperty {
        /// Property name.
        property: String,
        /// New value.
        value: Value,
    },
}

/// The result of [`Expression::eval_mut`]: the value and the writes to apply, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluated {
    /// The expression's value (`null` for a `void` method such as `setVariable`).
    pub value: Value,
    /// The writes the expression asked for.
    pub writes: Vec<Write>,
}

/// A scope over a plain variable map (tests, call-activity mappings, wasm outputs).
impl Scope for crate::value::Variables {
    fn variable(&self, name: &str) -> Option<Value> {
        self.get(name).cloned()
    }
}

/// Which language an expression is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Language {
    /// Plain text.
    Literal,
    /// JUEL (`${...}` / `#{...}`, possibly inside text).
    Juel,
    /// FEEL (`=...`).
    Feel,
    /// A JavaScript script (script tasks, script listeners, `camunda:script`, conditions with
    /// `language="javascript"`), run by the host through [`Scope::run_script`].
    JavaScript,
}

/// Why an expression could not be parsed or evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    /// Human-readable description, naming the expression text.
    pub message: String,
}

mod ast;
mod eval;
mod feel;
mod feel_ops;
mod juel;
mod juel_ops;
mod objects;
mod syntax;
#[cfg(test)]
mod tests;
mod value_ops;

pub use ast::{Ast, BinaryOp, MAX_DEPTH, UnaryOp};
pub(crate) use value_ops::to_display_string;

/// A parsed expression.
#[derive(Debug, Clone)]
pub struct Expression {
    source: String,
    language: Language,
    ast: Ast,
}

impl Serialize for Expression {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl Expression {
    /// Parse `source`, choosing the language by its form.
    pub fn parse(source: &str) -> Result<Expression, ExprError> {
        let trimmed = source.trim_start();
        if let Some(feel) = trimmed.strip_prefix('=') {
            let ast = feel::parse(feel)?;
            return Ok(Expression {
                source: source.to_owned(),
                language: Language::Feel,
                ast,
            });
        }
        if source.contains("${") || source.contains("#{") {
            let ast = juel::parse_template(source)?;
            return Ok(Expression {
                source: source.to_owned(),
                language: Language::Juel,
                ast,
            });
        }
        Ok(Expression::literal(source))
    }

    /// A literal text expression.
    pub fn literal(text: &str) -> Expression {
        Expression {
            source: text.to_owned(),
            language: Language::Literal,
            ast: Ast::Literal(Value::String(text.to_owned())),
        }
    }

    /// A JavaScript script: the text is kept as written and run through
    /// [`Scope::run_script`] when evaluated (its syntax is checked at deploy by the host).
    pub fn javascript(source: &str) -> Expression {
        Expression {
            source: source.to_owned(),
            language: Language::JavaScript,
            ast: Ast::Literal(Value::Null),
        }
    }

    /// A JUEL expression naming one variable (`camunda:collection="list"` is shorthand for `${list}`).
    pub fn variable(name: &str) -> Expression {
        Expression {
            source: format!("${{{name}}}"),
            language: Language::Juel,
            ast: Ast::Ident(name.to_owned()),
        }
    }

    /// The text as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The language.
    pub fn language(&self) -> Language {
        self.language
    }

    /// The literal text, when the expression is plain text.
    pub fn literal_text(&self) -> Option<&str> {
        match self.language {
            Language::Literal => Some(&self.source),
            _ => None,
        }
    }

    /// The parsed tree.
    pub fn ast(&self) -> &Ast {
        &self.ast
    }

    /// Evaluate to a value. An expression that asks to change something
    /// (`execution.setVariable`) is an error here; see [`Expression::eval_mut`].
    pub fn eval(&self, scope: &dyn Scope) -> Result<Value, ExprError> {
        if self.language == Language::JavaScript {
            let evaluated = scope.run_script(&self.source)?;
            if !evaluated.writes.is_empty() {
                return Err(ExprError {
                    message: "a script here may not change variables or the task \
                              (execution.setVariable, task.setAssignee, ...): only script tasks, \
                              script listeners and input/output scripts may"
                        .into(),
                });
            }
            return Ok(evaluated.value);
        }
        eval::eval(&self.ast, self.language, scope, None).map_err(|e| self.located(e))
    }

    /// Evaluate where the expression may change things (expression tasks, listeners): the
    /// value plus the writes it asked for, which the caller applies. Evaluation stays a pure
    /// function of `scope`.
    pub fn eval_mut(&self, scope: &dyn Scope) -> Result<Evaluated, ExprError> {
        if self.language == Language::JavaScript {
            return scope.run_script(&self.source);
        }
        let writes = std::cell::RefCell::new(Vec::new());
        let value = eval::eval(&self.ast, self.language, scope, Some(&writes))
            .map_err(|e| self.located(e))?;
        Ok(Evaluated {
            value,
            writes: writes.into_inner(),
        })
    }

    /// Name the expression in an evaluation error, in Camunda's words for an unknown name.
    fn located(&self, e: ExprError) -> ExprError {
        let message = if self.language == Language::Juel && e.message.starts_with(eval::UNRESOLVED)
        {
            // Camunda 7: "Unknown property used in expression: ${x}. Cause: Cannot resolve
            // identifier 'x'" (PropertyNotFoundException wrapped by the engine).
            format!(
                "Unknown property used in expression: {}. Cause: {}",
                self.source, e.message
            )
        } else {
            format!("{} (in expression '{}')", e.message, self.source)
        };
        ExprError { message }
    }

    /// Evaluate as a condition: the result must be a boolean (Camunda rejects anything else).
    pub fn eval_bool(&self, scope: &dyn Scope) -> Result<bool, ExprError> {
        match self.eval(scope)? {
            Value::Boolean(b) => Ok(b),
            Value::Null if self.language == Language::Feel => Ok(false),
            other => other.as_bool().ok_or_else(|| ExprError {
                message: format!(
                    "condition expression '{}' returned a {} value, not a boolean",
                    self.source,
                    other.type_name()
                ),
            }),
        }
    }

    /// Evaluate to text (assignees, topics, message names); `None` when the value is null.
    pub fn eval_string(&self, scope: &dyn Scope) -> Result<Option<String>, ExprError> {
        Ok(match self.eval(scope)? {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => Some(to_display_string(&other)),
        })
    }
}
