//! SLA engine end to end: calendars and their math through the API, policies, clocks started by
//! ingest and moved by the hooks, and the timer worker firing each warning and breach once.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use webcare_domain::{CaseStatus, Role};
use webcare_e2e::{both_backends, expect_problem, TestApp};
use webcare_store::sla::AlertRecord;
use webcare_store::Store;
use webcare_workers::sla_worker::{AlertSink, SlaWorker};

both_backends!(
    calendars_crud_roles_and_validation,
    deadlines_and_business_time,
    calendar_versions_never_rewrite_the_past,
    policies_crud_and_validation,
    ingest_starts_clocks_and_the_worker_fires_each_alert_once,
    hooks_stop_pause_resume_and_forward,
    notifications_outside_opening_hours_wait_for_the_next_opening,
    two_workers_on_one_database_fire_once,
    the_running_worker_fires_at_the_due_instant,
    case_list_sorts_by_due_time_with_stable_cursors,
    a_lost_sla_update_is_repaired_before_it_breaches,
    a_redelivered_alert_is_told_once,
);

/// Counts deliveries.
#[derive(Default)]
pub(crate) struct CountingSink(pub(crate) AtomicUsize);

#[async_trait::async_trait]
impl AlertSink for CountingSink {
    async fn deliver(&self, alerts: &[AlertRecord]) -> anyhow::Result<()> {
        self.0.fetch_add(alerts.len(), Ordering::SeqCst);
        Ok(())
    }
}

fn kcc() -> Value {
    json!({
        "name": "KCC", "timeZone": "Europe/Amsterdam",
        "weekly": {"monday": [["08:30","17:00"]], "tuesday": [["08:30","17:00"]], "wednesday": [["08:30","17:00"]],
                   "thursday": [["08:30","17:00"]], "friday": [["08:30","17:00"]], "saturday": [], "sunday": []},
        "holidays": {"set": "nl", "goodFriday": false},
        "effectiveFrom": "2026-01-01T00:00:00Z"
    })
}

pub(crate) fn always() -> Value {
    let day = json!([["00:00", "24:00"]]);
    json!({
        "name": "24/7", "timeZone": "Europe/Amsterdam",
        "weekly": {"monday": day, "tuesday": day, "wednesday": day, "thursday": day, "friday": day, "saturday": day, "sunday": day},
        "holidays": {"set": "none"}
    })
}

pub(crate) async fn create_calendar(app: &TestApp, body: &Value) -> String {
    let res = app.post("/api/v1/calendars", body).send().await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let v: Value = res.json().await.unwrap();
    v["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn account_with_calendar(app: &TestApp, ext: &str, calendar: &str) -> String {
    let res = app
        .post(
            "/api/v1/channel-accounts",
            &json!({"kind": "api", "name": ext, "externalId": ext, "calendarId": calendar}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let v: Value = res.json().await.unwrap();
    v["id"].as_str().unwrap().to_owned()
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Posts a citizen message and returns its case id.
pub(crate) async fn citizen(
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
                    "author": {"platformUserId": author}, "text": "Wanneer wordt het afval opgehaald?",
                    "sentAt": rfc(sent)}),
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let v: Value = res.json().await.unwrap();
    v["caseId"].as_str().unwrap().to_owned()
}

pub(crate) async fn get_json(app: &TestApp, path: &str) -> Value {
    let res = app.get(path).send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

pub(crate) fn secs(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap()
}

pub(crate) fn parse(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

async fn calendars_crud_roles_and_validation(app: TestApp) {
    let id = create_calendar(&app, &kcc()).await;
    let cal = get_json(&app, &format!("/api/v1/calendars/{id}")).await;
    assert_eq!(cal["name"], "KCC");
    assert_eq!(cal["timeZone"], "Europe/Amsterdam");
    assert_eq!(cal["weekly"]["monday"], json!([["08:30", "17:00"]]));
    assert_eq!(cal["versions"].as_array().unwrap().len(), 1);
    assert_eq!(cal["effectiveFrom"], "2026-01-01T00:00:00Z");

    // Every role reads; only admins write.
    let agent = app.token(Role::Agent).await;
    let dept = app.token(Role::Department).await;
    for t in [&agent, &dept] {
        let res = app
            .client
            .get(app.url("/api/v1/calendars"))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let list: Value = res.json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        assert!(list["next"].is_null());
    }
    let res = app
        .client
        .post(app.url("/api/v1/calendars"))
        .bearer_auth(&agent)
        .json(&kcc())
        .send()
        .await
        .unwrap();
    expect_problem(res, 403).await;
    let res = app
        .client
        .get(app.url("/api/v1/calendars"))
        .send()
        .await
        .unwrap();
    expect_problem(res, 401).await;

    let cases: Vec<(Value, &str, &str)> = vec![
        (
            {
                let mut c = kcc();
                c["timeZone"] = json!("Europe/Amsterdm");
                c
            },
            "timeZone",
            "unknown_time_zone",
        ),
        (
            {
                let mut c = kcc();
                c["weekly"]["monday"] = json!([["08:30", "12:30"], ["12:00", "17:00"]]);
                c
            },
            "weekly.monday[1]",
            "overlap",
        ),
        (
            {
                let mut c = kcc();
                c["weekly"]["tuesday"] = json!([["08:30", "25:00"]]);
                c
            },
            "weekly.tuesday[0]",
            "invalid_time",
        ),
        (
            {
                let mut c = kcc();
                c["weekly"]["friday"] = json!([["17:00", "08:30"]]);
                c
            },
            "weekly.friday[0]",
            "end_before_start",
        ),
        (
            {
                let mut c = kcc();
                c["holidays"]["set"] = json!("be");
                c
            },
            "holidays.set",
            "unknown_holiday_set",
        ),
        (
            {
                let mut c = kcc();
                c["name"] = json!("  ");
                c
            },
            "name",
            "required",
        ),
    ];
    for (body, name, code) in cases {
        let res = app.post("/api/v1/calendars", &body).send().await.unwrap();
        let p = expect_problem(res, 400).await;
        let params = p["invalidParams"].as_array().unwrap();
        assert!(
            params
                .iter()
                .any(|x| x["name"] == name && x["code"] == code),
            "expected {name}/{code} in {p}"
        );
        // Same on PUT.
        let res = app
            .client
            .put(app.url(&format!("/api/v1/calendars/{id}")))
            .bearer_auth(&app.admin_token)
            .json(&body)
            .send()
            .await
            .unwrap();
        expect_problem(res, 400).await;
    }
    let res = app
        .post("/api/v1/calendars", &json!({"timeZone": "UTC"}))
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 400).await;
    assert_eq!(p["invalidParams"][0]["name"], "name");
    // Nothing was stored by any bad request.
    let list = get_json(&app, "/api/v1/calendars").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let cal = get_json(&app, &format!("/api/v1/calendars/{id}")).await;
    assert_eq!(cal["versions"].as_array().unwrap().len(), 1);
    let res = app
        .get(&format!("/api/v1/calendars/{}", uuid::Uuid::now_v7()))
        .send()
        .await
        .unwrap();
    expect_problem(res, 404).await;
}

async fn deadline(app: &TestApp, id: &str, start: &str, minutes: &str) -> reqwest::Response {
    let q = form(&[("start", start), ("businessMinutes", minutes)]);
    app.get(&format!("/api/v1/calendars/{id}/deadline?{q}"))
        .send()
        .await
        .unwrap()
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (k, v) in pairs {
        if !s.is_empty() {
            s.push('&');
        }
        s.push_str(k);
        s.push('=');
        s.push_str(&v.replace('+', "%2B").replace(':', "%3A"));
    }
    s
}

async fn deadline_ok(app: &TestApp, id: &str, start: &str, minutes: &str) -> String {
    let res = deadline(app, id, start, minutes).await;
    assert_eq!(res.status(), 200, "{start} + {minutes}");
    let v: Value = res.json().await.unwrap();
    v["deadline"].as_str().unwrap().to_owned()
}

async fn deadlines_and_business_time(app: TestApp) {
    let id = create_calendar(&app, &kcc()).await;
    let agent = app.token(Role::Agent).await;
    // Friday 17:30 + 120 min with 08:30-17:00 -> Monday 10:30 Amsterdam (09:30 UTC in winter).
    assert_eq!(
        deadline_ok(&app, &id, "2026-03-06T17:30:00+01:00", "120").await,
        "2026-03-09T09:30:00Z"
    );
    // Ending exactly on a closing time.
    assert_eq!(
        deadline_ok(&app, &id, "2026-03-09T16:00:00+01:00", "60").await,
        "2026-03-09T16:00:00Z"
    );
    // Koningsdag 2026 is Monday 27 April: Friday 16:00 + 120 -> Tuesday 09:30 (CEST).
    assert_eq!(
        deadline_ok(&app, &id, "2026-04-24T16:00:00+02:00", "120").await,
        "2026-04-28T07:30:00Z"
    );
    // Across the spring DST change (29 March 2026): Friday 16:00 CET + 120 -> Monday 09:30 CEST.
    assert_eq!(
        deadline_ok(&app, &id, "2026-03-27T16:00:00+01:00", "120").await,
        "2026-03-30T07:30:00Z"
    );
    // Christmas: Thursday 24 Dec 16:00 + 90 -> Monday 28 Dec 09:30.
    assert_eq!(
        deadline_ok(&app, &id, "2026-12-24T16:00:00+01:00", "90").await,
        "2026-12-28T08:00:00Z"
    );
    // Any role may ask.
    let q = form(&[
        ("start", "2026-03-06T17:30:00+01:00"),
        ("businessMinutes", "120"),
    ]);
    let res = app
        .client
        .get(app.url(&format!("/api/v1/calendars/{id}/deadline?{q}")))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Business time: Friday 08:30 to Monday 10:30 = 510 + 120 minutes; rounded down.
    let q = form(&[
        ("from", "2026-03-06T08:30:00+01:00"),
        ("to", "2026-03-09T10:30:59+01:00"),
    ]);
    let v = get_json(&app, &format!("/api/v1/calendars/{id}/business-time?{q}")).await;
    assert_eq!(v["businessMinutes"], 630);
    let q = form(&[
        ("from", "2026-04-27T08:00:00+02:00"),
        ("to", "2026-04-27T18:00:00+02:00"),
    ]);
    let v = get_json(&app, &format!("/api/v1/calendars/{id}/business-time?{q}")).await;
    assert_eq!(v["businessMinutes"], 0, "Koningsdag is closed");

    for (start, minutes, name) in [
        ("2026-03-06T17:30:00+01:00", "0", "businessMinutes"),
        ("2026-03-06T17:30:00+01:00", "5260321", "businessMinutes"),
        ("2026-03-06T17:30:00+01:00", "-5", "businessMinutes"),
        ("2026-03-06T17:30:00+01:00", "twee", "businessMinutes"),
        ("vrijdag", "120", "start"),
        ("2026-03-06 17:30", "120", "start"),
    ] {
        let p = expect_problem(deadline(&app, &id, start, minutes).await, 400).await;
        assert_eq!(
            p["invalidParams"][0]["name"], name,
            "{start} {minutes}: {p}"
        );
    }
    let res = app
        .get(&format!(
            "/api/v1/calendars/{id}/deadline?businessMinutes=10"
        ))
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 400).await;
    assert_eq!(p["invalidParams"][0]["name"], "start");
    let q = form(&[
        ("from", "2026-03-09T10:00:00+01:00"),
        ("to", "2026-03-09T09:00:00+01:00"),
    ]);
    let res = app
        .get(&format!("/api/v1/calendars/{id}/business-time?{q}"))
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 400).await;
    assert_eq!(p["invalidParams"][0]["name"], "to");

    // A calendar without any open time is accepted, but has no deadline: 400, quickly.
    let closed = create_calendar(
        &app,
        &json!({"name": "dicht", "weekly": {}, "holidays": {"set": "none"}}),
    )
    .await;
    let t0 = std::time::Instant::now();
    let p = expect_problem(
        deadline(&app, &closed, "2026-03-06T17:30:00+01:00", "1").await,
        400,
    )
    .await;
    assert_eq!(p["invalidParams"][0]["code"], "no_open_time");
    assert!(p["invalidParams"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("no open time"));
    assert!(t0.elapsed() < std::time::Duration::from_secs(5));
    let res = deadline(
        &app,
        &uuid::Uuid::now_v7().to_string(),
        "2026-03-06T17:30:00+01:00",
        "1",
    )
    .await;
    expect_problem(res, 404).await;
}

async fn calendar_versions_never_rewrite_the_past(app: TestApp) {
    let id = create_calendar(&app, &kcc()).await;
    let before = deadline_ok(&app, &id, "2026-03-06T17:30:00+01:00", "120").await;
    let mut v2 = kcc();
    for d in ["monday", "tuesday", "wednesday", "thursday", "friday"] {
        v2["weekly"][d] = json!([["09:00", "12:00"]]);
    }
    v2["effectiveFrom"] = json!("2026-06-01T00:00:00+02:00");
    v2["name"] = json!("KCC zomer");
    let res = app
        .client
        .put(app.url(&format!("/api/v1/calendars/{id}")))
        .bearer_auth(&app.admin_token)
        .json(&v2)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let cal: Value = res.json().await.unwrap();
    assert_eq!(cal["name"], "KCC zomer");
    assert_eq!(cal["versions"].as_array().unwrap().len(), 2);
    assert_eq!(cal["effectiveFrom"], "2026-05-31T22:00:00Z");
    assert_eq!(cal["weekly"]["monday"], json!([["09:00", "12:00"]]));
    // The earlier deadline is unchanged; a later one uses the new hours.
    assert_eq!(
        deadline_ok(&app, &id, "2026-03-06T17:30:00+01:00", "120").await,
        before
    );
    assert_eq!(
        deadline_ok(&app, &id, "2026-06-05T17:30:00+02:00", "120").await,
        "2026-06-08T09:00:00Z"
    );
    // Across the change: Friday 29 May 16:00 + 120 -> 60 on Friday, then Monday 1 June 09:00 + 60.
    assert_eq!(
        deadline_ok(&app, &id, "2026-05-29T16:00:00+02:00", "120").await,
        "2026-06-01T08:00:00Z"
    );
}

pub(crate) fn policy(name: &str, order: i32) -> Value {
    json!({"name": name, "order": order, "match": {"kind": "melding"}, "reactionMinutes": 120,
           "resolutionMinutes": 1440, "departmentMinutes": 480, "minutesKind": "business",
           "warningAt": 0.8, "effectiveFrom": "2026-01-01T00:00:00Z"})
}

async fn policies_crud_and_validation(app: TestApp) {
    let cal = create_calendar(&app, &kcc()).await;
    let mut p = policy("Webcare 2 uur", 10);
    p["calendarId"] = json!(cal);
    let res = app.post("/api/v1/sla-policies", &p).send().await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let created: Value = res.json().await.unwrap();
    let pid = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["reactionMinutes"], 120);
    assert_eq!(created["match"]["kind"], "melding");
    let res = app
        .post("/api/v1/sla-policies", &policy("Algemeen", 100))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // Duplicate version: 409.
    let res = app.post("/api/v1/sla-policies", &p).send().await.unwrap();
    expect_problem(res, 409).await;
    // A new version through PUT.
    let mut v2 = p.clone();
    v2["effectiveFrom"] = json!("2026-07-01T00:00:00Z");
    v2["reactionMinutes"] = json!(60);
    let res = app
        .client
        .put(app.url(&format!("/api/v1/sla-policies/{pid}")))
        .bearer_auth(&app.admin_token)
        .json(&v2)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let list = get_json(&app, "/api/v1/sla-policies").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["name"], "Webcare 2 uur");
    assert_eq!(items[0]["effectiveFrom"], "2026-01-01T00:00:00Z");
    assert_eq!(items[1]["reactionMinutes"], 60);
    assert_eq!(items[2]["name"], "Algemeen");
    let one = get_json(&app, &format!("/api/v1/sla-policies/{pid}")).await;
    assert_eq!(one["reactionMinutes"], 120);

    for (patch, name) in [
        (json!({"warningAt": 1.5}), "warningAt"),
        (json!({"reactionMinutes": 0}), "reactionMinutes"),
        (json!({"calendarId": uuid::Uuid::now_v7()}), "calendarId"),
        (json!({"minutesKind": "weekdays"}), "minutesKind"),
        (json!({"name": ""}), "name"),
    ] {
        let mut body = policy("x", 1);
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let p = expect_problem(
            app.post("/api/v1/sla-policies", &body)
                .send()
                .await
                .unwrap(),
            400,
        )
        .await;
        assert!(
            p["invalidParams"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["name"] == name),
            "{name}: {p}"
        );
    }
    assert_eq!(
        get_json(&app, "/api/v1/sla-policies").await["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let lead = app.token(Role::Teamlead).await;
    let res = app
        .client
        .get(app.url("/api/v1/sla-policies"))
        .bearer_auth(&lead)
        .send()
        .await
        .unwrap();
    expect_problem(res, 403).await;
}

async fn ingest_starts_clocks_and_the_worker_fires_each_alert_once(app: TestApp) {
    let cal = create_calendar(&app, &always()).await;
    let account = account_with_calendar(&app, "web", &cal).await;
    let now = Utc::now();
    let sent1 = secs(now - Duration::minutes(200));
    let sent2 = secs(now - Duration::minutes(300));
    let case1 = citizen(&app, &account, "m1", "u1", sent1).await;
    let case2 = citizen(&app, &account, "m2", "u2", sent2).await;

    // Default norms on a 24/7 calendar: reaction 240 min, warning at 80 % (192 min).
    let c1 = get_json(&app, &format!("/api/v1/cases/{case1}")).await;
    let r = &c1["sla"]["reaction"];
    assert_eq!(parse(&r["startedAt"]), sent1);
    assert_eq!(parse(&r["dueAt"]), sent1 + Duration::minutes(240));
    assert_eq!(parse(&r["warningAt"]), sent1 + Duration::minutes(192));
    assert_eq!(r["state"], "running");
    assert_eq!(r["status"], "warning");
    assert_eq!(r["segments"].as_array().unwrap().len(), 1);
    assert!(r["businessMinutesUsed"].as_i64().unwrap() >= 200);
    assert_eq!(
        parse(&c1["sla"]["resolution"]["dueAt"]),
        sent1 + Duration::minutes(1440)
    );
    assert!(c1["sla"].get("nextReaction").is_none());
    assert!(c1["sla"].get("department").is_none());
    assert_eq!(
        parse(&c1["dueAt"]),
        sent1 + Duration::minutes(240),
        "case dueAt = earliest running clock"
    );
    let c2 = get_json(&app, &format!("/api/v1/cases/{case2}")).await;
    assert_eq!(c2["sla"]["reaction"]["status"], "breached");

    // Missed while no worker ran: the first pass fires them.
    let sink = Arc::new(CountingSink::default());
    let worker = SlaWorker::new(app.store.clone(), sink.clone());
    let pass = worker.run_once(Utc::now()).await.unwrap();
    assert_eq!(
        pass.fired.len(),
        3,
        "warning of case 1, warning and breach of case 2"
    );
    // The team lead's board counts the clocks in warning and breached now.
    let board = get_json(&app, "/api/v1/board").await;
    assert_eq!(board["slaWarnings"], 1, "{board}");
    assert_eq!(board["slaBreaches"], 1, "{board}");
    assert_eq!(pass.notified, 3);
    let pass = worker.run_once(Utc::now()).await.unwrap();
    assert!(pass.fired.is_empty() && pass.notified == 0);
    // A restarted worker (a new instance) fires nothing again.
    let again = SlaWorker::new(app.store.clone(), sink.clone());
    let pass = again.run_once(Utc::now()).await.unwrap();
    assert!(pass.fired.is_empty());
    assert_eq!(sink.0.load(Ordering::SeqCst), 3);

    let breached = get_json(&app, "/api/v1/sla/alerts?status=breached").await;
    let items = breached["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["caseId"], case2.as_str());
    assert_eq!(items[0]["clock"], "reaction");
    assert_eq!(items[0]["status"], "breached");
    assert_eq!(parse(&items[0]["dueAt"]), sent2 + Duration::minutes(240));
    assert!(parse(&items[0]["firedAt"]) >= parse(&items[0]["dueAt"]));
    assert!(items[0]["notifiedAt"].is_string());
    let warnings = get_json(&app, "/api/v1/sla/alerts?status=warning").await;
    assert_eq!(warnings["items"].as_array().unwrap().len(), 2);
    let page = get_json(&app, "/api/v1/sla/alerts?limit=2").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let next = page["next"].as_str().unwrap();
    let rest = get_json(&app, next).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    let res = app
        .get("/api/v1/sla/alerts?status=late")
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 400).await;
    assert_eq!(p["invalidParams"][0]["name"], "status");
    let agent = app.token(Role::Agent).await;
    let res = app
        .client
        .get(app.url("/api/v1/sla/alerts"))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    expect_problem(res, 403).await;
    let lead = app.token(Role::Teamlead).await;
    let res = app
        .client
        .get(app.url("/api/v1/sla/alerts"))
        .bearer_auth(&lead)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The inbox filters on SLA status.
    let b = get_json(&app, "/api/v1/cases?slaStatus=breached").await;
    let ids: Vec<&str> = b["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![case2.as_str()]);
    let w = get_json(&app, "/api/v1/cases?slaStatus=warning").await;
    let ids: Vec<&str> = w["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![case1.as_str()]);
    let res = app.get("/api/v1/cases?slaStatus=red").send().await.unwrap();
    expect_problem(res, 400).await;
}

async fn hooks_stop_pause_resume_and_forward(app: TestApp) {
    let cal = create_calendar(&app, &always()).await;
    let account = account_with_calendar(&app, "web", &cal).await;
    let now = secs(Utc::now());
    let case: uuid::Uuid = citizen(&app, &account, "h1", "u1", now - Duration::minutes(10))
        .await
        .parse()
        .unwrap();
    let store: &Arc<dyn Store> = &app.store;

    // A reply stops the reaction clock: met.
    store
        .on_reply_sent(case, now - Duration::minutes(5), false)
        .await
        .unwrap();
    let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(c["sla"]["reaction"]["state"], "met");
    assert_eq!(
        parse(&c["sla"]["reaction"]["stoppedAt"]),
        now - Duration::minutes(5)
    );
    assert_eq!(c["sla"]["reaction"]["businessMinutesUsed"], 5);
    assert_eq!(
        parse(&c["dueAt"]),
        now - Duration::minutes(10) + Duration::minutes(1440),
        "resolution is the next due"
    );

    // A new citizen message after the reply starts the next-reaction clock.
    citizen(&app, &account, "h2", "u1", now - Duration::minutes(2)).await;
    let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(c["sla"]["nextReaction"]["state"], "running");
    assert_eq!(
        parse(&c["sla"]["nextReaction"]["dueAt"]),
        now - Duration::minutes(2) + Duration::minutes(240)
    );
    assert_eq!(
        parse(&c["dueAt"]),
        now - Duration::minutes(2) + Duration::minutes(240)
    );
    store
        .on_reply_sent(case, now - Duration::minutes(1), true)
        .await
        .unwrap();
    let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(
        c["sla"]["nextReaction"]["state"], "met",
        "a process answer counts by default"
    );

    // Waiting on the citizen pauses resolution; the case then has no running due time.
    store
        .on_status_change(case, CaseStatus::Open, CaseStatus::WaitingOnCitizen, now)
        .await
        .unwrap();
    let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
    let res = &c["sla"]["resolution"];
    assert_eq!(res["segments"].as_array().unwrap().len(), 2);
    assert_eq!(res["segments"][1]["running"], false);
    assert_eq!(res["segments"][1]["reason"], "waiting on the citizen");
    assert!(c["dueAt"].is_null());
    let used_at_pause = res["businessMinutesUsed"].as_i64().unwrap();
    assert_eq!(used_at_pause, 10);
    store
        .on_status_change(
            case,
            CaseStatus::WaitingOnCitizen,
            CaseStatus::Open,
            now + Duration::minutes(30),
        )
        .await
        .unwrap();
    let clocks = store.case_clocks(case).await.unwrap();
    let resolution = clocks
        .iter()
        .find(|c| c.kind == webcare_domain::sla::ClockKind::Resolution)
        .unwrap();
    assert_eq!(resolution.segments.len(), 3);
    assert_eq!(resolution.state, "running");
    // 30 paused minutes moved the due time 30 minutes later.
    assert_eq!(
        resolution.due_at.unwrap(),
        now - Duration::minutes(10) + Duration::minutes(1440 + 30)
    );

    // Forward with a 20-minute department norm, started 40 minutes ago: breached; the worker
    // fires it; the department's answer stops it as missed.
    store
        .on_forward(case, Some(20), None, now - Duration::minutes(40))
        .await
        .unwrap();
    let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(
        parse(&c["sla"]["department"]["dueAt"]),
        now - Duration::minutes(20)
    );
    assert_eq!(c["sla"]["department"]["status"], "breached");
    let worker = SlaWorker::new(app.store.clone(), Arc::new(CountingSink::default()));
    let pass = worker.run_once(Utc::now()).await.unwrap();
    let kinds: Vec<_> = pass.fired.iter().map(|a| (a.clock, a.status)).collect();
    assert_eq!(
        kinds,
        vec![
            (
                webcare_domain::sla::ClockKind::Department,
                webcare_domain::sla::ClockStatus::Warning
            ),
            (
                webcare_domain::sla::ClockKind::Department,
                webcare_domain::sla::ClockStatus::Breached
            )
        ]
    );
    store.on_department_answer(case, now).await.unwrap();
    let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(c["sla"]["department"]["state"], "missed");

    // Resolving stops resolution (met); reopening starts a new run.
    store
        .on_status_change(
            case,
            CaseStatus::Open,
            CaseStatus::Resolved,
            now + Duration::minutes(31),
        )
        .await
        .unwrap();
    let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(c["sla"]["resolution"]["state"], "met");
    store
        .on_status_change(
            case,
            CaseStatus::Resolved,
            CaseStatus::Open,
            now + Duration::minutes(40),
        )
        .await
        .unwrap();
    let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(c["sla"]["resolution"]["state"], "running");
    assert_eq!(
        parse(&c["sla"]["resolution"]["startedAt"]),
        now + Duration::minutes(40)
    );
    // Hooks on an unknown case do not invent clocks.
    let unknown = uuid::Uuid::now_v7();
    store.on_reply_sent(unknown, now, false).await.unwrap();
    assert!(store.on_forward(unknown, None, None, now).await.is_err());
}

async fn notifications_outside_opening_hours_wait_for_the_next_opening(app: TestApp) {
    // Open only one hour, three days from now.
    let tz: chrono_tz::Tz = "Europe/Amsterdam".parse().unwrap();
    let day = (Utc::now() + Duration::days(3))
        .with_timezone(&tz)
        .date_naive();
    let cal = create_calendar(
        &app,
        &json!({"name": "zelden", "weekly": {}, "holidays": {"set": "none"},
                "extraOpenings": [{"date": day.to_string(), "intervals": [["10:00", "11:00"]]}]}),
    )
    .await;
    let account = account_with_calendar(&app, "web", &cal).await;
    let mut p = policy("kort", 1);
    p["match"] = json!({"channelAccountId": account});
    p["reactionMinutes"] = json!(10);
    p["minutesKind"] = json!("calendar");
    p["calendarId"] = json!(cal);
    p["resolutionMinutes"] = json!(null);
    let res = app.post("/api/v1/sla-policies", &p).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let sent = secs(Utc::now() - Duration::minutes(20));
    let case = citizen(&app, &account, "n1", "u1", sent).await;
    let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(
        parse(&c["sla"]["reaction"]["dueAt"]),
        sent + Duration::minutes(10),
        "calendar minutes"
    );

    let sink = Arc::new(CountingSink::default());
    let worker = SlaWorker::new(app.store.clone(), sink.clone());
    let pass = worker.run_once(Utc::now()).await.unwrap();
    assert_eq!(pass.fired.len(), 2);
    assert_eq!(pass.notified, 0, "held: the desk is closed");
    let opening: DateTime<Utc> = day
        .and_hms_opt(10, 0, 0)
        .unwrap()
        .and_local_timezone(tz)
        .unwrap()
        .with_timezone(&Utc);
    for a in &pass.fired {
        assert_eq!(a.notify_at, opening);
    }
    let list = get_json(&app, "/api/v1/sla/alerts").await;
    assert!(list["items"][0]["notifiedAt"].is_null());
    assert_eq!(parse(&list["items"][0]["notifyAt"]), opening);
    // The worker plans to wake at the opening at the latest (clocks are done).
    assert_eq!(app.store.next_sla_instant().await.unwrap(), Some(opening));
    let pass = worker
        .run_once(opening + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(pass.notified, 2);
    assert_eq!(sink.0.load(Ordering::SeqCst), 2);
    assert_eq!(app.store.next_sla_instant().await.unwrap(), None);
}

async fn two_workers_on_one_database_fire_once(app: TestApp) {
    let cal = create_calendar(&app, &always()).await;
    let account = account_with_calendar(&app, "web", &cal).await;
    let sent = secs(Utc::now() - Duration::minutes(300));
    let n = 60;
    for i in 0..n {
        citizen(&app, &account, &format!("t{i}"), &format!("u{i}"), sent).await;
    }
    // A second node: its own connection pool and cache on the same database.
    let other = webcare_store::connect(
        &app.database_url,
        webcare_store::ConnectOptions {
            max_connections: 4,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let sink = Arc::new(CountingSink::default());
    let mut a = SlaWorker::new(app.store.clone(), sink.clone());
    let mut b = SlaWorker::new(other.clone(), sink.clone());
    a.batch = 7;
    b.batch = 7;
    let now = Utc::now();
    let (ra, rb) = tokio::join!(
        tokio::spawn(async move { a.run_once(now).await.unwrap() }),
        tokio::spawn(async move { b.run_once(now).await.unwrap() })
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(
        ra.fired.len() + rb.fired.len(),
        2 * n,
        "one warning and one breach per clock"
    );
    assert_eq!(ra.notified + rb.notified, 2 * n);
    assert_eq!(
        sink.0.load(Ordering::SeqCst),
        2 * n,
        "each alert delivered once"
    );
    let mut all = Vec::new();
    let mut next = Some("/api/v1/sla/alerts?limit=200".to_string());
    while let Some(path) = next {
        let page = get_json(&app, &path).await;
        all.extend(page["items"].as_array().unwrap().iter().cloned());
        next = page["next"].as_str().map(str::to_owned);
    }
    assert_eq!(all.len(), 2 * n);
    let mut keys: Vec<(String, String, String)> = all
        .iter()
        .map(|a| {
            (
                a["caseId"].to_string(),
                a["clock"].to_string(),
                a["status"].to_string(),
            )
        })
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 2 * n);
    other.close().await;
}

async fn the_running_worker_fires_at_the_due_instant(app: TestApp) {
    let cal = create_calendar(&app, &always()).await;
    let account = account_with_calendar(&app, "web", &cal).await;
    let mut p = policy("een minuut", 1);
    p["match"] = json!({});
    p["reactionMinutes"] = json!(1);
    p["warningAt"] = json!(0.5);
    assert_eq!(
        app.post("/api/v1/sla-policies", &p)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let sink = Arc::new(CountingSink::default());
    let stop = tokio_util::sync::CancellationToken::new();
    let handle = SlaWorker::new(app.store.clone(), sink.clone()).spawn(stop.clone());
    // Due in about two seconds (budgets count whole seconds).
    let sent = secs(Utc::now()) - Duration::seconds(58);
    let case = citizen(&app, &account, "r1", "u1", sent).await;
    let due = sent + Duration::minutes(1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let breach = loop {
        let list = get_json(&app, "/api/v1/sla/alerts?status=breached").await;
        if let Some(a) = list["items"].as_array().unwrap().first() {
            break a.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no breach within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(breach["caseId"], case.as_str());
    assert_eq!(parse(&breach["dueAt"]), due);
    let delay = parse(&breach["firedAt"]) - due;
    assert!(
        delay >= Duration::zero() && delay < Duration::seconds(1),
        "breach recorded {delay} after due"
    );
    stop.cancel();
    handle.await.unwrap();
    // The warning (already due at ingest) fired once too; nothing fires twice after a restart.
    let all = get_json(&app, "/api/v1/sla/alerts").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let pass = SlaWorker::new(app.store.clone(), sink.clone())
        .run_once(Utc::now())
        .await
        .unwrap();
    assert!(pass.fired.is_empty());
}

async fn case_list_sorts_by_due_time_with_stable_cursors(app: TestApp) {
    let cal = create_calendar(&app, &always()).await;
    let account = account_with_calendar(&app, "web", &cal).await;
    let base = secs(Utc::now() - Duration::minutes(100));
    // Due times out of creation order; two share a due time (ties broken by id).
    let offsets = [30, 10, 50, 10, 40, 20, 0];
    let mut cases = Vec::new();
    for (i, off) in offsets.iter().enumerate() {
        let id = citizen(
            &app,
            &account,
            &format!("s{i}"),
            &format!("u{i}"),
            base + Duration::minutes(*off),
        )
        .await;
        cases.push((base + Duration::minutes(*off), id));
    }
    let mut expected = cases.clone();
    expected.sort();
    let mut got = Vec::new();
    let mut next = Some("/api/v1/cases?sort=dueAt&limit=3".to_string());
    let mut pages = 0;
    while let Some(path) = next {
        let page = get_json(&app, &path).await;
        got.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned()),
        );
        next = page["next"].as_str().map(str::to_owned);
        pages += 1;
    }
    assert_eq!(pages, 3);
    let want: Vec<String> = expected.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(got, want);
    // A v1 cursor is not valid for the due-time order.
    let v1 = get_json(&app, "/api/v1/cases?limit=1").await;
    let cursor = v1["next"]
        .as_str()
        .unwrap()
        .split("cursor=")
        .nth(1)
        .unwrap()
        .to_owned();
    let res = app
        .get(&format!("/api/v1/cases?sort=dueAt&cursor={cursor}"))
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 400).await;
    assert_eq!(p["invalidParams"][0]["name"], "cursor");
}

/// Measurement, not a timed test: breach delay (due instant -> recorded alert) with many running
/// clocks. Run with
/// `SLA_CLOCKS=20000 cargo test --release -p webcare-e2e --test e2e sla::breach_delay -- --ignored --nocapture`
/// (add `SLA_BACKEND=postgres` for PostgreSQL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn breach_delay() {
    let backend = match std::env::var("SLA_BACKEND").as_deref() {
        Ok("postgres") => webcare_e2e::Backend::Postgres,
        _ => webcare_e2e::Backend::Sqlite,
    };
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let n: usize = std::env::var("SLA_CLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let cal = create_calendar(&app, &always()).await;
    let account: uuid::Uuid = account_with_calendar(&app, "bench", &cal)
        .await
        .parse()
        .unwrap();
    let mut p = policy("bench", 1);
    p["match"] = json!({});
    p["reactionMinutes"] = json!(1);
    p["resolutionMinutes"] = json!(null);
    p["warningAt"] = json!(0.9);
    assert_eq!(
        app.post("/api/v1/sla-policies", &p)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    // Due instants spread over `spread` seconds, starting `lead` seconds from now.
    let (lead, spread) = (20i64, 20i64);
    let t0 = secs(Utc::now());
    let started = std::time::Instant::now();
    let mut batch = Vec::new();
    for i in 0..n {
        let due = t0 + Duration::seconds(lead + (i as i64 * spread) / n as i64);
        batch.push(webcare_store::IngestItem {
            channel_account_id: account,
            message: webcare_domain::inbound::InboundMessage {
                platform_message_id: format!("b{i}"),
                in_reply_to: None,
                conversation_key: None,
                visibility: webcare_domain::Visibility::Private,
                direction: webcare_domain::Direction::Inbound,
                author: webcare_domain::inbound::Author {
                    platform_user_id: format!("u{i}"),
                    handle: None,
                    display_name: None,
                },
                text: "bench".into(),
                sent_at: due - Duration::minutes(1),
                attachments: vec![],
                flags: Vec::new(),
            },
            received_at: Utc::now(),
            default_team: None,
        });
        if batch.len() == 256 {
            for r in app.store.ingest_batch(std::mem::take(&mut batch)).await {
                r.unwrap();
            }
        }
    }
    for r in app.store.ingest_batch(batch).await {
        r.unwrap();
    }
    eprintln!(
        "ingested {n} messages with clocks in {:?}",
        started.elapsed()
    );
    assert!(
        Utc::now() < t0 + Duration::seconds(lead),
        "ingest took longer than the lead; lower SLA_CLOCKS"
    );
    let stop = tokio_util::sync::CancellationToken::new();
    let sink = Arc::new(CountingSink::default());
    let handle = SlaWorker::new(app.store.clone(), sink.clone()).spawn(stop.clone());
    tokio::time::sleep(std::time::Duration::from_secs((lead + spread + 5) as u64)).await;
    stop.cancel();
    handle.await.unwrap();
    let mut delays = Vec::new();
    let mut next = Some("/api/v1/sla/alerts?status=breached&limit=200".to_string());
    while let Some(path) = next {
        let page = get_json(&app, &path).await;
        for a in page["items"].as_array().unwrap() {
            delays.push((parse(&a["firedAt"]) - parse(&a["dueAt"])).num_milliseconds());
        }
        next = page["next"].as_str().map(str::to_owned);
    }
    delays.sort_unstable();
    let pct = |p: f64| delays[((delays.len() as f64 - 1.0) * p) as usize];
    eprintln!(
        "{:?}: {} breaches of {n} clocks; delay due -> recorded: p50 {} ms, p99 {} ms, max {} ms",
        backend,
        delays.len(),
        pct(0.5),
        pct(0.99),
        delays.last().unwrap()
    );
    assert_eq!(delays.len(), n);
}

/// A case resolved whose SLA update was lost (the process died between the two transactions):
/// the worker stops its clocks at the instant of resolving before it fires anything, so no
/// breach is raised for a finished case; a case resolved just now is left to its own update.
/// Sets a case `resolved` directly in the database, without its clock effects.
async fn resolve_around_the_store(app: &TestApp, id: uuid::Uuid, at: DateTime<Utc>) {
    use sqlx::Connection;
    let ms = at.timestamp_millis();
    // Written just now (`updated_at`): the repair leaves it to its own update for a grace time.
    let now = Utc::now().timestamp_millis();
    let sql =
        "UPDATE cases SET status = 'resolved', resolved_at = $1, updated_at = $3 WHERE id = $2";
    match app.backend {
        webcare_e2e::Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&app.database_url)
                .await
                .unwrap();
            sqlx::query(sql)
                .bind(ms)
                .bind(id)
                .bind(now)
                .execute(&mut c)
                .await
                .unwrap();
        }
        webcare_e2e::Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&app.database_url)
                .await
                .unwrap();
            sqlx::query(sql)
                .bind(ms)
                .bind(id)
                .bind(now)
                .execute(&mut c)
                .await
                .unwrap();
        }
    }
}

async fn a_lost_sla_update_is_repaired_before_it_breaches(app: TestApp) {
    let cal = create_calendar(&app, &always()).await;
    let account = account_with_calendar(&app, "web", &cal).await;
    let now = secs(Utc::now());
    let sent = now - Duration::minutes(300);
    let case: uuid::Uuid = citizen(&app, &account, "lost1", "u1", sent)
        .await
        .parse()
        .unwrap();
    let other: uuid::Uuid = citizen(&app, &account, "lost2", "u2", sent)
        .await
        .parse()
        .unwrap();
    // Resolved 100 minutes after the message (in time for the 240-minute reaction norm), written
    // without the SLA update. The store writes a case change and its clock effects in one
    // transaction now, so this is written around it, as data from before that was left by a
    // crash between the two.
    let resolved_at = sent + Duration::minutes(100);
    for id in [case, other] {
        resolve_around_the_store(&app, id, resolved_at).await;
    }
    let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(c["sla"]["reaction"]["state"], "running", "the lost update");

    let sink = Arc::new(CountingSink::default());
    let mut worker = SlaWorker::new(app.store.clone(), sink.clone());
    // With the default grace, the just-written cases are left to their own SLA update.
    assert_eq!(worker.repair().await.unwrap(), 0);
    worker.repair_grace = Duration::zero();
    assert_eq!(worker.repair().await.unwrap(), 2);
    assert_eq!(worker.repair().await.unwrap(), 0, "nothing left to repair");
    let c = get_json(&app, &format!("/api/v1/cases/{case}")).await;
    // Resolved without a reply (issue 19): the resolution is met, the reaction is not.
    for (clock, state, why) in [
        ("reaction", "cancelled", "resolved_without_reply"),
        ("resolution", "met", "resolved"),
    ] {
        assert_eq!(c["sla"][clock]["state"], state, "{clock}: {c}");
        assert_eq!(c["sla"][clock]["stopReason"], why, "{clock}: {c}");
        assert_eq!(parse(&c["sla"][clock]["stoppedAt"]), resolved_at, "{clock}");
    }
    assert!(c["dueAt"].is_null(), "{c}");
    let pass = worker.run_once(Utc::now()).await.unwrap();
    assert!(
        pass.fired.is_empty(),
        "no alert for a finished case: {:?}",
        pass.fired
    );
    assert_eq!(sink.0.load(Ordering::SeqCst), 0);
}

/// The live sink marks alerts notified with their events in one transaction: a batch delivered
/// again (its lease ran out while a slow node still held it) adds no second event or webhook
/// delivery.
async fn a_redelivered_alert_is_told_once(app: TestApp) {
    let cal = create_calendar(&app, &always()).await;
    let account = account_with_calendar(&app, "web", &cal).await;
    citizen(
        &app,
        &account,
        "m1",
        "u1",
        secs(Utc::now() - Duration::minutes(300)),
    )
    .await;
    let sink = Arc::new(webcare_workers::sla_worker::LiveAlertSink::new(
        app.store.clone(),
    ));
    let pass = SlaWorker::new(app.store.clone(), sink.clone())
        .run_once(Utc::now())
        .await
        .unwrap();
    assert_eq!(
        pass.fired.len(),
        2,
        "the reaction clock's warning and breach"
    );
    let told = |events: Vec<webcare_store::agent_events::EventRecord>| {
        events
            .iter()
            .filter(|e| e.event.kind.starts_with("sla."))
            .count()
    };
    assert_eq!(told(app.store.events_after(0, 100).await.unwrap()), 2);
    sink.deliver(&pass.fired).await.unwrap();
    assert_eq!(
        told(app.store.events_after(0, 100).await.unwrap()),
        2,
        "delivered again: told once"
    );
}
