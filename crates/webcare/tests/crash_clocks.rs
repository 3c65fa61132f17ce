//! A case's action and its SLA effects are one: the real binary is made to die (a crash point,
//! `webcare_store::crash`, armed by `FAILPOINTS`) between each pair of steps of a reply, a
//! forward and a resolve; with no server running, the store is then read directly and every
//! case must be consistent: the action happened with all its clock effects, or not at all.
//! Afterwards a healthy server does each action once more and all its effects are there.
//! Both databases.

use chrono::{DateTime, Utc};
use std::time::Duration;
use uuid::Uuid;
use webcare_domain::sla::{ClockKind, StopReason};
use webcare_domain::CaseStatus;
use webcare_e2e::Backend;
use webcare_store::sla::ClockRecord;
use webcare_store::Store;

mod common;
use common::Server;

const ADMIN: &str = "crash-clocks-admin-token-0123456789";
/// What `crash_point` exits with.
const CRASHED: i32 = 86;

/// Starts the binary; `point`: the crash point to arm.
fn start(db: &str, point: Option<&str>) -> Server {
    let mut cmd = common::command(db, ADMIN, &["serve"]);
    cmd.env_remove("FAILPOINTS");
    if let Some(p) = point {
        cmd.env("FAILPOINTS", format!("{p}=return"));
    }
    common::listen(cmd)
}

/// Waits until the armed server dies at its crash point.
async fn died_at_point(mut server: Server, point: &str) {
    let waited = tokio::task::spawn_blocking(move || {
        for _ in 0..600 {
            if let Some(status) = server.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = server.child.kill();
        let _ = server.child.wait();
        None
    })
    .await
    .unwrap();
    let status = waited.unwrap_or_else(|| panic!("crash point {point} was never reached"));
    assert_eq!(status.code(), Some(CRASHED), "died at {point}: {status:?}");
}

fn stop(mut server: Server) {
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Action {
    Reply,
    Forward,
    Resolve,
}

/// Every pair of steps each action still has: the reply is stored, claimed (committed),
/// sent to the platform and recorded (with its clock effects in the recording transaction);
/// a forward or resolve writes the case (with its clock effects) and then answers.
const SCENARIOS: &[(Action, &str)] = &[
    (Action::Reply, "outbox.before_send"),
    (Action::Reply, "outbox.after_send"),
    (Action::Reply, "reply.before_clocks"),
    (Action::Reply, "reply.after_commit"),
    (Action::Forward, "case.before_clocks"),
    (Action::Forward, "case.after_commit"),
    (Action::Resolve, "case.before_clocks"),
    (Action::Resolve, "case.after_commit"),
];

struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> reqwest::Result<reqwest::Response> {
        self.client
            .post(format!("{}{path}", self.base))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await
    }

    async fn created(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let res = self.post(path, body).await.unwrap();
        let status = res.status();
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// Does `action` on `case`; the server may die while answering.
    async fn act(&self, action: Action, case: Uuid, department: &str) {
        let res = match action {
            Action::Reply => {
                self.post(
                    &format!("/api/v1/cases/{case}/replies"),
                    serde_json::json!({"text": "We kijken ernaar."}),
                )
                .await
            }
            Action::Forward => {
                self.post(
                    &format!("/api/v1/cases/{case}/forward"),
                    serde_json::json!({"departmentId": department, "question": "Klopt dit?"}),
                )
                .await
            }
            Action::Resolve => {
                self.client
                    .patch(format!("{}/api/v1/cases/{case}", self.base))
                    .bearer_auth(ADMIN)
                    .json(&serde_json::json!({"status": "resolved"}))
                    .send()
                    .await
            }
        };
        if let Ok(res) = res {
            let status = res.status();
            assert!(
                status.is_success(),
                "{action:?}: {status} {}",
                res.text().await.unwrap_or_default()
            );
        }
    }
}

fn latest(clocks: &[ClockRecord], kind: ClockKind) -> Option<&ClockRecord> {
    clocks
        .iter()
        .filter(|c| c.kind == kind)
        .max_by_key(|c| c.run)
}

/// What the store holds for `case` is one whole state: the action with all its effects, or none
/// of them. Returns whether the action happened.
async fn consistent(
    store: &std::sync::Arc<dyn Store>,
    action: Action,
    case: Uuid,
    why: &str,
) -> bool {
    let c = store.get_case(case).await.unwrap().expect("case");
    let clocks = store.case_clocks(case).await.unwrap();
    let ctx = format!("{why}: case {case} {:?}, clocks {clocks:#?}", c.status);
    // The case's SLA columns are what its clocks say.
    let due: Option<DateTime<Utc>> = clocks
        .iter()
        .filter(|k| k.state == "running")
        .filter_map(|k| k.due_at)
        .min();
    assert_eq!(c.due_at, due, "the case's due time is its clocks' ({ctx})");
    // The live events (and their webhook deliveries) are written with the action: there
    // exactly when it happened.
    let kinds: Vec<String> = store
        .events_after(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.case_id == Some(case))
        .map(|e| e.event.kind)
        .collect();
    let updated = kinds.iter().any(|k| k == "case.updated");
    let resolved_event = kinds.iter().any(|k| k == "case.resolved");
    let reaction = latest(&clocks, ClockKind::Reaction).expect("reaction clock");
    let resolution = latest(&clocks, ClockKind::Resolution).expect("resolution clock");
    let department = latest(&clocks, ClockKind::Department);
    let happened = match action {
        Action::Reply => {
            let replies = store.case_replies(case).await.unwrap();
            let sent = replies.iter().any(|r| r.sent_at.is_some());
            if sent {
                assert_eq!(c.status, CaseStatus::Open, "a reply opens the case ({ctx})");
                assert_eq!(reaction.state, "met", "{ctx}");
                assert_eq!(reaction.stop_reason, Some(StopReason::Reply), "{ctx}");
                assert!(reaction.stopped_at.is_some(), "{ctx}");
            } else {
                assert_eq!(c.status, CaseStatus::New, "{ctx}");
                assert_eq!(reaction.state, "running", "not answered: running ({ctx})");
                assert_eq!(reaction.stop_reason, None, "{ctx}");
            }
            assert_eq!(resolution.state, "running", "{ctx}");
            sent
        }
        Action::Forward => {
            let forwards = store.list_forwards(case).await.unwrap();
            if c.status == CaseStatus::Forwarded {
                assert_eq!(forwards.len(), 1, "{ctx}");
                let d = department.unwrap_or_else(|| panic!("forwarded: department clock ({ctx})"));
                assert_eq!(d.state, "running", "{ctx}");
                assert_eq!(d.stop_reason, None, "{ctx}");
                assert!(d.due_at.is_some(), "{ctx}");
                true
            } else {
                assert_eq!(c.status, CaseStatus::New, "{ctx}");
                assert!(forwards.is_empty(), "{ctx}");
                assert!(
                    department.is_none(),
                    "not forwarded: no department clock ({ctx})"
                );
                false
            }
        }
        Action::Resolve => {
            if c.status == CaseStatus::Resolved {
                assert!(c.resolved_at.is_some(), "{ctx}");
                assert_eq!(resolution.stop_reason, Some(StopReason::Resolved), "{ctx}");
                assert_eq!(resolution.state, "met", "{ctx}");
                assert_eq!(
                    reaction.stop_reason,
                    Some(StopReason::ResolvedWithoutReply),
                    "{ctx}"
                );
                assert_eq!(reaction.state, "cancelled", "{ctx}");
                assert!(
                    clocks.iter().all(|k| k.stopped_at.is_some()),
                    "resolved: every clock stopped ({ctx})"
                );
                assert_eq!(c.due_at, None, "{ctx}");
                true
            } else {
                assert_eq!(c.status, CaseStatus::New, "{ctx}");
                assert!(
                    clocks.iter().all(|k| k.state == "running"),
                    "not resolved: every clock runs ({ctx})"
                );
                false
            }
        }
    };
    assert_eq!(updated, happened, "case.updated event: {kinds:?} ({ctx})");
    assert_eq!(
        resolved_event,
        happened && action == Action::Resolve,
        "case.resolved event: {kinds:?} ({ctx})"
    );
    happened
}

/// Whether the action's last step is done: a reply sent (the outbox's), the others at once.
async fn settled(store: &std::sync::Arc<dyn Store>, action: Action, case: Uuid) -> bool {
    match action {
        Action::Reply => store
            .case_replies(case)
            .await
            .unwrap()
            .iter()
            .any(|r| r.sent_at.is_some()),
        Action::Forward | Action::Resolve => true,
    }
}

async fn run(backend: Backend) {
    let Some(db) = webcare_store::testing::fresh_database_url(backend).await else {
        return;
    };
    let fakes = webcare_fakes::FakePlatforms::start().await.unwrap();
    let client = common::client();

    // Set up on a healthy server: an api channel that delivers to the fake callback, a
    // department, and a fresh (new) case per scenario and per control action.
    let server = start(&db, None);
    let api = Api {
        client: client.clone(),
        base: server.base.clone(),
    };
    let account = api
        .created(
            "/api/v1/channel-accounts",
            serde_json::json!({"kind": "api", "name": "Web", "externalId": "web",
                "callbackUrl": format!("{}/callback/zaken", fakes.base),
                "credentials": {"webhookSecret": "crash-clocks-secret-0123456789"}}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let department = api
        .created(
            "/api/v1/departments",
            serde_json::json!({"name": "Burgerzaken", "answerMinutes": 480}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut cases = Vec::new();
    for i in 0..SCENARIOS.len() + 3 {
        let m = api
            .created(
                "/api/v1/messages",
                serde_json::json!({
                    "channelAccountId": account, "platformMessageId": format!("c-{i}"),
                    "visibility": "private", "author": {"platformUserId": format!("burger-{i}")},
                    "text": "Mijn paspoort is kwijt", "sentAt": Utc::now().to_rfc3339()
                }),
            )
            .await;
        cases.push(Uuid::parse_str(m["caseId"].as_str().unwrap()).unwrap());
    }
    stop(server);

    let store = webcare_store::connect(&db, Default::default())
        .await
        .unwrap();
    for (case, (action, _)) in cases.iter().zip(SCENARIOS) {
        consistent(&store, *action, *case, "before").await;
    }
    store.close().await;

    // Die at each point; with nothing running, the store must hold a whole state.
    for (case, (action, point)) in cases.iter().zip(SCENARIOS) {
        let server = start(&db, Some(point));
        let api = Api {
            client: client.clone(),
            base: server.base.clone(),
        };
        api.act(*action, *case, &department).await;
        died_at_point(server, point).await;
        let store = webcare_store::connect(&db, Default::default())
            .await
            .unwrap();
        let why = format!("{action:?} killed at {point}");
        let happened = consistent(&store, *action, *case, &why).await;
        eprintln!("{why}: happened = {happened}");
        store.close().await;
    }

    // A healthy server does each action once more: every effect is there.
    let server = start(&db, None);
    let api = Api {
        client,
        base: server.base.clone(),
    };
    let store = webcare_store::connect(&db, Default::default())
        .await
        .unwrap();
    let controls = &cases[SCENARIOS.len()..];
    for (case, action) in controls
        .iter()
        .zip([Action::Reply, Action::Forward, Action::Resolve])
    {
        api.act(action, *case, &department).await;
        // The outbox sends a reply after the request returns: wait for it before reading the
        // whole state, which takes several reads that a commit in between would tear.
        for _ in 0..200 {
            if settled(&store, action, *case).await {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            consistent(&store, action, *case, "healthy").await,
            "{action:?} on a healthy server has all its effects"
        );
    }
    store.close().await;
    stop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_between_the_steps_of_an_action_leaves_its_clocks_consistent_on_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_between_the_steps_of_an_action_leaves_its_clocks_consistent_on_postgres() {
    run(Backend::Postgres).await;
}
