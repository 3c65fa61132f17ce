//! The ingest pipeline's write side: requests hand their message to a writer task and wait for
//! the commit. A writer takes whatever is queued (up to `max_batch`) and writes it in one
//! transaction, so under load many messages share one durable commit (group commit), while a lone
//! message is written at once. Nothing is acknowledged before its transaction has committed.

use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use webcare_store::{IngestItem, IngestOutcome, Store, StoreError};

struct Job {
    item: IngestItem,
    done: oneshot::Sender<Result<IngestOutcome, StoreError>>,
}

/// Handle to the writer tasks; cheap to clone.
#[derive(Clone)]
pub struct Ingestor {
    /// One queue per writer; a message goes to the writer of its author (see [`shard`]).
    txs: Arc<[mpsc::Sender<Job>]>,
    accounts: crate::ingest::accounts::AccountCache,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the desk is shutting down")]
    ShuttingDown,
    /// The message cannot be stored at all (see `InboundMessage::check`): nothing was written.
    #[error("refused: {0}")]
    Refused(#[from] webcare_domain::inbound::Refusal),
}

/// The writer for a message: by account and author, so one citizen's messages (their identity,
/// their private case, their comment thread) are never written by two concurrent transactions.
/// Concurrent batches touching the same rows wait on each other's locks and can deadlock
/// (PostgreSQL then aborts one after `deadlock_timeout`, 1 s, and the batch falls back to one
/// transaction per message); measured with webcare-bench, see BENCHMARKS.md.
fn shard(item: &IngestItem, writers: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    item.channel_account_id.hash(&mut h);
    item.message.author.platform_user_id.hash(&mut h);
    (h.finish() % writers as u64) as usize
}

/// Counts a batch's outcomes, once per outcome kind (a no-op without a metrics recorder).
fn count_outcomes(results: &[Result<IngestOutcome, StoreError>]) {
    let (mut stored, mut duplicate, mut failed) = (0u64, 0u64, 0u64);
    for r in results {
        match r {
            Ok(o) if o.created => {
                stored += 1;
                for f in &o.message.flags {
                    if matches!(
                        f.as_str(),
                        webcare_domain::flags::CONTROL_CHARACTERS_REMOVED
                            | webcare_domain::flags::TEXT_TRUNCATED
                            | webcare_domain::flags::SENT_AT_CLAMPED
                    ) {
                        metrics::counter!(crate::metrics::INGEST_CORRECTED, "flag" => f.clone())
                            .increment(1);
                    }
                }
            }
            Ok(_) => duplicate += 1,
            Err(_) => failed += 1,
        }
    }
    for (outcome, n) in [
        ("stored", stored),
        ("duplicate", duplicate),
        ("failed", failed),
    ] {
        if n > 0 {
            metrics::counter!(crate::metrics::INGEST_MESSAGES, "outcome" => outcome).increment(n);
        }
    }
}

impl Ingestor {
    /// Starts `writers` writer tasks. SQLite has one writer at a time anyway, so it gets one task;
    /// PostgreSQL benefits from a few concurrent batches. The tasks end when every handle is
    /// dropped and the queue is drained.
    pub fn start(store: Arc<dyn Store>, writers: usize, max_batch: usize) -> Self {
        let mut txs = Vec::new();
        let accounts = crate::ingest::accounts::AccountCache::new(store.clone());
        let auto_reply = crate::auto_reply::AutoReplier::new(store.clone(), accounts.clone());
        for _ in 0..writers.max(1) {
            let (tx, mut rx) = mpsc::channel::<Job>(max_batch * 4);
            txs.push(tx);
            let store = store.clone();
            let auto_reply = auto_reply.clone();
            tokio::spawn(async move {
                while let Some(first) = rx.recv().await {
                    let mut batch = vec![first];
                    while batch.len() < max_batch {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    let (items, dones): (Vec<_>, Vec<_>) =
                        batch.into_iter().map(|j| (j.item, j.done)).unzip();
                    let results = store.ingest_batch(items).await;
                    count_outcomes(&results);
                    // Hook after the commit: out-of-hours auto-replies (no IO here; see auto_reply).
                    auto_reply.after_commit(&results);
                    for (done, result) in dones.into_iter().zip(results) {
                        // The requester may have gone (client hung up); the message is stored
                        // all the same and a retry will find it.
                        let _ = done.send(result);
                    }
                }
            });
        }
        Self {
            txs: txs.into(),
            accounts,
        }
    }

    /// The channel-account cache this ingestor's hooks use; the intake shares it.
    pub fn accounts(&self) -> &crate::ingest::accounts::AccountCache {
        &self.accounts
    }

    /// Stores one message durably; returns once its transaction has committed. Every door
    /// passes here, so this is where the one input contract is applied: the message is
    /// normalised (controls removed, over-long text cut, an implausible time clamped, each
    /// flagged) or refused.
    pub async fn ingest(&self, mut item: IngestItem) -> Result<IngestOutcome, IngestError> {
        item.message.normalise(item.received_at)?;
        let (done, wait) = oneshot::channel();
        let tx = &self.txs[shard(&item, self.txs.len())];
        tx.send(Job { item, done })
            .await
            .map_err(|_| IngestError::ShuttingDown)?;
        Ok(wait.await.map_err(|_| IngestError::ShuttingDown)??)
    }
}

impl From<IngestError> for crate::error::DeskError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Store(e) => e.into(),
            IngestError::ShuttingDown => crate::error::DeskError::Unavailable(e.to_string()),
            IngestError::Refused(r) => {
                crate::error::DeskError::invalid("body", "refused", r.to_string())
            }
        }
    }
}
