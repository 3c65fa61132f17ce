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
    assert!(doc["paths"]["/api/v1/cases"].is_object());
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
