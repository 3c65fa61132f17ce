//! Beheer: the channel accounts page over plain HTTP. The admin adds, changes and (after a
//! question) deletes accounts with the API's checks, told in Dutch beside the fields; secrets are
//! write-only (the page says "ingesteld" or "niet ingesteld"); a stale form is a conflict; other
//! roles get a 403 page.

use super::{between, desk, desk_user, Web};
use crate::agent::{post_messenger, send};
use serde_json::{json, Value};
use webcare_e2e::{both_backends, TestApp};

both_backends!(
    the_admin_manages_channel_accounts_on_the_page,
    a_disabled_account_is_not_answered_through_but_still_receives,
    the_admin_sets_an_accounts_survey_and_urls_on_the_page
);

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

/// A Facebook page that can answer (app secret and access token set), made through the API.
async fn facebook(app: &TestApp, page: &str) -> String {
    let body = json!({"kind": "facebook_page", "name": "Gemeente op Facebook", "externalId": page,
        "defaultTeam": "kcc", "credentials": {"appSecret": "fb-geheim", "accessToken": "t-1"}});
    let (s, a) = send(app.post("/api/v1/channel-accounts", &body)).await;
    assert_eq!(s, 201, "{a}");
    a["id"].as_str().unwrap().to_owned()
}

/// The account's edit form as the page fills it in, with `changes` over it.
async fn edit_form(web: &Web, id: &str, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let p = web.get(&format!("/beheer/kanalen?bewerk={id}")).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let mut form: Vec<(String, String)> = Vec::new();
    for key in [
        "naam",
        "extern",
        "team",
        "versie",
        "actief",
        "apibasis",
        "terugroep",
        "pollen",
        "buiten",
        "enquete",
        "enquetesoort",
        "enquetewacht",
        "enqueteperiode",
        "enqueteantwoord",
        "enquetepubliek",
        "enquetetemplate",
    ] {
        let value = between(&p.body, &format!(r#"name="{key}" value=""#), "\"")
            .map(str::to_owned)
            .or_else(|| {
                // A select: its selected option.
                let select = between(&p.body, &format!(r#"name="{key}""#), "</select>")?;
                between(select, r#"<option value=""#, r#"" selected"#)
                    .map(|v| v.rsplit('"').next().unwrap_or(v).to_owned())
            })
            .unwrap_or_default();
        form.push((key.to_owned(), value));
    }
    for (k, v) in changes {
        match form.iter_mut().find(|(f, _)| f == k) {
            Some(f) => f.1 = v.to_string(),
            None => form.push((k.to_string(), v.to_string())),
        }
    }
    form
}

async fn post_form(web: &Web, path: &str, form: &[(String, String)]) -> super::Page {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    web.post(path, &pairs).await
}

async fn a_disabled_account_is_not_answered_through_but_still_receives(app: TestApp) {
    desk(&app).await;
    let (ada, _) = admin_and_lead(&app).await;
    let id = facebook(&app, "pagina-55").await;
    assert_eq!(account(&app, &id).await.1["enabled"], true);

    // Switched off on the page: the list says so, the API too.
    let edit = format!("/beheer/kanalen/{id}");
    let form = edit_form(&ada, &id, &[("actief", "nee")]).await;
    let p = post_form(&ada, &edit, &form).await;
    assert_eq!(
        (p.status, p.location()),
        (303, "/beheer/kanalen"),
        "{}",
        p.body
    );
    assert_eq!(account(&app, &id).await.1["enabled"], false);
    let p = ada.get("/beheer/kanalen").await;
    assert!(p.body.contains(">uitgeschakeld</td>"), "{}", p.body);
    let p = ada.get(&format!("/beheer/kanalen?bewerk={id}")).await;
    assert!(
        p.body
            .contains(r#"<option value="nee" selected>Uitgeschakeld"#),
        "{}",
        p.body
    );

    // The platform's delivery is still acknowledged and becomes a case: nothing is lost.
    post_messenger(
        &app,
        b"fb-geheim",
        "pagina-55",
        "psid-9",
        "m_uit_1",
        "Lantaarnpaal stuk",
    )
    .await;
    let mut case = None;
    for _ in 0..100 {
        let (_, list) = send(app.get("/api/v1/cases?limit=50")).await;
        case = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["channelAccountId"] == id.as_str())
            .map(|c| c["id"].as_str().unwrap().to_owned());
        if case.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let case = case.expect("the delivery to a disabled account became a case");

    // A reply through it is refused, saying why; nothing is queued.
    let replies = format!("/api/v1/cases/{case}/replies");
    let (s, b) = send(app.post(&replies, &json!({"text": "We kijken ernaar."}))).await;
    assert_eq!(s, 409, "{b}");
    assert!(b["detail"].as_str().unwrap().contains("disabled"), "{b}");
    let (_, list) = send(app.get(&replies)).await;
    assert_eq!(list, json!([]), "{list}");

    // Through the API's PATCH it is switched on again, and the reply is taken.
    let (s, a) = send(app.patch(
        &format!("/api/v1/channel-accounts/{id}"),
        &json!({"enabled": true}),
    ))
    .await;
    assert_eq!((s, &a["enabled"]), (200, &json!(true)), "{a}");
    let (s, b) = send(app.post(&replies, &json!({"text": "We kijken ernaar."}))).await;
    assert_eq!(s, 201, "{b}");
    let p = ada.get("/beheer/kanalen").await;
    assert!(!p.body.contains(">uitgeschakeld</td>"), "{}", p.body);
}

async fn the_admin_sets_an_accounts_survey_and_urls_on_the_page(app: TestApp) {
    desk(&app).await;
    let (ada, _) = admin_and_lead(&app).await;
    let id = facebook(&app, "pagina-77").await;
    let edit = format!("/beheer/kanalen/{id}");
    let p = ada.get(&format!("/beheer/kanalen?bewerk={id}")).await;
    for label in [
        r#"<label class="utrecht-form-label" for="enquetesoort">Soort onderzoek</label>"#,
        r#"<option value="nps">Aanbeveling (NPS"#,
        r#"name="enquetewacht" value="60""#,
        r#"name="enqueteperiode" value="30""#,
    ] {
        assert!(p.body.contains(label), "{label}: {}", p.body);
    }

    // The API's refusals, in Dutch beside the fields; nothing changed.
    let before = account(&app, &id).await.1;
    let bad = edit_form(
        &ada,
        &id,
        &[
            ("enquete", "ja"),
            ("enquetewacht", "2000"),
            ("enqueteperiode", "veel"),
            ("enquetetemplate", "enquete_1"),
            ("apibasis", "ftp://graph.example"),
            ("pollen", "30"),
        ],
    )
    .await;
    let p = post_form(&ada, &edit, &bad).await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(
        p.body
            .contains(r#"id="enqueteperiode-error">Vul een heel getal in, of laat het leeg."#),
        "{}",
        p.body
    );
    let bad: Vec<_> = bad
        .into_iter()
        .map(|(k, v)| {
            if k == "enqueteperiode" {
                (k, "14".to_owned())
            } else {
                (k, v)
            }
        })
        .collect();
    let p = post_form(&ada, &edit, &bad).await;
    assert_eq!(p.status, 400, "{}", p.body);
    for (field, text) in [
        ("enquetewacht", "Kies 0 tot 1440 minuten."),
        (
            "enquetetemplate",
            "Alleen WhatsApp-accounts sturen een template; laat dit leeg.",
        ),
        ("apibasis", "Vul een volledig http- of https-adres in."),
        (
            "pollen",
            "Alleen X-accounts worden opgehaald; laat dit leeg.",
        ),
    ] {
        assert!(
            p.body.contains(&format!(r#"id="{field}-error">{text}"#)),
            "{field}: {}",
            p.body
        );
    }
    assert_eq!(account(&app, &id).await.1, before);

    // Put right: the survey, the out-of-hours reply and the URL are stored as the API has them.
    let good = edit_form(
        &ada,
        &id,
        &[
            ("enquete", "ja"),
            ("enquetesoort", "nps"),
            (
                "enquetetekst",
                "Hoe waarschijnlijk is het dat u ons aanbeveelt?",
            ),
            ("enquetewacht", "30"),
            ("enqueteperiode", "14"),
            ("enqueteantwoord", "5"),
            ("enquetepubliek", "ja"),
            ("buiten", "ja"),
            ("apibasis", "https://graph.gemeente.test"),
        ],
    )
    .await;
    let p = post_form(&ada, &edit, &good).await;
    assert_eq!(
        (p.status, p.location()),
        (303, "/beheer/kanalen"),
        "{}",
        p.body
    );
    let a = account(&app, &id).await.1;
    assert_eq!(
        a["survey"],
        json!({"enabled": true, "kind": "nps", "text": "Hoe waarschijnlijk is het dat u ons aanbeveelt?",
            "delayMinutes": 30, "periodDays": 14, "answerDays": 5, "publicThreads": true,
            "whatsappTemplate": null}),
        "{a}"
    );
    assert_eq!(a["outOfHoursReply"], json!({"enabled": true, "text": null}));
    assert_eq!(a["apiBaseUrl"], "https://graph.gemeente.test");
    assert_eq!(a["enabled"], true);
    let p = ada.get("/beheer/kanalen").await;
    assert!(
        p.body
            .contains("Onderzoek: NPS na 30 min, hoogstens 1 per 14 dagen"),
        "{}",
        p.body
    );
    let p = ada.get(&format!("/beheer/kanalen?bewerk={id}")).await;
    assert!(
        p.body.contains(r#"<option value="nps" selected>"#),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains("Hoe waarschijnlijk is het dat u ons aanbeveelt?</textarea>"),
        "{}",
        p.body
    );
}
