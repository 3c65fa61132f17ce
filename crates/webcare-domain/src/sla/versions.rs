//! Versioned calendars: a change applies from its effective instant and never rewrites the past.
//! The version in force at an instant is the latest one effective at or before it; before the
//! first version, the first version applies. Deadline math crosses versions: time before a
//! version's effective instant counts with the older version.

use crate::sla::calendar::walk::Timeline;
use crate::sla::calendar::{BusinessHours, Calendar, Inner};
use crate::sla::error::SlaError;
use chrono::{DateTime, Utc};

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
}

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
