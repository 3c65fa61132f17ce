//! Inbound connectors end to end: realistic delivery sequences per platform through the real,
//! signed webhook endpoints, asserting the exact cases and messages that result.

use serde_json::{json, Value};
use webcare_e2e::connectors::*;
use webcare_e2e::expect_problem;

const PAGE: &str = "104961234567890";
const POST: &str = "104961234567890_822112233445566";
const IG: &str = "17841400000000001";
const WA_PHONE: &str = "109876543210987";
const X_ME: &str = "1460000000000000001";

webcare_e2e::both_backends!(
    app = webcare_e2e::connectors::ConnApp;
    meta_subscription_handshake,
    bad_deliveries_are_refused_and_store_nothing,
    facebook_feed_sequence_threads_dedupes_edits_and_deletes,
    messenger_and_instagram_dms_with_echoes_edits_and_unsend,
    whatsapp_messages_bsn_media_and_duplicates,
    x_account_activity_crc_mentions_echoes_dms_and_deletes,
    journal_keeps_failed_items_for_replay,
    a_rotated_app_secret_applies_to_the_next_delivery,
);

fn feed_comment(id: &str, parent: &str, from: (&str, &str), message: &str, t: i64) -> Value {
    json!({"field": "feed", "value": {
        "item": "comment", "verb": "add", "comment_id": id, "post_id": POST, "parent_id": parent,
        "from": {"id": from.0, "name": from.1}, "message": message, "created_time": t,
        "post": {"id": POST, "status_type": "added_photos", "is_published": true}}})
}

fn page_body(changes: Vec<Value>) -> String {
    json!({"object": "page", "entry": [{"id": PAGE, "time": 1773125114, "changes": changes}]})
        .to_string()
}

async fn meta_subscription_handshake(app: ConnApp) {
    app.account("facebook_page", PAGE).await;
    let ok = app
        .client
        .get(app.url(&format!(
            "/webhooks/meta?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    for q in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        "hub.mode=unsubscribe&hub.verify_token=verify-me-please&hub.challenge=1",
        "hub.challenge=1",
    ] {
        let res = app
            .client
            .get(app.url(&format!("/webhooks/meta?{q}")))
            .send()
            .await
            .unwrap();
        expect_problem(res, 403).await;
    }
}

async fn bad_deliveries_are_refused_and_store_nothing(app: ConnApp) {
    app.account("facebook_page", PAGE).await;
    app.account("whatsapp", WA_PHONE).await;
    let body = page_body(vec![feed_comment(
        "822112233445566_1",
        POST,
        ("69", "Jan"),
        "Hallo",
        1773125112,
    )]);
    // Missing, malformed, wrong (other secret), and a signature over other bytes.
    expect_problem(app.post_meta_signed(&body, None).await, 401).await;
    expect_problem(app.post_meta_signed(&body, Some("sha256=zz")).await, 401).await;
    let other = webcare_connectors::signature::sign_meta(b"not-the-secret", body.as_bytes());
    expect_problem(app.post_meta_signed(&body, Some(&other)).await, 401).await;
    let sig = webcare_connectors::signature::sign_meta(APP_SECRET.as_bytes(), body.as_bytes());
    let tampered = body.replace("Hallo", "Hallo!");
    expect_problem(app.post_meta_signed(&tampered, Some(&sig)).await, 401).await;
    // Malformed/truncated JSON, unknown object, no account id: 400. Unknown page: 404.
    let trunc = &body[..body.len() - 5];
    expect_problem(app.post_meta(trunc).await, 400).await;
    expect_problem(
        app.post_meta(r#"{"object":"user","entry":[{"id":"1"}]}"#)
            .await,
        400,
    )
    .await;
    expect_problem(
        app.post_meta(r#"{"object":"page","entry":[{"time":1}]}"#)
            .await,
        400,
    )
    .await;
    let unknown = body.replace(PAGE, "999999999");
    expect_problem(app.post_meta(&unknown).await, 404).await;
    // Over the limit: 413. WhatsApp may send 3 MB: accepted.
    let huge = format!(
        r#"{{"object":"page","entry":[{{"id":"{PAGE}","x":"{}"}}]}}"#,
        "a".repeat(4 * 1024 * 1024 + 10)
    );
    expect_problem(app.post_meta(&huge).await, 413).await;
    let stats = app.store.journal_stats().await.unwrap();
    assert_eq!(
        (stats.pending, stats.processed, stats.failed),
        (0, 0, 0),
        "nothing stored"
    );
    assert_eq!(app.store.count_messages().await.unwrap(), 0);

    let big_text = "x".repeat(3 * 1024 * 1024 - 2000);
    let wa = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "31308001400", "phone_number_id": WA_PHONE},
        "contacts": [{"profile": {"name": "Groot"}, "wa_id": "31612345678"}],
        "messages": [{"from": "31612345678", "id": "wamid.BIG", "timestamp": "1773136107", "type": "text", "text": {"body": big_text}}]}}]}]})
    .to_string();
    assert!(wa.len() > 3_000_000);
    let res = app.post_meta(&wa).await;
    assert_eq!(res.status(), 200);
    app.settle().await;
    assert_eq!(app.store.count_messages().await.unwrap(), 1);
    // A valid body with only items we do not handle: acknowledged, processed, nothing stored.
    let reaction = page_body(vec![
        json!({"field": "feed", "value": {"item": "reaction", "verb": "add", "reaction_type": "love", "post_id": POST, "from": {"id": "5", "name": "A"}}}),
    ]);
    assert_eq!(app.post_meta(&reaction).await.status(), 200);
    let unknown_field = page_body(vec![json!({"field": "ratings", "value": {}})]);
    assert_eq!(app.post_meta(&unknown_field).await.status(), 200);
    app.settle().await;
    let stats = app.store.journal_stats().await.unwrap();
    assert_eq!((stats.processed, stats.failed), (3, 0));
    assert_eq!(app.store.count_messages().await.unwrap(), 1);
}

async fn facebook_feed_sequence_threads_dedupes_edits_and_deletes(app: ConnApp) {
    app.account("facebook_page", PAGE).await;
    let fatima = ("6987654321012345", "Fatima El Amrani");
    let piet = ("7111222333444555", "Piet de Vries");
    let c1 = "822112233445566_1200001";
    let c2 = "822112233445566_1200002";
    let c3 = "822112233445566_1200003";
    let photo = "822112233445566_1200004";
    let emoji_text = "De lantaarnpaal bij de Kerkstraat 12 is al een week kapot 👨\u{200d}👩\u{200d}👧\u{200d}👦 مرحبا 🇳🇱";
    // Delivery 1 (out of order): Fatima's follow-up reply arrives before her first comment.
    let d1 = page_body(vec![feed_comment(
        c2,
        c1,
        fatima,
        "Het is nog steeds donker 😡",
        1773125300,
    )]);
    // Delivery 2: a batch with her first comment, Piet's own top-level comment and a photo-only one.
    let mut photo_change = feed_comment(photo, POST, piet, "", 1773125400);
    photo_change["value"]["photo"] = json!("https://scontent.example/photo.jpg");
    photo_change["value"]
        .as_object_mut()
        .unwrap()
        .remove("message");
    let d2 = page_body(vec![
        feed_comment(c1, POST, fatima, emoji_text, 1773125112),
        feed_comment(
            c3,
            POST,
            piet,
            "Afvalkalender klopt niet voor de Dorpsstraat",
            1773125200,
        ),
        photo_change,
    ]);
    for d in [&d1, &d2, &d2, &d1] {
        assert_eq!(
            app.post_meta(d).await.status(),
            200,
            "duplicates are accepted too"
        );
    }
    app.settle().await;
    // Edit of Piet's comment, then removal of Fatima's follow-up.
    let edit = page_body(vec![
        json!({"field": "feed", "value": {"item": "comment", "verb": "edited",
        "comment_id": c3, "post_id": POST, "parent_id": POST, "from": {"id": piet.0, "name": piet.1},
        "message": "Afvalkalender klopt niet voor de Dorpsstraat 3-15", "created_time": 1773125500}}),
    ]);
    let remove = page_body(vec![
        json!({"field": "feed", "value": {"item": "comment", "verb": "remove",
        "comment_id": c2, "post_id": POST, "parent_id": c1, "from": {"id": fatima.0}, "created_time": 1773125600}}),
    ]);
    // An echo of a comment the page typed in Meta's own inbox (no outbox reply): joins the case.
    let page_comment = page_body(vec![feed_comment(
        "822112233445566_1200009",
        c1,
        (PAGE, "Gemeente"),
        "We gaan het bekijken!",
        1773125700,
    )]);
    // The page's own new post: never a case.
    let page_post = page_body(vec![
        json!({"field": "feed", "value": {"item": "status", "verb": "add",
        "post_id": "104961234567890_9", "from": {"id": PAGE, "name": "Gemeente"}, "message": "Let op: werkzaamheden", "created_time": 1773125800}}),
    ]);
    for d in [&edit, &remove, &page_comment, &page_post, &edit] {
        assert_eq!(app.post_meta(d).await.status(), 200);
    }
    app.settle().await;

    let cases = app.cases().await;
    assert_eq!(cases.len(), 2, "one case per citizen per post: {cases:?}");
    let msgs = app.messages().await;
    let fatima_case = msgs.iter().find(|m| m.1 == c1).unwrap().0;
    let piet_case = msgs.iter().find(|m| m.1 == c3).unwrap().0;
    assert_ne!(fatima_case, piet_case);
    let in_case = |i: usize| -> Vec<String> {
        let mut v: Vec<String> = msgs
            .iter()
            .filter(|m| m.0 == i)
            .map(|m| m.1.clone())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        in_case(fatima_case),
        vec![
            c1.to_owned(),
            c2.to_owned(),
            "822112233445566_1200009".to_owned()
        ]
    );
    assert_eq!(in_case(piet_case), vec![c3.to_owned(), photo.to_owned()]);
    assert_eq!(
        msgs.len(),
        5,
        "duplicates stored once; the page post is no message"
    );

    let fc = app.case(cases[fatima_case]["id"].as_str().unwrap()).await;
    let by_id = |d: &Value, id: &str| {
        d["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["platformMessageId"] == id)
            .unwrap()
            .clone()
    };
    let first = by_id(&fc, c1);
    assert_eq!(
        first["text"].as_str().unwrap().as_bytes(),
        emoji_text.as_bytes(),
        "byte-exact"
    );
    assert_eq!(first["sentAt"], "2026-03-10T06:45:12Z");
    let second = by_id(&fc, c2);
    assert!(
        second["deletedAt"].is_string(),
        "removed comment is marked deleted"
    );
    assert_eq!(second["inReplyTo"], c1);
    let echo = by_id(&fc, "822112233445566_1200009");
    assert_eq!(echo["direction"], "outbound");
    let pc = app.case(cases[piet_case]["id"].as_str().unwrap()).await;
    let edited = by_id(&pc, c3);
    assert_eq!(
        edited["text"],
        "Afvalkalender klopt niet voor de Dorpsstraat 3-15"
    );
    assert_eq!(
        edited["editHistory"].as_array().unwrap().len(),
        1,
        "the repeated edit is applied once"
    );
    assert_eq!(
        edited["editHistory"][0]["text"],
        "Afvalkalender klopt niet voor de Dorpsstraat"
    );
    let media = by_id(&pc, photo);
    assert_eq!(media["text"], "");
    assert_eq!(media["attachments"][0]["kind"], "image");
    assert_eq!(
        media["attachments"][0]["url"],
        "https://scontent.example/photo.jpg"
    );
}

fn messaging_body(object: &str, account: &str, items: Vec<Value>) -> String {
    json!({"object": object, "entry": [{"id": account, "time": 1773139267500i64, "messaging": items}]}).to_string()
}

async fn messenger_and_instagram_dms_with_echoes_edits_and_unsend(app: ConnApp) {
    app.account("facebook_page", PAGE).await;
    app.account("instagram", IG).await;
    let psid = "2400000000000001";
    let m1 = json!({"sender": {"id": psid}, "recipient": {"id": PAGE}, "timestamp": 1773139267212i64,
        "message": {"mid": "m_AAA1", "text": "Hoe vraag ik een parkeervergunning aan?"}});
    let m2 = json!({"sender": {"id": psid}, "recipient": {"id": PAGE}, "timestamp": 1773139268212i64,
        "message": {"mid": "m_AAA2", "attachments": [{"type": "image", "payload": {"url": "https://cdn.example/kenteken.jpg"}}]}});
    let edit = json!({"sender": {"id": psid}, "recipient": {"id": PAGE}, "timestamp": 1773139269212i64,
        "message_edit": {"mid": "m_AAA1", "text": "Hoe vraag ik een bewonersvergunning aan?", "num_edit": 1}});
    // An echo of a message typed in Meta's inbox by staff: joins the conversation's case.
    let echo = json!({"sender": {"id": PAGE}, "recipient": {"id": psid}, "timestamp": 1773139270212i64,
        "message": {"mid": "m_ECHO1", "is_echo": true, "app_id": 263902037430900i64, "text": "Via de website, zie gemeente.nl/parkeren"}});
    let delivery = json!({"sender": {"id": psid}, "recipient": {"id": PAGE}, "timestamp": 1773139271212i64,
        "delivery": {"mids": ["m_ECHO1"], "watermark": 1773139271000i64}});
    let standby = json!({"object": "page", "entry": [{"id": PAGE, "time": 1773139267500i64, "standby": [
        {"sender": {"id": psid}, "recipient": {"id": PAGE}, "timestamp": 1773139272212i64, "message": {"mid": "m_AAA3", "text": "Bedankt! 🙏"}}]}]})
    .to_string();
    assert_eq!(
        app.post_meta(&messaging_body("page", PAGE, vec![m2.clone(), m1.clone()]))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.post_meta(&messaging_body(
            "page",
            PAGE,
            vec![edit, echo, delivery, m1]
        ))
        .await
        .status(),
        200
    );
    assert_eq!(app.post_meta(&standby).await.status(), 200);
    // Instagram: a DM and its unsend.
    let igsid = "5300000000000009";
    let ig1 = json!({"sender": {"id": igsid}, "recipient": {"id": IG}, "timestamp": 1773139267212i64,
        "message": {"mid": "aWdfZAG1", "text": "Wanneer is het zwembad open?"}});
    let unsend = json!({"sender": {"id": igsid}, "recipient": {"id": IG}, "timestamp": 1773139299212i64,
        "message": {"mid": "aWdfZAG1", "is_deleted": true}});
    assert_eq!(
        app.post_meta(&messaging_body("instagram", IG, vec![ig1]))
            .await
            .status(),
        200
    );
    app.settle().await;
    assert_eq!(
        app.post_meta(&messaging_body("instagram", IG, vec![unsend]))
            .await
            .status(),
        200
    );
    app.settle().await;

    let cases = app.cases().await;
    assert_eq!(cases.len(), 2, "{cases:?}");
    let msgs = app.messages().await;
    let ids: Vec<&str> = msgs.iter().map(|m| m.1.as_str()).collect();
    assert_eq!(msgs.len(), 5, "{ids:?}");
    let messenger_case = msgs.iter().find(|m| m.1 == "m_AAA1").unwrap().0;
    for id in ["m_AAA2", "m_ECHO1", "m_AAA3"] {
        assert_eq!(
            msgs.iter().find(|m| m.1 == id).unwrap().0,
            messenger_case,
            "{id}"
        );
    }
    let mc = app
        .case(cases[messenger_case]["id"].as_str().unwrap())
        .await;
    let first = mc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["platformMessageId"] == "m_AAA1")
        .unwrap();
    assert_eq!(first["text"], "Hoe vraag ik een bewonersvergunning aan?");
    assert_eq!(
        first["editHistory"][0]["text"],
        "Hoe vraag ik een parkeervergunning aan?"
    );
    assert_eq!(first["visibility"], "private");
    let ig_case = msgs.iter().find(|m| m.1 == "aWdfZAG1").unwrap().0;
    let ic = app.case(cases[ig_case]["id"].as_str().unwrap()).await;
    assert!(
        ic["messages"][0]["deletedAt"].is_string(),
        "unsend marks it deleted"
    );
}

async fn whatsapp_messages_bsn_media_and_duplicates(app: ConnApp) {
    app.account("whatsapp", WA_PHONE).await;
    let wa = |messages: Vec<Value>| {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": {"display_phone_number": "31308001400", "phone_number_id": WA_PHONE},
            "contacts": [{"profile": {"name": "Sanne Bakker"}, "wa_id": "31612345678"}], "messages": messages}}]}]})
        .to_string()
    };
    let text = json!({"from": "31612345678", "id": "wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQz1", "timestamp": "1773136107",
        "type": "text", "text": {"body": "Mijn BSN is 123456782, kunt u mijn verhuizing controleren?"}});
    let image = json!({"from": "31612345678", "id": "wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQz2", "timestamp": "1773136160",
        "type": "image", "image": {"id": "1479537139650973", "mime_type": "image/jpeg", "sha256": "abc"}});
    let reply = json!({"from": "31612345678", "id": "wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQz3", "timestamp": "1773136200",
        "type": "text", "text": {"body": "Zie foto ☝️"}, "context": {"from": "31308001400", "id": "wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQz1"}});
    let reaction = json!({"from": "31612345678", "id": "wamid.R", "timestamp": "1773136300", "type": "reaction",
        "reaction": {"message_id": "wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQz1", "emoji": "👍"}});
    assert_eq!(
        app.post_meta(&wa(vec![reply.clone(), text.clone()]))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.post_meta(&wa(vec![image, text, reaction]))
            .await
            .status(),
        200
    );
    assert_eq!(app.post_meta(&wa(vec![reply])).await.status(), 200);
    app.settle().await;
    let cases = app.cases().await;
    assert_eq!(cases.len(), 1);
    let c = app.case(cases[0]["id"].as_str().unwrap()).await;
    let msgs = c["messages"].as_array().unwrap();
    let ids: Vec<&str> = msgs
        .iter()
        .map(|m| m["platformMessageId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            "wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQz1",
            "wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQz2",
            "wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQz3"
        ]
    );
    assert_eq!(msgs[0]["flags"], json!(["bsn"]));
    assert_eq!(msgs[0]["author"]["displayName"], "Sanne Bakker");
    assert_eq!(msgs[1]["attachments"][0]["kind"], "image");
    assert_eq!(
        msgs[1]["attachments"][0]["platformMediaId"],
        "1479537139650973"
    );
    assert_eq!(msgs[2]["inReplyTo"], "wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQz1");
    assert_eq!(msgs[2]["flags"], json!([]));
    // A status for a message we never sent: acknowledged, nothing changes.
    let status = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"phone_number_id": WA_PHONE},
        "statuses": [{"id": "wamid.UNKNOWN", "status": "delivered", "timestamp": "1773136400", "recipient_id": "31612345678"}]}}]}]});
    assert_eq!(app.post_meta(&status.to_string()).await.status(), 200);
    app.settle().await;
    assert_eq!(app.store.journal_stats().await.unwrap().failed, 0);
}

async fn x_account_activity_crc_mentions_echoes_dms_and_deletes(app: ConnApp) {
    app.account("x", X_ME).await;
    let crc = app
        .client
        .get(app.url("/webhooks/x?crc_token=abc123"))
        .send()
        .await
        .unwrap();
    assert_eq!(crc.status(), 200);
    let v: Value = crc.json().await.unwrap();
    assert_eq!(
        v["response_token"],
        webcare_connectors::signature::x_crc_response(X_CONSUMER_SECRET.as_bytes(), "abc123")
    );
    let crc = app
        .client
        .get(app.url("/webhooks/x?crc_token=abc&account=42"))
        .send()
        .await
        .unwrap();
    expect_problem(crc, 404).await;
    expect_problem(
        app.client.get(app.url("/webhooks/x")).send().await.unwrap(),
        400,
    )
    .await;

    let tweet = |id: &str, user: (&str, &str), text: &str, reply_to: Option<&str>| {
        json!({"created_at": "Tue Mar 10 08:40:00 +0000 2026", "id": id.parse::<u64>().unwrap(), "id_str": id, "text": text,
            "user": {"id_str": user.0, "screen_name": user.1, "name": user.1},
            "in_reply_to_status_id_str": reply_to, "timestamp_ms": "1773132000000"})
    };
    let root = "1900000000000000101";
    let body = json!({"for_user_id": X_ME, "tweet_create_events": [
        tweet(root, ("801", "kees_utrecht"), "@gemeente de prullenbak op het Plein is vol", None),
        tweet("1900000000000000102", ("801", "kees_utrecht"), "@gemeente en hij stinkt", Some(root)),
        tweet("1900000000000000103", (X_ME, "gemeente"), "@kees_utrecht we sturen iemand langs", Some(root)),
    ]}).to_string();
    // Unsigned and wrongly signed: 401, nothing stored.
    let res = app
        .client
        .post(app.url("/webhooks/x"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    expect_problem(res, 401).await;
    let res = app
        .client
        .post(app.url("/webhooks/x"))
        .header("x-twitter-webhooks-signature", "sha256=AAAA")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    expect_problem(res, 401).await;
    assert_eq!(app.store.journal_stats().await.unwrap().pending, 0);
    assert_eq!(app.post_x(&body).await.status(), 200);
    app.settle().await;
    let dm = json!({"for_user_id": X_ME, "direct_message_events": [{"type": "message_create", "id": "1700000000000000001",
        "created_timestamp": "1773132100000", "message_create": {"target": {"recipient_id": X_ME}, "sender_id": "801",
        "message_data": {"text": "Mag ik mijn adres sturen via DM?"}}}], "users": {"801": {"id": "801", "screen_name": "kees_utrecht", "name": "Kees"}}})
    .to_string();
    assert_eq!(app.post_x(&dm).await.status(), 200);
    let del = json!({"for_user_id": X_ME, "tweet_delete_events": [{"status": {"id": "1900000000000000102", "user_id": "801"}, "timestamp_ms": "1773132200000"}]}).to_string();
    assert_eq!(app.post_x(&del).await.status(), 200);
    assert_eq!(
        app.post_x(&body).await.status(),
        200,
        "a redelivery is harmless"
    );
    app.settle().await;
    let msgs = app.messages().await;
    let cases = app.cases().await;
    // The DM joins the citizen's open case on this account (the store's threading rule).
    assert_eq!(cases.len(), 1, "{msgs:?}");
    let thread = msgs.iter().find(|m| m.1 == root).unwrap().0;
    let in_thread: Vec<(&str, &str)> = msgs
        .iter()
        .filter(|m| m.0 == thread)
        .map(|m| (m.1.as_str(), m.2.as_str()))
        .collect();
    assert_eq!(in_thread.len(), 4, "three tweets and the DM");
    assert!(
        in_thread.contains(&("1900000000000000103", "outbound")),
        "our tweet is linked, not a case"
    );
    let c = app.case(cases[thread]["id"].as_str().unwrap()).await;
    let deleted = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["platformMessageId"] == "1900000000000000102")
        .unwrap();
    assert!(deleted["deletedAt"].is_string());
    let dm = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["platformMessageId"] == "1700000000000000001")
        .unwrap();
    assert_eq!(dm["visibility"], "private");
    assert_eq!(dm["conversationKey"], format!("x:dm:801-{X_ME}"));
    assert_eq!(msgs.len(), 4);
}

async fn journal_keeps_failed_items_for_replay(app: ConnApp) {
    app.account("facebook_page", PAGE).await;
    // A journaled body that cannot be parsed (accepted by an older version, say): it is parked as
    // failed with its error, and replay after a fix puts it back.
    let id = app
        .store
        .journal_append(
            webcare_store::connectors::JournalSource::Meta,
            None,
            b"{\"object\":\"page\",\"entry\":5}",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    app.settle().await;
    let e = app.store.journal_get(id).await.unwrap().unwrap();
    assert_eq!(e.state, "failed");
    assert!(e.error.unwrap().contains("entry"), "the error is kept");
    assert_eq!(app.store.journal_replay(Some(id)).await.unwrap(), 1);
    assert_eq!(
        app.store.journal_get(id).await.unwrap().unwrap().state,
        "pending"
    );
    app.settle().await;
    assert_eq!(
        app.store.journal_get(id).await.unwrap().unwrap().state,
        "failed"
    );
}

/// Webhook handlers cache accounts; a change through the API applies to the very next delivery,
/// and a removed account's deliveries are refused at once.
async fn a_rotated_app_secret_applies_to_the_next_delivery(app: ConnApp) {
    let id = app.account("facebook_page", PAGE).await;
    let body = page_body(vec![feed_comment(
        "c-1",
        POST,
        ("7701", "Jan"),
        "Lamp kapot",
        1773125114,
    )]);
    assert_eq!(app.post_meta(&body).await.status(), 200);
    let res = app
        .patch(&format!("/api/v1/channel-accounts/{id}"), &json!({"credentials": {
            "appSecret": "the-new-secret", "verifyToken": VERIFY_TOKEN, "accessToken": PAGE_TOKEN}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let body = page_body(vec![feed_comment(
        "c-2",
        POST,
        ("7701", "Jan"),
        "Nog steeds",
        1773125200,
    )]);
    let res = app.post_meta(&body).await;
    expect_problem(res, 401).await;
    let sig = webcare_connectors::signature::sign_meta(b"the-new-secret", body.as_bytes());
    assert_eq!(app.post_meta_signed(&body, Some(&sig)).await.status(), 200);
    let res = app
        .delete(&format!("/api/v1/channel-accounts/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    expect_problem(app.post_meta_signed(&body, Some(&sig)).await, 404).await;
}
