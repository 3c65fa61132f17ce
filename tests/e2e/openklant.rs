//! Open Klant (issue 14): every message the desk stores, inbound or a sent reply, becomes one
//! klantcontact in the fake Open Klant (which validates every body against the Klantinteracties
//! API 0.9 document and checks the `Token`), with the contact's partij (made once) as betrokkene,
//! the zaak as onderwerpobject, and a forward as an internetaak for the department's actor;
//! retries, a lost answer found again, refusals visible, and nothing at all when not configured.

use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use webcare_e2e::Backend;
use webcare_fakes::zgw::openklant::FakeOpenKlant;
use webcare_fakes::zgw::FakeOpenZaak;
use webcare_fakes::FakePlatforms;
use webcare_store::klantcontact::KlantcontactJob;
use webcare_store::Store;

const TOKEN: &str = "een-open-klant-token-voor-de-test";
const API_SECRET: &str = "een-api-kanaal-geheim-voor-de-test";

webcare_e2e::both_backends!(
    app = crate::openklant::OkApp;
    inbound_and_outbound_messages_become_spec_valid_klantcontacten_with_one_partij,
    the_zaak_is_linked_and_a_forward_becomes_an_internetaak,
    a_zaak_made_later_is_linked_to_the_klantcontacten_before_it,
    a_503_is_retried_and_a_lost_answer_is_found_instead_of_made_twice,
    a_refusal_fails_the_job_with_open_klants_reason,
    a_klantcontact_by_phone_is_a_note_on_the_contacts_open_case,
    two_nodes_make_one_partij_for_a_contact,
);

mod not_configured {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_without_openklant_nothing_is_registered() {
        without_openklant_nothing_is_registered(Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_without_openklant_nothing_is_registered() {
        without_openklant_nothing_is_registered(Backend::Postgres).await
    }
}

/// The desk with `[openklant]` (and `[zgw]`) pointing at the fakes, and the outbox role (which
/// runs the Open Klant worker and sends the replies to an `api` channel's callback).
pub struct OkApp {
    pub(crate) base: String,
    pub(crate) admin: String,
    pub(crate) client: reqwest::Client,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) ok: FakeOpenKlant,
    pub(crate) oz: FakeOpenZaak,
    pub(crate) platforms: FakePlatforms,
    /// The actor of the department "Stadsbeheer" in Open Klant.
    pub(crate) actor: String,
    /// The configuration, for a second node on the same database.
    cfg: webcare::config::Config,
    _app: webcare::app::App,
}

impl OkApp {
    pub async fn spawn(backend: Backend) -> Option<OkApp> {
        Self::spawn_with(backend, true).await
    }

    async fn spawn_with(backend: Backend, openklant: bool) -> Option<OkApp> {
        let url = webcare_store::testing::fresh_database_url(backend).await?;
        let ok = FakeOpenKlant::start(TOKEN).await.unwrap();
        let actor = ok.add_actor("Stadsbeheer");
        let oz = FakeOpenZaak::start("webcare", crate::zaak::SECRET)
            .await
            .unwrap();
        let platforms = FakePlatforms::start().await.unwrap();
        let zgw = crate::zaak::fake_zgw_settings(&oz);
        let settings = webcare_desk::openklant::OpenKlantSettings {
            url: ok.url(),
            token: TOKEN.into(),
            actoren: [
                ("Stadsbeheer".to_owned(), actor.clone()),
                // An actor Open Klant does not know: its internetaak is refused.
                (
                    "Burgerzaken".to_owned(),
                    format!("{}/actoren/{}", ok.url(), uuid::Uuid::new_v4()),
                ),
            ]
            .into(),
        };
        settings.check().unwrap();
        let cfg = webcare::config::Config {
            database_url: webcare::config::Secret(url),
            bind: "127.0.0.1:0".into(),
            max_db_connections: 8,
            zgw: Some(zgw),
            openklant: openklant.then_some(settings),
            ..Default::default()
        };
        let (app, admin) = crate::zaak::start_with_outbox(&cfg).await;
        Some(OkApp {
            base: format!("http://{}", app.addr),
            admin,
            client: reqwest::Client::new(),
            store: app.store.clone(),
            ok,
            oz,
            platforms,
            actor,
            cfg,
            _app: app,
        })
    }

    pub(crate) async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.admin);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let res = r.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// An `api` channel account whose replies go to the fake platforms' callback.
    pub(crate) async fn account(&self) -> String {
        let (s, acc) = self
            .json(
                reqwest::Method::POST,
                "/api/v1/channel-accounts",
                Some(json!({"kind": "api", "name": "api", "externalId": uuid::Uuid::now_v7().to_string(),
                    "callbackUrl": format!("{}/callback/ok", self.platforms.base),
                    "credentials": {"webhookSecret": API_SECRET}, "defaultTeam": "kcc"})),
            )
            .await;
        assert_eq!(s, 201, "{acc}");
        acc["id"].as_str().unwrap().to_owned()
    }

    /// A citizen's private message on `account`; answers its case id.
    pub(crate) async fn message(&self, account: &str, pmid: &str, text: &str) -> String {
        self.message_as(account, pmid, text, "private").await
    }

    /// The citizen's message of `visibility` on `account` (a public one without a reply starts
    /// a case of its own); answers its case id.
    async fn message_as(&self, account: &str, pmid: &str, text: &str, visibility: &str) -> String {
        let (s, m) = self
            .json(
                reqwest::Method::POST,
                "/api/v1/messages",
                Some(json!({"channelAccountId": account, "platformMessageId": pmid,
                    "visibility": visibility, "author": {"platformUserId": "burger-1", "handle": "@burger"},
                    "text": text, "sentAt": chrono::Utc::now().to_rfc3339()})),
            )
            .await;
        assert!((200..300).contains(&s), "{m}");
        m["caseId"].as_str().unwrap().to_owned()
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

    pub(crate) async fn forward(&self, case: &str, department: &Value) {
        let (s, f) = self
            .json(
                reqwest::Method::POST,
                &format!("/api/v1/cases/{case}/forward"),
                Some(json!({"departmentId": department["id"], "question": "Kunnen jullie dit oppakken?"})),
            )
            .await;
        assert_eq!(s, 200, "{f}");
    }

    /// Polls the case's Open Klant jobs until there are `n` and none is pending.
    pub(crate) async fn settled(&self, case: &str, n: usize) -> Vec<KlantcontactJob> {
        let id = case.parse().unwrap();
        let mut last = Vec::new();
        for _ in 0..600 {
            last = self.store.case_klantcontact_jobs(id).await.unwrap();
            if last.len() >= n && last.iter().all(|j| j.state != "pending") {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the Open Klant jobs of {case} did not settle: {last:?}");
    }

    fn no_violations(&self) {
        assert_eq!(self.ok.violations(), Vec::<String>::new());
        assert_eq!(self.oz.violations(), Vec::<String>::new());
    }
}

fn uuid_of(url: &Value) -> &str {
    url.as_str().unwrap().rsplit('/').next().unwrap()
}

async fn inbound_and_outbound_messages_become_spec_valid_klantcontacten_with_one_partij(
    app: OkApp,
) {
    let acc = app.account().await;
    let case = app
        .message(
            &acc,
            "dm-1",
            "De lantaarnpaal is kapot. Mijn BSN is 123456782.",
        )
        .await;
    let jobs = app.settled(&case, 1).await;
    assert_eq!(jobs[0].state, "done", "{jobs:?}");
    // A reply, sent by the outbox to the channel's callback, is registered too.
    let (s, r) = app
        .json(
            reqwest::Method::POST,
            &format!("/api/v1/cases/{case}/replies"),
            Some(json!({"text": "Dank u, we sturen iemand langs."})),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let jobs = app.settled(&case, 2).await;
    assert!(jobs.iter().all(|j| j.state == "done"), "{jobs:?}");
    // Another message of the same citizen: the same partij.
    let other = app.message(&acc, "dm-2", "Nog een vraag over afval").await;
    app.settled(&other, 1).await;

    let kcs = app.ok.objects("klantcontacten");
    assert_eq!(kcs.len(), 3, "{kcs:?}");
    let inbound = kcs
        .iter()
        .find(|k| k["metadata"]["platformMessageId"] == "dm-1")
        .unwrap();
    assert_eq!(inbound["kanaal"], "Sociale media");
    assert_eq!(inbound["taal"], "nld");
    assert_eq!(inbound["vertrouwelijk"], true, "a private message");
    assert_eq!(inbound["indicatieContactGelukt"], true);
    assert_eq!(inbound["metadata"]["richting"], "inkomend");
    assert!(inbound["plaatsgevondenOp"].is_string());
    assert!(!inbound["inhoud"].as_str().unwrap().contains("123456782"));
    let outbound = kcs
        .iter()
        .find(|k| k["metadata"]["richting"] == "uitgaand")
        .unwrap();
    assert_eq!(outbound["inhoud"], "Dank u, we sturen iemand langs.");
    // Each klantcontact's url is kept on its job.
    assert!(jobs.iter().all(|j| kcs
        .iter()
        .any(|k| Some(k["url"].as_str().unwrap()) == j.klantcontact_url.as_deref())));
    // One partij for the citizen, found by one digitaal adres, betrokken at all three.
    let partijen = app.ok.objects("partijen");
    assert_eq!(partijen.len(), 1, "{partijen:?}");
    let adressen = app.ok.objects("digitaleadressen");
    assert_eq!(adressen.len(), 1);
    assert_eq!(adressen[0]["adres"], "api:burger-1");
    assert_eq!(adressen[0]["soortDigitaalAdres"], "overig");
    let betrokkenen = app.ok.objects("betrokkenen");
    assert_eq!(betrokkenen.len(), 3);
    assert!(betrokkenen
        .iter()
        .all(|b| b["wasPartij"]["uuid"] == partijen[0]["uuid"]));
    let initiators: Vec<bool> = kcs
        .iter()
        .map(|k| {
            let b = betrokkenen
                .iter()
                .find(|b| b["hadKlantcontact"]["uuid"] == k["uuid"])
                .unwrap();
            b["initiator"].as_bool().unwrap()
        })
        .collect();
    assert_eq!(
        initiators.iter().filter(|i| **i).count(),
        2,
        "the citizen began two"
    );
    // No zaak, no onderwerpobject; every call carried the token.
    assert!(app.ok.objects("onderwerpobjecten").is_empty());
    for r in app.ok.requests() {
        assert_eq!(r.authorization.as_deref(), Some(&*format!("Token {TOKEN}")));
    }
    app.no_violations();
}

async fn the_zaak_is_linked_and_a_forward_becomes_an_internetaak(app: OkApp) {
    let dept = app.department("Stadsbeheer").await;
    let (s, rule) = app
        .json(
            reqwest::Method::POST,
            "/api/v1/routing-rules",
            Some(
                json!({"name": "Lamp", "conditions": {"keywords": ["lantaarnpaal"]},
                "actions": {"createZaak": app.oz.catalogus.zaaktype}}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{rule}");
    let acc = app.account().await;
    // The ingest enqueues the zaak's create and the klantcontact; the klantcontact waits for the
    // zaak and links it.
    let case = app.message(&acc, "dm-1", "De lantaarnpaal is kapot").await;
    app.settled(&case, 1).await;
    let zaken = app.oz.zaken();
    assert_eq!(zaken.len(), 1);
    let objs = app.ok.objects("onderwerpobjecten");
    assert_eq!(objs.len(), 1, "{objs:?}");
    let kc = &app.ok.objects("klantcontacten")[0];
    assert_eq!(objs[0]["klantcontact"]["uuid"], kc["uuid"]);
    let id = &objs[0]["onderwerpobjectidentificator"];
    assert_eq!(id["codeObjecttype"], "zaak");
    assert_eq!(id["codeSoortObjectId"], "uuid");
    assert_eq!(id["objectId"], zaken[0]["uuid"]);
    // A forward: an internetaak for the department's actor on the citizen's klantcontact.
    app.forward(&case, &dept).await;
    let jobs = app.settled(&case, 3).await;
    assert!(jobs.iter().all(|j| j.state == "done"), "{jobs:?}");
    let taken = app.ok.objects("internetaken");
    assert_eq!(taken.len(), 1, "{taken:?}");
    assert_eq!(taken[0]["aanleidinggevendKlantcontact"]["uuid"], kc["uuid"]);
    assert_eq!(
        taken[0]["toegewezenAanActoren"][0]["uuid"],
        uuid_of(&json!(app.actor))
    );
    assert_eq!(taken[0]["status"], "te_verwerken");
    assert_eq!(taken[0]["toelichting"], "Kunnen jullie dit oppakken?");
    let taak = jobs
        .iter()
        .find(|j| j.kind == webcare_store::klantcontact::KlantcontactJobKind::Internetaak)
        .unwrap();
    assert_eq!(taak.internetaak_url.as_deref(), taken[0]["url"].as_str());
    // The zaak's link job found the klantcontact linked already: one onderwerpobject.
    assert_eq!(app.ok.objects("onderwerpobjecten").len(), 1);
    app.no_violations();
}

async fn a_zaak_made_later_is_linked_to_the_klantcontacten_before_it(app: OkApp) {
    let acc = app.account().await;
    let case = app
        .message(&acc, "dm-1", "Er ligt afval naast de container")
        .await;
    app.settled(&case, 1).await;
    assert!(app.ok.objects("onderwerpobjecten").is_empty());
    // An agent asks for the zaak afterwards: the registered klantcontact gets it, once.
    let (s, z) = app
        .json(
            reqwest::Method::POST,
            &format!("/api/v1/cases/{case}/zaak"),
            None,
        )
        .await;
    assert_eq!(s, 202, "{z}");
    let jobs = app.settled(&case, 2).await;
    assert!(jobs.iter().all(|j| j.state == "done"), "{jobs:?}");
    let zaken = app.oz.zaken();
    assert_eq!(zaken.len(), 1);
    let objs = app.ok.objects("onderwerpobjecten");
    assert_eq!(objs.len(), 1, "{objs:?}");
    let kc = &app.ok.objects("klantcontacten")[0];
    assert_eq!(objs[0]["klantcontact"]["uuid"], kc["uuid"]);
    assert_eq!(
        objs[0]["onderwerpobjectidentificator"]["objectId"],
        zaken[0]["uuid"]
    );
    // A message after the zaak links it itself.
    let again = app.message(&acc, "dm-2", "En nog een zak ernaast").await;
    assert_eq!(again, case, "threaded into the same case");
    let jobs = app.settled(&case, 3).await;
    assert!(jobs.iter().all(|j| j.state == "done"), "{jobs:?}");
    assert_eq!(app.ok.objects("onderwerpobjecten").len(), 2);
    app.no_violations();
}

async fn a_503_is_retried_and_a_lost_answer_is_found_instead_of_made_twice(app: OkApp) {
    let acc = app.account().await;
    // Open Klant's `onderwerp` filter is "contains": another klantcontact whose onderwerp
    // contains this message's is found by the look-up too, and must not be taken for it.
    let other = app.ok.add_klantcontact(
        "Sociale media",
        "Doorgestuurd: Bericht van inwoner via Sociale media (dm-1)",
    );
    // Pages of one: the look-up finds this message's klantcontact on page 2 only.
    app.ok.set_page_size(1);
    // The look-up answers 503 once, then the klantcontact is stored but its answer lost.
    app.ok.fail_next(1, 503);
    app.ok.drop_after_commit(1);
    let case = app.message(&acc, "dm-1", "Afval niet opgehaald").await;
    let jobs = app.settled(&case, 1).await;
    assert_eq!(jobs[0].state, "done", "{jobs:?}");
    assert!(jobs[0].attempts >= 3, "{jobs:?}");
    let kcs = app.ok.objects("klantcontacten");
    assert_eq!(
        kcs.len(),
        2,
        "the other one and this message's: never a second"
    );
    assert_ne!(jobs[0].klantcontact_url.as_deref(), Some(other.as_str()));
    assert_eq!(jobs[0].klantcontact_url.as_deref(), kcs[1]["url"].as_str());
    assert_eq!(app.ok.objects("betrokkenen").len(), 1);
    let statuses: Vec<u16> = app.ok.requests().iter().map(|r| r.status).collect();
    assert!(
        statuses.contains(&503) && statuses.contains(&500),
        "{statuses:?}"
    );
    assert!(
        app.ok
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/klantcontacten") && r.query.contains("page=2")),
        "the look-up followed `next`"
    );
    app.no_violations();
}

async fn a_refusal_fails_the_job_with_open_klants_reason(app: OkApp) {
    let acc = app.account().await;
    let case = app.message(&acc, "dm-1", "Vraag over een paspoort").await;
    app.settled(&case, 1).await;
    // Burgerzaken's configured actor does not exist in Open Klant: 400, not retried.
    let dept = app.department("Burgerzaken").await;
    app.forward(&case, &dept).await;
    let jobs = app.settled(&case, 2).await;
    assert_eq!(jobs[1].state, "failed", "{jobs:?}");
    assert_eq!(jobs[1].attempts, 1, "a refusal is not retried");
    let why = jobs[1].last_error.as_deref().unwrap();
    assert!(
        why.starts_with("400") && why.contains("toegewezenAanActoren.0 (does_not_exist)"),
        "{why}"
    );
    // Agents see it on the case.
    let (s, shown) = app
        .json(
            reqwest::Method::GET,
            &format!("/api/v1/cases/{case}/klantcontacten"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{shown}");
    assert_eq!(shown["jobs"][0]["kind"], "klantcontact");
    assert_eq!(shown["jobs"][0]["state"], "done");
    assert!(shown["jobs"][0]["klantcontactUrl"].is_string());
    assert_eq!(shown["jobs"][1]["kind"], "internetaak");
    assert_eq!(shown["jobs"][1]["state"], "failed");
    assert_eq!(shown["jobs"][1]["lastError"], why);
    let (s, _) = app
        .json(
            reqwest::Method::GET,
            &format!("/api/v1/cases/{}/klantcontacten", uuid::Uuid::now_v7()),
            None,
        )
        .await;
    assert_eq!(s, 404);
    // A department without a configured actor: failed with a reason that names the setting.
    let acc2 = app.account().await;
    let other = app.message(&acc2, "dm-2", "Nog een vraag").await;
    let (s, _) = app
        .json(
            reqwest::Method::POST,
            &format!("/api/v1/cases/{other}/forward"),
            Some(json!({"departmentId": app.department("Sport").await["id"], "question": "?"})),
        )
        .await;
    assert_eq!(s, 200);
    let jobs = app.settled(&other, 2).await;
    let failed = jobs.iter().find(|j| j.state == "failed").unwrap();
    assert!(
        failed
            .last_error
            .as_deref()
            .unwrap()
            .contains("openklant.actoren"),
        "{failed:?}"
    );
    assert!(app.ok.objects("internetaken").is_empty());
    // The refused body was spec-valid: Open Klant refused the reference, not the shape.
    app.no_violations();
}

async fn without_openklant_nothing_is_registered(backend: Backend) {
    let Some(app) = OkApp::spawn_with(backend, false).await else {
        return;
    };
    let acc = app.account().await;
    let case = app.message(&acc, "dm-1", "Hallo").await;
    let dept = app.department("Stadsbeheer").await;
    app.forward(&case, &dept).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let jobs = app
        .store
        .case_klantcontact_jobs(case.parse().unwrap())
        .await
        .unwrap();
    assert!(jobs.is_empty(), "{jobs:?}");
    assert!(app.ok.requests().is_empty());
}

/// A klantcontact registered in Open Klant by the KCC's phone (not by the desk) for the partij of
/// a contact the desk knows is a note and a live event on the contact's open case; the desk's
/// own registrations, and a partij it does not know, change nothing. The abonnement takes kanaal
/// `klantcontacten` (which the fake Open Notificaties knows) next to `zaken`.
async fn a_klantcontact_by_phone_is_a_note_on_the_contacts_open_case(app: OkApp) {
    use crate::notificaties::{notes, notify, processed};
    use crate::zaak::CALLBACK_AUTH;
    let on = webcare_fakes::zgw::notificaties::FakeOpenNotificaties::start(
        "webcare",
        crate::zaak::SECRET,
    )
    .await
    .unwrap();
    let mut body = crate::zgw_admin::settings_body(&app.oz);
    body["notificatiesUrl"] = json!(on.api_url());
    body["publicUrl"] = json!(app.base);
    let (s, v) = app
        .json(reqwest::Method::PUT, "/api/v1/zgw/settings", Some(body))
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, a) = app
        .json(reqwest::Method::POST, "/api/v1/zgw/abonnement", None)
        .await;
    assert_eq!(s, 201, "{a}");
    let kanalen: Vec<Value> = on.abonnementen()[0]["kanalen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["naam"].clone())
        .collect();
    assert_eq!(kanalen, vec![json!("zaken"), json!("klantcontacten")]);
    assert_eq!(on.violations(), Vec::<String>::new());

    let acc = app.account().await;
    let case = app
        .message(&acc, "dm-1", "Mijn container is niet geleegd")
        .await;
    app.settled(&case, 1).await;
    let partij = app.ok.objects("partijen")[0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let ours = app.ok.objects("klantcontacten")[0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let our_betrokkene = app.ok.objects("betrokkenen")[0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    // The citizen also phoned; the KCC registered it in Open Klant.
    let phone = app
        .ok
        .add_klantcontact("Telefoon", "Inwoner belde over de container");
    let phone_betrokkene = app.ok.add_betrokkene(&phone, &partij);
    let message = |kc: &str, betrokkene: &str| {
        json!({"kanaal": "klantcontacten", "hoofdObject": kc, "resource": "betrokkene",
            "resourceUrl": betrokkene, "actie": "create",
            "aanmaakdatum": chrono::Utc::now().to_rfc3339(), "kenmerken": {}})
    };
    let phoned = message(&phone, &phone_betrokkene);
    assert_eq!(
        notify(&app.client, &app.base, None, &phoned).await.status(),
        401
    );
    let wrong = notify(&app.client, &app.base, Some("Bearer fout"), &phoned).await;
    assert_eq!(wrong.status(), 403);
    assert_eq!(on.publish(&phoned).await, vec![204]);
    // Open Notificaties retries it: recorded once.
    let again = notify(&app.client, &app.base, Some(CALLBACK_AUTH), &phoned).await;
    assert_eq!(again.status(), 204);
    // The desk's own klantcontact, and one of a partij the desk does not know: ignored.
    assert_eq!(
        on.publish(&message(&ours, &our_betrokkene)).await,
        vec![204]
    );
    let stranger = reqwest::Client::new()
        .post(format!("{}/partijen", app.ok.url()))
        .header("Authorization", format!("Token {TOKEN}"))
        .json(&webcare_domain::openklant::partij_request())
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let other = app
        .ok
        .add_klantcontact("Balie", "Iemand anders aan de balie");
    let other_betrokkene = app
        .ok
        .add_betrokkene(&other, stranger["url"].as_str().unwrap());
    assert_eq!(
        on.publish(&message(&other, &other_betrokkene)).await,
        vec![204]
    );

    let all: Vec<_> = processed(&*app.store)
        .await
        .into_iter()
        .filter(|n| n.kanaal == "klantcontacten")
        .collect();
    assert_eq!(all.len(), 3, "the retried one once: {all:?}");
    assert!(all.iter().all(|n| n.state == "done"), "{all:?}");
    let noted = notes(&*app.store, &case).await;
    assert_eq!(
        noted,
        vec!["Klantcontact via Telefoon geregistreerd in Open Klant: Inwoner belde over de container"]
    );
    let events = app.store.events_after(0, 10_000).await.unwrap();
    let registered: Vec<_> = events
        .iter()
        .filter(|e| e.event.kind == "klantcontact.registered")
        .collect();
    assert_eq!(registered.len(), 1);
    assert_eq!(
        registered[0].event.case_id.map(|c| c.to_string()),
        Some(case)
    );
    assert_eq!(registered[0].event.payload["klantcontact"], phone.as_str());
    assert_eq!(on.violations(), Vec::<String>::new());
    app.no_violations();
}

/// Two cases of one contact registered at once by two nodes: the node that makes the contact's
/// partij claims the contact, the other waits, so Open Klant gets one partij.
async fn two_nodes_make_one_partij_for_a_contact(app: OkApp) {
    let (_other, _) = crate::zaak::start_with_outbox(&app.cfg).await;
    let acc = app.account().await;
    // Making a partij is slow: the first node is still at it when the second case comes in.
    app.ok.delay_posts("partijen", Duration::from_millis(1500));
    let first = app
        .message_as(&acc, "post-1", "De lantaarnpaal is kapot", "public")
        .await;
    for _ in 0..400 {
        if !app.ok.objects("klantcontacten").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let second = app
        .message_as(&acc, "post-2", "En de stoep ernaast ook", "public")
        .await;
    assert_ne!(first, second, "two cases of one contact");
    for case in [&first, &second] {
        let jobs = app.settled(case, 1).await;
        assert_eq!(jobs[0].state, "done", "{jobs:?}");
    }
    let partijen = app.ok.objects("partijen");
    assert_eq!(partijen.len(), 1, "{partijen:?}");
    assert_eq!(app.ok.objects("digitaleadressen").len(), 1);
    let betrokkenen = app.ok.objects("betrokkenen");
    assert_eq!(betrokkenen.len(), 2);
    assert!(betrokkenen
        .iter()
        .all(|b| b["wasPartij"]["uuid"] == partijen[0]["uuid"]));
    app.no_violations();
}
