//! The channel account form's settings beyond name, calendar and secrets: switched on or off,
//! the API and callback URLs, X's poll intervals, the out-of-hours reply and the satisfaction
//! survey. They are read from the form into the use case's own types (so the API's checks and
//! messages apply) and written back from a stored account, so the Beheer page
//! (`channels_page`) shows every field the `/channel-accounts` API has.

use crate::routing_page::{get, Fields};
use webcare_desk::auto_reply::OutOfHoursReply;
use webcare_desk::channel_accounts::survey_of;
use webcare_desk::{DeskError, DeskResult, InvalidParam};
use webcare_domain::survey::{SurveyKind, SurveySettings};
use webcare_store::records::ChannelAccount;

/// The inputs, in the form's order: (key, label, kind).
pub(crate) const INPUTS: [(&str, &str, &str); 15] = [
    ("actief", "Status", "select"),
    ("apibasis", "API-adres (leeg: het platform zelf)", "text"),
    (
        "terugroep",
        "Terugroepadres voor antwoorden (alleen API-kanalen)",
        "text",
    ),
    ("pollen", "Ophalen elke ... seconden (alleen X)", "number"),
    (
        "verwijdercontrole",
        "Verwijderde berichten controleren elke ... seconden (alleen X)",
        "number",
    ),
    (
        "buiten",
        "Automatisch antwoord buiten openingstijden",
        "select",
    ),
    (
        "buitentekst",
        "Eigen tekst buiten openingstijden (leeg: de standaardtekst; mag {{volgendeopening}} \
         en {{openingstijden}} bevatten)",
        "textarea",
    ),
    ("enquete", "Tevredenheidsonderzoek na afhandelen", "select"),
    ("enquetesoort", "Soort onderzoek", "select"),
    (
        "enquetetekst",
        "Eigen tekst van het onderzoek (leeg: de standaardtekst)",
        "textarea",
    ),
    (
        "enquetewacht",
        "Versturen ... minuten na afhandelen (0 tot 1440)",
        "number",
    ),
    (
        "enqueteperiode",
        "Hoogstens één onderzoek per contact per ... dagen (1 tot 365)",
        "number",
    ),
    (
        "enqueteantwoord",
        "Een cijfer telt als antwoord tot ... dagen na versturen (1 tot 30)",
        "number",
    ),
    (
        "enquetepubliek",
        "Ook na zaken uit openbare reacties",
        "select",
    ),
    (
        "enquetetemplate",
        "WhatsApp-template na het 24-uursvenster (naam van een goedgekeurde template)",
        "text",
    ),
];

/// What the settings inputs say, in the use case's types.
pub(crate) struct Settings {
    pub enabled: bool,
    pub api_base_url: Option<String>,
    pub callback_url: Option<String>,
    pub poll_interval_seconds: Option<u32>,
    pub delete_check_interval_seconds: Option<u32>,
    pub out_of_hours_reply: OutOfHoursReply,
    pub survey: SurveySettings,
}

/// A select's choices, for the settings' selects.
pub(crate) fn options(key: &str) -> Option<Vec<(String, String)>> {
    let pairs: &[(&str, &str)] = match key {
        "actief" => &[
            ("ja", "Ingeschakeld"),
            (
                "nee",
                "Uitgeschakeld: niet ophalen en niet antwoorden; binnenkomende berichten \
                 worden wel zaken",
            ),
        ],
        "buiten" | "enquete" | "enquetepubliek" => &[("nee", "Nee"), ("ja", "Ja")],
        "enquetesoort" => &[
            ("csat", "Tevredenheid (CSAT, cijfer 1 tot 5)"),
            ("nps", "Aanbeveling (NPS, cijfer 0 tot 10)"),
        ],
        _ => return None,
    };
    Some(
        pairs
            .iter()
            .map(|(v, l)| (v.to_string(), l.to_string()))
            .collect(),
    )
}

/// A text input, `None` when left empty.
pub(crate) fn optional(v: &str) -> Option<String> {
    Some(v.trim()).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// Reads the settings inputs; a number that is not a whole number is named.
pub(crate) fn read(f: &Fields) -> DeskResult<Settings> {
    let mut bad = Vec::new();
    let mut number = |key: &str| match get(f, key).trim() {
        "" => None,
        v => v.parse::<u32>().map(Some).unwrap_or_else(|_| {
            bad.push(InvalidParam::new(
                key,
                "form",
                "Vul een heel getal in, of laat het leeg.",
            ));
            None
        }),
    };
    let poll_interval_seconds = number("pollen");
    let delete_check_interval_seconds = number("verwijdercontrole");
    let defaults = SurveySettings::default();
    let survey = SurveySettings {
        enabled: get(f, "enquete") == "ja",
        kind: match get(f, "enquetesoort") {
            "nps" => SurveyKind::Nps,
            _ => SurveyKind::Csat,
        },
        text: optional(get(f, "enquetetekst")),
        delay_minutes: number("enquetewacht").unwrap_or(defaults.delay_minutes),
        period_days: number("enqueteperiode").unwrap_or(defaults.period_days),
        answer_days: number("enqueteantwoord").unwrap_or(defaults.answer_days),
        public_threads: get(f, "enquetepubliek") == "ja",
        whatsapp_template: optional(get(f, "enquetetemplate")),
    };
    if !bad.is_empty() {
        return Err(DeskError::Invalid(bad));
    }
    Ok(Settings {
        enabled: get(f, "actief") != "nee",
        api_base_url: optional(get(f, "apibasis")),
        callback_url: optional(get(f, "terugroep")),
        poll_interval_seconds,
        delete_check_interval_seconds,
        out_of_hours_reply: OutOfHoursReply {
            enabled: get(f, "buiten") == "ja",
            text: optional(get(f, "buitentekst")),
        },
        survey,
    })
}

fn yes(b: bool) -> String {
    if b { "ja" } else { "nee" }.to_owned()
}

/// The settings inputs filled in from a stored account.
pub(crate) fn fields(a: &ChannelAccount) -> Fields {
    let setting = |k: &str| {
        a.settings
            .get(k)
            .and_then(|v| v.as_u64())
            .map(|v| v.to_string())
            .unwrap_or_default()
    };
    let ooh = OutOfHoursReply::of(&a.settings);
    let s = survey_of(&a.settings);
    [
        ("actief", yes(a.enabled)),
        ("apibasis", a.api_base_url.clone().unwrap_or_default()),
        ("terugroep", a.callback_url.clone().unwrap_or_default()),
        ("pollen", setting("pollIntervalSeconds")),
        ("verwijdercontrole", setting("deleteCheckIntervalSeconds")),
        ("buiten", yes(ooh.enabled)),
        ("buitentekst", ooh.text.unwrap_or_default()),
        ("enquete", yes(s.enabled)),
        ("enquetesoort", s.kind.as_str().to_owned()),
        ("enquetetekst", s.text.unwrap_or_default()),
        ("enquetewacht", s.delay_minutes.to_string()),
        ("enqueteperiode", s.period_days.to_string()),
        ("enqueteantwoord", s.answer_days.to_string()),
        ("enquetepubliek", yes(s.public_threads)),
        ("enquetetemplate", s.whatsapp_template.unwrap_or_default()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The settings in the list, one line each.
pub(crate) fn summary(a: &ChannelAccount) -> String {
    let ooh = OutOfHoursReply::of(&a.settings);
    let s = survey_of(&a.settings);
    let mut lines = vec![format!(
        "Buiten openingstijden: {}",
        if ooh.enabled {
            "automatisch antwoord"
        } else {
            "geen antwoord"
        }
    )];
    lines.push(if s.enabled {
        format!(
            "Onderzoek: {} na {} min, hoogstens 1 per {} dagen",
            s.kind.as_str().to_uppercase(),
            s.delay_minutes,
            s.period_days
        )
    } else {
        "Onderzoek: uit".to_owned()
    });
    if let Some(v) = a
        .settings
        .get("pollIntervalSeconds")
        .and_then(|v| v.as_u64())
    {
        lines.push(format!("Ophalen: elke {v} s"));
    }
    if let Some(u) = &a.callback_url {
        lines.push(format!("Terugroepadres: {u}"));
    }
    if let Some(u) = &a.api_base_url {
        lines.push(format!("API-adres: {u}"));
    }
    lines.join("\n")
}

/// The form input a use case's field name belongs to, for the settings.
pub(crate) fn field_of(name: &str) -> Option<&'static str> {
    Some(match name {
        "apiBaseUrl" => "apibasis",
        "callbackUrl" => "terugroep",
        "pollIntervalSeconds" => "pollen",
        "deleteCheckIntervalSeconds" => "verwijdercontrole",
        "outOfHoursReply.text" => "buitentekst",
        "survey.text" => "enquetetekst",
        "survey.delayMinutes" => "enquetewacht",
        "survey.periodDays" => "enqueteperiode",
        "survey.answerDays" => "enqueteantwoord",
        "survey.whatsappTemplate" => "enquetetemplate",
        n => return INPUTS.iter().find(|(k, _, _)| *k == n).map(|(k, _, _)| *k),
    })
}

/// A use case's message about a settings input, in Dutch (`None`: not one of these).
pub(crate) fn message(field: &str, code: &str, reason: &str) -> Option<String> {
    // The form's own messages are Dutch already.
    if code == "form" {
        return None;
    }
    Some(match (field, code) {
        ("apibasis" | "terugroep", _) => "Vul een volledig http- of https-adres in.".into(),
        ("pollen" | "verwijdercontrole", "not_applicable") => {
            "Alleen X-accounts worden opgehaald; laat dit leeg.".into()
        }
        ("pollen" | "verwijdercontrole", _) => "Minstens 1 seconde.".into(),
        ("enquetetemplate", "not_applicable") => {
            "Alleen WhatsApp-accounts sturen een template; laat dit leeg.".into()
        }
        ("enquetetemplate", _) => "De naam van een goedgekeurde template: kleine letters, \
                                   cijfers en liggende streepjes."
            .into(),
        ("enquetewacht", _) => "Kies 0 tot 1440 minuten.".into(),
        ("enqueteperiode", _) => "Kies 1 tot 365 dagen.".into(),
        ("enqueteantwoord", _) => "Kies 1 tot 30 dagen.".into(),
        ("buitentekst", "unknown_variables") => {
            "Onbekende variabele; gebruik alleen {{volgendeopening}} en {{openingstijden}}.".into()
        }
        ("buitentekst", "too_long") => format!(
            "Ingevuld te lang voor dit kanaal ({}).",
            reason
                .replace("filled in it is about ", "ongeveer ")
                .replace(" characters", " tekens")
                .replace(" replies allow ", "-antwoorden: hoogstens ")
        ),
        ("buitentekst" | "enquetetekst", _) => {
            "Hoogstens 1000 tekens zonder stuurtekens, of laat het leeg voor de standaardtekst."
                .into()
        }
        _ => return None,
    })
}
