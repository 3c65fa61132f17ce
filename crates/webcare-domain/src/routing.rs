//! Routing rules (DESIGN 7): an ordered list over what a new case is (channel, theme, kind,
//! target group, words in the citizen's text, flags, day and time in the calendar's zone, within
//! or outside opening hours) whose first match decides its team, department, priority, labels and
//! suggestions. Pure: the caller supplies the facts (the local time and whether the desk is open
//! come from the SLA calendar), so the whole decision is tested without a database.
//!
//! Text matching is case- and accent-insensitive ("Café" matches "cafe"). A keyword is a word or
//! phrase matched on whole words; `lantaarn*` matches words that start with `lantaarn`, and
//! `*verlichting` words that end with it (Dutch compounds: "straatverlichting"). A pattern is a
//! regular expression, case-insensitive, over the text with its accents removed.

use crate::{CaseKind, ChannelKind, Priority, TargetGroup, Visibility};
use chrono::{NaiveDateTime, NaiveTime, Timelike, Weekday};
use serde::{Deserialize, Serialize};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

/// At most this many rules in a set; each a few conditions, so a set stays fast to evaluate.
pub const MAX_RULES: usize = 500;
/// A compiled pattern may use at most this much memory: no pattern can slow ingest down.
const PATTERN_SIZE_LIMIT: usize = 256 * 1024;

/// When a rule applies, relative to the calendar's opening hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OpeningHours {
    Within,
    Outside,
}

/// What a case must be for a rule to match. Every condition that is set must hold; a list
/// condition holds when any of its values does (`flags`: all of them). Empty means any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Conditions {
    pub channel_kinds: Vec<ChannelKind>,
    pub channel_account_ids: Vec<Uuid>,
    pub visibility: Option<Visibility>,
    pub themes: Vec<String>,
    pub kinds: Vec<CaseKind>,
    pub target_groups: Vec<TargetGroup>,
    /// Words or phrases; `woord*` and `*woord` match a word's start or end.
    pub keywords: Vec<String>,
    /// A regular expression over the text (case-insensitive, accents removed).
    pub pattern: Option<String>,
    /// Flags the message must carry, e.g. `bsn`.
    pub flags: Vec<String>,
    /// Days in the calendar's zone (`mon` ... `sun`).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub weekdays: Vec<Weekday>,
    /// From this local time (inclusive) ...
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "17:00:00"))]
    pub time_from: Option<NaiveTime>,
    /// ... to this one (exclusive); earlier than `timeFrom` wraps past midnight.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "08:30:00"))]
    pub time_to: Option<NaiveTime>,
    pub opening_hours: Option<OpeningHours>,
}

/// What a matching rule does to the case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Actions {
    pub team: Option<String>,
    /// Forward to this department (its agreed answer time starts).
    pub department_id: Option<Uuid>,
    pub priority: Option<Priority>,
    /// Theme, kind and target group fill a case that has none: a choice an agent made is kept.
    pub theme: Option<String>,
    pub kind: Option<CaseKind>,
    pub target_group: Option<TargetGroup>,
    /// Added to the case's labels.
    pub labels: Vec<String>,
    /// Create a zaak of this zaaktype (its URL in the Catalogi API).
    pub create_zaak: Option<String>,
}

/// The fields of a case that a rule's actions set (the forward and the zaak are effects the
/// caller carries out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routable {
    pub team: Option<String>,
    pub priority: Priority,
    pub theme: Option<String>,
    pub kind: Option<CaseKind>,
    pub target_group: Option<TargetGroup>,
    pub labels: Vec<String>,
}

impl Actions {
    /// Applies the actions to a case's fields: team and priority are set, theme, kind and
    /// target group only where the case has none, labels are added once each.
    pub fn apply(&self, c: &mut Routable) {
        if let Some(team) = &self.team {
            c.team = Some(team.clone());
        }
        if let Some(p) = self.priority {
            c.priority = p;
        }
        if c.theme.is_none() {
            c.theme.clone_from(&self.theme);
        }
        c.kind = c.kind.or(self.kind);
        c.target_group = c.target_group.or(self.target_group);
        for l in &self.labels {
            if !c.labels.contains(l) {
                c.labels.push(l.clone());
            }
        }
    }
}

/// One rule as the admin writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    #[serde(default)]
    pub conditions: Conditions,
    #[serde(default)]
    pub actions: Actions,
}

/// A new rule is enabled unless it says otherwise.
pub fn enabled_by_default() -> bool {
    true
}

/// What is known of a new case when the rules run.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub channel_kind: ChannelKind,
    pub channel_account_id: Uuid,
    pub visibility: Visibility,
    pub text: &'a str,
    pub flags: &'a [String],
    pub theme: Option<&'a str>,
    pub kind: Option<CaseKind>,
    pub target_group: Option<TargetGroup>,
    /// The message's time in the calendar's zone.
    pub local: NaiveDateTime,
    pub within_opening_hours: bool,
}

/// Why a rule set cannot be used; `field` names the place (`rules[2].conditions.pattern`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub field: String,
    pub code: &'static str,
    pub reason: String,
}

/// The first rule that matched, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub index: usize,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone)]
enum Word {
    Exact(Vec<String>),
    Prefix(String),
    Suffix(String),
}

#[derive(Debug, Clone)]
struct Compiled {
    spec: RuleSpec,
    words: Vec<Word>,
    pattern: Option<regex::Regex>,
    themes: Vec<String>,
    flags: Vec<String>,
}

/// A validated rule set, ready to evaluate many times.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Compiled>,
}

/// Lower case without accents, for comparing words.
pub fn fold(text: &str) -> String {
    strip_accents(text).to_lowercase()
}

fn strip_accents(text: &str) -> String {
    text.nfd().filter(|c| !is_combining_mark(*c)).collect()
}

/// The folded words of a text: runs of letters and digits.
fn words(folded: &str) -> Vec<&str> {
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

fn parse_keyword(k: &str) -> Option<Word> {
    let f = fold(k.trim());
    if let Some(rest) = f.strip_suffix('*') {
        let w = words(rest);
        return (w.len() == 1 && !rest.starts_with('*')).then(|| Word::Prefix(w[0].to_owned()));
    }
    if let Some(rest) = f.strip_prefix('*') {
        let w = words(rest);
        return (w.len() == 1).then(|| Word::Suffix(w[0].to_owned()));
    }
    let w: Vec<String> = words(&f).into_iter().map(str::to_owned).collect();
    (!w.is_empty()).then_some(Word::Exact(w))
}

impl Word {
    fn found_in(&self, text_words: &[&str]) -> bool {
        match self {
            Word::Exact(phrase) => text_words
                .windows(phrase.len())
                .any(|win| win.iter().zip(phrase).all(|(a, b)| *a == b)),
            Word::Prefix(p) => text_words.iter().any(|w| w.starts_with(p.as_str())),
            Word::Suffix(s) => text_words.iter().any(|w| w.ends_with(s.as_str())),
        }
    }
}

impl RuleSet {
    /// Checks and compiles `specs`; every problem is reported, not only the first.
    pub fn compile(specs: &[RuleSpec]) -> Result<RuleSet, Vec<RuleError>> {
        let mut errors = Vec::new();
        if specs.len() > MAX_RULES {
            errors.push(RuleError {
                field: "rules".into(),
                code: "too_many",
                reason: format!("at most {MAX_RULES} rules"),
            });
        }
        let mut rules = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            let at = |f: &str| format!("rules[{i}].{f}");
            let c = &spec.conditions;
            if spec.name.trim().is_empty() || spec.name.chars().count() > 200 {
                errors.push(RuleError {
                    field: at("name"),
                    code: "invalid",
                    reason: "a name of 1 to 200 characters".into(),
                });
            }
            // Bounded, so no rule set can make ingest slow or the store large.
            for (name, len, max) in [
                ("conditions.keywords", c.keywords.len(), 100),
                ("conditions.themes", c.themes.len(), 50),
                ("conditions.flags", c.flags.len(), 20),
                (
                    "conditions.channelAccountIds",
                    c.channel_account_ids.len(),
                    100,
                ),
                ("actions.labels", spec.actions.labels.len(), 20),
            ] {
                if len > max {
                    errors.push(RuleError {
                        field: at(name),
                        code: "too_many",
                        reason: format!("at most {max}"),
                    });
                }
            }
            if c.pattern.as_ref().is_some_and(|p| p.chars().count() > 500) {
                errors.push(RuleError {
                    field: at("conditions.pattern"),
                    code: "too_long",
                    reason: "at most 500 characters".into(),
                });
            }
            let mut words = Vec::new();
            for (k, kw) in c.keywords.iter().enumerate() {
                match parse_keyword(kw) {
                    Some(w) if kw.chars().count() <= 100 => words.push(w),
                    _ => errors.push(RuleError {
                        field: at(&format!("conditions.keywords[{k}]")),
                        code: "invalid_keyword",
                        reason: "a word or phrase of at most 100 characters; `*` only at its \
                                 start or end, around a single word"
                            .into(),
                    }),
                }
            }
            let pattern = match &c.pattern {
                None => None,
                Some(p) if p.chars().count() > 500 => None,
                Some(p) => match regex::RegexBuilder::new(&strip_accents(p))
                    .case_insensitive(true)
                    .size_limit(PATTERN_SIZE_LIMIT)
                    .build()
                {
                    Ok(r) => Some(r),
                    Err(e) => {
                        errors.push(RuleError {
                            field: at("conditions.pattern"),
                            code: "invalid_pattern",
                            reason: last_line(&e.to_string()),
                        });
                        None
                    }
                },
            };
            if let (Some(a), Some(b)) = (c.time_from, c.time_to) {
                if a == b {
                    errors.push(RuleError {
                        field: at("conditions.timeTo"),
                        code: "empty_interval",
                        reason: "must differ from timeFrom".into(),
                    });
                }
            }
            if spec.actions == Actions::default() {
                errors.push(RuleError {
                    field: at("actions"),
                    code: "no_action",
                    reason: "a rule must do something".into(),
                });
            }
            rules.push(Compiled {
                themes: c.themes.iter().map(|t| fold(t)).collect(),
                flags: c.flags.iter().map(|f| f.to_lowercase()).collect(),
                spec: spec.clone(),
                words,
                pattern,
            });
        }
        if errors.is_empty() {
            Ok(RuleSet { rules })
        } else {
            Err(errors)
        }
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn spec(&self, index: usize) -> Option<&RuleSpec> {
        self.rules.get(index).map(|r| &r.spec)
    }

    /// The first enabled rule whose conditions all hold, with the reasons it matched.
    pub fn first_match(&self, facts: &Facts<'_>) -> Option<Match> {
        // Folded once per message, not per rule.
        let folded = fold(facts.text);
        let text_words = words(&folded);
        let unaccented = std::cell::OnceCell::new();
        let flags: Vec<String> = facts.flags.iter().map(|f| f.to_lowercase()).collect();
        let theme = facts.theme.map(fold);
        for (index, r) in self.rules.iter().enumerate() {
            if !r.spec.enabled {
                continue;
            }
            let c = &r.spec.conditions;
            let mut reasons = Vec::new();
            if !c.channel_kinds.is_empty() {
                if !c.channel_kinds.contains(&facts.channel_kind) {
                    continue;
                }
                reasons.push(format!("kanaal {}", facts.channel_kind.as_str()));
            }
            if !c.channel_account_ids.is_empty() {
                if !c.channel_account_ids.contains(&facts.channel_account_id) {
                    continue;
                }
                reasons.push("kanaalaccount".to_owned());
            }
            if let Some(v) = c.visibility {
                if v != facts.visibility {
                    continue;
                }
                reasons.push(format!("zichtbaarheid {}", v.as_str()));
            }
            if !r.themes.is_empty() {
                match &theme {
                    Some(t) if r.themes.contains(t) => reasons.push(format!("thema {t}")),
                    _ => continue,
                }
            }
            if !c.kinds.is_empty() {
                match facts.kind {
                    Some(k) if c.kinds.contains(&k) => {
                        reasons.push(format!("soort {}", k.as_str()))
                    }
                    _ => continue,
                }
            }
            if !c.target_groups.is_empty() {
                match facts.target_group {
                    Some(g) if c.target_groups.contains(&g) => {
                        reasons.push(format!("doelgroep {}", g.as_str()))
                    }
                    _ => continue,
                }
            }
            if !r.flags.iter().all(|f| flags.contains(f)) {
                continue;
            }
            if !r.flags.is_empty() {
                reasons.push(format!("kenmerk {}", r.flags.join(", ")));
            }
            if !c.weekdays.is_empty() {
                let day = chrono::Datelike::weekday(&facts.local);
                if !c.weekdays.contains(&day) {
                    continue;
                }
                reasons.push(format!("dag {day}"));
            }
            if c.time_from.is_some() || c.time_to.is_some() {
                if !in_window(facts.local.time(), c.time_from, c.time_to) {
                    continue;
                }
                reasons.push(format!(
                    "tijd {:02}:{:02}",
                    facts.local.hour(),
                    facts.local.minute()
                ));
            }
            if let Some(o) = c.opening_hours {
                if (o == OpeningHours::Within) != facts.within_opening_hours {
                    continue;
                }
                reasons.push(
                    match o {
                        OpeningHours::Within => "binnen openingstijden",
                        OpeningHours::Outside => "buiten openingstijden",
                    }
                    .to_owned(),
                );
            }
            if !r.words.is_empty() {
                match r.words.iter().position(|w| w.found_in(&text_words)) {
                    Some(k) => reasons.push(format!("trefwoord '{}'", c.keywords[k])),
                    None => continue,
                }
            }
            if let Some(p) = &r.pattern {
                if !p.is_match(unaccented.get_or_init(|| strip_accents(facts.text))) {
                    continue;
                }
                reasons.push("patroon".to_owned());
            }
            return Some(Match { index, reasons });
        }
        None
    }
}

/// `[from, to)` in local time; `from > to` wraps past midnight; one side open is unbounded.
fn in_window(t: NaiveTime, from: Option<NaiveTime>, to: Option<NaiveTime>) -> bool {
    match (from, to) {
        (Some(a), Some(b)) if a <= b => a <= t && t < b,
        (Some(a), Some(b)) => t >= a || t < b,
        (Some(a), None) => t >= a,
        (None, Some(b)) => t < b,
        (None, None) => true,
    }
}

/// The regex crate's message ends with what is wrong; the lines before draw the pattern.
fn last_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("invalid")
        .to_owned()
}

#[cfg(test)]
mod tests;
