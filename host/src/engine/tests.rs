//! Executor tests on a real sled store in a temp dir with a manual clock: the vertical slice
//! (deploy → start → fetch-and-lock → complete → history), failures into incidents, timers.

use crate::store::IdentityStore;
use std::sync::Arc;

use baton_bpmn::{Value, Variables};

use super::*;
use crate::clock::ManualClock;

pub(super) const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

const ORDER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://example.com">
  <bpmn:process id="order" name="Order" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
    <bpmn:serviceTask id="check" name="Check stock" camunda:type="external" camunda:topic="check-stock" />
    <bpmn:boundaryEvent id="slow" attachedToRef="check">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f_slow" sourceRef="slow" targetRef="too_slow" />
    <bpmn:endEvent id="too_slow" />
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" default="f_no" />
    <bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="approve">
      <bpmn:conditionExpression>${available}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="out" />
    <bpmn:endEvent id="out" />
    <bpmn:userTask id="approve" name="Approve" camunda:candidateGroups="sales" />
    <bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="done" />
    <bpmn:endEvent id="done" />
  </bpmn:process>
</bpmn:definitions>"#;

/// Open the engine in `dir`. A reopen may find the store still held for a moment: tasks the
/// dropped engine spawned (metrics, wake-ups) hold it until they have run, and on a
/// single-threaded test runtime they run only once this test yields.
pub(super) async fn engine(dir: &std::path::Path, clock: &ManualClock) -> ProcessEngine {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mut config = EngineConfig::new(dir);
        config.clock = Arc::new(clock.clone());
        config.wasm = None;
        config.background_scheduler = false;
        match ProcessEngine::open(config).await {
            Err(e) if e.to_string().contains("lock") && std::time::Instant::now() < deadline => {
                tokio::task::yield_now().await;
            }
            opened => return opened.expect("open engine"),
        }
    }
}

/// Deploy `xml` as `<name>.bpmn` in a deployment called `name`.
pub(super) async fn deploy_bpmn(engine: &ProcessEngine, name: &str, xml: &str) -> DeployResult {
    engine
        .deploy(DeployRequest {
            name: Some(name.into()),
            resources: vec![Resource {
                name: format!("{name}.bpmn"),
                bytes: xml.as_bytes().to_vec(),
            }],
            ..DeployRequest::default()
        })
        .await
        .expect("deploy")
}

async fn deploy(engine: &ProcessEngine) -> String {
    let result = deploy_bpmn(engine, "order", ORDER).await;
    let defs = result.deployed_process_definitions.expect("definitions");
    assert_eq!(defs.len(), 1);
    defs[0].id.clone()
}

pub(super) fn fetch_request(worker: &str) -> FetchAndLockRequest {
    FetchAndLockRequest {
        worker_id: worker.into(),
        max_tasks: 10,
        topics: vec![TopicRequest {
            topic_name: "check-stock".into(),
            lock_duration: 60_000,
            ..TopicRequest::default()
        }],
        ..FetchAndLockRequest::default()
    }
}

#[tokio::test]
async fn deploy_start_fetch_complete_user_task_end_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::new(T0);
    let instance_id;
    {
        let engine = engine(dir.path(), &clock).await;
        let def_id = deploy(&engine).await;
        assert!(def_id.starts_with("order:1:"), "{def_id}");
        let mut vars = Variables::new();
        vars.insert("orderId".into(), Value::from("A-1"));
        let started = engine
            .start_instance(
                DefinitionRef::Key {
                    key: "order".into(),
                    tenant_id: None,
                },
                StartRequest {
                    variables: vars,
                    business_key: Some("A-1".into()),
                    ..StartRequest::default()
                },
            )
            .await
            .expect("start");
        assert!(!started.ended);
        instance_id = started.instance.state.id.clone();

        let locked = engine
            .fetch_and_lock(fetch_request("w1"))
            .await
            .expect("fetch");
        assert_eq!(locked.len(), 1);
        let task = &locked[0];
        assert_eq!(task.task.retries, None);
        assert_eq!(task.task.business_key.as_deref(), Some("A-1"));
        assert_eq!(task.variables.get("orderId"), Some(&Value::from("A-1")));
        // A second worker gets nothing: the task is locked.
        assert!(
            engine
                .fetch_and_lock(fetch_request("w2"))
                .await
                .expect("fetch")
                .is_empty()
        );
        // Wrong worker cannot complete.
        let err = engine
            .complete_external_task(&task.task.id, "w2", Variables::new(), Variables::new())
            .await
            .expect_err("wrong worker");
        assert!(matches!(err, ProcessEngineError::WrongWorker(_)), "{err:?}");

        let mut out = Variables::new();
        out.insert("available".into(), Value::Boolean(true));
        engine
            .complete_external_task(&task.task.id, "w1", out, Variables::new())
            .await
            .expect("complete");
        let tasks = engine.user_tasks().await.expect("user tasks");
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].candidate_groups, vec!["sales".to_string()]);
        engine
            .claim_task(&tasks[0].id, "mary")
            .await
            .expect("claim");
        let err = engine
            .claim_task(&tasks[0].id, "john")
            .await
            .expect_err("claimed");
        assert!(matches!(err, ProcessEngineError::AlreadyClaimed(_)));
        // No shutdown: what was acknowledged must be on disk already.
    }
    let engine = engine(dir.path(), &clock).await;
    let tasks = engine.user_tasks().await.expect("user tasks");
    assert_eq!(tasks.len(), 1, "the user task survived the restart");
    assert_eq!(tasks[0].assignee.as_deref(), Some("mary"));
    let vars = engine
        .complete_user_task(&tasks[0].id, Variables::new())
        .await
        .expect("complete");
    assert_eq!(vars.get("available"), Some(&Value::Boolean(true)));
    assert!(
        engine.instance(&instance_id).await.is_err(),
        "ended instances leave the runtime"
    );
    let history = engine.historic_process_instances().await.expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].state, "COMPLETED");
    let activities: Vec<String> = engine
        .historic_activity_instances(Some(&instance_id))
        .await
        .expect("activities")
        .into_iter()
        .map(|a| a.activity_id)
        .collect();
    for expected in ["start", "check", "gw", "approve", "done"] {
        assert!(
            activities.iter().any(|a| a == expected),
            "{expected} in {activities:?}"
        );
    }
}

#[tokio::test]
async fn failure_to_zero_retries_raises_incident_and_retries_resolve_it() {
    let (_dir, clock, engine) = deployed().await;
    start_order(&engine).await;
    let task = engine
        .fetch_and_lock(fetch_request("w1"))
        .await
        .expect("fetch")
        .remove(0);
    engine
        .external_task_failure(
            &task.task.id,
            FailureRequest {
                worker_id: "w1".into(),
                error_message: Some("stock service down".into()),
                retries: 1,
                retry_timeout: 5_000,
                ..FailureRequest::default()
            },
        )
        .await
        .expect("failure");
    assert!(
        engine
            .fetch_and_lock(fetch_request("w1"))
            .await
            .expect("fetch")
            .is_empty(),
        "back-off"
    );
    clock.advance(5_000);
    engine.tick().await.expect("tick");
    let again = engine
        .fetch_and_lock(fetch_request("w1"))
        .await
        .expect("fetch");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].task.retries, Some(1));
    engine
        .external_task_failure(
            &task.task.id,
            FailureRequest {
                worker_id: "w1".into(),
                error_message: Some("still down".into()),
                retries: 0,
                ..FailureRequest::default()
            },
        )
        .await
        .expect("failure");
    let incidents = engine.incidents().await.expect("incidents");
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].message.as_deref(), Some("still down"));
    assert_eq!(
        incidents[0].configuration.as_deref(),
        Some(task.task.id.as_str())
    );
    clock.advance(60_000);
    engine.tick().await.expect("tick");
    assert!(
        engine
            .fetch_and_lock(fetch_request("w1"))
            .await
            .expect("fetch")
            .is_empty(),
        "no retries left"
    );
    engine
        .set_external_task_retries(&task.task.id, 2)
        .await
        .expect("retries");
    assert!(engine.incidents().await.expect("incidents").is_empty());
    assert_eq!(
        engine
            .fetch_and_lock(fetch_request("w1"))
            .await
            .expect("fetch")
            .len(),
        1
    );
}

#[tokio::test]
async fn boundary_timer_interrupts_the_task_when_the_clock_passes_it() {
    let (_dir, clock, engine) = deployed().await;
    let started = start_order(&engine).await;
    clock.advance(3_600_000);
    assert_eq!(engine.tick().await.expect("tick"), 1);
    assert!(
        engine.external_tasks().await.expect("tasks").is_empty(),
        "task cancelled"
    );
    let history = engine.historic_process_instances().await.expect("history");
    assert_eq!(history[0].state, "COMPLETED");
    let ended: Vec<_> = engine
        .historic_activity_instances(Some(&started.instance.state.id))
        .await
        .expect("activities")
        .into_iter()
        .filter(|a| a.activity_id == "check")
        .collect();
    assert!(ended[0].canceled);
}

/// A fresh engine on a temporary directory at `T0` with the `order` process deployed. Keep
/// the directory alive for as long as the engine runs.
pub(super) async fn deployed() -> (tempfile::TempDir, ManualClock, ProcessEngine) {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::new(T0);
    let engine = engine(dir.path(), &clock).await;
    deploy(&engine).await;
    (dir, clock, engine)
}

/// Start an instance of the `order` process with no variables.
pub(super) async fn start_order(engine: &ProcessEngine) -> StartResult {
    engine
        .start_instance(
            DefinitionRef::Key {
                key: "order".into(),
                tenant_id: None,
            },
            StartRequest::default(),
        )
        .await
        .expect("start")
}

/// A fetch-and-lock for worker `w1` that waits up to `secs`, on a task of its own.
pub(super) fn spawn_parked_fetch(
    engine: &ProcessEngine,
    secs: u64,
) -> tokio::task::JoinHandle<Result<Vec<LockedTask>>> {
    let engine = engine.clone();
    tokio::spawn(async move {
        let mut req = fetch_request("w1");
        req.async_response_timeout = Some(std::time::Duration::from_secs(secs));
        engine.fetch_and_lock(req).await
    })
}

#[tokio::test]
async fn long_poll_wakes_when_a_task_is_created() {
    let (_dir, _clock, engine) = deployed().await;
    let waiter = spawn_parked_fetch(&engine, 30);
    // Let the waiter park (it registers before it looks, so ordering does not matter).
    tokio::task::yield_now().await;
    start_order(&engine).await;
    let got = tokio::time::timeout(std::time::Duration::from_secs(10), waiter)
        .await
        .expect("woke before the timeout")
        .expect("join")
        .expect("fetch");
    assert_eq!(got.len(), 1);
}

#[tokio::test]
async fn stopping_answers_parked_long_polls_at_once() {
    let (_dir, _clock, engine) = deployed().await;
    let waiter = spawn_parked_fetch(&engine, 600);
    // Wait (bounded) until the request is parked, then stop.
    let parked = async {
        while engine.metrics().fetch_and_lock_parked == 0 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), parked)
        .await
        .expect("the request parks");
    engine.begin_shutdown();
    let answer = tokio::time::timeout(std::time::Duration::from_secs(10), waiter)
        .await
        .expect("answered before its 10-minute time-out")
        .expect("join");
    assert!(
        matches!(answer, Err(ProcessEngineError::ShuttingDown)),
        "{answer:?}"
    );
    tokio::time::timeout(std::time::Duration::from_secs(10), engine.stopping())
        .await
        .expect("stopping resolves");
}

#[tokio::test]
async fn passwords_are_argon2_and_legacy_sha256_hashes_are_upgraded_at_login() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::new(T0);
    let engine = engine(dir.path(), &clock).await;
    let user = crate::records::User {
        id: "ada".into(),
        first_name: None,
        last_name: None,
        email: None,
        password_hash: None,
        groups: Vec::new(),
    };
    engine
        .create_user(user.clone(), Some("s3cret".into()))
        .await
        .expect("create");
    let stored: crate::records::User = engine
        .inner
        .store
        .user("ada")
        .expect("read")
        .expect("stored");
    let hash = stored.password_hash.clone().expect("hash");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(
        engine
            .authenticate("ada", "s3cret")
            .await
            .expect("auth")
            .is_some()
    );
    assert!(
        engine
            .authenticate("ada", "wrong")
            .await
            .expect("auth")
            .is_none()
    );

    // A user written by an older baton (salted SHA-256) logs in and is upgraded to Argon2.
    let legacy = format!(
        "sha256:salt:{}",
        crate::digest::sha256_hex(b"salt:old-password")
    );
    let mut old = stored.clone();
    old.id = "bob".into();
    old.password_hash = Some(legacy.clone());
    let mut ws = crate::store::WriteSet::new();
    engine.inner.store.stage_user(&mut ws, &old);
    engine.inner.store.commit_durable(&ws).await.expect("write");
    assert!(
        engine
            .authenticate("bob", "nope")
            .await
            .expect("auth")
            .is_none()
    );
    let bob = engine
        .authenticate("bob", "old-password")
        .await
        .expect("auth");
    assert!(
        bob.is_some_and(|u| u.password_hash.is_none()),
        "never returned"
    );
    let upgraded: crate::records::User = engine
        .inner
        .store
        .user("bob")
        .expect("read")
        .expect("stored");
    let upgraded = upgraded.password_hash.expect("hash");
    assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");
    assert!(
        engine
            .authenticate("bob", "old-password")
            .await
            .expect("auth")
            .is_some()
    );
}

/// Indexed instance queries: lookups by definition key, business key and ids page in id
/// order, counts come from the indexes, an ended instance leaves them, and a store written
/// before the indexes existed gets them built on open.
#[tokio::test]
async fn instance_lookups_use_the_indexes_and_follow_starts_and_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::new(T0);
    let mut ids = Vec::new();
    {
        let engine = engine(dir.path(), &clock).await;
        let def = deploy(&engine).await;
        for bk in ["A", "B", "A", "C", "A"] {
            let started = engine
                .start_instance(
                    DefinitionRef::Id(def.clone()),
                    StartRequest {
                        business_key: Some(bk.into()),
                        ..StartRequest::default()
                    },
                )
                .await
                .expect("start");
            ids.push(started.instance.id().to_owned());
        }
        let take = &mut |_: &crate::records::ProcessInstance| Accept::Take;
        let by_bk = InstanceLookup {
            business_key: Some("A"),
            ..InstanceLookup::default()
        };
        assert_eq!(engine.count_instances_where(&by_bk).expect("count"), 3);
        let page = engine.instances_where(&by_bk, take, 1, 1).expect("page");
        let mut a_ids: Vec<&String> = [0, 2, 4].iter().map(|i| &ids[*i]).collect();
        a_ids.sort();
        assert_eq!(page.len(), 1);
        assert_eq!(
            page[0].id(),
            a_ids[1].as_str(),
            "id order, firstResult applied"
        );
        let by_key = InstanceLookup {
            definition_key: Some("order"),
            ..InstanceLookup::default()
        };
        assert_eq!(engine.count_instances_where(&by_key).expect("count"), 5);
        let missing = InstanceLookup {
            definition_key: Some("other"),
            ..InstanceLookup::default()
        };
        assert_eq!(engine.count_instances_where(&missing).expect("count"), 0);
        let bk_prefix = InstanceLookup {
            business_key_prefix: Some("A"),
            ..InstanceLookup::default()
        };
        let a_all = engine
            .instances_where(&bk_prefix, take, 0, 10)
            .expect("list");
        assert_eq!(
            a_all.len(),
            3,
            "a prefix reads the business key index from there"
        );
        let both = InstanceLookup {
            definition_key: Some("order"),
            business_key: Some("B"),
            ids: Some(&ids),
            ..InstanceLookup::default()
        };
        assert_eq!(engine.count_instances_where(&both).expect("count"), 1);
        // A LIKE with no literal head is matched on the business-key index entries; with the
        // definition key it narrows that index's count instead of being ignored.
        let not_b = crate::like::LikePattern::new("%_%", false);
        // `[AC]` is literal in LIKE (no character classes): no business key contains it.
        let brackets = crate::like::LikePattern::new("%[AC]%", false);
        let like_any = InstanceLookup {
            business_key_like: Some(&not_b),
            ..InstanceLookup::default()
        };
        assert_eq!(engine.count_instances_where(&like_any).expect("count"), 5);
        let like_none = InstanceLookup {
            definition_key: Some("order"),
            business_key_like: Some(&brackets),
            ..InstanceLookup::default()
        };
        assert_eq!(engine.count_instances_where(&like_none).expect("count"), 0);
        let only_c = crate::like::LikePattern::new("%C", false);
        let like_c = InstanceLookup {
            business_key_like: Some(&only_c),
            ..InstanceLookup::default()
        };
        let c = engine.instances_where(&like_c, take, 0, 10).expect("list");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].state.business_key.as_deref(), Some("C"));

        engine.delete_instance(&ids[0], None).await.expect("cancel");
        assert_eq!(engine.count_instances_where(&by_bk).expect("count"), 2);
        assert_eq!(engine.count_instances_where(&by_key).expect("count"), 4);
        let skip_b = &mut |pi: &crate::records::ProcessInstance| {
            if pi.state.business_key.as_deref() == Some("B") {
                Accept::Skip
            } else {
                Accept::Take
            }
        };
        let rest = engine
            .instances_where(&by_key, skip_b, 0, 10)
            .expect("list");
        assert_eq!(rest.len(), 3);
        engine.shutdown().await.expect("shutdown");
    }
    // An older store: the indexes and their marker are gone; opening rebuilds them.
    {
        // The engine's last background task may hold the file lock for a moment.
        let mut attempts = 0;
        let db = loop {
            match sled::open(dir.path()) {
                Ok(db) => break db,
                Err(e) if attempts < 500 => {
                    attempts += 1;
                    let _ = e;
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                Err(e) => panic!("raw open: {e}"),
            }
        };
        for tree in ["instances_by_definition_key", "instances_by_business_key"] {
            db.drop_tree(tree).expect("drop");
        }
        db.open_tree("meta")
            .expect("meta")
            .remove("instance_indexes")
            .expect("unmark");
        db.flush().expect("flush");
    }
    let engine = engine(dir.path(), &clock).await;
    let by_bk = InstanceLookup {
        business_key: Some("A"),
        ..InstanceLookup::default()
    };
    assert_eq!(engine.count_instances_where(&by_bk).expect("count"), 2);
}
