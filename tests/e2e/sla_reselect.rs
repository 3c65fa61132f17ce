//! SLA policy re-selection: a case classified after its clocks started follows the policy that
//! matches now (due and warning instants from the clock's start under the new norms), re-arms a
//! warning or breach when the new deadline lies later, and records `sla.policy_changed`.

use crate::sla::{
    account_with_calendar, always, citizen, create_calendar, get_json, parse, policy, secs,
    CountingSink,
};
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use std::sync::Arc;
use webcare_e2e::{both_backends, TestApp};
use webcare_workers::sla_worker::SlaWorker;

both_backends!(
    classification_moves_running_clocks_to_the_matching_policy,
    a_later_deadline_re_arms_the_breach_and_it_fires_at_the_new_instant,
);

/// "Algemeen" (24 h reaction, 48 h resolution) for everything; "Melding 2 uur" for meldingen;
/// "Klacht" (150 min reaction, no resolution norm) for complaints.
async fn policies(app: &TestApp) {
    let mut general = policy("Algemeen", 100);
    general["match"] = json!({});
    general["reactionMinutes"] = json!(1440);
    general["resolutionMinutes"] = json!(2880);
    let mut melding = policy("Melding 2 uur", 10);
    melding["reactionMinutes"] = json!(120);
    melding["resolutionMinutes"] = json!(1440);
    let mut klacht = policy("Klacht", 20);
    klacht["match"] = json!({"kind": "klacht"});
    klacht["reactionMinutes"] = json!(150);
    klacht["resolutionMinutes"] = json!(null);
    for p in [general, melding, klacht] {
        let res = app.post("/api/v1/sla-policies", &p).send().await.unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    }
}

async fn patch(app: &TestApp, case: &str, body: Value) -> Value {
    let res = app
        .patch(&format!("/api/v1/cases/{case}"), &body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

/// The `sla.policy_changed` events of a case, oldest first.
async fn policy_events(app: &TestApp, case: &str) -> Vec<Value> {
    let list = get_json(app, &format!("/api/v1/audit-events?caseId={case}")).await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "sla.policy_changed")
        .cloned()
        .collect()
}

/// The case's fired SLA status as the inbox filters on it (`None`: within).
async fn sla_status(app: &TestApp, case: &str) -> Option<&'static str> {
    for status in ["warning", "breached"] {
        let list = get_json(app, &format!("/api/v1/cases?slaStatus={status}&limit=200")).await;
        if list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == case)
        {
            return Some(status);
        }
    }
    None
}

/// Alerts of a case as (clock, status, dueAt), oldest first.
async fn alerts(app: &TestApp, case: &str) -> Vec<(String, String, chrono::DateTime<Utc>)> {
    let list = get_json(app, "/api/v1/sla/alerts?limit=200").await;
    let mut out: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["caseId"] == case)
        .map(|a| {
            (
                a["clock"].as_str().unwrap().to_owned(),
                a["status"].as_str().unwrap().to_owned(),
                parse(&a["dueAt"]),
            )
        })
        .collect();
    out.reverse();
    out
}

async fn classification_moves_running_clocks_to_the_matching_policy(app: TestApp) {
    let cal = create_calendar(&app, &always()).await;
    let account = account_with_calendar(&app, "web", &cal).await;
    policies(&app).await;
    let sent = secs(Utc::now()) - Duration::minutes(150);
    let case = citizen(&app, &account, "c1", "u1", sent).await;
    let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(
        parse(&c["sla"]["reaction"]["dueAt"]),
        sent + Duration::hours(24)
    );
    assert_eq!(c["sla"]["reaction"]["status"], "within");

    // A PATCH that does not touch theme, kind or priority leaves the clocks alone.
    patch(&app, &case, json!({"labels": ["afval"]})).await;
    assert!(policy_events(&app, &case).await.is_empty());

    // Classified as a melding: the 2 h norm counts from the message, so it is already breached.
    let after = patch(&app, &case, json!({"kind": "melding"})).await;
    assert_eq!(parse(&after["dueAt"]), sent + Duration::hours(2));
    let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
    let r = &c["sla"]["reaction"];
    assert_eq!(parse(&r["startedAt"]), sent);
    assert_eq!(parse(&r["dueAt"]), sent + Duration::hours(2));
    assert_eq!(parse(&r["warningAt"]), sent + Duration::minutes(96));
    assert_eq!(r["state"], "running");
    assert_eq!(r["status"], "breached");
    assert_eq!(
        parse(&c["sla"]["resolution"]["dueAt"]),
        sent + Duration::hours(24)
    );
    assert_eq!(parse(&c["dueAt"]), sent + Duration::hours(2));
    let events = policy_events(&app, &case).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor"], "system:sla");
    let d = &events[0]["detail"];
    assert_eq!(d["kind"], "melding");
    let clocks: Vec<(&str, &str, &str)> = d["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["clock"].as_str().unwrap(),
                k["from"]["policy"].as_str().unwrap(),
                k["to"]["policy"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        clocks,
        [
            ("reaction", "Algemeen", "Melding 2 uur"),
            ("resolution", "Algemeen", "Melding 2 uur")
        ]
    );
    assert_eq!(
        parse(&d["clocks"][0]["from"]["dueAt"]),
        sent + Duration::hours(24)
    );
    assert_eq!(
        parse(&d["clocks"][0]["to"]["dueAt"]),
        sent + Duration::hours(2)
    );

    // The worker's next pass fires the warning and the breach for the new instants, once.
    let worker = SlaWorker::new(app.store.clone(), Arc::new(CountingSink::default()));
    let pass = worker.run_once(Utc::now()).await.unwrap();
    assert_eq!(pass.fired.len(), 2);
    assert_eq!(
        alerts(&app, &case).await,
        [
            (
                "reaction".into(),
                "warning".into(),
                sent + Duration::minutes(96)
            ),
            (
                "reaction".into(),
                "breached".into(),
                sent + Duration::hours(2)
            ),
        ]
    );
    assert!(worker.run_once(Utc::now()).await.unwrap().fired.is_empty());
    assert_eq!(sla_status(&app, &case).await, Some("breached"));

    // A classification under which the same policy matches changes nothing.
    patch(&app, &case, json!({"kind": "melding", "priority": "high"})).await;
    assert_eq!(policy_events(&app, &case).await.len(), 1);

    // A stopped clock keeps its figures: after a reply the reaction clock is met under 24 h and
    // stays so when the case becomes a melding; only resolution follows.
    let other = citizen(&app, &account, "c2", "u2", sent).await;
    let other_id: uuid::Uuid = other.parse().unwrap();
    app.store
        .on_reply_sent(
            other_id,
            sent + Duration::hours(2) + Duration::minutes(5),
            false,
        )
        .await
        .unwrap();
    patch(&app, &other, json!({"kind": "melding"})).await;
    let c = get_json(&app, &format!("/api/v1/cases/{other}")).await;
    assert_eq!(c["sla"]["reaction"]["state"], "met");
    assert_eq!(
        parse(&c["sla"]["reaction"]["dueAt"]),
        sent + Duration::hours(24)
    );
    assert_eq!(
        parse(&c["sla"]["resolution"]["dueAt"]),
        sent + Duration::hours(24)
    );
    let events = policy_events(&app, &other).await;
    assert_eq!(events.len(), 1);
    let changed: Vec<&str> = events[0]["detail"]["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["clock"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["resolution"]);
}

async fn a_later_deadline_re_arms_the_breach_and_it_fires_at_the_new_instant(app: TestApp) {
    let cal = create_calendar(&app, &always()).await;
    let account = account_with_calendar(&app, "web", &cal).await;
    policies(&app).await;
    // Under the melding norm (2 h) long breached; under the complaint norm (150 min) due in a few
    // seconds.
    let sent = secs(Utc::now()) - Duration::minutes(150) + Duration::seconds(6);
    let case = citizen(&app, &account, "k1", "u1", sent).await;
    patch(&app, &case, json!({"kind": "melding"})).await;
    let worker = SlaWorker::new(app.store.clone(), Arc::new(CountingSink::default()));
    assert_eq!(worker.run_once(Utc::now()).await.unwrap().fired.len(), 2);

    // A complaint after all: the breach is re-armed for the later deadline, the warning (120 min,
    // passed) stands; the resolution clock keeps its norm (the complaint policy has none).
    let stop = tokio_util::sync::CancellationToken::new();
    let handle =
        SlaWorker::new(app.store.clone(), Arc::new(CountingSink::default())).spawn(stop.clone());
    patch(&app, &case, json!({"kind": "klacht"})).await;
    let due = sent + Duration::minutes(150);
    let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(parse(&c["sla"]["reaction"]["dueAt"]), due);
    assert_eq!(
        parse(&c["sla"]["resolution"]["dueAt"]),
        sent + Duration::hours(24),
        "no resolution norm in the new policy: the old one stays"
    );
    if Utc::now() < due {
        assert_eq!(c["sla"]["reaction"]["status"], "warning");
        assert_eq!(
            sla_status(&app, &case).await,
            Some("warning"),
            "back from breached"
        );
    }
    let events = policy_events(&app, &case).await;
    assert_eq!(events.len(), 2);
    let last = &events[1]["detail"]["clocks"][0];
    assert_eq!(last["clock"], "reaction");
    assert_eq!(last["from"]["status"], "breached");
    assert_eq!(last["to"]["status"], "warning");
    assert_eq!(parse(&last["to"]["dueAt"]), due);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let fired = loop {
        let list = get_json(&app, "/api/v1/sla/alerts?status=breached").await;
        let found = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["caseId"] == case.as_str() && parse(&a["dueAt"]) == due)
            .cloned();
        if let Some(a) = found {
            break a;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no breach for the new deadline"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let delay = parse(&fired["firedAt"]) - due;
    assert!(
        delay >= Duration::zero() && delay < Duration::seconds(1),
        "breach recorded {delay} after the new due instant"
    );
    stop.cancel();
    handle.await.unwrap();
    // Both breaches stay recorded: the one for the old deadline and the one for the new.
    assert_eq!(
        alerts(&app, &case).await,
        [
            (
                "reaction".into(),
                "warning".into(),
                sent + Duration::minutes(96)
            ),
            (
                "reaction".into(),
                "breached".into(),
                sent + Duration::hours(2)
            ),
            ("reaction".into(), "breached".into(), due),
        ]
    );
    assert_eq!(sla_status(&app, &case).await, Some("breached"));
}
