//! The Open Klant worker (issue 14): registers the desk's messages in the municipality's
//! Open Klant 2 (Klantinteracties API) and hands forwards to departments as interne taken, in
//! order per case, each job under a lease. A 5xx, a 429 or a network error is retried with
//! backoff (the zaak worker's); any other 4xx fails the job with Open Klant's reason, shown on
//! the job and as a `klantcontact.failed` live event.
//!
//! Exactly once: every step looks before it makes. A klantcontact is found again by its
//! `kanaal` and `onderwerp` (which names the platform's message id) and recorded on the job as
//! soon as it exists; its betrokkene and onderwerpobject are made only when the klantcontact does
//! not list one yet. The contact's partij is found by its digitaal adres (the platform user id)
//! or made once and kept on the contact. An internetaak is found by its klantcontact and actor.

use crate::zaak::{backoff, poll_passes, CallError, ZaakWorkerConfig, MAX_ATTEMPTS};
use chrono::Utc;
use reqwest::Method;
use serde_json::Value;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use webcare_desk::openklant::OpenKlantSettings;
use webcare_domain::openklant as ok;
use webcare_domain::Direction;
use webcare_store::klantcontact::{KlantcontactJob, KlantcontactJobKind};
use webcare_store::{CaseRecord, Store};

pub async fn run(
    store: Arc<dyn Store>,
    settings: Arc<OpenKlantSettings>,
    cfg: ZaakWorkerConfig,
    cancel: CancellationToken,
) {
    let w = Worker {
        store,
        call: Call {
            client: cfg.client(),
            settings,
        },
        cfg,
    };
    poll_passes(&cancel, w.cfg.poll, "Open Klant jobs", || w.pass()).await
}

struct Worker {
    store: Arc<dyn Store>,
    call: Call,
    cfg: ZaakWorkerConfig,
}

fn transient(e: impl std::fmt::Display) -> CallError {
    CallError::Transient(e.to_string(), None)
}

impl Worker {
    async fn pass(&self) -> anyhow::Result<usize> {
        let lease = chrono::Duration::from_std(self.cfg.lease)?;
        let jobs = self
            .store
            .claim_klantcontact_jobs(Utc::now(), lease, 16)
            .await?;
        let n = jobs.len();
        for job in jobs {
            let outcome = match job.kind {
                KlantcontactJobKind::Klantcontact => self.klantcontact(&job).await.map(|_| None),
                KlantcontactJobKind::Internetaak => self.internetaak(&job).await.map(Some),
                KlantcontactJobKind::Zaak => self.link_zaak(&job).await.map(|_| None),
            };
            if let Err(e) = self.record(&job, outcome).await {
                // The lease runs out and the job is claimed again: every step looks before it acts.
                tracing::warn!(job = %job.id, case_id = %job.case_id, error = %e, "Open Klant job: recording failed");
            }
        }
        Ok(n)
    }

    async fn record(
        &self,
        job: &KlantcontactJob,
        outcome: Result<Option<String>, CallError>,
    ) -> anyhow::Result<()> {
        match outcome {
            Ok(url) => {
                self.store
                    .klantcontact_job_done(job.id, url.as_deref())
                    .await?
            }
            Err(CallError::Refused(why)) => {
                tracing::warn!(case_id = %job.case_id, kind = job.kind.as_str(), reason = %why, "Open Klant job failed");
                self.store.klantcontact_job_failed(job, &why).await?;
            }
            Err(CallError::Transient(error, _)) if job.attempts >= MAX_ATTEMPTS => {
                let why = format!("gave up after {} attempts: {error}", job.attempts);
                self.store.klantcontact_job_failed(job, &why).await?;
            }
            Err(CallError::Transient(error, retry_after)) => {
                let next = Utc::now()
                    + chrono::Duration::from_std(backoff(&self.cfg, job.attempts, retry_after))?;
                tracing::info!(case_id = %job.case_id, kind = job.kind.as_str(), %error, "Open Klant job: retry");
                self.store
                    .klantcontact_job_retry(job.id, &error, next)
                    .await?;
            }
        }
        Ok(())
    }

    async fn case(&self, job: &KlantcontactJob) -> Result<CaseRecord, CallError> {
        self.store
            .get_case(job.case_id)
            .await
            .map_err(transient)?
            .ok_or_else(|| CallError::Refused("the case no longer exists".into()))
    }

    /// Registers one message: its klantcontact, the contact's partij as betrokkene, and the
    /// case's zaak as onderwerpobject.
    async fn klantcontact(&self, job: &KlantcontactJob) -> Result<(), CallError> {
        let case = self.case(job).await?;
        let messages = self.store.case_messages(case.id).await.map_err(transient)?;
        let m = messages
            .iter()
            .find(|m| Some(m.id) == job.message_id)
            .ok_or_else(|| CallError::Refused("the message no longer exists".into()))?;
        let input = ok::ContactInput {
            kind: case.channel_kind,
            platform_message_id: &m.platform_message_id,
            direction: m.direction,
            visibility: m.visibility,
            text: &m.text,
            sent_at: m.sent_at,
            case_id: case.id,
        };
        let kc = match &job.klantcontact_url {
            Some(url) => self.call.get(url).await?,
            None => {
                // Open Klant filters `onderwerp` by "contains" (without case): the exact one
                // among the results is this message's (the id closes with a parenthesis).
                let kanaal = ok::kanaal(case.channel_kind);
                let onderwerp = ok::onderwerp(&input);
                let found = self
                    .call
                    .list(
                        "klantcontacten",
                        &[("kanaal", kanaal), ("onderwerp", &onderwerp)],
                    )
                    .await?
                    .into_iter()
                    .find(|k| k["onderwerp"] == onderwerp.as_str() && k["kanaal"] == kanaal);
                let kc = match found {
                    Some(kc) => kc,
                    None => {
                        self.call
                            .post("klantcontacten", &ok::klantcontact_request(&input))
                            .await?
                    }
                };
                let url = kc["url"]
                    .as_str()
                    .ok_or_else(|| transient("the klantcontact has no url"))?;
                self.store
                    .klantcontact_recorded(job.id, url)
                    .await
                    .map_err(transient)?;
                kc
            }
        };
        let kc_uuid = kc["uuid"]
            .as_str()
            .ok_or_else(|| transient("the klantcontact has no uuid"))?
            .to_owned();
        let none = |k: &str| kc[k].as_array().is_none_or(|a| a.is_empty());
        if none("hadBetrokkenen") {
            // The citizen: the author of this message, or of the case's latest citizen message.
            let citizen = if m.direction == Direction::Inbound {
                Some(m)
            } else {
                messages
                    .iter()
                    .rev()
                    .find(|x| x.direction == Direction::Inbound)
            };
            let adres = match citizen {
                Some(c) => ok::digitaal_adres(case.channel_kind, &c.author.platform_user_id),
                None => format!("webcare-contact:{}", case.contact_id),
            };
            let partij = self.partij(job, &case, &adres).await?;
            let body = ok::betrokkene_request(
                &kc_uuid,
                ok::uuid_of(&partij),
                m.direction == Direction::Inbound,
            );
            self.call.post("betrokkenen", &body).await?;
        }
        if let (Some(zaak), true) = (&case.zaak_url, none("gingOverOnderwerpobjecten")) {
            let body = ok::onderwerpobject_request(&kc_uuid, zaak);
            self.call.post("onderwerpobjecten", &body).await?;
        }
        Ok(())
    }

    /// Links the case's zaak to each klantcontact registered before it that has no
    /// onderwerpobject yet.
    async fn link_zaak(&self, job: &KlantcontactJob) -> Result<(), CallError> {
        let case = self.case(job).await?;
        let zaak = case
            .zaak_url
            .as_deref()
            .ok_or_else(|| CallError::Refused("the case has no zaak".into()))?;
        let jobs = self
            .store
            .case_klantcontact_jobs(case.id)
            .await
            .map_err(transient)?;
        for url in jobs
            .iter()
            .filter(|j| j.kind == KlantcontactJobKind::Klantcontact && j.state == "done")
            .filter_map(|j| j.klantcontact_url.as_deref())
        {
            let kc = self.call.get(url).await?;
            if kc["gingOverOnderwerpobjecten"]
                .as_array()
                .is_none_or(|a| a.is_empty())
            {
                let body = ok::onderwerpobject_request(ok::uuid_of(url), zaak);
                self.call.post("onderwerpobjecten", &body).await?;
            }
        }
        Ok(())
    }

    /// The contact's partij: kept on the contact, else found by the digitaal adres, else made
    /// (a persoon, then its digitaal adres) and kept. Only the job that claims the contact looks
    /// and makes: two cases of one contact on two nodes make one partij.
    async fn partij(
        &self,
        job: &KlantcontactJob,
        case: &CaseRecord,
        adres: &str,
    ) -> Result<String, CallError> {
        let stored = || async {
            self.store
                .contact_partij(case.contact_id)
                .await
                .map_err(transient)
        };
        if let Some(url) = stored().await? {
            return Ok(url);
        }
        let now = Utc::now();
        let lease = chrono::Duration::from_std(self.cfg.lease).map_err(transient)?;
        let claimed = self
            .store
            .claim_contact_partij(case.contact_id, job.id, now, now + lease)
            .await
            .map_err(transient)?;
        if !claimed {
            // Kept meanwhile, or another job (perhaps on another node) is making it: wait.
            if let Some(url) = stored().await? {
                return Ok(url);
            }
            return Err(CallError::Transient(
                "another job is making the contact's partij in Open Klant".into(),
                None,
            ));
        }
        // The first adres given by a partij (one given by a betrokkene names none).
        let found = self
            .call
            .list(
                "digitaleadressen",
                &[("adres", adres), ("soortDigitaalAdres", "overig")],
            )
            .await?;
        let url = match found
            .iter()
            .find_map(|a| a["verstrektDoorPartij"]["uuid"].as_str())
        {
            Some(uuid) => self.call.url(&format!("partijen/{uuid}")),
            None => {
                let p = self.call.post("partijen", &ok::partij_request()).await?;
                let url = p["url"]
                    .as_str()
                    .ok_or_else(|| transient("the partij has no url"))?
                    .to_owned();
                // Kept before its digitaal adres: a crash in between leaves a partij without
                // an adres, never a second partij for the contact.
                self.store
                    .set_contact_partij(case.contact_id, &url)
                    .await
                    .map_err(transient)?;
                let body = ok::digitaal_adres_request(ok::uuid_of(&url), case.channel_kind, adres);
                self.call.post("digitaleadressen", &body).await?;
                return Ok(url);
            }
        };
        self.store
            .set_contact_partij(case.contact_id, &url)
            .await
            .map_err(transient)?;
        Ok(url)
    }

    /// Hands a forward to the department's actor as an internetaak on the citizen's latest
    /// registered klantcontact; answers its URL.
    async fn internetaak(&self, job: &KlantcontactJob) -> Result<String, CallError> {
        let case = self.case(job).await?;
        let department_id = job.payload["departmentId"]
            .as_str()
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| CallError::Refused("the job names no department".into()))?;
        let department = self
            .store
            .get_department(department_id)
            .await
            .map_err(transient)?
            .ok_or_else(|| CallError::Refused("the department no longer exists".into()))?;
        let actor = self
            .call
            .settings
            .actor_for(&department.name)
            .ok_or_else(|| {
                CallError::Refused(format!(
                    "no Open Klant actor is configured for the department {} (openklant.actoren)",
                    department.name
                ))
            })?
            .to_owned();
        let jobs = self
            .store
            .case_klantcontact_jobs(case.id)
            .await
            .map_err(transient)?;
        let messages = self.store.case_messages(case.id).await.map_err(transient)?;
        let inbound = |id: Option<uuid::Uuid>| {
            messages
                .iter()
                .any(|m| Some(m.id) == id && m.direction == Direction::Inbound)
        };
        let kc_url = jobs
            .iter()
            .rev()
            .filter(|j| j.kind == KlantcontactJobKind::Klantcontact && j.state == "done")
            .find(|j| inbound(j.message_id))
            .and_then(|j| j.klantcontact_url.clone())
            .ok_or_else(|| {
                CallError::Refused("the citizen's message has no klantcontact in Open Klant".into())
            })?;
        let kc_uuid = ok::uuid_of(&kc_url);
        let actor_uuid = ok::uuid_of(&actor);
        if let Some(t) = self
            .call
            .find(
                "internetaken",
                &[
                    ("aanleidinggevendKlantcontact__uuid", kc_uuid),
                    ("toegewezenAanActor__uuid", actor_uuid),
                ],
            )
            .await?
        {
            return Ok(t["url"].as_str().unwrap_or_default().to_owned());
        }
        // The latest forward to this department asked the question.
        let forwards = self.store.list_forwards(case.id).await.map_err(transient)?;
        let question = forwards
            .iter()
            .rev()
            .find(|f| f.department_id == department_id)
            .map(|f| f.question.as_str());
        let body = ok::internetaak_request(kc_uuid, actor_uuid, &department.name, question);
        let t = self.call.post("internetaken", &body).await?;
        Ok(t["url"].as_str().unwrap_or_default().to_owned())
    }
}

/// How many pages of a lookup are read.
const MAX_PAGES: usize = 20;

/// Calls to Open Klant with its `Token` authorization.
pub(crate) struct Call {
    pub(crate) client: reqwest::Client,
    pub(crate) settings: Arc<OpenKlantSettings>,
}

impl Call {
    pub(crate) fn url(&self, resource: &str) -> String {
        format!("{}/{resource}", self.settings.url.trim_end_matches('/'))
    }

    pub(crate) async fn get(&self, url: &str) -> Result<Value, CallError> {
        self.send(Method::GET, url, None).await
    }

    /// Every `resource` matching the filters, following `next` for at most [`MAX_PAGES`] pages
    /// (a lookup key matches a few; more is a sign of a wrong filter, not a reason to loop).
    async fn list(
        &self,
        resource: &str,
        filters: &[(&str, &str)],
    ) -> Result<Vec<Value>, CallError> {
        let mut url = reqwest::Url::parse(&self.url(resource))
            .map_err(|e| CallError::Refused(format!("openklant.url: {e}")))?;
        url.query_pairs_mut().extend_pairs(filters.iter());
        let origin = url.origin();
        let mut next = url.to_string();
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self.get(&next).await?;
            out.extend(page["results"].as_array().into_iter().flatten().cloned());
            let Some(n) = page["next"]
                .as_str()
                .filter(|n| !n.is_empty() && *n != next)
            else {
                return Ok(out);
            };
            // The token goes with every page: only to Open Klant's own origin.
            if reqwest::Url::parse(n).map(|u| u.origin()).ok() != Some(origin.clone()) {
                tracing::warn!(
                    resource,
                    "Open Klant lookup: `next` leaves openklant.url; not followed"
                );
                return Ok(out);
            }
            next = n.to_owned();
        }
        tracing::warn!(
            resource,
            "Open Klant lookup: more than {MAX_PAGES} pages; the rest is not read"
        );
        Ok(out)
    }

    /// The first of `resource` matching exact filters, if any.
    async fn find(
        &self,
        resource: &str,
        filters: &[(&str, &str)],
    ) -> Result<Option<Value>, CallError> {
        Ok(self.list(resource, filters).await?.into_iter().next())
    }

    async fn post(&self, resource: &str, body: &Value) -> Result<Value, CallError> {
        self.send(Method::POST, &self.url(resource), Some(body))
            .await
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, CallError> {
        let mut req = self
            .client
            .request(method, url)
            .header("Authorization", format!("Token {}", self.settings.token));
        if let Some(b) = body {
            req = req.json(b);
        }
        webcare_desk::zgw_client::send(req, "Open Klant").await
    }
}
