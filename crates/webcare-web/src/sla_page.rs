//! Beheer: the SLA norms (`/beheer/sla-normen`, admin). Every policy version with what it
//! matches on (channel, account, theme, kind, priority), its norms in business minutes shown as
//! hours and minutes, the warning threshold and the calendar; add, and edit as a new version
//! from a date (today or later; the past keeps its version), through the use cases the API's
//! `/sla-policies` calls (`webcare_desk::sla_policies`). The page is the Beheer list template
//! (`people_page`); an edit carries the version's `updatedAt`, so a stale form is a conflict.

use crate::calendars_page::effective_from;
use crate::channels_page::calendars;
use crate::format;
use crate::people_page::{pairs, Kind};
use crate::routing_page::{get, priority_label, Fields};
use crate::WebState;
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Europe::Amsterdam;
use uuid::Uuid;
use webcare_api::auth::{roles, Principal};
use webcare_desk::{sla_policies, DeskError, DeskResult, InvalidParam};
use webcare_domain::sla::{MinutesKind, PolicyMatch, SlaPolicy};
use webcare_domain::{CaseKind, ChannelKind, Priority};
use webcare_store::sla::PolicyRecord;
use webcare_store::PageRequest;

/// A policy version with the names of its calendar and account, and when any version of the
/// policy last changed (the form's version).
pub struct PolicyRow {
    rec: PolicyRecord,
    calendar: String,
    account: String,
    changed: Option<DateTime<Utc>>,
}

const COUNTING: [(&str, &str); 2] = [
    ("business", "Werktijd: alleen binnen openingstijden"),
    ("calendar", "Alle minuten, ook buiten openingstijden"),
];

/// `4 u 30 min`, `4 u`, `30 min`; `geen` without a norm.
fn hours(m: Option<u32>) -> String {
    match m {
        None => "geen".into(),
        Some(m) if m % 60 == 0 => format!("{} u", m / 60),
        Some(m) if m < 60 => format!("{m} min"),
        Some(m) => format!("{} u {} min", m / 60, m % 60),
    }
}

/// The form's `uren:minuten` of a norm.
fn hours_field(m: Option<u32>) -> String {
    m.map(|m| format!("{}:{:02}", m / 60, m % 60))
        .unwrap_or_default()
}

/// `4:30`, `4` (hours) or empty (no norm) as minutes.
fn minutes(f: &Fields, key: &str) -> DeskResult<Option<u32>> {
    let v = get(f, key).trim();
    if v.is_empty() {
        return Ok(None);
    }
    let (h, m) = v.split_once(':').unwrap_or((v, "0"));
    let parsed = match (h.trim().parse::<u32>(), m.trim().parse::<u32>()) {
        (Ok(h), Ok(m)) if m < 60 => h.checked_mul(60).and_then(|h| h.checked_add(m)),
        _ => None,
    };
    parsed.map(Some).ok_or_else(|| {
        DeskError::invalid(
            key,
            "form",
            "Schrijf de termijn als uren:minuten, bijvoorbeeld 4:00 of 0:30.",
        )
    })
}

fn choice<T: std::str::FromStr>(f: &Fields, key: &str) -> DeskResult<Option<T>> {
    match get(f, key) {
        "" => Ok(None),
        v => v
            .parse()
            .map(Some)
            .map_err(|_| DeskError::invalid(key, "form", "Kies uit de lijst.")),
    }
}

impl PolicyRow {
    /// What the version matches on, in Dutch.
    fn matches(&self) -> String {
        let m = &self.rec.policy.r#match;
        let mut parts = Vec::new();
        if let Some(k) = m.channel_kind {
            parts.push(format!("kanaal {}", format::channel(k)));
        }
        if m.channel_account_id.is_some() {
            parts.push(format!("account {}", self.account));
        }
        if let Some(t) = &m.theme {
            parts.push(format!("thema '{t}'"));
        }
        if let Some(k) = m.kind {
            parts.push(format!("rubriek {}", format::kind(k)));
        }
        if let Some(p) = m.priority {
            parts.push(format!("prioriteit {}", priority_label(p)));
        }
        if parts.is_empty() {
            "elke zaak".into()
        } else {
            parts.join("\n")
        }
    }
}

fn since(t: DateTime<Utc>) -> String {
    if t <= DateTime::<Utc>::UNIX_EPOCH {
        "altijd".into()
    } else {
        format::datetime(t)
    }
}

impl Kind for PolicyRow {
    type Readers = roles::AdminOnly;
    type Writers = roles::AdminOnly;
    const BASE: &'static str = "/beheer/sla-normen";
    const TITLE: &'static str = "SLA-normen";
    const CAPTION: &'static str =
        "De normen per soort zaak, in volgorde: de eerste die op een zaak past, geldt";
    const NEW: &'static str = "Nieuwe norm";
    const EDIT: &'static str = "Norm wijzigen (een nieuwe versie)";
    const HEADERS: &'static [&'static str] = &[
        "Naam",
        "Volgorde",
        "Geldt voor",
        "Reactie",
        "Afhandeling",
        "Vakafdeling",
        "Waarschuwen bij",
        "Kalender",
        "Geldig vanaf",
    ];
    const INPUTS: &'static [(&'static str, &'static str, &'static str)] = &[
        ("naam", "Naam (vast na het aanmaken)", "text"),
        (
            "volgorde",
            "Volgorde (lager gaat voor; de eerste norm die past, geldt)",
            "number",
        ),
        ("kanaal", "Geldt voor kanaal", "select"),
        ("account", "Geldt voor account", "select"),
        ("thema", "Geldt voor thema (leeg: elk thema)", "text"),
        ("rubriek", "Geldt voor rubriek", "select"),
        ("prioriteit", "Geldt voor prioriteit", "select"),
        (
            "reactie",
            "Reactietermijn in uren:minuten (bijvoorbeeld 4:00; leeg: geen)",
            "text",
        ),
        (
            "afhandeling",
            "Afhandeltermijn in uren:minuten (bijvoorbeeld 40:00; leeg: geen)",
            "text",
        ),
        (
            "vakafdeling",
            "Termijn van de vakafdeling in uren:minuten (leeg: geen)",
            "text",
        ),
        ("telwijze", "De termijnen tellen", "select"),
        (
            "waarschuwing",
            "Waarschuwen na dit deel van de termijn, in procenten (1 tot 99)",
            "number",
        ),
        ("kalender", "Kalender met de openingstijden", "select"),
        (
            "vanaf",
            "Geldig vanaf (vandaag of later; leeg: meteen)",
            "date",
        ),
    ];

    async fn list(web: &WebState) -> DeskResult<Vec<Self>> {
        let all = web.app.store.list_policies().await?;
        let calendars = calendars(web).await?;
        let page = PageRequest {
            limit: 200,
            ..Default::default()
        };
        let accounts = web.app.store.list_channel_accounts(page).await?.items;
        let changed: Vec<_> = all
            .iter()
            .map(|p| sla_policies::last_change(&all, &p.policy.name))
            .collect();
        Ok(all
            .into_iter()
            .zip(changed)
            .map(|(rec, changed)| {
                let calendar = match rec.policy.calendar_id {
                    None => "die van het kanaal".to_owned(),
                    Some(id) => calendars
                        .iter()
                        .find(|(c, _)| *c == id.to_string())
                        .map_or_else(|| id.to_string(), |(_, n)| n.clone()),
                };
                let account = rec
                    .policy
                    .r#match
                    .channel_account_id
                    .and_then(|id| accounts.iter().find(|a| a.id == id))
                    .map(|a| a.name.clone())
                    .unwrap_or_default();
                PolicyRow {
                    rec,
                    calendar,
                    account,
                    changed,
                }
            })
            .collect())
    }

    fn id(&self) -> Uuid {
        self.rec.id
    }

    fn name(&self) -> String {
        format!(
            "{}, vanaf {}",
            self.rec.policy.name,
            since(self.rec.policy.effective_from)
        )
    }

    fn cells(&self) -> Vec<String> {
        let p = &self.rec.policy;
        let counting = match p.minutes_kind {
            MinutesKind::Business => "",
            MinutesKind::Calendar => " (alle minuten)",
        };
        vec![
            p.name.clone(),
            p.order.to_string(),
            self.matches(),
            format!("{}{counting}", hours(p.reaction_minutes)),
            format!("{}{counting}", hours(p.resolution_minutes)),
            format!("{}{counting}", hours(p.department_minutes)),
            format!("{} %", (p.warning_at * 100.0).round()),
            self.calendar.clone(),
            since(p.effective_from),
        ]
    }

    fn fields(&self) -> Fields {
        let p = &self.rec.policy;
        let m = &p.r#match;
        let text = |v: Option<String>| v.unwrap_or_default();
        // A version still to come keeps its own date; else a change applies from now.
        let from = Some(p.effective_from)
            .filter(|t| *t > Utc::now())
            .map(|t| crate::format::date_input(t.with_timezone(&Amsterdam).date_naive()));
        let counting = match p.minutes_kind {
            MinutesKind::Business => "business",
            MinutesKind::Calendar => "calendar",
        };
        vec![
            ("naam".into(), p.name.clone()),
            ("volgorde".into(), p.order.to_string()),
            ("kanaal".into(), text(m.channel_kind.map(|k| k.to_string()))),
            (
                "account".into(),
                text(m.channel_account_id.map(|a| a.to_string())),
            ),
            ("thema".into(), text(m.theme.clone())),
            ("rubriek".into(), text(m.kind.map(|k| k.to_string()))),
            ("prioriteit".into(), text(m.priority.map(|k| k.to_string()))),
            ("reactie".into(), hours_field(p.reaction_minutes)),
            ("afhandeling".into(), hours_field(p.resolution_minutes)),
            ("vakafdeling".into(), hours_field(p.department_minutes)),
            ("telwijze".into(), counting.into()),
            (
                "waarschuwing".into(),
                format!("{}", (p.warning_at * 100.0).round()),
            ),
            (
                "kalender".into(),
                text(p.calendar_id.map(|c| c.to_string())),
            ),
            ("vanaf".into(), from.unwrap_or_default()),
            (
                "versie".into(),
                self.changed
                    .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
                    .unwrap_or_default(),
            ),
        ]
    }

    async fn options(web: &WebState, key: &str) -> DeskResult<Vec<(String, String)>> {
        let any = |label: &str| std::iter::once((String::new(), label.to_owned()));
        Ok(match key {
            "kanaal" => any("Elk kanaal")
                .chain(
                    ChannelKind::ALL
                        .iter()
                        .map(|k| (k.to_string(), format::channel(*k).to_owned())),
                )
                .collect(),
            "account" => {
                let page = PageRequest {
                    limit: 200,
                    ..Default::default()
                };
                let all = web.app.store.list_channel_accounts(page).await?.items;
                any("Elk account")
                    .chain(all.into_iter().map(|a| (a.id.to_string(), a.name)))
                    .collect()
            }
            "rubriek" => any("Elke rubriek")
                .chain(
                    CaseKind::ALL
                        .iter()
                        .map(|k| (k.to_string(), format::kind(*k).to_owned())),
                )
                .collect(),
            "prioriteit" => any("Elke prioriteit")
                .chain(
                    Priority::ALL
                        .iter()
                        .map(|p| (p.to_string(), priority_label(*p).to_owned())),
                )
                .collect(),
            "telwijze" => pairs(&COUNTING),
            "kalender" => any("Die van het kanaal")
                .chain(calendars(web).await?)
                .collect(),
            _ => Vec::new(),
        })
    }

    fn field_of(name: &str) -> &'static str {
        match name {
            "order" | "volgorde" => "volgorde",
            "match.theme" | "thema" => "thema",
            "reactionMinutes" | "reactie" => "reactie",
            "resolutionMinutes" | "afhandeling" => "afhandeling",
            "departmentMinutes" | "vakafdeling" => "vakafdeling",
            "warningAt" | "waarschuwing" => "waarschuwing",
            "calendarId" | "kalender" => "kalender",
            "effectiveFrom" | "vanaf" => "vanaf",
            "kanaal" => "kanaal",
            "account" => "account",
            "rubriek" => "rubriek",
            "prioriteit" => "prioriteit",
            _ => "naam",
        }
    }

    fn clash() -> Option<(&'static str, &'static str)> {
        Some((
            "vanaf",
            "Er is al een versie van deze norm vanaf deze datum.",
        ))
    }

    async fn save(web: &WebState, p: &Principal, id: Option<Uuid>, f: &Fields) -> DeskResult<()> {
        let current = match id {
            Some(id) => Some(
                web.app
                    .store
                    .get_policy(id)
                    .await?
                    .ok_or_else(|| DeskError::NotFound("SLA policy".into()))?,
            ),
            None => None,
        };
        // Every problem of the form at once (the domain's come after these are fixed).
        let mut errors = Vec::new();
        let order = get(f, "volgorde").trim().parse::<i32>().map_err(|_| {
            DeskError::invalid(
                "volgorde",
                "form",
                "Vul een heel getal in, bijvoorbeeld 10.",
            )
        });
        let order = ok(order, &mut errors);
        let warning_at = match get(f, "waarschuwing").trim() {
            "" => Ok(webcare_domain::sla::policy::DEFAULT_WARNING_AT),
            v => v
                .replace(',', ".")
                .parse::<f64>()
                .map(|v| v / 100.0)
                .map_err(|_| {
                    DeskError::invalid(
                        "waarschuwing",
                        "form",
                        "Vul een percentage in, bijvoorbeeld 80.",
                    )
                }),
        };
        let warning_at = ok(warning_at, &mut errors);
        let effective_from = ok(effective_from(f, Amsterdam, Utc::now()), &mut errors);
        let r = ok(minutes(f, "reactie"), &mut errors);
        let s = ok(minutes(f, "afhandeling"), &mut errors);
        let d = ok(minutes(f, "vakafdeling"), &mut errors);
        let channel_kind = ok(choice::<ChannelKind>(f, "kanaal"), &mut errors);
        let account = ok(choice::<Uuid>(f, "account"), &mut errors);
        let kind = ok(choice::<CaseKind>(f, "rubriek"), &mut errors);
        let priority = ok(choice::<Priority>(f, "prioriteit"), &mut errors);
        let calendar = ok(choice::<Uuid>(f, "kalender"), &mut errors);
        let (
            Some(order),
            Some(warning_at),
            Some(effective_from),
            Some(r),
            Some(s),
            Some(d),
            Some(channel_kind),
            Some(account),
            Some(kind),
            Some(priority),
            Some(calendar),
        ) = (
            order,
            warning_at,
            effective_from,
            r,
            s,
            d,
            channel_kind,
            account,
            kind,
            priority,
            calendar,
        )
        else {
            return Err(DeskError::Invalid(errors));
        };
        let policy = SlaPolicy {
            name: match &current {
                Some(c) => c.policy.name.clone(),
                None => get(f, "naam").trim().to_owned(),
            },
            order,
            r#match: PolicyMatch {
                channel_kind,
                channel_account_id: account,
                theme: Some(get(f, "thema").trim().to_owned()).filter(|t| !t.is_empty()),
                kind,
                priority,
            },
            calendar_id: calendar,
            reaction_minutes: r,
            resolution_minutes: s,
            department_minutes: d,
            minutes_kind: match get(f, "telwijze") {
                "calendar" => MinutesKind::Calendar,
                _ => MinutesKind::Business,
            },
            warning_at,
            effective_from,
        };
        match current {
            None => sla_policies::create_policy(&web.app, p, policy).await?,
            Some(c) => {
                let seen = DateTime::parse_from_rfc3339(get(f, "versie"))
                    .ok()
                    .map(|t| t.with_timezone(&Utc));
                sla_policies::put_policy(&web.app, p, c.id, policy, seen).await?
            }
        };
        Ok(())
    }
}

/// The value, or `None` with the refusal kept in `errors`.
fn ok<T>(r: DeskResult<T>, errors: &mut Vec<InvalidParam>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(DeskError::Invalid(ps)) => {
            errors.extend(ps);
            None
        }
        Err(_) => None,
    }
}
