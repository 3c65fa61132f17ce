//! The case page's links to the municipality's systems: the zaak in the zaaksysteem (its number,
//! the state its calls reached, and a failed call's reason) and the registrations in Open Klant
//! (each message's klantcontact, a forward's internetaak: registered, pending or failed with the
//! reason). Read through the use cases the API's `GET /cases/{id}/zaak` and
//! `GET /cases/{id}/klantcontacten` call, so what an agent sees is what the API answers.

use crate::format;
use uuid::Uuid;
use webcare_api::auth::Principal;
use webcare_desk::{openklant, zgw, Desk, DeskResult};
use webcare_store::klantcontact::KlantcontactJobKind;
use webcare_store::zaak::ZaakJobKind;

/// One call or registration, as the page shows it.
pub(crate) struct Line {
    pub what: &'static str,
    pub state: String,
    /// The same classes as a reply's delivery state.
    pub css: &'static str,
    pub reason: String,
    pub at: String,
}

/// The case's zaak and its registrations in Open Klant.
#[derive(Default)]
pub(crate) struct Links {
    /// Whether a zaaksysteem is linked, or the case has zaak calls from when one was.
    pub zaak_shown: bool,
    pub zaaknummer: String,
    /// Where the zaak stands, by the last call that went through.
    pub zaak_status: &'static str,
    pub zaak_calls: Vec<Line>,
    /// Whether Open Klant is linked, or the case has registrations from when it was.
    pub klant_shown: bool,
    pub registrations: Vec<Line>,
}

/// `done`: what a call that went through is called ("gelukt", "geregistreerd").
fn line(
    what: &'static str,
    done: &str,
    state: &str,
    attempts: i64,
    reason: Option<String>,
    at: String,
) -> Line {
    let (state, css) = match state {
        "done" => (done.to_owned(), "delivery-ok"),
        "failed" => ("mislukt".to_owned(), "delivery-failed"),
        _ if attempts > 0 => (
            format!("bezig (poging {})", attempts + 1),
            "delivery-pending",
        ),
        _ => ("in de wachtrij".to_owned(), "delivery-pending"),
    };
    Line {
        what,
        state,
        css,
        reason: reason.unwrap_or_default(),
        at,
    }
}

pub(crate) async fn of(desk: &Desk, p: &Principal, id: Uuid) -> DeskResult<Links> {
    let zaak = zgw::case_zaak(desk, p, id).await?;
    let klant = openklant::case_klantcontacten(desk, p, id).await?;
    let zaak_status = zaak
        .jobs
        .iter()
        .rev()
        .filter(|j| j.state == "done")
        .find_map(|j| match j.kind {
            ZaakJobKind::Create => Some("ontvangen"),
            ZaakJobKind::Status => Some("in behandeling"),
            ZaakJobKind::Close => Some("afgerond"),
            ZaakJobKind::Rol => None,
        })
        .unwrap_or(if zaak.zaak_url.is_some() {
            "aangemaakt"
        } else {
            "nog niet aangemaakt"
        });
    Ok(Links {
        zaak_shown: desk.zgw().await.is_some() || !zaak.jobs.is_empty(),
        zaaknummer: zaak.identificatie.unwrap_or_default(),
        zaak_status,
        zaak_calls: zaak
            .jobs
            .into_iter()
            .map(|j| {
                let what = match j.kind {
                    ZaakJobKind::Create => "Zaak aanmaken",
                    ZaakJobKind::Status => "Status zetten",
                    ZaakJobKind::Rol => "Vakafdeling als rol",
                    ZaakJobKind::Close => "Resultaat en eindstatus",
                };
                let at = format::datetime(j.updated_at);
                line(what, "gelukt", &j.state, j.attempts, j.last_error, at)
            })
            .collect(),
        klant_shown: desk.openklant.is_some() || !klant.jobs.is_empty(),
        registrations: klant
            .jobs
            .into_iter()
            .map(|j| {
                let what = match j.kind {
                    KlantcontactJobKind::Klantcontact => "Bericht als klantcontact",
                    KlantcontactJobKind::Internetaak => "Internetaak voor de vakafdeling",
                    KlantcontactJobKind::Zaak => "Zaak als onderwerp",
                };
                let at = format::datetime(j.updated_at);
                line(
                    what,
                    "geregistreerd",
                    &j.state,
                    j.attempts,
                    j.last_error,
                    at,
                )
            })
            .collect(),
    })
}
