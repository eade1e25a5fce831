//! `/deployment`: create (multipart upload), list, count, get, delete, resources.
//!
//! Multipart rules (camunda-rest.md §3): the reserved text parts are `deployment-name`,
//! `deployment-source`, `tenant-id`, `enable-duplicate-filtering`, `deploy-changed-only`,
//! `deployment-activation-time` (ignored); every other part is a resource named by its
//! **filename**. Booleans are case-insensitive (`True` from pycamunda). `.wasm` resources are
//! bound to the topic named by their file stem, unless the text part `task-modules` (baton
//! extension, see `module`) binds them otherwise.

use std::cmp::Ordering;

use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Map, Value as J, json};

use super::error::{ApiError, ApiResult, not_found_as};
use super::json::{Json, no_content};
use super::query::{Params, QueryInput, eq_opt, in_opt, like_opt, sort_and_page};
use super::{ApiState, BaseUrl, Route, dto, module, raw};
use crate::engine::authorizations::{Needed, Permission, Resource as AuthResource};
use crate::engine::{DeployRequest, DeployResult, Resource};
use crate::records::Deployment;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::post(
            "/deployment/create",
            "Deploy resources (multipart/form-data)",
            create,
        )
        .upload(),
        Route::get("/deployment", "List deployments", list),
        Route::get("/deployment/count", "Count deployments", count),
        Route::get("/deployment/{id}", "Get a deployment", get_one),
        Route::delete("/deployment/{id}", "Delete a deployment", delete),
        Route::get(
            "/deployment/{id}/resources",
            "List the resources of a deployment",
            resources,
        ),
        Route::get(
            "/deployment/{id}/resources/{resource_id}",
            "Get a deployment resource",
            resource,
        ),
        Route::get(
            "/deployment/{id}/resources/{resource_id}/data",
            "Get the bytes of a deployment resource",
            resource_data,
        ),
    ]
}

const SORT: &[&str] = &["id", "name", "deploymentTime", "tenantId"];

fn multipart_error(e: &MultipartError, limit: usize) -> ApiError {
    super::json::body_error(e.status(), &e.body_text(), limit)
}

fn parse_bool(s: &str) -> bool {
    s.trim().eq_ignore_ascii_case("true")
}

/// Read the multipart form into a deploy request (`limit` only shapes the too-large error).
/// Public so the fuzz target `host_multipart` (tests/fuzz) can reach it.
pub async fn read_form(mut mp: Multipart, limit: usize) -> ApiResult<DeployRequest> {
    let mut req = DeployRequest::default();
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| multipart_error(&e, limit))?
    {
        let name = field.name().unwrap_or("").to_owned();
        let filename = field.file_name().map(str::to_owned);
        let reserved = matches!(
            name.as_str(),
            "deployment-name"
                | "deployment-source"
                | "tenant-id"
                | "enable-duplicate-filtering"
                | "deploy-changed-only"
                | "deployment-activation-time"
                | "task-modules"
        );
        let bytes = field
            .bytes()
            .await
            .map_err(|e| multipart_error(&e, limit))?;
        if reserved {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            match name.as_str() {
                "deployment-name" => req.name = Some(text),
                "deployment-source" => req.source = Some(text),
                "tenant-id" => req.tenant_id = Some(text).filter(|t| !t.is_empty()),
                "enable-duplicate-filtering" => req.enable_duplicate_filtering = parse_bool(&text),
                "deploy-changed-only" => req.deploy_changed_only = parse_bool(&text),
                "task-modules" => req.module_bindings = module::parse_bindings(&text)?,
                _ => {}
            }
            continue;
        }
        let limit = super::guard::client_limits().max_deployment_resources;
        if req.resources.len() >= limit {
            return Err(ApiError::invalid(format!(
                "A deployment may contain at most {limit} resources"
            )));
        }
        let Some(filename) = filename.filter(|f| !f.is_empty()) else {
            return Err(ApiError::invalid(
                "No file name found in the deployment resource described by form parameter 'null'.",
            ));
        };
        req.resources.push(Resource {
            name: filename,
            bytes: bytes.to_vec(),
        });
    }
    if req.resources.is_empty() {
        return Err(ApiError::invalid(
            "No deployment resources contained in the form upload.",
        ));
    }
    Ok(req)
}

pub(super) fn deploy_result_dto(r: &DeployResult, base: &BaseUrl) -> J {
    let mut dto = dto::deployment(&r.deployment, base);
    let defs = r.deployed_process_definitions.as_ref().map(|defs| {
        J::Object(
            defs.iter()
                .map(|d| (d.id.clone(), dto::definition(d)))
                .collect::<Map<_, _>>(),
        )
    });
    let modules = (!r.deployed_modules.is_empty()).then(|| {
        J::Object(
            r.deployed_modules
                .iter()
                .map(|m| (m.topic.clone(), module::module_dto(m)))
                .collect(),
        )
    });
    if let Some(o) = dto.as_object_mut() {
        o.insert("deployedProcessDefinitions".into(), defs.unwrap_or(J::Null));
        o.insert("deployedCaseDefinitions".into(), J::Null);
        let decisions = r.deployed_decisions.as_ref();
        o.insert(
            "deployedDecisionDefinitions".into(),
            decisions
                .filter(|d| !d.decisions.is_empty())
                .map_or(J::Null, |d| {
                    J::Object(
                        d.decisions
                            .iter()
                            .map(|x| (x.id.clone(), super::decision::decision_dto(x)))
                            .collect(),
                    )
                }),
        );
        o.insert(
            "deployedDecisionRequirementsDefinitions".into(),
            decisions
                .filter(|d| !d.requirements.is_empty())
                .map_or(J::Null, |d| {
                    J::Object(
                        d.requirements
                            .iter()
                            .map(|x| (x.id.clone(), super::decision::requirements_dto(x)))
                            .collect(),
                    )
                }),
        );
        o.insert("deployedTaskModules".into(), modules.unwrap_or(J::Null));
    }
    dto
}

async fn create(
    State(state): State<ApiState>,
    base: BaseUrl,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<J>> {
    let mp = mp.map_err(|e| {
        ApiError::invalid(format!(
            "The deployment must be sent as multipart/form-data: {}",
            e.body_text()
        ))
    })?;
    let req = read_form(mp, state.config.max_upload_bytes).await?;
    // Components in a deployment are task modules: binding one needs `CREATE` on its topic.
    for topic in req.module_topics() {
        super::authz::require(&[Needed::on(
            Permission::CREATE,
            AuthResource::TASK_MODULE,
            topic,
        )])?;
    }
    let result = state.engine.deploy(req).await?;
    Ok(Json(deploy_result_dto(&result, &base)))
}

fn filter(q: &QueryInput, items: Vec<Deployment>) -> ApiResult<Vec<Deployment>> {
    let id = q.str("id");
    let name = q.str("name");
    let name_like = q.like("nameLike");
    let source = q.str("source");
    let without_source = q.flag("withoutSource")?;
    let tenants = q.list("tenantIdIn");
    let without_tenant = q.flag("withoutTenantId")?;
    let include_no_tenant = q.flag("includeDeploymentsWithoutTenantId")?;
    let after = q.date("after")?;
    let before = q.date("before")?;
    Ok(super::query::live(items)
        .filter(|d| {
            eq_opt(&id, Some(&d.id))
                && eq_opt(&name, d.name.as_deref())
                && like_opt(&name_like, d.name.as_deref())
                && eq_opt(&source, d.source.as_deref())
                && (!without_source || d.source.is_none())
                && (!without_tenant || d.tenant_id.is_none())
                && (in_opt(&tenants, d.tenant_id.as_deref())
                    || (include_no_tenant && d.tenant_id.is_none()))
                && after.is_none_or(|a| d.deployment_time > a)
                && before.is_none_or(|b| d.deployment_time < b)
                && super::authz::sees::deployment(&d.id)
        })
        .collect())
}

async fn list(
    State(state): State<ApiState>,
    base: BaseUrl,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let sorts = q.sorting(SORT)?;
    let page = q.pagination()?;
    let items = filter(&q, state.engine.deployments().await?)?;
    let items = sort_and_page(items, &sorts, page, |a, b, by| match by {
        "id" => a.id.cmp(&b.id),
        "name" => a.name.cmp(&b.name),
        "deploymentTime" => a.deployment_time.cmp(&b.deployment_time),
        "tenantId" => a.tenant_id.cmp(&b.tenant_id),
        _ => Ordering::Equal,
    })?;
    Ok(Json(J::Array(
        items.iter().map(|d| dto::deployment(d, &base)).collect(),
    )))
}

async fn count(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let items = filter(&q, state.engine.deployments().await?)?;
    Ok(Json(dto::count(items.len())))
}

async fn get_one(
    State(state): State<ApiState>,
    base: BaseUrl,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    let d = state.engine.deployment(&id).await.map_err(|e| {
        not_found_as(e, || {
            ApiError::not_found(format!("Deployment with id '{id}' does not exist"))
        })
    })?;
    Ok(Json(dto::deployment(&d, &base)))
}

async fn delete(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Response> {
    let cascade = q.flag("cascade")?;
    state
        .engine
        .delete_deployment(&id, cascade)
        .await
        .map_err(|e| {
            not_found_as(e, || {
                ApiError::not_found(format!("Deployment with id '{id}' do not exist"))
            })
        })?;
    Ok(no_content())
}

fn find_resource<'a>(d: &'a Deployment, rid: &str) -> ApiResult<&'a crate::records::ResourceMeta> {
    d.resources
        .iter()
        .find(|r| r.id == rid)
        .ok_or_else(|| resource_missing(&d.id, rid))
}

async fn load(state: &ApiState, id: &str) -> ApiResult<Deployment> {
    state.engine.deployment(id).await.map_err(|e| {
        not_found_as(e, || {
            ApiError::not_found(format!("Deployment with id '{id}' does not exist"))
        })
    })
}

async fn resources(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let d = load(&state, &id).await?;
    Ok(Json(J::Array(
        d.resources
            .iter()
            .map(|r| json!({"id": r.id, "name": r.name, "deploymentId": r.deployment_id}))
            .collect(),
    )))
}

fn resource_missing(id: &str, rid: &str) -> ApiError {
    ApiError::not_found(format!(
        "Deployment resource with resource id '{rid}' for deployment id '{id}' does not exist."
    ))
}

async fn resource(
    State(state): State<ApiState>,
    Path((id, rid)): Path<(String, String)>,
) -> ApiResult<Json<J>> {
    let d = load(&state, &id).await?;
    let r = find_resource(&d, &rid)?;
    Ok(Json(
        json!({"id": r.id, "name": r.name, "deploymentId": r.deployment_id}),
    ))
}

/// A content type by file extension, as Camunda's resource endpoint does.
fn content_type_of(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".bpmn")
        || lower.ends_with(".xml")
        || lower.ends_with(".dmn")
        || lower.ends_with(".cmmn")
    {
        "application/xml"
    } else if lower.ends_with(".png") {
        "image/png"
    } else if lower.ends_with(".svg") {
        "image/svg+xml"
    } else if lower.ends_with(".wasm") {
        "application/wasm"
    } else if lower.ends_with(".json") || lower.ends_with(".form") {
        "application/json"
    } else {
        "application/octet-stream"
    }
}

async fn resource_data(
    State(state): State<ApiState>,
    Path((id, rid)): Path<(String, String)>,
) -> ApiResult<Response> {
    let d = load(&state, &id).await?;
    let r = find_resource(&d, &rid)?;
    let bytes = state
        .engine
        .resource_data(&id, &rid)
        .await
        .map_err(|e| not_found_as(e, || resource_missing(&id, &rid)))?;
    Ok(raw(content_type_of(&r.name), bytes))
}
