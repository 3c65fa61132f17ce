//! The zaak worker (issue 14): sends the zaak jobs to the municipality's Open Zaak, in order per
//! case, each under a lease. A 5xx, a 429 or a network error is retried with backoff (a 429's
//! `Retry-After` respected); any other 4xx fails the job with Open Zaak's reason, shown on the case
//! (`GET /cases/{id}/zaak`) and as a `zaak.failed` live event.
//!
//! Exactly once: the zaak's `identificatie` is chosen by the desk (`WC-` + the case id), and a
//! create first looks the zaak up by it, so a create sent before a crash (or answered with a 5xx
//! after Open Zaak committed) is found and recorded, never made twice. Closing reads the zaak
//! first and skips the resultaat or the eindstatus it already has.

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use webcare_desk::zgw::ZgwSettings;
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

/// Why a call did not succeed.
#[derive(Debug)]
pub(crate) enum CallError {
    /// Try again (after at least this long, when the server said).
    Transient(String, Option<Duration>),
    /// Open Zaak refused it: the job fails with this reason.
    Refused(String),
}

pub async fn run(
    store: Arc<dyn Store>,
    settings: Arc<ZgwSettings>,
    cfg: ZaakWorkerConfig,
    cancel: CancellationToken,
) {
    let w = Worker {
        store,
        settings,
        client: cfg.client(),
        cfg,
    };
    poll_passes(&cancel, w.cfg.poll, "zaak jobs", || w.pass()).await
}

impl ZaakWorkerConfig {
    /// The HTTP client for the zaaksysteem's APIs, with this configuration's timeout.
    pub(crate) fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(self.timeout)
            .build()
            .unwrap_or_default()
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
    store: Arc<dyn Store>,
    settings: Arc<ZgwSettings>,
    client: reqwest::Client,
    cfg: ZaakWorkerConfig,
}

impl Worker {
    async fn pass(&self) -> anyhow::Result<usize> {
        let lease = chrono::Duration::from_std(self.cfg.lease)?;
        let jobs = self.store.claim_zaak_jobs(Utc::now(), lease, 16).await?;
        let n = jobs.len();
        for job in jobs {
            let outcome = self.run_job(&job).await;
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
        match outcome {
            Ok(Some((url, identificatie))) => {
                self.store.zaak_created(job, &url, &identificatie).await?;
                tracing::info!(case_id = %job.case_id, %identificatie, "zaak created");
            }
            Ok(None) => self.store.zaak_job_done(job.id).await?,
            Err(CallError::Refused(reason)) => {
                tracing::warn!(case_id = %job.case_id, kind = job.kind.as_str(), %reason, "zaak job failed");
                self.store.zaak_job_failed(job, &reason).await?;
            }
            Err(CallError::Transient(error, _)) if job.attempts >= MAX_ATTEMPTS => {
                self.store
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
                self.store.zaak_job_retry(job.id, &error, next).await?;
            }
        }
        Ok(())
    }

    /// Runs one job; a create answers the zaak to record.
    async fn run_job(&self, job: &ZaakJob) -> Result<Option<(String, String)>, CallError> {
        let case = self
            .store
            .get_case(job.case_id)
            .await
            .map_err(|e| CallError::Transient(e.to_string(), None))?
            .ok_or_else(|| CallError::Refused("the case no longer exists".into()))?;
        let zaak = self
            .store
            .case_zaak(job.case_id)
            .await
            .map_err(|e| CallError::Transient(e.to_string(), None))?;
        let user = job.payload["userId"].as_str().unwrap_or("webcare");
        let user_name = job.payload["userName"].as_str().unwrap_or(user);
        let call = Call {
            client: &self.client,
            settings: &self.settings,
            user,
            user_name,
        };
        if job.kind == ZaakJobKind::Create {
            if zaak.zaak_url.is_some() {
                // A create for a case that has its zaak: nothing to do.
                return Ok(None);
            }
            return call.create(&*self.store, job, &case).await.map(Some);
        }
        let Some(zaak_url) = zaak.zaak_url else {
            return Err(CallError::Refused(
                "the case has no zaak (its create failed)".into(),
            ));
        };
        let s = &self.settings;
        let now = Utc::now();
        match job.kind {
            ZaakJobKind::Create => Ok(None),
            ZaakJobKind::Status => {
                let statustype = match job.payload["statustype"].as_str() {
                    Some("afgerond") => &s.statustypen.afgerond,
                    Some("ontvangen") => &s.statustypen.ontvangen,
                    _ => &s.statustypen.in_behandeling,
                };
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
                    let body = rules::status_request(
                        &zaak_url,
                        &s.statustypen.afgerond,
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

/// Calls to the zaaksysteem as one user (a job's agent), each with a fresh JWT-ZGW; the
/// notificaties worker fetches with it too.
pub(crate) struct Call<'a> {
    pub client: &'a reqwest::Client,
    pub settings: &'a ZgwSettings,
    pub user: &'a str,
    pub user_name: &'a str,
}

impl Call<'_> {
    /// Finds the case's zaak by its identificatie, or creates it; then its first status.
    async fn create(
        &self,
        store: &dyn Store,
        job: &ZaakJob,
        case: &webcare_store::CaseRecord,
    ) -> Result<(String, String), CallError> {
        let s = &self.settings;
        let identificatie = rules::identificatie(case.id);
        let found = self
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
                let zaaktype = job.payload["zaaktype"]
                    .as_str()
                    .unwrap_or_else(|| s.zaaktype_for(case.theme.as_deref()));
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
                self.post("zaken", &body).await?
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
                &s.statustypen.ontvangen,
                Utc::now(),
                "Ontvangen via webcare",
            );
            self.post("statussen", &body).await?;
        }
        Ok((url, number))
    }

    fn token(&self) -> String {
        let claims = rules::jwt_claims(
            &self.settings.client_id,
            self.user,
            self.user_name,
            Utc::now(),
        );
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(self.settings.secret.as_bytes()),
        )
        .unwrap_or_default()
    }

    pub(crate) async fn get(&self, url: &str) -> Result<Value, CallError> {
        self.send(Method::GET, url, None).await
    }

    async fn post<B: serde::Serialize>(
        &self,
        resource: &str,
        body: &B,
    ) -> Result<Value, CallError> {
        let url = format!(
            "{}/{resource}",
            self.settings.zaken_url.trim_end_matches('/')
        );
        let body = serde_json::to_value(body).map_err(|e| CallError::Refused(e.to_string()))?;
        self.send(Method::POST, &url, Some(body)).await
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
    ) -> Result<Value, CallError> {
        // A fresh token per call (Open Zaak expires them an hour after `iat`); the CRS headers
        // Open Zaak demands on zaken, harmless on the other resources.
        let mut req = self
            .client
            .request(method, url)
            .bearer_auth(self.token())
            .header("Accept-Crs", "EPSG:4326")
            .header("Content-Crs", "EPSG:4326");
        if let Some(b) = &body {
            req = req.json(b);
        }
        let res = req
            .send()
            .await
            .map_err(|e| CallError::Transient(format!("Open Zaak unreachable: {e}"), None))?;
        let status = res.status();
        let retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = res.text().await.unwrap_or_default();
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(json);
        }
        let why = reason(status, &json);
        if status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
        {
            Err(CallError::Transient(why, retry_after))
        } else {
            Err(CallError::Refused(why))
        }
    }
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

/// Open Zaak's refusal in a line: status, code, title and each invalid field.
pub(crate) fn reason(status: StatusCode, body: &Value) -> String {
    let mut out = format!("{}", status.as_u16());
    for k in ["code", "title", "detail"] {
        if let Some(v) = body[k].as_str().filter(|v| !v.is_empty()) {
            out.push_str(": ");
            out.push_str(v);
        }
    }
    if let Some(params) = body["invalidParams"].as_array() {
        for p in params {
            out.push_str(&format!(
                "; {} ({}): {}",
                p["name"].as_str().unwrap_or_default(),
                p["code"].as_str().unwrap_or_default(),
                p["reason"].as_str().unwrap_or_default()
            ));
        }
    }
    out.chars().take(1000).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_its_fields() {
        let body = serde_json::json!({"code": "invalid", "title": "Invalid input.", "invalidParams": [
            {"name": "zaaktype", "code": "bad-url", "reason": "Onbekend"}]});
        assert_eq!(
            reason(StatusCode::BAD_REQUEST, &body),
            "400: invalid: Invalid input.; zaaktype (bad-url): Onbekend"
        );
    }

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
