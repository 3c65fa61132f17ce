//! Beheer: the canned answers page over plain HTTP. Team leads and admins add, change and delete
//! answers with the API's checks (an unknown variable is named, in Dutch, beside the text);
//! agents get a 403 page.

use super::{desk, desk_user, Web};
use crate::agent::send;
use serde_json::{json, Value};
use webcare_e2e::{both_backends, TestApp};

both_backends!(a_team_lead_manages_canned_answers_on_the_page);

async fn answers(app: &TestApp) -> Vec<Value> {
    let (s, b) = send(app.get("/api/v1/canned-answers")).await;
    assert_eq!(s, 200, "{b}");
    b["items"].as_array().cloned().unwrap_or_default()
}

fn titled<'a>(items: &'a [Value], title: &str) -> Option<&'a Value> {
    items.iter().find(|c| c["title"] == title)
}

async fn a_team_lead_manages_canned_answers_on_the_page(app: TestApp) {
    desk(&app).await;
    desk_user(
        &app,
        json!({"name": "Tom Leider", "email": "tom@gemeente.test", "role": "teamlead", "teams": ["kcc"]}),
    )
    .await;
    let tom = Web::sign_in(&app, "tom@gemeente.test").await;
    let p = tom.get("/beheer/standaardantwoorden").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p
        .body
        .contains(r#"href="/beheer/standaardantwoorden">Standaardantwoorden</a>"#));
    assert!(
        p.body.contains(r#"<option value="kcc">kcc</option>"#),
        "{}",
        p.body
    );

    let p = tom
        .post(
            "/beheer/standaardantwoorden",
            &[
                ("titel", " Openingstijden "),
                ("team", "kcc"),
                (
                    "tekst",
                    "Hoi {{voornaam}}, wij zijn open: {{openingstijden}}.",
                ),
            ],
        )
        .await;
    assert_eq!(
        (p.status, p.location()),
        (303, "/beheer/standaardantwoorden"),
        "{}",
        p.body
    );
    let all = answers(&app).await;
    let c = titled(&all, "Openingstijden")
        .expect("the new answer")
        .clone();
    assert_eq!(c["team"], "kcc");
    let id = c["id"].as_str().unwrap();

    let p = tom
        .get(&format!("/beheer/standaardantwoorden?bewerk={id}"))
        .await;
    assert!(
        p.body
            .contains(&format!(r#"action="/beheer/standaardantwoorden/{id}""#)),
        "{}",
        p.body
    );
    assert!(
        p.body.contains(r#"<option value="kcc" selected>"#),
        "{}",
        p.body
    );
    let p = tom
        .post(
            &format!("/beheer/standaardantwoorden/{id}"),
            &[
                ("titel", "Openingstijden"),
                ("team", ""),
                (
                    "tekst",
                    "Wij zijn open: {{openingstijden}}. Groet, {{agent}}",
                ),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let all = answers(&app).await;
    let c = titled(&all, "Openingstijden").unwrap();
    assert!(c["team"].is_null(), "{c}");
    assert_eq!(
        c["text"],
        "Wij zijn open: {{openingstijden}}. Groet, {{agent}}"
    );

    // An unknown variable is named, in Dutch, beside the text; nothing changed.
    let p = tom
        .post(
            &format!("/beheer/standaardantwoorden/{id}"),
            &[
                ("titel", "Openingstijden"),
                ("team", ""),
                ("tekst", "Beste {{naam}}"),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(
        p.body.contains(
            r#"id="tekst-error">Onbekende variabele: naam. Gebruik alleen {{voornaam}}, {{openingstijden}}, {{agent}}, {{zaaknummer}}, {{afdeling}}."#
        ),
        "{}",
        p.body
    );
    assert!(p.body.contains("Beste {{naam}}</textarea>"), "{}", p.body);
    let p = tom
        .post(
            "/beheer/standaardantwoorden",
            &[("titel", " "), ("team", ""), ("tekst", "Goedemorgen")],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(
        p.body
            .contains(r#"id="titel-error">Vul dit veld in, met hoogstens 200 tekens."#),
        "{}",
        p.body
    );
    let all = answers(&app).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(
        titled(&all, "Openingstijden").unwrap()["text"],
        "Wij zijn open: {{openingstijden}}. Groet, {{agent}}"
    );

    // Without the CSRF token: refused.
    let p = tom
        .post_raw(
            "/beheer/standaardantwoorden",
            &[("titel", "Zonder token"), ("tekst", "x")],
        )
        .await;
    assert_eq!(p.status, 403);
    let p = tom
        .post_raw(&format!("/beheer/standaardantwoorden/{id}/verwijder"), &[])
        .await;
    assert_eq!(p.status, 403);
    assert_eq!(answers(&app).await.len(), 1);

    // Agents may not read or change them here.
    let anna = Web::sign_in(&app, "anna@gemeente.test").await;
    assert_eq!(anna.get("/beheer/standaardantwoorden").await.status, 403);
    let form = [("titel", "Anna"), ("team", ""), ("tekst", "Hallo")];
    assert_eq!(
        anna.post("/beheer/standaardantwoorden", &form).await.status,
        403
    );
    assert_eq!(
        anna.post(&format!("/beheer/standaardantwoorden/{id}"), &form)
            .await
            .status,
        403
    );
    assert_eq!(
        anna.post(&format!("/beheer/standaardantwoorden/{id}/verwijder"), &[])
            .await
            .status,
        403
    );
    assert_eq!(answers(&app).await.len(), 1);

    // Deleted: gone, and a second delete finds nothing.
    let p = tom
        .post(&format!("/beheer/standaardantwoorden/{id}/verwijder"), &[])
        .await;
    assert_eq!(
        (p.status, p.location()),
        (303, "/beheer/standaardantwoorden"),
        "{}",
        p.body
    );
    assert!(answers(&app).await.is_empty());
    let p = tom
        .post(&format!("/beheer/standaardantwoorden/{id}/verwijder"), &[])
        .await;
    assert_eq!(p.status, 404, "{}", p.body);
}
