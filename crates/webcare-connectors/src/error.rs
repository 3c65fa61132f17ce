//! The one error type of the parsers. Only the body as a whole can be rejected: a single odd item
//! inside a valid body becomes an `Ignored` event with a reason instead, so one bad item never
//! costs the rest of a batch.

/// Why a delivery body could not be parsed at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON (truncated, invalid UTF-8, unpaired surrogate escape, ...).
    #[error("malformed JSON: {0}")]
    Json(String),
    /// JSON, but not the top-level shape this parser expects.
    #[error("unexpected body shape: {0}")]
    Shape(&'static str),
    /// A Meta body whose `object` is none of `page`, `instagram`, `whatsapp_business_account`.
    #[error("unknown webhook object '{0}'")]
    UnknownObject(String),
}

impl ParseError {
    pub(crate) fn json(e: serde_json::Error) -> Self {
        ParseError::Json(e.to_string())
    }
}
