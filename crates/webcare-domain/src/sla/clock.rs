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
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The four clocks a case can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    Running,
    Met,
    Missed,
}

/// Ordered from within to breached (a status "above" another is worse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

/// The evaluated clock, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// Measures and advances time in the budget's kind.
struct Meter<'a> {
    kind: MinutesKind,
    calendar: &'a CalendarVersions,
}

impl Meter<'_> {
    fn measure(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        match self.kind {
            MinutesKind::Business => self.calendar.business_seconds_between(from, to),
            MinutesKind::Calendar => (to - from).num_seconds().max(0),
        }
    }

    fn advance(&self, from: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>> {
        match self.kind {
            MinutesKind::Business => self.calendar.deadline(from, seconds).ok(),
            MinutesKind::Calendar => from.checked_add_signed(Duration::seconds(seconds)),
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
        (None, _) => ClockState::Running,
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
    })
}
