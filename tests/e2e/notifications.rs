//! Issue 22: failure notifications. Rules over REST (validation, secrets never returned),
//! incident/cancel events delivered to a real webhook receiver on `127.0.0.1:0` (signed,
//! once per event, resolved), grouping under a flood of 10,000 incidents, retries of a
//! receiver answering 500 or hanging, and delivery after `kill -9` of the real binary.

use std::time::Duration;

use baton::engine::FailureRequest;
use baton_tests::bpmn::one_task;
use baton_tests::receiver::{Mode, Receiver};
use baton_tests::{BatonProcess, RestClient, TestEngine, TestServer};
use serde_json::{Value as Json, json};

const WAIT: Duration = Duration::from_secs(20);

async fn put(client: &RestClient, path: &str, body: &Json) -> u16 {
    client
        .http
        .put(format!("{}{path}", client.base))
        .json(body)
        .send()
        .await
        .expect("put")
        .status()
        .as_u16()
}

async fn delete(client: &RestClient, path: &str) -> u16 {
    client
        .http
        .delete(format!("{}{path}", client.base))
        .send()
        .await
        .expect("delete")
        .status()
        .as_u16()
}

async fn create_rule(client: &RestClient, rule: Json) -> Json {
    client
        .post("/notification-rule/create", &rule)
        .await
        .expect("create")
        .json()
        .expect("created")
}

/// Start an instance of `key` and fail its task with no retries left: one incident.
async fn incident_over_rest(client: &RestClient, key: &str, business_key: &str) -> String {
    let started = client
        .post(
            &format!("/process-definition/key/{key}/start"),
            &json!({"businessKey": business_key}),
        )
        .await
        .expect("start")
        .json()
        .expect("started");
    let instance = started["id"].as_str().expect("id").to_owned();
    let tasks = client
        .fetch_and_lock("w", key, 1, None)
        .await
        .expect("fetch");
    let task = tasks[0]["id"].as_str().expect("task id").to_owned();
    let answer = client
        .post(
            &format!("/external-task/{task}/failure"),
            &json!({"workerId": "w", "errorMessage": "stock service down", "retries": 0, "retryTimeout": 0}),
        )
        .await
        .expect("failure");
    assert_eq!(answer.status, 204, "{:?}", answer.body);
    instance
}

fn verify_signature(r: &baton_tests::receiver::Received, secret: &str) {
    let header = r
        .headers
        .get("x-baton-signature")
        .expect("signature header");
    assert_eq!(
        header,
        &format!(
            "sha256={}",
            baton::engine::notifications::sign(secret, &r.raw)
        ),
        "the signature covers the exact body"
    );
}

#[tokio::test]
async fn rules_over_rest_are_validated_and_never_show_their_secret() {
    let server = TestServer::start().await.expect("server");
    let c = &server.client;
    let receiver = Receiver::start(Mode::Ok).await.expect("receiver");

    let bad = [
        (
            json!({"name": "x", "condition": "sunIsDown", "url": receiver.url}),
            "Unknown condition 'sunIsDown'",
        ),
        (
            json!({"name": "x", "condition": "incidentCreated", "url": "not a url"}),
            "is not a valid absolute URL",
        ),
        (
            json!({"name": "x", "condition": "incidentCreated", "url": receiver.url, "windowSeconds": 0}),
            "windowSeconds must be at least 1",
        ),
        (
            json!({"name": "x", "condition": "incidentCreated", "url": format!("http://127.0.0.1:{}/engine-rest/x", server.addr.port())}),
            "points at this server itself",
        ),
        (
            json!({"name": "x", "condition": "incidentCreated", "url": format!("http://localhost:{}/", server.addr.port())}),
            "points at this server itself",
        ),
        (
            json!({"condition": "incidentCreated", "url": receiver.url}),
            "name is required",
        ),
    ];
    for (body, expected) in bad {
        let a = c
            .post("/notification-rule/create", &body)
            .await
            .expect("post");
        assert_eq!(a.status, 400, "{body}: {:?}", a.body);
        assert_eq!(a.body["type"], "BadUserRequestException", "{:?}", a.body);
        let message = a.body["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{message}");
    }
    let count = c.get("/notification-rule/count").await.expect("count");
    assert_eq!(count.body["count"], 0, "refused rules change nothing");

    let rule = create_rule(
        c,
        json!({"id": "ops", "name": "Incidents to ops", "condition": "incidentCreated",
               "processDefinitionKey": "order", "url": receiver.url, "secret": "hunter2",
               "windowSeconds": 60}),
    )
    .await;
    assert_eq!(rule["id"], "ops");
    assert_eq!(rule["secretSet"], true);
    assert_eq!(rule["windowSeconds"], 60);
    let dup = c
        .post("/notification-rule/create", &json!({"id": "ops", "name": "again", "condition": "incidentCreated", "url": receiver.url}))
        .await
        .expect("dup");
    assert_eq!(dup.status, 400);

    // Update without a secret keeps it; the secret never comes back.
    assert_eq!(
        put(
            c,
            "/notification-rule/ops",
            &json!({"name": "Ops", "condition": "incidentResolved", "url": receiver.url})
        )
        .await,
        204
    );
    let got = c
        .get("/notification-rule/ops")
        .await
        .expect("get")
        .json()
        .expect("rule");
    assert_eq!(got["name"], "Ops");
    assert_eq!(got["condition"], "incidentResolved");
    assert_eq!(got["secretSet"], true);
    let list = c.get("/notification-rule").await.expect("list");
    assert!(!list.body.to_string().contains("hunter2"));
    assert!(!got.to_string().contains("hunter2"));
    let bad_update = put(
        c,
        "/notification-rule/ops",
        &json!({"name": "Ops", "condition": "incidentCreated", "url": "ftp://x"}),
    )
    .await;
    assert_eq!(bad_update, 400);
    assert_eq!(
        c.get("/notification-rule/nope").await.expect("404").status,
        404
    );

    // "Send test" reaches the receiver, signed with the kept secret.
    let test = c
        .post("/notification-rule/ops/test", &json!({}))
        .await
        .expect("test")
        .json()
        .expect("tested");
    assert_eq!(test["delivered"], true, "{test}");
    assert_eq!(test["statusCode"], 200);
    let got = receiver.wait_for(1, WAIT).await.expect("test delivery");
    assert_eq!(got[0].body["event"], "test");
    assert_eq!(
        got[0].headers["x-baton-delivery"],
        test["deliveryId"].as_str().unwrap_or_default()
    );
    verify_signature(&got[0], "hunter2");

    assert_eq!(delete(c, "/notification-rule/ops").await, 204);
    assert_eq!(delete(c, "/notification-rule/ops").await, 404);
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn incident_created_and_resolved_each_notify_once_with_the_details() {
    let server = TestServer::start().await.expect("server");
    let c = &server.client;
    let receiver = Receiver::start(Mode::Ok).await.expect("receiver");
    c.deploy("order", &one_task("order", "order"))
        .await
        .expect("deploy");
    c.deploy("other", &one_task("other", "other"))
        .await
        .expect("deploy");
    create_rule(c, json!({"id": "created", "name": "created", "condition": "incidentCreated", "processDefinitionKey": "order", "incidentType": "failedExternalTask", "url": receiver.url, "secret": "s"})).await;
    create_rule(c, json!({"id": "resolved", "name": "resolved", "condition": "incidentResolved", "url": receiver.url})).await;

    let instance = incident_over_rest(c, "order", "order-42").await;
    let got = receiver
        .wait_for(1, WAIT)
        .await
        .expect("incident notification");
    let body = &got[0].body;
    assert_eq!(body["event"], "incidentCreated");
    assert_eq!(body["rule"]["id"], "created");
    assert_eq!(body["processInstanceId"], instance.as_str());
    assert_eq!(body["processDefinitionKey"], "order");
    assert_eq!(body["businessKey"], "order-42");
    assert_eq!(body["activityId"], "task");
    assert_eq!(body["incidentType"], "failedExternalTask");
    assert_eq!(body["errorMessage"], "stock service down");
    assert_eq!(body["count"], 1);
    assert_eq!(
        body["cockpitLink"],
        format!("http://{}/#/instance/{instance}", server.addr).as_str()
    );
    assert_eq!(
        got[0].headers["x-baton-delivery"],
        body["deliveryId"].as_str().unwrap_or_default()
    );
    verify_signature(&got[0], "s");

    // Resolve it: set retries on the task again.
    let incidents = c
        .get(&format!("/incident?processInstanceId={instance}"))
        .await
        .expect("incidents")
        .body;
    let task = incidents[0]["configuration"]
        .as_str()
        .expect("task id")
        .to_owned();
    assert_eq!(
        put(
            c,
            &format!("/external-task/{task}/retries"),
            &json!({"retries": 1})
        )
        .await,
        204
    );
    let got = receiver
        .wait_for(2, WAIT)
        .await
        .expect("resolved notification");
    assert_eq!(got[1].body["event"], "incidentResolved");
    assert_eq!(got[1].body["rule"]["id"], "resolved");
    assert!(
        !got[1].headers.contains_key("x-baton-signature"),
        "no secret, no signature"
    );

    // An incident of another definition matches neither the key filter of `created` …
    incident_over_rest(c, "other", "o-1").await;
    // … and a canceled instance matches no rule; wait for a delivery the receiver does expect.
    create_rule(c, json!({"id": "canceled", "name": "canceled", "condition": "instanceCanceled", "url": receiver.url})).await;
    let victim = c.start("order", json!({})).await.expect("start");
    assert_eq!(delete(c, &format!("/process-instance/{victim}")).await, 204);
    let got = receiver
        .wait_for(3, WAIT)
        .await
        .expect("canceled notification");
    assert_eq!(
        got[2].body["event"], "instanceCanceled",
        "{:?}",
        got[2].body
    );
    assert_eq!(got[2].body["processInstanceId"], victim.as_str());
    assert_eq!(
        receiver.received().len(),
        3,
        "each event notified once, others not at all"
    );

    let deliveries = c
        .get("/notification-rule/created/delivery")
        .await
        .expect("deliveries")
        .body;
    assert_eq!(deliveries[0]["status"], "delivered");
    assert_eq!(deliveries[0]["attempts"], 1);
    let metrics = reqwest::get(format!("http://{}/metrics", server.addr))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("baton_notifications_delivered_total 3"),
        "{metrics}"
    );
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn a_receiver_answering_500_is_retried_with_the_same_delivery_id() {
    let server = TestServer::start_with(|c| {
        c.notifications.backoff_ms = 20;
        c.notifications.max_backoff_ms = 100;
    })
    .await
    .expect("server");
    let c = &server.client;
    let receiver = Receiver::start(Mode::FailFirst(500, 2))
        .await
        .expect("receiver");
    c.deploy("order", &one_task("order", "order"))
        .await
        .expect("deploy");
    create_rule(
        c,
        json!({"id": "r", "name": "r", "condition": "incidentCreated", "url": receiver.url}),
    )
    .await;
    incident_over_rest(c, "order", "b").await;
    let got = receiver.wait_for(3, WAIT).await.expect("three attempts");
    let ids: Vec<&str> = got
        .iter()
        .map(|r| r.headers["x-baton-delivery"].as_str())
        .collect();
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "one delivery id across retries: {ids:?}"
    );
    // The third attempt succeeded: the delivery says so once the loop recorded it.
    let mut last = Json::Null;
    for _ in 0..200 {
        last = c
            .get("/notification-rule/r/delivery")
            .await
            .expect("deliveries")
            .body;
        if last[0]["status"] == "delivered" {
            break;
        }
        let _ = receiver.wait_for(4, Duration::from_millis(50)).await;
    }
    assert_eq!(last[0]["status"], "delivered", "{last}");
    assert_eq!(last[0]["attempts"], 3);
    assert_eq!(receiver.received().len(), 3, "nothing sent after success");
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn a_hanging_receiver_times_out_and_the_engine_keeps_answering() {
    let server = TestServer::start_with(|c| {
        c.notifications.timeout_ms = 200;
        c.notifications.backoff_ms = 20;
        c.notifications.max_backoff_ms = 50;
        c.notifications.max_attempts = 3;
    })
    .await
    .expect("server");
    let c = &server.client;
    let receiver = Receiver::start(Mode::Hang).await.expect("receiver");
    c.deploy("order", &one_task("order", "order"))
        .await
        .expect("deploy");
    create_rule(
        c,
        json!({"id": "r", "name": "r", "condition": "incidentCreated", "url": receiver.url}),
    )
    .await;
    incident_over_rest(c, "order", "b").await;
    receiver.wait_for(1, WAIT).await.expect("first attempt");
    // While the receiver hangs, commands go on at their usual pace, and the notification loop
    // idles instead of spinning on the delivery it waits for (a spinning loop makes thousands
    // of passes in the time these starts take; an idle one a few per attempt outcome).
    let passes = server.engine.notification_metrics().passes;
    for _ in 0..20 {
        c.start("order", json!({}))
            .await
            .expect("start while hanging");
    }
    let spun = server.engine.notification_metrics().passes - passes;
    assert!(spun < 50, "{spun} loop passes while 20 instances started");
    receiver
        .wait_for(3, WAIT)
        .await
        .expect("retried after time-outs");
    let mut last = Json::Null;
    for _ in 0..200 {
        last = c
            .get("/notification-rule/r/delivery")
            .await
            .expect("deliveries")
            .body;
        if last[0]["status"] == "failed" {
            break;
        }
        let _ = receiver.wait_for(4, Duration::from_millis(50)).await;
    }
    assert_eq!(last[0]["status"], "failed", "{last}");
    assert_eq!(last[0]["attempts"], 3);
    assert_eq!(last[0]["lastError"], "timed out");
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn a_flood_of_10000_incidents_sends_a_handful_of_messages() {
    let t = TestEngine::with(|c| c.durability = baton::store::Durability::Relaxed).await;
    let receiver = Receiver::start(Mode::Ok).await.expect("receiver");
    t.deploy("flood", &one_task("flood", "flood")).await;
    t.engine
        .create_notification_rule(baton::engine::notifications::RuleInput {
            name: Some("flood".into()),
            condition: Some("incidentCreated".into()),
            url: Some(receiver.url.clone()),
            window_seconds: Some(300),
            ..Default::default()
        })
        .await
        .expect("rule");
    const N: usize = 10_000;
    let mut started = 0;
    let mut raised = 0;
    while raised < N {
        let batch = 500.min(N - raised);
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..batch {
            let engine = t.engine.clone();
            set.spawn(async move {
                engine
                    .start_instance(
                        baton::engine::DefinitionRef::Key {
                            key: "flood".into(),
                            tenant_id: None,
                        },
                        baton::engine::StartRequest::default(),
                    )
                    .await
                    .map(|_| ())
            });
        }
        while let Some(r) = set.join_next().await {
            r.expect("join").expect("start");
            started += 1;
        }
        for locked in t.fetch("w", "flood", batch).await {
            let engine = t.engine.clone();
            set.spawn(async move {
                engine
                    .external_task_failure(
                        &locked.task.id,
                        FailureRequest {
                            worker_id: "w".into(),
                            error_message: Some("down".into()),
                            retries: 0,
                            ..FailureRequest::default()
                        },
                    )
                    .await
            });
        }
        while let Some(r) = set.join_next().await {
            r.expect("join").expect("failure");
            raised += 1;
        }
        if raised == N / 2 {
            // The loop runs in the middle of the flood: the first message goes out then.
            t.engine.notification_pass().await.expect("pass");
        }
    }
    assert_eq!(started, N);
    t.engine.notification_pass().await.expect("pass");
    receiver.wait_for(1, WAIT).await.expect("first message");
    // The window ends: its summary (everything after the first message) goes out.
    t.clock.advance(300_000);
    t.engine.notification_pass().await.expect("pass");
    let got = receiver.wait_for(2, WAIT).await.expect("summary");
    t.clock.advance(300_000);
    t.engine.notification_pass().await.expect("pass");
    let counts: Vec<u64> = got
        .iter()
        .map(|r| r.body["count"].as_u64().unwrap_or(0))
        .collect();
    println!(
        "flood: {N} incidents -> {} webhook messages (counts {counts:?})",
        got.len()
    );
    assert!(got.len() <= 3, "a handful, not {}", got.len());
    assert_eq!(
        counts.iter().sum::<u64>(),
        N as u64,
        "every incident counted once"
    );
    assert_eq!(
        got.last().map(|r| r.body["summary"].clone()),
        Some(Json::Bool(true))
    );
}

#[tokio::test]
async fn a_notification_staged_before_kill_9_is_delivered_after_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let receiver = Receiver::start(Mode::Hang).await.expect("receiver");
    let baton = BatonProcess::spawn(&data, &[]).expect("spawn baton");
    let c = baton.client.clone();
    c.deploy("order", &one_task("order", "order"))
        .await
        .expect("deploy");
    create_rule(
        &c,
        json!({"id": "r", "name": "r", "condition": "incidentCreated", "url": receiver.url}),
    )
    .await;
    let instance = incident_over_rest(&c, "order", "crash-1").await;
    // The incident is acknowledged; the receiver holds the first attempt open. Kill -9 now.
    let first = receiver.wait_for(1, WAIT).await.expect("first attempt");
    let id = first[0].headers["x-baton-delivery"].clone();
    baton.kill9().expect("kill -9");
    receiver.set_mode(Mode::Ok);
    let started = std::time::Instant::now();
    let baton = BatonProcess::spawn(&data, &[]).expect("restart baton");
    let got = receiver
        .wait_for(2, WAIT)
        .await
        .expect("delivered after restart");
    println!(
        "crash: notification delivered {:?} after restart (kill -9 while the receiver held it)",
        started.elapsed()
    );
    assert_eq!(got[1].body["processInstanceId"], instance.as_str());
    assert_eq!(
        got[1].headers["x-baton-delivery"], id,
        "same delivery id: the receiver can dedupe"
    );
    drop(baton);
}

/// A rule for `condition` to `url`, created on the engine directly.
async fn engine_rule(t: &TestEngine, id: &str, condition: &str, url: &str) {
    t.engine
        .create_notification_rule(baton::engine::notifications::RuleInput {
            id: Some(id.into()),
            name: Some(id.into()),
            condition: Some(condition.into()),
            url: Some(url.into()),
            ..Default::default()
        })
        .await
        .expect("rule");
}

#[tokio::test]
async fn a_wasm_limit_and_an_uncaught_bpmn_error_each_notify_their_rule() {
    let t = TestEngine::with(|c| {
        c.wasm = Some(baton::wasm::WasmConfig {
            cache_dir: Some(c.data_dir.join("wasm-cache")),
            ..baton::wasm::WasmConfig::default()
        });
    })
    .await;
    let receiver = Receiver::start(Mode::Ok).await.expect("receiver");
    engine_rule(&t, "limits", "wasmLimit", &receiver.url).await;
    engine_rule(&t, "uncaught", "uncaughtError", &receiver.url).await;

    // A component that spins until its fuel runs out, with one attempt only.
    let spin = std::fs::read(baton_tests::guests::SPIN_LOOP).expect("guest");
    t.engine
        .put_module(
            "spin",
            spin,
            baton::records::ModuleLimits {
                fuel: Some(10_000_000),
                timeout_ms: Some(60_000),
                ..Default::default()
            },
        )
        .await
        .expect("module");
    let xml = one_task("spinner", "spin").replace(
        r#"camunda:topic="spin" />"#,
        r#"camunda:topic="spin"><bpmn:extensionElements><camunda:failedJobRetryTimeCycle>R1/PT10S</camunda:failedJobRetryTimeCycle></bpmn:extensionElements></bpmn:serviceTask>"#,
    );
    t.deploy("spinner", &xml).await;
    let mut events = t.engine.subscribe_events();
    let spun = t
        .start("spinner", Default::default())
        .await
        .instance
        .id()
        .to_owned();
    baton_tests::wait_for_incident(&mut events, &spun).await;
    t.engine.notification_pass().await.expect("pass");
    let got = receiver
        .wait_for(1, WAIT)
        .await
        .expect("limit notification");
    assert_eq!(got[0].body["event"], "wasmLimit");
    assert_eq!(got[0].body["rule"]["id"], "limits");
    assert_eq!(got[0].body["topic"], "spin");
    assert_eq!(got[0].body["groupKey"], "spin");
    assert_eq!(got[0].body["processInstanceId"], spun.as_str());
    let message = got[0].body["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("fuel exhausted"), "{message}");

    // A BPMN error nothing catches ends its execution (Camunda's default): `uncaught` fires,
    // `limits` does not.
    t.deploy("thrower", &one_task("thrower", "throw")).await;
    let thrown = t
        .start("thrower", Default::default())
        .await
        .instance
        .id()
        .to_owned();
    let task = t.fetch("w", "throw", 1).await.remove(0).task;
    let _ = t
        .engine
        .external_task_bpmn_error(&task.id, "w", "NOBODY_CATCHES", None, Default::default())
        .await;
    t.engine.notification_pass().await.expect("pass");
    let got = receiver
        .wait_for(2, WAIT)
        .await
        .expect("uncaught notification");
    assert_eq!(got[1].body["event"], "uncaughtError");
    assert_eq!(got[1].body["rule"]["id"], "uncaught");
    let message = got[1].body["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("NOBODY_CATCHES"), "{message}");
    assert_eq!(got[1].body["processInstanceId"], thrown.as_str());
    t.engine.notification_pass().await.expect("pass");
    assert_eq!(
        receiver.received().len(),
        2,
        "one message per event and rule"
    );
}

/// A time-based rule on the engine directly.
async fn timed_rule(t: &TestEngine, input: baton::engine::notifications::RuleInput) {
    t.engine
        .create_notification_rule(input)
        .await
        .expect("rule");
}

/// Move the manual clock and run one notification pass (the evaluation runs every 10 s of
/// engine time).
async fn advance_and_pass(t: &TestEngine, ms: i64) {
    t.clock.advance(ms);
    t.engine.notification_pass().await.expect("pass");
}

#[tokio::test]
async fn no_worker_on_a_topic_fires_once_and_resolves_when_a_worker_fetches() {
    let t = TestEngine::new().await;
    let receiver = Receiver::start(Mode::Ok).await.expect("receiver");
    timed_rule(
        &t,
        baton::engine::notifications::RuleInput {
            id: Some("stuck".into()),
            name: Some("stuck".into()),
            condition: Some("taskWaiting".into()),
            topic: Some("check-stock".into()),
            wait_seconds: Some(600),
            url: Some(receiver.url.clone()),
            ..Default::default()
        },
    )
    .await;
    t.deploy("order", &one_task("order", "check-stock")).await;
    for _ in 0..3 {
        t.start("order", Default::default()).await;
    }
    advance_and_pass(&t, 10_000).await;
    advance_and_pass(&t, 300_000).await;
    assert!(receiver.received().is_empty(), "5 min: not yet");
    advance_and_pass(&t, 300_000).await;
    let got = receiver.wait_for(1, WAIT).await.expect("fired");
    assert_eq!(got[0].body["event"], "taskWaiting");
    assert_eq!(got[0].body["topic"], "check-stock");
    let message = got[0].body["errorMessage"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("no worker on topic `check-stock` for 10 min, 3 task(s) waiting, oldest since 2026-01-01T00:00:00Z"),
        "{message}"
    );
    // Still true: no second message.
    advance_and_pass(&t, 60_000).await;
    advance_and_pass(&t, 60_000).await;
    assert_eq!(receiver.received().len(), 1);
    // A worker shows up and takes the tasks: resolved, once.
    t.fetch("w", "check-stock", 10).await;
    advance_and_pass(&t, 10_000).await;
    let got = receiver.wait_for(2, WAIT).await.expect("resolved");
    assert_eq!(got[1].body["event"], "taskWaitingResolved");
    advance_and_pass(&t, 10_000).await;
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn overdue_and_unclaimed_user_tasks_fire_once_and_resolve() {
    let t = TestEngine::new().await;
    let receiver = Receiver::start(Mode::Ok).await.expect("receiver");
    for (id, condition, wait) in [
        ("late", "userTaskOverdue", None),
        ("unclaimed", "userTaskUnclaimed", Some(3600)),
    ] {
        timed_rule(
            &t,
            baton::engine::notifications::RuleInput {
                id: Some(id.into()),
                name: Some(id.into()),
                condition: Some(condition.into()),
                wait_seconds: wait,
                url: Some(receiver.url.clone()),
                ..Default::default()
            },
        )
        .await;
    }
    let xml = baton_tests::bpmn::definitions(
        "approve",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" name="Review order" camunda:dueDate="2026-01-01T00:30:00Z" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    );
    t.deploy("approve", &xml).await;
    let instance = t
        .start("approve", Default::default())
        .await
        .instance
        .id()
        .to_owned();
    advance_and_pass(&t, 20 * 60_000).await;
    assert!(receiver.received().is_empty(), "20 min: neither");
    advance_and_pass(&t, 11 * 60_000).await;
    let got = receiver.wait_for(1, WAIT).await.expect("overdue");
    assert_eq!(got[0].body["event"], "userTaskOverdue");
    assert_eq!(got[0].body["rule"]["id"], "late");
    assert_eq!(got[0].body["processInstanceId"], instance.as_str());
    assert_eq!(got[0].body["activityId"], "review");
    advance_and_pass(&t, 30 * 60_000).await;
    let got = receiver.wait_for(2, WAIT).await.expect("unclaimed");
    assert_eq!(got[1].body["event"], "userTaskUnclaimed");
    assert_eq!(got[1].body["rule"]["id"], "unclaimed");
    advance_and_pass(&t, 60_000).await;
    assert_eq!(receiver.received().len(), 2, "each fires once");
    // Claimed: unclaimed resolves; completed: overdue resolves.
    let tasks = t.engine.user_tasks().await.expect("tasks");
    t.engine
        .claim_task(&tasks[0].id, "demo")
        .await
        .expect("claim");
    advance_and_pass(&t, 10_000).await;
    let got = receiver.wait_for(3, WAIT).await.expect("claimed");
    assert_eq!(got[2].body["event"], "userTaskUnclaimedResolved");
    t.engine
        .complete_user_task(&tasks[0].id, Default::default())
        .await
        .expect("complete");
    advance_and_pass(&t, 10_000).await;
    let got = receiver.wait_for(4, WAIT).await.expect("completed");
    assert_eq!(got[3].body["event"], "userTaskOverdueResolved");
}

#[tokio::test]
async fn a_topic_failure_rate_over_the_threshold_fires_once_and_resolves() {
    let t = TestEngine::new().await;
    let receiver = Receiver::start(Mode::Ok).await.expect("receiver");
    timed_rule(
        &t,
        baton::engine::notifications::RuleInput {
            id: Some("flaky".into()),
            name: Some("flaky".into()),
            condition: Some("failureRate".into()),
            topic: Some("pay".into()),
            threshold: Some(0.5),
            window_seconds: Some(600),
            url: Some(receiver.url.clone()),
            ..Default::default()
        },
    )
    .await;
    t.deploy("pay", &one_task("pay", "pay")).await;
    for _ in 0..6 {
        t.start("pay", Default::default()).await;
    }
    advance_and_pass(&t, 10_000).await;
    let tasks = t.fetch("w", "pay", 6).await;
    t.complete(&tasks[0].task.id, "w", Default::default()).await;
    for locked in &tasks[1..] {
        t.engine
            .external_task_failure(
                &locked.task.id,
                FailureRequest {
                    worker_id: "w".into(),
                    error_message: Some("card service 503".into()),
                    retries: 2,
                    ..FailureRequest::default()
                },
            )
            .await
            .expect("failure");
    }
    advance_and_pass(&t, 10_000).await;
    let got = receiver.wait_for(1, WAIT).await.expect("rate");
    assert_eq!(got[0].body["event"], "failureRate");
    let message = got[0].body["errorMessage"].as_str().unwrap_or_default();
    assert!(
        message
            .starts_with("5 of 6 attempts of topic `pay` failed in the last 10 min (83 % > 50 %)"),
        "{message}"
    );
    advance_and_pass(&t, 10_000).await;
    assert_eq!(receiver.received().len(), 1, "fires once");
    // Ten quiet minutes later the window holds no failures: resolved.
    advance_and_pass(&t, 600_000).await;
    advance_and_pass(&t, 10_000).await;
    let got = receiver.wait_for(2, WAIT).await.expect("resolved");
    assert_eq!(got[1].body["event"], "failureRateResolved");
}

#[tokio::test]
async fn an_incident_starts_the_users_escalation_process_by_message() {
    let t = TestEngine::new().await;
    let escalation = baton_tests::bpmn::definitions_with(
        "escalate",
        r#"<bpmn:message id="m" name="Escalate" />"#,
        r#"    <bpmn:startEvent id="start"><bpmn:messageEventDefinition messageRef="m" /></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="page" />
    <bpmn:userTask id="page" name="Page the on-call engineer" camunda:candidateGroups="oncall" />
    <bpmn:sequenceFlow id="f2" sourceRef="page" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    );
    let defs = t.deploy("escalate", &escalation).await;
    t.deploy("order", &one_task("order", "order")).await;
    let bad = t
        .engine
        .create_notification_rule(baton::engine::notifications::RuleInput {
            name: Some("x".into()),
            condition: Some("incidentCreated".into()),
            destination: Some("message".into()),
            ..Default::default()
        })
        .await
        .expect_err("no message name");
    assert!(bad.to_string().contains("messageName is required"), "{bad}");
    t.engine
        .create_notification_rule(baton::engine::notifications::RuleInput {
            id: Some("page".into()),
            name: Some("page on-call".into()),
            condition: Some("incidentCreated".into()),
            destination: Some("message".into()),
            message_name: Some("Escalate".into()),
            ..Default::default()
        })
        .await
        .expect("rule");
    let failing = t
        .start("order", Default::default())
        .await
        .instance
        .id()
        .to_owned();
    let task = t.fetch("w", "order", 1).await.remove(0).task;
    t.engine
        .external_task_failure(
            &task.id,
            FailureRequest {
                worker_id: "w".into(),
                error_message: Some("stock service down".into()),
                retries: 0,
                ..FailureRequest::default()
            },
        )
        .await
        .expect("failure");
    let mut events = t.engine.subscribe_events();
    t.engine.notification_pass().await.expect("pass");
    let escalation_def = defs[0].id.clone();
    let started = baton_tests::wait_for_event(&mut events, "escalation instance", |e| match e {
        baton::engine::EngineEvent::InstanceStarted {
            process_instance_id,
            process_definition_id,
            ..
        } if process_definition_id == escalation_def => Some(process_instance_id),
        _ => None,
    })
    .await;
    let vars = t
        .engine
        .historic_variables(Some(&started))
        .await
        .expect("variables");
    let var = |name: &str| {
        vars.iter()
            .find(|v| v.name == name)
            .map(|v| v.value.clone())
            .unwrap_or(baton_bpmn::Value::Null)
    };
    assert_eq!(
        var("processInstanceId"),
        baton_bpmn::Value::from(failing.as_str())
    );
    assert_eq!(
        var("errorMessage"),
        baton_bpmn::Value::from("stock service down")
    );
    assert_eq!(var("event"), baton_bpmn::Value::from("incidentCreated"));
    assert_eq!(var("ruleId"), baton_bpmn::Value::from("page"));
    let tasks = t.engine.user_tasks().await.expect("tasks");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].name.as_deref(), Some("Page the on-call engineer"));
}

/// Run `baton notify ...` against `url`; returns (exit code, stdout, stderr).
async fn baton_notify(url: &str, args: &[&str]) -> (i32, String, String) {
    let binary = baton_tests::baton_binary().expect("baton binary");
    let mut all: Vec<String> = vec!["notify".into()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    all.extend(["--url".to_owned(), url.to_owned()]);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(binary)
            .args(&all)
            .output()
            .expect("run baton notify")
    })
    .await
    .expect("join");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn baton_notify_adds_lists_tests_and_removes_rules() {
    let server = TestServer::start().await.expect("server");
    let url = format!("http://{}", server.addr);
    let receiver = Receiver::start(Mode::Ok).await.expect("receiver");
    let (code, out, err) = baton_notify(
        &url,
        &[
            "add",
            "--id",
            "ops",
            "--name",
            "Incidents to ops",
            "--condition",
            "incidentCreated",
            "--webhook",
            &receiver.url,
            "--secret",
            "hunter2",
            "--window-seconds",
            "120",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("rule ops (incidentCreated)"), "{out}");
    let (code, out, err) = baton_notify(
        &url,
        &[
            "add",
            "--name",
            "x",
            "--condition",
            "sunIsDown",
            "--webhook",
            &receiver.url,
        ],
    )
    .await;
    assert_ne!(code, 0);
    assert!(err.contains("Unknown condition 'sunIsDown'"), "{out}{err}");
    let (code, out, _) = baton_notify(&url, &["list"]).await;
    assert_eq!(code, 0);
    assert!(
        out.contains("Incidents to ops") && out.contains("120"),
        "{out}"
    );
    assert!(!out.contains("hunter2"), "the secret is never shown");
    let (code, out, err) = baton_notify(&url, &["test", "ops"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("delivered (HTTP 200)"), "{out}");
    assert_eq!(
        receiver.wait_for(1, WAIT).await.expect("test")[0].body["event"],
        "test"
    );
    let (code, _, _) = baton_notify(&url, &["rm", "ops"]).await;
    assert_eq!(code, 0);
    let (code, _, err) = baton_notify(&url, &["rm", "ops"]).await;
    assert_ne!(code, 0);
    assert!(err.contains("does not exist"), "{err}");
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn rules_from_the_config_file_are_applied_on_every_start_without_duplicates() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("baton.toml");
    let write = |window: u32| {
        std::fs::write(
            &config,
            format!(
                "[[notification_rule]]\nid = \"ops\"\nname = \"Incidents to ops\"\ncondition = \"incidentCreated\"\nurl = \"http://127.0.0.1:9/hook\"\nsecret = \"from-the-file\"\nwindowSeconds = {window}\n"
            ),
        )
        .expect("write config");
    };
    write(60);
    let data = dir.path().join("data");
    let config_arg = config.display().to_string();
    let baton = BatonProcess::spawn(&data, &["--config", &config_arg]).expect("spawn");
    let rules = baton
        .client
        .get("/notification-rule")
        .await
        .expect("list")
        .body;
    assert_eq!(rules.as_array().map(Vec::len), Some(1), "{rules}");
    assert_eq!(rules[0]["windowSeconds"], 60);
    assert_eq!(rules[0]["secretSet"], true);
    assert!(!rules.to_string().contains("from-the-file"));
    baton.terminate().expect("stop");
    // Edited file, same id: updated, not duplicated.
    write(120);
    let baton = BatonProcess::spawn(&data, &["--config", &config_arg]).expect("restart");
    let rules = baton
        .client
        .get("/notification-rule")
        .await
        .expect("list")
        .body;
    assert_eq!(rules.as_array().map(Vec::len), Some(1), "{rules}");
    assert_eq!(rules[0]["windowSeconds"], 120);
    drop(baton);
}
