//! The case store: repository traits, implemented once over a small dialect seam (`db.rs`) for
//! SQLite and PostgreSQL, each with its own migrations. The backend is chosen from the database
//! URL's scheme in [`connect`].
//! May use: webcare-domain (its rules decide; the store plans with them and writes set-wise).
#![forbid(unsafe_code)]

pub mod agent;
pub mod agent_events;
pub mod classification;
pub mod connectors;
pub mod contacts;
pub mod costs;
pub mod crash;
mod db;
mod entity;
pub mod erase;
mod error;
mod inbox_row;
mod ingest;
mod ingest_effects;
mod ingest_plan;
mod jobs;
pub mod klantcontact;
pub mod notificatie;
pub mod platform_actions;
mod postgres;
pub mod records;
pub mod reports;
pub mod retention;
pub mod routing;
pub mod sla;
mod sql;
mod sqlite;
pub mod surveys;
pub mod testing;
pub mod themes;
pub mod time;
pub mod token;
pub mod versions;
pub mod web_session;
pub mod zaak;
pub mod zgw_admin;

use async_trait::async_trait;
use std::sync::Arc;
use uuid::Uuid;
use webcare_domain::inbound::InboundMessage;

/// Histogram (seconds): how long a write transaction waited for its connection (and, on SQLite,
/// the write lock) before it began: the pool's wait time.
pub const DB_BEGIN_WAIT: &str = "webcare_db_begin_wait_seconds";

pub use agent::AgentStore;
pub use connectors::Connectors;
pub use error::StoreError;
pub use records::*;
pub use web_session::WebSessions;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Channel accounts: the connected platform accounts of a municipality.
#[async_trait]
pub trait ChannelAccounts: Send + Sync {
    async fn create_channel_account(&self, new: NewChannelAccount) -> Result<ChannelAccount>;
    async fn get_channel_account(&self, id: Uuid) -> Result<Option<ChannelAccount>>;
    async fn list_channel_accounts(&self, page: PageRequest) -> Result<Page<ChannelAccount>>;
    async fn update_channel_account(
        &self,
        id: Uuid,
        patch: ChannelAccountPatch,
    ) -> Result<Option<ChannelAccount>>;
    /// Soft delete: the account's cases and messages stay; the platform id is freed.
    async fn delete_channel_account(&self, id: Uuid) -> Result<bool>;
}

/// Cases, their messages and contacts, as the API reads them.
#[async_trait]
pub trait Cases: Send + Sync {
    async fn list_cases(&self, filter: CaseFilter, page: PageRequest) -> Result<Page<CaseRecord>>;
    async fn get_case(&self, id: Uuid) -> Result<Option<CaseRecord>>;
    /// The cases with these ids that exist, in no particular order (one query per 500 ids).
    async fn get_cases(&self, ids: &[Uuid]) -> Result<Vec<CaseRecord>>;
    async fn case_messages(&self, case_id: Uuid) -> Result<Vec<MessageRecord>>;
    async fn get_contact(&self, id: Uuid) -> Result<Option<ContactRecord>>;
    /// Computes the inbox row of up to `batch` cases stored before it existed (migration 0016);
    /// answers how many. Called at start-up until it answers 0.
    async fn backfill_inbox_rows(&self, batch: i64) -> Result<usize>;
    async fn count_cases(&self) -> Result<i64>;
    async fn count_messages(&self) -> Result<i64>;
}

/// The one way in for citizen messages. A batch is written in one transaction (group commit), so
/// the cost of a durable commit is shared by every message in it.
#[async_trait]
pub trait Ingest: Send + Sync {
    async fn ingest_batch(&self, batch: Vec<IngestItem>) -> Vec<Result<IngestOutcome>>;
    async fn get_message(
        &self,
        account: Uuid,
        platform_message_id: &str,
    ) -> Result<Option<MessageRecord>>;
}

/// API tokens, stored hashed.
#[async_trait]
pub trait Tokens: Send + Sync {
    /// Stores a token; one with a `user_id` belongs to that user: its caller acts as them.
    async fn add_token(&self, t: NewToken<'_>) -> Result<TokenRecord>;
    /// A token without a user (the bootstrap admin, an integration).
    async fn create_token(
        &self,
        name: &str,
        role: webcare_domain::Role,
        token_hash: &str,
    ) -> Result<TokenRecord> {
        self.add_token(NewToken {
            user_id: None,
            name,
            role,
            token_hash,
        })
        .await
    }
    /// The live (not revoked) token with this hash.
    async fn find_token(&self, token_hash: &str) -> Result<Option<TokenRecord>>;
    /// A token by id, revoked or not.
    async fn get_token(&self, id: Uuid) -> Result<Option<TokenRecord>>;
    /// Live tokens in id order; only `user_id`'s when given.
    async fn list_tokens(
        &self,
        user_id: Option<Uuid>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Page<TokenRecord>>;
    /// Revokes a live token; `false` when there is none with this id.
    async fn revoke_token(&self, id: Uuid) -> Result<bool>;
    /// Records a use at `at`, unless one was recorded less than `every` before: callers call this
    /// only when the record they read is older than that, so most requests do not write.
    async fn touch_token(
        &self,
        id: Uuid,
        at: chrono::DateTime<chrono::Utc>,
        every: chrono::Duration,
    ) -> Result<()>;
}

/// Audit trail: who did what to which case, including reads.
#[async_trait]
pub trait Audit: Send + Sync {
    async fn record_audit(&self, event: NewAuditEvent) -> Result<()>;
}

/// Everything the service needs from its database.
#[async_trait]
pub trait Store:
    ChannelAccounts
    + Cases
    + Ingest
    + Tokens
    + Audit
    + sla::SlaStore
    + Connectors
    + AgentStore
    + contacts::ContactStore
    + WebSessions
    + routing::RoutingRules
    + reports::ReportStore
    + erase::Erasure
    + retention::Retention
    + costs::CostModels
    + classification::ClassificationStore
    + surveys::Surveys
    + themes::ThemeModels
    + zaak::ZaakJobs
    + klantcontact::KlantcontactJobs
    + notificatie::Notificaties
    + platform_actions::PlatformActions
    + zgw_admin::ZgwAdmin
{
    /// The backend's name: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Ready when the database answers and every migration is applied.
    async fn ready(&self) -> Result<()>;
    async fn close(&self);
    /// The connection pools' state now (every pool of the backend together), for `/metrics`.
    fn pool_stats(&self) -> PoolStats;
    /// Writes a consistent copy of the whole database to the new file `to` while the desk runs.
    /// SQLite only: PostgreSQL answers [`StoreError::Config`] naming its own tools (`pg_dump`).
    async fn backup_to(&self, to: &std::path::Path) -> Result<()>;
}

/// Database connections open, and how many of them are idle (the rest are in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    pub open: u32,
    pub idle: u32,
}

/// One message to ingest, with the account it arrived on.
#[derive(Debug, Clone)]
pub struct IngestItem {
    pub channel_account_id: Uuid,
    pub message: InboundMessage,
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// The account's default team, given to a new case.
    pub default_team: Option<String>,
}

/// Options for connecting.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    /// How long a resolved case can be reopened by a new citizen message.
    pub reopen_window: chrono::Duration,
    /// Register every stored message (and every forward) in Open Klant: the jobs are enqueued
    /// only when this is on (`[openklant]` configured).
    pub openklant: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            reopen_window: webcare_domain::status::default_reopen_window(),
            openklant: false,
        }
    }
}

/// Opens the database named by `url` (`sqlite:` or `postgres:`/`postgresql:`), runs the
/// backend's migrations and returns the store.
pub async fn connect(url: &str, opts: ConnectOptions) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url, &opts).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::PgStore::connect(url, &opts).await?))
    } else {
        Err(StoreError::Config(format!(
            "unsupported database URL scheme in '{}': use sqlite: or postgres:",
            redact_url(url)
        )))
    }
}

/// A database URL with any password replaced, for logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}
