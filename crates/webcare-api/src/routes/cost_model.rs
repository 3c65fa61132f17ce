//! The cost model (issue 16, DESIGN 10): its lines, versioned with an effective time like the
//! retention terms. The use cases are `webcare_desk::costs`, the arithmetic
//! `webcare_domain::costs` (pure); the costs report is `reports::costs`.

use crate::auth::{roles, Authorized};
use crate::error::{ApiResult, Problem};
use crate::extract::ApiJson;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use webcare_desk::costs;
use webcare_domain::costs::{CostModel, CostModelVersion};

/// One stored version of the model.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CostModelVersionView {
    pub version: i64,
    /// In force from this instant on (until a later version takes effect).
    pub effective_from: DateTime<Utc>,
    pub model: CostModel,
    /// What the model costs a year, in euros.
    pub yearly_total: f64,
}

impl From<CostModelVersion> for CostModelVersionView {
    fn from(v: CostModelVersion) -> Self {
        Self {
            version: v.version,
            effective_from: v.effective_from,
            yearly_total: yearly(&v.model),
            model: v.model,
        }
    }
}

fn yearly(m: &CostModel) -> f64 {
    m.yearly_cents() as f64 / 100.0
}

/// The cost model: the one in force now, and every stored version.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CostModelView {
    /// The newest stored version (0: none; the research's model applies). A change names it.
    pub version: i64,
    /// Defaults (the research's model, section 8.2): EUR 49,410 a year. A staff line costs its
    /// hours / 36 as fte (rounded up to 0.01) times the yearly salary, in whole euros.
    pub in_force: CostModel,
    /// What the model in force costs a year, in euros.
    pub yearly_total: f64,
    /// The unit the costs report divides by.
    #[schema(example = "answeredQuestion")]
    pub unit: &'static str,
    /// Oldest first; a version whose `effectiveFrom` lies ahead is not yet in force.
    pub versions: Vec<CostModelVersionView>,
}

/// A new version of the model.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewCostModel {
    /// The newest version the caller read (0: none): a change made meanwhile is a 409.
    #[schema(minimum = 0)]
    pub version: i64,
    /// When the model takes effect: now when absent; never in the past.
    pub effective_from: Option<DateTime<Utc>>,
    pub model: CostModel,
}

/// The cost model in force and its versions (admin and team lead).
#[utoipa::path(
    get, path = "/api/v1/cost-model", tag = "reports",
    responses((status = 200, body = CostModelView)),
    security(("bearer" = []))
)]
pub async fn get_model(
    State(state): State<AppState>,
    _caller: Authorized<roles::Lead>,
) -> ApiResult<Json<CostModelView>> {
    let m = costs::model(&state, Utc::now()).await?;
    Ok(Json(CostModelView {
        version: m.versions.last().map_or(0, |v| v.version),
        yearly_total: yearly(&m.in_force),
        in_force: m.in_force,
        unit: "answeredQuestion",
        versions: m.versions.into_iter().map(Into::into).collect(),
    }))
}

/// Store a new version of the cost model (admin).
#[utoipa::path(
    put, path = "/api/v1/cost-model", tag = "reports", request_body = NewCostModel,
    responses(
        (status = 200, body = CostModelVersionView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The model changed meanwhile: reload and try again", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn put_model(
    State(state): State<AppState>,
    caller: Authorized<roles::AdminOnly>,
    ApiJson(body): ApiJson<NewCostModel>,
) -> ApiResult<Json<CostModelVersionView>> {
    let seen = (body.version > 0).then_some(body.version);
    let saved = costs::set_model(&state, &caller, seen, body.model, body.effective_from).await?;
    Ok(Json(saved.into()))
}
