//! The agent desk's store: users, teams, departments, case work (notes, guarded case updates,
//! merges, forwards to departments), the audit list, canned answers and the team-lead board.
//!
//! The SQL is written once over the dialect seam (`db.rs`); the few places where SQLite and
//! PostgreSQL differ (JSON containment, full-text search, ILIKE) are methods of its `Dialect`.
//!
//! Case writes are compare-and-set on `updated_at`: the API reads a case, decides the new state
//! with the domain rules (status machine, rights), and [`AgentStore::write_case`] applies it in
//! one transaction only if nobody changed the case meanwhile (else a 409 to retry), together with
//! its audit events, notes and forward bookkeeping. Nothing half-done is left behind.

use crate::agent_events::{broadcast, insert_events, EventRecord, NewEvent};
use crate::db::{json, query, Conn, Dialect, Query, SqlCore, Tx};
use crate::entity;
use crate::records::{CaseFilter, CaseRecord, NewAuditEvent, Page};
use crate::sql::{CaseRow, CASE_COLS};
use crate::time::{to_ms, Millis, OptMillis};
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;
use webcare_domain::reports::Share;
use webcare_domain::{CaseStatus, Role};

// ------------------------------------------------------------------------------------ records

// The API shows it as it is (`User`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = User))]
#[serde(rename_all = "camelCase")]
pub struct UserRecord {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    /// The identity provider's subject (`sub`), when known.
    pub subject: Option<String>,
    pub role: Role,
    pub teams: Vec<String>,
    pub department_id: Option<Uuid>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TeamRecord {
    pub id: Uuid,
    pub name: String,
    /// `off`, `round_robin` or `least_loaded`.
    pub auto_assign: String,
    pub max_open_per_agent: Option<i64>,
    #[sqlx(try_from = "Millis")]
    pub created_at: DateTime<Utc>,
    #[sqlx(try_from = "Millis")]
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DepartmentRecord {
    pub id: Uuid,
    pub name: String,
    #[sqlx(json)]
    pub contact_persons: serde_json::Value,
    /// The agreed answer time (werkafspraak) in business minutes.
    pub answer_minutes: i64,
    pub calendar_id: Option<Uuid>,
    #[sqlx(try_from = "Millis")]
    pub created_at: DateTime<Utc>,
    #[sqlx(try_from = "Millis")]
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct NoteRecord {
    pub id: Uuid,
    pub case_id: Uuid,
    pub author: String,
    pub text: String,
    #[sqlx(try_from = "Millis")]
    pub created_at: DateTime<Utc>,
}

// The API shows it as it is (`Forward`), in the list of its case.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Forward))]
#[serde(rename_all = "camelCase")]
pub struct ForwardRecord {
    pub id: Uuid,
    // Said by the list's path.
    #[serde(skip)]
    pub case_id: Uuid,
    pub department_id: Uuid,
    pub question: String,
    pub forwarded_by: String,
    #[sqlx(try_from = "Millis")]
    pub forwarded_at: DateTime<Utc>,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    #[sqlx(try_from = "OptMillis")]
    pub answered_at: Option<DateTime<Utc>>,
    pub return_reason: Option<String>,
    #[sqlx(try_from = "OptMillis")]
    pub returned_at: Option<DateTime<Utc>>,
    /// Whether the department answered within its agreed time, as its department clock decided
    /// (business minutes on the department's calendar); null while unanswered.
    pub answered_in_time: Option<bool>,
    /// What became of the answer: `sent` (the agent replied) or `set_aside` (the case was
    /// resolved without sending it); null while it is pending or when there is none.
    pub answer_outcome: Option<String>,
    #[sqlx(try_from = "OptMillis")]
    pub answer_settled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditRecord {
    pub id: Uuid,
    #[sqlx(try_from = "Millis")]
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub case_id: Option<Uuid>,
    #[sqlx(json)]
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub case_id: Option<Uuid>,
    /// Exact actor string.
    pub actor: Option<String>,
    /// Actors that are this user (`user:<id>:...`).
    pub user_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

// The API shows it as it is (`CannedAnswer`).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CannedAnswer))]
#[serde(rename_all = "camelCase")]
pub struct CannedRecord {
    pub id: Uuid,
    /// The team it belongs to; null: desk-wide.
    pub team: Option<String>,
    pub title: String,
    pub text: String,
    #[sqlx(try_from = "Millis")]
    pub created_at: DateTime<Utc>,
    #[sqlx(try_from = "Millis")]
    pub updated_at: DateTime<Utc>,
}

/// Which cases a caller may see: the rule is pure, in `webcare_domain::access`.
pub use webcare_domain::access::CaseScope;
use webcare_domain::access::{ScopeFacts, Scoped};

/// What the scope rule reads of a case (the case list filter above says the same in SQL).
impl Scoped for CaseRecord {
    fn scope_facts(&self) -> ScopeFacts<'_> {
        ScopeFacts {
            team: self.team.as_deref(),
            assignee: self.assignee.as_deref(),
            department_id: self.department_id,
            with_department: self.status == CaseStatus::Forwarded,
        }
    }
}

/// Forward bookkeeping done with a case write.
#[derive(Debug, Clone)]
pub enum ForwardOp {
    /// A new forward (question to the department): starts the department clock.
    Open {
        department_id: Uuid,
        question: String,
        by: String,
    },
    /// The department's answer to the open forward: stops the department clock.
    Answer { text: String, by: String },
    /// The agent hands the answer back with a reason: a new forward opens for the same department.
    Return { reason: String, by: String },
}

/// One guarded change of a case: applied only if the case's `updated_at` is still
/// `before.updated_at`.
#[derive(Debug, Clone)]
pub struct CaseWrite {
    pub before: CaseRecord,
    pub after: CaseRecord,
    pub audit: Vec<NewAuditEvent>,
    /// An internal note `(author, text)` added with the change.
    pub note: Option<(String, String)>,
    pub forward: Option<ForwardOp>,
    /// Resolved or closed as "geen reactie nodig", with this reason: the reaction clocks that
    /// still wait for a reply stop as `cancelled` with it.
    pub no_reply_reason: Option<String>,
    /// Live events about the change, `(kind, payload)`: appended to the event log (and the
    /// webhook queue) in the same transaction, scoped like the case as written, and handed to
    /// this process's streams after the commit.
    pub events: Vec<(&'static str, serde_json::Value)>,
    /// Calls to the case's zaak that the change causes (issue 14): enqueued in the same
    /// transaction, and only when the case has or is getting a zaak.
    pub zaak_jobs: Vec<crate::zaak::NewZaakJob>,
    /// A satisfaction survey to schedule with a resolve (issue 16), in the same transaction.
    pub survey: Option<crate::surveys::NewSurvey>,
}

impl CaseWrite {
    pub fn new(before: CaseRecord) -> Self {
        Self {
            after: before.clone(),
            before,
            audit: Vec::new(),
            note: None,
            forward: None,
            no_reply_reason: None,
            events: Vec::new(),
            zaak_jobs: Vec::new(),
            survey: None,
        }
    }

    /// The change's live events, about the case as it was written.
    fn new_events(&self, written: &CaseRecord) -> Vec<NewEvent> {
        self.events
            .iter()
            .map(|(kind, payload)| NewEvent::about(kind, written, payload.clone()))
            .collect()
    }

    /// What this change means for the case's clocks (written in the same transaction).
    pub fn sla_effects(&self) -> crate::sla::CaseEffects {
        let (b, a) = (&self.before, &self.after);
        crate::sla::CaseEffects {
            case_id: a.id,
            before: b.status,
            after: a.status,
            classified: b.theme != a.theme || b.kind != a.kind || b.priority != a.priority,
            // The department clock starts on a forward (also a re-forward after a returned
            // answer) and stops on the department's answer.
            forward_to: match &self.forward {
                Some(ForwardOp::Open { department_id, .. }) => Some(*department_id),
                Some(ForwardOp::Return { .. }) => a.department_id,
                _ => None,
            },
            answered: matches!(self.forward, Some(ForwardOp::Answer { .. })),
            no_reply_reason: self.no_reply_reason.clone(),
        }
    }
}

// The API shows it as it is (`DepartmentTimeliness`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = DepartmentTimeliness))]
#[serde(rename_all = "camelCase")]
pub struct DepartmentReportRow {
    pub department_id: Uuid,
    pub name: String,
    pub answer_minutes: i64,
    /// Questions forwarded in the period.
    pub forwards: i64,
    pub answered: i64,
    /// Answered within the agreed time, as the department clock decided it (business minutes on
    /// the department's calendar); answers from before the desk kept that clock count by
    /// wall-clock minutes.
    // Forwards answered before migration 0010 have no recorded outcome.
    pub answered_in_time: i64,
    /// Share answered in time of those answered (0..1); null when none were answered.
    pub in_time_share: Option<f64>,
    /// Still waiting for an answer.
    pub open: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentReport {
    pub cases: i64,
    pub forwarded_cases: i64,
    pub departments: Vec<DepartmentReportRow>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Board {
    pub open_by_status: Vec<(String, i64)>,
    pub sla_warnings: i64,
    pub sla_breaches: i64,
    pub agent_load: Vec<(String, i64)>,
    pub unassigned: i64,
    pub oldest_unanswered_at: Option<DateTime<Utc>>,
    pub oldest_unanswered_case_id: Option<Uuid>,
    pub arrivals_last_hour: Vec<(String, i64)>,
}

// ------------------------------------------------------------------------------------ traits

#[async_trait]
pub trait AgentStore: crate::agent_events::LiveEvents + Send + Sync {
    // people
    async fn create_user(&self, u: UserRecord) -> Result<UserRecord>;
    async fn save_user(&self, u: UserRecord) -> Result<UserRecord>;
    async fn get_user(&self, id: Uuid) -> Result<Option<UserRecord>>;
    async fn list_users(&self, after: Option<Uuid>, limit: u32) -> Result<Page<UserRecord>>;
    /// The active user with this subject, else with this e-mail address (case-insensitive).
    async fn find_user_for_login(
        &self,
        subject: Option<&str>,
        email: Option<&str>,
    ) -> Result<Option<UserRecord>>;
    async fn create_team(&self, t: TeamRecord) -> Result<TeamRecord>;
    async fn save_team(&self, t: TeamRecord) -> Result<TeamRecord>;
    async fn get_team(&self, id: Uuid) -> Result<Option<TeamRecord>>;
    async fn team_names(&self, names: &[String]) -> Result<Vec<String>>;
    async fn team_by_name(&self, name: &str) -> Result<Option<TeamRecord>>;
    async fn list_teams(&self, after: Option<Uuid>, limit: u32) -> Result<Page<TeamRecord>>;
    async fn create_department(&self, d: DepartmentRecord) -> Result<DepartmentRecord>;
    async fn save_department(&self, d: DepartmentRecord) -> Result<DepartmentRecord>;
    async fn get_department(&self, id: Uuid) -> Result<Option<DepartmentRecord>>;
    async fn list_departments(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Page<DepartmentRecord>>;

    // case work
    /// Applies a guarded case change in one transaction; `Conflict` when the case changed.
    async fn write_case(&self, w: CaseWrite) -> Result<CaseRecord>;
    /// Merges `from` into `into` in one transaction: messages, threads and notes move, the
    /// contacts' identities are linked to `into`'s contact, `from` is closed with a pointer.
    async fn merge_cases(&self, from: CaseWrite, into: CaseWrite) -> Result<CaseRecord>;
    async fn merged_into(&self, case_id: Uuid) -> Result<Option<Uuid>>;
    async fn list_notes(&self, case_id: Uuid) -> Result<Vec<NoteRecord>>;
    async fn list_forwards(&self, case_id: Uuid) -> Result<Vec<ForwardRecord>>;
    /// The department answer waiting for the agent (set by an answer, cleared by a return, a
    /// reply or resolving the case).
    async fn department_answer(&self, case_id: Uuid) -> Result<Option<String>>;

    // audit
    async fn list_audit(
        &self,
        f: AuditFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Page<AuditRecord>>;

    // canned answers
    async fn create_canned(&self, c: CannedRecord) -> Result<CannedRecord>;
    async fn save_canned(&self, c: CannedRecord) -> Result<CannedRecord>;
    async fn get_canned(&self, id: Uuid) -> Result<Option<CannedRecord>>;
    async fn delete_canned(&self, id: Uuid) -> Result<bool>;
    async fn list_canned(
        &self,
        team: Option<String>,
        q: Option<String>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Page<CannedRecord>>;

    // reports
    async fn department_report(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<DepartmentReport>;
    async fn board(&self, now: DateTime<Utc>) -> Result<Board>;
}

// ------------------------------------------------------------------------------------ dialect

/// The words of a search: letters and digits only, so user input can never be query syntax.
pub fn search_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(str::to_lowercase)
        .collect()
}

/// The inbox filters of this area, appended to the case list query of `sql.rs`.
pub(crate) fn push_case_filters(q: &mut Query, dialect: Dialect, f: &CaseFilter) {
    for l in &f.labels {
        dialect.push_label(q, l);
    }
    if let Some(p) = f.priority {
        q.push(" AND priority = ").push_bind(p.as_str());
    }
    if let Some(d) = f.department_id {
        q.push(" AND department_id = ").push_bind(d);
    }
    if let Some(c) = f.contact_id {
        q.push(" AND contact_id = ").push_bind(c);
    }
    if let Some(t) = f.created_from {
        q.push(" AND created_at >= ").push_bind(to_ms(t));
    }
    if let Some(t) = f.created_to {
        q.push(" AND created_at < ").push_bind(to_ms(t));
    }
    if let Some(text) = f.q.as_deref() {
        dialect.push_case_search(q, &search_words(text));
    }
    match &f.scope {
        CaseScope::All => {}
        CaseScope::Teams { teams, assignee } => {
            q.push(" AND (assignee = ").push_bind(assignee);
            if !teams.is_empty() {
                q.push(" OR team IN ").push_list(teams);
            }
            q.push(")");
        }
        CaseScope::Department(d) => {
            q.push(" AND status = 'forwarded'");
            if let Some(d) = d {
                q.push(" AND department_id = ").push_bind(*d);
            }
        }
    }
}

// ------------------------------------------------------------------------------------ rows

use crate::time::from_ms;
use sqlx::types::Json;

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    name: String,
    email: String,
    subject: Option<String>,
    role: String,
    teams: Json<Vec<String>>,
    department_id: Option<Uuid>,
    active: bool,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<UserRow> for UserRecord {
    type Error = crate::StoreError;
    fn try_from(r: UserRow) -> Result<Self> {
        Ok(UserRecord {
            id: r.id,
            name: r.name,
            email: r.email,
            subject: r.subject,
            role: r
                .role
                .parse()
                .map_err(|_| crate::StoreError::Corrupt(format!("bad role '{}'", r.role)))?,
            teams: r.teams.0,
            department_id: r.department_id,
            active: r.active,
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
        })
    }
}

pub(crate) const FORWARD_COLS: &str = "id, case_id, department_id, question, forwarded_by, \
    forwarded_at, answer, answered_by, answered_at, return_reason, returned_at, answered_in_time, \
    answer_outcome, answer_settled_at";

/// A new `updated_at` strictly after the old one, so compare-and-set never confuses two versions
/// written in the same millisecond.
pub(crate) fn next_version(old: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    crate::time::to_ms(now).max(crate::time::to_ms(old) + 1)
}

pub(crate) fn stale() -> crate::StoreError {
    crate::StoreError::Conflict("the case changed meanwhile; reload it and try again".into())
}

// Users, teams, departments and canned answers are stored whole (`crate::entity`): each says
// its table, names and columns with their values, in bind order.

crate::entity::entity!(UserRecord, UserRow, "users", "user",
    "a user with this email or subject exists", |u| {
    "name" => u.name.as_str(),
    "email" => u.email.to_lowercase(),
    "subject" => u.subject.as_deref(),
    "role" => u.role.as_str(),
    "teams" => json(&u.teams),
    "department_id" => u.department_id,
    "active" => u.active,
});

crate::entity::entity!(TeamRecord, TeamRecord, "teams", "team", "a team with this name exists", |t| {
    "name" => t.name.as_str(),
    "auto_assign" => t.auto_assign.as_str(),
    "max_open_per_agent" => t.max_open_per_agent,
});

crate::entity::entity!(DepartmentRecord, DepartmentRecord, "departments", "department",
    "a department with this name exists", |d| {
    "name" => d.name.as_str(),
    "contact_persons" => d.contact_persons.clone(),
    "answer_minutes" => d.answer_minutes,
    "calendar_id" => d.calendar_id,
});

crate::entity::entity!(CannedRecord, CannedRecord, "canned_answers", "canned answer",
    "this canned answer exists", |c| {
    "team" => c.team.as_deref(),
    "title" => c.title.as_str(),
    "text" => c.text.as_str(),
});

pub(crate) async fn apply_case_write(
    tx: &mut Conn<'_>,
    w: &CaseWrite,
    now: DateTime<Utc>,
    merged_into: Option<Uuid>,
) -> Result<CaseRecord> {
    let a = &w.after;
    let sql = format!(
        "UPDATE cases SET status = $3, priority = $4, team = $5, assignee = $6, \
             department_id = $7, theme = $8, kind = $9, target_group = $10, labels = $11, \
             resolved_at = $12, closed_at = $13, first_message_at = $14, last_message_at = $15, \
             merged_into = COALESCE($16, merged_into), updated_at = $17, \
             routing_version = $18, routing_rule_id = $19 \
             WHERE id = $1 AND updated_at = $2 RETURNING {CASE_COLS}"
    );
    let row: Option<CaseRow> = query(&sql)
        .bind(a.id)
        .bind(to_ms(w.before.updated_at))
        .bind(a.status.as_str())
        .bind(a.priority.as_str())
        .bind(&a.team)
        .bind(&a.assignee)
        .bind(a.department_id)
        .bind(&a.theme)
        .bind(a.kind.map(|k| k.as_str()))
        .bind(a.target_group.map(|k| k.as_str()))
        .bind(json(&a.labels))
        .bind(a.resolved_at.map(to_ms))
        .bind(a.closed_at.map(to_ms))
        .bind(to_ms(a.first_message_at))
        .bind(to_ms(a.last_message_at))
        .bind(merged_into)
        .bind(next_version(w.before.updated_at, now))
        .bind(a.routing.map(|r| r.version))
        .bind(a.routing.map(|r| r.rule_id))
        .fetch_optional(&mut *tx)
        .await?;
    let rec: CaseRecord = row.ok_or_else(stale)?.try_into()?;
    if let Some((author, text)) = &w.note {
        query(
            "INSERT INTO case_notes (id, case_id, author, text, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::now_v7())
        .bind(rec.id)
        .bind(author)
        .bind(text)
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?;
    }
    match &w.forward {
        None => {}
        Some(ForwardOp::Open {
            department_id,
            question,
            by,
        }) => {
            open_forward(tx, rec.id, *department_id, question, by, now).await?;
        }
        Some(ForwardOp::Answer { text, by }) => {
            let dept: Option<Uuid> = query(
                "UPDATE case_forwards SET answer = $2, answered_by = $3, answered_at = $4 \
                     WHERE case_id = $1 AND answered_at IS NULL AND returned_at IS NULL \
                     RETURNING department_id",
            )
            .bind(rec.id)
            .bind(text)
            .bind(by)
            .bind(to_ms(now))
            .scalar_optional(&mut *tx)
            .await?;
            dept.ok_or_else(|| {
                crate::StoreError::Conflict("the case has no open question for a department".into())
            })?;
            query("UPDATE cases SET department_answer = $2 WHERE id = $1")
                .bind(rec.id)
                .bind(text)
                .execute(&mut *tx)
                .await?;
        }
        Some(ForwardOp::Return { reason, by }) => {
            let row: Option<(Uuid, Uuid)> = query(
                "UPDATE case_forwards SET return_reason = $2, returned_at = $3 \
                     WHERE id = (SELECT id FROM case_forwards WHERE case_id = $1 \
                     AND answered_at IS NOT NULL AND returned_at IS NULL \
                     ORDER BY forwarded_at DESC, id DESC LIMIT 1) RETURNING id, department_id",
            )
            .bind(rec.id)
            .bind(reason)
            .bind(to_ms(now))
            .fetch_optional(&mut *tx)
            .await?;
            let (_, dept) = row.ok_or_else(|| {
                crate::StoreError::Conflict("the case has no department answer to hand back".into())
            })?;
            query("UPDATE cases SET department_answer = NULL WHERE id = $1")
                .bind(rec.id)
                .execute(&mut *tx)
                .await?;
            open_forward(tx, rec.id, dept, reason, by, now).await?;
        }
    }
    for e in &w.audit {
        crate::sql::insert_audit(&mut *tx, e, now).await?;
    }
    Ok(rec)
}

/// The rest of a case change inside its transaction: what the change means for the case's
/// clocks, then its live events, about the case as stored after the clocks moved its due time.
async fn clocks_and_events(
    tx: &mut Tx,
    sla: &crate::sla::SlaState,
    w: &CaseWrite,
    rec: CaseRecord,
    now: DateTime<Utc>,
) -> Result<(CaseRecord, Vec<EventRecord>)> {
    let effects = w.sla_effects();
    let rec = if effects.any() {
        crate::sla::case_changed(&mut tx.conn(), sla, &effects, now).await?;
        case_in(&mut tx.conn(), rec.id).await?
    } else {
        rec
    };
    let events = insert_events(&mut tx.conn(), &w.new_events(&rec)).await?;
    Ok((rec, events))
}

/// The case as stored now, inside the transaction.
pub(crate) async fn case_in(tx: &mut Conn<'_>, id: Uuid) -> Result<CaseRecord> {
    let sql = format!("SELECT {CASE_COLS} FROM cases WHERE id = $1");
    let row: CaseRow = query(&sql).bind(id).fetch_one(&mut *tx).await?;
    row.try_into()
}

async fn open_forward(
    tx: &mut Conn<'_>,
    case_id: Uuid,
    department_id: Uuid,
    question: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    // At most one open question per case: close any earlier one unanswered.
    query(
        "UPDATE case_forwards SET returned_at = $2, return_reason = 'superseded' \
             WHERE case_id = $1 AND answered_at IS NULL AND returned_at IS NULL",
    )
    .bind(case_id)
    .bind(to_ms(now))
    .execute(&mut *tx)
    .await?;
    query(
            "INSERT INTO case_forwards (id, case_id, department_id, question, forwarded_by, forwarded_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(case_id)
        .bind(department_id)
        .bind(question)
        .bind(by)
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

#[async_trait]
impl<S: SqlCore> AgentStore for S {
    async fn create_user(&self, r: UserRecord) -> Result<UserRecord> {
        entity::create(self.db(), &r).await
    }

    async fn save_user(&self, r: UserRecord) -> Result<UserRecord> {
        entity::save(self.db(), &r).await
    }

    async fn get_user(&self, id: Uuid) -> Result<Option<UserRecord>> {
        entity::get(self.db(), id).await
    }

    async fn list_users(&self, after: Option<Uuid>, limit: u32) -> Result<Page<UserRecord>> {
        entity::list(self.db(), after, limit).await
    }

    async fn find_user_for_login(
        &self,
        subject: Option<&str>,
        email: Option<&str>,
    ) -> Result<Option<UserRecord>> {
        let sql = format!(
            "SELECT {} FROM users WHERE active = $3 AND (subject = $1 OR email = $2) \
             ORDER BY CASE WHEN subject = $1 THEN 0 ELSE 1 END LIMIT 1",
            entity::cols::<UserRecord>()
        );
        let row: Option<UserRow> = query(&sql)
            .bind(subject)
            .bind(email.map(str::to_lowercase))
            .bind(true)
            .fetch_optional(self.db().read())
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn create_team(&self, r: TeamRecord) -> Result<TeamRecord> {
        entity::create(self.db(), &r).await
    }

    async fn save_team(&self, r: TeamRecord) -> Result<TeamRecord> {
        entity::save(self.db(), &r).await
    }

    async fn get_team(&self, id: Uuid) -> Result<Option<TeamRecord>> {
        entity::get(self.db(), id).await
    }

    async fn team_names(&self, names: &[String]) -> Result<Vec<String>> {
        if names.is_empty() {
            return Ok(vec![]);
        }
        let mut q = query("SELECT name FROM teams WHERE name IN ");
        q.push_list(names);
        q.scalars(self.db().read()).await
    }

    async fn team_by_name(&self, name: &str) -> Result<Option<TeamRecord>> {
        let sql = format!(
            "SELECT {} FROM teams WHERE name = $1",
            entity::cols::<TeamRecord>()
        );
        query(&sql)
            .bind(name)
            .fetch_optional(self.db().read())
            .await
    }

    async fn list_teams(&self, after: Option<Uuid>, limit: u32) -> Result<Page<TeamRecord>> {
        entity::list(self.db(), after, limit).await
    }

    async fn create_department(&self, r: DepartmentRecord) -> Result<DepartmentRecord> {
        entity::create(self.db(), &r).await
    }

    async fn save_department(&self, r: DepartmentRecord) -> Result<DepartmentRecord> {
        entity::save(self.db(), &r).await
    }

    async fn get_department(&self, id: Uuid) -> Result<Option<DepartmentRecord>> {
        entity::get(self.db(), id).await
    }

    async fn list_departments(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Page<DepartmentRecord>> {
        entity::list(self.db(), after, limit).await
    }

    async fn write_case(&self, w: CaseWrite) -> Result<CaseRecord> {
        let now = Utc::now();
        let mut tx = self.db().begin().await?;
        let rec = apply_case_write(&mut tx.conn(), &w, now, None).await?;
        crate::zaak::enqueue_follow_ups(&mut tx.conn(), rec.id, &w.zaak_jobs, now).await?;
        crate::klantcontact::enqueue_forward(&mut tx.conn(), self.openklant(), &w, now).await?;
        if let Some(s) = &w.survey {
            crate::surveys::schedule(&mut tx.conn(), s, now).await?;
        }
        // An agent's tag teaches the theme suggestions, with the change or not at all.
        let (was, is) = (w.before.theme.as_deref(), rec.theme.as_deref());
        let learned = crate::themes::tagged(&mut tx.conn(), rec.id, was, is, now).await?;
        // The case change, its clock effects, its events, its zaak and Open Klant jobs, its
        // survey and what the suggestions learned commit together.
        crate::crash::crash_point("case.before_clocks");
        let (rec, events) = clocks_and_events(&mut tx, self.sla(), &w, rec, now).await?;
        tx.commit().await?;
        broadcast(self.events(), &events);
        if learned {
            self.themes().invalidate();
        }
        if w.sla_effects().any() {
            self.sla().changed();
        }
        Ok(rec)
    }

    async fn merge_cases(&self, from: CaseWrite, into: CaseWrite) -> Result<CaseRecord> {
        let now = Utc::now();
        let (src, dst) = (from.before.id, into.before.id);
        let mut tx = self.db().begin().await?;
        apply_case_write(&mut tx.conn(), &from, now, Some(dst)).await?;
        for sql in [
            "UPDATE messages SET case_id = $2 WHERE case_id = $1",
            "UPDATE case_threads SET case_id = $2 WHERE case_id = $1",
            "UPDATE case_notes SET case_id = $2 WHERE case_id = $1",
        ] {
            query(sql).bind(src).bind(dst).execute(&mut tx).await?;
        }
        if from.before.contact_id != into.before.contact_id {
            // Link the citizen's identities: one contact from now on.
            query("UPDATE contact_identities SET contact_id = $2 WHERE contact_id = $1")
                .bind(from.before.contact_id)
                .bind(into.before.contact_id)
                .execute(&mut tx)
                .await?;
            query("UPDATE cases SET contact_id = $2 WHERE contact_id = $1")
                .bind(from.before.contact_id)
                .bind(into.before.contact_id)
                .execute(&mut tx)
                .await?;
        }
        // The messages moved: both inbox rows say what they hold now.
        crate::inbox_row::refresh(&mut tx.conn(), &[src, dst]).await?;
        let rec = apply_case_write(&mut tx.conn(), &into, now, None).await?;
        // The merged case's clocks stop (`merged`); the other case carries on with
        // whatever its own change means for its clocks. One transaction.
        crate::sla::merged(&mut tx.conn(), self.sla(), src, now).await?;
        let (rec, events) = clocks_and_events(&mut tx, self.sla(), &into, rec, now).await?;
        tx.commit().await?;
        broadcast(self.events(), &events);
        self.sla().changed();
        Ok(rec)
    }

    async fn merged_into(&self, case_id: Uuid) -> Result<Option<Uuid>> {
        let v: Option<Option<Uuid>> = query("SELECT merged_into FROM cases WHERE id = $1")
            .bind(case_id)
            .scalar_optional(self.db().read())
            .await?;
        Ok(v.flatten())
    }

    async fn list_notes(&self, case_id: Uuid) -> Result<Vec<NoteRecord>> {
        query(
            "SELECT id, case_id, author, text, created_at FROM case_notes WHERE case_id = $1 ORDER BY id",
        )
        .bind(case_id)
        .fetch_all(self.db().read())
        .await
    }

    async fn list_forwards(&self, case_id: Uuid) -> Result<Vec<ForwardRecord>> {
        let sql = format!(
            "SELECT {FORWARD_COLS} FROM case_forwards WHERE case_id = $1 ORDER BY forwarded_at, id"
        );
        query(&sql).bind(case_id).fetch_all(self.db().read()).await
    }

    async fn department_answer(&self, case_id: Uuid) -> Result<Option<String>> {
        let v: Option<Option<String>> = query("SELECT department_answer FROM cases WHERE id = $1")
            .bind(case_id)
            .scalar_optional(self.db().read())
            .await?;
        Ok(v.flatten())
    }

    async fn list_audit(
        &self,
        f: AuditFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Page<AuditRecord>> {
        // UUIDv7 ids are time-ordered: id order is time order, and a stable cursor.
        let mut q =
            query("SELECT id, at, actor, action, case_id, detail FROM audit_events WHERE 1 = 1");
        if let Some(c) = f.case_id {
            q.push(" AND case_id = ").push_bind(c);
        }
        if let Some(a) = f.actor {
            q.push(" AND actor = ").push_bind(a);
        }
        if let Some(u) = f.user_id {
            q.push(" AND actor LIKE ").push_bind(format!("user:{u}:%"));
        }
        if let Some(t) = f.from {
            q.push(" AND at >= ").push_bind(to_ms(t));
        }
        if let Some(t) = f.to {
            q.push(" AND at < ").push_bind(to_ms(t));
        }
        q.fetch_page::<AuditRecord, AuditRecord>(after, limit, self.db().read(), |a| a.id)
            .await
    }

    async fn create_canned(&self, c: CannedRecord) -> Result<CannedRecord> {
        entity::create(self.db(), &c).await
    }

    async fn save_canned(&self, c: CannedRecord) -> Result<CannedRecord> {
        entity::save(self.db(), &c).await
    }

    async fn get_canned(&self, id: Uuid) -> Result<Option<CannedRecord>> {
        entity::get(self.db(), id).await
    }

    async fn delete_canned(&self, id: Uuid) -> Result<bool> {
        let done = query("DELETE FROM canned_answers WHERE id = $1")
            .bind(id)
            .execute(self.db().write())
            .await?;
        Ok(done == 1)
    }

    async fn list_canned(
        &self,
        team: Option<String>,
        text: Option<String>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Page<CannedRecord>> {
        let mut q = query(format!(
            "SELECT {} FROM canned_answers WHERE 1 = 1",
            entity::cols::<CannedRecord>()
        ));
        if let Some(t) = team {
            // Answers of the team, and the desk-wide ones (no team).
            q.push(" AND (team IS NULL OR team = ")
                .push_bind(t)
                .push(")");
        }
        if let Some(s) = text {
            let pat = format!(
                "%{}%",
                s.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            let ilike = self.db().dialect().ilike();
            q.push(&format!(" AND (title {ilike} "))
                .push_bind(&pat)
                .push(&format!(" ESCAPE '\\' OR text {ilike} "))
                .push_bind(pat)
                .push(" ESCAPE '\\')");
        }
        q.fetch_page::<CannedRecord, CannedRecord>(after, limit, self.db().read(), |c| c.id)
            .await
    }

    async fn department_report(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<DepartmentReport> {
        let (from, to) = (to_ms(from), to_ms(to));
        let (cases, forwarded_cases): (i64, i64) = query(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM case_forwards f \
             WHERE f.case_id = c.id) THEN 1 ELSE 0 END), 0) \
             FROM cases c WHERE c.created_at >= $1 AND c.created_at < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_one(self.db().read())
        .await?;
        let rows: Vec<(Uuid, String, i64, i64, i64, i64, i64)> = query(
            "SELECT d.id, d.name, d.answer_minutes, \
             COUNT(f.id), \
             COALESCE(SUM(CASE WHEN f.answered_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN f.answered_at IS NULL THEN 0 WHEN f.answered_in_time IS NOT NULL \
             THEN (CASE WHEN f.answered_in_time THEN 1 ELSE 0 END) \
             WHEN f.answered_at - f.forwarded_at <= d.answer_minutes * 60000 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN f.answered_at IS NULL AND f.returned_at IS NULL THEN 1 ELSE 0 END), 0) \
             FROM departments d LEFT JOIN case_forwards f ON f.department_id = d.id \
             AND f.forwarded_at >= $1 AND f.forwarded_at < $2 \
             GROUP BY d.id, d.name, d.answer_minutes ORDER BY d.name",
        )
        .bind(from)
        .bind(to)
        .fetch_all(self.db().read())
        .await?;
        Ok(DepartmentReport {
            cases,
            forwarded_cases,
            departments: rows
                .into_iter()
                .map(|r| DepartmentReportRow {
                    department_id: r.0,
                    name: r.1,
                    answer_minutes: r.2,
                    forwards: r.3,
                    answered: r.4,
                    answered_in_time: r.5,
                    in_time_share: Share { part: r.5, of: r.4 }.share(),
                    open: r.6,
                })
                .collect(),
        })
    }

    async fn board(&self, now: DateTime<Utc>) -> Result<Board> {
        // One pass over the active cases for every count (four passes took four times as long:
        // the board's cost grows with the active cases, not with all cases).
        let active: Vec<ActiveGroup> = query(
            "SELECT status, assignee, sla_status, COUNT(*) FROM cases \
             WHERE status NOT IN ('resolved', 'closed') GROUP BY status, assignee, sla_status",
        )
        .fetch_all(self.db().read())
        .await?;
        let counts = BoardCounts::of(active);
        let oldest = oldest_unanswered(self.db()).await?;
        // Message ids are UUIDv7 made when the message is stored, after it was received, so
        // every message received in the last hour has an id past the hour's first UUIDv7: the
        // primary key bounds the scan (without it, every message was read). Ten minutes of
        // slack for clocks of nodes that differ.
        let since = now - chrono::Duration::hours(1);
        let arrivals_last_hour: Vec<(String, i64)> = query(
            "SELECT a.kind, COUNT(*) FROM messages m JOIN channel_accounts a ON a.id = m.channel_account_id \
             WHERE m.id >= $2 AND m.direction = 'inbound' AND m.received_at >= $1 \
             GROUP BY a.kind ORDER BY a.kind",
        )
        .bind(to_ms(since))
        .bind(first_v7_at(since - chrono::Duration::minutes(10)))
        .fetch_all(self.db().read())
        .await?;
        Ok(Board {
            open_by_status: counts.by_status,
            sla_warnings: counts.warnings,
            sla_breaches: counts.breaches,
            agent_load: counts.by_agent,
            unassigned: counts.unassigned,
            oldest_unanswered_at: oldest.map(|o| crate::time::from_ms(o.sent_at)),
            oldest_unanswered_case_id: oldest.map(|o| o.case_id),
            arrivals_last_hour,
        })
    }
}

/// Active cases of one (status, assignee, SLA status): `cases.sla_status` is the worst status
/// their running clocks fired, as the inbox's `slaStatus` filter reads it.
type ActiveGroup = (String, Option<String>, Option<String>, i64);

/// The board's counts of the active cases.
#[derive(Debug, Default, PartialEq)]
struct BoardCounts {
    /// Per status, by status name.
    by_status: Vec<(String, i64)>,
    /// Per assignee, most first, then by name.
    by_agent: Vec<(String, i64)>,
    unassigned: i64,
    warnings: i64,
    breaches: i64,
}

impl BoardCounts {
    fn of(groups: Vec<ActiveGroup>) -> BoardCounts {
        let mut by_status: std::collections::BTreeMap<String, i64> = Default::default();
        let mut by_agent: std::collections::HashMap<String, i64> = Default::default();
        let mut c = BoardCounts::default();
        for (status, assignee, sla, n) in groups {
            *by_status.entry(status).or_default() += n;
            match assignee {
                Some(a) => *by_agent.entry(a).or_default() += n,
                None => c.unassigned += n,
            }
            match sla.as_deref() {
                Some("warning") => c.warnings += n,
                Some("breached") => c.breaches += n,
                _ => {}
            }
        }
        c.by_status = by_status.into_iter().collect();
        c.by_agent = by_agent.into_iter().collect();
        c.by_agent
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        c
    }
}

/// Active cases read per step of [`oldest_unanswered`].
const OLDEST_PAGE: usize = 64;

#[derive(Debug, Clone, Copy, sqlx::FromRow)]
struct Unanswered {
    case_id: Uuid,
    arrival: i64,
    message_id: Option<Uuid>,
    sent_at: Option<i64>,
}

/// What [`oldest_unanswered`] answers: the message and its case.
#[derive(Debug, Clone, Copy)]
struct Oldest {
    case_id: Uuid,
    message_id: Uuid,
    sent_at: i64,
}

/// The oldest citizen message (by sent time, then id) of a `new` or `open` case with no reply
/// of ours after it (an out-of-hours auto-reply is no answer).
///
/// Walks the active cases in arrival order, a page at a time (the partial index
/// `cases_active_arrival`), and stops at the first case that arrived after the oldest message
/// found so far: a case's messages are never older than its arrival (`first_message_at` is the
/// minimum over its messages, kept so by ingest and merge), so no later case can hold an older
/// one. One query over every active case's thread cost the board 150-200 ms at 25,000 active
/// cases; this reads one page when the oldest active case waits.
async fn oldest_unanswered(db: &crate::db::Db) -> Result<Option<Oldest>> {
    let mut best: Option<Oldest> = None;
    let mut after = (i64::MIN, Uuid::nil());
    loop {
        let rows: Vec<Unanswered> = query(format!(
            "SELECT c.id AS case_id, c.first_message_at AS arrival, m.id AS message_id, \
             m.sent_at AS sent_at FROM (SELECT id, first_message_at FROM cases \
             WHERE status IN ('new', 'open') \
             AND (first_message_at > $1 OR (first_message_at = $1 AND id > $2)) \
             ORDER BY first_message_at, id LIMIT {OLDEST_PAGE}) c \
             LEFT JOIN messages m ON m.case_id = c.id AND m.direction = 'inbound' \
             AND m.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM messages o \
             WHERE o.case_id = m.case_id AND o.direction = 'outbound' AND o.sent_at >= m.sent_at \
             AND CAST(o.flags AS TEXT) NOT LIKE '%auto_reply%') \
             ORDER BY c.first_message_at, c.id"
        ))
        .bind(after.0)
        .bind(after.1)
        .fetch_all(db.read())
        .await?;
        let mut cases = 0;
        for r in &rows {
            if best.is_some_and(|b| r.arrival > b.sent_at) {
                return Ok(best);
            }
            if (r.arrival, r.case_id) != after {
                cases += 1;
                after = (r.arrival, r.case_id);
            }
            if let (Some(message_id), Some(sent_at)) = (r.message_id, r.sent_at) {
                let found = Oldest {
                    case_id: r.case_id,
                    message_id,
                    sent_at,
                };
                if best.is_none_or(|b| (sent_at, message_id) < (b.sent_at, b.message_id)) {
                    best = Some(found);
                }
            }
        }
        if cases < OLDEST_PAGE {
            return Ok(best);
        }
    }
}

/// The smallest UUIDv7 of the millisecond `t` (its random bits zero): every v7 id made at or
/// after `t` sorts at or after it, as bytes (SQLite) and as `uuid` (PostgreSQL).
pub(crate) fn first_v7_at(t: DateTime<Utc>) -> Uuid {
    let ms = u64::try_from(t.timestamp_millis()).unwrap_or(0);
    Uuid::from_u128((u128::from(ms) << 80) | (0x7u128 << 76) | (0b10u128 << 62))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_first_v7_of_a_millisecond_sorts_before_every_id_made_then_and_after_every_earlier_one() {
        use chrono::TimeZone;
        let t = chrono::Utc.timestamp_millis_opt(1_796_000_000_123).unwrap();
        let floor = super::first_v7_at(t);
        assert_eq!(floor.get_version_num(), 7);
        let at = |ms: i64, random: u128| {
            let ts = uuid::Timestamp::from_unix(
                uuid::NoContext,
                (ms / 1000) as u64,
                ((ms % 1000) * 1_000_000) as u32,
            );
            let id = uuid::Uuid::new_v7(ts);
            // The same instant with other random bits: the floor is below all of them.
            uuid::Uuid::from_u128(
                (id.as_u128() & !((1u128 << 62) - 1)) | (random & ((1u128 << 62) - 1)),
            )
        };
        for random in [0, 1, u128::MAX] {
            assert!(floor <= at(1_796_000_000_123, random));
            assert!(floor.as_bytes() <= at(1_796_000_000_123, random).as_bytes());
            assert!(floor < at(1_796_000_000_124, random));
            assert!(floor > at(1_796_000_000_122, random));
            assert!(floor.as_bytes() > at(1_796_000_000_122, random).as_bytes());
        }
        assert_eq!(
            super::first_v7_at(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH).as_u128() >> 80,
            0
        );
    }

    use super::*;

    fn g(status: &str, assignee: Option<&str>, sla: Option<&str>, n: i64) -> ActiveGroup {
        (
            status.into(),
            assignee.map(Into::into),
            sla.map(Into::into),
            n,
        )
    }

    #[test]
    fn the_board_counts_come_from_one_pass() {
        let c = BoardCounts::of(vec![
            g("open", Some("bram"), Some("breached"), 2),
            g("new", None, Some("warning"), 3),
            g("open", Some("anna"), Some("within"), 1),
            g("open", None, None, 4),
            g("waiting_on_citizen", Some("anna"), Some("warning"), 1),
            g("forwarded", Some("cees"), None, 2),
        ]);
        assert_eq!(
            c,
            BoardCounts {
                by_status: vec![
                    ("forwarded".into(), 2),
                    ("new".into(), 3),
                    ("open".into(), 7),
                    ("waiting_on_citizen".into(), 1),
                ],
                // Most first; a tie by name.
                by_agent: vec![("anna".into(), 2), ("bram".into(), 2), ("cees".into(), 2)],
                unassigned: 7,
                warnings: 4,
                breaches: 2,
            }
        );
        assert_eq!(BoardCounts::of(Vec::new()), BoardCounts::default());
    }
}
