//! `/history/*`: historic process instances, activity instances, variable instances,
//! incidents and the user operation log (list, count, get, with the main filters and sorting).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::extract::{Path, State};
use axum::response::Response;
use baton_bpmn::Variables;
use serde_json::{Value as J, json};

use super::date::{format, format_opt};
use super::error::{ApiError, ApiResult, not_found_as};
use super::json::{Json, no_content};
use super::query::{
    Params, QueryInput, Search, eq_opt, in_opt, like_opt, list_rows, only_indexed, sort_and_page,
    variables_match, verdict,
};
use super::variables::encode_value;
use super::{ApiState, Route, dto, incident};
use crate::engine::HistoricInstanceLookup;
use crate::records::{
    HistoricActivityInstance, HistoricProcessInstance, HistoricVariableInstance, UserOperation,
};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get(
            "/history/process-instance",
            "List historic process instances",
            hpi_list,
        ),
        Route::post(
            "/history/process-instance",
            "List historic process instances (query body)",
            hpi_list,
        ),
        Route::get(
            "/history/process-instance/count",
            "Count historic process instances",
            hpi_count,
        ),
        Route::post(
            "/history/process-instance/count",
            "Count historic process instances (query body)",
            hpi_count,
        ),
        Route::get(
            "/history/process-instance/{id}",
            "Get a historic process instance",
            hpi_get,
        ),
        Route::delete(
            "/history/process-instance/{id}",
            "Delete the history of an ended instance",
            hpi_delete,
        ),
        Route::get(
            "/history/activity-instance",
            "List historic activity instances",
            hai_list,
        ),
        Route::post(
            "/history/activity-instance",
            "List historic activity instances (query body)",
            hai_list,
        ),
        Route::get(
            "/history/activity-instance/count",
            "Count historic activity instances",
            hai_count,
        ),
        Route::post(
            "/history/activity-instance/count",
            "Count historic activity instances (query body)",
            hai_count,
        ),
        Route::get(
            "/history/activity-instance/{id}",
            "Get a historic activity instance",
            hai_get,
        ),
        Route::get(
            "/history/variable-instance",
            "List historic variable instances",
            hvi_list,
        ),
        Route::post(
            "/history/variable-instance",
            "List historic variable instances (query body)",
            hvi_list,
        ),
        Route::get(
            "/history/variable-instance/count",
            "Count historic variable instances",
            hvi_count,
        ),
        Route::get(
            "/history/variable-instance/{id}",
            "Get a historic variable instance",
            hvi_get,
        ),
        Route::get("/history/incident", "List historic incidents", hinc_list),
        Route::get(
            "/history/incident/count",
            "Count historic incidents",
            hinc_count,
        ),
        Route::get("/history/user-operation", "The user operation log", op_list),
        Route::get(
            "/history/user-operation/count",
            "Count user operation log entries",
            op_count,
        ),
    ]
}

// ------------------------------------------------------------------ process instances

const HPI_SORT: &[&str] = &[
    "instanceId",
    "definitionId",
    "definitionKey",
    "definitionName",
    "definitionVersion",
    "businessKey",
    "startTime",
    "endTime",
    "duration",
    "tenantId",
];

fn hpi_dto(h: &HistoricProcessInstance) -> J {
    json!({
        "id": h.id,
        "businessKey": h.business_key,
        "processDefinitionId": h.process_definition_id,
        "processDefinitionKey": h.process_definition_key,
        "processDefinitionName": h.process_definition_name,
        "processDefinitionVersion": h.process_definition_version,
        "startTime": format(h.start_time),
        "endTime": format_opt(h.end_time),
        "removalTime": null,
        "durationInMillis": h.end_time.map(|e| e - h.start_time),
        "startUserId": h.start_user_id,
        "startActivityId": h.start_activity_id,
        "deleteReason": h.delete_reason,
        "rootProcessInstanceId": h.root_process_instance_id,
        "superProcessInstanceId": h.super_process_instance_id,
        "superCaseInstanceId": null,
        "caseInstanceId": null,
        "tenantId": h.tenant_id,
        "state": h.state,
        "restartedProcessInstanceId": null,
    })
}

/// The historic activities and the live variables of every instance, grouped by instance once
/// (only what the filters need), so the filter is linear in the instances plus what they
/// relate to, not their product.
async fn hpi_related(
    state: &ApiState,
    activities: bool,
    variables: bool,
) -> ApiResult<(
    HashMap<String, Vec<HistoricActivityInstance>>,
    HashMap<String, Variables>,
)> {
    let mut activities_of: HashMap<String, Vec<HistoricActivityInstance>> = HashMap::new();
    if activities {
        for a in state.engine.historic_activity_instances(None).await? {
            activities_of
                .entry(a.process_instance_id.clone())
                .or_default()
                .push(a);
        }
    }
    let mut variables_of: HashMap<String, Variables> = HashMap::new();
    if variables {
        for v in state.engine.historic_variables(None).await? {
            if v.state != "DELETED" {
                // The first live record of a name wins, as the scan it replaced did.
                variables_of
                    .entry(v.process_instance_id)
                    .or_default()
                    .entry(v.name)
                    .or_insert(v.value);
            }
        }
    }
    Ok((activities_of, variables_of))
}

/// The states asked for by the `active`, `suspended`, `completed`, `externallyTerminated` and
/// `internallyTerminated` flags (each validated as a boolean).
fn hpi_states(q: &QueryInput) -> ApiResult<Vec<&'static str>> {
    let mut states = Vec::new();
    for (param, state) in [
        ("active", "ACTIVE"),
        ("suspended", "SUSPENDED"),
        ("completed", "COMPLETED"),
        ("externallyTerminated", "EXTERNALLY_TERMINATED"),
        ("internallyTerminated", "INTERNALLY_TERMINATED"),
    ] {
        q.bool(param)?;
        if q.flag(param)? {
            states.push(state);
        }
    }
    Ok(states)
}

/// The query fields the indexes and kept counts serve for historic instances.
const HPI_INDEXED: &[&str] = &["processDefinitionKey", "finished", "unfinished"];

/// The indexed part of a historic instance query.
fn hpi_lookup<'a>(
    q: &QueryInput,
    key: &'a Option<String>,
) -> ApiResult<HistoricInstanceLookup<'a>> {
    let finished = match (q.flag("finished")?, q.flag("unfinished")?) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    };
    Ok(HistoricInstanceLookup {
        definition_key: key.as_deref(),
        finished,
    })
}

/// Camunda's historic process instance query parameters as a predicate.
async fn hpi_matcher(
    state: &ApiState,
    q: &QueryInput,
) -> ApiResult<impl Fn(&HistoricProcessInstance) -> bool + use<>> {
    let id = q.str("processInstanceId");
    let ids = q.list("processInstanceIds");
    let pd = q.str("processDefinitionId");
    let key = q.str("processDefinitionKey");
    let key_in = q.list("processDefinitionKeyIn");
    let key_not_in = q.list("processDefinitionKeyNotIn");
    let bk = q.str("processInstanceBusinessKey");
    let bk_in = q.list("processInstanceBusinessKeyIn");
    let bk_like = q.like("processInstanceBusinessKeyLike");
    let finished = q.flag("finished")?;
    let unfinished = q.flag("unfinished")?;
    let with_incidents = q.flag("withIncidents")?;
    let incident_status = q.str("incidentStatus");
    let started_before = q.date("startedBefore")?;
    let started_after = q.date("startedAfter")?;
    let finished_before = q.date("finishedBefore")?;
    let finished_after = q.date("finishedAfter")?;
    let states = hpi_states(q)?;
    let tenants = q.list("tenantIdIn");
    let without_tenant = q.flag("withoutTenantId")?;
    let roots = q.flag("rootProcessInstances")?;
    let super_pi = q.str("superProcessInstanceId");
    let started_by = q.str("startedBy");
    let executed = q
        .list("executedActivityIdIn")
        .or_else(|| q.list("activityIdIn"));
    let active_in = q.list("activeActivityIdIn");
    let vars = q.variables("variables")?;
    let values_ic = q.flag("variableValuesIgnoreCase")?;

    let incident_pis: Option<BTreeSet<String>> = if with_incidents || incident_status.is_some() {
        let all = state.engine.historic_incidents().await?;
        Some(
            super::query::live(all)
                .filter(|i| match incident_status.as_deref() {
                    Some("open") => i.end_time.is_none(),
                    Some("resolved") => i.end_time.is_some(),
                    _ => true,
                })
                .map(|i| i.process_instance_id)
                .collect(),
        )
    } else {
        None
    };
    let (activities_of, variables_of) = hpi_related(
        state,
        executed.is_some() || active_in.is_some(),
        !vars.is_empty(),
    )
    .await?;
    let no_activities: Vec<HistoricActivityInstance> = Vec::new();
    let no_variables = Variables::new();
    Ok(move |h: &HistoricProcessInstance| {
        eq_opt(&id, Some(&h.id))
            && in_opt(&ids, Some(&h.id))
            && eq_opt(&pd, Some(&h.process_definition_id))
            && eq_opt(&key, Some(&h.process_definition_key))
            && in_opt(&key_in, Some(&h.process_definition_key))
            && key_not_in
                .as_ref()
                .is_none_or(|l| !l.contains(&h.process_definition_key))
            && eq_opt(&bk, h.business_key.as_deref())
            && in_opt(&bk_in, h.business_key.as_deref())
            && like_opt(&bk_like, h.business_key.as_deref())
            && (!finished || h.end_time.is_some())
            && (!unfinished || h.end_time.is_none())
            && incident_pis.as_ref().is_none_or(|s| s.contains(&h.id))
            && started_before.is_none_or(|d| h.start_time < d)
            && started_after.is_none_or(|d| h.start_time > d)
            && finished_before.is_none_or(|d| h.end_time.is_some_and(|e| e < d))
            && finished_after.is_none_or(|d| h.end_time.is_some_and(|e| e > d))
            && (states.is_empty() || states.contains(&h.state.as_str()))
            && in_opt(&tenants, h.tenant_id.as_deref())
            && (!without_tenant || h.tenant_id.is_none())
            && (!roots || h.super_process_instance_id.is_none())
            && eq_opt(&super_pi, h.super_process_instance_id.as_deref())
            && eq_opt(&started_by, h.start_user_id.as_deref())
            && {
                let activities = activities_of.get(&h.id).unwrap_or(&no_activities);
                executed
                    .as_ref()
                    .is_none_or(|l| activities.iter().any(|a| l.contains(&a.activity_id)))
                    && active_in.as_ref().is_none_or(|l| {
                        activities
                            .iter()
                            .any(|a| a.end_time.is_none() && l.contains(&a.activity_id))
                    })
            }
            && variables_match(
                &vars,
                variables_of.get(&h.id).unwrap_or(&no_variables),
                false,
                values_ic,
            )
    })
}

async fn hpi_query(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<J>> {
    let sorts = q.sorting(HPI_SORT)?;
    let mut keep = verdict(hpi_matcher(state, q).await?);
    let key = q.str("processDefinitionKey");
    let lookup = hpi_lookup(q, &key)?;
    let read = |skip, limit| {
        Ok(state
            .engine
            .historic_process_instances_where(&lookup, &mut keep, skip, limit)?)
    };
    let items = list_rows(&sorts, q.pagination()?, read, |a, b, by| match by {
        "instanceId" => a.id.cmp(&b.id),
        "definitionId" => a.process_definition_id.cmp(&b.process_definition_id),
        "definitionKey" => a.process_definition_key.cmp(&b.process_definition_key),
        "definitionName" => a.process_definition_name.cmp(&b.process_definition_name),
        "definitionVersion" => a
            .process_definition_version
            .cmp(&b.process_definition_version),
        "businessKey" => a.business_key.cmp(&b.business_key),
        "startTime" => a.start_time.cmp(&b.start_time),
        "endTime" => a.end_time.cmp(&b.end_time),
        "duration" => a
            .end_time
            .map(|e| e - a.start_time)
            .cmp(&b.end_time.map(|e| e - b.start_time)),
        "tenantId" => a.tenant_id.cmp(&b.tenant_id),
        _ => Ordering::Equal,
    })?;
    Ok(items.iter().map(hpi_dto).collect())
}

async fn hpi_list(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    Ok(Json(J::Array(hpi_query(&state, &q).await?)))
}

async fn hpi_count(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let key = q.str("processDefinitionKey");
    let lookup = hpi_lookup(&q, &key)?;
    let contradictory = q.flag("finished")? && q.flag("unfinished")?;
    if only_indexed(&q, HPI_INDEXED) && !contradictory {
        let n = state
            .engine
            .count_historic_process_instances_where(&lookup)?;
        return Ok(Json(dto::count(n)));
    }
    let mut keep = verdict(hpi_matcher(&state, &q).await?);
    let n = state
        .engine
        .historic_process_instances_where(&lookup, &mut keep, 0, usize::MAX)?
        .len();
    super::guard::check()?;
    Ok(Json(dto::count(n)))
}

fn hpi_missing(id: &str) -> ApiError {
    ApiError::not_found(format!(
        "Historic process instance with id {id} does not exist"
    ))
}

async fn hpi_get(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let h = state
        .engine
        .historic_process_instance(&id)
        .await
        .map_err(|e| not_found_as(e, || hpi_missing(&id)))?;
    Ok(Json(hpi_dto(&h)))
}

async fn hpi_delete(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    state
        .engine
        .delete_historic_process_instance(&id)
        .await
        .map_err(|e| not_found_as(e, || hpi_missing(&id)))?;
    Ok(no_content())
}

// ------------------------------------------------------------------ activity instances

const HAI_SORT: &[&str] = &[
    "activityInstanceId",
    "instanceId",
    "executionId",
    "activityId",
    "activityName",
    "activityType",
    "startTime",
    "endTime",
    "duration",
    "definitionId",
    "occurrence",
    "tenantId",
];

fn hai_dto(h: &HistoricActivityInstance) -> J {
    json!({
        "id": h.id,
        "parentActivityInstanceId": h.parent_activity_instance_id,
        "activityId": h.activity_id,
        "activityName": h.activity_name,
        "activityType": h.activity_type,
        "processDefinitionKey": h.process_definition_key,
        "processDefinitionId": h.process_definition_id,
        "processInstanceId": h.process_instance_id,
        "executionId": h.execution_id,
        "taskId": h.task_id,
        "assignee": h.assignee,
        "calledProcessInstanceId": h.called_process_instance_id,
        "calledCaseInstanceId": null,
        "startTime": format(h.start_time),
        "endTime": format_opt(h.end_time),
        "durationInMillis": h.end_time.map(|e| e - h.start_time),
        "canceled": h.canceled,
        "completeScope": h.complete_scope,
        "tenantId": h.tenant_id,
        "removalTime": null,
        "rootProcessInstanceId": h.process_instance_id,
    })
}

async fn hai_filter(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<HistoricActivityInstance>> {
    let ai = q.str("activityInstanceId");
    let pi = q.str("processInstanceId");
    let pd = q.str("processDefinitionId");
    let execution = q.str("executionId");
    let activity = q.str("activityId");
    let name = q.str("activityName");
    let name_like = q.like("activityNameLike");
    let kind = q.str("activityType");
    let assignee = q.str("taskAssignee");
    let finished = q.flag("finished")?;
    let unfinished = q.flag("unfinished")?;
    let canceled = q.flag("canceled")?;
    let complete_scope = q.flag("completeScope")?;
    let started_before = q.date("startedBefore")?;
    let started_after = q.date("startedAfter")?;
    let finished_before = q.date("finishedBefore")?;
    let finished_after = q.date("finishedAfter")?;
    let tenants = q.list("tenantIdIn");
    let without_tenant = q.flag("withoutTenantId")?;
    Ok(state
        .engine
        .historic_activity_instances(pi.as_deref())
        .await?
        .into_iter()
        .take_while(super::query::not_cancelled)
        .filter(|h| {
            eq_opt(&ai, Some(&h.id))
                && eq_opt(&pi, Some(&h.process_instance_id))
                && eq_opt(&pd, Some(&h.process_definition_id))
                && eq_opt(&execution, Some(&h.execution_id))
                && eq_opt(&activity, Some(&h.activity_id))
                && eq_opt(&name, h.activity_name.as_deref())
                && like_opt(&name_like, h.activity_name.as_deref())
                && eq_opt(&kind, Some(&h.activity_type))
                && eq_opt(&assignee, h.assignee.as_deref())
                && (!finished || h.end_time.is_some())
                && (!unfinished || h.end_time.is_none())
                && (!canceled || h.canceled)
                && (!complete_scope || h.complete_scope)
                && started_before.is_none_or(|d| h.start_time < d)
                && started_after.is_none_or(|d| h.start_time > d)
                && finished_before.is_none_or(|d| h.end_time.is_some_and(|e| e < d))
                && finished_after.is_none_or(|d| h.end_time.is_some_and(|e| e > d))
                && in_opt(&tenants, h.tenant_id.as_deref())
                && (!without_tenant || h.tenant_id.is_none())
        })
        .collect())
}

async fn hai_query(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<J>> {
    let sorts = q.sorting(HAI_SORT)?;
    let page = q.pagination()?;
    let items = hai_filter(state, q).await?;
    let items = sort_and_page(items, &sorts, page, |a, b, by| match by {
        "activityInstanceId" => a.id.cmp(&b.id),
        "instanceId" => a.process_instance_id.cmp(&b.process_instance_id),
        "executionId" => a.execution_id.cmp(&b.execution_id),
        "activityId" => a.activity_id.cmp(&b.activity_id),
        "activityName" => a.activity_name.cmp(&b.activity_name),
        "activityType" => a.activity_type.cmp(&b.activity_type),
        // Ties on start time (same millisecond) are broken by the start order.
        "startTime" => a
            .start_time
            .cmp(&b.start_time)
            .then(a.sequence.cmp(&b.sequence)),
        "endTime" => a.end_time.cmp(&b.end_time),
        "duration" => a
            .end_time
            .map(|e| e - a.start_time)
            .cmp(&b.end_time.map(|e| e - b.start_time)),
        "definitionId" => a.process_definition_id.cmp(&b.process_definition_id),
        "occurrence" => a.sequence.cmp(&b.sequence),
        "tenantId" => a.tenant_id.cmp(&b.tenant_id),
        _ => Ordering::Equal,
    })?;
    Ok(items.iter().map(hai_dto).collect())
}

async fn hai_list(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    Ok(Json(J::Array(hai_query(&state, &q).await?)))
}

async fn hai_count(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    Ok(Json(dto::count(hai_filter(&state, &q).await?.len())))
}

async fn hai_get(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let h = state.engine.historic_activity_instance(&id).await?;
    Ok(Json(hai_dto(&h)))
}

// ------------------------------------------------------------------ variable instances

const HVI_SORT: &[&str] = &["instanceId", "variableName", "tenantId"];

fn hvi_dto(h: &HistoricVariableInstance, deserialize: bool) -> J {
    let typed = encode_value(&h.value, deserialize);
    json!({
        "id": h.id,
        "name": h.name,
        "type": typed["type"],
        "value": typed["value"],
        "valueInfo": typed["valueInfo"],
        "processDefinitionKey": h.process_definition_key,
        "processDefinitionId": h.process_definition_id,
        "processInstanceId": h.process_instance_id,
        "executionId": h.activity_instance_id,
        "activityInstanceId": h.activity_instance_id,
        "caseDefinitionKey": null,
        "caseDefinitionId": null,
        "caseInstanceId": null,
        "caseExecutionId": null,
        "taskId": null,
        "errorMessage": null,
        "tenantId": h.tenant_id,
        "state": h.state,
        "createTime": format(h.create_time),
        "removalTime": null,
        "rootProcessInstanceId": h.process_instance_id,
    })
}

async fn hvi_filter(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<HistoricVariableInstance>> {
    let name = q.str("variableName");
    let name_like = q.like("variableNameLike");
    let names_in = q.list("variableNameIn");
    let value = q.raw("variableValue").cloned();
    let pi = q.str("processInstanceId");
    let pi_in = q.list("processInstanceIdIn");
    let pd = q.str("processDefinitionId");
    let pd_key = q.str("processDefinitionKey");
    let ai_in = q.list("activityInstanceIdIn");
    let exec_in = q.list("executionIdIn");
    let tenants = q.list("tenantIdIn");
    let include_deleted = q.flag("includeDeleted")?;
    Ok(state
        .engine
        .historic_variables(pi.as_deref())
        .await?
        .into_iter()
        .take_while(super::query::not_cancelled)
        .filter(|h| {
            eq_opt(&name, Some(&h.name))
                && like_opt(&name_like, Some(&h.name))
                && in_opt(&names_in, Some(&h.name))
                && value.as_ref().is_none_or(|v| match v {
                    J::String(s) => {
                        h.value.as_str() == Some(s.as_str())
                            || serde_json::from_str::<J>(s).is_ok_and(|j| j == h.value.to_json())
                    }
                    other => h.value.to_json() == *other,
                })
                && eq_opt(&pi, Some(&h.process_instance_id))
                && in_opt(&pi_in, Some(&h.process_instance_id))
                && eq_opt(&pd, Some(&h.process_definition_id))
                && eq_opt(&pd_key, Some(&h.process_definition_key))
                && in_opt(&ai_in, Some(&h.activity_instance_id))
                && in_opt(&exec_in, Some(&h.activity_instance_id))
                && in_opt(&tenants, h.tenant_id.as_deref())
                && (include_deleted || h.state != "DELETED")
        })
        .collect())
}

async fn hvi_query(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<J>> {
    let sorts = q.sorting(HVI_SORT)?;
    let page = q.pagination()?;
    let deserialize = q.deserialize_values()?;
    let items = hvi_filter(state, q).await?;
    let items = sort_and_page(items, &sorts, page, |a, b, by| match by {
        "instanceId" => a.process_instance_id.cmp(&b.process_instance_id),
        "variableName" => a.name.cmp(&b.name),
        "tenantId" => a.tenant_id.cmp(&b.tenant_id),
        _ => Ordering::Equal,
    })?;
    Ok(items.iter().map(|h| hvi_dto(h, deserialize)).collect())
}

async fn hvi_list(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    Ok(Json(J::Array(hvi_query(&state, &q).await?)))
}

async fn hvi_count(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    Ok(Json(dto::count(hvi_filter(&state, &q).await?.len())))
}

async fn hvi_get(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let h = state.engine.historic_variable(&id).await?;
    Ok(Json(hvi_dto(&h, q.deserialize_values()?)))
}

// ------------------------------------------------------------------ incidents

const HINC_SORT: &[&str] = &[
    "incidentId",
    "incidentMessage",
    "createTime",
    "endTime",
    "incidentType",
    "executionId",
    "activityId",
    "processInstanceId",
    "processDefinitionId",
    "causeIncidentId",
    "rootCauseIncidentId",
    "configuration",
    "tenantId",
];

fn hinc_dto(i: &crate::records::Incident, keys: &BTreeMap<String, String>) -> J {
    // The runtime incident's fields, renamed and extended the way Camunda's history shows them.
    let mut dto = dto::incident(i);
    if let J::Object(fields) = &mut dto {
        let created = fields.remove("incidentTimestamp").unwrap_or(J::Null);
        let extra = json!({
            "processDefinitionKey": keys.get(&i.process_definition_id),
            "rootProcessInstanceId": i.process_instance_id,
            "createTime": created,
            "endTime": format_opt(i.end_time),
            "removalTime": null,
            "historyConfiguration": i.configuration,
            "open": i.end_time.is_none(),
            "deleted": false,
            "resolved": i.end_time.is_some(),
        });
        if let J::Object(extra) = extra {
            fields.extend(extra);
        }
    }
    dto
}

async fn hinc_items(
    state: &ApiState,
    q: &QueryInput,
) -> ApiResult<(Vec<crate::records::Incident>, BTreeMap<String, String>)> {
    let keys: BTreeMap<String, String> = state
        .engine
        .definitions()
        .await?
        .into_iter()
        .map(|d| (d.id, d.key))
        .collect();
    let open = q.flag("open")?;
    let resolved = q.flag("resolved")?;
    let items = incident::filter(q, state.engine.historic_incidents().await?, keys.clone())?
        .into_iter()
        .take_while(super::query::not_cancelled)
        .filter(|i| (!open || i.end_time.is_none()) && (!resolved || i.end_time.is_some()))
        .collect();
    Ok((items, keys))
}

async fn hinc_list(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let sorts = q.sorting(HINC_SORT)?;
    let page = q.pagination()?;
    let (items, keys) = hinc_items(&state, &q).await?;
    let items = sort_and_page(items, &sorts, page, incident::compare)?;
    Ok(Json(J::Array(
        items.iter().map(|i| hinc_dto(i, &keys)).collect(),
    )))
}

async fn hinc_count(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    Ok(Json(dto::count(hinc_items(&state, &q).await?.0.len())))
}

// ------------------------------------------------------------------ user operation log

fn op_dto(o: &UserOperation) -> J {
    let entity = |t: &str| (o.entity_type == t).then(|| o.entity_id.clone());
    json!({
        "id": o.id,
        "deploymentId": entity("Deployment"),
        "processDefinitionId": entity("ProcessDefinition"),
        "processDefinitionKey": null,
        "processInstanceId": o.process_instance_id,
        "executionId": null,
        "caseDefinitionId": null,
        "caseInstanceId": null,
        "caseExecutionId": null,
        "taskId": entity("Task"),
        "externalTaskId": entity("ExternalTask"),
        "batchId": null,
        "jobId": entity("Job"),
        "jobDefinitionId": null,
        "userId": o.user_id,
        "timestamp": format(o.timestamp),
        "operationId": o.id,
        "operationType": o.operation_type,
        "entityType": o.entity_type,
        "property": null,
        "orgValue": null,
        "newValue": o.details,
        "removalTime": null,
        "rootProcessInstanceId": o.process_instance_id,
        "category": if o.entity_type == "Task" { "TaskWorker" } else { "Operator" },
        "annotation": null,
    })
}

async fn op_filter(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<UserOperation>> {
    let user = q.str("userId");
    let op = q.str("operationType");
    let entity = q.str("entityType");
    let entity_in = q.list("entityTypeIn");
    let pi = q.str("processInstanceId");
    let task = q.str("taskId");
    let external = q.str("externalTaskId");
    let after = q.date("afterTimestamp")?;
    let before = q.date("beforeTimestamp")?;
    Ok(state
        .engine
        .user_operations()
        .await?
        .into_iter()
        .take_while(super::query::not_cancelled)
        .filter(|o| {
            eq_opt(&user, o.user_id.as_deref())
                && eq_opt(&op, Some(&o.operation_type))
                && eq_opt(&entity, Some(&o.entity_type))
                && in_opt(&entity_in, Some(&o.entity_type))
                && eq_opt(&pi, o.process_instance_id.as_deref())
                && task
                    .as_ref()
                    .is_none_or(|t| o.entity_type == "Task" && &o.entity_id == t)
                && external
                    .as_ref()
                    .is_none_or(|t| o.entity_type == "ExternalTask" && &o.entity_id == t)
                && after.is_none_or(|d| o.timestamp > d)
                && before.is_none_or(|d| o.timestamp < d)
        })
        .collect())
}

async fn op_list(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let sorts = q.sorting(&["timestamp"])?;
    let page = q.pagination()?;
    let items = op_filter(&state, &q).await?;
    let items = sort_and_page(items, &sorts, page, |a, b, _| a.timestamp.cmp(&b.timestamp))?;
    Ok(Json(J::Array(items.iter().map(op_dto).collect())))
}

async fn op_count(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    Ok(Json(dto::count(op_filter(&state, &q).await?.len())))
}
