//! Camunda authorizations through the real HTTP server with `--auth` on: the `/authorization`
//! resource, the first user as administrator, a worker limited to its topic, instance lists
//! filtered by definition, revoke over grant, and authorizations surviving a restart.

use std::path::Path;
use std::time::Duration;

use baton::engine::{EngineConfig, ProcessEngine};
use reqwest::StatusCode;
use serde_json::{Value as J, json};

use crate::api_rest::serve_on_loopback;

/// A server with auth on over a data directory the test owns (so it can be restarted).
struct Server {
    base: String,
    client: reqwest::Client,
    engine: ProcessEngine,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn open(dir: &Path) -> Server {
        let mut ec = EngineConfig::new(dir);
        ec.durability = baton::store::Durability::Relaxed;
        ec.wasm = None;
        // A restarted server waits for the previous engine to release the store's lock.
        let engine = baton_tests::open_retrying(ec).await;
        // The whole application (REST API and cockpit), as `baton serve --auth` serves it.
        let config = baton::config::ServerConfig {
            auth: true,
            ..baton::config::ServerConfig::default()
        };
        let app = baton::server::app(engine.clone(), &config);
        let (addr, task) = serve_on_loopback(app).await;
        Server {
            base: format!("http://{addr}/engine-rest"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
            engine,
            task,
        }
    }

    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
        self.engine.shutdown().await.expect("shutdown");
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A URL outside the REST root (cockpit, metrics).
    fn site(&self, path: &str) -> String {
        format!("{}{path}", self.base.trim_end_matches("/engine-rest"))
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> (StatusCode, J) {
        let r = rb.send().await.expect("request");
        let status = r.status();
        let text = r.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(J::String(text)),
        )
    }

    fn user<'a>(&'a self, id: &'a str) -> As<'a> {
        As { server: self, id }
    }

    /// Create the first user over the open bootstrap route: it becomes the administrator.
    async fn bootstrap_admin(&self) -> As<'_> {
        let (s, b) = self
            .send(self.client.post(self.url("/user/create")).json(&json!({
                "profile": {"id": "admin"}, "credentials": {"password": "pw-admin"}})))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
        self.user("admin")
    }
}

/// Requests as one user (password `pw-<id>`).
struct As<'a> {
    server: &'a Server,
    id: &'a str,
}

impl As<'_> {
    fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        rb.basic_auth(self.id, Some(format!("pw-{}", self.id)))
    }

    async fn get(&self, path: &str) -> (StatusCode, J) {
        let s = self.server;
        s.send(self.auth(s.client.get(s.url(path)))).await
    }

    async fn post(&self, path: &str, body: J) -> (StatusCode, J) {
        let s = self.server;
        s.send(self.auth(s.client.post(s.url(path)).json(&body)))
            .await
    }

    async fn put(&self, path: &str, body: J) -> (StatusCode, J) {
        let s = self.server;
        s.send(self.auth(s.client.put(s.url(path)).json(&body)))
            .await
    }

    async fn delete(&self, path: &str) -> (StatusCode, J) {
        let s = self.server;
        s.send(self.auth(s.client.delete(s.url(path)))).await
    }

    async fn deploy(&self, key: &str, topic: &str) -> (StatusCode, J) {
        let xml = baton_tests::bpmn::one_task(key, topic);
        let form = reqwest::multipart::Form::new().part(
            "data",
            reqwest::multipart::Part::bytes(xml.into_bytes()).file_name(format!("{key}.bpmn")),
        );
        let s = self.server;
        s.send(self.auth(s.client.post(s.url("/deployment/create")).multipart(form)))
            .await
    }

    /// Start an instance of `key` with one variable; returns its id.
    async fn start(&self, key: &str) -> String {
        let (s, b) = self
            .post(
                &format!("/process-definition/key/{key}/start"),
                json!({"variables": {"secret": {"value": format!("{key}-secret"), "type": "String"}}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["id"].as_str().expect("id").to_owned()
    }

    async fn create_user(&self, id: &str) {
        let (s, b) = self
            .post(
                "/user/create",
                json!({"profile": {"id": id}, "credentials": {"password": format!("pw-{id}")}}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    }

    async fn authorize(&self, body: J) -> String {
        let (s, b) = self.post("/authorization/create", body).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["id"].as_str().expect("authorization id").to_owned()
    }
}

fn ids(list: &J) -> Vec<String> {
    let mut out: Vec<String> = list
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_user_is_admin_and_others_get_camundas_authorization_exception() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::open(dir.path()).await;
    let admin = server.bootstrap_admin().await;
    let (s, groups) = admin.get("/group?member=admin").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ids(&groups), vec!["camunda-admin"]);
    // The admin group may do everything.
    let (s, b) = admin.deploy("invoice", "pay").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let pi = admin.start("invoice").await;
    let (s, vars) = admin
        .get(&format!("/process-instance/{pi}/variables"))
        .await;
    assert_eq!(
        (s, &vars["secret"]["value"]),
        (StatusCode::OK, &json!("invoice-secret"))
    );
    admin.create_user("kermit").await;

    // A user without authorizations: single resources are refused with Camunda's text ...
    let kermit = server.user("kermit");
    let (s, e) = kermit.deploy("evil", "x").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["type"], "AuthorizationException");
    assert_eq!(
        e["message"],
        "The user with id 'kermit' does not have 'CREATE' permission on resource 'Deployment'."
    );
    assert_eq!(e["userId"], "kermit");
    assert_eq!(
        e["missingAuthorizations"],
        json!([{"permissionName": "CREATE", "resourceName": "Deployment", "resourceId": null}])
    );
    let (s, e) = kermit
        .get(&format!("/process-instance/{pi}/variables"))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(
        e["message"],
        format!(
            "The user with id 'kermit' does not have one of the following permissions: 'READ' \
             permission on resource '{pi}' of type 'ProcessInstance' or 'READ_INSTANCE' \
             permission on resource 'invoice' of type 'ProcessDefinition'"
        )
    );
    let (s, e) = kermit.get("/process-definition/key/invoice").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        e["message"],
        "The user with id 'kermit' does not have 'READ' permission on resource 'invoice' of type 'ProcessDefinition'."
    );
    // ... lists are filtered, not refused.
    for path in [
        "/process-instance",
        "/process-definition",
        "/deployment",
        "/external-task",
    ] {
        let (s, list) = kermit.get(path).await;
        assert_eq!((s, list), (StatusCode::OK, json!([])), "{path}");
    }
    let (_, n) = kermit.get("/process-instance/count").await;
    assert_eq!(n, json!({"count": 0}));
    let (_, n) = admin.get("/process-instance/count").await;
    assert_eq!(n, json!({"count": 1}));
    // Managing authorizations is itself authorized.
    let (s, e) = kermit
        .post(
            "/authorization/create",
            json!({"type": 1, "userId": "kermit", "permissions": ["ALL"], "resourceType": 6, "resourceId": "*"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    // Everyone may read their own profile, not others'.
    assert_eq!(kermit.get("/user/kermit/profile").await.0, StatusCode::OK);
    assert_eq!(
        kermit.get("/user/admin/profile").await.0,
        StatusCode::FORBIDDEN
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_limited_to_one_topic_fetches_only_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::open(dir.path()).await;
    let admin = server.bootstrap_admin().await;
    assert_eq!(admin.deploy("payment", "pay").await.0, StatusCode::OK);
    assert_eq!(admin.deploy("shipping", "ship").await.0, StatusCode::OK);
    let pay_pi = admin.start("payment").await;
    let ship_pi = admin.start("shipping").await;
    admin.create_user("worker").await;
    admin
        .authorize(
            json!({"type": 1, "userId": "worker", "permissions": ["READ", "UPDATE"],
                          "resourceType": 101, "resourceId": "pay"}),
        )
        .await;

    let worker = server.user("worker");
    let (s, locked) = worker
        .post(
            "/external-task/fetchAndLock",
            json!({"workerId": "w1", "maxTasks": 10, "topics": [
                {"topicName": "pay", "lockDuration": 60000},
                {"topicName": "ship", "lockDuration": 60000}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{locked}");
    let locked = locked.as_array().cloned().unwrap_or_default();
    assert_eq!(locked.len(), 1, "{locked:?}");
    assert_eq!(locked[0]["topicName"], "pay");
    assert_eq!(locked[0]["processInstanceId"], json!(pay_pi));
    // The worker sees the tasks of its topic in lists, and only those.
    let (_, listed) = worker.get("/external-task").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let (_, n) = worker.get("/external-task/count").await;
    assert_eq!(n, json!({"count": 1}));
    let id = locked[0]["id"].as_str().expect("task id").to_owned();
    let (s, b) = worker
        .post(
            &format!("/external-task/{id}/complete"),
            json!({"workerId": "w1", "variables": {"paid": {"value": true, "type": "Boolean"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");

    // The other topic's task cannot be completed, its instance's variables not read, and
    // nothing can be deployed.
    let (_, ship_tasks) = admin.get("/external-task?topicName=ship").await;
    let ship_task = ship_tasks[0]["id"].as_str().expect("ship task").to_owned();
    let (s, e) = worker
        .post(
            &format!("/external-task/{ship_task}/complete"),
            json!({"workerId": "w1"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(
        e["missingAuthorizations"][0]["resourceName"],
        "ExternalTaskTopic"
    );
    assert_eq!(e["missingAuthorizations"][0]["resourceId"], "ship");
    let (s, e) = worker
        .get(&format!("/process-instance/{ship_pi}/variables"))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["type"], "AuthorizationException");
    let (s, _) = worker.deploy("sneaky", "pay").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = worker
        .post("/process-definition/key/shipping/start", json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_on_one_definition_shows_only_its_instances_and_revoke_beats_grant() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::open(dir.path()).await;
    let admin = server.bootstrap_admin().await;
    for (key, topic) in [("alpha", "a"), ("beta", "b")] {
        assert_eq!(admin.deploy(key, topic).await.0, StatusCode::OK);
    }
    let alpha = [admin.start("alpha").await, admin.start("alpha").await];
    let beta = admin.start("beta").await;
    admin.create_user("viewer").await;
    admin
        .authorize(
            json!({"type": 1, "userId": "viewer", "permissions": ["READ", "READ_INSTANCE"],
                          "resourceType": 6, "resourceId": "alpha"}),
        )
        .await;
    let viewer = server.user("viewer");
    let (s, list) = viewer.get("/process-instance").await;
    assert_eq!(s, StatusCode::OK);
    let mut want = alpha.to_vec();
    want.sort();
    assert_eq!(ids(&list), want);
    let (_, n) = viewer.get("/process-instance/count").await;
    assert_eq!(n, json!({"count": 2}));
    let (_, n) = viewer
        .get("/process-instance/count?processDefinitionKey=beta")
        .await;
    assert_eq!(n, json!({"count": 0}));
    let (_, defs) = viewer.get("/process-definition").await;
    assert_eq!(defs.as_array().map(Vec::len), Some(1), "{defs}");
    assert_eq!(defs[0]["key"], "alpha");
    assert_eq!(
        viewer
            .get(&format!("/process-instance/{}", alpha[0]))
            .await
            .0,
        StatusCode::OK
    );
    // Incidents are filtered the same way: one per instance, the viewer sees alpha's two.
    let (_, locked) = admin
        .post(
            "/external-task/fetchAndLock",
            json!({"workerId": "w", "maxTasks": 10, "topics": [
                {"topicName": "a", "lockDuration": 60000}, {"topicName": "b", "lockDuration": 60000}]}),
        )
        .await;
    for task in locked.as_array().cloned().unwrap_or_default() {
        let id = task["id"].as_str().expect("task id");
        let (s, b) = admin
            .post(
                &format!("/external-task/{id}/failure"),
                json!({"workerId": "w", "errorMessage": "down", "retries": 0, "retryTimeout": 0}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    }
    let (_, all) = admin.get("/incident/count").await;
    assert_eq!(all, json!({"count": 3}));
    let (_, seen) = viewer.get("/incident").await;
    let mut seen_instances: Vec<String> = seen
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["processInstanceId"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    seen_instances.sort();
    assert_eq!(seen_instances, want);
    assert_eq!(viewer.get("/incident/count").await.1, json!({"count": 2}));
    assert_eq!(
        viewer.get(&format!("/process-instance/{beta}")).await.0,
        StatusCode::FORBIDDEN
    );

    // Revoke beats grant at the same level; the user level beats the group level.
    let (s, _) = admin.post("/group/create", json!({"id": "sales"})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    admin.create_user("seller").await;
    assert_eq!(
        admin.put("/group/sales/members/seller", json!({})).await.0,
        StatusCode::NO_CONTENT
    );
    admin
        .authorize(
            json!({"type": 0, "userId": "*", "permissions": ["READ_INSTANCE"],
                          "resourceType": 6, "resourceId": "*"}),
        )
        .await;
    admin
        .authorize(
            json!({"type": 1, "groupId": "sales", "permissions": ["READ_INSTANCE"],
                          "resourceType": 6, "resourceId": "beta"}),
        )
        .await;
    let revoke = admin
        .authorize(
            json!({"type": 2, "groupId": "sales", "permissions": ["READ_INSTANCE"],
                          "resourceType": 6, "resourceId": "beta"}),
        )
        .await;
    let seller = server.user("seller");
    let (_, list) = seller.get("/process-instance").await;
    assert_eq!(
        ids(&list),
        want,
        "the group revoke hides beta despite the global and group grants"
    );
    let check = "/authorization/check?permissionName=READ_INSTANCE&resourceName=ProcessDefinition&resourceType=6&resourceId=beta";
    let (s, c) = seller.get(check).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["authorized"], json!(false), "{c}");
    admin
        .authorize(
            json!({"type": 1, "userId": "seller", "permissions": ["READ_INSTANCE"],
                          "resourceType": 6, "resourceId": "beta"}),
        )
        .await;
    let (_, list) = seller.get("/process-instance").await;
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(3),
        "the user grant beats the group revoke"
    );
    assert_eq!(seller.get(check).await.1["authorized"], json!(true));
    // Deleting the revoke is seen at once.
    assert_eq!(
        admin.delete(&format!("/authorization/{revoke}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin.get(&format!("/authorization/{revoke}")).await.0,
        StatusCode::NOT_FOUND
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorization_resource_and_its_survival_of_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::open(dir.path()).await;
    let admin = server.bootstrap_admin().await;
    admin.create_user("kermit").await;
    assert_eq!(admin.deploy("invoice", "pay").await.0, StatusCode::OK);
    let (s, created) = admin
        .post(
            "/authorization/create",
            json!({"type": 1, "userId": "kermit", "permissions": ["READ", "CREATE_INSTANCE"],
                   "resourceType": 6, "resourceId": "invoice"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["permissions"], json!(["READ", "CREATE_INSTANCE"]));
    assert_eq!(created["links"][0]["rel"], "self");
    let (s, e) = admin
        .post(
            "/authorization/create",
            json!({"type": 1, "userId": "kermit", "permissions": ["FLY"], "resourceType": 6}),
        )
        .await;
    assert_eq!(
        (s, &e["type"]),
        (StatusCode::BAD_REQUEST, &json!("InvalidRequestException")),
        "{e}"
    );
    let (s, e) = admin
        .post(
            "/authorization/create",
            json!({"type": 0, "userId": "kermit", "permissions": ["READ"], "resourceType": 6}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, b) = admin
        .put(
            &format!("/authorization/{id}"),
            json!({"type": 1, "userId": "kermit", "permissions": ["READ"], "resourceType": 6,
                   "resourceId": "invoice"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (_, n) = admin
        .get("/authorization/count?userIdIn=kermit&resourceType=6")
        .await;
    assert_eq!(n, json!({"count": 1}));
    assert_eq!(
        admin.get("/authorization/nope").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        server
            .user("kermit")
            .get("/process-definition/key/invoice")
            .await
            .0,
        StatusCode::OK
    );
    server.stop().await;

    let server = Server::open(dir.path()).await;
    let admin = server.user("admin");
    let (s, got) = admin.get(&format!("/authorization/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(
        (
            got["type"].clone(),
            got["permissions"].clone(),
            got["userId"].clone(),
            got["resourceId"].clone()
        ),
        (json!(1), json!(["READ"]), json!("kermit"), json!("invoice"))
    );
    let kermit = server.user("kermit");
    assert_eq!(
        kermit.get("/process-definition/key/invoice").await.0,
        StatusCode::OK
    );
    // UPDATE was not granted: starting needs CREATE on ProcessInstance first.
    let (s, e) = kermit
        .post("/process-definition/key/invoice/start", json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        e["message"],
        "The user with id 'kermit' does not have 'CREATE' permission on resource 'ProcessInstance'."
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cockpit_views_honour_the_same_authorizations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::open(dir.path()).await;
    let admin = server.bootstrap_admin().await;
    assert_eq!(admin.deploy("alpha", "a").await.0, StatusCode::OK);
    assert_eq!(admin.deploy("beta", "b").await.0, StatusCode::OK);
    let alpha = admin.start("alpha").await;
    let beta = admin.start("beta").await;
    admin.create_user("ops").await;
    let get = |user: &'static str, path: String| {
        let s = &server;
        async move {
            s.send(
                s.client
                    .get(s.site(&path))
                    .basic_auth(user, Some(format!("pw-{user}"))),
            )
            .await
        }
    };
    assert_eq!(
        get("admin", "/cockpit/api/overview".into()).await.0,
        StatusCode::OK
    );
    assert_eq!(get("admin", "/metrics".into()).await.0, StatusCode::OK);
    // The page itself needs only the login; the views need the cockpit application.
    assert_eq!(get("ops", "/".into()).await.0, StatusCode::OK);
    let (s, e) = get("ops", format!("/cockpit/api/instance/{alpha}/state")).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(
        e["message"],
        "The user with id 'ops' does not have 'ACCESS' permission on resource 'cockpit' of type 'Application'."
    );
    admin
        .authorize(
            json!({"type": 1, "userId": "ops", "permissions": ["ACCESS"],
                          "resourceType": 0, "resourceId": "cockpit"}),
        )
        .await;
    admin
        .authorize(
            json!({"type": 1, "userId": "ops", "permissions": ["READ_INSTANCE"],
                          "resourceType": 6, "resourceId": "alpha"}),
        )
        .await;
    assert_eq!(
        get("ops", format!("/cockpit/api/instance/{alpha}/state"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        get("ops", format!("/cockpit/api/instance/{beta}/state"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    // Whole-engine views (every definition's counts, live events, metrics) need READ on all
    // definitions.
    assert_eq!(
        get("ops", "/cockpit/api/overview".into()).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(get("ops", "/metrics".into()).await.0, StatusCode::FORBIDDEN);
    server.stop().await;
}

/// The `processInstanceId` of every row of a list, sorted and deduplicated.
fn instances_of(list: &J) -> Vec<String> {
    let mut out: Vec<String> = list
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["processInstanceId"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out.dedup();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_scoped_lists_are_filtered_to_the_readable_instances_not_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::open(dir.path()).await;
    let admin = server.bootstrap_admin().await;
    for (key, topic) in [("alpha", "a"), ("beta", "b")] {
        assert_eq!(admin.deploy(key, topic).await.0, StatusCode::OK);
    }
    let alpha = admin.start("alpha").await;
    let beta = admin.start("beta").await;
    // One incident per instance.
    let (_, locked) = admin
        .post(
            "/external-task/fetchAndLock",
            json!({"workerId": "w", "maxTasks": 10, "topics": [
                {"topicName": "a", "lockDuration": 60000}, {"topicName": "b", "lockDuration": 60000}]}),
        )
        .await;
    for task in locked.as_array().cloned().unwrap_or_default() {
        let id = task["id"].as_str().expect("task id");
        let (s, b) = admin
            .post(
                &format!("/external-task/{id}/failure"),
                json!({"workerId": "w", "errorMessage": "down", "retries": 0, "retryTimeout": 0}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    }
    admin.create_user("viewer").await;
    admin
        .authorize(
            json!({"type": 1, "userId": "viewer", "resourceType": 6, "resourceId": "alpha",
            "permissions": ["READ", "READ_INSTANCE", "READ_HISTORY"]}),
        )
        .await;
    let viewer = server.user("viewer");
    let both = {
        let mut v = vec![alpha.clone(), beta.clone()];
        v.sort();
        v
    };
    for list in [
        "/variable-instance",
        "/execution",
        "/incident",
        "/history/activity-instance",
        "/history/variable-instance",
        "/history/incident",
    ] {
        let (s, all) = admin.get(list).await;
        assert_eq!(s, StatusCode::OK, "{list}: {all}");
        assert_eq!(instances_of(&all), both, "the admin sees both in {list}");
        let (s, seen) = viewer.get(list).await;
        assert_eq!(s, StatusCode::OK, "{list} is filtered, not refused: {seen}");
        assert_eq!(instances_of(&seen), vec![alpha.clone()], "{list}");
        let rows = seen.as_array().map_or(0, Vec::len);
        let (s, count) = viewer.get(&format!("{list}/count")).await;
        assert_eq!(s, StatusCode::OK, "{list}/count");
        assert_eq!(count, json!({ "count": rows }), "{list}/count");
    }
    // One record of each instance by id: the viewer reads alpha's and gets Camunda's
    // AuthorizationException for beta's.
    for list in ["/variable-instance", "/incident"] {
        let (_, all) = admin.get(list).await;
        for row in all.as_array().cloned().unwrap_or_default() {
            let id = row["id"].as_str().expect("id");
            let (s, b) = viewer.get(&format!("{list}/{id}")).await;
            if row["processInstanceId"] == json!(alpha) {
                assert_eq!(s, StatusCode::OK, "{list}/{id}: {b}");
            } else {
                assert_eq!(s, StatusCode::FORBIDDEN, "{list}/{id}: {b}");
                assert_eq!(b["type"], "AuthorizationException", "{b}");
            }
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_users_make_exactly_one_administrator() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::open(dir.path()).await;
    // Eight first users at once, each on its own task.
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..8 {
        let (client, url) = (server.client.clone(), server.url("/user/create"));
        attempts.spawn(async move {
            let id = format!("first{i}");
            let body =
                json!({"profile": {"id": id}, "credentials": {"password": format!("pw-{id}")}});
            let r = client.post(url).json(&body).send().await.expect("request");
            let status = r.status();
            (id, status, r.text().await.unwrap_or_default())
        });
    }
    let answers = attempts.join_all().await;
    let created: Vec<&String> = answers
        .iter()
        .filter(|(_, s, _)| *s == StatusCode::NO_CONTENT)
        .map(|(id, _, _)| id)
        .collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    for (_, s, b) in answers
        .iter()
        .filter(|(_, s, _)| *s != StatusCode::NO_CONTENT)
    {
        assert_eq!(*s, StatusCode::UNAUTHORIZED, "{b}");
    }
    let admin = server.user(created[0]);
    let (s, users) = admin.get("/user").await;
    assert_eq!(s, StatusCode::OK, "{users}");
    assert_eq!(
        ids(&users),
        vec![created[0].clone()],
        "only the winner exists"
    );
    let (_, groups) = admin.get(&format!("/group?member={}", created[0])).await;
    assert_eq!(ids(&groups), vec!["camunda-admin"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_and_migration_need_their_camunda_permissions_not_operator_rights() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::open(dir.path()).await;
    let admin = server.bootstrap_admin().await;
    admin.create_user("ops").await;
    let ops = server.user("ops");
    let (s, e) = ops.get("/batch").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(
        e["missingAuthorizations"][0]["resourceName"], "Batch",
        "{e}"
    );
    let (s, e) = ops
        .post(
            "/migration/execute",
            json!({"migrationPlan": {}, "processInstanceIds": []}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(
        e["missingAuthorizations"][0]["permissionName"], "MIGRATE_INSTANCE",
        "{e}"
    );
    admin
        .authorize(
            json!({"type": 1, "userId": "ops", "resourceType": 13, "resourceId": "*",
            "permissions": ["READ"]}),
        )
        .await;
    admin
        .authorize(
            json!({"type": 1, "userId": "ops", "resourceType": 6, "resourceId": "*",
            "permissions": ["MIGRATE_INSTANCE"]}),
        )
        .await;
    let (s, b) = ops.get("/batch").await;
    assert_eq!((s, b), (StatusCode::OK, json!([])));
    // Past the authorization check: the empty plan is the handler's 400 now.
    let (s, e) = ops
        .post(
            "/migration/execute",
            json!({"migrationPlan": {}, "processInstanceIds": []}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    server.stop().await;
}

/// The history removal batches need CREATE on Batch (and deleting history DELETE_HISTORY on
/// the definitions); the cleanable batch report READ_HISTORY on Batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_removal_batches_need_batch_creation_and_delete_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::open(dir.path()).await;
    let admin = server.bootstrap_admin().await;
    admin.create_user("ops").await;
    let ops = server.user("ops");
    let missing = |e: &J| {
        (
            e["missingAuthorizations"][0]["permissionName"].clone(),
            e["missingAuthorizations"][0]["resourceName"].clone(),
        )
    };
    let (s, e) = ops
        .post(
            "/history/batch/set-removal-time",
            json!({"clearedRemovalTime": true}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(missing(&e), (json!("CREATE"), json!("Batch")), "{e}");
    let (s, e) = ops.get("/history/batch/cleanable-batch-report").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(missing(&e), (json!("READ_HISTORY"), json!("Batch")), "{e}");

    admin
        .authorize(
            json!({"type": 1, "userId": "ops", "resourceType": 13, "resourceId": "*",
            "permissions": ["CREATE", "READ_HISTORY"]}),
        )
        .await;
    // Past the authorization check: the handlers' 400s.
    let (s, e) = ops
        .post(
            "/history/process-instance/set-removal-time",
            json!({"clearedRemovalTime": true}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, b) = ops.get("/history/batch/cleanable-batch-report").await;
    assert_eq!((s, b), (StatusCode::OK, json!([])));
    let (s, e) = ops
        .post("/history/process-instance/delete", json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(
        missing(&e),
        (json!("DELETE_HISTORY"), json!("ProcessDefinition")),
        "{e}"
    );
    admin
        .authorize(
            json!({"type": 1, "userId": "ops", "resourceType": 6, "resourceId": "*",
            "permissions": ["DELETE_HISTORY"]}),
        )
        .await;
    let (s, e) = ops
        .post("/history/process-instance/delete", json!({}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["message"], "historicProcessInstanceIds is empty");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tasks_assignee_and_candidates_may_see_and_work_it_without_authorizations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::open(dir.path()).await;
    let admin = server.bootstrap_admin().await;
    let xml = baton_tests::bpmn::definitions(
        "approval",
        r#"<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="approve" />
<bpmn:userTask id="approve" camunda:candidateGroups="accounting" camunda:candidateUsers="carol" />
<bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="e" /><bpmn:endEvent id="e" />"#,
    );
    let form = reqwest::multipart::Form::new().part(
        "data",
        reqwest::multipart::Part::bytes(xml.into_bytes()).file_name("approval.bpmn"),
    );
    let (s, b) = server
        .send(
            admin.auth(
                server
                    .client
                    .post(server.url("/deployment/create"))
                    .multipart(form),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    admin.start("approval").await;
    let (_, tasks) = admin.get("/task").await;
    let task = tasks[0]["id"].as_str().expect("task id").to_owned();
    for user in ["carol", "dave", "mallory"] {
        admin.create_user(user).await;
    }
    let (s, _) = admin
        .post("/group/create", json!({"id": "accounting"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        admin
            .put("/group/accounting/members/dave", json!({}))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    // A candidate user and a member of a candidate group see the task; a stranger does not.
    for (user, sees) in [("carol", true), ("dave", true), ("mallory", false)] {
        let u = server.user(user);
        let (s, list) = u.get("/task").await;
        assert_eq!(s, StatusCode::OK, "{list}");
        assert_eq!(ids(&list) == vec![task.clone()], sees, "{user}: {list}");
        let (s, _) = u.get(&format!("/task/{task}")).await;
        let want = if sees {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(s, want, "{user} reads the task by id");
    }
    // Dave claims it (UPDATE as a candidate), and completes it as its assignee.
    let dave = server.user("dave");
    let (s, b) = dave
        .post(&format!("/task/{task}/claim"), json!({"userId": "dave"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let mallory = server.user("mallory");
    let (s, e) = mallory
        .post(&format!("/task/{task}/complete"), json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let (s, b) = dave
        .post(&format!("/task/{task}/complete"), json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(admin.get("/task/count").await.1, json!({"count": 0}));
    server.stop().await;
}

/// A user who may only read instances cannot create batches that change them: every
/// process-instance batch operation is a command, not a POST query (they were read as
/// queries before, so READ was enough to delete or suspend every instance).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_instances_does_not_allow_batches_that_change_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::open(dir.path()).await;
    let admin = server.bootstrap_admin().await;
    admin.create_user("reader").await;
    admin
        .authorize(
            json!({"type": 1, "userId": "reader", "resourceType": 8, "resourceId": "*",
            "permissions": ["READ"]}),
        )
        .await;
    let reader = server.user("reader");
    let (s, b) = reader.post("/process-instance", json!({})).await;
    assert_eq!(s, StatusCode::OK, "a POST query still reads: {b}");
    for (path, body) in [
        (
            "/process-instance/delete",
            json!({"processInstanceIds": ["x"]}),
        ),
        (
            "/process-instance/suspended-async",
            json!({"processInstanceIds": ["x"], "suspended": true}),
        ),
        (
            "/process-instance/variables-async",
            json!({"processInstanceIds": ["x"], "variables": {"a": {"value": 1}}}),
        ),
        (
            "/process-instance/message-async",
            json!({"processInstanceIds": ["x"], "messageName": "m"}),
        ),
        (
            "/process-instance/job-retries",
            json!({"processInstances": ["x"], "retries": 1}),
        ),
        (
            "/process-instance/delete-historic-query-based",
            json!({"processInstanceIds": ["x"]}),
        ),
        ("/job/retries", json!({"jobIds": ["x"], "retries": 1})),
    ] {
        let (s, e) = reader.post(path, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {e}");
        assert_eq!(e["type"], "AuthorizationException", "{path}: {e}");
    }
    server.stop().await;
}
