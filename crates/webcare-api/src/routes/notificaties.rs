//! The Notificaties API callback (Open Notificaties 1.0; issue 14): Open Notificaties delivers
//! each notification of the desk's abonnement here, with the abonnement's `auth` as its
//! `Authorization` header. Recorded durably and answered 204; the notificaties worker processes it.

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiJson;
use crate::state::AppState;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, StatusCode};
use webcare_desk::notificaties::{check_callback, CallbackDenied, Notificatie};
use webcare_desk::DeskError;

/// Receive a notification: checked against the abonnement's `auth`, recorded once (a retried
/// delivery changes nothing) and processed in the background.
#[utoipa::path(
    post, path = "/api/v1/notificaties", tag = "zaken", request_body = Notificatie,
    responses(
        (status = 204, description = "Received (also a retried delivery)"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No Authorization header", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the abonnement's auth", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn receive(State(state): State<AppState>, req: Request) -> ApiResult<StatusCode> {
    // The header first: without it nothing about the body is answered.
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec());
    let settings = state.zgw().await;
    match check_callback(settings.as_deref(), auth.as_deref()) {
        Ok(()) => {}
        Err(CallbackDenied::Missing) => {
            return Err(ApiError::Unauthorized(
                "send the abonnement's auth in the Authorization header".into(),
            ))
        }
        Err(CallbackDenied::Wrong) => {
            return Err(DeskError::Forbidden(
                "the Authorization header is not the abonnement's auth".into(),
            )
            .into())
        }
    }
    let ApiJson(n) = ApiJson::<Notificatie>::from_request(req, &state).await?;
    webcare_desk::notificaties::receive(&state, n).await?;
    Ok(StatusCode::NO_CONTENT)
}
