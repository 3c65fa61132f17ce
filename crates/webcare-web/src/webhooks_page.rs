//! Beheer: outbound webhooks (`/beheer/webhooks`, admin). The admin lists, adds and deletes them
//! as through the API's `/webhooks`, with its use cases (`webcare_desk::webhooks`); the signing
//! secret is shown once (`secret_page`). Per webhook, its latest deliveries
//! (`/beheer/webhooks/{id}`), as the API's `/webhooks/{id}/deliveries` logs them.

use crate::format::datetime;
use crate::pages::{allowed, api_error_page, error_page, render, Layout};
use crate::routing_page::{get, opts, Fields};
use crate::secret_page::{Choices, Input, Link, Row, Secret, SecretPage};
use crate::session::WebUser;
use crate::WebState;
use askama::Template;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use uuid::Uuid;
use webcare_api::auth::{roles, Authorized};
use webcare_desk::webhooks::{self, EVENT_TYPES};
use webcare_desk::{DeskError, InvalidParam};

const BASE: &str = "/beheer/webhooks";

/// The event types in Dutch, in the order of [`EVENT_TYPES`].
const EVENT_LABELS: [&str; 8] = [
    "Nieuwe zaak",
    "Zaak gewijzigd",
    "Zaak afgehandeld",
    "Bericht ontvangen",
    "Antwoord gewijzigd",
    "Antwoordtermijn bijna verstreken",
    "Antwoordtermijn verstreken",
    "Piek in een thema (crisis)",
];

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
    let mut page = page(user, get(f, "url"), error_of("url"));
    page.choices = Some(Choices {
        key: "gebeurtenissen",
        legend: "Gebeurtenissen (kies er een of meer)",
        options: opts(
            EVENT_TYPES
                .iter()
                .map(|t| ((*t).to_owned(), event_label(t))),
            |v| f.iter().any(|(k, e)| k == "gebeurtenissen" && e == v),
        ),
        error: error_of("eventTypes"),
    });
    if !errors.is_empty() {
        page.general = "Geen webhook gemaakt; zie de meldingen bij de velden.".into();
    }
    page.rows = all
        .into_iter()
        .map(|w| Row {
            cells: vec![
                w.url.clone(),
                w.event_types.join("\n"),
                datetime(w.created_at),
            ],
            name: w.url,
            verb: "Verwijderen",
            action: format!("{BASE}/{}/verwijder", w.id),
            post: true,
            more: Some(Link {
                href: format!("{BASE}/{}", w.id),
                text: "Leveringen",
            }),
        })
        .collect();
    page.show()
}

fn page(user: &WebUser, url: &str, error: String) -> SecretPage {
    let input = Input {
        key: "url",
        label: "Adres (http:// of https://)",
        value: url.to_owned(),
        error,
    };
    SecretPage {
        caption: "Adressen die gebeurtenissen van de desk ontvangen",
        headers: &["Adres", "Gebeurtenissen", "Gemaakt"],
        new_title: "Nieuwe webhook",
        submit: "Webhook maken",
        ..SecretPage::new(user, "Webhooks", BASE, input)
    }
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
        Ok((w, secret)) => SecretPage {
            created: Some(Secret {
                title: format!("Webhook voor {} is gemaakt", w.url),
                label: "Geheim waarmee de desk elke levering ondertekent",
                secret,
            }),
            ..page(&user, "", String::new())
        }
        .show(),
        Err(DeskError::Invalid(ps)) => view(&web, &user, &f, ps).await,
        Err(e) => api_error_page(e.into()),
    }
}

/// The latest deliveries shown.
const LOG: u32 = 50;

pub struct DeliveryLine {
    event: String,
    attempts: i64,
    status_code: String,
    next: String,
    state: &'static str,
    error: String,
    created: String,
}

#[derive(Template)]
#[template(path = "webhook_deliveries.html")]
struct DeliveriesPage {
    layout: Layout,
    url: String,
    events: String,
    lines: Vec<DeliveryLine>,
}

fn state_label(s: &str) -> &'static str {
    match s {
        "succeeded" => "afgeleverd",
        "failed" => "mislukt (geen nieuwe poging)",
        _ => "wacht op (nieuwe) poging",
    }
}

fn gone() -> Response {
    error_page(StatusCode::NOT_FOUND, "Deze webhook bestaat niet (meer).")
}

/// The admin, their rights and the webhook id of the path (a 403 or 404 page otherwise): what
/// every page of one webhook starts with.
pub struct AdminWebhook {
    user: WebUser,
    p: Authorized<roles::AdminOnly>,
    id: Uuid,
}

impl FromRequestParts<WebState> for AdminWebhook {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &WebState) -> Result<Self, Response> {
        let user = WebUser::from_request_parts(parts, web).await?;
        let p = allowed::<roles::AdminOnly>(&user)?;
        let Path(raw) = Path::<String>::from_request_parts(parts, web)
            .await
            .map_err(IntoResponse::into_response)?;
        let id = Uuid::parse_str(&raw).map_err(|_| gone())?;
        Ok(AdminWebhook { user, p, id })
    }
}

/// `GET /beheer/webhooks/{id}`: the webhook and its latest deliveries, newest first.
pub async fn deliveries(State(web): State<WebState>, hook: AdminWebhook) -> Response {
    let AdminWebhook { user, p, id } = hook;
    let (w, log) = match webhooks::latest_deliveries(&web.app, &p, id, LOG).await {
        Ok(r) => r,
        Err(DeskError::NotFound(_)) => return gone(),
        Err(e) => return api_error_page(e.into()),
    };
    let lines = log
        .into_iter()
        .map(|(d, kind)| DeliveryLine {
            event: kind.map_or_else(
                || format!("gebeurtenis {}", d.event_seq),
                |k| event_label(&k),
            ),
            attempts: d.attempts,
            status_code: d
                .last_status
                .map_or_else(|| "geen".into(), |s| s.to_string()),
            next: match d.status.as_str() {
                "pending" => datetime(d.next_attempt_at),
                _ => "geen".into(),
            },
            state: state_label(&d.status),
            error: d.last_error.unwrap_or_default(),
            created: datetime(d.created_at),
        })
        .collect();
    let page = DeliveriesPage {
        layout: Layout::of(&user, "Leveringen van een webhook"),
        url: w.url,
        events: w
            .event_types
            .iter()
            .map(|t| event_label(t))
            .collect::<Vec<_>>()
            .join(", "),
        lines,
    };
    render(StatusCode::OK, page)
}

/// `POST /beheer/webhooks/{id}/verwijder`: deletes it and goes back to the list.
pub async fn delete(State(web): State<WebState>, hook: AdminWebhook) -> Response {
    match webhooks::delete_webhook(&web.app, &hook.p, hook.id).await {
        Ok(()) => Redirect::to(BASE).into_response(),
        Err(DeskError::NotFound(_)) => gone(),
        Err(e) => api_error_page(e.into()),
    }
}
