//! Webhook intake: accepted deliveries are journaled with group commit and then processed in
//! batches, without a claim per delivery.
//!
//! A webhook handler hands its verified body to the journal writer and waits for the commit;
//! the writer takes whatever is queued (up to `max_batch`) and inserts it in one transaction,
//! already leased to this node. Only then are the requests answered, so an acknowledged delivery
//! is durable. The committed entries go straight to the processor, which runs a batch of entries
//! concurrently (their messages meet again in the ingestor's group commit) and records all their
//! outcomes in one transaction. If the node dies in between, the lease runs out and the journal
//! sweep processes what is left; processing is idempotent.

use super::ingestor::Ingestor;
use super::journal;
use crate::error::DeskError;
use chrono::{Duration, Utc};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Semaphore};
use uuid::Uuid;
use webcare_domain::ChannelKind;
use webcare_store::connectors::{JournalEntry, JournalSource, NewJournalEntry};
use webcare_store::{ChannelAccount, Store, StoreError};

/// How the intake batches.
#[derive(Debug, Clone)]
pub struct IntakeConfig {
    /// Most deliveries in one journal transaction.
    pub max_batch: usize,
    /// How long entries are reserved for this node's processor before the sweep may take them.
    pub lease: Duration,
    /// Batches processed at the same time.
    pub concurrency: usize,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        Self {
            max_batch: 512,
            lease: journal::LEASE,
            concurrency: 4,
        }
    }
}

struct Job {
    entry: NewJournalEntry,
    /// `Err` when the batch could not be journaled (the cause is logged, not answered).
    done: oneshot::Sender<Result<Uuid, ()>>,
}

/// Handle to the intake tasks; cheap to clone.
#[derive(Clone)]
pub struct Intake {
    tx: mpsc::Sender<Job>,
    /// Shared with the ingestor's auto-reply hook (see `crate::ingest::accounts`).
    accounts: super::accounts::AccountCache,
}

impl Intake {
    /// Starts the journal writer and the processor. They end when every handle is dropped.
    pub fn start(store: Arc<dyn Store>, ingestor: Ingestor, cfg: IntakeConfig) -> Self {
        let (tx, rx) = mpsc::channel::<Job>(cfg.max_batch * 4);
        // Committed batches wait here; a full queue slows the writer, and so the webhooks.
        let (ptx, prx) = mpsc::channel::<Vec<JournalEntry>>(cfg.concurrency * 2);
        let accounts = ingestor.accounts().clone();
        tokio::spawn(write_loop(store.clone(), rx, ptx, cfg.clone()));
        tokio::spawn(process_loop(store, ingestor, prx, cfg.concurrency));
        Self { tx, accounts }
    }

    /// The live account with this external id, from the short-lived account cache.
    pub async fn find_account(
        &self,
        kind: ChannelKind,
        external_id: &str,
    ) -> Result<Option<ChannelAccount>, StoreError> {
        self.accounts.by_external(kind, external_id).await
    }

    /// Forgets cached accounts: after an account is changed or removed through the API.
    pub fn forget_accounts(&self) {
        self.accounts.forget();
    }

    /// Journals one delivery durably; returns its id once the transaction has committed. When
    /// it cannot be journaled the answer is 503, and the platform delivers it again.
    pub async fn accept(
        &self,
        source: JournalSource,
        account: Option<Uuid>,
        body: Vec<u8>,
    ) -> Result<Uuid, DeskError> {
        metrics::counter!(crate::metrics::WEBHOOK_ACCEPTED, "source" => source.as_str())
            .increment(1);
        let (done, wait) = oneshot::channel();
        let entry = NewJournalEntry {
            source,
            channel_account_id: account,
            body,
            received_at: Utc::now(),
        };
        let down = || DeskError::Unavailable("the desk is shutting down".into());
        self.tx
            .send(Job { entry, done })
            .await
            .map_err(|_| down())?;
        wait.await.map_err(|_| down())?.map_err(|_| {
            DeskError::Unavailable("the delivery could not be journaled; deliver it again".into())
        })
    }
}

async fn write_loop(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Job>,
    ptx: mpsc::Sender<Vec<JournalEntry>>,
    cfg: IntakeConfig,
) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < cfg.max_batch {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let (entries, dones): (Vec<_>, Vec<_>) =
            jobs.into_iter().map(|j| (j.entry, j.done)).unzip();
        match store.journal_append_many(entries, Some(cfg.lease)).await {
            Ok(stored) => {
                for (done, e) in dones.into_iter().zip(&stored) {
                    // A requester that hung up: the delivery is journaled all the same.
                    let _ = done.send(Ok(e.id));
                }
                if ptx.send(stored).await.is_err() {
                    // The processor is gone (shutting down): the sweep takes them after the lease.
                    tracing::info!("journal processor stopped; entries left for the sweep");
                }
            }
            Err(e) => {
                // Nothing stored: every requester answers 5xx and the platforms retry.
                tracing::warn!(error = %e, "journaling a batch of deliveries failed");
                for done in dones {
                    let _ = done.send(Err(()));
                }
            }
        }
    }
}

async fn process_loop(
    store: Arc<dyn Store>,
    ingestor: Ingestor,
    mut rx: mpsc::Receiver<Vec<JournalEntry>>,
    concurrency: usize,
) {
    let slots = Arc::new(Semaphore::new(concurrency.max(1)));
    while let Some(batch) = rx.recv().await {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        let (store, ingestor) = (store.clone(), ingestor.clone());
        tokio::spawn(async move {
            journal::process_batch(&store, &ingestor, batch).await;
            drop(permit);
        });
    }
}
