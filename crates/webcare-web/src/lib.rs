//! The web app of the desk (issue 13): server-rendered askama templates compiled into the binary,
//! htmx (and its SSE extension) for the live parts, NL Design System CSS. Pages call the same
//! use cases the API handlers call (`webcare_desk::*`), with the same role rules
//! (`Authorized<Policy>`, `CaseScope`), so a page never allows what the API refuses.
//! May use: webcare-domain, webcare-store, webcare-desk; webcare-api only for shared HTTP bits
//! (the role policies, the state, the status of an error).
#![forbid(unsafe_code)]
// Page helpers return `Result<_, Response>` so a handler can `?`/return the error page at once;
// a response is large, but it is built once per request, never in a loop.
#![allow(clippy::result_large_err)]

pub mod assets;
mod calendars_page;
mod canned_page;
mod case_links;
mod channel_settings;
mod channels_page;
mod chart;
mod contact_page;
mod cost_model_page;
mod format;
mod norms_page;
pub mod oidc_login;
mod pages;
pub mod password;
mod people_page;
mod privacy_page;
mod reports_page;
mod routing_page;
mod secret_page;
mod session;
mod sla_page;
mod themes_page;
mod tokens_page;
mod webhooks_page;
mod zaaksysteem_page;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use channels_page::AccountRow as Channel;
use sla_page::PolicyRow as Norm;
use std::sync::Arc;
use webcare_api::AppState;

/// What the page handlers share: the API's state and the sign-in rate limiter.
#[derive(Clone)]
pub struct WebState {
    pub app: AppState,
    limiter: Arc<session::LoginLimiter>,
    /// The public norms page's figures (`norms_page`).
    norms: norms_page::NormsCache,
    /// Sign-in through the municipality's identity provider; `None` when not set up.
    oidc: Option<Arc<oidc_login::WebOidc>>,
}

/// The web app's routes, at `/` beside the API. The composition root merges it with
/// `webcare_api::router` and serves it with `ConnectInfo<SocketAddr>` (sign-in is rate-limited
/// per IP).
pub fn router(app: AppState) -> Router {
    router_with_oidc(app, None)
}

/// The web app with sign-in through the identity provider (`oidc_login`) when `oidc` is given.
pub fn router_with_oidc(app: AppState, oidc: Option<oidc_login::WebOidcSettings>) -> Router {
    let state = WebState {
        app,
        limiter: Arc::new(session::LoginLimiter::default()),
        norms: Default::default(),
        oidc: oidc.map(|o| Arc::new(oidc_login::WebOidc::new(o))),
    };
    let assets = Router::new().route("/assets/{name}", get(assets::serve));
    let pages = Router::new()
        .route("/", get(pages::home))
        .route("/login", get(session::login_page).post(session::login))
        .route("/login/oidc", get(oidc_login::start))
        .route(oidc_login::CALLBACK_PATH, get(oidc_login::callback))
        .route("/logout", post(session::logout))
        .route("/inbox", get(pages::inbox))
        .route("/inbox/rows", get(pages::inbox_rows))
        .route("/live", get(pages::live))
        .route("/board", get(pages::board))
        .route("/public/service-norms", get(norms_page::page))
        .route("/rapportages", get(reports_page::page))
        .route("/rapportages.csv", get(reports_page::csv))
        .route(
            "/beheer/routering",
            get(routing_page::page).post(routing_page::create),
        )
        .route("/beheer/routering/probeer", post(routing_page::try_rules))
        .route("/beheer/routering/{id}", post(routing_page::update))
        .route(
            "/beheer/routering/{id}/verplaats",
            post(routing_page::move_rule),
        )
        .route(
            "/beheer/routering/{id}/verwijder",
            post(routing_page::remove),
        )
        .route(
            "/beheer/teams",
            get(people_page::teams).post(people_page::save_team),
        )
        .route("/beheer/teams/{id}", post(people_page::save_team))
        .route(
            "/beheer/afdelingen",
            get(people_page::departments).post(people_page::save_department),
        )
        .route(
            "/beheer/afdelingen/{id}",
            post(people_page::save_department),
        )
        .route(
            "/beheer/gebruikers",
            get(people_page::users).post(people_page::save_user),
        )
        .route("/beheer/gebruikers/{id}", post(people_page::save_user))
        .route(
            "/beheer/standaardantwoorden",
            get(canned_page::list).post(canned_page::save),
        )
        .route("/beheer/standaardantwoorden/{id}", post(canned_page::save))
        .route(
            "/beheer/standaardantwoorden/{id}/verwijder",
            post(canned_page::delete),
        )
        .route(
            "/beheer/tokens",
            get(tokens_page::list).post(tokens_page::create),
        )
        .route(
            "/beheer/tokens/{id}/intrekken",
            get(tokens_page::confirm).post(tokens_page::revoke),
        )
        .route(
            "/beheer/webhooks",
            get(webhooks_page::list).post(webhooks_page::create),
        )
        .route("/beheer/webhooks/{id}", get(webhooks_page::deliveries))
        .route(
            "/beheer/webhooks/{id}/verwijder",
            post(webhooks_page::delete),
        )
        .route(
            "/beheer/kanalen",
            get(people_page::list_route::<Channel>).post(people_page::save_route::<Channel>),
        )
        .route(
            "/beheer/kanalen/{id}",
            post(people_page::save_route::<Channel>),
        )
        .route(
            "/beheer/kanalen/{id}/verwijder",
            get(people_page::confirm_route::<Channel>).post(people_page::remove_route::<Channel>),
        )
        .route(
            "/beheer/kalenders",
            get(calendars_page::list).post(calendars_page::create),
        )
        .route(
            "/beheer/kalenders/{id}",
            get(calendars_page::page).post(calendars_page::update),
        )
        .route(
            "/beheer/zaaksysteem",
            get(zaaksysteem_page::page).post(zaaksysteem_page::save),
        )
        .route(
            "/beheer/zaaksysteem/abonnement",
            post(zaaksysteem_page::register),
        )
        .route(
            "/beheer/kostenmodel",
            get(cost_model_page::page).post(cost_model_page::save),
        )
        .route(
            "/beheer/themas",
            get(themes_page::page).post(themes_page::save),
        )
        .route(
            "/beheer/sla-normen",
            get(people_page::list_route::<Norm>).post(people_page::save_route::<Norm>),
        )
        .route(
            "/beheer/sla-normen/{id}",
            post(people_page::save_route::<Norm>),
        )
        .route("/cases/{id}", get(pages::case_page))
        .route("/privacy", get(privacy_page::page))
        .route("/privacy/termijnen", post(privacy_page::save_terms))
        .route("/privacy/bewaarplicht", post(privacy_page::hold))
        .route("/privacy/inzage", get(privacy_page::lookup))
        .route("/privacy/burgers/{id}", get(privacy_page::access_log))
        .route("/privacy/burgers/{id}/export", post(privacy_page::export))
        .route("/burgers/{id}", get(contact_page::page))
        .route("/burgers/{id}/wissen", post(contact_page::erase))
        .route("/cases/{id}/replies", get(pages::case_replies))
        .route("/cases/{id}/canned", get(pages::canned_preview))
        .route("/cases/{id}/claim", post(pages::claim))
        .route("/cases/{id}/assign", post(pages::assign))
        .route("/cases/{id}/theme", post(pages::set_theme))
        .route("/cases/{id}/reply", post(pages::reply))
        .route("/cases/{id}/resolve", post(pages::resolve))
        .route("/cases/{id}/forward", post(pages::forward))
        .route("/cases/{id}/answer", post(pages::answer))
        .route("/cases/{id}/return", post(pages::hand_back))
        .route("/cases/{id}/notes", post(pages::note))
        .route("/cases/{id}/verbergen", post(pages::hide))
        // Every POST carries the session's CSRF token; the session is read once per request.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::session_layer,
        ))
        .layer(axum::middleware::from_fn(page_headers));
    pages.merge(assets).with_state(state)
}

/// Security headers of every page: a strict CSP (scripts and styles only from our own assets,
/// no inline code), no framing, no sniffing, and pages never cached (they hold citizens' data).
async fn page_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}
