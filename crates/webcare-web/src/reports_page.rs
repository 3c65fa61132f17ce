//! The report page ("Rapportages") for team leads (and department users, for their department):
//! a period and grouping form, the report as a table, and a CSV download of the same rows. It
//! calls the API's report functions (`webcare_api::routes::reports`), so the page shows exactly
//! what the API answers.

use crate::chart::{bar_chart, BarChart};
use crate::format;
use crate::pages::{api_error_page, render, user_names, Layout};
use crate::session::WebUser;
use crate::WebState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, Utc};
use chrono_tz::Europe::Amsterdam;
use serde::Deserialize;
use webcare_api::auth::{Authorized, Principal};
use webcare_api::error::ApiError;
use webcare_api::routes::reports::{
    self as api, Cell, Report, ReportFilters, ReportKind, ReportQuery, ReportReaders,
};
use webcare_desk::DeskError;
use webcare_domain::out_of_hours::WEEKDAYS;
use webcare_domain::reports::GroupBy;

/// The form's fields (all optional: the page opens with the last 30 days).
#[derive(Debug, Default, Deserialize)]
pub struct ReportForm {
    rapport: Option<String>,
    from: Option<String>,
    to: Option<String>,
    groep1: Option<String>,
    groep2: Option<String>,
    /// Only cases with this label.
    label: Option<String>,
    /// Only cases whose messages or citizen hold these words.
    zoek: Option<String>,
}

pub struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    layout: Layout,
    reports: Vec<Choice>,
    from: String,
    to: String,
    group1: Vec<Choice>,
    group2: Vec<Choice>,
    from_error: String,
    to_error: String,
    group_error: String,
    label: String,
    zoek: String,
    filter_error: String,
    csv_link: Option<String>,
    caption: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    chart: Option<BarChart>,
}

fn report_label(k: ReportKind) -> &'static str {
    match k {
        ReportKind::Volume => "Aantallen",
        ReportKind::Reaction => "Reactietijd",
        ReportKind::Resolution => "Afhandeltijd",
        ReportKind::Norms => "Binnen de norm",
        ReportKind::Forwarding => "Doorgezet naar vakafdelingen",
        ReportKind::Agents => "Per medewerker",
        ReportKind::Costs => "Kosten",
        ReportKind::Satisfaction => "Tevredenheid",
        ReportKind::Themes => "Per thema",
    }
}

fn group_label(g: GroupBy) -> &'static str {
    match g {
        GroupBy::Channel => "Kanaal",
        GroupBy::Visibility => "Openbaar of privé",
        GroupBy::Account => "Account",
        GroupBy::Theme => "Thema",
        GroupBy::Kind => "Rubriek",
        GroupBy::TargetGroup => "Doelgroep",
        GroupBy::Team => "Team",
        GroupBy::Department => "Vakafdeling",
        GroupBy::Agent => "Medewerker",
        GroupBy::Priority => "Prioriteit",
        GroupBy::Hour => "Uur",
        GroupBy::Weekday => "Weekdag",
        GroupBy::Day => "Dag",
        GroupBy::Week => "Week",
        GroupBy::Month => "Maand",
    }
}

/// A column's Dutch header: times as "Reactie, werkminuten, mediaan".
fn column_label(name: &str) -> String {
    let fixed = match name {
        "cases" => "Zaken",
        "messagesIn" => "Berichten in",
        "messagesOut" => "Berichten uit",
        "reactions" => "Gereageerd",
        "resolved" => "Afgehandeld",
        "within24h" => "Binnen 24 uur",
        "within24hOf" => "Van",
        "within24hShare" => "Binnen 24 uur (%)",
        "forwarded" => "Doorgezet",
        "forwardedShare" => "Doorgezet (%)",
        "departmentAnswers" => "Antwoorden vakafdeling",
        "answered" => "Beantwoorde vragen",
        "answeredTotal" => "Beantwoord (hele desk)",
        "periodCost" => "Kosten periode (hele desk)",
        "cost" => "Kosten",
        "costPerAnswered" => "Per beantwoorde vraag",
        "costPerCase" => "Per zaak",
        "surveysSent" => "Enquêtes verstuurd",
        "surveysAnswered" => "Beantwoord",
        "responseRate" => "Respons (%)",
        "meanScore" => "Gemiddeld cijfer",
        "csatShare" => "Tevreden (4-5, %)",
        "nps" => "NPS",
        "nextReactions" => "Vervolgvragen beantwoord",
        "backlogStart" => "Open bij begin",
        "backlogEnd" => "Open bij einde",
        "backlogAt" => "Open op moment",
        "previousCases" => "Zaken vorige periode",
        "casesChangeShare" => "Verandering (%)",
        "casesShare" => "Aandeel van alle zaken (%)",
        "themeCoverageShare" => "Zaken met een thema (%)",
        "reactionWithin1hShare" => "Reactie binnen 1 uur (%)",
        "reactionWithin4hShare" => "Reactie binnen 4 uur (%)",
        "reactionWithin8hShare" => "Reactie binnen 8 uur (%)",
        "resolutionWithin8hShare" => "Afgehandeld binnen 8 uur (%)",
        "resolutionWithin24hShare" => "Afgehandeld binnen 24 uur (%)",
        "resolutionWithin48hShare" => "Afgehandeld binnen 48 uur (%)",
        _ => "",
    };
    if !fixed.is_empty() {
        return fixed.into();
    }
    let (clock, rest) = [
        ("nextReaction", "Volgende reactie"),
        ("reaction", "Reactie"),
        ("resolution", "Afhandeling"),
        ("department", "Vakafdeling"),
    ]
    .into_iter()
    .find_map(|(p, nl)| name.strip_prefix(p).map(|r| (nl, r)))
    .unwrap_or(("", name));
    let part = match rest {
        "Met" => "binnen de norm",
        "Judged" => "beoordeeld",
        "WithinNormShare" => "binnen de norm (%)",
        "BusinessMinutesMedian" => "werkminuten, mediaan",
        "BusinessMinutesP90" => "werkminuten, p90",
        "BusinessMinutesMean" => "werkminuten, gemiddeld",
        "WallMinutesMedian" => "klokminuten, mediaan",
        "WallMinutesP90" => "klokminuten, p90",
        "WallMinutesMean" => "klokminuten, gemiddeld",
        other => other,
    };
    format!("{clock}, {part}")
}

/// A number the Dutch way: decimal comma.
fn number(v: f64, decimals: usize) -> String {
    format!("{v:.decimals$}").replace('.', ",")
}

fn cell_text(name: &str, c: Cell) -> String {
    match c {
        Cell::Count(n) | Cell::MaybeCount(Some(n)) => n.to_string(),
        Cell::Number(None) | Cell::MaybeCount(None) => "–".into(),
        Cell::Number(Some(v)) if name.ends_with("Share") || name == "responseRate" => {
            format!("{}%", number(v * 100.0, 1))
        }
        Cell::Number(Some(v)) if name.starts_with("cost") || name == "periodCost" => {
            format!("€ {}", number(v, 2))
        }
        Cell::Number(Some(v)) => number(v, 1),
    }
}

/// The report's query from the form; the defaults are the last 30 days (Amsterdam dates).
fn query(f: &ReportForm) -> (ReportKind, ReportQuery) {
    let kind = f
        .rapport
        .as_deref()
        .and_then(ReportKind::parse)
        .unwrap_or(ReportKind::Volume);
    let today = Utc::now().with_timezone(&Amsterdam).date_naive();
    let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    // Typed as dd-mm-jjjj; the report takes 2026-12-24.
    let date = |v: &Option<String>| non_empty(v).map(|d| format::iso_date(&d));
    let to = date(&f.to).unwrap_or_else(|| (today + Duration::days(1)).to_string());
    let from = date(&f.from).unwrap_or_else(|| (today - Duration::days(29)).to_string());
    let keys: Vec<String> = [&f.groep1, &f.groep2]
        .into_iter()
        .filter_map(non_empty)
        .collect();
    let q = ReportQuery {
        filters: ReportFilters {
            from,
            to,
            labels: non_empty(&f.label),
            q: non_empty(&f.zoek),
            ..Default::default()
        },
        group_by: (!keys.is_empty()).then(|| keys.join(",")),
        at: None,
    };
    (kind, q)
}

fn choices<T: Copy + PartialEq>(
    all: impl IntoIterator<Item = T>,
    value: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
    current: Option<&str>,
) -> Vec<Choice> {
    all.into_iter()
        .map(|t| Choice {
            value: value(t),
            label: label(t),
            selected: current == Some(value(t)),
        })
        .collect()
}

fn group_choices(current: Option<&str>) -> Vec<Choice> {
    let mut out = vec![Choice {
        value: "",
        label: "(niet)",
        selected: current.is_none_or(str::is_empty),
    }];
    out.extend(choices(GroupBy::ALL, GroupBy::as_str, group_label, current));
    out
}

/// The caller, if they may read reports, and the report the form asks for.
fn request(
    user: &WebUser,
    form: &ReportForm,
) -> Result<(Principal, ReportKind, ReportQuery), ApiError> {
    let caller = Authorized::<ReportReaders>::check(user.principal.clone())?.0;
    let (kind, q) = query(form);
    Ok((caller, kind, q))
}

/// `GET /rapportages`: the form, and the report when it is valid.
pub async fn page(
    State(web): State<WebState>,
    user: WebUser,
    Query(form): Query<ReportForm>,
) -> Response {
    let (caller, kind, q) = match request(&user, &form) {
        Ok(r) => r,
        Err(e) => return api_error_page(e),
    };
    let mut page = ReportsPage {
        layout: Layout::of(&user, "Rapportages"),
        reports: choices(
            ReportKind::ALL,
            ReportKind::as_str,
            report_label,
            Some(kind.as_str()),
        ),
        from: format::shown_date(&q.filters.from),
        to: format::shown_date(&q.filters.to),
        group1: group_choices(form.groep1.as_deref()),
        group2: group_choices(form.groep2.as_deref()),
        from_error: String::new(),
        to_error: String::new(),
        group_error: String::new(),
        label: form.label.clone().unwrap_or_default(),
        zoek: form.zoek.clone().unwrap_or_default(),
        filter_error: String::new(),
        csv_link: None,
        caption: String::new(),
        headers: Vec::new(),
        rows: Vec::new(),
        chart: None,
    };
    let link = csv_link(kind, &q, &form);
    let req = match api::parse(kind, q, &caller) {
        Ok(r) => r,
        Err(ApiError::Desk(DeskError::Invalid(ps))) => {
            for p in ps {
                let text = match p.code.as_str() {
                    "invalid_time" => "Vul een datum in (dd-mm-jjjj).".to_owned(),
                    "out_of_range" => "Kies een datum tussen het jaar 1 en 9998.".to_owned(),
                    "before_from" => "Kies een einddatum na de begindatum.".to_owned(),
                    "no_words" | "too_long" if p.name == "q" => {
                        "Zoek op één of meer woorden (hoogstens 200 tekens).".to_owned()
                    }
                    "too_many" => "Hoogstens 20 labels.".to_owned(),
                    _ => format!("Kies een andere groepering: {}", p.reason),
                };
                match p.name.as_str() {
                    "from" => page.from_error = text,
                    "to" => page.to_error = text,
                    "q" | "labels" => page.filter_error = text,
                    _ => page.group_error = text,
                }
            }
            return render(StatusCode::BAD_REQUEST, page);
        }
        Err(e) => return api_error_page(e),
    };
    let report = match api::run(&web.app, req).await {
        Ok(r) => r,
        Err(e) => return api_error_page(e),
    };
    let names = user_names(&web).await;
    page.caption = format!(
        "{}: zaken aangekomen van {} tot {}",
        report_label(kind),
        page.from,
        page.to
    );
    page.headers = report
        .group_by
        .iter()
        .map(|g| group_label(*g).to_owned())
        .chain(kind.columns().iter().map(|c| column_label(c.name())))
        .collect();
    page.rows = rows(&report, &names);
    page.chart = chart(&report, &page.rows);
    page.csv_link = Some(link);
    render(StatusCode::OK, page)
}

/// The table's text: group values readable (names for agents, channels and weekdays), then the
/// cells. The CSV keeps the API's values.
fn rows(report: &Report, names: &std::collections::HashMap<String, String>) -> Vec<Vec<String>> {
    report
        .rows
        .iter()
        .map(|row| {
            let keys = report.group_by.iter().zip(&row.key).map(|(g, v)| {
                if v.is_empty() {
                    let none = if *g == GroupBy::Theme {
                        "geen thema"
                    } else {
                        "(geen)"
                    };
                    return none.to_owned();
                }
                match g {
                    GroupBy::Visibility if v == "public" => "openbaar".to_owned(),
                    GroupBy::Visibility if v == "private" => "privé".to_owned(),
                    GroupBy::Agent => names.get(v).cloned().unwrap_or_else(|| v.clone()),
                    GroupBy::Channel => v.parse::<webcare_domain::ChannelKind>().map_or_else(
                        |_| v.clone(),
                        |k| webcare_domain::dutch::channel(k).to_owned(),
                    ),
                    GroupBy::Weekday => v
                        .parse::<usize>()
                        .ok()
                        .and_then(|d| WEEKDAYS.get(d.wrapping_sub(1)))
                        .map_or_else(|| v.clone(), |d| (*d).to_owned()),
                    _ => v.clone(),
                }
            });
            let cells = report
                .kind
                .columns()
                .iter()
                .map(|c| cell_text(c.name(), c.cell(row)));
            keys.chain(cells).collect()
        })
        .collect()
}

/// The figure a report's chart shows: the one a team lead reads first.
fn chart_column(kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Reaction => "reactionBusinessMinutesMedian",
        ReportKind::Resolution => "resolutionBusinessMinutesMedian",
        ReportKind::Norms => "reactionWithinNormShare",
        ReportKind::Forwarding => "forwardedShare",
        ReportKind::Costs => "costPerCase",
        ReportKind::Satisfaction => "meanScore",
        _ => "cases",
    }
}

/// A bar per group row of the chart column (the table's own texts as labels and values); none
/// for an ungrouped report.
fn chart(report: &Report, texts: &[Vec<String>]) -> Option<BarChart> {
    let groups = report.group_by.len();
    let columns = report.kind.columns();
    let at = columns
        .iter()
        .position(|c| c.name() == chart_column(report.kind))?;
    if groups == 0 {
        return None;
    }
    let column = columns[at];
    let bars: Vec<_> = report
        .rows
        .iter()
        .zip(texts)
        .map(|(row, text)| {
            let value = match column.cell(row) {
                Cell::Count(n) | Cell::MaybeCount(Some(n)) => Some(n as f64),
                Cell::Number(v) => v,
                Cell::MaybeCount(None) => None,
            };
            (text[..groups].join(" · "), value, text[groups + at].clone())
        })
        .collect();
    bar_chart(&column_label(column.name()), &bars)
}

/// The download link: the same form, at `/rapportages.csv`.
fn csv_link(kind: ReportKind, q: &ReportQuery, form: &ReportForm) -> String {
    let mut pairs = vec![
        ("rapport", kind.as_str().to_owned()),
        ("from", q.filters.from.clone()),
        ("to", q.filters.to.clone()),
    ];
    for (k, v) in [
        ("groep1", &form.groep1),
        ("groep2", &form.groep2),
        ("label", &form.label),
        ("zoek", &form.zoek),
    ] {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            pairs.push((k, v.clone()));
        }
    }
    format!(
        "/rapportages.csv?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

/// `GET /rapportages.csv`: the form's report as the API's CSV (every row, streamed).
pub async fn csv(
    State(web): State<WebState>,
    user: WebUser,
    Query(form): Query<ReportForm>,
) -> Response {
    let report = async {
        let (caller, kind, q) = request(&user, &form)?;
        api::run(&web.app, api::parse(kind, q, &caller)?).await
    };
    match report.await {
        Ok(report) => api::csv_response(report),
        Err(e) => api_error_page(e),
    }
}
