//! Sign-in through the municipality's identity provider: the OpenID Connect authorization code
//! flow with PKCE (S256), `state` and `nonce`, done by hand over the API crate's JWKS verifier
//! (the `openidconnect` crate would bring a second JOSE stack; the flow is three requests).
//!
//! `GET /login/oidc` makes a fresh state, nonce and PKCE verifier, keeps them in a short-lived
//! HttpOnly cookie scoped to `/login/oidc` (so any node can finish the sign-in, and a sign-in
//! started in another browser cannot be finished in this one), and sends the browser to the
//! provider. `GET /login/oidc/callback` checks the state against the cookie, trades the code
//! (with the verifier) at the token endpoint, verifies the ID token (signature via the JWKS,
//! issuer, audience = our client id, expiry, nonce), finds the desk user by the configured claim
//! (never creating one) and opens the same session as the local sign-in.

use crate::session::{self, LoginPage};
use crate::WebState;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use subtle::ConstantTimeEq;
use tokio::sync::RwLock;
use webcare_api::error::ApiError;
use webcare_api::oidc::{OidcSettings, OidcVerifier};

/// The flow's cookie: state, nonce and PKCE verifier, only sent back to the callback.
const FLOW_COOKIE: &str = "webcare_oidc";
const FLOW_PATH: &str = "/login/oidc";
/// Time the user has at the provider to sign in.
const FLOW_TTL: Duration = Duration::minutes(10);
pub const CALLBACK_PATH: &str = "/login/oidc/callback";
/// Used states remembered per node (each a 64-character hash), at most.
const MAX_USED: usize = 100_000;

/// Which ID token claim names the desk user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserClaim {
    /// The user's e-mail address (case-insensitive).
    Email,
    /// The provider's subject, as set on the user (`subject`).
    Sub,
}

/// What the web sign-in needs to know about the provider (from `[oidc]` in the configuration).
#[derive(Clone)]
pub struct WebOidcSettings {
    /// Shown on the button: "Inloggen met <provider_name>".
    pub provider_name: String,
    pub issuer: String,
    pub client_id: String,
    /// For a confidential client (sent as HTTP Basic); never logged or shown.
    pub client_secret: Option<String>,
    /// Our callback as registered at the provider (ends in `/login/oidc/callback`).
    pub redirect_url: String,
    /// Taken from discovery (`<issuer>/.well-known/openid-configuration`) when absent.
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub jwks_url: String,
    pub user_claim: UserClaim,
    pub min_refresh_interval: std::time::Duration,
}

impl std::fmt::Debug for WebOidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebOidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("redirect_url", &self.redirect_url)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, Deserialize)]
struct Endpoints {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
}

/// The web sign-in: settings, the endpoints (discovered once), the ID token verifier (audience =
/// our client id) and the states already used on this node.
pub struct WebOidc {
    settings: WebOidcSettings,
    http: reqwest::Client,
    endpoints: RwLock<Option<Endpoints>>,
    verifier: OidcVerifier,
    used: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl WebOidc {
    pub fn new(settings: WebOidcSettings) -> WebOidc {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            // The token endpoint answers directly; a redirect there would be a misconfiguration.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        let endpoints = match (&settings.authorization_endpoint, &settings.token_endpoint) {
            (Some(a), Some(t)) => Some(Endpoints {
                issuer: settings.issuer.clone(),
                authorization_endpoint: a.clone(),
                token_endpoint: t.clone(),
            }),
            _ => None,
        };
        let verifier = OidcVerifier::new(OidcSettings {
            issuer: settings.issuer.clone(),
            audience: settings.client_id.clone(),
            jwks_url: settings.jwks_url.clone(),
            min_refresh_interval: settings.min_refresh_interval,
        });
        WebOidc {
            settings,
            http,
            endpoints: RwLock::new(endpoints),
            verifier,
            used: Mutex::new(HashMap::new()),
        }
    }

    pub fn provider_name(&self) -> &str {
        &self.settings.provider_name
    }

    /// The endpoints: configured, or discovered from the issuer (cached once found; a failed
    /// discovery is tried again on the next sign-in).
    async fn endpoints(&self) -> Result<Endpoints, String> {
        if let Some(e) = self.endpoints.read().await.clone() {
            return Ok(e);
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.settings.issuer.trim_end_matches('/')
        );
        let res = self
            .http
            .get(&url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("discovery failed: {e}"))?;
        let mut found: Endpoints = res
            .json()
            .await
            .map_err(|e| format!("discovery document unreadable: {e}"))?;
        // OIDC Discovery 4.3: the document must name the issuer we asked.
        if found.issuer.trim_end_matches('/') != self.settings.issuer.trim_end_matches('/') {
            return Err(format!(
                "discovery names issuer {}, not the configured one",
                found.issuer
            ));
        }
        // Configured endpoints win over discovered ones.
        if let Some(a) = &self.settings.authorization_endpoint {
            found.authorization_endpoint = a.clone();
        }
        if let Some(t) = &self.settings.token_endpoint {
            found.token_endpoint = t.clone();
        }
        *self.endpoints.write().await = Some(found.clone());
        Ok(found)
    }

    /// Records `state` as used; `false` when it was used before (on this node).
    fn first_use(&self, state: &str, now: DateTime<Utc>) -> bool {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        used.retain(|_, at| now - *at < FLOW_TTL);
        if used.len() >= MAX_USED {
            // A flood of sign-ins: forget rather than grow. The provider still takes each code
            // once; this set only spares it the second request.
            tracing::warn!("too many recent OIDC sign-ins to remember; forgetting the used states");
            used.clear();
        }
        match used.entry(webcare_store::token::hash(state)) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(now);
                true
            }
        }
    }
}

// ------------------------------------------------------------------------------ pure parts

/// State, nonce and PKCE verifier of one sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Flow {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

impl Flow {
    pub fn new() -> Flow {
        Flow {
            state: session::random_token(),
            nonce: session::random_token(),
            // 43 characters of base64url: within RFC 7636's 43..=128 unreserved characters.
            verifier: session::random_token(),
        }
    }

    fn cookie_value(&self) -> String {
        format!("{}.{}.{}", self.state, self.nonce, self.verifier)
    }

    fn parse(v: &str) -> Option<Flow> {
        let mut it = v.split('.');
        let (s, n, p) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() || [s, n, p].iter().any(|x| x.len() < 43) {
            return None;
        }
        Some(Flow {
            state: s.into(),
            nonce: n.into(),
            verifier: p.into(),
        })
    }
}

/// RFC 7636 S256: base64url(SHA-256(verifier)) without padding.
pub(crate) fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The provider's authorization URL for this flow.
pub(crate) fn authorize_url(
    endpoint: &str,
    client_id: &str,
    redirect_url: &str,
    flow: &Flow,
) -> Result<String, url::ParseError> {
    let mut u = url::Url::parse(endpoint)?;
    u.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_url)
        .append_pair("scope", "openid email profile")
        .append_pair("state", &flow.state)
        .append_pair("nonce", &flow.nonce)
        .append_pair("code_challenge", &pkce_challenge(&flow.verifier))
        .append_pair("code_challenge_method", "S256");
    Ok(u.into())
}

fn eq(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn flow_cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    // Lax: the provider sends the browser back with a top-level GET, which Lax allows.
    HeaderValue::from_str(&format!(
        "{FLOW_COOKIE}={value}; Path={FLOW_PATH}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .expect("cookie characters are base64url and dots")
}

// ------------------------------------------------------------------------------ handlers

/// The sign-in page again with a message (so both ways to sign in stay at hand).
fn refused(web: &WebState, status: StatusCode, msg: &str) -> Response {
    crate::pages::render(status, LoginPage::new(web, String::new(), Some(msg.into())))
}

pub async fn start(
    State(web): State<WebState>,
    headers: HeaderMap,
    user: Option<session::WebUser>,
) -> Response {
    if user.is_some() {
        return Redirect::to("/inbox").into_response();
    }
    let Some(oidc) = web.oidc.clone() else {
        return crate::pages::error_page(
            StatusCode::NOT_FOUND,
            "Inloggen via een inlogdienst is niet ingesteld.",
        );
    };
    let endpoints = match oidc.endpoints().await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "the identity provider cannot be used for sign-in");
            return refused(
                &web,
                StatusCode::SERVICE_UNAVAILABLE,
                "De inlogdienst is nu niet bereikbaar. Probeer het zo opnieuw.",
            );
        }
    };
    let flow = Flow::new();
    let s = &oidc.settings;
    let Ok(to) = authorize_url(
        &endpoints.authorization_endpoint,
        &s.client_id,
        &s.redirect_url,
        &flow,
    ) else {
        tracing::warn!("the identity provider's authorization endpoint is not a URL");
        return refused(
            &web,
            StatusCode::SERVICE_UNAVAILABLE,
            "De inlogdienst is niet goed ingesteld.",
        );
    };
    let mut res = Redirect::to(&to).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        flow_cookie(
            &flow.cookie_value(),
            FLOW_TTL.num_seconds(),
            session::is_https(&headers),
        ),
    );
    res
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenError {
    error: Option<String>,
}

pub async fn callback(
    State(web): State<WebState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let secure = session::is_https(&headers);
    let mut res = finish(&web, &headers, query.as_deref().unwrap_or("")).await;
    // The flow is over whatever happened: its cookie goes.
    res.headers_mut()
        .append(header::SET_COOKIE, flow_cookie("", 0, secure));
    res
}

async fn finish(web: &WebState, headers: &HeaderMap, query: &str) -> Response {
    let Some(oidc) = web.oidc.clone() else {
        return crate::pages::error_page(
            StatusCode::NOT_FOUND,
            "Inloggen via een inlogdienst is niet ingesteld.",
        );
    };
    let again = |status: StatusCode, msg: &str| refused(web, status, msg);
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let Some(flow) = session::cookie(headers, FLOW_COOKIE).and_then(|v| Flow::parse(&v)) else {
        return again(
            StatusCode::BAD_REQUEST,
            "Deze inlogpoging is verlopen of al gebruikt. Probeer het opnieuw.",
        );
    };
    if !param("state").is_some_and(|s| eq(s, &flow.state)) {
        return again(
            StatusCode::BAD_REQUEST,
            "Deze inlogpoging hoort niet bij deze browser. Probeer het opnieuw.",
        );
    }
    let now = Utc::now();
    if !oidc.first_use(&flow.state, now) {
        return again(
            StatusCode::BAD_REQUEST,
            "Deze inlogpoging is al gebruikt. Probeer het opnieuw.",
        );
    }
    if param("error").is_some() {
        return again(
            StatusCode::UNAUTHORIZED,
            "De inlogdienst heeft het inloggen niet toegestaan.",
        );
    }
    let Some(code) = param("code").filter(|c| !c.is_empty()) else {
        return again(
            StatusCode::BAD_REQUEST,
            "De inlogdienst gaf geen inlogcode terug. Probeer het opnieuw.",
        );
    };
    let unreachable = || {
        again(
            StatusCode::SERVICE_UNAVAILABLE,
            "De inlogdienst is nu niet bereikbaar. Probeer het zo opnieuw.",
        )
    };
    let endpoints = match oidc.endpoints().await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "the identity provider cannot be used for sign-in");
            return unreachable();
        }
    };
    let s = &oidc.settings;
    let mut req = oidc.http.post(&endpoints.token_endpoint).form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", s.redirect_url.as_str()),
        ("code_verifier", flow.verifier.as_str()),
        ("client_id", s.client_id.as_str()),
    ]);
    if let Some(secret) = &s.client_secret {
        // client_secret_basic (RFC 6749 2.3.1): both parts form-encoded first.
        let enc = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
        req = req.basic_auth(enc(&s.client_id), Some(enc(secret)));
    }
    let res = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "the identity provider's token endpoint cannot be reached");
            return unreachable();
        }
    };
    let status = res.status();
    if !status.is_success() {
        let why = res
            .json::<TokenError>()
            .await
            .ok()
            .and_then(|e| e.error)
            .unwrap_or_default();
        // The code itself is not logged: it is a credential until it expires.
        tracing::info!(%status, error = %why, "the identity provider refused the sign-in code");
        return if status.is_client_error() {
            again(
                StatusCode::UNAUTHORIZED,
                "De inlogdienst heeft deze inlogpoging niet geaccepteerd. Probeer het opnieuw.",
            )
        } else {
            unreachable()
        };
    }
    let Some(id_token) = res
        .json::<TokenResponse>()
        .await
        .ok()
        .and_then(|t| t.id_token)
    else {
        tracing::warn!("the identity provider's token answer has no ID token");
        return again(
            StatusCode::UNAUTHORIZED,
            "De inlogdienst gaf geen geldig bewijs terug.",
        );
    };
    let claims = match oidc.verifier.verify(&id_token).await {
        Ok(c) => c,
        Err(ApiError::Unauthorized(why)) => {
            tracing::info!(%why, "ID token refused");
            let msg = if why.ends_with("expired") {
                "Het bewijs van de inlogdienst is verlopen. Probeer het opnieuw."
            } else {
                "Het bewijs van de inlogdienst klopt niet."
            };
            return again(StatusCode::UNAUTHORIZED, msg);
        }
        Err(_) => return unreachable(),
    };
    // OIDC Core 3.1.3.7 (11): the nonce must be the one we sent.
    if !claims.nonce.as_deref().is_some_and(|n| eq(n, &flow.nonce)) {
        tracing::info!("ID token with a wrong or missing nonce");
        return again(
            StatusCode::UNAUTHORIZED,
            "Het bewijs van de inlogdienst hoort niet bij deze inlogpoging.",
        );
    }
    let email_unverified = matches!(&claims.email_verified, Some(serde_json::Value::Bool(false)))
        || claims
            .email_verified
            .as_ref()
            .and_then(|v| v.as_str())
            .is_some_and(|v| v.eq_ignore_ascii_case("false"));
    let found = match s.user_claim {
        UserClaim::Email if email_unverified => Ok(None),
        UserClaim::Email => match claims.email.as_deref() {
            Some(e) => web.app.store.find_user_for_login(None, Some(e)).await,
            None => Ok(None),
        },
        UserClaim::Sub => match claims.sub.as_deref() {
            Some(sub) => web.app.store.find_user_for_login(Some(sub), None).await,
            None => Ok(None),
        },
    };
    let user = match found {
        Ok(Some(u)) => u,
        Ok(None) => {
            return again(
                StatusCode::FORBIDDEN,
                &format!(
                    "U bent bij {} ingelogd, maar u heeft geen account in de desk. Vraag de beheerder u toe te voegen.",
                    s.provider_name
                ),
            )
        }
        Err(e) => return session::internal(e),
    };
    session::open(web, user, "oidc", session::is_https(headers), now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc_7636s_example() {
        // RFC 7636 appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn the_authorize_url_carries_the_flow_and_keeps_the_endpoints_query() {
        let f = Flow::new();
        let u = authorize_url(
            "https://idp.test/auth?tenant=a",
            "desk",
            "https://desk.test/login/oidc/callback",
            &f,
        )
        .unwrap();
        let u = url::Url::parse(&u).unwrap();
        let q: HashMap<String, String> = u.query_pairs().into_owned().collect();
        assert_eq!(q["tenant"], "a");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "desk");
        assert_eq!(q["redirect_uri"], "https://desk.test/login/oidc/callback");
        assert_eq!(q["state"], f.state);
        assert_eq!(q["nonce"], f.nonce);
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], pkce_challenge(&f.verifier));
        assert!(!u.as_str().contains(&f.verifier), "the verifier stays here");
    }

    #[test]
    fn a_state_is_used_once_and_forgotten_after_the_flows_lifetime() {
        let o = WebOidc::new(WebOidcSettings {
            provider_name: "P".into(),
            issuer: "https://idp.test".into(),
            client_id: "desk".into(),
            client_secret: Some("geheim".into()),
            redirect_url: "https://desk.test/login/oidc/callback".into(),
            authorization_endpoint: None,
            token_endpoint: None,
            jwks_url: "https://idp.test/jwks".into(),
            user_claim: UserClaim::Email,
            min_refresh_interval: std::time::Duration::ZERO,
        });
        let t = Utc::now();
        assert!(o.first_use("s1", t));
        assert!(!o.first_use("s1", t + Duration::minutes(1)));
        assert!(o.first_use("s2", t));
        assert!(o.first_use("s1", t + FLOW_TTL + Duration::seconds(1)));
        assert!(!format!("{:?}", o.settings).contains("geheim"));
    }

    #[test]
    fn the_flow_cookie_round_trips_and_rejects_junk() {
        let f = Flow::new();
        assert_ne!(f.state, f.nonce);
        assert_eq!(Flow::parse(&f.cookie_value()), Some(f.clone()));
        assert_eq!(Flow::parse("a.b.c"), None);
        assert_eq!(Flow::parse(&format!("{}.x", f.cookie_value())), None);
        assert_eq!(Flow::parse(""), None);
    }
}
