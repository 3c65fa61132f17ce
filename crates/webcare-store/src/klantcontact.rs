//! Open Klant jobs (issue 14): every message the desk stores, inbound or outbound, is registered
//! once as a klantcontact in the municipality's Open Klant, and a forward hands the question to
//! the department as an internetaak. Each is a durable job, enqueued in the transaction that
//! stores the message (ingest, a sent reply) or the forward, but only when Open Klant is
//! configured (`ConnectOptions::openklant`): a desk without it writes nothing. The Open Klant
//! worker (`webcare-workers/src/openklant.rs`) sends them in order per case.

use crate::db::{json, query, Arg, Conn, SqlCore};
use crate::jobs;
use crate::time::{from_ms, to_ms};
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::types::Json;
use uuid::Uuid;

/// What a job registers in Open Klant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum KlantcontactJobKind {
    /// A message as a klantcontact, with its betrokkene (the contact's partij) and, when the
    /// case has a zaak, an onderwerpobject.
    Klantcontact,
    /// A forward as an internetaak for the department's actor.
    Internetaak,
    /// The case's zaak, made after some of its messages were registered, as the onderwerpobject
    /// of those klantcontacten.
    Zaak,
}

impl KlantcontactJobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KlantcontactJobKind::Klantcontact => "klantcontact",
            KlantcontactJobKind::Internetaak => "internetaak",
            KlantcontactJobKind::Zaak => "zaak",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "klantcontact" => KlantcontactJobKind::Klantcontact,
            "internetaak" => KlantcontactJobKind::Internetaak,
            "zaak" => KlantcontactJobKind::Zaak,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "klantcontact job kind {other}"
                )))
            }
        })
    }
}

/// One registration in Open Klant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KlantcontactJob {
    pub id: Uuid,
    #[serde(skip)]
    pub case_id: Uuid,
    /// The message registered (for a `klantcontact`).
    pub message_id: Option<Uuid>,
    pub kind: KlantcontactJobKind,
    #[serde(skip)]
    pub payload: serde_json::Value,
    /// `pending`, `done` or `failed`.
    pub state: String,
    pub attempts: i64,
    #[serde(skip)]
    pub next_attempt_at: DateTime<Utc>,
    /// The klantcontact's URL in Open Klant, once made.
    pub klantcontact_url: Option<String>,
    /// The internetaak's URL in Open Klant, once made.
    pub internetaak_url: Option<String>,
    /// Why the last attempt did not succeed (for `failed`: Open Klant's refusal).
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[async_trait]
pub trait KlantcontactJobs: Send + Sync {
    /// Every registration of the case, oldest first.
    async fn case_klantcontact_jobs(&self, case_id: Uuid) -> Result<Vec<KlantcontactJob>>;
    /// Leases up to `limit` due jobs, each the oldest unfinished job of its case, and none of a
    /// case whose zaak is being created (its klantcontacten then link the zaak).
    async fn claim_klantcontact_jobs(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<KlantcontactJob>>;
    /// Records the klantcontact the job made, before its betrokkene and onderwerpobject: a
    /// retry goes on from it.
    async fn klantcontact_recorded(&self, job_id: Uuid, url: &str) -> Result<()>;
    /// Done; for an internetaak with its URL.
    async fn klantcontact_job_done(
        &self,
        job_id: Uuid,
        internetaak_url: Option<&str>,
    ) -> Result<()>;
    /// Back to pending for another attempt at `next_attempt_at`.
    async fn klantcontact_job_retry(
        &self,
        job_id: Uuid,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<()>;
    /// Failed for good, with a `klantcontact.failed` live event; one transaction.
    async fn klantcontact_job_failed(&self, job: &KlantcontactJob, reason: &str) -> Result<()>;
    /// The contact's partij in Open Klant, when one was made or found.
    async fn contact_partij(&self, contact_id: Uuid) -> Result<Option<String>>;
    /// Keeps the contact's partij (and ends a claim on making it).
    async fn set_contact_partij(&self, contact_id: Uuid, partij_url: &str) -> Result<()>;
    /// Claims making the contact's partij for the job `holder` until `until`: true when the
    /// contact has no partij and no other job holds an unexpired claim (the holder's own claim
    /// is renewed). Two nodes never both make one.
    async fn claim_contact_partij(
        &self,
        contact_id: Uuid,
        holder: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool>;
    /// The contact whose partij has this uuid (the last segment of the partij's URL).
    async fn contact_by_partij(&self, partij_uuid: Uuid) -> Result<Option<Uuid>>;
}

const COLS: &str = "id, case_id, message_id, kind, payload, state, attempts, next_attempt_at, \
    last_error, klantcontact_url, internetaak_url, created_at, updated_at";

type Row = (
    Uuid,
    Uuid,
    Option<Uuid>,
    String,
    Json<serde_json::Value>,
    String,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
);

fn job(r: Row) -> Result<KlantcontactJob> {
    Ok(KlantcontactJob {
        id: r.0,
        case_id: r.1,
        message_id: r.2,
        kind: KlantcontactJobKind::parse(&r.3)?,
        payload: r.4 .0,
        state: r.5,
        attempts: r.6,
        next_attempt_at: from_ms(r.7),
        last_error: r.8,
        klantcontact_url: r.9,
        internetaak_url: r.10,
        created_at: from_ms(r.11),
        updated_at: from_ms(r.12),
    })
}

/// Enqueues a klantcontact for each `(case, message)` just stored, in the caller's transaction.
/// A message already registered is skipped (the unique index; a repeated delivery stores no new
/// message anyway).
pub(crate) async fn enqueue_messages(
    conn: &mut Conn<'_>,
    messages: &[(Uuid, Uuid)],
    now: DateTime<Utc>,
) -> Result<()> {
    let now = to_ms(now);
    for chunk in messages.chunks(200) {
        let mut q = query(
            "INSERT INTO klantcontact_jobs (id, case_id, message_id, kind, payload, next_attempt_at, created_at, updated_at) ",
        );
        q.push_values(chunk.iter().map(|(case_id, message_id)| -> [Arg; 8] {
            [
                Uuid::now_v7().into(),
                (*case_id).into(),
                (*message_id).into(),
                "klantcontact".into(),
                json(&serde_json::json!({})),
                now.into(),
                now.into(),
                now.into(),
            ]
        }));
        q.push(" ON CONFLICT DO NOTHING");
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The internetaak of a case write's forward (to the department's actor, which the worker finds
/// by the department's name), in the forward's transaction, when Open Klant is on.
pub(crate) async fn enqueue_forward(
    conn: &mut Conn<'_>,
    on: bool,
    w: &crate::agent::CaseWrite,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(crate::agent::ForwardOp::Open { department_id, .. }) = &w.forward else {
        return Ok(());
    };
    if !on {
        return Ok(());
    }
    let now = to_ms(now);
    query(
        "INSERT INTO klantcontact_jobs (id, case_id, message_id, kind, payload, next_attempt_at, created_at, updated_at) \
         VALUES ($1, $2, NULL, 'internetaak', $3, $4, $4, $4)",
    )
    .bind(Uuid::now_v7())
    .bind(w.after.id)
    // The department only: the worker reads the question from the forward itself (which the
    // retention anonymises), so no personal data waits in the job.
    .bind(json(&serde_json::json!({"departmentId": department_id})))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// When Open Klant is on, links the case's new zaak to its klantcontacten registered before it,
/// in the transaction that records the zaak (messages registered after it link it themselves).
pub(crate) async fn enqueue_zaak_link(
    conn: &mut Conn<'_>,
    on: bool,
    case_id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    if !on {
        return Ok(());
    }
    let now = to_ms(now);
    query(
        "INSERT INTO klantcontact_jobs (id, case_id, message_id, kind, payload, next_attempt_at, created_at, updated_at) \
         VALUES ($1, $2, NULL, 'zaak', $3, $4, $4, $4)",
    )
    .bind(Uuid::now_v7())
    .bind(case_id)
    .bind(json(&serde_json::json!({})))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl jobs::Job for KlantcontactJob {
    const TABLE: &'static str = "klantcontact_jobs";
    const FAILED: &'static str = "klantcontact.failed";
    fn about(&self) -> (Uuid, Uuid, serde_json::Value) {
        (self.id, self.case_id, serde_json::json!(self.kind))
    }
}

#[async_trait]
impl<S: SqlCore> KlantcontactJobs for S {
    async fn case_klantcontact_jobs(&self, case_id: Uuid) -> Result<Vec<KlantcontactJob>> {
        let rows: Vec<Row> = query(format!(
            "SELECT {COLS} FROM klantcontact_jobs WHERE case_id = $1 ORDER BY id"
        ))
        .bind(case_id)
        .fetch_all(self.db().read())
        .await?;
        rows.into_iter().map(job).collect()
    }

    async fn claim_klantcontact_jobs(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<KlantcontactJob>> {
        // In order per case (an internetaak waits for the klantcontact it points at), and not
        // while the case's zaak is being created (the klantcontact then links it).
        let waiting =
            "AND NOT EXISTS (SELECT 1 FROM klantcontact_jobs e WHERE e.case_id = j.case_id \
                       AND e.state = 'pending' AND e.id < j.id) \
                       AND NOT EXISTS (SELECT 1 FROM zaak_jobs z WHERE z.case_id = j.case_id \
                       AND z.kind = 'create' AND z.state = 'pending')";
        let rows: Vec<Row> = jobs::claim(
            self.db(),
            "klantcontact_jobs",
            COLS,
            waiting,
            now,
            lease,
            limit,
        )
        .await?;
        rows.into_iter().map(job).collect()
    }

    async fn klantcontact_recorded(&self, job_id: Uuid, url: &str) -> Result<()> {
        query("UPDATE klantcontact_jobs SET klantcontact_url = $2, updated_at = $3 WHERE id = $1")
            .bind(job_id)
            .bind(url)
            .bind(to_ms(Utc::now()))
            .execute(self.db().write())
            .await?;
        Ok(())
    }

    async fn klantcontact_job_done(
        &self,
        job_id: Uuid,
        internetaak_url: Option<&str>,
    ) -> Result<()> {
        query(
            "UPDATE klantcontact_jobs SET state = 'done', lease_until = NULL, last_error = NULL, \
             internetaak_url = COALESCE($2, internetaak_url), updated_at = $3 WHERE id = $1",
        )
        .bind(job_id)
        .bind(internetaak_url)
        .bind(to_ms(Utc::now()))
        .execute(self.db().write())
        .await?;
        Ok(())
    }

    async fn klantcontact_job_retry(
        &self,
        job_id: Uuid,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<()> {
        jobs::retry(self, "klantcontact_jobs", job_id, error, next_attempt_at).await
    }

    async fn klantcontact_job_failed(&self, j: &KlantcontactJob, reason: &str) -> Result<()> {
        jobs::fail(self, j, reason).await
    }

    async fn contact_partij(&self, contact_id: Uuid) -> Result<Option<String>> {
        let url: Option<Option<String>> = query("SELECT partij_url FROM contacts WHERE id = $1")
            .bind(contact_id)
            .scalar_optional(self.db().read())
            .await?;
        Ok(url.flatten())
    }

    async fn set_contact_partij(&self, contact_id: Uuid, partij_url: &str) -> Result<()> {
        query(
            "UPDATE contacts SET partij_url = $2, partij_claimed_by = NULL, \
             partij_claim_until = NULL WHERE id = $1",
        )
        .bind(contact_id)
        .bind(partij_url)
        .execute(self.db().write())
        .await?;
        Ok(())
    }

    async fn claim_contact_partij(
        &self,
        contact_id: Uuid,
        holder: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        // One conditional UPDATE: the database decides between two nodes.
        let n = query(
            "UPDATE contacts SET partij_claimed_by = $2, partij_claim_until = $4 \
             WHERE id = $1 AND partij_url IS NULL AND (partij_claimed_by IS NULL \
             OR partij_claimed_by = $2 OR partij_claim_until < $3)",
        )
        .bind(contact_id)
        .bind(holder)
        .bind(to_ms(now))
        .bind(to_ms(until))
        .execute(self.db().write())
        .await?;
        Ok(n == 1)
    }

    async fn contact_by_partij(&self, partij_uuid: Uuid) -> Result<Option<Uuid>> {
        // A uuid has no LIKE wildcards; the URL's host may differ from the one the desk used.
        let id: Option<Uuid> =
            query("SELECT id FROM contacts WHERE partij_url LIKE $1 ORDER BY id LIMIT 1")
                .bind(format!("%/{}", partij_uuid.hyphenated()))
                .scalar_optional(self.db().read())
                .await?;
        Ok(id)
    }
}
