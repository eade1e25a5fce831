//! Issue 3 item 6: timers and jobs on the injected clock: timer catch events, boundary
//! timers, timer start events, retry time-outs of failing jobs, asyncBefore/asyncAfter, and a
//! restart that picks up what came due while the engine was down.

use baton_bpmn::Variables;
use baton_tests::bpmn::definitions;
use baton_tests::{T0, TestEngine};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

fn timer_catch() -> String {
    definitions(
        "wait",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="timer" />
    <bpmn:intermediateCatchEvent id="timer">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT10M</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="timer" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    )
}

#[tokio::test]
async fn a_timer_catch_event_fires_when_due_and_not_before() {
    let t = TestEngine::new().await;
    t.deploy("wait", &timer_catch()).await;
    let id = t
        .start("wait", Variables::new())
        .await
        .instance
        .id()
        .to_owned();
    assert_eq!(t.tick().await, 0);
    assert_eq!(t.advance(10 * MINUTE - 1).await, 0, "not due yet");
    assert_eq!(t.instance_state(&id).await, "ACTIVE");
    assert_eq!(t.advance(1).await, 1, "due now");
    assert_eq!(t.instance_state(&id).await, "COMPLETED");
    let timer = t
        .activities(&id)
        .await
        .into_iter()
        .find(|a| a.activity_id == "timer")
        .expect("timer activity");
    assert_eq!(timer.end_time, Some(T0 + 10 * MINUTE));
}

#[tokio::test]
async fn a_boundary_timer_interrupts_a_waiting_external_task() {
    let t = TestEngine::new().await;
    let xml = definitions(
        "bt",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task" />
    <bpmn:serviceTask id="task" camunda:type="external" camunda:topic="slow" />
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" />
    <bpmn:endEvent id="end" />
    <bpmn:boundaryEvent id="too_slow" attachedToRef="task">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="too_slow" targetRef="timed_out" />
    <bpmn:endEvent id="timed_out" />"#,
    );
    t.deploy("bt", &xml).await;
    let id = t
        .start("bt", Variables::new())
        .await
        .instance
        .id()
        .to_owned();
    let task = t.fetch("w", "slow", 1).await.remove(0).task;
    t.advance(HOUR).await;
    assert_eq!(t.instance_state(&id).await, "COMPLETED");
    assert!(
        t.engine.external_task(&task.id).await.is_err(),
        "the task was removed"
    );
    let acts = t.activities(&id).await;
    assert!(acts.iter().any(|a| a.activity_id == "task" && a.canceled));
    assert!(
        acts.iter()
            .any(|a| a.activity_id == "timed_out" && a.end_time.is_some())
    );
    // The worker's late completion is refused and changes nothing.
    assert!(
        t.engine
            .complete_external_task(&task.id, "w", Variables::new(), Variables::new())
            .await
            .is_err()
    );
    assert!(!acts.iter().any(|a| a.activity_id == "end"));
}

#[tokio::test]
async fn a_timer_start_event_starts_instances_on_its_cycle() {
    let t = TestEngine::new().await;
    let xml = definitions(
        "cron",
        r#"    <bpmn:startEvent id="tick">
      <bpmn:timerEventDefinition><bpmn:timeCycle>R2/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="tick" targetRef="work" />
    <bpmn:userTask id="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    );
    t.deploy("cron", &xml).await;
    let count = |t: &TestEngine| {
        let engine = t.engine.clone();
        async move {
            engine
                .historic_process_instances()
                .await
                .expect("history")
                .len()
        }
    };
    assert_eq!(count(&t).await, 0);
    t.advance(HOUR - 1).await;
    assert_eq!(count(&t).await, 0);
    t.advance(1).await;
    assert_eq!(count(&t).await, 1, "first repetition");
    t.advance(HOUR).await;
    assert_eq!(count(&t).await, 2, "second repetition");
    t.advance(10 * HOUR).await;
    assert_eq!(count(&t).await, 2, "R2: no third");
}

#[tokio::test]
async fn async_before_and_after_wait_for_the_scheduler() {
    let t = TestEngine::new().await;
    let xml = definitions(
        "async",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task" />
    <bpmn:serviceTask id="task" camunda:type="external" camunda:topic="async" camunda:asyncBefore="true" camunda:asyncAfter="true" />
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    );
    t.deploy("async", &xml).await;
    let id = t
        .start("async", Variables::new())
        .await
        .instance
        .id()
        .to_owned();
    assert!(
        t.engine.external_tasks().await.expect("tasks").is_empty(),
        "asyncBefore: no task until the job runs"
    );
    assert_eq!(t.tick().await, 1);
    let task = t.fetch("w", "async", 1).await.remove(0).task;
    t.complete(&task.id, "w", Variables::new()).await;
    assert_eq!(
        t.instance_state(&id).await,
        "ACTIVE",
        "asyncAfter: the instance waits after the task"
    );
    // Camunda ends the activity instance (history endTime) before the asyncAfter boundary:
    // the job only takes the outgoing flow.
    assert!(
        t.activity_completed(&id, "task").await,
        "asyncAfter: the task's activity instance ended when it completed"
    );
    assert_eq!(t.tick().await, 1);
    assert_eq!(t.instance_state(&id).await, "COMPLETED");
}

#[tokio::test]
async fn a_failing_job_is_retried_on_its_cycle_then_raises_an_incident() {
    let t = TestEngine::new().await;
    let xml = definitions(
        "failjob",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" camunda:asyncBefore="true">
      <bpmn:extensionElements>
        <camunda:failedJobRetryTimeCycle>R2/PT5M</camunda:failedJobRetryTimeCycle>
      </bpmn:extensionElements>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f2" sourceRef="gw" targetRef="end">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${missing &gt; 1}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="end2">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${missing &lt;= 1}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="end" />
    <bpmn:endEvent id="end2" />"#,
    );
    t.deploy("failjob", &xml).await;
    let id = t
        .start("failjob", Variables::new())
        .await
        .instance
        .id()
        .to_owned();
    assert_eq!(t.tick().await, 1, "first attempt");
    assert!(
        t.engine.incidents().await.expect("incidents").is_empty(),
        "a retry is left"
    );
    assert_eq!(
        t.advance(5 * MINUTE - 1).await,
        0,
        "retry waits for its back-off"
    );
    assert_eq!(t.advance(1).await, 1, "second attempt after PT5M");
    let incidents = t.engine.incidents().await.expect("incidents");
    assert_eq!(incidents.len(), 1, "out of retries: {incidents:?}");
    assert_eq!(incidents[0].incident_type.as_str(), "failedJob");
    assert_eq!(incidents[0].process_instance_id, id);
    assert_eq!(incidents[0].activity_id, "gw");
    assert!(
        incidents[0]
            .message
            .as_deref()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(t.advance(HOUR).await, 0, "no more attempts");
}

#[tokio::test]
async fn a_restart_picks_up_timers_that_came_due_while_down() {
    let t = TestEngine::new().await;
    t.deploy("wait", &timer_catch()).await;
    let id = t
        .start("wait", Variables::new())
        .await
        .instance
        .id()
        .to_owned();
    let t = t.reopen().await;
    t.clock.advance(2 * HOUR);
    assert_eq!(
        t.tick().await,
        1,
        "the overdue timer runs on the first pass"
    );
    assert_eq!(t.instance_state(&id).await, "COMPLETED");
}

#[tokio::test]
async fn a_restart_returns_expired_locks_to_the_queue() {
    let t = TestEngine::new().await;
    t.deploy("p", &baton_tests::bpmn::one_task("lk", "lk"))
        .await;
    t.start("lk", Variables::new()).await;
    let id = t
        .engine
        .fetch_and_lock(baton_tests::fetch_request("w", &["lk"], 1, 60_000))
        .await
        .expect("fetch")
        .remove(0)
        .task
        .id;
    let t = t.reopen().await;
    assert!(t.fetch("w2", "lk", 1).await.is_empty(), "the lock survived");
    t.advance(60_001).await;
    let got = t.fetch("w2", "lk", 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].task.id, id);
}
