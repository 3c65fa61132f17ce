//! Issue 17's defects of the platform doors: one input contract for every door (NUL and other
//! control characters, implausible times, over-long text, a message without a sender), one
//! unknown page in a Meta delivery, and what was accepted but not stored made visible to the
//! admin (parked deliveries, rejected items, a live event). On both databases: PostgreSQL cannot
//! store NUL at all, which is how the first defect lost messages there.

use serde_json::{json, Value};
use webcare_domain::flags;
use webcare_e2e::connectors::*;
use webcare_e2e::expect_problem;

const PAGE: &str = "104961234567890";
const OTHER_PAGE: &str = "104961234567899";
const WA_PHONE: &str = "109876543210987";

webcare_e2e::both_backends!(
    app = webcare_e2e::connectors::ConnApp;
    nul_in_text_and_names_is_removed_and_flagged_not_lost,
    one_unknown_page_does_not_refuse_the_known_ones,
    implausible_times_long_text_and_no_sender_follow_one_rule,
    the_api_is_told_what_platforms_get_corrected,
    a_parked_delivery_is_listed_and_announced,
);

fn dm(sender: Option<&str>, mid: &str, text: &str, ts_ms: i64) -> Value {
    let mut m = json!({"recipient": {"id": PAGE}, "timestamp": ts_ms, "message": {"mid": mid, "text": text}});
    if let Some(s) = sender {
        m["sender"] = json!({"id": s});
    }
    m
}

fn page_entry(page: &str, messaging: Vec<Value>) -> Value {
    json!({"id": page, "time": 1773139267500i64, "messaging": messaging})
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn stored(app: &ConnApp, account: &str, pmid: &str) -> webcare_store::MessageRecord {
    app.store
        .get_message(account.parse().unwrap(), pmid)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{pmid} is stored"))
}

async fn list(app: &ConnApp, path: &str) -> Vec<Value> {
    let res = app.get(path).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    v["items"].as_array().unwrap().clone()
}

async fn nul_in_text_and_names_is_removed_and_flagged_not_lost(app: ConnApp) {
    let page = app.account("facebook_page", PAGE).await;
    // A Messenger DM with NUL in the text, and a feed comment with NUL in the profile name.
    let body = json!({"object": "page", "entry": [
        page_entry(PAGE, vec![dm(Some("2400000000000001"), "m_NUL", "Hallo\u{0}wereld\u{7}!\n", now_ms())]),
        {"id": PAGE, "time": 1773139267500i64, "changes": [{"field": "feed", "value": {
            "item": "comment", "verb": "add", "comment_id": "c_NUL", "post_id": format!("{PAGE}_1"),
            "parent_id": format!("{PAGE}_1"), "from": {"id": "69", "name": "Ja\u{0}n"},
            "message": "Lamp kapot", "created_time": now_ms() / 1000}}]}
    ]})
    .to_string();
    assert!(body.contains("\\u0000"), "valid JSON with an escaped NUL");
    assert_eq!(app.post_meta(&body).await.status(), 200);
    app.settle().await;
    let s = app.store.journal_stats().await.unwrap();
    assert_eq!(
        (s.processed, s.failed),
        (1, 0),
        "processed at once, not parked"
    );
    let m = stored(&app, &page, "m_NUL").await;
    assert_eq!(m.text, "Hallowereld!\n");
    assert!(m
        .flags
        .contains(&flags::CONTROL_CHARACTERS_REMOVED.to_owned()));
    let c = stored(&app, &page, "c_NUL").await;
    assert_eq!(c.author.display_name.as_deref(), Some("Jan"));
    assert_eq!(c.flags, vec![flags::CONTROL_CHARACTERS_REMOVED.to_owned()]);
    // The API shows the flag.
    let case: Value = app
        .get(&format!("/api/v1/cases/{}", m.case_id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        case.to_string().contains(flags::CONTROL_CHARACTERS_REMOVED),
        "{case}"
    );
    // The same delivery again (a platform retry) stores nothing twice.
    assert_eq!(app.post_meta(&body).await.status(), 200);
    app.settle().await;
    assert_eq!(app.store.count_messages().await.unwrap(), 2);
}

async fn one_unknown_page_does_not_refuse_the_known_ones(app: ConnApp) {
    let page = app.account("facebook_page", PAGE).await;
    let body = json!({"object": "page", "entry": [
        page_entry(OTHER_PAGE, vec![dm(Some("2400000000000009"), "m_STALE", "Voor een oude pagina", now_ms())]),
        page_entry(PAGE, vec![dm(Some("2400000000000001"), "m_REAL", "Mijn vraag", now_ms())]),
    ]})
    .to_string();
    assert_eq!(app.post_meta(&body).await.status(), 200);
    app.settle().await;
    assert_eq!(stored(&app, &page, "m_REAL").await.text, "Mijn vraag");
    assert_eq!(app.store.count_messages().await.unwrap(), 1);
    let rejected = list(&app, "/api/v1/rejected-items").await;
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0]["accountExternalId"], OTHER_PAGE);
    assert_eq!(rejected[0]["platformMessageId"], "m_STALE");
    assert_eq!(rejected[0]["source"], "meta");
    // Processing it again (a replay) records it once.
    let journal_id: uuid::Uuid = rejected[0]["journalId"].as_str().unwrap().parse().unwrap();
    let entry = app.store.journal_get(journal_id).await.unwrap().unwrap();
    let again = webcare_store::connectors::JournalOutcome::Processed {
        summary: "again".into(),
        rejected: vec![webcare_store::connectors::RejectedItem {
            seq: 0,
            account_external_id: OTHER_PAGE.into(),
            platform_message_id: Some("m_STALE".into()),
            reason: "again".into(),
        }],
    };
    app.store.journal_finish(entry.id, again).await.unwrap();
    assert_eq!(list(&app, "/api/v1/rejected-items").await.len(), 1);
    // A delivery for unknown pages only cannot be verified and stores nothing: 404.
    let only_unknown = json!({"object": "page", "entry": [
        page_entry(OTHER_PAGE, vec![dm(Some("2400000000000009"), "m_X", "x", now_ms())])]})
    .to_string();
    expect_problem(app.post_meta(&only_unknown).await, 404).await;
    // Admin only.
    let agent = app.token(webcare_domain::Role::Agent).await;
    let res = app
        .client
        .get(app.url("/api/v1/rejected-items"))
        .bearer_auth(agent)
        .send()
        .await
        .unwrap();
    expect_problem(res, 403).await;
}

async fn implausible_times_long_text_and_no_sender_follow_one_rule(app: ConnApp) {
    let page = app.account("facebook_page", PAGE).await;
    let wa = app.account("whatsapp", WA_PHONE).await;
    let before = chrono::Utc::now();
    // WhatsApp: a year-0 timestamp (as "0"), and a 3 MB text.
    let big = "é".repeat(1_200_000);
    let wa_body = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "31308001400", "phone_number_id": WA_PHONE},
        "contacts": [{"profile": {"name": "Sanne"}, "wa_id": "31612345678"}],
        "messages": [
            {"from": "31612345678", "id": "wamid.ZERO", "timestamp": "0", "type": "text", "text": {"body": "Tijd nul"}},
            {"from": "31612345678", "id": "wamid.BIG", "timestamp": (now_ms() / 1000).to_string(), "type": "text", "text": {"body": big}}
        ]}}]}]})
    .to_string();
    assert!(wa_body.len() > 2_000_000);
    assert_eq!(app.post_meta(&wa_body).await.status(), 200);
    // Messenger: a year-9999 timestamp, and an item without a sender.
    let fb = json!({"object": "page", "entry": [page_entry(PAGE, vec![
        dm(Some("2400000000000001"), "m_9999", "Uit de toekomst", 253_402_214_400_000),
        dm(None, "m_NOSENDER", "Van niemand", now_ms()),
    ])]})
    .to_string();
    assert_eq!(app.post_meta(&fb).await.status(), 200);
    app.settle().await;
    let after = chrono::Utc::now();
    for (account, pmid) in [(&wa, "wamid.ZERO"), (&page, "m_9999")] {
        let m = stored(&app, account, pmid).await;
        assert!(
            m.sent_at >= before - chrono::Duration::seconds(1) && m.sent_at <= after,
            "{pmid}: clamped to received-at, got {}",
            m.sent_at
        );
        assert_eq!(m.sent_at, m.received_at);
        assert_eq!(m.flags, vec![flags::SENT_AT_CLAMPED.to_owned()], "{pmid}");
        // The SLA clock starts now, not in year 0: not breached on arrival.
        let case: Value = app
            .get(&format!("/api/v1/cases/{}", m.case_id))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            !case.to_string().contains(r#""state":"breached""#),
            "{case}"
        );
    }
    let big = stored(&app, &wa, "wamid.BIG").await;
    assert_eq!(
        big.text.chars().count(),
        webcare_domain::inbound::MAX_TEXT_CHARS
    );
    assert_eq!(big.flags, vec![flags::TEXT_TRUNCATED.to_owned()]);
    // No sender: not stored with an empty author, but recorded.
    assert!(app
        .store
        .get_message(page.parse().unwrap(), "m_NOSENDER")
        .await
        .unwrap()
        .is_none());
    let rejected = list(&app, "/api/v1/rejected-items").await;
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0]["platformMessageId"], "m_NOSENDER");
    assert!(rejected[0]["reason"]
        .as_str()
        .unwrap()
        .contains("no author"));
    let s = app.store.journal_stats().await.unwrap();
    assert_eq!((s.processed, s.failed), (2, 0));
}

async fn the_api_is_told_what_platforms_get_corrected(app: ConnApp) {
    let account = app.account("api", "api-channel").await;
    let msg = |pmid: &str, text: &str, sent_at: &str| {
        json!({"channelAccountId": account, "platformMessageId": pmid, "visibility": "private",
            "author": {"platformUserId": "burger-1", "displayName": "Burger"}, "text": text, "sentAt": sent_at})
    };
    let now = chrono::Utc::now().to_rfc3339();
    let long = "x".repeat(webcare_domain::inbound::MAX_TEXT_CHARS + 1);
    for (body, name, code) in [
        (
            msg("a1", "Hallo", "9999-12-31T00:00:00Z"),
            "sentAt",
            "in_future",
        ),
        (
            msg("a2", "Hallo", "0001-01-01T00:00:00Z"),
            "sentAt",
            "implausible",
        ),
        (msg("a3", &long, &now), "text", "too_long"),
        (msg("a4", "Hal\u{0}lo", &now), "text", "control_characters"),
    ] {
        let res = app.post("/api/v1/messages", &body).send().await.unwrap();
        let p = expect_problem(res, 400).await;
        assert_eq!(p["invalidParams"][0]["name"], name, "{p}");
        assert_eq!(p["invalidParams"][0]["code"], code, "{p}");
    }
    let mut nameless = msg("a5", "Hallo", &now);
    nameless["author"]["displayName"] = json!("Bur\u{0}ger");
    let p = expect_problem(
        app.post("/api/v1/messages", &nameless)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(p["invalidParams"][0]["name"], "author.displayName");
    assert_eq!(
        app.store.count_messages().await.unwrap(),
        0,
        "nothing stored"
    );
    let ok = app
        .post("/api/v1/messages", &msg("a6", "Hallo\n\tdaar", &now))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
}

async fn a_parked_delivery_is_listed_and_announced(app: ConnApp) {
    app.account("facebook_page", PAGE).await;
    let mut events = app.get("/api/v1/events").send().await.unwrap();
    assert_eq!(events.status(), 200);
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
    let parked = list(&app, "/api/v1/parked-deliveries").await;
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0]["id"], id.to_string());
    assert_eq!(parked[0]["source"], "meta");
    assert!(parked[0]["error"].as_str().unwrap().contains("entry"));
    assert!(parked[0].get("body").is_none(), "never the body");
    let seen = webcare_e2e::read_events(&mut events, |e| {
        e.iter().any(|(_, kind, _)| kind == "journal.parked")
    })
    .await;
    let (_, _, data) = seen.iter().find(|(_, k, _)| k == "journal.parked").unwrap();
    assert_eq!(data["data"]["journalId"], id.to_string(), "{data}");
    // An agent sees neither the list nor the event.
    let agent = app.token(webcare_domain::Role::Agent).await;
    let res = app
        .client
        .get(app.url("/api/v1/parked-deliveries"))
        .bearer_auth(agent)
        .send()
        .await
        .unwrap();
    expect_problem(res, 403).await;
}
