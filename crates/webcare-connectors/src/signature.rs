//! Webhook signatures: HMAC-SHA256 over the raw request bytes, checked in constant time (`hmac`'s
//! `verify_slice` uses `subtle` underneath). Verify before parsing and never re-serialise: Meta
//! signs its ASCII body with `\uXXXX` escapes, and any re-encoding changes the bytes.
//!
//! * Meta (Facebook, Messenger, Instagram, WhatsApp): `X-Hub-Signature-256: sha256=<hex>`, key = app secret.
//! * X Account Activity: `x-twitter-webhooks-signature: sha256=<base64>`, key = consumer secret;
//!   the CRC challenge answer is [`x_crc_response`].
//! * Our own outbound webhooks and `api` channel callbacks ([`sign_webhook`]):
//!   `X-Webcare-Timestamp: <unix seconds>` and `X-Webcare-Signature: v1=<hex>`, where the hex is
//!   HMAC-SHA256(secret, "{timestamp}.{body}"). Binding the timestamp lets receivers reject replays
//!   ([`verify_webhook_fresh`]); the header may carry several comma-separated `v1=` values while a
//!   secret is rotated, and one match is enough.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

pub const META_SIGNATURE_HEADER: &str = "X-Hub-Signature-256";
pub const X_SIGNATURE_HEADER: &str = "x-twitter-webhooks-signature";
pub const WEBHOOK_SIGNATURE_HEADER: &str = "X-Webcare-Signature";
pub const WEBHOOK_TIMESTAMP_HEADER: &str = "X-Webcare-Timestamp";

/// Why a signature was rejected. All variants mean "401, store nothing".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature header missing")]
    Missing,
    #[error("signature header malformed")]
    Malformed,
    #[error("signature does not match")]
    Mismatch,
    #[error("signature timestamp outside the allowed tolerance")]
    Stale,
}

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length (long ones are hashed): this never fails.
    HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length")
}

fn digest(secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = mac(secret);
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

fn verify_digest(secret: &[u8], parts: &[&[u8]], claimed: &[u8]) -> Result<(), SignatureError> {
    let mut m = mac(secret);
    for p in parts {
        m.update(p);
    }
    m.verify_slice(claimed)
        .map_err(|_| SignatureError::Mismatch)
}

/// Strips a case-insensitive `prefix=` (e.g. `sha256=`) from a trimmed header value.
fn strip_scheme<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let h = header.trim();
    let (name, value) = h.split_once('=')?;
    name.eq_ignore_ascii_case(scheme).then_some(value)
}

/// `X-Hub-Signature-256` header value for a body: `sha256=<lowercase hex>`.
pub fn sign_meta(app_secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex::encode(digest(app_secret, &[body])))
}

/// Checks Meta's `X-Hub-Signature-256: sha256=<hex>` over the raw body.
pub fn verify_meta_signature(
    app_secret: &[u8],
    raw_body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_sig = strip_scheme(header, "sha256").ok_or(SignatureError::Malformed)?;
    let claimed = hex::decode(hex_sig).map_err(|_| SignatureError::Malformed)?;
    if claimed.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    verify_digest(app_secret, &[raw_body], &claimed)
}

/// `x-twitter-webhooks-signature` header value for a body: `sha256=<base64>`.
pub fn sign_x(consumer_secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", b64(&digest(consumer_secret, &[body])))
}

/// Checks X's `x-twitter-webhooks-signature: sha256=<base64>` over the raw body.
pub fn verify_x_signature(
    consumer_secret: &[u8],
    raw_body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let b64_sig = strip_scheme(header, "sha256").ok_or(SignatureError::Malformed)?;
    let claimed = base64::engine::general_purpose::STANDARD
        .decode(b64_sig.trim())
        .map_err(|_| SignatureError::Malformed)?;
    if claimed.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    verify_digest(consumer_secret, &[raw_body], &claimed)
}

/// The `response_token` for X's CRC check (`GET ?crc_token=…`): answer with
/// `{"response_token": x_crc_response(secret, token)}`.
pub fn x_crc_response(consumer_secret: &[u8], crc_token: &str) -> String {
    sign_x(consumer_secret, crc_token.as_bytes())
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `X-Webcare-Signature` value for one of our webhooks: `v1=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`.
/// Send `timestamp` (unix seconds) in `X-Webcare-Timestamp`.
pub fn sign_webhook(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    format!(
        "v1={}",
        hex::encode(digest(secret, &[ts.as_bytes(), b".", body]))
    )
}

/// Checks an `X-Webcare-Signature` header against `timestamp` and the raw body. Any one of several
/// comma-separated `v1=` values may match (secret rotation); other schemes are skipped.
pub fn verify_webhook(
    secret: &[u8],
    timestamp: i64,
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let ts = timestamp.to_string();
    let expected = digest(secret, &[ts.as_bytes(), b".", body]);
    let mut saw_v1 = false;
    let mut matched = subtle::Choice::from(0u8);
    for part in header.split(',') {
        let Some(hex_sig) = strip_scheme(part, "v1") else {
            continue;
        };
        saw_v1 = true;
        if let Ok(claimed) = hex::decode(hex_sig) {
            if claimed.len() == expected.len() {
                matched |= claimed.ct_eq(&expected);
            }
        }
    }
    if !saw_v1 {
        return Err(SignatureError::Malformed);
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// [`verify_webhook`] plus a replay window: the timestamp must be within `tolerance_s` seconds of
/// `now_s` (both unix seconds). The signature is checked first so a forged timestamp says "mismatch".
pub fn verify_webhook_fresh(
    secret: &[u8],
    timestamp: i64,
    body: &[u8],
    header: Option<&str>,
    now_s: i64,
    tolerance_s: i64,
) -> Result<(), SignatureError> {
    verify_webhook(secret, timestamp, body, header)?;
    if now_s.abs_diff(timestamp) > tolerance_s.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// Meta's subscription handshake (`GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`):
/// the challenge to echo as the plain-text 200 body, or `None` for a 403. The token is compared in
/// constant time.
pub fn meta_subscribe_challenge<'a>(
    mode: Option<&str>,
    verify_token: Option<&str>,
    challenge: Option<&'a str>,
    expected_token: &str,
) -> Option<&'a str> {
    let token_ok: bool = verify_token
        .map(|t| t.as_bytes().ct_eq(expected_token.as_bytes()).into())
        .unwrap_or(false);
    (mode == Some("subscribe") && token_ok && !expected_token.is_empty())
        .then_some(challenge)
        .flatten()
}
