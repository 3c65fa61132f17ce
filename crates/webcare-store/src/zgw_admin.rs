//! The `[zgw]` settings as the admin API stores them, and the desk's abonnement at Open
//! Notificaties (issue 14, migration 0025). Each is one row; the settings carry a version that
//! every node's settings cache compares with a cheap read, so a change reaches all nodes without
//! a restart.

use crate::db::{json, query, SqlCore};
use crate::time::{from_ms, to_ms};
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;

/// The stored settings (the whole `[zgw]` section, the secret included: the desk signs with it).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredZgwSettings {
    pub version: i64,
    pub settings: serde_json::Value,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

/// The desk's abonnement at Open Notificaties.
#[derive(Debug, Clone, PartialEq)]
pub struct ZgwAbonnement {
    /// The abonnement's URL at Open Notificaties.
    pub url: String,
    pub callback_url: String,
    pub notificaties_url: String,
    pub registered_at: DateTime<Utc>,
}

#[async_trait]
pub trait ZgwAdmin: Send + Sync {
    /// The stored settings' version; 0 when none are stored (the configuration file's apply).
    async fn zgw_settings_version(&self) -> Result<i64>;
    async fn zgw_settings(&self) -> Result<Option<StoredZgwSettings>>;
    /// Stores the settings as the next version; answers it. With `after` (the version the
    /// writer read, 0 for none stored) only when that is still the newest: `None` otherwise,
    /// and nothing stored.
    async fn put_zgw_settings(
        &self,
        settings: &serde_json::Value,
        by: &str,
        after: Option<i64>,
    ) -> Result<Option<i64>>;
    async fn zgw_abonnement(&self) -> Result<Option<ZgwAbonnement>>;
    async fn set_zgw_abonnement(&self, a: &ZgwAbonnement) -> Result<()>;
}

#[async_trait]
impl<S: SqlCore> ZgwAdmin for S {
    async fn zgw_settings_version(&self) -> Result<i64> {
        let v: Option<i64> = query("SELECT version FROM zgw_settings WHERE id = 1")
            .scalar_optional(self.db().read())
            .await?;
        Ok(v.unwrap_or(0))
    }

    async fn zgw_settings(&self) -> Result<Option<StoredZgwSettings>> {
        let row: Option<(Json<serde_json::Value>, i64, i64, String)> = query(
            "SELECT settings, version, updated_at, updated_by FROM zgw_settings WHERE id = 1",
        )
        .fetch_optional(self.db().read())
        .await?;
        Ok(row.map(|r| StoredZgwSettings {
            settings: r.0 .0,
            version: r.1,
            updated_at: from_ms(r.2),
            updated_by: r.3,
        }))
    }

    async fn put_zgw_settings(
        &self,
        settings: &serde_json::Value,
        by: &str,
        after: Option<i64>,
    ) -> Result<Option<i64>> {
        // One statement each: two admins saving at once get two versions (no check), or one
        // version and one refusal (each checking the version it read); never a lost update.
        let sql = match after {
            None => {
                "INSERT INTO zgw_settings (id, settings, version, updated_at, updated_by) \
                 VALUES (1, $1, 1, $2, $3) ON CONFLICT (id) DO UPDATE SET \
                 settings = excluded.settings, version = zgw_settings.version + 1, \
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by \
                 RETURNING version"
            }
            Some(0) => {
                "INSERT INTO zgw_settings (id, settings, version, updated_at, updated_by) \
                 VALUES (1, $1, 1, $2, $3) ON CONFLICT (id) DO NOTHING RETURNING version"
            }
            Some(_) => {
                "UPDATE zgw_settings SET settings = $1, version = version + 1, \
                 updated_at = $2, updated_by = $3 WHERE id = 1 AND version = $4 \
                 RETURNING version"
            }
        };
        let q = query(sql)
            .bind(json(settings))
            .bind(to_ms(Utc::now()))
            .bind(by);
        let q = match after {
            Some(v) if v > 0 => q.bind(v),
            _ => q,
        };
        q.scalar_optional(self.db().write()).await
    }

    async fn zgw_abonnement(&self) -> Result<Option<ZgwAbonnement>> {
        let row: Option<(String, String, String, i64)> = query(
            "SELECT url, callback_url, notificaties_url, registered_at FROM zgw_abonnement WHERE id = 1",
        )
        .fetch_optional(self.db().read())
        .await?;
        Ok(row.map(|r| ZgwAbonnement {
            url: r.0,
            callback_url: r.1,
            notificaties_url: r.2,
            registered_at: from_ms(r.3),
        }))
    }

    async fn set_zgw_abonnement(&self, a: &ZgwAbonnement) -> Result<()> {
        query(
            "INSERT INTO zgw_abonnement (id, url, callback_url, notificaties_url, registered_at) \
             VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET url = excluded.url, \
             callback_url = excluded.callback_url, notificaties_url = excluded.notificaties_url, \
             registered_at = excluded.registered_at",
        )
        .bind(a.url.as_str())
        .bind(a.callback_url.as_str())
        .bind(a.notificaties_url.as_str())
        .bind(to_ms(a.registered_at))
        .execute(self.db().write())
        .await?;
        Ok(())
    }
}
