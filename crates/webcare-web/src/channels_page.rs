//! Beheer: the channel accounts (`/beheer/kanalen`, admin). The admin adds, changes and
//! deletes (after a question) the accounts through the use cases the API's `/channel-accounts`
//! calls (`webcare_desk::channel_accounts`). Secrets are write-only: the page says only whether
//! each is set, a password box left empty keeps the stored one. The page is the Beheer list
//! template (`people_page`); an edit carries the account's `updatedAt`, so a stale form is a
//! conflict. Switching an account off, its URLs, X's poll intervals, the out-of-hours reply and
//! the survey are the settings inputs (`channel_settings`).

use crate::channel_settings::{self, optional, INPUTS as SETTINGS};
use crate::format;
use crate::people_page::Kind;
use crate::routing_page::{get, Fields};
use crate::WebState;
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::BTreeMap;
use uuid::Uuid;
use webcare_api::auth::{roles, Principal};
use webcare_desk::channel_accounts::{self, credential_keys, AccountChange, NewAccount};
use webcare_desk::{DeskError, DeskResult};
use webcare_domain::ChannelKind;
use webcare_store::records::ChannelAccount;
use webcare_store::PageRequest;

/// Every credential key any platform takes, with where it is used; the form's password boxes
/// are named after the keys.
const SECRETS: [(&str, &str); 8] = [
    ("appSecret", "App secret (Facebook, Instagram, WhatsApp)"),
    (
        "verifyToken",
        "Verify token (Facebook, Instagram, WhatsApp)",
    ),
    (
        "accessToken",
        "Access token (Facebook, Instagram, WhatsApp, X)",
    ),
    ("bearerToken", "Bearer token (X)"),
    ("consumerKey", "Consumer key (X, OAuth 1.0a)"),
    ("consumerSecret", "Consumer secret (X)"),
    ("accessTokenSecret", "Access token secret (X, OAuth 1.0a)"),
    ("webhookSecret", "Webhookgeheim (API)"),
];

/// An account with the names of its calendar.
pub struct AccountRow {
    account: ChannelAccount,
    calendar: String,
}

/// The calendars as (id, name).
pub(crate) async fn calendars(web: &WebState) -> DeskResult<Vec<(String, String)>> {
    let page = PageRequest {
        limit: 200,
        ..Default::default()
    };
    let all = web.app.store.list_calendars(page).await?.items;
    Ok(all
        .into_iter()
        .map(|c| (c.id.to_string(), c.name))
        .collect())
}

/// Whether the account has what its platform needs to receive and to answer.
fn ready(a: &ChannelAccount) -> bool {
    let set = |k: &str| a.credentials.get(k).is_some_and(|v| !v.is_empty());
    match a.kind {
        ChannelKind::X => set("bearerToken") || set("accessToken"),
        k => credential_keys(k).iter().all(|k| set(k)),
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The password boxes filled in: a box left empty keeps the stored secret.
fn secrets(f: &Fields) -> BTreeMap<String, String> {
    SECRETS
        .iter()
        .map(|(k, _)| (k.to_string(), get(f, k).trim().to_owned()))
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

fn calendar_id(f: &Fields) -> DeskResult<Option<Uuid>> {
    match get(f, "kalender") {
        "" => Ok(None),
        v => Uuid::parse_str(v)
            .map(Some)
            .map_err(|_| DeskError::invalid("kalender", "form", "Kies een kalender.")),
    }
}

impl Kind for AccountRow {
    type Readers = roles::AdminOnly;
    type Writers = roles::AdminOnly;
    const DELETABLE: bool = true;
    const CONFIRM_DELETE: bool = true;
    const DELETE_EXPLAIN: &'static str = "De desk ontvangt dan geen berichten meer van dit \
        account en kan er niet meer op antwoorden. De zaken en berichten blijven bewaard.";
    const BASE: &'static str = "/beheer/kanalen";
    const TITLE: &'static str = "Kanalen";
    const CAPTION: &'static str = "De accounts waarop de desk berichten ontvangt";
    const NEW: &'static str = "Nieuw account";
    const EDIT: &'static str = "Account bewerken";
    const HEADERS: &'static [&'static str] = &[
        "Platform",
        "Naam",
        "Extern id",
        "Kalender",
        "Team",
        "Status",
        "Geheimen",
        "Instellingen",
    ];
    const INPUTS: &'static [(&'static str, &'static str, &'static str)] = &[
        ("platform", "Platform (vast na het aanmaken)", "select"),
        ("naam", "Naam", "text"),
        (
            "extern",
            "Extern id (pagina-id, account-id, telefoonnummer-id of X-gebruikers-id)",
            "text",
        ),
        ("kalender", "Kalender met de openingstijden", "select"),
        ("team", "Team dat nieuwe zaken krijgt", "select"),
        (SECRETS[0].0, SECRETS[0].1, "password"),
        (SECRETS[1].0, SECRETS[1].1, "password"),
        (SECRETS[2].0, SECRETS[2].1, "password"),
        (SECRETS[3].0, SECRETS[3].1, "password"),
        (SECRETS[4].0, SECRETS[4].1, "password"),
        (SECRETS[5].0, SECRETS[5].1, "password"),
        (SECRETS[6].0, SECRETS[6].1, "password"),
        (SECRETS[7].0, SECRETS[7].1, "password"),
        SETTINGS[0],
        SETTINGS[1],
        SETTINGS[2],
        SETTINGS[3],
        SETTINGS[4],
        SETTINGS[5],
        SETTINGS[6],
        SETTINGS[7],
        SETTINGS[8],
        SETTINGS[9],
        SETTINGS[10],
        SETTINGS[11],
        SETTINGS[12],
        SETTINGS[13],
        SETTINGS[14],
    ];

    async fn list(web: &WebState) -> DeskResult<Vec<Self>> {
        let page = PageRequest {
            limit: 200,
            ..Default::default()
        };
        let accounts = web.app.store.list_channel_accounts(page).await?.items;
        let calendars = calendars(web).await?;
        Ok(accounts
            .into_iter()
            .map(|account| AccountRow {
                calendar: account
                    .calendar_id
                    .and_then(|id| calendars.iter().find(|(c, _)| *c == id.to_string()))
                    .map_or_else(|| "standaard".to_owned(), |(_, n)| n.clone()),
                account,
            })
            .collect())
    }

    fn id(&self) -> Uuid {
        self.account.id
    }

    fn name(&self) -> String {
        self.account.name.clone()
    }

    fn cells(&self) -> Vec<String> {
        let a = &self.account;
        let secrets: Vec<String> = credential_keys(a.kind)
            .iter()
            .map(|k| {
                let set = a.credentials.get(k).is_some_and(|v| !v.is_empty());
                format!("{k}: {}", if set { "ingesteld" } else { "niet ingesteld" })
            })
            .collect();
        vec![
            format::channel(a.kind).to_owned(),
            a.name.clone(),
            a.external_id.clone(),
            self.calendar.clone(),
            a.default_team.clone().unwrap_or_else(|| "geen".into()),
            match (a.enabled, ready(a)) {
                (false, _) => "uitgeschakeld",
                (true, true) => "gereed",
                (true, false) => "onvolledig",
            }
            .to_owned(),
            secrets.join("\n"),
            channel_settings::summary(a),
        ]
    }

    fn fields(&self) -> Fields {
        let a = &self.account;
        let mut f: Fields = vec![
            ("platform".into(), a.kind.as_str().to_owned()),
            ("naam".into(), a.name.clone()),
            ("extern".into(), a.external_id.clone()),
            (
                "kalender".into(),
                a.calendar_id.map(|c| c.to_string()).unwrap_or_default(),
            ),
            ("team".into(), a.default_team.clone().unwrap_or_default()),
            ("versie".into(), stamp(a.updated_at)),
        ];
        f.extend(channel_settings::fields(a));
        f
    }

    async fn options(web: &WebState, key: &str) -> DeskResult<Vec<(String, String)>> {
        if let Some(o) = channel_settings::options(key) {
            return Ok(o);
        }
        let none = |label: &str| (String::new(), label.to_owned());
        Ok(match key {
            "platform" => ChannelKind::ALL
                .iter()
                .map(|k| (k.as_str().to_owned(), format::channel(*k).to_owned()))
                .collect(),
            "kalender" => std::iter::once(none("Standaard (werkdagen 08:30-17:00)"))
                .chain(calendars(web).await?)
                .collect(),
            "team" => {
                let teams = web.app.store.list_teams(None, 200).await?.items;
                std::iter::once(none("Geen"))
                    .chain(teams.into_iter().map(|t| (t.name.clone(), t.name)))
                    .collect()
            }
            _ => Vec::new(),
        })
    }

    fn field_of(name: &str) -> &'static str {
        match name {
            "externalId" | "extern" => "extern",
            "kalender" | "calendarId" => "kalender",
            "platform" | "kind" => "platform",
            "credentials" => "consumerKey",
            n => channel_settings::field_of(n).unwrap_or_else(|| {
                n.strip_prefix("credentials.")
                    .and_then(|k| SECRETS.iter().find(|(s, _)| *s == k))
                    .map_or("naam", |(s, _)| s)
            }),
        }
    }

    fn clash() -> Option<(&'static str, &'static str)> {
        Some((
            "extern",
            "Er is al een account van dit platform met dit externe id.",
        ))
    }

    async fn save(web: &WebState, p: &Principal, id: Option<Uuid>, f: &Fields) -> DeskResult<()> {
        let creds = secrets(f);
        let set = channel_settings::read(f)?;
        match id {
            None => {
                let kind = get(f, "platform")
                    .parse::<ChannelKind>()
                    .map_err(|_| DeskError::invalid("platform", "form", "Kies een platform."))?;
                let new = NewAccount {
                    kind,
                    name: get(f, "naam").to_owned(),
                    external_id: get(f, "extern").trim().to_owned(),
                    api_base_url: set.api_base_url,
                    credentials: creds,
                    callback_url: set.callback_url,
                    calendar_id: calendar_id(f)?,
                    default_team: optional(get(f, "team")),
                    poll_interval_seconds: set.poll_interval_seconds,
                    delete_check_interval_seconds: set.delete_check_interval_seconds,
                    out_of_hours_reply: Some(set.out_of_hours_reply),
                    survey: Some(set.survey),
                };
                let made = channel_accounts::create_account(&web.app, p, new).await?;
                // An account is made switched on; one made "off" is switched off at once.
                if !set.enabled {
                    let off = AccountChange {
                        enabled: Some(false),
                        ..Default::default()
                    };
                    channel_accounts::update_account(&web.app, p, made.id, off).await?;
                }
            }
            Some(id) => {
                let change = AccountChange {
                    name: Some(get(f, "naam").to_owned()),
                    external_id: Some(get(f, "extern").trim().to_owned()),
                    credentials: (!creds.is_empty()).then_some(creds),
                    calendar_id: Some(calendar_id(f)?),
                    default_team: Some(optional(get(f, "team"))),
                    api_base_url: Some(set.api_base_url),
                    callback_url: Some(set.callback_url),
                    poll_interval_seconds: set.poll_interval_seconds,
                    delete_check_interval_seconds: set.delete_check_interval_seconds,
                    out_of_hours_reply: Some(set.out_of_hours_reply),
                    survey: Some(set.survey),
                    enabled: Some(set.enabled),
                    seen: DateTime::parse_from_rfc3339(get(f, "versie"))
                        .ok()
                        .map(|t| t.with_timezone(&Utc)),
                };
                channel_accounts::update_account(&web.app, p, id, change).await?;
            }
        }
        Ok(())
    }

    async fn delete(web: &WebState, p: &Principal, id: Uuid) -> DeskResult<()> {
        channel_accounts::delete_account(&web.app, p, id).await
    }
}
