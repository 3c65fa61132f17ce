//! Outbound webhook subscriptions (admin): adding, listing and deleting them (the API's
//! `/webhooks` and the web app's Beheer page). The delivery itself is the webhook worker's.

use crate::error::{DeskError, DeskResult};
use crate::people::audit;
use crate::principal::Principal;
use crate::Desk;
use uuid::Uuid;
use webcare_domain::Role;
use webcare_store::agent_events::{DeliveryRecord, WebhookRecord};

/// The event types a webhook can subscribe to.
pub const EVENT_TYPES: &[&str] = &[
    "case.created",
    "case.updated",
    "case.resolved",
    "message.received",
    "reply.updated",
    "sla.warning",
    "sla.breached",
    "theme.spike",
];

/// `own`: the addresses of the desk itself (the request's host, the bind address), which a
/// webhook must not point at.
fn check_url<'a>(raw: &str, own: impl Iterator<Item = &'a str>) -> DeskResult<()> {
    let bad = |why: &str| DeskError::invalid("url", "invalid_url", why.to_owned());
    let u = url::Url::parse(raw).map_err(|_| bad("must be an absolute http(s) URL"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(bad("only http and https URLs"));
    }
    let host = u
        .host_str()
        .ok_or_else(|| bad("needs a host"))?
        .to_ascii_lowercase();
    let target = match u.port_or_known_default() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    if own
        .map(str::to_ascii_lowercase)
        .any(|h| h == target || h == host)
    {
        return Err(bad("must not point at this desk"));
    }
    Ok(())
}

/// Subscribes `url` to `event_types`; answers the webhook and its signing secret, which is shown
/// this once.
pub async fn create_webhook<'a>(
    desk: &Desk,
    p: &Principal,
    url: &str,
    event_types: &[String],
    own: impl Iterator<Item = &'a str>,
) -> DeskResult<(WebhookRecord, String)> {
    p.require(&[Role::Admin])?;
    check_url(url, own)?;
    if event_types.is_empty() {
        return Err(DeskError::invalid(
            "eventTypes",
            "required",
            "at least one event type",
        ));
    }
    if let Some(t) = event_types
        .iter()
        .find(|t| !EVENT_TYPES.contains(&t.as_str()))
    {
        return Err(DeskError::invalid(
            "eventTypes",
            "unknown_event_type",
            format!("unknown '{t}'; one of: {}", EVENT_TYPES.join(", ")),
        ));
    }
    let secret = webcare_store::token::generate();
    let w = desk.store.create_webhook(url, event_types, &secret).await?;
    audit(desk, p, "webhook.created", serde_json::json!({"id": w.id})).await?;
    Ok((w, secret))
}

/// Deletes a webhook; its pending deliveries are dropped, its log stays.
pub async fn delete_webhook(desk: &Desk, p: &Principal, id: Uuid) -> DeskResult<()> {
    p.require(&[Role::Admin])?;
    if !desk.store.delete_webhook(id).await? {
        return Err(DeskError::NotFound("webhook".into()));
    }
    audit(desk, p, "webhook.deleted", serde_json::json!({"id": id})).await
}

/// A webhook and its delivery log from event `after` on, oldest first.
pub async fn list_deliveries(
    desk: &Desk,
    p: &Principal,
    id: Uuid,
    after: Option<i64>,
    limit: u32,
) -> DeskResult<Vec<DeliveryRecord>> {
    found(desk, p, id).await?;
    Ok(desk.store.list_deliveries(id, after, limit).await?)
}

/// A webhook and its latest `limit` deliveries, newest first, each with its event type (once
/// the event is pruned from the log, `None`).
pub async fn latest_deliveries(
    desk: &Desk,
    p: &Principal,
    id: Uuid,
    limit: u32,
) -> DeskResult<(WebhookRecord, Vec<(DeliveryRecord, Option<String>)>)> {
    let w = found(desk, p, id).await?;
    Ok((w, desk.store.latest_deliveries(id, limit).await?))
}

async fn found(desk: &Desk, p: &Principal, id: Uuid) -> DeskResult<WebhookRecord> {
    p.require(&[Role::Admin])?;
    desk.store
        .get_webhook(id)
        .await?
        .ok_or_else(|| DeskError::NotFound("webhook".into()))
}
