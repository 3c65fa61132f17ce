//! The theme on the case page (issue 16): the suggestion is shown next to the theme field, and
//! the agent's choice is stored (and teaches the suggestions).

use super::*;
use crate::web::{desk, Web};

both_backends!(the_case_page_shows_the_suggestion_and_sets_the_theme);

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
