//! Beheer: the teams and departments pages over plain HTTP. The KCC reads them; admins add and
//! change them with the API's checks, told in Dutch beside the field; others get a 403 page.

use super::{desk, desk_user, try_sign_in, Web};
use crate::agent::send;
use serde_json::{json, Value};
use webcare_e2e::{both_backends, TestApp};

both_backends!(
    an_admin_adds_and_changes_teams_on_the_page,
    an_admin_adds_and_changes_departments_on_the_page,
    an_admin_adds_and_changes_users_on_the_page,
);

async fn admin(app: &TestApp) -> Web {
    desk_user(
        app,
        json!({"name": "Ada Beheer", "email": "ada@gemeente.test", "role": "admin"}),
    )
    .await;
    Web::sign_in(app, "ada@gemeente.test").await
}

async fn list(app: &TestApp, path: &str) -> Vec<Value> {
    let (s, b) = send(app.get(path)).await;
    assert_eq!(s, 200, "{b}");
    b["items"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("a list: {b}"))
}

fn named<'a>(items: &'a [Value], name: &str) -> Option<&'a Value> {
    items.iter().find(|t| t["name"] == name)
}

async fn an_admin_adds_and_changes_teams_on_the_page(app: TestApp) {
    desk(&app).await;
    let ada = admin(&app).await;
    let p = ada.get("/beheer/teams").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains(r#"<nav aria-label="Beheer""#));
    assert!(
        p.body
            .contains("<td class=\"utrecht-table__cell wc-lines\">kcc</td>"),
        "{}",
        p.body
    );

    let p = ada
        .post(
            "/beheer/teams",
            &[
                ("naam", " Groen "),
                ("toewijzen", "round_robin"),
                ("max", "12"),
            ],
        )
        .await;
    assert_eq!(
        (p.status, p.location()),
        (303, "/beheer/teams"),
        "{}",
        p.body
    );
    let teams = list(&app, "/api/v1/teams").await;
    let groen = named(&teams, "Groen").expect("the new team").clone();
    assert_eq!(groen["autoAssign"], "round_robin");
    assert_eq!(groen["maxOpenPerAgent"], 12);
    let id = groen["id"].as_str().unwrap();

    let p = ada.get(&format!("/beheer/teams?bewerk={id}")).await;
    assert!(
        p.body.contains(&format!(r#"action="/beheer/teams/{id}""#)),
        "{}",
        p.body
    );
    assert!(p.body.contains(r#"value="12""#));
    let p = ada
        .post(
            &format!("/beheer/teams/{id}"),
            &[
                ("naam", "Groen en water"),
                ("toewijzen", "off"),
                ("max", ""),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let teams = list(&app, "/api/v1/teams").await;
    let t = named(&teams, "Groen en water").expect("renamed");
    assert_eq!(
        (t["autoAssign"].as_str(), t["maxOpenPerAgent"].is_null()),
        (Some("off"), true)
    );

    // Field errors in Dutch; nothing changed.
    let p = ada
        .post(
            &format!("/beheer/teams/{id}"),
            &[("naam", " "), ("max", "0")],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(
        p.body.contains(r#"id="naam-error">Vul dit veld in."#),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains(r#"id="max-error">Kies een aantal van 1 tot 10.000"#),
        "{}",
        p.body
    );
    let p = ada
        .post("/beheer/teams", &[("naam", "Verkeer"), ("max", "veel")])
        .await;
    assert_eq!(p.status, 400);
    assert!(
        p.body.contains(r#"id="max-error">Vul een aantal in"#),
        "{}",
        p.body
    );
    assert!(named(&list(&app, "/api/v1/teams").await, "Verkeer").is_none());
    assert!(named(&list(&app, "/api/v1/teams").await, "Groen en water").is_some());

    // Without the CSRF token: refused.
    let p = ada
        .post_raw("/beheer/teams", &[("naam", "Zonder token")])
        .await;
    assert_eq!(p.status, 403);
    assert!(named(&list(&app, "/api/v1/teams").await, "Zonder token").is_none());

    // Agents read the teams but may not change them; department users may not read them.
    let anna = Web::sign_in(&app, "anna@gemeente.test").await;
    let p = anna.get("/beheer/teams").await;
    assert_eq!(p.status, 200);
    assert!(!p.body.contains("beheer-form"));
    assert_eq!(
        anna.post("/beheer/teams", &[("naam", "Anna's team")])
            .await
            .status,
        403
    );
    assert_eq!(
        anna.post(&format!("/beheer/teams/{id}"), &[("naam", "x")])
            .await
            .status,
        403
    );
    let piet = Web::sign_in(&app, "piet@gemeente.test").await;
    assert_eq!(piet.get("/beheer/teams").await.status, 403);
    assert_eq!(piet.get("/beheer/afdelingen").await.status, 403);
}

async fn an_admin_adds_and_changes_departments_on_the_page(app: TestApp) {
    desk(&app).await;
    let ada = admin(&app).await;
    let p = ada
        .post(
            "/beheer/afdelingen",
            &[
                ("naam", "Belastingen"),
                ("minuten", "960"),
                (
                    "contactpersonen",
                    "Kees Bakker; kees@gemeente.test; 010-1234567\nSara",
                ),
            ],
        )
        .await;
    assert_eq!(
        (p.status, p.location()),
        (303, "/beheer/afdelingen"),
        "{}",
        p.body
    );
    let list1 = list(&app, "/api/v1/departments").await;
    let d = named(&list1, "Belastingen")
        .expect("the new department")
        .clone();
    assert_eq!(d["answerMinutes"], 960);
    assert_eq!(
        d["contactPersons"],
        json!([{"name": "Kees Bakker", "email": "kees@gemeente.test", "phone": "010-1234567"}, {"name": "Sara"}])
    );
    let id = d["id"].as_str().unwrap();
    let p = ada.get("/beheer/afdelingen").await;
    assert!(
        p.body
            .contains("Kees Bakker; kees@gemeente.test; 010-1234567"),
        "{}",
        p.body
    );

    let p = ada.get(&format!("/beheer/afdelingen?bewerk={id}")).await;
    assert!(p.body.contains(r#"value="960""#), "{}", p.body);
    let p = ada
        .post(
            &format!("/beheer/afdelingen/{id}"),
            &[
                ("naam", "Belastingen"),
                ("minuten", "480"),
                ("contactpersonen", "Sara; ; 020-7654321"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let list2 = list(&app, "/api/v1/departments").await;
    let d = named(&list2, "Belastingen").unwrap();
    assert_eq!(d["answerMinutes"], 480);
    assert_eq!(
        d["contactPersons"],
        json!([{"name": "Sara", "phone": "020-7654321"}])
    );

    let p = ada
        .post(
            &format!("/beheer/afdelingen/{id}"),
            &[("naam", "Belastingen"), ("minuten", "0")],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(
        p.body
            .contains(r#"id="minuten-error">Kies een antwoordtijd"#),
        "{}",
        p.body
    );
    let p = ada
        .post(
            "/beheer/afdelingen",
            &[("naam", ""), ("minuten", "een dag")],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(
        p.body.contains(r#"id="minuten-error">Vul de antwoordtijd"#),
        "{}",
        p.body
    );
    assert_eq!(
        named(&list(&app, "/api/v1/departments").await, "Belastingen").unwrap()["answerMinutes"],
        480
    );

    let anna = Web::sign_in(&app, "anna@gemeente.test").await;
    assert_eq!(anna.get("/beheer/afdelingen").await.status, 200);
    let form = [("naam", "Anna"), ("minuten", "60")];
    assert_eq!(anna.post("/beheer/afdelingen", &form).await.status, 403);
    assert_eq!(
        anna.post(&format!("/beheer/afdelingen/{id}"), &form)
            .await
            .status,
        403
    );
}

async fn an_admin_adds_and_changes_users_on_the_page(app: TestApp) {
    let d = desk(&app).await;
    crate::agent::team(&app, "groen").await;
    let ada = admin(&app).await;
    let p = ada.get("/beheer/gebruikers").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p
        .body
        .contains(r#"href="/beheer/gebruikers">Gebruikers</a>"#));
    assert!(p.body.contains("Openbare ruimte"), "{}", p.body);
    assert!(p
        .body
        .contains(r#"<label class="utrecht-form-label" for="wachtwoord">"#));

    let p = ada
        .post(
            "/beheer/gebruikers",
            &[
                ("naam", "Kim Groen"),
                ("email", " Kim@Gemeente.test "),
                ("rol", "agent"),
                ("teams", "kcc"),
                ("teams", "groen"),
                ("afdeling", ""),
                ("actief", "ja"),
                ("wachtwoord", "een lang genoeg wachtwoord"),
            ],
        )
        .await;
    assert_eq!(
        (p.status, p.location()),
        (303, "/beheer/gebruikers"),
        "{}",
        p.body
    );
    let users = list(&app, "/api/v1/users").await;
    let kim = named(&users, "Kim Groen").expect("the new user").clone();
    assert_eq!(
        (&kim["email"], &kim["role"], &kim["teams"], &kim["active"]),
        (
            &json!("kim@gemeente.test"),
            &json!("agent"),
            &json!(["kcc", "groen"]),
            &json!(true)
        )
    );
    let id = kim["id"].as_str().unwrap();
    let signed = try_sign_in(&app.base, "kim@gemeente.test", "een lang genoeg wachtwoord").await;
    assert_eq!(signed.status, 303, "{}", signed.body);

    let p = ada.get(&format!("/beheer/gebruikers?bewerk={id}")).await;
    assert!(
        p.body
            .contains(&format!(r#"action="/beheer/gebruikers/{id}""#)),
        "{}",
        p.body
    );
    assert!(
        p.body.contains(r#"<option value="groen" selected>"#),
        "{}",
        p.body
    );
    assert!(!p.body.contains("een lang genoeg wachtwoord"));

    // A department user, then deactivated; the password stays.
    let dept = d.department.clone();
    let p = ada
        .post(
            &format!("/beheer/gebruikers/{id}"),
            &[
                ("naam", "Kim Groen"),
                ("email", "kim@gemeente.test"),
                ("rol", "department"),
                ("afdeling", dept.as_str()),
                ("actief", "nee"),
                ("wachtwoord", ""),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let (s, u) = send(app.get(&format!("/api/v1/users/{id}"))).await;
    assert_eq!(s, 200);
    assert_eq!(
        (&u["role"], &u["teams"], &u["departmentId"], &u["active"]),
        (
            &json!("department"),
            &json!([]),
            &json!(dept),
            &json!(false)
        )
    );

    // Field errors in Dutch; nothing changed.
    let p = ada
        .post(
            &format!("/beheer/gebruikers/{id}"),
            &[
                ("naam", "Kim Groen"),
                ("email", "geen adres"),
                ("rol", "department"),
                ("teams", "bestaat-niet"),
                ("afdeling", ""),
                ("actief", "ja"),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    for text in [
        r#"id="email-error">Vul een e-mailadres in."#,
        r#"id="afdeling-error">Kies de vakafdeling"#,
    ] {
        assert!(p.body.contains(text), "{text}: {}", p.body);
    }
    let p = ada
        .post(
            &format!("/beheer/gebruikers/{id}"),
            &[
                ("naam", "Kim Groen"),
                ("email", "kim@gemeente.test"),
                ("rol", "agent"),
                ("teams", "bestaat-niet"),
                ("afdeling", dept.as_str()),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    for text in [
        r#"id="teams-error">Onbekend team: bestaat-niet."#,
        r#"id="afdeling-error">Alleen gebruikers met de rol Vakafdeling"#,
    ] {
        assert!(p.body.contains(text), "{text}: {}", p.body);
    }
    let p = ada
        .post(
            &format!("/beheer/gebruikers/{id}"),
            &[
                ("naam", "Kim Groen"),
                ("email", "kim@gemeente.test"),
                ("rol", "agent"),
                ("wachtwoord", "te kort"),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(
        p.body
            .contains(r#"id="wachtwoord-error">Het wachtwoord moet minstens 12 tekens hebben."#),
        "{}",
        p.body
    );
    assert!(!p.body.contains("te kort\""), "{}", p.body);
    let p = ada
        .post(
            "/beheer/gebruikers",
            &[
                ("naam", "Anna twee"),
                ("email", "anna@gemeente.test"),
                ("rol", "agent"),
            ],
        )
        .await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(
        p.body
            .contains(r#"id="email-error">Er is al een gebruiker met dit e-mailadres."#),
        "{}",
        p.body
    );
    let (_, u) = send(app.get(&format!("/api/v1/users/{id}"))).await;
    assert_eq!(
        (&u["role"], &u["active"]),
        (&json!("department"), &json!(false))
    );
    assert!(named(&list(&app, "/api/v1/users").await, "Anna twee").is_none());

    // Without the CSRF token: refused.
    let p = ada
        .post_raw(
            "/beheer/gebruikers",
            &[
                ("naam", "Zonder token"),
                ("email", "z@gemeente.test"),
                ("rol", "agent"),
            ],
        )
        .await;
    assert_eq!(p.status, 403);
    assert!(named(&list(&app, "/api/v1/users").await, "Zonder token").is_none());

    // Agents neither read nor change users (as the API's /users).
    let anna = Web::sign_in(&app, "anna@gemeente.test").await;
    assert_eq!(anna.get("/beheer/gebruikers").await.status, 403);
    let form = [
        ("naam", "Anna"),
        ("email", "a2@gemeente.test"),
        ("rol", "admin"),
    ];
    assert_eq!(anna.post("/beheer/gebruikers", &form).await.status, 403);
    assert_eq!(
        anna.post(&format!("/beheer/gebruikers/{id}"), &form)
            .await
            .status,
        403
    );
}
