//! The out-of-hours auto-reply: whether a citizen message came in while the desk is closed, the
//! Dutch text with the next opening, and opening hours in words (also `{{openingstijden}}` of
//! canned answers). Times are read in the calendar's time zone (Europe/Amsterdam by default).

use crate::canned::{self, TemplateError};
use crate::sla::BusinessHours;
use crate::sla::{Calendar, CalendarVersions};
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// The text sent when the channel account sets none.
pub const DEFAULT_TEXT: &str = "Bedankt voor uw bericht. We zijn nu gesloten; vanaf \
    {{volgendeopening}} helpen we u graag verder.";

/// Variables an auto-reply text may use.
pub const VARIABLES: &[&str] = &["volgendeopening", "openingstijden"];

/// Dutch weekday names, Monday first.
pub const WEEKDAYS: [&str; 7] = [
    "maandag",
    "dinsdag",
    "woensdag",
    "donderdag",
    "vrijdag",
    "zaterdag",
    "zondag",
];
const MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];

/// The next opening when an auto-reply is due: the desk was closed from the message's arrival
/// until `now` without a moment open in between (a message handled late, after an outage, when
/// the desk has been open meanwhile gets none). `None`: open, or never opening again.
pub fn closed_until(
    cal: &CalendarVersions,
    arrived: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let from = arrived.min(now);
    if cal.is_open(from) || cal.is_open(now) || cal.business_seconds_between(from, now) > 0 {
        return None;
    }
    cal.next_opening(now)
}

/// The next opening in Dutch, seen from `now`: `vandaag 13:00`, `morgen 08:30`, `maandag 08:30`,
/// and a week or more ahead with the date: `maandag 6 januari 08:30` (plus the year when it is
/// another year).
pub fn next_opening_nl(now: DateTime<Utc>, opening: DateTime<Utc>, tz: Tz) -> String {
    let (n, o) = (now.with_timezone(&tz), opening.with_timezone(&tz));
    let days = (o.date_naive() - n.date_naive()).num_days();
    let time = o.format("%H:%M");
    let weekday = WEEKDAYS[o.weekday().num_days_from_monday() as usize];
    match days {
        i64::MIN..=0 => format!("vandaag {time}"),
        1 => format!("morgen {time}"),
        2..=6 => format!("{weekday} {time}"),
        _ => {
            let month = MONTHS[o.month0() as usize];
            if o.year() == n.year() {
                format!("{weekday} {} {month} {time}", o.day())
            } else {
                format!("{weekday} {} {month} {} {time}", o.day(), o.year())
            }
        }
    }
}

fn clock(secs: u32) -> String {
    format!("{:02}:{:02}", secs / 3600, (secs % 3600) / 60)
}

/// The weekly opening hours in words, consecutive days with the same hours together:
/// `maandag t/m vrijdag 08:30-17:00`, `dinsdag en woensdag 08:30-12:00 en 13:00-17:00`, parts
/// separated by `; `. A calendar that is never open reads `gesloten`.
pub fn opening_hours_nl(cal: &Calendar) -> String {
    let weekly = &cal.inner.tables.weekly;
    let mut parts = Vec::new();
    let mut day = 0;
    while day < 7 {
        let spans = &weekly[day];
        let mut last = day;
        while last + 1 < 7 && weekly[last + 1] == *spans {
            last += 1;
        }
        if !spans.is_empty() {
            let days = match last - day {
                0 => WEEKDAYS[day].to_owned(),
                1 => format!("{} en {}", WEEKDAYS[day], WEEKDAYS[last]),
                _ => format!("{} t/m {}", WEEKDAYS[day], WEEKDAYS[last]),
            };
            let hours: Vec<String> = spans
                .iter()
                .map(|&(s, e)| format!("{}-{}", clock(s), clock(e)))
                .collect();
            parts.push(format!("{days} {}", hours.join(" en ")));
        }
        day = last + 1;
    }
    if parts.is_empty() {
        "gesloten".to_owned()
    } else {
        parts.join("; ")
    }
}

/// Checks an account's own auto-reply text (only [`VARIABLES`]).
pub fn check_text(text: &str) -> Result<(), TemplateError> {
    canned::check_with(text, VARIABLES)
}

/// The auto-reply for a message that arrived at a closed desk: the account's text (or
/// [`DEFAULT_TEXT`]) with the next opening and the opening hours filled in. `None` when the desk
/// is open (see [`closed_until`]).
pub fn auto_reply_text(
    text: Option<&str>,
    cal: &CalendarVersions,
    arrived: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<String>, TemplateError> {
    let Some(opening) = closed_until(cal, arrived, now) else {
        return Ok(None);
    };
    let in_force = cal.in_force(now);
    let values = BTreeMap::from([
        (
            "volgendeopening".to_owned(),
            next_opening_nl(now, opening, in_force.time_zone()),
        ),
        ("openingstijden".to_owned(), opening_hours_nl(in_force)),
    ]);
    canned::render_with(text.unwrap_or(DEFAULT_TEXT), VARIABLES, &values).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::CalendarSpec;
    use chrono::TimeZone;

    const AMS: Tz = chrono_tz::Europe::Amsterdam;

    /// Local Amsterdam time to UTC.
    fn ams(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        AMS.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    /// Monday to Friday 08:30-17:00, Thursday also 18:00-20:00, Dutch holidays.
    fn kcc() -> CalendarVersions {
        let spec: CalendarSpec = serde_json::from_value(serde_json::json!({
            "weekly": {
                "monday": [["08:30", "17:00"]], "tuesday": [["08:30", "17:00"]],
                "wednesday": [["08:30", "17:00"]],
                "thursday": [["08:30", "17:00"], ["18:00", "20:00"]],
                "friday": [["08:30", "17:00"]]
            }
        }))
        .unwrap();
        CalendarVersions::single(spec.validate().unwrap())
    }

    #[test]
    fn friday_evening_waits_for_monday() {
        // Friday 13 March 2026, 18:00.
        let at = ams(2026, 3, 13, 18, 0);
        let text = auto_reply_text(None, &kcc(), at, at).unwrap().unwrap();
        assert_eq!(
            text,
            "Bedankt voor uw bericht. We zijn nu gesloten; vanaf maandag 08:30 helpen we u graag verder."
        );
    }

    #[test]
    fn open_means_no_auto_reply() {
        let at = ams(2026, 3, 12, 19, 0); // Thursday evening opening
        assert_eq!(auto_reply_text(None, &kcc(), at, at).unwrap(), None);
        let at = ams(2026, 3, 10, 8, 30); // opening instant itself is open
        assert_eq!(closed_until(&kcc(), at, at), None);
        // Closed at arrival, but open by the time it is handled: none.
        let arrived = ams(2026, 3, 10, 7, 0);
        assert_eq!(closed_until(&kcc(), arrived, ams(2026, 3, 10, 9, 0)), None);
        // Closed at arrival and now, open in between (handled a day late): none.
        assert_eq!(
            closed_until(&kcc(), ams(2026, 3, 9, 7, 0), ams(2026, 3, 10, 7, 0)),
            None
        );
        // A calendar that never opens: nothing to promise.
        let never: CalendarSpec = serde_json::from_value(serde_json::json!({})).unwrap();
        let never = CalendarVersions::single(never.validate().unwrap());
        let at = ams(2026, 3, 10, 10, 0);
        assert_eq!(closed_until(&never, at, at), None);
    }

    #[test]
    fn relative_days_in_dutch() {
        let cal = kcc();
        // Early morning: later today.
        let at = ams(2026, 3, 10, 6, 15);
        let next = closed_until(&cal, at, at).unwrap();
        assert_eq!(next, ams(2026, 3, 10, 8, 30));
        assert_eq!(next_opening_nl(at, next, AMS), "vandaag 08:30");
        // Tuesday evening: tomorrow.
        let at = ams(2026, 3, 10, 21, 0);
        let next = closed_until(&cal, at, at).unwrap();
        assert_eq!(next_opening_nl(at, next, AMS), "morgen 08:30");
        // Thursday between the two openings: today 18:00.
        let at = ams(2026, 3, 12, 17, 30);
        let next = closed_until(&cal, at, at).unwrap();
        assert_eq!(next_opening_nl(at, next, AMS), "vandaag 18:00");
    }

    #[test]
    fn holidays_and_dst() {
        let cal = kcc();
        // Saturday before Easter 2026 (Tweede Paasdag is Monday 6 April): Tuesday.
        let at = ams(2026, 4, 4, 12, 0);
        let next = closed_until(&cal, at, at).unwrap();
        assert_eq!(next, ams(2026, 4, 7, 8, 30));
        assert_eq!(next_opening_nl(at, next, AMS), "dinsdag 08:30");
        // Across the autumn DST change (25 October 2026): still 08:30 local.
        let at = ams(2026, 10, 24, 12, 0);
        let next = closed_until(&cal, at, at).unwrap();
        assert_eq!(next_opening_nl(at, next, AMS), "maandag 08:30");
        assert_eq!(next.to_rfc3339(), "2026-10-26T07:30:00+00:00");
        // Christmas Eve evening 2026 (Thursday): Friday and Saturday are Christmas, so Monday.
        let at = ams(2026, 12, 24, 21, 0);
        let next = closed_until(&cal, at, at).unwrap();
        assert_eq!(next_opening_nl(at, next, AMS), "maandag 08:30");
    }

    #[test]
    fn far_openings_carry_the_date() {
        let now = ams(2026, 12, 20, 12, 0); // Sunday
        assert_eq!(
            next_opening_nl(now, ams(2026, 12, 28, 8, 30), AMS),
            "maandag 28 december 08:30"
        );
        assert_eq!(
            next_opening_nl(now, ams(2027, 1, 4, 8, 30), AMS),
            "maandag 4 januari 2027 08:30"
        );
    }

    #[test]
    fn opening_hours_in_words() {
        let cal = kcc();
        assert_eq!(
            opening_hours_nl(cal.in_force(Utc::now())),
            "maandag t/m woensdag 08:30-17:00; donderdag 08:30-17:00 en 18:00-20:00; vrijdag 08:30-17:00"
        );
        let spec: CalendarSpec = serde_json::from_value(serde_json::json!({
            "weekly": {"saturday": [["10:00", "12:00"]], "sunday": [["10:00", "12:00"]],
                       "monday": [["00:00", "24:00"]]}
        }))
        .unwrap();
        assert_eq!(
            opening_hours_nl(&spec.validate().unwrap()),
            "maandag 00:00-24:00; zaterdag en zondag 10:00-12:00"
        );
        let never: CalendarSpec = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(opening_hours_nl(&never.validate().unwrap()), "gesloten");
    }

    #[test]
    fn own_texts_use_their_variables() {
        let at = ams(2026, 3, 13, 18, 0);
        let t = "Gesloten. Open: {{openingstijden}}. Terug: {{ volgendeopening }}.";
        check_text(t).unwrap();
        assert_eq!(
            auto_reply_text(Some(t), &kcc(), at, at).unwrap().unwrap(),
            "Gesloten. Open: maandag t/m woensdag 08:30-17:00; donderdag 08:30-17:00 en 18:00-20:00; vrijdag 08:30-17:00. Terug: maandag 08:30."
        );
        assert_eq!(
            check_text("Hoi {{voornaam}}"),
            Err(TemplateError::Unknown(vec!["voornaam".into()]))
        );
    }
}
