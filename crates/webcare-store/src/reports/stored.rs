//! The pre-aggregated part of a case's report facts (`case_report_facts`, migration 0036;
//! `docs/REPORTS.md`, "Pre-aggregation"): what the reports derive from the case's clocks,
//! message counts and forwards. Dimensions (theme, team, ...), status and surveys are not stored:
//! they change without those writes and are read from their own rows every time.
//!
//! A row's `gen` goes up (and `facts` is emptied) in the transaction of every write to the case's
//! clocks, messages or forwards and of every calendar change (the triggers of 0036). A report
//! reads `gen` before the raw rows and stores what it computed only if `gen` and the calendars'
//! revision are still what it read, so a stored row always equals what the raw rows give.

use crate::db::{query, Db};
use crate::time::{from_ms, to_ms};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::FromRow;
use std::collections::HashMap;
use uuid::Uuid;
use webcare_domain::reports::{CaseFacts, Share, Span};

/// The layout of `facts`. Bump it when a stored field is added or changes meaning (e.g. a new
/// clock-derived `CaseFacts` field): rows of another layout are read as empty and recomputed.
pub(crate) const VERSION: i32 = 1;

/// The stored fields, times in Unix milliseconds, spans as (wall, business) seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Stored {
    messages_in: i64,
    messages_out: i64,
    forwarded: bool,
    reaction: Option<(i64, i64)>,
    reaction_waiting_since: Option<i64>,
    next_reactions: Vec<(i64, i64)>,
    next_reaction_met: (i64, i64),
    resolution: Option<(i64, i64)>,
    department_time: Option<(i64, i64)>,
    reaction_met: Option<bool>,
    resolution_met: Option<bool>,
    department_met: Option<bool>,
    /// From the resolution runs only: the fallback from `cases.resolved_at` (a case without a
    /// resolution clock) is applied on reading, as that column changes without a clock write.
    open: Vec<(i64, Option<i64>)>,
}

fn span(s: Span) -> (i64, i64) {
    (s.wall_seconds, s.business_seconds)
}

fn unspan((wall_seconds, business_seconds): (i64, i64)) -> Span {
    Span {
        wall_seconds,
        business_seconds,
    }
}

impl Stored {
    /// The stored part of `f` (its clock figures before the `resolved_at` fallback).
    pub(crate) fn of(f: &CaseFacts) -> Stored {
        Stored {
            messages_in: f.messages_in,
            messages_out: f.messages_out,
            forwarded: f.forwarded,
            reaction: f.reaction.map(span),
            reaction_waiting_since: f.reaction_waiting_since.map(to_ms),
            next_reactions: f.next_reactions.iter().copied().map(span).collect(),
            next_reaction_met: (f.next_reaction_met.part, f.next_reaction_met.of),
            resolution: f.resolution.map(span),
            department_time: f.department_time.map(span),
            reaction_met: f.reaction_met,
            resolution_met: f.resolution_met,
            department_met: f.department_met,
            open: f
                .open
                .iter()
                .map(|(s, e)| (to_ms(*s), e.map(to_ms)))
                .collect(),
        }
    }

    /// Sets the stored fields on `f` (whose dimensions the caller read).
    pub(crate) fn apply(self, f: &mut CaseFacts) {
        f.messages_in = self.messages_in;
        f.messages_out = self.messages_out;
        f.forwarded = self.forwarded;
        f.reaction = self.reaction.map(unspan);
        f.reaction_waiting_since = self.reaction_waiting_since.map(from_ms);
        f.next_reactions = self.next_reactions.into_iter().map(unspan).collect();
        f.next_reaction_met = Share {
            part: self.next_reaction_met.0,
            of: self.next_reaction_met.1,
        };
        f.resolution = self.resolution.map(unspan);
        f.department_time = self.department_time.map(unspan);
        f.reaction_met = self.reaction_met;
        f.resolution_met = self.resolution_met;
        f.department_met = self.department_met;
        f.open = self
            .open
            .into_iter()
            .map(|(s, e)| (from_ms(s), e.map(from_ms)))
            .collect();
    }
}

#[derive(FromRow)]
struct Row {
    case_id: Uuid,
    gen: i64,
    version: Option<i32>,
    facts: Option<Json<Stored>>,
}

/// What a page found stored: per case its `gen`, and its facts when current.
#[derive(Default)]
pub(crate) struct Found {
    pub gen: HashMap<Uuid, i64>,
    pub facts: HashMap<Uuid, Stored>,
}

/// The stored rows of `ids`. Read before any raw row of these cases (see the module doc).
pub(crate) async fn read(db: &Db, ids: &[Uuid]) -> crate::Result<Found> {
    let mut q =
        query("SELECT case_id, gen, version, facts FROM case_report_facts WHERE case_id IN ");
    q.push_list(ids.iter().copied());
    let rows: Vec<Row> = q.fetch_all(db.read()).await?;
    let mut found = Found::default();
    for r in rows {
        found.gen.insert(r.case_id, r.gen);
        if let (Some(VERSION), Some(f)) = (r.version, r.facts) {
            found.facts.insert(r.case_id, f.0);
        }
    }
    Ok(found)
}

/// The calendars' revision, read before the calendars a report measures with.
pub(crate) async fn config_rev(db: &Db) -> crate::Result<i64> {
    query("SELECT rev FROM sla_config_rev WHERE id = 1")
        .scalar(db.read())
        .await
}

/// Stores `rows` (case, the `gen` read before its raw rows, its facts) where `gen` and the
/// calendars' revision `rev` are unchanged; a row changed since is left empty.
pub(crate) async fn write(db: &Db, rev: i64, rows: &[(Uuid, i64, Stored)]) -> crate::Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    // One statement a page: per-row values through `CASE case_id WHEN ...`, rows found by key.
    let mut q = query("UPDATE case_report_facts SET version = ");
    q.push_bind(VERSION).push(", facts = CASE case_id");
    for (id, _, f) in rows {
        q.push(" WHEN ")
            .push_bind(*id)
            .push(" THEN ")
            .push_bind(crate::db::json(f));
    }
    q.push(" END WHERE case_id IN ")
        .push_list(rows.iter().map(|r| r.0))
        .push(" AND gen = CASE case_id");
    for (id, gen, _) in rows {
        q.push(" WHEN ")
            .push_bind(*id)
            .push(" THEN ")
            .push_bind(*gen);
    }
    q.push(" END AND (SELECT rev FROM sla_config_rev WHERE id = 1) = ")
        .push_bind(rev);
    q.execute(db.write()).await
}
