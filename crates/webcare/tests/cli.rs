//! The binary's commands as an operator uses them.

use std::process::Command;
use webcare_e2e::Backend;

fn webcare(db: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_webcare"))
        .args(args)
        .env("WEBCARE_DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run webcare")
}

async fn token_create_prints_a_working_token_last(backend: Backend) {
    let Some(db) = webcare_store::testing::fresh_database_url(backend).await else {
        return;
    };
    let out = webcare(&db, &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = webcare(
        &db,
        &[
            "token",
            "create",
            "--role",
            "integration",
            "--name",
            "zaaksysteem",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.split_whitespace().last().unwrap();
    assert!(token.starts_with("wc_"));
    let store = webcare_store::connect(&db, Default::default())
        .await
        .unwrap();
    let rec = store
        .find_token(&webcare_store::token::hash(token))
        .await
        .unwrap()
        .expect("stored hashed");
    assert_eq!(rec.role, webcare_domain::Role::Integration);
    assert_eq!(rec.name, "zaaksysteem");
    store.close().await;
    let bad = webcare(
        &db,
        &["token", "create", "--role", "superuser", "--name", "x"],
    );
    assert!(!bad.status.success());
}

#[tokio::test]
async fn token_create_on_sqlite() {
    token_create_prints_a_working_token_last(Backend::Sqlite).await;
}

#[tokio::test]
async fn token_create_on_postgres() {
    token_create_prints_a_working_token_last(Backend::Postgres).await;
}

#[test]
fn openapi_command_prints_the_document() {
    let out = Command::new(env!("CARGO_BIN_EXE_webcare"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["paths"]["/cases"].is_object());
}

#[test]
fn bad_configuration_is_refused_with_a_reason() {
    let out = Command::new(env!("CARGO_BIN_EXE_webcare"))
        .arg("migrate")
        .env("WEBCARE_DATABASE_URL", "mysql://nope")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL scheme"));
    let out = Command::new(env!("CARGO_BIN_EXE_webcare"))
        .arg("serve")
        .env("WEBCARE_ADMIN_TOKEN", "short")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 24 characters"));
}

const WA_PHONE: &str = "106540352242922";

/// A WhatsApp delivery with personal data (a name, a phone number, a BSN) in its body.
fn whatsapp_body(id: &str, text: &str) -> String {
    serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "31308001400", "phone_number_id": WA_PHONE},
        "contacts": [{"profile": {"name": "Sanne Bakker"}, "wa_id": "31612345678"}],
        "messages": [{"from": "31612345678", "id": id, "timestamp": "1773136107",
            "type": "text", "text": {"body": text}}]}}]}]})
    .to_string()
}

/// Journals `body` and parks it as failed with `error`, as the desk does after its last attempt.
async fn failed_entry(store: &dyn webcare_store::Store, body: &[u8], error: &str) -> uuid::Uuid {
    use webcare_store::connectors::{JournalOutcome, JournalSource};
    let id = store
        .journal_append(JournalSource::Meta, None, body, chrono::Utc::now())
        .await
        .unwrap();
    let claimed = store
        .journal_claim(
            Some(id),
            chrono::Utc::now(),
            chrono::Duration::seconds(60),
            1,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    store
        .journal_finish(
            id,
            JournalOutcome::Failed {
                error: error.into(),
                retry_at: None,
            },
        )
        .await
        .unwrap();
    id
}

fn ok_stdout(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Failed deliveries are counted and listed without their bodies, and `replay` puts them back for
/// the running desk, whose journal sweep then stores the message.
async fn journal_stats_failed_and_replay(backend: Backend) {
    use webcare_e2e::connectors::{test_workers, ConnApp, FakePlatforms};
    let Some(db) = webcare_store::testing::fresh_database_url(backend).await else {
        return;
    };
    ok_stdout(webcare(&db, &["migrate"]));
    // The desk without its sweeps: nothing touches the journal but these commands.
    let desk = ConnApp::on_url(
        backend,
        db.clone(),
        FakePlatforms::start().await.unwrap(),
        None,
    )
    .await;
    desk.account("whatsapp", WA_PHONE).await;
    let store = desk.store.clone();
    let wa = failed_entry(
        store.as_ref(),
        whatsapp_body("wamid.J1", "Mijn BSN is 123456782, klopt mijn adres?").as_bytes(),
        "database is locked\n(after 8 attempts)",
    )
    .await;
    let broken = failed_entry(
        store.as_ref(),
        b"{\"object\":\"page\",\"entry\":5, \"name\": \"Sanne Bakker\"}",
        "invalid type: integer `5`, expected a sequence",
    )
    .await;
    // One still pending (the desk's sweep will take it).
    store
        .journal_append(
            webcare_store::connectors::JournalSource::Meta,
            None,
            whatsapp_body("wamid.J2", "Wanneer komt de vuilniswagen?").as_bytes(),
            chrono::Utc::now(),
        )
        .await
        .unwrap();

    let stats = ok_stdout(webcare(&db, &["journal", "stats"]));
    assert_eq!(stats, "pending    1\nprocessed  0\nfailed     2\n");

    let listed = ok_stdout(webcare(&db, &["journal", "failed"]));
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 3, "{listed}");
    assert!(lines[0].starts_with("id") && lines[0].ends_with("error"));
    assert!(
        lines[1].starts_with(&wa.to_string()),
        "oldest first: {listed}"
    );
    assert!(lines[1].contains(" meta "));
    assert!(lines[1].ends_with("database is locked (after 8 attempts)"));
    assert!(lines[2].starts_with(&broken.to_string()));
    assert!(lines[2].contains("expected a sequence"));
    for personal in ["Sanne", "31612345678", "123456782", "adres"] {
        assert!(!listed.contains(personal), "the body leaked: {listed}");
    }
    let one = ok_stdout(webcare(&db, &["journal", "failed", "--limit", "1"]));
    assert_eq!(one.lines().count(), 3);
    assert!(one.lines().nth(1).unwrap().starts_with(&wa.to_string()));
    assert_eq!(
        one.lines().last().unwrap(),
        "... and 1 more failed entries (use --limit)"
    );
    assert!(!webcare(&db, &["journal", "failed", "--limit", "0"])
        .status
        .success());

    // Bad ids are refused and change nothing.
    let out = webcare(&db, &["journal", "replay", "--id", "not-a-uuid"]);
    assert!(!out.status.success());
    let unknown = uuid::Uuid::now_v7().to_string();
    let out = webcare(&db, &["journal", "replay", "--id", &unknown]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no failed journal entry"));
    assert_eq!(store.journal_stats().await.unwrap().failed, 2);

    // Replaying one entry while the desk (now with its sweeps) runs: it is processed and the
    // citizen's message is stored.
    let (backend, url, fakes) = desk.crash();
    let desk = ConnApp::on_url(backend, url, fakes, Some(test_workers())).await;
    let out = ok_stdout(webcare(
        &db,
        &["journal", "replay", "--id", &wa.to_string()],
    ));
    assert_eq!(
        out,
        "1 failed entry put back to pending; the desk's journal sweep processes it\n"
    );
    let store = desk.store.clone();
    let mut state = String::new();
    for _ in 0..200 {
        state = store.journal_get(wa).await.unwrap().unwrap().state;
        if state == "processed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(
        state,
        "processed",
        "{:?}",
        store.journal_get(wa).await.unwrap().unwrap().error
    );
    desk.settle().await;
    let mut texts: Vec<String> = desk
        .messages()
        .await
        .into_iter()
        .map(|(_, id, _, text)| format!("{id}: {text}"))
        .collect();
    texts.sort();
    assert_eq!(
        texts,
        [
            "wamid.J1: Mijn BSN is 123456782, klopt mijn adres?",
            "wamid.J2: Wanneer komt de vuilniswagen?"
        ]
    );
    assert_eq!(
        store.journal_get(broken).await.unwrap().unwrap().state,
        "failed",
        "only the named entry"
    );

    // Replaying all: the broken one goes back too (and fails again in the desk's hands).
    let out = ok_stdout(webcare(&db, &["journal", "replay"]));
    assert!(out.starts_with("1 failed entry put back"), "{out}");
    desk.settle().await;
    let stats = ok_stdout(webcare(&db, &["journal", "stats"]));
    assert_eq!(stats, "pending    0\nprocessed  2\nfailed     1\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_commands_on_sqlite() {
    journal_stats_failed_and_replay(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_commands_on_postgres() {
    journal_stats_failed_and_replay(Backend::Postgres).await;
}

/// `webcare demo` is a living desk: it prints sign-ins, citizens write on every channel through
/// the real doors, new cases are auto-assigned in team kcc and published live, Bram answers his
/// cases through the outbox, a broken streetlight becomes a zaak, and no BSN reaches the console.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_a_living_desk() {
    use std::io::{BufRead, BufReader};
    let dir = std::env::temp_dir().join(format!("webcare-demo-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_webcare"))
        .args([
            "demo",
            "--interval-seconds",
            "0.2",
            "--answer-after-seconds",
            "1",
        ])
        .env(
            "WEBCARE_DATABASE_URL",
            format!("sqlite://{}/demo.db", dir.display()),
        )
        .env("WEBCARE_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the demo");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let next_line = |lines: &mut Vec<String>| {
        let l = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("demo output");
        lines.push(l.clone());
        l
    };
    let base = loop {
        let l = next_line(&mut lines);
        if let Some(rest) = l.strip_prefix("webcare demo: the desk is at ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let mut tokens = std::collections::HashMap::new();
    while tokens.len() < 5 {
        let l = next_line(&mut lines);
        if let (Some((who, _)), Some(t)) = (l.split_once(':'), l.split_whitespace().last()) {
            if t.starts_with("wc_") {
                tokens.insert(who.trim().to_owned(), t.to_owned());
            }
        }
    }
    let admin = tokens["admin (functioneel beheer)"].clone();
    let client = reqwest::Client::new();
    let get_as = |token: &str, path: String| {
        let req = client.get(format!("{base}{path}")).bearer_auth(token);
        async move {
            req.send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let get = |path: String| get_as(&admin, path);
    let mut events = client
        .get(format!("{base}/api/v1/events"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let live = webcare_e2e::read_events(&mut events, |e| {
        e.iter().filter(|(_, k, _)| k == "case.created").count() >= 3
    })
    .await;
    assert!(live.iter().any(|(_, k, _)| k == "message.received"));

    // Within the deadline: every channel, auto-assigned cases, and Bram's replies sent.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let users = get("/api/v1/users?limit=50".into()).await;
    let id_of = |name: &str| {
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (anna, bram) = (id_of("Anna de Vries"), id_of("Bram Mulder"));
    loop {
        let cases = get("/api/v1/cases?limit=200".into()).await;
        let items = cases["items"].as_array().unwrap().clone();
        let accounts: std::collections::HashSet<&str> = items
            .iter()
            .filter_map(|c| c["channelAccountId"].as_str())
            .collect();
        let assigned_both = [&anna, &bram]
            .iter()
            .all(|a| items.iter().any(|c| c["assignee"] == a.as_str()));
        let mut sent = false;
        for c in items.iter().filter(|c| c["assignee"] == bram.as_str()) {
            let replies = get(format!(
                "/api/v1/cases/{}/replies",
                c["id"].as_str().unwrap()
            ))
            .await;
            sent |= replies
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["state"] == "sent"));
        }
        // A broken streetlight became a zaak in the demo's fake Open Zaak (its routing rule).
        let zaak = items.iter().any(|c| c["zaakUrl"].is_string());
        if accounts.len() == 4 && assigned_both && sent && zaak {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "accounts {}, both assigned {assigned_both}, a reply sent {sent}, a zaak {zaak}",
            accounts.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    // Anna's printed sign-in acts as Anna: her inbox holds the cases auto-assigned to her.
    let mine = get_as(
        &tokens["Anna de Vries (agent)"],
        "/api/v1/cases?assignee=me&limit=200".into(),
    )
    .await;
    let mine = mine["items"].as_array().unwrap();
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|c| c["assignee"] == anna.as_str()));
    let departments = get("/api/v1/departments".into()).await;
    assert_eq!(departments["items"][0]["name"], "Openbare ruimte");
    let _ = child.kill();
    let _ = child.wait();
    while let Ok(l) = rx.try_recv() {
        lines.push(l);
    }
    assert!(
        lines.iter().all(|l| !webcare_domain::bsn::contains_bsn(l)),
        "no BSN in the console"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fresh SQLite database and the store on it.
async fn fresh_sqlite() -> (String, std::sync::Arc<dyn webcare_store::Store>) {
    let db = webcare_store::testing::fresh_database_url(Backend::Sqlite)
        .await
        .unwrap();
    let store = webcare_store::connect(&db, Default::default())
        .await
        .unwrap();
    (db, store)
}

/// `webcare user set-password` reads the password from stdin, refuses a short one, and stores an
/// argon2id hash the web app's sign-in verifies.
#[tokio::test]
async fn user_set_password_from_stdin() {
    use std::io::Write;
    let (db, store) = fresh_sqlite().await;
    let now = chrono::Utc::now();
    let user = store
        .create_user(webcare_store::agent::UserRecord {
            id: uuid::Uuid::now_v7(),
            name: "Anna de Vries".into(),
            email: "anna@gemeente.test".into(),
            subject: None,
            role: webcare_domain::Role::Agent,
            teams: vec![],
            department_id: None,
            active: true,
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    let set = |password: &str, email: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_webcare"))
            .args(["user", "set-password", "--email", email])
            .env("WEBCARE_DATABASE_URL", &db)
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let short = set("kort", "anna@gemeente.test");
    assert!(!short.status.success());
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("at least")
            || String::from_utf8_lossy(&short.stderr).contains("minstens")
    );
    assert!(!set("een lang genoeg wachtwoord", "nobody@gemeente.test")
        .status
        .success());
    assert_eq!(store.password_hash(user.id).await.unwrap(), None);
    let ok = set("een lang genoeg wachtwoord", "anna@gemeente.test");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let hash = store.password_hash(user.id).await.unwrap().unwrap();
    assert!(hash.starts_with("$argon2id$"));
    assert!(webcare_web::password::verify(
        "een lang genoeg wachtwoord",
        &hash
    ));
    store.close().await;
}

/// A citizen message on `account`, ingested as every door does.
fn backup_item(account: uuid::Uuid, n: usize) -> webcare_store::IngestItem {
    use webcare_domain::inbound::{Author, InboundMessage};
    webcare_store::IngestItem {
        channel_account_id: account,
        message: InboundMessage {
            platform_message_id: format!("m-{n}"),
            in_reply_to: None,
            conversation_key: None,
            visibility: webcare_domain::Visibility::Private,
            direction: webcare_domain::Direction::Inbound,
            author: Author {
                platform_user_id: format!("u-{}", n % 50),
                handle: None,
                display_name: Some(format!("Burger {n}")),
            },
            text: format!("Melding {n}: lantaarnpaal kapot"),
            sent_at: chrono::Utc::now(),
            attachments: Vec::new(),
            flags: Vec::new(),
        },
        received_at: chrono::Utc::now(),
        default_team: None,
    }
}

/// `webcare backup` while the desk writes: the copy is a consistent snapshot (every message it
/// holds has its case, nothing half-written), holds at least what was committed before it
/// started, opens as a desk (migrations current, ingest works), and never overwrites a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_writing_restores_as_a_desk() {
    let (db, store) = fresh_sqlite().await;
    let account = store
        .create_channel_account(webcare_store::NewChannelAccount::new(
            webcare_domain::ChannelKind::Api,
            "website",
            "website",
        ))
        .await
        .unwrap()
        .id;
    let before: Vec<_> = (0..200).map(|n| backup_item(account, n)).collect();
    for r in store.ingest_batch(before).await {
        r.unwrap();
    }
    // Writes go on while the backup runs.
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for n in 200..2_000 {
                store.ingest_batch(vec![backup_item(account, n)]).await[0]
                    .as_ref()
                    .unwrap();
            }
        })
    };
    let dir = std::env::temp_dir().join(format!("webcare-backup-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("desk.db");
    let out = tokio::task::spawn_blocking({
        let (db, file) = (db.clone(), file.clone());
        move || webcare(&db, &["backup", "--to", file.to_str().unwrap()])
    })
    .await
    .unwrap();
    let stdout = ok_stdout(out);
    assert!(stdout.contains("backup written to"), "{stdout}");
    writer.await.unwrap();
    assert_eq!(store.count_messages().await.unwrap(), 2_000);
    store.close().await;

    // Never over an existing file.
    let again = webcare(&db, &["backup", "--to", file.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    // The restore: the desk started on the copy.
    let restored = format!("sqlite://{}", file.display());
    let copy = webcare_store::connect(&restored, Default::default())
        .await
        .unwrap();
    copy.ready().await.unwrap();
    let messages = copy.count_messages().await.unwrap();
    assert!(
        (200..=2_000).contains(&messages),
        "the copy holds what was committed when it was taken: {messages}"
    );
    let mut conn = {
        use sqlx::Connection;
        sqlx::SqliteConnection::connect(&restored).await.unwrap()
    };
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    let orphans: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM messages m LEFT JOIN cases c ON c.id = m.case_id WHERE c.id IS NULL",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(orphans, 0);
    let out = copy.ingest_batch(vec![backup_item(account, 5_000)]).await;
    assert!(out[0].as_ref().unwrap().created);
    assert_eq!(copy.count_messages().await.unwrap(), messages + 1);
    copy.close().await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn backup_of_a_postgres_desk_names_its_tools() {
    let Some(db) = webcare_store::testing::fresh_database_url(Backend::Postgres).await else {
        return;
    };
    let file = std::env::temp_dir().join(format!("webcare-pg-{}.db", uuid::Uuid::now_v7()));
    let out = webcare(&db, &["backup", "--to", file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
    assert!(!file.exists());
}
