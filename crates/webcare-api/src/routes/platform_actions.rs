//! Hiding a citizen's public comment on its platform (issue 15); the checks and the queue are the
//! desk's (`webcare_desk::platform_actions`), the outbox worker sends it.

use crate::auth::{roles, Authorized};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use uuid::Uuid;
use webcare_desk::platform_actions::hide_message;
pub use webcare_store::platform_actions::{PlatformActionKind, PlatformActionRecord};

/// `{id}` and `{messageId}` of a path; a malformed one is a 400 naming it.
pub struct CaseMessagePath(pub Uuid, pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for CaseMessagePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (id, message) = crate::extract::two_ids(parts, state, "messageId").await?;
        Ok(CaseMessagePath(id, message))
    }
}

/// Hide a citizen's public comment on the platform.
///
/// For a public message that shows a BSN or other personal data: Facebook hides the comment
/// (`is_hidden`) and Instagram too (`hide`), so only its author and the page still see it; X
/// cannot hide a reply by someone else (409). Answers 202 with the queued action; the outbox
/// worker sends it and its state moves to `done` or `failed` (with the platform's reason).
/// Asking again answers the same action.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/messages/{messageId}/hide", tag = "cases",
    params(("id" = Uuid, Path), ("messageId" = Uuid, Path)),
    responses(
        (status = 202, description = "Queued in the outbox", body = PlatformActionRecord),
        (status = 400, description = "Not a citizen's public message", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The channel cannot hide a message (X, WhatsApp), or its account is gone", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn hide(
    State(state): State<AppState>,
    principal: Authorized<roles::Reply>,
    CaseMessagePath(case_id, message_id): CaseMessagePath,
) -> ApiResult<(StatusCode, Json<PlatformActionRecord>)> {
    let action = hide_message(&state, &principal, case_id, message_id).await?;
    Ok((StatusCode::ACCEPTED, Json(action)))
}
