//! `bench-notify` (issue 22): does a failing notification receiver slow the engine down?
//!
//! The real HTTP application in-process on `127.0.0.1:0` (durable sled store, system clock,
//! background loops on), driven over REST by `BENCH_CLIENTS` (default 8) clients, each looping
//! start → fetchAndLock → complete, except every 10th task, which is failed with 0 retries (an
//! incident, hence a notification). Three runs of `BENCH_SECONDS` (default 10) each:
//!
//! - `no rules`: nothing to notify (the baseline);
//! - `receiver ok`: 8 rules with 1 s windows POST to a receiver answering 200;
//! - `receiver hangs`: the same rules to a receiver that never answers (10 s time-out,
//!   retries with back-off): the 8 delivery slots stay busy the whole run.
//!
//! Then `no rules` once more (the first run also pays for warming up). Prints p50/p99 of
//! `start` and `fetchAndLock` per run, and what the receiver got.
//! Run: `cargo run -p baton-tests --bin bench-notify` (add `--release` for release figures).

use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_tests::bpmn::one_task;
use baton_tests::percentile;
use baton_tests::receiver::{Mode, Receiver};
use baton_tests::{RestClient, TestServer};
use serde_json::json;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Default)]
struct Samples {
    start: Vec<Duration>,
    fetch: Vec<Duration>,
    incidents: usize,
}

async fn client_loop(c: RestClient, n: usize, until: Instant) -> anyhow::Result<Samples> {
    let mut s = Samples::default();
    let worker = format!("w{n}");
    let mut i = 0usize;
    while Instant::now() < until {
        i += 1;
        let t = Instant::now();
        c.start("bench", json!({})).await?;
        s.start.push(t.elapsed());
        let t = Instant::now();
        let tasks = c.fetch_and_lock(&worker, "bench", 1, None).await?;
        s.fetch.push(t.elapsed());
        for task in tasks {
            let id = task["id"].as_str().unwrap_or_default().to_owned();
            if i.is_multiple_of(10) {
                let a = c
                    .post(
                        &format!("/external-task/{id}/failure"),
                        &json!({"workerId": worker, "errorMessage": "bench", "retries": 0, "retryTimeout": 0}),
                    )
                    .await?;
                anyhow::ensure!(a.ok(), "failure: {:?}", a.body);
                s.incidents += 1;
            } else {
                c.complete(&id, &worker, json!({})).await?;
            }
        }
    }
    Ok(s)
}

async fn run(label: &str, receiver: Option<&Receiver>) -> anyhow::Result<()> {
    let clients = env_or("BENCH_CLIENTS", 8) as usize;
    let seconds = env_or("BENCH_SECONDS", 10);
    let server = TestServer::start().await?;
    server
        .client
        .deploy("bench", &one_task("bench", "bench"))
        .await?;
    if let Some(r) = receiver {
        for k in 0..8 {
            // Eight rules, one-second windows: up to eight deliveries due every second.
            let a = server
                .client
                .post(
                    "/notification-rule/create",
                    &json!({"name": format!("bench {k}"), "condition": "incidentCreated",
                            "url": r.url, "secret": "s", "windowSeconds": 1}),
                )
                .await?;
            anyhow::ensure!(a.ok(), "rule: {:?}", a.body);
        }
    }
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut set = tokio::task::JoinSet::new();
    for n in 0..clients {
        set.spawn(client_loop(server.client.clone(), n, until));
    }
    let mut all = Samples::default();
    while let Some(r) = set.join_next().await {
        let s = r??;
        all.start.extend(s.start);
        all.fetch.extend(s.fetch);
        all.incidents += s.incidents;
    }
    all.start.sort();
    all.fetch.sort();
    let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
    let m = server.engine.notification_metrics();
    println!(
        "| {label} | {} | {} / {} | {} / {} | {} | {} | {} |",
        all.start.len(),
        ms(percentile(&all.start, 50.0)),
        ms(percentile(&all.start, 99.0)),
        ms(percentile(&all.fetch, 50.0)),
        ms(percentile(&all.fetch, 99.0)),
        all.incidents,
        receiver.map(|r| r.received().len()).unwrap_or(0),
        m.failed_attempts,
    );
    server.stop().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    println!(
        "clients {}, {} s per run, {} profile",
        env_or("BENCH_CLIENTS", 8),
        env_or("BENCH_SECONDS", 10),
        if cfg!(debug_assertions) {
            "dev"
        } else {
            "release"
        }
    );
    println!(
        "| run | instances | start p50 / p99 ms | fetchAndLock p50 / p99 ms | incidents | webhook requests | failed attempts |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    run("no rules", None).await?;
    let ok = Arc::new(Receiver::start(Mode::Ok).await?);
    run("receiver ok", Some(&ok)).await?;
    let hangs = Receiver::start(Mode::Hang).await?;
    run("receiver hangs", Some(&hangs)).await?;
    // The baseline again: the first run also pays for warming up (page cache, allocator).
    run("no rules (again)", None).await?;
    Ok(())
}
