//! Processing journaled deliveries: parse, then act on every event in body order.
//!
//! * Citizen messages go through the ingest path (dedupe, threading, BSN flag); consecutive ones
//!   are handed to the group-commit ingestor together.
//! * Echoes of our own messages never create a case: they are linked to the reply they confirm
//!   (by platform id, or, for a reply whose send was never recorded, by text and target), else
//!   threaded into the parent's case (a reply typed in the platform's own inbox), else dropped
//!   with a log line.
//! * Edits keep the old text; deletes set `deleted_at`; statuses merge into the reply's delivery
//!   state (never backwards). An edit, delete or status for something unknown is logged and
//!   acknowledged.
//! * `Ignored` items are logged at debug level and acknowledged.
//!
//! A store error (database busy, connection lost) fails the entry with a retry at an
//! exponential delay; after [`MAX_ATTEMPTS`] it stays `failed` with its error, for
//! `webcare journal replay`. Processing is idempotent, so a retry after a partial run is safe.

use super::ingestor::{IngestError, Ingestor};
use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use std::collections::HashMap;
use std::sync::Arc;
use webcare_connectors::meta::{meta_object, parse_meta_webhook};
use webcare_connectors::x::{parse_account_activity, parse_dm_events_page, parse_mentions_page};
use webcare_domain::inbound::{AddressedEvent, InboundEvent, InboundMessage};
use webcare_domain::{ChannelKind, Direction};
use webcare_store::connectors::{
    EchoOutcome, JournalEntry, JournalOutcome, JournalSource, RejectedItem,
};
use webcare_store::{ChannelAccount, IngestItem, Store, StoreError};

/// Attempts before an entry is parked as `failed`.
pub const MAX_ATTEMPTS: i64 = 8;
/// An edit, delete or status whose target is not stored yet (it may be in a delivery being
/// processed right now, or arrive later) makes the entry retry this often before it is
/// acknowledged as "unknown target".
pub const UNKNOWN_TARGET_ATTEMPTS: i64 = 4;
/// How long a claimed entry is reserved for its processor.
pub const LEASE: Duration = Duration::seconds(60);

/// What one entry did, for the journal's summary and the logs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub messages: usize,
    pub new_messages: usize,
    pub echoes_linked: usize,
    pub echoes_threaded: usize,
    pub echoes_dropped: usize,
    pub edits: usize,
    pub deletes: usize,
    pub statuses: usize,
    pub unknown_targets: usize,
    pub ignored: usize,
    /// Items not stored: for an unknown account, or refused by the input contract.
    pub rejected: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "messages={} new={} echoes_linked={} echoes_threaded={} echoes_dropped={} edits={} deletes={} statuses={} unknown_targets={} ignored={} rejected={}",
            self.messages, self.new_messages, self.echoes_linked, self.echoes_threaded,
            self.echoes_dropped, self.edits, self.deletes, self.statuses, self.unknown_targets,
            self.ignored, self.rejected
        )
    }
}

/// Claims and processes due entries; returns how many were processed.
pub async fn sweep(
    store: &Arc<dyn Store>,
    ingestor: &Ingestor,
    limit: u32,
) -> Result<usize, StoreError> {
    let entries = store.journal_claim(None, Utc::now(), LEASE, limit).await?;
    let n = entries.len();
    process_batch(store, ingestor, entries).await;
    Ok(n)
}

fn retry_delay(attempts: i64) -> Duration {
    Duration::seconds(1i64 << attempts.clamp(0, 8))
}

/// Processes leased entries together (accounts looked up once; their messages meet in the
/// ingestor's group commit) and records their outcomes in one transaction.
pub async fn process_batch(store: &Arc<dyn Store>, ingestor: &Ingestor, batch: Vec<JournalEntry>) {
    if batch.is_empty() {
        return;
    }
    let accounts = AccountLookup::new(store.clone());
    let results = join_all(
        batch
            .iter()
            .map(|e| process_with(store, ingestor, &accounts, e)),
    )
    .await;
    let outcomes: Vec<_> = batch
        .iter()
        .zip(results)
        .map(|(e, r)| (e.id, outcome_of(e, r)))
        .collect();
    let parked: Vec<_> = batch
        .iter()
        .zip(&outcomes)
        .filter_map(|(e, (_, o))| match o {
            JournalOutcome::Failed {
                error,
                retry_at: None,
            } => Some(parked_event(e, error)),
            _ => None,
        })
        .collect();
    let rejected: usize = outcomes
        .iter()
        .map(|(_, o)| match o {
            JournalOutcome::Processed { rejected, .. } => rejected.len(),
            _ => 0,
        })
        .sum();
    if let Err(e) = store.journal_finish_many(outcomes).await {
        // The leases run out and the sweep processes them again; processing is idempotent.
        tracing::warn!(error = %e, entries = batch.len(), "recording journal outcomes failed");
        return;
    }
    if rejected > 0 {
        metrics::counter!(crate::metrics::INGEST_REJECTED).increment(rejected as u64);
    }
    // An accepted delivery that will not be processed without an operator must not go unseen:
    // a live event per parked entry, besides `GET /api/v1/parked-deliveries`.
    if !parked.is_empty() {
        metrics::counter!(crate::metrics::JOURNAL_PARKED).increment(parked.len() as u64);
        if let Err(e) = store.append_events(parked).await {
            tracing::warn!(error = %e, "could not record journal.parked events");
        }
    }
}

/// `journal.parked`: an entry that is kept as failed for an operator (`webcare journal replay`).
/// It belongs to no case, so only callers that see every case (admin, team lead) receive it.
fn parked_event(entry: &JournalEntry, error: &str) -> webcare_store::agent_events::NewEvent {
    webcare_store::agent_events::NewEvent {
        kind: "journal.parked".into(),
        case_id: None,
        team: None,
        assignee: None,
        department_id: None,
        payload: serde_json::json!({
            "journalId": entry.id,
            "source": entry.source.as_str(),
            "receivedAt": entry.received_at,
            "attempts": entry.attempts,
            "error": error,
        }),
    }
}

/// What to record for an entry after processing it (logged here).
pub fn outcome_of(
    entry: &JournalEntry,
    result: Result<(Summary, Vec<RejectedItem>), ProcessError>,
) -> JournalOutcome {
    let id = entry.id;
    let attempts = entry.attempts;
    match result {
        Ok((summary, rejected)) => {
            tracing::debug!(journal = %id, source = entry.source.as_str(), %summary, "delivery processed");
            JournalOutcome::Processed {
                summary: summary.to_string(),
                rejected,
            }
        }
        Err(ProcessError::RetrySoon(error)) => {
            let retry_at = Some(Utc::now() + Duration::milliseconds(300 * attempts.max(1)));
            tracing::info!(journal = %id, attempts, %error, "delivery retried shortly");
            JournalOutcome::Failed { error, retry_at }
        }
        Err(ProcessError::Permanent(error)) => {
            tracing::warn!(journal = %id, %error, "delivery cannot be processed; kept for replay");
            JournalOutcome::Failed {
                error,
                retry_at: None,
            }
        }
        Err(ProcessError::Store(e)) => {
            let error = e.to_string();
            let retry_at = (attempts < MAX_ATTEMPTS).then(|| Utc::now() + retry_delay(attempts));
            tracing::warn!(journal = %id, attempts, %error, retry = retry_at.is_some(), "processing a delivery failed");
            JournalOutcome::Failed { error, retry_at }
        }
    }
}

/// Channel accounts by (kind, external id), looked up once per batch of entries. The entries
/// of a batch are processed concurrently and mostly name the same few accounts, so lookups run
/// one at a time: the first fetches, the others find it.
struct AccountLookup {
    store: Arc<dyn Store>,
    known: tokio::sync::Mutex<HashMap<(ChannelKind, String), Option<ChannelAccount>>>,
}

impl AccountLookup {
    fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            known: Default::default(),
        }
    }

    async fn find(
        &self,
        kind: ChannelKind,
        external_id: &str,
    ) -> Result<Option<ChannelAccount>, StoreError> {
        let mut known = self.known.lock().await;
        let key = (kind, external_id.to_owned());
        if let Some(a) = known.get(&key) {
            return Ok(a.clone());
        }
        let a = self.store.find_account(kind, external_id).await?;
        known.insert(key, a.clone());
        Ok(a)
    }
}

#[derive(Debug)]
pub enum ProcessError {
    /// Will not get better by retrying (unparseable body): parked for replay.
    Permanent(String),
    /// Something it refers to is not stored yet: retried a few times, then acknowledged.
    RetrySoon(String),
    Store(StoreError),
}

impl From<StoreError> for ProcessError {
    fn from(e: StoreError) -> Self {
        ProcessError::Store(e)
    }
}

impl From<IngestError> for ProcessError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Store(e) => ProcessError::Store(e),
            IngestError::ShuttingDown => {
                ProcessError::Store(StoreError::Config("the desk is shutting down".into()))
            }
            // Checked before the ingestor is asked (see `process_with`): not reached.
            IngestError::Refused(r) => ProcessError::Permanent(r.to_string()),
        }
    }
}

/// Parses an entry into addressed events and the kind their addresses refer to.
fn events_of(
    entry: &JournalEntry,
    account: Option<&ChannelAccount>,
) -> Result<(ChannelKind, Vec<AddressedEvent>), String> {
    let at = entry.received_at;
    match entry.source {
        JournalSource::Meta => {
            let object = meta_object(&entry.body).map_err(|e| e.to_string())?;
            Ok((
                object.channel_kind(),
                parse_meta_webhook(&entry.body, at).map_err(|e| e.to_string())?,
            ))
        }
        JournalSource::XActivity => Ok((
            ChannelKind::X,
            parse_account_activity(&entry.body, at).map_err(|e| e.to_string())?,
        )),
        JournalSource::XMentions | JournalSource::XDmEvents => {
            let a = account.ok_or("polled page without its account")?;
            let events = if entry.source == JournalSource::XMentions {
                parse_mentions_page(&entry.body, &a.external_id)
                    .map_err(|e| e.to_string())?
                    .events
            } else {
                parse_dm_events_page(&entry.body, &a.external_id)
                    .map_err(|e| e.to_string())?
                    .events
            };
            Ok((
                ChannelKind::X,
                events
                    .into_iter()
                    .map(|event| AddressedEvent {
                        account_external_id: a.external_id.clone(),
                        event,
                    })
                    .collect(),
            ))
        }
    }
}

/// Processes one entry, with account lookups shared by its batch. What is known is stored; an
/// item for an account the desk does not know (a stale subscription of one page among others)
/// or one the input contract refuses (a message without a sender) is returned as rejected, to be
/// recorded with the entry and shown to the admin.
async fn process_with(
    store: &Arc<dyn Store>,
    ingestor: &Ingestor,
    accounts: &AccountLookup,
    entry: &JournalEntry,
) -> Result<(Summary, Vec<RejectedItem>), ProcessError> {
    let polled_account = match entry.channel_account_id {
        Some(id) => store.get_channel_account(id).await?,
        None => None,
    };
    let (kind, events) =
        events_of(entry, polled_account.as_ref()).map_err(ProcessError::Permanent)?;
    let mut summary = Summary::default();
    let mut rejected = Vec::new();
    let mut batch: Vec<IngestItem> = Vec::new();
    for (seq, ev) in events.into_iter().enumerate() {
        let AddressedEvent {
            account_external_id: external_id,
            mut event,
        } = ev;
        let reject = |reason: String, pmid: Option<&str>| RejectedItem {
            seq: seq as i64,
            account_external_id: external_id.clone(),
            platform_message_id: pmid.map(str::to_owned),
            reason,
        };
        let account = accounts.find(kind, &external_id).await?;
        let Some(account) = account else {
            tracing::warn!(journal = %entry.id, account = %external_id, %kind, "item for an unknown channel account not stored; recorded");
            summary.rejected += 1;
            let pmid = match &event {
                InboundEvent::Message(m) => Some(m.platform_message_id.as_str()),
                _ => None,
            };
            rejected.push(reject(
                format!("no {kind} channel account with this id"),
                pmid,
            ));
            continue;
        };
        // The one input contract (see `InboundMessage::normalise`), before anything is stored:
        // echoes and edits too, which do not pass the ingestor.
        match &mut event {
            InboundEvent::Message(m) => {
                if let Err(r) = m.normalise(entry.received_at) {
                    tracing::warn!(journal = %entry.id, account = %account.id, reason = %r, "message refused by the input contract; recorded");
                    summary.rejected += 1;
                    rejected.push(reject(r.to_string(), Some(&m.platform_message_id)));
                    continue;
                }
            }
            InboundEvent::Edit { text, .. } => webcare_domain::inbound::normalise_text(text),
            _ => {}
        }
        match event {
            InboundEvent::Message(m) if m.direction == Direction::Inbound => {
                batch.push(IngestItem {
                    channel_account_id: account.id,
                    message: m,
                    received_at: entry.received_at,
                    default_team: account.default_team.clone(),
                });
                continue;
            }
            other => {
                flush(ingestor, &mut batch, &mut summary).await?;
                apply(
                    store,
                    ingestor,
                    &account,
                    other,
                    entry.received_at,
                    &mut summary,
                )
                .await?;
            }
        }
    }
    flush(ingestor, &mut batch, &mut summary).await?;
    if summary.unknown_targets > 0 && entry.attempts < UNKNOWN_TARGET_ATTEMPTS {
        // Everything above is idempotent, so the whole entry can simply run again.
        return Err(ProcessError::RetrySoon(format!(
            "{} edit/delete/status target(s) not stored yet",
            summary.unknown_targets
        )));
    }
    Ok((summary, rejected))
}

async fn flush(
    ingestor: &Ingestor,
    batch: &mut Vec<IngestItem>,
    summary: &mut Summary,
) -> Result<(), ProcessError> {
    if batch.is_empty() {
        return Ok(());
    }
    let results = join_all(batch.drain(..).map(|item| ingestor.ingest(item))).await;
    for r in results {
        let outcome = r?;
        summary.messages += 1;
        if outcome.created {
            summary.new_messages += 1;
        }
    }
    Ok(())
}

async fn apply(
    store: &Arc<dyn Store>,
    ingestor: &Ingestor,
    account: &ChannelAccount,
    event: InboundEvent,
    received_at: DateTime<Utc>,
    summary: &mut Summary,
) -> Result<(), ProcessError> {
    match event {
        InboundEvent::Message(m) => echo(store, ingestor, account, m, received_at, summary).await?,
        InboundEvent::Edit {
            platform_message_id,
            new_platform_message_id,
            text,
            edited_at,
        } => {
            // X edits carry a new id; the message keeps its original id.
            if store
                .apply_edit(account.id, &platform_message_id, &text, edited_at)
                .await?
            {
                summary.edits += 1;
            } else {
                summary.unknown_targets += 1;
                tracing::info!(account = %account.id, message = %platform_message_id, new = ?new_platform_message_id, "edit of an unknown message; acknowledged");
            }
        }
        InboundEvent::Delete {
            platform_message_id,
            deleted_at,
        } => {
            if store
                .apply_delete(account.id, &platform_message_id, deleted_at)
                .await?
            {
                summary.deletes += 1;
            } else {
                summary.unknown_targets += 1;
                tracing::info!(account = %account.id, message = %platform_message_id, "delete of an unknown message; acknowledged");
            }
        }
        InboundEvent::Status {
            platform_message_id,
            state,
            error,
            ..
        } => match store
            .apply_status(account.id, &platform_message_id, state, error.as_deref())
            .await?
        {
            Some(applied) => {
                summary.statuses += 1;
                // Hook: the reply's delivery state moved (`reply.updated`, see crate::live).
                if applied.changed {
                    crate::live::reply_updated_by_id(store, applied.reply_id).await;
                }
            }
            None => {
                summary.unknown_targets += 1;
                tracing::info!(account = %account.id, message = %platform_message_id, state = state.as_str(), "status for no known reply; acknowledged");
            }
        },
        InboundEvent::Ignored { reason } => {
            summary.ignored += 1;
            tracing::debug!(account = %account.id, %reason, "delivery item ignored");
        }
    }
    Ok(())
}

async fn echo(
    store: &Arc<dyn Store>,
    ingestor: &Ingestor,
    account: &ChannelAccount,
    m: InboundMessage,
    received_at: DateTime<Utc>,
    summary: &mut Summary,
) -> Result<(), ProcessError> {
    match store.link_echo(account.id, &m, received_at).await? {
        EchoOutcome::Duplicate => {}
        EchoOutcome::LinkedToReply { .. } => summary.echoes_linked += 1,
        EchoOutcome::AdoptedByReply { reply_id, .. } => {
            // The echo proves an in-doubt reply went out: `link_echo` recorded it with its
            // effects on the case (the clocks, the status) in one transaction; here only the
            // live `reply.updated`.
            summary.echoes_linked += 1;
            crate::live::answered_by_id(store, reply_id, m.sent_at).await?;
        }
        EchoOutcome::NotLinked => {
            let pmid = m.platform_message_id.clone();
            let item = IngestItem {
                channel_account_id: account.id,
                message: m,
                received_at,
                default_team: account.default_team.clone(),
            };
            match ingestor.ingest(item).await {
                Ok(out) => {
                    summary.echoes_threaded += 1;
                    // A reply typed in the platform's own inbox answers the citizen too.
                    if out.created {
                        store
                            .on_reply_sent(out.message.case_id, out.message.sent_at, false)
                            .await?;
                    }
                }
                // Our own message with no case to join (a page post, a reply in a thread we do
                // not track): it never opens a case.
                Err(IngestError::Store(StoreError::NotFound(_))) => {
                    summary.echoes_dropped += 1;
                    tracing::info!(account = %account.id, message = %pmid, "echo of our own message with no case; dropped");
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}
