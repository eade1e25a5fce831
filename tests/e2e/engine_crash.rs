//! Issue 3: the crash test. The real `baton serve` binary is driven by concurrent REST clients
//! (starting instances, fetching and completing external tasks), killed with SIGKILL at a
//! random moment, restarted on the same data directory, and checked: every acknowledged start
//! exists, every acknowledged completion took effect, and no task ran twice. Several rounds on
//! the same data directory.
//!
//! Needs `target/<profile>/baton`: `cargo build -p baton --bin baton`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baton_tests::bpmn::one_task;
use baton_tests::chaos::Rng;
use baton_tests::{BatonProcess, RestClient};
use serde_json::{Value as Json, json};

const ROUNDS: usize = 3;
const LOCK_MS: u64 = 2_000;

#[derive(Default)]
struct Acks {
    starts: Vec<String>,
    /// (instance id, task id) of acknowledged completions.
    completions: Vec<(String, String)>,
}

async fn starter(client: RestClient, acks: Arc<Mutex<Acks>>, n: usize) {
    let mut i = 0u64;
    loop {
        i += 1;
        match client
            .start(
                "crash",
                json!({"n": {"value": i, "type": "Long"}, "c": {"value": n, "type": "Integer"}}),
            )
            .await
        {
            Ok(id) => acks.lock().expect("acks").starts.push(id),
            Err(_) => return, // the server died: nothing more is acknowledged
        }
    }
}

async fn worker(client: RestClient, acks: Arc<Mutex<Acks>>, n: usize) {
    let name = format!("crash-worker-{n}");
    loop {
        // Short locks: tasks locked when the server dies come back soon for the final drain.
        let Ok(tasks) = client
            .fetch_and_lock_for(&name, "crash", 5, Some(500), LOCK_MS)
            .await
        else {
            return;
        };
        for task in tasks {
            let id = task["id"].as_str().unwrap_or_default().to_owned();
            let pi = task["processInstanceId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            match client.complete(&id, &name, json!({})).await {
                Ok(()) => acks.lock().expect("acks").completions.push((pi, id)),
                Err(_) => return,
            }
        }
    }
}

async fn task_activities(client: &RestClient, instance: &str) -> Vec<Json> {
    client
        .activity_history(instance)
        .await
        .unwrap_or_else(|e| panic!("activity history of {instance}: {e}"))
        .into_iter()
        .filter(|a| a["activityId"] == "task")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_work_survives_sigkill_and_nothing_runs_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let seed = Rng::clock_seed();
    let mut rng = Rng::new(seed);
    eprintln!("crash test seed {seed}");
    let all_acks = Arc::new(Mutex::new(Acks::default()));
    let mut deployed = false;
    for round in 0..ROUNDS {
        let server = BatonProcess::spawn(&data, &[]).unwrap_or_else(|e| panic!("{e:#}"));
        if !deployed {
            server
                .client
                .deploy("crash", &one_task("crash", "crash"))
                .await
                .expect("deploy");
            deployed = true;
        }
        let acks = Arc::new(Mutex::new(Acks::default()));
        let mut clients = tokio::task::JoinSet::new();
        for n in 0..3 {
            clients.spawn(starter(server.client.clone(), acks.clone(), n));
            clients.spawn(worker(server.client.clone(), acks.clone(), n));
        }
        // Let work accumulate, then kill at a random moment.
        let wait = 400 + rng.below(1_200);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        server.kill9().expect("kill -9");
        while clients.join_next().await.is_some() {}
        {
            let acks = acks.lock().expect("acks");
            eprintln!(
                "round {round}: killed after {wait} ms with {} starts and {} completions acknowledged",
                acks.starts.len(),
                acks.completions.len()
            );
            assert!(
                !acks.starts.is_empty(),
                "round {round}: no start was acknowledged"
            );
            let mut all = all_acks.lock().expect("acks");
            all.starts.extend(acks.starts.iter().cloned());
            all.completions.extend(acks.completions.iter().cloned());
        }

        // Restart and check everything acknowledged so far, in all rounds.
        let server = BatonProcess::spawn(&data, &[]).unwrap_or_else(|e| panic!("{e:#}"));
        let c = &server.client;
        let (starts, completions) = {
            let all = all_acks.lock().expect("acks");
            (all.starts.clone(), all.completions.clone())
        };
        for id in &starts {
            assert!(
                c.instance_history(id).await.expect("history").is_some(),
                "round {round}: acknowledged start {id} is lost"
            );
        }
        let mut completed_tasks = HashSet::new();
        for (instance, task) in &completions {
            assert!(
                completed_tasks.insert(task.clone()),
                "task {task} was acknowledged as completed twice"
            );
            let acts = task_activities(c, instance).await;
            assert!(
                acts.iter()
                    .any(|a| !a["endTime"].is_null() && a["canceled"] != json!(true)),
                "round {round}: acknowledged completion of {task} (instance {instance}) is lost: {acts:?}"
            );
            let state = c
                .instance_history(instance)
                .await
                .expect("history")
                .expect("exists");
            assert_eq!(state["state"], "COMPLETED", "instance {instance}");
        }
        for id in &starts {
            let acts = task_activities(c, id).await;
            assert!(
                acts.len() <= 1,
                "round {round}: task of {id} ran {} times: {acts:?}",
                acts.len()
            );
        }
        // Stop gracefully before the next round's start (which reuses the directory).
        let status = server.terminate().expect("terminate");
        assert!(status.success(), "graceful shutdown: {status:?}");
    }

    // Finally drain: every remaining task is completed exactly once and every instance ends.
    // Tasks locked by the killed workers come back when their (real-time) locks expire, so the
    // drain runs until every acknowledged start has ended (not for a fixed number of empty
    // polls, which a loaded machine can exhaust before the last lock expires), and a task that
    // never comes back fails the test with its state.
    let server = BatonProcess::spawn(&data, &[]).unwrap_or_else(|e| panic!("{e:#}"));
    let c = &server.client;
    let starts = all_acks.lock().expect("acks").starts.clone();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut open: Vec<String> = starts.clone();
    loop {
        let tasks = c
            .fetch_and_lock_for("drainer", "crash", 100, Some(LOCK_MS), 60_000)
            .await
            .expect("fetch");
        for task in &tasks {
            c.complete(task["id"].as_str().expect("id"), "drainer", json!({}))
                .await
                .expect("complete");
        }
        if !tasks.is_empty() {
            continue;
        }
        let mut still_open = Vec::new();
        for id in open {
            let h = c.instance_history(&id).await.expect("history");
            if h.as_ref().is_none_or(|h| h["endTime"].is_null()) {
                still_open.push(id);
            }
        }
        open = still_open;
        if open.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            let id = &open[0];
            let tasks = c
                .get(&format!("/external-task?processInstanceId={id}"))
                .await
                .map(|a| a.body);
            panic!(
                "{} acknowledged instances never ended; {id}: activities {:?}, external tasks {tasks:?}",
                open.len(),
                task_activities(c, id).await
            );
        }
    }
    for id in &starts {
        let acts = task_activities(c, id).await;
        assert_eq!(
            acts.len(),
            1,
            "instance {id}: task activity instances {acts:?}"
        );
        assert!(!acts[0]["endTime"].is_null(), "instance {id}: {acts:?}");
        let h = c
            .instance_history(id)
            .await
            .expect("history")
            .expect("exists");
        assert_eq!(h["state"], "COMPLETED", "instance {id}");
    }
}

/// The Prometheus page's value of `name` (0 when absent).
async fn gauge(root: &str, name: &str) -> f64 {
    let text = reqwest::get(format!("{root}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// A task handed to a parked worker was locked to it by the start that created it, in the
/// start's own write: killed right after the worker has it, the restarted server still
/// holds the lock, and no other worker gets the task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_handed_to_a_parked_worker_stays_locked_to_it_after_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = BatonProcess::spawn(&data, &[]).unwrap_or_else(|e| panic!("{e:#}"));
    server
        .client
        .deploy("handoff", &one_task("handoff", "handoff"))
        .await
        .expect("deploy");
    let client = server.client.clone();
    let poll = tokio::spawn(async move {
        client
            .fetch_and_lock_for("parked", "handoff", 1, Some(30_000), 600_000)
            .await
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while gauge(&server.root, "baton_fetch_and_lock_parked").await < 1.0 {
        assert!(Instant::now() < deadline, "the worker's poll parks");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let instance = server
        .client
        .start("handoff", json!({}))
        .await
        .expect("start");
    let tasks = poll.await.expect("join").expect("fetch");
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0]["processInstanceId"], json!(instance));
    assert_eq!(
        gauge(&server.root, "baton_fetch_and_lock_hand_offs_total").await,
        1.0,
        "the start handed the task over"
    );
    let task_id = tasks[0]["id"].as_str().expect("task id").to_owned();
    server.kill9().expect("kill -9");

    let server = BatonProcess::spawn(&data, &[]).unwrap_or_else(|e| panic!("{e:#}"));
    let task = server
        .client
        .get(&format!("/external-task/{task_id}"))
        .await
        .expect("get task")
        .json()
        .expect("the task survived");
    assert_eq!(task["workerId"], "parked", "{task}");
    assert_eq!(task["lockExpirationTime"], tasks[0]["lockExpirationTime"]);
    let other = server
        .client
        .fetch_and_lock("other", "handoff", 10, None)
        .await
        .expect("fetch");
    assert!(other.is_empty(), "the lock holds: {other:?}");
    server
        .client
        .complete(&task_id, "parked", json!({}))
        .await
        .expect("the worker completes its task");
    let status = server.terminate().expect("terminate");
    assert!(status.success(), "graceful shutdown: {status:?}");
}
