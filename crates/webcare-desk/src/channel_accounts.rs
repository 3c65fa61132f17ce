//! Channel accounts (admin): connecting, changing and disconnecting them, for the API's
//! `/channel-accounts` and the web app's Beheer page. Credentials are write-only: they go into
//! the store and are never answered back (only which keys are set).

use crate::auto_reply::{self, OutOfHoursReply};
use crate::error::{DeskError, DeskResult, InvalidParam};
use crate::patch::double_option;
use crate::people::audit;
use crate::principal::Principal;
use crate::Desk;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;
use uuid::Uuid;
use webcare_domain::inbound::MAX_ID_CHARS;
use webcare_domain::survey::{self, SurveySettings};
use webcare_domain::{ChannelKind, Role};
use webcare_store::records::{self as rec, ChannelAccount};

/// Credential keys each kind accepts; anything else is refused so a typo cannot go unnoticed.
pub fn credential_keys(kind: ChannelKind) -> &'static [&'static str] {
    match kind {
        ChannelKind::FacebookPage | ChannelKind::Instagram | ChannelKind::Whatsapp => {
            &["appSecret", "verifyToken", "accessToken"]
        }
        ChannelKind::X => &[
            "bearerToken",
            "consumerKey",
            "consumerSecret",
            "accessToken",
            "accessTokenSecret",
        ],
        ChannelKind::Api => &["webhookSecret"],
    }
}

// A new account as a door submits it (the API's `NewChannelAccount` body). No `Debug`: it holds
// secrets, which are never logged. (Plain comments: a doc comment would become the schema's
// description.) A missing `Option` field is `None` without `#[serde(default)]`.
#[derive(Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = NewChannelAccount))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAccount {
    pub kind: ChannelKind,
    pub name: String,
    /// Page id, Instagram account id, WhatsApp phone_number_id, X user id, or any id for `api`.
    pub external_id: String,
    pub api_base_url: Option<String>,
    /// Write-only: never returned.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credentials: BTreeMap<String, String>,
    pub callback_url: Option<String>,
    pub calendar_id: Option<Uuid>,
    pub default_team: Option<String>,
    pub poll_interval_seconds: Option<u32>,
    pub delete_check_interval_seconds: Option<u32>,
    /// The out-of-hours auto-reply (default off).
    pub out_of_hours_reply: Option<OutOfHoursReply>,
    /// The satisfaction survey after resolving (default off).
    pub survey: Option<SurveySettings>,
}

// A change (the API's `ChannelAccountPatch` body): absent fields stay; `Some(None)` clears an
// optional one; credential keys given are set, the others keep their stored value. No `Debug`:
// it may hold secrets.
#[derive(Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ChannelAccountPatch))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountChange {
    pub name: Option<String>,
    pub external_id: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub api_base_url: Option<Option<String>>,
    /// Keys given are set; keys not given keep their stored value.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub credentials: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub callback_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Uuid>))]
    pub calendar_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub default_team: Option<Option<String>>,
    pub poll_interval_seconds: Option<u32>,
    pub delete_check_interval_seconds: Option<u32>,
    /// Replaces the out-of-hours auto-reply setting as a whole.
    pub out_of_hours_reply: Option<OutOfHoursReply>,
    /// Replaces the satisfaction survey setting as a whole.
    pub survey: Option<SurveySettings>,
    /// `false` switches the account off: it is not polled and replies through it are refused;
    /// deliveries its platform pushes still become cases. `true` switches it on again.
    pub enabled: Option<bool>,
    // When the editor's copy was last changed (a form; never in a JSON body): a later change
    // makes this one a conflict, so an edit made on an out-of-date page never overwrites a
    // newer one.
    #[serde(skip)]
    pub seen: Option<DateTime<Utc>>,
}

/// A free-text id: set, not too long, no control characters.
pub fn check_id(errs: &mut Vec<InvalidParam>, name: &str, v: &str) {
    crate::people::check_text(errs, name, v, MAX_ID_CHARS);
}

pub fn check_url(errs: &mut Vec<InvalidParam>, name: &str, v: &str) {
    match url::Url::parse(v) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        _ => errs.push(InvalidParam::new(
            name,
            "invalid_url",
            "must be an absolute http(s) URL",
        )),
    }
}

/// The account fields a create or a change sets, borrowed for validation.
struct AccountFields<'a> {
    kind: ChannelKind,
    name: Option<&'a str>,
    external_id: Option<&'a str>,
    api_base_url: Option<&'a str>,
    callback_url: Option<&'a str>,
    credentials: Option<&'a BTreeMap<String, String>>,
    poll_interval_seconds: Option<u32>,
    delete_check_interval_seconds: Option<u32>,
    out_of_hours_reply: Option<&'a OutOfHoursReply>,
    survey: Option<&'a SurveySettings>,
}

/// Every invalid field of a new account or a change, named.
fn check_account_fields(f: AccountFields<'_>) -> DeskResult<()> {
    let AccountFields {
        kind,
        name,
        external_id,
        api_base_url,
        callback_url,
        credentials,
        poll_interval_seconds,
        delete_check_interval_seconds,
        out_of_hours_reply,
        survey,
    } = f;
    let mut invalid = Vec::new();
    let errs = &mut invalid;
    if let Some(s) = survey {
        for (name, code, reason) in s.problems() {
            errs.push(InvalidParam::new(name, code, reason));
        }
        if s.whatsapp_template.is_some() && kind != ChannelKind::Whatsapp {
            errs.push(InvalidParam::new(
                "survey.whatsappTemplate",
                "not_applicable",
                "only WhatsApp accounts send templates",
            ));
        }
    }
    if let Some(o) = out_of_hours_reply {
        for (name, code, reason) in o.problems(kind) {
            errs.push(InvalidParam::new(name, code, reason));
        }
    }
    if let Some(n) = name {
        if n.trim().is_empty() || n.chars().count() > 200 {
            errs.push(InvalidParam::new("name", "invalid", "1 to 200 characters"));
        }
    }
    if let Some(e) = external_id {
        check_id(errs, "externalId", e);
    }
    if let Some(u) = api_base_url {
        check_url(errs, "apiBaseUrl", u);
    }
    if let Some(u) = callback_url {
        check_url(errs, "callbackUrl", u);
    }
    if let Some(creds) = credentials {
        let allowed = credential_keys(kind);
        for k in creds.keys() {
            if !allowed.contains(&k.as_str()) {
                errs.push(InvalidParam::new(
                    format!("credentials.{k}"),
                    "unknown_key",
                    format!("{kind} accounts take: {}", allowed.join(", ")),
                ));
            }
        }
        if kind == ChannelKind::X && incomplete_oauth1(creds) {
            errs.push(InvalidParam::new(
                "credentials",
                "incomplete",
                "OAuth 1.0a needs all four of consumerKey, consumerSecret, accessToken and accessTokenSecret",
            ));
        }
    }
    let intervals = [
        ("pollIntervalSeconds", poll_interval_seconds),
        ("deleteCheckIntervalSeconds", delete_check_interval_seconds),
    ];
    for (name, v) in intervals {
        if v.is_some() && kind != ChannelKind::X {
            errs.push(InvalidParam::new(
                name,
                "not_applicable",
                "only X accounts are polled",
            ));
        }
        if v == Some(0) {
            errs.push(InvalidParam::new(name, "out_of_range", "at least 1 second"));
        }
    }
    if invalid.is_empty() {
        Ok(())
    } else {
        Err(DeskError::Invalid(invalid))
    }
}

/// The out-of-hours reply, where one is set, in an account's settings.
fn set_out_of_hours_reply(settings: &mut rec::AccountSettings, reply: Option<&OutOfHoursReply>) {
    if let Some(o) = reply {
        settings.insert(
            auto_reply::SETTING.into(),
            serde_json::to_value(o).unwrap_or_default(),
        );
    }
}

/// The survey setting, where one is set, in an account's settings.
fn set_survey(settings: &mut rec::AccountSettings, s: Option<&SurveySettings>) {
    if let Some(s) = s {
        settings.insert(
            survey::SETTING.into(),
            serde_json::to_value(s).unwrap_or_default(),
        );
    }
}

/// An account's survey setting (off when absent or unreadable, never an error).
pub fn survey_of(settings: &rec::AccountSettings) -> SurveySettings {
    settings
        .get(survey::SETTING)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// `consumerKey` or `accessTokenSecret` only make sense as part of the full OAuth 1.0a set
/// (`consumerSecret` alone is the Account Activity webhook secret; `accessToken` alone an OAuth
/// 2.0 token).
fn incomplete_oauth1(creds: &BTreeMap<String, String>) -> bool {
    let set = |k: &str| creds.get(k).is_some_and(|v| !v.is_empty());
    (creds.contains_key("consumerKey") || creds.contains_key("accessTokenSecret"))
        && ![
            "consumerKey",
            "consumerSecret",
            "accessToken",
            "accessTokenSecret",
        ]
        .into_iter()
        .all(set)
}

fn interval_settings(poll: Option<u32>, delete: Option<u32>) -> rec::AccountSettings {
    let mut s = rec::AccountSettings::new();
    if let Some(v) = poll {
        s.insert("pollIntervalSeconds".into(), v.into());
    }
    if let Some(v) = delete {
        s.insert("deleteCheckIntervalSeconds".into(), v.into());
    }
    s
}

impl NewAccount {
    /// The record to store, or every invalid field.
    pub fn into_record(self) -> DeskResult<rec::NewChannelAccount> {
        check_account_fields(AccountFields {
            kind: self.kind,
            name: Some(&self.name),
            external_id: Some(&self.external_id),
            api_base_url: self.api_base_url.as_deref(),
            callback_url: self.callback_url.as_deref(),
            credentials: Some(&self.credentials),
            poll_interval_seconds: self.poll_interval_seconds,
            delete_check_interval_seconds: self.delete_check_interval_seconds,
            out_of_hours_reply: self.out_of_hours_reply.as_ref(),
            survey: self.survey.as_ref(),
        })?;
        let mut settings = rec::AccountSettings::new();
        if self.kind == ChannelKind::X {
            // Defaults made explicit, so what the poller uses is what the API shows.
            settings = interval_settings(
                Some(self.poll_interval_seconds.unwrap_or(60)),
                Some(self.delete_check_interval_seconds.unwrap_or(900)),
            );
        }
        set_out_of_hours_reply(&mut settings, self.out_of_hours_reply.as_ref());
        set_survey(&mut settings, self.survey.as_ref());
        Ok(rec::NewChannelAccount {
            kind: self.kind,
            name: self.name.trim().to_owned(),
            external_id: self.external_id,
            api_base_url: self.api_base_url,
            credentials: rec::Credentials(self.credentials),
            callback_url: self.callback_url,
            calendar_id: self.calendar_id,
            default_team: self.default_team,
            settings,
        })
    }
}

impl AccountChange {
    /// The patch to store on an account of `kind`, or every invalid field.
    pub fn into_record(self, kind: ChannelKind) -> DeskResult<rec::ChannelAccountPatch> {
        check_account_fields(AccountFields {
            kind,
            name: self.name.as_deref(),
            external_id: self.external_id.as_deref(),
            api_base_url: self.api_base_url.as_ref().and_then(|o| o.as_deref()),
            callback_url: self.callback_url.as_ref().and_then(|o| o.as_deref()),
            credentials: self.credentials.as_ref(),
            poll_interval_seconds: self.poll_interval_seconds,
            delete_check_interval_seconds: self.delete_check_interval_seconds,
            out_of_hours_reply: self.out_of_hours_reply.as_ref(),
            survey: self.survey.as_ref(),
        })?;
        let mut settings = interval_settings(
            self.poll_interval_seconds,
            self.delete_check_interval_seconds,
        );
        set_out_of_hours_reply(&mut settings, self.out_of_hours_reply.as_ref());
        set_survey(&mut settings, self.survey.as_ref());
        Ok(rec::ChannelAccountPatch {
            name: self.name.map(|n| n.trim().to_owned()),
            external_id: self.external_id,
            api_base_url: self.api_base_url,
            credentials: self.credentials.map(rec::Credentials),
            callback_url: self.callback_url,
            calendar_id: self.calendar_id,
            default_team: self.default_team,
            settings: (!settings.is_empty()).then_some(settings),
            enabled: self.enabled,
        })
    }
}

async fn audit_account(desk: &Desk, p: &Principal, action: &str, id: Uuid) -> DeskResult<()> {
    audit(
        desk,
        p,
        action,
        serde_json::json!({ "channelAccountId": id }),
    )
    .await
}

/// Connects an account.
pub async fn create_account(
    desk: &Desk,
    p: &Principal,
    new: NewAccount,
) -> DeskResult<ChannelAccount> {
    p.require(&[Role::Admin])?;
    let account = desk
        .store
        .create_channel_account(new.into_record()?)
        .await?;
    audit_account(desk, p, "channel_account.created", account.id).await?;
    Ok(account)
}

/// Changes an account (its kind stays).
pub async fn update_account(
    desk: &Desk,
    p: &Principal,
    id: Uuid,
    change: AccountChange,
) -> DeskResult<ChannelAccount> {
    p.require(&[Role::Admin])?;
    let gone = || DeskError::NotFound("channel account".into());
    let current = desk.store.get_channel_account(id).await?.ok_or_else(gone)?;
    if change.seen.is_some_and(|seen| seen != current.updated_at) {
        return Err(DeskError::Conflict(crate::STALE.into()));
    }
    let patch = change.into_record(current.kind)?;
    let account = desk
        .store
        .update_channel_account(id, patch)
        .await?
        .ok_or_else(gone)?;
    desk.intake.forget_accounts();
    audit_account(desk, p, "channel_account.updated", id).await?;
    Ok(account)
}

/// Disconnects an account. Its cases and messages stay.
pub async fn delete_account(desk: &Desk, p: &Principal, id: Uuid) -> DeskResult<()> {
    p.require(&[Role::Admin])?;
    if !desk.store.delete_channel_account(id).await? {
        return Err(DeskError::NotFound("channel account".into()));
    }
    desk.intake.forget_accounts();
    audit_account(desk, p, "channel_account.deleted", id).await
}
