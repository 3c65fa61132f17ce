//! webcare-bench: measures the desk against the floor of its own database in the same run.
//!
//! `cargo run --release -p webcare-bench -- <ingest|inbox|sla|memory|routing|reports|retention> --db sqlite|postgres [--quick]`
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
mod retention;
mod routing;
mod sla;
mod themes;
mod workload;

use clap::{Parser, ValueEnum};
use common::{webcare_binary, BenchDb, Db, Report};
use inbox::CaseRun;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Suite {
    Ingest,
    Inbox,
    Sla,
    Memory,
    Routing,
    Reports,
    Retention,
    Themes,
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
        Suite::Inbox => over_cases(&cli, "inbox", inbox::default_cases, inbox::run).await?,
        Suite::Sla => sla::run(cli.db, &cli.pg_url, cli.quick, cli.n).await?,
        Suite::Memory => over_cases(&cli, "memory", inbox::default_cases, memory::run).await?,
        Suite::Routing => routing::run(cli.db, cli.quick, cli.n)?,
        Suite::Themes => themes::run(cli.db, cli.quick, cli.n)?,
        Suite::Reports => over_cases(&cli, "reports", reports::default_cases, reports::run).await?,
        Suite::Retention => {
            over_cases(&cli, "retention", retention::default_cases, retention::run).await?
        }
    };
    report.print();
    report.check()
}

/// Runs a suite over seeded cases (`--n`, or `default` by `--quick`) in a fresh database, dropped
/// afterwards whatever the outcome.
async fn over_cases(
    cli: &Cli,
    name: &'static str,
    default: fn(bool) -> usize,
    suite: impl AsyncFnOnce(&CaseRun, &mut Report) -> anyhow::Result<()>,
) -> anyhow::Result<Report> {
    let mut report = Report::new(name, cli.db);
    let n = cli.n.unwrap_or(default(cli.quick));
    let bin = webcare_binary()?;
    let bdb = BenchDb::fresh(cli.db, &cli.pg_url).await?;
    let run = CaseRun {
        bdb,
        bin,
        n,
        quick: cli.quick,
    };
    let r = suite(&run, &mut report).await;
    run.bdb.drop_db().await;
    r?;
    Ok(report)
}
