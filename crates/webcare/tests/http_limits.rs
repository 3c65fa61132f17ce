//! The HTTP server's limits (issue 17, defect 2): a half-sent request neither blocks shutdown
//! beyond its bound nor holds its connection past the header-read timeout, idle connections are
//! closed, a connection over the limit is answered 503, and a handler that does not answer in
//! time (a body that never arrives) is answered 503. On both databases, through the composition
//! root (`App::start_on`), and `webcare serve` itself for SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use webcare::app::{App, Workers};
use webcare::config::{Config, HttpConfig, Secret};
use webcare_e2e::Backend;

async fn start(backend: Backend, http: HttpConfig) -> Option<App> {
    let url = webcare_store::testing::fresh_database_url(backend).await?;
    let cfg = Config {
        database_url: Secret(url),
        bind: "127.0.0.1:0".into(),
        max_db_connections: 4,
        http,
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Some(
        App::start_on(&cfg, listener, Workers::none())
            .await
            .unwrap(),
    )
}

fn quick() -> HttpConfig {
    HttpConfig {
        header_read_timeout_seconds: 1,
        request_timeout_seconds: 1,
        idle_timeout_seconds: 1,
        max_connections: Some(3),
        shutdown_grace_seconds: 1,
    }
}

/// [`quick`], but with the idle and header-read timeouts out of the way of what a test looks at.
fn patient(idle_seconds: u64, header_read_seconds: u64) -> HttpConfig {
    HttpConfig {
        idle_timeout_seconds: idle_seconds,
        header_read_timeout_seconds: header_read_seconds,
        ..quick()
    }
}

/// Reads until the peer closes; the bytes read, and how long it took.
async fn read_to_close(s: &mut TcpStream, within: Duration) -> (String, Duration) {
    let t = Instant::now();
    let mut out = Vec::new();
    let r = tokio::time::timeout(within, s.read_to_end(&mut out)).await;
    assert!(r.is_ok(), "the connection was closed within {within:?}");
    (String::from_utf8_lossy(&out).into_owned(), t.elapsed())
}

async fn healthz(addr: std::net::SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    read_to_close(&mut s, Duration::from_secs(5)).await.0
}

macro_rules! both {
    ($($name:ident),*) => {
        mod sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(webcare_e2e::Backend::Sqlite).await } )* }
        mod postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(webcare_e2e::Backend::Postgres).await } )* }
    };
}

both!(
    half_sent_and_idle_connections_are_closed,
    over_the_limit_answers_503_and_frees_up,
    a_body_that_never_arrives_is_answered_in_time,
    a_half_sent_request_does_not_hold_up_shutdown
);

async fn half_sent_and_idle_connections_are_closed(backend: Backend) {
    let Some(app) = start(backend, quick()).await else {
        return;
    };
    // Half a request head: closed by the header-read timeout.
    let mut half = TcpStream::connect(app.addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    // Nothing at all.
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    // One request, then idle on keep-alive.
    let mut kept = TcpStream::connect(app.addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = kept.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    for s in [&mut half, &mut silent, &mut kept] {
        let (_, took) = read_to_close(s, Duration::from_secs(4)).await;
        assert!(took < Duration::from_secs(4), "closed after {took:?}");
    }
    // And the desk still answers.
    assert!(healthz(app.addr).await.starts_with("HTTP/1.1 200"));
}

async fn over_the_limit_answers_503_and_frees_up(backend: Backend) {
    let Some(app) = start(backend, patient(30, 30)).await else {
        return;
    };
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(app.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let busy = healthz(app.addr).await;
    assert!(busy.starts_with("HTTP/1.1 503"), "{busy}");
    assert!(busy.contains("application/problem+json"), "{busy}");
    assert!(busy.contains("retry-after: 1"), "{busy}");
    assert!(busy.contains(r#""status":503"#), "{busy}");
    drop(held);
    // The slots are freed when the clients close.
    let mut ok = String::new();
    for _ in 0..50 {
        ok = healthz(app.addr).await;
        if ok.starts_with("HTTP/1.1 200") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
}

async fn a_body_that_never_arrives_is_answered_in_time(backend: Backend) {
    let Some(app) = start(backend, patient(30, 1)).await else {
        return;
    };
    let token = webcare_store::token::generate();
    app.store
        .create_token(
            "t",
            webcare_domain::Role::Admin,
            &webcare_store::token::hash(&token),
        )
        .await
        .unwrap();
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/messages HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: 200\r\n\r\n{{\"text\":"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let t = Instant::now();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(4), s.read(&mut buf))
        .await
        .expect("answered within the request timeout")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(t.elapsed() < Duration::from_secs(3));
    assert_eq!(app.store.count_messages().await.unwrap(), 0);
}

async fn a_half_sent_request_does_not_hold_up_shutdown(backend: Backend) {
    // The header-read timeout is long here: the shutdown bound must end it, not the timeout.
    let Some(app) = start(backend, patient(60, 60)).await else {
        return;
    };
    let mut half = TcpStream::connect(app.addr).await.unwrap();
    half.write_all(b"POST /api/v1/messages HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), app.shutdown())
        .await
        .expect("shutdown within its bound")
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    read_to_close(&mut half, Duration::from_secs(1)).await;
}

/// `webcare serve` exits on SIGTERM within the grace period while a client has sent half a
/// request (before: still running after 30 s).
#[test]
fn serve_exits_on_sigterm_despite_a_half_sent_request() {
    let dir = std::env::temp_dir().join(format!("webcare-sigterm-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_webcare"))
        .arg("serve")
        .env(
            "WEBCARE_DATABASE_URL",
            format!("sqlite://{}/desk.db", dir.display()),
        )
        .env("WEBCARE_BIND", "127.0.0.1:0")
        .env("WEBCARE_HTTP__SHUTDOWN_GRACE_SECONDS", "2")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start webcare");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("listening line").unwrap();
        if let Some(a) = line.strip_prefix("webcare listening on http://") {
            break a.trim().to_owned();
        }
    };
    let mut half = std::net::TcpStream::connect(&addr).unwrap();
    std::io::Write::write_all(&mut half, b"GET /healthz HTTP/1.1\r\nhost: x\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("webcare serve still running 10 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let _ = std::fs::remove_dir_all(&dir);
}
