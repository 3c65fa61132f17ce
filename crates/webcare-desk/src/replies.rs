//! The reply flow: an agent's reply (typed, or from a canned answer, or a WhatsApp template) is
//! checked as the outbox worker would check it, stored in the outbox and sent by the worker
//! (`webcare-workers`); the out-of-hours auto-reply (`crate::auto_reply`) is queued the same way.
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

use crate::error::{DeskError, DeskResult, InvalidParam};
use crate::principal::Principal;
use crate::Desk;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use uuid::Uuid;
use webcare_connectors::outbound::{
    channel_limits, check_reply, delivery_route, text_length, window_state, OutboundReply,
    RefusalKind, WhatsAppTemplate, WindowInfo, WindowState,
};
use webcare_domain::canned::{self, TemplateError};
use webcare_domain::{ChannelKind, Direction, Visibility};
use webcare_store::connectors::{NewReply, ReplyRecord, ReplyTemplate};
use webcare_store::{ChannelAccount, Store};

/// The connectors' form of a stored template.
pub fn whatsapp_template(t: &ReplyTemplate) -> WhatsAppTemplate {
    WhatsAppTemplate {
        name: t.name.clone(),
        language: t.language.clone(),
        params: t.parameters.clone(),
    }
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// An approved WhatsApp message template: the store's, taken and shown as it is.
pub type WhatsAppTemplateBody = ReplyTemplate;

/// WhatsApp's own limits: template names up to 512 characters, parameters non-empty.
fn check_whatsapp_template(
    t: &WhatsAppTemplateBody,
    kind: ChannelKind,
) -> Result<ReplyTemplate, DeskError> {
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
        Err(DeskError::Invalid(errs))
    }
}

/// The canned answer `id` filled in for `case`, strictly: every variable it uses needs a value.
async fn canned_text(
    desk: &Desk,
    p: &Principal,
    case: &webcare_store::CaseRecord,
    id: Uuid,
    render: bool,
) -> DeskResult<Option<String>> {
    let c = desk.store.get_canned(id).await?.ok_or_else(|| {
        DeskError::invalid("templateId", "unknown", "no canned answer with this id")
    })?;
    if !crate::canned::may_use(p, &c) {
        return Err(DeskError::invalid(
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
    let values = crate::canned::case_values(desk, p, case, id).await?;
    match canned::render_strict(&c.text, &values) {
        Ok(text) => Ok(Some(text)),
        Err(TemplateError::Missing(vars)) => Err(DeskError::Invalid(
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
        Err(e) => Err(DeskError::invalid(
            "templateId",
            "invalid_template",
            e.to_string(),
        )),
    }
}

/// The channel's limits as they apply to this reply.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReplyLimits {
    pub max_chars: usize,
    pub length: usize,
    /// Seconds left for a free-form private reply (Messenger, Instagram, WhatsApp).
    pub window_remaining_seconds: Option<i64>,
}

/// A reply as stored in the outbox, whether it was created now (or found under its id), and the
/// channel's limits as they applied to it.
#[derive(Debug)]
pub struct QueuedReply {
    pub created: bool,
    pub reply: ReplyRecord,
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

/// Stores a reply in the outbox after every check the worker would make (the API's
/// `POST /cases/{id}/replies` and the web app's reply box). `id` is the reply's id (the
/// idempotency key); answers whether it was created now.
pub async fn create_reply(
    desk: &Desk,
    principal: &Principal,
    case_id: Uuid,
    id: Uuid,
    body: NewReplyBody,
) -> DeskResult<QueuedReply> {
    // Only cases the caller may see (its teams' cases for an agent).
    let case = crate::case_work::visible_case(desk, principal, case_id).await?;
    let account = desk
        .store
        .get_channel_account(case.channel_account_id)
        .await?
        .ok_or_else(|| {
            DeskError::Conflict(
                "the case's channel account was removed; it cannot be answered".into(),
            )
        })?;
    // A reply that cannot be delivered is refused now, not failed silently later.
    deliverable(&account)?;
    let whatsapp_template = body
        .whatsapp_template
        .as_ref()
        .map(|t| check_whatsapp_template(t, account.kind))
        .transpose()?;
    let rendered = match body.template_id {
        Some(t) => canned_text(desk, principal, &case, t, body.text.is_none()).await?,
        None => None,
    };
    let text = match (body.text, rendered) {
        (Some(t), _) => t,
        (None, Some(r)) => r,
        // The template is the message.
        (None, None) if whatsapp_template.is_some() => String::new(),
        (None, None) => {
            return Err(DeskError::invalid(
                "text",
                "required",
                "give text, a templateId or a whatsappTemplate",
            ))
        }
    };
    let messages = desk.store.case_messages(case_id).await?;
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
            return Err(DeskError::invalid(
                "visibility",
                "no_target",
                format!("the case has no {visibility} citizen message to answer (deleted, or the citizen wrote privately)"),
            ))
        }
    };
    let limits = channel_limits(account.kind, visibility);
    let length = text_length(account.kind, visibility, &text);
    if text.trim().is_empty() && whatsapp_template.is_none() {
        return Err(DeskError::invalid("text", "empty", "the reply is empty"));
    }
    if length > limits.max_chars {
        return Err(DeskError::Invalid(vec![InvalidParam::new(
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
    let window_remaining_seconds = match window_state(account.kind, visibility, &window, now) {
        WindowState::Open { remaining } | WindowState::TagOnly { remaining } => {
            Some(remaining.num_seconds())
        }
        WindowState::Closed => Some(0),
        WindowState::NotApplicable => None,
    };
    let (reply, created) = queue(
        &desk.store,
        &account,
        NewReply {
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
            whatsapp_template,
            auto_reply: false,
        },
        window,
        now,
    )
    .await?;
    Ok(QueuedReply {
        created,
        reply,
        limits: ReplyLimits {
            max_chars: limits.max_chars,
            length,
            window_remaining_seconds,
        },
    })
}

/// Whether replies on `account` have a way out (an `api` account needs a `callbackUrl`, a
/// platform account its send credential) and the account is switched on.
pub(crate) fn deliverable(account: &ChannelAccount) -> DeskResult<()> {
    if !account.enabled {
        return Err(DeskError::Conflict(
            "the case's channel account is disabled; an admin must enable it before replies \
             can be sent through it"
                .into(),
        ));
    }
    delivery_route(account.kind, account.callback_url.as_deref(), |k| {
        account.credentials.get(k)
    })
    .map(|_| ())
    .map_err(|no| DeskError::invalid("channelAccount", no.code, no.reason))
}

/// The one way into the outbox, for agent replies, canned answers and the out-of-hours
/// auto-reply: the reply needs a delivery route and must pass the checks the outbox worker will
/// make (a dry run of the send, without secrets), so the agent learns at once; then the store
/// writes it with its audit entry and its `reply.updated` event in one transaction. Answers the
/// reply and whether it was created now (`false`: the same id, or the case's auto-reply, was
/// queued before).
pub(crate) async fn queue(
    store: &Arc<dyn Store>,
    account: &ChannelAccount,
    new: NewReply,
    window: WindowInfo,
    now: DateTime<Utc>,
) -> DeskResult<(ReplyRecord, bool)> {
    deliverable(account)?;
    let dry = OutboundReply {
        kind: account.kind,
        account_external_id: account.external_id.clone(),
        reply_id: new.id,
        text: new.text.clone(),
        visibility: new.visibility,
        in_reply_to_platform_id: new.in_reply_to.clone(),
        recipient_platform_user_id: new.recipient.clone(),
        window,
        now,
        template: new.whatsapp_template.as_ref().map(whatsapp_template),
    };
    if let Err(refused) = check_reply(&dry) {
        let (name, code) = refusal_param(refused.kind);
        let reason = match &refused.alternative {
            Some(alt) => format!("{}; instead: {alt}", refused.reason),
            None => refused.reason.clone(),
        };
        return Err(DeskError::Invalid(vec![InvalidParam::new(
            name, code, reason,
        )]));
    }
    Ok(store.enqueue_reply(new).await?)
}

/// Resolving a case whose last reply by an agent is not delivered (pending, sending or failed)
/// needs the agent's confirmation (`confirmUndelivered`): otherwise 409, naming the reply, its
/// state and why it failed. The rule is `webcare_domain::replies::undelivered_last_reply`.
pub async fn check_resolvable(desk: &Desk, case_id: Uuid, confirmed: bool) -> DeskResult<()> {
    if confirmed {
        return Ok(());
    }
    let replies = desk.store.case_replies(case_id).await?;
    let Some(undelivered) = webcare_domain::replies::undelivered_last_reply(
        // The satisfaction survey is not the agent's answer (an earlier resolve scheduled it).
        replies
            .iter()
            .filter(|r| r.author != webcare_store::surveys::ACTOR)
            .map(|r| (r.state, r.auto_reply)),
    ) else {
        return Ok(());
    };
    let last = replies
        .iter()
        .rev()
        .find(|r| !r.auto_reply && r.author != webcare_store::surveys::ACTOR);
    let why = last
        .and_then(|r| r.failure_reason.as_deref())
        .map(|reason| format!(" ({reason})"))
        .unwrap_or_default();
    Err(DeskError::Conflict(format!(
        "the case's last reply{} is {}{why}: the citizen may have no answer; answer another way, \
         or resolve with confirmUndelivered: true",
        last.map(|r| format!(" {}", r.id)).unwrap_or_default(),
        undelivered.as_str(),
    )))
}
