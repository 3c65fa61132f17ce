//! Ingest: every door (signed webhooks through the journal, the X poller, the API, the demo)
//! ends in the [`Ingestor`], which applies the one input contract and writes in group commits.

pub mod accounts;
pub mod ingestor;
pub mod intake;
pub mod journal;

pub use ingestor::{IngestError, Ingestor};
pub use intake::{Intake, IntakeConfig};

/// How many ingest writer tasks run and how many messages one transaction takes at most.
#[derive(Debug, Clone, Copy)]
pub struct IngestConfig {
    pub writers: usize,
    pub max_batch: usize,
}
