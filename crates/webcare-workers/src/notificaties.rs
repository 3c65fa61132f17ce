//! The notificaties worker (issue 14): processes the notifications the callback recorded, each
//! under a lease. For kanaal `zaken` it fetches `resourceUrl` with JWT-ZGW (the zaak worker's
//! client) and applies what it means to the case linked to the `hoofdObject` zaak
//! (`webcare_desk::notificaties`). A zaak the desk does not know is ignored with a log line.
//! For kanaal `klantcontacten` it reads the betrokkene and its klantcontact in Open Klant (with
//! the Open Klant token) and notes a klantcontact of another channel on the contact's open case.
//! A 5xx, 429 or network error is retried with the zaak worker's backoff; another 4xx fails it.

use crate::openklant::Call as OpenKlantCall;
use crate::zaak::{backoff, poll_passes, Call, CallError, ZaakWorkerConfig, MAX_ATTEMPTS};
use chrono::Utc;
use tokio_util::sync::CancellationToken;
use webcare_desk::notificaties::{apply, change_from, note_klantcontact};
use webcare_desk::zgw::ZgwSettings;
use webcare_desk::Desk;
use webcare_domain::openklant as ok;
use webcare_store::notificatie::Notificatie;

pub async fn run(desk: Desk, cfg: ZaakWorkerConfig, cancel: CancellationToken) {
    let w = Worker {
        desk,
        client: cfg.client(),
        cfg,
    };
    poll_passes(&cancel, w.cfg.poll, "notificaties", || w.pass()).await
}

struct Worker {
    desk: Desk,
    cfg: ZaakWorkerConfig,
    client: reqwest::Client,
}

impl Worker {
    async fn pass(&self) -> anyhow::Result<usize> {
        // Without a zaaksysteem the recorded notifications wait (they cannot be fetched).
        let Some(settings) = self.desk.zgw().await else {
            return Ok(0);
        };
        let lease = chrono::Duration::from_std(self.cfg.lease)?;
        let store = &self.desk.store;
        let claimed = store.claim_notificaties(Utc::now(), lease, 16).await?;
        let n = claimed.len();
        for item in claimed {
            let outcome = self.process(&settings, &item).await;
            let recorded = match outcome {
                Ok(()) => store.notificatie_done(item.id).await,
                Err(CallError::Refused(reason)) => {
                    tracing::warn!(notificatie = %item.id, %reason, "notificatie failed");
                    store.notificatie_failed(item.id, &reason).await
                }
                Err(CallError::Transient(error, _)) if item.attempts >= MAX_ATTEMPTS => {
                    let reason = format!("gave up after {} attempts: {error}", item.attempts);
                    store.notificatie_failed(item.id, &reason).await
                }
                Err(CallError::Transient(error, retry_after)) => {
                    let next = Utc::now()
                        + chrono::Duration::from_std(backoff(
                            &self.cfg,
                            item.attempts,
                            retry_after,
                        ))?;
                    tracing::info!(notificatie = %item.id, %error, "notificatie: retry");
                    store.notificatie_retry(item.id, &error, next).await
                }
            };
            if let Err(e) = recorded {
                // The lease runs out and it is processed again; applying twice changes nothing.
                tracing::warn!(notificatie = %item.id, error = %e, "notificatie: recording failed");
            }
        }
        Ok(n)
    }

    async fn process(&self, settings: &ZgwSettings, n: &Notificatie) -> Result<(), CallError> {
        if n.kanaal == "klantcontacten" {
            return self.klantcontact(n).await;
        }
        if n.kanaal != "zaken" {
            return Ok(());
        }
        let transient = |e: &dyn std::fmt::Display| CallError::Transient(e.to_string(), None);
        let Some(case_id) = self
            .desk
            .store
            .case_by_zaak_url(&n.hoofd_object)
            .await
            .map_err(|e| transient(&e))?
        else {
            // Only ids: the zaak's URL is the municipality's, but nothing personal belongs here.
            tracing::info!(notificatie = %n.id, resource = %n.resource, "notificatie about a zaak the desk does not know: ignored");
            return Ok(());
        };
        if !matches!(n.resource.as_str(), "status" | "zaak") || n.actie == "destroy" {
            return Ok(());
        }
        let call = Call {
            client: &self.client,
            settings,
            user: "webcare",
            user_name: "webcare notificaties",
        };
        let fetched = call.get(&n.resource_url).await?;
        // The statustypen of the case's zaak's zaaktype (configured, or from the Catalogi API).
        let case = self
            .desk
            .store
            .get_case(case_id)
            .await
            .map_err(|e| transient(&e))?
            .ok_or_else(|| CallError::Refused("the case no longer exists".into()))?;
        let zaak = self
            .desk
            .store
            .case_zaak(case_id)
            .await
            .map_err(|e| transient(&e))?;
        let zaaktype = settings.zaaktype_of(&zaak, &case);
        let statustypen = self.desk.zgw.statustypen(settings, &zaaktype).await?;
        let Some(change) = change_from(&statustypen, &n.resource, &fetched) else {
            return Ok(());
        };
        match apply(&self.desk, case_id, &change).await {
            Ok(changed) => {
                tracing::info!(notificatie = %n.id, %case_id, changed, "notificatie applied");
                Ok(())
            }
            Err(webcare_desk::DeskError::Unavailable(e)) => Err(CallError::Transient(e, None)),
            Err(webcare_desk::DeskError::Internal(e)) => Err(transient(&e)),
            // A 409 (changed meanwhile) is tried again; anything else will not get better.
            Err(webcare_desk::DeskError::Conflict(e)) => Err(CallError::Transient(e, None)),
            Err(e) => Err(CallError::Refused(e.to_string())),
        }
    }

    /// Kanaal `klantcontacten`: a betrokkene made in Open Klant ties a klantcontact to a partij.
    /// One registered by another channel (a phone call) for a partij the desk knows is a note
    /// on that contact's latest open case; the desk's own, and any other, are ignored.
    async fn klantcontact(&self, n: &Notificatie) -> Result<(), CallError> {
        if n.resource != "betrokkene" || n.actie != "create" {
            return Ok(());
        }
        let Some(settings) = self.desk.openklant.clone() else {
            tracing::info!(notificatie = %n.id, "klantcontacten notificatie without Open Klant configured: ignored");
            return Ok(());
        };
        let transient = |e: &dyn std::fmt::Display| CallError::Transient(e.to_string(), None);
        let call = OpenKlantCall {
            client: self.client.clone(),
            settings,
        };
        let betrokkene = call.get(&n.resource_url).await?;
        let klantcontact = call.get(&n.hoofd_object).await?;
        if ok::registered_by_desk(&klantcontact) {
            tracing::debug!(notificatie = %n.id, "klantcontact registered by the desk itself: ignored");
            return Ok(());
        }
        let partij = betrokkene["wasPartij"]["uuid"]
            .as_str()
            .and_then(|u| u.parse().ok());
        let contact = match partij {
            Some(p) => self
                .desk
                .store
                .contact_by_partij(p)
                .await
                .map_err(|e| transient(&e))?,
            None => None,
        };
        let Some(contact) = contact else {
            tracing::info!(notificatie = %n.id, "klantcontact for a partij the desk does not know: ignored");
            return Ok(());
        };
        let open = self
            .desk
            .store
            .contact_open_cases(contact, uuid::Uuid::nil(), 1)
            .await
            .map_err(|e| transient(&e))?;
        let Some(case) = open.first() else {
            tracing::info!(notificatie = %n.id, %contact, "klantcontact for a contact without an open case: ignored");
            return Ok(());
        };
        match note_klantcontact(&self.desk, case.id, &n.hoofd_object, &klantcontact).await {
            Ok(()) => {
                tracing::info!(notificatie = %n.id, case_id = %case.id, "klantcontact noted on the case");
                Ok(())
            }
            Err(webcare_desk::DeskError::NotFound(e)) => Err(CallError::Refused(e)),
            // A 409 (changed meanwhile), the database away: tried again.
            Err(e) => Err(transient(&e)),
        }
    }
}
