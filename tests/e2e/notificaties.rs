//! The Notificaties API callback (issue 14): its auth (401 without, 403 wrong), 204 and one
//! record for a retried delivery, and what a notification does: a zaak closed in the
//! zaaksysteem resolves its case once (clocks stopped), another status is a note and a live
//! event, a zaak the desk does not know is ignored. Against the fake Open Zaak, whose statussen
//! the worker fetches with JWT-ZGW.

use crate::zaak::{ZaakApp, CALLBACK_AUTH};
use serde_json::{json, Value};
use std::time::Duration;
use webcare_e2e::expect_problem;
use webcare_store::Store;

webcare_e2e::both_backends!(
    app = crate::zaak::ZaakApp;
    the_callback_needs_the_abonnements_auth_and_a_valid_message,
    a_retried_notification_is_recorded_once,
    a_zaak_closed_in_the_zaaksysteem_resolves_its_case_once,
    another_status_is_a_note_and_a_live_event,
    a_zaak_the_desk_does_not_know_is_ignored,
);

fn message(zaak: &str, resource: &str, resource_url: &str) -> Value {
    json!({
        "kanaal": "zaken", "hoofdObject": zaak, "resource": resource, "resourceUrl": resource_url,
        "actie": if resource == "status" { "create" } else { "partial_update" },
        "aanmaakdatum": chrono::Utc::now().to_rfc3339(),
        "kenmerken": {"bronorganisatie": "002220647", "vertrouwelijkheidaanduiding": "zaakvertrouwelijk"},
    })
}

/// The names of a problem's `invalidParams`.
fn param_names(p: &Value) -> Vec<String> {
    p["invalidParams"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["name"].as_str().map(str::to_owned))
        .collect()
}

/// Posts `body` to the desk's Notificaties callback at `base`, with `auth` as its header.
pub(crate) async fn notify(
    client: &reqwest::Client,
    base: &str,
    auth: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut r = client
        .post(format!("{base}/api/v1/notificaties"))
        .json(body);
    if let Some(a) = auth {
        r = r.header("authorization", a);
    }
    r.send().await.unwrap()
}

/// Waits until every recorded notification is processed; answers them.
pub(crate) async fn processed(store: &dyn Store) -> Vec<webcare_store::notificatie::Notificatie> {
    for _ in 0..400 {
        let all = store.notificaties().await.unwrap();
        if all.iter().all(|n| n.state != "pending") {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "notifications left pending: {:?}",
        store.notificaties().await
    );
}

/// The texts of a case's notes, oldest first.
pub(crate) async fn notes(store: &dyn Store, case: &str) -> Vec<String> {
    store
        .list_notes(case.parse().unwrap())
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.text)
        .collect()
}

impl ZaakApp {
    async fn notify(&self, auth: Option<&str>, body: &Value) -> reqwest::Response {
        notify(&self.client, &self.base, auth, body).await
    }

    async fn processed(&self) -> Vec<webcare_store::notificatie::Notificatie> {
        processed(&*self.store).await
    }

    /// A case with its zaak made at the fake Open Zaak; answers the case id and the zaak URL.
    async fn case_with_zaak(&self, text: &str) -> (String, String) {
        let case = self.case(text).await;
        let (s, z) = self.request_zaak(&case).await;
        assert_eq!(s, 202, "{z}");
        let z = self.settled(&case).await;
        let url = z["url"].as_str().expect("the zaak is created").to_owned();
        (case, url)
    }

    async fn case_json(&self, case: &str) -> Value {
        let (s, c) = self
            .json(reqwest::Method::GET, &format!("/api/v1/cases/{case}"), None)
            .await;
        assert_eq!(s, 200, "{c}");
        c
    }

    async fn notes(&self, case: &str) -> Vec<String> {
        notes(&*self.store, case).await
    }
}

async fn the_callback_needs_the_abonnements_auth_and_a_valid_message(app: ZaakApp) {
    let body = message(
        "http://oz.example/zaken/api/v1/zaken/1",
        "zaak",
        "http://oz.example/zaken/api/v1/zaken/1",
    );
    let res = app.notify(None, &body).await;
    expect_problem(res, 401).await;
    for wrong in [
        "Bearer iets-anders",
        "een-notificaties-geheim",
        "Bearer een-notificaties-geheimX",
    ] {
        let res = app.notify(Some(wrong), &body).await;
        expect_problem(res, 403).await;
    }
    // The desk's own API token is not the abonnement's auth either.
    let res = app
        .client
        .post(format!("{}/api/v1/notificaties", app.base))
        .bearer_auth("wc_not-the-callback")
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_problem(res, 403).await;
    // A message without its required fields, or with a resourceUrl that is no URL: 400 naming
    // them, nothing recorded.
    let mut bad = body.clone();
    bad.as_object_mut().unwrap().remove("actie");
    bad["resourceUrl"] = json!("geen url");
    let res = app.notify(Some(CALLBACK_AUTH), &bad).await;
    let p = expect_problem(res, 400).await;
    let names = param_names(&p);
    assert!(names.iter().any(|n| n == "actie"), "{p}");
    let mut bad = body.clone();
    bad["resourceUrl"] = json!("geen url");
    bad["kanaal"] = json!("");
    let res = app.notify(Some(CALLBACK_AUTH), &bad).await;
    let p = expect_problem(res, 400).await;
    let names = param_names(&p);
    assert!(
        names.iter().any(|n| n == "resourceUrl") && names.iter().any(|n| n == "kanaal"),
        "{p}"
    );
    assert!(app.store.notificaties().await.unwrap().is_empty());
    // The bare secret as a Bearer token is the same auth; the whole header too.
    let res = app.notify(Some(CALLBACK_AUTH), &body).await;
    assert_eq!(res.status(), 204);
    assert_eq!(app.store.notificaties().await.unwrap().len(), 1);
}

async fn a_retried_notification_is_recorded_once(app: ZaakApp) {
    let (case, zaak) = app.case_with_zaak("Mijn container is niet geleegd").await;
    let status = app
        .oz
        .set_status_in_zaaksysteem(&zaak, &app.oz.catalogus.statustype_in_behandeling)
        .unwrap();
    let body = message(&zaak, "status", &status);
    for _ in 0..3 {
        let res = app.notify(Some(CALLBACK_AUTH), &body).await;
        assert_eq!(res.status(), 204);
    }
    let all = app.processed().await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].state, "done");
    // A retry after processing is still one record, and one note.
    let res = app.notify(Some(CALLBACK_AUTH), &body).await;
    assert_eq!(res.status(), 204);
    assert_eq!(app.processed().await.len(), 1);
    let notes = app.notes(&case).await;
    assert_eq!(
        notes
            .iter()
            .filter(|n| n.contains("in het zaaksysteem"))
            .count(),
        1,
        "{notes:?}"
    );
    app.no_violations();
}

async fn a_zaak_closed_in_the_zaaksysteem_resolves_its_case_once(app: ZaakApp) {
    let (case, zaak) = app.case_with_zaak("De stoep is opgebroken").await;
    let before = app.case_json(&case).await;
    assert_eq!(before["status"], "new");
    assert_eq!(before["sla"]["resolution"]["state"], "running", "{before}");
    let eind = app
        .oz
        .set_status_in_zaaksysteem(&zaak, &app.oz.catalogus.statustype_afgerond)
        .unwrap();
    let res = app
        .notify(Some(CALLBACK_AUTH), &message(&zaak, "status", &eind))
        .await;
    assert_eq!(res.status(), 204);
    // Open Zaak also notifies the zaak's own update (its einddatum): the same close, a no-op.
    let res = app
        .notify(Some(CALLBACK_AUTH), &message(&zaak, "zaak", &zaak))
        .await;
    assert_eq!(res.status(), 204);
    let all = app.processed().await;
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|n| n.state == "done"), "{all:?}");
    let after = app.case_json(&case).await;
    assert_eq!(after["status"], "resolved", "{after}");
    assert_ne!(
        after["sla"]["resolution"]["state"], "running",
        "the resolution clock stopped: {after}"
    );
    let notes = app.notes(&case).await;
    assert_eq!(
        notes
            .iter()
            .filter(|n| *n == "Zaak afgesloten in het zaaksysteem")
            .count(),
        1,
        "{notes:?}"
    );
    // The resolve's own close job finds the zaak closed and sends nothing more: no second
    // resultaat, no second eindstatus.
    let z = app.settled(&case).await;
    let unfinished = z["jobs"]
        .as_array()
        .map(|jobs| jobs.iter().filter(|j| j["state"] != "done").count());
    assert_eq!(unfinished, Some(0), "{z}");
    assert_eq!(app.oz.resultaten().len(), 1);
    let eindstatussen = app
        .oz
        .statussen()
        .iter()
        .filter(|s| s["statustype"] == app.oz.catalogus.statustype_afgerond.as_str())
        .count();
    assert_eq!(eindstatussen, 1);
    let resolved_events = app
        .store
        .events_after(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| {
            e.event.kind == "case.resolved"
                && e.event.case_id.map(|c| c.to_string()) == Some(case.clone())
        })
        .count();
    assert_eq!(resolved_events, 1);
    app.no_violations();
}

async fn another_status_is_a_note_and_a_live_event(app: ZaakApp) {
    let (case, zaak) = app
        .case_with_zaak("Er hangt een tak over het fietspad")
        .await;
    let status = app
        .oz
        .set_status_in_zaaksysteem(&zaak, &app.oz.catalogus.statustype_in_behandeling)
        .unwrap();
    let res = app
        .notify(Some(CALLBACK_AUTH), &message(&zaak, "status", &status))
        .await;
    assert_eq!(res.status(), 204);
    app.processed().await;
    let c = app.case_json(&case).await;
    assert_eq!(c["status"], "new", "a status change does not resolve");
    let notes = app.notes(&case).await;
    assert!(
        notes.iter().any(|n| n
            == "Status van de zaak in het zaaksysteem: in behandeling (Gezet door de behandelaar)"),
        "{notes:?}"
    );
    let events = app.store.events_after(0, 10_000).await.unwrap();
    let changed: Vec<_> = events
        .iter()
        .filter(|e| e.event.kind == "zaak.status_changed")
        .collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(
        changed[0].event.case_id.map(|c| c.to_string()),
        Some(case.clone())
    );
    assert_eq!(changed[0].event.payload["status"], "in behandeling");
    app.no_violations();
}

async fn a_zaak_the_desk_does_not_know_is_ignored(app: ZaakApp) {
    let (case, _) = app
        .case_with_zaak("Graag een nieuwe groene container")
        .await;
    let requests = app.oz.requests().len();
    let other = format!("{}/zaken/{}", app.oz.zaken_url(), uuid::Uuid::new_v4());
    let res = app
        .notify(Some(CALLBACK_AUTH), &message(&other, "zaak", &other))
        .await;
    assert_eq!(res.status(), 204);
    let all = app.processed().await;
    assert_eq!(all[0].state, "done");
    // Nothing fetched, nothing changed.
    assert_eq!(app.oz.requests().len(), requests);
    assert_eq!(app.case_json(&case).await["status"], "new");
    assert!(app.notes(&case).await.is_empty());
}
