//! Tenants through the real HTTP server: create, list and count with Camunda's filters
//! (`name`, `nameLike`, `userMember` with `includingGroupsOfUser`, `groupMember`, sorting),
//! get, update, user and group memberships, delete, Camunda's error answers, and a restart
//! that keeps them.

use reqwest::{Method, StatusCode};
use serde_json::{Value as J, json};

use crate::api_ops::OpsApi;

async fn ids(api: &OpsApi, path: &str) -> Vec<String> {
    api.get(path)
        .await
        .as_array()
        .expect("list")
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn ok(api: &OpsApi, method: Method, path: &str, body: Option<J>) {
    let (s, b) = api.send(method.clone(), path, body).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{method} {path}: {b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_with_members_are_queried_updated_and_survive_a_restart() {
    let api = OpsApi::start().await;
    for (id, name) in [("t-b", "Bravo"), ("t-a", "Alpha"), ("t-c", "Charlie")] {
        ok(
            &api,
            Method::POST,
            "/tenant/create",
            Some(json!({"id": id, "name": name})),
        )
        .await;
    }
    ok(
        &api,
        Method::POST,
        "/user/create",
        Some(json!({"profile": {"id": "ann"}})),
    )
    .await;
    ok(
        &api,
        Method::POST,
        "/group/create",
        Some(json!({"id": "sales", "name": "Sales"})),
    )
    .await;
    ok(&api, Method::PUT, "/group/sales/members/ann", None).await;
    ok(&api, Method::PUT, "/tenant/t-a/user-members/ann", None).await;
    ok(&api, Method::PUT, "/tenant/t-c/group-members/sales", None).await;

    assert_eq!(
        ids(&api, "/tenant?sortBy=name&sortOrder=desc").await,
        ["t-c", "t-b", "t-a"]
    );
    assert_eq!(
        ids(&api, "/tenant?nameLike=%25a%25&sortBy=id&sortOrder=asc").await,
        ["t-a", "t-b", "t-c"]
    );
    assert_eq!(ids(&api, "/tenant?userMember=ann").await, ["t-a"]);
    assert_eq!(
        ids(
            &api,
            "/tenant?userMember=ann&includingGroupsOfUser=true&sortBy=id&sortOrder=asc"
        )
        .await,
        ["t-a", "t-c"]
    );
    assert_eq!(ids(&api, "/tenant?groupMember=sales").await, ["t-c"]);
    assert_eq!(
        api.get("/tenant/count?name=Bravo").await,
        json!({"count": 1})
    );

    ok(
        &api,
        Method::PUT,
        "/tenant/t-b",
        Some(json!({"id": "t-b", "name": "Beta"})),
    )
    .await;
    ok(&api, Method::DELETE, "/tenant/t-a/user-members/ann", None).await;
    ok(&api, Method::DELETE, "/tenant/t-c", None).await;

    let api = api.restart().await;
    assert_eq!(
        api.get("/tenant/t-b").await,
        json!({"id": "t-b", "name": "Beta"})
    );
    assert_eq!(
        ids(&api, "/tenant?userMember=ann").await,
        Vec::<String>::new()
    );
    assert_eq!(api.get("/tenant/count").await, json!({"count": 2}));
    let (s, e) = api.send(Method::GET, "/tenant/t-c", None).await;
    assert_eq!(
        (s, &e["type"], &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!("InvalidRequestException"),
            &json!("Tenant with id t-c does not exist")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tenant_requests_get_camundas_answers() {
    let api = OpsApi::start().await;
    let (s, e) = api.post("/tenant/create", json!({"name": "no id"})).await;
    assert_eq!(
        (s, &e["type"]),
        (StatusCode::BAD_REQUEST, &json!("InvalidRequestException")),
        "{e}"
    );
    ok(
        &api,
        Method::POST,
        "/tenant/create",
        Some(json!({"id": "t1"})),
    )
    .await;
    // Camunda's insert fails on the duplicate key.
    let (s, e) = api.post("/tenant/create", json!({"id": "t1"})).await;
    assert_eq!(
        (s, &e["type"]),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!("ProcessEngineException")
        ),
        "{e}"
    );
    let (s, e) = api
        .send(Method::PUT, "/tenant/nope", Some(json!({"name": "x"})))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    assert_eq!(e["message"], json!("Tenant with id nope does not exist"));
    let (s, e) = api
        .send(Method::PUT, "/tenant/t1/user-members/ghost", None)
        .await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!("User with id ghost does not exist")
        )
    );
    let (s, e) = api
        .send(Method::GET, "/tenant?sortBy=color&sortOrder=asc", None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    // Deleting an unknown tenant or membership changes nothing (Camunda: 204).
    ok(&api, Method::DELETE, "/tenant/nope", None).await;
    ok(
        &api,
        Method::DELETE,
        "/tenant/t1/group-members/nobody",
        None,
    )
    .await;
}
