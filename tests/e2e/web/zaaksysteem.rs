//! Beheer: the zaaksysteem page over plain HTTP. The admin sets the ZGW settings with the API's
//! checks, told in Dutch beside the fields (nothing stored); the secret and the callback's auth
//! are write-only (a box left empty keeps them); the theme -> zaaktype map is rows; the
//! abonnement is registered at a fake Open Notificaties with a button; Open Klant is shown as
//! not configured; other roles get a 403 page and no menu entry.

use super::channels::admin_and_lead;
use super::{between, desk, Web};
use crate::agent::send;
use serde_json::{json, Value};
use webcare_e2e::{both_backends, TestApp};
use webcare_fakes::zgw::notificaties::FakeOpenNotificaties;

both_backends!(
    the_admin_links_the_zaaksysteem_on_the_page,
    a_stale_zaaksysteem_form_is_refused
);

const SECRET: &str = "een-zgw-geheim-van-minstens-32-tekens!";
const OZ: &str = "https://openzaak.gemeente.test";

async fn settings(app: &TestApp) -> Value {
    let (s, v) = send(app.get("/api/v1/zgw/settings")).await;
    assert_eq!(s, 200, "{v}");
    v
}

fn form<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("zakenUrl", "https://openzaak.gemeente.test/zaken/api/v1"),
        (
            "catalogiUrl",
            "https://openzaak.gemeente.test/catalogi/api/v1",
        ),
        ("clientId", "webcare"),
        ("secret", ""),
        ("rsin", "002220647"),
        ("vertrouwelijkheid", "intern"),
        ("ontvangen", ""),
        ("inBehandeling", ""),
        ("afgerond", ""),
        (
            "resultaattype",
            "https://openzaak.gemeente.test/catalogi/api/v1/resultaattypen/1",
        ),
        (
            "roltypeAfdeling",
            "https://openzaak.gemeente.test/catalogi/api/v1/roltypen/1",
        ),
        ("notificatiesUrl", ""),
        ("callbackAuth", ""),
        ("publicUrl", ""),
        ("thema_0", "default"),
        (
            "zaaktype_0",
            "https://openzaak.gemeente.test/catalogi/api/v1/zaaktypen/1",
        ),
        ("thema_1", "afval"),
        (
            "zaaktype_1",
            "https://openzaak.gemeente.test/catalogi/api/v1/zaaktypen/2",
        ),
        ("thema_2", ""),
        ("zaaktype_2", ""),
    ];
    for (k, v) in extra {
        match f.iter_mut().find(|(n, _)| n == k) {
            Some(p) => p.1 = v,
            None => f.push((k, v)),
        }
    }
    f
}

async fn the_admin_links_the_zaaksysteem_on_the_page(app: TestApp) {
    desk(&app).await;
    let (ada, tessa): (Web, Web) = admin_and_lead(&app).await;
    let p = ada.get("/beheer/zaaksysteem").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p
        .body
        .contains(r#"href="/beheer/zaaksysteem">Zaaksysteem</a>"#));
    assert!(
        p.body.contains("Nog geen zaaksysteem gekoppeld"),
        "{}",
        p.body
    );
    assert!(p.body.contains(r#"<label class="utrecht-form-label" for="secret">Secret (JWT-ZGW) (niet ingesteld)</label>"#), "{}", p.body);
    assert!(
        p.body.contains(r#"id="openklant-status">Niet gekoppeld"#),
        "{}",
        p.body
    );
    assert!(p
        .body
        .contains(r#"id="abonnement-status">Niet geregistreerd"#));

    // The API's refusals in Dutch beside the fields; nothing stored, the typed secret not sent back.
    let bad = form(&[
        ("rsin", "123456789"),
        ("zakenUrl", "openzaak"),
        ("thema_0", "wegen"),
        ("ontvangen", "geen-url"),
        ("publicUrl", "ftp://desk"),
        ("soort_klacht", "klachtzaak"),
    ]);
    let p = ada.post("/beheer/zaaksysteem", &bad).await;
    assert_eq!(p.status, 400, "{}", p.body);
    for (field, text) in [
        ("secret", "Vul een secret in: er is er nog geen ingesteld."),
        (
            "rsin",
            "Vul een RSIN in: negen cijfers die de elfproef doorstaan.",
        ),
        ("zakenUrl", "Vul een volledig http- of https-adres in."),
        (
            "zaaktypen",
            "Geef een zaaktype voor het thema „default” (elk ander thema).",
        ),
        ("inBehandeling", "Vul een volledig http- of https-adres in."),
        ("publicUrl", "Vul een volledig http- of https-adres in."),
        ("soort_klacht", "Vul een volledig http- of https-adres in."),
    ] {
        assert!(
            p.body.contains(&format!(r#"id="{field}-error">{text}"#)),
            "{field}: {}",
            p.body
        );
    }
    // What was typed stays on the form.
    assert!(
        p.body.contains(r#"name="thema_0" value="wegen""#),
        "{}",
        p.body
    );
    assert_eq!(settings(&app).await["source"], "none");

    // Stored: a version in force at once, the secret never shown.
    let on = FakeOpenNotificaties::start("webcare", SECRET)
        .await
        .unwrap();
    let notificaties = on.api_url();
    let good = form(&[
        ("secret", SECRET),
        ("notificatiesUrl", notificaties.as_str()),
        ("callbackAuth", "Bearer terugbel-geheim"),
        ("publicUrl", app.base.as_str()),
        (
            "soort_klacht",
            "https://openzaak.gemeente.test/catalogi/api/v1/zaaktypen/9",
        ),
    ]);
    let p = ada.post("/beheer/zaaksysteem", &good).await;
    assert_eq!(
        (p.status, p.location()),
        (303, "/beheer/zaaksysteem"),
        "{}",
        p.body
    );
    let v = settings(&app).await;
    assert_eq!(v["source"], "database", "{v}");
    assert_eq!(v["secretSet"], true);
    assert_eq!(v["vertrouwelijkheid"], "intern");
    assert_eq!(v["statustypen"], Value::Null);
    assert_eq!(
        v["zaaktypen"],
        json!({"afval": format!("{OZ}/catalogi/api/v1/zaaktypen/2"), "default": format!("{OZ}/catalogi/api/v1/zaaktypen/1")})
    );
    // A kind's zaaktype (a klacht is a klacht zaak whatever its theme); the other kinds follow
    // their theme and are not listed.
    assert_eq!(
        v["zaaktypenPerKind"],
        json!({"klacht": format!("{OZ}/catalogi/api/v1/zaaktypen/9")})
    );
    let p = ada.get("/beheer/zaaksysteem").await;
    assert!(p.body.contains("(versie 1, "), "{}", p.body);
    assert!(
        p.body.contains(&format!(
            r#"name="soort_klacht" value="{OZ}/catalogi/api/v1/zaaktypen/9""#
        )),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains(r#"for="secret">Secret (JWT-ZGW) (ingesteld; leeg laten houdt het)"#),
        "{}",
        p.body
    );
    assert!(
        p.body.contains(r#"name="thema_1" value="default""#),
        "{}",
        p.body
    );
    assert!(p.body.contains(r#"<option value="intern" selected>"#));
    assert!(
        !p.body.contains(SECRET) && !p.body.contains("terugbel-geheim"),
        "{}",
        p.body
    );

    // Saved again with the boxes empty: the secret and the callback auth stay; a row emptied goes.
    let again = form(&[
        ("thema_1", ""),
        ("zaaktype_1", ""),
        ("notificatiesUrl", notificaties.as_str()),
        ("publicUrl", app.base.as_str()),
    ]);
    let p = ada.post("/beheer/zaaksysteem", &again).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let v = settings(&app).await;
    assert_eq!(v["version"], 2);
    assert_eq!(
        (&v["secretSet"], &v["callbackAuthSet"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(v["zaaktypen"].as_object().unwrap().len(), 1, "{v}");

    // The abonnement: registered with the button, shown as registered.
    let p = ada.post("/beheer/zaaksysteem/abonnement", &[]).await;
    assert_eq!(
        (p.status, p.location()),
        (303, "/beheer/zaaksysteem"),
        "{}",
        p.body
    );
    let subs = on.abonnementen();
    assert_eq!(subs.len(), 1, "{subs:?}");
    assert_eq!(subs[0]["auth"], "Bearer terugbel-geheim");
    let p = ada.get("/beheer/zaaksysteem").await;
    assert!(
        p.body
            .contains(r#"id="abonnement-status">Geregistreerd op "#),
        "{}",
        p.body
    );
    assert!(p
        .body
        .contains(&format!("{}/api/v1/notificaties", app.base)));

    // Without the CSRF token, or not the admin: refused, nothing changed; no menu entry.
    assert_eq!(ada.post_raw("/beheer/zaaksysteem", &good).await.status, 403);
    assert_eq!(tessa.get("/beheer/zaaksysteem").await.status, 403);
    assert_eq!(tessa.post("/beheer/zaaksysteem", &good).await.status, 403);
    assert_eq!(
        tessa
            .post("/beheer/zaaksysteem/abonnement", &[])
            .await
            .status,
        403
    );
    assert!(!tessa
        .get("/beheer/tokens")
        .await
        .body
        .contains("/beheer/zaaksysteem"));
    assert_eq!(settings(&app).await["version"], 2);
    assert_eq!(on.abonnementen().len(), 1);
}

/// The version a page's form carries.
fn version_of(body: &str) -> String {
    between(body, r#"name="versie" value=""#, "\"")
        .expect("the form carries its version")
        .to_owned()
}

/// Two admins open the form; the second save, made on the copy from before the first, is
/// refused in Dutch with the settings in force shown, and changes nothing.
async fn a_stale_zaaksysteem_form_is_refused(app: TestApp) {
    desk(&app).await;
    let (ada, _) = admin_and_lead(&app).await;
    let first = version_of(&ada.get("/beheer/zaaksysteem").await.body);
    let second = version_of(&ada.get("/beheer/zaaksysteem").await.body);
    assert_eq!(first, second);

    let p = ada
        .post(
            "/beheer/zaaksysteem",
            &form(&[("secret", SECRET), ("versie", first.as_str())]),
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let before = settings(&app).await;
    assert_eq!(before["version"], 1, "{before}");
    let now = version_of(&ada.get("/beheer/zaaksysteem").await.body);
    assert_eq!(now, "1");

    // The second form, opened before that save: refused, nothing changed.
    let p = ada
        .post(
            "/beheer/zaaksysteem",
            &form(&[
                ("secret", SECRET),
                ("rsin", "001005650"),
                ("clientId", "iemand-anders"),
                ("versie", second.as_str()),
            ]),
        )
        .await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(
        p.body.contains(
            r#"role="alert" id="form-error">Iemand anders heeft dit intussen gewijzigd."#
        ),
        "{}",
        p.body
    );
    // The values in force, with their version, so a save from here is not stale.
    assert!(
        p.body.contains(r#"name="rsin" value="002220647""#),
        "{}",
        p.body
    );
    assert!(p.body.contains(r#"name="clientId" value="webcare""#));
    assert_eq!(version_of(&p.body), "1");
    assert_eq!(settings(&app).await, before);

    // The same change on the page as it is now is stored.
    let p = ada
        .post(
            "/beheer/zaaksysteem",
            &form(&[("rsin", "001005650"), ("versie", "1")]),
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let after = settings(&app).await;
    assert_eq!(
        (after["version"].as_i64(), after["rsin"].as_str()),
        (Some(2), Some("001005650")),
        "{after}"
    );
}
