//! Working a case: change it (PATCH), claim it, notes, merge, bulk actions, and the department
//! flow (forward, the department's answer, handing an answer back). Every action is checked
//! against the status machine and the caller's scope, recorded in the audit trail, and written in
//! one transaction that fails (409) if the case changed meanwhile.

use crate::auth::{roles, Authorized, Principal};
use crate::dto::Case;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, IdPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use webcare_domain::status::{transition, InvalidTransition, Trigger};
use webcare_domain::{CaseKind, CaseStatus, Priority, Role, TargetGroup, DEFAULT_THEMES};
use webcare_store::agent::{CaseWrite, ForwardOp};
use webcare_store::{CaseRecord, NewAuditEvent};

const MAX_NOTE_CHARS: usize = 10_000;
const MAX_LABELS: usize = 20;
const MAX_BULK: usize = 100;

fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    de: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(de).map(Some)
}

/// The case if the caller may see it; a case outside the caller's scope is a 404, so its
/// existence does not leak.
pub async fn visible_case(state: &AppState, p: &Principal, id: Uuid) -> ApiResult<CaseRecord> {
    let case = state
        .store
        .get_case(id)
        .await?
        .filter(|c| p.case_scope().allows(c))
        .ok_or_else(|| ApiError::NotFound("case".into()))?;
    Ok(case)
}

pub fn refused(e: InvalidTransition) -> ApiError {
    ApiError::InvalidTransition {
        detail: e.to_string(),
        allowed: e.allowed.iter().map(|s| s.as_str().to_owned()).collect(),
    }
}

/// Moves `c` to `to` by the status machine, keeping the resolved/closed times.
pub fn set_status(c: &mut CaseRecord, to: CaseStatus, now: DateTime<Utc>) -> ApiResult<()> {
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

fn check_text(name: &str, v: &str, max: usize) -> ApiResult<()> {
    if v.trim().is_empty() {
        Err(ApiError::invalid(name, "required", "must not be empty"))
    } else if v.chars().count() > max {
        Err(ApiError::invalid(
            name,
            "too_long",
            format!("at most {max} characters"),
        ))
    } else {
        Ok(())
    }
}

fn check_labels(labels: &[String]) -> ApiResult<Vec<String>> {
    if labels.len() > MAX_LABELS {
        return Err(ApiError::invalid(
            "labels",
            "too_many",
            format!("at most {MAX_LABELS}"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for l in labels {
        let l = l.trim();
        if l.is_empty() || l.chars().count() > 50 || l.chars().any(char::is_control) {
            return Err(ApiError::invalid(
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
async fn resolve_assignee(state: &AppState, p: &Principal, v: &str) -> ApiResult<String> {
    if v == "me" {
        return Ok(p.assignee_key());
    }
    let bad = || {
        ApiError::invalid(
            "assignee",
            "unknown_user",
            "'me' or the id of an active agent, team lead or admin",
        )
    };
    let id = Uuid::parse_str(v).map_err(|_| bad())?;
    let u = state.store.get_user(id).await?.ok_or_else(bad)?;
    if !u.active || u.role == Role::Department {
        return Err(bad());
    }
    Ok(u.id.to_string())
}

async fn check_team(state: &AppState, team: &str) -> ApiResult<()> {
    let known = state.store.team_names(&[team.to_owned()]).await?;
    if known.is_empty() {
        return Err(ApiError::invalid("team", "unknown_team", "no such team"));
    }
    Ok(())
}

/// Writes a case change, with its SLA effects in the same transaction (the store plans the
/// clock changes from the change: a forward starts the department clock, the department's
/// answer stops it, resolve/close stops the clocks, waiting on the citizen pauses the
/// resolution clock, a reopen starts a new run, a new classification re-selects the policy),
/// and tells the live stream and webhooks about it.
pub(crate) async fn write(state: &AppState, w: CaseWrite) -> ApiResult<CaseRecord> {
    let action = w
        .audit
        .first()
        .map(|a| a.action.clone())
        .unwrap_or_default();
    let resolved = w.before.status != CaseStatus::Resolved;
    let c = state.store.write_case(w).await?;
    webcare_store::crash::crash_point("case.after_commit");
    let payload = serde_json::json!({"action": action, "status": c.status, "assignee": c.assignee});
    crate::live::publish(
        state,
        crate::live::case_event("case.updated", &c, payload.clone()),
    )
    .await;
    if resolved && c.status == CaseStatus::Resolved {
        crate::live::publish(state, crate::live::case_event("case.resolved", &c, payload)).await;
    }
    Ok(c)
}

// ------------------------------------------------------------------------------------ PATCH

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CasePatch {
    /// Moves allowed by the status machine; `forwarded` goes through `/forward`.
    pub status: Option<CaseStatus>,
    pub priority: Option<Priority>,
    /// One of the configured themes; null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub theme: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<CaseKind>)]
    pub kind: Option<Option<CaseKind>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<TargetGroup>)]
    pub target_group: Option<Option<TargetGroup>>,
    /// Replaces the labels.
    pub labels: Option<Vec<String>>,
    /// `me` or a user id; null unassigns.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub assignee: Option<Option<String>>,
    /// A team name; null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
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

/// Change a case: status, priority, theme, kind, target group, labels, assignee, team.
#[utoipa::path(
    patch, path = "/api/v1/cases/{id}", tag = "case-work", params(("id" = Uuid, Path)),
    request_body = CasePatch,
    responses(
        (status = 200, body = Case),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed by the status machine (`allowed` lists the statuses that are), changed meanwhile, or resolving while the case's last reply is not delivered (pending or failed) without `confirmUndelivered: true`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn patch(
    State(state): State<AppState>,
    p: Authorized<roles::CaseWork>,
    IdPath(id): IdPath,
    ApiJson(b): ApiJson<CasePatch>,
) -> ApiResult<Json<Case>> {
    Ok(Json(patch_case(&state, &p, id, b).await?.into()))
}

/// A case change, as `PATCH /cases/{id}` and the web app's case page make it.
pub async fn patch_case(
    state: &AppState,
    p: &Authorized<roles::CaseWork>,
    id: Uuid,
    b: CasePatch,
) -> ApiResult<CaseRecord> {
    let before = visible_case(state, p, id).await?;
    let mut w = CaseWrite::new(before);
    let now = Utc::now();
    let a = &mut w.after;
    let mut changes = serde_json::Map::new();
    if let Some(s) = b.status {
        if s == CaseStatus::Forwarded {
            return Err(ApiError::invalid(
                "status",
                "use_forward",
                "forward a case with POST /api/v1/cases/{id}/forward",
            ));
        }
        if s == CaseStatus::Resolved && w.before.status != CaseStatus::Resolved {
            super::replies::check_resolvable(state, id, b.confirm_undelivered).await?;
        }
        set_status(a, s, now)?;
        changes.insert("status".into(), serde_json::json!([w.before.status, s]));
    }
    if let Some(v) = b.priority {
        a.priority = v;
        changes.insert("priority".into(), serde_json::json!(v));
    }
    if let Some(v) = b.theme {
        if let Some(t) = &v {
            if !DEFAULT_THEMES.contains(&t.as_str()) {
                return Err(ApiError::invalid(
                    "theme",
                    "unknown_theme",
                    format!("one of: {}", DEFAULT_THEMES.join(", ")),
                ));
            }
        }
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
            Some(s) => Some(resolve_assignee(state, p, &s).await?),
            None => None,
        };
        changes.insert("assignee".into(), serde_json::json!(a.assignee));
    }
    if let Some(v) = b.team {
        if let Some(t) = &v {
            check_team(state, t).await?;
        }
        changes.insert("team".into(), serde_json::json!(v));
        a.team = v;
    }
    if let Some(r) = &b.no_reply_reason {
        check_text("noReplyReason", r, 500)?;
        if !matches!(b.status, Some(CaseStatus::Resolved | CaseStatus::Closed)) {
            return Err(ApiError::invalid(
                "noReplyReason",
                "needs_resolve",
                "only together with status `resolved` or `closed`",
            ));
        }
        changes.insert("noReplyReason".into(), serde_json::json!(r));
    }
    if changes.is_empty() {
        return Err(ApiError::invalid(
            "body",
            "empty",
            "change at least one field",
        ));
    }
    w.audit.push(audit_event(
        p,
        "case.updated",
        id,
        serde_json::json!({"changes": changes}),
    ));
    w.no_reply_reason = b.no_reply_reason;
    write(state, w).await
}

/// Take a case: assign it to the caller (a new case opens).
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/claim", tag = "case-work", params(("id" = Uuid, Path)),
    responses((status = 200, body = Case), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Assigned to someone else, or closed", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn claim(
    State(state): State<AppState>,
    p: Authorized<roles::CaseWork>,
    IdPath(id): IdPath,
) -> ApiResult<Json<Case>> {
    Ok(Json(claim_case(&state, &p, id).await?.into()))
}

/// Assigns the case to the caller (the API's claim and the web app's "Oppakken").
pub async fn claim_case(
    state: &AppState,
    p: &Authorized<roles::CaseWork>,
    id: Uuid,
) -> ApiResult<CaseRecord> {
    let before = visible_case(state, p, id).await?;
    let me = p.assignee_key();
    if let Some(other) = before.assignee.as_deref().filter(|a| *a != me) {
        return Err(ApiError::Conflict(format!(
            "the case is assigned to {other}; a team lead can reassign it"
        )));
    }
    if matches!(before.status, CaseStatus::Resolved | CaseStatus::Closed) {
        return Err(ApiError::Conflict(format!(
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
    write(state, w).await
}

// ------------------------------------------------------------------------------------ notes

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewNote {
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    pub id: Uuid,
    pub case_id: Uuid,
    pub author: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

/// Add an internal note (never sent to the citizen).
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/notes", tag = "case-work", params(("id" = Uuid, Path)),
    request_body = NewNote,
    responses((status = 201, body = Vec<Note>), (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn add_note(
    State(state): State<AppState>,
    p: Authorized<roles::CaseWork>,
    IdPath(id): IdPath,
    ApiJson(b): ApiJson<NewNote>,
) -> ApiResult<(StatusCode, Json<Vec<Note>>)> {
    add_note_to(&state, &p, id, b).await?;
    Ok((StatusCode::CREATED, Json(notes_of(&state, id).await?)))
}

/// Adds an internal note to a case.
pub async fn add_note_to(
    state: &AppState,
    p: &Authorized<roles::CaseWork>,
    id: Uuid,
    b: NewNote,
) -> ApiResult<CaseRecord> {
    check_text("text", &b.text, MAX_NOTE_CHARS)?;
    let before = visible_case(state, p, id).await?;
    let mut w = CaseWrite::new(before);
    w.note = Some((p.actor(), b.text));
    w.audit
        .push(audit_event(p, "case.note_added", id, serde_json::json!({})));
    write(state, w).await
}

async fn notes_of(state: &AppState, id: Uuid) -> ApiResult<Vec<Note>> {
    Ok(state
        .store
        .list_notes(id)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

impl From<webcare_store::agent::NoteRecord> for Note {
    fn from(n: webcare_store::agent::NoteRecord) -> Note {
        Note {
            id: n.id,
            case_id: n.case_id,
            author: n.author,
            text: n.text,
            created_at: n.created_at,
        }
    }
}

/// The internal notes of a case, oldest first.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/notes", tag = "case-work", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Note>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn list_notes(
    State(state): State<AppState>,
    p: Authorized<roles::CaseWork>,
    IdPath(id): IdPath,
) -> ApiResult<Json<Vec<Note>>> {
    visible_case(&state, &p, id).await?;
    Ok(Json(notes_of(&state, id).await?))
}

// ------------------------------------------------------------------------------------ merge

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MergeRequest {
    /// The case that stays; this case is closed and points at it.
    pub into_case_id: Uuid,
}

/// Merge this case into another (one citizen, the same question on two channels): messages and
/// notes move, the contacts are linked into one, this case is closed with a pointer.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/merge", tag = "case-work", params(("id" = Uuid, Path)),
    request_body = MergeRequest,
    responses((status = 200, description = "The case merged into", body = Case),
              (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn merge(
    State(state): State<AppState>,
    p: Authorized<roles::CaseWork>,
    IdPath(id): IdPath,
    ApiJson(b): ApiJson<MergeRequest>,
) -> ApiResult<Json<Case>> {
    if b.into_case_id == id {
        return Err(ApiError::invalid(
            "intoCaseId",
            "same_case",
            "a case cannot be merged into itself",
        ));
    }
    let from = visible_case(&state, &p, id).await?;
    let into = visible_case(&state, &p, b.into_case_id).await?;
    if into.status == CaseStatus::Closed {
        return Err(ApiError::Conflict(
            "the case to merge into is closed".into(),
        ));
    }
    let now = Utc::now();
    let mut fw = CaseWrite::new(from.clone());
    set_status(&mut fw.after, CaseStatus::Closed, now)?;
    fw.after.contact_id = into.contact_id;
    fw.audit.push(audit_event(
        &p,
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
        &p,
        "case.merged_from",
        into.id,
        serde_json::json!({"fromCaseId": id}),
    ));
    // The merged case's clocks stop (reason `merged`) in the same transaction; the case merged
    // into carries on.
    let c = state.store.merge_cases(fw, iw).await?;
    crate::live::publish(
        &state,
        crate::live::case_event(
            "case.updated",
            &c,
            serde_json::json!({"action": "merged", "fromCaseId": id, "status": c.status}),
        ),
    )
    .await;
    Ok(Json(c.into()))
}

// ------------------------------------------------------------------------------------ bulk

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BulkAction {
    Assign,
    Tag,
    Resolve,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkRequest {
    pub case_ids: Vec<Uuid>,
    pub action: BulkAction,
    /// For `assign`: `me`, a user id, or null to unassign.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub assignee: Option<Option<String>>,
    /// For `tag`: labels added to each case.
    #[serde(default)]
    pub labels: Vec<String>,
    /// For `resolve`: also resolve cases whose last reply was not delivered (otherwise their
    /// result is 409).
    #[serde(default)]
    pub confirm_undelivered: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkResult {
    pub case_id: Uuid,
    /// The HTTP status this case would have had on its own.
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<Case>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResponse {
    pub results: Vec<BulkResult>,
}

/// Assign, tag or resolve many cases; each case is its own transaction, with its own result.
#[utoipa::path(
    post, path = "/api/v1/cases/bulk", tag = "case-work", request_body = BulkRequest,
    responses((status = 200, body = BulkResponse), (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn bulk(
    State(state): State<AppState>,
    p: Authorized<roles::CaseWork>,
    ApiJson(b): ApiJson<BulkRequest>,
) -> ApiResult<Json<BulkResponse>> {
    if b.case_ids.is_empty() || b.case_ids.len() > MAX_BULK {
        return Err(ApiError::invalid(
            "caseIds",
            "out_of_range",
            format!("1 to {MAX_BULK} case ids"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if !b.case_ids.iter().all(|id| seen.insert(*id)) {
        return Err(ApiError::invalid("caseIds", "duplicate", "each case once"));
    }
    let assignee = match (b.action, &b.assignee) {
        (BulkAction::Assign, None) => {
            return Err(ApiError::invalid(
                "assignee",
                "required",
                "needed for assign",
            ))
        }
        (BulkAction::Assign, Some(Some(a))) => Some(resolve_assignee(&state, &p, a).await?),
        _ => None,
    };
    let labels = check_labels(&b.labels)?;
    if b.action == BulkAction::Tag && labels.is_empty() {
        return Err(ApiError::invalid("labels", "required", "needed for tag"));
    }
    let mut results = Vec::with_capacity(b.case_ids.len());
    for id in b.case_ids {
        let r = bulk_one(
            &state,
            &p,
            id,
            b.action,
            assignee.clone(),
            &labels,
            b.confirm_undelivered,
        )
        .await;
        results.push(match r {
            Ok(c) => BulkResult {
                case_id: id,
                status: 200,
                error: None,
                case: Some(c.into()),
            },
            Err(e) => BulkResult {
                case_id: id,
                status: e.status().as_u16(),
                error: Some(e.to_string()),
                case: None,
            },
        });
    }
    Ok(Json(BulkResponse { results }))
}

async fn bulk_one(
    state: &AppState,
    p: &Principal,
    id: Uuid,
    action: BulkAction,
    assignee: Option<String>,
    labels: &[String],
    confirm_undelivered: bool,
) -> ApiResult<CaseRecord> {
    let before = visible_case(state, p, id).await?;
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
                return Err(ApiError::invalid(
                    "labels",
                    "too_many",
                    format!("at most {MAX_LABELS}"),
                ));
            }
            serde_json::json!({"bulk": true, "changes": {"labels": w.after.labels}})
        }
        BulkAction::Resolve => {
            if w.before.status != CaseStatus::Resolved {
                super::replies::check_resolvable(state, id, confirm_undelivered).await?;
            }
            set_status(&mut w.after, CaseStatus::Resolved, Utc::now())?;
            serde_json::json!({"bulk": true, "changes": {"status": [w.before.status, "resolved"]}})
        }
    };
    w.audit.push(audit_event(p, "case.updated", id, detail));
    write(state, w).await
}

// ------------------------------------------------------------------------------------ departments

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForwardRequest {
    pub department_id: Uuid,
    /// What the department is asked.
    pub question: String,
}

/// Forward a case to a department (vakafdeling): status `forwarded`, the department clock starts.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/forward", tag = "departments", params(("id" = Uuid, Path)),
    request_body = ForwardRequest,
    responses((status = 200, body = Case), (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn forward(
    State(state): State<AppState>,
    p: Authorized<roles::CaseWork>,
    IdPath(id): IdPath,
    ApiJson(b): ApiJson<ForwardRequest>,
) -> ApiResult<Json<Case>> {
    Ok(Json(forward_case(&state, &p, id, b).await?.into()))
}

/// Forwards a case to a department with a question (starts the department clock).
pub async fn forward_case(
    state: &AppState,
    p: &Authorized<roles::CaseWork>,
    id: Uuid,
    b: ForwardRequest,
) -> ApiResult<CaseRecord> {
    check_text("question", &b.question, MAX_NOTE_CHARS)?;
    if state.store.get_department(b.department_id).await?.is_none() {
        return Err(ApiError::invalid(
            "departmentId",
            "unknown_department",
            "no such department",
        ));
    }
    let before = visible_case(state, p, id).await?;
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
    write(state, w).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DepartmentAnswer {
    pub text: String,
}

/// The department answers a case forwarded to it: the department clock stops and the case goes
/// back to the KCC (`open`) with the answer, for an agent to accept (send as a reply) or hand back.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/department-answer", tag = "departments", params(("id" = Uuid, Path)),
    request_body = DepartmentAnswer,
    responses((status = 200, body = Case), (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn department_answer(
    State(state): State<AppState>,
    p: Authorized<roles::DepartmentWork>,
    IdPath(id): IdPath,
    ApiJson(b): ApiJson<DepartmentAnswer>,
) -> ApiResult<Json<Case>> {
    Ok(Json(answer_forward(&state, &p, id, b).await?.into()))
}

/// The department's answer to a forwarded case (stops the department clock; the case reopens).
pub async fn answer_forward(
    state: &AppState,
    p: &Authorized<roles::DepartmentWork>,
    id: Uuid,
    b: DepartmentAnswer,
) -> ApiResult<CaseRecord> {
    check_text("text", &b.text, MAX_NOTE_CHARS)?;
    let before = visible_case(state, p, id).await?;
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
    write(state, w).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReturnRequest {
    /// Why the answer is not usable yet; the department gets it as the new question.
    pub reason: String,
}

/// Hand the department's answer back with a reason: the case is forwarded again to the same
/// department and its clock restarts.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/department-answer/return", tag = "departments", params(("id" = Uuid, Path)),
    request_body = ReturnRequest,
    responses((status = 200, body = Case), (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn return_answer(
    State(state): State<AppState>,
    p: Authorized<roles::CaseWork>,
    IdPath(id): IdPath,
    ApiJson(b): ApiJson<ReturnRequest>,
) -> ApiResult<Json<Case>> {
    Ok(Json(return_case(&state, &p, id, b).await?.into()))
}

/// Hands a department's answer back to the department with a reason.
pub async fn return_case(
    state: &AppState,
    p: &Authorized<roles::CaseWork>,
    id: Uuid,
    b: ReturnRequest,
) -> ApiResult<CaseRecord> {
    check_text("reason", &b.reason, MAX_NOTE_CHARS)?;
    let before = visible_case(state, p, id).await?;
    if state.store.department_answer(id).await?.is_none() {
        return Err(ApiError::Conflict(
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
    write(state, w).await
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Forward {
    pub id: Uuid,
    pub department_id: Uuid,
    pub question: String,
    pub forwarded_by: String,
    pub forwarded_at: DateTime<Utc>,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    pub return_reason: Option<String>,
    pub returned_at: Option<DateTime<Utc>>,
    /// Whether the department answered within its agreed time, as its department clock decided
    /// (business minutes on the department's calendar); null while unanswered.
    pub answered_in_time: Option<bool>,
    /// What became of the answer: `sent` (the agent replied) or `set_aside` (the case was
    /// resolved without sending it); null while it is pending or when there is none.
    pub answer_outcome: Option<String>,
    pub answer_settled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Forwards {
    /// The department's answer waiting for the agent to accept (send as a reply) or hand back;
    /// null once the agent replied (the answer is `sent`) or resolved the case (`set_aside`).
    pub pending_answer: Option<String>,
    /// Where this case was merged into, if it was.
    pub merged_into: Option<Uuid>,
    pub forwards: Vec<Forward>,
}

/// The department history of a case: questions, answers, hand-backs, and the pending answer.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/forwards", tag = "departments", params(("id" = Uuid, Path)),
    responses((status = 200, body = Forwards), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn forwards(
    State(state): State<AppState>,
    p: Authorized<roles::ReadScopedCases>,
    IdPath(id): IdPath,
) -> ApiResult<Json<Forwards>> {
    visible_case(&state, &p, id).await?;
    let (list, pending, merged) = tokio::try_join!(
        state.store.list_forwards(id),
        state.store.department_answer(id),
        state.store.merged_into(id)
    )?;
    Ok(Json(Forwards {
        pending_answer: pending,
        merged_into: merged,
        forwards: list.into_iter().map(Into::into).collect(),
    }))
}

impl From<webcare_store::agent::ForwardRecord> for Forward {
    fn from(f: webcare_store::agent::ForwardRecord) -> Forward {
        Forward {
            id: f.id,
            department_id: f.department_id,
            question: f.question,
            forwarded_by: f.forwarded_by,
            forwarded_at: f.forwarded_at,
            answer: f.answer,
            answered_by: f.answered_by,
            answered_at: f.answered_at,
            return_reason: f.return_reason,
            returned_at: f.returned_at,
            answered_in_time: f.answered_in_time,
            answer_outcome: f.answer_outcome,
            answer_settled_at: f.answer_settled_at,
        }
    }
}
