//! Canned answers: Dutch texts with `{{voornaam}}`, `{{openingstijden}}`, `{{agent}}`,
//! `{{zaaknummer}}` and `{{afdeling}}`, per team (or desk-wide), searchable, rendered for a case.
//! A text with any other variable is refused when it is saved (create and update), naming it.

use super::{decode_cursor, page_limit, PageQuery};
use crate::auth::{roles, Authorized};
use crate::dto::List;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiListQuery, IdPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use webcare_desk::patch::double_option;
use webcare_domain::canned;
use webcare_store::agent::CannedRecord;
// The rendering and who may use an answer are the desk's (`webcare_desk::canned`).
use webcare_desk::canned::CannedChange;
pub use webcare_desk::canned::{may_use, render_canned, template_error};

/// A canned answer as the store holds it.
pub type CannedAnswer = CannedRecord;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewCannedAnswer {
    #[serde(default)]
    pub team: Option<String>,
    pub title: String,
    pub text: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CannedAnswerPatch {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub team: Option<Option<String>>,
    pub title: Option<String>,
    pub text: Option<String>,
}

/// Add a canned answer.
#[utoipa::path(
    post, path = "/api/v1/canned-answers", tag = "canned-answers", request_body = NewCannedAnswer,
    responses((status = 201, body = CannedAnswer), (status = 400, description = "Invalid title or team, or a text with an unknown variable (`unknown_variables`, naming it and the known ones: voornaam, openingstijden, agent, zaaknummer, afdeling)", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    p: Authorized<roles::Lead>,
    ApiJson(b): ApiJson<NewCannedAnswer>,
) -> ApiResult<(StatusCode, Json<CannedAnswer>)> {
    let change = CannedChange {
        team: Some(b.team),
        title: Some(b.title),
        text: Some(b.text),
    };
    let c = webcare_desk::canned::create_canned(&state, &p, change).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CannedQuery {
    /// Answers of this team and the desk-wide ones.
    pub team: Option<String>,
    /// Search in title and text.
    pub q: Option<String>,
}

/// List and search canned answers.
#[utoipa::path(
    get, path = "/api/v1/canned-answers", tag = "canned-answers", params(CannedQuery, PageQuery),
    responses((status = 200, body = List<CannedAnswer>)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    _p: Authorized<roles::CaseWork>,
    uri: Uri,
    ApiListQuery(q, page): ApiListQuery<CannedQuery>,
) -> ApiResult<Json<List<CannedAnswer>>> {
    if q.q.as_ref().is_some_and(|s| s.chars().count() > 200) {
        return Err(ApiError::invalid("q", "too_long", "at most 200 characters"));
    }
    let page = state
        .store
        .list_canned(
            q.team,
            q.q.filter(|s| !s.trim().is_empty()),
            decode_cursor(page.cursor.as_deref())?,
            page_limit(page.limit)?,
        )
        .await?;
    Ok(Json(List::page("/api/v1/canned-answers", &uri, page)))
}

/// Change a canned answer.
#[utoipa::path(
    patch, path = "/api/v1/canned-answers/{id}", tag = "canned-answers", params(("id" = Uuid, Path)),
    request_body = CannedAnswerPatch,
    responses((status = 200, body = CannedAnswer), (status = 400, description = "Invalid title or team, or a text with an unknown variable (`unknown_variables`, naming it); nothing is changed", body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    p: Authorized<roles::Lead>,
    IdPath(id): IdPath,
    ApiJson(b): ApiJson<CannedAnswerPatch>,
) -> ApiResult<Json<CannedAnswer>> {
    let change = CannedChange {
        team: b.team,
        title: b.title,
        text: b.text,
    };
    let c = webcare_desk::canned::update_canned(&state, &p, id, change).await?;
    Ok(Json(c))
}

/// Delete a canned answer.
#[utoipa::path(
    delete, path = "/api/v1/canned-answers/{id}", tag = "canned-answers", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    p: Authorized<roles::Lead>,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    webcare_desk::canned::delete_canned(&state, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenderRequest {
    /// Fills `voornaam` (the contact's first name), `openingstijden` (the case's opening hours),
    /// `zaaknummer` and `afdeling` from this case.
    #[serde(default)]
    pub case_id: Option<Uuid>,
    /// Values that win over the derived ones (e.g. `openingstijden`).
    #[serde(default)]
    pub values: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Rendered {
    pub text: String,
}

/// Fill in a canned answer for a case (the reply is sent separately).
#[utoipa::path(
    post, path = "/api/v1/canned-answers/{id}/render", tag = "canned-answers", params(("id" = Uuid, Path)),
    request_body = RenderRequest,
    responses((status = 200, body = Rendered), (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn render(
    State(state): State<AppState>,
    p: Authorized<roles::CaseWork>,
    IdPath(id): IdPath,
    ApiJson(b): ApiJson<RenderRequest>,
) -> ApiResult<Json<Rendered>> {
    if let Some(k) = b
        .values
        .keys()
        .find(|k| !canned::VARIABLES.contains(&k.as_str()))
    {
        return Err(ApiError::invalid(
            &format!("values.{k}"),
            "unknown_variables",
            format!(
                "unknown variables: {k}; known: {}",
                canned::VARIABLES.join(", ")
            ),
        ));
    }
    let text = render_canned(&state, &p, id, b.case_id, b.values).await?;
    Ok(Json(Rendered { text }))
}
