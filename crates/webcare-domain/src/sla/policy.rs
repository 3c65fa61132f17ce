//! SLA policies: which norms apply to a case. Policies are versioned by `(name, effectiveFrom)`;
//! at any instant each name has at most one version in force (the latest effective at or before
//! it; a name whose versions all lie in the future does not apply yet). Among the versions in
//! force, the lowest `order` whose every present match key equals the case's facts wins.

use crate::model::{CaseKind, ChannelKind, Priority};
use crate::sla::calendar::walk::HORIZON_SECONDS;
use crate::sla::error::FieldError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Whether a norm counts opening hours only or every minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MinutesKind {
    #[default]
    Business,
    Calendar,
}

/// Match keys; an absent key matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PolicyMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_kind: Option<ChannelKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_account_id: Option<Uuid>,
    /// Not blank; omit it to match any theme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"\S"))]
    pub theme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<CaseKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
}

/// One version of a named policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SlaPolicy {
    /// Not blank, at most 200 characters.
    #[cfg_attr(feature = "openapi", schema(max_length = 200, pattern = r"\S"))]
    pub name: String,
    /// Lower is tried first.
    pub order: i32,
    #[serde(default)]
    pub r#match: PolicyMatch,
    /// Calendar for business minutes; `None` leaves the choice to the caller (e.g. the channel
    /// account's calendar). It must exist.
    #[serde(default)]
    pub calendar_id: Option<Uuid>,
    /// 1 minute to ten years.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 5_260_320))]
    pub reaction_minutes: Option<u32>,
    /// 1 minute to ten years.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 5_260_320))]
    pub resolution_minutes: Option<u32>,
    /// 1 minute to ten years.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 5_260_320))]
    pub department_minutes: Option<u32>,
    #[serde(default)]
    pub minutes_kind: MinutesKind,
    /// Fraction of the budget after which a clock turns to warning, in (0, 1); default 0.8.
    #[serde(default = "default_warning_at")]
    #[cfg_attr(
        feature = "openapi",
        schema(exclusive_minimum = 0.0, exclusive_maximum = 1.0, default = 0.8)
    )]
    pub warning_at: f64,
    pub effective_from: DateTime<Utc>,
}

/// The design's default warning threshold: 80 % of the budget.
pub const DEFAULT_WARNING_AT: f64 = 0.8;

fn default_warning_at() -> f64 {
    DEFAULT_WARNING_AT
}

/// What a policy can match on, as known about the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFacts {
    pub channel_kind: ChannelKind,
    pub channel_account_id: Uuid,
    /// `None` while unclassified; a policy keyed on theme then does not match.
    pub theme: Option<String>,
    pub kind: Option<CaseKind>,
    pub priority: Priority,
}

impl PolicyMatch {
    /// Every present key must equal the fact.
    pub fn matches(&self, facts: &CaseFacts) -> bool {
        self.channel_kind.is_none_or(|k| k == facts.channel_kind)
            && self
                .channel_account_id
                .is_none_or(|id| id == facts.channel_account_id)
            && self
                .theme
                .as_deref()
                .is_none_or(|t| facts.theme.as_deref() == Some(t))
            && self.kind.is_none_or(|k| facts.kind == Some(k))
            && self.priority.is_none_or(|p| p == facts.priority)
    }
}

impl SlaPolicy {
    /// Whether this version is the one of its name in force at `at` among `all`.
    fn in_force(&self, all: &[SlaPolicy], at: DateTime<Utc>) -> bool {
        self.effective_from <= at
            && !all.iter().any(|p| {
                p.name == self.name
                    && p.effective_from > self.effective_from
                    && p.effective_from <= at
            })
    }

    /// Checks one policy's own fields.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() {
            errors.push(FieldError::new("name", "required", "a policy needs a name"));
        }
        if !(self.warning_at > 0.0 && self.warning_at < 1.0) {
            errors.push(FieldError::new(
                "warningAt",
                "out_of_range",
                format!(
                    "warningAt must lie strictly between 0 and 1, got {}",
                    self.warning_at
                ),
            ));
        }
        let max_minutes = HORIZON_SECONDS / 60;
        for (name, value) in [
            ("reactionMinutes", self.reaction_minutes),
            ("resolutionMinutes", self.resolution_minutes),
            ("departmentMinutes", self.department_minutes),
        ] {
            match value {
                Some(0) => errors.push(FieldError::new(
                    name,
                    "out_of_range",
                    "must be at least 1 minute",
                )),
                Some(m) if i64::from(m) > max_minutes => errors.push(FieldError::new(
                    name,
                    "out_of_range",
                    format!("must be at most {max_minutes} minutes (ten years)"),
                )),
                _ => {}
            }
        }
        if self
            .r#match
            .theme
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            errors.push(FieldError::new(
                "match.theme",
                "invalid",
                "theme must not be blank; omit it to match any theme",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Checks every policy and that no two versions share a name and effective instant. Paths are
/// prefixed with the policy's index, e.g. `[2].warningAt`.
pub fn validate_policies(policies: &[SlaPolicy]) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    for (i, p) in policies.iter().enumerate() {
        if let Err(errs) = p.validate() {
            errors.extend(errs.into_iter().map(|mut e| {
                e.name = format!("[{i}].{}", e.name);
                e
            }));
        }
        if policies[..i]
            .iter()
            .any(|q| q.name == p.name && q.effective_from == p.effective_from)
        {
            errors.push(FieldError::new(
                format!("[{i}].effectiveFrom"),
                "duplicate_version",
                format!(
                    "policy '{}' already has a version effective from {}",
                    p.name, p.effective_from
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The policy that applies to a case with `facts` at `at`: per name the version in force, then
/// the lowest `order` (ties broken by name) whose match keys all hold.
pub fn select_policy<'a>(
    policies: &'a [SlaPolicy],
    facts: &CaseFacts,
    at: DateTime<Utc>,
) -> Option<&'a SlaPolicy> {
    policies
        .iter()
        .filter(|p| p.r#match.matches(facts) && p.in_force(policies, at))
        .min_by(|a, b| a.order.cmp(&b.order).then_with(|| a.name.cmp(&b.name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    fn policy(name: &str, order: i32, from: DateTime<Utc>) -> SlaPolicy {
        SlaPolicy {
            name: name.into(),
            order,
            r#match: PolicyMatch::default(),
            calendar_id: None,
            reaction_minutes: Some(120),
            resolution_minutes: None,
            department_minutes: None,
            minutes_kind: MinutesKind::Business,
            warning_at: DEFAULT_WARNING_AT,
            effective_from: from,
        }
    }

    fn facts() -> CaseFacts {
        CaseFacts {
            channel_kind: ChannelKind::Whatsapp,
            channel_account_id: Uuid::nil(),
            theme: Some("Afval".into()),
            kind: Some(CaseKind::Melding),
            priority: Priority::Normal,
        }
    }

    #[test]
    fn first_match_by_order_wins() {
        let mut urgent = policy("urgent", 1, at(2025, 1, 1));
        urgent.r#match.priority = Some(Priority::Urgent);
        let mut afval = policy("afval", 2, at(2025, 1, 1));
        afval.r#match.theme = Some("Afval".into());
        afval.r#match.channel_kind = Some(ChannelKind::Whatsapp);
        let default = policy("default", 100, at(2025, 1, 1));
        let all = [default, afval, urgent];
        let now = at(2026, 1, 1);
        assert_eq!(select_policy(&all, &facts(), now).unwrap().name, "afval");
        let mut f = facts();
        f.priority = Priority::Urgent;
        assert_eq!(select_policy(&all, &f, now).unwrap().name, "urgent");
        f.theme = None;
        f.priority = Priority::Low;
        assert_eq!(select_policy(&all, &f, now).unwrap().name, "default");
    }

    #[test]
    fn kind_and_account_keys() {
        let mut klacht = policy("klacht", 1, at(2025, 1, 1));
        klacht.r#match.kind = Some(CaseKind::Klacht);
        let mut account = policy("account", 2, at(2025, 1, 1));
        account.r#match.channel_account_id = Some(Uuid::from_u128(7));
        let all = [klacht, account];
        assert!(select_policy(&all, &facts(), at(2026, 1, 1)).is_none());
        let mut f = facts();
        f.channel_account_id = Uuid::from_u128(7);
        assert_eq!(
            select_policy(&all, &f, at(2026, 1, 1)).unwrap().name,
            "account"
        );
        f.kind = Some(CaseKind::Klacht);
        assert_eq!(
            select_policy(&all, &f, at(2026, 1, 1)).unwrap().name,
            "klacht"
        );
    }

    #[test]
    fn versions_apply_from_their_effective_instant() {
        let old = policy("default", 10, at(2025, 1, 1));
        let mut new = policy("default", 10, at(2026, 3, 1));
        new.reaction_minutes = Some(240);
        let later = policy("future", 1, at(2030, 1, 1));
        let all = [new, old, later];
        let pick = |t| select_policy(&all, &facts(), t).map(|p| p.reaction_minutes);
        assert_eq!(pick(at(2024, 12, 31)), None, "nothing in force yet");
        assert_eq!(pick(at(2025, 6, 1)), Some(Some(120)));
        assert_eq!(
            pick(at(2026, 3, 1)),
            Some(Some(240)),
            "effective instant is inclusive"
        );
        assert_eq!(
            select_policy(&all, &facts(), at(2031, 1, 1)).unwrap().name,
            "future"
        );
    }

    #[test]
    fn newer_version_with_other_match_hides_older_one() {
        let old = policy("p", 1, at(2025, 1, 1));
        let mut new = policy("p", 1, at(2026, 1, 1));
        new.r#match.priority = Some(Priority::Urgent);
        let fallback = policy("z", 5, at(2025, 1, 1));
        let all = [old, new, fallback];
        assert_eq!(
            select_policy(&all, &facts(), at(2026, 6, 1)).unwrap().name,
            "z"
        );
        assert_eq!(
            select_policy(&all, &facts(), at(2025, 6, 1)).unwrap().name,
            "p"
        );
    }

    #[test]
    fn validation() {
        let mut p = policy("", 1, at(2025, 1, 1));
        p.warning_at = 1.0;
        p.reaction_minutes = Some(0);
        p.resolution_minutes = Some(u32::MAX);
        p.r#match.theme = Some(" ".into());
        let errs = p.validate().unwrap_err();
        let names: Vec<_> = errs.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "name",
                "warningAt",
                "reactionMinutes",
                "resolutionMinutes",
                "match.theme"
            ]
        );
        let mut nan = policy("x", 1, at(2025, 1, 1));
        nan.warning_at = f64::NAN;
        assert!(nan.validate().is_err());
        assert!(policy("x", 1, at(2025, 1, 1)).validate().is_ok());

        let dup = [
            policy("a", 1, at(2025, 1, 1)),
            policy("a", 2, at(2025, 1, 1)),
        ];
        let errs = validate_policies(&dup).unwrap_err();
        assert_eq!(errs[0].name, "[1].effectiveFrom");
        assert_eq!(errs[0].code, "duplicate_version");
    }

    #[test]
    fn json_shape() {
        let json = r#"{"name":"default","order":1,"match":{"channelKind":"whatsapp","priority":"urgent"},
            "reactionMinutes":120,"effectiveFrom":"2026-01-01T00:00:00Z"}"#;
        let p: SlaPolicy = serde_json::from_str(json).unwrap();
        assert_eq!(p.warning_at, DEFAULT_WARNING_AT);
        assert_eq!(p.minutes_kind, MinutesKind::Business);
        assert_eq!(p.r#match.channel_kind, Some(ChannelKind::Whatsapp));
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["match"]["priority"], "urgent");
        assert_eq!(v["minutesKind"], "business");
        assert_eq!(v["warningAt"], 0.8);
        assert!(v["match"].get("theme").is_none());
    }
}
