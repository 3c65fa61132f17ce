//! WhatsApp Business Cloud API `messages` changes: inbound messages of every type and the statuses
//! of our own sends. Addressed by `metadata.phone_number_id`; the conversation key is the contact,
//! `whatsapp:{wa_id}` (the business-scoped `from_user_id` when `from` is absent).

use crate::ignored;
use crate::json::{arr_at, at, id_at, secs_at, str_at};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;
use webcare_domain::inbound::{
    AddressedEvent, Attachment, Author, DeliveryState, InboundEvent, InboundMessage,
};
use webcare_domain::model::{Direction, Visibility};

const MEDIA_TYPES: &[&str] = &["image", "video", "audio", "voice", "document", "sticker"];

pub(crate) fn parse_entry(
    entry: &Value,
    received_at: DateTime<Utc>,
    out: &mut Vec<AddressedEvent>,
) {
    let waba_id = id_at(entry, &["id"]).unwrap_or_default();
    let changes = arr_at(entry, &["changes"]);
    if changes.is_empty() {
        out.push(AddressedEvent {
            account_external_id: waba_id.clone(),
            event: ignored("whatsapp entry without changes"),
        });
    }
    for change in changes {
        let value = change.get("value").unwrap_or(&Value::Null);
        // Account-level fields (template status, quality updates) have no phone number: address
        // them to the WABA id so they are still logged.
        let account =
            id_at(value, &["metadata", "phone_number_id"]).unwrap_or_else(|| waba_id.clone());
        let mut push = |event| {
            out.push(AddressedEvent {
                account_external_id: account.clone(),
                event,
            })
        };
        let field = str_at(change, &["field"]).unwrap_or("");
        if field != "messages" {
            push(ignored(format!(
                "whatsapp change field '{field}' not handled"
            )));
            continue;
        }
        let names = contact_names(value);
        let messages = arr_at(value, &["messages"]);
        let statuses = arr_at(value, &["statuses"]);
        for m in messages {
            push(message(m, &names, received_at));
        }
        for s in statuses {
            push(status(s, received_at));
        }
        for e in arr_at(value, &["errors"]) {
            push(ignored(format!("whatsapp error: {}", error_text(e))));
        }
        if messages.is_empty() && statuses.is_empty() && arr_at(value, &["errors"]).is_empty() {
            push(ignored(
                "whatsapp messages change without messages or statuses",
            ));
        }
    }
}

/// Display names by `wa_id` and by business-scoped `user_id`.
fn contact_names(value: &Value) -> HashMap<String, String> {
    let mut names = HashMap::new();
    for c in arr_at(value, &["contacts"]) {
        if let Some(name) = str_at(c, &["profile", "name"]) {
            for key in ["wa_id", "user_id"] {
                if let Some(id) = id_at(c, &[key]) {
                    names.insert(id, name.to_owned());
                }
            }
        }
    }
    names
}

/// What a message says, whatever its type.
#[derive(Default)]
struct Content {
    text: String,
    attachments: Vec<Attachment>,
}

fn message(m: &Value, names: &HashMap<String, String>, fallback: DateTime<Utc>) -> InboundEvent {
    let Some(id) = str_at(m, &["id"]) else {
        return ignored("whatsapp message without id");
    };
    let Some(from) = id_at(m, &["from"]).or_else(|| id_at(m, &["from_user_id"])) else {
        return ignored("whatsapp message without sender");
    };
    let kind = str_at(m, &["type"]).unwrap_or("");
    let mut content = match content(kind, m) {
        Ok(c) => c,
        Err(reason) => return ignored(reason),
    };
    if let Some(r) = m.get("referral") {
        content.attachments.push(referral(r));
    }
    InboundEvent::Message(InboundMessage {
        platform_message_id: id.to_owned(),
        in_reply_to: str_at(m, &["context", "id"]).map(str::to_owned),
        conversation_key: Some(format!("whatsapp:{from}")),
        visibility: Visibility::Private,
        direction: Direction::Inbound,
        author: Author {
            display_name: names.get(&from).cloned(),
            platform_user_id: from,
            handle: None,
        },
        text: content.text,
        sent_at: secs_at(m, &["timestamp"]).unwrap_or(fallback),
        attachments: content.attachments,
        flags: Vec::new(),
    })
}

/// The content of one message type, or the reason it is not content.
fn content(kind: &str, m: &Value) -> Result<Content, String> {
    let text_of = |path: &[&str]| str_at(m, path).unwrap_or("").to_owned();
    Ok(match kind {
        "text" => Content {
            text: text_of(&["text", "body"]),
            ..Content::default()
        },
        k if MEDIA_TYPES.contains(&k) => {
            let media = m.get(k).unwrap_or(&Value::Null);
            let caption = str_at(media, &["caption"]).map(str::to_owned);
            Content {
                text: caption.clone().unwrap_or_default(),
                attachments: vec![Attachment {
                    kind: k.to_owned(),
                    url: str_at(media, &["url"]).map(str::to_owned),
                    mime_type: str_at(media, &["mime_type"]).map(str::to_owned),
                    platform_media_id: id_at(media, &["id"]),
                    caption,
                    filename: str_at(media, &["filename"]).map(str::to_owned),
                }],
            }
        }
        "location" => location(m.get("location").unwrap_or(&Value::Null)),
        "contacts" => contacts(arr_at(m, &["contacts"])),
        "interactive" => Content {
            text: str_at(m, &["interactive", "button_reply", "title"])
                .or_else(|| str_at(m, &["interactive", "list_reply", "title"]))
                .or_else(|| str_at(m, &["interactive", "nfm_reply", "body"]))
                .unwrap_or("")
                .to_owned(),
            ..Content::default()
        },
        "button" => Content {
            text: str_at(m, &["button", "text"])
                .or_else(|| str_at(m, &["button", "payload"]))
                .unwrap_or("")
                .to_owned(),
            ..Content::default()
        },
        "order" => {
            let items = arr_at(m, &["order", "product_items"]).len();
            let text = text_of(&["order", "text"]);
            Content {
                text: if text.is_empty() {
                    format!("[order: {items} item(s)]")
                } else {
                    text
                },
                ..Content::default()
            }
        }
        // A click-to-WhatsApp ad: the citizen's text is the message; the ad is attached below.
        "referral" => Content {
            text: text_of(&["text", "body"]),
            ..Content::default()
        },
        "reaction" => {
            let target = str_at(m, &["reaction", "message_id"]).unwrap_or("?");
            return Err(format!("whatsapp reaction to {target}"));
        }
        // System notices (number changed, ...) can hold phone numbers: log the subtype only.
        "system" => {
            let sub = str_at(m, &["system", "type"]).unwrap_or("unknown");
            return Err(format!("whatsapp system message ({sub})"));
        }
        other => {
            let why = arr_at(m, &["errors"])
                .first()
                .map(|e| format!(": {}", error_text(e)))
                .unwrap_or_default();
            let other = if other.is_empty() { "missing" } else { other };
            return Err(format!(
                "whatsapp message type '{other}' not supported{why}"
            ));
        }
    })
}

fn location(loc: &Value) -> Content {
    let name = str_at(loc, &["name"]);
    let address = str_at(loc, &["address"]);
    let text = [name, address]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    let coord = |k| {
        at(loc, &[k])
            .filter(|v| v.is_number() || v.is_string())
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
    };
    let geo = coord("latitude")
        .zip(coord("longitude"))
        .map(|(lat, long)| format!("geo:{lat},{long}"));
    Content {
        text,
        attachments: vec![Attachment {
            kind: "location".to_owned(),
            url: geo.or_else(|| str_at(loc, &["url"]).map(str::to_owned)),
            caption: name.map(str::to_owned),
            ..Attachment::default()
        }],
    }
}

/// Shared contact cards: one attachment per card; the text lists name and numbers so the agent
/// sees them without opening anything.
fn contacts(cards: &[Value]) -> Content {
    let mut lines = Vec::new();
    let mut attachments = Vec::new();
    for card in cards {
        let name = str_at(card, &["name", "formatted_name"])
            .or_else(|| str_at(card, &["name", "first_name"]))
            .unwrap_or("");
        let phones: Vec<&str> = arr_at(card, &["phones"])
            .iter()
            .filter_map(|p| str_at(p, &["phone"]).or_else(|| str_at(p, &["wa_id"])))
            .collect();
        lines.push(match (name.is_empty(), phones.is_empty()) {
            (_, true) => name.to_owned(),
            (true, false) => phones.join(", "),
            (false, false) => format!("{name}: {}", phones.join(", ")),
        });
        attachments.push(Attachment {
            kind: "contacts".to_owned(),
            url: phones.first().map(|p| format!("tel:{p}")),
            caption: (!name.is_empty()).then(|| name.to_owned()),
            ..Attachment::default()
        });
    }
    Content {
        text: lines.join("\n"),
        attachments,
    }
}

fn referral(r: &Value) -> Attachment {
    Attachment {
        kind: "referral".to_owned(),
        url: str_at(r, &["source_url"]).map(str::to_owned),
        platform_media_id: id_at(r, &["source_id"]),
        caption: str_at(r, &["headline"]).map(str::to_owned),
        ..Attachment::default()
    }
}

fn status(s: &Value, fallback: DateTime<Utc>) -> InboundEvent {
    let Some(id) = str_at(s, &["id"]) else {
        return ignored("whatsapp status without id");
    };
    let state = match str_at(s, &["status"]).unwrap_or("") {
        "sent" => DeliveryState::Sent,
        "delivered" => DeliveryState::Delivered,
        // `played` is a voice message listened to: as good as read.
        "read" | "played" => DeliveryState::Read,
        "failed" => DeliveryState::Failed,
        other => return ignored(format!("whatsapp status '{other}' not handled")),
    };
    InboundEvent::Status {
        platform_message_id: id.to_owned(),
        state,
        at: secs_at(s, &["timestamp"]).unwrap_or(fallback),
        error: arr_at(s, &["errors"]).first().map(error_text),
    }
}

/// `"{code} {title}: {details}"`, e.g. `131047 Re-engagement message: Message failed to send because …`.
pub(crate) fn error_text(e: &Value) -> String {
    let code = id_at(e, &["code"]);
    let title = str_at(e, &["title"]).or_else(|| str_at(e, &["message"]));
    let details = str_at(e, &["error_data", "details"])
        .or_else(|| str_at(e, &["message"]))
        .filter(|d| Some(*d) != title);
    let head = match (code, title) {
        (Some(c), Some(t)) => format!("{c} {t}"),
        (Some(c), None) => c,
        (None, Some(t)) => t.to_owned(),
        (None, None) => "unknown error".to_owned(),
    };
    match details {
        Some(d) => format!("{head}: {d}"),
        None => head,
    }
}
