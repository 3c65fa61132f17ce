//! The classification lists and theme rules (issue 16, DESIGN 3): themes (with UPL URIs), kinds
//! and target groups as the admin configures them, every role reads them; "a theme before
//! resolving" and the spike rule. The use cases are `webcare_desk::classification`, the rules
//! `webcare_domain::classification`.

use crate::auth::{roles, Authorized};
use crate::error::{ApiResult, Problem};
use crate::extract::ApiJson;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use webcare_desk::classification::{self as lists, current};
use webcare_domain::classification::{Classification, Entry, ListName, SpikeRule};

/// One list as stored.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListView {
    /// The newest stored version of the desk's classification (0: none, the defaults). A change
    /// names it.
    pub version: i64,
    /// In the admin's order; retired entries are hidden from pickers but stay valid on the cases
    /// that carry them.
    pub items: Vec<Entry>,
}

/// A list as a whole.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewList {
    /// The version the caller read: a change made meanwhile is a 409.
    #[schema(minimum = 0)]
    pub version: i64,
    #[schema(max_items = 200)]
    pub items: Vec<Entry>,
}

/// The desk-wide theme rules.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThemeRules {
    /// The version read (in an answer: the newest; in a change: a change made meanwhile is a 409).
    #[schema(minimum = 0)]
    pub version: i64,
    /// A case needs a theme before it can be resolved (or closed).
    pub require_theme_to_resolve: bool,
    pub spike: SpikeRule,
}

fn list_view((version, c): (i64, Classification), l: ListName) -> Json<ListView> {
    Json(ListView {
        version,
        items: c.list(l).to_vec(),
    })
}

fn rules_view((version, c): (i64, Classification)) -> Json<ThemeRules> {
    Json(ThemeRules {
        version,
        require_theme_to_resolve: c.require_theme_to_resolve,
        spike: c.spike,
    })
}

async fn get_list(state: &AppState, l: ListName) -> ApiResult<Json<ListView>> {
    Ok(list_view(current(state).await?, l))
}

async fn put_list(
    state: &AppState,
    caller: &Authorized<roles::AdminOnly>,
    l: ListName,
    b: NewList,
) -> ApiResult<Json<ListView>> {
    let saved = lists::set_list(state, caller, Some(b.version), l, b.items).await?;
    Ok(list_view(saved, l))
}

/// The themes (every role).
#[utoipa::path(
    get, path = "/api/v1/themes", tag = "classification",
    responses((status = 200, body = ListView)),
    security(("bearer" = []))
)]
pub async fn get_themes(
    State(state): State<AppState>,
    _p: Authorized<roles::EveryRole>,
) -> ApiResult<Json<ListView>> {
    get_list(&state, ListName::Themes).await
}

/// Replace the themes (admin). A theme that a case carries cannot be removed: retire it.
#[utoipa::path(
    put, path = "/api/v1/themes", tag = "classification", request_body = NewList,
    responses(
        (status = 200, body = ListView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed meanwhile: reload and try again", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn put_themes(
    State(state): State<AppState>,
    caller: Authorized<roles::AdminOnly>,
    ApiJson(b): ApiJson<NewList>,
) -> ApiResult<Json<ListView>> {
    put_list(&state, &caller, ListName::Themes, b).await
}

/// The kinds (rubrieken; every role).
#[utoipa::path(
    get, path = "/api/v1/kinds", tag = "classification",
    responses((status = 200, body = ListView)),
    security(("bearer" = []))
)]
pub async fn get_kinds(
    State(state): State<AppState>,
    _p: Authorized<roles::EveryRole>,
) -> ApiResult<Json<ListView>> {
    get_list(&state, ListName::Kinds).await
}

/// Label and retire the kinds (admin): the codes are fixed (retention and SLA policies key on
/// them), each exactly once.
#[utoipa::path(
    put, path = "/api/v1/kinds", tag = "classification", request_body = NewList,
    responses(
        (status = 200, body = ListView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed meanwhile: reload and try again", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn put_kinds(
    State(state): State<AppState>,
    caller: Authorized<roles::AdminOnly>,
    ApiJson(b): ApiJson<NewList>,
) -> ApiResult<Json<ListView>> {
    put_list(&state, &caller, ListName::Kinds, b).await
}

/// The target groups (doelgroepen; every role).
#[utoipa::path(
    get, path = "/api/v1/target-groups", tag = "classification",
    responses((status = 200, body = ListView)),
    security(("bearer" = []))
)]
pub async fn get_target_groups(
    State(state): State<AppState>,
    _p: Authorized<roles::EveryRole>,
) -> ApiResult<Json<ListView>> {
    get_list(&state, ListName::TargetGroups).await
}

/// Label and retire the target groups (admin): the codes are fixed, each exactly once.
#[utoipa::path(
    put, path = "/api/v1/target-groups", tag = "classification", request_body = NewList,
    responses(
        (status = 200, body = ListView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed meanwhile: reload and try again", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn put_target_groups(
    State(state): State<AppState>,
    caller: Authorized<roles::AdminOnly>,
    ApiJson(b): ApiJson<NewList>,
) -> ApiResult<Json<ListView>> {
    put_list(&state, &caller, ListName::TargetGroups, b).await
}

/// The theme rules: a theme before resolving, spike detection (every role).
#[utoipa::path(
    get, path = "/api/v1/theme-rules", tag = "classification",
    responses((status = 200, body = ThemeRules)),
    security(("bearer" = []))
)]
pub async fn get_rules(
    State(state): State<AppState>,
    _p: Authorized<roles::EveryRole>,
) -> ApiResult<Json<ThemeRules>> {
    Ok(rules_view(current(&state).await?))
}

/// Set the theme rules (admin).
#[utoipa::path(
    put, path = "/api/v1/theme-rules", tag = "classification", request_body = ThemeRules,
    responses(
        (status = 200, body = ThemeRules),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed meanwhile: reload and try again", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn put_rules(
    State(state): State<AppState>,
    caller: Authorized<roles::AdminOnly>,
    ApiJson(b): ApiJson<ThemeRules>,
) -> ApiResult<Json<ThemeRules>> {
    let saved = lists::set_rules(
        &state,
        &caller,
        Some(b.version),
        b.require_theme_to_resolve,
        b.spike,
    )
    .await?;
    Ok(rules_view(saved))
}
