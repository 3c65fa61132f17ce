//! Replies to a case: stored in the outbox first, then sent by the outbox worker
//! (`crate::connectors::outbox`). The answer carries the delivery state, which moves
//! pending -> sending -> sent -> delivered -> read (or failed, with a readable reason).

use crate::auth::{roles, Authorized};
use crate::error::{ApiError, ApiResult, InvalidParam, Problem};
use crate::extract::{ApiJson, IdPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use webcare_connectors::outbound::{
    build_request, channel_limits, text_length, window_state, Credentials, OutboundReply,
    RefusalKind, WindowInfo, WindowState,
};
use webcare_domain::inbound::DeliveryState;
use webcare_domain::{ChannelKind, Direction, Visibility};
use webcare_store::connectors::{NewReply, ReplyRecord};
use webcare_store::NewAuditEvent;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewReplyBody {
    /// The answer, exactly as the citizen will see it.
    pub text: String,
    /// `public` (a comment or post reply) or `private` (DM); default: how the citizen last wrote.
    pub visibility: Option<Visibility>,
    /// A holding answer ("we're looking into it"): stops the reaction clock, not resolution.
    #[serde(default)]
    pub process_answer: bool,
}

/// The channel's limits as they apply to this reply.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplyLimits {
    pub max_chars: usize,
    pub length: usize,
    /// Seconds left for a free-form private reply (Messenger, Instagram, WhatsApp).
    pub window_remaining_seconds: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reply {
    pub id: Uuid,
    pub case_id: Uuid,
    pub channel_account_id: Uuid,
    pub text: String,
    pub visibility: Visibility,
    pub in_reply_to: Option<String>,
    pub process_answer: bool,
    /// pending, sending, sent, delivered, read or failed.
    pub state: DeliveryState,
    pub attempts: i64,
    pub platform_message_id: Option<String>,
    /// Why it failed, for the agent, with what to do instead.
    pub failure_reason: Option<String>,
    /// The last transient error while it is being retried.
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<ReplyRecord> for Reply {
    fn from(r: ReplyRecord) -> Self {
        Reply {
            next_attempt_at: (r.state == DeliveryState::Pending).then_some(r.next_attempt_at),
            id: r.id,
            case_id: r.case_id,
            channel_account_id: r.channel_account_id,
            text: r.text,
            visibility: r.visibility,
            in_reply_to: r.in_reply_to,
            process_answer: r.process_answer,
            state: r.state,
            attempts: r.attempts,
            platform_message_id: r.platform_message_id,
            failure_reason: r.failure_reason,
            last_error: r.last_error,
            created_at: r.created_at,
            sent_at: r.sent_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedReply {
    #[serde(flatten)]
    pub reply: Reply,
    pub limits: ReplyLimits,
}

fn refusal_param(kind: RefusalKind) -> (&'static str, &'static str) {
    match kind {
        RefusalKind::TooLong => ("text", "too_long"),
        RefusalKind::EmptyText => ("text", "empty"),
        RefusalKind::OutsideWindow => ("visibility", "outside_window"),
        RefusalKind::MissingTarget => ("visibility", "no_target"),
        RefusalKind::MissingRecipient => ("visibility", "no_recipient"),
    }
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
        (status = 400, description = "Too long, outside the window, nothing to reply to (names the limit and the alternative)", body = Problem, content_type = "application/problem+json"),
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
    // Only cases the caller may see (its teams' cases for an agent).
    let case = super::case_work::visible_case(&state, &principal, case_id).await?;
    let account = state
        .store
        .get_channel_account(case.channel_account_id)
        .await?
        .ok_or_else(|| {
            ApiError::Conflict(
                "the case's channel account was removed; it cannot be answered".into(),
            )
        })?;
    let messages = state.store.case_messages(case_id).await?;
    let citizen: Vec<_> = messages
        .iter()
        .filter(|m| m.direction == Direction::Inbound && m.deleted_at.is_none())
        .collect();
    let last_any = citizen.last().copied();
    let visibility = body
        .visibility
        .or(last_any.map(|m| m.visibility))
        .unwrap_or(Visibility::Public);
    let same = citizen
        .iter()
        .rev()
        .find(|m| m.visibility == visibility)
        .copied();
    // Public: answer the latest public message. Private: the latest private message's author; a
    // private reply to a public comment (Facebook/Instagram) goes to that comment.
    let (in_reply_to, recipient) = match (visibility, same, last_any) {
        (Visibility::Public, Some(t), _) => (
            Some(t.platform_message_id.clone()),
            Some(t.author.platform_user_id.clone()),
        ),
        (Visibility::Private, Some(t), _) => (None, Some(t.author.platform_user_id.clone())),
        (Visibility::Private, None, Some(t))
            if matches!(account.kind, ChannelKind::FacebookPage | ChannelKind::Instagram) =>
        {
            (Some(t.platform_message_id.clone()), None)
        }
        (Visibility::Private, None, Some(t)) => (None, Some(t.author.platform_user_id.clone())),
        (_, None, _) => {
            return Err(ApiError::invalid(
                "visibility",
                "no_target",
                format!("the case has no {visibility} citizen message to answer (deleted, or the citizen wrote privately)"),
            ))
        }
    };
    let limits = channel_limits(account.kind, visibility);
    let length = text_length(account.kind, visibility, &body.text);
    if body.text.trim().is_empty() {
        return Err(ApiError::invalid("text", "empty", "the reply is empty"));
    }
    if length > limits.max_chars {
        return Err(ApiError::Invalid(vec![InvalidParam::new(
            "text",
            "too_long",
            format!(
                "the reply is {length} characters; {} {visibility} replies allow {}",
                account.kind, limits.max_chars
            ),
        )]));
    }
    let now = Utc::now();
    let window = WindowInfo {
        last_citizen_message_at: last_any.map(|m| m.sent_at),
    };
    // The same check the worker makes, now, so the agent learns at once (dry run, no secrets).
    let dry = OutboundReply {
        kind: account.kind,
        account_external_id: account.external_id.clone(),
        reply_id: id,
        text: body.text.clone(),
        visibility,
        in_reply_to_platform_id: in_reply_to.clone(),
        recipient_platform_user_id: recipient.clone(),
        window,
        now,
        template: None,
    };
    if let Err(refused) = build_request(
        &dry,
        "http://dry-run.invalid",
        "v0",
        &Credentials {
            access_token: String::new(),
        },
    ) {
        let (name, code) = refusal_param(refused.kind);
        let reason = match &refused.alternative {
            Some(alt) => format!("{}; instead: {alt}", refused.reason),
            None => refused.reason.clone(),
        };
        return Err(ApiError::Invalid(vec![InvalidParam::new(
            name, code, reason,
        )]));
    }
    let window_remaining_seconds = match window_state(account.kind, visibility, &window, now) {
        WindowState::Open { remaining } | WindowState::TagOnly { remaining } => {
            Some(remaining.num_seconds())
        }
        WindowState::Closed => Some(0),
        WindowState::NotApplicable => None,
    };
    let (reply, created) = state
        .store
        .enqueue_reply(NewReply {
            id,
            case_id,
            channel_account_id: account.id,
            text: body.text,
            visibility,
            in_reply_to,
            recipient,
            process_answer: body.process_answer,
            author: principal.actor(),
        })
        .await?;
    if created {
        state
            .store
            .record_audit(NewAuditEvent {
                actor: principal.actor(),
                action: "reply.created".into(),
                case_id: Some(case_id),
                detail: serde_json::json!({"replyId": reply.id, "visibility": visibility}),
            })
            .await?;
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(CreatedReply {
            reply: reply.into(),
            limits: ReplyLimits {
                max_chars: limits.max_chars,
                length,
                window_remaining_seconds,
            },
        }),
    ))
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
    Ok(Json(replies.into_iter().map(Into::into).collect()))
}
