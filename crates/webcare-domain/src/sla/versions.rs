//! Versioned calendars: a change applies from its effective instant and never rewrites the past.
//! The version in force at an instant is the latest one effective at or before it; before the
//! first version, the first version applies. Deadline math crosses versions: time before a
//! version's effective instant counts with the older version.

use crate::sla::calendar::walk::{day_number, resolve_local, Timeline};
use crate::sla::calendar::{BusinessHours, Calendar, Inner};
use crate::sla::error::SlaError;
use chrono::{DateTime, Days, Utc};

/// One calendar version.
#[derive(Debug, Clone)]
pub struct CalendarVersion {
    pub effective_from: DateTime<Utc>,
    pub calendar: Calendar,
}

/// Calendar versions sorted by `effective_from` (non-empty, distinct instants).
#[derive(Debug, Clone)]
pub struct CalendarVersions {
    versions: Vec<CalendarVersion>,
}

impl CalendarVersions {
    /// Sorts the versions; rejects an empty list and two versions effective at the same second.
    pub fn new(mut versions: Vec<(DateTime<Utc>, Calendar)>) -> Result<Self, SlaError> {
        if versions.is_empty() {
            return Err(SlaError::InvalidVersions("no version given".into()));
        }
        versions.sort_by_key(|(from, _)| *from);
        if let Some(w) = versions
            .windows(2)
            .find(|w| w[0].0.timestamp() == w[1].0.timestamp())
        {
            return Err(SlaError::InvalidVersions(format!(
                "two versions effective from {}",
                w[0].0
            )));
        }
        Ok(CalendarVersions {
            versions: versions
                .into_iter()
                .map(|(effective_from, calendar)| CalendarVersion {
                    effective_from,
                    calendar,
                })
                .collect(),
        })
    }

    /// A single calendar that has always been in force.
    pub fn single(calendar: Calendar) -> Self {
        CalendarVersions {
            versions: vec![CalendarVersion {
                effective_from: DateTime::<Utc>::MIN_UTC,
                calendar,
            }],
        }
    }

    pub fn versions(&self) -> &[CalendarVersion] {
        &self.versions
    }

    /// The calendar in force at `at`.
    pub fn in_force(&self, at: DateTime<Utc>) -> &Calendar {
        &self.versions[self.index_at(at.timestamp())].calendar
    }

    /// The next `count` opening stretches as `[start, end)`: the one under way at `from` (from
    /// its start), then the following ones. A stretch that runs on past midnight or into a newer
    /// version is one stretch. Looks about a year ahead, so a calendar that is never open answers
    /// an empty list.
    pub fn openings(
        &self,
        from: DateTime<Utc>,
        count: usize,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let t0 = from.timestamp();
        let tz = self.in_force(from).time_zone();
        // A day back: a stretch under way at `from` may have started the day before.
        let Some(first) = from
            .with_timezone(&tz)
            .date_naive()
            .checked_sub_days(Days::new(1))
        else {
            return Vec::new();
        };
        let mut out: Vec<(i64, i64)> = Vec::with_capacity(count + 1);
        for offset in 0..OPENINGS_DAYS {
            let Some(date) = first.checked_add_days(Days::new(offset)) else {
                break;
            };
            let day = day_number(date);
            for i in 0..self.versions.len() {
                let (from_i, until_i) = (self.starts_at(i), self.ends_at(i));
                let cal = &self.versions[i].calendar;
                let tz = cal.time_zone();
                for (s, e) in cal.spans_on(date) {
                    let a = resolve_local(&tz, day, s).max(from_i);
                    let b = resolve_local(&tz, day, e).min(until_i);
                    if a >= b || b <= t0 {
                        continue;
                    }
                    match out.last_mut() {
                        Some(last) if last.1 >= a => last.1 = last.1.max(b),
                        _ => out.push((a, b)),
                    }
                }
            }
            // One more than asked: the last one may still run on into the next day.
            if out.len() > count {
                break;
            }
        }
        out.truncate(count);
        out.into_iter()
            .filter_map(|(a, b)| {
                Some((
                    DateTime::from_timestamp(a, 0)?,
                    DateTime::from_timestamp(b, 0)?,
                ))
            })
            .collect()
    }
}

/// How many local days [`CalendarVersions::openings`] looks at, at most.
const OPENINGS_DAYS: u64 = 400;

impl BusinessHours for CalendarVersions {}

impl From<Calendar> for CalendarVersions {
    fn from(calendar: Calendar) -> Self {
        CalendarVersions::single(calendar)
    }
}

impl Timeline for CalendarVersions {
    fn versions(&self) -> usize {
        self.versions.len()
    }
    fn starts_at(&self, i: usize) -> i64 {
        if i == 0 {
            i64::MIN
        } else {
            self.versions[i].effective_from.timestamp()
        }
    }
    fn calendar(&self, i: usize) -> &Inner {
        &self.versions[i].calendar.inner
    }
}
