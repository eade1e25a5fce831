//! `/tenant`: Camunda's tenants: list and count (GET, with `id`, `name`, `nameLike`,
//! `userMember`, `groupMember`, `includingGroupsOfUser`, sorting by `id` or `name`), get,
//! create, update, delete, and user and group memberships.

use std::cmp::Ordering;

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::query::{Params, QueryInput, eq_opt, like_opt, sort_and_page};
use super::{ApiState, Route, dto};
use crate::engine::TenantMember;
use crate::engine::authorizations::Resource;
use crate::store::tenants::Tenant;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get("/tenant", "List tenants", list),
        Route::get("/tenant/count", "Count tenants", count),
        Route::post("/tenant/create", "Create a tenant", create),
        Route::get("/tenant/{id}", "Get a tenant", get_one),
        Route::put("/tenant/{id}", "Update a tenant", update),
        Route::delete("/tenant/{id}", "Delete a tenant", delete),
        Route::put(
            "/tenant/{id}/user-members/{member_id}",
            "Add a user to a tenant",
            member::<true, false>,
        ),
        Route::delete(
            "/tenant/{id}/user-members/{member_id}",
            "Remove a user from a tenant",
            member::<false, false>,
        ),
        Route::put(
            "/tenant/{id}/group-members/{member_id}",
            "Add a group to a tenant",
            member::<true, true>,
        ),
        Route::delete(
            "/tenant/{id}/group-members/{member_id}",
            "Remove a group from a tenant",
            member::<false, true>,
        ),
    ]
}

fn tenant_dto(t: &Tenant) -> J {
    json!({"id": t.id, "name": t.name})
}

async fn filtered(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<Tenant>> {
    let id = q.str("id");
    let name = q.str("name");
    let name_like = q.like("nameLike");
    let user = q.str("userMember");
    let group = q.str("groupMember");
    // `includingGroupsOfUser`: a user also belongs to the tenants of their groups.
    let user_groups: Vec<String> = match (&user, q.flag("includingGroupsOfUser")?) {
        (Some(u), true) => state
            .engine
            .users()
            .await?
            .into_iter()
            .find(|x| &x.id == u)
            .map(|x| x.groups)
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    Ok(state
        .engine
        .tenants()
        .await?
        .into_iter()
        .take_while(super::query::not_cancelled)
        .filter(|t| {
            eq_opt(&id, Some(&t.id))
                && eq_opt(&name, t.name.as_deref())
                && like_opt(&name_like, t.name.as_deref())
                && user.as_ref().is_none_or(|u| {
                    t.user_ids.contains(u) || user_groups.iter().any(|g| t.group_ids.contains(g))
                })
                && group.as_ref().is_none_or(|g| t.group_ids.contains(g))
                && super::authz::sees::identity(Resource::TENANT, &t.id)
        })
        .collect())
}

async fn list(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let sorts = q.sorting(&["id", "name"])?;
    let page = q.pagination()?;
    let items = filtered(&state, &q).await?;
    let page = sort_and_page(items, &sorts, page, |a, b, by| match by {
        "id" => a.id.cmp(&b.id),
        "name" => a.name.cmp(&b.name),
        _ => Ordering::Equal,
    })?;
    Ok(Json(J::Array(page.iter().map(tenant_dto).collect())))
}

async fn count(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    Ok(Json(dto::count(filtered(&state, &q).await?.len())))
}

async fn get_one(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    Ok(Json(tenant_dto(&state.engine.tenant(&id).await?)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TenantBody {
    id: Option<String>,
    name: Option<String>,
}

async fn create(State(state): State<ApiState>, Json(b): Json<TenantBody>) -> ApiResult<Response> {
    let id =
        b.id.filter(|i| !i.is_empty())
            .ok_or_else(|| ApiError::invalid("Cannot create tenant: id is null"))?;
    state.engine.create_tenant(&id, b.name).await?;
    Ok(no_content())
}

async fn update(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<TenantBody>,
) -> ApiResult<Response> {
    state.engine.update_tenant(&id, b.name).await?;
    Ok(no_content())
}

async fn delete(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    state.engine.delete_tenant(&id).await?;
    Ok(no_content())
}

async fn member<const ADD: bool, const GROUP: bool>(
    State(state): State<ApiState>,
    Path((id, member_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let member = if GROUP {
        TenantMember::Group(&member_id)
    } else {
        TenantMember::User(&member_id)
    };
    state.engine.tenant_membership(&id, member, ADD).await?;
    Ok(no_content())
}
