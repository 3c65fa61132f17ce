//! Routing rule sets (issue 14), versioned: every change stores the whole ordered list as the
//! next version, so what decided a case can always be read back, and two admins changing the
//! rules at once cannot overwrite each other (the second is told to reload: the version is the
//! primary key).
//!
//! The set in force runs inside the ingest transaction on every new case (after threading, before
//! auto-assignment): [`route_new_cases`] is pure, the set is read through a short-lived cache.

use crate::agent::{CaseWrite, ForwardOp};
use crate::db::{query, Conn, SqlCore};
use crate::ingest_plan::Plan;
use crate::records::{CaseRecord, RoutedBy};
use crate::time::{from_ms, to_ms};
use crate::versions::{self, NewVersion, Table};
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use uuid::Uuid;
use webcare_domain::model::CaseStatus;
use webcare_domain::routing::RuleSpec;
use webcare_domain::routing::{Facts, Routable, RuleSet};
use webcare_domain::sla::BusinessHours;
use webcare_domain::sla::CalendarVersions;
use webcare_domain::{ChannelKind, Direction, Priority};

const RULE_SETS: Table = Table {
    name: "routing_rule_sets",
    column: "rules",
    stale: "the routing rules changed meanwhile",
};

/// One rule of a set, with the id it keeps across versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRule {
    pub id: Uuid,
    pub spec: RuleSpec,
}

/// A version of the rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSetRecord {
    pub version: i64,
    pub effective_from: DateTime<Utc>,
    pub rules: Vec<StoredRule>,
    pub created_by: String,
}

#[async_trait]
pub trait RoutingRules: Send + Sync {
    /// The newest version, if the rules were ever set (its effective time may lie ahead).
    async fn routing_rules(&self) -> Result<Option<RuleSetRecord>>;
    /// The version in force at `at`: the newest whose effective time has come.
    async fn routing_rules_at(&self, at: DateTime<Utc>) -> Result<Option<RuleSetRecord>>;
    /// Stores the rules as the version after `after` (`None`: the first), in force from its
    /// effective time (stored in milliseconds: what comes back is what a later read answers).
    /// [`crate::StoreError::Conflict`] when another change took that version first.
    async fn save_routing_rules(&self, v: NewVersion<'_, [StoredRule]>) -> Result<RuleSetRecord>;
}

type Row = (i64, i64, Json<Vec<StoredRule>>, String);

/// A rule set version as it runs: its rules and their compiled form.
pub(crate) struct InForce {
    pub version: i64,
    pub rules: Vec<StoredRule>,
    pub set: RuleSet,
}

/// How long a node trusts the set it read: a change saved on another node routes cases here after
/// at most this long (a change saved on this node at once: saving empties the cache).
const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// The set in force, compiled once per version rather than per batch (200 rules with patterns
/// take milliseconds to compile; the ingest of one message takes less).
#[derive(Default)]
pub(crate) struct RoutingCache {
    entry: Mutex<Option<(Instant, Option<Arc<InForce>>)>>,
}

impl RoutingCache {
    fn fresh(&self) -> Option<Option<Arc<InForce>>> {
        let g = self.entry.lock().unwrap_or_else(|e| e.into_inner());
        g.as_ref()
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, set)| set.clone())
    }

    fn put(&self, set: Option<Arc<InForce>>) {
        *self.entry.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), set));
    }

    pub(crate) fn invalidate(&self) {
        *self.entry.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// The newest version whose effective time has come, compiled; `None` when there is none or it
/// has no enabled rule.
pub(crate) async fn in_force(
    conn: &mut Conn<'_>,
    cache: &RoutingCache,
) -> Result<Option<Arc<InForce>>> {
    if let Some(set) = cache.fresh() {
        return Ok(set);
    }
    let row: Option<Row> = query(
        "SELECT version, effective_from, rules, created_by FROM routing_rule_sets \
         WHERE effective_from <= $1 ORDER BY version DESC LIMIT 1",
    )
    .bind(to_ms(Utc::now()))
    .fetch_optional(&mut *conn)
    .await?;
    let set = match row {
        Some((version, _, rules, _)) if rules.0.iter().any(|r| r.spec.enabled) => {
            let specs: Vec<RuleSpec> = rules.0.iter().map(|r| r.spec.clone()).collect();
            // A stored set compiled when it was saved; one that no longer does (a bound made
            // stricter since) routes nothing rather than failing every ingest.
            match RuleSet::compile(&specs) {
                Ok(set) => Some(Arc::new(InForce {
                    version,
                    rules: rules.0,
                    set,
                })),
                Err(errors) => {
                    tracing::error!(
                        version,
                        ?errors,
                        "the routing rules in force do not compile; no case is routed"
                    );
                    None
                }
            }
        }
        _ => None,
    };
    cache.put(set.clone());
    Ok(set)
}

/// What a rule did to a new case beyond its columns: for the audit, the forward and the zaak.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Routed {
    pub by: RoutedBy,
    pub rule_name: String,
    pub reasons: Vec<String>,
    pub target_group: Option<String>,
    pub labels: Vec<String>,
    /// Forward the case to this department (with its agreed answer time), in the same transaction.
    pub department_id: Option<Uuid>,
    pub create_zaak: Option<String>,
}

/// The audit actor of routing at ingest.
pub(crate) const ROUTING_ACTOR: &str = "system:routing";

/// The audit detail of a routed case: which rule of which version, and why.
pub(crate) fn audit_detail(r: &Routed) -> serde_json::Value {
    serde_json::json!({
        "version": r.by.version,
        "ruleId": r.by.rule_id,
        "rule": r.rule_name,
        "reasons": r.reasons,
        "departmentId": r.department_id,
        "createZaak": r.create_zaak,
    })
}

/// The forward a rule makes of a new case: the same write as an agent's forward.
pub(crate) fn forward_write(before: CaseRecord, department_id: Uuid, rule: &str) -> CaseWrite {
    let mut w = CaseWrite::new(before);
    w.after.status = CaseStatus::Forwarded;
    w.after.department_id = Some(department_id);
    w.forward = Some(ForwardOp::Open {
        department_id,
        question: format!("Automatisch doorgestuurd door routeringsregel '{rule}'."),
        by: ROUTING_ACTOR.to_owned(),
    });
    w.audit.push(crate::records::NewAuditEvent {
        actor: ROUTING_ACTOR.to_owned(),
        action: "case.forwarded".into(),
        case_id: Some(w.after.id),
        detail: serde_json::json!({"departmentId": department_id, "rule": rule}),
    });
    w
}

/// What routing needs to know of a channel account.
pub(crate) struct AccountFacts<'a> {
    pub kind: ChannelKind,
    /// Its opening hours: days and times count in the calendar's zone.
    pub calendar: &'a CalendarVersions,
}

/// Runs `rules` on each new case of `plan`, with the facts of the citizen message that opened it,
/// and applies the matching rule's actions to the planned case. Pure.
pub(crate) fn route_new_cases<'a>(
    plan: &mut Plan,
    rules: &InForce,
    account: impl Fn(Uuid) -> Option<AccountFacts<'a>>,
) {
    let mut first: HashMap<Uuid, usize> = HashMap::new();
    for (i, m) in plan.messages.iter().enumerate() {
        first.entry(m.case_id).or_insert(i);
    }
    for id in plan.new_cases.clone() {
        let (Some(&i), Some(case)) = (first.get(&id), plan.cases.get_mut(&id)) else {
            continue;
        };
        let m = &plan.messages[i];
        if m.direction != Direction::Inbound {
            continue;
        }
        let Some(acc) = account(case.account) else {
            continue;
        };
        let tz = acc.calendar.in_force(m.sent_at).time_zone();
        let facts = Facts {
            channel_kind: acc.kind,
            channel_account_id: case.account,
            visibility: m.visibility,
            text: &m.text,
            flags: &m.flags,
            theme: case.theme.as_deref(),
            kind: case.kind.as_deref().and_then(|k| k.parse().ok()),
            target_group: None,
            local: m.sent_at.with_timezone(&tz).naive_local(),
            within_opening_hours: acc.calendar.is_open(m.sent_at),
        };
        let Some(hit) = rules.set.first_match(&facts) else {
            continue;
        };
        let rule = &rules.rules[hit.index];
        let mut fields = Routable {
            team: case.team.clone(),
            priority: case.priority.parse().unwrap_or(Priority::Normal),
            theme: case.theme.clone(),
            kind: case.kind.as_deref().and_then(|k| k.parse().ok()),
            target_group: None,
            labels: Vec::new(),
        };
        rule.spec.actions.apply(&mut fields);
        case.team = fields.team;
        case.priority = fields.priority.as_str().to_owned();
        case.theme = fields.theme;
        case.kind = fields.kind.map(|k| k.as_str().to_owned());
        plan.routed.insert(
            id,
            Routed {
                by: RoutedBy {
                    version: rules.version,
                    rule_id: rule.id,
                },
                rule_name: rule.spec.name.clone(),
                reasons: hit.reasons,
                target_group: fields.target_group.map(|t| t.as_str().to_owned()),
                labels: fields.labels,
                department_id: rule.spec.actions.department_id,
                create_zaak: rule.spec.actions.create_zaak.clone(),
            },
        );
    }
}

fn record((version, from, rules, created_by): Row) -> RuleSetRecord {
    RuleSetRecord {
        version,
        effective_from: from_ms(from),
        rules: rules.0,
        created_by,
    }
}

#[async_trait]
impl<S: SqlCore> RoutingRules for S {
    async fn routing_rules(&self) -> Result<Option<RuleSetRecord>> {
        let row: Option<Row> = query(
            "SELECT version, effective_from, rules, created_by FROM routing_rule_sets \
             ORDER BY version DESC LIMIT 1",
        )
        .fetch_optional(self.db().read())
        .await?;
        Ok(row.map(record))
    }

    async fn routing_rules_at(&self, at: DateTime<Utc>) -> Result<Option<RuleSetRecord>> {
        let row: Option<Row> = query(
            "SELECT version, effective_from, rules, created_by FROM routing_rule_sets \
             WHERE effective_from <= $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(to_ms(at))
        .fetch_optional(self.db().read())
        .await?;
        Ok(row.map(record))
    }

    async fn save_routing_rules(&self, v: NewVersion<'_, [StoredRule]>) -> Result<RuleSetRecord> {
        let saved = versions::save(self.db(), &RULE_SETS, v).await;
        // Whatever happened, the next read looks again.
        self.routing().invalidate();
        let (version, effective_from) = saved?;
        Ok(RuleSetRecord {
            version,
            effective_from,
            rules: v.value.to_vec(),
            created_by: v.actor.to_owned(),
        })
    }
}
