//! Prometheus `/metrics` (issue 17): behind a token on the main address and on a separate
//! address without one; a scrape shows the counters move with what the desk does (HTTP requests
//! by route template, ingest outcomes, SSE subscribers, the journal's and the queues' gauges). On
//! both databases.

use serde_json::{json, Value};
use std::time::Duration;
use webcare::app::{App, Workers};
use webcare::config::{Config, MetricsConfig, Secret};
use webcare_e2e::Backend;

const TOKEN: &str = "metrics-scrape-token-0123456789";

struct Desk {
    app: App,
    admin: String,
    client: reqwest::Client,
}

impl Desk {
    async fn start(backend: Backend) -> Option<Desk> {
        let url = webcare_store::testing::fresh_database_url(backend).await?;
        let cfg = Config {
            database_url: Secret(url),
            bind: "127.0.0.1:0".into(),
            max_db_connections: 4,
            metrics: MetricsConfig {
                bind: Some("127.0.0.1:0".into()),
                token: Some(Secret(TOKEN.into())),
            },
            ..Default::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app = App::start_on(&cfg, listener, Workers::none())
            .await
            .unwrap();
        let admin = webcare_store::token::generate();
        app.store
            .create_token(
                "admin",
                webcare_domain::Role::Admin,
                &webcare_store::token::hash(&admin),
            )
            .await
            .unwrap();
        Some(Desk {
            app,
            admin,
            client: reqwest::Client::new(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.app.addr)
    }

    async fn scrape(&self) -> String {
        let res = self
            .client
            .get(self.url("/metrics"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        res.text().await.unwrap()
    }
}

/// The sum of the samples of `name` whose labels include every `k="v"` of `labels`.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, v) = l.rsplit_once(' ')?;
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            (n == name
                && labels
                    .iter()
                    .all(|(k, want)| rest.contains(&format!("{k}=\"{want}\""))))
            .then(|| v.parse::<f64>().ok())
            .flatten()
        })
        .sum()
}

macro_rules! both {
    ($($name:ident),*) => {
        mod sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { if let Some(d) = super::Desk::start(webcare_e2e::Backend::Sqlite).await { super::$name(d).await } } )* }
        mod postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { if let Some(d) = super::Desk::start(webcare_e2e::Backend::Postgres).await { super::$name(d).await } } )* }
    };
}

both!(a_scrape_shows_the_counters_move);

async fn a_scrape_shows_the_counters_move(d: Desk) {
    // Only with the token on the main address.
    let res = d.client.get(d.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = d
        .client
        .get(d.url("/metrics"))
        .bearer_auth("wrong-token-wrong-token-wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let healthz = [("method", "GET"), ("route", "/healthz"), ("status", "200")];
    let case_route = [("route", "/api/v1/cases/{id}"), ("status", "404")];
    let before = d.scrape().await;
    for _ in 0..3 {
        let r = d.client.get(d.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    // A route with an id is counted under its template, not its path.
    let r = d
        .client
        .get(d.url(&format!("/api/v1/cases/{}", uuid::Uuid::now_v7())))
        .bearer_auth(&d.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Ingest: one stored, then the same again (a duplicate).
    let res = d
        .client
        .post(d.url("/api/v1/channel-accounts"))
        .bearer_auth(&d.admin)
        .json(
            &json!({"kind": "api", "name": "Formulier", "externalId": "form-1",
            "callbackUrl": "https://example.org/callback", "credentials": {"webhookSecret": "s"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let account: Value = res.json().await.unwrap();
    let msg = json!({"channelAccountId": account["id"], "platformMessageId": "metrics-1",
        "author": {"platformUserId": "burger-1"}, "text": "Hallo", "sentAt": chrono::Utc::now()});
    for want in [201, 200] {
        let r = d
            .client
            .post(d.url("/api/v1/messages"))
            .bearer_auth(&d.admin)
            .json(&msg)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want);
    }
    // A reply queued on a desk without an outbox worker: it waits.
    let case = d
        .client
        .get(d.url("/api/v1/cases"))
        .bearer_auth(&d.admin)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = d
        .client
        .post(d.url(&format!("/api/v1/cases/{case}/replies")))
        .bearer_auth(&d.admin)
        .json(&json!({"text": "We kijken ernaar."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // An open live-event stream.
    let stream = d
        .client
        .get(d.url("/api/v1/events"))
        .bearer_auth(&d.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    tokio::time::sleep(Duration::from_millis(100)).await;

    let after = d.scrape().await;
    let grew = |name: &str, labels: &[(&str, &str)], by: f64| {
        let (b, a) = (value(&before, name, labels), value(&after, name, labels));
        assert!(a >= b + by, "{name} {labels:?}: {b} -> {a}\n{after}");
    };
    grew("webcare_http_requests_total", &healthz, 3.0);
    grew("webcare_http_requests_total", &case_route, 1.0);
    grew(
        "webcare_http_request_duration_seconds_count",
        &[("route", "/healthz")],
        3.0,
    );
    grew(
        "webcare_ingest_messages_total",
        &[("outcome", "stored")],
        1.0,
    );
    grew(
        "webcare_ingest_messages_total",
        &[("outcome", "duplicate")],
        1.0,
    );
    assert!(
        !after.contains(r#"route="/api/v1/cases/0"#),
        "raw paths never become labels"
    );
    assert!(
        value(&after, "webcare_sse_subscribers", &[]) >= 1.0,
        "{after}"
    );
    assert!(after.contains("webcare_journal_pending "), "{after}");
    assert!(after.contains("webcare_journal_oldest_pending_age_seconds "));
    assert!(
        value(&after, "webcare_db_connections_open", &[]) >= 1.0,
        "{after}"
    );
    assert!(after.contains("webcare_db_connections_in_use "));
    // The queues: the waiting reply, the new case's armed reaction and resolution clocks.
    assert!(
        value(&after, "webcare_outbox_pending", &[]) >= 1.0,
        "{after}"
    );
    assert!(after.contains("webcare_outbox_failed "), "{after}");
    assert!(
        value(&after, "webcare_sla_clocks_armed", &[]) >= 1.0,
        "{after}"
    );
    assert!(
        after.contains("webcare_webhook_deliveries_pending "),
        "{after}"
    );
    drop(stream);

    // The separate address needs no token.
    let addr = d.app.metrics_addr.expect("metrics.bind is served");
    let res = d
        .client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("webcare_http_requests_total"));
}
