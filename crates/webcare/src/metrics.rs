//! Prometheus `/metrics`: the exporter is installed as the process's `metrics` recorder once,
//! the first time a desk with metrics configured starts (until then recording is a no-op, so a
//! desk without metrics pays nothing). The names are in `webcare_desk::metrics`; the dashboard is
//! `deploy/grafana-dashboard.json`.
//!
//! Counters and histograms are recorded where things happen (HTTP requests here, ingest,
//! journal, outbox, SLA alerts, pollers and SSE streams where they happen); the journal's depth
//! and lag and the queues (outbox, armed SLA clocks, webhook deliveries) are read from the
//! database when scraped.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use webcare_api::metrics as m;
use webcare_store::Store;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's exporter, installed on first use.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".into()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                        10.0, 30.0, 60.0,
                    ],
                )
                .expect("bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics stays empty");
            }
            // Histograms are summarised on a schedule, not on the recording path.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                })
                .expect("spawn the metrics upkeep thread");
            handle
        })
        .clone()
}

/// Middleware: one counter and one histogram sample per request, labelled with the route
/// template (never the raw path: ids would make a series per case).
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::histogram!(m::HTTP_DURATION, "method" => method.clone(), "route" => route.clone())
        .record(start.elapsed().as_secs_f64());
    metrics::counter!(m::HTTP_REQUESTS, "method" => method, "route" => route, "status" => status)
        .increment(1);
    res
}

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    store: Arc<dyn Store>,
    /// The hash of the bearer token, when one is required.
    token_hash: Option<String>,
}

/// `GET /metrics` on its own router: with `token`, only for `Authorization: Bearer <token>`.
pub fn router(store: Arc<dyn Store>, token: Option<&str>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(Scrape {
            handle: handle(),
            store,
            token_hash: token.map(webcare_store::token::hash),
        })
}

async fn scrape(State(s): State<Scrape>, headers: HeaderMap) -> Response {
    if let Some(want) = &s.token_hash {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(webcare_store::token::hash);
        // Hashes are compared, so the time taken says nothing about the token.
        if given.as_deref() != Some(want.as_str()) {
            return webcare_api::error::problem_response(
                StatusCode::UNAUTHORIZED,
                "/metrics needs the metrics token as a bearer token".into(),
                vec![],
            );
        }
    }
    let pool = s.store.pool_stats();
    metrics::gauge!(m::DB_CONNECTIONS_OPEN).set(f64::from(pool.open));
    metrics::gauge!(m::DB_CONNECTIONS_IN_USE).set(f64::from(pool.open.saturating_sub(pool.idle)));
    match s.store.journal_stats().await {
        Ok(j) => {
            metrics::gauge!(m::JOURNAL_PENDING).set(j.pending as f64);
            metrics::gauge!(m::JOURNAL_FAILED).set(j.failed as f64);
            let age = j.oldest_pending.map_or(0.0, |t| {
                (chrono::Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
            });
            metrics::gauge!(m::JOURNAL_OLDEST_PENDING_AGE).set(age);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: reading the journal failed"),
    }
    match s.store.queue_stats().await {
        Ok(q) => {
            metrics::gauge!(m::OUTBOX_PENDING).set(q.outbox_pending as f64);
            metrics::gauge!(m::OUTBOX_FAILED).set(q.outbox_failed as f64);
            metrics::gauge!(m::SLA_CLOCKS_ARMED).set(q.clocks_armed as f64);
            metrics::gauge!(m::WEBHOOK_DELIVERIES_PENDING).set(q.webhook_pending as f64);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: reading the queues failed"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.handle.render(),
    )
        .into_response()
}
