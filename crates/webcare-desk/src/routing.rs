//! Routing a case on demand (`POST /cases/{id}/route`): the rules in force run again on the
//! citizen message that opened the case, as they ran when it came in, with the case's theme,
//! kind and target group now. The matching rule's actions apply in one transaction with their
//! effects (a forward starts the department clock, the audit entry, the live event); a rule never
//! overwrites a theme, kind or target group the case has. New cases are routed at ingest, in the
//! ingest transaction (`webcare_store::routing`).

use crate::case_work::{set_status, visible_case, write};
use crate::error::{DeskError, DeskResult};
use crate::principal::Principal;
use crate::Desk;
use chrono::Utc;
use uuid::Uuid;
use webcare_domain::routing::{Facts, RuleSet, RuleSpec};
use webcare_domain::{CaseStatus, Direction};
use webcare_store::agent::{CaseWrite, ForwardOp};
use webcare_store::routing::StoredRule;
use webcare_store::{CaseRecord, NewAuditEvent, RoutedBy};

/// What the rules did to a case.
#[derive(Debug)]
pub struct Routed {
    /// The version of the rules that ran (0: none were ever set).
    pub version: i64,
    /// The rule that matched, if any, and why.
    pub rule: Option<(StoredRule, Vec<String>)>,
    /// The case as it is now: unchanged when no rule matched.
    pub case: CaseRecord,
}

/// Runs the rules in force on case `id` (one the caller may see) and applies the first match.
pub async fn route_case(desk: &Desk, p: &Principal, id: Uuid) -> DeskResult<Routed> {
    let before = visible_case(desk, p, id).await?;
    let (version, rules) = match desk.store.routing_rules().await? {
        Some(r) => (r.version, r.rules),
        None => (0, Vec::new()),
    };
    let unmatched = |case| Routed {
        version,
        rule: None,
        case,
    };
    let messages = desk.store.case_messages(id).await?;
    let Some(first) = messages
        .iter()
        .find(|m| m.direction == Direction::Inbound && m.deleted_at.is_none())
    else {
        return Ok(unmatched(before));
    };
    let specs: Vec<RuleSpec> = rules.iter().map(|r| r.spec.clone()).collect();
    let set = RuleSet::compile(&specs).map_err(|_| {
        DeskError::Internal(anyhow::anyhow!("the stored routing rules do not compile"))
    })?;
    let account = desk
        .store
        .get_channel_account(before.channel_account_id)
        .await?
        .ok_or_else(|| DeskError::Internal(anyhow::anyhow!("the case's account is missing")))?;
    // The account's opening hours, as at ingest.
    let calendar = match account.calendar_id {
        Some(c) => desk.store.calendar_versions(c).await?,
        None => None,
    }
    .unwrap_or_else(|| webcare_store::sla::default_calendar().clone());
    let facts = Facts {
        channel_kind: account.kind,
        channel_account_id: account.id,
        visibility: first.visibility,
        text: &first.text,
        flags: &first.flags,
        theme: before.theme.as_deref(),
        kind: before.kind,
        target_group: before.target_group,
        local: first
            .sent_at
            .with_timezone(&calendar.in_force(first.sent_at).time_zone())
            .naive_local(),
        within_opening_hours: calendar.is_open(first.sent_at),
    };
    let Some(hit) = set.first_match(&facts) else {
        return Ok(unmatched(before));
    };
    let rule = rules[hit.index].clone();
    let actions = &rule.spec.actions;
    let mut w = CaseWrite::new(before);
    let mut fields = w.after.routable();
    actions.apply(&mut fields);
    w.after.set_routable(
        fields,
        RoutedBy {
            version,
            rule_id: rule.id,
        },
    );
    w.audit.push(NewAuditEvent {
        actor: p.actor(),
        action: "case.routed".into(),
        case_id: Some(id),
        detail: serde_json::json!({
            "version": version, "ruleId": rule.id, "rule": rule.spec.name, "reasons": hit.reasons,
            "departmentId": actions.department_id, "createZaak": actions.create_zaak,
        }),
    });
    // A forward only where the case is not with that department already.
    if let Some(department_id) = actions
        .department_id
        .filter(|d| w.before.status != CaseStatus::Forwarded || w.before.department_id != Some(*d))
    {
        if desk.store.get_department(department_id).await?.is_none() {
            return Err(DeskError::Conflict(
                "the rule forwards to a department that no longer exists".into(),
            ));
        }
        set_status(&mut w.after, CaseStatus::Forwarded, Utc::now())?;
        w.after.department_id = Some(department_id);
        w.forward = Some(ForwardOp::Open {
            department_id,
            question: format!("Doorgestuurd door routeringsregel '{}'.", rule.spec.name),
            by: p.actor(),
        });
    }
    let case = write(desk, w).await?;
    Ok(Routed {
        version,
        rule: Some((rule, hit.reasons)),
        case,
    })
}
