//! The team lead's live board and the department report.

use crate::auth::{roles, Authorized};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Europe::Amsterdam;
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

/// The department report's columns: the JSON keys of a department's row, in order.
pub const DEPARTMENT_COLUMNS: [&str; 8] = [
    "departmentId",
    "name",
    "answerMinutes",
    "forwards",
    "answered",
    "answeredInTime",
    "inTimeShare",
    "open",
];

/// The department report's rows as CSV (RFC 4180, CRLF; a name a spreadsheet would run as a
/// formula gets a leading quote, as every report's text cells).
pub fn departments_csv_bytes(rows: &[DepartmentTimeliness]) -> bytes::Bytes {
    let mut w = super::reports::csv_writer();
    let _ = w.write_record(DEPARTMENT_COLUMNS);
    for d in rows {
        // As in the JSON, so both read the same.
        let share = d.in_time_share.map(|s| s.to_string()).unwrap_or_default();
        let _ = w.write_record([
            d.department_id.to_string(),
            super::reports::csv_safe(&d.name).into_owned(),
            d.answer_minutes.to_string(),
            d.forwards.to_string(),
            d.answered.to_string(),
            d.answered_in_time.to_string(),
            share,
            d.open.to_string(),
        ]);
    }
    super::reports::csv_bytes(w)
}

/// The department report as CSV, one row per department (a link a browser can download).
#[utoipa::path(
    get, path = "/api/v1/reports/departments.csv", tag = "reports", params(PeriodQuery),
    responses(
        (status = 200, description = "One row per department as CSV", content((String = "text/csv"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn departments_csv(
    State(state): State<AppState>,
    p: Authorized<roles::Lead>,
    q: ApiQuery<PeriodQuery>,
) -> ApiResult<axum::response::Response> {
    let Json(view) = departments(State(state), p, q).await?;
    let filename = format!(
        "departments-{}-{}.csv",
        view.from.with_timezone(&Amsterdam).format("%Y%m%d"),
        view.to.with_timezone(&Amsterdam).format("%Y%m%d"),
    );
    Ok(super::reports::csv_download(
        &filename,
        axum::body::Body::from(departments_csv_bytes(&view.departments)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn department_csv_has_a_header_row_per_department_and_safe_names() {
        let row = DepartmentTimeliness {
            department_id: Uuid::nil(),
            name: "=Wegen, groen".into(),
            answer_minutes: 480,
            forwards: 3,
            answered: 2,
            answered_in_time: 1,
            in_time_share: Some(0.5),
            open: 1,
        };
        let out = departments_csv_bytes(&[row]);
        let text = std::str::from_utf8(&out).unwrap();
        let mut r = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(
            r.headers().unwrap().iter().collect::<Vec<_>>(),
            DEPARTMENT_COLUMNS
        );
        let rec = r.records().next().unwrap().unwrap();
        assert_eq!(
            rec.iter().collect::<Vec<_>>(),
            vec![
                "00000000-0000-0000-0000-000000000000",
                "'=Wegen, groen",
                "480",
                "3",
                "2",
                "1",
                "0.5",
                "1",
            ]
        );
        assert!(text.ends_with("\r\n"));
    }
}
