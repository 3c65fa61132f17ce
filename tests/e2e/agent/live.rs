//! Live events over SSE (scoped, resumable with Last-Event-ID) and signed outbound webhooks with
//! retries and a delivery log.

use super::*;
use axum::http::HeaderMap;
use reqwest::Method;
use webcare_e2e::{expect_problem, read_events};
use webcare_workers::webhooks::{RetryPolicy, WebhookWorker};

crate::both!(
    sse_streams_what_the_caller_may_see_and_resumes,
    webhooks_are_signed_retried_and_logged,
    webhook_payloads_carry_no_personal_identifiers,
);

/// A webhook receiver on a random port that records every delivery; it fails the first
/// `failures` of them with a 500 and accepts the rest.
async fn receiver(failures: usize) -> (std::net::SocketAddr, Arc<Mutex<Vec<(HeaderMap, String)>>>) {
    let seen: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
    let s2 = seen.clone();
    let recv = Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let s2 = s2.clone();
            async move {
                let mut v = s2.lock().unwrap();
                v.push((headers, body));
                if v.len() <= failures {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, recv).await;
    });
    (addr, seen)
}

async fn sse_streams_what_the_caller_may_see_and_resumes(app: TestApp, idp: Idp) {
    team(&app, "kcc").await;
    let kcc = account_for_team(&app, "kcc-acc", "kcc").await;
    let sb = account_for_team(&app, "sb-acc", "stadsbeheer").await;
    user(&app, json!({"name": "Anna", "email": "anna@gemeente.test", "subject": "anna", "role": "agent", "teams": ["kcc"]})).await;
    let anna = idp.token(Key::Rsa1, json!({"sub": "anna"}));

    let mut stream = with(&app, Method::GET, "/api/v1/events", &anna)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(stream.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let other = citizen_message(&app, &sb, "s1", ("u1", "Piet"), "boom").await;
    let mine = citizen_message(&app, &kcc, "k1", ("u2", "Jan"), "vraag").await;
    let (s, _) = send(with(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{mine}/claim"),
        &anna,
    ))
    .await;
    assert_eq!(s, 200);
    let got = read_events(&mut stream, |e| {
        e.iter().any(|(_, k, _)| k == "case.updated")
    })
    .await;
    let kinds: Vec<&str> = got.iter().map(|(_, k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        vec!["case.created", "message.received", "case.updated"]
    );
    assert!(
        got.iter().all(|(_, _, d)| d["caseId"] == mine.as_str()),
        "only her team's case: {got:?}"
    );
    assert!(got.iter().all(|(_, _, d)| d["caseId"] != other.as_str()));
    assert_eq!(got[2].2["data"]["action"], "case.claimed");

    // Resume as admin after the first event: everything after it, in order, from the log.
    let first = got[0].0;
    let mut resumed = app
        .get("/api/v1/events")
        .header("Last-Event-ID", (first - 2).to_string())
        .send()
        .await
        .unwrap();
    let last = got[2].0;
    let all = read_events(&mut resumed, |e| e.iter().any(|(id, _, _)| *id == last)).await;
    let ids: Vec<i64> = all.iter().map(|(id, _, _)| *id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order: {ids:?}");
    assert_eq!(ids.first(), Some(&(first - 1)));
    assert!(
        all.iter().any(|(_, _, d)| d["caseId"] == other.as_str()),
        "admins see everything"
    );
    let res = app
        .get("/api/v1/events")
        .header("Last-Event-ID", "abc")
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 400).await;
    assert_eq!(p["invalidParams"][0]["name"], "Last-Event-ID");
}

async fn webhooks_are_signed_retried_and_logged(app: TestApp, _idp: Idp) {
    // A receiver that fails the first delivery and accepts the rest.
    let (addr, seen) = receiver(1).await;

    let own = app.base.trim_start_matches("http://").to_owned();
    for (url, types, field) in [
        (
            "ftp://example.org/x".to_owned(),
            json!(["case.created"]),
            "url",
        ),
        ("not a url".to_owned(), json!(["case.created"]), "url"),
        (
            format!("http://{own}/api/v1/messages"),
            json!(["case.created"]),
            "url",
        ),
        (
            format!("http://{addr}/hook"),
            json!(["case.exploded"]),
            "eventTypes",
        ),
        (format!("http://{addr}/hook"), json!([]), "eventTypes"),
    ] {
        let res = app
            .post(
                "/api/v1/webhooks",
                &json!({"url": url, "eventTypes": types}),
            )
            .send()
            .await
            .unwrap();
        let p = expect_problem(res, 400).await;
        assert_eq!(p["invalidParams"][0]["name"], field, "{url}");
    }
    let w = admin_post(
        &app,
        "/api/v1/webhooks",
        json!({"url": format!("http://{addr}/hook"), "eventTypes": ["case.created"]}),
        201,
    )
    .await;
    let secret = w["secret"].as_str().unwrap().to_owned();
    let wid = w["id"].as_str().unwrap().to_owned();
    let (_, list) = send(app.get("/api/v1/webhooks")).await;
    assert!(list[0].get("secret").is_none(), "the secret is shown once");

    let acc = account_for_team(&app, "web", "kcc").await;
    let case = citizen_message(&app, &acc, "m1", ("u1", "Jan"), "vraag").await;
    let worker = WebhookWorker::new(
        app.store.clone(),
        RetryPolicy {
            first_delay: chrono::Duration::milliseconds(50),
            ..Default::default()
        },
    );
    assert_eq!(worker.run_once().await.unwrap(), 1);
    let (_, log) = send(app.get(&format!("/api/v1/webhooks/{wid}/deliveries"))).await;
    assert_eq!(log[0]["status"], "pending");
    assert_eq!(log[0]["attempts"], 1);
    assert_eq!(log[0]["lastStatus"], 500);
    assert_eq!(worker.run_once().await.unwrap(), 0, "not due yet: backoff");
    // Due after the 50 ms backoff; a loaded machine may need a little longer.
    let mut retried = 0;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        retried = worker.run_once().await.unwrap();
        if retried > 0 {
            break;
        }
    }
    assert_eq!(retried, 1, "retried once the backoff has passed");
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(
        worker.run_once().await.unwrap(),
        0,
        "never sent again after a success"
    );
    let (_, log) = send(app.get(&format!("/api/v1/webhooks/{wid}/deliveries"))).await;
    assert_eq!(
        log.as_array().unwrap().len(),
        1,
        "one delivery (only case.created is subscribed)"
    );
    assert_eq!(log[0]["status"], "succeeded");
    assert_eq!(log[0]["attempts"], 2);
    assert_eq!(log[0]["lastStatus"], 204);

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let (h, body) = &seen[1];
    let ts: i64 = h["x-webcare-timestamp"].to_str().unwrap().parse().unwrap();
    webcare_connectors::signature::verify_webhook(
        secret.as_bytes(),
        ts,
        body.as_bytes(),
        h.get("x-webcare-signature").and_then(|v| v.to_str().ok()),
    )
    .expect("signed with the webhook's secret");
    assert_eq!(h["x-webcare-delivery-id"], log[0]["id"].as_str().unwrap());
    assert_eq!(
        seen[0].0["x-webcare-delivery-id"], seen[1].0["x-webcare-delivery-id"],
        "a retry keeps its id"
    );
    let b: Value = serde_json::from_str(body).unwrap();
    assert_eq!(b["type"], "case.created");
    assert_eq!(b["caseId"], case.as_str());

    let (s, _) = send(app.delete(&format!("/api/v1/webhooks/{wid}"))).await;
    assert_eq!(s, 204);
    let res = app
        .get(&format!("/api/v1/webhooks/{wid}/deliveries"))
        .send()
        .await
        .unwrap();
    expect_problem(res, 404).await;
}

/// Webhook subscribers are third parties: a BSN, IBAN or phone number in an event's texts (here a
/// platform error that quotes the reply) reaches them masked, while the desk keeps the event.
async fn webhook_payloads_carry_no_personal_identifiers(app: TestApp, _idp: Idp) {
    let (addr, seen) = receiver(0).await;
    admin_post(
        &app,
        "/api/v1/webhooks",
        json!({"url": format!("http://{addr}/hook"), "eventTypes": ["reply.updated"]}),
        201,
    )
    .await;
    let quoted = "refused: 'BSN 111222333, IBAN NL91 ABNA 0417 1643 00, bel +31 6 12345678'";
    app.store
        .append_event(webcare_store::agent_events::NewEvent {
            kind: "reply.updated".into(),
            case_id: None,
            team: None,
            assignee: None,
            department_id: None,
            payload: json!({"state": "failed", "lastError": quoted, "attempts": 3}),
        })
        .await
        .unwrap();
    let worker = WebhookWorker::new(app.store.clone(), RetryPolicy::default());
    assert_eq!(worker.run_once().await.unwrap(), 1);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let b: Value = serde_json::from_str(&seen[0].1).unwrap();
    assert_eq!(
        b["data"],
        json!({"state": "failed", "attempts": 3, "lastError": "refused: 'BSN *********, IBAN NL** **** **** **** **, bel +** * ********'"})
    );
}

#[test]
fn the_default_retry_policy_covers_more_than_a_day() {
    let p = RetryPolicy::default();
    assert_eq!(p.delay(0), chrono::Duration::seconds(10));
    assert_eq!(p.delay(3), chrono::Duration::seconds(80));
    assert_eq!(p.delay(30), chrono::Duration::hours(1));
    assert!(p.give_up_after >= chrono::Duration::hours(24));
}
