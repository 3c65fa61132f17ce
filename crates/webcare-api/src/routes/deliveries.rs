//! What the platform doors accepted but did not store, for the admin (`webcare journal` is the
//! operator's command-line view of the same): parked deliveries (processing failed until it was
//! given up; `webcare journal replay` retries them) and rejected items (addressed to an unknown
//! account, or refused by the input contract). Never a delivery's body: it holds citizens'
//! messages.

use super::{decode_cursor, next_link, page_limit, query_pairs, PageQuery};
use crate::auth::{roles, Authorized};
use crate::dto::List;
use crate::error::{ApiResult, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::extract::State;
use axum::http::Uri;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;
use webcare_store::connectors::{JournalFailure, RejectedRecord};

/// A journaled delivery whose processing was given up: it waits for `webcare journal replay`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParkedDelivery {
    /// The journal entry's id (`webcare journal replay --id`).
    pub id: Uuid,
    /// `meta`, `x_activity`, `x_mentions` or `x_dm_events`.
    pub source: String,
    pub channel_account_id: Option<Uuid>,
    pub received_at: DateTime<Utc>,
    pub attempts: i64,
    /// The last processing error.
    pub error: Option<String>,
}

/// An item of an accepted delivery that was not stored, and why.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RejectedItem {
    pub id: Uuid,
    /// The journal entry of the delivery it came in.
    pub journal_id: Uuid,
    pub source: String,
    pub received_at: DateTime<Utc>,
    /// The platform id the item was addressed to (page, Instagram account, phone number, X user).
    pub account_external_id: String,
    pub platform_message_id: Option<String>,
    pub reason: String,
}

/// Deliveries parked after failing processing, oldest first (admin).
#[utoipa::path(
    get, path = "/api/v1/parked-deliveries", tag = "deliveries", params(PageQuery),
    responses((status = 200, body = List<ParkedDelivery>), (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn parked(
    State(state): State<AppState>,
    _p: Authorized<roles::AdminOnly>,
    uri: Uri,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<List<ParkedDelivery>>> {
    let limit = page_limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref())?;
    let rows = state.store.journal_failed(after, limit + 1).await?;
    Ok(Json(page_of(
        "/api/v1/parked-deliveries",
        &uri,
        rows,
        limit,
        |r| r.id,
    )))
}

/// Items of accepted deliveries that were not stored, oldest first (admin).
#[utoipa::path(
    get, path = "/api/v1/rejected-items", tag = "deliveries", params(PageQuery),
    responses((status = 200, body = List<RejectedItem>), (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn rejected(
    State(state): State<AppState>,
    _p: Authorized<roles::AdminOnly>,
    uri: Uri,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<List<RejectedItem>>> {
    let limit = page_limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref())?;
    let rows = state.store.journal_rejected(after, limit + 1).await?;
    Ok(Json(page_of(
        "/api/v1/rejected-items",
        &uri,
        rows,
        limit,
        |r| r.id,
    )))
}

impl From<JournalFailure> for ParkedDelivery {
    fn from(r: JournalFailure) -> Self {
        ParkedDelivery {
            id: r.id,
            source: r.source.as_str().to_owned(),
            channel_account_id: r.channel_account_id,
            received_at: r.received_at,
            attempts: r.attempts,
            error: r.error,
        }
    }
}

impl From<RejectedRecord> for RejectedItem {
    fn from(r: RejectedRecord) -> Self {
        RejectedItem {
            id: r.id,
            journal_id: r.journal_id,
            source: r.source.as_str().to_owned(),
            received_at: r.received_at,
            account_external_id: r.item.account_external_id,
            platform_message_id: r.item.platform_message_id,
            reason: r.item.reason,
        }
    }
}

/// A page from up to `limit + 1` rows in id order: the extra row only says there is a next one.
fn page_of<R, T: ToSchema + From<R>>(
    path: &str,
    uri: &Uri,
    mut rows: Vec<R>,
    limit: u32,
    id: impl Fn(&R) -> Uuid,
) -> List<T> {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let last = rows.last().map(id).filter(|_| more);
    List {
        next: next_link(path, &query_pairs(uri), last),
        items: rows.into_iter().map(T::from).collect(),
    }
}
