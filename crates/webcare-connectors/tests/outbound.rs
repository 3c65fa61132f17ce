mod common;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use std::time::Duration as StdDuration;
use uuid::Uuid;
use webcare_connectors::outbound::*;
use webcare_connectors::signature::verify_webhook;
use webcare_connectors::x::{oauth1_verify, OAuth1Keys};
use webcare_domain::model::{ChannelKind, Visibility};

const GRAPH: &str = "https://graph.facebook.com";
const XAPI: &str = "https://api.x.com";

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_773_139_267, 0).unwrap()
}

fn creds() -> Credentials {
    Credentials::bearer("EAAG-secret-token")
}

fn reply(kind: ChannelKind, visibility: Visibility) -> OutboundReply {
    OutboundReply {
        kind,
        account_external_id: "104961234567890".into(),
        reply_id: Uuid::from_u128(0x0190c0de_0000_7000_8000_000000000001),
        text: "Dank voor uw bericht, we pakken het op.".into(),
        visibility,
        in_reply_to_platform_id: None,
        recipient_platform_user_id: None,
        window: WindowInfo {
            last_citizen_message_at: Some(now() - Duration::hours(2)),
        },
        now: now(),
        template: None,
    }
}

fn header<'a>(req: &'a PlatformRequest, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn facebook_comment_reply() {
    let mut r = reply(ChannelKind::FacebookPage, Visibility::Public);
    r.in_reply_to_platform_id = Some("822112233445566_1200001".into());
    let req = build_request(&r, GRAPH, "v21.0", &creds()).unwrap();
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.url,
        "https://graph.facebook.com/v21.0/822112233445566_1200001/comments"
    );
    assert_eq!(req.json_body, json!({"message": r.text}));
    assert_eq!(
        header(&req, "authorization"),
        Some("Bearer EAAG-secret-token")
    );
    assert!(
        !format!("{req:?}").contains("secret-token"),
        "Debug redacts the token"
    );
    assert!(!format!("{:?}", creds()).contains("secret-token"));
}

#[test]
fn comment_reply_needs_a_safe_target_id() {
    let mut r = reply(ChannelKind::FacebookPage, Visibility::Public);
    assert_eq!(
        build_request(&r, GRAPH, "v21.0", &creds())
            .unwrap_err()
            .kind,
        RefusalKind::MissingTarget
    );
    r.in_reply_to_platform_id = Some("../me/feed?x=1".into());
    assert_eq!(
        build_request(&r, GRAPH, "v21.0", &creds())
            .unwrap_err()
            .kind,
        RefusalKind::MissingTarget
    );
}

#[test]
fn messenger_window_response_tag_refused() {
    let mut r = reply(ChannelKind::FacebookPage, Visibility::Private);
    r.recipient_platform_user_id = Some("7654321098765432".into());
    let req = build_request(&r, GRAPH, "/v21.0/", &creds()).unwrap();
    assert_eq!(
        req.url,
        "https://graph.facebook.com/v21.0/104961234567890/messages"
    );
    assert_eq!(
        req.json_body["recipient"],
        json!({"id": "7654321098765432"})
    );
    assert_eq!(req.json_body["messaging_type"], "RESPONSE");
    assert_eq!(req.json_body["message"]["text"], json!(r.text));
    assert_eq!(
        req.json_body["message"]["metadata"],
        "webcare:0190c0de-0000-7000-8000-000000000001"
    );

    r.window.last_citizen_message_at = Some(now() - Duration::hours(30));
    let tagged = build_request(&r, GRAPH, "v21.0", &creds()).unwrap();
    assert_eq!(tagged.json_body["messaging_type"], "MESSAGE_TAG");
    assert_eq!(tagged.json_body["tag"], "HUMAN_AGENT");

    r.window.last_citizen_message_at = Some(now() - Duration::days(8));
    let refused = build_request(&r, GRAPH, "v21.0", &creds()).unwrap_err();
    assert_eq!(refused.kind, RefusalKind::OutsideWindow);
    assert!(refused.alternative.is_some());

    r.window.last_citizen_message_at = None;
    assert_eq!(
        build_request(&r, GRAPH, "v21.0", &creds())
            .unwrap_err()
            .kind,
        RefusalKind::OutsideWindow
    );
}

#[test]
fn instagram_dm_and_comment_reply() {
    let mut r = reply(ChannelKind::Instagram, Visibility::Private);
    r.account_external_id = "17841400000000001".into();
    r.recipient_platform_user_id = Some("1023456789012345".into());
    let req = build_request(&r, GRAPH, "v21.0", &creds()).unwrap();
    assert_eq!(
        req.url,
        "https://graph.facebook.com/v21.0/17841400000000001/messages"
    );
    assert_eq!(req.json_body["messaging_type"], "RESPONSE");
    r.text = "x".repeat(1001);
    assert_eq!(
        build_request(&r, GRAPH, "v21.0", &creds())
            .unwrap_err()
            .kind,
        RefusalKind::TooLong
    );

    let mut c = reply(ChannelKind::Instagram, Visibility::Public);
    c.in_reply_to_platform_id = Some("17865799348089039".into());
    let req = build_request(&c, GRAPH, "v21.0", &creds()).unwrap();
    assert_eq!(
        req.url,
        "https://graph.facebook.com/v21.0/17865799348089039/replies"
    );
}

#[test]
fn whatsapp_text_in_window_with_context() {
    let mut r = reply(ChannelKind::Whatsapp, Visibility::Private);
    r.account_external_id = "109876543210987".into();
    r.recipient_platform_user_id = Some("31612345678".into());
    r.in_reply_to_platform_id = Some("wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQzQTk001".into());
    let req = build_request(&r, GRAPH, "v21.0", &creds()).unwrap();
    assert_eq!(
        req.url,
        "https://graph.facebook.com/v21.0/109876543210987/messages"
    );
    assert_eq!(
        req.json_body,
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "31612345678",
            "type": "text",
            "text": {"preview_url": false, "body": r.text},
            "context": {"message_id": "wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQzQTk001"},
            "biz_opaque_callback_data": "webcare:0190c0de-0000-7000-8000-000000000001",
        })
    );
}

#[test]
fn whatsapp_outside_window_needs_a_template() {
    let mut r = reply(ChannelKind::Whatsapp, Visibility::Private);
    r.account_external_id = "109876543210987".into();
    r.recipient_platform_user_id = Some("31612345678".into());
    r.window.last_citizen_message_at = Some(now() - Duration::hours(25));
    let refused = build_request(&r, GRAPH, "v21.0", &creds()).unwrap_err();
    assert_eq!(refused.kind, RefusalKind::OutsideWindow);
    assert_eq!(
        refused.reason,
        "outside the 24-hour window: use an approved template"
    );

    r.template = Some(WhatsAppTemplate {
        name: "antwoord_webcare".into(),
        language: "nl".into(),
        params: vec!["Sanne".into(), "afval".into()],
    });
    let req = build_request(&r, GRAPH, "v21.0", &creds()).unwrap();
    assert_eq!(req.json_body["type"], "template");
    assert_eq!(
        req.json_body["template"],
        json!({
            "name": "antwoord_webcare",
            "language": {"code": "nl"},
            "components": [{"type": "body", "parameters": [
                {"type": "text", "text": "Sanne"}, {"type": "text", "text": "afval"}]}]
        })
    );
    assert_eq!(req.json_body.get("text"), None);
}

#[test]
fn x_reply_and_dm() {
    let mut r = reply(ChannelKind::X, Visibility::Public);
    r.account_external_id = "1564318547221393408".into();
    r.in_reply_to_platform_id = Some("2031234567890123456".into());
    let req = build_request(&r, XAPI, "ignored", &creds()).unwrap();
    assert_eq!(req.url, "https://api.x.com/2/tweets");
    assert_eq!(
        req.json_body,
        json!({"text": r.text, "reply": {"in_reply_to_tweet_id": "2031234567890123456"}})
    );
    assert_eq!(
        header(&req, "Authorization"),
        Some("Bearer EAAG-secret-token")
    );

    // 280 weighted: 140 emoji (2 each) fit, 141 do not.
    r.text = "👍".repeat(140);
    assert!(build_request(&r, XAPI, "", &creds()).is_ok());
    r.text = "👍".repeat(141);
    let too_long = build_request(&r, XAPI, "", &creds()).unwrap_err();
    assert_eq!(too_long.kind, RefusalKind::TooLong);
    assert!(too_long.reason.contains("282"), "{}", too_long.reason);

    let mut dm = reply(ChannelKind::X, Visibility::Private);
    dm.recipient_platform_user_id = Some("783214".into());
    let req = build_request(&dm, "https://api.x.com/", "", &creds()).unwrap();
    assert_eq!(
        req.url,
        "https://api.x.com/2/dm_conversations/with/783214/messages"
    );
    assert_eq!(req.json_body, json!({"text": dm.text}));

    // With the four OAuth 1.0a keys, the same requests are signed instead (the JSON body is not
    // part of an X signature; method and URL are).
    let keys = OAuth1Keys {
        consumer_key: "ck-gemeente".into(),
        consumer_secret: "cs-secret".into(),
        token: "1564318547221393408-at".into(),
        token_secret: "ats-secret".into(),
    };
    let signed = Credentials {
        access_token: String::new(),
        x_oauth1: Some(keys.clone()),
    };
    for r in [&r, &dm] {
        let mut r = r.clone();
        r.text = "Dank voor uw melding.".into();
        let req = build_request(&r, XAPI, "", &signed).unwrap();
        let auth = header(&req, "Authorization").unwrap();
        assert!(auth.starts_with("OAuth "), "{auth}");
        assert!(oauth1_verify(&keys, "POST", &req.url, auth));
        assert!(!oauth1_verify(&keys, "GET", &req.url, auth));
        assert!(!auth.contains("cs-secret") && !auth.contains("ats-secret"));
    }
    // Meta never uses them.
    let mut comment = reply(ChannelKind::FacebookPage, Visibility::Public);
    comment.in_reply_to_platform_id = Some("104961234567890_1234".into());
    let fb = build_request(
        &comment,
        "https://graph.facebook.com",
        "v21.0",
        &Credentials {
            access_token: "EAAG".into(),
            x_oauth1: Some(keys),
        },
    )
    .unwrap();
    assert_eq!(header(&fb, "Authorization"), Some("Bearer EAAG"));

    dm.recipient_platform_user_id = None;
    assert_eq!(
        build_request(&dm, XAPI, "", &creds()).unwrap_err().kind,
        RefusalKind::MissingRecipient
    );
}

#[test]
fn empty_reply_is_refused() {
    let mut r = reply(ChannelKind::FacebookPage, Visibility::Public);
    r.in_reply_to_platform_id = Some("1_2".into());
    r.text = "  \n".into();
    assert_eq!(
        build_request(&r, GRAPH, "v21.0", &creds())
            .unwrap_err()
            .kind,
        RefusalKind::EmptyText
    );
}

#[test]
fn api_channel_callback_is_signed_over_the_sent_bytes() {
    let r = reply(ChannelKind::Api, Visibility::Private);
    let req = build_request(
        &r,
        "https://zaaksysteem.example.nl/webcare/callback",
        "",
        &Credentials::bearer("callback-secret"),
    )
    .unwrap();
    assert_eq!(req.url, "https://zaaksysteem.example.nl/webcare/callback");
    let ts: i64 = header(&req, "X-Webcare-Timestamp")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(ts, now().timestamp());
    assert_eq!(
        header(&req, "Idempotency-Key"),
        Some("0190c0de-0000-7000-8000-000000000001")
    );
    assert_eq!(
        verify_webhook(
            b"callback-secret",
            ts,
            &req.body_bytes(),
            header(&req, "X-Webcare-Signature")
        ),
        Ok(())
    );
    assert_eq!(header(&req, "Authorization"), None);
}

#[test]
fn limits_per_channel() {
    let l = |k, v| channel_limits(k, v).max_chars;
    assert_eq!(l(ChannelKind::X, Visibility::Public), 280);
    assert_eq!(l(ChannelKind::FacebookPage, Visibility::Private), 2000);
    assert_eq!(l(ChannelKind::Whatsapp, Visibility::Private), 4096);
    assert_eq!(l(ChannelKind::FacebookPage, Visibility::Public), 8000);
    assert_eq!(l(ChannelKind::Instagram, Visibility::Private), 1000);
    assert_eq!(
        channel_limits(ChannelKind::Whatsapp, Visibility::Private).free_window,
        Some(Duration::hours(24))
    );
    assert_eq!(
        channel_limits(ChannelKind::Instagram, Visibility::Private).tagged_window,
        Some(Duration::days(7))
    );
    assert_eq!(
        channel_limits(ChannelKind::X, Visibility::Public).free_window,
        None
    );
}

// ---- responses

const NO_HEADERS: [(&str, &str); 0] = [];

fn send(kind: ChannelKind, status: u16, body: &str) -> SendOutcome {
    parse_send_response(kind, status, &NO_HEADERS, body.as_bytes(), now())
}

fn is_transient(o: &SendOutcome) -> bool {
    matches!(o, SendOutcome::Transient { .. })
}

fn permanent_reason(o: &SendOutcome) -> &str {
    match o {
        SendOutcome::Permanent { reason } => reason,
        other => panic!("expected permanent, got {other:?}"),
    }
}

#[test]
fn success_bodies() {
    let sent = |id: &str| SendOutcome::Sent {
        platform_message_id: id.into(),
    };
    assert_eq!(
        send(
            ChannelKind::FacebookPage,
            200,
            r#"{"id":"822112233445566_1200009"}"#
        ),
        sent("822112233445566_1200009")
    );
    assert_eq!(
        send(
            ChannelKind::FacebookPage,
            200,
            r#"{"recipient_id":"7654321098765432","message_id":"m_Sent1"}"#
        ),
        sent("m_Sent1")
    );
    assert_eq!(
        send(
            ChannelKind::Instagram,
            200,
            r#"{"recipient_id":"1","message_id":"aWdf1"}"#
        ),
        sent("aWdf1")
    );
    assert_eq!(
        send(
            ChannelKind::Whatsapp,
            200,
            r#"{"messaging_product":"whatsapp","contacts":[{"input":"31612345678","wa_id":"31612345678"}],"messages":[{"id":"wamid.SENT1","message_status":"accepted"}]}"#
        ),
        sent("wamid.SENT1")
    );
    assert_eq!(
        send(
            ChannelKind::X,
            201,
            r#"{"data":{"id":"2031234567899999999","text":"…","edit_history_tweet_ids":["2031234567899999999"]}}"#
        ),
        sent("2031234567899999999")
    );
    assert_eq!(
        send(
            ChannelKind::X,
            201,
            r#"{"data":{"dm_conversation_id":"783214-1564318547221393408","dm_event_id":"1773000000000000009"}}"#
        ),
        sent("1773000000000000009")
    );
    // Accepted without an id: never retried blindly.
    assert!(permanent_reason(&send(ChannelKind::Whatsapp, 200, "{}")).contains("no message id"));
    assert_eq!(send(ChannelKind::Api, 204, ""), sent(""));
}

#[test]
fn graph_transient_codes_and_buc_retry_after() {
    for code in [1, 2, 4, 17, 341, 80001, 130429, 131056] {
        let body = format!(
            r#"{{"error":{{"message":"throttled","type":"OAuthException","code":{code},"fbtrace_id":"A1"}}}}"#
        );
        assert!(
            is_transient(&send(ChannelKind::Whatsapp, 400, &body)),
            "code {code}"
        );
    }
    let buc = [(
        "X-Business-Use-Case-Usage",
        r#"{"104961234567890":[{"type":"pages","call_count":100,"total_cputime":20,"total_time":30,"estimated_time_to_regain_access":7}]}"#,
    )];
    let o = parse_send_response(ChannelKind::FacebookPage, 400, &buc, br#"{"error":{"message":"(#80001) There have been too many calls to this Page account.","type":"OAuthException","code":80001}}"#, now());
    assert_eq!(
        o,
        SendOutcome::Transient {
            reason: "Meta business use case rate limit reached (facebook_page error 80001)".into(),
            retry_after: Some(StdDuration::from_secs(7 * 60)),
        }
    );
    assert!(is_transient(&send(
        ChannelKind::FacebookPage,
        503,
        "<html>Service Unavailable</html>"
    )));
    assert!(is_transient(&send(
        ChannelKind::FacebookPage,
        500,
        r#"{"error":{"message":"An unexpected error has occurred.","code":999,"is_transient":true}}"#
    )));
}

#[test]
fn graph_permanent_codes_have_readable_reasons() {
    let outside = send(
        ChannelKind::FacebookPage,
        400,
        r#"{"error":{"message":"(#10) This message is sent outside of allowed window.","type":"OAuthException","code":10,"error_subcode":2018278,"fbtrace_id":"AbC"}}"#,
    );
    assert!(permanent_reason(&outside).contains("outside Messenger's reply window"));
    assert!(permanent_reason(&outside).contains("10/2018278"));
    let wa = send(
        ChannelKind::Whatsapp,
        400,
        r#"{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,"error_data":{"messaging_product":"whatsapp","details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."},"fbtrace_id":"x"}}"#,
    );
    assert!(
        permanent_reason(&wa).starts_with("outside the 24-hour window: use an approved template")
    );
    assert!(permanent_reason(&wa).contains("more than 24 hours"));
    for (code, needle) in [
        (190, "reconnect"),
        (551, "not available"),
        (368, "policy"),
        (100, "invalid request"),
        (131026, "undeliverable"),
        (132000, "parameter count"),
        (132001, "does not exist"),
        (132015, "paused"),
    ] {
        let body = format!(r#"{{"error":{{"message":"m","code":{code}}}}}"#);
        let reason = permanent_reason(&send(ChannelKind::Whatsapp, 400, &body)).to_owned();
        assert!(reason.contains(needle), "{code}: {reason}");
    }
    let deleted = send(
        ChannelKind::FacebookPage,
        400,
        r#"{"error":{"message":"Unsupported post request. Object with ID '1_2' does not exist","code":100,"error_subcode":33}}"#,
    );
    assert!(permanent_reason(&deleted).contains("no longer exists"));
    assert!(
        permanent_reason(&send(ChannelKind::FacebookPage, 403, "not json")).contains("HTTP 403")
    );
}

#[test]
fn x_rate_limits_and_refusals() {
    let headers = vec![
        ("x-rate-limit-limit".to_string(), "100".to_string()),
        ("x-rate-limit-remaining".to_string(), "0".to_string()),
        (
            "x-rate-limit-reset".to_string(),
            (now().timestamp() + 120).to_string(),
        ),
    ];
    let o = parse_send_response(ChannelKind::X, 429, &headers, br#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#, now());
    assert_eq!(
        o,
        SendOutcome::Transient {
            reason: "X rate limit reached".into(),
            retry_after: Some(StdDuration::from_secs(120))
        }
    );

    let daily = [
        ("x-rate-limit-limit", "100"),
        ("x-rate-limit-remaining", "0"),
        ("x-rate-limit-reset", "1773139300"),
        ("x-user-limit-24hour-limit", "1440"),
        ("x-user-limit-24hour-remaining", "0"),
        ("x-user-limit-24hour-reset", "1773150000"),
    ];
    match parse_send_response(ChannelKind::X, 429, &daily, b"", now()) {
        SendOutcome::Transient { retry_after, .. } => {
            assert_eq!(
                retry_after,
                Some(StdDuration::from_secs(1773150000 - 1773139267))
            )
        }
        other => panic!("{other:?}"),
    }

    assert!(permanent_reason(&send(ChannelKind::X, 429, r#"{"title":"UsageCapExceeded","detail":"Usage cap exceeded: Monthly product cap","type":"https://api.twitter.com/2/problems/usage-capped"}"#)).contains("usage cap"));
    assert!(is_transient(&send(
        ChannelKind::X,
        503,
        r#"{"title":"Service Unavailable","type":"about:blank","status":503}"#
    )));
    let forbidden = send(
        ChannelKind::X,
        403,
        r#"{"title":"Forbidden","detail":"You are not permitted to perform this action.","type":"https://api.x.com/2/problems/not-authorized-for-resource","status":403}"#,
    );
    assert!(permanent_reason(&forbidden).contains("does not allow"));
    let gone = send(
        ChannelKind::X,
        400,
        r#"{"errors":[{"message":"The Tweet you are replying to has been deleted or is not visible to you."}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.x.com/2/problems/invalid-request"}"#,
    );
    assert!(permanent_reason(&gone).contains("deleted"), "{gone:?}");
    let not_found = send(
        ChannelKind::X,
        404,
        r#"{"title":"Not Found Error","type":"https://api.x.com/2/problems/resource-not-found","detail":"Could not find tweet"}"#,
    );
    assert!(permanent_reason(&not_found).contains("deleted"));
    assert!(permanent_reason(&send(
        ChannelKind::X,
        401,
        r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#
    ))
    .contains("token"));
}

#[test]
fn transport_failures_are_transient() {
    assert!(is_transient(&transport_failure("timed out after 30s")));
    let api = |s| parse_send_response(ChannelKind::Api, s, &[("Retry-After", "30")], b"", now());
    assert_eq!(
        api(503),
        SendOutcome::Transient {
            reason: "callback answered HTTP 503".into(),
            retry_after: Some(StdDuration::from_secs(30))
        }
    );
    assert!(matches!(api(422), SendOutcome::Permanent { .. }));
}

#[test]
fn already_exists_answers_count_as_sent() {
    let already = |o: SendOutcome| match o {
        SendOutcome::AlreadySent {
            platform_message_id,
            detail,
        } => (platform_message_id, detail),
        other => panic!("expected already sent, got {other:?}"),
    };
    // Graph 506: the same text is already posted.
    let (id, detail) = already(send(
        ChannelKind::FacebookPage,
        400,
        r#"{"error":{"message":"(#506) Duplicate status message","type":"OAuthException","code":506,"fbtrace_id":"A"}}"#,
    ));
    assert_eq!(id, None);
    assert!(detail.contains("506"), "{detail}");
    // X v2 problem and v1.1 code 187.
    let (_, detail) = already(send(
        ChannelKind::X,
        403,
        r#"{"detail":"You are not allowed to create a Tweet with duplicate content.","type":"about:blank","title":"Forbidden","status":403}"#,
    ));
    assert!(detail.contains("duplicate"), "{detail}");
    already(send(
        ChannelKind::X,
        403,
        r#"{"errors":[{"code":187,"message":"Status is a duplicate."}]}"#,
    ));
    // Another 403 stays a refusal.
    assert!(permanent_reason(&send(
        ChannelKind::X,
        403,
        r#"{"detail":"You are not permitted to perform this action.","type":"about:blank","title":"Forbidden","status":403}"#,
    ))
    .contains("does not allow"));
    // The api callback already has this Idempotency-Key, with or without naming its message.
    assert_eq!(
        already(send(ChannelKind::Api, 409, r#"{"id":"cb-7"}"#)).0,
        Some("cb-7".to_owned())
    );
    assert_eq!(already(send(ChannelKind::Api, 409, "")).0, None);
    assert!(permanent_reason(&send(ChannelKind::Api, 422, "")).contains("422"));
}
