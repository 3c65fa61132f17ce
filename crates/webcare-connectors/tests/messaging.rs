//! Messenger (`object: page`, `messaging[]`/`standby[]`) and Instagram messaging.
mod common;

use common::*;
use webcare_connectors::meta::parse_meta_webhook;
use webcare_domain::inbound::{Attachment, DeliveryState, InboundEvent};
use webcare_domain::model::{Direction, Visibility};

const PAGE: &str = "104961234567890";
const PSID: &str = "7654321098765432";
const MS: i64 = 1773139267212;
const IG: &str = "17841400000000001";
const IGSID: &str = "1023456789012345";

fn messenger() -> Vec<webcare_domain::inbound::AddressedEvent> {
    parse_meta_webhook(&fixture("messenger_batch.json"), received_at()).unwrap()
}

fn instagram() -> Vec<webcare_domain::inbound::AddressedEvent> {
    parse_meta_webhook(&fixture("instagram_batch.json"), received_at()).unwrap()
}

#[test]
fn messenger_batch_shape() {
    let b = messenger();
    assert_eq!(b.len(), 10);
    assert!(b.iter().all(|a| a.account_external_id == PAGE));
}

#[test]
fn messenger_message_with_attachment_and_reply_to() {
    let b = messenger();
    let m = message(&b[0].event);
    assert_eq!(m.platform_message_id, "m_AbC1");
    assert_eq!(
        m.conversation_key.as_deref(),
        Some("messenger:7654321098765432")
    );
    assert_eq!(m.in_reply_to.as_deref(), Some("m_Prev0"));
    assert_eq!(m.visibility, Visibility::Private);
    assert_eq!(m.direction, Direction::Inbound);
    assert_eq!(m.author.platform_user_id, PSID);
    assert_eq!(m.sent_at, millis(MS), "timestamp is epoch milliseconds");
    assert_eq!(
        m.text,
        format!("Goedemiddag, mijn paspoort {ARABIC} verloopt {HEART_ON_FIRE}")
    );
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].kind, "image");
    assert!(m.attachments[0]
        .url
        .as_deref()
        .unwrap()
        .starts_with("https://lookaside"));
}

#[test]
fn messenger_echo_is_outbound_keyed_on_the_recipient() {
    let b = messenger();
    let m = message(&b[1].event);
    assert_eq!(m.direction, Direction::Outbound);
    assert_eq!(m.author.platform_user_id, PAGE);
    assert_eq!(
        m.conversation_key.as_deref(),
        Some("messenger:7654321098765432")
    );
}

#[test]
fn messenger_edit_delivery_read_postback_reaction() {
    let b = messenger();
    assert_eq!(
        b[2].event,
        InboundEvent::Edit {
            platform_message_id: "m_AbC1".into(),
            new_platform_message_id: None,
            text: "Goedemiddag, mijn ID-kaart verloopt".into(),
            edited_at: millis(MS + 2000),
        }
    );
    for (i, mid) in [(3, "m_Echo1"), (4, "m_Echo0")] {
        assert_eq!(
            b[i].event,
            InboundEvent::Status {
                platform_message_id: mid.into(),
                state: DeliveryState::Delivered,
                at: millis(MS + 3000),
                error: None,
            }
        );
    }
    assert!(ignored_reason(&b[5].event).contains("read watermark"));
    let pb = message(&b[6].event);
    assert_eq!(pb.platform_message_id, "m_Pb1");
    assert_eq!(pb.text, "Afspraak maken");
    assert!(ignored_reason(&b[7].event).contains("reaction"));
}

#[test]
fn messenger_location_and_standby() {
    let b = messenger();
    let loc = message(&b[8].event);
    assert_eq!(loc.text, "");
    assert_eq!(
        loc.attachments,
        vec![Attachment {
            kind: "location".into(),
            url: Some("geo:52.0907,5.1214".into()),
            ..Attachment::default()
        }]
    );
    let standby = message(&b[9].event);
    assert_eq!(standby.platform_message_id, "m_Standby1");
    assert_eq!(
        standby.conversation_key.as_deref(),
        Some("messenger:7654321098765432")
    );
}

#[test]
fn postback_without_mid_gets_a_stable_id() {
    let body = br#"{"object":"page","entry":[{"id":"1","time":1,"messaging":[
        {"sender":{"id":"42"},"recipient":{"id":"1"},"timestamp":1773139267212,"postback":{"payload":"START"}}]}]}"#;
    let a = parse_meta_webhook(body, received_at()).unwrap();
    let b = parse_meta_webhook(body, received_at()).unwrap();
    assert_eq!(a, b);
    let m = message(&a[0].event);
    assert_eq!(m.platform_message_id, "postback:42:1773139267212");
    assert_eq!(m.text, "START");
}

#[test]
fn instagram_message_duplicate_unsend_and_seen() {
    let b = instagram();
    assert_eq!(b.len(), 7);
    assert!(b.iter().all(|a| a.account_external_id == IG));
    let m = message(&b[0].event);
    assert_eq!(
        m.conversation_key.as_deref(),
        Some(format!("instagram:{IGSID}").as_str())
    );
    assert_eq!(
        m.text,
        format!("Mag ik hier een klacht indienen? {THUMB_MEDIUM}")
    );
    assert_eq!(
        message(&b[1].event).platform_message_id,
        m.platform_message_id
    );
    assert_eq!(
        b[2].event,
        InboundEvent::Delete {
            platform_message_id: m.platform_message_id.clone(),
            deleted_at: millis(MS + 100),
        }
    );
    assert_eq!(
        b[3].event,
        InboundEvent::Status {
            platform_message_id: "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjk5OTk".into(),
            state: DeliveryState::Read,
            at: millis(MS + 200),
            error: None,
        }
    );
}

#[test]
fn instagram_story_reply_keeps_the_story_and_echo_is_outbound() {
    let b = instagram();
    let m = message(&b[4].event);
    assert_eq!(m.text, "Waar is dit?");
    assert_eq!(
        m.attachments,
        vec![Attachment {
            kind: "story".into(),
            url: Some("https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=story1".into()),
            platform_media_id: Some("18012345678901234".into()),
            ..Attachment::default()
        }]
    );
    let echo = message(&b[5].event);
    assert_eq!(echo.direction, Direction::Outbound);
    assert_eq!(
        echo.conversation_key.as_deref(),
        Some(format!("instagram:{IGSID}").as_str())
    );
}

#[test]
fn instagram_comment_change_is_a_public_message() {
    let b = instagram();
    let m = message(&b[6].event);
    assert_eq!(m.visibility, Visibility::Public);
    assert_eq!(m.author.handle.as_deref(), Some("@buurtbewoner"));
    assert_eq!(
        m.conversation_key.as_deref(),
        Some("ig:17900000000000001:17841455555555555")
    );
    assert_eq!(
        m.sent_at,
        secs(1773139300),
        "entry time fallback, in seconds"
    );
}

#[test]
fn instagram_messages_wrapped_in_changes() {
    let body = br#"{"object":"instagram","entry":[{"id":"17841400000000001","time":1773139267,"changes":[
        {"field":"messages","value":{"sender":{"id":"99"},"recipient":{"id":"17841400000000001"},"timestamp":"1773139267212",
        "message":{"mid":"m1","text":"hoi"}}}]}]}"#;
    let b = parse_meta_webhook(body, received_at()).unwrap();
    let m = message(&b[0].event);
    assert_eq!(m.conversation_key.as_deref(), Some("instagram:99"));
    assert_eq!(m.sent_at, millis(1773139267212));
}

#[test]
fn odd_messaging_items_are_ignored_not_errors() {
    let body = br#"{"object":"page","entry":[{"id":"1","messaging":[
        {"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"message":{"text":"no mid"}},
        {"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"message":{"mid":"m","is_unsupported":true}},
        {"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"delivery":{"watermark":5}},
        {"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"optin":{"ref":"x"}},
        {"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"message_edit":{"text":"x"}},
        {"weird":true}, 42, null]}]}"#;
    let b = parse_meta_webhook(body, received_at()).unwrap();
    assert_eq!(b.len(), 8);
    assert!(b.iter().all(|a| is_ignored(&a.event)), "{b:?}");
    assert!(ignored_reason(&b[3].event).contains("optin"));
}
