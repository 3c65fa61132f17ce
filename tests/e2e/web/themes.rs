//! The theme on the case page (issue 16): the suggestion is shown next to the theme field, and
//! the agent's choice is stored (and teaches the suggestions); the picker offers the admin's
//! list, and the resolve form says next to the theme field when the desk requires a theme.

use super::*;
use crate::web::{desk, Web};

both_backends!(
    the_case_page_shows_the_suggestion_and_sets_the_theme,
    the_picker_reads_the_list_and_resolving_may_need_a_theme,
    the_board_shows_an_active_spike
);

async fn the_case_page_shows_the_suggestion_and_sets_the_theme(app: TestApp) {
    let d = desk(&app).await;
    let id = citizen_message(
        &app,
        &d.account,
        "t1",
        ("u1", "Els"),
        "De container in onze straat is niet geleegd, het afval ligt ernaast",
    )
    .await;
    let web = Web::sign_in(&app, "anna@gemeente.test").await;
    let p = web.get(&format!("/cases/{id}")).await;
    assert_eq!(p.status, 200);
    let shown = between(&p.body, r#"id="theme-suggestion">"#, "</p>").unwrap();
    assert!(shown.starts_with("Suggestie: Afval ("), "{shown}");
    assert!(shown.ends_with("%)"), "{shown}");
    assert!(p.body.contains(r#"<option value="">(geen)</option>"#));

    let p = web
        .post(&format!("/cases/{id}/theme"), &[("theme", "Afval")])
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(case_json(&app, &id).await["theme"], "Afval");
    let p = web.get(&format!("/cases/{id}")).await;
    assert!(p.body.contains(r#"<option value="Afval" selected>"#));
    let v = app
        .get("/api/v1/themes/suggestions/accuracy")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(v["examples"], 1, "{v}");

    // An unknown theme changes nothing.
    let p = web
        .post(&format!("/cases/{id}/theme"), &[("theme", "Ruimtevaart")])
        .await;
    assert_eq!(p.status, 400);
    assert_eq!(case_json(&app, &id).await["theme"], "Afval");
}

async fn the_picker_reads_the_list_and_resolving_may_need_a_theme(app: TestApp) {
    let d = desk(&app).await;
    let id = citizen_message(&app, &d.account, "t1", ("u1", "Els"), "Vraag").await;
    // The admin retires Cultuur and requires a theme before resolving.
    let put = |path: &str, body: serde_json::Value| {
        app.client
            .put(app.url(path))
            .bearer_auth(&app.admin_token)
            .json(&body)
    };
    let themes = app
        .get("/api/v1/themes")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let mut items = themes["items"].as_array().unwrap().clone();
    for e in &mut items {
        if e["name"] == "Cultuur" {
            e["retired"] = serde_json::json!(true);
        }
    }
    let r = put(
        "/api/v1/themes",
        serde_json::json!({"version": 0, "items": items}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let r = put(
        "/api/v1/theme-rules",
        serde_json::json!({"version": 1, "requireThemeToResolve": true,
            "spike": {"enabled": true, "factor": 3.0, "minCount": 10, "weeks": 4}}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);

    let web = Web::sign_in(&app, "anna@gemeente.test").await;
    let p = web.get(&format!("/cases/{id}")).await;
    assert!(p.body.contains(r#"<option value="Afval">"#), "{}", p.body);
    assert!(!p.body.contains(r#"<option value="Cultuur""#));

    // Resolving without a theme: refused, the reason next to the theme field.
    let p = web.post(&format!("/cases/{id}/resolve"), &[]).await;
    assert_eq!(p.status, 400, "{}", p.body);
    let shown = between(&p.body, r#"id="theme-required">"#, "</p>").unwrap();
    assert!(shown.starts_with("Kies eerst een thema"), "{shown}");
    assert_ne!(case_json(&app, &id).await["status"], "resolved");

    // With a theme it resolves.
    let p = web
        .post(&format!("/cases/{id}/theme"), &[("theme", "Afval")])
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let p = web.post(&format!("/cases/{id}/resolve"), &[]).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(case_json(&app, &id).await["status"], "resolved");
}

async fn the_board_shows_an_active_spike(app: TestApp) {
    desk(&app).await;
    let (_, tessa) = super::channels::admin_and_lead(&app).await;
    let p = tessa.get("/board").await;
    assert_eq!(p.status, 200);
    assert!(!p.body.contains(r#"id="board-spikes""#));
    let at = chrono::DateTime::parse_from_rfc3339("2026-03-04T10:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let s = webcare_store::classification::SpikeRecord {
        id: uuid::Uuid::now_v7(),
        theme: "Openbare Ruimte & Groen".into(),
        started_at: at,
        ended_at: None,
        last_hour: 12,
        usual: 0.25,
    };
    let e = webcare_store::agent_events::NewEvent {
        kind: "theme.spike".into(),
        case_id: None,
        team: None,
        assignee: None,
        department_id: None,
        payload: serde_json::json!({}),
    };
    app.store.start_spike(&s, e).await.unwrap().unwrap();
    let p = tessa.get("/board").await;
    let shown = between(&p.body, r#"id="board-spikes">"#, "</section>").unwrap();
    assert!(
        shown.contains("Openbare Ruimte &#38; Groen: 12 in het uur voor 04-03-2026 11:00"),
        "{shown}"
    );
}
