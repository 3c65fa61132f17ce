//! SQLite backend: the embedded default. WAL with `synchronous=NORMAL` survives a process crash
//! (kill -9) without losing a committed transaction; only an OS crash or power loss can lose the
//! last commits, which is the documented trade for a single small-town desk. Every write goes
//! through one write connection (`wpool`), so the desk's writers queue in order in the pool;
//! writes start with `BEGIN IMMEDIATE`, so a writer in another process (the CLI) waits on the busy
//! timeout instead of failing on a lock upgrade.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::str::FromStr;
use std::time::Duration;

pub(crate) struct SqliteStore {
    /// Readers: WAL lets them run beside the writer.
    pub(crate) pool: SqlitePool,
    /// The one write connection. SQLite has a single writer anyway; queueing writers here, in
    /// order, instead of on the file lock avoids its busy handler, which sleeps in growing steps
    /// (up to 100 ms) and left writers waiting over a second under ingest load.
    pub(crate) wpool: SqlitePool,
    /// The same pools behind the dialect seam, with what every backend keeps.
    pub(crate) core: crate::db::Core,
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
            // Checkpoints run beside the writer (see `checkpoints`), not inside its commits.
            .pragma("wal_autocheckpoint", "0")
            // A restarted log is cut back to this size (bytes), so a burst does not leave a
            // log file of gigabytes behind.
            .pragma("journal_size_limit", "67108864")
            .pragma("temp_store", "memory");
        if let Some(dir) = sqlite_dir(url) {
            std::fs::create_dir_all(&dir).map_err(|e| {
                crate::StoreError::Config(format!("cannot create data folder {dir}: {e}"))
            })?;
        }
        let wpool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&wpool).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(opts.max_connections.max(2))
            .min_connections(1)
            .connect_with(options)
            .await?;
        tokio::spawn(checkpoints(pool.clone(), wpool.clone()));
        let db = crate::db::Db::Sqlite {
            read: pool.clone(),
            write: wpool.clone(),
        };
        Ok(Self {
            core: crate::db::Core::new(db, opts),
            pool,
            wpool,
        })
    }
}

/// Log frames (pages) after which the log is made to restart: 32 MB of 4 KB pages. (At 256 MB
/// the writer's pauses grew with the log: ingest ack p99 469 ms against 230 ms at 32 MB.)
const RESTART_FRAMES: i64 = 8192;

/// Copies the write-ahead log back into the database once a second. SQLite's automatic
/// checkpoint runs inside the commit that crosses 1,000 pages, so the one writer (and every
/// request waiting on it) stalls for the copy and its fsync; a passive checkpoint from a reader
/// connection never blocks the writer.
///
/// But under a steady stream of writes a reader's checkpoint never catches up with the last
/// frame, and the log only starts over from its beginning once every frame is copied: it grew to
/// 2 GB in a 60,000-message ingest run, each commit writing to fresh file pages. So when the log
/// is long, a second passive checkpoint runs on the write connection, between two write
/// transactions: it copies only what came in since the first, and the next write then restarts
/// the log. Ends when the store is closed.
async fn checkpoints(pool: SqlitePool, wpool: SqlitePool) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if pool.is_closed() {
            break;
        }
        let run = async {
            let (_busy, log, _copied): (i64, i64, i64) =
                sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                    .fetch_one(&pool)
                    .await?;
            if log >= RESTART_FRAMES {
                sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&wpool)
                    .await?;
            }
            Ok::<_, sqlx::Error>(())
        };
        if let Err(e) = run.await {
            if pool.is_closed() {
                break;
            }
            tracing::warn!(error = %e, "SQLite checkpoint failed");
        }
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

impl crate::db::SqlCore for SqliteStore {
    fn core(&self) -> &crate::db::Core {
        &self.core
    }
}

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
        self.wpool.close().await;
    }

    fn pool_stats(&self) -> crate::PoolStats {
        crate::PoolStats {
            open: self.pool.size() + self.wpool.size(),
            idle: (self.pool.num_idle() + self.wpool.num_idle()) as u32,
        }
    }

    async fn backup_to(&self, to: &std::path::Path) -> crate::Result<()> {
        backup(&self.pool, to).await
    }
}

/// `VACUUM INTO` a file next to `to`, then synced and renamed into place: a consistent snapshot
/// (one read transaction, so the writer goes on meanwhile), compacted, and never a half-written
/// file under the backup's name, even if the machine stops halfway.
async fn backup(pool: &SqlitePool, to: &std::path::Path) -> crate::Result<()> {
    use crate::StoreError;
    if to.exists() {
        return Err(StoreError::Config(format!(
            "{} exists already; a backup never overwrites a file",
            to.display()
        )));
    }
    let partial = to.with_file_name(format!(
        ".{}.partial",
        to.file_name()
            .map_or("backup".into(), |n| n.to_string_lossy())
    ));
    let io = |e: std::io::Error| StoreError::Config(format!("writing the backup: {e}"));
    if partial.exists() {
        std::fs::remove_file(&partial).map_err(io)?;
    }
    sqlx::query("VACUUM INTO $1")
        .bind(partial.to_string_lossy().into_owned())
        .execute(pool)
        .await?;
    // SQLite writes the copy without syncing it.
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    std::fs::rename(&partial, to).map_err(io)?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    Ok(())
}
