//! `bench-cluster`: issue 21's benchmark. Runs N instances of the `one` model (start →
//! external task → end) on 1, 2 or 3 real `baton serve` nodes sharing one PostgreSQL
//! database, or on one node on sled, through the public REST API, and prints one JSON line.
//!
//! usage: `bench-cluster <nodes> <N> [sled]`; the database comes from `BATON_TEST_DATABASE`
//! (tests/postgres/bench.sh starts a cluster and runs every configuration side by side).
//!
//! Load: 16 starters and 16 workers (long polling, batch fetch of 32), spread evenly over the
//! nodes, as a load balancer in front of them would spread clients. The run ends when the
//! history counts N finished instances; instances/s is N over that time. CPU is the nodes'
//! own (utime + stime from `/proc`, PostgreSQL's not included) per instance.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use baton_tests::bpmn::one_task;
use baton_tests::{BatonProcess, RestClient};
use serde_json::json;

const STARTERS: usize = 16;

/// utime + stime of a process in seconds (clock ticks of 10 ms on Linux).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}
const WORKERS: usize = 16;
const BATCH: usize = 32;

async fn worker(client: RestClient, name: String, stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    while !stop.load(Ordering::Relaxed) {
        let tasks = client
            .fetch_and_lock_for(&name, "work", BATCH, Some(1_000), 60_000)
            .await?;
        for t in tasks {
            let id = t["id"].as_str().context("task id")?;
            client.complete(id, &name, json!({})).await?;
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        bail!("usage: bench-cluster <nodes> <N> [sled]");
    }
    let nodes: usize = args[1].parse()?;
    let n: usize = args[2].parse()?;
    let sled = args.get(3).is_some_and(|a| a == "sled");
    if sled && nodes != 1 {
        bail!("sled is one node's store: run it with 1 node");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let dir = tempfile::tempdir()?;
        let schema = format!(
            "bench_{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_nanos()
        );
        let url = std::env::var("BATON_TEST_DATABASE").unwrap_or_default();
        if !sled && url.is_empty() {
            bail!("set BATON_TEST_DATABASE to a PostgreSQL URL (or pass `sled`)");
        }
        let mut servers = Vec::new();
        for i in 0..nodes {
            let data = dir.path().join(format!("node{i}"));
            let server = if sled {
                BatonProcess::spawn_on_sled(&data, &[])?
            } else {
                BatonProcess::spawn(&data, &["--database", &url, "--database-schema", &schema])?
            };
            servers.push(server);
        }
        let clients: Vec<RestClient> = servers.iter().map(|s| s.client.clone()).collect();
        clients[0].deploy("one", &one_task("one", "work")).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut workers = tokio::task::JoinSet::new();
        for w in 0..WORKERS {
            workers.spawn(worker(
                clients[w % nodes].clone(),
                format!("w{w}"),
                stop.clone(),
            ));
        }
        let cpu0: f64 = servers.iter().filter_map(|s| cpu_seconds(s.pid())).sum();
        let began = Instant::now();
        let mut starters = tokio::task::JoinSet::new();
        for s in 0..STARTERS {
            let c = clients[s % nodes].clone();
            let count = n / STARTERS + usize::from(s < n % STARTERS);
            starters.spawn(async move {
                for _ in 0..count {
                    c.start("one", json!({})).await?;
                }
                anyhow::Ok(())
            });
        }
        while let Some(r) = starters.join_next().await {
            r??;
        }
        let deadline = Instant::now() + Duration::from_secs(3_600);
        loop {
            let count = clients[0]
                .get("/history/process-instance/count?finished=true")
                .await?
                .json()?;
            if count["count"].as_u64().unwrap_or(0) as usize >= n {
                break;
            }
            if Instant::now() > deadline {
                bail!("instances did not finish within an hour");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let elapsed = began.elapsed();
        let cpu = servers
            .iter()
            .filter_map(|s| cpu_seconds(s.pid()))
            .sum::<f64>()
            - cpu0;
        stop.store(true, Ordering::Relaxed);
        while workers.join_next().await.is_some() {}
        println!(
            "{}",
            json!({
                "store": if sled { "sled" } else { "postgres" },
                "nodes": nodes,
                "model": "one",
                "instances": n,
                "seconds": elapsed.as_secs_f64(),
                "per_s": n as f64 / elapsed.as_secs_f64(),
                "node_cpu_ms_per_instance": cpu * 1000.0 / n as f64,
            })
        );
        for server in servers {
            server.terminate()?;
        }
        anyhow::Ok(())
    })
}
