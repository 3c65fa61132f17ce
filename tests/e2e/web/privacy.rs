//! The privacy officer's page over plain HTTP: the retention terms and the preview, legal holds
//! on a case and a citizen (audited, CSRF, Dutch messages beside the fields for bad input), a
//! citizen's access log and the export download; other roles get the 403 page.

use super::{between, case_json, client, desk, desk_user, page, try_sign_in, Web, PASSWORD};
use crate::agent::{citizen_message, send};
use serde_json::{json, Value};
use webcare_e2e::{both_backends, TestApp};

both_backends!(
    the_privacy_officer_holds_cases_and_answers_a_citizens_request,
    only_the_privacy_officer_and_the_admin_see_the_privacy_page,
);

/// Signs in a privacy officer: they land on their own page, which carries the CSRF token.
async fn privacy_officer(app: &TestApp) -> Web {
    desk_user(
        app,
        json!({"name": "Fleur Gerritsen", "email": "fg@gemeente.test", "role": "privacy_officer"}),
    )
    .await;
    let p = try_sign_in(&app.base, "fg@gemeente.test", PASSWORD).await;
    assert_eq!((p.status, p.location()), (303, "/privacy"), "{}", p.body);
    let set = p.headers["set-cookie"].to_str().unwrap();
    let mut web = Web {
        base: app.base.clone(),
        client: client(),
        cookie: set.split(';').next().unwrap().to_owned(),
        csrf: String::new(),
    };
    let home = web.get("/").await;
    assert_eq!(home.location(), "/privacy");
    let p = web.get("/privacy").await;
    assert_eq!(p.status, 200, "{}", p.body);
    web.csrf = between(&p.body, r#"<meta name="csrf-token" content=""#, "\"")
        .unwrap()
        .to_owned();
    web
}

async fn audit_actions(app: &TestApp, query: &str) -> Vec<String> {
    let (s, audit) = send(app.get(&format!("/api/v1/audit-events?{query}"))).await;
    assert_eq!(s, 200, "{audit}");
    audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["action"].as_str().map(str::to_owned))
        .collect()
}

async fn the_privacy_officer_holds_cases_and_answers_a_citizens_request(app: TestApp) {
    let d = desk(&app).await;
    let case = citizen_message(
        &app,
        &d.account,
        "m1",
        ("u1", "Karin Bakker"),
        "Ik dien een formele klacht in",
    )
    .await;
    let contact = case_json(&app, &case).await["contactId"]
        .as_str()
        .unwrap()
        .to_owned();
    // An agent reads the citizen: that read is in the access log later.
    let anna = Web::sign_in(&app, "anna@gemeente.test").await;
    assert_eq!(anna.get(&format!("/burgers/{contact}")).await.status, 200);

    let fg = privacy_officer(&app).await;
    let p = fg.get("/privacy").await;
    assert!(
        p.body.contains(r#"href="/privacy">Privacy</a>"#),
        "in the menu"
    );
    // Not the pages the role may not open (the inbox, API tokens).
    assert!(!p.body.contains(r#"href="/inbox""#) && !p.body.contains(r#"href="/beheer/tokens""#));
    // The Selectielijst's defaults (no version stored yet) and the preview.
    assert!(p.body.contains("standaardtermijnen uit de Selectielijst"));
    let terms = between(&p.body, r#"id="terms">"#, "</table>").unwrap();
    assert!(
        terms.contains("<td class=\"utrecht-table__cell\">Melding</td><td class=\"utrecht-table__cell\"></td><td class=\"utrecht-table__cell\">1825 dagen (5 jaar)</td>"),
        "{terms}"
    );
    assert!(
        p.body.contains("werden 0 zaken geanonimiseerd"),
        "nothing is closed, so nothing expires: {}",
        p.body
    );

    // Bad input: told beside the fields, in Dutch, and nothing is held.
    let bad: [(&[(&str, &str)], &str); 3] = [
        (
            &[
                ("soort", "zaak"),
                ("id", "geen-nummer"),
                ("reden", "klacht"),
                ("actie", "plaatsen"),
            ],
            "id-error",
        ),
        (
            &[
                ("soort", "zaak"),
                ("id", &case),
                ("reden", "  "),
                ("actie", "plaatsen"),
            ],
            "reden-error",
        ),
        (
            &[
                ("soort", "burger"),
                ("id", "0190a0a0-0000-7000-8000-000000000001"),
                ("reden", "klacht"),
                ("actie", "plaatsen"),
            ],
            "id-error",
        ),
    ];
    for (form, field) in bad {
        let p = fg.post("/privacy/bewaarplicht", form).await;
        assert_eq!(p.status, 400, "{form:?}: {}", p.body);
        let msg = between(&p.body, &format!(r#"id="{field}">"#), "<").unwrap();
        assert!(!msg.is_empty(), "{form:?}");
        assert!(p.body.contains("Niets gewijzigd"));
    }
    let msg = between(
        &fg.post("/privacy/bewaarplicht", bad[2].0).await.body,
        r#"id="id-error">"#,
        "<",
    )
    .unwrap()
    .to_owned();
    assert_eq!(msg, "Er is geen burger met dit nummer.");
    // Without the CSRF token: refused.
    let p = fg
        .post_raw(
            "/privacy/bewaarplicht",
            &[
                ("soort", "zaak"),
                ("id", &case),
                ("reden", "klacht"),
                ("actie", "plaatsen"),
            ],
        )
        .await;
    assert_eq!(p.status, 403);
    assert!(!audit_actions(&app, &format!("caseId={case}"))
        .await
        .iter()
        .any(|a| a.contains("legal_hold")));

    // Place a hold on the case, then lift it: both audited with the officer's name.
    let p = fg
        .post(
            "/privacy/bewaarplicht",
            &[
                ("soort", "zaak"),
                ("id", &case),
                ("reden", "Formele klacht in behandeling"),
                ("actie", "plaatsen"),
            ],
        )
        .await;
    assert_eq!(
        (p.status, p.location()),
        (303, "/privacy?klaar=geplaatst"),
        "{}",
        p.body
    );
    assert!(fg
        .get(p.location())
        .await
        .body
        .contains("De bewaarplicht is geplaatst"));
    let p = fg
        .post(
            "/privacy/bewaarplicht",
            &[
                ("soort", "zaak"),
                ("id", &case),
                ("reden", ""),
                ("actie", "opheffen"),
            ],
        )
        .await;
    assert_eq!(
        (p.status, p.location()),
        (303, "/privacy?klaar=opgeheven"),
        "{}",
        p.body
    );
    let actions = audit_actions(&app, &format!("caseId={case}")).await;
    for a in ["case.legal_hold_set", "case.legal_hold_released"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    // A hold on the citizen.
    let p = fg
        .post(
            "/privacy/bewaarplicht",
            &[
                ("soort", "burger"),
                ("id", &contact),
                ("reden", "Bezwaarprocedure"),
                ("actie", "plaatsen"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);

    // The citizen's request: find them, see who looked, download everything.
    let p = fg.get("/privacy/inzage?burger=onzin").await;
    assert_eq!(p.status, 400);
    assert!(between(&p.body, r#"id="burger-error">"#, "<").is_some());
    let p = fg.get(&format!("/privacy/inzage?burger={contact}")).await;
    assert_eq!(p.location(), format!("/privacy/burgers/{contact}"));
    let p = fg.get(&format!("/privacy/burgers/{contact}")).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let log = between(&p.body, r#"id="access-log">"#, "</table>").unwrap();
    for line in [
        "anna@gemeente.test",
        "Burger bekeken",
        "Bewaarplicht op burger gezet",
        "Inzageoverzicht bekeken",
    ] {
        assert!(log.contains(line), "{line} in {log}");
    }
    assert!(p
        .body
        .contains(&format!(r#"action="/privacy/burgers/{contact}/export""#)));
    let p = fg
        .post_raw(&format!("/privacy/burgers/{contact}/export"), &[])
        .await;
    assert_eq!(p.status, 403, "the export needs the CSRF token");
    let p = fg
        .post(&format!("/privacy/burgers/{contact}/export"), &[])
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let export: Value = serde_json::from_str(&p.body).unwrap();
    assert_eq!(export["contact"]["id"], contact.as_str());
    assert_eq!(
        export["cases"][0]["messages"][0]["text"],
        "Ik dien een formele klacht in"
    );
    let p = fg.get(&format!("/privacy/burgers/{contact}")).await;
    assert!(p.body.contains("Gegevens uitgevoerd (export)"));
    // An unknown citizen is the 404 page.
    let p = fg
        .get("/privacy/burgers/0190a0a0-0000-7000-8000-000000000001")
        .await;
    assert_eq!(p.status, 404);
}

async fn only_the_privacy_officer_and_the_admin_see_the_privacy_page(app: TestApp) {
    let d = desk(&app).await;
    let case = citizen_message(&app, &d.account, "m1", ("u1", "Karin"), "Vraag").await;
    let contact = case_json(&app, &case).await["contactId"]
        .as_str()
        .unwrap()
        .to_owned();
    let anna = Web::sign_in(&app, "anna@gemeente.test").await;
    let inbox = anna.get("/inbox").await;
    assert!(
        !inbox.body.contains(r#"href="/privacy""#),
        "not in an agent's menu"
    );
    for path in ["/privacy".to_owned(), format!("/privacy/burgers/{contact}")] {
        let p = anna.get(&path).await;
        assert_eq!(p.status, 403, "{path}");
        assert!(p.body.contains("Geen toegang"));
    }
    let p = anna
        .post(
            "/privacy/bewaarplicht",
            &[
                ("soort", "zaak"),
                ("id", &case),
                ("reden", "x"),
                ("actie", "plaatsen"),
            ],
        )
        .await;
    assert_eq!(p.status, 403);
    let p = anna
        .post(&format!("/privacy/burgers/{contact}/export"), &[])
        .await;
    assert_eq!(p.status, 403);
    assert!(!p.body.contains("Karin"));
    // Not signed in: to the sign-in page.
    let anon = page(
        client()
            .get(format!("{}/privacy", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((anon.status, anon.location()), (303, "/login"));
    // The admin sees it too.
    desk_user(
        &app,
        json!({"name": "Ada Admin", "email": "ada@gemeente.test", "role": "admin"}),
    )
    .await;
    let ada = Web::sign_in(&app, "ada@gemeente.test").await;
    let p = ada.get("/privacy").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains(r#"href="/privacy">Privacy</a>"#));
}
