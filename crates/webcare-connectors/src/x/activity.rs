//! Account Activity API webhook payloads: v1.1 tweet objects and DM events, addressed by
//! `for_user_id` (our account).
//!
//! Threading: v1.1 tweets carry no conversation id, and `x:conv:{in_reply_to}` would split a deep
//! thread into one key per parent. So a reply gets no conversation key and threads on
//! `in_reply_to` (the store finds the parent's case); only a root tweet (a mention that replies to
//! nothing) gets `x:conv:{id_str}`, which equals the v2 `conversation_id` of its thread, so later
//! replies found by the mentions poller join the same case.

use super::{dm_conversation_id, media_kind, snowflake_time};
use crate::error::ParseError;
use crate::ignored;
use crate::json::{arr_at, at, id_at, millis_at, str_at};
use chrono::{DateTime, Utc};
use serde_json::Value;
use webcare_domain::inbound::{AddressedEvent, Attachment, Author, InboundEvent, InboundMessage};
use webcare_domain::model::{Direction, Visibility};

/// Keys of a payload that are not events.
const ENVELOPE_KEYS: &[&str] = &["for_user_id", "user_has_blocked", "users", "apps", "source"];

/// Parses a verified Account Activity POST body. `received_at` is the last-resort timestamp for
/// an event without `timestamp_ms` / `created_timestamp` and a non-numeric id.
pub fn parse_account_activity(
    raw_body: &[u8],
    received_at: DateTime<Utc>,
) -> Result<Vec<AddressedEvent>, ParseError> {
    let root: Value = serde_json::from_slice(raw_body).map_err(ParseError::json)?;
    let obj = root
        .as_object()
        .ok_or(ParseError::Shape("top level is not a JSON object"))?;
    let ours = id_at(&root, &["for_user_id"]).ok_or(ParseError::Shape("missing 'for_user_id'"))?;
    let mut events = Vec::new();
    for (key, value) in obj {
        match key.as_str() {
            k if ENVELOPE_KEYS.contains(&k) => {}
            "tweet_create_events" => {
                for t in value.as_array().into_iter().flatten() {
                    events.push(tweet(t, &ours, received_at));
                }
            }
            "tweet_delete_events" => {
                for d in value.as_array().into_iter().flatten() {
                    events.push(tweet_delete(d, received_at));
                }
            }
            "direct_message_events" => {
                for d in value.as_array().into_iter().flatten() {
                    events.push(direct_message(d, &ours, &root, received_at));
                }
            }
            other => {
                let n = value.as_array().map_or(1, Vec::len);
                events.push(ignored(format!("x {other} ({n})")));
            }
        }
    }
    if events.is_empty() {
        events.push(ignored("x account activity payload without events"));
    }
    Ok(events
        .into_iter()
        .map(|event| AddressedEvent {
            account_external_id: ours.clone(),
            event,
        })
        .collect())
}

fn tweet(t: &Value, ours: &str, fallback: DateTime<Utc>) -> InboundEvent {
    let Some(id) = id_at(t, &["id_str"]).or_else(|| id_at(t, &["id"])) else {
        return ignored("x tweet without id");
    };
    if t.get("retweeted_status").is_some() {
        return ignored(format!("x retweet {id}"));
    }
    let truncated = t.get("truncated").and_then(Value::as_bool).unwrap_or(false);
    let extended = t.get("extended_tweet").filter(|_| truncated);
    let text = extended
        .and_then(|e| str_at(e, &["full_text"]))
        .or_else(|| str_at(t, &["full_text"]))
        .or_else(|| str_at(t, &["text"]))
        .unwrap_or("");
    let media_holder = extended.unwrap_or(t);
    let media = match at(media_holder, &["extended_entities", "media"]) {
        Some(m) => m.as_array().map(Vec::as_slice).unwrap_or(&[]),
        None => arr_at(media_holder, &["entities", "media"]),
    };
    let user_id = id_at(t, &["user", "id_str"]).or_else(|| id_at(t, &["user", "id"]));
    let in_reply_to =
        id_at(t, &["in_reply_to_status_id_str"]).or_else(|| id_at(t, &["in_reply_to_status_id"]));
    let echo = user_id.as_deref() == Some(ours);
    InboundEvent::Message(InboundMessage {
        conversation_key: in_reply_to.is_none().then(|| format!("x:conv:{id}")),
        in_reply_to,
        visibility: Visibility::Public,
        direction: Direction::of_echo(echo),
        author: Author {
            platform_user_id: user_id.unwrap_or_default(),
            handle: str_at(t, &["user", "screen_name"]).map(|s| format!("@{s}")),
            display_name: str_at(t, &["user", "name"]).map(str::to_owned),
        },
        text: text.to_owned(),
        sent_at: millis_at(t, &["timestamp_ms"])
            .or_else(|| v1_created_at(t))
            .or_else(|| snowflake_time(&id))
            .unwrap_or(fallback),
        attachments: media.iter().map(v1_media).collect(),
        platform_message_id: id,
        flags: Vec::new(),
    })
}

/// v1.1 `created_at`: `Wed Oct 10 20:19:24 +0000 2018`.
fn v1_created_at(t: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(str_at(t, &["created_at"])?, "%a %b %d %H:%M:%S %z %Y")
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn v1_media(m: &Value) -> Attachment {
    let kind = media_kind(str_at(m, &["type"]).unwrap_or("media")).to_owned();
    // Videos: the first mp4 variant; photos: the image URL.
    let variant = arr_at(m, &["video_info", "variants"])
        .iter()
        .find(|v| str_at(v, &["content_type"]) == Some("video/mp4"));
    Attachment {
        kind,
        url: variant
            .and_then(|v| str_at(v, &["url"]))
            .or_else(|| str_at(m, &["media_url_https"]))
            .or_else(|| str_at(m, &["media_url"]))
            .map(str::to_owned),
        mime_type: variant.and(Some("video/mp4".to_owned())),
        platform_media_id: id_at(m, &["id_str"]).or_else(|| id_at(m, &["id"])),
        caption: str_at(m, &["ext_alt_text"]).map(str::to_owned),
        filename: None,
    }
}

fn tweet_delete(d: &Value, fallback: DateTime<Utc>) -> InboundEvent {
    match id_at(d, &["status", "id_str"]).or_else(|| id_at(d, &["status", "id"])) {
        Some(id) => InboundEvent::Delete {
            deleted_at: millis_at(d, &["timestamp_ms"]).unwrap_or(fallback),
            platform_message_id: id,
        },
        None => ignored("x tweet_delete_event without status id"),
    }
}

fn direct_message(d: &Value, ours: &str, root: &Value, fallback: DateTime<Utc>) -> InboundEvent {
    let kind = str_at(d, &["type"]).unwrap_or("");
    if kind != "message_create" {
        return ignored(format!("x direct message event '{kind}'"));
    }
    let Some(id) = id_at(d, &["id"]) else {
        return ignored("x direct message without id");
    };
    let mc = d.get("message_create").unwrap_or(&Value::Null);
    let sender = id_at(mc, &["sender_id"]).unwrap_or_default();
    let recipient = id_at(mc, &["target", "recipient_id"]).unwrap_or_default();
    let echo = sender == ours;
    let citizen = if echo { &recipient } else { &sender };
    let user = root.get("users").and_then(|u| u.get(sender.as_str()));
    let attachments = at(mc, &["message_data", "attachment", "media"])
        .map(|m| vec![v1_media(m)])
        .unwrap_or_default();
    InboundEvent::Message(InboundMessage {
        in_reply_to: None,
        conversation_key: (!citizen.is_empty())
            .then(|| format!("x:dm:{}", dm_conversation_id(ours, citizen))),
        visibility: Visibility::Private,
        direction: Direction::of_echo(echo),
        author: Author {
            handle: user
                .and_then(|u| str_at(u, &["screen_name"]))
                .map(|s| format!("@{s}")),
            display_name: user.and_then(|u| str_at(u, &["name"])).map(str::to_owned),
            platform_user_id: sender,
        },
        text: str_at(mc, &["message_data", "text"])
            .unwrap_or("")
            .to_owned(),
        sent_at: millis_at(d, &["created_timestamp"])
            .or_else(|| snowflake_time(&id))
            .unwrap_or(fallback),
        attachments,
        platform_message_id: id,
        flags: Vec::new(),
    })
}
