//! Spike detection (issue 16, DESIGN 10): is a theme's last hour a crisis? Pure: the store
//! counts the arrivals, the worker keeps the open episodes, this decides.
//!
//! A spike starts when the last hour's arrivals reach the rule's minimum and exceed `factor`
//! times the usual level (the mean of the same hour on the same weekday over the previous
//! weeks, in Europe/Amsterdam time). It ends only when the hour falls back to the usual level
//! (or below half the minimum), so a storm that hovers around the threshold is one episode,
//! alerted once.

use crate::classification::SpikeRule;
use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Europe::Amsterdam;

/// What to do with a theme's episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A new episode: alert.
    Start,
    /// The open episode is over.
    End,
    /// Nothing changes.
    Keep,
}

/// Whether `last_hour` arrivals against `usual` are a spike under `rule`.
pub fn is_spike(rule: &SpikeRule, last_hour: u64, usual: f64) -> bool {
    let usual = if usual.is_finite() {
        usual.max(0.0)
    } else {
        0.0
    };
    last_hour >= u64::from(rule.min_count) && (last_hour as f64) > rule.factor * usual
}

/// Whether an open episode is over: the hour is back at the usual level, or below half the
/// minimum.
pub fn is_over(rule: &SpikeRule, last_hour: u64, usual: f64) -> bool {
    let usual = if usual.is_finite() {
        usual.max(0.0)
    } else {
        0.0
    };
    let n = last_hour as f64;
    n <= usual || n < f64::from(rule.min_count) / 2.0
}

/// The decision for a theme with (`open`) or without an open episode.
pub fn decide(rule: &SpikeRule, open: bool, last_hour: u64, usual: f64) -> Decision {
    match open {
        false if is_spike(rule, last_hour, usual) => Decision::Start,
        true if is_over(rule, last_hour, usual) => Decision::End,
        _ => Decision::Keep,
    }
}

/// The hour before `now` and the same local hour on the same weekday of each of the `weeks`
/// previous weeks, as `[start, end)` instants, newest first (index 0 is the last hour). Local
/// time, so a week across a DST change still compares 9:00 with 9:00; a local time that does
/// not exist (the spring gap) takes the instant an hour on.
pub fn windows(now: DateTime<Utc>, weeks: u32) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let local = now.with_timezone(&Amsterdam).naive_local();
    (0..=weeks.min(520))
        .map(|k| {
            let end_local = local - Duration::weeks(i64::from(k));
            let end = Amsterdam
                .from_local_datetime(&end_local)
                .earliest()
                .or_else(|| {
                    Amsterdam
                        .from_local_datetime(&(end_local + Duration::hours(1)))
                        .earliest()
                })
                .map_or(now - Duration::weeks(i64::from(k)), |t| {
                    t.with_timezone(&Utc)
                });
            (end - Duration::hours(1), end)
        })
        .collect()
}

/// The usual level from the previous weeks' counts (windows 1..): their mean.
pub fn usual(previous: &[u64], weeks: u32) -> f64 {
    if weeks == 0 {
        return 0.0;
    }
    previous.iter().map(|&n| n as f64).sum::<f64>() / f64::from(weeks)
}

/// The alert's text.
pub fn message(theme: &str, last_hour: u64, usual: f64) -> String {
    format!("crisis: theme {theme}, {last_hour} in the last hour, usually {usual:.1}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule() -> SpikeRule {
        SpikeRule::default()
    }

    #[test]
    fn a_storm_fires_a_quiet_theme_does_not() {
        let r = rule();
        // 0 -> 3: below the minimum.
        assert_eq!(decide(&r, false, 3, 0.0), Decision::Keep);
        // Usually 2, now 25: a spike.
        assert_eq!(decide(&r, false, 25, 2.0), Decision::Start);
        // Usually 5, now 12: not three times as many.
        assert_eq!(decide(&r, false, 12, 5.0), Decision::Keep);
        // Open: still high, keep; back to the usual level, end.
        assert_eq!(decide(&r, true, 14, 2.0), Decision::Keep);
        assert_eq!(decide(&r, true, 2, 2.0), Decision::End);
        assert_eq!(decide(&r, true, 4, 0.0), Decision::End);
    }

    #[test]
    fn windows_compare_the_same_local_hour() {
        // Sunday 29 March 2026 is the spring DST change; a week later 9:30 local is 7:30 UTC,
        // the week before 8:30 UTC.
        let now = DateTime::parse_from_rfc3339("2026-04-05T07:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let w = windows(now, 2);
        assert_eq!(w.len(), 3);
        assert_eq!(w[0].1, now);
        assert_eq!(w[1].1.to_rfc3339(), "2026-03-29T07:30:00+00:00");
        assert_eq!(w[2].1.to_rfc3339(), "2026-03-22T08:30:00+00:00");
        assert!(w.iter().all(|(a, b)| *b - *a == Duration::hours(1)));
    }

    fn any_rule() -> impl Strategy<Value = SpikeRule> {
        (1.0f64..100.0, 1u32..10_000, 1u32..52).prop_map(|(factor, min_count, weeks)| SpikeRule {
            enabled: true,
            factor,
            min_count,
            weeks,
        })
    }

    proptest! {
        /// Over any run of hourly counts the episodes alternate: never two starts without an
        /// end between them, so one episode alerts once.
        #[test]
        fn one_alert_per_episode(
            r in any_rule(),
            hours in prop::collection::vec((0u64..100_000, prop::num::f64::ANY), 0..200),
        ) {
            let mut open = false;
            for (n, usual) in hours {
                match decide(&r, open, n, usual) {
                    Decision::Start => { prop_assert!(!open); open = true; }
                    Decision::End => { prop_assert!(open); open = false; }
                    Decision::Keep => {}
                }
            }
        }

        /// Starting and ending never hold together: an hour that starts an episode does not end
        /// it, so an alert is never followed at once by a second one.
        #[test]
        fn a_start_is_not_over(r in any_rule(), n in 0u64..1_000_000, usual in prop::num::f64::ANY) {
            if is_spike(&r, n, usual) {
                prop_assert!(!is_over(&r, n, usual));
            }
        }

        /// No input panics; the windows are one hour each, newest first.
        #[test]
        fn windows_never_panic(secs in -5_000_000_000i64..5_000_000_000, weeks in 0u32..1_000) {
            let now = DateTime::from_timestamp(secs, 0).unwrap();
            let w = windows(now, weeks);
            prop_assert_eq!(w.len() as u32, weeks.min(520) + 1);
            for pair in w.windows(2) {
                prop_assert!(pair[1].1 < pair[0].1);
            }
            let _ = usual(&[u64::MAX, 3], weeks);
            let _ = message("x", u64::MAX, f64::NAN);
        }
    }
}
