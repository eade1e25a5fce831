//! Service tasks run by wasm components inside the engine (issue 5, item 6): no worker needed,
//! BPMN errors routed to boundary events, one distinct incident per limit while other
//! instances keep running, retries on the `failedJobRetryTimeCycle` schedule under the
//! injected clock, and bad uploads that change nothing.

use std::time::Duration;

use baton::engine::{DeployRequest, EngineEvent, ProcessEngineError, Resource};
use baton::records::{HistoryLog, HistoryLogKind, LogState, ModuleLimits};
use baton::wasm::WasmConfig;
use baton_bpmn::Value;
use baton_tests::{TestEngine, guests, vars, wait_for_end, wait_for_event};

/// A process: start → service task on `topic` (with optional retry cycle and error boundary) → end.
fn one_task(key: &str, topic: &str, retry_cycle: Option<&str>, error_code: Option<&str>) -> String {
    let retry = retry_cycle
        .map(|c| format!("<bpmn:extensionElements><camunda:failedJobRetryTimeCycle>{c}</camunda:failedJobRetryTimeCycle></bpmn:extensionElements>"))
        .unwrap_or_default();
    let boundary = error_code
        .map(|_| {
            r#"<bpmn:boundaryEvent id="caught" attachedToRef="task">
      <bpmn:errorEventDefinition errorRef="err" camunda:errorCodeVariable="caughtCode" />
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f_err" sourceRef="caught" targetRef="declined" />
    <bpmn:endEvent id="declined" />"#
                .to_owned()
        })
        .unwrap_or_default();
    let error_def = error_code
        .map(|code| format!(r#"<bpmn:error id="err" errorCode="{code}" />"#))
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://baton.test">
  {error_def}
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task" />
    <bpmn:serviceTask id="task" camunda:type="external" camunda:topic="{topic}">{retry}</bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" />
    <bpmn:endEvent id="end" />
    {boundary}
  </bpmn:process>
</bpmn:definitions>"#
    )
}

async fn wasm_engine() -> TestEngine {
    TestEngine::with(|c| {
        c.wasm = Some(WasmConfig {
            cache_dir: Some(c.data_dir.join("wasm-cache")),
            ..WasmConfig::default()
        });
    })
    .await
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("guest {path}: {e}"))
}

async fn deploy_with_module(t: &TestEngine, key: &str, xml: &str, topic: &str, wasm: &str) {
    t.engine
        .deploy(DeployRequest {
            name: Some(key.to_owned()),
            resources: vec![
                Resource {
                    name: format!("{key}.bpmn"),
                    bytes: xml.as_bytes().to_vec(),
                },
                Resource {
                    name: format!("{topic}.wasm"),
                    bytes: read(wasm),
                },
            ],
            ..DeployRequest::default()
        })
        .await
        .unwrap_or_else(|e| panic!("deploy {key}: {e:?}"));
}

/// The end state of an instance that may already have ended before the subscription, or will.
async fn ended_state(
    engine: &baton::engine::ProcessEngine,
    events: &mut tokio::sync::broadcast::Receiver<EngineEvent>,
    instance_id: &str,
) -> String {
    let history = engine.historic_process_instances().await.expect("history");
    match history.into_iter().find(|h| h.id == instance_id) {
        Some(h) if h.end_time.is_some() => h.state,
        _ => wait_for_end(events, instance_id).await,
    }
}

/// Poll (bounded) until the in-engine task of an instance has `retries` left.
async fn wait_for_retries(
    t: &TestEngine,
    instance_id: &str,
    retries: i32,
) -> baton::records::ExternalTask {
    let start = std::time::Instant::now();
    loop {
        let tasks = t.engine.external_tasks().await.expect("tasks");
        if let Some(task) = tasks
            .into_iter()
            .find(|x| x.process_instance_id == instance_id && x.retries == Some(retries))
        {
            return task;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "task never reached {retries} retries"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_wasm_task_completes_the_instance_without_any_worker() {
    let t = wasm_engine().await;
    deploy_with_module(
        &t,
        "stock",
        &one_task("stock", "check-stock", None, None),
        "check-stock",
        guests::STOCK_CHECK,
    )
    .await;
    let mut events = t.engine.subscribe_events();
    let items = serde_json::json!([{"sku": "A-1", "quantity": 2}, {"sku": "B-7", "quantity": 1}]);
    let started = t
        .start("stock", vars([("items", Value::Json(items))]))
        .await;
    let id = started.instance.state.id.clone();
    assert_eq!(wait_for_end(&mut events, &id).await, "COMPLETED");
    let history = t
        .engine
        .historic_variables(Some(&id))
        .await
        .expect("variables");
    let available = history
        .iter()
        .find(|v| v.name == "available")
        .expect("available set by the component");
    assert_eq!(available.value, Value::Boolean(true));
    assert!(t.engine.metrics().wasm_executions >= 1);
}

#[tokio::test]
async fn a_bpmn_error_thrown_by_a_component_is_caught_by_the_boundary_event() {
    let t = wasm_engine().await;
    deploy_with_module(
        &t,
        "pay",
        &one_task("pay", "payment", None, Some("PAYMENT_DECLINED")),
        "payment",
        guests::PAYMENT,
    )
    .await;
    let mut events = t.engine.subscribe_events();
    let started = t
        .start("pay", vars([("amount", Value::Double(5000.0))]))
        .await;
    let id = started.instance.state.id.clone();
    assert!(started.ended, "thrown and caught inside the start");
    assert_eq!(wait_for_end(&mut events, &id).await, "COMPLETED");
    assert!(
        t.activity_completed(&id, "declined").await,
        "the error path ran"
    );
    let states: Vec<LogState> = task_log_states(&t, &id)
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(states, [LogState::Created], "an error is no success");
    assert_eq!(t.engine.metrics().bpmn_errors, 1);
    assert!(t.engine.external_tasks().await.expect("tasks").is_empty());
    assert!(
        !t.activity_completed(&id, "end").await,
        "the normal path did not"
    );
    let history = t
        .engine
        .historic_variables(Some(&id))
        .await
        .expect("variables");
    assert!(
        history
            .iter()
            .any(|v| v.name == "caughtCode" && v.value == Value::from("PAYMENT_DECLINED"))
    );
    assert!(
        history.iter().any(|v| v.name == "declinedAmount"),
        "variables of the error are set"
    );

    // Below the limit the same component pays.
    let ok = t
        .start("pay", vars([("amount", Value::Integer(100))]))
        .await;
    let ok_id = ok.instance.state.id.clone();
    assert_eq!(wait_for_end(&mut events, &ok_id).await, "COMPLETED");
    assert!(t.activity_completed(&ok_id, "end").await);
}

#[tokio::test]
async fn each_limit_raises_its_own_incident_while_other_instances_keep_running() {
    let t = wasm_engine().await;
    let cases: [(&str, &str, ModuleLimits, &str); 4] = [
        (
            "fuel",
            guests::SPIN_LOOP,
            ModuleLimits {
                fuel: Some(10_000_000),
                timeout_ms: Some(60_000),
                ..ModuleLimits::default()
            },
            "fuel exhausted after 10,000,000 units",
        ),
        (
            "deadline",
            guests::SPIN_LOOP,
            ModuleLimits {
                fuel: Some(u64::MAX / 4),
                timeout_ms: Some(300),
                ..ModuleLimits::default()
            },
            "deadline of",
        ),
        (
            "memory",
            guests::ALLOC_BOMB,
            ModuleLimits {
                memory_bytes: Some(16 << 20),
                ..ModuleLimits::default()
            },
            "memory limit of 16 MiB",
        ),
        ("trap", guests::PANIC, ModuleLimits::default(), "trap"),
    ];
    t.engine
        .put_module("echo", read(guests::ECHO), ModuleLimits::default())
        .await
        .expect("echo module");
    t.deploy("echoer", &one_task("echoer", "echo", None, None))
        .await;
    let mut events = t.engine.subscribe_events();
    let mut failing = Vec::new();
    for (topic, guest, limits, expected) in &cases {
        t.engine
            .put_module(topic, read(guest), limits.clone())
            .await
            .unwrap_or_else(|e| panic!("{topic}: {e:?}"));
        let key = format!("p_{topic}");
        // One attempt only: the first failure is the incident.
        t.deploy(&key, &one_task(&key, topic, Some("R1/PT10S"), None))
            .await;
        let started = t.start(&key, Default::default()).await;
        failing.push((started.instance.state.id.clone(), *expected));
    }
    // While the limits are being hit, another instance runs its component to the end.
    let echo = t.start("echoer", vars([("x", Value::Integer(7))])).await;
    let echo_id = echo.instance.state.id.clone();
    let mut echo_events = t.engine.subscribe_events();
    // The limits are hit in whatever order the guests reach them: collect the incidents as
    // they come (waiting for one instance's would skip the others' events).
    let mut messages = std::collections::HashMap::new();
    while messages.len() < failing.len() {
        let (id, message) = wait_for_event(&mut events, "the limits' incidents", |e| match e {
            EngineEvent::IncidentRaised {
                process_instance_id,
                message,
                ..
            } => Some((process_instance_id, message.unwrap_or_default())),
            _ => None,
        })
        .await;
        messages.insert(id, message);
    }
    for (id, expected) in &failing {
        let message = messages.get(id).map(String::as_str).unwrap_or_default();
        assert!(
            message.contains(expected),
            "incident of {id}: '{message}' should contain '{expected}'"
        );
    }
    let echo_state = ended_state(&t.engine, &mut echo_events, &echo_id).await;
    assert_eq!(echo_state, "COMPLETED");
    let incidents = t.engine.incidents().await.expect("incidents");
    assert_eq!(incidents.len(), cases.len());
    assert!(
        incidents
            .iter()
            .all(|i| i.incident_type.as_str() == "failedExternalTask")
    );
}

#[tokio::test]
async fn retries_follow_the_retry_cycle_on_the_injected_clock() {
    let t = wasm_engine().await;
    t.engine
        .put_module("flaky", read(guests::PANIC), ModuleLimits::default())
        .await
        .expect("module");
    t.deploy(
        "retrying",
        &one_task("retrying", "flaky", Some("R3/PT10S"), None),
    )
    .await;
    let started = t.start("retrying", Default::default()).await;
    let id = started.instance.state.id.clone();
    // Attempt 1 runs right after the start commits.
    let task = wait_for_retries(&t, &id, 2).await;
    assert_eq!(
        task.lock_expiration_time,
        Some(baton_tests::T0 + 10_000),
        "next attempt 10 s later"
    );
    assert!(
        task.error_message.as_deref().unwrap_or("").contains("trap"),
        "{:?}",
        task.error_message
    );
    // Not yet due: nothing runs.
    assert_eq!(t.advance(9_999).await, 0);
    assert_eq!(
        t.engine
            .external_task(&task.id)
            .await
            .expect("task")
            .retries,
        Some(2)
    );
    // Due: attempt 2, then attempt 3 ten seconds later, then the incident.
    assert_eq!(t.advance(1).await, 1);
    assert_eq!(
        t.engine
            .external_task(&task.id)
            .await
            .expect("task")
            .retries,
        Some(1)
    );
    assert!(t.engine.incidents().await.expect("incidents").is_empty());
    assert_eq!(t.advance(10_000).await, 1);
    let last = t.engine.external_task(&task.id).await.expect("task");
    assert_eq!(last.retries, Some(0));
    let incidents = t.engine.incidents().await.expect("incidents");
    assert_eq!(incidents.len(), 1);
    assert_eq!(
        incidents[0].configuration.as_deref(),
        Some(task.id.as_str())
    );
    // The captured log is kept on the task.
    let log = t.engine.task_log(&task.id).await.expect("log");
    assert!(!log.is_empty(), "panic output is captured");
}

#[tokio::test]
async fn a_bad_upload_changes_nothing() {
    let t = wasm_engine().await;
    let garbage = b"\0asm but not really a component".to_vec();
    let err = t
        .engine
        .put_module("bad", garbage.clone(), ModuleLimits::default())
        .await
        .expect_err("garbage rejected");
    assert!(
        matches!(err, ProcessEngineError::InvalidModule(_)),
        "{err:?}"
    );
    let err = t
        .engine
        .put_module(
            "wrong",
            read(guests::WRONG_SIGNATURE),
            ModuleLimits::default(),
        )
        .await
        .expect_err("wrong world rejected");
    let message = err.to_string();
    assert!(
        message.contains("execute"),
        "says what is missing: {message}"
    );
    assert!(t.engine.modules().await.expect("modules").is_empty());
    // A deployment with a bad component deploys nothing at all, not even its BPMN.
    let result = t
        .engine
        .deploy(DeployRequest {
            name: Some("mixed".into()),
            resources: vec![
                Resource {
                    name: "p.bpmn".into(),
                    bytes: one_task("p", "bad", None, None).into_bytes(),
                },
                Resource {
                    name: "bad.wasm".into(),
                    bytes: garbage,
                },
            ],
            ..DeployRequest::default()
        })
        .await;
    assert!(result.is_err());
    assert!(
        t.engine
            .deployments()
            .await
            .expect("deployments")
            .is_empty()
    );
    assert!(
        t.engine
            .definitions()
            .await
            .expect("definitions")
            .is_empty()
    );
}

#[tokio::test]
async fn a_task_in_flight_when_the_engine_dies_runs_after_restart() {
    use std::sync::Arc;

    use baton::clock::ManualClock;
    use baton::engine::{EngineConfig, ProcessEngine};

    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::new(baton_tests::T0);
    let config = |slots: usize| {
        let mut c = EngineConfig::new(dir.path().join("data"));
        c.clock = Arc::new(clock.clone());
        c.background_scheduler = false;
        c.wasm = Some(WasmConfig {
            cache_dir: Some(dir.path().join("data").join("wasm-cache")),
            // No execution slot: the task is committed and dispatched but can never start,
            // which is what the store looks like when the process dies mid-execution.
            max_concurrency: slots,
            ..WasmConfig::default()
        });
        // Not run inside the start command either, or nothing would be in flight.
        c.wasm_inline = slots > 0;
        c
    };
    let instance_id = {
        let engine = ProcessEngine::open(config(0)).await.expect("open");
        engine
            .put_module("echo", read(guests::ECHO), ModuleLimits::default())
            .await
            .expect("module");
        engine
            .deploy(DeployRequest {
                name: Some("echoer".into()),
                resources: vec![Resource {
                    name: "echoer.bpmn".into(),
                    bytes: one_task("echoer", "echo", None, None).into_bytes(),
                }],
                ..DeployRequest::default()
            })
            .await
            .expect("deploy");
        let started = engine
            .start_instance(
                baton::engine::DefinitionRef::Key {
                    key: "echoer".into(),
                    tenant_id: None,
                },
                baton::engine::StartRequest::default(),
            )
            .await
            .expect("start");
        started.instance.state.id.clone()
        // Dropped here without shutdown: the "crash".
    };
    let engine = loop {
        // The previous handle is released asynchronously; retry briefly until sled's lock is free.
        match ProcessEngine::open(config(4)).await {
            Ok(e) => break e,
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    // Polled, not awaited as an event: on a shared (PostgreSQL) store the dropped engine's
    // last tasks may still be winding down beside the new one, and whichever of them commits
    // the end, the store is where it shows.
    let deadline = std::time::Instant::now() + baton_tests::EVENT_WAIT;
    let ended = loop {
        let history = engine.historic_process_instances().await.expect("history");
        if let Some(h) = history
            .into_iter()
            .find(|h| h.id == instance_id && h.end_time.is_some())
        {
            break h.state;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no end of {instance_id} within {:?}",
            baton_tests::EVENT_WAIT
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(ended, "COMPLETED", "recovery re-ran the in-flight task");
    let history = engine
        .historic_variables(Some(&instance_id))
        .await
        .expect("variables");
    assert!(
        history
            .iter()
            .any(|v| v.name == "attempt" && v.value == Value::Integer(1))
    );
}

#[tokio::test]
async fn a_retried_task_sees_the_same_clock_and_random_values() {
    let t = wasm_engine().await;
    t.engine
        .put_module("flaky", read(guests::FLAKY), ModuleLimits::default())
        .await
        .expect("module");
    t.deploy("again", &one_task("again", "flaky", Some("R2/PT5S"), None))
        .await;
    let started = t.start("again", Default::default()).await;
    // The start's inline attempt failed: dropped, and the task stored for the background.
    assert!(!started.ended);
    let id = started.instance.state.id.clone();
    let failed = wait_for_retries(&t, &id, 1).await;
    assert_eq!(
        failed.error_message.as_deref(),
        Some("first attempts always fail")
    );
    let seen = failed
        .error_details
        .clone()
        .expect("attempt 1 reported what it saw");
    // The retry runs later on the engine's clock, and on another wall-clock second entirely.
    let mut events = t.engine.subscribe_events();
    assert_eq!(t.advance(5_000).await, 1);
    let state = ended_state(&t.engine, &mut events, &id).await;
    assert_eq!(state, "COMPLETED");
    let history = variables_of(&t, &id).await;
    let (Some(Value::Date(now)), Some(Value::Long(random))) =
        (history.get("observedNow"), history.get("observedRandom"))
    else {
        panic!("attempt 2 returned its observations: {history:?}");
    };
    assert_eq!(
        seen,
        format!("now={now} random={random}"),
        "attempt 2 saw exactly what attempt 1 saw"
    );
    assert_eq!(
        *now, failed.create_time,
        "the guest's clock is the task's creation time"
    );
    let states: Vec<LogState> = task_log_states(&t, &id)
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(
        states,
        [LogState::Created, LogState::Failed, LogState::Successful],
        "one task, created once, failed once (the dropped inline attempt left nothing), \
         completed once"
    );
}

/// An instance's historic variables by name.
async fn variables_of(
    t: &TestEngine,
    instance_id: &str,
) -> std::collections::HashMap<String, Value> {
    t.engine
        .historic_variables(Some(instance_id))
        .await
        .expect("variables")
        .into_iter()
        .map(|v| (v.name, v.value))
        .collect()
}

/// The external task log of an instance: (task id, state) in creation order.
fn task_log_states(t: &TestEngine, instance_id: &str) -> Vec<(String, LogState)> {
    let mut keep = |l: &HistoryLog| match l {
        HistoryLog::ExternalTask(e) if e.process_instance_id == instance_id => {
            baton::store::Accept::Take
        }
        _ => baton::store::Accept::Skip,
    };
    t.engine
        .history_logs_where(HistoryLogKind::ExternalTask, &mut keep, 0, 100)
        .expect("external task log")
        .into_iter()
        .filter_map(|l| match l {
            HistoryLog::ExternalTask(e) => Some((e.external_task_id, e.state)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_pure_component_runs_inside_the_command_that_reached_its_task() {
    for inline in [true, false] {
        let t = TestEngine::with(|c| {
            c.wasm = Some(WasmConfig {
                cache_dir: Some(c.data_dir.join("wasm-cache")),
                ..WasmConfig::default()
            });
            c.wasm_inline = inline;
        })
        .await;
        t.engine
            .put_module("echo", read(guests::ECHO), ModuleLimits::default())
            .await
            .expect("module");
        t.deploy("echoer", &one_task("echoer", "echo", None, None))
            .await;
        let mut events = t.engine.subscribe_events();
        let started = t
            .start("echoer", vars([("order", Value::String("A-1".into()))]))
            .await;
        let id = started.instance.state.id.clone();
        if inline {
            // The start came back with the task done and the instance ended: one commit,
            // and no task was ever stored for anyone to fetch.
            assert!(
                started.ended,
                "the start ran the task and ended the instance"
            );
        } else {
            assert!(
                !started.ended,
                "with wasm_inline off the task runs afterwards"
            );
        }
        assert_eq!(ended_state(&t.engine, &mut events, &id).await, "COMPLETED");
        assert!(t.engine.external_tasks().await.expect("tasks").is_empty());
        let log = task_log_states(&t, &id);
        let states: Vec<LogState> = log.iter().map(|(_, s)| *s).collect();
        assert_eq!(states, [LogState::Created, LogState::Successful], "{log:?}");
        // What the component returned and wrote is kept as from a background run.
        let variables = variables_of(&t, &id).await;
        assert_eq!(variables.get("attempt"), Some(&Value::Integer(1)));
        assert_eq!(variables.get("order"), Some(&Value::String("A-1".into())));
        let lines = t.engine.task_log(&log[0].0).await.expect("task log");
        assert_eq!(
            lines,
            ["[Info] echo: 1 variables, attempt 1"],
            "inline {inline}"
        );
        assert_eq!(t.engine.metrics().wasm_executions, 1, "inline {inline}");
    }
}

#[tokio::test]
async fn a_slow_component_runs_in_the_background_under_its_own_deadline() {
    let t = wasm_engine().await;
    let limits = ModuleLimits {
        fuel: Some(1_000_000_000_000),
        timeout_ms: Some(120_000),
        ..ModuleLimits::default()
    };
    t.engine
        .put_module("crunch", read(guests::CPU_BOUND), limits)
        .await
        .expect("module");
    t.deploy("crunch", &one_task("crunch", "crunch", None, None))
        .await;
    let mut events = t.engine.subscribe_events();
    // Hundreds of millions of multiply chains: far longer than an inline attempt may take
    // on any machine, well within the module's own deadline.
    let work = || vars([("rounds", Value::Long(300_000_000))]);
    let first = t.start("crunch", work()).await;
    assert!(!first.ended, "the inline attempt was cut short");
    let first_id = first.instance.state.id.clone();
    assert_eq!(
        ended_state(&t.engine, &mut events, &first_id).await,
        "COMPLETED"
    );
    let second = t.start("crunch", work()).await;
    assert!(!second.ended);
    let second_id = second.instance.state.id.clone();
    assert_eq!(
        ended_state(&t.engine, &mut events, &second_id).await,
        "COMPLETED"
    );
    // The first instance's task ran twice (cut short inline, then in full), the second's
    // once: the module is known to be slow and no longer tried inline.
    assert_eq!(t.engine.metrics().wasm_executions, 3);
    let digest = t
        .engine
        .historic_variables(Some(&second_id))
        .await
        .expect("variables")
        .into_iter()
        .find(|v| v.name == "digest");
    assert!(digest.is_some(), "the full run returned its digest");
}

#[tokio::test]
async fn a_completion_the_model_refuses_leaves_the_task_to_the_background_and_its_incident() {
    let t = wasm_engine().await;
    t.engine
        .put_module("echo", read(guests::ECHO), ModuleLimits::default())
        .await
        .expect("module");
    // The output mapping reads a variable nobody set: completing the task fails.
    let xml = one_task("refused", "echo", None, None).replace(
        r#"camunda:topic="echo">"#,
        r#"camunda:topic="echo"><bpmn:extensionElements><camunda:inputOutput>
          <camunda:outputParameter name="total">${missing.amount}</camunda:outputParameter>
        </camunda:inputOutput></bpmn:extensionElements>"#,
    );
    t.deploy("refused", &xml).await;
    let started = t.start("refused", Default::default()).await;
    assert!(!started.ended, "the refused completion was not kept");
    let id = started.instance.state.id.clone();
    let deadline = std::time::Instant::now() + baton_tests::EVENT_WAIT;
    let incident = loop {
        let incidents = t.engine.incidents().await.expect("incidents");
        if let Some(i) = incidents.into_iter().find(|i| i.process_instance_id == id) {
            break i;
        }
        assert!(std::time::Instant::now() < deadline, "no incident");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(incident.activity_id, "task");
    assert!(
        incident
            .message
            .as_deref()
            .is_some_and(|m| m.contains("completing the task failed")),
        "{incident:?}"
    );
    // The task waits, stored, with its incident: nothing of the inline attempt was kept.
    let tasks = t.engine.external_tasks().await.expect("tasks");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].retries, Some(0));
    let states: Vec<LogState> = task_log_states(&t, &id)
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(states, [LogState::Created, LogState::Failed]);
}
