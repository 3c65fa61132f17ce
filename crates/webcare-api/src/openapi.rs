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

/// Every route that reads a JSON body answers 400 for an invalid one and 415 for a body sent
/// without a JSON `Content-Type` (see `extract::ApiJson`); documents both where a route does not
/// already. Applied to the assembled document, after the routes are added.
pub fn document_body_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let problem = |description: &str| {
        let content = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build();
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(crate::error::PROBLEM_JSON, content)
                .build(),
        )
    };
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for op in ops.into_iter().flatten() {
            if op.request_body.is_none() {
                continue;
            }
            let responses = &mut op.responses.responses;
            responses
                .entry("400".into())
                .or_insert_with(|| problem("The body is not valid: every invalid field is named"));
            responses.entry("415".into()).or_insert_with(|| {
                problem("The body was not sent as JSON ('Content-Type: application/json')")
            });
        }
    }
}
