//! Building the platform request for one reply.
//!
//! Auth is `Authorization: Bearer {access_token}` for Meta (the page / system-user token). X
//! requests are signed with OAuth 1.0a when the account has the four keys, else they carry the
//! `accessToken` as an OAuth 2.0 user-context bearer (see [`crate::x::XAuth`]). For the `api` channel the
//! "token" is the callback's signing secret and the request is signed like our own webhooks
//! ([`crate::signature::sign_webhook`]); send [`PlatformRequest::body_bytes`] exactly.
//!
//! Platforms have no idempotency key for sends; the reply id is passed where the platform hands it
//! back (Messenger `metadata` in the echo, WhatsApp `biz_opaque_callback_data` in statuses).

use super::limits::{channel_limits, text_length, window_state, WindowState};
use crate::signature::{sign_webhook, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER};
use crate::x::{OAuth1Keys, XAuth};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::fmt;
use uuid::Uuid;
use webcare_domain::model::{ChannelKind, Visibility};

/// When the citizen last wrote on this conversation (opens the Messenger/WhatsApp window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WindowInfo {
    pub last_citizen_message_at: Option<DateTime<Utc>>,
}

/// An approved WhatsApp template, for replies outside the 24-hour window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatsAppTemplate {
    pub name: String,
    /// Language code, e.g. `nl`.
    pub language: String,
    /// Body parameters `{{1}}`, `{{2}}`, … in order.
    pub params: Vec<String>,
}

/// One reply from the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundReply {
    pub kind: ChannelKind,
    /// Page id, Instagram account id, WhatsApp phone_number_id, X user id.
    pub account_external_id: String,
    /// The outbox id; idempotency key of this reply.
    pub reply_id: Uuid,
    pub text: String,
    pub visibility: Visibility,
    /// Comment / tweet / message being answered.
    pub in_reply_to_platform_id: Option<String>,
    /// PSID, IGSID, wa_id or X user id, for private replies.
    pub recipient_platform_user_id: Option<String>,
    pub window: WindowInfo,
    pub now: DateTime<Utc>,
    pub template: Option<WhatsAppTemplate>,
}

/// The channel account's credential. Never printed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    pub access_token: String,
    /// X only: when set, requests are signed with OAuth 1.0a instead of the bearer token.
    pub x_oauth1: Option<OAuth1Keys>,
}

impl Credentials {
    pub fn bearer(access_token: impl Into<String>) -> Self {
        Credentials {
            access_token: access_token.into(),
            x_oauth1: None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials { <redacted> }")
    }
}

/// An HTTP request for the worker to send. Its `Debug` hides the `Authorization` value.
#[derive(Clone, PartialEq)]
pub struct PlatformRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub json_body: Value,
}

impl PlatformRequest {
    /// The exact bytes to send (and, for the `api` channel, the bytes that were signed).
    pub fn body_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.json_body).unwrap_or_default()
    }
}

impl fmt::Debug for PlatformRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let secret = k.eq_ignore_ascii_case("authorization");
                (k.as_str(), if secret { "<redacted>" } else { v.as_str() })
            })
            .collect();
        f.debug_struct("PlatformRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("json_body", &self.json_body)
            .finish()
    }
}

/// Why a reply cannot be sent as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    OutsideWindow,
    TooLong,
    EmptyText,
    /// No comment/post/tweet to reply to, or an id that cannot be part of a URL.
    MissingTarget,
    MissingRecipient,
}

/// A reply refused before sending, with what the agent can do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct RefusedReply {
    pub kind: RefusalKind,
    pub reason: String,
    pub alternative: Option<String>,
}

fn refuse(kind: RefusalKind, reason: impl Into<String>, alternative: Option<&str>) -> RefusedReply {
    RefusedReply {
        kind,
        reason: reason.into(),
        alternative: alternative.map(str::to_owned),
    }
}

/// Whether the platform would take `reply` (text, window, target ids), checked the way
/// [`build_request`] checks it but without secrets or a URL: for the API to refuse a reply at
/// once instead of failing it in the worker.
pub fn check_reply(reply: &OutboundReply) -> Result<(), RefusedReply> {
    build_request(
        reply,
        "http://dry-run.invalid",
        "v0",
        &Credentials::default(),
    )
    .map(|_| ())
}

/// Builds the request for `reply`. `base_url` is the platform API root (`https://graph.facebook.com`,
/// `https://api.x.com`, a fake server in tests; the callback URL for `api` channels);
/// `graph_version` like `v21.0` is used for Meta only.
pub fn build_request(
    reply: &OutboundReply,
    base_url: &str,
    graph_version: &str,
    credentials: &Credentials,
) -> Result<PlatformRequest, RefusedReply> {
    let base = base_url.trim_end_matches('/');
    let graph = format!("{base}/{}", graph_version.trim_matches('/'));
    let (url, body) = match (reply.kind, reply.visibility) {
        (ChannelKind::FacebookPage, Visibility::Public) => {
            check_text(reply)?;
            let comment = target(reply, "the comment to answer")?;
            (
                format!("{graph}/{comment}/comments"),
                json!({ "message": reply.text }),
            )
        }
        (ChannelKind::Instagram, Visibility::Public) => {
            check_text(reply)?;
            let comment = target(reply, "the comment to answer")?;
            (
                format!("{graph}/{comment}/replies"),
                json!({ "message": reply.text }),
            )
        }
        (ChannelKind::FacebookPage | ChannelKind::Instagram, Visibility::Private) => {
            check_text(reply)?;
            send_api(reply, &graph)?
        }
        (ChannelKind::Whatsapp, _) => whatsapp(reply, &graph)?,
        (ChannelKind::X, Visibility::Public) => {
            check_text(reply)?;
            let tweet = target(reply, "the post to answer")?;
            (
                format!("{base}/2/tweets"),
                json!({ "text": reply.text, "reply": { "in_reply_to_tweet_id": tweet } }),
            )
        }
        (ChannelKind::X, Visibility::Private) => {
            check_text(reply)?;
            let to = recipient(reply)?;
            (
                format!("{base}/2/dm_conversations/with/{to}/messages"),
                json!({ "text": reply.text }),
            )
        }
        (ChannelKind::Api, _) => {
            check_text(reply)?;
            return Ok(api_callback(reply, base, credentials));
        }
    };
    let authorization = match (&credentials.x_oauth1, reply.kind) {
        (Some(keys), ChannelKind::X) => XAuth::OAuth1(keys.clone()).header("POST", &url),
        _ => format!("Bearer {}", credentials.access_token),
    };
    Ok(PlatformRequest {
        method: "POST",
        url,
        headers: vec![
            ("Authorization".to_owned(), authorization),
            ("Content-Type".to_owned(), "application/json".to_owned()),
        ],
        json_body: body,
    })
}

fn check_text(reply: &OutboundReply) -> Result<(), RefusedReply> {
    if reply.text.trim().is_empty() {
        return Err(refuse(RefusalKind::EmptyText, "the reply is empty", None));
    }
    let max = channel_limits(reply.kind, reply.visibility).max_chars;
    let len = text_length(reply.kind, reply.visibility, &reply.text);
    if len > max {
        return Err(refuse(
            RefusalKind::TooLong,
            format!("the reply is {len} characters; {} allows {max}", reply.kind),
            Some("shorten the reply, or continue in a private message"),
        ));
    }
    Ok(())
}

/// Ids go into URL paths: only accept the characters platform ids use, so an odd id cannot change
/// the path or query.
pub(super) fn path_id(id: Option<&str>) -> Option<&str> {
    id.filter(|s| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            && s.bytes().any(|b| b != b'.')
    })
}

fn target<'a>(reply: &'a OutboundReply, what: &str) -> Result<&'a str, RefusedReply> {
    path_id(reply.in_reply_to_platform_id.as_deref()).ok_or_else(|| {
        refuse(
            RefusalKind::MissingTarget,
            format!("no valid id of {what}"),
            None,
        )
    })
}

fn recipient(reply: &OutboundReply) -> Result<&str, RefusedReply> {
    path_id(reply.recipient_platform_user_id.as_deref()).ok_or_else(|| {
        refuse(
            RefusalKind::MissingRecipient,
            "no valid recipient for a private reply",
            None,
        )
    })
}

/// Messenger / Instagram Send API with the standard window: `RESPONSE` within 24 h of the
/// citizen's last message, `MESSAGE_TAG` + `HUMAN_AGENT` up to 7 days, refused after. Without a
/// recipient but with a comment id it is a private reply to that comment (`recipient.comment_id`).
fn send_api(reply: &OutboundReply, graph: &str) -> Result<(String, Value), RefusedReply> {
    let page = path_id(Some(&reply.account_external_id)).ok_or_else(|| {
        refuse(
            RefusalKind::MissingTarget,
            "invalid channel account id",
            None,
        )
    })?;
    let recipient_json = match (
        &reply.recipient_platform_user_id,
        &reply.in_reply_to_platform_id,
    ) {
        (Some(id), _) if !id.is_empty() => json!({ "id": id }),
        (_, Some(comment)) if !comment.is_empty() => json!({ "comment_id": comment }),
        _ => {
            return Err(refuse(
                RefusalKind::MissingRecipient,
                "no recipient for a private reply",
                None,
            ))
        }
    };
    let mut body = json!({ "recipient": recipient_json, "message": { "text": reply.text } });
    match window_state(reply.kind, reply.visibility, &reply.window, reply.now) {
        WindowState::Open { .. } | WindowState::NotApplicable => {
            body["messaging_type"] = json!("RESPONSE");
        }
        WindowState::TagOnly { .. } => {
            body["messaging_type"] = json!("MESSAGE_TAG");
            body["tag"] = json!("HUMAN_AGENT");
        }
        WindowState::Closed => return Err(refuse(
            RefusalKind::OutsideWindow,
            "more than 7 days since the citizen's last message: Meta allows no reply any more",
            Some(
                "answer publicly, or ask the citizen to send a new message or use another channel",
            ),
        )),
    }
    if reply.kind == ChannelKind::FacebookPage {
        // Comes back in the message echo, linking it to this reply.
        body["message"]["metadata"] = json!(format!("webcare:{}", reply.reply_id));
    }
    Ok((format!("{graph}/{page}/messages"), body))
}

/// WhatsApp: free-form text inside the 24-hour customer-service window, a template outside it (or
/// when the agent chose a template and wrote no text).
fn whatsapp(reply: &OutboundReply, graph: &str) -> Result<(String, Value), RefusedReply> {
    let phone = path_id(Some(&reply.account_external_id)).ok_or_else(|| {
        refuse(
            RefusalKind::MissingTarget,
            "invalid WhatsApp phone_number_id",
            None,
        )
    })?;
    let to = reply
        .recipient_platform_user_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            refuse(
                RefusalKind::MissingRecipient,
                "no WhatsApp recipient (wa_id)",
                None,
            )
        })?;
    let open = matches!(
        window_state(reply.kind, reply.visibility, &reply.window, reply.now),
        WindowState::Open { .. }
    );
    let use_template = reply.template.is_some() && (!open || reply.text.trim().is_empty());
    let mut body = match (&reply.template, use_template, open) {
        (Some(t), true, _) => template_body(to, t),
        (_, false, true) => {
            check_text(reply)?;
            json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to,
                "type": "text",
                "text": { "preview_url": false, "body": reply.text },
            })
        }
        _ => {
            return Err(refuse(
                RefusalKind::OutsideWindow,
                "outside the 24-hour window: use an approved template",
                Some("send an approved WhatsApp template, or answer on another channel"),
            ))
        }
    };
    if let Some(quoted) = reply
        .in_reply_to_platform_id
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        body["context"] = json!({ "message_id": quoted });
    }
    body["biz_opaque_callback_data"] = json!(format!("webcare:{}", reply.reply_id));
    Ok((format!("{graph}/{phone}/messages"), body))
}

fn template_body(to: &str, t: &WhatsAppTemplate) -> Value {
    let mut template = json!({ "name": t.name, "language": { "code": t.language } });
    if !t.params.is_empty() {
        let params: Vec<Value> = t
            .params
            .iter()
            .map(|p| json!({ "type": "text", "text": p }))
            .collect();
        template["components"] = json!([{ "type": "body", "parameters": params }]);
    }
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": template,
    })
}

/// `api` channel: POST the reply to the integration's callback URL, signed like our webhooks.
fn api_callback(
    reply: &OutboundReply,
    callback_url: &str,
    credentials: &Credentials,
) -> PlatformRequest {
    let body = json!({
        "replyId": reply.reply_id,
        "channelAccount": reply.account_external_id,
        "text": reply.text,
        "visibility": reply.visibility,
        "inReplyTo": reply.in_reply_to_platform_id,
        "recipient": reply.recipient_platform_user_id,
        "createdAt": reply.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let ts = reply.now.timestamp();
    PlatformRequest {
        method: "POST",
        url: callback_url.to_owned(),
        headers: vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("Idempotency-Key".to_owned(), reply.reply_id.to_string()),
            (WEBHOOK_TIMESTAMP_HEADER.to_owned(), ts.to_string()),
            (
                WEBHOOK_SIGNATURE_HEADER.to_owned(),
                sign_webhook(credentials.access_token.as_bytes(), ts, &bytes),
            ),
        ],
        json_body: body,
    }
}
