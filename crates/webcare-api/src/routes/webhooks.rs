//! Platform webhooks, outside `/api/v1`: authenticated by the platform's signature, not a bearer
//! token.
//!
//! * `GET /webhooks/meta`: the subscription handshake. `hub.mode=subscribe` and a
//!   `hub.verify_token` equal to the `verifyToken` credential of any Facebook page, Instagram or
//!   WhatsApp account answers 200 with exactly `hub.challenge` (text/plain); anything else 403.
//! * `POST /webhooks/meta`: the body is read as raw bytes (up to [`WEBHOOK_BODY_LIMIT`], since
//!   WhatsApp sends up to 3 MB; more is 413). To know whose app secret signs it, a lenient
//!   pre-parse reads only `object` and the addressed ids (`entry[].id` for page/Instagram,
//!   `entry[].changes[].value.metadata.phone_number_id` for WhatsApp). Then, before anything is
//!   stored, `X-Hub-Signature-256` is checked in constant time against the `appSecret` of every
//!   addressed account (one body is signed by one app, so they must share it). Answers:
//!   malformed JSON or an unknown `object` 400; a delivery addressed only to ids that are no
//!   configured account **404** (nothing to verify it with, nothing to store; visible in Meta's
//!   delivery log); a missing or wrong signature 401. Accepted: journaled durably, then 200. A
//!   delivery that names known and unknown ids is accepted: the known accounts' items are
//!   stored, each unknown one is recorded as a rejected item (`GET /api/v1/rejected-items`).
//! * `GET /webhooks/x?crc_token=…[&account=<X user id>]`: the CRC answer
//!   `{"response_token":"sha256=…"}` with the account's `consumerSecret`. CRC requests carry no
//!   user id, so `account` picks the X account; without it there must be exactly one X account
//!   (400 otherwise; 404 for an unknown `account`).
//! * `POST /webhooks/x`: `for_user_id` picks the account (404 unknown), then
//!   `x-twitter-webhooks-signature` is checked with its `consumerSecret` (401), then journaled.
//!
//! Accepted deliveries go to the intake (`webcare_desk::ingest::intake`): journaled durably with
//! group commit before the 200, processed in batches right after, and by the journal worker's
//! sweep when that never happened (crash): see `webcare_desk::ingest::journal`.

use crate::error::{problem_response, ApiError};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use webcare_connectors::signature::{
    meta_subscribe_challenge, verify_meta_signature, verify_x_signature, x_crc_response,
    META_SIGNATURE_HEADER, X_SIGNATURE_HEADER,
};
use webcare_domain::ChannelKind;
use webcare_store::connectors::JournalSource;
use webcare_store::ChannelAccount;

/// Bodies up to this size are accepted on the webhook routes (WhatsApp: up to 3 MB).
pub const WEBHOOK_BODY_LIMIT: usize = 4 * 1024 * 1024;

const META_KINDS: [ChannelKind; 3] = [
    ChannelKind::FacebookPage,
    ChannelKind::Instagram,
    ChannelKind::Whatsapp,
];

/// The webhook routes, to merge into the application router.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/meta", get(meta_verify).post(meta_delivery))
        .route("/webhooks/x", get(x_crc).post(x_delivery))
        .layer(DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT))
}

fn unauthorized(detail: &str) -> Response {
    problem_response(StatusCode::UNAUTHORIZED, detail.to_owned(), vec![])
}

fn bad_request(detail: impl Into<String>) -> Response {
    problem_response(StatusCode::BAD_REQUEST, detail.into(), vec![])
}

fn not_found(detail: impl Into<String>) -> Response {
    problem_response(StatusCode::NOT_FOUND, detail.into(), vec![])
}

fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `GET /webhooks/meta`: the subscription handshake.
pub async fn meta_verify(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mode = q.get("hub.mode").map(String::as_str);
    let token = q.get("hub.verify_token").map(String::as_str);
    let challenge = q.get("hub.challenge").map(String::as_str);
    let mut accounts = Vec::new();
    for kind in META_KINDS {
        match state.store.accounts_of_kind(kind).await {
            Ok(a) => accounts.extend(a),
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    // Every account is compared (constant time each), so timing does not tell which matched.
    let mut answer = None;
    for a in &accounts {
        if let Some(expected) = a.credentials.get("verifyToken") {
            if let Some(c) = meta_subscribe_challenge(mode, token, challenge, expected) {
                answer = Some(c.to_owned());
            }
        }
    }
    match answer {
        Some(c) => {
            let mut res = (StatusCode::OK, c).into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            res
        }
        None => problem_response(
            StatusCode::FORBIDDEN,
            "hub.mode must be 'subscribe' and hub.verify_token must match a configured account"
                .into(),
            vec![],
        ),
    }
}

/// `POST /webhooks/meta`.
pub async fn meta_delivery(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (kind, ids) = match webcare_connectors::meta::meta_addressees(&body) {
        Ok((object, ids)) => (object.channel_kind(), ids),
        Err(e) => return bad_request(e.to_string()),
    };
    let mut accounts: Vec<ChannelAccount> = Vec::with_capacity(ids.len());
    let mut unknown = Vec::new();
    for id in &ids {
        match state.intake.find_account(kind, id).await {
            Ok(Some(a)) => accounts.push(a),
            Ok(None) => unknown.push(id.as_str()),
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    if accounts.is_empty() {
        // No account to verify the signature with, and nothing the desk would store.
        tracing::warn!(kind = %kind, accounts = ?unknown, "webhook for unknown accounts only refused");
        return not_found(format!(
            "no {kind} channel account with id '{}'",
            unknown.first().copied().unwrap_or_default()
        ));
    }
    if !unknown.is_empty() {
        // One stale subscription must not cost the other pages their messages: the delivery is
        // accepted (once its signature checks out); processing records the unknown items.
        tracing::warn!(kind = %kind, accounts = ?unknown, "webhook names unknown accounts besides known ones; their items are recorded, not stored");
    }
    let signature = headers
        .get(META_SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    for a in &accounts {
        let Some(secret) = a.credentials.get("appSecret").filter(|s| !s.is_empty()) else {
            tracing::warn!(account = %a.id, "Meta account has no appSecret: deliveries cannot be verified");
            return unauthorized("the addressed account has no appSecret to verify the signature");
        };
        if let Err(e) = verify_meta_signature(secret.as_bytes(), &body, signature) {
            tracing::warn!(account = %a.id, error = %e, "Meta webhook signature rejected");
            return unauthorized(&format!("{META_SIGNATURE_HEADER}: {e}"));
        }
    }
    accept(&state, JournalSource::Meta, None, body).await
}

/// Journals an accepted delivery (group commit), then answers 200; it is processed right after.
async fn accept(
    state: &AppState,
    source: JournalSource,
    account: Option<uuid::Uuid>,
    body: Bytes,
) -> Response {
    match state.intake.accept(source, account, body.to_vec()).await {
        Ok(id) => (
            StatusCode::OK,
            Json(json!({"status": "accepted", "id": id})),
        )
            .into_response(),
        // Not stored: the platform retries, which is what we want.
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn x_account_for(
    state: &AppState,
    external_id: Option<&str>,
) -> Result<ChannelAccount, Response> {
    match external_id {
        Some(id) => match state.intake.find_account(ChannelKind::X, id).await {
            Ok(Some(a)) => Ok(a),
            Ok(None) => Err(not_found(format!("no x channel account with id '{id}'"))),
            Err(e) => Err(ApiError::from(e).into_response()),
        },
        None => match state.store.accounts_of_kind(ChannelKind::X).await {
            Ok(mut v) if v.len() == 1 => Ok(v.remove(0)),
            Ok(v) if v.is_empty() => Err(not_found("no x channel account is configured")),
            Ok(_) => Err(bad_request(
                "several X accounts are configured: name one with ?account=<X user id>",
            )),
            Err(e) => Err(ApiError::from(e).into_response()),
        },
    }
}

fn consumer_secret(a: &ChannelAccount) -> Option<&str> {
    a.credentials
        .get("consumerSecret")
        .filter(|s| !s.is_empty())
}

/// `GET /webhooks/x`: the CRC check.
pub async fn x_crc(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(token) = q.get("crc_token").filter(|t| !t.is_empty()) else {
        return bad_request("crc_token is required");
    };
    let account = match x_account_for(&state, q.get("account").map(String::as_str)).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(secret) = consumer_secret(&account) else {
        return problem_response(
            StatusCode::FORBIDDEN,
            "the X account has no consumerSecret".into(),
            vec![],
        );
    };
    (
        StatusCode::OK,
        Json(json!({ "response_token": x_crc_response(secret.as_bytes(), token) })),
    )
        .into_response()
}

/// `POST /webhooks/x`: Account Activity deliveries.
pub async fn x_delivery(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let root: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(format!("the body is not valid JSON: {e}")),
    };
    let Some(user) = root.get("for_user_id").and_then(id_of) else {
        return bad_request("missing 'for_user_id'");
    };
    drop(root);
    let account = match x_account_for(&state, Some(&user)).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(secret) = consumer_secret(&account) else {
        return unauthorized(
            "the addressed X account has no consumerSecret to verify the signature",
        );
    };
    let signature = headers
        .get(X_SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    if let Err(e) = verify_x_signature(secret.as_bytes(), &body, signature) {
        tracing::warn!(account = %account.id, error = %e, "X webhook signature rejected");
        return unauthorized(&format!("{X_SIGNATURE_HEADER}: {e}"));
    }
    accept(&state, JournalSource::XActivity, Some(account.id), body).await
}
