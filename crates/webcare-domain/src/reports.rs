//! Report figures from per-case facts (definitions: `docs/REPORTS.md`). Pure: the store reads the
//! facts, this module groups and summarises them, so both databases answer the same figures.

use crate::sla::BusinessHours;
use crate::sla::{CalendarVersions, ClockKind, ClockState, Segment, StopReason};
use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Europe::Amsterdam;
use std::collections::BTreeMap;
use uuid::Uuid;

/// How long a reaction may take to count for the field's "within 24 hours" share.
pub const DAY_SECONDS: i64 = 24 * 3600;

/// A time in two measures: wall-clock and business (running, within opening hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub wall_seconds: i64,
    pub business_seconds: i64,
}

/// What one case contributes to the reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseFacts {
    pub case_id: Uuid,
    /// The sent time of the first citizen message.
    pub arrival: DateTime<Utc>,
    /// The platform kind (`x`, `whatsapp`, ...).
    pub channel: String,
    /// `public` or `private`: the visibility of the case's first citizen message (DESIGN 10:
    /// the field's "within 24 h" is over public messages, so the reports split on it).
    pub visibility: String,
    pub account: Uuid,
    pub theme: Option<String>,
    pub kind: Option<String>,
    pub target_group: Option<String>,
    pub team: Option<String>,
    pub department: Option<Uuid>,
    pub agent: Option<String>,
    pub priority: String,
    pub messages_in: i64,
    pub messages_out: i64,
    /// The first reaction, when the first reaction run stopped with a reply or holding answer.
    pub reaction: Option<Span>,
    /// Since when the first reaction run has been waiting, when it is still running or paused.
    pub reaction_waiting_since: Option<DateTime<Utc>>,
    /// Each next-reaction run that stopped with a reply or holding answer, in run order.
    pub next_reactions: Vec<Span>,
    /// The next-reaction runs the SLA engine judged: met of judged.
    pub next_reaction_met: Share,
    /// All resolution runs, when the last stopped because the case was resolved.
    pub resolution: Option<Span>,
    /// The department clocks that stopped with the department's answer, summed.
    pub department_time: Option<Span>,
    /// Per clock: `Some(true)` met, `Some(false)` missed, `None` not counted.
    pub reaction_met: Option<bool>,
    pub resolution_met: Option<bool>,
    pub department_met: Option<bool>,
    pub forwarded: bool,
    /// When the case was open: its resolution runs, each from its start to its stop (`None`:
    /// still open), in order; the backlog counts from these.
    pub open: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    /// The satisfaction survey sent on the case (issue 16), with its score once answered.
    pub survey: Option<(crate::survey::SurveyKind, Option<u8>)>,
    /// What the citizen wrote beside the score, and when the answer came (issue 16).
    pub survey_comment: Option<(String, DateTime<Utc>)>,
}

/// The BZK questionnaire's reaction limits (DESIGN 10): "% within 1 h, 4 h and 8 h".
pub const REACTION_HOURS: [i64; 3] = [1, 4, 8];
/// The BZK questionnaire's resolution limits: "% within 8 h, 24 h and 48 h".
pub const RESOLUTION_HOURS: [i64; 3] = [8, 24, 48];

/// Whether a time made it within `limit_seconds` wall-clock, the rule of the field's "within
/// 24 hours": a measured time counts by its length; a time still running counts as missed once
/// it has run longer than the limit at `now` (it can no longer make it), and not at all before
/// (it may still make it); a case with neither is left out (`None`).
pub fn within(
    wall_seconds: Option<i64>,
    running_since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    limit_seconds: i64,
) -> Option<bool> {
    match (wall_seconds, running_since) {
        (Some(s), _) => Some(s <= limit_seconds),
        (None, Some(since)) if (now - since).num_seconds() > limit_seconds => Some(false),
        _ => None,
    }
}

/// One stored run of a case's SLA clock, as the reports read it.
#[derive(Debug, Clone)]
pub struct ClockRun<'a> {
    pub kind: ClockKind,
    pub run: i32,
    pub state: ClockState,
    pub stop_reason: Option<StopReason>,
    pub segments: Vec<Segment>,
    /// The clock's calendar (its account's or department's, or the default).
    pub calendar: &'a CalendarVersions,
}

impl ClockRun<'_> {
    fn started_at(&self) -> Option<DateTime<Utc>> {
        self.segments.iter().map(|s| s.from).min()
    }

    /// The stop instant, when every segment has ended.
    fn stopped_at(&self) -> Option<DateTime<Utc>> {
        let mut last = None;
        for s in &self.segments {
            last = Some(last.unwrap_or(s.from).max(s.to?));
        }
        last
    }

    /// Running seconds within the calendar's opening hours.
    fn business_seconds(&self) -> i64 {
        self.segments
            .iter()
            .filter(|s| s.running)
            .filter_map(|s| Some(self.calendar.business_seconds_between(s.from, s.to?)))
            .sum()
    }

    /// Stopped by what the clock measures (on time or late).
    fn completed(&self) -> bool {
        matches!(self.state, ClockState::Met | ClockState::Missed)
            && self.stop_reason.is_none_or(|r| r.completes(self.kind))
    }

    fn span(&self) -> Option<Span> {
        Some(Span {
            wall_seconds: (self.stopped_at()? - self.started_at()?).num_seconds(),
            business_seconds: self.business_seconds(),
        })
    }
}

/// Met when every judged run was met, missed when any was missed, `None` when none was judged.
fn judged<'r, 'a: 'r>(runs: impl Iterator<Item = &'r ClockRun<'a>>) -> Option<bool> {
    let mut out = None;
    for r in runs {
        match r.state {
            ClockState::Met => out = Some(out.unwrap_or(true)),
            ClockState::Missed => out = Some(false),
            _ => {}
        }
    }
    out
}

fn sum_spans(spans: impl Iterator<Item = Span>) -> Option<Span> {
    spans.fold(None, |acc: Option<Span>, s| {
        let a = acc.unwrap_or_default();
        Some(Span {
            wall_seconds: a.wall_seconds + s.wall_seconds,
            business_seconds: a.business_seconds + s.business_seconds,
        })
    })
}

impl CaseFacts {
    /// Whether the case was open at `t` (in the backlog).
    pub fn open_at(&self, t: DateTime<Utc>) -> bool {
        self.open
            .iter()
            .any(|(s, e)| *s <= t && e.is_none_or(|e| t < e))
    }

    /// Since when the case has waited to be resolved, when it is still open and has no
    /// resolution time: the start of its first open interval (its first resolution run, or its
    /// arrival without a resolution clock). Derived from `open`, so no clock is read again.
    pub fn unresolved_since(&self) -> Option<DateTime<Utc>> {
        let still_open = self.open.last().is_some_and(|(_, stop)| stop.is_none());
        (self.resolution.is_none() && still_open)
            .then(|| self.open.first().map(|(start, _)| *start))
            .flatten()
    }

    /// Sets the case's times and norms from its clock runs (any order), as `docs/REPORTS.md`
    /// defines them.
    pub fn apply_clocks(&mut self, runs: &[ClockRun<'_>]) {
        let of = |k: ClockKind| {
            let mut v: Vec<&ClockRun<'_>> = runs.iter().filter(|r| r.kind == k).collect();
            v.sort_by_key(|r| r.run);
            v
        };
        // Reaction: the first run only.
        let reaction = of(ClockKind::Reaction);
        if let Some(first) = reaction.first() {
            self.reaction = first.completed().then(|| first.span()).flatten();
            self.reaction_met = judged(std::iter::once(*first));
            self.reaction_waiting_since = (!first.state.is_stopped())
                .then(|| first.started_at())
                .flatten();
        }
        // Next reaction: every run on its own (each later citizen message waits on its own).
        let next = of(ClockKind::NextReaction);
        self.next_reactions = next
            .iter()
            .filter(|r| r.completed())
            .filter_map(|r| r.span())
            .collect();
        self.next_reaction_met = Share::default();
        for r in &next {
            count(&mut self.next_reaction_met, judged(std::iter::once(*r)));
        }
        // Resolution: first start to last stop; business time over every run.
        let resolution = of(ClockKind::Resolution);
        if let (Some(first), Some(last)) = (resolution.first(), resolution.last()) {
            if last.completed() {
                if let (Some(start), Some(stop)) = (first.started_at(), last.stopped_at()) {
                    self.resolution = Some(Span {
                        wall_seconds: (stop - start).num_seconds(),
                        business_seconds: resolution.iter().map(|r| r.business_seconds()).sum(),
                    });
                }
            }
            self.resolution_met = judged(resolution.iter().copied());
        }
        self.open = resolution
            .iter()
            .filter_map(|r| Some((r.started_at()?, r.stopped_at())))
            .collect();
        // Department: every answered forward, summed.
        let department = of(ClockKind::Department);
        self.department_time = sum_spans(
            department
                .iter()
                .filter(|r| r.completed())
                .filter_map(|r| r.span()),
        );
        self.department_met = judged(department.iter().copied());
    }
}

/// A key cases are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupBy {
    Channel,
    Visibility,
    Account,
    Theme,
    Kind,
    TargetGroup,
    Team,
    Department,
    Agent,
    Priority,
    Hour,
    Weekday,
    Day,
    Week,
    Month,
}

impl GroupBy {
    pub const ALL: [GroupBy; 15] = [
        GroupBy::Channel,
        GroupBy::Visibility,
        GroupBy::Account,
        GroupBy::Theme,
        GroupBy::Kind,
        GroupBy::TargetGroup,
        GroupBy::Team,
        GroupBy::Department,
        GroupBy::Agent,
        GroupBy::Priority,
        GroupBy::Hour,
        GroupBy::Weekday,
        GroupBy::Day,
        GroupBy::Week,
        GroupBy::Month,
    ];

    /// The name in the API (`groupBy`) and the CSV header.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Channel => "channel",
            GroupBy::Visibility => "visibility",
            GroupBy::Account => "account",
            GroupBy::Theme => "theme",
            GroupBy::Kind => "kind",
            GroupBy::TargetGroup => "targetGroup",
            GroupBy::Team => "team",
            GroupBy::Department => "department",
            GroupBy::Agent => "agent",
            GroupBy::Priority => "priority",
            GroupBy::Hour => "hour",
            GroupBy::Weekday => "weekday",
            GroupBy::Day => "day",
            GroupBy::Week => "week",
            GroupBy::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<GroupBy> {
        GroupBy::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// The case's value for this key; empty when the case has none. Time buckets are taken in
    /// Europe/Amsterdam and sort as text in time order.
    pub fn value(self, c: &CaseFacts) -> String {
        let local = c.arrival.with_timezone(&Amsterdam);
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        match self {
            GroupBy::Channel => c.channel.clone(),
            GroupBy::Visibility => c.visibility.clone(),
            GroupBy::Account => c.account.to_string(),
            GroupBy::Theme => opt(&c.theme),
            GroupBy::Kind => opt(&c.kind),
            GroupBy::TargetGroup => opt(&c.target_group),
            GroupBy::Team => opt(&c.team),
            GroupBy::Department => c.department.map(|d| d.to_string()).unwrap_or_default(),
            GroupBy::Agent => opt(&c.agent),
            GroupBy::Priority => c.priority.clone(),
            GroupBy::Hour => format!("{:02}", local.hour()),
            GroupBy::Weekday => local.weekday().number_from_monday().to_string(),
            GroupBy::Day => local.format("%Y-%m-%d").to_string(),
            GroupBy::Week => {
                let w = local.iso_week();
                format!("{:04}-W{:02}", w.year(), w.week())
            }
            GroupBy::Month => local.format("%Y-%m").to_string(),
        }
    }
}

/// Median, 90th percentile (nearest rank) and mean of a set of durations, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    pub median: Option<f64>,
    pub p90: Option<f64>,
    pub mean: Option<f64>,
}

/// A time over the cases that have it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TimeFigures {
    /// How many cases have this time.
    pub count: i64,
    pub business: Summary,
    pub wall: Summary,
}

/// `part` of `of`; `share` is `None` when `of` is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Share {
    pub part: i64,
    pub of: i64,
}

impl Share {
    pub fn share(&self) -> Option<f64> {
        (self.of > 0).then(|| self.part as f64 / self.of as f64)
    }
}

/// The figures of one group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    /// The group's values, in the order of the `groupBy` keys.
    pub key: Vec<String>,
    pub cases: i64,
    pub messages_in: i64,
    pub messages_out: i64,
    pub reaction: TimeFigures,
    /// Over next-reaction runs, not cases: `count` is the runs answered.
    pub next_reaction: TimeFigures,
    pub resolution: TimeFigures,
    pub department: TimeFigures,
    pub reaction_within_norm: Share,
    pub next_reaction_within_norm: Share,
    pub resolution_within_norm: Share,
    pub department_within_norm: Share,
    /// Reactions within 24 wall-clock hours.
    pub within_24h: Share,
    /// The BZK questionnaire's figures: reactions within [`REACTION_HOURS`] and resolutions
    /// within [`RESOLUTION_HOURS`] wall-clock hours, each with the `within_24h` denominators.
    pub reaction_within_hours: [Share; 3],
    pub resolution_within_hours: [Share; 3],
    /// The themes report's share of all the period's cases (`crate::themes`).
    pub cases_of_all: Option<Share>,
    /// The themes report's registration coverage: cases with a theme of all cases sharing the
    /// row's other keys (`crate::themes`).
    pub theme_coverage: Option<Share>,
    pub forwarded: Share,
    /// The costs report's figures (`crate::costs::allocate`); `None` in the other reports.
    pub cost: Option<crate::costs::RowCost>,
    /// The surveys sent on the group's cases and their answers.
    pub satisfaction: crate::survey::Figures,
    /// The volume report's backlog at the start and end of the row's interval and at a moment
    /// (`crate::trend`); `None` where it is not counted.
    pub backlog_start: Option<i64>,
    pub backlog_end: Option<i64>,
    pub backlog_at: Option<i64>,
    /// The volume report's cases of the previous bucket or period (`crate::trend::previous`).
    pub previous_cases: Option<i64>,
}

/// The value at rank `ceil(percent / 100 * n)` of `sorted` (nearest rank); `None` when empty.
/// Integer arithmetic: `0.9 * 30` in floating point is just above 27 and would round up a rank.
pub fn nearest_rank(sorted: &[i64], percent: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = (percent * n).div_ceil(100).clamp(1, n);
    Some(sorted[rank - 1])
}

fn summarise(mut seconds: Vec<i64>) -> Summary {
    seconds.sort_unstable();
    let minutes = |s: i64| s as f64 / 60.0;
    let mean = (!seconds.is_empty()).then(|| {
        // i128: a year of durations in seconds cannot overflow the sum.
        let sum: i128 = seconds.iter().map(|&s| i128::from(s)).sum();
        sum as f64 / seconds.len() as f64 / 60.0
    });
    Summary {
        median: nearest_rank(&seconds, 50).map(minutes),
        p90: nearest_rank(&seconds, 90).map(minutes),
        mean,
    }
}

#[derive(Default)]
struct Times {
    wall: Vec<i64>,
    business: Vec<i64>,
}

impl Times {
    fn push(&mut self, s: Option<Span>) {
        if let Some(s) = s {
            self.wall.push(s.wall_seconds);
            self.business.push(s.business_seconds);
        }
    }

    fn figures(self) -> TimeFigures {
        TimeFigures {
            count: self.wall.len() as i64,
            business: summarise(self.business),
            wall: summarise(self.wall),
        }
    }
}

/// A group's running totals.
#[derive(Default)]
pub struct Acc {
    row: Row,
    reaction: Times,
    next_reaction: Times,
    resolution: Times,
    department: Times,
    surveys: Vec<(crate::survey::SurveyKind, Option<u8>)>,
}

fn count(share: &mut Share, met: Option<bool>) {
    if let Some(m) = met {
        share.of += 1;
        share.part += i64::from(m);
    }
}

impl Acc {
    fn add(&mut self, c: &CaseFacts, now: DateTime<Utc>) {
        let r = &mut self.row;
        r.cases += 1;
        r.messages_in += c.messages_in;
        r.messages_out += c.messages_out;
        self.reaction.push(c.reaction);
        for s in &c.next_reactions {
            self.next_reaction.push(Some(*s));
        }
        self.resolution.push(c.resolution);
        self.department.push(c.department_time);
        count(&mut r.reaction_within_norm, c.reaction_met);
        r.next_reaction_within_norm.part += c.next_reaction_met.part;
        r.next_reaction_within_norm.of += c.next_reaction_met.of;
        count(&mut r.resolution_within_norm, c.resolution_met);
        count(&mut r.department_within_norm, c.department_met);
        let reaction_wall = c.reaction.map(|s| s.wall_seconds);
        count(
            &mut r.within_24h,
            within(reaction_wall, c.reaction_waiting_since, now, DAY_SECONDS),
        );
        for (share, hours) in r.reaction_within_hours.iter_mut().zip(REACTION_HOURS) {
            let limit = hours * 3600;
            count(
                share,
                within(reaction_wall, c.reaction_waiting_since, now, limit),
            );
        }
        let resolution_wall = c.resolution.map(|s| s.wall_seconds);
        let unresolved_since = c.unresolved_since();
        for (share, hours) in r.resolution_within_hours.iter_mut().zip(RESOLUTION_HOURS) {
            let limit = hours * 3600;
            count(share, within(resolution_wall, unresolved_since, now, limit));
        }
        count(&mut r.forwarded, Some(c.forwarded));
        self.surveys.extend(c.survey);
    }

    fn finish(self) -> Row {
        Row {
            reaction: self.reaction.figures(),
            next_reaction: self.next_reaction.figures(),
            resolution: self.resolution.figures(),
            department: self.department.figures(),
            satisfaction: crate::survey::figures(&self.surveys),
            ..self.row
        }
    }
}

/// Groups cases as they stream in (in pages from the store) and summarises each group.
pub struct Aggregator {
    group_by: Vec<GroupBy>,
    now: DateTime<Utc>,
    groups: BTreeMap<Vec<String>, Acc>,
}

impl Aggregator {
    /// `now` decides which unanswered cases are past 24 hours.
    pub fn new(group_by: &[GroupBy], now: DateTime<Utc>) -> Aggregator {
        Aggregator {
            group_by: group_by.to_vec(),
            now,
            groups: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, c: &CaseFacts) {
        let key: Vec<String> = self.group_by.iter().map(|g| g.value(c)).collect();
        self.groups.entry(key).or_default().add(c, self.now);
    }

    /// One row per group, ordered by key. Without `groupBy`, one row for all cases (also when
    /// there are none).
    pub fn finish(self) -> Vec<Row> {
        if self.group_by.is_empty() && self.groups.is_empty() {
            return vec![Row::default()];
        }
        self.groups
            .into_iter()
            .map(|(key, acc)| Row {
                key,
                ..acc.finish()
            })
            .collect()
    }
}

/// All of `cases` grouped by `group_by`, summarised.
pub fn aggregate<'a>(
    cases: impl IntoIterator<Item = &'a CaseFacts>,
    group_by: &[GroupBy],
    now: DateTime<Utc>,
) -> Vec<Row> {
    let mut agg = Aggregator::new(group_by, now);
    for c in cases {
        agg.add(c);
    }
    agg.finish()
}

/// Parses a `groupBy` value: comma-separated keys, at most `max`, none twice. The error names
/// what is wrong with the value.
pub fn parse_group_by(s: &str, max: usize) -> Result<Vec<GroupBy>, String> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for part in s.split(',') {
        let g = GroupBy::parse(part).ok_or_else(|| {
            let names: Vec<&str> = GroupBy::ALL.iter().map(|g| g.as_str()).collect();
            format!("unknown key '{part}'; use any of: {}", names.join(", "))
        })?;
        if out.contains(&g) {
            return Err(format!("'{part}' is given twice"));
        }
        out.push(g);
    }
    if out.len() > max {
        return Err(format!("at most {max} keys"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn case(arrival: DateTime<Utc>) -> CaseFacts {
        CaseFacts {
            case_id: Uuid::nil(),
            arrival,
            channel: "x".into(),
            visibility: "public".into(),
            account: Uuid::nil(),
            theme: None,
            kind: None,
            target_group: None,
            team: None,
            department: None,
            agent: None,
            priority: "normal".into(),
            messages_in: 1,
            messages_out: 0,
            reaction: None,
            reaction_waiting_since: None,
            next_reactions: vec![],
            next_reaction_met: Share::default(),
            resolution: None,
            department_time: None,
            reaction_met: None,
            resolution_met: None,
            department_met: None,
            forwarded: false,
            open: vec![],
            survey: None,
            survey_comment: None,
        }
    }

    #[test]
    fn satisfaction_figures_per_group_on_a_hand_built_set() {
        use crate::survey::SurveyKind::Csat;
        let t = Utc.with_ymd_and_hms(2026, 3, 9, 9, 0, 0).unwrap();
        let with = |theme: &str, survey| CaseFacts {
            theme: Some(theme.into()),
            survey,
            ..case(t)
        };
        let cases = [
            with("Afval", Some((Csat, Some(5)))),
            with("Afval", Some((Csat, Some(2)))),
            with("Afval", Some((Csat, None))),
            with("Afval", None),
            with("Wonen", Some((Csat, Some(4)))),
        ];
        let rows = aggregate(&cases, &[GroupBy::Theme], t);
        let afval = &rows[0].satisfaction;
        assert_eq!(rows[0].key, vec!["Afval".to_string()]);
        assert_eq!((afval.sent, afval.answered), (3, 2));
        assert_eq!(afval.response_rate, Some(2.0 / 3.0));
        assert_eq!(afval.mean_score, Some(3.5));
        assert_eq!(afval.csat_share, Some(0.5));
        let wonen = &rows[1].satisfaction;
        assert_eq!(
            (wonen.sent, wonen.answered, wonen.csat_share),
            (1, 1, Some(1.0))
        );
        let all = &aggregate(&cases, &[], t)[0].satisfaction;
        assert_eq!((all.sent, all.answered), (4, 3));
        assert_eq!(all.mean_score, Some(11.0 / 3.0));
    }

    #[test]
    fn time_buckets_are_amsterdam_local_with_iso_weeks() {
        // 2026-03-29 00:30 UTC is 01:30 CET, the night clocks go forward; 23:30 UTC on Dec 31
        // 2026 is already 2027 in Amsterdam, but still ISO week 53 of 2026.
        let c = case(Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0).unwrap());
        assert_eq!(GroupBy::Hour.value(&c), "03");
        assert_eq!(GroupBy::Weekday.value(&c), "7");
        let c = case(Utc.with_ymd_and_hms(2026, 12, 31, 23, 30, 0).unwrap());
        assert_eq!(GroupBy::Day.value(&c), "2027-01-01");
        assert_eq!(GroupBy::Month.value(&c), "2027-01");
        assert_eq!(GroupBy::Week.value(&c), "2026-W53");
        assert_eq!(GroupBy::Weekday.value(&c), "5");
    }

    #[test]
    fn nearest_rank_takes_the_lower_middle_and_the_ceiling_rank() {
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[1, 2, 3, 4], 50), Some(2));
        assert_eq!(nearest_rank(&[1, 2, 3, 4, 5], 50), Some(3));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&ten, 90), Some(9));
        let eleven: Vec<i64> = (1..=11).collect();
        assert_eq!(nearest_rank(&eleven, 90), Some(10));
        let thirty: Vec<i64> = (1..=30).collect();
        assert_eq!(nearest_rank(&thirty, 90), Some(27));
    }

    #[test]
    fn unanswered_cases_count_against_24h_only_after_a_day() {
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap();
        let mut young = case(now - chrono::Duration::hours(2));
        young.reaction_waiting_since = Some(young.arrival);
        let mut old = case(now - chrono::Duration::hours(30));
        old.reaction_waiting_since = Some(old.arrival);
        let mut fast = case(now - chrono::Duration::hours(40));
        fast.reaction = Some(Span {
            wall_seconds: DAY_SECONDS,
            business_seconds: 600,
        });
        let rows = aggregate([&young, &old, &fast], &[], now);
        assert_eq!(rows[0].within_24h, Share { part: 1, of: 2 });
        assert_eq!(rows[0].reaction.count, 1);
        assert_eq!(rows[0].reaction.wall.median, Some(1440.0));
        assert_eq!(rows[0].reaction.business.mean, Some(10.0));
    }

    #[test]
    fn bzk_shares_count_answered_and_overdue_cases_per_limit() {
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap();
        let h = |n: i64| chrono::Duration::hours(n);
        let answered = |minutes: i64| {
            let mut c = case(now - h(100));
            c.reaction = Some(Span {
                wall_seconds: minutes * 60,
                business_seconds: 0,
            });
            c
        };
        // Reactions in 30 min, 3 h, 5 h and 2 days; one waiting 6 h (missed 1 h and 4 h, may
        // still make 8 h), one waiting 10 min (left out everywhere).
        let mut waiting6 = case(now - h(6));
        waiting6.reaction_waiting_since = Some(now - h(6));
        let mut waiting0 = case(now - chrono::Duration::minutes(10));
        waiting0.reaction_waiting_since = Some(waiting0.arrival);
        // Resolutions: 7 h, 30 h; one open since 30 h (missed 8 h and 24 h, not yet 48 h).
        let mut r7 = answered(30);
        r7.resolution = Some(Span {
            wall_seconds: 7 * 3600,
            business_seconds: 0,
        });
        r7.open = vec![(now - h(100), Some(now - h(93)))];
        let mut r30 = answered(180);
        r30.resolution = Some(Span {
            wall_seconds: 30 * 3600,
            business_seconds: 0,
        });
        r30.open = vec![(now - h(100), Some(now - h(70)))];
        let mut open30 = answered(300);
        open30.open = vec![(now - h(30), None)];
        let cases = [r7, r30, open30, answered(2 * 24 * 60), waiting6, waiting0];
        let row = &aggregate(&cases, &[], now)[0];
        assert_eq!(
            row.reaction_within_hours,
            [
                Share { part: 1, of: 5 },
                Share { part: 2, of: 5 },
                Share { part: 3, of: 4 },
            ]
        );
        assert_eq!(
            row.resolution_within_hours,
            [
                Share { part: 1, of: 3 },
                Share { part: 1, of: 3 },
                Share { part: 2, of: 2 },
            ]
        );
    }

    #[test]
    fn within_a_limit_is_inclusive_and_waits_for_the_limit() {
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap();
        assert_eq!(within(Some(3600), None, now, 3600), Some(true));
        assert_eq!(within(Some(3601), None, now, 3600), Some(false));
        let since = now - chrono::Duration::seconds(3600);
        assert_eq!(within(None, Some(since), now, 3600), None);
        assert_eq!(within(None, Some(since), now, 3599), Some(false));
        assert_eq!(within(None, None, now, 3600), None);
    }

    #[test]
    fn unresolved_since_is_the_first_open_start_of_a_case_still_open() {
        let t = Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap();
        let later = t + chrono::Duration::hours(5);
        let mut c = case(t);
        c.open = vec![(t, Some(t + chrono::Duration::hours(1))), (later, None)];
        assert_eq!(c.unresolved_since(), Some(t));
        c.open = vec![(t, Some(later))];
        assert_eq!(c.unresolved_since(), None);
        c.open = vec![];
        assert_eq!(c.unresolved_since(), None);
    }

    #[test]
    fn visibility_groups_like_any_key() {
        let t = Utc.with_ymd_and_hms(2026, 3, 9, 9, 0, 0).unwrap();
        let private = CaseFacts {
            visibility: "private".into(),
            ..case(t)
        };
        let rows = aggregate([&case(t), &private, &private], &[GroupBy::Visibility], t);
        let keys: Vec<(&str, i64)> = rows.iter().map(|r| (r.key[0].as_str(), r.cases)).collect();
        assert_eq!(keys, vec![("private", 2), ("public", 1)]);
        assert_eq!(GroupBy::parse("visibility"), Some(GroupBy::Visibility));
    }

    fn office() -> CalendarVersions {
        let day = r#"[["08:30","17:00"]]"#;
        let spec: crate::sla::CalendarSpec = serde_json::from_str(&format!(
            r#"{{"timeZone":"Europe/Amsterdam","weekly":{{"monday":{day},"tuesday":{day},"wednesday":{day},"thursday":{day},"friday":{day}}}}}"#
        ))
        .unwrap();
        CalendarVersions::single(spec.validate().unwrap())
    }

    fn seg(from: DateTime<Utc>, to: Option<DateTime<Utc>>, running: bool) -> Segment {
        Segment::new(from, to, running)
    }

    #[test]
    fn clocks_give_reaction_resolution_over_reopens_and_department_times() {
        let cal = office();
        // Monday 2 March 2026; Amsterdam is UTC+1.
        let at = |d: u32, h: u32, m: u32| Utc.with_ymd_and_hms(2026, 3, d, h, m, 0).unwrap();
        let run = |kind, run, state, reason, segments| ClockRun {
            kind,
            run,
            state,
            stop_reason: reason,
            segments,
            calendar: &cal,
        };
        let runs = vec![
            // Friday 16:00 local to Monday 09:00 local: 1 h open on Friday, 30 min on Monday.
            run(
                ClockKind::Reaction,
                1,
                ClockState::Met,
                Some(StopReason::Reply),
                vec![seg(at(6, 15, 0), Some(at(9, 8, 0)), true)],
            ),
            // Resolved, reopened, resolved again: 10:00-11:00 and 12:00-12:30 local on Monday
            // 9 March, with a pause 10:15-10:45.
            run(
                ClockKind::Resolution,
                2,
                ClockState::Missed,
                Some(StopReason::Resolved),
                vec![seg(at(9, 11, 0), Some(at(9, 11, 30)), true)],
            ),
            run(
                ClockKind::Resolution,
                1,
                ClockState::Met,
                Some(StopReason::Resolved),
                vec![
                    seg(at(9, 9, 0), Some(at(9, 9, 15)), true),
                    seg(at(9, 9, 15), Some(at(9, 9, 45)), false),
                    seg(at(9, 9, 45), Some(at(9, 10, 0)), true),
                ],
            ),
            // Two forwards: one replaced (cancelled), one answered in 2 h.
            run(
                ClockKind::Department,
                1,
                ClockState::Cancelled,
                Some(StopReason::Reforwarded),
                vec![seg(at(9, 9, 0), Some(at(9, 9, 30)), true)],
            ),
            run(
                ClockKind::Department,
                2,
                ClockState::Met,
                Some(StopReason::DepartmentAnswer),
                vec![seg(at(9, 9, 30), Some(at(9, 11, 30)), true)],
            ),
        ];
        let mut c = case(at(6, 15, 0));
        c.apply_clocks(&runs);
        assert_eq!(
            c.reaction,
            Some(Span {
                wall_seconds: (65 * 60) * 60,
                business_seconds: 90 * 60
            })
        );
        assert_eq!(c.reaction_met, Some(true));
        assert_eq!(c.reaction_waiting_since, None);
        assert_eq!(
            c.resolution,
            Some(Span {
                wall_seconds: 150 * 60,
                business_seconds: 60 * 60
            })
        );
        assert_eq!(c.resolution_met, Some(false));
        assert_eq!(
            c.department_time,
            Some(Span {
                wall_seconds: 120 * 60,
                business_seconds: 120 * 60
            })
        );
        assert_eq!(c.department_met, Some(true));

        // Next reactions, each run on its own: answered in 20 min (met), answered late after the
        // night (missed), and one cancelled by resolving without a reply (no time, not judged).
        let next = [
            run(
                ClockKind::NextReaction,
                1,
                ClockState::Met,
                Some(StopReason::Reply),
                vec![seg(at(9, 9, 0), Some(at(9, 9, 20)), true)],
            ),
            run(
                ClockKind::NextReaction,
                2,
                ClockState::Missed,
                Some(StopReason::HoldingAnswer),
                vec![seg(at(9, 15, 0), Some(at(10, 8, 0)), true)],
            ),
            run(
                ClockKind::NextReaction,
                3,
                ClockState::Cancelled,
                Some(StopReason::ResolvedWithoutReply),
                vec![seg(at(10, 9, 0), Some(at(10, 9, 30)), true)],
            ),
        ];
        let mut c = case(at(9, 8, 0));
        c.apply_clocks(&next);
        assert_eq!(
            c.next_reactions,
            vec![
                Span {
                    wall_seconds: 20 * 60,
                    business_seconds: 20 * 60
                },
                // Mon 16:00-17:00 and Tue 08:30-09:00 local.
                Span {
                    wall_seconds: 17 * 3600,
                    business_seconds: 90 * 60
                },
            ]
        );
        assert_eq!(c.next_reaction_met, Share { part: 1, of: 2 });
        assert_eq!(
            c.reaction, None,
            "next reactions are not the first reaction"
        );
        let row = &aggregate([&c], &[], at(11, 0, 0))[0];
        assert_eq!(row.next_reaction.count, 2);
        assert_eq!(row.next_reaction.wall.median, Some(20.0));
        assert_eq!(row.next_reaction.wall.p90, Some(1020.0));
        assert_eq!(row.next_reaction.business.mean, Some(55.0));
        assert_eq!(row.next_reaction_within_norm, Share { part: 1, of: 2 });

        // A reaction still waiting, and one stopped by "geen reactie nodig": neither has a time.
        let waiting = [run(
            ClockKind::Reaction,
            1,
            ClockState::Paused,
            None,
            vec![seg(at(9, 9, 0), None, false)],
        )];
        let mut c = case(at(9, 9, 0));
        c.apply_clocks(&waiting);
        assert_eq!((c.reaction, c.reaction_met), (None, None));
        assert_eq!(c.reaction_waiting_since, Some(at(9, 9, 0)));
        let no_reply = [run(
            ClockKind::Reaction,
            1,
            ClockState::Cancelled,
            Some(StopReason::NoReplyNeeded),
            vec![seg(at(9, 9, 0), Some(at(9, 9, 5)), true)],
        )];
        let mut c = case(at(9, 9, 0));
        c.apply_clocks(&no_reply);
        assert_eq!(
            (c.reaction, c.reaction_met, c.reaction_waiting_since),
            (None, None, None)
        );
    }

    #[test]
    fn group_by_parses_strictly() {
        assert_eq!(
            parse_group_by("week,channel", 2),
            Ok(vec![GroupBy::Week, GroupBy::Channel])
        );
        assert_eq!(parse_group_by("", 2), Ok(vec![]));
        assert!(parse_group_by("week,week", 2).is_err());
        assert!(parse_group_by("week,channel,day", 2).is_err());
        assert!(parse_group_by("Week", 2).is_err());
        assert!(parse_group_by("week,", 2).is_err());
    }

    fn arb_span() -> impl Strategy<Value = Option<Span>> {
        proptest::option::of(
            (0i64..10_000_000, 0i64..10_000_000).prop_map(|(w, b)| Span {
                wall_seconds: w,
                business_seconds: b,
            }),
        )
    }

    prop_compose! {
        fn arb_case()(
            secs in 1_700_000_000i64..1_800_000_000,
            channel in 0usize..3,
            theme in proptest::option::of(0usize..3),
            messages_in in 0i64..5,
            messages_out in 0i64..5,
            reaction in arb_span(),
            waiting in any::<bool>(),
            resolution in arb_span(),
            department_time in arb_span(),
            mets in (proptest::option::of(any::<bool>()), proptest::option::of(any::<bool>()), proptest::option::of(any::<bool>())),
            forwarded in any::<bool>(),
            still_open in any::<bool>(),
        ) -> CaseFacts {
            let arrival = Utc.timestamp_opt(secs, 0).unwrap();
            let mut c = case(arrival);
            c.channel = ["x", "whatsapp", "facebook_page"][channel].into();
            c.theme = theme.map(|t| ["Afval", "Wonen", "Burgerzaken"][t].to_owned());
            c.messages_in = messages_in;
            c.messages_out = messages_out;
            c.reaction = reaction;
            c.reaction_waiting_since = (reaction.is_none() && waiting).then_some(arrival);
            c.resolution = resolution;
            c.department_time = department_time;
            (c.reaction_met, c.resolution_met, c.department_met) = mets;
            c.forwarded = forwarded;
            c.open = vec![(arrival, (!still_open).then_some(arrival))];
            c
        }
    }

    fn arb_group_by() -> impl Strategy<Value = Vec<GroupBy>> {
        proptest::sample::subsequence(GroupBy::ALL.to_vec(), 0..=2).prop_shuffle()
    }

    proptest! {
        #[test]
        fn grouping_then_summing_equals_ungrouped(
            cases in proptest::collection::vec(arb_case(), 0..60),
            group_by in arb_group_by(),
        ) {
            let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
            let all = aggregate(&cases, &[], now);
            let rows = aggregate(&cases, &group_by, now);
            let total = &all[0];
            let sum = |f: fn(&Row) -> i64| rows.iter().map(f).sum::<i64>();
            prop_assert_eq!(sum(|r| r.cases), total.cases);
            prop_assert_eq!(sum(|r| r.cases), cases.len() as i64);
            prop_assert_eq!(sum(|r| r.messages_in), total.messages_in);
            prop_assert_eq!(sum(|r| r.messages_out), total.messages_out);
            prop_assert_eq!(sum(|r| r.reaction.count), total.reaction.count);
            prop_assert_eq!(sum(|r| r.within_24h.part), total.within_24h.part);
            prop_assert_eq!(sum(|r| r.within_24h.of), total.within_24h.of);
            for i in 0..3 {
                let sum_of = |f: &dyn Fn(&Row) -> Share| rows.iter().map(|r| (f(r).part, f(r).of)).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
                let reaction = sum_of(&|r: &Row| r.reaction_within_hours[i]);
                prop_assert_eq!(reaction, (total.reaction_within_hours[i].part, total.reaction_within_hours[i].of));
                let resolution = sum_of(&|r: &Row| r.resolution_within_hours[i]);
                prop_assert_eq!(resolution, (total.resolution_within_hours[i].part, total.resolution_within_hours[i].of));
            }
            // The limits grow, so a case within a shorter one is within every longer one.
            prop_assert!(total.reaction_within_hours.windows(2).all(|w| w[0].part <= w[1].part));
            prop_assert!(total.resolution_within_hours.windows(2).all(|w| w[0].part <= w[1].part));
            prop_assert_eq!(sum(|r| r.reaction_within_norm.of), total.reaction_within_norm.of);
            prop_assert_eq!(sum(|r| r.forwarded.part), total.forwarded.part);
            // Rows come out ordered by key, each key once.
            prop_assert!(rows.windows(2).all(|w| w[0].key < w[1].key));
            prop_assert!(rows.iter().all(|r| r.key.len() == group_by.len()));
        }

        #[test]
        fn shares_lie_in_zero_to_one(cases in proptest::collection::vec(arb_case(), 0..40), group_by in arb_group_by()) {
            let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
            for r in aggregate(&cases, &group_by, now) {
                let bzk = r.reaction_within_hours.into_iter().chain(r.resolution_within_hours);
                for s in [r.reaction_within_norm, r.resolution_within_norm, r.department_within_norm, r.within_24h, r.forwarded].into_iter().chain(bzk) {
                    prop_assert!(s.part >= 0 && s.part <= s.of);
                    if let Some(v) = s.share() {
                        prop_assert!((0.0..=1.0).contains(&v));
                    }
                }
            }
        }

        #[test]
        fn median_and_p90_match_a_naive_sort(values in proptest::collection::vec(0i64..1_000_000, 1..200)) {
            let s = summarise(values.clone());
            let mut sorted = values.clone();
            sorted.sort();
            let n = sorted.len();
            // Nearest rank, written out: the smallest value with at least p of the values at or
            // below it.
            let naive = |percent: usize| {
                sorted.iter().copied().find(|v| {
                    let at_or_below = sorted.iter().filter(|w| *w <= v).count();
                    at_or_below * 100 >= percent * n
                }).unwrap()
            };
            prop_assert_eq!(s.median, Some(naive(50) as f64 / 60.0));
            prop_assert_eq!(s.p90, Some(naive(90) as f64 / 60.0));
            let mean = values.iter().sum::<i64>() as f64 / n as f64 / 60.0;
            prop_assert!((s.mean.unwrap() - mean).abs() < 1e-6);
            prop_assert!(s.median <= s.p90);
        }
    }
}
