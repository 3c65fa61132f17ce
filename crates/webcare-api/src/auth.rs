//! Bearer-token authentication and role checks. Every `/api/v1` route except the OpenAPI document
//! takes a [`Principal`]; handlers say which roles they allow with [`Principal::require`].

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use uuid::Uuid;
use webcare_domain::Role;

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token_id: Uuid,
    pub name: String,
    pub role: Role,
}

impl Principal {
    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::Forbidden(format!(
                "role '{}' may not do this; needs one of: {}",
                self.role,
                names.join(", ")
            )))
        }
    }

    /// How the caller appears in the audit trail.
    pub fn actor(&self) -> String {
        format!("token:{}:{}", self.name, self.token_id)
    }
}

/// Who may call a route. Checked as an extractor, before the body is read, so a caller without
/// the right role learns nothing about the body's validity (403, not 400).
pub trait Policy: Send + Sync + 'static {
    const ROLES: &'static [Role];
}

/// Roles grouped by what they may do.
pub mod roles {
    use super::Policy;
    use webcare_domain::Role::{self, *};

    pub struct AdminOnly;
    impl Policy for AdminOnly {
        const ROLES: &'static [Role] = &[Admin];
    }

    /// Feeding messages in: integrations (connectors, other channels) and admins.
    pub struct Ingest;
    impl Policy for Ingest {
        const ROLES: &'static [Role] = &[Integration, Admin];
    }

    /// Answering citizens (replies go out through the outbox): the KCC.
    pub struct Reply;
    impl Policy for Reply {
        const ROLES: &'static [Role] = &[Agent, Teamlead, Admin];
    }

    /// Reading cases: the KCC, and integrations such as BI tools and zaaksystemen.
    pub struct ReadCases;
    impl Policy for ReadCases {
        const ROLES: &'static [Role] = &[Agent, Teamlead, Admin, Integration];
    }

    /// Reading opening-hours calendars and asking deadlines: every role.
    pub struct ReadCalendars;
    impl Policy for ReadCalendars {
        const ROLES: &'static [Role] = &[Agent, Teamlead, Admin, Integration, Department];
    }

    /// Watching SLA warnings and breaches: team leads and admins.
    pub struct SlaWatch;
    impl Policy for SlaWatch {
        const ROLES: &'static [Role] = &[Teamlead, Admin];
    }
}

/// A caller authenticated and allowed by policy `P`.
pub struct Authorized<P: Policy>(pub Principal, std::marker::PhantomData<P>);

impl<P: Policy> std::ops::Deref for Authorized<P> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl<P: Policy> FromRequestParts<AppState> for Authorized<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = Principal::from_request_parts(parts, state).await?;
        principal.require(P::ROLES)?;
        Ok(Authorized(principal, std::marker::PhantomData))
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::Unauthorized(
                    "send an API token as 'Authorization: Bearer <token>'".into(),
                )
            })?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::Unauthorized("use the Bearer scheme".into()))?;
        // Tokens are stored as SHA-256 hashes; looking up by hash compares hashes, never secrets.
        let hash = webcare_store::token::hash(token);
        let rec = state
            .store
            .find_token(&hash)
            .await?
            .ok_or_else(|| ApiError::Unauthorized("unknown or revoked token".into()))?;
        Ok(Principal {
            token_id: rec.id,
            name: rec.name,
            role: rec.role,
        })
    }
}
