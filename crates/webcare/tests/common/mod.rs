//! What the tests of the real binary share: starting it on a random port.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct Server {
    pub child: Child,
    pub base: String,
}

/// `webcare` with `args`, on `db`, bound to a random port, with `admin` as its admin token; the
/// caller adds what else it needs to `cmd` (environment, crash points).
pub fn command(db: &str, admin: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_webcare"));
    cmd.args(args)
        .env("WEBCARE_DATABASE_URL", db)
        .env("WEBCARE_BIND", "127.0.0.1:0")
        .env("WEBCARE_ADMIN_TOKEN", admin)
        .env("RUST_LOG", "warn");
    cmd
}

/// Spawns `cmd` and waits for its "listening on" line.
pub fn listen(mut cmd: Command) -> Server {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start webcare");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("webcare exited before listening")
            .unwrap();
        if let Some(addr) = line.strip_prefix("webcare listening on ") {
            break addr.trim().to_owned();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, base }
}

/// A client for tests that kill servers: a request to a dead one fails within 10 s.
#[allow(dead_code)] // not every test binary uses every helper
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Posts a signed Meta delivery (`body`, its `X-Hub-Signature-256`) to the server at `base`;
/// `None` when the server is gone.
#[allow(dead_code)]
pub async fn post_meta(
    client: &reqwest::Client,
    base: &str,
    (body, sig): (Vec<u8>, String),
) -> Option<reqwest::StatusCode> {
    client
        .post(format!("{base}/webhooks/meta"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sig)
        .body(body)
        .send()
        .await
        .ok()
        .map(|r| r.status())
}
