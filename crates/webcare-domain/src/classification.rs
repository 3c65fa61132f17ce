//! The desk's classification lists (issue 16, DESIGN 3): themes, kinds (rubrieken) and target
//! groups, as the admin configures them, and the desk-wide theme rules (a theme before
//! resolving, spike detection). Pure: the store keeps the document, the desk applies it.
//!
//! A theme is free text on a case, so the admin may add themes and give each a UPL URI. Kinds
//! and target groups are fixed codes (retention terms, SLA policies and zaaktypen key on
//! them): the admin names them in Dutch and retires the ones the desk does not use. A retired
//! value is hidden from the pickers but stays valid on the cases that carry it, and in reports.

use crate::model::{CaseKind, TargetGroup, DEFAULT_THEMES};
use serde::{Deserialize, Serialize};

/// The longest name or label.
pub const MAX_NAME: usize = 100;
/// The longest UPL URI.
pub const MAX_URI: usize = 500;
/// The most entries in one list.
pub const MAX_ENTRIES: usize = 200;

/// One value of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Entry {
    /// What a case stores: a theme's name, a kind's or target group's code.
    pub name: String,
    /// The Dutch text shown in the pickers (absent: the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Themes only: the product in the Uniforme Productnamenlijst (an http(s) URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upl_uri: Option<String>,
    /// Hidden from pickers; kept on the cases that carry it and in reports.
    #[serde(default)]
    pub retired: bool,
}

impl Entry {
    fn named(name: &str, label: Option<&str>) -> Self {
        Entry {
            name: name.into(),
            label: label.map(str::to_owned),
            upl_uri: None,
            retired: false,
        }
    }

    /// What a picker shows.
    pub fn shown(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.name)
    }
}

/// Which list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListName {
    Themes,
    Kinds,
    TargetGroups,
}

impl ListName {
    /// The case field (and API parameter) the list governs.
    pub fn field(self) -> &'static str {
        match self {
            ListName::Themes => "theme",
            ListName::Kinds => "kind",
            ListName::TargetGroups => "targetGroup",
        }
    }

    /// The codes a fixed list must hold exactly (themes: any names).
    pub fn codes(self) -> Option<Vec<&'static str>> {
        match self {
            ListName::Themes => None,
            ListName::Kinds => Some(CaseKind::ALL.iter().map(|k| k.as_str()).collect()),
            ListName::TargetGroups => Some(TargetGroup::ALL.iter().map(|g| g.as_str()).collect()),
        }
    }
}

/// Spike detection (DESIGN 10: "spikes go to communications"): a theme's arrivals in the last
/// hour against its usual level in the same hour of the same weekday.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpikeRule {
    pub enabled: bool,
    /// A spike is more than this many times the usual level (1 to 100).
    pub factor: f64,
    /// And at least this many arrivals in the hour (1 to 10,000), so a quiet theme going from 0
    /// to 3 is no crisis.
    pub min_count: u32,
    /// The usual level is the mean of the same hour over this many previous weeks (1 to 52).
    pub weeks: u32,
}

impl Default for SpikeRule {
    fn default() -> Self {
        SpikeRule {
            enabled: true,
            factor: 3.0,
            min_count: 10,
            weeks: 4,
        }
    }
}

/// The whole configuration, stored as one versioned document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Classification {
    pub themes: Vec<Entry>,
    pub kinds: Vec<Entry>,
    pub target_groups: Vec<Entry>,
    /// A case needs a theme before it can be resolved.
    #[serde(default)]
    pub require_theme_to_resolve: bool,
    #[serde(default)]
    pub spike: SpikeRule,
}

impl Default for Classification {
    /// DESIGN section 3's lists, nothing required.
    fn default() -> Self {
        let kinds = [
            (CaseKind::Vraag, "Vraag"),
            (CaseKind::Melding, "Melding"),
            (CaseKind::Klacht, "Klacht"),
            (CaseKind::Compliment, "Compliment"),
            (CaseKind::Overig, "Overig"),
        ];
        let groups = [
            (TargetGroup::Burger, "Burger"),
            (TargetGroup::Bedrijf, "Bedrijf"),
            (TargetGroup::Organisatie, "Organisatie"),
        ];
        Classification {
            themes: DEFAULT_THEMES
                .iter()
                .map(|t| Entry::named(t, None))
                .collect(),
            kinds: kinds
                .iter()
                .map(|(k, l)| Entry::named(k.as_str(), Some(l)))
                .collect(),
            target_groups: groups
                .iter()
                .map(|(g, l)| Entry::named(g.as_str(), Some(l)))
                .collect(),
            require_theme_to_resolve: false,
            spike: SpikeRule::default(),
        }
    }
}

impl Classification {
    pub fn list(&self, l: ListName) -> &[Entry] {
        match l {
            ListName::Themes => &self.themes,
            ListName::Kinds => &self.kinds,
            ListName::TargetGroups => &self.target_groups,
        }
    }

    pub fn list_mut(&mut self, l: ListName) -> &mut Vec<Entry> {
        match l {
            ListName::Themes => &mut self.themes,
            ListName::Kinds => &mut self.kinds,
            ListName::TargetGroups => &mut self.target_groups,
        }
    }

    /// Whether a case may be set to `value`: an active entry, or the value the case already
    /// carries (retired since, or from before the list changed: setting it again changes nothing).
    pub fn allows(&self, l: ListName, value: &str, current: Option<&str>) -> bool {
        current == Some(value) || self.list(l).iter().any(|e| e.name == value && !e.retired)
    }

    /// What a picker offers on a case carrying `current`: the active entries, and the current
    /// value even when it is retired.
    pub fn offered(&self, l: ListName, current: Option<&str>) -> Vec<&Entry> {
        self.list(l)
            .iter()
            .filter(|e| !e.retired || current == Some(e.name.as_str()))
            .collect()
    }

    /// The active names, for an error's reason.
    pub fn active_names(&self, l: ListName) -> String {
        let names: Vec<&str> = self
            .list(l)
            .iter()
            .filter(|e| !e.retired)
            .map(|e| e.name.as_str())
            .collect();
        names.join(", ")
    }
}

/// What is wrong with a list or a rule: the field (`items[2].uplUri`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub code: &'static str,
    pub reason: String,
}

fn problem(field: String, code: &'static str, reason: impl Into<String>) -> Problem {
    Problem {
        field,
        code,
        reason: reason.into(),
    }
}

/// A name or label: 1 to [`MAX_NAME`] characters, no control characters, no space around it.
fn text_problem(field: String, s: &str) -> Option<Problem> {
    if s.trim().is_empty() || s.trim() != s {
        Some(problem(
            field,
            "invalid",
            "not empty, no leading or trailing space",
        ))
    } else if s.chars().count() > MAX_NAME {
        Some(problem(
            field,
            "too_long",
            format!("at most {MAX_NAME} characters"),
        ))
    } else if s.chars().any(char::is_control) {
        Some(problem(field, "invalid", "no control characters"))
    } else {
        None
    }
}

/// An absolute http(s) URL with a host and nothing a URL may not hold.
pub fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    let Some(rest) = rest else { return false };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_ok = !host.is_empty()
        && !host.starts_with(['.', '-', ':'])
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    host_ok
        && s.len() <= MAX_URI
        && s.chars().all(|c| c.is_ascii_graphic())
        && !s.contains(['<', '>', '"', '\\', '`', '{', '}', '|', '^'])
}

/// Checks a new list `l`: every name valid and unique (case-insensitively), labels valid, UPL
/// URIs (themes only) http(s) URLs; a fixed list holds exactly its codes.
pub fn check_list(l: ListName, items: &[Entry]) -> Vec<Problem> {
    let mut out = Vec::new();
    if items.len() > MAX_ENTRIES {
        out.push(problem(
            "items".into(),
            "too_many",
            format!("at most {MAX_ENTRIES} entries"),
        ));
        return out;
    }
    let mut seen = std::collections::HashSet::new();
    for (i, e) in items.iter().enumerate() {
        let at = |f: &str| format!("items[{i}].{f}");
        if let Some(p) = text_problem(at("name"), &e.name) {
            out.push(p);
        } else if !seen.insert(e.name.to_lowercase()) {
            out.push(problem(at("name"), "duplicate", "each name once"));
        }
        if let Some(p) = e
            .label
            .as_deref()
            .and_then(|s| text_problem(at("label"), s))
        {
            out.push(p);
        }
        match (&e.upl_uri, l) {
            (Some(_), ListName::Kinds | ListName::TargetGroups) => out.push(problem(
                at("uplUri"),
                "not_allowed",
                "only a theme has a UPL URI",
            )),
            (Some(u), ListName::Themes) if !is_http_url(u) => out.push(problem(
                at("uplUri"),
                "invalid",
                format!("an http(s) URL of at most {MAX_URI} characters"),
            )),
            _ => {}
        }
    }
    if let Some(codes) = l.codes() {
        let mut given: Vec<&str> = items.iter().map(|e| e.name.as_str()).collect();
        given.sort_unstable();
        let mut want = codes.clone();
        want.sort_unstable();
        if given != want {
            out.push(problem(
                "items".into(),
                "fixed_codes",
                format!(
                    "each of these codes once (rename with a label, hide with retired): {}",
                    codes.join(", ")
                ),
            ));
        }
    }
    if l == ListName::Themes && !items.iter().any(|e| !e.retired) {
        out.push(problem(
            "items".into(),
            "empty",
            "at least one active theme",
        ));
    }
    out
}

/// Checks the spike rule's bounds.
pub fn check_spike(r: &SpikeRule) -> Vec<Problem> {
    let mut out = Vec::new();
    if !(r.factor.is_finite() && (1.0..=100.0).contains(&r.factor)) {
        out.push(problem("spike.factor".into(), "invalid", "from 1 to 100"));
    }
    if !(1..=10_000).contains(&r.min_count) {
        out.push(problem(
            "spike.minCount".into(),
            "invalid",
            "from 1 to 10000",
        ));
    }
    if !(1..=52).contains(&r.weeks) {
        out.push(problem("spike.weeks".into(), "invalid", "from 1 to 52"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theme(name: &str) -> Entry {
        Entry::named(name, None)
    }

    #[test]
    fn the_defaults_are_design_section_3_and_valid() {
        let d = Classification::default();
        assert_eq!(d.themes.len(), 16);
        assert_eq!(d.kinds.len(), 5);
        assert_eq!(d.target_groups.len(), 3);
        for l in [ListName::Themes, ListName::Kinds, ListName::TargetGroups] {
            assert_eq!(check_list(l, d.list(l)), vec![], "{l:?}");
        }
        assert!(check_spike(&d.spike).is_empty());
    }

    #[test]
    fn a_retired_value_stays_on_its_case_only() {
        let mut d = Classification::default();
        d.themes[0].retired = true;
        let t = d.themes[0].name.clone();
        assert!(!d.allows(ListName::Themes, &t, None));
        assert!(!d.allows(ListName::Themes, &t, Some("Afval")));
        assert!(d.allows(ListName::Themes, &t, Some(&t)));
        assert!(!d.allows(ListName::Themes, "Onbekend", None));
        assert!(d.allows(ListName::Themes, "Afval", None));
        assert_eq!(d.offered(ListName::Themes, None).len(), 15);
        assert_eq!(d.offered(ListName::Themes, Some(&t)).len(), 16);
    }

    #[test]
    fn lists_are_checked() {
        let mut bad = theme("Afval");
        bad.upl_uri = Some("javascript:alert(1)".into());
        let p = check_list(ListName::Themes, &[bad, theme("afval"), theme(" x")]);
        let fields: Vec<&str> = p.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["items[0].uplUri", "items[1].name", "items[2].name"]
        );
        let mut ok = theme("Afval");
        ok.upl_uri = Some("http://standaarden.overheid.nl/owms/terms/afval".into());
        assert!(check_list(ListName::Themes, &[ok]).is_empty());
        // A fixed list holds its codes, no more, no fewer.
        let mut kinds = Classification::default().kinds;
        kinds.pop();
        assert_eq!(check_list(ListName::Kinds, &kinds)[0].code, "fixed_codes");
        kinds.push(theme("storing"));
        assert_eq!(check_list(ListName::Kinds, &kinds)[0].code, "fixed_codes");
    }

    #[test]
    fn urls() {
        for ok in [
            "https://a.nl",
            "http://x.example/p?q=1#f",
            "https://[::1]:8080/x",
        ] {
            assert!(is_http_url(ok), "{ok}");
        }
        for bad in [
            "",
            "ftp://a.nl",
            "https://",
            "https:// a.nl",
            "https://a.nl/<x>",
            "a.nl",
        ] {
            assert!(!is_http_url(bad), "{bad}");
        }
    }
}
