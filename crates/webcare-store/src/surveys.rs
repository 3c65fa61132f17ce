//! Citizen satisfaction surveys (issue 16). A survey is scheduled in the resolve's own
//! transaction ([`crate::agent::AgentStore::write_case`] with [`CaseWrite::survey`]) as an
//! outbox reply due after the account's delay, so the outbox worker sends it like any reply (one
//! send path, leased, never twice) and a crash cannot lose or double it. `case_surveys` marks it
//! on the case (one per case: its primary key) and later holds the answer, which the ingest plan
//! reads out of the citizen's next message (`ingest_plan.rs`, decided by
//! `webcare_domain::survey::answer_to`).
//!
//! [`CaseWrite::survey`]: crate::agent::CaseWrite

use crate::connectors::NewReply;
use crate::db::{json_opt, query, Conn, SqlCore};
use crate::time::{from_ms, to_ms};
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use webcare_domain::survey::{SurveyKind, SurveyState};

/// Who sends surveys, as the reply's author.
pub const ACTOR: &str = "system:survey";

/// A survey to schedule with a resolve.
#[derive(Debug, Clone)]
pub struct NewSurvey {
    /// The question as a reply (author [`ACTOR`]).
    pub reply: NewReply,
    pub contact_id: Uuid,
    pub kind: SurveyKind,
    pub answer_days: u32,
    /// When it goes out (resolved + the account's delay).
    pub due_at: DateTime<Utc>,
    /// The contact got no survey since this instant (resolved - the account's period), else none
    /// is sent.
    pub not_since: DateTime<Utc>,
}

/// A case's survey as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyRecord {
    pub case_id: Uuid,
    /// The question as an outbox reply; gone once the survey was withdrawn or skipped.
    pub reply_id: Option<Uuid>,
    pub kind: SurveyKind,
    pub state: SurveyState,
    pub created_at: DateTime<Utc>,
    /// When the question went out (the reply's `sent_at`), if it has.
    pub sent_at: Option<DateTime<Utc>>,
    pub score: Option<u8>,
    pub comment: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    pub answer_message_id: Option<Uuid>,
    /// When it was withdrawn or skipped.
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it was skipped, or why its sending failed.
    pub reason: Option<String>,
}

#[derive(sqlx::FromRow)]
struct SurveyRow {
    case_id: Uuid,
    reply_id: Option<Uuid>,
    kind: String,
    created_at: i64,
    sent_at: Option<i64>,
    reply_state: Option<String>,
    failure_reason: Option<String>,
    score: Option<i64>,
    comment: Option<String>,
    answered_at: Option<i64>,
    answer_message_id: Option<Uuid>,
    withdrawn_at: Option<i64>,
    skipped_at: Option<i64>,
    skip_reason: Option<String>,
}

impl From<SurveyRow> for SurveyRecord {
    fn from(r: SurveyRow) -> Self {
        let failed = r.reply_state.as_deref() == Some("failed");
        let state = SurveyState::of(
            r.answered_at.is_some(),
            r.withdrawn_at.is_some(),
            r.skipped_at.is_some(),
            r.sent_at.is_some(),
            failed,
        );
        SurveyRecord {
            case_id: r.case_id,
            reply_id: r.reply_id,
            kind: SurveyKind::parse(&r.kind).unwrap_or_default(),
            state,
            created_at: from_ms(r.created_at),
            sent_at: r.sent_at.map(from_ms),
            score: r.score.and_then(|s| u8::try_from(s).ok()),
            comment: r.comment,
            answered_at: r.answered_at.map(from_ms),
            answer_message_id: r.answer_message_id,
            ended_at: r.withdrawn_at.or(r.skipped_at).map(from_ms),
            reason: r
                .skip_reason
                .or_else(|| failed.then_some(r.failure_reason).flatten()),
        }
    }
}

#[async_trait]
pub trait Surveys: Send + Sync {
    /// The case's survey, if one was scheduled.
    async fn case_survey(&self, case_id: Uuid) -> Result<Option<SurveyRecord>>;

    /// Skips a survey that cannot be sent (the outbox found the platform's window closed and no
    /// template to send instead): recorded on the case with `reason`, its reply removed unsent,
    /// so it counts as not sent. Answers false, and changes nothing, when `reply` is no unsent
    /// survey question.
    async fn skip_survey(&self, reply: Uuid, reason: &str, now: DateTime<Utc>) -> Result<bool>;
}

#[async_trait]
impl<S: SqlCore> Surveys for S {
    async fn case_survey(&self, case_id: Uuid) -> Result<Option<SurveyRecord>> {
        let row: Option<SurveyRow> = query(
            "SELECT s.case_id, s.reply_id, s.kind, s.created_at, r.sent_at, r.state AS reply_state, \
             r.failure_reason, s.score, s.comment, s.answered_at, s.answer_message_id, \
             s.withdrawn_at, s.skipped_at, s.skip_reason \
             FROM case_surveys s LEFT JOIN outbox_replies r ON r.id = s.reply_id WHERE s.case_id = $1",
        )
        .bind(case_id)
        .fetch_optional(self.db().read())
        .await?;
        Ok(row.map(Into::into))
    }

    async fn skip_survey(&self, reply: Uuid, reason: &str, now: DateTime<Utc>) -> Result<bool> {
        let mut tx = self.db().begin().await?;
        let ours: Option<i64> = query(
            "SELECT CAST(1 AS BIGINT) FROM case_surveys s JOIN outbox_replies r ON r.id = s.reply_id \
             WHERE s.reply_id = $1 AND r.sent_at IS NULL",
        )
        .bind(reply)
        .scalar_optional(&mut tx.conn())
        .await?;
        if ours.is_some() {
            end(
                &mut tx.conn(),
                reply,
                "skipped_at = $2",
                to_ms(now),
                Some(reason),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(ours.is_some())
    }
}

/// Schedules `s` in the caller's transaction, unless the case has had a survey already or the
/// contact had one in the period. A survey withdrawn or skipped before it reached the citizen
/// counts for neither: it is replaced. Answers whether it was scheduled.
pub(crate) async fn schedule(
    conn: &mut Conn<'_>,
    s: &NewSurvey,
    now: DateTime<Utc>,
) -> Result<bool> {
    let r = &s.reply;
    let taken: Option<i64> = query(
        "SELECT CAST(1 AS BIGINT) FROM case_surveys WHERE reply_id IS NOT NULL \
         AND (case_id = $1 OR (contact_id = $2 AND created_at >= $3)) LIMIT 1",
    )
    .bind(r.case_id)
    .bind(s.contact_id)
    .bind(to_ms(s.not_since))
    .scalar_optional(&mut *conn)
    .await?;
    if taken.is_some() {
        return Ok(false);
    }
    query("DELETE FROM case_surveys WHERE case_id = $1")
        .bind(r.case_id)
        .execute(&mut *conn)
        .await?;
    let now = to_ms(now);
    query(
        "INSERT INTO outbox_replies (id, case_id, channel_account_id, text, visibility, in_reply_to, \
         recipient, process_answer, author, state, attempts, next_attempt_at, created_at, updated_at, \
         canned_answer_id, whatsapp_template, auto_reply) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, FALSE, $8, 'pending', 0, $9, $10, $10, NULL, $11, FALSE)",
    )
    .bind(r.id)
    .bind(r.case_id)
    .bind(r.channel_account_id)
    .bind(&r.text)
    .bind(r.visibility.as_str())
    .bind(&r.in_reply_to)
    .bind(&r.recipient)
    .bind(&r.author)
    .bind(to_ms(s.due_at))
    .bind(now)
    .bind(json_opt(r.whatsapp_template.as_ref()))
    .execute(&mut *conn)
    .await?;
    query(
        "INSERT INTO case_surveys (case_id, reply_id, contact_id, channel_account_id, kind, \
         answer_days, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(r.case_id)
    .bind(r.id)
    .bind(s.contact_id)
    .bind(r.channel_account_id)
    .bind(s.kind.as_str())
    .bind(i64::from(s.answer_days))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// A sent, unanswered survey of a case, as the ingest plan needs it.
#[derive(sqlx::FromRow)]
pub(crate) struct PendingRow {
    pub case_id: Uuid,
    pub kind: String,
    pub answer_days: i64,
    pub sent_at: i64,
}

/// The sent and unanswered surveys of the resolved cases among `cases`.
pub(crate) async fn pending(conn: &mut Conn<'_>, cases: &[Uuid]) -> Result<Vec<PendingRow>> {
    if cases.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = query(
        "SELECT s.case_id, s.kind, s.answer_days, r.sent_at FROM case_surveys s \
         JOIN outbox_replies r ON r.id = s.reply_id \
         JOIN cases c ON c.id = s.case_id \
         WHERE c.status = 'resolved' AND s.answered_at IS NULL AND r.sent_at IS NOT NULL \
         AND s.case_id IN (",
    );
    for (n, id) in cases.iter().enumerate() {
        if n > 0 {
            q.push(", ");
        }
        q.push_bind(*id);
    }
    q.push(")");
    q.fetch_all(&mut *conn).await
}

/// An answer the ingest plan read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlannedAnswer {
    pub case_id: Uuid,
    pub message_id: Uuid,
    pub score: u8,
    pub comment: Option<String>,
    pub at: i64,
}

/// Stores the batch's answers (the first one of a case wins).
pub(crate) async fn write_answers(conn: &mut Conn<'_>, answers: &[PlannedAnswer]) -> Result<()> {
    for a in answers {
        query(
            "UPDATE case_surveys SET score = $2, comment = $3, answered_at = $4, \
             answer_message_id = $5 WHERE case_id = $1 AND answered_at IS NULL",
        )
        .bind(a.case_id)
        .bind(i64::from(a.score))
        .bind(&a.comment)
        .bind(a.at)
        .bind(a.message_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A case reopened before its survey went out: the question is withdrawn (the reply, while it is
/// still only pending, is removed and the survey marked), so it is not asked about a
/// conversation that goes on, and the next resolve may schedule one again.
pub(crate) async fn withdraw(conn: &mut Conn<'_>, cases: &[Uuid], now: i64) -> Result<()> {
    for id in cases {
        let reply: Option<Uuid> = query(
            "SELECT s.reply_id FROM case_surveys s JOIN outbox_replies r ON r.id = s.reply_id \
             WHERE s.case_id = $1 AND r.state = 'pending' AND r.attempts = 0",
        )
        .bind(*id)
        .scalar_optional(&mut *conn)
        .await?;
        if let Some(reply) = reply {
            end(conn, reply, "withdrawn_at = $2", now, None).await?;
        }
    }
    Ok(())
}

/// Marks the survey of `reply` ended (`set` names the stamp) and removes its outbox reply, so it
/// is never sent and counts as not sent.
async fn end(
    conn: &mut Conn<'_>,
    reply: Uuid,
    set: &str,
    now: i64,
    reason: Option<&str>,
) -> Result<()> {
    query(format!(
        "UPDATE case_surveys SET reply_id = NULL, skip_reason = $3, {set} WHERE reply_id = $1"
    ))
    .bind(reply)
    .bind(now)
    .bind(reason)
    .execute(&mut *conn)
    .await?;
    query("DELETE FROM outbox_replies WHERE id = $1 AND state IN ('pending', 'sending')")
        .bind(reply)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
