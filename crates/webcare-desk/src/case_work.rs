//! Working a case: change it (PATCH), claim it, notes, merge, bulk actions, and the department
//! flow (forward, the department's answer, handing an answer back). Every action is checked
//! against the status machine and the caller's scope, recorded in the audit trail, and written in
//! one transaction with its SLA effects that fails (409) if the case changed meanwhile. The caller's
//! role is checked by the door (the API's `Authorized<roles::...>`, the web app's session).

use crate::error::{DeskError, DeskResult};
use crate::patch::double_option;
use crate::principal::Principal;
use crate::Desk;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;
use webcare_domain::status::{transition, InvalidTransition, Trigger};
use webcare_domain::{CaseKind, CaseStatus, Priority, Role, TargetGroup};
use webcare_store::agent::{CaseWrite, ForwardOp};
use webcare_store::{CaseRecord, NewAuditEvent};

const MAX_NOTE_CHARS: usize = 10_000;
const MAX_LABELS: usize = 20;
const MAX_BULK: usize = 100;

/// The case if the caller may see it; a case outside the caller's scope is a 404, so its
/// existence does not leak.
pub async fn visible_case(desk: &Desk, p: &Principal, id: Uuid) -> DeskResult<CaseRecord> {
    let case = desk
        .store
        .get_case(id)
        .await?
        .filter(|c| p.case_scope().allows(c))
        .ok_or_else(|| DeskError::NotFound("case".into()))?;
    Ok(case)
}

pub fn refused(e: InvalidTransition) -> DeskError {
    DeskError::InvalidTransition {
        detail: e.to_string(),
        allowed: e.allowed.iter().map(|s| s.as_str().to_owned()).collect(),
    }
}

/// Moves `c` to `to` by the status machine, keeping the resolved/closed times.
pub fn set_status(c: &mut CaseRecord, to: CaseStatus, now: DateTime<Utc>) -> DeskResult<()> {
    transition(c.status, to, Trigger::Manual).map_err(refused)?;
    c.status = to;
    match to {
        CaseStatus::Resolved => c.resolved_at = Some(now),
        CaseStatus::Closed => c.closed_at = Some(now),
        _ => {}
    }
    Ok(())
}

fn audit_event(
    p: &Principal,
    action: &str,
    case_id: Uuid,
    detail: serde_json::Value,
) -> NewAuditEvent {
    NewAuditEvent {
        actor: p.actor(),
        action: action.into(),
        case_id: Some(case_id),
        detail,
    }
}

fn check_text(name: &str, v: &str, max: usize) -> DeskResult<()> {
    if v.trim().is_empty() {
        Err(DeskError::invalid(name, "required", "must not be empty"))
    } else if v.chars().count() > max {
        Err(DeskError::invalid(
            name,
            "too_long",
            format!("at most {max} characters"),
        ))
    } else {
        Ok(())
    }
}

fn check_labels(labels: &[String]) -> DeskResult<Vec<String>> {
    if labels.len() > MAX_LABELS {
        return Err(DeskError::invalid(
            "labels",
            "too_many",
            format!("at most {MAX_LABELS}"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for l in labels {
        let l = l.trim();
        if l.is_empty() || l.chars().count() > 50 || l.chars().any(char::is_control) {
            return Err(DeskError::invalid(
                "labels",
                "invalid",
                "each label is 1 to 50 characters without control characters",
            ));
        }
        if !out.iter().any(|o| o == l) {
            out.push(l.to_owned());
        }
    }
    Ok(out)
}

/// Resolves an assignee: `me`, or the id of an active KCC user.
async fn resolve_assignee(desk: &Desk, p: &Principal, v: &str) -> DeskResult<String> {
    if v == "me" {
        return Ok(p.assignee_key());
    }
    let bad = || {
        DeskError::invalid(
            "assignee",
            "unknown_user",
            "'me' or the id of an active agent, team lead or admin",
        )
    };
    let id = Uuid::parse_str(v).map_err(|_| bad())?;
    let u = desk.store.get_user(id).await?.ok_or_else(bad)?;
    if !u.active || u.role == Role::Department {
        return Err(bad());
    }
    Ok(u.id.to_string())
}

async fn check_team(desk: &Desk, team: &str) -> DeskResult<()> {
    let known = desk.store.team_names(&[team.to_owned()]).await?;
    if known.is_empty() {
        return Err(DeskError::invalid("team", "unknown_team", "no such team"));
    }
    Ok(())
}

/// Writes a case change, with its SLA effects in the same transaction (the store plans the
/// clock changes from the change: a forward starts the department clock, the department's
/// answer stops it, resolve/close stops the clocks, waiting on the citizen pauses the
/// resolution clock, a reopen starts a new run, a new classification re-selects the policy),
/// and tells the live stream and webhooks about it (`case.updated`, and `case.resolved` when it
/// resolves the case), in that same transaction.
pub async fn write(desk: &Desk, mut w: CaseWrite) -> DeskResult<CaseRecord> {
    let action = w
        .audit
        .first()
        .map(|a| a.action.clone())
        .unwrap_or_default();
    let a = &w.after;
    let payload = serde_json::json!({"action": action, "status": a.status, "assignee": a.assignee});
    if w.before.status != CaseStatus::Resolved && a.status == CaseStatus::Resolved {
        w.events.push(("case.resolved", payload.clone()));
    }
    w.events.insert(0, ("case.updated", payload));
    if w.before.status != CaseStatus::Resolved
        && w.after.status == CaseStatus::Resolved
        && w.survey.is_none()
    {
        // Scheduled in the resolve's transaction (issue 16).
        w.survey = crate::survey::to_schedule(desk, &w.after, Utc::now()).await?;
    }
    if desk.zgw().await.is_some() {
        let department = match &w.forward {
            Some(ForwardOp::Open { department_id, .. }) => desk
                .store
                .get_department(*department_id)
                .await?
                .map(|d| d.name),
            _ => None,
        };
        let actor = w.audit.first().map(|a| a.actor.clone()).unwrap_or_default();
        w.zaak_jobs = webcare_store::zaak::follow_ups(&w, &actor, department.as_deref());
    }
    let c = desk.store.write_case(w).await?;
    webcare_store::crash::crash_point("case.after_commit");
    Ok(c)
}

// ------------------------------------------------------------------------------------ PATCH

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CasePatch {
    /// Moves allowed by the status machine; `forwarded` goes through `/forward`.
    pub status: Option<CaseStatus>,
    pub priority: Option<Priority>,
    /// One of the configured themes; null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub theme: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<CaseKind>))]
    pub kind: Option<Option<CaseKind>>,
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<TargetGroup>))]
    pub target_group: Option<Option<TargetGroup>>,
    /// Replaces the labels.
    pub labels: Option<Vec<String>>,
    /// `me` or a user id; null unassigns.
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub assignee: Option<Option<String>>,
    /// A team name; null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub team: Option<Option<String>>,
    /// With `status: resolved`: resolve even though the case's last reply was not delivered
    /// (pending or failed); without it such a resolve answers 409.
    #[serde(default)]
    pub confirm_undelivered: bool,
    /// "Geen reactie nodig": why this case needs no reply (1 to 500 characters). Only with
    /// `status` `resolved` or `closed`; the reaction clocks that still wait for a reply stop as
    /// `cancelled` with stop reason `no_reply_needed` and this reason as `stopNote`.
    pub no_reply_reason: Option<String>,
}

/// A case change, as `PATCH /cases/{id}` and the web app's case page make it.
pub async fn patch_case(
    desk: &Desk,
    p: &Principal,
    id: Uuid,
    b: CasePatch,
) -> DeskResult<CaseRecord> {
    let before = visible_case(desk, p, id).await?;
    let mut w = CaseWrite::new(before);
    let now = Utc::now();
    let a = &mut w.after;
    let mut changes = serde_json::Map::new();
    if let Some(s) = b.status {
        if s == CaseStatus::Forwarded {
            return Err(DeskError::invalid(
                "status",
                "use_forward",
                "forward a case with POST /api/v1/cases/{id}/forward",
            ));
        }
        if s == CaseStatus::Resolved && w.before.status != CaseStatus::Resolved {
            crate::replies::check_resolvable(desk, id, b.confirm_undelivered).await?;
        }
        set_status(a, s, now)?;
        changes.insert("status".into(), serde_json::json!([w.before.status, s]));
    }
    if let Some(v) = b.priority {
        a.priority = v;
        changes.insert("priority".into(), serde_json::json!(v));
    }
    if let Some(v) = b.theme {
        changes.insert("theme".into(), serde_json::json!(v));
        a.theme = v;
    }
    if let Some(v) = b.kind {
        a.kind = v;
        changes.insert("kind".into(), serde_json::json!(v));
    }
    if let Some(v) = b.target_group {
        a.target_group = v;
        changes.insert("targetGroup".into(), serde_json::json!(v));
    }
    if let Some(v) = b.labels {
        a.labels = check_labels(&v)?;
        changes.insert("labels".into(), serde_json::json!(a.labels));
    }
    if let Some(v) = b.assignee {
        a.assignee = match v {
            Some(s) => Some(resolve_assignee(desk, p, &s).await?),
            None => None,
        };
        changes.insert("assignee".into(), serde_json::json!(a.assignee));
    }
    if let Some(v) = b.team {
        if let Some(t) = &v {
            check_team(desk, t).await?;
        }
        changes.insert("team".into(), serde_json::json!(v));
        a.team = v;
    }
    if let Some(r) = &b.no_reply_reason {
        check_text("noReplyReason", r, 500)?;
        if !matches!(b.status, Some(CaseStatus::Resolved | CaseStatus::Closed)) {
            return Err(DeskError::invalid(
                "noReplyReason",
                "needs_resolve",
                "only together with status `resolved` or `closed`",
            ));
        }
        changes.insert("noReplyReason".into(), serde_json::json!(r));
    }
    if changes.is_empty() {
        return Err(DeskError::invalid(
            "body",
            "empty",
            "change at least one field",
        ));
    }
    check_classification(desk, &w).await?;
    w.audit.push(audit_event(
        p,
        "case.updated",
        id,
        serde_json::json!({"changes": changes}),
    ));
    w.no_reply_reason = b.no_reply_reason;
    write(desk, w).await
}

/// The case's theme, kind and target group as the change leaves them are on the admin's lists,
/// and a change that finishes the case has the theme the desk may require.
async fn check_classification(desk: &Desk, w: &CaseWrite) -> DeskResult<()> {
    let finished = |s: CaseStatus| matches!(s, CaseStatus::Resolved | CaseStatus::Closed);
    let finishes = finished(w.after.status) && !finished(w.before.status);
    let (_, c) = crate::classification::current(desk).await?;
    crate::classification::check_case(&c, &w.before, &w.after, finishes)
}

/// Assigns the case to the caller (the API's claim and the web app's "Oppakken").
pub async fn claim_case(desk: &Desk, p: &Principal, id: Uuid) -> DeskResult<CaseRecord> {
    let before = visible_case(desk, p, id).await?;
    let me = p.assignee_key();
    if let Some(other) = before.assignee.as_deref().filter(|a| *a != me) {
        return Err(DeskError::Conflict(format!(
            "the case is assigned to {other}; a team lead can reassign it"
        )));
    }
    if matches!(before.status, CaseStatus::Resolved | CaseStatus::Closed) {
        return Err(DeskError::Conflict(format!(
            "the case is {}; reopen it first",
            before.status
        )));
    }
    let mut w = CaseWrite::new(before);
    w.after.assignee = Some(me.clone());
    if w.after.status == CaseStatus::New {
        set_status(&mut w.after, CaseStatus::Open, Utc::now())?;
    }
    w.audit.push(audit_event(
        p,
        "case.claimed",
        id,
        serde_json::json!({"assignee": me}),
    ));
    write(desk, w).await
}

// ------------------------------------------------------------------------------------ notes

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewNote {
    pub text: String,
}

/// Adds an internal note to a case.
pub async fn add_note_to(
    desk: &Desk,
    p: &Principal,
    id: Uuid,
    b: NewNote,
) -> DeskResult<CaseRecord> {
    check_text("text", &b.text, MAX_NOTE_CHARS)?;
    let before = visible_case(desk, p, id).await?;
    let mut w = CaseWrite::new(before);
    w.note = Some((p.actor(), b.text));
    w.audit
        .push(audit_event(p, "case.note_added", id, serde_json::json!({})));
    write(desk, w).await
}

// ------------------------------------------------------------------------------------ merge

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MergeRequest {
    /// The case that stays; this case is closed and points at it.
    pub into_case_id: Uuid,
}

/// Merges case `id` into `into` (one citizen, the same question on two channels): messages and
/// notes move, the contacts are linked into one, this case is closed with a pointer. Answers the
/// case merged into.
pub async fn merge_case(
    desk: &Desk,
    p: &Principal,
    id: Uuid,
    b: MergeRequest,
) -> DeskResult<CaseRecord> {
    if b.into_case_id == id {
        return Err(DeskError::invalid(
            "intoCaseId",
            "same_case",
            "a case cannot be merged into itself",
        ));
    }
    let from = visible_case(desk, p, id).await?;
    let into = visible_case(desk, p, b.into_case_id).await?;
    if into.status == CaseStatus::Closed {
        return Err(DeskError::Conflict(
            "the case to merge into is closed".into(),
        ));
    }
    let now = Utc::now();
    let mut fw = CaseWrite::new(from.clone());
    set_status(&mut fw.after, CaseStatus::Closed, now)?;
    fw.after.contact_id = into.contact_id;
    fw.audit.push(audit_event(
        p,
        "case.merged",
        id,
        serde_json::json!({"intoCaseId": into.id}),
    ));
    let mut iw = CaseWrite::new(into.clone());
    let a = &mut iw.after;
    a.first_message_at = a.first_message_at.min(from.first_message_at);
    a.last_message_at = a.last_message_at.max(from.last_message_at);
    for l in &from.labels {
        if !a.labels.contains(l) {
            a.labels.push(l.clone());
        }
    }
    if a.assignee.is_none() {
        a.assignee = from.assignee.clone();
    }
    if from.priority > a.priority {
        a.priority = from.priority;
    }
    iw.audit.push(audit_event(
        p,
        "case.merged_from",
        into.id,
        serde_json::json!({"fromCaseId": id}),
    ));
    iw.events.push((
        "case.updated",
        serde_json::json!({"action": "merged", "fromCaseId": id, "status": iw.after.status}),
    ));
    // The merged case's clocks stop (reason `merged`) in the same transaction; the case merged
    // into carries on.
    Ok(desk.store.merge_cases(fw, iw).await?)
}

// ------------------------------------------------------------------------------------ bulk

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum BulkAction {
    Assign,
    Tag,
    Resolve,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkRequest {
    pub case_ids: Vec<Uuid>,
    pub action: BulkAction,
    /// For `assign`: `me`, a user id, or null to unassign.
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub assignee: Option<Option<String>>,
    /// For `tag`: labels added to each case.
    #[serde(default)]
    pub labels: Vec<String>,
    /// For `resolve`: also resolve cases whose last reply was not delivered (otherwise their
    /// result is 409).
    #[serde(default)]
    pub confirm_undelivered: bool,
}

/// Assigns, tags or resolves many cases after checking the request as a whole; each case is its
/// own transaction, with its own result, in the order asked.
pub async fn bulk(
    desk: &Desk,
    p: &Principal,
    b: BulkRequest,
) -> DeskResult<Vec<(Uuid, DeskResult<CaseRecord>)>> {
    if b.case_ids.is_empty() || b.case_ids.len() > MAX_BULK {
        return Err(DeskError::invalid(
            "caseIds",
            "out_of_range",
            format!("1 to {MAX_BULK} case ids"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if !b.case_ids.iter().all(|id| seen.insert(*id)) {
        return Err(DeskError::invalid("caseIds", "duplicate", "each case once"));
    }
    let assignee = match (b.action, &b.assignee) {
        (BulkAction::Assign, None) => {
            return Err(DeskError::invalid(
                "assignee",
                "required",
                "needed for assign",
            ))
        }
        (BulkAction::Assign, Some(Some(a))) => Some(resolve_assignee(desk, p, a).await?),
        _ => None,
    };
    let labels = check_labels(&b.labels)?;
    if b.action == BulkAction::Tag && labels.is_empty() {
        return Err(DeskError::invalid("labels", "required", "needed for tag"));
    }
    let mut results = Vec::with_capacity(b.case_ids.len());
    for id in b.case_ids {
        let r = bulk_one(
            desk,
            p,
            id,
            b.action,
            assignee.clone(),
            &labels,
            b.confirm_undelivered,
        )
        .await;
        results.push((id, r));
    }
    Ok(results)
}

async fn bulk_one(
    desk: &Desk,
    p: &Principal,
    id: Uuid,
    action: BulkAction,
    assignee: Option<String>,
    labels: &[String],
    confirm_undelivered: bool,
) -> DeskResult<CaseRecord> {
    let before = visible_case(desk, p, id).await?;
    let mut w = CaseWrite::new(before);
    let detail = match action {
        BulkAction::Assign => {
            w.after.assignee = assignee.clone();
            serde_json::json!({"bulk": true, "changes": {"assignee": assignee}})
        }
        BulkAction::Tag => {
            for l in labels {
                if !w.after.labels.contains(l) {
                    w.after.labels.push(l.clone());
                }
            }
            if w.after.labels.len() > MAX_LABELS {
                return Err(DeskError::invalid(
                    "labels",
                    "too_many",
                    format!("at most {MAX_LABELS}"),
                ));
            }
            serde_json::json!({"bulk": true, "changes": {"labels": w.after.labels}})
        }
        BulkAction::Resolve => {
            if w.before.status != CaseStatus::Resolved {
                crate::replies::check_resolvable(desk, id, confirm_undelivered).await?;
            }
            set_status(&mut w.after, CaseStatus::Resolved, Utc::now())?;
            check_classification(desk, &w).await?;
            serde_json::json!({"bulk": true, "changes": {"status": [w.before.status, "resolved"]}})
        }
    };
    w.audit.push(audit_event(p, "case.updated", id, detail));
    write(desk, w).await
}

// ------------------------------------------------------------------------------------ departments

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForwardRequest {
    pub department_id: Uuid,
    /// What the department is asked.
    pub question: String,
}

/// Forwards a case to a department with a question (starts the department clock).
pub async fn forward_case(
    desk: &Desk,
    p: &Principal,
    id: Uuid,
    b: ForwardRequest,
) -> DeskResult<CaseRecord> {
    check_text("question", &b.question, MAX_NOTE_CHARS)?;
    if desk.store.get_department(b.department_id).await?.is_none() {
        return Err(DeskError::invalid(
            "departmentId",
            "unknown_department",
            "no such department",
        ));
    }
    let before = visible_case(desk, p, id).await?;
    let mut w = CaseWrite::new(before);
    set_status(&mut w.after, CaseStatus::Forwarded, Utc::now())?;
    w.after.department_id = Some(b.department_id);
    w.forward = Some(ForwardOp::Open {
        department_id: b.department_id,
        question: b.question,
        by: p.actor(),
    });
    w.audit.push(audit_event(
        p,
        "case.forwarded",
        id,
        serde_json::json!({"departmentId": b.department_id}),
    ));
    write(desk, w).await
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DepartmentAnswer {
    pub text: String,
}

/// The department's answer to a forwarded case (stops the department clock; the case reopens).
pub async fn answer_forward(
    desk: &Desk,
    p: &Principal,
    id: Uuid,
    b: DepartmentAnswer,
) -> DeskResult<CaseRecord> {
    check_text("text", &b.text, MAX_NOTE_CHARS)?;
    let before = visible_case(desk, p, id).await?;
    let mut w = CaseWrite::new(before);
    set_status(&mut w.after, CaseStatus::Open, Utc::now())?;
    w.forward = Some(ForwardOp::Answer {
        text: b.text,
        by: p.actor(),
    });
    w.audit.push(audit_event(
        p,
        "case.department_answered",
        id,
        serde_json::json!({"departmentId": w.before.department_id}),
    ));
    write(desk, w).await
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReturnRequest {
    /// Why the answer is not usable yet; the department gets it as the new question.
    pub reason: String,
}

/// Hands a department's answer back to the department with a reason.
pub async fn return_case(
    desk: &Desk,
    p: &Principal,
    id: Uuid,
    b: ReturnRequest,
) -> DeskResult<CaseRecord> {
    check_text("reason", &b.reason, MAX_NOTE_CHARS)?;
    let before = visible_case(desk, p, id).await?;
    if desk.store.department_answer(id).await?.is_none() {
        return Err(DeskError::Conflict(
            "the case has no department answer to hand back".into(),
        ));
    }
    let mut w = CaseWrite::new(before);
    set_status(&mut w.after, CaseStatus::Forwarded, Utc::now())?;
    w.forward = Some(ForwardOp::Return {
        reason: b.reason,
        by: p.actor(),
    });
    w.audit.push(audit_event(
        p,
        "case.department_answer_returned",
        id,
        serde_json::json!({}),
    ));
    write(desk, w).await
}
