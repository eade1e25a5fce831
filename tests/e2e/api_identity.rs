//! Identity changes through the real HTTP server: one group (get, update, delete with its
//! memberships, remove a member), POST group queries, a user's profile and password
//! (`/identity/verify` shows which password holds; under auth the caller's own password is
//! checked first), unlock, `/identity/groups`, the absent password policy (404 as Camunda
//! answers when it is disabled), and a restart that keeps the changes.

use baton::api::ApiConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value as J, json};

use crate::api_ops::OpsApi;
use crate::api_rest::Api;

async fn ok(api: &OpsApi, method: Method, path: &str, body: Option<J>) {
    let (s, b) = api.send(method.clone(), path, body).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{method} {path}: {b}");
}

async fn verify(api: &OpsApi, user: &str, password: &str) -> J {
    let (s, b) = api
        .post(
            "/identity/verify",
            json!({"username": user, "password": password}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["isAuthenticated"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_profiles_and_passwords_change_and_survive_a_restart() {
    let api = OpsApi::start().await;
    for (id, first) in [("ann", "Ann"), ("bob", "Bob"), ("cy", "Cy")] {
        let body = json!({"profile": {"id": id, "firstName": first, "lastName": "Doe"},
                          "credentials": {"password": "old-pw"}});
        ok(&api, Method::POST, "/user/create", Some(body)).await;
    }
    for (id, name) in [("sales", "Sales"), ("audit", "Audit")] {
        let body = json!({"id": id, "name": name, "type": "WORKFLOW"});
        ok(&api, Method::POST, "/group/create", Some(body)).await;
    }
    for (g, u) in [
        ("sales", "ann"),
        ("sales", "bob"),
        ("audit", "ann"),
        ("audit", "cy"),
    ] {
        ok(&api, Method::PUT, &format!("/group/{g}/members/{u}"), None).await;
    }
    assert_eq!(
        api.get("/group/sales").await,
        json!({"id": "sales", "name": "Sales", "type": "WORKFLOW"})
    );
    let (s, listed) = api.post("/group", json!({"member": "bob"})).await;
    assert_eq!(
        (s, listed[0]["id"].clone()),
        (StatusCode::OK, json!("sales"))
    );
    let (_, n) = api.post("/group/count", json!({"member": "ann"})).await;
    assert_eq!(n, json!({"count": 2}));

    let info = api.get("/identity/groups?userId=ann").await;
    assert_eq!(
        info["groups"],
        json!([{"id": "audit", "name": "Audit"}, {"id": "sales", "name": "Sales"}])
    );
    let mut others: Vec<&str> = info["groupUsers"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["id"].as_str().expect("id"))
        .collect();
    others.sort();
    assert_eq!(others, ["bob", "cy"]);
    assert_eq!(
        info["groupUsers"][0]["displayName"]
            .as_str()
            .map(|d| d.ends_with("Doe")),
        Some(true)
    );

    ok(
        &api,
        Method::PUT,
        "/group/sales",
        Some(json!({"id": "sales", "name": "Sales EU", "type": "WORKFLOW"})),
    )
    .await;
    ok(&api, Method::DELETE, "/group/sales/members/bob", None).await;
    ok(&api, Method::DELETE, "/group/audit", None).await;
    ok(
        &api,
        Method::PUT,
        "/user/bob/profile",
        Some(json!({"id": "bob", "firstName": "Robert", "lastName": "Roe", "email": "r@x.org"})),
    )
    .await;
    ok(
        &api,
        Method::PUT,
        "/user/bob/credentials",
        Some(json!({"password": "new-pw"})),
    )
    .await;
    ok(&api, Method::POST, "/user/bob/unlock", None).await;

    let api = api.restart().await;
    assert_eq!(verify(&api, "bob", "new-pw").await, json!(true));
    assert_eq!(verify(&api, "bob", "old-pw").await, json!(false));
    assert_eq!(
        api.get("/user/bob/profile").await,
        json!({"id": "bob", "firstName": "Robert", "lastName": "Roe", "email": "r@x.org"})
    );
    assert_eq!(api.get("/group/sales").await["name"], json!("Sales EU"));
    assert_eq!(api.get("/group?member=bob").await, json!([]));
    assert_eq!(
        api.get("/group?member=ann").await.as_array().map(Vec::len),
        Some(1)
    );
    let (s, e) = api.send(Method::GET, "/group/audit", None).await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!("Group with id audit does not exist")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_identity_requests_get_camundas_answers() {
    let api = OpsApi::start().await;
    let (s, e) = api
        .send(Method::PUT, "/group/nope", Some(json!({"name": "x"})))
        .await;
    assert_eq!(
        (s, &e["type"], &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!("InvalidRequestException"),
            &json!("Group with id nope does not exist")
        )
    );
    let (s, e) = api
        .send(
            Method::PUT,
            "/user/nope/profile",
            Some(json!({"firstName": "x"})),
        )
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!("User with id nope does not exist")
        )
    );
    let (s, e) = api.send(Method::GET, "/identity/groups", None).await;
    assert_eq!(
        (s, &e["message"]),
        (StatusCode::BAD_REQUEST, &json!("No user id was supplied"))
    );
    let (s, e) = api.post("/identity/verify", json!({"username": "x"})).await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("Username and password are required")
        )
    );
    // baton has no password policy: Camunda answers 404 when it is disabled.
    let (s, e) = api
        .send(Method::GET, "/identity/password-policy", None)
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!("No password policy is configured")
        )
    );
    let (s, _) = api
        .post("/identity/password-policy", json!({"password": "x"}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// Under auth, changing a password needs the caller's own password (Camunda's
/// `authenticatedUserPassword`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_under_auth_checks_the_callers_password() {
    let api = Api::start(ApiConfig {
        auth: true,
        ..ApiConfig::default()
    })
    .await;
    let create =
        |id: &str| json!({"profile": {"id": id}, "credentials": {"password": format!("{id}-pw")}});
    // The first user on a server with auth becomes the administrator.
    let (s, _, b) = api
        .send(
            api.client
                .post(api.url("/user/create"))
                .json(&create("admin")),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let as_admin = |rb: reqwest::RequestBuilder| rb.basic_auth("admin", Some("admin-pw"));
    let (s, _, b) = api
        .send(as_admin(api.client.post(api.url("/user/create"))).json(&create("bob")))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let change =
        |caller_pw: &str| json!({"password": "fresh", "authenticatedUserPassword": caller_pw});
    let (s, _, e) = api
        .send(as_admin(api.client.put(api.url("/user/bob/credentials"))).json(&change("wrong")))
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("The given authenticated user password is not valid.")
        )
    );
    let (s, _, e) = api
        .send(as_admin(api.client.put(api.url("/user/bob/credentials"))).json(&change("admin-pw")))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (s, _, b) = api
        .send(
            api.client
                .get(api.url("/user/bob/profile"))
                .basic_auth("bob", Some("fresh")),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}
