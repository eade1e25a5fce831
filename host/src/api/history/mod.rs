//! `/history/*`: historic process instances, activity instances, variable instances,
//! incidents, user tasks (`tasks.rs`) and the user operation log (list, count, get, with the main filters and sorting).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use axum::extract::{Path, State};
use serde_json::{Value as J, json};

use super::date::{format, format_opt};
use super::error::ApiResult;
use super::json::Json;
use super::query::{Params, QueryInput, Search, eq_opt, in_opt, like_opt, sort_and_page};
use super::variables::encode_value;
use super::{ApiState, Route, authz, dto, incident};
use crate::records::{HistoricActivityInstance, HistoricVariableInstance, UserOperation};
pub(crate) use process_instances::historic_instance_ids;
use process_instances::{hpi_count, hpi_delete, hpi_get, hpi_list};

mod cleanup;
mod details;
mod logs;
mod operations;
mod process_instances;
mod reports;
mod tasks;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get("/history/task", "List historic user tasks", tasks::list),
        Route::post(
            "/history/task",
            "List historic user tasks (query body)",
            tasks::list,
        ),
        Route::get(
            "/history/task/count",
            "Count historic user tasks",
            tasks::count,
        ),
        Route::post(
            "/history/task/count",
            "Count historic user tasks (query body)",
            tasks::count,
        ),
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
        Route::post(
            "/history/variable-instance/count",
            "Count historic variable instances (query body)",
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
    .into_iter()
    .chain(operations::routes())
    .chain(logs::routes())
    .chain(details::routes())
    .chain(cleanup::routes())
    .chain(reports::routes())
    .collect()
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
                && authz::sees::history(&h.process_instance_id, &h.process_definition_key)
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
                && authz::sees::history(&h.process_instance_id, &h.process_definition_key)
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
        .filter(|i| {
            (!open || i.end_time.is_none())
                && (!resolved || i.end_time.is_some())
                && authz::sees::history(
                    &i.process_instance_id,
                    keys.get(&i.process_definition_id)
                        .map_or("", String::as_str),
                )
        })
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
        "annotation": o.annotation,
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
