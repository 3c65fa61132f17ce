//! The reports (`docs/REPORTS.md`): figures per group over a period, as JSON rows or CSV. The
//! handlers parse and authorise; [`run`] reads the facts and [`webcare_domain::reports`] computes
//! the figures. The web app's report page calls the same functions.

use super::PageQuery;
use crate::auth::{Authorized, Policy, Principal};
use crate::error::{ApiError, ApiResult, InvalidParam, Problem};
use crate::extract::ApiQueries;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Amsterdam;
use futures::StreamExt;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use webcare_desk::DeskError;
use webcare_domain::reports::{parse_group_by, Aggregator, GroupBy, Row, Share, Span, Summary};
use webcare_domain::{costs, theme_report, trend};
use webcare_domain::{CaseKind, CaseStatus, Priority, Role, Visibility};
use webcare_store::reports::{CaseExport, FactsQuery};

/// Who may read reports: team leads and admins all cases, department users their own
/// department's (checked in [`scope`]).
pub struct ReportReaders;
impl Policy for ReportReaders {
    const ROLES: &'static [Role] = &[Role::Teamlead, Role::Admin, Role::Department];
}

/// The most `groupBy` keys a report takes.
pub const MAX_GROUP_BY: usize = 2;
/// The longest text filter (`assignee`, `team`, `theme`).
const MAX_TEXT: usize = 200;

/// A report's query: its period and filters, and its grouping.
#[derive(Default, Debug, Clone)]
pub struct ReportQuery {
    pub filters: ReportFilters,
    /// See [`GroupQuery`].
    pub group_by: Option<String>,
    /// See [`GroupQuery`].
    pub at: Option<String>,
}

/// The grouping of a report (not of the per-case export, which has a row per case).
#[derive(Default, Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupQuery {
    /// Comma-separated, at most 2 of: channel, visibility, account, theme, kind, targetGroup,
    /// team, department, agent, priority, hour, weekday, day, week, month.
    #[param(pattern = r"^[A-Za-z]*(,[A-Za-z]+)?$")]
    pub group_by: Option<String>,
    /// The volume report's `backlogAt`: the cases open at this moment (a date or an RFC 3339
    /// time, as `from`); ignored by the other reports, empty when a time key groups.
    #[param(
        pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$"
    )]
    pub at: Option<String>,
}

impl crate::extract::QueryKeys for GroupQuery {
    const KEYS: &'static [&'static str] = &["groupBy", "at"];
}

/// The period and the inbox's filters, as every report and the per-case export take them.
#[derive(Default, Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportFilters {
    /// Start of the period (inclusive): a date (midnight in Europe/Amsterdam) or an RFC 3339
    /// time, in the years 1 to 9998. Cases count in the period of their arrival.
    #[param(
        pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$"
    )]
    pub from: String,
    /// End of the period (exclusive), as `from`.
    #[param(
        pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$"
    )]
    pub to: String,
    pub channel_account_id: Option<Uuid>,
    pub status: Option<CaseStatus>,
    /// A user id; `none` for unassigned cases.
    #[param(max_length = 200)]
    pub assignee: Option<String>,
    #[param(max_length = 200)]
    pub team: Option<String>,
    #[param(max_length = 200)]
    pub theme: Option<String>,
    pub kind: Option<CaseKind>,
    pub priority: Option<Priority>,
    pub department_id: Option<Uuid>,
    /// The visibility of the case's first citizen message (public post or comment, or private
    /// message).
    pub visibility: Option<Visibility>,
    /// Comma-separated, at most 20; every label must be on the case.
    #[param(pattern = r"^[^,]*(,[^,]*){0,19}$")]
    pub labels: Option<String>,
    /// Words in the case's messages or the citizen's names (as the inbox searches): at most 200
    /// characters with at least one letter or digit.
    #[param(max_length = 200, pattern = r"[^\W_]")]
    pub q: Option<String>,
}

/// The reports, each a set of columns over the same figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    Volume,
    Reaction,
    Resolution,
    Norms,
    Forwarding,
    Agents,
    Costs,
    Satisfaction,
    Themes,
}

impl ReportKind {
    pub const ALL: [ReportKind; 9] = [
        ReportKind::Volume,
        ReportKind::Reaction,
        ReportKind::Resolution,
        ReportKind::Norms,
        ReportKind::Forwarding,
        ReportKind::Agents,
        ReportKind::Costs,
        ReportKind::Satisfaction,
        ReportKind::Themes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Volume => "volume",
            ReportKind::Reaction => "reaction",
            ReportKind::Resolution => "resolution",
            ReportKind::Norms => "norms",
            ReportKind::Forwarding => "forwarding",
            ReportKind::Agents => "agents",
            ReportKind::Costs => "costs",
            ReportKind::Satisfaction => "satisfaction",
            ReportKind::Themes => "themes",
        }
    }

    pub fn parse(s: &str) -> Option<ReportKind> {
        ReportKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The figure columns of this report, in order.
    pub fn columns(self) -> &'static [Column] {
        use Column::*;
        match self {
            ReportKind::Volume => &[
                Cases,
                MessagesIn,
                MessagesOut,
                BacklogStart,
                BacklogEnd,
                BacklogAt,
                PreviousCases,
                CasesChange,
            ],
            ReportKind::Reaction => &[
                Cases,
                Reactions,
                ReactionBusinessMedian,
                ReactionBusinessP90,
                ReactionBusinessMean,
                ReactionWallMedian,
                ReactionWallP90,
                ReactionWallMean,
                Within24h,
                Within24hOf,
                Within24hShare,
                NextReactions,
                NextReactionBusinessMedian,
                NextReactionBusinessP90,
                NextReactionBusinessMean,
                NextReactionWallMedian,
                NextReactionWallP90,
                NextReactionWallMean,
                NextReactionMet,
                NextReactionJudged,
                NextReactionWithinNorm,
            ],
            ReportKind::Resolution => &[
                Cases,
                Resolved,
                ResolutionBusinessMedian,
                ResolutionBusinessP90,
                ResolutionBusinessMean,
                ResolutionWallMedian,
                ResolutionWallP90,
                ResolutionWallMean,
            ],
            ReportKind::Norms => &[
                Cases,
                ReactionMet,
                ReactionJudged,
                ReactionWithinNorm,
                NextReactionMet,
                NextReactionJudged,
                NextReactionWithinNorm,
                ResolutionMet,
                ResolutionJudged,
                ResolutionWithinNorm,
                DepartmentMet,
                DepartmentJudged,
                DepartmentWithinNorm,
                Within24hShare,
                ReactionWithin1h,
                ReactionWithin4h,
                ReactionWithin8h,
                ResolutionWithin8h,
                ResolutionWithin24h,
                ResolutionWithin48h,
            ],
            ReportKind::Forwarding => &[
                Cases,
                Forwarded,
                ForwardedShare,
                DepartmentAnswers,
                DepartmentBusinessMedian,
                DepartmentBusinessP90,
                DepartmentBusinessMean,
                DepartmentWallMedian,
                DepartmentWallP90,
                DepartmentWallMean,
                DepartmentWithinNorm,
            ],
            ReportKind::Agents => &[
                Cases,
                MessagesOut,
                Reactions,
                ReactionBusinessMedian,
                ReactionWallMedian,
                ReactionWithinNorm,
                Within24hShare,
                Resolved,
                ResolutionBusinessMedian,
                ResolutionWallMedian,
            ],
            ReportKind::Costs => &[
                Cases,
                Answered,
                AnsweredTotal,
                PeriodCost,
                Cost,
                CostPerAnswered,
                CostPerCase,
            ],
            ReportKind::Satisfaction => &[
                Cases,
                SurveysSent,
                SurveysAnswered,
                ResponseRate,
                MeanScore,
                CsatShare,
                Nps,
            ],
            ReportKind::Themes => &[
                Cases,
                CasesShare,
                PreviousCases,
                CasesChange,
                ThemeCoverage,
                Reactions,
                ReactionBusinessMedian,
                ReactionWallMedian,
                ReactionWithinNorm,
                Within24hShare,
                Forwarded,
                ForwardedShare,
            ],
        }
    }
}

/// Declares [`Column`] and the name of each column, once.
macro_rules! columns {
    ($($col:ident => $name:literal,)*) => {
        /// One figure column. Times are in minutes, shares in 0..1.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Column {
            $($col,)*
        }

        impl Column {
            /// The column's key in JSON rows and its CSV header.
            pub fn name(self) -> &'static str {
                match self {
                    $(Column::$col => $name,)*
                }
            }
        }
    };
}

columns! {
    Cases => "cases",
    MessagesIn => "messagesIn",
    MessagesOut => "messagesOut",
    BacklogStart => "backlogStart",
    BacklogEnd => "backlogEnd",
    BacklogAt => "backlogAt",
    PreviousCases => "previousCases",
    CasesChange => "casesChangeShare",
    Reactions => "reactions",
    ReactionBusinessMedian => "reactionBusinessMinutesMedian",
    ReactionBusinessP90 => "reactionBusinessMinutesP90",
    ReactionBusinessMean => "reactionBusinessMinutesMean",
    ReactionWallMedian => "reactionWallMinutesMedian",
    ReactionWallP90 => "reactionWallMinutesP90",
    ReactionWallMean => "reactionWallMinutesMean",
    Within24h => "within24h",
    Within24hOf => "within24hOf",
    Within24hShare => "within24hShare",
    NextReactions => "nextReactions",
    NextReactionBusinessMedian => "nextReactionBusinessMinutesMedian",
    NextReactionBusinessP90 => "nextReactionBusinessMinutesP90",
    NextReactionBusinessMean => "nextReactionBusinessMinutesMean",
    NextReactionWallMedian => "nextReactionWallMinutesMedian",
    NextReactionWallP90 => "nextReactionWallMinutesP90",
    NextReactionWallMean => "nextReactionWallMinutesMean",
    NextReactionMet => "nextReactionMet",
    NextReactionJudged => "nextReactionJudged",
    NextReactionWithinNorm => "nextReactionWithinNormShare",
    Resolved => "resolved",
    ResolutionBusinessMedian => "resolutionBusinessMinutesMedian",
    ResolutionBusinessP90 => "resolutionBusinessMinutesP90",
    ResolutionBusinessMean => "resolutionBusinessMinutesMean",
    ResolutionWallMedian => "resolutionWallMinutesMedian",
    ResolutionWallP90 => "resolutionWallMinutesP90",
    ResolutionWallMean => "resolutionWallMinutesMean",
    ReactionMet => "reactionMet",
    ReactionJudged => "reactionJudged",
    ReactionWithinNorm => "reactionWithinNormShare",
    ResolutionMet => "resolutionMet",
    ResolutionJudged => "resolutionJudged",
    ResolutionWithinNorm => "resolutionWithinNormShare",
    DepartmentMet => "departmentMet",
    DepartmentJudged => "departmentJudged",
    DepartmentWithinNorm => "departmentWithinNormShare",
    Forwarded => "forwarded",
    ForwardedShare => "forwardedShare",
    DepartmentAnswers => "departmentAnswers",
    DepartmentBusinessMedian => "departmentBusinessMinutesMedian",
    DepartmentBusinessP90 => "departmentBusinessMinutesP90",
    DepartmentBusinessMean => "departmentBusinessMinutesMean",
    DepartmentWallMedian => "departmentWallMinutesMedian",
    DepartmentWallP90 => "departmentWallMinutesP90",
    DepartmentWallMean => "departmentWallMinutesMean",
    Answered => "answered",
    AnsweredTotal => "answeredTotal",
    PeriodCost => "periodCost",
    Cost => "cost",
    CostPerAnswered => "costPerAnswered",
    CostPerCase => "costPerCase",
    SurveysSent => "surveysSent",
    SurveysAnswered => "surveysAnswered",
    ResponseRate => "responseRate",
    MeanScore => "meanScore",
    CsatShare => "csatShare",
    Nps => "nps",
    ReactionWithin1h => "reactionWithin1hShare",
    ReactionWithin4h => "reactionWithin4hShare",
    ReactionWithin8h => "reactionWithin8hShare",
    ResolutionWithin8h => "resolutionWithin8hShare",
    ResolutionWithin24h => "resolutionWithin24hShare",
    ResolutionWithin48h => "resolutionWithin48hShare",
    CasesShare => "casesShare",
    ThemeCoverage => "themeCoverageShare",
}

/// A cell: a count, or a count, time or share that may be missing (`null`, an empty CSV cell).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    Count(i64),
    MaybeCount(Option<i64>),
    Number(Option<f64>),
}

/// Rounded for reading: minutes to 0.01, shares to 0.0001. The same in JSON and CSV.
fn round(v: Option<f64>, places: i32) -> Option<f64> {
    let f = 10f64.powi(places);
    v.map(|v| (v * f).round() / f)
}

impl Column {
    pub fn cell(self, r: &Row) -> Cell {
        use Column::*;
        let minutes = |v: Option<f64>| Cell::Number(round(v, 2));
        let share = |s: Share| Cell::Number(round(s.share(), 4));
        let median = |s: Summary| minutes(s.median);
        let p90 = |s: Summary| minutes(s.p90);
        let mean = |s: Summary| minutes(s.mean);
        match self {
            Cases => Cell::Count(r.cases),
            MessagesIn => Cell::Count(r.messages_in),
            MessagesOut => Cell::Count(r.messages_out),
            BacklogStart => Cell::MaybeCount(r.backlog_start),
            BacklogEnd => Cell::MaybeCount(r.backlog_end),
            BacklogAt => Cell::MaybeCount(r.backlog_at),
            PreviousCases => Cell::MaybeCount(r.previous_cases),
            // The change as a share of the previous count: 0.5 is 50% more.
            CasesChange => Cell::Number(round(
                r.previous_cases
                    .filter(|p| *p > 0)
                    .map(|p| (r.cases - p) as f64 / p as f64),
                4,
            )),
            Reactions => Cell::Count(r.reaction.count),
            ReactionBusinessMedian => median(r.reaction.business),
            ReactionBusinessP90 => p90(r.reaction.business),
            ReactionBusinessMean => mean(r.reaction.business),
            ReactionWallMedian => median(r.reaction.wall),
            ReactionWallP90 => p90(r.reaction.wall),
            ReactionWallMean => mean(r.reaction.wall),
            Within24h => Cell::Count(r.within_24h.part),
            Within24hOf => Cell::Count(r.within_24h.of),
            Within24hShare => share(r.within_24h),
            NextReactions => Cell::Count(r.next_reaction.count),
            NextReactionBusinessMedian => median(r.next_reaction.business),
            NextReactionBusinessP90 => p90(r.next_reaction.business),
            NextReactionBusinessMean => mean(r.next_reaction.business),
            NextReactionWallMedian => median(r.next_reaction.wall),
            NextReactionWallP90 => p90(r.next_reaction.wall),
            NextReactionWallMean => mean(r.next_reaction.wall),
            NextReactionMet => Cell::Count(r.next_reaction_within_norm.part),
            NextReactionJudged => Cell::Count(r.next_reaction_within_norm.of),
            NextReactionWithinNorm => share(r.next_reaction_within_norm),
            Resolved => Cell::Count(r.resolution.count),
            ResolutionBusinessMedian => median(r.resolution.business),
            ResolutionBusinessP90 => p90(r.resolution.business),
            ResolutionBusinessMean => mean(r.resolution.business),
            ResolutionWallMedian => median(r.resolution.wall),
            ResolutionWallP90 => p90(r.resolution.wall),
            ResolutionWallMean => mean(r.resolution.wall),
            ReactionMet => Cell::Count(r.reaction_within_norm.part),
            ReactionJudged => Cell::Count(r.reaction_within_norm.of),
            ReactionWithinNorm => share(r.reaction_within_norm),
            ResolutionMet => Cell::Count(r.resolution_within_norm.part),
            ResolutionJudged => Cell::Count(r.resolution_within_norm.of),
            ResolutionWithinNorm => share(r.resolution_within_norm),
            DepartmentMet => Cell::Count(r.department_within_norm.part),
            DepartmentJudged => Cell::Count(r.department_within_norm.of),
            DepartmentWithinNorm => share(r.department_within_norm),
            Forwarded => Cell::Count(r.forwarded.part),
            ForwardedShare => share(r.forwarded),
            DepartmentAnswers => Cell::Count(r.department.count),
            DepartmentBusinessMedian => median(r.department.business),
            DepartmentBusinessP90 => p90(r.department.business),
            DepartmentBusinessMean => mean(r.department.business),
            DepartmentWallMedian => median(r.department.wall),
            DepartmentWallP90 => p90(r.department.wall),
            DepartmentWallMean => mean(r.department.wall),
            Answered => Cell::Count(r.reaction.count),
            AnsweredTotal => Cell::Count(r.cost.map_or(0, |c| c.answered_total)),
            // Euros, rounded to the cent.
            PeriodCost => euros(r.cost.map(|c| c.period_cents)),
            Cost => euros(r.cost.and_then(|c| c.cents)),
            CostPerAnswered => per(r.cost.and_then(|c| c.cents), r.reaction.count),
            CostPerCase => per(r.cost.and_then(|c| c.cents), r.cases),
            SurveysSent => Cell::Count(r.satisfaction.sent as i64),
            SurveysAnswered => Cell::Count(r.satisfaction.answered as i64),
            ResponseRate => Cell::Number(round(r.satisfaction.response_rate, 4)),
            MeanScore => Cell::Number(round(r.satisfaction.mean_score, 2)),
            CsatShare => Cell::Number(round(r.satisfaction.csat_share, 4)),
            Nps => Cell::Number(round(r.satisfaction.nps, 2)),
            ReactionWithin1h => share(r.reaction_within_hours[0]),
            ReactionWithin4h => share(r.reaction_within_hours[1]),
            ReactionWithin8h => share(r.reaction_within_hours[2]),
            ResolutionWithin8h => share(r.resolution_within_hours[0]),
            ResolutionWithin24h => share(r.resolution_within_hours[1]),
            ResolutionWithin48h => share(r.resolution_within_hours[2]),
            CasesShare => share(r.cases_of_all.unwrap_or_default()),
            ThemeCoverage => share(r.theme_coverage.unwrap_or_default()),
        }
    }
}

/// Cents as euros, rounded to the cent.
fn euros(cents: Option<f64>) -> Cell {
    Cell::Number(cents.map(|c| c.round() / 100.0))
}

/// `cents` over `units` in euros, rounded to the cent; empty for no units.
fn per(cents: Option<f64>, units: i64) -> Cell {
    Cell::Number(
        cents
            .and_then(|c| costs::per_unit_cents(c, units))
            .map(|c| c as f64 / 100.0),
    )
}

/// A parsed, authorised report request.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    pub kind: ReportKind,
    pub group_by: Vec<GroupBy>,
    pub facts: FactsQuery,
    /// The moment of the volume report's `backlogAt`.
    pub at: Option<DateTime<Utc>>,
}

/// A computed report.
#[derive(Debug, Clone)]
pub struct Report {
    pub kind: ReportKind,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub group_by: Vec<GroupBy>,
    pub rows: Vec<Row>,
    pub generated_at: DateTime<Utc>,
}

impl Report {
    /// Every column name: the `groupBy` keys, then the figures.
    pub fn columns(&self) -> Vec<&'static str> {
        self.group_by
            .iter()
            .map(|g| g.as_str())
            .chain(self.kind.columns().iter().map(|c| c.name()))
            .collect()
    }
}

/// A date is midnight in Europe/Amsterdam; anything else must be RFC 3339. UTC years 1 to 9998
/// only: outside them an instant has no RFC 3339 form (Amsterdam's 0000-01-01 is UTC year -1).
fn parse_instant(name: &str, s: &str) -> Result<DateTime<Utc>, InvalidParam> {
    let t = parse_time(name, s)?;
    if !(1..=9998).contains(&t.year()) {
        return Err(InvalidParam::new(
            name,
            "out_of_range",
            "between the years 1 and 9998",
        ));
    }
    Ok(t)
}

fn parse_time(name: &str, s: &str) -> Result<DateTime<Utc>, InvalidParam> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        // Midnight exists on every day in Amsterdam (DST moves 02:00 and 03:00).
        if let Some(t) = Amsterdam
            .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
        {
            return Ok(t.with_timezone(&Utc));
        }
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            InvalidParam::new(
                name,
                "invalid_time",
                "a date (2026-03-01) or an RFC 3339 time (2026-03-01T00:00:00+01:00)",
            )
        })
}

/// Checks the query and applies what the caller may see; every invalid parameter is named.
pub fn parse(
    kind: ReportKind,
    query: ReportQuery,
    caller: &Principal,
) -> Result<ReportRequest, ApiError> {
    let ReportQuery {
        filters: q,
        group_by,
        at,
    } = query;
    let mut invalid = Vec::new();
    let at = at
        .map(|a| parse_instant("at", &a).map_err(|e| invalid.push(e)).ok())
        .unwrap_or_default();
    let from = parse_instant("from", &q.from)
        .map_err(|e| invalid.push(e))
        .ok();
    let to = parse_instant("to", &q.to).map_err(|e| invalid.push(e)).ok();
    if let (Some(f), Some(t)) = (from, to) {
        if f >= t {
            invalid.push(InvalidParam::new(
                "to",
                "before_from",
                "must be after `from`",
            ));
        }
    }
    let mut group_by = parse_group_by(group_by.as_deref().unwrap_or(""), MAX_GROUP_BY)
        .map_err(|reason| invalid.push(InvalidParam::new("groupBy", "invalid_group_by", reason)))
        .unwrap_or_default();
    // The documented limits (`maxLength`), so what the schema refuses is refused.
    for (name, v) in [
        ("assignee", &q.assignee),
        ("team", &q.team),
        ("theme", &q.theme),
    ] {
        if v.as_ref().is_some_and(|v| v.chars().count() > MAX_TEXT) {
            invalid.push(InvalidParam::new(
                name,
                "too_long",
                format!("at most {MAX_TEXT} characters"),
            ));
        }
    }
    if !invalid.is_empty() {
        return Err(ApiError::Desk(DeskError::Invalid(invalid)));
    }
    if kind == ReportKind::Agents && !group_by.contains(&GroupBy::Agent) {
        group_by.insert(0, GroupBy::Agent);
    }
    if kind == ReportKind::Themes && !group_by.contains(&GroupBy::Theme) {
        group_by.insert(0, GroupBy::Theme);
    }
    let labels = super::cases::text_filters(q.labels.as_deref(), q.q.as_deref())?;
    let mut facts = FactsQuery {
        from: from.unwrap_or_default(),
        to: to.unwrap_or_default(),
        channel_account_id: q.channel_account_id,
        status: q.status,
        assignee: q.assignee.map(|a| (a != "none").then_some(a)),
        team: q.team,
        theme: q.theme,
        kind: q.kind,
        priority: q.priority,
        department_id: q.department_id,
        visibility: q.visibility,
        labels,
        q: q.q,
        forwarded_only: false,
        open_during: false,
    };
    (facts.department_id, facts.forwarded_only) = scope(caller, facts.department_id)?;
    Ok(ReportRequest {
        kind,
        group_by,
        facts,
        at,
    })
}

/// The department filter the caller may use, and whether only forwarded cases count: team leads
/// and admins any; a department user only their own department (and always it); a department
/// token without a user the forwarded cases (as in the inbox); anyone else nothing.
fn scope(caller: &Principal, asked: Option<Uuid>) -> Result<(Option<Uuid>, bool), ApiError> {
    match caller.role {
        Role::Teamlead | Role::Admin => Ok((asked, false)),
        Role::Department => {
            let Some(user) = &caller.user else {
                return Ok((asked, true));
            };
            // A department user without a department sees nothing: a department that cannot
            // exist.
            let own = user.department_id.unwrap_or(Uuid::nil());
            match asked {
                Some(d) if d != own => Err(ApiError::Desk(DeskError::Forbidden(
                    "a department user sees only their own department's figures".into(),
                ))),
                _ => Ok((Some(own), true)),
            }
        }
        _ => Err(ApiError::Desk(DeskError::Forbidden(
            "reports are for team leads, admins and department users".into(),
        ))),
    }
}

/// Reads the facts page by page and computes the report.
pub async fn run(state: &AppState, req: ReportRequest) -> ApiResult<Report> {
    let now = Utc::now();
    let mut agg = Aggregator::new(&req.group_by, now);
    state
        .store
        .report_facts(&req.facts, &mut |f| agg.add(&f))
        .await?;
    let mut rows = agg.finish();
    if req.kind == ReportKind::Costs {
        allocate_costs(state, &req.facts, &mut rows).await?;
    }
    if req.kind == ReportKind::Volume {
        trend(state, &req, &mut rows).await?;
    }
    if req.kind == ReportKind::Themes {
        previous(state, &req, &mut rows).await?;
        theme_report::shares(&mut rows, &req.group_by);
    }
    Ok(Report {
        kind: req.kind,
        from: req.facts.from,
        to: req.facts.to,
        group_by: req.group_by,
        rows,
        generated_at: now,
    })
}

/// The costs report's figures: the period's cost under the model versions in force, allocated to
/// `rows` by their share of the questions the whole desk answered in the period (unfiltered, so a
/// filtered report shows its part of the cost, not all of it).
async fn allocate_costs(state: &AppState, facts: &FactsQuery, rows: &mut [Row]) -> ApiResult<()> {
    let versions = state.store.cost_models().await?;
    let period = costs::period_cents(&versions, facts.from, facts.to);
    let whole = FactsQuery {
        from: facts.from,
        to: facts.to,
        ..FactsQuery::default()
    };
    let answered_total = if is_whole(facts) {
        rows.iter().map(|r| r.reaction.count).sum()
    } else {
        let mut n = 0i64;
        state
            .store
            .report_facts(&whole, &mut |f| n += i64::from(f.reaction.is_some()))
            .await?;
        n
    };
    costs::allocate(rows, period, answered_total);
    Ok(())
}

/// The volume report's backlog and change against the previous period (`webcare_domain::trend`),
/// over the same filters and scope.
async fn trend(state: &AppState, req: &ReportRequest, rows: &mut Vec<Row>) -> ApiResult<()> {
    let (from, to) = (req.facts.from, req.facts.to);
    // The `at` moment may lie outside the period: read what may be open in both.
    let (lo, hi) = match req.at {
        Some(at) => (from.min(at), to.max(at + chrono::Duration::milliseconds(1))),
        None => (from, to),
    };
    let open_q = FactsQuery {
        from: lo,
        to: hi,
        open_during: true,
        ..req.facts.clone()
    };
    let mut open = Vec::new();
    state
        .store
        .report_facts(&open_q, &mut |f| open.push(f))
        .await?;
    trend::backlog(rows, &req.group_by, from, to, req.at, &open);
    previous(state, req, rows).await
}

/// Each row's cases of the previous period or bucket (`webcare_domain::trend::previous`), over
/// the same filters and scope.
async fn previous(state: &AppState, req: &ReportRequest, rows: &mut Vec<Row>) -> ApiResult<()> {
    let (from, to) = (req.facts.from, req.facts.to);
    let (prev_from, prev_to) = trend::previous_period(&req.group_by, from, to);
    let earlier_q = FactsQuery {
        from: prev_from,
        to: prev_to,
        ..req.facts.clone()
    };
    let mut earlier = Vec::new();
    state
        .store
        .report_facts(&earlier_q, &mut |f| earlier.push(f))
        .await?;
    trend::previous(rows, &req.group_by, &earlier);
    Ok(())
}

/// Whether `q` covers every case of its period (no filter, no scope).
fn is_whole(q: &FactsQuery) -> bool {
    let FactsQuery {
        from: _,
        to: _,
        channel_account_id,
        status,
        assignee,
        team,
        theme,
        kind,
        priority,
        department_id,
        visibility,
        labels,
        q,
        forwarded_only,
        open_during,
    } = q;
    channel_account_id.is_none()
        && status.is_none()
        && assignee.is_none()
        && team.is_none()
        && theme.is_none()
        && kind.is_none()
        && priority.is_none()
        && department_id.is_none()
        && visibility.is_none()
        && labels.is_empty()
        && q.is_none()
        && !forwarded_only
        && !open_during
}

// ------------------------------------------------------------------------------------ JSON

/// A report: its rows, each an object with the `groupBy` keys and the report's figures.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportView {
    pub report: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub group_by: Vec<String>,
    /// The keys of every row, in order (also the CSV header).
    pub columns: Vec<String>,
    pub generated_at: DateTime<Utc>,
    /// One object per group, ordered by its keys: the group's values (text), then counts
    /// (integers), times in minutes and shares in 0..1 (numbers, `null` when there is nothing to
    /// measure). The figures are defined in `docs/REPORTS.md`.
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// Serialises a report with its rows as flat objects in column order.
struct JsonReport<'a>(&'a Report);

impl Serialize for JsonReport<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(Some(6))?;
        m.serialize_entry("report", r.kind.as_str())?;
        m.serialize_entry("from", &r.from)?;
        m.serialize_entry("to", &r.to)?;
        let keys: Vec<&str> = r.group_by.iter().map(|g| g.as_str()).collect();
        m.serialize_entry("groupBy", &keys)?;
        m.serialize_entry("columns", &r.columns())?;
        m.serialize_entry("generatedAt", &r.generated_at)?;
        let rows: Vec<JsonRow<'_>> = r.rows.iter().map(|row| JsonRow(r, row)).collect();
        m.serialize_entry("rows", &rows)?;
        m.end()
    }
}

struct JsonRow<'a>(&'a Report, &'a Row);

impl Serialize for JsonRow<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (r, row) = (self.0, self.1);
        let cols = r.kind.columns();
        let mut m = s.serialize_map(Some(r.group_by.len() + cols.len()))?;
        for (g, v) in r.group_by.iter().zip(&row.key) {
            m.serialize_entry(g.as_str(), v)?;
        }
        for c in cols {
            match c.cell(row) {
                Cell::Count(n) => m.serialize_entry(c.name(), &n)?,
                Cell::MaybeCount(n) => m.serialize_entry(c.name(), &n)?,
                Cell::Number(v) => m.serialize_entry(c.name(), &v)?,
            }
        }
        m.end()
    }
}

/// The report as JSON.
pub fn to_json(report: &Report) -> serde_json::Value {
    serde_json::to_value(JsonReport(report)).unwrap_or_default()
}

// ------------------------------------------------------------------------------------- CSV

/// A text cell as written to CSV: text a spreadsheet would run as a formula gets a leading quote
/// (OWASP's advice on CSV injection), since group values and themes are typed by people and team
/// leads open these files in Excel. Quoting itself (RFC 4180) is the `csv` crate's.
pub fn csv_safe(v: &str) -> std::borrow::Cow<'_, str> {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}").into()
    } else {
        v.into()
    }
}

/// A CSV writer into memory with CRLF line ends (RFC 4180); a chunk is written, then sent.
pub fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new())
}

/// The bytes written so far. Writing into a `Vec` cannot fail; an error would only leave the
/// chunk short, never panic.
pub(crate) fn csv_bytes(w: csv::Writer<Vec<u8>>) -> bytes::Bytes {
    bytes::Bytes::from(w.into_inner().unwrap_or_default())
}

/// The header line.
pub fn csv_header(report: &Report) -> bytes::Bytes {
    let mut w = csv_writer();
    let _ = w.write_record(report.columns());
    csv_bytes(w)
}

/// The CSV lines of `rows`.
pub fn csv_lines(report: &Report, rows: &[Row]) -> bytes::Bytes {
    let mut w = csv_writer();
    for row in rows {
        let keys = row.key.iter().map(|v| csv_safe(v).into_owned());
        let figures = report.kind.columns().iter().map(|c| match c.cell(row) {
            Cell::Count(n) | Cell::MaybeCount(Some(n)) => n.to_string(),
            Cell::Number(Some(v)) => v.to_string(),
            Cell::Number(None) | Cell::MaybeCount(None) => String::new(),
        });
        let _ = w.write_record(keys.chain(figures));
    }
    csv_bytes(w)
}

/// Rows per streamed chunk.
const CSV_CHUNK: usize = 500;

/// The report as a streamed CSV download: every row, no cap.
pub fn csv_response(report: Report) -> Response {
    let filename = format!(
        "{}-{}-{}.csv",
        report.kind.as_str(),
        report.from.with_timezone(&Amsterdam).format("%Y%m%d"),
        report.to.with_timezone(&Amsterdam).format("%Y%m%d"),
    );
    let report = std::sync::Arc::new(report);
    let header_line = csv_header(&report);
    let chunks = (0..report.rows.len().div_ceil(CSV_CHUNK)).map(move |i| {
        let rows = &report.rows[i * CSV_CHUNK..((i + 1) * CSV_CHUNK).min(report.rows.len())];
        Ok::<_, std::io::Error>(csv_lines(&report, rows))
    });
    let stream = futures::stream::iter(std::iter::once(Ok(header_line)).chain(chunks));
    csv_download(&filename, axum::body::Body::from_stream(stream))
}

/// A CSV download of `body` named `filename`.
pub(crate) fn csv_download(filename: &str, body: axum::body::Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// Whether the client asked for CSV.
pub(crate) fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().split(';').next() == Some("text/csv"))
}

async fn answer(
    state: &AppState,
    caller: &Principal,
    kind: ReportKind,
    q: ReportQuery,
    csv: bool,
) -> ApiResult<Response> {
    let report = run(state, parse(kind, q, caller)?).await?;
    Ok(if csv {
        csv_response(report)
    } else {
        Json(to_json(&report)).into_response()
    })
}

/// One handler per report, and one for its `.csv` path, each documented with the same query and
/// answers; only the paths, the report and the summary differ.
macro_rules! report_handlers {
    ($($(#[doc = $doc:tt])* $name:ident, $csv_name:ident => $kind:ident, $path:tt, $csv_path:tt;)*) => {$(
        $(#[doc = $doc])*
        #[utoipa::path(
            get, path = $path, tag = "reports", params(ReportFilters, GroupQuery),
            responses(
                (status = 200, description = "The report's rows as JSON, or with `Accept: text/csv` as CSV",
                 content((ReportView = "application/json"), (String = "text/csv"))),
                (status = 400, body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        pub async fn $name(
            State(state): State<AppState>,
            caller: Authorized<ReportReaders>,
            headers: HeaderMap,
            ApiQueries(filters, group): ApiQueries<ReportFilters, GroupQuery>,
        ) -> ApiResult<Response> {
            let q = ReportQuery { filters, group_by: group.group_by, at: group.at };
            answer(&state, &caller.0, ReportKind::$kind, q, wants_csv(&headers)).await
        }

        $(#[doc = $doc])*
        /// The same rows as CSV, whatever the `Accept` header (a link a browser can download).
        #[utoipa::path(
            get, path = $csv_path, tag = "reports", params(ReportFilters, GroupQuery),
            responses(
                (status = 200, description = "The report's rows as CSV (streamed, every row)",
                 content((String = "text/csv"))),
                (status = 400, body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        pub async fn $csv_name(
            State(state): State<AppState>,
            caller: Authorized<ReportReaders>,
            ApiQueries(filters, group): ApiQueries<ReportFilters, GroupQuery>,
        ) -> ApiResult<Response> {
            let q = ReportQuery { filters, group_by: group.group_by, at: group.at };
            answer(&state, &caller.0, ReportKind::$kind, q, true).await
        }
    )*};
}

report_handlers! {
    /// Cases and messages in and out per group, by arrival in the period; the backlog (cases
    /// open) at the start and end of each row's interval and at `at`; the change against the
    /// previous period.
    volume, volume_csv => Volume, "/api/v1/reports/volume", "/api/v1/reports/volume.csv";
    /// First and next reaction times (median, p90, mean; business and wall-clock), the share
    /// answered within 24 hours and next reactions within norm.
    reaction, reaction_csv => Reaction, "/api/v1/reports/reaction", "/api/v1/reports/reaction.csv";
    /// Resolution times (median, p90, mean; business and wall-clock); a reopened case counts once.
    resolution, resolution_csv => Resolution, "/api/v1/reports/resolution", "/api/v1/reports/resolution.csv";
    /// The share within norm per clock (reaction, next reaction, resolution, department) and
    /// within 24 hours.
    norms, norms_csv => Norms, "/api/v1/reports/norms", "/api/v1/reports/norms.csv";
    /// The share of cases forwarded to departments and the departments' answer times.
    forwarding, forwarding_csv => Forwarding, "/api/v1/reports/forwarding", "/api/v1/reports/forwarding.csv";
    /// Figures per agent (the case's assignee), optionally split by one more key.
    agents, agents_csv => Agents, "/api/v1/reports/agents", "/api/v1/reports/agents.csv";
    /// The period's cost under the cost model (prorated by days) and the cost per answered
    /// question, allocated to each group by its share of the desk's answered questions.
    costs, costs_csv => Costs, "/api/v1/reports/costs", "/api/v1/reports/costs.csv";
    /// Citizen satisfaction: surveys sent after resolving and answered, the response rate, the
    /// mean score, the CSAT share (4 or 5) and the NPS (promoters minus detractors).
    satisfaction, satisfaction_csv => Satisfaction, "/api/v1/reports/satisfaction", "/api/v1/reports/satisfaction.csv";
    /// Per theme (then any further `groupBy` key): cases, their share of all the period's cases,
    /// the change against the previous period of equal length, the registration coverage (the
    /// share of cases with a theme at all), reaction times and norms, and the share forwarded.
    /// Cases without a theme form the row with an empty theme ("geen thema").
    themes, themes_csv => Themes, "/api/v1/reports/themes", "/api/v1/reports/themes.csv";
}

// --------------------------------------------------------------------------- per-case export

/// `met` or `missed` as the SLA engine judged a clock, absent when it did not.
fn verdict(met: Option<bool>) -> Option<&'static str> {
    met.map(|m| if m { "met" } else { "missed" })
}

/// One case of the export: its dimensions, times in minutes (wall-clock and business, as the
/// reports define them) and norms. No citizen data (name, handle, text).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaseExportRow {
    pub id: Uuid,
    /// The first citizen message's sent time.
    pub arrival: DateTime<Utc>,
    /// The platform kind.
    pub channel: String,
    pub account: Uuid,
    // Where the case stands and who has it, then what it is about.
    pub status: String,
    pub priority: String,
    pub team: Option<String>,
    pub department: Option<Uuid>,
    /// The assigned user's id.
    pub assignee: Option<String>,
    pub theme: Option<String>,
    pub kind: Option<String>,
    pub target_group: Option<String>,
    pub reaction_wall_minutes: Option<f64>,
    pub reaction_business_minutes: Option<f64>,
    pub resolution_wall_minutes: Option<f64>,
    pub resolution_business_minutes: Option<f64>,
    pub department_wall_minutes: Option<f64>,
    pub department_business_minutes: Option<f64>,
    /// `met` or `missed`; absent when the clock was not judged.
    pub reaction_norm: Option<&'static str>,
    pub resolution_norm: Option<&'static str>,
    pub department_norm: Option<&'static str>,
    pub forwarded: bool,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// The export's columns: the JSON keys of [`CaseExportRow`] and the CSV header.
pub const CASE_COLUMNS: [&str; 23] = [
    "id",
    "arrival",
    "channel",
    "account",
    "status",
    "priority",
    "team",
    "department",
    "assignee",
    "theme",
    "kind",
    "targetGroup",
    "reactionWallMinutes",
    "reactionBusinessMinutes",
    "resolutionWallMinutes",
    "resolutionBusinessMinutes",
    "departmentWallMinutes",
    "departmentBusinessMinutes",
    "reactionNorm",
    "resolutionNorm",
    "departmentNorm",
    "forwarded",
    "resolvedAt",
];

impl From<CaseExport> for CaseExportRow {
    fn from(c: CaseExport) -> Self {
        let f = c.facts;
        let minutes = |s: i64| round(Some(s as f64 / 60.0), 2);
        let wall = |s: Option<Span>| s.and_then(|s| minutes(s.wall_seconds));
        let business = |s: Option<Span>| s.and_then(|s| minutes(s.business_seconds));
        CaseExportRow {
            id: f.case_id,
            arrival: f.arrival,
            channel: f.channel,
            account: f.account,
            status: c.status,
            priority: f.priority,
            team: f.team,
            department: f.department,
            assignee: f.agent,
            theme: f.theme,
            kind: f.kind,
            target_group: f.target_group,
            reaction_wall_minutes: wall(f.reaction),
            reaction_business_minutes: business(f.reaction),
            resolution_wall_minutes: wall(f.resolution),
            resolution_business_minutes: business(f.resolution),
            department_wall_minutes: wall(f.department_time),
            department_business_minutes: business(f.department_time),
            reaction_norm: verdict(f.reaction_met),
            resolution_norm: verdict(f.resolution_met),
            department_norm: verdict(f.department_met),
            forwarded: f.forwarded,
            resolved_at: c.resolved_at,
        }
    }
}

impl CaseExportRow {
    /// The row with its typed texts made safe for a spreadsheet ([`csv_safe`]).
    fn for_csv(mut self) -> Self {
        for v in [
            &mut self.theme,
            &mut self.kind,
            &mut self.target_group,
            &mut self.team,
            &mut self.assignee,
        ]
        .into_iter()
        .flatten()
        {
            if let std::borrow::Cow::Owned(safe) = csv_safe(v) {
                *v = safe;
            }
        }
        for v in [&mut self.channel, &mut self.status, &mut self.priority] {
            if let std::borrow::Cow::Owned(safe) = csv_safe(v) {
                *v = safe;
            }
        }
        self
    }
}

/// The CSV lines of `cases` (no header).
pub fn case_csv_lines(cases: Vec<CaseExport>) -> bytes::Bytes {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .has_headers(false)
        .from_writer(Vec::new());
    for c in cases {
        let _ = w.serialize(CaseExportRow::from(c).for_csv());
    }
    csv_bytes(w)
}

/// The CSV header line of the export.
pub fn case_csv_header() -> bytes::Bytes {
    let mut w = csv_writer();
    let _ = w.write_record(CASE_COLUMNS);
    csv_bytes(w)
}

/// A page of the per-case export.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaseExportPage {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The keys of every row, in order (also the CSV header).
    pub columns: Vec<String>,
    /// The cases of this page in arrival order.
    pub rows: Vec<CaseExportRow>,
    /// The next page, absent on the last.
    pub next: Option<String>,
}

/// Cases read per store page while streaming CSV: memory stays at one page.
pub const EXPORT_PAGE: usize = 1000;

/// Streams every case of `facts` after `after` as CSV, one store page at a time: the body never
/// holds more than a page, so a year exports with flat memory.
pub fn case_csv_response(
    store: std::sync::Arc<dyn webcare_store::Store>,
    facts: FactsQuery,
    after: Option<(DateTime<Utc>, Uuid)>,
) -> Response {
    let filename = format!(
        "cases-{}-{}.csv",
        facts.from.with_timezone(&Amsterdam).format("%Y%m%d"),
        facts.to.with_timezone(&Amsterdam).format("%Y%m%d"),
    );
    let pages = futures::stream::try_unfold(
        (store, facts, after, false),
        |(store, facts, after, done)| async move {
            if done {
                return Ok(None);
            }
            let page = store
                .report_cases(&facts, after, EXPORT_PAGE)
                .await
                .map_err(|e| {
                    // The status line is sent: the client sees a cut-off download.
                    tracing::error!(error = %e, "case export failed while streaming");
                    std::io::Error::other("case export failed")
                })?;
            let Some(last) = page.last() else {
                return Ok(None);
            };
            let next = Some((last.facts.arrival, last.facts.case_id));
            let done = page.len() < EXPORT_PAGE;
            Ok(Some((case_csv_lines(page), (store, facts, next, done))))
        },
    );
    let body =
        futures::stream::once(async { Ok::<_, std::io::Error>(case_csv_header()) }).chain(pages);
    csv_download(&filename, axum::body::Body::from_stream(body))
}

/// Every case of the period, one row each (no personal data): JSON pages, or with
/// `Accept: text/csv` one CSV download of all of them.
#[utoipa::path(
    get, path = "/api/v1/reports/cases", tag = "reports", params(ReportFilters, PageQuery),
    responses(
        (status = 200, description = "A page of cases as JSON, or with `Accept: text/csv` every case as CSV",
         content((CaseExportPage = "application/json"), (String = "text/csv"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn cases(
    State(state): State<AppState>,
    caller: Authorized<ReportReaders>,
    headers: HeaderMap,
    uri: Uri,
    ApiQueries(filters, page): ApiQueries<ReportFilters, PageQuery>,
) -> ApiResult<Response> {
    export(state, &caller.0, wants_csv(&headers), uri, filters, page).await
}

/// Every case of the period as CSV, whatever the `Accept` header (a link a browser can
/// download); `cursor` resumes after that case.
#[utoipa::path(
    get, path = "/api/v1/reports/cases.csv", tag = "reports", params(ReportFilters, PageQuery),
    responses(
        (status = 200, description = "Every case of the period as CSV (streamed)",
         content((String = "text/csv"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn cases_csv(
    State(state): State<AppState>,
    caller: Authorized<ReportReaders>,
    uri: Uri,
    ApiQueries(filters, page): ApiQueries<ReportFilters, PageQuery>,
) -> ApiResult<Response> {
    export(state, &caller.0, true, uri, filters, page).await
}

async fn export(
    state: AppState,
    caller: &Principal,
    csv: bool,
    uri: Uri,
    filters: ReportFilters,
    page: PageQuery,
) -> ApiResult<Response> {
    let q = ReportQuery {
        filters,
        group_by: None,
        at: None,
    };
    let req = parse(ReportKind::Volume, q, caller)?;
    let limit = super::page_limit(page.limit)? as usize;
    let after = match super::decode_cursor_any(page.cursor.as_deref())? {
        None => None,
        Some((Some(ms), id)) => Some((
            DateTime::from_timestamp_millis(ms).ok_or_else(bad_export_cursor)?,
            id,
        )),
        Some((None, _)) => return Err(bad_export_cursor()),
    };
    if csv {
        return Ok(case_csv_response(state.store.clone(), req.facts, after));
    }
    // One more than the page tells whether there is a next one.
    let mut page = state
        .store
        .report_cases(&req.facts, after, limit + 1)
        .await?;
    let more = page.len() > limit;
    page.truncate(limit);
    let next = more
        .then(|| page.last())
        .flatten()
        .map(|c| super::encode_cursor_v2(c.facts.arrival.timestamp_millis(), c.facts.case_id));
    Ok(Json(CaseExportPage {
        from: req.facts.from,
        to: req.facts.to,
        columns: CASE_COLUMNS.iter().map(|c| (*c).to_owned()).collect(),
        rows: page.into_iter().map(CaseExportRow::from).collect(),
        next: super::next_link_cursor(PATH_CASES, &super::query_pairs(&uri), next),
    })
    .into_response())
}

const PATH_CASES: &str = "/api/v1/reports/cases";

fn bad_export_cursor() -> ApiError {
    ApiError::invalid(
        "cursor",
        "invalid_cursor",
        "not a cursor from a `next` link of this export",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_columns_are_the_row_keys_in_order() {
        let row = CaseExportRow::from(CaseExport {
            facts: Default::default(),
            status: "new".into(),
            resolved_at: None,
        });
        let v = serde_json::to_value(&row).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let mut sorted = CASE_COLUMNS.to_vec();
        sorted.sort_unstable();
        // serde_json sorts keys without `preserve_order`; the order is checked on the CSV.
        let mut got = keys.clone();
        got.sort_unstable();
        assert_eq!(got, sorted);
    }

    #[test]
    fn formula_cells_are_quoted_and_csv_is_rfc_4180() {
        let mut facts = webcare_domain::reports::CaseFacts {
            theme: Some("=HYPERLINK(\"x\")".into()),
            team: Some("-1,5".into()),
            kind: Some("@kcc".into()),
            target_group: Some("+31".into()),
            ..Default::default()
        };
        facts.agent = Some("regel\neen".into());
        let out = case_csv_lines(vec![CaseExport {
            facts,
            status: "open".into(),
            resolved_at: None,
        }]);
        let text = std::str::from_utf8(&out).unwrap();
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        let rec = r.records().next().unwrap().unwrap();
        assert_eq!(rec.len(), CASE_COLUMNS.len());
        let cell = |name: &str| &rec[CASE_COLUMNS.iter().position(|c| *c == name).unwrap()];
        assert_eq!(cell("theme"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("kind"), "'@kcc");
        assert_eq!(cell("targetGroup"), "'+31");
        assert_eq!(cell("team"), "'-1,5");
        assert_eq!(cell("assignee"), "regel\neen");
        assert!(text.ends_with("\r\n"));
    }
}
