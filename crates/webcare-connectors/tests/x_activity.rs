//! X Account Activity API webhook payloads (v1.1 objects).
mod common;

use common::*;
use webcare_connectors::x::parse_account_activity;
use webcare_domain::inbound::InboundEvent;
use webcare_domain::model::{Direction, Visibility};

const OURS: &str = "1564318547221393408";
const CIT: &str = "783214";

#[test]
fn root_mention_reply_echo_and_retweet() {
    let b = parse_account_activity(&fixture("x_aaa_tweets.json"), received_at()).unwrap();
    assert_eq!(b.len(), 4);
    assert!(b.iter().all(|a| a.account_external_id == OURS));

    let root = message(&b[0].event);
    assert_eq!(root.platform_message_id, "2031234567890123456");
    assert_eq!(
        root.conversation_key.as_deref(),
        Some("x:conv:2031234567890123456")
    );
    assert_eq!(root.in_reply_to, None);
    assert_eq!(root.visibility, Visibility::Public);
    assert_eq!(root.direction, Direction::Inbound);
    assert_eq!(root.author.platform_user_id, CIT);
    assert_eq!(root.author.handle.as_deref(), Some("@keesvb"));
    assert_eq!(
        root.author.display_name.as_deref(),
        Some(format!("Kees {THUMB_MEDIUM}").as_str())
    );
    assert_eq!(root.sent_at, millis(1773132000000));

    let reply = message(&b[1].event);
    assert_eq!(reply.in_reply_to.as_deref(), Some("2031234567890123456"));
    assert_eq!(
        reply.conversation_key, None,
        "deep threads join via in_reply_to"
    );
    assert!(reply.text.contains(FAMILY) && reply.text.contains(ARABIC));
    assert!(
        reply.text.ends_with("— graag snel actie!"),
        "extended_tweet.full_text used"
    );
    assert_eq!(reply.author.display_name.as_deref(), Some("مريم"));
    assert_eq!(reply.attachments.len(), 1);
    assert_eq!(reply.attachments[0].kind, "image");
    assert_eq!(reply.attachments[0].caption.as_deref(), Some("open stoep"));

    let echo = message(&b[2].event);
    assert_eq!(echo.direction, Direction::Outbound);
    assert_eq!(echo.author.platform_user_id, OURS);

    assert!(ignored_reason(&b[3].event).contains("retweet"));
}

#[test]
fn direct_messages_incoming_and_echo_share_the_conversation() {
    let b = parse_account_activity(&fixture("x_aaa_dm.json"), received_at()).unwrap();
    assert_eq!(b.len(), 2);
    let inbound = message(&b[0].event);
    assert_eq!(inbound.visibility, Visibility::Private);
    assert_eq!(inbound.direction, Direction::Inbound);
    assert_eq!(
        inbound.conversation_key.as_deref(),
        Some("x:dm:783214-1564318547221393408")
    );
    assert_eq!(inbound.author.handle.as_deref(), Some("@keesvb"));
    assert_eq!(
        inbound.text,
        format!("Mijn BSN staat in de brief {HEART_ON_FIRE}")
    );
    assert_eq!(inbound.sent_at, millis(1773137000000));
    let echo = message(&b[1].event);
    assert_eq!(echo.direction, Direction::Outbound);
    assert_eq!(echo.conversation_key, inbound.conversation_key);
    assert_eq!(echo.author.handle.as_deref(), Some("@GemeenteVbs"));
}

#[test]
fn deletes_and_other_events() {
    let b = parse_account_activity(&fixture("x_aaa_misc.json"), received_at()).unwrap();
    assert_eq!(b.len(), 3);
    let events = events(&b);
    assert!(events.contains(&&InboundEvent::Delete {
        platform_message_id: "2031234567890999999".into(),
        deleted_at: millis(1773138000000),
    }));
    let reasons: Vec<&str> = events
        .iter()
        .filter(|e| is_ignored(e))
        .map(|e| ignored_reason(e))
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("favorite_events (2)")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("typing")), "{reasons:?}");
}

#[test]
fn shape_errors() {
    assert!(parse_account_activity(b"[]", received_at()).is_err());
    assert!(parse_account_activity(br#"{"tweet_create_events":[]}"#, received_at()).is_err());
    let b = parse_account_activity(br#"{"for_user_id":"1"}"#, received_at()).unwrap();
    assert!(is_ignored(&b[0].event));
}

#[test]
fn numeric_ids_beyond_2_pow_53_stay_exact() {
    let body = br#"{"for_user_id":1564318547221393408,"tweet_create_events":[
        {"id":2031234567890123457,"text":"hoi","user":{"id":783214,"screen_name":"k"}}]}"#;
    let b = parse_account_activity(body, received_at()).unwrap();
    assert_eq!(b[0].account_external_id, OURS);
    let m = message(&b[0].event);
    assert_eq!(m.platform_message_id, "2031234567890123457");
    assert_eq!(m.author.platform_user_id, CIT);
    // No timestamp: the snowflake id gives the time.
    assert_eq!(
        m.sent_at,
        webcare_connectors::x::snowflake_time("2031234567890123457").unwrap()
    );
}
