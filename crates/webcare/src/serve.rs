//! `webcare serve`: the desk with every worker (see `webcare::app`), until SIGTERM or Ctrl-C; then
//! it drains in-flight requests and queued writes.

use tracing_subscriber::EnvFilter;
use webcare::app::{App, Workers};
use webcare::config::{Config, LogFormat};

pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(webcare::log_mask::MaskedStderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub async fn serve(cfg: Config) -> anyhow::Result<()> {
    let app = App::start(&cfg, Workers::for_roles(&cfg, &cfg.roles)).await?;
    tracing::info!(roles = %cfg.roles, "roles of this process");
    // Tests and scripts read this line to find a random port.
    println!("webcare listening on http://{}", app.addr);
    shutdown_signal().await;
    app.shutdown().await
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
