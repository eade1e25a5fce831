//! BPMN 2.0 XML -> [`crate::model::Definitions`], on quick-xml, for files as Camunda Modeler
//! writes them (Camunda 7 `camunda:` and Camunda 8 `zeebe:` extensions), followed by
//! validation. Every problem carries the element id and line:column, and unsupported elements
//! are named, never skipped.

use serde::Serialize;

use crate::model::Definitions;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    /// The file cannot be deployed.
    Error,
    /// Deployable, but worth telling the user.
    Warning,
}

/// One problem found while parsing or validating.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, naming the element kind and id.
    pub message: String,
    /// The element at fault, when there is one.
    pub element_id: Option<String>,
    /// 1-based line in the source.
    pub line: u32,
    /// 1-based column in the source.
    pub column: u32,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Why a document was rejected: every error found (not only the first), plus warnings.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", summary(.problems))]
pub struct ParseError {
    /// All problems, errors first.
    pub problems: Vec<Problem>,
}

fn summary(problems: &[Problem]) -> String {
    problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A successfully parsed document with the warnings found.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The model.
    pub definitions: Definitions,
    /// Warnings (never errors).
    pub warnings: Vec<Problem>,
}

pub(crate) mod reader;
mod validate;

/// A JavaScript syntax error found by [`ParseOptions::check_javascript`], at a 1-based line
/// and column of the script text (0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptSyntaxError {
    /// What is wrong, e.g. `SyntaxError: unexpected token '}'`.
    pub message: String,
    /// Line in the script.
    pub line: u32,
    /// Column in the script.
    pub column: u32,
}

/// The JavaScript syntax check the host offers (the interpreter lives in the host's sandbox).
pub type JavaScriptCheck = dyn Fn(&str) -> Result<(), ScriptSyntaxError> + Send + Sync;

/// What the host adds to parsing: the deployment's other resources (for `camunda:resource`
/// scripts) and a JavaScript syntax check (so a script with a syntax error is a deploy error
/// with its position, not a runtime failure).
#[derive(Clone, Default)]
pub struct ParseOptions {
    /// The deployment's resources by name (text files only).
    pub resources: std::collections::BTreeMap<String, String>,
    /// Checks a JavaScript script; `None` accepts every script (it fails when run instead).
    pub check_javascript: Option<std::sync::Arc<JavaScriptCheck>>,
}

impl std::fmt::Debug for ParseOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParseOptions")
            .field("resources", &self.resources.keys().collect::<Vec<_>>())
            .field("check_javascript", &self.check_javascript.is_some())
            .finish()
    }
}

/// Parse and validate a BPMN 2.0 XML document.
pub fn parse(xml: &[u8]) -> Result<Parsed, ParseError> {
    parse_with(xml, &ParseOptions::default())
}

/// [`parse`] with the host's [`ParseOptions`].
pub fn parse_with(xml: &[u8], options: &ParseOptions) -> Result<Parsed, ParseError> {
    let (definitions, mut problems) = reader::read(xml, options);
    if let Some(defs) = &definitions {
        problems.extend(validate::validate(defs));
    }
    let has_error = problems.iter().any(|p| p.severity == Severity::Error);
    match definitions {
        Some(definitions) if !has_error => Ok(Parsed {
            definitions,
            warnings: problems,
        }),
        _ => {
            problems.sort_by_key(|p| (p.severity != Severity::Error, p.line, p.column));
            Err(ParseError { problems })
        }
    }
}
