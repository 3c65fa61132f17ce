//! Connector test harness: the desk (real router and connector workers) plus the fake platforms,
//! with helpers to post correctly (or wrongly) signed webhooks and wait for processing.

use crate::{Backend, TestApp};
use serde_json::{json, Value};
use std::time::Duration;
use webcare_connectors::signature::{sign_meta, sign_x};
pub use webcare_fakes::{FakePlatforms, Fault};
use webcare_workers::{outbox::OutboxConfig, WorkerConfig};

pub const APP_SECRET: &str = "meta-app-secret-1234";
pub const VERIFY_TOKEN: &str = "verify-me-please";
pub const PAGE_TOKEN: &str = "EAAG-page-token";
pub const X_CONSUMER_SECRET: &str = "x-consumer-secret-5678";
pub const X_TOKEN: &str = "x-user-token";
pub const API_SECRET: &str = "api-callback-secret";

pub struct ConnApp {
    pub app: TestApp,
    pub fakes: FakePlatforms,
}

impl std::ops::Deref for ConnApp {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

/// Worker settings fast enough for tests.
pub fn test_workers() -> WorkerConfig {
    WorkerConfig {
        journal: true,
        outbox: Some(OutboxConfig {
            lease: chrono::Duration::seconds(30),
            http_timeout: Duration::from_secs(2),
            max_attempts: 4,
            base_backoff: chrono::Duration::milliseconds(100),
            in_doubt_grace: chrono::Duration::seconds(1),
            poll_interval: Duration::from_millis(50),
            ..Default::default()
        }),
        x_poller: None,
        journal_sweep: Duration::from_millis(100),
    }
}

impl ConnApp {
    pub async fn spawn(backend: Backend) -> Option<ConnApp> {
        Self::spawn_with(backend, Some(test_workers())).await
    }

    /// `workers: None` runs the HTTP side only (deliveries are still processed right after they
    /// are accepted, but the outbox and sweeps do not run).
    pub async fn spawn_with(backend: Backend, workers: Option<WorkerConfig>) -> Option<ConnApp> {
        let url = webcare_store::testing::fresh_database_url(backend).await?;
        let fakes = FakePlatforms::start().await.expect("fakes");
        Some(Self::on_url(backend, url, fakes, workers).await)
    }

    /// The desk on an existing database with existing fakes (a restart).
    pub async fn on_url(
        backend: Backend,
        url: String,
        fakes: FakePlatforms,
        workers: Option<WorkerConfig>,
    ) -> ConnApp {
        let workers = crate::Workers {
            connectors: workers,
            ..crate::Workers::none()
        };
        let app = TestApp::spawn_on_url(backend, url, workers).await;
        ConnApp { app, fakes }
    }

    /// Stops the workers and the server without any cleanup, like a crash, and hands back the
    /// database and the fakes for a restart.
    pub fn crash(self) -> (Backend, String, FakePlatforms) {
        let ConnApp { app, fakes } = self;
        let backend = app.backend;
        let url = app.database_url.clone();
        drop(app);
        (backend, url, fakes)
    }

    /// A channel account pointing at the fakes.
    pub async fn account(&self, kind: &str, external_id: &str) -> String {
        let credentials = match kind {
            "x" => {
                json!({"consumerSecret": X_CONSUMER_SECRET, "accessToken": X_TOKEN, "bearerToken": "x-app-bearer"})
            }
            "api" => json!({"webhookSecret": API_SECRET}),
            _ => {
                json!({"appSecret": APP_SECRET, "verifyToken": VERIFY_TOKEN, "accessToken": PAGE_TOKEN})
            }
        };
        let mut body = json!({
            "kind": kind, "name": format!("Gemeente {kind}"), "externalId": external_id,
            "apiBaseUrl": self.fakes.base, "credentials": credentials, "defaultTeam": "kcc",
        });
        if kind == "api" {
            body["callbackUrl"] = json!(format!("{}/callback/zaken", self.fakes.base));
        }
        let res = self
            .post("/api/v1/channel-accounts", &body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let v: Value = res.json().await.unwrap();
        v["id"].as_str().unwrap().to_owned()
    }

    /// POSTs a Meta delivery signed with the app secret.
    pub async fn post_meta(&self, body: &str) -> reqwest::Response {
        self.post_meta_signed(
            body,
            Some(&sign_meta(APP_SECRET.as_bytes(), body.as_bytes())),
        )
        .await
    }

    pub async fn post_meta_signed(&self, body: &str, signature: Option<&str>) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url("/webhooks/meta"))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(s) = signature {
            req = req.header("X-Hub-Signature-256", s);
        }
        req.send().await.unwrap()
    }

    pub async fn post_x(&self, body: &str) -> reqwest::Response {
        self.client
            .post(self.url("/webhooks/x"))
            .header("content-type", "application/json")
            .header(
                "x-twitter-webhooks-signature",
                sign_x(X_CONSUMER_SECRET.as_bytes(), body.as_bytes()),
            )
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    /// Waits until every journaled delivery is processed (or failed).
    pub async fn settle(&self) {
        for _ in 0..400 {
            let s = self.store.journal_stats().await.unwrap();
            if s.pending == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("journal did not settle");
    }

    /// Polls a reply until `done` holds.
    pub async fn wait_reply(
        &self,
        case_id: &str,
        reply_id: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let mut last = Value::Null;
        for _ in 0..300 {
            let res = self
                .get(&format!("/api/v1/cases/{case_id}/replies"))
                .send()
                .await
                .unwrap();
            let list: Value = res.json().await.unwrap();
            if let Some(r) = list
                .as_array()
                .and_then(|a| a.iter().find(|r| r["id"] == reply_id))
            {
                if done(r) {
                    return r.clone();
                }
                last = r.clone();
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        panic!("reply did not reach the expected state; last: {last}");
    }

    pub async fn cases(&self) -> Vec<Value> {
        let res = self
            .get("/api/v1/cases?sort=oldest&limit=200")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let v: Value = res.json().await.unwrap();
        v["items"].as_array().unwrap().clone()
    }

    pub async fn case(&self, id: &str) -> Value {
        let res = self
            .get(&format!("/api/v1/cases/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    /// Every message of every case, as (case index, platform id, direction, text).
    pub async fn messages(&self) -> Vec<(usize, String, String, String)> {
        let mut out = Vec::new();
        for (i, c) in self.cases().await.iter().enumerate() {
            let d = self.case(c["id"].as_str().unwrap()).await;
            for m in d["messages"].as_array().unwrap() {
                out.push((
                    i,
                    m["platformMessageId"].as_str().unwrap().to_owned(),
                    m["direction"].as_str().unwrap().to_owned(),
                    m["text"].as_str().unwrap().to_owned(),
                ));
            }
        }
        out
    }

    /// Posts a reply, expects 201, and waits until it is sent; answers the reply as sent.
    pub async fn reply_sent(&self, case_id: &str, body: Value) -> Value {
        let (status, created) = self.reply(case_id, body).await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_str().unwrap().to_owned();
        self.wait_reply(case_id, &id, |r| r["state"] == "sent")
            .await
    }

    /// Creates a reply; returns (status, body).
    pub async fn reply(&self, case_id: &str, body: Value) -> (u16, Value) {
        let res = self
            .post(&format!("/api/v1/cases/{case_id}/replies"), &body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap())
    }
}
