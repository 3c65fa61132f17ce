//! The SLA timer worker: fires every warning and breach once, at the instant it falls due.
//!
//! Two loops. The timer sleeps until the next due instant (`next_fire_instant`), woken early when
//! clocks change on this node (the store's change signal) and at most `recheck` later otherwise,
//! so new clocks written by other nodes on a shared PostgreSQL are seen within that bound. The
//! notifier delivers recorded alerts (woken by the timer when it fired something, else at the
//! next notification instant). Delivering takes a transaction per alert; kept apart, a backlog of
//! notifications (a storm of breaches, a morning after a night of held ones) never delays the
//! recording of the next breach. Claiming is
//! atomic in the store (`FOR UPDATE SKIP LOCKED` / `BEGIN IMMEDIATE`, and a unique alert per
//! clock run and status), so any number of workers on one database fire each alert once. Breaches
//! that fell due while no worker ran fire on the first pass after start-up.
//!
//! A third loop repairs lost SLA updates (see [`SlaWorker::repair`]) once a minute.
//!
//! Recorded alerts are handed to an [`AlertSink`] at their `notify_at` (held until the next
//! opening when they fall outside the clock's calendar's opening hours), under a lease: a sink
//! that fails or a node that dies mid-send leaves the alert for a retry after the lease expires.

use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use webcare_domain::CaseStatus;
use webcare_store::sla::AlertRecord;
use webcare_store::Store;

/// Where warnings and breaches go: live events and webhooks plug in here.
#[async_trait::async_trait]
pub trait AlertSink: Send + Sync {
    /// Deliver a batch of alerts, all or none: an error leaves the whole batch for a retry after
    /// its lease (delivery is at least once). A batch, so a sink can write one transaction for
    /// it instead of one per alert.
    async fn deliver(&self, alerts: &[AlertRecord]) -> anyhow::Result<()>;
}

/// Writes each alert to the log (the default until live events and webhooks exist).
pub struct LogSink;

#[async_trait::async_trait]
impl AlertSink for LogSink {
    async fn deliver(&self, alerts: &[AlertRecord]) -> anyhow::Result<()> {
        for a in alerts {
            tracing::warn!(
                case_id = %a.case_id,
                clock = webcare_store::sla::kind_str(a.clock),
                status = webcare_store::sla::status_str(a.status),
                due_at = %a.due_at,
                fired_at = %a.fired_at,
                "SLA alert"
            );
        }
        Ok(())
    }
}

/// Hands SLA warnings and breaches to the live events (SSE) and, through the event log, to the
/// outbound webhooks, exactly once: the events and the alerts' `notified_at` are written in one
/// transaction. Errors are returned so the SLA worker retries the alert after its lease.
pub struct LiveAlertSink {
    store: Arc<dyn Store>,
}

impl LiveAlertSink {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

#[async_trait::async_trait]
impl AlertSink for LiveAlertSink {
    async fn deliver(&self, alerts: &[webcare_store::sla::AlertRecord]) -> anyhow::Result<()> {
        LogSink.deliver(alerts).await?;
        let ids: Vec<_> = alerts.iter().map(|a| a.case_id).collect();
        let cases: std::collections::HashMap<_, _> = self
            .store
            .get_cases(&ids)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let events = alerts
            .iter()
            // A case erased meanwhile: nothing to tell.
            .filter_map(|a| {
                let case = cases.get(&a.case_id)?;
                let status = webcare_store::sla::status_str(a.status);
                let payload = serde_json::json!({
                    "caseId": a.case_id,
                    "clock": webcare_store::sla::kind_str(a.clock),
                    "status": status,
                    "dueAt": a.due_at,
                    "firedAt": a.fired_at,
                });
                Some((
                    a.id,
                    webcare_desk::live::case_event(&format!("sla.{status}"), case, payload),
                ))
            })
            .collect();
        // Marked notified with the events in one transaction: a batch whose lease ran out and
        // was delivered by another node meanwhile adds nothing.
        let ids: Vec<_> = alerts.iter().map(|a| a.id).collect();
        self.store
            .notify_alerts(&ids, events, chrono::Utc::now())
            .await?;
        // Counted once delivered (a failed delivery is retried and would count twice).
        for a in alerts {
            let status = webcare_store::sla::status_str(a.status);
            metrics::counter!(webcare_desk::metrics::SLA_ALERTS, "status" => status).increment(1);
            let lag = (a.fired_at - a.due_at).num_milliseconds().max(0) as f64 / 1000.0;
            metrics::histogram!(webcare_desk::metrics::SLA_TIMER_LAG).record(lag);
        }
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
    /// How often to look for finished cases whose clocks still run (see [`SlaWorker::repair`]).
    pub repair_every: Duration,
    /// A case write's own SLA update follows it within milliseconds; the repair leaves writes
    /// younger than this alone so it never races one.
    pub repair_grace: chrono::Duration,
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
            repair_every: Duration::from_secs(60),
            repair_grace: chrono::Duration::seconds(10),
            lease: chrono::Duration::seconds(30),
        }
    }

    /// Fires everything due at `now` and delivers due notifications.
    pub async fn run_once(&self, now: DateTime<Utc>) -> anyhow::Result<Pass> {
        let fired = self.fire_due(now).await?;
        let notified = self.notify_due(now).await?;
        Ok(Pass { fired, notified })
    }

    /// Fires every warning and breach due at `now`.
    pub async fn fire_due(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<AlertRecord>> {
        let mut all = Vec::new();
        // Until a pass finds nothing more to fire (a full batch may leave more behind).
        loop {
            let fired = self.store.fire_due_timers(now, self.batch).await?;
            if fired.is_empty() {
                break;
            }
            all.extend(fired);
        }
        Ok(all)
    }

    /// Delivers the notifications due at `now`; answers how many were delivered.
    pub async fn notify_due(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        let mut notified = 0;
        loop {
            let claimed = self
                .store
                .claim_notifications(now, &self.node, self.lease, self.batch)
                .await?;
            if claimed.is_empty() {
                break;
            }
            if let Err(e) = self.sink.deliver(&claimed).await {
                // Leased, so they come back after the lease; stop this pass.
                tracing::warn!(alerts = claimed.len(), error = %e, "SLA alert delivery failed; will retry");
                break;
            }
            let ids: Vec<_> = claimed.iter().map(|a| a.id).collect();
            self.store.mark_notified(&ids, Utc::now()).await?;
            notified += ids.len();
            if claimed.len() < self.batch as usize {
                break;
            }
        }
        Ok(notified)
    }

    /// Stops the clocks of resolved and closed cases that still run. A case write and its SLA
    /// update are separate transactions; when the second is lost (a crash or a database error in
    /// between), the clocks would otherwise run on and breach a finished case. Each clock stops at
    /// the instant the case was resolved (or closed), so its figures are as if nothing was lost.
    /// Cases written in the last `repair_grace` are left to their own SLA update. One batch per
    /// call; returns how many cases it repaired.
    pub async fn repair(&self) -> anyhow::Result<usize> {
        let cases = self
            .store
            .finished_cases_with_running_clocks(Utc::now() - self.repair_grace, self.batch)
            .await?;
        for (id, status, at) in &cases {
            // `from` matters only for a reopening; any unfinished status will do.
            self.store
                .on_status_change(*id, CaseStatus::Open, *status, *at)
                .await?;
            tracing::warn!(case_id = %id, status = %status, "a finished case's SLA clocks were still running (its SLA update was lost); stopped them");
        }
        Ok(cases.len())
    }

    async fn repair_logged(&self) {
        if let Err(e) = self.repair().await {
            tracing::warn!(error = %e, "SLA repair pass failed; will try again");
        }
    }

    /// How long to sleep until `next`, at most `recheck`.
    fn wait_for(&self, next: Option<DateTime<Utc>>) -> Duration {
        next.map_or(self.recheck, |at| {
            (at - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(self.recheck)
        })
    }

    /// Runs the timer and the notifier until `stop` is cancelled.
    pub async fn run(self, stop: CancellationToken) {
        let fired = Arc::new(Notify::new());
        let notifier = tokio::spawn(self.clone().notify_loop(stop.clone(), fired.clone()));
        let changes = self.store.sla_changes();
        let mut backoff = Duration::from_millis(100);
        // Before the first firing: a crash may have left a finished case's clocks running.
        // Later passes run on their own, so a repair never delays a breach.
        self.repair_logged().await;
        let repairer = tokio::spawn(self.clone().repair_loop(stop.clone()));
        loop {
            if stop.is_cancelled() {
                break;
            }
            // Register interest before reading the next instant, so no change is missed.
            let notified = changes.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wait = match self.fire_due(Utc::now()).await {
                Ok(alerts) => {
                    backoff = Duration::from_millis(100);
                    if !alerts.is_empty() {
                        fired.notify_one();
                    }
                    match self.store.next_fire_instant().await {
                        Ok(next) => self.wait_for(next),
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
        if let Err(e) = notifier.await {
            tracing::warn!(error = %e, "SLA notifier ended abnormally");
        }
        if let Err(e) = repairer.await {
            tracing::warn!(error = %e, "SLA repair loop ended abnormally");
        }
        tracing::info!("SLA worker stopped");
    }

    /// Repairs lost SLA updates every `repair_every` until `stop`.
    async fn repair_loop(self, stop: CancellationToken) {
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(self.repair_every) => self.repair_logged().await,
            }
        }
    }

    /// Delivers notifications at their instants, and whenever the timer fired something.
    async fn notify_loop(self, stop: CancellationToken, fired: Arc<Notify>) {
        let mut backoff = Duration::from_millis(100);
        loop {
            if stop.is_cancelled() {
                break;
            }
            let woken = fired.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let wait = match self.notify_due(Utc::now()).await {
                Ok(_) => {
                    backoff = Duration::from_millis(100);
                    match self.store.next_notify_instant().await {
                        Ok(next) => self.wait_for(next),
                        Err(e) => {
                            tracing::warn!(error = %e, "SLA notifier could not plan");
                            backoff
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "SLA notification pass failed; retrying");
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    backoff
                }
            };
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
                _ = &mut woken => {}
            }
        }
    }

    /// Starts [`SlaWorker::run`] on the runtime.
    pub fn spawn(self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run(stop))
    }
}
