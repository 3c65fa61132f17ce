//! Test harness: the whole application on a random port, on SQLite or PostgreSQL, with helpers
//! for authenticated requests. `both_backends!` turns one async test function into a SQLite and a
//! PostgreSQL test.

pub mod connectors;

use std::sync::Arc;
pub use webcare::app::Workers;
pub use webcare_store::testing::Backend;
use webcare_store::Store;

/// A running desk, built by the production composition root (`webcare::app::App::start`) on
/// 127.0.0.1:0, and a client for it.
pub struct TestApp {
    pub base: String,
    pub admin_token: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub backend: Backend,
    pub database_url: String,
    /// Stops the server and the workers when the test app goes away (without cleanup, like a
    /// crash: a restart on the same database finds what was committed).
    _app: webcare::app::App,
}

impl TestApp {
    /// Starts the app; `None` when the backend is PostgreSQL and it is unreachable but not
    /// required (see `webcare_store::testing`).
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_full(backend, None).await
    }

    /// With OIDC sign-in against `oidc` (a local JWKS server in the tests).
    pub async fn spawn_full(
        backend: Backend,
        oidc: Option<webcare_api::oidc::OidcSettings>,
    ) -> Option<TestApp> {
        let url = webcare_store::testing::fresh_database_url(backend).await?;
        let oidc = oidc.map(|o| webcare::config::OidcConfig {
            issuer: o.issuer,
            audience: o.audience,
            jwks_url: o.jwks_url,
            min_refresh_seconds: o.min_refresh_interval.as_secs(),
            ..Default::default()
        });
        Some(Self::start(backend, url, oidc, Workers::none()).await)
    }

    /// With these OIDC settings as configured (the web sign-in's too).
    pub async fn spawn_with_oidc(
        backend: Backend,
        oidc: webcare::config::OidcConfig,
    ) -> Option<TestApp> {
        let url = webcare_store::testing::fresh_database_url(backend).await?;
        Some(Self::start(backend, url, Some(oidc), Workers::none()).await)
    }

    /// Starts the app on an existing database (a restart after a crash keeps its data) with
    /// these workers.
    pub async fn spawn_on_url(backend: Backend, url: String, workers: Workers) -> TestApp {
        Self::start(backend, url, None, workers).await
    }

    async fn start(
        backend: Backend,
        url: String,
        oidc: Option<webcare::config::OidcConfig>,
        workers: Workers,
    ) -> TestApp {
        let cfg = webcare::config::Config {
            database_url: webcare::config::Secret(url.clone()),
            bind: "127.0.0.1:0".into(),
            max_db_connections: 8,
            oidc,
            ..Default::default()
        };
        let app = webcare::app::App::start(&cfg, workers)
            .await
            .expect("start the desk");
        let store = app.store.clone();
        let admin_token = webcare_store::token::generate();
        store
            .create_token(
                "test-admin",
                webcare_domain::Role::Admin,
                &webcare_store::token::hash(&admin_token),
            )
            .await
            .expect("admin token");
        TestApp {
            base: format!("http://{}", app.addr),
            admin_token,
            client: reqwest::Client::new(),
            store,
            backend,
            database_url: url,
            _app: app,
        }
    }

    /// The desk core the app runs (for use cases a test drives directly, such as a worker's run).
    pub fn desk(&self) -> &webcare_desk::Desk {
        &self._app.state.desk
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A new API token with `role`.
    pub async fn token(&self, role: webcare_domain::Role) -> String {
        let t = webcare_store::token::generate();
        self.store
            .create_token(
                &format!("test-{role}"),
                role,
                &webcare_store::token::hash(&t),
            )
            .await
            .expect("token");
        t
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .get(self.url(path))
            .bearer_auth(&self.admin_token)
    }

    pub fn post(&self, path: &str, body: &serde_json::Value) -> reqwest::RequestBuilder {
        self.client
            .post(self.url(path))
            .bearer_auth(&self.admin_token)
            .json(body)
    }

    pub fn patch(&self, path: &str, body: &serde_json::Value) -> reqwest::RequestBuilder {
        self.client
            .patch(self.url(path))
            .bearer_auth(&self.admin_token)
            .json(body)
    }

    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .delete(self.url(path))
            .bearer_auth(&self.admin_token)
    }

    /// Creates a channel account through the API and returns its id.
    pub async fn channel_account(&self, kind: &str, external_id: &str) -> String {
        let res = self
            .post(
                "/api/v1/channel-accounts",
                &serde_json::json!({"kind": kind, "name": format!("{kind} {external_id}"), "externalId": external_id, "defaultTeam": "kcc"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            201,
            "create channel account: {}",
            res.text().await.unwrap()
        );
        let body: serde_json::Value = res.json().await.unwrap();
        body["id"].as_str().unwrap().to_owned()
    }
}

/// Asserts a problem+json answer with `status`, and returns its body.
pub async fn expect_problem(res: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(res.status().as_u16(), status, "unexpected status");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        ct.starts_with("application/problem+json"),
        "content-type was {ct}"
    );
    let body: serde_json::Value = res.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status);
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}

/// Reads SSE events from `res` until `stop` says so; panics when 10 s pass first.
/// `(id, event, data)`.
pub async fn read_events(
    res: &mut reqwest::Response,
    stop: impl Fn(&[(i64, String, serde_json::Value)]) -> bool,
) -> Vec<(i64, String, serde_json::Value)> {
    let out = read_events_within(res, std::time::Duration::from_secs(10), &stop).await;
    assert!(stop(&out), "events in time: got {out:?}");
    out
}

/// Reads SSE events until `stop` holds, `within` passes or the stream ends, and answers what
/// came (a test that expects nothing more reads with a short `within`).
pub async fn read_events_within(
    res: &mut reqwest::Response,
    within: std::time::Duration,
    stop: impl Fn(&[(i64, String, serde_json::Value)]) -> bool,
) -> Vec<(i64, String, serde_json::Value)> {
    let mut buf = String::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while !stop(&out) {
        let Ok(chunk) = tokio::time::timeout_at(deadline, res.chunk()).await else {
            break;
        };
        let Some(chunk) = chunk.unwrap() else { break };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let (mut id, mut ev, mut data) = (None, String::new(), serde_json::Value::Null);
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event:") {
                    ev = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data = serde_json::from_str(v.trim()).unwrap_or(serde_json::Value::Null);
                }
            }
            if let Some(id) = id {
                out.push((id, ev, data));
            }
        }
    }
    out
}

/// `both_backends!(name, ...)` makes `sqlite::name` and `postgres::name` tests from
/// `async fn name(app: TestApp)`; `both_backends!(app = ConnApp; name, ...)` does the same for
/// another harness with an `async fn spawn(Backend) -> Option<Self>`.
#[macro_export]
macro_rules! both_backends {
    (app = $app:ty; $($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   if let Some(app) = <$app>::spawn($crate::Backend::Sqlite).await { super::$name(app).await }
               } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   if let Some(app) = <$app>::spawn($crate::Backend::Postgres).await { super::$name(app).await }
               } )*
        }
    };
    ($($name:ident),* $(,)?) => {
        $crate::both_backends!(app = $crate::TestApp; $($name),*);
    };
}
