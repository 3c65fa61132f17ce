//! Platform actions (issue 15): a citizen's public comment hidden on the platform, the desk's own
//! public reply deleted. Durable jobs with the job tables' life cycle ([`crate::jobs`]), sent by
//! the platform-action worker (`webcare-workers/src/platform_actions.rs`).

use crate::db::{query, SqlCore};
use crate::jobs;
use crate::time::{from_ms, to_ms};
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use uuid::Uuid;

/// What the platform is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PlatformActionKind {
    Hide,
    Delete,
}

impl PlatformActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PlatformActionKind::Hide => "hide",
            PlatformActionKind::Delete => "delete",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "hide" => Ok(PlatformActionKind::Hide),
            "delete" => Ok(PlatformActionKind::Delete),
            other => Err(StoreError::Corrupt(format!("platform action kind {other}"))),
        }
    }
}

/// One action, as queued.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PlatformActionRecord {
    pub id: Uuid,
    pub case_id: Uuid,
    pub message_id: Option<Uuid>,
    #[serde(skip)]
    pub channel_account_id: Uuid,
    pub kind: PlatformActionKind,
    /// The comment or post on the platform.
    pub platform_id: String,
    /// `pending`, `done` or `failed`.
    pub state: String,
    pub attempts: i64,
    /// Why the last attempt did not succeed.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An action to queue.
#[derive(Debug, Clone)]
pub struct NewPlatformAction {
    pub case_id: Uuid,
    pub message_id: Option<Uuid>,
    pub channel_account_id: Uuid,
    pub kind: PlatformActionKind,
    pub platform_id: String,
    /// The principal's id, for the record.
    pub requested_by: String,
}

#[async_trait]
pub trait PlatformActions: Send + Sync {
    /// Queues the action, or answers the one already pending or done for the same object.
    async fn queue_platform_action(&self, a: NewPlatformAction) -> Result<PlatformActionRecord>;
    async fn case_platform_actions(&self, case_id: Uuid) -> Result<Vec<PlatformActionRecord>>;
    async fn claim_platform_actions(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<PlatformActionRecord>>;
    async fn platform_action_done(&self, id: Uuid) -> Result<()>;
    async fn platform_action_retry(
        &self,
        id: Uuid,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<()>;
    async fn platform_action_failed(&self, id: Uuid, reason: &str) -> Result<()>;
}

const COLS: &str = "id, case_id, message_id, channel_account_id, kind, platform_id, state, \
    attempts, last_error, created_at, updated_at";

type Row = (
    Uuid,
    Uuid,
    Option<Uuid>,
    Uuid,
    String,
    String,
    String,
    i64,
    Option<String>,
    i64,
    i64,
);

fn record(r: Row) -> Result<PlatformActionRecord> {
    Ok(PlatformActionRecord {
        id: r.0,
        case_id: r.1,
        message_id: r.2,
        channel_account_id: r.3,
        kind: PlatformActionKind::parse(&r.4)?,
        platform_id: r.5,
        state: r.6,
        attempts: r.7,
        last_error: r.8,
        created_at: from_ms(r.9),
        updated_at: from_ms(r.10),
    })
}

const TABLE: &str = "platform_actions";

#[async_trait]
impl<S: SqlCore> PlatformActions for S {
    async fn queue_platform_action(&self, a: NewPlatformAction) -> Result<PlatformActionRecord> {
        let now = to_ms(Utc::now());
        query(
            "INSERT INTO platform_actions (id, case_id, message_id, channel_account_id, kind, \
             platform_id, next_attempt_at, requested_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7, $7) ON CONFLICT DO NOTHING",
        )
        .bind(Uuid::now_v7())
        .bind(a.case_id)
        .bind(a.message_id)
        .bind(a.channel_account_id)
        .bind(a.kind.as_str())
        .bind(a.platform_id.as_str())
        .bind(now)
        .bind(a.requested_by.as_str())
        .execute(self.db().write())
        .await?;
        let row: Row = query(format!(
            "SELECT {COLS} FROM platform_actions WHERE channel_account_id = $1 AND platform_id = $2 \
             AND kind = $3 AND state <> 'failed'"
        ))
        .bind(a.channel_account_id)
        .bind(a.platform_id.as_str())
        .bind(a.kind.as_str())
        .fetch_one(self.db().write())
        .await?;
        record(row)
    }

    async fn case_platform_actions(&self, case_id: Uuid) -> Result<Vec<PlatformActionRecord>> {
        let rows: Vec<Row> = query(format!(
            "SELECT {COLS} FROM platform_actions WHERE case_id = $1 ORDER BY id"
        ))
        .bind(case_id)
        .fetch_all(self.db().read())
        .await?;
        rows.into_iter().map(record).collect()
    }

    async fn claim_platform_actions(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<PlatformActionRecord>> {
        let rows: Vec<Row> = jobs::claim(self.db(), TABLE, COLS, "", now, lease, limit).await?;
        rows.into_iter().map(record).collect()
    }

    async fn platform_action_done(&self, id: Uuid) -> Result<()> {
        jobs::finish(self.db().write(), TABLE, id, None, Utc::now()).await
    }

    async fn platform_action_retry(
        &self,
        id: Uuid,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<()> {
        jobs::retry(self, TABLE, id, error, next_attempt_at).await
    }

    async fn platform_action_failed(&self, id: Uuid, reason: &str) -> Result<()> {
        jobs::finish(self.db().write(), TABLE, id, Some(reason), Utc::now()).await
    }
}
