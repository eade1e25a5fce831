//! `baton serve`: every [`ServerConfig`] setting as a flag, a `BATON_*` environment variable
//! and a key of an optional TOML file (`--config baton.toml`, keys named like the flags with
//! `_` for `-`). Precedence: flag > environment > file > built-in default. Clap resolves
//! flag > environment (all settings are `Option`s without a clap default, so "not given" is
//! visible), then [`merge`] falls back to the file and to [`ServerConfig::default`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::builder::BoolishValueParser;
use serde::Deserialize;

use crate::config::ServerConfig;
use crate::store::Durability;

/// `baton serve` flags; each also reads a `BATON_*` environment variable and a key of the
/// `--config` file.
#[derive(Debug, Default, clap::Args)]
#[command(
    after_help = "Precedence: flag > BATON_* environment variable > --config file > default.

Examples:
  baton serve
  baton serve --listen 0.0.0.0:8080 --data-dir /var/lib/baton --auth
  BATON_LISTEN=127.0.0.1:9090 baton serve --config baton.toml

baton.toml (every key optional):
  data_dir = \"./baton-data\"
  database = \"postgres://baton:secret@db.internal/baton\"   # instead of sled in data_dir
  database_schema = \"baton\"
  listen = \"127.0.0.1:8080\"
  durability = \"fsync\"          # or \"relaxed\"
  history_level = \"full\"        # or \"audit\", \"activity\", \"none\" (Camunda's levels)
  auth = false
  max_body_bytes = 10485760
  max_upload_bytes = 67108864
  wasm = true
  wasm_concurrency = 64
  wasm_inline = true              # run a pure component's task in the command that reached it
  wasm_guest_nice = 10            # guests run this many nice steps below the engine
  wasm_fuel = 1000000000
  wasm_timeout_ms = 2000
  wasm_memory_bytes = 67108864
  default_retry_cycle = \"R3/PT10S\"
  max_parked_fetches = 200
  request_timeout_ms = 30000      # 0: no limit
  query_max_results = 10000
  max_variables = 1000
  max_variable_bytes = 4194304
  max_parked_fetches_per_worker = 4
  max_fetch_tasks = 1000
  max_deployment_resources = 1000
  incident_on_unhandled_bpmn_error = false
  public_url = \"https://baton.example\"   # cockpit links in notifications

  [[notification_rule]]            # any number; keys as in POST /notification-rule/create
  id = \"ops-incidents\"
  name = \"Incidents to ops\"
  condition = \"incidentCreated\"
  url = \"http://alerts.internal:9000/baton\"
  secret = \"change-me\"
  windowSeconds = 300"
)]
pub struct ServeArgs {
    /// TOML file with any of the settings below (keys: data_dir, listen, ...).
    #[arg(long, env = "BATON_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory: store and wasm artifact cache [default: ./baton-data].
    #[arg(long, env = "BATON_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep the store in this PostgreSQL database instead of sled in the data directory:
    /// `postgres://user:password@host:port/dbname` (or a libpq key/value string). Every node of
    /// a cluster names the same database [default: none, sled].
    #[arg(long, env = "BATON_DATABASE", value_name = "URL")]
    pub database: Option<String>,
    /// The schema in that database (created if missing) [default: the connection's
    /// search_path, usually `public`].
    #[arg(long, env = "BATON_DATABASE_SCHEMA", value_name = "NAME")]
    pub database_schema: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "BATON_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// `fsync` (every acknowledged command is on disk) or `relaxed` [default: fsync].
    #[arg(long, env = "BATON_DURABILITY", value_name = "MODE")]
    pub durability: Option<String>,
    /// How much history is written, Camunda's levels: `full` (everything), `audit` (no
    /// details or logs), `activity` (no variable history either) or `none` [default: full].
    #[arg(long, env = "BATON_HISTORY_LEVEL", value_name = "LEVEL")]
    pub history_level: Option<String>,
    /// Require HTTP basic auth on the REST API [default: false].
    #[arg(long, env = "BATON_AUTH", num_args = 0..=1, default_missing_value = "true",
          value_parser = BoolishValueParser::new(), value_name = "BOOL")]
    pub auth: Option<bool>,
    /// Largest request body in bytes [default: 10 MiB].
    #[arg(long, env = "BATON_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Largest upload (deployments, task modules) in bytes [default: 64 MiB].
    #[arg(long, env = "BATON_MAX_UPLOAD_BYTES", value_name = "BYTES")]
    pub max_upload_bytes: Option<usize>,
    /// Run wasm task modules in the engine; `false` sends every topic to remote workers
    /// [default: true].
    #[arg(long, env = "BATON_WASM", num_args = 0..=1, default_missing_value = "true",
          value_parser = BoolishValueParser::new(), value_name = "BOOL")]
    pub wasm: Option<bool>,
    /// Most wasm executions at once [default: 64].
    #[arg(long, env = "BATON_WASM_CONCURRENCY", value_name = "N")]
    pub wasm_concurrency: Option<usize>,
    /// Run the first attempt of a task whose component is pure (no outbound HTTP) inside the
    /// command that reached the task, committed with it; off: every task is committed first
    /// and run in the background [default: true].
    #[arg(long, env = "BATON_WASM_INLINE", num_args = 0..=1, default_missing_value = "true",
          value_parser = BoolishValueParser::new(), value_name = "BOOL")]
    pub wasm_inline: Option<bool>,
    /// How many `nice` steps below the engine's threads wasm guests run, so a guest that
    /// computes for its whole deadline leaves the CPU to the engine (0: same priority)
    /// [default: 10].
    #[arg(long, env = "BATON_WASM_GUEST_NICE", value_name = "0-19",
          value_parser = clap::value_parser!(i32).range(0..=19))]
    pub wasm_guest_nice: Option<i32>,
    /// Default fuel per wasm execution.
    #[arg(long, env = "BATON_WASM_FUEL", value_name = "UNITS")]
    pub wasm_fuel: Option<u64>,
    /// Default wall-time limit per wasm execution, ms.
    #[arg(long, env = "BATON_WASM_TIMEOUT_MS", value_name = "MS")]
    pub wasm_timeout_ms: Option<u64>,
    /// Default memory limit per wasm execution, bytes.
    #[arg(long, env = "BATON_WASM_MEMORY_BYTES", value_name = "BYTES")]
    pub wasm_memory_bytes: Option<usize>,
    /// Retry schedule of in-engine tasks and failing jobs when the model sets none
    /// [default: R3/PT10S].
    #[arg(long, env = "BATON_DEFAULT_RETRY_CYCLE", value_name = "CYCLE")]
    pub default_retry_cycle: Option<String>,
    /// Parked long-poll requests before new ones are refused [default: 200].
    #[arg(long, env = "BATON_MAX_PARKED_FETCHES", value_name = "N")]
    pub max_parked_fetches: Option<usize>,
    /// Longest a REST request may run before it is answered 503 and cancelled, ms; 0: no
    /// limit (long-polling fetchAndLock is exempt) [default: 30000].
    #[arg(long, env = "BATON_REQUEST_TIMEOUT_MS", value_name = "MS")]
    pub request_timeout_ms: Option<u64>,
    /// Most rows one list query returns [default: 10000].
    #[arg(long, env = "BATON_QUERY_MAX_RESULTS", value_name = "N")]
    pub query_max_results: Option<usize>,
    /// Most variables one request may set (start, complete, correlate, ...) [default: 1000].
    #[arg(long, env = "BATON_MAX_VARIABLES", value_name = "N")]
    pub max_variables: Option<usize>,
    /// Largest value of one variable a request may set, bytes as sent [default: 4194304].
    #[arg(long, env = "BATON_MAX_VARIABLE_BYTES", value_name = "N")]
    pub max_variable_bytes: Option<usize>,
    /// Parked long-poll requests of one workerId at once [default: 4].
    #[arg(long, env = "BATON_MAX_PARKED_FETCHES_PER_WORKER", value_name = "N")]
    pub max_parked_fetches_per_worker: Option<usize>,
    /// Largest maxTasks of one fetchAndLock [default: 1000].
    #[arg(long, env = "BATON_MAX_FETCH_TASKS", value_name = "N")]
    pub max_fetch_tasks: Option<usize>,
    /// Most resources (files) in one deployment [default: 1000].
    #[arg(long, env = "BATON_MAX_DEPLOYMENT_RESOURCES", value_name = "N")]
    pub max_deployment_resources: Option<usize>,
    /// A BPMN error nothing catches raises an incident instead of ending the throwing
    /// execution as Camunda 7 does [default: false].
    #[arg(long, env = "BATON_INCIDENT_ON_UNHANDLED_BPMN_ERROR", num_args = 0..=1,
          default_missing_value = "true", value_parser = BoolishValueParser::new(),
          value_name = "BOOL")]
    pub incident_on_unhandled_bpmn_error: Option<bool>,
    /// Daily UTC window in which the history cleanup runs, `HH:MM-HH:MM` [default: none,
    /// only on `POST /history/cleanup`].
    #[arg(
        long,
        env = "BATON_HISTORY_CLEANUP_BATCH_WINDOW",
        value_name = "HH:MM-HH:MM"
    )]
    pub history_cleanup_batch_window: Option<String>,
    /// Finished instances whose history one cleanup write set removes [default: 500].
    #[arg(long, env = "BATON_HISTORY_CLEANUP_BATCH_SIZE", value_name = "N")]
    pub history_cleanup_batch_size: Option<usize>,
    /// Days the history of a finished batch is kept before the history cleanup removes it,
    /// `5` or `P5D` (Camunda's `batchOperationHistoryTimeToLive`) [default: none, kept].
    #[arg(long, env = "BATON_BATCH_HISTORY_TIME_TO_LIVE", value_name = "DAYS")]
    pub batch_history_time_to_live: Option<String>,
}

/// The `--config` file: the same settings, every key optional, unknown keys rejected (a typo
/// must not silently fall back to a default).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// See [`ServeArgs::data_dir`].
    pub data_dir: Option<PathBuf>,
    /// See [`ServeArgs::database`].
    pub database: Option<String>,
    /// See [`ServeArgs::database_schema`].
    pub database_schema: Option<String>,
    /// See [`ServeArgs::listen`].
    pub listen: Option<SocketAddr>,
    /// See [`ServeArgs::durability`].
    pub durability: Option<String>,
    /// See [`ServeArgs::history_level`].
    pub history_level: Option<String>,
    /// See [`ServeArgs::auth`].
    pub auth: Option<bool>,
    /// See [`ServeArgs::max_body_bytes`].
    pub max_body_bytes: Option<usize>,
    /// See [`ServeArgs::max_upload_bytes`].
    pub max_upload_bytes: Option<usize>,
    /// See [`ServeArgs::wasm`].
    pub wasm: Option<bool>,
    /// See [`ServeArgs::wasm_concurrency`].
    pub wasm_concurrency: Option<usize>,
    /// See [`ServeArgs::wasm_inline`].
    pub wasm_inline: Option<bool>,
    /// See [`ServeArgs::wasm_guest_nice`].
    pub wasm_guest_nice: Option<i32>,
    /// See [`ServeArgs::wasm_fuel`].
    pub wasm_fuel: Option<u64>,
    /// See [`ServeArgs::wasm_timeout_ms`].
    pub wasm_timeout_ms: Option<u64>,
    /// See [`ServeArgs::wasm_memory_bytes`].
    pub wasm_memory_bytes: Option<usize>,
    /// See [`ServeArgs::default_retry_cycle`].
    pub default_retry_cycle: Option<String>,
    /// See [`ServeArgs::max_parked_fetches`].
    pub max_parked_fetches: Option<usize>,
    /// See [`ServeArgs::request_timeout_ms`].
    pub request_timeout_ms: Option<u64>,
    /// See [`ServeArgs::query_max_results`].
    pub query_max_results: Option<usize>,
    /// See [`ServeArgs::max_variables`].
    pub max_variables: Option<usize>,
    /// See [`ServeArgs::max_variable_bytes`].
    pub max_variable_bytes: Option<usize>,
    /// See [`ServeArgs::max_parked_fetches_per_worker`].
    pub max_parked_fetches_per_worker: Option<usize>,
    /// See [`ServeArgs::max_fetch_tasks`].
    pub max_fetch_tasks: Option<usize>,
    /// See [`ServeArgs::max_deployment_resources`].
    pub max_deployment_resources: Option<usize>,
    /// See [`ServeArgs::incident_on_unhandled_bpmn_error`].
    pub incident_on_unhandled_bpmn_error: Option<bool>,
    /// See [`ServeArgs::history_cleanup_batch_window`].
    pub history_cleanup_batch_window: Option<String>,
    /// See [`ServeArgs::history_cleanup_batch_size`].
    pub history_cleanup_batch_size: Option<usize>,
    /// See [`ServeArgs::batch_history_time_to_live`].
    pub batch_history_time_to_live: Option<String>,
    /// Base URL of the cockpit in notification links (default `http://<listen>`).
    pub public_url: Option<String>,
    /// Failure notification rules (`[[notification_rule]]`), created or updated by id on start.
    #[serde(default)]
    pub notification_rule: Vec<crate::engine::notifications::RuleInput>,
}

/// Read a `--config` file.
pub fn read_file_config(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "config file {}: {}",
            path.display(),
            e.to_string().trim().replace('\n', " ")
        )
    })
}

/// Parse a durability name.
pub fn parse_durability(s: &str) -> anyhow::Result<Durability> {
    match s.trim().to_ascii_lowercase().as_str() {
        "fsync" => Ok(Durability::Fsync),
        "relaxed" => Ok(Durability::Relaxed),
        other => anyhow::bail!("durability must be `fsync` or `relaxed`, not `{other}`"),
    }
}

/// Merge flags/environment (already resolved by clap) over the file over the defaults.
pub fn merge(args: &ServeArgs, file: FileConfig) -> anyhow::Result<ServerConfig> {
    let d = ServerConfig::default();
    let durability = match args.durability.clone().or(file.durability) {
        Some(s) => parse_durability(&s)?,
        None => d.durability,
    };
    let history_level = match args.history_level.clone().or(file.history_level) {
        Some(s) => s.parse().map_err(|e: String| anyhow::anyhow!(e))?,
        None => d.history_level,
    };
    // A flag (or its environment variable) wins over the file, the file over the default.
    macro_rules! pick {
        ($setting:ident) => {
            args.$setting.or(file.$setting).unwrap_or(d.$setting)
        };
    }
    // `..d` keeps this compiling when ServerConfig grows a setting before the CLI learns it.
    #[allow(
        clippy::needless_update,
        reason = "future ServerConfig fields take their default"
    )]
    let config = ServerConfig {
        data_dir: args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or(d.data_dir.clone()),
        database: args
            .database
            .clone()
            .or(file.database)
            .map(|url| crate::engine::Database {
                url,
                schema: args.database_schema.clone().or(file.database_schema),
            }),
        listen: pick!(listen),
        durability,
        history_level,
        auth: pick!(auth),
        max_body_bytes: pick!(max_body_bytes),
        max_upload_bytes: pick!(max_upload_bytes),
        wasm: pick!(wasm),
        wasm_concurrency: pick!(wasm_concurrency),
        wasm_inline: pick!(wasm_inline),
        wasm_guest_nice: pick!(wasm_guest_nice),
        wasm_fuel: pick!(wasm_fuel),
        wasm_timeout_ms: pick!(wasm_timeout_ms),
        wasm_memory_bytes: pick!(wasm_memory_bytes),
        default_retry_cycle: args
            .default_retry_cycle
            .clone()
            .or(file.default_retry_cycle)
            .unwrap_or(d.default_retry_cycle.clone()),
        max_parked_fetches: pick!(max_parked_fetches),
        request_timeout_ms: pick!(request_timeout_ms),
        query_max_results: pick!(query_max_results),
        max_variables: pick!(max_variables),
        max_variable_bytes: pick!(max_variable_bytes),
        max_parked_fetches_per_worker: pick!(max_parked_fetches_per_worker),
        max_fetch_tasks: pick!(max_fetch_tasks),
        max_deployment_resources: pick!(max_deployment_resources),
        incident_on_unhandled_bpmn_error: pick!(incident_on_unhandled_bpmn_error),
        history_cleanup_batch_window: args
            .history_cleanup_batch_window
            .clone()
            .or(file.history_cleanup_batch_window),
        history_cleanup_batch_size: pick!(history_cleanup_batch_size),
        batch_history_time_to_live: args
            .batch_history_time_to_live
            .clone()
            .or(file.batch_history_time_to_live),
        notifications: crate::engine::NotificationConfig {
            rules: file.notification_rule,
            public_url: file.public_url,
            ..d.notifications.clone()
        },
        ..d
    };
    if config.query_max_results == 0 {
        anyhow::bail!("query_max_results must be at least 1");
    }
    for (name, value) in [
        ("max_variables", config.max_variables),
        ("max_variable_bytes", config.max_variable_bytes),
        (
            "max_parked_fetches_per_worker",
            config.max_parked_fetches_per_worker,
        ),
        ("max_fetch_tasks", config.max_fetch_tasks),
        ("max_deployment_resources", config.max_deployment_resources),
    ] {
        if value == 0 {
            anyhow::bail!("{name} must be at least 1");
        }
    }
    if !(0..=19).contains(&config.wasm_guest_nice) {
        anyhow::bail!("wasm_guest_nice must be between 0 and 19");
    }
    if config.history_cleanup_batch_size == 0 {
        anyhow::bail!("history_cleanup_batch_size must be at least 1");
    }
    if let Some(window) = &config.history_cleanup_batch_window {
        crate::engine::history_cleanup::parse_batch_window(window)
            .map_err(|e| anyhow::anyhow!("history_cleanup_batch_window: {e}"))?;
    }
    if let Some(ttl) = &config.batch_history_time_to_live {
        crate::engine::history_cleanup::parse_time_to_live(ttl)
            .map_err(|e| anyhow::anyhow!("batch_history_time_to_live: {e}"))?;
    }
    if config.wasm_concurrency == 0 {
        anyhow::bail!("wasm_concurrency must be at least 1");
    }
    if baton_bpmn::timer::parse_cycle(&config.default_retry_cycle).is_err() {
        anyhow::bail!(
            "default_retry_cycle `{}` is not an ISO 8601 repeating interval like R3/PT10S",
            config.default_retry_cycle
        );
    }
    Ok(config)
}

/// Resolve the whole configuration of `baton serve`.
pub fn resolve(args: &ServeArgs) -> anyhow::Result<ServerConfig> {
    let file = match &args.config {
        Some(path) => read_file_config(path)?,
        None => FileConfig::default(),
    };
    merge(args, file)
}

/// `baton serve`: open the engine, serve until SIGINT/SIGTERM, then let in-flight requests
/// finish and flush the store.
pub async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = resolve(&args)?;
    let engine = crate::engine::ProcessEngine::open(
        config.engine_config(Arc::new(crate::clock::SystemClock)),
    )
    .await
    .with_context(|| match &config.database {
        Some(_) => "cannot open the engine on its PostgreSQL database".to_string(),
        None => format!("cannot open the engine in {}", config.data_dir.display()),
    })?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(
        "baton listening on http://{addr}/engine-rest (data: {})",
        config.data_dir.display()
    );
    // Tests and scripts read this line to learn the port when they pass port 0.
    println!("baton listening on http://{addr}");
    crate::server::run(listener, engine, config, crate::server::shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_rules_come_from_the_config_file() {
        let file: FileConfig = toml::from_str(
            r#"public_url = "https://baton.example"

[[notification_rule]]
id = "ops"
name = "Incidents to ops"
condition = "incidentCreated"
url = "http://alerts.internal:9000/baton"
secret = "s3cret"
windowSeconds = 60

[[notification_rule]]
id = "stuck"
name = "No worker"
condition = "taskWaiting"
topic = "check-stock"
waitSeconds = 600
url = "http://alerts.internal:9000/baton"
"#,
        )
        .expect("toml");
        let c = merge(&ServeArgs::default(), file).expect("merge");
        let rules = &c.notifications.rules;
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].id.as_deref(), Some("ops"));
        assert_eq!(rules[0].window_seconds, Some(60));
        assert_eq!(rules[1].wait_seconds, Some(600));
        assert_eq!(
            c.notifications.public_url.as_deref(),
            Some("https://baton.example")
        );
        // A typo at the top level is still refused.
        assert!(toml::from_str::<FileConfig>("notification_rules = []").is_err());
    }

    #[test]
    fn flag_beats_file_beats_default() {
        let file: FileConfig = toml::from_str(
            "listen = \"127.0.0.1:9999\"\ndata_dir = \"/tmp/x\"\nwasm_fuel = 5\ndurability = \"relaxed\"",
        )
        .expect("toml");
        let args = ServeArgs {
            listen: Some(SocketAddr::from(([0, 0, 0, 0], 1))),
            ..ServeArgs::default()
        };
        let c = merge(&args, file).expect("merge");
        assert_eq!(c.listen, SocketAddr::from(([0, 0, 0, 0], 1)));
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.wasm_fuel, 5);
        assert_eq!(c.durability, Durability::Relaxed);
        assert_eq!(
            c.max_parked_fetches,
            ServerConfig::default().max_parked_fetches
        );
    }

    #[test]
    fn history_level_takes_camundas_names_and_refuses_others() {
        let file: FileConfig = toml::from_str("history_level = \"AUDIT\"").expect("toml");
        let c = merge(&ServeArgs::default(), file).expect("merge");
        assert_eq!(c.history_level, crate::engine::HistoryLevel::Audit);
        let args = ServeArgs {
            history_level: Some("none".into()),
            ..ServeArgs::default()
        };
        let file: FileConfig = toml::from_str("history_level = \"audit\"").expect("toml");
        let c = merge(&args, file).expect("merge");
        assert_eq!(c.history_level, crate::engine::HistoryLevel::None);
        assert_eq!(
            merge(&ServeArgs::default(), FileConfig::default())
                .expect("merge")
                .history_level,
            crate::engine::HistoryLevel::Full
        );
        let args = ServeArgs {
            history_level: Some("auto".into()),
            ..ServeArgs::default()
        };
        let err = merge(&args, FileConfig::default()).expect_err("auto is no level");
        assert!(err.to_string().contains("not `auto`"), "{err}");
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        assert!(toml::from_str::<FileConfig>("listn = \"x\"").is_err());
    }
}
