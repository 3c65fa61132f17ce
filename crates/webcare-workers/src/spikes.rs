//! The spike check (issue 16, `webcare_desk::spikes`), with the SLA role: once a minute, on one
//! node at a time (the `theme-spikes` lease). A node that dies leaves the lease to run out; the
//! store's one-open-episode index keeps an episode to one alert whoever runs the pass.

use chrono::Utc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use webcare_desk::spikes::{check, Pass};
use webcare_desk::Desk;

/// The lease's name.
pub const LEASE: &str = "theme-spikes";
const EVERY: Duration = Duration::from_secs(60);

/// One pass under the lease held by `holder`: `None` when another node holds it.
pub async fn run_leased(desk: &Desk, holder: &str) -> anyhow::Result<Option<Pass>> {
    // The lease outlives two intervals, so the holder keeps it while it runs.
    if !desk
        .store
        .try_lease(LEASE, holder, Utc::now(), chrono::Duration::seconds(150))
        .await?
    {
        return Ok(None);
    }
    Ok(Some(check(desk, Utc::now()).await?))
}

/// Runs a pass a minute until `cancel` fires.
pub async fn run_loop(desk: Desk, cancel: CancellationToken) {
    let holder = format!("node-{}", uuid::Uuid::now_v7());
    loop {
        match run_leased(&desk, &holder).await {
            Ok(Some(p)) => {
                for s in &p.started {
                    tracing::warn!(theme = %s.theme, last_hour = s.last_hour, usual = s.usual, "theme spike");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "spike check failed; trying again"),
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
    let _ = desk.store.release_lease(LEASE, &holder).await;
}
