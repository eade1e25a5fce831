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

/// Under auth, `/tenant` lists only the tenants a user may READ (Camunda's resource type 11),
/// and creating one needs CREATE on Tenant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_under_auth_are_filtered_by_read() {
    use baton::api::ApiConfig;

    use crate::api_rest::Api;

    let api = Api::start(ApiConfig {
        auth: true,
        ..ApiConfig::default()
    })
    .await;
    let as_ =
        |rb: reqwest::RequestBuilder, user: &str| rb.basic_auth(user, Some(format!("{user}-pw")));
    let user =
        |id: &str| json!({"profile": {"id": id}, "credentials": {"password": format!("{id}-pw")}});
    // The first user becomes the administrator.
    let (s, _, b) = api
        .send(
            api.client
                .post(api.url("/user/create"))
                .json(&user("admin")),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, _, b) = api
        .send(as_(api.client.post(api.url("/user/create")), "admin").json(&user("ann")))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    for id in ["t1", "t2"] {
        let (s, _, b) = api
            .send(as_(api.client.post(api.url("/tenant/create")), "admin").json(&json!({"id": id})))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    }
    let (s, _, listed) = api
        .send(as_(api.client.get(api.url("/tenant")), "ann"))
        .await;
    assert_eq!((s, listed), (StatusCode::OK, json!([])));
    let (s, _, b) = api
        .send(
            as_(api.client.post(api.url("/authorization/create")), "admin").json(&json!({
                "type": 1, "userId": "ann", "permissions": ["READ"],
                "resourceType": 11, "resourceId": "t1"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, _, listed) = api
        .send(as_(api.client.get(api.url("/tenant")), "ann"))
        .await;
    assert_eq!(listed, json!([{"id": "t1", "name": null}]));
    let (_, _, n) = api
        .send(as_(api.client.get(api.url("/tenant/count")), "ann"))
        .await;
    assert_eq!(n, json!({"count": 1}));
    let (s, _, _) = api
        .send(as_(api.client.get(api.url("/tenant/t2")), "ann"))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = api
        .send(as_(api.client.post(api.url("/tenant/create")), "ann").json(&json!({"id": "t3"})))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// A definition deployed for a tenant is deleted by key and tenant, and only that one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_definitions_are_deleted_by_key_and_tenant() {
    let api = OpsApi::start().await;
    let xml = baton_tests::bpmn::definitions(
        "review",
        r#"<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/>
           <bpmn:endEvent id="e"/>"#,
    );
    for tenant in ["t1", "t2"] {
        let form = reqwest::multipart::Form::new()
            .text("tenant-id", tenant)
            .part(
                "review.bpmn",
                reqwest::multipart::Part::bytes(xml.clone().into_bytes()).file_name("review.bpmn"),
            );
        let r = reqwest::Client::new()
            .post(format!("{}/deployment/create", api.base_url()))
            .multipart(form)
            .send()
            .await
            .expect("deploy");
        assert_eq!(r.status(), StatusCode::OK);
    }
    let path = "/process-definition/key/review/tenant-id/t1";
    assert_eq!(api.get(path).await["tenantId"], json!("t1"));
    let (s, b) = api.send(Method::DELETE, path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, _) = api.send(Method::GET, path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        api.get("/process-definition/key/review/tenant-id/t2").await["tenantId"],
        json!("t2")
    );
    let (s, e) = api.send(Method::DELETE, path, None).await;
    assert_eq!(
        (s, &e["message"]),
        (
            StatusCode::NOT_FOUND,
            &json!("No process definition found with key 'review' and tenant-id 't1'")
        )
    );
}
