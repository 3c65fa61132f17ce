//! Case clocks as lists of segments (running, or paused with a reason), so any figure can be
//! explained from its parts. Evaluation is pure: segments + budget + calendar + now in, view out.
//!
//! Choices:
//! - Paused time never consumes budget.
//! - A clock is stopped when its last segment has an end; an open last segment runs (or stays
//!   paused) until `now`.
//! - `dueAt` of a running clock is when the remaining budget runs out if it keeps running. Of a
//!   paused clock it is the due time that would hold if it resumed now, so the inbox can still
//!   sort by it (it moves later while the pause lasts). Of a stopped clock whose budget was not
//!   used up it is the due time had it continued from the stop. Once the budget was used up
//!   inside a segment, `dueAt` is that instant and never moves again.
//! - Met when stopped at or before `dueAt`, missed when stopped after it. Status is breached only
//!   strictly after `dueAt` (a reply at the due instant still meets the norm), warning from the
//!   warning instant on.
//! - `dueAt`/`warningAt` are `None` only when the calendar has no (or too little) open time within
//!   ten years.

use crate::sla::calendar::walk::HORIZON_SECONDS;
use crate::sla::error::SlaError;
use crate::sla::policy::MinutesKind;
use crate::sla::versions::CalendarVersions;
use crate::sla::BusinessHours;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The four clocks a case can have: `reaction` (first unanswered citizen message to the first
/// reply), `next_reaction` (each new citizen message after a reply, to the next reply),
/// `resolution` (open to resolved; paused while waiting on the citizen), `department` (forward to
/// a department until its answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    /// First unanswered citizen message to the first reply.
    Reaction,
    /// Each new citizen message after a reply, to the next reply.
    NextReaction,
    /// Open to resolved; paused while waiting on the citizen.
    Resolution,
    /// Forward to a department until its answer.
    Department,
}

/// A stretch of a clock's life: running (consumes budget) or paused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    pub from: DateTime<Utc>,
    /// `None` for the current, still open segment.
    pub to: Option<DateTime<Utc>>,
    pub running: bool,
    /// Why the clock is paused (or resumed), for the explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Segment {
    /// A stretch from `from` (to `to`, or still open), running or paused, without a reason.
    pub fn new(from: DateTime<Utc>, to: Option<DateTime<Utc>>, running: bool) -> Self {
        Segment {
            from,
            to,
            running,
            reason: None,
        }
    }
}

/// Where a clock run stands. `running`: consuming budget. `paused`: not consuming budget
/// (waiting on the citizen); it resumes later. `met`: stopped by what the clock measures (a reply
/// or holding answer for a reaction, the department's answer, resolving the case) at or before
/// `dueAt`. `missed`: stopped after `dueAt`. `cancelled`: stopped before `dueAt` by something other
/// than what it measures (resolved without a reply, merged, a new forward), or by "geen reactie
/// nodig" at any time; neither met nor missed, left out of share-within-norm denominators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    /// Consuming budget.
    Running,
    /// Not consuming budget (waiting on the citizen); resumes later.
    Paused,
    /// Stopped by what the clock measures (see [`StopReason::completes`]), at or before `dueAt`.
    Met,
    /// Stopped after `dueAt`: by what it measures but late, or by anything else after the
    /// deadline had already passed.
    Missed,
    /// Stopped before `dueAt` by something other than what it measures (resolved without a
    /// reply, a new forward, a merge), or by "geen reactie nodig" at any time: neither met nor
    /// missed, left out of the share-within-norm denominators.
    Cancelled,
}

impl ClockState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClockState::Running => "running",
            ClockState::Paused => "paused",
            ClockState::Met => "met",
            ClockState::Missed => "missed",
            ClockState::Cancelled => "cancelled",
        }
    }

    pub fn is_stopped(self) -> bool {
        matches!(
            self,
            ClockState::Met | ClockState::Missed | ClockState::Cancelled
        )
    }
}

/// Why a clock run stopped. `reply`: a person's reply went out. `holding_answer`: a holding
/// (process) answer went out. `department_answer`: the department answered. `resolved`: the case
/// was resolved or closed. `resolved_without_reply`: the case was resolved or closed while the
/// reaction clock still waited for a reply. `no_reply_needed`: resolved as "geen reactie nodig",
/// with the reason in `stopNote`. `merged`: the case was merged into another. `reforwarded`: a new
/// forward replaced the department question. Only `reply` and `holding_answer` can meet a
/// reaction clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// A reply of a person went out (public or private).
    Reply,
    /// A holding (process) answer went out: "we're looking into it".
    HoldingAnswer,
    /// The department answered the forwarded question.
    DepartmentAnswer,
    /// The case was resolved (or closed).
    Resolved,
    /// The case was resolved or closed while this reaction clock still waited for a reply.
    ResolvedWithoutReply,
    /// The agent resolved the case as "geen reactie nodig", with a reason (the clock's note).
    NoReplyNeeded,
    /// The case was merged into another one, which carries on.
    Merged,
    /// A new forward replaced this department question.
    Reforwarded,
}

impl StopReason {
    pub const ALL: [StopReason; 8] = [
        StopReason::Reply,
        StopReason::HoldingAnswer,
        StopReason::DepartmentAnswer,
        StopReason::Resolved,
        StopReason::ResolvedWithoutReply,
        StopReason::NoReplyNeeded,
        StopReason::Merged,
        StopReason::Reforwarded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Reply => "reply",
            StopReason::HoldingAnswer => "holding_answer",
            StopReason::DepartmentAnswer => "department_answer",
            StopReason::Resolved => "resolved",
            StopReason::ResolvedWithoutReply => "resolved_without_reply",
            StopReason::NoReplyNeeded => "no_reply_needed",
            StopReason::Merged => "merged",
            StopReason::Reforwarded => "reforwarded",
        }
    }

    pub fn parse(s: &str) -> Option<StopReason> {
        StopReason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this reason is what a clock of `kind` measures, so it can meet it: only a reply
    /// or a holding answer meets a reaction, only the department's answer a department clock,
    /// only resolving the case its resolution.
    pub fn completes(self, kind: ClockKind) -> bool {
        match kind {
            ClockKind::Reaction | ClockKind::NextReaction => {
                matches!(self, StopReason::Reply | StopReason::HoldingAnswer)
            }
            ClockKind::Resolution => matches!(self, StopReason::Resolved),
            ClockKind::Department => matches!(self, StopReason::DepartmentAnswer),
        }
    }

    /// The reason a clock of `kind` stops with when its case is resolved or closed.
    pub fn on_resolve(kind: ClockKind) -> StopReason {
        match kind {
            ClockKind::Reaction | ClockKind::NextReaction => StopReason::ResolvedWithoutReply,
            ClockKind::Resolution | ClockKind::Department => StopReason::Resolved,
        }
    }
}

/// The state of a clock of `kind` stopped at `stop` for `reason`, with `due` its due time:
/// - "geen reactie nodig": `cancelled` (not counted either way);
/// - a reason that completes the clock: `met` at or before `due`, else `missed`;
/// - any other reason: `missed` when the deadline had passed before the stop, else `cancelled`.
///
/// A stop without a recorded reason (clocks stopped before reasons were kept) is judged by time
/// alone, as it was then.
pub fn settle(
    kind: ClockKind,
    reason: Option<StopReason>,
    stop: DateTime<Utc>,
    due: Option<DateTime<Utc>>,
) -> ClockState {
    let late = due.is_some_and(|d| stop > d);
    match reason {
        Some(StopReason::NoReplyNeeded) => ClockState::Cancelled,
        Some(r) if !r.completes(kind) && !late => ClockState::Cancelled,
        _ if late => ClockState::Missed,
        _ => ClockState::Met,
    }
}

/// Ordered from within to breached (a status "above" another is worse): `within` (before the
/// warning instant), `warning` (from `warningAt`), `breached` (strictly after `dueAt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClockStatus {
    Within,
    Warning,
    Breached,
}

/// How much time a clock may use, and whether only opening hours count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Budget {
    pub seconds: i64,
    pub kind: MinutesKind,
}

impl Budget {
    pub fn minutes(minutes: u32, kind: MinutesKind) -> Self {
        Budget {
            seconds: i64::from(minutes) * 60,
            kind,
        }
    }
}

/// The evaluated clock run, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClockView {
    pub state: ClockState,
    pub started_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    /// The instant the warning fires (when `warning_at` of the budget is used).
    pub warning_at: Option<DateTime<Utc>>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub status: ClockStatus,
    /// Budget minutes used so far (business minutes, or calendar minutes for a calendar budget),
    /// rounded down.
    pub business_minutes_used: i64,
    pub segments: Vec<Segment>,
    /// Why the clock stopped (absent while it runs or is paused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<StopReason>,
    /// The reason given with "geen reactie nodig".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_note: Option<String>,
}

impl ClockView {
    /// The view of a clock of `kind` that stopped for `reason`: the state by [`settle`].
    pub fn settled(
        mut self,
        kind: ClockKind,
        reason: Option<StopReason>,
        note: Option<String>,
    ) -> ClockView {
        if let Some(stop) = self.stopped_at {
            self.state = settle(kind, reason, stop, self.due_at);
            self.stop_reason = reason;
            self.stop_note = note;
        }
        self
    }
}

/// `at` rounded up to the whole second: a due time computed from it is never earlier than one
/// computed from the exact instant.
pub fn ceil_second(at: DateTime<Utc>) -> DateTime<Utc> {
    if at.timestamp_subsec_nanos() == 0 {
        at
    } else {
        DateTime::from_timestamp(at.timestamp() + 1, 0).unwrap_or(at)
    }
}

/// Measures and advances time in the budget's kind.
struct Meter<'a> {
    kind: MinutesKind,
    calendar: &'a CalendarVersions,
}

impl Meter<'_> {
    /// Budget seconds in `[from, to)`, both rounded up to the whole second like
    /// [`Meter::advance`], so measuring a stretch and projecting on from its end add up exactly
    /// (a due time from a fractional start is the one from the next whole second).
    fn measure(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        let (from, to) = (ceil_second(from), ceil_second(to));
        match self.kind {
            MinutesKind::Business => self.calendar.business_seconds_between(from, to),
            MinutesKind::Calendar => (to - from).num_seconds().max(0),
        }
    }

    fn advance(&self, from: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>> {
        match self.kind {
            MinutesKind::Business => self.calendar.deadline(from, seconds).ok(),
            MinutesKind::Calendar => {
                ceil_second(from).checked_add_signed(Duration::seconds(seconds))
            }
        }
    }
}

/// Evaluates a clock at `now`. `warning_at` is the fraction of the budget at which the warning
/// fires; it is clamped to [0, 1] (NaN counts as 1, i.e. no early warning).
pub fn evaluate(
    segments: &[Segment],
    budget: Budget,
    warning_at: f64,
    calendar: &CalendarVersions,
    now: DateTime<Utc>,
) -> Result<ClockView, SlaError> {
    if !(0..=HORIZON_SECONDS).contains(&budget.seconds) {
        return Err(SlaError::OutOfRange {
            what: "budget",
            detail: format!("{} seconds; allowed 0 to ten years", budget.seconds),
        });
    }
    let mut segments = segments.to_vec();
    segments.sort_by_key(|s| s.from);
    let (Some(first), Some(last)) = (segments.first(), segments.last()) else {
        return Err(SlaError::EmptyClock);
    };
    let started_at = first.from;
    let stopped_at = last.to;
    let meter = Meter {
        kind: budget.kind,
        calendar,
    };
    // Where budget use would continue after the recorded segments.
    let resume = stopped_at.unwrap_or_else(|| now.max(last.from));
    let running: Vec<(DateTime<Utc>, i64)> = segments
        .iter()
        .filter(|s| s.running)
        .map(|s| {
            let end = s.to.unwrap_or(now).max(s.from);
            (s.from, meter.measure(s.from, end))
        })
        .collect();
    let used: i64 = running.iter().map(|(_, m)| m).sum();

    // The instant `threshold` seconds of budget are used: inside a recorded running segment, or
    // projected from the resume point.
    let instant_of = |threshold: i64| {
        let mut left = threshold;
        for &(from, measured) in &running {
            if measured >= left {
                return meter.advance(from, left);
            }
            left -= measured;
        }
        meter.advance(resume, left)
    };

    let fraction = if warning_at.is_nan() {
        1.0
    } else {
        warning_at.clamp(0.0, 1.0)
    };
    let due_at = instant_of(budget.seconds);
    let warning_instant = instant_of((budget.seconds as f64 * fraction).round() as i64);

    let state = match (stopped_at, due_at) {
        (None, _) if last.running => ClockState::Running,
        (None, _) => ClockState::Paused,
        (Some(stop), Some(due)) if stop > due => ClockState::Missed,
        (Some(_), _) => ClockState::Met,
    };
    let reference = stopped_at.unwrap_or(now);
    let status = if due_at.is_some_and(|d| reference > d) {
        ClockStatus::Breached
    } else if warning_instant.is_some_and(|w| reference >= w) {
        ClockStatus::Warning
    } else {
        ClockStatus::Within
    };

    Ok(ClockView {
        state,
        started_at,
        due_at,
        warning_at: warning_instant,
        stopped_at,
        status,
        business_minutes_used: used / 60,
        segments,
        stop_reason: None,
        stop_note: None,
    })
}
