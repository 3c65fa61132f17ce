//! SQLite backend: the embedded default. WAL with `synchronous=NORMAL` survives a process crash
//! (kill -9) without losing a committed transaction; only an OS crash or power loss can lose the
//! last commits, which is the documented trade for a single small-town desk. Writes start with
//! `BEGIN IMMEDIATE` so two writers queue on the busy timeout instead of failing on a lock upgrade.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

pub(crate) struct SqliteStore {
    pub(crate) pool: SqlitePool,
    pub(crate) reopen_window: chrono::Duration,
    pub(crate) sla: crate::sla::SlaState,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

impl SqliteStore {
    pub(crate) async fn connect(url: &str, opts: &crate::ConnectOptions) -> crate::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory");
        if let Some(dir) = sqlite_dir(url) {
            std::fs::create_dir_all(&dir).map_err(|e| {
                crate::StoreError::Config(format!("cannot create data folder {dir}: {e}"))
            })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(opts.max_connections.max(2))
            .min_connections(1)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            reopen_window: opts.reopen_window,
            sla: Default::default(),
        })
    }

    pub(crate) async fn begin_write(&self) -> crate::Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// The folder of a file-backed SQLite URL, so the default `./data` is created on first start.
fn sqlite_dir(url: &str) -> Option<String> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next()?;
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    let parent = std::path::Path::new(path).parent()?;
    let s = parent.to_string_lossy().to_string();
    (!s.is_empty()).then_some(s)
}

crate::sql::impl_sql_store!(SqliteStore, Sqlite);
crate::sla::impl_sla_store!(SqliteStore, Sqlite);
crate::connectors::impl_connectors_store!(SqliteStore, Sqlite, "");
crate::agent::impl_agent_store!(SqliteStore, Sqlite);

#[async_trait::async_trait]
impl crate::Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ready(&self) -> crate::Result<()> {
        crate::sql::check_migrations(&self.pool, &MIGRATOR).await
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
