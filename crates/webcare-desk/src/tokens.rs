//! API tokens: making, listing and revoking them (the API's `/tokens` and the web app's Beheer
//! page). A user manages their own tokens, the admin everyone's; the secret is answered once, at
//! creation, and only its hash is stored.

use crate::error::{DeskError, DeskResult, InvalidParam};
use crate::people::audit;
use crate::principal::Principal;
use crate::Desk;
use uuid::Uuid;
use webcare_domain::Role;
use webcare_store::{NewToken, Page, TokenRecord};

/// Whom a new token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFor {
    /// A user (`None`: the caller).
    User(Option<Uuid>),
    /// An integration, without a user (admin only).
    Integration,
}

/// Makes a token named `name` and answers it with its secret. `user_and_role`: the caller named
/// both a user and a role, which is refused.
pub async fn create_token(
    desk: &Desk,
    p: &Principal,
    name: &str,
    owner: TokenFor,
    user_and_role: bool,
) -> DeskResult<(TokenRecord, String)> {
    let name = name.trim().to_owned();
    let mut errs = Vec::new();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        errs.push(InvalidParam::new(
            "name",
            "invalid",
            "must be 1 to 100 characters without control characters",
        ));
    }
    if user_and_role {
        errs.push(InvalidParam::new(
            "role",
            "not_allowed",
            "a user's token acts with the user's role; leave out either role or userId",
        ));
    }
    if !errs.is_empty() {
        return Err(DeskError::Invalid(errs));
    }
    let own = p.user.as_ref().map(|u| u.id);
    let secret = webcare_store::token::generate();
    let hash = webcare_store::token::hash(&secret);
    let rec = match owner {
        TokenFor::Integration => {
            p.require(&[Role::Admin])?;
            desk.store
                .create_token(&name, Role::Integration, &hash)
                .await?
        }
        TokenFor::User(user_id) => {
            let Some(user_id) = user_id.or(own) else {
                return Err(DeskError::invalid(
                    "userId",
                    "required",
                    "this caller has no user: name the user, or ask for role 'integration'",
                ));
            };
            if p.role != Role::Admin && Some(user_id) != own {
                return Err(DeskError::Forbidden(
                    "only the admin may create a token for another user".into(),
                ));
            }
            let user = desk
                .store
                .get_user(user_id)
                .await?
                .filter(|u| u.active)
                .ok_or_else(|| {
                    DeskError::invalid("userId", "unknown_user", "no active user with this id")
                })?;
            desk.store
                .add_token(NewToken {
                    user_id: Some(user.id),
                    name: &name,
                    role: user.role,
                    token_hash: &hash,
                })
                .await?
        }
    };
    audit(
        desk,
        p,
        "token.created",
        serde_json::json!({"tokenId": rec.id, "userId": rec.user_id, "role": rec.role}),
    )
    .await?;
    Ok((rec, secret))
}

/// Live tokens: the caller's own; the admin's all, or `user_id`'s.
pub async fn list_tokens(
    desk: &Desk,
    p: &Principal,
    user_id: Option<Uuid>,
    after: Option<Uuid>,
    limit: u32,
) -> DeskResult<Page<TokenRecord>> {
    let user_id = if p.role == Role::Admin {
        user_id
    } else {
        // A token without a user (made with the CLI) has no tokens of its own: an empty list.
        let own = p.user.as_ref().map_or(Uuid::nil(), |u| u.id);
        if user_id.is_some_and(|u| u != own) {
            return Err(DeskError::Forbidden(
                "only the admin may list another user's tokens".into(),
            ));
        }
        Some(own)
    };
    Ok(desk.store.list_tokens(user_id, after, limit).await?)
}

/// Revokes a live token; the next request with it is refused. Another user's token is not found
/// for anyone but the admin.
pub async fn revoke_token(desk: &Desk, p: &Principal, id: Uuid) -> DeskResult<()> {
    let not_found = || DeskError::NotFound("token".into());
    let t = desk
        .store
        .get_token(id)
        .await?
        .filter(|t| t.revoked_at.is_none())
        .ok_or_else(not_found)?;
    let own = p.user.as_ref().map(|u| u.id);
    if p.role != Role::Admin && (own.is_none() || t.user_id != own) {
        return Err(not_found());
    }
    if !desk.store.revoke_token(id).await? {
        return Err(not_found());
    }
    audit(
        desk,
        p,
        "token.revoked",
        serde_json::json!({"tokenId": id, "userId": t.user_id}),
    )
    .await
}
