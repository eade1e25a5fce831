//! The direct hand-off of a new external task to a parked long poll, on a real sled store
//! with a manual clock: the task is written once, locked for the poll, by the command that
//! creates it; filters and room decide which poll takes it; a task the same command removes
//! is never handed; a poll that goes away, or a command dropped before its hand-over, gives
//! the task back.

use std::sync::Arc;
use std::time::Duration;

use baton_bpmn::{Value, Variables};

use super::parked::HandOffSlot;
use super::tests::{T0, deploy_bpmn, deployed, fetch_request, spawn_parked_fetch, start_order};
use super::*;

/// Two tasks of the `check-stock` topic in parallel, and a branch that creates a task of the
/// same topic and ends the instance with a terminate end event in the same command.
const FORKS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d2" targetNamespace="http://example.com">
  <bpmn:process id="pair" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:sequenceFlow id="p0" sourceRef="s" targetRef="fork" />
    <bpmn:parallelGateway id="fork" />
    <bpmn:sequenceFlow id="p1" sourceRef="fork" targetRef="a" />
    <bpmn:sequenceFlow id="p2" sourceRef="fork" targetRef="b" />
    <bpmn:serviceTask id="a" camunda:type="external" camunda:topic="check-stock" />
    <bpmn:serviceTask id="b" camunda:type="external" camunda:topic="check-stock" />
    <bpmn:sequenceFlow id="p3" sourceRef="a" targetRef="join" />
    <bpmn:sequenceFlow id="p4" sourceRef="b" targetRef="join" />
    <bpmn:parallelGateway id="join" />
    <bpmn:sequenceFlow id="p5" sourceRef="join" targetRef="e" />
    <bpmn:endEvent id="e" />
  </bpmn:process>
  <bpmn:process id="doomed" isExecutable="true">
    <bpmn:startEvent id="ds" />
    <bpmn:sequenceFlow id="d0" sourceRef="ds" targetRef="dfork" />
    <bpmn:parallelGateway id="dfork" />
    <bpmn:sequenceFlow id="d1" sourceRef="dfork" targetRef="dtask" />
    <bpmn:sequenceFlow id="d2" sourceRef="dfork" targetRef="dend" />
    <bpmn:serviceTask id="dtask" camunda:type="external" camunda:topic="check-stock" />
    <bpmn:endEvent id="dend"><bpmn:terminateEventDefinition /></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"#;

async fn deploy_forks(engine: &ProcessEngine) {
    deploy_bpmn(engine, "forks", FORKS).await;
}

async fn start(engine: &ProcessEngine, key: &str, request: StartRequest) -> StartResult {
    engine
        .start_instance(
            DefinitionRef::Key {
                key: key.into(),
                tenant_id: None,
            },
            request,
        )
        .await
        .expect("start")
}

/// Wait (bounded) until `n` long polls are parked. A parked poll takes hand-offs from the
/// moment it counts as parked: both happen before it first waits.
async fn until_parked(engine: &ProcessEngine, n: u64) {
    let parked = async {
        while engine.metrics().fetch_and_lock_parked < n {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), parked)
        .await
        .expect("the polls park");
}

async fn answer(waiter: tokio::task::JoinHandle<Result<Vec<LockedTask>>>) -> Vec<LockedTask> {
    tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("answered before its time-out")
        .expect("join")
        .expect("fetch")
}

fn spawn_fetch(
    engine: &ProcessEngine,
    request: FetchAndLockRequest,
) -> tokio::task::JoinHandle<Result<Vec<LockedTask>>> {
    let engine = engine.clone();
    tokio::spawn(async move { engine.fetch_and_lock(request).await })
}

/// Fetch (no long poll) as `w2` until a task is there: one unlocked in the background
/// (bounded: far sooner than its lock would expire).
async fn fetch_once_unlocked(engine: &ProcessEngine) -> Vec<LockedTask> {
    let fetched = async {
        loop {
            let got = engine
                .fetch_and_lock(fetch_request("w2"))
                .await
                .expect("fetch");
            if !got.is_empty() {
                return got;
            }
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), fetched)
        .await
        .expect("the task is unlocked long before its lock would expire")
}

#[tokio::test]
async fn a_parked_poll_gets_the_new_task_locked_by_the_command_that_creates_it() {
    let (_dir, _clock, engine) = deployed().await;
    deploy_forks(&engine).await;
    // The engine's first command also writes the usage metrics, with a flush of their own:
    // let an instance that leaves no task take that turn, and wait for the write.
    start(&engine, "doomed", StartRequest::default()).await;
    engine.flush_metrics().await.expect("metrics");
    let waiter = spawn_parked_fetch(&engine, 30);
    until_parked(&engine, 1).await;
    let flushes = engine.inner.store.flushes();
    let started = start_order(&engine).await;
    let got = answer(waiter).await;
    assert_eq!(got.len(), 1);
    let task = &got[0].task;
    assert_eq!(task.process_instance_id, started.instance.state.id);
    assert_eq!(task.worker_id.as_deref(), Some("w1"));
    assert_eq!(task.lock_expiration_time, Some(T0 + 60_000));
    // The store holds it as the worker got it: written once, locked, by the start.
    assert_eq!(&engine.external_task(&task.id).await.expect("stored"), task);
    assert_eq!(engine.metrics().fetch_and_lock_hand_offs, 1);
    // One flush of the log made the start and the lock durable; the answer waited for no
    // flush of its own. (On PostgreSQL, under `BATON_TEST_DATABASE`, the log is the
    // database's: its commits are not counted here.)
    if !engine.inner.store.is_shared() {
        assert_eq!(engine.inner.store.flushes() - flushes, 1);
    }
    let again = engine
        .fetch_and_lock(fetch_request("w2"))
        .await
        .expect("fetch");
    assert!(again.is_empty(), "the task is locked: {again:?}");
}

#[tokio::test]
async fn a_new_task_goes_only_to_a_poll_whose_filters_take_it_with_the_variables_it_asked_for() {
    let (_dir, _clock, engine) = deployed().await;
    let mut request = fetch_request("picky");
    request.async_response_timeout = Some(Duration::from_secs(30));
    request.topics[0].business_key = Some("b2".into());
    request.topics[0]
        .process_variables
        .insert("amount".into(), Value::Long(5));
    request.topics[0].variables = Some(vec!["amount".into()]);
    let waiter = spawn_fetch(&engine, request);
    until_parked(&engine, 1).await;

    let with = |key: &str, amount: i64| StartRequest {
        business_key: Some(key.into()),
        variables: Variables::from([
            ("amount".to_owned(), Value::Long(amount)),
            ("note".to_owned(), Value::String("n".into())),
        ]),
        ..StartRequest::default()
    };
    // The wrong business key, then the wrong amount: both wait in the queue, unlocked.
    start(&engine, "order", with("b1", 5)).await;
    start(&engine, "order", with("b2", 6)).await;
    let queued = engine.external_tasks().await.expect("tasks");
    assert_eq!(queued.len(), 2);
    assert!(queued.iter().all(|t| t.worker_id.is_none()), "{queued:?}");

    let wanted = start(&engine, "order", with("b2", 5)).await;
    let got = answer(waiter).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].task.process_instance_id, wanted.instance.state.id,
        "{got:?}"
    );
    assert_eq!(got[0].task.worker_id.as_deref(), Some("picky"));
    assert_eq!(
        got[0].variables,
        Variables::from([("amount".to_owned(), Value::Long(5))])
    );
    assert_eq!(engine.metrics().fetch_and_lock_hand_offs, 1);
}

#[tokio::test]
async fn a_poll_takes_no_more_than_its_max_tasks_and_never_a_task_its_command_removed() {
    let (_dir, _clock, engine) = deployed().await;
    deploy_forks(&engine).await;
    let mut one = fetch_request("one");
    one.max_tasks = 1;
    one.async_response_timeout = Some(Duration::from_secs(30));
    let waiter = spawn_fetch(&engine, one);
    until_parked(&engine, 1).await;

    // The doomed instance creates a task and ends in the same command: nothing is handed,
    // nothing is left.
    let doomed = start(&engine, "doomed", StartRequest::default()).await;
    assert!(doomed.ended);
    assert!(engine.external_tasks().await.expect("tasks").is_empty());
    assert_eq!(engine.metrics().fetch_and_lock_hand_offs, 0);

    // Two tasks in one command: the poll has room for one; the other waits in the queue.
    let pair = start(&engine, "pair", StartRequest::default()).await;
    let got = answer(waiter).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].task.process_instance_id, pair.instance.state.id);
    let rest = engine
        .fetch_and_lock(fetch_request("w2"))
        .await
        .expect("fetch");
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert_ne!(rest[0].task.id, got[0].task.id);
    assert_eq!(engine.metrics().fetch_and_lock_hand_offs, 1);
}

#[tokio::test]
async fn tasks_handed_to_a_poll_that_went_away_are_unlocked_again() {
    let (_dir, _clock, engine) = deployed().await;
    // A poll that parks, is handed a task after its command's flush, and is dropped before
    // it answers (its client disconnected).
    let slot = HandOffSlot::new(&engine, Arc::new(fetch_request("gone")));
    slot.open();
    let started = start_order(&engine).await;
    let stored = engine.external_tasks().await.expect("tasks");
    assert_eq!(stored[0].worker_id.as_deref(), Some("gone"));
    drop(slot);
    let got = fetch_once_unlocked(&engine).await;
    assert_eq!(got[0].task.process_instance_id, started.instance.state.id);

    // A task promised to a poll that goes away before the command is durable: the hand-over
    // reports it, for the caller to unlock.
    let slot = HandOffSlot::new(&engine, Arc::new(fetch_request("late")));
    slot.open();
    let mut task = got[0].task.clone();
    task.worker_id = None;
    task.lock_expiration_time = None;
    let state = started.instance.state.clone();
    let promise = engine
        .inner
        .hand_offs
        .promise(&engine, &task, &state, T0)
        .expect("the open poll takes the task");
    assert_eq!(
        promise.task().and_then(|t| t.worker_id.as_deref()),
        Some("late")
    );
    drop(slot);
    let back = promise.deliver().expect("the poll has gone");
    assert_eq!(back.worker_id.as_deref(), Some("late"));
    // Gone from the registry: nothing is promised to it any more.
    assert!(
        engine
            .inner
            .hand_offs
            .promise(&engine, &task, &state, T0)
            .is_none()
    );
}

#[tokio::test]
async fn a_task_locked_by_a_command_whose_caller_went_away_is_unlocked_again() {
    let (_dir, _clock, engine) = deployed().await;
    let started = start_order(&engine).await;
    let queued = engine.external_tasks().await.expect("tasks");
    let (task, raw) = engine.load_external_task(&queued[0].id).expect("stored");
    assert_eq!(task.worker_id, None);
    // A poll parks; a command locks the task for it and commits, and its caller is dropped
    // before the hand-over (its client disconnected during the flush).
    let slot = HandOffSlot::new(&engine, Arc::new(fetch_request("parked")));
    slot.open();
    let promise = engine
        .inner
        .hand_offs
        .promise(&engine, &task, &started.instance.state, T0)
        .expect("the open poll takes the task");
    let locked = promise.task().expect("locked").clone();
    engine
        .commit_task_change(raw, &task, &locked, crate::store::WriteSet::new())
        .expect("the command's commit");
    drop(promise);
    let got = fetch_once_unlocked(&engine).await;
    assert_eq!(got[0].task.id, task.id);
    // The poll was given its place back and got nothing.
    assert!(slot.close().await.is_empty());
}
