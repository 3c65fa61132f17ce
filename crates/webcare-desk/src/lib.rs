//! The desk's use cases, below any door: ingest (one normalised, validated inbound message from
//! any door: the group-commit ingestor, the webhook intake and journal, the account cache), the
//! live hub, the out-of-hours auto-reply, and who may see what ([`Principal`]). No HTTP here: the
//! API maps [`DeskError`] to problem+json, the web app to pages.
//! May use: webcare-domain, webcare-store, webcare-connectors (never webcare-api or webcare-web).
#![forbid(unsafe_code)]

pub mod auto_reply;
pub mod calendars;
pub mod canned;
pub mod case_calendar;
pub mod case_work;
pub mod channel_accounts;
pub mod costs;
pub mod error;
pub mod ingest;
pub mod live;
pub mod metrics;
pub mod notificaties;
pub mod patch;
pub mod people;
pub mod principal;
pub mod replies;
pub mod retention;
pub mod routing;
pub mod sla_policies;
pub mod survey;
pub mod tokens;
pub mod webhooks;
pub mod zgw;

pub use error::{DeskError, DeskResult, InvalidParam, STALE};
pub use ingest::{IngestConfig, IngestError, Ingestor, Intake, IntakeConfig};
pub use principal::{Principal, UserRef};

use std::sync::Arc;
use webcare_store::Store;

/// The desk core: the store, the ingest writers and the webhook intake. The live hub is the
/// store's event log and its broadcast (see [`live`]). Cheap to clone; the HTTP state wraps it.
#[derive(Clone)]
pub struct Desk {
    pub store: Arc<dyn Store>,
    pub ingestor: Ingestor,
    /// Journals verified webhook deliveries (group commit) and processes them.
    pub intake: Intake,
    /// The municipality's zaaksysteem, when configured (`[zgw]`).
    pub zgw: Option<Arc<zgw::ZgwSettings>>,
}

impl Desk {
    /// Starts the ingest writers and the intake over `store`.
    pub fn start(store: Arc<dyn Store>, ingest: IngestConfig, intake: IntakeConfig) -> Self {
        let ingestor = Ingestor::start(store.clone(), ingest.writers, ingest.max_batch);
        let intake = Intake::start(store.clone(), ingestor.clone(), intake);
        Self {
            store,
            ingestor,
            intake,
            zgw: None,
        }
    }

    /// With the municipality's zaaksysteem (checked settings).
    pub fn with_zgw(mut self, zgw: Option<zgw::ZgwSettings>) -> Self {
        self.zgw = zgw.map(Arc::new);
        self
    }
}
