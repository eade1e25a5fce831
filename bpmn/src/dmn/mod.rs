//! DMN decisions: decision tables and literal expressions as Camunda 7 runs them, parsed from
//! DMN 1.1/1.2/1.3 XML (as Camunda Modeler writes them) and evaluated purely.
//!
//! - [`parse`] reads a document into [`DecisionDefinitions`]; every problem carries
//!   line:column and the element id, like BPMN deployment errors.
//! - [`unary`] turns FEEL unary tests (`< 10`, `[1..5]`, `"a","b"`, `not("x")`, `-`) into one
//!   boolean expression over the input value, evaluated on the crate's FEEL evaluator.
//! - [`evaluate`](DecisionDefinitions::evaluate) applies a decision (its required decisions
//!   first) to variables and its hit policy to the matched rules.
//!
//! - [`call`] is how a process (or the REST API) calls a deployed decision: the host's
//!   [`DecisionResolver`], `camunda:mapDecisionResult`, and the history rows of an evaluation.
//!
//! Like the rest of this crate it is pure: no clock, no I/O; a failure is a [`DmnError`].

pub mod call;
mod eval;
pub mod fast;
mod parse;
#[cfg(test)]
mod tests;
mod unary;

use serde::Serialize;

use crate::expr::Expression;
use crate::value::Value;

pub use call::{
    DecisionMeta, DecisionRequest, DecisionResolver, DeployedDecision, EvaluatedDecision,
    MapDecisionResult, NoDecisions, RequestedBinding,
};
pub use eval::{DecisionResult, DmnError, RuleResult};
pub use parse::{Partial, parse, parse_lenient};

/// A parsed DMN document: its decisions (a decision requirements graph).
#[derive(Debug, Clone)]
pub struct DecisionDefinitions {
    /// `definitions/@id`: the decision requirements definition key.
    pub id: String,
    /// `definitions/@name`.
    pub name: Option<String>,
    /// `definitions/@namespace`.
    pub namespace: Option<String>,
    /// The decisions, in document order.
    pub decisions: Vec<Decision>,
}

/// One decision.
#[derive(Debug, Clone)]
pub struct Decision {
    /// `decision/@id`: the decision definition key.
    pub id: String,
    /// `decision/@name`.
    pub name: Option<String>,
    /// `variable/@name`: the name other decisions read this decision's value by (DMN 1.2+
    /// style; Camunda-style tables usually have none and expose their output names instead).
    pub variable: Option<String>,
    /// `camunda:versionTag`.
    pub version_tag: Option<String>,
    /// `camunda:historyTimeToLive`, days.
    pub history_time_to_live: Option<u32>,
    /// Ids of the decisions whose results this one reads (`informationRequirement`).
    pub required_decisions: Vec<String>,
    /// Its logic.
    pub logic: DecisionLogic,
}

/// What a decision evaluates.
#[derive(Debug, Clone)]
pub enum DecisionLogic {
    /// A decision table.
    Table(DecisionTable),
    /// A literal expression whose value becomes the variable `variable`.
    Literal {
        /// `variable/@name` (the result's output name).
        variable: String,
        /// `variable/@typeRef`.
        type_ref: Option<TypeRef>,
        /// The expression.
        expression: Expression,
    },
}

/// A decision table.
#[derive(Debug, Clone)]
pub struct DecisionTable {
    /// `hitPolicy` (default UNIQUE).
    pub hit_policy: HitPolicy,
    /// `aggregation`, only with COLLECT.
    pub aggregation: Option<Aggregation>,
    /// The input columns.
    pub inputs: Vec<Input>,
    /// The output columns.
    pub outputs: Vec<Output>,
    /// The rules, in table order.
    pub rules: Vec<Rule>,
}

/// How matched rules become the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HitPolicy {
    /// At most one rule matches.
    Unique,
    /// The first matching rule.
    First,
    /// The matching rule of highest output priority.
    Priority,
    /// Several may match if their outputs are equal.
    Any,
    /// Every matching rule (optionally aggregated).
    Collect,
    /// Every matching rule, in rule order.
    RuleOrder,
    /// Every matching rule, by output priority.
    OutputOrder,
}

/// COLLECT's aggregation over the single output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Aggregation {
    /// The sum.
    Sum,
    /// The smallest.
    Min,
    /// The largest.
    Max,
    /// How many values.
    Count,
}

/// The types Camunda coerces inputs and outputs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TypeRef {
    /// `string`.
    String,
    /// `boolean`.
    Boolean,
    /// `integer`.
    Integer,
    /// `long`.
    Long,
    /// `double`.
    Double,
    /// `date`.
    Date,
}

/// One input column.
#[derive(Debug, Clone)]
pub struct Input {
    /// `input/@id`.
    pub id: String,
    /// `input/@label`.
    pub label: Option<String>,
    /// The input expression.
    pub expression: Expression,
    /// Its `typeRef`.
    pub type_ref: Option<TypeRef>,
    /// `camunda:inputVariable` (default `cellInput`): the input value's name in the rules.
    pub variable: String,
}

/// One output column.
#[derive(Debug, Clone)]
pub struct Output {
    /// `output/@id`.
    pub id: String,
    /// `output/@label`.
    pub label: Option<String>,
    /// `output/@name`: the result entry's name.
    pub name: String,
    /// Its `typeRef`.
    pub type_ref: Option<TypeRef>,
    /// `outputValues`, in priority order (PRIORITY and OUTPUT ORDER use it).
    pub values: Vec<Value>,
    /// `defaultOutputEntry`: the value when no rule matches.
    pub default: Option<Expression>,
}

/// One rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `rule/@id`.
    pub id: String,
    /// One condition per input: `None` for `-` (any value).
    pub conditions: Vec<Option<Expression>>,
    /// One entry per output: `None` when empty (the output is not set).
    pub outputs: Vec<Option<Expression>>,
    /// Per input, the entry compiled for the fast path (see `fast`), when it is a simple
    /// unary test; the FEEL condition decides whenever the fast path cannot.
    pub fast: Vec<Option<fast::FastTest>>,
    /// The input entries as written (what a decision table view shows).
    pub input_texts: Vec<String>,
    /// The output entries as written.
    pub output_texts: Vec<String>,
}

impl DecisionDefinitions {
    /// A decision by id.
    pub fn decision(&self, id: &str) -> Option<&Decision> {
        self.decisions.iter().find(|d| d.id == id)
    }

    /// A decision by `name` (the DMN TCK and DMN 1.2+ tools address decisions by name).
    pub fn decision_by_name(&self, name: &str) -> Option<&Decision> {
        self.decisions
            .iter()
            .find(|d| d.name.as_deref() == Some(name))
    }
}
