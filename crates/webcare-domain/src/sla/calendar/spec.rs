//! The opening-hours calendar as an admin submits it (JSON, camelCase), and its validation into a
//! [`Calendar`]. Validation collects every problem at once so the admin can fix them in one go.

use super::{Calendar, Rules, Span};
use crate::sla::error::FieldError;
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// One opening interval as `["HH:MM", "HH:MM"]`, local wall-clock time, end exclusive.
/// `"24:00"` is allowed as an end (midnight at the end of the day).
pub type IntervalSpec = [String; 2];

/// A submitted calendar. `name` and `effectiveFrom` belong to the caller's envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarSpec {
    /// IANA time zone, e.g. `Europe/Amsterdam` (the default).
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    #[serde(default)]
    pub weekly: WeeklySpec,
    #[serde(default)]
    pub holidays: HolidaysSpec,
    #[serde(default)]
    pub closures: Vec<ClosureSpec>,
    #[serde(default)]
    pub extra_openings: Vec<ExtraOpeningSpec>,
}

fn default_time_zone() -> String {
    "Europe/Amsterdam".to_owned()
}

/// Opening intervals per weekday; a missing day is closed. Unknown keys are rejected so a typo
/// ("wensday") cannot silently close a day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WeeklySpec {
    pub monday: Vec<IntervalSpec>,
    pub tuesday: Vec<IntervalSpec>,
    pub wednesday: Vec<IntervalSpec>,
    pub thursday: Vec<IntervalSpec>,
    pub friday: Vec<IntervalSpec>,
    pub saturday: Vec<IntervalSpec>,
    pub sunday: Vec<IntervalSpec>,
}

impl WeeklySpec {
    /// The days Monday first, with their JSON keys.
    pub fn days(&self) -> [(&'static str, &[IntervalSpec]); 7] {
        [
            ("monday", &self.monday),
            ("tuesday", &self.tuesday),
            ("wednesday", &self.wednesday),
            ("thursday", &self.thursday),
            ("friday", &self.friday),
            ("saturday", &self.saturday),
            ("sunday", &self.sunday),
        ]
    }

    /// Mutable access by weekday index (0 = Monday), for builders and tests.
    pub fn day_mut(&mut self, weekday: usize) -> Option<&mut Vec<IntervalSpec>> {
        Some(match weekday {
            0 => &mut self.monday,
            1 => &mut self.tuesday,
            2 => &mut self.wednesday,
            3 => &mut self.thursday,
            4 => &mut self.friday,
            5 => &mut self.saturday,
            6 => &mut self.sunday,
            _ => return None,
        })
    }
}

/// Which public holidays close the desk: `set` is `"nl"` (Dutch holidays) or `"none"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HolidaysSpec {
    #[serde(default = "default_holiday_set")]
    pub set: String,
    /// Goede Vrijdag is not a general day off; municipalities choose.
    #[serde(default)]
    pub good_friday: bool,
}

fn default_holiday_set() -> String {
    "nl".to_owned()
}

impl Default for HolidaysSpec {
    fn default() -> Self {
        HolidaysSpec {
            set: default_holiday_set(),
            good_friday: false,
        }
    }
}

/// A local date on which the desk is closed all day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosureSpec {
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A local date with its own opening intervals, replacing the weekly ones (and any holiday).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtraOpeningSpec {
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(default)]
    pub intervals: Vec<IntervalSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl CalendarSpec {
    /// Checks every rule and builds the fast [`Calendar`], or returns all problems found.
    pub fn validate(&self) -> Result<Calendar, Vec<FieldError>> {
        let mut errors = Vec::new();

        let tz = match self.time_zone.parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                errors.push(FieldError::new(
                    "timeZone",
                    "unknown_time_zone",
                    format!("'{}' is not an IANA time zone", self.time_zone),
                ));
                None
            }
        };

        let mut weekly: [Vec<Span>; 7] = Default::default();
        for (i, (key, intervals)) in self.weekly.days().into_iter().enumerate() {
            weekly[i] = intervals_of(&format!("weekly.{key}"), intervals, &mut errors);
        }

        let holidays_enabled = match self.holidays.set.as_str() {
            "nl" => true,
            "none" => false,
            other => {
                errors.push(FieldError::new(
                    "holidays.set",
                    "unknown_holiday_set",
                    format!("unknown holiday set '{other}', expected 'nl' or 'none'"),
                ));
                false
            }
        };

        let mut closures = Vec::new();
        for (i, c) in self.closures.iter().enumerate() {
            if let Some(d) = date_of(&format!("closures[{i}].date"), &c.date, &mut errors) {
                closures.push(d);
            }
        }

        let mut extras: Vec<(NaiveDate, Vec<Span>)> = Vec::new();
        for (i, x) in self.extra_openings.iter().enumerate() {
            let date_path = format!("extraOpenings[{i}].date");
            let date = date_of(&date_path, &x.date, &mut errors);
            let spans = intervals_of(
                &format!("extraOpenings[{i}].intervals"),
                &x.intervals,
                &mut errors,
            );
            let Some(date) = date else { continue };
            if closures.contains(&date) {
                errors.push(FieldError::new(
                    date_path,
                    "conflict",
                    format!("{date} is both a closure and an extra opening"),
                ));
            } else if extras.iter().any(|(d, _)| *d == date) {
                errors.push(FieldError::new(
                    date_path,
                    "duplicate_date",
                    format!("{date} has more than one extra opening; merge their intervals"),
                ));
            } else {
                extras.push((date, spans));
            }
        }

        match tz {
            Some(tz) if errors.is_empty() => {
                closures.sort_unstable();
                closures.dedup();
                extras.sort_by_key(|(d, _)| *d);
                Ok(Calendar::from_rules(Rules {
                    tz,
                    weekly,
                    holidays_enabled,
                    good_friday: self.holidays.good_friday,
                    closures,
                    extras,
                }))
            }
            _ => Err(errors),
        }
    }
}

/// Parses `YYYY-MM-DD` strictly (zero-padded, a real date).
fn date_of(path: &str, s: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let shaped = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    match shaped
        .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
    {
        Some(d) => Some(d),
        None => {
            errors.push(FieldError::new(
                path,
                "invalid_date",
                format!("'{s}' is not a date in the form YYYY-MM-DD"),
            ));
            None
        }
    }
}

/// Minutes since midnight of `"HH:MM"`; `"24:00"` (1440) only when `is_end`.
fn time_of(s: &str, is_end: bool) -> Result<u32, String> {
    let b = s.as_bytes();
    let shaped =
        b.len() == 5 && b[2] == b':' && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit());
    if !shaped {
        return Err(format!("'{s}' is not a time in the form HH:MM"));
    }
    let num = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    let (h, m) = (num(0), num(3));
    match (h, m) {
        (24, 0) if is_end => Ok(1440),
        (24, 0) => Err("24:00 is only allowed as an end time".to_owned()),
        (0..=23, 0..=59) => Ok(h * 60 + m),
        _ => Err(format!("'{s}' is not a time between 00:00 and 23:59")),
    }
}

/// Validates one day's intervals (`path` is e.g. `weekly.monday`) and returns them in seconds,
/// sorted by start. Touching intervals are fine; overlapping ones are not.
fn intervals_of(path: &str, list: &[IntervalSpec], errors: &mut Vec<FieldError>) -> Vec<Span> {
    let mut valid: Vec<(usize, u32, u32)> = Vec::with_capacity(list.len());
    for (i, [start, end]) in list.iter().enumerate() {
        let name = format!("{path}[{i}]");
        let s = time_of(start, false);
        let e = time_of(end, true);
        match (s, e) {
            (Ok(s), Ok(e)) if e > s => valid.push((i, s, e)),
            (Ok(_), Ok(_)) => errors.push(FieldError::new(
                name,
                "end_before_start",
                format!("end {end} must be after start {start}"),
            )),
            (s, e) => {
                for reason in [s.err(), e.err()].into_iter().flatten() {
                    errors.push(FieldError::new(name.clone(), "invalid_time", reason));
                }
            }
        }
    }
    valid.sort_by_key(|&(_, s, _)| s);
    // Compare with the furthest-reaching earlier interval, so containment is caught too.
    let mut reach: Option<(usize, u32, u32)> = None;
    for &(i, s, e) in &valid {
        if let Some((j, ps, pe)) = reach {
            if s < pe {
                errors.push(FieldError::new(
                    format!("{path}[{i}]"),
                    "overlap",
                    format!("overlaps {path}[{j}] ({}-{})", hhmm(ps), hhmm(pe)),
                ));
            }
            if e > pe {
                reach = Some((i, s, e));
            }
        } else {
            reach = Some((i, s, e));
        }
    }
    valid
        .into_iter()
        .map(|(_, s, e)| (s * 60, e * 60))
        .collect()
}

fn hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> CalendarSpec {
        serde_json::from_str(json).expect("valid JSON")
    }

    fn codes(result: Result<Calendar, Vec<FieldError>>) -> Vec<(String, String)> {
        let errs = result.expect_err("expected errors");
        errs.into_iter().map(|e| (e.name, e.code)).collect()
    }

    #[test]
    fn the_documented_example_parses_and_validates() {
        let s = spec(
            r#"{"timeZone": "Europe/Amsterdam", "weekly": {"monday": [["08:30","12:30"],["13:00","17:00"]], "tuesday": [["08:30","17:00"],["18:00","20:00"]], "wednesday": [], "thursday": [], "friday": [], "saturday": [], "sunday": []}, "holidays": {"set": "nl", "goodFriday": false}, "closures": [{"date": "2026-02-16", "reason": "carnaval"}], "extraOpenings": [{"date": "2026-03-14", "intervals": [["10:00","14:00"]]}]}"#,
        );
        assert_eq!(s.weekly.monday.len(), 2);
        assert_eq!(s.closures[0].reason.as_deref(), Some("carnaval"));
        let cal = s.validate().expect("valid");
        assert_eq!(
            cal.week_open_seconds(),
            (4 * 3600 + 4 * 3600) + (8 * 3600 + 30 * 60 + 2 * 3600)
        );
    }

    #[test]
    fn defaults_apply_for_missing_keys() {
        let s =
            spec(r#"{"timeZone": "Europe/Amsterdam", "weekly": {"friday": [["09:00","10:00"]]}}"#);
        assert!(s.weekly.monday.is_empty());
        assert_eq!(s.holidays, HolidaysSpec::default());
        assert!(s.closures.is_empty() && s.extra_openings.is_empty());
        assert!(s.validate().is_ok());
    }

    #[test]
    fn round_trips_as_camel_case() {
        let s = spec(r#"{"timeZone":"Europe/Amsterdam","holidays":{"goodFriday":true}}"#);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["timeZone"], "Europe/Amsterdam");
        assert_eq!(v["holidays"]["goodFriday"], true);
        assert_eq!(v["holidays"]["set"], "nl");
        assert!(v["extraOpenings"].is_array());
    }

    #[test]
    fn misspelled_weekday_is_rejected_by_serde() {
        let r: Result<CalendarSpec, _> =
            serde_json::from_str(r#"{"timeZone":"UTC","weekly":{"wensday":[]}}"#);
        assert!(r.is_err());
    }

    #[test]
    fn bad_times_are_all_reported() {
        let s = spec(
            r#"{"timeZone":"Europe/Amsterdam","weekly":{"monday":[["8:30","12:00"],["12:00","24:01"],["24:00","24:00"],["13:00","12:00"],["11:00","11:00"]]}}"#,
        );
        assert_eq!(
            codes(s.validate()),
            vec![
                ("weekly.monday[0]".into(), "invalid_time".into()),
                ("weekly.monday[1]".into(), "invalid_time".into()),
                ("weekly.monday[2]".into(), "invalid_time".into()),
                ("weekly.monday[3]".into(), "end_before_start".into()),
                ("weekly.monday[4]".into(), "end_before_start".into()),
            ]
        );
    }

    #[test]
    fn overlaps_are_rejected_but_touching_is_fine() {
        let ok = spec(
            r#"{"timeZone":"Europe/Amsterdam","weekly":{"monday":[["12:30","17:00"],["08:30","12:30"],["17:00","24:00"]]}}"#,
        );
        assert!(ok.validate().is_ok());
        let bad = spec(
            r#"{"timeZone":"Europe/Amsterdam","weekly":{"tuesday":[["08:00","18:00"],["09:00","10:00"],["11:00","12:00"]]}}"#,
        );
        let errs = bad.validate().unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs.iter().all(|e| e.code == "overlap"));
        assert_eq!(errs[0].name, "weekly.tuesday[1]");
        assert_eq!(errs[1].name, "weekly.tuesday[2]");
        assert!(errs[1].reason.contains("weekly.tuesday[0] (08:00-18:00)"));
    }

    #[test]
    fn zone_holiday_set_dates_and_conflicts() {
        let s = spec(
            r#"{"timeZone":"Europe/Amsterdan","holidays":{"set":"be"},
                "closures":[{"date":"2026-02-30"},{"date":"2026-03-14"}],
                "extraOpenings":[{"date":"2026-03-14","intervals":[["10:00","14:00"]]},
                                 {"date":"2026-03-15","intervals":[]},
                                 {"date":"2026-03-15","intervals":[["10:00","09:00"]]},
                                 {"date":"26-03-16","intervals":[]}]}"#,
        );
        assert_eq!(
            codes(s.validate()),
            vec![
                ("timeZone".into(), "unknown_time_zone".into()),
                ("holidays.set".into(), "unknown_holiday_set".into()),
                ("closures[0].date".into(), "invalid_date".into()),
                ("extraOpenings[0].date".into(), "conflict".into()),
                (
                    "extraOpenings[2].intervals[0]".into(),
                    "end_before_start".into()
                ),
                ("extraOpenings[2].date".into(), "duplicate_date".into()),
                ("extraOpenings[3].date".into(), "invalid_date".into()),
            ]
        );
    }

    #[test]
    fn field_errors_serialize_camel_case() {
        let e = FieldError::new("timeZone", "unknown_time_zone", "nope");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"name":"timeZone","code":"unknown_time_zone","reason":"nope"})
        );
    }
}
