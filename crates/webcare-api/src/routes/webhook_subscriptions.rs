//! Outbound webhooks (admin): subscribe a URL to event types; deliveries are signed, retried with
//! backoff for more than 24 hours, logged, and never sent again after a success.

use crate::auth::{roles, Authorized};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use webcare_desk::webhooks;
use webcare_desk::DeskError;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewWebhook {
    /// An absolute http(s) URL, not pointing at this desk.
    pub url: String,
    pub event_types: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    /// The HMAC secret: shown once, when the webhook is created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Subscribe a URL to event types.
#[utoipa::path(
    post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewWebhook,
    responses((status = 201, body = Webhook), (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    p: Authorized<roles::AdminOnly>,
    headers: axum::http::HeaderMap,
    ApiJson(b): ApiJson<NewWebhook>,
) -> ApiResult<(StatusCode, Json<Webhook>)> {
    let host = headers.get("host").and_then(|h| h.to_str().ok());
    let own = host
        .into_iter()
        .chain(state.settings.public_hosts.iter().map(String::as_str));
    let (w, secret) = webhooks::create_webhook(&state, &p, &b.url, &b.event_types, own).await?;
    Ok((
        StatusCode::CREATED,
        Json(Webhook {
            id: w.id,
            url: w.url,
            event_types: w.event_types,
            secret: Some(secret),
            created_at: w.created_at,
        }),
    ))
}

/// List webhooks (without their secrets).
#[utoipa::path(
    get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = Vec<Webhook>)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    _p: Authorized<roles::AdminOnly>,
) -> ApiResult<Json<Vec<Webhook>>> {
    Ok(Json(
        state
            .store
            .list_webhooks()
            .await?
            .into_iter()
            .map(|w| Webhook {
                id: w.id,
                url: w.url,
                event_types: w.event_types,
                secret: None,
                created_at: w.created_at,
            })
            .collect(),
    ))
}

/// Delete a webhook; its pending deliveries are dropped, its log stays.
#[utoipa::path(
    delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    p: Authorized<roles::AdminOnly>,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    webhooks::delete_webhook(&state, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliveryQuery {
    /// Deliveries of events after this sequence number.
    pub after: Option<i64>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// One delivery of an event to a webhook, as the store logs it.
pub type Delivery = webcare_store::agent_events::DeliveryRecord;

/// The delivery log of a webhook.
#[utoipa::path(
    get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = Uuid, Path), DeliveryQuery),
    responses((status = 200, body = Vec<Delivery>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn deliveries(
    State(state): State<AppState>,
    _p: Authorized<roles::AdminOnly>,
    IdPath(id): IdPath,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<Vec<Delivery>>> {
    if state.store.get_webhook(id).await?.is_none() {
        return Err(ApiError::Desk(DeskError::NotFound("webhook".into())));
    }
    let limit = super::page_limit(q.limit)?;
    Ok(Json(state.store.list_deliveries(id, q.after, limit).await?))
}
