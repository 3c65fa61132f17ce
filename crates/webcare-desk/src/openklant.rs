//! The municipality's klantbeeld (Open Klant 2, Klantinteracties API; issue 14): the `[openklant]`
//! section of the configuration. Registration is off unless it is configured; the store enqueues
//! the jobs (`webcare-store/src/klantcontact.rs`) and the Open Klant worker
//! (`webcare-workers/src/openklant.rs`) sends them.

use crate::case_work::visible_case;
use crate::{Desk, DeskResult, Principal};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use uuid::Uuid;
use webcare_store::klantcontact::KlantcontactJob;

/// A case's registrations in Open Klant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CaseKlantcontacten {
    /// Every registration (a message's klantcontact, a forward's internetaak, a zaak's link),
    /// oldest first, with its state and last error; empty when Open Klant is not configured.
    pub jobs: Vec<KlantcontactJob>,
}

/// `GET /cases/{id}/klantcontacten`: how the case's registrations in Open Klant went.
pub async fn case_klantcontacten(
    desk: &Desk,
    p: &Principal,
    id: Uuid,
) -> DeskResult<CaseKlantcontacten> {
    visible_case(desk, p, id).await?;
    Ok(CaseKlantcontacten {
        jobs: desk.store.case_klantcontact_jobs(id).await?,
    })
}

#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OpenKlantSettings {
    /// Base of the Klantinteracties API, e.g.
    /// `https://openklant.example.nl/klantinteracties/api/v1`.
    pub url: String,
    /// The API token (sent as `Authorization: Token <token>`): write-only, never logged
    /// (`Debug` redacts it). Also from `WEBCARE_OPENKLANT__TOKEN_FILE`.
    pub token: String,
    /// Department name -> the URL of its actor (an organisatorische eenheid) in Open Klant: a
    /// forward to that department becomes an internetaak for it.
    #[serde(default)]
    pub actoren: BTreeMap<String, String>,
}

impl fmt::Debug for OpenKlantSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenKlantSettings")
            .field("url", &self.url)
            .field("token", &"<redacted>")
            .field("actoren", &self.actoren)
            .finish()
    }
}

fn is_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

impl OpenKlantSettings {
    /// Checked at start-up: a wrong URL or an empty token is a clear error, not a failed job.
    pub fn check(&self) -> Result<(), String> {
        if !is_url(&self.url) {
            return Err("openklant.url must be an http(s) URL".into());
        }
        if self.token.trim().is_empty() {
            return Err("openklant.token must be set".into());
        }
        for (department, actor) in &self.actoren {
            if !is_url(actor) {
                return Err(format!(
                    "openklant.actoren.{department} must be an http(s) URL"
                ));
            }
        }
        Ok(())
    }

    /// The actor of the department named `department` (compared without case).
    pub fn actor_for(&self, department: &str) -> Option<&str> {
        self.actoren
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(department))
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> OpenKlantSettings {
        OpenKlantSettings {
            url: "https://ok.example.nl/klantinteracties/api/v1".into(),
            token: "geheim-token".into(),
            actoren: [(
                "Stadsbeheer".to_owned(),
                "https://ok.example.nl/klantinteracties/api/v1/actoren/1".to_owned(),
            )]
            .into(),
        }
    }

    #[test]
    fn the_token_is_redacted_and_settings_are_checked() {
        let s = settings();
        assert!(!format!("{s:?}").contains("geheim-token"));
        assert_eq!(s.check(), Ok(()));
        assert!(s.actor_for("stadsbeheer").is_some());
        assert!(s.actor_for("Burgerzaken").is_none());
        let mut bad = settings();
        bad.actoren.insert("x".into(), "geen url".into());
        assert!(bad.check().is_err());
        let mut bad = settings();
        bad.token = " ".into();
        assert!(bad.check().is_err());
    }
}
