//! `bench-rest` (issue 15): the latency a REST client sees on the real `baton serve` binary
//! (durable, sled in a temporary directory), one request at a time, for the one-task model.
//!
//! - `start`: `POST /process-definition/key/one/start` answered, p50/p99 over
//!   `BENCH_STARTS` (default 2,000) sequential starts after 200 for warming up, sent through
//!   one keep-alive connection ([`BenchConnection`]). Each answer waits for its
//!   group-committed fsync.
//! - `hand-off`: a worker is parked in `fetchAndLock` (long polling, `asyncResponseTimeout`
//!   10 s) on an empty topic; then an instance is started. Measured per round, over
//!   `BENCH_HANDOFFS` (default 500) rounds: start sent → worker has the task (an upper bound of
//!   "task created → worker has it": it includes the start's own parsing, commit and fsync),
//!   and start answered → worker has the task (the engine wakes the parked fetch after the same
//!   commit the start waits for, so this is near zero and may be negative). The worker then
//!   completes the task, so every round parks on an empty topic. The starter and the worker
//!   each use a [`BenchConnection`] too.
//!
//! Run: `cargo build --release -p baton -p baton-tests --bin baton --bin bench-rest &&
//! target/release/bench-rest`.

use std::time::{Duration, Instant};

use anyhow::bail;
use baton_tests::bench::{BenchConnection, Id, env_count, json_body};
use baton_tests::{BatonProcess, bpmn, fetch_and_lock_body, percentile};
use serde_json::json;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> anyhow::Result<()> {
    let starts = env_count("BENCH_STARTS", 2_000);
    let handoffs = env_count("BENCH_HANDOFFS", 500);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let dir = tempfile::tempdir()?;
        let server = BatonProcess::spawn(&dir.path().join("data"), &[])?;
        let c = server.client.clone();
        c.deploy("one", &bpmn::one_task("one", "work")).await?;
        c.deploy("parked", &bpmn::one_task("parked", "parked"))
            .await?;

        // The starts go through one keep-alive connection that costs the client little
        // (`BenchConnection`), so the figure is the server's answer, not reqwest's.
        let mut connection = BenchConnection::open(&c).await?;
        let body = json_body(&json!({ "variables": {} }))?;
        let path = "/process-definition/key/one/start";
        for _ in 0..200 {
            connection.post(path, body.clone()).await?;
        }
        let mut start = Vec::with_capacity(starts);
        for _ in 0..starts {
            let t0 = Instant::now();
            let answer = connection.post(path, body.clone()).await?;
            start.push(t0.elapsed());
            serde_json::from_slice::<Id>(&answer)?;
        }
        start.sort();

        let mut sent_to_worker = Vec::with_capacity(handoffs);
        let mut answered_to_worker = Vec::with_capacity(handoffs);
        // The worker and the starter each keep a connection of their own, as the starts
        // above do: the figure is the engine's hand-off, not reqwest's request building and
        // JSON parsing (about 0.1 ms of client CPU per request on this machine).
        let fetch = json_body(&fetch_and_lock_body(
            "parked-worker",
            "parked",
            1,
            Some(10_000),
            60_000,
        ))?;
        let complete = json_body(&json!({ "workerId": "parked-worker", "variables": {} }))?;
        let mut worker = Some(BenchConnection::open(&c).await?);
        for round in 0..handoffs {
            let Some(mut parked_connection) = worker.take() else {
                bail!("round {round}: the worker's connection was lost");
            };
            let fetch = fetch.clone();
            let parked = tokio::spawn(async move {
                let answer = parked_connection
                    .post("/external-task/fetchAndLock", fetch)
                    .await;
                // The answer's bytes are in: the worker has the task (parsing it is the
                // worker's own time).
                (parked_connection, answer, Instant::now())
            });
            // Give the fetch time to find the topic empty and park (a benchmark, not a test:
            // a fetch not yet parked only makes this round's figure smaller, not wrong).
            tokio::time::sleep(Duration::from_millis(5)).await;
            let sent = Instant::now();
            connection
                .post("/process-definition/key/parked/start", body.clone())
                .await?;
            let answered = Instant::now();
            let (parked_connection, answer, has_it) = parked.await?;
            worker = Some(parked_connection);
            let tasks: Vec<Id> = serde_json::from_slice(&answer?)?;
            let Some(task) = tasks.first() else {
                bail!("round {round}: the parked worker got no task");
            };
            sent_to_worker.push(has_it - sent);
            answered_to_worker.push(has_it.saturating_duration_since(answered));
            connection
                .post(
                    &format!("/external-task/{}/complete", task.id),
                    complete.clone(),
                )
                .await?;
        }
        sent_to_worker.sort();
        answered_to_worker.sort();

        println!("bench-rest: real `baton serve`, durable (fsync), one request at a time");
        println!();
        println!("| measure | samples | p50 ms | p99 ms |");
        println!("|---|---:|---:|---:|");
        let row = |name: &str, samples: &[Duration]| {
            println!(
                "| {name} | {} | {:.3} | {:.3} |",
                samples.len(),
                ms(percentile(samples, 50.0)),
                ms(percentile(samples, 99.0))
            );
        };
        row("start answered", &start);
        row("start sent → parked worker has the task", &sent_to_worker);
        row(
            "start answered → parked worker has the task (0 when earlier)",
            &answered_to_worker,
        );
        server.terminate()?;
        anyhow::Ok(())
    })
}
