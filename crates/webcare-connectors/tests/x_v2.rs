//! X API v2 responses for the pollers.
mod common;

use common::*;
use webcare_connectors::x::{
    parse_dm_events_page, parse_mentions_page, parse_tweet_lookup_missing, parse_x_errors,
};
use webcare_domain::inbound::InboundEvent;
use webcare_domain::model::{Direction, Visibility};

const OURS: &str = "1564318547221393408";
const CIT: &str = "783214";

#[test]
fn mentions_page_meta_and_events() {
    let p = parse_mentions_page(&fixture("x_mentions.json"), OURS).unwrap();
    assert_eq!(p.result_count, 4);
    assert_eq!(p.newest_id.as_deref(), Some("2031234567899000000"));
    assert_eq!(p.oldest_id.as_deref(), Some("2031234567896000000"));
    assert_eq!(
        p.next_token.as_deref(),
        Some("7140dibdnow9c7btw4b0stvu5ujh5pbhxz3q2yf6fw8h6")
    );
    assert_eq!(p.events.len(), 4);
    assert_eq!(p.errors.len(), 1, "partial errors with a 200 are kept");
    assert!(p.errors[0].is_resource_not_found());
}

#[test]
fn long_post_uses_note_tweet_and_media_from_includes() {
    let p = parse_mentions_page(&fixture("x_mentions.json"), OURS).unwrap();
    let m = message(&p.events[0]);
    assert!(
        m.text.ends_with(FAMILY),
        "note_tweet.text, not the truncated text"
    );
    assert!(m.text.chars().count() > 280);
    assert_eq!(
        m.conversation_key.as_deref(),
        Some("x:conv:2031234567899000000")
    );
    assert_eq!(m.author.handle.as_deref(), Some("@keesvb"));
    assert_eq!(
        m.author.display_name.as_deref(),
        Some(format!("Kees {THUMB_MEDIUM}").as_str())
    );
    assert_eq!(m.sent_at.to_rfc3339(), "2026-03-10T10:40:00+00:00");
    assert_eq!(m.visibility, Visibility::Public);
    assert_eq!(m.attachments.len(), 2);
    assert_eq!(m.attachments[0].kind, "image");
    assert_eq!(
        m.attachments[0].url.as_deref(),
        Some("https://pbs.twimg.com/media/Gxyz.jpg")
    );
    assert_eq!(
        m.attachments[0].platform_media_id.as_deref(),
        Some("3_2031234567000000002")
    );
    assert_eq!(m.attachments[0].caption.as_deref(), Some("Marktplein"));
    assert_eq!(m.attachments[1].kind, "video");
    assert_eq!(
        m.attachments[1].url.as_deref(),
        Some("https://video.twimg.com/ext_tw_video/1.mp4")
    );
}

#[test]
fn reply_joins_the_conversation_and_edit_points_at_the_original() {
    let p = parse_mentions_page(&fixture("x_mentions.json"), OURS).unwrap();
    let reply = message(&p.events[1]);
    assert_eq!(reply.in_reply_to.as_deref(), Some("2031234567890123456"));
    assert_eq!(
        reply.conversation_key.as_deref(),
        Some("x:conv:2031234567890123456")
    );
    assert!(reply.text.ends_with(ARABIC));
    assert_eq!(reply.author.handle.as_deref(), Some("@mariam_nl"));
    match &p.events[2] {
        InboundEvent::Edit {
            platform_message_id,
            new_platform_message_id,
            text,
            ..
        } => {
            assert_eq!(platform_message_id, "2031234567897000000");
            assert_eq!(
                new_platform_message_id.as_deref(),
                Some("2031234567897500000")
            );
            assert!(text.ends_with("(gecorrigeerd)"));
        }
        other => panic!("expected edit, got {other:?}"),
    }
    assert!(ignored_reason(&p.events[3]).contains("retweet"));
}

#[test]
fn empty_mentions_page() {
    let p = parse_mentions_page(&fixture("x_mentions_empty.json"), OURS).unwrap();
    assert!(p.events.is_empty());
    assert_eq!(p.result_count, 0);
    assert_eq!(p.newest_id, None);
    assert_eq!(p.next_token, None);
}

#[test]
fn own_post_in_mentions_is_an_echo() {
    let body = format!(
        r#"{{"data":[{{"id":"2031234567899000001","text":"@GemeenteVbs test","author_id":"{OURS}","edit_history_tweet_ids":["2031234567899000001"]}}],"meta":{{"result_count":1}}}}"#
    );
    let p = parse_mentions_page(body.as_bytes(), OURS).unwrap();
    let m = message(&p.events[0]);
    assert_eq!(m.direction, Direction::Outbound);
    assert_eq!(
        m.conversation_key.as_deref(),
        Some("x:conv:2031234567899000001"),
        "root without conversation_id"
    );
}

#[test]
fn dm_events_page() {
    let p = parse_dm_events_page(&fixture("x_dm_events.json"), OURS).unwrap();
    assert_eq!(p.next_token.as_deref(), Some("18LAA5FFPEMTXRM4U5G2"));
    assert_eq!(p.result_count, 3);
    assert_eq!(p.events.len(), 3);
    let m = message(&p.events[0]);
    assert_eq!(m.visibility, Visibility::Private);
    assert_eq!(m.direction, Direction::Inbound);
    assert_eq!(
        m.conversation_key.as_deref(),
        Some("x:dm:783214-1564318547221393408")
    );
    assert_eq!(m.author.platform_user_id, CIT);
    assert_eq!(m.author.handle.as_deref(), Some("@keesvb"));
    assert!(m.text.ends_with(NL_FLAG));
    let echo = message(&p.events[1]);
    assert_eq!(echo.direction, Direction::Outbound);
    assert_eq!(echo.conversation_key, m.conversation_key);
    assert!(is_ignored(&p.events[2]));
}

#[test]
fn tweet_lookup_reports_only_not_found_tweets() {
    let missing = parse_tweet_lookup_missing(&fixture("x_tweets_lookup.json")).unwrap();
    assert_eq!(missing, vec!["2031234567890999999".to_string()]);
    assert!(parse_tweet_lookup_missing(br#"{"data":[]}"#)
        .unwrap()
        .is_empty());
}

#[test]
fn error_bodies_in_both_shapes() {
    let problem = parse_x_errors(br#"{"title":"UsageCapExceeded","detail":"Usage cap exceeded: Monthly product cap","type":"https://api.twitter.com/2/problems/usage-capped","period":"Monthly","scope":"Product"}"#);
    assert_eq!(problem.len(), 1);
    assert!(problem[0].is_usage_capped());
    assert_eq!(
        problem[0].summary(),
        "UsageCapExceeded: Usage cap exceeded: Monthly product cap"
    );

    let too_many = parse_x_errors(br#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#);
    assert!(too_many[0].is_rate_limited());
    assert_eq!(too_many[0].status, Some(429));

    let old = parse_x_errors(br#"{"errors":[{"code":88,"message":"Rate limit exceeded"}]}"#);
    assert_eq!(old[0].code, Some(88));
    assert!(old[0].is_rate_limited());
    assert_eq!(old[0].summary(), "88 Rate limit exceeded");

    assert!(parse_x_errors(b"<html>502</html>").is_empty());
}
