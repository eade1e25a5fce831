//! Issue 3 item 9: user tasks. Created with assignee, candidates, due date and form key; claim
//! (with its conflict), unclaim, set assignee, complete with variables; queries by assignee,
//! candidate group, process instance and definition key (through the REST API, where the
//! queries live).

use baton::engine::ProcessEngineError;
use baton_bpmn::{Value, Variables};
use baton_tests::bpmn::definitions;
use baton_tests::{TestEngine, TestServer, vars};

fn approval() -> String {
    definitions(
        "approval",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="assigned" />
    <bpmn:userTask id="assigned" name="Check" camunda:assignee="${owner}" camunda:dueDate="2026-02-01T10:00:00Z" camunda:formKey="embedded:app:forms/check.html" />
    <bpmn:sequenceFlow id="f2" sourceRef="assigned" targetRef="open" />
    <bpmn:userTask id="open" name="Approve" camunda:candidateUsers="ann, bob" camunda:candidateGroups="sales,ops" />
    <bpmn:sequenceFlow id="f3" sourceRef="open" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" default="f_no" />
    <bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="yes">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${approved}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="no" />
    <bpmn:endEvent id="yes" />
    <bpmn:endEvent id="no" />"#,
    )
}

#[tokio::test]
async fn user_tasks_carry_assignee_candidates_due_date_and_form_key() {
    let t = TestEngine::new().await;
    t.deploy("approval", &approval()).await;
    let id = t
        .start("approval", vars([("owner", Value::String("carl".into()))]))
        .await
        .instance
        .id()
        .to_owned();
    let tasks = t.engine.user_tasks().await.expect("tasks");
    assert_eq!(tasks.len(), 1);
    let first = &tasks[0];
    assert_eq!(first.task_definition_key, "assigned");
    assert_eq!(first.name.as_deref(), Some("Check"));
    assert_eq!(first.assignee.as_deref(), Some("carl"));
    assert_eq!(first.due, Some(1_769_940_000_000), "2026-02-01T10:00:00Z");
    assert_eq!(
        first.form_key.as_deref(),
        Some("embedded:app:forms/check.html")
    );
    assert_eq!(first.process_instance_id, id);
    assert_eq!(first.process_definition_key, "approval");
    assert_eq!(first.priority, 50);
    t.engine
        .complete_user_task(&first.id, Variables::new())
        .await
        .expect("complete");

    let open = t.engine.user_tasks().await.expect("tasks").remove(0);
    assert_eq!(open.task_definition_key, "open");
    assert_eq!(open.assignee, None);
    assert_eq!(
        open.candidate_users,
        vec!["ann".to_owned(), "bob".to_owned()]
    );
    assert_eq!(
        open.candidate_groups,
        vec!["sales".to_owned(), "ops".to_owned()]
    );
}

#[tokio::test]
async fn claim_conflicts_unclaim_and_complete_with_variables() {
    let t = TestEngine::new().await;
    t.deploy("approval", &approval()).await;
    let id = t
        .start("approval", vars([("owner", Value::String("carl".into()))]))
        .await
        .instance
        .id()
        .to_owned();
    let first = t.engine.user_tasks().await.expect("tasks").remove(0);
    t.engine
        .complete_user_task(&first.id, Variables::new())
        .await
        .expect("complete");
    let task = t.engine.user_tasks().await.expect("tasks").remove(0);

    t.engine
        .claim_task(&task.id, "ann")
        .await
        .expect("ann claims");
    t.engine
        .claim_task(&task.id, "ann")
        .await
        .expect("claiming again is fine");
    let e = t
        .engine
        .claim_task(&task.id, "bob")
        .await
        .expect_err("bob cannot");
    assert!(matches!(e, ProcessEngineError::AlreadyClaimed(_)), "{e:?}");
    assert_eq!(
        t.engine
            .user_task(&task.id)
            .await
            .expect("task")
            .assignee
            .as_deref(),
        Some("ann")
    );
    t.engine.unclaim_task(&task.id).await.expect("unclaim");
    assert_eq!(
        t.engine.user_task(&task.id).await.expect("task").assignee,
        None
    );
    t.engine
        .claim_task(&task.id, "bob")
        .await
        .expect("bob claims now");
    t.engine
        .set_assignee(&task.id, Some("dora".into()))
        .await
        .expect("set assignee");
    assert_eq!(
        t.engine
            .user_task(&task.id)
            .await
            .expect("task")
            .assignee
            .as_deref(),
        Some("dora")
    );

    let after = t
        .engine
        .complete_user_task(&task.id, vars([("approved", Value::Boolean(true))]))
        .await
        .expect("complete");
    assert_eq!(after.get("approved"), Some(&Value::Boolean(true)));
    assert!(
        t.engine.user_task(&task.id).await.is_err(),
        "completed tasks are gone"
    );
    assert!(
        t.activity_completed(&id, "yes").await,
        "the variable steered the gateway"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_tasks_are_queryable_by_assignee_group_instance_and_key() {
    let server = TestServer::start().await.expect("server");
    let c = &server.client;
    c.deploy("approval", &approval()).await.expect("deploy");
    let a = c
        .start(
            "approval",
            serde_json::json!({"owner": {"value": "carl", "type": "String"}}),
        )
        .await
        .expect("start a");
    let b = c
        .start(
            "approval",
            serde_json::json!({"owner": {"value": "dora", "type": "String"}}),
        )
        .await
        .expect("start b");
    // Move b on to the candidate task.
    let b_task = c
        .get(&format!("/task?processInstanceId={b}"))
        .await
        .expect("query")
        .json()
        .expect("ok");
    let b_task_id = b_task[0]["id"].as_str().expect("id").to_owned();
    c.post(
        &format!("/task/{b_task_id}/complete"),
        &serde_json::json!({}),
    )
    .await
    .expect("complete")
    .json()
    .expect("ok");

    let ids = |v: serde_json::Value| -> Vec<String> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|t| t["processInstanceId"].as_str().expect("pi").to_owned())
            .collect()
    };
    let q = |path: String| async move { c.get(&path).await.expect("query").json().expect("ok") };
    assert_eq!(ids(q("/task?assignee=carl".into()).await), vec![a.clone()]);
    assert_eq!(
        ids(q("/task?candidateGroup=sales".into()).await),
        vec![b.clone()]
    );
    assert_eq!(
        ids(q("/task?candidateGroup=hr".into()).await),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(q(format!("/task?processInstanceId={a}")).await),
        vec![a.clone()]
    );
    let mut by_key = ids(q("/task?processDefinitionKey=approval".into()).await);
    by_key.sort();
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(by_key, both);
    server.stop().await.expect("stop");
}
