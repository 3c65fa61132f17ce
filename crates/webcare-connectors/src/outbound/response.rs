//! Classifying a platform's answer to a send: sent (with the platform id to record), transient
//! (retry with backoff, maybe after a platform-given delay) or permanent (mark the reply failed
//! with a reason the agent can act on). A platform's "already exists" answer (a duplicate post,
//! a receiver that already has the idempotency key) is neither: the reply went out earlier, so it
//! is recorded as sent and never retried.

use crate::headers::HeaderSource;
use crate::json::{arr_at, id_at, int_at, str_at};
use crate::x::{parse_x_errors, RateLimit, XApiError};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::time::Duration;
use webcare_domain::model::ChannelKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Accepted; record the id (for the `api` channel it may be empty: use the reply id).
    Sent { platform_message_id: String },
    /// Try again later; `retry_after` when the platform said how long to wait.
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The platform says this reply already exists (a duplicate post, or the receiver already
    /// has this idempotency key): an earlier attempt went out, so it counts as sent and is never
    /// sent again. `platform_message_id` when the answer names the existing message.
    AlreadySent {
        platform_message_id: Option<String>,
        detail: String,
    },
    /// Will not succeed as it is.
    Permanent { reason: String },
}

/// A send that got no HTTP response (timeout, connection reset, DNS): transient. A timeout after
/// the request was written may still have posted; retrying can then duplicate, which no platform
/// here lets us prevent.
pub fn transport_failure(description: &str) -> SendOutcome {
    SendOutcome::Transient {
        reason: format!("no response from the platform: {description}"),
        retry_after: None,
    }
}

/// Classifies an HTTP response to a request from [`super::build_request`]. `now` turns X's
/// `x-rate-limit-reset` (an epoch time) into a delay.
pub fn parse_send_response<H: HeaderSource + ?Sized>(
    kind: ChannelKind,
    status: u16,
    headers: &H,
    body: &[u8],
    now: DateTime<Utc>,
) -> SendOutcome {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return success(kind, status, &json);
    }
    match kind {
        ChannelKind::X => x_failure(status, headers, body, now),
        ChannelKind::FacebookPage | ChannelKind::Instagram | ChannelKind::Whatsapp => {
            graph_failure(kind, status, headers, &json)
        }
        // The receiver already has a message under this reply's `Idempotency-Key`.
        ChannelKind::Api if status == 409 => SendOutcome::AlreadySent {
            platform_message_id: id_at(&json, &["id"]).or_else(|| id_at(&json, &["messageId"])),
            detail: "the callback already has this reply (HTTP 409)".to_owned(),
        },
        ChannelKind::Api => by_status(status, headers, "callback"),
    }
}

fn success(kind: ChannelKind, status: u16, json: &Value) -> SendOutcome {
    let id = match kind {
        // Send API `{"recipient_id","message_id"}`; comment reply `{"id"}`.
        ChannelKind::FacebookPage | ChannelKind::Instagram => {
            id_at(json, &["message_id"]).or_else(|| id_at(json, &["id"]))
        }
        ChannelKind::Whatsapp => arr_at(json, &["messages"])
            .first()
            .and_then(|m| id_at(m, &["id"])),
        // Post `{"data":{"id"}}`; DM `{"data":{"dm_event_id"}}`.
        ChannelKind::X => {
            id_at(json, &["data", "id"]).or_else(|| id_at(json, &["data", "dm_event_id"]))
        }
        ChannelKind::Api => {
            return SendOutcome::Sent {
                platform_message_id: id_at(json, &["id"])
                    .or_else(|| id_at(json, &["messageId"]))
                    .unwrap_or_default(),
            }
        }
    };
    match id {
        Some(platform_message_id) => SendOutcome::Sent { platform_message_id },
        // Retrying could post twice; failing loudly lets the agent check the platform.
        None => SendOutcome::Permanent {
            reason: format!(
                "{kind} accepted the reply (HTTP {status}) but returned no message id; check the platform before sending again"
            ),
        },
    }
}

/// Status-only classification: 408, 429 and 5xx are transient.
fn by_status<H: HeaderSource + ?Sized>(status: u16, headers: &H, what: &str) -> SendOutcome {
    if status == 408 || status == 429 || status >= 500 {
        SendOutcome::Transient {
            reason: format!("{what} answered HTTP {status}"),
            retry_after: retry_after_header(headers),
        }
    } else {
        SendOutcome::Permanent {
            reason: format!("{what} refused the reply (HTTP {status})"),
        }
    }
}

fn retry_after_header<H: HeaderSource + ?Sized>(headers: &H) -> Option<Duration> {
    headers
        .header("retry-after")?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Meta's Business Use Case throttle: the longest `estimated_time_to_regain_access` (minutes) in
/// `X-Business-Use-Case-Usage`, when above zero.
pub fn meta_regain_access<H: HeaderSource + ?Sized>(headers: &H) -> Option<Duration> {
    let usage: Value = serde_json::from_str(headers.header("x-business-use-case-usage")?).ok()?;
    let minutes = usage
        .as_object()?
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|u| int_at(u, &["estimated_time_to_regain_access"]))
        .max()?;
    (minutes > 0).then(|| Duration::from_secs(u64::try_from(minutes).unwrap_or(0) * 60))
}

/// Graph error codes that clear by themselves.
fn graph_transient(code: i64) -> Option<&'static str> {
    Some(match code {
        1 | 2 => "Meta API temporarily unavailable",
        4 => "Meta app rate limit reached",
        17 => "Meta user rate limit reached",
        32 => "Meta page rate limit reached",
        341 => "Meta application limit reached",
        613 => "Meta call rate exceeded",
        80001..=80009 => "Meta business use case rate limit reached",
        130429 => "WhatsApp throughput limit reached",
        131056 => "too many WhatsApp messages to this person in a short time",
        131000 | 131016 | 133004 => "WhatsApp service temporarily unavailable",
        _ => return None,
    })
}

/// Readable reasons for Graph errors that will not clear by retrying.
fn graph_permanent(code: i64, subcode: Option<i64>) -> Option<&'static str> {
    Some(match (code, subcode) {
        (10, Some(2018278)) => "outside Messenger's reply window (24 hours, or 7 days for a human agent): answer publicly or ask the citizen to write again",
        (10 | 200..=299, _) => "the app lacks permission for this reply: reconnect the channel with the required permissions",
        (190, _) => "the access token is invalid or expired: reconnect the channel account",
        (551, _) => "this person is not available (blocked the page or removed the account)",
        (368, _) => "Meta temporarily blocked this account for policy reasons",
        (100, Some(33)) => "the comment or post being answered no longer exists (deleted or hidden)",
        (131047, _) => "outside the 24-hour window: use an approved template",
        (131026, _) => "message undeliverable: the number is not on WhatsApp or cannot receive this message",
        (131051, _) => "WhatsApp does not support this message type",
        (131048, _) => "WhatsApp spam rate limit: this number may not send more messages for now",
        (131049, _) => "WhatsApp did not deliver this marketing message (per-user limit)",
        (131031, _) => "the WhatsApp business account is locked or restricted",
        (132000, _) => "the template's parameter count does not match the approved template",
        (132001, _) => "the template does not exist in this language",
        (132005 | 132007, _) => "the template text is too long or violates the template policy",
        (132012, _) => "a template parameter has the wrong format",
        (132015, _) => "the template is paused because of low quality",
        (132016, _) => "the template is disabled",
        _ => return None,
    })
}

fn graph_failure<H: HeaderSource + ?Sized>(
    kind: ChannelKind,
    status: u16,
    headers: &H,
    json: &Value,
) -> SendOutcome {
    let Some(err) = json.get("error") else {
        return by_status(status, headers, kind.as_str());
    };
    let code = int_at(err, &["code"]);
    let subcode = int_at(err, &["error_subcode"]);
    let detail = str_at(err, &["error_data", "details"])
        .or_else(|| str_at(err, &["error_user_msg"]))
        .or_else(|| str_at(err, &["message"]))
        .unwrap_or("no details");
    let code_text = match (code, subcode) {
        (Some(c), Some(s)) => format!("{c}/{s}"),
        (Some(c), None) => c.to_string(),
        (None, _) => "?".to_owned(),
    };
    let retry_after = meta_regain_access(headers).or_else(|| retry_after_header(headers));
    let flagged_transient = err.get("is_transient").and_then(Value::as_bool) == Some(true);
    if code == Some(506) {
        // "Duplicate status message": the same text is already on the page, from an earlier
        // attempt whose answer was lost.
        return SendOutcome::AlreadySent {
            platform_message_id: None,
            detail: format!("{kind} error {code_text}: duplicate post ({detail})"),
        };
    }
    if let Some(c) = code {
        if let Some(reason) = graph_permanent(c, subcode) {
            return SendOutcome::Permanent {
                reason: format!("{reason} ({kind} error {code_text}: {detail})"),
            };
        }
        if let Some(reason) = graph_transient(c) {
            return SendOutcome::Transient {
                reason: format!("{reason} ({kind} error {code_text})"),
                retry_after,
            };
        }
        if c == 100 {
            return SendOutcome::Permanent {
                reason: format!("invalid request ({kind} error {code_text}: {detail})"),
            };
        }
    }
    if flagged_transient || status >= 500 || status == 429 {
        SendOutcome::Transient {
            reason: format!("{kind} error {code_text}: {detail}"),
            retry_after,
        }
    } else {
        SendOutcome::Permanent {
            reason: format!("{kind} error {code_text}: {detail}"),
        }
    }
}

/// X's answer to posting the same text again: "You are not allowed to create a Tweet with
/// duplicate content." (v2), or v1.1 code 187 "Status is a duplicate."
fn is_x_duplicate(e: &XApiError) -> bool {
    e.code == Some(187)
        || [e.detail.as_deref(), e.title.as_deref()]
            .into_iter()
            .flatten()
            .any(|t| t.contains("duplicate content") || t.contains("is a duplicate"))
}

fn x_failure<H: HeaderSource + ?Sized>(
    status: u16,
    headers: &H,
    body: &[u8],
    now: DateTime<Utc>,
) -> SendOutcome {
    let errors = parse_x_errors(body);
    let first = errors.first().cloned().unwrap_or_default();
    let detail = first.summary();
    let any = |f: fn(&XApiError) -> bool| errors.iter().any(f);
    if (status == 403 || status == 400) && any(is_x_duplicate) {
        return SendOutcome::AlreadySent {
            platform_message_id: None,
            detail: format!("X refused a duplicate of an earlier post ({detail})"),
        };
    }
    if any(XApiError::is_usage_capped) {
        return SendOutcome::Permanent {
            reason: format!("X usage cap reached; it resets with the billing period ({detail})"),
        };
    }
    if status == 429 || any(XApiError::is_rate_limited) {
        // The 24-hour bucket, when empty, outlasts the 15-minute one.
        let waits = [
            RateLimit::from_headers(headers),
            RateLimit::user_24h(headers).filter(RateLimit::is_exhausted),
            RateLimit::app_24h(headers).filter(RateLimit::is_exhausted),
        ];
        let reset = waits.iter().flatten().map(|r| r.wait(now)).max();
        return SendOutcome::Transient {
            reason: "X rate limit reached".to_owned(),
            retry_after: reset
                .filter(|d| !d.is_zero())
                .or_else(|| retry_after_header(headers)),
        };
    }
    if status >= 500 || status == 408 {
        return SendOutcome::Transient {
            reason: format!("X answered HTTP {status} ({detail})"),
            retry_after: retry_after_header(headers),
        };
    }
    let deleted = any(XApiError::is_resource_not_found)
        || status == 404
        || errors.iter().any(|e| {
            e.detail.as_deref().is_some_and(|d| {
                d.contains("deleted or not visible") || d.contains("has been deleted")
            })
        });
    let reason = if deleted {
        format!("the post or conversation being answered was deleted or is not visible ({detail})")
    } else if status == 401 {
        format!("the X token is invalid or expired: reconnect the channel account ({detail})")
    } else if status == 403 || any(XApiError::is_not_authorized) {
        format!("X does not allow this reply ({detail})")
    } else {
        format!("X refused the reply, HTTP {status} ({detail})")
    };
    SendOutcome::Permanent { reason }
}
