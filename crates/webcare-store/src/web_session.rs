//! The web app's local sign-in: password hashes (argon2id PHC strings, hashed and checked by the
//! caller; the store only keeps them) and browser sessions, stored by the SHA-256 of their id.

use crate::db::{query, SqlCore};
use crate::time::to_ms;
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A browser session as stored.
#[derive(Debug, Clone)]
pub struct WebSessionRecord {
    pub id_hash: String,
    pub user_id: Uuid,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

#[async_trait]
pub trait WebSessions: Send + Sync {
    /// Sets (or replaces) a user's password hash and ends the user's sessions, so a changed
    /// password signs out every browser that knew the old one.
    async fn set_password_hash(&self, user_id: Uuid, hash: &str) -> Result<()>;
    async fn password_hash(&self, user_id: Uuid) -> Result<Option<String>>;
    async fn create_web_session(&self, s: WebSessionRecord) -> Result<()>;
    /// The session with this id hash, if it has not expired at `now`.
    async fn find_web_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<WebSessionRecord>>;
    /// Records a use (sliding expiry): `last_seen_at = now`, `expires_at` moved to `expires_at`.
    async fn touch_web_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    async fn delete_web_session(&self, id_hash: &str) -> Result<()>;
    /// Removes sessions that expired before `now`; answers how many.
    async fn sweep_web_sessions(&self, now: DateTime<Utc>) -> Result<u64>;
}

#[derive(sqlx::FromRow)]
pub(crate) struct WebSessionRow {
    pub id_hash: String,
    pub user_id: Uuid,
    pub csrf_token: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_seen_at: i64,
}

impl From<WebSessionRow> for WebSessionRecord {
    fn from(r: WebSessionRow) -> Self {
        use crate::time::from_ms;
        WebSessionRecord {
            id_hash: r.id_hash,
            user_id: r.user_id,
            csrf_token: r.csrf_token,
            created_at: from_ms(r.created_at),
            expires_at: from_ms(r.expires_at),
            last_seen_at: from_ms(r.last_seen_at),
        }
    }
}

const COLS: &str = "id_hash, user_id, csrf_token, created_at, expires_at, last_seen_at";

#[async_trait]
impl<S: SqlCore> WebSessions for S {
    async fn set_password_hash(&self, user_id: Uuid, hash: &str) -> Result<()> {
        let mut tx = self.db().begin().await?;
        query(
            "INSERT INTO user_passwords (user_id, hash, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, \
             updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(hash)
        .bind(to_ms(Utc::now()))
        .execute(&mut tx)
        .await?;
        query("DELETE FROM web_sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut tx)
            .await?;
        tx.commit().await
    }

    async fn password_hash(&self, user_id: Uuid) -> Result<Option<String>> {
        query("SELECT hash FROM user_passwords WHERE user_id = $1")
            .bind(user_id)
            .scalar_optional(self.db().read())
            .await
    }

    async fn create_web_session(&self, s: WebSessionRecord) -> Result<()> {
        query(format!(
            "INSERT INTO web_sessions ({COLS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(s.id_hash)
        .bind(s.user_id)
        .bind(s.csrf_token)
        .bind(to_ms(s.created_at))
        .bind(to_ms(s.expires_at))
        .bind(to_ms(s.last_seen_at))
        .execute(self.db().write())
        .await?;
        Ok(())
    }

    async fn find_web_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<WebSessionRecord>> {
        let row: Option<WebSessionRow> = query(format!(
            "SELECT {COLS} FROM web_sessions WHERE id_hash = $1 AND expires_at > $2"
        ))
        .bind(id_hash)
        .bind(to_ms(now))
        .fetch_optional(self.db().read())
        .await?;
        Ok(row.map(Into::into))
    }

    async fn touch_web_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        query("UPDATE web_sessions SET last_seen_at = $2, expires_at = $3 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(to_ms(now))
            .bind(to_ms(expires_at))
            .execute(self.db().write())
            .await?;
        Ok(())
    }

    async fn delete_web_session(&self, id_hash: &str) -> Result<()> {
        query("DELETE FROM web_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(self.db().write())
            .await?;
        Ok(())
    }

    async fn sweep_web_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        query("DELETE FROM web_sessions WHERE expires_at <= $1")
            .bind(to_ms(now))
            .execute(self.db().write())
            .await
    }
}
