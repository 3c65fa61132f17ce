//! Inbox query latency with many cases stored (ignored by default; run in release):
//!
//! `cargo test --release -p webcare-e2e --test e2e agent::bench -- --ignored --nocapture`
//! with `WEBCARE_BENCH_CASES` (default 100000).

use super::*;
use std::time::Instant;
use webcare_store::{CaseFilter, PageRequest};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn inbox_latency_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn inbox_latency_postgres() {
    run(Backend::Postgres).await;
}

async fn run(backend: Backend) {
    let n: usize = std::env::var("WEBCARE_BENCH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let accounts = [
        account_for_team(&app, "a1", "kcc").await,
        account_for_team(&app, "a2", "stadsbeheer").await,
    ];
    // Bulk insert through the store's ingest (group commit), 500 per batch.
    let start = Instant::now();
    let words = [
        "lantaarnpaal",
        "container",
        "boom",
        "parkeren",
        "paspoort",
        "subsidie",
        "geluidsoverlast",
        "stoeptegel",
    ];
    let mut i = 0;
    while i < n {
        let mut batch = Vec::new();
        for j in i..(i + 500).min(n) {
            let acc: uuid::Uuid = accounts[j % 2].parse().unwrap();
            batch.push(webcare_store::IngestItem {
                channel_account_id: acc,
                message: webcare_domain::inbound::InboundMessage {
                    platform_message_id: format!("m{j}"),
                    in_reply_to: None,
                    conversation_key: None,
                    visibility: webcare_domain::Visibility::Private,
                    author: webcare_domain::inbound::Author {
                        platform_user_id: format!("u{j}"),
                        handle: None,
                        display_name: Some(format!("Burger {j}")),
                    },
                    text: format!("Melding {j} over {}", words[j % words.len()]),
                    sent_at: chrono::Utc::now(),
                    attachments: vec![],
                    direction: webcare_domain::Direction::Inbound,
                    flags: Vec::new(),
                },
                received_at: chrono::Utc::now(),
                default_team: Some(if j % 2 == 0 { "kcc" } else { "stadsbeheer" }.into()),
            });
        }
        for r in app.store.ingest_batch(batch).await {
            r.unwrap();
        }
        i += 500;
    }
    eprintln!("{backend:?}: inserted {n} cases in {:?}", start.elapsed());
    let queries: Vec<(&str, CaseFilter)> = vec![
        ("newest page", CaseFilter::default()),
        (
            "team + unassigned",
            CaseFilter {
                team: Some("kcc".into()),
                assignee: Some(None),
                ..Default::default()
            },
        ),
        (
            "status new",
            CaseFilter {
                status: Some(webcare_domain::CaseStatus::New),
                ..Default::default()
            },
        ),
        (
            "full text",
            CaseFilter {
                q: Some("paspoort".into()),
                ..Default::default()
            },
        ),
    ];
    for (name, f) in queries {
        let mut times = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            let p = app
                .store
                .list_cases(
                    f.clone(),
                    PageRequest {
                        after: None,
                        limit: 50,
                        sort: Default::default(),
                        after_due: None,
                    },
                )
                .await
                .unwrap();
            times.push(t.elapsed());
            assert!(!p.items.is_empty());
        }
        times.sort();
        eprintln!(
            "{backend:?} {n} cases, {name}: p50 {:?} p99 {:?}",
            times[times.len() / 2],
            times[times.len() * 99 / 100]
        );
    }
}
