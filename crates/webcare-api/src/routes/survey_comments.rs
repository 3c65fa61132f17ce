//! The satisfaction report's comments (issue 16, `docs/REPORTS.md`): each answered survey with a
//! comment, under the report's `groupBy` keys, as JSON or CSV. The same cases, filters and role
//! scope as the reports ([`reports::parse`]); the list is made by
//! [`webcare_domain::survey_comments`], which masks BSNs.

use super::reports::{self, GroupQuery, ReportFilters, ReportKind, ReportQuery, ReportReaders};
use crate::auth::{Authorized, Principal};
use crate::error::{ApiResult, Problem};
use crate::extract::ApiQueries;
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Europe::Amsterdam;
use serde::Serialize;
use utoipa::ToSchema;
use webcare_domain::survey_comments::{comments, Comment};

/// The columns after the `groupBy` keys.
pub const COLUMNS: [&str; 5] = ["caseId", "kind", "score", "comment", "answeredAt"];

/// The comments of a period.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentsView {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub group_by: Vec<String>,
    /// The keys of every row, in order (also the CSV header): the `groupBy` keys, then
    /// `caseId`, `kind` (`csat`, `nps`), `score`, `comment` (BSNs masked) and `answeredAt`.
    pub columns: Vec<String>,
    /// One object per comment, ordered by the group's values, then the answer's time.
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// A comment's cells after its group's values, as text.
fn cells(c: &Comment) -> [String; 5] {
    [
        c.case_id.to_string(),
        c.kind.as_str().to_owned(),
        c.score.to_string(),
        c.comment.clone(),
        c.answered_at.to_rfc3339_opts(SecondsFormat::Millis, true),
    ]
}

fn to_json(group_keys: &[&str], c: &Comment) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    for (g, v) in group_keys.iter().zip(&c.key) {
        m.insert((*g).to_owned(), v.clone().into());
    }
    let [case_id, kind, _, comment, answered_at] = cells(c);
    m.insert("caseId".into(), case_id.into());
    m.insert("kind".into(), kind.into());
    m.insert("score".into(), c.score.into());
    m.insert("comment".into(), comment.into());
    m.insert("answeredAt".into(), answered_at.into());
    m
}

/// Every comment as CSV, each text cell made safe for a spreadsheet.
fn to_csv(header: &[String], rows: &[Comment]) -> bytes::Bytes {
    let mut w = reports::csv_writer();
    let _ = w.write_record(header);
    for c in rows {
        let texts = c.key.iter().cloned().chain(cells(c));
        let _ = w.write_record(texts.map(|t| reports::csv_safe(&t).into_owned()));
    }
    reports::csv_bytes(w)
}

async fn answer(
    state: &AppState,
    caller: &Principal,
    filters: ReportFilters,
    group: GroupQuery,
    csv: bool,
) -> ApiResult<Response> {
    let q = ReportQuery {
        filters,
        group_by: group.group_by,
        at: None,
    };
    let req = reports::parse(ReportKind::Satisfaction, q, caller)?;
    let mut facts = Vec::new();
    state
        .store
        .report_facts(&req.facts, &mut |f| {
            if f.survey_comment.is_some() {
                facts.push(f);
            }
        })
        .await?;
    let rows = comments(&facts, &req.group_by);
    let keys: Vec<&str> = req.group_by.iter().map(|g| g.as_str()).collect();
    let columns: Vec<String> = keys
        .iter()
        .copied()
        .chain(COLUMNS)
        .map(str::to_owned)
        .collect();
    if csv {
        let filename = format!(
            "satisfaction-comments-{}-{}.csv",
            req.facts.from.with_timezone(&Amsterdam).format("%Y%m%d"),
            req.facts.to.with_timezone(&Amsterdam).format("%Y%m%d"),
        );
        let body = to_csv(&columns, &rows);
        return Ok(reports::csv_download(&filename, body.into()));
    }
    Ok(Json(CommentsView {
        from: req.facts.from,
        to: req.facts.to,
        group_by: keys.iter().map(|k| (*k).to_owned()).collect(),
        columns,
        rows: rows.iter().map(|c| to_json(&keys, c)).collect(),
    })
    .into_response())
}

/// What citizens wrote beside their survey score, per group (as the satisfaction report groups
/// them), BSNs masked: JSON, or with `Accept: text/csv` CSV.
#[utoipa::path(
    get, path = "/api/v1/reports/satisfaction/comments", tag = "reports",
    params(ReportFilters, GroupQuery),
    responses(
        (status = 200, description = "The comments as JSON, or with `Accept: text/csv` as CSV",
         content((CommentsView = "application/json"), (String = "text/csv"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn comments_report(
    State(state): State<AppState>,
    caller: Authorized<ReportReaders>,
    headers: HeaderMap,
    ApiQueries(filters, group): ApiQueries<ReportFilters, GroupQuery>,
) -> ApiResult<Response> {
    let csv = reports::wants_csv(&headers);
    answer(&state, &caller.0, filters, group, csv).await
}

/// The comments as CSV, whatever the `Accept` header (a link a browser can download).
#[utoipa::path(
    get, path = "/api/v1/reports/satisfaction/comments.csv", tag = "reports",
    params(ReportFilters, GroupQuery),
    responses(
        (status = 200, description = "The comments as CSV", content((String = "text/csv"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn comments_report_csv(
    State(state): State<AppState>,
    caller: Authorized<ReportReaders>,
    ApiQueries(filters, group): ApiQueries<ReportFilters, GroupQuery>,
) -> ApiResult<Response> {
    answer(&state, &caller.0, filters, group, true).await
}
