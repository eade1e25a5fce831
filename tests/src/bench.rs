//! What the benchmark binaries (`tests/bench/*.rs`) share: their numeric settings, a process's
//! CPU time and the REST worker loop that fetches and completes a topic's tasks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use crate::RestClient;

/// A count from the environment (`BENCH_INSTANCES=10_000` or `10000`), or `default` when
/// unset or not a number.
pub fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// utime + stime of a process in seconds (clock ticks of 10 ms on Linux).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// A worker: long-polls `topic` for up to `batch` tasks (1 s wait, 60 s lock) and completes
/// each, until `stop` is set.
pub async fn work_until_stopped(
    client: RestClient,
    name: String,
    topic: &'static str,
    batch: usize,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    while !stop.load(Ordering::Relaxed) {
        let tasks = client
            .fetch_and_lock_for(&name, topic, batch, Some(1_000), 60_000)
            .await?;
        for t in tasks {
            let id = t["id"].as_str().context("task id")?;
            client.complete(id, &name, json!({})).await?;
        }
    }
    Ok(())
}

/// Wait until the history counts `n` finished instances (for at most an hour). The count is
/// kept by the engine, so a poll is one cheap request, but a request all the same: polls are
/// spaced by half the time the finishing rate seen so far projects for the rest (1-20 ms).
/// A fixed 20 ms added up to 20 ms to runs that take 100 ms (500 instances of `one`); a fixed
/// 1 ms would send a thousand requests a second through the longer remote runs.
pub async fn wait_until_finished(client: &RestClient, n: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(3_600);
    let mut last: Option<(Instant, usize)> = None;
    loop {
        let count = client
            .get("/history/process-instance/count?finished=true")
            .await?
            .json()?;
        let finished = count["count"].as_u64().unwrap_or(0) as usize;
        if finished >= n {
            return Ok(());
        }
        let now = Instant::now();
        if now > deadline {
            bail!("instances did not finish within an hour");
        }
        let pause = match last {
            Some((then, before)) if finished > before => {
                let per_instance = (now - then).as_secs_f64() / (finished - before) as f64;
                Duration::from_secs_f64(per_instance * (n - finished) as f64 / 2.0)
            }
            _ => Duration::from_millis(5),
        };
        last = Some((now, finished));
        tokio::time::sleep(pause.clamp(Duration::from_millis(1), Duration::from_millis(20))).await;
    }
}
