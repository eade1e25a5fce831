//! `baton run <file.bpmn>`: run ONE process instance to its end, in-process, with no server.
//!
//! The engine opens on a temporary data dir (or `--data-dir`), binds the `--module` components
//! to their topics, deploys the file, starts the instance and follows the engine's event
//! stream, printing the trace as it goes. Wasm tasks run in the engine; user tasks are answered
//! from `--answers` or by prompting on a terminal; timers fire on real time, or, with
//! `--fast-clock`, on a [`ManualClock`] that jumps to the next due timer whenever the instance
//! has nothing else to do. An external task whose topic has no module ends the run with exit
//! code 3, unless `--listen` serves the REST API so that remote workers can do it.
//!
//! Exit codes: 0 completed, 1 failed (bad input, parse or engine error, stuck), 2 incident,
//! 3 an external task has no module and no worker.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_bpmn::model::{EventTrigger, FormField, NodeKind, Process, TimerDefinition};
use baton_bpmn::{Value, Variables};
use tokio::sync::broadcast::error::RecvError;

use super::vars::{Answers, parse_var, typed};
use crate::clock::{Clock, ManualClock, SharedClock, SystemClock};
use crate::config::ServerConfig;
use crate::engine::{
    DefinitionRef, DeployRequest, EngineEvent, ProcessEngine, ProcessEngineError, Resource,
    StartRequest,
};
use crate::records::{ModuleLimits, ProcessInstance};
use crate::store::Durability;

/// `baton run` arguments.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 completed, 1 failed (bad input, parse or engine error, \
nothing left that could move the instance), 2 incident, 3 an external task whose topic has \
no module and no worker.

--var types: true/false → Boolean, integers → Integer/Long, decimals → Double, JSON \
objects/arrays → Json, anything else → String; force one with name:type=value (string, \
boolean, integer, long, short, double, json, date, null).

--answers file: either an object keyed by the user task's id (taskDefinitionKey) whose \
values are the variables to complete it with (or a list of them, used in turn), e.g. \
{\"ApproveOrder\": {\"approved\": true, \"comment\": \"ok\"}}, or a list of variable objects \
used by whichever user tasks come up, in order. A task without an answer waits (a timer or \
a REST client with --listen may move it on).

Examples:
  baton run order.bpmn --module check-stock=stock_check.wasm --module payment=payment.wasm \\
      --module send-mail=send_mail.wasm --var amount=250 \\
      --var 'items=[{\"sku\":\"A-1\",\"quantity\":2}]'
  baton run order.bpmn ... --var amount=5000 --answers answers-approve.json
  baton run order.bpmn ... --var amount=5000 --answers answers-none.json --fast-clock
  baton run order.bpmn --module payment=payment.wasm --listen 127.0.0.1:8080
  baton run order.bpmn ... --json | jq ."
)]
pub struct RunArgs {
    /// The BPMN 2.0 XML file.
    #[arg(value_name = "FILE.bpmn")]
    pub file: PathBuf,
    /// Bind a wasm component to a topic (repeatable). `FILE.wasm` alone uses the file stem as
    /// the topic.
    #[arg(long = "module", value_name = "TOPIC=FILE.wasm")]
    pub modules: Vec<String>,
    /// A start variable (repeatable): name=value with the type inferred, or name:type=value.
    #[arg(long = "var", value_name = "NAME[:TYPE]=VALUE")]
    pub vars: Vec<String>,
    /// Business key of the instance.
    #[arg(long, value_name = "KEY")]
    pub business_key: Option<String>,
    /// Which process of the file to start (its id), when it has several executable ones.
    #[arg(long, value_name = "ID")]
    pub process: Option<String>,
    /// Keep the engine's data here (default: a temporary directory, removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Simulated time: when the instance is otherwise idle, jump to the next due timer.
    #[arg(long)]
    pub fast_clock: bool,
    /// Answers for user tasks (JSON; see below).
    #[arg(long, value_name = "FILE.json")]
    pub answers: Option<PathBuf>,
    /// Serve the REST API here while running, so remote workers (and REST clients) can do
    /// external tasks whose topic has no module.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Print the trace as JSON lines and the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// How a run ended; the exit code follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The instance reached its end (exit 0).
    Completed,
    /// Bad input, parse or engine error, or nothing left that could move it (exit 1).
    Failed,
    /// An incident was raised (exit 2).
    Incident,
    /// An external task's topic has no module and no worker (exit 3).
    NoWorker,
}

impl Outcome {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Completed => 0,
            Outcome::Failed => 1,
            Outcome::Incident => 2,
            Outcome::NoWorker => 3,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Failed => "failed",
            Outcome::Incident => "incident",
            Outcome::NoWorker => "noWorker",
        }
    }
}

/// A data directory removed when the run ends (unless the user chose it).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How long the event stream must stay silent before the runner looks at what the instance
/// waits for. Short enough to feel instant, long enough that a wasm task that was just
/// created has started.
const QUIET: Duration = Duration::from_millis(150);

/// The longest `--fast-clock` looks ahead for a timer it cannot compute from the model.
const MAX_PROBE_MS: i64 = 400 * 24 * 3600 * 1000;

/// Run `baton run`.
pub async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    let outcome = match Runner::prepare(args).await {
        Ok(runner) => runner.go().await,
        Err(message) => {
            if json {
                outln!(
                    "{}",
                    serde_json::json!({"type": "result", "outcome": "failed", "exitCode": 1, "error": message})
                );
            }
            eprintln!("error: {message}");
            Outcome::Failed
        }
    };
    Ok(ExitCode::from(outcome.code()))
}

/// A user task's shape, from the parsed model.
struct UserTaskShape {
    name: Option<String>,
    fields: Vec<FormField>,
}

struct Runner {
    args: RunArgs,
    engine: ProcessEngine,
    clock: SharedClock,
    manual: Option<ManualClock>,
    _temp: Option<TempDir>,
    key: String,
    processes: Vec<Process>,
    names: HashMap<String, String>,
    user_tasks: HashMap<String, UserTaskShape>,
    answers: Option<Answers>,
    interactive: bool,
    start_vars: Variables,
    api_url: Option<String>,
    server: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    )>,
    t0: i64,
    wall0: Instant,
    last_tick_ran: bool,
}

impl Runner {
    /// Everything before the instance starts: inputs, engine, modules, deployment, server.
    async fn prepare(args: RunArgs) -> Result<Runner, String> {
        let mut start_vars = Variables::new();
        for v in &args.vars {
            let (name, value) = parse_var(v)?;
            start_vars.insert(name, value);
        }
        let answers = match &args.answers {
            Some(path) => Some(Answers::read(path)?),
            None => None,
        };
        let xml = std::fs::read(&args.file)
            .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
        let parsed = match baton_bpmn::parse(&xml) {
            Ok(p) => p,
            Err(e) => {
                let name = args.file.display();
                for p in &e.problems {
                    eprintln!("{name}:{}:{}: {}", p.line, p.column, p.message);
                }
                return Err(format!("{name} is not a valid BPMN file"));
            }
        };
        let executable: Vec<&Process> = parsed
            .definitions
            .processes
            .iter()
            .filter(|p| p.is_executable)
            .collect();
        let key = match &args.process {
            Some(id) => executable
                .iter()
                .find(|p| &p.id == id)
                .map(|p| p.id.clone())
                .ok_or_else(|| {
                    format!(
                        "{} has no executable process `{id}` (it has: {})",
                        args.file.display(),
                        executable
                            .iter()
                            .map(|p| p.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?,
            None => match executable.as_slice() {
                [one] => one.id.clone(),
                [] => {
                    return Err(format!(
                        "{} has no executable process (isExecutable=\"true\")",
                        args.file.display()
                    ));
                }
                many => {
                    return Err(format!(
                        "{} has several executable processes; choose one with --process ({})",
                        args.file.display(),
                        many.iter()
                            .map(|p| p.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            },
        };
        let mut names = HashMap::new();
        let mut user_tasks = HashMap::new();
        for p in &parsed.definitions.processes {
            for n in &p.nodes {
                if let Some(name) = &n.name {
                    names.insert(n.id.clone(), name.clone());
                }
                if let NodeKind::UserTask(def) = &n.kind {
                    user_tasks.insert(
                        n.id.clone(),
                        UserTaskShape {
                            name: n.name.clone(),
                            fields: def.form_fields.clone(),
                        },
                    );
                }
            }
        }

        let mut modules = Vec::new();
        for m in &args.modules {
            let (topic, path) = match m.split_once('=') {
                Some((t, p)) => (t.trim().to_owned(), PathBuf::from(p)),
                None => {
                    let path = PathBuf::from(m);
                    let stem = path
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .ok_or_else(|| format!("--module `{m}`: expected TOPIC=FILE.wasm"))?
                        .to_owned();
                    (stem, path)
                }
            };
            if topic.is_empty() {
                return Err(format!("--module `{m}`: the topic is empty"));
            }
            let bytes = std::fs::read(&path).map_err(|e| {
                format!(
                    "--module {topic}: cannot read {}: {e}{}",
                    path.display(),
                    if path.extension().is_some_and(|e| e == "wasm") {
                        " (build the guests first: cargo build --release --manifest-path guests/Cargo.toml)"
                    } else {
                        ""
                    }
                )
            })?;
            modules.push((topic, path, bytes));
        }

        let (data_dir, temp) = match &args.data_dir {
            Some(d) => (d.clone(), None),
            None => {
                let d = std::env::temp_dir().join(format!("baton-run-{}", uuid::Uuid::new_v4()));
                (d.clone(), Some(TempDir(d)))
            }
        };
        let manual = args.fast_clock.then(|| ManualClock::new(SystemClock.now()));
        let clock: SharedClock = match &manual {
            Some(m) => Arc::new(m.clone()),
            None => Arc::new(SystemClock),
        };
        let server_config = ServerConfig {
            data_dir: data_dir.clone(),
            listen: args.listen.unwrap_or(ServerConfig::default().listen),
            // A throw-away directory needs no fsync per command.
            durability: if temp.is_some() {
                Durability::Relaxed
            } else {
                Durability::Fsync
            },
            ..ServerConfig::default()
        };
        let mut engine_config = server_config.engine_config(clock.clone());
        // With --fast-clock this runner is the scheduler: it ticks after moving the clock, so
        // no background pass can run a job behind its back.
        engine_config.background_scheduler = !args.fast_clock;
        let engine = ProcessEngine::open(engine_config)
            .await
            .map_err(|e| format!("cannot open the engine in {}: {e}", data_dir.display()))?;

        let json = args.json;
        let say = |line: String| {
            if !json {
                outln!("{line}");
            }
        };
        for (topic, path, bytes) in modules {
            let size = bytes.len();
            engine
                .put_module(&topic, bytes, ModuleLimits::default())
                .await
                .map_err(|e| format!("--module {topic}={}: {e}", path.display()))?;
            say(format!(
                "module  {topic} <- {} ({})",
                path.display(),
                human_bytes(size as u64)
            ));
        }
        let file_name = args
            .file
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("process.bpmn")
            .to_owned();
        let deployed = engine
            .deploy(DeployRequest {
                name: Some(key.clone()),
                source: Some("baton run".into()),
                enable_duplicate_filtering: true,
                resources: vec![Resource {
                    name: file_name.clone(),
                    bytes: xml,
                }],
                ..DeployRequest::default()
            })
            .await
            .map_err(|e| match e {
                ProcessEngineError::Parse { details, message } => {
                    for (_, problems) in details {
                        for p in problems {
                            eprintln!(
                                "{}:{}:{}: {}",
                                args.file.display(),
                                p.line,
                                p.column,
                                p.message
                            );
                        }
                    }
                    message
                }
                other => format!("deploying {}: {other}", args.file.display()),
            })?;
        say(format!(
            "deploy  {file_name} (deployment {})",
            deployed.deployment.id
        ));

        let mut api_url = None;
        let mut server = None;
        if let Some(addr) = args.listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("--listen {addr}: {e}"))?;
            let local = listener.local_addr().map_err(|e| e.to_string())?;
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let handle = tokio::spawn(crate::server::run(
                listener,
                engine.clone(),
                server_config.clone(),
                async move {
                    let _ = rx.await;
                },
            ));
            let url = format!("http://{local}/engine-rest");
            // Scripts and tests read this line to learn the port when they pass port 0.
            outln!("baton listening on http://{local}");
            say(format!("rest    {url} (OpenAPI: {url}/openapi.json)"));
            api_url = Some(url);
            server = Some((tx, handle));
        }

        let interactive =
            answers.is_none() && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
        let t0 = clock.now();
        Ok(Runner {
            args,
            engine,
            clock,
            manual,
            _temp: temp,
            key,
            processes: parsed.definitions.processes,
            names,
            user_tasks,
            answers,
            interactive,
            start_vars,
            api_url,
            server,
            t0,
            wall0: Instant::now(),
            last_tick_ran: false,
        })
    }

    /// Start the instance and follow it to its end.
    async fn go(mut self) -> Outcome {
        let outcome = self.follow().await;
        if let Some((tx, handle)) = self.server.take() {
            let _ = tx.send(());
            let _ = handle.await;
        } else {
            let _ = self.engine.shutdown().await;
        }
        outcome
    }

    fn say(&self, line: impl AsRef<str>) {
        if !self.args.json {
            outln!("{}", line.as_ref());
        }
    }

    fn stamp(&self) -> String {
        let ms = if self.manual.is_some() {
            self.clock.now() - self.t0
        } else {
            self.wall0.elapsed().as_millis() as i64
        };
        format!("[{}]", human_duration(ms))
    }

    fn name_of(&self, activity_id: &str) -> String {
        match self.names.get(activity_id) {
            Some(n) => format!("{n:?} [{activity_id}]"),
            None => format!("[{activity_id}]"),
        }
    }

    fn fail(&self, outcome: Outcome, message: String) -> Outcome {
        if self.args.json {
            outln!(
                "{}",
                serde_json::json!({"type": "result", "outcome": outcome.name(), "exitCode": outcome.code(), "error": message})
            );
        }
        eprintln!("error: {message}");
        outcome
    }

    async fn follow(&mut self) -> Outcome {
        let mut events = self.engine.subscribe_events();
        let started = self
            .engine
            .start_instance(
                DefinitionRef::Key {
                    key: self.key.clone(),
                    tenant_id: None,
                },
                StartRequest {
                    variables: self.start_vars.clone(),
                    business_key: self.args.business_key.clone(),
                    ..StartRequest::default()
                },
            )
            .await;
        let root = match started {
            Ok(s) => s.instance.id().to_owned(),
            Err(e) => return self.fail(Outcome::Failed, format!("starting `{}`: {e}", self.key)),
        };
        self.say(format!(
            "start   {} instance {root}{}",
            self.key,
            self.args
                .business_key
                .as_ref()
                .map(|k| format!(" (business key {k})"))
                .unwrap_or_default()
        ));
        let mut follow = Follow {
            root: root.clone(),
            ours: HashSet::from([root]),
            last_end_event: None,
            waiting_note: None,
        };
        loop {
            let next = tokio::select! {
                r = tokio::time::timeout(QUIET, events.recv()) => r,
                _ = tokio::signal::ctrl_c() => {
                    return self.fail(Outcome::Failed, "interrupted".into());
                }
            };
            let step = match next {
                Ok(Ok(event)) => self.on_event(&mut follow, event).await,
                Ok(Err(RecvError::Lagged(n))) => {
                    self.say(format!("        ({n} events were too fast to show)"));
                    Step::Continue
                }
                Ok(Err(RecvError::Closed)) => {
                    Step::Done(self.fail(Outcome::Failed, "the engine stopped".into()))
                }
                Err(_) => self.on_quiet(&mut follow).await,
            };
            if let Step::Done(outcome) = step {
                return outcome;
            }
        }
    }

    async fn on_event(&mut self, f: &mut Follow, event: EngineEvent) -> Step {
        if let EngineEvent::InstanceStarted {
            process_instance_id,
            ..
        } = &event
            && !f.ours.contains(process_instance_id)
        {
            // A child of ours (call activity): everything else in a fresh engine is ours too.
            f.ours.insert(process_instance_id.clone());
        }
        let instance = match &event {
            EngineEvent::DeploymentCreated { .. } => return Step::Continue,
            EngineEvent::InstanceStarted {
                process_instance_id,
                ..
            }
            | EngineEvent::InstanceEnded {
                process_instance_id,
                ..
            }
            | EngineEvent::ActivityEntered {
                process_instance_id,
                ..
            }
            | EngineEvent::ActivityLeft {
                process_instance_id,
                ..
            }
            | EngineEvent::TaskCreated {
                process_instance_id,
                ..
            }
            | EngineEvent::TaskCompleted {
                process_instance_id,
                ..
            }
            | EngineEvent::IncidentRaised {
                process_instance_id,
                ..
            }
            | EngineEvent::IncidentResolved {
                process_instance_id,
                ..
            } => process_instance_id.clone(),
        };
        if !f.ours.contains(&instance) {
            return Step::Continue;
        }
        f.waiting_note = None;
        if self.args.json {
            let mut v = serde_json::to_value(&event).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert(
                    "clock".into(),
                    serde_json::json!(self.clock.now() - self.t0),
                );
            }
            outln!("{v}");
        }
        let stamp = self.stamp();
        match event {
            EngineEvent::InstanceStarted {
                process_instance_id,
                process_definition_id,
                ..
            } => {
                if process_instance_id != f.root {
                    self.say(format!("{stamp} start child instance {process_instance_id} of {process_definition_id}"));
                }
                Step::Continue
            }
            EngineEvent::ActivityEntered {
                activity_id,
                activity_type,
                process_instance_id,
                ..
            } => {
                self.say(format!(
                    "{stamp} -> {} {activity_type}",
                    self.name_of(&activity_id)
                ));
                if process_instance_id == f.root && activity_type.ends_with("EndEvent") {
                    f.last_end_event = Some(activity_id);
                }
                Step::Continue
            }
            EngineEvent::ActivityLeft {
                activity_id,
                canceled,
                ..
            } => {
                self.say(format!(
                    "{stamp} <- {}{}",
                    self.name_of(&activity_id),
                    if canceled { " (interrupted)" } else { "" }
                ));
                Step::Continue
            }
            EngineEvent::TaskCreated {
                task_id,
                task_type,
                topic,
                activity_id,
                ..
            } => {
                if task_type == "user" {
                    self.on_user_task(&task_id, &activity_id).await
                } else {
                    let topic = topic.unwrap_or_default();
                    self.on_external_task(&topic, &activity_id).await
                }
            }
            EngineEvent::TaskCompleted { task_type, .. } => {
                self.say(format!("{stamp}    {task_type} task completed"));
                Step::Continue
            }
            EngineEvent::IncidentRaised {
                activity_id,
                incident_type,
                message,
                ..
            } => {
                let text = format!(
                    "incident ({incident_type}) at {}: {}",
                    self.name_of(&activity_id),
                    message.unwrap_or_else(|| "no message".into())
                );
                self.say(format!("{stamp} !! {text}"));
                Step::Done(self.fail(Outcome::Incident, text))
            }
            EngineEvent::IncidentResolved { incident_id, .. } => {
                self.say(format!("{stamp}    incident {incident_id} resolved"));
                Step::Continue
            }
            EngineEvent::InstanceEnded {
                process_instance_id,
                state,
                ..
            } => {
                if process_instance_id == f.root {
                    Step::Done(self.finish(f, &state).await)
                } else {
                    self.say(format!(
                        "{stamp} end child instance {process_instance_id} ({state})"
                    ));
                    Step::Continue
                }
            }
            EngineEvent::DeploymentCreated { .. } => Step::Continue,
        }
    }

    async fn on_external_task(&mut self, topic: &str, activity_id: &str) -> Step {
        let stamp = self.stamp();
        if self.engine.module(topic).await.is_ok() {
            self.say(format!(
                "{stamp}    task `{topic}`: wasm module, in the engine"
            ));
            return Step::Continue;
        }
        match &self.api_url {
            Some(url) => {
                self.say(format!(
                    "{stamp}    task `{topic}`: waiting for a remote worker (fetchAndLock at {url}/external-task/fetchAndLock)"
                ));
                Step::Continue
            }
            None => Step::Done(self.fail(
                Outcome::NoWorker,
                format!(
                    "{} waits for a worker on topic `{topic}`, which has no wasm module here and no worker can reach it: \
                     pass --module {topic}=FILE.wasm, or --listen 127.0.0.1:8080 to let remote workers fetch it",
                    self.name_of(activity_id)
                ),
            )),
        }
    }

    async fn on_user_task(&mut self, task_id: &str, key: &str) -> Step {
        let stamp = self.stamp();
        let groups = match self.engine.user_task(task_id).await {
            Ok(t) if !t.candidate_groups.is_empty() => {
                format!(" (candidate groups: {})", t.candidate_groups.join(", "))
            }
            Ok(_) => String::new(),
            // Completed already (by a REST client with --listen): nothing to answer.
            Err(_) => return Step::Continue,
        };
        self.say(format!(
            "{stamp}    user task {}{groups}",
            self.name_of(key)
        ));
        let answer = match self.answers.as_mut() {
            Some(a) => a.take(key),
            None if self.interactive => match self.prompt(key).await {
                Ok(v) => Some(v),
                Err(e) => return Step::Done(self.fail(Outcome::Failed, e)),
            },
            None => None,
        };
        let Some(variables) = answer else {
            self.say(format!("{stamp}    no answer for {key}: it waits"));
            return Step::Continue;
        };
        let shown = serde_json::Value::Object(
            variables
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        );
        self.say(format!("{stamp}    answer {shown}"));
        match self.engine.complete_user_task(task_id, variables).await {
            Ok(_) => Step::Continue,
            Err(e) => {
                Step::Done(self.fail(Outcome::Failed, format!("completing user task {key}: {e}")))
            }
        }
    }

    /// Ask for a user task's variables on the terminal: one prompt per form field, or
    /// free `name=value` lines when the task has no form.
    async fn prompt(&self, key: &str) -> Result<Variables, String> {
        let (title, fields) = match self.user_tasks.get(key) {
            Some(s) => (
                s.name.clone().unwrap_or_else(|| key.to_owned()),
                s.fields.clone(),
            ),
            None => (key.to_owned(), Vec::new()),
        };
        tokio::task::spawn_blocking(move || prompt_blocking(&title, &fields))
            .await
            .map_err(|e| format!("prompt: {e}"))?
    }

    /// The event stream is quiet: decide whether the instance is busy, waits for time, for
    /// someone outside, or for nothing that will ever come.
    async fn on_quiet(&mut self, f: &mut Follow) -> Step {
        let mut running = Vec::new();
        for id in &f.ours {
            match self.engine.instance(id).await {
                Ok(i) if i.state.status == baton_bpmn::engine::InstanceStatus::Active => {
                    running.push(i)
                }
                Ok(_) | Err(ProcessEngineError::NotFound(_)) => {}
                Err(e) => return Step::Done(self.fail(Outcome::Failed, e.to_string())),
            }
        }
        if !running.iter().any(|i| i.id() == f.root) {
            // The end event was missed (stream lagged): read the outcome from history.
            let state = self
                .engine
                .historic_process_instances()
                .await
                .ok()
                .and_then(|h| h.into_iter().find(|h| h.id == f.root))
                .map(|h| h.state)
                .unwrap_or_else(|| "COMPLETED".into());
            return Step::Done(self.finish(f, &state).await);
        }
        let now = self.clock.now();
        let mut w = Waits::default();
        for inst in &running {
            self.collect_waits(inst, now, &mut w).await;
        }
        if w.busy {
            return Step::Continue;
        }
        if let Some(manual) = self.manual.clone() {
            if w.job_due_now {
                return self.tick().await;
            }
            if w.timers > 0 {
                let target = w.next_due.filter(|&d| d > now);
                if let Some(due) = target {
                    manual.set(due);
                    self.say(format!(
                        "{}    fast clock: jumped ahead to the next timer",
                        self.stamp()
                    ));
                    match self.tick().await {
                        Step::Continue if self.last_tick_ran => return Step::Continue,
                        Step::Continue => {}
                        done => return done,
                    }
                }
                // Not computable from the model (a cycle that already fired, an expression):
                // look ahead in growing steps until something comes due.
                let mut step = 1000;
                let mut moved = 0;
                while moved < MAX_PROBE_MS {
                    manual.advance(step);
                    moved += step;
                    match self.tick().await {
                        Step::Continue if self.last_tick_ran => {
                            self.say(format!("{}    fast clock: a timer came due", self.stamp()));
                            return Step::Continue;
                        }
                        Step::Continue => {}
                        done => return done,
                    }
                    step = (step * 2).min(24 * 3600 * 1000);
                }
            }
        } else if w.timers > 0 {
            if f.waiting_note.is_none() {
                let when = w
                    .next_due
                    .map(|d| format!(" (next due in {})", human_duration(d - now)))
                    .unwrap_or_default();
                self.say(format!(
                    "{}    waiting for a timer{when}; --fast-clock skips ahead",
                    self.stamp()
                ));
                f.waiting_note = Some(());
            }
            return Step::Continue;
        }
        if self.api_url.is_some() {
            if f.waiting_note.is_none() {
                self.say(format!(
                    "{}    waiting for REST clients: {}",
                    self.stamp(),
                    w.outside.join("; ")
                ));
                f.waiting_note = Some(());
            }
            return Step::Continue;
        }
        let mut why = w.outside.join("; ");
        if why.is_empty() {
            why = "nothing".into();
        }
        Step::Done(self.fail(
            Outcome::Failed,
            format!(
                "the instance cannot go on: it waits for {why}. Answer user tasks with --answers FILE.json \
                 (or run on a terminal), or pass --listen ADDR to let REST clients act"
            ),
        ))
    }

    async fn tick(&mut self) -> Step {
        match self.engine.tick().await {
            Ok(n) => {
                self.last_tick_ran = n > 0;
                Step::Continue
            }
            Err(e) => Step::Done(self.fail(Outcome::Failed, format!("running due jobs: {e}"))),
        }
    }

    async fn collect_waits(&self, inst: &ProcessInstance, now: i64, w: &mut Waits) {
        let process = self.processes.iter().find(|p| p.id == inst.definition_key);
        for ai in inst.state.activity_instances.values() {
            use baton_bpmn::engine::Wait;
            match &ai.wait {
                Some(Wait::ExternalTask { task_id, topic }) => {
                    match self.engine.external_task(task_id).await {
                        Ok(t) if t.module_sha256.is_some() => {
                            match t.lock_expiration_time {
                                // Backing off before a retry.
                                Some(due) if due > now && t.retries.is_some_and(|r| r > 0) => {
                                    w.due(due)
                                }
                                _ if t.retries == Some(0) => w
                                    .outside
                                    .push(format!("incident at {}", self.name_of(&ai.activity_id))),
                                _ => w.busy = true,
                            }
                        }
                        Ok(_) => w
                            .outside
                            .push(format!("a remote worker on topic `{topic}`")),
                        // Gone meanwhile: the instance moved on.
                        Err(_) => w.busy = true,
                    }
                }
                Some(Wait::UserTask { .. }) => w
                    .outside
                    .push(format!("user task {}", self.name_of(&ai.activity_id))),
                Some(Wait::Timer { .. }) => match process
                    .and_then(|p| timer_due(p, &ai.activity_id, inst, &ai.id, ai.started_at))
                {
                    Some(due) => w.due(due),
                    None => w.timers += 1,
                },
                Some(Wait::Job { .. }) => {
                    if self.manual.is_some() {
                        w.job_due_now = true;
                    } else {
                        w.busy = true;
                    }
                }
                Some(Wait::Message { .. }) => w
                    .outside
                    .push(format!("a message at {}", self.name_of(&ai.activity_id))),
                Some(Wait::Signal { .. }) => w
                    .outside
                    .push(format!("a signal at {}", self.name_of(&ai.activity_id))),
                Some(Wait::Condition) => w
                    .outside
                    .push(format!("a condition at {}", self.name_of(&ai.activity_id))),
                Some(Wait::EventGateway)
                | Some(Wait::Join)
                | Some(Wait::CallActivity { .. })
                | None => {}
            }
            for l in &ai.listeners {
                let is_timer = process
                    .and_then(|p| p.node_by_id(&l.event_activity_id).map(|i| p.node(i)))
                    .is_some_and(|n| {
                        matches!(
                            &n.kind,
                            NodeKind::BoundaryEvent {
                                trigger: EventTrigger::Timer(_),
                                ..
                            } | NodeKind::StartEvent {
                                trigger: EventTrigger::Timer(_),
                                ..
                            }
                        )
                    });
                if is_timer {
                    match process.and_then(|p| {
                        timer_due(p, &l.event_activity_id, inst, &ai.id, ai.started_at)
                    }) {
                        Some(due) => w.due(due),
                        None => w.timers += 1,
                    }
                }
            }
        }
    }

    /// The instance ended: print how, and its final variables.
    async fn finish(&self, f: &Follow, state: &str) -> Outcome {
        let variables = self.final_variables(&f.root).await;
        let outcome = match state {
            "COMPLETED" | "INTERNALLY_TERMINATED" => Outcome::Completed,
            _ => Outcome::Failed,
        };
        let vars_json = serde_json::Value::Object(
            variables
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        );
        if self.args.json {
            outln!(
                "{}",
                serde_json::json!({
                    "type": "result",
                    "outcome": outcome.name(),
                    "exitCode": outcome.code(),
                    "state": state,
                    "processInstanceId": f.root,
                    "endEventId": f.last_end_event,
                    "endEventName": f.last_end_event.as_ref().and_then(|e| self.names.get(e)),
                    "variables": vars_json,
                })
            );
        } else {
            let at = f
                .last_end_event
                .as_ref()
                .map(|e| format!(" at {}", self.name_of(e)))
                .unwrap_or_default();
            outln!(
                "{} instance {} {}{at}",
                self.stamp(),
                state.to_ascii_lowercase(),
                f.root
            );
            outln!(
                "{}",
                serde_json::to_string_pretty(&vars_json).unwrap_or_else(|_| "{}".into())
            );
        }
        outcome
    }

    async fn final_variables(&self, root: &str) -> BTreeMap<String, Value> {
        if let Ok(i) = self.engine.instance(root).await {
            let vars = i.state.process_variables();
            if !vars.is_empty() {
                return vars;
            }
        }
        match self.engine.historic_variables(Some(root)).await {
            Ok(h) => h
                .into_iter()
                .filter(|v| v.activity_instance_id == root && v.state != "DELETED")
                .map(|v| (v.name, v.value))
                .collect(),
            Err(_) => BTreeMap::new(),
        }
    }
}

/// What the instances wait for right now.
#[derive(Default)]
struct Waits {
    /// Something runs (a wasm task, a job on the real clock): just wait.
    busy: bool,
    /// An async continuation is due (fast clock only: this runner must tick).
    job_due_now: bool,
    /// Timers and retry back-offs pending.
    timers: usize,
    /// The earliest computable due time.
    next_due: Option<i64>,
    /// Things only someone outside can do (user tasks, remote workers, messages).
    outside: Vec<String>,
}

impl Waits {
    fn due(&mut self, at: i64) {
        self.timers += 1;
        self.next_due = Some(self.next_due.map_or(at, |d| d.min(at)));
    }
}

/// Per-run bookkeeping of the event loop.
struct Follow {
    root: String,
    ours: HashSet<String>,
    last_end_event: Option<String>,
    waiting_note: Option<()>,
}

enum Step {
    Continue,
    Done(Outcome),
}

/// When a timer event (intermediate catch or boundary) started at `started_at` comes due,
/// computed from the model the way the engine schedules it. `None` when it cannot be told.
fn timer_due(
    process: &Process,
    event_id: &str,
    inst: &ProcessInstance,
    activity_instance_id: &str,
    started_at: i64,
) -> Option<i64> {
    let node = process.node(process.node_by_id(event_id)?);
    let def = match &node.kind {
        NodeKind::BoundaryEvent {
            trigger: EventTrigger::Timer(d),
            ..
        }
        | NodeKind::StartEvent {
            trigger: EventTrigger::Timer(d),
            ..
        }
        | NodeKind::IntermediateCatchEvent {
            trigger: EventTrigger::Timer(d),
            ..
        } => d,
        _ => return None,
    };
    let vars = inst.state.visible_variables(activity_instance_id);
    match def {
        TimerDefinition::Duration(e) => {
            let text = e.eval_string(&vars).ok()??;
            Some(
                baton_bpmn::timer::parse_duration(&text)
                    .ok()?
                    .after(started_at),
            )
        }
        TimerDefinition::Date(e) => {
            baton_bpmn::timer::parse_date(&e.eval_string(&vars).ok()??).ok()
        }
        TimerDefinition::Cycle(e) => baton_bpmn::timer::parse_cycle(&e.eval_string(&vars).ok()??)
            .ok()?
            .first_due(started_at),
    }
}

/// The terminal dialogue of one user task (blocking: runs on a blocking thread).
fn prompt_blocking(title: &str, fields: &[FormField]) -> Result<Variables, String> {
    use std::io::Write as _;
    let stdin = std::io::stdin();
    let read = |prompt: &str| -> Result<String, String> {
        print!("{prompt}");
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        match stdin.read_line(&mut line) {
            Ok(0) => Err("standard input closed while answering a user task".into()),
            Ok(_) => Ok(line.trim_end_matches(['\r', '\n']).to_owned()),
            Err(e) => Err(format!("reading standard input: {e}")),
        }
    };
    outln!("        -- {title} --");
    let mut vars = Variables::new();
    if fields.is_empty() {
        outln!(
            "        enter variables as name=value (name:type=value to force a type), an empty line to finish"
        );
        loop {
            let line = read("        > ")?;
            if line.trim().is_empty() {
                return Ok(vars);
            }
            match parse_var(&line) {
                Ok((n, v)) => {
                    vars.insert(n, v);
                }
                Err(e) => outln!("        {e}"),
            }
        }
    }
    for field in fields {
        if field.readonly {
            continue;
        }
        let label = field.label.clone().unwrap_or_else(|| field.id.clone());
        let mut hint = field.type_name.clone();
        if field.type_name == "enum" {
            hint = field
                .enum_values
                .iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>()
                .join("/");
        }
        if field.required {
            hint.push_str(", required");
        }
        loop {
            let text = read(&format!("        {label} [{hint}]: "))?;
            if text.trim().is_empty() {
                if field.required {
                    outln!("        {label} is required");
                    continue;
                }
                break;
            }
            let value = match field.type_name.as_str() {
                "boolean" => typed("boolean", &text),
                "long" => typed("long", &text),
                "date" => typed("date", &text),
                "string" => Ok(Value::String(text.clone())),
                "enum" => {
                    if field.enum_values.iter().any(|(id, _)| id == text.trim()) {
                        Ok(Value::String(text.trim().to_owned()))
                    } else {
                        Err(format!("choose one of: {hint}"))
                    }
                }
                _ => Ok(super::vars::infer(&text)),
            };
            match value {
                Ok(v) => {
                    vars.insert(field.id.clone(), v);
                    break;
                }
                Err(e) => outln!("        {e}"),
            }
        }
    }
    Ok(vars)
}

/// `1.5 KiB`, `2.0 MiB`.
pub fn human_bytes(n: u64) -> String {
    const K: f64 = 1024.0;
    let f = n as f64;
    if f < K {
        format!("{n} B")
    } else if f < K * K {
        format!("{:.1} KiB", f / K)
    } else {
        format!("{:.1} MiB", f / K / K)
    }
}

/// `+0.123s`, `+2d 00:00:00` for times past a minute.
pub fn human_duration(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 60_000 {
        return format!("+{}.{:03}s", ms / 1000, ms % 1000);
    }
    let s = ms / 1000;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("+{d}d {h:02}:{m:02}:{sec:02}")
    } else {
        format!("+{h:02}:{m:02}:{sec:02}")
    }
}
