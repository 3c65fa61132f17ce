//! SLA policies (admin): a new policy, and a new version of one (a later `effectiveFrom`) or a
//! change of a version (the same `effectiveFrom`). For the API's `/sla-policies` and the web
//! app's Beheer page.

use crate::calendars::field_errors;
use crate::error::{DeskError, DeskResult, InvalidParam};
use crate::people::audit;
use crate::principal::Principal;
use crate::Desk;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use webcare_domain::sla::SlaPolicy;
use webcare_domain::Role;
use webcare_store::sla::PolicyRecord;

/// Checks a policy and that its calendar exists.
async fn check_policy(desk: &Desk, p: &SlaPolicy) -> DeskResult<()> {
    let mut errs: Vec<InvalidParam> = match p.validate().map_err(field_errors) {
        Err(DeskError::Invalid(v)) => v,
        _ => vec![],
    };
    if p.name.chars().count() > 200 {
        errs.push(InvalidParam::new(
            "name",
            "too_long",
            "at most 200 characters",
        ));
    }
    if let Some(id) = p.calendar_id {
        if desk.store.get_calendar(id).await?.is_none() {
            errs.push(InvalidParam::new(
                "calendarId",
                "unknown_calendar",
                format!("no calendar {id}"),
            ));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(DeskError::Invalid(errs))
    }
}

async fn audit_policy(desk: &Desk, p: &Principal, action: &str, id: Uuid) -> DeskResult<()> {
    audit(desk, p, action, serde_json::json!({ "id": id })).await
}

/// A new policy (its first version).
pub async fn create_policy(
    desk: &Desk,
    p: &Principal,
    policy: SlaPolicy,
) -> DeskResult<PolicyRecord> {
    p.require(&[Role::Admin])?;
    check_policy(desk, &policy).await?;
    let rec = desk.store.create_policy(policy).await?;
    audit_policy(desk, p, "sla_policy.created", rec.id).await?;
    Ok(rec)
}

/// When any version of the policy `name` last changed: an editor's copy older than that is
/// stale (another version may have been added meanwhile).
pub fn last_change(all: &[PolicyRecord], name: &str) -> Option<DateTime<Utc>> {
    all.iter()
        .filter(|p| p.policy.name == name)
        .map(|p| p.updated_at)
        .max()
}

/// A version of policy `id`'s name, or a change of `id` when `effectiveFrom` is equal. `seen`:
/// when the editor's copy of the policy was last changed ([`last_change`], a form); a later
/// change makes this one a conflict.
pub async fn put_policy(
    desk: &Desk,
    p: &Principal,
    id: Uuid,
    policy: SlaPolicy,
    seen: Option<DateTime<Utc>>,
) -> DeskResult<PolicyRecord> {
    p.require(&[Role::Admin])?;
    check_policy(desk, &policy).await?;
    let gone = || DeskError::NotFound("SLA policy".into());
    if let Some(seen) = seen {
        let current = desk.store.get_policy(id).await?.ok_or_else(gone)?;
        if last_change(&desk.store.list_policies().await?, &current.policy.name) != Some(seen) {
            return Err(DeskError::Conflict(crate::STALE.into()));
        }
    }
    let rec = desk.store.put_policy(id, policy).await?.ok_or_else(gone)?;
    audit_policy(desk, p, "sla_policy.updated", rec.id).await?;
    Ok(rec)
}
