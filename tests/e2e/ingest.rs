//! `POST /api/v1/messages` and reading cases back, on both databases.

use serde_json::{json, Value};
use webcare_e2e::{both_backends, expect_problem, TestApp};

both_backends!(
    a_message_creates_a_case_and_a_retry_changes_nothing,
    threads_by_reply_conversation_and_private_author,
    invalid_messages_are_refused_and_nothing_is_stored,
    concurrent_duplicates_store_one_message,
    case_list_filters_and_next_links,
    channel_accounts_never_return_credentials,
);

fn message(account: &str, id: &str) -> Value {
    json!({
        "channelAccountId": account, "platformMessageId": id,
        "visibility": "public",
        "author": {"platformUserId": "u-1", "handle": "@jan", "displayName": "Jan Jansen"},
        "text": "De lantaarnpaal bij Oudegracht 12 is kapot 💡",
        "sentAt": "2026-03-09T09:15:00+01:00",
        "attachments": [{"kind": "image", "url": "https://example.org/p.jpg", "mimeType": "image/jpeg"}]
    })
}

async fn a_message_creates_a_case_and_a_retry_changes_nothing(app: TestApp) {
    let account = app.channel_account("api", "web").await;
    let res = app
        .post("/api/v1/messages", &message(&account, "web-123"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["platformMessageId"], "web-123");
    assert_eq!(first["direction"], "inbound");
    assert_eq!(first["sentAt"], "2026-03-09T08:15:00Z", "answered in UTC");
    assert_eq!(first["author"]["displayName"], "Jan Jansen");
    assert_eq!(first["attachments"][0]["mimeType"], "image/jpeg");
    assert_eq!(first["editHistory"], json!([]));
    assert_eq!(first["flags"], json!([]));
    assert!(first["deletedAt"].is_null());
    let res = app
        .post("/api/v1/messages", &message(&account, "web-123"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let again: Value = res.json().await.unwrap();
    assert_eq!(again, first);
    let case_id = first["caseId"].as_str().unwrap();
    let res = app
        .get(&format!("/api/v1/cases/{case_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let case: Value = res.json().await.unwrap();
    assert_eq!(case["status"], "new");
    assert_eq!(case["team"], "kcc");
    assert_eq!(case["messages"].as_array().unwrap().len(), 1);
    assert_eq!(
        case["messages"][0]["text"],
        "De lantaarnpaal bij Oudegracht 12 is kapot 💡"
    );
    assert_eq!(case["contact"]["displayName"], "Jan Jansen");
    assert_eq!(case["contact"]["identities"][0]["handle"], "@jan");
    assert_eq!(app.store.count_messages().await.unwrap(), 1);
}

async fn threads_by_reply_conversation_and_private_author(app: TestApp) {
    let account = app.channel_account("api", "web").await;
    let post = |v: Value| app.post("/api/v1/messages", &v).send();
    // Child first, parent later: both end in one case.
    let mut child = message(&account, "c1");
    child["inReplyTo"] = json!("p1");
    let child: Value = post(child).await.unwrap().json().await.unwrap();
    let parent: Value = post(message(&account, "p1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(child["caseId"], parent["caseId"]);
    // A conversation key joins.
    let mut k1 = message(&account, "k1");
    k1["conversationKey"] = json!("thread-9");
    let mut k2 = message(&account, "k2");
    k2["conversationKey"] = json!("thread-9");
    let k1: Value = post(k1).await.unwrap().json().await.unwrap();
    let k2: Value = post(k2).await.unwrap().json().await.unwrap();
    assert_eq!(k1["caseId"], k2["caseId"]);
    assert_ne!(k1["caseId"], parent["caseId"]);
    // Private messages of one author join their open case; public ones do not.
    let mut d1 = message(&account, "d1");
    d1["visibility"] = json!("private");
    d1["author"]["platformUserId"] = json!("u-9");
    let mut d2 = d1.clone();
    d2["platformMessageId"] = json!("d2");
    let d1: Value = post(d1).await.unwrap().json().await.unwrap();
    let d2: Value = post(d2).await.unwrap().json().await.unwrap();
    assert_eq!(d1["caseId"], d2["caseId"]);
    let p2: Value = post(message(&account, "p2"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(p2["caseId"], parent["caseId"]);
}

async fn invalid_messages_are_refused_and_nothing_is_stored(app: TestApp) {
    let account = app.channel_account("api", "web").await;
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut m = message(&account, "x");
                m["channelAccountId"] = json!(uuid::Uuid::now_v7());
                m
            },
            "channelAccountId",
        ),
        (
            {
                let mut m = message(&account, "x");
                m["channelAccountId"] = json!("nope");
                m
            },
            "channelAccountId",
        ),
        (
            {
                let mut m = message(&account, "x");
                m["text"] = json!("a".repeat(100_001));
                m
            },
            "text",
        ),
        (
            {
                let mut m = message(&account, "x");
                m["text"] = json!(42);
                m
            },
            "text",
        ),
        (
            {
                let mut m = message(&account, "x");
                m["sentAt"] = json!("gisteren");
                m
            },
            "sentAt",
        ),
        (
            {
                let mut m = message(&account, "x");
                m["visibility"] = json!("secret");
                m
            },
            "visibility",
        ),
        (
            {
                let mut m = message(&account, "x");
                m["platformMessageId"] = json!("");
                m
            },
            "platformMessageId",
        ),
        (
            {
                let mut m = message(&account, "x");
                m["author"] = json!({});
                m
            },
            "author.platformUserId",
        ),
        (
            {
                let mut m = message(&account, "x");
                m["attachments"][0]["url"] = json!("javascript:alert(1)");
                m
            },
            "attachments[0].url",
        ),
        (
            {
                let mut m = message(&account, "x");
                m["unexpected"] = json!(1);
                m
            },
            "unexpected",
        ),
    ];
    for (body, field) in cases {
        let res = app.post("/api/v1/messages", &body).send().await.unwrap();
        let problem = expect_problem(res, 400).await;
        let names: Vec<&str> = problem["invalidParams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap_or(""))
            .collect();
        assert!(
            names.iter().any(|n| n.contains(field)),
            "expected {field} in {problem}"
        );
    }
    assert_eq!(app.store.count_messages().await.unwrap(), 0);
    assert_eq!(app.store.count_cases().await.unwrap(), 0);
}

async fn concurrent_duplicates_store_one_message(app: TestApp) {
    let account = app.channel_account("api", "web").await;
    let mut handles = Vec::new();
    for i in 0..40 {
        let req = app.post(
            "/api/v1/messages",
            &message(&account, &format!("m{}", i % 8)),
        );
        handles.push(tokio::spawn(async move {
            req.send().await.unwrap().status().as_u16()
        }));
    }
    let mut created = 0;
    for h in handles {
        let s = h.await.unwrap();
        assert!(s == 201 || s == 200, "status {s}");
        created += usize::from(s == 201);
    }
    assert_eq!(created, 8, "exactly one 201 per platform message id");
    assert_eq!(app.store.count_messages().await.unwrap(), 8);
}

async fn case_list_filters_and_next_links(app: TestApp) {
    let account = app.channel_account("api", "web").await;
    for i in 0..5 {
        let res = app
            .post("/api/v1/messages", &message(&account, &format!("l{i}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    let mut seen = Vec::new();
    let mut next = Some(format!(
        "/api/v1/cases?status=new&channelAccountId={account}&limit=2"
    ));
    while let Some(link) = next {
        let page: Value = app.get(&link).send().await.unwrap().json().await.unwrap();
        for c in page["items"].as_array().unwrap() {
            assert_eq!(c["status"], "new");
            seen.push(c["id"].as_str().unwrap().to_owned());
        }
        next = page["next"].as_str().map(str::to_owned);
        if let Some(n) = &next {
            assert!(
                n.contains("status=new") && n.contains("limit=2"),
                "filters kept: {n}"
            );
        }
    }
    assert_eq!(seen.len(), 5);
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 5);
    let page: Value = app
        .get("/api/v1/cases?assignee=none&kind=melding")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        page["items"].as_array().unwrap().is_empty(),
        "no case has a kind yet"
    );
    assert!(page["next"].is_null());
}

async fn channel_accounts_never_return_credentials(app: TestApp) {
    let res = app.post("/api/v1/channel-accounts", &json!({
        "kind": "facebook_page", "name": "Gemeente Utrecht", "externalId": "1234567890",
        "credentials": {"appSecret": "topsecret-app", "verifyToken": "vt", "accessToken": "EAAB-secret"},
        "apiBaseUrl": "http://127.0.0.1:9999"
    })).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let text = res.text().await.unwrap();
    assert!(
        !text.contains("topsecret") && !text.contains("EAAB"),
        "{text}"
    );
    let created: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        created["credentialKeys"],
        json!(["accessToken", "appSecret", "verifyToken"])
    );
    let id = created["id"].as_str().unwrap();
    let res = app
        .patch(
            &format!("/api/v1/channel-accounts/{id}"),
            &json!({"name": "Stadsbeheer", "apiBaseUrl": null}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let patched: Value = res.json().await.unwrap();
    assert_eq!(patched["name"], "Stadsbeheer");
    assert!(patched["apiBaseUrl"].is_null());
    assert_eq!(patched["credentialKeys"].as_array().unwrap().len(), 3);
    let res = app
        .post(
            "/api/v1/channel-accounts",
            &json!({"kind": "facebook_page", "name": "dup", "externalId": "1234567890"}),
        )
        .send()
        .await
        .unwrap();
    expect_problem(res, 409).await;
    let x: Value = app
        .post(
            "/api/v1/channel-accounts",
            &json!({"kind": "x", "name": "X", "externalId": "42"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(x["pollIntervalSeconds"], 60);
    assert_eq!(x["deleteCheckIntervalSeconds"], 900);
    let res = app
        .delete(&format!("/api/v1/channel-accounts/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = app
        .get(&format!("/api/v1/channel-accounts/{id}"))
        .send()
        .await
        .unwrap();
    expect_problem(res, 404).await;
}
