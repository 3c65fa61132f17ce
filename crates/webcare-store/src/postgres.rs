//! PostgreSQL backend: for multi-node, multi-tenant desks. Constraints make concurrent nodes
//! safe; a commit is durable (`synchronous_commit` as the server has it) before we answer.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::time::Duration;

pub(crate) struct PgStore {
    pub(crate) pool: PgPool,
    /// The same pool behind the dialect seam, with what every backend keeps.
    pub(crate) core: crate::db::Core,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

impl PgStore {
    pub(crate) async fn connect(url: &str, opts: &crate::ConnectOptions) -> crate::Result<Self> {
        // JIT off: our statements are short OLTP lookups and writes. When the planner's estimate
        // crosses jit_above_cost (large IN lists, tables without fresh statistics) PostgreSQL
        // spends 10-20 ms compiling a statement that runs in under 1 ms (seen in EXPLAIN ANALYZE
        // of the SLA refresh during the ingest bench).
        let mut options = PgConnectOptions::from_str(url)?.options([("jit", "off")]);
        // "webcare" in pg_stat_activity, unless the URL names the node itself
        // (`?application_name=webcare-api-1`).
        if options.get_application_name().is_none() {
            options = options.application_name("webcare");
        }
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            core: crate::db::Core::new(crate::db::Db::Postgres(pool.clone()), opts),
            pool,
        })
    }
}

impl crate::db::SqlCore for PgStore {
    fn core(&self) -> &crate::db::Core {
        &self.core
    }
}

#[async_trait::async_trait]
impl crate::Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ready(&self) -> crate::Result<()> {
        crate::sql::check_migrations(&self.pool, &MIGRATOR).await
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    fn pool_stats(&self) -> crate::PoolStats {
        crate::PoolStats {
            open: self.pool.size(),
            idle: self.pool.num_idle() as u32,
        }
    }

    async fn backup_to(&self, _to: &std::path::Path) -> crate::Result<()> {
        // The server's own tools do this better than a client could: a consistent dump while
        // the desk runs (pg_dump) or continuous archiving for point-in-time recovery.
        Err(crate::StoreError::Config(
            "a PostgreSQL desk is backed up with PostgreSQL's tools: pg_dump --format=custom \
             (see deploy/README.md)"
                .into(),
        ))
    }
}
