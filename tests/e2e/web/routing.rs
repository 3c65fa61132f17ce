//! Beheer: the routing rules page (issues 13 and 14) over plain HTTP. An admin adds, changes,
//! moves and removes rules with the API's semantics (each change the next version; a page that
//! is out of date gets a conflict and changes nothing); team leads read and try them; agents may
//! not; field errors are shown in Dutch.

use super::{desk, desk_user, Web};
use crate::agent::{citizen_message, send, team};
use serde_json::{json, Value};
use webcare_e2e::{both_backends, TestApp};

both_backends!(
    an_admin_edits_routing_rules_through_the_page,
    only_admins_edit_and_team_leads_read_routing_rules,
);

async fn rules(app: &TestApp) -> Value {
    let (s, set) = send(app.get("/api/v1/routing-rules")).await;
    assert_eq!(s, 200, "{set}");
    set
}

fn names(set: &Value) -> Vec<String> {
    set["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn admin(app: &TestApp) -> Web {
    desk_user(
        app,
        json!({"name": "Ada Beheer", "email": "ada@gemeente.test", "role": "admin"}),
    )
    .await;
    Web::sign_in(app, "ada@gemeente.test").await
}

async fn an_admin_edits_routing_rules_through_the_page(app: TestApp) {
    let d = desk(&app).await;
    team(&app, "groen").await;
    let ada = admin(&app).await;

    let p = ada.get("/beheer/routering").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains(r#"href="/beheer/routering">Beheer</a>"#));
    assert!(p.body.contains("Er zijn nog geen regels"), "{}", p.body);
    assert!(p
        .body
        .contains(r#"<label class="utrecht-form-label" for="naam">"#));

    // Added on the page: a new message is routed by it.
    let p = ada
        .post(
            "/beheer/routering",
            &[
                ("versie", "0"),
                ("naam", "Bomen"),
                ("actief", "1"),
                ("trefwoorden", "boom, *takken"),
                ("team", "groen"),
            ],
        )
        .await;
    assert_eq!(
        (p.status, p.location()),
        (303, "/beheer/routering"),
        "{}",
        p.body
    );
    let set = rules(&app).await;
    assert_eq!(set["version"], 1);
    assert_eq!(
        set["rules"][0]["conditions"]["keywords"],
        json!(["boom", "*takken"])
    );
    let bomen = set["rules"][0]["id"].as_str().unwrap().to_owned();
    let p = ada.get("/beheer/routering").await;
    assert!(p.body.contains("1. Bomen"), "{}", p.body);
    assert!(
        p.body
            .contains("tekst bevat &#39;boom&#39; of &#39;*takken&#39;"),
        "{}",
        p.body
    );
    assert!(p.body.contains("naar team groen"));
    assert!(p.body.contains("Versie 1, geldig sinds"));
    assert!(p.body.contains("door ada@gemeente.test."), "{}", p.body);
    let case = citizen_message(
        &app,
        &d.account,
        "m1",
        ("u1", "Karin"),
        "Er ligt een boom op de weg",
    )
    .await;
    let (_, c) = send(app.get(&format!("/api/v1/cases/{case}"))).await;
    assert_eq!(c["team"], "groen", "{c}");

    // Trying the rules on a sample text stores nothing.
    let p = ada
        .post(
            "/beheer/routering/probeer",
            &[
                ("p_kanaal", "x"),
                ("p_zichtbaarheid", "public"),
                ("p_openingstijden", "within"),
                ("p_tekst", "Omgevallen BOOM"),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body
            .contains("Regel 1 (&#39;Bomen&#39;) past, in versie 1"),
        "{}",
        p.body
    );
    let p = ada
        .post(
            "/beheer/routering/probeer",
            &[("p_kanaal", "x"), ("p_tekst", "Paspoort")],
        )
        .await;
    assert!(p.body.contains("Geen regel past"), "{}", p.body);
    assert_eq!(rules(&app).await["version"], 1);

    // The edit form shows the rule; saving it stores version 2.
    let p = ada.get(&format!("/beheer/routering?bewerk={bomen}")).await;
    assert_eq!(p.status, 200);
    assert!(p
        .body
        .contains(&format!(r#"action="/beheer/routering/{bomen}""#)));
    assert!(p.body.contains(r#"value="boom, *takken""#), "{}", p.body);
    let edit = [
        ("versie", "1"),
        ("naam", "Bomen en takken"),
        ("actief", "1"),
        ("trefwoorden", "boom*, *takken"),
        ("team", "groen"),
        ("prioriteit", "high"),
    ];
    let p = ada.post(&format!("/beheer/routering/{bomen}"), &edit).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let set = rules(&app).await;
    assert_eq!(set["version"], 2);
    assert_eq!(names(&set), ["Bomen en takken"]);
    assert_eq!(set["rules"][0]["actions"]["priority"], "high");

    // A page that showed version 1 is out of date: a conflict, nothing changed.
    let mut stale = edit;
    stale[1].1 = "Oud";
    let p = ada
        .post(&format!("/beheer/routering/{bomen}"), &stale)
        .await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(
        p.body.contains("intussen door iemand anders gewijzigd"),
        "{}",
        p.body
    );
    assert!(
        p.body.contains(r#"value="Oud""#),
        "the form keeps what was typed"
    );
    let p = ada
        .post(
            &format!("/beheer/routering/{bomen}/verwijder"),
            &[("versie", "1")],
        )
        .await;
    assert_eq!(p.status, 409);
    let set = rules(&app).await;
    assert_eq!(
        (set["version"].as_i64(), names(&set)),
        (Some(2), vec!["Bomen en takken".to_owned()])
    );

    // Field errors in Dutch beside the fields; nothing stored.
    let p = ada
        .post(
            "/beheer/routering",
            &[
                ("versie", "2"),
                ("naam", " "),
                ("trefwoorden", "a*b*"),
                ("patroon", "(open"),
                ("team", "bestaat-niet"),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    for m in [
        r#"id="naam-error">Geef de regel een naam van 1 tot 200 tekens."#,
        r#"id="trefwoorden-error">Een trefwoord is een woord"#,
        r#"id="patroon-error">Dit is geen geldig patroon"#,
        r#"id="team-error">Kies een bestaand team."#,
    ] {
        assert!(p.body.contains(m), "{m}: {}", p.body);
    }
    let p = ada
        .post(
            "/beheer/routering",
            &[
                ("versie", "2"),
                ("naam", "Nacht"),
                ("van", "25:99"),
                ("team", "groen"),
            ],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(
        p.body.contains(r#"id="van-error">Vul een tijd in"#),
        "{}",
        p.body
    );
    let p = ada
        .post("/beheer/routering", &[("versie", "2"), ("naam", "Niets")])
        .await;
    assert_eq!(p.status, 400);
    assert!(p.body.contains("Een regel moet iets doen"), "{}", p.body);
    assert_eq!(rules(&app).await["version"], 2);

    // A second rule, moved to the top, then the first removed.
    let p = ada
        .post(
            "/beheer/routering",
            &[
                ("versie", "2"),
                ("naam", "Afval"),
                ("actief", "1"),
                ("trefwoorden", "afval, container"),
                ("team", "kcc"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let set = rules(&app).await;
    let afval = set["rules"][1]["id"].as_str().unwrap().to_owned();
    let p = ada.get("/beheer/routering").await;
    assert!(p
        .body
        .contains(&format!(r#"action="/beheer/routering/{afval}/verplaats""#)));
    let p = ada
        .post(
            &format!("/beheer/routering/{afval}/verplaats"),
            &[("versie", "3"), ("positie", "0")],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(names(&rules(&app).await), ["Afval", "Bomen en takken"]);
    let p = ada
        .post(
            &format!("/beheer/routering/{bomen}/verwijder"),
            &[("versie", "4")],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let set = rules(&app).await;
    assert_eq!(
        (set["version"].as_i64(), names(&set)),
        (Some(5), vec!["Afval".to_owned()])
    );

    // A form without the CSRF token is refused and changes nothing.
    let p = ada
        .post_raw(
            "/beheer/routering",
            &[("versie", "5"), ("naam", "Zonder token"), ("team", "groen")],
        )
        .await;
    assert_eq!(p.status, 403);
    assert!(p.body.contains("CSRF"), "{}", p.body);
    assert_eq!(rules(&app).await["version"], 5);
}

async fn only_admins_edit_and_team_leads_read_routing_rules(app: TestApp) {
    desk(&app).await;
    team(&app, "groen").await;
    let (s, b) = send(app.post(
        "/api/v1/routing-rules",
        &json!({"name": "Bomen", "conditions": {"keywords": ["boom"]}, "actions": {"team": "groen"}}),
    ))
    .await;
    assert_eq!(s, 201, "{b}");
    let id = b["rule"]["id"].as_str().unwrap().to_owned();

    // Agents: no menu entry, a 403 page, and no changes.
    let anna = Web::sign_in(&app, "anna@gemeente.test").await;
    assert!(!anna.get("/inbox").await.body.contains("/beheer/routering"));
    let p = anna.get("/beheer/routering").await;
    assert_eq!(p.status, 403);
    assert!(p.body.contains("Geen toegang"), "{}", p.body);
    let form = [("versie", "1"), ("naam", "Anna"), ("team", "groen")];
    assert_eq!(anna.post("/beheer/routering", &form).await.status, 403);
    assert_eq!(
        anna.post(&format!("/beheer/routering/{id}/verwijder"), &form)
            .await
            .status,
        403
    );
    assert_eq!(
        anna.post("/beheer/routering/probeer", &[("p_tekst", "boom")])
            .await
            .status,
        403
    );

    // Team leads read and try the rules, but change nothing.
    desk_user(
        &app,
        json!({"name": "Tessa Smit", "email": "tessa@gemeente.test", "role": "teamlead", "teams": ["kcc"]}),
    )
    .await;
    let tessa = Web::sign_in(&app, "tessa@gemeente.test").await;
    let p = tessa.get("/beheer/routering").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("1. Bomen"));
    assert!(
        !p.body.contains("regel-form"),
        "no edit form for team leads"
    );
    assert!(!p.body.contains("/verwijder"));
    let p = tessa
        .post("/beheer/routering/probeer", &[("p_tekst", "boom")])
        .await;
    assert!(
        p.body.contains("Regel 1 (&#39;Bomen&#39;) past"),
        "{}",
        p.body
    );
    assert_eq!(tessa.post("/beheer/routering", &form).await.status, 403);
    assert_eq!(
        tessa
            .post(&format!("/beheer/routering/{id}"), &form)
            .await
            .status,
        403
    );
    assert_eq!(rules(&app).await["version"], 1);
}
