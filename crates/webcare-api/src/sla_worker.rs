//! The SLA timer worker: fires every warning and breach once, at the instant it falls due.
//!
//! It sleeps until the store's next due instant (`next_sla_instant`), woken early when clocks
//! change on this node (the store's change signal) and at most `recheck` later otherwise, so new
//! clocks written by other nodes on a shared PostgreSQL are seen within that bound. Claiming is
//! atomic in the store (`FOR UPDATE SKIP LOCKED` / `BEGIN IMMEDIATE`, and a unique alert per
//! clock run and status), so any number of workers on one database fire each alert once. Breaches
//! that fell due while no worker ran fire on the first pass after start-up.
//!
//! Recorded alerts are handed to an [`AlertSink`] at their `notify_at` (held until the next
//! opening when they fall outside the clock's calendar's opening hours), under a lease: a sink
//! that fails or a node that dies mid-send leaves the alert for a retry after the lease expires.

use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use webcare_store::sla::AlertRecord;
use webcare_store::Store;

/// Where warnings and breaches go: live events and webhooks plug in here.
#[async_trait::async_trait]
pub trait AlertSink: Send + Sync {
    /// Deliver one alert; an error leaves it for a retry after the lease.
    async fn deliver(&self, alert: &AlertRecord) -> anyhow::Result<()>;
}

/// Writes each alert to the log (the default until live events and webhooks exist).
pub struct LogSink;

#[async_trait::async_trait]
impl AlertSink for LogSink {
    async fn deliver(&self, a: &AlertRecord) -> anyhow::Result<()> {
        tracing::warn!(
            case_id = %a.case_id,
            clock = webcare_store::sla::kind_str(a.clock),
            status = webcare_store::sla::status_str(a.status),
            due_at = %a.due_at,
            fired_at = %a.fired_at,
            "SLA alert"
        );
        Ok(())
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone)]
pub struct Pass {
    pub fired: Vec<AlertRecord>,
    pub notified: usize,
}

#[derive(Clone)]
pub struct SlaWorker {
    store: Arc<dyn Store>,
    sink: Arc<dyn AlertSink>,
    node: String,
    /// Longest sleep without a local change signal.
    pub recheck: Duration,
    /// Clocks claimed per transaction.
    pub batch: u32,
    /// How long a claimed notification is reserved for this node.
    pub lease: chrono::Duration,
}

impl SlaWorker {
    /// A worker with a 1 s re-check on PostgreSQL (other nodes' clocks), 30 s on SQLite.
    pub fn new(store: Arc<dyn Store>, sink: Arc<dyn AlertSink>) -> Self {
        let recheck = if store.backend() == "postgres" {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(30)
        };
        SlaWorker {
            store,
            sink,
            node: format!("node-{}", uuid::Uuid::now_v7()),
            recheck,
            batch: 500,
            lease: chrono::Duration::seconds(30),
        }
    }

    /// Fires everything due at `now` and delivers due notifications.
    pub async fn run_once(&self, now: DateTime<Utc>) -> anyhow::Result<Pass> {
        let mut pass = Pass::default();
        // Until a pass finds nothing more to fire (a full batch may leave more behind).
        loop {
            let fired = self.store.fire_due_timers(now, self.batch).await?;
            if fired.is_empty() {
                break;
            }
            pass.fired.extend(fired);
        }
        loop {
            let claimed = self
                .store
                .claim_notifications(now, &self.node, self.lease, self.batch)
                .await?;
            if claimed.is_empty() {
                break;
            }
            let mut delivered = Vec::with_capacity(claimed.len());
            for a in &claimed {
                match self.sink.deliver(a).await {
                    Ok(()) => delivered.push(a.id),
                    Err(e) => {
                        tracing::warn!(alert = %a.id, error = %e, "SLA alert delivery failed; will retry")
                    }
                }
            }
            self.store.mark_notified(&delivered, Utc::now()).await?;
            pass.notified += delivered.len();
            if claimed.len() < self.batch as usize {
                break;
            }
        }
        Ok(pass)
    }

    /// Runs until `stop` is cancelled.
    pub async fn run(self, stop: CancellationToken) {
        let changes = self.store.sla_changes();
        let mut backoff = Duration::from_millis(100);
        loop {
            if stop.is_cancelled() {
                break;
            }
            // Register interest before reading the next instant, so no change is missed.
            let notified = changes.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wait = match self.run_once(Utc::now()).await {
                Ok(_) => {
                    backoff = Duration::from_millis(100);
                    match self.store.next_sla_instant().await {
                        Ok(Some(at)) => (at - Utc::now())
                            .to_std()
                            .unwrap_or(Duration::ZERO)
                            .min(self.recheck),
                        Ok(None) => self.recheck,
                        Err(e) => {
                            tracing::warn!(error = %e, "SLA worker could not plan");
                            backoff
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "SLA worker pass failed; retrying");
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    backoff
                }
            };
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
                _ = &mut notified => {}
            }
        }
        tracing::info!("SLA worker stopped");
    }

    /// Starts [`SlaWorker::run`] on the runtime.
    pub fn spawn(self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run(stop))
    }
}
