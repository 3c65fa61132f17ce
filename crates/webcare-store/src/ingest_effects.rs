//! What a batch of new messages means beyond its rows: the auto-assignment of each new case within
//! its team (`webcare_domain::assign::assign_batch`), and the live events of every new message
//! (`case.created`, `message.received`), which also queue the outbound webhooks. Planned without
//! IO; the ingest transaction writes them with the messages, so every door (webhooks, pollers, the
//! API, the journal sweep, the demo) has the same effects and a crash leaves all of them or none.

use crate::agent_events::NewEvent;
use crate::records::IngestOutcome;
use std::collections::HashMap;
use uuid::Uuid;

/// The audit actor of an automatic assignment.
pub(crate) const AUTO_ASSIGN_ACTOR: &str = "system:auto-assign";

/// A case as its events are scoped: who may see them (its team, assignee and department now).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CaseScopeRow {
    pub id: Uuid,
    pub status: String,
    pub team: Option<String>,
    pub assignee: Option<String>,
    pub department_id: Option<Uuid>,
}

/// The events of a batch, in batch order: for each stored message, `case.created` first when it
/// opened its case, then `message.received`. Duplicates and failed items have none.
pub(crate) fn events(
    outcomes: &[crate::Result<IngestOutcome>],
    cases: &HashMap<Uuid, CaseScopeRow>,
) -> Vec<NewEvent> {
    let mut out = Vec::new();
    for o in outcomes.iter().flatten().filter(|o| o.created) {
        let Some(case) = cases.get(&o.message.case_id) else {
            continue;
        };
        let payload = serde_json::json!({
            "messageId": o.message.id,
            "status": case.status,
            "direction": o.message.direction.as_str(),
            "channelAccountId": o.message.channel_account_id,
        });
        let event = |kind: &str| NewEvent {
            kind: kind.into(),
            case_id: Some(case.id),
            team: case.team.clone(),
            assignee: case.assignee.clone(),
            department_id: case.department_id,
            payload: payload.clone(),
        };
        if o.new_case {
            out.push(event("case.created"));
        }
        out.push(event("message.received"));
    }
    out
}
