//! Issue 3 item 5: external tasks with Camunda's rules, and the concurrency property: many
//! workers fetching at once never get the same task.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use baton::engine::{FailureRequest, ProcessEngineError};
use baton_bpmn::{Value, Variables};
use baton_tests::bpmn::{definitions, definitions_with, one_task};
use baton_tests::{T0, TestEngine, fetch_request, vars};

fn prioritized(process_id: &str, topic: &str, priority: i64) -> String {
    definitions(
        process_id,
        &format!(
            r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task" />
    <bpmn:serviceTask id="task" camunda:type="external" camunda:topic="{topic}" camunda:taskPriority="{priority}" />
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" />
    <bpmn:endEvent id="end" />"#
        ),
    )
}

#[tokio::test]
async fn tasks_are_created_with_topic_priority_and_null_retries() {
    let t = TestEngine::new().await;
    t.deploy("p", &prioritized("prio", "pay", 7)).await;
    let id = t
        .start("prio", Variables::new())
        .await
        .instance
        .id()
        .to_owned();
    let tasks = t.engine.external_tasks().await.expect("tasks");
    assert_eq!(tasks.len(), 1);
    let task = &tasks[0];
    assert_eq!(task.topic_name, "pay");
    assert_eq!(task.priority, 7);
    assert_eq!(
        task.retries, None,
        "retries stay null until a failure is reported"
    );
    assert_eq!(task.worker_id, None);
    assert_eq!(task.lock_expiration_time, None);
    assert_eq!(task.process_instance_id, id);
    assert_eq!(task.activity_id, "task");
    assert_eq!(task.create_time, T0);
}

#[tokio::test]
async fn fetch_by_topic_list_locks_for_the_worker_and_duration() {
    let t = TestEngine::new().await;
    t.deploy("a", &one_task("pa", "topic-a")).await;
    t.deploy("b", &one_task("pb", "topic-b")).await;
    t.deploy("c", &one_task("pc", "topic-c")).await;
    for key in ["pa", "pb", "pc"] {
        t.start(key, vars([("k", Value::String(key.into()))])).await;
    }
    let locked = t
        .engine
        .fetch_and_lock(fetch_request(
            "worker-1",
            &["topic-a", "topic-b"],
            10,
            30_000,
        ))
        .await
        .expect("fetch");
    let topics: HashSet<_> = locked.iter().map(|l| l.task.topic_name.clone()).collect();
    assert_eq!(
        topics,
        HashSet::from(["topic-a".to_owned(), "topic-b".to_owned()])
    );
    for l in &locked {
        assert_eq!(l.task.worker_id.as_deref(), Some("worker-1"));
        assert_eq!(l.task.lock_expiration_time, Some(T0 + 30_000));
        assert!(l.variables.contains_key("k"), "variables are delivered");
    }
    // Locked tasks are not handed out again; topic-c was not asked for and waits.
    assert!(t.fetch("worker-2", "topic-a", 10).await.is_empty());
    assert_eq!(t.fetch("worker-2", "topic-c", 10).await.len(), 1);
}

/// The instances of the tasks `n` fetches of one task each lock, in the order they come.
async fn instances_fetched_one_by_one(
    t: &TestEngine,
    request: &baton::engine::FetchAndLockRequest,
    n: usize,
) -> Vec<String> {
    let mut order = Vec::new();
    for _ in 0..n {
        let got = t
            .engine
            .fetch_and_lock(request.clone())
            .await
            .expect("fetch");
        assert_eq!(got.len(), 1);
        order.push(got[0].task.process_instance_id.clone());
    }
    order
}

#[tokio::test]
async fn fetch_orders_by_priority_then_age() {
    let t = TestEngine::new().await;
    t.deploy("low", &prioritized("low", "q", 1)).await;
    t.deploy("high", &prioritized("high", "q", 10)).await;
    let old_low = t
        .start("low", Variables::new())
        .await
        .instance
        .id()
        .to_owned();
    t.clock.advance(1000);
    let old_high = t
        .start("high", Variables::new())
        .await
        .instance
        .id()
        .to_owned();
    t.clock.advance(1000);
    let new_high = t
        .start("high", Variables::new())
        .await
        .instance
        .id()
        .to_owned();
    t.clock.advance(1000);
    let new_low = t
        .start("low", Variables::new())
        .await
        .instance
        .id()
        .to_owned();

    let mut request = fetch_request("w", &["q"], 1, 10_000);
    request.use_priority = true;
    let order = instances_fetched_one_by_one(&t, &request, 4).await;
    assert_eq!(order, vec![old_high, new_high, old_low, new_low]);
}

/// Camunda's fetch order: `usePriority` orders by priority (highest first), then by the
/// `createTime` sorting if one is given. Without either Camunda promises no order, and the
/// queue's own order (priority, then age) is served.
#[tokio::test]
async fn fetch_order_follows_use_priority_then_the_create_time_sorting() {
    for (use_priority, sort_by_create_time_asc) in [
        (false, None),
        (false, Some(true)),
        (false, Some(false)),
        (true, Some(true)),
        (true, Some(false)),
    ] {
        let t = TestEngine::new().await;
        t.deploy("low", &prioritized("low", "q", 1)).await;
        t.deploy("high", &prioritized("high", "q", 10)).await;
        let mut started = Vec::new();
        for key in ["low", "high", "high", "low"] {
            let id = t
                .start(key, Variables::new())
                .await
                .instance
                .id()
                .to_owned();
            started.push(id);
            t.clock.advance(1000);
        }
        let [old_low, old_high, new_high, new_low] = [0, 1, 2, 3].map(|i| started[i].clone());
        let mut request = fetch_request("w", &["q"], 1, 10_000);
        request.use_priority = use_priority;
        request.sort_by_create_time_asc = sort_by_create_time_asc;
        let order = instances_fetched_one_by_one(&t, &request, 4).await;
        let expected = match (use_priority, sort_by_create_time_asc) {
            (true, Some(false)) => vec![new_high, old_high, new_low, old_low],
            (_, None) | (true, Some(true)) => vec![old_high, new_high, old_low, new_low],
            (false, Some(true)) => started.clone(),
            (false, Some(false)) => started.iter().rev().cloned().collect(),
        };
        assert_eq!(
            order, expected,
            "usePriority {use_priority}, sorting {sort_by_create_time_asc:?}"
        );
    }
}

#[tokio::test]
async fn an_expired_lock_returns_the_task_to_the_queue() {
    let t = TestEngine::new().await;
    t.deploy("p", &one_task("exp", "exp")).await;
    t.start("exp", Variables::new()).await;
    let first = t
        .engine
        .fetch_and_lock(fetch_request("w1", &["exp"], 1, 1_000))
        .await
        .expect("fetch");
    assert_eq!(first.len(), 1);
    let task_id = first[0].task.id.clone();
    assert!(t.fetch("w2", "exp", 1).await.is_empty(), "locked");
    t.advance(999).await;
    assert!(
        t.fetch("w2", "exp", 1).await.is_empty(),
        "still locked at expiry - 1 ms"
    );
    t.advance(2).await;
    let second = t.fetch("w2", "exp", 1).await;
    assert_eq!(second.len(), 1, "the lock expired");
    assert_eq!(second[0].task.id, task_id);
    assert_eq!(second[0].task.worker_id.as_deref(), Some("w2"));
    // w1 lost it: its completion is refused, w2's is accepted.
    let err = t
        .engine
        .complete_external_task(&task_id, "w1", Variables::new(), Variables::new())
        .await
        .expect_err("w1 no longer holds the lock");
    assert!(matches!(err, ProcessEngineError::WrongWorker(_)), "{err:?}");
    t.complete(&task_id, "w2", Variables::new()).await;
}

#[tokio::test]
async fn complete_failure_bpmn_error_and_extend_lock_check_the_worker() {
    let t = TestEngine::new().await;
    t.deploy("p", &one_task("ww", "ww")).await;
    t.start("ww", Variables::new()).await;
    let task = t.fetch("owner", "ww", 1).await.remove(0).task;
    let id = task.id.clone();

    let e = t
        .engine
        .complete_external_task(&id, "intruder", Variables::new(), Variables::new())
        .await
        .expect_err("complete by another worker");
    assert!(matches!(e, ProcessEngineError::WrongWorker(_)), "{e:?}");
    assert!(e.to_string().contains("owner"), "names the lock owner: {e}");

    let e = t
        .engine
        .external_task_failure(
            &id,
            FailureRequest {
                worker_id: "intruder".into(),
                retries: 1,
                ..FailureRequest::default()
            },
        )
        .await
        .expect_err("failure by another worker");
    assert!(matches!(e, ProcessEngineError::WrongWorker(_)), "{e:?}");

    let e = t
        .engine
        .external_task_bpmn_error(&id, "intruder", "E", None, Variables::new())
        .await
        .expect_err("bpmn error by another worker");
    assert!(matches!(e, ProcessEngineError::WrongWorker(_)), "{e:?}");

    let e = t
        .engine
        .extend_lock(&id, "intruder", 10_000)
        .await
        .expect_err("extend by another worker");
    assert!(matches!(e, ProcessEngineError::BadRequest(_)), "{e:?}");

    // None of the refused calls changed the task.
    assert_eq!(t.engine.external_task(&id).await.expect("task"), task);

    // The owner may extend: the new expiry counts from now.
    t.clock.advance(5_000);
    t.engine
        .extend_lock(&id, "owner", 100_000)
        .await
        .expect("extend");
    let extended = t.engine.external_task(&id).await.expect("task");
    assert_eq!(extended.lock_expiration_time, Some(T0 + 5_000 + 100_000));
    let e = t
        .engine
        .extend_lock(&id, "owner", 0)
        .await
        .expect_err("lockTime 0");
    assert!(matches!(e, ProcessEngineError::BadUserRequest(_)), "{e:?}");
}

#[tokio::test]
async fn an_expired_lock_cannot_be_extended() {
    let t = TestEngine::new().await;
    t.deploy("p", &one_task("ext", "ext")).await;
    t.start("ext", Variables::new()).await;
    let id = t
        .engine
        .fetch_and_lock(fetch_request("w", &["ext"], 1, 1_000))
        .await
        .expect("fetch")
        .remove(0)
        .task
        .id;
    t.clock.advance(2_000);
    let e = t
        .engine
        .extend_lock(&id, "w", 1_000)
        .await
        .expect_err("expired");
    assert!(matches!(e, ProcessEngineError::BadRequest(_)), "{e:?}");
}

#[tokio::test]
async fn unlock_makes_a_task_fetchable_by_anyone() {
    let t = TestEngine::new().await;
    t.deploy("p", &one_task("un", "un")).await;
    t.start("un", Variables::new()).await;
    let id = t.fetch("w1", "un", 1).await.remove(0).task.id;
    assert!(t.fetch("w2", "un", 1).await.is_empty());
    t.engine.unlock_external_task(&id).await.expect("unlock");
    let task = t.engine.external_task(&id).await.expect("task");
    assert_eq!((task.worker_id, task.lock_expiration_time), (None, None));
    let again = t.fetch("w2", "un", 1).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].task.id, id);
}

#[tokio::test]
async fn failure_sets_retries_and_hides_the_task_for_the_retry_timeout() {
    let t = TestEngine::new().await;
    t.deploy("p", &one_task("fail", "fail")).await;
    t.start("fail", Variables::new()).await;
    let id = t.fetch("w", "fail", 1).await.remove(0).task.id;
    t.engine
        .external_task_failure(
            &id,
            FailureRequest {
                worker_id: "w".into(),
                error_message: Some("backend down".into()),
                error_details: Some("stack".into()),
                retries: 2,
                retry_timeout: 5_000,
                variables: vars([("attempt", Value::Integer(1))]),
                ..FailureRequest::default()
            },
        )
        .await
        .expect("failure");
    let task = t.engine.external_task(&id).await.expect("task");
    assert_eq!(task.retries, Some(2));
    assert_eq!(task.error_message.as_deref(), Some("backend down"));
    assert_eq!(task.error_details.as_deref(), Some("stack"));
    assert!(t.engine.incidents().await.expect("incidents").is_empty());
    assert!(
        t.fetch("w", "fail", 1).await.is_empty(),
        "in its retry timeout"
    );
    t.advance(4_999).await;
    assert!(
        t.fetch("w", "fail", 1).await.is_empty(),
        "still in its retry timeout"
    );
    t.advance(2).await;
    let again = t.fetch("w2", "fail", 1).await;
    assert_eq!(again.len(), 1, "fetchable after the retry timeout");
    assert_eq!(again[0].variables.get("attempt"), Some(&Value::Integer(1)));

    let e = t
        .engine
        .external_task_failure(
            &id,
            FailureRequest {
                worker_id: "w2".into(),
                retries: -1,
                ..FailureRequest::default()
            },
        )
        .await
        .expect_err("negative retries");
    assert!(!matches!(e, ProcessEngineError::Internal(_)), "{e:?}");
}

fn with_error_boundary(process_id: &str, topic: &str) -> String {
    definitions_with(
        process_id,
        r#"  <bpmn:error id="err_stock" errorCode="OUT_OF_STOCK" />"#,
        &format!(
            r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task" />
    <bpmn:serviceTask id="task" camunda:type="external" camunda:topic="{topic}" />
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" />
    <bpmn:endEvent id="end" />
    <bpmn:boundaryEvent id="caught" attachedToRef="task">
      <bpmn:errorEventDefinition errorRef="err_stock" />
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="caught" targetRef="handle" />
    <bpmn:userTask id="handle" />
    <bpmn:sequenceFlow id="f4" sourceRef="handle" targetRef="end2" />
    <bpmn:endEvent id="end2" />"#
        ),
    )
}

#[tokio::test]
async fn a_bpmn_error_is_routed_to_its_boundary_event() {
    let t = TestEngine::new().await;
    t.deploy("p", &with_error_boundary("berr", "stock")).await;
    let id = t
        .start("berr", Variables::new())
        .await
        .instance
        .id()
        .to_owned();
    let task = t.fetch("w", "stock", 1).await.remove(0).task;
    t.engine
        .external_task_bpmn_error(
            &task.id,
            "w",
            "OUT_OF_STOCK",
            Some("none left".into()),
            vars([("reason", Value::String("empty".into()))]),
        )
        .await
        .expect("bpmn error");
    assert!(
        t.engine.external_task(&task.id).await.is_err(),
        "the task is gone"
    );
    let acts = t.activities(&id).await;
    assert!(acts.iter().any(|a| a.activity_id == "task" && a.canceled));
    let user_tasks = t.engine.user_tasks().await.expect("user tasks");
    assert_eq!(user_tasks.len(), 1);
    assert_eq!(user_tasks[0].task_definition_key, "handle");
    let v = t
        .engine
        .task_variables(&user_tasks[0].id)
        .await
        .expect("variables");
    assert_eq!(v.get("reason"), Some(&Value::String("empty".into())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_wakes_when_a_matching_task_is_created() {
    let t = TestEngine::new().await;
    t.deploy("p", &one_task("lp", "lp")).await;
    let engine = t.engine.clone();
    let mut request = fetch_request("poller", &["lp"], 1, 10_000);
    // Long enough that only a wake-up (not the engine's periodic re-check every 5 s, nor
    // the timeout) can answer before the bound below.
    request.async_response_timeout = Some(Duration::from_secs(60));
    let poll = tokio::spawn(async move { engine.fetch_and_lock(request).await });
    // Wait until the request is parked (a genuinely asynchronous outcome).
    let deadline = Instant::now() + Duration::from_secs(10);
    while t.engine.metrics().fetch_and_lock_parked == 0 {
        assert!(Instant::now() < deadline, "the long poll never parked");
        tokio::task::yield_now().await;
    }
    let id = t
        .start("lp", Variables::new())
        .await
        .instance
        .id()
        .to_owned();
    let got = tokio::time::timeout(Duration::from_millis(4_500), poll)
        .await
        .expect("the long poll was not woken by the new task")
        .expect("join")
        .expect("fetch");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].task.process_instance_id, id);
    assert_eq!(got[0].task.worker_id.as_deref(), Some("poller"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_workers_never_get_the_same_task() {
    const TASKS: usize = 1_000;
    const WORKERS: usize = 16;
    let t = TestEngine::new().await;
    t.deploy("p", &one_task("race", "race")).await;
    let mut starts = tokio::task::JoinSet::new();
    for chunk in 0..(TASKS / 50) {
        let engine = t.engine.clone();
        starts.spawn(async move {
            for _ in 0..50 {
                engine
                    .start_instance(
                        baton::engine::DefinitionRef::Key {
                            key: "race".into(),
                            tenant_id: None,
                        },
                        baton::engine::StartRequest::default(),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("start in chunk {chunk}: {e:?}"));
            }
        });
    }
    while let Some(r) = starts.join_next().await {
        r.expect("join");
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(WORKERS));
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..WORKERS {
        let engine = t.engine.clone();
        let barrier = barrier.clone();
        workers.spawn(async move {
            let worker = format!("worker-{w}");
            barrier.wait().await;
            let mut mine = Vec::new();
            loop {
                let got = engine
                    .fetch_and_lock(fetch_request(&worker, &["race"], 7, 600_000))
                    .await
                    .expect("fetch");
                if got.is_empty() {
                    break;
                }
                for l in got {
                    assert_eq!(l.task.worker_id.as_deref(), Some(worker.as_str()));
                    mine.push(l.task.id);
                }
            }
            (worker, mine)
        });
    }
    let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut total = 0;
    let mut per_worker = Vec::new();
    while let Some(r) = workers.join_next().await {
        let (worker, mine) = r.expect("join");
        per_worker.push((worker.clone(), mine.len()));
        for id in mine {
            total += 1;
            if let Some(first) = seen.insert(id.clone(), worker.clone()) {
                panic!("task {id} handed out twice: to {first} and to {worker}");
            }
        }
    }
    assert_eq!(
        total, TASKS,
        "every task delivered exactly once: {per_worker:?}"
    );
    // And the store agrees with what the workers were told.
    for task in t.engine.external_tasks().await.expect("tasks") {
        assert_eq!(
            task.worker_id.as_ref(),
            seen.get(&task.id),
            "lock owner of {}",
            task.id
        );
    }
}

/// Events are built only for someone who watches them (a subscriber here); either way each
/// activity instance started and ended is metered exactly once.
#[tokio::test]
async fn a_watcher_sees_each_activity_and_the_meters_count_each_once() {
    use baton::engine::EngineEvent;
    use baton_tests::wait_for_event;

    let t = TestEngine::new().await;
    t.deploy("p", &one_task("watched", "work")).await;
    // Unwatched: counted only.
    let quiet = t.start("watched", Variables::new()).await.instance.state.id;
    let mut events = t.engine.subscribe_events();
    let id = t.start("watched", Variables::new()).await.instance.state.id;
    let entered = |want: &'static str| {
        let id = id.clone();
        move |e: EngineEvent| match e {
            EngineEvent::ActivityEntered {
                activity_id,
                process_instance_id,
                ..
            } if process_instance_id == id && activity_id == want => Some(()),
            _ => None,
        }
    };
    wait_for_event(&mut events, "the start event entered", entered("start")).await;
    wait_for_event(&mut events, "the task entered", entered("task")).await;
    for task in t.fetch("w", "work", 2).await {
        t.complete(&task.task.id, "w", Variables::new()).await;
    }
    let left = wait_for_event(&mut events, "the task left", |e| match e {
        EngineEvent::ActivityLeft {
            activity_id,
            process_instance_id,
            canceled,
            ..
        } if process_instance_id == id && activity_id == "task" => Some(canceled),
        _ => None,
    })
    .await;
    assert!(!left, "completed, not canceled");
    assert_eq!(t.instance_state(&quiet).await, "COMPLETED");
    assert_eq!(t.instance_state(&id).await, "COMPLETED");

    t.engine.flush_metrics().await.expect("flush");
    let sum = |name| t.engine.metric_sum(name, 0, i64::MAX).expect("metric");
    // start, task, end of each instance.
    assert_eq!(sum("activity-instance-start"), 6);
    assert_eq!(sum("activity-instance-end"), 6);
}
