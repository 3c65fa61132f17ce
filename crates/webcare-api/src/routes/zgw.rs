//! Administering the zaaksysteem link (issue 14, admin): the `[zgw]` settings (stored, taking
//! precedence over the configuration file without a restart; secrets write-only) and the desk's
//! abonnement at Open Notificaties. The use cases are `webcare_desk::zgw_admin`.

use crate::auth::{roles, Authorized};
use crate::error::{ApiResult, Problem};
use crate::extract::ApiJson;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use webcare_desk::zgw_admin::{self, AbonnementView, ZgwSettingsInput, ZgwSettingsView};

/// The zaaksysteem settings in force and where they come from; the secret and the callback's
/// auth only as set or not set.
#[utoipa::path(
    get, path = "/api/v1/zgw/settings", tag = "zaken",
    responses((status = 200, body = ZgwSettingsView)),
    security(("bearer" = []))
)]
pub async fn get_settings(
    State(state): State<AppState>,
    _caller: Authorized<roles::AdminOnly>,
) -> ApiResult<Json<ZgwSettingsView>> {
    Ok(Json(zgw_admin::settings(&state).await?))
}

/// Store the zaaksysteem settings: they take precedence over the configuration file's `[zgw]`,
/// on every node within a second. An absent `secret` or `callbackAuth` keeps the one in force.
/// With `version` (as read) a change stored meanwhile is a 409.
#[utoipa::path(
    put, path = "/api/v1/zgw/settings", tag = "zaken", request_body = ZgwSettingsInput,
    responses(
        (status = 200, body = ZgwSettingsView),
        (status = 400, description = "Invalid settings (a URL, the RSIN's 11-proef, ...)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed meanwhile (`version` is not the newest): reload and try again", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn put_settings(
    State(state): State<AppState>,
    caller: Authorized<roles::AdminOnly>,
    ApiJson(body): ApiJson<ZgwSettingsInput>,
) -> ApiResult<Json<ZgwSettingsView>> {
    Ok(Json(zgw_admin::put_settings(&state, &caller, body).await?))
}

/// The desk's abonnement at Open Notificaties: whether it is registered for the settings in
/// force, and where.
#[utoipa::path(
    get, path = "/api/v1/zgw/abonnement", tag = "zaken",
    responses((status = 200, body = AbonnementView)),
    security(("bearer" = []))
)]
pub async fn get_abonnement(
    State(state): State<AppState>,
    _caller: Authorized<roles::AdminOnly>,
) -> ApiResult<Json<AbonnementView>> {
    Ok(Json(zgw_admin::abonnement(&state).await?))
}

/// Register the desk's abonnement (kanaal `zaken`, filtered on the RSIN; the callback is the
/// desk's public URL + `/api/v1/notificaties` with the configured auth). Once: an abonnement
/// Open Notificaties already has for the callback is updated instead (200).
#[utoipa::path(
    post, path = "/api/v1/zgw/abonnement", tag = "zaken",
    responses(
        (status = 201, description = "Registered", body = AbonnementView),
        (status = 200, description = "Found and updated", body = AbonnementView),
        (status = 409, description = "No zaaksysteem, notificaties_url, public_url or callback_auth is configured, or Open Notificaties refused", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Open Notificaties is not reachable now", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn register_abonnement(
    State(state): State<AppState>,
    caller: Authorized<roles::AdminOnly>,
) -> ApiResult<(StatusCode, Json<AbonnementView>)> {
    let (created, v) = zgw_admin::register_abonnement(&state, &caller).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(v)))
}
