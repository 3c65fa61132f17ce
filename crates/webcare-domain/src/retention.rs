//! Retention (AVG art. 5(1)(e), DESIGN 11): how long a finished case keeps the citizen's words
//! and names, and which cases have expired at a given time. Pure: the store reads the cases and
//! the terms, this module decides.
//!
//! A term is counted in days from the case's closing: its close time, or its resolve time when
//! it was resolved and never closed. The defaults follow the Selectielijst gemeenten 2020
//! (VNG, `open-zaak/vng-selectielijst`, see `/work/shared/NL-GOV.md`): a plain question or
//! information ("Informeren", procestype 20; "Informatieverzoek" under 6) 1 year; a melding
//! ("Verzoeken behandelen", 6, ingewilligd; "Onderhouden en repareren", 15) and a klacht
//! ("Geschillen behandelen", 13) 5 years. The list has no class for a klantcontact without a
//! zaak, so a compliment, "overig" and an unclassified case take the 1-year term of
//! "Informeren", and every term is configurable per kind and per (kind, theme).

use crate::{CaseKind, CaseStatus};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest term the desk accepts (100 years): longer is a typo, not a policy.
pub const MAX_DAYS: u32 = 36_500;

/// One year in days, as the Selectielijst's `P1Y` (leap days are not worth a day of data).
pub const YEAR: u32 = 365;

/// A term for the cases of one kind with one theme (themes are configurable text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThemeTerm {
    pub kind: CaseKind,
    pub theme: String,
    pub days: u32,
}

/// The retention terms of one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Terms {
    /// The term of a case without a kind (and of a kind not listed).
    pub default_days: u32,
    /// Per kind.
    #[serde(default)]
    pub kinds: BTreeMap<CaseKind, u32>,
    /// Per kind and theme; wins over the kind's term.
    #[serde(default)]
    pub themes: Vec<ThemeTerm>,
    /// The audit's own term, counted from each row's time: older rows are deleted, except the
    /// record that a contact was erased. Versions stored before this term existed read the default.
    #[serde(default = "default_audit_days")]
    pub audit_days: u32,
}

/// Two years of "who did what, who read whose data": long enough to answer a citizen's question
/// about last year, short enough that the audit is no archive of its own.
pub const AUDIT_DAYS: u32 = 2 * YEAR;

fn default_audit_days() -> u32 {
    AUDIT_DAYS
}

impl Default for Terms {
    /// The Selectielijst's terms (see the module's documentation).
    fn default() -> Self {
        Terms {
            default_days: YEAR,
            kinds: BTreeMap::from([
                (CaseKind::Vraag, YEAR),
                (CaseKind::Melding, 5 * YEAR),
                (CaseKind::Klacht, 5 * YEAR),
                (CaseKind::Compliment, YEAR),
                (CaseKind::Overig, YEAR),
            ]),
            themes: Vec::new(),
            audit_days: AUDIT_DAYS,
        }
    }
}

/// Why a set of terms is refused: the field (as the API names it) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermError {
    pub field: String,
    pub reason: String,
}

impl Terms {
    /// Every reason the terms are refused (empty: they are valid).
    pub fn check(&self) -> Vec<TermError> {
        let mut out = Vec::new();
        let range = |field: String, days: u32, out: &mut Vec<TermError>| {
            if days == 0 || days > MAX_DAYS {
                out.push(TermError {
                    field,
                    reason: format!("a term of 1 to {MAX_DAYS} days"),
                });
            }
        };
        range("defaultDays".into(), self.default_days, &mut out);
        range("auditDays".into(), self.audit_days, &mut out);
        for (k, d) in &self.kinds {
            range(format!("kinds.{k}"), *d, &mut out);
        }
        for (i, t) in self.themes.iter().enumerate() {
            range(format!("themes[{i}].days"), t.days, &mut out);
            let theme = t.theme.trim();
            if theme.is_empty() || theme.chars().count() > 200 || theme != t.theme {
                out.push(TermError {
                    field: format!("themes[{i}].theme"),
                    reason: "1 to 200 characters, no leading or trailing spaces".into(),
                });
            }
            if self.themes[..i]
                .iter()
                .any(|o| o.kind == t.kind && o.theme == t.theme)
            {
                out.push(TermError {
                    field: format!("themes[{i}]"),
                    reason: "this kind and theme already have a term".into(),
                });
            }
        }
        out
    }

    /// The term in days of a case of `kind` with `theme`.
    pub fn days_for(&self, kind: Option<CaseKind>, theme: Option<&str>) -> u32 {
        let Some(kind) = kind else {
            return self.default_days;
        };
        if let Some(theme) = theme {
            if let Some(t) = self
                .themes
                .iter()
                .find(|t| t.kind == kind && t.theme == theme)
            {
                return t.days;
            }
        }
        self.kinds.get(&kind).copied().unwrap_or(self.default_days)
    }

    /// The shortest term any case of `kind` can have (any theme): a case of that kind closed
    /// later than `now` minus this cannot have expired, so the store need not read it.
    pub fn shortest_for(&self, kind: Option<CaseKind>) -> u32 {
        let base = self.days_for(kind, None);
        match kind {
            None => base,
            Some(k) => self
                .themes
                .iter()
                .filter(|t| t.kind == k)
                .map(|t| t.days)
                .fold(base, u32::min),
        }
    }
}

/// A version of the terms: it applies from `effective_from` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsVersion {
    pub version: i64,
    pub effective_from: DateTime<Utc>,
    pub terms: Terms,
}

/// The terms in force at `at`: the newest version that took effect by then, else the defaults.
pub fn in_force(versions: &[TermsVersion], at: DateTime<Utc>) -> Terms {
    versions
        .iter()
        .filter(|v| v.effective_from <= at)
        .max_by_key(|v| (v.effective_from, v.version))
        .map(|v| v.terms.clone())
        .unwrap_or_default()
}

/// What retention looks at in a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFacts<'a> {
    pub status: CaseStatus,
    pub kind: Option<CaseKind>,
    pub theme: Option<&'a str>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// A legal hold on the case or on its contact.
    pub held: bool,
    /// Already anonymised.
    pub anonymised: bool,
}

/// When a finished case closed: its close time, else its resolve time; `None` while it is
/// not finished (a reopened case's old times do not count).
pub fn closing(
    status: CaseStatus,
    resolved_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    match status {
        CaseStatus::Closed => closed_at.or(resolved_at),
        CaseStatus::Resolved => resolved_at,
        _ => None,
    }
}

/// When the case's term ends (`None`: it is not finished, so its term has not started).
pub fn expires_at(c: &CaseFacts<'_>, terms: &Terms) -> Option<DateTime<Utc>> {
    let closed = closing(c.status, c.resolved_at, c.closed_at)?;
    Some(closed + Duration::days(i64::from(terms.days_for(c.kind, c.theme))))
}

/// Whether the case is to be anonymised at `now`: finished, its term over, not held and not
/// anonymised already.
pub fn expired(c: &CaseFacts<'_>, terms: &Terms, now: DateTime<Utc>) -> bool {
    !c.held && !c.anonymised && expires_at(c, terms).is_some_and(|end| end <= now)
}

/// When the retention worker may run: local times `start` to `end` (wrapping past midnight when
/// `end` is earlier), or always.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Always,
    Between {
        start: chrono::NaiveTime,
        end: chrono::NaiveTime,
    },
}

impl Window {
    /// `"01:00-05:00"`, or `"always"`.
    pub fn parse(s: &str) -> Result<Window, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("always") {
            return Ok(Window::Always);
        }
        let bad = || format!("'{s}' is not a window: use HH:MM-HH:MM (local time) or always");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let time =
            |t: &str| chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
        let (start, end) = (time(a)?, time(b)?);
        if start == end {
            return Err(bad());
        }
        Ok(Window::Between { start, end })
    }

    /// Whether local time `t` lies in the window (start included, end excluded).
    pub fn contains(self, t: chrono::NaiveTime) -> bool {
        match self {
            Window::Always => true,
            Window::Between { start, end } if start < end => start <= t && t < end,
            Window::Between { start, end } => t >= start || t < end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(days: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap() + Duration::days(days)
    }

    fn case(status: CaseStatus, kind: Option<CaseKind>, closed: i64) -> CaseFacts<'static> {
        CaseFacts {
            status,
            kind,
            theme: None,
            resolved_at: Some(t(closed)),
            closed_at: None,
            held: false,
            anonymised: false,
        }
    }

    #[test]
    fn the_selectielijst_defaults() {
        let d = Terms::default();
        assert!(d.check().is_empty());
        assert_eq!(d.days_for(Some(CaseKind::Vraag), None), 365);
        assert_eq!(d.days_for(Some(CaseKind::Melding), Some("Afval")), 1825);
        assert_eq!(d.days_for(Some(CaseKind::Klacht), None), 1825);
        assert_eq!(d.days_for(None, None), 365);
    }

    #[test]
    fn a_question_expires_after_a_year_a_melding_after_five() {
        let terms = Terms::default();
        let q = case(CaseStatus::Resolved, Some(CaseKind::Vraag), 0);
        assert!(!expired(&q, &terms, t(364)));
        assert!(expired(&q, &terms, t(365)));
        let m = case(CaseStatus::Closed, Some(CaseKind::Melding), 0);
        assert!(!expired(&m, &terms, t(1824)));
        assert!(expired(&m, &terms, t(1825)));
        // Open cases, held cases and anonymised ones never expire.
        assert!(!expired(
            &case(CaseStatus::Open, Some(CaseKind::Vraag), 0),
            &terms,
            t(9000)
        ));
        assert!(!expired(
            &CaseFacts {
                held: true,
                ..q.clone()
            },
            &terms,
            t(9000)
        ));
        assert!(!expired(
            &CaseFacts {
                anonymised: true,
                ..q
            },
            &terms,
            t(9000)
        ));
    }

    #[test]
    fn a_theme_term_wins_over_its_kind() {
        let terms = Terms {
            themes: vec![ThemeTerm {
                kind: CaseKind::Melding,
                theme: "Afval".into(),
                days: 30,
            }],
            ..Terms::default()
        };
        assert_eq!(terms.days_for(Some(CaseKind::Melding), Some("Afval")), 30);
        assert_eq!(terms.days_for(Some(CaseKind::Melding), Some("Wonen")), 1825);
        assert_eq!(terms.days_for(Some(CaseKind::Vraag), Some("Afval")), 365);
        assert_eq!(terms.shortest_for(Some(CaseKind::Melding)), 30);
        assert_eq!(terms.shortest_for(Some(CaseKind::Vraag)), 365);
    }

    #[test]
    fn terms_stored_before_the_audit_term_read_the_default() {
        let old: Terms =
            serde_json::from_value(serde_json::json!({"defaultDays": 30, "kinds": {}})).unwrap();
        assert_eq!(old.audit_days, AUDIT_DAYS);
        assert_eq!(Terms::default().audit_days, 730);
    }

    #[test]
    fn bad_terms_are_named() {
        let terms = Terms {
            default_days: 0,
            audit_days: 0,
            kinds: BTreeMap::from([(CaseKind::Vraag, MAX_DAYS + 1)]),
            themes: vec![
                ThemeTerm {
                    kind: CaseKind::Melding,
                    theme: " Afval".into(),
                    days: 10,
                },
                ThemeTerm {
                    kind: CaseKind::Melding,
                    theme: " Afval".into(),
                    days: 10,
                },
            ],
        };
        let fields: Vec<String> = terms.check().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "defaultDays",
                "auditDays",
                "kinds.vraag",
                "themes[0].theme",
                "themes[1].theme",
                "themes[1]"
            ]
        );
    }

    #[test]
    fn the_version_in_force_is_the_newest_that_took_effect() {
        let v = |version, from, days| TermsVersion {
            version,
            effective_from: t(from),
            terms: Terms {
                default_days: days,
                ..Terms::default()
            },
        };
        let versions = [v(1, 0, 10), v(2, 100, 20)];
        assert_eq!(in_force(&versions, t(-1)), Terms::default());
        assert_eq!(in_force(&versions, t(50)).default_days, 10);
        assert_eq!(in_force(&versions, t(100)).default_days, 20);
    }

    #[test]
    fn windows_are_read_and_wrap_past_midnight() {
        let at = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let night = Window::parse("01:00-05:00").unwrap();
        assert!(night.contains(at(1, 0)) && night.contains(at(4, 59)));
        assert!(!night.contains(at(5, 0)) && !night.contains(at(0, 59)));
        let late = Window::parse("22:30 - 04:00").unwrap();
        assert!(late.contains(at(23, 0)) && late.contains(at(3, 0)));
        assert!(!late.contains(at(12, 0)));
        assert!(Window::parse("always").unwrap().contains(at(12, 0)));
        for bad in ["", "1-5", "01:00", "01:00-01:00", "25:00-01:00"] {
            assert!(Window::parse(bad).is_err(), "{bad}");
        }
    }

    fn any_kind() -> impl Strategy<Value = Option<CaseKind>> {
        prop::option::of(prop::sample::select(CaseKind::ALL.to_vec()))
    }

    fn any_status() -> impl Strategy<Value = CaseStatus> {
        prop::sample::select(CaseStatus::ALL.to_vec())
    }

    fn any_terms() -> impl Strategy<Value = Terms> {
        (
            1..3000u32,
            prop::collection::btree_map(
                prop::sample::select(CaseKind::ALL.to_vec()),
                1..3000u32,
                0..5,
            ),
            prop::collection::vec(
                (
                    prop::sample::select(CaseKind::ALL.to_vec()),
                    prop::sample::select(vec!["Afval", "Wonen"]),
                    1..3000u32,
                ),
                0..3,
            ),
        )
            .prop_map(|(default_days, kinds, themes)| Terms {
                audit_days: AUDIT_DAYS,
                default_days,
                kinds,
                themes: themes
                    .into_iter()
                    .map(|(kind, theme, days)| ThemeTerm {
                        kind,
                        theme: theme.into(),
                        days,
                    })
                    .collect(),
            })
    }

    proptest! {
        /// Expiry is monotone in time: once expired, a case stays expired; and it happens
        /// exactly at closing plus the term.
        #[test]
        fn expiry_is_the_closing_plus_the_term(
            terms in any_terms(),
            kind in any_kind(),
            theme in prop::option::of(prop::sample::select(vec!["Afval", "Wonen", "Burgerzaken"])),
            status in any_status(),
            resolved in prop::option::of(-4000i64..4000),
            closed in prop::option::of(-4000i64..4000),
            held in any::<bool>(),
            now in -4000i64..8000,
            later in 0i64..4000,
        ) {
            let c = CaseFacts {
                status, kind, theme, held, anonymised: false,
                resolved_at: resolved.map(t), closed_at: closed.map(t),
            };
            let done = closing(status, c.resolved_at, c.closed_at);
            let want = !held && done.is_some_and(|d| {
                d + Duration::days(i64::from(terms.days_for(kind, theme))) <= t(now)
            });
            prop_assert_eq!(expired(&c, &terms, t(now)), want);
            if expired(&c, &terms, t(now)) {
                prop_assert!(expired(&c, &terms, t(now + later)));
            }
            // Only finished cases have a closing.
            prop_assert_eq!(
                done.is_some(),
                matches!(status, CaseStatus::Resolved | CaseStatus::Closed)
                    && (resolved.is_some() || (status == CaseStatus::Closed && closed.is_some()))
            );
        }

        /// The store's pre-selection (closed before now minus the kind's shortest term) never
        /// leaves out a case that has expired.
        #[test]
        fn the_shortest_term_is_a_safe_preselection(
            terms in any_terms(),
            kind in any_kind(),
            theme in prop::option::of(prop::sample::select(vec!["Afval", "Wonen"])),
        ) {
            prop_assert!(terms.shortest_for(kind) <= terms.days_for(kind, theme));
        }

        /// Generated terms within range are accepted; the defaults are one of them.
        #[test]
        fn valid_terms_pass_the_check(terms in any_terms()) {
            let dup = terms.themes.iter().enumerate().any(|(i, a)| {
                terms.themes[..i].iter().any(|b| a.kind == b.kind && a.theme == b.theme)
            });
            prop_assert_eq!(terms.check().is_empty(), !dup);
        }
    }
}
