//! Notifications from the municipality's Notificaties API (Open Notificaties 1.0; issue 14).
//! The callback checks the abonnement's `auth` header, validates the message and records it
//! durably (a retried delivery once) before answering 204; the notificaties worker
//! (`webcare-workers/src/notificaties.rs`) fetches its resource and applies it here: a zaak
//! closed in the zaaksysteem resolves its case, another status is a note and a live event; a
//! klantcontact registered in Open Klant by another channel for a contact the desk knows is a
//! note on that contact's open case.

use crate::case_work::{set_status, write};
use crate::error::{DeskError, DeskResult, InvalidParam};
use crate::zgw::{Statustypen, ZgwSettings};
use crate::Desk;
use chrono::Utc;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;
use webcare_domain::CaseStatus;
use webcare_store::agent::CaseWrite;
use webcare_store::NewAuditEvent;

/// Who the zaaksysteem's changes are in the audit trail and on notes.
pub const ZAAKSYSTEEM_ACTOR: &str = "zaaksysteem";

/// A notification as Open Notificaties sends it: the store records it as it came.
pub use webcare_store::notificatie::NewNotificatie as Notificatie;

/// Why a callback is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackDenied {
    /// No `Authorization` header: 401.
    Missing,
    /// A header that is not the abonnement's `auth` (or no abonnement configured): 403.
    Wrong,
}

/// Checks the callback's `Authorization` header against `zgw.callback_auth`, in constant time
/// (of the digests, so the length does not show either). The configured value is the whole
/// header (`Bearer <secret>`), or the bare secret sent as a Bearer token.
pub fn check_callback(
    settings: Option<&ZgwSettings>,
    header: Option<&[u8]>,
) -> Result<(), CallbackDenied> {
    let got = header
        .filter(|h| !h.is_empty())
        .ok_or(CallbackDenied::Missing)?;
    let expected = settings
        .and_then(|z| z.callback_auth.as_deref())
        .filter(|a| !a.is_empty())
        .ok_or(CallbackDenied::Wrong)?;
    let digest = |b: &[u8]| Sha256::digest(b);
    let g = digest(got);
    let whole = g.ct_eq(&digest(expected.as_bytes()));
    let bearer = g.ct_eq(&digest(format!("Bearer {expected}").as_bytes()));
    if bool::from(whole | bearer) {
        Ok(())
    } else {
        Err(CallbackDenied::Wrong)
    }
}

fn is_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

fn check(n: &Notificatie) -> DeskResult<()> {
    let mut bad = Vec::new();
    for (name, v, max) in [
        ("kanaal", &n.kanaal, 50),
        ("resource", &n.resource, 100),
        ("actie", &n.actie, 100),
    ] {
        let len = v.chars().count();
        if len == 0 || len > max {
            bad.push(InvalidParam::new(
                name,
                "length",
                format!("1 to {max} characters"),
            ));
        }
    }
    for (name, v) in [
        ("hoofdObject", &n.hoofd_object),
        ("resourceUrl", &n.resource_url),
    ] {
        if !is_url(v) || v.len() > 1000 {
            bad.push(InvalidParam::new(name, "url", "an absolute http(s) URL"));
        }
    }
    for (k, v) in n.kenmerken.iter().flatten() {
        let len = v.chars().count();
        if len == 0 || len > 1000 {
            bad.push(InvalidParam::new(
                format!("kenmerken.{k}"),
                "length",
                "1 to 1000 characters",
            ));
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(DeskError::Invalid(bad))
    }
}

/// `POST /notificaties` after its auth check: validates and records the notification for the
/// worker. A retried delivery changes nothing; both answer 204.
pub async fn receive(desk: &Desk, n: Notificatie) -> DeskResult<()> {
    check(&n)?;
    if !desk.store.record_notificatie(&n).await? {
        tracing::debug!("notificatie: a retried delivery, recorded before");
    }
    Ok(())
}

/// What a fetched resource means for the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZaakChange {
    /// The zaak reached its eindstatus (or has an einddatum): resolve the case.
    Closed,
    /// Another status was set.
    Status {
        statustype: String,
        /// The desk's name for it, for the note.
        name: &'static str,
        toelichting: String,
    },
}

/// What a notification's fetched resource means: a `status` with the zaak's `afgerond`
/// statustype, or a `zaak` with an `einddatum`, closes; another `status` is a status change;
/// anything else changes nothing.
pub fn change_from(
    statustypen: &Statustypen,
    resource: &str,
    fetched: &serde_json::Value,
) -> Option<ZaakChange> {
    match resource {
        "status" => {
            let statustype = fetched["statustype"].as_str()?;
            if statustype == statustypen.afgerond {
                Some(ZaakChange::Closed)
            } else {
                Some(ZaakChange::Status {
                    statustype: statustype.to_owned(),
                    name: status_name(statustypen, statustype),
                    toelichting: fetched["statustoelichting"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                })
            }
        }
        "zaak" => fetched["einddatum"]
            .as_str()
            .filter(|d| !d.is_empty())
            .map(|_| ZaakChange::Closed),
        _ => None,
    }
}

/// The desk's name for a statustype it knows, for the note.
fn status_name(t: &Statustypen, statustype: &str) -> &'static str {
    if statustype == t.ontvangen {
        "ontvangen"
    } else if statustype == t.in_behandeling {
        "in behandeling"
    } else {
        "gewijzigd"
    }
}

/// Applies a zaak change to its case, through the case-work write (SLA effects, audit, live
/// events in one transaction). Resolving a case that is resolved or closed already does
/// nothing, so the desk's own close coming back as a notification does not loop.
/// Answers whether the case changed.
pub async fn apply(desk: &Desk, case_id: Uuid, change: &ZaakChange) -> DeskResult<bool> {
    let mut w = case_write(desk, case_id).await?;
    let audit = |action: &str, detail: serde_json::Value| NewAuditEvent {
        actor: ZAAKSYSTEEM_ACTOR.into(),
        action: action.into(),
        case_id: Some(case_id),
        detail,
    };
    match change {
        ZaakChange::Closed => {
            if matches!(w.before.status, CaseStatus::Resolved | CaseStatus::Closed) {
                return Ok(false);
            }
            set_status(&mut w.after, CaseStatus::Resolved, Utc::now())?;
            w.note = Some((
                ZAAKSYSTEEM_ACTOR.into(),
                "Zaak afgesloten in het zaaksysteem".into(),
            ));
            w.audit.push(audit(
                "case.updated",
                serde_json::json!({"changes": {"status": [w.before.status, CaseStatus::Resolved]},
                    "source": "zaaksysteem"}),
            ));
        }
        ZaakChange::Status {
            statustype,
            name,
            toelichting,
        } => {
            let mut text = format!("Status van de zaak in het zaaksysteem: {name}");
            if !toelichting.trim().is_empty() {
                text.push_str(&format!(" ({})", toelichting.trim()));
            }
            w.note = Some((ZAAKSYSTEEM_ACTOR.into(), text));
            w.audit.push(audit(
                "case.note_added",
                serde_json::json!({"source": "zaaksysteem"}),
            ));
            w.events.push((
                "zaak.status_changed",
                serde_json::json!({"statustype": statustype, "status": name}),
            ));
        }
    }
    write(desk, w).await?;
    Ok(true)
}

/// The case-work write of the case as it is now.
async fn case_write(desk: &Desk, case_id: Uuid) -> DeskResult<CaseWrite> {
    let before = desk
        .store
        .get_case(case_id)
        .await?
        .ok_or_else(|| DeskError::NotFound("case".into()))?;
    Ok(CaseWrite::new(before))
}

/// Who Open Klant's registrations are on notes and in the audit trail.
pub const OPENKLANT_ACTOR: &str = "openklant";

/// A klantcontact registered in Open Klant by another channel for the case's contact: a note on
/// the case and a `klantcontact.registered` live event, in one case-work write.
pub async fn note_klantcontact(
    desk: &Desk,
    case_id: Uuid,
    klantcontact_url: &str,
    klantcontact: &serde_json::Value,
) -> DeskResult<()> {
    let mut w = case_write(desk, case_id).await?;
    w.note = Some((
        OPENKLANT_ACTOR.into(),
        webcare_domain::openklant::klantcontact_note(klantcontact),
    ));
    w.audit.push(NewAuditEvent {
        actor: OPENKLANT_ACTOR.into(),
        action: "case.note_added".into(),
        case_id: Some(case_id),
        detail: serde_json::json!({"source": "openklant", "klantcontact": klantcontact_url}),
    });
    w.events.push((
        "klantcontact.registered",
        serde_json::json!({"klantcontact": klantcontact_url, "kanaal": klantcontact["kanaal"]}),
    ));
    write(desk, w).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Statustypen {
        Statustypen {
            ontvangen: "http://oz/st/1".into(),
            in_behandeling: "http://oz/st/2".into(),
            afgerond: "http://oz/st/3".into(),
        }
    }

    #[test]
    fn the_eindstatus_or_an_einddatum_closes_and_another_status_is_a_change() {
        let s = settings();
        let st = |t: &str| serde_json::json!({"statustype": t, "statustoelichting": "x"});
        assert_eq!(
            change_from(&s, "status", &st("http://oz/st/3")),
            Some(ZaakChange::Closed)
        );
        assert_eq!(
            change_from(&s, "status", &st("http://oz/st/2")),
            Some(ZaakChange::Status {
                statustype: "http://oz/st/2".into(),
                name: "in behandeling",
                toelichting: "x".into()
            })
        );
        let zaak = |e: serde_json::Value| serde_json::json!({"einddatum": e});
        assert_eq!(
            change_from(&s, "zaak", &zaak("2026-12-07".into())),
            Some(ZaakChange::Closed)
        );
        assert_eq!(
            change_from(&s, "zaak", &zaak(serde_json::Value::Null)),
            None
        );
        assert_eq!(change_from(&s, "rol", &st("http://oz/st/3")), None);
        assert_eq!(
            change_from(&s, "status", &serde_json::json!({"statustype": 3})),
            None
        );
    }
}
