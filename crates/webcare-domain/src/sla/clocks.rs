//! Clock runs as the desk keeps them, and what happens to them, without IO: a run is a
//! [`ClockRecord`] (its segments, norms, fired status and the instants evaluated from them), and
//! the functions here start, stop, pause, resume and re-evaluate runs, decide what a citizen
//! message does to a case's clocks ([`plan_inbound`]) and which warnings and breaches fall due.
//! The store reads and writes the records; the evaluation is [`crate::sla::clock`]'s.
//!
//! - `due_at`/`warning_at` are evaluated whenever segments change and kept on the record, so the
//!   inbox sorts on them and the timer worker sleeps until the next one. `status` is the highest
//!   status *fired* so far; `next_fire_at` is when the next warning or breach falls due (a breach
//!   fires 1 ms after `due_at`: a reply exactly at the due instant still meets the norm).
//! - Without a linked calendar (policy `calendarId`, else the channel account's `calendarId`) the
//!   built-in default applies: Monday to Friday 08:30-17:00 Europe/Amsterdam, Dutch holidays.
//! - Without a matching policy the defaults apply ([`SlaDefaults`]): reaction 240, resolution
//!   1440 and department 480 business minutes, warning at 80 %.

use crate::sla::policy::DEFAULT_WARNING_AT;
use crate::sla::{
    evaluate, select_policy, Budget, CalendarSpec, CalendarVersions, CaseFacts, ClockKind,
    ClockNorms, ClockStatus, ClockView, MinutesKind, Segment, SlaPolicy, StopReason,
};
use crate::CaseStatus;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::OnceLock;
use uuid::Uuid;

/// Norms used when no policy matches.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaDefaults {
    pub reaction_minutes: u32,
    pub resolution_minutes: u32,
    pub department_minutes: u32,
    pub minutes_kind: MinutesKind,
    pub warning_at: f64,
    /// Whether a process answer ("we're looking into it") stops the reaction clock.
    pub process_answer_stops_reaction: bool,
}

impl Default for SlaDefaults {
    fn default() -> Self {
        SlaDefaults {
            reaction_minutes: 240,
            resolution_minutes: 1440,
            department_minutes: 480,
            minutes_kind: MinutesKind::Business,
            warning_at: DEFAULT_WARNING_AT,
            process_answer_stops_reaction: true,
        }
    }
}

/// The built-in calendar: Monday to Friday 08:30-17:00 Europe/Amsterdam, Dutch public holidays.
pub fn default_calendar_spec() -> CalendarSpec {
    let day = vec![["08:30".to_string(), "17:00".to_string()]];
    let mut spec = CalendarSpec {
        time_zone: "Europe/Amsterdam".into(),
        weekly: Default::default(),
        holidays: Default::default(),
        closures: vec![],
        extra_openings: vec![],
    };
    for d in 0..5 {
        if let Some(v) = spec.weekly.day_mut(d) {
            *v = day.clone();
        }
    }
    spec
}

pub fn default_calendar() -> &'static CalendarVersions {
    static CAL: OnceLock<CalendarVersions> = OnceLock::new();
    CAL.get_or_init(|| {
        CalendarVersions::single(
            default_calendar_spec()
                .validate()
                .expect("the built-in calendar is valid"),
        )
    })
}

/// Calendars and policies as the engine uses them.
pub struct SlaConfig {
    /// The stored configuration's revision this was read at.
    pub rev: i64,
    pub policies: Vec<SlaPolicy>,
    pub calendars: HashMap<Uuid, CalendarVersions>,
}

impl SlaConfig {
    /// The calendar with `id`, or the built-in default.
    pub fn calendar(&self, id: Option<Uuid>) -> &CalendarVersions {
        id.and_then(|id| self.calendars.get(&id))
            .unwrap_or_else(|| default_calendar())
    }
}

/// A clock run of a case.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockRecord {
    pub id: Uuid,
    pub case_id: Uuid,
    pub kind: ClockKind,
    /// 0 for the first run; next-reaction and department clocks count up, and a reopened case
    /// starts a new resolution run.
    pub run: i32,
    pub segments: Vec<Segment>,
    pub budget: Budget,
    pub warning_fraction: f64,
    /// `None`: the built-in default calendar.
    pub calendar_id: Option<Uuid>,
    pub policy_name: Option<String>,
    /// `running`, `paused`, `met`, `missed` or `cancelled` ([`crate::sla::ClockState`]).
    pub state: String,
    /// Highest status fired so far.
    pub status: ClockStatus,
    pub started_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub warning_at: Option<DateTime<Utc>>,
    pub stopped_at: Option<DateTime<Utc>>,
    /// Epoch milliseconds.
    pub next_fire_at: Option<i64>,
    /// How often the clock's norms changed (policy re-selection); alerts are unique per
    /// generation, so a re-armed warning or breach is recorded again for its new deadline.
    pub generation: i32,
    /// Why the run stopped (`None` while it runs, and for runs stopped before reasons were kept).
    pub stop_reason: Option<StopReason>,
    /// The reason given with "geen reactie nodig".
    pub stop_note: Option<String>,
}

/// The norms for a new clock.
#[derive(Debug, Clone)]
pub struct Norms {
    pub minutes: Option<u32>,
    pub kind: MinutesKind,
    pub warning_at: f64,
    pub calendar_id: Option<Uuid>,
    pub policy_name: Option<String>,
}

/// What the clocks need to know about a case: what a policy matches on, the channel account's
/// calendar and the case's status.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockFacts {
    pub case: CaseFacts,
    pub account_calendar: Option<Uuid>,
    pub status: CaseStatus,
}

fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// How soon [`ClockRecord::on_timer`] looks again when the evaluation would put the next timer at
/// or before now (it never should; see [`ClockRecord::timer_is_sound`]).
pub const TIMER_RETRY_MS: i64 = 1_000;

/// Picks the norms of `clock` for a case: the matching policy in force at `at`, else the defaults.
/// The calendar is the policy's, else the account's, else (None) the built-in default.
pub fn norms_for(
    cfg: &SlaConfig,
    defaults: &SlaDefaults,
    facts: &ClockFacts,
    clock: ClockKind,
    at: DateTime<Utc>,
) -> Norms {
    let exists = |id: Option<Uuid>| id.filter(|id| cfg.calendars.contains_key(id));
    match select_policy(&cfg.policies, &facts.case, at) {
        Some(p) => Norms {
            minutes: match clock {
                ClockKind::Reaction | ClockKind::NextReaction => p.reaction_minutes,
                ClockKind::Resolution => p.resolution_minutes,
                ClockKind::Department => p.department_minutes,
            },
            kind: p.minutes_kind,
            warning_at: p.warning_at,
            calendar_id: exists(p.calendar_id).or(exists(facts.account_calendar)),
            policy_name: Some(p.name.clone()),
        },
        None => Norms {
            minutes: Some(match clock {
                ClockKind::Reaction | ClockKind::NextReaction => defaults.reaction_minutes,
                ClockKind::Resolution => defaults.resolution_minutes,
                ClockKind::Department => defaults.department_minutes,
            }),
            kind: defaults.minutes_kind,
            warning_at: defaults.warning_at,
            calendar_id: exists(facts.account_calendar),
            policy_name: None,
        },
    }
}

/// What a citizen message sent at `at` does to a case's clocks: it starts the reaction clock (or
/// a next-reaction clock after a reply) and the resolution clock, resumes a paused resolution
/// clock, and an earlier message moves a running clock's start back (out-of-order delivery).
/// Changes `clocks` in place and returns the indexes it wrote, with `true` for a new clock (its
/// id from `new_id`).
#[allow(clippy::too_many_arguments)]
pub fn plan_inbound(
    cfg: &SlaConfig,
    defaults: &SlaDefaults,
    facts: &ClockFacts,
    case_id: Uuid,
    clocks: &mut Vec<ClockRecord>,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    mut new_id: impl FnMut() -> Uuid,
) -> Vec<(usize, bool)> {
    let mut writes = Vec::new();
    if facts.status == CaseStatus::Closed {
        return writes;
    }
    // Out of order: an earlier message moves a clock's start back (while it has one segment).
    let start_earlier = |c: &mut ClockRecord| {
        let moved = !c.is_stopped() && c.segments.len() == 1 && at < c.started_at;
        if moved {
            c.segments[0].from = at;
            c.recompute(cfg.calendar(c.calendar_id), now);
        }
        moved
    };
    // The runs to start: (kind, run, from, reason).
    let mut starts: Vec<(ClockKind, i32, DateTime<Utc>, &str)> = Vec::new();
    // Reaction / next reaction.
    let reactions: Vec<usize> = (0..clocks.len())
        .filter(|&i| {
            matches!(
                clocks[i].kind,
                ClockKind::Reaction | ClockKind::NextReaction
            )
        })
        .collect();
    match reactions.iter().copied().find(|&i| !clocks[i].is_stopped()) {
        None if reactions.is_empty() => {
            starts.push((ClockKind::Reaction, 0, at, "citizen message"));
        }
        None => {
            let last_stop = reactions.iter().filter_map(|&i| clocks[i].stopped_at).max();
            let run = reactions.iter().map(|&i| clocks[i].run).max().unwrap_or(0) + 1;
            let from = last_stop.map_or(at, |s| at.max(s));
            starts.push((
                ClockKind::NextReaction,
                run,
                from,
                "citizen message after a reply",
            ));
        }
        Some(i) => {
            if start_earlier(&mut clocks[i]) {
                writes.push((i, false));
            }
        }
    }
    // Resolution.
    let latest = (0..clocks.len())
        .filter(|&i| clocks[i].kind == ClockKind::Resolution)
        .max_by_key(|&i| clocks[i].run);
    match latest {
        None => starts.push((ClockKind::Resolution, 0, at, "first message")),
        Some(i) if clocks[i].is_stopped() => {
            if facts.status != CaseStatus::Resolved {
                let from = at.max(clocks[i].stopped_at.unwrap_or(at));
                let reason = "reopened by a citizen message";
                starts.push((ClockKind::Resolution, clocks[i].run + 1, from, reason));
            }
        }
        Some(i) if clocks[i].state == "paused" && facts.status != CaseStatus::WaitingOnCitizen => {
            let c = &mut clocks[i];
            c.resume(at, "citizen answered");
            c.recompute(cfg.calendar(c.calendar_id), now);
            writes.push((i, false));
        }
        Some(i) if start_earlier(&mut clocks[i]) => writes.push((i, false)),
        Some(_) => {}
    }
    for (kind, run, from, reason) in starts {
        let norms = norms_for(cfg, defaults, facts, kind, from);
        if let Some(minutes) = norms.minutes {
            let mut c = new_clock(new_id(), case_id, kind, run, &norms, minutes, from, reason);
            c.recompute(cfg.calendar(c.calendar_id), from);
            clocks.push(c);
            writes.push((clocks.len() - 1, true));
        }
    }
    writes
}

/// A new clock run starting at `start`.
#[allow(clippy::too_many_arguments)]
pub fn new_clock(
    id: Uuid,
    case_id: Uuid,
    kind: ClockKind,
    run: i32,
    norms: &Norms,
    minutes: u32,
    start: DateTime<Utc>,
    reason: &str,
) -> ClockRecord {
    ClockRecord {
        id,
        case_id,
        kind,
        run,
        segments: vec![Segment {
            from: start,
            to: None,
            running: true,
            reason: Some(reason.into()),
        }],
        budget: Budget::minutes(minutes, norms.kind),
        warning_fraction: norms.warning_at,
        calendar_id: norms.calendar_id,
        policy_name: norms.policy_name.clone(),
        state: "running".into(),
        status: ClockStatus::Within,
        started_at: start,
        due_at: None,
        warning_at: None,
        stopped_at: None,
        next_fire_at: None,
        generation: 0,
        stop_reason: None,
        stop_note: None,
    }
}

impl ClockRecord {
    /// What the clock is measured against.
    pub fn norms(&self) -> ClockNorms {
        ClockNorms {
            budget: self.budget,
            warning_at: self.warning_fraction,
            calendar_id: self.calendar_id,
            policy: self.policy_name.clone(),
        }
    }

    /// Measures the clock against `norms` from now on (a new generation), with `fired` as the
    /// status fired so far; call `recompute` after.
    pub fn set_norms(&mut self, norms: ClockNorms, fired: ClockStatus) {
        self.budget = norms.budget;
        self.warning_fraction = norms.warning_at;
        self.calendar_id = norms.calendar_id;
        self.policy_name = norms.policy;
        self.status = fired;
        self.generation += 1;
    }

    pub fn is_stopped(&self) -> bool {
        matches!(self.state.as_str(), "met" | "missed" | "cancelled")
    }

    /// The evaluated clock, its stopped state decided by its stop reason ([`crate::sla::settle`]).
    pub fn view(&self, cal: &CalendarVersions, now: DateTime<Utc>) -> Option<ClockView> {
        evaluate(&self.segments, self.budget, self.warning_fraction, cal, now)
            .ok()
            .map(|v| v.settled(self.kind, self.stop_reason, self.stop_note.clone()))
    }

    /// Re-evaluates after a segment change at `at`: due/warning instants, state, next timer.
    pub fn recompute(&mut self, cal: &CalendarVersions, at: DateTime<Utc>) {
        if let Some(v) = self.view(cal, at) {
            self.take_instants(&v);
        }
        self.next_fire_at = self.next_fire();
    }

    /// Keeps the evaluated instants and state on the record.
    fn take_instants(&mut self, v: &ClockView) {
        self.due_at = v.due_at;
        self.warning_at = v.warning_at;
        self.stopped_at = v.stopped_at;
        self.started_at = v.started_at;
        self.state = v.state.as_str().into();
    }

    /// A timer pass at `now`: re-evaluates the run on `cal`, moves `status` up to every warning
    /// or breach due by now and answers those (in order), and sets `next_fire_at` to when the
    /// next one falls due.
    ///
    /// The due and warning instants are taken from the evaluation, not from the record: a row
    /// stored under another rule (before due times were rounded up to the whole second, under an
    /// earlier calendar version, or seeded by hand) may hold instants that the evaluation has not
    /// reached yet. Deciding "nothing to fire" by the evaluation but "the next timer" by the
    /// stored instants put that timer in the past, and the timer was then cleared: the warning
    /// and the breach were never recorded.
    ///
    /// Afterwards (the invariant [`Self::timer_is_sound`] states): `next_fire_at` is `None` only
    /// when nothing more can fire (breached, a paused or stopped run that cannot reach its next
    /// status, or a run that cannot be evaluated), and otherwise lies after `now`, so a timer
    /// neither spins nor drops a warning or breach still to come. Should a rounding rule ever
    /// break that, the timer looks again a second later rather than never.
    pub fn on_timer(&mut self, cal: &CalendarVersions, now: DateTime<Utc>) -> Vec<ClockStatus> {
        let Some(view) = self.view(cal, now) else {
            self.next_fire_at = None;
            return Vec::new();
        };
        self.take_instants(&view);
        let fired = self.to_fire(&view);
        if let Some(&last) = fired.last() {
            self.status = last;
        }
        self.next_fire_at = match self.next_fire() {
            Some(n) if n <= to_ms(now) => Some(to_ms(now) + TIMER_RETRY_MS),
            next => next,
        };
        fired
    }

    /// The timer invariant after [`Self::on_timer`] at `now`: the timer is the one the evaluated
    /// instants ask for, it lies after `now`, and it is unset only when nothing more can fire.
    /// `false` means the retry of [`Self::on_timer`] stood in for it.
    pub fn timer_is_sound(&self, now: DateTime<Utc>) -> bool {
        self.next_fire_at == self.next_fire() && self.next_fire_at.is_none_or(|n| n > to_ms(now))
    }

    /// When the next not-yet-fired status falls due. For a paused or stopped clock only what
    /// happened before the pause or stop can still fire.
    pub fn next_fire(&self) -> Option<i64> {
        let candidate = match self.status {
            ClockStatus::Within => self.warning_at.map(to_ms),
            ClockStatus::Warning => self.due_at.map(|d| to_ms(d) + 1),
            ClockStatus::Breached => None,
        }?;
        let limit = if self.is_stopped() {
            self.stopped_at.map(to_ms)
        } else if self.state == "paused" {
            self.segments.last().map(|s| to_ms(s.from))
        } else {
            None
        };
        match limit {
            Some(l) if candidate > l => None,
            _ => Some(candidate),
        }
    }

    /// Closes the open segment at `at` (never before its start).
    fn close_open(&mut self, at: DateTime<Utc>) {
        if let Some(last) = self.segments.last_mut() {
            if last.to.is_none() {
                last.to = Some(at.max(last.from));
            }
        }
    }

    /// Stops the run at `at` for `reason` (`note`: the reason given with "geen reactie nodig").
    /// A run already stopped keeps its stop and reason.
    pub fn stop(&mut self, at: DateTime<Utc>, reason: StopReason, note: Option<&str>) {
        if self.segments.last().is_some_and(|s| s.to.is_none()) {
            self.close_open(at);
            self.stop_reason = Some(reason);
            self.stop_note = note.map(str::to_owned);
        }
    }

    pub fn pause(&mut self, at: DateTime<Utc>, reason: &str) {
        if !self.is_stopped() && self.state != "paused" {
            self.next_segment(at, false, reason);
        }
    }

    pub fn resume(&mut self, at: DateTime<Utc>, reason: &str) {
        if self.state == "paused" {
            self.next_segment(at, true, reason);
        }
    }

    /// Closes the open segment at `at` (never before its start) and opens the next one there.
    fn next_segment(&mut self, at: DateTime<Utc>, running: bool, reason: &str) {
        let at = self.segments.last().map_or(at, |s| at.max(s.from));
        self.close_open(at);
        self.segments.push(Segment {
            from: at,
            to: None,
            running,
            reason: Some(reason.into()),
        });
    }

    /// The statuses to fire now, given the evaluated view: every one above what has fired.
    pub fn to_fire(&self, view: &ClockView) -> Vec<ClockStatus> {
        [ClockStatus::Warning, ClockStatus::Breached]
            .into_iter()
            .filter(|s| rank(*s) > rank(self.status) && rank(*s) <= rank(view.status))
            .collect()
    }
}

/// The alert's due instant for a status.
pub fn alert_due(c: &ClockRecord, s: ClockStatus) -> DateTime<Utc> {
    match s {
        ClockStatus::Warning => c.warning_at.or(c.due_at).unwrap_or(c.started_at),
        _ => c.due_at.unwrap_or(c.started_at),
    }
}

/// The order of the statuses: within < warning < breached.
pub fn rank(s: ClockStatus) -> u8 {
    match s {
        ClockStatus::Within => 0,
        ClockStatus::Warning => 1,
        ClockStatus::Breached => 2,
    }
}

/// What a case row shows of its clocks: the earliest due instant of a running clock, and the
/// worst status of the running or paused ones (`None` without any). The same rule as the
/// store's refresh SQL; computed here so a case can be written with it in one statement.
pub fn case_due_and_status(clocks: &[ClockRecord]) -> (Option<DateTime<Utc>>, Option<ClockStatus>) {
    let due = clocks
        .iter()
        .filter(|c| c.state == "running")
        .filter_map(|c| c.due_at)
        .min();
    let status = clocks
        .iter()
        .filter(|c| matches!(c.state.as_str(), "running" | "paused"))
        .map(|c| c.status)
        .max_by_key(|s| rank(*s));
    (due, status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::BusinessHours;
    use crate::{ChannelKind, Priority};
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 9, h, m, 0).unwrap()
    }

    fn always() -> CalendarVersions {
        let mut spec = default_calendar_spec();
        spec.holidays.set = "none".into();
        for d in 0..7 {
            *spec.weekly.day_mut(d).unwrap() = vec![["00:00".into(), "24:00".into()]];
        }
        CalendarVersions::single(spec.validate().unwrap())
    }

    fn norms(minutes: u32) -> Norms {
        Norms {
            minutes: Some(minutes),
            kind: MinutesKind::Business,
            warning_at: 0.5,
            calendar_id: None,
            policy_name: None,
        }
    }

    fn clock(start: DateTime<Utc>, minutes: u32) -> ClockRecord {
        let n = norms(minutes);
        new_clock(
            Uuid::nil(),
            Uuid::nil(),
            ClockKind::Reaction,
            0,
            &n,
            minutes,
            start,
            "test",
        )
    }

    /// Open around the clock, no policies: the defaults apply.
    fn config() -> (SlaConfig, Uuid) {
        let id = Uuid::from_u128(7);
        let cfg = SlaConfig {
            rev: 0,
            policies: vec![],
            calendars: HashMap::from([(id, always())]),
        };
        (cfg, id)
    }

    fn facts(status: CaseStatus, calendar: Uuid) -> ClockFacts {
        ClockFacts {
            case: CaseFacts {
                channel_kind: ChannelKind::Api,
                channel_account_id: Uuid::nil(),
                theme: None,
                kind: None,
                priority: Priority::Normal,
            },
            account_calendar: Some(calendar),
            status,
        }
    }

    #[test]
    fn case_columns_follow_running_and_paused_clocks() {
        assert_eq!(case_due_and_status(&[]), (None, None));
        let mut a = clock(at(9, 0), 60);
        let mut b = clock(at(9, 30), 60);
        a.due_at = Some(at(10, 0));
        b.due_at = Some(at(10, 30));
        b.status = ClockStatus::Warning;
        assert_eq!(
            case_due_and_status(&[a.clone(), b.clone()]),
            (Some(at(10, 0)), Some(ClockStatus::Warning))
        );
        // A paused clock has no due instant on the case but keeps its status; a stopped one
        // counts for neither.
        a.state = "paused".into();
        a.status = ClockStatus::Breached;
        b.state = "met".into();
        assert_eq!(
            case_due_and_status(&[a.clone(), b.clone()]),
            (None, Some(ClockStatus::Breached))
        );
        a.state = "cancelled".into();
        assert_eq!(case_due_and_status(&[a, b]), (None, None));
    }

    /// [`plan_inbound`] on the defaults for the nil case.
    fn plan(
        cfg: &SlaConfig,
        f: &ClockFacts,
        clocks: &mut Vec<ClockRecord>,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
        new_id: impl FnMut() -> Uuid,
    ) -> Vec<(usize, bool)> {
        let d = SlaDefaults::default();
        plan_inbound(cfg, &d, f, Uuid::nil(), clocks, at, now, new_id)
    }

    fn ids() -> impl FnMut() -> Uuid {
        let mut n = 0u128;
        move || {
            n += 1;
            Uuid::from_u128(n)
        }
    }

    #[test]
    fn timers_fire_warning_then_breach_just_after_due() {
        let cal = always();
        let mut c = clock(at(9, 0), 60);
        c.recompute(&cal, at(9, 0));
        assert_eq!(c.warning_at, Some(at(9, 30)));
        assert_eq!(c.next_fire_at, Some(to_ms(at(9, 30))));
        c.status = ClockStatus::Warning;
        assert_eq!(
            c.next_fire(),
            Some(to_ms(at(10, 0)) + 1),
            "breach only strictly after due"
        );
        c.status = ClockStatus::Breached;
        assert_eq!(c.next_fire(), None);
        assert_eq!(alert_due(&c, ClockStatus::Warning), at(9, 30));
        assert_eq!(alert_due(&c, ClockStatus::Breached), at(10, 0));
    }

    /// A run as a desk stored it before due times were rounded up to the whole second (or as the
    /// breach bench seeded it): started at a fractional second, its instants taken from the exact
    /// start, so they lie up to a second before the ones the evaluation gives.
    fn stored_by_the_exact_start(
        start: DateTime<Utc>,
        budget: Budget,
        fraction: f64,
    ) -> ClockRecord {
        let mut c = clock(start, 1);
        c.budget = budget;
        c.warning_fraction = fraction;
        let exact =
            |f: f64| start + Duration::milliseconds((budget.seconds as f64 * 1000.0 * f) as i64);
        c.due_at = Some(exact(1.0));
        c.warning_at = Some(exact(fraction));
        c.next_fire_at = c.next_fire();
        c
    }

    /// The breach bench's lost breaches: the timer woke at the stored warning instant, the
    /// evaluation said "within" (its warning falls at the next whole second), and the next timer,
    /// taken from the stored instants, lay in the past and was cleared. Now the timer takes the
    /// evaluated instants and both the warning and the breach fire, each at its instant.
    #[test]
    fn a_timer_fires_by_the_evaluation_when_the_stored_instants_are_early() {
        let cal = always();
        let start = at(9, 0) + Duration::milliseconds(400);
        let budget = Budget {
            seconds: 20,
            kind: MinutesKind::Calendar,
        };
        let mut c = stored_by_the_exact_start(start, budget, 0.8);
        assert_eq!(c.next_fire_at, Some(to_ms(start) + 16_000));
        let whole = at(9, 0) + Duration::seconds(1);

        let woke = start + Duration::seconds(16);
        assert_eq!(c.on_timer(&cal, woke), vec![]);
        assert!(c.timer_is_sound(woke));
        assert_eq!(c.warning_at, Some(whole + Duration::seconds(16)));
        assert_eq!(c.due_at, Some(whole + Duration::seconds(20)));
        assert_eq!(c.next_fire_at, Some(to_ms(whole) + 16_000));

        let woke = whole + Duration::seconds(16);
        assert_eq!(c.on_timer(&cal, woke), vec![ClockStatus::Warning]);
        assert!(c.timer_is_sound(woke));
        assert_eq!(c.next_fire_at, Some(to_ms(whole) + 20_001));

        // Already warned (the bench seeds those too): the stored breach timer is early as well.
        let mut w = stored_by_the_exact_start(start, budget, 0.8);
        w.status = ClockStatus::Warning;
        w.next_fire_at = w.next_fire();
        let woke = start + Duration::milliseconds(20_001);
        assert_eq!(w.on_timer(&cal, woke), vec![]);
        assert_eq!(w.next_fire_at, Some(to_ms(whole) + 20_001));

        for c in [&mut c, &mut w] {
            let woke = DateTime::from_timestamp_millis(c.next_fire_at.unwrap()).unwrap();
            assert_eq!(c.on_timer(&cal, woke), vec![ClockStatus::Breached]);
            assert_eq!(c.next_fire_at, None);
            assert!(c.timer_is_sound(woke));
        }
    }

    #[test]
    fn a_stop_or_pause_keeps_only_what_happened_before_it() {
        let cal = always();
        // Stopped between warning and due: the warning still fires, the breach never.
        let mut c = clock(at(9, 0), 60);
        c.stop(at(9, 45), StopReason::Reply, None);
        c.recompute(&cal, at(11, 0));
        assert_eq!(c.state, "met");
        assert_eq!(c.next_fire(), Some(to_ms(at(9, 30))));
        let v = c.view(&cal, at(11, 0)).unwrap();
        assert_eq!(c.to_fire(&v), vec![ClockStatus::Warning]);
        c.status = ClockStatus::Warning;
        assert_eq!(c.next_fire(), None);
        // Stopped after due: missed, both fire.
        let mut c = clock(at(9, 0), 60);
        c.stop(at(10, 1), StopReason::Reply, None);
        c.recompute(&cal, at(11, 0));
        assert_eq!(c.state, "missed");
        let v = c.view(&cal, at(11, 0)).unwrap();
        assert_eq!(
            c.to_fire(&v),
            vec![ClockStatus::Warning, ClockStatus::Breached]
        );
        // Resolved without a reply before the deadline: not met, cancelled; after it: missed.
        let mut c = clock(at(9, 0), 60);
        c.stop(at(9, 45), StopReason::ResolvedWithoutReply, None);
        c.recompute(&cal, at(11, 0));
        assert_eq!(c.state, "cancelled");
        assert!(c.is_stopped());
        assert_eq!(
            c.view(&cal, at(11, 0)).unwrap().stop_reason,
            Some(StopReason::ResolvedWithoutReply)
        );
        // A second stop keeps the first stop and reason.
        c.stop(at(10, 30), StopReason::Reply, None);
        assert_eq!(c.stop_reason, Some(StopReason::ResolvedWithoutReply));
        assert_eq!(c.stopped_at, Some(at(9, 45)));
        // Paused before the warning: nothing to fire while paused; resuming moves the due time.
        let mut c = clock(at(9, 0), 60);
        c.pause(at(9, 10), "waiting on the citizen");
        c.recompute(&cal, at(9, 10));
        assert_eq!(c.state, "paused");
        assert_eq!(c.next_fire_at, None);
        c.resume(at(10, 10), "answered");
        c.recompute(&cal, at(10, 10));
        assert_eq!(c.state, "running");
        assert_eq!(c.due_at, Some(at(11, 0)));
        assert_eq!(c.segments.len(), 3);
    }

    #[test]
    fn the_default_calendar_is_weekdays_half_nine_to_five_in_amsterdam() {
        let cal = default_calendar();
        // Friday 6 March 2026 17:30 CET + 120 business minutes -> Monday 10:30 CET.
        let start = Utc.with_ymd_and_hms(2026, 3, 6, 16, 30, 0).unwrap();
        assert_eq!(
            cal.deadline_minutes(start, 120).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 9, 9, 30, 0).unwrap()
        );
        // Koningsdag 2026 (Monday 27 April) is closed.
        assert!(!cal.is_open(Utc.with_ymd_and_hms(2026, 4, 27, 10, 0, 0).unwrap()));
    }

    #[test]
    fn a_first_message_starts_reaction_and_resolution_on_the_defaults() {
        let (cfg, cal) = config();
        let mut clocks = Vec::new();
        let w = plan(
            &cfg,
            &facts(CaseStatus::New, cal),
            &mut clocks,
            at(9, 0),
            at(9, 0),
            ids(),
        );
        assert_eq!(w, vec![(0, true), (1, true)]);
        assert_eq!(clocks[0].kind, ClockKind::Reaction);
        assert_eq!(clocks[1].kind, ClockKind::Resolution);
        assert_eq!(clocks[0].due_at, Some(at(9, 0) + Duration::minutes(240)));
        assert_eq!(clocks[1].calendar_id, Some(cal));
        // A closed case starts nothing.
        let mut clocks = Vec::new();
        let f = facts(CaseStatus::Closed, cal);
        let w = plan(&cfg, &f, &mut clocks, at(9, 0), at(9, 0), ids());
        assert!(w.is_empty() && clocks.is_empty());
    }

    #[test]
    fn after_a_reply_a_message_starts_the_next_reaction_run() {
        let (cfg, cal) = config();
        let f = facts(CaseStatus::Open, cal);
        let mut clocks = Vec::new();
        plan(&cfg, &f, &mut clocks, at(9, 0), at(9, 0), ids());
        clocks[0].stop(at(9, 30), StopReason::Reply, None);
        clocks[0].recompute(cfg.calendar(Some(cal)), at(9, 30));
        let w = plan(&cfg, &f, &mut clocks, at(9, 10), at(10, 0), || {
            Uuid::from_u128(99)
        });
        assert_eq!(w, vec![(2, true)]);
        let next = &clocks[2];
        assert_eq!((next.kind, next.run), (ClockKind::NextReaction, 1));
        // It starts at the reply, not before: the earlier message was answered by it.
        assert_eq!(next.started_at, at(9, 30));
        assert_eq!(next.id, Uuid::from_u128(99));
    }

    fn status() -> impl Strategy<Value = ClockStatus> {
        prop_oneof![
            Just(ClockStatus::Within),
            Just(ClockStatus::Warning),
            Just(ClockStatus::Breached)
        ]
    }

    proptest! {
        #[test]
        fn firing_what_is_due_leaves_nothing_to_fire(
            minutes in 1u32..600, after in 0i64..1200, fired in status(),
        ) {
            let cal = always();
            let mut c = clock(at(9, 0), minutes);
            c.recompute(&cal, at(9, 0));
            c.status = fired;
            let now = at(9, 0) + Duration::minutes(after);
            let v = c.view(&cal, now).unwrap();
            let due = c.to_fire(&v);
            // In order, each above what fired, none above what the view says.
            prop_assert!(due.windows(2).all(|w| rank(w[0]) < rank(w[1])));
            prop_assert!(due.iter().all(|s| rank(*s) > rank(fired) && rank(*s) <= rank(v.status)));
            if let Some(last) = due.last() {
                c.status = *last;
            }
            prop_assert!(c.to_fire(&v).is_empty());
            // The next timer is after the instant of what fired, and none once breached.
            match (c.status, c.next_fire()) {
                (ClockStatus::Breached, n) => prop_assert_eq!(n, None),
                (ClockStatus::Warning, n) => prop_assert_eq!(n, c.due_at.map(|d| to_ms(d) + 1)),
                (ClockStatus::Within, n) => prop_assert_eq!(n, c.warning_at.map(to_ms)),
            }
        }

        /// The timer worker's view of a clock: it wakes at `next_fire_at` (a few ms late) and
        /// calls `on_timer`. Whatever instants the row was stored with (up to 1.5 s off the
        /// evaluation either way), from a start at any fraction of a second, after pauses and
        /// stops: every pass leaves a sound timer, nothing fires before its evaluated instant,
        /// and the chain of passes ends with every status the run reaches fired.
        #[test]
        fn a_timer_never_drops_a_warning_or_breach_still_to_come(
            start_ns in 0i64..1_000_000_000,
            seconds in 0i64..20_000,
            calendar_minutes in any::<bool>(),
            business_hours in any::<bool>(),
            fraction in 0.0f64..=1.0,
            steps in proptest::collection::vec((0u8..3, 0i64..20_000), 0..4),
            fired in status(),
            off_due in -1_500i64..=1_500,
            off_warning in -1_500i64..=1_500,
            late in proptest::collection::vec(0i64..50, 6),
        ) {
            let always = always();
            let cal = if business_hours { default_calendar() } else { &always };
            let start = at(9, 0) + Duration::nanoseconds(start_ns);
            let kind = if calendar_minutes { MinutesKind::Calendar } else { MinutesKind::Business };
            let mut c = clock(start, 1);
            c.budget = Budget { seconds, kind };
            c.warning_fraction = fraction;
            let mut t = start;
            for (op, gap) in steps {
                t += Duration::seconds(gap) + Duration::nanoseconds(start_ns / 7);
                match op {
                    0 => c.pause(t, "p"),
                    1 => c.resume(t, "r"),
                    _ => c.stop(t, StopReason::Reply, None),
                }
            }
            c.recompute(cal, t);
            c.status = fired;
            // Stored under another rule: the instants off by up to 1.5 s.
            c.due_at = c.due_at.map(|d| d + Duration::milliseconds(off_due));
            c.warning_at = c.warning_at.map(|w| w + Duration::milliseconds(off_warning));
            c.next_fire_at = c.next_fire();
            let Some(first) = c.next_fire_at else { return Ok(()) };
            // What the run reaches in the end, by the evaluation.
            let far = t.max(start) + Duration::days(60);
            let reaches = c.view(cal, far).unwrap().status;
            let mut now = DateTime::from_timestamp_millis(first).unwrap();
            for l in late {
                now += Duration::milliseconds(l);
                let fire = c.on_timer(cal, now);
                prop_assert!(c.timer_is_sound(now), "unsound timer {:?} at {}", c.next_fire_at, now);
                let v = c.view(cal, now).unwrap();
                prop_assert!(fire.iter().all(|s| rank(*s) <= rank(v.status)), "fired early");
                prop_assert_eq!(c.to_fire(&v), vec![]);
                match c.next_fire_at {
                    Some(n) => now = DateTime::from_timestamp_millis(n).unwrap(),
                    None => break,
                }
            }
            prop_assert_eq!(c.next_fire_at, None, "more than six passes");
            prop_assert_eq!(rank(c.status), rank(fired).max(rank(reaches)));
        }

        #[test]
        fn pauses_and_stops_keep_segments_contiguous_with_one_open_at_most(
            steps in proptest::collection::vec((0u8..3, 0i64..120), 0..12),
        ) {
            let cal = always();
            let mut c = clock(at(9, 0), 240);
            let mut t = at(9, 0);
            for (op, gap) in steps {
                t += Duration::minutes(gap);
                match op {
                    0 => c.pause(t, "p"),
                    1 => c.resume(t, "r"),
                    _ => c.stop(t, StopReason::Reply, None),
                }
                c.recompute(&cal, t);
                prop_assert!(c.segments.windows(2).all(|w| w[0].to == Some(w[1].from)));
                prop_assert!(c.segments.iter().rev().skip(1).all(|s| s.to.is_some()));
                prop_assert!(c.segments.iter().all(|s| s.to.is_none_or(|to| to >= s.from)));
                // A timer never falls after the pause or stop that froze the clock.
                if let (Some(n), Some(s)) = (c.next_fire_at, c.stopped_at) {
                    prop_assert!(n <= to_ms(s));
                }
                if c.state == "paused" {
                    let from = c.segments.last().map(|s| to_ms(s.from));
                    prop_assert!(c.next_fire_at.is_none_or(|n| Some(n) <= from));
                }
            }
        }

        #[test]
        fn messages_after_the_first_start_nothing_new_on_an_open_case(
            gaps in proptest::collection::vec(0i64..600, 1..6),
        ) {
            let (cfg, cal) = config();
                let f = facts(CaseStatus::Open, cal);
            let mut clocks = Vec::new();
            let mut ids = ids();
            plan(&cfg, &f, &mut clocks, at(9, 0), at(9, 0), &mut ids);
            let before = clocks.clone();
            let mut t = at(9, 0);
            for g in gaps {
                t += Duration::minutes(g);
                let w = plan(&cfg, &f, &mut clocks, t, t, &mut ids);
                prop_assert!(w.is_empty());
            }
            prop_assert_eq!(clocks, before);
        }
    }
}
