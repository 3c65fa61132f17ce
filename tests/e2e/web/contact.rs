//! The citizen's page and the AVG erase on it (issue 15, with its page): every case of the
//! citizen, and for the admin the erase with a reason and a confirmation; an agent reads but may
//! not erase.

use super::*;

both_backends!(the_admin_erases_a_citizen_on_their_page);

async fn the_admin_erases_a_citizen_on_their_page(app: TestApp) {
    let d = desk(&app).await;
    desk_user(
        &app,
        json!({"name": "Beheerder", "email": "beheer@gemeente.test", "role": "admin"}),
    )
    .await;
    let case = citizen_message(
        &app,
        &d.account,
        "fenna-1",
        ("u-fenna", "Fenna Visser"),
        "De bank bij de vijver is kapot",
    )
    .await;
    let contact = case_json(&app, &case).await["contactId"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/burgers/{contact}");

    // The case page leads to the citizen; an agent sees the citizen but no erase.
    let anna = Web::sign_in(&app, "anna@gemeente.test").await;
    let p = anna.get(&format!("/cases/{case}")).await;
    assert!(p.body.contains(&path), "{}", p.body);
    let p = anna.get(&path).await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("Fenna Visser") && p.body.contains("u-fenna"));
    assert!(!p.body.contains("/wissen"), "no erase form for an agent");
    let p = anna
        .post(
            &format!("{path}/wissen"),
            &[("reden", "x"), ("bevestig", "ja")],
        )
        .await;
    assert_eq!(p.status, 403);

    let admin = Web::sign_in(&app, "beheer@gemeente.test").await;
    // Not confirmed, then an open case: refused on the page, nothing erased.
    let p = admin
        .post(&format!("{path}/wissen"), &[("reden", "Verzoek per brief")])
        .await;
    assert_eq!(p.status, 422);
    assert!(p.body.contains("Vink aan"), "{}", p.body);
    let p = admin
        .post(
            &format!("{path}/wissen"),
            &[("reden", "Verzoek per brief"), ("bevestig", "ja")],
        )
        .await;
    assert_eq!(p.status, 422);
    assert!(p.body.contains("open zaak"), "{}", p.body);
    assert!(admin.get(&path).await.body.contains("Fenna Visser"));

    let res = app
        .patch(
            &format!("/api/v1/cases/{case}"),
            &json!({"status": "closed", "noReplyReason": "Op verzoek gewist"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let p = admin
        .post(
            &format!("{path}/wissen"),
            &[("reden", "Verzoek per brief"), ("bevestig", "ja")],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location(), format!("{path}?gewist=1"));
    let p = admin.get(p.location()).await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("zijn gewist"), "{}", p.body);
    assert!(!p.body.contains("Fenna") && !p.body.contains("u-fenna"));
    let c = case_json(&app, &case).await;
    assert_eq!(c["status"], "closed", "the case stays for the reports");
}
