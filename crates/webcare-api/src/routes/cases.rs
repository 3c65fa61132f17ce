use super::{decode_cursor, next_link, page_limit, query_pairs};
use crate::auth::{roles, Authorized};
use crate::dto::{Case, CaseDetail, List};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiQuery, IdPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::Uri;
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use webcare_domain::{CaseKind, CaseStatus};
use webcare_store::{CaseFilter, CaseSort, NewAuditEvent, PageRequest};

const PATH: &str = "/api/v1/cases";

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum SortKey {
    Newest,
    Oldest,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaseQuery {
    pub status: Option<CaseStatus>,
    pub channel_account_id: Option<Uuid>,
    /// A user name, `none` for unassigned cases.
    pub assignee: Option<String>,
    pub team: Option<String>,
    pub theme: Option<String>,
    pub kind: Option<CaseKind>,
    /// `newest` (default) or `oldest`.
    pub sort: Option<SortKey>,
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
}

/// List cases, filtered, in a deterministic order, with cursor pagination.
#[utoipa::path(
    get, path = "/api/v1/cases", tag = "cases",
    params(CaseQuery),
    responses((status = 200, body = List<Case>), (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    _caller: Authorized<roles::ReadCases>,
    uri: Uri,
    ApiQuery(q): ApiQuery<CaseQuery>,
) -> ApiResult<Json<List<Case>>> {
    let filter = CaseFilter {
        status: q.status,
        channel_account_id: q.channel_account_id,
        assignee: q.assignee.map(|a| (a != "none").then_some(a)),
        team: q.team,
        theme: q.theme,
        kind: q.kind,
    };
    let page = state
        .store
        .list_cases(
            filter,
            PageRequest {
                after: decode_cursor(q.cursor.as_deref())?,
                limit: page_limit(q.limit)?,
                sort: match q.sort {
                    Some(SortKey::Oldest) => CaseSort::Oldest,
                    _ => CaseSort::Newest,
                },
            },
        )
        .await?;
    Ok(Json(List {
        next: next_link(PATH, &query_pairs(&uri), page.next_after),
        items: page.items.into_iter().map(Into::into).collect(),
    }))
}

/// One case with its messages and contact. Reading it is recorded in the audit trail.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}", tag = "cases",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = CaseDetail), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Authorized<roles::ReadCases>,
    IdPath(id): IdPath,
) -> ApiResult<Json<CaseDetail>> {
    let case = state
        .store
        .get_case(id)
        .await?
        .ok_or_else(|| ApiError::NotFound("case".into()))?;
    let (messages, contact) = tokio::try_join!(
        state.store.case_messages(id),
        state.store.get_contact(case.contact_id)
    )?;
    // AVG: reading a citizen's messages and contact data is recorded.
    state
        .store
        .record_audit(NewAuditEvent {
            actor: principal.actor(),
            action: "case.read".into(),
            case_id: Some(id),
            detail: serde_json::json!({}),
        })
        .await?;
    Ok(Json(CaseDetail {
        case: case.into(),
        messages: messages.into_iter().map(Into::into).collect(),
        contact: contact.map(Into::into),
    }))
}
