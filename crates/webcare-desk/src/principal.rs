//! Who is acting, and what they may see and touch. The API resolves a bearer token or an OIDC
//! sign-in to a [`Principal`], the web app a session; the use cases take it from either.

use crate::error::DeskError;
use uuid::Uuid;
use webcare_domain::Role;

/// Who is calling. A user's API token and the same user's OIDC sign-in give the same principal
/// (apart from `token_id`): the same id for `assignee=me` and claims, the same audit actor, and
/// the user's current role and teams.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The API token's id; for a user signed in through OIDC, the user's id.
    pub token_id: Uuid,
    pub name: String,
    pub role: Role,
    /// The desk user behind the call (OIDC sign-in or the user's token); `None` for the
    /// bootstrap admin token and integration tokens.
    pub user: Option<UserRef>,
}

/// A desk user, as far as access decisions need it.
#[derive(Debug, Clone)]
pub struct UserRef {
    pub id: Uuid,
    pub email: String,
    pub teams: Vec<String>,
    pub department_id: Option<Uuid>,
}

impl Principal {
    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), DeskError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(DeskError::Forbidden(format!(
                "role '{}' may not do this; needs one of: {}",
                self.role,
                names.join(", ")
            )))
        }
    }

    /// How the caller appears in the audit trail.
    pub fn actor(&self) -> String {
        match &self.user {
            Some(u) => format!("user:{}:{}", u.id, u.email),
            None => format!("token:{}:{}", self.name, self.token_id),
        }
    }

    /// What `assignee=me` and a claim mean for this caller: the user id, or the token's name.
    pub fn assignee_key(&self) -> String {
        match &self.user {
            Some(u) => u.id.to_string(),
            None => format!("token:{}", self.name),
        }
    }

    /// Which cases the caller may see and act on. Agents with a user see their teams' cases and
    /// their own; department users only what is forwarded to their department; tokens without a
    /// user see role-wide (a department token: every forwarded case).
    pub fn case_scope(&self) -> webcare_domain::access::CaseScope {
        use webcare_domain::access::{CaseScope, ScopeUser};
        CaseScope::of(
            self.role,
            self.user.as_ref().map(|u| ScopeUser {
                id: u.id,
                teams: &u.teams,
                department_id: u.department_id,
            }),
        )
    }
}

/// The principal of a desk user, whether signed in through OIDC or calling with their token.
pub fn user_principal(token_id: Uuid, user: webcare_store::agent::UserRecord) -> Principal {
    Principal {
        token_id,
        name: user.name,
        role: user.role,
        user: Some(UserRef {
            id: user.id,
            email: user.email,
            teams: user.teams,
            department_id: user.department_id,
        }),
    }
}
