//! No accepted message is lost or stored twice when the server is killed (`kill -9`) in the
//! middle of a stream of ingest requests and the clients retry after a restart. Runs the real
//! binary on SQLite and on PostgreSQL.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use webcare_e2e::Backend;

const ADMIN: &str = "crash-test-admin-token-0123456789";

struct Server {
    child: Child,
    base: String,
}

fn start(db: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_webcare"))
        .arg("serve")
        .env("WEBCARE_DATABASE_URL", db)
        .env("WEBCARE_BIND", "127.0.0.1:0")
        .env("WEBCARE_ADMIN_TOKEN", ADMIN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start webcare");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("webcare exited before listening")
            .unwrap();
        if let Some(addr) = line.strip_prefix("webcare listening on ") {
            break addr.trim().to_owned();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, base }
}

fn message(account: &str, id: &str) -> serde_json::Value {
    serde_json::json!({
        "channelAccountId": account, "platformMessageId": id, "visibility": "private",
        "author": {"platformUserId": format!("u-{}", &id[..id.len().min(6)])},
        "text": format!("bericht {id}"), "sentAt": "2026-03-09T09:15:00Z"
    })
}

/// Sends every id until it is acknowledged, against whatever server `base` points at; returns
/// the ids acknowledged in this round.
async fn send_all(
    client: &reqwest::Client,
    base: &str,
    account: &str,
    ids: Vec<String>,
    acked: Arc<Mutex<HashMap<String, String>>>,
) {
    let mut tasks = Vec::new();
    for chunk in ids.chunks(ids.len().div_ceil(16).max(1)) {
        let chunk = chunk.to_vec();
        let (client, base, account, acked) = (
            client.clone(),
            base.to_owned(),
            account.to_owned(),
            acked.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for id in chunk {
                let res = client
                    .post(format!("{base}/api/v1/messages"))
                    .bearer_auth(ADMIN)
                    .json(&message(&account, &id))
                    .send()
                    .await;
                let Ok(res) = res else { return }; // server gone: stop this sender
                if res.status() == 201 || res.status() == 200 {
                    let body: serde_json::Value = res.json().await.unwrap();
                    let msg_id = body["id"].as_str().unwrap().to_owned();
                    let prev = acked.lock().unwrap().insert(id.clone(), msg_id.clone());
                    if let Some(prev) = prev {
                        assert_eq!(prev, msg_id, "a retry of {id} answered another message");
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

async fn run(backend: Backend) {
    let Some(db) = webcare_store::testing::fresh_database_url(backend).await else {
        return;
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut server = start(&db);
    let res = client
        .post(format!("{}/api/v1/channel-accounts", server.base))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({"kind": "api", "name": "web", "externalId": "web"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let account = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let all: Vec<String> = (0..1500).map(|i| format!("m{i:05}")).collect();
    let acked: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    // Three rounds: stream, kill -9 mid-stream, restart, the clients retry what was not acknowledged
    // (and, to prove idempotency, everything that was).
    for round in 0..3 {
        let sender = {
            let (client, base, account, acked) = (
                client.clone(),
                server.base.clone(),
                account.clone(),
                acked.clone(),
            );
            let ids = all.clone();
            tokio::spawn(async move { send_all(&client, &base, &account, ids, acked).await })
        };
        let kill_after = 150 + 100 * round as u64;
        tokio::time::sleep(Duration::from_millis(kill_after)).await;
        server.child.kill().expect("kill -9"); // SIGKILL on Unix
        server.child.wait().unwrap();
        let _ = sender.await;
        server = start(&db);
    }
    let acked_before_final: BTreeSet<String> = acked.lock().unwrap().keys().cloned().collect();
    assert!(
        !acked_before_final.is_empty(),
        "some messages were acknowledged before the kills"
    );
    assert!(
        acked_before_final.len() < all.len(),
        "the kills interrupted the stream"
    );
    // Final round without a kill: every message gets acknowledged.
    send_all(&client, &server.base, &account, all.clone(), acked.clone()).await;
    let acked = acked.lock().unwrap().clone();
    assert_eq!(
        acked.len(),
        all.len(),
        "every message acknowledged in the end"
    );

    // Exactly once: one stored row per platform id, and it is the acknowledged one.
    let store = webcare_store::connect(&db, Default::default())
        .await
        .unwrap();
    assert_eq!(
        store.count_messages().await.unwrap() as usize,
        all.len(),
        "no duplicates, none lost"
    );
    let account_id = uuid::Uuid::parse_str(&account).unwrap();
    for id in acked_before_final.iter().step_by(7) {
        let stored = store
            .get_message(account_id, id)
            .await
            .unwrap()
            .expect("acknowledged message is stored");
        assert_eq!(stored.id.to_string(), acked[id]);
    }
    store.close().await;
    server.child.kill().unwrap();
    let _ = server.child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_loses_and_duplicates_nothing_on_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_loses_and_duplicates_nothing_on_postgres() {
    run(Backend::Postgres).await;
}

/// SIGTERM: the server stops accepting, finishes what is in flight, and exits cleanly; every
/// request that was answered 2xx is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_in_flight_requests() {
    let Some(db) = webcare_store::testing::fresh_database_url(Backend::Sqlite).await else {
        return;
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut server = start(&db);
    let res = client
        .post(format!("{}/api/v1/channel-accounts", server.base))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({"kind": "api", "name": "web", "externalId": "web"}))
        .send()
        .await
        .unwrap();
    let account = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let acked: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let ids: Vec<String> = (0..2000).map(|i| format!("t{i:05}")).collect();
    let sender = {
        let (client, base, account, acked) = (
            client.clone(),
            server.base.clone(),
            account.clone(),
            acked.clone(),
        );
        tokio::spawn(async move { send_all(&client, &base, &account, ids, acked).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(server.child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || server.child.wait().unwrap())
        .await
        .unwrap();
    assert!(exit.success(), "graceful exit after SIGTERM: {exit:?}");
    let _ = sender.await;
    let acked = acked.lock().unwrap().clone();
    assert!(!acked.is_empty());
    let store = webcare_store::connect(&db, Default::default())
        .await
        .unwrap();
    assert_eq!(
        store.count_messages().await.unwrap() as usize,
        acked.len(),
        "answered = stored"
    );
    store.close().await;
}
