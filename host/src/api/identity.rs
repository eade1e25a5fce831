//! `/user` and `/group`: the minimum of Camunda's identity API for basic auth and candidate
//! groups: create, list, count, delete users; create, list, count groups; add members.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::error::{ApiError, ApiResult, not_found_as};
use super::json::{Json, no_content};
use super::query::{Params, QueryInput, Search, eq_opt, in_opt, like_opt};
use super::{ApiState, Route, dto};
use crate::engine::authorizations::Resource;
use crate::records::{Group, User};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::post("/user/create", "Create a user", create_user),
        Route::get("/user", "List users", list_users),
        Route::get("/user/count", "Count users", count_users),
        Route::get("/user/{id}/profile", "A user's profile", user_profile),
        Route::delete("/user/{id}", "Delete a user", delete_user),
        Route::post("/group/create", "Create a group", create_group),
        Route::get("/group", "List groups", list_groups),
        Route::get("/group/count", "Count groups", count_groups),
        Route::post("/group", "List groups (query body)", list_groups),
        Route::post("/group/count", "Count groups (query body)", count_groups),
        Route::put(
            "/group/{id}/members/{user_id}",
            "Add a user to a group",
            add_member,
        ),
    ]
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Profile {
    id: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Credentials {
    password: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CreateUser {
    profile: Option<Profile>,
    credentials: Option<Credentials>,
}

fn user_dto(u: &User) -> J {
    json!({"id": u.id, "firstName": u.first_name, "lastName": u.last_name, "email": u.email})
}

async fn create_user(
    State(state): State<ApiState>,
    bootstrap: Option<axum::Extension<super::auth::BootstrapAdmin>>,
    Json(b): Json<CreateUser>,
) -> ApiResult<Response> {
    let profile = b.profile.unwrap_or_default();
    let id = profile
        .id
        .filter(|i| !i.is_empty())
        .ok_or_else(|| ApiError::invalid("Cannot create user: id is null"))?;
    let user = User {
        id: id.clone(),
        first_name: profile.first_name,
        last_name: profile.last_name,
        email: profile.email,
        password_hash: None,
        groups: Vec::new(),
    };
    let password = b.credentials.and_then(|c| c.password);
    if bootstrap.is_some() {
        // Another first user won the race: this request is unauthenticated after all.
        if !state.engine.create_first_admin(user, password).await? {
            return Err(ApiError::unauthorized(
                "Authentication required: send HTTP basic credentials",
            ));
        }
        return Ok(no_content());
    }
    state.engine.create_user(user, password).await?;
    Ok(no_content())
}

fn user_filter(q: &QueryInput, all: Vec<User>) -> Vec<User> {
    let id = q.str("id");
    let id_in = q.list("idIn");
    let first = q.str("firstName");
    let first_like = q.like("firstNameLike");
    let last = q.str("lastName");
    let last_like = q.like("lastNameLike");
    let email = q.str("email");
    let group = q.str("memberOfGroup");
    super::query::live(all)
        .filter(|u| {
            eq_opt(&id, Some(&u.id))
                && in_opt(&id_in, Some(&u.id))
                && eq_opt(&first, u.first_name.as_deref())
                && like_opt(&first_like, u.first_name.as_deref())
                && eq_opt(&last, u.last_name.as_deref())
                && like_opt(&last_like, u.last_name.as_deref())
                && eq_opt(&email, u.email.as_deref())
                && group.as_ref().is_none_or(|g| u.groups.contains(g))
                && super::authz::sees::identity(Resource::USER, &u.id)
        })
        .collect()
}

async fn list_users(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let (first, max) = q.pagination()?;
    let items = user_filter(&q, state.engine.users().await?);
    // The paging helper also refuses an unbounded list over `query_max_results`.
    let page = super::query::sort_and_page(items, &[], (first, max), |_, _, _| {
        std::cmp::Ordering::Equal
    })?;
    Ok(Json(J::Array(page.iter().map(user_dto).collect())))
}

async fn count_users(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    Ok(Json(dto::count(
        user_filter(&q, state.engine.users().await?).len(),
    )))
}

async fn user_profile(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let u = state
        .engine
        .users()
        .await?
        .into_iter()
        .find(|u| u.id == id)
        .ok_or_else(|| ApiError::not_found(format!("User with id {id} does not exist")))?;
    Ok(Json(user_dto(&u)))
}

async fn delete_user(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    state.engine.delete_user(&id).await.map_err(|e| {
        not_found_as(e, || {
            ApiError::not_found(format!("User with id {id} does not exist"))
        })
    })?;
    Ok(no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CreateGroup {
    id: Option<String>,
    name: Option<String>,
    #[serde(rename = "type")]
    group_type: Option<String>,
}

fn group_dto(g: &Group) -> J {
    json!({"id": g.id, "name": g.name, "type": g.group_type})
}

async fn create_group(
    State(state): State<ApiState>,
    Json(b): Json<CreateGroup>,
) -> ApiResult<Response> {
    let id =
        b.id.filter(|i| !i.is_empty())
            .ok_or_else(|| ApiError::invalid("Cannot create group: id is null"))?;
    state
        .engine
        .create_group(Group {
            id,
            name: b.name,
            group_type: b.group_type,
        })
        .await?;
    Ok(no_content())
}

async fn groups_filtered(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<Group>> {
    let id = q.str("id");
    let id_in = q.list("idIn");
    let name = q.str("name");
    let name_like = q.like("nameLike");
    let kind = q.str("type");
    let member = q.str("member");
    let member_groups: Option<Vec<String>> = match &member {
        Some(m) => Some(
            state
                .engine
                .users()
                .await?
                .into_iter()
                .find(|u| &u.id == m)
                .map(|u| u.groups)
                .unwrap_or_default(),
        ),
        None => None,
    };
    Ok(state
        .engine
        .groups()
        .await?
        .into_iter()
        .take_while(super::query::not_cancelled)
        .filter(|g| {
            eq_opt(&id, Some(&g.id))
                && in_opt(&id_in, Some(&g.id))
                && eq_opt(&name, g.name.as_deref())
                && like_opt(&name_like, g.name.as_deref())
                && eq_opt(&kind, g.group_type.as_deref())
                && member_groups.as_ref().is_none_or(|l| l.contains(&g.id))
                && super::authz::sees::identity(Resource::GROUP, &g.id)
        })
        .collect())
}

async fn list_groups(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let (first, max) = q.pagination()?;
    let items = groups_filtered(&state, &q).await?;
    // The paging helper also refuses an unbounded list over `query_max_results`.
    let page = super::query::sort_and_page(items, &[], (first, max), |_, _, _| {
        std::cmp::Ordering::Equal
    })?;
    Ok(Json(J::Array(page.iter().map(group_dto).collect())))
}

async fn count_groups(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    Ok(Json(dto::count(groups_filtered(&state, &q).await?.len())))
}

async fn add_member(
    State(state): State<ApiState>,
    Path((group, user)): Path<(String, String)>,
) -> ApiResult<Response> {
    state.engine.add_group_member(&group, &user).await?;
    Ok(no_content())
}
