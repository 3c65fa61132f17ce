//! The HTTP server loop: `axum::serve` has no timeouts and no connection limit, so one client
//! that sends half a request kept `webcare serve` from exiting, and idle connections could use up
//! the process's file descriptors until `/healthz` failed (issue 17). This loop serves the same
//! router over hyper's HTTP/1 with:
//! * a **header-read timeout**: a request whose head has not fully arrived in time closes the
//!   connection (hyper's own timer);
//! * a **request timeout**: a handler (body read included) that has not answered in time is
//!   answered 503 (problem+json); a streamed body (SSE) is not limited;
//! * an **idle timeout**: a connection with no request in progress for this long is closed;
//! * a **connection limit**: past it, a new connection is answered `503` at once (problem+json,
//!   `Retry-After`) and closed, so the descriptors in use stay bounded and the answer is clear;
//! * a **bounded shutdown**: on stop, no new connections; open ones finish their request and
//!   close (idle ones at once); after `shutdown_grace` whatever is left is dropped.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;

/// The limits of the server loop (see the module docs); `[http]` in the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
}

/// What a connection over the limit is told before it is closed.
const BUSY_BODY: &str = r#"{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"too many open connections; try again shortly"}"#;

/// Serves `router` on `listener` until `stop` fires, then shuts down within
/// `limits.shutdown_grace` (plus the time to drop what is left).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    mut stop: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (closing_tx, closing) = tokio::sync::watch::channel(false);
    let router = router.layer(axum::middleware::from_fn(
        move |req: Request<Body>, next: axum::middleware::Next| async move {
            match tokio::time::timeout(limits.request_timeout, next.run(req)).await {
                Ok(res) => res,
                Err(_) => webcare_api::error::problem_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "the request was not answered within {} s",
                        limits.request_timeout.as_secs()
                    ),
                    vec![],
                ),
            }
        },
    ));
    let mut conns = JoinSet::new();
    loop {
        // Finished connections are reaped as we go, so the set holds only open ones.
        while conns.try_join_next().is_some() {}
        let accepted = tokio::select! {
            _ = &mut stop => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors (EMFILE) or a connection reset before accept: not fatal.
                // A short pause lets connections close instead of spinning on the error.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        match slots.clone().try_acquire_owned() {
            Ok(permit) => {
                let (router, closing) = (router.clone(), closing.clone());
                conns.spawn(async move {
                    serve_connection(stream, peer, router, limits, closing).await;
                    drop(permit);
                });
            }
            Err(_) => {
                tracing::warn!(
                    limit = limits.max_connections,
                    "connection limit reached; answered 503"
                );
                conns.spawn(refuse_busy(stream));
            }
        }
    }
    drop(listener);
    let _ = closing_tx.send(true);
    let open = conns.len();
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = conns.len(),
            of = open,
            "connections still open after the shutdown grace period; closing them"
        );
        conns.shutdown().await;
    }
    Ok(())
}

/// What a connection is doing, for the idle timeout: requests in progress (until their response
/// body is done, so an SSE stream is never idle) and when the last one ended.
struct Activity {
    started: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds after `started` when the connection last became idle.
    idle_since_ms: AtomicU64,
}

impl Activity {
    fn idle_deadline(&self, idle: Duration) -> Option<Instant> {
        (self.in_flight.load(Ordering::Acquire) == 0).then(|| {
            self.started + Duration::from_millis(self.idle_since_ms.load(Ordering::Acquire)) + idle
        })
    }
}

/// Held while a request (and its response body) is in progress.
struct Busy(Arc<Activity>);

impl Busy {
    fn new(a: Arc<Activity>) -> Self {
        a.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(a)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let ms = self.0.started.elapsed().as_millis() as u64;
        self.0.idle_since_ms.store(ms, Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    router: Router,
    limits: Limits,
    mut closing: tokio::sync::watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity {
        started: Instant::now(),
        in_flight: AtomicUsize::new(0),
        idle_since_ms: AtomicU64::new(0),
    });
    let act = activity.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let busy = Busy::new(act.clone());
        let router = router.clone();
        async move {
            let mut req = req.map(Body::new);
            // As `axum::serve` with connect info does: the web sign-in limits attempts per address.
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            let res = router
                .oneshot(req)
                .await
                .unwrap_or_else(|e: Infallible| match e {});
            // The connection stays busy until the body is sent (or the client goes away).
            Ok::<_, Infallible>(res.map(move |b| {
                Body::new(b.map_frame(move |f| {
                    let _ = &busy;
                    f
                }))
            }))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut shutting_down = *closing.borrow();
    if shutting_down {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        let idle_at = activity.idle_deadline(limits.idle_timeout);
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = closing.changed(), if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
            // Re-checked when it fires: a request may have started meanwhile.
            _ = sleep_until_or_recheck(idle_at) => {
                if let Some(at) = activity.idle_deadline(limits.idle_timeout) {
                    if Instant::now() >= at {
                        tracing::debug!("idle connection closed");
                        return;
                    }
                }
            }
        }
    }
}

/// Sleeps until `at`, or a while when the connection is busy (to look again).
async fn sleep_until_or_recheck(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => tokio::time::sleep(Duration::from_millis(500)).await,
    }
}

/// Answers 503 to a connection over the limit and closes it. What the client already sent is
/// read first (briefly), so closing does not reset the connection before it reads the answer.
async fn refuse_busy(mut stream: TcpStream) {
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{BUSY_BODY}",
        BUSY_BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        let mut buf = [0u8; 4096];
        // Whatever arrived with the connection (usually the request head).
        let _ = tokio::time::timeout(Duration::from_millis(50), stream.read(&mut buf)).await;
        stream.write_all(head.as_bytes()).await?;
        stream.shutdown().await?;
        while stream.read(&mut buf).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}
