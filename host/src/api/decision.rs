//! `/decision-definition` (list, count, get by id / key / key and tenant, XML, diagram,
//! evaluate, history time to live) and `/decision-requirements-definition` (list, count, get, XML, diagram).
//!
//! Errors follow Camunda: an unknown id or key is 404 `InvalidRequestException`; bad variables
//! in an evaluate body are 400; a decision that fails to evaluate is 500 `RestException`
//! `Cannot evaluate decision <id>: <why>`. Diagrams: baton keeps no decision diagram images,
//! so those endpoints answer 204 as Camunda does for a definition without one.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::error::{ApiError, ApiResult};
use super::json::Json;
use super::query::{Params, QueryInput, eq_opt, in_opt, like_opt, sort_and_page};
use super::variables::{decode_or_invalid, encode_value};
use super::{ApiState, AuthUser, Route, dto};
use crate::engine::ProcessEngineError;
use crate::records::{DecisionDefinition, DecisionRequirementsDefinition};

const DD: &str = "/decision-definition";
const DRD: &str = "/decision-requirements-definition";

pub(crate) fn routes() -> Vec<Route> {
    let mut r = decision_definition_routes();
    r.extend(requirements_routes());
    r
}

fn decision_definition_routes() -> Vec<Route> {
    vec![
        Route::get(DD, "List decision definitions", dd_list),
        Route::get(
            "/decision-definition/count",
            "Count decision definitions",
            dd_count,
        ),
        Route::get(
            "/decision-definition/{id}",
            "Get a decision definition",
            dd_get,
        ),
        Route::get(
            "/decision-definition/{id}/xml",
            "DMN XML of a decision definition",
            dd_xml,
        ),
        Route::get(
            "/decision-definition/{id}/diagram",
            "Diagram of a decision definition",
            no_diagram,
        ),
        Route::post(
            "/decision-definition/{id}/evaluate",
            "Evaluate a decision definition",
            dd_evaluate,
        ),
        Route::get(
            "/decision-definition/key/{key}",
            "Latest decision definition of a key",
            dd_by_key,
        ),
        Route::get(
            "/decision-definition/key/{key}/xml",
            "DMN XML of the latest decision definition of a key",
            dd_xml_by_key,
        ),
        Route::get(
            "/decision-definition/key/{key}/diagram",
            "Diagram of the latest decision definition of a key",
            no_diagram,
        ),
        Route::post(
            "/decision-definition/key/{key}/evaluate",
            "Evaluate the latest decision definition of a key",
            dd_evaluate_by_key,
        ),
        Route::get(
            "/decision-definition/key/{key}/tenant-id/{tenant_id}",
            "Latest decision definition of a key for a tenant",
            dd_by_key_tenant,
        ),
        Route::get(
            "/decision-definition/key/{key}/tenant-id/{tenant_id}/xml",
            "DMN XML of the latest decision definition of a key for a tenant",
            dd_xml_by_key_tenant,
        ),
        Route::get(
            "/decision-definition/key/{key}/tenant-id/{tenant_id}/diagram",
            "Diagram of the latest decision definition of a key for a tenant",
            no_diagram,
        ),
        Route::post(
            "/decision-definition/key/{key}/tenant-id/{tenant_id}/evaluate",
            "Evaluate the latest decision definition of a key for a tenant",
            dd_evaluate_by_key_tenant,
        ),
        Route::put(
            "/decision-definition/{id}/history-time-to-live",
            "Set the history time to live of a decision definition",
            dd_ttl,
        ),
        Route::put(
            "/decision-definition/key/{key}/history-time-to-live",
            "Set the history time to live of the latest decision definition of a key",
            dd_ttl_by_key,
        ),
        Route::put(
            "/decision-definition/key/{key}/tenant-id/{tenant_id}/history-time-to-live",
            "Set the history time to live of the latest decision definition of a key for a tenant",
            dd_ttl_by_key_tenant,
        ),
    ]
}

fn requirements_routes() -> Vec<Route> {
    vec![
        Route::get(DRD, "List decision requirements definitions", drd_list),
        Route::get(
            "/decision-requirements-definition/count",
            "Count decision requirements definitions",
            drd_count,
        ),
        Route::get(
            "/decision-requirements-definition/{id}",
            "Get a decision requirements definition",
            drd_get,
        ),
        Route::get(
            "/decision-requirements-definition/{id}/xml",
            "DMN XML of a decision requirements definition",
            drd_xml,
        ),
        Route::get(
            "/decision-requirements-definition/{id}/diagram",
            "Diagram of a decision requirements definition",
            no_diagram,
        ),
        Route::get(
            "/decision-requirements-definition/key/{key}",
            "Latest decision requirements definition of a key",
            drd_by_key,
        ),
        Route::get(
            "/decision-requirements-definition/key/{key}/xml",
            "DMN XML of the latest decision requirements definition of a key",
            drd_xml_by_key,
        ),
        Route::get(
            "/decision-requirements-definition/key/{key}/diagram",
            "Diagram of the latest decision requirements definition of a key",
            no_diagram,
        ),
        Route::get(
            "/decision-requirements-definition/key/{key}/tenant-id/{tenant_id}",
            "Latest decision requirements definition of a key for a tenant",
            drd_by_key_tenant,
        ),
        Route::get(
            "/decision-requirements-definition/key/{key}/tenant-id/{tenant_id}/xml",
            "DMN XML of the latest decision requirements definition of a key for a tenant",
            drd_xml_by_key_tenant,
        ),
        Route::get(
            "/decision-requirements-definition/key/{key}/tenant-id/{tenant_id}/diagram",
            "Diagram of the latest decision requirements definition of a key for a tenant",
            no_diagram,
        ),
    ]
}

/// Camunda's `DecisionDefinitionDto`.
pub(crate) fn decision_dto(d: &DecisionDefinition) -> J {
    json!({
        "id": d.id, "key": d.key, "category": d.category, "name": d.name,
        "version": d.version, "resource": d.resource_name, "deploymentId": d.deployment_id,
        "decisionRequirementsDefinitionId": d.decision_requirements_definition_id,
        "decisionRequirementsDefinitionKey": d.decision_requirements_definition_key,
        "tenantId": d.tenant_id, "versionTag": d.version_tag,
        "historyTimeToLive": d.history_time_to_live,
    })
}

/// Camunda's `DecisionRequirementsDefinitionDto`.
pub(crate) fn requirements_dto(d: &DecisionRequirementsDefinition) -> J {
    json!({
        "id": d.id, "key": d.key, "name": d.name, "category": d.category,
        "version": d.version, "resource": d.resource_name, "deploymentId": d.deployment_id,
        "tenantId": d.tenant_id,
    })
}

/// The filters decision definitions and decision requirements definitions share (Camunda's
/// two query DTOs have the same fields but for their id parameters and the without-tenant
/// flag's name).
struct DefinitionFilter {
    id: Option<String>,
    id_in: Option<Vec<String>>,
    name: Option<String>,
    name_like: Option<crate::like::LikePattern>,
    deployment_id: Option<String>,
    key: Option<String>,
    key_like: Option<crate::like::LikePattern>,
    category: Option<String>,
    category_like: Option<crate::like::LikePattern>,
    version: Option<i64>,
    latest: bool,
    resource_name: Option<String>,
    resource_name_like: Option<crate::like::LikePattern>,
    tenants: Option<Vec<String>>,
    without_tenant: bool,
    include_no_tenant: bool,
}

/// The fields of one definition the shared filters look at.
struct DefinitionFields<'a> {
    id: &'a str,
    name: Option<&'a str>,
    deployment_id: &'a str,
    key: &'a str,
    category: Option<&'a str>,
    version: i32,
    resource_name: &'a str,
    tenant_id: Option<&'a str>,
}

impl DefinitionFilter {
    /// `id`/`id_in` name the resource's id parameters, `include_without_tenant` its
    /// `include...WithoutTenantId` flag.
    fn from_query(
        q: &QueryInput,
        id: &str,
        id_in: &str,
        include_without_tenant: &str,
    ) -> ApiResult<DefinitionFilter> {
        Ok(DefinitionFilter {
            id: q.str(id),
            id_in: q.list(id_in),
            name: q.str("name"),
            name_like: q.like("nameLike"),
            deployment_id: q.str("deploymentId"),
            key: q.str("key"),
            key_like: q.like("keyLike"),
            category: q.str("category"),
            category_like: q.like("categoryLike"),
            version: q.int("version")?,
            latest: q.flag("latestVersion")?,
            resource_name: q.str("resourceName"),
            resource_name_like: q.like("resourceNameLike"),
            tenants: q.list("tenantIdIn"),
            without_tenant: q.flag("withoutTenantId")?,
            include_no_tenant: q.flag(include_without_tenant)?,
        })
    }

    /// Whether `d` passes; `latest_of` is [`latest_versions`] of the candidates.
    fn matches(
        &self,
        d: &DefinitionFields<'_>,
        latest_of: &BTreeMap<(String, Option<String>), i32>,
    ) -> bool {
        eq_opt(&self.id, Some(d.id))
            && in_opt(&self.id_in, Some(d.id))
            && eq_opt(&self.name, d.name)
            && like_opt(&self.name_like, d.name)
            && eq_opt(&self.deployment_id, Some(d.deployment_id))
            && eq_opt(&self.key, Some(d.key))
            && like_opt(&self.key_like, Some(d.key))
            && eq_opt(&self.category, d.category)
            && like_opt(&self.category_like, d.category)
            && self.version.is_none_or(|v| i64::from(d.version) == v)
            && (!self.latest
                || latest_of.get(&(d.key.to_owned(), d.tenant_id.map(str::to_owned)))
                    == Some(&d.version))
            && eq_opt(&self.resource_name, Some(d.resource_name))
            && like_opt(&self.resource_name_like, Some(d.resource_name))
            && (in_opt(&self.tenants, d.tenant_id)
                || (self.include_no_tenant && d.tenant_id.is_none()))
            && (!self.without_tenant || d.tenant_id.is_none())
    }
}

fn dd_fields(d: &DecisionDefinition) -> DefinitionFields<'_> {
    DefinitionFields {
        id: &d.id,
        name: d.name.as_deref(),
        deployment_id: &d.deployment_id,
        key: &d.key,
        category: d.category.as_deref(),
        version: d.version,
        resource_name: &d.resource_name,
        tenant_id: d.tenant_id.as_deref(),
    }
}

fn dd_filter(q: &QueryInput, all: Vec<DecisionDefinition>) -> ApiResult<Vec<DecisionDefinition>> {
    let common = DefinitionFilter::from_query(
        q,
        "decisionDefinitionId",
        "decisionDefinitionIdIn",
        "includeDecisionDefinitionsWithoutTenantId",
    )?;
    let drd_id = q.str("decisionRequirementsDefinitionId");
    let drd_key = q.str("decisionRequirementsDefinitionKey");
    let without_drd = q.flag("withoutDecisionRequirementsDefinition")?;
    let version_tag = q.str("versionTag");
    let version_tag_like = q.like("versionTagLike");
    let latest_of = latest_versions(
        common.latest,
        all.iter().map(|d| (&d.key, &d.tenant_id, d.version)),
    );
    Ok(super::query::live(all)
        .filter(|d| {
            common.matches(&dd_fields(d), &latest_of)
                && eq_opt(&drd_id, d.decision_requirements_definition_id.as_deref())
                && eq_opt(&drd_key, d.decision_requirements_definition_key.as_deref())
                && (!without_drd || d.decision_requirements_definition_id.is_none())
                && eq_opt(&version_tag, d.version_tag.as_deref())
                && like_opt(&version_tag_like, d.version_tag.as_deref())
        })
        .collect())
}

/// With `latestVersion=true`: the highest version per (key, tenant).
fn latest_versions<'a>(
    wanted: bool,
    all: impl Iterator<Item = (&'a String, &'a Option<String>, i32)>,
) -> BTreeMap<(String, Option<String>), i32> {
    let mut out: BTreeMap<(String, Option<String>), i32> = BTreeMap::new();
    if wanted {
        for (key, tenant, version) in all {
            let e = out.entry((key.clone(), tenant.clone())).or_insert(version);
            *e = (*e).max(version);
        }
    }
    out
}

const DD_SORT: &[&str] = &[
    "category",
    "decisionRequirementsDefinitionKey",
    "key",
    "id",
    "name",
    "version",
    "deploymentId",
    "deployTime",
    "versionTag",
    "tenantId",
];

async fn dd_list(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let sorts = q.sorting(DD_SORT)?;
    let page = q.pagination()?;
    let items = dd_filter(&q, state.engine.decision_definitions().await?)?;
    let items = sort_and_page(items, &sorts, page, |a, b, by| match by {
        "category" => a.category.cmp(&b.category),
        "decisionRequirementsDefinitionKey" => a
            .decision_requirements_definition_key
            .cmp(&b.decision_requirements_definition_key),
        "key" => a.key.cmp(&b.key),
        "id" => a.id.cmp(&b.id),
        "name" => a.name.cmp(&b.name),
        "version" => a.version.cmp(&b.version),
        "deploymentId" => a.deployment_id.cmp(&b.deployment_id),
        "deployTime" => a.deployed_at.cmp(&b.deployed_at),
        "versionTag" => a.version_tag.cmp(&b.version_tag),
        "tenantId" => a.tenant_id.cmp(&b.tenant_id),
        _ => Ordering::Equal,
    })?;
    Ok(Json(J::Array(items.iter().map(decision_dto).collect())))
}

async fn dd_count(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let all = state.engine.decision_definitions().await?;
    Ok(Json(dto::count(dd_filter(&q, all)?.len())))
}

async fn dd_by_id(state: &ApiState, id: &str) -> ApiResult<DecisionDefinition> {
    Ok(state.engine.decision_definition(id).await?)
}

async fn dd_latest(
    state: &ApiState,
    key: &str,
    tenant: Option<&str>,
) -> ApiResult<DecisionDefinition> {
    Ok(state.engine.latest_decision_definition(key, tenant).await?)
}

async fn dd_get(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    Ok(Json(decision_dto(&dd_by_id(&state, &id).await?)))
}

async fn dd_by_key(State(state): State<ApiState>, Path(key): Path<String>) -> ApiResult<Json<J>> {
    Ok(Json(decision_dto(&dd_latest(&state, &key, None).await?)))
}

async fn dd_by_key_tenant(
    State(state): State<ApiState>,
    Path((key, tenant)): Path<(String, String)>,
) -> ApiResult<Json<J>> {
    Ok(Json(decision_dto(
        &dd_latest(&state, &key, Some(&tenant)).await?,
    )))
}

async fn xml_of(state: &ApiState, id: &str, resource_id: &str) -> ApiResult<Json<J>> {
    let xml = state.engine.decision_resource_xml(resource_id).await?;
    Ok(Json(json!({"id": id, "dmnXml": xml})))
}

async fn dd_xml(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let d = dd_by_id(&state, &id).await?;
    xml_of(&state, &d.id, &d.resource_id).await
}

async fn dd_xml_by_key(
    State(state): State<ApiState>,
    Path(key): Path<String>,
) -> ApiResult<Json<J>> {
    let d = dd_latest(&state, &key, None).await?;
    xml_of(&state, &d.id, &d.resource_id).await
}

async fn dd_xml_by_key_tenant(
    State(state): State<ApiState>,
    Path((key, tenant)): Path<(String, String)>,
) -> ApiResult<Json<J>> {
    let d = dd_latest(&state, &key, Some(&tenant)).await?;
    xml_of(&state, &d.id, &d.resource_id).await
}

/// `EvaluateDecisionDto`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct EvaluateBody {
    variables: Option<J>,
}

async fn evaluate(
    state: &ApiState,
    user: AuthUser,
    d: DecisionDefinition,
    body: EvaluateBody,
) -> ApiResult<Json<J>> {
    let prefix = format!("Cannot evaluate decision {}: ", d.id);
    let vars = decode_or_invalid(body.variables.as_ref(), &prefix)?;
    let results = state
        .engine
        .evaluate_decision(&d, &vars, user.0)
        .await
        .map_err(|e| match e {
            ProcessEngineError::Engine(m) => {
                ApiError::rest(StatusCode::INTERNAL_SERVER_ERROR, format!("{prefix}{m}"))
            }
            other => other.into(),
        })?;
    Ok(Json(J::Array(
        results
            .iter()
            .map(|entries| {
                J::Object(
                    entries
                        .iter()
                        .map(|(n, v)| (n.clone(), encode_value(v, true)))
                        .collect(),
                )
            })
            .collect(),
    )))
}

async fn dd_evaluate(
    State(state): State<ApiState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<EvaluateBody>,
) -> ApiResult<Json<J>> {
    let d = dd_by_id(&state, &id).await?;
    evaluate(&state, user, d, body).await
}

async fn dd_evaluate_by_key(
    State(state): State<ApiState>,
    user: AuthUser,
    Path(key): Path<String>,
    Json(body): Json<EvaluateBody>,
) -> ApiResult<Json<J>> {
    let d = dd_latest(&state, &key, None).await?;
    evaluate(&state, user, d, body).await
}

async fn dd_evaluate_by_key_tenant(
    State(state): State<ApiState>,
    user: AuthUser,
    Path((key, tenant)): Path<(String, String)>,
    Json(body): Json<EvaluateBody>,
) -> ApiResult<Json<J>> {
    let d = dd_latest(&state, &key, Some(&tenant)).await?;
    evaluate(&state, user, d, body).await
}

/// `HistoryTimeToLiveDto`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct TtlBody {
    history_time_to_live: Option<J>,
}

async fn set_ttl(state: &ApiState, d: &DecisionDefinition, body: TtlBody) -> ApiResult<Response> {
    let days = match body.history_time_to_live {
        None | Some(J::Null) => None,
        Some(v) => match v.as_i64().map(u32::try_from) {
            Some(Ok(n)) => Some(n),
            _ => {
                return Err(ApiError::bad_user_request(format!(
                    "historyTimeToLive must be a number of days from 0, got {v}"
                )));
            }
        },
    };
    state
        .engine
        .set_decision_history_time_to_live(&d.id, days)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn dd_ttl(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(body): Json<TtlBody>,
) -> ApiResult<Response> {
    let d = dd_by_id(&state, &id).await?;
    set_ttl(&state, &d, body).await
}

async fn dd_ttl_by_key(
    State(state): State<ApiState>,
    Path(key): Path<String>,
    Json(body): Json<TtlBody>,
) -> ApiResult<Response> {
    let d = dd_latest(&state, &key, None).await?;
    set_ttl(&state, &d, body).await
}

async fn dd_ttl_by_key_tenant(
    State(state): State<ApiState>,
    Path((key, tenant)): Path<(String, String)>,
    Json(body): Json<TtlBody>,
) -> ApiResult<Response> {
    let d = dd_latest(&state, &key, Some(&tenant)).await?;
    set_ttl(&state, &d, body).await
}

async fn no_diagram() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn drd_filter(
    q: &QueryInput,
    all: Vec<DecisionRequirementsDefinition>,
) -> ApiResult<Vec<DecisionRequirementsDefinition>> {
    let common = DefinitionFilter::from_query(
        q,
        "decisionRequirementsDefinitionId",
        "decisionRequirementsDefinitionIdIn",
        "includeDecisionRequirementsDefinitionsWithoutTenantId",
    )?;
    let latest_of = latest_versions(
        common.latest,
        all.iter().map(|d| (&d.key, &d.tenant_id, d.version)),
    );
    Ok(super::query::live(all)
        .filter(|d| {
            let fields = DefinitionFields {
                id: &d.id,
                name: d.name.as_deref(),
                deployment_id: &d.deployment_id,
                key: &d.key,
                category: d.category.as_deref(),
                version: d.version,
                resource_name: &d.resource_name,
                tenant_id: d.tenant_id.as_deref(),
            };
            common.matches(&fields, &latest_of)
        })
        .collect())
}

const DRD_SORT: &[&str] = &[
    "id",
    "key",
    "name",
    "version",
    "deploymentId",
    "category",
    "tenantId",
];

async fn drd_list(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let sorts = q.sorting(DRD_SORT)?;
    let page = q.pagination()?;
    let items = drd_filter(&q, state.engine.decision_requirements_definitions().await?)?;
    let items = sort_and_page(items, &sorts, page, |a, b, by| match by {
        "id" => a.id.cmp(&b.id),
        "key" => a.key.cmp(&b.key),
        "name" => a.name.cmp(&b.name),
        "version" => a.version.cmp(&b.version),
        "deploymentId" => a.deployment_id.cmp(&b.deployment_id),
        "category" => a.category.cmp(&b.category),
        "tenantId" => a.tenant_id.cmp(&b.tenant_id),
        _ => Ordering::Equal,
    })?;
    Ok(Json(J::Array(items.iter().map(requirements_dto).collect())))
}

async fn drd_count(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let all = state.engine.decision_requirements_definitions().await?;
    Ok(Json(dto::count(drd_filter(&q, all)?.len())))
}

async fn drd_get(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let d = state.engine.decision_requirements_definition(&id).await?;
    Ok(Json(requirements_dto(&d)))
}

async fn drd_xml(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let d = state.engine.decision_requirements_definition(&id).await?;
    xml_of(&state, &d.id, &d.resource_id).await
}

async fn drd_latest(
    state: &ApiState,
    key: &str,
    tenant: Option<&str>,
) -> ApiResult<DecisionRequirementsDefinition> {
    Ok(state
        .engine
        .latest_decision_requirements_definition(key, tenant)
        .await?)
}

async fn drd_by_key(State(state): State<ApiState>, Path(key): Path<String>) -> ApiResult<Json<J>> {
    Ok(Json(requirements_dto(
        &drd_latest(&state, &key, None).await?,
    )))
}

async fn drd_by_key_tenant(
    State(state): State<ApiState>,
    Path((key, tenant)): Path<(String, String)>,
) -> ApiResult<Json<J>> {
    Ok(Json(requirements_dto(
        &drd_latest(&state, &key, Some(&tenant)).await?,
    )))
}

async fn drd_xml_by_key(
    State(state): State<ApiState>,
    Path(key): Path<String>,
) -> ApiResult<Json<J>> {
    let d = drd_latest(&state, &key, None).await?;
    xml_of(&state, &d.id, &d.resource_id).await
}

async fn drd_xml_by_key_tenant(
    State(state): State<ApiState>,
    Path((key, tenant)): Path<(String, String)>,
) -> ApiResult<Json<J>> {
    let d = drd_latest(&state, &key, Some(&tenant)).await?;
    xml_of(&state, &d.id, &d.resource_id).await
}
