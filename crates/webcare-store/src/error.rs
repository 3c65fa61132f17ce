use thiserror::Error;

/// Errors of the case store. Constraint violations that callers can act on are their own variants
/// so the API can map them to precise answers (404, 409) instead of a 500.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Transient errors are worth retrying (pool timeouts, serialization failures, a busy SQLite).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)) => true,
            StoreError::Database(sqlx::Error::Database(e)) => {
                matches!(
                    e.code().as_deref(),
                    Some("40001" | "40P01" | "5" | "6" | "517")
                )
            }
            _ => false,
        }
    }

    /// A unique violation becomes a readable conflict; other errors pass through.
    pub(crate) fn conflict_if_unique(self, what: &str) -> StoreError {
        if self.is_unique_violation() {
            StoreError::Conflict(what.into())
        } else {
            self
        }
    }

    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

/// A conversion that cannot fail (a plain `From` seen as `TryFrom`) never makes a store error.
impl From<std::convert::Infallible> for StoreError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}
