//! The arguments of `baton run` (clap derive) and their `--help` text.

use std::net::SocketAddr;
use std::path::PathBuf;

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
