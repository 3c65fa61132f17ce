//! A case's registrations in the municipality's Open Klant (Klantinteracties API; issue 14):
//! each message's klantcontact and each forward's internetaak, with their state and Open Klant's
//! reason when it refused one. The registrations themselves are durable jobs
//! (`webcare_store::klantcontact`, sent by the Open Klant worker).

use crate::auth::{roles, Authorized};
use crate::error::{ApiResult, Problem};
use crate::extract::IdPath;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use webcare_desk::openklant::CaseKlantcontacten;

/// The case's registrations in Open Klant, oldest first, each with its state and last error.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/klantcontacten", tag = "klantcontacten", params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = CaseKlantcontacten),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Authorized<roles::CaseWork>,
    IdPath(id): IdPath,
) -> ApiResult<Json<CaseKlantcontacten>> {
    let registrations = webcare_desk::openklant::case_klantcontacten(&state, &caller, id).await?;
    Ok(Json(registrations))
}
