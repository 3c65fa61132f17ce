//! Messenger and Instagram messaging items (`entry[].messaging[]` and `entry[].standby[]`).
//!
//! The conversation key is the citizen: `messenger:{psid}` / `instagram:{igsid}`, where the citizen
//! is the sender of an inbound message and the recipient of an echo. Times are epoch milliseconds.

use super::MetaObject;
use crate::ignored;
use crate::json::{arr_at, at as json_at, id_at, secs_or_millis_at, str_at};
use chrono::{DateTime, Utc};
use serde_json::Value;
use webcare_domain::inbound::{Attachment, Author, DeliveryState, InboundEvent, InboundMessage};
use webcare_domain::model::{Direction, Visibility};

/// Keys of messaging items the desk acknowledges but does not act on.
const IGNORED_KINDS: &[&str] = &[
    "reaction",
    "optin",
    "referral",
    "account_linking",
    "pass_thread_control",
    "take_thread_control",
    "request_thread_control",
    "app_roles",
    "policy_enforcement",
    "messaging_feedback",
    "response_feedback",
    "game_play",
];

pub(crate) fn parse_item(
    object: MetaObject,
    account: &str,
    item: &Value,
    fallback: DateTime<Utc>,
) -> Vec<InboundEvent> {
    let at = secs_or_millis_at(item, &["timestamp"]).unwrap_or(fallback);
    let prefix = match object {
        MetaObject::Instagram => "instagram",
        _ => "messenger",
    };
    if let Some(message) = item.get("message") {
        return vec![message_event(prefix, account, item, message, at)];
    }
    if let Some(edit) = item.get("message_edit") {
        return vec![match str_at(edit, &["mid"]) {
            Some(mid) => InboundEvent::Edit {
                platform_message_id: mid.to_owned(),
                new_platform_message_id: None,
                text: str_at(edit, &["text"]).unwrap_or("").to_owned(),
                edited_at: at,
            },
            None => ignored(format!("{prefix} message_edit without mid")),
        }];
    }
    if let Some(delivery) = item.get("delivery") {
        let statuses: Vec<InboundEvent> = arr_at(delivery, &["mids"])
            .iter()
            .filter_map(Value::as_str)
            .map(|mid| status(mid, DeliveryState::Delivered, at))
            .collect();
        if statuses.is_empty() {
            // Watermark-only: "everything before t is delivered" names no message ids.
            return vec![ignored(format!("{prefix} delivery watermark without mids"))];
        }
        return statuses;
    }
    if let Some(read) = item.get("read") {
        // Instagram seen receipts name the message; Messenger reads carry only a watermark.
        return vec![match str_at(read, &["mid"]) {
            Some(mid) => status(mid, DeliveryState::Read, at),
            None => ignored(format!("{prefix} read watermark without mid")),
        }];
    }
    if let Some(postback) = item.get("postback") {
        return vec![postback_event(prefix, account, item, postback, at)];
    }
    let kind = IGNORED_KINDS
        .iter()
        .find(|k| item.get(**k).is_some())
        .copied()
        .unwrap_or("unknown");
    vec![ignored(format!("{prefix} {kind} event"))]
}

fn status(mid: &str, state: DeliveryState, at: DateTime<Utc>) -> InboundEvent {
    InboundEvent::Status {
        platform_message_id: mid.to_owned(),
        state,
        at,
        error: None,
    }
}

/// Who wrote the item and which citizen the conversation is with.
struct Parties {
    direction: Direction,
    author: Author,
    citizen: Option<String>,
}

fn parties(account: &str, item: &Value, echo_flag: bool) -> Parties {
    let sender = id_at(item, &["sender", "id"]);
    let recipient = id_at(item, &["recipient", "id"]);
    // `is_echo` is the rule; a sender equal to our account is an echo whatever the flag says.
    if echo_flag || sender.as_deref() == Some(account) {
        Parties {
            direction: Direction::Outbound,
            author: Author {
                platform_user_id: sender.unwrap_or_else(|| account.to_owned()),
                ..Author::default()
            },
            citizen: recipient,
        }
    } else {
        Parties {
            direction: Direction::Inbound,
            author: Author {
                platform_user_id: sender.clone().unwrap_or_default(),
                ..Author::default()
            },
            citizen: sender,
        }
    }
}

impl Parties {
    /// A private message between these parties, in the conversation `prefix:<citizen>`.
    fn message(
        self,
        prefix: &str,
        id: String,
        in_reply_to: Option<String>,
        text: String,
        at: DateTime<Utc>,
        attachments: Vec<Attachment>,
    ) -> InboundEvent {
        InboundEvent::Message(InboundMessage {
            platform_message_id: id,
            in_reply_to,
            conversation_key: self.citizen.map(|c| format!("{prefix}:{c}")),
            visibility: Visibility::Private,
            direction: self.direction,
            author: self.author,
            text,
            sent_at: at,
            attachments,
            flags: Vec::new(),
        })
    }
}

fn message_event(
    prefix: &str,
    account: &str,
    item: &Value,
    message: &Value,
    at: DateTime<Utc>,
) -> InboundEvent {
    let Some(mid) = str_at(message, &["mid"]) else {
        return ignored(format!("{prefix} message without mid"));
    };
    if flag(message, "is_deleted") {
        return InboundEvent::Delete {
            platform_message_id: mid.to_owned(),
            deleted_at: at,
        };
    }
    if flag(message, "is_unsupported") {
        return ignored(format!("{prefix} unsupported message type"));
    }
    let p = parties(account, item, flag(message, "is_echo"));
    let mut attachments: Vec<Attachment> = arr_at(message, &["attachments"])
        .iter()
        .map(attachment)
        .collect();
    if let Some(story) = json_at(message, &["reply_to", "story"]) {
        attachments.push(Attachment {
            kind: "story".to_owned(),
            url: str_at(story, &["url"]).map(str::to_owned),
            platform_media_id: id_at(story, &["id"]),
            ..Attachment::default()
        });
    }
    let text = str_at(message, &["text"]).unwrap_or("").to_owned();
    if text.is_empty() && attachments.is_empty() {
        return ignored(format!("{prefix} message without text or attachments"));
    }
    let in_reply_to = str_at(message, &["reply_to", "mid"]).map(str::to_owned);
    p.message(prefix, mid.to_owned(), in_reply_to, text, at, attachments)
}

/// A tap on a button: the button's title is what the citizen "said". Older postbacks have no
/// `mid`; a stable id from sender and time keeps redeliveries deduplicable.
fn postback_event(
    prefix: &str,
    account: &str,
    item: &Value,
    postback: &Value,
    at: DateTime<Utc>,
) -> InboundEvent {
    let p = parties(account, item, false);
    let id = match str_at(postback, &["mid"]) {
        Some(mid) => mid.to_owned(),
        None => format!(
            "postback:{}:{}",
            p.citizen.as_deref().unwrap_or(""),
            at.timestamp_millis()
        ),
    };
    let text = str_at(postback, &["title"])
        .or_else(|| str_at(postback, &["payload"]))
        .unwrap_or("")
        .to_owned();
    p.message(prefix, id, None, text, at, Vec::new())
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// `{"type":"image","payload":{"url":…}}`; locations become a `geo:` URL, stickers keep their id.
fn attachment(a: &Value) -> Attachment {
    let kind = str_at(a, &["type"]).unwrap_or("file").to_owned();
    let payload = a.get("payload").unwrap_or(&Value::Null);
    let geo = match (
        json_at(payload, &["coordinates", "lat"]).and_then(Value::as_number),
        json_at(payload, &["coordinates", "long"]).and_then(Value::as_number),
    ) {
        (Some(lat), Some(long)) => Some(format!("geo:{lat},{long}")),
        _ => None,
    };
    Attachment {
        kind,
        url: str_at(payload, &["url"]).map(str::to_owned).or(geo),
        mime_type: None,
        platform_media_id: id_at(payload, &["sticker_id"])
            .or_else(|| id_at(payload, &["reel_video_id"]))
            .or_else(|| id_at(payload, &["attachment_id"])),
        caption: str_at(payload, &["title"])
            .or_else(|| str_at(a, &["title"]))
            .map(str::to_owned),
        filename: None,
    }
}
