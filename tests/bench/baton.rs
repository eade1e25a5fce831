//! `bench-baton`: issue 7's baton side. Runs N instances of one benchmark model on the real
//! `baton serve` binary through its public REST API and prints one JSON line of figures, the
//! same shape the peer harnesses print.
//!
//! usage: `bench-baton <model.bpmn> <model-name> <N> <mode>` with mode one of
//! - `wasm`: the `pass` component bound to topic `work` runs every task in-process (durable).
//!   It completes the task with the variables it was given and nothing more, which is the
//!   work the peers' service tasks and this harness's remote workers do;
//! - `wasm-echo`: the same with the `echo` component, which also returns four variables of its
//!   own (`attempt` and what it observed of the clock and randomness) and logs a line: each
//!   task then writes four more variables and their history (about twice the history bytes of
//!   a `one` instance);
//! - `remote`: 8 REST workers, long polling, batch fetch of 32 (durable);
//! - `remote-relaxed`: the same with `--durability relaxed`.
//!
//! Throughput: instances are started by 8 concurrent REST clients (one keep-alive connection
//! each, [`BenchConnection`], all on one thread), and the run ends when the history counts N finished
//! instances. Latency: afterwards, up to 100 instances are run one at a time (as the peer
//! harnesses run theirs), each timed by the engine's own `durationInMillis` (1 ms
//! resolution). Peak RSS and CPU seconds are those of the baton process (`/proc/<pid>`) over
//! the throughput run; the client's own CPU seconds over the same run are printed beside
//! them (it shares the machine's cores with the server).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use baton_tests::bench::{
    BenchConnection, Id, cpu_seconds, json_body, wait_until_finished, work_until_stopped,
};
use baton_tests::{BatonProcess, guests};
use serde_json::{Value as Json, json};

const STARTERS: usize = 8;
const WORKERS: usize = 8;
const BATCH: usize = 32;
/// Instances timed one at a time for the latency figures (after the throughput run).
const LATENCY_RUNS: usize = 100;

fn proc_field(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        bail!(
            "usage: bench-baton <model.bpmn> <model-name> <N> <wasm|wasm-echo|remote|remote-relaxed>"
        );
    }
    let (file, model, n, mode) = (
        &args[1],
        &args[2],
        args[3].parse::<usize>()?,
        args[4].as_str(),
    );
    let xml = std::fs::read_to_string(file)?;
    // One thread, as `wrk -t1`: the load generator shares this machine's cores with the
    // engine it measures (the peers run in process, with no client at all). On 2 cores a
    // second client thread cost about 5 µs more of client CPU per request (24-28 against 20-22)
    // and the engine 1-6% of its starts per second (`one`, wasm, 5,000 instances, three
    // alternating pairs).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let dir = tempfile::tempdir()?;
        // The component bound to `work` (in-engine modes) and the durability.
        let (guest, durability) = match mode {
            "wasm" => (Some(("pass", guests::PASS)), "fsync"),
            "wasm-echo" => (Some(("echo", guests::ECHO)), "fsync"),
            "remote" => (None, "fsync"),
            "remote-relaxed" => (None, "relaxed"),
            other => bail!("unknown mode {other}: wasm, wasm-echo, remote or remote-relaxed"),
        };
        let server = BatonProcess::spawn(&dir.path().join("data"), &["--durability", durability])?;
        let pid = server.pid();
        let c = server.client.clone();
        if let Some((guest, path)) = guest {
            let bytes = std::fs::read(path)?;
            let resp = c
                .http
                .put(format!("{}/task-module/work", c.base))
                .body(bytes)
                .send()
                .await?;
            if !resp.status().is_success() {
                bail!(
                    "binding the {guest} component: {} {}",
                    resp.status(),
                    resp.text().await?
                );
            }
        }
        c.deploy(model, &xml).await?;
        let cpu0 = cpu_seconds(pid).unwrap_or(0.0);
        let client_cpu0 = cpu_seconds(std::process::id()).unwrap_or(0.0);
        let stop = Arc::new(AtomicBool::new(false));
        let mut workers = tokio::task::JoinSet::new();
        if guest.is_none() {
            for w in 0..WORKERS {
                workers.spawn(work_until_stopped(
                    c.clone(),
                    format!("w{w}"),
                    "work",
                    BATCH,
                    stop.clone(),
                ));
            }
        }
        // Each starter sends the same start request on its own connection.
        let start_path = format!("/process-definition/key/{model}/start");
        let start_body =
            json_body(&json!({"variables": {"count": {"value": 0, "type": "Integer"}}}))?;
        let mut connections = Vec::with_capacity(STARTERS);
        for _ in 0..STARTERS {
            connections.push(BenchConnection::open(&c).await?);
        }
        let began = Instant::now();
        let mut starters = tokio::task::JoinSet::new();
        for (s, mut connection) in connections.into_iter().enumerate() {
            let (path, body) = (start_path.clone(), start_body.clone());
            let count = n / STARTERS + usize::from(s < n % STARTERS);
            starters.spawn(async move {
                for _ in 0..count {
                    let answer = connection.post(&path, body.clone()).await?;
                    serde_json::from_slice::<Id>(&answer)?;
                }
                anyhow::Ok(())
            });
        }
        while let Some(r) = starters.join_next().await {
            r??;
        }
        // Wait for every instance to finish (an asynchronous outcome: poll with a deadline).
        wait_until_finished(&c, n).await?;
        let elapsed = began.elapsed();
        let cpu = cpu_seconds(pid).unwrap_or(0.0) - cpu0;
        let client_cpu = cpu_seconds(std::process::id()).unwrap_or(0.0) - client_cpu0;
        let peak_rss = proc_field(pid, "VmHWM:").unwrap_or(0) * 1024;
        // Latency, measured like the peers measure theirs: one instance at a time, so it is
        // the time an instance takes, not the time it queued behind the throughput run.
        let latency_runs = n.min(LATENCY_RUNS);
        let mut lat = Vec::with_capacity(latency_runs);
        for _ in 0..latency_runs {
            let id = c
                .start(model, json!({"count": {"value": 0, "type": "Integer"}}))
                .await?;
            let deadline = Instant::now() + Duration::from_secs(600);
            loop {
                let h = c
                    .get(&format!("/history/process-instance/{id}"))
                    .await?
                    .json()?;
                if let Some(ms) = h["durationInMillis"].as_f64() {
                    lat.push(ms);
                    break;
                }
                if Instant::now() > deadline {
                    bail!("instance {id} did not finish within 10 minutes");
                }
                tokio::time::sleep(Duration::from_micros(500)).await;
            }
        }
        stop.store(true, Ordering::Relaxed);
        while workers.join_next().await.is_some() {}
        lat.sort_by(f64::total_cmp);
        let pct = |p: f64| -> f64 {
            if lat.is_empty() {
                return 0.0;
            }
            lat[((p / 100.0) * (lat.len() - 1) as f64).round() as usize]
        };
        let out: Json = json!({
            "engine": format!("baton ({mode})"),
            "model": model,
            "instances": n,
            "per_s": n as f64 / elapsed.as_secs_f64(),
            "p50_ms": pct(50.0),
            "p99_ms": pct(99.0),
            "peak_rss_bytes": peak_rss,
            "cpu_s_per_1000": cpu / n as f64 * 1000.0,
            "client_cpu_s_per_1000": client_cpu / n as f64 * 1000.0,
        });
        println!("{out}");
        server.terminate()?;
        anyhow::Ok(())
    })
}
