//! The themes report's own figures (`docs/REPORTS.md`, "Themes"): each row's share of all the
//! period's cases and the registration coverage (the share of cases with a theme at all, the
//! figure to watch while no municipality registers themes). Pure: computed from the rows the
//! aggregation made.

use crate::reports::{GroupBy, Row, Share};
use std::collections::BTreeMap;

/// Sets `cases_of_all` and `theme_coverage` on `rows`, grouped by `group_by` (which holds
/// `theme`). The share is of every case in the rows; the coverage of a row is over the rows that
/// share its other keys (all rows when `theme` is the only key). Rows of the previous period
/// only (0 cases) get shares of 0.
pub fn shares(rows: &mut [Row], group_by: &[GroupBy]) {
    let Some(at) = group_by.iter().position(|g| *g == GroupBy::Theme) else {
        return;
    };
    let rest = |key: &[String]| -> Vec<String> {
        key.iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let total: i64 = rows.iter().map(|r| r.cases).sum();
    let mut coverage: BTreeMap<Vec<String>, Share> = BTreeMap::new();
    for r in rows.iter() {
        let c = coverage.entry(rest(&r.key)).or_default();
        c.of += r.cases;
        if r.key.get(at).is_some_and(|t| !t.is_empty()) {
            c.part += r.cases;
        }
    }
    for r in rows.iter_mut() {
        r.cases_of_all = Some(Share {
            part: r.cases,
            of: total,
        });
        r.theme_coverage = coverage.get(&rest(&r.key)).copied();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn row(key: &[&str], cases: i64) -> Row {
        Row {
            key: key.iter().map(|k| (*k).to_owned()).collect(),
            cases,
            ..Row::default()
        }
    }

    #[test]
    fn share_of_all_and_coverage_by_theme_alone() {
        let mut rows = vec![row(&[""], 6), row(&["Afval"], 3), row(&["Wonen"], 1)];
        shares(&mut rows, &[GroupBy::Theme]);
        let of_all: Vec<Option<f64>> = rows
            .iter()
            .map(|r| r.cases_of_all.unwrap().share())
            .collect();
        assert_eq!(of_all, vec![Some(0.6), Some(0.3), Some(0.1)]);
        // 4 of 10 cases carry a theme: the same coverage on every row.
        for r in &rows {
            assert_eq!(r.theme_coverage, Some(Share { part: 4, of: 10 }));
        }
    }

    #[test]
    fn coverage_per_further_key() {
        // theme x channel: on x 1 of 3 carry a theme, on whatsapp 2 of 2.
        let mut rows = vec![
            row(&["", "x"], 2),
            row(&["Afval", "whatsapp"], 2),
            row(&["Afval", "x"], 1),
        ];
        shares(&mut rows, &[GroupBy::Theme, GroupBy::Channel]);
        assert_eq!(rows[0].theme_coverage, Some(Share { part: 1, of: 3 }));
        assert_eq!(rows[1].theme_coverage, Some(Share { part: 2, of: 2 }));
        assert_eq!(rows[2].theme_coverage, Some(Share { part: 1, of: 3 }));
        assert_eq!(rows[1].cases_of_all, Some(Share { part: 2, of: 5 }));
    }

    #[test]
    fn nothing_without_a_theme_key_and_no_division_by_zero() {
        let mut rows = vec![row(&["x"], 2)];
        shares(&mut rows, &[GroupBy::Channel]);
        assert_eq!((rows[0].cases_of_all, rows[0].theme_coverage), (None, None));
        let mut rows = vec![row(&["Afval"], 0)];
        shares(&mut rows, &[GroupBy::Theme]);
        assert_eq!(rows[0].cases_of_all.unwrap().share(), None);
    }

    proptest! {
        #[test]
        fn shares_of_all_sum_to_one(counts in proptest::collection::vec(0i64..50, 1..8)) {
            let themes = ["", "Afval", "Wonen", "Burgerzaken", "Parkeren", "Zorg", "Werk", "Belasting"];
            let mut rows: Vec<Row> = counts.iter().enumerate().map(|(i, n)| row(&[themes[i]], *n)).collect();
            shares(&mut rows, &[GroupBy::Theme]);
            let total: i64 = counts.iter().sum();
            let parts: i64 = rows.iter().map(|r| r.cases_of_all.unwrap().part).sum();
            prop_assert_eq!(parts, total);
            let themed: i64 = counts.iter().skip(1).sum();
            let coverage = Some(Share { part: themed, of: total });
            let same = rows.iter().all(|r| r.theme_coverage == coverage);
            prop_assert!(same);
        }
    }
}
