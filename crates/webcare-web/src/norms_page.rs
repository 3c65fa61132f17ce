//! The published service norms (issue 16): what the municipality promises (the reaction and
//! resolution norms in business time) and how the desk did in the last 30 days, per channel, as
//! the research recommends municipalities publish. Public: no sign-in and no personal data (counts
//! and shares only). Computed by the `norms` report of the API (`webcare_api::routes::reports`)
//! and kept for five minutes, so a busy public page costs one report every five minutes.
//! `GET /public/service-norms`: HTML, or JSON for `Accept: application/json`.

use crate::pages::{render, Layout};
use crate::WebState;
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use uuid::Uuid;
use webcare_api::auth::Principal;
use webcare_api::routes::reports::{
    self as api, Cell, Column, ReportFilters, ReportKind, ReportQuery,
};
use webcare_domain::{ChannelKind, Role};

/// How long a computed page is served.
const FRESH: std::time::Duration = std::time::Duration::from_secs(300);

/// The page's figures, cached per desk.
pub type NormsCache = Arc<Mutex<Option<(Instant, Arc<Norms>)>>>;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Norms {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub generated_at: DateTime<Utc>,
    /// The desk's norms where no SLA policy says otherwise, in business minutes (opening hours).
    pub reaction_business_minutes: u32,
    pub resolution_business_minutes: u32,
    pub channels: Vec<ChannelFigures>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelFigures {
    pub channel: String,
    pub cases: i64,
    /// Shares 0..1 of the cases judged; `null` when none was.
    pub reaction_within_norm: Option<f64>,
    pub resolution_within_norm: Option<f64>,
    pub answered_within_24h: Option<f64>,
}

fn number(c: Cell) -> Option<f64> {
    match c {
        Cell::Count(n) => Some(n as f64),
        Cell::MaybeCount(n) => n.map(|n| n as f64),
        Cell::Number(v) => v,
    }
}

async fn compute(web: &WebState) -> Result<Norms, Response> {
    // Up to now, to the millisecond (a question asked this second counts).
    let to = Utc::now() + Duration::milliseconds(1);
    let from = to - Duration::days(30);
    // The desk itself asks: every case counts, and only counts and shares leave.
    let desk = Principal {
        token_id: Uuid::nil(),
        name: "public service norms".into(),
        role: Role::Admin,
        user: None,
    };
    let q = ReportQuery {
        filters: ReportFilters {
            from: from.to_rfc3339_opts(SecondsFormat::Millis, true),
            to: to.to_rfc3339_opts(SecondsFormat::Millis, true),
            ..Default::default()
        },
        group_by: Some("channel".into()),
        at: None,
    };
    let failed = |_| {
        crate::pages::error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "De cijfers zijn nu niet beschikbaar.",
        )
    };
    let req = api::parse(ReportKind::Norms, q, &desk).map_err(failed)?;
    let report = api::run(&web.app, req).await.map_err(failed)?;
    let defaults = web.app.store.sla_defaults();
    Ok(Norms {
        from,
        to,
        generated_at: report.generated_at,
        reaction_business_minutes: defaults.reaction_minutes,
        resolution_business_minutes: defaults.resolution_minutes,
        channels: report
            .rows
            .iter()
            .map(|r| ChannelFigures {
                channel: r.key.first().cloned().unwrap_or_default(),
                cases: r.cases,
                reaction_within_norm: number(Column::ReactionWithinNorm.cell(r)),
                resolution_within_norm: number(Column::ResolutionWithinNorm.cell(r)),
                answered_within_24h: number(Column::Within24hShare.cell(r)),
            })
            .collect(),
    })
}

async fn norms(web: &WebState) -> Result<Arc<Norms>, Response> {
    if let Some((at, n)) = web.norms.lock().expect("norms cache").as_ref() {
        if at.elapsed() < FRESH {
            return Ok(n.clone());
        }
    }
    let n = Arc::new(compute(web).await?);
    *web.norms.lock().expect("norms cache") = Some((Instant::now(), n.clone()));
    Ok(n)
}

struct Line {
    channel: String,
    cases: i64,
    reaction: String,
    resolution: String,
    within_24h: String,
}

#[derive(Template)]
#[template(path = "norms.html")]
struct NormsPage {
    layout: Layout,
    period: String,
    reaction: String,
    resolution: String,
    lines: Vec<Line>,
}

fn percent(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{:.0}%", v * 100.0))
}

fn hours(minutes: u32) -> String {
    match minutes {
        m if m % 60 == 0 => format!("{} uur", m / 60),
        m => format!("{m} minuten"),
    }
}

pub async fn page(State(web): State<WebState>, headers: HeaderMap) -> Response {
    let n = match norms(&web).await {
        Ok(n) => n,
        Err(r) => return r,
    };
    let json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    if json {
        return Json(&*n).into_response();
    }
    let channel_name = |c: &str| {
        c.parse::<ChannelKind>()
            .map_or_else(|_| c.to_owned(), |k| crate::format::channel(k).to_owned())
    };
    render(
        StatusCode::OK,
        NormsPage {
            layout: Layout::anonymous("Servicenormen"),
            period: format!(
                "{} tot {}",
                crate::format::datetime(n.from),
                crate::format::datetime(n.to)
            ),
            reaction: hours(n.reaction_business_minutes),
            resolution: hours(n.resolution_business_minutes),
            lines: n
                .channels
                .iter()
                .map(|c| Line {
                    channel: channel_name(&c.channel),
                    cases: c.cases,
                    reaction: percent(c.reaction_within_norm),
                    resolution: percent(c.resolution_within_norm),
                    within_24h: percent(c.answered_within_24h),
                })
                .collect(),
        },
    )
}
