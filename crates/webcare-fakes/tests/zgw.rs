//! The fake Open Zaak keeps Open Zaak's rules: JWT-ZGW, the CRS headers, the spec's request
//! schemas, resultaat before eindstatus, and its fault knobs.

use serde_json::{json, Value};
use webcare_fakes::zgw::FakeOpenZaak;

fn jwt(client_id: &str, secret: &str) -> String {
    let claims = json!({
        "iss": client_id, "iat": chrono::Utc::now().timestamp(), "client_id": client_id,
        "user_id": "agent-1", "user_representation": "Agent",
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn post(oz: &FakeOpenZaak, path: &str, body: &Value, token: &str, crs: bool) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}{path}", oz.base))
        .bearer_auth(token)
        .json(body);
    if crs {
        req = req
            .header("Accept-Crs", "EPSG:4326")
            .header("Content-Crs", "EPSG:4326");
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn zaak(oz: &FakeOpenZaak) -> Value {
    json!({
        "identificatie": "WC-1", "bronorganisatie": "002220647",
        "verantwoordelijkeOrganisatie": "002220647", "zaaktype": oz.catalogus.zaaktype,
        "startdatum": "2026-09-01", "omschrijving": "Webcare: stoeptegel",
    })
}

#[tokio::test]
async fn open_zaaks_rules_hold() {
    let oz = FakeOpenZaak::start("webcare", "geheim-geheim-geheim")
        .await
        .unwrap();
    let token = jwt("webcare", "geheim-geheim-geheim");

    // A token signed with another secret, and none at all: 403.
    let (s, b) = post(
        &oz,
        "/zaken/api/v1/zaken",
        &zaak(&oz),
        &jwt("webcare", "anders"),
        true,
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (403, Some("not_authenticated")));
    assert_eq!(oz.violations().len(), 1);

    // No CRS headers: 412.
    let (s, _) = post(&oz, "/zaken/api/v1/zaken", &zaak(&oz), &token, false).await;
    assert_eq!(s, 412);

    // A body the spec refuses: 400 ValidatieFout naming the field, recorded.
    let mut bad = zaak(&oz);
    bad.as_object_mut().unwrap().remove("startdatum");
    let (s, b) = post(&oz, "/zaken/api/v1/zaken", &bad, &token, true).await;
    assert_eq!(s, 400);
    assert_eq!(b["code"], "invalid");
    assert_eq!(b["invalidParams"][0]["name"], "startdatum");
    assert_eq!(oz.violations().len(), 3, "{:?}", oz.violations());

    // A valid zaak: 201 with its absolute url; found by identificatie.
    let (s, z) = post(&oz, "/zaken/api/v1/zaken", &zaak(&oz), &token, true).await;
    assert_eq!(s, 201, "{z}");
    let url = z["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&oz.base));
    let found: Value = reqwest::Client::new()
        .get(format!(
            "{}/zaken?identificatie=WC-1&bronorganisatie=002220647",
            oz.zaken_url()
        ))
        .bearer_auth(&token)
        .header("Accept-Crs", "EPSG:4326")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["count"], 1);
    assert_eq!(found["results"][0]["url"], url.as_str());

    // The eindstatus before a resultaat is refused, as Open Zaak does.
    let status = |st: &str| json!({"zaak": url, "statustype": st, "datumStatusGezet": "2026-09-01T10:00:00Z"});
    let (s, b) = post(
        &oz,
        "/zaken/api/v1/statussen",
        &status(&oz.catalogus.statustype_afgerond),
        &token,
        true,
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(b["invalidParams"][0]["code"], "resultaat-does-not-exist");
    let resultaat = json!({"zaak": url, "resultaattype": oz.catalogus.resultaattype});
    assert_eq!(
        post(&oz, "/zaken/api/v1/resultaten", &resultaat, &token, true)
            .await
            .0,
        201
    );
    assert_eq!(
        post(
            &oz,
            "/zaken/api/v1/statussen",
            &status(&oz.catalogus.statustype_afgerond),
            &token,
            true
        )
        .await
        .0,
        201
    );
    assert!(oz.zaken()[0]["einddatum"].is_string());

    // A rol without its roltoelichting is a violation.
    let rol = json!({"zaak": url, "roltype": oz.catalogus.roltype_afdeling, "betrokkeneType": "organisatorische_eenheid",
        "betrokkeneIdentificatie": {"identificatie": "STB", "naam": "Stadsbeheer", "isGehuisvestIn": ""}});
    assert_eq!(
        post(&oz, "/zaken/api/v1/rollen", &rol, &token, true)
            .await
            .0,
        400
    );

    // Knobs: a 503, then "drop after commit" stores the zaak but answers 500.
    oz.fail_next(1, 503);
    let mut second = zaak(&oz);
    second["identificatie"] = json!("WC-2");
    assert_eq!(
        post(&oz, "/zaken/api/v1/zaken", &second, &token, true)
            .await
            .0,
        503
    );
    oz.drop_after_commit(1);
    assert_eq!(
        post(&oz, "/zaken/api/v1/zaken", &second, &token, true)
            .await
            .0,
        500
    );
    assert_eq!(oz.zaken().len(), 2, "the dropped zaak was stored");
    // A second create with the same identificatie is refused.
    assert_eq!(
        post(&oz, "/zaken/api/v1/zaken", &second, &token, true)
            .await
            .0,
        400
    );
}
