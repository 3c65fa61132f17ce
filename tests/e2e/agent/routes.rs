//! Every route of the OpenAPI document answers 401 without credentials and 403 for each role
//! outside its rights, and never 401/403 for a role inside them. Routes come from the served
//! document; who may call what is the table below. A route missing from the table fails the test,
//! so a new route cannot ship without deciding who may call it.

use super::*;
use reqwest::Method;
use webcare_domain::Role;

webcare_e2e::both_backends!(every_route_in_the_openapi_document_is_authorised);

/// Every role with case work (the privacy officer has none).
const ALL: &[&str] = &["admin", "teamlead", "agent", "department", "integration"];
/// The roles each route is tried with.
const EVERY_ROLE: &[&str] = &[
    "admin",
    "teamlead",
    "agent",
    "department",
    "integration",
    "privacy_officer",
];
const KCC: &[&str] = &["admin", "teamlead", "agent"];
const LEAD: &[&str] = &["admin", "teamlead"];
const ADMIN: &[&str] = &["admin"];
/// Reports: department users their own department's.
const REPORTS: &[&str] = &["admin", "teamlead", "department"];
/// The citizen's privacy: retention and legal holds.
const PRIVACY: &[&str] = &["admin", "privacy_officer"];
/// Every desk user (tokens: their own).
const USERS: &[&str] = &["admin", "teamlead", "agent", "department"];

/// `(method, path, roles allowed)`.
const POLICY: &[(&str, &str, &[&str])] = &[
    ("POST", "/api/v1/messages", &["admin", "integration"]),
    ("GET", "/api/v1/routing-rules", LEAD),
    ("POST", "/api/v1/routing-rules", ADMIN),
    ("PATCH", "/api/v1/routing-rules/{id}", ADMIN),
    ("DELETE", "/api/v1/routing-rules/{id}", ADMIN),
    ("POST", "/api/v1/routing-rules/test", LEAD),
    ("POST", "/api/v1/cases/{id}/route", KCC),
    ("GET", "/api/v1/channel-accounts", ADMIN),
    ("POST", "/api/v1/channel-accounts", ADMIN),
    ("GET", "/api/v1/channel-accounts/{id}", ADMIN),
    ("PATCH", "/api/v1/channel-accounts/{id}", ADMIN),
    ("DELETE", "/api/v1/channel-accounts/{id}", ADMIN),
    ("GET", "/api/v1/cases", ALL),
    ("GET", "/api/v1/cases/{id}", ALL),
    ("PATCH", "/api/v1/cases/{id}", KCC),
    ("POST", "/api/v1/cases/{id}/claim", KCC),
    ("POST", "/api/v1/cases/{id}/notes", KCC),
    ("GET", "/api/v1/cases/{id}/notes", KCC),
    ("POST", "/api/v1/cases/{id}/merge", KCC),
    ("POST", "/api/v1/cases/bulk", KCC),
    ("POST", "/api/v1/cases/{id}/forward", KCC),
    (
        "POST",
        "/api/v1/cases/{id}/department-answer",
        &["admin", "department"],
    ),
    ("POST", "/api/v1/cases/{id}/department-answer/return", KCC),
    ("GET", "/api/v1/cases/{id}/forwards", ALL),
    ("POST", "/api/v1/cases/{id}/zaak", KCC),
    ("GET", "/api/v1/cases/{id}/zaak", KCC),
    ("GET", "/api/v1/cases/{id}/klantcontacten", KCC),
    // The Notificaties callback: only the abonnement's own auth, never a desk token (403).
    ("POST", "/api/v1/notificaties", &[]),
    ("GET", "/api/v1/zgw/settings", ADMIN),
    ("PUT", "/api/v1/zgw/settings", ADMIN),
    ("GET", "/api/v1/zgw/abonnement", ADMIN),
    ("POST", "/api/v1/zgw/abonnement", ADMIN),
    ("GET", "/api/v1/cases/{id}/sla", ALL),
    ("POST", "/api/v1/users", ADMIN),
    ("GET", "/api/v1/users", LEAD),
    ("GET", "/api/v1/users/{id}", LEAD),
    ("PATCH", "/api/v1/users/{id}", ADMIN),
    ("POST", "/api/v1/teams", ADMIN),
    ("GET", "/api/v1/teams", KCC),
    ("PATCH", "/api/v1/teams/{id}", ADMIN),
    ("POST", "/api/v1/departments", ADMIN),
    ("GET", "/api/v1/departments", KCC),
    ("PATCH", "/api/v1/departments/{id}", ADMIN),
    ("GET", "/api/v1/audit-events", ADMIN),
    ("GET", "/api/v1/parked-deliveries", ADMIN),
    ("GET", "/api/v1/rejected-items", ADMIN),
    ("GET", "/api/v1/board", LEAD),
    ("GET", "/api/v1/reports/departments", LEAD),
    ("GET", "/api/v1/reports/departments.csv", LEAD),
    ("GET", "/api/v1/reports/volume", REPORTS),
    ("GET", "/api/v1/reports/volume.csv", REPORTS),
    ("GET", "/api/v1/reports/reaction", REPORTS),
    ("GET", "/api/v1/reports/reaction.csv", REPORTS),
    ("GET", "/api/v1/reports/resolution", REPORTS),
    ("GET", "/api/v1/reports/resolution.csv", REPORTS),
    ("GET", "/api/v1/reports/norms", REPORTS),
    ("GET", "/api/v1/reports/norms.csv", REPORTS),
    ("GET", "/api/v1/reports/forwarding", REPORTS),
    ("GET", "/api/v1/reports/forwarding.csv", REPORTS),
    ("GET", "/api/v1/reports/agents", REPORTS),
    ("GET", "/api/v1/reports/agents.csv", REPORTS),
    ("GET", "/api/v1/reports/costs", REPORTS),
    ("GET", "/api/v1/reports/costs.csv", REPORTS),
    ("GET", "/api/v1/reports/satisfaction", REPORTS),
    ("GET", "/api/v1/reports/satisfaction.csv", REPORTS),
    ("GET", "/api/v1/reports/satisfaction/comments", REPORTS),
    ("GET", "/api/v1/reports/satisfaction/comments.csv", REPORTS),
    ("GET", "/api/v1/reports/themes", REPORTS),
    ("GET", "/api/v1/reports/themes.csv", REPORTS),
    ("GET", "/api/v1/cost-model", LEAD),
    ("GET", "/api/v1/themes/suggestions/accuracy", LEAD),
    ("GET", "/api/v1/themes", EVERY_ROLE),
    ("PUT", "/api/v1/themes", ADMIN),
    ("GET", "/api/v1/kinds", EVERY_ROLE),
    ("PUT", "/api/v1/kinds", ADMIN),
    ("GET", "/api/v1/target-groups", EVERY_ROLE),
    ("PUT", "/api/v1/target-groups", ADMIN),
    ("GET", "/api/v1/theme-rules", EVERY_ROLE),
    ("PUT", "/api/v1/theme-rules", ADMIN),
    ("PUT", "/api/v1/cost-model", ADMIN),
    ("GET", "/api/v1/reports/cases", REPORTS),
    ("GET", "/api/v1/reports/cases.csv", REPORTS),
    ("POST", "/api/v1/canned-answers", LEAD),
    ("GET", "/api/v1/canned-answers", KCC),
    ("PATCH", "/api/v1/canned-answers/{id}", LEAD),
    ("DELETE", "/api/v1/canned-answers/{id}", LEAD),
    ("POST", "/api/v1/canned-answers/{id}/render", KCC),
    ("GET", "/api/v1/events", ALL),
    ("POST", "/api/v1/webhooks", ADMIN),
    ("GET", "/api/v1/webhooks", ADMIN),
    ("DELETE", "/api/v1/webhooks/{id}", ADMIN),
    ("GET", "/api/v1/webhooks/{id}/deliveries", ADMIN),
    ("POST", "/api/v1/cases/{id}/replies", KCC),
    ("POST", "/api/v1/cases/{id}/messages/{messageId}/hide", KCC),
    (
        "GET",
        "/api/v1/cases/{id}/replies",
        &["admin", "teamlead", "agent", "integration"],
    ),
    ("GET", "/api/v1/calendars", ALL),
    ("POST", "/api/v1/calendars", ADMIN),
    ("GET", "/api/v1/calendars/{id}", ALL),
    ("PUT", "/api/v1/calendars/{id}", ADMIN),
    ("GET", "/api/v1/calendars/{id}/deadline", ALL),
    ("GET", "/api/v1/calendars/{id}/business-time", ALL),
    ("GET", "/api/v1/sla-policies", ADMIN),
    ("POST", "/api/v1/sla-policies", ADMIN),
    ("GET", "/api/v1/sla-policies/{id}", ADMIN),
    ("PUT", "/api/v1/sla-policies/{id}", ADMIN),
    ("GET", "/api/v1/sla/alerts", LEAD),
    ("POST", "/api/v1/tokens", USERS),
    ("GET", "/api/v1/tokens", USERS),
    ("DELETE", "/api/v1/tokens/{id}", USERS),
    // The citizen's record: department users read the contacts of their forwarded cases.
    ("GET", "/api/v1/contacts", USERS),
    ("GET", "/api/v1/contacts/{id}", USERS),
    ("PATCH", "/api/v1/contacts/{id}", KCC),
    ("POST", "/api/v1/contacts/{id}/identities", KCC),
    (
        "DELETE",
        "/api/v1/contacts/{id}/identities/{identityId}",
        KCC,
    ),
    ("POST", "/api/v1/contacts/{id}/merge", KCC),
    ("GET", "/api/v1/contacts/{id}/suggestions", KCC),
    ("GET", "/api/v1/contacts/{id}/access-log", PRIVACY),
    ("POST", "/api/v1/contacts/{id}/export", PRIVACY),
    ("POST", "/api/v1/contacts/{id}/erase", ADMIN),
    ("GET", "/api/v1/retention/terms", PRIVACY),
    ("PUT", "/api/v1/retention/terms", ADMIN),
    ("GET", "/api/v1/retention/preview", PRIVACY),
    ("POST", "/api/v1/cases/{id}/legal-hold", PRIVACY),
    ("DELETE", "/api/v1/cases/{id}/legal-hold", PRIVACY),
    ("POST", "/api/v1/contacts/{id}/legal-hold", PRIVACY),
    ("DELETE", "/api/v1/contacts/{id}/legal-hold", PRIVACY),
];

/// Fills every `{param}` with a fresh id.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').unwrap() + start;
        out.push_str(&uuid::Uuid::now_v7().to_string());
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

async fn every_route_in_the_openapi_document_is_authorised(app: TestApp) {
    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut tokens = std::collections::HashMap::new();
    for (name, role) in [
        ("admin", Role::Admin),
        ("teamlead", Role::Teamlead),
        ("agent", Role::Agent),
        ("department", Role::Department),
        ("integration", Role::Integration),
        ("privacy_officer", Role::PrivacyOfficer),
    ] {
        tokens.insert(name, app.token(role).await);
    }
    let mut checked = 0;
    let mut missing = Vec::new();
    // Paths are relative to the server's `/api/v1`.
    let base = doc["servers"][0]["url"].as_str().unwrap().to_owned();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let path = &format!("{base}{path}");
        for method in item.as_object().unwrap().keys() {
            let m = method.to_uppercase();
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()) {
                continue;
            }
            let Some((_, _, allowed)) = POLICY.iter().find(|(pm, pp, _)| *pm == m && pp == path)
            else {
                missing.push(format!("{m} {path}"));
                continue;
            };
            let method = Method::from_bytes(m.as_bytes()).unwrap();
            let url = app.url(&concrete(path));
            let res = app
                .client
                .request(method.clone(), &url)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 401, "{m} {path} without credentials");
            for role in EVERY_ROLE {
                let res = app
                    .client
                    .request(method.clone(), &url)
                    .bearer_auth(&tokens[role])
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                let s = res.status().as_u16();
                if allowed.contains(role) {
                    assert!(
                        s != 401 && s != 403,
                        "{m} {path} as {role}: {s}, should be allowed"
                    );
                } else {
                    assert_eq!(s, 403, "{m} {path} as {role}");
                }
            }
            checked += 1;
        }
    }
    assert!(
        missing.is_empty(),
        "routes without an entry in the POLICY table of tests/e2e/agent/routes.rs: {missing:?}"
    );
    assert!(checked >= POLICY.len(), "only {checked} routes checked");
}
