//! `webcare serve`: open the store, bootstrap the admin token, start the ingest writers, serve
//! HTTP until SIGTERM or Ctrl-C, then drain in-flight requests and queued writes.

use crate::config::{Config, LogFormat};
use std::sync::Arc;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use webcare_api::connectors::intake::{Intake, IntakeConfig};
use webcare_api::ingestor::Ingestor;
use webcare_api::{ApiSettings, AppState};
use webcare_store::{ConnectOptions, Store};

pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub async fn open_store(cfg: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = &cfg.database_url.0;
    tracing::info!(database = %webcare_store::redact_url(url), "opening the case store");
    let store = webcare_store::connect(
        url,
        ConnectOptions {
            max_connections: cfg.max_db_connections,
            reopen_window: chrono::Duration::days(cfg.reopen_window_days),
        },
    )
    .await?;
    Ok(store)
}

/// Makes sure the configured admin token exists (stored hashed, like every token).
async fn bootstrap_admin(store: &Arc<dyn Store>, cfg: &Config) -> anyhow::Result<()> {
    let Some(token) = &cfg.admin_token else {
        return Ok(());
    };
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

pub async fn serve(cfg: Config) -> anyhow::Result<()> {
    let store = open_store(&cfg).await?;
    bootstrap_admin(&store, &cfg).await?;
    store.set_sla_defaults(cfg.sla.defaults()?);
    let writers = cfg
        .ingest
        .writers
        .unwrap_or(if store.backend() == "sqlite" { 1 } else { 4 });
    let ingestor = Ingestor::start(store.clone(), writers, cfg.ingest.max_batch);
    let state = AppState {
        store: store.clone(),
        ingestor: ingestor.clone(),
        intake: Intake::start(
            store.clone(),
            ingestor.clone(),
            IntakeConfig {
                max_batch: cfg.ingest.max_batch * 2,
                lease: chrono::Duration::seconds(cfg.ingest.journal_lease_seconds as i64),
                ..Default::default()
            },
        ),
        settings: Arc::new(ApiSettings {
            body_limit: cfg.body_limit_bytes,
            public_hosts: vec![cfg.bind.to_ascii_lowercase()],
        }),
        oidc: cfg
            .oidc
            .as_ref()
            .map(|o| Arc::new(webcare_api::oidc::OidcVerifier::new(o.settings()))),
    };

    // Background workers share one cancellation token and are awaited on shutdown, after the
    // HTTP server has finished its in-flight requests.
    let stop = tokio_util::sync::CancellationToken::new();
    // Connector workers: journal processing, outbox sender, X poller.
    let mut workers = webcare_api::connectors::start(
        store.clone(),
        ingestor,
        webcare_api::connectors::WorkerConfig::default(),
        stop.clone(),
    );
    // Outbound webhooks: signed deliveries with retries.
    let webhooks = webcare_api::routes::webhook_subscriptions::WebhookWorker::new(
        store.clone(),
        Default::default(),
    );
    workers.push(tokio::spawn(webhooks.run(stop.clone())));
    if cfg.sla.worker {
        workers.push(
            webcare_api::sla_worker::SlaWorker::new(store.clone(), sla_sink(&state))
                .spawn(stop.clone()),
        );
    }

    let listener = TcpListener::bind(&cfg.bind).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, backend = store.backend(), "webcare is serving");
    // Tests and scripts read this line to find a random port.
    println!("webcare listening on http://{addr}");
    axum::serve(listener, webcare_api::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped accepting requests; in-flight work is done");
    stop.cancel();
    for w in workers {
        let _ = w.await;
    }
    store.close().await;
    Ok(())
}

/// SLA warnings and breaches go to the live events and webhooks.
fn sla_sink(state: &AppState) -> Arc<dyn webcare_api::sla_worker::AlertSink> {
    Arc::new(webcare_api::live::LiveAlertSink::new(state.clone()))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested");
}
