//! X API v2 responses read by the pollers: mentions timeline, DM events and tweet lookup.

use super::errors::{errors_in, XApiError};
use super::{dm_conversation_id, media_kind, snowflake_time};
use crate::error::ParseError;
use crate::ignored;
use crate::json::{arr_at, id_at, int_at, rfc3339_at, str_at};
use chrono::{DateTime, Utc};
use serde_json::Value;
use webcare_domain::inbound::{Attachment, Author, InboundEvent, InboundMessage};
use webcare_domain::model::{Direction, Visibility};

/// One page of `GET /2/users/:id/mentions`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MentionsPage {
    /// One event per post, in response order (newest first).
    pub events: Vec<InboundEvent>,
    /// Store it as the next poll's `since_id` once the page is stored.
    pub newest_id: Option<String>,
    pub oldest_id: Option<String>,
    /// Absent on the last page.
    pub next_token: Option<String>,
    pub result_count: u64,
    /// Partial errors that came with a 200.
    pub errors: Vec<XApiError>,
}

/// One page of `GET /2/dm_events` (or `/2/dm_conversations/with/:id/dm_events`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DmEventsPage {
    pub events: Vec<InboundEvent>,
    pub next_token: Option<String>,
    pub result_count: u64,
    pub errors: Vec<XApiError>,
}

/// The `includes` lookups of a v2 response.
struct Includes<'a> {
    users: &'a [Value],
    media: &'a [Value],
}

impl<'a> Includes<'a> {
    fn of(root: &'a Value) -> Self {
        Includes {
            users: arr_at(root, &["includes", "users"]),
            media: arr_at(root, &["includes", "media"]),
        }
    }

    fn author(&self, user_id: Option<String>) -> Author {
        let user = user_id
            .as_deref()
            .and_then(|id| self.users.iter().find(|u| str_at(u, &["id"]) == Some(id)));
        Author {
            handle: user
                .and_then(|u| str_at(u, &["username"]))
                .map(|s| format!("@{s}")),
            display_name: user.and_then(|u| str_at(u, &["name"])).map(str::to_owned),
            platform_user_id: user_id.unwrap_or_default(),
        }
    }

    fn attachments(&self, item: &Value) -> Vec<Attachment> {
        arr_at(item, &["attachments", "media_keys"])
            .iter()
            .filter_map(Value::as_str)
            .map(|key| {
                let m = self
                    .media
                    .iter()
                    .find(|m| str_at(m, &["media_key"]) == Some(key));
                media(key, m)
            })
            .collect()
    }
}

fn media(key: &str, m: Option<&Value>) -> Attachment {
    let m = m.unwrap_or(&Value::Null);
    let variant = arr_at(m, &["variants"])
        .iter()
        .find(|v| str_at(v, &["content_type"]) == Some("video/mp4"));
    Attachment {
        kind: media_kind(str_at(m, &["type"]).unwrap_or("media")).to_owned(),
        url: str_at(m, &["url"])
            .or_else(|| variant.and_then(|v| str_at(v, &["url"])))
            .or_else(|| str_at(m, &["preview_image_url"]))
            .map(str::to_owned),
        mime_type: variant.and(Some("video/mp4".to_owned())),
        platform_media_id: Some(key.to_owned()),
        caption: str_at(m, &["alt_text"]).map(str::to_owned),
        filename: None,
    }
}

fn parse_root(raw_body: &[u8]) -> Result<Value, ParseError> {
    let root: Value = serde_json::from_slice(raw_body).map_err(ParseError::json)?;
    if root.is_object() {
        Ok(root)
    } else {
        Err(ParseError::Shape("top level is not a JSON object"))
    }
}

fn count(root: &Value) -> u64 {
    int_at(root, &["meta", "result_count"])
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0)
}

/// Parses a mentions page. `our_user_id` marks our own posts as echoes.
pub fn parse_mentions_page(raw_body: &[u8], our_user_id: &str) -> Result<MentionsPage, ParseError> {
    let root = parse_root(raw_body)?;
    let inc = Includes::of(&root);
    Ok(MentionsPage {
        events: arr_at(&root, &["data"])
            .iter()
            .map(|t| post(t, &inc, our_user_id))
            .collect(),
        newest_id: id_at(&root, &["meta", "newest_id"]),
        oldest_id: id_at(&root, &["meta", "oldest_id"]),
        next_token: str_at(&root, &["meta", "next_token"]).map(str::to_owned),
        result_count: count(&root),
        errors: errors_in(&root),
    })
}

/// One v2 post. An edited post (its id is not the first of `edit_history_tweet_ids`) is an `Edit`
/// of the original id: timelines return only the latest version, with a new id.
fn post(t: &Value, inc: &Includes, ours: &str) -> InboundEvent {
    let Some(id) = id_at(t, &["id"]) else {
        return ignored("x post without id");
    };
    let referenced = |kind: &str| {
        arr_at(t, &["referenced_tweets"])
            .iter()
            .find(|r| str_at(r, &["type"]) == Some(kind))
            .and_then(|r| id_at(r, &["id"]))
    };
    if referenced("retweeted").is_some() {
        return ignored(format!("x retweet {id}"));
    }
    let text = str_at(t, &["note_tweet", "text"])
        .or_else(|| str_at(t, &["text"]))
        .unwrap_or("")
        .to_owned();
    let sent_at = rfc3339_at(t, &["created_at"])
        .or_else(|| snowflake_time(&id))
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let history = arr_at(t, &["edit_history_tweet_ids"]);
    if history.len() > 1 {
        if let Some(original) = history.first().and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }) {
            if original != id {
                return InboundEvent::Edit {
                    platform_message_id: original,
                    new_platform_message_id: Some(id),
                    text,
                    edited_at: sent_at,
                };
            }
        }
    }
    let author_id = id_at(t, &["author_id"]);
    let echo = author_id.as_deref() == Some(ours);
    let in_reply_to = referenced("replied_to");
    let conversation_key = match id_at(t, &["conversation_id"]) {
        Some(conv) => Some(format!("x:conv:{conv}")),
        None if in_reply_to.is_none() => Some(format!("x:conv:{id}")),
        None => None,
    };
    InboundEvent::Message(InboundMessage {
        platform_message_id: id,
        in_reply_to,
        conversation_key,
        visibility: Visibility::Public,
        direction: Direction::of_echo(echo),
        author: inc.author(author_id),
        text,
        sent_at,
        attachments: inc.attachments(t),
        flags: Vec::new(),
    })
}

/// Parses a DM events page: `MessageCreate` events become messages (ours are echoes); join/leave
/// events are `Ignored`.
pub fn parse_dm_events_page(
    raw_body: &[u8],
    our_user_id: &str,
) -> Result<DmEventsPage, ParseError> {
    let root = parse_root(raw_body)?;
    let inc = Includes::of(&root);
    Ok(DmEventsPage {
        events: arr_at(&root, &["data"])
            .iter()
            .map(|e| dm_event(e, &inc, our_user_id))
            .collect(),
        next_token: str_at(&root, &["meta", "next_token"]).map(str::to_owned),
        result_count: count(&root),
        errors: errors_in(&root),
    })
}

fn dm_event(e: &Value, inc: &Includes, ours: &str) -> InboundEvent {
    let kind = str_at(e, &["event_type"]).unwrap_or("");
    if kind != "MessageCreate" {
        return ignored(format!("x dm event '{kind}'"));
    }
    let Some(id) = id_at(e, &["id"]) else {
        return ignored("x dm event without id");
    };
    let sender = id_at(e, &["sender_id"]);
    let echo = sender.as_deref() == Some(ours);
    // Prefer X's own conversation id; rebuild the one-to-one form when it is missing.
    let citizen = if echo {
        arr_at(e, &["participant_ids"])
            .iter()
            .filter_map(Value::as_str)
            .find(|p| *p != ours)
            .map(str::to_owned)
    } else {
        sender.clone()
    };
    let conversation_key = str_at(e, &["dm_conversation_id"])
        .map(str::to_owned)
        .or_else(|| citizen.map(|c| dm_conversation_id(ours, &c)))
        .map(|c| format!("x:dm:{c}"));
    InboundEvent::Message(InboundMessage {
        in_reply_to: None,
        conversation_key,
        visibility: Visibility::Private,
        direction: Direction::of_echo(echo),
        author: inc.author(sender),
        text: str_at(e, &["text"]).unwrap_or("").to_owned(),
        sent_at: rfc3339_at(e, &["created_at"])
            .or_else(|| snowflake_time(&id))
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
        attachments: inc.attachments(e),
        platform_message_id: id,
        flags: Vec::new(),
    })
}

/// Ids that `GET /2/tweets?ids=…` reports as `resource-not-found` (deleted, or never existed):
/// the delete check for open cases, since polling never reports deletes.
pub fn parse_tweet_lookup_missing(raw_body: &[u8]) -> Result<Vec<String>, ParseError> {
    let root = parse_root(raw_body)?;
    Ok(errors_in(&root)
        .into_iter()
        .filter(|e| e.is_resource_not_found())
        .filter(|e| {
            e.resource_type
                .as_deref()
                .is_none_or(|t| t == "tweet" || t == "post")
        })
        .filter_map(|e| e.resource_id.or(e.value))
        .collect())
}
