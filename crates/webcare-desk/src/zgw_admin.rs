//! Administering the zaaksysteem link (issue 14): the `[zgw]` settings through the admin API
//! (stored, taking precedence over the configuration file, in force on every node within a
//! second; the secret and the callback auth write-only), and the desk's abonnement at Open
//! Notificaties (registered once: an existing one for the desk's callback is found and updated).

use crate::error::{DeskError, DeskResult, InvalidParam};
use crate::zgw::{Statustypen, ZgwSettings};
use crate::zgw_client::{Call, CallError};
use crate::zgw_source::SettingsSource;
use crate::{Desk, Principal};
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use webcare_store::zgw_admin::ZgwAbonnement;
use webcare_store::NewAuditEvent;

/// The statustypen, as the API names them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ZgwStatustypen {
    pub ontvangen: String,
    pub in_behandeling: String,
    /// The eindstatus.
    pub afgerond: String,
}

/// The `[zgw]` settings in force, without their secrets.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ZgwSettingsView {
    /// Where they come from: `database` (this API), `config` (the configuration file) or `none`.
    pub source: &'static str,
    /// The stored version (0: none stored).
    pub version: i64,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
    pub zaken_url: Option<String>,
    pub catalogi_url: Option<String>,
    pub client_id: Option<String>,
    /// Whether a JWT-ZGW secret is set (it is never shown).
    pub secret_set: bool,
    pub rsin: Option<String>,
    pub vertrouwelijkheid: Option<String>,
    /// Theme -> zaaktype URL (`default` for any other theme).
    pub zaaktypen: BTreeMap<String, String>,
    /// Kind -> zaaktype URL; a listed kind wins over the theme.
    pub zaaktypen_per_kind: BTreeMap<String, String>,
    /// Null: looked up per zaaktype in the Catalogi API.
    pub statustypen: Option<ZgwStatustypen>,
    pub resultaattype: Option<String>,
    pub roltype_afdeling: Option<String>,
    pub notificaties_url: Option<String>,
    /// Whether the callback's auth is set (it is never shown).
    pub callback_auth_set: bool,
    pub public_url: Option<String>,
}

/// New `[zgw]` settings. An absent `secret` or `callbackAuth` keeps the one in force.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ZgwSettingsInput {
    /// Base of the Zaken API, e.g. `https://openzaak.example.nl/zaken/api/v1`.
    pub zaken_url: String,
    /// Base of the Catalogi API.
    pub catalogi_url: String,
    pub client_id: String,
    /// The JWT-ZGW secret: write-only; absent keeps the one in force.
    pub secret: Option<String>,
    /// The municipality's RSIN (nine digits, 11-proef).
    pub rsin: String,
    /// Default `zaakvertrouwelijk`.
    pub vertrouwelijkheid: Option<String>,
    /// Theme -> zaaktype URL; needs `default`.
    pub zaaktypen: BTreeMap<String, String>,
    /// Kind (`vraag`, `melding`, `klacht`, `compliment`, `overig`) -> zaaktype URL; a listed
    /// kind wins over the theme. Absent: none.
    #[serde(default)]
    pub zaaktypen_per_kind: BTreeMap<String, String>,
    /// Absent: looked up per zaaktype in the Catalogi API.
    pub statustypen: Option<ZgwStatustypen>,
    pub resultaattype: String,
    pub roltype_afdeling: String,
    /// Base of the Notificaties API (for the abonnement).
    pub notificaties_url: Option<String>,
    /// The `Authorization` value Open Notificaties sends on each callback: write-only; absent
    /// keeps the one in force.
    pub callback_auth: Option<String>,
    /// The desk's public base URL (the abonnement's callback is this + `/api/v1/notificaties`).
    pub public_url: Option<String>,
    /// The `version` the caller read (0: none stored): settings stored meanwhile make this
    /// change a 409 and nothing changes. Absent: no check, the last write wins.
    #[serde(default)]
    pub version: Option<i64>,
}

fn view(
    s: Option<&ZgwSettings>,
    source: SettingsSource,
    stored: Option<&webcare_store::zgw_admin::StoredZgwSettings>,
) -> ZgwSettingsView {
    let source_name = match source {
        SettingsSource::None => "none",
        SettingsSource::ConfigFile => "config",
        SettingsSource::Database => "database",
    };
    let from_db = source == SettingsSource::Database;
    ZgwSettingsView {
        source: source_name,
        version: stored.map_or(0, |v| v.version),
        updated_at: stored.filter(|_| from_db).map(|v| v.updated_at),
        updated_by: stored.filter(|_| from_db).map(|v| v.updated_by.clone()),
        zaken_url: s.map(|s| s.zaken_url.clone()),
        catalogi_url: s.map(|s| s.catalogi_url.clone()),
        client_id: s.map(|s| s.client_id.clone()),
        secret_set: s.is_some_and(|s| !s.secret.is_empty()),
        rsin: s.map(|s| s.rsin.clone()),
        vertrouwelijkheid: s.map(|s| s.vertrouwelijkheid.clone()),
        zaaktypen: s.map(|s| s.zaaktypen.clone()).unwrap_or_default(),
        zaaktypen_per_kind: s.map(|s| s.zaaktypen_per_kind.clone()).unwrap_or_default(),
        statustypen: s
            .and_then(|s| s.statustypen.as_ref())
            .map(|t| ZgwStatustypen {
                ontvangen: t.ontvangen.clone(),
                in_behandeling: t.in_behandeling.clone(),
                afgerond: t.afgerond.clone(),
            }),
        resultaattype: s.map(|s| s.resultaattype.clone()),
        roltype_afdeling: s.map(|s| s.roltype_afdeling.clone()),
        notificaties_url: s.and_then(|s| s.notificaties_url.clone()),
        callback_auth_set: s.is_some_and(|s| s.callback_auth.is_some()),
        public_url: s.and_then(|s| s.public_url.clone()),
    }
}

/// `GET /zgw/settings`.
pub async fn settings(desk: &Desk) -> DeskResult<ZgwSettingsView> {
    let (s, source) = desk.zgw.current_with_source(&*desk.store).await;
    let stored = desk.store.zgw_settings().await?;
    Ok(view(s.as_deref(), source, stored.as_ref()))
}

/// `snake_case.path` -> `camelCase.path`, as the API names fields (a zaaktypen key as it is).
fn api_name(name: &str) -> String {
    if let Some(key) = name.strip_prefix("zaaktypen.") {
        return format!("zaaktypen.{key}");
    }
    if let Some(key) = name.strip_prefix("zaaktypen_per_kind.") {
        return format!("zaaktypenPerKind.{key}");
    }
    name.split('.')
        .map(|seg| {
            let mut out = String::new();
            let mut up = false;
            for c in seg.chars() {
                if c == '_' {
                    up = true;
                } else if up {
                    out.extend(c.to_uppercase());
                    up = false;
                } else {
                    out.push(c);
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// `PUT /zgw/settings`: validated (URLs, the RSIN's 11-proef, ...) and stored as the next
/// version, in force on this node at once and on the others within a second.
pub async fn put_settings(
    desk: &Desk,
    p: &Principal,
    input: ZgwSettingsInput,
) -> DeskResult<ZgwSettingsView> {
    let current = desk.zgw().await;
    // A write-only value not sent keeps the one in force.
    let keep = |new: Option<String>, old: Option<String>| new.or(old);
    let secret = keep(input.secret, current.as_ref().map(|c| c.secret.clone()));
    let callback_auth = keep(
        input.callback_auth,
        current.as_ref().and_then(|c| c.callback_auth.clone()),
    );
    let mut bad = Vec::new();
    let no_secret = secret.is_none();
    if no_secret {
        bad.push(InvalidParam::new(
            "secret",
            "required",
            "no secret is in force yet: send one",
        ));
    }
    let new = ZgwSettings {
        zaken_url: input.zaken_url,
        catalogi_url: input.catalogi_url,
        client_id: input.client_id,
        secret: secret.unwrap_or_default(),
        rsin: input.rsin,
        vertrouwelijkheid: input
            .vertrouwelijkheid
            .unwrap_or_else(|| "zaakvertrouwelijk".into()),
        zaaktypen: input.zaaktypen,
        zaaktypen_per_kind: input.zaaktypen_per_kind,
        statustypen: input.statustypen.map(|t| Statustypen {
            ontvangen: t.ontvangen,
            in_behandeling: t.in_behandeling,
            afgerond: t.afgerond,
        }),
        resultaattype: input.resultaattype,
        roltype_afdeling: input.roltype_afdeling,
        notificaties_url: input.notificaties_url,
        callback_auth,
        public_url: input.public_url,
    };
    for (name, why) in new.problems() {
        if name == "secret" && no_secret {
            continue;
        }
        bad.push(InvalidParam::new(api_name(&name), "invalid", why));
    }
    if !bad.is_empty() {
        return Err(DeskError::Invalid(bad));
    }
    let value = serde_json::to_value(&new).map_err(|e| DeskError::Internal(e.into()))?;
    let version = desk
        .store
        .put_zgw_settings(&value, &p.actor(), input.version)
        .await?
        .ok_or_else(|| DeskError::Conflict(crate::STALE.into()))?;
    desk.zgw.stored(version, new);
    // What changed is in the settings' own history (their version); the audit names who and
    // which version, never a secret.
    desk.store
        .record_audit(NewAuditEvent {
            actor: p.actor(),
            action: "zgw.settings_changed".into(),
            case_id: None,
            detail: serde_json::json!({"version": version}),
        })
        .await?;
    tracing::info!(version, "zgw settings stored");
    settings(desk).await
}

/// The desk's abonnement at Open Notificaties.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AbonnementView {
    /// Whether the abonnement is registered (at the Notificaties API in force now).
    pub registered: bool,
    /// The abonnement's URL at Open Notificaties.
    pub url: Option<String>,
    /// Where Open Notificaties delivers: the desk's public URL + `/api/v1/notificaties`.
    pub callback_url: Option<String>,
    pub notificaties_url: Option<String>,
    pub registered_at: Option<DateTime<Utc>>,
}

/// The abonnement's callback URL for these settings.
pub fn callback_url(s: &ZgwSettings) -> Option<String> {
    s.public_url
        .as_deref()
        .map(|u| format!("{}/api/v1/notificaties", u.trim_end_matches('/')))
}

/// `GET /zgw/abonnement`.
pub async fn abonnement(desk: &Desk) -> DeskResult<AbonnementView> {
    let s = desk.zgw().await;
    let stored = desk.store.zgw_abonnement().await?;
    let callback = s.as_deref().and_then(callback_url);
    let notificaties = s
        .as_ref()
        .and_then(|s| s.notificaties_url.as_deref())
        .map(|u| u.trim_end_matches('/').to_owned());
    // Registered for the settings in force: a changed URL needs a new registration.
    let current = stored.filter(|a| {
        Some(&a.callback_url) == callback.as_ref()
            && Some(&a.notificaties_url) == notificaties.as_ref()
    });
    Ok(AbonnementView {
        registered: current.is_some(),
        url: current.as_ref().map(|a| a.url.clone()),
        callback_url: callback,
        notificaties_url: notificaties,
        registered_at: current.map(|a| a.registered_at),
    })
}

fn upstream(e: CallError) -> DeskError {
    match e {
        // A refusal is the settings' problem (credentials, URLs): the admin fixes them.
        CallError::Refused(r) => DeskError::Conflict(format!("Open Notificaties refused: {r}")),
        CallError::Transient(r, _) => {
            DeskError::Unavailable(format!("Open Notificaties is not reachable now: {r}"))
        }
    }
}

/// `POST /zgw/abonnement`: registers the desk's abonnement (kanaal `zaken`, filtered on the
/// municipality's RSIN as bronorganisatie, and `klantcontacten` when Open Klant is configured) once: an abonnement for the desk's callback URL that
/// Open Notificaties already has is updated (its auth and kanalen) instead of made again.
/// Answers whether it was created.
pub async fn register_abonnement(desk: &Desk, p: &Principal) -> DeskResult<(bool, AbonnementView)> {
    let Some(s) = desk.zgw().await else {
        return Err(DeskError::Conflict(
            "no zaaksysteem is configured (the [zgw] settings)".into(),
        ));
    };
    let missing = |what: &str| {
        DeskError::Conflict(format!(
            "zgw.{what} is not set: the abonnement needs it (PUT /api/v1/zgw/settings)"
        ))
    };
    let base = s
        .notificaties_url
        .clone()
        .ok_or_else(|| missing("notificaties_url"))?;
    let callback = callback_url(&s).ok_or_else(|| missing("public_url"))?;
    let auth = s
        .callback_auth
        .clone()
        .ok_or_else(|| missing("callback_auth"))?;
    // The header Open Notificaties is to send: the configured value when it names its scheme,
    // else the bare secret as a Bearer token (what the callback accepts).
    let header = if auth.trim().contains(' ') {
        auth
    } else {
        format!("Bearer {auth}")
    };
    let mut kanalen =
        vec![serde_json::json!({"naam": "zaken", "filters": {"bronorganisatie": s.rsin}})];
    // Klantcontacten only with Open Klant: the desk reads them there (and a municipality
    // without Open Klant has no such kanaal, which Open Notificaties would refuse).
    if desk.openklant.is_some() {
        kanalen.push(serde_json::json!({"naam": "klantcontacten", "filters": {}}));
    }
    let body = serde_json::json!({
        "callbackUrl": callback,
        "auth": header,
        "kanalen": kanalen,
    });
    let call = Call {
        client: desk.zgw.client(),
        settings: &s,
        user: "webcare",
        user_name: &p.name,
    };
    let base = base.trim_end_matches('/');
    let list = call
        .get(&format!("{base}/abonnement"))
        .await
        .map_err(upstream)?;
    // The Notificaties API 1.0 answers a plain array; later versions page it.
    let items = list
        .as_array()
        .or_else(|| list["results"].as_array())
        .cloned()
        .unwrap_or_default();
    let existing = items
        .iter()
        .find(|a| a["callbackUrl"] == callback.as_str())
        .and_then(|a| a["url"].as_str())
        .map(str::to_owned);
    let (created, url) = match existing {
        Some(url) => {
            call.send_json(Method::PUT, &url, &body)
                .await
                .map_err(upstream)?;
            (false, url)
        }
        None => {
            let made = call
                .send_json(Method::POST, &format!("{base}/abonnement"), &body)
                .await
                .map_err(upstream)?;
            let url = made["url"].as_str().map(str::to_owned).ok_or_else(|| {
                DeskError::Conflict("Open Notificaties answered an abonnement without a url".into())
            })?;
            (true, url)
        }
    };
    let record = ZgwAbonnement {
        url: url.clone(),
        callback_url: callback.clone(),
        notificaties_url: base.to_owned(),
        registered_at: Utc::now(),
    };
    desk.store.set_zgw_abonnement(&record).await?;
    desk.store
        .record_audit(NewAuditEvent {
            actor: p.actor(),
            action: "zgw.abonnement_registered".into(),
            case_id: None,
            detail: serde_json::json!({"url": url, "callbackUrl": callback, "created": created}),
        })
        .await?;
    tracing::info!(%url, created, "abonnement registered at Open Notificaties");
    Ok((created, abonnement(desk).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_names_are_camel_case_and_zaaktype_keys_stay() {
        assert_eq!(api_name("rsin"), "rsin");
        assert_eq!(api_name("zaken_url"), "zakenUrl");
        assert_eq!(
            api_name("statustypen.in_behandeling"),
            "statustypen.inBehandeling"
        );
        assert_eq!(
            api_name("zaaktypen.openbare_ruimte"),
            "zaaktypen.openbare_ruimte"
        );
        assert_eq!(
            api_name("zaaktypen_per_kind.klacht"),
            "zaaktypenPerKind.klacht"
        );
    }
}
