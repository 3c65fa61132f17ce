//! Meta webhooks: Facebook Page feed, Messenger, Instagram and WhatsApp Business. One entry point,
//! [`parse_meta_webhook`], for a body whose signature was already checked
//! ([`crate::signature::verify_meta_signature`]).
//!
//! Every `entry[]` and every `changes[]`/`messaging[]`/`standby[]` item becomes at least one event,
//! in body order; an item we cannot use becomes `Ignored` with a reason, so nothing disappears
//! silently. Duplicates in one body are kept (the store dedupes per platform id).

mod feed;
mod messaging;
mod whatsapp;

use crate::error::ParseError;
use crate::ignored;
use crate::json::{arr_at, id_at, secs_or_millis_at, str_at};
use chrono::{DateTime, Utc};
use serde_json::Value;
use webcare_domain::inbound::{AddressedEvent, InboundEvent};

/// The `object` of a Meta webhook body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaObject {
    /// Facebook Page: feed changes and Messenger.
    Page,
    Instagram,
    WhatsappBusinessAccount,
}

impl MetaObject {
    pub fn parse(object: &str) -> Option<MetaObject> {
        match object {
            "page" => Some(MetaObject::Page),
            "instagram" => Some(MetaObject::Instagram),
            "whatsapp_business_account" => Some(MetaObject::WhatsappBusinessAccount),
            _ => None,
        }
    }

    /// The kind of channel account a body of this object is addressed to.
    pub fn channel_kind(self) -> webcare_domain::ChannelKind {
        match self {
            MetaObject::Page => webcare_domain::ChannelKind::FacebookPage,
            MetaObject::Instagram => webcare_domain::ChannelKind::Instagram,
            MetaObject::WhatsappBusinessAccount => webcare_domain::ChannelKind::Whatsapp,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MetaObject::Page => "page",
            MetaObject::Instagram => "instagram",
            MetaObject::WhatsappBusinessAccount => "whatsapp_business_account",
        }
    }
}

/// Parses a verified Meta webhook body into events addressed to our channel accounts: the page id
/// or Instagram account id (`entry[].id`), or the WhatsApp `phone_number_id`.
///
/// `received_at` is only a last-resort timestamp for an item that carries no time of its own
/// (neither on the item nor on its entry); the parser itself reads no clock.
///
/// Errors only for malformed JSON, a top level that is not `{"object": …, "entry": […]}`, or an
/// unknown `object`.
pub fn parse_meta_webhook(
    raw_body: &[u8],
    received_at: DateTime<Utc>,
) -> Result<Vec<AddressedEvent>, ParseError> {
    let root: Value = serde_json::from_slice(raw_body).map_err(ParseError::json)?;
    let (object, entries) = envelope(&root)?;
    let mut out = Vec::new();
    for entry in entries {
        match object {
            MetaObject::Page | MetaObject::Instagram => {
                page_entry(object, entry, received_at, &mut out)
            }
            MetaObject::WhatsappBusinessAccount => {
                whatsapp::parse_entry(entry, received_at, &mut out)
            }
        }
    }
    Ok(out)
}

/// The `object` and `entry[]` of a Meta body: the one place that reads the envelope.
fn envelope(root: &Value) -> Result<(MetaObject, &Vec<Value>), ParseError> {
    if !root.is_object() {
        return Err(ParseError::Shape("top level is not a JSON object"));
    }
    let object = root
        .get("object")
        .and_then(Value::as_str)
        .ok_or(ParseError::Shape("missing string field 'object'"))?;
    let object =
        MetaObject::parse(object).ok_or_else(|| ParseError::UnknownObject(object.to_owned()))?;
    let entries = root
        .get("entry")
        .and_then(Value::as_array)
        .ok_or(ParseError::Shape("'entry' is not an array"))?;
    Ok((object, entries))
}

/// Whom a Meta body is addressed to, before it is journaled: its object and the account ids it
/// names (`entry[].id`, or a WhatsApp change's `metadata.phone_number_id`). The webhook checks the
/// signature with these accounts' secrets, so this reads no more than the envelope.
pub fn meta_addressees(
    raw_body: &[u8],
) -> Result<(MetaObject, std::collections::BTreeSet<String>), ParseError> {
    let root: Value = serde_json::from_slice(raw_body).map_err(ParseError::json)?;
    let (object, entries) = envelope(&root)?;
    let mut ids = std::collections::BTreeSet::new();
    for e in entries {
        if object == MetaObject::WhatsappBusinessAccount {
            for c in arr_at(e, &["changes"]) {
                ids.extend(id_at(c, &["value", "metadata", "phone_number_id"]));
            }
        } else {
            ids.extend(id_at(e, &["id"]));
        }
    }
    if ids.is_empty() {
        return Err(ParseError::Shape(
            "the delivery names no account (entry id / phone_number_id)",
        ));
    }
    Ok((object, ids))
}

/// The object of a Meta body, from its envelope only.
pub fn meta_object(raw_body: &[u8]) -> Result<MetaObject, ParseError> {
    let root: Value = serde_json::from_slice(raw_body).map_err(ParseError::json)?;
    Ok(envelope(&root)?.0)
}

fn page_entry(
    object: MetaObject,
    entry: &Value,
    received_at: DateTime<Utc>,
    out: &mut Vec<AddressedEvent>,
) {
    let Some(account) = id_at(entry, &["id"]) else {
        // Cannot be addressed; keep it visible in the log rather than drop it.
        out.push(AddressedEvent {
            account_external_id: String::new(),
            event: ignored(format!("{} entry without id", object.as_str())),
        });
        return;
    };
    let fallback = secs_or_millis_at(entry, &["time"]).unwrap_or(received_at);
    let push = |out: &mut Vec<AddressedEvent>, event: InboundEvent| {
        out.push(AddressedEvent {
            account_external_id: account.clone(),
            event,
        })
    };

    let messaging = arr_at(entry, &["messaging"]);
    let standby = arr_at(entry, &["standby"]);
    let changes = arr_at(entry, &["changes"]);
    for item in messaging.iter().chain(standby) {
        for ev in messaging::parse_item(object, &account, item, fallback) {
            push(out, ev);
        }
    }
    for change in changes {
        let field = str_at(change, &["field"]).unwrap_or("");
        let value = change.get("value").unwrap_or(&Value::Null);
        match (object, field) {
            (MetaObject::Page, "feed") => push(out, feed::parse_feed(&account, value, fallback)),
            (MetaObject::Instagram, "comments" | "live_comments") => push(
                out,
                feed::parse_instagram_comment(&account, value, fallback),
            ),
            // Instagram API with Instagram Login wraps messaging items in `changes`.
            (_, _) if value.get("sender").is_some() => {
                for ev in messaging::parse_item(object, &account, value, fallback) {
                    push(out, ev);
                }
            }
            _ => push(
                out,
                ignored(format!(
                    "{} change field '{field}' not handled",
                    object.as_str()
                )),
            ),
        }
    }
    if messaging.is_empty() && standby.is_empty() && changes.is_empty() {
        push(
            out,
            ignored(format!(
                "{} entry without changes or messaging",
                object.as_str()
            )),
        );
    }
}

#[cfg(test)]
mod addressing_tests {
    use super::*;

    #[test]
    fn addressees_come_from_the_envelope_of_each_object() {
        let page = br#"{"object":"page","entry":[{"id":"104961234567890","time":1},{"id":104961234567891}]}"#;
        let (object, ids) = meta_addressees(page).unwrap();
        assert_eq!(
            object.channel_kind(),
            webcare_domain::ChannelKind::FacebookPage
        );
        assert_eq!(
            ids.into_iter().collect::<Vec<_>>(),
            ["104961234567890", "104961234567891"]
        );
        let wa =
            br#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[
            {"field":"messages","value":{"metadata":{"phone_number_id":"109876543210987"}}}]}]}"#;
        let (object, ids) = meta_addressees(wa).unwrap();
        assert_eq!(object, MetaObject::WhatsappBusinessAccount);
        assert_eq!(ids.into_iter().collect::<Vec<_>>(), ["109876543210987"]);
        assert_eq!(
            meta_object(wa).unwrap(),
            MetaObject::WhatsappBusinessAccount
        );
    }

    #[test]
    fn a_body_that_names_no_account_or_object_is_refused() {
        for body in [
            &br#"{"object":"page","entry":[{"time":1}]}"#[..],
            br#"{"object":"shop","entry":[{"id":"1"}]}"#,
            br#"{"entry":[{"id":"1"}]}"#,
            br#"[]"#,
            br#"{"object":"page""#,
        ] {
            assert!(
                meta_addressees(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
