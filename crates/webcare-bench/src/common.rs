//! What every suite shares: a fresh database per run (a temp SQLite file, or a fresh PostgreSQL
//! schema dropped at the end), the real `webcare serve` as a child process, percentiles, and the
//! report (a readable table, then one JSON line).

use anyhow::{anyhow, bail, Context};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The bootstrap admin token the bench gives the server (at least 24 characters).
pub const ADMIN_TOKEN: &str = "webcare-bench-admin-token-0123456789";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    pub fn as_str(self) -> &'static str {
        match self {
            Db::Sqlite => "sqlite",
            Db::Postgres => "postgres",
        }
    }
}

/// A database that exists for one run.
pub struct BenchDb {
    pub db: Db,
    pub url: String,
    base_pg_url: String,
    schema: Option<String>,
    dir: Option<PathBuf>,
}

impl BenchDb {
    pub async fn fresh(db: Db, pg_url: &str) -> anyhow::Result<BenchDb> {
        let id = uuid::Uuid::now_v7().simple().to_string();
        match db {
            Db::Sqlite => {
                let dir = std::env::temp_dir().join(format!("webcare-bench-{id}"));
                std::fs::create_dir_all(&dir)?;
                let url = format!("sqlite://{}", dir.join("webcare.db").display());
                Ok(BenchDb {
                    db,
                    url,
                    base_pg_url: String::new(),
                    schema: None,
                    dir: Some(dir),
                })
            }
            Db::Postgres => {
                use sqlx::Connection;
                let schema = format!("bench_{id}");
                let mut conn = sqlx::PgConnection::connect(pg_url)
                    .await
                    .with_context(|| format!("PostgreSQL unreachable at {pg_url}"))?;
                sqlx::query(&format!("CREATE SCHEMA {schema}"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await?;
                let sep = if pg_url.contains('?') { '&' } else { '?' };
                Ok(BenchDb {
                    db,
                    url: format!("{pg_url}{sep}options=-c%20search_path%3D{schema}"),
                    base_pg_url: pg_url.to_owned(),
                    schema: Some(schema),
                    dir: None,
                })
            }
        }
    }

    /// Runs the desk's migrations (through the store, as the server does) and closes again.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let store = webcare_store::connect(&self.url, Default::default()).await?;
        store.close().await;
        Ok(())
    }

    /// A pool of the bench's own, for seeding, counting and floors.
    pub async fn pool(&self, max: u32) -> anyhow::Result<Pool> {
        use std::str::FromStr;
        Ok(match self.db {
            Db::Sqlite => {
                use sqlx::sqlite::*;
                // The same settings as the desk's store, so the floor is measured on equal terms.
                let opts = SqliteConnectOptions::from_str(&self.url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(30))
                    .foreign_keys(true)
                    .pragma("cache_size", "-65536")
                    .pragma("temp_store", "memory");
                Pool::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(max)
                        .connect_with(opts)
                        .await?,
                )
            }
            Db::Postgres => {
                use sqlx::postgres::*;
                Pool::Pg(
                    PgPoolOptions::new()
                        .max_connections(max)
                        .connect_with(PgConnectOptions::from_str(&self.url)?)
                        .await?,
                )
            }
        })
    }

    /// Removes the database: the schema (PostgreSQL) or the temp folder (SQLite).
    pub async fn drop_db(self) {
        // For looking at plans and table sizes after a run.
        if std::env::var_os("WEBCARE_BENCH_KEEP_DB").is_some() {
            eprintln!(
                "keeping the database: schema {:?}, folder {:?}",
                self.schema, self.dir
            );
            return;
        }
        if let Some(schema) = &self.schema {
            use sqlx::Connection;
            match sqlx::PgConnection::connect(&self.base_pg_url).await {
                Ok(mut conn) => {
                    if let Err(e) = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                        .execute(&mut conn)
                        .await
                    {
                        eprintln!("warning: could not drop schema {schema}: {e}");
                    }
                    let _ = conn.close().await;
                }
                Err(e) => eprintln!("warning: could not drop schema {schema}: {e}"),
            }
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub enum Pool {
    Sqlite(sqlx::SqlitePool),
    Pg(sqlx::PgPool),
}

impl Pool {
    pub async fn count(&self, sql: &str) -> anyhow::Result<i64> {
        Ok(match self {
            Pool::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await?,
            Pool::Pg(p) => sqlx::query_scalar(sql).fetch_one(p).await?,
        })
    }

    pub async fn exec(&self, sql: &str) -> anyhow::Result<()> {
        match self {
            Pool::Sqlite(p) => {
                sqlx::raw_sql(sql).execute(p).await?;
            }
            Pool::Pg(p) => {
                sqlx::raw_sql(sql).execute(p).await?;
            }
        }
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Pg(p) => p.close().await,
        }
    }
}

/// The `webcare` binary: `WEBCARE_BIN`, else built with `cargo build --release -p webcare` into
/// the bench's own target folder (a no-op when it is up to date) and taken from there.
pub fn webcare_binary() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("WEBCARE_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .ok_or_else(|| anyhow!("bench executable has no folder"))?;
    let bin = dir.join("webcare");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("building the server: {cargo} build --release -p webcare");
    let status = std::process::Command::new(&cargo)
        .args(["build", "--release", "-p", "webcare", "--quiet"])
        .status()
        .context("running cargo build for the webcare binary")?;
    if !status.success() {
        bail!("cargo build --release -p webcare failed");
    }
    if !bin.exists() {
        bail!(
            "{} not found after the build; set WEBCARE_BIN to the webcare binary",
            bin.display()
        );
    }
    Ok(bin)
}

/// A running `webcare serve` child process.
pub struct Server {
    child: Child,
    pub base: String,
    pub pid: u32,
}

impl Server {
    /// Starts `webcare serve` on a random port and waits for its "listening" line. Request logs
    /// go to stderr at `warn` (`WEBCARE_BENCH_SERVER_LOG` overrides the filter).
    pub async fn start(
        bin: &PathBuf,
        db_url: &str,
        extra_env: &[(&str, &str)],
    ) -> anyhow::Result<Server> {
        let log = std::env::var("WEBCARE_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into());
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .env("WEBCARE_DATABASE_URL", db_url)
            .env("WEBCARE_BIND", "127.0.0.1:0")
            .env("WEBCARE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", log)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id().ok_or_else(|| anyhow!("server exited at once"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = tokio::time::timeout(Duration::from_secs(120), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(addr) = line.strip_prefix("webcare listening on ") {
                    return Ok::<_, anyhow::Error>(addr.trim().to_owned());
                }
            }
            bail!("webcare serve ended before it listened")
        })
        .await
        .context("webcare serve did not start within 120 s")??;
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server { child, base, pid })
    }

    /// SIGTERM (graceful: drains in-flight work), then SIGKILL after 20 s.
    pub async fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        if tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// An HTTP client for the load generator: a large connection pool, no proxies.
pub fn http_client(max_conns: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(max_conns)
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()?)
}

/// Creates a channel account through the admin API; returns its id.
pub async fn create_account(
    client: &reqwest::Client,
    base: &str,
    body: serde_json::Value,
) -> anyhow::Result<uuid::Uuid> {
    let res = client
        .post(format!("{base}/api/v1/channel-accounts"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await?;
    let status = res.status();
    let v: serde_json::Value = res.json().await?;
    if !status.is_success() {
        bail!("creating a channel account answered {status}: {v}");
    }
    let id = v["id"]
        .as_str()
        .ok_or_else(|| anyhow!("channel account without id: {v}"))?;
    Ok(id.parse()?)
}

/// Resident memory of a process, from /proc: (VmRSS, VmHWM) in MiB.
pub fn rss_mb(pid: u32) -> Option<(f64, f64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = s.lines().find(|l| l.starts_with(name))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Percentile (0..=100) of durations, in milliseconds.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// Rounds a figure for the JSON line (3 significant decimals are plenty for timings).
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// A suite's result: table rows for people, metrics for machines.
pub struct Report {
    suite: &'static str,
    db: Db,
    rows: Vec<(String, String, String)>,
    notes: Vec<String>,
    metrics: BTreeMap<String, f64>,
    /// Metrics that must be 0 and were not: the run fails after printing.
    failures: Vec<String>,
}

impl Report {
    pub fn new(suite: &'static str, db: Db) -> Self {
        Report {
            suite,
            db,
            rows: Vec::new(),
            notes: Vec::new(),
            metrics: BTreeMap::new(),
            failures: Vec::new(),
        }
    }

    /// A metric that must be 0 (a count of wrong or lost results): any other value fails the run
    /// ([`Report::check`]) after the report is printed, so CI catches it.
    pub fn must_be_zero(&mut self, name: &str, value: f64, remark: impl Into<String>) {
        if value != 0.0 {
            self.failures.push(format!("{name} is {value}, must be 0"));
        }
        self.metric(name, value, remark);
    }

    /// An error naming every metric that must be 0 and was not.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.failures.is_empty() {
            Ok(())
        } else {
            anyhow::bail!(
                "{} on {}: {}",
                self.suite,
                self.db.as_str(),
                self.failures.join("; ")
            )
        }
    }

    /// A metric: in the table (with a target or remark) and in the JSON line.
    pub fn metric(&mut self, name: &str, value: f64, remark: impl Into<String>) {
        let shown = if (value.fract() == 0.0 && value.abs() < 1e15) || value.abs() >= 100.0 {
            format!("{value:.0}")
        } else {
            format!("{value:.3}")
        };
        self.rows.push((name.to_owned(), shown, remark.into()));
        self.metrics.insert(name.to_owned(), round3(value));
    }

    /// A table row that is not a metric (context, plans, skipped measurements).
    pub fn info(&mut self, name: &str, value: impl Into<String>, remark: impl Into<String>) {
        self.rows
            .push((name.to_owned(), value.into(), remark.into()));
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    pub fn print(&self) {
        let w0 = self
            .rows
            .iter()
            .map(|r| r.0.len())
            .max()
            .unwrap_or(6)
            .max(6);
        let w1 = self
            .rows
            .iter()
            .map(|r| r.1.len())
            .max()
            .unwrap_or(5)
            .max(5);
        println!();
        println!("== webcare-bench {} on {} ==", self.suite, self.db.as_str());
        println!("{:<w0$}  {:>w1$}  note", "metric", "value");
        println!("{}  {}  {}", "-".repeat(w0), "-".repeat(w1), "-".repeat(40));
        for (n, v, r) in &self.rows {
            println!("{n:<w0$}  {v:>w1$}  {r}");
        }
        for n in &self.notes {
            println!("* {n}");
        }
        // Keys in the documented order: suite, db, metrics.
        let json = format!(
            "{{\"suite\": {}, \"db\": {}, \"metrics\": {}}}",
            serde_json::Value::from(self.suite),
            serde_json::Value::from(self.db.as_str()),
            serde_json::to_string(&self.metrics).expect("metrics serialise"),
        );
        println!("{json}");
    }
}

/// One GET with the admin token, timed until the whole body is read; an answer other than 2xx is
/// an error that names it.
pub async fn timed_get(client: &reqwest::Client, url: &str) -> anyhow::Result<(Duration, Vec<u8>)> {
    let t = std::time::Instant::now();
    let res = client.get(url).bearer_auth(ADMIN_TOKEN).send().await?;
    let status = res.status();
    let body = res.bytes().await?;
    let el = t.elapsed();
    anyhow::ensure!(
        status.is_success(),
        "{url} answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok((el, body.to_vec()))
}
