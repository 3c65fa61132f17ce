//! Beheer: the channel accounts page over plain HTTP. The admin adds, changes and (after a
//! question) deletes accounts with the API's checks, told in Dutch beside the fields; secrets are
//! write-only (the page says "ingesteld" or "niet ingesteld"); a stale form is a conflict; other
//! roles get a 403 page.

use super::{between, desk, desk_user, Web};
use crate::agent::send;
use serde_json::{json, Value};
use webcare_e2e::{both_backends, TestApp};

both_backends!(the_admin_manages_channel_accounts_on_the_page);

/// The admin and a team lead of `kcc`, signed in (after `desk`).
pub async fn admin_and_lead(app: &TestApp) -> (Web, Web) {
    desk_user(
        app,
        json!({"name": "Ada Beheer", "email": "ada@gemeente.test", "role": "admin"}),
    )
    .await;
    desk_user(
        app,
        json!({"name": "Tessa Smit", "email": "tessa@gemeente.test", "role": "teamlead", "teams": ["kcc"]}),
    )
    .await;
    (
        Web::sign_in(app, "ada@gemeente.test").await,
        Web::sign_in(app, "tessa@gemeente.test").await,
    )
}

async fn accounts(app: &TestApp) -> Vec<Value> {
    let (s, b) = send(app.get("/api/v1/channel-accounts")).await;
    assert_eq!(s, 200, "{b}");
    b["items"].as_array().cloned().unwrap_or_default()
}

async fn account(app: &TestApp, id: &str) -> (u16, Value) {
    send(app.get(&format!("/api/v1/channel-accounts/{id}"))).await
}

async fn the_admin_manages_channel_accounts_on_the_page(app: TestApp) {
    desk(&app).await;
    let (ada, tessa) = admin_and_lead(&app).await;
    let body = json!({"name": "KCC-tijden", "weekly": {"monday": [["08:30", "17:00"]]}});
    let (s, cal) = send(app.post("/api/v1/calendars", &body)).await;
    assert_eq!(s, 201, "{cal}");
    let cal = cal["id"].as_str().unwrap().to_owned();

    let p = ada.get("/beheer/kanalen").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains(r#"href="/beheer/kanalen">Kanalen</a>"#));
    assert!(p.body.contains(">web-desk</td>"), "{}", p.body);
    assert!(p.body.contains("webhookSecret: ingesteld"), "{}", p.body);
    assert!(p.body.contains(r#"<option value="">Standaard"#));
    assert!(p
        .body
        .contains(&format!(r#"<option value="{cal}">KCC-tijden</option>"#)));

    // The API's refusals in Dutch beside the fields; no secret sent back; nothing made.
    let p = ada
        .post(
            "/beheer/kanalen",
            &[
                ("platform", "facebook_page"),
                ("naam", " "),
                ("extern", ""),
                ("kalender", ""),
                ("team", ""),
                ("webhookSecret", "getypt-geheim-9"),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    for (field, text) in [
        ("naam", "Vul dit veld in, met hoogstens 200 tekens."),
        ("extern", "Vul dit veld in."),
        (
            "webhookSecret",
            "Dit platform gebruikt dit geheim niet; het neemt alleen appSecret, verifyToken, accessToken.",
        ),
    ] {
        assert!(
            p.body.contains(&format!(r#"id="{field}-error">{text}"#)),
            "{field}: {}",
            p.body
        );
    }
    assert!(!p.body.contains("getypt-geheim-9"), "{}", p.body);
    assert_eq!(accounts(&app).await.len(), 1);

    let form = [
        ("platform", "facebook_page"),
        ("naam", "Gemeente op Facebook"),
        ("extern", "1234567890"),
        ("kalender", cal.as_str()),
        ("team", "kcc"),
        ("appSecret", "app-geheim-1"),
        ("accessToken", "token-geheim-2"),
        ("verifyToken", ""),
    ];
    let p = ada.post("/beheer/kanalen", &form).await;
    assert_eq!(
        (p.status, p.location()),
        (303, "/beheer/kanalen"),
        "{}",
        p.body
    );
    let all = accounts(&app).await;
    let fb = all
        .iter()
        .find(|a| a["name"] == "Gemeente op Facebook")
        .unwrap_or_else(|| panic!("made: {all:?}"));
    assert_eq!(fb["kind"], "facebook_page");
    assert_eq!(fb["externalId"], "1234567890");
    assert_eq!(fb["calendarId"], cal.as_str());
    assert_eq!(fb["defaultTeam"], "kcc");
    assert_eq!(fb["credentialKeys"], json!(["accessToken", "appSecret"]));
    let id = fb["id"].as_str().unwrap().to_owned();
    let p = ada.get("/beheer/kanalen").await;
    assert!(
        p.body
            .contains("appSecret: ingesteld\nverifyToken: niet ingesteld\naccessToken: ingesteld"),
        "{}",
        p.body
    );
    assert!(p.body.contains(">onvolledig</td>"), "{}", p.body);
    assert!(!p.body.contains("app-geheim-1") && !p.body.contains("token-geheim-2"));

    // The same platform and external id again: a clash, told beside the field.
    let p = ada.post("/beheer/kanalen", &form).await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.body.contains(
        r#"id="extern-error">Er is al een account van dit platform met dit externe id."#
    ));
    assert_eq!(accounts(&app).await.len(), 2);

    // Edit: the form shows the account (never a secret) and its version.
    let p = ada.get(&format!("/beheer/kanalen?bewerk={id}")).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains(r#"value="Gemeente op Facebook""#));
    assert!(!p.body.contains("app-geheim-1"));
    let version = between(&p.body, r#"name="versie" value=""#, "\"")
        .expect("the version in the form")
        .to_owned();
    let edit = format!("/beheer/kanalen/{id}");
    let change = |name: &'static str| {
        [
            ("naam", name),
            ("extern", "1234567890"),
            ("kalender", ""),
            ("team", "kcc"),
            ("verifyToken", "verifieer-3"),
            ("appSecret", ""),
            ("versie", version.as_str()),
        ]
    };
    let p = ada.post(&edit, &change("Facebook KCC")).await;
    assert_eq!(
        (p.status, p.location()),
        (303, "/beheer/kanalen"),
        "{}",
        p.body
    );
    let (_, a) = account(&app, &id).await;
    assert_eq!(a["name"], "Facebook KCC");
    assert_eq!(a["calendarId"], Value::Null);
    assert_eq!(
        a["credentialKeys"],
        json!(["accessToken", "appSecret", "verifyToken"])
    );
    // An empty password box kept the stored secret.
    let stored = app
        .store
        .get_channel_account(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.credentials.get("appSecret"), Some("app-geheim-1"));
    assert_eq!(stored.credentials.get("verifyToken"), Some("verifieer-3"));
    let p = ada.get("/beheer/kanalen").await;
    assert!(p.body.contains(">gereed</td>"), "{}", p.body);

    // The same form again, now stale: a conflict, nothing changed.
    let p = ada.post(&edit, &change("Oude naam")).await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(
        p.body.contains("intussen door iemand anders gewijzigd"),
        "{}",
        p.body
    );
    assert_eq!(account(&app, &id).await.1["name"], "Facebook KCC");

    // Without the CSRF token, or not the admin: refused, nothing changed.
    let delete = format!("/beheer/kanalen/{id}/verwijder");
    assert_eq!(ada.post_raw(&delete, &[]).await.status, 403);
    assert_eq!(ada.post_raw("/beheer/kanalen", &form).await.status, 403);
    for path in ["/beheer/kanalen", delete.as_str()] {
        let p = tessa.get(path).await;
        assert_eq!(p.status, 403, "{path}: {}", p.body);
    }
    assert_eq!(tessa.post("/beheer/kanalen", &form).await.status, 403);
    assert_eq!(tessa.post(&delete, &[]).await.status, 403);
    let p = tessa.get("/beheer/tokens").await;
    assert!(!p.body.contains("/beheer/kanalen"), "{}", p.body);
    assert_eq!(account(&app, &id).await.0, 200);

    // Deleting asks first; then it is gone, and a second delete finds nothing.
    let p = ada.get(&delete).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("„Facebook KCC” verwijderen?"), "{}", p.body);
    assert!(p.body.contains(&format!(r#"action="{delete}""#)));
    assert_eq!(account(&app, &id).await.0, 200);
    let p = ada.post(&delete, &[]).await;
    assert_eq!(
        (p.status, p.location()),
        (303, "/beheer/kanalen"),
        "{}",
        p.body
    );
    assert_eq!(account(&app, &id).await.0, 404);
    assert_eq!(ada.post(&delete, &[]).await.status, 404);
}
