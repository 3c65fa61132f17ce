//! Routing rules (issue 14, DESIGN 7): an ordered list, first match wins, versioned as a whole.
//! The admin edits it rule by rule; each change stores the next version of the whole list.
//! Team leads may read the rules and try them on a sample message (`/test`, nothing stored).
//! The matching itself is `webcare_domain::routing`, pure.

use crate::auth::{roles, Authorized, Principal};
use crate::dto::Case;
use crate::error::{ApiError, ApiResult, InvalidParam, Problem};
use crate::extract::{ApiJson, IdPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use chrono_tz::Europe::Amsterdam;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use webcare_domain::routing::{Actions, Conditions, Facts, OpeningHours, RuleSet, RuleSpec};
use webcare_domain::{CaseKind, ChannelKind, TargetGroup, Visibility};
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

/// The rule set in force: its version and its rules in the order they are tried.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutingRuleSet {
    /// 0 before the rules were first set.
    pub version: i64,
    pub effective_from: Option<DateTime<Utc>>,
    pub changed_by: Option<String>,
    pub rules: Vec<RoutingRule>,
}

impl From<Option<RuleSetRecord>> for RoutingRuleSet {
    fn from(r: Option<RuleSetRecord>) -> RoutingRuleSet {
        match r {
            None => RoutingRuleSet {
                version: 0,
                effective_from: None,
                changed_by: None,
                rules: Vec::new(),
            },
            Some(r) => RoutingRuleSet {
                version: r.version,
                effective_from: Some(r.effective_from),
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
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub conditions: Conditions,
    #[serde(default)]
    pub actions: Actions,
    /// Where it goes in the list, from 0; at the end when absent.
    #[schema(minimum = 0, maximum = 500)]
    pub position: Option<u32>,
}

fn yes() -> bool {
    true
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
}

/// A change saved: the rule as it is now, and the version of the set that holds it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutingRuleSaved {
    pub version: i64,
    pub rule: RoutingRule,
}

/// Checks the whole list as it would be saved (every problem at once, named by the changed
/// rule's fields) and that the teams and departments it names exist.
async fn check(state: &AppState, rules: &[StoredRule], changed: usize) -> ApiResult<()> {
    let specs: Vec<RuleSpec> = rules.iter().map(|r| r.spec.clone()).collect();
    let mut errs: Vec<InvalidParam> = match RuleSet::compile(&specs) {
        Ok(_) => Vec::new(),
        Err(errors) => {
            let prefix = format!("rules[{changed}].");
            errors
                .into_iter()
                .map(|e| {
                    let name = e.field.strip_prefix(&prefix).unwrap_or(&e.field).to_owned();
                    InvalidParam::new(name, e.code, e.reason)
                })
                .collect()
        }
    };
    let a = &rules[changed].spec.actions;
    if let Some(team) = &a.team {
        if state
            .store
            .team_names(std::slice::from_ref(team))
            .await?
            .is_empty()
        {
            errs.push(InvalidParam::new(
                "actions.team",
                "unknown_team",
                "no such team",
            ));
        }
    }
    if let Some(d) = a.department_id {
        if state.store.get_department(d).await?.is_none() {
            errs.push(InvalidParam::new(
                "actions.departmentId",
                "unknown_department",
                "no such department",
            ));
        }
    }
    if let Some(z) = &a.create_zaak {
        // A zaaktype is named by its URL in the Catalogi API.
        let ok = url::Url::parse(z).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !ok || z.len() > 1000 {
            errs.push(InvalidParam::new(
                "actions.createZaak",
                "invalid_url",
                "the zaaktype's URL in the Catalogi API (http or https)",
            ));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(errs))
    }
}

/// A position in the list: at most [`webcare_domain::routing::MAX_RULES`].
fn check_position(p: Option<u32>) -> ApiResult<()> {
    match p {
        Some(p) if p as usize > webcare_domain::routing::MAX_RULES => {
            Err(ApiError::invalid("position", "maximum", "at most 500"))
        }
        _ => Ok(()),
    }
}

/// The rule set in force: its version (`None` before the first) and its rules.
async fn load(state: &AppState) -> ApiResult<(Option<i64>, Vec<StoredRule>)> {
    Ok(match state.store.routing_rules().await? {
        Some(r) => (Some(r.version), r.rules),
        None => (None, Vec::new()),
    })
}

fn find(rules: &[StoredRule], id: Uuid) -> ApiResult<usize> {
    super::found(rules.iter().position(|r| r.id == id), "routing rule")
}

/// Stores `rules` as the version after `version` (a conflict when the rules changed meanwhile).
async fn save(
    state: &AppState,
    version: Option<i64>,
    rules: &[StoredRule],
    caller: &Principal,
) -> ApiResult<RuleSetRecord> {
    Ok(state
        .store
        .save_routing_rules(version, rules, &caller.actor())
        .await?)
}

/// The routing rules in force, in the order they are tried.
#[utoipa::path(
    get, path = "/api/v1/routing-rules", tag = "routing",
    responses((status = 200, body = RoutingRuleSet)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    _caller: Authorized<roles::Lead>,
) -> ApiResult<Json<RoutingRuleSet>> {
    Ok(Json(state.store.routing_rules().await?.into()))
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
    check_position(body.position)?;
    let (version, mut rules) = load(&state).await?;
    let at = body
        .position
        .map_or(rules.len(), |p| (p as usize).min(rules.len()));
    let rule = StoredRule {
        id: Uuid::now_v7(),
        spec: RuleSpec {
            name: body.name,
            enabled: body.enabled,
            conditions: body.conditions,
            actions: body.actions,
        },
    };
    rules.insert(at, rule.clone());
    check(&state, &rules, at).await?;
    let saved = save(&state, version, &rules, &caller).await?;
    Ok((
        StatusCode::CREATED,
        Json(RoutingRuleSaved {
            version: saved.version,
            rule: rule.into(),
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
    check_position(patch.position)?;
    let (version, mut rules) = load(&state).await?;
    let from = find(&rules, id)?;
    let mut rule = rules.remove(from);
    if let Some(n) = patch.name {
        rule.spec.name = n;
    }
    if let Some(e) = patch.enabled {
        rule.spec.enabled = e;
    }
    if let Some(c) = patch.conditions {
        rule.spec.conditions = c;
    }
    if let Some(a) = patch.actions {
        rule.spec.actions = a;
    }
    let at = patch
        .position
        .map_or(from, |p| (p as usize).min(rules.len()));
    rules.insert(at, rule.clone());
    check(&state, &rules, at).await?;
    let saved = save(&state, version, &rules, &caller).await?;
    Ok(Json(RoutingRuleSaved {
        version: saved.version,
        rule: rule.into(),
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
    let (version, mut rules) = load(&state).await?;
    let at = find(&rules, id)?;
    rules.remove(at);
    save(&state, version, &rules, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A sample message to try the rules on.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoutingTest {
    pub channel_kind: ChannelKind,
    pub channel_account_id: Option<Uuid>,
    /// Public when absent.
    pub visibility: Option<Visibility>,
    #[schema(max_length = 100000)]
    pub text: String,
    #[serde(default)]
    pub flags: Vec<String>,
    pub theme: Option<String>,
    pub kind: Option<CaseKind>,
    pub target_group: Option<TargetGroup>,
    /// When the message is sent (now when absent); days and times count in Europe/Amsterdam.
    pub at: Option<DateTime<Utc>>,
    /// Whether the desk is open then; `within` when absent.
    pub opening_hours: Option<OpeningHours>,
}

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
    if t.text.chars().count() > 100_000 {
        return Err(ApiError::invalid(
            "text",
            "too_long",
            "at most 100,000 characters",
        ));
    }
    let (version, rules) = load(&state).await?;
    let version = version.unwrap_or(0);
    let specs: Vec<RuleSpec> = rules.iter().map(|r| r.spec.clone()).collect();
    // A stored set always compiled when it was saved.
    let set = RuleSet::compile(&specs).map_err(|_| {
        ApiError::Internal(anyhow::anyhow!("the stored routing rules do not compile"))
    })?;
    let at = t.at.unwrap_or_else(Utc::now);
    let facts = Facts {
        channel_kind: t.channel_kind,
        channel_account_id: t.channel_account_id.unwrap_or(Uuid::nil()),
        visibility: t.visibility.unwrap_or(Visibility::Public),
        text: &t.text,
        flags: &t.flags,
        theme: t.theme.as_deref(),
        kind: t.kind,
        target_group: t.target_group,
        local: at.with_timezone(&Amsterdam).naive_local(),
        within_opening_hours: t.opening_hours != Some(OpeningHours::Outside),
    };
    let m = set.first_match(&facts);
    Ok(Json(RoutingTestResult {
        version,
        matched: m.is_some(),
        position: m.as_ref().map(|m| m.index),
        rule: m
            .as_ref()
            .and_then(|m| rules.get(m.index).cloned())
            .map(Into::into),
        reasons: m.map(|m| m.reasons).unwrap_or_default(),
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
    let r = webcare_desk::routing::route_case(&state, &caller, id).await?;
    let (rule, reasons) = r.rule.unzip();
    Ok(Json(RouteResult {
        version: r.version,
        matched: rule.is_some(),
        rule: rule.map(Into::into),
        reasons: reasons.unwrap_or_default(),
        case: r.case.into(),
    }))
}
