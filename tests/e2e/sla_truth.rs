//! Issue 19, "the case tells the truth", end to end on both databases: a person's reply opens a
//! new case (an auto-reply does not), a paused clock reads paused, department timeliness comes
//! from the department clock, every clock stop has its reason (resolved without a reply is no met
//! reaction), due times never fall before the exact start plus the budget, a department answer is
//! settled when the agent replies or resolves, and every run of every clock is visible.

use crate::sla::{account_with_calendar, always, create_calendar, get_json, parse, secs};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use webcare_domain::Role;
use webcare_e2e::connectors::{ConnApp, API_SECRET};
use webcare_e2e::{both_backends, expect_problem, TestApp};

both_backends!(
    a_paused_clock_reads_paused,
    resolved_without_a_reply_is_no_met_reaction,
    no_reply_needed_and_merged_clocks_say_why,
    due_times_are_never_before_exact_start_plus_budget,
    every_clock_run_is_visible_with_its_reason,
    department_timeliness_is_read_from_the_department_clock,
    a_scenario_matches_the_reference,
);

/// The tests that need the outbox sending replies to the fake platforms.
mod with_outbox {
    use super::{
        a_department_answer_is_settled_by_the_reply_or_the_resolve,
        a_persons_reply_opens_a_new_case_and_an_auto_reply_does_not,
    };
    webcare_e2e::both_backends!(
        app = webcare_e2e::connectors::ConnApp;
        a_persons_reply_opens_a_new_case_and_an_auto_reply_does_not,
        a_department_answer_is_settled_by_the_reply_or_the_resolve,
    );
}

fn rfc_ms(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Posts a citizen message (with its exact, possibly fractional, send time) and returns its case.
async fn citizen_at(
    app: &TestApp,
    account: &str,
    id: &str,
    author: &str,
    sent: DateTime<Utc>,
) -> String {
    let res = app
        .post(
            "/api/v1/messages",
            &json!({"channelAccountId": account, "platformMessageId": id, "visibility": "private",
                    "author": {"platformUserId": author}, "text": "Mijn container is niet geleegd",
                    "sentAt": rfc_ms(sent)}),
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let v: Value = res.json().await.unwrap();
    v["caseId"].as_str().unwrap().to_owned()
}

async fn patch_case(app: &TestApp, case: &str, body: Value) -> Value {
    let res = app
        .patch(&format!("/api/v1/cases/{case}"), &body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

async fn runs(app: &TestApp, case: &str) -> Vec<Value> {
    let v = get_json(app, &format!("/api/v1/cases/{case}/sla")).await;
    assert_eq!(v["caseId"], case);
    v["runs"].as_array().unwrap().clone()
}

fn run_of<'a>(runs: &'a [Value], clock: &str, run: i64) -> &'a Value {
    runs.iter()
        .find(|r| r["clock"] == clock && r["run"] == run)
        .unwrap_or_else(|| panic!("no {clock} run {run} in {runs:?}"))
}

/// Polls `GET /api/v1/cases/{id}` until `done` holds (the SLA hooks follow a send or a write).
async fn case_until(app: &TestApp, case: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        last = get_json(app, &format!("/api/v1/cases/{case}")).await;
        if done(&last) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("case {case} did not reach the expected state: {last}");
}

async fn department(app: &TestApp, name: &str, minutes: i64, calendar: Option<&str>) -> String {
    let res = app
        .post(
            "/api/v1/departments",
            &json!({"name": name, "answerMinutes": minutes, "calendarId": calendar}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let v: Value = res.json().await.unwrap();
    v["id"].as_str().unwrap().to_owned()
}

async fn forward(app: &TestApp, case: &str, dept: &str) {
    let res = app
        .post(
            &format!("/api/v1/cases/{case}/forward"),
            &json!({"departmentId": dept, "question": "Wanneer wordt de container geleegd?"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

async fn department_answers(app: &TestApp, case: &str, token: &str) {
    let res = app
        .client
        .post(app.url(&format!("/api/v1/cases/{case}/department-answer")))
        .bearer_auth(token)
        .json(&json!({"text": "De container wordt donderdag geleegd."}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// Open every day, except closed today and yesterday (Amsterdam): no business time lately.
fn closed_lately() -> Value {
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Amsterdam)
        .date_naive();
    let yesterday = today.pred_opt().unwrap();
    let mut c = always();
    c["name"] = json!("Dicht sinds gisteren");
    c["closures"] = json!([{"date": yesterday.to_string(), "reason": "test"}, {"date": today.to_string(), "reason": "test"}]);
    c
}

// ------------------------------------------------------------------------------------ 1

async fn a_persons_reply_opens_a_new_case_and_an_auto_reply_does_not(app: ConnApp) {
    // Closed today, with the out-of-hours auto-reply on.
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Amsterdam)
        .date_naive();
    let mut closed = always();
    closed["closures"] = json!([{"date": today.to_string(), "reason": "test"}]);
    let cal = create_calendar(&app, &closed).await;
    let res = app
        .post(
            "/api/v1/channel-accounts",
            &json!({"kind": "api", "name": "Web", "externalId": "web",
                "callbackUrl": format!("{}/callback/zaken", app.fakes.base),
                "credentials": {"webhookSecret": API_SECRET}, "defaultTeam": "kcc", "calendarId": cal,
                "outOfHoursReply": {"enabled": true}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let account = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = Utc::now();
    let a = citizen_at(&app, &account, "r-1", "burger-1", now).await;
    let b = citizen_at(&app, &account, "r-2", "burger-2", now).await;
    // The auto-reply goes out for both; the cases stay new, the reaction clocks run.
    for case in [&a, &b] {
        for _ in 0..300 {
            let r: Value = app
                .get(&format!("/api/v1/cases/{case}/replies"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if r.as_array().unwrap().iter().any(|r| r["state"] == "sent") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let c = app.case(case).await;
        assert_eq!(c["status"], "new", "an auto-reply opens nothing: {c}");
        assert_eq!(c["sla"]["reaction"]["state"], "running");
        assert!(c["sla"]["reaction"]["stopReason"].is_null());
    }
    // A person's reply opens the case and meets the reaction (reason `reply`), and the live
    // stream hears of it (`case.updated`, written with the reply's recording).
    let mut stream = app.get("/api/v1/events").send().await.unwrap();
    assert_eq!(stream.status(), 200);
    app.reply_sent(&a, json!({"text": "We kijken ernaar."}))
        .await;
    let c = case_until(&app, &a, |c| c["status"] == "open").await;
    let opened = |e: &(i64, String, Value)| {
        e.1 == "case.updated" && e.2["caseId"] == a.as_str() && e.2["data"]["status"] == "open"
    };
    let got = webcare_e2e::read_events(&mut stream, |es| es.iter().any(opened)).await;
    let ev = got.iter().find(|e| opened(e)).unwrap();
    assert_eq!(ev.2["data"]["trigger"], "reply", "{ev:?}");
    drop(stream);
    assert_eq!(c["sla"]["reaction"]["state"], "met", "{}", c["sla"]);
    assert_eq!(c["sla"]["reaction"]["stopReason"], "reply");
    // A holding answer is a person's reply too (reason `holding_answer`).
    app.reply_sent(
        &b,
        json!({"text": "We zoeken het uit en komen erop terug.", "processAnswer": true}),
    )
    .await;
    let c = case_until(&app, &b, |c| c["status"] == "open").await;
    assert_eq!(c["sla"]["reaction"]["state"], "met", "{}", c["sla"]);
    assert_eq!(c["sla"]["reaction"]["stopReason"], "holding_answer");
    // Recorded in the audit trail as a status change by the reply.
    let audit: Value = app
        .get(&format!("/api/v1/audit-events?caseId={a}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = audit["items"].as_array().expect("audit items");
    assert!(
        items.iter().any(|e| e["action"] == "case.status_changed"
            && e["detail"]["from"] == "new"
            && e["detail"]["to"] == "open"),
        "{audit}"
    );
}

// ------------------------------------------------------------------------------------ 2

async fn a_paused_clock_reads_paused(app: TestApp) {
    let cal = create_calendar(&app, &always()).await;
    let account = account_with_calendar(&app, "web", &cal).await;
    let case = citizen_at(
        &app,
        &account,
        "p-1",
        "u1",
        secs(Utc::now()) - Duration::minutes(10),
    )
    .await;
    patch_case(&app, &case, json!({"status": "open"})).await;
    let c = patch_case(&app, &case, json!({"status": "waiting_on_citizen"})).await;
    assert_eq!(c["status"], "waiting_on_citizen");
    let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(c["sla"]["resolution"]["state"], "paused", "{}", c["sla"]);
    assert!(c["sla"]["resolution"]["stoppedAt"].is_null());
    assert_eq!(c["sla"]["reaction"]["state"], "running");
    let r = runs(&app, &case).await;
    assert_eq!(run_of(&r, "resolution", 0)["state"], "paused");
    // The store holds the same.
    let clocks = app.store.case_clocks(case.parse().unwrap()).await.unwrap();
    let held = clocks
        .iter()
        .find(|c| c.kind == webcare_domain::sla::ClockKind::Resolution)
        .unwrap();
    assert_eq!(held.state, "paused");
    // The case's due time is its running reaction's; the paused resolution clock has none now.
    assert_eq!(c["dueAt"], c["sla"]["reaction"]["dueAt"]);
    // The citizen answers: running again.
    citizen_at(&app, &account, "p-2", "u1", Utc::now()).await;
    let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(c["sla"]["resolution"]["state"], "running", "{}", c["sla"]);
}

// ------------------------------------------------------------------------------------ 4

async fn resolved_without_a_reply_is_no_met_reaction(app: TestApp) {
    let cal = create_calendar(&app, &always()).await;
    let account = account_with_calendar(&app, "web", &cal).await;
    let case = citizen_at(
        &app,
        &account,
        "n-1",
        "u1",
        secs(Utc::now()) - Duration::minutes(10),
    )
    .await;
    let c = patch_case(&app, &case, json!({"status": "resolved"})).await;
    assert_eq!(c["status"], "resolved");
    let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
    let reaction = &c["sla"]["reaction"];
    assert_eq!(reaction["state"], "cancelled", "never answered: {reaction}");
    assert_eq!(reaction["stopReason"], "resolved_without_reply");
    assert_eq!(c["sla"]["resolution"]["state"], "met");
    assert_eq!(c["sla"]["resolution"]["stopReason"], "resolved");
    // A case whose reaction had already breached when it was resolved unanswered: missed.
    let late = citizen_at(
        &app,
        &account,
        "n-2",
        "u2",
        secs(Utc::now()) - Duration::minutes(300),
    )
    .await;
    patch_case(&app, &late, json!({"status": "resolved"})).await;
    let c = get_json(&app, &format!("/api/v1/cases/{late}")).await;
    assert_eq!(c["sla"]["reaction"]["state"], "missed");
    assert_eq!(c["sla"]["reaction"]["stopReason"], "resolved_without_reply");
    // Answered, then resolved: the reaction stays met by the reply.
    let answered = citizen_at(
        &app,
        &account,
        "n-3",
        "u3",
        secs(Utc::now()) - Duration::minutes(10),
    )
    .await;
    let id = answered.parse().unwrap();
    app.store
        .on_reply_sent(id, Utc::now() - Duration::minutes(5), false)
        .await
        .unwrap();
    let c = get_json(&app, &format!("/api/v1/cases/{answered}")).await;
    assert_eq!(c["status"], "open", "the reply opened it");
    patch_case(&app, &answered, json!({"status": "resolved"})).await;
    let c = get_json(&app, &format!("/api/v1/cases/{answered}")).await;
    assert_eq!(c["sla"]["reaction"]["state"], "met");
    assert_eq!(c["sla"]["reaction"]["stopReason"], "reply");
}

async fn no_reply_needed_and_merged_clocks_say_why(app: TestApp) {
    let cal = create_calendar(&app, &always()).await;
    let account = account_with_calendar(&app, "web", &cal).await;
    let case = citizen_at(
        &app,
        &account,
        "g-1",
        "u1",
        secs(Utc::now()) - Duration::minutes(300),
    )
    .await;
    // Only together with resolving or closing.
    let res = app
        .patch(
            &format!("/api/v1/cases/{case}"),
            &json!({"noReplyReason": "Spam"}),
        )
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 400).await;
    assert_eq!(p["invalidParams"][0]["name"], "noReplyReason", "{p}");
    let res = app
        .patch(
            &format!("/api/v1/cases/{case}"),
            &json!({"status": "resolved", "noReplyReason": " "}),
        )
        .send()
        .await
        .unwrap();
    expect_problem(res, 400).await;
    patch_case(
        &app,
        &case,
        json!({"status": "resolved", "noReplyReason": "Compliment, geen vraag"}),
    )
    .await;
    let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
    let reaction = &c["sla"]["reaction"];
    // Past its due time, yet out of the figures: no reply was needed.
    assert_eq!(reaction["state"], "cancelled", "{reaction}");
    assert_eq!(reaction["stopReason"], "no_reply_needed");
    assert_eq!(reaction["stopNote"], "Compliment, geen vraag");

    // Merged: the merged case's clocks stop with reason `merged`.
    let from = citizen_at(
        &app,
        &account,
        "m-1",
        "u2",
        secs(Utc::now()) - Duration::minutes(5),
    )
    .await;
    let into = citizen_at(
        &app,
        &account,
        "m-2",
        "u3",
        secs(Utc::now()) - Duration::minutes(5),
    )
    .await;
    let res = app
        .post(
            &format!("/api/v1/cases/{from}/merge"),
            &json!({"intoCaseId": into}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let r = runs(&app, &from).await;
    for clock in ["reaction", "resolution"] {
        let run = run_of(&r, clock, 0);
        assert_eq!(run["stopReason"], "merged", "{run}");
        assert_eq!(run["state"], "cancelled", "{run}");
    }
    let r = runs(&app, &into).await;
    assert_eq!(run_of(&r, "reaction", 0)["state"], "running");
}

// ------------------------------------------------------------------------------------ 5

async fn due_times_are_never_before_exact_start_plus_budget(app: TestApp) {
    let cal = create_calendar(&app, &always()).await;
    let account = account_with_calendar(&app, "web", &cal).await;
    let whole = secs(Utc::now()) - Duration::minutes(10);
    for (i, ms) in [840i64, 1, 999, 0].into_iter().enumerate() {
        let start = whole + Duration::milliseconds(ms);
        let case = citizen_at(&app, &account, &format!("d-{i}"), &format!("u{i}"), start).await;
        let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
        let reaction = &c["sla"]["reaction"];
        assert_eq!(
            parse(&reaction["startedAt"]),
            start,
            "the exact start is kept"
        );
        let due = parse(&reaction["dueAt"]);
        let exact = start + Duration::minutes(240);
        assert!(due >= exact, "due {due} is before {exact}");
        // Rounded up to the whole second, never more.
        let want = if ms == 0 {
            exact
        } else {
            whole + Duration::minutes(240) + Duration::seconds(1)
        };
        assert_eq!(due, want);
        assert!(parse(&c["dueAt"]) >= exact, "the case's due time too");
        let resolution = &c["sla"]["resolution"];
        assert!(parse(&resolution["dueAt"]) >= start + Duration::minutes(1440));
    }
}

// ------------------------------------------------------------------------------------ 7

async fn every_clock_run_is_visible_with_its_reason(app: TestApp) {
    let cal = create_calendar(&app, &always()).await;
    let account = account_with_calendar(&app, "web", &cal).await;
    let t0 = secs(Utc::now()) - Duration::minutes(30);
    let case = citizen_at(&app, &account, "v-1", "u1", t0).await;
    let id: uuid::Uuid = case.parse().unwrap();
    app.store
        .on_reply_sent(id, t0 + Duration::minutes(5), false)
        .await
        .unwrap();
    citizen_at(&app, &account, "v-2", "u1", t0 + Duration::minutes(10)).await;
    app.store
        .on_reply_sent(id, t0 + Duration::minutes(12), true)
        .await
        .unwrap();
    patch_case(&app, &case, json!({"status": "resolved"})).await;
    // The citizen writes again: reopened, a second resolution run and a second next reaction.
    citizen_at(&app, &account, "v-3", "u1", Utc::now()).await;
    let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(c["status"], "open");
    let r = runs(&app, &case).await;
    let shape: Vec<(String, i64, String, Value)> = r
        .iter()
        .map(|r| {
            (
                r["clock"].as_str().unwrap().to_owned(),
                r["run"].as_i64().unwrap(),
                r["state"].as_str().unwrap().to_owned(),
                r["stopReason"].clone(),
            )
        })
        .collect();
    let want = |k: &str, n: i64, s: &str, why: Value| (k.to_owned(), n, s.to_owned(), why);
    assert!(
        shape.contains(&want("reaction", 0, "met", json!("reply"))),
        "{shape:?}"
    );
    assert!(
        shape.contains(&want("next_reaction", 1, "met", json!("holding_answer"))),
        "{shape:?}"
    );
    assert!(
        shape.contains(&want("resolution", 0, "met", json!("resolved"))),
        "{shape:?}"
    );
    assert!(
        shape.contains(&want("resolution", 1, "running", Value::Null)),
        "{shape:?}"
    );
    assert!(
        shape.contains(&want("next_reaction", 2, "running", Value::Null)),
        "{shape:?}"
    );
    assert_eq!(r.len(), 5, "{shape:?}");
    // Each run keeps its segments; the case page shows the latest of each.
    let first = run_of(&r, "reaction", 0);
    assert_eq!(parse(&first["startedAt"]), t0);
    assert_eq!(parse(&first["stoppedAt"]), t0 + Duration::minutes(5));
    assert_eq!(first["segments"].as_array().unwrap().len(), 1);
    assert_eq!(c["sla"]["resolution"]["state"], "running");
    // Runs are in start order.
    let starts: Vec<DateTime<Utc>> = r.iter().map(|r| parse(&r["startedAt"])).collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted);
    // Not visible outside the caller's scope: 404 for an unknown case.
    let res = app
        .get(&format!("/api/v1/cases/{}/sla", uuid::Uuid::now_v7()))
        .send()
        .await
        .unwrap();
    expect_problem(res, 404).await;
}

// ------------------------------------------------------------------------------------ 3

async fn department_timeliness_is_read_from_the_department_clock(app: TestApp) {
    let cal = create_calendar(&app, &always()).await;
    let quiet = create_calendar(&app, &closed_lately()).await;
    let account = account_with_calendar(&app, "web", &cal).await;
    // Afval: 60 business minutes on a calendar closed since yesterday. Wegen: 60 minutes, 24/7.
    let afval = department(&app, "Afval", 60, Some(&quiet)).await;
    let wegen = department(&app, "Wegen", 60, Some(&cal)).await;
    let token = app.token(Role::Department).await;
    let now = Utc::now();
    let a = citizen_at(&app, &account, "t-1", "u1", now).await;
    let b = citizen_at(&app, &account, "t-2", "u2", now).await;
    forward(&app, &a, &afval).await;
    forward(&app, &b, &wegen).await;
    // Both questions were asked two hours ago by their department clocks (the clock restarts
    // on the department's norms and calendar): two wall-clock hours, but no business time on
    // Afval's calendar and 120 business minutes on Wegen's.
    let two_hours_ago = Utc::now() - Duration::hours(2);
    for (case, cal) in [(&a, &quiet), (&b, &cal)] {
        app.store
            .on_forward(
                case.parse().unwrap(),
                Some(60),
                Some(cal.parse().unwrap()),
                two_hours_ago,
            )
            .await
            .unwrap();
    }
    department_answers(&app, &a, &token).await;
    department_answers(&app, &b, &token).await;
    let ca = get_json(&app, &format!("/api/v1/cases/{a}")).await;
    assert_eq!(ca["sla"]["department"]["state"], "met", "{}", ca["sla"]);
    assert_eq!(ca["sla"]["department"]["stopReason"], "department_answer");
    assert_eq!(ca["sla"]["department"]["businessMinutesUsed"], 0);
    let cb = get_json(&app, &format!("/api/v1/cases/{b}")).await;
    assert_eq!(cb["sla"]["department"]["state"], "missed", "{}", cb["sla"]);
    // The first department run was replaced by the restart: cancelled, reason `reforwarded`.
    let r = runs(&app, &a).await;
    assert_eq!(run_of(&r, "department", 0)["stopReason"], "reforwarded");
    assert_eq!(run_of(&r, "department", 0)["state"], "cancelled");

    let from = rfc_ms(now - Duration::hours(1));
    let report = get_json(
        &app,
        &format!(
            "/api/v1/reports/departments?from={}",
            from.replace('+', "%2B")
        ),
    )
    .await;
    let row = |name: &str| {
        report["departments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .unwrap()
            .clone()
    };
    let (ra, rb) = (row("Afval"), row("Wegen"));
    assert_eq!(ra["answered"], 1, "{report}");
    assert_eq!(
        ra["answeredInTime"], 1,
        "the Afval clock says in time: {report}"
    );
    assert_eq!(rb["answered"], 1, "{report}");
    assert_eq!(
        rb["answeredInTime"], 0,
        "the Wegen clock says late, though the forward row is seconds old: {report}"
    );
    // The forwards show the clock's verdict.
    let f = get_json(&app, &format!("/api/v1/cases/{b}/forwards")).await;
    assert_eq!(f["forwards"][0]["answeredInTime"], false, "{f}");
    let f = get_json(&app, &format!("/api/v1/cases/{a}/forwards")).await;
    assert_eq!(f["forwards"][0]["answeredInTime"], true, "{f}");
}

// ------------------------------------------------------------------------------------ 6

async fn a_department_answer_is_settled_by_the_reply_or_the_resolve(app: ConnApp) {
    let account = app.account("api", "zaken").await;
    let dept = department(&app, "Afval", 480, None).await;
    let token = app.token(Role::Department).await;
    let now = Utc::now();
    let sent = citizen_at(&app, &account, "s-1", "u1", now).await;
    let aside = citizen_at(&app, &account, "s-2", "u2", now).await;
    for case in [&sent, &aside] {
        forward(&app, case, &dept).await;
        department_answers(&app, case, &token).await;
        let f = get_json(&app, &format!("/api/v1/cases/{case}/forwards")).await;
        assert_eq!(f["pendingAnswer"], "De container wordt donderdag geleegd.");
        assert!(f["forwards"][0]["answerOutcome"].is_null());
    }
    // The agent sends the answer and resolves: used (sent), no longer pending.
    app.reply_sent(
        &sent,
        json!({"text": "De container wordt donderdag geleegd."}),
    )
    .await;
    let mut f = Value::Null;
    for _ in 0..200 {
        f = get_json(&app, &format!("/api/v1/cases/{sent}/forwards")).await;
        if f["forwards"][0]["answerOutcome"] == "sent" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(f["pendingAnswer"].is_null(), "{f}");
    assert_eq!(f["forwards"][0]["answerOutcome"], "sent", "{f}");
    assert!(f["forwards"][0]["answerSettledAt"].is_string());
    patch_case(&app, &sent, json!({"status": "resolved"})).await;
    let f = get_json(&app, &format!("/api/v1/cases/{sent}/forwards")).await;
    assert!(f["pendingAnswer"].is_null());
    assert_eq!(
        f["forwards"][0]["answerOutcome"], "sent",
        "resolving keeps it sent"
    );
    // Resolved without sending it: set aside, no longer pending.
    patch_case(&app, &aside, json!({"status": "resolved"})).await;
    let f = get_json(&app, &format!("/api/v1/cases/{aside}/forwards")).await;
    assert!(f["pendingAnswer"].is_null(), "{f}");
    assert_eq!(f["forwards"][0]["answerOutcome"], "set_aside", "{f}");
    // Handing back a settled answer is refused: there is none pending.
    let res = app
        .post(
            &format!("/api/v1/cases/{aside}/department-answer/return"),
            &json!({"reason": "?"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
}

// ------------------------------------------------------------------------- the scenario

/// The office calendar of the scenario: Monday to Friday 08:30-17:00 Amsterdam, which in the
/// scenario's week (2-6 November 2026, CET, no Dutch holiday) is 07:30-16:00 UTC.
fn office() -> Value {
    let day = json!([["08:30", "17:00"]]);
    json!({"name": "Kantoor", "timeZone": "Europe/Amsterdam",
        "weekly": {"monday": day, "tuesday": day, "wednesday": day, "thursday": day, "friday": day},
        "holidays": {"set": "nl"}})
}

/// The reference, independent of the desk: is the office open in the minute starting at `t`?
fn office_open(t: DateTime<Utc>) -> bool {
    use chrono::{Datelike, Timelike, Weekday};
    let m = t.hour() * 60 + t.minute();
    !matches!(t.weekday(), Weekday::Sat | Weekday::Sun) && (7 * 60 + 30..16 * 60).contains(&m)
}

fn always_open(_: DateTime<Utc>) -> bool {
    true
}

/// Open minutes in [from, to), a minute at a time.
fn ref_minutes(open: fn(DateTime<Utc>) -> bool, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    let mut t = from;
    let mut n = 0;
    while t < to {
        n += i64::from(open(t));
        t += Duration::minutes(1);
    }
    n
}

/// The end of the `minutes`-th open minute from `from`.
fn ref_due(open: fn(DateTime<Utc>) -> bool, from: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
    let (mut t, mut left) = (from, minutes);
    loop {
        if open(t) {
            left -= 1;
            if left == 0 {
                return t + Duration::minutes(1);
            }
        }
        t += Duration::minutes(1);
    }
}

/// What the reference expects of a stopped clock run.
struct Expect {
    clock: &'static str,
    run: i64,
    open: fn(DateTime<Utc>) -> bool,
    start: DateTime<Utc>,
    budget: i64,
    stop: DateTime<Utc>,
    reason: &'static str,
    /// Whether the reason is what this clock measures (a reply for a reaction, ...).
    completes: bool,
}

impl Expect {
    fn state(&self) -> &'static str {
        let late = self.stop > self.due();
        match (self.reason, self.completes, late) {
            ("no_reply_needed", _, _) => "cancelled",
            (_, false, false) => "cancelled",
            (_, _, true) => "missed",
            (_, true, false) => "met",
        }
    }
    fn due(&self) -> DateTime<Utc> {
        ref_due(self.open, self.start, self.budget)
    }
    fn check(&self, runs: &[Value], case: &str) {
        let r = run_of(runs, self.clock, self.run);
        let what = format!("case {case} {} run {}: {r}", self.clock, self.run);
        assert_eq!(parse(&r["startedAt"]), self.start, "{what}");
        assert_eq!(parse(&r["dueAt"]), self.due(), "{what}");
        assert_eq!(parse(&r["stoppedAt"]), self.stop, "{what}");
        assert_eq!(r["stopReason"], self.reason, "{what}");
        assert_eq!(r["state"], self.state(), "{what}");
        assert_eq!(
            r["businessMinutesUsed"].as_i64().unwrap(),
            ref_minutes(self.open, self.start, self.stop),
            "{what}"
        );
    }
}

async fn a_scenario_matches_the_reference(app: TestApp) {
    use webcare_domain::CaseStatus::{Open, Resolved, WaitingOnCitizen};
    let t = |d: u32, h: u32, m: u32| -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap()
    };
    let office_cal = create_calendar(&app, &office()).await;
    let always_cal = create_calendar(&app, &always()).await;
    let kantoor = account_with_calendar(&app, "kantoor", &office_cal).await;
    let altijd = account_with_calendar(&app, "altijd", &always_cal).await;
    let store = &app.store;
    let id = |c: &str| -> uuid::Uuid { c.parse().unwrap() };
    let (reaction, resolution) = (240, 1440);

    // A: answered in the morning, resolved.
    let a = citizen_at(&app, &kantoor, "sc-a", "a", t(2, 8, 0)).await;
    store
        .on_reply_sent(id(&a), t(2, 9, 0), false)
        .await
        .unwrap();
    store
        .on_status_change(id(&a), Open, Resolved, t(2, 10, 0))
        .await
        .unwrap();
    // B: late afternoon; a holding answer the next morning (the night does not count).
    let b = citizen_at(&app, &kantoor, "sc-b", "b", t(2, 15, 0)).await;
    store.on_reply_sent(id(&b), t(3, 8, 0), true).await.unwrap();
    // C: a Saturday message (the clock starts Monday), resolved without a reply in time.
    let c = citizen_at(&app, &kantoor, "sc-c", "c", t(7, 10, 0)).await;
    store
        .on_status_change(id(&c), Open, Resolved, t(9, 8, 0))
        .await
        .unwrap();
    // D: resolved without a reply after the reaction deadline.
    let d = citizen_at(&app, &kantoor, "sc-d", "d", t(2, 8, 0)).await;
    store
        .on_status_change(id(&d), Open, Resolved, t(3, 10, 0))
        .await
        .unwrap();
    // E: 24/7; forwarded to a 24/7 department (60 minutes) that answers in 45; then a reply.
    let e = citizen_at(&app, &altijd, "sc-e", "e", t(2, 8, 0)).await;
    store
        .on_forward(
            id(&e),
            Some(60),
            Some(always_cal.parse().unwrap()),
            t(2, 9, 0),
        )
        .await
        .unwrap();
    store
        .on_department_answer(id(&e), t(2, 9, 45))
        .await
        .unwrap();
    store
        .on_reply_sent(id(&e), t(2, 10, 0), false)
        .await
        .unwrap();
    // F: forwarded at 16:00 local to an office-hours department (120 minutes), answered the next
    // morning at 10:00 local: 60 + 90 business minutes, late.
    let f = citizen_at(&app, &kantoor, "sc-f", "f", t(2, 14, 0)).await;
    store
        .on_forward(
            id(&f),
            Some(120),
            Some(office_cal.parse().unwrap()),
            t(2, 15, 0),
        )
        .await
        .unwrap();
    store
        .on_department_answer(id(&f), t(3, 9, 0))
        .await
        .unwrap();
    // G: answered, then waiting on the citizen.
    let g = citizen_at(&app, &kantoor, "sc-g", "g", t(2, 8, 0)).await;
    store
        .on_reply_sent(id(&g), t(2, 8, 30), false)
        .await
        .unwrap();
    store
        .on_status_change(id(&g), Open, WaitingOnCitizen, t(2, 9, 0))
        .await
        .unwrap();
    // H: answered, resolved, reopened; a new citizen message starts a next reaction.
    let h = citizen_at(&app, &kantoor, "sc-h", "h", t(2, 8, 0)).await;
    store
        .on_reply_sent(id(&h), t(2, 8, 10), false)
        .await
        .unwrap();
    store
        .on_status_change(id(&h), Open, Resolved, t(2, 9, 0))
        .await
        .unwrap();
    store
        .on_status_change(id(&h), Resolved, Open, t(2, 10, 0))
        .await
        .unwrap();

    let (o, w) = (
        office_open as fn(DateTime<Utc>) -> bool,
        always_open as fn(DateTime<Utc>) -> bool,
    );
    let ex = |clock, run, open, start, budget, stop, reason, completes| Expect {
        clock,
        run,
        open,
        start,
        budget,
        stop,
        reason,
        completes,
    };
    let expectations: Vec<(&str, &str, Vec<Expect>)> = vec![
        (
            &a,
            "open",
            vec![
                ex(
                    "reaction",
                    0,
                    o,
                    t(2, 8, 0),
                    reaction,
                    t(2, 9, 0),
                    "reply",
                    true,
                ),
                ex(
                    "resolution",
                    0,
                    o,
                    t(2, 8, 0),
                    resolution,
                    t(2, 10, 0),
                    "resolved",
                    true,
                ),
            ],
        ),
        (
            &b,
            "open",
            vec![ex(
                "reaction",
                0,
                o,
                t(2, 15, 0),
                reaction,
                t(3, 8, 0),
                "holding_answer",
                true,
            )],
        ),
        (
            &c,
            "new",
            vec![
                ex(
                    "reaction",
                    0,
                    o,
                    t(7, 10, 0),
                    reaction,
                    t(9, 8, 0),
                    "resolved_without_reply",
                    false,
                ),
                ex(
                    "resolution",
                    0,
                    o,
                    t(7, 10, 0),
                    resolution,
                    t(9, 8, 0),
                    "resolved",
                    true,
                ),
            ],
        ),
        (
            &d,
            "new",
            vec![ex(
                "reaction",
                0,
                o,
                t(2, 8, 0),
                reaction,
                t(3, 10, 0),
                "resolved_without_reply",
                false,
            )],
        ),
        (
            &e,
            "open",
            vec![
                ex(
                    "reaction",
                    0,
                    w,
                    t(2, 8, 0),
                    reaction,
                    t(2, 10, 0),
                    "reply",
                    true,
                ),
                ex(
                    "department",
                    0,
                    w,
                    t(2, 9, 0),
                    60,
                    t(2, 9, 45),
                    "department_answer",
                    true,
                ),
            ],
        ),
        (
            &f,
            "new",
            vec![ex(
                "department",
                0,
                o,
                t(2, 15, 0),
                120,
                t(3, 9, 0),
                "department_answer",
                true,
            )],
        ),
        (
            &g,
            "open",
            vec![ex(
                "reaction",
                0,
                o,
                t(2, 8, 0),
                reaction,
                t(2, 8, 30),
                "reply",
                true,
            )],
        ),
        (
            &h,
            "open",
            vec![
                ex(
                    "reaction",
                    0,
                    o,
                    t(2, 8, 0),
                    reaction,
                    t(2, 8, 10),
                    "reply",
                    true,
                ),
                ex(
                    "resolution",
                    0,
                    o,
                    t(2, 8, 0),
                    resolution,
                    t(2, 9, 0),
                    "resolved",
                    true,
                ),
            ],
        ),
    ];
    for (case, status, clocks) in &expectations {
        let detail = get_json(&app, &format!("/api/v1/cases/{case}")).await;
        assert_eq!(detail["status"], *status, "case {case}: {detail}");
        let r = runs(&app, case).await;
        for e in clocks {
            e.check(&r, case);
        }
    }
    // The reference's own verdicts, spelled out for the cases that test the rules.
    let state_of = |case: &str, clock: &str| {
        let (_, _, list) = expectations.iter().find(|x| x.0 == case).unwrap();
        list.iter().find(|e| e.clock == clock).unwrap().state()
    };
    assert_eq!(state_of(&b, "reaction"), "met");
    assert_eq!(state_of(&c, "reaction"), "cancelled");
    assert_eq!(state_of(&d, "reaction"), "missed");
    assert_eq!(state_of(&e, "department"), "met");
    assert_eq!(state_of(&f, "department"), "missed");
    // G: the resolution clock is paused after 60 business minutes.
    let r = runs(&app, &g).await;
    let res = run_of(&r, "resolution", 0);
    assert_eq!(res["state"], "paused", "{res}");
    assert_eq!(
        res["businessMinutesUsed"],
        ref_minutes(o, t(2, 8, 0), t(2, 9, 0))
    );
    assert_eq!(res["segments"].as_array().unwrap().len(), 2);
    // H: the reopened resolution runs again from the reopen, with its own due time.
    let r = runs(&app, &h).await;
    let run1 = run_of(&r, "resolution", 1);
    assert_eq!(run1["state"], "running", "{run1}");
    assert_eq!(parse(&run1["startedAt"]), t(2, 10, 0));
    assert_eq!(parse(&run1["dueAt"]), ref_due(o, t(2, 10, 0), resolution));
    // Reaction figures the way a report counts them: met / (met + missed), cancelled left out.
    let mut met = 0;
    let mut counted = 0;
    for (_, _, list) in &expectations {
        for e in list.iter().filter(|e| e.clock == "reaction") {
            match e.state() {
                "met" => {
                    met += 1;
                    counted += 1;
                }
                "missed" => counted += 1,
                _ => {}
            }
        }
    }
    assert_eq!(
        (met, counted),
        (5, 6),
        "A, B, E, G, H met; D missed; C left out"
    );
}
