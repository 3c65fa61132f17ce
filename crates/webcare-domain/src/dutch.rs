//! Dutch words for what the desk stores, where a person reads them: the web app's pages and the
//! readable export a citizen receives (AVG art. 15). Dates and times in Europe/Amsterdam.

use crate::inbound::DeliveryState;
use crate::{CaseKind, CaseStatus, ChannelKind, Direction, Visibility};
use chrono::{DateTime, Utc};
use chrono_tz::Europe::Amsterdam;

/// `06-12-2026 21:30` in Amsterdam time.
pub fn datetime(t: DateTime<Utc>) -> String {
    t.with_timezone(&Amsterdam)
        .format("%d-%m-%Y %H:%M")
        .to_string()
}

pub fn status(s: CaseStatus) -> &'static str {
    match s {
        CaseStatus::New => "Nieuw",
        CaseStatus::Open => "Open",
        CaseStatus::WaitingOnCitizen => "Wacht op burger",
        CaseStatus::Forwarded => "Doorgezet",
        CaseStatus::Resolved => "Afgehandeld",
        CaseStatus::Closed => "Gesloten",
    }
}

pub fn channel(k: ChannelKind) -> &'static str {
    match k {
        ChannelKind::X => "X",
        ChannelKind::FacebookPage => "Facebook",
        ChannelKind::Instagram => "Instagram",
        ChannelKind::Whatsapp => "WhatsApp",
        ChannelKind::Api => "API",
    }
}

/// A case's kind; "Zonder soort" when the desk has not set one.
pub fn kind(k: Option<CaseKind>) -> &'static str {
    match k {
        Some(CaseKind::Vraag) => "Vraag",
        Some(CaseKind::Melding) => "Melding",
        Some(CaseKind::Klacht) => "Klacht",
        Some(CaseKind::Compliment) => "Compliment",
        Some(CaseKind::Overig) => "Overig",
        None => "Zonder soort",
    }
}

/// Where a reply of the desk is on its way to the platform.
pub fn delivery(s: DeliveryState) -> &'static str {
    match s {
        DeliveryState::Pending => "in de wachtrij",
        DeliveryState::Sending => "wordt verstuurd",
        DeliveryState::Sent => "verstuurd",
        DeliveryState::Delivered => "afgeleverd",
        DeliveryState::Read => "gelezen",
        DeliveryState::Failed => "mislukt",
    }
}

/// Who wrote a message, as the citizen reads it.
pub fn direction(d: Direction) -> &'static str {
    match d {
        Direction::Inbound => "van de burger",
        Direction::Outbound => "van de gemeente",
    }
}

pub fn visibility(v: Visibility) -> &'static str {
    match v {
        Visibility::Public => "openbaar",
        Visibility::Private => "privé",
    }
}

/// What a line of the audit says (unknown actions as they are stored).
pub fn audit_action(action: &str) -> &str {
    match action {
        "contact.read" => "Burger bekeken",
        "case.read" => "Zaak bekeken",
        "contact.exported" => "Gegevens uitgevoerd (export)",
        "contact.access_log_read" => "Inzageoverzicht bekeken",
        "contact.suggestions_read" => "Mogelijke dubbelen bekeken",
        "contact.updated" => "Burger gewijzigd",
        "contact.identity_linked" => "Account gekoppeld",
        "contact.identity_unlinked" => "Account ontkoppeld",
        "contact.legal_hold_set" => "Bewaarplicht op burger gezet",
        "contact.legal_hold_released" => "Bewaarplicht op burger opgeheven",
        "case.legal_hold_set" => "Bewaarplicht op zaak gezet",
        "case.legal_hold_released" => "Bewaarplicht op zaak opgeheven",
        other => other,
    }
}

/// Who did it: `user:<id>:<email>` as the e-mail address, tokens and the system as they are.
pub fn audit_actor(actor: &str) -> &str {
    let mut parts = actor.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("user"), Some(_), Some(email)) => email,
        _ => actor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_amsterdam_times_across_dst() {
        let winter = Utc.with_ymd_and_hms(2026, 12, 6, 20, 30, 0).unwrap();
        assert_eq!(datetime(winter), "06-12-2026 21:30");
        let summer = Utc.with_ymd_and_hms(2026, 7, 1, 8, 0, 0).unwrap();
        assert_eq!(datetime(summer), "01-07-2026 10:00");
    }

    #[test]
    fn audit_lines_are_dutch_and_unknown_actions_stay_readable() {
        assert_eq!(audit_action("contact.read"), "Burger bekeken");
        assert_eq!(audit_action("contact.new_thing"), "contact.new_thing");
        assert_eq!(
            audit_actor("user:0190:anna@gemeente.test"),
            "anna@gemeente.test"
        );
        assert_eq!(audit_actor("token:koppeling"), "token:koppeling");
    }
}
