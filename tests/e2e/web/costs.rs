//! Beheer: the cost model page over plain HTTP, and the costs in the report page. The admin sees
//! the research's model, changes it (Dutch numbers, a row left empty is left out), is told in
//! Dutch beside the fields what is wrong, gets a 409 on a stale form and a 403 without the CSRF
//! token; a team lead may not change it but reads the costs on "Rapportages".

use super::channels::admin_and_lead;
use super::desk;
use crate::agent::send;
use webcare_e2e::{both_backends, TestApp};

both_backends!(the_admin_keeps_the_cost_model_on_the_page);

const PAGE: &str = "/beheer/kostenmodel";

async fn the_admin_keeps_the_cost_model_on_the_page(app: TestApp) {
    desk(&app).await;
    let (ada, tessa) = admin_and_lead(&app).await;

    let p = ada.get(PAGE).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains("<strong>€ 49.410,00</strong>"),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains(r#"name="naam_0" value="Webcaremedewerkers (schaal 7)""#),
        "{}",
        p.body
    );
    assert!(
        p.body.contains(r#"name="uren_3" value="0,5""#),
        "{}",
        p.body
    );
    assert!(
        p.body.contains(r#"name="salaris_0" value="29250""#),
        "{}",
        p.body
    );
    assert!(p.body.contains("€ 12.285,00"), "{}", p.body);
    assert!(p.body.contains(r#"href="/beheer/kostenmodel""#));

    let form = |version: &'static str, hours: &'static str| {
        vec![
            ("versie", version),
            ("naam_0", "Medewerkers"),
            ("soort_0", "personeel"),
            ("uren_0", hours),
            ("salaris_0", "40.000"),
            ("bedrag_0", ""),
            ("per_0", "jaar"),
            ("naam_1", "Licentie"),
            ("soort_1", "vast"),
            ("uren_1", ""),
            ("salaris_1", ""),
            ("bedrag_1", "100,00"),
            ("per_1", "maand"),
            ("naam_2", ""),
            ("soort_2", "personeel"),
            ("uren_2", ""),
            ("salaris_2", ""),
            ("bedrag_2", ""),
            ("per_2", "jaar"),
            ("vanaf", ""),
        ]
    };

    // Without the CSRF token nothing is stored.
    let p = ada.post_raw(PAGE, &form("0", "36")).await;
    assert_eq!(p.status, 403, "{}", p.body);

    // Refusals beside the fields: a number that cannot be read, no hours; the model is kept.
    let mut bad = form("0", "0");
    bad[4] = ("salaris_0", "veel");
    bad[7] = ("naam_1", "");
    let p = ada.post(PAGE, &bad).await;
    assert_eq!(p.status, 400, "{}", p.body);
    for (field, text) in [
        ("uren_0", "Vul de uren per week in"),
        ("salaris_0", "Vul een getal in"),
        ("naam_1", "Geef de regel een naam"),
    ] {
        assert!(
            p.body.contains(&format!(r#"id="{field}-error">{text}"#)),
            "{field}: {}",
            p.body
        );
    }
    assert!(
        p.body.contains(r#"name="salaris_0" value="veel""#),
        "{}",
        p.body
    );
    let mut past = form("0", "36");
    past[19] = ("vanaf", "2020-01-01");
    let p = ada.post(PAGE, &past).await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p
        .body
        .contains(r#"id="vanaf-error">Kies vandaag of een latere datum."#));
    let (_, m) = send(app.get("/api/v1/cost-model")).await;
    assert_eq!(m["version"], 0, "nothing stored: {m}");

    // A good form: stored as version 1, in force now; the empty row is left out.
    let p = ada.post(PAGE, &form("0", "36")).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let (_, m) = send(app.get("/api/v1/cost-model")).await;
    assert_eq!(m["version"], 1, "{m}");
    assert_eq!(m["yearlyTotal"], 41_200.0, "{m}");
    assert_eq!(m["inForce"]["lines"].as_array().unwrap().len(), 2, "{m}");
    let p = ada.get(PAGE).await;
    assert!(
        p.body.contains("<strong>€ 41.200,00</strong>"),
        "{}",
        p.body
    );
    assert!(p.body.contains("1 (geldt nu)"), "{}", p.body);

    // The same form again is stale: 409, told in Dutch, nothing stored.
    let p = ada.post(PAGE, &form("0", "20")).await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.body.contains("intussen gewijzigd"), "{}", p.body);
    let (_, m) = send(app.get("/api/v1/cost-model")).await;
    assert_eq!(m["version"], 1, "{m}");

    // A team lead may not change the model, but reads the costs among the reports.
    assert_eq!(tessa.get(PAGE).await.status, 403);
    assert_eq!(tessa.post(PAGE, &form("1", "36")).await.status, 403);
    let p = tessa
        .get("/rapportages?rapport=costs&from=2026-01-01&to=2027-01-01")
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body
            .contains(r#"<option value="costs" selected>Kosten</option>"#),
        "{}",
        p.body
    );
    assert!(p.body.contains("Per beantwoorde vraag"), "{}", p.body);
}
