//! Validated opening-hours calendars and their business-time math.
//!
//! Semantics, in one place:
//! - An interval `[start, end)` on a local date is open from the instant the wall clock first shows
//!   `start` to the instant it first shows `end`. A wall time that does not exist (the spring gap)
//!   maps to the first instant after the gap; a time that occurs twice (autumn) to the earliest.
//!   So an interval on a DST change day lasts its real length: 00:00-24:00 on the last Sunday of
//!   March in Amsterdam is open 23 hours, on the last Sunday of October 25 hours.
//! - What is open on a date: an extra opening for the date replaces everything (weekly hours,
//!   holiday); otherwise a closure or a public holiday closes the date; otherwise the weekly hours.
//! - Instants are handled to the whole second: sub-second parts of inputs are dropped.

mod spec;
pub(crate) mod walk;

pub use spec::{
    CalendarSpec, ClosureSpec, ExtraOpeningSpec, HolidaysSpec, IntervalSpec, WeeklySpec,
};

use crate::sla::error::SlaError;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use std::sync::Arc;

/// An opening interval in seconds since local midnight; the end may be 86 400 (24:00).
pub(crate) type Span = (u32, u32);

/// The validated rules as configured. The naive reference reads these directly, so it shares
/// nothing with the precomputed tables the fast path uses.
#[derive(Debug)]
pub(crate) struct Rules {
    pub tz: Tz,
    /// Monday first; sorted by start, not merged.
    pub weekly: [Vec<Span>; 7],
    pub holidays_enabled: bool,
    pub good_friday: bool,
    /// Sorted, deduplicated.
    pub closures: Vec<NaiveDate>,
    /// Sorted by date, one entry per date.
    pub extras: Vec<(NaiveDate, Vec<Span>)>,
}

/// What a dated exception does to its day.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Exception {
    Closed,
    /// Replaces the day's intervals with `extra_spans[start..end]`.
    Open {
        start: u32,
        end: u32,
    },
}

/// Precomputed tables for the fast path.
#[derive(Debug)]
pub(crate) struct Tables {
    /// Monday first; touching intervals merged, so each entry is a maximal open stretch.
    pub weekly: [Box<[Span]>; 7],
    /// Open seconds of a regular week (no exceptions, no DST change).
    pub week_open: i64,
    /// Closures and extra openings by day number (days since 1970-01-01), sorted.
    pub exceptions: Box<[(i64, Exception)]>,
    pub extra_spans: Box<[Span]>,
}

/// The compiled rules behind a [`Calendar`]; opaque outside this crate (it is named only by the
/// sealed bound of [`BusinessHours`]).
#[derive(Debug)]
pub struct Inner {
    pub(crate) rules: Rules,
    pub(crate) tables: Tables,
}

/// A validated calendar, cheap to clone (shared), ready for fast deadline math.
/// Build one with [`CalendarSpec::validate`].
#[derive(Debug, Clone)]
pub struct Calendar {
    pub(crate) inner: Arc<Inner>,
}

/// Merges touching spans (`[a,b)` and `[b,c)` become `[a,c)`); input sorted and non-overlapping.
fn merged(spans: &[Span]) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for &(s, e) in spans {
        match out.last_mut() {
            Some(last) if last.1 >= s => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

impl Calendar {
    pub(crate) fn from_rules(rules: Rules) -> Calendar {
        let weekly: [Box<[Span]>; 7] =
            std::array::from_fn(|i| merged(&rules.weekly[i]).into_boxed_slice());
        let week_open = weekly
            .iter()
            .flat_map(|d| d.iter())
            .map(|&(s, e)| i64::from(e - s))
            .sum();
        let mut exceptions = Vec::with_capacity(rules.closures.len() + rules.extras.len());
        let mut extra_spans = Vec::new();
        for d in &rules.closures {
            exceptions.push((walk::day_number(*d), Exception::Closed));
        }
        for (d, spans) in &rules.extras {
            let start = extra_spans.len() as u32;
            extra_spans.extend(merged(spans));
            let end = extra_spans.len() as u32;
            exceptions.push((walk::day_number(*d), Exception::Open { start, end }));
        }
        exceptions.sort_by_key(|(day, _)| *day);
        Calendar {
            inner: Arc::new(Inner {
                tables: Tables {
                    weekly,
                    week_open,
                    exceptions: exceptions.into_boxed_slice(),
                    extra_spans: extra_spans.into_boxed_slice(),
                },
                rules,
            }),
        }
    }

    /// The calendar's time zone.
    pub fn time_zone(&self) -> Tz {
        self.inner.rules.tz
    }

    /// Open seconds in a regular week (no holidays, closures, extra openings or DST change).
    pub fn week_open_seconds(&self) -> i64 {
        self.inner.tables.week_open
    }
}

/// Business-time arithmetic over opening hours, the same for one [`Calendar`] and for its
/// versions over time ([`crate::sla::CalendarVersions`], which count each stretch with the
/// version in force then).
pub trait BusinessHours: walk::Timeline {
    /// The earliest instant at which `business_seconds` of open time have passed since `start`.
    ///
    /// A start outside opening hours counts from the next opening. When the budget runs out
    /// exactly at a closing time the answer is that closing instant. With zero seconds the answer
    /// is `start` itself when open, else the next opening. Searches at most ten years ahead.
    fn deadline(
        &self,
        start: DateTime<Utc>,
        business_seconds: i64,
    ) -> Result<DateTime<Utc>, SlaError> {
        walk::deadline(self, start, business_seconds)
    }

    /// [`BusinessHours::deadline`] with a budget in business minutes.
    fn deadline_minutes(
        &self,
        start: DateTime<Utc>,
        minutes: i64,
    ) -> Result<DateTime<Utc>, SlaError> {
        walk::deadline(self, start, walk::minutes_to_seconds(minutes)?)
    }

    /// Open seconds in `[from, to)`; 0 when `to <= from`.
    fn business_seconds_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        walk::between(self, from, to)
    }

    /// Whole open minutes in `[from, to)`, rounded down.
    fn business_minutes_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        walk::between(self, from, to) / 60
    }

    /// The earliest open instant at or after `at` (so `at` itself when open), within ten years.
    fn next_opening(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        walk::deadline(self, at, 0).ok()
    }

    /// Whether the desk is open at `at` (intervals include their start, exclude their end).
    fn is_open(&self, at: DateTime<Utc>) -> bool {
        walk::is_open(self, at)
    }
}

impl BusinessHours for Calendar {}
