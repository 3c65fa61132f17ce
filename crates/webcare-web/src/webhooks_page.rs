//! Beheer: outbound webhooks (`/beheer/webhooks`, admin). The admin lists, adds and deletes them
//! as through the API's `/webhooks`, with its use cases (`webcare_desk::webhooks`); the signing
//! secret is shown once, on the page that answers the form.

use crate::format::datetime;
use crate::pages::{allowed, api_error_page, error_page, render, Layout};
use crate::routing_page::{get, opts, Fields, Opt};
use crate::session::WebUser;
use crate::tokens_page::Secret;
use crate::WebState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use uuid::Uuid;
use webcare_api::auth::roles;
use webcare_desk::webhooks::{self, EVENT_TYPES};
use webcare_desk::{DeskError, InvalidParam};

const BASE: &str = "/beheer/webhooks";

/// The event types in Dutch, in the order of [`EVENT_TYPES`].
const EVENT_LABELS: [&str; 7] = [
    "Nieuwe zaak",
    "Zaak gewijzigd",
    "Zaak afgehandeld",
    "Bericht ontvangen",
    "Antwoord gewijzigd",
    "Antwoordtermijn bijna verstreken",
    "Antwoordtermijn verstreken",
];

struct Row {
    id: Uuid,
    url: String,
    events: String,
    created: String,
}

#[derive(Template)]
#[template(path = "beheer_webhooks.html")]
struct WebhooksPage {
    layout: Layout,
    rows: Vec<Row>,
    url: String,
    url_error: String,
    events: Vec<Opt>,
    events_error: String,
    general: String,
    created: Option<Secret>,
}

fn event_label(t: &str) -> String {
    EVENT_TYPES
        .iter()
        .zip(EVENT_LABELS)
        .find(|(k, _)| **k == t)
        .map_or_else(|| t.to_owned(), |(k, l)| format!("{l} ({k})"))
}

/// The page with the list and the form (`f`: what was sent, with `errors` beside the fields).
async fn view(web: &WebState, user: &WebUser, f: &Fields, errors: Vec<InvalidParam>) -> Response {
    let all = match web.app.store.list_webhooks().await {
        Ok(all) => all,
        Err(e) => return api_error_page(DeskError::from(e).into()),
    };
    let error_of = |name: &str| {
        errors
            .iter()
            .find(|p| p.name == name)
            .map(|p| message(&p.code, &p.reason))
            .unwrap_or_default()
    };
    let page = WebhooksPage {
        layout: Layout::of(user, "Webhooks"),
        rows: all
            .into_iter()
            .map(|w| Row {
                id: w.id,
                url: w.url,
                events: w.event_types.join("\n"),
                created: datetime(w.created_at),
            })
            .collect(),
        url: get(f, "url").to_owned(),
        url_error: error_of("url"),
        events: opts(
            EVENT_TYPES
                .iter()
                .map(|t| ((*t).to_owned(), event_label(t))),
            |v| f.iter().any(|(k, e)| k == "gebeurtenissen" && e == v),
        ),
        events_error: error_of("eventTypes"),
        general: if errors.is_empty() {
            String::new()
        } else {
            "Geen webhook gemaakt; zie de meldingen bij de velden.".into()
        },
        created: None,
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render(status, page)
}

/// The use case's refusal in Dutch.
fn message(code: &str, reason: &str) -> String {
    match (code, reason) {
        (_, "must be an absolute http(s) URL") => {
            "Vul een volledig adres in, dat begint met http:// of https://.".into()
        }
        (_, "only http and https URLs") => "Alleen adressen met http:// of https://.".into(),
        (_, "needs a host") => "Het adres mist een servernaam.".into(),
        (_, "must not point at this desk") => {
            "Het adres mag niet naar deze desk zelf wijzen.".into()
        }
        ("required", _) => "Kies minstens één gebeurtenis.".into(),
        ("unknown_event_type", _) => "Kies alleen gebeurtenissen uit de lijst.".into(),
        _ => reason.to_owned(),
    }
}

/// `GET /beheer/webhooks`.
pub async fn list(State(web): State<WebState>, user: WebUser) -> Response {
    if let Err(r) = allowed::<roles::AdminOnly>(&user) {
        return r;
    }
    view(&web, &user, &Fields::new(), Vec::new()).await
}

/// `POST /beheer/webhooks`: a new webhook, its signing secret on the answer (and nowhere else).
pub async fn create(
    State(web): State<WebState>,
    user: WebUser,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    let p = match allowed::<roles::AdminOnly>(&user) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let events: Vec<String> = f
        .iter()
        .filter(|(k, _)| k == "gebeurtenissen")
        .map(|(_, v)| v.clone())
        .collect();
    let host = headers.get("host").and_then(|h| h.to_str().ok());
    let own = host
        .into_iter()
        .chain(web.app.settings.public_hosts.iter().map(String::as_str));
    let url = get(&f, "url").trim();
    match webhooks::create_webhook(&web.app, &p, url, &events, own).await {
        Ok((w, secret)) => render(
            StatusCode::CREATED,
            WebhooksPage {
                layout: Layout::of(&user, "Webhooks"),
                rows: Vec::new(),
                url: String::new(),
                url_error: String::new(),
                events: Vec::new(),
                events_error: String::new(),
                general: String::new(),
                created: Some(Secret {
                    title: format!("Webhook voor {} is gemaakt", w.url),
                    label: "Geheim waarmee de desk elke levering ondertekent",
                    secret,
                    back: BASE,
                }),
            },
        ),
        Err(DeskError::Invalid(ps)) => view(&web, &user, &f, ps).await,
        Err(e) => api_error_page(e.into()),
    }
}

/// `POST /beheer/webhooks/{id}/verwijder`: deletes it and goes back to the list.
pub async fn delete(
    State(web): State<WebState>,
    user: WebUser,
    Path(id): Path<String>,
) -> Response {
    let p = match allowed::<roles::AdminOnly>(&user) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let gone = || error_page(StatusCode::NOT_FOUND, "Deze webhook bestaat niet (meer).");
    let Ok(id) = Uuid::parse_str(&id) else {
        return gone();
    };
    match webhooks::delete_webhook(&web.app, &p, id).await {
        Ok(()) => Redirect::to(BASE).into_response(),
        Err(DeskError::NotFound(_)) => gone(),
        Err(e) => api_error_page(e.into()),
    }
}
