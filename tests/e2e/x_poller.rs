//! The X poller against the fake X API: pagination, since_id, cursors, edits, DMs, the delete
//! re-check, 429 with its reset, and the per-account lease.

use serde_json::json;
use webcare_e2e::connectors::*;
use webcare_e2e::Backend;
use webcare_workers::x_poller::{
    check_deletes, poll_dms, poll_mentions, Poll, PollError, PollerConfig,
};

const X_ME: &str = "1460000000000000001";

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn poller_pages_edits_deletes_and_rate_limits() {
        super::poller_pages_edits_deletes_and_rate_limits(super::Backend::Sqlite).await
    }
}
mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn poller_pages_edits_deletes_and_rate_limits() {
        super::poller_pages_edits_deletes_and_rate_limits(super::Backend::Postgres).await
    }
}

fn mention(id: u64, author: &str, text: &str, conv: u64) -> serde_json::Value {
    json!({"id": id.to_string(), "text": text, "author_id": author, "conversation_id": conv.to_string(),
        "created_at": "2026-03-10T08:40:00.000Z", "edit_history_tweet_ids": [id.to_string()],
        "in_reply_to_user_id": X_ME})
}

async fn poller_pages_edits_deletes_and_rate_limits(backend: Backend) {
    let Some(app) = ConnApp::spawn_with(backend, None).await else {
        return;
    };
    let account_id = app.account("x", X_ME).await;
    let account = app
        .store
        .get_channel_account(account_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let f = &app.fakes;
    f.x_set_user(X_ME);
    f.x_add_user("801", "kees_utrecht", "Kees");
    f.x_add_user("802", "anna_030", "Anna");
    let base: u64 = 1_900_000_000_000_000_000;
    // 12 mentions: 6 threads of 2 by two citizens.
    for i in 0..12u64 {
        let author = if i % 2 == 0 { "801" } else { "802" };
        let conv = base + (i / 2) * 2;
        f.x_add_mention(mention(
            base + i,
            author,
            &format!("@gemeente melding {i} 🚲"),
            conv,
        ));
    }
    let ingestor = webcare_desk::Ingestor::start(app.store.clone(), 1, 64);
    let client = reqwest::Client::new();
    let cfg = PollerConfig {
        page_size: 5,
        ..Default::default()
    };
    let pages = poll_mentions(&poll(&app, &ingestor, &client, &cfg), &account)
        .await
        .map_err(|e| format!("{e:?}"))
        .unwrap();
    assert_eq!(pages, 3, "12 mentions in pages of 5");
    assert_eq!(app.store.count_messages().await.unwrap(), 12);
    assert_eq!(
        app.store.count_cases().await.unwrap(),
        6,
        "one case per conversation"
    );
    assert_eq!(
        app.store
            .get_cursor(account.id, "mentions")
            .await
            .unwrap()
            .as_deref(),
        Some((base + 11).to_string().as_str())
    );
    let reqs = f.requests_to("GET", "/mentions");
    assert_eq!(reqs.len(), 3);
    assert!(
        reqs[0].query.contains("max_results=5")
            && reqs[0].query.contains("tweet.fields=")
            && reqs[0].query.contains("expansions=author_id")
    );
    assert!(!reqs[0].query.contains("since_id"));
    assert!(reqs[1].query.contains("pagination_token=tok5"));
    assert_eq!(reqs[0].auth.as_deref(), Some("Bearer x-app-bearer"));

    // Next poll: since_id; an edit (new id, same history start) updates instead of creating.
    f.x_edit(
        &(base + 3).to_string(),
        &(base + 20).to_string(),
        "@gemeente melding 3 🚲 (bij het station)",
    );
    f.x_add_mention(mention(
        base + 21,
        "801",
        "@gemeente nieuwe vraag",
        base + 21,
    ));
    poll_mentions(&poll(&app, &ingestor, &client, &cfg), &account)
        .await
        .map_err(|e| format!("{e:?}"))
        .unwrap();
    let last = f.requests_to("GET", "/mentions").pop().unwrap();
    assert!(
        last.query.contains(&format!("since_id={}", base + 11)),
        "{}",
        last.query
    );
    assert_eq!(app.store.count_messages().await.unwrap(), 13);
    let edited = app
        .store
        .get_message(account.id, &(base + 3).to_string())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(edited.text, "@gemeente melding 3 🚲 (bij het station)");
    assert_eq!(edited.edit_history[0].text, "@gemeente melding 3 🚲");
    assert_eq!(
        app.store
            .get_cursor(account.id, "mentions")
            .await
            .unwrap()
            .as_deref(),
        Some((base + 21).to_string().as_str())
    );

    // Rate limited: the poll stops with the reset time and the cursor stays.
    f.inject("GET", "/mentions", Fault::RateLimited { reset_in_s: 120 });
    match poll_mentions(&poll(&app, &ingestor, &client, &cfg), &account).await {
        Err(PollError::RateLimited(reset)) => {
            let wait = (reset - chrono::Utc::now()).num_seconds();
            assert!((100..=121).contains(&wait), "{wait}");
        }
        other => panic!("expected a rate limit, got {other:?}"),
    }
    assert_eq!(
        app.store
            .get_cursor(account.id, "mentions")
            .await
            .unwrap()
            .as_deref(),
        Some((base + 21).to_string().as_str())
    );
    f.inject("GET", "/mentions", Fault::ServerError);
    assert!(matches!(
        poll_mentions(&poll(&app, &ingestor, &client, &cfg), &account).await,
        Err(PollError::Failed(_))
    ));

    // Delete re-check: deleted posts of open cases are marked deleted.
    f.x_delete(&(base + 4).to_string());
    f.x_delete(&(base + 21).to_string());
    let n = check_deletes(&app.store, &client, &cfg, &account)
        .await
        .map_err(|e| format!("{e:?}"))
        .unwrap();
    assert_eq!(n, 2);
    let lookups = f.requests_to("GET", "/2/tweets");
    assert_eq!(lookups.len(), 1, "one batch of ≤100 ids");
    let d = app
        .store
        .get_message(account.id, &(base + 4).to_string())
        .await
        .unwrap()
        .unwrap();
    assert!(d.deleted_at.is_some());
    let kept = app
        .store
        .get_message(account.id, &(base + 5).to_string())
        .await
        .unwrap()
        .unwrap();
    assert!(kept.deleted_at.is_none());

    // DMs: the citizen's message and our own (an echo without a reply: joins the DM's case).
    let conv = format!("801-{X_ME}");
    f.x_add_dm_event(json!({"id": "1700000000000000001", "event_type": "MessageCreate", "text": "Mijn adres is Oudegracht 1",
        "sender_id": "801", "participant_ids": ["801", X_ME], "dm_conversation_id": conv, "created_at": "2026-03-10T09:00:00.000Z"}));
    f.x_add_dm_event(json!({"id": "1700000000000000002", "event_type": "MessageCreate", "text": "Dank, we sturen iemand",
        "sender_id": X_ME, "participant_ids": ["801", X_ME], "dm_conversation_id": conv, "created_at": "2026-03-10T09:01:00.000Z"}));
    poll_dms(&poll(&app, &ingestor, &client, &cfg), &account)
        .await
        .map_err(|e| format!("{e:?}"))
        .unwrap();
    poll_dms(&poll(&app, &ingestor, &client, &cfg), &account)
        .await
        .map_err(|e| format!("{e:?}"))
        .unwrap();
    assert_eq!(
        app.store
            .get_cursor(account.id, "dm_events")
            .await
            .unwrap()
            .as_deref(),
        Some("1700000000000000002")
    );
    let dm = app
        .store
        .get_message(account.id, "1700000000000000001")
        .await
        .unwrap()
        .unwrap();
    let ours = app
        .store
        .get_message(account.id, "1700000000000000002")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dm.case_id, ours.case_id);
    assert_eq!(ours.direction, webcare_domain::Direction::Outbound);
    assert_eq!(app.store.count_messages().await.unwrap(), 15);
    assert_eq!(
        f.requests_to("GET", "/2/dm_events")[0].auth.as_deref(),
        Some(format!("Bearer {X_TOKEN}").as_str())
    );

    // Two nodes: only one holds an account's lease at a time.
    let now = chrono::Utc::now();
    let ttl = chrono::Duration::seconds(30);
    assert!(app
        .store
        .try_lease("x-poll:a", "node-1", now, ttl)
        .await
        .unwrap());
    assert!(!app
        .store
        .try_lease("x-poll:a", "node-2", now, ttl)
        .await
        .unwrap());
    assert!(
        app.store
            .try_lease("x-poll:a", "node-1", now, ttl)
            .await
            .unwrap(),
        "renewal"
    );
    assert!(
        app.store
            .try_lease(
                "x-poll:a",
                "node-2",
                now + chrono::Duration::seconds(31),
                ttl
            )
            .await
            .unwrap(),
        "taken over after expiry"
    );
    app.store.release_lease("x-poll:a", "node-2").await.unwrap();
    assert!(app
        .store
        .try_lease("x-poll:a", "node-1", now, ttl)
        .await
        .unwrap());
}

/// The poller's context over the test app.
fn poll<'a>(
    app: &'a ConnApp,
    ingestor: &'a webcare_desk::Ingestor,
    client: &'a reqwest::Client,
    cfg: &'a PollerConfig,
) -> Poll<'a> {
    Poll {
        store: &app.store,
        ingestor,
        client,
        cfg,
    }
}

mod disabled {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_a_disabled_account_is_not_polled() {
        super::a_disabled_account_is_not_polled(super::Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_a_disabled_account_is_not_polled() {
        super::a_disabled_account_is_not_polled(super::Backend::Postgres).await
    }
}

/// The poller's loop skips an account an admin switched off, and takes it up again once it is
/// switched on.
async fn a_disabled_account_is_not_polled(backend: Backend) {
    let Some(app) = ConnApp::spawn_with(backend, None).await else {
        return;
    };
    let id = app.account("x", X_ME).await.parse().unwrap();
    let off = webcare_store::records::ChannelAccountPatch {
        enabled: Some(false),
        ..Default::default()
    };
    app.store.update_channel_account(id, off).await.unwrap();
    app.fakes.x_set_user(X_ME);
    let cancel = tokio_util::sync::CancellationToken::new();
    let cfg = PollerConfig {
        tick: std::time::Duration::from_millis(50),
        ..Default::default()
    };
    let run = tokio::spawn(webcare_workers::x_poller::run(
        app.store.clone(),
        webcare_desk::Ingestor::start(app.store.clone(), 1, 64),
        reqwest::Client::new(),
        cfg,
        cancel.clone(),
    ));
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert!(app.fakes.requests_to("GET", "/mentions").is_empty());
    let on = webcare_store::records::ChannelAccountPatch {
        enabled: Some(true),
        ..Default::default()
    };
    app.store.update_channel_account(id, on).await.unwrap();
    let mut polled = false;
    for _ in 0..100 {
        polled = !app.fakes.requests_to("GET", "/mentions").is_empty();
        if polled {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    cancel.cancel();
    run.await.unwrap();
    assert!(polled, "switched on again, the account is polled");
}
