//! The chaos load: REST clients that start instances, work external tasks (complete, fail
//! with retries, throw BPMN errors, or let the lock expire), complete user tasks, correlate
//! messages and deploy new versions, recording in the [`Ledger`] only what the server
//! acknowledged. Each client stops at its first transport error: the server was killed.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value as Json, json};

use super::{ERROR_CODE, LOCK_MS, MESSAGE, PROCESS_KEY, Rng, WASM_TOPIC, WORK_TOPIC, model};
use crate::RestClient;

/// One delivery of an external task to a worker, as the fetch answered it.
#[derive(Debug, Clone)]
pub(super) struct Delivery {
    pub(super) worker: String,
    /// Server time the lock was taken (`lockExpirationTime` − lock duration).
    pub(super) locked_at: i64,
    /// `lockExpirationTime`.
    pub(super) lock_expires: i64,
    /// Client time just before the worker sent the complete/failure/bpmnError the server
    /// acknowledged: the lock ended no earlier than this.
    pub(super) released_at: Option<i64>,
}

/// Everything the server acknowledged, over all rounds.
#[derive(Debug, Default)]
pub(super) struct Ledger {
    pub(super) starts: Vec<String>,
    pub(super) deployments: Vec<String>,
    /// Instances whose `work` task was completed.
    pub(super) completes: Vec<String>,
    /// Instances whose `work` task threw the BPMN error.
    pub(super) bpmn_errors: Vec<String>,
    /// (task id, retries) of acknowledged failures.
    pub(super) failures: Vec<(String, i64)>,
    /// Instances whose `approve` user task was completed.
    pub(super) user_tasks: Vec<String>,
    /// Instances the message was correlated to.
    pub(super) messages: Vec<String>,
    /// Deliveries per external task id.
    pub(super) deliveries: HashMap<String, Vec<Delivery>>,
    /// Instances past `approve` still to be sent the message.
    pub(super) awaiting_message: VecDeque<String>,
    /// Versions deployed (for the next model's documentation).
    versions: usize,
}

impl Ledger {
    /// Acknowledged commands by kind.
    pub(super) fn counts(&self) -> BTreeMap<&'static str, usize> {
        BTreeMap::from([
            ("starts", self.starts.len()),
            ("deployments", self.deployments.len()),
            ("external task completes", self.completes.len()),
            ("external task failures", self.failures.len()),
            ("bpmn errors", self.bpmn_errors.len()),
            ("user task completes", self.user_tasks.len()),
            ("messages correlated", self.messages.len()),
            (
                "fetched deliveries",
                self.deliveries.values().map(Vec::len).sum(),
            ),
        ])
    }

    /// All acknowledged commands (fetches included).
    pub(super) fn total(&self) -> usize {
        self.counts().values().sum()
    }
}

type Shared = Arc<Mutex<Ledger>>;

/// How long the drain goes on without one more instance ending before it leaves what still
/// runs to the checks (a stuck instance), and the most it takes in all (a slow machine with
/// thousands of instances left needs minutes, not a fixed half minute).
const DRAIN_STALL_SECONDS: u64 = 30;
const DRAIN_MAX_SECONDS: u64 = 900;

/// The drain's lock: it completes what it fetched at once.
const DRAIN_LOCK_MS: i64 = 60_000;

fn ledger(shared: &Shared) -> MutexGuard<'_, Ledger> {
    // A panicking client cannot leave the ledger half-written (each update is one push), so
    // a poisoned lock's data is still good.
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Client wall clock in ms (the server runs on the same machine and clock).
pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Deploys the model (version 1) with the `echo` component bound to [`WASM_TOPIC`].
pub(super) async fn deploy(client: &RestClient, shared: &Shared) -> Result<()> {
    let wasm = std::fs::read(crate::guests::ECHO).context("the echo guest")?;
    let version = {
        let mut l = ledger(shared);
        l.versions += 1;
        l.versions
    };
    let answer = client
        .deploy_files(
            PROCESS_KEY,
            &[
                (format!("{PROCESS_KEY}.bpmn"), model(version).into_bytes()),
                (format!("{WASM_TOPIC}.wasm"), wasm),
            ],
        )
        .await?;
    let id = answer["id"].as_str().context("deployment without id")?;
    ledger(shared).deployments.push(id.to_owned());
    Ok(())
}

/// The clients of one round.
pub(super) struct Load {
    clients: tokio::task::JoinSet<()>,
}

impl Load {
    /// Starts the clients against `client`'s server.
    pub(super) fn start(client: &RestClient, shared: &Shared, seed: u64) -> Load {
        let mut clients = tokio::task::JoinSet::new();
        let mut rng = Rng::new(seed);
        for n in 0..2 {
            clients.spawn(starter(client.clone(), shared.clone(), n));
        }
        for n in 0..3 {
            let worker = Worker {
                name: format!("chaos-worker-{n}"),
                client: client.clone(),
                shared: shared.clone(),
                rng: Rng::new(rng.below(u64::MAX)),
            };
            clients.spawn(worker.run());
        }
        clients.spawn(user_tasks(client.clone(), shared.clone()));
        clients.spawn(messenger(client.clone(), shared.clone()));
        clients.spawn(deployer(client.clone(), shared.clone()));
        Load { clients }
    }

    /// Waits until every client stopped (they stop when the server is gone).
    pub(super) async fn join(mut self) {
        while self.clients.join_next().await.is_some() {}
    }
}

async fn starter(client: RestClient, shared: Shared, n: usize) {
    let mut i = 0u64;
    loop {
        i += 1;
        let body = json!({
            "businessKey": format!("chaos-{n}-{i}-{}", now_ms()),
            "variables": {"n": {"value": i, "type": "Long"}},
        });
        let path = format!("/process-definition/key/{PROCESS_KEY}/start");
        match client.post(&path, &body).await {
            Ok(a) if a.ok() => match a.body["id"].as_str() {
                Some(id) => ledger(&shared).starts.push(id.to_owned()),
                None => return,
            },
            _ => return,
        }
    }
}

struct Worker {
    name: String,
    client: RestClient,
    shared: Shared,
    rng: Rng,
}

impl Worker {
    async fn run(mut self) {
        loop {
            let body = json!({
                "workerId": self.name,
                "maxTasks": 5,
                "asyncResponseTimeout": 500,
                "topics": [{"topicName": WORK_TOPIC, "lockDuration": LOCK_MS}],
            });
            let tasks = match self.client.post("/external-task/fetchAndLock", &body).await {
                Ok(a) if a.ok() => match a.body {
                    Json::Array(tasks) => tasks,
                    _ => return,
                },
                _ => return,
            };
            for task in &tasks {
                if self.work(task).await.is_err() {
                    return;
                }
            }
        }
    }

    /// Records the delivery, then completes (70%), fails with a retry (15%, while retries
    /// stay above 0), throws the BPMN error (10%) or abandons the task to its lock expiry.
    async fn work(&mut self, task: &Json) -> Result<()> {
        let id = task["id"].as_str().context("task id")?.to_owned();
        let instance = task["processInstanceId"]
            .as_str()
            .context("instance id")?
            .to_owned();
        let expires = task["lockExpirationTime"]
            .as_str()
            .and_then(baton::api::date::parse)
            .context("lockExpirationTime")?;
        ledger(&self.shared)
            .deliveries
            .entry(id.clone())
            .or_default()
            .push(Delivery {
                worker: self.name.clone(),
                locked_at: expires - LOCK_MS,
                lock_expires: expires,
                released_at: None,
            });
        let retries = task["retries"].as_i64();
        let roll = self.rng.below(100);
        let sent_at = now_ms();
        let (path, body) = if roll < 70 {
            let vars = json!({"worked": {"value": true, "type": "Boolean"}});
            (
                "complete",
                json!({"workerId": self.name, "variables": vars}),
            )
        } else if roll < 85 && retries.is_none_or(|r| r >= 2) {
            let left = retries.unwrap_or(3) - 1;
            // A retry timeout of one lock duration: even a failure whose answer the kill
            // swallowed frees the task only after the lock it ended would have expired.
            let body = json!({"workerId": self.name, "errorMessage": "chaos failure",
                "retries": left, "retryTimeout": LOCK_MS});
            ("failure", body)
        } else if roll < 95 {
            (
                "bpmnError",
                json!({"workerId": self.name, "errorCode": ERROR_CODE}),
            )
        } else {
            return Ok(());
        };
        let answer = self
            .client
            .post(&format!("/external-task/{id}/{path}"), &body)
            .await?;
        if !answer.ok() {
            bail!("{path} of {id}: HTTP {} {}", answer.status, answer.body);
        }
        let mut l = ledger(&self.shared);
        if let Some(d) = l.deliveries.get_mut(&id).and_then(|d| d.last_mut()) {
            d.released_at = Some(sent_at);
        }
        match path {
            "complete" => l.completes.push(instance),
            "failure" => l.failures.push((id, body["retries"].as_i64().unwrap_or(0))),
            _ => l.bpmn_errors.push(instance),
        }
        Ok(())
    }
}

async fn user_tasks(client: RestClient, shared: Shared) {
    let list =
        format!("/task?processDefinitionKey={PROCESS_KEY}&taskDefinitionKey=approve&maxResults=20");
    loop {
        let tasks = match client.get(&list).await {
            Ok(a) if a.ok() => match a.body {
                Json::Array(tasks) => tasks,
                _ => return,
            },
            _ => return,
        };
        if tasks.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for task in tasks {
            let (Some(id), Some(instance)) =
                (task["id"].as_str(), task["processInstanceId"].as_str())
            else {
                return;
            };
            match client
                .post(&format!("/task/{id}/complete"), &json!({}))
                .await
            {
                Ok(a) if a.ok() => {
                    let mut l = ledger(&shared);
                    l.user_tasks.push(instance.to_owned());
                    l.awaiting_message.push_back(instance.to_owned());
                }
                _ => return,
            }
        }
    }
}

async fn messenger(client: RestClient, shared: Shared) {
    loop {
        let next = ledger(&shared).awaiting_message.pop_front();
        let Some(instance) = next else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            // Stop with the server: probe it while idle.
            if client.get("/engine").await.is_err() {
                return;
            }
            continue;
        };
        let body = json!({"messageName": MESSAGE, "processInstanceId": instance});
        match client.post("/message", &body).await {
            Ok(a) if a.ok() => ledger(&shared).messages.push(instance),
            // Refused while the server is up: a correlation whose answer a kill swallowed
            // already took the subscription. Not acknowledged, nothing to check.
            Ok(_) => {}
            // The server is gone: try again next round.
            Err(_) => {
                ledger(&shared).awaiting_message.push_back(instance);
                return;
            }
        }
    }
}

async fn deployer(client: RestClient, shared: Shared) {
    loop {
        tokio::time::sleep(Duration::from_millis(400)).await;
        if deploy(&client, &shared).await.is_err() {
            return;
        }
    }
}

/// After the last kill: works every task, completes every user task, correlates every
/// waiting message (including those whose acknowledgement a kill swallowed) until no
/// instance of the model runs. Returns how many instances ended meanwhile.
pub(super) async fn drain(client: &RestClient, shared: &Shared) -> Result<usize> {
    let give_up = Instant::now() + Duration::from_secs(DRAIN_MAX_SECONDS);
    let mut stall_deadline = Instant::now() + Duration::from_secs(DRAIN_STALL_SECONDS);
    let mut fewest = usize::MAX;
    let running = format!("/process-instance/count?processDefinitionKey={PROCESS_KEY}");
    let before = client.get(&running).await?.json()?["count"]
        .as_u64()
        .unwrap_or(0) as usize;
    loop {
        let fetch = json!({"workerId": "drainer", "maxTasks": 100,
            "topics": [{"topicName": WORK_TOPIC, "lockDuration": DRAIN_LOCK_MS}]});
        let tasks = client
            .post("/external-task/fetchAndLock", &fetch)
            .await?
            .json()?;
        for task in tasks.as_array().into_iter().flatten() {
            let id = task["id"].as_str().context("task id")?;
            let expires = task["lockExpirationTime"]
                .as_str()
                .and_then(baton::api::date::parse)
                .context("lockExpirationTime")?;
            let sent_at = now_ms();
            let body = json!({"workerId": "drainer"});
            client
                .post(&format!("/external-task/{id}/complete"), &body)
                .await?
                .json()?;
            let mut l = ledger(shared);
            l.deliveries
                .entry(id.to_owned())
                .or_default()
                .push(Delivery {
                    worker: "drainer".into(),
                    locked_at: expires - DRAIN_LOCK_MS,
                    lock_expires: expires,
                    released_at: Some(sent_at),
                });
            if let Some(instance) = task["processInstanceId"].as_str() {
                l.completes.push(instance.to_owned());
            }
        }
        let list = format!("/task?processDefinitionKey={PROCESS_KEY}&maxResults=500");
        for task in client
            .get(&list)
            .await?
            .json()?
            .as_array()
            .into_iter()
            .flatten()
        {
            let id = task["id"].as_str().context("user task id")?;
            client
                .post(&format!("/task/{id}/complete"), &json!({}))
                .await?
                .json()?;
        }
        let subs = format!("/event-subscription?eventName={MESSAGE}&maxResults=500");
        for sub in client
            .get(&subs)
            .await?
            .json()?
            .as_array()
            .into_iter()
            .flatten()
        {
            let instance = sub["processInstanceId"].as_str().context("instance")?;
            let body = json!({"messageName": MESSAGE, "processInstanceId": instance});
            // A refusal here is a subscription left behind: the checks report those.
            client.post("/message", &body).await?;
        }
        let left = client.get(&running).await?.json()?["count"]
            .as_u64()
            .unwrap_or(0);
        if left == 0 {
            return Ok(before);
        }
        if (left as usize) < fewest {
            fewest = left as usize;
            stall_deadline = Instant::now() + Duration::from_secs(DRAIN_STALL_SECONDS);
        }
        if Instant::now() >= stall_deadline.min(give_up) {
            // Left to the checks (`not completed after the drain`); say where they wait.
            let list = format!("/process-instance?processDefinitionKey={PROCESS_KEY}&maxResults=3");
            for p in client
                .get(&list)
                .await?
                .json()?
                .as_array()
                .into_iter()
                .flatten()
            {
                eprintln!(
                    "{}",
                    stuck(client, p["id"].as_str().unwrap_or_default()).await?
                );
            }
            return Ok(before);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Where an instance the drain could not end waits: its activity instances, external tasks,
/// jobs, subscriptions and incidents.
async fn stuck(client: &RestClient, id: &str) -> Result<String> {
    let mut out = format!("instance {id} still runs after the drain:");
    for path in [
        format!("/process-instance/{id}/activity-instances"),
        format!("/external-task?processInstanceId={id}"),
        format!("/job?processInstanceId={id}"),
        format!("/event-subscription?processInstanceId={id}"),
        format!("/incident?processInstanceId={id}"),
        format!("/history/activity-instance?processInstanceId={id}"),
    ] {
        let body = client.get(&path).await?.body;
        out.push_str(&format!("\n  {path}: {body}"));
    }
    Ok(out)
}
