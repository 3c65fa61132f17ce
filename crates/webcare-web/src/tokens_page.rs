//! Beheer: API tokens (`/beheer/tokens`). Every desk user makes and revokes their own tokens, the
//! admin sees and revokes everyone's, as through the API's `/tokens` and with its use cases
//! (`webcare_desk::tokens`). A new token's secret is shown once, on the page that answers the
//! form, and never again.

use crate::format::datetime;
use crate::pages::{allowed, api_error_page, error_page, render, user_names, Layout};
use crate::routing_page::{get, Fields};
use crate::session::WebUser;
use crate::WebState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use uuid::Uuid;
use webcare_api::auth::roles;
use webcare_desk::tokens::{self, TokenFor};
use webcare_desk::DeskError;
use webcare_domain::Role;
use webcare_store::TokenRecord;

const BASE: &str = "/beheer/tokens";

struct Row {
    id: Uuid,
    name: String,
    user: String,
    created: String,
    last_used: String,
}

/// A secret shown once, on the page that answers the form that made it.
pub(crate) struct Secret {
    pub title: String,
    pub label: &'static str,
    pub secret: String,
    pub back: &'static str,
}

struct Confirm {
    id: Uuid,
    name: String,
}

#[derive(Template)]
#[template(path = "beheer_tokens.html")]
struct TokensPage {
    layout: Layout,
    caption: &'static str,
    /// The admin's list: everyone's tokens, with their user.
    all: bool,
    rows: Vec<Row>,
    name: String,
    error: String,
    general: String,
    created: Option<Secret>,
    confirm: Option<Confirm>,
}

impl TokensPage {
    fn of(user: &WebUser) -> Self {
        let all = user.principal.role == Role::Admin;
        TokensPage {
            layout: Layout::of(user, "API-tokens"),
            caption: if all {
                "De API-tokens van alle gebruikers en koppelingen"
            } else {
                "Uw API-tokens"
            },
            all,
            rows: Vec::new(),
            name: String::new(),
            error: String::new(),
            general: String::new(),
            created: None,
            confirm: None,
        }
    }
}

/// The live tokens the user may see and revoke.
async fn visible(web: &WebState, user: &WebUser) -> Result<Vec<TokenRecord>, Response> {
    let p = allowed::<roles::Tokens>(user)?;
    tokens::list_tokens(&web.app, &p, None, None, 200)
        .await
        .map(|page| page.items)
        .map_err(|e| api_error_page(e.into()))
}

async fn list_view(web: &WebState, user: &WebUser, mut page: TokensPage) -> Response {
    let items = match visible(web, user).await {
        Ok(items) => items,
        Err(r) => return r,
    };
    let names = if page.all {
        user_names(web).await
    } else {
        Default::default()
    };
    page.rows = items
        .into_iter()
        .map(|t| Row {
            id: t.id,
            user: t
                .user_id
                .map(|u| names.get(&u.to_string()).cloned().unwrap_or_default())
                .unwrap_or_else(|| "Koppeling (geen gebruiker)".into()),
            created: datetime(t.created_at),
            last_used: t.last_used_at.map_or("nooit".into(), datetime),
            name: t.name,
        })
        .collect();
    let status = if page.error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render(status, page)
}

/// `GET /beheer/tokens`.
pub async fn list(State(web): State<WebState>, user: WebUser) -> Response {
    let page = TokensPage::of(&user);
    list_view(&web, &user, page).await
}

/// `POST /beheer/tokens`: a new token for the user, its secret on the answer (and nowhere else).
pub async fn create(State(web): State<WebState>, user: WebUser, Form(f): Form<Fields>) -> Response {
    let p = match allowed::<roles::Tokens>(&user) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let name = get(&f, "naam");
    let mut page = TokensPage::of(&user);
    match tokens::create_token(&web.app, &p, name, TokenFor::User(None), false).await {
        Ok((rec, secret)) => {
            page.created = Some(Secret {
                title: format!("Token „{}” is gemaakt", rec.name),
                label: "Token (stuur mee als Authorization: Bearer …)",
                secret,
                back: BASE,
            });
            render(StatusCode::CREATED, page)
        }
        Err(DeskError::Invalid(_)) => {
            page.name = name.to_owned();
            page.error =
                "Vul een naam in van hoogstens 100 tekens, zonder regeleinden of tabs.".into();
            page.general = "Geen token gemaakt; zie de melding bij het veld.".into();
            list_view(&web, &user, page).await
        }
        Err(e) => api_error_page(e.into()),
    }
}

fn token_id(id: &str) -> Result<Uuid, Response> {
    Uuid::parse_str(id).map_err(|_| gone())
}

fn gone() -> Response {
    error_page(StatusCode::NOT_FOUND, "Dit token bestaat niet (meer).")
}

/// `GET /beheer/tokens/{id}/intrekken`: asks before revoking.
pub async fn confirm(
    State(web): State<WebState>,
    user: WebUser,
    Path(id): Path<String>,
) -> Response {
    let id = match token_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let items = match visible(&web, &user).await {
        Ok(items) => items,
        Err(r) => return r,
    };
    let Some(t) = items.into_iter().find(|t| t.id == id) else {
        return gone();
    };
    let mut page = TokensPage::of(&user);
    page.confirm = Some(Confirm { id, name: t.name });
    render(StatusCode::OK, page)
}

/// `POST /beheer/tokens/{id}/intrekken`: revokes it and goes back to the list.
pub async fn revoke(
    State(web): State<WebState>,
    user: WebUser,
    Path(id): Path<String>,
) -> Response {
    let p = match allowed::<roles::Tokens>(&user) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let id = match token_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match tokens::revoke_token(&web.app, &p, id).await {
        Ok(()) => Redirect::to(BASE).into_response(),
        Err(DeskError::NotFound(_)) => gone(),
        Err(e) => api_error_page(e.into()),
    }
}
