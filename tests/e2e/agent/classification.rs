//! The classification lists and theme rules (issue 16, DESIGN 3 and 10) on both databases: the
//! defaults, an admin's themes with UPL URIs, retiring a theme in use (kept on its cases, refused
//! on others, never deleted), the fixed kind codes, "a theme before resolving" on and off, and
//! spike detection over generated history (one alert per episode, a quiet theme never fires).

use super::reports::message;
use super::*;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;
use webcare_e2e::{expect_problem, TestApp};

webcare_e2e::both_backends!(
    the_lists_are_the_defaults_and_the_admins,
    a_theme_in_use_is_retired_not_deleted,
    a_theme_before_resolving_when_the_desk_requires_it,
    a_spike_alerts_once_per_episode
);

fn put(app: &TestApp, path: &str, body: &Value) -> reqwest::RequestBuilder {
    app.client
        .put(app.url(path))
        .bearer_auth(&app.admin_token)
        .json(body)
}

async fn get(app: &TestApp, path: &str) -> Value {
    let (s, v) = send(app.get(path)).await;
    assert_eq!(s, 200, "{path}: {v}");
    v
}

fn names(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_lists_are_the_defaults_and_the_admins(app: TestApp) {
    let themes = get(&app, "/api/v1/themes").await;
    assert_eq!(themes["version"], 0);
    assert_eq!(names(&themes).len(), 16);
    assert_eq!(names(&themes)[0], "Verkeer & Infrastructuur");
    assert_eq!(
        names(&get(&app, "/api/v1/kinds").await),
        ["vraag", "melding", "klacht", "compliment", "overig"]
    );
    assert_eq!(
        names(&get(&app, "/api/v1/target-groups").await),
        ["burger", "bedrijf", "organisatie"]
    );
    // Every role reads; only the admin writes.
    let agent = app.token(webcare_domain::Role::Agent).await;
    let r = app
        .client
        .get(app.url("/api/v1/themes"))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // An admin's list: a new theme with its UPL URI.
    let body = json!({"version": 0, "items": [
        {"name": "Afval", "uplUri": "http://standaarden.overheid.nl/owms/terms/Afvalinzameling"},
        {"name": "Parkeren"},
    ]});
    let (s, v) = send(put(&app, "/api/v1/themes", &body)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["version"], 1);
    assert_eq!(
        v["items"][0]["uplUri"],
        "http://standaarden.overheid.nl/owms/terms/Afvalinzameling"
    );
    // The same change again names an old version: 409, nothing stored.
    let r = put(&app, "/api/v1/themes", &body).send().await.unwrap();
    expect_problem(r, 409).await;

    // Bad input: 400 with invalidParams, nothing changes.
    let bad = json!({"version": 1, "items": [
        {"name": "Afval", "uplUri": "javascript:alert(1)"}, {"name": "afval"}, {"name": ""}]});
    let p = expect_problem(put(&app, "/api/v1/themes", &bad).send().await.unwrap(), 400).await;
    let fields: Vec<&str> = p["invalidParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["items[0].uplUri", "items[1].name", "items[2].name"]
    );
    // Kinds keep their codes: a label and retiring, no new code.
    let kinds = json!({"version": 1, "items": [
        {"name": "vraag", "label": "Vraag"}, {"name": "melding", "label": "Melding openbare ruimte"},
        {"name": "klacht"}, {"name": "compliment", "retired": true}, {"name": "storing"}]});
    let p = expect_problem(
        put(&app, "/api/v1/kinds", &kinds).send().await.unwrap(),
        400,
    )
    .await;
    assert_eq!(p["invalidParams"][0]["code"], "fixed_codes", "{p}");
    assert_eq!(get(&app, "/api/v1/themes").await["version"], 1);

    // A case takes a theme on the list, not another.
    team(&app, "kcc").await;
    let acc = account_for_team(&app, "web", "kcc").await;
    let id = citizen_message(&app, &acc, "m1", ("u1", "Els"), "Mijn kliko").await;
    let p = expect_problem(
        app.patch(&format!("/api/v1/cases/{id}"), &json!({"theme": "Wonen"}))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(p["invalidParams"][0]["name"], "theme", "{p}");
    assert_eq!(p["invalidParams"][0]["code"], "unknown_value");
    let (s, v) = send(app.patch(
        &format!("/api/v1/cases/{id}"),
        &json!({"theme": "Parkeren", "kind": "melding"}),
    ))
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["theme"], "Parkeren");

    // A routing rule sets only what is on the lists.
    let p = expect_problem(
        app.post(
            "/api/v1/routing-rules",
            &json!({"name": "Wonen", "conditions": {"keywords": ["huur"]},
                    "actions": {"theme": "Wonen"}}),
        )
        .send()
        .await
        .unwrap(),
        400,
    )
    .await;
    assert_eq!(p["invalidParams"][0]["name"], "actions.theme", "{p}");
    let (s, v) = send(app.post(
        "/api/v1/routing-rules",
        &json!({"name": "Parkeren", "conditions": {"keywords": ["parkeer*"]},
                "actions": {"theme": "Parkeren"}}),
    ))
    .await;
    assert_eq!(s, 201, "{v}");
}

async fn a_theme_in_use_is_retired_not_deleted(app: TestApp) {
    team(&app, "kcc").await;
    let acc = account_for_team(&app, "web", "kcc").await;
    let a = citizen_message(&app, &acc, "m1", ("u1", "Els"), "Kliko").await;
    let b = citizen_message(&app, &acc, "m2", ("u2", "Piet"), "Paspoort").await;
    let (s, v) = send(app.patch(&format!("/api/v1/cases/{a}"), &json!({"theme": "Cultuur"}))).await;
    assert_eq!(s, 200, "{v}");

    let mut items: Vec<Value> = get(&app, "/api/v1/themes").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] != "Cultuur")
        .cloned()
        .collect();
    // Removing a theme a case carries: refused.
    let p = expect_problem(
        put(
            &app,
            "/api/v1/themes",
            &json!({"version": 0, "items": items}),
        )
        .send()
        .await
        .unwrap(),
        400,
    )
    .await;
    assert_eq!(p["invalidParams"][0]["code"], "in_use", "{p}");
    // Retiring it: fine; an unused theme may go.
    items.retain(|e| e["name"] != "Jeugdbeleid");
    items.push(json!({"name": "Cultuur", "retired": true}));
    let (s, v) = send(put(
        &app,
        "/api/v1/themes",
        &json!({"version": 0, "items": items}),
    ))
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(!names(&v).contains(&"Jeugdbeleid".to_owned()));

    // The case keeps it (and may be changed otherwise); another case cannot take it.
    let c = get(&app, &format!("/api/v1/cases/{a}")).await;
    assert_eq!(c["theme"], "Cultuur");
    let (s, v) = send(app.patch(
        &format!("/api/v1/cases/{a}"),
        &json!({"theme": "Cultuur", "priority": "high"}),
    ))
    .await;
    assert_eq!(s, 200, "{v}");
    let p = expect_problem(
        app.patch(&format!("/api/v1/cases/{b}"), &json!({"theme": "Cultuur"}))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(p["invalidParams"][0]["code"], "unknown_value", "{p}");
}

async fn a_theme_before_resolving_when_the_desk_requires_it(app: TestApp) {
    team(&app, "kcc").await;
    let acc = account_for_team(&app, "web", "kcc").await;
    let a = citizen_message(&app, &acc, "m1", ("u1", "Els"), "Vraag").await;
    let b = citizen_message(&app, &acc, "m2", ("u2", "Piet"), "Vraag").await;
    let resolve = json!({"status": "resolved"});

    // Off (the default): a case resolves without a theme.
    let rules = get(&app, "/api/v1/theme-rules").await;
    assert_eq!(rules["requireThemeToResolve"], false);
    let (s, v) = send(app.patch(&format!("/api/v1/cases/{a}"), &resolve)).await;
    assert_eq!(s, 200, "{v}");

    // On: refused with the reason on the theme field, nothing changes.
    let mut on = rules.clone();
    on["requireThemeToResolve"] = json!(true);
    let (s, v) = send(put(&app, "/api/v1/theme-rules", &on)).await;
    assert_eq!(s, 200, "{v}");
    let p = expect_problem(
        app.patch(&format!("/api/v1/cases/{b}"), &resolve)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(p["invalidParams"][0]["name"], "theme", "{p}");
    assert_eq!(p["invalidParams"][0]["code"], "theme_required");
    assert_eq!(
        get(&app, &format!("/api/v1/cases/{b}")).await["status"],
        "new"
    );
    // Bulk resolve says so per case.
    let (s, v) = send(app.post(
        "/api/v1/cases/bulk",
        &json!({"caseIds": [b], "action": "resolve"}),
    ))
    .await;
    assert!(s == 200 || s == 207, "{s} {v}");
    assert_eq!(
        get(&app, &format!("/api/v1/cases/{b}")).await["status"],
        "new"
    );
    // With a theme, in the same change: resolved.
    let (s, v) = send(app.patch(
        &format!("/api/v1/cases/{b}"),
        &json!({"status": "resolved", "theme": "Afval"}),
    ))
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "resolved");

    // Bad rule values: 400.
    let mut bad = on.clone();
    bad["version"] = json!(1);
    bad["spike"]["factor"] = json!(0.5);
    let p = expect_problem(
        put(&app, "/api/v1/theme-rules", &bad).send().await.unwrap(),
        400,
    )
    .await;
    assert_eq!(p["invalidParams"][0]["name"], "spike.factor", "{p}");
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// `n` cases with `theme` arriving in the hour before `end`.
async fn arrivals(app: &TestApp, acc: Uuid, theme: &str, n: usize, end: DateTime<Utc>, tag: &str) {
    for i in 0..n {
        let conv = format!("{tag}-{i}");
        let when = end - Duration::minutes(55) + Duration::minutes(i as i64 % 50);
        let id = message(app, acc, &conv, &format!("{conv}-1"), when, false).await;
        let (s, v) =
            send(app.patch(&format!("/api/v1/cases/{id}"), &json!({"theme": theme}))).await;
        assert_eq!(s, 200, "{v}");
    }
}

async fn a_spike_alerts_once_per_episode(app: TestApp) {
    let acc: Uuid = app
        .channel_account("api", "centraal")
        .await
        .parse()
        .unwrap();
    // Wednesday 4 March 2026, 11:00 in Amsterdam. Usually one fallen tree in that hour in one
    // of the four weeks before; now a storm: 12. Afval goes from 0 to 3: quiet, no crisis.
    let now = at("2026-03-04T10:00:00Z");
    let groen = "Openbare Ruimte & Groen";
    arrivals(&app, acc, groen, 1, now - Duration::weeks(2), "w2").await;
    arrivals(&app, acc, groen, 12, now, "storm").await;
    arrivals(&app, acc, "Afval", 3, now, "afval").await;
    // Outside every window: does not count.
    arrivals(&app, acc, groen, 5, now - Duration::days(1), "gisteren").await;

    // Communications subscribes to spikes.
    let (s, hook) = send(app.post(
        "/api/v1/webhooks",
        &json!({"url": "https://communicatie.gemeente.test/crisis", "eventTypes": ["theme.spike"]}),
    ))
    .await;
    assert_eq!(s, 201, "{hook}");
    let hook: Uuid = hook["id"].as_str().unwrap().parse().unwrap();

    let seq = app.store.last_event_seq().await.unwrap();
    let pass = webcare_desk::spikes::check(app.desk(), now).await.unwrap();
    assert_eq!(pass.started.len(), 1, "{pass:?}");
    assert_eq!(pass.started[0].theme, groen);
    assert_eq!(pass.started[0].last_hour, 12);
    assert!((pass.started[0].usual - 0.25).abs() < 1e-9);
    // Still storming ten minutes later: the same episode, no second alert.
    let again = webcare_desk::spikes::check(app.desk(), now + Duration::minutes(10))
        .await
        .unwrap();
    assert_eq!(again, webcare_desk::spikes::Pass::default());

    let events = app.store.events_after(seq, 100).await.unwrap();
    let spikes: Vec<_> = events
        .iter()
        .filter(|e| e.event.kind == "theme.spike")
        .collect();
    assert_eq!(spikes.len(), 1);
    let p = &spikes[0].event.payload;
    assert_eq!(p["theme"], groen);
    assert_eq!(p["lastHour"], 12);
    let text = p["message"].as_str().unwrap();
    assert!(
        text.starts_with("crisis: theme Openbare Ruimte & Groen, 12 in the last hour, usually 0."),
        "{text}"
    );
    assert_eq!(app.store.open_spikes().await.unwrap().len(), 1);
    // One delivery to communications' webhook, of the spike.
    let deliveries = app.store.list_deliveries(hook, None, 10).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].event_seq, spikes[0].seq);

    // Two hours on the hour is quiet: the episode ends; a new storm would alert again.
    let later = now + Duration::hours(2);
    let pass = webcare_desk::spikes::check(app.desk(), later)
        .await
        .unwrap();
    assert_eq!(pass.ended, [groen]);
    assert!(app.store.open_spikes().await.unwrap().is_empty());
    arrivals(&app, acc, groen, 11, later + Duration::hours(1), "storm2").await;
    let pass = webcare_desk::spikes::check(app.desk(), later + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(pass.started.len(), 1, "{pass:?}");

    // Switched off: nothing fires and the open episode ends.
    let mut rules = get(&app, "/api/v1/theme-rules").await;
    rules["spike"]["enabled"] = json!(false);
    let (s, v) = send(put(&app, "/api/v1/theme-rules", &rules)).await;
    assert_eq!(s, 200, "{v}");
    let pass = webcare_desk::spikes::check(app.desk(), later + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(pass.ended, [groen]);
    assert!(pass.started.is_empty());
}
