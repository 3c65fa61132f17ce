//! Routing rule sets take effect at their effective time (issue 14: "the rule set is versioned
//! like calendars: a change applies from its effective time"): a version scheduled ahead routes
//! nothing until then, a time in the past or before the newest version's is a 400, and a change
//! on top of a scheduled version joins its time.

use crate::zaak::ZaakApp;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use webcare_e2e::expect_problem;

webcare_e2e::both_backends!(
    app = crate::zaak::ZaakApp;
    a_rule_set_scheduled_ahead_routes_from_its_effective_time,
);

async fn priority(app: &ZaakApp, text: &str) -> Value {
    let case = app.case(text).await;
    let (s, c) = app
        .json(Method::GET, &format!("/api/v1/cases/{case}"), None)
        .await;
    assert_eq!(s, 200, "{c}");
    c["priority"].clone()
}

async fn a_rule_set_scheduled_ahead_routes_from_its_effective_time(app: ZaakApp) {
    let now = chrono::Utc::now();
    let at = now + chrono::Duration::seconds(3);
    let rule = json!({"name": "Lantaarns", "conditions": {"keywords": ["lantaarn*"]},
        "actions": {"priority": "high"}, "effectiveFrom": at.to_rfc3339()});
    let (s, saved) = app
        .json(Method::POST, "/api/v1/routing-rules", Some(rule))
        .await;
    assert_eq!(s, 201, "{saved}");
    let (_, set) = app.json(Method::GET, "/api/v1/routing-rules", None).await;
    assert_eq!(set["version"], 1);
    assert_eq!(set["inForceVersion"], 0, "{set}");
    // Not yet: neither at ingest nor in a dry run.
    assert_ne!(priority(&app, "De lantaarnpaal is kapot").await, "high");
    let (s, tried) = app
        .json(
            Method::POST,
            "/api/v1/routing-rules/test",
            Some(json!({"channelKind": "api", "text": "lantaarnpaal kapot"})),
        )
        .await;
    assert_eq!(s, 200, "{tried}");
    assert!(tried["rule"].is_null(), "{tried}");

    // In the past, or before the scheduled version: 400, nothing stored.
    for when in [
        now - chrono::Duration::hours(1),
        now + chrono::Duration::seconds(1),
    ] {
        let res = app
            .req(Method::POST, "/api/v1/routing-rules")
            .json(
                &json!({"name": "Bomen", "conditions": {"keywords": ["boom"]}, "actions": {"labels": ["groen"]},
                "effectiveFrom": when.to_rfc3339()}),
            )
            .send()
            .await
            .unwrap();
        let p = expect_problem(res, 400).await;
        assert_eq!(p["invalidParams"][0]["name"], "effectiveFrom", "{p}");
    }
    // A change without a time on top of the scheduled version joins its time.
    let (s, joined) = app
        .json(
            Method::POST,
            "/api/v1/routing-rules",
            Some(json!({"name": "Bomen", "conditions": {"keywords": ["boom"]}, "actions": {"labels": ["groen"]}})),
        )
        .await;
    assert_eq!(s, 201, "{joined}");
    let (_, set) = app.json(Method::GET, "/api/v1/routing-rules", None).await;
    assert_eq!(set["version"], 2);
    let from: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(set["effectiveFrom"].clone()).unwrap();
    assert_eq!(from.timestamp_millis(), at.timestamp_millis());
    assert_eq!(set["inForceVersion"], 0);

    // From its time on (and the nodes' two-second cache) the new cases are routed.
    tokio::time::sleep((at - chrono::Utc::now()).to_std().unwrap_or_default()).await;
    let mut last = Value::Null;
    for _ in 0..40 {
        last = priority(&app, "Weer een lantaarnpaal kapot").await;
        if last == "high" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last, "high");
    let (_, set) = app.json(Method::GET, "/api/v1/routing-rules", None).await;
    assert_eq!(set["inForceVersion"], 2);
}
