//! The cost model and the costs report (issue 16, DESIGN 10, `docs/REPORTS.md`) on both
//! databases: the model's versions and refusals, the report on the hand-built week of
//! `reports.rs` under a hand-made model, and the research's EUR 18.30 from the defaults.

use super::reports::{build_week, local, message, reply};
use super::*;
use chrono::{DateTime, Duration, Utc};
use webcare_domain::costs::{CostLine, CostModel, Per};
use webcare_e2e::{expect_problem, TestApp};
use webcare_store::versions::NewVersion;

webcare_e2e::both_backends!(
    the_costs_report_answers_the_hand_worked_figures,
    the_default_model_costs_18_30_per_answered_question,
    the_cost_model_is_versioned_and_validated
);

const PERIOD: &str = "from=2026-03-02&to=2026-03-09";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn fixed(yearly: f64) -> CostModel {
    CostModel {
        lines: vec![CostLine::fixed("Alles", yearly, Per::Year)],
    }
}

async fn report(app: &TestApp, path: &str) -> Value {
    let (s, v) = send(app.get(path)).await;
    assert_eq!(s, 200, "{path}: {v}");
    v
}

async fn the_costs_report_answers_the_hand_worked_figures(app: TestApp) {
    build_week(&app).await;
    // Versions stored past the API (which refuses a past effective time): 36,500 a year (100 a
    // day in 2026), from Thursday 5 March 73,000 (200 a day). The week costs 3 x 100 + 4 x 200.
    app.store
        .save_cost_model(NewVersion {
            after: None,
            value: &fixed(36_500.0),
            effective_from: t("2000-01-01T00:00:00Z"),
            actor: "test",
        })
        .await
        .unwrap();
    app.store
        .save_cost_model(NewVersion {
            after: Some(1),
            value: &fixed(73_000.0),
            effective_from: t("2026-03-05T00:00:00+01:00"),
            actor: "test",
        })
        .await
        .unwrap();

    // Answered (a reaction: reply or holding answer): A, B, C, D, I of the 7 cases.
    let v = report(&app, &format!("/api/v1/reports/costs?{PERIOD}")).await;
    assert_eq!(
        v["columns"],
        json!([
            "cases",
            "answered",
            "answeredTotal",
            "periodCost",
            "cost",
            "costPerAnswered",
            "costPerCase"
        ])
    );
    assert_eq!(
        v["rows"],
        json!([{"cases": 7, "answered": 5, "answeredTotal": 5, "periodCost": 1100.0,
                "cost": 1100.0, "costPerAnswered": 220.0, "costPerCase": 157.14}])
    );

    // By theme, allocated by answered questions: no theme F, I (1 answered); Afval A, B, D (3);
    // Wonen C, E (1).
    let v = report(
        &app,
        &format!("/api/v1/reports/costs?{PERIOD}&groupBy=theme"),
    )
    .await;
    assert_eq!(
        v["rows"],
        json!([
            {"theme": "", "cases": 2, "answered": 1, "answeredTotal": 5, "periodCost": 1100.0,
             "cost": 220.0, "costPerAnswered": 220.0, "costPerCase": 110.0},
            {"theme": "Afval", "cases": 3, "answered": 3, "answeredTotal": 5, "periodCost": 1100.0,
             "cost": 660.0, "costPerAnswered": 220.0, "costPerCase": 220.0},
            {"theme": "Wonen", "cases": 2, "answered": 1, "answeredTotal": 5, "periodCost": 1100.0,
             "cost": 220.0, "costPerAnswered": 220.0, "costPerCase": 110.0},
        ])
    );

    // A filter shows its part of the desk's cost, not all of it.
    let v = report(&app, &format!("/api/v1/reports/costs?{PERIOD}&theme=Wonen")).await;
    assert_eq!(
        v["rows"][0],
        json!({"cases": 2, "answered": 1, "answeredTotal": 5, "periodCost": 1100.0,
               "cost": 220.0, "costPerAnswered": 220.0, "costPerCase": 110.0})
    );

    // A department token sees the forwarded cases (D): its share, of the whole desk's cost.
    let dept = app.token(webcare_domain::Role::Department).await;
    let res = app
        .client
        .get(app.url(&format!("/api/v1/reports/costs?{PERIOD}")))
        .bearer_auth(&dept)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        v["rows"][0],
        json!({"cases": 1, "answered": 1, "answeredTotal": 5, "periodCost": 1100.0,
               "cost": 220.0, "costPerAnswered": 220.0, "costPerCase": 220.0})
    );

    // A period without answered questions: the cost is known, its allocation is not.
    let v = report(&app, "/api/v1/reports/costs?from=2026-03-07&to=2026-03-08").await;
    assert_eq!(
        v["rows"][0],
        json!({"cases": 1, "answered": 0, "answeredTotal": 0, "periodCost": 200.0,
               "cost": null, "costPerAnswered": null, "costPerCase": null})
    );

    // CSV: the same rows.
    let res = app
        .get(&format!("/api/v1/reports/costs?{PERIOD}&groupBy=theme"))
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert_eq!(
        text,
        "theme,cases,answered,answeredTotal,periodCost,cost,costPerAnswered,costPerCase\r\n\
         ,2,1,5,1100,220,220,110\r\n\
         Afval,3,3,5,1100,660,220,220\r\n\
         Wonen,2,1,5,1100,220,220,110\r\n"
    );
}

/// Ten answered questions in 1 day 8:26:40 (116,800 seconds, 2,700ths of a year of 365 days x
/// 10): under the research's model that is EUR 183.00, 18.30 each.
async fn the_default_model_costs_18_30_per_answered_question(app: TestApp) {
    let acc: uuid::Uuid = app
        .channel_account("api", "centraal")
        .await
        .parse()
        .unwrap();
    for i in 0..10u32 {
        let conv = format!("k{i}");
        let case = message(
            &app,
            acc,
            &conv,
            &format!("{conv}-in"),
            local(2, 9, i),
            false,
        )
        .await;
        reply(
            &app,
            acc,
            &conv,
            &format!("{conv}-out"),
            case,
            local(2, 10, i),
            false,
        )
        .await;
    }
    let v = report(
        &app,
        "/api/v1/reports/costs?from=2026-03-02&to=2026-03-03T08:26:40%2B01:00",
    )
    .await;
    assert_eq!(
        v["rows"][0],
        json!({"cases": 10, "answered": 10, "answeredTotal": 10, "periodCost": 183.0,
               "cost": 183.0, "costPerAnswered": 18.3, "costPerCase": 18.3})
    );
}

async fn the_cost_model_is_versioned_and_validated(app: TestApp) {
    let put = |body: Value| {
        app.client
            .put(app.url("/api/v1/cost-model"))
            .bearer_auth(&app.admin_token)
            .json(&body)
    };
    // The research's model before anything is stored.
    let (s, m) = send(app.get("/api/v1/cost-model")).await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["version"], 0);
    assert_eq!(m["yearlyTotal"], 49_410.0);
    assert_eq!(m["unit"], "answeredQuestion");
    assert_eq!(m["inForce"]["lines"].as_array().unwrap().len(), 11);
    assert_eq!(
        m["inForce"]["lines"][0],
        json!({"name": "Webcaremedewerkers (schaal 7)", "kind": "staff", "hoursPerWeek": 15.0,
               "yearlySalary": 29250.0})
    );
    // A team lead reads it too.
    let lead = app.token(webcare_domain::Role::Teamlead).await;
    let res = app
        .client
        .get(app.url("/api/v1/cost-model"))
        .bearer_auth(&lead)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let good = json!({"lines": [
        {"name": "Medewerkers", "kind": "staff", "hoursPerWeek": 36, "yearlySalary": 40000},
        {"name": "Licentie", "kind": "fixed", "amount": 100, "per": "month"},
    ]});
    // Every bad field of every line is named.
    let res = put(json!({"version": 0, "model": {"lines": [
        {"name": "", "kind": "staff", "hoursPerWeek": 0, "yearlySalary": 1},
        {"name": "Licentie", "kind": "fixed", "amount": 1.234},
    ]}}))
    .send()
    .await
    .unwrap();
    let p = expect_problem(res, 400).await;
    let names: Vec<&str> = p["invalidParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "model.lines[0].name",
            "model.lines[0].hoursPerWeek",
            "model.lines[1].amount",
            "model.lines[1].per"
        ],
        "{p}"
    );
    for bad in [
        json!({"version": 0, "model": {"lines": [{"name": "x", "kind": "lease"}]}}),
        json!({"version": 0, "model": good, "extra": 1}),
        json!({"version": 0, "model": good, "effectiveFrom": "2020-01-01T00:00:00Z"}),
    ] {
        let res = put(bad.clone()).send().await.unwrap();
        let p = expect_problem(res, 400).await;
        assert!(
            p["invalidParams"].is_array() || p["detail"].is_string(),
            "{bad}: {p}"
        );
    }
    let (_, m) = send(app.get("/api/v1/cost-model")).await;
    assert_eq!(m["version"], 0, "nothing was stored: {m}");

    let (s, v1) = send(put(json!({"version": 0, "model": good}))).await;
    assert_eq!(s, 200, "{v1}");
    assert_eq!(v1["version"], 1);
    assert_eq!(
        v1["yearlyTotal"], 41_200.0,
        "1.00 fte x 40,000 + 12 x 100: {v1}"
    );
    // A change on an outdated version is a conflict.
    let res = put(json!({"version": 0, "model": good}))
        .send()
        .await
        .unwrap();
    expect_problem(res, 409).await;
    // A version that takes effect later is stored but not in force yet.
    let later = (Utc::now() + Duration::days(30)).to_rfc3339();
    let (s, v2) = send(put(
        json!({"version": 1, "effectiveFrom": later, "model": {"lines": []}}),
    ))
    .await;
    assert_eq!(s, 200, "{v2}");
    let (_, m) = send(app.get("/api/v1/cost-model")).await;
    assert_eq!(m["version"], 2, "{m}");
    assert_eq!(m["yearlyTotal"], 41_200.0, "{m}");
    assert_eq!(m["versions"].as_array().unwrap().len(), 2, "{m}");
    assert_eq!(m["versions"][1]["yearlyTotal"], 0.0, "{m}");
}
