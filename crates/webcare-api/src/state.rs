use std::sync::Arc;
use webcare_desk::Desk;

/// Settings the HTTP layer needs.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// `host:port` names this desk is reached by; webhooks may not point at them.
    pub public_hosts: Vec<String>,
    /// Days a raw platform delivery keeps its body in the journal (retention preview).
    pub journal_days: u32,
}

impl Default for ApiSettings {
    fn default() -> Self {
        // Meta and WhatsApp deliveries can reach 3 MB; leave room above that.
        Self {
            body_limit: 4 * 1024 * 1024,
            public_hosts: Vec::new(),
            journal_days: 30,
        }
    }
}

/// Shared by every handler: the desk core, and what only HTTP needs.
#[derive(Clone)]
pub struct AppState {
    pub desk: Desk,
    pub settings: Arc<ApiSettings>,
    /// OIDC sign-in for agents; `None` when not configured (API tokens only).
    pub oidc: Option<Arc<crate::oidc::OidcVerifier>>,
}

/// A handler reaches the desk's store, ingestor and intake as `state.store` and so on.
impl std::ops::Deref for AppState {
    type Target = Desk;
    fn deref(&self) -> &Desk {
        &self.desk
    }
}
