//! One error type for the whole API, answered as `application/problem+json` (RFC 9457). Internal
//! causes are logged with their chain and never sent to the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use webcare_store::StoreError;

pub const PROBLEM_JSON: &str = "application/problem+json";

use webcare_desk::DeskError;
pub use webcare_desk::InvalidParam;

/// The problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub invalid_params: Vec<InvalidParam>,
    /// Extra members for some problems (e.g. the allowed statuses of a 409).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
}

/// What a request can answer besides success: a use case's answer ([`DeskError`], which the
/// store's errors reach through), or what only HTTP knows of.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Invalid input 400, forbidden 403, not found 404, a conflict or refused status change 409
    /// (with the statuses that are allowed, `allowed`), unavailable 503, internal 500.
    #[error(transparent)]
    Desk(#[from] DeskError),
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized(String),
    #[error("payload too large")]
    PayloadTooLarge(String),
    /// A body sent without the media type the route reads (415).
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn invalid(name: &str, code: &str, reason: impl Into<String>) -> Self {
        DeskError::invalid(name, code, reason).into()
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Desk(e) => match e {
                DeskError::Invalid(_) => StatusCode::BAD_REQUEST,
                DeskError::Forbidden(_) => StatusCode::FORBIDDEN,
                DeskError::NotFound(_) => StatusCode::NOT_FOUND,
                DeskError::Conflict(_) | DeskError::InvalidTransition { .. } => {
                    StatusCode::CONFLICT
                }
                DeskError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                DeskError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Desk(e) => match e {
                DeskError::Invalid(p) => format!(
                    "the request has {} invalid parameter{}",
                    p.len(),
                    if p.len() == 1 { "" } else { "s" }
                ),
                DeskError::Forbidden(d) | DeskError::Conflict(d) | DeskError::Unavailable(d) => {
                    d.clone()
                }
                DeskError::InvalidTransition { detail, .. } => detail.clone(),
                DeskError::NotFound(what) => format!("{what} does not exist"),
                DeskError::Internal(_) => "an internal error occurred; it has been logged".into(),
            },
            ApiError::BadRequest(d)
            | ApiError::Unauthorized(d)
            | ApiError::PayloadTooLarge(d)
            | ApiError::UnsupportedMediaType(d) => d.clone(),
        }
    }
}

/// Builds a problem response for a status; used for errors raised outside handlers too.
pub fn problem_response(status: StatusCode, detail: String, params: Vec<InvalidParam>) -> Response {
    problem_with(status, detail, params, None)
}

/// The problem document for `status`, with extra members when given.
fn problem_with(
    status: StatusCode,
    detail: String,
    invalid_params: Vec<InvalidParam>,
    extra: Option<serde_json::Map<String, serde_json::Value>>,
) -> Response {
    let body = Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        detail,
        instance: None,
        invalid_params,
        extra,
    };
    problem(status, &body)
}

pub fn problem(status: StatusCode, body: &Problem) -> Response {
    let mut res = (status, serde_json::to_vec(body).unwrap_or_default()).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Desk(DeskError::Internal(e)) = &self {
            tracing::error!(error = ?e, "internal error");
        }
        let mut res = match self {
            ApiError::Desk(DeskError::Invalid(params)) => {
                problem_response(status, self_detail(&params), params)
            }
            ApiError::Desk(DeskError::InvalidTransition { detail, allowed }) => {
                let mut extra = serde_json::Map::new();
                extra.insert("allowed".into(), serde_json::json!(allowed));
                problem_with(status, detail, vec![], Some(extra))
            }
            other => problem_response(status, other.detail(), vec![]),
        };
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

fn self_detail(p: &[InvalidParam]) -> String {
    ApiError::Desk(DeskError::Invalid(p.to_vec())).detail()
}

/// The store's errors mean what they mean to a use case.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        DeskError::from(e).into()
    }
}
