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

/// Parse and validate a BPMN 2.0 XML document.
pub fn parse(xml: &[u8]) -> Result<Parsed, ParseError> {
    let (definitions, mut problems) = reader::read(xml);
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
