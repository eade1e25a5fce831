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
use std::time::Instant;

use anyhow::bail;
use baton_tests::bench::{cpu_seconds, wait_until_finished, work_until_stopped};
use baton_tests::bpmn::one_task;
use baton_tests::{BatonProcess, RestClient};
use serde_json::json;

const STARTERS: usize = 16;

const WORKERS: usize = 16;
const BATCH: usize = 32;

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
            workers.spawn(work_until_stopped(
                clients[w % nodes].clone(),
                format!("w{w}"),
                "work",
                BATCH,
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
        wait_until_finished(&clients[0], n).await?;
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
