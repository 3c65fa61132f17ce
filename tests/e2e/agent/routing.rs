//! Routing rules through the API (issue 14): an ordered list, versioned as a whole, validated
//! (every problem named), and tried on a sample message without storing anything.

use super::*;
use webcare_e2e::expect_problem;

crate::both!(routing_rules_are_versioned_validated_and_tried);

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
