//! The `baton` command line (clap): `serve` for now; `run`, `validate`, `deploy` and the
//! thin REST clients are added beside it.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::ServerConfig;

/// baton: a BPMN process engine with a Camunda-7-compatible REST API and in-process
/// WebAssembly service tasks, in one binary.
#[derive(Debug, Parser)]
#[command(name = "baton", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the engine with its REST API (Camunda 7 compatible, under /engine-rest).
    Serve(ServeArgs),
}

/// `baton serve` flags; each also reads a `BATON_*` environment variable.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Data directory (store, wasm artifact cache).
    #[arg(long, env = "BATON_DATA_DIR", default_value = "./baton-data")]
    pub data_dir: std::path::PathBuf,
    /// Address to listen on.
    #[arg(long, env = "BATON_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// `fsync` (every acknowledged command is on disk) or `relaxed`.
    #[arg(long, env = "BATON_DURABILITY", default_value = "fsync")]
    pub durability: String,
    /// Require HTTP basic auth.
    #[arg(long, env = "BATON_AUTH")]
    pub auth: bool,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BATON_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let durability = match args.durability.as_str() {
        "fsync" => crate::store::Durability::Fsync,
        "relaxed" => crate::store::Durability::Relaxed,
        other => anyhow::bail!("--durability must be fsync or relaxed, not '{other}'"),
    };
    let config = ServerConfig {
        data_dir: args.data_dir,
        listen: args.listen,
        durability,
        auth: args.auth,
        ..ServerConfig::default()
    };
    let engine = crate::engine::ProcessEngine::open(
        config.engine_config(Arc::new(crate::clock::SystemClock)),
    )
    .await?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    tracing::info!("baton listening on http://{addr}/engine-rest (data: {})", config.data_dir.display());
    // Tests and scripts read this line to learn the port when they pass port 0.
    println!("baton listening on http://{addr}");
    crate::server::run(listener, engine, config, crate::server::shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
