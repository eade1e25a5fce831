//! Thin clients of a running server's REST API: `baton deploy`, `baton module put|list`,
//! `baton instances`, `baton tasks`, `baton incidents`. They speak the same `/engine-rest`
//! endpoints any Camunda client does; `--json` prints the server's JSON for scripts, otherwise
//! a table. Server errors are shown with Camunda's `type` and `message`.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use serde_json::Value as J;

use super::human::human_bytes;

/// Where the server is and how to log in; shared by every client command.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// The server (its root, or its `/engine-rest` URL).
    #[arg(long, env = "BATON_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Basic auth user.
    #[arg(long, env = "BATON_USER")]
    pub user: Option<String>,
    /// Basic auth password.
    #[arg(long, env = "BATON_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Print the server's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `baton deploy` arguments.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "BPMN files become process definitions; .wasm files become task \
modules bound to the topic named by their file stem (payment.wasm serves topic `payment`).

Examples:
  baton deploy examples/order/order.bpmn
  baton deploy order.bpmn payment.wasm send-mail.wasm --name order
  BATON_URL=http://baton.internal:8080 baton deploy order.bpmn --user demo --password demo"
)]
pub struct DeployArgs {
    /// Files to deploy together (.bpmn, .wasm, anything else as a plain resource).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Deployment name (default: the first file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Only deploy resources that changed since the last deployment of that name.
    #[arg(long)]
    pub changed_only: bool,
    /// Server and output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `baton module ...`.
#[derive(Debug, clap::Subcommand)]
pub enum ModuleCommand {
    /// Bind a wasm component to a topic: its tasks then run inside the engine.
    #[command(after_help = "Examples:
  baton module put payment guests/target/wasm32-wasip2/release/payment.wasm
  baton module put check-stock stock_check.wasm --fuel 50000000 --timeout-ms 500
  baton module put fetch http_fetch.wasm --allowed-host api.example.com --allowed-host '*.example.org:8443'")]
    Put(ModulePutArgs),
    /// List the task modules and their topics.
    #[command(after_help = "Examples:
  baton module list
  baton module list --json")]
    List(ListArgs),
}

/// `baton module put` arguments.
#[derive(Debug, clap::Args)]
pub struct ModulePutArgs {
    /// The topic the component serves.
    pub topic: String,
    /// The component (`.wasm`, built for wasm32-wasip2 against wit/).
    #[arg(value_name = "FILE.wasm")]
    pub file: PathBuf,
    /// Fuel per execution (default: the server's).
    #[arg(long)]
    pub fuel: Option<u64>,
    /// Wall-time limit per execution in ms (default: the server's).
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Memory limit per execution in bytes (default: the server's).
    #[arg(long)]
    pub memory_bytes: Option<u64>,
    /// Largest table, in elements (default: the server's; interpreters need ~100000).
    #[arg(long)]
    pub table_elements: Option<u64>,
    /// Most core instances the component may create (default: the server's; CPython-based
    /// components need ~50).
    #[arg(long)]
    pub instances: Option<u64>,
    /// A host the component may call over wasi:http (repeatable): `host` (port 80/443),
    /// `host:port`, `host:*`, `*.domain`. Without any, outbound HTTP is denied, and a component
    /// that imports wasi:http/outgoing-handler is refused.
    #[arg(long = "allowed-host", value_name = "HOST")]
    pub allowed_hosts: Vec<String>,
    /// Server and output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Arguments of the list commands.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  baton instances
  baton tasks --url http://127.0.0.1:9090
  baton incidents --json | jq '.[].incidentMessage'")]
pub struct ListArgs {
    /// Server and output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// A REST client for one server.
struct Api {
    base: String,
    http: reqwest::Client,
    user: Option<String>,
    password: Option<String>,
}

impl Api {
    fn new(args: &ClientArgs) -> anyhow::Result<Api> {
        let mut base = args.url.trim().trim_end_matches('/').to_owned();
        if !base.starts_with("http://") && !base.starts_with("https://") {
            bail!("--url `{}` must start with http:// or https://", args.url);
        }
        if !base.ends_with("/engine-rest") {
            base.push_str("/engine-rest");
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .context("cannot create the HTTP client")?;
        Ok(Api {
            base,
            http,
            user: args.user.clone(),
            password: args.password.clone(),
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.user {
            Some(u) => r.basic_auth(u, self.password.as_deref()),
            None => r,
        }
    }

    /// Send and decode the JSON answer, turning transport and server errors into one line.
    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<J> {
        let response = request.send().await.map_err(|e| {
            if e.is_connect() || e.is_timeout() {
                anyhow!(
                    "cannot reach baton at {}: is `baton serve` running there? (set --url or BATON_URL)",
                    self.base
                )
            } else {
                anyhow!("request to {} failed: {e}", self.base)
            }
        })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let body: J = serde_json::from_str(&text).unwrap_or(J::Null);
            let kind = body.get("type").and_then(J::as_str).unwrap_or("error");
            let message = body
                .get("message")
                .and_then(J::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| text.chars().take(200).collect());
            if status == reqwest::StatusCode::UNAUTHORIZED {
                bail!(
                    "the server wants a login: pass --user and --password (or BATON_USER/BATON_PASSWORD): {message}"
                );
            }
            bail!("server answered {status}: {kind}: {message}");
        }
        if text.trim().is_empty() {
            return Ok(J::Null);
        }
        serde_json::from_str(&text).context("the server's answer is not JSON")
    }

    async fn get(&self, path: &str) -> anyhow::Result<J> {
        self.send(self.request(reqwest::Method::GET, path)).await
    }
}

/// Await `work` while showing that something is happening (on a terminal: elapsed seconds,
/// redrawn in place on stderr).
async fn with_progress<T>(label: &str, work: impl std::future::Future<Output = T>) -> T {
    let started = Instant::now();
    let tty = std::io::stderr().is_terminal();
    eprintln!("{label} ...");
    tokio::pin!(work);
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    ticker.tick().await;
    let out = loop {
        tokio::select! {
            out = &mut work => break out,
            _ = ticker.tick() => {
                if tty {
                    eprint!("\r  {:.1}s", started.elapsed().as_secs_f64());
                }
            }
        }
    };
    if tty {
        eprint!("\r");
    }
    eprintln!("  done in {:.2}s", started.elapsed().as_secs_f64());
    out
}

fn print_json(v: &J) {
    outln!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

/// Print rows under headers, columns padded to their widest cell.
fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  "));
            }
        }
        outln!("{}", out.trim_end());
    };
    line(headers.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        line(row.clone());
    }
    if rows.is_empty() {
        outln!("(none)");
    }
}

/// A field as display text (`-` when absent).
fn cell(v: &J, key: &str) -> String {
    match v.get(key) {
        None | Some(J::Null) => "-".into(),
        Some(J::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn rows(list: &J, keys: &[&str]) -> Vec<Vec<String>> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| keys.iter().map(|k| cell(item, k)).collect())
                .collect()
        })
        .unwrap_or_default()
}

/// `baton deploy`.
pub async fn deploy(args: DeployArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let mut form = reqwest::multipart::Form::new().text("deployment-source", "baton-cli");
    let name = match &args.name {
        Some(n) => n.clone(),
        None => args
            .files
            .first()
            .and_then(|f| f.file_stem())
            .and_then(|s| s.to_str())
            .unwrap_or("deployment")
            .to_owned(),
    };
    form = form.text("deployment-name", name.clone());
    if args.changed_only {
        form = form.text("deploy-changed-only", "true");
    }
    let mut total = 0u64;
    for (i, path) in args.files.iter().enumerate() {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        total += bytes.len() as u64;
        let file_name = path
            .file_name()
            .and_then(|s| s.to_str())
            .ok_or_else(|| anyhow!("{} has no usable file name", path.display()))?
            .to_owned();
        let mime = if file_name.ends_with(".wasm") {
            "application/wasm"
        } else {
            "application/octet-stream"
        };
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(file_name)
            .mime_str(mime)?;
        form = form.part(format!("resource-{i}"), part);
    }
    let request = api
        .request(reqwest::Method::POST, "/deployment/create")
        .multipart(form);
    let label = format!(
        "uploading {} file(s), {} to {}",
        args.files.len(),
        human_bytes(total),
        api.base
    );
    let answer = with_progress(&label, api.send(request)).await?;
    if args.client.json {
        print_json(&answer);
        return Ok(ExitCode::SUCCESS);
    }
    outln!("deployment {} ({name})", cell(&answer, "id"));
    let mut list = Vec::new();
    if let Some(defs) = answer
        .get("deployedProcessDefinitions")
        .and_then(J::as_object)
    {
        for d in defs.values() {
            list.push(vec![
                "process".to_owned(),
                cell(d, "key"),
                cell(d, "version"),
                cell(d, "id"),
            ]);
        }
    }
    if let Some(mods) = answer.get("deployedTaskModules").and_then(J::as_object) {
        for (topic, m) in mods {
            list.push(vec![
                "module".to_owned(),
                topic.clone(),
                "-".into(),
                cell(m, "sha256"),
            ]);
        }
    }
    if list.is_empty() {
        outln!("nothing new to deploy (unchanged)");
    } else {
        table(&["KIND", "KEY/TOPIC", "VERSION", "ID"], &list);
    }
    Ok(ExitCode::SUCCESS)
}

/// `baton module put|list`.
pub async fn module(cmd: ModuleCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ModuleCommand::Put(args) => {
            let api = Api::new(&args.client)?;
            let bytes = std::fs::read(&args.file)
                .with_context(|| format!("cannot read {}", args.file.display()))?;
            let size = bytes.len() as u64;
            let mut query = Vec::new();
            if let Some(f) = args.fuel {
                query.push(("fuel", f.to_string()));
            }
            if let Some(t) = args.timeout_ms {
                query.push(("timeoutMs", t.to_string()));
            }
            if let Some(m) = args.memory_bytes {
                query.push(("memoryBytes", m.to_string()));
            }
            if let Some(t) = args.table_elements {
                query.push(("tableElements", t.to_string()));
            }
            if let Some(n) = args.instances {
                query.push(("instances", n.to_string()));
            }
            if !args.allowed_hosts.is_empty() {
                query.push(("allowedHosts", args.allowed_hosts.join(",")));
            }
            let topic: String = args
                .topic
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            let request = api
                .request(reqwest::Method::PUT, &format!("/task-module/{topic}"))
                .query(&query)
                .header(reqwest::header::CONTENT_TYPE, "application/wasm")
                .body(bytes);
            let label = format!(
                "uploading {} ({}) as topic `{}`; the server compiles it",
                args.file.display(),
                human_bytes(size),
                args.topic
            );
            let answer = with_progress(&label, api.send(request)).await?;
            if args.client.json {
                print_json(&answer);
            } else {
                outln!(
                    "topic `{}` -> module {} ({})",
                    cell(&answer, "topic"),
                    cell(&answer, "sha256"),
                    human_bytes(answer.get("size").and_then(J::as_u64).unwrap_or(size))
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ModuleCommand::List(args) => {
            let api = Api::new(&args.client)?;
            let answer = api.get("/task-module").await?;
            if args.client.json {
                print_json(&answer);
            } else {
                let mut list = rows(
                    &answer,
                    &["topic", "sha256", "size", "created", "deploymentId"],
                );
                for r in &mut list {
                    if let Some(sha) = r.get_mut(1) {
                        sha.truncate(12);
                    }
                    if let Some(size) = r.get_mut(2)
                        && let Ok(n) = size.parse::<u64>()
                    {
                        *size = human_bytes(n);
                    }
                }
                table(&["TOPIC", "SHA256", "SIZE", "CREATED", "DEPLOYMENT"], &list);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `baton instances`.
pub async fn instances(args: ListArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let answer = api.get("/process-instance").await?;
    if args.client.json {
        print_json(&answer);
    } else {
        table(
            &["ID", "DEFINITION", "BUSINESS KEY", "SUSPENDED"],
            &rows(&answer, &["id", "definitionId", "businessKey", "suspended"]),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `baton tasks`.
pub async fn tasks(args: ListArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let answer = api.get("/task").await?;
    if args.client.json {
        print_json(&answer);
    } else {
        table(
            &["ID", "NAME", "KEY", "ASSIGNEE", "CREATED", "INSTANCE"],
            &rows(
                &answer,
                &[
                    "id",
                    "name",
                    "taskDefinitionKey",
                    "assignee",
                    "created",
                    "processInstanceId",
                ],
            ),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `baton incidents`.
pub async fn incidents(args: ListArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let answer = api.get("/incident").await?;
    if args.client.json {
        print_json(&answer);
    } else {
        table(
            &["ID", "TYPE", "ACTIVITY", "INSTANCE", "MESSAGE"],
            &rows(
                &answer,
                &[
                    "id",
                    "incidentType",
                    "activityId",
                    "processInstanceId",
                    "incidentMessage",
                ],
            ),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `baton notify ...`: failure notification rules (`/engine-rest/notification-rule`).
#[derive(Debug, clap::Subcommand)]
pub enum NotifyCommand {
    /// List the rules and their last delivery.
    #[command(after_help = "Examples:
  baton notify list
  baton notify list --json")]
    List(ListArgs),
    /// Add a rule: a condition and a webhook (a signed JSON POST) or a BPMN message/signal.
    #[command(
        after_help = "Conditions: incidentCreated, incidentResolved, instanceCanceled,
uncaughtError, wasmLimit, taskWaiting, userTaskOverdue, userTaskUnclaimed, failureRate.

Examples:
  baton notify add --name 'Incidents to ops' --condition incidentCreated \\
      --webhook http://alerts.internal:9000/baton --secret \"$HOOK_SECRET\"
  baton notify add --id order-cancel --name 'Order canceled' --condition instanceCanceled \\
      --process-definition-key order --webhook http://alerts.internal:9000/baton --window-seconds 600
  baton notify add --id stuck --name 'No worker' --condition taskWaiting --topic check-stock \\
      --wait-seconds 600 --message-name Escalate"
    )]
    Add(Box<NotifyAddArgs>),
    /// Send a test notification for a rule and show what the receiver answered.
    Test(NotifyIdArgs),
    /// Delete a rule.
    Rm(NotifyIdArgs),
}

/// `baton notify add` arguments (the fields of `POST /notification-rule/create`).
#[derive(Debug, clap::Args)]
pub struct NotifyAddArgs {
    /// Rule id (default: generated).
    #[arg(long)]
    pub id: Option<String>,
    /// Rule name.
    #[arg(long)]
    pub name: String,
    /// What to watch for.
    #[arg(long)]
    pub condition: String,
    /// Webhook URL (http); `--url` is the server's.
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
    /// Instead of a webhook: correlate this BPMN message into your own process.
    #[arg(long, conflicts_with_all = ["webhook", "signal_name"])]
    pub message_name: Option<String>,
    /// Instead of a webhook: broadcast this BPMN signal.
    #[arg(long, conflicts_with_all = ["webhook", "message_name"])]
    pub signal_name: Option<String>,
    /// taskWaiting, userTaskUnclaimed: how long before it fires, seconds.
    #[arg(long)]
    pub wait_seconds: Option<i64>,
    /// failureRate: the rate (0..1] above which it fires.
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Signing secret (HMAC-SHA256 of the body in `X-Baton-Signature`); never shown again.
    #[arg(long, env = "BATON_NOTIFY_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Only incidents of this type (failedExternalTask, failedJob, unhandledBpmnError).
    #[arg(long)]
    pub incident_type: Option<String>,
    /// Only instances of this process definition key.
    #[arg(long)]
    pub process_definition_key: Option<String>,
    /// Only events at this activity.
    #[arg(long)]
    pub activity_id: Option<String>,
    /// Only this topic (wasm limits).
    #[arg(long)]
    pub topic: Option<String>,
    /// At most one message per rule and key per window (plus a summary with the count).
    #[arg(long)]
    pub window_seconds: Option<i64>,
    /// Server and output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// A rule id and the server.
#[derive(Debug, clap::Args)]
pub struct NotifyIdArgs {
    /// The rule id.
    pub id: String,
    /// Server and output.
    #[command(flatten)]
    pub client: ClientArgs,
}

fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `baton notify list|add|test|rm`.
pub async fn notify(cmd: NotifyCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        NotifyCommand::List(args) => {
            let api = Api::new(&args.client)?;
            let answer = api.get("/notification-rule").await?;
            if args.client.json {
                print_json(&answer);
            } else {
                table(
                    &[
                        "ID",
                        "NAME",
                        "CONDITION",
                        "URL",
                        "SIGNED",
                        "WINDOW S",
                        "ENABLED",
                    ],
                    &rows(
                        &answer,
                        &[
                            "id",
                            "name",
                            "condition",
                            "url",
                            "secretSet",
                            "windowSeconds",
                            "enabled",
                        ],
                    ),
                );
            }
        }
        NotifyCommand::Add(a) => {
            let api = Api::new(&a.client)?;
            let destination = if a.message_name.is_some() {
                "message"
            } else if a.signal_name.is_some() {
                "signal"
            } else {
                "webhook"
            };
            let body = serde_json::json!({
                "id": a.id, "name": a.name, "condition": a.condition, "url": a.webhook,
                "destination": destination, "messageName": a.message_name,
                "signalName": a.signal_name, "waitSeconds": a.wait_seconds,
                "threshold": a.threshold,
                "secret": a.secret, "incidentType": a.incident_type,
                "processDefinitionKey": a.process_definition_key, "activityId": a.activity_id,
                "topic": a.topic, "windowSeconds": a.window_seconds,
            });
            let request = api
                .request(reqwest::Method::POST, "/notification-rule/create")
                .json(&body);
            let answer = api.send(request).await?;
            if a.client.json {
                print_json(&answer);
            } else {
                let target = match answer.get("url").and_then(J::as_str) {
                    Some(url) => url.to_owned(),
                    None => {
                        let kind = cell(&answer, "destination");
                        let name = if kind == "signal" {
                            cell(&answer, "signalName")
                        } else {
                            cell(&answer, "messageName")
                        };
                        format!("BPMN {kind} {name}")
                    }
                };
                outln!(
                    "rule {} ({}) -> {target}",
                    cell(&answer, "id"),
                    cell(&answer, "condition"),
                );
            }
        }
        NotifyCommand::Test(a) => {
            let api = Api::new(&a.client)?;
            let request = api
                .request(
                    reqwest::Method::POST,
                    &format!("/notification-rule/{}/test", path_segment(&a.id)),
                )
                .json(&serde_json::json!({}));
            let answer = api.send(request).await?;
            if a.client.json {
                print_json(&answer);
            } else if answer.get("delivered").and_then(J::as_bool) == Some(true) {
                outln!(
                    "delivered (HTTP {}), delivery id {}",
                    cell(&answer, "statusCode"),
                    cell(&answer, "deliveryId")
                );
            } else {
                outln!("not delivered: {}", cell(&answer, "error"));
                return Ok(ExitCode::from(1));
            }
        }
        NotifyCommand::Rm(a) => {
            let api = Api::new(&a.client)?;
            let request = api.request(
                reqwest::Method::DELETE,
                &format!("/notification-rule/{}", path_segment(&a.id)),
            );
            api.send(request).await?;
            if !a.client.json {
                outln!("rule {} deleted", a.id);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
