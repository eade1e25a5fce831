//! Identity beyond creation: one group (get, update, delete, remove a member), a user's
//! profile and password, unlock, and Camunda's `/identity` service (a user's groups and
//! their members, password verification, the password policy, which baton does not have).

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::query::Params;
use super::{ApiState, AuthUser, Route};
use crate::records::User;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get("/group/{id}", "Get a group", get_group),
        Route::put("/group/{id}", "Update a group", update_group),
        Route::delete("/group/{id}", "Delete a group", delete_group),
        Route::delete(
            "/group/{id}/members/{user_id}",
            "Remove a user from a group",
            remove_member,
        ),
        Route::put(
            "/user/{id}/profile",
            "Update a user's profile",
            update_profile,
        ),
        Route::put(
            "/user/{id}/credentials",
            "Change a user's password",
            update_credentials,
        ),
        Route::post("/user/{id}/unlock", "Unlock a user", unlock),
        Route::get(
            "/identity/groups",
            "A user's groups and their members",
            groups_of_user,
        ),
        Route::post("/identity/verify", "Verify a user's password", verify),
        Route::get(
            "/identity/password-policy",
            "The password policy (baton has none: 404)",
            no_policy,
        ),
        Route::post(
            "/identity/password-policy",
            "Check a password against the policy (baton has none: 404)",
            no_policy,
        ),
    ]
}

fn no_group(id: &str) -> ApiError {
    ApiError::not_found(format!("Group with id {id} does not exist"))
}

async fn get_group(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let g = state
        .engine
        .groups()
        .await?
        .into_iter()
        .find(|g| g.id == id)
        .ok_or_else(|| no_group(&id))?;
    Ok(Json(
        json!({"id": g.id, "name": g.name, "type": g.group_type}),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct GroupBody {
    name: Option<String>,
    #[serde(rename = "type")]
    group_type: Option<String>,
}

async fn update_group(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<GroupBody>,
) -> ApiResult<Response> {
    state.engine.update_group(&id, b.name, b.group_type).await?;
    Ok(no_content())
}

async fn delete_group(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    state.engine.delete_group(&id).await?;
    Ok(no_content())
}

async fn remove_member(
    State(state): State<ApiState>,
    Path((group, user)): Path<(String, String)>,
) -> ApiResult<Response> {
    state.engine.remove_group_member(&group, &user).await?;
    Ok(no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ProfileBody {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
}

async fn update_profile(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<ProfileBody>,
) -> ApiResult<Response> {
    let profile = User {
        id: id.clone(),
        first_name: b.first_name,
        last_name: b.last_name,
        email: b.email,
        password_hash: None,
        groups: Vec::new(),
    };
    state.engine.update_user_profile(&id, profile).await?;
    Ok(no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct CredentialsBody {
    password: Option<String>,
    authenticated_user_password: Option<String>,
}

/// Camunda checks the *caller's* password first when someone is logged in.
async fn update_credentials(
    State(state): State<ApiState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    Json(b): Json<CredentialsBody>,
) -> ApiResult<Response> {
    if let Some(caller) = caller {
        let given = b.authenticated_user_password.unwrap_or_default();
        if state.engine.authenticate(&caller, &given).await?.is_none() {
            return Err(ApiError::invalid(
                "The given authenticated user password is not valid.",
            ));
        }
    }
    let password = b
        .password
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::invalid("Cannot set the password: password is null"))?;
    state.engine.update_user_password(&id, password).await?;
    Ok(no_content())
}

/// baton does not lock users out after failed logins, so there is nothing to unlock.
async fn unlock(Path(_id): Path<String>) -> Response {
    no_content()
}

fn display_name(u: &User) -> String {
    match (&u.first_name, &u.last_name) {
        (None, None) => u.id.clone(),
        (f, l) => format!(
            "{} {}",
            f.as_deref().unwrap_or(""),
            l.as_deref().unwrap_or("")
        )
        .trim()
        .to_owned(),
    }
}

/// `GET /identity/groups?userId=`: the user's groups (by name) and the other members of
/// them. One pass over the users: the identity store holds few.
async fn groups_of_user(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let user_id = q
        .str("userId")
        .ok_or_else(|| ApiError::invalid("No user id was supplied"))?;
    let users = state.engine.users().await?;
    let mine: Vec<String> = users
        .iter()
        .find(|u| u.id == user_id)
        .map(|u| u.groups.clone())
        .unwrap_or_default();
    let mut groups: Vec<_> = state
        .engine
        .groups()
        .await?
        .into_iter()
        .filter(|g| mine.contains(&g.id))
        .collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    let members: Vec<J> = users
        .iter()
        .filter(|u| u.id != user_id && u.groups.iter().any(|g| mine.contains(g)))
        .map(|u| {
            json!({"id": u.id, "firstName": u.first_name, "lastName": u.last_name,
                   "displayName": display_name(u)})
        })
        .collect();
    let groups: Vec<J> = groups
        .iter()
        .map(|g| json!({"id": g.id, "name": g.name}))
        .collect();
    Ok(Json(json!({"groups": groups, "groupUsers": members})))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct VerifyBody {
    username: Option<String>,
    password: Option<String>,
}

async fn verify(State(state): State<ApiState>, Json(b): Json<VerifyBody>) -> ApiResult<Json<J>> {
    let (Some(user), Some(password)) = (b.username, b.password) else {
        return Err(ApiError::invalid("Username and password are required"));
    };
    let ok = state.engine.authenticate(&user, &password).await?.is_some();
    Ok(Json(json!({
        "authenticatedUser": user,
        "isAuthenticated": ok,
        "tenants": null,
        "groups": null,
    })))
}

/// Camunda answers 404 when its password policy is disabled; baton has none. Camunda sends
/// no body; baton sends its usual error shape (every error of the API is one).
async fn no_policy() -> ApiError {
    ApiError::not_found("No password policy is configured")
}
