//! `/history/decision-instance`: list, count and get historic decision instances, with
//! `includeInputs` / `includeOutputs` and Camunda's main filters. One instance is recorded per
//! evaluated decision (required decisions included, pointing at their root), by a business
//! rule task in the same commit as its step, or by a REST evaluation before it answers.

use std::cmp::Ordering;

use axum::extract::{Path, State};
use serde_json::{Value as J, json};

use super::date::format;
use super::error::ApiResult;
use super::json::Json;
use super::query::{Params, QueryInput, eq_opt, in_opt, like_opt, sort_and_page};
use super::variables::encode_value;
use super::{ApiState, Route, dto};
use crate::records::HistoricDecisionInstance;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get(
            "/history/decision-instance",
            "List historic decision instances",
            list,
        ),
        Route::get(
            "/history/decision-instance/count",
            "Count historic decision instances",
            count,
        ),
        Route::get(
            "/history/decision-instance/{id}",
            "Get a historic decision instance",
            get,
        ),
        Route::get(
            "/history/decision-requirements-definition/{id}/statistics",
            "Evaluations per decision of a decision requirements definition",
            drd_statistics,
        ),
    ]
}

/// Camunda's `HistoricDecisionInstanceStatisticsDto` list: how often each decision of the
/// decision requirements definition was evaluated (required decisions included), or, with
/// `decisionInstanceId`, within that one evaluation (the instance and those whose root it
/// is). An unknown definition has no evaluations (Camunda checks nothing either).
async fn drd_statistics(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let root = q.str("decisionInstanceId");
    let mut evaluations: std::collections::BTreeMap<String, u64> = Default::default();
    for h in state.engine.historic_decision_instances().await? {
        if h.decision_requirements_definition_id.as_deref() != Some(id.as_str()) {
            continue;
        }
        if let Some(root) = &root
            && h.id != *root
            && h.root_decision_instance_id.as_deref() != Some(root.as_str())
        {
            continue;
        }
        *evaluations.entry(h.decision_definition_key).or_default() += 1;
    }
    Ok(Json(J::Array(
        evaluations
            .into_iter()
            .map(|(key, n)| json!({"decisionDefinitionKey": key, "evaluations": n}))
            .collect(),
    )))
}

/// A typed value as history shows it: `type`, `value`, `valueInfo`.
fn typed(value: &baton_bpmn::Value) -> (J, J, J) {
    let mut v = encode_value(value, true);
    let take = |k: &str, v: &mut J| {
        v.as_object_mut()
            .and_then(|o| o.remove(k))
            .unwrap_or(J::Null)
    };
    let ty = take("type", &mut v);
    let val = take("value", &mut v);
    let info = take("valueInfo", &mut v);
    (ty, val, if info.is_null() { json!({}) } else { info })
}

/// Camunda's `HistoricDecisionInstanceDto`; inputs and outputs only when asked for.
pub(crate) fn decision_instance_dto(
    h: &HistoricDecisionInstance,
    inputs: bool,
    outputs: bool,
) -> J {
    let time = format(h.evaluation_time);
    let mut o = json!({
        "id": h.id,
        "decisionDefinitionId": h.decision_definition_id,
        "decisionDefinitionKey": h.decision_definition_key,
        "decisionDefinitionName": h.decision_definition_name,
        "evaluationTime": time,
        "removalTime": null,
        "processDefinitionId": h.process_definition_id,
        "processDefinitionKey": h.process_definition_key,
        "processInstanceId": h.process_instance_id,
        "rootProcessInstanceId": h.root_process_instance_id,
        "caseDefinitionId": null, "caseDefinitionKey": null, "caseInstanceId": null,
        "activityId": h.activity_id,
        "activityInstanceId": h.activity_instance_id,
        "tenantId": h.tenant_id,
        "userId": h.user_id,
        "inputs": null,
        "outputs": null,
        "collectResultValue": h.collect_result_value.as_ref().map(|v| typed(v).1),
        "rootDecisionInstanceId": h.root_decision_instance_id,
        "decisionRequirementsDefinitionId": h.decision_requirements_definition_id,
        "decisionRequirementsDefinitionKey": h.decision_requirements_definition_key,
    });
    if inputs {
        o["inputs"] = J::Array(
            h.inputs
                .iter()
                .enumerate()
                .map(|(i, input)| {
                    let (ty, value, info) = typed(&input.value);
                    json!({
                        "id": format!("{}-i{i}", h.id), "decisionInstanceId": h.id,
                        "clauseId": input.clause_id, "clauseName": input.clause_name,
                        "errorMessage": null, "type": ty, "createTime": time,
                        "removalTime": null, "rootProcessInstanceId": h.root_process_instance_id,
                        "value": value, "valueInfo": info,
                    })
                })
                .collect(),
        );
    }
    if outputs {
        o["outputs"] = J::Array(
            h.outputs
                .iter()
                .enumerate()
                .map(|(i, out)| {
                    let (ty, value, info) = typed(&out.value);
                    json!({
                        "id": format!("{}-o{i}", h.id), "decisionInstanceId": h.id,
                        "clauseId": out.clause_id, "clauseName": out.clause_name,
                        "ruleId": out.rule_id, "ruleOrder": out.rule_order,
                        "variableName": out.variable_name,
                        "errorMessage": null, "type": ty, "createTime": time,
                        "removalTime": null, "rootProcessInstanceId": h.root_process_instance_id,
                        "value": value, "valueInfo": info,
                    })
                })
                .collect(),
        );
    }
    o
}

fn filter(
    q: &QueryInput,
    all: Vec<HistoricDecisionInstance>,
) -> ApiResult<Vec<HistoricDecisionInstance>> {
    let id = q.str("decisionInstanceId");
    let id_in = q.list("decisionInstanceIdIn");
    let def_id = q.str("decisionDefinitionId");
    let def_id_in = q.list("decisionDefinitionIdIn");
    let key = q.str("decisionDefinitionKey");
    let key_in = q.list("decisionDefinitionKeyIn");
    let name = q.str("decisionDefinitionName");
    let name_like = q.like("decisionDefinitionNameLike");
    let pd_id = q.str("processDefinitionId");
    let pd_key = q.str("processDefinitionKey");
    let pi_id = q.str("processInstanceId");
    let activity_in = q.list("activityIdIn");
    let activity_instance_in = q.list("activityInstanceIdIn");
    let before = q.date("evaluatedBefore")?;
    let after = q.date("evaluatedAfter")?;
    let user = q.str("userId");
    let root = q.str("rootDecisionInstanceId");
    let roots_only = q.flag("rootDecisionInstancesOnly")?;
    let drd_id = q.str("decisionRequirementsDefinitionId");
    let drd_key = q.str("decisionRequirementsDefinitionKey");
    let tenants = q.list("tenantIdIn");
    let without_tenant = q.flag("withoutTenantId")?;
    Ok(super::query::live(all)
        .filter(|h| {
            eq_opt(&id, Some(&h.id))
                && in_opt(&id_in, Some(&h.id))
                && eq_opt(&def_id, Some(&h.decision_definition_id))
                && in_opt(&def_id_in, Some(&h.decision_definition_id))
                && eq_opt(&key, Some(&h.decision_definition_key))
                && in_opt(&key_in, Some(&h.decision_definition_key))
                && eq_opt(&name, h.decision_definition_name.as_deref())
                && like_opt(&name_like, h.decision_definition_name.as_deref())
                && eq_opt(&pd_id, h.process_definition_id.as_deref())
                && eq_opt(&pd_key, h.process_definition_key.as_deref())
                && eq_opt(&pi_id, h.process_instance_id.as_deref())
                && in_opt(&activity_in, h.activity_id.as_deref())
                && in_opt(&activity_instance_in, h.activity_instance_id.as_deref())
                && before.is_none_or(|t| h.evaluation_time <= t)
                && after.is_none_or(|t| h.evaluation_time >= t)
                && eq_opt(&user, h.user_id.as_deref())
                && (root.is_none()
                    || root.as_deref() == Some(h.id.as_str())
                    || h.root_decision_instance_id == root)
                && (!roots_only || h.root_decision_instance_id.is_none())
                && eq_opt(&drd_id, h.decision_requirements_definition_id.as_deref())
                && eq_opt(&drd_key, h.decision_requirements_definition_key.as_deref())
                && in_opt(&tenants, h.tenant_id.as_deref())
                && (!without_tenant || h.tenant_id.is_none())
        })
        .collect())
}

async fn list(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let sorts = q.sorting(&["evaluationTime", "tenantId"])?;
    let page = q.pagination()?;
    let inputs = q.flag("includeInputs")?;
    let outputs = q.flag("includeOutputs")?;
    let items = filter(&q, state.engine.historic_decision_instances().await?)?;
    let items = sort_and_page(items, &sorts, page, |a, b, by| match by {
        "evaluationTime" => a.evaluation_time.cmp(&b.evaluation_time),
        "tenantId" => a.tenant_id.cmp(&b.tenant_id),
        _ => Ordering::Equal,
    })?;
    Ok(Json(J::Array(
        items
            .iter()
            .map(|h| with_removal_time(&state, decision_instance_dto(h, inputs, outputs), h))
            .collect(),
    )))
}

async fn count(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let all = state.engine.historic_decision_instances().await?;
    Ok(Json(dto::count(filter(&q, all)?.len())))
}

async fn get(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let h = state.engine.historic_decision_instance(&id).await?;
    let dto = decision_instance_dto(&h, q.flag("includeInputs")?, q.flag("includeOutputs")?);
    Ok(Json(with_removal_time(&state, dto, &h)))
}

/// The DTO with `removalTime`: an override, or the calculated one (see
/// `engine/decision_cleanup.rs`).
fn with_removal_time(state: &ApiState, mut dto: J, h: &HistoricDecisionInstance) -> J {
    dto["removalTime"] = J::from(super::date::format_opt(
        state.engine.decision_removal_time_of(h),
    ));
    dto
}

/// The ids of the historic decision instances a `historicDecisionInstanceQuery` body (the
/// `/history/decision-instance` filters) matches, as the batch operations take them.
pub(crate) async fn historic_decision_ids(state: &ApiState, query: &J) -> ApiResult<Vec<String>> {
    let query = QueryInput::from_body(query, &QueryInput::from_pairs(Vec::new()));
    Ok(
        filter(&query, state.engine.historic_decision_instances().await?)?
            .into_iter()
            .map(|h| h.id)
            .collect(),
    )
}
