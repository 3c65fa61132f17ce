//! The connectors' IO: processing the webhook journal, the outbox sender and the X poller. The
//! pure parts (signatures, parsing, request building) are in `webcare-connectors`.

pub mod accounts;
pub mod intake;
pub mod journal;
pub mod outbox;
pub mod x_poller;

use crate::ingestor::Ingestor;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use webcare_store::Store;

/// Which connector workers run, and how.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub journal: bool,
    pub outbox: Option<outbox::OutboxConfig>,
    pub x_poller: Option<x_poller::PollerConfig>,
    /// How often the journal is swept for entries whose immediate processing never ran.
    pub journal_sweep: std::time::Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            journal: true,
            outbox: Some(outbox::OutboxConfig::default()),
            x_poller: Some(x_poller::PollerConfig::default()),
            journal_sweep: std::time::Duration::from_secs(1),
        }
    }
}

/// Starts the workers; each ends when `cancel` fires.
pub fn start(
    store: Arc<dyn Store>,
    ingestor: Ingestor,
    cfg: WorkerConfig,
    cancel: CancellationToken,
) -> Vec<JoinHandle<()>> {
    let mut handles = Vec::new();
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .build()
        .unwrap_or_default();
    if cfg.journal {
        let (store, ingestor, cancel) = (store.clone(), ingestor.clone(), cancel.clone());
        let every = cfg.journal_sweep;
        handles.push(tokio::spawn(async move {
            loop {
                let busy = match journal::sweep(&store, &ingestor, 32).await {
                    Ok(n) => n > 0,
                    Err(e) => {
                        tracing::warn!(error = %e, "journal sweep failed");
                        false
                    }
                };
                if cancel.is_cancelled() {
                    break;
                }
                if !busy {
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(every) => {}
                    }
                }
            }
        }));
    }
    if let Some(ocfg) = cfg.outbox {
        handles.push(tokio::spawn(outbox::run(
            store.clone(),
            client.clone(),
            ocfg,
            cancel.clone(),
        )));
    }
    if let Some(pcfg) = cfg.x_poller {
        handles.push(tokio::spawn(x_poller::run(
            store.clone(),
            ingestor,
            client,
            pcfg,
            cancel,
        )));
    }
    handles
}
