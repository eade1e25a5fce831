//! The test harness of baton's end-to-end tests and benchmarks.
//!
//! - [`guests`]: paths of the wasm guests built by `tests/build.rs`.
//! - [`TestEngine`]: a [`ProcessEngine`] on a temporary sled store with a [`ManualClock`] and
//!   the background scheduler off, so time only moves when a test says so (`advance`, `tick`).
//! - [`TestServer`]: the HTTP application (`baton::server::run`) on `127.0.0.1:0` in-process,
//!   with a [`RestClient`] speaking Camunda's engine-rest.
//! - [`BatonProcess`]: the real `baton serve` binary as a child process (for crash tests),
//!   found next to the test executable in `target/<profile>/`.
//! - [`bpmn`]: small BPMN model builders shared by tests and benchmarks.
//! - [`receiver`]: a real webhook receiver for the notification tests.
//! - [`chaos`]: the chaos run (SIGKILLs of `baton serve` under mixed load, checked after each
//!   restart).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use baton::clock::ManualClock;
use baton::engine::{
    DefinitionRef, DeployRequest, EngineConfig, EngineEvent, FetchAndLockRequest, LockedTask,
    ProcessEngine, Resource, StartRequest, StartResult, TopicRequest,
};
use baton::records::{HistoricActivityInstance, ProcessDefinition};
use baton_bpmn::Variables;
use serde_json::{Value as Json, json};

/// Paths of the wasm guests built by `tests/build.rs` (one `pub const` per guest, e.g.
/// [`guests::ECHO`]) and the `foreach_guest!` macro.
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

pub mod bench;
pub mod bpmn;
pub mod chaos;
mod process;
pub mod receiver;

pub use process::{BatonProcess, baton_binary};

/// 2026-01-01T00:00:00Z: where every [`TestEngine`] clock starts.
pub const T0: i64 = 1_767_225_600_000;

// ------------------------------------------------------------------------------ TestEngine

/// A [`ProcessEngine`] on a temporary directory with a [`ManualClock`] and no background
/// scheduler: jobs, timers and lock expiry happen only in [`TestEngine::tick`].
pub struct TestEngine {
    /// The engine.
    pub engine: ProcessEngine,
    /// Its clock (starts at [`T0`]).
    pub clock: ManualClock,
    dir: Arc<tempfile::TempDir>,
    config: EngineConfig,
}

impl TestEngine {
    /// A fresh engine: durable, manual clock, wasm off, scheduler off.
    pub async fn new() -> TestEngine {
        TestEngine::with(|_| {}).await
    }

    /// A fresh engine with the configuration adjusted by `adjust` (after the test defaults).
    pub async fn with(adjust: impl FnOnce(&mut EngineConfig)) -> TestEngine {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let clock = ManualClock::new(T0);
        let mut config = EngineConfig::new(dir.path().join("data"));
        config.clock = Arc::new(clock.clone());
        config.background_scheduler = false;
        config.wasm = None;
        adjust(&mut config);
        let engine = open_retrying(config.clone()).await;
        TestEngine {
            engine,
            clock,
            dir,
            config,
        }
    }

    /// Drop the engine *without* shutting it down (no final flush), then open a new one on the
    /// same directory and clock, as a restart after a crash would.
    pub async fn reopen(self) -> TestEngine {
        let TestEngine {
            engine,
            clock,
            dir,
            config,
        } = self;
        drop(engine);
        let engine = open_retrying(config.clone()).await;
        TestEngine {
            engine,
            clock,
            dir,
            config,
        }
    }

    /// The engine's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.config.data_dir.clone()
    }

    /// The temporary directory holding the data directory (kept alive by this engine).
    pub fn temp_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Deploy one BPMN file; returns the new definitions (empty when filtered as duplicate).
    pub async fn deploy(&self, name: &str, xml: &str) -> Vec<ProcessDefinition> {
        self.deploy_with(name, xml, false).await
    }

    /// Deploy one BPMN file with or without duplicate filtering.
    pub async fn deploy_with(
        &self,
        name: &str,
        xml: &str,
        enable_duplicate_filtering: bool,
    ) -> Vec<ProcessDefinition> {
        let result = self
            .engine
            .deploy(DeployRequest {
                name: Some(name.to_owned()),
                enable_duplicate_filtering,
                resources: vec![Resource {
                    name: format!("{name}.bpmn"),
                    bytes: xml.as_bytes().to_vec(),
                }],
                ..DeployRequest::default()
            })
            .await
            .unwrap_or_else(|e| panic!("deploying {name}: {e:?}"));
        result.deployed_process_definitions.unwrap_or_default()
    }

    /// Start the latest version of `key` with variables.
    pub async fn start(&self, key: &str, variables: Variables) -> StartResult {
        self.start_with(
            key,
            StartRequest {
                variables,
                ..StartRequest::default()
            },
        )
        .await
    }

    /// Start the latest version of `key` with a full request.
    pub async fn start_with(&self, key: &str, request: StartRequest) -> StartResult {
        self.engine
            .start_instance(
                DefinitionRef::Key {
                    key: key.to_owned(),
                    tenant_id: None,
                },
                request,
            )
            .await
            .unwrap_or_else(|e| panic!("starting {key}: {e:?}"))
    }

    /// Fetch and lock up to `max` tasks of `topic` for `worker` (lock 60 s, no long poll).
    pub async fn fetch(&self, worker: &str, topic: &str, max: usize) -> Vec<LockedTask> {
        self.engine
            .fetch_and_lock(fetch_request(worker, &[topic], max, 60_000))
            .await
            .unwrap_or_else(|e| panic!("fetch-and-lock {topic}: {e:?}"))
    }

    /// Complete a task locked by `worker`.
    pub async fn complete(&self, task_id: &str, worker: &str, variables: Variables) {
        self.engine
            .complete_external_task(task_id, worker, variables, Variables::new())
            .await
            .unwrap_or_else(|e| panic!("completing {task_id}: {e:?}"));
    }

    /// Run what is due now.
    pub async fn tick(&self) -> usize {
        self.engine.tick().await.expect("tick")
    }

    /// Move the clock by `ms` and run what came due.
    pub async fn advance(&self, ms: i64) -> usize {
        self.clock.advance(ms);
        self.tick().await
    }

    /// History of one instance's activities.
    pub async fn activities(&self, instance_id: &str) -> Vec<HistoricActivityInstance> {
        self.engine
            .historic_activity_instances(Some(instance_id))
            .await
            .expect("historic activities")
    }

    /// Whether `activity_id` of the instance has ended (completed, not canceled).
    pub async fn activity_completed(&self, instance_id: &str, activity_id: &str) -> bool {
        self.activities(instance_id)
            .await
            .iter()
            .any(|a| a.activity_id == activity_id && a.end_time.is_some() && !a.canceled)
    }

    /// The historic state of an instance (`ACTIVE`, `COMPLETED`, ...).
    pub async fn instance_state(&self, instance_id: &str) -> String {
        self.engine
            .historic_process_instances()
            .await
            .expect("historic instances")
            .into_iter()
            .find(|h| h.id == instance_id)
            .map(|h| h.state)
            .unwrap_or_else(|| panic!("no history of instance {instance_id}"))
    }
}

/// Open an engine, retrying while a previous engine on the same directory is still
/// releasing sled's file lock (its background tasks end asynchronously after a drop).
pub async fn open_retrying(config: EngineConfig) -> ProcessEngine {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match ProcessEngine::open(config.clone()).await {
            Ok(engine) => return engine,
            Err(e) if Instant::now() < deadline && e.to_string().contains("lock") => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("opening the engine on {}: {e:?}", config.data_dir.display()),
        }
    }
}

/// A fetch-and-lock request for some topics (no long polling).
pub fn fetch_request(
    worker: &str,
    topics: &[&str],
    max_tasks: usize,
    lock_ms: i64,
) -> FetchAndLockRequest {
    FetchAndLockRequest {
        worker_id: worker.to_owned(),
        max_tasks,
        use_priority: false,
        topics: topics
            .iter()
            .map(|t| TopicRequest {
                topic_name: (*t).to_owned(),
                lock_duration: lock_ms,
                ..TopicRequest::default()
            })
            .collect(),
        async_response_timeout: None,
        sort_by_create_time_asc: None,
    }
}

/// Variables from `(name, value)` pairs.
pub fn vars<const N: usize>(pairs: [(&str, baton_bpmn::Value); N]) -> Variables {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

// ------------------------------------------------------------------------------ events

/// How long [`wait_for_end`] and [`wait_for_incident`] wait before failing the test. In-engine
/// (wasm) tasks run after the commit on their own task, so tests wait for the engine's event
/// rather than polling; this bound only turns a hang into a failure.
pub const EVENT_WAIT: Duration = Duration::from_secs(60);

/// Waits for the next event `pick` accepts, skipping others (and lag), or panics after
/// [`EVENT_WAIT`] naming `what`. Subscribe before the action that causes the event.
pub async fn wait_for_event<T>(
    events: &mut tokio::sync::broadcast::Receiver<EngineEvent>,
    what: &str,
    mut pick: impl FnMut(EngineEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(EVENT_WAIT, async {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Some(found) = pick(event) {
                        return found;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("event stream closed while waiting for {what}: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} within {EVENT_WAIT:?}"))
}

/// Waits until `instance_id` ends; returns its end state (`COMPLETED`, ...).
pub async fn wait_for_end(
    events: &mut tokio::sync::broadcast::Receiver<EngineEvent>,
    instance_id: &str,
) -> String {
    wait_for_event(events, &format!("end of {instance_id}"), |e| match e {
        EngineEvent::InstanceEnded {
            process_instance_id,
            state,
            ..
        } if process_instance_id == instance_id => Some(state),
        _ => None,
    })
    .await
}

/// Waits until an incident is raised for `instance_id`; returns its message.
pub async fn wait_for_incident(
    events: &mut tokio::sync::broadcast::Receiver<EngineEvent>,
    instance_id: &str,
) -> String {
    wait_for_event(events, &format!("incident of {instance_id}"), |e| match e {
        EngineEvent::IncidentRaised {
            process_instance_id,
            message,
            ..
        } if process_instance_id == instance_id => Some(message.unwrap_or_default()),
        _ => None,
    })
    .await
}

// ------------------------------------------------------------------------------ HTTP target

/// A real HTTP server on `127.0.0.1:0` answering every request with `200 pong`; counts the
/// requests it received.
pub async fn pong_server() -> (std::net::SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tokio::io::AsyncReadExt::read(&mut socket, &mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = tokio::io::AsyncWriteExt::write_all(
                    &mut socket,
                    b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\npong",
                )
                .await;
            });
        }
    });
    (addr, hits)
}

// ------------------------------------------------------------------------------ REST client

/// The body of `POST /external-task/fetchAndLock` for one topic (`async_response_timeout_ms`:
/// long polling), as [`RestClient::fetch_and_lock_for`] and the benchmarks' workers send it.
pub fn fetch_and_lock_body(
    worker: &str,
    topic: &str,
    max_tasks: usize,
    async_response_timeout_ms: Option<u64>,
    lock_ms: u64,
) -> Json {
    let mut body = json!({
        "workerId": worker,
        "maxTasks": max_tasks,
        "topics": [{ "topicName": topic, "lockDuration": lock_ms }],
    });
    if let Some(ms) = async_response_timeout_ms {
        body["asyncResponseTimeout"] = json!(ms);
    }
    body
}

/// A small Camunda engine-rest client (async reqwest).
#[derive(Clone)]
pub struct RestClient {
    /// `http://127.0.0.1:PORT/engine-rest`.
    pub base: String,
    /// The HTTP client.
    pub http: reqwest::Client,
}

/// An HTTP answer: status and JSON body (`Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Body.
    pub body: Json,
}

impl Answer {
    /// 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body if 2xx, else an error with status and body.
    pub fn json(self) -> Result<Json> {
        if self.ok() {
            Ok(self.body)
        } else {
            bail!("HTTP {}: {}", self.status, self.body)
        }
    }
}

impl RestClient {
    /// A client for `http://ADDR` (the `/engine-rest` suffix is added).
    pub fn new(root: &str) -> RestClient {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(64)
            .build()
            .expect("http client");
        RestClient {
            base: format!("{}/engine-rest", root.trim_end_matches('/')),
            http,
        }
    }

    async fn answer(resp: reqwest::Response) -> Result<Answer> {
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Json::Null);
        Ok(Answer { status, body })
    }

    /// GET a path under `/engine-rest`.
    pub async fn get(&self, path: &str) -> Result<Answer> {
        let resp = self.http.get(format!("{}{path}", self.base)).send().await?;
        RestClient::answer(resp).await
    }

    /// POST JSON to a path under `/engine-rest`.
    pub async fn post(&self, path: &str, body: &Json) -> Result<Answer> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await?;
        RestClient::answer(resp).await
    }

    /// `POST /deployment/create` with one BPMN file.
    pub async fn deploy(&self, name: &str, xml: &str) -> Result<Json> {
        self.deploy_files(name, &[(format!("{name}.bpmn"), xml.as_bytes().to_vec())])
            .await
    }

    /// `POST /deployment/create` with several resources (file name, bytes), e.g. a BPMN
    /// model and the `.wasm` component bound to the topic named by its file stem.
    pub async fn deploy_files(&self, name: &str, files: &[(String, Vec<u8>)]) -> Result<Json> {
        let mut form = reqwest::multipart::Form::new().text("deployment-name", name.to_owned());
        for (file_name, bytes) in files {
            let part = reqwest::multipart::Part::bytes(bytes.clone())
                .file_name(file_name.clone())
                .mime_str("application/octet-stream")?;
            form = form.part(file_name.clone(), part);
        }
        let resp = self
            .http
            .post(format!("{}/deployment/create", self.base))
            .multipart(form)
            .send()
            .await?;
        RestClient::answer(resp).await?.json()
    }

    /// `POST /process-definition/key/{key}/start`; returns the instance id.
    pub async fn start(&self, key: &str, variables: Json) -> Result<String> {
        let body = self
            .post(
                &format!("/process-definition/key/{key}/start"),
                &json!({ "variables": variables }),
            )
            .await?
            .json()?;
        body["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("start answer without id: {body}"))
    }

    /// `POST /external-task/fetchAndLock` (lock 60 s); returns the locked tasks.
    pub async fn fetch_and_lock(
        &self,
        worker: &str,
        topic: &str,
        max_tasks: usize,
        async_response_timeout_ms: Option<u64>,
    ) -> Result<Vec<Json>> {
        self.fetch_and_lock_for(worker, topic, max_tasks, async_response_timeout_ms, 60_000)
            .await
    }

    /// `POST /external-task/fetchAndLock` with a lock duration in ms.
    pub async fn fetch_and_lock_for(
        &self,
        worker: &str,
        topic: &str,
        max_tasks: usize,
        async_response_timeout_ms: Option<u64>,
        lock_ms: u64,
    ) -> Result<Vec<Json>> {
        let body =
            fetch_and_lock_body(worker, topic, max_tasks, async_response_timeout_ms, lock_ms);
        match self
            .post("/external-task/fetchAndLock", &body)
            .await?
            .json()?
        {
            Json::Array(tasks) => Ok(tasks),
            other => bail!("fetchAndLock answered {other}"),
        }
    }

    /// `POST /external-task/{id}/complete`.
    pub async fn complete(&self, task_id: &str, worker: &str, variables: Json) -> Result<()> {
        self.post(
            &format!("/external-task/{task_id}/complete"),
            &json!({ "workerId": worker, "variables": variables }),
        )
        .await?
        .json()
        .map(|_| ())
    }

    /// `GET /history/activity-instance?processInstanceId=...`.
    pub async fn activity_history(&self, instance_id: &str) -> Result<Vec<Json>> {
        match self
            .get(&format!(
                "/history/activity-instance?processInstanceId={instance_id}"
            ))
            .await?
            .json()?
        {
            Json::Array(a) => Ok(a),
            other => bail!("activity history answered {other}"),
        }
    }

    /// `GET /history/process-instance/{id}` (`None` on 404).
    pub async fn instance_history(&self, instance_id: &str) -> Result<Option<Json>> {
        let answer = self
            .get(&format!("/history/process-instance/{instance_id}"))
            .await?;
        if answer.status == 404 {
            return Ok(None);
        }
        answer.json().map(Some)
    }
}

// ------------------------------------------------------------------------------ TestServer

/// The REST application served in-process on `127.0.0.1:0` (system clock, durable store in
/// a temporary directory). Dropping it stops the server.
pub struct TestServer {
    /// A client for it.
    pub client: RestClient,
    /// The engine behind it.
    pub engine: ProcessEngine,
    /// `127.0.0.1:PORT`.
    pub addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Start with the default server configuration.
    pub async fn start() -> Result<TestServer> {
        TestServer::start_with(|_| {}).await
    }

    /// Start with a configuration adjusted by `adjust` (data dir and listen are set first).
    pub async fn start_with(
        adjust: impl FnOnce(&mut baton::config::ServerConfig),
    ) -> Result<TestServer> {
        let dir = tempfile::tempdir()?;
        let mut config = baton::config::ServerConfig {
            data_dir: dir.path().join("data"),
            ..baton::config::ServerConfig::default()
        };
        adjust(&mut config);
        let engine =
            ProcessEngine::open(config.engine_config(Arc::new(baton::clock::SystemClock))).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(baton::server::run(
            listener,
            engine.clone(),
            config,
            async {
                let _ = rx.await;
            },
        ));
        Ok(TestServer {
            client: RestClient::new(&format!("http://{addr}")),
            engine,
            addr,
            stop: Some(tx),
            handle: Some(handle),
            _dir: dir,
        })
    }

    /// Stop gracefully (in-flight requests finish, the engine flushes).
    pub async fn stop(mut self) -> Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await??;
        }
        Ok(())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Peak resident set size of this process so far, in bytes (Linux `VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    status_kib("VmHWM:").map(|k| k * 1024)
}

/// Current resident set size of this process, in bytes (Linux `VmRSS`).
pub fn rss_bytes() -> Option<u64> {
    status_kib("VmRSS:").map(|k| k * 1024)
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time this process has used so far (user + system, all threads), from
/// `/proc/self/stat`. Benchmarks divide it by the work done: unlike wall time it is not
/// inflated by other processes on a shared machine. Resolution: one clock tick (10 ms).
pub fn process_cpu_time() -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may contain spaces: count fields after its closing ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After ')': state is field 3, so utime (14) and stime (15) are the 12th and 13th.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    const TICKS_PER_SECOND: u64 = 100;
    Some(std::time::Duration::from_millis(
        (utime + stime) * 1000 / TICKS_PER_SECOND,
    ))
}

/// Bytes of all files under a directory.
pub fn dir_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// The `p`-th percentile (0..=100) of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}
