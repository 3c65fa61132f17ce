//! webcare-bench: measures the desk against the floor of its own database in the same run.
//!
//! `cargo run --release -p webcare-bench -- <ingest|inbox|sla|memory|routing|reports> --db sqlite|postgres [--quick]`
//!
//! Each suite prints a readable table and, as its last line, one JSON object
//! `{"suite": "...", "db": "...", "metrics": {...}}`. Suites that need the server build it with
//! `cargo build --release -p webcare` (a no-op when current) and start it from the same target
//! folder as separate process; `WEBCARE_BIN` points at another binary.
#![forbid(unsafe_code)]

mod breach;
mod common;
mod inbox;
mod ingest;
mod memory;
mod reports;
mod routing;
mod sla;
mod workload;

use clap::{Parser, ValueEnum};
use common::Db;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Suite {
    Ingest,
    Inbox,
    Sla,
    Memory,
    Routing,
    Reports,
}

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Benchmarks of the webcare desk against its database's floor"
)]
struct Cli {
    suite: Suite,
    #[arg(long, value_enum)]
    db: Db,
    /// Smaller sizes: finishes in under a minute (CI runs every suite this way).
    #[arg(long)]
    quick: bool,
    /// ingest: how messages arrive (`auto`: signed Meta webhooks when `/webhooks/meta` exists).
    #[arg(long, value_enum, default_value = "auto")]
    via: ingest::Via,
    /// Override the size: unique messages (ingest), cases (inbox, memory, reports), running clocks (sla)
    /// or rules (routing).
    #[arg(long)]
    n: Option<usize>,
    /// ingest: routing rules in force during the load (each new case is tried against them).
    #[arg(long, default_value_t = 0)]
    rules: usize,
    /// PostgreSQL server; every run uses a fresh schema and drops it at the end.
    #[arg(long, env = "WEBCARE_BENCH_PG_URL", default_value = common::DEFAULT_PG_URL)]
    pg_url: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let report = match cli.suite {
        Suite::Ingest => {
            ingest::run(cli.db, &cli.pg_url, cli.quick, cli.via, cli.n, cli.rules).await?
        }
        Suite::Inbox => inbox::run(cli.db, &cli.pg_url, cli.quick, cli.n).await?,
        Suite::Sla => sla::run(cli.db, &cli.pg_url, cli.quick, cli.n).await?,
        Suite::Memory => memory::run(cli.db, &cli.pg_url, cli.quick, cli.n).await?,
        Suite::Routing => routing::run(cli.db, cli.quick, cli.n)?,
        Suite::Reports => reports::run(cli.db, &cli.pg_url, cli.quick, cli.n).await?,
    };
    report.print();
    Ok(())
}
