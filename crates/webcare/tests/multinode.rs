//! Many nodes on one PostgreSQL, with the real binary (issue 17): three processes with different
//! roles take a load of signed Meta webhooks (retried as Meta retries), SLA breaches and agents'
//! replies, while a node is killed with -9 and restarted and the database cuts every connection
//! the desk holds. Afterwards: no message lost or stored twice, every alert recorded once and
//! notified, every reply sent once. The recovery time is printed.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use webcare_e2e::Backend;
use webcare_store::{PageRequest, Store};

mod common;

const ADMIN: &str = "multinode-admin-token-0123456789";
const PAGE: &str = "104300000000077";
const APP_SECRET: &str = "multinode-app-secret";
/// Signed comments in the load, each from its own citizen (so each opens a case).
const LOAD: usize = 600;
/// Cases answered by an agent.
const REPLIES: usize = 30;

/// One process of the desk; killed (-9) when dropped.
struct Node {
    server: common::Server,
    roles: &'static str,
}

impl Node {
    /// Starts `webcare serve --roles roles`; its database connections carry `app` as their
    /// application name, so the test can cut exactly them.
    fn start(db: &str, app: &str, roles: &'static str) -> Node {
        let url = format!("{db}&application_name={app}");
        let mut cmd = common::command(&url, ADMIN, &["serve", "--roles", roles]);
        // A delivery journalled by a killed node is taken by a sweeping node after its lease.
        cmd.env("WEBCARE_INGEST__JOURNAL_LEASE_SECONDS", "2")
            .env("RUST_LOG", "error");
        Node {
            server: common::listen(cmd),
            roles,
        }
    }

    fn base(&self) -> String {
        self.server.base.clone()
    }

    fn kill(&mut self) {
        let _ = self.server.child.kill(); // SIGKILL on Unix
        let _ = self.server.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A signed page-feed delivery of citizen comment `i`, written three days ago (so on a 24/7
/// calendar every clock it starts is already past its warning and its breach).
fn comment(i: usize, written: i64) -> (Vec<u8>, String) {
    let post = format!("{PAGE}_900000001");
    let body = serde_json::json!({
        "object": "page",
        "entry": [{"id": PAGE, "time": written, "changes": [{"field": "feed", "value": {
            "item": "comment", "verb": "add", "comment_id": comment_id(i),
            "post_id": post, "parent_id": post,
            "from": {"id": format!("88{i:08}"), "name": format!("Inwoner {i}")},
            "message": format!("Stoeptegel {i} ligt los"), "created_time": written,
        }}]}]
    });
    let body = serde_json::to_vec(&body).unwrap();
    let sig = webcare_connectors::signature::sign_meta(APP_SECRET.as_bytes(), &body);
    (body, sig)
}

fn comment_id(i: usize) -> String {
    format!("900000001_{}", 700000 + i)
}

/// Delivers comments `ids` to the node at `base` until each is answered 200, as Meta retries;
/// stops early when the node is gone (the caller delivers again).
async fn deliver(
    client: reqwest::Client,
    base: String,
    ids: Vec<usize>,
    written: i64,
    acked: Arc<Mutex<BTreeSet<usize>>>,
) {
    for i in ids {
        match common::post_meta(&client, &base, comment(i, written)).await {
            Some(s) if s == 200 => {
                acked.lock().unwrap().insert(i);
            }
            Some(_) => {}
            None => return,
        }
    }
}

/// Cuts every database connection of the nodes whose application name starts with `prefix`.
async fn cut_connections(store_url: &str, prefix: &str) -> u64 {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(store_url).await.unwrap();
    let cut: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1",
    )
    .bind(format!("{prefix}%"))
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let _ = conn.close().await;
    cut.len() as u64
}

async fn post(client: &reqwest::Client, url: String, body: serde_json::Value) -> serde_json::Value {
    let res = client
        .post(url)
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let v: serde_json::Value = res.json().await.unwrap_or_default();
    assert!(status.is_success(), "{status} {v}");
    v
}

/// Waits until `done` holds (checked every 200 ms) or `within` passes; answers whether it held.
async fn until<F, Fut>(within: Duration, mut done: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    done().await
}

async fn all_alerts(store: &std::sync::Arc<dyn Store>) -> Vec<webcare_store::sla::AlertRecord> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_alerts(
                None,
                PageRequest {
                    after,
                    limit: 500,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        out.extend(page.items);
        match page.next_after {
            Some(a) => after = Some(a),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_lose_nothing_through_a_kill_and_cut_connections() {
    let Some(db) = webcare_store::testing::fresh_database_url(Backend::Postgres).await else {
        return;
    };
    let fakes = webcare_fakes::FakePlatforms::start().await.unwrap();
    let client = common::client();
    let app = format!("wcmn{}", uuid::Uuid::now_v7().simple());
    // Two API nodes (one also ingests and sends), one worker node.
    let mut a = Node::start(&db, &format!("{app}-a"), "api");
    let b = Node::start(&db, &format!("{app}-b"), "api,ingest,outbox");
    let c = Node::start(
        &db,
        &format!("{app}-c"),
        "ingest,sla,outbox,pollers,webhooks",
    );

    let day = serde_json::json!([["00:00", "24:00"]]);
    let calendar = post(
        &client,
        format!("{}/api/v1/calendars", a.base()),
        serde_json::json!({"name": "24/7", "timeZone": "Europe/Amsterdam", "holidays": {"set": "none"},
            "weekly": {"monday": day, "tuesday": day, "wednesday": day, "thursday": day,
                       "friday": day, "saturday": day, "sunday": day}}),
    )
    .await;
    post(
        &client,
        format!("{}/api/v1/channel-accounts", a.base()),
        serde_json::json!({"kind": "facebook_page", "name": "Gemeente", "externalId": PAGE,
            "apiBaseUrl": fakes.base, "calendarId": calendar["id"],
            "credentials": {"appSecret": APP_SECRET, "verifyToken": "v", "accessToken": "page-token"}}),
    )
    .await;

    // The load, half to each API node; mid-load node A dies (-9) and the database cuts every
    // connection of the desk.
    let written = chrono::Utc::now().timestamp() - 3 * 86_400;
    let all: Vec<usize> = (0..LOAD).collect();
    let acked: Arc<Mutex<BTreeSet<usize>>> = Arc::default();
    let (to_a, to_b): (Vec<usize>, Vec<usize>) = all.iter().partition(|i| *i % 2 == 0);
    let load_a = tokio::spawn(deliver(
        client.clone(),
        a.base(),
        to_a.clone(),
        written,
        acked.clone(),
    ));
    let load_b = tokio::spawn(deliver(
        client.clone(),
        b.base(),
        to_b,
        written,
        acked.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(400)).await;
    a.kill();
    let _ = load_a.await;
    let acked_at_kill = acked.lock().unwrap().len();
    let cut = cut_connections(&db, &app).await;
    assert!(
        acked_at_kill > 0 && acked_at_kill < LOAD,
        "the kill hit the load: {acked_at_kill} of {LOAD} answered"
    );
    assert!(cut > 0, "the database cut the desk's connections");
    eprintln!(
        "killed node A ({}) after {acked_at_kill} acknowledged deliveries; cut {cut} connections",
        a.roles
    );
    let restarted = Instant::now();
    a = Node::start(&db, &format!("{app}-a"), "api");
    let _ = load_b.await;
    // Meta retries whatever was not answered (and, here, everything once more).
    deliver(
        client.clone(),
        a.base(),
        all.clone(),
        written,
        acked.clone(),
    )
    .await;
    assert_eq!(
        acked.lock().unwrap().len(),
        LOAD,
        "every delivery answered in the end"
    );

    let store = webcare_store::connect(&db, Default::default())
        .await
        .unwrap();
    let stored = until(Duration::from_secs(60), || {
        let store = store.clone();
        async move { store.count_messages().await.unwrap() as usize >= LOAD }
    })
    .await;
    let recovery = restarted.elapsed();
    assert!(stored, "every acknowledged comment stored within 60 s");
    assert_eq!(
        store.count_messages().await.unwrap() as usize,
        LOAD,
        "none lost, none stored twice"
    );
    eprintln!("recovery: every acknowledged delivery stored {recovery:?} after the restart");

    // Every clock was past its warning and breach on arrival: each fires once, and is notified.
    let expected = LOAD * 4; // reaction and resolution, warning and breach
    let fired = until(Duration::from_secs(60), || {
        let store = store.clone();
        async move {
            let alerts = all_alerts(&store).await;
            alerts.len() >= expected && alerts.iter().all(|a| a.notified_at.is_some())
        }
    })
    .await;
    let alerts = all_alerts(&store).await;
    let mut per_clock: HashMap<(uuid::Uuid, String, String), usize> = HashMap::new();
    for a in &alerts {
        *per_clock
            .entry((
                a.case_id,
                format!("{:?}", a.clock),
                format!("{:?}", a.status),
            ))
            .or_default() += 1;
    }
    assert!(
        per_clock.values().all(|n| *n == 1),
        "an alert recorded twice"
    );
    assert_eq!(alerts.len(), expected, "every warning and breach, once");
    assert!(fired, "every alert notified");
    // And told once: one live event (and webhook delivery) per alert.
    let mut told = 0;
    let mut after = 0;
    loop {
        let page = store.events_after(after, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        told += page
            .iter()
            .filter(|e| e.event.kind.starts_with("sla."))
            .count();
    }
    assert_eq!(told, expected, "one sla.* event per alert");

    // Agents answer while the database cuts the connections again: the worker node and B send
    // every reply, once. (A node killed while it sends leaves that reply in doubt until its
    // lease runs out, and then the desk checks before it sends again: `outbox.rs`. That is
    // the crash test's subject, not this one's.)
    let cases: Vec<String> = {
        let res = client
            .get(format!("{}/api/v1/cases?limit={REPLIES}", a.base()))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        let v: serde_json::Value = res.json().await.unwrap();
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(cases.len(), REPLIES);
    for (n, case) in cases.iter().enumerate() {
        if n == REPLIES / 2 {
            cut_connections(&db, &app).await;
        }
        // A client retries with the same key until the desk answers.
        let key = uuid::Uuid::now_v7().to_string();
        let ok = until(Duration::from_secs(20), || {
            let (client, url, key) = (
                client.clone(),
                format!("{}/api/v1/cases/{case}/replies", a.base()),
                key.clone(),
            );
            async move {
                client
                    .post(url)
                    .bearer_auth(ADMIN)
                    .header("idempotency-key", key)
                    .json(&serde_json::json!({"text": "Dank voor uw melding, we gaan ermee aan de slag."}))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await;
        assert!(ok, "reply on {case} accepted");
    }
    let sent = until(Duration::from_secs(60), || {
        let n = fakes.requests_to("POST", "comments").len();
        async move { n >= REPLIES }
    })
    .await;
    assert!(sent, "every reply sent");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut per_comment: HashMap<String, usize> = HashMap::new();
    for r in fakes.requests_to("POST", "comments") {
        *per_comment.entry(r.path.clone()).or_default() += 1;
    }
    assert_eq!(per_comment.len(), REPLIES, "{per_comment:?}");
    assert!(
        per_comment.values().all(|n| *n == 1),
        "a reply sent twice: {per_comment:?}"
    );
    store.close().await;
    drop((a, b, c));
}
