//! The facts the reports are computed from (`docs/REPORTS.md`): per case arrived in a period, its
//! dimensions, message counts, clock runs and forwards. Read in pages of [`PAGE`] cases in arrival
//! order (keyset on `(first_message_at, id)`), so a year of a national desk streams with bounded
//! memory. One function over any sqlx backend with plain `$n` SQL; the figures themselves are
//! computed in `webcare_domain::reports`, never in SQL, so both databases agree.

use crate::postgres::PgStore;
use crate::sla::{build_config, VersionRow};
use crate::sqlite::SqliteStore;
use crate::time::{from_ms, to_ms};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{Database, Encode, Executor, FromRow, Type};
use std::collections::HashMap;
use uuid::Uuid;
use webcare_domain::reports::{CaseFacts, ClockRun};
use webcare_domain::sla::{ClockKind, ClockState, Segment, StopReason};
use webcare_domain::{CaseKind, CaseStatus, Priority};

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
    /// Only cases forwarded to a department (a department token without a user sees those).
    pub forwarded_only: bool,
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
}

#[async_trait]
impl ReportStore for SqliteStore {
    async fn report_facts(
        &self,
        q: &FactsQuery,
        each: &mut (dyn FnMut(CaseFacts) + Send),
    ) -> crate::Result<u64> {
        facts(&mut *self.pool.acquire().await?, q, each).await
    }
}

#[async_trait]
impl ReportStore for PgStore {
    async fn report_facts(
        &self,
        q: &FactsQuery,
        each: &mut (dyn FnMut(CaseFacts) + Send),
    ) -> crate::Result<u64> {
        facts(&mut *self.pool.acquire().await?, q, each).await
    }
}

#[derive(FromRow)]
pub(crate) struct CaseRow {
    id: Uuid,
    first_message_at: i64,
    channel_kind: Option<String>,
    channel_account_id: Uuid,
    theme: Option<String>,
    kind: Option<String>,
    target_group: Option<String>,
    team: Option<String>,
    department_id: Option<Uuid>,
    assignee: Option<String>,
    priority: String,
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

/// A bound value of the filter SQL.
enum Arg {
    Text(String),
    Id(Uuid),
}

/// `$from, $from+1, ...`: `count` placeholders.
fn placeholders(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `WHERE` conditions of `q` after the period and keyset (`$1`..`$4`), with their values.
fn filters(q: &FactsQuery) -> (String, Vec<Arg>) {
    let mut sql = String::new();
    let mut args = Vec::new();
    let mut add = |col: &str, a: Arg| {
        args.push(a);
        sql.push_str(&format!(" AND {col} = ${}", args.len() + 4));
    };
    if let Some(a) = q.channel_account_id {
        add("channel_account_id", Arg::Id(a));
    }
    if let Some(s) = q.status {
        add("status", Arg::Text(s.as_str().into()));
    }
    if let Some(Some(a)) = &q.assignee {
        add("assignee", Arg::Text(a.clone()));
    }
    if let Some(t) = &q.team {
        add("team", Arg::Text(t.clone()));
    }
    if let Some(t) = &q.theme {
        add("theme", Arg::Text(t.clone()));
    }
    if let Some(k) = q.kind {
        add("kind", Arg::Text(k.as_str().into()));
    }
    if let Some(p) = q.priority {
        add("priority", Arg::Text(p.as_str().into()));
    }
    if let Some(d) = q.department_id {
        add("department_id", Arg::Id(d));
    }
    if let Some(None) = q.assignee {
        sql.push_str(" AND assignee IS NULL");
    }
    if q.forwarded_only {
        sql.push_str(" AND department_id IS NOT NULL");
    }
    (sql, args)
}

/// Streams the facts of `q` to `each`, page by page.
pub(crate) async fn facts<DB, C>(
    conn: &mut C,
    q: &FactsQuery,
    each: &mut (dyn FnMut(CaseFacts) + Send),
) -> crate::Result<u64>
where
    DB: Database,
    for<'a> Uuid: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'a> String: Encode<'a, DB> + Type<DB>,
    for<'r> CaseRow: FromRow<'r, DB::Row>,
    for<'r> CountRow: FromRow<'r, DB::Row>,
    for<'r> ClockRow: FromRow<'r, DB::Row>,
    for<'r> ForwardRow: FromRow<'r, DB::Row>,
    for<'r> VersionRow: FromRow<'r, DB::Row>,
    for<'c> &'c mut C: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    // Calendars once per report: a clock's business time is measured on its own calendar.
    let versions: Vec<VersionRow> = sqlx::query_as::<DB, VersionRow>(
        "SELECT calendar_id, effective_from, spec FROM sla_calendar_versions",
    )
    .fetch_all(&mut *conn)
    .await?;
    let config = build_config(0, versions, Vec::new());

    let (filter_sql, args) = filters(q);
    // The channel kind sits on the case since migration 0016; the account's is the fallback.
    let page_sql = format!(
        "SELECT id, first_message_at, \
         COALESCE(channel_kind, (SELECT a.kind FROM channel_accounts a WHERE a.id = cases.channel_account_id)) AS channel_kind, \
         channel_account_id, theme, kind, target_group, team, department_id, assignee, priority \
         FROM cases WHERE merged_into IS NULL AND first_message_at >= $1 AND first_message_at < $2 \
         AND (first_message_at > $3 OR (first_message_at = $3 AND id > $4)){filter_sql} \
         ORDER BY first_message_at, id LIMIT {PAGE}"
    );
    let (from, to) = (to_ms(q.from), to_ms(q.to));
    let (mut after_at, mut after_id) = (i64::MIN, Uuid::nil());
    let mut total = 0u64;
    loop {
        let mut query = sqlx::query_as::<DB, CaseRow>(&page_sql)
            .bind(from)
            .bind(to)
            .bind(after_at)
            .bind(after_id);
        for a in &args {
            query = match a {
                Arg::Text(v) => query.bind(v.clone()),
                Arg::Id(v) => query.bind(*v),
            };
        }
        let cases = query.fetch_all(&mut *conn).await?;
        let Some(last) = cases.last() else { break };
        (after_at, after_id) = (last.first_message_at, last.id);
        let full = cases.len() == PAGE;
        let ids: Vec<Uuid> = cases.iter().map(|c| c.id).collect();
        let list = placeholders(1, ids.len());

        let sql = format!(
            "SELECT case_id, direction, COUNT(*) AS n FROM messages WHERE case_id IN ({list}) \
             GROUP BY case_id, direction"
        );
        let mut cq = sqlx::query_as::<DB, CountRow>(&sql);
        for id in &ids {
            cq = cq.bind(*id);
        }
        let mut counts: HashMap<Uuid, (i64, i64)> = HashMap::new();
        for r in cq.fetch_all(&mut *conn).await? {
            let e = counts.entry(r.case_id).or_default();
            if r.direction == "inbound" {
                e.0 += r.n;
            } else {
                e.1 += r.n;
            }
        }

        let sql = format!(
            "SELECT case_id, kind, run, state, stop_reason, segments, calendar_id FROM sla_clocks \
             WHERE case_id IN ({list})"
        );
        let mut kq = sqlx::query_as::<DB, ClockRow>(&sql);
        for id in &ids {
            kq = kq.bind(*id);
        }
        let mut clocks: HashMap<Uuid, Vec<ClockRun<'_>>> = HashMap::new();
        for r in kq.fetch_all(&mut *conn).await? {
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

        let sql = format!("SELECT DISTINCT case_id FROM case_forwards WHERE case_id IN ({list})");
        let mut fq = sqlx::query_as::<DB, ForwardRow>(&sql);
        for id in &ids {
            fq = fq.bind(*id);
        }
        let forwarded: std::collections::HashSet<Uuid> = fq
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| r.case_id)
            .collect();

        for c in cases {
            let (messages_in, messages_out) = counts.get(&c.id).copied().unwrap_or_default();
            let mut f = CaseFacts {
                case_id: c.id,
                arrival: from_ms(c.first_message_at),
                channel: c.channel_kind.unwrap_or_default(),
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
                reaction: None,
                reaction_waiting_since: None,
                resolution: None,
                department_time: None,
                reaction_met: None,
                resolution_met: None,
                department_met: None,
                forwarded: forwarded.contains(&c.id),
            };
            if let Some(runs) = clocks.get(&c.id) {
                f.apply_clocks(runs);
            }
            each(f);
            total += 1;
        }
        if !full {
            break;
        }
    }
    Ok(total)
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
