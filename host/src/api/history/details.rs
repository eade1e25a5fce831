//! `/history/detail` (variable updates: list GET/POST, count, one, binary data) and
//! `/history/identity-link-log` (list, count). The engine writes one record per variable set
//! and per identity link change, in the write set of that step.

use std::cmp::Ordering;

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value as J, json};

use crate::api::date::format;
use crate::api::error::{ApiError, ApiResult};
use crate::api::json::Json;
use crate::api::process_instance::var_data_response;
use crate::api::query::{Params, QueryInput, Search, Sort, eq_opt, in_opt, list_rows, verdict};
use crate::api::variables::encode_value;
use crate::api::{ApiState, Route, dto};
use crate::records::{HistoricDetail, HistoryLog, HistoryLogKind, IdentityLinkLog};

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::get("/history/detail", "List historic details", detail_list),
        Route::post(
            "/history/detail",
            "List historic details (query body)",
            detail_list,
        ),
        Route::get(
            "/history/detail/count",
            "Count historic details",
            detail_count,
        ),
        Route::get("/history/detail/{id}", "Get a historic detail", detail_get),
        Route::get(
            "/history/detail/{id}/data",
            "The binary value of a historic detail",
            detail_data,
        ),
        Route::get(
            "/history/identity-link-log",
            "List historic identity link log entries",
            link_list,
        ),
        Route::get(
            "/history/identity-link-log/count",
            "Count historic identity link log entries",
            link_count,
        ),
    ]
}

// ------------------------------------------------------------------ details

const DETAIL_SORT: &[&str] = &[
    "processInstanceId",
    "variableName",
    "variableType",
    "variableRevision",
    "formPropertyId",
    "time",
    "occurrence",
    "tenantId",
];

fn detail_dto(d: &HistoricDetail, deserialize: bool) -> J {
    let typed = encode_value(&d.value, deserialize);
    json!({
        "id": d.id,
        "type": "variableUpdate",
        "processDefinitionKey": d.process_definition_key,
        "processDefinitionId": d.process_definition_id,
        "processInstanceId": d.process_instance_id,
        "activityInstanceId": d.activity_instance_id,
        "executionId": d.activity_instance_id,
        "caseDefinitionKey": null,
        "caseDefinitionId": null,
        "caseInstanceId": null,
        "caseExecutionId": null,
        "taskId": null,
        "tenantId": d.tenant_id,
        "userOperationId": null,
        "time": format(d.time),
        "removalTime": null,
        "rootProcessInstanceId": d.process_instance_id,
        "variableName": d.variable_name,
        "variableInstanceId": d.variable_instance_id,
        "variableType": typed.get("type").cloned().unwrap_or(J::Null),
        "value": typed.get("value").cloned().unwrap_or(J::Null),
        "valueInfo": typed.get("valueInfo").cloned().unwrap_or_else(|| json!({})),
        "initial": d.initial,
        "revision": d.revision,
        "errorMessage": null,
    })
}

fn detail_of(log: &HistoryLog) -> Option<&HistoricDetail> {
    match log {
        HistoryLog::Detail(d) => Some(d),
        _ => None,
    }
}

fn detail_matcher(q: &QueryInput) -> ApiResult<impl Fn(&HistoricDetail) -> bool + use<>> {
    let pi = q.str("processInstanceId");
    let pis = q.list("processInstanceIdIn");
    let execution = q.str("executionId");
    let activity_instance = q.str("activityInstanceId");
    let variable_instance = q.str("variableInstanceId");
    let types = q.list("variableTypeIn");
    let tenants = q.list("tenantIdIn");
    let without_tenant = q.flag("withoutTenantId")?;
    let initial = q.flag("initial")?;
    let before = q.date("occurredBefore")?;
    let after = q.date("occurredAfter")?;
    // Only variable updates exist: `formFields` (and task details) select nothing.
    let form_fields_only = q.flag("formFields")? && !q.flag("variableUpdates")?;
    let task = q.str("taskId");
    Ok(move |d: &HistoricDetail| {
        let ty = encode_value(&d.value, false)
            .get("type")
            .and_then(J::as_str)
            .map(str::to_owned);
        !form_fields_only
            && task.is_none()
            && eq_opt(&pi, Some(&d.process_instance_id))
            && in_opt(&pis, Some(&d.process_instance_id))
            && eq_opt(&execution, Some(&d.activity_instance_id))
            && eq_opt(&activity_instance, Some(&d.activity_instance_id))
            && eq_opt(&variable_instance, Some(&d.variable_instance_id))
            && types.as_ref().is_none_or(|l| {
                ty.as_deref()
                    .is_some_and(|t| l.iter().any(|x| x.eq_ignore_ascii_case(t)))
            })
            && in_opt(&tenants, d.tenant_id.as_deref())
            && (!without_tenant || d.tenant_id.is_none())
            && (!initial || d.initial)
            && before.is_none_or(|b| d.time < b)
            && after.is_none_or(|a| d.time > a)
    })
}

fn detail_cmp(a: &HistoricDetail, b: &HistoricDetail, by: &str) -> Ordering {
    match by {
        "processInstanceId" => a.process_instance_id.cmp(&b.process_instance_id),
        "variableName" | "formPropertyId" => a.variable_name.cmp(&b.variable_name),
        "variableType" => a.value.type_name().cmp(b.value.type_name()),
        "variableRevision" => a.revision.cmp(&b.revision),
        "time" => a.time.cmp(&b.time),
        "occurrence" => a.id.cmp(&b.id),
        "tenantId" => a.tenant_id.cmp(&b.tenant_id),
        _ => Ordering::Equal,
    }
}

fn detail_rows(
    state: &ApiState,
    q: &QueryInput,
    sorts: &[Sort],
    page: (usize, usize),
) -> ApiResult<Vec<HistoryLog>> {
    let matches = detail_matcher(q)?;
    list_rows(
        sorts,
        page,
        |skip, limit| {
            let mut keep = verdict(|l: &HistoryLog| detail_of(l).is_some_and(&matches));
            Ok(state
                .engine
                .history_logs_where(HistoryLogKind::Detail, &mut keep, skip, limit)?)
        },
        |a, b, by| match (detail_of(a), detail_of(b)) {
            (Some(a), Some(b)) => detail_cmp(a, b, by),
            _ => Ordering::Equal,
        },
    )
}

async fn detail_list(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let sorts = q.sorting(DETAIL_SORT)?;
    let page = q.pagination()?;
    let deserialize = q.deserialize_values()?;
    let rows = detail_rows(&state, &q, &sorts, page)?;
    Ok(Json(J::Array(
        rows.iter()
            .filter_map(detail_of)
            .map(|d| detail_dto(d, deserialize))
            .collect(),
    )))
}

async fn detail_count(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let matches = detail_matcher(&q)?;
    let mut keep = verdict(|l: &HistoryLog| detail_of(l).is_some_and(&matches));
    let n = state
        .engine
        .history_logs_where(HistoryLogKind::Detail, &mut keep, 0, usize::MAX)?
        .len();
    Ok(Json(dto::count(n)))
}

fn detail_one(state: &ApiState, id: &str) -> ApiResult<HistoricDetail> {
    match state.engine.history_log(HistoryLogKind::Detail, id)? {
        Some(HistoryLog::Detail(d)) => Ok(d),
        _ => Err(ApiError::not_found(format!(
            "Historic detail with Id '{id}' does not exist."
        ))),
    }
}

async fn detail_get(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let d = detail_one(&state, &id)?;
    Ok(Json(detail_dto(&d, q.deserialize_values()?)))
}

async fn detail_data(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    let d = detail_one(&state, &id)?;
    let mut one = baton_bpmn::Variables::new();
    one.insert(id.clone(), d.value);
    var_data_response(&one, &id, "Historic detail")
}

// ------------------------------------------------------------------ identity link log

const LINK_SORT: &[&str] = &[
    "time",
    "type",
    "userId",
    "groupId",
    "taskId",
    "processDefinitionId",
    "processDefinitionKey",
    "operationType",
    "assignerId",
    "tenantId",
];

fn link_dto(l: &IdentityLinkLog) -> J {
    json!({
        "id": l.id,
        "time": format(l.time),
        "type": l.link_type,
        "userId": l.user_id,
        "groupId": l.group_id,
        "taskId": l.task_id,
        "processDefinitionId": l.process_definition_id,
        "processDefinitionKey": l.process_definition_key,
        "operationType": l.operation_type,
        "assignerId": l.assigner_id,
        "tenantId": l.tenant_id,
        "removalTime": null,
        "rootProcessInstanceId": l.process_instance_id,
    })
}

fn link_of(log: &HistoryLog) -> Option<&IdentityLinkLog> {
    match log {
        HistoryLog::IdentityLink(l) => Some(l),
        _ => None,
    }
}

fn link_matcher(q: &QueryInput) -> ApiResult<impl Fn(&IdentityLinkLog) -> bool + use<>> {
    let ty = q.str("type");
    let user = q.str("userId");
    let group = q.str("groupId");
    let task = q.str("taskId");
    let def = q.str("processDefinitionId");
    let key = q.str("processDefinitionKey");
    let op = q.str("operationType");
    let assigner = q.str("assignerId");
    let tenants = q.list("tenantIdIn");
    let without_tenant = q.flag("withoutTenantId")?;
    let before = q.date("dateBefore")?;
    let after = q.date("dateAfter")?;
    Ok(move |l: &IdentityLinkLog| {
        eq_opt(&ty, Some(&l.link_type))
            && eq_opt(&user, l.user_id.as_deref())
            && eq_opt(&group, l.group_id.as_deref())
            && eq_opt(&task, Some(&l.task_id))
            && eq_opt(&def, Some(&l.process_definition_id))
            && eq_opt(&key, Some(&l.process_definition_key))
            && eq_opt(&op, Some(&l.operation_type))
            && eq_opt(&assigner, l.assigner_id.as_deref())
            && in_opt(&tenants, l.tenant_id.as_deref())
            && (!without_tenant || l.tenant_id.is_none())
            && before.is_none_or(|b| l.time < b)
            && after.is_none_or(|a| l.time > a)
    })
}

fn link_cmp(a: &IdentityLinkLog, b: &IdentityLinkLog, by: &str) -> Ordering {
    match by {
        "time" => a.time.cmp(&b.time).then(a.id.cmp(&b.id)),
        "type" => a.link_type.cmp(&b.link_type),
        "userId" => a.user_id.cmp(&b.user_id),
        "groupId" => a.group_id.cmp(&b.group_id),
        "taskId" => a.task_id.cmp(&b.task_id),
        "processDefinitionId" => a.process_definition_id.cmp(&b.process_definition_id),
        "processDefinitionKey" => a.process_definition_key.cmp(&b.process_definition_key),
        "operationType" => a.operation_type.cmp(&b.operation_type),
        "assignerId" => a.assigner_id.cmp(&b.assigner_id),
        "tenantId" => a.tenant_id.cmp(&b.tenant_id),
        _ => Ordering::Equal,
    }
}

async fn link_list(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let sorts = q.sorting(LINK_SORT)?;
    let page = q.pagination()?;
    let matches = link_matcher(&q)?;
    let rows = list_rows(
        &sorts,
        page,
        |skip, limit| {
            let mut keep = verdict(|l: &HistoryLog| link_of(l).is_some_and(&matches));
            Ok(state.engine.history_logs_where(
                HistoryLogKind::IdentityLink,
                &mut keep,
                skip,
                limit,
            )?)
        },
        |a, b, by| match (link_of(a), link_of(b)) {
            (Some(a), Some(b)) => link_cmp(a, b, by),
            _ => Ordering::Equal,
        },
    )?;
    Ok(Json(J::Array(
        rows.iter().filter_map(link_of).map(link_dto).collect(),
    )))
}

async fn link_count(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let matches = link_matcher(&q)?;
    let mut keep = verdict(|l: &HistoryLog| link_of(l).is_some_and(&matches));
    let n = state
        .engine
        .history_logs_where(HistoryLogKind::IdentityLink, &mut keep, 0, usize::MAX)?
        .len();
    Ok(Json(dto::count(n)))
}
