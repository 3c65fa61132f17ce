//! The citizen's record: contacts with their identities on every channel, their cases and latest
//! messages; the desk's notes and flags; linking, unlinking and merging (audited, and a merge is
//! undone by unlinking); match suggestions that never link by themselves; and the access log of
//! who read the contact's data.
//!
//! Every read of one contact is audited with the contact's id (as every read of one case is), so
//! the access log is one indexed query. Searches (the list) are not audited per contact: they
//! show names and identities, not messages or cases, and a row per result would put the cost of
//! an audit write on every search keystroke.

use super::{decode_cursor, page_limit, PageQuery};
use crate::auth::{roles, Authorized, Principal};
use crate::dto::{Case, List, Message};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiListQuery, ApiQuery, IdPath};
use crate::routes::audit::AuditEvent;
use crate::routes::contact_export::{ExportQuery, ExportWriter};
use crate::state::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::Uri;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use webcare_desk::patch::double_option;
use webcare_desk::DeskError;
use webcare_domain::contacts as rules;
use webcare_store::contacts::{
    ContactAudit, ContactMove, ContactPatch, ContactProfile, ContactSearch,
};

const PATH: &str = "/api/v1/contacts";
/// Cases shown with a contact (latest activity first).
const MAX_CASES: u32 = 100;
/// Messages shown with a contact (newest first).
const LATEST_MESSAGES: u32 = 20;
const MAX_NAME_CHARS: usize = 200;
const MAX_NOTES_CHARS: usize = 10_000;
const MAX_SEARCH_CHARS: usize = 200;
/// Candidates looked at for suggestions.
const MAX_CANDIDATES: u32 = 50;

// ------------------------------------------------------------------------------------ DTOs

/// A contact and its identities as the store holds them (the notes are not shown in lists).
pub type ContactSummary = ContactProfile;

/// One contact with everything the desk shows about it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactDetail {
    #[serde(flatten)]
    pub contact: ContactSummary,
    /// Internal notes about the citizen; never sent.
    pub notes: Option<String>,
    /// The contact's cases on every channel (status, zaak link), latest activity first, at most
    /// 100: those the caller may see.
    pub cases: Vec<Case>,
    /// How many of those are open (not resolved or closed).
    pub open_cases: usize,
    /// The latest messages in those cases, newest first, at most 20.
    pub latest_messages: Vec<Message>,
}

/// What a link, unlink or merge moved, as the store tells it.
pub type ContactMoveResult = ContactMove;

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchReason {
    /// A WhatsApp number or a recorded phone number is the same number.
    SamePhoneNumber,
    /// The same handle and display name on X and on Instagram.
    SameNameAndHandle,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactSuggestion {
    pub contact: ContactSummary,
    pub reasons: Vec<MatchReason>,
}

// ------------------------------------------------------------------------------------ helpers

/// The contact if the caller may see it; otherwise 404, so its existence does not leak.
async fn visible_contact(state: &AppState, p: &Principal, id: Uuid) -> ApiResult<ContactProfile> {
    let scope = p.case_scope();
    let (profile, in_scope) = tokio::try_join!(
        state.store.contact_profile(id),
        state.store.contact_in_scope(id, &scope)
    )?;
    profile
        .filter(|_| in_scope)
        .ok_or_else(|| ApiError::Desk(DeskError::NotFound("contact".into())))
}

async fn audit_read(
    state: &AppState,
    p: &Principal,
    contact_id: Uuid,
    action: &str,
) -> ApiResult<()> {
    state
        .store
        .record_contact_audit(ContactAudit {
            actor: p.actor(),
            action: action.into(),
            contact_id,
            case_id: None,
            detail: serde_json::json!({}),
        })
        .await?;
    Ok(())
}

// ------------------------------------------------------------------------------------ list

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactQuery {
    /// A name (every word in an identity's name or handle, or the contact's whole name), a
    /// handle (with or without `@`), a platform user id, or a phone number in any notation: at
    /// most 200 characters, not blank.
    #[param(max_length = 200, pattern = r"\S")]
    pub q: Option<String>,
}

/// Search contacts, in id order, with cursor pagination. Department users find only the
/// contacts of cases forwarded to their department.
#[utoipa::path(
    get, path = "/api/v1/contacts", tag = "contacts", params(ContactQuery, PageQuery),
    responses((status = 200, body = List<ContactSummary>), (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Authorized<roles::ReadContacts>,
    uri: Uri,
    ApiListQuery(q, page): ApiListQuery<ContactQuery>,
) -> ApiResult<Json<List<ContactSummary>>> {
    if let Some(text) = &q.q {
        if text.chars().count() > MAX_SEARCH_CHARS {
            return Err(ApiError::invalid(
                "q",
                "too_long",
                format!("at most {MAX_SEARCH_CHARS} characters"),
            ));
        }
        if text.trim().is_empty() {
            return Err(ApiError::invalid("q", "blank", "search for something"));
        }
    }
    let phone = q.q.as_deref().and_then(rules::normalise_phone);
    let page = state
        .store
        .list_contacts(
            ContactSearch {
                text: q.q,
                phone,
                scope: caller.case_scope(),
            },
            decode_cursor(page.cursor.as_deref())?,
            page_limit(page.limit)?,
        )
        .await?;
    Ok(Json(List::page(PATH, &uri, page)))
}

// ------------------------------------------------------------------------------------ one

/// One contact: identities on every channel, cases with status and zaak link, latest messages
/// and flags. Reading it is recorded in the contact's access log.
#[utoipa::path(
    get, path = "/api/v1/contacts/{id}", tag = "contacts",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ContactDetail), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Authorized<roles::ReadContacts>,
    IdPath(id): IdPath,
) -> ApiResult<Json<ContactDetail>> {
    let contact = visible_contact(&state, &caller, id).await?;
    let (cases, messages) = tokio::try_join!(
        state.store.contact_cases(id, MAX_CASES),
        state.store.contact_messages(id, LATEST_MESSAGES)
    )?;
    // Only the cases the caller may open, and only their messages.
    let scope = caller.case_scope();
    let cases: Vec<_> = cases.into_iter().filter(|c| scope.allows(c)).collect();
    let visible: std::collections::HashSet<Uuid> = cases.iter().map(|c| c.id).collect();
    let messages = messages
        .into_iter()
        .filter(|m| visible.contains(&m.case_id))
        .map(Into::into)
        .collect();
    audit_read(&state, &caller, id, "contact.read").await?;
    Ok(Json(ContactDetail {
        notes: contact.notes.clone(),
        open_cases: cases
            .iter()
            .filter(|c| webcare_domain::status::is_active(c.status))
            .count(),
        cases: cases.into_iter().collect(),
        latest_messages: messages,
        contact,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactPatchBody {
    /// 1 to 200 characters; null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    pub display_name: Option<Option<String>>,
    /// Internal notes, at most 10,000 characters; null clears them.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 10000)]
    pub notes: Option<Option<String>>,
    /// A phone number in any notation (`06-12345678`, `+31 6 12345678`); stored as digits with
    /// the country code. Null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 40)]
    pub phone: Option<Option<String>>,
    /// The out-of-hours auto-reply leaves this citizen alone.
    pub do_not_auto_reply: Option<bool>,
}

/// Change a contact's name, notes, phone number or flags. Audited (which fields, not their
/// values).
#[utoipa::path(
    patch, path = "/api/v1/contacts/{id}", tag = "contacts",
    params(("id" = Uuid, Path)), request_body = ContactPatchBody,
    responses(
        (status = 200, body = ContactSummary),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn patch(
    State(state): State<AppState>,
    caller: Authorized<roles::ContactWork>,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<ContactPatchBody>,
) -> ApiResult<Json<ContactSummary>> {
    let mut problems = Vec::new();
    let mut fields = Vec::new();
    let display_name = body.display_name.map(|n| n.map(|n| n.trim().to_owned()));
    if let Some(n) = &display_name {
        fields.push("displayName");
        if n.as_ref()
            .is_some_and(|n| n.is_empty() || n.chars().count() > MAX_NAME_CHARS)
        {
            problems.push(crate::error::InvalidParam::new(
                "displayName",
                "invalid",
                format!("1 to {MAX_NAME_CHARS} characters, or null"),
            ));
        }
    }
    if let Some(n) = &body.notes {
        fields.push("notes");
        if n.as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NOTES_CHARS)
        {
            problems.push(crate::error::InvalidParam::new(
                "notes",
                "too_long",
                format!("at most {MAX_NOTES_CHARS} characters"),
            ));
        }
    }
    if body.phone.is_some() {
        fields.push("phone");
    }
    let phone = match body.phone {
        None => None,
        Some(None) => Some(None),
        Some(Some(raw)) => match rules::normalise_phone(&raw) {
            Some(p) if raw.chars().count() <= 40 => Some(Some(p)),
            _ => {
                problems.push(crate::error::InvalidParam::new(
                    "phone",
                    "invalid",
                    "not a phone number (e.g. 06-12345678 or +31 6 12345678)",
                ));
                None
            }
        },
    };
    if body.do_not_auto_reply.is_some() {
        fields.push("doNotAutoReply");
    }
    if !problems.is_empty() {
        return Err(ApiError::Desk(DeskError::Invalid(problems)));
    }
    // A department user may not change contacts at all (role), so no scope check beyond 404.
    let updated = state
        .store
        .update_contact(
            id,
            ContactPatch {
                display_name,
                notes: body.notes,
                phone,
                no_auto_reply: body.do_not_auto_reply,
            },
            ContactAudit {
                actor: caller.actor(),
                action: "contact.updated".into(),
                contact_id: id,
                case_id: None,
                // The fields, not their values: the audit outlives the data it is about.
                detail: serde_json::json!({ "fields": fields }),
            },
        )
        .await?;
    match updated {
        Some(c) => Ok(Json(c)),
        None => match state.store.contact_profile(id).await? {
            Some(ContactProfile {
                merged_into: Some(to),
                ..
            }) => Err(ApiError::Desk(DeskError::Conflict(format!(
                "the contact was merged into {to}; change that one"
            )))),
            _ => Err(ApiError::Desk(DeskError::NotFound("contact".into()))),
        },
    }
}

// ------------------------------------------------------------------------------------ link

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinkIdentity {
    /// An identity of another contact; it moves here with the cases that are its own.
    pub identity_id: Uuid,
}

/// Link an identity of another contact to this one: the identity moves here with its cases (those
/// in which only it wrote). Audited on both contacts; undone by unlinking it.
#[utoipa::path(
    post, path = "/api/v1/contacts/{id}/identities", tag = "contacts",
    params(("id" = Uuid, Path)), request_body = LinkIdentity,
    responses(
        (status = 200, body = ContactMoveResult),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already this contact's identity, or the contact was merged away", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn link(
    State(state): State<AppState>,
    caller: Authorized<roles::ContactWork>,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<LinkIdentity>,
) -> ApiResult<Json<ContactMoveResult>> {
    let m = state
        .store
        .link_identity(id, body.identity_id, &caller.actor())
        .await?;
    Ok(Json(m))
}

/// `{id}` and `{identityId}` of a path; a malformed one is a 400 naming it.
pub struct ContactIdentityPath(pub Uuid, pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for ContactIdentityPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (id, identity) = crate::extract::two_ids(parts, state, "identityId").await?;
        Ok(ContactIdentityPath(id, identity))
    }
}

/// Unlink an identity: it becomes a contact of its own, with the cases that are its own (those in
/// which only it wrote). This undoes a link or a merge. The contact's only identity cannot be
/// unlinked (409). Audited on both contacts.
#[utoipa::path(
    delete, path = "/api/v1/contacts/{id}/identities/{identityId}", tag = "contacts",
    params(("id" = Uuid, Path), ("identityId" = Uuid, Path)),
    responses(
        (status = 200, body = ContactMoveResult),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contact's only identity, or the contact was merged away", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn unlink(
    State(state): State<AppState>,
    caller: Authorized<roles::ContactWork>,
    ContactIdentityPath(id, identity): ContactIdentityPath,
) -> ApiResult<Json<ContactMoveResult>> {
    let m = state
        .store
        .unlink_identity(id, identity, &caller.actor())
        .await?;
    Ok(Json(m))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MergeContacts {
    /// The other contact: its identities and every case move here, and it is marked merged.
    pub contact_id: Uuid,
}

/// Merge another contact into this one: every identity and case moves here. Audited on both;
/// undone identity by identity with an unlink.
#[utoipa::path(
    post, path = "/api/v1/contacts/{id}/merge", tag = "contacts",
    params(("id" = Uuid, Path)), request_body = MergeContacts,
    responses(
        (status = 200, body = ContactMoveResult),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "One of the contacts was merged away already", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn merge(
    State(state): State<AppState>,
    caller: Authorized<roles::ContactWork>,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<MergeContacts>,
) -> ApiResult<Json<ContactMoveResult>> {
    if body.contact_id == id {
        return Err(ApiError::invalid(
            "contactId",
            "same_contact",
            "a contact cannot be merged into itself",
        ));
    }
    let m = state
        .store
        .merge_contacts(id, body.contact_id, &caller.actor())
        .await?;
    Ok(Json(m))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EraseContact {
    /// Why (e.g. the citizen's request and its date); kept in the audit trail.
    pub reason: String,
}

/// What an erase removed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErasedContact {
    pub contact_id: Uuid,
    pub cases: u64,
    pub messages: u64,
    pub identities: u64,
    /// Raw webhook deliveries in the journal that named the citizen, emptied.
    pub journal_entries: u64,
    /// The desk's own public replies queued for deletion on Facebook, Instagram or X.
    pub platform_deletions: u64,
}

/// Erase a contact (AVG art. 17): its name, notes, phone and identities, and in its cases the
/// messages, notes, department questions, replies and audit details; what the reports count
/// stays. The desk's own public replies are queued for deletion on the platform where it allows
/// (Facebook and Instagram comments, X posts; the outbox worker sends them). Refused while one
/// of its cases is open. Admin only; audited without personal data.
#[utoipa::path(
    post, path = "/api/v1/contacts/{id}/erase", tag = "contacts",
    params(("id" = Uuid, Path)), request_body = EraseContact,
    responses(
        (status = 200, body = ErasedContact),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An open case, or the contact was merged away", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn erase(
    State(state): State<AppState>,
    caller: Authorized<roles::AdminOnly>,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<EraseContact>,
) -> ApiResult<Json<ErasedContact>> {
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::invalid(
            "reason",
            "invalid",
            "1 to 500 characters: why the contact is erased",
        ));
    }
    let e = state
        .store
        .erase_contact(id, &caller.actor(), reason)
        .await?;
    Ok(Json(ErasedContact {
        contact_id: id,
        cases: e.cases,
        messages: e.messages,
        identities: e.identities,
        journal_entries: e.journal_entries,
        platform_deletions: e.platform_deletions,
    }))
}

// ------------------------------------------------------------------------------------ suggestions

/// Contacts that may be the same citizen: the same phone number (a WhatsApp number, a recorded
/// number), or the same display name and handle on X and Instagram. Only suggestions: nothing is
/// linked until an agent links or merges. Reading them is recorded in the access log.
#[utoipa::path(
    get, path = "/api/v1/contacts/{id}/suggestions", tag = "contacts",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = List<ContactSuggestion>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn suggestions(
    State(state): State<AppState>,
    caller: Authorized<roles::ContactWork>,
    IdPath(id): IdPath,
) -> ApiResult<Json<List<ContactSuggestion>>> {
    let contact = visible_contact(&state, &caller, id).await?;
    let facts = contact.facts();
    let phones: Vec<String> = rules::phone_keys(&facts).into_iter().collect();
    let handles: Vec<String> = rules::handle_keys(&facts).into_iter().collect();
    let candidates = state
        .store
        .match_candidates(&phones, &handles, MAX_CANDIDATES)
        .await?;
    let found = rules::suggest(
        &facts,
        &candidates.iter().map(|c| c.facts()).collect::<Vec<_>>(),
    );
    let mut by_id: std::collections::HashMap<Uuid, ContactProfile> =
        candidates.into_iter().map(|c| (c.id, c)).collect();
    let items = found
        .into_iter()
        .filter_map(|s| {
            Some(ContactSuggestion {
                contact: by_id.remove(&s.contact_id)?,
                reasons: s
                    .reasons
                    .into_iter()
                    .map(|r| match r {
                        rules::MatchReason::SamePhoneNumber => MatchReason::SamePhoneNumber,
                        rules::MatchReason::SameNameAndHandle => MatchReason::SameNameAndHandle,
                    })
                    .collect(),
            })
        })
        .collect();
    audit_read(&state, &caller, id, "contact.suggestions_read").await?;
    Ok(Json(List { next: None, items }))
}

// ------------------------------------------------------------------------------------ access log

/// Who read or changed the contact's data, when and how (reads of the contact and of its cases,
/// links, merges, changes), oldest first; also of contacts merged into it. Reading it is itself
/// recorded. Audit rows are never changed or deleted through the API.
#[utoipa::path(
    get, path = "/api/v1/contacts/{id}/access-log", tag = "contacts",
    params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, body = List<AuditEvent>), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn access_log(
    State(state): State<AppState>,
    caller: Authorized<roles::ContactPrivacy>,
    IdPath(id): IdPath,
    uri: Uri,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<List<AuditEvent>>> {
    let after = decode_cursor(q.cursor.as_deref())?;
    let limit = page_limit(q.limit)?;
    visible_contact(&state, &caller, id).await?;
    // Recorded before the read, so the answer includes this very look.
    audit_read(&state, &caller, id, "contact.access_log_read").await?;
    let page = state.store.access_log(id, after, limit).await?;
    let path = format!("{PATH}/{id}/access-log");
    Ok(Json(List::page(&path, &uri, page)))
}

// ------------------------------------------------------------------------------------ export

/// One case in an export: the case with everything said and done in it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportCase {
    #[serde(flatten)]
    pub case: Case,
    /// Messages in and out, platform-time order.
    pub messages: Vec<Message>,
    /// Internal notes about the case.
    pub notes: Vec<crate::routes::case_work::Note>,
    /// Questions to departments and their answers.
    pub forwards: Vec<crate::routes::case_work::Forward>,
    /// Replies the desk sent or queued, with their delivery state.
    pub replies: Vec<crate::routes::replies::Reply>,
}

/// Everything the desk holds about a contact (AVG art. 15), as one JSON document.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactExport {
    pub exported_at: DateTime<Utc>,
    pub contact: ContactSummary,
    pub notes: Option<String>,
    /// Every case of the contact on every channel, oldest first.
    pub cases: Vec<ExportCase>,
    /// Who read or changed the contact's data, oldest first (this export included).
    pub access_log: Vec<AuditEvent>,
}

/// Cases (and audit rows) read per round trip while an export streams.
const EXPORT_PAGE: u32 = 100;

/// Export everything about a contact: identities, every case with its messages in and out,
/// notes, department questions and answers, replies and zaak links, and the access log; as one
/// JSON document or (`format=html`) a readable Dutch summary of the same, written by the same
/// loop. The document streams case by case, so a large export does not sit in memory; a failure
/// halfway ends the body early (the document is then incomplete, never wrong). Recorded in the
/// access log.
#[utoipa::path(
    post, path = "/api/v1/contacts/{id}/export", tag = "contacts",
    params(("id" = Uuid, Path), ExportQuery),
    responses(
        (status = 200, description = "The JSON document, or with `format=html` a readable Dutch summary of it", content(
            (ContactExport = "application/json"),
            (String = "text/html"),
        )),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn export(
    State(state): State<AppState>,
    caller: Authorized<roles::ContactPrivacy>,
    IdPath(id): IdPath,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<axum::response::Response> {
    use axum::http::header;
    let contact = visible_contact(&state, &caller, id).await?;
    audit_read(&state, &caller, id, "contact.exported").await?;
    let writer = q.format.unwrap_or_default().writer();
    let (content_type, extension) = (writer.content_type(), writer.extension());
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        if let Err(e) = write_export(&state, contact, writer, &tx).await {
            tracing::warn!(contact = %id, error = %e, "contact export ended early");
            let _ = tx
                .send(Err(std::io::Error::other("the export ended early")))
                .await;
        }
    });
    let body = axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    axum::response::Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"contact-{id}.{extension}\""),
        )
        .body(body)
        .map_err(|e| ApiError::Desk(DeskError::Internal(e.into())))
}

/// Writes the export document piece by piece into `tx`, in the form `w` writes.
async fn write_export(
    state: &AppState,
    contact: ContactProfile,
    mut w: Box<dyn ExportWriter>,
    tx: &tokio::sync::mpsc::Sender<Result<bytes::Bytes, std::io::Error>>,
) -> anyhow::Result<()> {
    use webcare_store::{CaseFilter, CaseSort, PageRequest};
    let id = contact.id;
    let send = |v: Vec<u8>| async move {
        tx.send(Ok(bytes::Bytes::from(v)))
            .await
            .map_err(|_| anyhow::anyhow!("the client went away"))
    };
    send(w.head(Utc::now(), &contact)?).await?;
    let mut after = None;
    loop {
        let page = state
            .store
            .list_cases(
                CaseFilter {
                    contact_id: Some(id),
                    ..Default::default()
                },
                PageRequest {
                    after,
                    limit: EXPORT_PAGE,
                    sort: CaseSort::Oldest,
                    after_due: None,
                },
            )
            .await?;
        for case in page.items {
            let (messages, notes, forwards, replies) = tokio::try_join!(
                state.store.case_messages(case.id),
                state.store.list_notes(case.id),
                state.store.list_forwards(case.id),
                state.store.case_replies(case.id),
            )?;
            let item = ExportCase {
                case,
                messages: messages.into_iter().map(Into::into).collect(),
                notes: notes.into_iter().map(Into::into).collect(),
                forwards: forwards.into_iter().collect(),
                replies,
            };
            send(w.case(&item)?).await?;
        }
        match page.next_after {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    send(w.access_log()).await?;
    let mut after = None;
    loop {
        let page = state.store.access_log(id, after, EXPORT_PAGE).await?;
        for a in page.items {
            send(w.audit(&AuditEvent::from(a))?).await?;
        }
        match page.next_after {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    send(w.end()).await?;
    Ok(())
}
