//! The reports (issue 16, `docs/REPORTS.md`) on a hand-built week, on both databases: every
//! figure below is worked out by hand from the times in the data set, and both backends must
//! answer exactly these (so they answer the same).
//!
//! The week of Monday 2 March 2026 (Amsterdam is UTC+1), the built-in calendar (Monday to Friday
//! 08:30-17:00) and the default norms (reaction 240, resolution 1440, department 480 business
//! minutes). Local times in the comments.
//! - A (account 1, Afval): Mon 09:00, reply 10:30, the citizen asks more at 11:00, reply 11:20,
//!   resolved 12:00. Case G (Tue 09:00) is merged into it: G's message counts on A, G itself not
//!   at all.
//! - B (account 1, Afval): Fri 16:00, reply Mon 9 March 09:00 (after the weekend), not resolved.
//! - C (account 2, Wonen): Tue 20:00 (after hours), reply Wed 14:30 (late), resolved Wed 15:00,
//!   reopened by the citizen Thu 10:00 and resolved again Thu 11:00.
//! - D (account 1, Afval): Wed 10:00, holding answer 10:15, forwarded 11:00, the department
//!   answers Thu 11:00 (late), resolved Thu 11:30 with a second reply.
//! - E (account 2, Wonen): Thu 13:00, "geen reactie nodig" and resolved at 13:30.
//! - F (account 1, no theme): Sat 12:00, never answered.
//! - I (account 2, no theme): Mon 00:30 (Sunday 23:30 UTC: in the period by Amsterdam time),
//!   reply 09:00; the citizen asks more at 12:00, reply Tue 12:00 (late).
//! - Outside the period: Sun 1 March 23:30 and Mon 9 March 09:00.
//!
//! A, C and F start with a public message (a post or comment), the others with a private one.

use super::*;
use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;
use webcare_domain::inbound::{Author, InboundMessage};
use webcare_domain::{CaseStatus, Direction, Role, Visibility};
use webcare_e2e::{expect_problem, TestApp};

webcare_e2e::both_backends!(
    reports_answer_the_hand_worked_figures,
    reports_are_authorised_and_validated,
    report_csv_equals_the_json_rows,
    case_export_has_every_case_once_and_no_personal_data,
    case_export_is_scoped_and_validated
);

const PERIOD: &str = "from=2026-03-02&to=2026-03-09";

/// `d` March 2026 at `h:m` Amsterdam time (UTC+1 that week).
pub(super) fn local(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, h, m, 0).unwrap() - chrono::Duration::hours(1)
}

/// Stores a private message on conversation `conv` (an outbound echo of our reply when `out`),
/// and answers its case.
pub(super) async fn message(
    app: &TestApp,
    account: Uuid,
    conv: &str,
    id: &str,
    at: DateTime<Utc>,
    out: bool,
) -> Uuid {
    message_as(app, account, conv, id, at, out, Visibility::Private).await
}

/// A citizen's public message (a post or comment) on conversation `conv`; answers its case.
async fn public_message(
    app: &TestApp,
    account: Uuid,
    conv: &str,
    id: &str,
    at: DateTime<Utc>,
) -> Uuid {
    message_as(app, account, conv, id, at, false, Visibility::Public).await
}

async fn message_as(
    app: &TestApp,
    account: Uuid,
    conv: &str,
    id: &str,
    at: DateTime<Utc>,
    out: bool,
    visibility: Visibility,
) -> Uuid {
    let item = webcare_store::IngestItem {
        channel_account_id: account,
        message: InboundMessage {
            platform_message_id: id.into(),
            in_reply_to: None,
            conversation_key: Some(conv.into()),
            visibility,
            direction: if out {
                Direction::Outbound
            } else {
                Direction::Inbound
            },
            author: Author {
                platform_user_id: if out {
                    "gemeente".into()
                } else {
                    format!("burger-{conv}")
                },
                handle: None,
                display_name: None,
            },
            text: format!("bericht {id}"),
            sent_at: at,
            attachments: vec![],
            flags: vec![],
        },
        received_at: at,
        default_team: Some("kcc".into()),
    };
    let out = app
        .store
        .ingest_batch(vec![item])
        .await
        .pop()
        .unwrap()
        .unwrap();
    out.message.case_id
}

/// A reply at `at`: its echo (a message out) and the clocks' stop.
pub(super) async fn reply(
    app: &TestApp,
    account: Uuid,
    conv: &str,
    id: &str,
    case: Uuid,
    at: DateTime<Utc>,
    holding: bool,
) {
    message(app, account, conv, id, at, true).await;
    app.store.on_reply_sent(case, at, holding).await.unwrap();
}

pub(super) async fn resolve(app: &TestApp, case: Uuid, at: DateTime<Utc>) {
    app.store
        .on_status_change(case, CaseStatus::Open, CaseStatus::Resolved, at)
        .await
        .unwrap();
}

async fn theme(app: &TestApp, case: Uuid, theme: &str) {
    let (s, v) = send(app.patch(&format!("/api/v1/cases/{case}"), &json!({"theme": theme}))).await;
    assert_eq!(s, 200, "{v}");
}

pub(super) struct Week {
    pub(super) acc1: Uuid,
    pub(super) acc2: Uuid,
    pub(super) dept: Uuid,
}

pub(super) async fn build_week(app: &TestApp) -> Week {
    let acc1: Uuid = app
        .channel_account("api", "centraal")
        .await
        .parse()
        .unwrap();
    let acc2: Uuid = app
        .channel_account("api", "stadsbeheer")
        .await
        .parse()
        .unwrap();
    let (s, d) = send(app.post(
        "/api/v1/departments",
        &json!({"name": "Afvalbeheer", "answerMinutes": 480}),
    ))
    .await;
    assert_eq!(s, 201, "{d}");
    let dept: Uuid = d["id"].as_str().unwrap().parse().unwrap();

    let a = public_message(app, acc1, "a", "a1", local(2, 9, 0)).await;
    theme(app, a, "Afval").await;
    reply(app, acc1, "a", "a2", a, local(2, 10, 30), false).await;
    message(app, acc1, "a", "a3", local(2, 11, 0), false).await;
    reply(app, acc1, "a", "a4", a, local(2, 11, 20), false).await;
    resolve(app, a, local(2, 12, 0)).await;

    let g = message(app, acc1, "g", "g1", local(3, 9, 0), false).await;
    let (s, v) = send(app.post(
        &format!("/api/v1/cases/{g}/merge"),
        &json!({"intoCaseId": a}),
    ))
    .await;
    assert_eq!(s, 200, "{v}");

    let b = message(app, acc1, "b", "b1", local(6, 16, 0), false).await;
    theme(app, b, "Afval").await;
    reply(app, acc1, "b", "b2", b, local(9, 9, 0), false).await;

    let c = public_message(app, acc2, "c", "c1", local(3, 20, 0)).await;
    theme(app, c, "Wonen").await;
    reply(app, acc2, "c", "c2", c, local(4, 14, 30), false).await;
    resolve(app, c, local(4, 15, 0)).await;
    assert_eq!(
        message(app, acc2, "c", "c3", local(5, 10, 0), false).await,
        c
    );
    app.store
        .on_status_change(c, CaseStatus::Resolved, CaseStatus::Open, local(5, 10, 0))
        .await
        .unwrap();
    resolve(app, c, local(5, 11, 0)).await;

    let d = message(app, acc1, "d", "d1", local(4, 10, 0), false).await;
    theme(app, d, "Afval").await;
    reply(app, acc1, "d", "d2", d, local(4, 10, 15), true).await;
    let (s, v) = send(app.post(
        &format!("/api/v1/cases/{d}/forward"),
        &json!({"departmentId": dept, "question": "Wanneer wordt de container geleegd?"}),
    ))
    .await;
    assert_eq!(s, 200, "{v}");
    // The forward went out now; its clock restarts at the week's time (the first run is
    // cancelled as `reforwarded` and does not count).
    app.store
        .on_forward(d, None, None, local(4, 11, 0))
        .await
        .unwrap();
    app.store
        .on_department_answer(d, local(5, 11, 0))
        .await
        .unwrap();
    message(app, acc1, "d", "d3", local(5, 11, 30), true).await;
    app.store
        .on_status_change(
            d,
            CaseStatus::Forwarded,
            CaseStatus::Resolved,
            local(5, 11, 30),
        )
        .await
        .unwrap();

    let e = message(app, acc2, "e", "e1", local(5, 13, 0), false).await;
    theme(app, e, "Wonen").await;
    app.store
        .on_no_reply_needed(e, "een compliment", local(5, 13, 30))
        .await
        .unwrap();
    resolve(app, e, local(5, 13, 30)).await;

    public_message(app, acc1, "f", "f1", local(7, 12, 0)).await;

    let i = message(app, acc2, "i", "i1", local(2, 0, 30), false).await;
    reply(app, acc2, "i", "i2", i, local(2, 9, 0), false).await;
    message(app, acc2, "i", "i3", local(2, 12, 0), false).await;
    reply(app, acc2, "i", "i4", i, local(3, 12, 0), false).await;

    message(app, acc2, "early", "x1", local(1, 23, 30), false).await;
    message(app, acc2, "late", "x2", local(9, 9, 0), false).await;
    Week { acc1, acc2, dept }
}

async fn report(app: &TestApp, path: &str) -> Value {
    let (s, v) = send(app.get(path)).await;
    assert_eq!(s, 200, "{path}: {v}");
    v
}

/// `path` answers 400 naming exactly `names` as invalid.
async fn assert_invalid(app: &TestApp, path: &str, names: &[&str]) {
    let p = expect_problem(app.get(path).send().await.unwrap(), 400).await;
    let got: Vec<&str> = p["invalidParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(got, names, "{path}: {p}");
}

/// The only row of an ungrouped report.
fn total(v: &Value) -> Value {
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v}");
    rows[0].clone()
}

async fn reports_answer_the_hand_worked_figures(app: TestApp) {
    let w = build_week(&app).await;

    // Volume: 7 cases (G merged, two outside the period); messages in: A 3 (with G's), B 1,
    // C 2, D 1, E 1, F 1, I 2; out: A 2, B 1, C 1, D 2, I 2.
    // Backlog (open cases, by their resolution runs): at Mon 2 March 00:00 only the early case
    // (Sun 1 March 23:30, never answered); at Mon 9 March 00:00 B, F, I and the early one. The
    // previous week [23 Feb, 2 Mar) had the early case: 7 is a change of +600%.
    let v = report(&app, &format!("/api/v1/reports/volume?{PERIOD}")).await;
    assert_eq!(
        v["columns"],
        json!([
            "cases",
            "messagesIn",
            "messagesOut",
            "backlogStart",
            "backlogEnd",
            "backlogAt",
            "previousCases",
            "casesChangeShare"
        ])
    );
    assert_eq!(
        total(&v),
        json!({
            "cases": 7, "messagesIn": 11, "messagesOut": 8, "backlogStart": 1, "backlogEnd": 4,
            "backlogAt": null, "previousCases": 1, "casesChangeShare": 6.0,
        })
    );
    // At a moment, Wed 4 March 12:00: the early case, C (Tue 20:00 to Wed 15:00), D (from Wed
    // 10:00) and I. A moment outside the period counts as well (Tue 10 March: B, F, I, early
    // and the late case of 9 March).
    for (at, n) in [("2026-03-04T12:00:00%2B01:00", 4), ("2026-03-10", 5)] {
        let v = report(&app, &format!("/api/v1/reports/volume?{PERIOD}&at={at}")).await;
        assert_eq!(total(&v)["backlogAt"], n, "{at}: {v}");
    }
    assert_invalid(
        &app,
        &format!("/api/v1/reports/volume?{PERIOD}&at=gisteren"),
        &["at"],
    )
    .await;

    // The inbox's text filters: the words of a message, and labels.
    let v = report(&app, &format!("/api/v1/reports/volume?{PERIOD}&q=e1")).await;
    assert_eq!(total(&v)["cases"], 1, "only E says 'e1'");
    let (_, found) = send(app.get("/api/v1/cases?q=e1")).await;
    let e = found["items"][0]["id"].as_str().unwrap().to_owned();
    let (s, b) =
        send(app.patch(&format!("/api/v1/cases/{e}"), &json!({"labels": ["storm"]}))).await;
    assert_eq!(s, 200, "{b}");
    let v = report(
        &app,
        &format!("/api/v1/reports/volume?{PERIOD}&labels=storm"),
    )
    .await;
    assert_eq!(total(&v)["cases"], 1, "{v}");
    let v = report(
        &app,
        &format!("/api/v1/reports/volume?{PERIOD}&labels=storm,hagel"),
    )
    .await;
    assert_eq!(
        total(&v)["cases"],
        0,
        "every label must be on the case: {v}"
    );

    // Reaction (first run, reply or holding answer): A 90/90, B 3900/90 (Fri 16:00-17:00 and Mon
    // 08:30-09:00), C 1110/360, D 15/15, I 510/30 minutes wall/business. Nearest rank: median is
    // the 3rd of 5, p90 the 5th. E needed no reaction; F still waits, past 24 h. Within 24 h:
    // A, C, D, I of A, B, C, D, I, F.
    // Next reactions, one per later citizen message: A 20/20 (met), I 1440/510 (Mon 12:00-17:00
    // and Tue 08:30-12:00: missed). C's message Thu 10:00 that reopened it got no reply before
    // it was resolved again: that run is cancelled, with no time and no verdict.
    let v = report(&app, &format!("/api/v1/reports/reaction?{PERIOD}")).await;
    assert_eq!(
        total(&v),
        json!({
            "cases": 7, "reactions": 5,
            "reactionBusinessMinutesMedian": 90.0, "reactionBusinessMinutesP90": 360.0,
            "reactionBusinessMinutesMean": 117.0,
            "reactionWallMinutesMedian": 510.0, "reactionWallMinutesP90": 3900.0,
            "reactionWallMinutesMean": 1125.0,
            "within24h": 4, "within24hOf": 6, "within24hShare": 0.6667,
            "nextReactions": 2,
            "nextReactionBusinessMinutesMedian": 20.0, "nextReactionBusinessMinutesP90": 510.0,
            "nextReactionBusinessMinutesMean": 265.0,
            "nextReactionWallMinutesMedian": 20.0, "nextReactionWallMinutesP90": 1440.0,
            "nextReactionWallMinutesMean": 730.0,
            "nextReactionMet": 1, "nextReactionJudged": 2, "nextReactionWithinNormShare": 0.5,
        })
    );

    // Resolution: A 180/180, C 2340 wall (Tue 20:00 to Thu 11:00) and 390 + 60 business over
    // its two runs, D 1530/600, E 30/30. B, F and I are not resolved.
    let v = report(&app, &format!("/api/v1/reports/resolution?{PERIOD}")).await;
    assert_eq!(
        total(&v),
        json!({
            "cases": 7, "resolved": 4,
            "resolutionBusinessMinutesMedian": 180.0, "resolutionBusinessMinutesP90": 600.0,
            "resolutionBusinessMinutesMean": 315.0,
            "resolutionWallMinutesMedian": 180.0, "resolutionWallMinutesP90": 2340.0,
            "resolutionWallMinutesMean": 1020.0,
        })
    );

    // Norms: reactions met A, B, D, I, missed C (360 > 240); resolutions all met; the
    // department answered D in 510 business minutes (Wed 11:00-17:00, Thu 08:30-11:00) > 480.
    let v = report(&app, &format!("/api/v1/reports/norms?{PERIOD}")).await;
    assert_eq!(
        total(&v),
        json!({
            "cases": 7,
            "reactionMet": 4, "reactionJudged": 5, "reactionWithinNormShare": 0.8,
            "nextReactionMet": 1, "nextReactionJudged": 2, "nextReactionWithinNormShare": 0.5,
            "resolutionMet": 4, "resolutionJudged": 4, "resolutionWithinNormShare": 1.0,
            "departmentMet": 0, "departmentJudged": 1, "departmentWithinNormShare": 0.0,
            "within24hShare": 0.6667,
            // The BZK questionnaire's limits, wall-clock, with the within-24-h denominators.
            // Reactions (A 90, B 3900, C 1110, D 15, I 510 minutes; F overdue): 1 h D; 4 h and
            // 8 h A and D, of 6. Resolutions (A 180, C 2340, D 1530, E 30 minutes; B, F and I
            // still open, overdue for every limit): 8 h and 24 h A and E; 48 h also C and D, of 7.
            "reactionWithin1hShare": 0.1667, "reactionWithin4hShare": 0.3333,
            "reactionWithin8hShare": 0.3333, "resolutionWithin8hShare": 0.2857,
            "resolutionWithin24hShare": 0.2857, "resolutionWithin48hShare": 0.5714,
        })
    );

    // Split by the visibility of the first citizen message (DESIGN 10: the field's "81% within
    // 24 h" is over public messages). Public: A, C, F; private: B, D, E, I.
    let v = report(
        &app,
        &format!("/api/v1/reports/norms?{PERIOD}&groupBy=visibility"),
    )
    .await;
    assert_eq!(
        v["rows"],
        json!([
            {
                "visibility": "private", "cases": 4,
                "reactionMet": 3, "reactionJudged": 3, "reactionWithinNormShare": 1.0,
                "nextReactionMet": 0, "nextReactionJudged": 1, "nextReactionWithinNormShare": 0.0,
                "resolutionMet": 2, "resolutionJudged": 2, "resolutionWithinNormShare": 1.0,
                "departmentMet": 0, "departmentJudged": 1, "departmentWithinNormShare": 0.0,
                // B late, D and I in time.
                "within24hShare": 0.6667,
                "reactionWithin1hShare": 0.3333, "reactionWithin4hShare": 0.3333,
                "reactionWithin8hShare": 0.3333, "resolutionWithin8hShare": 0.25,
                "resolutionWithin24hShare": 0.25, "resolutionWithin48hShare": 0.5,
            },
            {
                "visibility": "public", "cases": 3,
                "reactionMet": 1, "reactionJudged": 2, "reactionWithinNormShare": 0.5,
                "nextReactionMet": 1, "nextReactionJudged": 1, "nextReactionWithinNormShare": 1.0,
                "resolutionMet": 2, "resolutionJudged": 2, "resolutionWithinNormShare": 1.0,
                "departmentMet": 0, "departmentJudged": 0, "departmentWithinNormShare": null,
                // A and C within a day, F overdue.
                "within24hShare": 0.6667,
                "reactionWithin1hShare": 0.0, "reactionWithin4hShare": 0.3333,
                "reactionWithin8hShare": 0.3333, "resolutionWithin8hShare": 0.3333,
                "resolutionWithin24hShare": 0.3333, "resolutionWithin48hShare": 0.6667,
            },
        ]),
        "{v}"
    );
    // And as a filter: only the public cases.
    let v = report(
        &app,
        &format!("/api/v1/reports/volume?{PERIOD}&visibility=public"),
    )
    .await;
    assert_eq!(total(&v)["cases"], 3, "{v}");
    assert_invalid(
        &app,
        &format!("/api/v1/reports/volume?{PERIOD}&visibility=openbaar"),
        &["visibility"],
    )
    .await;

    // Themes: per theme, the row without one first ("geen thema": F and I). Of 7 cases 5 carry
    // a theme. The previous week had the early case (no theme). Reactions: F waits; I 510/30;
    // Afval A 90/90, B 3900/90, D 15/15; Wonen C 1110/360 (missed its norm). D was forwarded.
    let v = report(&app, &format!("/api/v1/reports/themes?{PERIOD}")).await;
    assert_eq!(v["groupBy"], json!(["theme"]));
    let theme_row = |theme: &str, cases: i64, share: f64, prev: i64, change: Value| {
        json!({"theme": theme, "cases": cases, "casesShare": share, "previousCases": prev,
               "casesChangeShare": change, "themeCoverageShare": 0.7143})
    };
    let head = |r: &Value| {
        let keys = [
            "theme",
            "cases",
            "casesShare",
            "previousCases",
            "casesChangeShare",
            "themeCoverageShare",
        ];
        Value::Object(
            keys.iter()
                .map(|k| ((*k).to_owned(), r[*k].clone()))
                .collect(),
        )
    };
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(
        rows.iter().map(head).collect::<Vec<_>>(),
        vec![
            theme_row("", 2, 0.2857, 1, json!(1.0)),
            theme_row("Afval", 3, 0.4286, 0, Value::Null),
            theme_row("Wonen", 2, 0.2857, 0, Value::Null),
        ],
        "{v}"
    );
    let figures = |r: &Value| {
        (
            r["reactions"].as_i64(),
            r["reactionBusinessMinutesMedian"].as_f64(),
            r["reactionWallMinutesMedian"].as_f64(),
            r["reactionWithinNormShare"].as_f64(),
            r["within24hShare"].as_f64(),
            r["forwarded"].as_i64(),
            r["forwardedShare"].as_f64(),
        )
    };
    assert_eq!(
        rows.iter().map(figures).collect::<Vec<_>>(),
        vec![
            (
                Some(1),
                Some(30.0),
                Some(510.0),
                Some(1.0),
                Some(0.5),
                Some(0),
                Some(0.0)
            ),
            (
                Some(3),
                Some(90.0),
                Some(90.0),
                Some(1.0),
                Some(0.6667),
                Some(1),
                Some(0.3333)
            ),
            (
                Some(1),
                Some(360.0),
                Some(1110.0),
                Some(0.0),
                Some(1.0),
                Some(0),
                Some(0.0)
            ),
        ],
        "{v}"
    );
    // Theme then visibility: the coverage is per visibility (public: A, C of A, C, F; private:
    // B, D, E of B, D, E, I), and the CSV has the same rows.
    let v = report(
        &app,
        &format!("/api/v1/reports/themes?{PERIOD}&groupBy=visibility"),
    )
    .await;
    assert_eq!(v["groupBy"], json!(["theme", "visibility"]));
    let cover: Vec<(&str, &str, f64)> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["theme"].as_str().unwrap(),
                r["visibility"].as_str().unwrap(),
                r["themeCoverageShare"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        cover,
        vec![
            ("", "private", 0.75),
            ("", "public", 0.6667),
            ("Afval", "private", 0.75),
            ("Afval", "public", 0.6667),
            ("Wonen", "private", 0.75),
            ("Wonen", "public", 0.6667),
        ],
        "{v}"
    );
    let csv = app
        .get(&format!(
            "/api/v1/reports/themes.csv?{PERIOD}&groupBy=visibility"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("themes-20260302-20260309.csv"));
    let csv = csv.text().await.unwrap();
    let mut lines = csv.split("\r\n");
    assert_eq!(
        lines.next(),
        Some("theme,visibility,cases,casesShare,previousCases,casesChangeShare,themeCoverageShare,reactions,reactionBusinessMinutesMedian,reactionWallMinutesMedian,reactionWithinNormShare,within24hShare,forwarded,forwardedShare")
    );
    assert_eq!(lines.filter(|l| !l.is_empty()).count(), 6, "{csv}");
    // A department's scope: only D, which carries a theme.
    let v = report(
        &app,
        &format!("/api/v1/reports/themes?{PERIOD}&departmentId={}", w.dept),
    )
    .await;
    let t = total(&v);
    assert_eq!(
        (
            t["theme"].as_str(),
            t["cases"].as_i64(),
            t["themeCoverageShare"].as_f64()
        ),
        (Some("Afval"), Some(1), Some(1.0)),
        "{v}"
    );

    // Forwarding, by department: D alone was forwarded (1440 wall minutes).
    let v = report(
        &app,
        &format!("/api/v1/reports/forwarding?{PERIOD}&groupBy=department"),
    )
    .await;
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    assert_eq!(rows[0]["department"], "");
    assert_eq!(rows[0]["cases"], 6);
    assert_eq!(rows[0]["forwarded"], 0);
    assert_eq!(rows[0]["departmentAnswers"], 0);
    assert_eq!(rows[0]["departmentWallMinutesMedian"], Value::Null);
    assert_eq!(
        rows[1],
        json!({
            "department": w.dept.to_string(), "cases": 1, "forwarded": 1, "forwardedShare": 1.0,
            "departmentAnswers": 1,
            "departmentBusinessMinutesMedian": 510.0, "departmentBusinessMinutesP90": 510.0,
            "departmentBusinessMinutesMean": 510.0,
            "departmentWallMinutesMedian": 1440.0, "departmentWallMinutesP90": 1440.0,
            "departmentWallMinutesMean": 1440.0,
            "departmentWithinNormShare": 0.0,
        })
    );

    // By Amsterdam day: I (Sunday 23:30 UTC) counts on Monday with A.
    let v = report(
        &app,
        &format!("/api/v1/reports/volume?{PERIOD}&groupBy=day"),
    )
    .await;
    // Each day also has its backlog at its midnights (Sunday 8 March has no arrivals, but a
    // backlog) and the previous day's cases (1 March: the early case).
    let days: Vec<(String, i64, i64, i64, i64)> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_i64().unwrap();
            (
                r["day"].as_str().unwrap().to_owned(),
                n("cases"),
                n("backlogStart"),
                n("backlogEnd"),
                n("previousCases"),
            )
        })
        .collect();
    let expect: Vec<(String, i64, i64, i64, i64)> = [
        ("02", 2, 1, 2, 1),
        ("03", 1, 2, 3, 2),
        ("04", 1, 3, 3, 1),
        ("05", 1, 3, 2, 1),
        ("06", 1, 2, 3, 1),
        ("07", 1, 3, 4, 1),
        ("08", 0, 4, 4, 1),
    ]
    .iter()
    .map(|(d, n, b, e, p)| (format!("2026-03-{d}"), *n, *b, *e, *p))
    .collect();
    assert_eq!(days, expect, "{v}");

    // By week and account (ISO week 10), rows ordered by key; the same rows as CSV.
    let v = report(
        &app,
        &format!("/api/v1/reports/volume?{PERIOD}&groupBy=week,account"),
    )
    .await;
    // Backlog per account: account 1 ends with B and F open, account 2 starts with the early
    // case and ends with it and I; week 9 had the early case on account 2.
    let (first, second) = if w.acc1.to_string() < w.acc2.to_string() {
        ((w.acc1, 4, 6, 5, 0, 2, 0), (w.acc2, 3, 5, 3, 1, 2, 1))
    } else {
        ((w.acc2, 3, 5, 3, 1, 2, 1), (w.acc1, 4, 6, 5, 0, 2, 0))
    };
    type AccRow = (Uuid, i64, i64, i64, i64, i64, i64);
    let change = |cases: i64, prev: i64| (prev > 0).then(|| (cases - prev) as f64 / prev as f64);
    let row = |(acc, cases, i, o, b, e, p): AccRow| json!({"week": "2026-W10", "account": acc.to_string(), "cases": cases, "messagesIn": i, "messagesOut": o, "backlogStart": b, "backlogEnd": e, "backlogAt": null, "previousCases": p, "casesChangeShare": change(cases, p)});
    assert_eq!(v["rows"], json!([row(first), row(second)]));
    let res = app
        .get(&format!(
            "/api/v1/reports/volume?{PERIOD}&groupBy=week,account"
        ))
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("volume-20260302-20260309.csv"));
    let csv = res.text().await.unwrap();
    let line = |(acc, cases, i, o, b, e, p): AccRow| {
        let c = change(cases, p).map(|c| c.to_string()).unwrap_or_default();
        format!("2026-W10,{acc},{cases},{i},{o},{b},{e},,{p},{c}")
    };
    let expect = format!(
        "week,account,cases,messagesIn,messagesOut,backlogStart,backlogEnd,backlogAt,previousCases,casesChangeShare\r\n{}\r\n{}\r\n",
        line(first),
        line(second)
    );
    assert_eq!(csv, expect);
    // The `.csv` path answers the same CSV without an `Accept` header.
    let res = app
        .get(&format!(
            "/api/v1/reports/volume.csv?{PERIOD}&groupBy=week,account"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(res.text().await.unwrap(), expect);

    // A filter of the inbox: the theme.
    let v = report(
        &app,
        &format!("/api/v1/reports/reaction?{PERIOD}&theme=Afval"),
    )
    .await;
    let t = total(&v);
    assert_eq!(
        (t["cases"].as_i64(), t["reactions"].as_i64()),
        (Some(3), Some(3)),
        "{v}"
    );
    // A, B and D: 15, 90, 3900 wall minutes.
    assert_eq!(t["reactionWallMinutesMedian"], 90.0);

    // Agents: grouped by assignee first (nobody is assigned here: one row, key empty).
    let v = report(&app, &format!("/api/v1/reports/agents?{PERIOD}")).await;
    assert_eq!(v["groupBy"], json!(["agent"]));
    assert_eq!(v["rows"][0]["agent"], "");
    assert_eq!(v["rows"][0]["cases"], 7);

    // A period with no cases: one row of zeros and nulls.
    let v = report(
        &app,
        "/api/v1/reports/reaction?from=2025-01-01&to=2025-02-01",
    )
    .await;
    let t = total(&v);
    assert_eq!(t["cases"], 0);
    assert_eq!(t["reactionWallMinutesMedian"], Value::Null);
    assert_eq!(t["within24hShare"], Value::Null);

    // The department report still answers, and as CSV with one line per department.
    let (s, json) = send(app.get("/api/v1/reports/departments")).await;
    assert_eq!(s, 200);
    let res = app
        .get("/api/v1/reports/departments.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = res.text().await.unwrap();
    let mut expect = String::from(
        "departmentId,name,answerMinutes,forwards,answered,answeredInTime,inTimeShare,open\r\n",
    );
    for d in json["departments"].as_array().unwrap() {
        let share = d["inTimeShare"]
            .as_f64()
            .map(|v| v.to_string())
            .unwrap_or_default();
        expect += &format!(
            "{},{},{},{},{},{},{share},{}\r\n",
            d["departmentId"].as_str().unwrap(),
            d["name"].as_str().unwrap(),
            d["answerMinutes"],
            d["forwards"],
            d["answered"],
            d["answeredInTime"],
            d["open"]
        );
    }
    assert!(csv.contains(",Afvalbeheer,480,"), "{csv}");
    assert_eq!(csv, expect);
    let res = app
        .get("/api/v1/reports/departments.csv?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z")
        .send()
        .await
        .unwrap();
    expect_problem(res, 400).await;
}

async fn reports_are_authorised_and_validated(app: TestApp) {
    let w = build_week(&app).await;
    // Team leads read; agents and integrations do not.
    let lead = app.token(Role::Teamlead).await;
    let get = |token: &str, path: &str| app.client.get(app.url(path)).bearer_auth(token.to_owned());
    let (s, _) = send(get(&lead, &format!("/api/v1/reports/volume?{PERIOD}"))).await;
    assert_eq!(s, 200);
    for role in [Role::Agent, Role::Integration] {
        let t = app.token(role).await;
        let res = get(&t, &format!("/api/v1/reports/volume?{PERIOD}"))
            .send()
            .await
            .unwrap();
        expect_problem(res, 403).await;
    }

    // A department user sees their own department only: D.
    let (s, u) = send(app.post(
        "/api/v1/users",
        &json!({"name": "Dirk", "email": "dirk@gemeente.test", "role": "department", "departmentId": w.dept}),
    ))
    .await;
    assert_eq!(s, 201, "{u}");
    let user: Uuid = u["id"].as_str().unwrap().parse().unwrap();
    let token = webcare_store::token::generate();
    app.store
        .add_token(webcare_store::NewToken {
            user_id: Some(user),
            name: "dirk",
            role: Role::Department,
            token_hash: &webcare_store::token::hash(&token),
        })
        .await
        .unwrap();
    let v = {
        let (s, v) = send(get(&token, &format!("/api/v1/reports/forwarding?{PERIOD}"))).await;
        assert_eq!(s, 200, "{v}");
        v
    };
    assert_eq!(total(&v)["cases"], 1, "{v}");
    assert_eq!(total(&v)["departmentAnswers"], 1, "{v}");
    let other = Uuid::now_v7();
    let res = get(
        &token,
        &format!("/api/v1/reports/volume?{PERIOD}&departmentId={other}"),
    )
    .send()
    .await
    .unwrap();
    expect_problem(res, 403).await;

    // Invalid input: 400 naming every invalid parameter.
    let long_theme = format!("from=2026-03-02&to=2026-03-09&theme={}", "a".repeat(201));
    for (query, names) in [
        ("from=2026-13-01&to=2026-03-09", vec!["from"]),
        ("from=2026-03-09&to=2026-03-02", vec!["to"]),
        ("from=gisteren&to=morgen", vec!["from", "to"]),
        ("from=0000-01-01&to=1000-01-01", vec!["from"]),
        (
            "from=2026-03-02&to=2026-03-09&groupBy=week,channel,day",
            vec!["groupBy"],
        ),
        (
            "from=2026-03-02&to=2026-03-09&groupBy=kwartaal",
            vec!["groupBy"],
        ),
        (
            "from=2026-03-02&to=2026-03-09&groupBy=week,week",
            vec!["groupBy"],
        ),
        (long_theme.as_str(), vec!["theme"]),
    ] {
        assert_invalid(&app, &format!("/api/v1/reports/norms?{query}"), &names).await;
    }
    for query in ["to=2026-03-09", "from=2026-03-02&to=2026-03-09&limit=5"] {
        let res = app
            .get(&format!("/api/v1/reports/volume?{query}"))
            .send()
            .await
            .unwrap();
        expect_problem(res, 400).await;
    }
    // RFC 3339 times work as well as dates.
    let (s, v) = send(
        app.get("/api/v1/reports/volume?from=2026-03-01T23:00:00Z&to=2026-03-09T00:00:00%2B01:00"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(total(&v)["cases"], 7);
}

/// The case of the export arrived at `at`.
pub(super) async fn first_case_at(app: &TestApp, at: DateTime<Utc>) -> Uuid {
    let cases = report(app, &format!("/api/v1/reports/cases?{PERIOD}&limit=200")).await;
    cases["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["arrival"] == json!(at))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Sets a theme the API would refuse (themes are a list) in the database itself: an admin may
/// rename a theme to anything, and an import may hold anything.
async fn raw_theme(app: &TestApp, case: Uuid, theme: &str) {
    let sql = "UPDATE cases SET theme = $1 WHERE id = $2";
    match app.backend {
        webcare_e2e::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            let q = sqlx::query(sql).bind(theme).bind(case);
            assert_eq!(q.execute(&pool).await.unwrap().rows_affected(), 1);
            pool.close().await;
        }
        webcare_e2e::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            let q = sqlx::query(sql).bind(theme).bind(case);
            assert_eq!(q.execute(&pool).await.unwrap().rows_affected(), 1);
            pool.close().await;
        }
    }
}

/// A CSV download (status 200, CSV headers) read back as records, the header first.
async fn csv_of(app: &TestApp, token: Option<&str>, path: &str, file: &str) -> Vec<Vec<String>> {
    let req = match token {
        Some(t) => app.client.get(app.url(path)).bearer_auth(t.to_owned()),
        None => app.get(path),
    };
    let res = req.header("accept", "text/csv").send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(disposition, format!("attachment; filename=\"{file}\""));
    let text = res.text().await.unwrap();
    assert!(text.is_empty() || text.ends_with("\r\n"), "{text:?}");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// A CSV cell equals a JSON value: empty for null, the same number, the same text (a formula
/// prefixed with a quote).
fn cell_matches(cell: &str, v: &Value) -> bool {
    match v {
        Value::Null => cell.is_empty(),
        Value::Number(n) => cell.parse::<f64>().ok() == n.as_f64(),
        Value::Bool(b) => cell == b.to_string(),
        Value::String(s) if s.starts_with(['=', '+', '-', '@']) => cell == format!("'{s}"),
        Value::String(s) => cell == s,
        _ => false,
    }
}

/// `rows` (JSON objects, `columns` keys) equal the CSV records after its header.
fn assert_csv_is_json(csv: &[Vec<String>], columns: &Value, rows: &[Value]) {
    let columns: Vec<&str> = columns
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(csv[0], columns);
    assert_eq!(csv.len() - 1, rows.len());
    for (record, row) in csv[1..].iter().zip(rows) {
        assert_eq!(row.as_object().unwrap().len(), columns.len(), "{row}");
        for (cell, col) in record.iter().zip(&columns) {
            assert!(
                cell_matches(cell, &row[*col]),
                "{col}: {cell:?} vs {}",
                row[*col]
            );
        }
    }
}

async fn report_csv_equals_the_json_rows(app: TestApp) {
    let w = build_week(&app).await;
    // A theme a spreadsheet would run.
    let f = first_case_at(&app, local(7, 12, 0)).await;
    raw_theme(&app, f, "=HYPERLINK(\"http://x\")").await;
    for name in [
        "volume",
        "reaction",
        "resolution",
        "norms",
        "forwarding",
        "agents",
    ] {
        for group in ["", "&groupBy=theme,account", "&groupBy=day"] {
            let path = format!("/api/v1/reports/{name}?{PERIOD}{group}");
            let v = report(&app, &path).await;
            let csv = csv_of(&app, None, &path, &format!("{name}-20260302-20260309.csv")).await;
            assert_csv_is_json(&csv, &v["columns"], v["rows"].as_array().unwrap());
        }
    }
    let path = format!("/api/v1/reports/volume?{PERIOD}&groupBy=theme");
    let csv = csv_of(&app, None, &path, "volume-20260302-20260309.csv").await;
    assert!(
        csv.iter().any(|r| r[0] == "'=HYPERLINK(\"http://x\")"),
        "{csv:?}"
    );
    let _ = w;
}

async fn case_export_has_every_case_once_and_no_personal_data(app: TestApp) {
    let w = build_week(&app).await;
    // A citizen with a name and handle, saying something, with a theme a spreadsheet would run.
    let item = webcare_store::IngestItem {
        channel_account_id: w.acc1,
        message: InboundMessage {
            platform_message_id: "p1".into(),
            in_reply_to: None,
            conversation_key: Some("persoon".into()),
            visibility: Visibility::Private,
            direction: Direction::Inbound,
            author: Author {
                platform_user_id: "geheim-account-4471".into(),
                handle: Some("annemiekjansen".into()),
                display_name: Some("Annemiek Jansen".into()),
            },
            text: "Mijn vuilniszak is opengescheurd door meeuwen".into(),
            sent_at: local(6, 9, 0),
            attachments: vec![],
            flags: vec![],
        },
        received_at: local(6, 9, 0),
        default_team: Some("kcc".into()),
    };
    let p = app
        .store
        .ingest_batch(vec![item])
        .await
        .pop()
        .unwrap()
        .unwrap()
        .message
        .case_id;
    raw_theme(&app, p, "@SUM(1+1)").await;
    // F resolved through the API: its status and resolution time (now) are exported.
    let before = Utc::now();
    let f = first_case_at(&app, local(7, 12, 0)).await;
    let (s, v) = send(app.patch(
        &format!("/api/v1/cases/{f}"),
        &json!({"status": "resolved"}),
    ))
    .await;
    assert_eq!(s, 200, "{v}");

    // JSON pages of 3: every case of the period once, in arrival order.
    let mut rows: Vec<Value> = Vec::new();
    let mut next = Some(format!("/api/v1/reports/cases?{PERIOD}&limit=3"));
    let mut pages = 0;
    while let Some(path) = next {
        let v = report(&app, &path).await;
        assert_eq!(v["columns"].as_array().unwrap().len(), 23, "{v}");
        rows.extend(v["rows"].as_array().unwrap().iter().cloned());
        next = v["next"].as_str().map(str::to_owned);
        pages += 1;
        assert!(pages <= 3, "{v}");
    }
    assert_eq!(pages, 3);
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    // A, B, C, D, E, F, I and the new one; G is merged, two arrived outside the period.
    assert_eq!((ids.len(), unique.len()), (8, 8), "{rows:?}");
    let arrivals: Vec<&str> = rows
        .iter()
        .map(|r| r["arrival"].as_str().unwrap())
        .collect();
    assert!(arrivals.windows(2).all(|a| a[0] <= a[1]), "{arrivals:?}");
    assert_eq!(
        report(&app, &format!("/api/v1/reports/volume?{PERIOD}")).await["rows"][0]["cases"],
        8
    );
    // Case A (the first): reply after 90 minutes (met), resolved at 12:00 after 180.
    let a = &rows[1];
    assert_eq!(a["arrival"], json!(local(2, 9, 0)), "{rows:?}");
    assert_eq!(a["theme"], "Afval");
    assert_eq!(a["reactionWallMinutes"], 90.0);
    assert_eq!(a["reactionBusinessMinutes"], 90.0);
    assert_eq!(a["reactionNorm"], "met");
    assert_eq!(a["resolutionWallMinutes"], 180.0);
    assert_eq!(a["forwarded"], false);
    assert_eq!(a["departmentNorm"], Value::Null);
    let f_row = rows.iter().find(|r| r["id"] == f.to_string()).unwrap();
    assert_eq!(f_row["status"], "resolved");
    let resolved_at: DateTime<Utc> = f_row["resolvedAt"].as_str().unwrap().parse().unwrap();
    assert!(
        resolved_at >= before - chrono::Duration::seconds(1),
        "{f_row}"
    );
    assert_eq!(a["resolvedAt"], Value::Null);
    // D was forwarded; its department answered late.
    let d = rows
        .iter()
        .find(|r| r["arrival"] == json!(local(4, 10, 0)))
        .unwrap();
    assert_eq!(d["forwarded"], true);
    assert_eq!(d["department"], w.dept.to_string());
    assert_eq!(d["departmentNorm"], "missed");

    // The CSV: the same rows, all of them in one download.
    let csv = csv_of(
        &app,
        None,
        &format!("/api/v1/reports/cases?{PERIOD}&limit=1"),
        "cases-20260302-20260309.csv",
    )
    .await;
    let columns = report(&app, &format!("/api/v1/reports/cases?{PERIOD}")).await["columns"].clone();
    assert_csv_is_json(&csv, &columns, &rows);
    let theme = columns
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c == "theme")
        .unwrap();
    assert!(csv.iter().any(|r| r[theme] == "'@SUM(1+1)"), "{csv:?}");

    // No personal data: neither the citizen's name, handle, account nor words.
    let json_text = serde_json::to_string(&rows).unwrap();
    let csv_text = format!("{csv:?}");
    for secret in [
        "Jansen",
        "Annemiek",
        "annemiekjansen",
        "geheim-account",
        "vuilniszak",
        "meeuwen",
        "burger-",
        "bericht",
    ] {
        assert!(!json_text.contains(secret), "{secret} in {json_text}");
        assert!(!csv_text.contains(secret), "{secret} in {csv_text}");
    }

    // A period without cases: the header only.
    let csv = csv_of(
        &app,
        None,
        "/api/v1/reports/cases?from=2025-01-01&to=2025-02-01",
        "cases-20250101-20250201.csv",
    )
    .await;
    assert_eq!(csv.len(), 1);
}

async fn case_export_is_scoped_and_validated(app: TestApp) {
    let w = build_week(&app).await;
    let get = |token: &str, path: &str| app.client.get(app.url(path)).bearer_auth(token.to_owned());
    let path = format!("/api/v1/reports/cases?{PERIOD}");
    for role in [Role::Agent, Role::Integration] {
        let t = app.token(role).await;
        expect_problem(get(&t, &path).send().await.unwrap(), 403).await;
        let res = get(&t, &path)
            .header("accept", "text/csv")
            .send()
            .await
            .unwrap();
        expect_problem(res, 403).await;
    }
    let admin = app.token(Role::Admin).await;
    let (s, v) = send(get(&admin, &path)).await;
    assert_eq!((s, v["rows"].as_array().unwrap().len()), (200, 7), "{v}");

    // A department user: only their department's case (D), in JSON and CSV.
    let (s, u) = send(app.post(
        "/api/v1/users",
        &json!({"name": "Dirk", "email": "dirk@gemeente.test", "role": "department", "departmentId": w.dept}),
    ))
    .await;
    assert_eq!(s, 201, "{u}");
    let token = webcare_store::token::generate();
    app.store
        .add_token(webcare_store::NewToken {
            user_id: Some(u["id"].as_str().unwrap().parse().unwrap()),
            name: "dirk",
            role: Role::Department,
            token_hash: &webcare_store::token::hash(&token),
        })
        .await
        .unwrap();
    let (s, v) = send(get(&token, &path)).await;
    assert_eq!(s, 200, "{v}");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v}");
    assert_eq!(rows[0]["department"], w.dept.to_string());
    let csv = csv_of(&app, Some(&token), &path, "cases-20260302-20260309.csv").await;
    assert_eq!(csv.len(), 2, "{csv:?}");
    assert_eq!(csv[1][0], rows[0]["id"].as_str().unwrap());
    let other = format!("{path}&departmentId={}", Uuid::now_v7());
    expect_problem(get(&token, &other).send().await.unwrap(), 403).await;

    // Bad input: 400 naming the parameters.
    for (query, names) in [
        ("from=2026-03-09&to=2026-03-02", vec!["to"]),
        ("from=2026-03-02&to=2026-03-09&limit=0", vec!["limit"]),
        ("from=2026-03-02&to=2026-03-09&cursor=bm9wZQ", vec!["cursor"]),
        (
            // A cursor of the case list (no arrival) is not one of this export.
            "from=2026-03-02&to=2026-03-09&cursor=djE6MDE5MDAwMDAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAw",
            vec!["cursor"],
        ),
    ] {
        assert_invalid(&app, &format!("/api/v1/reports/cases?{query}"), &names).await;
    }
    for query in [
        "to=2026-03-09",
        "from=2026-03-02&to=2026-03-09&groupBy=week",
    ] {
        let res = app
            .get(&format!("/api/v1/reports/cases?{query}"))
            .send()
            .await
            .unwrap();
        expect_problem(res, 400).await;
    }
}
