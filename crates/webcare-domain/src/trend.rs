//! The volume report's trend figures (`docs/REPORTS.md`, "Backlog and change"): the backlog (the
//! cases open) at the start and end of each row's interval and at a moment, and the change against
//! the previous period. Pure, like [`crate::reports`]: the store reads the cases, this counts.

use crate::reports::{CaseFacts, GroupBy, Row};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Amsterdam;
use std::collections::BTreeMap;

/// The keys that cut the period into calendar intervals.
fn is_calendar(g: GroupBy) -> bool {
    matches!(g, GroupBy::Day | GroupBy::Week | GroupBy::Month)
}

/// A key that has no interval of its own (an hour of every day): no backlog by it.
fn is_cyclic(g: GroupBy) -> bool {
    matches!(g, GroupBy::Hour | GroupBy::Weekday)
}

/// Local midnight of `d` in Amsterdam (it exists on every day: DST moves 02:00-03:00).
fn midnight(d: NaiveDate) -> DateTime<Utc> {
    Amsterdam
        .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map_or_else(
            || d.and_time(chrono::NaiveTime::MIN).and_utc(),
            |t| t.with_timezone(&Utc),
        )
}

/// The start of the calendar bucket `value` of `g` (`2026-03-02`, `2026-W10`, `2026-03`).
fn bucket_start(g: GroupBy, value: &str) -> Option<DateTime<Utc>> {
    let date = match g {
        GroupBy::Day => NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()?,
        GroupBy::Month => NaiveDate::parse_from_str(&format!("{value}-01"), "%Y-%m-%d").ok()?,
        GroupBy::Week => {
            let (y, w) = value.split_once("-W")?;
            NaiveDate::from_isoywd_opt(y.parse().ok()?, w.parse().ok()?, chrono::Weekday::Mon)?
        }
        _ => return None,
    };
    Some(midnight(date))
}

/// The finest calendar key of `group_by` (day before week before month), if any.
fn finest(group_by: &[GroupBy]) -> Option<GroupBy> {
    [GroupBy::Day, GroupBy::Week, GroupBy::Month]
        .into_iter()
        .find(|g| group_by.contains(g))
}

/// The value of `g` for a case arriving at `t`.
fn value_at(g: GroupBy, t: DateTime<Utc>) -> String {
    g.value(&CaseFacts {
        arrival: t,
        ..CaseFacts::default()
    })
}

/// The instants that cut `[from, to)` into the calendar buckets of `group_by`: `from`, every
/// bucket start inside, `to`. Just `[from, to]` without a calendar key.
pub fn boundaries(
    group_by: &[GroupBy],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let mut out = vec![from];
    if let Some(g) = finest(group_by) {
        let mut day = from.with_timezone(&Amsterdam).date_naive();
        let mut current = value_at(g, from);
        loop {
            day = day.succ_opt().unwrap_or(day);
            let t = midnight(day);
            if t >= to {
                break;
            }
            let v = value_at(g, t);
            if v != current {
                out.push(t);
                current = v;
            }
        }
    }
    out.push(to);
    out
}

/// `rows` by key (taken out of `rows`; put back in key order with `into_values`).
fn keyed(rows: &mut Vec<Row>) -> BTreeMap<Vec<String>, Row> {
    std::mem::take(rows)
        .into_iter()
        .map(|r| (r.key.clone(), r))
        .collect()
}

/// The row of group `k`, added (no cases) when the group had none.
fn row_of<'m>(rows: &'m mut BTreeMap<Vec<String>, Row>, k: &[String]) -> &'m mut Row {
    rows.entry(k.to_vec()).or_insert_with(|| Row {
        key: k.to_vec(),
        ..Row::default()
    })
}

/// Counts the backlog into `rows` (adding rows for groups with no arrivals): per row, the cases of
/// `open` (any case that may have been open in the period) open at the start and the end of the
/// row's interval, and at `at` when given and no calendar key groups. Nothing when a cyclic key
/// (hour, weekday) groups: those have no interval.
pub fn backlog<'a>(
    rows: &mut Vec<Row>,
    group_by: &[GroupBy],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    at: Option<DateTime<Utc>>,
    open: impl IntoIterator<Item = &'a CaseFacts>,
) {
    if group_by.iter().any(|g| is_cyclic(*g)) {
        return;
    }
    let bounds = boundaries(group_by, from, to);
    let at = at.filter(|_| finest(group_by).is_none());
    let mut counts: BTreeMap<Vec<String>, (i64, i64, i64)> = BTreeMap::new();
    // Every group has its buckets, so that an empty day shows its backlog.
    let key = |c: &CaseFacts, bucket: DateTime<Utc>| -> Vec<String> {
        group_by
            .iter()
            .map(|g| {
                if is_calendar(*g) {
                    value_at(*g, bucket)
                } else {
                    g.value(c)
                }
            })
            .collect()
    };
    for c in open {
        for (s, e) in &c.open {
            // The boundaries inside [s, e): the case is open at each.
            let lo = bounds.partition_point(|b| b < s);
            let hi = e.map_or(bounds.len(), |e| bounds.partition_point(|b| *b < e));
            for j in lo..hi {
                if j + 1 < bounds.len() {
                    counts.entry(key(c, bounds[j])).or_default().0 += 1;
                }
                if j > 0 {
                    counts.entry(key(c, bounds[j - 1])).or_default().1 += 1;
                }
            }
        }
        if let Some(t) = at {
            if c.open_at(t) {
                counts.entry(key(c, from)).or_default().2 += 1;
            }
        }
    }
    let mut by_key = keyed(rows);
    for (k, (start, end, at_n)) in counts {
        let r = row_of(&mut by_key, &k);
        r.backlog_start = Some(start);
        r.backlog_end = Some(end);
        r.backlog_at = at.map(|_| at_n);
    }
    *rows = by_key.into_values().collect();
    for r in rows.iter_mut() {
        // A group with no case open anywhere still has a backlog: none.
        r.backlog_start.get_or_insert(0);
        r.backlog_end.get_or_insert(0);
        if at.is_some() {
            r.backlog_at.get_or_insert(0);
        }
    }
}

/// The period the change compares with: the one of equal length before `from`; with a calendar
/// key from the start of the bucket before `from`'s (the whole previous day, week or month).
pub fn previous_period(
    group_by: &[GroupBy],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = finest(group_by)
        .and_then(|g| {
            let first = bucket_start(g, &value_at(g, from))?;
            bucket_start(g, &value_at(g, first - Duration::seconds(1)))
        })
        .unwrap_or(from - (to - from));
    (start, from)
}

/// The key a row is compared with: its own groups, with the calendar keys taken one bucket (of
/// the finest key) earlier; `None` without a calendar key (compare with the previous period).
fn previous_key(group_by: &[GroupBy], key: &[String]) -> Option<Vec<String>> {
    let g = finest(group_by)?;
    let i = group_by.iter().position(|k| *k == g)?;
    let before = bucket_start(g, &key[i])? - Duration::seconds(1);
    Some(
        group_by
            .iter()
            .zip(key)
            .map(|(k, v)| {
                if is_calendar(*k) {
                    value_at(*k, before)
                } else {
                    v.clone()
                }
            })
            .collect(),
    )
}

/// Sets each row's `previous_cases`: the cases of its group in the previous bucket (calendar
/// keys) or the previous period; `earlier` holds the cases arrived in [`previous_period`]. A group
/// that had cases only before the period gets a row of its own (without calendar keys).
pub fn previous<'a>(
    rows: &mut Vec<Row>,
    group_by: &[GroupBy],
    earlier: impl IntoIterator<Item = &'a CaseFacts>,
) {
    let mut counts: BTreeMap<Vec<String>, i64> = BTreeMap::new();
    for c in earlier {
        *counts
            .entry(group_by.iter().map(|g| g.value(c)).collect())
            .or_default() += 1;
    }
    if finest(group_by).is_some() {
        // Buckets inside the period compare with the rows before them.
        for r in rows.iter() {
            *counts.entry(r.key.clone()).or_default() += r.cases;
        }
        for r in rows.iter_mut() {
            let prev = previous_key(group_by, &r.key);
            r.previous_cases = Some(prev.and_then(|k| counts.get(&k).copied()).unwrap_or(0));
        }
        return;
    }
    let mut by_key = keyed(rows);
    for (k, n) in &counts {
        row_of(&mut by_key, k).previous_cases = Some(*n);
    }
    *rows = by_key.into_values().collect();
    for r in rows.iter_mut() {
        r.previous_cases.get_or_insert(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        // March 2026 before DST: Amsterdam is UTC+1.
        Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap() - Duration::hours(1)
    }

    fn case(
        arrival: DateTime<Utc>,
        open: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    ) -> CaseFacts {
        CaseFacts {
            arrival,
            channel: "x".into(),
            open,
            ..CaseFacts::default()
        }
    }

    #[test]
    fn week_boundaries_fall_on_local_mondays_and_months_on_the_first() {
        let b = boundaries(&[GroupBy::Week], at(4, 12), at(18, 0));
        assert_eq!(b, vec![at(4, 12), at(9, 0), at(16, 0), at(18, 0)]);
        let b = boundaries(
            &[GroupBy::Month, GroupBy::Channel],
            at(30, 0),
            at(31, 0) + Duration::days(2),
        );
        assert_eq!(b.len(), 3);
        assert_eq!(
            b[1],
            Utc.with_ymd_and_hms(2026, 3, 31, 22, 0, 0).unwrap(),
            "CEST from 29 March"
        );
        assert_eq!(
            boundaries(&[], at(2, 0), at(9, 0)),
            vec![at(2, 0), at(9, 0)]
        );
    }

    #[test]
    fn backlog_per_day_counts_open_cases_at_each_edge() {
        // One case open Mon 10:00 to Wed 09:00, one from Tue 12:00 still open, one resolved and
        // reopened: Mon 08:00-09:00 and Tue 23:00 on.
        let cases = [
            case(at(2, 10), vec![(at(2, 10), Some(at(4, 9)))]),
            case(at(3, 12), vec![(at(3, 12), None)]),
            case(
                at(2, 8),
                vec![(at(2, 8), Some(at(2, 9))), (at(3, 23), None)],
            ),
        ];
        let mut rows = Vec::new();
        backlog(&mut rows, &[GroupBy::Day], at(2, 0), at(5, 0), None, &cases);
        let got: Vec<(String, Option<i64>, Option<i64>)> = rows
            .iter()
            .map(|r| (r.key[0].clone(), r.backlog_start, r.backlog_end))
            .collect();
        assert_eq!(
            got,
            vec![
                ("2026-03-02".into(), Some(0), Some(1)),
                ("2026-03-03".into(), Some(1), Some(3)),
                ("2026-03-04".into(), Some(3), Some(2)),
            ]
        );
        assert!(rows.iter().all(|r| r.cases == 0 && r.backlog_at.is_none()));

        // Ungrouped, with a moment: Tue 13:00 has the first two open.
        let mut rows = vec![Row::default()];
        backlog(&mut rows, &[], at(2, 0), at(5, 0), Some(at(3, 13)), &cases);
        assert_eq!(
            (
                rows[0].backlog_start,
                rows[0].backlog_end,
                rows[0].backlog_at
            ),
            (Some(0), Some(2), Some(2))
        );
        // By hour there is no interval: nothing.
        let mut rows = Vec::new();
        backlog(
            &mut rows,
            &[GroupBy::Hour],
            at(2, 0),
            at(5, 0),
            None,
            &cases,
        );
        assert!(rows.is_empty());
    }

    #[test]
    fn change_compares_with_the_previous_bucket_or_period() {
        let (s, e) = previous_period(&[GroupBy::Month], at(10, 0), at(20, 0));
        assert_eq!(
            (s, e),
            (
                Utc.with_ymd_and_hms(2026, 1, 31, 23, 0, 0).unwrap(),
                at(10, 0)
            )
        );
        let (s, _) = previous_period(&[GroupBy::Channel], at(10, 0), at(17, 0));
        assert_eq!(s, at(3, 0));

        // Per week: W10 compares with W09 (before the period), W11 with W10.
        let mut rows = vec![
            Row {
                key: vec!["2026-W10".into()],
                cases: 4,
                ..Row::default()
            },
            Row {
                key: vec!["2026-W11".into()],
                cases: 2,
                ..Row::default()
            },
        ];
        let earlier = [
            case(at(3, 0) - Duration::days(7), vec![]),
            case(at(1, 12), vec![]),
        ];
        previous(&mut rows, &[GroupBy::Week], &earlier);
        assert_eq!(rows[0].previous_cases, Some(2));
        assert_eq!(rows[1].previous_cases, Some(4));

        // Per channel: a channel with cases only before the period gets a row.
        let mut rows = vec![Row {
            key: vec!["x".into()],
            cases: 3,
            ..Row::default()
        }];
        let mut wa = case(at(1, 12), vec![]);
        wa.channel = "whatsapp".into();
        previous(&mut rows, &[GroupBy::Channel], &[wa]);
        assert_eq!(rows.len(), 2);
        // Ordered by key: "whatsapp" before "x".
        assert_eq!(
            (
                rows[0].key[0].as_str(),
                rows[0].cases,
                rows[0].previous_cases
            ),
            ("whatsapp", 0, Some(1))
        );
        assert_eq!((rows[1].cases, rows[1].previous_cases), (3, Some(0)));
    }
}
