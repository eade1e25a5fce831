//! `/process-definition`: list, count, get (by id, by key, by key and tenant), XML, start,
//! delete, suspend, start-form variables.
//!
//! Errors follow Camunda: unknown id on GET → 404 `No matching definition with id X`; unknown
//! key → 404 `No matching process definition with key: K and no tenant-id`; failures while
//! starting → `Cannot instantiate process definition <id>: ...` (500, or 400 for bad input).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::error::{ApiError, ApiResult, not_found_as};
use super::json::{Json, no_content};
use super::query::{Params, QueryInput, eq_opt, in_opt, like_opt, sort_and_page};
use super::variables::{decode_or_invalid, encode_variables};
use super::{ApiState, AuthUser, BaseUrl, Route, dto, task};
use crate::engine::{DefinitionRef, ProcessEngineError, StartRequest};
use crate::records::ProcessDefinition;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get("/process-definition", "List process definitions", list),
        Route::get(
            "/process-definition/count",
            "Count process definitions",
            count,
        ),
        Route::put(
            "/process-definition/suspended",
            "Suspend or activate definitions by key",
            suspend_bulk,
        ),
        Route::get(
            "/process-definition/{id}",
            "Get a process definition",
            get_by_id,
        ),
        Route::delete(
            "/process-definition/{id}",
            "Delete a process definition",
            delete_by_id,
        ),
        Route::get(
            "/process-definition/{id}/xml",
            "Get the BPMN XML of a definition",
            xml_by_id,
        ),
        Route::post(
            "/process-definition/{id}/start",
            "Start an instance of a definition",
            start_by_id,
        ),
        Route::put(
            "/process-definition/{id}/suspended",
            "Suspend or activate a definition",
            suspend_by_id,
        ),
        Route::get(
            "/process-definition/{id}/form-variables",
            "Start form variables of a definition",
            form_vars_by_id,
        ),
        Route::get(
            "/process-definition/key/{key}",
            "Get the latest definition of a key",
            get_by_key,
        ),
        Route::delete(
            "/process-definition/key/{key}",
            "Delete every version of a key",
            delete_by_key,
        ),
        Route::get(
            "/process-definition/key/{key}/xml",
            "BPMN XML of the latest definition of a key",
            xml_by_key,
        ),
        Route::post(
            "/process-definition/key/{key}/start",
            "Start the latest definition of a key",
            start_by_key,
        ),
        Route::put(
            "/process-definition/key/{key}/suspended",
            "Suspend or activate every version of a key",
            suspend_by_key,
        ),
        Route::get(
            "/process-definition/key/{key}/form-variables",
            "Start form variables of the latest definition of a key",
            form_vars_by_key,
        ),
        Route::get(
            "/process-definition/key/{key}/tenant-id/{tenant_id}/form-variables",
            "Start form variables of the latest definition of a key and tenant",
            form_vars_by_key_and_tenant,
        ),
        Route::get(
            "/process-definition/key/{key}/tenant-id/{tenant_id}",
            "Latest definition of a key for a tenant",
            get_by_key_tenant,
        ),
        Route::get(
            "/process-definition/key/{key}/tenant-id/{tenant_id}/xml",
            "BPMN XML of the latest definition of a key for a tenant",
            xml_by_key_tenant,
        ),
        Route::post(
            "/process-definition/key/{key}/tenant-id/{tenant_id}/start",
            "Start the latest definition of a key for a tenant",
            start_by_key_tenant,
        ),
        Route::put(
            "/process-definition/key/{key}/tenant-id/{tenant_id}/suspended",
            "Suspend or activate every version of a key of a tenant",
            suspend_by_key_tenant,
        ),
    ]
}

const SORT: &[&str] = &[
    "category",
    "key",
    "id",
    "name",
    "version",
    "deploymentId",
    "deployTime",
    "tenantId",
    "versionTag",
];

pub(super) fn key_missing(key: &str, tenant: Option<&str>) -> ApiError {
    match tenant {
        None => ApiError::not_found(format!(
            "No matching process definition with key: {key} and no tenant-id"
        )),
        Some(t) => ApiError::not_found(format!(
            "No matching process definition with key: {key} and tenant-id: {t}"
        )),
    }
}

pub(super) async fn by_key(
    state: &ApiState,
    key: &str,
    tenant: Option<&str>,
) -> ApiResult<ProcessDefinition> {
    state
        .engine
        .latest_definition(key, tenant)
        .await
        .map_err(|e| not_found_as(e, || key_missing(key, tenant)))
}

pub(super) async fn by_id(state: &ApiState, id: &str) -> ApiResult<ProcessDefinition> {
    state.engine.definition(id).await.map_err(|e| {
        not_found_as(e, || {
            ApiError::not_found(format!("No matching definition with id {id}"))
        })
    })
}

fn filter(q: &QueryInput, all: Vec<ProcessDefinition>) -> ApiResult<Vec<ProcessDefinition>> {
    let id = q.str("processDefinitionId");
    let id_in = q.list("processDefinitionIdIn");
    let name = q.str("name");
    let name_like = q.like("nameLike");
    let deployment_id = q.str("deploymentId");
    let key = q.str("key");
    let keys_in = q.list("keysIn").or_else(|| q.list("keyIn"));
    let key_like = q.like("keyLike");
    let category = q.str("category");
    let category_like = q.like("categoryLike");
    let version = q.int("version")?;
    let latest = q.flag("latestVersion")?;
    let resource_name = q.str("resourceName");
    let resource_name_like = q.like("resourceNameLike");
    let active = q.flag("active")?;
    let suspended = q.flag("suspended")?;
    let tenants = q.list("tenantIdIn");
    let without_tenant = q.flag("withoutTenantId")?;
    let include_no_tenant = q.flag("includeProcessDefinitionsWithoutTenantId")?;
    let version_tag = q.str("versionTag");
    let version_tag_like = q.like("versionTagLike");
    let without_version_tag = q.flag("withoutVersionTag")?;
    let startable = q.flag("startableInTasklist")?;
    let not_startable = q.flag("notStartableInTasklist")?;
    let deployed_after = q.date("deployedAfter")?;
    let deployed_at = q.date("deployedAt")?;

    let mut latest_versions: BTreeMap<(String, Option<String>), i32> = BTreeMap::new();
    if latest {
        for d in &all {
            let e = latest_versions
                .entry((d.key.clone(), d.tenant_id.clone()))
                .or_insert(d.version);
            *e = (*e).max(d.version);
        }
    }
    Ok(super::query::live(all)
        .filter(|d| {
            eq_opt(&id, Some(&d.id))
                && in_opt(&id_in, Some(&d.id))
                && eq_opt(&name, d.name.as_deref())
                && like_opt(&name_like, d.name.as_deref())
                && eq_opt(&deployment_id, Some(&d.deployment_id))
                && eq_opt(&key, Some(&d.key))
                && in_opt(&keys_in, Some(&d.key))
                && like_opt(&key_like, Some(&d.key))
                && eq_opt(&category, d.category.as_deref())
                && like_opt(&category_like, d.category.as_deref())
                && version.is_none_or(|v| i64::from(d.version) == v)
                && (!latest
                    || latest_versions.get(&(d.key.clone(), d.tenant_id.clone()))
                        == Some(&d.version))
                && eq_opt(&resource_name, Some(&d.resource_name))
                && like_opt(&resource_name_like, Some(&d.resource_name))
                && (!active || !d.suspended)
                && (!suspended || d.suspended)
                && (in_opt(&tenants, d.tenant_id.as_deref())
                    || (include_no_tenant && d.tenant_id.is_none()))
                && (!without_tenant || d.tenant_id.is_none())
                && eq_opt(&version_tag, d.version_tag.as_deref())
                && like_opt(&version_tag_like, d.version_tag.as_deref())
                && (!without_version_tag || d.version_tag.is_none())
                && (!startable || d.startable_in_tasklist)
                && (!not_startable || !d.startable_in_tasklist)
                && deployed_after.is_none_or(|a| d.deployed_at > a)
                && deployed_at.is_none_or(|a| d.deployed_at == a)
                && super::authz::sees::definition(&d.key)
        })
        .collect())
}

async fn list(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let sorts = q.sorting(SORT)?;
    let page = q.pagination()?;
    let items = filter(&q, state.engine.definitions().await?)?;
    let items = sort_and_page(items, &sorts, page, |a, b, by| match by {
        "category" => a.category.cmp(&b.category),
        "key" => a.key.cmp(&b.key),
        "id" => a.id.cmp(&b.id),
        "name" => a.name.cmp(&b.name),
        "version" => a.version.cmp(&b.version),
        "deploymentId" => a.deployment_id.cmp(&b.deployment_id),
        "deployTime" => a.deployed_at.cmp(&b.deployed_at),
        "tenantId" => a.tenant_id.cmp(&b.tenant_id),
        "versionTag" => a.version_tag.cmp(&b.version_tag),
        _ => Ordering::Equal,
    })?;
    Ok(Json(J::Array(items.iter().map(dto::definition).collect())))
}

async fn count(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    Ok(Json(dto::count(
        filter(&q, state.engine.definitions().await?)?.len(),
    )))
}

async fn get_by_id(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    Ok(Json(dto::definition(&by_id(&state, &id).await?)))
}

async fn get_by_key(State(state): State<ApiState>, Path(key): Path<String>) -> ApiResult<Json<J>> {
    Ok(Json(dto::definition(&by_key(&state, &key, None).await?)))
}

async fn get_by_key_tenant(
    State(state): State<ApiState>,
    Path((key, tenant)): Path<(String, String)>,
) -> ApiResult<Json<J>> {
    Ok(Json(dto::definition(
        &by_key(&state, &key, Some(&tenant)).await?,
    )))
}

async fn xml_of(state: &ApiState, d: &ProcessDefinition) -> ApiResult<Json<J>> {
    let xml = state.engine.definition_xml(&d.id).await.map_err(|e| {
        not_found_as(e, || {
            ApiError::not_found(format!("No matching definition with id {}", d.id))
        })
    })?;
    Ok(Json(json!({"id": d.id, "bpmn20Xml": xml})))
}

async fn xml_by_id(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let d = by_id(&state, &id).await?;
    xml_of(&state, &d).await
}

async fn xml_by_key(State(state): State<ApiState>, Path(key): Path<String>) -> ApiResult<Json<J>> {
    let d = by_key(&state, &key, None).await?;
    xml_of(&state, &d).await
}

async fn xml_by_key_tenant(
    State(state): State<ApiState>,
    Path((key, tenant)): Path<(String, String)>,
) -> ApiResult<Json<J>> {
    let d = by_key(&state, &key, Some(&tenant)).await?;
    xml_of(&state, &d).await
}

/// `StartProcessInstanceDto`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct StartBody {
    variables: Option<J>,
    business_key: Option<String>,
    with_variables_in_return: bool,
    start_instructions: Option<Vec<J>>,
}

impl StartBody {
    /// The `variables` object as sent.
    pub(crate) fn variables_json(&self) -> Option<&J> {
        self.variables.as_ref()
    }
}

pub(super) async fn start(
    state: &ApiState,
    base: &BaseUrl,
    user: AuthUser,
    id: String,
    body: StartBody,
) -> ApiResult<Json<dto::InstanceDto>> {
    let prefix = format!("Cannot instantiate process definition {id}: ");
    let vars = decode_or_invalid(body.variables.as_ref(), &prefix)?;
    let start_activity_id = body
        .start_instructions
        .as_ref()
        .and_then(|ins| ins.first())
        .and_then(|i| i.get("activityId"))
        .and_then(J::as_str)
        .map(str::to_owned);
    let request = StartRequest {
        variables: vars,
        business_key: body.business_key,
        initiator: user.0,
        start_activity_id,
    };
    let result = state
        .engine
        .start_instance(DefinitionRef::Id(id.clone()), request)
        .await
        .map_err(|e| match e {
            ProcessEngineError::NotFound(m) => {
                ApiError::rest(StatusCode::INTERNAL_SERVER_ERROR, format!("{prefix}{m}"))
            }
            ProcessEngineError::Engine(m) | ProcessEngineError::Suspended(m) => {
                ApiError::rest(StatusCode::INTERNAL_SERVER_ERROR, format!("{prefix}{m}"))
            }
            other => ApiError::from(other).prefixed(&prefix),
        })?;
    let variables = body
        .with_variables_in_return
        .then(|| encode_variables(&result.instance.state.process_variables(), false));
    Ok(Json(dto::InstanceDto::new(
        &result.instance,
        result.ended,
        base,
        variables,
    )))
}

async fn start_by_id(
    State(state): State<ApiState>,
    base: BaseUrl,
    user: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<StartBody>,
) -> ApiResult<Json<dto::InstanceDto>> {
    start(&state, &base, user, id, body).await
}

async fn start_by_key(
    State(state): State<ApiState>,
    base: BaseUrl,
    user: AuthUser,
    Path(key): Path<String>,
    Json(body): Json<StartBody>,
) -> ApiResult<Json<dto::InstanceDto>> {
    let d = by_key(&state, &key, None).await?;
    start(&state, &base, user, d.id, body).await
}

async fn start_by_key_tenant(
    State(state): State<ApiState>,
    base: BaseUrl,
    user: AuthUser,
    Path((key, tenant)): Path<(String, String)>,
    Json(body): Json<StartBody>,
) -> ApiResult<Json<dto::InstanceDto>> {
    let d = by_key(&state, &key, Some(&tenant)).await?;
    start(&state, &base, user, d.id, body).await
}

async fn delete_by_id(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Response> {
    let cascade = q.flag("cascade")?;
    state
        .engine
        .delete_definition(&id, cascade)
        .await
        .map_err(|e| {
            not_found_as(e, || {
                ApiError::not_found(format!("No process definition found with id '{id}'"))
            })
        })?;
    Ok(no_content())
}

async fn delete_by_key(
    State(state): State<ApiState>,
    Path(key): Path<String>,
    Params(q): Params,
) -> ApiResult<Response> {
    let cascade = q.flag("cascade")?;
    let defs: Vec<ProcessDefinition> = state
        .engine
        .definitions()
        .await?
        .into_iter()
        .take_while(super::query::not_cancelled)
        .filter(|d| d.key == key && d.tenant_id.is_none())
        .collect();
    if defs.is_empty() {
        return Err(ApiError::not_found(format!(
            "No process definition found with key '{key}'"
        )));
    }
    for d in defs {
        state.engine.delete_definition(&d.id, cascade).await?;
    }
    Ok(no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SuspendBody {
    suspended: Option<bool>,
    include_process_instances: bool,
    process_definition_key: Option<String>,
    process_definition_id: Option<String>,
}

fn suspended_flag(b: &SuspendBody) -> ApiResult<bool> {
    b.suspended
        .ok_or_else(|| ApiError::invalid("Parameter 'suspended' is required"))
}

async fn suspend_by_id(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<SuspendBody>,
) -> ApiResult<Response> {
    let s = suspended_flag(&b)?;
    by_id(&state, &id).await?;
    state
        .engine
        .set_definition_suspended(&id, s, b.include_process_instances)
        .await?;
    Ok(no_content())
}

async fn suspend_key(state: &ApiState, key: &str, suspended: bool, include: bool) -> ApiResult<()> {
    suspend_key_of(state, key, None, suspended, include).await
}

/// Suspend or activate every version of `key` (of `tenant` only, when given).
async fn suspend_key_of(
    state: &ApiState,
    key: &str,
    tenant: Option<&str>,
    suspended: bool,
    include: bool,
) -> ApiResult<()> {
    let defs: Vec<ProcessDefinition> = state
        .engine
        .definitions()
        .await?
        .into_iter()
        .take_while(super::query::not_cancelled)
        .filter(|d| d.key == key && tenant.is_none_or(|t| d.tenant_id.as_deref() == Some(t)))
        .collect();
    if defs.is_empty() {
        return Err(key_missing(key, tenant));
    }
    for d in defs {
        state
            .engine
            .set_definition_suspended(&d.id, suspended, include)
            .await?;
    }
    Ok(())
}

async fn suspend_by_key(
    State(state): State<ApiState>,
    Path(key): Path<String>,
    Json(b): Json<SuspendBody>,
) -> ApiResult<Response> {
    let s = suspended_flag(&b)?;
    suspend_key(&state, &key, s, b.include_process_instances).await?;
    Ok(no_content())
}

async fn suspend_by_key_tenant(
    State(state): State<ApiState>,
    Path((key, tenant)): Path<(String, String)>,
    Json(b): Json<SuspendBody>,
) -> ApiResult<Response> {
    let s = suspended_flag(&b)?;
    suspend_key_of(&state, &key, Some(&tenant), s, b.include_process_instances).await?;
    Ok(no_content())
}

async fn suspend_bulk(
    State(state): State<ApiState>,
    Json(b): Json<SuspendBody>,
) -> ApiResult<Response> {
    let s = suspended_flag(&b)?;
    match (&b.process_definition_id, &b.process_definition_key) {
        (Some(id), _) => {
            by_id(&state, id).await?;
            state
                .engine
                .set_definition_suspended(id, s, b.include_process_instances)
                .await?;
        }
        (None, Some(key)) => suspend_key(&state, key, s, b.include_process_instances).await?,
        (None, None) => {
            return Err(ApiError::invalid(
                "Only one of processDefinitionId or processDefinitionKey should be set to update the suspension state.",
            ));
        }
    }
    Ok(no_content())
}

async fn form_vars(state: &ApiState, d: &ProcessDefinition, q: &QueryInput) -> ApiResult<Json<J>> {
    let (_, process) = state.engine.definition_model(&d.id).await?;
    let fields = process
        .none_start_events(None)
        .next()
        .map(|idx| match &process.node(idx).kind {
            baton_bpmn::model::NodeKind::StartEvent { form_fields, .. } => form_fields.clone(),
            _ => Vec::new(),
        })
        .unwrap_or_default();
    let names = q.list("variableNames");
    Ok(Json(task::form_variables_json(
        &fields,
        &Default::default(),
        names.as_deref(),
        q.deserialize_values()?,
    )))
}

async fn form_vars_by_id(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let d = by_id(&state, &id).await?;
    form_vars(&state, &d, &q).await
}

async fn form_vars_by_key(
    State(state): State<ApiState>,
    Path(key): Path<String>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let d = by_key(&state, &key, None).await?;
    form_vars(&state, &d, &q).await
}

async fn form_vars_by_key_and_tenant(
    State(state): State<ApiState>,
    Path((key, tenant)): Path<(String, String)>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let d = by_key(&state, &key, Some(&tenant)).await?;
    form_vars(&state, &d, &q).await
}
