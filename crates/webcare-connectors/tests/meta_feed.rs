mod common;

use common::*;
use webcare_connectors::meta::parse_meta_webhook;
use webcare_domain::inbound::{Attachment, InboundEvent};
use webcare_domain::model::{Direction, Visibility};

const PAGE: &str = "104961234567890";
const POST: &str = "104961234567890_822112233445566";

fn batch() -> Vec<webcare_domain::inbound::AddressedEvent> {
    parse_meta_webhook(&fixture("meta_feed_batch.json"), received_at()).unwrap()
}

#[test]
fn every_change_of_every_entry_becomes_one_event_in_order() {
    let b = batch();
    assert_eq!(b.len(), 12);
    assert!(b.iter().all(|a| a.account_external_id == PAGE));
}

#[test]
fn top_level_comment_is_one_case_per_citizen_per_post() {
    let b = batch();
    let m = message(&b[0].event);
    assert_eq!(m.platform_message_id, "822112233445566_1200001");
    assert_eq!(
        m.in_reply_to, None,
        "parent_id == post_id: no parent message"
    );
    assert_eq!(
        m.conversation_key.as_deref(),
        Some(format!("fb:{POST}:6987654321012345").as_str())
    );
    assert_eq!(m.visibility, Visibility::Public);
    assert_eq!(m.direction, Direction::Inbound);
    assert_eq!(m.author.platform_user_id, "6987654321012345");
    assert_eq!(m.author.display_name.as_deref(), Some("Fatima El Amrani"));
    assert_eq!(m.author.handle, None);
    assert_eq!(m.sent_at, secs(1773125112), "created_time is epoch seconds");
}

#[test]
fn surrogate_pair_escapes_decode_to_exact_emoji_and_rtl_text() {
    let b = batch();
    let m = message(&b[0].event);
    let expected = format!(
        "De lantaarnpaal bij de Kerkstraat 12 is al een week kapot {FAMILY} {ARABIC} {NL_FLAG}"
    );
    assert_eq!(m.text, expected);
    assert_eq!(m.text.as_bytes(), expected.as_bytes());
    assert!(
        String::from_utf8_lossy(&fixture("meta_feed_batch.json")).contains("\\ud83d\\udc68\\u200d")
    );
}

#[test]
fn reply_to_a_comment_names_its_parent_and_keeps_the_citizens_key() {
    let b = batch();
    let m = message(&b[1].event);
    assert_eq!(m.in_reply_to.as_deref(), Some("822112233445566_1200001"));
    assert_eq!(
        m.conversation_key.as_deref(),
        Some(format!("fb:{POST}:7111222333444555").as_str())
    );
    assert!(m.text.ends_with(THUMB_MEDIUM));
}

#[test]
fn page_comment_is_an_outbound_echo_threaded_by_parent() {
    let b = batch();
    let m = message(&b[2].event);
    assert_eq!(m.direction, Direction::Outbound);
    assert_eq!(m.author.platform_user_id, PAGE);
    assert_eq!(m.in_reply_to.as_deref(), Some("822112233445566_1200001"));
    assert_eq!(m.conversation_key, None);
}

#[test]
fn photo_only_comment_has_empty_text_and_an_image() {
    let b = batch();
    let m = message(&b[3].event);
    assert_eq!(m.text, "");
    assert_eq!(
        m.attachments,
        vec![Attachment {
            kind: "image".into(),
            url: Some("https://scontent.xx.fbcdn.net/v/t39.30808-6/lantaarnpaal.jpg".into()),
            ..Attachment::default()
        }]
    );
}

#[test]
fn edits_removals_and_moderation() {
    let b = batch();
    assert_eq!(
        b[4].event,
        InboundEvent::Edit {
            platform_message_id: "822112233445566_1200001".into(),
            new_platform_message_id: None,
            text: "De lantaarnpaal bij Kerkstraat 14 (niet 12) is kapot".into(),
            edited_at: secs(1773125614),
        }
    );
    assert_eq!(
        b[5].event,
        InboundEvent::Delete {
            platform_message_id: "822112233445566_1200002".into(),
            deleted_at: secs(1773125714),
        }
    );
    assert!(ignored_reason(&b[6].event).contains("hide"));
    assert!(ignored_reason(&b[7].event).contains("reaction"));
}

#[test]
fn visitor_post_starts_a_thread_and_own_post_is_ignored() {
    let b = batch();
    let m = message(&b[8].event);
    assert_eq!(m.platform_message_id, "104961234567890_933000111222333");
    assert_eq!(
        m.conversation_key.as_deref(),
        Some("fb:104961234567890_933000111222333:7999888777666555")
    );
    assert_eq!(m.in_reply_to, None);
    assert!(ignored_reason(&b[9].event).contains("own"));
}

#[test]
fn duplicates_in_one_batch_are_kept_for_the_store_to_dedupe() {
    let b = batch();
    assert_eq!(b[10].event, b[0].event);
    assert!(ignored_reason(&b[11].event).contains("ratings"));
}

#[test]
fn comment_without_from_is_anonymous_without_conversation_key() {
    let body = br#"{"object":"page","entry":[{"id":"1","time":1773125114,"changes":[{"field":"feed","value":
        {"item":"comment","verb":"add","comment_id":"2_3","post_id":"1_2","parent_id":"1_2","message":"hoi","created_time":"2026-03-10T08:40:00+0000"}}]}]}"#;
    let b = parse_meta_webhook(body, received_at()).unwrap();
    let m = message(&b[0].event);
    assert_eq!(m.author.platform_user_id, "");
    assert_eq!(m.conversation_key, None);
    assert_eq!(m.sent_at.to_rfc3339(), "2026-03-10T08:40:00+00:00");
}

#[test]
fn items_without_ids_or_times_degrade_gracefully() {
    let body = br#"{"object":"page","entry":[
        {"time":1773125114,"changes":[]},
        {"id":"1","changes":[{"field":"feed","value":{"item":"comment","verb":"add"}},
                             {"field":"feed","value":{"item":"comment","verb":"add","comment_id":"9","from":{"id":"5"}}},
                             {"field":"feed"}]},
        {"id":"2"}]}"#;
    let b = parse_meta_webhook(body, received_at()).unwrap();
    assert_eq!(b.len(), 5);
    assert_eq!(b[0].account_external_id, "");
    assert!(is_ignored(&b[0].event));
    assert!(is_ignored(&b[1].event));
    assert_eq!(
        message(&b[2].event).sent_at,
        received_at(),
        "no time anywhere: received_at"
    );
    assert!(is_ignored(&b[3].event));
    assert!(ignored_reason(&b[4].event).contains("without changes"));
}
