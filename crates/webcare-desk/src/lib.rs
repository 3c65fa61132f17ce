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
pub mod classification;
pub mod costs;
pub mod error;
pub mod ingest;
pub mod live;
pub mod metrics;
pub mod notificaties;
pub mod openklant;
pub mod patch;
pub mod people;
pub mod platform_actions;
pub mod principal;
pub mod replies;
pub mod retention;
pub mod routing;
pub mod sla_policies;
pub mod spikes;
pub mod survey;
pub mod tokens;
pub mod webhooks;
pub mod zgw;
pub mod zgw_admin;
pub mod zgw_client;
pub mod zgw_source;

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
    /// The municipality's zaaksysteem, when configured (`[zgw]` in the file, or the admin
    /// API's stored settings): read the settings in force with [`Desk::zgw`].
    pub zgw: Arc<zgw_source::ZgwSource>,
    /// The municipality's Open Klant, when configured (`[openklant]`).
    pub openklant: Option<Arc<openklant::OpenKlantSettings>>,
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
            zgw: Arc::new(zgw_source::ZgwSource::new(None)),
            openklant: None,
        }
    }

    /// With the municipality's zaaksysteem (checked settings).
    pub fn with_zgw(mut self, zgw: Option<zgw::ZgwSettings>) -> Self {
        self.zgw = Arc::new(zgw_source::ZgwSource::new(zgw));
        self
    }

    /// The zaaksysteem settings in force now (stored ones before the file's); `None`: none.
    pub async fn zgw(&self) -> Option<Arc<zgw::ZgwSettings>> {
        self.zgw.current(&*self.store).await
    }

    /// With the municipality's Open Klant (checked settings).
    pub fn with_openklant(mut self, ok: Option<openklant::OpenKlantSettings>) -> Self {
        self.openklant = ok.map(Arc::new);
        self
    }
}
