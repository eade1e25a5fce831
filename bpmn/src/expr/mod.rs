//! Expressions: JUEL as Camunda 7 evaluates it (`${amount > 1000 && approved}`) and the subset
//! of FEEL that Camunda 8 models use in conditions, assignees and mappings (`=amount > 1000`).
//!
//! An [`Expression`] is parsed once at deploy time (so a malformed one is a deployment error
//! naming the element) and evaluated many times against a [`Scope`]. Evaluation is total:
//! every failure is an [`ExprError`], never a panic.
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

    /// Evaluate to a value.
    pub fn eval(&self, scope: &dyn Scope) -> Result<Value, ExprError> {
        eval::eval(&self.ast, self.language, scope).map_err(|e| ExprError {
            message: format!("{} (in expression '{}')", e.message, self.source),
        })
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
