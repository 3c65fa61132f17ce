//! Roles per process (`webcare serve --roles`) on one PostgreSQL, with the real binary: a node
//! without the API answers only its probes, and work taken in by an API node is done by the node
//! that has the role for it (a reply queued on the API node is sent by the outbox node, once),
//! and an agent connected to the API node sees live what the other node did.

use std::process::Command;
use std::time::Duration;
use webcare_e2e::Backend;

mod common;

const ADMIN: &str = "roles-test-admin-token-0123456789";

/// A node of the desk; killed when dropped.
struct Node(common::Server);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.child.kill();
        let _ = self.0.child.wait();
    }
}

fn node(db: &str, roles: &str) -> Node {
    Node(common::listen(common::command(
        db,
        ADMIN,
        &["serve", "--roles", roles],
    )))
}

async fn json(res: reqwest::Response, want: u16) -> serde_json::Value {
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    assert_eq!(status, want, "{body}");
    body
}

#[test]
fn an_unknown_role_is_refused_with_the_known_ones() {
    let out = Command::new(env!("CARGO_BIN_EXE_webcare"))
        .args(["serve", "--roles", "api,retentie"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown role 'retentie'"), "{err}");
    assert!(err.contains("outbox"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_runs_where_it_is_given() {
    let Some(db) = webcare_store::testing::fresh_database_url(Backend::Postgres).await else {
        return;
    };
    let fakes = webcare_fakes::FakePlatforms::start().await.unwrap();
    let http = reqwest::Client::new();
    let api = node(&db, "api");

    let account = json(
        http.post(format!("{}/api/v1/channel-accounts", api.0.base))
            .bearer_auth(ADMIN)
            .json(
                &serde_json::json!({"kind": "api", "name": "website", "externalId": "website",
                "callbackUrl": format!("{}/callback/zaken", fakes.base),
                "credentials": {"webhookSecret": "s"}}),
            )
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let message = json(
        http.post(format!("{}/api/v1/messages", api.0.base))
            .bearer_auth(ADMIN)
            .json(
                &serde_json::json!({"channelAccountId": account["id"], "platformMessageId": "m-1",
                "visibility": "private", "author": {"platformUserId": "u-1", "displayName": "Els"},
                "text": "Wanneer wordt het grofvuil opgehaald?",
                "sentAt": chrono::Utc::now().to_rfc3339()}),
            )
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let case = message["caseId"].as_str().unwrap();
    json(
        http.post(format!("{}/api/v1/cases/{case}/replies", api.0.base))
            .bearer_auth(ADMIN)
            .json(&serde_json::json!({"text": "Dinsdag, tussen 7 en 16 uur."}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    // An agent's live stream on the API node.
    let mut live = http
        .get(format!("{}/api/v1/events", api.0.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    // The API node has no outbox: the reply waits in it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(fakes.requests_to("POST", "callback").is_empty());

    // A worker node answers its probes and nothing else.
    let worker = node(&db, "ingest,sla,outbox,pollers,webhooks");
    let res = http
        .get(format!("{}/readyz", worker.0.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = http
        .get(format!("{}/api/v1/cases", worker.0.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    // The container health check the image uses.
    let probe = |path: &str| {
        Command::new(env!("CARGO_BIN_EXE_webcare"))
            .args(["probe", "--url", &format!("{}{path}", worker.0.base)])
            .output()
            .unwrap()
    };
    assert!(probe("/healthz").status.success());
    let failed = probe("/api/v1/cases");
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("404"));

    // It sends the reply the API node queued, once.
    let mut sent = Vec::new();
    for _ in 0..100 {
        sent = fakes.requests_to("POST", "callback");
        if !sent.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sent.len(), 1, "the outbox node sends the reply");
    assert!(String::from_utf8_lossy(&sent[0].body).contains("Dinsdag"));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        fakes.requests_to("POST", "callback").len(),
        1,
        "and only once"
    );
    // The worker node recorded the send; the API node's stream shows it (the live relay), once.
    let sent_event = |e: &(i64, String, serde_json::Value)| {
        e.1 == "reply.updated" && e.2["data"]["state"] == "sent" && e.2["caseId"] == case
    };
    let events = webcare_e2e::read_events(&mut live, |es| es.iter().any(sent_event)).await;
    let more =
        webcare_e2e::read_events_within(&mut live, Duration::from_millis(1500), |_| false).await;
    assert_eq!(
        events.iter().chain(&more).filter(|e| sent_event(e)).count(),
        1,
        "{events:?} {more:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.1 == "case.updated" && e.2["data"]["status"] == "open"),
        "the case opened by the reply, from the other node: {events:?}"
    );
    let mut seqs: Vec<i64> = events.iter().chain(&more).map(|e| e.0).collect();
    let n = seqs.len();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), n, "no event twice: {events:?} {more:?}");
    drop(worker);
    drop(api);
}
