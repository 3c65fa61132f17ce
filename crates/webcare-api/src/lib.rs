//! The REST API of the webcare desk. Handlers are thin: extract, check the role, call the store
//! or a service, map to a DTO. Conventions (problem+json, headers, limits) are middleware.
//! May use: webcare-domain, webcare-store, webcare-connectors, webcare-desk (the use cases; the
//! ingest path, the live hub and the worker loops live there and in webcare-workers).
#![forbid(unsafe_code)]

pub mod auth;
pub mod body_schema;
pub mod dto;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod oidc;
pub mod openapi;
pub mod routes;
pub mod state;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use state::{ApiSettings, AppState};
/// The metric names (one list for the desk, its workers and the HTTP layer).
pub use webcare_desk::metrics;

/// The API routes and the OpenAPI document describing them.
pub fn api_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use routes::*;
    let (router, mut doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(messages::create_message))
        .routes(routes!(channel_accounts::create, channel_accounts::list))
        .routes(routes!(
            channel_accounts::get,
            channel_accounts::update,
            channel_accounts::delete
        ))
        .routes(routes!(cases::list))
        .routes(routes!(calendars::create, calendars::list))
        .routes(routes!(calendars::get, calendars::update))
        .routes(routes!(calendars::deadline))
        .routes(routes!(calendars::business_time))
        .routes(routes!(sla::create_policy, sla::list_policies))
        .routes(routes!(sla::get_policy, sla::update_policy))
        .routes(routes!(sla::alerts))
        .routes(routes!(sla::case_clock_runs))
        .routes(routes!(replies::create, replies::list))
        .routes(routes!(platform_actions::hide))
        .routes(routes!(cases::get, case_work::patch))
        // Agent desk (issue 5): people, case work, departments, audit, board, canned answers.
        .routes(routes!(people::create_user, people::list_users))
        .routes(routes!(people::get_user, people::update_user))
        .routes(routes!(people::create_team, people::list_teams))
        .routes(routes!(people::update_team))
        .routes(routes!(people::create_department, people::list_departments))
        .routes(routes!(people::update_department))
        .routes(routes!(case_work::claim))
        .routes(routes!(case_work::add_note, case_work::list_notes))
        .routes(routes!(case_work::merge))
        .routes(routes!(case_work::bulk))
        .routes(routes!(case_work::forward))
        .routes(routes!(case_work::department_answer))
        .routes(routes!(case_work::return_answer))
        .routes(routes!(case_work::forwards))
        .routes(routes!(zaak::create, zaak::get))
        .routes(routes!(klantcontacten::list))
        .routes(routes!(notificaties::receive))
        .routes(routes!(zgw::get_settings, zgw::put_settings))
        .routes(routes!(zgw::get_abonnement, zgw::register_abonnement))
        .routes(routes!(audit::list))
        .routes(routes!(board::board))
        .routes(routes!(board::departments))
        .routes(routes!(board::departments_csv))
        .routes(routes!(reports::volume))
        .routes(routes!(reports::volume_csv))
        .routes(routes!(reports::reaction))
        .routes(routes!(reports::reaction_csv))
        .routes(routes!(reports::resolution))
        .routes(routes!(reports::resolution_csv))
        .routes(routes!(reports::norms))
        .routes(routes!(reports::norms_csv))
        .routes(routes!(reports::forwarding))
        .routes(routes!(reports::forwarding_csv))
        .routes(routes!(reports::agents))
        .routes(routes!(reports::agents_csv))
        .routes(routes!(reports::costs))
        .routes(routes!(reports::costs_csv))
        .routes(routes!(reports::satisfaction))
        .routes(routes!(reports::satisfaction_csv))
        .routes(routes!(reports::themes))
        .routes(routes!(reports::themes_csv))
        .routes(routes!(survey_comments::comments_report))
        .routes(routes!(survey_comments::comments_report_csv))
        .routes(routes!(cost_model::get_model, cost_model::put_model))
        .routes(routes!(themes::accuracy))
        .routes(routes!(
            classification::get_themes,
            classification::put_themes
        ))
        .routes(routes!(
            classification::get_kinds,
            classification::put_kinds
        ))
        .routes(routes!(
            classification::get_target_groups,
            classification::put_target_groups
        ))
        .routes(routes!(
            classification::get_rules,
            classification::put_rules
        ))
        .routes(routes!(reports::cases))
        .routes(routes!(reports::cases_csv))
        .routes(routes!(canned::create, canned::list))
        .routes(routes!(canned::update, canned::delete))
        .routes(routes!(canned::render))
        .routes(routes!(events::stream_events))
        .routes(routes!(
            webhook_subscriptions::create,
            webhook_subscriptions::list
        ))
        .routes(routes!(webhook_subscriptions::delete))
        .routes(routes!(webhook_subscriptions::deliveries))
        // The citizen's record (issue 15).
        .routes(routes!(contacts::list))
        .routes(routes!(contacts::get, contacts::patch))
        .routes(routes!(contacts::link))
        .routes(routes!(contacts::unlink))
        .routes(routes!(contacts::merge))
        .routes(routes!(contacts::erase))
        .routes(routes!(contacts::suggestions))
        .routes(routes!(contacts::access_log))
        .routes(routes!(contacts::export))
        // Retention and legal holds (issue 15).
        .routes(routes!(retention::get_terms, retention::put_terms))
        .routes(routes!(retention::preview))
        .routes(routes!(retention::hold_case, retention::release_case))
        .routes(routes!(retention::hold_contact, retention::release_contact))
        .routes(routes!(routing_rules::list, routing_rules::create))
        .routes(routes!(routing_rules::update, routing_rules::delete))
        .routes(routes!(routing_rules::test))
        .routes(routes!(routing_rules::route_case))
        .routes(routes!(tokens::create, tokens::list))
        .routes(routes!(tokens::revoke))
        .routes(routes!(deliveries::parked))
        .routes(routes!(deliveries::rejected))
        .split_for_parts();
    openapi::document_body_errors(&mut doc);
    (router, doc)
}

/// The OpenAPI document as served and committed.
pub fn openapi_document() -> serde_json::Value {
    let (_, doc) = api_routes();
    openapi::finish(&doc)
}

/// The OpenAPI document as served and committed, pretty-printed.
pub fn openapi_json() -> String {
    serde_json::to_string_pretty(&openapi_document()).expect("the OpenAPI document serialises")
}

/// Only the probes, for a process without the API role (`serve --roles sla,outbox`): every
/// other path is the API's problem+json 404.
pub fn health_router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .with_state(state)
        .layer(axum::middleware::from_fn(middleware::conventions))
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api_routes();
    let doc = Arc::new(openapi::finish(&doc));
    let request_id = HeaderName::from_static("x-request-id");
    let body_limit = state.settings.body_limit;
    Router::new()
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json((*doc).clone()) }
            }),
        )
        .merge(api)
        .merge(routes::webhooks::router())
        .with_state(state)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(middleware::conventions))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let route = req
                    .extensions()
                    .get::<axum::extract::MatchedPath>()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default();
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!("http", method = %req.method(), route, request_id = id)
            }),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}
