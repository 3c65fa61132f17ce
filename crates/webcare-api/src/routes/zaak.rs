//! A case's zaak in the municipality's zaaksysteem (ZGW, Open Zaak; issue 14): request it, and
//! read where it is and how its calls went. The calls themselves are durable jobs
//! (`webcare_desk::zgw`, sent by the zaak worker).

use crate::auth::{roles, Authorized};
use crate::error::{ApiResult, Problem};
use crate::extract::IdPath;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use webcare_store::zaak::CaseZaak;

/// A case's zaak: where it is, its number, and its calls, as the store holds them.
pub type Zaak = CaseZaak;

/// Make the case a zaak: the desk finds (by its identificatie) or creates the zaak with its
/// first status, in the background; `GET` shows how it went.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/zaak", tag = "zaken", params(("id" = Uuid, Path)),
    responses(
        (status = 202, description = "The create is queued", body = Zaak),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case has a zaak, or one is being created, or no zaaksysteem is configured", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    p: Authorized<roles::CaseWork>,
    IdPath(id): IdPath,
) -> ApiResult<(StatusCode, Json<Zaak>)> {
    let z = webcare_desk::zgw::request_zaak(&state, &p, id).await?;
    Ok((StatusCode::ACCEPTED, Json(z)))
}

/// The case's zaak: its URL and number, and each call with its state and last error.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/zaak", tag = "zaken", params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = Zaak),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    p: Authorized<roles::CaseWork>,
    IdPath(id): IdPath,
) -> ApiResult<Json<Zaak>> {
    Ok(Json(webcare_desk::zgw::case_zaak(&state, &p, id).await?))
}
