//! Errors of the SLA engine: `FieldError` for rejected configuration (shown to the admin who typed
//! it, so it names the JSON path), `SlaError` for computations that cannot give an answer.

use serde::{Deserialize, Serialize};

/// One problem in a submitted configuration, addressed by its JSON path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldError {
    /// JSON path of the offending value, e.g. `weekly.monday[1]` or `timeZone`.
    pub name: String,
    /// Stable machine code, e.g. `invalid_time`, `overlap`, `unknown_time_zone`.
    pub code: String,
    /// Readable English explanation.
    pub reason: String,
}

impl FieldError {
    pub fn new(name: impl Into<String>, code: &str, reason: impl Into<String>) -> Self {
        FieldError {
            name: name.into(),
            code: code.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Why a deadline or clock could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlaError {
    /// The calendar has no open time at all within the search horizon.
    #[error("no open time within ten years")]
    NoOpenTime,
    /// There is open time, but not enough of it within the search horizon to use up the budget.
    #[error("the deadline lies more than ten years ahead")]
    BeyondHorizon,
    /// A budget below zero or above ten years, or an instant outside the supported range.
    #[error("{what} is out of range: {detail}")]
    OutOfRange { what: &'static str, detail: String },
    /// Calendar versions must be non-empty and have distinct effective dates.
    #[error("invalid calendar versions: {0}")]
    InvalidVersions(String),
    /// A clock without any segment has not started and cannot be evaluated.
    #[error("a clock needs at least one segment")]
    EmptyClock,
}
