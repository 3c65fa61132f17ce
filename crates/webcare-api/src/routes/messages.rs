use crate::auth::{roles, Authorized};
use crate::dto::{Message, NewMessage};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiJson;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use webcare_store::IngestItem;

/// Ingest one normalised inbound message.
///
/// Threads it into a case (creating the contact and case as needed) and answers once it is
/// durably stored, with the effects every door has (live events, webhooks, auto-assignment, SLA
/// clocks) written in the same transaction. Sending the same `platformMessageId` again answers 200 with the stored message
/// and changes nothing, so clients can retry safely.
#[utoipa::path(
    post, path = "/api/v1/messages", tag = "messages",
    request_body = NewMessage,
    responses(
        (status = 201, description = "Stored", body = Message),
        (status = 200, description = "Already stored: the same message", body = Message),
        (status = 400, description = "Invalid input", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or unknown token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_message(
    State(state): State<AppState>,
    _caller: Authorized<roles::Ingest>,
    ApiJson(body): ApiJson<NewMessage>,
) -> ApiResult<(StatusCode, Json<Message>)> {
    let now = Utc::now();
    let account_id = body.channel_account_id;
    let message = body.into_checked(now)?;
    let account = state
        .store
        .get_channel_account(account_id)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "channelAccountId",
                "unknown",
                "no channel account with this id",
            )
        })?;
    let outcome = state
        .ingestor
        .ingest(IngestItem {
            channel_account_id: account.id,
            message,
            received_at: now,
            default_team: account.default_team,
        })
        .await
        .map_err(webcare_desk::DeskError::from)?;
    let status = if outcome.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(outcome.message.into())))
}
