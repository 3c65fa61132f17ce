//! The case page shows the case's zaak (its number, status and calls) and its registrations in
//! Open Klant (registered, pending, or failed with Open Klant's reason), as the API's
//! `GET /cases/{id}/zaak` and `/klantcontacten` answer; without a zaaksysteem or Open Klant
//! linked, neither section is shown.

use super::{case_json, desk, Web, PASSWORD};
use crate::openklant::OkApp;
use serde_json::{json, Value};
use std::time::Duration;
use webcare_e2e::{both_backends, TestApp};

both_backends!(without_links_the_case_page_shows_no_zaak_or_open_klant);
/// Against a desk with a (fake) Open Zaak and Open Klant linked.
mod linked {
    use super::*;
    webcare_e2e::both_backends!(
        app = crate::openklant::OkApp;
        the_case_page_shows_the_zaak_and_the_open_klant_registrations,
    );
}

async fn without_links_the_case_page_shows_no_zaak_or_open_klant(app: TestApp) {
    let d = desk(&app).await;
    let case =
        crate::agent::citizen_message(&app, &d.account, "m-1", ("b-1", "Bas"), "Hallo").await;
    assert_eq!(case_json(&app, &case).await["id"], case.as_str());
    let anna = Web::sign_in(&app, "anna@gemeente.test").await;
    let p = anna.get(&format!("/cases/{case}")).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(!p.body.contains(r#"id="zaak-kop""#), "{}", p.body);
    assert!(!p.body.contains(r#"id="klant-kop""#), "{}", p.body);
}

async fn the_case_page_shows_the_zaak_and_the_open_klant_registrations(app: OkApp) {
    let (s, u) = app
        .json(
            reqwest::Method::POST,
            "/api/v1/users",
            Some(json!({"name": "Ada Beheer", "email": "ada@gemeente.test", "role": "admin"})),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    let hash = webcare_web::password::hash(PASSWORD).unwrap();
    app.store
        .set_password_hash(u["id"].as_str().unwrap().parse().unwrap(), &hash)
        .await
        .unwrap();
    let ada = Web::sign_in_at(&app.base, "ada@gemeente.test").await;

    let acc = app.account().await;
    let case = app.message(&acc, "dm-1", "Vraag over een paspoort").await;
    app.settled(&case, 1).await;
    // Burgerzaken's actor does not exist in Open Klant: the internetaak fails with its reason.
    let dept = app.department("Burgerzaken").await;
    app.forward(&case, &dept).await;
    app.settled(&case, 2).await;
    let page = format!("/cases/{case}");
    let p = ada.get(&page).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body
            .contains(r#"id="zaak-status">status: nog niet aangemaakt"#),
        "{}",
        p.body
    );
    assert!(
        p.body.contains(
            r#"Bericht als klantcontact: <span class="wc-reply-state">geregistreerd</span>"#
        ),
        "{}",
        p.body
    );
    let failed = between_all(&p.body, "Internetaak voor de vakafdeling: ", "</li>");
    assert!(
        failed.contains(r#"<span class="wc-reply-state">mislukt</span>"#),
        "{failed}"
    );
    assert!(
        failed.contains("toegewezenAanActoren.0 (does_not_exist)"),
        "{failed}"
    );

    // The zaak, once made, with its number and status.
    let (s, z) = app
        .json(
            reqwest::Method::POST,
            &format!("/api/v1/cases/{case}/zaak"),
            None,
        )
        .await;
    assert_eq!(s, 202, "{z}");
    let mut zaak = Value::Null;
    for _ in 0..400 {
        let (_, z) = app
            .json(
                reqwest::Method::GET,
                &format!("/api/v1/cases/{case}/zaak"),
                None,
            )
            .await;
        zaak = z;
        let settled = zaak["jobs"]
            .as_array()
            .is_some_and(|j| j.iter().all(|j| j["state"] != "pending"));
        if zaak["identificatie"].is_string() && settled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let number = zaak["identificatie"]
        .as_str()
        .unwrap_or_else(|| panic!("{zaak}"));
    let p = ada.get(&page).await;
    assert!(
        p.body.contains(&format!(
            r#"Zaaknummer <strong id="zaaknummer">{number}</strong>, status: ontvangen"#
        )),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains(r#"Zaak aanmaken: <span class="wc-reply-state">gelukt</span>"#),
        "{}",
        p.body
    );
}

/// The text from `start` to the next `end`.
fn between_all<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    super::between(s, start, end).unwrap_or_else(|| panic!("{start} not in {s}"))
}
