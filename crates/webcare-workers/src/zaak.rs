//! The zaak worker (issue 14): sends the zaak jobs to the municipality's Open Zaak, in order per
//! case, each under a lease. A 5xx, a 429 or a network error is retried with backoff (a 429's
//! `Retry-After` respected); any other 4xx fails the job with Open Zaak's reason, shown on the case
//! (`GET /cases/{id}/zaak`) and as a `zaak.failed` live event.
//!
//! Exactly once: the zaak's `identificatie` is chosen by the desk (`WC-` + the case id), and a
//! create first looks the zaak up by it, so a create sent before a crash (or answered with a 5xx
//! after Open Zaak committed) is found and recorded, never made twice. A status or a rol looks
//! first whether the zaak got it since the job was enqueued (a POST committed but answered with a
//! 5xx is not sent twice); closing reads the zaak first and skips the resultaat or the eindstatus
//! it already has.
//!
//! The settings are read for every pass (`Desk::zgw`: a change through the admin API applies
//! without a restart); without a zaaksysteem the jobs wait. The statustypen come from the
//! settings, else from the Catalogi API per zaaktype (cached by the desk).

use chrono::Utc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use webcare_desk::zgw::ZgwSettings;
pub(crate) use webcare_desk::zgw_client::{Call, CallError};
use webcare_desk::Desk;
use webcare_domain::zgw as rules;
use webcare_store::zaak::{ZaakJob, ZaakJobKind};
use webcare_store::Store;

/// Attempts before a job that keeps failing transiently fails for good: about two days, with the
/// backoff capped at 5 minutes.
pub(crate) const MAX_ATTEMPTS: i64 = 600;

#[derive(Debug, Clone)]
pub struct ZaakWorkerConfig {
    /// How often to look for due jobs when there are none.
    pub poll: Duration,
    /// How long a claimed job is this worker's.
    pub lease: Duration,
    /// The first retry's delay; each next one doubles, up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// Per call.
    pub timeout: Duration,
}

impl Default for ZaakWorkerConfig {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(500),
            lease: Duration::from_secs(60),
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            timeout: Duration::from_secs(15),
        }
    }
}

pub async fn run(desk: Desk, cfg: ZaakWorkerConfig, cancel: CancellationToken) {
    let w = Worker {
        desk,
        client: cfg.client(),
        cfg,
    };
    poll_passes(&cancel, w.cfg.poll, "zaak jobs", || w.pass()).await
}

impl ZaakWorkerConfig {
    /// The HTTP client for the zaaksysteem's APIs, with this configuration's timeout.
    pub(crate) fn client(&self) -> reqwest::Client {
        webcare_desk::zgw_client::http_client(self.timeout)
    }
}

/// Runs `pass` until cancelled: again at once after a pass that did something, else after `poll`.
pub(crate) async fn poll_passes<F, Fut>(
    cancel: &CancellationToken,
    poll: Duration,
    what: &str,
    pass: F,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    crate::until_cancelled(cancel, poll, || async {
        match pass().await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::warn!(error = %e, "{what}: claim failed");
                false
            }
        }
    })
    .await
}

struct Worker {
    desk: Desk,
    client: reqwest::Client,
    cfg: ZaakWorkerConfig,
}

impl Worker {
    async fn pass(&self) -> anyhow::Result<usize> {
        // Without a zaaksysteem the jobs wait (a routing rule may enqueue them before one is set).
        let Some(settings) = self.desk.zgw().await else {
            return Ok(0);
        };
        let lease = chrono::Duration::from_std(self.cfg.lease)?;
        let jobs = self
            .desk
            .store
            .claim_zaak_jobs(Utc::now(), lease, 16)
            .await?;
        let n = jobs.len();
        for job in jobs {
            let outcome = self.run_job(&settings, &job).await;
            if let Err(e) = self.record(&job, outcome).await {
                // The lease runs out and the job is claimed again: every step looks before it acts.
                tracing::warn!(job = %job.id, case_id = %job.case_id, error = %e, "zaak job: recording failed");
            }
        }
        Ok(n)
    }

    async fn record(
        &self,
        job: &ZaakJob,
        outcome: Result<Option<(String, String)>, CallError>,
    ) -> anyhow::Result<()> {
        let store = &self.desk.store;
        match outcome {
            Ok(Some((url, identificatie))) => {
                store.zaak_created(job, &url, &identificatie).await?;
                tracing::info!(case_id = %job.case_id, %identificatie, "zaak created");
            }
            Ok(None) => store.zaak_job_done(job.id).await?,
            Err(CallError::Refused(reason)) => {
                tracing::warn!(case_id = %job.case_id, kind = job.kind.as_str(), %reason, "zaak job failed");
                store.zaak_job_failed(job, &reason).await?;
            }
            Err(CallError::Transient(error, _)) if job.attempts >= MAX_ATTEMPTS => {
                store
                    .zaak_job_failed(
                        job,
                        &format!("gave up after {} attempts: {error}", job.attempts),
                    )
                    .await?;
            }
            Err(CallError::Transient(error, retry_after)) => {
                let next = Utc::now()
                    + chrono::Duration::from_std(backoff(&self.cfg, job.attempts, retry_after))?;
                tracing::info!(case_id = %job.case_id, kind = job.kind.as_str(), %error, "zaak job: retry");
                store.zaak_job_retry(job.id, &error, next).await?;
            }
        }
        Ok(())
    }

    /// Runs one job; a create answers the zaak to record.
    async fn run_job(
        &self,
        s: &ZgwSettings,
        job: &ZaakJob,
    ) -> Result<Option<(String, String)>, CallError> {
        let store = &*self.desk.store;
        let case = store
            .get_case(job.case_id)
            .await
            .map_err(|e| CallError::Transient(e.to_string(), None))?
            .ok_or_else(|| CallError::Refused("the case no longer exists".into()))?;
        let zaak = store
            .case_zaak(job.case_id)
            .await
            .map_err(|e| CallError::Transient(e.to_string(), None))?;
        let user = job.payload["userId"].as_str().unwrap_or("webcare");
        let user_name = job.payload["userName"].as_str().unwrap_or(user);
        let call = Call {
            client: &self.client,
            settings: s,
            user,
            user_name,
        };
        let zaaktype = match job.payload["zaaktype"].as_str() {
            Some(z) if job.kind == ZaakJobKind::Create => z.to_owned(),
            _ => s.zaaktype_of(&zaak, &case),
        };
        if job.kind == ZaakJobKind::Create {
            if zaak.zaak_url.is_some() {
                // A create for a case that has its zaak: nothing to do.
                return Ok(None);
            }
            let statustypen = self.desk.zgw.statustypen(s, &zaaktype).await?;
            return create(&call, store, &case, &zaaktype, &statustypen)
                .await
                .map(Some);
        }
        let Some(zaak_url) = zaak.zaak_url else {
            return Err(CallError::Refused(
                "the case has no zaak (its create failed)".into(),
            ));
        };
        let now = Utc::now();
        let zaken = s.zaken_url.trim_end_matches('/');
        match job.kind {
            ZaakJobKind::Create => Ok(None),
            ZaakJobKind::Status => {
                let t = self.desk.zgw.statustypen(s, &zaaktype).await?;
                let statustype = match job.payload["statustype"].as_str() {
                    Some("afgerond") => &t.afgerond,
                    Some("ontvangen") => &t.ontvangen,
                    _ => &t.in_behandeling,
                };
                // A status of this type set since the job was enqueued is this job's (a POST
                // committed but answered with a 5xx), or a behandelaar's: either way the zaak
                // has it.
                let found = call
                    .get(&format!(
                        "{zaken}/statussen?zaak={}&statustype={}",
                        enc(&zaak_url),
                        enc(statustype)
                    ))
                    .await?;
                let since = job.created_at.timestamp();
                let has = found["results"].as_array().into_iter().flatten().any(|st| {
                    st["datumStatusGezet"]
                        .as_str()
                        .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
                        .is_some_and(|d| d.timestamp() >= since)
                });
                if has {
                    return Ok(None);
                }
                let toelichting = job.payload["toelichting"].as_str().unwrap_or_default();
                let body = rules::status_request(&zaak_url, statustype, now, toelichting);
                call.post("statussen", &body).await.map(|_| None)
            }
            ZaakJobKind::Rol => {
                let department = job.payload["departmentId"]
                    .as_str()
                    .and_then(|d| d.parse().ok())
                    .unwrap_or_default();
                let name = job.payload["departmentName"].as_str().unwrap_or("afdeling");
                let body = rules::rol_request(&zaak_url, &s.roltype_afdeling, department, name);
                // The department is on the zaak already (this job's POST committed before a
                // lost answer, or an earlier forward to it): one rol is enough.
                let found = call
                    .get(&format!(
                        "{zaken}/rollen?zaak={}&roltype={}&betrokkeneType=organisatorische_eenheid\
                         &betrokkeneIdentificatie__organisatorischeEenheid__identificatie={}",
                        enc(&zaak_url),
                        enc(&s.roltype_afdeling),
                        enc(&body.betrokkene_identificatie.identificatie)
                    ))
                    .await?;
                if found["count"].as_i64().unwrap_or(0) > 0
                    || found["results"].as_array().is_some_and(|r| !r.is_empty())
                {
                    return Ok(None);
                }
                call.post("rollen", &body).await.map(|_| None)
            }
            ZaakJobKind::Close => {
                // Open Zaak refuses the eindstatus before a resultaat; a retry skips what the
                // zaak already has.
                let z = call.get(&zaak_url).await?;
                if z["resultaat"].is_null() {
                    let toelichting = job.payload["toelichting"].as_str().unwrap_or_default();
                    let body = rules::resultaat_request(&zaak_url, &s.resultaattype, toelichting);
                    call.post("resultaten", &body).await?;
                }
                if z["einddatum"].is_null() {
                    let t = self.desk.zgw.statustypen(s, &zaaktype).await?;
                    let body = rules::status_request(
                        &zaak_url,
                        &t.afgerond,
                        now,
                        "Afgehandeld via webcare",
                    );
                    call.post("statussen", &body).await?;
                }
                Ok(None)
            }
        }
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Finds the case's zaak by its identificatie, or creates it; then its first status.
async fn create(
    call: &Call<'_>,
    store: &dyn Store,
    case: &webcare_store::CaseRecord,
    zaaktype: &str,
    statustypen: &webcare_desk::zgw::Statustypen,
) -> Result<(String, String), CallError> {
    let s = call.settings;
    let identificatie = rules::identificatie(case.id);
    let found = call
        .get(&format!(
            "{}/zaken?identificatie={}&bronorganisatie={}",
            s.zaken_url.trim_end_matches('/'),
            identificatie,
            s.rsin
        ))
        .await?;
    let zaak = match found["results"].as_array().and_then(|r| r.first()) {
        Some(z) => z.clone(),
        None => {
            let messages = store
                .case_messages(case.id)
                .await
                .map_err(|e| CallError::Transient(e.to_string(), None))?;
            let first = messages
                .iter()
                .find(|m| m.direction == webcare_domain::Direction::Inbound);
            let text = first.map(|m| m.text.as_str()).unwrap_or_default();
            let author = case
                .author_handle
                .as_deref()
                .or(case.author_name.as_deref())
                .unwrap_or("een inwoner");
            let channel = case
                .channel_kind
                .map(|k| k.as_str().to_owned())
                .unwrap_or_else(|| "sociale media".into());
            let body = rules::zaak_request(
                &rules::ZaakInput {
                    case_id: case.id,
                    started_at: case.created_at,
                    channel: &channel,
                    author,
                    text,
                },
                &rules::ZaakSettings {
                    rsin: &s.rsin,
                    zaaktype,
                    vertrouwelijkheid: &s.vertrouwelijkheid,
                },
            );
            call.post("zaken", &body).await?
        }
    };
    let url = zaak["url"]
        .as_str()
        .ok_or_else(|| CallError::Transient("the zaak has no url".into(), None))?
        .to_owned();
    let number = zaak["identificatie"]
        .as_str()
        .unwrap_or(&identificatie)
        .to_owned();
    if zaak["status"].is_null() {
        let body = rules::status_request(
            &url,
            &statustypen.ontvangen,
            Utc::now(),
            "Ontvangen via webcare",
        );
        call.post("statussen", &body).await?;
    }
    Ok((url, number))
}

/// The delay before attempt `attempts + 1`: doubling from `first_backoff` up to `max_backoff`,
/// and never shorter than the server's `Retry-After`.
pub(crate) fn backoff(
    cfg: &ZaakWorkerConfig,
    attempts: i64,
    retry_after: Option<Duration>,
) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    let d = cfg
        .first_backoff
        .saturating_mul(2u32.saturating_pow(exp))
        .min(cfg.max_backoff);
    retry_after.map_or(d, |r| r.max(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_and_respects_retry_after() {
        let cfg = ZaakWorkerConfig::default();
        let d = |a: i64, r: Option<u64>| backoff(&cfg, a, r.map(Duration::from_secs));
        assert_eq!(d(1, None), Duration::from_secs(1));
        assert_eq!(d(3, None), Duration::from_secs(4));
        assert_eq!(d(30, None), Duration::from_secs(300));
        assert_eq!(d(1, Some(30)), Duration::from_secs(30));
    }
}
