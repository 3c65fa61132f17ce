//! No accepted message is lost or stored twice when the server is killed (`kill -9`) in the
//! middle of a stream of ingest requests and the clients retry after a restart. Runs the real
//! binary on SQLite and on PostgreSQL.

use common::Server;
use std::collections::{BTreeSet, HashMap};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use webcare_e2e::Backend;

mod common;

const ADMIN: &str = "crash-test-admin-token-0123456789";

fn start(db: &str) -> Server {
    let mut cmd = common::command(db, ADMIN, &["serve"]);
    // A delivery journaled by a killed server is taken by the sweep after its lease.
    cmd.env("WEBCARE_INGEST__JOURNAL_LEASE_SECONDS", "2");
    common::listen(cmd)
}

/// A fresh database, a client and the server started on it; `None` where the backend is not
/// available.
async fn started(backend: Backend) -> Option<(String, reqwest::Client, Server)> {
    let db = webcare_store::testing::fresh_database_url(backend).await?;
    let client = common::client();
    let server = start(&db);
    Some((db, client, server))
}

/// The kills hit the stream: some of it was acknowledged before them, not all of it.
fn assert_interrupted(acked: usize, all: usize) {
    assert!(
        acked > 0,
        "some of the stream was acknowledged before the kills"
    );
    assert!(acked < all, "the kills interrupted the stream");
}

fn message(account: &str, id: &str) -> serde_json::Value {
    serde_json::json!({
        "channelAccountId": account, "platformMessageId": id, "visibility": "private",
        "author": {"platformUserId": format!("u-{}", &id[..id.len().min(6)])},
        "text": format!("bericht {id}"), "sentAt": "2026-03-09T09:15:00Z"
    })
}

/// Creates a channel account through the API; returns its id.
async fn create_account(client: &reqwest::Client, base: &str, body: serde_json::Value) -> String {
    let res = client
        .post(format!("{base}/api/v1/channel-accounts"))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `rounds` times: start a stream with `send(base)`, kill -9 the server mid-stream (after a
/// delay growing by `step_ms`), let the stream fail, restart. Returns the running server.
async fn kill_rounds(
    db: &str,
    mut server: Server,
    rounds: u64,
    (first_ms, step_ms): (u64, u64),
    send: impl Fn(String) -> tokio::task::JoinHandle<()>,
) -> Server {
    for round in 0..rounds {
        let sender = send(server.base.clone());
        tokio::time::sleep(Duration::from_millis(first_ms + step_ms * round)).await;
        server.child.kill().expect("kill -9"); // SIGKILL on Unix
        server.child.wait().unwrap();
        let _ = sender.await;
        server = start(db);
    }
    server
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
    let Some((db, client, server)) = started(backend).await else {
        return;
    };
    let account = create_account(
        &client,
        &server.base,
        serde_json::json!({"kind": "api", "name": "web", "externalId": "web"}),
    )
    .await;

    let all: Vec<String> = (0..1500).map(|i| format!("m{i:05}")).collect();
    let acked: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    // Three rounds: stream, kill -9 mid-stream, restart, the clients retry what was not acknowledged
    // (and, to prove idempotency, everything that was).
    let mut server = kill_rounds(&db, server, 3, (150, 100), |base| {
        let (client, account, acked, ids) =
            (client.clone(), account.clone(), acked.clone(), all.clone());
        tokio::spawn(async move { send_all(&client, &base, &account, ids, acked).await })
    })
    .await;
    let acked_before_final: BTreeSet<String> = acked.lock().unwrap().keys().cloned().collect();
    assert_interrupted(acked_before_final.len(), all.len());
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

const PAGE: &str = "104300000000001";
const APP_SECRET: &str = "crash-test-app-secret";

/// A signed Meta page-feed delivery of one citizen comment, as Meta sends it.
fn meta_comment(i: usize) -> (Vec<u8>, String) {
    let post = format!("{PAGE}_900000001");
    let body = serde_json::json!({
        "object": "page",
        "entry": [{"id": PAGE, "time": 1773047700, "changes": [{"field": "feed", "value": {
            "item": "comment", "verb": "add", "comment_id": format!("900000001_{}", 500000 + i),
            "post_id": post, "parent_id": post,
            "from": {"id": format!("77{i:08}"), "name": format!("Inwoner {i}")},
            "message": format!("Lantaarnpaal {i} is kapot"), "created_time": 1773047700,
            "post": {"id": post, "status_type": "added_photos", "is_published": true,
                     "updated_time": "2026-03-09T09:15:00+0000",
                     "permalink_url": format!("https://www.facebook.com/{post}")}
        }}]}]
    });
    let body = serde_json::to_vec(&body).unwrap();
    let sig = webcare_connectors::signature::sign_meta(APP_SECRET.as_bytes(), &body);
    (body, sig)
}

/// Delivers every comment until it is answered 200, as Meta retries; returns in the end.
async fn deliver_all(
    client: &reqwest::Client,
    base: &str,
    ids: Vec<usize>,
    acked: Arc<Mutex<BTreeSet<usize>>>,
) {
    let mut tasks = Vec::new();
    for chunk in ids.chunks(ids.len().div_ceil(16).max(1)) {
        let (chunk, client, base, acked) = (
            chunk.to_vec(),
            client.clone(),
            base.to_owned(),
            acked.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for i in chunk {
                let Some(status) = common::post_meta(&client, &base, meta_comment(i)).await else {
                    return;
                };
                if status == 200 {
                    acked.lock().unwrap().insert(i);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// kill -9 while signed webhooks stream in: every delivery answered 200 is stored exactly once,
/// including those journaled but not yet processed when the server died (the sweep takes them
/// after their lease), and Meta's retries of everything change nothing.
async fn run_webhooks(backend: Backend) {
    let Some((db, client, server)) = started(backend).await else {
        return;
    };
    create_account(
        &client,
        &server.base,
        serde_json::json!({"kind": "facebook_page", "name": "Gemeente", "externalId": PAGE,
            "credentials": {"appSecret": APP_SECRET, "verifyToken": "v"}}),
    )
    .await;
    let all: Vec<usize> = (0..1200).collect();
    let acked: Arc<Mutex<BTreeSet<usize>>> = Arc::default();
    let mut server = kill_rounds(&db, server, 2, (200, 150), |base| {
        let (client, acked, ids) = (client.clone(), acked.clone(), all.clone());
        tokio::spawn(async move { deliver_all(&client, &base, ids, acked).await })
    })
    .await;
    let acked_before: BTreeSet<usize> = acked.lock().unwrap().clone();
    assert_interrupted(acked_before.len(), all.len());
    // Meta retries until it gets a 200: here, everything once more.
    deliver_all(&client, &server.base, all.clone(), acked.clone()).await;
    assert_eq!(
        acked.lock().unwrap().len(),
        all.len(),
        "every delivery answered in the end"
    );

    let store = webcare_store::connect(&db, Default::default())
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let n = store.count_messages().await.unwrap() as usize;
        if n >= all.len() || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        store.count_messages().await.unwrap() as usize,
        all.len(),
        "none lost, none twice"
    );
    let account = store
        .find_account(webcare_domain::ChannelKind::FacebookPage, PAGE)
        .await
        .unwrap()
        .unwrap();
    for i in acked_before.iter().step_by(11) {
        let pmid = format!("900000001_{}", 500000 + i);
        assert!(
            store
                .get_message(account.id, &pmid)
                .await
                .unwrap()
                .is_some(),
            "{pmid} answered 200 but not stored"
        );
    }
    store.close().await;
    server.child.kill().unwrap();
    let _ = server.child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_signed_webhooks_loses_nothing_on_sqlite() {
    run_webhooks(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_signed_webhooks_loses_nothing_on_postgres() {
    run_webhooks(Backend::Postgres).await;
}

const ZGW_SECRET: &str = "crash-test-zgw-secret-0123456789";

/// The server with its zaaksysteem at `oz` (statustypen from its Catalogi API) and zaak jobs
/// leased for 2 s, so a restart takes over a killed server's job quickly.
fn start_with_zgw(db: &str, oz: &webcare_fakes::zgw::FakeOpenZaak) -> Server {
    let mut cmd = common::command(db, ADMIN, &["serve"]);
    let c = &oz.catalogus;
    for (k, v) in [
        ("ZAKEN_URL", oz.zaken_url()),
        ("CATALOGI_URL", oz.catalogi_url()),
        ("CLIENT_ID", "webcare".into()),
        ("SECRET", ZGW_SECRET.into()),
        ("RSIN", "002220647".into()),
        ("ZAAKTYPEN__DEFAULT", c.zaaktype.clone()),
        ("RESULTAATTYPE", c.resultaattype.clone()),
        ("ROLTYPE_AFDELING", c.roltype_afdeling.clone()),
    ] {
        cmd.env(format!("WEBCARE_ZGW__{k}"), v);
    }
    cmd.env("WEBCARE_ZAAK_LEASE_SECONDS", "2");
    common::listen(cmd)
}

/// kill -9 between sending and recording a zaak: Open Zaak has committed the zaak but its answer
/// has not reached the desk when the server dies. After the restart the create is taken up again,
/// finds the zaak by its identificatie and records it: exactly one zaak, one first status.
async fn run_zaak(backend: Backend) {
    let Some(db) = webcare_store::testing::fresh_database_url(backend).await else {
        return;
    };
    let oz = webcare_fakes::zgw::FakeOpenZaak::start("webcare", ZGW_SECRET)
        .await
        .unwrap();
    let client = common::client();
    let mut server = start_with_zgw(&db, &oz);
    let account = create_account(
        &client,
        &server.base,
        serde_json::json!({"kind": "api", "name": "web", "externalId": "web"}),
    )
    .await;
    let res = client
        .post(format!("{}/api/v1/messages", server.base))
        .bearer_auth(ADMIN)
        .json(&message(&account, "zaak-1"))
        .send()
        .await
        .unwrap();
    let case = res.json::<serde_json::Value>().await.unwrap()["caseId"]
        .as_str()
        .unwrap()
        .to_owned();
    // Open Zaak stores the zaak, then holds its answer back.
    oz.stall_after_commit(1);
    let res = client
        .post(format!("{}/api/v1/cases/{case}/zaak", server.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while oz.zaken().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the zaak was never sent"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Between Open Zaak's commit and the desk's record.
    server.child.kill().expect("kill -9");
    server.child.wait().unwrap();
    let zaak_url = oz.zaken()[0]["url"].as_str().unwrap().to_owned();

    let mut server = start_with_zgw(&db, &oz);
    let mut z = serde_json::Value::Null;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        let res = client
            .get(format!("{}/api/v1/cases/{case}/zaak", server.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        z = res.json().await.unwrap();
        if z["jobs"][0]["state"] != "pending" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(z["jobs"][0]["state"], "done", "{z}");
    assert_eq!(z["url"], zaak_url.as_str(), "the zaak made before the kill");
    assert_eq!(oz.zaken().len(), 1, "exactly one zaak");
    let posts = oz
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/zaken"))
        .count();
    assert_eq!(posts, 1, "the create was not sent again");
    assert_eq!(oz.statussen().len(), 1, "one first status");
    assert_eq!(oz.violations(), Vec::<String>::new());
    server.child.kill().unwrap();
    let _ = server.child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_between_sending_and_recording_a_zaak_makes_one_zaak_on_sqlite() {
    run_zaak(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_between_sending_and_recording_a_zaak_makes_one_zaak_on_postgres() {
    run_zaak(Backend::Postgres).await;
}

/// SIGTERM: the server stops accepting, finishes what is in flight, and exits cleanly; every
/// request that was answered 2xx is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_in_flight_requests() {
    let Some((db, client, mut server)) = started(Backend::Sqlite).await else {
        return;
    };
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
