//! Users, teams and departments of the desk. Admins manage them; the KCC reads them.

use super::{decode_cursor, page_limit};
use super::{found, PageQuery};
use crate::auth::{roles, Authorized, Principal};
use crate::dto::List;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use webcare_desk::patch::double_option;
use webcare_desk::people;
use webcare_domain::Role;
use webcare_store::agent::{DepartmentRecord, TeamRecord, UserRecord};

pub(crate) async fn audit(
    state: &AppState,
    p: &Principal,
    action: &str,
    detail: serde_json::Value,
) -> ApiResult<()> {
    Ok(people::audit(state, p, action, detail).await?)
}

// ------------------------------------------------------------------------------------ users

/// Roles a desk user can have (integrations use API tokens, not users).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    Agent,
    Teamlead,
    Department,
    Admin,
}

impl From<UserRole> for Role {
    fn from(r: UserRole) -> Role {
        match r {
            UserRole::Agent => Role::Agent,
            UserRole::Teamlead => Role::Teamlead,
            UserRole::Department => Role::Department,
            UserRole::Admin => Role::Admin,
        }
    }
}

/// A desk user as the store holds it.
pub type User = UserRecord;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUser {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub subject: Option<String>,
    pub role: UserRole,
    /// Team names; each must exist.
    #[serde(default)]
    pub teams: Vec<String>,
    /// Required for (and only for) department users.
    #[serde(default)]
    pub department_id: Option<Uuid>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub subject: Option<Option<String>>,
    pub role: Option<UserRole>,
    pub teams: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub department_id: Option<Option<Uuid>>,
    pub active: Option<bool>,
}

/// Add a desk user.
#[utoipa::path(
    post, path = "/api/v1/users", tag = "people",
    request_body = NewUser,
    responses((status = 201, body = User), (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn create_user(
    State(state): State<AppState>,
    p: Authorized<roles::AdminOnly>,
    ApiJson(b): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let u = people::create_user(
        &state,
        &p,
        people::UserChange {
            name: Some(b.name),
            email: Some(b.email),
            subject: Some(b.subject),
            role: Some(b.role.into()),
            teams: Some(b.teams),
            department_id: Some(b.department_id),
            active: Some(b.active),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(u)))
}

/// List desk users.
#[utoipa::path(
    get, path = "/api/v1/users", tag = "people", params(PageQuery),
    responses((status = 200, body = List<User>)),
    security(("bearer" = []))
)]
pub async fn list_users(
    State(state): State<AppState>,
    _p: Authorized<roles::Lead>,
    uri: Uri,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<List<User>>> {
    let page = state
        .store
        .list_users(decode_cursor(q.cursor.as_deref())?, page_limit(q.limit)?)
        .await?;
    Ok(Json(List::page("/api/v1/users", &uri, page)))
}

/// One desk user.
#[utoipa::path(
    get, path = "/api/v1/users/{id}", tag = "people", params(("id" = Uuid, Path)),
    responses((status = 200, body = User), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn get_user(
    State(state): State<AppState>,
    _p: Authorized<roles::Lead>,
    IdPath(id): IdPath,
) -> ApiResult<Json<User>> {
    let u = found(state.store.get_user(id).await?, "user")?;
    Ok(Json(u))
}

/// Change a desk user (deactivate with `"active": false`; users are never deleted, so the audit
/// trail keeps its meaning).
#[utoipa::path(
    patch, path = "/api/v1/users/{id}", tag = "people", params(("id" = Uuid, Path)),
    request_body = UserPatch,
    responses((status = 200, body = User), (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn update_user(
    State(state): State<AppState>,
    p: Authorized<roles::AdminOnly>,
    IdPath(id): IdPath,
    ApiJson(b): ApiJson<UserPatch>,
) -> ApiResult<Json<User>> {
    let change = people::UserChange {
        name: b.name,
        email: b.email,
        subject: b.subject,
        role: b.role.map(Role::from),
        teams: b.teams,
        department_id: b.department_id,
        active: b.active,
    };
    let u = people::update_user(&state, &p, id, change).await?;
    Ok(Json(u))
}

// ------------------------------------------------------------------------------------ teams

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AutoAssign {
    Off,
    RoundRobin,
    LeastLoaded,
}

impl AutoAssign {
    fn as_str(self) -> &'static str {
        match self {
            AutoAssign::Off => "off",
            AutoAssign::RoundRobin => "round_robin",
            AutoAssign::LeastLoaded => "least_loaded",
        }
    }
    fn parse(s: &str) -> AutoAssign {
        match s {
            "round_robin" => AutoAssign::RoundRobin,
            "least_loaded" => AutoAssign::LeastLoaded,
            _ => AutoAssign::Off,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    pub auto_assign: AutoAssign,
    /// Most open cases per agent for auto-assignment; null: no cap.
    pub max_open_per_agent: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<TeamRecord> for Team {
    fn from(t: TeamRecord) -> Self {
        Team {
            id: t.id,
            auto_assign: AutoAssign::parse(&t.auto_assign),
            name: t.name,
            max_open_per_agent: t.max_open_per_agent,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewTeam {
    pub name: String,
    #[serde(default = "off")]
    pub auto_assign: AutoAssign,
    #[serde(default)]
    pub max_open_per_agent: Option<i64>,
}

fn off() -> AutoAssign {
    AutoAssign::Off
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TeamPatch {
    pub name: Option<String>,
    pub auto_assign: Option<AutoAssign>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub max_open_per_agent: Option<Option<i64>>,
}

/// Add a team.
#[utoipa::path(
    post, path = "/api/v1/teams", tag = "people", request_body = NewTeam,
    responses((status = 201, body = Team), (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn create_team(
    State(state): State<AppState>,
    p: Authorized<roles::AdminOnly>,
    ApiJson(b): ApiJson<NewTeam>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    let t = people::create_team(
        &state,
        &p,
        &b.name,
        b.auto_assign.as_str(),
        b.max_open_per_agent,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(t.into())))
}

/// List teams.
#[utoipa::path(
    get, path = "/api/v1/teams", tag = "people", params(PageQuery),
    responses((status = 200, body = List<Team>)),
    security(("bearer" = []))
)]
pub async fn list_teams(
    State(state): State<AppState>,
    _p: Authorized<roles::ReadPeople>,
    uri: Uri,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<List<Team>>> {
    let page = state
        .store
        .list_teams(decode_cursor(q.cursor.as_deref())?, page_limit(q.limit)?)
        .await?;
    Ok(Json(List::page("/api/v1/teams", &uri, page)))
}

/// Change a team (name, auto-assignment, cap).
#[utoipa::path(
    patch, path = "/api/v1/teams/{id}", tag = "people", params(("id" = Uuid, Path)),
    request_body = TeamPatch,
    responses((status = 200, body = Team), (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn update_team(
    State(state): State<AppState>,
    p: Authorized<roles::AdminOnly>,
    IdPath(id): IdPath,
    ApiJson(b): ApiJson<TeamPatch>,
) -> ApiResult<Json<Team>> {
    let change = people::TeamChange {
        name: b.name,
        auto_assign: b.auto_assign.map(AutoAssign::as_str),
        max_open_per_agent: b.max_open_per_agent,
    };
    let t = people::update_team(&state, &p, id, change).await?;
    Ok(Json(t.into()))
}

// ------------------------------------------------------------------------------------ departments

pub use webcare_desk::people::ContactPerson;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Department {
    pub id: Uuid,
    pub name: String,
    pub contact_persons: Vec<ContactPerson>,
    /// The agreed answer time (werkafspraak), in business minutes.
    pub answer_minutes: i64,
    pub calendar_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<DepartmentRecord> for Department {
    fn from(d: DepartmentRecord) -> Self {
        Department {
            contact_persons: people::contact_persons(&d),
            id: d.id,
            name: d.name,
            answer_minutes: d.answer_minutes,
            calendar_id: d.calendar_id,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewDepartment {
    pub name: String,
    #[serde(default)]
    pub contact_persons: Vec<ContactPerson>,
    pub answer_minutes: i64,
    #[serde(default)]
    pub calendar_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DepartmentPatch {
    pub name: Option<String>,
    pub contact_persons: Option<Vec<ContactPerson>>,
    pub answer_minutes: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub calendar_id: Option<Option<Uuid>>,
}

/// Add a department (vakafdeling).
#[utoipa::path(
    post, path = "/api/v1/departments", tag = "people", request_body = NewDepartment,
    responses((status = 201, body = Department), (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn create_department(
    State(state): State<AppState>,
    p: Authorized<roles::AdminOnly>,
    ApiJson(b): ApiJson<NewDepartment>,
) -> ApiResult<(StatusCode, Json<Department>)> {
    let new = people::NewDepartment {
        name: b.name,
        contact_persons: b.contact_persons,
        answer_minutes: b.answer_minutes,
        calendar_id: b.calendar_id,
    };
    let d = people::create_department(&state, &p, new).await?;
    Ok((StatusCode::CREATED, Json(d.into())))
}

/// List departments.
#[utoipa::path(
    get, path = "/api/v1/departments", tag = "people", params(PageQuery),
    responses((status = 200, body = List<Department>)),
    security(("bearer" = []))
)]
pub async fn list_departments(
    State(state): State<AppState>,
    _p: Authorized<roles::ReadPeople>,
    uri: Uri,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<List<Department>>> {
    let page = state
        .store
        .list_departments(decode_cursor(q.cursor.as_deref())?, page_limit(q.limit)?)
        .await?;
    Ok(Json(List::page("/api/v1/departments", &uri, page)))
}

/// Change a department.
#[utoipa::path(
    patch, path = "/api/v1/departments/{id}", tag = "people", params(("id" = Uuid, Path)),
    request_body = DepartmentPatch,
    responses((status = 200, body = Department), (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn update_department(
    State(state): State<AppState>,
    p: Authorized<roles::AdminOnly>,
    IdPath(id): IdPath,
    ApiJson(b): ApiJson<DepartmentPatch>,
) -> ApiResult<Json<Department>> {
    let change = people::DepartmentChange {
        name: b.name,
        contact_persons: b.contact_persons,
        answer_minutes: b.answer_minutes,
        calendar_id: b.calendar_id,
    };
    let d = people::update_department(&state, &p, id, change).await?;
    Ok(Json(d.into()))
}
