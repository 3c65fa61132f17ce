//! The ingest pipeline's write side: requests hand their message to a writer task and wait for
//! the commit. A writer takes whatever is queued (up to `max_batch`) and writes it in one
//! transaction, so under load many messages share one durable commit (group commit), while a lone
//! message is written at once. Nothing is acknowledged before its transaction has committed.

use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex};
use webcare_store::{IngestItem, IngestOutcome, Store, StoreError};

struct Job {
    item: IngestItem,
    done: oneshot::Sender<Result<IngestOutcome, StoreError>>,
}

/// Handle to the writer tasks; cheap to clone.
#[derive(Clone)]
pub struct Ingestor {
    tx: mpsc::Sender<Job>,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the desk is shutting down")]
    ShuttingDown,
}

impl Ingestor {
    /// Starts `writers` writer tasks. SQLite has one writer at a time anyway, so it gets one task;
    /// PostgreSQL benefits from a few concurrent batches. The tasks end when every handle is
    /// dropped and the queue is drained.
    pub fn start(store: Arc<dyn Store>, writers: usize, max_batch: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>(max_batch * writers.max(1) * 4);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..writers.max(1) {
            let rx = rx.clone();
            let store = store.clone();
            tokio::spawn(async move {
                loop {
                    let batch = {
                        let mut rx = rx.lock().await;
                        let Some(first) = rx.recv().await else { break };
                        let mut batch = vec![first];
                        while batch.len() < max_batch {
                            match rx.try_recv() {
                                Ok(job) => batch.push(job),
                                Err(_) => break,
                            }
                        }
                        batch
                    };
                    let (items, dones): (Vec<_>, Vec<_>) =
                        batch.into_iter().map(|j| (j.item, j.done)).unzip();
                    let results = store.ingest_batch(items).await;
                    for (done, result) in dones.into_iter().zip(results) {
                        // The requester may have gone (client hung up); the message is stored
                        // all the same and a retry will find it.
                        let _ = done.send(result);
                    }
                }
            });
        }
        Self { tx }
    }

    /// Stores one message durably; returns once its transaction has committed.
    pub async fn ingest(&self, item: IngestItem) -> Result<IngestOutcome, IngestError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Job { item, done })
            .await
            .map_err(|_| IngestError::ShuttingDown)?;
        Ok(wait.await.map_err(|_| IngestError::ShuttingDown)??)
    }
}

impl From<IngestError> for crate::error::ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Store(e) => e.into(),
            IngestError::ShuttingDown => crate::error::ApiError::Unavailable(e.to_string()),
        }
    }
}
