use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use webcare_desk::DeskError;

/// Alive: the process answers.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Ready: the database answers and has every migration applied.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.store.ready().await.map_err(|e| {
        tracing::warn!(error = %e, "not ready");
        ApiError::Desk(DeskError::Unavailable(
            "the database is not reachable or not migrated".into(),
        ))
    })?;
    Ok(Json(
        json!({"status": "ready", "database": state.store.backend()}),
    ))
}
