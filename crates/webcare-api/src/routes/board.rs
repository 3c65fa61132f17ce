//! The team lead's live board and the department report.

use crate::auth::{roles, Authorized};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use webcare_domain::reports::Share;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BoardView {
    pub at: DateTime<Utc>,
    /// Open (not resolved or closed) cases per status.
    pub open_by_status: BTreeMap<String, i64>,
    /// Running SLA clocks in warning and breached state now.
    pub sla_warnings: i64,
    pub sla_breaches: i64,
    /// Open cases per assignee.
    pub agent_load: BTreeMap<String, i64>,
    pub unassigned: i64,
    /// The oldest citizen message on a new or open case with no reply after it.
    pub oldest_unanswered_at: Option<DateTime<Utc>>,
    pub oldest_unanswered_case_id: Option<Uuid>,
    /// Citizen messages received in the last hour, per channel kind.
    pub arrivals_last_hour: BTreeMap<String, i64>,
}

/// The live board: open cases per status, SLA warnings and breaches, load per agent, the oldest
/// unanswered message, arrivals in the last hour per channel.
#[utoipa::path(
    get, path = "/api/v1/board", tag = "reports",
    responses((status = 200, body = BoardView)),
    security(("bearer" = []))
)]
pub async fn board(
    State(state): State<AppState>,
    _p: Authorized<roles::Lead>,
) -> ApiResult<Json<BoardView>> {
    let now = Utc::now();
    let b = state.store.board(now).await?;
    Ok(Json(BoardView {
        at: now,
        open_by_status: b.open_by_status.into_iter().collect(),
        sla_warnings: b.sla_warnings,
        sla_breaches: b.sla_breaches,
        agent_load: b.agent_load.into_iter().collect(),
        unassigned: b.unassigned,
        oldest_unanswered_at: b.oldest_unanswered_at,
        oldest_unanswered_case_id: b.oldest_unanswered_case_id,
        arrivals_last_hour: b.arrivals_last_hour.into_iter().collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PeriodQuery {
    /// Start (inclusive); default 30 days ago.
    pub from: Option<DateTime<Utc>>,
    /// End (exclusive); default now.
    pub to: Option<DateTime<Utc>>,
}

/// One department's figures in the period, as the store counts them.
pub type DepartmentTimeliness = webcare_store::agent::DepartmentReportRow;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentReportView {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Cases created in the period.
    pub cases: i64,
    /// Of those, forwarded to a department at least once.
    pub forwarded_cases: i64,
    /// `forwardedCases / cases`; null when there were no cases.
    pub forwarded_share: Option<f64>,
    pub departments: Vec<DepartmentTimeliness>,
}

/// The share of forwarded cases and each department's timeliness in a period.
#[utoipa::path(
    get, path = "/api/v1/reports/departments", tag = "reports", params(PeriodQuery),
    responses((status = 200, body = DepartmentReportView), (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn departments(
    State(state): State<AppState>,
    _p: Authorized<roles::Lead>,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<Json<DepartmentReportView>> {
    let to = q.to.unwrap_or_else(Utc::now);
    let from = q.from.unwrap_or(to - Duration::days(30));
    if from >= to {
        return Err(ApiError::invalid(
            "to",
            "before_from",
            "must be after `from`",
        ));
    }
    let r = state.store.department_report(from, to).await?;
    Ok(Json(DepartmentReportView {
        from,
        to,
        cases: r.cases,
        forwarded_cases: r.forwarded_cases,
        forwarded_share: Share {
            part: r.forwarded_cases,
            of: r.cases,
        }
        .share(),
        departments: r.departments,
    }))
}
