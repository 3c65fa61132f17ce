//! Replies to a case: stored in the outbox first, then sent by the outbox worker
//! (`crate::connectors::outbox`). The answer carries the delivery state, which moves
//! pending -> sending -> sent -> delivered -> read (or failed, with a readable reason); each
//! change is also a `reply.updated` live event.
//!
//! What is sent:
//! * `text` alone: the text.
//! * `templateId` alone: the canned answer, filled in for the case as the preview
//!   (`/canned-answers/{id}/render`) shows it; a variable the case has no value for (no name for
//!   `{{voornaam}}`, no department for `{{afdeling}}`) is refused, so a citizen never reads
//!   "Hoi ,".
//! * `text` and `templateId`: the agent's text (typically the canned answer, edited); the canned
//!   answer is recorded as used.
//! * Nothing, when the channel account has no delivery route (an `api` account without
//!   `callbackUrl`, a missing send credential): 400, not a reply that fails unseen.
//!   Resolving a case whose last reply is not delivered needs `confirmUndelivered`
//!   (`check_resolvable`).
//! * `whatsappTemplate` (WhatsApp only): the approved template goes out when the 24-hour window
//!   is closed or there is no text; inside the window a given text is sent as text.

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
    channel_limits, check_reply, delivery_route, text_length, window_state, OutboundReply,
    RefusalKind, WindowInfo, WindowState,
};
use webcare_domain::canned::{self, TemplateError};
use webcare_domain::inbound::DeliveryState;
use webcare_domain::{ChannelKind, Direction, Visibility};
use webcare_store::connectors::{NewReply, ReplyRecord, ReplyTemplate};
use webcare_store::NewAuditEvent;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewReplyBody {
    /// The answer, exactly as the citizen will see it. Optional with `templateId` (the canned
    /// answer is filled in and sent) or `whatsappTemplate` (the template is sent).
    #[serde(default)]
    pub text: Option<String>,
    /// `public` (a comment or post reply) or `private` (DM); default: how the citizen last wrote.
    pub visibility: Option<Visibility>,
    /// A holding answer ("we're looking into it"): stops the reaction clock, not resolution.
    #[serde(default)]
    pub process_answer: bool,
    /// A canned answer (`/api/v1/canned-answers`) of the caller's teams or desk-wide. Without
    /// `text` it is filled in for this case and sent; with `text` the text is sent and the canned
    /// answer is recorded as used.
    #[serde(default)]
    pub template_id: Option<Uuid>,
    /// An approved WhatsApp template (WhatsApp cases only), for answers outside the 24-hour
    /// customer-service window.
    #[serde(default)]
    pub whatsapp_template: Option<WhatsAppTemplateBody>,
}

/// An approved WhatsApp message template, as registered with Meta.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WhatsAppTemplateBody {
    /// The template's name: lowercase letters, digits and `_`.
    pub name: String,
    /// Its language code, e.g. `nl` or `en_US`.
    pub language: String,
    /// Values for the body's `{{1}}`, `{{2}}`, ... in order.
    #[serde(default)]
    pub parameters: Vec<String>,
}

impl From<ReplyTemplate> for WhatsAppTemplateBody {
    fn from(t: ReplyTemplate) -> Self {
        WhatsAppTemplateBody {
            name: t.name,
            language: t.language,
            parameters: t.parameters,
        }
    }
}

/// WhatsApp's own limits: template names up to 512 characters, parameters non-empty.
fn check_whatsapp_template(
    t: &WhatsAppTemplateBody,
    kind: ChannelKind,
) -> Result<ReplyTemplate, ApiError> {
    let mut errs = Vec::new();
    if kind != ChannelKind::Whatsapp {
        errs.push(InvalidParam::new(
            "whatsappTemplate",
            "not_applicable",
            format!("only WhatsApp cases take a template; this case is on {kind}"),
        ));
    }
    let name_ok = (1..=512).contains(&t.name.len())
        && t.name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !name_ok {
        errs.push(InvalidParam::new(
            "whatsappTemplate.name",
            "invalid",
            "1 to 512 characters: lowercase letters, digits and _ (as registered with Meta)",
        ));
    }
    let lang_ok = (2..=15).contains(&t.language.len())
        && t.language
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'_');
    if !lang_ok {
        errs.push(InvalidParam::new(
            "whatsappTemplate.language",
            "invalid",
            "a language code such as nl or en_US",
        ));
    }
    if t.parameters.len() > 50 {
        errs.push(InvalidParam::new(
            "whatsappTemplate.parameters",
            "too_many",
            "at most 50 parameters",
        ));
    }
    for (i, p) in t.parameters.iter().enumerate() {
        if p.trim().is_empty() || p.chars().count() > 1024 {
            errs.push(InvalidParam::new(
                format!("whatsappTemplate.parameters[{i}]"),
                "invalid",
                "1 to 1024 characters (WhatsApp refuses empty parameters)",
            ));
        }
    }
    if errs.is_empty() {
        Ok(ReplyTemplate {
            name: t.name.clone(),
            language: t.language.clone(),
            parameters: t.parameters.clone(),
        })
    } else {
        Err(ApiError::Invalid(errs))
    }
}

/// The canned answer `id` filled in for `case`, strictly: every variable it uses needs a value.
async fn canned_text(
    state: &AppState,
    p: &crate::auth::Principal,
    case: &webcare_store::CaseRecord,
    id: Uuid,
    render: bool,
) -> ApiResult<Option<String>> {
    let c = state.store.get_canned(id).await?.ok_or_else(|| {
        ApiError::invalid("templateId", "unknown", "no canned answer with this id")
    })?;
    if !super::canned::may_use(p, &c) {
        return Err(ApiError::invalid(
            "templateId",
            "not_allowed",
            format!(
                "this canned answer belongs to team '{}'; use your teams' answers or desk-wide ones",
                c.team.as_deref().unwrap_or_default()
            ),
        ));
    }
    if !render {
        return Ok(None);
    }
    let values = super::canned::case_values(state, p, case, id).await?;
    match canned::render_strict(&c.text, &values) {
        Ok(text) => Ok(Some(text)),
        Err(TemplateError::Missing(vars)) => Err(ApiError::Invalid(
            vars.iter()
                .map(|v| {
                    let why = canned::missing_reason(v);
                    InvalidParam::new(
                        "templateId",
                        "unrenderable_variable",
                        format!("{{{{{v}}}}} cannot be filled in: {why}; write the text yourself"),
                    )
                })
                .collect(),
        )),
        Err(e) => Err(ApiError::invalid(
            "templateId",
            "invalid_template",
            e.to_string(),
        )),
    }
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
    /// Why it failed, for the agent, with what to do instead; also why the outbox gave up on it
    /// ("gave up after N attempts: ...") once its attempts were used.
    pub failure_reason: Option<String>,
    /// The last transient error while it is being retried.
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The canned answer the reply was made from.
    pub canned_answer_id: Option<Uuid>,
    pub whatsapp_template: Option<WhatsAppTemplateBody>,
    /// The out-of-hours auto-reply (sent by the desk, not an answer by an agent).
    pub auto_reply: bool,
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
            canned_answer_id: r.canned_answer_id,
            whatsapp_template: r.whatsapp_template.map(Into::into),
            auto_reply: r.auto_reply,
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
    let (created, reply) = create_reply(&state, &principal, case_id, id, body).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(reply)))
}

/// Stores a reply in the outbox after every check the worker would make (the API's
/// `POST /cases/{id}/replies` and the web app's reply box). `id` is the reply's id (the
/// idempotency key); answers whether it was created now.
pub async fn create_reply(
    state: &AppState,
    principal: &Authorized<roles::Reply>,
    case_id: Uuid,
    id: Uuid,
    body: NewReplyBody,
) -> ApiResult<(bool, CreatedReply)> {
    // Only cases the caller may see (its teams' cases for an agent).
    let case = super::case_work::visible_case(state, principal, case_id).await?;
    let account = state
        .store
        .get_channel_account(case.channel_account_id)
        .await?
        .ok_or_else(|| {
            ApiError::Conflict(
                "the case's channel account was removed; it cannot be answered".into(),
            )
        })?;
    // A reply that cannot be delivered is refused now, not failed silently later.
    delivery_route(account.kind, account.callback_url.as_deref(), |k| {
        account.credentials.get(k)
    })
    .map_err(|no| ApiError::invalid("channelAccount", no.code, no.reason))?;
    let whatsapp_template = body
        .whatsapp_template
        .as_ref()
        .map(|t| check_whatsapp_template(t, account.kind))
        .transpose()?;
    let rendered = match body.template_id {
        Some(t) => canned_text(state, principal, &case, t, body.text.is_none()).await?,
        None => None,
    };
    let text = match (body.text, rendered) {
        (Some(t), _) => t,
        (None, Some(r)) => r,
        // The template is the message.
        (None, None) if whatsapp_template.is_some() => String::new(),
        (None, None) => {
            return Err(ApiError::invalid(
                "text",
                "required",
                "give text, a templateId or a whatsappTemplate",
            ))
        }
    };
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
    let length = text_length(account.kind, visibility, &text);
    if text.trim().is_empty() && whatsapp_template.is_none() {
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
        text: text.clone(),
        visibility,
        in_reply_to_platform_id: in_reply_to.clone(),
        recipient_platform_user_id: recipient.clone(),
        window,
        now,
        template: whatsapp_template
            .as_ref()
            .map(crate::connectors::outbox::whatsapp_template),
    };
    if let Err(refused) = check_reply(&dry) {
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
            text,
            visibility,
            in_reply_to,
            recipient,
            process_answer: body.process_answer,
            author: principal.actor(),
            canned_answer_id: body.template_id,
            whatsapp_template: whatsapp_template.clone(),
            auto_reply: false,
        })
        .await?;
    if created {
        state
            .store
            .record_audit(NewAuditEvent {
                actor: principal.actor(),
                action: "reply.created".into(),
                case_id: Some(case_id),
                detail: serde_json::json!({
                    "replyId": reply.id, "visibility": visibility,
                    "cannedAnswerId": body.template_id,
                    "whatsappTemplate": whatsapp_template.as_ref().map(|t| &t.name),
                }),
            })
            .await?;
        crate::live::reply_updated(&state.store, &reply).await;
    }
    Ok((
        created,
        CreatedReply {
            reply: reply.into(),
            limits: ReplyLimits {
                max_chars: limits.max_chars,
                length,
                window_remaining_seconds,
            },
        },
    ))
}

/// Resolving a case whose last reply by an agent is not delivered (pending, sending or failed)
/// needs the agent's confirmation (`confirmUndelivered`): otherwise 409, naming the reply, its
/// state and why it failed. The rule is `webcare_domain::replies::undelivered_last_reply`.
pub(crate) async fn check_resolvable(
    state: &AppState,
    case_id: Uuid,
    confirmed: bool,
) -> ApiResult<()> {
    if confirmed {
        return Ok(());
    }
    let replies = state.store.case_replies(case_id).await?;
    let Some(undelivered) = webcare_domain::replies::undelivered_last_reply(
        replies.iter().map(|r| (r.state, r.auto_reply)),
    ) else {
        return Ok(());
    };
    let last = replies.iter().rev().find(|r| !r.auto_reply);
    let why = last
        .and_then(|r| r.failure_reason.as_deref())
        .map(|reason| format!(" ({reason})"))
        .unwrap_or_default();
    Err(ApiError::Conflict(format!(
        "the case's last reply{} is {}{why}: the citizen may have no answer; answer another way, \
         or resolve with confirmUndelivered: true",
        last.map(|r| format!(" {}", r.id)).unwrap_or_default(),
        undelivered.as_str(),
    )))
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
