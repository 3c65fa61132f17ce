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
    components(schemas(
        crate::routes::cases::SortKey,
        crate::routes::cases::SlaStatusFilter,
        crate::routes::sla::AlertStatus,
    )),
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
        (name = "routing", description = "Routing rules: an ordered, versioned list; the first match routes a new case (admin; team leads read and test)"),
        (name = "contacts", description = "The citizen's record: contacts across channels, links, merges, suggestions, access log, export"),
        (name = "retention", description = "Retention terms, what the next run would anonymise, legal holds (admin and privacy officer)"),
        (name = "deliveries", description = "Platform deliveries accepted but not stored: parked and rejected (admin)"),
        (name = "zaken", description = "A case's zaak in the municipality's zaaksysteem (ZGW Zaken API, Open Zaak)"),
        (name = "klantcontacten", description = "A case's registrations in the municipality's klantbeeld (Klantinteracties API, Open Klant)"),
        (name = "classification", description = "Themes (with UPL URIs), kinds and target groups; a theme before resolving; spike detection (admin writes, every role reads)"),
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

/// Where the API lives; the document's paths are relative to it (`servers`).
pub const BASE_PATH: &str = "/api/v1";

/// The operationId of every operation, by method and full path: unique and meaningful (utoipa
/// would use the handler's name, and `list`, `create`, `get` repeat). One line an operation:
/// method, full path, operationId; a new route needs its line in `operation_ids.txt` (a test
/// says so).
const OPERATION_IDS: &str = include_str!("operation_ids.txt");

/// [`OPERATION_IDS`] as `(method, path, operationId)`.
fn operation_ids() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    OPERATION_IDS.lines().filter_map(|l| {
        let mut w = l.split_whitespace();
        Some((w.next()?, w.next()?, w.next()?))
    })
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The document as served and committed, from the one utoipa assembles: what the annotations
/// cannot say, said once for every operation (NL API Design Rules):
/// - `servers` is `/api/v1` and the paths are relative to it; `info.contact`;
/// - every operation has its operationId from [`OPERATION_IDS`];
/// - every response documents the `API-Version` header (a reusable header component; the
///   `conventions` middleware sends it on every answer);
/// - the problems every route can answer: 400 (a malformed path id or query, an invalid body),
///   401 and 403 (every route is authorised), 404 (a path id that does not exist);
/// - generic list schemas are named `CaseList` rather than utoipa's `List_Case`.
pub fn finish(doc: &utoipa::openapi::OpenApi) -> serde_json::Value {
    use serde_json::{json, Map, Value};
    let mut doc = serde_json::to_value(doc).expect("the OpenAPI document serialises");
    let problem = |description: &str| {
        json!({
            "description": description,
            "content": {crate::error::PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        })
    };
    doc["info"]["contact"] = json!({
        "name": "webcare maintainers",
        "url": "https://webcare.example.nl",
        "email": "webcare@example.nl"
    });
    doc["servers"] =
        json!([{"url": BASE_PATH, "description": "This desk (relative to the document)"}]);
    let components = doc["components"].as_object_mut().expect("components");
    components.insert(
        "headers".into(),
        json!({"API-Version": {
            "description": "The full version of the API that answered (semantic versioning).",
            "required": true,
            "schema": {"type": "string", "example": crate::middleware::API_VERSION}
        }}),
    );
    components.insert(
        "responses".into(),
        json!({
            "BadRequest": problem("A path id, query parameter or body is not valid: every invalid one is named in `invalidParams`"),
            "Unauthorized": problem("No valid bearer token was sent"),
            "Forbidden": problem("The caller's role may not do this"),
            "NotFound": problem("No resource with this id"),
        }),
    );
    for response in components["responses"]
        .as_object_mut()
        .expect("responses")
        .values_mut()
    {
        response["headers"] = json!({"API-Version": {"$ref": "#/components/headers/API-Version"}});
    }

    let paths = std::mem::take(doc["paths"].as_object_mut().expect("paths"));
    let mut relative = Map::new();
    for (path, mut item) in paths {
        for method in METHODS {
            let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else {
                continue;
            };
            if let Some((_, _, id)) =
                operation_ids().find(|(m, p, _)| *m == method && *p == path.as_str())
            {
                op.insert("operationId".into(), json!(id));
            }
            let has_params = op
                .get("parameters")
                .and_then(Value::as_array)
                .is_some_and(|p| !p.is_empty());
            let secured = op
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|s| !s.is_empty());
            let responses = op
                .entry("responses")
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("responses");
            let mut add = |status: &str, name: &str| {
                responses
                    .entry(status)
                    .or_insert_with(|| json!({"$ref": format!("#/components/responses/{name}")}));
            };
            if has_params || op_has_body(method) {
                add("400", "BadRequest");
            }
            if secured {
                add("401", "Unauthorized");
                add("403", "Forbidden");
            }
            if path.contains('{') {
                add("404", "NotFound");
            }
            let responses = op["responses"].as_object_mut().expect("responses");
            for (status, response) in responses.iter_mut() {
                let Some(response) = response.as_object_mut() else {
                    continue;
                };
                if response.contains_key("$ref") {
                    continue;
                }
                if response
                    .get("description")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    let reason = status
                        .parse::<u16>()
                        .ok()
                        .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("Answer");
                    response.insert("description".into(), json!(reason));
                }
                let headers = response
                    .entry("headers")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                    .expect("headers");
                headers.insert(
                    "API-Version".into(),
                    json!({"$ref": "#/components/headers/API-Version"}),
                );
            }
        }
        let short = path.strip_prefix(BASE_PATH).unwrap_or(&path).to_owned();
        relative.insert(short, item);
    }
    doc["paths"] = Value::Object(relative);

    // `List_Case` -> `CaseList`, in the schemas and in every reference to them.
    let schemas = doc["components"]["schemas"]
        .as_object_mut()
        .expect("schemas");
    let renames: Vec<(String, String)> = schemas
        .keys()
        .filter_map(|k| {
            k.strip_prefix("List_")
                .map(|item| (k.clone(), format!("{item}List")))
        })
        .collect();
    for (from, to) in &renames {
        let schema = schemas.remove(from).expect("listed above");
        schemas.insert(to.clone(), schema);
    }
    rename_refs(&mut doc, &renames);
    doc
}

fn op_has_body(method: &str) -> bool {
    matches!(method, "post" | "put" | "patch")
}

fn rename_refs(value: &mut serde_json::Value, renames: &[(String, String)]) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "$ref" {
                    if let Some(name) = v
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    {
                        if let Some((_, to)) = renames.iter().find(|(from, _)| from == name) {
                            *v = Value::String(format!("#/components/schemas/{to}"));
                        }
                    }
                } else {
                    rename_refs(v, renames);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_refs(v, renames)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_its_own_operation_id() {
        let (_, doc) = crate::api_routes();
        let doc = serde_json::to_value(&doc).unwrap();
        let mut missing = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in METHODS {
                if item.get(method).is_some()
                    && !operation_ids().any(|(m, p, _)| m == method && p == path)
                {
                    missing.push(format!("{method} {path}"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "operations without an entry in OPERATION_IDS: {missing:?}"
        );
        let mut ids: Vec<_> = operation_ids().map(|(_, _, id)| id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "operationIds repeat");
    }
}
