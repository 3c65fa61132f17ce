//! A fake OpenID Connect provider for the web sign-in's tests: discovery, an authorization
//! endpoint that signs in whoever the test says (no login form) and redirects back with a code,
//! a token endpoint that checks what a real provider checks (client authentication, the code is
//! known, unused and for this redirect URI, the PKCE S256 verifier), and the JWKS. The ID token
//! can be spoiled on purpose (expired, another nonce) to test the desk's checks.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The registered client and the signing key.
#[derive(Clone)]
pub struct FakeOidcClient {
    pub client_id: String,
    /// When set, the token endpoint requires it (HTTP Basic).
    pub client_secret: Option<String>,
    pub redirect_uri: String,
    /// RS256 private key (PEM) and its public JWK (with `kid`).
    pub rsa_pem: String,
    pub jwk: Value,
}

struct Issued {
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    claims: Value,
    used: bool,
}

#[derive(Default)]
struct Inner {
    /// The claims of the person who signs in at the next authorization request.
    person: Value,
    /// Claims laid over the next ID tokens (e.g. `exp` in the past, another `nonce`).
    spoil: Value,
    codes: HashMap<String, Issued>,
    /// How often the token endpoint handed out an ID token.
    tokens_issued: usize,
    /// Token requests refused, with the OAuth error code.
    refused: Vec<String>,
}

#[derive(Clone)]
pub struct FakeOidc {
    pub issuer: String,
    client: FakeOidcClient,
    inner: Arc<Mutex<Inner>>,
}

impl FakeOidc {
    /// Serves on 127.0.0.1:0; the issuer is that address.
    pub async fn start(client: FakeOidcClient) -> FakeOidc {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake provider");
        let addr = listener.local_addr().expect("address");
        let fake = FakeOidc {
            issuer: format!("http://{addr}"),
            client,
            inner: Arc::default(),
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    /// Who signs in next (e.g. `{"sub": "s-1", "email": "anna@gemeente.test"}`).
    pub fn sign_in_as(&self, claims: Value) {
        self.lock().person = claims;
    }

    /// Claims laid over every ID token from now on.
    pub fn spoil_id_tokens(&self, claims: Value) {
        self.lock().spoil = claims;
    }

    pub fn tokens_issued(&self) -> usize {
        self.lock().tokens_issued
    }

    /// The OAuth error codes of refused token requests, in order.
    pub fn refused(&self) -> Vec<String> {
        self.lock().refused.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn discovery(State(f): State<FakeOidc>) -> Json<Value> {
    Json(json!({
        "issuer": f.issuer,
        "authorization_endpoint": format!("{}/authorize", f.issuer),
        "token_endpoint": format!("{}/token", f.issuer),
        "jwks_uri": f.jwks_url(),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks(State(f): State<FakeOidc>) -> Json<Value> {
    Json(json!({"keys": [f.client.jwk]}))
}

fn bad_request(what: &str) -> Response {
    (StatusCode::BAD_REQUEST, what.to_owned()).into_response()
}

async fn authorize(
    State(f): State<FakeOidc>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if get("response_type") != "code" {
        return bad_request("response_type must be code");
    }
    if get("client_id") != f.client.client_id {
        return bad_request("unknown client");
    }
    // A provider never redirects to an unregistered URI (that would leak codes).
    if get("redirect_uri") != f.client.redirect_uri {
        return bad_request("redirect_uri is not registered");
    }
    if get("code_challenge_method") != "S256" || get("code_challenge").len() != 43 {
        return bad_request("PKCE S256 is required");
    }
    if !get("scope").split(' ').any(|s| s == "openid") {
        return bad_request("scope must include openid");
    }
    let code = uuid::Uuid::new_v4().simple().to_string();
    {
        let mut inner = f.lock();
        let claims = inner.person.clone();
        inner.codes.insert(
            code.clone(),
            Issued {
                redirect_uri: get("redirect_uri").to_owned(),
                challenge: get("code_challenge").to_owned(),
                nonce: q.get("nonce").cloned(),
                claims,
                used: false,
            },
        );
    }
    let mut to = url_with(&f.client.redirect_uri, &[("code", &code)]);
    if let Some(s) = q.get("state") {
        to = url_with(&to, &[("state", s)]);
    }
    Redirect::to(&to).into_response()
}

fn url_with(base: &str, pairs: &[(&str, &str)]) -> String {
    let q: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{q}")
}

fn oauth_error(f: &FakeOidc, code: &str) -> Response {
    f.lock().refused.push(code.to_owned());
    (StatusCode::BAD_REQUEST, Json(json!({"error": code}))).into_response()
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v.strip_prefix("Basic ")?)
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (id, secret) = s.split_once(':')?;
    let dec = |x: &str| {
        form_urlencoded::parse(format!("x={x}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((dec(id)?, dec(secret)?))
}

async fn token(
    State(f): State<FakeOidc>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if get("grant_type") != "authorization_code" {
        return oauth_error(&f, "unsupported_grant_type");
    }
    if let Some(secret) = &f.client.client_secret {
        match basic_auth(&headers) {
            Some((id, s)) if id == f.client.client_id && &s == secret => {}
            _ => return oauth_error(&f, "invalid_client"),
        }
    } else if get("client_id") != f.client.client_id {
        return oauth_error(&f, "invalid_client");
    }
    let mut inner = f.lock();
    let Some(issued) = inner.codes.get_mut(get("code")) else {
        drop(inner);
        return oauth_error(&f, "invalid_grant");
    };
    // RFC 6749 4.1.2: a code is used once.
    if issued.used {
        drop(inner);
        return oauth_error(&f, "invalid_grant");
    }
    issued.used = true;
    if issued.redirect_uri != get("redirect_uri") {
        drop(inner);
        return oauth_error(&f, "invalid_grant");
    }
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(get("code_verifier").as_bytes()));
    if challenge != issued.challenge {
        drop(inner);
        return oauth_error(&f, "invalid_grant");
    }
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": f.issuer, "aud": f.client.client_id, "iat": now, "exp": now + 300,
    });
    if let Some(n) = &issued.nonce {
        claims["nonce"] = json!(n);
    }
    for source in [&issued.claims.clone(), &inner.spoil.clone()] {
        if let Some(o) = source.as_object() {
            for (k, v) in o {
                claims[k] = v.clone();
            }
        }
    }
    inner.tokens_issued += 1;
    drop(inner);
    let mut h = Header::new(Algorithm::RS256);
    h.kid = f.client.jwk["kid"].as_str().map(str::to_owned);
    let key = EncodingKey::from_rsa_pem(f.client.rsa_pem.as_bytes()).expect("an RSA key");
    let id_token = jsonwebtoken::encode(&h, &claims, &key).expect("sign");
    Json(json!({
        "access_token": uuid::Uuid::new_v4().simple().to_string(),
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}
