//! The desk's background loops: the journal sweep, the outbox sender, the X poller, the SLA
//! timers, the outbound webhook deliveries, retention and the live relay between nodes; each ends when its
//! cancellation token fires, and [`start`] (called by the composition root) starts the chosen ones.
//! May use: webcare-domain, webcare-store, webcare-connectors, webcare-desk.
#![forbid(unsafe_code)]

pub mod live_relay;
pub mod notificaties;
pub mod openklant;
pub mod outbox;
pub mod platform_actions;
pub mod retention;
pub mod sla_worker;
pub mod spikes;
pub mod webhooks;
pub mod x_poller;
pub mod zaak;

use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use webcare_desk::ingest::journal;
use webcare_desk::{Desk, Ingestor};
use webcare_store::Store;

/// Which background loops to run (the composition root decides, from the process's roles).
#[derive(Debug, Clone, Default)]
pub struct Loops {
    /// Journal processing and sweep, outbox sender, X poller.
    pub connectors: Option<WorkerConfig>,
    /// Outbound webhook deliveries.
    pub webhooks: Option<webhooks::RetryPolicy>,
    /// SLA timers and their notifications.
    pub sla: bool,
    /// The other nodes' live events to this node's streams (a node that serves the API).
    pub live_relay: bool,
    /// Anonymising what has passed its retention term.
    pub retention: Option<retention::RetentionConfig>,
    /// The zaak jobs and notificaties (they wait while no zaaksysteem is configured), and the
    /// Open Klant jobs (only with `[openklant]`); with the outbox role.
    pub zaak: Option<zaak::ZaakWorkerConfig>,
}

/// Starts the chosen workers over the desk; each ends when `cancel` fires.
pub fn start(desk: &Desk, workers: Loops, cancel: CancellationToken) -> Vec<JoinHandle<()>> {
    let mut handles = Vec::new();
    if let Some(c) = workers.connectors {
        handles.extend(start_connectors(
            desk.store.clone(),
            desk.ingestor.clone(),
            c,
            cancel.clone(),
        ));
    }
    if let Some(policy) = workers.webhooks {
        let w = webhooks::WebhookWorker::new(desk.store.clone(), policy);
        handles.push(tokio::spawn(w.run(cancel.clone())));
    }
    if workers.live_relay {
        handles.push(tokio::spawn(live_relay::run(
            desk.store.clone(),
            cancel.clone(),
        )));
    }
    if let Some(cfg) = workers.retention {
        handles.push(tokio::spawn(retention::run_loop(
            desk.clone(),
            cfg,
            cancel.clone(),
        )));
    }
    if let (Some(cfg), Some(ok)) = (workers.zaak.clone(), desk.openklant.clone()) {
        // Open Klant registrations run beside the zaak jobs (same role, same retry policy).
        handles.push(tokio::spawn(openklant::run(
            desk.store.clone(),
            ok,
            cfg,
            cancel.clone(),
        )));
    }
    if let Some(cfg) = workers.zaak {
        // The notifications Open Notificaties delivers are processed beside the zaak jobs. Both
        // read the settings in force on each pass and wait while there is no zaaksysteem.
        handles.push(tokio::spawn(notificaties::run(
            desk.clone(),
            cfg.clone(),
            cancel.clone(),
        )));
        handles.push(tokio::spawn(zaak::run(desk.clone(), cfg, cancel.clone())));
    }
    if workers.sla {
        // Warnings and breaches go to the live events and webhooks.
        let sink = Arc::new(sla_worker::LiveAlertSink::new(desk.store.clone()));
        // Theme spikes are alerts too (to the team lead and communications).
        handles.push(tokio::spawn(spikes::run_loop(desk.clone(), cancel.clone())));
        handles.push(sla_worker::SlaWorker::new(desk.store.clone(), sink).spawn(cancel));
    }
    handles
}

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

/// Starts the connector workers (journal sweep, outbox, X poller); each ends when `cancel` fires.
pub fn start_connectors(
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
            until_cancelled(&cancel, every, || async {
                match journal::sweep(&store, &ingestor, 32).await {
                    Ok(n) => n > 0,
                    Err(e) => {
                        tracing::warn!(error = %e, "journal sweep failed");
                        false
                    }
                }
            })
            .await
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

/// Runs `pass` again and again until `cancel` fires: at once while it answers that it found work,
/// else after `idle`.
pub(crate) async fn until_cancelled<F, Fut>(
    cancel: &CancellationToken,
    idle: std::time::Duration,
    mut pass: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    loop {
        let busy = pass().await;
        if cancel.is_cancelled() {
            break;
        }
        if !busy {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(idle) => {}
            }
        }
    }
}

/// A response's headers as the connectors' pure parsers take them (a value that is not text
/// reads as empty).
pub(crate) fn header_pairs(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect()
}
