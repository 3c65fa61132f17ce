//! Replies end to end: `POST /api/v1/cases/{id}/replies`, the outbox worker against the fake
//! platforms (exact requests, retries, failures, statuses), and crash/restart behaviour.

use chrono::Utc;
use serde_json::{json, Value};
use std::time::Duration;
use webcare_e2e::connectors::*;
use webcare_e2e::{expect_problem, Backend};
use webcare_fakes::OAuth1Keys;

const PAGE: &str = "104961234567890";
const POST: &str = "104961234567890_822112233445566";
const WA_PHONE: &str = "109876543210987";
const X_ME: &str = "1460000000000000001";

webcare_e2e::both_backends!(
    app = webcare_e2e::connectors::ConnApp;
    facebook_comment_reply_is_sent_once_and_its_echo_is_linked,
    whatsapp_reply_and_statuses_that_never_go_backwards,
    transient_errors_are_retried_then_sent,
    permanent_errors_fail_with_a_readable_reason,
    refusals_name_the_limit_and_roles_are_checked,
    api_channel_replies_are_signed_callbacks,
    x_replies_and_dm_reads_are_signed_with_oauth1_keys,
    an_already_exists_answer_is_recorded_as_sent,
    a_public_comment_with_a_bsn_is_hidden_through_the_outbox,
    x_cannot_hide_and_a_private_message_has_nothing_to_hide,
    an_erase_deletes_our_public_replies_on_the_platform,
);

mod never_twice {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_a_platform_id_recorded_twice_is_sent_once() {
        a_platform_id_recorded_twice_is_sent_once(Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_a_platform_id_recorded_twice_is_sent_once() {
        a_platform_id_recorded_twice_is_sent_once(Backend::Postgres).await
    }
}

mod restart {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_x_reply_in_doubt_after_a_crash_is_not_sent_twice() {
        x_reply_in_doubt_after_a_crash_is_not_sent_twice(Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_x_reply_in_doubt_after_a_crash_is_not_sent_twice() {
        x_reply_in_doubt_after_a_crash_is_not_sent_twice(Backend::Postgres).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_messenger_reply_in_doubt_is_never_resent() {
        messenger_reply_in_doubt_is_never_resent(Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_messenger_reply_in_doubt_is_never_resent() {
        messenger_reply_in_doubt_is_never_resent(Backend::Postgres).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_accepted_delivery_is_processed_after_a_restart() {
        accepted_delivery_is_processed_after_a_restart(Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_accepted_delivery_is_processed_after_a_restart() {
        accepted_delivery_is_processed_after_a_restart(Backend::Postgres).await
    }
}

fn comment_body(id: &str, from: (&str, &str), message: &str) -> String {
    json!({"object": "page", "entry": [{"id": PAGE, "time": 1773125114, "changes": [{"field": "feed", "value": {
        "item": "comment", "verb": "add", "comment_id": id, "post_id": POST, "parent_id": POST,
        "from": {"id": from.0, "name": from.1}, "message": message, "created_time": 1773125112}}]}]})
    .to_string()
}

async fn one_case(app: &ConnApp) -> String {
    let cases = app.cases().await;
    assert_eq!(cases.len(), 1, "{cases:?}");
    cases[0]["id"].as_str().unwrap().to_owned()
}

async fn facebook_case(app: &ConnApp) -> String {
    app.account("facebook_page", PAGE).await;
    let body = comment_body(
        "822112233445566_1200001",
        ("6987654321012345", "Fatima"),
        "Lantaarnpaal kapot bij de Kerkstraat 12",
    );
    assert_eq!(app.post_meta(&body).await.status(), 200);
    app.settle().await;
    one_case(app).await
}

async fn facebook_comment_reply_is_sent_once_and_its_echo_is_linked(app: ConnApp) {
    let case_id = facebook_case(&app).await;
    let text = "Dank voor je melding! We hebben het doorgezet naar Stadsbeheer 💡";
    let key = uuid::Uuid::now_v7().to_string();
    let res = app
        .client
        .post(app.url(&format!("/api/v1/cases/{case_id}/replies")))
        .bearer_auth(&app.admin_token)
        .header("Idempotency-Key", &key)
        .json(&json!({"text": text}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["id"], key.as_str());
    assert_eq!(created["visibility"], "public");
    assert_eq!(created["inReplyTo"], "822112233445566_1200001");
    assert_eq!(created["limits"]["maxChars"], 8000);
    assert!(created["limits"]["windowRemainingSeconds"].is_null());
    // The same key again: the stored reply, not a second one.
    let res = app
        .client
        .post(app.url(&format!("/api/v1/cases/{case_id}/replies")))
        .bearer_auth(&app.admin_token)
        .header("Idempotency-Key", &key)
        .json(&json!({"text": text}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let sent = app
        .wait_reply(&case_id, &key, |r| r["state"] == "sent")
        .await;
    let sent_requests = app.fakes.requests_to("POST", "/comments");
    assert_eq!(sent_requests.len(), 1);
    let r = &sent_requests[0];
    assert_eq!(r.path, "/v21.0/822112233445566_1200001/comments");
    assert_eq!(
        r.auth.as_deref(),
        Some(format!("Bearer {PAGE_TOKEN}").as_str())
    );
    assert_eq!(r.json, json!({"message": text}));
    let pmid = sent["platformMessageId"].as_str().unwrap().to_owned();
    assert_eq!(pmid, "822112233445566_900001");
    assert_eq!(sent["attempts"], 1);
    // The reply is in the case as an outbound message; the page-comment echo changes nothing.
    let echo = json!({"object": "page", "entry": [{"id": PAGE, "time": 1773125114, "changes": [{"field": "feed", "value": {
        "item": "comment", "verb": "add", "comment_id": pmid, "post_id": POST, "parent_id": "822112233445566_1200001",
        "from": {"id": PAGE, "name": "Gemeente"}, "message": text, "created_time": 1773125200}}]}]})
    .to_string();
    assert_eq!(app.post_meta(&echo).await.status(), 200);
    app.settle().await;
    let c = app.case(&case_id).await;
    let msgs = c["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[1]["platformMessageId"], pmid.as_str());
    assert_eq!(msgs[1]["direction"], "outbound");
    assert_eq!(msgs[1]["text"], text);
    assert_eq!(app.cases().await.len(), 1);
    assert_eq!(
        app.fakes.requests_to("POST", "/comments").len(),
        1,
        "sent once"
    );
}

fn wa_body(value: Value) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]}).to_string()
}

async fn whatsapp_case(app: &ConnApp, at: i64) -> String {
    app.account("whatsapp", WA_PHONE).await;
    let body = wa_body(
        json!({"messaging_product": "whatsapp", "metadata": {"display_phone_number": "31308001400", "phone_number_id": WA_PHONE},
        "contacts": [{"profile": {"name": "Sanne"}, "wa_id": "31612345678"}],
        "messages": [{"from": "31612345678", "id": "wamid.IN1", "timestamp": at.to_string(), "type": "text", "text": {"body": "Wanneer wordt het grofvuil opgehaald?"}}]}),
    );
    assert_eq!(app.post_meta(&body).await.status(), 200);
    app.settle().await;
    one_case(app).await
}

async fn whatsapp_reply_and_statuses_that_never_go_backwards(app: ConnApp) {
    let case_id = whatsapp_case(&app, Utc::now().timestamp() - 3600).await;
    let (status, created) = app
        .reply(
            &case_id,
            json!({"text": "Op dinsdag, zie de afvalkalender."}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["visibility"], "private");
    let w = created["limits"]["windowRemainingSeconds"]
        .as_i64()
        .unwrap();
    assert!((82_000..=82_800).contains(&w), "about 23 h left: {w}");
    let id = created["id"].as_str().unwrap().to_owned();
    let sent = app
        .wait_reply(&case_id, &id, |r| r["state"] == "sent")
        .await;
    let reqs = app.fakes.requests_to("POST", "/messages");
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, format!("/v21.0/{WA_PHONE}/messages"));
    assert_eq!(
        reqs[0].auth.as_deref(),
        Some(format!("Bearer {PAGE_TOKEN}").as_str())
    );
    assert_eq!(
        reqs[0].json,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "31612345678", "type": "text",
            "text": {"preview_url": false, "body": "Op dinsdag, zie de afvalkalender."},
            "biz_opaque_callback_data": format!("webcare:{id}")})
    );
    let wamid = sent["platformMessageId"].as_str().unwrap().to_owned();
    assert!(wamid.starts_with("wamid.FAKE"));
    // Statuses out of order and duplicated: read wins; a late failed does not undo it.
    for s in ["read", "delivered", "sent", "read", "failed"] {
        let body = wa_body(
            json!({"messaging_product": "whatsapp", "metadata": {"phone_number_id": WA_PHONE},
            "statuses": [{"id": wamid, "status": s, "timestamp": "1773136400", "recipient_id": "31612345678",
                "errors": if s == "failed" { json!([{"code": 131026, "title": "Message undeliverable"}]) } else { json!([]) }}]}),
        );
        assert_eq!(app.post_meta(&body).await.status(), 200);
        app.settle().await;
    }
    let r = app
        .wait_reply(&case_id, &id, |r| r["state"] == "read")
        .await;
    assert!(r["failureReason"].is_null());
    assert_eq!(app.fakes.requests_to("POST", "/messages").len(), 1);
}

async fn transient_errors_are_retried_then_sent(app: ConnApp) {
    let case_id = facebook_case(&app).await;
    app.fakes.inject("POST", "/comments", Fault::ServerError);
    app.fakes
        .inject("POST", "/comments", Fault::RateLimited { reset_in_s: 1 });
    let (status, created) = app
        .reply(&case_id, json!({"text": "We kijken ernaar."}))
        .await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap().to_owned();
    let sent = app
        .wait_reply(&case_id, &id, |r| r["state"] == "sent")
        .await;
    assert_eq!(sent["attempts"], 3);
    let reqs = app.fakes.requests_to("POST", "/comments");
    assert_eq!(reqs.len(), 3);
    assert!(reqs[0].fault.as_deref().unwrap().contains("ServerError"));
    assert!(reqs[1].fault.as_deref().unwrap().contains("RateLimited"));
    assert!(reqs[2].fault.is_none());
    assert!(reqs
        .iter()
        .all(|r| r.json == json!({"message": "We kijken ernaar."})));
    // The Graph throttle asked for 1 s: the third attempt waited for it.
    let c = app.case(&case_id).await;
    assert_eq!(c["messages"].as_array().unwrap().len(), 2);
}

async fn permanent_errors_fail_with_a_readable_reason(app: ConnApp) {
    let case_id = whatsapp_case(&app, Utc::now().timestamp() - 60).await;
    app.fakes
        .inject("POST", "/messages", Fault::whatsapp_re_engagement());
    let (_, created) = app.reply(&case_id, json!({"text": "Hallo"})).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let failed = app
        .wait_reply(&case_id, &id, |r| r["state"] == "failed")
        .await;
    let reason = failed["failureReason"].as_str().unwrap();
    assert!(
        reason.contains("24-hour window") && reason.contains("template"),
        "{reason}"
    );
    assert_eq!(failed["attempts"], 1, "permanent: no retry");
    app.fakes
        .inject("POST", "/messages", Fault::invalid_token());
    let (_, created) = app.reply(&case_id, json!({"text": "Nog een keer"})).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let failed = app
        .wait_reply(&case_id, &id, |r| r["state"] == "failed")
        .await;
    assert!(
        failed["failureReason"]
            .as_str()
            .unwrap()
            .contains("reconnect"),
        "{failed}"
    );
    // Only failed replies: the case has no outbound message.
    let c = app.case(&case_id).await;
    assert_eq!(c["messages"].as_array().unwrap().len(), 1);
    assert_eq!(app.fakes.requests_to("POST", "/messages").len(), 2);
}

async fn refusals_name_the_limit_and_roles_are_checked(app: ConnApp) {
    app.account("x", X_ME).await;
    let tweet = json!({"for_user_id": X_ME, "tweet_create_events": [{"id_str": "1900000000000000201", "text": "@gemeente parkeervergunning?",
        "user": {"id_str": "801", "screen_name": "kees"}, "timestamp_ms": "1773132000000"}]}).to_string();
    assert_eq!(app.post_x(&tweet).await.status(), 200);
    app.settle().await;
    let case_id = one_case(&app).await;
    let (status, body) = app.reply(&case_id, json!({"text": "a".repeat(281)})).await;
    assert_eq!(status, 400);
    assert_eq!(body["invalidParams"][0]["name"], "text");
    assert_eq!(body["invalidParams"][0]["code"], "too_long");
    assert!(
        body["invalidParams"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("280"),
        "{body}"
    );
    let (status, body) = app.reply(&case_id, json!({"text": "  "})).await;
    assert_eq!(
        (status, body["invalidParams"][0]["code"].as_str()),
        (400, Some("empty"))
    );
    let (status, _) = app.reply(&case_id, json!({"text": "ok", "bogus": 1})).await;
    assert_eq!(status, 400);
    for role in [
        webcare_domain::Role::Integration,
        webcare_domain::Role::Department,
    ] {
        let t = app.token(role).await;
        let res = app
            .client
            .post(app.url(&format!("/api/v1/cases/{case_id}/replies")))
            .bearer_auth(t)
            .json(&json!({"text": "x"}))
            .send()
            .await
            .unwrap();
        expect_problem(res, 403).await;
    }
    let t = app.token(webcare_domain::Role::Agent).await;
    let res = app
        .client
        .post(app.url(&format!("/api/v1/cases/{case_id}/replies")))
        .bearer_auth(t)
        .json(&json!({"text": "Zie gemeente.nl/parkeren"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = app
        .post(
            &format!("/api/v1/cases/{}/replies", uuid::Uuid::now_v7()),
            &json!({"text": "x"}),
        )
        .send()
        .await
        .unwrap();
    expect_problem(res, 404).await;
    // WhatsApp, last citizen message 30 h ago: outside the window, with the alternative.
    let wa_case = {
        app.account("whatsapp", WA_PHONE).await;
        let body = wa_body(
            json!({"messaging_product": "whatsapp", "metadata": {"phone_number_id": WA_PHONE},
            "contacts": [{"profile": {"name": "Sanne"}, "wa_id": "31612345678"}],
            "messages": [{"from": "31612345678", "id": "wamid.OLD", "timestamp": (Utc::now().timestamp() - 30 * 3600).to_string(), "type": "text", "text": {"body": "Hallo?"}}]}),
        );
        assert_eq!(app.post_meta(&body).await.status(), 200);
        app.settle().await;
        app.cases()
            .await
            .iter()
            .find(|c| c["id"] != case_id.as_str())
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (status, body) = app
        .reply(&wa_case, json!({"text": "Sorry voor de late reactie"}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["invalidParams"][0]["code"], "outside_window");
    assert!(body["invalidParams"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("template"));
    assert!(app
        .store
        .case_replies(wa_case.parse().unwrap())
        .await
        .unwrap()
        .is_empty());
}

async fn api_channel_replies_are_signed_callbacks(app: ConnApp) {
    let account = app.account("api", "zaaksysteem").await;
    let res = app
        .post("/api/v1/messages", &json!({"channelAccountId": account, "platformMessageId": "web-1", "visibility": "private",
            "author": {"platformUserId": "burger-1"}, "text": "Vraag over mijn WOZ", "sentAt": "2026-03-09T09:15:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let case_id = one_case(&app).await;
    let (status, created) = app
        .reply(
            &case_id,
            json!({"text": "U krijgt binnen 5 dagen antwoord."}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let sent = app
        .wait_reply(&case_id, &id, |r| r["state"] == "sent")
        .await;
    assert_eq!(sent["platformMessageId"], "cb-1");
    let reqs = app.fakes.requests_to("POST", "/callback/zaken");
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.header("idempotency-key"), Some(id.as_str()));
    let ts: i64 = r.header("x-webcare-timestamp").unwrap().parse().unwrap();
    webcare_connectors::signature::verify_webhook(
        API_SECRET.as_bytes(),
        ts,
        &r.body,
        r.header("x-webcare-signature"),
    )
    .expect("signed");
    assert_eq!(r.json["text"], "U krijgt binnen 5 dagen antwoord.");
    assert_eq!(r.json["replyId"], id.as_str());
}

/// Crash between the send and recording it: the reply was POSTed to X but the desk died before
/// writing the answer down. After the restart the reply is in doubt; the worker finds the post
/// in our timeline, records its id, and does not post again.
async fn x_reply_in_doubt_after_a_crash_is_not_sent_twice(backend: Backend) {
    let Some(app) = ConnApp::spawn_with(backend, None).await else {
        return;
    };
    app.fakes.x_set_user(X_ME);
    app.account("x", X_ME).await;
    let tweet = json!({"for_user_id": X_ME, "tweet_create_events": [{"id_str": "1900000000000000301", "text": "@gemeente de brug staat open",
        "user": {"id_str": "801", "screen_name": "kees"}, "timestamp_ms": "1773132000000"}]}).to_string();
    assert_eq!(app.post_x(&tweet).await.status(), 200);
    app.settle().await;
    let case_id = one_case(&app).await;
    let text = "@kees klopt, er is een storing. Monteur is onderweg.";
    let (status, created) = app.reply(&case_id, json!({"text": text})).await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap().to_owned();
    // The worker's first step, committed: `sending`, with a lease that ends at once.
    let claimed = app
        .store
        .claim_replies(Utc::now(), chrono::Duration::milliseconds(1), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(!claimed[0].in_doubt);
    // Its HTTP call reaches X...
    let res = app
        .client
        .post(format!("{}/2/tweets", app.fakes.base))
        .bearer_auth(X_TOKEN)
        .json(&json!({"text": text, "reply": {"in_reply_to_tweet_id": "1900000000000000301"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let posted: Value = res.json().await.unwrap();
    // ...and the process dies before recording it.
    let (backend, url, fakes) = app.crash();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let app = ConnApp::on_url(backend, url, fakes, Some(test_workers())).await;
    let r = app
        .wait_reply(&case_id, &id, |r| r["state"] == "sent")
        .await;
    assert_eq!(r["platformMessageId"], posted["data"]["id"]);
    assert_eq!(
        app.fakes.requests_to("POST", "/2/tweets").len(),
        1,
        "not posted twice"
    );
    assert_eq!(
        app.fakes
            .requests_to("GET", &format!("/2/users/{X_ME}/tweets"))
            .len(),
        1,
        "checked first"
    );
    let c = app.case(&case_id).await;
    assert_eq!(c["messages"].as_array().unwrap().len(), 2);
    // A reply that never reached X before the crash is sent after the check.
    let (_, created) = app
        .reply(&case_id, json!({"text": "@kees update: opgelost"}))
        .await;
    let id2 = created["id"].as_str().unwrap().to_owned();
    app.wait_reply(&case_id, &id2, |r| r["state"] == "sent")
        .await;
    assert_eq!(app.fakes.requests_to("POST", "/2/tweets").len(), 2);
}

/// Messenger offers no lookup: an in-doubt reply is adopted by its echo when one arrives, and
/// otherwise failed with a reason; it is never sent a second time.
async fn messenger_reply_in_doubt_is_never_resent(backend: Backend) {
    let Some(app) = ConnApp::spawn_with(backend, None).await else {
        return;
    };
    app.account("facebook_page", PAGE).await;
    let psid = "2400000000000001";
    let now_ms = Utc::now().timestamp_millis();
    let msg = json!({"object": "page", "entry": [{"id": PAGE, "time": now_ms, "messaging": [{"sender": {"id": psid}, "recipient": {"id": PAGE},
        "timestamp": now_ms, "message": {"mid": "m_IN1", "text": "Is het stadskantoor morgen open?"}}]}]}).to_string();
    assert_eq!(app.post_meta(&msg).await.status(), 200);
    app.settle().await;
    let case_id = one_case(&app).await;
    let (_, a) = app
        .reply(&case_id, json!({"text": "Ja, van 9 tot 17 uur."}))
        .await;
    let (_, b) = app
        .reply(&case_id, json!({"text": "Maak wel een afspraak."}))
        .await;
    let (ida, idb) = (
        a["id"].as_str().unwrap().to_owned(),
        b["id"].as_str().unwrap().to_owned(),
    );
    let claimed = app
        .store
        .claim_replies(Utc::now(), chrono::Duration::milliseconds(1), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let (backend, url, fakes) = app.crash();
    let app = ConnApp::on_url(backend, url, fakes, None).await;
    // The echo of reply A arrives (it did go out); reply B's never does.
    let echo = json!({"object": "page", "entry": [{"id": PAGE, "time": now_ms, "messaging": [{"sender": {"id": PAGE}, "recipient": {"id": psid},
        "timestamp": now_ms + 1000, "message": {"mid": "m_OUT_A", "is_echo": true, "text": "Ja, van 9 tot 17 uur.", "metadata": format!("webcare:{ida}")}}]}]}).to_string();
    assert_eq!(app.post_meta(&echo).await.status(), 200);
    app.settle().await;
    let (backend, url, fakes) = app.crash();
    let app = ConnApp::on_url(backend, url, fakes, Some(test_workers())).await;
    let ra = app
        .wait_reply(&case_id, &ida, |r| r["state"] == "sent")
        .await;
    assert_eq!(ra["platformMessageId"], "m_OUT_A");
    let rb = app
        .wait_reply(&case_id, &idb, |r| r["state"] == "failed")
        .await;
    assert!(
        rb["failureReason"]
            .as_str()
            .unwrap()
            .contains("check the conversation"),
        "{rb}"
    );
    assert!(
        app.fakes.requests_to("POST", "/messages").is_empty(),
        "nothing sent again"
    );
    let c = app.case(&case_id).await;
    let ids: Vec<&str> = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platformMessageId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["m_IN1", "m_OUT_A"]);
}

/// A delivery accepted (journaled, 200 sent) but not processed before a crash is processed after
/// the restart, once.
async fn accepted_delivery_is_processed_after_a_restart(backend: Backend) {
    let Some(app) = ConnApp::spawn_with(backend, None).await else {
        return;
    };
    app.account("facebook_page", PAGE).await;
    let body = comment_body(
        "822112233445566_1200077",
        ("6987654321012345", "Fatima"),
        "Stoeptegel los bij de bibliotheek",
    );
    // Exactly what the webhook handler stores before answering 200; the process then dies.
    app.store
        .journal_append(
            webcare_store::connectors::JournalSource::Meta,
            None,
            body.as_bytes(),
            Utc::now(),
        )
        .await
        .unwrap();
    let (backend, url, fakes) = app.crash();
    let app = ConnApp::on_url(backend, url, fakes, Some(test_workers())).await;
    app.settle().await;
    let msgs = app.messages().await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].1, "822112233445566_1200077");
    // The platform's retry of the same delivery changes nothing.
    assert_eq!(app.post_meta(&body).await.status(), 200);
    app.settle().await;
    assert_eq!(app.messages().await.len(), 1);
    let s = app.store.journal_stats().await.unwrap();
    assert_eq!((s.processed, s.failed, s.pending), (2, 0, 0));
}

/// An X account with the developer portal's four OAuth 1.0a keys: replies (public and DM) and the
/// DM poll are signed, and the fake X checks each signature as X does. Wrong keys fail the reply
/// with a readable reason; an incomplete set is refused when the account is saved.
async fn x_replies_and_dm_reads_are_signed_with_oauth1_keys(app: ConnApp) {
    let keys = OAuth1Keys {
        consumer_key: "gemeente-consumer-key".into(),
        consumer_secret: X_CONSUMER_SECRET.into(),
        token: format!("{X_ME}-access-token"),
        token_secret: "access-token-secret-9876".into(),
    };
    app.fakes.x_set_user(X_ME);
    app.fakes.x_require_oauth1(keys.clone());
    let create = |token_secret: &str, external_id: &str| {
        json!({"kind": "x", "name": "Gemeente op X", "externalId": external_id,
            "apiBaseUrl": app.fakes.base, "defaultTeam": "kcc",
            "credentials": {"consumerKey": keys.consumer_key, "consumerSecret": keys.consumer_secret,
                "accessToken": keys.token, "accessTokenSecret": token_secret}})
    };
    // Three of four keys: refused, nothing saved.
    let mut partial = create("x", X_ME);
    partial["credentials"]
        .as_object_mut()
        .unwrap()
        .remove("accessTokenSecret");
    let res = app
        .post("/api/v1/channel-accounts", &partial)
        .send()
        .await
        .unwrap();
    let problem = expect_problem(res, 400).await;
    assert_eq!(
        problem["invalidParams"][0]["name"], "credentials",
        "{problem}"
    );
    let res = app
        .post(
            "/api/v1/channel-accounts",
            &create(&keys.token_secret, X_ME),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let account: Value = res.json().await.unwrap();

    let tweet = json!({"for_user_id": X_ME, "tweet_create_events": [{"id_str": "1900000000000000401", "text": "@gemeente lantaarnpaal kapot bij het station",
        "user": {"id_str": "801", "screen_name": "kees"}, "timestamp_ms": "1773132000000"}]}).to_string();
    assert_eq!(app.post_x(&tweet).await.status(), 200);
    let dm = json!({"for_user_id": X_ME, "direct_message_events": [{"type": "message_create", "id": "1700000000000000401",
        "created_timestamp": "1773132100000", "message_create": {"target": {"recipient_id": X_ME}, "sender_id": "802",
        "message_data": {"text": "Mag ik mijn adres via DM sturen?"}}}], "users": {"802": {"id": "802", "screen_name": "anna", "name": "Anna"}}})
    .to_string();
    assert_eq!(app.post_x(&dm).await.status(), 200);
    app.settle().await;
    let cases = app.cases().await;
    assert_eq!(cases.len(), 2, "{cases:?}");
    for c in &cases {
        let id = c["id"].as_str().unwrap();
        let sent = app
            .reply_sent(
                id,
                json!({"text": "Dank, we geven het door aan openbare ruimte."}),
            )
            .await;
        assert!(sent["platformMessageId"].as_str().is_some(), "{sent}");
    }
    let posts = app.fakes.requests_to("POST", "/2/");
    assert_eq!(posts.len(), 2, "one tweet and one DM");
    for r in &posts {
        assert!(r.fault.is_none());
        let auth = r.auth.as_deref().unwrap();
        assert!(auth.starts_with("OAuth "), "{auth}");
        assert!(!auth.contains(&keys.token_secret) && !auth.contains(&keys.consumer_secret));
    }

    // Reading DMs is user context too: signed, and X's answer is ingested.
    app.fakes.x_add_dm_event(json!({"id": "1700000000000000402", "event_type": "MessageCreate", "text": "Oudegracht 1, Utrecht",
        "sender_id": "802", "participant_ids": ["802", X_ME], "dm_conversation_id": format!("802-{X_ME}"), "created_at": "2026-03-10T09:05:00.000Z"}));
    let record = app
        .store
        .get_channel_account(account["id"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let ingestor = webcare_desk::Ingestor::start(app.store.clone(), 1, 64);
    let cfg = webcare_workers::x_poller::PollerConfig::default();
    webcare_workers::x_poller::poll_dms(
        &webcare_workers::x_poller::Poll {
            store: &app.store,
            ingestor: &ingestor,
            client: &app.client,
            cfg: &cfg,
        },
        &record,
    )
    .await
    .map_err(|e| format!("{e:?}"))
    .unwrap();
    let dm_reads = app.fakes.requests_to("GET", "/2/dm_events");
    assert_eq!(dm_reads.len(), 1);
    assert!(dm_reads[0].auth.as_deref().unwrap().starts_with("OAuth "));
    let texts: Vec<String> = app.messages().await.into_iter().map(|m| m.3).collect();
    assert!(
        texts.iter().any(|t| t == "Oudegracht 1, Utrecht"),
        "{texts:?}"
    );

    // The same account with a wrong token secret: X answers 401 and the reply fails, readably.
    const OTHER: &str = "1460000000000000009";
    let res = app
        .post("/api/v1/channel-accounts", &create("wrong-secret", OTHER))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let tweet = json!({"for_user_id": OTHER, "tweet_create_events": [{"id_str": "1900000000000000402", "text": "@gemeente2 vraag",
        "user": {"id_str": "803", "screen_name": "piet"}, "timestamp_ms": "1773132000000"}]}).to_string();
    assert_eq!(app.post_x(&tweet).await.status(), 200);
    app.settle().await;
    let case = app
        .cases()
        .await
        .into_iter()
        .find(|c| !cases.iter().any(|old| old["id"] == c["id"]))
        .expect("the second account's case");
    let id = case["id"].as_str().unwrap();
    let (status, created) = app
        .reply(id, json!({"text": "@piet we kijken ernaar"}))
        .await;
    assert_eq!(status, 201, "{created}");
    let failed = app
        .wait_reply(id, created["id"].as_str().unwrap(), |r| {
            r["state"] == "failed"
        })
        .await;
    let reason = failed["failureReason"].as_str().unwrap_or_default();
    assert!(reason.contains("X token is invalid"), "{failed}");
}

/// Issue 12, defect 2: the receiver acknowledges every callback with the same id. Recording the
/// second reply hit the unique platform id, the reply stayed `sending`, came back in doubt when
/// its lease ran out and was sent again, every lease, without end (161 times in production). Now
/// the duplicate id is recorded as sent and the receiver gets each reply exactly once.
async fn a_platform_id_recorded_twice_is_sent_once(backend: Backend) {
    let mut workers = test_workers();
    let outbox = workers.outbox.as_mut().unwrap();
    // A short lease: a reply left `sending` comes back in doubt within 200 ms.
    outbox.lease = chrono::Duration::milliseconds(200);
    let Some(app) = ConnApp::spawn_with(backend, Some(workers)).await else {
        return;
    };
    app.fakes.callback_answers_id("zaak-ack");
    let account = app.account("api", "zaaksysteem").await;
    let res = app
        .post("/api/v1/messages", &json!({"channelAccountId": account, "platformMessageId": "web-1", "visibility": "private",
            "author": {"platformUserId": "burger-1"}, "text": "Vraag over mijn WOZ", "sentAt": "2026-03-09T09:15:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let case_id = one_case(&app).await;
    let first = app
        .reply_sent(&case_id, json!({"text": "We zoeken het uit."}))
        .await;
    assert_eq!(first["platformMessageId"], "zaak-ack");
    let (status, created) = app
        .reply(
            &case_id,
            json!({"text": "U krijgt binnen 5 dagen antwoord."}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    // Ten leases' time: a reply that cannot be recorded would have gone out again and again.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let sends = app
        .fakes
        .requests_to("POST", "/callback/zaken")
        .into_iter()
        .filter(|r| r.header("idempotency-key") == Some(id.as_str()))
        .count();
    assert_eq!(sends, 1, "the receiver got the second reply {sends} times");
    let second = app
        .wait_reply(&case_id, &id, |r| r["state"] == "sent")
        .await;
    assert_eq!(second["platformMessageId"], "zaak-ack");
    assert_eq!(second["attempts"], 1);
    assert!(second["failureReason"].is_null(), "{second}");
    // Both replies are in the case's history, each once.
    let c = app.case(&case_id).await;
    let outbound: Vec<&str> = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        outbound,
        vec!["We zoeken het uit.", "U krijgt binnen 5 dagen antwoord."]
    );
    assert_eq!(app.fakes.requests_to("POST", "/callback/zaken").len(), 2);
}

/// Issue 12, defect 2: Graph's "duplicate post" (506) means an earlier attempt went out: the reply
/// is recorded as sent, once, and not retried or failed.
async fn an_already_exists_answer_is_recorded_as_sent(app: ConnApp) {
    let case_id = facebook_case(&app).await;
    app.fakes.inject(
        "POST",
        "/comments",
        Fault::Graph {
            status: 400,
            code: 506,
            subcode: None,
            message: "(#506) Duplicate status message".into(),
        },
    );
    let (status, created) = app
        .reply(&case_id, json!({"text": "We kijken ernaar."}))
        .await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap().to_owned();
    let sent = app
        .wait_reply(&case_id, &id, |r| {
            r["state"] != "pending" && r["state"] != "sending"
        })
        .await;
    assert_eq!(sent["state"], "sent", "{sent}");
    assert_eq!(sent["attempts"], 1);
    assert!(sent["failureReason"].is_null());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.fakes.requests_to("POST", "/comments").len(), 1);
    let c = app.case(&case_id).await;
    let msgs = c["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[1]["direction"], "outbound");
    assert_eq!(msgs[1]["text"], "We kijken ernaar.");
}

/// Asks to hide a case's message; answers (status, body).
async fn hide(app: &ConnApp, case_id: &str, message_id: &str) -> (u16, Value) {
    let res = app
        .post(
            &format!("/api/v1/cases/{case_id}/messages/{message_id}/hide"),
            &json!({}),
        )
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

async fn a_public_comment_with_a_bsn_is_hidden_through_the_outbox(app: ConnApp) {
    app.account("facebook_page", PAGE).await;
    let comment = "822112233445566_1200077";
    let body = comment_body(
        comment,
        ("6987654321012345", "Fatima"),
        "Mijn BSN is 111222333, waar blijft mijn pas?",
    );
    assert_eq!(app.post_meta(&body).await.status(), 200);
    app.settle().await;
    let case_id = one_case(&app).await;
    let case = app.case(&case_id).await;
    let message = &case["messages"][0];
    assert_eq!(message["flags"], json!(["bsn"]), "the BSN warning");
    let mid = message["id"].as_str().unwrap().to_owned();
    let (status, queued) = hide(&app, &case_id, &mid).await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["kind"], "hide");
    assert_eq!(queued["platformId"], comment);
    let (status, again) = hide(&app, &case_id, &mid).await;
    assert_eq!(status, 202);
    assert_eq!(again["id"], queued["id"], "asking twice queues one action");
    // The outbox worker sends it: the fake Graph API sees the real request.
    let path = format!("/v21.0/{comment}");
    let mut sent = Vec::new();
    for _ in 0..100 {
        sent = app
            .fakes
            .requests_to("POST", &path)
            .into_iter()
            .filter(|r| r.path == path)
            .collect();
        let done = app
            .store
            .case_platform_actions(case_id.parse().unwrap())
            .await
            .unwrap()
            .iter()
            .all(|a| a.state == "done");
        if !sent.is_empty() && done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sent.len(), 1, "hidden once");
    assert_eq!(sent[0].json, json!({"is_hidden": true}));
    assert_eq!(
        sent[0].auth.as_deref(),
        Some(format!("Bearer {PAGE_TOKEN}").as_str())
    );
    let actions = app
        .store
        .case_platform_actions(case_id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].state, "done");
    // An outbound message, a bad id and another case's message are refused.
    let (status, p) = hide(&app, &case_id, "not-a-uuid").await;
    assert_eq!(status, 400);
    assert_eq!(p["invalidParams"][0]["name"], "messageId");
    let (status, _) = hide(&app, &case_id, &uuid::Uuid::now_v7().to_string()).await;
    assert_eq!(status, 404);
}

async fn x_cannot_hide_and_a_private_message_has_nothing_to_hide(app: ConnApp) {
    app.account("x", X_ME).await;
    let tweet = json!({"for_user_id": X_ME, "tweet_create_events": [{"id_str": "1900000000000000301", "text": "@gemeente mijn bsn 111222333",
        "user": {"id_str": "802", "screen_name": "kees"}, "timestamp_ms": "1773132000000"}]}).to_string();
    assert_eq!(app.post_x(&tweet).await.status(), 200);
    app.settle().await;
    let case_id = one_case(&app).await;
    let case = app.case(&case_id).await;
    let mid = case["messages"][0]["id"].as_str().unwrap().to_owned();
    let (status, p) = hide(&app, &case_id, &mid).await;
    assert_eq!(status, 409, "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("X cannot hide"),
        "{p}"
    );
    assert!(app
        .store
        .case_platform_actions(case_id.parse().unwrap())
        .await
        .unwrap()
        .is_empty());
    // Our own reply is no citizen's public message.
    let reply = app
        .reply_sent(&case_id, json!({"text": "Stuur ons een DM"}))
        .await;
    let case = app.case(&case_id).await;
    let ours = case["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["direction"] == "outbound")
        .unwrap_or_else(|| panic!("the sent reply {reply} is a message"));
    let (status, p) = hide(&app, &case_id, ours["id"].as_str().unwrap()).await;
    assert_eq!(status, 400, "{p}");
    assert_eq!(p["invalidParams"][0]["code"], "not_public");
}

/// AVG art. 17 on the platform: erasing a contact queues the deletion of the desk's own public
/// replies (Graph `DELETE /{comment-id}`, X `DELETE /2/tweets/{id}`), which the outbox sends; the
/// erase's audit counts them.
async fn an_erase_deletes_our_public_replies_on_the_platform(app: ConnApp) {
    let case_id = facebook_case(&app).await;
    let sent = app
        .reply_sent(&case_id, json!({"text": "We gaan ermee aan de slag"}))
        .await;
    let ours = sent["platformMessageId"].as_str().unwrap().to_owned();
    let case = app.case(&case_id).await;
    let contact = case["contactId"].as_str().unwrap().to_owned();
    let res = app
        .patch(
            &format!("/api/v1/cases/{case_id}"),
            &json!({"status": "closed", "noReplyReason": "Afgehandeld"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .post(
            &format!("/api/v1/contacts/{contact}/erase"),
            &json!({"reason": "Verzoek van de burger"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let erased: Value = res.json().await.unwrap();
    assert_eq!(erased["platformDeletions"], 1, "{erased}");
    let path = format!("/v21.0/{ours}");
    let mut deleted = Vec::new();
    for _ in 0..100 {
        deleted = app.fakes.requests_to("DELETE", &path);
        if !deleted.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(deleted.len(), 1, "our reply is deleted on Facebook");
    assert_eq!(deleted[0].path, path);
    assert!(
        app.fakes
            .requests_to("DELETE", "822112233445566_1200001")
            .is_empty(),
        "the citizen's own comment is theirs to delete"
    );
    let audit = app
        .store
        .list_audit(Default::default(), None, 500)
        .await
        .unwrap();
    let erase = audit
        .items
        .iter()
        .find(|a| a.action == "contact.erased")
        .expect("the erase is audited");
    assert_eq!(erase.detail["platformDeletions"], 1);
}
