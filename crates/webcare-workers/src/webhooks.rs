//! Outbound webhook deliveries: sends the events the webhooks subscribed to, signed, retried
//! with backoff for more than 24 hours, never again after a success.

use chrono::{Duration, Utc};
use std::sync::Arc;
use webcare_desk::live::delivery_id;
use webcare_store::agent_events::{DeliveryJob, DeliveryOutcome};
use webcare_store::Store;

/// How deliveries are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// The first retry waits this long; each next one twice as long, up to `max_delay`.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Give up when the first attempt is longer ago than this (at least 24 h in production).
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::seconds(10),
            max_delay: Duration::hours(1),
            give_up_after: Duration::hours(25),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempts + 1`.
    pub fn delay(&self, attempts: i64) -> Duration {
        let factor = 1i64 << attempts.clamp(0, 20);
        (self.first_delay * factor as i32).min(self.max_delay)
    }
}

/// Sends due webhook deliveries. Call [`WebhookWorker::run_once`] in a loop (see `run`).
pub struct WebhookWorker {
    pub store: Arc<dyn Store>,
    pub http: reqwest::Client,
    pub policy: RetryPolicy,
}

impl WebhookWorker {
    pub fn new(store: Arc<dyn Store>, policy: RetryPolicy) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            store,
            http,
            policy,
        }
    }

    /// Sends what is due now; answers how many deliveries were attempted.
    pub async fn run_once(&self) -> webcare_store::Result<usize> {
        let now = Utc::now();
        let jobs = self
            .store
            .claim_deliveries(now, now + Duration::seconds(60), 32)
            .await?;
        let n = jobs.len();
        for job in jobs {
            let (wid, seq) = (job.webhook.id, job.event.seq);
            let outcome = self.send(job).await;
            self.store.finish_delivery(wid, seq, outcome).await?;
        }
        Ok(n)
    }

    async fn send(&self, job: DeliveryJob) -> DeliveryOutcome {
        let body = serde_json::json!({
            "id": delivery_id(job.webhook.id, job.event.seq),
            "seq": job.event.seq,
            "type": job.event.event.kind,
            "at": job.event.at,
            "caseId": job.event.event.case_id,
            // Subscribers are third parties: identifiers in texts are masked (the desk keeps them).
            "data": webcare_domain::personal_data::mask_json(&job.event.event.payload),
        })
        .to_string();
        let ts = Utc::now().timestamp();
        let sig = webcare_connectors::signature::sign_webhook(
            job.webhook.secret.as_bytes(),
            ts,
            body.as_bytes(),
        );
        let res = self
            .http
            .post(&job.webhook.url)
            .header("content-type", "application/json")
            .header("x-webcare-signature", sig)
            .header("x-webcare-timestamp", ts.to_string())
            .header(
                "x-webcare-delivery-id",
                delivery_id(job.webhook.id, job.event.seq),
            )
            .header("x-webcare-event", job.event.event.kind.clone())
            .body(body)
            .send()
            .await;
        let (status, error) = match res {
            Ok(r) if r.status().is_success() => {
                return DeliveryOutcome::Succeeded {
                    status: r.status().as_u16(),
                }
            }
            Ok(r) => (
                Some(r.status().as_u16()),
                format!("answered {}", r.status()),
            ),
            Err(e) => (None, format!("could not deliver: {e}")),
        };
        if Utc::now() - job.created_at >= self.policy.give_up_after {
            DeliveryOutcome::Failed { status, error }
        } else {
            DeliveryOutcome::Retry {
                status,
                error,
                at: Utc::now() + self.policy.delay(job.attempts),
            }
        }
    }

    /// Runs until `cancel` fires, polling every second.
    pub async fn run(self, cancel: tokio_util::sync::CancellationToken) {
        loop {
            match self.run_once().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook deliveries failed"),
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            }
        }
    }
}
