//! `timeout` task listeners on the engine with a manual clock: the listener's timer is armed
//! when the task is created, fires while the task is open (an expression escalates the
//! assignee, a JavaScript listener sets a variable) and is cancelled when the task completes
//! first, so no stray timer fails later.

use baton::wasm::WasmConfig;
use baton_bpmn::{Value, Variables};
use baton_tests::TestEngine;

const MODEL: &str = r#"
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="Review" camunda:assignee="clerk">
      <bpmn:extensionElements>
        <camunda:taskListener event="timeout" id="escalate" expression="${task.setAssignee('boss')}">
          <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
        </camunda:taskListener>
        <camunda:taskListener event="timeout" id="note">
          <camunda:script scriptFormat="javascript">execution.setVariable('escalatedAt', new Date()); execution.setVariable('event', task.getEventName())</camunda:script>
          <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
        </camunda:taskListener>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <bpmn:endEvent id="end"/>"#;

async fn engine() -> TestEngine {
    let t = TestEngine::with(|c| c.wasm = Some(WasmConfig::default())).await;
    t.deploy(
        "timeouts",
        &baton_tests::bpmn::definitions("timeouts", MODEL),
    )
    .await;
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_listeners_fire_while_the_task_is_open() {
    let t = engine().await;
    let started = t.start("timeouts", Variables::new()).await;
    let id = started.instance.state.id.clone();
    let task = |t: &TestEngine| {
        let engine = t.engine.clone();
        async move {
            engine
                .user_tasks()
                .await
                .expect("tasks")
                .into_iter()
                .next()
                .expect("one task")
        }
    };
    assert_eq!(task(&t).await.assignee.as_deref(), Some("clerk"));
    t.advance(30 * 60 * 1000).await;
    assert_eq!(
        task(&t).await.assignee.as_deref(),
        Some("clerk"),
        "not due yet"
    );
    t.advance(31 * 60 * 1000).await;
    let escalated = task(&t).await;
    assert_eq!(escalated.assignee.as_deref(), Some("boss"));
    let vars = t
        .engine
        .instance(&id)
        .await
        .expect("instance")
        .state
        .process_variables();
    assert_eq!(vars.get("event"), Some(&Value::String("timeout".into())));
    assert!(
        matches!(vars.get("escalatedAt"), Some(Value::Date(_))),
        "{vars:?}"
    );
    // Fired once: later ticks change nothing and raise nothing.
    t.advance(2 * 60 * 60 * 1000).await;
    assert!(t.engine.incidents().await.expect("incidents").is_empty());
    // The task still completes normally.
    t.engine
        .complete_user_task(&escalated.id, Variables::new())
        .await
        .expect("complete");
    assert_eq!(t.instance_state(&id).await, "COMPLETED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completing_the_task_first_cancels_its_timeout_timers() {
    let t = engine().await;
    let started = t.start("timeouts", Variables::new()).await;
    let id = started.instance.state.id.clone();
    let task = t.engine.user_tasks().await.expect("tasks").remove(0);
    t.engine
        .complete_user_task(&task.id, Variables::new())
        .await
        .expect("complete");
    assert_eq!(
        t.advance(2 * 60 * 60 * 1000).await,
        0,
        "no timer left to run"
    );
    assert!(t.engine.incidents().await.expect("incidents").is_empty());
    assert_eq!(t.instance_state(&id).await, "COMPLETED");
}
