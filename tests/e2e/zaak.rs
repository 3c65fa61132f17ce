//! A case becomes a zaak (issue 14): `POST /api/v1/cases/{id}/zaak`, the zaak worker against the
//! fake Open Zaak (which validates every body against the Zaken API 1.5.1 document, checks the
//! JWT-ZGW and the CRS headers, and refuses an eindstatus before a resultaat), forward and resolve
//! follow-ups, retries, failures, and a zaak made once across a lost answer.

use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use webcare_e2e::{expect_problem, Backend, Workers};
use webcare_fakes::zgw::FakeOpenZaak;
use webcare_store::Store;

pub(crate) const SECRET: &str = "een-lang-zgw-geheim-voor-de-test";
const RSIN: &str = "002220647";
/// The abonnement's `auth`: what Open Notificaties sends on each callback.
pub(crate) const CALLBACK_AUTH: &str = "Bearer een-notificaties-geheim";

webcare_e2e::both_backends!(
    app = crate::zaak::ZaakApp;
    a_case_becomes_one_spec_valid_zaak_with_its_first_status,
    forward_adds_a_status_and_a_rol_and_resolve_closes_in_order,
    a_503_is_retried_and_a_lost_answer_finds_the_zaak_instead_of_making_a_second,
    a_refusal_fails_the_job_with_its_reason_visible,
    a_routing_rule_creates_the_zaak_and_forwards_it,
);

mod not_configured {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_without_zgw_the_request_is_409() {
        without_zgw_the_request_is_409(Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_without_zgw_the_request_is_409() {
        without_zgw_the_request_is_409(Backend::Postgres).await
    }
}

/// The desk with a `[zgw]` section pointing at a fake Open Zaak, and the outbox role (which runs
/// the zaak worker).
pub struct ZaakApp {
    pub(crate) base: String,
    /// The database, for a second node on it.
    pub(crate) database_url: String,
    pub(crate) admin: String,
    pub(crate) client: reqwest::Client,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) oz: FakeOpenZaak,
    _app: webcare::app::App,
}

/// The desk's ZGW settings for a fake Open Zaak: its catalogue's types, the test's secret, RSIN
/// and callback auth.
pub(crate) fn fake_zgw_settings(oz: &FakeOpenZaak) -> webcare_desk::zgw::ZgwSettings {
    let c = &oz.catalogus;
    webcare_desk::zgw::ZgwSettings {
        zaken_url: oz.zaken_url(),
        catalogi_url: oz.catalogi_url(),
        client_id: "webcare".into(),
        secret: SECRET.into(),
        rsin: RSIN.into(),
        vertrouwelijkheid: "zaakvertrouwelijk".into(),
        zaaktypen: [("default".to_owned(), c.zaaktype.clone())].into(),
        zaaktypen_per_kind: Default::default(),
        statustypen: Some(webcare_desk::zgw::Statustypen {
            ontvangen: c.statustype_ontvangen.clone(),
            in_behandeling: c.statustype_in_behandeling.clone(),
            afgerond: c.statustype_afgerond.clone(),
        }),
        resultaattype: c.resultaattype.clone(),
        roltype_afdeling: c.roltype_afdeling.clone(),
        notificaties_url: None,
        callback_auth: Some(CALLBACK_AUTH.into()),
        public_url: None,
    }
}

/// Starts the desk of `cfg` with the outbox role (which runs the zaak and Open Klant workers)
/// and an admin token; answers the app and the token.
pub(crate) async fn start_with_outbox(
    cfg: &webcare::config::Config,
) -> (webcare::app::App, String) {
    let workers = Workers {
        connectors: Some(webcare_workers::WorkerConfig {
            journal: false,
            outbox: Some(Default::default()),
            x_poller: None,
            ..Default::default()
        }),
        ..Workers::none()
    };
    let app = webcare::app::App::start(cfg, workers).await.unwrap();
    let admin = webcare_store::token::generate();
    app.store
        .create_token(
            "test-admin",
            webcare_domain::Role::Admin,
            &webcare_store::token::hash(&admin),
        )
        .await
        .unwrap();
    (app, admin)
}

impl ZaakApp {
    pub async fn spawn(backend: Backend) -> Option<ZaakApp> {
        Self::spawn_with(backend, true).await
    }

    /// With the `[zgw]` section in the configuration, or without (the admin API sets it).
    pub async fn spawn_with(backend: Backend, in_config: bool) -> Option<ZaakApp> {
        let url = webcare_store::testing::fresh_database_url(backend).await?;
        let oz = FakeOpenZaak::start("webcare", SECRET).await.unwrap();
        let zgw = fake_zgw_settings(&oz);
        zgw.check().unwrap();
        let cfg = webcare::config::Config {
            database_url: webcare::config::Secret(url.clone()),
            bind: "127.0.0.1:0".into(),
            max_db_connections: 8,
            zgw: in_config.then_some(zgw),
            ..Default::default()
        };
        let (app, admin) = start_with_outbox(&cfg).await;
        Some(ZaakApp {
            base: format!("http://{}", app.addr),
            database_url: url,
            admin,
            client: reqwest::Client::new(),
            store: app.store.clone(),
            oz,
            _app: app,
        })
    }

    pub(crate) fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.admin)
    }

    pub(crate) async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self.req(method, path);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let res = r.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// A citizen's message on a new API channel account; answers its case id.
    pub(crate) async fn case(&self, text: &str) -> String {
        let (s, acc) = self
            .json(
                reqwest::Method::POST,
                "/api/v1/channel-accounts",
                Some(json!({"kind": "api", "name": "api", "externalId": uuid::Uuid::now_v7().to_string(), "defaultTeam": "kcc"})),
            )
            .await;
        assert_eq!(s, 201, "{acc}");
        let (s, m) = self
            .json(
                reqwest::Method::POST,
                "/api/v1/messages",
                Some(json!({"channelAccountId": acc["id"], "platformMessageId": uuid::Uuid::now_v7().to_string(),
                    "visibility": "private", "author": {"platformUserId": "burger-1", "handle": "@burger"}, "text": text,
                    "sentAt": chrono::Utc::now().to_rfc3339()})),
            )
            .await;
        assert!((200..300).contains(&s), "{m}");
        m["caseId"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn request_zaak(&self, case: &str) -> (u16, Value) {
        self.json(
            reqwest::Method::POST,
            &format!("/api/v1/cases/{case}/zaak"),
            None,
        )
        .await
    }

    pub(crate) async fn department(&self, name: &str) -> Value {
        let (s, d) = self
            .json(
                reqwest::Method::POST,
                "/api/v1/departments",
                Some(json!({"name": name, "answerMinutes": 480})),
            )
            .await;
        assert_eq!(s, 201, "{d}");
        d
    }

    pub(crate) async fn zaak(&self, case: &str) -> Value {
        let (s, z) = self
            .json(
                reqwest::Method::GET,
                &format!("/api/v1/cases/{case}/zaak"),
                None,
            )
            .await;
        assert_eq!(s, 200, "{z}");
        z
    }

    /// Polls the case's zaak until every job is done or failed.
    pub(crate) async fn settled(&self, case: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..400 {
            last = self.zaak(case).await;
            let jobs = last["jobs"].as_array().cloned().unwrap_or_default();
            if !jobs.is_empty() && jobs.iter().all(|j| j["state"] != "pending") {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the zaak jobs of {case} did not settle: {last}");
    }

    pub(crate) fn no_violations(&self) {
        assert_eq!(self.oz.violations(), Vec::<String>::new());
    }
}

async fn a_case_becomes_one_spec_valid_zaak_with_its_first_status(app: ZaakApp) {
    let case = app
        .case("Er ligt een losse stoeptegel op de Oudegracht. Mijn BSN is 123456782.")
        .await;
    let (s, z) = app.request_zaak(&case).await;
    assert_eq!(s, 202, "{z}");
    assert_eq!(z["jobs"][0]["kind"], "create");
    assert_eq!(z["jobs"][0]["state"], "pending");
    // A second request while one is on its way: 409.
    let (s, _) = app.request_zaak(&case).await;
    assert_eq!(s, 409);

    let z = app.settled(&case).await;
    assert_eq!(z["jobs"][0]["state"], "done", "{z}");
    let zaken = app.oz.zaken();
    assert_eq!(zaken.len(), 1);
    let zaak = &zaken[0];
    let number = format!("WC-{}", case.replace('-', "").to_uppercase());
    assert_eq!(z["identificatie"], number.as_str());
    assert_eq!(z["url"], zaak["url"]);
    assert_eq!(zaak["bronorganisatie"], RSIN);
    assert_eq!(zaak["vertrouwelijkheidaanduiding"], "zaakvertrouwelijk");
    assert!(zaak["omschrijving"].as_str().unwrap().chars().count() <= 80);
    let toelichting = zaak["toelichting"].as_str().unwrap();
    assert!(toelichting.contains("losse stoeptegel"), "{toelichting}");
    assert!(!toelichting.contains("123456782"), "the BSN is masked");
    // The first status is "ontvangen".
    let statussen = app.oz.statussen();
    assert_eq!(statussen.len(), 1);
    assert_eq!(
        statussen[0]["statustype"],
        app.oz.catalogus.statustype_ontvangen.as_str()
    );
    // Every call carried a fresh JWT-ZGW naming the agent, and the CRS headers.
    for r in app.oz.requests() {
        let token = r
            .header("authorization")
            .unwrap()
            .strip_prefix("Bearer ")
            .unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        let claims = jsonwebtoken::decode::<Value>(
            token,
            &jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()),
            &v,
        )
        .unwrap()
        .claims;
        assert_eq!(claims["client_id"], "webcare");
        assert_eq!(claims["iss"], "webcare");
        assert!(claims["user_id"]
            .as_str()
            .unwrap()
            .starts_with("token:test-admin"));
        assert_eq!(r.header("accept-crs"), Some("EPSG:4326"));
    }
    // Canned answers quote the zaak's number.
    let (s, canned) = app
        .json(
            reqwest::Method::POST,
            "/api/v1/canned-answers",
            Some(json!({"title": "Zaak", "text": "Uw melding heeft zaaknummer {{zaaknummer}}."})),
        )
        .await;
    assert_eq!(s, 201, "{canned}");
    let (s, r) = app
        .json(
            reqwest::Method::POST,
            &format!(
                "/api/v1/canned-answers/{}/render",
                canned["id"].as_str().unwrap()
            ),
            Some(json!({"caseId": case})),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["text"], format!("Uw melding heeft zaaknummer {number}."));
    // A request for a case that has its zaak: 409, and nothing more is sent.
    let (s, _) = app.request_zaak(&case).await;
    assert_eq!(s, 409);
    app.no_violations();
}

async fn forward_adds_a_status_and_a_rol_and_resolve_closes_in_order(app: ZaakApp) {
    let case = app.case("De lantaarnpaal in mijn straat is kapot").await;
    let dept = app.department("Stadsbeheer").await;
    app.request_zaak(&case).await;
    // Forwarded right away: the status and the rol wait for the create, in order.
    let (s, f) = app
        .json(
            reqwest::Method::POST,
            &format!("/api/v1/cases/{case}/forward"),
            Some(json!({"departmentId": dept["id"], "question": "Kunnen jullie dit repareren?"})),
        )
        .await;
    assert_eq!(s, 200, "{f}");
    let z = app.settled(&case).await;
    let kinds: Vec<&str> = z["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["create", "status", "rol"]);
    assert!(
        z["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["state"] == "done"),
        "{z}"
    );
    let rollen = app.oz.rollen();
    assert_eq!(rollen.len(), 1);
    assert_eq!(rollen[0]["betrokkeneIdentificatie"]["naam"], "Stadsbeheer");
    assert_eq!(rollen[0]["betrokkeneType"], "organisatorische_eenheid");
    let st = app.oz.statussen();
    assert_eq!(st.len(), 2);
    assert_eq!(
        st[1]["statustype"],
        app.oz.catalogus.statustype_in_behandeling.as_str()
    );

    // Resolve: resultaat first, then the eindstatus (the fake refuses the reverse).
    let (s, r) = app
        .json(
            reqwest::Method::PATCH,
            &format!("/api/v1/cases/{case}"),
            Some(json!({"status": "resolved"})),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let z = app.settled(&case).await;
    assert_eq!(z["jobs"].as_array().unwrap().len(), 4);
    assert_eq!(z["jobs"][3]["kind"], "close");
    assert_eq!(z["jobs"][3]["state"], "done", "{z}");
    let posts: Vec<String> = app
        .oz
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.path.rsplit('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        posts,
        [
            "zaken",
            "statussen",
            "statussen",
            "rollen",
            "resultaten",
            "statussen"
        ]
    );
    assert!(
        app.oz.zaken()[0]["einddatum"].is_string(),
        "the zaak is closed"
    );
    app.no_violations();
}

async fn a_503_is_retried_and_a_lost_answer_finds_the_zaak_instead_of_making_a_second(
    app: ZaakApp,
) {
    // The lookup answers 503 once, then the create is stored but its answer lost (a crash
    // between Open Zaak's commit and the desk's record looks the same to the desk).
    app.oz.fail_next(1, 503);
    let case = app.case("Afval niet opgehaald").await;
    app.oz.drop_after_commit(1);
    let (s, _) = app.request_zaak(&case).await;
    assert_eq!(s, 202);
    let z = app.settled(&case).await;
    assert_eq!(z["jobs"][0]["state"], "done", "{z}");
    assert!(z["jobs"][0]["attempts"].as_i64().unwrap() >= 3, "{z}");
    assert_eq!(app.oz.zaken().len(), 1, "one zaak, never two");
    assert_eq!(z["url"], app.oz.zaken()[0]["url"]);
    let statuses: Vec<u16> = app.oz.requests().iter().map(|r| r.status).collect();
    assert!(
        statuses.contains(&503) && statuses.contains(&500),
        "{statuses:?}"
    );
    app.no_violations();
}

async fn a_refusal_fails_the_job_with_its_reason_visible(app: ZaakApp) {
    let case = app.case("Vraag over parkeren").await;
    // Point the create at a zaaktype Open Zaak does not know: 400, not retried.
    let bad = json!({"zaaktype": format!("{}/zaaktypen/onbekend", app.oz.catalogi_url()), "userId": "x", "userName": "x"});
    app.store
        .enqueue_zaak_create(case.parse().unwrap(), bad)
        .await
        .unwrap();
    let mut events = app
        .req(reqwest::Method::GET, "/api/v1/events")
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    let z = app.settled(&case).await;
    assert_eq!(z["jobs"][0]["state"], "failed");
    assert_eq!(z["jobs"][0]["attempts"], 1, "a refusal is not retried");
    let reason = z["jobs"][0]["lastError"].as_str().unwrap();
    assert!(
        reason.contains("zaaktype") && reason.contains("bad-url"),
        "{reason}"
    );
    assert!(z["url"].is_null());
    // The failure is a live event.
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !seen.contains("zaak.failed") && tokio::time::Instant::now() < deadline {
        if let Ok(Ok(Some(c))) =
            tokio::time::timeout(Duration::from_millis(500), events.chunk()).await
        {
            seen.push_str(&String::from_utf8_lossy(&c));
        }
    }
    assert!(seen.contains("zaak.failed"), "{seen}");
    // After a failed create the agent may ask again.
    let (s, _) = app.request_zaak(&case).await;
    assert_eq!(s, 202);
    let z = app.settled(&case).await;
    assert_eq!(z["jobs"][1]["state"], "done", "{z}");
    assert_eq!(app.oz.zaken().len(), 1);
}

async fn a_routing_rule_creates_the_zaak_and_forwards_it(app: ZaakApp) {
    let dept = app.department("Afvalbeheer").await;
    let (s, rule) = app
        .json(
            reqwest::Method::POST,
            "/api/v1/routing-rules",
            Some(
                json!({"name": "Container", "conditions": {"keywords": ["container"]},
                "actions": {"departmentId": dept["id"], "createZaak": app.oz.catalogus.zaaktype}}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{rule}");
    // The ingest itself enqueues the create and, after it, the forward's status and rol.
    let case = app.case("Mijn container is niet geleegd").await;
    let z = app.settled(&case).await;
    let kinds: Vec<&str> = z["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["create", "status", "rol"], "{z}");
    assert!(
        z["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["state"] == "done"),
        "{z}"
    );
    assert_eq!(app.oz.zaken().len(), 1);
    assert_eq!(
        app.oz.rollen()[0]["betrokkeneIdentificatie"]["naam"],
        "Afvalbeheer"
    );
    // A case no rule asks a zaak for gets none.
    let other = app.case("Een vraag over parkeren").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.zaak(&other).await["jobs"], json!([]));
    app.no_violations();
}

async fn without_zgw_the_request_is_409(backend: Backend) {
    let Some(app) = webcare_e2e::TestApp::spawn(backend).await else {
        return;
    };
    let acc = app.channel_account("api", "zaakloos").await;
    let res = app
        .post(
            "/api/v1/messages",
            &json!({"channelAccountId": acc, "platformMessageId": "m1", "visibility": "private",
                    "author": {"platformUserId": "b1"}, "text": "Hallo",
                    "sentAt": chrono::Utc::now().to_rfc3339()}),
        )
        .send()
        .await
        .unwrap();
    let m: Value = res.json().await.unwrap();
    let case = m["caseId"].as_str().unwrap();
    let res = app
        .post(&format!("/api/v1/cases/{case}/zaak"), &json!({}))
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 409).await;
    assert!(p["detail"].as_str().unwrap().contains("zgw"), "{p}");
}
