//! `bench-hostile` (issue 20, point 3): how much a hostile wasm guest slows everyone else.
//! On the real `baton serve` binary, `BENCH_CLIENTS` clients (default 2) each run a normal
//! external-task loop (start → fetchAndLock → complete) for `BENCH_LOOPS` loops (default 500)
//! and every request (a "step") is timed. Phases: idle, then with one hostile guest running
//! at every moment (a new hostile instance is started as soon as the previous one's incident
//! is raised), one phase per kind, then idle again. Prints p50/p99 of the steps per phase and
//! the ratio of each p99 to the idle one (the target is within 2x).
//!
//! Run: `cargo build --release -p baton -p baton-tests --bin baton --bin bench-hostile &&
//! target/release/bench-hostile`. `BENCH_GUEST_NICE=N` starts the server with
//! `--wasm-guest-nice N` (0 runs guests at the engine's priority, to compare);
//! `BENCH_PHASES=spin,log` runs only the phases whose names contain one of the words.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use baton_tests::bench::env_count;
use baton_tests::bpmn::one_task;
use baton_tests::{BatonProcess, RestClient, guests, percentile};
use serde_json::json;

/// A hostile phase: its name, the guest, the module's limits (query of `PUT /task-module`)
/// and the start variables.
struct Phase {
    name: &'static str,
    guest: &'static str,
    query: &'static str,
    mode: &'static str,
}

const PHASES: [Phase; 6] = [
    Phase {
        name: "spin-loop (2 s deadline)",
        guest: guests::SPIN_LOOP,
        query: "fuel=1000000000000&timeoutMs=2000",
        mode: "",
    },
    Phase {
        name: "log flood (2 s deadline)",
        guest: guests::HOSTILE,
        query: "fuel=1000000000000&timeoutMs=2000",
        mode: "log-flood",
    },
    Phase {
        name: "sleep in a host call (2 s deadline)",
        guest: guests::HOSTILE,
        query: "timeoutMs=2000",
        mode: "sleep-forever",
    },
    Phase {
        name: "giant output (100 MiB)",
        guest: guests::HOSTILE,
        query: "memoryBytes=268435456&fuel=1000000000000",
        mode: "giant-output",
    },
    Phase {
        name: "deep recursion",
        guest: guests::HOSTILE,
        query: "",
        mode: "deep-recursion",
    },
    Phase {
        name: "stack overflow",
        guest: guests::HOSTILE,
        query: "",
        mode: "stack-overflow",
    },
];

/// One client's loops; returns every step's latency.
async fn steps(client: RestClient, name: String, loops: usize) -> Result<Vec<Duration>> {
    let mut out = Vec::with_capacity(loops * 3);
    for _ in 0..loops {
        let t = Instant::now();
        client.start("steps", json!({})).await?;
        out.push(t.elapsed());
        let t = Instant::now();
        let tasks = client
            .fetch_and_lock_for(&name, "steps", 1, Some(5_000), 60_000)
            .await?;
        out.push(t.elapsed());
        for task in tasks {
            let t = Instant::now();
            client
                .complete(task["id"].as_str().context("id")?, &name, json!({}))
                .await?;
            out.push(t.elapsed());
        }
    }
    Ok(out)
}

async fn measure(client: &RestClient, clients: usize, loops: usize) -> Result<Vec<Duration>> {
    let mut set = tokio::task::JoinSet::new();
    for n in 0..clients {
        set.spawn(steps(client.clone(), format!("bench-{n}"), loops));
    }
    let mut all = Vec::new();
    while let Some(r) = set.join_next().await {
        all.extend(r??);
    }
    all.sort();
    Ok(all)
}

/// Keeps one hostile instance running: starts the next when the last one has its incident.
async fn hostile_loop(
    client: RestClient,
    key: String,
    mode: String,
    stop: Arc<AtomicBool>,
) -> Result<usize> {
    let mut started = 0;
    while !stop.load(Ordering::Relaxed) {
        let id = client
            .start(&key, json!({"mode": {"value": mode, "type": "String"}}))
            .await?;
        started += 1;
        loop {
            let incidents = client
                .get(&format!("/incident/count?processInstanceId={id}"))
                .await?
                .json()?;
            if incidents["count"].as_u64().unwrap_or(0) > 0 || stop.load(Ordering::Relaxed) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    Ok(started)
}

fn line(name: &str, samples: &[Duration], idle_p99: Duration) -> String {
    let p99 = percentile(samples, 99.0);
    format!(
        "{name:<38} {:>7} steps  p50 {:>7.2} ms  p99 {:>7.2} ms  p99/idle {:>5.2}x",
        samples.len(),
        percentile(samples, 50.0).as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        p99.as_secs_f64() / idle_p99.as_secs_f64().max(1e-9)
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let clients = env_count("BENCH_CLIENTS", 2);
    let loops = env_count("BENCH_LOOPS", 500);
    let phases: Option<Vec<String>> = std::env::var("BENCH_PHASES")
        .ok()
        .map(|v| v.split(',').map(str::to_owned).collect());
    let mut args = Vec::new();
    if let Ok(nice) = std::env::var("BENCH_GUEST_NICE") {
        args.extend(["--wasm-guest-nice".to_owned(), nice]);
    }
    let dir = tempfile::tempdir()?;
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = BatonProcess::spawn(&dir.path().join("data"), &arg_refs)?;
    let client = server.client.clone();
    client.deploy("steps", &one_task("steps", "steps")).await?;
    // Warm up (connections, caches) before the first measurement.
    measure(&client, clients, loops / 5 + 1).await?;
    let idle = measure(&client, clients, loops).await?;
    let idle_p99 = percentile(&idle, 99.0);
    println!(
        "bench-hostile: {clients} clients x {loops} loops (start, fetchAndLock, complete), {}",
        args.join(" ")
    );
    println!("{}", line("idle", &idle, idle_p99));
    let counter = AtomicUsize::new(0);
    for phase in &PHASES {
        if phases
            .as_ref()
            .is_some_and(|p| !p.iter().any(|w| phase.name.contains(w.as_str())))
        {
            continue;
        }
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let topic = format!("hostile-{n}");
        let bytes = std::fs::read(phase.guest).with_context(|| phase.guest.to_owned())?;
        let answer = client
            .http
            .put(format!(
                "{}/task-module/{topic}?{}",
                client.base, phase.query
            ))
            .header("content-type", "application/wasm")
            .body(bytes)
            .send()
            .await?;
        if !answer.status().is_success() {
            bail!("binding {topic}: {}", answer.text().await?);
        }
        let key = format!("hostile_{n}");
        let model = baton_tests::bpmn::definitions(
            &key,
            &format!(
                r#"<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t" />
<bpmn:serviceTask id="t" camunda:type="external" camunda:topic="{topic}"><bpmn:extensionElements><camunda:failedJobRetryTimeCycle>R1/PT10S</camunda:failedJobRetryTimeCycle></bpmn:extensionElements></bpmn:serviceTask>
<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e" /><bpmn:endEvent id="e" />"#
            ),
        );
        client.deploy(&key, &model).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let hostile = tokio::spawn(hostile_loop(
            client.clone(),
            key,
            phase.mode.to_owned(),
            stop.clone(),
        ));
        let samples = measure(&client, clients, loops).await?;
        stop.store(true, Ordering::Relaxed);
        let runs = hostile.await??;
        println!(
            "{}",
            line(&format!("{} [{runs} runs]", phase.name), &samples, idle_p99)
        );
    }
    let after = measure(&client, clients, loops).await?;
    println!("{}", line("idle again", &after, idle_p99));
    let status = server.terminate()?;
    if !status.success() {
        bail!("baton exited with {status}");
    }
    Ok(())
}
