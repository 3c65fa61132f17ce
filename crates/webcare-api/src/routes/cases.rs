use super::{decode_cursor_any, encode_cursor_v2, next_link_cursor, page_limit, query_pairs};
use crate::auth::{roles, Authorized};
use crate::dto::{Case, CaseDetail, List};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiQuery, IdPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::Uri;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use webcare_domain::sla::ClockStatus;
use webcare_domain::{CaseKind, CaseStatus, Priority};
use webcare_store::contacts::ContactAudit;
use webcare_store::{CaseFilter, CaseSort, PageRequest};

const PATH: &str = "/api/v1/cases";
/// Other open cases of the same citizen shown with a case.
const OTHER_OPEN_CASES: u32 = 20;

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum SortKey {
    Newest,
    Oldest,
    /// Earliest SLA due time first; cases without a running clock last.
    DueAt,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaStatusFilter {
    Warning,
    Breached,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaseQuery {
    pub status: Option<CaseStatus>,
    pub channel_account_id: Option<Uuid>,
    /// A user id, `me` for the caller's cases, `none` for unassigned cases.
    pub assignee: Option<String>,
    pub team: Option<String>,
    pub theme: Option<String>,
    pub kind: Option<CaseKind>,
    /// Cases whose worst fired SLA status is `warning`, or that have a `breached` clock.
    pub sla_status: Option<SlaStatusFilter>,
    /// Comma-separated, at most 20; every label must be on the case.
    #[param(pattern = r"^[^,]*(,[^,]*){0,19}$")]
    pub labels: Option<String>,
    pub priority: Option<Priority>,
    pub department_id: Option<Uuid>,
    /// The cases of this contact, on every channel.
    pub contact_id: Option<Uuid>,
    /// Created at or after this time.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before this time.
    pub created_to: Option<DateTime<Utc>>,
    /// Full-text search over message text and contact names (every word must match): at most
    /// 200 characters with at least one letter or digit.
    #[param(max_length = 200, pattern = r"[^\W_]")]
    pub q: Option<String>,
    /// `newest` (default), `oldest` or `dueAt`.
    pub sort: Option<SortKey>,
    /// Opaque: the `cursor` of this list's `next` link; anything else is refused (400).
    #[param(pattern = r"^[A-Za-z0-9_-]{1,200}$")]
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
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
    caller: Authorized<roles::ReadScopedCases>,
    uri: Uri,
    ApiQuery(q): ApiQuery<CaseQuery>,
) -> ApiResult<Json<List<Case>>> {
    let labels = text_filters(q.labels.as_deref(), q.q.as_deref())?;
    if let (Some(f), Some(t)) = (q.created_from, q.created_to) {
        if f >= t {
            return Err(ApiError::invalid(
                "createdTo",
                "before_from",
                "must be after createdFrom",
            ));
        }
    }
    let filter = CaseFilter {
        status: q.status,
        channel_account_id: q.channel_account_id,
        assignee: q.assignee.map(|a| match a.as_str() {
            "none" => None,
            "me" => Some(caller.assignee_key()),
            _ => Some(a),
        }),
        team: q.team,
        theme: q.theme,
        kind: q.kind,
        sla_status: q.sla_status.map(|s| match s {
            SlaStatusFilter::Warning => ClockStatus::Warning,
            SlaStatusFilter::Breached => ClockStatus::Breached,
        }),
        labels,
        priority: q.priority,
        department_id: q.department_id,
        created_from: q.created_from,
        created_to: q.created_to,
        q: q.q,
        contact_id: q.contact_id,
        scope: caller.case_scope(),
    };
    let sort = match q.sort {
        Some(SortKey::Oldest) => CaseSort::Oldest,
        Some(SortKey::DueAt) => CaseSort::DueAt,
        _ => CaseSort::Newest,
    };
    let cursor = decode_cursor_any(q.cursor.as_deref())?;
    if sort == CaseSort::DueAt && cursor.is_some_and(|(due, _)| due.is_none()) {
        return Err(ApiError::invalid(
            "cursor",
            "invalid_cursor",
            "not a cursor from a `next` link of this list",
        ));
    }
    let page = state
        .store
        .list_cases(
            filter,
            PageRequest {
                after: cursor.map(|(_, id)| id),
                after_due: cursor.and_then(|(due, _)| due),
                limit: page_limit(q.limit)?,
                sort,
            },
        )
        .await?;
    // Keyset on (due_sort, id) for dueAt, on id otherwise.
    let next = page.next_after.and_then(|id| {
        let last = page.items.iter().find(|c| c.id == id)?;
        Some(match sort {
            CaseSort::DueAt => encode_cursor_v2(
                last.due_at
                    .map_or(webcare_store::sla::NO_DUE, |d| d.timestamp_millis()),
                id,
            ),
            _ => super::encode_cursor(id),
        })
    });
    Ok(Json(List {
        next: next_link_cursor(PATH, &query_pairs(&uri), next),
        items: page.items,
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
    principal: Authorized<roles::ReadScopedCases>,
    IdPath(id): IdPath,
) -> ApiResult<Json<CaseDetail>> {
    let case = super::case_work::visible_case(&state, &principal, id).await?;
    let (messages, contact, others, survey) = tokio::try_join!(
        state.store.case_messages(id),
        state.store.get_contact(case.contact_id),
        state
            .store
            .contact_open_cases(case.contact_id, id, OTHER_OPEN_CASES),
        state.store.case_survey(id)
    )?;
    let sla = super::sla::case_sla(&state, id).await?;
    // AVG: reading a citizen's messages and contact data is recorded, under the contact too, so
    // the contact's access log finds it.
    state
        .store
        .record_contact_audit(ContactAudit {
            actor: principal.actor(),
            action: "case.read".into(),
            contact_id: case.contact_id,
            case_id: Some(id),
            detail: serde_json::json!({}),
        })
        .await?;
    let scope = principal.case_scope();
    Ok(Json(CaseDetail {
        case,
        messages: messages.into_iter().map(Into::into).collect(),
        contact,
        sla,
        other_open_cases: others.into_iter().filter(|c| scope.allows(c)).collect(),
        survey: survey.map(Into::into),
    }))
}

/// The `labels` (comma-separated, at most 20, each must be on the case) and `q` (at most 200
/// characters, at least one word) filters, checked once for the inbox and the reports.
pub(crate) fn text_filters(labels: Option<&str>, q: Option<&str>) -> ApiResult<Vec<String>> {
    let labels: Vec<String> = labels
        .map(|l| {
            l.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if labels.len() > 20 {
        return Err(ApiError::invalid("labels", "too_many", "at most 20"));
    }
    if let Some(text) = q {
        if text.chars().count() > 200 {
            return Err(ApiError::invalid("q", "too_long", "at most 200 characters"));
        }
        if webcare_store::agent::search_words(text).is_empty() {
            return Err(ApiError::invalid(
                "q",
                "no_words",
                "search for at least one word",
            ));
        }
    }
    Ok(labels)
}
