use super::{found, PageQuery};
use crate::auth::{roles, Authorized};
use crate::dto::{ChannelAccount, List};
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::Json;
// The request bodies are the desk's (their schemas are named `NewChannelAccount` and
// `ChannelAccountPatch`).
use webcare_desk::channel_accounts::{self, AccountChange, NewAccount};

const PATH: &str = "/api/v1/channel-accounts";

/// Connect a channel account.
#[utoipa::path(
    post, path = "/api/v1/channel-accounts", tag = "channel-accounts",
    request_body = NewAccount,
    responses(
        (status = 201, body = ChannelAccount),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An account of this kind with this externalId exists", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Authorized<roles::AdminOnly>,
    ApiJson(body): ApiJson<NewAccount>,
) -> ApiResult<(StatusCode, Json<ChannelAccount>)> {
    let account = channel_accounts::create_account(&state, &principal, body).await?;
    Ok((StatusCode::CREATED, Json(account.into())))
}

/// List channel accounts.
#[utoipa::path(
    get, path = "/api/v1/channel-accounts", tag = "channel-accounts",
    params(PageQuery),
    responses((status = 200, body = List<ChannelAccount>)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    _caller: Authorized<roles::AdminOnly>,
    uri: Uri,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<List<ChannelAccount>>> {
    let page = state.store.list_channel_accounts(q.page()?).await?;
    Ok(Json(List::page(PATH, &uri, page)))
}

/// Get one channel account.
#[utoipa::path(
    get, path = "/api/v1/channel-accounts/{id}", tag = "channel-accounts",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = ChannelAccount), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    _caller: Authorized<roles::AdminOnly>,
    IdPath(id): IdPath,
) -> ApiResult<Json<ChannelAccount>> {
    let a = found(
        state.store.get_channel_account(id).await?,
        "channel account",
    )?;
    Ok(Json(a.into()))
}

/// Change a channel account. Absent keys stay; `null` clears an optional field.
#[utoipa::path(
    patch, path = "/api/v1/channel-accounts/{id}", tag = "channel-accounts",
    params(("id" = uuid::Uuid, Path)),
    request_body = AccountChange,
    responses((status = 200, body = ChannelAccount), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Authorized<roles::AdminOnly>,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<AccountChange>,
) -> ApiResult<Json<ChannelAccount>> {
    let a = channel_accounts::update_account(&state, &principal, id, body).await?;
    Ok(Json(a.into()))
}

/// Disconnect a channel account. Its cases and messages stay.
#[utoipa::path(
    delete, path = "/api/v1/channel-accounts/{id}", tag = "channel-accounts",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    principal: Authorized<roles::AdminOnly>,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    channel_accounts::delete_account(&state, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
