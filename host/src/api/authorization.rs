//! `/authorization`: Camunda's authorization resource (query, count, get, create, update,
//! delete, check). Camunda's `OPTIONS` variants are not served: its list of REST operations
//! (the coverage measure) has none, and baton serves no `OPTIONS` anywhere. The model and its
//! evaluation are in [`crate::engine::authorizations`]; enforcement in [`super::authz`].

use std::cmp::Ordering;

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::authz;
use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::query::{Params, QueryInput, sort_and_page};
use super::{ApiState, AuthUser, BaseUrl, Route, dto};
use crate::engine::authorizations::{AuthorizationInput, Needed, Permission, Resource};
use crate::records::Authorization;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get("/authorization", "Query authorizations", list),
        Route::get("/authorization/count", "Count authorizations", count),
        Route::get(
            "/authorization/check",
            "Check a permission of the authenticated user",
            check,
        ),
        Route::post("/authorization/create", "Create an authorization", create),
        Route::get("/authorization/{id}", "Get an authorization", get_one),
        Route::put("/authorization/{id}", "Update an authorization", update),
        Route::delete("/authorization/{id}", "Delete an authorization", delete),
    ]
}

/// Camunda's `AuthorizationDto`.
fn authorization_dto(a: &Authorization) -> J {
    json!({
        "id": a.id,
        "type": a.auth_type,
        "permissions": Permission::names(a.permissions),
        "userId": a.user_id,
        "groupId": a.group_id,
        "resourceType": a.resource_type,
        "resourceId": a.resource_id,
        "removalTime": null,
        "rootProcessInstanceId": null,
    })
}

fn links(base: &BaseUrl, id: &str) -> J {
    let href = format!("{}/authorization/{id}", base.0);
    let mut out = Vec::new();
    for (method, rel, perm) in [
        ("GET", "self", Permission::READ),
        ("PUT", "update", Permission::UPDATE),
        ("DELETE", "delete", Permission::DELETE),
    ] {
        if authz::visible(|| vec![Needed::on(perm, Resource::AUTHORIZATION, id)]) {
            out.push(json!({"method": method, "href": href, "rel": rel}));
        }
    }
    J::Array(out)
}

const SORT: &[&str] = &["resourceType", "resourceId"];

fn filtered(all: &[Authorization], q: &QueryInput) -> ApiResult<Vec<Authorization>> {
    let id = q.str("id");
    let kind = q.int("type")?;
    let users = q.list("userIdIn");
    let groups = q.list("groupIdIn");
    let resource_type = q.int("resourceType")?;
    let resource_id = q.str("resourceId");
    let rows: Vec<Authorization> = super::query::live(all.to_vec())
        .filter(|a| {
            id.as_ref().is_none_or(|i| i == &a.id)
                && kind.is_none_or(|k| k == i64::from(a.auth_type))
                && users
                    .as_ref()
                    .is_none_or(|l| a.user_id.as_ref().is_some_and(|u| l.contains(u)))
                && groups
                    .as_ref()
                    .is_none_or(|l| a.group_id.as_ref().is_some_and(|g| l.contains(g)))
                && resource_type.is_none_or(|t| t == i64::from(a.resource_type))
                && resource_id.as_ref().is_none_or(|r| r == &a.resource_id)
                && authz::visible(|| {
                    vec![Needed::on(Permission::READ, Resource::AUTHORIZATION, &a.id)]
                })
        })
        .collect();
    super::guard::check()?;
    Ok(rows)
}

fn query(all: &[Authorization], q: &QueryInput) -> ApiResult<Vec<Authorization>> {
    let sorts = q.sorting(SORT)?;
    let rows = filtered(all, q)?;
    sort_and_page(rows, &sorts, q.pagination()?, |a, b, by| match by {
        "resourceType" => a.resource_type.cmp(&b.resource_type),
        "resourceId" => a.resource_id.cmp(&b.resource_id),
        _ => Ordering::Equal,
    })
}

async fn list(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let all = state.engine.authorizations().await?;
    let rows = query(&all, &q)?;
    Ok(Json(J::Array(rows.iter().map(authorization_dto).collect())))
}

async fn count(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let all = state.engine.authorizations().await?;
    Ok(Json(dto::count(filtered(&all, &q)?.len())))
}

async fn get_one(
    State(state): State<ApiState>,
    base: BaseUrl,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    let a = state.engine.authorization(&id).await?;
    let mut dto = authorization_dto(&a);
    dto["links"] = links(&base, &a.id);
    Ok(Json(dto))
}

/// Camunda's `AuthorizationCreateDto` (also the body of `PUT /{id}`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct AuthorizationBody {
    #[serde(rename = "type")]
    auth_type: Option<i32>,
    permissions: Option<Vec<String>>,
    user_id: Option<String>,
    group_id: Option<String>,
    resource_type: Option<i32>,
    resource_id: Option<String>,
}

impl AuthorizationBody {
    fn input(self) -> ApiResult<AuthorizationInput> {
        Ok(AuthorizationInput {
            auth_type: self.auth_type.unwrap_or(1),
            permissions: self.permissions.unwrap_or_default(),
            user_id: self.user_id,
            group_id: self.group_id,
            resource_type: self
                .resource_type
                .ok_or_else(|| ApiError::invalid("resourceType is null"))?,
            resource_id: self.resource_id,
        })
    }
}

async fn create(
    State(state): State<ApiState>,
    base: BaseUrl,
    Json(b): Json<AuthorizationBody>,
) -> ApiResult<Json<J>> {
    let a = state.engine.create_authorization(b.input()?).await?;
    let mut dto = authorization_dto(&a);
    dto["links"] = links(&base, &a.id);
    Ok(Json(dto))
}

async fn update(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<AuthorizationBody>,
) -> ApiResult<Response> {
    state.engine.update_authorization(&id, b.input()?).await?;
    Ok(no_content())
}

async fn delete(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    state.engine.delete_authorization(&id).await?;
    Ok(no_content())
}

/// `GET /authorization/check`: whether the authenticated user (or, for those who may read
/// authorizations, `userId`) has `permissionName` on `resourceId` of `resourceType`. Without
/// auth every check is `authorized: true` (nothing is enforced).
async fn check(
    State(state): State<ApiState>,
    AuthUser(current): AuthUser,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let permission_name = q
        .str("permissionName")
        .ok_or_else(|| ApiError::invalid("Query parameter 'permissionName' cannot be null"))?;
    let resource_name = q
        .str("resourceName")
        .ok_or_else(|| ApiError::invalid("Query parameter 'resourceName' cannot be null"))?;
    let code = q
        .int("resourceType")?
        .ok_or_else(|| ApiError::invalid("Query parameter 'resourceType' cannot be null"))?;
    let resource = i32::try_from(code)
        .ok()
        .and_then(Resource::from_code)
        .ok_or_else(|| ApiError::invalid(format!("Unknown resource type {code}")))?;
    let permission = Permission::named(&permission_name).ok_or_else(|| {
        ApiError::invalid(format!(
            "The permission '{permission_name}' is not valid for '{}' resource type.",
            resource.name
        ))
    })?;
    let resource_id = q.str("resourceId");
    let needed = Needed {
        permission,
        resource,
        resource_id: resource_id.clone(),
    };
    let authorized = match (current, q.str("userId")) {
        (None, _) => true,
        (Some(me), other) => {
            let user = match other.filter(|u| u != &me) {
                Some(other) => {
                    authz::require(&[Needed::any(Permission::READ, Resource::AUTHORIZATION)])?;
                    other
                }
                None => me,
            };
            state.engine.principal_of(&user).await?.has(&needed)
        }
    };
    Ok(Json(json!({
        "permissionName": permission_name,
        "resourceName": resource_name,
        "resourceId": resource_id,
        "authorized": authorized,
    })))
}
