//! Working a case over HTTP: change it (PATCH), claim it, notes, merge, bulk actions, and the
//! department flow (forward, the department's answer, handing an answer back). The handlers
//! check the role and call the desk (`webcare_desk::case_work`), where the rules are.

use crate::auth::{roles, Authorized};
use crate::dto::Case;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, IdPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;
// The use cases (and their request bodies, which the OpenAPI document names) are the desk's.
pub use webcare_desk::case_work::{
    add_note_to, answer_forward, claim_case, forward_case, merge_case, patch_case, return_case,
    set_status, visible_case, write, BulkAction, BulkRequest, CasePatch, DepartmentAnswer,
    ForwardRequest, MergeRequest, NewNote, ReturnRequest,
};

// ------------------------------------------------------------------------------------ PATCH

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
    Ok(Json(patch_case(&state, &p, id, b).await?))
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
    Ok(Json(claim_case(&state, &p, id).await?))
}

// ------------------------------------------------------------------------------------ notes

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
    Ok(Json(merge_case(&state, &p, id, b).await?))
}

// ------------------------------------------------------------------------------------ bulk

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
    let results = webcare_desk::case_work::bulk(&state, &p, b)
        .await?
        .into_iter()
        .map(|(id, r)| match r.map_err(ApiError::from) {
            Ok(c) => BulkResult {
                case_id: id,
                status: 200,
                error: None,
                case: Some(c),
            },
            Err(e) => BulkResult {
                case_id: id,
                status: e.status().as_u16(),
                error: Some(e.to_string()),
                case: None,
            },
        })
        .collect();
    Ok(Json(BulkResponse { results }))
}

// ------------------------------------------------------------------------------------ departments

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
    Ok(Json(forward_case(&state, &p, id, b).await?))
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
    Ok(Json(answer_forward(&state, &p, id, b).await?))
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
    Ok(Json(return_case(&state, &p, id, b).await?))
}

/// One question to a department, as the store holds it.
pub type Forward = webcare_store::agent::ForwardRecord;

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
        forwards: list,
    }))
}
