//! Beheer: the classification lists and theme rules page (`/beheer/themas`) over plain HTTP. The
//! admin sees DESIGN section 3's lists, adds a theme with its UPL URI, is told in Dutch what is
//! wrong (a bad URI, a kind code that does not exist), retires a kind, turns on "a theme before
//! resolving", and gets a 409 on a stale form; a team lead may not open it.

use super::channels::admin_and_lead;
use super::desk;
use crate::agent::send;
use webcare_e2e::{both_backends, TestApp};

both_backends!(
    the_admin_keeps_the_lists_on_the_page,
    a_bad_list_is_refused_beside_its_fields
);

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
    assert!(
        p.body
            .contains(r#"id="themas-upl_0-error">Vul een volledig http- of https-adres in"#),
        "{}",
        p.body
    );
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
    assert!(p
        .body
        .contains("Iemand anders heeft de lijsten intussen gewijzigd."));

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
    assert!(
        p.body
            .contains(r#"id="factor-error">Vul een getal van 1 tot en met 100 in"#),
        "{}",
        p.body
    );
}

/// A refusal lands beside the input it is about (the row on the page, though an empty row
/// before it is not sent to the API), in Dutch, with what was typed kept; nothing changes.
async fn a_bad_list_is_refused_beside_its_fields(app: TestApp) {
    desk(&app).await;
    let (ada, _) = admin_and_lead(&app).await;
    let (_, before) = send(app.get("/api/v1/themes")).await;
    let (_, rules_before) = send(app.get("/api/v1/theme-rules")).await;
    let bad = [
        ("versie", "0"),
        ("lijst", "themas"),
        ("naam_0", "Afval"),
        ("upl_0", "https://standaarden.overheid.nl/owms/terms/Afval"),
        ("naam_1", ""),
        ("naam_2", "Parkeren"),
        ("upl_2", "geen url"),
        ("naam_3", "afval"),
        ("tekst_3", "Afval (dubbel)"),
    ];
    let p = ada.post(PAGE, &bad).await;
    assert_eq!(p.status, 400, "{}", p.body);
    for (input, text) in [
        (
            "themas-upl_2",
            "Vul een volledig http- of https-adres in (hoogstens 500 tekens).",
        ),
        (
            "themas-naam_3",
            "Deze naam staat al in de lijst (hoofdletters tellen niet).",
        ),
    ] {
        assert!(
            p.body.contains(&format!(
                r#"aria-invalid="true" aria-describedby="{input}-error">"#
            )),
            "{input}: {}",
            p.body
        );
        assert!(
            p.body.contains(&format!(
                r#"<p class="utrecht-form-field-error-message" id="{input}-error">{text}</p>"#
            )),
            "{input}: {}",
            p.body
        );
    }
    // Only those two: the good rows are not marked.
    assert_eq!(
        p.body.matches(r#"aria-invalid="true""#).count(),
        2,
        "{}",
        p.body
    );
    assert!(p
        .body
        .contains(r#"id="themas-error"><ul><li>Niet opgeslagen; zie de meldingen bij de velden."#));
    assert!(
        p.body.contains(r#"name="upl_2" value="geen url""#),
        "{}",
        p.body
    );
    assert!(p.body.contains(r#"name="tekst_3" value="Afval (dubbel)""#));
    let (_, after) = send(app.get("/api/v1/themes")).await;
    assert_eq!(after, before);

    // The rules: each number beside its input, as typed.
    let p = ada
        .post(
            PAGE,
            &[
                ("versie", "0"),
                ("lijst", "regels"),
                ("piek", "1"),
                ("factor", "2,5"),
                ("minimum", "0"),
                ("weken", "veel"),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(
        p.body
            .contains(r#"id="minimum-error">Vul een heel getal van 1 tot en met 10000 in.</p>"#),
        "{}",
        p.body
    );
    assert!(p
        .body
        .contains(r#"id="weken-error">Vul een heel getal van 1 tot en met 52 in.</p>"#));
    assert!(!p.body.contains(r#"id="factor-error""#), "{}", p.body);
    assert!(p.body.contains(r#"name="weken" value="veel""#));
    let (_, rules_after) = send(app.get("/api/v1/theme-rules")).await;
    assert_eq!(rules_after, rules_before);
}
