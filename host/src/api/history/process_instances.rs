//! `/history/process-instance`: list, count (GET and POST), get and delete, on the historic
//! instance indexes (definition key, finished) and kept counts.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use axum::extract::{Path, State};
use axum::response::Response;
use baton_bpmn::Variables;
use serde_json::{Value as J, json};

use crate::api::date::{format, format_opt};
use crate::api::error::{ApiError, ApiResult, not_found_as};
use crate::api::json::{Json, no_content};
use crate::api::query::{
    QueryInput, Search, eq_opt, in_opt, like_opt, list_rows, only_indexed, variables_match, verdict,
};
use crate::api::{ApiState, dto};
use crate::engine::HistoricInstanceLookup;
use crate::records::{HistoricActivityInstance, HistoricProcessInstance};

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
            crate::api::query::live(all)
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

/// The historic instances a query names, sorted and paged as the query says.
async fn hpi_rows(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<HistoricProcessInstance>> {
    let sorts = q.sorting(HPI_SORT)?;
    let matches = hpi_matcher(state, q).await?;
    let mut keep = verdict(move |h: &HistoricProcessInstance| {
        matches(h) && crate::api::authz::sees::history(&h.id, &h.process_definition_key)
    });
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
    Ok(items)
}

async fn hpi_query(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<J>> {
    Ok(hpi_rows(state, q)
        .await?
        .iter()
        .map(|h| with_removal_time(&state.engine, h))
        .collect())
}

/// The ids of the historic process instances a `historicProcessInstanceQuery` body
/// (`HistoricProcessInstanceQueryDto`: the `/history/process-instance` filters) matches, as
/// the batch operations take them. Without `maxResults` the query's result cap applies.
pub(crate) async fn historic_instance_ids(state: &ApiState, query: &J) -> ApiResult<Vec<String>> {
    let query = QueryInput::from_body(query, &QueryInput::from_pairs(Vec::new()));
    Ok(hpi_rows(state, &query)
        .await?
        .into_iter()
        .map(|h| h.id)
        .collect())
}

/// The DTO with `removalTime`: end time plus the definition's history time to live.
fn with_removal_time(engine: &crate::engine::ProcessEngine, h: &HistoricProcessInstance) -> J {
    let mut dto = hpi_dto(h);
    if let Some(o) = dto.as_object_mut() {
        o.insert(
            "removalTime".into(),
            J::from(crate::api::date::format_opt(engine.removal_time_of(h))),
        );
    }
    dto
}

pub(super) async fn hpi_list(
    State(state): State<ApiState>,
    Search(q): Search,
) -> ApiResult<Json<J>> {
    Ok(Json(J::Array(hpi_query(&state, &q).await?)))
}

pub(super) async fn hpi_count(
    State(state): State<ApiState>,
    Search(q): Search,
) -> ApiResult<Json<J>> {
    let key = q.str("processDefinitionKey");
    let lookup = hpi_lookup(&q, &key)?;
    let contradictory = q.flag("finished")? && q.flag("unfinished")?;
    if only_indexed(&q, HPI_INDEXED) && !contradictory {
        let n = state
            .engine
            .count_historic_process_instances_where(&lookup)?;
        return Ok(Json(dto::count(n)));
    }
    let matches = hpi_matcher(&state, &q).await?;
    let mut keep = verdict(move |h: &HistoricProcessInstance| {
        matches(h) && crate::api::authz::sees::history(&h.id, &h.process_definition_key)
    });
    let n = state
        .engine
        .historic_process_instances_where(&lookup, &mut keep, 0, usize::MAX)?
        .len();
    crate::api::guard::check()?;
    Ok(Json(dto::count(n)))
}

fn hpi_missing(id: &str) -> ApiError {
    ApiError::not_found(format!(
        "Historic process instance with id {id} does not exist"
    ))
}

pub(super) async fn hpi_get(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    let h = state
        .engine
        .historic_process_instance(&id)
        .await
        .map_err(|e| not_found_as(e, || hpi_missing(&id)))?;
    Ok(Json(with_removal_time(&state.engine, &h)))
}

pub(super) async fn hpi_delete(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    state
        .engine
        .delete_historic_process_instance(&id)
        .await
        .map_err(|e| not_found_as(e, || hpi_missing(&id)))?;
    Ok(no_content())
}
