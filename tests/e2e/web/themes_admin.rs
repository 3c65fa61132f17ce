//! Beheer: the classification lists and theme rules page (`/beheer/themas`) over plain HTTP. The
//! admin sees DESIGN section 3's lists, adds a theme with its UPL URI, is told in Dutch what is
//! wrong (a bad URI, a kind code that does not exist), retires a kind, turns on "a theme before
//! resolving", and gets a 409 on a stale form; a team lead may not open it.

use super::channels::admin_and_lead;
use super::desk;
use crate::agent::send;
use webcare_e2e::{both_backends, TestApp};

both_backends!(the_admin_keeps_the_lists_on_the_page);

const PAGE: &str = "/beheer/themas";

async fn the_admin_keeps_the_lists_on_the_page(app: TestApp) {
    desk(&app).await;
    let (ada, tessa) = admin_and_lead(&app).await;
    let p = ada.get(PAGE).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body
            .contains(r#"name="naam_0" value="Verkeer &#38; Infrastructuur""#),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains(r#"<input type="hidden" name="naam_4" value="overig">"#),
        "{}",
        p.body
    );
    assert!(p.body.contains(r#"href="/beheer/themas""#));
    assert_eq!(tessa.get(PAGE).await.status, 403);

    // A theme with a bad UPL URI: refused, in Dutch words around the API's reason.
    let themes = |version: &'static str, upl: &'static str| {
        vec![
            ("versie", version),
            ("lijst", "themas"),
            ("naam_0", "Afval"),
            ("upl_0", upl),
            ("naam_1", "Parkeren"),
            ("naam_2", ""),
        ]
    };
    let p = ada.post(PAGE, &themes("0", "geen url")).await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains(r#"id="themas-error""#), "{}", p.body);
    assert!(p.body.contains("items[0].uplUri"), "{}", p.body);
    let p = ada
        .post(
            PAGE,
            &themes("0", "https://standaarden.overheid.nl/owms/terms/Afval"),
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let (_, v) = send(app.get("/api/v1/themes")).await;
    assert_eq!(v["version"], 1);
    assert_eq!(v["items"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(
        v["items"][0]["uplUri"],
        "https://standaarden.overheid.nl/owms/terms/Afval"
    );
    // The same form again is stale.
    let p = ada.post(PAGE, &themes("0", "")).await;
    assert_eq!(p.status, 409, "{}", p.body);

    // Kinds: retire "compliment", rename "melding"; a code of its own is refused.
    let mut kinds = vec![("versie", "1"), ("lijst", "soorten")];
    let codes = ["vraag", "melding", "klacht", "compliment", "overig"];
    let keys: Vec<String> = (0..5).map(|i| format!("naam_{i}")).collect();
    for (k, c) in keys.iter().zip(codes) {
        kinds.push((k.as_str(), c));
    }
    kinds.push(("tekst_1", "Melding openbare ruimte"));
    kinds.push(("uit_3", "1"));
    let p = ada.post(PAGE, &kinds).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let (_, v) = send(app.get("/api/v1/kinds")).await;
    assert_eq!(v["items"][1]["label"], "Melding openbare ruimte", "{v}");
    assert_eq!(v["items"][3]["retired"], true);
    let mut bad = kinds.clone();
    bad[0] = ("versie", "2");
    bad[2] = ("naam_0", "storing");
    let p = ada.post(PAGE, &bad).await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains(r#"id="soorten-error""#), "{}", p.body);

    // The rules.
    let p = ada
        .post(
            PAGE,
            &[
                ("versie", "2"),
                ("lijst", "regels"),
                ("verplicht", "1"),
                ("piek", "1"),
                ("factor", "2,5"),
                ("minimum", "8"),
                ("weken", "6"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let (_, v) = send(app.get("/api/v1/theme-rules")).await;
    assert_eq!(v["requireThemeToResolve"], true, "{v}");
    assert_eq!(v["spike"]["factor"], 2.5);
    assert_eq!(v["spike"]["minCount"], 8);
    assert_eq!(v["spike"]["weeks"], 6);
    let p = ada
        .post(
            PAGE,
            &[("versie", "3"), ("lijst", "regels"), ("factor", "veel")],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains(r#"id="regels-error""#), "{}", p.body);
}
