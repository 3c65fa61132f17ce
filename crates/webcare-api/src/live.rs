//! Live events: every event is appended to the persisted log (numbered, for `Last-Event-ID`
//! resume and webhooks) and then broadcast to the open SSE streams of this node.
//!
//! Others publish through [`publish`] (SLA warnings and breaches: `sla.warning`, `sla.breached`;
//! reply delivery states: `reply.updated`).

use crate::auth::Principal;
use crate::state::AppState;
use std::sync::Arc;
use tokio::sync::broadcast;
use webcare_store::agent::CaseScope;
use webcare_store::agent_events::{EventRecord, NewEvent};
use webcare_store::CaseRecord;

/// The in-process fan-out of this node's events.
#[derive(Clone)]
pub struct EventHub {
    tx: Arc<broadcast::Sender<EventRecord>>,
}

impl Default for EventHub {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self { tx: Arc::new(tx) }
    }
}

impl EventHub {
    pub fn subscribe(&self) -> broadcast::Receiver<EventRecord> {
        self.tx.subscribe()
    }
    pub fn send(&self, e: EventRecord) {
        // No subscribers is fine: the event is in the log.
        let _ = self.tx.send(e);
    }
}

/// Appends the event to the log (and the webhook queue) and broadcasts it. Failures are logged,
/// not returned: the action the event describes has already been committed.
pub async fn publish(state: &AppState, e: NewEvent) {
    match state.store.append_event(e).await {
        Ok(rec) => state.events.send(rec),
        Err(err) => tracing::warn!(error = %err, "could not record a live event"),
    }
}

/// An event about `case`, with the case as payload.
pub fn case_event(kind: &str, case: &CaseRecord, payload: serde_json::Value) -> NewEvent {
    NewEvent {
        kind: kind.into(),
        case_id: Some(case.id),
        team: case.team.clone(),
        assignee: case.assignee.clone(),
        department_id: case.department_id,
        payload,
    }
}

/// The same rule as [`CaseScope::allows`], for an event.
pub fn may_see(p: &Principal, e: &NewEvent) -> bool {
    match p.case_scope() {
        CaseScope::All => true,
        CaseScope::Teams { teams, assignee } => {
            e.assignee.as_deref() == Some(assignee.as_str())
                || e.team.as_ref().is_some_and(|t| teams.contains(t))
        }
        CaseScope::Department(d) => {
            e.department_id.is_some() && d.is_none_or(|d| e.department_id == Some(d))
        }
    }
}

/// Hands SLA warnings and breaches to the live events (SSE) and, through the event log, to the
/// outbound webhooks. Errors are returned so the SLA worker retries the alert after its lease.
pub struct LiveAlertSink {
    state: AppState,
}

impl LiveAlertSink {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[async_trait::async_trait]
impl crate::sla_worker::AlertSink for LiveAlertSink {
    async fn deliver(&self, a: &webcare_store::sla::AlertRecord) -> anyhow::Result<()> {
        crate::sla_worker::LogSink.deliver(a).await?;
        let Some(case) = self.state.store.get_case(a.case_id).await? else {
            return Ok(()); // the case was erased meanwhile: nothing to tell
        };
        let status = webcare_store::sla::status_str(a.status);
        let payload = serde_json::json!({
            "caseId": a.case_id,
            "clock": webcare_store::sla::kind_str(a.clock),
            "status": status,
            "dueAt": a.due_at,
            "firedAt": a.fired_at,
        });
        let rec = self
            .state
            .store
            .append_event(case_event(&format!("sla.{status}"), &case, payload))
            .await?;
        self.state.events.send(rec);
        Ok(())
    }
}
