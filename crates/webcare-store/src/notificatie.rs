//! Notifications from the Notificaties API (issue 14): the callback records each one durably
//! (migration 0023) and the notificaties worker processes it, so a crash between the 204 and the
//! processing loses nothing. A retried delivery carries the same key and is recorded once.

use crate::db::{json, query, SqlCore};
use crate::jobs;
use crate::time::{from_ms, to_ms};
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sqlx::types::Json;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A notification as received (the Notificaties API 1.0 `Message`). Unknown fields are
/// tolerated: the publisher may add some (e.g. `source`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Notificatie))]
#[serde(rename_all = "camelCase")]
pub struct NewNotificatie {
    /// The kanaal, e.g. `zaken` (1 to 50 characters).
    pub kanaal: String,
    /// The URL of the main object, for `zaken` the zaak.
    pub hoofd_object: String,
    /// The resource it is about, e.g. `zaak` or `status` (1 to 100 characters).
    pub resource: String,
    /// Where the resource is: the desk fetches it.
    pub resource_url: String,
    /// What happened, e.g. `create` or `update` (1 to 100 characters).
    pub actie: String,
    pub aanmaakdatum: DateTime<Utc>,
    /// Key/value features of the notification (values 1 to 1000 characters).
    #[serde(default)]
    pub kenmerken: Option<BTreeMap<String, String>>,
}

impl NewNotificatie {
    /// What makes a delivery the same notification: Open Notificaties retries with the same
    /// message, so kanaal, resource URL, actie and time identify it (hashed: URLs can be long).
    pub fn dedup_key(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            self.kanaal.as_str(),
            self.resource_url.as_str(),
            self.actie.as_str(),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.update(self.aanmaakdatum.timestamp_micros().to_be_bytes());
        hex::encode(h.finalize())
    }

    /// The whole message, kept for processing and for reading back what came in.
    fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "kanaal": self.kanaal, "hoofdObject": self.hoofd_object, "resource": self.resource,
            "resourceUrl": self.resource_url, "actie": self.actie, "aanmaakdatum": self.aanmaakdatum,
            "kenmerken": self.kenmerken.clone().unwrap_or_default(),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notificatie {
    pub id: Uuid,
    pub kanaal: String,
    pub hoofd_object: String,
    pub resource: String,
    pub resource_url: String,
    pub actie: String,
    pub body: serde_json::Value,
    /// `pending`, `done` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub received_at: DateTime<Utc>,
}

#[async_trait]
pub trait Notificaties: Send + Sync {
    /// Records a notification; `false` when the same one was recorded before (nothing changes).
    async fn record_notificatie(&self, n: &NewNotificatie) -> Result<bool>;
    /// Leases up to `limit` due notifications, oldest first.
    async fn claim_notificaties(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Notificatie>>;
    async fn notificatie_done(&self, id: Uuid) -> Result<()>;
    async fn notificatie_retry(
        &self,
        id: Uuid,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<()>;
    async fn notificatie_failed(&self, id: Uuid, reason: &str) -> Result<()>;
    /// Every notification, oldest first (tests and support).
    async fn notificaties(&self) -> Result<Vec<Notificatie>>;
    /// The case whose zaak is at `zaak_url`.
    async fn case_by_zaak_url(&self, zaak_url: &str) -> Result<Option<Uuid>>;
}

const COLS: &str = "id, kanaal, hoofd_object, resource, resource_url, actie, body, state, attempts, last_error, received_at";

type Row = (
    Uuid,
    String,
    String,
    String,
    String,
    String,
    Json<serde_json::Value>,
    String,
    i64,
    Option<String>,
    i64,
);

fn row(r: Row) -> Notificatie {
    Notificatie {
        id: r.0,
        kanaal: r.1,
        hoofd_object: r.2,
        resource: r.3,
        resource_url: r.4,
        actie: r.5,
        body: r.6 .0,
        state: r.7,
        attempts: r.8,
        last_error: r.9,
        received_at: from_ms(r.10),
    }
}

#[async_trait]
impl<S: SqlCore> Notificaties for S {
    async fn record_notificatie(&self, n: &NewNotificatie) -> Result<bool> {
        let now = to_ms(Utc::now());
        // The unique key makes a concurrent retry (another node) a no-op too.
        let inserted = query(
            "INSERT INTO notificaties (id, dedup_key, kanaal, hoofd_object, resource, resource_url, actie, \
             body, next_attempt_at, received_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9) ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(Uuid::now_v7())
        .bind(n.dedup_key())
        .bind(n.kanaal.as_str())
        .bind(n.hoofd_object.as_str())
        .bind(n.resource.as_str())
        .bind(n.resource_url.as_str())
        .bind(n.actie.as_str())
        .bind(json(&n.body()))
        .bind(now)
        .execute(self.db().write())
        .await?;
        Ok(inserted == 1)
    }

    async fn claim_notificaties(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Notificatie>> {
        let rows: Vec<Row> =
            jobs::claim(self.db(), "notificaties", COLS, "", now, lease, limit).await?;
        Ok(rows.into_iter().map(row).collect())
    }

    async fn notificatie_done(&self, id: Uuid) -> Result<()> {
        jobs::finish(self.db().write(), "notificaties", id, None, Utc::now()).await
    }

    async fn notificatie_retry(
        &self,
        id: Uuid,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<()> {
        jobs::retry(self, "notificaties", id, error, next_attempt_at).await
    }

    async fn notificatie_failed(&self, id: Uuid, reason: &str) -> Result<()> {
        jobs::finish(
            self.db().write(),
            "notificaties",
            id,
            Some(reason),
            Utc::now(),
        )
        .await
    }

    async fn notificaties(&self) -> Result<Vec<Notificatie>> {
        let rows: Vec<Row> = query(format!("SELECT {COLS} FROM notificaties ORDER BY id"))
            .fetch_all(self.db().read())
            .await?;
        Ok(rows.into_iter().map(row).collect())
    }

    async fn case_by_zaak_url(&self, zaak_url: &str) -> Result<Option<Uuid>> {
        query("SELECT id FROM cases WHERE zaak_url = $1")
            .bind(zaak_url)
            .scalar_optional(self.db().read())
            .await
    }
}
