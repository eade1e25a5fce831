//! Issue 3 item 3: the executor. Commands on different instances run side by side and all
//! land; commands on one instance are serialized, so concurrent completions of its parallel
//! branches all land and the join fires exactly once.

use std::collections::HashMap;

use baton_bpmn::{Value, Variables};
use baton_tests::bpmn::{model, one_task};
use baton_tests::{TestEngine, vars};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commands_on_many_instances_run_concurrently_and_all_land() {
    let t = TestEngine::new().await;
    t.deploy("many", &one_task("many", "many")).await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..64 {
        let engine = t.engine.clone();
        set.spawn(async move {
            engine
                .start_instance(
                    baton::engine::DefinitionRef::Key {
                        key: "many".into(),
                        tenant_id: None,
                    },
                    baton::engine::StartRequest {
                        variables: vars([("i", Value::Integer(i))]),
                        ..Default::default()
                    },
                )
                .await
                .expect("start")
                .instance
                .id()
                .to_owned()
        });
    }
    let mut ids = Vec::new();
    while let Some(id) = set.join_next().await {
        ids.push(id.expect("join"));
    }
    let tasks = t.fetch("w", "many", 100).await;
    assert_eq!(tasks.len(), 64);
    let mut set = tokio::task::JoinSet::new();
    for task in tasks {
        let engine = t.engine.clone();
        set.spawn(async move {
            engine
                .complete_external_task(&task.task.id, "w", Variables::new(), Variables::new())
                .await
                .expect("complete");
        });
    }
    while let Some(r) = set.join_next().await {
        r.expect("join");
    }
    for id in &ids {
        assert_eq!(t.instance_state(id).await, "COMPLETED");
    }
    assert!(t.engine.instances().await.expect("instances").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_completions_on_one_instance_are_serialized_and_all_land() {
    let t = TestEngine::new().await;
    let xml = model("par10", "branch").expect("model");
    t.deploy("par10", &xml).await;
    let id = t
        .start("par10", Variables::new())
        .await
        .instance
        .id()
        .to_owned();
    let tasks = t.fetch("w", "branch", 100).await;
    assert_eq!(tasks.len(), 10, "one task per branch");
    let mut set = tokio::task::JoinSet::new();
    for (n, task) in tasks.into_iter().enumerate() {
        let engine = t.engine.clone();
        set.spawn(async move {
            engine
                .complete_external_task(
                    &task.task.id,
                    "w",
                    vars([(&format!("b{n}"), Value::Integer(n as i32))]),
                    Variables::new(),
                )
                .await
                .expect("every completion must land, none rejected as a conflict");
        });
    }
    while let Some(r) = set.join_next().await {
        r.expect("join");
    }
    assert_eq!(t.instance_state(&id).await, "COMPLETED");
    let acts = t.activities(&id).await;
    let mut ended: HashMap<String, usize> = HashMap::new();
    for a in &acts {
        if a.end_time.is_some() && !a.canceled {
            *ended.entry(a.activity_id.clone()).or_default() += 1;
        }
    }
    for i in 1..=10 {
        assert_eq!(ended.get(&format!("t{i}")), Some(&1), "branch t{i}");
    }
    assert_eq!(ended.get("end"), Some(&1), "the join fires once: {ended:?}");
    // Every branch's variable was written: none of the concurrent writes was lost.
    let vars = t
        .engine
        .historic_variables(Some(&id))
        .await
        .expect("variables");
    for n in 0..10 {
        assert!(
            vars.iter().any(|v| v.name == format!("b{n}")),
            "variable b{n} lost"
        );
    }
}
