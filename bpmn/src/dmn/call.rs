//! Calling a deployed decision from a process (a business rule task) or from outside (REST
//! evaluate): the boundary to the host that knows which decisions are deployed
//! ([`DecisionResolver`]), Camunda's decision result mappers (`camunda:mapDecisionResult`) and
//! the flat history rows one evaluation leaves (one per decision, required ones included).
//!
//! The state machine evaluates a decision *inside* the command that reaches the task, like an
//! expression, so the result variable and the history rows commit with that step or not at
//! all. It cannot read the store, so the host resolves the decision reference (key, binding,
//! tenant) to a parsed [`DeployedDecision`] through the resolver it passes in
//! [`crate::script::Environment`].

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{DecisionDefinitions, DecisionLogic, DecisionResult};
use crate::value::Value;

/// Which version of a decision a reference means (`camunda:decisionRefBinding`), evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestedBinding {
    /// The latest version of the key (Camunda's default).
    Latest,
    /// The version deployed with the calling process definition.
    Deployment,
    /// Exactly this version.
    Version(i32),
    /// The latest version carrying this `camunda:versionTag`.
    VersionTag(String),
}

/// A decision reference as a business rule task resolves it at the step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRequest<'a> {
    /// The decision definition key (`camunda:decisionRef`, evaluated).
    pub key: &'a str,
    /// Which version.
    pub binding: RequestedBinding,
    /// `camunda:decisionRefTenantId` (evaluated); `None`: the calling definition's tenant.
    pub tenant_id: Option<&'a str>,
}

/// What the host knows about one deployed decision definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionMeta {
    /// The decision definition id (`key:version:uuid`).
    pub id: String,
    /// The decision id in the DMN file.
    pub key: String,
    /// Its name.
    pub name: Option<String>,
    /// Its version.
    pub version: i32,
    /// The decision requirements definition it belongs to, if the host made one.
    pub decision_requirements_definition_id: Option<String>,
    /// That definition's key (the DMN `definitions/@id`).
    pub decision_requirements_definition_key: Option<String>,
    /// Its tenant.
    pub tenant_id: Option<String>,
}

/// A deployed decision: its record and the parsed document it lives in.
#[derive(Debug, Clone)]
pub struct DeployedDecision {
    /// The decision asked for.
    pub meta: DecisionMeta,
    /// Every decision of the same resource (the required ones are among them).
    pub siblings: Arc<Vec<DecisionMeta>>,
    /// The parsed DMN document.
    pub definitions: Arc<DecisionDefinitions>,
}

/// Resolves decision references for the state machine. Implemented by the host (over its
/// deployments); the `Err` text becomes the step's failure message.
pub trait DecisionResolver {
    /// The decision `request` names.
    fn resolve(&self, request: &DecisionRequest<'_>) -> Result<Arc<DeployedDecision>, String>;
}

/// The resolver of an engine without deployed decisions: every reference fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDecisions;

impl DecisionResolver for NoDecisions {
    fn resolve(&self, request: &DecisionRequest<'_>) -> Result<Arc<DeployedDecision>, String> {
        Err(format!(
            "no decision definition deployed with key '{}'",
            request.key
        ))
    }
}

/// `camunda:mapDecisionResult`: what a business rule task stores in its result variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MapDecisionResult {
    /// The only output value of the only matched rule (null when none matched).
    SingleEntry,
    /// The only matched rule's outputs as a map (null when none matched).
    SingleResult,
    /// The only output of every matched rule, as a list.
    CollectEntries,
    /// Every matched rule's outputs, as a list of maps (Camunda's default).
    ResultList,
}

impl MapDecisionResult {
    /// The mapper for an attribute value, or `None` for an unknown name.
    pub fn parse(name: &str) -> Option<MapDecisionResult> {
        Some(match name {
            "singleEntry" => MapDecisionResult::SingleEntry,
            "singleResult" => MapDecisionResult::SingleResult,
            "collectEntries" => MapDecisionResult::CollectEntries,
            "resultList" => MapDecisionResult::ResultList,
            _ => return None,
        })
    }

    fn mapper_name(self) -> &'static str {
        match self {
            MapDecisionResult::SingleEntry => "SingleEntryDecisionResultMapper{}",
            MapDecisionResult::SingleResult => "SingleResultDecisionResultMapper{}",
            MapDecisionResult::CollectEntries => "CollectEntriesDecisionResultMapper{}",
            MapDecisionResult::ResultList => "ResultListDecisionTableResultMapper{}",
        }
    }

    /// Map a result as Camunda's mapper of the same name does; the error texts are its
    /// (`ENGINE-22001` wrapping `DMN-01010`/`DMN-01011`, `ENGINE-22002`).
    pub fn map(self, result: &DecisionResult) -> Result<Value, String> {
        let rows = &result.results;
        let row_map = |row: &super::RuleResult| {
            serde_json::Value::Object(
                row.entries
                    .iter()
                    .map(|(n, v)| (n.clone(), v.to_json()))
                    .collect(),
            )
        };
        let failed = |why: String| {
            format!(
                "ENGINE-22001 The decision result mapper '{}' failed to process '{}'. {why}",
                self.mapper_name(),
                described(result)
            )
        };
        match self {
            MapDecisionResult::SingleEntry | MapDecisionResult::SingleResult => {
                if rows.len() > 1 {
                    return Err(failed(format!(
                        "DMN-01011 Unable to get single decision result as it has more than one \
                         result '{}'",
                        described(result)
                    )));
                }
                let Some(row) = rows.first() else {
                    return Ok(Value::Null);
                };
                if self == MapDecisionResult::SingleResult {
                    return Ok(Value::Json(row_map(row)));
                }
                match row.entries.as_slice() {
                    [] => Ok(Value::Null),
                    [(_, v)] => Ok(v.clone()),
                    _ => Err(failed(format!(
                        "DMN-01010 Unable to get single decision result entry as it has more \
                         than one entry '{}'",
                        row_map(row)
                    ))),
                }
            }
            MapDecisionResult::CollectEntries => {
                let mut names: Vec<&str> = Vec::new();
                for (n, _) in rows.iter().flat_map(|r| &r.entries) {
                    if !names.contains(&n.as_str()) {
                        names.push(n);
                    }
                }
                if names.len() > 1 {
                    return Err(format!(
                        "ENGINE-22002 The decision result mapper '{}' failed to process '{}'. \
                         The decision outputs should only contains values for one output name \
                         but found '[{}]'.",
                        self.mapper_name(),
                        described(result),
                        names.join(", ")
                    ));
                }
                Ok(Value::Json(serde_json::Value::Array(
                    rows.iter()
                        .filter_map(|r| r.entries.first().map(|(_, v)| v.to_json()))
                        .collect(),
                )))
            }
            MapDecisionResult::ResultList => Ok(Value::Json(serde_json::Value::Array(
                rows.iter().map(row_map).collect(),
            ))),
        }
    }
}

/// The result list as Camunda prints it in mapper errors: `[{out=value}, ...]`.
fn described(result: &DecisionResult) -> String {
    let rows: Vec<String> = result
        .results
        .iter()
        .map(|r| {
            let entries: Vec<String> = r
                .entries
                .iter()
                .map(|(n, v)| format!("{n}={}", v.to_json()))
                .collect();
            format!("{{{}}}", entries.join(", "))
        })
        .collect();
    format!("[{}]", rows.join(", "))
}

/// One input value of an evaluated decision table, as history records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluatedInput {
    /// The input clause id.
    pub clause_id: String,
    /// Its label.
    pub clause_name: Option<String>,
    /// The value the rules saw.
    pub value: Value,
}

/// One output value of one matched rule, as history records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluatedOutput {
    /// The output clause id (`None` for a literal expression's value).
    pub clause_id: Option<String>,
    /// Its label.
    pub clause_name: Option<String>,
    /// The rule that produced it.
    pub rule_id: Option<String>,
    /// The rule's position in the table, from 1.
    pub rule_order: Option<i32>,
    /// The output name.
    pub variable_name: String,
    /// The value.
    pub value: Value,
}

/// One evaluated decision, flat, as a historic decision instance records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluatedDecision {
    /// The decision definition.
    pub decision: DecisionMeta,
    /// Index (in the same list) of the decision whose evaluation required this one; `None`
    /// for the decision asked for (the root).
    pub required_by: Option<usize>,
    /// Input values (decision tables).
    pub inputs: Vec<EvaluatedInput>,
    /// Output values of the rules the hit policy kept.
    pub outputs: Vec<EvaluatedOutput>,
    /// Every rule that matched, before the hit policy chose (the cockpit marks these).
    pub matched_rule_ids: Vec<String>,
    /// COLLECT's aggregated value.
    pub collect_result_value: Option<Value>,
}

/// The history rows of one evaluation of `deployed` that gave `result`: the root first, then
/// the required decisions depth-first (each with the index of the one that required it).
pub fn evaluated_decisions(
    deployed: &DeployedDecision,
    result: &DecisionResult,
) -> Vec<EvaluatedDecision> {
    let mut out = Vec::new();
    flatten(deployed, result, None, &mut out);
    out
}

fn flatten(
    deployed: &DeployedDecision,
    result: &DecisionResult,
    required_by: Option<usize>,
    out: &mut Vec<EvaluatedDecision>,
) {
    let meta = deployed
        .siblings
        .iter()
        .find(|m| m.key == result.decision_id)
        .cloned()
        .unwrap_or_else(|| DecisionMeta {
            key: result.decision_id.clone(),
            ..deployed.meta.clone()
        });
    let decision = deployed.definitions.decision(&result.decision_id);
    let table = decision.and_then(|d| match &d.logic {
        DecisionLogic::Table(t) => Some(t),
        DecisionLogic::Literal { .. } => None,
    });
    let inputs = result
        .inputs
        .iter()
        .map(|(id, value)| EvaluatedInput {
            clause_id: id.clone(),
            clause_name: table
                .and_then(|t| t.inputs.iter().find(|i| &i.id == id))
                .and_then(|i| i.label.clone()),
            value: value.clone(),
        })
        .collect();
    let mut outputs = Vec::new();
    for row in &result.results {
        let rule_order = table.and_then(|t| {
            let id = row.rule_id.as_deref()?;
            let at = t.rules.iter().position(|r| r.id == id)?;
            i32::try_from(at + 1).ok()
        });
        for (name, value) in &row.entries {
            let clause = table.and_then(|t| t.outputs.iter().find(|o| &o.name == name));
            outputs.push(EvaluatedOutput {
                clause_id: clause.map(|o| o.id.clone()),
                clause_name: clause.and_then(|o| o.label.clone()),
                rule_id: row.rule_id.clone(),
                rule_order,
                variable_name: name.clone(),
                value: value.clone(),
            });
        }
    }
    let index = out.len();
    out.push(EvaluatedDecision {
        decision: meta,
        required_by,
        inputs,
        outputs,
        matched_rule_ids: result.matched_rule_ids.clone(),
        collect_result_value: result.collect_result.clone(),
    });
    for r in &result.required {
        flatten(deployed, r, Some(index), out);
    }
}
