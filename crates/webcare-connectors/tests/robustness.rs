//! No input makes a parser panic: arbitrary bytes, arbitrary JSON, mutated real payloads, truncated
//! bodies, lone surrogate escapes.
mod common;

use common::{fixture, received_at};
use proptest::prelude::*;
use serde_json::{json, Value};
use webcare_connectors::meta::parse_meta_webhook;
use webcare_connectors::outbound::{
    build_request, parse_send_response, Credentials, OutboundReply, WindowInfo,
};
use webcare_connectors::signature::{verify_meta_signature, verify_webhook, verify_x_signature};
use webcare_connectors::x::{
    parse_account_activity, parse_dm_events_page, parse_mentions_page, parse_tweet_lookup_missing,
    parse_x_errors,
};
use webcare_connectors::ParseError;
use webcare_domain::model::{ChannelKind, Visibility};

const FIXTURES: &[&str] = &[
    "meta_feed_batch.json",
    "messenger_batch.json",
    "instagram_batch.json",
    "whatsapp_messages.json",
    "whatsapp_statuses.json",
    "x_aaa_tweets.json",
    "x_aaa_dm.json",
    "x_aaa_misc.json",
    "x_mentions.json",
    "x_mentions_empty.json",
    "x_dm_events.json",
    "x_tweets_lookup.json",
];

/// Runs every parser on the bytes; only the return value matters (no panic).
fn parse_all(bytes: &[u8]) {
    let _ = parse_meta_webhook(bytes, received_at());
    let _ = parse_account_activity(bytes, received_at());
    let _ = parse_mentions_page(bytes, "1564318547221393408");
    let _ = parse_dm_events_page(bytes, "1564318547221393408");
    let _ = parse_tweet_lookup_missing(bytes);
    let _ = parse_x_errors(bytes);
    for kind in ChannelKind::ALL {
        for status in [200, 201, 400, 429, 500] {
            let _ = parse_send_response(
                *kind,
                status,
                &[("x-business-use-case-usage", "{}")],
                bytes,
                received_at(),
            );
        }
    }
}

#[test]
fn truncated_bodies_are_parse_errors() {
    for name in FIXTURES {
        let body = fixture(name);
        let trimmed = body.trim_ascii_end();
        for cut in (0..trimmed.len()).step_by(7) {
            let prefix = &trimmed[..cut];
            if name.starts_with("x_") {
                assert!(
                    parse_account_activity(prefix, received_at()).is_err(),
                    "{name} cut {cut}"
                );
                assert!(
                    parse_mentions_page(prefix, "1").is_err(),
                    "{name} cut {cut}"
                );
            } else {
                assert!(
                    matches!(
                        parse_meta_webhook(prefix, received_at()),
                        Err(ParseError::Json(_))
                    ),
                    "{name} cut {cut}"
                );
            }
        }
    }
}

#[test]
fn wrong_top_level_shapes() {
    let err = |b: &[u8]| parse_meta_webhook(b, received_at()).unwrap_err();
    assert!(matches!(err(b""), ParseError::Json(_)));
    assert!(matches!(err(b"[]"), ParseError::Shape(_)));
    assert!(matches!(err(b"null"), ParseError::Shape(_)));
    assert!(matches!(err(br#"{"entry":[]}"#), ParseError::Shape(_)));
    assert!(matches!(err(br#"{"object":"page"}"#), ParseError::Shape(_)));
    assert!(matches!(
        err(br#"{"object":"page","entry":{}}"#),
        ParseError::Shape(_)
    ));
    assert_eq!(
        err(br#"{"object":"user","entry":[]}"#),
        ParseError::UnknownObject("user".into())
    );
    assert!(matches!(err(b"\xff\xfe{}"), ParseError::Json(_)));
    // An unpaired surrogate escape is not valid JSON text for serde_json: an error, not a panic.
    assert!(parse_meta_webhook(br#"{"object":"page","entry":[{"id":"1","messaging":[{"message":{"mid":"m","text":"\ud83d"}}]}]}"#, received_at()).is_err());
    assert!(
        parse_meta_webhook(br#"{"object":"page","entry":[]}"#, received_at())
            .unwrap()
            .is_empty()
    );
    // Deep nesting hits serde_json's recursion limit, not the stack.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    parse_all(deep.as_bytes());
}

fn arb_json() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec![
        "object",
        "entry",
        "id",
        "time",
        "changes",
        "field",
        "value",
        "messaging",
        "standby",
        "sender",
        "recipient",
        "timestamp",
        "message",
        "mid",
        "text",
        "is_echo",
        "is_deleted",
        "attachments",
        "payload",
        "url",
        "reply_to",
        "story",
        "delivery",
        "mids",
        "read",
        "postback",
        "title",
        "message_edit",
        "item",
        "verb",
        "comment_id",
        "post_id",
        "parent_id",
        "from",
        "created_time",
        "photo",
        "metadata",
        "phone_number_id",
        "contacts",
        "wa_id",
        "profile",
        "name",
        "messages",
        "statuses",
        "status",
        "type",
        "errors",
        "code",
        "context",
        "location",
        "latitude",
        "longitude",
        "for_user_id",
        "tweet_create_events",
        "direct_message_events",
        "message_create",
        "data",
        "includes",
        "meta",
        "users",
        "media",
        "edit_history_tweet_ids",
        "referenced_tweets",
        "note_tweet",
        "error",
        "error_subcode",
        "resource_id",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Boundaries drawn on purpose: saturating casts and abs() overflow live here.
        prop::sample::select(vec![
            json!(i64::MIN),
            json!(i64::MAX),
            json!(u64::MAX),
            json!(-1e300),
            json!(1e300),
            json!(-0.0),
            json!("-9223372036854775808"),
        ]),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(vec![
            "page",
            "instagram",
            "whatsapp_business_account",
            "feed",
            "comment",
            "add",
            "remove",
            "edited",
            "text",
            "image",
            "location",
            "failed",
            "played",
            "1",
            "",
            "MessageCreate",
            "message_create",
            "replied_to",
            "retweeted"
        ])
        .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 200, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..8).prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

/// Every value position in a document, as a JSON pointer.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => m.iter().for_each(|(k, c)| {
            pointers(
                c,
                format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                out,
            )
        }),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, c)| pointers(c, format!("{at}/{i}"), out)),
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        parse_all(&bytes);
        let _ = verify_meta_signature(b"s", &bytes, std::str::from_utf8(&bytes).ok());
        let _ = verify_x_signature(b"s", &bytes, std::str::from_utf8(&bytes).ok());
        let _ = verify_webhook(b"s", 0, &bytes, std::str::from_utf8(&bytes).ok());
    }

    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        parse_all(&serde_json::to_vec(&v).unwrap());
        for object in ["page", "instagram", "whatsapp_business_account"] {
            let wrapped = json!({"object": object, "entry": [v.clone(), {"id": "1", "changes": [v.clone(), {"field": "feed", "value": v.clone()}, {"field": "messages", "value": v.clone()}], "messaging": [v.clone()]}]});
            let parsed = parse_meta_webhook(&serde_json::to_vec(&wrapped).unwrap(), received_at());
            prop_assert!(parsed.is_ok());
        }
        let x = json!({"for_user_id": "1", "tweet_create_events": [v.clone()], "direct_message_events": [v.clone()], "tweet_delete_events": [v.clone()]});
        prop_assert!(parse_account_activity(&serde_json::to_vec(&x).unwrap(), received_at()).is_ok());
        let page = json!({"data": [v.clone()], "includes": {"users": [v.clone()], "media": [v.clone()]}, "meta": v.clone(), "errors": [v.clone()]});
        prop_assert!(parse_mentions_page(&serde_json::to_vec(&page).unwrap(), "1").is_ok());
        prop_assert!(parse_dm_events_page(&serde_json::to_vec(&page).unwrap(), "1").is_ok());
    }

    #[test]
    fn mutated_real_payloads_never_panic(which in 0..FIXTURES.len(), pick in any::<prop::sample::Index>(), replacement in arb_json()) {
        let mut doc: Value = serde_json::from_slice(&fixture(FIXTURES[which])).unwrap();
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        let target = pick.get(&all).clone();
        if let Some(slot) = doc.pointer_mut(&target) {
            *slot = replacement;
        }
        parse_all(&serde_json::to_vec(&doc).unwrap());
    }

    #[test]
    fn building_requests_never_panics(
        text in "\\PC{0,300}",
        target in proptest::option::of(".{0,20}"),
        recipient in proptest::option::of(".{0,20}"),
        account in ".{0,20}",
        hours in proptest::option::of(-48i64..400),
        kind in prop::sample::select(ChannelKind::ALL.to_vec()),
        public in any::<bool>(),
    ) {
        let now = received_at();
        let reply = OutboundReply {
            kind,
            account_external_id: account,
            reply_id: uuid::Uuid::nil(),
            text,
            visibility: if public { Visibility::Public } else { Visibility::Private },
            in_reply_to_platform_id: target,
            recipient_platform_user_id: recipient,
            window: WindowInfo { last_citizen_message_at: hours.map(|h| now - chrono::Duration::hours(h)) },
            now,
            template: None,
        };
        if let Ok(req) = build_request(&reply, "https://example.test", "v21.0", &Credentials::bearer("t")) {
            // Ids never leak into the path unescaped.
            let path = req.url.trim_start_matches("https://example.test");
            prop_assert!(!path.contains('?') && !path.contains('#'), "{}", req.url);
            prop_assert!(path.split('/').all(|seg| seg != "." && seg != ".."), "{}", req.url);
        }
    }
}
