//! Evaluating a decision: required decisions first (their outputs become variables), then the
//! table's inputs once each, every rule's conditions, the matched rules' outputs coerced to
//! their types, and the hit policy. Error texts follow Camunda's DMN engine where clients
//! match on them (`DMN-03001` for a UNIQUE table with several matches, `DMN-03002` for ANY).

use serde::Serialize;

use super::{
    Aggregation, Decision, DecisionDefinitions, DecisionLogic, DecisionTable, HitPolicy, TypeRef,
};
use crate::expr::Scope;
use crate::value::Value;

/// Why a decision could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct DmnError {
    /// What went wrong, naming the decision, rule or input.
    pub message: String,
}

fn err(message: impl Into<String>) -> DmnError {
    DmnError {
        message: message.into(),
    }
}

/// One matched rule's outputs (a decision table), or a literal expression's value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleResult {
    /// The rule (`None` for a literal expression or an aggregated result).
    pub rule_id: Option<String>,
    /// Output name -> value, in output order (outputs with an empty entry are absent).
    pub entries: Vec<(String, Value)>,
}

/// The outcome of one decision, with what history records about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionResult {
    /// The decision.
    pub decision_id: String,
    /// The result list (Camunda's `DmnDecisionResult`): one entry per matched rule after the
    /// hit policy, or one aggregated entry for COLLECT with an aggregation.
    pub results: Vec<RuleResult>,
    /// Every rule that matched, in table order (before the hit policy chose).
    pub matched_rule_ids: Vec<String>,
    /// The input values, by input id, as the rules saw them.
    pub inputs: Vec<(String, Value)>,
    /// COLLECT's aggregated value.
    pub collect_result: Option<Value>,
    /// The required decisions' results, evaluated first.
    pub required: Vec<DecisionResult>,
    /// The decision's value as DMN 1.2+ defines it (what other decisions see under its
    /// `variable` name): a literal expression's value; for a table, per rule the bare value
    /// (one output) or a context of the outputs, and a list of those when the hit policy
    /// returns several (COLLECT without aggregation, RULE ORDER, OUTPUT ORDER); null when no
    /// rule matched.
    #[serde(skip)]
    pub value: Value,
}

impl DecisionResult {
    /// The single entry's single value (`camunda:mapDecisionResult="singleEntry"`).
    pub fn single_entry(&self) -> Option<&Value> {
        self.results.first()?.entries.first().map(|(_, v)| v)
    }
}

/// Variables plus the names a decision adds (required results, the current input value).
struct DecisionScope<'a> {
    base: &'a dyn Scope,
    extra: Vec<(String, Value)>,
}

impl Scope for DecisionScope<'_> {
    fn variable(&self, name: &str) -> Option<Value> {
        self.extra
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .or_else(|| self.base.variable(name))
    }

    fn execution_property(&self, name: &str) -> Option<Value> {
        self.base.execution_property(name)
    }
}

impl DecisionDefinitions {
    /// Evaluate the decision named `name` (see [`DecisionDefinitions::decision_by_name`]).
    pub fn evaluate_by_name(
        &self,
        name: &str,
        variables: &dyn Scope,
    ) -> Result<DecisionResult, DmnError> {
        let decision = self
            .decision_by_name(name)
            .ok_or_else(|| err(format!("no decision named '{name}'")))?;
        self.evaluate_decision(decision, variables, self.decisions.len())
    }

    /// Evaluate decision `id` against `variables`.
    pub fn evaluate(&self, id: &str, variables: &dyn Scope) -> Result<DecisionResult, DmnError> {
        // The graph is acyclic (checked at parse), so the recursion ends; its depth is bounded
        // by the number of decisions.
        let decision = self
            .decision(id)
            .ok_or_else(|| err(format!("no decision with id '{id}'")))?;
        self.evaluate_decision(decision, variables, self.decisions.len())
    }

    fn evaluate_decision(
        &self,
        decision: &Decision,
        variables: &dyn Scope,
        depth_left: usize,
    ) -> Result<DecisionResult, DmnError> {
        let mut scope = DecisionScope {
            base: variables,
            extra: Vec::new(),
        };
        let mut required = Vec::new();
        for r in &decision.required_decisions {
            let Some(depth) = depth_left.checked_sub(1) else {
                return Err(err(format!(
                    "decision '{}' requires too deep a chain",
                    decision.id
                )));
            };
            let d = self
                .decision(r)
                .ok_or_else(|| err(format!("no decision with id '{r}'")))?;
            let result = self.evaluate_decision(d, variables, depth)?;
            scope.extra.extend(result_variables(&result));
            // DMN 1.2+: the required decision's value under its variable name (last, so it
            // wins over an output of the same name).
            if let Some(name) = &d.variable {
                scope.extra.push((name.clone(), result.value.clone()));
            }
            required.push(result);
        }
        let mut result = match &decision.logic {
            DecisionLogic::Table(table) => evaluate_table(&decision.id, table, &mut scope)?,
            DecisionLogic::Literal {
                variable,
                type_ref,
                expression,
            } => {
                let value = expression
                    .eval(&scope)
                    .map_err(|e| err(format!("decision '{}': {}", decision.id, e.message)))?;
                let value = coerce(value, *type_ref)
                    .map_err(|m| err(format!("decision '{}': {m}", decision.id)))?;
                DecisionResult {
                    decision_id: decision.id.clone(),
                    value: value.clone(),
                    results: vec![RuleResult {
                        rule_id: None,
                        entries: vec![(variable.clone(), value)],
                    }],
                    matched_rule_ids: Vec::new(),
                    inputs: Vec::new(),
                    collect_result: None,
                    required: Vec::new(),
                }
            }
        };
        result.required = required;
        Ok(result)
    }
}

/// A required decision's outputs as variables: with one result, each output name is its value;
/// with several, each output name is the list of its values.
fn result_variables(result: &DecisionResult) -> Vec<(String, Value)> {
    match result.results.as_slice() {
        [one] => one.entries.clone(),
        many => {
            let mut names: Vec<&str> = Vec::new();
            for r in many {
                for (n, _) in &r.entries {
                    if !names.contains(&n.as_str()) {
                        names.push(n);
                    }
                }
            }
            names
                .into_iter()
                .map(|n| {
                    let list = many
                        .iter()
                        .filter_map(|r| r.entries.iter().find(|(k, _)| k == n))
                        .map(|(_, v)| v.to_json())
                        .collect();
                    (n.to_owned(), Value::Json(serde_json::Value::Array(list)))
                })
                .collect()
        }
    }
}

fn evaluate_table(
    decision_id: &str,
    table: &DecisionTable,
    scope: &mut DecisionScope<'_>,
) -> Result<DecisionResult, DmnError> {
    let mut inputs = Vec::with_capacity(table.inputs.len());
    for input in &table.inputs {
        let value = input.expression.eval(scope).map_err(|e| {
            err(format!(
                "decision '{decision_id}', input '{}': {}",
                input.label.as_deref().unwrap_or(&input.id),
                e.message
            ))
        })?;
        let value = coerce(value, input.type_ref).map_err(|m| {
            err(format!(
                "decision '{decision_id}', input '{}': {m}",
                input.label.as_deref().unwrap_or(&input.id)
            ))
        })?;
        inputs.push((input.id.clone(), value));
    }
    let base_len = scope.extra.len();
    let mut matched = Vec::new();
    for rule in &table.rules {
        let mut all = true;
        for (((condition, fast), input), (_, value)) in rule
            .conditions
            .iter()
            .zip(&rule.fast)
            .zip(&table.inputs)
            .zip(&inputs)
        {
            let Some(condition) = condition else { continue };
            // The compiled simple test answers without the FEEL evaluator where it can.
            if let Some(hit) = fast.as_ref().and_then(|f| f.test(value)) {
                if !hit {
                    all = false;
                    break;
                }
                continue;
            }
            scope.extra.truncate(base_len);
            scope.extra.push((input.variable.clone(), value.clone()));
            let hit = condition.eval_bool(scope).map_err(|e| {
                err(format!(
                    "decision '{decision_id}', rule '{}': {}",
                    rule.id, e.message
                ))
            })?;
            if !hit {
                all = false;
                break;
            }
        }
        if all {
            matched.push(rule);
        }
    }
    scope.extra.truncate(base_len);
    let mut rows = Vec::with_capacity(matched.len().max(1));
    if matched.is_empty() && table.outputs.iter().any(|o| o.default.is_some()) {
        rows.push(default_row(decision_id, table, scope)?);
    }
    for rule in &matched {
        let mut entries = Vec::new();
        for (entry, output) in rule.outputs.iter().zip(&table.outputs) {
            let Some(entry) = entry else { continue };
            let value = entry.eval(scope).map_err(|e| {
                err(format!(
                    "decision '{decision_id}', rule '{}': {}",
                    rule.id, e.message
                ))
            })?;
            let value = coerce(value, output.type_ref).map_err(|m| {
                err(format!(
                    "decision '{decision_id}', rule '{}', output '{}': {m}",
                    rule.id, output.name
                ))
            })?;
            entries.push((output.name.clone(), value));
        }
        rows.push(RuleResult {
            rule_id: Some(rule.id.clone()),
            entries,
        });
    }
    let matched_rule_ids: Vec<String> = matched.iter().map(|r| r.id.clone()).collect();
    let (results, collect_result) = apply_hit_policy(decision_id, table, rows)?;
    let value = table_value(table, &results, collect_result.as_ref());
    Ok(DecisionResult {
        value,
        decision_id: decision_id.to_owned(),
        results,
        matched_rule_ids,
        inputs,
        collect_result,
        required: Vec::new(),
    })
}

/// No rule matched: each output's `defaultOutputEntry` (null where it has none).
fn default_row(
    decision_id: &str,
    table: &DecisionTable,
    scope: &DecisionScope<'_>,
) -> Result<RuleResult, DmnError> {
    let mut entries = Vec::with_capacity(table.outputs.len());
    for output in &table.outputs {
        let value = match &output.default {
            Some(e) => e.eval(scope).map_err(|e| {
                err(format!(
                    "decision '{decision_id}', default of output '{}': {}",
                    output.name, e.message
                ))
            })?,
            None => Value::Null,
        };
        let value = coerce(value, output.type_ref).map_err(|m| {
            err(format!(
                "decision '{decision_id}', output '{}': {m}",
                output.name
            ))
        })?;
        entries.push((output.name.clone(), value));
    }
    Ok(RuleResult {
        rule_id: None,
        entries,
    })
}

/// See [`DecisionResult::value`].
fn table_value(table: &DecisionTable, results: &[RuleResult], collected: Option<&Value>) -> Value {
    if let Some(v) = collected {
        return v.clone();
    }
    let row_value = |row: &RuleResult| -> Value {
        let get = |name: &str| {
            row.entries
                .iter()
                .find(|(n, _)| n == name)
                .map_or(Value::Null, |(_, v)| v.clone())
        };
        match table.outputs.as_slice() {
            [one] => get(&one.name),
            many => Value::Json(serde_json::Value::Object(
                many.iter()
                    .map(|o| (o.name.clone(), get(&o.name).to_json()))
                    .collect(),
            )),
        }
    };
    let multi = match table.hit_policy {
        HitPolicy::Collect => table.aggregation.is_none(),
        HitPolicy::RuleOrder | HitPolicy::OutputOrder => true,
        _ => false,
    };
    if multi {
        Value::Json(serde_json::Value::Array(
            results.iter().map(|r| row_value(r).to_json()).collect(),
        ))
    } else {
        results.first().map_or(Value::Null, row_value)
    }
}

type HitOutcome = (Vec<RuleResult>, Option<Value>);

fn apply_hit_policy(
    decision_id: &str,
    table: &DecisionTable,
    mut rows: Vec<RuleResult>,
) -> Result<HitOutcome, DmnError> {
    let ids = |rows: &[RuleResult]| {
        rows.iter()
            .filter_map(|r| r.rule_id.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok(match table.hit_policy {
        HitPolicy::Unique => {
            if rows.len() > 1 {
                return Err(err(format!(
                    "DMN-03001 Hit policy 'UNIQUE' only allows a single rule to match. Actually \
                     match rules: '[{}]' (decision '{decision_id}').",
                    ids(&rows)
                )));
            }
            (rows, None)
        }
        HitPolicy::Any => {
            if rows.windows(2).any(|w| w[0].entries != w[1].entries) {
                return Err(err(format!(
                    "DMN-03002 Hit policy 'ANY' only allows multiple matched rules with equal \
                     output. Matched rules: '[{}]' (decision '{decision_id}').",
                    ids(&rows)
                )));
            }
            rows.truncate(1);
            (rows, None)
        }
        HitPolicy::First => {
            rows.truncate(1);
            (rows, None)
        }
        HitPolicy::Priority => {
            sort_by_priority(table, &mut rows);
            rows.truncate(1);
            (rows, None)
        }
        HitPolicy::OutputOrder => {
            sort_by_priority(table, &mut rows);
            (rows, None)
        }
        HitPolicy::RuleOrder => (rows, None),
        HitPolicy::Collect => match table.aggregation {
            None => (rows, None),
            Some(aggregation) => {
                let name = table
                    .outputs
                    .first()
                    .map(|o| o.name.clone())
                    .unwrap_or_default();
                let values: Vec<Value> = rows
                    .iter()
                    .filter_map(|r| r.entries.first().map(|(_, v)| v.clone()))
                    .filter(|v| !matches!(v, Value::Null))
                    .collect();
                match aggregate(aggregation, &values)
                    .map_err(|m| err(format!("decision '{decision_id}': {m}")))?
                {
                    Some(value) => (
                        vec![RuleResult {
                            rule_id: None,
                            entries: vec![(name, value.clone())],
                        }],
                        Some(value),
                    ),
                    None => (Vec::new(), None),
                }
            }
        },
    })
}

/// PRIORITY / OUTPUT ORDER: by the position of each output's value in that output's
/// `outputValues` (first output first); ties keep rule order.
fn sort_by_priority(table: &DecisionTable, rows: &mut [RuleResult]) {
    let rank = |row: &RuleResult| -> Vec<usize> {
        table
            .outputs
            .iter()
            .map(|o| {
                row.entries
                    .iter()
                    .find(|(n, _)| *n == o.name)
                    .and_then(|(_, v)| o.values.iter().position(|p| same_value(p, v)))
                    .unwrap_or(o.values.len())
            })
            .collect()
    };
    rows.sort_by_key(|r| rank(r));
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if !matches!(a, Value::String(_)) && !matches!(b, Value::String(_)) => {
            x == y
        }
        _ => a == b,
    }
}

fn aggregate(aggregation: Aggregation, values: &[Value]) -> Result<Option<Value>, String> {
    if aggregation == Aggregation::Count {
        return Ok(Some(Value::Integer(
            i32::try_from(values.len()).unwrap_or(i32::MAX),
        )));
    }
    if values.is_empty() {
        return Ok(None);
    }
    let numbers: Vec<f64> = values
        .iter()
        .map(|v| {
            v.as_f64()
                .filter(|_| !matches!(v, Value::String(_)))
                .ok_or_else(|| format!("cannot aggregate the {} value {v:?}", v.type_name()))
        })
        .collect::<Result<_, _>>()?;
    let all_integral = values
        .iter()
        .all(|v| matches!(v, Value::Integer(_) | Value::Long(_) | Value::Short(_)));
    let pick = |better: fn(f64, f64) -> bool| -> Value {
        let mut best = 0;
        for (i, n) in numbers.iter().enumerate() {
            if better(*n, numbers[best]) {
                best = i;
            }
        }
        values[best].clone()
    };
    Ok(Some(match aggregation {
        Aggregation::Min => pick(|a, b| a < b),
        Aggregation::Max => pick(|a, b| a > b),
        Aggregation::Sum if all_integral => {
            let mut total: i64 = 0;
            for v in values {
                let n = match v {
                    Value::Integer(n) => i64::from(*n),
                    Value::Long(n) => *n,
                    Value::Short(n) => i64::from(*n),
                    _ => 0,
                };
                total = total
                    .checked_add(n)
                    .ok_or_else(|| "the sum overflows a long".to_owned())?;
            }
            if values.iter().all(|v| matches!(v, Value::Integer(_)))
                && let Ok(n) = i32::try_from(total)
            {
                Value::Integer(n)
            } else {
                Value::Long(total)
            }
        }
        Aggregation::Sum => Value::Double(numbers.iter().sum()),
        Aggregation::Count => Value::Integer(0),
    }))
}

/// Camunda's type transformers: a value becomes the declared type, or the evaluation fails.
fn coerce(value: Value, type_ref: Option<TypeRef>) -> Result<Value, String> {
    let Some(type_ref) = type_ref else {
        return Ok(value);
    };
    if matches!(value, Value::Null) {
        return Ok(Value::Null);
    }
    let fail = |v: &Value| {
        format!(
            "the {} value {} cannot be transformed to type '{}'",
            v.type_name(),
            v.to_json(),
            type_name(type_ref)
        )
    };
    let integral = |v: &Value| -> Option<i64> {
        match v {
            Value::Short(n) => Some(i64::from(*n)),
            Value::Integer(n) => Some(i64::from(*n)),
            Value::Long(n) => Some(*n),
            Value::Double(d) if d.fract() == 0.0 && d.abs() < 9.2e18 => Some(*d as i64),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    };
    Ok(match type_ref {
        TypeRef::String => match value {
            Value::String(s) => Value::String(s),
            Value::Boolean(b) => Value::String(b.to_string()),
            Value::Short(n) => Value::String(n.to_string()),
            Value::Integer(n) => Value::String(n.to_string()),
            Value::Long(n) => Value::String(n.to_string()),
            Value::Double(d) => Value::String(d.to_string()),
            other => return Err(fail(&other)),
        },
        TypeRef::Boolean => match value {
            Value::Boolean(b) => Value::Boolean(b),
            Value::String(ref s) if s == "true" || s == "false" => Value::Boolean(s == "true"),
            other => return Err(fail(&other)),
        },
        TypeRef::Integer => match integral(&value).and_then(|n| i32::try_from(n).ok()) {
            Some(n) => Value::Integer(n),
            None => return Err(fail(&value)),
        },
        TypeRef::Long => match integral(&value) {
            Some(n) => Value::Long(n),
            None => return Err(fail(&value)),
        },
        TypeRef::Double => match value {
            Value::String(ref s) => match s.trim().parse::<f64>() {
                Ok(d) => Value::Double(d),
                Err(_) => return Err(fail(&value)),
            },
            ref v => match v.as_f64() {
                Some(d) => Value::Double(d),
                None => return Err(fail(v)),
            },
        },
        TypeRef::Date => match value {
            Value::Date(ms) => Value::Date(ms),
            Value::String(ref s) => match parse_date(s) {
                Some(ms) => Value::Date(ms),
                None => return Err(fail(&value)),
            },
            other => return Err(fail(&other)),
        },
    })
}

fn type_name(t: TypeRef) -> &'static str {
    match t {
        TypeRef::String => "string",
        TypeRef::Boolean => "boolean",
        TypeRef::Integer => "integer",
        TypeRef::Long => "long",
        TypeRef::Double => "double",
        TypeRef::Date => "date",
    }
}

/// `yyyy-MM-dd'T'HH:mm:ss` (Camunda's DMN date format), optionally with a zone, as UTC ms.
fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}
