//! Dutch texts for what the desk stores: dates and times in Europe/Amsterdam, durations, status
//! and channel names.

use chrono::Duration;
pub use webcare_domain::dutch::{channel, datetime, status};
use webcare_domain::ChannelKind;

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
        _ => return reason.to_owned(),
    };
    if nl.ends_with('.') {
        nl.to_owned()
    } else {
        format!("{nl}: {reason}")
    }
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
    fn clock_times_run_to_24_00() {
        assert_eq!((clock(510), clock(1440)), ("08:30".into(), "24:00".into()));
    }
}
