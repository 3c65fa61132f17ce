//! Property tests: the fast calendar math against the naive minute-by-minute reference, over
//! random calendars (split days, evenings, weekends, holidays, closures, extra openings, several
//! versions) around DST changes (including changes at midnight and half-hour shifts), year ends
//! and holidays; plus algebraic properties of the fast path alone.

use super::calendar::{
    CalendarSpec, ClosureSpec, ExtraOpeningSpec, HolidaysSpec, IntervalSpec, WeeklySpec,
};
use super::{
    evaluate, naive, reselect, Budget, Calendar, CalendarVersions, ClockNorms, ClockStatus,
    MinutesKind, Reselection, Segment,
};
use crate::sla::BusinessHours;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use proptest::test_runner::Config;

/// (zone, local date of interest): DST changes, year end, holidays.
const SCENARIOS: &[(&str, i32, u32, u32)] = &[
    ("Europe/Amsterdam", 2026, 3, 29),
    ("Europe/Amsterdam", 2026, 10, 25),
    ("Europe/Amsterdam", 2025, 12, 31),
    ("Europe/Amsterdam", 2026, 4, 27),
    ("Europe/Amsterdam", 2026, 5, 14),
    ("Europe/Amsterdam", 2027, 3, 28), // Easter Sunday and DST change on the same day.
    ("Europe/London", 2026, 3, 29),
    ("America/New_York", 2026, 3, 8),
    ("America/New_York", 2026, 11, 1),
    ("Australia/Lord_Howe", 2026, 4, 5), // 30-minute shift.
    ("Australia/Lord_Howe", 2026, 10, 4),
    ("America/Sao_Paulo", 2018, 11, 4), // Spring forward at midnight.
    ("America/Sao_Paulo", 2019, 2, 17), // Fall back at midnight.
    ("UTC", 2026, 12, 31),
];

fn hhmm(five_minutes: u32) -> String {
    let m = five_minutes * 5;
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// One day's intervals in 5-minute steps: sorted points, consecutive pairs kept by a mask, so
/// intervals never overlap but may touch.
fn day() -> impl Strategy<Value = Vec<IntervalSpec>> {
    let points = prop_oneof![
        6 => prop::collection::vec(0u32..=288, 0..7),
        1 => Just(vec![0, 288]),
        1 => Just(vec![102, 204]),
        1 => Just(vec![102, 150, 156, 204, 216, 240]),
        // Boundaries inside DST hours (01:00-03:30) and around midnight.
        2 => Just(vec![12, 21, 27, 30, 36, 42]),
        1 => Just(vec![0, 6, 282, 288]),
    ];
    (points, prop::collection::vec(any::<bool>(), 6)).prop_map(|(mut pts, mask)| {
        pts.sort_unstable();
        pts.dedup();
        pts.windows(2)
            .zip(mask)
            .filter(|(_, keep)| *keep)
            .map(|(w, _)| [hhmm(w[0]), hhmm(w[1])])
            .collect()
    })
}

fn spec(zone: &'static str, anchor: NaiveDate) -> impl Strategy<Value = CalendarSpec> {
    (
        prop::collection::vec(day(), 7),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(-12i64..12, 0..3),
        prop::collection::vec((-12i64..12, day()), 0..3),
    )
        .prop_map(move |(days, nl, good_friday, closures, extras)| {
            let mut weekly = WeeklySpec::default();
            for (i, d) in days.into_iter().enumerate() {
                if let Some(slot) = weekly.day_mut(i) {
                    *slot = d;
                }
            }
            let date = |offset: i64| {
                (anchor + Duration::days(offset))
                    .format("%Y-%m-%d")
                    .to_string()
            };
            let mut extra_openings: Vec<ExtraOpeningSpec> = Vec::new();
            for (offset, intervals) in extras {
                if closures.contains(&offset)
                    || extra_openings.iter().any(|x| x.date == date(offset))
                {
                    continue;
                }
                extra_openings.push(ExtraOpeningSpec {
                    date: date(offset),
                    intervals,
                    reason: None,
                });
            }
            CalendarSpec {
                time_zone: zone.to_owned(),
                weekly,
                holidays: HolidaysSpec {
                    set: if nl { "nl" } else { "none" }.to_owned(),
                    good_friday,
                },
                closures: closures
                    .into_iter()
                    .map(|o| ClosureSpec {
                        date: date(o),
                        reason: None,
                    })
                    .collect(),
                extra_openings,
            }
        })
}

/// Calendar versions around a scenario date, and that date's midnight (as UTC) to start from.
fn world() -> impl Strategy<Value = (CalendarVersions, DateTime<Utc>)> {
    (0..SCENARIOS.len(), 1usize..=3).prop_flat_map(|(i, n)| {
        let (zone, y, m, d) = SCENARIOS[i];
        let anchor = NaiveDate::from_ymd_opt(y, m, d).expect("scenario date");
        let base = Utc.from_utc_datetime(&anchor.and_hms_opt(0, 0, 0).expect("midnight"));
        (
            prop::collection::vec(spec(zone, anchor), n),
            prop::collection::vec(-14_400i64..14_400, n),
        )
            .prop_map(move |(specs, offsets)| {
                let mut versions: Vec<(DateTime<Utc>, Calendar)> = Vec::new();
                for (s, off) in specs.iter().zip(offsets) {
                    let from = base + Duration::minutes(off);
                    if versions.iter().all(|(f, _)| *f != from) {
                        versions.push((from, s.validate().expect("generated spec is valid")));
                    }
                }
                (
                    CalendarVersions::new(versions).expect("non-empty, distinct"),
                    base,
                )
            })
    })
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// How far the naive reference looks ahead (kept short: it is slow in debug builds).
const NAIVE_DAYS: i64 = 8;

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn deadline_matches_naive(
        (cal, base) in world(),
        start_min in -14_400i64..14_400,
        minutes in prop_oneof![0i64..=10, 0i64..=3_000, Just(120), Just(240), Just(1_440)],
    ) {
        let start = base + Duration::minutes(start_min);
        let fast = cal.deadline_minutes(start, minutes);
        match naive::deadline_within(&cal, start, minutes, Duration::days(NAIVE_DAYS)) {
            Some(expected) => prop_assert_eq!(fast, Ok(expected)),
            None => prop_assert!(
                fast.as_ref().map_or(true, |d| *d > start + Duration::days(NAIVE_DAYS)),
                "naive found nothing within {} days, fast said {:?}", NAIVE_DAYS, fast
            ),
        }
    }

    #[test]
    fn business_seconds_match_naive(
        (cal, base) in world(),
        from_min in -14_400i64..14_400,
        len_min in 0i64..(5 * 1_440),
    ) {
        let from = base + Duration::minutes(from_min);
        let to = from + Duration::minutes(len_min);
        prop_assert_eq!(
            cal.business_seconds_between(from, to),
            naive::business_seconds_between(&cal, from, to)
        );
        // A single version also answers the same as the calendar itself.
        let first = &cal.versions()[0].calendar;
        let single = CalendarVersions::single(first.clone());
        prop_assert_eq!(first.business_seconds_between(from, to), single.business_seconds_between(from, to));
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn is_open_matches_naive_to_the_second(
        (cal, base) in world(),
        secs in -864_000i64..864_000,
    ) {
        let t = base + Duration::seconds(secs);
        prop_assert_eq!(cal.is_open(t), naive::is_open(&cal, t));
    }

    /// deadline(start, between(start, t)) is the earliest instant with that much open time:
    /// not after t, and one second earlier is not enough. Long ranges exercise week skipping.
    #[test]
    fn deadline_inverts_business_seconds(
        (cal, base) in world(),
        start_s in -864_000i64..864_000,
        len_s in prop_oneof![0i64..86_400 * 3, 0i64..86_400 * 150],
    ) {
        let start = base + Duration::seconds(start_s);
        let t = start + Duration::seconds(len_s);
        let n = cal.business_seconds_between(start, t);
        match cal.deadline(start, n) {
            Ok(d) => {
                prop_assert!(n == 0 || d <= t, "deadline {} after {}", d, t);
                prop_assert_eq!(cal.business_seconds_between(start, d), n);
                if n > 0 {
                    prop_assert_eq!(cal.business_seconds_between(start, d - Duration::seconds(1)), n - 1);
                }
            }
            Err(e) => prop_assert!(n == 0, "{} for {} seconds", e, n),
        }
    }

    #[test]
    fn deadlines_are_monotone_and_additive(
        (cal, base) in world(),
        start_s in -864_000i64..864_000,
        later_s in 0i64..200_000,
        a in 0i64..200_000,
        b in 1i64..200_000,
    ) {
        let s1 = base + Duration::seconds(start_s);
        let s2 = s1 + Duration::seconds(later_s);
        if let (Ok(da), Ok(dab)) = (cal.deadline(s1, a), cal.deadline(s1, a + b)) {
            prop_assert!(da <= dab);
            // Using a, then b more, is using a + b (b > 0: a zero rest would return the next
            // opening, not the closing instant).
            prop_assert_eq!(cal.deadline(da, b), Ok(dab));
            if let Ok(d2) = cal.deadline(s2, a) {
                prop_assert!(da <= d2);
            }
        }
    }
}

/// An unstopped clock's segments from `start`: running, or paused after `run` seconds, or paused
/// and resumed `pause` seconds later.
fn open_segments(start: DateTime<Utc>, shape: u8, run: i64, pause: i64) -> Vec<Segment> {
    let seg = |from, to, running| Segment {
        from,
        to,
        running,
        reason: None,
    };
    let p = start + Duration::seconds(run);
    let r = p + Duration::seconds(pause);
    match shape % 3 {
        0 => vec![seg(start, None, true)],
        1 => vec![seg(start, Some(p), true), seg(p, None, false)],
        _ => vec![
            seg(start, Some(p), true),
            seg(p, Some(r), false),
            seg(r, None, true),
        ],
    }
}

fn norms_of(minutes: u32, calendar_minutes: bool, warning: f64, name: u8) -> ClockNorms {
    let kind = if calendar_minutes {
        MinutesKind::Calendar
    } else {
        MinutesKind::Business
    };
    ClockNorms {
        budget: Budget::minutes(minutes, kind),
        warning_at: warning,
        calendar_id: None,
        policy: Some(format!("p{name}")),
    }
}

fn any_status() -> impl Strategy<Value = ClockStatus> {
    prop_oneof![
        Just(ClockStatus::Within),
        Just(ClockStatus::Warning),
        Just(ClockStatus::Breached)
    ]
}

fn any_norms() -> impl Strategy<Value = ClockNorms> {
    (
        prop_oneof![Just(120u32), Just(240), Just(1_440), 1u32..3_000],
        any::<bool>(),
        prop_oneof![Just(0.8), 0.05f64..0.95],
        0u8..3,
    )
        .prop_map(|(m, c, w, n)| norms_of(m, c, w, n))
}

proptest! {
    #![proptest_config(config(128))]

    /// Re-selection keeps stopped clocks and equal norms, never claims a status fired that did
    /// not, never keeps a status the new deadlines do not reach, and does not fire twice what has
    /// fired and is still due.
    #[test]
    fn reselect_fires_each_status_of_the_new_deadlines_once(
        (cal, base) in world(),
        start_min in -7_200i64..7_200,
        (shape, run, pause) in (0u8..3, 0i64..200_000, 0i64..200_000),
        later in 0i64..400_000,
        fired in any_status(),
        old in any_norms(),
        new in any_norms(),
    ) {
        let segments = open_segments(base + Duration::minutes(start_min), shape, run, pause);
        let last = segments.last().map(|s| s.from).unwrap();
        let now = last + Duration::seconds(later);
        match reselect(&segments, fired, &old, &new, &cal, now).unwrap() {
            Reselection::Keep => prop_assert_eq!(&old, &new),
            Reselection::Rewrite { view, fired: f } => {
                prop_assert!(old != new);
                prop_assert_eq!(f, fired.min(view.status));
                // As if the new norms had applied from the start: the old ones play no part.
                let direct = evaluate(&segments, new.budget, new.warning_at, &cal, now).unwrap();
                prop_assert_eq!(&view, &direct);
                let mut other = old.clone();
                other.budget.seconds += 60;
                if other != new {
                    match reselect(&segments, fired, &other, &new, &cal, now).unwrap() {
                        Reselection::Rewrite { view: v2, .. } => prop_assert_eq!(&v2, &view),
                        Reselection::Keep => prop_assert!(false, "other norms must rewrite"),
                    }
                }
            }
        }
        // A stopped clock is never rewritten.
        let mut stopped = segments.clone();
        if let Some(s) = stopped.last_mut() {
            s.to = Some(now);
        }
        prop_assert_eq!(reselect(&stopped, fired, &old, &new, &cal, now).unwrap(), Reselection::Keep);
    }

    /// A longer norm (same kind and threshold) never moves a deadline earlier nor raises the
    /// status; going back to the old norms gives back the old deadlines.
    #[test]
    fn reselect_is_monotone_in_the_budget_and_reversible(
        (cal, base) in world(),
        start_min in -7_200i64..7_200,
        (shape, run, pause) in (0u8..3, 0i64..200_000, 0i64..200_000),
        later in 0i64..400_000,
        old in any_norms(),
        extra in 1u32..3_000,
    ) {
        let segments = open_segments(base + Duration::minutes(start_min), shape, run, pause);
        let now = segments.last().map(|s| s.from).unwrap() + Duration::seconds(later);
        let mut longer = old.clone();
        longer.budget.seconds += i64::from(extra) * 60;
        let before = evaluate(&segments, old.budget, old.warning_at, &cal, now).unwrap();
        let Reselection::Rewrite { view, fired } =
            reselect(&segments, ClockStatus::Breached, &old, &longer, &cal, now).unwrap()
        else {
            return Err(TestCaseError::fail("a different budget must rewrite"));
        };
        if let (Some(a), Some(b)) = (before.due_at, view.due_at) {
            prop_assert!(a <= b, "due moved earlier: {} -> {}", a, b);
        }
        prop_assert!(view.status <= before.status);
        prop_assert!(fired <= before.status);
        let Reselection::Rewrite { view: back, .. } =
            reselect(&segments, fired, &longer, &old, &cal, now).unwrap()
        else {
            return Err(TestCaseError::fail("a different budget must rewrite"));
        };
        prop_assert_eq!(back, before);
    }
}
