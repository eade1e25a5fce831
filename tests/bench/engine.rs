//! `bench-engine`: issue 3's engine benchmark, in-process through `ProcessEngine` (no HTTP).
//!
//! 1. Throughput: instances/s for start -> one external task (fetch-and-lock + complete) ->
//!    end, durable (fsync group commit), with 1, 4, 16, 64 concurrent clients; p50/p99 latency
//!    of each command.
//! 2. Scale: fetch-and-lock latency with 10k / 100k / (1M) tasks waiting on one topic (loaded
//!    with relaxed durability, measured after a reopen with default durability), plus disk bytes
//!    and RSS per waiting instance, the time to reopen the engine, and the latency of
//!    completing the fetched tasks (instances that waited across checkpoints: their ends read
//!    history rows back from the tables).
//!
//! 3. Codec: encoding and decoding one waiting instance's record (the write every step of an
//!    instance makes) in the store's formats: positional MessagePack (what the hot trees hold),
//!    MessagePack with field names (the other trees) and JSON (older releases): µs per record
//!    and bytes.
//!
//! Knobs (environment): `BENCH_INSTANCES` (per client level, default 2000), `BENCH_CLIENTS`
//! (default `1,4,16,64`), `BENCH_WAITING` (default `10000,100000`; add `1000000` when there is
//! time), `BENCH_FETCHES` (measured fetches per size, default 300), `BENCH_DIR` (where the
//! stores go, default a temp dir), `BENCH_KEEP` (scale: keep each loaded store in
//! `BENCH_DIR` and reuse it on the next run, so a reopen can be measured or profiled again
//! without the load; the load column then says `kept`), `BENCH_COMMITS` (`batched` or `inline`
//! only), `BENCH_DURABILITY=relaxed` (throughput without waiting for the disk, to see what the
//! wait costs). Prints markdown tables.

use std::time::{Duration, Instant};

use baton::engine::{
    DefinitionRef, DeployRequest, EngineConfig, ProcessEngine, Resource, StartRequest,
};
use baton::store::Durability;
use baton_bpmn::Variables;
use baton_tests::bench::env_count;
use baton_tests::bpmn::one_task;
use baton_tests::{dir_bytes, fetch_request, percentile, process_cpu_time, rss_bytes};

fn env_list(name: &str, default: &str) -> Vec<usize> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .filter_map(|s| s.trim().replace('_', "").parse().ok())
        .collect()
}

fn config(dir: &std::path::Path, durability: Durability) -> EngineConfig {
    let mut c = EngineConfig::new(dir);
    c.durability = durability;
    c.wasm = None;
    c
}

async fn deploy(engine: &ProcessEngine) -> anyhow::Result<()> {
    engine
        .deploy(DeployRequest {
            resources: vec![Resource {
                name: "bench.bpmn".into(),
                bytes: one_task("bench", "bench").into_bytes(),
            }],
            ..DeployRequest::default()
        })
        .await?;
    Ok(())
}

fn start_ref() -> DefinitionRef {
    DefinitionRef::Key {
        key: "bench".into(),
        tenant_id: None,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[derive(Default)]
struct Samples {
    start: Vec<Duration>,
    fetch: Vec<Duration>,
    complete: Vec<Duration>,
    instance: Vec<Duration>,
}

impl Samples {
    fn extend(&mut self, other: Samples) {
        self.start.extend(other.start);
        self.fetch.extend(other.fetch);
        self.complete.extend(other.complete);
        self.instance.extend(other.instance);
    }
}

async fn client(engine: ProcessEngine, n: usize, worker: String) -> anyhow::Result<Samples> {
    let mut s = Samples::default();
    for _ in 0..n {
        let t0 = Instant::now();
        engine
            .start_instance(start_ref(), StartRequest::default())
            .await?;
        let t1 = Instant::now();
        s.start.push(t1 - t0);
        // Any waiting task will do: with several clients another client's task may come first.
        let task = loop {
            let f0 = Instant::now();
            let mut got = engine
                .fetch_and_lock(fetch_request(&worker, &["bench"], 1, 60_000))
                .await?;
            s.fetch.push(f0.elapsed());
            if let Some(t) = got.pop() {
                break t;
            }
            tokio::task::yield_now().await;
        };
        let c0 = Instant::now();
        engine
            .complete_external_task(&task.task.id, &worker, Variables::new(), Variables::new())
            .await?;
        s.complete.push(c0.elapsed());
        s.instance.push(t0.elapsed());
    }
    Ok(s)
}

async fn throughput(root: &std::path::Path) -> anyhow::Result<()> {
    let total = env_count("BENCH_INSTANCES", 2000);
    println!(
        "\n### Throughput: start -> one external task (fetch+complete in-process) -> end, durable (fsync)\n"
    );
    println!(
        "| commits | clients | instances | instances/s | CPU µs/instance | start p50/p99 ms | fetch p50/p99 ms | complete p50/p99 ms | instance p50/p99 ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    // Both commit modes at each client level, interleaved, so a change in the machine's load
    // hits both alike.
    let modes: &[bool] = match std::env::var("BENCH_COMMITS").as_deref() {
        Ok("batched") => &[true],
        Ok("inline") => &[false],
        _ => &[true, false],
    };
    for clients in env_list("BENCH_CLIENTS", "1,4,16,64") {
        for &batched in modes {
            throughput_run(root, total, clients, batched).await?;
        }
    }
    Ok(())
}

/// One row of the throughput table.
async fn throughput_run(
    root: &std::path::Path,
    total: usize,
    clients: usize,
    batched: bool,
) -> anyhow::Result<()> {
    let dir = root.join(format!("throughput-{clients}-{batched}"));
    // `BENCH_DURABILITY=relaxed` shows what the wait for the disk costs (not a baton mode
    // anyone benchmarks against: acknowledged work can be lost).
    let durability = match std::env::var("BENCH_DURABILITY").as_deref() {
        Ok("relaxed") => Durability::Relaxed,
        _ => Durability::Fsync,
    };
    let mut config = config(&dir, durability);
    config.batched_commits = batched;
    let engine = ProcessEngine::open(config).await?;
    deploy(&engine).await?;
    let per = total.div_ceil(clients);
    let began = Instant::now();
    let cpu_before = process_cpu_time();
    let mut set = tokio::task::JoinSet::new();
    for c in 0..clients {
        set.spawn(client(engine.clone(), per, format!("w{c}")));
    }
    let mut all = Samples::default();
    while let Some(r) = set.join_next().await {
        all.extend(r??);
    }
    let elapsed = began.elapsed();
    let done = per * clients;
    // CPU per instance (all threads: runtime, sled's flusher, group commit), the figure a
    // loaded machine does not distort the way it does wall time.
    let cpu_per_instance = match (cpu_before, process_cpu_time()) {
        (Some(a), Some(b)) => format!("{:.0}", (b - a).as_secs_f64() * 1e6 / done as f64),
        _ => "n/a".to_owned(),
    };
    for v in [
        &mut all.start,
        &mut all.fetch,
        &mut all.complete,
        &mut all.instance,
    ] {
        v.sort();
    }
    let pp =
        |v: &Vec<Duration>| format!("{} / {}", ms(percentile(v, 50.0)), ms(percentile(v, 99.0)));
    println!(
        "| {} | {clients} | {done} | {:.0} | {cpu_per_instance} | {} | {} | {} | {} |",
        if batched { "batched" } else { "inline" },
        done as f64 / elapsed.as_secs_f64(),
        pp(&all.start),
        pp(&all.fetch),
        pp(&all.complete),
        pp(&all.instance),
    );
    let metrics = engine.metrics();
    anyhow::ensure!(
        metrics.instances_completed as usize >= done,
        "only {} of {done} instances completed",
        metrics.instances_completed
    );
    engine.shutdown().await?;
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn load(engine: &ProcessEngine, n: usize) -> anyhow::Result<()> {
    let loaders = 8;
    let mut set = tokio::task::JoinSet::new();
    for l in 0..loaders {
        let engine = engine.clone();
        let count = n / loaders + usize::from(l < n % loaders);
        set.spawn(async move {
            for _ in 0..count {
                engine
                    .start_instance(start_ref(), StartRequest::default())
                    .await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(r) = set.join_next().await {
        r??;
    }
    Ok(())
}

async fn scale(root: &std::path::Path) -> anyhow::Result<()> {
    let fetches = env_count("BENCH_FETCHES", 300);
    let keep = std::env::var_os("BENCH_KEEP").is_some();
    println!(
        "\n### Scale: tasks waiting on one topic (loaded relaxed, measured durable after a reopen)\n"
    );
    println!(
        "| waiting | load s | reopen s | fetch-and-lock p50 / p99 / max ms | disk bytes / waiting instance | RSS bytes / waiting instance | complete p50 / p99 ms |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for n in env_list("BENCH_WAITING", "10000,100000") {
        let dir = root.join(format!("scale-{n}"));
        let rss_before = rss_bytes().unwrap_or(0);
        let load_start = Instant::now();
        let reused = keep && dir.exists();
        if !reused {
            let engine = ProcessEngine::open(config(&dir, Durability::Relaxed)).await?;
            deploy(&engine).await?;
            load(&engine, n).await?;
            engine.shutdown().await?;
        }
        let load_s = if reused {
            "kept".to_owned()
        } else {
            format!("{:.1}", load_start.elapsed().as_secs_f64())
        };
        // sled releases its file lock once its background tasks end (the closing engine's
        // last checkpoint); the reopen is the attempt that got the lock, not that wait.
        let waiting_since = Instant::now();
        let (engine, reopen_s) = loop {
            let attempt = Instant::now();
            match ProcessEngine::open(config(&dir, Durability::Fsync)).await {
                Ok(e) => {
                    let waited = attempt.duration_since(waiting_since);
                    eprintln!(
                        "{n} waiting: {:.2} s for the closing engine's lock",
                        waited.as_secs_f64()
                    );
                    break (e, attempt.elapsed().as_secs_f64());
                }
                Err(e)
                    if e.to_string().contains("lock")
                        && waiting_since.elapsed() < Duration::from_secs(120) =>
                {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(e) => return Err(e.into()),
            }
        };
        let mut lat = Vec::with_capacity(fetches);
        let mut locked = Vec::with_capacity(fetches);
        for i in 0..fetches {
            let worker = format!("w{}", i % 4);
            let t0 = Instant::now();
            let got = engine
                .fetch_and_lock(fetch_request(&worker, &["bench"], 1, 600_000))
                .await?;
            lat.push(t0.elapsed());
            anyhow::ensure!(got.len() == 1, "no task fetched with {n} waiting");
            locked.extend(got.into_iter().map(|t| (t.task.id, worker.clone())));
        }
        lat.sort();
        let disk = dir_bytes(&dir);
        let rss_after = rss_bytes().unwrap_or(0);
        // Instances that waited across checkpoints and a reopen: ending them reads their
        // history rows back from the tables, not from memory.
        let mut completes = Vec::with_capacity(locked.len());
        for (id, worker) in &locked {
            let t0 = Instant::now();
            engine
                .complete_external_task(id, worker, Variables::new(), Variables::new())
                .await?;
            completes.push(t0.elapsed());
        }
        completes.sort();
        println!(
            "| {n} | {load_s} | {reopen_s:.2} | {} / {} / {} | {:.0} | {:.0} | {} / {} |",
            ms(percentile(&lat, 50.0)),
            ms(percentile(&lat, 99.0)),
            ms(*lat.last().unwrap_or(&Duration::ZERO)),
            disk as f64 / n as f64,
            rss_after.saturating_sub(rss_before) as f64 / n as f64,
            ms(percentile(&completes, 50.0)),
            ms(percentile(&completes, 99.0)),
        );
        engine.shutdown().await?;
        drop(engine);
        if !keep {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    Ok(())
}

/// The record codec on a real waiting instance (20 variables, one external task open).
async fn codec(root: &std::path::Path) -> anyhow::Result<()> {
    use baton::store::codec;
    let dir = root.join("codec");
    let _ = std::fs::remove_dir_all(&dir);
    let engine = ProcessEngine::open(config(&dir, Durability::Relaxed)).await?;
    engine
        .deploy(DeployRequest {
            resources: vec![Resource {
                name: "one.bpmn".into(),
                bytes: one_task("one", "work").into_bytes(),
            }],
            ..DeployRequest::default()
        })
        .await?;
    let mut variables = Variables::new();
    for i in 0..20 {
        variables.insert(
            format!("variable{i}"),
            baton_bpmn::Value::String(format!("value of variable {i}")),
        );
    }
    let started = engine
        .start_instance(
            DefinitionRef::Key {
                key: "one".into(),
                tenant_id: None,
            },
            StartRequest {
                variables,
                business_key: Some("order-4711".into()),
                ..StartRequest::default()
            },
        )
        .await?;
    let record = started.instance;
    let rounds = env_count("BENCH_CODEC_ROUNDS", 20_000);
    let json = serde_json::to_vec(&record)?;
    let named = codec::encode(&record);
    let positional = codec::encode_positional(&record);
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..rounds {
            f();
        }
        t.elapsed().as_secs_f64() * 1e6 / rounds as f64
    };
    let json_encode = time(&mut || {
        std::hint::black_box(serde_json::to_vec(&record).ok());
    });
    let json_decode = time(&mut || {
        std::hint::black_box(serde_json::from_slice::<baton::records::ProcessInstance>(&json).ok());
    });
    let named_encode = time(&mut || {
        std::hint::black_box(codec::encode(&record));
    });
    let named_decode = time(&mut || {
        std::hint::black_box(codec::decode::<baton::records::ProcessInstance>("i", &named).ok());
    });
    let back: baton::records::ProcessInstance = codec::decode("i", &positional)?;
    anyhow::ensure!(back == record, "the positional record does not round-trip");
    let positional_encode = time(&mut || {
        std::hint::black_box(codec::encode_positional(&record));
    });
    let positional_decode = time(&mut || {
        std::hint::black_box(
            codec::decode::<baton::records::ProcessInstance>("i", &positional).ok(),
        );
    });
    println!();
    println!("### Codec: one waiting instance's record ({rounds} rounds)");
    println!();
    println!("| codec | encode µs | decode µs | bytes |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| JSON (format 1, older releases) | {json_encode:.2} | {json_decode:.2} | {} |",
        json.len() + 1
    );
    println!(
        "| MessagePack with field names (format {}, the other trees) | {named_encode:.2} | {named_decode:.2} | {} |",
        named[0],
        named.len()
    );
    println!(
        "| MessagePack positional (format {}, what the instances tree stores) | {positional_encode:.2} | {positional_decode:.2} | {} |",
        positional[0],
        positional.len()
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let temp;
        let root = match std::env::var("BENCH_DIR") {
            Ok(d) => std::path::PathBuf::from(d),
            Err(_) => {
                temp = tempfile::tempdir()?;
                temp.path().to_path_buf()
            }
        };
        std::fs::create_dir_all(&root)?;
        println!(
            "bench-engine: {} CPUs, profile {}, {}",
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0),
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            root.display()
        );
        let what = std::env::args().nth(1).unwrap_or_else(|| "all".into());
        if what == "models" {
            // `bench-engine models DIR`: write the issue-7 models (shared with the peers).
            let out =
                std::path::PathBuf::from(std::env::args().nth(2).unwrap_or_else(|| ".".into()));
            std::fs::create_dir_all(&out)?;
            for m in baton_tests::bpmn::MODELS {
                let xml = baton_tests::bpmn::model(m, "work").unwrap_or_default();
                std::fs::write(out.join(format!("{m}.bpmn")), xml)?;
            }
            return Ok(());
        }
        if what == "all" || what == "throughput" {
            throughput(&root).await?;
        }
        if what == "all" || what == "scale" {
            scale(&root).await?;
        }
        if what == "all" || what == "codec" {
            codec(&root).await?;
        }
        anyhow::Ok(())
    })
}
