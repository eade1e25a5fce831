//! `bench-queries`: issue 14's query benchmark. Loads many instances into a real engine (real
//! sled on disk), serves the real HTTP application on 127.0.0.1:0, and prints p50/p99 of the
//! twenty queries Camunda's Cockpit, Tasklist and REST clients send most, list and count, and the reported backtracking `Like` pattern (issue 14).
//!
//! The data: four process definitions. `order`, `invoice` and `claim` are start -> external
//! task (topic = the key) -> user task (assignee `user{n}`, candidate group `group{n}`) -> end;
//! `audit` is start -> end. Of every 20 instances, 8 wait at their external task, 2 at their user
//! task (the loader completes whichever task of the topic the fetch hands out, so which ones is
//! not fixed) and 10 are `audit` instances that finished in their start call: a mix of running and
//! finished instances, every one with a business key (`{key}-{i}`) and two variables
//! (`customer`, one of 1,000 names; `amount`, an Integer).
//!
//! Knobs (environment): `BENCH_QUERY_INSTANCES` (default 1,000,000), `BENCH_QUERY_REPS`
//! (measured runs per query, default 30; a query slower than 2 s is measured 3 times),
//! `BENCH_QUERY_CLIENTS` (loaders at once, default 32), `BENCH_DIR` (where the store goes,
//! default a temp dir), `BENCH_QUERY_REUSE=1` (with `BENCH_DIR`: measure the store an earlier
//! run loaded instead of loading again). Prints a markdown table.

use std::time::{Duration, Instant};

use baton::config::ServerConfig;
use baton::engine::{
    DefinitionRef, DeployRequest, EngineConfig, ProcessEngine, Resource, StartRequest,
};
use baton::store::Durability;
use baton_bpmn::{Value, Variables};
use baton_tests::bench::env_count;
use baton_tests::bpmn::definitions;
use baton_tests::{dir_bytes, fetch_request, percentile};

/// start -> external task (topic `key`) -> user task -> end.
fn task_model(key: &str) -> String {
    definitions(
        key,
        &format!(
            r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:serviceTask id="work" name="Work" camunda:type="external" camunda:topic="{key}" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="review" />
    <bpmn:userTask id="review" name="Review" camunda:assignee="${{assignee}}"
      camunda:candidateGroups="${{group}}" />
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end" />"#
        ),
    )
}

fn audit_model() -> String {
    definitions(
        "audit",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    )
}

const TASK_KEYS: [&str; 3] = ["order", "invoice", "claim"];

/// What instance `i` is: its definition key and whether its external task gets completed.
fn shape(i: usize) -> (&'static str, bool) {
    match i % 20 {
        0..=7 => (TASK_KEYS[i % 3], false),
        8 | 9 => (TASK_KEYS[i % 3], true),
        _ => ("audit", false),
    }
}

fn variables(i: usize) -> Variables {
    let mut v = Variables::new();
    v.insert(
        "customer".into(),
        Value::String(format!("customer-{}", i % 1000)),
    );
    v.insert("amount".into(), Value::Integer((i % 5000) as i32));
    v.insert("assignee".into(), Value::String(format!("user{}", i % 50)));
    v.insert("group".into(), Value::String(format!("group{}", i % 10)));
    v
}

async fn load_one(engine: &ProcessEngine, i: usize) -> anyhow::Result<()> {
    let (key, complete_work) = shape(i);
    engine
        .start_instance(
            DefinitionRef::Key {
                key: key.into(),
                tenant_id: None,
            },
            StartRequest {
                variables: variables(i),
                business_key: Some(format!("{key}-{i}")),
                ..StartRequest::default()
            },
        )
        .await?;
    if complete_work {
        let worker = format!("loader-{i}");
        for locked in engine
            .fetch_and_lock(fetch_request(&worker, &[key], 1, 600_000))
            .await?
        {
            engine
                .complete_external_task(
                    &locked.task.id,
                    &worker,
                    Variables::new(),
                    Variables::new(),
                )
                .await?;
        }
    }
    Ok(())
}

async fn load(engine: &ProcessEngine, total: usize, clients: usize) -> anyhow::Result<()> {
    let mut resources: Vec<Resource> = TASK_KEYS
        .iter()
        .map(|k| Resource {
            name: format!("{k}.bpmn"),
            bytes: task_model(k).into_bytes(),
        })
        .collect();
    resources.push(Resource {
        name: "audit.bpmn".into(),
        bytes: audit_model().into_bytes(),
    });
    engine
        .deploy(DeployRequest {
            resources,
            ..DeployRequest::default()
        })
        .await?;
    let started = Instant::now();
    let mut loaders = Vec::new();
    for c in 0..clients {
        let engine = engine.clone();
        loaders.push(tokio::spawn(async move {
            let mut i = c;
            while i < total {
                load_one(&engine, i).await?;
                if c == 0 && i % 50_000 < clients {
                    eprintln!(
                        "  loaded ~{i} instances ({:.0} s)",
                        started.elapsed().as_secs_f64()
                    );
                }
                i += clients;
            }
            anyhow::Ok(())
        }));
    }
    for l in loaders {
        l.await??;
    }
    eprintln!(
        "loaded {total} instances in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The queries, as a Cockpit/Tasklist/REST client sends them. `{pi}` is replaced by a running
/// instance id, `{hpi}` by a finished one.
const QUERIES: [(&str, &str); 22] = [
    (
        "instances of a definition, page",
        "/engine-rest/process-instance?processDefinitionKey=order&maxResults=10",
    ),
    (
        "count instances of a definition",
        "/engine-rest/process-instance/count?processDefinitionKey=order",
    ),
    (
        "instance by business key",
        "/engine-rest/process-instance?businessKey=order-3",
    ),
    (
        "business key like, page",
        "/engine-rest/process-instance?businessKeyLike=order-12%25&maxResults=10",
    ),
    (
        "instances by variable value, page",
        "/engine-rest/process-instance?variables=customer_eq_customer-7&maxResults=10",
    ),
    ("one instance", "/engine-rest/process-instance/{pi}"),
    (
        "variables of an instance",
        "/engine-rest/process-instance/{pi}/variables",
    ),
    (
        "external tasks of a topic, page",
        "/engine-rest/external-task?topicName=order&maxResults=10",
    ),
    (
        "count external tasks of a topic",
        "/engine-rest/external-task/count?topicName=order",
    ),
    (
        "external tasks of an instance",
        "/engine-rest/external-task?processInstanceId={pi}",
    ),
    (
        "user tasks of an assignee, page",
        "/engine-rest/task?assignee=user8&maxResults=10",
    ),
    (
        "count user tasks of a candidate group",
        "/engine-rest/task/count?candidateGroup=group8",
    ),
    (
        "open incidents, page",
        "/engine-rest/incident?maxResults=10",
    ),
    (
        "finished instances, page",
        "/engine-rest/history/process-instance?finished=true&maxResults=10",
    ),
    (
        "count finished instances",
        "/engine-rest/history/process-instance/count?finished=true",
    ),
    (
        "history of a definition, page",
        "/engine-rest/history/process-instance?processDefinitionKey=invoice&maxResults=10",
    ),
    (
        "activity history of an instance",
        "/engine-rest/history/activity-instance?processInstanceId={hpi}",
    ),
    (
        "variable history of an instance",
        "/engine-rest/history/variable-instance?processInstanceId={hpi}",
    ),
    (
        "latest definitions",
        "/engine-rest/process-definition?latestVersion=true",
    ),
    ("metrics", "/metrics"),
    (
        "the reported backtracking Like (issue 14), 3 instances of a definition",
        "/engine-rest/process-instance?processDefinitionKey=redos&businessKeyLike=%25a%25a%25a%25a%25a%25a%25a%25a%25a%25a%25a%25ab",
    ),
    (
        "the reported backtracking Like over every running instance (a scan)",
        "/engine-rest/process-instance/count?businessKeyLike=%25a%25a%25a%25a%25a%25a%25a%25a%25a%25a%25a%25ab",
    ),
];

/// The report's data for the `Like` rows: three waiting instances of their own definition whose
/// business keys are 41 `a`s plus a suffix (the pattern took 54 s over them with the old
/// backtracking matcher). Added once; a reused store already has them.
async fn add_backtracking_case(engine: &ProcessEngine) -> anyhow::Result<()> {
    let redos = DefinitionRef::Key {
        key: "redos".into(),
        tenant_id: None,
    };
    if engine.latest_definition("redos", None).await.is_ok() {
        return Ok(());
    }
    engine
        .deploy(DeployRequest {
            resources: vec![Resource {
                name: "redos.bpmn".into(),
                bytes: task_model("redos").into_bytes(),
            }],
            ..DeployRequest::default()
        })
        .await?;
    for suffix in ["", "x", "y"] {
        engine
            .start_instance(
                redos.clone(),
                StartRequest {
                    variables: variables(0),
                    business_key: Some(format!("{}{suffix}", "a".repeat(41))),
                    ..StartRequest::default()
                },
            )
            .await?;
    }
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let total = env_count("BENCH_QUERY_INSTANCES", 1_000_000);
    let reps = env_count("BENCH_QUERY_REPS", 30).max(1);
    let clients = env_count("BENCH_QUERY_CLIENTS", 32).max(1);
    let temp = tempfile::tempdir()?;
    let dir = std::env::var("BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| temp.path().to_path_buf())
        .join(format!("queries-{total}"));
    // BENCH_QUERY_REUSE=1 with a BENCH_DIR keeps a store loaded by an earlier run (loading a
    // million instances takes minutes); the opening time is then printed as a restart figure.
    let reuse = std::env::var("BENCH_QUERY_REUSE").is_ok_and(|v| v == "1") && dir.exists();
    if !reuse {
        let _ = std::fs::remove_dir_all(&dir);
    }

    let mut config = EngineConfig::new(&dir);
    config.durability = Durability::Relaxed;
    config.wasm = None;
    let opening = Instant::now();
    let engine = ProcessEngine::open(config).await?;
    if reuse {
        eprintln!(
            "reopened the store of {total} instances in {:.2} s",
            opening.elapsed().as_secs_f64()
        );
    } else {
        load(&engine, total, clients).await?;
    }
    add_backtracking_case(&engine).await?;

    // The real HTTP application (REST API, cockpit, /metrics) with no request time limit:
    // this measures the queries, not the guard.
    let server_config = ServerConfig {
        request_timeout_ms: 0,
        ..ServerConfig::default()
    };
    let app = baton::server::app(engine.clone(), &server_config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;

    let running = client
        .get(format!(
            "{base}/engine-rest/process-instance?processDefinitionKey=claim&maxResults=1"
        ))
        .send()
        .await?
        .json::<serde_json::Value>()
        .await?;
    let pi = running[0]["id"].as_str().unwrap_or_default().to_owned();
    let finished = client
        .get(format!(
            "{base}/engine-rest/history/process-instance?finished=true&maxResults=1"
        ))
        .send()
        .await?
        .json::<serde_json::Value>()
        .await?;
    let hpi = finished[0]["id"].as_str().unwrap_or_default().to_owned();

    let machine = format!(
        "{} vCPU, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .map(|l| format!(
                "load {}",
                l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
            ))
            .unwrap_or_default()
    );
    println!(
        "\n### Queries at {total} instances ({machine}; store {:.0} MiB)\n",
        dir_bytes(&dir) as f64 / (1024.0 * 1024.0)
    );
    println!("| query | request | status, rows | p50 ms | p99 ms | runs |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (name, path) in QUERIES {
        let path = path.replace("{pi}", &pi).replace("{hpi}", &hpi);
        let url = format!("{base}{path}");
        let mut samples = Vec::new();
        let mut summary = String::new();
        for run in 0..=reps {
            let t0 = Instant::now();
            let response = client.get(&url).send().await?;
            let status = response.status();
            let body = response.text().await?;
            let took = t0.elapsed();
            if run == 0 {
                // The first run warms caches and tells the size of the answer.
                summary = match serde_json::from_str::<serde_json::Value>(&body) {
                    Ok(serde_json::Value::Array(a)) => format!("{status}, {} rows", a.len()),
                    Ok(serde_json::Value::Object(o)) if o.contains_key("count") => {
                        format!("{status}, count {}", o["count"])
                    }
                    Ok(_) => format!("{status}, 1 row"),
                    Err(_) => format!("{status}, {} bytes", body.len()),
                };
                continue;
            }
            samples.push(took);
            if took > Duration::from_secs(2) && samples.len() >= 3 {
                break;
            }
        }
        samples.sort();
        println!(
            "| {name} | `{}` | {summary} | {} | {} | {} |",
            path.trim_start_matches("/engine-rest"),
            ms(percentile(&samples, 50.0)),
            ms(percentile(&samples, 99.0)),
            samples.len()
        );
    }
    server.abort();
    engine.shutdown().await?;
    Ok(())
}
