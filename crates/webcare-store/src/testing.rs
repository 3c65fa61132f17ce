//! Test databases for the contract suite and the end-to-end tests: a fresh SQLite file, or a fresh
//! PostgreSQL schema in the database named by `WEBCARE_TEST_PG_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`).
//!
//! PostgreSQL tests skip (with a message) when the server is unreachable, unless `CI` or
//! `WEBCARE_REQUIRE_PG` is set: then they fail, so CI cannot pass without testing PostgreSQL.

use std::path::PathBuf;

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Which backend a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A URL for a new, empty database of the given backend; `None` means "skip" (PostgreSQL not
/// reachable and not required).
pub async fn fresh_database_url(backend: Backend) -> Option<String> {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join("webcare-tests");
            std::fs::create_dir_all(&dir).expect("temp dir");
            let path: PathBuf = dir.join(format!("{}.db", uuid::Uuid::now_v7()));
            Some(format!("sqlite://{}", path.display()))
        }
        Backend::Postgres => {
            let base =
                std::env::var("WEBCARE_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.into());
            let required = std::env::var_os("CI").is_some()
                || std::env::var_os("WEBCARE_REQUIRE_PG").is_some();
            let schema = format!("wct_{}", uuid::Uuid::now_v7().simple());
            let created = async {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&base).await?;
                sqlx::query(&format!("CREATE SCHEMA {schema}"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            }
            .await;
            match created {
                Ok(()) => {
                    let sep = if base.contains('?') { '&' } else { '?' };
                    Some(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
                }
                Err(e) if required => {
                    panic!("PostgreSQL is required (CI or WEBCARE_REQUIRE_PG set) but unreachable at {base}: {e}")
                }
                Err(e) => {
                    eprintln!("skipping PostgreSQL test: {base} unreachable ({e}); set WEBCARE_REQUIRE_PG=1 to fail instead");
                    None
                }
            }
        }
    }
}
