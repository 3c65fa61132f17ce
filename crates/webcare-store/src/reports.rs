//! The facts the reports are computed from (`docs/REPORTS.md`): per case arrived in a period, its
//! dimensions, message counts, clock runs and forwards. Read in pages of [`PAGE`] cases in arrival
//! order (keyset on `(first_message_at, id)`), so a year of a national desk streams with bounded
//! memory. Written once over the store's dialect seam (`crate::db`); the figures themselves are
//! computed in `webcare_domain::reports`, never in SQL, so both databases agree.

use crate::db::{query, Arg, Db, Dialect, Query, SqlCore};
use crate::sla::{build_config, SlaConfig, VersionRow};
use crate::time::{from_ms, to_ms};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::FromRow;
use std::collections::HashMap;
use uuid::Uuid;
use webcare_domain::reports::{CaseFacts, ClockRun};
use webcare_domain::sla::{ClockKind, ClockState, Segment, StopReason};
use webcare_domain::survey::SurveyKind;
use webcare_domain::{CaseKind, CaseStatus, Priority, Visibility};

mod stored;

/// Cases per page.
pub const PAGE: usize = 1000;

/// Which cases a report covers: arrived in `[from, to)`, with the inbox's filters.
#[derive(Debug, Clone, Default)]
pub struct FactsQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub channel_account_id: Option<Uuid>,
    pub status: Option<CaseStatus>,
    /// `Some(None)`: unassigned cases.
    pub assignee: Option<Option<String>>,
    pub team: Option<String>,
    pub theme: Option<String>,
    pub kind: Option<CaseKind>,
    pub priority: Option<Priority>,
    pub department_id: Option<Uuid>,
    /// The visibility of the case's first citizen message.
    pub visibility: Option<Visibility>,
    /// Every one of these labels is on the case.
    pub labels: Vec<String>,
    /// The case's messages or the citizen's names hold these words (the inbox's search).
    pub q: Option<String>,
    /// Only cases forwarded to a department (a department token without a user sees those).
    pub forwarded_only: bool,
    /// The cases that may have been open in `[from, to)` (arrived before `to` and not resolved
    /// for good before `from`) instead of those arrived in it: the backlog reads these.
    pub open_during: bool,
}

/// Reading report facts.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Calls `each` with every case of `q` in arrival order, a page at a time; answers how many.
    async fn report_facts(
        &self,
        q: &FactsQuery,
        each: &mut (dyn FnMut(CaseFacts) + Send),
    ) -> crate::Result<u64>;

    /// One page of at most `limit` cases of `q` in arrival order, after `after` (the arrival and
    /// id of the previous page's last case): the per-case export reads a year this way.
    async fn report_cases(
        &self,
        q: &FactsQuery,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: usize,
    ) -> crate::Result<Vec<CaseExport>>;
}

/// One case of the per-case export: its report facts, status and resolution time. No citizen
/// data: the store reads none for it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseExport {
    pub facts: CaseFacts,
    pub status: String,
    pub resolved_at: Option<DateTime<Utc>>,
}

#[async_trait]
impl<S: SqlCore> ReportStore for S {
    async fn report_facts(
        &self,
        q: &FactsQuery,
        each: &mut (dyn FnMut(CaseFacts) + Send),
    ) -> crate::Result<u64> {
        facts(self.db(), q, each).await
    }

    async fn report_cases(
        &self,
        q: &FactsQuery,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: usize,
    ) -> crate::Result<Vec<CaseExport>> {
        let db = self.db();
        page(db, &calendars(db).await?, q, after, limit).await
    }
}

#[derive(FromRow)]
pub(crate) struct CaseRow {
    id: Uuid,
    first_message_at: i64,
    channel_kind: Option<String>,
    visibility: Option<String>,
    channel_account_id: Uuid,
    theme: Option<String>,
    kind: Option<String>,
    target_group: Option<String>,
    team: Option<String>,
    department_id: Option<Uuid>,
    assignee: Option<String>,
    priority: String,
    status: String,
    resolved_at: Option<i64>,
}

#[derive(FromRow)]
pub(crate) struct CountRow {
    case_id: Uuid,
    direction: String,
    n: i64,
}

#[derive(FromRow)]
pub(crate) struct ClockRow {
    case_id: Uuid,
    kind: String,
    run: i32,
    state: String,
    stop_reason: Option<String>,
    segments: Json<Vec<Segment>>,
    calendar_id: Option<Uuid>,
}

#[derive(FromRow)]
pub(crate) struct ForwardRow {
    case_id: Uuid,
}

/// The visibility of the case's first citizen message (the `messages_case` index serves it).
const FIRST_VISIBILITY: &str = "(SELECT m.visibility FROM messages m WHERE m.case_id = cases.id \
     AND m.direction = 'inbound' ORDER BY m.sent_at, m.id LIMIT 1)";

/// Adds the `WHERE` conditions of `q`'s filters (beyond the period) to `sql`.
fn filters(sql: &mut Query, dialect: Dialect, q: &FactsQuery) {
    for l in &q.labels {
        dialect.push_label(sql, l);
    }
    if let Some(text) = q.q.as_deref() {
        dialect.push_case_search(sql, &crate::agent::search_words(text));
    }
    let mut eq = |col: &str, a: Arg| {
        sql.push(&format!(" AND {col} = ")).push_bind(a);
    };
    if let Some(a) = q.channel_account_id {
        eq("channel_account_id", a.into());
    }
    if let Some(s) = q.status {
        eq("status", s.as_str().into());
    }
    if let Some(Some(a)) = &q.assignee {
        eq("assignee", a.as_str().into());
    }
    if let Some(t) = &q.team {
        eq("team", t.as_str().into());
    }
    if let Some(t) = &q.theme {
        eq("theme", t.as_str().into());
    }
    if let Some(k) = q.kind {
        eq("kind", k.as_str().into());
    }
    if let Some(p) = q.priority {
        eq("priority", p.as_str().into());
    }
    if let Some(d) = q.department_id {
        eq("department_id", d.into());
    }
    if let Some(v) = q.visibility {
        eq(FIRST_VISIBILITY, v.as_str().into());
    }
    if let Some(None) = q.assignee {
        sql.push(" AND assignee IS NULL");
    }
    if q.forwarded_only {
        sql.push(" AND department_id IS NOT NULL");
    }
}

/// Streams the facts of `q` to `each`, page by page.
pub(crate) async fn facts(
    db: &Db,
    q: &FactsQuery,
    each: &mut (dyn FnMut(CaseFacts) + Send),
) -> crate::Result<u64> {
    // Calendars once per report: a clock's business time is measured on its own calendar.
    let config = calendars(db).await?;
    let mut after = None;
    let mut total = 0u64;
    loop {
        let cases = page(db, &config, q, after, PAGE).await?;
        let full = cases.len() == PAGE;
        after = cases.last().map(|c| (c.facts.arrival, c.facts.case_id));
        for c in cases {
            each(c.facts);
            total += 1;
        }
        if !full {
            break;
        }
    }
    Ok(total)
}

/// The calendars, with the revision read before them (the stored facts are written only while
/// it holds: `stored::write`).
async fn calendars(db: &Db) -> crate::Result<SlaConfig> {
    let rev = stored::config_rev(db).await?;
    let versions: Vec<VersionRow> =
        query("SELECT calendar_id, effective_from, spec FROM sla_calendar_versions")
            .fetch_all(db.read())
            .await?;
    Ok(build_config(rev, versions, Vec::new()))
}

/// One page of at most `limit` cases of `q` in arrival order, after the case `after` (its
/// arrival and id).
#[derive(sqlx::FromRow)]
struct SurveyFactRow {
    case_id: Uuid,
    kind: String,
    score: Option<i64>,
    comment: Option<String>,
    answered_at: Option<i64>,
}

async fn page(
    db: &Db,
    config: &SlaConfig,
    q: &FactsQuery,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: usize,
) -> crate::Result<Vec<CaseExport>> {
    let (from, to) = (to_ms(q.from), to_ms(q.to));
    let (after_at, after_id) = after.map_or((i64::MIN, Uuid::nil()), |(t, id)| (to_ms(t), id));
    // The channel kind sits on the case since migration 0016; the account's is the fallback.
    let mut page = query(format!(
        "SELECT id, first_message_at, \
         COALESCE(channel_kind, (SELECT a.kind FROM channel_accounts a \
         WHERE a.id = cases.channel_account_id)) AS channel_kind, \
         {FIRST_VISIBILITY} AS visibility, channel_account_id, theme, kind, target_group, \
         team, department_id, assignee, priority, status, resolved_at FROM cases \
         WHERE merged_into IS NULL",
    ));
    if q.open_during {
        // `resolved_at` is the last resolution: a case resolved (or closed) before `from` and
        // not reopened since was not open in the period.
        page.push(" AND first_message_at < ")
            .push_bind(to)
            .push(" AND (status NOT IN ('resolved', 'closed') OR resolved_at IS NULL OR resolved_at >= ")
            .push_bind(from)
            .push(")");
    } else {
        page.push(" AND first_message_at >= ")
            .push_bind(from)
            .push(" AND first_message_at < ")
            .push_bind(to);
    }
    page.push(" AND (first_message_at > ")
        .push_bind(after_at)
        .push(" OR (first_message_at = ")
        .push_bind(after_at)
        .push(" AND id > ")
        .push_bind(after_id)
        .push("))");
    filters(&mut page, db.dialect(), q);
    page.push(&format!(" ORDER BY first_message_at, id LIMIT {limit}"));
    let cases: Vec<CaseRow> = page.fetch_all(db.read()).await?;
    if cases.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = cases.iter().map(|c| c.id).collect();
    // The stored facts first, before any raw row (`stored`): the raw rows are read only for the
    // cases without them.
    let mut found = stored::read(db, &ids).await?;
    let raw: Vec<Uuid> = ids
        .iter()
        .copied()
        .filter(|id| !found.facts.contains_key(id))
        .collect();
    let of_ids = |ids: &[Uuid], sql: &str, tail: &str| {
        let mut q = query(sql);
        q.push(" WHERE case_id IN ")
            .push_list(ids.iter().copied())
            .push(tail);
        q
    };
    let of_page = |sql: &str, tail: &str| of_ids(&ids, sql, tail);
    let of_raw = |sql: &str, tail: &str| of_ids(&raw, sql, tail);

    let counted: Vec<CountRow> = if raw.is_empty() {
        Vec::new()
    } else {
        of_raw(
            "SELECT case_id, direction, COUNT(*) AS n FROM messages",
            " GROUP BY case_id, direction",
        )
        .fetch_all(db.read())
        .await?
    };
    let mut counts: HashMap<Uuid, (i64, i64)> = HashMap::new();
    for r in counted {
        let e = counts.entry(r.case_id).or_default();
        if r.direction == "inbound" {
            e.0 += r.n;
        } else {
            e.1 += r.n;
        }
    }

    let runs: Vec<ClockRow> = if raw.is_empty() {
        Vec::new()
    } else {
        of_raw(
            "SELECT case_id, kind, run, state, stop_reason, segments, calendar_id FROM sla_clocks",
            "",
        )
        .fetch_all(db.read())
        .await?
    };
    let mut clocks: HashMap<Uuid, Vec<ClockRun<'_>>> = HashMap::new();
    for r in runs {
        // A row this version does not know (a clock kind or state added later) is left out
        // rather than failing the whole report.
        let (Some(kind), Some(state)) = (clock_kind(&r.kind), clock_state(&r.state)) else {
            continue;
        };
        clocks.entry(r.case_id).or_default().push(ClockRun {
            kind,
            run: r.run,
            state,
            stop_reason: r.stop_reason.as_deref().and_then(StopReason::parse),
            segments: r.segments.0,
            calendar: config.calendar(r.calendar_id),
        });
    }

    let forwarded: std::collections::HashSet<Uuid> = if raw.is_empty() {
        Default::default()
    } else {
        of_raw("SELECT DISTINCT case_id FROM case_forwards", "")
            .fetch_all::<ForwardRow>(db.read())
            .await?
            .into_iter()
            .map(|r| r.case_id)
            .collect()
    };

    // The surveys that went out (issue 16), with their scores and comments once answered.
    let surveyed: Vec<SurveyFactRow> = of_page(
        "SELECT case_id, kind, score, comment, answered_at FROM (SELECT s.case_id, s.kind, \
         s.score, s.comment, s.answered_at FROM case_surveys s \
         JOIN outbox_replies r ON r.id = s.reply_id WHERE r.sent_at IS NOT NULL) sv",
        "",
    )
    .fetch_all(db.read())
    .await?;
    type SurveyFact = ((SurveyKind, Option<u8>), Option<(String, DateTime<Utc>)>);
    let surveys: HashMap<Uuid, SurveyFact> = surveyed
        .into_iter()
        .filter_map(|r| {
            let kind = SurveyKind::parse(&r.kind)?;
            let comment = r.comment.zip(r.answered_at.map(from_ms));
            Some((
                r.case_id,
                ((kind, r.score.and_then(|s| u8::try_from(s).ok())), comment),
            ))
        })
        .collect();

    // Computed facts that can no longer change by themselves (no clock running or paused) and
    // whose row exists, to store.
    let mut to_store = Vec::new();
    let out = cases
        .into_iter()
        .map(|c| {
            let (messages_in, messages_out) = counts.get(&c.id).copied().unwrap_or_default();
            let mut f = CaseFacts {
                case_id: c.id,
                arrival: from_ms(c.first_message_at),
                channel: c.channel_kind.unwrap_or_default(),
                visibility: c.visibility.unwrap_or_default(),
                account: c.channel_account_id,
                theme: c.theme,
                kind: c.kind,
                target_group: c.target_group,
                team: c.team,
                department: c.department_id,
                agent: c.assignee,
                priority: c.priority,
                messages_in,
                messages_out,
                forwarded: forwarded.contains(&c.id),
                survey: surveys.get(&c.id).map(|s| s.0),
                survey_comment: surveys.get(&c.id).and_then(|s| s.1.clone()),
                // The clock figures, from the runs below.
                ..CaseFacts::default()
            };
            if let Some(kept) = found.facts.remove(&c.id) {
                kept.apply(&mut f);
            } else {
                let runs = clocks.get(&c.id).map_or(&[][..], Vec::as_slice);
                f.apply_clocks(runs);
                let settled = runs.iter().all(|r| r.state.is_stopped());
                if let (true, Some(gen)) = (settled, found.gen.get(&c.id)) {
                    to_store.push((c.id, *gen, stored::Stored::of(&f)));
                }
            }
            if f.open.is_empty() {
                // No resolution clock (a policy without a resolution norm): open from arrival
                // to the last resolution.
                f.open = vec![(f.arrival, c.resolved_at.map(from_ms))];
            }
            CaseExport {
                facts: f,
                status: c.status,
                resolved_at: c.resolved_at.map(from_ms),
            }
        })
        .collect();
    // Storing is an optimisation: a report does not fail because of it.
    if let Err(e) = stored::write(db, config.rev, &to_store).await {
        tracing::warn!(error = %e, "report facts not stored");
    }
    Ok(out)
}

fn clock_kind(s: &str) -> Option<ClockKind> {
    Some(match s {
        "reaction" => ClockKind::Reaction,
        "next_reaction" => ClockKind::NextReaction,
        "resolution" => ClockKind::Resolution,
        "department" => ClockKind::Department,
        _ => return None,
    })
}

fn clock_state(s: &str) -> Option<ClockState> {
    Some(match s {
        "running" => ClockState::Running,
        "paused" => ClockState::Paused,
        "met" => ClockState::Met,
        "missed" => ClockState::Missed,
        "cancelled" => ClockState::Cancelled,
        _ => return None,
    })
}
