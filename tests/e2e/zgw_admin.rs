//! Administering the zaaksysteem link (issue 14): the `[zgw]` settings through the admin API
//! (validated, secrets write-only, in force without a restart, statustypen from the Catalogi API
//! when not given), the abonnement at a fake Open Notificaties (registered once, its
//! notifications reaching the desk), and status and rol calls looked up before a retry.

use crate::zaak::{ZaakApp, CALLBACK_AUTH, SECRET};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use webcare_e2e::{expect_problem, Backend};
use webcare_fakes::zgw::notificaties::FakeOpenNotificaties;
use webcare_fakes::zgw::FakeOpenZaak;

const RSIN: &str = "002220647";

webcare_e2e::both_backends!(
    app = crate::zaak::ZaakApp;
    the_abonnement_is_registered_once_and_its_notifications_reach_the_desk,
    settings_are_validated_and_their_secrets_never_shown,
    a_status_and_a_rol_committed_but_answered_500_are_not_sent_twice,
    a_change_on_one_node_applies_on_another_within_a_second,
    a_klacht_is_a_klacht_zaak_whatever_its_theme,
);

mod without_zgw_in_the_config {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_settings_apply_without_a_restart_and_statustypen_come_from_the_catalogi() {
        settings_apply_without_a_restart_and_statustypen_come_from_the_catalogi(Backend::Sqlite)
            .await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_settings_apply_without_a_restart_and_statustypen_come_from_the_catalogi() {
        settings_apply_without_a_restart_and_statustypen_come_from_the_catalogi(Backend::Postgres)
            .await
    }
}

/// The settings for a fake Open Zaak as the admin API takes them (no statustypen: the
/// Catalogi API's).
pub(crate) fn settings_body(oz: &FakeOpenZaak) -> Value {
    let c = &oz.catalogus;
    json!({
        "zakenUrl": oz.zaken_url(), "catalogiUrl": oz.catalogi_url(),
        "clientId": "webcare", "rsin": RSIN,
        "zaaktypen": {"default": c.zaaktype},
        "resultaattype": c.resultaattype, "roltypeAfdeling": c.roltype_afdeling,
    })
}

fn param_names(p: &Value) -> Vec<String> {
    p["invalidParams"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["name"].as_str().map(str::to_owned))
        .collect()
}

async fn the_abonnement_is_registered_once_and_its_notifications_reach_the_desk(app: ZaakApp) {
    let on = FakeOpenNotificaties::start("webcare", SECRET)
        .await
        .unwrap();
    // The configuration file names no Notificaties API: nothing to register with.
    let (s, p) = app.json(Method::POST, "/api/v1/zgw/abonnement", None).await;
    assert_eq!(s, 409, "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("notificaties_url"),
        "{p}"
    );
    let (s, a) = app.json(Method::GET, "/api/v1/zgw/abonnement", None).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["registered"], false);

    // The admin adds the Notificaties API and the desk's public URL; the secret and the
    // callback auth, not sent, stay the configuration file's.
    let mut body = settings_body(&app.oz);
    body["notificatiesUrl"] = json!(on.api_url());
    body["publicUrl"] = json!(format!("{}/", app.base));
    body["statustypen"] = json!({
        "ontvangen": app.oz.catalogus.statustype_ontvangen,
        "inBehandeling": app.oz.catalogus.statustype_in_behandeling,
        "afgerond": app.oz.catalogus.statustype_afgerond,
    });
    let (s, v) = app
        .json(Method::PUT, "/api/v1/zgw/settings", Some(body))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["source"], "database");
    assert_eq!(v["callbackAuthSet"], true);

    let (s, a) = app.json(Method::POST, "/api/v1/zgw/abonnement", None).await;
    assert_eq!(s, 201, "{a}");
    let callback = format!("{}/api/v1/notificaties", app.base);
    assert_eq!(a["registered"], true, "{a}");
    assert_eq!(a["callbackUrl"], callback.as_str());
    let subs = on.abonnementen();
    assert_eq!(subs.len(), 1);
    assert_eq!(a["url"], subs[0]["url"]);
    assert_eq!(subs[0]["callbackUrl"], callback.as_str());
    assert_eq!(subs[0]["auth"], CALLBACK_AUTH);
    assert_eq!(
        subs[0]["kanalen"],
        json!([{"naam": "zaken", "filters": {"bronorganisatie": RSIN}}])
    );
    // Once: a second registration finds it and updates it in place.
    let (s, again) = app.json(Method::POST, "/api/v1/zgw/abonnement", None).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["url"], a["url"]);
    assert_eq!(on.abonnementen().len(), 1);
    let (s, shown) = app.json(Method::GET, "/api/v1/zgw/abonnement", None).await;
    assert_eq!(s, 200);
    assert_eq!(shown["url"], a["url"]);
    assert_eq!(shown["registered"], true);
    assert!(!shown.to_string().contains("een-notificaties-geheim"));

    // What Open Notificaties publishes reaches the desk: a zaak closed in Open Zaak resolves
    // its case. Another municipality's zaak (another bronorganisatie) is not delivered.
    let case = app.case("Het hek van de speeltuin is kapot").await;
    let (s, _) = app.request_zaak(&case).await;
    assert_eq!(s, 202);
    let z = app.settled(&case).await;
    let zaak_url = z["url"].as_str().unwrap().to_owned();
    let status_url = app
        .oz
        .set_status_in_zaaksysteem(&zaak_url, &app.oz.catalogus.statustype_afgerond)
        .unwrap();
    let message = |bron: &str| {
        json!({"kanaal": "zaken", "hoofdObject": zaak_url, "resource": "status",
            "resourceUrl": status_url, "actie": "create",
            "aanmaakdatum": chrono::Utc::now().to_rfc3339(),
            "kenmerken": {"bronorganisatie": bron}})
    };
    assert_eq!(on.publish(&message("001005650")).await, Vec::<u16>::new());
    assert_eq!(on.publish(&message(RSIN)).await, vec![204]);
    let mut status = Value::Null;
    for _ in 0..200 {
        let (_, c) = app
            .json(Method::GET, &format!("/api/v1/cases/{case}"), None)
            .await;
        status = c["status"].clone();
        if status == "resolved" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(status, "resolved");
    assert_eq!(on.violations(), Vec::<String>::new());
    app.no_violations();
}

async fn settings_are_validated_and_their_secrets_never_shown(app: ZaakApp) {
    let (s, v) = app.json(Method::GET, "/api/v1/zgw/settings", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["source"], "config");
    assert_eq!(v["version"], 0);
    assert_eq!(v["secretSet"], true);
    assert_eq!(v["callbackAuthSet"], true);
    assert_eq!(v["rsin"], RSIN);
    let shown = v.to_string();
    assert!(!shown.contains(SECRET) && !shown.contains("een-notificaties-geheim"));

    // A wrong RSIN (11-proef), a URL that is not one and a missing default zaaktype: 400 with
    // each named, and nothing stored.
    let mut bad = settings_body(&app.oz);
    bad["rsin"] = json!("002220648");
    bad["zakenUrl"] = json!("ftp://openzaak");
    bad["zaaktypen"] = json!({"afval": "niet-een-url"});
    bad["vertrouwelijkheid"] = json!("heel_geheim");
    bad["zaaktypenPerKind"] = json!({"spoed": app.oz.catalogus.zaaktype, "klacht": "niet-een-url"});
    let res = app
        .req(Method::PUT, "/api/v1/zgw/settings")
        .json(&bad)
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 400).await;
    let names = param_names(&p);
    for n in [
        "rsin",
        "zakenUrl",
        "zaaktypen",
        "zaaktypen.afval",
        "vertrouwelijkheid",
        "zaaktypenPerKind.spoed",
        "zaaktypenPerKind.klacht",
    ] {
        assert!(names.contains(&n.to_owned()), "{n} in {names:?}");
    }
    // Control characters (PostgreSQL stores no NUL) are refused, not a 500.
    let mut nul = settings_body(&app.oz);
    nul["clientId"] = json!("web\u{0}care");
    nul["zaaktypen"] = json!({"default": format!("{}/\u{0}", app.oz.catalogi_url())});
    let res = app
        .req(Method::PUT, "/api/v1/zgw/settings")
        .json(&nul)
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 400).await;
    let names = param_names(&p);
    assert!(names.contains(&"clientId".to_owned()), "{names:?}");
    assert!(names.contains(&"zaaktypen.default".to_owned()), "{names:?}");
    let mut unknown = settings_body(&app.oz);
    unknown["geheim"] = json!(true);
    let res = app
        .req(Method::PUT, "/api/v1/zgw/settings")
        .json(&unknown)
        .send()
        .await
        .unwrap();
    expect_problem(res, 400).await;
    let (_, v) = app.json(Method::GET, "/api/v1/zgw/settings", None).await;
    assert_eq!(v["version"], 0, "nothing stored");

    // A new secret is taken and never shown; the next change without one keeps it.
    let mut body = settings_body(&app.oz);
    body["secret"] = json!("een-ander-geheim-dat-niet-klopt");
    let (s, v) = app
        .json(Method::PUT, "/api/v1/zgw/settings", Some(body))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["version"], 1);
    assert_eq!(v["source"], "database");
    assert!(v["updatedBy"].as_str().unwrap().contains("test-admin"));
    assert!(!v.to_string().contains("een-ander-geheim"));
    let (s, v) = app
        .json(
            Method::PUT,
            "/api/v1/zgw/settings",
            Some(settings_body(&app.oz)),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["version"], 2);
    assert_eq!(v["secretSet"], true);
    let stored = app.store.zgw_settings().await.unwrap().unwrap();
    assert_eq!(stored.settings["secret"], "een-ander-geheim-dat-niet-klopt");
    // With the version read: a change on an out-of-date copy is a 409 and stores nothing; on the
    // newest it is stored.
    let mut stale = settings_body(&app.oz);
    stale["version"] = json!(1);
    stale["clientId"] = json!("iemand-anders");
    let res = app
        .req(Method::PUT, "/api/v1/zgw/settings")
        .json(&stale)
        .send()
        .await
        .unwrap();
    expect_problem(res, 409).await;
    let (_, v) = app.json(Method::GET, "/api/v1/zgw/settings", None).await;
    assert_eq!(
        (v["version"].as_i64(), v["clientId"].as_str()),
        (Some(2), Some("webcare")),
        "{v}"
    );
    let mut fresh = settings_body(&app.oz);
    fresh["version"] = json!(2);
    let (s, v) = app
        .json(Method::PUT, "/api/v1/zgw/settings", Some(fresh))
        .await;
    assert_eq!((s, v["version"].as_i64()), (200, Some(3)), "{v}");
    // In force at once: Open Zaak refuses the wrong secret, so the create fails with its 403.
    let case = app.case("Een losse stoeptegel").await;
    let (s, _) = app.request_zaak(&case).await;
    assert_eq!(s, 202);
    let z = app.settled(&case).await;
    assert_eq!(z["jobs"][0]["state"], "failed", "{z}");
    assert!(
        z["jobs"][0]["lastError"]
            .as_str()
            .unwrap()
            .starts_with("403"),
        "{z}"
    );
    // The audit trail names who changed them, never the secret.
    let (s, audit) = app.json(Method::GET, "/api/v1/audit-events", None).await;
    assert_eq!(s, 200, "{audit}");
    let audit = audit.to_string();
    assert!(audit.contains("zgw.settings_changed"), "{audit}");
    assert!(!audit.contains("een-ander-geheim"), "{audit}");
}

async fn a_status_and_a_rol_committed_but_answered_500_are_not_sent_twice(app: ZaakApp) {
    let case = app.case("De straatverlichting is uit").await;
    let dept = app.department("Openbare verlichting").await;
    app.request_zaak(&case).await;
    app.settled(&case).await;
    // The status and the rol of the forward are both stored by Open Zaak, their answers lost.
    app.oz.drop_after_commit(2);
    let (s, f) = app
        .json(
            Method::POST,
            &format!("/api/v1/cases/{case}/forward"),
            Some(json!({"departmentId": dept["id"], "question": "Kunnen jullie kijken?"})),
        )
        .await;
    assert_eq!(s, 200, "{f}");
    let z = app.settled(&case).await;
    let jobs = z["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 3, "{z}");
    for j in &jobs[1..] {
        assert_eq!(j["state"], "done", "{z}");
        assert!(j["attempts"].as_i64().unwrap() >= 2, "retried: {z}");
    }
    // One "ontvangen", one "in behandeling", one rol: nothing twice.
    let st = app.oz.statussen();
    assert_eq!(st.len(), 2, "{st:?}");
    assert_eq!(app.oz.rollen().len(), 1);
    let lookups: Vec<String> = app
        .oz
        .requests()
        .into_iter()
        .filter(|r| {
            r.method == "GET" && (r.path.ends_with("/statussen") || r.path.ends_with("/rollen"))
        })
        .map(|r| r.path)
        .collect();
    assert!(
        lookups.len() >= 4,
        "looked up before each attempt: {lookups:?}"
    );
    app.no_violations();
}

async fn settings_apply_without_a_restart_and_statustypen_come_from_the_catalogi(backend: Backend) {
    let Some(app) = ZaakApp::spawn_with(backend, false).await else {
        return;
    };
    let (s, v) = app.json(Method::GET, "/api/v1/zgw/settings", None).await;
    assert_eq!(s, 200);
    assert_eq!(v["source"], "none");
    assert_eq!(v["secretSet"], false);
    let case = app.case("Er staat een kapotte fiets voor mijn deur").await;
    let (s, _) = app.request_zaak(&case).await;
    assert_eq!(s, 409, "no zaaksysteem yet");
    // Without a secret in force none can be kept: 400.
    let res = app
        .req(Method::PUT, "/api/v1/zgw/settings")
        .json(&settings_body(&app.oz))
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 400).await;
    assert_eq!(param_names(&p), ["secret"]);

    let mut body = settings_body(&app.oz);
    body["secret"] = json!(SECRET);
    let (s, v) = app
        .json(Method::PUT, "/api/v1/zgw/settings", Some(body))
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["statustypen"].is_null());
    // The same desk, no restart: the zaak is made, its first status the Catalogi API's
    // "ontvangen" (volgnummer 1, though listed out of order).
    let (s, _) = app.request_zaak(&case).await;
    assert_eq!(s, 202);
    let z = app.settled(&case).await;
    assert_eq!(z["jobs"][0]["state"], "done", "{z}");
    let other = app.case("Graffiti op het bushokje").await;
    app.request_zaak(&other).await;
    let dept = app.department("Reiniging").await;
    app.json(
        Method::POST,
        &format!("/api/v1/cases/{other}/forward"),
        Some(json!({"departmentId": dept["id"], "question": "Schoonmaken?"})),
    )
    .await;
    app.json(
        Method::PATCH,
        &format!("/api/v1/cases/{other}"),
        Some(json!({"status": "resolved"})),
    )
    .await;
    let z = app.settled(&other).await;
    assert!(
        z["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["state"] == "done"),
        "{z}"
    );
    let c = &app.oz.catalogus;
    let types: Vec<Value> = app
        .oz
        .statussen()
        .into_iter()
        .map(|s| s["statustype"].clone())
        .collect();
    assert_eq!(
        types,
        [
            json!(c.statustype_ontvangen),
            json!(c.statustype_ontvangen),
            json!(c.statustype_in_behandeling),
            json!(c.statustype_afgerond),
        ]
    );
    assert!(app.oz.zaken().iter().any(|z| z["einddatum"].is_string()));
    // Looked up once for the zaaktype, then cached.
    let lookups = app
        .oz
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/catalogi/api/v1/statustypen"))
        .count();
    assert_eq!(lookups, 1);
    app.no_violations();
}

async fn a_change_on_one_node_applies_on_another_within_a_second(app: ZaakApp) {
    // A second node on the same database, with no [zgw] in its configuration file.
    let cfg = webcare::config::Config {
        database_url: webcare::config::Secret(app.database_url.clone()),
        bind: "127.0.0.1:0".into(),
        max_db_connections: 4,
        ..Default::default()
    };
    let other = webcare::app::App::start(&cfg, webcare_e2e::Workers::none())
        .await
        .unwrap();
    let other_base = format!("http://{}", other.addr);
    let get_other = || async {
        let res = app
            .client
            .get(format!("{other_base}/api/v1/zgw/settings"))
            .bearer_auth(&app.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()
    };
    assert_eq!(get_other().await["source"], "none");
    let mut body = settings_body(&app.oz);
    body["rsin"] = json!("001005650");
    let (s, v) = app
        .json(Method::PUT, "/api/v1/zgw/settings", Some(body))
        .await;
    assert_eq!(s, 200, "{v}");
    let changed = tokio::time::Instant::now();
    let mut seen = Value::Null;
    while changed.elapsed() < Duration::from_secs(3) {
        seen = get_other().await;
        if seen["source"] == "database" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen["source"], "database", "{seen}");
    assert_eq!(seen["rsin"], "001005650");
    assert_eq!(seen["version"], 1);
    // The secret came from the first node's configuration file and was stored with the change.
    assert_eq!(seen["secretSet"], true);
    assert!(
        changed.elapsed() < Duration::from_millis(2500),
        "within the cache's second (and the request's time)"
    );
}

/// The zaaktype comes from the case's kind when the kind is mapped, before its theme: the fake
/// Open Zaak knows one zaaktype, mapped here to `klacht` only, so a zaak is made for the klacht
/// about a mapped theme and refused for a melding with the same theme.
async fn a_klacht_is_a_klacht_zaak_whatever_its_theme(app: ZaakApp) {
    let theme = "Verkeer & Infrastructuur";
    let elsewhere = |n: &str| format!("{}/zaaktypen/{n}", app.oz.catalogi_url());
    let mut body = settings_body(&app.oz);
    body["zaaktypen"] = json!({"default": elsewhere("default"), theme: elsewhere("verkeer")});
    body["zaaktypenPerKind"] = json!({"klacht": app.oz.catalogus.zaaktype});
    let (s, v) = app
        .json(Method::PUT, "/api/v1/zgw/settings", Some(body))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["zaaktypenPerKind"]["klacht"],
        app.oz.catalogus.zaaktype.as_str()
    );

    let mut cases = Vec::new();
    for kind in ["klacht", "melding"] {
        let case = app
            .case("De stoplichten op de Catharijnesingel staan te lang op rood")
            .await;
        let (s, c) = app
            .json(
                Method::PATCH,
                &format!("/api/v1/cases/{case}"),
                Some(json!({"kind": kind, "theme": theme})),
            )
            .await;
        assert_eq!(s, 200, "{c}");
        let (s, z) = app.request_zaak(&case).await;
        assert_eq!(s, 202, "{z}");
        cases.push(case);
    }
    let klacht = app.settled(&cases[0]).await;
    assert_eq!(klacht["jobs"][0]["state"], "done", "{klacht}");
    let melding = app.settled(&cases[1]).await;
    assert_eq!(
        melding["jobs"][0]["state"], "failed",
        "the theme's zaaktype: {melding}"
    );
    let zaken = app.oz.zaken();
    assert_eq!(zaken.len(), 1);
    assert_eq!(zaken[0]["zaaktype"], app.oz.catalogus.zaaktype.as_str());
    assert_eq!(zaken[0]["url"], klacht["url"]);
}
