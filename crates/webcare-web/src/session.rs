//! Sign-in with a local password, browser sessions and CSRF.
//!
//! The cookie holds 32 random bytes (base64url); the store keeps only their SHA-256, with an
//! expiry that slides with use (written at most once a minute) and a per-session CSRF token. Every
//! POST except the sign-in itself must carry that token, as the `X-CSRF-Token` header (htmx sends
//! it from the `hx-headers` on `<body>`) or as the `csrf` form field (plain forms). The cookie is
//! HttpOnly and SameSite=Lax, and Secure when the desk is reached over https.

use crate::pages::{error_page, Layout};
use crate::WebState;
use askama::Template;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use subtle::ConstantTimeEq;
use webcare_desk::Principal;
use webcare_store::web_session::WebSessionRecord;

pub const COOKIE: &str = "webcare_session";
/// A session ends after this long without use (a working day and a bit).
pub const IDLE: Duration = Duration::hours(10);
/// How often a session's last use is written, at most.
const TOUCH_EVERY: Duration = Duration::seconds(60);
/// Largest form body read for the CSRF check; pages' forms are far smaller.
const MAX_FORM: usize = 256 * 1024;

/// The signed-in user of this request.
#[derive(Clone)]
pub struct WebUser {
    pub principal: Principal,
    pub csrf: String,
    pub id_hash: String,
}

pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
}

/// The value of the cookie `name`, if the request carries it.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Served over https (directly, or behind a proxy that says so): the cookie gets `Secure`.
pub(crate) fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn set_cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .expect("cookie characters are base64url")
}

/// Finds the request's session (if any), and refuses a POST without a valid CSRF token.
pub async fn session_layer(State(web): State<WebState>, req: Request, next: Next) -> Response {
    let user = match current_user(&web, req.headers()).await {
        Ok(u) => u,
        Err(e) => return e,
    };
    let (mut parts, body) = req.into_parts();
    let mut body = body;
    if parts.method == Method::POST && parts.uri.path() != "/login" {
        let Some(u) = &user else {
            return to_login(&parts.headers);
        };
        let header = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let token = match header {
            Some(t) => Some(t),
            None => {
                let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM).await else {
                    return error_page(StatusCode::PAYLOAD_TOO_LARGE, "Het formulier is te groot.");
                };
                let t = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                    .ok()
                    .and_then(|f| f.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v));
                body = Body::from(bytes);
                t
            }
        };
        let ok = token.is_some_and(|t| bool::from(t.as_bytes().ct_eq(u.csrf.as_bytes())));
        if !ok {
            return error_page(
                StatusCode::FORBIDDEN,
                "Dit formulier is verlopen of komt niet van deze desk (CSRF-controle). Laad de pagina opnieuw.",
            );
        }
    }
    if let Some(u) = user {
        parts.extensions.insert(u);
    }
    next.run(Request::from_parts(parts, body)).await
}

async fn current_user(web: &WebState, headers: &HeaderMap) -> Result<Option<WebUser>, Response> {
    let Some(raw) = cookie_value(headers) else {
        return Ok(None);
    };
    let id_hash = webcare_store::token::hash(&raw);
    let now = Utc::now();
    let store = &web.app.store;
    let Some(s) = store
        .find_web_session(&id_hash, now)
        .await
        .map_err(internal)?
    else {
        return Ok(None);
    };
    let Some(user) = store
        .get_user(s.user_id)
        .await
        .map_err(internal)?
        .filter(|u| u.active)
    else {
        return Ok(None);
    };
    if now - s.last_seen_at >= TOUCH_EVERY {
        // Best effort: a failed touch only shortens the session.
        if let Err(e) = store.touch_web_session(&id_hash, now, now + IDLE).await {
            tracing::warn!(error = %e, "could not record the session's use");
        }
    }
    Ok(Some(WebUser {
        // The same principal the user's API token or OIDC sign-in gives.
        principal: webcare_desk::principal::user_principal(user.id, user),
        csrf: s.csrf_token,
        id_hash,
    }))
}

pub(crate) fn internal(e: webcare_store::StoreError) -> Response {
    tracing::error!(error = %e, "session lookup failed");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Er ging iets mis; het is vastgelegd.",
    )
}

/// To the sign-in page: a redirect, or for htmx an `HX-Redirect` (a swap would put the sign-in
/// page inside the inbox).
fn to_login(headers: &HeaderMap) -> Response {
    if headers.contains_key("hx-request") {
        ([("hx-redirect", "/login")], StatusCode::UNAUTHORIZED).into_response()
    } else {
        Redirect::to("/login").into_response()
    }
}

impl FromRequestParts<WebState> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &WebState) -> Result<Self, Response> {
        parts
            .extensions
            .get::<WebUser>()
            .cloned()
            .ok_or_else(|| to_login(&parts.headers))
    }
}

// ------------------------------------------------------------------------------ rate limiting

/// Failed sign-ins per account and per IP address in a sliding window, in this process. (Several
/// nodes each count their own: the limit is per node, which still stops guessing at scale.)
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<DateTime<Utc>>>>,
}

const WINDOW: Duration = Duration::minutes(15);
const PER_ACCOUNT: usize = 5;
const PER_IP: usize = 30;

impl LoginLimiter {
    fn blocked(&self, key: &str, max: usize, now: DateTime<Utc>) -> bool {
        let mut m = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let v = m.entry(key.to_owned()).or_default();
        v.retain(|t| now - *t < WINDOW);
        v.len() >= max
    }

    fn fail(&self, keys: &[&str], now: DateTime<Utc>) {
        let mut m = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() > 100_000 {
            m.retain(|_, v| v.iter().any(|t| now - *t < WINDOW));
        }
        for k in keys {
            m.entry((*k).to_owned()).or_default().push(now);
        }
    }

    fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

// ------------------------------------------------------------------------------ pages

#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginPage {
    layout: Layout,
    email: String,
    error: Option<String>,
    /// "Inloggen met <provider>" when sign-in through the identity provider is set up.
    provider: Option<String>,
}

impl LoginPage {
    pub(crate) fn new(web: &WebState, email: String, error: Option<String>) -> LoginPage {
        LoginPage {
            layout: Layout::anonymous("Inloggen"),
            email,
            error,
            provider: web.oidc.as_ref().map(|o| o.provider_name().to_owned()),
        }
    }
}

pub async fn login_page(State(web): State<WebState>, user: Option<WebUser>) -> Response {
    if user.is_some() {
        return Redirect::to("/inbox").into_response();
    }
    crate::pages::render(StatusCode::OK, LoginPage::new(&web, String::new(), None))
}

impl axum::extract::OptionalFromRequestParts<WebState> for WebUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &WebState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<WebUser>().cloned())
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn login(State(web): State<WebState>, req: Request) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let secure = is_https(req.headers());
    let Form(f): Form<LoginForm> = match Form::from_request(req, &web).await {
        Ok(f) => f,
        Err(_) => {
            return error_page(StatusCode::BAD_REQUEST, "Dit is geen inlogformulier.");
        }
    };
    let email = f.email.trim().to_lowercase();
    let again = |status: StatusCode, msg: &str| {
        crate::pages::render(
            status,
            LoginPage::new(&web, email.clone(), Some(msg.to_owned())),
        )
    };
    let now = Utc::now();
    let acct_key = format!("acct:{email}");
    let ip_key = format!("ip:{ip}");
    if web.limiter.blocked(&acct_key, PER_ACCOUNT, now) || web.limiter.blocked(&ip_key, PER_IP, now)
    {
        return again(
            StatusCode::TOO_MANY_REQUESTS,
            "Te veel mislukte pogingen. Probeer het over een kwartier opnieuw.",
        );
    }
    let store = &web.app.store;
    let user = match store.find_user_for_login(None, Some(&email)).await {
        Ok(u) => u,
        Err(e) => return internal(e),
    };
    let stored = match &user {
        Some(u) => match store.password_hash(u.id).await {
            Ok(h) => h,
            Err(e) => return internal(e),
        },
        None => None,
    };
    // Verify even without an account or a password, so timing does not tell which.
    let pw = f.password.clone();
    let phc = stored
        .clone()
        .unwrap_or_else(|| crate::password::dummy_hash().to_owned());
    let ok = tokio::task::spawn_blocking(move || crate::password::verify(&pw, &phc))
        .await
        .unwrap_or(false);
    let (Some(user), true, Some(_)) = (user, ok, stored) else {
        web.limiter.fail(&[&acct_key, &ip_key], now);
        return again(
            StatusCode::UNAUTHORIZED,
            "Dit e-mailadres en wachtwoord horen niet bij elkaar.",
        );
    };
    web.limiter.clear(&acct_key);
    open(&web, user, "password", secure, now).await
}

/// Opens a session for `user` (signed in `via` a password or the identity provider): the cookie,
/// the audit line, and on to the inbox.
pub(crate) async fn open(
    web: &WebState,
    user: webcare_store::agent::UserRecord,
    via: &str,
    secure: bool,
    now: DateTime<Utc>,
) -> Response {
    let store = &web.app.store;
    let raw = random_token();
    let record = WebSessionRecord {
        id_hash: webcare_store::token::hash(&raw),
        user_id: user.id,
        csrf_token: random_token(),
        created_at: now,
        expires_at: now + IDLE,
        last_seen_at: now,
    };
    if let Err(e) = store.create_web_session(record).await {
        return internal(e);
    }
    let _ = store
        .record_audit(webcare_store::NewAuditEvent {
            actor: format!("user:{}:{}", user.id, user.email),
            action: "user.signed_in".into(),
            case_id: None,
            detail: serde_json::json!({"via": via}),
        })
        .await;
    // The privacy officer has no inbox: to their own page.
    let to = if user.role == webcare_domain::Role::PrivacyOfficer {
        "/privacy"
    } else {
        "/inbox"
    };
    let mut res = Redirect::to(to).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&raw, IDLE.num_seconds(), secure),
    );
    res
}

pub async fn logout(State(web): State<WebState>, headers: HeaderMap, user: WebUser) -> Response {
    if let Err(e) = web.app.store.delete_web_session(&user.id_hash).await {
        return internal(e);
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, set_cookie("", 0, is_https(&headers)));
    res
}

use axum::extract::FromRequest;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_blocks_after_the_allowed_failures_and_forgets_after_the_window() {
        let l = LoginLimiter::default();
        let t = Utc::now();
        for _ in 0..PER_ACCOUNT {
            assert!(!l.blocked("acct:a", PER_ACCOUNT, t));
            l.fail(&["acct:a"], t);
        }
        assert!(l.blocked("acct:a", PER_ACCOUNT, t));
        assert!(!l.blocked("acct:b", PER_ACCOUNT, t));
        assert!(!l.blocked("acct:a", PER_ACCOUNT, t + WINDOW));
    }

    #[test]
    fn the_cookie_is_read_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; webcare_session=xyz; b=2"),
        );
        assert_eq!(cookie_value(&h).as_deref(), Some("xyz"));
        let c = set_cookie("v", 10, true);
        let c = c.to_str().unwrap();
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"));
    }
}
