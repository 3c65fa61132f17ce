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
    an_agent_hides_a_public_message_with_a_bsn_from_the_case_page,
    the_admin_changes_the_terms_and_the_audit_term_with_them,
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
    // The page offers both forms; the readable one holds the same message.
    let p = fg.get(&format!("/privacy/burgers/{contact}")).await;
    assert!(p.body.contains("Gegevens uitgevoerd (export)"));
    let form = between(&p.body, r#"id="export-form">"#, "</form>").unwrap();
    for choice in [
        r#"name="formaat" value="json""#,
        r#"name="formaat" value="html""#,
    ] {
        assert!(form.contains(choice), "{choice} in {form}");
    }
    let p = fg
        .post(
            &format!("/privacy/burgers/{contact}/export"),
            &[("formaat", "html")],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(p.body.contains("Ik dien een formele klacht in"));
    assert!(p.body.contains(&format!(
        "Zaak {}",
        export["cases"][0]["id"].as_str().unwrap()
    )));
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

/// A public message on a new `kind` account of the kcc team; its case and message ids.
async fn public_message(app: &TestApp, kind: &str, author: &str, text: &str) -> (String, String) {
    let account = crate::agent::admin_post(
        app,
        "/api/v1/channel-accounts",
        json!({"kind": kind, "name": kind, "externalId": format!("{kind}-1"), "defaultTeam": "kcc"}),
        201,
    )
    .await;
    let m = crate::agent::admin_post(
        app,
        "/api/v1/messages",
        json!({
            "channelAccountId": account["id"], "platformMessageId": format!("{kind}-c1"),
            "visibility": "public", "author": {"platformUserId": author, "displayName": author},
            "text": text, "sentAt": chrono::Utc::now().to_rfc3339(),
        }),
        201,
    )
    .await;
    (
        m["caseId"].as_str().unwrap().to_owned(),
        m["id"].as_str().unwrap().to_owned(),
    )
}

async fn an_agent_hides_a_public_message_with_a_bsn_from_the_case_page(app: TestApp) {
    desk(&app).await;
    let (title, text) = webcare_domain::canned::MOVE_TO_PRIVATE;
    let canned = crate::agent::admin_post(
        &app,
        "/api/v1/canned-answers",
        json!({"title": title, "text": text}),
        201,
    )
    .await;
    let canned = canned["id"].as_str().unwrap();
    let (fb_case, fb_msg) = public_message(
        &app,
        "facebook_page",
        "Fatima",
        "Mijn BSN is 111222333, waar blijft mijn pas?",
    )
    .await;
    let (x_case, _) = public_message(&app, "x", "Joost", "Mijn BSN is 111222333").await;
    let anna = Web::sign_in(&app, "anna@gemeente.test").await;

    // Facebook: the warning offers the canned answer, the message the hide button.
    let p = anna.get(&format!("/cases/{fb_case}")).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let button = between(&p.body, r#"id="move-to-private""#, "</button>").unwrap();
    assert!(
        button.contains(&format!("/cases/{fb_case}/canned?templateId={canned}")),
        "{button}"
    );
    let filled = anna
        .get(&format!("/cases/{fb_case}/canned?templateId={canned}"))
        .await;
    assert!(
        filled.body.contains("Stuur ons een privébericht"),
        "{}",
        filled.body
    );
    assert!(filled.body.contains("Dag Fatima"));
    let form = between(&p.body, r#"action="/cases/"#, "</form>")
        .filter(|f| f.contains("verbergen"))
        .expect("a hide form");
    assert!(form.contains(r#"name="csrf""#), "{form}");
    assert!(form.contains(&format!(r#"name="messageId" value="{fb_msg}""#)));
    assert!(form.contains("Verbergen op het platform"));
    // Without the CSRF token nothing is queued.
    let path = format!("/cases/{fb_case}/verbergen");
    let r = anna.post_raw(&path, &[("messageId", &fb_msg)]).await;
    assert_eq!(r.status, 403);
    let r = anna.post(&path, &[("messageId", "geen-bericht")]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains(r#"id="hide-error""#));
    let r = anna.post(&path, &[("messageId", &fb_msg)]).await;
    assert_eq!(
        (r.status, r.location()),
        (303, format!("/cases/{fb_case}").as_str())
    );
    let p = anna.get(&format!("/cases/{fb_case}")).await;
    let state = |body: &str| {
        between(
            body,
            &format!(r#"id="hide-state-{fb_msg}" role="status">"#),
            "<",
        )
        .map(str::to_owned)
    };
    assert_eq!(
        state(&p.body).as_deref(),
        Some("verbergen op het platform: in de wachtrij")
    );
    assert!(
        !p.body.contains("Verbergen op het platform</button>"),
        "asked once"
    );
    // The outbox's outcome is shown: failed with the platform's reason, or hidden.
    let actions = app
        .store
        .case_platform_actions(fb_case.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(actions.len(), 1);
    app.store
        .platform_action_failed(actions[0].id, "(#10) Permission denied")
        .await
        .unwrap();
    let p = anna.get(&format!("/cases/{fb_case}")).await;
    assert_eq!(
        state(&p.body).as_deref(),
        Some("verbergen op het platform mislukt: (#10) Permission denied")
    );
    app.store.platform_action_done(actions[0].id).await.unwrap();
    let p = anna.get(&format!("/cases/{fb_case}")).await;
    assert_eq!(state(&p.body).as_deref(), Some("verborgen op het platform"));

    // X cannot hide a reply by someone else: not offered; the warning still is.
    let p = anna.get(&format!("/cases/{x_case}")).await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("burgerservicenummer"));
    assert!(p.body.contains(r#"id="move-to-private""#));
    assert!(!p.body.contains("Verbergen op het platform"));
}

async fn the_admin_changes_the_terms_and_the_audit_term_with_them(app: TestApp) {
    desk(&app).await;
    desk_user(
        &app,
        json!({"name": "Beheer", "email": "admin@gemeente.test", "role": "admin"}),
    )
    .await;
    let fg = privacy_officer(&app).await;
    let p = fg.get("/privacy").await;
    let terms = between(&p.body, r#"id="terms">"#, "</table>").unwrap();
    assert!(
        terms.contains("Auditlog (wie zag of wijzigde wat)</td><td class=\"utrecht-table__cell\"></td><td class=\"utrecht-table__cell\">730 dagen (2 jaar)</td>"),
        "{terms}"
    );
    // Every audit row is younger than its term.
    assert_eq!(between(&p.body, r#"id="preview-audit">"#, "<"), Some("0"));
    assert!(
        !p.body.contains(r#"id="terms-form""#),
        "the privacy officer reads them"
    );
    let r = fg.post("/privacy/termijnen", &[("auditDays", "400")]).await;
    assert_eq!(r.status, 403);

    let admin = Web::sign_in(&app, "admin@gemeente.test").await;
    let p = admin.get("/privacy").await;
    let form = between(&p.body, r#"id="terms-form">"#, "</form>").expect("the admin's form");
    for field in ["kinds.melding", "defaultDays", "auditDays"] {
        assert!(
            form.contains(&format!(
                r#"<label class="utrecht-form-label" for="term-{field}">"#
            )),
            "{field}"
        );
    }
    assert!(form.contains(r#"name="auditDays" value="730""#));
    let all = |audit: &'static str| {
        vec![
            ("versie", "0"),
            ("kinds.vraag", "365"),
            ("kinds.melding", "1825"),
            ("kinds.klacht", "1825"),
            ("kinds.compliment", "365"),
            ("kinds.overig", "365"),
            ("defaultDays", "365"),
            ("auditDays", audit),
        ]
    };
    // Bad input: beside the field, in Dutch, and nothing stored.
    for bad in ["twee jaar", "0"] {
        let r = admin.post("/privacy/termijnen", &all(bad)).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(
            between(&r.body, r#"id="term-auditDays-error">"#, "<").is_some(),
            "{bad}: {}",
            r.body
        );
        assert!(r
            .body
            .contains(&format!(r#"name="auditDays" value="{bad}""#)));
    }
    let (_, t) = send(app.get("/api/v1/retention/terms")).await;
    assert_eq!(t["version"], 0, "{t}");
    let r = admin.post("/privacy/termijnen", &all("1")).await;
    assert_eq!(
        (r.status, r.location()),
        (303, "/privacy?klaar=termijnen"),
        "{}",
        r.body
    );
    let (_, t) = send(app.get("/api/v1/retention/terms")).await;
    assert_eq!(t["inForce"]["auditDays"], 1, "{t}");
    assert_eq!(t["inForce"]["kinds"]["melding"], 1825);
    // A stale version is refused, not overwritten.
    let r = admin.post("/privacy/termijnen", &all("30")).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains(r#"id="terms-error""#));
    let p = fg.get("/privacy").await;
    let terms = between(&p.body, r#"id="terms">"#, "</table>").unwrap();
    assert!(terms.contains(">1 dagen</td>"), "{terms}");
}
