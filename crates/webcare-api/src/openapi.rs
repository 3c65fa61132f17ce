//! The OpenAPI 3 document, generated from the handlers' annotations. A copy is committed as
//! `openapi.json`; a test fails when the two drift apart.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "webcare",
        description = "Social-media inbox and ticketing desk for Dutch municipalities.",
        version = "1.0.0",
        license(name = "EUPL-1.2")
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "messages", description = "Inbound messages"),
        (name = "cases", description = "Cases and their messages"),
        (name = "channel-accounts", description = "Connected platform accounts (admin)"),
        (name = "sla", description = "Opening hours, SLA policies, warnings and breaches"),
        (name = "case-work", description = "Working cases: change, claim, notes, merge, bulk"),
        (name = "departments", description = "Forwarding to departments (vakafdelingen) and their answers"),
        (name = "people", description = "Users, teams and departments"),
        (name = "audit", description = "The audit trail (admin)"),
        (name = "reports", description = "Team-lead board and reports"),
        (name = "canned-answers", description = "Canned answers with variables"),
        (name = "events", description = "Live events (Server-Sent Events)"),
        (name = "webhooks", description = "Outbound webhooks (admin)"),
        (name = "tokens", description = "API tokens: each user their own, the admin all"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
