//! SLA storage: versioned calendars and policies, per-case clocks, alerts (warnings and breaches as
//! case events) with notification leases, and the hooks other parts of the desk call when a case
//! changes. The math and the clock mechanics are pure and live in `webcare_domain::sla` (runs in
//! `webcare_domain::sla::clocks`); this module keeps state: rows to records and back, and the SQL.
//!
//! Choices, in one place:
//! - Clocks are rows with their segments as JSON. `due_at`/`warning_at` are evaluated by the domain
//!   crate whenever segments change and stored, so the inbox sorts on them and the timer worker
//!   sleeps until the next one. `status` is the highest status *fired* so far (alerts recorded);
//!   `next_fire_at` is when the next warning or breach falls due (a breach fires 1 ms after
//!   `due_at`: a reply exactly at the due instant still meets the norm).
//! - `cases.due_at` is the earliest `due_at` of the case's running (not paused, not stopped) clocks;
//!   `cases.due_sort` is the same with NULL as the largest value (keyset sort); `cases.sla_status`
//!   is the worst fired status of its unstopped clocks.
//! - Exactly once: an alert is unique per (case, clock, run, generation, status); firing happens in one
//!   transaction that locks the due clock rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, `BEGIN
//!   IMMEDIATE` on SQLite). Notifications are handed out under a lease (`lease_owner`,
//!   `lease_until`) and marked `notified_at` after the sink accepted them.
//! - Without a linked calendar (policy `calendarId`, else the channel account's `calendarId`) the
//!   built-in default applies: Monday to Friday 08:30-17:00 Europe/Amsterdam, Dutch holidays.
//! - Without a matching policy the defaults apply ([`SlaDefaults`]): reaction 240, resolution
//!   1440 and department 480 business minutes, warning at 80 %.
//! - Classification after the start ([`SlaStore::on_classified`]): the unstopped reaction,
//!   next-reaction and resolution clocks follow the policy that matches now (the version in force
//!   at each clock's start), by the rule of `webcare_domain::sla::reselect`; a clock whose norms
//!   change gets a new `generation`, so a warning or breach re-armed by a later deadline is
//!   recorded again. Department clocks keep the department's agreed answer time; a clock whose
//!   norm the new policy leaves out keeps its norms; a norm the new policy adds does not start a
//!   clock (clocks start on their events).
//! - Calendars and policies are cached per process; a change made on another node is seen within
//!   [`CONFIG_TTL`] (every change bumps `sla_config_rev`).

use crate::agent_events::{insert_events, EventRecord, NewEvent};
use crate::db::{json, query, Arg, Conn, Db, FromBoth, Query, SqlCore, Tx};
use crate::sql::into_page;
use crate::time::{from_ms, opt_from_ms, to_ms};
use crate::{Page, PageRequest, Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use uuid::Uuid;
use webcare_domain::sla::clocks::{alert_due, new_clock, norms_for, plan_inbound, ClockFacts};
pub use webcare_domain::sla::clocks::{
    default_calendar, default_calendar_spec, ClockRecord, SlaConfig, SlaDefaults,
};
use webcare_domain::sla::BusinessHours;
use webcare_domain::sla::{reselect, CaseFacts, Reselection};
use webcare_domain::sla::{
    Budget, CalendarSpec, CalendarVersions, ClockKind, ClockNorms, ClockStatus, ClockView,
    MinutesKind, Segment, SlaPolicy, StopReason,
};
use webcare_domain::CaseStatus;

/// How long a node trusts its cached calendars and policies before checking the revision.
pub const CONFIG_TTL: Duration = Duration::from_secs(1);

/// `due_sort` of a case without a running clock.
pub const NO_DUE: i64 = i64::MAX;

// ------------------------------------------------------------------------------------ records

/// One calendar version as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarVersionRecord {
    pub effective_from: DateTime<Utc>,
    pub spec: CalendarSpec,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CalendarRecord {
    pub id: Uuid,
    pub name: String,
    /// Sorted by `effective_from`.
    pub versions: Vec<CalendarVersionRecord>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A policy version.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Policy))]
#[serde(rename_all = "camelCase")]
pub struct PolicyRecord {
    pub id: Uuid,
    #[serde(flatten)]
    pub policy: SlaPolicy,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A warning or breach, recorded once.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    pub id: Uuid,
    pub case_id: Uuid,
    pub clock_id: Uuid,
    pub clock: ClockKind,
    pub run: i32,
    pub status: ClockStatus,
    /// The instant the warning or breach fell due.
    pub due_at: DateTime<Utc>,
    /// When it was recorded (at or just after `due_at`; later when the desk was down).
    pub fired_at: DateTime<Utc>,
    /// When the notification goes out: `fired_at`, or the next opening when that is outside the
    /// clock's calendar's opening hours.
    pub notify_at: DateTime<Utc>,
    pub notified_at: Option<DateTime<Utc>>,
}

/// One clock that followed a newly matching policy after a classification.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyChange {
    pub clock: ClockKind,
    pub run: i32,
    /// Policy names; `None` for the configured defaults.
    pub from_policy: Option<String>,
    pub to_policy: Option<String>,
    pub from_due: Option<DateTime<Utc>>,
    pub to_due: Option<DateTime<Utc>>,
    /// The fired status before and after (lower after: re-armed for the new deadline).
    pub from_status: ClockStatus,
    pub to_status: ClockStatus,
}

impl PolicyChange {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "clock": kind_str(self.clock),
            "run": self.run,
            "from": {"policy": self.from_policy, "dueAt": self.from_due, "status": status_str(self.from_status)},
            "to": {"policy": self.to_policy, "dueAt": self.to_due, "status": status_str(self.to_status)},
        })
    }
}

/// What a case change means for its clocks; applied in the transaction that writes the change
/// ([`crate::AgentStore::write_case`]), so the change and its clock effects commit together.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseEffects {
    pub case_id: Uuid,
    pub before: CaseStatus,
    pub after: CaseStatus,
    /// Theme, kind or priority changed: the clocks follow the policy that matches now.
    pub classified: bool,
    /// Forwarded (also again after a hand-back) to this department: its clock starts.
    pub forward_to: Option<Uuid>,
    /// The department answered: its clock stops.
    pub answered: bool,
    /// Resolved as "geen reactie nodig", with this reason.
    pub no_reply_reason: Option<String>,
}

impl CaseEffects {
    /// Whether the change means anything for the clocks.
    pub fn any(&self) -> bool {
        self.classified
            || self.forward_to.is_some()
            || self.answered
            || self.no_reply_reason.is_some()
            || self.before != self.after
    }
}

// --------------------------------------------------------------------------- the repository

/// SLA state of the desk. Hooks (`on_*`) are idempotent-ish and cheap; call them after the change
/// they describe is stored.
#[async_trait]
pub trait SlaStore: Send + Sync {
    /// Replaces the defaults used when no policy matches (from configuration, at start-up).
    fn set_sla_defaults(&self, defaults: SlaDefaults);
    fn sla_defaults(&self) -> SlaDefaults;
    /// Notified whenever clocks change on this node, so the timer worker can re-plan.
    fn sla_changes(&self) -> Arc<Notify>;

    async fn create_calendar(
        &self,
        name: &str,
        effective_from: DateTime<Utc>,
        spec: CalendarSpec,
    ) -> Result<CalendarRecord>;
    /// Adds a version (or replaces the one with the same `effective_from`); renames when `name`
    /// is given. `None` when there is no such calendar.
    async fn put_calendar_version(
        &self,
        id: Uuid,
        name: Option<String>,
        effective_from: DateTime<Utc>,
        spec: CalendarSpec,
    ) -> Result<Option<CalendarRecord>>;
    async fn get_calendar(&self, id: Uuid) -> Result<Option<CalendarRecord>>;
    async fn list_calendars(&self, page: PageRequest) -> Result<Page<CalendarRecord>>;
    /// The validated, cached calendar; `None` when there is no such calendar.
    async fn calendar_versions(&self, id: Uuid) -> Result<Option<CalendarVersions>>;

    /// Stores a policy version; `Conflict` when (name, effectiveFrom) exists.
    async fn create_policy(&self, policy: SlaPolicy) -> Result<PolicyRecord>;
    /// Adds a version of the policy `id`'s name, or replaces `id` when `effectiveFrom` is equal.
    async fn put_policy(&self, id: Uuid, policy: SlaPolicy) -> Result<Option<PolicyRecord>>;
    async fn get_policy(&self, id: Uuid) -> Result<Option<PolicyRecord>>;
    /// All versions, ordered by order, name, effectiveFrom.
    async fn list_policies(&self) -> Result<Vec<PolicyRecord>>;

    /// Every clock run of a case, by kind and run.
    async fn case_clocks(&self, case_id: Uuid) -> Result<Vec<ClockRecord>>;
    /// The latest run of each clock kind, evaluated at `now`.
    async fn case_clock_views(
        &self,
        case_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Vec<(ClockKind, ClockView)>>;

    /// A person's public or private reply was sent (never the out-of-hours auto-reply): stops the
    /// reaction and next-reaction clocks with reason `reply` (a process answer only when
    /// configured to, reason `holding_answer`), takes a `new` case to `open`, and records a
    /// pending department answer as used (`sent`).
    async fn on_reply_sent(
        &self,
        case_id: Uuid,
        at: DateTime<Utc>,
        process_answer: bool,
    ) -> Result<()>;
    /// Call after every status change: waiting_on_citizen pauses resolution, leaving it resumes,
    /// resolved/closed stop the clocks, resolved -> open starts a new resolution run.
    async fn on_status_change(
        &self,
        case_id: Uuid,
        from: CaseStatus,
        to: CaseStatus,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// A case was forwarded to a department: starts a department clock (budget and calendar
    /// default to the policy's, then the defaults).
    async fn on_forward(
        &self,
        case_id: Uuid,
        department_minutes: Option<u32>,
        calendar_id: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// The department answered (or handed the case back): stops the department clock.
    async fn on_department_answer(&self, case_id: Uuid, at: DateTime<Utc>) -> Result<()>;
    /// The agent resolves the case as "geen reactie nodig" with `reason`: the unstopped
    /// reaction clocks stop as `cancelled` (call before [`SlaStore::on_status_change`]).
    async fn on_no_reply_needed(
        &self,
        case_id: Uuid,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// The case was merged into another: its unstopped clocks stop (reason `merged`).
    async fn on_merged(&self, case_id: Uuid, at: DateTime<Utc>) -> Result<()>;
    /// Every run of every clock of the case, evaluated at `now`, in start order.
    async fn case_clock_runs(
        &self,
        case_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Vec<(ClockKind, i32, ClockView)>>;
    /// The case was classified (theme, kind or priority changed; call after that change is
    /// stored): its unstopped clocks follow the policy that matches now (see the module notes).
    /// Writes the clocks and the case event `sla.policy_changed` (audit trail, actor
    /// `system:sla`, the old and new policy, due time and status per clock) in one transaction.
    /// Returns the clocks that changed.
    async fn on_classified(&self, case_id: Uuid, at: DateTime<Utc>) -> Result<Vec<PolicyChange>>;

    /// Alerts, newest first, optionally of one status.
    async fn list_alerts(
        &self,
        status: Option<ClockStatus>,
        page: PageRequest,
    ) -> Result<Page<AlertRecord>>;
    /// Fires every warning and breach due at `now` (at most `limit` clocks): records the alerts
    /// (exactly once across nodes) and returns the new ones.
    async fn fire_due_timers(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<AlertRecord>>;
    /// Leases alerts whose notification is due and not yet sent.
    async fn claim_notifications(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        lease: chrono::Duration,
        limit: u32,
    ) -> Result<Vec<AlertRecord>>;
    /// Marks delivered alerts (one statement for the batch).
    async fn mark_notified(&self, alert_ids: &[Uuid], at: DateTime<Utc>) -> Result<()>;
    /// The earliest instant the timer worker has something to do (a clock to fire, a
    /// notification to send), if any.
    async fn next_sla_instant(&self) -> Result<Option<DateTime<Utc>>> {
        let (a, b) = (
            self.next_fire_instant().await?,
            self.next_notify_instant().await?,
        );
        Ok(a.into_iter().chain(b).min())
    }
    /// Resolved or closed cases that still have an unstopped clock, with the instant they were
    /// resolved (or closed). A case write and its SLA update are separate transactions, so a
    /// crash between them leaves such a case; the SLA worker stops its clocks from here. Only
    /// cases last written before `settled_before`, so a write whose SLA update is still on its
    /// way is left alone.
    async fn finished_cases_with_running_clocks(
        &self,
        settled_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(Uuid, CaseStatus, DateTime<Utc>)>>;
    /// When the next warning or breach falls due, if any.
    async fn next_fire_instant(&self) -> Result<Option<DateTime<Utc>>>;
    /// When the next notification is due (or a running notification lease ends), if any.
    async fn next_notify_instant(&self) -> Result<Option<DateTime<Utc>>>;
}

// ------------------------------------------------------------------------------- the cache

/// Per-store SLA state: the config cache, the defaults and the change signal.
pub struct SlaState {
    cache: Mutex<Option<(Instant, Arc<SlaConfig>)>>,
    defaults: Mutex<SlaDefaults>,
    changes: Arc<Notify>,
}

impl Default for SlaState {
    fn default() -> Self {
        SlaState {
            cache: Mutex::new(None),
            defaults: Mutex::new(SlaDefaults::default()),
            changes: Arc::new(Notify::new()),
        }
    }
}

impl SlaState {
    pub(crate) fn fresh(&self) -> Option<Arc<SlaConfig>> {
        let g = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        g.as_ref()
            .filter(|(at, _)| at.elapsed() < CONFIG_TTL)
            .map(|(_, c)| c.clone())
    }

    pub(crate) fn same_rev(&self, rev: i64) -> Option<Arc<SlaConfig>> {
        let mut g = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        match g.as_mut() {
            Some((at, c)) if c.rev == rev => {
                *at = Instant::now();
                Some(c.clone())
            }
            _ => None,
        }
    }

    pub(crate) fn put(&self, c: Arc<SlaConfig>) {
        *self.cache.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), c));
    }

    pub(crate) fn invalidate(&self) {
        *self.cache.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    pub(crate) fn defaults(&self) -> SlaDefaults {
        self.defaults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set_defaults(&self, d: SlaDefaults) {
        *self.defaults.lock().unwrap_or_else(|e| e.into_inner()) = d;
    }

    pub(crate) fn changes(&self) -> Arc<Notify> {
        self.changes.clone()
    }

    /// Wakes the timer worker; call after a commit that changed clocks.
    pub(crate) fn changed(&self) {
        self.changes.notify_one();
    }
}

// ---------------------------------------------------------------------- rows and pure helpers

pub(crate) const CLOCK_COLS: &str = "id, case_id, kind, run, segments, budget_seconds, \
    minutes_kind, warning_fraction, calendar_id, policy_name, state, status, started_at, due_at, \
    warning_at, stopped_at, next_fire_at, generation, stop_reason, stop_note";

pub(crate) const ALERT_COLS: &str =
    "id, case_id, clock_id, clock, run, status, due_at, fired_at, notify_at, notified_at";

pub fn kind_str(k: ClockKind) -> &'static str {
    match k {
        ClockKind::Reaction => "reaction",
        ClockKind::NextReaction => "next_reaction",
        ClockKind::Resolution => "resolution",
        ClockKind::Department => "department",
    }
}

fn parse_kind(s: &str) -> Result<ClockKind> {
    Ok(match s {
        "reaction" => ClockKind::Reaction,
        "next_reaction" => ClockKind::NextReaction,
        "resolution" => ClockKind::Resolution,
        "department" => ClockKind::Department,
        _ => return Err(StoreError::Corrupt(format!("bad clock kind '{s}'"))),
    })
}

pub fn status_str(s: ClockStatus) -> &'static str {
    match s {
        ClockStatus::Within => "within",
        ClockStatus::Warning => "warning",
        ClockStatus::Breached => "breached",
    }
}

pub(crate) fn parse_status(s: &str) -> Result<ClockStatus> {
    Ok(match s {
        "within" => ClockStatus::Within,
        "warning" => ClockStatus::Warning,
        "breached" => ClockStatus::Breached,
        _ => return Err(StoreError::Corrupt(format!("bad clock status '{s}'"))),
    })
}

pub(crate) fn minutes_kind_str(k: MinutesKind) -> &'static str {
    match k {
        MinutesKind::Business => "business",
        MinutesKind::Calendar => "calendar",
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ClockRow {
    id: Uuid,
    case_id: Uuid,
    kind: String,
    run: i32,
    segments: sqlx::types::Json<Vec<Segment>>,
    budget_seconds: i64,
    minutes_kind: String,
    warning_fraction: f64,
    calendar_id: Option<Uuid>,
    policy_name: Option<String>,
    state: String,
    status: String,
    started_at: i64,
    due_at: Option<i64>,
    warning_at: Option<i64>,
    stopped_at: Option<i64>,
    next_fire_at: Option<i64>,
    generation: i32,
    stop_reason: Option<String>,
    stop_note: Option<String>,
}

impl TryFrom<ClockRow> for ClockRecord {
    type Error = StoreError;
    fn try_from(r: ClockRow) -> Result<Self> {
        Ok(ClockRecord {
            id: r.id,
            case_id: r.case_id,
            kind: parse_kind(&r.kind)?,
            run: r.run,
            segments: r.segments.0,
            budget: Budget {
                seconds: r.budget_seconds,
                kind: if r.minutes_kind == "calendar" {
                    MinutesKind::Calendar
                } else {
                    MinutesKind::Business
                },
            },
            warning_fraction: r.warning_fraction,
            calendar_id: r.calendar_id,
            policy_name: r.policy_name,
            state: r.state,
            status: parse_status(&r.status)?,
            started_at: from_ms(r.started_at),
            due_at: opt_from_ms(r.due_at),
            warning_at: opt_from_ms(r.warning_at),
            stopped_at: opt_from_ms(r.stopped_at),
            next_fire_at: r.next_fire_at,
            generation: r.generation,
            stop_reason: match r.stop_reason.as_deref() {
                None => None,
                Some(s) => {
                    Some(StopReason::parse(s).ok_or_else(|| {
                        StoreError::Corrupt(format!("bad clock stop reason '{s}'"))
                    })?)
                }
            },
            stop_note: r.stop_note,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AlertRow {
    id: Uuid,
    case_id: Uuid,
    clock_id: Uuid,
    clock: String,
    run: i32,
    status: String,
    due_at: i64,
    fired_at: i64,
    notify_at: i64,
    notified_at: Option<i64>,
}

impl TryFrom<AlertRow> for AlertRecord {
    type Error = StoreError;
    fn try_from(r: AlertRow) -> Result<Self> {
        Ok(AlertRecord {
            id: r.id,
            case_id: r.case_id,
            clock_id: r.clock_id,
            clock: parse_kind(&r.clock)?,
            run: r.run,
            status: parse_status(&r.status)?,
            due_at: from_ms(r.due_at),
            fired_at: from_ms(r.fired_at),
            notify_at: from_ms(r.notify_at),
            notified_at: opt_from_ms(r.notified_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CalendarRow {
    pub id: Uuid,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct VersionRow {
    pub calendar_id: Uuid,
    pub effective_from: i64,
    pub spec: sqlx::types::Json<CalendarSpec>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct PolicyRow {
    pub id: Uuid,
    pub policy: sqlx::types::Json<SlaPolicy>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<PolicyRow> for PolicyRecord {
    fn from(r: PolicyRow) -> Self {
        PolicyRecord {
            id: r.id,
            policy: r.policy.0,
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
        }
    }
}

pub(crate) fn calendar_record(row: CalendarRow, versions: Vec<VersionRow>) -> CalendarRecord {
    let mut versions: Vec<CalendarVersionRecord> = versions
        .into_iter()
        .map(|v| CalendarVersionRecord {
            effective_from: from_ms(v.effective_from),
            spec: v.spec.0,
        })
        .collect();
    versions.sort_by_key(|v| v.effective_from);
    CalendarRecord {
        id: row.id,
        name: row.name,
        versions,
        created_at: from_ms(row.created_at),
        updated_at: from_ms(row.updated_at),
    }
}

/// Builds the engine's view of stored calendars and policies. A stored spec that no longer
/// validates (it was valid when written) is skipped with an error log; its cases use the default.
pub(crate) fn build_config(
    rev: i64,
    versions: Vec<VersionRow>,
    policies: Vec<SlaPolicy>,
) -> SlaConfig {
    let mut by_cal: HashMap<Uuid, Vec<(DateTime<Utc>, webcare_domain::sla::Calendar)>> =
        HashMap::new();
    for v in versions {
        match v.spec.0.validate() {
            Ok(cal) => by_cal
                .entry(v.calendar_id)
                .or_default()
                .push((from_ms(v.effective_from), cal)),
            Err(errors) => {
                tracing::error!(calendar = %v.calendar_id, ?errors, "stored calendar version does not validate")
            }
        }
    }
    let calendars = by_cal
        .into_iter()
        .filter_map(|(id, vs)| CalendarVersions::new(vs).ok().map(|c| (id, c)))
        .collect();
    SlaConfig {
        rev,
        policies,
        calendars,
    }
}

/// What a policy lookup needs to know about a case.
#[derive(sqlx::FromRow)]
pub(crate) struct FactsRow {
    pub account_kind: String,
    pub account_id: Uuid,
    pub account_calendar: Option<Uuid>,
    pub theme: Option<String>,
    pub kind: Option<String>,
    pub priority: String,
    pub status: String,
}

impl FactsRow {
    /// What the clocks need of the case. An unknown channel kind or priority matches as `api` or
    /// `normal` (the columns are checked, so neither occurs).
    fn clock_facts(&self) -> Result<ClockFacts> {
        Ok(ClockFacts {
            case: CaseFacts {
                channel_kind: self
                    .account_kind
                    .parse()
                    .unwrap_or(webcare_domain::ChannelKind::Api),
                channel_account_id: self.account_id,
                theme: self.theme.clone(),
                kind: self.kind.as_deref().and_then(|k| k.parse().ok()),
                priority: self
                    .priority
                    .parse()
                    .unwrap_or(webcare_domain::Priority::Normal),
            },
            account_calendar: self.account_calendar,
            status: crate::sql::parse(&self.status, "case status")?,
        })
    }
}

/// [`FactsRow`] with its case, for a batch.
#[derive(sqlx::FromRow)]
pub(crate) struct CaseFactsRow {
    pub case_id: Uuid,
    #[sqlx(flatten)]
    pub facts: FactsRow,
    /// The case's SLA columns as stored: a refresh that would not change them is skipped.
    pub cur_due_at: Option<i64>,
    pub cur_sla_status: Option<String>,
}

/// `cases.due_at`, `cases.due_sort` and `cases.sla_status` for a case with these clocks (the
/// values [`REFRESH_CASES_SQL`] computes).
pub(crate) fn case_columns(clocks: &[ClockRecord]) -> (Option<i64>, i64, Option<&'static str>) {
    let (due, status) = webcare_domain::sla::clocks::case_due_and_status(clocks);
    let due = due.map(to_ms);
    (due, due.unwrap_or(i64::MAX), status.map(status_str))
}

/// The clocks of the batch's new cases, planned before the cases are written, so that each new
/// case row is inserted with its SLA columns: refreshing a row just inserted would write it
/// (and each of its many indexes) a second time.
#[derive(Default)]
pub(crate) struct NewCaseClocks {
    clocks: HashMap<Uuid, Vec<ClockRecord>>,
    /// Case ids in first-planned order, so the clocks are inserted in a stable order.
    order: Vec<Uuid>,
}

impl NewCaseClocks {
    /// (due_at, due_sort, sla_status) for a new case; a case without clocks has none.
    pub(crate) fn columns(&self, case: Uuid) -> (Option<i64>, i64, Option<&'static str>) {
        case_columns(self.clocks.get(&case).map_or(&[][..], Vec::as_slice))
    }
}

/// Plans the clocks of the batch's new cases from the plan itself (nothing of them is stored
/// yet): every citizen message of a new case, in batch order, as [`on_inbound_many`] would.
pub(crate) async fn plan_new_cases(
    conn: &mut Conn<'_>,
    state: &SlaState,
    plan: &crate::ingest_plan::Plan,
) -> Result<NewCaseClocks> {
    let is_new = |id: &Uuid| plan.cases.get(id).is_some_and(|c| c.is_new);
    let inbound: Vec<&(Uuid, bool, DateTime<Utc>)> =
        plan.inbound.iter().filter(|x| is_new(&x.0)).collect();
    let mut out = NewCaseClocks::default();
    if inbound.is_empty() {
        return Ok(out);
    }
    let cfg = config(conn, state).await?;
    let defaults = state.defaults();
    let accounts = crate::ingest::distinct(inbound.iter().map(|x| plan.cases[&x.0].account));
    let mut q = query("SELECT id, kind, calendar_id FROM channel_accounts WHERE id IN ");
    q.push_list(accounts.iter().copied());
    let rows: Vec<(Uuid, String, Option<Uuid>)> = q.fetch_all(&mut *conn).await?;
    let accounts: HashMap<Uuid, (String, Option<Uuid>)> = rows
        .into_iter()
        .map(|(id, kind, cal)| (id, (kind, cal)))
        .collect();
    let mut facts: HashMap<Uuid, ClockFacts> = HashMap::new();
    let now = Utc::now();
    for (case_id, _, at) in inbound {
        if !facts.contains_key(case_id) {
            let c = &plan.cases[case_id];
            let Some((kind, calendar)) = accounts.get(&c.account) else {
                continue;
            };
            let row = FactsRow {
                account_kind: kind.clone(),
                account_id: c.account,
                account_calendar: *calendar,
                theme: c.theme.clone(),
                kind: c.kind.clone(),
                priority: c.priority.clone(),
                status: c.status.as_str().to_owned(),
            };
            facts.insert(*case_id, row.clock_facts()?);
            out.order.push(*case_id);
        }
        let list = out.clocks.entry(*case_id).or_default();
        plan_inbound(
            &cfg,
            &defaults,
            &facts[case_id],
            *case_id,
            list,
            *at,
            now,
            Uuid::now_v7,
        );
    }
    Ok(out)
}

pub(crate) const SLA_FACTS_SQL: &str = "SELECT a.kind AS account_kind, a.id AS account_id, \
    a.calendar_id AS account_calendar, c.theme, c.kind, c.priority, c.status \
    FROM cases c JOIN channel_accounts a ON a.id = c.channel_account_id WHERE c.id = $1";

/// Refreshes the case's due time and SLA status from its clocks.
pub(crate) const REFRESH_CASE_SQL: &str = "UPDATE cases SET \
    due_at = (SELECT MIN(k.due_at) FROM sla_clocks k WHERE k.case_id = $1 AND k.state = 'running'), \
    due_sort = COALESCE((SELECT MIN(k.due_at) FROM sla_clocks k WHERE k.case_id = $1 AND k.state = 'running'), 9223372036854775807), \
    sla_status = (SELECT CASE MAX(CASE k.status WHEN 'breached' THEN 2 WHEN 'warning' THEN 1 ELSE 0 END) \
        WHEN 2 THEN 'breached' WHEN 1 THEN 'warning' WHEN 0 THEN 'within' END \
        FROM sla_clocks k WHERE k.case_id = $1 AND k.state IN ('running', 'paused')) \
    WHERE id = $1";

/// [`REFRESH_CASE_SQL`] for many cases; the caller appends the list of ids.
pub(crate) const REFRESH_CASES_SQL: &str = "UPDATE cases SET \
    due_at = (SELECT MIN(k.due_at) FROM sla_clocks k WHERE k.case_id = cases.id AND k.state = 'running'), \
    due_sort = COALESCE((SELECT MIN(k.due_at) FROM sla_clocks k WHERE k.case_id = cases.id AND k.state = 'running'), 9223372036854775807), \
    sla_status = (SELECT CASE MAX(CASE k.status WHEN 'breached' THEN 2 WHEN 'warning' THEN 1 ELSE 0 END) \
        WHEN 2 THEN 'breached' WHEN 1 THEN 'warning' WHEN 0 THEN 'within' END \
        FROM sla_clocks k WHERE k.case_id = cases.id AND k.state IN ('running', 'paused')) \
    WHERE id IN ";

// ------------------------------------------------------------------------------------ the SQL

/// Calendars and policies, cached; checks the revision at most every `CONFIG_TTL`.
pub(crate) async fn config(conn: &mut Conn<'_>, state: &SlaState) -> Result<Arc<SlaConfig>> {
    if let Some(c) = state.fresh() {
        return Ok(c);
    }
    let rev: i64 = query("SELECT rev FROM sla_config_rev WHERE id = 1")
        .scalar(&mut *conn)
        .await?;
    if let Some(c) = state.same_rev(rev) {
        return Ok(c);
    }
    let versions: Vec<VersionRow> =
        query("SELECT calendar_id, effective_from, spec FROM sla_calendar_versions")
            .fetch_all(&mut *conn)
            .await?;
    let policies: Vec<Json<SlaPolicy>> = query("SELECT policy FROM sla_policies")
        .scalars(&mut *conn)
        .await?;
    let cfg = Arc::new(build_config(
        rev,
        versions,
        policies.into_iter().map(|p| p.0).collect(),
    ));
    state.put(cfg.clone());
    Ok(cfg)
}

/// Commits a change of calendars or policies: the revision goes up (other nodes see the change
/// within `CONFIG_TTL`), and this node's cache is dropped.
async fn commit_config(mut tx: Tx, state: &SlaState) -> Result<()> {
    query("UPDATE sla_config_rev SET rev = rev + 1 WHERE id = 1")
        .execute(&mut tx)
        .await?;
    tx.commit().await?;
    state.invalidate();
    Ok(())
}

/// The insert of a policy version, with `upsert` (an `ON CONFLICT` clause, or nothing).
fn insert_policy(p: &SlaPolicy, now: i64, upsert: &str) -> Query {
    query(format!(
        "INSERT INTO sla_policies (id, name, effective_from, ord, policy, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6){upsert} RETURNING {POLICY_COLS}"
    ))
    .bind(Uuid::now_v7())
    .bind(&p.name)
    .bind(to_ms(p.effective_from))
    .bind(p.order)
    .bind(json(p))
    .bind(now)
}

/// The row of `table` with `id`, from a reader.
async fn by_id<T: FromBoth>(db: &Db, cols: &str, table: &str, id: Uuid) -> Result<Option<T>> {
    query(format!("SELECT {cols} FROM {table} WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.read())
        .await
}

/// The case's clocks by kind and run; `lock`: for update, in the caller's transaction.
async fn load_clocks(conn: &mut Conn<'_>, case_id: Uuid, lock: bool) -> Result<Vec<ClockRecord>> {
    let lock = if lock {
        conn.dialect().for_update()
    } else {
        ""
    };
    let rows: Vec<ClockRow> = query(format!(
        "SELECT {CLOCK_COLS} FROM sla_clocks WHERE case_id = $1 ORDER BY kind, run{lock}"
    ))
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// The values of an `INSERT INTO sla_clocks ({CLOCK_COLS}, updated_at)` row.
fn clock_values(c: &ClockRecord, now: i64) -> Vec<Arg> {
    vec![
        c.id.into(),
        c.case_id.into(),
        kind_str(c.kind).into(),
        c.run.into(),
        json(&c.segments),
        c.budget.seconds.into(),
        minutes_kind_str(c.budget.kind).into(),
        c.warning_fraction.into(),
        c.calendar_id.into(),
        (&c.policy_name).into(),
        (&c.state).into(),
        status_str(c.status).into(),
        to_ms(c.started_at).into(),
        c.due_at.map(to_ms).into(),
        c.warning_at.map(to_ms).into(),
        c.stopped_at.map(to_ms).into(),
        c.next_fire_at.into(),
        c.generation.into(),
        c.stop_reason.map(StopReason::as_str).into(),
        (&c.stop_note).into(),
        now.into(),
    ]
}

/// One multi-row insert per 500 clocks.
async fn insert_clocks(conn: &mut Conn<'_>, clocks: &[&ClockRecord], now: i64) -> Result<()> {
    for chunk in clocks.chunks(500) {
        let mut q = query(format!(
            "INSERT INTO sla_clocks ({CLOCK_COLS}, updated_at) "
        ));
        q.push_values(chunk.iter().map(|c| clock_values(c, now)));
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

async fn update_clock(conn: &mut Conn<'_>, c: &ClockRecord, now: i64) -> Result<()> {
    query(
        "UPDATE sla_clocks SET segments = $2, state = $3, status = $4, started_at = $5, \
         due_at = $6, warning_at = $7, stopped_at = $8, next_fire_at = $9, updated_at = $10, \
         stop_reason = $11, stop_note = $12 WHERE id = $1",
    )
    .bind(c.id)
    .bind(json(&c.segments))
    .bind(&c.state)
    .bind(status_str(c.status))
    .bind(to_ms(c.started_at))
    .bind(c.due_at.map(to_ms))
    .bind(c.warning_at.map(to_ms))
    .bind(c.stopped_at.map(to_ms))
    .bind(c.next_fire_at)
    .bind(now)
    .bind(c.stop_reason.map(StopReason::as_str))
    .bind(&c.stop_note)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Like `update_clock`, plus the norms and the generation (policy re-selection).
async fn update_clock_norms(conn: &mut Conn<'_>, c: &ClockRecord, now: i64) -> Result<()> {
    query(
        "UPDATE sla_clocks SET budget_seconds = $2, minutes_kind = $3, warning_fraction = $4, \
         calendar_id = $5, policy_name = $6, generation = $7, updated_at = $8 WHERE id = $1",
    )
    .bind(c.id)
    .bind(c.budget.seconds)
    .bind(minutes_kind_str(c.budget.kind))
    .bind(c.warning_fraction)
    .bind(c.calendar_id)
    .bind(&c.policy_name)
    .bind(c.generation)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    update_clock(conn, c, now).await
}

async fn refresh_case(conn: &mut Conn<'_>, case_id: Uuid) -> Result<()> {
    query(REFRESH_CASE_SQL)
        .bind(case_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn facts(conn: &mut Conn<'_>, case_id: Uuid) -> Result<Option<FactsRow>> {
    query(SLA_FACTS_SQL)
        .bind(case_id)
        .fetch_optional(&mut *conn)
        .await
}

/// Starts a clock run with the norms for its kind; nothing when the norm is absent.
#[allow(clippy::too_many_arguments)]
async fn start_clock(
    conn: &mut Conn<'_>,
    cfg: &SlaConfig,
    defaults: &SlaDefaults,
    facts: &ClockFacts,
    case_id: Uuid,
    kind: ClockKind,
    run: i32,
    start: DateTime<Utc>,
    reason: &str,
    override_minutes: Option<u32>,
    override_calendar: Option<Uuid>,
    now: i64,
) -> Result<()> {
    let mut norms = norms_for(cfg, defaults, facts, kind, start);
    if override_calendar.is_some() {
        norms.calendar_id = override_calendar;
    }
    let Some(minutes) = override_minutes.or(norms.minutes) else {
        return Ok(());
    };
    let mut c = new_clock(
        Uuid::now_v7(),
        case_id,
        kind,
        run,
        &norms,
        minutes,
        start,
        reason,
    );
    c.recompute(cfg.calendar(c.calendar_id), start);
    insert_clocks(conn, &[&c], now).await
}

/// The ingest hook, inside the ingest transaction: for every citizen message of the batch, in
/// order, what [`plan_inbound`] decides for its case's clocks; then one insert for the new
/// clocks, an update per changed one, and one refresh of the cases' SLA columns.
pub(crate) async fn on_inbound_many(
    conn: &mut Conn<'_>,
    state: &SlaState,
    plan: &crate::ingest_plan::Plan,
    new_cases: NewCaseClocks,
) -> Result<()> {
    let now_ms = to_ms(Utc::now());
    // The new cases' clocks were planned before their rows were written (which carry the
    // clocks' columns already): only inserted here.
    let planned: Vec<&ClockRecord> = new_cases
        .order
        .iter()
        .flat_map(|id| new_cases.clocks[id].iter())
        .collect();
    insert_clocks(conn, &planned, now_ms).await?;
    let is_new = |id: &Uuid| plan.cases.get(id).is_some_and(|c| c.is_new);
    let inbound: Vec<&(Uuid, bool, DateTime<Utc>)> =
        plan.inbound.iter().filter(|x| !is_new(&x.0)).collect();
    if inbound.is_empty() {
        return Ok(());
    }
    let cfg = config(conn, state).await?;
    let defaults = state.defaults();
    let cases: Vec<Uuid> = crate::ingest::distinct(inbound.iter().map(|x| x.0));
    // Read after the batch's case writes, so this is the status they left.
    let mut q = query(
        "SELECT c.id AS case_id, a.kind AS account_kind, a.id AS account_id, \
         a.calendar_id AS account_calendar, c.theme, c.kind, c.priority, c.status, \
         c.due_at AS cur_due_at, c.sla_status AS cur_sla_status \
         FROM cases c JOIN channel_accounts a ON a.id = c.channel_account_id WHERE c.id IN ",
    );
    q.push_list(cases.iter().copied());
    let mut current: HashMap<Uuid, (Option<i64>, Option<String>)> = HashMap::new();
    let mut facts: HashMap<Uuid, ClockFacts> = HashMap::new();
    for r in q.fetch_all::<CaseFactsRow>(&mut *conn).await? {
        facts.insert(r.case_id, r.facts.clock_facts()?);
        current.insert(r.case_id, (r.cur_due_at, r.cur_sla_status));
    }
    let mut clocks: HashMap<Uuid, Vec<ClockRecord>> = Default::default();
    let mut q = query(format!(
        "SELECT {CLOCK_COLS} FROM sla_clocks WHERE case_id IN "
    ));
    q.push_list(cases.iter().copied())
        .push(" ORDER BY case_id, kind, run")
        .push(conn.dialect().for_update());
    let rows: Vec<ClockRow> = q.fetch_all(&mut *conn).await?;
    for r in rows {
        let c: ClockRecord = r.try_into()?;
        clocks.entry(c.case_id).or_default().push(c);
    }
    let now = Utc::now();
    // Clock id -> inserted (else updated), in first-write order.
    let mut written: Vec<(Uuid, Uuid, bool)> = Vec::new();
    for (case_id, _, at) in inbound {
        let Some(f) = facts.get(case_id) else {
            continue;
        };
        let list = clocks.entry(*case_id).or_default();
        for (i, new) in plan_inbound(&cfg, &defaults, f, *case_id, list, *at, now, Uuid::now_v7) {
            let id = list[i].id;
            if !written.iter().any(|w| w.1 == id) {
                written.push((*case_id, id, new));
            }
        }
    }
    let find = |case_id: &Uuid, id: &Uuid| {
        clocks[case_id]
            .iter()
            .find(|c| c.id == *id)
            .expect("planned clock")
    };
    let inserts: Vec<&ClockRecord> = written
        .iter()
        .filter(|w| w.2)
        .map(|w| find(&w.0, &w.1))
        .collect();
    insert_clocks(conn, &inserts, now_ms).await?;
    for w in written.iter().filter(|w| !w.2) {
        update_clock(conn, find(&w.0, &w.1), now_ms).await?;
    }
    // Every clock of these cases is in `clocks` (all were read, under lock): a case whose
    // columns already say what its clocks say is not written again.
    let stale: Vec<Uuid> = cases
        .into_iter()
        .filter(|id| {
            let (due, _, status) = case_columns(clocks.get(id).map_or(&[][..], Vec::as_slice));
            current
                .get(id)
                .is_none_or(|(d, s)| *d != due || s.as_deref() != status)
        })
        .collect();
    refresh_cases(conn, &stale).await
}

/// [`REFRESH_CASES_SQL`] for `cases`, 500 per statement.
async fn refresh_cases(conn: &mut Conn<'_>, cases: &[Uuid]) -> Result<()> {
    for chunk in cases.chunks(500) {
        let mut q = query(REFRESH_CASES_SQL);
        q.push_list(chunk.iter().copied());
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// What a timer pass writes back to a clock: the status fired so far, the next timer, and the
/// due and warning instants it evaluated them from.
struct TimerUpdate {
    id: Uuid,
    status: &'static str,
    next_fire_at: Option<i64>,
    due_at: Option<i64>,
    warning_at: Option<i64>,
}

/// Writes a timer pass back to its clocks, 500 per statement.
async fn set_clock_timers(conn: &mut Conn<'_>, updates: &[TimerUpdate], now: i64) -> Result<()> {
    for chunk in updates.chunks(500) {
        let mut q = query("UPDATE sla_clocks SET updated_at = ");
        q.push_bind(now).push(", status = ");
        q.push_case_by_id(chunk.iter().map(|u| (u.id, u.status)));
        q.push(", next_fire_at = ");
        q.push_case_by_id(chunk.iter().map(|u| (u.id, u.next_fire_at)));
        q.push(", due_at = ");
        q.push_case_by_id(chunk.iter().map(|u| (u.id, u.due_at)));
        q.push(", warning_at = ");
        q.push_case_by_id(chunk.iter().map(|u| (u.id, u.warning_at)));
        q.push(" WHERE id IN ");
        q.push_list(chunk.iter().map(|u| u.id));
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Records what became of the department's pending answer when the agent replied (`sent`) or
/// resolved without sending it (`set_aside`): it is no longer pending.
async fn settle_department_answer(
    conn: &mut Conn<'_>,
    case_id: Uuid,
    outcome: &str,
    at: i64,
) -> Result<()> {
    let settled = query(
        "UPDATE case_forwards SET answer_outcome = $2, answer_settled_at = $3 \
         WHERE case_id = $1 AND answered_at IS NOT NULL AND returned_at IS NULL \
         AND answer_outcome IS NULL",
    )
    .bind(case_id)
    .bind(outcome)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    if settled > 0 {
        query("UPDATE cases SET department_answer = NULL WHERE id = $1")
            .bind(case_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A person's reply takes a `new` case to `open` (`webcare_domain::status::on_reply`), recorded
/// in the audit trail.
async fn open_on_reply(conn: &mut Conn<'_>, case_id: Uuid, now: i64) -> Result<bool> {
    let lock = conn.dialect().for_update();
    let status: Option<String> = query(format!("SELECT status FROM cases WHERE id = $1{lock}"))
        .bind(case_id)
        .scalar_optional(&mut *conn)
        .await?;
    let Some(from) = status.and_then(|s| s.parse::<CaseStatus>().ok()) else {
        return Ok(false);
    };
    let Some(to) = webcare_domain::status::on_reply(from, false) else {
        return Ok(false);
    };
    let done = query(
        "UPDATE cases SET status = $2, \
         updated_at = CASE WHEN updated_at >= $4 THEN updated_at + 1 ELSE $4 END \
         WHERE id = $1 AND status = $3",
    )
    .bind(case_id)
    .bind(to.as_str())
    .bind(from.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done > 0 {
        let detail =
            serde_json::json!({"from": from.as_str(), "to": to.as_str(), "trigger": "reply"});
        query(
            "INSERT INTO audit_events (id, at, actor, action, case_id, detail) \
             VALUES ($1, $2, 'system:reply', 'case.status_changed', $3, $4)",
        )
        .bind(Uuid::now_v7())
        .bind(now)
        .bind(case_id)
        .bind(detail)
        .execute(&mut *conn)
        .await?;
    }
    Ok(done > 0)
}

/// One case's clocks inside the caller's transaction: what the hooks work on, at `at`.
struct CaseClocks<'c, 'a> {
    conn: &'c mut Conn<'a>,
    state: &'c SlaState,
    case_id: Uuid,
    at: DateTime<Utc>,
}

impl CaseClocks<'_, '_> {
    async fn config(&mut self) -> Result<Arc<SlaConfig>> {
        config(self.conn, self.state).await
    }

    /// The case's clocks, locked.
    async fn load(&mut self) -> Result<Vec<ClockRecord>> {
        load_clocks(self.conn, self.case_id, true).await
    }

    async fn facts(&mut self) -> Result<FactsRow> {
        facts(self.conn, self.case_id)
            .await?
            .ok_or_else(|| StoreError::NotFound("case".into()))
    }

    async fn refresh(&mut self) -> Result<()> {
        refresh_case(self.conn, self.case_id).await
    }

    /// Runs `f` over the case's clocks, writes the changed ones and refreshes the case's due time
    /// and SLA status.
    async fn change<F>(&mut self, f: F) -> Result<()>
    where
        F: FnOnce(&mut Vec<ClockRecord>, DateTime<Utc>) -> Vec<usize> + Send,
    {
        let cfg = self.config().await?;
        let mut clocks = self.load().await?;
        let at = self.at;
        let changed = f(&mut clocks, at);
        let now = Utc::now();
        for i in changed {
            let c = &mut clocks[i];
            c.recompute(cfg.calendar(c.calendar_id), now.max(at));
            update_clock(self.conn, c, to_ms(now)).await?;
        }
        self.refresh().await
    }

    /// Stops every unstopped clock `which` selects, for `reason`.
    async fn stop(
        &mut self,
        which: fn(&ClockRecord) -> bool,
        reason: StopReason,
        note: Option<&str>,
    ) -> Result<()> {
        self.change(|clocks, at| {
            let mut changed = Vec::new();
            for (i, c) in clocks.iter_mut().enumerate() {
                if which(c) && !c.is_stopped() {
                    c.stop(at, reason, note);
                    changed.push(i);
                }
            }
            changed
        })
        .await
    }

    /// Starts a new run of `kind` (a still running run of the same kind stops first), and
    /// refreshes the case.
    async fn start(
        &mut self,
        kind: ClockKind,
        reason: &str,
        minutes: Option<u32>,
        calendar: Option<Uuid>,
    ) -> Result<()> {
        let cfg = self.config().await?;
        let defaults = self.state.defaults();
        let facts = self.facts().await?.clock_facts()?;
        let clocks = self.load().await?;
        let same: Vec<&ClockRecord> = clocks.iter().filter(|c| c.kind == kind).collect();
        let (at, now) = (self.at, to_ms(Utc::now()));
        // Stop a still running run of the same kind (a second forward restarts it).
        for c in same.iter().filter(|c| !c.is_stopped()) {
            let mut c = (*c).clone();
            let reason = if kind == ClockKind::Department {
                StopReason::Reforwarded
            } else {
                StopReason::Resolved
            };
            c.stop(at, reason, None);
            c.recompute(cfg.calendar(c.calendar_id), Utc::now().max(at));
            update_clock(self.conn, &c, now).await?;
        }
        let run = same.iter().map(|c| c.run + 1).max().unwrap_or(0);
        let case_id = self.case_id;
        start_clock(
            self.conn, &cfg, &defaults, &facts, case_id, kind, run, at, reason, minutes, calendar,
            now,
        )
        .await?;
        self.refresh().await
    }

    /// A person's reply (or holding answer) was sent, inside the transaction that records it:
    /// the reaction clocks stop (a holding answer only when so configured), a `new` case opens, a
    /// pending department answer counts as sent. Returns whether the case opened.
    async fn reply_sent(&mut self, process_answer: bool) -> Result<bool> {
        // A holding answer stops the reaction clocks only when so configured; it is a person's
        // reply all the same (the case opens, a department answer is used).
        let stops = !process_answer || self.state.defaults().process_answer_stops_reaction;
        let reason = if process_answer {
            StopReason::HoldingAnswer
        } else {
            StopReason::Reply
        };
        let cfg = self.config().await?;
        let (at, now) = (self.at, Utc::now());
        if stops {
            let mut clocks = self.load().await?;
            for c in clocks.iter_mut() {
                if is_reaction(c) && !c.is_stopped() {
                    c.stop(at, reason, None);
                    c.recompute(cfg.calendar(c.calendar_id), now.max(at));
                    update_clock(self.conn, c, to_ms(now)).await?;
                }
            }
        }
        let opened = open_on_reply(self.conn, self.case_id, to_ms(now)).await?;
        settle_department_answer(self.conn, self.case_id, "sent", to_ms(at)).await?;
        self.refresh().await?;
        Ok(opened)
    }

    /// A status change: resolve/close stops the clocks (and sets a pending department answer
    /// aside), waiting on the citizen pauses the resolution clock and leaving it resumes it, a
    /// reopen starts a new resolution run.
    async fn status_change(&mut self, from: CaseStatus, to: CaseStatus) -> Result<()> {
        if from == CaseStatus::Resolved && !matches!(to, CaseStatus::Resolved | CaseStatus::Closed)
        {
            return self
                .start(ClockKind::Resolution, "reopened", None, None)
                .await;
        }
        self.change(|clocks, at| {
            let mut changed = Vec::new();
            for (i, c) in clocks.iter_mut().enumerate() {
                if c.is_stopped() {
                    continue;
                }
                let touched = match to {
                    CaseStatus::Resolved | CaseStatus::Closed => {
                        c.stop(at, StopReason::on_resolve(c.kind), None);
                        true
                    }
                    CaseStatus::WaitingOnCitizen if c.kind == ClockKind::Resolution => {
                        c.pause(at, "waiting on the citizen");
                        true
                    }
                    _ if c.kind == ClockKind::Resolution && c.state == "paused" => {
                        c.resume(at, "no longer waiting on the citizen");
                        true
                    }
                    _ => false,
                };
                if touched {
                    changed.push(i);
                }
            }
            changed
        })
        .await?;
        if matches!(to, CaseStatus::Resolved | CaseStatus::Closed) {
            // Resolved without sending the department's answer: it is set aside.
            settle_department_answer(self.conn, self.case_id, "set_aside", to_ms(self.at)).await?;
        }
        Ok(())
    }

    /// The department answered: its clock stops, and its verdict is kept on the forward.
    async fn department_answer(&mut self) -> Result<()> {
        let cfg = self.config().await?;
        let mut clocks = self.load().await?;
        let (at, now) = (self.at, Utc::now());
        let mut verdict = None;
        for c in clocks.iter_mut() {
            if c.kind == ClockKind::Department && !c.is_stopped() {
                c.stop(at, StopReason::DepartmentAnswer, None);
                c.recompute(cfg.calendar(c.calendar_id), now.max(at));
                update_clock(self.conn, c, to_ms(now)).await?;
                verdict = Some(c.state == "met");
            }
        }
        // The department clock decides whether the answer was in time (business minutes on the
        // department's calendar); the report reads it from the forward.
        if let Some(in_time) = verdict {
            query(
                "UPDATE case_forwards SET answered_in_time = $2 WHERE id = (SELECT id FROM case_forwards \
                 WHERE case_id = $1 AND answered_at IS NOT NULL AND answered_in_time IS NULL \
                 ORDER BY answered_at DESC, id DESC LIMIT 1)",
            )
            .bind(self.case_id)
            .bind(in_time)
            .execute(&mut *self.conn)
            .await?;
        }
        self.refresh().await
    }

    /// The department clock of a forward, on the department's agreed time and calendar.
    async fn forward(&mut self, department: Uuid) -> Result<()> {
        let dept: Option<(i64, Option<Uuid>)> =
            query("SELECT answer_minutes, calendar_id FROM departments WHERE id = $1")
                .bind(department)
                .fetch_optional(&mut *self.conn)
                .await?;
        let minutes = dept.as_ref().and_then(|d| u32::try_from(d.0).ok());
        let calendar = dept.and_then(|d| d.1);
        self.start(ClockKind::Department, "forwarded", minutes, calendar)
            .await
    }

    /// Policy re-selection after a change of theme, kind or priority.
    async fn classified(&mut self) -> Result<Vec<PolicyChange>> {
        let cfg = self.config().await?;
        let defaults = self.state.defaults();
        // Clocks locked first, then the facts: a classification committed meanwhile is seen, so
        // the last of two concurrent ones wins.
        let mut clocks = self.load().await?;
        let facts = self.facts().await?;
        let clock_facts = facts.clock_facts()?;
        let now = Utc::now().max(self.at);
        let mut changes = Vec::new();
        for c in clocks.iter_mut() {
            if c.kind == ClockKind::Department || c.is_stopped() {
                continue;
            }
            let norms = norms_for(&cfg, &defaults, &clock_facts, c.kind, c.started_at);
            let Some(minutes) = norms.minutes else {
                continue;
            };
            let new = ClockNorms {
                budget: Budget::minutes(minutes, norms.kind),
                warning_at: norms.warning_at,
                calendar_id: norms.calendar_id,
                policy: norms.policy_name,
            };
            let cal = cfg.calendar(new.calendar_id);
            let fired = match reselect(&c.segments, c.status, &c.norms(), &new, cal, now) {
                Ok(Reselection::Keep) => continue,
                Ok(Reselection::Rewrite { fired, .. }) => fired,
                Err(e) => {
                    tracing::warn!(clock = %c.id, error = %e, "clock kept its norms: the new ones do not evaluate");
                    continue;
                }
            };
            let before = c.clone();
            c.set_norms(new, fired);
            c.recompute(cal, now);
            update_clock_norms(self.conn, c, to_ms(now)).await?;
            changes.push(PolicyChange {
                clock: c.kind,
                run: c.run,
                from_policy: before.policy_name,
                to_policy: c.policy_name.clone(),
                from_due: before.due_at,
                to_due: c.due_at,
                from_status: before.status,
                to_status: c.status,
            });
        }
        if !changes.is_empty() {
            let detail = serde_json::json!({
                "theme": facts.theme,
                "kind": facts.kind,
                "priority": facts.priority,
                "clocks": changes.iter().map(PolicyChange::to_json).collect::<Vec<_>>(),
            });
            query(
                "INSERT INTO audit_events (id, at, actor, action, case_id, detail) \
                 VALUES ($1, $2, 'system:sla', 'sla.policy_changed', $3, $4)",
            )
            .bind(Uuid::now_v7())
            .bind(to_ms(now))
            .bind(self.case_id)
            .bind(detail)
            .execute(&mut *self.conn)
            .await?;
            self.refresh().await?;
        }
        Ok(changes)
    }

    /// What a case change means for its clocks. A classification goes first: a case classified
    /// and resolved in one change is judged by the policy that matches its new classification.
    async fn case_changed(&mut self, e: &CaseEffects) -> Result<()> {
        if e.classified {
            self.classified().await?;
        }
        if let Some(d) = e.forward_to {
            self.forward(d).await?;
        }
        if e.answered {
            self.department_answer().await?;
        }
        if let Some(reason) = &e.no_reply_reason {
            self.stop(is_reaction, StopReason::NoReplyNeeded, Some(reason))
                .await?;
        }
        if e.before != e.after {
            self.status_change(e.before, e.after).await?;
        }
        Ok(())
    }
}

fn is_reaction(c: &ClockRecord) -> bool {
    matches!(c.kind, ClockKind::Reaction | ClockKind::NextReaction)
}

/// What a case change means for its clocks, inside the transaction that writes the change.
pub(crate) async fn case_changed(
    conn: &mut Conn<'_>,
    state: &SlaState,
    e: &CaseEffects,
    at: DateTime<Utc>,
) -> Result<()> {
    let case_id = e.case_id;
    let mut clocks = CaseClocks {
        conn,
        state,
        case_id,
        at,
    };
    clocks.case_changed(e).await
}

/// The case was merged into another: its clocks stop (`merged`), in the caller's transaction.
pub(crate) async fn merged(
    conn: &mut Conn<'_>,
    state: &SlaState,
    case_id: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    let mut clocks = CaseClocks {
        conn,
        state,
        case_id,
        at,
    };
    clocks.stop(|_| true, StopReason::Merged, None).await
}

/// A sent reply answers the citizen, inside the transaction that records it
/// ([`CaseClocks::reply_sent`]), with the `case.updated` live event when the reply opened the
/// case (appended in the transaction; broadcast after the commit). An out-of-hours auto-reply is
/// no answer: nothing.
pub(crate) async fn reply_recorded(
    conn: &mut Conn<'_>,
    state: &SlaState,
    reply: &crate::connectors::ReplyRecord,
    at: DateTime<Utc>,
) -> Result<Vec<EventRecord>> {
    if reply.auto_reply {
        return Ok(Vec::new());
    }
    crate::crash::crash_point("reply.before_clocks");
    let case_id = reply.case_id;
    let mut clocks = CaseClocks {
        conn: &mut *conn,
        state,
        case_id,
        at,
    };
    if !clocks.reply_sent(reply.process_answer).await? {
        return Ok(Vec::new());
    }
    let (team, assignee, department_id): (Option<String>, Option<String>, Option<Uuid>) =
        query("SELECT team, assignee, department_id FROM cases WHERE id = $1")
            .bind(case_id)
            .fetch_one(&mut *conn)
            .await?;
    let event = NewEvent {
        kind: "case.updated".into(),
        case_id: Some(case_id),
        team,
        assignee: assignee.clone(),
        department_id,
        payload: serde_json::json!({
            "action": "case.status_changed", "status": "open", "assignee": assignee,
            "trigger": "reply",
        }),
    };
    insert_events(conn, &[event]).await
}

const CALENDAR_COLS: &str = "id, name, created_at, updated_at";
const VERSION_COLS: &str = "calendar_id, effective_from, spec";
const POLICY_COLS: &str = "id, policy, created_at, updated_at";

/// Stores a calendar version in `tx` (replacing the one with the same `effective_from`), bumps
/// the configuration's revision and commits.
async fn put_version(
    mut tx: Tx,
    state: &SlaState,
    id: Uuid,
    effective_from: DateTime<Utc>,
    spec: &CalendarSpec,
    now: i64,
) -> Result<()> {
    query(
        "INSERT INTO sla_calendar_versions (calendar_id, effective_from, spec, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (calendar_id, effective_from) \
         DO UPDATE SET spec = excluded.spec, created_at = excluded.created_at",
    )
    .bind(id)
    .bind(to_ms(effective_from))
    .bind(json(spec))
    .bind(now)
    .execute(&mut tx)
    .await?;
    commit_config(tx, state).await
}

async fn calendar_versions_of(db: &Db, id: Uuid) -> Result<Vec<VersionRow>> {
    query(format!(
        "SELECT {VERSION_COLS} FROM sla_calendar_versions WHERE calendar_id = $1 \
         ORDER BY effective_from"
    ))
    .bind(id)
    .fetch_all(db.read())
    .await
}

/// A hook the [`SlaStore`] methods run in a transaction of their own.
enum Hook<'a> {
    Reply {
        process_answer: bool,
    },
    NoReplyNeeded(&'a str),
    Merged,
    Status {
        from: CaseStatus,
        to: CaseStatus,
    },
    Forward {
        minutes: Option<u32>,
        calendar: Option<Uuid>,
    },
    DepartmentAnswer,
}

/// Runs `hook` for the case in one write transaction, then wakes the timer worker.
async fn in_own_tx<S: SqlCore + ?Sized>(
    s: &S,
    case_id: Uuid,
    at: DateTime<Utc>,
    hook: Hook<'_>,
) -> Result<()> {
    let mut tx = s.db().begin().await?;
    let mut conn = tx.conn();
    let state = s.sla();
    let mut clocks = CaseClocks {
        conn: &mut conn,
        state,
        case_id,
        at,
    };
    match hook {
        Hook::Reply { process_answer } => clocks.reply_sent(process_answer).await.map(drop)?,
        Hook::NoReplyNeeded(reason) => {
            let reason_ = StopReason::NoReplyNeeded;
            clocks.stop(is_reaction, reason_, Some(reason)).await?
        }
        Hook::Merged => clocks.stop(|_| true, StopReason::Merged, None).await?,
        Hook::Status { from, to } => clocks.status_change(from, to).await?,
        Hook::Forward { minutes, calendar } => {
            let kind = ClockKind::Department;
            clocks.start(kind, "forwarded", minutes, calendar).await?
        }
        Hook::DepartmentAnswer => clocks.department_answer().await?,
    }
    tx.commit().await?;
    state.changed();
    Ok(())
}

/// The configuration and the case's clocks, read outside a transaction.
async fn read_clocks<S: SqlCore + ?Sized>(
    s: &S,
    case_id: Uuid,
) -> Result<(Arc<SlaConfig>, Vec<ClockRecord>)> {
    let mut pooled = s.db().acquire_read().await?;
    let mut conn = pooled.conn();
    let cfg = config(&mut conn, s.sla()).await?;
    Ok((cfg, load_clocks(&mut conn, case_id, false).await?))
}

#[async_trait]
impl<S: SqlCore> SlaStore for S {
    fn set_sla_defaults(&self, defaults: SlaDefaults) {
        self.sla().set_defaults(defaults);
    }

    fn sla_defaults(&self) -> SlaDefaults {
        self.sla().defaults()
    }

    fn sla_changes(&self) -> Arc<Notify> {
        self.sla().changes()
    }

    async fn create_calendar(
        &self,
        name: &str,
        effective_from: DateTime<Utc>,
        spec: CalendarSpec,
    ) -> Result<CalendarRecord> {
        let id = Uuid::now_v7();
        let now = to_ms(Utc::now());
        let mut tx = self.db().begin().await?;
        query(
            "INSERT INTO sla_calendars (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)",
        )
        .bind(id)
        .bind(name)
        .bind(now)
        .execute(&mut tx)
        .await?;
        put_version(tx, self.sla(), id, effective_from, &spec, now).await?;
        self.get_calendar(id)
            .await?
            .ok_or_else(|| StoreError::NotFound("calendar".into()))
    }

    async fn put_calendar_version(
        &self,
        id: Uuid,
        name: Option<String>,
        effective_from: DateTime<Utc>,
        spec: CalendarSpec,
    ) -> Result<Option<CalendarRecord>> {
        let now = to_ms(Utc::now());
        let mut tx = self.db().begin().await?;
        let done = query(
            "UPDATE sla_calendars SET name = COALESCE($2, name), updated_at = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(&name)
        .bind(now)
        .execute(&mut tx)
        .await?;
        if done == 0 {
            return Ok(None);
        }
        put_version(tx, self.sla(), id, effective_from, &spec, now).await?;
        self.get_calendar(id).await
    }

    async fn get_calendar(&self, id: Uuid) -> Result<Option<CalendarRecord>> {
        let row: Option<CalendarRow> = by_id(self.db(), CALENDAR_COLS, "sla_calendars", id).await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let versions = calendar_versions_of(self.db(), id).await?;
        Ok(Some(calendar_record(row, versions)))
    }

    async fn list_calendars(&self, page: PageRequest) -> Result<Page<CalendarRecord>> {
        let rows: Vec<CalendarRow> = query(format!(
            "SELECT {CALENDAR_COLS} FROM sla_calendars WHERE ($1 IS NULL OR id > $1) \
             ORDER BY id LIMIT $2"
        ))
        .bind(page.after)
        .bind(i64::from(page.limit) + 1)
        .fetch_all(self.db().read())
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let versions = calendar_versions_of(self.db(), row.id).await?;
            items.push(calendar_record(row, versions));
        }
        Ok(into_page(items, page.limit, |c: &CalendarRecord| c.id))
    }

    async fn calendar_versions(&self, id: Uuid) -> Result<Option<CalendarVersions>> {
        let mut conn = self.db().acquire_read().await?;
        let cfg = config(&mut conn.conn(), self.sla()).await?;
        Ok(cfg.calendars.get(&id).cloned())
    }

    async fn create_policy(&self, p: SlaPolicy) -> Result<PolicyRecord> {
        let now = to_ms(Utc::now());
        let mut tx = self.db().begin().await?;
        let row: PolicyRow = insert_policy(&p, now, "")
            .fetch_one(&mut tx)
            .await
            .map_err(|e| {
                e.conflict_if_unique("a version of this policy with this effectiveFrom exists")
            })?;
        commit_config(tx, self.sla()).await?;
        Ok(row.into())
    }

    async fn put_policy(&self, id: Uuid, p: SlaPolicy) -> Result<Option<PolicyRecord>> {
        let now = to_ms(Utc::now());
        let mut tx = self.db().begin().await?;
        let cur: Option<PolicyRow> = query(format!(
            "SELECT {POLICY_COLS} FROM sla_policies WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut tx)
        .await?;
        let Some(cur) = cur else {
            return Ok(None);
        };
        if cur.policy.0.name != p.name {
            return Err(StoreError::Conflict(format!(
                "this policy is named '{}'; a new name is a new policy (POST)",
                cur.policy.0.name
            )));
        }
        let row: PolicyRow = if cur.policy.0.effective_from == p.effective_from {
            query(format!(
                "UPDATE sla_policies SET ord = $2, policy = $3, updated_at = $4 WHERE id = $1 \
                 RETURNING {POLICY_COLS}"
            ))
            .bind(id)
            .bind(p.order)
            .bind(json(&p))
            .bind(now)
            .fetch_one(&mut tx)
            .await?
        } else {
            let upsert = " ON CONFLICT (name, effective_from) DO UPDATE SET ord = excluded.ord, \
                          policy = excluded.policy, updated_at = excluded.updated_at";
            insert_policy(&p, now, upsert).fetch_one(&mut tx).await?
        };
        commit_config(tx, self.sla()).await?;
        Ok(Some(row.into()))
    }

    async fn get_policy(&self, id: Uuid) -> Result<Option<PolicyRecord>> {
        let row: Option<PolicyRow> = by_id(self.db(), POLICY_COLS, "sla_policies", id).await?;
        Ok(row.map(Into::into))
    }

    async fn list_policies(&self) -> Result<Vec<PolicyRecord>> {
        let rows: Vec<PolicyRow> = query(format!(
            "SELECT {POLICY_COLS} FROM sla_policies ORDER BY ord, name, effective_from, id"
        ))
        .fetch_all(self.db().read())
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn case_clocks(&self, case_id: Uuid) -> Result<Vec<ClockRecord>> {
        let mut conn = self.db().acquire_read().await?;
        load_clocks(&mut conn.conn(), case_id, false).await
    }

    async fn case_clock_views(
        &self,
        case_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Vec<(ClockKind, ClockView)>> {
        let (cfg, clocks) = read_clocks(self, case_id).await?;
        let mut latest: Vec<&ClockRecord> = Vec::new();
        for c in &clocks {
            match latest.iter_mut().find(|l| l.kind == c.kind) {
                Some(l) if l.run < c.run => *l = c,
                Some(_) => {}
                None => latest.push(c),
            }
        }
        Ok(latest
            .into_iter()
            .filter_map(|c| {
                c.view(cfg.calendar(c.calendar_id), now)
                    .map(|v| (c.kind, v))
            })
            .collect())
    }

    async fn on_reply_sent(
        &self,
        case_id: Uuid,
        at: DateTime<Utc>,
        process_answer: bool,
    ) -> Result<()> {
        in_own_tx(self, case_id, at, Hook::Reply { process_answer }).await
    }

    async fn on_no_reply_needed(
        &self,
        case_id: Uuid,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        in_own_tx(self, case_id, at, Hook::NoReplyNeeded(reason)).await
    }

    async fn on_merged(&self, case_id: Uuid, at: DateTime<Utc>) -> Result<()> {
        in_own_tx(self, case_id, at, Hook::Merged).await
    }

    async fn case_clock_runs(
        &self,
        case_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Vec<(ClockKind, i32, ClockView)>> {
        let (cfg, mut clocks) = read_clocks(self, case_id).await?;
        clocks.sort_by_key(|c| (c.started_at, c.run));
        Ok(clocks
            .iter()
            .filter_map(|c| {
                c.view(cfg.calendar(c.calendar_id), now)
                    .map(|v| (c.kind, c.run, v))
            })
            .collect())
    }

    async fn on_status_change(
        &self,
        case_id: Uuid,
        from: CaseStatus,
        to: CaseStatus,
        at: DateTime<Utc>,
    ) -> Result<()> {
        in_own_tx(self, case_id, at, Hook::Status { from, to }).await
    }

    async fn on_forward(
        &self,
        case_id: Uuid,
        department_minutes: Option<u32>,
        calendar_id: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let forward = Hook::Forward {
            minutes: department_minutes,
            calendar: calendar_id,
        };
        in_own_tx(self, case_id, at, forward).await
    }

    async fn on_department_answer(&self, case_id: Uuid, at: DateTime<Utc>) -> Result<()> {
        in_own_tx(self, case_id, at, Hook::DepartmentAnswer).await
    }

    async fn on_classified(&self, case_id: Uuid, at: DateTime<Utc>) -> Result<Vec<PolicyChange>> {
        let mut tx = self.db().begin().await?;
        let mut conn = tx.conn();
        let mut clocks = CaseClocks {
            conn: &mut conn,
            state: self.sla(),
            case_id,
            at,
        };
        let changes = clocks.classified().await?;
        tx.commit().await?;
        if !changes.is_empty() {
            self.sla().changed();
        }
        Ok(changes)
    }

    async fn list_alerts(
        &self,
        status: Option<ClockStatus>,
        page: PageRequest,
    ) -> Result<Page<AlertRecord>> {
        let rows: Vec<AlertRow> = query(format!(
            "SELECT {ALERT_COLS} FROM sla_alerts WHERE ($1 IS NULL OR status = $1) \
             AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        ))
        .bind(status.map(status_str))
        .bind(page.after)
        .bind(i64::from(page.limit) + 1)
        .fetch_all(self.db().read())
        .await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<AlertRecord>>>()?;
        Ok(into_page(items, page.limit, |a: &AlertRecord| a.id))
    }

    async fn fire_due_timers(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<AlertRecord>> {
        let mut tx = self.db().begin().await?;
        let rows: Vec<ClockRow> = query(format!(
            "SELECT {CLOCK_COLS} FROM sla_clocks WHERE next_fire_at IS NOT NULL \
             AND next_fire_at <= $1 ORDER BY next_fire_at LIMIT $2{}",
            tx.dialect().skip_locked()
        ))
        .bind(to_ms(now))
        .bind(i64::from(limit))
        .fetch_all(&mut tx)
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let cfg = config(&mut tx.conn(), self.sla()).await?;
        // Decide every clock first (pure), then write the pass set-wise: one insert of its
        // alerts, one update of its clocks, one refresh of its cases. Statement by statement, a
        // pass of 500 clocks was about 1,500 round trips, and at 1,000 alerts/s on PostgreSQL
        // the timer fell seconds behind.
        let mut alerts: Vec<(ClockRecord, ClockStatus, DateTime<Utc>)> = Vec::new();
        let mut updates: Vec<TimerUpdate> = Vec::with_capacity(rows.len());
        let mut cases = Vec::new();
        for row in rows {
            let mut c: ClockRecord = row.try_into()?;
            let cal = cfg.calendar(c.calendar_id);
            // Fires by the evaluation and sets the next timer from it too (not from the stored
            // instants), so the timer is never cleared while a warning or breach is to come.
            let fire = c.on_timer(cal, now);
            if !c.timer_is_sound(now) {
                tracing::error!(
                    clock_id = %c.id, case_id = %c.case_id, next_fire_at = ?c.next_fire_at,
                    "SLA timer: the evaluated clock asks for no sound next timer; looking again later"
                );
            }
            let notify_at = if cal.is_open(now) {
                now
            } else {
                cal.next_opening(now).unwrap_or(now)
            };
            for s in fire {
                alerts.push((c.clone(), s, notify_at));
            }
            updates.push(TimerUpdate {
                id: c.id,
                status: status_str(c.status),
                next_fire_at: c.next_fire_at,
                due_at: c.due_at.map(to_ms),
                warning_at: c.warning_at.map(to_ms),
            });
            cases.push(c.case_id);
        }
        let mut fired = Vec::with_capacity(alerts.len());
        for chunk in alerts.chunks(500) {
            let mut q = query(format!(
                "INSERT INTO sla_alerts ({ALERT_COLS}, generation) "
            ));
            q.push_values(chunk.iter().map(|(c, s, notify_at)| -> Vec<Arg> {
                vec![
                    Uuid::now_v7().into(),
                    c.case_id.into(),
                    c.id.into(),
                    kind_str(c.kind).into(),
                    c.run.into(),
                    status_str(*s).into(),
                    to_ms(alert_due(c, *s)).into(),
                    to_ms(now).into(),
                    to_ms(*notify_at).into(),
                    None::<i64>.into(),
                    c.generation.into(),
                ]
            }));
            q.push(&format!(
                " ON CONFLICT (case_id, clock, run, generation, status) DO NOTHING \
                 RETURNING {ALERT_COLS}"
            ));
            let rows: Vec<AlertRow> = q.fetch_all(&mut tx).await?;
            for r in rows {
                fired.push(AlertRecord::try_from(r)?);
            }
        }
        // Alert ids are UUIDv7 in the order decided; RETURNING promises no order.
        fired.sort_by_key(|a| a.id);
        let mut conn = tx.conn();
        set_clock_timers(&mut conn, &updates, to_ms(now)).await?;
        // One lock order for every node: fewer deadlocks between concurrent workers.
        cases.sort_unstable();
        cases.dedup();
        refresh_cases(&mut conn, &cases).await?;
        tx.commit().await?;
        Ok(fired)
    }

    async fn claim_notifications(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        lease: chrono::Duration,
        limit: u32,
    ) -> Result<Vec<AlertRecord>> {
        let mut tx = self.db().begin().await?;
        let rows: Vec<AlertRow> = query(format!(
            "UPDATE sla_alerts SET lease_owner = $1, lease_until = $2 WHERE id IN (\
               SELECT id FROM sla_alerts WHERE notified_at IS NULL AND notify_at <= $3 \
               AND (lease_until IS NULL OR lease_until <= $3) ORDER BY notify_at LIMIT $4{}) \
             RETURNING {ALERT_COLS}",
            tx.dialect().skip_locked()
        ))
        .bind(owner)
        .bind(to_ms(now + lease))
        .bind(to_ms(now))
        .bind(i64::from(limit))
        .fetch_all(&mut tx)
        .await?;
        tx.commit().await?;
        let mut out = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<AlertRecord>>>()?;
        out.sort_by_key(|a: &AlertRecord| (a.notify_at, a.id));
        Ok(out)
    }

    async fn mark_notified(&self, alert_ids: &[Uuid], at: DateTime<Utc>) -> Result<()> {
        for chunk in alert_ids.chunks(500) {
            let mut q = query(
                "UPDATE sla_alerts SET lease_owner = NULL, lease_until = NULL, notified_at = ",
            );
            q.push_bind(to_ms(at)).push(" WHERE id IN ");
            q.push_list(chunk.iter().copied());
            q.execute(self.db().write()).await?;
        }
        Ok(())
    }

    async fn finished_cases_with_running_clocks(
        &self,
        settled_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(Uuid, CaseStatus, DateTime<Utc>)>> {
        // sla_status is NULL exactly when no clock runs or is paused (refresh_cases). SQLite,
        // without statistics, prefers the status index and walks every finished case (most of a
        // desk's cases: 147 ms at 100,000 cases, and the pages it read stayed in the page
        // cache); the near-empty partial index (0009) is one probe.
        let db = self.db();
        let rows: Vec<(Uuid, String, Option<i64>, Option<i64>, i64)> = query(format!(
            "SELECT id, status, resolved_at, closed_at, updated_at FROM cases{} \
             WHERE sla_status IS NOT NULL AND status IN ('resolved', 'closed') \
             AND updated_at < $1 ORDER BY id LIMIT $2",
            db.dialect().indexed_by("cases_finished_running")
        ))
        .bind(to_ms(settled_before))
        .bind(i64::from(limit))
        .fetch_all(db.read())
        .await?;
        rows.into_iter()
            .map(|(id, status, resolved, closed, updated)| {
                let status: CaseStatus = crate::sql::parse(&status, "case status")?;
                let at = match status {
                    CaseStatus::Resolved => resolved,
                    _ => closed.or(resolved),
                };
                Ok((id, status, from_ms(at.unwrap_or(updated))))
            })
            .collect()
    }

    async fn next_fire_instant(&self) -> Result<Option<DateTime<Utc>>> {
        let a: Option<i64> =
            query("SELECT MIN(next_fire_at) FROM sla_clocks WHERE next_fire_at IS NOT NULL")
                .scalar(self.db().read())
                .await?;
        Ok(a.map(from_ms))
    }

    async fn next_notify_instant(&self) -> Result<Option<DateTime<Utc>>> {
        // Two minima, each one probe of its index (held notifications pile up outside opening
        // hours; scanning them per plan slowed every breach): the next notification not under a
        // running lease, and the end of a running lease.
        let (b, c): (Option<i64>, Option<i64>) = query(
            "SELECT (SELECT MIN(notify_at) FROM sla_alerts WHERE notified_at IS NULL \
                     AND (lease_until IS NULL OR lease_until <= notify_at)), \
                    (SELECT MIN(lease_until) FROM sla_alerts WHERE notified_at IS NULL \
                     AND lease_until IS NOT NULL AND lease_until > notify_at)",
        )
        .fetch_one(self.db().read())
        .await?;
        Ok(b.into_iter().chain(c).min().map(from_ms))
    }
}
