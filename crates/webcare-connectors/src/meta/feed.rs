//! Facebook Page `feed` changes (comments and visitor posts) and Instagram `comments` changes.
//!
//! Threading: a comment thread on one post is one case per citizen, so the conversation key is
//! `fb:{post_id}:{author id}`; a reply to a comment also names its parent in `in_reply_to` (a
//! top-level comment has `parent_id == post_id` and no parent message). The page's own comments are
//! echoes (`Outbound`) without a conversation key: the citizen they answer is not in the payload, so
//! they thread through `in_reply_to` only.

use crate::ignored;
use crate::json::{arr_at, id_at, secs_or_millis_at, str_at};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;
use webcare_domain::inbound::{Attachment, Author, InboundEvent, InboundMessage};
use webcare_domain::model::{Direction, Visibility};

/// One `field: "feed"` change value.
pub(crate) fn parse_feed(page_id: &str, value: &Value, fallback: DateTime<Utc>) -> InboundEvent {
    let item = str_at(value, &["item"]).unwrap_or("");
    let verb = str_at(value, &["verb"]).unwrap_or("");
    let at = created_time(value).unwrap_or(fallback);
    match item {
        "comment" => {
            let Some(id) = str_at(value, &["comment_id"]) else {
                return ignored(format!("feed comment {verb} without comment_id"));
            };
            lifecycle(item, verb, id, value, at)
                .unwrap_or_else(|| comment_added(page_id, id, value, at))
        }
        "status" | "post" | "photo" | "video" | "share" => {
            let Some(id) = str_at(value, &["post_id"]) else {
                return ignored(format!("feed {item} {verb} without post_id"));
            };
            lifecycle(item, verb, id, value, at)
                .unwrap_or_else(|| post_added(page_id, item, id, value, at))
        }
        "reaction" | "like" => ignored(format!("feed {item} {verb}")),
        "" => ignored("feed change without item"),
        other => ignored(format!("feed item '{other}' not handled")),
    }
}

/// Edits, removals and moderation verbs, shared by comments and posts; `None` for `add`.
fn lifecycle(
    item: &str,
    verb: &str,
    id: &str,
    value: &Value,
    at: DateTime<Utc>,
) -> Option<InboundEvent> {
    Some(match verb {
        "add" => return None,
        "edited" | "edit" => InboundEvent::Edit {
            platform_message_id: id.to_owned(),
            new_platform_message_id: None,
            text: str_at(value, &["message"]).unwrap_or("").to_owned(),
            edited_at: at,
        },
        "remove" | "delete" => InboundEvent::Delete {
            platform_message_id: id.to_owned(),
            deleted_at: at,
        },
        "hide" | "unhide" => ignored(format!("feed {item} {verb}: moderation only")),
        "" => ignored(format!("feed {item} without verb")),
        other => ignored(format!("feed {item} verb '{other}' not handled")),
    })
}

fn comment_added(page_id: &str, id: &str, value: &Value, at: DateTime<Utc>) -> InboundEvent {
    let post_id = str_at(value, &["post_id"]);
    let from_id = id_at(value, &["from", "id"]);
    let echo = from_id.as_deref() == Some(page_id);
    let in_reply_to = str_at(value, &["parent_id"])
        .filter(|parent| Some(*parent) != post_id && *parent != id)
        .map(str::to_owned);
    let conversation_key = match (echo, post_id, &from_id) {
        (false, Some(post), Some(from)) => Some(format!("fb:{post}:{from}")),
        _ => None,
    };
    let mut attachments = Vec::new();
    media_url(value, "photo", "image", &mut attachments);
    media_url(value, "video", "video", &mut attachments);
    InboundEvent::Message(InboundMessage {
        platform_message_id: id.to_owned(),
        in_reply_to,
        conversation_key,
        visibility: Visibility::Public,
        direction: Direction::of_echo(echo),
        author: author(value, from_id),
        text: str_at(value, &["message"]).unwrap_or("").to_owned(),
        sent_at: at,
        attachments,
        flags: Vec::new(),
    })
}

/// A visitor post on the page. The page's own posts are not messages: they never start a case,
/// and comments on them carry the post id themselves.
fn post_added(
    page_id: &str,
    item: &str,
    id: &str,
    value: &Value,
    at: DateTime<Utc>,
) -> InboundEvent {
    let from_id = id_at(value, &["from", "id"]);
    if from_id.as_deref() == Some(page_id) {
        return ignored(format!("page's own {item} post"));
    }
    let mut attachments = Vec::new();
    let link_kind = match item {
        "photo" => Some("image"),
        "video" => Some("video"),
        "share" => Some("link"),
        _ => None,
    };
    if let Some(kind) = link_kind {
        if let Some(url) = str_at(value, &["link"]) {
            attachments.push(Attachment {
                kind: kind.to_owned(),
                url: Some(url.to_owned()),
                platform_media_id: str_at(value, &["photo_id"])
                    .or_else(|| str_at(value, &["video_id"]))
                    .map(str::to_owned),
                ..Attachment::default()
            });
        }
    }
    media_url(value, "photo", "image", &mut attachments);
    media_url(value, "video", "video", &mut attachments);
    for url in arr_at(value, &["photos"]).iter().filter_map(Value::as_str) {
        attachments.push(url_attachment("image", url));
    }
    InboundEvent::Message(InboundMessage {
        platform_message_id: id.to_owned(),
        in_reply_to: None,
        conversation_key: from_id.as_ref().map(|from| format!("fb:{id}:{from}")),
        visibility: Visibility::Public,
        direction: Direction::Inbound,
        author: author(value, from_id),
        text: str_at(value, &["message"]).unwrap_or("").to_owned(),
        sent_at: at,
        attachments,
        flags: Vec::new(),
    })
}

/// One Instagram `comments` change: `{"from":{"id","username"},"media":{"id"},"id","parent_id"?,"text"}`.
/// Same threading as Facebook: `ig:{media_id}:{author}` per citizen per post.
pub(crate) fn parse_instagram_comment(
    account: &str,
    value: &Value,
    fallback: DateTime<Utc>,
) -> InboundEvent {
    let Some(id) = str_at(value, &["id"]) else {
        return ignored("instagram comment without id");
    };
    let from_id = id_at(value, &["from", "id"]);
    let echo = from_id.as_deref() == Some(account);
    let media_id = str_at(value, &["media", "id"]);
    let conversation_key = match (echo, media_id, &from_id) {
        (false, Some(media), Some(from)) => Some(format!("ig:{media}:{from}")),
        _ => None,
    };
    InboundEvent::Message(InboundMessage {
        platform_message_id: id.to_owned(),
        in_reply_to: str_at(value, &["parent_id"]).map(str::to_owned),
        conversation_key,
        visibility: Visibility::Public,
        direction: Direction::of_echo(echo),
        author: Author {
            platform_user_id: from_id.unwrap_or_default(),
            handle: str_at(value, &["from", "username"]).map(|u| format!("@{u}")),
            display_name: None,
        },
        text: str_at(value, &["text"]).unwrap_or("").to_owned(),
        sent_at: created_time(value).unwrap_or(fallback),
        attachments: Vec::new(),
        flags: Vec::new(),
    })
}

/// Facebook does not give page-scoped handles; `from` may be absent when the app lacks permission
/// to see the commenter, which leaves an empty platform user id (anonymous).
fn author(value: &Value, from_id: Option<String>) -> Author {
    Author {
        platform_user_id: from_id.unwrap_or_default(),
        handle: None,
        display_name: str_at(value, &["from", "name"]).map(str::to_owned),
    }
}

fn media_url(value: &Value, field: &str, kind: &str, out: &mut Vec<Attachment>) {
    if let Some(url) = str_at(value, &[field]) {
        if !out.iter().any(|a| a.url.as_deref() == Some(url)) {
            out.push(url_attachment(kind, url));
        }
    }
}

fn url_attachment(kind: &str, url: &str) -> Attachment {
    Attachment {
        kind: kind.to_owned(),
        url: Some(url.to_owned()),
        ..Attachment::default()
    }
}

/// `created_time`: epoch seconds, but older payloads used `2024-03-10T08:40:00+0000`.
fn created_time(value: &Value) -> Option<DateTime<Utc>> {
    secs_or_millis_at(value, &["created_time"]).or_else(|| {
        let s = str_at(value, &["created_time"])?;
        DateTime::parse_from_rfc3339(s)
            .ok()
            .or_else(|| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z").ok())
            .map(|d| d.with_timezone(&Utc))
            .or_else(|| {
                NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
                    .ok()
                    .map(|n| n.and_utc())
            })
    })
}
