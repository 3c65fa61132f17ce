//! Theme suggestions (issue 16): how well the model learned from the desk's own tagging does on
//! the tagged cases it did not see. The model is `webcare_domain::themes`, kept by
//! `webcare_store::themes`.

use crate::auth::{roles, Authorized};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use webcare_store::themes::ThemeAccuracy;

/// The default share of the newest tagged cases held out.
const DEFAULT_HOLDOUT: u32 = 20;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccuracyQuery {
    /// The percentage of the newest tagged cases held out (1 to 90; default 20).
    #[param(minimum = 1, maximum = 90)]
    pub holdout_percent: Option<u32>,
}

/// Accuracy of the theme suggestions on held-out tagged cases (team lead and admin): the newest
/// `holdoutPercent` of the tagged cases (at most the newest 50,000) are suggested by a model of
/// the keyword seeds and the older tagged cases, and compared with the agents' tags.
#[utoipa::path(
    get, path = "/api/v1/themes/suggestions/accuracy", tag = "reports", params(AccuracyQuery),
    responses(
        (status = 200, body = ThemeAccuracy),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn accuracy(
    State(state): State<AppState>,
    _p: Authorized<roles::Lead>,
    ApiQuery(q): ApiQuery<AccuracyQuery>,
) -> ApiResult<Json<ThemeAccuracy>> {
    let holdout = q.holdout_percent.unwrap_or(DEFAULT_HOLDOUT);
    if !(1..=90).contains(&holdout) {
        return Err(ApiError::invalid(
            "holdoutPercent",
            "out_of_range",
            "from 1 to 90",
        ));
    }
    Ok(Json(state.store.theme_accuracy(holdout).await?))
}
