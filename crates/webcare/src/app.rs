//! The one composition root. `App::start` opens the store, registers the bootstrap admin token,
//! starts the ingest writers, the intake, the HTTP server and the chosen workers: `serve`, `demo`
//! and the end-to-end tests all build the desk here, so what a test runs is what production runs.

use crate::config::Config;
use crate::roles::{Role, Roles};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use webcare_api::{ApiSettings, AppState};
use webcare_desk::{Desk, IngestConfig, IntakeConfig};
use webcare_store::{ConnectOptions, Store};
use webcare_workers::webhooks::RetryPolicy;
use webcare_workers::WorkerConfig;

/// What a process runs: the API, and the background loops besides it (the intake, which answers
/// webhooks, comes with the API).
#[derive(Debug, Clone)]
pub struct Workers {
    /// The API, the web app and the webhooks. Without it the process answers only `/healthz` and
    /// `/readyz` (for its probes), and `/metrics` when configured.
    pub api: bool,
    /// Journal processing and sweep, outbox sender, X poller.
    pub connectors: Option<WorkerConfig>,
    /// Outbound webhook deliveries.
    pub webhooks: Option<RetryPolicy>,
    /// SLA timers and their notifications.
    pub sla: bool,
    /// The retention worker (role `retention`, with a hash key configured).
    pub retention: Option<webcare_workers::retention::RetentionConfig>,
}

impl Workers {
    /// Every role: one node that does everything (the SLA worker as configured).
    pub fn all(cfg: &Config) -> Workers {
        Self::for_roles(cfg, &Roles::all())
    }

    /// What a process with these roles runs.
    pub fn for_roles(cfg: &Config, roles: &Roles) -> Workers {
        let connectors = WorkerConfig {
            journal: roles.has(Role::Ingest),
            outbox: roles.has(Role::Outbox).then(Default::default),
            x_poller: roles.has(Role::Pollers).then(Default::default),
            ..WorkerConfig::default()
        };
        let any =
            connectors.journal || connectors.outbox.is_some() || connectors.x_poller.is_some();
        Workers {
            api: roles.has(Role::Api),
            connectors: any.then_some(connectors),
            webhooks: roles.has(Role::Webhooks).then(RetryPolicy::default),
            sla: roles.has(Role::Sla) && cfg.sla.worker,
            retention: if roles.has(Role::Retention) {
                let w = cfg.retention.worker();
                if w.is_none() {
                    tracing::warn!(
                        "role retention: no retention.hash_key configured; nothing is anonymised"
                    );
                }
                w
            } else {
                None
            },
        }
    }

    /// HTTP only: webhook deliveries are still processed as they are accepted.
    pub fn none() -> Workers {
        Workers {
            api: true,
            connectors: None,
            webhooks: None,
            sla: false,
            retention: None,
        }
    }
}

/// A running desk.
pub struct App {
    pub store: Arc<dyn Store>,
    pub state: AppState,
    pub addr: SocketAddr,
    /// Where `/metrics` is served on its own (`metrics.bind`).
    pub metrics_addr: Option<SocketAddr>,
    stop_workers: CancellationToken,
    stop_http: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    workers: Vec<JoinHandle<()>>,
}

pub async fn open_store(cfg: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = &cfg.database_url.0;
    tracing::info!(database = %webcare_store::redact_url(url), "opening the case store");
    let store = webcare_store::connect(
        url,
        ConnectOptions {
            max_connections: cfg.max_db_connections,
            reopen_window: chrono::Duration::days(cfg.reopen_window_days),
            openklant: cfg.openklant.is_some(),
        },
    )
    .await?;
    Ok(store)
}

/// Computes the inbox rows of cases stored before they existed (migration 0016), a batch at a
/// time, until none is left: a one-off after that upgrade, a single empty query on every other
/// start. Idempotent, so nodes starting together do no harm.
async fn backfill_inbox_rows(store: Arc<dyn Store>, stop: CancellationToken) {
    let mut total = 0;
    while !stop.is_cancelled() {
        match store.backfill_inbox_rows(500).await {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) => {
                tracing::warn!(error = %e, "inbox row backfill stopped; it resumes at the next start");
                break;
            }
        }
    }
    if total > 0 {
        tracing::info!(
            cases = total,
            "inbox rows computed for cases stored before they existed"
        );
    }
}

/// Makes sure the configured admin token exists (stored hashed, like every token).
async fn bootstrap_admin(store: &Arc<dyn Store>, cfg: &Config) -> anyhow::Result<()> {
    let Some(token) = &cfg.admin_token else {
        return Ok(());
    };
    anyhow::ensure!(
        token.0.len() >= 24,
        "admin_token must be at least 24 characters"
    );
    let hash = webcare_store::token::hash(&token.0);
    if store.find_token(&hash).await?.is_none() {
        match store
            .create_token("bootstrap-admin", webcare_domain::Role::Admin, &hash)
            .await
        {
            Ok(_) => tracing::info!("bootstrap admin token registered"),
            // Another node registered it at the same moment.
            Err(webcare_store::StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

impl App {
    /// Binds `cfg.bind` and starts the desk.
    pub async fn start(cfg: &Config, workers: Workers) -> anyhow::Result<App> {
        let listener = TcpListener::bind(&cfg.bind).await?;
        Self::start_on(cfg, listener, workers).await
    }

    /// Starts the desk on a bound listener (tests bind port 0).
    pub async fn start_on(
        cfg: &Config,
        listener: TcpListener,
        workers: Workers,
    ) -> anyhow::Result<App> {
        let store = open_store(cfg).await?;
        bootstrap_admin(&store, cfg).await?;
        store.set_sla_defaults(cfg.sla.defaults()?);
        let writers = cfg
            .ingest
            .writers
            .unwrap_or(if store.backend() == "sqlite" { 1 } else { 4 });
        let desk = Desk::start(
            store.clone(),
            IngestConfig {
                writers,
                max_batch: cfg.ingest.max_batch,
            },
            IntakeConfig {
                max_batch: cfg.ingest.max_batch * 2,
                lease: chrono::Duration::seconds(cfg.ingest.journal_lease_seconds as i64),
                ..Default::default()
            },
        )
        .with_zgw(cfg.zgw.clone())
        .with_openklant(cfg.openklant.clone());
        let addr = listener.local_addr()?;
        let state = AppState {
            desk: desk.clone(),
            settings: Arc::new(ApiSettings {
                body_limit: cfg.body_limit_bytes,
                public_hosts: vec![cfg.bind.to_ascii_lowercase(), addr.to_string()],
                journal_days: cfg.retention.journal_days,
            }),
            oidc: cfg
                .oidc
                .as_ref()
                .map(|o| Arc::new(webcare_api::oidc::OidcVerifier::new(o.settings()))),
        };

        // The workers share one cancellation token and are awaited on shutdown, after the HTTP
        // server has finished its in-flight requests.
        let stop_workers = CancellationToken::new();
        let loops = webcare_workers::Loops {
            connectors: workers.connectors.clone(),
            webhooks: workers.webhooks.clone(),
            sla: workers.sla,
            live_relay: workers.api,
            retention: workers.retention.clone(),
            // The zaak and Open Klant jobs go with the outbox: all send the desk's calls to others.
            zaak: workers
                .connectors
                .as_ref()
                .and_then(|c| c.outbox.as_ref())
                .map(|_| webcare_workers::zaak::ZaakWorkerConfig {
                    lease: std::time::Duration::from_secs(cfg.zaak_lease_seconds),
                    ..Default::default()
                }),
        };
        let mut handles = webcare_workers::start(&desk, loops, stop_workers.clone());
        handles.push(tokio::spawn(backfill_inbox_rows(
            store.clone(),
            stop_workers.clone(),
        )));

        let (stop_http, stopped) = oneshot::channel::<()>();
        // The web app's pages at /; every other path goes to the API router (/api/v1, webhooks,
        // health) whole, with its conventions layer, so an unknown path is still the API's
        // problem+json 404. (A merge would route unmatched paths past the API's layers.)
        // Request metrics are layered on each router itself, where the matched route template
        // is known (the outer router only sees its fallback).
        let (mut web, mut api) = if workers.api {
            (
                webcare_web::router_with_oidc(
                    state.clone(),
                    cfg.oidc.as_ref().and_then(|o| o.web()),
                ),
                webcare_api::router(state.clone()),
            )
        } else {
            // A worker node: its probes and nothing else (a 404 problem for every other path).
            (
                axum::Router::new(),
                webcare_api::health_router(state.clone()),
            )
        };
        let mut metrics_addr = None;
        if cfg.metrics.enabled() {
            if let Some(t) = &cfg.metrics.token {
                web = web.merge(crate::metrics::router(store.clone(), Some(&t.0)));
            }
            web = web.layer(axum::middleware::from_fn(crate::metrics::track));
            api = api.layer(axum::middleware::from_fn(crate::metrics::track));
            if let Some(bind) = &cfg.metrics.bind {
                let l = TcpListener::bind(bind).await?;
                metrics_addr = Some(l.local_addr()?);
                let stop = stop_workers.clone();
                let r = crate::metrics::router(store.clone(), None);
                handles.push(tokio::spawn(async move {
                    let _ = axum::serve(l, r)
                        .with_graceful_shutdown(stop.cancelled_owned())
                        .await;
                }));
            }
        }
        let router = web.fallback_service(api);
        // Timeouts, a connection limit and a bounded shutdown (see `crate::http`).
        let server = tokio::spawn(crate::http::serve(
            listener,
            router,
            cfg.http.limits(),
            stopped,
        ));
        tracing::info!(%addr, backend = store.backend(), api = workers.api, "webcare is serving");
        Ok(App {
            store,
            state,
            addr,
            metrics_addr,
            stop_workers,
            stop_http: Some(stop_http),
            server: Some(server),
            workers: handles,
        })
    }

    /// Stops accepting requests and finishes the ones in flight (closing what is still open
    /// after `http.shutdown_grace_seconds`), then stops the workers (each finishes its current
    /// step) and closes the store.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop_http.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await??;
        }
        tracing::info!("stopped accepting requests; in-flight work is done");
        self.stop_workers.cancel();
        for w in std::mem::take(&mut self.workers) {
            let _ = w.await;
        }
        self.store.close().await;
        Ok(())
    }
}

impl Drop for App {
    /// Dropped without `shutdown` (a test's end, or a simulated crash): stop everything at once.
    fn drop(&mut self) {
        self.stop_workers.cancel();
        if let Some(stop) = self.stop_http.take() {
            let _ = stop.send(());
        }
    }
}
