//! The job tables (zaak jobs, notificaties): rows with `state` (`pending`, `done`, `failed`),
//! `attempts`, `next_attempt_at`, `lease_until` and `last_error`, claimed under a lease by one
//! node at a time and finished or retried by the worker. The SQL of that life cycle is written
//! once here; each table adds only its own columns and claim order.

use crate::agent_events::{broadcast, insert_events, EventRecord, NewEvent};
use crate::db::{query, Conn, Db, Exec, FromBoth, SqlCore, Tx};
use crate::records::CaseRecord;
use crate::sql::{CaseRow, CASE_COLS};
use crate::time::to_ms;
use crate::{Result, StoreError};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// Claims at most `limit` due, unleased pending rows of `table` (aliased `j`; `also` narrows the
/// choice further, e.g. to the oldest job of each case) and leases them until `now + lease`, one
/// more attempt each, in one transaction. Answers them as `cols`.
pub(crate) async fn claim<R: FromBoth>(
    db: &Db,
    table: &str,
    cols: &str,
    also: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u32,
) -> Result<Vec<R>> {
    let mut tx = db.begin().await?;
    let sql = format!(
        "SELECT j.id FROM {table} j WHERE j.state = 'pending' AND j.next_attempt_at <= $1 \
         AND (j.lease_until IS NULL OR j.lease_until < $1) {also} \
         ORDER BY j.next_attempt_at, j.id LIMIT $2 {}",
        db.dialect().skip_locked()
    );
    let ids: Vec<Uuid> = query(sql)
        .bind(to_ms(now))
        .bind(i64::from(limit))
        .scalars(&mut tx)
        .await?;
    let rows = lease_rows(&mut tx, table, cols, ids, now, lease).await?;
    tx.commit().await?;
    Ok(rows)
}

async fn lease_rows<R: FromBoth>(
    tx: &mut Tx,
    table: &str,
    cols: &str,
    ids: Vec<Uuid>,
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<Vec<R>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let row: R = query(format!(
            "UPDATE {table} SET lease_until = $2, attempts = attempts + 1, updated_at = $3 \
             WHERE id = $1 RETURNING {cols}"
        ))
        .bind(id)
        .bind(to_ms(now + lease))
        .bind(to_ms(now))
        .fetch_one(&mut *tx)
        .await?;
        out.push(row);
    }
    Ok(out)
}

/// Back to pending for another attempt at `next_attempt_at`.
pub(crate) async fn retry(
    core: &impl SqlCore,
    table: &str,
    id: Uuid,
    error: &str,
    next_attempt_at: DateTime<Utc>,
) -> Result<()> {
    query(format!(
        "UPDATE {table} SET lease_until = NULL, last_error = $2, next_attempt_at = $3, updated_at = $4 \
         WHERE id = $1"
    ))
    .bind(id)
    .bind(error)
    .bind(to_ms(next_attempt_at))
    .bind(to_ms(Utc::now()))
    .execute(core.db().write())
    .await?;
    Ok(())
}

/// A row of a job table, as [`fail`] needs it.
pub(crate) trait Job {
    const TABLE: &'static str;
    /// The live event of a failure, e.g. `zaak.failed`.
    const FAILED: &'static str;
    /// Its id, its case and what it does (as the failure event names it).
    fn about(&self) -> (Uuid, Uuid, serde_json::Value);
}

/// The job failed for good: finished with its `reason`, and its failure event (job id, kind
/// and reason) about its case, in one transaction.
pub(crate) async fn fail<J: Job>(core: &impl SqlCore, job: &J, reason: &str) -> Result<()> {
    let (id, case_id, kind) = job.about();
    let now = Utc::now();
    let mut tx = core.db().begin().await?;
    finish(&mut tx, J::TABLE, id, Some(reason), now).await?;
    let payload = serde_json::json!({"jobId": id, "kind": kind, "reason": reason});
    let events = event_about(&mut tx.conn(), case_id, J::FAILED, payload).await?;
    tx.commit().await?;
    broadcast(core.events(), &events);
    Ok(())
}

/// The row is finished: `done` (no error kept) or `failed` with its reason.
pub(crate) async fn finish(
    ex: impl Into<Exec<'_>>,
    table: &str,
    id: Uuid,
    failed: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let state = if failed.is_some() { "failed" } else { "done" };
    query(format!(
        "UPDATE {table} SET state = $2, lease_until = NULL, last_error = $3, updated_at = $4 \
         WHERE id = $1"
    ))
    .bind(id)
    .bind(state)
    .bind(failed)
    .bind(to_ms(now))
    .execute(ex)
    .await?;
    Ok(())
}

/// Appends a live event about the case as it is now (a job's outcome: `zaak.failed`, ...), in
/// the caller's transaction.
pub(crate) async fn event_about(
    conn: &mut Conn<'_>,
    case_id: Uuid,
    kind: &str,
    payload: serde_json::Value,
) -> Result<Vec<EventRecord>> {
    let row: Option<CaseRow> = query(format!("SELECT {CASE_COLS} FROM cases WHERE id = $1"))
        .bind(case_id)
        .fetch_optional(&mut *conn)
        .await?;
    let case: CaseRecord = row
        .ok_or_else(|| StoreError::NotFound(format!("case {case_id}")))?
        .try_into()?;
    insert_events(conn, &[NewEvent::about(kind, &case, payload)]).await
}
