//! `bench-batch`: issue 18's batch benchmark. A modification of many instances runs as a
//! batch (`POST /modification/executeAsync`) while external-task workers fetch and complete
//! over HTTP; prints the p50/p99 of `fetchAndLock` while idle and while the batch runs, their
//! ratio (the target: p99 during the batch within 2x of idle), and the batch's duration.
//!
//! The data: `BENCH_BATCH_INSTANCES` (default 10,000) instances of `moved` (start -> user task
//! `A` -> external task `B`, topic `moved` -> end) waiting at `A`; the batch starts a token
//! before `B` and cancels `A` in each. The workers (`BENCH_BATCH_WORKERS`, default 4) work on
//! `work` instances (start -> external task, topic `work` -> end): each loop fetches one task,
//! completes it and starts a new instance, so the queue stays at `BENCH_BATCH_POOL` (default
//! 200). Idle phase: `BENCH_BATCH_IDLE_SECS` (default 10). The engine is durable (group
//! commit), on a real sled store, with its background scheduler and batch runner, behind the
//! real HTTP application on 127.0.0.1:0.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use baton::config::ServerConfig;
use baton::engine::{
    DefinitionRef, DeployRequest, EngineConfig, ProcessEngine, Resource, StartRequest,
};
use baton_tests::bench::env_count;
use baton_tests::bpmn::definitions;
use baton_tests::percentile;
use serde_json::{Value as J, json};

fn moved_model() -> String {
    definitions(
        "moved",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="A" />
    <bpmn:userTask id="A" />
    <bpmn:sequenceFlow id="f2" sourceRef="A" targetRef="B" />
    <bpmn:serviceTask id="B" camunda:type="external" camunda:topic="moved" />
    <bpmn:sequenceFlow id="f3" sourceRef="B" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    )
}

fn work_model() -> String {
    definitions(
        "work",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="W" />
    <bpmn:serviceTask id="W" camunda:type="external" camunda:topic="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="W" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    )
}

async fn deploy(engine: &ProcessEngine, name: &str, xml: String) -> anyhow::Result<String> {
    let d = engine
        .deploy(DeployRequest {
            name: Some(name.into()),
            resources: vec![Resource {
                name: format!("{name}.bpmn"),
                bytes: xml.into_bytes(),
            }],
            ..DeployRequest::default()
        })
        .await?;
    Ok(d.deployed_process_definitions
        .and_then(|v| v.first().map(|d| d.id.clone()))
        .unwrap_or_default())
}

async fn start(engine: &ProcessEngine, key: &str) -> anyhow::Result<String> {
    let r = engine
        .start_instance(
            DefinitionRef::Key {
                key: key.into(),
                tenant_id: None,
            },
            StartRequest::default(),
        )
        .await?;
    Ok(r.instance.id().to_owned())
}

/// One worker: fetch one `work` task, complete it, start a new `work` instance; the
/// fetchAndLock latencies until `stop`.
async fn worker(
    client: reqwest::Client,
    base: String,
    n: usize,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Vec<Duration>> {
    let worker_id = format!("bench-{n}");
    let mut latencies = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        let locked: J = client
            .post(format!("{base}/external-task/fetchAndLock"))
            .json(&json!({"workerId": worker_id, "maxTasks": 1,
                          "topics": [{"topicName": "work", "lockDuration": 60000}]}))
            .send()
            .await?
            .json()
            .await?;
        latencies.push(t.elapsed());
        for task in locked.as_array().into_iter().flatten() {
            let id = task["id"].as_str().unwrap_or_default();
            client
                .post(format!("{base}/external-task/{id}/complete"))
                .json(&json!({"workerId": worker_id}))
                .send()
                .await?
                .error_for_status()?;
            client
                .post(format!("{base}/process-definition/key/work/start"))
                .json(&json!({}))
                .send()
                .await?
                .error_for_status()?;
        }
    }
    Ok(latencies)
}

/// Run the workers until `until` resolves; their latencies, sorted.
async fn measure(
    client: &reqwest::Client,
    base: &str,
    workers: usize,
    until: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<Vec<Duration>> {
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..workers)
        .map(|n| tokio::spawn(worker(client.clone(), base.to_owned(), n, stop.clone())))
        .collect();
    until.await?;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await??);
    }
    all.sort();
    Ok(all)
}

fn line(name: &str, l: &[Duration]) -> String {
    format!(
        "| {name} | {} | {:.2} | {:.2} | {:.2} |",
        l.len(),
        percentile(l, 0.50).as_secs_f64() * 1e3,
        percentile(l, 0.99).as_secs_f64() * 1e3,
        l.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    )
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").unwrap_or_default()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let total = env_count("BENCH_BATCH_INSTANCES", 10_000);
    let workers = env_count("BENCH_BATCH_WORKERS", 4);
    let pool = env_count("BENCH_BATCH_POOL", 200);
    let idle_secs = env_count("BENCH_BATCH_IDLE_SECS", 10) as u64;
    let temp = tempfile::tempdir()?;
    let mut config = EngineConfig::new(temp.path());
    config.wasm = None;
    let engine = ProcessEngine::open(config).await?;
    let definition = deploy(&engine, "moved", moved_model()).await?;
    deploy(&engine, "work", work_model()).await?;
    let loading = Instant::now();
    let mut ids = Vec::with_capacity(total);
    for _ in 0..total {
        ids.push(start(&engine, "moved").await?);
    }
    for _ in 0..pool {
        start(&engine, "work").await?;
    }
    eprintln!(
        "loaded {total} instances in {:.1} s",
        loading.elapsed().as_secs_f64()
    );

    let server_config = ServerConfig {
        request_timeout_ms: 0,
        ..ServerConfig::default()
    };
    let app = baton::server::app(engine.clone(), &server_config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/engine-rest", listener.local_addr()?);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;

    let load_idle = load_average();
    let idle = measure(&client, &base, workers, async {
        tokio::time::sleep(Duration::from_secs(idle_secs)).await;
        Ok(())
    })
    .await?;

    let began = Instant::now();
    let batch: J = client
        .post(format!("{base}/modification/executeAsync"))
        .json(&json!({
            "processDefinitionId": definition,
            "processInstanceIds": ids,
            "instructions": [
                {"type": "startBeforeActivity", "activityId": "B"},
                {"type": "cancel", "activityId": "A"}
            ]
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let batch_id = batch["id"].as_str().unwrap_or_default().to_owned();
    let created = began.elapsed();
    let during = measure(&client, &base, workers, async {
        loop {
            let running: J = client
                .get(format!("{base}/batch/count?batchId={batch_id}"))
                .send()
                .await?
                .json()
                .await?;
            if running["count"] == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await?;
    let duration = began.elapsed();
    let load_batch = load_average();
    let history: J = client
        .get(format!("{base}/history/batch/{batch_id}"))
        .send()
        .await?
        .json()
        .await?;
    let moved: J = client
        .get(format!("{base}/external-task/count?topicName=moved"))
        .send()
        .await?
        .json()
        .await?;

    println!("bench-batch: {total} instances modified by one batch, {workers} workers fetching");
    println!();
    println!("| fetchAndLock | requests | p50 ms | p99 ms | max ms |");
    println!("| --- | --- | --- | --- | --- |");
    println!("{}", line("idle", &idle));
    println!("{}", line("during the batch", &during));
    let ratio =
        percentile(&during, 0.99).as_secs_f64() / percentile(&idle, 0.99).as_secs_f64().max(1e-9);
    println!();
    println!("p99 during / idle: {ratio:.2}x (target <= 2x)");
    println!(
        "batch: created in {:.2} s, done in {:.1} s ({:.0} instances/s), endTime {}, external tasks on `moved`: {}",
        created.as_secs_f64(),
        duration.as_secs_f64(),
        total as f64 / duration.as_secs_f64(),
        history["endTime"],
        moved["count"]
    );
    println!(
        "load average: idle {} during {}",
        load_idle.trim(),
        load_batch.trim()
    );
    server.abort();
    engine.shutdown().await?;
    Ok(())
}
