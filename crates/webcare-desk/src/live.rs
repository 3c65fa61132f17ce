//! Live events: every event is appended to the persisted log (numbered, for `Last-Event-ID`
//! resume and webhooks); the store then hands it to this process's open SSE streams
//! (`LiveEvents::subscribe_events`), so anything that can reach the store can publish: handlers,
//! the outbox worker, journal processing, the SLA worker.
//!
//! Kinds: `case.created`, `case.updated`, `case.resolved`, `message.received`, `sla.warning`,
//! `sla.breached`, and `reply.updated` (a reply's delivery state: stored as `pending`, `sent`,
//! a retry scheduled (`pending` with `lastError`), `failed`, `delivered`, `read`), and
//! `journal.parked` (an accepted delivery kept as failed for an operator; no case, so only callers
//! who see every case get it).

use crate::principal::Principal;
use crate::Desk;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use webcare_store::agent_events::NewEvent;
use webcare_store::connectors::ReplyRecord;
use webcare_store::{CaseRecord, Store, StoreError};

/// Appends the event to the log (and the webhook queue); the store broadcasts it. Failures are
/// logged, not returned: the action the event describes has already been committed.
pub async fn publish(desk: &Desk, e: NewEvent) {
    publish_to(&desk.store, e).await
}

/// [`publish`] for workers, which hold the store but no [`Desk`].
pub async fn publish_to(store: &Arc<dyn Store>, e: NewEvent) {
    if let Err(err) = store.append_event(e).await {
        tracing::warn!(error = %err, "could not record a live event");
    }
}

/// `reply.updated`: the reply's delivery state changed. Scoped like the reply's case (its team,
/// assignee and department now), so a caller sees the replies of the cases it may see.
pub async fn reply_updated(store: &Arc<dyn Store>, r: &ReplyRecord) {
    let case = match store.get_case(r.case_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return, // erased meanwhile
        Err(e) => {
            tracing::warn!(reply = %r.id, error = %e, "reply event: reading the case failed");
            return;
        }
    };
    publish_to(store, case_event("reply.updated", &case, r.event_payload())).await
}

/// [`reply_updated`] for a reply known by id (after a store call that returns nothing).
pub async fn reply_updated_by_id(store: &Arc<dyn Store>, id: uuid::Uuid) {
    match store.get_reply(id).await {
        Ok(Some(r)) => reply_updated(store, &r).await,
        Ok(None) => {}
        Err(e) => tracing::warn!(reply = %id, error = %e, "reply event: reading the reply failed"),
    }
}

/// An event about `case`, with the case as payload.
pub fn case_event(kind: &str, case: &CaseRecord, payload: serde_json::Value) -> NewEvent {
    NewEvent::about(kind, case, payload)
}

/// Whether `p` may see event `e`: the case scope's rule (`webcare_domain::access`), applied to
/// the case as the event describes it (team, assignee and department now).
pub fn may_see(p: &Principal, e: &NewEvent) -> bool {
    p.case_scope().allows(e)
}

/// Tells the live stream about a recorded reply (`reply.updated`). The reply's effects on the
/// case (the reaction clocks stop, a `new` case opens, a pending department answer counts as
/// sent, and that case's `case.updated` event) are written by the store in the transaction that
/// records the send (`Connectors::reply_sent`, `Connectors::link_echo`). Called wherever a send
/// is recorded (the outbox, and when an echo adopts an in-doubt reply).
pub async fn answered(
    store: &Arc<dyn Store>,
    r: &ReplyRecord,
    _at: DateTime<Utc>,
) -> Result<(), StoreError> {
    reply_updated(store, r).await;
    Ok(())
}

/// [`answered`] for a reply known by id.
pub async fn answered_by_id(
    store: &Arc<dyn Store>,
    id: uuid::Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    match store.get_reply(id).await? {
        Some(r) => answered(store, &r, at).await,
        None => Ok(()),
    }
}

pub use webcare_store::agent_events::delivery_id;
