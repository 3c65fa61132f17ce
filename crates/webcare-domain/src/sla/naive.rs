//! A slow, obviously correct reference for the deadline math, used by property tests and as the
//! benchmark baseline. It shares no code with the fast path: for every minute it asks, from the
//! configured rules, "is some interval of yesterday, today or tomorrow open at this instant?",
//! resolving wall-clock times with chrono directly (gaps by stepping forward a minute at a time).
//!
//! It is minute-granular: starts and ends must be whole minutes (UTC), and so must every opening
//! boundary, which holds for zones with whole-minute offsets and `HH:MM` intervals.

use crate::sla::calendar::{Calendar, Span};
use crate::sla::holidays;
use crate::sla::versions::CalendarVersions;
use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, TimeZone, Utc};
use std::collections::HashMap;

/// How far the naive deadline searches before giving up (it is slow).
pub const SEARCH_DAYS: i64 = 400;

/// Open intervals of (version, local date) as UTC instants, remembered so each date is resolved
/// once per walk rather than once per minute; the per-minute question stays the same.
#[derive(Default)]
pub struct Memo {
    days: HashMap<(usize, NaiveDate), OpenStretches>,
}

/// `[from, to)` open stretches of one date.
type OpenStretches = Vec<(DateTime<Utc>, DateTime<Utc>)>;

/// Anything that can say whether it is open at an instant, from first principles.
pub trait Schedule {
    fn open_at(&self, t: DateTime<Utc>, memo: &mut Memo) -> bool;
}

/// Whether `cal` is open at `t`, from first principles (any second, not just whole minutes).
pub fn is_open<S: Schedule + ?Sized>(cal: &S, t: DateTime<Utc>) -> bool {
    cal.open_at(t, &mut Memo::default())
}

fn calendar_open_at(cal: &Calendar, version: usize, t: DateTime<Utc>, memo: &mut Memo) -> bool {
    let today = t.with_timezone(&cal.inner.rules.tz).date_naive();
    [today.pred_opt(), Some(today), today.succ_opt()]
        .into_iter()
        .flatten()
        .any(|date| {
            memo.days
                .entry((version, date))
                .or_insert_with(|| {
                    spans_on(cal, date)
                        .iter()
                        .filter_map(|&(s, e)| {
                            Some((first_instant(cal, date, s)?, first_instant(cal, date, e)?))
                        })
                        .collect()
                })
                .iter()
                .any(|&(a, b)| a <= t && t < b)
        })
}

impl Schedule for Calendar {
    fn open_at(&self, t: DateTime<Utc>, memo: &mut Memo) -> bool {
        calendar_open_at(self, 0, t, memo)
    }
}

impl Schedule for CalendarVersions {
    fn open_at(&self, t: DateTime<Utc>, memo: &mut Memo) -> bool {
        let versions = self.versions();
        let current = versions
            .iter()
            .rposition(|v| v.effective_from <= t)
            .unwrap_or(0);
        calendar_open_at(&versions[current].calendar, current, t, memo)
    }
}

/// The intervals configured for a local date: extra opening, else closed on closure or holiday,
/// else the weekly hours.
fn spans_on(cal: &Calendar, date: NaiveDate) -> Vec<Span> {
    let rules = &cal.inner.rules;
    if let Some((_, spans)) = rules.extras.iter().find(|(d, _)| *d == date) {
        return spans.clone();
    }
    let holiday = rules.holidays_enabled
        && holidays::dutch_holidays(date.year(), rules.good_friday)
            .iter()
            .any(|(d, _)| *d == date);
    if rules.closures.contains(&date) || holiday {
        return Vec::new();
    }
    rules.weekly[date.weekday().num_days_from_monday() as usize].clone()
}

/// The instant the wall clock first shows `secs` after midnight of `date`; a time in a gap moves
/// forward minute by minute until it exists.
fn first_instant(cal: &Calendar, date: NaiveDate, secs: u32) -> Option<DateTime<Utc>> {
    let tz = cal.inner.rules.tz;
    let mut local = date.and_hms_opt(0, 0, 0)? + Duration::seconds(i64::from(secs));
    for _ in 0..(48 * 60) {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, b) => return Some(a.min(b).with_timezone(&Utc)),
            LocalResult::None => local += Duration::minutes(1),
        }
    }
    None
}

/// The instant `minutes` open minutes after `start` (a whole minute); with zero minutes, the first
/// open minute at or after `start`. `None` when not found within [`SEARCH_DAYS`].
pub fn deadline<S: Schedule + ?Sized>(
    cal: &S,
    start: DateTime<Utc>,
    minutes: i64,
) -> Option<DateTime<Utc>> {
    deadline_within(cal, start, minutes, Duration::days(SEARCH_DAYS))
}

/// [`deadline`] searching only `search` ahead of `start`.
pub fn deadline_within<S: Schedule + ?Sized>(
    cal: &S,
    start: DateTime<Utc>,
    minutes: i64,
    search: Duration,
) -> Option<DateTime<Utc>> {
    let minute = Duration::minutes(1);
    let end = start + search;
    let mut left = minutes;
    let mut t = start;
    let mut memo = Memo::default();
    while t < end {
        if cal.open_at(t, &mut memo) {
            if left == 0 {
                return Some(t);
            }
            left -= 1;
            if left == 0 {
                return Some(t + minute);
            }
        }
        t += minute;
    }
    None
}

/// Open seconds in `[from, to)`, counted a minute at a time (`from`, `to` whole minutes).
pub fn business_seconds_between<S: Schedule + ?Sized>(
    cal: &S,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> i64 {
    let mut t = from;
    let mut open = 0;
    let mut memo = Memo::default();
    while t < to {
        if cal.open_at(t, &mut memo) {
            open += 60;
        }
        t += Duration::minutes(1);
    }
    open
}
