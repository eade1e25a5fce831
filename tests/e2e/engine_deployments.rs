//! Issue 3 item 4: deployments and versions. Each key gets version n+1; duplicate filtering by
//! content; ids `key:version:uuid`; instances keep their version; start by key = latest.

use baton_bpmn::Variables;
use baton_tests::TestEngine;
use baton_tests::bpmn::one_task;

fn is_definition_id(id: &str, key: &str, version: i32) -> bool {
    let parts: Vec<&str> = id.splitn(3, ':').collect();
    parts.len() == 3 && parts[0] == key && parts[1] == version.to_string() && uuid_like(parts[2])
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

#[tokio::test]
async fn versions_count_up_per_key_with_camunda_ids() {
    let t = TestEngine::new().await;
    let v1 = t.deploy("p", &one_task("proc", "a")).await;
    let v2 = t.deploy("p", &one_task("proc", "b")).await;
    let other = t.deploy("q", &one_task("other", "a")).await;
    assert_eq!((v1.len(), v2.len(), other.len()), (1, 1, 1));
    assert_eq!(v1[0].version, 1);
    assert_eq!(v2[0].version, 2);
    assert_eq!(other[0].version, 1, "versions count per key");
    assert!(is_definition_id(&v1[0].id, "proc", 1), "{}", v1[0].id);
    assert!(is_definition_id(&v2[0].id, "proc", 2), "{}", v2[0].id);
    assert_ne!(v1[0].deployment_id, v2[0].deployment_id);
    let latest = t
        .engine
        .latest_definition("proc", None)
        .await
        .expect("latest");
    assert_eq!(latest.id, v2[0].id);
}

#[tokio::test]
async fn duplicate_filtering_skips_unchanged_content() {
    let t = TestEngine::new().await;
    let xml = one_task("dup", "a");
    let v1 = t.deploy_with("dup", &xml, true).await;
    assert_eq!(v1.len(), 1);
    let again = t.deploy_with("dup", &xml, true).await;
    assert!(again.is_empty(), "same content with filtering: nothing new");
    let changed = t.deploy_with("dup", &one_task("dup", "b"), true).await;
    assert_eq!(changed[0].version, 2, "changed content: a new version");
    let unfiltered = t.deploy_with("dup", &one_task("dup", "b"), false).await;
    assert_eq!(
        unfiltered[0].version, 3,
        "without filtering every deployment is a version"
    );
    assert_eq!(t.engine.definitions().await.expect("definitions").len(), 3);
}

#[tokio::test]
async fn instances_keep_their_version_and_start_by_key_takes_the_latest() {
    let t = TestEngine::new().await;
    let v1 = t.deploy("p", &one_task("ver", "topic-v1")).await;
    let old = t.start("ver", Variables::new()).await;
    assert_eq!(old.instance.definition_id, v1[0].id);

    let v2 = t.deploy("p", &one_task("ver", "topic-v2")).await;
    let new = t.start("ver", Variables::new()).await;
    assert_eq!(
        new.instance.definition_id, v2[0].id,
        "start by key uses the latest"
    );

    // The old instance still runs v1's model: its task is on v1's topic.
    let old_tasks = t.fetch("w", "topic-v1", 10).await;
    assert_eq!(old_tasks.len(), 1);
    assert_eq!(old_tasks[0].task.process_instance_id, old.instance.id());
    assert_eq!(old_tasks[0].task.process_definition_id, v1[0].id);
    t.complete(&old_tasks[0].task.id, "w", Variables::new())
        .await;
    assert_eq!(t.instance_state(old.instance.id()).await, "COMPLETED");

    let new_tasks = t.fetch("w", "topic-v2", 10).await;
    assert_eq!(new_tasks.len(), 1);
    assert_eq!(new_tasks[0].task.process_instance_id, new.instance.id());

    // Starting a specific old version by id still works.
    let by_id = t
        .engine
        .start_instance(
            baton::engine::DefinitionRef::Id(v1[0].id.clone()),
            baton::engine::StartRequest::default(),
        )
        .await
        .expect("start v1 by id");
    assert_eq!(by_id.instance.definition_id, v1[0].id);
}
