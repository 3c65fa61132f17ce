//! Platform actions beside the replies (issue 15): hiding a citizen's comment that shows a BSN,
//! deleting the desk's own public reply after an erase. Claimed under a lease in the same pass as
//! the outbox's replies, with the outbox's retry schedule. Both actions are idempotent on the
//! platform (hiding twice, or deleting what is gone), so a send after a crash is harmless; a 404
//! on a delete counts as done.

use crate::outbox::{platform_base, policy, send_credentials, OutboxConfig};
use chrono::Utc;
use std::sync::Arc;
use webcare_connectors::outbound::{
    build_action_request, parse_send_response, transport_failure, PlatformAction, RetryStep,
    SendOutcome,
};
use webcare_store::platform_actions::{PlatformActionKind, PlatformActionRecord};
use webcare_store::{Store, StoreError};

/// One pass: claims what is due and sends it. Answers how many actions were handled.
pub async fn tick(
    store: &Arc<dyn Store>,
    client: &reqwest::Client,
    cfg: &OutboxConfig,
) -> Result<usize, StoreError> {
    let claimed = store
        .claim_platform_actions(Utc::now(), cfg.lease, cfg.batch)
        .await?;
    let n = claimed.len();
    for a in claimed {
        let outcome = send(store, client, cfg, &a).await;
        record(store, cfg, &a, outcome).await?;
    }
    Ok(n)
}

async fn send(
    store: &Arc<dyn Store>,
    client: &reqwest::Client,
    cfg: &OutboxConfig,
    a: &PlatformActionRecord,
) -> SendOutcome {
    let permanent = |reason: String| SendOutcome::Permanent { reason };
    let account = match store.get_channel_account(a.channel_account_id).await {
        Ok(Some(acc)) => acc,
        Ok(None) => return permanent("the channel account was removed".into()),
        Err(e) => return transport_failure(&e.to_string()),
    };
    let (Some(base), Some(credentials)) = (platform_base(&account), send_credentials(&account))
    else {
        return permanent("the channel account has no credentials to act with".into());
    };
    let action = match a.kind {
        PlatformActionKind::Hide => PlatformAction::Hide,
        PlatformActionKind::Delete => PlatformAction::Delete,
    };
    let req = match build_action_request(
        account.kind,
        action,
        &a.platform_id,
        &base,
        &cfg.graph_version,
        &credentials,
    ) {
        Ok(req) => req,
        Err(e) => return permanent(e.0),
    };
    let method =
        reqwest::Method::from_bytes(req.method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let mut http = client.request(method, &req.url).timeout(cfg.http_timeout);
    if !req.json_body.is_null() {
        http = http.body(req.body_bytes());
    }
    for (k, v) in &req.headers {
        http = http.header(k, v);
    }
    match http.send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            let headers = crate::header_pairs(res.headers());
            let body = res.bytes().await.unwrap_or_default();
            if (200..300).contains(&status) {
                // Graph answers `{"success": true}`, X `{"data": {"deleted": true}}`: no id.
                let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                return if json["success"] == false {
                    SendOutcome::Permanent {
                        reason: format!("{} answered that it did not do it", account.kind),
                    }
                } else {
                    SendOutcome::Sent {
                        platform_message_id: a.platform_id.clone(),
                    }
                };
            }
            if status == 404 && a.kind == PlatformActionKind::Delete {
                // Gone already (the citizen or a moderator removed it): what was asked is true.
                return SendOutcome::Sent {
                    platform_message_id: a.platform_id.clone(),
                };
            }
            parse_send_response(account.kind, status, &headers, &body, Utc::now())
        }
        Err(e) => transport_failure(&e.to_string()),
    }
}

async fn record(
    store: &Arc<dyn Store>,
    cfg: &OutboxConfig,
    a: &PlatformActionRecord,
    outcome: SendOutcome,
) -> Result<(), StoreError> {
    match outcome {
        SendOutcome::Sent { .. } | SendOutcome::AlreadySent { .. } => {
            tracing::info!(action = %a.id, kind = a.kind.as_str(), case = %a.case_id, "platform action done");
            store.platform_action_done(a.id).await
        }
        SendOutcome::Permanent { reason } => {
            tracing::warn!(action = %a.id, kind = a.kind.as_str(), %reason, "platform action failed");
            store.platform_action_failed(a.id, &reason).await
        }
        SendOutcome::Transient {
            reason,
            retry_after,
        } => {
            let retry_after = retry_after.and_then(|d| chrono::Duration::from_std(d).ok());
            match policy(cfg).after_failure(a.attempts, retry_after) {
                RetryStep::RetryIn(wait) => {
                    store
                        .platform_action_retry(a.id, &reason, Utc::now() + wait)
                        .await
                }
                RetryStep::GiveUp => {
                    let why = format!("gave up after {} attempts: {reason}", a.attempts);
                    store.platform_action_failed(a.id, &why).await
                }
            }
        }
    }
}
