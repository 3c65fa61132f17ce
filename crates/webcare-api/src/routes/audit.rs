//! The audit trail: who did what to which case, including who read it (admin only).

use super::{decode_cursor, page_limit, PageQuery};
use crate::auth::{roles, Authorized};
use crate::dto::List;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiListQuery;
use crate::state::AppState;
use axum::extract::State;
use axum::http::Uri;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use webcare_store::agent::{AuditFilter, AuditRecord};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditQuery {
    pub case_id: Option<Uuid>,
    /// The exact actor, e.g. `user:<id>:<email>` or `token:<name>:<id>`.
    pub actor: Option<String>,
    /// Everything done by this desk user.
    pub user_id: Option<Uuid>,
    /// From this time (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Until this time (exclusive).
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub case_id: Option<Uuid>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<AuditRecord> for AuditEvent {
    fn from(a: AuditRecord) -> Self {
        AuditEvent {
            id: a.id,
            at: a.at,
            actor: a.actor,
            action: a.action,
            case_id: a.case_id,
            detail: a.detail,
        }
    }
}

/// The audit trail, oldest first, filtered by case, actor or user, and time.
#[utoipa::path(
    get, path = "/api/v1/audit-events", tag = "audit", params(AuditQuery, PageQuery),
    responses((status = 200, body = List<AuditEvent>), (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    _p: Authorized<roles::AdminOnly>,
    uri: Uri,
    ApiListQuery(q, page): ApiListQuery<AuditQuery>,
) -> ApiResult<Json<List<AuditEvent>>> {
    if let (Some(f), Some(t)) = (q.from, q.to) {
        if f >= t {
            return Err(ApiError::invalid(
                "to",
                "before_from",
                "must be after `from`",
            ));
        }
    }
    let page = state
        .store
        .list_audit(
            AuditFilter {
                case_id: q.case_id,
                actor: q.actor,
                user_id: q.user_id,
                from: q.from,
                to: q.to,
            },
            decode_cursor(page.cursor.as_deref())?,
            page_limit(page.limit)?,
        )
        .await?;
    Ok(Json(List::page("/api/v1/audit-events", &uri, page)))
}
