//! Example-based tests of the calendar math, versions and clocks. Property tests comparing with
//! the naive reference live in `proptests.rs`.

use super::*;
use crate::sla::BusinessHours;
use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Europe::Amsterdam;

/// Local Amsterdam wall-clock time (must be unambiguous) as UTC.
fn ams(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Amsterdam
        .with_ymd_and_hms(y, m, d, h, mi, 0)
        .single()
        .expect("unambiguous local time")
        .with_timezone(&Utc)
}

fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, mi, 0).unwrap()
}

fn cal(json: &str) -> Calendar {
    serde_json::from_str::<CalendarSpec>(json)
        .expect("spec JSON")
        .validate()
        .expect("valid calendar")
}

/// Weekdays 08:30-17:00, Dutch holidays.
fn office() -> Calendar {
    let day = r#"[["08:30","17:00"]]"#;
    cal(&format!(
        r#"{{"timeZone":"Europe/Amsterdam","weekly":{{"monday":{day},"tuesday":{day},"wednesday":{day},"thursday":{day},"friday":{day}}}}}"#
    ))
}

/// Open around the clock every day, no holidays.
fn always(tz: &str) -> Calendar {
    let day = r#"[["00:00","24:00"]]"#;
    cal(&format!(
        r#"{{"timeZone":"{tz}","holidays":{{"set":"none"}},"weekly":{{"monday":{day},"tuesday":{day},"wednesday":{day},"thursday":{day},"friday":{day},"saturday":{day},"sunday":{day}}}}}"#
    ))
}

mod calendar_math {
    use super::*;

    #[test]
    fn after_hours_start_counts_from_next_opening() {
        // Friday 9 January 2026, 17:30 + 120 business minutes -> Monday 10:30.
        let c = office();
        assert_eq!(
            c.deadline_minutes(ams(2026, 1, 9, 17, 30), 120),
            Ok(ams(2026, 1, 12, 10, 30))
        );
        // Saturday start, too.
        assert_eq!(
            c.deadline_minutes(ams(2026, 1, 10, 11, 0), 120),
            Ok(ams(2026, 1, 12, 10, 30))
        );
    }

    #[test]
    fn deadline_may_fall_exactly_on_closing_time() {
        let c = office();
        assert_eq!(
            c.deadline_minutes(ams(2026, 1, 12, 15, 0), 120),
            Ok(ams(2026, 1, 12, 17, 0))
        );
        // One more second rolls over to the next morning.
        assert_eq!(
            c.deadline(ams(2026, 1, 12, 15, 0), 7201),
            Ok(ams(2026, 1, 13, 8, 30) + Duration::seconds(1))
        );
    }

    #[test]
    fn inside_hours_and_seconds_precision() {
        let c = office();
        let start = ams(2026, 1, 12, 10, 0) + Duration::seconds(17);
        assert_eq!(
            c.deadline_minutes(start, 120),
            Ok(start + Duration::hours(2))
        );
        assert_eq!(c.deadline(start, 1), Ok(start + Duration::seconds(1)));
        // 24 business hours from Monday 10:00: 7 h + 8.5 h + 8.5 h, ending on Wednesday's close.
        assert_eq!(
            c.deadline_minutes(ams(2026, 1, 12, 10, 0), 1440),
            Ok(ams(2026, 1, 14, 17, 0))
        );
    }

    #[test]
    fn zero_budget_is_start_when_open_else_next_opening() {
        let c = office();
        let open = ams(2026, 1, 12, 9, 0);
        assert_eq!(c.deadline(open, 0), Ok(open));
        assert_eq!(
            c.deadline(ams(2026, 1, 12, 17, 0), 0),
            Ok(ams(2026, 1, 13, 8, 30))
        );
        assert_eq!(c.next_opening(open), Some(open));
        assert_eq!(
            c.next_opening(ams(2026, 1, 9, 20, 0)),
            Some(ams(2026, 1, 12, 8, 30))
        );
    }

    #[test]
    fn is_open_includes_start_and_excludes_end() {
        let c = office();
        assert!(c.is_open(ams(2026, 1, 12, 8, 30)));
        assert!(c.is_open(ams(2026, 1, 12, 17, 0) - Duration::seconds(1)));
        assert!(!c.is_open(ams(2026, 1, 12, 17, 0)));
        assert!(!c.is_open(ams(2026, 1, 12, 8, 29)));
        assert!(!c.is_open(ams(2026, 1, 10, 12, 0)), "Saturday");
    }

    #[test]
    fn split_days_and_evening_openings() {
        let c = cal(
            r#"{"timeZone":"Europe/Amsterdam","weekly":{"monday":[["08:30","12:30"],["13:00","17:00"]],"tuesday":[["08:30","17:00"],["18:00","20:00"]]}}"#,
        );
        // Monday 12:00 + 60 -> 30 min before lunch, 30 after.
        assert_eq!(
            c.deadline_minutes(ams(2026, 1, 12, 12, 0), 60),
            Ok(ams(2026, 1, 12, 13, 30))
        );
        // Tuesday 16:30 + 120 -> 30 min + 90 min of the evening opening.
        assert_eq!(
            c.deadline_minutes(ams(2026, 1, 13, 16, 30), 120),
            Ok(ams(2026, 1, 13, 19, 30))
        );
        // Tuesday 19:00 + 120 -> 60 min tonight, next week's Monday 09:30.
        assert_eq!(
            c.deadline_minutes(ams(2026, 1, 13, 19, 0), 120),
            Ok(ams(2026, 1, 19, 9, 30))
        );
        assert_eq!(
            c.business_minutes_between(ams(2026, 1, 12, 0, 0), ams(2026, 1, 19, 0, 0)),
            8 * 60 + 8 * 60 + 30 + 120
        );
    }

    #[test]
    fn touching_intervals_count_as_one_stretch() {
        let c = cal(
            r#"{"timeZone":"Europe/Amsterdam","weekly":{"monday":[["08:30","12:30"],["12:30","17:00"]]}}"#,
        );
        assert!(c.is_open(ams(2026, 1, 12, 12, 30)));
        assert_eq!(
            c.deadline_minutes(ams(2026, 1, 12, 12, 0), 60),
            Ok(ams(2026, 1, 12, 13, 0))
        );
    }

    #[test]
    fn koningsdag_is_skipped() {
        // 27 April 2026 is a Monday: Friday 16:00 + 120 -> Tuesday 09:30.
        let c = office();
        assert_eq!(
            c.deadline_minutes(ams(2026, 4, 24, 16, 0), 120),
            Ok(ams(2026, 4, 28, 9, 30))
        );
        assert!(!c.is_open(ams(2026, 4, 27, 10, 0)));
        // 2025: the 27th is a Sunday, Koningsdag on Saturday the 26th: Friday 25th is normal.
        assert!(c.is_open(ams(2025, 4, 25, 10, 0)));
    }

    #[test]
    fn other_holidays_close_the_day() {
        let c = office();
        for (y, m, d) in [
            (2026, 1, 1),
            (2026, 4, 6),
            (2026, 5, 5),
            (2026, 5, 14),
            (2026, 5, 25),
            (2026, 12, 25),
        ] {
            assert!(!c.is_open(ams(y, m, d, 12, 0)), "{y}-{m}-{d}");
        }
        assert!(
            c.is_open(ams(2026, 4, 3, 12, 0)),
            "Goede Vrijdag is optional"
        );
        let gf = cal(
            r#"{"timeZone":"Europe/Amsterdam","holidays":{"goodFriday":true},"weekly":{"friday":[["08:30","17:00"]]}}"#,
        );
        assert!(!gf.is_open(ams(2026, 4, 3, 12, 0)));
        let none = cal(
            r#"{"timeZone":"Europe/Amsterdam","holidays":{"set":"none"},"weekly":{"thursday":[["08:30","17:00"]]}}"#,
        );
        assert!(none.is_open(ams(2026, 1, 1, 12, 0)));
    }

    #[test]
    fn year_end_crossing() {
        // Thursday 31 Dec 2026 16:00 + 120: 1 h, Friday 1 Jan closed, Monday 4 Jan 09:30.
        assert_eq!(
            office().deadline_minutes(ams(2026, 12, 31, 16, 0), 120),
            Ok(ams(2027, 1, 4, 9, 30))
        );
    }

    #[test]
    fn closure_and_extra_opening() {
        let day = r#"[["08:30","17:00"]]"#;
        let c = cal(&format!(
            r#"{{"timeZone":"Europe/Amsterdam","weekly":{{"monday":{day},"tuesday":{day},"friday":{day}}},
                "closures":[{{"date":"2026-02-16","reason":"carnaval"}}],
                "extraOpenings":[{{"date":"2026-03-14","intervals":[["10:00","14:00"]]}},
                                 {{"date":"2026-04-27","intervals":[["10:00","12:00"]]}},
                                 {{"date":"2026-03-16","intervals":[["13:00","14:00"]]}}]}}"#
        ));
        // Closed carnaval Monday: Friday 13 Feb 16:00 + 120 -> Tuesday 17 Feb 09:30.
        assert_eq!(
            c.deadline_minutes(ams(2026, 2, 13, 16, 0), 120),
            Ok(ams(2026, 2, 17, 9, 30))
        );
        // Extra Saturday opening: Friday 13 March 16:30 + 120 -> Saturday 11:30.
        assert_eq!(
            c.deadline_minutes(ams(2026, 3, 13, 16, 30), 120),
            Ok(ams(2026, 3, 14, 11, 30))
        );
        // An extra opening replaces the weekly hours of its date...
        assert!(!c.is_open(ams(2026, 3, 16, 9, 0)));
        assert!(c.is_open(ams(2026, 3, 16, 13, 0)));
        // ...and wins over a holiday.
        assert!(c.is_open(ams(2026, 4, 27, 11, 0)));
        assert!(!c.is_open(ams(2026, 4, 27, 13, 0)));
    }

    #[test]
    fn spring_forward_day_is_23_hours() {
        let sun = |i: &str| {
            cal(&format!(
                r#"{{"timeZone":"Europe/Amsterdam","weekly":{{"sunday":[{i}]}}}}"#
            ))
        };
        let whole = sun(r#"["00:00","24:00"]"#);
        let (d0, d1) = (ams(2026, 3, 29, 0, 0), ams(2026, 3, 30, 0, 0));
        assert_eq!(whole.business_seconds_between(d0, d1), 23 * 3600);
        assert_eq!(
            whole.business_seconds_between(d0 - Duration::days(2), d1),
            23 * 3600
        );
        // 02:30 does not exist: the interval starts at the first instant after the gap (03:00).
        let gap = sun(r#"["02:30","04:00"]"#);
        assert_eq!(gap.business_seconds_between(d0, d1), 3600);
        assert_eq!(gap.next_opening(d0), Some(utc(2026, 3, 29, 1, 0)));
        // An interval entirely inside the gap is empty.
        let inside = sun(r#"["02:00","02:59"]"#);
        assert_eq!(inside.business_seconds_between(d0, d1), 0);
        // Deadline across the change with an always-open calendar: real time passes.
        let a = always("Europe/Amsterdam");
        assert_eq!(
            a.deadline_minutes(ams(2026, 3, 28, 12, 0), 24 * 60),
            Ok(ams(2026, 3, 29, 13, 0))
        );
        assert_eq!(
            a.deadline_minutes(ams(2026, 3, 28, 12, 0), 24 * 60)
                .map(|d| d - ams(2026, 3, 28, 12, 0)),
            Ok(Duration::hours(24))
        );
    }

    #[test]
    fn fall_back_day_is_25_hours() {
        let sun = |i: &str| {
            cal(&format!(
                r#"{{"timeZone":"Europe/Amsterdam","weekly":{{"sunday":[{i}]}}}}"#
            ))
        };
        let (d0, d1) = (ams(2026, 10, 25, 0, 0), ams(2026, 10, 26, 0, 0));
        assert_eq!(
            sun(r#"["00:00","24:00"]"#).business_seconds_between(d0, d1),
            25 * 3600
        );
        // Ambiguous start maps to its earliest instant (02:30 CEST = 00:30 UTC), end 05:00 CET.
        let late = sun(r#"["02:30","05:00"]"#);
        assert_eq!(late.business_seconds_between(d0, d1), 3 * 3600 + 1800);
        assert_eq!(late.next_opening(d0), Some(utc(2026, 10, 25, 0, 30)));
        // 02:15 CET (the second 02:15) is inside, although the wall clock shows less than 02:30.
        assert!(late.is_open(utc(2026, 10, 25, 1, 15)));
        // Ambiguous end maps to its earliest instant too (02:30 CEST).
        let early = sun(r#"["01:00","02:30"]"#);
        assert_eq!(early.business_seconds_between(d0, d1), 5400);
        assert!(!early.is_open(utc(2026, 10, 25, 1, 15)));
        // Always-open deadline over the autumn change.
        assert_eq!(
            always("Europe/Amsterdam").deadline_minutes(ams(2026, 10, 24, 12, 0), 24 * 60),
            Ok(ams(2026, 10, 25, 11, 0))
        );
    }

    #[test]
    fn office_hours_across_dst_keep_local_times() {
        let c = office();
        // Friday 27 March 2026 16:00 CET + 120 -> Monday 30 March 09:30 CEST.
        assert_eq!(
            c.deadline_minutes(ams(2026, 3, 27, 16, 0), 120),
            Ok(ams(2026, 3, 30, 9, 30))
        );
        assert_eq!(
            c.deadline_minutes(ams(2026, 10, 23, 16, 0), 120),
            Ok(ams(2026, 10, 26, 9, 30))
        );
    }

    #[test]
    fn long_budgets_skip_whole_weeks_exactly() {
        let c = office();
        let start = ams(2026, 6, 1, 8, 30); // Monday, no holidays until August.
                                            // 8 weeks of 42.5 h.
        let eight_weeks = 8 * 5 * 510 * 60;
        assert_eq!(c.week_open_seconds(), 5 * 510 * 60);
        // Eight weeks used up exactly at the Friday 17:00 close of week eight.
        assert_eq!(c.deadline(start, eight_weeks), Ok(ams(2026, 7, 24, 17, 0)));
        assert_eq!(
            c.business_seconds_between(start, ams(2026, 7, 24, 17, 0)),
            eight_weeks
        );
        // Over a year: a whole year minus holidays on weekdays.
        let year = c.business_seconds_between(ams(2027, 1, 1, 0, 0), ams(2028, 1, 1, 0, 0));
        // 2027 has 261 weekdays; weekday holidays: 1 Jan (Fri), 29 Mar, 27 Apr (Tue), 5 May
        // (Wed), 6 May, 17 May, 27 Dec? no: 25/26 Dec are Sat/Sun.
        assert_eq!(year, (261 - 6) * 510 * 60);
    }

    #[test]
    fn between_is_zero_for_empty_or_reversed_ranges() {
        let c = office();
        let t = ams(2026, 1, 12, 10, 0);
        assert_eq!(c.business_seconds_between(t, t), 0);
        assert_eq!(c.business_seconds_between(t, t - Duration::hours(1)), 0);
        assert_eq!(c.business_seconds_between(t, t + Duration::seconds(59)), 59);
        assert_eq!(c.business_minutes_between(t, t + Duration::seconds(119)), 1);
    }

    #[test]
    fn no_open_time_fails_fast() {
        let empty = cal(r#"{"timeZone":"Europe/Amsterdam","holidays":{"set":"none"}}"#);
        let began = std::time::Instant::now();
        let start = ams(2026, 1, 12, 10, 0);
        assert_eq!(
            empty.deadline_minutes(start, 120),
            Err(SlaError::NoOpenTime)
        );
        assert_eq!(empty.deadline(start, 0), Err(SlaError::NoOpenTime));
        assert_eq!(empty.next_opening(start), None);
        assert_eq!(
            SlaError::NoOpenTime.to_string(),
            "no open time within ten years"
        );
        assert!(began.elapsed() < std::time::Duration::from_millis(500));
        // A single extra opening hour is not enough for two hours.
        let once = cal(
            r#"{"timeZone":"Europe/Amsterdam","extraOpenings":[{"date":"2026-03-14","intervals":[["10:00","11:00"]]}]}"#,
        );
        assert_eq!(
            once.deadline_minutes(start, 120),
            Err(SlaError::BeyondHorizon)
        );
        assert_eq!(
            once.deadline_minutes(start, 60),
            Ok(ams(2026, 3, 14, 11, 0))
        );
        // Open time more than ten years ahead is not found.
        let far = cal(
            r#"{"timeZone":"Europe/Amsterdam","extraOpenings":[{"date":"2037-03-14","intervals":[["10:00","11:00"]]}]}"#,
        );
        assert_eq!(far.next_opening(start), None);
        assert_eq!(
            far.next_opening(ams(2030, 1, 1, 0, 0)),
            Some(ams(2037, 3, 14, 10, 0))
        );
    }

    #[test]
    fn budget_out_of_range_is_rejected() {
        let c = office();
        let t = ams(2026, 1, 12, 10, 0);
        assert!(matches!(
            c.deadline(t, -1),
            Err(SlaError::OutOfRange { .. })
        ));
        assert!(matches!(
            c.deadline(t, HORIZON_SECONDS + 1),
            Err(SlaError::OutOfRange { .. })
        ));
        assert!(matches!(
            c.deadline_minutes(t, i64::MAX),
            Err(SlaError::OutOfRange { .. })
        ));
    }

    #[test]
    fn sub_second_starts_round_the_deadline_up_never_down() {
        let c = always("UTC");
        let t = utc(2026, 1, 12, 10, 0) + Duration::milliseconds(700);
        // Exact: 10:00:10.7; the whole second at or after it is 10:00:11 (never 10:00:10).
        assert_eq!(
            c.deadline(t, 10),
            Ok(utc(2026, 1, 12, 10, 0) + Duration::seconds(11))
        );
        // A whole-second start is unchanged.
        assert_eq!(
            c.deadline(utc(2026, 1, 12, 10, 0), 10),
            Ok(utc(2026, 1, 12, 10, 0) + Duration::seconds(10))
        );
    }

    #[test]
    fn other_zones_work() {
        let ny = cal(
            r#"{"timeZone":"America/New_York","holidays":{"set":"none"},"weekly":{"monday":[["09:00","17:00"]]}}"#,
        );
        // Monday 12 January 2026 09:00 EST = 14:00 UTC.
        assert_eq!(
            ny.next_opening(utc(2026, 1, 12, 0, 0)),
            Some(utc(2026, 1, 12, 14, 0))
        );
        assert_eq!(
            ny.deadline_minutes(utc(2026, 1, 12, 0, 0), 480),
            Ok(utc(2026, 1, 12, 22, 0))
        );
    }
}

mod versions {
    use super::*;

    fn mornings() -> Calendar {
        let day = r#"[["09:00","12:00"]]"#;
        cal(&format!(
            r#"{{"timeZone":"Europe/Amsterdam","weekly":{{"monday":{day},"tuesday":{day},"wednesday":{day},"thursday":{day},"friday":{day}}}}}"#
        ))
    }

    #[test]
    fn time_before_a_change_counts_with_the_old_version() {
        let v = CalendarVersions::new(vec![
            (ams(2025, 1, 1, 0, 0), office()),
            (ams(2026, 3, 1, 0, 0), mornings()),
        ])
        .unwrap();
        // Friday 27 Feb 16:00 + 240: 1 h on the old hours, 3 h Monday morning on the new ones.
        assert_eq!(
            v.deadline_minutes(ams(2026, 2, 27, 16, 0), 240),
            Ok(ams(2026, 3, 2, 12, 0))
        );
        assert_eq!(
            v.business_minutes_between(ams(2026, 2, 27, 0, 0), ams(2026, 3, 3, 0, 0)),
            510 + 180
        );
        // Before the first version, the first applies.
        assert!(v.is_open(ams(2020, 1, 6, 16, 0)));
        assert!(!v.is_open(ams(2026, 3, 2, 16, 0)));
    }

    #[test]
    fn change_in_the_middle_of_a_day() {
        let v = CalendarVersions::new(vec![
            (ams(2026, 3, 2, 10, 0), mornings()),
            (ams(2025, 1, 1, 0, 0), office()),
        ])
        .unwrap();
        // Monday 2 March: 08:30-10:00 old (1.5 h), 10:00-12:00 new (2 h).
        assert_eq!(
            v.business_minutes_between(ams(2026, 3, 2, 0, 0), ams(2026, 3, 3, 0, 0)),
            210
        );
        // A deadline exactly on the change instant.
        assert_eq!(
            v.deadline_minutes(ams(2026, 3, 2, 9, 0), 60),
            Ok(ams(2026, 3, 2, 10, 0))
        );
        assert_eq!(
            v.deadline_minutes(ams(2026, 3, 2, 9, 0), 61),
            Ok(ams(2026, 3, 2, 10, 1))
        );
        assert_eq!(
            v.in_force(ams(2026, 3, 2, 9, 59)).week_open_seconds(),
            office().week_open_seconds()
        );
        assert_eq!(
            v.in_force(ams(2026, 3, 2, 10, 0)).week_open_seconds(),
            15 * 3600
        );
    }

    #[test]
    fn invalid_version_lists() {
        assert!(CalendarVersions::new(vec![]).is_err());
        let t = ams(2026, 1, 1, 0, 0);
        assert!(CalendarVersions::new(vec![(t, office()), (t, mornings())]).is_err());
        let single = CalendarVersions::from(office());
        assert_eq!(single.versions().len(), 1);
        assert_eq!(
            single.deadline_minutes(ams(2026, 1, 9, 17, 30), 120),
            Ok(ams(2026, 1, 12, 10, 30))
        );
    }
}

mod clocks {
    use super::*;

    fn versions() -> CalendarVersions {
        CalendarVersions::single(office())
    }

    fn running(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> Segment {
        Segment {
            from,
            to,
            running: true,
            reason: None,
        }
    }

    fn paused(from: DateTime<Utc>, to: Option<DateTime<Utc>>, reason: &str) -> Segment {
        Segment {
            from,
            to,
            running: false,
            reason: Some(reason.into()),
        }
    }

    const TWO_HOURS: Budget = Budget {
        seconds: 7200,
        kind: MinutesKind::Business,
    };

    #[test]
    fn running_clock_moves_through_within_warning_breached() {
        let start = ams(2026, 1, 12, 9, 0);
        let segs = [running(start, None)];
        let at =
            |h, m| evaluate(&segs, TWO_HOURS, 0.8, &versions(), ams(2026, 1, 12, h, m)).unwrap();
        let v = at(9, 30);
        assert_eq!(v.state, ClockState::Running);
        assert_eq!(v.status, ClockStatus::Within);
        assert_eq!(v.due_at, Some(ams(2026, 1, 12, 11, 0)));
        assert_eq!(v.warning_at, Some(ams(2026, 1, 12, 10, 36)));
        assert_eq!(v.business_minutes_used, 30);
        assert_eq!(v.started_at, start);
        assert_eq!(at(10, 36).status, ClockStatus::Warning);
        assert_eq!(
            at(11, 0).status,
            ClockStatus::Warning,
            "due instant itself is not late"
        );
        let late = at(11, 1);
        assert_eq!(late.status, ClockStatus::Breached);
        assert_eq!(late.business_minutes_used, 121);
    }

    #[test]
    fn after_hours_message_is_due_after_next_opening() {
        let segs = [running(ams(2026, 1, 9, 17, 30), None)];
        let v = evaluate(&segs, TWO_HOURS, 0.8, &versions(), ams(2026, 1, 10, 12, 0)).unwrap();
        assert_eq!(v.due_at, Some(ams(2026, 1, 12, 10, 30)));
        assert_eq!(v.business_minutes_used, 0);
        assert_eq!(v.status, ClockStatus::Within);
    }

    #[test]
    fn pauses_do_not_consume_and_paused_due_is_as_if_resumed_now() {
        let segs = [
            running(ams(2026, 1, 12, 9, 0), Some(ams(2026, 1, 12, 10, 0))),
            paused(ams(2026, 1, 12, 10, 0), None, "waiting_on_citizen"),
        ];
        let v = evaluate(&segs, TWO_HOURS, 0.8, &versions(), ams(2026, 1, 12, 14, 0)).unwrap();
        assert_eq!(v.business_minutes_used, 60);
        assert_eq!(v.due_at, Some(ams(2026, 1, 12, 15, 0)));
        assert_eq!(v.warning_at, Some(ams(2026, 1, 12, 14, 36)));
        assert_eq!(v.status, ClockStatus::Within);
        assert_eq!(v.state, ClockState::Paused, "a paused clock reads paused");
        // Resumed at 15:00: the remaining hour counts from there.
        let resumed = [
            segs[0].clone(),
            paused(
                ams(2026, 1, 12, 10, 0),
                Some(ams(2026, 1, 12, 15, 0)),
                "waiting_on_citizen",
            ),
            running(ams(2026, 1, 12, 15, 0), None),
        ];
        let v = evaluate(
            &resumed,
            TWO_HOURS,
            0.8,
            &versions(),
            ams(2026, 1, 12, 15, 30),
        )
        .unwrap();
        assert_eq!(v.due_at, Some(ams(2026, 1, 12, 16, 0)));
        assert_eq!(v.warning_at, Some(ams(2026, 1, 12, 15, 36)));
        assert_eq!(v.business_minutes_used, 90);
        assert_eq!(v.status, ClockStatus::Within);
    }

    #[test]
    fn budget_used_up_before_a_pause_stays_breached() {
        let segs = [
            running(ams(2026, 1, 12, 9, 0), Some(ams(2026, 1, 12, 12, 0))),
            paused(ams(2026, 1, 12, 12, 0), None, "forwarded"),
        ];
        let v = evaluate(&segs, TWO_HOURS, 0.8, &versions(), ams(2026, 1, 13, 9, 0)).unwrap();
        assert_eq!(v.due_at, Some(ams(2026, 1, 12, 11, 0)));
        assert_eq!(v.status, ClockStatus::Breached);
    }

    #[test]
    fn stopped_clocks_are_met_or_missed() {
        let start = ams(2026, 1, 12, 9, 0);
        let stop_at = |t| [running(start, Some(t))];
        let now = ams(2026, 2, 1, 0, 0);
        let met = evaluate(
            &stop_at(ams(2026, 1, 12, 11, 0)),
            TWO_HOURS,
            0.8,
            &versions(),
            now,
        )
        .unwrap();
        assert_eq!(met.state, ClockState::Met, "stopped exactly at due");
        assert_eq!(met.stopped_at, Some(ams(2026, 1, 12, 11, 0)));
        assert_eq!(met.status, ClockStatus::Warning);
        let early = evaluate(
            &stop_at(ams(2026, 1, 12, 9, 10)),
            TWO_HOURS,
            0.8,
            &versions(),
            now,
        )
        .unwrap();
        assert_eq!(early.state, ClockState::Met);
        assert_eq!(early.status, ClockStatus::Within);
        assert_eq!(early.business_minutes_used, 10);
        let missed = evaluate(
            &stop_at(ams(2026, 1, 12, 11, 1)),
            TWO_HOURS,
            0.8,
            &versions(),
            now,
        )
        .unwrap();
        assert_eq!(missed.state, ClockState::Missed);
        assert_eq!(missed.status, ClockStatus::Breached);
    }

    #[test]
    fn calendar_minutes_ignore_opening_hours() {
        let budget = Budget::minutes(24 * 60, MinutesKind::Calendar);
        let segs = [running(ams(2026, 1, 9, 17, 30), None)];
        let v = evaluate(&segs, budget, 0.5, &versions(), ams(2026, 1, 10, 5, 30)).unwrap();
        assert_eq!(v.due_at, Some(ams(2026, 1, 10, 17, 30)));
        assert_eq!(v.warning_at, Some(ams(2026, 1, 10, 5, 30)));
        assert_eq!(v.status, ClockStatus::Warning);
        assert_eq!(v.business_minutes_used, 12 * 60);
    }

    #[test]
    fn edge_cases() {
        assert_eq!(
            evaluate(&[], TWO_HOURS, 0.8, &versions(), ams(2026, 1, 1, 0, 0)),
            Err(SlaError::EmptyClock)
        );
        let empty = CalendarVersions::single(cal(r#"{"timeZone":"Europe/Amsterdam"}"#));
        let segs = [running(ams(2026, 1, 12, 9, 0), None)];
        let v = evaluate(&segs, TWO_HOURS, 0.8, &empty, ams(2026, 1, 12, 10, 0)).unwrap();
        assert_eq!(
            (v.due_at, v.warning_at, v.status),
            (None, None, ClockStatus::Within)
        );
        // Unsorted segments are sorted for evaluation and for the explanation.
        let unsorted = [
            running(ams(2026, 1, 12, 11, 0), None),
            running(ams(2026, 1, 12, 9, 0), Some(ams(2026, 1, 12, 10, 0))),
        ];
        let v = evaluate(
            &unsorted,
            TWO_HOURS,
            0.8,
            &versions(),
            ams(2026, 1, 12, 11, 30),
        )
        .unwrap();
        assert_eq!(v.segments[0].from, ams(2026, 1, 12, 9, 0));
        assert_eq!(v.due_at, Some(ams(2026, 1, 12, 12, 0)));
    }

    #[test]
    fn view_serializes_camel_case() {
        let segs = [paused(ams(2026, 1, 12, 9, 0), None, "waiting_on_citizen")];
        let v = evaluate(&segs, TWO_HOURS, 0.8, &versions(), ams(2026, 1, 12, 9, 0)).unwrap();
        let json = serde_json::to_value(&v).unwrap();
        for key in [
            "state",
            "startedAt",
            "dueAt",
            "warningAt",
            "stoppedAt",
            "status",
            "businessMinutesUsed",
            "segments",
        ] {
            assert!(json.get(key).is_some(), "missing {key}: {json}");
        }
        assert_eq!(json["state"], "paused");
        assert_eq!(json["status"], "within");
        assert_eq!(json["segments"][0]["running"], false);
        assert_eq!(json["segments"][0]["reason"], "waiting_on_citizen");
        assert_eq!(
            serde_json::to_value(ClockKind::NextReaction).unwrap(),
            "next_reaction"
        );
    }
}

/// Throughput check; run with
/// `cargo test --release -p webcare-domain sla::tests::perf -- --ignored --nocapture`.
mod perf {
    use super::*;
    use std::hint::black_box;
    use std::time::Instant;

    fn realistic() -> CalendarVersions {
        let day = r#"[["08:30","12:30"],["13:00","17:00"]]"#;
        let evening = r#"[["08:30","17:00"],["18:00","20:00"]]"#;
        let old = cal(&format!(
            r#"{{"timeZone":"Europe/Amsterdam","weekly":{{"monday":{day},"tuesday":{evening},"wednesday":{day},"thursday":{evening},"friday":{day},"saturday":[["10:00","14:00"]]}},
               "closures":[{{"date":"2026-02-16"}}],"extraOpenings":[{{"date":"2026-03-15","intervals":[["10:00","14:00"]]}}]}}"#
        ));
        CalendarVersions::new(vec![
            (ams(2025, 1, 1, 0, 0), old.clone()),
            (ams(2026, 7, 1, 0, 0), old),
        ])
        .expect("versions")
    }

    #[test]
    #[ignore]
    fn perf_deadlines_per_second() {
        let cal = realistic();
        let base = ams(2026, 1, 1, 0, 0);
        // Starts spread over a year at odd times; typical norms.
        let starts: Vec<DateTime<Utc>> = (0..4096)
            .map(|i| base + Duration::seconds(i * 7_919 + (i % 7) * 3_600))
            .collect();
        let norms = [120i64 * 60, 240 * 60, 1440 * 60];
        for (label, n) in [("120", norms[0]), ("240", norms[1]), ("1440", norms[2])] {
            let rounds = 250;
            let began = Instant::now();
            let mut acc = 0i64;
            for _ in 0..rounds {
                for s in &starts {
                    acc = acc.wrapping_add(black_box(
                        cal.deadline(black_box(*s), black_box(n))
                            .map_or(0, |d| d.timestamp()),
                    ));
                }
            }
            let secs = began.elapsed().as_secs_f64();
            let per_sec = (rounds * starts.len()) as f64 / secs;
            println!("deadline {label:>4} business minutes: {per_sec:>12.0} /s ({acc})");
        }
        let single = CalendarVersions::single(office());
        let began = Instant::now();
        let mut acc = 0i64;
        for _ in 0..250 {
            for s in &starts {
                acc = acc.wrapping_add(black_box(
                    single.business_seconds_between(black_box(*s), *s + Duration::days(3)),
                ));
            }
        }
        let per_sec = (250 * starts.len()) as f64 / began.elapsed().as_secs_f64();
        println!("business_seconds_between 3 days:      {per_sec:>12.0} /s ({acc})");
        let began = Instant::now();
        let mut count = 0;
        for s in starts.iter().take(200) {
            count += usize::from(
                naive::deadline(&cal, *s - Duration::seconds(s.timestamp() % 60), 240).is_some(),
            );
        }
        let per_sec = 200.0 / began.elapsed().as_secs_f64();
        println!("naive deadline 240:                   {per_sec:>12.0} /s ({count})");
    }
}

/// Issue 19: what a clock says is what happened (paused, stop reasons, exact due times).
mod truth {
    use super::*;
    use proptest::prelude::*;

    fn seg(from: DateTime<Utc>, to: Option<DateTime<Utc>>, running: bool) -> Segment {
        Segment::new(from, to, running)
    }

    #[test]
    fn a_paused_clock_reads_paused() {
        let cal = CalendarVersions::single(always("UTC"));
        let t0 = utc(2026, 1, 12, 10, 0);
        let segs = [
            seg(t0, Some(t0 + Duration::hours(1)), true),
            seg(t0 + Duration::hours(1), None, false),
        ];
        let budget = Budget::minutes(240, MinutesKind::Business);
        let v = evaluate(&segs, budget, 0.8, &cal, t0 + Duration::hours(2)).unwrap();
        assert_eq!(v.state, ClockState::Paused);
        let running = evaluate(&segs[..1], budget, 0.8, &cal, t0 + Duration::hours(2)).unwrap();
        assert_eq!(running.state, ClockState::Met);
        let open = [seg(t0, None, true)];
        let v = evaluate(&open, budget, 0.8, &cal, t0 + Duration::hours(2)).unwrap();
        assert_eq!(v.state, ClockState::Running);
    }

    #[test]
    fn only_a_reply_or_holding_answer_meets_a_reaction() {
        let t0 = utc(2026, 1, 12, 10, 0);
        let due_instant = t0 + Duration::hours(4);
        let due = Some(due_instant);
        let early = t0 + Duration::hours(1);
        let late = t0 + Duration::hours(5);
        for kind in [ClockKind::Reaction, ClockKind::NextReaction] {
            for r in [StopReason::Reply, StopReason::HoldingAnswer] {
                assert_eq!(settle(kind, Some(r), early, due), ClockState::Met);
                assert_eq!(settle(kind, Some(r), late, due), ClockState::Missed);
            }
            for r in [
                StopReason::ResolvedWithoutReply,
                StopReason::Merged,
                StopReason::Resolved,
            ] {
                assert_eq!(settle(kind, Some(r), early, due), ClockState::Cancelled);
                // The norm was already broken before the case was resolved unanswered.
                assert_eq!(settle(kind, Some(r), late, due), ClockState::Missed);
            }
            // "Geen reactie nodig" leaves the clock out of the figures either way.
            for at in [early, late] {
                assert_eq!(
                    settle(kind, Some(StopReason::NoReplyNeeded), at, due),
                    ClockState::Cancelled
                );
            }
        }
        // A reply exactly at the due instant still meets it.
        assert_eq!(
            settle(
                ClockKind::Reaction,
                Some(StopReason::Reply),
                due_instant,
                due
            ),
            ClockState::Met
        );
        // Other clocks: met by what they measure only.
        let (r, d) = (ClockKind::Resolution, ClockKind::Department);
        assert_eq!(
            settle(r, Some(StopReason::Resolved), early, due),
            ClockState::Met
        );
        assert_eq!(
            settle(r, Some(StopReason::Merged), early, due),
            ClockState::Cancelled
        );
        assert_eq!(
            settle(d, Some(StopReason::DepartmentAnswer), early, due),
            ClockState::Met
        );
        assert_eq!(
            settle(d, Some(StopReason::Reforwarded), early, due),
            ClockState::Cancelled
        );
        assert_eq!(
            settle(d, Some(StopReason::Resolved), late, due),
            ClockState::Missed
        );
    }

    #[test]
    fn stop_reasons_round_trip_and_serialize_snake_case() {
        for r in StopReason::ALL {
            assert_eq!(StopReason::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        assert_eq!(StopReason::parse("nope"), None);
        assert_eq!(serde_json::to_value(ClockState::Paused).unwrap(), "paused");
        assert_eq!(
            serde_json::to_value(ClockState::Cancelled).unwrap(),
            "cancelled"
        );
    }

    #[test]
    fn a_settled_view_carries_its_reason() {
        let cal = CalendarVersions::single(always("UTC"));
        let t0 = utc(2026, 1, 12, 10, 0);
        let segs = [seg(t0, Some(t0 + Duration::minutes(30)), true)];
        let v = evaluate(
            &segs,
            Budget::minutes(60, MinutesKind::Business),
            0.8,
            &cal,
            t0,
        )
        .unwrap()
        .settled(
            ClockKind::Reaction,
            Some(StopReason::NoReplyNeeded),
            Some("spam".into()),
        );
        assert_eq!(v.state, ClockState::Cancelled);
        assert_eq!(v.stop_reason, Some(StopReason::NoReplyNeeded));
        assert_eq!(v.stop_note.as_deref(), Some("spam"));
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["stopReason"], "no_reply_needed");
    }

    proptest! {
        /// A due time is never earlier than the exact start plus the budget, and never a
        /// second or more later than that on a calendar that is always open.
        #[test]
        fn due_is_never_before_exact_start_plus_budget(
            start_ms in 1_700_000_000_000i64..1_800_000_000_000,
            minutes in 0u32..2_000,
            business in any::<bool>(),
            elapsed_ms in 0i64..200_000_000,
        ) {
            let cal = CalendarVersions::single(always("UTC"));
            let start = DateTime::from_timestamp_millis(start_ms).unwrap();
            let kind = if business { MinutesKind::Business } else { MinutesKind::Calendar };
            let budget = Budget::minutes(minutes, kind);
            // Evaluated at any later instant (fractional too), running all the while.
            let now = start + Duration::milliseconds(elapsed_ms);
            let v = evaluate(&[seg(start, None, true)], budget, 0.8, &cal, now).unwrap();
            let exact = start + Duration::seconds(budget.seconds);
            let due = v.due_at.unwrap();
            prop_assert!(due >= exact, "due {due} before exact {exact}");
            prop_assert!(due - exact < Duration::seconds(1));
            prop_assert_eq!(due.timestamp_subsec_nanos(), 0);
        }

        /// On office hours too: the due time from a fractional start is never earlier than the
        /// due time from the exact start's next whole second minus nothing: it equals it.
        #[test]
        fn fractional_start_on_office_hours_rounds_up(
            start_s in 1_767_000_000i64..1_800_000_000,
            frac_ms in 1i64..1000,
            minutes in 1u32..1_000,
        ) {
            let cal = CalendarVersions::single(office());
            let whole = DateTime::from_timestamp(start_s, 0).unwrap();
            let start = whole + Duration::milliseconds(frac_ms);
            let budget = Budget::minutes(minutes, MinutesKind::Business);
            let v = evaluate(&[seg(start, None, true)], budget, 0.8, &cal, start).unwrap();
            let from_floor = cal.deadline(whole, budget.seconds).unwrap();
            let from_ceil = cal.deadline(whole + Duration::seconds(1), budget.seconds).unwrap();
            prop_assert!(v.due_at.unwrap() >= from_floor);
            prop_assert_eq!(v.due_at.unwrap(), from_ceil);
            // The business time between exact start and due covers the budget.
            prop_assert!(cal.business_seconds_between(whole, v.due_at.unwrap()) >= budget.seconds);
        }
    }
}
