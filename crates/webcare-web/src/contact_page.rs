//! The citizen's page ("Burger"): who the contact is on every channel, their cases, and for the
//! admin the AVG erase. It calls the API's own handlers (`webcare_api::routes::contacts`), so the
//! page shows and does exactly what the API does: the same scope, the same read audit, the same
//! refusals.

use crate::pages::{api_error_page, error_page, render, Layout};
use crate::session::WebUser;
use crate::WebState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;
use webcare_api::auth::{roles, Authorized};
use webcare_api::error::ApiError;
use webcare_api::extract::{ApiJson, IdPath};
use webcare_api::routes::contacts::{self as api, ContactDetail, EraseContact};
use webcare_desk::DeskError;
use webcare_domain::Role;

struct IdentityView {
    channel: String,
    handle: String,
    name: String,
}

struct CaseView {
    id: String,
    status: String,
    theme: String,
    since: String,
}

#[derive(Template)]
#[template(path = "contact.html")]
struct ContactPage {
    layout: Layout,
    id: String,
    name: String,
    phone: String,
    notes: String,
    identities: Vec<IdentityView>,
    cases: Vec<CaseView>,
    open_cases: usize,
    may_erase: bool,
    erase_error: String,
    erased: String,
}

fn id_of(raw: &str) -> Result<Uuid, Response> {
    Uuid::parse_str(raw).map_err(|_| error_page(StatusCode::NOT_FOUND, "Deze burger bestaat niet."))
}

async fn detail(web: &WebState, user: &WebUser, id: Uuid) -> Result<ContactDetail, Response> {
    let caller =
        Authorized::<roles::ReadContacts>::check(user.principal.clone()).map_err(api_error_page)?;
    let Json(d) = api::get(State(web.app.clone()), caller, IdPath(id))
        .await
        .map_err(api_error_page)?;
    Ok(d)
}

fn view(
    user: &WebUser,
    id: Uuid,
    d: ContactDetail,
    erase_error: String,
    erased: String,
) -> Response {
    let c = d.contact;
    let page = ContactPage {
        layout: Layout::of(user, "Burger"),
        id: id.to_string(),
        name: c
            .display_name
            .clone()
            .unwrap_or_else(|| "(naam onbekend)".into()),
        phone: c.phone.clone().unwrap_or_default(),
        notes: d.notes.unwrap_or_default(),
        identities: c
            .identities
            .iter()
            .map(|i| IdentityView {
                channel: crate::format::channel(i.channel).into(),
                handle: i
                    .handle
                    .clone()
                    .unwrap_or_else(|| i.platform_user_id.clone()),
                name: i.display_name.clone().unwrap_or_default(),
            })
            .collect(),
        cases: d
            .cases
            .iter()
            .map(|k| CaseView {
                id: k.id.to_string(),
                status: crate::format::status(k.status).into(),
                theme: k.theme.clone().unwrap_or_default(),
                since: crate::format::datetime(k.first_message_at),
            })
            .collect(),
        open_cases: d.open_cases,
        may_erase: user.principal.role == Role::Admin,
        erase_error,
        erased,
    };
    render(StatusCode::OK, page)
}

/// `GET /burgers/{id}`: the contact, as the API's `GET /api/v1/contacts/{id}` answers it (and
/// audits the read).
pub async fn page(
    State(web): State<WebState>,
    user: WebUser,
    Path(raw): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let id = match id_of(&raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let erased = if q.contains_key("gewist") {
        "De gegevens van deze burger zijn gewist. Het auditlog bewaart wie dat deed en waarom."
            .into()
    } else {
        String::new()
    };
    match detail(&web, &user, id).await {
        Ok(d) => view(&user, id, d, String::new(), erased),
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    reden: String,
    #[serde(default)]
    bevestig: Option<String>,
}

/// `POST /burgers/{id}/wissen` (admin): the AVG erase, as `POST /api/v1/contacts/{id}/erase`.
/// Needs the confirmation box ticked; a refusal (an open case, no reason) is shown on the page.
pub async fn erase(
    State(web): State<WebState>,
    user: WebUser,
    Path(raw): Path<String>,
    Form(f): Form<EraseForm>,
) -> Response {
    let id = match id_of(&raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let caller = match Authorized::<roles::AdminOnly>::check(user.principal.clone()) {
        Ok(c) => c,
        Err(e) => return api_error_page(e),
    };
    let open = match detail(&web, &user, id).await {
        Ok(d) => d.open_cases,
        Err(r) => return r,
    };
    let refused = if f.bevestig.is_none() {
        Some("Vink aan dat u de gegevens van deze burger definitief wilt wissen.".to_owned())
    } else if open > 0 {
        Some(format!(
            "Niet gewist: deze burger heeft nog {open} open zaak/zaken. Handel die eerst af of sluit ze."
        ))
    } else {
        match api::erase(
            State(web.app.clone()),
            caller,
            IdPath(id),
            ApiJson(EraseContact { reason: f.reden }),
        )
        .await
        {
            Ok(_) => None,
            Err(ApiError::Desk(DeskError::Conflict(why))) => Some(format!("Niet gewist: {why}")),
            Err(ApiError::Desk(DeskError::Invalid(_))) => Some(
                "Geef een reden op (1 tot 500 tekens), bijvoorbeeld het verzoek en de datum."
                    .into(),
            ),
            Err(e) => return api_error_page(e),
        }
    };
    match refused {
        None => Redirect::to(&format!("/burgers/{id}?gewist=1")).into_response(),
        Some(why) => match detail(&web, &user, id).await {
            Ok(d) => {
                let mut r = view(&user, id, d, why, String::new());
                *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                r
            }
            Err(r) => r,
        },
    }
}
