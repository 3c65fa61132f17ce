//! The cost model (DESIGN 10, the research's section 8.2): what the webcare desk costs a year, per
//! period and per answered question. Pure: the store keeps the versions, this module computes.
//!
//! A model is a list of lines, each either staff (hours a week at a yearly salary) or a fixed
//! amount a year or a month. A staff line costs its fte times the salary, where fte = hours / 36
//! (a full week), **rounded up to 0.01 fte**, and the line is rounded to whole euros: that is how
//! the research's table arrives at its figures (15 h = 0.42 fte, 0.5 h = 0.02 fte; 0.06 fte x
//! 48,263 = 2,896), and with it the defaults add up to its EUR 49,410 a year. The research states
//! a cost per answered question rounded to ten cents (20.59 is "20.60", 16.47 is "16.50"); the
//! desk reports cents ([`per_unit_cents`]) and offers the research's rounding separately
//! ([`to_ten_cents`]).
//!
//! A period's cost is prorated by days: each day (in Europe/Amsterdam) costs the yearly total of
//! the version in force that day divided by the days of its year (365 or 366), so a calendar year
//! costs exactly the yearly total; a part of a day counts by its share of the day's seconds.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Amsterdam;
use serde::{Deserialize, Serialize};

/// A full working week (the research's fte).
pub const FTE_HOURS_PER_WEEK: f64 = 36.0;
/// Net working hours of one fte a year (after leave, illness and training): an hour of measured
/// handling costs a 1,440th of a yearly salary.
pub const NET_HOURS_PER_YEAR: f64 = 1440.0;
/// The most lines a model has.
pub const MAX_LINES: usize = 100;
/// The longest line name.
pub const MAX_NAME: usize = 200;
/// The largest amount or salary accepted (EUR 100 million): more is a typo.
pub const MAX_AMOUNT: f64 = 100_000_000.0;
/// The most hours a week a staff line may have (ten full-time people is already a large desk;
/// a week has 168 hours, one line may stand for several people).
pub const MAX_HOURS_PER_WEEK: f64 = 10_000.0;

/// What a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum LineKind {
    /// Hours a week of people at a yearly salary (`hoursPerWeek`, `yearlySalary`).
    Staff,
    /// A fixed amount (`amount`) a year or a month (`per`).
    Fixed,
}

/// How often a fixed amount is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum Per {
    Year,
    Month,
}

/// One line of the model. Amounts in euros with at most two decimals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CostLine {
    /// What the line is for (1 to 200 characters), e.g. "Webcaremedewerkers (schaal 7)".
    pub name: String,
    pub kind: LineKind,
    /// Staff: hours a week (more than 0, at most two decimals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours_per_week: Option<f64>,
    /// Staff: the yearly salary of one fte, in euros.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yearly_salary: Option<f64>,
    /// Fixed: the amount in euros, paid `per` year or month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<Per>,
}

impl CostLine {
    /// A staff line.
    pub fn staff(name: &str, hours_per_week: f64, yearly_salary: f64) -> CostLine {
        CostLine {
            name: name.into(),
            kind: LineKind::Staff,
            hours_per_week: Some(hours_per_week),
            yearly_salary: Some(yearly_salary),
            amount: None,
            per: None,
        }
    }

    /// A fixed amount.
    pub fn fixed(name: &str, amount: f64, per: Per) -> CostLine {
        CostLine {
            name: name.into(),
            kind: LineKind::Fixed,
            hours_per_week: None,
            yearly_salary: None,
            amount: Some(amount),
            per: Some(per),
        }
    }

    /// A staff line's fte in hundredths: hours / 36, rounded up (see the module).
    pub fn fte_hundredths(&self) -> i64 {
        let hours = cents(self.hours_per_week.unwrap_or(0.0));
        // hours (in hundredths) / 36 = fte in hundredths; rounded up.
        (hours + 35).div_euclid(36)
    }

    /// What the line costs a year, in cents.
    pub fn yearly_cents(&self) -> i64 {
        match self.kind {
            LineKind::Staff => {
                let salary = cents(self.yearly_salary.unwrap_or(0.0));
                // fte x salary, rounded half up to whole euros (the research's table).
                let c = i128::from(self.fte_hundredths()) * i128::from(salary);
                let euros = (c + 5_000) / 10_000;
                (euros * 100) as i64
            }
            LineKind::Fixed => {
                let amount = cents(self.amount.unwrap_or(0.0));
                match self.per.unwrap_or(Per::Year) {
                    Per::Year => amount,
                    Per::Month => amount * 12,
                }
            }
        }
    }
}

/// A euro (or hour) amount in hundredths, rounded half away from zero.
fn cents(v: f64) -> i64 {
    (v * 100.0).round() as i64
}

/// Whether `v` has at most two decimals (within float noise).
fn two_decimals(v: f64) -> bool {
    ((v * 100.0) - (v * 100.0).round()).abs() < 1e-6
}

/// A cost model: its lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CostModel {
    /// At most 100; any line may be left out (an empty model costs nothing).
    pub lines: Vec<CostLine>,
}

/// Why a model is refused: the field (as the API names it, `lines[2].amount`) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostError {
    pub field: String,
    pub reason: String,
}

impl Default for CostModel {
    /// The research's model (section 8.2), EUR 49,410 a year.
    fn default() -> Self {
        const SCALE_7: f64 = 29_250.0;
        const SCALE_11: f64 = 48_263.0;
        CostModel {
            lines: vec![
                CostLine::staff("Webcaremedewerkers (schaal 7)", 15.0, SCALE_7),
                CostLine::staff("Leidinggevende (schaal 11)", 2.0, SCALE_11),
                CostLine::staff("Aanverwante taken (schaal 11)", 9.0, SCALE_11),
                CostLine::staff("Interne training (schaal 11)", 0.5, SCALE_11),
                CostLine::staff("Gebruikersondersteuning (schaal 11)", 1.0, SCALE_11),
                CostLine::fixed("Loopbaanbudget", 500.0, Per::Year),
                CostLine::fixed("Externe training (2 x 750)", 1_500.0, Per::Year),
                CostLine::fixed("Licentie webcaretool", 1_250.0, Per::Month),
                CostLine::fixed("Advertenties Facebook", 500.0, Per::Year),
                CostLine::fixed("Prijzen (acties)", 250.0, Per::Year),
                CostLine::fixed("Piketvergoeding", 2_000.0, Per::Year),
            ],
        }
    }
}

impl CostModel {
    /// What the model costs a year, in cents.
    pub fn yearly_cents(&self) -> i64 {
        self.lines.iter().map(CostLine::yearly_cents).sum()
    }

    /// Every reason the model is refused (empty: it is valid), one per bad field.
    pub fn check(&self) -> Vec<CostError> {
        let mut out = Vec::new();
        if self.lines.len() > MAX_LINES {
            out.push(CostError {
                field: "lines".into(),
                reason: format!("at most {MAX_LINES} lines"),
            });
            return out;
        }
        for (i, l) in self.lines.iter().enumerate() {
            let mut bad = |f: &str, reason: &str| {
                out.push(CostError {
                    field: format!("lines[{i}].{f}"),
                    reason: reason.into(),
                })
            };
            let name = l.name.trim();
            if name.is_empty() || l.name.chars().count() > MAX_NAME {
                bad("name", "1 to 200 characters");
            }
            let money = |v: Option<f64>, max: f64, positive: bool| match v {
                None => Some("required for this kind of line"),
                Some(v) if !v.is_finite() || v < 0.0 || v > max || (positive && cents(v) < 1) => {
                    Some(if positive {
                        "more than 0, within the accepted range"
                    } else {
                        "0 or more, within the accepted range"
                    })
                }
                Some(v) if !two_decimals(v) => Some("at most two decimals"),
                _ => None,
            };
            match l.kind {
                LineKind::Staff => {
                    if let Some(r) = money(l.hours_per_week, MAX_HOURS_PER_WEEK, true) {
                        bad("hoursPerWeek", r);
                    }
                    if let Some(r) = money(l.yearly_salary, MAX_AMOUNT, false) {
                        bad("yearlySalary", r);
                    }
                    if l.amount.is_some() {
                        bad("amount", "only on a fixed line");
                    }
                    if l.per.is_some() {
                        bad("per", "only on a fixed line");
                    }
                }
                LineKind::Fixed => {
                    if let Some(r) = money(l.amount, MAX_AMOUNT, false) {
                        bad("amount", r);
                    }
                    if l.per.is_none() {
                        bad("per", "required for a fixed line: year or month");
                    }
                    if l.hours_per_week.is_some() {
                        bad("hoursPerWeek", "only on a staff line");
                    }
                    if l.yearly_salary.is_some() {
                        bad("yearlySalary", "only on a staff line");
                    }
                }
            }
        }
        out
    }
}

/// One stored version of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct CostModelVersion {
    pub version: i64,
    pub effective_from: DateTime<Utc>,
    pub model: CostModel,
}

/// The model in force at `at`: the newest version that took effect by then, else the defaults.
pub fn in_force(versions: &[CostModelVersion], at: DateTime<Utc>) -> CostModel {
    versions
        .iter()
        .filter(|v| v.effective_from <= at)
        .max_by_key(|v| (v.effective_from, v.version))
        .map(|v| v.model.clone())
        .unwrap_or_default()
}

/// Midnight of `d` in Amsterdam (it exists on every day: DST moves 02:00 and 03:00).
fn midnight(d: NaiveDate) -> DateTime<Utc> {
    Amsterdam
        .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| d.and_time(chrono::NaiveTime::MIN).and_utc())
}

fn days_in_year(year: i32) -> f64 {
    if NaiveDate::from_ymd_opt(year, 2, 29).is_some() {
        366.0
    } else {
        365.0
    }
}

/// Where `t` falls: its Amsterdam date and how far into that day (0..1, by the day's seconds:
/// a day of 23 or 25 hours counts as one day).
fn day_position(t: DateTime<Utc>) -> (NaiveDate, f64) {
    let d = t.with_timezone(&Amsterdam).date_naive();
    let start = midnight(d);
    let end = d
        .succ_opt()
        .map_or(start + chrono::Duration::days(1), midnight);
    let len = (end - start).num_milliseconds().max(1) as f64;
    (d, (t - start).num_milliseconds() as f64 / len)
}

/// What `[from, to)` costs under `versions`, in cents (not rounded), prorated by days (see the
/// module). A version that takes effect during a day applies from that instant on. The period is
/// cut where the model or the year changes; each piece costs its days (whole and partial) times
/// the model's yearly total over the days of its year, so a period of centuries is as quick as a
/// week.
pub fn period_cents(versions: &[CostModelVersion], from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    if from >= to {
        return 0.0;
    }
    // The yearly totals once, in the order they take effect.
    let mut yearly: Vec<(DateTime<Utc>, i64, i64)> = versions
        .iter()
        .map(|v| (v.effective_from, v.version, v.model.yearly_cents()))
        .collect();
    yearly.sort_by_key(|&(at, version, _)| (at, version));
    let default = CostModel::default().yearly_cents();
    let at = |t: DateTime<Utc>| {
        yearly
            .iter()
            .rev()
            .find(|(from, _, _)| *from <= t)
            .map_or(default, |&(_, _, c)| c)
    };
    let (first, last) = (
        from.with_timezone(&Amsterdam).year(),
        to.with_timezone(&Amsterdam).year(),
    );
    let mut cuts: Vec<DateTime<Utc>> = (first + 1..=last)
        .filter_map(|y| NaiveDate::from_ymd_opt(y, 1, 1))
        .map(midnight)
        .chain(yearly.iter().map(|&(t, _, _)| t))
        .filter(|t| *t > from && *t < to)
        .chain([from, to])
        .collect();
    cuts.sort();
    cuts.dedup();
    cuts.windows(2)
        .map(|w| {
            let ((da, fa), (db, fb)) = (day_position(w[0]), day_position(w[1]));
            let days = (db - da).num_days() as f64 + fb - fa;
            at(w[0]) as f64 * days / days_in_year(da.year())
        })
        .sum()
}

/// `total` cents over `units`, rounded half up to whole cents; `None` for no units.
pub fn per_unit_cents(total_cents: f64, units: i64) -> Option<i64> {
    (units > 0).then(|| (total_cents / units as f64).round() as i64)
}

/// Cents rounded half up to ten cents, as the research states its figures (20.59 -> 20.60).
pub fn to_ten_cents(c: i64) -> i64 {
    (c + 5).div_euclid(10) * 10
}

/// The hours of measured handling time a year, as a cost in cents at a yearly salary: an hour is
/// a 1,440th of the salary ([`NET_HOURS_PER_YEAR`]).
pub fn handling_cents(hours: f64, yearly_salary: f64) -> f64 {
    hours * yearly_salary * 100.0 / NET_HOURS_PER_YEAR
}

/// The cost figures of one report row (`docs/REPORTS.md`, report `costs`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RowCost {
    /// What the period cost the whole desk, in cents.
    pub period_cents: f64,
    /// The questions the whole desk answered in the period (every case with a reaction, no
    /// filter): the allocation's denominator.
    pub answered_total: i64,
    /// This group's part of the period's cost, in cents: its share of the answered questions.
    /// `None` when the desk answered none (nothing to allocate by).
    pub cents: Option<f64>,
}

/// Allocates `period_cents` to `rows` by their share of the `answered_total` questions (a row's
/// answered questions are its reactions): the research's unit, so every group's cost per
/// answered question is the desk's. Rows of a filtered report get their share of the whole desk's
/// cost, not the whole of it.
pub fn allocate(rows: &mut [crate::reports::Row], period_cents: f64, answered_total: i64) {
    for r in rows {
        r.cost = Some(RowCost {
            period_cents,
            answered_total,
            cents: (answered_total > 0)
                .then(|| period_cents * r.reaction.count as f64 / answered_total as f64),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn version(v: i64, from: &str, yearly: f64) -> CostModelVersion {
        CostModelVersion {
            version: v,
            effective_from: t(from),
            model: CostModel {
                lines: vec![CostLine::fixed("x", yearly, Per::Year)],
            },
        }
    }

    #[test]
    fn the_default_model_is_the_research_s_49_410_a_year() {
        let m = CostModel::default();
        let lines: Vec<i64> = m.lines.iter().map(|l| l.yearly_cents() / 100).collect();
        assert_eq!(
            lines,
            [12_285, 2_896, 12_066, 965, 1_448, 500, 1_500, 15_000, 500, 250, 2_000]
        );
        let ftes: Vec<i64> = m.lines[..5].iter().map(CostLine::fte_hundredths).collect();
        assert_eq!(ftes, [42, 6, 25, 2, 3]);
        assert_eq!(m.yearly_cents(), 4_941_000);
        assert!(m.check().is_empty());
    }

    #[test]
    fn the_default_model_costs_18_30_per_answered_question_at_2_700_a_year() {
        let y = CostModel::default().yearly_cents() as f64;
        assert_eq!(per_unit_cents(y, 2_700), Some(1_830));
        // The research's 20.60 and 16.50 are 20.59 and 16.47 rounded to ten cents.
        assert_eq!(per_unit_cents(y, 2_400), Some(2_059));
        assert_eq!(per_unit_cents(y, 3_000), Some(1_647));
        let research: Vec<i64> = [2_700, 2_400, 3_000]
            .into_iter()
            .map(|n| to_ten_cents(per_unit_cents(y, n).unwrap()))
            .collect();
        assert_eq!(research, [1_830, 2_060, 1_650]);
        assert_eq!(per_unit_cents(y, 0), None);
        // 225 a month over a calendar year (2026: 365 days) under the defaults.
        let year = period_cents(
            &[],
            t("2026-01-01T00:00:00+01:00"),
            t("2027-01-01T00:00:00+01:00"),
        );
        assert_eq!(per_unit_cents(year, 225 * 12), Some(1_830));
    }

    #[test]
    fn a_period_is_prorated_by_days_and_versions() {
        // 36,500 a year is 100 a day in 2026; from Thursday 5 March 73,000 (200 a day).
        let vs = [
            version(1, "2000-01-01T00:00:00Z", 36_500.0),
            version(2, "2026-03-05T00:00:00+01:00", 73_000.0),
        ];
        let week = period_cents(
            &vs,
            t("2026-03-02T00:00:00+01:00"),
            t("2026-03-09T00:00:00+01:00"),
        );
        assert!((week - 110_000.0).abs() < 1e-6, "{week}");
        // Half a day, and a DST day (29 March 2026 has 23 hours) counts whole.
        let half = period_cents(
            &vs,
            t("2026-03-02T00:00:00+01:00"),
            t("2026-03-02T12:00:00+01:00"),
        );
        assert!((half - 5_000.0).abs() < 1e-6, "{half}");
        let dst = period_cents(
            &vs,
            t("2026-03-29T00:00:00+01:00"),
            t("2026-03-30T00:00:00+02:00"),
        );
        assert!((dst - 20_000.0).abs() < 1e-6, "{dst}");
        // A leap year's day is a 366th.
        let leap = period_cents(
            &vs,
            t("2028-02-29T00:00:00+01:00"),
            t("2028-03-01T00:00:00+01:00"),
        );
        assert!((leap - 7_300_000.0 / 366.0).abs() < 1e-6, "{leap}");
        // Whole calendar years cost their yearly total, leap years too, however many.
        let century = period_cents(
            &[],
            t("1900-01-01T00:00:00Z"),
            t("2000-01-01T00:00:00+01:00"),
        );
        assert!((century - 100.0 * 4_941_000.0).abs() < 1e-3, "{century}");
        // Before any version the defaults apply.
        let early = period_cents(
            &vs[1..],
            t("2026-01-01T00:00:00+01:00"),
            t("2027-01-01T00:00:00+01:00"),
        );
        assert!(
            early > 4_941_000.0,
            "the later, dearer version counts from March: {early}"
        );
    }

    #[test]
    fn bad_lines_are_named_per_field() {
        let m = CostModel {
            lines: vec![
                CostLine::staff("", 0.0, -1.0),
                CostLine {
                    per: None,
                    ..CostLine::fixed("Licentie", 1.234, Per::Month)
                },
                CostLine {
                    hours_per_week: Some(f64::NAN),
                    ..CostLine::staff("ok", 1.0, 1.0)
                },
                // Not zero, yet less than a hundredth: no hours at all.
                CostLine::staff("ok", 1e-300, 1.0),
            ],
        };
        let fields: Vec<String> = m.check().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "lines[0].name",
                "lines[0].hoursPerWeek",
                "lines[0].yearlySalary",
                "lines[1].amount",
                "lines[1].per",
                "lines[2].hoursPerWeek",
                "lines[3].hoursPerWeek",
            ]
        );
    }

    #[test]
    fn the_cost_is_allocated_by_answered_questions() {
        use crate::reports::Row;
        let row = |answered| {
            let mut r = Row::default();
            r.reaction.count = answered;
            r
        };
        let mut rows = [row(3), row(1), row(0)];
        allocate(&mut rows, 70_000.0, 5);
        let cents: Vec<Option<f64>> = rows.iter().map(|r| r.cost.unwrap().cents).collect();
        assert_eq!(cents, [Some(42_000.0), Some(14_000.0), Some(0.0)]);
        let mut none = [row(0)];
        allocate(&mut none, 70_000.0, 0);
        assert_eq!(none[0].cost.unwrap().cents, None);
        assert_eq!(none[0].cost.unwrap().period_cents, 70_000.0);
    }

    #[test]
    fn measured_handling_costs_a_1_440th_of_a_salary_an_hour() {
        assert!((handling_cents(1_440.0, 29_250.0) - 2_925_000.0).abs() < 1e-6);
    }

    proptest! {
        /// Splitting a period anywhere does not change its cost.
        #[test]
        fn a_period_s_cost_is_additive(a in 0i64..400 * 86_400, b in 0i64..400 * 86_400, c in 0i64..400 * 86_400, y in 0u32..10_000_000) {
            let mut p = [a, b, c];
            p.sort_unstable();
            let base = t("2026-01-01T00:00:00Z");
            let at = |s: i64| base + Duration::seconds(s);
            let vs = [
                version(1, "2025-06-01T00:00:00Z", f64::from(y)),
                version(2, "2026-05-17T13:00:00Z", f64::from(y) / 2.0),
            ];
            let whole = period_cents(&vs, at(p[0]), at(p[2]));
            let parts = period_cents(&vs, at(p[0]), at(p[1])) + period_cents(&vs, at(p[1]), at(p[2]));
            prop_assert!((whole - parts).abs() <= 1e-6 * whole.max(1.0), "{} != {}", whole, parts);
            prop_assert!(whole >= 0.0);
        }

        /// Twelve months of an amount a month cost as much as twelve times it a year; a staff
        /// line never costs less than its exact fte (rounded up) would.
        #[test]
        fn lines_cost_what_they_say(amount in 0i64..10_000_000, hours in 1i64..20_000, salary in 0i64..20_000_000) {
            let a = amount as f64 / 100.0;
            prop_assert_eq!(
                CostLine::fixed("m", a, Per::Month).yearly_cents(),
                CostLine::fixed("y", a * 12.0, Per::Year).yearly_cents()
            );
            let l = CostLine::staff("s", hours as f64 / 100.0, salary as f64 / 100.0);
            prop_assert!(l.check_ok());
            let exact = hours as f64 / 100.0 / FTE_HOURS_PER_WEEK * salary as f64;
            prop_assert!(l.yearly_cents() as f64 + 50.0 >= exact, "{} < {}", l.yearly_cents(), exact);
            prop_assert!(l.yearly_cents() % 100 == 0);
        }

        /// Any valid model's per-unit cost times the units is its total, within half a cent a unit.
        #[test]
        fn per_unit_times_units_is_the_total(y in 0i64..1_000_000_000, n in 1i64..1_000_000) {
            let c = per_unit_cents(y as f64, n).unwrap();
            prop_assert!(((c * n) as f64 - y as f64).abs() <= n as f64 / 2.0 + 1e-6);
        }
    }

    impl CostLine {
        fn check_ok(&self) -> bool {
            CostModel {
                lines: vec![self.clone()],
            }
            .check()
            .is_empty()
        }
    }
}
