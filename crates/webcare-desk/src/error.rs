//! What a use case can answer besides success. The API maps it to problem+json
//! (`impl From<DeskError> for ApiError`), the web app to its pages.

use serde::Serialize;
use webcare_store::StoreError;

/// One invalid input field (NL API Design Rules: `invalidParams`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InvalidParam {
    pub name: String,
    pub code: String,
    pub reason: String,
}

impl InvalidParam {
    pub fn new(
        name: impl Into<String>,
        code: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            code: code.into(),
            reason: reason.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// The input is refused; nothing changed.
    #[error("invalid input")]
    Invalid(Vec<InvalidParam>),
    /// The caller's role or scope does not allow it.
    #[error("forbidden")]
    Forbidden(String),
    /// The named thing does not exist (or is outside the caller's scope).
    #[error("{0} not found")]
    NotFound(String),
    /// The current state does not allow it.
    #[error("{0}")]
    Conflict(String),
    /// A refused status change, with the statuses that are allowed.
    #[error("{detail}")]
    InvalidTransition {
        detail: String,
        allowed: Vec<String>,
    },
    /// Not now (shutting down, the database busy): try again.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

pub type DeskResult<T> = Result<T, DeskError>;

impl DeskError {
    pub fn invalid(name: &str, code: &str, reason: impl Into<String>) -> Self {
        DeskError::Invalid(vec![InvalidParam::new(name, code, reason)])
    }
}

impl From<StoreError> for DeskError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => DeskError::NotFound(what),
            StoreError::Conflict(what) => DeskError::Conflict(what),
            e if e.is_transient() => {
                DeskError::Unavailable("the database is busy; retry the request".into())
            }
            e => DeskError::Internal(e.into()),
        }
    }
}

/// The [`DeskError::Conflict`] of a change made on an out-of-date copy (a form opened before
/// someone else's change): nothing changed, the doors say "reload".
pub const STALE: &str = "changed by someone else after this copy was read; reload and try again";
