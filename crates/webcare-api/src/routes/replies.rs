//! Replies to a case over HTTP: the checks and the outbox are the desk's
//! (`webcare_desk::replies`); the answer carries the delivery state, which moves
//! pending -> sending -> sent -> delivered -> read (or failed, with a readable reason); each
//! change is also a `reply.updated` live event.

use crate::auth::{roles, Authorized};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, IdPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;
use webcare_store::connectors::ReplyRecord;
// The use case and its request body (named by the OpenAPI document) are the desk's.
pub use webcare_desk::replies::{
    check_resolvable, create_reply, NewReplyBody, ReplyLimits, WhatsAppTemplateBody,
};

/// A reply and its delivery state, as the store holds it.
pub type Reply = ReplyRecord;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedReply {
    #[serde(flatten)]
    pub reply: Reply,
    pub limits: ReplyLimits,
}

/// Reply to a case on its channel.
///
/// Checks the channel's limits (length, messaging window) now, stores the reply in the outbox and
/// answers 201; the outbox worker sends it. An `Idempotency-Key` header (a UUID) becomes the reply
/// id: sending the same key again answers 200 with the stored reply.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/replies", tag = "cases",
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<Uuid>, Header, description = "reply id; repeat-safe")),
    request_body = NewReplyBody,
    responses(
        (status = 201, description = "Stored; it is sent by the outbox", body = CreatedReply),
        (status = 200, description = "Already stored under this Idempotency-Key", body = CreatedReply),
        (status = 400, description = "No delivery route: the case's channel account cannot deliver a reply (an `api` account without `callbackUrl`, or a missing send credential; `invalidParams` name `channelAccount` with code `no_callback_url` or `no_credential`). Too long, outside the window, nothing to reply to (names the limit and the alternative); an unknown or another team's `templateId`, or a canned answer with a variable the case cannot fill (names the variable); a `whatsappTemplate` on another channel", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case's channel account is gone, or the key is used on another case", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Authorized<roles::Reply>,
    IdPath(case_id): IdPath,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewReplyBody>,
) -> ApiResult<(StatusCode, Json<CreatedReply>)> {
    let id = match headers.get("idempotency-key") {
        None => Uuid::now_v7(),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| Uuid::parse_str(s.trim()).ok())
            .ok_or_else(|| {
                ApiError::invalid("Idempotency-Key", "invalid_uuid", "must be a UUID")
            })?,
    };
    let q = create_reply(&state, &principal, case_id, id, body).await?;
    let (created, reply) = (
        q.created,
        CreatedReply {
            reply: q.reply,
            limits: q.limits,
        },
    );
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(reply)))
}

/// The replies of a case with their delivery state, oldest first.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/replies", tag = "cases",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Reply>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Authorized<roles::ReadCases>,
    IdPath(case_id): IdPath,
) -> ApiResult<Json<Vec<Reply>>> {
    super::case_work::visible_case(&state, &caller, case_id).await?;
    let replies = state.store.case_replies(case_id).await?;
    Ok(Json(replies))
}
