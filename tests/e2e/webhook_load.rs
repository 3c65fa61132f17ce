//! Measurement, not a check: signed Meta webhook deliveries per second, from the first POST until
//! every delivery is journaled, processed and stored as a threaded message. Run in release mode:
//! `cargo test --release -p webcare-e2e webhook_load -- --ignored --nocapture`
//! (`WEBCARE_LOAD_N` deliveries, default 4000; 32 concurrent senders).
//!
//! Measured 2026-11-22, release, 2 shared cores at load average ~12: SQLite 805/s accepted,
//! 799/s processed; PostgreSQL 304/s accepted, 302/s processed. The journal takes one commit per
//! delivery (no group commit yet), which is the bottleneck.

use std::sync::Arc;
use std::time::Instant;
use webcare_e2e::connectors::*;
use webcare_e2e::Backend;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "measurement; run in release mode"]
async fn webhook_load_sqlite() {
    load(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "measurement; run in release mode"]
async fn webhook_load_postgres() {
    load(Backend::Postgres).await
}

async fn load(backend: Backend) {
    let Some(app) = ConnApp::spawn(backend).await else {
        return;
    };
    app.account("facebook_page", "104961234567890").await;
    let n: usize = std::env::var("WEBCARE_LOAD_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let bodies: Vec<String> = (0..n)
        .map(|i| {
            serde_json::json!({"object": "page", "entry": [{"id": "104961234567890", "time": 1773125114, "changes": [{"field": "feed", "value": {
                "item": "comment", "verb": "add", "comment_id": format!("822112233445566_{i}"), "post_id": "104961234567890_822112233445566",
                "parent_id": "104961234567890_822112233445566", "from": {"id": format!("69{}", i % 500), "name": "Burger"},
                "message": format!("Melding {i}: lantaarnpaal kapot 💡"), "created_time": 1773125112}}]}]})
            .to_string()
        })
        .collect();
    let bodies = Arc::new(bodies);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let app = Arc::new(app);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (app, bodies, next) = (app.clone(), bodies.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= bodies.len() {
                    break;
                }
                let res = app.post_meta(&bodies[i]).await;
                assert_eq!(res.status(), 200);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let accepted = start.elapsed();
    app.settle().await;
    let done = start.elapsed();
    assert_eq!(app.store.count_messages().await.unwrap() as usize, n);
    println!(
        "{backend:?}: {n} signed Meta deliveries: accepted (journaled) at {:.0}/s, processed into threaded cases at {:.0}/s ({:.2}s total)",
        n as f64 / accepted.as_secs_f64(),
        n as f64 / done.as_secs_f64(),
        done.as_secs_f64()
    );
}
