//! Dutch texts for what the desk stores: dates and times in Europe/Amsterdam, durations, status
//! and channel names.

use chrono::{Duration, NaiveDate};
pub use webcare_domain::dutch::{channel, datetime, status};
use webcare_domain::{CaseKind, ChannelKind};

/// `3 d 2 u`, `2 u 10 min`, `5 min`, `< 1 min`.
pub fn duration(d: Duration) -> String {
    let m = d.num_minutes().abs();
    let (days, hours, mins) = (m / 1440, (m % 1440) / 60, m % 60);
    if days > 0 {
        format!("{days} d {hours} u")
    } else if hours > 0 {
        format!("{hours} u {mins} min")
    } else if mins > 0 {
        format!("{mins} min")
    } else {
        "< 1 min".into()
    }
}

/// A case's kind (rubriek) in Dutch, lower case as in a sentence.
pub fn kind(k: CaseKind) -> &'static str {
    match k {
        CaseKind::Vraag => "vraag",
        CaseKind::Melding => "melding",
        CaseKind::Klacht => "klacht",
        CaseKind::Compliment => "compliment",
        CaseKind::Overig => "overig",
    }
}

/// A short code for the channel badge (the label is next to it for screen readers).
pub fn channel_icon(k: ChannelKind) -> &'static str {
    match k {
        ChannelKind::X => "X",
        ChannelKind::FacebookPage => "FB",
        ChannelKind::Instagram => "IG",
        ChannelKind::Whatsapp => "WA",
        ChannelKind::Api => "API",
    }
}

/// `08:30` of minutes since midnight (`24:00` for 1440).
pub fn clock(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// A validation message of the API in Dutch, by its code; the API's own words otherwise.
pub fn invalid_param(code: &str, reason: &str) -> String {
    let nl = match code {
        "required" | "empty" => "Vul dit veld in.",
        "too_long" => "Deze tekst is te lang",
        "unknown_department" => "Kies een bestaande afdeling.",
        "unknown_user" => "Kies een actieve medewerker.",
        "unknown" => "Dit standaardantwoord bestaat niet.",
        "not_allowed" => "Dit standaardantwoord hoort bij een ander team.",
        "unrenderable_variable" => "Het standaardantwoord kan niet worden ingevuld",
        "outside_window" => "Buiten het venster van het kanaal",
        "no_target" => "Er is geen bericht van de burger om op te antwoorden.",
        "theme_required" => {
            "Kies eerst een thema: deze zaak kan pas met een thema worden afgehandeld."
        }
        "unknown_value" => "Kies een waarde uit de lijst.",
        _ => return reason.to_owned(),
    };
    if nl.ends_with('.') {
        nl.to_owned()
    } else {
        format!("{nl}: {reason}")
    }
}

/// The hint under every date field.
pub const DATE_HINT: &str = "Schrijf de datum als dd-mm-jjjj, bijvoorbeeld 24-12-2026.";

/// A date as a form shows it: `24-12-2026` (dd-mm-jjjj). Date fields are text inputs in this
/// format rather than `type="date"`, whose picker follows the browser's locale (mm/dd/yyyy in
/// an English Chromium), so a Dutch user always reads and types one unambiguous format.
pub fn date_input(d: NaiveDate) -> String {
    d.format("%d-%m-%Y").to_string()
}

/// A date typed in a form: `24-12-2026`, `4-1-2027` (dd-mm-jjjj, also with `/` or `.`), or
/// `2026-12-24` (links and older forms).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    // `%Y` alone would read `04-12-26` as the year 4.
    if s.split('-').next().is_some_and(|y| y.len() == 4) {
        return NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    }
    let dutch = s.replace(['/', '.'], "-");
    let mut parts = dutch.split('-');
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// A date from a form or a link for a use case that takes `2026-12-24`: an unreadable one is
/// passed on as typed, so the use case refuses it by name.
pub fn iso_date(s: &str) -> String {
    parse_date(s).map_or_else(|| s.to_owned(), |d| d.to_string())
}

/// A `2026-12-24` date (as the use cases give it) as a form shows it; anything else as it is.
pub fn shown_date(iso: &str) -> String {
    parse_date(iso).map_or_else(|| iso.to_owned(), date_input)
}

/// The case's satisfaction survey in one line: `Tevredenheid: 4/5 — snel geholpen` once
/// answered, else where the question stands.
pub fn survey(s: &webcare_store::surveys::SurveyRecord) -> String {
    use webcare_domain::survey::SurveyState as S;
    let why = |what: &str| match &s.reason {
        Some(r) => format!("{what} — {r}"),
        None => what.to_owned(),
    };
    let line = match (s.state, s.score) {
        (S::Answered, Some(score)) => {
            let (_, hi) = s.kind.range();
            match &s.comment {
                Some(c) => format!("{score}/{hi} — {c}"),
                None => format!("{score}/{hi}"),
            }
        }
        (S::Answered | S::Sent, _) => "vraag verstuurd, nog geen antwoord".to_owned(),
        (S::Scheduled, _) => "vraag gepland".to_owned(),
        (S::Withdrawn, _) => "vraag ingetrokken (zaak heropend)".to_owned(),
        (S::Skipped, _) => why("niet verstuurd"),
        (S::Failed, _) => why("versturen mislukt"),
    };
    format!("Tevredenheid: {line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_dutch() {
        assert_eq!(duration(Duration::minutes(130)), "2 u 10 min");
        assert_eq!(duration(Duration::minutes(3 * 1440 + 120)), "3 d 2 u");
        assert_eq!(duration(Duration::seconds(20)), "< 1 min");
        assert_eq!(invalid_param("required", "x"), "Vul dit veld in.");
        assert_eq!(invalid_param("odd", "as the API says"), "as the API says");
    }

    #[test]
    fn dates_are_typed_and_shown_dd_mm_jjjj() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        for typed in [
            "04-12-2026",
            "4-12-2026",
            "4/12/2026",
            "04.12.2026",
            " 2026-12-04 ",
        ] {
            assert_eq!(parse_date(typed), Some(d), "{typed}");
        }
        for bad in [
            "12/32/2026",
            "04-12-26",
            "2026",
            "",
            "4-12-2026-1",
            "31-02-2026",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(date_input(d), "04-12-2026");
        assert_eq!(
            (iso_date("4-12-2026"), iso_date("gisteren")),
            ("2026-12-04".into(), "gisteren".into())
        );
        assert_eq!(shown_date("2026-12-04"), "04-12-2026");
    }

    #[test]
    fn clock_times_run_to_24_00() {
        assert_eq!((clock(510), clock(1440)), ("08:30".into(), "24:00".into()));
    }

    #[test]
    fn the_survey_reads_in_one_line() {
        use webcare_domain::survey::{SurveyKind, SurveyState};
        let t = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 3, 9, 9, 0, 0).unwrap();
        let mut s = webcare_store::surveys::SurveyRecord {
            case_id: uuid::Uuid::nil(),
            reply_id: None,
            kind: SurveyKind::Csat,
            state: SurveyState::Answered,
            created_at: t,
            sent_at: Some(t),
            score: Some(4),
            comment: Some("snel geholpen".into()),
            answered_at: Some(t),
            answer_message_id: None,
            ended_at: None,
            reason: None,
        };
        assert_eq!(survey(&s), "Tevredenheid: 4/5 — snel geholpen");
        (s.kind, s.score, s.comment) = (SurveyKind::Nps, Some(9), None);
        assert_eq!(survey(&s), "Tevredenheid: 9/10");
        s.state = SurveyState::Skipped;
        s.reason = Some("WhatsApp-venster gesloten en geen sjabloon".into());
        assert_eq!(
            survey(&s),
            "Tevredenheid: niet verstuurd — WhatsApp-venster gesloten en geen sjabloon"
        );
    }
}
