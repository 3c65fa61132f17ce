//! Opening-hours calendars (admin writes, every role reads) and the deadline math on them.

use super::{found, PageQuery};
use crate::auth::{roles, Authorized};
use crate::dto::List;
use crate::error::{ApiError, ApiResult, InvalidParam, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use webcare_desk::DeskError;
use webcare_domain::sla::BusinessHours;
use webcare_domain::sla::{CalendarSpec, FieldError, SlaError, HORIZON_SECONDS};
use webcare_store::sla::CalendarRecord;

const PATH: &str = "/api/v1/calendars";

/// A calendar version as submitted: name, the opening-hours spec and from when it applies.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CalendarInput {
    pub name: String,
    /// From this instant on the version applies; earlier instants keep older versions. Default
    /// on create: always (1970); on update: now.
    #[serde(default)]
    pub effective_from: Option<DateTime<Utc>>,
    /// `timeZone`, `weekly`, `holidays`, `closures`, `extraOpenings` (see the issue text).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub spec: CalendarSpec,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CalendarVersionDto {
    pub effective_from: DateTime<Utc>,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub spec: CalendarSpec,
}

/// A calendar: the latest version's spec at the top level, every version in `versions`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Calendar {
    pub id: Uuid,
    pub name: String,
    pub effective_from: DateTime<Utc>,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub spec: CalendarSpec,
    pub versions: Vec<CalendarVersionDto>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<CalendarRecord> for Calendar {
    fn from(c: CalendarRecord) -> Self {
        let latest = c.versions.last().cloned();
        Calendar {
            id: c.id,
            name: c.name,
            effective_from: latest
                .as_ref()
                .map_or(DateTime::<Utc>::UNIX_EPOCH, |v| v.effective_from),
            spec: latest.map(|v| v.spec).unwrap_or_else(|| CalendarSpec {
                time_zone: "Europe/Amsterdam".into(),
                weekly: Default::default(),
                holidays: Default::default(),
                closures: vec![],
                extra_openings: vec![],
            }),
            versions: c
                .versions
                .into_iter()
                .map(|v| CalendarVersionDto {
                    effective_from: v.effective_from,
                    spec: v.spec,
                })
                .collect(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// Domain validation errors as `invalidParams`.
pub fn field_errors(errors: Vec<FieldError>) -> ApiError {
    ApiError::Desk(DeskError::Invalid(
        errors
            .into_iter()
            .map(|e| InvalidParam::new(e.name, e.code, e.reason))
            .collect(),
    ))
}

impl CalendarInput {
    fn check(&self) -> ApiResult<()> {
        let mut errors = match self.spec.validate() {
            Ok(_) => vec![],
            Err(e) => e,
        };
        if self.name.trim().is_empty() {
            errors.insert(0, FieldError::new("name", "required", "must not be empty"));
        } else if self.name.chars().count() > 200 {
            errors.insert(
                0,
                FieldError::new("name", "too_long", "at most 200 characters"),
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(field_errors(errors))
        }
    }
}

/// Create a calendar (its first version).
#[utoipa::path(
    post, path = "/api/v1/calendars", tag = "sla",
    request_body = CalendarInput,
    responses((status = 201, body = Calendar), (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Authorized<roles::AdminOnly>,
    ApiJson(body): ApiJson<CalendarInput>,
) -> ApiResult<(StatusCode, Json<Calendar>)> {
    body.check()?;
    let from = body.effective_from.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let cal = state
        .store
        .create_calendar(body.name.trim(), from, body.spec)
        .await?;
    audit(&state, &principal, "calendar.created", cal.id).await?;
    Ok((StatusCode::CREATED, Json(cal.into())))
}

/// List calendars.
#[utoipa::path(
    get, path = "/api/v1/calendars", tag = "sla",
    params(PageQuery),
    responses((status = 200, body = List<Calendar>)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    _caller: Authorized<roles::ReadCalendars>,
    uri: Uri,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<List<Calendar>>> {
    let page = state.store.list_calendars(q.page()?).await?;
    Ok(Json(List::page(PATH, &uri, page)))
}

/// One calendar with all its versions.
#[utoipa::path(
    get, path = "/api/v1/calendars/{id}", tag = "sla",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Calendar), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    _caller: Authorized<roles::ReadCalendars>,
    IdPath(id): IdPath,
) -> ApiResult<Json<Calendar>> {
    let cal = found(state.store.get_calendar(id).await?, "calendar")?;
    Ok(Json(cal.into()))
}

/// Add a version (from `effectiveFrom`, default now), or replace the version with that exact
/// `effectiveFrom`. Earlier instants keep their version, so past figures never change.
#[utoipa::path(
    put, path = "/api/v1/calendars/{id}", tag = "sla",
    params(("id" = Uuid, Path)),
    request_body = CalendarInput,
    responses((status = 200, body = Calendar), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Authorized<roles::AdminOnly>,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<CalendarInput>,
) -> ApiResult<Json<Calendar>> {
    body.check()?;
    let from = body.effective_from.unwrap_or_else(Utc::now);
    let cal = found(
        state
            .store
            .put_calendar_version(id, Some(body.name.trim().to_owned()), from, body.spec)
            .await?,
        "calendar",
    )?;
    audit(&state, &principal, "calendar.updated", id).await?;
    Ok(Json(cal.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeadlineQuery {
    /// RFC 3339 instant the clock starts.
    #[param(required = true, value_type = DateTime<Utc>)]
    pub start: Option<String>,
    /// Open minutes to count, 1 to ten years.
    #[param(required = true, value_type = i64, minimum = 1, maximum = 5_260_320)]
    pub business_minutes: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Deadline {
    pub deadline: DateTime<Utc>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BusinessTimeQuery {
    /// RFC 3339 instant.
    #[param(required = true, value_type = DateTime<Utc>)]
    pub from: Option<String>,
    /// RFC 3339 instant, not before `from` and at most ten years after it.
    #[param(required = true, value_type = DateTime<Utc>)]
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BusinessTime {
    pub business_minutes: i64,
}

fn instant(name: &str, v: Option<&str>, errs: &mut Vec<InvalidParam>) -> Option<DateTime<Utc>> {
    match v {
        None => {
            errs.push(InvalidParam::new(
                name,
                "required",
                "an RFC 3339 instant is required",
            ));
            None
        }
        Some(s) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                errs.push(InvalidParam::new(
                    name,
                    "invalid_datetime",
                    format!("'{s}' is not an RFC 3339 instant, e.g. 2026-03-09T09:15:00+01:00"),
                ));
                None
            }
        },
    }
}

async fn calendar_of(
    state: &AppState,
    id: Uuid,
) -> ApiResult<webcare_domain::sla::CalendarVersions> {
    found(state.store.calendar_versions(id).await?, "calendar")
}

/// The earliest instant at which `businessMinutes` of open time have passed since `start`.
#[utoipa::path(
    get, path = "/api/v1/calendars/{id}/deadline", tag = "sla",
    params(("id" = Uuid, Path), DeadlineQuery),
    responses((status = 200, body = Deadline), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn deadline(
    State(state): State<AppState>,
    _caller: Authorized<roles::ReadCalendars>,
    IdPath(id): IdPath,
    ApiQuery(q): ApiQuery<DeadlineQuery>,
) -> ApiResult<Json<Deadline>> {
    let mut errs = Vec::new();
    let start = instant("start", q.start.as_deref(), &mut errs);
    let max = HORIZON_SECONDS / 60;
    let minutes = match q.business_minutes.as_deref().map(str::parse::<i64>) {
        None => {
            errs.push(InvalidParam::new(
                "businessMinutes",
                "required",
                "a whole number of minutes is required",
            ));
            None
        }
        Some(Ok(m)) if (1..=max).contains(&m) => Some(m),
        Some(_) => {
            errs.push(InvalidParam::new(
                "businessMinutes",
                "out_of_range",
                format!("a whole number from 1 to {max} (ten years)"),
            ));
            None
        }
    };
    let (Some(start), Some(minutes)) = (start, minutes) else {
        return Err(ApiError::Desk(DeskError::Invalid(errs)));
    };
    let cal = calendar_of(&state, id).await?;
    // The walk is bounded (ten years), but keep it off the async workers.
    let result = tokio::task::spawn_blocking(move || cal.deadline_minutes(start, minutes))
        .await
        .map_err(|e| ApiError::Desk(DeskError::Internal(e.into())))?;
    match result {
        Ok(deadline) => Ok(Json(Deadline { deadline })),
        Err(SlaError::NoOpenTime) => Err(ApiError::invalid(
            "id",
            "no_open_time",
            "the calendar has no open time within ten years, so no deadline exists",
        )),
        Err(SlaError::BeyondHorizon) => Err(ApiError::invalid(
            "businessMinutes",
            "beyond_horizon",
            "the deadline lies more than ten years ahead",
        )),
        Err(e) => Err(ApiError::invalid("start", "out_of_range", e.to_string())),
    }
}

/// Open time between two instants, in whole minutes rounded down.
#[utoipa::path(
    get, path = "/api/v1/calendars/{id}/business-time", tag = "sla",
    params(("id" = Uuid, Path), BusinessTimeQuery),
    responses((status = 200, body = BusinessTime), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn business_time(
    State(state): State<AppState>,
    _caller: Authorized<roles::ReadCalendars>,
    IdPath(id): IdPath,
    ApiQuery(q): ApiQuery<BusinessTimeQuery>,
) -> ApiResult<Json<BusinessTime>> {
    let mut errs = Vec::new();
    let from = instant("from", q.from.as_deref(), &mut errs);
    let to = instant("to", q.to.as_deref(), &mut errs);
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::Desk(DeskError::Invalid(errs)));
    };
    if to < from {
        return Err(ApiError::invalid(
            "to",
            "before_from",
            "`to` must not lie before `from`",
        ));
    }
    if (to - from).num_seconds() > HORIZON_SECONDS {
        return Err(ApiError::invalid(
            "to",
            "out_of_range",
            "at most ten years after `from`",
        ));
    }
    let cal = calendar_of(&state, id).await?;
    let minutes = tokio::task::spawn_blocking(move || cal.business_minutes_between(from, to))
        .await
        .map_err(|e| ApiError::Desk(DeskError::Internal(e.into())))?;
    Ok(Json(BusinessTime {
        business_minutes: minutes,
    }))
}

pub(crate) async fn audit(
    state: &AppState,
    p: &crate::auth::Principal,
    action: &str,
    id: Uuid,
) -> ApiResult<()> {
    super::people::audit(state, p, action, serde_json::json!({ "id": id })).await
}
