//! A case becomes a zaak in the municipality's zaaksysteem (ZGW Zaken API, Open Zaak; issue 14).
//! The use cases here only enqueue durable jobs (in the transaction of the case change that
//! causes them); the zaak worker (`webcare-workers/src/zaak.rs`) sends them.

use crate::case_work::visible_case;
use crate::{Desk, DeskError, DeskResult, Principal};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use uuid::Uuid;
use webcare_domain::CaseKind;
use webcare_store::zaak::CaseZaak;
use webcare_store::CaseRecord;
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
    /// Kind (`vraag`, `melding`, `klacht`, `compliment`, `overig`) -> zaaktype URL: a kind listed
    /// here wins over the theme (a klacht is a klacht zaak whatever its theme).
    #[serde(default)]
    pub zaaktypen_per_kind: BTreeMap<String, String>,
    /// The statustypen to set; when absent they are looked up per zaaktype in the Catalogi API
    /// (by volgnummer: the first is "ontvangen", the second "in behandeling", the last the
    /// eindstatus).
    #[serde(default)]
    pub statustypen: Option<Statustypen>,
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
    /// The desk's public base URL as Open Notificaties reaches it, e.g.
    /// `https://webcare.gemeente.nl`: the abonnement's callback is this + `/api/v1/notificaties`.
    #[serde(default)]
    pub public_url: Option<String>,
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
            .field("zaaktypen_per_kind", &self.zaaktypen_per_kind)
            .field("statustypen", &self.statustypen)
            .field("resultaattype", &self.resultaattype)
            .field("roltype_afdeling", &self.roltype_afdeling)
            .field("notificaties_url", &self.notificaties_url)
            .field(
                "callback_auth",
                &self.callback_auth.as_ref().map(|_| "<redacted>"),
            )
            .field("public_url", &self.public_url)
            .finish()
    }
}

fn is_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

impl ZgwSettings {
    /// Checked at start-up and on every change: a wrong RSIN or URL is a clear error, not a
    /// failed job later. Answers the first problem.
    pub fn check(&self) -> Result<(), String> {
        match self.problems().into_iter().next() {
            Some((name, why)) => Err(format!("zgw.{name} {why}")),
            None => Ok(()),
        }
    }

    /// Every problem, as (field, why); the admin API answers them as `invalidParams`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut bad = |name: &str, why: &str| out.push((name.to_owned(), why.to_owned()));
        if !webcare_domain::zgw::is_valid_rsin(&self.rsin) {
            bad("rsin", "must be nine digits passing the 11-proef");
        }
        if !webcare_domain::zgw::VERTROUWELIJKHEID.contains(&self.vertrouwelijkheid.as_str()) {
            bad(
                "vertrouwelijkheid",
                &format!(
                    "must be one of {}",
                    webcare_domain::zgw::VERTROUWELIJKHEID.join(", ")
                ),
            );
        }
        if self.client_id.trim().is_empty() {
            bad("client_id", "must be set");
        }
        if self.secret.is_empty() {
            bad("secret", "must be set");
        }
        if !self.zaaktypen.contains_key("default") {
            bad("zaaktypen", "needs a `default` zaaktype");
        }
        let mut urls: Vec<(String, &String)> = vec![
            ("zaken_url".into(), &self.zaken_url),
            ("catalogi_url".into(), &self.catalogi_url),
            ("resultaattype".into(), &self.resultaattype),
            ("roltype_afdeling".into(), &self.roltype_afdeling),
        ];
        if let Some(t) = &self.statustypen {
            urls.push(("statustypen.ontvangen".into(), &t.ontvangen));
            urls.push(("statustypen.in_behandeling".into(), &t.in_behandeling));
            urls.push(("statustypen.afgerond".into(), &t.afgerond));
        }
        if let Some(u) = &self.notificaties_url {
            urls.push(("notificaties_url".into(), u));
        }
        if let Some(u) = &self.public_url {
            urls.push(("public_url".into(), u));
        }
        for (k, v) in &self.zaaktypen {
            urls.push((format!("zaaktypen.{k}"), v));
        }
        for (k, v) in &self.zaaktypen_per_kind {
            urls.push((format!("zaaktypen_per_kind.{k}"), v));
        }
        for (name, u) in urls {
            if !is_url(u) || u.chars().any(char::is_control) {
                bad(&name, "must be an http(s) URL");
            }
        }
        if self
            .callback_auth
            .as_ref()
            .is_some_and(|a| a.trim().is_empty() || a.len() > 1000)
        {
            bad("callback_auth", "must be 1 to 1000 characters");
        }
        // No control characters anywhere (PostgreSQL stores no NUL; a header carries none).
        let mut texts: Vec<(String, &str)> = vec![
            ("client_id".into(), &self.client_id),
            ("secret".into(), &self.secret),
            (
                "callback_auth".into(),
                self.callback_auth.as_deref().unwrap_or(""),
            ),
        ];
        for k in self.zaaktypen.keys() {
            texts.push((format!("zaaktypen.{k}"), k));
        }
        for k in self.zaaktypen_per_kind.keys() {
            if k.parse::<CaseKind>().is_err() {
                bad(
                    &format!("zaaktypen_per_kind.{k}"),
                    "is not a kind (vraag, melding, klacht, compliment, overig)",
                );
            }
        }
        for (name, t) in texts {
            if t.chars().any(char::is_control) && !out.iter().any(|(n, _)| *n == name) {
                out.push((name, "must not contain control characters".to_owned()));
            }
        }
        out
    }

    /// The zaaktype of a case's zaak: the one its (newest live) create asked for, e.g. a routing
    /// rule's, else the one for the case's kind and theme.
    pub fn zaaktype_of(&self, zaak: &CaseZaak, case: &CaseRecord) -> String {
        zaak.jobs
            .iter()
            .rev()
            .find(|j| j.kind == webcare_store::zaak::ZaakJobKind::Create && j.state != "failed")
            .and_then(|j| j.payload["zaaktype"].as_str())
            .unwrap_or_else(|| self.zaaktype_for(case.kind, case.theme.as_deref()))
            .to_owned()
    }

    /// The zaaktype for a case of `kind` and `theme`: by its kind, else its theme, else the
    /// default ([`webcare_domain::zgw::zaaktype_for`]).
    pub fn zaaktype_for(&self, kind: Option<CaseKind>, theme: Option<&str>) -> &str {
        webcare_domain::zgw::zaaktype_for(
            &self.zaaktypen_per_kind,
            &self.zaaktypen,
            kind.map(CaseKind::as_str),
            theme,
        )
        .unwrap_or_default()
    }
}

/// `POST /cases/{id}/zaak`: enqueues the case's create job (the worker finds or creates the zaak
/// and sets its first status). 409 when the case has a zaak or one is on its way, and when the
/// desk has no zaaksysteem (a setting, not a passing outage: not a 503).
pub async fn request_zaak(desk: &Desk, p: &Principal, id: Uuid) -> DeskResult<CaseZaak> {
    let case = visible_case(desk, p, id).await?;
    let Some(zgw) = desk.zgw().await else {
        return Err(DeskError::Conflict(
            "no zaaksysteem is configured (the [zgw] section of the configuration)".into(),
        ));
    };
    let payload = serde_json::json!({
        "zaaktype": zgw.zaaktype_for(case.kind, case.theme.as_deref()),
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
