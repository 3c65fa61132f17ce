//! Routing rules through the API (issue 14): an ordered list, versioned as a whole, validated
//! (every problem named), and tried on a sample message without storing anything.

use super::*;
use webcare_e2e::expect_problem;

crate::both!(
    routing_rules_are_versioned_validated_and_tried,
    rules_route_new_cases_and_route_again_on_demand
);

async fn routing_rules_are_versioned_validated_and_tried(app: TestApp, _idp: Idp) {
    team(&app, "groen").await;
    team(&app, "verkeer").await;
    let dept = department(&app, "Openbare ruimte").await;
    let (s, empty) = send(app.get("/api/v1/routing-rules")).await;
    assert_eq!(s, 200);
    assert_eq!(empty["version"], 0);
    assert_eq!(empty["rules"], json!([]));

    let boom = admin_post(
        &app,
        "/api/v1/routing-rules",
        json!({"name": "Bomen", "conditions": {"keywords": ["boom", "*takken"]},
               "actions": {"team": "groen", "departmentId": dept, "labels": ["groen"]}}),
        201,
    )
    .await;
    assert_eq!(boom["version"], 1);
    let avond = admin_post(
        &app,
        "/api/v1/routing-rules",
        json!({"name": "Verkeer 's avonds", "position": 0,
               "conditions": {"channelKinds": ["x"], "keywords": ["verkeerslicht*"],
                              "timeFrom": "17:00:00", "timeTo": "08:30:00"},
               "actions": {"team": "verkeer", "priority": "high"}}),
        201,
    )
    .await;
    assert_eq!(avond["version"], 2);
    let (_, set) = send(app.get("/api/v1/routing-rules")).await;
    let names: Vec<&str> = set["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Verkeer 's avonds", "Bomen"]);

    // Bad rules: every problem named, nothing stored.
    let res = app
        .post(
            "/api/v1/routing-rules",
            &json!({"name": "Kapot", "conditions": {"pattern": "(open", "keywords": ["a*b*"]},
                    "actions": {"team": "bestaat-niet"}}),
        )
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 400).await;
    let fields: Vec<&str> = p["invalidParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "conditions.keywords[0]",
            "conditions.pattern",
            "actions.team"
        ]
    );
    for (body, field) in [
        (
            json!({"name": "Ver", "position": 501, "actions": {"team": "groen"}}),
            "position",
        ),
        (
            json!({"name": "Zaak", "actions": {"createZaak": "geen url"}}),
            "actions.createZaak",
        ),
    ] {
        let res = app
            .post("/api/v1/routing-rules", &body)
            .send()
            .await
            .unwrap();
        let p = expect_problem(res, 400).await;
        assert_eq!(p["invalidParams"][0]["name"], field, "{body}");
    }
    let (_, same) = send(app.get("/api/v1/routing-rules")).await;
    assert_eq!(same["version"], 2);

    // Tried on samples: the evening traffic rule only in the evening, in Amsterdam time.
    let try_it =
        |text: &str, kind: &str, at: &str| json!({"channelKind": kind, "text": text, "at": at});
    let (s, r) = send(app.post(
        "/api/v1/routing-rules/test",
        &try_it(
            "Verkeerslichten kapot op de ring",
            "x",
            "2026-03-09T18:30:00Z",
        ),
    ))
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["matched"], true);
    assert_eq!(r["position"], 0);
    assert_eq!(r["rule"]["actions"]["team"], "verkeer");
    assert_eq!(
        r["reasons"],
        json!(["kanaal x", "tijd 19:30", "trefwoord 'verkeerslicht*'"])
    );
    let (_, r) = send(app.post(
        "/api/v1/routing-rules/test",
        &try_it(
            "Verkeerslichten kapot op de ring",
            "x",
            "2026-03-09T10:00:00Z",
        ),
    ))
    .await;
    assert_eq!(r["matched"], false);
    let (_, r) = send(app.post(
        "/api/v1/routing-rules/test",
        &try_it(
            "Er liggen afgebroken TAKKEN op straat",
            "facebook_page",
            "2026-03-09T10:00:00Z",
        ),
    ))
    .await;
    assert_eq!(r["rule"]["name"], "Bomen");
    assert_eq!(r["version"], 2);

    // Changed and moved, then removed: each a new version; the rules keep their ids.
    let id = boom["rule"]["id"].as_str().unwrap();
    let (s, moved) = send(app.patch(
        &format!("/api/v1/routing-rules/{id}"),
        &json!({"position": 0, "enabled": false}),
    ))
    .await;
    assert_eq!(s, 200, "{moved}");
    assert_eq!(moved["version"], 3);
    let (_, set) = send(app.get("/api/v1/routing-rules")).await;
    assert_eq!(set["rules"][0]["id"], id);
    assert_eq!(set["rules"][0]["enabled"], false);
    let (_, r) = send(app.post(
        "/api/v1/routing-rules/test",
        &try_it("Boom op de weg", "facebook_page", "2026-03-09T10:00:00Z"),
    ))
    .await;
    assert_eq!(r["matched"], false, "a disabled rule does not match");
    let (s, _) = send(app.delete(&format!("/api/v1/routing-rules/{id}"))).await;
    assert_eq!(s, 204);
    let (s, _) = send(app.delete(&format!("/api/v1/routing-rules/{id}"))).await;
    assert_eq!(s, 404);
    let (_, set) = send(app.get("/api/v1/routing-rules")).await;
    assert_eq!(set["version"], 4);
    assert_eq!(set["rules"].as_array().unwrap().len(), 1);
}

async fn rules_route_new_cases_and_route_again_on_demand(app: TestApp, _idp: Idp) {
    team(&app, "groen").await;
    let dept = department(&app, "Openbare ruimte").await;
    let account = account_for_team(&app, "website", "kcc").await;
    // Before any rule: the case keeps the account's team.
    let early = citizen_message(
        &app,
        &account,
        "m-1",
        ("u-1", "Els"),
        "Er is een boom omgewaaid in het park",
    )
    .await;
    let (_, c) = send(app.get(&format!("/api/v1/cases/{early}"))).await;
    assert_eq!(c["team"], "kcc");
    assert_eq!(c["routedBy"], Value::Null);

    let rule = admin_post(
        &app,
        "/api/v1/routing-rules",
        json!({"name": "Bomen", "conditions": {"keywords": ["boom", "bomen"]},
               "actions": {"team": "groen", "departmentId": dept, "labels": ["groen"], "kind": "melding"}}),
        201,
    )
    .await;
    let rule_id = rule["rule"]["id"].clone();

    // A new case is routed as it comes in: team, labels, kind, forwarded with the rule's version.
    let routed = citizen_message(
        &app,
        &account,
        "m-2",
        ("u-2", "Kees"),
        "Bomen blokkeren de fietsroute",
    )
    .await;
    let (_, c) = send(app.get(&format!("/api/v1/cases/{routed}"))).await;
    assert_eq!(c["team"], "groen", "{c}");
    assert_eq!(c["status"], "forwarded");
    assert_eq!(c["departmentId"], dept.as_str());
    assert_eq!(c["labels"], json!(["groen"]));
    assert_eq!(c["kind"], "melding");
    assert_eq!(c["routedBy"], json!({"version": 1, "ruleId": rule_id}));

    // The early case, routed on demand: the same actions, audited under the caller.
    let (s, r) = send(app.post(&format!("/api/v1/cases/{early}/route"), &json!({}))).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["matched"], true);
    assert_eq!(r["rule"]["name"], "Bomen");
    assert_eq!(r["reasons"], json!(["trefwoord 'boom'"]));
    assert_eq!(r["case"]["team"], "groen");
    assert_eq!(r["case"]["status"], "forwarded");
    assert_eq!(r["case"]["routedBy"]["ruleId"], rule_id);
    let (_, audit) = send(app.get(&format!("/api/v1/audit-events?caseId={early}"))).await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "case.routed" && e["detail"]["rule"] == "Bomen"),
        "{audit}"
    );
    // Routing again does not forward it a second time.
    let (s, _) = send(app.post(&format!("/api/v1/cases/{early}/route"), &json!({}))).await;
    assert_eq!(s, 200);
    let (_, forwards) = send(app.get(&format!("/api/v1/cases/{early}/forwards"))).await;
    assert_eq!(
        forwards["forwards"].as_array().map(Vec::len),
        Some(1),
        "{forwards}"
    );

    // A case no rule takes is left as it is; an unknown case is 404.
    let other = citizen_message(
        &app,
        &account,
        "m-3",
        ("u-3", "An"),
        "Wat kost een paspoort?",
    )
    .await;
    let (s, r) = send(app.post(&format!("/api/v1/cases/{other}/route"), &json!({}))).await;
    assert_eq!(s, 200);
    assert_eq!(r["matched"], false);
    assert_eq!(r["case"]["team"], "kcc");
    assert_eq!(r["case"]["status"], "new");
    let (s, _) = send(app.post(
        &format!("/api/v1/cases/{}/route", uuid::Uuid::now_v7()),
        &json!({}),
    ))
    .await;
    assert_eq!(s, 404);
}
