//! The fast path: walks local days forward with precomputed weekday intervals and skips whole
//! regular weeks at once.
//!
//! Time-zone lookups are the expensive part, so a run of days is checked once for a constant UTC
//! offset (one lookup at each end of a seven-day window); inside such a window a local time
//! converts to UTC by plain subtraction. Only days on which the offset changes take the slow,
//! exact conversion. This assumes no zone changes its offset and back again within seven days,
//! which holds for the IANA data of the supported years. No allocation happens here.

use super::{Calendar, Exception, Inner, Span};
use crate::sla::error::SlaError;
use crate::sla::holidays;
use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::{GapInfo, Tz};

pub(crate) const DAY: i64 = 86_400;
/// How far ahead deadlines and openings are searched, and the largest budget accepted: ten years
/// (3 653 days covers any ten consecutive years including leap days).
pub const HORIZON_SECONDS: i64 = 3_653 * DAY;
/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// Days since 1970-01-01.
pub(crate) fn day_number(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce()) - EPOCH_DAYS_FROM_CE
}

fn date_of_day(day: i64) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(day + EPOCH_DAYS_FROM_CE).ok()?)
}

/// UTC offset in seconds in force at a UTC instant.
fn offset_at(tz: &Tz, utc: i64) -> i64 {
    match DateTime::from_timestamp(utc, 0) {
        Some(dt) => i64::from(
            tz.offset_from_utc_datetime(&dt.naive_utc())
                .fix()
                .local_minus_utc(),
        ),
        None => 0,
    }
}

/// The instant the wall clock first shows `secs` after local midnight of `day`: a time in a gap
/// maps to the first instant after the gap, an ambiguous time to the earliest instant.
fn resolve_local(tz: &Tz, day: i64, secs: u32) -> i64 {
    let local = day * DAY + i64::from(secs);
    let Some(ndt) = DateTime::from_timestamp(local, 0).map(|d| d.naive_utc()) else {
        return local;
    };
    match tz.from_local_datetime(&ndt) {
        LocalResult::Single(dt) => dt.timestamp(),
        LocalResult::Ambiguous(a, b) => a.timestamp().min(b.timestamp()),
        LocalResult::None => match GapInfo::new(&ndt, tz).and_then(|g| g.end) {
            Some(end) => end.timestamp(),
            None => local - offset_at(tz, local),
        },
    }
}

/// A sequence of calendars, each in force from its start instant until the next one's.
// `pub` in a crate-private module: sealed, the bound of the public `BusinessHours`.
pub trait Timeline {
    fn versions(&self) -> usize;
    /// Start of version `i` in Unix seconds; version 0 starts at `i64::MIN`.
    fn starts_at(&self, i: usize) -> i64;
    fn calendar(&self, i: usize) -> &Inner;

    /// Index of the version in force at `t`: the latest one started at or before `t`, else the
    /// first.
    fn index_at(&self, t: i64) -> usize {
        let (mut lo, mut hi) = (1, self.versions());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.starts_at(mid) <= t {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo - 1
    }

    /// End of version `i` (start of the next), or `i64::MAX`.
    fn ends_at(&self, i: usize) -> i64 {
        if i + 1 < self.versions() {
            self.starts_at(i + 1)
        } else {
            i64::MAX
        }
    }
}

impl Timeline for Calendar {
    fn versions(&self) -> usize {
        1
    }
    fn starts_at(&self, _: usize) -> i64 {
        i64::MIN
    }
    fn calendar(&self, _: usize) -> &Inner {
        &self.inner
    }
}

pub(crate) fn minutes_to_seconds(minutes: i64) -> Result<i64, SlaError> {
    minutes.checked_mul(60).ok_or_else(|| SlaError::OutOfRange {
        what: "budget",
        detail: format!("{minutes} minutes"),
    })
}

fn to_datetime(secs: i64) -> Result<DateTime<Utc>, SlaError> {
    DateTime::from_timestamp(secs, 0).ok_or_else(|| SlaError::OutOfRange {
        what: "instant",
        detail: format!("{secs} seconds since 1970"),
    })
}

/// Deadline across versions: time before a version's start counts with the older version.
pub(crate) fn deadline<T: Timeline + ?Sized>(
    tl: &T,
    start: DateTime<Utc>,
    seconds: i64,
) -> Result<DateTime<Utc>, SlaError> {
    if !(0..=HORIZON_SECONDS).contains(&seconds) {
        return Err(SlaError::OutOfRange {
            what: "budget",
            detail: format!("{seconds} seconds; allowed 0 to ten years"),
        });
    }
    // From the start rounded up to the whole second: the walk counts whole seconds, and a due
    // time must never be earlier than the exact start plus the budget (never round down).
    let s = start.timestamp() + i64::from(start.timestamp_subsec_nanos() > 0);
    let horizon = s.saturating_add(HORIZON_SECONDS);
    let mut i = tl.index_at(s);
    let (mut t, mut remaining, mut seen_open) = (s, seconds, false);
    loop {
        let end = tl.ends_at(i).min(horizon);
        let scan = scan(tl.calendar(i), t, end, remaining);
        if let Some(at) = scan.reached {
            return to_datetime(at);
        }
        seen_open |= scan.consumed > 0;
        remaining -= scan.consumed;
        if end >= horizon {
            break;
        }
        t = end;
        i += 1;
    }
    Err(if seen_open {
        SlaError::BeyondHorizon
    } else {
        SlaError::NoOpenTime
    })
}

/// Open seconds in `[from, to)` across versions.
pub(crate) fn between<T: Timeline + ?Sized>(tl: &T, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    let (from, to) = (from.timestamp(), to.timestamp());
    if to <= from {
        return 0;
    }
    let mut i = tl.index_at(from);
    let (mut t, mut total) = (from, 0);
    loop {
        let end = tl.ends_at(i).min(to);
        total += scan(tl.calendar(i), t, end, i64::MAX).consumed;
        if end >= to {
            return total;
        }
        t = end;
        i += 1;
    }
}

pub(crate) fn is_open<T: Timeline + ?Sized>(tl: &T, at: DateTime<Utc>) -> bool {
    let t = at.timestamp();
    scan(tl.calendar(tl.index_at(t)), t, t.saturating_add(1), 0)
        .reached
        .is_some()
}

/// Result of walking open time from an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scan {
    /// Open seconds used (at most the budget).
    pub consumed: i64,
    /// The instant the budget was used up; for a zero budget, the first open instant.
    pub reached: Option<i64>,
}

/// Public holidays of the year being walked and the next one, as day numbers, so "is today a
/// holiday" and "is there one this week" are a short scan with no allocation.
struct HolidayCursor {
    enabled: bool,
    good_friday: bool,
    year: i32,
    days: [i64; 2 * holidays::MAX_PER_YEAR],
    len: usize,
}

impl HolidayCursor {
    fn new(enabled: bool, good_friday: bool) -> Self {
        HolidayCursor {
            enabled,
            good_friday,
            year: i32::MIN,
            days: [0; 2 * holidays::MAX_PER_YEAR],
            len: 0,
        }
    }

    /// First holiday on or after `day` (which lies in `year`), as a day number; far future when
    /// holidays are off.
    fn next_from(&mut self, day: i64, year: i32) -> i64 {
        if !self.enabled {
            return i64::MAX;
        }
        if year != self.year {
            self.load(year);
        }
        self.days[..self.len]
            .iter()
            .copied()
            .find(|&d| d >= day)
            .unwrap_or(i64::MAX)
    }

    fn load(&mut self, year: i32) {
        self.year = year;
        self.len = 0;
        for y in [year, year.saturating_add(1)] {
            let Some(jan1) = NaiveDate::from_ymd_opt(y, 1, 1) else {
                continue;
            };
            let base = day_number(jan1) - 1;
            let (ords, n) = holidays::ordinals(y, self.good_friday);
            for &o in &ords[..n] {
                self.days[self.len] = base + i64::from(o);
                self.len += 1;
            }
        }
    }
}

/// Walks the open time of one calendar in `[from, limit)` until `budget` seconds are used.
pub(crate) fn scan(cal: &Inner, from: i64, limit: i64, budget: i64) -> Scan {
    let mut out = Scan {
        consumed: 0,
        reached: None,
    };
    if limit <= from {
        return out;
    }
    let tz = &cal.rules.tz;
    let tables = &cal.tables;
    let mut off = offset_at(tz, from);
    let mut day = (from + off).div_euclid(DAY);
    let Some(mut date) = date_of_day(day) else {
        return out;
    };
    let mut weekday = date.weekday().num_days_from_monday() as usize;
    let mut remaining = budget;
    // Days before `linear_until` have the constant offset `off`.
    let mut linear_until = day;
    // Whether `off` is known to hold at the linear start of `day` (carried from the last check).
    let mut start_known = false;
    let mut exc = tables.exceptions.partition_point(|(d, _)| *d < day);
    let mut hols = HolidayCursor::new(cal.rules.holidays_enabled, cal.rules.good_friday);

    loop {
        let mid = day * DAY;
        let linear = day < linear_until || {
            // Does local midnight convert with `off`? If not, retry once with the offset found.
            let start_ok = start_known || {
                let o = offset_at(tz, mid - off);
                o == off || {
                    off = o;
                    offset_at(tz, mid - off) == off
                }
            };
            if !start_ok {
                false
            } else if offset_at(tz, mid + 7 * DAY - off) == off {
                linear_until = day + 7;
                true
            } else if offset_at(tz, mid + DAY - off) == off {
                linear_until = day + 1;
                true
            } else {
                false
            }
        };
        start_known = linear;
        let day_start = if linear {
            mid - off
        } else {
            resolve_local(tz, day, 0)
        };
        if day_start >= limit {
            return out;
        }
        while exc < tables.exceptions.len() && tables.exceptions[exc].0 < day {
            exc += 1;
        }
        let next_exception = tables.exceptions.get(exc).map_or(i64::MAX, |(d, _)| *d);
        let next_holiday = hols.next_from(day, date.year());

        // A whole regular week ahead that cannot hold the deadline: skip it in one step.
        if linear
            && linear_until - day >= 7
            && day_start >= from
            && next_exception >= day + 7
            && next_holiday >= day + 7
            && mid + 7 * DAY - off <= limit
            && (remaining > tables.week_open || tables.week_open == 0)
        {
            remaining -= tables.week_open;
            out.consumed += tables.week_open;
            day += 7;
            let Some(d) = date.checked_add_days(Days::new(7)) else {
                return out;
            };
            date = d;
            continue;
        }

        let spans: &[Span] = if next_exception == day {
            match tables.exceptions[exc].1 {
                Exception::Closed => &[],
                Exception::Open { start, end } => &tables.extra_spans[start as usize..end as usize],
            }
        } else if next_holiday == day {
            &[]
        } else {
            &tables.weekly[weekday]
        };

        for &(s, e) in spans {
            let (a, b) = if linear {
                (mid + i64::from(s) - off, mid + i64::from(e) - off)
            } else {
                (resolve_local(tz, day, s), resolve_local(tz, day, e))
            };
            if b <= from {
                continue;
            }
            let a = a.max(from);
            if a >= limit {
                return out;
            }
            let b = b.min(limit);
            if b <= a {
                continue;
            }
            let len = b - a;
            if remaining <= len {
                out.consumed += remaining;
                out.reached = Some(a + remaining);
                return out;
            }
            remaining -= len;
            out.consumed += len;
        }

        if !linear {
            // Carry the offset in force at the start of the next day.
            off = offset_at(tz, resolve_local(tz, day + 1, 0));
        }
        day += 1;
        weekday = (weekday + 1) % 7;
        let Some(d) = date.succ_opt() else {
            return out;
        };
        date = d;
    }
}
