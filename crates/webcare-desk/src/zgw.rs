//! A case becomes a zaak in the municipality's zaaksysteem (ZGW Zaken API, Open Zaak; issue 14).
//! The use cases here only enqueue durable jobs (in the transaction of the case change that
//! causes them); the zaak worker (`webcare-workers/src/zaak.rs`) sends them.

use crate::case_work::visible_case;
use crate::{Desk, DeskError, DeskResult, Principal};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use uuid::Uuid;
use webcare_store::zaak::CaseZaak;
use webcare_store::StoreError;

/// The statustypen (Catalogi API URLs) the desk sets.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Statustypen {
    pub ontvangen: String,
    pub in_behandeling: String,
    /// The eindstatus.
    pub afgerond: String,
}

/// The municipality's Open Zaak: the `[zgw]` section of the configuration.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ZgwSettings {
    /// Base of the Zaken API, e.g. `https://openzaak.example.nl/zaken/api/v1`.
    pub zaken_url: String,
    /// Base of the Catalogi API, e.g. `https://openzaak.example.nl/catalogi/api/v1`.
    pub catalogi_url: String,
    #[serde(deserialize_with = "text")]
    pub client_id: String,
    /// The JWT-ZGW secret: never logged (`Debug` redacts it).
    #[serde(deserialize_with = "text")]
    pub secret: String,
    /// The municipality's RSIN (bronorganisatie and verantwoordelijke organisatie).
    #[serde(deserialize_with = "rsin")]
    pub rsin: String,
    #[serde(default = "default_vertrouwelijkheid")]
    pub vertrouwelijkheid: String,
    /// Theme -> zaaktype URL; `default` for a case without a listed theme.
    pub zaaktypen: BTreeMap<String, String>,
    pub statustypen: Statustypen,
    /// The resultaattype a resolved case closes with.
    pub resultaattype: String,
    /// The roltype of the department a case is forwarded to (an organisatorische eenheid).
    pub roltype_afdeling: String,
    /// Base of the Notificaties API (Open Notificaties), e.g.
    /// `https://opennotificaties.example.nl/api/v1`: where the desk takes its abonnement.
    #[serde(default)]
    pub notificaties_url: Option<String>,
    /// The `Authorization` value Open Notificaties sends on each callback (the abonnement's
    /// `auth`): write-only, never logged. Without it every callback is refused.
    #[serde(default)]
    pub callback_auth: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Text {
    S(String),
    N(u64),
}

/// Text, also when an environment variable made it a number (`WEBCARE_ZGW__CLIENT_ID=123`).
fn text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Text::deserialize(d)? {
        Text::S(s) => s,
        Text::N(n) => n.to_string(),
    })
}

/// An RSIN: `WEBCARE_ZGW__RSIN=002220647` reaches us as the number 2220647, so a number gets its
/// leading zeros back (an RSIN has nine digits); text is taken as written.
fn rsin<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Text::deserialize(d)? {
        Text::S(s) => s,
        Text::N(n) => format!("{n:09}"),
    })
}

fn default_vertrouwelijkheid() -> String {
    "zaakvertrouwelijk".into()
}

impl fmt::Debug for ZgwSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZgwSettings")
            .field("zaken_url", &self.zaken_url)
            .field("catalogi_url", &self.catalogi_url)
            .field("client_id", &self.client_id)
            .field("secret", &"<redacted>")
            .field("rsin", &self.rsin)
            .field("vertrouwelijkheid", &self.vertrouwelijkheid)
            .field("zaaktypen", &self.zaaktypen)
            .field("statustypen", &self.statustypen)
            .field("resultaattype", &self.resultaattype)
            .field("roltype_afdeling", &self.roltype_afdeling)
            .field("notificaties_url", &self.notificaties_url)
            .field(
                "callback_auth",
                &self.callback_auth.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

fn is_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

impl ZgwSettings {
    /// Checked at start-up: a wrong RSIN or URL is a clear error, not a failed job later.
    pub fn check(&self) -> Result<(), String> {
        if !webcare_domain::zgw::is_valid_rsin(&self.rsin) {
            return Err(format!(
                "zgw.rsin must be nine digits passing the 11-proef; {:?} does not",
                self.rsin
            ));
        }
        if !webcare_domain::zgw::VERTROUWELIJKHEID.contains(&self.vertrouwelijkheid.as_str()) {
            return Err(format!(
                "zgw.vertrouwelijkheid must be one of {}",
                webcare_domain::zgw::VERTROUWELIJKHEID.join(", ")
            ));
        }
        if self.client_id.is_empty() || self.secret.is_empty() {
            return Err("zgw.client_id and zgw.secret must be set".into());
        }
        if !self.zaaktypen.contains_key("default") {
            return Err("zgw.zaaktypen needs a `default` zaaktype".into());
        }
        let urls = [
            ("zaken_url", &self.zaken_url),
            ("catalogi_url", &self.catalogi_url),
            ("statustypen.ontvangen", &self.statustypen.ontvangen),
            (
                "statustypen.in_behandeling",
                &self.statustypen.in_behandeling,
            ),
            ("statustypen.afgerond", &self.statustypen.afgerond),
            ("resultaattype", &self.resultaattype),
            ("roltype_afdeling", &self.roltype_afdeling),
        ];
        if let Some(u) = &self.notificaties_url {
            if !is_url(u) {
                return Err("zgw.notificaties_url must be an http(s) URL".into());
            }
        }
        for (name, u) in urls
            .into_iter()
            .chain(self.zaaktypen.iter().map(|(k, v)| (k.as_str(), v)))
        {
            if !is_url(u) {
                return Err(format!("zgw.{name} must be an http(s) URL"));
            }
        }
        Ok(())
    }

    /// The zaaktype for a case's theme, else the default.
    pub fn zaaktype_for(&self, theme: Option<&str>) -> &str {
        theme
            .and_then(|t| self.zaaktypen.get(t))
            .or_else(|| self.zaaktypen.get("default"))
            .map(String::as_str)
            .unwrap_or_default()
    }
}

/// `POST /cases/{id}/zaak`: enqueues the case's create job (the worker finds or creates the zaak
/// and sets its first status). 409 when the case has a zaak or one is on its way, and when the
/// desk has no zaaksysteem (a setting, not a passing outage: not a 503).
pub async fn request_zaak(desk: &Desk, p: &Principal, id: Uuid) -> DeskResult<CaseZaak> {
    let case = visible_case(desk, p, id).await?;
    let Some(zgw) = &desk.zgw else {
        return Err(DeskError::Conflict(
            "no zaaksysteem is configured (the [zgw] section of the configuration)".into(),
        ));
    };
    let payload = serde_json::json!({
        "zaaktype": zgw.zaaktype_for(case.theme.as_deref()),
        "userId": p.actor(),
        "userName": p.name,
    });
    match desk.store.enqueue_zaak_create(id, payload).await {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(DeskError::Conflict(
                "the case already has a zaak, or one is being created".into(),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    Ok(desk.store.case_zaak(id).await?)
}

/// `GET /cases/{id}/zaak`: the zaak's URL and number, and every job with its state and last error.
pub async fn case_zaak(desk: &Desk, p: &Principal, id: Uuid) -> DeskResult<CaseZaak> {
    visible_case(desk, p, id).await?;
    Ok(desk.store.case_zaak(id).await?)
}
