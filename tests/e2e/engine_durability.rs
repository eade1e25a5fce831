//! Issue 3 item 2: a command is acknowledged only once it is on disk.
//!
//! Two checks: dropping the engine without a shutdown keeps everything acknowledged; and the
//! stronger one, where a child process (this test binary, re-run on the ignored test
//! `engine_durability::child_writer`) acknowledges commands and then aborts (no destructors,
//! no final flush, sled's unflushed buffers lost), after which every acknowledged command must
//! be found on disk.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use baton::engine::{EngineConfig, ProcessEngine};
use baton_bpmn::{Value, Variables};
use baton_tests::bpmn::one_task;
use baton_tests::{TestEngine, vars};

#[tokio::test]
async fn acknowledged_work_survives_a_drop_without_shutdown() {
    let t = TestEngine::new().await;
    t.deploy("dur", &one_task("dur", "dur")).await;
    let mut started = Vec::new();
    for i in 0..20 {
        let r = t.start("dur", vars([("i", Value::Integer(i))])).await;
        started.push(r.instance.id().to_owned());
    }
    let tasks = t.fetch("w", "dur", 15).await;
    assert_eq!(tasks.len(), 15);
    let mut completed = Vec::new();
    for task in &tasks[..10] {
        t.complete(&task.task.id, "w", Variables::new()).await;
        completed.push(task.task.process_instance_id.clone());
    }
    let t = t.reopen().await;
    for id in &started {
        let state = t.instance_state(id).await;
        if completed.contains(id) {
            assert_eq!(state, "COMPLETED", "completed instance {id}");
        } else {
            assert_eq!(state, "ACTIVE", "waiting instance {id}");
            t.engine.instance(id).await.expect("still running");
        }
    }
    // The five locked-but-not-completed tasks are still locked by w (locks are durable too):
    // another worker gets only the five that were never fetched.
    let locked: Vec<&str> = tasks[10..].iter().map(|l| l.task.id.as_str()).collect();
    let rest = t.fetch("other", "dur", 100).await;
    assert_eq!(rest.len(), 5, "only the never-fetched tasks are free");
    assert!(rest.iter().all(|l| !locked.contains(&l.task.id.as_str())));
}

const CHILD_DIR_ENV: &str = "BATON_DURABILITY_CHILD_DIR";

/// Not a test on its own: the worker half of `acknowledged_work_survives_an_abort`.
#[tokio::test]
#[ignore = "helper: run by acknowledged_work_survives_an_abort in a child process"]
async fn child_writer() {
    let Ok(dir) = std::env::var(CHILD_DIR_ENV) else {
        return;
    };
    let mut config = EngineConfig::new(dir);
    config.wasm = None;
    config.background_scheduler = false;
    let engine = ProcessEngine::open(config).await.expect("open");
    let t = ChildOps { engine };
    t.run().await;
}

struct ChildOps {
    engine: ProcessEngine,
}

impl ChildOps {
    async fn run(&self) {
        use baton::engine::{DefinitionRef, DeployRequest, Resource, StartRequest};
        self.engine
            .deploy(DeployRequest {
                resources: vec![Resource {
                    name: "dur.bpmn".into(),
                    bytes: one_task("dur", "dur").into_bytes(),
                }],
                ..DeployRequest::default()
            })
            .await
            .expect("deploy");
        println!("ACK deploy");
        for round in 0..40 {
            // Starts and completions run concurrently so they share flushes (group commit).
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..8 {
                let engine = self.engine.clone();
                set.spawn(async move {
                    let r = engine
                        .start_instance(
                            DefinitionRef::Key {
                                key: "dur".into(),
                                tenant_id: None,
                            },
                            StartRequest::default(),
                        )
                        .await
                        .expect("start");
                    println!("ACK start {}", r.instance.id());
                });
            }
            let tasks = self
                .engine
                .fetch_and_lock(baton_tests::fetch_request("w", &["dur"], 4, 600_000))
                .await
                .expect("fetch");
            for task in tasks {
                let engine = self.engine.clone();
                set.spawn(async move {
                    engine
                        .complete_external_task(
                            &task.task.id,
                            "w",
                            Variables::new(),
                            Variables::new(),
                        )
                        .await
                        .expect("complete");
                    println!("ACK complete {}", task.task.process_instance_id);
                });
            }
            while set.join_next().await.is_some() {}
            if round == 39 {
                println!("DONE");
            }
        }
        // Die without destructors or a final flush.
        std::process::abort();
    }
}

#[tokio::test]
async fn acknowledged_work_survives_an_abort() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let exe = std::env::current_exe().expect("current exe");
    let mut child = Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "engine_durability::child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR_ENV, &data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("stdout");
    let mut started = Vec::new();
    let mut completed = Vec::new();
    let mut done = false;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if let Some(id) = line.strip_prefix("ACK start ") {
            started.push(id.to_owned());
        } else if let Some(id) = line.strip_prefix("ACK complete ") {
            completed.push(id.to_owned());
        } else if line == "DONE" {
            done = true;
        }
    }
    let status = child.wait().expect("wait");
    assert!(!status.success(), "the child must die by abort");
    assert!(done, "the child did not get through its rounds");
    assert_eq!(started.len(), 320);
    assert!(!completed.is_empty());

    let mut config = EngineConfig::new(&data);
    config.wasm = None;
    config.background_scheduler = false;
    let engine = ProcessEngine::open(config).await.expect("reopen");
    let history = engine.historic_process_instances().await.expect("history");
    for id in &started {
        let h = history
            .iter()
            .find(|h| &h.id == id)
            .unwrap_or_else(|| panic!("acknowledged start {id} lost"));
        if completed.contains(id) {
            assert_eq!(h.state, "COMPLETED", "acknowledged completion of {id} lost");
        }
    }
}
