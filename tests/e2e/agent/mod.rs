//! The agent desk (issue 5) through the real router on both databases: people and OIDC sign-in,
//! case work, inbox filters and search, departments, audit, board, canned answers, and a check of
//! every route in the OpenAPI document for 401 and 403.

mod access;
mod bench;
mod classification;
mod contacts;
mod costs;
mod desk;
mod live;
mod oidc;
mod report_facts;
mod reports;
mod retention;
mod routes;
mod routing;
mod themes;
mod tokens;

use axum::routing::get;
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use webcare_api::oidc::OidcSettings;
use webcare_e2e::{Backend, TestApp};

pub const ISSUER: &str = "https://idp.gemeente.test";
pub const AUDIENCE: &str = "webcare-desk";

pub const RSA1: &str = include_str!("../../fixtures/oidc/rsa1.pem");
pub const RSA2: &str = include_str!("../../fixtures/oidc/rsa2.pem");
pub const EC1: &str = include_str!("../../fixtures/oidc/ec1.pem");
pub const RSA1_JWK: &str = include_str!("../../fixtures/oidc/rsa1.jwk.json");
pub const RSA2_JWK: &str = include_str!("../../fixtures/oidc/rsa2.jwk.json");
pub const EC1_JWK: &str = include_str!("../../fixtures/oidc/ec1.jwk.json");

/// A signing key of the fake identity provider.
#[derive(Clone, Copy, Debug)]
pub enum Key {
    Rsa1,
    Rsa2,
    Ec1,
}

/// A local identity provider: serves a JWKS on 127.0.0.1:0 that the test can change, and counts
/// how often it was fetched.
pub struct Idp {
    pub settings: OidcSettings,
    pub jwks: Arc<Mutex<Value>>,
    pub fetches: Arc<AtomicUsize>,
}

impl Idp {
    pub async fn start() -> Idp {
        let jwks = Arc::new(Mutex::new(json!({"keys": [
            serde_json::from_str::<Value>(RSA1_JWK).unwrap(),
            serde_json::from_str::<Value>(EC1_JWK).unwrap(),
        ]})));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (j, f) = (jwks.clone(), fetches.clone());
        let app = Router::new().route(
            "/jwks",
            get(move || {
                let (j, f) = (j.clone(), f.clone());
                async move {
                    f.fetch_add(1, Ordering::SeqCst);
                    let v = j.lock().unwrap().clone();
                    Json(v)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Idp {
            settings: OidcSettings {
                issuer: ISSUER.into(),
                audience: AUDIENCE.into(),
                jwks_url: format!("http://{addr}/jwks"),
                min_refresh_interval: Duration::ZERO,
            },
            jwks,
            fetches,
        }
    }

    /// Publishes `rsa2` too (a key rotation).
    pub fn rotate_in_rsa2(&self) {
        let mut j = self.jwks.lock().unwrap();
        j["keys"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::from_str(RSA2_JWK).unwrap());
    }

    /// A token signed with `key`, with `claims` over the defaults (iss, aud, exp in 5 minutes).
    pub fn token(&self, key: Key, claims: Value) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut c = json!({"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300});
        for (k, v) in claims.as_object().unwrap() {
            c[k] = v.clone();
        }
        let (alg, kid, pem) = match key {
            Key::Rsa1 => (Algorithm::RS256, "rsa-1", RSA1),
            Key::Rsa2 => (Algorithm::RS256, "rsa-2", RSA2),
            Key::Ec1 => (Algorithm::ES256, "ec-1", EC1),
        };
        let enc = match key {
            Key::Ec1 => EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
            _ => EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        };
        let mut h = Header::new(alg);
        h.kid = Some(kid.into());
        jsonwebtoken::encode(&h, &c, &enc).unwrap()
    }
}

/// Starts a desk with OIDC sign-in against a fresh local identity provider.
pub async fn spawn(backend: Backend) -> Option<(TestApp, Idp)> {
    let idp = Idp::start().await;
    let app = TestApp::spawn_full(backend, Some(idp.settings.clone())).await?;
    Some((app, idp))
}

/// `both!(name)`: `sqlite::name` and `postgres::name` from `async fn name(app: TestApp, idp: Idp)`.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   if let Some((app, idp)) = $crate::agent::spawn(webcare_e2e::Backend::Sqlite).await { super::$name(app, idp).await }
               } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   if let Some((app, idp)) = $crate::agent::spawn(webcare_e2e::Backend::Postgres).await { super::$name(app, idp).await }
               } )*
        }
    };
}

// ------------------------------------------------------------------------------------ helpers

pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// POST as admin, asserting `expect`, returning the body.
pub async fn admin_post(app: &TestApp, path: &str, body: Value, expect: u16) -> Value {
    let (s, b) = send(app.post(path, &body)).await;
    assert_eq!(s, expect, "POST {path}: {b}");
    b
}

/// A Messenger message from `sender` to `page`, as Meta delivers it signed with `secret`;
/// asserts the 200 (the delivery is journalled, then processed).
pub async fn post_messenger(
    app: &TestApp,
    secret: &[u8],
    page: &str,
    sender: &str,
    mid: &str,
    text: &str,
) {
    let body = json!({"object": "page", "entry": [{"id": page, "time": 1773047700, "messaging": [{
        "sender": {"id": sender}, "recipient": {"id": page},
        "timestamp": chrono::Utc::now().timestamp_millis(),
        "message": {"mid": mid, "text": text}}]}]})
    .to_string();
    let sig = webcare_connectors::signature::sign_meta(secret, body.as_bytes());
    let res = app
        .client
        .post(app.url("/webhooks/meta"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

pub async fn team(app: &TestApp, name: &str) -> Value {
    admin_post(app, "/api/v1/teams", json!({"name": name}), 201).await
}

pub async fn department(app: &TestApp, name: &str) -> String {
    let d = admin_post(
        app,
        "/api/v1/departments",
        json!({"name": name, "answerMinutes": 480, "contactPersons": [{"name": "Piet", "email": "piet@gemeente.test"}]}),
        201,
    )
    .await;
    d["id"].as_str().unwrap().to_owned()
}

pub async fn user(app: &TestApp, body: Value) -> String {
    let u = admin_post(app, "/api/v1/users", body, 201).await;
    u["id"].as_str().unwrap().to_owned()
}

/// Ingests one citizen message and returns its case id.
pub async fn citizen_message(
    app: &TestApp,
    account: &str,
    id: &str,
    author: (&str, &str),
    text: &str,
) -> String {
    let body = json!({
        "channelAccountId": account, "platformMessageId": id, "visibility": "private",
        "author": {"platformUserId": author.0, "displayName": author.1},
        "text": text, "sentAt": chrono::Utc::now().to_rfc3339(),
    });
    let m = admin_post(app, "/api/v1/messages", body, 201).await;
    m["caseId"].as_str().unwrap().to_owned()
}

/// A channel account whose cases go to `team`.
pub async fn account_for_team(app: &TestApp, external: &str, team: &str) -> String {
    let b = admin_post(
        app,
        "/api/v1/channel-accounts",
        // A callback: without one the desk could not deliver replies and refuses them.
        json!({"kind": "api", "name": external, "externalId": external, "defaultTeam": team,
            "callbackUrl": "https://zaaksysteem.gemeente.test/webcare", "credentials": {"webhookSecret": "s"}}),
        201,
    )
    .await;
    b["id"].as_str().unwrap().to_owned()
}

/// A request with a bearer token.
pub fn with(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
) -> reqwest::RequestBuilder {
    app.client.request(method, app.url(path)).bearer_auth(token)
}
