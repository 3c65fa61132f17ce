//! Routing rules (issue 14, DESIGN 7): an ordered list, first match wins, versioned as a whole.
//! The admin edits it rule by rule; each change stores the next version of the whole list.
//! Team leads may read the rules and try them on a sample message (`/test`, nothing stored).
//! The editing and trying are `webcare_desk::routing` (the web app's Beheer page calls them too);
//! the matching itself is `webcare_domain::routing`, pure.

use crate::auth::{roles, Authorized};
use crate::dto::Case;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, IdPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use webcare_desk::routing;
use webcare_domain::routing::{Actions, Conditions, RuleSpec};
use webcare_store::routing::{RuleSetRecord, StoredRule};

/// One rule, with the id it keeps across versions.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutingRule {
    pub id: Uuid,
    pub name: String,
    pub enabled: bool,
    pub conditions: Conditions,
    pub actions: Actions,
}

impl From<StoredRule> for RoutingRule {
    fn from(r: StoredRule) -> RoutingRule {
        RoutingRule {
            id: r.id,
            name: r.spec.name,
            enabled: r.spec.enabled,
            conditions: r.spec.conditions,
            actions: r.spec.actions,
        }
    }
}

/// The newest version of the rule set (what a change builds on) and its rules in the order they
/// are tried; it is in force from `effectiveFrom` on.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutingRuleSet {
    /// 0 before the rules were first set.
    pub version: i64,
    /// When this version takes effect (may lie ahead: the version in force until then is
    /// `inForceVersion`).
    pub effective_from: Option<DateTime<Utc>>,
    /// The version routing cases now (0: none).
    pub in_force_version: i64,
    pub changed_by: Option<String>,
    pub rules: Vec<RoutingRule>,
}

impl From<Option<RuleSetRecord>> for RoutingRuleSet {
    fn from(r: Option<RuleSetRecord>) -> RoutingRuleSet {
        match r {
            None => RoutingRuleSet {
                version: 0,
                effective_from: None,
                in_force_version: 0,
                changed_by: None,
                rules: Vec::new(),
            },
            Some(r) => RoutingRuleSet {
                version: r.version,
                effective_from: Some(r.effective_from),
                in_force_version: r.version,
                changed_by: Some(r.created_by),
                rules: r.rules.into_iter().map(Into::into).collect(),
            },
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRoutingRule {
    pub name: String,
    #[serde(default = "webcare_domain::routing::enabled_by_default")]
    pub enabled: bool,
    /// Where it goes in the list, from 0; at the end when absent.
    #[schema(minimum = 0, maximum = 500)]
    pub position: Option<u32>,
    #[serde(default)]
    pub conditions: Conditions,
    #[serde(default)]
    pub actions: Actions,
    /// When the new version of the set takes effect: now when absent (or with a scheduled
    /// newest version); never in the past, nor before the newest version's time.
    pub effective_from: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoutingRulePatch {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub conditions: Option<Conditions>,
    pub actions: Option<Actions>,
    #[schema(minimum = 0, maximum = 500)]
    pub position: Option<u32>,
    /// When the new version of the set takes effect (as for a new rule).
    pub effective_from: Option<DateTime<Utc>>,
}

/// A change saved: the rule as it is now, and the version of the set that holds it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutingRuleSaved {
    pub version: i64,
    pub rule: RoutingRule,
}

/// The newest version of the routing rules (its effective time may lie ahead), in the order they
/// are tried.
#[utoipa::path(
    get, path = "/api/v1/routing-rules", tag = "routing",
    responses((status = 200, body = RoutingRuleSet)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    _caller: Authorized<roles::Lead>,
) -> ApiResult<Json<RoutingRuleSet>> {
    let mut set: RoutingRuleSet = state.store.routing_rules().await?.into();
    if set.effective_from.is_some_and(|f| f > Utc::now()) {
        set.in_force_version = state
            .store
            .routing_rules_at(Utc::now())
            .await?
            .map_or(0, |r| r.version);
    }
    Ok(Json(set))
}

/// Add a rule (at `position`, else last). Stores the next version of the rule set.
#[utoipa::path(
    post, path = "/api/v1/routing-rules", tag = "routing", request_body = NewRoutingRule,
    responses(
        (status = 201, body = RoutingRuleSaved),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The rules changed meanwhile: reload and try again", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Authorized<roles::AdminOnly>,
    ApiJson(body): ApiJson<NewRoutingRule>,
) -> ApiResult<(StatusCode, Json<RoutingRuleSaved>)> {
    let spec = RuleSpec {
        name: body.name,
        enabled: body.enabled,
        conditions: body.conditions,
        actions: body.actions,
    };
    let saved = routing::add_rule_at(
        &state,
        &caller,
        None,
        spec,
        body.position,
        body.effective_from,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(RoutingRuleSaved {
            version: saved.version,
            rule: saved.rule.into(),
        }),
    ))
}

/// Change a rule, or move it (`position`). Stores the next version of the rule set.
#[utoipa::path(
    patch, path = "/api/v1/routing-rules/{id}", tag = "routing",
    params(("id" = Uuid, Path)), request_body = RoutingRulePatch,
    responses(
        (status = 200, body = RoutingRuleSaved),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The rules changed meanwhile: reload and try again", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Authorized<roles::AdminOnly>,
    IdPath(id): IdPath,
    ApiJson(patch): ApiJson<RoutingRulePatch>,
) -> ApiResult<Json<RoutingRuleSaved>> {
    let patch = routing::RulePatch {
        name: patch.name,
        enabled: patch.enabled,
        conditions: patch.conditions,
        actions: patch.actions,
        position: patch.position,
        effective_from: patch.effective_from,
    };
    let saved = routing::change_rule(&state, &caller, None, id, patch).await?;
    Ok(Json(RoutingRuleSaved {
        version: saved.version,
        rule: saved.rule.into(),
    }))
}

/// Remove a rule. Stores the next version of the rule set.
#[utoipa::path(
    delete, path = "/api/v1/routing-rules/{id}", tag = "routing",
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The rules changed meanwhile: reload and try again", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Authorized<roles::AdminOnly>,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    routing::remove_rule(&state, &caller, None, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub use webcare_desk::routing::RoutingTest;

/// Which rule would take the message, and why.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutingTestResult {
    pub version: i64,
    pub matched: bool,
    /// From 0, in the order the rules are tried.
    pub position: Option<usize>,
    pub rule: Option<RoutingRule>,
    pub reasons: Vec<String>,
}

/// Try the rules in force on a sample message: which rule matches and why. Nothing is stored.
#[utoipa::path(
    post, path = "/api/v1/routing-rules/test", tag = "routing", request_body = RoutingTest,
    responses(
        (status = 200, body = RoutingTestResult),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn test(
    State(state): State<AppState>,
    _caller: Authorized<roles::Lead>,
    ApiJson(t): ApiJson<RoutingTest>,
) -> ApiResult<Json<RoutingTestResult>> {
    let tried = routing::try_rules(&state, &t).await?;
    let (position, rule, reasons) = match tried.hit {
        Some((i, r, why)) => (Some(i), Some(r.into()), why),
        None => (None, None, Vec::new()),
    };
    Ok(Json(RoutingTestResult {
        version: tried.version,
        matched: position.is_some(),
        position,
        rule,
        reasons,
    }))
}

/// What the rules in force did to a case on demand.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteResult {
    /// The version of the rules that ran (0: none were ever set).
    pub version: i64,
    pub matched: bool,
    pub rule: Option<RoutingRule>,
    pub reasons: Vec<String>,
    /// The case as it is now: unchanged when no rule matched.
    pub case: Case,
}

/// Run the rules in force on a case again, as they ran when it came in: on the citizen message
/// that opened it, with the case's theme, kind and target group now. The matching rule's actions
/// apply in one transaction with their effects (a forward starts the department clock); a rule
/// never overwrites a theme, kind or target group the case has.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/route", tag = "routing", params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = RouteResult),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn route_case(
    State(state): State<AppState>,
    caller: Authorized<roles::CaseWork>,
    IdPath(id): IdPath,
) -> ApiResult<Json<RouteResult>> {
    let r = routing::route_case(&state, &caller, id).await?;
    let (rule, reasons) = r.rule.unzip();
    Ok(Json(RouteResult {
        version: r.version,
        matched: rule.is_some(),
        rule: rule.map(Into::into),
        reasons: reasons.unwrap_or_default(),
        case: r.case,
    }))
}
