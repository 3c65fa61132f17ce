//! Live events: a persisted, numbered event log (so SSE clients resume with `Last-Event-ID`), and
//! outbound webhooks with a delivery queue (one row per webhook and event; leased, retried, never
//! sent again after a success).

use crate::db::{json, query, Arg, Conn, SqlCore};
use crate::time::{from_ms, to_ms};
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;
use uuid::Uuid;
use webcare_domain::access::{ScopeFacts, Scoped};

#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// `case.created`, `case.updated`, `message.received`, `sla.warning`, `sla.breached`, ...
    pub kind: String,
    pub case_id: Option<Uuid>,
    /// Who may see it: the case's team, assignee and department at the time.
    pub team: Option<String>,
    pub assignee: Option<String>,
    pub department_id: Option<Uuid>,
    pub payload: serde_json::Value,
}

/// An event is seen by whoever may see the case as the event describes it. It carries no
/// status: one naming a department is about a case with that department (a `journal.parked`
/// event names none, so only callers who see all get it).
impl Scoped for NewEvent {
    fn scope_facts(&self) -> ScopeFacts<'_> {
        ScopeFacts {
            team: self.team.as_deref(),
            assignee: self.assignee.as_deref(),
            department_id: self.department_id,
            with_department: self.department_id.is_some(),
        }
    }
}

impl NewEvent {
    /// An event about `case`, scoped like the case as it is now (its team, assignee and
    /// department).
    pub fn about(kind: &str, case: &crate::CaseRecord, payload: serde_json::Value) -> Self {
        NewEvent {
            kind: kind.into(),
            case_id: Some(case.id),
            team: case.team.clone(),
            assignee: case.assignee.clone(),
            department_id: case.department_id,
            payload,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub event: NewEvent,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRecord {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

/// The id of one webhook delivery of an event: the same in the delivery log and the
/// `X-Webcare-Delivery-Id` header, so a receiver can drop a repeat.
pub fn delivery_id(webhook: Uuid, seq: i64) -> String {
    format!("{webhook}-{seq}")
}

// The API shows it as it is (`Delivery`), in its webhook's delivery log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Delivery))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    /// Also sent as the `Webcare-Delivery-Id` header.
    // [`delivery_id`] of the webhook and the event.
    pub id: String,
    #[serde(skip)]
    pub webhook_id: Uuid,
    pub event_seq: i64,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A leased delivery, ready to send.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    pub webhook: WebhookRecord,
    pub event: EventRecord,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
}

/// What one attempt did.
#[derive(Debug, Clone)]
pub enum DeliveryOutcome {
    Succeeded {
        status: u16,
    },
    Retry {
        status: Option<u16>,
        error: String,
        at: DateTime<Utc>,
    },
    Failed {
        status: Option<u16>,
        error: String,
    },
}

/// How many appended events a slow in-process subscriber may fall behind before it lags.
pub const EVENT_FEED_CAPACITY: usize = 1024;

/// The in-process fan-out of the events this process appends (SSE streams of this node).
pub fn event_feed() -> tokio::sync::broadcast::Sender<EventRecord> {
    tokio::sync::broadcast::channel(EVENT_FEED_CAPACITY).0
}

#[async_trait]
pub trait LiveEvents: Send + Sync {
    /// Appends an event to the log and queues it for every webhook subscribed to its kind, in one
    /// transaction; after the commit it goes to this process's subscribers
    /// ([`LiveEvents::subscribe_events`]). Whoever appends (a handler, the outbox, the journal,
    /// the SLA worker) thereby reaches the live streams: there is no second step to forget.
    async fn append_event(&self, e: NewEvent) -> Result<EventRecord> {
        self.append_events(vec![e])
            .await?
            .pop()
            .ok_or_else(|| crate::StoreError::Corrupt("an appended event came back missing".into()))
    }
    /// Like [`LiveEvents::append_event`] for many events in one transaction (a worker's batch);
    /// they are numbered in the order given.
    async fn append_events(&self, events: Vec<NewEvent>) -> Result<Vec<EventRecord>>;
    /// The events appended by this process from now on, and the other nodes' events that this
    /// node's live relay (`webcare-workers`) hands over ([`LiveEvents::publish_to_streams`]).
    fn subscribe_events(&self) -> tokio::sync::broadcast::Receiver<EventRecord>;
    async fn events_after(&self, seq: i64, limit: u32) -> Result<Vec<EventRecord>>;
    /// The highest number in the log (0 when it is empty).
    async fn last_event_seq(&self) -> Result<i64>;
    /// The log after `seq`, each event with whether this node (process) appended it: what the
    /// live relay reads.
    async fn events_of_all_nodes(&self, seq: i64, limit: u32) -> Result<Vec<(EventRecord, bool)>>;
    /// Hands logged events to this process's streams (the live relay, for other nodes' events).
    fn publish_to_streams(&self, recs: &[EventRecord]);
    /// Marks the SLA alerts `alert_ids` notified and appends their live events (`events`, keyed by
    /// alert), in one transaction: an alert another node notified meanwhile (its lease ran out)
    /// gets no second event, so each warning and breach reaches the streams and webhooks once.
    /// Answers how many events were appended.
    async fn notify_alerts(
        &self,
        alert_ids: &[Uuid],
        events: Vec<(Uuid, NewEvent)>,
        at: DateTime<Utc>,
    ) -> Result<usize>;
    async fn create_webhook(
        &self,
        url: &str,
        types: &[String],
        secret: &str,
    ) -> Result<WebhookRecord>;
    async fn list_webhooks(&self) -> Result<Vec<WebhookRecord>>;
    async fn get_webhook(&self, id: Uuid) -> Result<Option<WebhookRecord>>;
    async fn delete_webhook(&self, id: Uuid) -> Result<bool>;
    /// Leases up to `limit` due deliveries until `lease_until` (another node skips them).
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DeliveryJob>>;
    /// Records an attempt; a delivery that already succeeded is never changed.
    async fn finish_delivery(
        &self,
        webhook_id: Uuid,
        seq: i64,
        outcome: DeliveryOutcome,
    ) -> Result<()>;
    async fn list_deliveries(
        &self,
        webhook_id: Uuid,
        after_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>>;
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    pub seq: i64,
    pub at: i64,
    pub kind: String,
    pub case_id: Option<Uuid>,
    pub team: Option<String>,
    pub assignee: Option<String>,
    pub department_id: Option<Uuid>,
    pub payload: sqlx::types::Json<serde_json::Value>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct RelayRow {
    origin: Option<Uuid>,
    #[sqlx(flatten)]
    event: EventRow,
}

/// This node: a process's id in the `origin` of the events it logs. Stores in one process share
/// it (they share the process's streams' audience).
pub(crate) fn node_id() -> Uuid {
    static NODE: std::sync::OnceLock<Uuid> = std::sync::OnceLock::new();
    *NODE.get_or_init(Uuid::now_v7)
}

impl From<EventRow> for EventRecord {
    fn from(r: EventRow) -> Self {
        EventRecord {
            seq: r.seq,
            at: crate::time::from_ms(r.at),
            event: NewEvent {
                kind: r.kind,
                case_id: r.case_id,
                team: r.team,
                assignee: r.assignee,
                department_id: r.department_id,
                payload: r.payload.0,
            },
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct WebhookRow {
    pub id: Uuid,
    pub url: String,
    pub event_types: sqlx::types::Json<Vec<String>>,
    pub secret: String,
    pub created_at: i64,
}

impl From<WebhookRow> for WebhookRecord {
    fn from(r: WebhookRow) -> Self {
        WebhookRecord {
            id: r.id,
            url: r.url,
            event_types: r.event_types.0,
            secret: r.secret,
            created_at: crate::time::from_ms(r.created_at),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    pub webhook_id: Uuid,
    pub event_seq: i64,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

impl From<DeliveryRow> for DeliveryRecord {
    fn from(r: DeliveryRow) -> Self {
        DeliveryRecord {
            id: delivery_id(r.webhook_id, r.event_seq),
            webhook_id: r.webhook_id,
            event_seq: r.event_seq,
            status: r.status,
            attempts: r.attempts,
            next_attempt_at: crate::time::from_ms(r.next_attempt_at),
            last_status: r.last_status,
            last_error: r.last_error,
            created_at: crate::time::from_ms(r.created_at),
            delivered_at: crate::time::opt_from_ms(r.delivered_at),
        }
    }
}

pub(crate) const EVENT_COLS: &str =
    "seq, at, kind, case_id, team, assignee, department_id, payload";
pub(crate) const WEBHOOK_COLS: &str = "id, url, event_types, secret, created_at";

/// Appends events to the log in the caller's transaction, numbered in the order given, with a
/// delivery row for each webhook subscribed to its kind. The caller broadcasts the returned
/// records after its commit ([`broadcast`]).
pub(crate) async fn insert_events(
    conn: &mut Conn<'_>,
    events: &[NewEvent],
) -> Result<Vec<EventRecord>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let now = to_ms(Utc::now());
    let hooks: Vec<(Uuid, Json<Vec<String>>)> =
        query("SELECT id, event_types FROM webhooks WHERE deleted_at IS NULL")
            .fetch_all(&mut *conn)
            .await?;
    let mut recs: Vec<EventRecord> = Vec::with_capacity(events.len());
    for chunk in events.chunks(500) {
        let mut q = query(
            "INSERT INTO events (origin, at, kind, case_id, team, assignee, department_id, payload) ",
        );
        q.push_values(chunk.iter().map(|e| {
            [
                Arg::from(node_id()),
                Arg::from(now),
                e.kind.as_str().into(),
                e.case_id.into(),
                e.team.as_deref().into(),
                e.assignee.as_deref().into(),
                e.department_id.into(),
                json(&e.payload),
            ]
        }));
        // Only the numbers come back: the rows are what we just wrote, and decoding them (the
        // payload's JSON above all) cost the ingest path per message.
        q.push(" RETURNING seq");
        let mut seqs: Vec<i64> = q.scalars(&mut *conn).await?;
        // Numbered in the order given; RETURNING itself promises no order.
        seqs.sort_unstable();
        recs.extend(seqs.into_iter().zip(chunk).map(|(seq, e)| EventRecord {
            seq,
            at: from_ms(now),
            event: e.clone(),
        }));
    }
    let deliveries: Vec<(Uuid, i64)> = recs
        .iter()
        .flat_map(|r| {
            hooks
                .iter()
                .filter(|(_, types)| types.0.iter().any(|t| t == &r.event.kind))
                .map(|(id, _)| (*id, r.seq))
        })
        .collect();
    for chunk in deliveries.chunks(500) {
        let mut q = query(
            "INSERT INTO webhook_deliveries (webhook_id, event_seq, next_attempt_at, created_at) ",
        );
        q.push_values(
            chunk
                .iter()
                .map(|(id, seq)| [Arg::from(*id), (*seq).into(), now.into(), now.into()]),
        );
        q.push(" ON CONFLICT DO NOTHING");
        q.execute(&mut *conn).await?;
    }
    Ok(recs)
}

/// Hands committed events to this process's SSE streams (no subscriber is fine: the events are
/// in the log).
pub(crate) fn broadcast(feed: &tokio::sync::broadcast::Sender<EventRecord>, recs: &[EventRecord]) {
    for rec in recs {
        let _ = feed.send(rec.clone());
    }
}

#[async_trait]
impl<S: SqlCore> LiveEvents for S {
    async fn append_events(&self, events: Vec<NewEvent>) -> Result<Vec<EventRecord>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.db().begin().await?;
        let recs = insert_events(&mut tx.conn(), &events).await?;
        tx.commit().await?;
        broadcast(self.events(), &recs);
        Ok(recs)
    }

    fn subscribe_events(&self) -> tokio::sync::broadcast::Receiver<EventRecord> {
        self.events().subscribe()
    }

    async fn last_event_seq(&self) -> Result<i64> {
        let last: Option<i64> = query("SELECT MAX(seq) FROM events")
            .scalar_optional(self.db().read())
            .await?
            .flatten();
        Ok(last.unwrap_or(0))
    }

    async fn events_of_all_nodes(&self, seq: i64, limit: u32) -> Result<Vec<(EventRecord, bool)>> {
        let rows: Vec<RelayRow> = query(format!(
            "SELECT origin, {EVENT_COLS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"
        ))
        .bind(seq)
        .bind(limit)
        .fetch_all(self.db().read())
        .await?;
        let me = node_id();
        Ok(rows
            .into_iter()
            .map(|r| (r.event.into(), r.origin == Some(me)))
            .collect())
    }

    fn publish_to_streams(&self, recs: &[EventRecord]) {
        broadcast(self.events(), recs);
    }

    async fn notify_alerts(
        &self,
        alert_ids: &[Uuid],
        events: Vec<(Uuid, NewEvent)>,
        at: DateTime<Utc>,
    ) -> Result<usize> {
        if alert_ids.is_empty() {
            return Ok(0);
        }
        let mut tx = self.db().begin().await?;
        let mut fresh = std::collections::HashSet::new();
        for chunk in alert_ids.chunks(500) {
            let mut q = query("UPDATE sla_alerts SET notified_at = ");
            q.push_bind(to_ms(at))
                .push(" WHERE notified_at IS NULL AND id IN ")
                .push_list(chunk)
                .push(" RETURNING id");
            fresh.extend(q.scalars::<Uuid>(&mut tx).await?);
        }
        let events: Vec<NewEvent> = events
            .into_iter()
            .filter(|(id, _)| fresh.contains(id))
            .map(|(_, e)| e)
            .collect();
        let recs = insert_events(&mut tx.conn(), &events).await?;
        tx.commit().await?;
        broadcast(self.events(), &recs);
        Ok(recs.len())
    }

    async fn events_after(&self, seq: i64, limit: u32) -> Result<Vec<EventRecord>> {
        let rows: Vec<EventRow> = query(format!(
            "SELECT {EVENT_COLS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"
        ))
        .bind(seq)
        .bind(limit)
        .fetch_all(self.db().read())
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn create_webhook(
        &self,
        url: &str,
        types: &[String],
        secret: &str,
    ) -> Result<WebhookRecord> {
        let row: WebhookRow = query(format!(
            "INSERT INTO webhooks ({WEBHOOK_COLS}) VALUES ($1, $2, $3, $4, $5) \
             RETURNING {WEBHOOK_COLS}"
        ))
        .bind(Uuid::now_v7())
        .bind(url)
        .bind(json(types))
        .bind(secret)
        .bind(to_ms(Utc::now()))
        .fetch_one(self.db().write())
        .await?;
        Ok(row.into())
    }

    async fn list_webhooks(&self) -> Result<Vec<WebhookRecord>> {
        let rows: Vec<WebhookRow> = query(format!(
            "SELECT {WEBHOOK_COLS} FROM webhooks WHERE deleted_at IS NULL ORDER BY id"
        ))
        .fetch_all(self.db().read())
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn get_webhook(&self, id: Uuid) -> Result<Option<WebhookRecord>> {
        let row: Option<WebhookRow> = query(format!(
            "SELECT {WEBHOOK_COLS} FROM webhooks WHERE id = $1 AND deleted_at IS NULL"
        ))
        .bind(id)
        .fetch_optional(self.db().read())
        .await?;
        Ok(row.map(Into::into))
    }

    async fn delete_webhook(&self, id: Uuid) -> Result<bool> {
        let mut tx = self.db().begin().await?;
        let done =
            query("UPDATE webhooks SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL")
                .bind(id)
                .bind(to_ms(Utc::now()))
                .execute(&mut tx)
                .await?;
        // Pending deliveries of a deleted webhook are not sent.
        query(
            "UPDATE webhook_deliveries SET status = 'failed', last_error = 'webhook deleted' \
             WHERE webhook_id = $1 AND status = 'pending'",
        )
        .bind(id)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(done == 1)
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DeliveryJob>> {
        // A cheap read first, so an idle poller never takes the write lock.
        let any: Option<i64> = query(
            "SELECT event_seq FROM webhook_deliveries \
             WHERE status = 'pending' AND next_attempt_at <= $1 LIMIT 1",
        )
        .bind(to_ms(now))
        .scalar_optional(self.db().read())
        .await?;
        if any.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self.db().begin().await?;
        let due: Vec<(Uuid, i64)> = query(format!(
            "SELECT webhook_id, event_seq FROM webhook_deliveries WHERE status = 'pending' \
             AND next_attempt_at <= $1 ORDER BY next_attempt_at, event_seq LIMIT $2{}",
            tx.dialect().skip_locked()
        ))
        .bind(to_ms(now))
        .bind(limit)
        .fetch_all(&mut tx)
        .await?;
        let mut jobs = Vec::with_capacity(due.len());
        for (wid, seq) in due {
            let (attempts, created): (i64, i64) = query(
                "UPDATE webhook_deliveries SET next_attempt_at = $3 \
                 WHERE webhook_id = $1 AND event_seq = $2 RETURNING attempts, created_at",
            )
            .bind(wid)
            .bind(seq)
            .bind(to_ms(lease_until))
            .fetch_one(&mut tx)
            .await?;
            let hook: WebhookRow =
                query(format!("SELECT {WEBHOOK_COLS} FROM webhooks WHERE id = $1"))
                    .bind(wid)
                    .fetch_one(&mut tx)
                    .await?;
            let ev: EventRow = query(format!("SELECT {EVENT_COLS} FROM events WHERE seq = $1"))
                .bind(seq)
                .fetch_one(&mut tx)
                .await?;
            jobs.push(DeliveryJob {
                webhook: hook.into(),
                event: ev.into(),
                attempts,
                created_at: from_ms(created),
            });
        }
        tx.commit().await?;
        Ok(jobs)
    }

    async fn finish_delivery(&self, wid: Uuid, seq: i64, outcome: DeliveryOutcome) -> Result<()> {
        let now = to_ms(Utc::now());
        let (status, code, error, next, delivered) = match outcome {
            DeliveryOutcome::Succeeded { status } => {
                ("succeeded", Some(status), None, now, Some(now))
            }
            DeliveryOutcome::Retry { status, error, at } => {
                ("pending", status, Some(error), to_ms(at), None)
            }
            DeliveryOutcome::Failed { status, error } => ("failed", status, Some(error), now, None),
        };
        query(
            "UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, \
             last_status = $4, last_error = $5, next_attempt_at = $6, delivered_at = $7 \
             WHERE webhook_id = $1 AND event_seq = $2 AND status = 'pending'",
        )
        .bind(wid)
        .bind(seq)
        .bind(status)
        .bind(code.map(i64::from))
        .bind(error)
        .bind(next)
        .bind(delivered)
        .execute(self.db().write())
        .await?;
        Ok(())
    }

    async fn list_deliveries(
        &self,
        wid: Uuid,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>> {
        let rows: Vec<DeliveryRow> = query(
            "SELECT webhook_id, event_seq, status, attempts, next_attempt_at, last_status, \
             last_error, created_at, delivered_at FROM webhook_deliveries \
             WHERE webhook_id = $1 AND event_seq > $2 ORDER BY event_seq LIMIT $3",
        )
        .bind(wid)
        .bind(after.unwrap_or(0))
        .bind(limit)
        .fetch_all(self.db().read())
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
