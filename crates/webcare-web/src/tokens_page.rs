//! Beheer: API tokens (`/beheer/tokens`). Every desk user makes and revokes their own tokens, the
//! admin sees and revokes everyone's, as through the API's `/tokens` and with its use cases
//! (`webcare_desk::tokens`). A new token's secret is shown once (`secret_page`).

use crate::format::datetime;
use crate::pages::{allowed, api_error_page, error_page, user_names};
use crate::routing_page::{get, Fields};
use crate::secret_page::{Confirm, Input, Row, Secret, SecretPage};
use crate::session::WebUser;
use crate::WebState;
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

fn page(user: &WebUser, name: &str, error: &str) -> SecretPage {
    let input = Input {
        key: "naam",
        label: "Naam (waar is het token voor, bijvoorbeeld „laptop”)",
        value: name.to_owned(),
        error: error.to_owned(),
    };
    let all = user.principal.role == Role::Admin;
    SecretPage {
        caption: if all {
            "De API-tokens van alle gebruikers en koppelingen"
        } else {
            "Uw API-tokens"
        },
        headers: if all {
            &["Naam", "Gebruiker", "Gemaakt", "Laatst gebruikt"]
        } else {
            &["Naam", "Gemaakt", "Laatst gebruikt"]
        },
        new_title: "Nieuw token",
        submit: "Token maken",
        ..SecretPage::new(user, "API-tokens", BASE, input)
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

async fn list_view(web: &WebState, user: &WebUser, mut page: SecretPage) -> Response {
    let items = match visible(web, user).await {
        Ok(items) => items,
        Err(r) => return r,
    };
    let all = user.principal.role == Role::Admin;
    let names = if all {
        user_names(web).await
    } else {
        Default::default()
    };
    page.rows = items
        .into_iter()
        .map(|t| {
            let mut cells = vec![t.name.clone()];
            if all {
                cells.push(
                    t.user_id
                        .map(|u| names.get(&u.to_string()).cloned().unwrap_or_default())
                        .unwrap_or_else(|| "Koppeling (geen gebruiker)".into()),
                );
            }
            cells.push(datetime(t.created_at));
            cells.push(t.last_used_at.map_or("nooit".into(), datetime));
            Row {
                cells,
                name: t.name,
                verb: "Intrekken",
                action: format!("{BASE}/{}/intrekken", t.id),
                post: false,
                more: None,
            }
        })
        .collect();
    page.show()
}

/// `GET /beheer/tokens`.
pub async fn list(State(web): State<WebState>, user: WebUser) -> Response {
    list_view(&web, &user, page(&user, "", "")).await
}

/// `POST /beheer/tokens`: a new token for the user, its secret on the answer (and nowhere else).
pub async fn create(State(web): State<WebState>, user: WebUser, Form(f): Form<Fields>) -> Response {
    let p = match allowed::<roles::Tokens>(&user) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let name = get(&f, "naam");
    match tokens::create_token(&web.app, &p, name, TokenFor::User(None), false).await {
        Ok((rec, secret)) => SecretPage {
            created: Some(Secret {
                title: format!("Token „{}” is gemaakt", rec.name),
                label: "Token (stuur mee als Authorization: Bearer …)",
                secret,
            }),
            ..page(&user, "", "")
        }
        .show(),
        Err(DeskError::Invalid(_)) => {
            let error = "Vul een naam in van hoogstens 100 tekens, zonder regeleinden of tabs.";
            let mut page = page(&user, name, error);
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
    SecretPage {
        confirm: Some(Confirm {
            action: format!("{BASE}/{id}/intrekken"),
            question: format!("Token „{}” intrekken?", t.name),
            explain: "Wie het token gebruikt, krijgt daarna meteen geen toegang meer. Dit is niet terug te draaien.",
            button: "Intrekken",
        }),
        ..page(&user, "", "")
    }
    .show()
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
