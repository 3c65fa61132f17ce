//! Beheer: the webhooks page over plain HTTP. The admin adds webhooks (event types as
//! checkboxes; the signing secret shown once) and deletes them; the API's URL refusals are shown
//! in Dutch beside the field; other roles get a 403 page.

use super::{between, desk, desk_user, Web};
use crate::agent::{citizen_message, send};
use serde_json::{json, Value};
use webcare_e2e::{both_backends, TestApp};

both_backends!(
    the_admin_manages_webhooks_on_the_page,
    the_admin_reads_the_delivery_log_of_a_webhook,
);

async fn hooks(app: &TestApp) -> Vec<Value> {
    let (s, b) = send(app.get("/api/v1/webhooks")).await;
    assert_eq!(s, 200, "{b}");
    b.as_array().cloned().unwrap_or_default()
}

async fn the_admin_manages_webhooks_on_the_page(app: TestApp) {
    desk(&app).await;
    desk_user(
        &app,
        json!({"name": "Ada Beheer", "email": "ada@gemeente.test", "role": "admin", "teams": []}),
    )
    .await;
    let ada = Web::sign_in(&app, "ada@gemeente.test").await;
    let p = ada.get("/beheer/webhooks").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains(r#"href="/beheer/webhooks">Webhooks</a>"#));
    assert!(p
        .body
        .contains(r#"<label class="utrecht-form-label" for="url">"#));
    assert!(
        p.body.contains(r#"<label class="utrecht-form-label" for="gebeurtenissen-1">Nieuwe zaak (case.created)</label>"#),
        "{}",
        p.body
    );

    // The API's refusals, in Dutch beside the fields; nothing made.
    let own = format!("{}/hook", app.base);
    for (url, events, field, text) in [
        (
            "ftp://zaak.example.test/hook",
            "case.created",
            "url",
            "Alleen adressen met http:// of https://.",
        ),
        (
            "geen adres",
            "case.created",
            "url",
            "Vul een volledig adres in, dat begint met http:// of https://.",
        ),
        (
            own.as_str(),
            "case.created",
            "url",
            "Het adres mag niet naar deze desk zelf wijzen.",
        ),
        (
            "https://zaak.example.test/hook",
            "",
            "gebeurtenissen",
            "Kies minstens één gebeurtenis.",
        ),
        (
            "https://zaak.example.test/hook",
            "case.gone",
            "gebeurtenissen",
            "Kies alleen gebeurtenissen uit de lijst.",
        ),
    ] {
        let mut form = vec![("url", url)];
        if !events.is_empty() {
            form.push(("gebeurtenissen", events));
        }
        let p = ada.post("/beheer/webhooks", &form).await;
        assert_eq!(p.status, 400, "{url}: {}", p.body);
        assert!(
            p.body.contains(&format!(r#"id="{field}-error">{text}"#)),
            "{url}: {}",
            p.body
        );
        assert!(p.body.contains(&format!(r#"value="{url}""#)), "{}", p.body);
    }
    assert!(hooks(&app).await.is_empty());

    let p = ada
        .post(
            "/beheer/webhooks",
            &[
                ("url", "https://zaak.example.test/hook"),
                ("gebeurtenissen", "case.created"),
                ("gebeurtenissen", "sla.breached"),
            ],
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    let secret = between(&p.body, r#"id="geheim" value=""#, "\"")
        .expect("the secret on the page")
        .to_owned();
    let all = hooks(&app).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["url"], "https://zaak.example.test/hook");
    assert_eq!(
        all[0]["eventTypes"],
        json!(["case.created", "sla.breached"])
    );
    let id = all[0]["id"].as_str().unwrap().to_owned();
    let stored = app
        .store
        .get_webhook(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.secret, secret);

    // The list shows it, never the secret.
    let p = ada.get("/beheer/webhooks").await;
    assert!(
        p.body.contains("https://zaak.example.test/hook</td>"),
        "{}",
        p.body
    );
    assert!(p.body.contains("case.created\nsla.breached"), "{}", p.body);
    assert!(!p.body.contains(&secret));

    // Without the CSRF token, or not the admin: refused.
    let delete = format!("/beheer/webhooks/{id}/verwijder");
    assert_eq!(ada.post_raw(&delete, &[]).await.status, 403);
    let form = [
        ("url", "https://ander.example.test/"),
        ("gebeurtenissen", "case.created"),
    ];
    assert_eq!(ada.post_raw("/beheer/webhooks", &form).await.status, 403);
    let anna = Web::sign_in(&app, "anna@gemeente.test").await;
    assert_eq!(anna.get("/beheer/webhooks").await.status, 403);
    assert_eq!(anna.post("/beheer/webhooks", &form).await.status, 403);
    assert_eq!(anna.post(&delete, &[]).await.status, 403);
    let p = anna.get("/beheer/tokens").await;
    assert!(!p.body.contains("/beheer/webhooks"), "{}", p.body);
    assert_eq!(hooks(&app).await.len(), 1);

    // Deleted: gone, and a second delete finds nothing.
    let p = ada.post(&delete, &[]).await;
    assert_eq!(
        (p.status, p.location()),
        (303, "/beheer/webhooks"),
        "{}",
        p.body
    );
    assert!(hooks(&app).await.is_empty());
    assert_eq!(ada.post(&delete, &[]).await.status, 404);
}

async fn the_admin_reads_the_delivery_log_of_a_webhook(app: TestApp) {
    let d = desk(&app).await;
    desk_user(
        &app,
        json!({"name": "Ada Beheer", "email": "ada@gemeente.test", "role": "admin"}),
    )
    .await;
    let ada = Web::sign_in(&app, "ada@gemeente.test").await;
    let body = json!({"url": "https://zaak.example.test/hook", "eventTypes": ["case.created", "message.received"]});
    let (s, w) = send(app.post("/api/v1/webhooks", &body)).await;
    assert_eq!(s, 201, "{w}");
    let id = w["id"].as_str().unwrap().to_owned();
    let page = format!("/beheer/webhooks/{id}");

    // Linked from the list; no deliveries yet.
    let p = ada.get("/beheer/webhooks").await;
    assert!(
        p.body.contains(&format!(r#"href="{page}">Leveringen"#)),
        "{}",
        p.body
    );
    let p = ada.get(&page).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("Nog geen leveringen."), "{}", p.body);

    // A citizen's message: a new case and a message, each a delivery.
    citizen_message(
        &app,
        &d.account,
        "wh-1",
        ("u-1", "Jan"),
        "Lantaarnpaal kapot",
    )
    .await;
    let (s, log) = send(app.get(&format!("/api/v1/webhooks/{id}/deliveries"))).await;
    assert_eq!(s, 200, "{log}");
    let log = log.as_array().cloned().unwrap_or_default();
    assert_eq!(log.len(), 2, "{log:?}");
    let p = ada.get(&page).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains("<dd>https://zaak.example.test/hook</dd>"),
        "{}",
        p.body
    );
    let rows: Vec<&str> = p
        .body
        .split("<tr class=\"utrecht-table__row\">")
        .skip(2)
        .collect();
    assert_eq!(rows.len(), 2, "{}", p.body);
    // Newest first: the log's last event on top, with its type.
    let newest = log
        .iter()
        .filter_map(|d| d["eventSeq"].as_i64())
        .max()
        .unwrap();
    let event = app.store.events_after(newest - 1, 1).await.unwrap();
    let label = match event[0].event.kind.as_str() {
        "case.created" => "Nieuwe zaak (case.created)",
        "message.received" => "Bericht ontvangen (message.received)",
        other => panic!("not subscribed: {other}"),
    };
    assert!(rows[0].contains(label), "{label}: {}", rows[0]);
    assert!(p.body.contains("Nieuwe zaak (case.created)"));
    assert!(p.body.contains("Bericht ontvangen (message.received)"));

    // Admin only; an unknown webhook is a 404 page.
    let anna = Web::sign_in(&app, "anna@gemeente.test").await;
    assert_eq!(anna.get(&page).await.status, 403);
    assert_eq!(ada.get("/beheer/webhooks/geen-id").await.status, 404);
    let unknown = format!("/beheer/webhooks/{}", uuid::Uuid::new_v4());
    assert_eq!(ada.get(&unknown).await.status, 404);
}
