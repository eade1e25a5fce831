//! Everything before the instance starts: read the inputs (variables, answers, the BPMN file),
//! open the engine on its data dir and clock, deploy the file through the engine (which parses
//! it, once) and pick the process to start from what it deployed, bind the `--module` files,
//! and serve the REST API with `--listen`.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use baton_bpmn::Variables;
use baton_bpmn::model::{Definitions, NodeKind};

use super::{RunArgs, Runner, Server, TempDir, UserTaskShape};
use crate::cli::human::human_bytes;
use crate::cli::vars::{Answers, parse_var};
use crate::clock::{Clock, ManualClock, SharedClock, SystemClock};
use crate::config::ServerConfig;
use crate::engine::{DeployRequest, ProcessEngine, ProcessEngineError, Resource};
use crate::records::{ModuleLimits, ProcessDefinition};
use crate::store::Durability;

/// What the command line names, read from disk before anything starts.
struct Inputs {
    start_vars: Variables,
    answers: Option<Answers>,
    xml: Vec<u8>,
}

/// The engine opened for the run, with its clock and where its data lives.
struct Opened {
    engine: ProcessEngine,
    clock: SharedClock,
    manual: Option<ManualClock>,
    temp: Option<TempDir>,
    server_config: ServerConfig,
}

/// The process to start, from the deployment.
struct Chosen {
    key: String,
    definition_id: String,
    definitions: Arc<Definitions>,
}

impl Runner {
    /// Everything before the instance starts: inputs, engine, modules, deployment, server.
    pub(super) async fn prepare(args: RunArgs) -> Result<Runner, String> {
        let inputs = read_inputs(&args)?;
        let opened = open_engine(&args).await?;
        let say = |line: String| {
            if !args.json {
                outln!("{line}");
            }
        };
        // Deployed first so a bad file or process choice fails before anything is printed;
        // the modules are bound before the instance starts, and their lines come first.
        let (chosen, deployed_line) = deploy(&opened.engine, &args, inputs.xml).await?;
        for m in &args.modules {
            let (topic, path, bytes) = read_module(m)?;
            let size = bytes.len();
            opened
                .engine
                .put_module(&topic, bytes, ModuleLimits::default())
                .await
                .map_err(|e| format!("--module {topic}={}: {e}", path.display()))?;
            say(format!(
                "module  {topic} <- {} ({})",
                path.display(),
                human_bytes(size as u64)
            ));
        }
        say(deployed_line);
        let (api_url, server) = match args.listen {
            Some(addr) => {
                let (url, server) = listen(addr, &opened).await?;
                say(format!("rest    {url} (OpenAPI: {url}/openapi.json)"));
                (Some(url), Some(server))
            }
            None => (None, None),
        };
        let (names, user_tasks) = shapes(&chosen.definitions);
        let interactive = inputs.answers.is_none()
            && std::io::stdin().is_terminal()
            && std::io::stdout().is_terminal();
        let t0 = opened.clock.now();
        Ok(Runner {
            args,
            engine: opened.engine,
            clock: opened.clock,
            manual: opened.manual,
            _temp: opened.temp,
            key: chosen.key,
            definition_id: chosen.definition_id,
            definitions: chosen.definitions,
            names,
            user_tasks,
            answers: inputs.answers,
            interactive,
            start_vars: inputs.start_vars,
            api_url,
            server,
            t0,
            wall0: Instant::now(),
            last_tick_ran: false,
        })
    }
}

/// Read `--var`, `--answers` and the BPMN file.
fn read_inputs(args: &RunArgs) -> Result<Inputs, String> {
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
    Ok(Inputs {
        start_vars,
        answers,
        xml,
    })
}

/// One `--module TOPIC=FILE.wasm` (or `FILE.wasm`, topic = file stem), read.
fn read_module(m: &str) -> Result<(String, PathBuf, Vec<u8>), String> {
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
    Ok((topic, path, bytes))
}

/// Open the engine on `--data-dir` or a temporary directory, on the real clock or, with
/// `--fast-clock`, on a manual one this runner moves.
async fn open_engine(args: &RunArgs) -> Result<Opened, String> {
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
    Ok(Opened {
        engine,
        clock,
        manual,
        temp,
        server_config,
    })
}

/// The DMN files (`.dmn`, `.dmn11.xml`) in `dir`, by name: deployed with the process so its
/// business rule tasks find their decisions offline. At most 256, each at most 16 MiB.
fn decisions_beside(dir: &std::path::Path) -> Result<Vec<Resource>, String> {
    const MAX_FILES: usize = 256;
    const MAX_BYTES: u64 = 16 << 20;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut paths: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(crate::engine::decisions::is_dmn)
        })
        .take(MAX_FILES)
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let too_big = std::fs::metadata(&path).is_ok_and(|m| m.len() > MAX_BYTES);
        if too_big {
            return Err(format!("{}: larger than 16 MiB", path.display()));
        }
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        out.push(Resource { name, bytes });
    }
    Ok(out)
}

/// Deploy the file through the engine, then choose the process to start among the
/// executable ones it deployed (`--process`, or the only one). Also the trace line saying so.
async fn deploy(
    engine: &ProcessEngine,
    args: &RunArgs,
    xml: Vec<u8>,
) -> Result<(Chosen, String), String> {
    let file = args.file.display();
    let file_name = args
        .file
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or("process.bpmn")
        .to_owned();
    // The engine parses resources named like BPMN files; `baton run` takes any file name.
    let lower = file_name.to_ascii_lowercase();
    let resource_name = if [".bpmn", ".bpmn20.xml", ".bpmn2"]
        .iter()
        .any(|ext| lower.ends_with(ext))
    {
        file_name.clone()
    } else {
        format!("{file_name}.bpmn")
    };
    let dir = args
        .file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut resources = vec![Resource {
        name: resource_name.clone(),
        bytes: xml,
    }];
    resources.extend(decisions_beside(dir)?);
    let deployed = engine
        .deploy(DeployRequest {
            name: Some(deployment_name(args)),
            source: Some("baton run".into()),
            enable_duplicate_filtering: true,
            resources,
            ..DeployRequest::default()
        })
        .await
        .map_err(|e| match e {
            ProcessEngineError::Parse { details, .. } => {
                let mut what = "BPMN";
                for (name, problems) in details {
                    let shown = if name == resource_name {
                        file.to_string()
                    } else {
                        what = "BPMN or DMN";
                        dir.join(&name).display().to_string()
                    };
                    for p in problems {
                        eprintln!("{shown}:{}:{}: {}", p.line, p.column, p.message);
                    }
                }
                format!("{file} is not a valid {what} file")
            }
            other => format!("deploying {file}: {other}"),
        })?;
    let definitions = match deployed.deployed_process_definitions {
        Some(d) => d,
        // Duplicate filtering (a `--data-dir` that has run this file before): the
        // definitions of the earlier, identical deployment.
        None => engine
            .definitions()
            .await
            .map_err(|e| format!("deploying {file}: {e}"))?
            .into_iter()
            .filter(|d| d.deployment_id == deployed.deployment.id)
            .collect(),
    };
    let chosen = choose(engine, args, &definitions).await?;
    let line = format!(
        "deploy  {file_name} (deployment {})",
        deployed.deployment.id
    );
    Ok((chosen, line))
}

/// The deployment's name: the `--process` chosen, else the file's stem. Duplicate
/// filtering compares names, so a rerun of the same file deploys nothing new.
fn deployment_name(args: &RunArgs) -> String {
    match &args.process {
        Some(id) => id.clone(),
        None => args
            .file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("process")
            .to_owned(),
    }
}

/// Pick the definition to start: `--process`, or the only executable process of the file.
async fn choose(
    engine: &ProcessEngine,
    args: &RunArgs,
    deployed: &[ProcessDefinition],
) -> Result<Chosen, String> {
    let file = args.file.display();
    let Some(first) = deployed.first() else {
        return Err(format!(
            "{file} has no executable process (isExecutable=\"true\")"
        ));
    };
    let (definitions, _) = engine
        .definition_model(&first.id)
        .await
        .map_err(|e| format!("deploying {file}: {e}"))?;
    // In the file's order, as they were listed before the engine deployed them.
    let executable: Vec<&str> = definitions
        .executable_processes()
        .map(|p| p.id.as_str())
        .collect();
    let key = match (&args.process, executable.as_slice()) {
        (Some(id), _) if executable.contains(&id.as_str()) => id.clone(),
        (Some(id), _) => {
            return Err(format!(
                "{file} has no executable process `{id}` (it has: {})",
                executable.join(", ")
            ));
        }
        (None, [one]) => (*one).to_owned(),
        (None, many) => {
            return Err(format!(
                "{file} has several executable processes; choose one with --process ({})",
                many.join(", ")
            ));
        }
    };
    let definition_id = deployed
        .iter()
        .find(|d| d.key == key)
        .map(|d| d.id.clone())
        .ok_or_else(|| format!("deploying {file}: no definition of `{key}` was deployed"))?;
    Ok(Chosen {
        key,
        definition_id,
        definitions,
    })
}

/// Serve the REST API on `--listen`; the engine-rest URL and the server.
async fn listen(addr: SocketAddr, opened: &Opened) -> Result<(String, Server), String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("--listen {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(crate::server::run(
        listener,
        opened.engine.clone(),
        opened.server_config.clone(),
        async move {
            let _ = rx.await;
        },
    ));
    // Scripts and tests read this line to learn the port when they pass port 0.
    outln!("baton listening on http://{local}");
    Ok((format!("http://{local}/engine-rest"), (tx, handle)))
}

/// Node names (for the trace) and user task forms (for prompts) of every process of the file.
fn shapes(definitions: &Definitions) -> (HashMap<String, String>, HashMap<String, UserTaskShape>) {
    let mut names = HashMap::new();
    let mut user_tasks = HashMap::new();
    for n in definitions.processes.iter().flat_map(|p| &p.nodes) {
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
    (names, user_tasks)
}
