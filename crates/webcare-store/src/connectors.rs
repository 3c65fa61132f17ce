//! Connector storage: the durable webhook journal, message edits/deletes, delivery statuses, echo
//! linking, the reply outbox, poll cursors and named worker leases. Written once for both
//! backends over the dialect seam (`db.rs`).
//!
//! Claims are lease based: a row is taken by moving its `lease_until` into the future in one
//! statement (`UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING` on
//! PostgreSQL; SQLite runs the same statement without the lock clause inside its one immediate
//! writer transaction), so two workers or two nodes never hold the same row at once.

use crate::agent_events::{broadcast, insert_events, NewEvent};
use crate::db::{json, json_opt, query, Arg, SqlCore, Tx};
use crate::records::{ChannelAccount, EditRecord, MessageRecord};
use crate::sql::{rows_into, AccountRow, MessageRow, ACCOUNT_COLS, MESSAGE_COLS};
use crate::time::{from_ms, opt_from_ms, to_ms};
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use uuid::Uuid;
use webcare_domain::inbound::{Author, DeliveryState, InboundMessage};
use webcare_domain::{ChannelKind, Visibility};

/// Where a journaled delivery came from; decides its parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalSource {
    /// `POST /webhooks/meta` (Facebook Page, Messenger, Instagram, WhatsApp).
    Meta,
    /// `POST /webhooks/x` (Account Activity API).
    XActivity,
    /// A page of `GET /2/users/:id/mentions` fetched by the poller.
    XMentions,
    /// A page of `GET /2/dm_events` fetched by the poller.
    XDmEvents,
}

impl JournalSource {
    pub fn as_str(self) -> &'static str {
        match self {
            JournalSource::Meta => "meta",
            JournalSource::XActivity => "x_activity",
            JournalSource::XMentions => "x_mentions",
            JournalSource::XDmEvents => "x_dm_events",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "meta" => JournalSource::Meta,
            "x_activity" => JournalSource::XActivity,
            "x_mentions" => JournalSource::XMentions,
            "x_dm_events" => JournalSource::XDmEvents,
            _ => return None,
        })
    }
}

/// One journaled delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    pub id: Uuid,
    pub source: JournalSource,
    /// The account a poller fetched for (webhooks are addressed inside the body).
    pub channel_account_id: Option<Uuid>,
    pub body: Vec<u8>,
    pub received_at: DateTime<Utc>,
    /// `pending`, `processed` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub summary: Option<String>,
    pub processed_at: Option<DateTime<Utc>>,
}

/// A delivery to journal.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJournalEntry {
    pub source: JournalSource,
    pub channel_account_id: Option<Uuid>,
    pub body: Vec<u8>,
    pub received_at: DateTime<Utc>,
}

/// How processing a journal entry ended.
#[derive(Debug, Clone, PartialEq)]
pub enum JournalOutcome {
    /// Done; `rejected` lists the items that were not stored (recorded once per item).
    Processed {
        summary: String,
        rejected: Vec<RejectedItem>,
    },
    /// Try again at `retry_at`, or keep it as `failed` (replayable) when `None`.
    Failed {
        error: String,
        retry_at: Option<DateTime<Utc>>,
    },
}

/// A failed journal entry as an operator sees it: never the body (it holds personal data).
#[derive(Debug, Clone, PartialEq)]
pub struct JournalFailure {
    pub id: Uuid,
    pub source: JournalSource,
    pub channel_account_id: Option<Uuid>,
    pub received_at: DateTime<Utc>,
    pub attempts: i64,
    pub error: Option<String>,
}

/// An item of a processed delivery that was not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedItem {
    /// Position of the item among the delivery's events: with the entry, its identity.
    pub seq: i64,
    /// The platform id it was addressed to (page id, phone number id, X user id).
    pub account_external_id: String,
    pub platform_message_id: Option<String>,
    pub reason: String,
}

/// A recorded [`RejectedItem`] as the admin sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedRecord {
    pub id: Uuid,
    pub journal_id: Uuid,
    pub source: JournalSource,
    pub received_at: DateTime<Utc>,
    pub item: RejectedItem,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JournalStats {
    pub pending: i64,
    pub processed: i64,
    pub failed: i64,
    /// When the oldest pending entry was received (the journal's lag), if any is pending.
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// Queue depths, for the metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Replies `pending` or `sending`.
    pub outbox_pending: i64,
    pub outbox_failed: i64,
    /// SLA clocks with a warning or breach still to fire.
    pub clocks_armed: i64,
    /// Outbound webhook deliveries not yet delivered.
    pub webhook_pending: i64,
}

/// What linking an echo of our own message did.
#[derive(Debug, Clone, PartialEq)]
pub enum EchoOutcome {
    /// Already stored: nothing changed.
    Duplicate,
    /// Stored in the case of the reply with this platform message id.
    LinkedToReply { reply_id: Uuid, case_id: Uuid },
    /// A reply in `sending` with the same text and target had no platform id yet (the worker
    /// died between send and record): the echo proves it was sent, so it takes the echo's id.
    AdoptedByReply { reply_id: Uuid, case_id: Uuid },
    /// No reply matches: the caller may still thread it through ingest (a reply typed in the
    /// platform's own inbox joins its parent's case) or drop it.
    NotLinked,
}

/// An approved WhatsApp message template, as registered with Meta.
// For a reply: sent as `type: template` outside the 24-hour window, or when the reply has no
// text. Stored as JSON; the API takes and shows it as it is (`WhatsAppTemplateBody`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = WhatsAppTemplateBody))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplyTemplate {
    /// The template's name: lowercase letters, digits and `_`.
    pub name: String,
    /// Its language code, e.g. `nl` or `en_US`.
    pub language: String,
    /// Values for the body's `{{1}}`, `{{2}}`, ... in order.
    #[serde(default)]
    pub parameters: Vec<String>,
}

impl ReplyTemplate {
    /// How a sent template reads in the case's history (the platform has the real text).
    pub fn describe(&self) -> String {
        if self.parameters.is_empty() {
            format!("[WhatsApp-sjabloon {} ({})]", self.name, self.language)
        } else {
            format!(
                "[WhatsApp-sjabloon {} ({}): {}]",
                self.name,
                self.language,
                self.parameters.join(" | ")
            )
        }
    }
}

/// A delivery status merged into a reply.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusApplied {
    pub reply_id: Uuid,
    pub case_id: Uuid,
    /// The reply's state after the merge (statuses never go backwards).
    pub state: DeliveryState,
    /// Whether the state moved (a repeated or older status changes nothing).
    pub changed: bool,
}

/// A reply to enqueue.
#[derive(Debug, Clone)]
pub struct NewReply {
    /// The idempotency key: enqueueing the same id twice returns the first reply.
    pub id: Uuid,
    pub case_id: Uuid,
    pub channel_account_id: Uuid,
    pub text: String,
    pub visibility: Visibility,
    pub in_reply_to: Option<String>,
    pub recipient: Option<String>,
    /// A holding answer ("we're looking into it"): stops the reaction clock only.
    pub process_answer: bool,
    /// Who wrote it (audit actor).
    pub author: String,
    /// The canned answer the reply was made from, if any.
    pub canned_answer_id: Option<Uuid>,
    pub whatsapp_template: Option<ReplyTemplate>,
    /// The out-of-hours auto-reply: at most one per case (a unique index), and sending it does not
    /// count as an answer.
    pub auto_reply: bool,
}

// The API shows it as it is (`Reply`), without who it is for and who wrote it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Reply))]
#[serde(rename_all = "camelCase")]
pub struct ReplyRecord {
    pub id: Uuid,
    pub case_id: Uuid,
    pub channel_account_id: Uuid,
    pub text: String,
    pub visibility: Visibility,
    pub in_reply_to: Option<String>,
    #[serde(skip)]
    pub recipient: Option<String>,
    pub process_answer: bool,
    // The audit actor.
    #[serde(skip)]
    pub author: String,
    /// pending, sending, sent, delivered, read or failed.
    pub state: DeliveryState,
    pub attempts: i64,
    // When the next attempt is due: only while the reply is pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub platform_message_id: Option<String>,
    /// Why it failed, for the agent, with what to do instead; also why the outbox gave up on it
    /// ("gave up after N attempts: ...") once its attempts were used.
    pub failure_reason: Option<String>,
    /// The last transient error while it is being retried.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(skip)]
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The canned answer the reply was made from.
    pub canned_answer_id: Option<Uuid>,
    pub whatsapp_template: Option<ReplyTemplate>,
    /// The out-of-hours auto-reply (sent by the desk, not an answer by an agent).
    pub auto_reply: bool,
}

impl ReplyRecord {
    /// The `reply.updated` live event's payload: the reply's delivery state.
    pub fn event_payload(&self) -> serde_json::Value {
        serde_json::json!({
            "replyId": self.id,
            "caseId": self.case_id,
            "state": self.state,
            "attempts": self.attempts,
            "platformMessageId": self.platform_message_id,
            "failureReason": self.failure_reason,
            "lastError": self.last_error,
            "autoReply": self.auto_reply,
        })
    }

    /// The audit entry of a reply queued: who wrote it, how (a canned answer, a WhatsApp
    /// template, the out-of-hours auto-reply).
    fn created_audit(&self) -> crate::NewAuditEvent {
        crate::NewAuditEvent {
            actor: self.author.clone(),
            action: "reply.created".into(),
            case_id: Some(self.case_id),
            detail: serde_json::json!({
                "replyId": self.id, "visibility": self.visibility,
                "cannedAnswerId": self.canned_answer_id,
                "whatsappTemplate": self.whatsapp_template.as_ref().map(|t| &t.name),
                "autoReply": self.auto_reply,
            }),
        }
    }
}

/// The reply stored before under `n`'s id (or, for an auto-reply, the case's one), when queueing
/// `n` wrote nothing: an idempotent repeat. An id taken by another case's reply is a conflict.
async fn queued_before(db: &crate::db::Db, n: &NewReply) -> Result<ReplyRecord> {
    let (sql, key) = if n.auto_reply {
        ("case_id = $1 AND auto_reply", n.case_id)
    } else {
        ("id = $1", n.id)
    };
    let row: Option<ReplyRow> = query(format!(
        "SELECT {REPLY_COLS} FROM outbox_replies WHERE {sql}"
    ))
    .bind(key)
    .fetch_optional(db.read())
    .await?;
    match row {
        Some(r) if r.case_id == n.case_id => r.try_into(),
        Some(_) => Err(StoreError::Conflict(
            "this idempotency key was used for a reply on another case".into(),
        )),
        // The id was taken by a reply of another case.
        None => Err(StoreError::Conflict("reply id in use".into())),
    }
}

/// A reply taken by a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedReply {
    pub reply: ReplyRecord,
    /// The reply was already `sending` when its lease ran out: a worker died between the send and
    /// recording the answer. It must not be sent again blindly.
    pub in_doubt: bool,
    /// When the earlier lease ran out (for in-doubt replies).
    pub lease_expired_at: Option<DateTime<Utc>>,
}

/// A public message of an open case to re-check for deletion.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenMessageRef {
    pub platform_message_id: String,
    pub case_id: Uuid,
}

/// The connectors' storage.
#[async_trait]
pub trait Connectors: Send + Sync {
    // ---- journal
    async fn journal_append(
        &self,
        source: JournalSource,
        account: Option<Uuid>,
        body: &[u8],
        received_at: DateTime<Utc>,
    ) -> Result<Uuid>;
    /// Claims due pending entries (`only` restricts to one id) for `lease`.
    async fn journal_claim(
        &self,
        only: Option<Uuid>,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<JournalEntry>>;
    async fn journal_finish(&self, id: Uuid, outcome: JournalOutcome) -> Result<()>;
    /// Journals several deliveries in one transaction (group commit) and returns them as
    /// entries. With `lease`, they are claimed by the caller from the start (attempts 1), who
    /// processes them straight away without a claim; if it dies, the lease runs out and the
    /// sweep takes them.
    async fn journal_append_many(
        &self,
        entries: Vec<NewJournalEntry>,
        lease: Option<Duration>,
    ) -> Result<Vec<JournalEntry>>;
    /// Records several outcomes in one transaction.
    async fn journal_finish_many(&self, outcomes: Vec<(Uuid, JournalOutcome)>) -> Result<()>;
    /// Puts failed entries back to pending (after a fix): `webcare journal replay`.
    async fn journal_replay(&self, only: Option<Uuid>) -> Result<u64>;
    async fn journal_get(&self, id: Uuid) -> Result<Option<JournalEntry>>;
    async fn journal_stats(&self) -> Result<JournalStats>;
    /// The outbox, SLA timer and webhook queues' depths (each an index range count).
    async fn queue_stats(&self) -> Result<QueueStats>;
    /// Failed entries by id (oldest first), after `after`, at most `limit`; without their bodies.
    async fn journal_failed(&self, after: Option<Uuid>, limit: u32) -> Result<Vec<JournalFailure>>;
    /// Rejected items by id (oldest first), after `after`, at most `limit`.
    async fn journal_rejected(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<RejectedRecord>>;

    // ---- accounts (lookups the connectors need)
    async fn find_account(
        &self,
        kind: ChannelKind,
        external_id: &str,
    ) -> Result<Option<ChannelAccount>>;
    async fn accounts_of_kind(&self, kind: ChannelKind) -> Result<Vec<ChannelAccount>>;

    // ---- message changes
    /// Applies an edit: the old text goes to `edit_history`. `false` when the message is unknown.
    async fn apply_edit(
        &self,
        account: Uuid,
        platform_message_id: &str,
        text: &str,
        edited_at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Marks a message deleted (the first time wins). `false` when unknown.
    async fn apply_delete(
        &self,
        account: Uuid,
        platform_message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Merges a delivery status into the reply with this platform id; what it did, or `None`
    /// when no reply has this id.
    async fn apply_status(
        &self,
        account: Uuid,
        platform_message_id: &str,
        state: DeliveryState,
        error: Option<&str>,
    ) -> Result<Option<StatusApplied>>;
    /// Links an echo of our own message to the reply it confirms.
    async fn link_echo(
        &self,
        account: Uuid,
        message: &InboundMessage,
        received_at: DateTime<Utc>,
    ) -> Result<EchoOutcome>;
    /// Inbound public, not deleted messages of cases that are not closed, for delete re-checks.
    async fn open_case_messages(&self, account: Uuid, limit: u32) -> Result<Vec<OpenMessageRef>>;
    /// When the citizen last wrote in this case (opens the messaging window).
    async fn last_citizen_message(&self, case_id: Uuid) -> Result<Option<MessageRecord>>;

    // ---- outbox
    /// Stores a reply; `false` when it was there already (the same id, or for an auto-reply the
    /// case's auto-reply), which is then returned.
    async fn enqueue_reply(&self, new: NewReply) -> Result<(ReplyRecord, bool)>;
    async fn get_reply(&self, id: Uuid) -> Result<Option<ReplyRecord>>;
    async fn case_replies(&self, case_id: Uuid) -> Result<Vec<ReplyRecord>>;
    /// Claims due replies: `pending` ones become `sending` (committed before any HTTP call);
    /// `sending` ones whose lease ran out come back as in doubt.
    async fn claim_replies(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedReply>>;
    /// Records a send: state `sent` (or higher, if a status came first), the platform id, and the
    /// reply as an outbound message of the case. THE place a sent reply is recorded.
    /// `sent_text` is what went out when that is not the reply's text (a WhatsApp template).
    /// In the same transaction, the first time: the citizen is answered (unless it is the
    /// out-of-hours auto-reply): the reaction clocks stop, a `new` case opens (with its
    /// `case.updated` live event) and a pending department answer counts as sent.
    async fn reply_sent(
        &self,
        id: Uuid,
        platform_message_id: &str,
        our_user_id: &str,
        at: DateTime<Utc>,
        sent_text: Option<&str>,
    ) -> Result<ReplyRecord>;
    /// Back to `pending` for another attempt at `next_attempt_at`.
    async fn reply_retry(
        &self,
        id: Uuid,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<()>;
    async fn reply_failed(&self, id: Uuid, reason: &str) -> Result<()>;
    /// Keeps an in-doubt reply in `sending` and looks again at `until` (its in-doubt start stays).
    async fn reply_hold(&self, id: Uuid, until: DateTime<Utc>) -> Result<()>;

    // ---- cursors and leases
    async fn get_cursor(&self, account: Uuid, stream: &str) -> Result<Option<String>>;
    async fn set_cursor(&self, account: Uuid, stream: &str, value: &str) -> Result<()>;
    /// Takes or renews the named lease for `holder`; `false` when another holder has it.
    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool>;
    async fn release_lease(&self, name: &str, holder: &str) -> Result<()>;
}

pub(crate) const JOURNAL_COLS: &str = "id, source, channel_account_id, body, received_at, state, \
    attempts, error, summary, processed_at";

pub(crate) const REPLY_COLS: &str =
    "id, case_id, channel_account_id, text, visibility, in_reply_to, \
    recipient, process_answer, author, state, attempts, next_attempt_at, platform_message_id, \
    failure_reason, last_error, created_at, updated_at, sent_at, canned_answer_id, \
    whatsapp_template, auto_reply";

#[derive(sqlx::FromRow)]
pub(crate) struct JournalRow {
    id: Uuid,
    source: String,
    channel_account_id: Option<Uuid>,
    body: Vec<u8>,
    received_at: i64,
    state: String,
    attempts: i64,
    error: Option<String>,
    summary: Option<String>,
    processed_at: Option<i64>,
}

impl TryFrom<JournalRow> for JournalEntry {
    type Error = StoreError;
    fn try_from(r: JournalRow) -> Result<Self> {
        Ok(JournalEntry {
            id: r.id,
            source: JournalSource::parse(&r.source)
                .ok_or_else(|| StoreError::Corrupt(format!("journal source '{}'", r.source)))?,
            channel_account_id: r.channel_account_id,
            body: r.body,
            received_at: from_ms(r.received_at),
            state: r.state,
            attempts: r.attempts,
            error: r.error,
            summary: r.summary,
            processed_at: opt_from_ms(r.processed_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ReplyRow {
    id: Uuid,
    case_id: Uuid,
    channel_account_id: Uuid,
    text: String,
    visibility: String,
    in_reply_to: Option<String>,
    recipient: Option<String>,
    process_answer: bool,
    author: String,
    state: String,
    attempts: i64,
    next_attempt_at: i64,
    platform_message_id: Option<String>,
    failure_reason: Option<String>,
    last_error: Option<String>,
    created_at: i64,
    updated_at: i64,
    sent_at: Option<i64>,
    canned_answer_id: Option<Uuid>,
    whatsapp_template: Option<sqlx::types::Json<ReplyTemplate>>,
    auto_reply: bool,
}

pub fn parse_delivery_state(s: &str) -> Option<DeliveryState> {
    use DeliveryState::*;
    Some(match s {
        "pending" => Pending,
        "sending" => Sending,
        "sent" => Sent,
        "delivered" => Delivered,
        "read" => Read,
        "failed" => Failed,
        _ => return None,
    })
}

impl TryFrom<ReplyRow> for ReplyRecord {
    type Error = StoreError;
    fn try_from(r: ReplyRow) -> Result<Self> {
        let state = parse_delivery_state(&r.state)
            .ok_or_else(|| StoreError::Corrupt(format!("reply state '{}'", r.state)))?;
        Ok(ReplyRecord {
            id: r.id,
            case_id: r.case_id,
            channel_account_id: r.channel_account_id,
            text: r.text,
            visibility: r
                .visibility
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("visibility '{}'", r.visibility)))?,
            in_reply_to: r.in_reply_to,
            recipient: r.recipient,
            process_answer: r.process_answer,
            author: r.author,
            state,
            attempts: r.attempts,
            next_attempt_at: (state == DeliveryState::Pending).then(|| from_ms(r.next_attempt_at)),
            platform_message_id: r.platform_message_id,
            failure_reason: r.failure_reason,
            last_error: r.last_error,
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
            sent_at: opt_from_ms(r.sent_at),
            canned_answer_id: r.canned_answer_id,
            whatsapp_template: r.whatsapp_template.map(|t| t.0),
            auto_reply: r.auto_reply,
        })
    }
}

/// Puts an edit into the history: the current text moves to the history unless the edit is
/// older than one already applied (out-of-order), in which case only the history grows. Returns
/// the new (text, history), or `None` when nothing changes (a repeated delivery).
pub(crate) fn merge_edit(
    current: &str,
    history: &[crate::records::EditRecord],
    new_text: &str,
    edited_at: DateTime<Utc>,
) -> Option<(String, Vec<crate::records::EditRecord>)> {
    use crate::records::EditRecord;
    if current == new_text || history.iter().any(|e| e.text == new_text) {
        return None;
    }
    let newer_applied = history.iter().any(|e| e.replaced_at > edited_at);
    let mut h = history.to_vec();
    if newer_applied {
        // A late, older edit: its text was already replaced; keep it in the history only.
        h.push(EditRecord {
            text: new_text.to_owned(),
            replaced_at: edited_at,
        });
        h.sort_by_key(|e| e.replaced_at);
        Some((current.to_owned(), h))
    } else {
        h.push(EditRecord {
            text: current.to_owned(),
            replaced_at: edited_at,
        });
        Some((new_text.to_owned(), h))
    }
}

/// Records a sent reply as the case's outbound message (once: a repeat inserts nothing) and,
/// when Open Klant is on, its klantcontact job, in the caller's transaction.
async fn insert_reply_message(
    tx: &mut Tx,
    openklant: bool,
    r: &ReplyRecord,
    pmid: &str,
    our_user_id: &str,
    at: i64,
    text: &str,
) -> Result<()> {
    let flags: Vec<String> = if r.auto_reply {
        vec![webcare_domain::flags::AUTO_REPLY.to_owned()]
    } else {
        Vec::new()
    };
    let sql = format!(
        "INSERT INTO messages ({MESSAGE_COLS}, author_identity_id) VALUES \
             ($1, $2, $3, $4, $5, NULL, 'outbound', $6, $7, $8, $9, $9, $10, $11, $12, NULL, NULL) \
             ON CONFLICT (channel_account_id, platform_message_id) DO NOTHING RETURNING id"
    );
    let inserted: Option<Uuid> = query(&sql)
        .bind(Uuid::now_v7())
        .bind(r.case_id)
        .bind(r.channel_account_id)
        .bind(pmid)
        .bind(&r.in_reply_to)
        .bind(r.visibility.as_str())
        .bind(json(&Author {
            platform_user_id: our_user_id.to_owned(),
            handle: None,
            display_name: None,
        }))
        .bind(text)
        .bind(at)
        .bind(json(&Vec::<webcare_domain::inbound::Attachment>::new()))
        .bind(json(&Vec::<EditRecord>::new()))
        .bind(json(&flags))
        .scalar_optional(&mut *tx)
        .await?;
    if let (true, Some(id)) = (openklant, inserted) {
        crate::klantcontact::enqueue_messages(&mut tx.conn(), &[(r.case_id, id)], Utc::now())
            .await?;
    }
    Ok(())
}

async fn reply_in(tx: &mut Tx, id: Uuid) -> Result<Option<ReplyRecord>> {
    let sql = format!("SELECT {REPLY_COLS} FROM outbox_replies WHERE id = $1");
    let row: Option<ReplyRow> = query(&sql).bind(id).fetch_optional(&mut *tx).await?;
    row.map(TryInto::try_into).transpose()
}

#[async_trait]
impl<S: SqlCore> Connectors for S {
    async fn journal_append(
        &self,
        source: JournalSource,
        account: Option<Uuid>,
        body: &[u8],
        received_at: DateTime<Utc>,
    ) -> Result<Uuid> {
        let entry = NewJournalEntry {
            source,
            channel_account_id: account,
            body: body.to_vec(),
            received_at,
        };
        let mut stored = self.journal_append_many(vec![entry], None).await?;
        Ok(stored.remove(0).id)
    }

    async fn journal_claim(
        &self,
        only: Option<Uuid>,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<JournalEntry>> {
        let now_ms = to_ms(now);
        let sql = format!(
            "UPDATE webhook_journal SET lease_until = $2, attempts = attempts + 1 WHERE id IN (\
               SELECT id FROM webhook_journal WHERE state = 'pending' AND next_attempt_at <= $1 \
               AND (lease_until IS NULL OR lease_until < $1) AND ($3 IS NULL OR id = $3) \
               ORDER BY next_attempt_at, id LIMIT $4 {}) RETURNING {JOURNAL_COLS}",
            self.db().dialect().skip_locked()
        );
        let mut tx = self.db().begin().await?;
        let rows: Vec<JournalRow> = query(&sql)
            .bind(now_ms)
            .bind(to_ms(now + lease))
            .bind(only)
            .bind(i64::from(limit))
            .fetch_all(&mut tx)
            .await?;
        tx.commit().await?;
        let mut v: Vec<JournalEntry> = rows_into(rows)?;
        v.sort_by_key(|e| e.id);
        Ok(v)
    }

    async fn journal_finish(&self, id: Uuid, outcome: JournalOutcome) -> Result<()> {
        self.journal_finish_many(vec![(id, outcome)]).await
    }

    async fn journal_append_many(
        &self,
        entries: Vec<NewJournalEntry>,
        lease: Option<Duration>,
    ) -> Result<Vec<JournalEntry>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let now = Utc::now();
        let (lease_until, attempts) = match lease {
            Some(l) => (Some(to_ms(now + l)), 1i64),
            None => (None, 0i64),
        };
        let out: Vec<JournalEntry> = entries
            .into_iter()
            .map(|e| JournalEntry {
                id: Uuid::now_v7(),
                source: e.source,
                channel_account_id: e.channel_account_id,
                body: e.body,
                received_at: e.received_at,
                state: "pending".into(),
                attempts,
                error: None,
                summary: None,
                processed_at: None,
            })
            .collect();
        let mut tx = self.db().begin().await?;
        // 7 binds a row: well under both databases' limits at 1,000 rows.
        for chunk in out.chunks(1000) {
            let mut q = query(
                "INSERT INTO webhook_journal (id, source, channel_account_id, body, received_at, \
                 next_attempt_at, attempts, lease_until) ",
            );
            q.push_values(chunk.iter().map(|e| {
                let at = to_ms(e.received_at);
                [
                    Arg::from(e.id),
                    e.source.as_str().into(),
                    e.channel_account_id.into(),
                    e.body.clone().into(),
                    at.into(),
                    at.into(),
                    attempts.into(),
                    lease_until.into(),
                ]
            }));
            q.execute(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn journal_finish_many(&self, outcomes: Vec<(Uuid, JournalOutcome)>) -> Result<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let now = to_ms(Utc::now());
        let mut processed = Vec::new();
        let mut failed = Vec::new();
        let mut rejected = Vec::new();
        for (id, o) in outcomes {
            match o {
                JournalOutcome::Processed {
                    summary,
                    rejected: r,
                } => {
                    processed.push((id, summary));
                    rejected.extend(r.into_iter().map(|r| (id, r)));
                }
                JournalOutcome::Failed { error, retry_at } => failed.push((id, error, retry_at)),
            }
        }
        let mut tx = self.db().begin().await?;
        // The processed ones, set-wise, found through the primary key (`id IN`).
        for chunk in processed.chunks(500) {
            let mut q = query("UPDATE webhook_journal SET state = 'processed', processed_at = ");
            q.push_bind(now)
                .push(", error = NULL, lease_until = NULL, summary = ")
                .push_case_by_id(chunk.iter().map(|(id, summary)| (*id, summary)))
                .push(" WHERE id IN ")
                .push_list(chunk.iter().map(|(id, _)| *id));
            q.execute(&mut tx).await?;
        }
        // A delivery processed again (retry, replay) finds its items recorded.
        for chunk in rejected.chunks(200) {
            let mut q = query(
                "INSERT INTO journal_rejects (id, journal_id, seq, account_external_id, \
                 platform_message_id, reason, created_at) ",
            );
            q.push_values(chunk.iter().map(|(id, r)| {
                [
                    Arg::from(Uuid::now_v7()),
                    (*id).into(),
                    r.seq.into(),
                    (&r.account_external_id).into(),
                    (&r.platform_message_id).into(),
                    (&r.reason).into(),
                    now.into(),
                ]
            }));
            q.push(" ON CONFLICT (journal_id, seq) DO NOTHING");
            q.execute(&mut tx).await?;
        }
        for (id, error, retry_at) in failed {
            let (state, next) = match retry_at {
                Some(t) => ("pending", to_ms(t)),
                None => ("failed", now),
            };
            query(
                "UPDATE webhook_journal SET state = $2, next_attempt_at = $3, error = $4, \
                 lease_until = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(state)
            .bind(next)
            .bind(error)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn journal_replay(&self, only: Option<Uuid>) -> Result<u64> {
        let done = query(
            "UPDATE webhook_journal SET state = 'pending', attempts = 0, next_attempt_at = $1, \
             lease_until = NULL WHERE state = 'failed' AND ($2 IS NULL OR id = $2)",
        )
        .bind(to_ms(Utc::now()))
        .bind(only)
        .execute(self.db().write())
        .await?;
        Ok(done)
    }

    async fn journal_get(&self, id: Uuid) -> Result<Option<JournalEntry>> {
        let sql = format!("SELECT {JOURNAL_COLS} FROM webhook_journal WHERE id = $1");
        let row: Option<JournalRow> = query(&sql)
            .bind(id)
            .fetch_optional(self.db().read())
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn queue_stats(&self) -> Result<QueueStats> {
        let outbox: Vec<(String, i64)> = query(
            "SELECT state, COUNT(*) FROM outbox_replies \
             WHERE state IN ('pending', 'sending', 'failed') GROUP BY state",
        )
        .fetch_all(self.db().read())
        .await?;
        let count = |sql: &'static str| async move {
            query(sql)
                .scalar_optional::<i64>(self.db().read())
                .await
                .map(Option::unwrap_or_default)
        };
        Ok(QueueStats {
            outbox_pending: outbox
                .iter()
                .filter(|(s, _)| s != "failed")
                .map(|(_, n)| n)
                .sum(),
            outbox_failed: outbox
                .iter()
                .filter(|(s, _)| s == "failed")
                .map(|(_, n)| n)
                .sum(),
            clocks_armed: count("SELECT COUNT(*) FROM sla_clocks WHERE next_fire_at IS NOT NULL")
                .await?,
            webhook_pending: count(
                "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'",
            )
            .await?,
        })
    }

    async fn journal_stats(&self) -> Result<JournalStats> {
        let rows: Vec<(String, i64)> =
            query("SELECT state, COUNT(*) FROM webhook_journal GROUP BY state")
                .fetch_all(self.db().read())
                .await?;
        let mut s = JournalStats::default();
        for (state, n) in rows {
            match state.as_str() {
                "pending" => s.pending = n,
                "processed" => s.processed = n,
                "failed" => s.failed = n,
                _ => {}
            }
        }
        if s.pending > 0 {
            let oldest: Option<i64> =
                query("SELECT MIN(received_at) FROM webhook_journal WHERE state = 'pending'")
                    .scalar(self.db().read())
                    .await?;
            s.oldest_pending = oldest.map(crate::time::from_ms);
        }
        Ok(s)
    }

    async fn journal_failed(&self, after: Option<Uuid>, limit: u32) -> Result<Vec<JournalFailure>> {
        // The body is not selected: it never leaves the database this way.
        let rows: Vec<(Uuid, String, Option<Uuid>, i64, i64, Option<String>)> = query(
            "SELECT id, source, channel_account_id, received_at, attempts, error FROM webhook_journal \
             WHERE state = 'failed' AND ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(self.db().read())
        .await?;
        rows.into_iter()
            .map(
                |(id, source, channel_account_id, received_at, attempts, error)| {
                    Ok(JournalFailure {
                        id,
                        source: JournalSource::parse(&source).ok_or_else(|| {
                            StoreError::Corrupt(format!("journal source '{source}'"))
                        })?,
                        channel_account_id,
                        received_at: crate::time::from_ms(received_at),
                        attempts,
                        error,
                    })
                },
            )
            .collect()
    }

    async fn journal_rejected(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<RejectedRecord>> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(
            Uuid,
            Uuid,
            String,
            i64,
            i64,
            String,
            Option<String>,
            String,
            i64,
        )> = query(
            "SELECT r.id, r.journal_id, j.source, j.received_at, r.seq, r.account_external_id, \
             r.platform_message_id, r.reason, r.created_at \
             FROM journal_rejects r JOIN webhook_journal j ON j.id = r.journal_id \
             WHERE ($1 IS NULL OR r.id > $1) ORDER BY r.id LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(self.db().read())
        .await?;
        rows.into_iter()
            .map(
                |(
                    id,
                    journal_id,
                    source,
                    received_at,
                    seq,
                    account_external_id,
                    platform_message_id,
                    reason,
                    created_at,
                )| {
                    Ok(RejectedRecord {
                        id,
                        journal_id,
                        source: JournalSource::parse(&source).ok_or_else(|| {
                            StoreError::Corrupt(format!("journal source '{source}'"))
                        })?,
                        received_at: crate::time::from_ms(received_at),
                        item: RejectedItem {
                            seq,
                            account_external_id,
                            platform_message_id,
                            reason,
                        },
                        recorded_at: crate::time::from_ms(created_at),
                    })
                },
            )
            .collect()
    }

    async fn find_account(
        &self,
        kind: ChannelKind,
        external_id: &str,
    ) -> Result<Option<ChannelAccount>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLS} FROM channel_accounts WHERE kind = $1 AND external_id = $2 \
             AND deleted_at IS NULL"
        );
        let row: Option<AccountRow> = query(&sql)
            .bind(kind.as_str())
            .bind(external_id)
            .fetch_optional(self.db().read())
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn accounts_of_kind(&self, kind: ChannelKind) -> Result<Vec<ChannelAccount>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLS} FROM channel_accounts WHERE kind = $1 AND deleted_at IS NULL ORDER BY id"
        );
        let rows: Vec<AccountRow> = query(&sql)
            .bind(kind.as_str())
            .fetch_all(self.db().read())
            .await?;
        rows_into(rows)
    }

    async fn apply_edit(
        &self,
        account: Uuid,
        pmid: &str,
        text: &str,
        edited_at: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.db().begin().await?;
        let row: Option<(Uuid, String, Json<Vec<EditRecord>>, Uuid)> = query(
            "SELECT id, text, edit_history, case_id FROM messages WHERE channel_account_id = $1 AND platform_message_id = $2",
        )
        .bind(account)
        .bind(pmid)
        .fetch_optional(&mut tx)
        .await?;
        let Some((id, current, history, case_id)) = row else {
            return Ok(false);
        };
        if let Some((new_text, new_history)) = merge_edit(&current, &history.0, text, edited_at) {
            // A BSN typed into an edit raises the flag like a new message does.
            let bsn = webcare_domain::bsn::contains_bsn(&new_text);
            query("UPDATE messages SET text = $2, edit_history = $3 WHERE id = $1")
                .bind(id)
                .bind(&new_text)
                .bind(json(&new_history))
                .execute(&mut tx)
                .await?;
            crate::inbox_row::refresh(&mut tx.conn(), &[case_id]).await?;
            if bsn {
                let flags: Json<Vec<String>> = query("SELECT flags FROM messages WHERE id = $1")
                    .bind(id)
                    .scalar(&mut tx)
                    .await?;
                let mut f = flags.0;
                if !f.iter().any(|x| x == webcare_domain::flags::BSN) {
                    f.push(webcare_domain::flags::BSN.to_owned());
                    query("UPDATE messages SET flags = $2 WHERE id = $1")
                        .bind(id)
                        .bind(json(&f))
                        .execute(&mut tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn apply_delete(&self, account: Uuid, pmid: &str, at: DateTime<Utc>) -> Result<bool> {
        let found: Option<(Uuid, Uuid)> = query(
            "SELECT id, case_id FROM messages WHERE channel_account_id = $1 AND platform_message_id = $2",
        )
        .bind(account)
        .bind(pmid)
        .fetch_optional(self.db().read())
        .await?;
        let Some((id, case_id)) = found else {
            return Ok(false);
        };
        let mut tx = self.db().begin().await?;
        let done =
            query("UPDATE messages SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL")
                .bind(id)
                .bind(to_ms(at))
                .execute(&mut tx)
                .await?;
        if done > 0 {
            // The deleted message may have been the inbox row's line.
            crate::inbox_row::refresh(&mut tx.conn(), &[case_id]).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn apply_status(
        &self,
        account: Uuid,
        pmid: &str,
        state: DeliveryState,
        error: Option<&str>,
    ) -> Result<Option<StatusApplied>> {
        let mut tx = self.db().begin().await?;
        let row: Option<(Uuid, Uuid, String)> = query(
            "SELECT id, case_id, state FROM outbox_replies WHERE channel_account_id = $1 AND platform_message_id = $2",
        )
        .bind(account)
        .bind(pmid)
        .fetch_optional(&mut tx)
        .await?;
        let Some((id, case_id, current)) = row else {
            return Ok(None);
        };
        let current = parse_delivery_state(&current)
            .ok_or_else(|| StoreError::Corrupt(format!("reply state '{current}'")))?;
        let merged = current.merge(state);
        if merged != current {
            let reason = (merged == DeliveryState::Failed).then(|| {
                error
                    .unwrap_or("the platform reported the message failed")
                    .to_owned()
            });
            query(
                "UPDATE outbox_replies SET state = $2, failure_reason = COALESCE($3, failure_reason), \
                 updated_at = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(merged.as_str())
            .bind(reason)
            .bind(to_ms(Utc::now()))
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Some(StatusApplied {
            reply_id: id,
            case_id,
            state: merged,
            changed: merged != current,
        }))
    }

    async fn link_echo(
        &self,
        account: Uuid,
        m: &InboundMessage,
        received_at: DateTime<Utc>,
    ) -> Result<EchoOutcome> {
        let mut tx = self.db().begin().await?;
        let exists: Option<(Uuid,)> = query(
            "SELECT id FROM messages WHERE channel_account_id = $1 AND platform_message_id = $2",
        )
        .bind(account)
        .bind(&m.platform_message_id)
        .fetch_optional(&mut tx)
        .await?;
        if exists.is_some() {
            return Ok(EchoOutcome::Duplicate);
        }
        let sql = format!(
            "SELECT {REPLY_COLS} FROM outbox_replies WHERE channel_account_id = $1 AND platform_message_id = $2"
        );
        let by_id: Option<ReplyRow> = query(&sql)
            .bind(account)
            .bind(&m.platform_message_id)
            .fetch_optional(&mut tx)
            .await?;
        let (reply, adopted) = match by_id {
            Some(r) => (ReplyRecord::try_from(r)?, false),
            None => {
                // A reply whose send may have gone out without being recorded:
                // same account, same text, same target, still `sending`.
                let sql = format!(
                    "SELECT {REPLY_COLS} FROM outbox_replies WHERE channel_account_id = $1 \
                     AND state = 'sending' AND platform_message_id IS NULL AND text = $2 \
                     AND ($3 IS NULL OR in_reply_to IS NULL OR in_reply_to = $3) \
                     ORDER BY created_at LIMIT 1"
                );
                let row: Option<ReplyRow> = query(&sql)
                    .bind(account)
                    .bind(&m.text)
                    .bind(&m.in_reply_to)
                    .fetch_optional(&mut tx)
                    .await?;
                match row {
                    Some(r) => (ReplyRecord::try_from(r)?, true),
                    None => return Ok(EchoOutcome::NotLinked),
                }
            }
        };
        let now = to_ms(received_at);
        if adopted {
            query(
                "UPDATE outbox_replies SET state = 'sent', platform_message_id = $2, sent_at = $3, \
                 lease_until = NULL, updated_at = $3 WHERE id = $1",
            )
            .bind(reply.id)
            .bind(&m.platform_message_id)
            .bind(now)
            .execute(&mut tx)
            .await?;
        }
        insert_reply_message(
            &mut tx,
            self.openklant(),
            &reply,
            &m.platform_message_id,
            &m.author.platform_user_id,
            to_ms(m.sent_at),
            &reply.text,
        )
        .await?;
        // An adopted reply went out: it answers the citizen, in this transaction.
        let events = if adopted {
            crate::sla::reply_recorded(&mut tx.conn(), self.sla(), &reply, m.sent_at).await?
        } else {
            Vec::new()
        };
        tx.commit().await?;
        if adopted {
            self.sla().changed();
            crate::agent_events::broadcast(self.events(), &events);
        }
        Ok(if adopted {
            EchoOutcome::AdoptedByReply {
                reply_id: reply.id,
                case_id: reply.case_id,
            }
        } else {
            EchoOutcome::LinkedToReply {
                reply_id: reply.id,
                case_id: reply.case_id,
            }
        })
    }

    async fn open_case_messages(&self, account: Uuid, limit: u32) -> Result<Vec<OpenMessageRef>> {
        let rows: Vec<(String, Uuid)> = query(
            "SELECT m.platform_message_id, m.case_id FROM messages m JOIN cases c ON c.id = m.case_id \
             WHERE m.channel_account_id = $1 AND m.direction = 'inbound' AND m.visibility = 'public' AND m.deleted_at IS NULL \
             AND c.status <> 'closed' ORDER BY m.sent_at DESC LIMIT $2",
        )
        .bind(account)
        .bind(i64::from(limit))
        .fetch_all(self.db().read())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(platform_message_id, case_id)| OpenMessageRef {
                platform_message_id,
                case_id,
            })
            .collect())
    }

    async fn last_citizen_message(&self, case_id: Uuid) -> Result<Option<MessageRecord>> {
        let sql = format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE case_id = $1 AND direction = 'inbound' \
             ORDER BY sent_at DESC, id DESC LIMIT 1"
        );
        let row: Option<MessageRow> = query(&sql)
            .bind(case_id)
            .fetch_optional(self.db().read())
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn enqueue_reply(&self, n: NewReply) -> Result<(ReplyRecord, bool)> {
        let now = Utc::now();
        // An auto-reply may also meet the one-per-case index: no conflict target, so
        // either constraint turns the insert into a no-op.
        let conflict = if n.auto_reply { "" } else { "(id)" };
        let sql = format!(
            "INSERT INTO outbox_replies (id, case_id, channel_account_id, text, visibility, in_reply_to, \
             recipient, process_answer, author, state, attempts, next_attempt_at, created_at, updated_at, \
             canned_answer_id, whatsapp_template, auto_reply) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $10, $10, $10, $11, $12, $13) \
             ON CONFLICT {conflict} DO NOTHING RETURNING {REPLY_COLS}"
        );
        let mut tx = self.db().begin().await?;
        let row: Option<ReplyRow> = query(&sql)
            .bind(n.id)
            .bind(n.case_id)
            .bind(n.channel_account_id)
            .bind(&n.text)
            .bind(n.visibility.as_str())
            .bind(&n.in_reply_to)
            .bind(&n.recipient)
            .bind(n.process_answer)
            .bind(&n.author)
            .bind(to_ms(now))
            .bind(n.canned_answer_id)
            .bind(json_opt(n.whatsapp_template.as_ref()))
            .bind(n.auto_reply)
            .fetch_optional(&mut tx)
            .await?;
        let Some(row) = row else {
            drop(tx);
            return Ok((queued_before(self.db(), &n).await?, false));
        };
        // The reply, its audit entry and its `reply.updated` event are stored together.
        let reply: ReplyRecord = row.try_into()?;
        crate::sql::insert_audit(&mut tx, &reply.created_audit(), now).await?;
        let case = crate::agent::case_in(&mut tx.conn(), reply.case_id).await?;
        let event = NewEvent::about("reply.updated", &case, reply.event_payload());
        let events = insert_events(&mut tx.conn(), &[event]).await?;
        tx.commit().await?;
        broadcast(self.events(), &events);
        Ok((reply, true))
    }

    async fn get_reply(&self, id: Uuid) -> Result<Option<ReplyRecord>> {
        let sql = format!("SELECT {REPLY_COLS} FROM outbox_replies WHERE id = $1");
        let row: Option<ReplyRow> = query(&sql)
            .bind(id)
            .fetch_optional(self.db().read())
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn case_replies(&self, case_id: Uuid) -> Result<Vec<ReplyRecord>> {
        let sql = format!(
            "SELECT {REPLY_COLS} FROM outbox_replies WHERE case_id = $1 ORDER BY created_at, id"
        );
        let rows: Vec<ReplyRow> = query(&sql)
            .bind(case_id)
            .fetch_all(self.db().read())
            .await?;
        rows_into(rows)
    }

    async fn claim_replies(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedReply>> {
        let now_ms = to_ms(now);
        let until = to_ms(now + lease);
        let mut tx = self.db().begin().await?;
        // In-doubt first: sending replies whose worker's lease ran out.
        let doubt_sql = format!(
            "SELECT id, COALESCE(in_doubt_since, lease_until) FROM outbox_replies WHERE state = 'sending' AND lease_until < $1 \
             AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2 {}",
            self.db().dialect().skip_locked()
        );
        let doubtful: Vec<(Uuid, Option<i64>)> = query(&doubt_sql)
            .bind(now_ms)
            .bind(i64::from(limit))
            .fetch_all(&mut tx)
            .await?;
        let mut out = Vec::new();
        for (id, expired) in doubtful {
            // Each in-doubt claim is an attempt, so checks and re-sends are capped.
            let sql = format!(
                "UPDATE outbox_replies SET in_doubt_since = COALESCE(in_doubt_since, lease_until), lease_until = $2, \
                 attempts = attempts + 1, updated_at = $3 WHERE id = $1 RETURNING {REPLY_COLS}"
            );
            let row: ReplyRow = query(&sql)
                .bind(id)
                .bind(until)
                .bind(now_ms)
                .fetch_one(&mut tx)
                .await?;
            out.push(ClaimedReply {
                reply: row.try_into()?,
                in_doubt: true,
                lease_expired_at: expired.map(crate::time::from_ms),
            });
        }
        let left = i64::from(limit) - out.len() as i64;
        if left > 0 {
            let sql = format!(
                "UPDATE outbox_replies SET state = 'sending', lease_until = $2, attempts = attempts + 1, \
                 updated_at = $1 WHERE id IN (SELECT id FROM outbox_replies WHERE state = 'pending' \
                 AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $3 {}) RETURNING {REPLY_COLS}",
                self.db().dialect().skip_locked()
            );
            let rows: Vec<ReplyRow> = query(&sql)
                .bind(now_ms)
                .bind(until)
                .bind(left)
                .fetch_all(&mut tx)
                .await?;
            for r in rows {
                out.push(ClaimedReply {
                    reply: r.try_into()?,
                    in_doubt: false,
                    lease_expired_at: None,
                });
            }
        }
        // Committed before any HTTP call: a crash after this leaves `sending`.
        tx.commit().await?;
        Ok(out)
    }

    async fn reply_sent(
        &self,
        id: Uuid,
        pmid: &str,
        our_user_id: &str,
        at: DateTime<Utc>,
        sent_text: Option<&str>,
    ) -> Result<ReplyRecord> {
        let mut tx = self.db().begin().await?;
        let r = reply_in(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("reply {id}")))?;
        // A status may have arrived first (delivered/read): never go backwards.
        let state = r.state.max(DeliveryState::Sent);
        let state = if state == DeliveryState::Failed {
            DeliveryState::Sent
        } else {
            state
        };
        query(
            "UPDATE outbox_replies SET state = $2, platform_message_id = $3, sent_at = COALESCE(sent_at, $4), \
             lease_until = NULL, last_error = NULL, failure_reason = NULL, updated_at = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(state.as_str())
        .bind(pmid)
        .bind(to_ms(at))
        .execute(&mut tx)
        .await?;
        let text = sent_text.unwrap_or(&r.text);
        // Another reply already holds this platform id (an "already exists" answer, a
        // receiver that acknowledges with a fixed id): this reply's message gets its own
        // key, so the case's history shows both.
        let shared: Option<(Uuid,)> = query(
            "SELECT id FROM outbox_replies WHERE channel_account_id = $1 AND platform_message_id = $2 \
             AND id <> $3 LIMIT 1",
        )
        .bind(r.channel_account_id)
        .bind(pmid)
        .bind(id)
        .fetch_optional(&mut tx)
        .await?;
        let message_id = match shared {
            Some(_) => format!("{pmid}#{id}"),
            None => pmid.to_owned(),
        };
        insert_reply_message(
            &mut tx,
            self.openklant(),
            &r,
            &message_id,
            our_user_id,
            to_ms(at),
            text,
        )
        .await?;
        // The citizen is answered: the clocks stop in this transaction (the first
        // time it is recorded; a repeat changes nothing).
        let events = if r.sent_at.is_none() {
            crate::sla::reply_recorded(&mut tx.conn(), self.sla(), &r, at).await?
        } else {
            Vec::new()
        };
        let r = reply_in(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("reply {id}")))?;
        tx.commit().await?;
        self.sla().changed();
        crate::agent_events::broadcast(self.events(), &events);
        Ok(r)
    }

    async fn reply_retry(&self, id: Uuid, error: &str, next: DateTime<Utc>) -> Result<()> {
        query(
            "UPDATE outbox_replies SET state = 'pending', next_attempt_at = $2, last_error = $3, \
             lease_until = NULL, in_doubt_since = NULL, updated_at = $4 WHERE id = $1 AND state = 'sending'",
        )
        .bind(id)
        .bind(to_ms(next))
        .bind(error)
        .bind(to_ms(Utc::now()))
        .execute(self.db().write())
        .await?;
        Ok(())
    }

    async fn reply_failed(&self, id: Uuid, reason: &str) -> Result<()> {
        query(
            "UPDATE outbox_replies SET state = 'failed', failure_reason = $2, lease_until = NULL, \
             updated_at = $3 WHERE id = $1 AND state IN ('pending', 'sending')",
        )
        .bind(id)
        .bind(reason)
        .bind(to_ms(Utc::now()))
        .execute(self.db().write())
        .await?;
        Ok(())
    }

    async fn reply_hold(&self, id: Uuid, until: DateTime<Utc>) -> Result<()> {
        // Lease ran out already, so the next claim sees it in doubt again at `until`.
        query(
            "UPDATE outbox_replies SET next_attempt_at = $2, lease_until = $3, updated_at = $3 \
             WHERE id = $1 AND state = 'sending'",
        )
        .bind(id)
        .bind(to_ms(until))
        .bind(to_ms(Utc::now()))
        .execute(self.db().write())
        .await?;
        Ok(())
    }

    async fn get_cursor(&self, account: Uuid, stream: &str) -> Result<Option<String>> {
        query("SELECT cursor FROM poll_cursors WHERE channel_account_id = $1 AND stream = $2")
            .bind(account)
            .bind(stream)
            .scalar_optional(self.db().read())
            .await
    }

    async fn set_cursor(&self, account: Uuid, stream: &str, value: &str) -> Result<()> {
        query(
            "INSERT INTO poll_cursors (channel_account_id, stream, cursor, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (channel_account_id, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        )
        .bind(account)
        .bind(stream)
        .bind(value)
        .bind(to_ms(Utc::now()))
        .execute(self.db().write())
        .await?;
        Ok(())
    }

    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool> {
        let done = query(
            "INSERT INTO worker_leases (name, holder, lease_until) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until \
             WHERE worker_leases.holder = excluded.holder OR worker_leases.lease_until < $4",
        )
        .bind(name)
        .bind(holder)
        .bind(to_ms(now + ttl))
        .bind(to_ms(now))
        .execute(self.db().write())
        .await?;
        Ok(done == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        query("DELETE FROM worker_leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(self.db().write())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::EditRecord;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).unwrap()
    }

    #[test]
    fn edits_keep_old_text_and_commute() {
        let (text, h) = merge_edit("a", &[], "b", t(10)).unwrap();
        assert_eq!(text, "b");
        assert_eq!(
            h,
            vec![EditRecord {
                text: "a".into(),
                replaced_at: t(10)
            }]
        );
        assert!(
            merge_edit(&text, &h, "b", t(10)).is_none(),
            "repeat is a no-op"
        );
        let (text2, h2) = merge_edit(&text, &h, "c", t(20)).unwrap();
        assert_eq!(text2, "c");
        assert_eq!(h2.len(), 2);
        // Out of order: edit to "c" first, then the older edit to "b".
        let (x, hx) = merge_edit("a", &[], "c", t(20)).unwrap();
        let (y, hy) = merge_edit(&x, &hx, "b", t(10)).unwrap();
        assert_eq!(y, "c");
        assert_eq!(
            hy.iter().map(|e| e.text.as_str()).collect::<Vec<_>>(),
            vec!["b", "a"]
        );
    }
}
