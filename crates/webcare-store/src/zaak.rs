//! Zaak jobs (issue 14): every call the desk makes to the municipality's zaaksysteem is a durable
//! job, enqueued in the transaction of the case change that causes it and sent in order per case
//! by the zaak worker (`webcare-workers/src/zaak.rs`). A case has at most one live `create` (a
//! partial unique index), so two requests, or two nodes, never make two zaken.

use crate::agent_events::broadcast;
use crate::db::{json, query, Conn, SqlCore};
use crate::jobs;
use crate::time::{from_ms, to_ms};
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::types::Json;
use uuid::Uuid;

/// What a job does at the zaaksysteem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ZaakJobKind {
    /// Find the zaak by its identificatie or create it, with its first status.
    Create,
    /// A status (e.g. "in behandeling" on a forward).
    Status,
    /// A rol for the department a case was forwarded to.
    Rol,
    /// The resultaat, then the eindstatus.
    Close,
}

impl ZaakJobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ZaakJobKind::Create => "create",
            ZaakJobKind::Status => "status",
            ZaakJobKind::Rol => "rol",
            ZaakJobKind::Close => "close",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "create" => ZaakJobKind::Create,
            "status" => ZaakJobKind::Status,
            "rol" => ZaakJobKind::Rol,
            "close" => ZaakJobKind::Close,
            other => return Err(StoreError::Corrupt(format!("zaak job kind {other}"))),
        })
    }
}

/// A job to enqueue: its kind and what the worker needs besides the case.
#[derive(Debug, Clone, PartialEq)]
pub struct NewZaakJob {
    pub kind: ZaakJobKind,
    pub payload: serde_json::Value,
}

// The API shows it as it is, but for what only the worker needs.
/// One call to the zaaksysteem.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ZaakJob {
    pub id: Uuid,
    #[serde(skip)]
    pub case_id: Uuid,
    pub kind: ZaakJobKind,
    #[serde(skip)]
    pub payload: serde_json::Value,
    /// `pending`, `done` or `failed`.
    pub state: String,
    pub attempts: i64,
    #[serde(skip)]
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt did not succeed (for `failed`: Open Zaak's refusal).
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A case's zaak.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Zaak))]
#[serde(rename_all = "camelCase")]
pub struct CaseZaak {
    /// The zaak's absolute URL in the Zaken API; null until it is created.
    #[serde(rename = "url")]
    pub zaak_url: Option<String>,
    /// The zaak's number (what `{{zaaknummer}}` shows); null until it is created.
    pub identificatie: Option<String>,
    /// Every call for this zaak, oldest first.
    pub jobs: Vec<ZaakJob>,
}

#[async_trait]
pub trait ZaakJobs: Send + Sync {
    /// Enqueues the case's `create`. [`StoreError::Conflict`] when the case already has a zaak
    /// or a create that has not failed.
    async fn enqueue_zaak_create(
        &self,
        case_id: Uuid,
        payload: serde_json::Value,
    ) -> Result<ZaakJob>;
    async fn case_zaak(&self, case_id: Uuid) -> Result<CaseZaak>;
    /// Leases up to `limit` due jobs, each the oldest unfinished job of its case.
    async fn claim_zaak_jobs(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ZaakJob>>;
    /// Records the zaak on the case and the create as done, with a `zaak.created` event; one
    /// transaction.
    async fn zaak_created(&self, job: &ZaakJob, zaak_url: &str, identificatie: &str) -> Result<()>;
    async fn zaak_job_done(&self, job_id: Uuid) -> Result<()>;
    /// Back to pending for another attempt at `next_attempt_at`.
    async fn zaak_job_retry(
        &self,
        job_id: Uuid,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<()>;
    /// Failed for good, with a `zaak.failed` event; one transaction.
    async fn zaak_job_failed(&self, job: &ZaakJob, reason: &str) -> Result<()>;
}

const COLS: &str =
    "id, case_id, kind, payload, state, attempts, next_attempt_at, last_error, created_at, updated_at";

type Row = (
    Uuid,
    Uuid,
    String,
    Json<serde_json::Value>,
    String,
    i64,
    i64,
    Option<String>,
    i64,
    i64,
);

fn job(r: Row) -> Result<ZaakJob> {
    Ok(ZaakJob {
        id: r.0,
        case_id: r.1,
        kind: ZaakJobKind::parse(&r.2)?,
        payload: r.3 .0,
        state: r.4,
        attempts: r.5,
        next_attempt_at: from_ms(r.6),
        last_error: r.7,
        created_at: from_ms(r.8),
        updated_at: from_ms(r.9),
    })
}

async fn insert(
    conn: &mut Conn<'_>,
    case_id: Uuid,
    j: &NewZaakJob,
    now: DateTime<Utc>,
) -> Result<Option<ZaakJob>> {
    let sql = format!(
        "INSERT INTO zaak_jobs (id, case_id, kind, payload, next_attempt_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5, $5) RETURNING {COLS}"
    );
    let row: Option<Row> = query(sql)
        .bind(Uuid::now_v7())
        .bind(case_id)
        .bind(j.kind.as_str())
        .bind(json(&j.payload))
        .bind(to_ms(now))
        .fetch_optional(&mut *conn)
        .await?;
    row.map(job).transpose()
}

/// The zaak calls a case change causes: a forward sets "in behandeling" and adds a rol for the
/// department; resolving closes the zaak (resultaat first, then the eindstatus).
/// [`enqueue_follow_ups`] enqueues them only for a case that has, or is getting, a zaak.
pub fn follow_ups(
    w: &crate::agent::CaseWrite,
    actor: &str,
    department_name: Option<&str>,
) -> Vec<NewZaakJob> {
    let mut jobs = Vec::new();
    if let Some(crate::agent::ForwardOp::Open { department_id, .. }) = &w.forward {
        let name = department_name.unwrap_or("afdeling");
        jobs.push(NewZaakJob {
            kind: ZaakJobKind::Status,
            payload: serde_json::json!({
                "statustype": "in_behandeling",
                "toelichting": format!("Doorgezet naar {name}"),
                "userId": actor,
            }),
        });
        jobs.push(NewZaakJob {
            kind: ZaakJobKind::Rol,
            payload: serde_json::json!({
                "departmentId": department_id, "departmentName": name, "userId": actor,
            }),
        });
    }
    let resolved = webcare_domain::CaseStatus::Resolved;
    if w.before.status != resolved && w.after.status == resolved {
        jobs.push(NewZaakJob {
            kind: ZaakJobKind::Close,
            payload: serde_json::json!({"toelichting": "Afgehandeld via webcare", "userId": actor}),
        });
    }
    jobs
}

/// A routing rule's "create zaak" for a new case, in the ingest transaction: the create job with
/// the rule's zaaktype (the worker sends it once a zaaksysteem is configured).
pub(crate) async fn enqueue_routed_create(
    conn: &mut Conn<'_>,
    case_id: Uuid,
    zaaktype: &str,
    rule: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let j = NewZaakJob {
        kind: ZaakJobKind::Create,
        payload: serde_json::json!({
            "zaaktype": zaaktype, "userId": crate::routing::ROUTING_ACTOR,
            "userName": format!("routeringsregel {rule}"),
        }),
    };
    insert(conn, case_id, &j, now).await?;
    Ok(())
}

/// Enqueues a case change's follow-up jobs (a status and a rol on a forward, the close on a
/// resolve) in the change's own transaction, but only for a case that has, or is getting, a
/// zaak: a case without one has nothing to update.
pub(crate) async fn enqueue_follow_ups(
    conn: &mut Conn<'_>,
    case_id: Uuid,
    jobs: &[NewZaakJob],
    now: DateTime<Utc>,
) -> Result<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    let live: i64 = query(
        "SELECT COUNT(*) FROM zaak_jobs WHERE case_id = $1 AND kind = 'create' AND state <> 'failed'",
    )
    .bind(case_id)
    .scalar(&mut *conn)
    .await?;
    if live == 0 {
        return Ok(());
    }
    for j in jobs {
        insert(conn, case_id, j, now).await?;
    }
    Ok(())
}

async fn mark_done(conn: &mut Conn<'_>, job_id: Uuid, now: DateTime<Utc>) -> Result<()> {
    jobs::finish(&mut *conn, "zaak_jobs", job_id, None, now).await
}

impl jobs::Job for ZaakJob {
    const TABLE: &'static str = "zaak_jobs";
    const FAILED: &'static str = "zaak.failed";
    fn about(&self) -> (Uuid, Uuid, serde_json::Value) {
        (self.id, self.case_id, serde_json::json!(self.kind))
    }
}

#[async_trait]
impl<S: SqlCore> ZaakJobs for S {
    async fn enqueue_zaak_create(
        &self,
        case_id: Uuid,
        payload: serde_json::Value,
    ) -> Result<ZaakJob> {
        let mut tx = self.db().begin().await?;
        let has_zaak: Option<Option<String>> = query("SELECT zaak_url FROM cases WHERE id = $1")
            .bind(case_id)
            .scalar_optional(&mut tx)
            .await?;
        match has_zaak {
            None => return Err(StoreError::NotFound(format!("case {case_id}"))),
            Some(Some(_)) => return Err(StoreError::Conflict("the case has a zaak".into())),
            Some(None) => {}
        }
        let new = NewZaakJob {
            kind: ZaakJobKind::Create,
            payload,
        };
        // The partial unique index refuses a second live create (also from another node).
        let j = insert(&mut tx.conn(), case_id, &new, Utc::now())
            .await
            .map_err(|e| e.conflict_if_unique("a zaak is being created for the case"))?
            .ok_or_else(|| StoreError::Corrupt("an inserted zaak job came back missing".into()))?;
        tx.commit().await?;
        Ok(j)
    }

    async fn case_zaak(&self, case_id: Uuid) -> Result<CaseZaak> {
        // The jobs first: a job read as done was recorded with its zaak, which the case row
        // read after it then shows (two autocommit reads are not one snapshot).
        let rows: Vec<Row> = query(format!(
            "SELECT {COLS} FROM zaak_jobs WHERE case_id = $1 ORDER BY id"
        ))
        .bind(case_id)
        .fetch_all(self.db().read())
        .await?;
        let zaak: Option<(Option<String>, Option<String>)> =
            query("SELECT zaak_url, zaak_identificatie FROM cases WHERE id = $1")
                .bind(case_id)
                .fetch_optional(self.db().read())
                .await?;
        let Some((zaak_url, identificatie)) = zaak else {
            return Err(StoreError::NotFound(format!("case {case_id}")));
        };
        Ok(CaseZaak {
            zaak_url,
            identificatie,
            jobs: rows.into_iter().map(job).collect::<Result<_>>()?,
        })
    }

    async fn claim_zaak_jobs(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ZaakJob>> {
        // The oldest unfinished job of each case only: a status waits for its create, the
        // eindstatus for the rol before it (a leased job is still pending).
        let oldest = "AND NOT EXISTS (SELECT 1 FROM zaak_jobs e WHERE e.case_id = j.case_id \
                      AND e.state = 'pending' AND e.id < j.id)";
        let rows: Vec<Row> =
            jobs::claim(self.db(), "zaak_jobs", COLS, oldest, now, lease, limit).await?;
        rows.into_iter().map(job).collect()
    }

    async fn zaak_created(&self, j: &ZaakJob, zaak_url: &str, identificatie: &str) -> Result<()> {
        let now = Utc::now();
        let mut tx = self.db().begin().await?;
        query(
            "UPDATE cases SET zaak_url = $2, zaak_identificatie = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(j.case_id)
        .bind(zaak_url)
        .bind(identificatie)
        .bind(to_ms(now))
        .execute(&mut tx)
        .await?;
        mark_done(&mut tx.conn(), j.id, now).await?;
        crate::klantcontact::enqueue_zaak_link(&mut tx.conn(), self.openklant(), j.case_id, now)
            .await?;
        let events = jobs::event_about(
            &mut tx.conn(),
            j.case_id,
            "zaak.created",
            serde_json::json!({"zaakUrl": zaak_url, "identificatie": identificatie}),
        )
        .await?;
        tx.commit().await?;
        broadcast(self.events(), &events);
        Ok(())
    }

    async fn zaak_job_done(&self, job_id: Uuid) -> Result<()> {
        let mut tx = self.db().begin().await?;
        mark_done(&mut tx.conn(), job_id, Utc::now()).await?;
        tx.commit().await
    }

    async fn zaak_job_retry(
        &self,
        job_id: Uuid,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<()> {
        jobs::retry(self, "zaak_jobs", job_id, error, next_attempt_at).await
    }

    async fn zaak_job_failed(&self, j: &ZaakJob, reason: &str) -> Result<()> {
        jobs::fail(self, j, reason).await
    }
}
