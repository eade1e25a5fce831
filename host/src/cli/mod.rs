//! The `baton` command line (clap, derive).
//!
//! - `serve` ([`serve`]): the server, configured by flags, `BATON_*` variables and a TOML file.
//! - `run` ([`run`]): one instance of one BPMN file to its end, in-process, no server.
//! - `validate` ([`validate`]): parse and validate BPMN files, `file:line:column` per problem.
//! - `deploy`, `module`, `instances`, `tasks`, `incidents` ([`client`]): thin clients of the
//!   REST API of a running server.
//! - [`vars`] (typed `--var` values, answers files) and [`human`] (sizes, durations) serve them.
//!
//! Every command prints one-line errors (`error: ...`) and returns an exit code; nothing here
//! panics on user input.

/// `println!` that ignores a closed standard output (`baton run ... | head` must not panic).
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

pub mod client;
pub mod human;
pub mod migrate;
pub mod run;
pub mod serve;
pub mod validate;
pub mod vars;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// baton: a BPMN 2.0 process engine with a Camunda-7-compatible REST API and in-process
/// WebAssembly service tasks, in one binary.
#[derive(Debug, Parser)]
#[command(
    name = "baton",
    version,
    about,
    after_help = "Examples:
  baton run examples/order/order.bpmn --module check-stock=stock_check.wasm \\
      --module payment=payment.wasm --module send-mail=send_mail.wasm \\
      --var amount=250 --var 'items=[{\"sku\":\"A-1\",\"quantity\":2}]'
  baton validate examples/order/order.bpmn
  baton serve --listen 127.0.0.1:8080 --data-dir ./baton-data
  baton deploy examples/order/order.bpmn payment.wasm
  baton tasks --json"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once per process; boxing the serve flags buys nothing"
)]
pub enum Command {
    /// Run the engine with its REST API (Camunda 7 compatible, under /engine-rest).
    Serve(serve::ServeArgs),
    /// Run one process instance to its end, in-process and offline.
    Run(run::RunArgs),
    /// Parse and validate BPMN files; prints file:line:column per problem.
    Validate(validate::ValidateArgs),
    /// Deploy BPMN files and wasm task modules to a running server.
    Deploy(client::DeployArgs),
    /// Manage the wasm task modules of a running server.
    #[command(subcommand)]
    Module(client::ModuleCommand),
    /// List the running process instances of a server.
    Instances(client::ListArgs),
    /// List the open user tasks of a server.
    Tasks(client::ListArgs),
    /// List the open incidents of a server.
    Incidents(client::ListArgs),
    /// Manage failure notification rules (webhooks on incidents, cancellations, wasm limits).
    #[command(subcommand)]
    Notify(client::NotifyCommand),
    /// Copy a sled data directory into a PostgreSQL database (from one node to a cluster).
    MigrateStore(migrate::MigrateStoreArgs),
}

/// Entry point of the binary: parses the command line and runs the command on a tokio
/// runtime. Exit codes are documented per command (`baton run`: 0 completed, 1 failed,
/// 2 incident, 3 no worker for a topic).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` logs at info; the other commands print their own output and keep the engine's
    // log to warnings unless BATON_LOG asks for more.
    let default_filter = match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    };
    // Colours only on a terminal: a log redirected to a file must stay plain text.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BATON_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::serve(args).await,
            Command::Run(args) => run::run(args).await,
            Command::Validate(args) => Ok(validate::validate(&args)),
            Command::Deploy(args) => client::deploy(args).await,
            Command::Module(cmd) => client::module(cmd).await,
            Command::Instances(args) => client::instances(args).await,
            Command::Tasks(args) => client::tasks(args).await,
            Command::Incidents(args) => client::incidents(args).await,
            Command::Notify(cmd) => client::notify(cmd).await,
            Command::MigrateStore(args) => migrate::migrate_store(args).await,
        }
    });
    // Background engine work (scheduler, wasm ticker) must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
