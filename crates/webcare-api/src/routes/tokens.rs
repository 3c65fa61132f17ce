//! API tokens. A token belongs to a desk user and its caller is that user; a user manages their
//! own tokens, the admin everyone's. The secret is answered once, at creation; only its hash is
//! stored. Integration tokens (no user) can be made by the admin here or with the CLI.

use super::{decode_cursor, page_limit, PageQuery};
use crate::auth::{roles, Authorized};
use crate::dto::List;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiListQuery, IdPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use webcare_desk::tokens::{self, TokenFor};
use webcare_store::TokenRecord;

/// An API token as the store holds it (its `revokedAt` is not shown).
pub type Token = TokenRecord;

/// A new token and its secret, answered this once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: Token,
    /// Send as `Authorization: Bearer <secret>`. It is not stored and cannot be shown again.
    pub secret: String,
}

/// Kinds of token without a user.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UnboundRole {
    Integration,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for, e.g. "laptop" or "zaaksysteem".
    pub name: String,
    /// The user the token is for; default the caller. Only the admin may name another user.
    #[serde(default)]
    pub user_id: Option<Uuid>,
    /// `integration` for a token without a user (admin only; not with `userId`).
    #[serde(default)]
    pub role: Option<UnboundRole>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenQuery {
    /// Only this user's tokens (the admin; other callers see only their own).
    pub user_id: Option<Uuid>,
}

/// Create an API token, for the caller or (admin) for any user or an integration. The secret is
/// in this answer only.
#[utoipa::path(
    post, path = "/api/v1/tokens", tag = "tokens",
    request_body = NewToken,
    responses((status = 201, body = CreatedToken),
              (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    p: Authorized<roles::Tokens>,
    ApiJson(b): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let owner = match b.role {
        Some(UnboundRole::Integration) => TokenFor::Integration,
        None => TokenFor::User(b.user_id),
    };
    let both = b.role.is_some() && b.user_id.is_some();
    let (rec, secret) = tokens::create_token(&state, &p, &b.name, owner, both).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken { token: rec, secret }),
    ))
}

/// List live API tokens: the caller's own; the admin sees all (or one user's with `userId`).
#[utoipa::path(
    get, path = "/api/v1/tokens", tag = "tokens", params(TokenQuery, PageQuery),
    responses((status = 200, body = List<Token>),
              (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    p: Authorized<roles::Tokens>,
    uri: Uri,
    ApiListQuery(q, page): ApiListQuery<TokenQuery>,
) -> ApiResult<Json<List<Token>>> {
    let page = tokens::list_tokens(
        &state,
        &p,
        q.user_id,
        decode_cursor(page.cursor.as_deref())?,
        page_limit(page.limit)?,
    )
    .await?;
    Ok(Json(List::page("/api/v1/tokens", &uri, page)))
}

/// Revoke an API token: at once, the next request with it is a 401. Another user's token is a
/// 404 for anyone but the admin.
#[utoipa::path(
    delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = Uuid, Path)),
    responses((status = 204),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    p: Authorized<roles::Tokens>,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    tokens::revoke_token(&state, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
