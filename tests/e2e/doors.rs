//! Every door a citizen message comes in by (the signed Meta webhook for a Facebook comment and a
//! WhatsApp message, the X poller, `POST /api/v1/messages`) has the same effects, written in the
//! ingest transaction: the message stored once however often it is delivered, `case.created` and
//! `message.received` on the live stream, a delivery queued for each subscribed webhook, the new
//! case routed by the routing rules and auto-assigned in its team (both audited), and the
//! reaction clock running.

use futures::future::BoxFuture;
use serde_json::{json, Value};
use webcare_e2e::connectors::ConnApp;
use webcare_e2e::{both_backends, read_events};
use webcare_workers::x_poller::{poll_mentions, Poll, PollerConfig};

both_backends!(app = webcare_e2e::connectors::ConnApp; every_door_has_the_same_effects);

const PAGE: &str = "104961234567890";
const POST: &str = "104961234567890_822112233445566";
const WA_PHONE: &str = "109876543210987";
const X_ME: &str = "1460000000000000001";

/// One door: sets up its channel account, then delivers the same citizen message (twice, as a
/// platform retry or an overlapping poll would).
struct Door {
    name: &'static str,
    deliver: for<'a> fn(&'a ConnApp) -> BoxFuture<'a, ()>,
}

fn meta_comment(app: &ConnApp) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        app.account("facebook_page", PAGE).await;
        let body = json!({"object": "page", "entry": [{"id": PAGE, "time": 1773125114, "changes": [
            {"field": "feed", "value": {
                "item": "comment", "verb": "add", "comment_id": "822112233445566_1001",
                "post_id": POST, "parent_id": POST, "from": {"id": "6150001", "name": "Jan Jansen"},
                "message": "De lantaarnpaal bij Oudegracht 12 is kapot", "created_time": 1773125100,
                "post": {"id": POST, "status_type": "added_photos", "is_published": true}}}]}]})
        .to_string();
        for _ in 0..2 {
            assert_eq!(app.post_meta(&body).await.status(), 200);
        }
        app.settle().await;
    })
}

fn whatsapp(app: &ConnApp) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        app.account("whatsapp", WA_PHONE).await;
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [
            {"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "31308001400", "phone_number_id": WA_PHONE},
                "contacts": [{"profile": {"name": "Sanne Bakker"}, "wa_id": "31612345678"}],
                "messages": [{"from": "31612345678", "id": "wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQz1",
                    "timestamp": "1773136107", "type": "text",
                    "text": {"body": "Wanneer wordt het grofvuil opgehaald?"}}]}}]}]})
        .to_string();
        for _ in 0..2 {
            assert_eq!(app.post_meta(&body).await.status(), 200);
        }
        app.settle().await;
    })
}

fn x_poller(app: &ConnApp) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let id = app.account("x", X_ME).await;
        let account = app
            .store
            .get_channel_account(id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        app.fakes.x_set_user(X_ME);
        app.fakes.x_add_user("801", "kees_utrecht", "Kees");
        app.fakes.x_add_mention(json!({"id": "1900000000000000001",
            "text": "@gemeente de stoplichten bij de Catharijnesingel doen het niet",
            "author_id": "801", "conversation_id": "1900000000000000001",
            "created_at": "2026-03-10T08:40:00.000Z",
            "edit_history_tweet_ids": ["1900000000000000001"], "in_reply_to_user_id": X_ME}));
        let ingestor = webcare_desk::Ingestor::start(app.store.clone(), 1, 64);
        let client = reqwest::Client::new();
        for _ in 0..2 {
            // A cursor before the mention: the second poll overlaps the first.
            app.store
                .set_cursor(account.id, "mentions", "1")
                .await
                .unwrap();
            poll_mentions(
                &Poll {
                    store: &app.store,
                    ingestor: &ingestor,
                    client: &client,
                    cfg: &PollerConfig::default(),
                },
                &account,
            )
            .await
            .map_err(|e| format!("{e:?}"))
            .unwrap();
        }
    })
}

fn api(app: &ConnApp) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let id = app.account("api", "website").await;
        let body = json!({
            "channelAccountId": id, "platformMessageId": "web-1", "visibility": "private",
            "author": {"platformUserId": "u-1", "displayName": "Piet Pietersen"},
            "text": "Ik wil een parkeervergunning aanvragen", "sentAt": chrono::Utc::now().to_rfc3339(),
        });
        for want in [201, 200] {
            let res = app.post("/api/v1/messages", &body).send().await.unwrap();
            assert_eq!(res.status(), want);
        }
    })
}

async fn every_door_has_the_same_effects(first: ConnApp) {
    let doors = [
        Door {
            name: "meta feed comment",
            deliver: meta_comment,
        },
        Door {
            name: "whatsapp",
            deliver: whatsapp,
        },
        Door {
            name: "x poller",
            deliver: x_poller,
        },
        Door {
            name: "api",
            deliver: api,
        },
    ];
    let backend = first.backend;
    let mut next = Some(first);
    for door in doors {
        // A fresh desk per door, so each one's effects are counted alone.
        let app = match next.take() {
            Some(app) => app,
            None => ConnApp::spawn_with(backend, None).await.unwrap(),
        };
        let effects = effects_of(&app, &door).await;
        assert_eq!(
            effects,
            Effects {
                messages: 1,
                cases: 1,
                live: vec!["case.created".into(), "message.received".into()],
                webhook_deliveries: 2,
                assignee_is_the_agent: true,
                audited_assignment: true,
                routed: true,
                reaction_clock: Some("running".into()),
            },
            "door: {}",
            door.name
        );
    }
}

#[derive(Debug, PartialEq)]
struct Effects {
    messages: i64,
    cases: i64,
    live: Vec<String>,
    webhook_deliveries: usize,
    assignee_is_the_agent: bool,
    audited_assignment: bool,
    /// The routing rule's actions are on the case, with its version, and audited.
    routed: bool,
    reaction_clock: Option<String>,
}

/// Sets up a team that hands out cases, one agent, a webhook subscription and a live stream, lets
/// the door deliver, and reads back what happened.
async fn effects_of(app: &ConnApp, door: &Door) -> Effects {
    let post = |path: &'static str, body: Value| async move {
        let res = app.post(path, &body).send().await.unwrap();
        assert_eq!(res.status(), 201, "{path}");
        res.json::<Value>().await.unwrap()
    };
    post(
        "/api/v1/teams",
        json!({"name": "kcc", "autoAssign": "round_robin"}),
    )
    .await;
    let agent = post(
        "/api/v1/users",
        json!({"name": "Anna de Vries", "email": "anna@gemeente.test", "role": "agent", "teams": ["kcc"]}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Nothing listens: the deliveries are queued (no webhook worker runs here), which is the effect.
    let hook = post(
        "/api/v1/webhooks",
        json!({"url": "http://127.0.0.1:9/hook", "eventTypes": ["case.created", "message.received"]}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // One rule with no conditions: it takes every new case, before the assignment.
    post(
        "/api/v1/routing-rules",
        json!({"name": "Alles", "actions": {"team": "kcc", "priority": "high", "labels": ["via-regel"]}}),
    )
    .await;
    let mut stream = app.get("/api/v1/events").send().await.unwrap();
    assert_eq!(stream.status(), 200);

    (door.deliver)(app).await;

    let live = read_events(&mut stream, |e| {
        e.iter().any(|(_, k, _)| k == "message.received")
    })
    .await;
    let cases = app.cases().await;
    let case = app.case(cases[0]["id"].as_str().unwrap()).await;
    let deliveries: Value = app
        .get(&format!("/api/v1/webhooks/{hook}/deliveries"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let audit: Value = app
        .get(&format!(
            "/api/v1/audit-events?caseId={}",
            case["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reaction = case["sla"]["reaction"]["state"].as_str().map(str::to_owned);
    Effects {
        messages: app.store.count_messages().await.unwrap(),
        cases: app.store.count_cases().await.unwrap(),
        live: live.into_iter().map(|(_, k, _)| k).collect(),
        webhook_deliveries: deliveries.as_array().map_or(0, Vec::len),
        assignee_is_the_agent: case["assignee"] == agent.as_str(),
        audited_assignment: audit["items"].as_array().is_some_and(|a| {
            a.iter().any(|e| {
                e["actor"] == "system:auto-assign" && e["detail"]["assignee"] == agent.as_str()
            })
        }),
        routed: case["routedBy"]["version"] == 1
            && case["priority"] == "high"
            && case["labels"] == json!(["via-regel"])
            && audit["items"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|e| e["actor"] == "system:routing" && e["detail"]["rule"] == "Alles")
            }),
        reaction_clock: reaction,
    }
}
