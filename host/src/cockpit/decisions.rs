//! The cockpit's decision views: a deployed decision as a table (hit policy, input and output
//! columns, every rule's entries as written, or a literal expression), with the rules one
//! evaluation matched when a historic decision instance is named, and the decisions a process
//! instance evaluated (for its instance page).

use axum::Json;
use axum::extract::{Path, Query, State};
use baton_bpmn::dmn::{DecisionLogic, TypeRef};
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::CockpitState;
use crate::api::decision_history::decision_instance_dto;
use crate::api::error::{ApiError, ApiResult};

/// Query of [`decision_table`].
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableQuery {
    /// A historic decision instance of this decision: its matched rules are marked.
    pub decision_instance_id: Option<String>,
}

fn type_name(t: Option<TypeRef>) -> J {
    t.map_or(J::Null, |t| serde_json::to_value(t).unwrap_or(J::Null))
}

/// `GET /cockpit/api/decision/{id}`: the decision definition drawn as a table.
pub async fn decision_table(
    State(s): State<CockpitState>,
    Path(id): Path<String>,
    Query(q): Query<TableQuery>,
) -> ApiResult<Json<J>> {
    let record = s.engine.decision_definition(&id).await?;
    let deployed = s.engine.deployed_decision(&record)?;
    let decision = deployed.definitions.decision(&record.key).ok_or_else(|| {
        ApiError::not_found(format!("decision {} is not in its file", record.key))
    })?;
    let mut out = json!({
        "id": record.id, "key": record.key, "name": record.name, "version": record.version,
        "versionTag": record.version_tag, "resource": record.resource_name,
        "requiredDecisions": decision.required_decisions,
        "table": null, "literal": null, "evaluation": null,
    });
    match &decision.logic {
        DecisionLogic::Table(t) => {
            out["table"] = json!({
                "hitPolicy": t.hit_policy, "aggregation": t.aggregation,
                "inputs": t.inputs.iter().map(|i| json!({
                    "id": i.id, "label": i.label, "expression": i.expression.source(),
                    "typeRef": type_name(i.type_ref),
                })).collect::<Vec<_>>(),
                "outputs": t.outputs.iter().map(|o| json!({
                    "id": o.id, "label": o.label, "name": o.name, "typeRef": type_name(o.type_ref),
                })).collect::<Vec<_>>(),
                "rules": t.rules.iter().map(|r| json!({
                    "id": r.id, "inputs": r.input_texts, "outputs": r.output_texts,
                })).collect::<Vec<_>>(),
            });
        }
        DecisionLogic::Literal {
            variable,
            expression,
            type_ref,
        } => {
            out["literal"] = json!({
                "variable": variable, "expression": expression.source(),
                "typeRef": type_name(*type_ref),
            });
        }
    }
    if let Some(hid) = q.decision_instance_id {
        let h = s.engine.historic_decision_instance(&hid).await?;
        if h.decision_definition_id != record.id {
            return Err(ApiError::invalid(format!(
                "decision instance {hid} is not an evaluation of {}",
                record.id
            )));
        }
        let mut e = decision_instance_dto(&h, true, true);
        e["matchedRuleIds"] = json!(h.matched_rule_ids);
        out["evaluation"] = e;
    }
    Ok(Json(out))
}

/// `GET /cockpit/api/instance/{id}/decisions`: the decisions a process instance evaluated,
/// with the rules each matched.
pub async fn instance_decisions(
    State(s): State<CockpitState>,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    let rows = s.engine.historic_decision_instances().await?;
    Ok(Json(J::Array(
        rows.iter()
            .filter(|h| h.process_instance_id.as_deref() == Some(id.as_str()))
            .map(|h| {
                let mut e = decision_instance_dto(h, false, true);
                e["matchedRuleIds"] = json!(h.matched_rule_ids);
                e
            })
            .collect(),
    )))
}

/// `GET /cockpit/api/decisions`: the latest version of every decision key.
pub async fn decision_list(State(s): State<CockpitState>) -> ApiResult<Json<J>> {
    let mut all = s.engine.decision_definitions().await?;
    all.sort_by(|a, b| a.key.cmp(&b.key).then(b.version.cmp(&a.version)));
    all.dedup_by(|a, b| a.key == b.key && a.tenant_id == b.tenant_id);
    Ok(Json(J::Array(
        all.iter()
            .map(|d| {
                json!({"id": d.id, "key": d.key, "name": d.name, "version": d.version,
                       "resource": d.resource_name, "tenantId": d.tenant_id})
            })
            .collect(),
    )))
}
