//! Routing a case on demand (`POST /cases/{id}/route`): the rules in force run again on the
//! citizen message that opened the case, as they ran when it came in, with the case's theme,
//! kind and target group now. The matching rule's actions apply in one transaction with their
//! effects (a forward starts the department clock, the audit entry, the live event); a rule never
//! overwrites a theme, kind or target group the case has. New cases are routed at ingest, in the
//! ingest transaction (`webcare_store::routing`).
//!
//! Editing the rules (the API's `/routing-rules` and the web app's Beheer page call the same
//! functions): each change stores the next version of the whole list; a change made meanwhile is
//! a conflict, never a lost update. Trying the rules on a sample message stores nothing.

use crate::case_work::{set_status, visible_case, write};
use crate::error::{DeskError, DeskResult};
use crate::principal::Principal;
use crate::Desk;
use crate::InvalidParam;
use chrono::{DateTime, Utc};
use chrono_tz::Europe::Amsterdam;
use serde::Deserialize;
use uuid::Uuid;
use webcare_domain::classification::ListName;
use webcare_domain::routing::{Actions, Conditions, Facts, OpeningHours, RuleSet, RuleSpec};
use webcare_domain::sla::BusinessHours;
use webcare_domain::{CaseKind, CaseStatus, ChannelKind, Direction, TargetGroup, Visibility};
use webcare_store::agent::{CaseWrite, ForwardOp};
use webcare_store::routing::{RuleSetRecord, StoredRule};
use webcare_store::versions::NewVersion;
use webcare_store::{CaseRecord, NewAuditEvent, RoutedBy};

/// What the rules did to a case.
#[derive(Debug)]
pub struct Routed {
    /// The version of the rules that ran (0: none were ever set).
    pub version: i64,
    /// The rule that matched, if any, and why.
    pub rule: Option<(StoredRule, Vec<String>)>,
    /// The case as it is now: unchanged when no rule matched.
    pub case: CaseRecord,
}

/// Runs the rules in force on case `id` (one the caller may see) and applies the first match.
pub async fn route_case(desk: &Desk, p: &Principal, id: Uuid) -> DeskResult<Routed> {
    let before = visible_case(desk, p, id).await?;
    let (version, rules) = rules_in_force(desk).await?;
    let unmatched = |case| Routed {
        version,
        rule: None,
        case,
    };
    let messages = desk.store.case_messages(id).await?;
    let Some(first) = messages
        .iter()
        .find(|m| m.direction == Direction::Inbound && m.deleted_at.is_none())
    else {
        return Ok(unmatched(before));
    };
    let specs: Vec<RuleSpec> = rules.iter().map(|r| r.spec.clone()).collect();
    let set = RuleSet::compile(&specs).map_err(|_| {
        DeskError::Internal(anyhow::anyhow!("the stored routing rules do not compile"))
    })?;
    let account = desk
        .store
        .get_channel_account(before.channel_account_id)
        .await?
        .ok_or_else(|| DeskError::Internal(anyhow::anyhow!("the case's account is missing")))?;
    // The account's opening hours, as at ingest.
    let calendar = match account.calendar_id {
        Some(c) => desk.store.calendar_versions(c).await?,
        None => None,
    }
    .unwrap_or_else(|| webcare_store::sla::default_calendar().clone());
    let facts = Facts {
        channel_kind: account.kind,
        channel_account_id: account.id,
        visibility: first.visibility,
        text: &first.text,
        flags: &first.flags,
        theme: before.theme.as_deref(),
        kind: before.kind,
        target_group: before.target_group,
        local: first
            .sent_at
            .with_timezone(&calendar.in_force(first.sent_at).time_zone())
            .naive_local(),
        within_opening_hours: calendar.is_open(first.sent_at),
    };
    let Some(hit) = set.first_match(&facts) else {
        return Ok(unmatched(before));
    };
    let rule = rules[hit.index].clone();
    let actions = &rule.spec.actions;
    let mut w = CaseWrite::new(before);
    let mut fields = w.after.routable();
    actions.apply(&mut fields);
    w.after.set_routable(
        fields,
        RoutedBy {
            version,
            rule_id: rule.id,
        },
    );
    w.audit.push(NewAuditEvent {
        actor: p.actor(),
        action: "case.routed".into(),
        case_id: Some(id),
        detail: serde_json::json!({
            "version": version, "ruleId": rule.id, "rule": rule.spec.name, "reasons": hit.reasons,
            "departmentId": actions.department_id, "createZaak": actions.create_zaak,
        }),
    });
    // A forward only where the case is not with that department already.
    if let Some(department_id) = actions
        .department_id
        .filter(|d| w.before.status != CaseStatus::Forwarded || w.before.department_id != Some(*d))
    {
        if desk.store.get_department(department_id).await?.is_none() {
            return Err(DeskError::Conflict(
                "the rule forwards to a department that no longer exists".into(),
            ));
        }
        set_status(&mut w.after, CaseStatus::Forwarded, Utc::now())?;
        w.after.department_id = Some(department_id);
        w.forward = Some(ForwardOp::Open {
            department_id,
            question: format!("Doorgestuurd door routeringsregel '{}'.", rule.spec.name),
            by: p.actor(),
        });
    }
    let case = write(desk, w).await?;
    Ok(Routed {
        version,
        rule: Some((rule, hit.reasons)),
        case,
    })
}

// ------------------------------------------------------------------------------ editing

/// A change to one rule; what is `None` stays as it is.
#[derive(Debug, Default)]
pub struct RulePatch {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub conditions: Option<Conditions>,
    pub actions: Option<Actions>,
    /// Where it goes in the list, from 0 (at most [`webcare_domain::routing::MAX_RULES`]).
    pub position: Option<u32>,
    /// When the changed set takes effect (see [`add_rule_at`]).
    pub effective_from: Option<DateTime<Utc>>,
}

/// A change saved: the rule as it is now, and the version of the set that holds it.
#[derive(Debug)]
pub struct RuleSaved {
    pub version: i64,
    pub rule: StoredRule,
}

/// The rule set in force now: its version (0 before the first) and its rules. A version whose
/// effective time lies ahead is not (yet).
pub async fn rules_in_force(desk: &Desk) -> DeskResult<(i64, Vec<StoredRule>)> {
    Ok(match desk.store.routing_rules_at(Utc::now()).await? {
        Some(r) => (r.version, r.rules),
        None => (0, Vec::new()),
    })
}

/// The newest version (a change builds on it, also when it is scheduled), as the version the
/// caller saw (`seen`; any when `None`) to change.
async fn load(desk: &Desk, seen: Option<i64>) -> DeskResult<Loaded> {
    let (version, rules, newest_from) = match desk.store.routing_rules().await? {
        Some(r) => (Some(r.version), r.rules, Some(r.effective_from)),
        None => (None, Vec::new(), None),
    };
    match seen {
        Some(v) if v != version.unwrap_or(0) => Err(DeskError::Conflict(format!(
            "the routing rules changed meanwhile (version {} is in force, not {v}): reload and try again",
            version.unwrap_or(0)
        ))),
        _ => Ok(Loaded {
            version,
            rules,
            newest_from,
        }),
    }
}

/// The newest version of the rules, to change.
struct Loaded {
    version: Option<i64>,
    rules: Vec<StoredRule>,
    newest_from: Option<DateTime<Utc>>,
}

/// When a change takes effect: `asked` (never in the past), or now; never before the newest
/// version's effective time, so the versions take effect in their order (a change made on top of
/// a scheduled version joins its time when none is asked; an earlier time asked would overlap it).
fn effective_time(
    asked: Option<DateTime<Utc>>,
    newest_from: Option<DateTime<Utc>>,
) -> DeskResult<DateTime<Utc>> {
    let now = Utc::now();
    let at = match asked {
        // A second of slack for the caller's clock and the request's travel.
        Some(t) if t < now - chrono::Duration::seconds(1) => {
            return Err(DeskError::invalid(
                "effectiveFrom",
                "past",
                "a change takes effect now or later, never in the past",
            ))
        }
        Some(t) => t.max(now),
        None => now,
    };
    match newest_from {
        Some(n) if asked.is_some() && at < n => Err(DeskError::invalid(
            "effectiveFrom",
            "overlap",
            format!("the newest version takes effect at {n}; a change on top of it cannot take effect before"),
        )),
        Some(n) => Ok(at.max(n)),
        None => Ok(at),
    }
}

/// A position in the list: at most [`webcare_domain::routing::MAX_RULES`].
fn check_position(p: Option<u32>) -> DeskResult<()> {
    match p {
        Some(p) if p as usize > webcare_domain::routing::MAX_RULES => {
            Err(DeskError::invalid("position", "maximum", "at most 500"))
        }
        _ => Ok(()),
    }
}

fn find(rules: &[StoredRule], id: Uuid) -> DeskResult<usize> {
    rules
        .iter()
        .position(|r| r.id == id)
        .ok_or_else(|| DeskError::NotFound("routing rule".into()))
}

/// Checks the whole list as it would be saved (every problem at once, named by the changed
/// rule's fields) and that the teams and departments it names exist.
async fn check(desk: &Desk, rules: &[StoredRule], changed: usize) -> DeskResult<()> {
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
    // What a rule sets on a case must be on the admin's lists (active), like an agent's choice.
    let (_, lists) = crate::classification::current(desk).await?;
    let values = [
        (ListName::Themes, a.theme.as_deref()),
        (ListName::Kinds, a.kind.map(|k| k.as_str())),
        (ListName::TargetGroups, a.target_group.map(|g| g.as_str())),
    ];
    for (l, v) in values {
        if let Some(v) = v.filter(|v| !lists.allows(l, v, None)) {
            errs.push(InvalidParam::new(
                format!("actions.{}", l.field()),
                "unknown_value",
                format!(
                    "'{v}' is not on the list; one of: {}",
                    lists.active_names(l)
                ),
            ));
        }
    }
    if let Some(team) = &a.team {
        if desk
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
        if desk.store.get_department(d).await?.is_none() {
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
        Err(DeskError::Invalid(errs))
    }
}

/// Stores `rules` as the version after `version` (a conflict when the rules changed meanwhile),
/// effective from `from`.
async fn save(
    desk: &Desk,
    version: Option<i64>,
    rules: &[StoredRule],
    p: &Principal,
    from: DateTime<Utc>,
) -> DeskResult<RuleSetRecord> {
    Ok(desk
        .store
        .save_routing_rules(NewVersion {
            after: version,
            value: rules,
            effective_from: from,
            actor: &p.actor(),
        })
        .await?)
}

/// Puts `rule` at `at` in the loaded list, checks the list and stores it.
async fn place(
    desk: &Desk,
    p: &Principal,
    loaded: Loaded,
    at: usize,
    rule: StoredRule,
    asked: Option<DateTime<Utc>>,
) -> DeskResult<RuleSaved> {
    let from = effective_time(asked, loaded.newest_from)?;
    let mut rules = loaded.rules;
    rules.insert(at, rule.clone());
    check(desk, &rules, at).await?;
    let saved = save(desk, loaded.version, &rules, p, from).await?;
    Ok(RuleSaved {
        version: saved.version,
        rule,
    })
}

/// Adds `spec` at `position` (else last) to the version `seen` (any when `None`), effective now
/// (or with the scheduled newest version).
pub async fn add_rule(
    desk: &Desk,
    p: &Principal,
    seen: Option<i64>,
    spec: RuleSpec,
    position: Option<u32>,
) -> DeskResult<RuleSaved> {
    add_rule_at(desk, p, seen, spec, position, None).await
}

/// [`add_rule`], the new version taking effect at `effective_from` (now when `None`; never in
/// the past, nor before the newest version's time: 400 `effectiveFrom`).
pub async fn add_rule_at(
    desk: &Desk,
    p: &Principal,
    seen: Option<i64>,
    spec: RuleSpec,
    position: Option<u32>,
    effective_from: Option<DateTime<Utc>>,
) -> DeskResult<RuleSaved> {
    check_position(position)?;
    let loaded = load(desk, seen).await?;
    let n = loaded.rules.len();
    let at = position.map_or(n, |p| (p as usize).min(n));
    let rule = StoredRule {
        id: Uuid::now_v7(),
        spec,
    };
    place(desk, p, loaded, at, rule, effective_from).await
}

/// Changes rule `id`, or moves it (`position`), in the version `seen` (any when `None`).
pub async fn change_rule(
    desk: &Desk,
    p: &Principal,
    seen: Option<i64>,
    id: Uuid,
    patch: RulePatch,
) -> DeskResult<RuleSaved> {
    check_position(patch.position)?;
    let mut loaded = load(desk, seen).await?;
    let from = find(&loaded.rules, id)?;
    let mut rule = loaded.rules.remove(from);
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
        .map_or(from, |p| (p as usize).min(loaded.rules.len()));
    place(desk, p, loaded, at, rule, patch.effective_from).await
}

/// Removes rule `id` from the version `seen` (any when `None`); answers the new version.
pub async fn remove_rule(
    desk: &Desk,
    p: &Principal,
    seen: Option<i64>,
    id: Uuid,
) -> DeskResult<i64> {
    let mut loaded = load(desk, seen).await?;
    let at = find(&loaded.rules, id)?;
    loaded.rules.remove(at);
    let from = effective_time(None, loaded.newest_from)?;
    Ok(save(desk, loaded.version, &loaded.rules, p, from)
        .await?
        .version)
}

// ------------------------------------------------------------------------------ trying

/// A sample message to try the rules on.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoutingTest {
    pub channel_kind: ChannelKind,
    pub channel_account_id: Option<Uuid>,
    /// Public when absent.
    pub visibility: Option<Visibility>,
    #[cfg_attr(feature = "openapi", schema(max_length = 100000))]
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

/// Which rule would take a sample message, and why.
#[derive(Debug)]
pub struct Tried {
    pub version: i64,
    /// The position (from 0), the rule and the reasons.
    pub hit: Option<(usize, StoredRule, Vec<String>)>,
}

/// Runs the rules in force on `s`: which rule matches and why. Nothing is stored.
pub async fn try_rules(desk: &Desk, s: &RoutingTest) -> DeskResult<Tried> {
    if s.text.chars().count() > 100_000 {
        return Err(DeskError::invalid(
            "text",
            "too_long",
            "at most 100,000 characters",
        ));
    }
    let (version, rules) = rules_in_force(desk).await?;
    let specs: Vec<RuleSpec> = rules.iter().map(|r| r.spec.clone()).collect();
    // A stored set always compiled when it was saved.
    let set = RuleSet::compile(&specs).map_err(|_| {
        DeskError::Internal(anyhow::anyhow!("the stored routing rules do not compile"))
    })?;
    let at = s.at.unwrap_or_else(Utc::now);
    let facts = Facts {
        channel_kind: s.channel_kind,
        channel_account_id: s.channel_account_id.unwrap_or(Uuid::nil()),
        visibility: s.visibility.unwrap_or(Visibility::Public),
        text: &s.text,
        flags: &s.flags,
        theme: s.theme.as_deref(),
        kind: s.kind,
        target_group: s.target_group,
        local: at.with_timezone(&Amsterdam).naive_local(),
        within_opening_hours: s.opening_hours != Some(OpeningHours::Outside),
    };
    let hit = set
        .first_match(&facts)
        .and_then(|m| Some((m.index, rules.get(m.index)?.clone(), m.reasons)));
    Ok(Tried { version, hit })
}
