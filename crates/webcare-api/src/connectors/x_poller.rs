//! The X poller (placeholder until the full poller lands).

use crate::ingestor::Ingestor;
use std::sync::Arc;
use webcare_store::Store;

#[derive(Debug, Clone, Default)]
pub struct PollerConfig {}

pub async fn run(
    _store: Arc<dyn Store>,
    _ingestor: Ingestor,
    _client: reqwest::Client,
    _cfg: PollerConfig,
    cancel: tokio_util::sync::CancellationToken,
) {
    cancel.cancelled().await;
}
