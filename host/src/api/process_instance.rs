//! `/process-instance`: list, count (GET and POST), get, delete, suspend, variables
//! (get/put/delete/modify/binary data) and the activity-instance tree.
//!
//! Also home of the variable endpoint helpers shared with `/execution` and `/task`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use baton_bpmn::Variables;
use baton_bpmn::engine::{ActivityInstance, Wait};
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::error::{ApiError, ApiResult, not_found_as};
use super::json::{Json, no_content};
use super::query::{
    Params, QueryInput, Search, VariableFilter, eq_opt, in_opt, like_opt, list_rows, only_indexed,
    verdict,
};
use super::variables::{
    binary_content, decode_or_invalid, decode_value, encode_value, encode_variables,
};
use super::{ApiState, BaseUrl, Route, dto, raw};
use crate::engine::{InstanceLookup, ProcessEngineError};
use crate::like::LikePattern;
use crate::records::{Incident, ProcessInstance};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get("/process-instance", "List process instances", list),
        Route::post(
            "/process-instance",
            "List process instances (query body)",
            list,
        ),
        Route::get("/process-instance/count", "Count process instances", count),
        Route::post(
            "/process-instance/count",
            "Count process instances (query body)",
            count,
        ),
        Route::put(
            "/process-instance/suspended",
            "Suspend or activate instances by definition",
            suspend_bulk,
        ),
        Route::get("/process-instance/{id}", "Get a process instance", get_one),
        Route::delete(
            "/process-instance/{id}",
            "Cancel a process instance",
            delete,
        ),
        Route::put(
            "/process-instance/{id}/suspended",
            "Suspend or activate a process instance",
            suspend,
        ),
        Route::get(
            "/process-instance/{id}/variables",
            "Process variables",
            vars_get,
        ),
        Route::post(
            "/process-instance/{id}/variables",
            "Modify process variables",
            vars_modify,
        ),
        Route::get(
            "/process-instance/{id}/variables/{name}",
            "One process variable",
            var_get,
        ),
        Route::put(
            "/process-instance/{id}/variables/{name}",
            "Set one process variable",
            var_put,
        ),
        Route::delete(
            "/process-instance/{id}/variables/{name}",
            "Delete one process variable",
            var_delete,
        ),
        Route::get(
            "/process-instance/{id}/variables/{name}/data",
            "Binary content of a process variable",
            var_data,
        ),
        Route::get(
            "/process-instance/{id}/activity-instances",
            "The activity instance tree",
            activity_instances,
        ),
    ]
}

const SORT: &[&str] = &[
    "instanceId",
    "definitionKey",
    "definitionId",
    "tenantId",
    "businessKey",
];

/// The incident filters of an instance query: an instance passes when one of its own
/// incidents matches each filter that is set.
struct IncidentFilter {
    with_incident: bool,
    id: Option<String>,
    incident_type: Option<String>,
    message: Option<String>,
    message_like: Option<crate::like::LikePattern>,
}

impl IncidentFilter {
    fn from_query(q: &QueryInput) -> ApiResult<IncidentFilter> {
        Ok(IncidentFilter {
            with_incident: q.flag("withIncident")?,
            id: q.str("incidentId"),
            incident_type: q.str("incidentType"),
            message: q.str("incidentMessage"),
            message_like: q.like("incidentMessageLike"),
        })
    }

    /// Whether any incident filter is set (else incidents need not be read).
    fn is_set(&self) -> bool {
        self.with_incident
            || self.id.is_some()
            || self.incident_type.is_some()
            || self.message.is_some()
            || self.message_like.is_some()
    }

    fn matches(&self, own: &[Incident]) -> bool {
        (!self.with_incident || !own.is_empty())
            && self
                .id
                .as_ref()
                .is_none_or(|x| own.iter().any(|i| &i.id == x))
            && self
                .incident_type
                .as_ref()
                .is_none_or(|x| own.iter().any(|i| i.incident_type.as_str() == x))
            && self
                .message
                .as_ref()
                .is_none_or(|x| own.iter().any(|i| i.message.as_deref() == Some(x)))
            && self.message_like.as_ref().is_none_or(|p| {
                own.iter()
                    .any(|i| i.message.as_deref().is_some_and(|m| p.matches(m)))
            })
    }
}

pub(crate) fn instance_missing(id: &str) -> ApiError {
    ApiError::not_found(format!("Process instance with id {id} does not exist"))
}

/// The filters of a process instance query, read once per request: `lookup` names the
/// fields an index serves, `matches` checks the rest.
struct InstanceFilter {
    ids: Option<Vec<String>>,
    bk: Option<String>,
    bk_like: Option<LikePattern>,
    /// The literal head of `businessKeyLike`, read from the business key index.
    bk_prefix: Option<String>,
    pd: Option<String>,
    /// The key of `processDefinitionId`'s definition: its instances are read from the key index.
    pd_key: Option<String>,
    key: Option<String>,
    key_in: Option<Vec<String>>,
    key_not_in: Option<Vec<String>>,
    deployment: Option<String>,
    super_pi: Option<String>,
    root_pi: Option<String>,
    active: bool,
    suspended: bool,
    incident_filter: IncidentFilter,
    tenants: Option<Vec<String>>,
    without_tenant: bool,
    activity_in: Option<Vec<String>>,
    roots: bool,
    vars: Vec<VariableFilter>,
    names_ic: bool,
    values_ic: bool,
    incidents_of: HashMap<String, Vec<Incident>>,
    deployment_of: BTreeMap<String, String>,
    /// Only indexed fields are set: a count needs no record.
    indexed_only: bool,
}

/// The query fields an index serves.
const INDEXED_FIELDS: &[&str] = &[
    "processInstanceIds",
    "businessKey",
    "businessKeyLike",
    "processDefinitionKey",
];

impl InstanceFilter {
    async fn from_query(state: &ApiState, q: &QueryInput) -> ApiResult<InstanceFilter> {
        let incident_filter = IncidentFilter::from_query(q)?;
        let deployment = q.str("deploymentId");
        // Grouped by instance once, so matching is linear in instances + incidents.
        let mut incidents_of: HashMap<String, Vec<Incident>> = HashMap::new();
        if incident_filter.is_set() {
            for incident in state.engine.incidents().await? {
                incidents_of
                    .entry(incident.process_instance_id.clone())
                    .or_default()
                    .push(incident);
            }
        }
        let deployment_of: BTreeMap<String, String> = if deployment.is_some() {
            state
                .engine
                .definitions()
                .await?
                .into_iter()
                .map(|d| (d.id, d.deployment_id))
                .collect()
        } else {
            BTreeMap::new()
        };
        let pd = q.str("processDefinitionId");
        let pd_key = match &pd {
            Some(id) => state.engine.definition(id).await.ok().map(|d| d.key),
            None => None,
        };
        Ok(InstanceFilter {
            pd_key,
            ids: q.list("processInstanceIds"),
            bk: q.str("businessKey"),
            bk_like: q.like("businessKeyLike"),
            bk_prefix: q.like("businessKeyLike").and_then(|l| l.literal_prefix()),
            pd,
            key: q.str("processDefinitionKey"),
            key_in: q.list("processDefinitionKeyIn"),
            key_not_in: q.list("processDefinitionKeyNotIn"),
            deployment,
            super_pi: q.str("superProcessInstance"),
            root_pi: q.str("rootProcessInstanceId"),
            active: q.flag("active")?,
            suspended: q.flag("suspended")?,
            incident_filter,
            tenants: q.list("tenantIdIn"),
            without_tenant: q.flag("withoutTenantId")?,
            activity_in: q.list("activityIdIn"),
            roots: q.flag("rootProcessInstances")?,
            vars: q.variables("variables")?,
            names_ic: q.flag("variableNamesIgnoreCase")?,
            values_ic: q.flag("variableValuesIgnoreCase")?,
            incidents_of,
            deployment_of,
            indexed_only: only_indexed(q, INDEXED_FIELDS),
        })
    }

    fn lookup(&self) -> InstanceLookup<'_> {
        InstanceLookup {
            ids: self.ids.as_deref(),
            definition_key: self.key.as_deref().or(self.pd_key.as_deref()),
            business_key: self.bk.as_deref(),
            business_key_prefix: self.bk_prefix.as_deref(),
            business_key_like: self.bk_like.as_ref(),
        }
    }

    fn matches(&self, pi: &ProcessInstance) -> bool {
        let id = pi.id();
        let sup = pi
            .state
            .super_instance
            .as_ref()
            .map(|s| s.process_instance_id.as_str());
        let own_incidents: &[Incident] = self.incidents_of.get(id).map_or(&[], Vec::as_slice);
        like_opt(&self.bk_like, pi.state.business_key.as_deref())
            && eq_opt(&self.pd, Some(&pi.definition_id))
            && in_opt(&self.key_in, Some(&pi.definition_key))
            && self
                .key_not_in
                .as_ref()
                .is_none_or(|l| !l.contains(&pi.definition_key))
            && self
                .deployment
                .as_ref()
                .is_none_or(|d| self.deployment_of.get(&pi.definition_id) == Some(d))
            && eq_opt(&self.super_pi, sup)
            && self
                .root_pi
                .as_ref()
                .is_none_or(|r| r == id || sup == Some(r.as_str()))
            && (!self.roots || sup.is_none())
            && (!self.active || !pi.suspended)
            && (!self.suspended || pi.suspended)
            && self.incident_filter.matches(own_incidents)
            && in_opt(&self.tenants, pi.tenant_id.as_deref())
            && (!self.without_tenant || pi.tenant_id.is_none())
            && self
                .activity_in
                .as_ref()
                .is_none_or(|l| pi.state.active_activity_ids().iter().any(|a| l.contains(a)))
            && (self.vars.is_empty()
                || super::query::variables_match(
                    &self.vars,
                    &pi.state.process_variables(),
                    self.names_ic,
                    self.values_ic,
                ))
            && super::authz::sees::instance(id, &pi.definition_key)
    }
}

pub(crate) async fn query(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<ProcessInstance>> {
    let sorts = q.sorting(SORT)?;
    let filter = InstanceFilter::from_query(state, q).await?;
    let mut keep = verdict(|pi: &ProcessInstance| filter.matches(pi));
    list_rows(
        &sorts,
        q.pagination()?,
        |skip, limit| {
            Ok(state
                .engine
                .instances_where(&filter.lookup(), &mut keep, skip, limit)?)
        },
        |a, b, by| match by {
            "instanceId" => a.id().cmp(b.id()),
            "definitionKey" => a.definition_key.cmp(&b.definition_key),
            "definitionId" => a.definition_id.cmp(&b.definition_id),
            "tenantId" => a.tenant_id.cmp(&b.tenant_id),
            "businessKey" => a.state.business_key.cmp(&b.state.business_key),
            _ => Ordering::Equal,
        },
    )
}

async fn list(
    State(state): State<ApiState>,
    base: BaseUrl,
    Search(q): Search,
) -> ApiResult<Json<J>> {
    let items = query(&state, &q).await?;
    Ok(Json(J::Array(
        items
            .iter()
            .map(|p| dto::instance(p, false, &base))
            .collect(),
    )))
}

async fn count(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let filter = InstanceFilter::from_query(&state, &q).await?;
    let n = if filter.indexed_only {
        state.engine.count_instances_where(&filter.lookup())?
    } else {
        let mut keep = verdict(|pi: &ProcessInstance| filter.matches(pi));
        let all = state
            .engine
            .instances_where(&filter.lookup(), &mut keep, 0, usize::MAX)?;
        super::guard::check()?;
        all.len()
    };
    Ok(Json(dto::count(n)))
}

pub(crate) async fn load(state: &ApiState, id: &str) -> ApiResult<ProcessInstance> {
    state
        .engine
        .instance(id)
        .await
        .map_err(|e| not_found_as(e, || instance_missing(id)))
}

async fn get_one(
    State(state): State<ApiState>,
    base: BaseUrl,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    Ok(Json(dto::instance(&load(&state, &id).await?, false, &base)))
}

async fn delete(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Response> {
    let fail_if_not_exists = q.bool("failIfNotExists")?.unwrap_or(true);
    let reason = q.str("deleteReason");
    match state.engine.delete_instance(&id, reason).await {
        Ok(()) => Ok(no_content()),
        Err(ProcessEngineError::NotFound(_)) if !fail_if_not_exists => Ok(no_content()),
        Err(e) => Err(not_found_as(e, || instance_missing(&id))),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SuspendBody {
    suspended: Option<bool>,
    process_definition_id: Option<String>,
    process_definition_key: Option<String>,
    process_instance_ids: Option<Vec<String>>,
}

async fn suspend(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<SuspendBody>,
) -> ApiResult<Response> {
    let s = b
        .suspended
        .ok_or_else(|| ApiError::invalid("Parameter 'suspended' is required"))?;
    state
        .engine
        .set_instance_suspended(&id, s)
        .await
        .map_err(|e| not_found_as(e, || instance_missing(&id)))?;
    Ok(no_content())
}

async fn suspend_bulk(
    State(state): State<ApiState>,
    Json(b): Json<SuspendBody>,
) -> ApiResult<Response> {
    let s = b
        .suspended
        .ok_or_else(|| ApiError::invalid("Parameter 'suspended' is required"))?;
    if b.process_definition_id.is_none()
        && b.process_definition_key.is_none()
        && b.process_instance_ids.is_none()
    {
        return Err(ApiError::invalid(
            "Either processDefinitionId, processDefinitionKey or processInstanceIds must be set to update the suspension state.",
        ));
    }
    for pi in state.engine.instances().await? {
        let hit = b.process_definition_id.as_deref() == Some(pi.definition_id.as_str())
            || b.process_definition_key.as_deref() == Some(pi.definition_key.as_str())
            || b.process_instance_ids
                .as_ref()
                .is_some_and(|l| l.iter().any(|x| x == pi.id()));
        if hit {
            state.engine.set_instance_suspended(pi.id(), s).await?;
        }
    }
    Ok(no_content())
}

// ------------------------------------------------------------------ shared variable helpers

/// `GET .../variables`: filter by `variableNames`, encode with `deserializeValues`.
pub(crate) fn vars_response(vars: &Variables, q: &QueryInput) -> ApiResult<Json<J>> {
    let deserialize = q.deserialize_values()?;
    let names = q.list("variableNames");
    let selected: Variables = vars
        .iter()
        .filter(|(k, _)| names.as_ref().is_none_or(|n| n.contains(k)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(Json(encode_variables(&selected, deserialize)))
}

/// `GET .../variables/{name}`.
pub(crate) fn var_response(
    vars: &Variables,
    name: &str,
    q: &QueryInput,
    what: &str,
) -> ApiResult<Json<J>> {
    let v = vars.get(name).ok_or_else(|| {
        ApiError::not_found(format!("{what} variable with name {name} does not exist"))
    })?;
    Ok(Json(encode_value(v, q.deserialize_values()?)))
}

/// `GET .../variables/{name}/data`.
pub(crate) fn var_data_response(vars: &Variables, name: &str, what: &str) -> ApiResult<Response> {
    let v = vars.get(name).ok_or_else(|| {
        ApiError::not_found(format!("{what} variable with name {name} does not exist"))
    })?;
    let (bytes, content_type, filename) = binary_content(v).ok_or_else(|| {
        ApiError::invalid(format!(
            "Value of variable with id {name} is not a binary value."
        ))
    })?;
    let mut r = raw(&content_type, bytes.to_vec());
    if let Some(f) = filename {
        let cleaned: String = f.chars().filter(|c| *c != '"' && !c.is_control()).collect();
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{cleaned}\"")) {
            r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(r)
}

/// Body of `POST .../variables`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ModifyBody {
    pub(crate) modifications: Option<J>,
    pub(crate) deletions: Option<Vec<String>>,
}

/// Decode a single `PUT .../variables/{name}` body.
pub(crate) fn decode_put(body: &J, prefix: &str) -> ApiResult<Variables> {
    decode_value(body)
        .map_err(|m| ApiError::invalid(format!("{prefix}{m}")))
        .map(|v| {
            let mut vars = Variables::new();
            vars.insert(String::new(), v);
            vars
        })
}

/// Decode `modifications` of a `POST .../variables` body.
pub(crate) fn decode_modifications(b: &ModifyBody, prefix: &str) -> ApiResult<Variables> {
    decode_or_invalid(b.modifications.as_ref(), prefix)
}

fn vars_missing(id: &str) -> ApiError {
    ApiError::null_value(format!("execution {id} doesn't exist: execution is null"))
}

async fn load_for_vars(state: &ApiState, id: &str) -> ApiResult<ProcessInstance> {
    state
        .engine
        .instance(id)
        .await
        .map_err(|e| not_found_as(e, || vars_missing(id)))
}

async fn vars_get(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let pi = load_for_vars(&state, &id).await?;
    vars_response(&pi.state.process_variables(), &q)
}

async fn var_get(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let pi = load_for_vars(&state, &id).await?;
    var_response(&pi.state.process_variables(), &name, &q, "process instance")
}

async fn var_data(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let pi = load_for_vars(&state, &id).await?;
    var_data_response(&pi.state.process_variables(), &name, "process instance")
}

async fn var_put(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
    Json(body): Json<J>,
) -> ApiResult<Response> {
    let prefix = format!("Cannot put process instance variable {name}: ");
    let mut vars = decode_put(&body, &prefix)?;
    if let Some(v) = vars.remove("") {
        vars.insert(name.clone(), v);
    }
    state
        .engine
        .modify_variables(&id, None, vars, Vec::new(), false)
        .await
        .map_err(|e| not_found_as(e, || instance_missing(&id)).prefixed(&prefix))?;
    Ok(no_content())
}

async fn var_delete(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    state
        .engine
        .modify_variables(&id, None, Variables::new(), vec![name.clone()], false)
        .await
        .map_err(|e| {
            not_found_as(e, || instance_missing(&id))
                .prefixed(&format!("Cannot delete process instance variable {name}: "))
        })?;
    Ok(no_content())
}

async fn vars_modify(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<ModifyBody>,
) -> ApiResult<Response> {
    let prefix = format!("Cannot modify variables for process instance {id}: ");
    let mods = decode_modifications(&b, &prefix)?;
    state
        .engine
        .modify_variables(&id, None, mods, b.deletions.unwrap_or_default(), false)
        .await
        .map_err(|e| match e {
            ProcessEngineError::NotFound(m) => {
                ApiError::rest(StatusCode::INTERNAL_SERVER_ERROR, format!("{prefix}{m}"))
            }
            other => ApiError::from(other).prefixed(&prefix),
        })?;
    Ok(no_content())
}

// ------------------------------------------------------------------ activity instance tree

struct TreeCtx<'a> {
    pi: &'a ProcessInstance,
    process: &'a baton_bpmn::Process,
    incidents: &'a [Incident],
}

impl TreeCtx<'_> {
    fn element(&self, activity_id: &str) -> (Option<String>, &'static str) {
        match self.process.node_by_id(activity_id) {
            Some(idx) => {
                let n = self.process.node(idx);
                (n.name.clone(), n.activity_type())
            }
            None => (None, "unknown"),
        }
    }

    fn incidents_of(&self, ai: &str) -> (Vec<J>, Vec<J>) {
        let own: Vec<&Incident> = self
            .incidents
            .iter()
            .filter(|i| i.activity_instance_id == ai)
            .collect();
        (
            own.iter().map(|i| J::String(i.id.clone())).collect(),
            own.iter()
                .map(|i| json!({"id": i.id, "activityId": i.activity_id}))
                .collect(),
        )
    }

    fn node(&self, ai: &ActivityInstance, is_root: bool) -> J {
        let pi_id = self.pi.id();
        let (name, activity_type, activity_id) = if is_root {
            (
                self.process.name.clone(),
                "processDefinition",
                self.pi.definition_id.clone(),
            )
        } else {
            let (n, t) = self.element(&ai.activity_id);
            (n, t, ai.activity_id.clone())
        };
        let mut children = Vec::new();
        let mut transitions = Vec::new();
        for child in self.pi.state.children_of(&ai.id) {
            if matches!(child.wait, Some(Wait::Job { .. })) {
                let (cn, ct) = self.element(&child.activity_id);
                let (ids, incs) = self.incidents_of(&child.id);
                transitions.push(json!({
                    "id": child.id,
                    "parentActivityInstanceId": ai.id,
                    "processInstanceId": pi_id,
                    "processDefinitionId": self.pi.definition_id,
                    "activityId": child.activity_id,
                    "targetActivityId": child.activity_id,
                    "activityName": cn,
                    "activityType": ct,
                    "executionId": child.execution_id,
                    "incidentIds": ids,
                    "incidents": incs,
                }));
            } else {
                children.push(self.node(child, false));
            }
        }
        let (incident_ids, incidents) = self.incidents_of(&ai.id);
        json!({
            "id": ai.id,
            "parentActivityInstanceId": if is_root { J::Null } else { json!(ai.parent) },
            "activityId": activity_id,
            "activityType": activity_type,
            "processInstanceId": pi_id,
            "processDefinitionId": self.pi.definition_id,
            "childActivityInstances": children,
            "childTransitionInstances": transitions,
            "executionIds": [ai.execution_id],
            "activityName": name,
            "name": name,
            "incidentIds": incident_ids,
            "incidents": incidents,
        })
    }
}

/// Build the activity instance tree of an instance.
pub(crate) fn activity_tree(
    pi: &ProcessInstance,
    process: &baton_bpmn::Process,
    incidents: &[Incident],
) -> J {
    let ctx = TreeCtx {
        pi,
        process,
        incidents,
    };
    match pi.state.root() {
        Some(root) => ctx.node(root, true),
        None => {
            let synthetic = ActivityInstance {
                id: pi.id().to_owned(),
                activity_id: pi.state.process_id.clone(),
                parent: None,
                execution_id: pi.id().to_owned(),
                variables: Variables::new(),
                wait: None,
                listeners: Vec::new(),
                started_at: pi.state.started_at,
                internal: BTreeMap::new(),
            };
            ctx.node(&synthetic, true)
        }
    }
}

async fn activity_instances(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    let pi = state.engine.instance(&id).await.map_err(|e| {
        not_found_as(e, || {
            ApiError::engine(format!("Process instance with id {id} does not exist"))
        })
    })?;
    let (_, process) = state.engine.definition_model(&pi.definition_id).await?;
    let incidents: Vec<Incident> = state
        .engine
        .incidents()
        .await?
        .into_iter()
        .take_while(super::query::not_cancelled)
        .filter(|i| i.process_instance_id == id)
        .collect();
    Ok(Json(activity_tree(&pi, &process, &incidents)))
}
