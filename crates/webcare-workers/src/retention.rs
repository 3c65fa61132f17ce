//! The retention worker (issue 15, role `retention`): anonymises the finished cases whose term
//! is over and empties the journal's raw deliveries past their short term
//! (`webcare_desk::retention::run`). Once across nodes: a run holds the `retention` lease, and
//! each slice of a run lasts at most half the lease before the lease is renewed, so a node
//! that dies mid-run leaves the rest to another node after the lease. Off-hours by default (a
//! window in Europe/Amsterdam time), in batches of one transaction each, so ingest and case
//! work interleave with it.

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Amsterdam;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use webcare_desk::retention::{run_paced, RunReport, RunSettings};
use webcare_desk::Desk;
use webcare_domain::retention::Window;

/// The lease's name.
pub const LEASE: &str = "retention";

/// How the retention worker runs.
#[derive(Debug, Clone)]
pub struct RetentionConfig {
    /// The HMAC key and the journal's term; cases per transaction.
    pub run: RunSettings,
    /// When it may run (Europe/Amsterdam local time).
    pub window: Window,
    /// How often it looks whether a run is due.
    pub check_every: Duration,
    /// The pause after each batch (zero: none), so the run leaves the inbox a core.
    pub pause: Duration,
    /// How long the lease holds without renewal.
    pub lease_ttl: chrono::Duration,
    /// This node's name in the lease table.
    pub holder: String,
}

impl RetentionConfig {
    pub fn new(run: RunSettings, window: Window) -> Self {
        Self {
            run,
            window,
            check_every: Duration::from_secs(300),
            pause: Duration::ZERO,
            lease_ttl: chrono::Duration::seconds(120),
            holder: format!("node-{}", uuid::Uuid::now_v7()),
        }
    }
}

/// One complete run at `now` under the lease: slices of at most half the lease, the lease
/// renewed between them. `None` when another node holds the lease. Stops early (reported as
/// interrupted) when `cancel` fires or the window closes.
pub async fn run_leased(
    desk: &Desk,
    cfg: &RetentionConfig,
    now: DateTime<Utc>,
    cancel: &CancellationToken,
) -> anyhow::Result<Option<RunReport>> {
    let mut total = RunReport::default();
    loop {
        if !desk
            .store
            .try_lease(LEASE, &cfg.holder, Utc::now(), cfg.lease_ttl)
            .await?
        {
            return Ok(None);
        }
        let slice_ends = std::time::Instant::now()
            + (cfg.lease_ttl / 2)
                .to_std()
                .unwrap_or(Duration::from_secs(30));
        let (window, stop) = (cfg.window, cancel.clone());
        let in_time = move || {
            !stop.is_cancelled()
                && std::time::Instant::now() < slice_ends
                && window.contains(Utc::now().with_timezone(&Amsterdam).time())
        };
        let r = run_paced(desk, &cfg.run, cfg.pause, now, &in_time).await?;
        total.anonymised += r.anonymised;
        total.journal_entries += r.journal_entries;
        total.audit_rows += r.audit_rows;
        let out_of_time = cancel.is_cancelled()
            || !cfg
                .window
                .contains(Utc::now().with_timezone(&Amsterdam).time());
        if !r.interrupted || out_of_time {
            total.interrupted = r.interrupted;
            if !r.interrupted {
                desk.store.release_lease(LEASE, &cfg.holder).await?;
            }
            return Ok(Some(total));
        }
    }
}

/// Runs once a day within the window, until `cancel` fires. A run interrupted by the window's
/// end goes on the next night.
pub async fn run_loop(desk: Desk, cfg: RetentionConfig, cancel: CancellationToken) {
    let desk = Arc::new(desk);
    let mut done_on: Option<chrono::NaiveDate> = None;
    loop {
        let local = Utc::now().with_timezone(&Amsterdam);
        // The night a run belongs to: a window that wraps midnight counts from its start.
        let night = (local - chrono::Duration::hours(12)).date_naive();
        if cfg.window.contains(local.time()) && done_on != Some(night) {
            match run_leased(&desk, &cfg, Utc::now(), &cancel).await {
                Ok(Some(r)) => {
                    tracing::info!(
                        cases = r.anonymised.cases,
                        messages = r.anonymised.messages,
                        contacts = r.anonymised.contacts,
                        journal_entries = r.journal_entries,
                        audit_rows = r.audit_rows,
                        interrupted = r.interrupted,
                        "retention run"
                    );
                    if !r.interrupted {
                        done_on = Some(night);
                    }
                }
                // Another node runs it; look again later (it may die mid-run).
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "retention run failed; trying again later"),
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(cfg.check_every) => {}
        }
    }
}
