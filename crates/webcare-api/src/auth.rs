//! Bearer-token authentication and role checks. Every `/api/v1` route except the OpenAPI document
//! takes a [`Principal`]; handlers say which roles they allow with [`Principal::require`].

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use uuid::Uuid;
use webcare_domain::Role;

pub use webcare_desk::principal::{user_principal, Principal, UserRef};

/// How often a token's last-used time is written, at most: reads see it, the hot path does not
/// write on every request.
pub const LAST_USED_EVERY: chrono::Duration = chrono::Duration::seconds(60);

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

    /// Reading cases within the caller's scope: also departments (their forwarded cases only).
    pub struct ReadScopedCases;
    impl Policy for ReadScopedCases {
        const ROLES: &'static [Role] = &[Agent, Teamlead, Admin, Integration, Department];
    }

    /// Working cases (status, assignment, notes, merge, forward): the KCC.
    pub struct CaseWork;
    impl Policy for CaseWork {
        const ROLES: &'static [Role] = &[Agent, Teamlead, Admin];
    }

    /// Answering a forwarded case: department users (admins may stand in).
    pub struct DepartmentWork;
    impl Policy for DepartmentWork {
        const ROLES: &'static [Role] = &[Department, Admin];
    }

    /// Seeing the desk's people, teams and departments: the KCC.
    pub struct ReadPeople;
    impl Policy for ReadPeople {
        const ROLES: &'static [Role] = &[Agent, Teamlead, Admin];
    }

    /// The live board and reports: team leads and admins.
    pub struct Lead;
    impl Policy for Lead {
        const ROLES: &'static [Role] = &[Teamlead, Admin];
    }

    /// Reading the citizen's record: the KCC all contacts, department users the contacts of the
    /// cases forwarded to their department (checked per contact). Integrations may not.
    pub struct ReadContacts;
    impl Policy for ReadContacts {
        const ROLES: &'static [Role] = &[Agent, Teamlead, Admin, Department];
    }

    /// Changing the citizen's record (notes, flags, linking, unlinking, merging): the KCC.
    pub struct ContactWork;
    impl Policy for ContactWork {
        const ROLES: &'static [Role] = &[Agent, Teamlead, Admin];
    }

    /// Who read a citizen's data (the access log) and the export: the admin and the privacy
    /// officer, for the citizen's request.
    pub struct ContactPrivacy;
    impl Policy for ContactPrivacy {
        const ROLES: &'static [Role] = &[Admin, PrivacyOfficer];
    }

    /// The citizen's privacy (AVG): retention preview and terms, legal holds.
    pub struct Privacy;
    impl Policy for Privacy {
        const ROLES: &'static [Role] = &[Admin, PrivacyOfficer];
    }

    /// The desk's vocabulary (themes, kinds, target groups and their rules): every role.
    pub struct EveryRole;
    impl Policy for EveryRole {
        const ROLES: &'static [Role] = Role::ALL;
    }

    /// Managing API tokens: every desk user their own, the admin all. Integrations may not.
    pub struct Tokens;
    impl Policy for Tokens {
        const ROLES: &'static [Role] = &[Agent, Teamlead, Department, Admin];
    }
}

/// A caller authenticated and allowed by policy `P`.
pub struct Authorized<P: Policy>(pub Principal, std::marker::PhantomData<P>);

impl<P: Policy> Authorized<P> {
    /// Checks `principal` against the policy: how a caller that did not come through the bearer
    /// extractor (a web app session) gets the same typed permission the API handlers take.
    pub fn check(principal: Principal) -> Result<Self, ApiError> {
        principal.require(P::ROLES)?;
        Ok(Authorized(principal, std::marker::PhantomData))
    }
}

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
        Self::check(principal)
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
        if crate::oidc::looks_like_jwt(token) {
            return oidc_principal(state, token).await;
        }
        // Tokens are stored as SHA-256 hashes; looking up by hash compares hashes, never secrets.
        let hash = webcare_store::token::hash(token);
        let rec = state
            .store
            .find_token(&hash)
            .await?
            .ok_or_else(|| ApiError::Unauthorized("unknown or revoked token".into()))?;
        let principal = match rec.user_id {
            Some(user_id) => {
                let user = active_user(state, user_id).await?.ok_or_else(|| {
                    ApiError::Unauthorized("the token's user is not an active desk user".into())
                })?;
                user_principal(rec.id, user)
            }
            None => Principal {
                token_id: rec.id,
                name: rec.name,
                role: rec.role,
                user: None,
            },
        };
        note_use(state, rec.id, rec.last_used_at);
        Ok(principal)
    }
}

/// Records a token's use when the stored time is older than [`LAST_USED_EVERY`], in the
/// background: the request neither waits for it nor fails with it.
fn note_use(state: &AppState, token_id: Uuid, last_used_at: Option<chrono::DateTime<chrono::Utc>>) {
    let now = chrono::Utc::now();
    if last_used_at.is_some_and(|t| now - t < LAST_USED_EVERY) {
        return;
    }
    let store = state.store.clone();
    tokio::spawn(async move {
        if let Err(e) = store.touch_token(token_id, now, LAST_USED_EVERY).await {
            tracing::warn!(error = %e, %token_id, "could not record the token's last use");
        }
    });
}

/// A JWT from the identity provider, mapped to an active desk user by `sub`, else by `email`.
/// The desk user with this id, if they are active.
pub(crate) async fn active_user(
    state: &AppState,
    id: Uuid,
) -> ApiResult<Option<webcare_store::agent::UserRecord>> {
    Ok(state.store.get_user(id).await?.filter(|u| u.active))
}

async fn oidc_principal(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let verifier = state.oidc.as_ref().ok_or_else(|| {
        ApiError::Unauthorized("sign-in through the identity provider is not configured".into())
    })?;
    let claims = verifier.verify(token).await?;
    let user = state
        .store
        .find_user_for_login(claims.sub.as_deref(), claims.email.as_deref())
        .await?
        .ok_or_else(|| ApiError::Unauthorized("no active desk user for this identity".into()))?;
    Ok(user_principal(user.id, user))
}
