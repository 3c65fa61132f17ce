//! The vocabulary of the desk: channel kinds, case status, message direction and the municipal
//! classification (theme, kind, target group). Every enum has one canonical lowercase string, used in
//! JSON, in query keys and in the database, so the three never drift apart.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Error for a string that is not one of an enum's canonical names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{value}', expected one of: {expected}")]
pub struct UnknownVariant {
    pub what: &'static str,
    pub value: String,
    pub expected: String,
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $s)] $variant),+
        }

        // By hand: the derive does not see a `serde(rename)` whose literal comes from a macro
        // argument, and documented the variant names (PascalCase) instead of the wire names.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($s),+]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownVariant;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($s => Ok($name::$variant),)+
                    _ => Err(UnknownVariant {
                        what: $what,
                        value: s.to_owned(),
                        expected: [$($s),+].join(", "),
                    }),
                }
            }
        }
    };
}

string_enum!(
    /// The platform a channel account lives on.
    ChannelKind, "channel kind" {
        Api => "api",
        FacebookPage => "facebook_page",
        Instagram => "instagram",
        Whatsapp => "whatsapp",
        X => "x",
    }
);

string_enum!(
    /// Where a case is in its life; the allowed moves are in [`crate::status`].
    CaseStatus, "case status" {
        New => "new",
        Open => "open",
        WaitingOnCitizen => "waiting_on_citizen",
        Forwarded => "forwarded",
        Resolved => "resolved",
        Closed => "closed",
    }
);

string_enum!(
    /// Inbound is the citizen's message; outbound is ours (a reply, or an echo of one).
    Direction, "direction" {
        Inbound => "inbound",
        Outbound => "outbound",
    }
);

impl Direction {
    /// An echo of the desk's own account is ours (outbound); anything else is the citizen's.
    pub fn of_echo(echo: bool) -> Self {
        if echo {
            Direction::Outbound
        } else {
            Direction::Inbound
        }
    }
}

string_enum!(
    /// Public posts and comments versus private messages (DM, Messenger, WhatsApp).
    Visibility, "visibility" {
        Public => "public",
        Private => "private",
    }
);

string_enum!(
    /// Rubriek of a case, from the municipal webcare questionnaire.
    CaseKind, "kind" {
        Vraag => "vraag",
        Melding => "melding",
        Klacht => "klacht",
        Compliment => "compliment",
        Overig => "overig",
    }
);

string_enum!(
    /// Doelgroep of a case.
    TargetGroup, "target group" {
        Burger => "burger",
        Bedrijf => "bedrijf",
        Organisatie => "organisatie",
    }
);

string_enum!(
    /// Urgency of a case; SLA policies may match on it.
    Priority, "priority" {
        Low => "low",
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
);

string_enum!(
    /// What an API caller may do. Integrations feed messages in; admins configure the desk; the
    /// privacy officer (functionaris gegevensbescherming) reads the access log, exports a
    /// citizen's record, previews retention and sets legal holds, and does no case work.
    Role, "role" {
        Admin => "admin",
        Teamlead => "teamlead",
        Agent => "agent",
        Department => "department",
        Integration => "integration",
        PrivacyOfficer => "privacy_officer",
    }
);

/// The default themes of the municipal questionnaire. Themes are configurable, so cases store the
/// theme as text; this list seeds the configuration.
pub const DEFAULT_THEMES: &[&str] = &[
    "Verkeer & Infrastructuur",
    "Openbare Orde & Veiligheid",
    "Openbare Ruimte & Groen",
    "Burgerzaken",
    "Sport & Recreatie",
    "Wonen",
    "Economische Zaken",
    "Jeugdbeleid",
    "Cultuur",
    "Milieu",
    "Zorg & Welzijn",
    "Werk & Inkomen",
    "Onderwijs",
    "Afval",
    "Dienstverlening",
    "Overig",
];

/// Flags raised on a message for the agent's attention.
pub mod flags {
    /// The text holds a number that passes the BSN 11-proef.
    pub const BSN: &str = "bsn";
    /// Our out-of-hours auto-reply: not an answer by an agent.
    pub const AUTO_REPLY: &str = "auto_reply";
    /// Control characters (NUL, ...) were removed from the text or a name: see
    /// `inbound::Anomaly::ControlCharacters`.
    pub const CONTROL_CHARACTERS_REMOVED: &str = "control_characters_removed";
    /// The text (or a name) was longer than the desk keeps and was cut.
    pub const TEXT_TRUNCATED: &str = "text_truncated";
    /// The platform's time was implausible (before 2004, or in the future): the message carries
    /// the time it was received instead.
    pub const SENT_AT_CLAMPED: &str = "sent_at_clamped";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_round_trips_through_its_string() {
        for s in CaseStatus::ALL {
            assert_eq!(s.as_str().parse::<CaseStatus>().unwrap(), *s);
            let json = serde_json_like(s.as_str());
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        for k in ChannelKind::ALL {
            assert_eq!(k.as_str().parse::<ChannelKind>().unwrap(), *k);
        }
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), *r);
        }
    }

    fn serde_json_like(s: &str) -> String {
        format!("\"{s}\"")
    }

    #[test]
    fn unknown_names_are_rejected_with_the_choices() {
        let err = "pending".parse::<CaseStatus>().unwrap_err();
        assert!(err.expected.contains("waiting_on_citizen"));
        assert_eq!(err.value, "pending");
        assert!(
            "X".parse::<ChannelKind>().is_err(),
            "names are case-sensitive"
        );
    }
}
