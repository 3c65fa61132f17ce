//! SLA policies (admin), alerts (team lead), and the `sla` block of a case.

use super::calendars::{audit, field_errors};
use super::found;
use super::PageQuery;
use crate::auth::{roles, Authorized};
use crate::dto::List;
use crate::error::{ApiError, ApiResult, InvalidParam, Problem};
use crate::extract::{ApiJson, ApiListQuery, IdPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use webcare_desk::DeskError;
use webcare_domain::sla::{ClockKind, ClockStatus, ClockView, SlaPolicy};
use webcare_store::sla::{AlertRecord, PolicyRecord};

const ALERTS_PATH: &str = "/api/v1/sla/alerts";

/// The latest run of each clock of a case, as `GET /api/v1/cases/{id}` shows them (clocks that
/// do not apply are absent). Every run, with its segments and stop reason, is at
/// `GET /api/v1/cases/{id}/sla`.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaseSla {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reaction: Option<ClockView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_reaction: Option<ClockView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<ClockView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<ClockView>,
}

/// One run of one clock: a reopened case gets a new resolution run, each citizen message after
/// a reply a next-reaction run, each forward a department run.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClockRun {
    pub clock: ClockKind,
    /// 0 for the first run of this clock.
    pub run: i32,
    #[serde(flatten)]
    pub view: ClockView,
}

/// Every clock run of a case, in start order.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaseClockRuns {
    pub case_id: Uuid,
    pub runs: Vec<ClockRun>,
}

/// Every run of every SLA clock of a case (reaction, each next reaction, each resolution run
/// after a reopen, each department question), with its segments (running, paused with a
/// reason), state (`running`, `paused`, `met`, `missed`, `cancelled`) and stop reason.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/sla", tag = "sla", params(("id" = Uuid, Path)),
    responses((status = 200, body = CaseClockRuns), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn case_clock_runs(
    State(state): State<AppState>,
    p: Authorized<roles::ReadScopedCases>,
    IdPath(id): IdPath,
) -> ApiResult<Json<CaseClockRuns>> {
    super::case_work::visible_case(&state, &p, id).await?;
    let runs = state
        .store
        .case_clock_runs(id, Utc::now())
        .await?
        .into_iter()
        .map(|(clock, run, view)| ClockRun { clock, run, view })
        .collect();
    Ok(Json(CaseClockRuns { case_id: id, runs }))
}

/// The `sla` block of a case, evaluated now.
pub async fn case_sla(state: &AppState, case_id: Uuid) -> ApiResult<CaseSla> {
    let mut out = CaseSla::default();
    for (kind, view) in state.store.case_clock_views(case_id, Utc::now()).await? {
        let slot = match kind {
            ClockKind::Reaction => &mut out.reaction,
            ClockKind::NextReaction => &mut out.next_reaction,
            ClockKind::Resolution => &mut out.resolution,
            ClockKind::Department => &mut out.department,
        };
        *slot = Some(view);
    }
    Ok(out)
}

/// A policy version, as the store holds it.
pub type Policy = PolicyRecord;

/// Checks a policy and that its calendar exists.
async fn check_policy(state: &AppState, p: &SlaPolicy) -> ApiResult<()> {
    let mut errs: Vec<InvalidParam> = match p.validate() {
        Ok(()) => vec![],
        Err(e) => match field_errors(e) {
            ApiError::Desk(DeskError::Invalid(v)) => v,
            _ => vec![],
        },
    };
    if p.name.chars().count() > 200 {
        errs.push(InvalidParam::new(
            "name",
            "too_long",
            "at most 200 characters",
        ));
    }
    if let Some(id) = p.calendar_id {
        if state.store.get_calendar(id).await?.is_none() {
            errs.push(InvalidParam::new(
                "calendarId",
                "unknown_calendar",
                format!("no calendar {id}"),
            ));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Desk(DeskError::Invalid(errs)))
    }
}

/// Create a policy (ordered; first match wins; versioned by name and `effectiveFrom`).
#[utoipa::path(
    post, path = "/api/v1/sla-policies", tag = "sla",
    request_body(content = SlaPolicy, description = "An SLA policy"),
    responses((status = 201, body = Policy), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn create_policy(
    State(state): State<AppState>,
    principal: Authorized<roles::AdminOnly>,
    ApiJson(body): ApiJson<SlaPolicy>,
) -> ApiResult<(StatusCode, Json<Policy>)> {
    check_policy(&state, &body).await?;
    let p = state.store.create_policy(body).await?;
    audit(&state, &principal, "sla_policy.created", p.id).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// Every policy version, in match order.
#[utoipa::path(
    get, path = "/api/v1/sla-policies", tag = "sla",
    responses((status = 200, body = List<Policy>)),
    security(("bearer" = []))
)]
pub async fn list_policies(
    State(state): State<AppState>,
    _caller: Authorized<roles::AdminOnly>,
) -> ApiResult<Json<List<Policy>>> {
    let items = state.store.list_policies().await?;
    Ok(Json(List {
        items: items.into_iter().collect(),
        next: None,
    }))
}

/// One policy version.
#[utoipa::path(
    get, path = "/api/v1/sla-policies/{id}", tag = "sla",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Policy), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn get_policy(
    State(state): State<AppState>,
    _caller: Authorized<roles::AdminOnly>,
    IdPath(id): IdPath,
) -> ApiResult<Json<Policy>> {
    let p = found(state.store.get_policy(id).await?, "SLA policy")?;
    Ok(Json(p))
}

/// Add a version of this policy (a later `effectiveFrom`), or change this version when
/// `effectiveFrom` is the same. The name cannot change.
#[utoipa::path(
    put, path = "/api/v1/sla-policies/{id}", tag = "sla",
    params(("id" = Uuid, Path)),
    request_body(content = SlaPolicy, description = "An SLA policy"),
    responses((status = 200, body = Policy), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn update_policy(
    State(state): State<AppState>,
    principal: Authorized<roles::AdminOnly>,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<SlaPolicy>,
) -> ApiResult<Json<Policy>> {
    check_policy(&state, &body).await?;
    let p = found(state.store.put_policy(id, body).await?, "SLA policy")?;
    audit(&state, &principal, "sla_policy.updated", p.id).await?;
    Ok(Json(p))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Warning,
    Breached,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertQuery {
    /// `warning` or `breached`; absent: both.
    pub status: Option<AlertStatus>,
}

/// A warning or breach of one clock of a case, recorded once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub id: Uuid,
    pub case_id: Uuid,
    /// `reaction`, `next_reaction`, `resolution` or `department`.
    pub clock: String,
    /// `warning` or `breached`.
    pub status: String,
    pub due_at: DateTime<Utc>,
    pub fired_at: DateTime<Utc>,
    /// When the notification goes out (held until the next opening outside opening hours).
    pub notify_at: DateTime<Utc>,
    pub notified_at: Option<DateTime<Utc>>,
}

impl From<AlertRecord> for Alert {
    fn from(a: AlertRecord) -> Self {
        Alert {
            id: a.id,
            case_id: a.case_id,
            clock: webcare_store::sla::kind_str(a.clock).into(),
            status: match a.status {
                ClockStatus::Breached => "breached",
                _ => "warning",
            }
            .into(),
            due_at: a.due_at,
            fired_at: a.fired_at,
            notify_at: a.notify_at,
            notified_at: a.notified_at,
        }
    }
}

/// SLA warnings and breaches, newest first.
#[utoipa::path(
    get, path = "/api/v1/sla/alerts", tag = "sla",
    params(AlertQuery, PageQuery),
    responses((status = 200, body = List<Alert>), (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn alerts(
    State(state): State<AppState>,
    _caller: Authorized<roles::SlaWatch>,
    uri: Uri,
    ApiListQuery(q, page): ApiListQuery<AlertQuery>,
) -> ApiResult<Json<List<Alert>>> {
    let status = q.status.map(|s| match s {
        AlertStatus::Warning => ClockStatus::Warning,
        AlertStatus::Breached => ClockStatus::Breached,
    });
    let page = state.store.list_alerts(status, page.page()?).await?;
    Ok(Json(List::page(ALERTS_PATH, &uri, page)))
}
