//! What the benchmark binaries (`tests/bench/*.rs`) share: their numeric settings, a process's
//! CPU time, the load generators' HTTP connection and the REST worker loop that fetches and
//! completes a topic's tasks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::json;

use crate::{RestClient, fetch_and_lock_body};

/// A count from the environment (`BENCH_INSTANCES=10_000` or `10000`), or `default` when
/// unset or not a number.
pub fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// CPU time of a process in seconds: the sum of its threads' run time as the scheduler counts
/// it (`/proc/<pid>/task/*/schedstat`, nanoseconds), or utime + stime (clock ticks of 10 ms)
/// where schedstat is not available.
///
/// Why not the ticks alone: a 500-instance run of `one` lasts 60-90 ms, so ticks put its
/// server's CPU per instance at 180, 200 or 240 µs for the same work. A thread that exits
/// between two readings takes its time out of the sum; the servers measured keep theirs for
/// the length of a run.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    scheduled_seconds(pid).or_else(|| ticked_seconds(pid))
}

fn scheduled_seconds(pid: u32) -> Option<f64> {
    let mut nanos: u64 = 0;
    let mut counted = false;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        // A thread that exits while its siblings are read is left out, not the whole sum
        // (which would fall back to ticks for one reading of a pair).
        let ran = std::fs::read_to_string(task.path().join("schedstat"))
            .ok()
            .and_then(|stat| stat.split_whitespace().next()?.parse::<u64>().ok());
        if let Some(ran) = ran {
            nanos += ran;
            counted = true;
        }
    }
    counted.then(|| nanos as f64 / 1e9)
}

fn ticked_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// One keep-alive HTTP/1.1 connection of a load generator to a baton server.
///
/// Why not [`RestClient`]: the benchmarks run their clients on the same 2 vCPUs as the server,
/// so a client's CPU is taken from the server's share. reqwest (its pool, its request
/// builder) with every answer parsed into a `serde_json::Value` spent about 100 µs of CPU
/// per `POST .../start` of `bench-baton one` (the process's CPU time over 6,000 starts); wrk
/// sending the same request spent 17 µs. Here a request body is serialized once by the
/// caller and an answer is read into the fields the benchmark needs.
pub struct BenchConnection {
    sender: SendRequest<Full<Bytes>>,
    /// `127.0.0.1:PORT`, the `Host` header.
    host: String,
    /// `/engine-rest`, prefixed to every path.
    root: String,
}

impl BenchConnection {
    /// Connect to the server of `client` (its base `http://HOST:PORT/engine-rest`).
    pub async fn open(client: &RestClient) -> anyhow::Result<BenchConnection> {
        let rest = client
            .base
            .strip_prefix("http://")
            .with_context(|| format!("not an http:// base: {}", client.base))?;
        let (host, root) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let stream = tokio::net::TcpStream::connect(host).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        // Ends when the sender is dropped (or the server closes the connection).
        tokio::spawn(connection);
        Ok(BenchConnection {
            sender,
            host: host.to_owned(),
            root: root.to_owned(),
        })
    }

    /// POST a JSON `body` to `path` under `/engine-rest`; the answer's body if 2xx, else an
    /// error with status and body.
    pub async fn post(&mut self, path: &str, body: Bytes) -> anyhow::Result<Bytes> {
        let request = hyper::Request::post(format!("{}{path}", self.root))
            .header(hyper::header::HOST, &self.host)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))?;
        self.sender.ready().await?;
        let answer = self.sender.send_request(request).await?;
        let status = answer.status();
        let bytes = answer.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            bail!(
                "HTTP {status} for {path}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        Ok(bytes)
    }
}

/// `value` serialized once, to be sent as the body of many requests.
pub fn json_body(value: &serde_json::Value) -> anyhow::Result<Bytes> {
    Ok(Bytes::from(serde_json::to_vec(value)?))
}

/// The part of an answer a benchmark reads: the id of a started instance or a locked task.
#[derive(Deserialize)]
pub struct Id {
    /// The id.
    pub id: String,
}

/// A worker: long-polls `topic` for up to `batch` tasks (1 s wait, 60 s lock) and completes
/// each, until `stop` is set. Sends the same requests as [`RestClient::fetch_and_lock_for`]
/// and [`RestClient::complete`] through one [`BenchConnection`].
pub async fn work_until_stopped(
    client: RestClient,
    name: String,
    topic: &'static str,
    batch: usize,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let mut connection = BenchConnection::open(&client).await?;
    let fetch = json_body(&fetch_and_lock_body(
        &name,
        topic,
        batch,
        Some(1_000),
        60_000,
    ))?;
    let complete = json_body(&json!({ "workerId": name, "variables": {} }))?;
    while !stop.load(Ordering::Relaxed) {
        let answer = connection
            .post("/external-task/fetchAndLock", fetch.clone())
            .await?;
        let tasks: Vec<Id> = serde_json::from_slice(&answer).context("fetchAndLock answer")?;
        for task in tasks {
            connection
                .post(
                    &format!("/external-task/{}/complete", task.id),
                    complete.clone(),
                )
                .await?;
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
