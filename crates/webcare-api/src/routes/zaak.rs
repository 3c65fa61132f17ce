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
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;
use webcare_store::zaak::CaseZaak;

/// A case's zaak.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Zaak {
    /// The zaak's absolute URL in the Zaken API; null until it is created.
    pub url: Option<String>,
    /// The zaak's number (what `{{zaaknummer}}` shows); null until it is created.
    pub identificatie: Option<String>,
    /// Every call for this zaak, oldest first.
    pub jobs: Vec<ZaakJob>,
}

/// One call to the zaaksysteem.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ZaakJob {
    pub id: Uuid,
    /// `create`, `status`, `rol` or `close`.
    pub kind: String,
    /// `pending`, `done` or `failed`.
    pub state: String,
    pub attempts: i64,
    /// Why the last attempt did not succeed (for `failed`: Open Zaak's refusal).
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<CaseZaak> for Zaak {
    fn from(z: CaseZaak) -> Self {
        Zaak {
            url: z.zaak_url,
            identificatie: z.identificatie,
            jobs: z
                .jobs
                .into_iter()
                .map(|j| ZaakJob {
                    id: j.id,
                    kind: j.kind.as_str().to_owned(),
                    state: j.state,
                    attempts: j.attempts,
                    last_error: j.last_error,
                    created_at: j.created_at,
                    updated_at: j.updated_at,
                })
                .collect(),
        }
    }
}

/// Make the case a zaak: the desk finds (by its identificatie) or creates the zaak with its
/// first status, in the background; `GET` shows how it went.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/zaak", tag = "zaken", params(("id" = Uuid, Path)),
    responses(
        (status = 202, description = "The create is queued", body = Zaak),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case has a zaak, or one is being created", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "No zaaksysteem is configured", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    p: Authorized<roles::CaseWork>,
    IdPath(id): IdPath,
) -> ApiResult<(StatusCode, Json<Zaak>)> {
    let z = webcare_desk::zgw::request_zaak(&state, &p, id).await?;
    Ok((StatusCode::ACCEPTED, Json(z.into())))
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
    Ok(Json(
        webcare_desk::zgw::case_zaak(&state, &p, id).await?.into(),
    ))
}
