//! `baton migrate-store`: copy a sled data directory into a PostgreSQL database, the one-time
//! step from one node to a cluster. Every record is copied as it is stored (same keys, same
//! encoding), so nothing is converted and the copy is checked tree by tree.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::store::{Durability, Store};

/// `baton migrate-store --data-dir DIR --database URL [--database-schema NAME]`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Stop the server that uses DIR first (sled allows one process). The target \
must hold no baton data yet. Afterwards start every node with the same --database and \
--database-schema; DIR is no longer used for the store.

Example:
  baton migrate-store --data-dir ./baton-data --database postgres://baton@db/baton"
)]
pub struct MigrateStoreArgs {
    /// The data directory whose sled store is copied.
    #[arg(long, env = "BATON_DATA_DIR", value_name = "DIR")]
    pub data_dir: PathBuf,
    /// The PostgreSQL database to copy into.
    #[arg(long, env = "BATON_DATABASE", value_name = "URL")]
    pub database: String,
    /// The schema in that database (created if missing).
    #[arg(long, env = "BATON_DATABASE_SCHEMA", value_name = "NAME")]
    pub database_schema: Option<String>,
}

/// Keys per commit while copying.
const CHUNK: usize = 2_000;

/// Copy, then print what was copied per tree. Exit 0 on success; an error (unreachable
/// database, a target with data, a store in use) exits 1 and leaves the source untouched.
pub async fn migrate_store(args: MigrateStoreArgs) -> anyhow::Result<ExitCode> {
    let source =
        Store::open(&args.data_dir.join("store"), Durability::Fsync).with_context(|| {
            format!(
                "cannot open the sled store in {} (is a server still using it?)",
                args.data_dir.display()
            )
        })?;
    let target = Store::open_postgres(
        &args.database,
        args.database_schema.as_deref(),
        Durability::Fsync,
    )
    .context("cannot open the PostgreSQL database")?;
    let copied = source.copy_into(&target, CHUNK)?;
    let total: usize = copied.iter().map(|(_, n)| n).sum();
    for (tree, n) in copied.iter().filter(|(_, n)| *n > 0) {
        println!("{tree:<40} {n:>10}");
    }
    println!("copied {total} records into PostgreSQL");
    Ok(ExitCode::SUCCESS)
}
