//! `webcare demo`: the desk on SQLite with local fake platforms and a generator of realistic
//! Dutch citizen messages on every channel, posted through the real signed webhooks (and, for X,
//! picked up by the real poller from the fake X API). Some cases get an agent's reply through the
//! REST API, so the outbox can be seen sending to the fakes. Nothing reaches the internet.

use crate::config::Config;
use anyhow::Context;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use webcare_api::connectors::intake::Intake;
use webcare_api::ingestor::Ingestor;
use webcare_api::{ApiSettings, AppState};
use webcare_connectors::signature::sign_meta;
use webcare_domain::ChannelKind;
use webcare_fakes::FakePlatforms;
use webcare_store::{ChannelAccount, Credentials, NewChannelAccount, Store};

const PAGE: &str = "104961234567890";
const IG: &str = "17841400000000001";
const WA: &str = "109876543210987";
const X_ME: &str = "1460000000000000001";
const APP_SECRET: &str = "demo-meta-app-secret";

async fn account(
    store: &Arc<dyn Store>,
    kind: ChannelKind,
    name: &str,
    external_id: &str,
    base: &str,
) -> anyhow::Result<ChannelAccount> {
    if let Some(a) = store.find_account(kind, external_id).await? {
        // A rerun: point the account at this run's fakes.
        let patch = webcare_store::ChannelAccountPatch {
            api_base_url: Some(Some(base.to_owned())),
            ..Default::default()
        };
        return Ok(store
            .update_channel_account(a.id, patch)
            .await?
            .unwrap_or(a));
    }
    let creds: &[(&str, &str)] = match kind {
        ChannelKind::X => &[
            ("bearerToken", "demo-x-bearer"),
            ("accessToken", "demo-x-user-token"),
            ("consumerSecret", "demo-x-consumer-secret"),
        ],
        _ => &[
            ("appSecret", APP_SECRET),
            ("verifyToken", "demo-verify"),
            ("accessToken", "demo-page-token"),
        ],
    };
    let mut settings = webcare_store::AccountSettings::new();
    if kind == ChannelKind::X {
        settings.insert("pollIntervalSeconds".into(), 5.into());
        settings.insert("deleteCheckIntervalSeconds".into(), 60.into());
    }
    Ok(store
        .create_channel_account(NewChannelAccount {
            kind,
            name: name.into(),
            external_id: external_id.into(),
            api_base_url: Some(base.to_owned()),
            credentials: Credentials(
                creds
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            callback_url: None,
            calendar_id: None,
            default_team: Some("kcc".into()),
            settings,
        })
        .await?)
}

pub async fn run(mut cfg: Config) -> anyhow::Result<()> {
    if cfg.database_url.0 == Config::default().database_url.0 {
        cfg.database_url.0 = "sqlite://data/webcare-demo.db".into();
    }
    anyhow::ensure!(
        cfg.database_url.0.starts_with("sqlite:"),
        "the demo runs on SQLite; unset WEBCARE_DATABASE_URL"
    );
    let store = crate::serve::open_store(&cfg).await?;
    let fakes = FakePlatforms::start()
        .await
        .context("starting the fake platforms")?;
    fakes.x_set_user(X_ME);
    fakes.x_add_user("801", "kees_utrecht", "Kees van Dijk");
    let token = webcare_store::token::generate();
    store
        .create_token(
            "demo-admin",
            webcare_domain::Role::Admin,
            &webcare_store::token::hash(&token),
        )
        .await?;
    for (kind, name, id) in [
        (ChannelKind::FacebookPage, "Gemeente Facebook", PAGE),
        (ChannelKind::Instagram, "Gemeente Instagram", IG),
        (ChannelKind::Whatsapp, "Gemeente WhatsApp", WA),
        (ChannelKind::X, "@gemeente op X", X_ME),
    ] {
        account(&store, kind, name, id, &fakes.base).await?;
    }
    let ingestor = Ingestor::start(store.clone(), 1, cfg.ingest.max_batch);
    let cancel = tokio_util::sync::CancellationToken::new();
    let mut workers_cfg = webcare_api::connectors::WorkerConfig::default();
    if let Some(o) = workers_cfg.outbox.as_mut() {
        o.base_backoff = chrono::Duration::seconds(1);
    }
    let mut workers = webcare_api::connectors::start(
        store.clone(),
        ingestor.clone(),
        workers_cfg,
        cancel.clone(),
    );
    store.set_sla_defaults(cfg.sla.defaults()?);
    let state = AppState {
        store: store.clone(),
        intake: Intake::start(store.clone(), ingestor.clone(), Default::default()),
        ingestor,
        settings: Arc::new(ApiSettings {
            body_limit: cfg.body_limit_bytes,
            public_hosts: vec![cfg.bind.to_ascii_lowercase()],
        }),
        oidc: None,
    };
    // SLA warnings and breaches appear in the live events, as in `serve`.
    workers.push(
        webcare_api::sla_worker::SlaWorker::new(
            store.clone(),
            Arc::new(webcare_api::live::LiveAlertSink::new(state.clone())),
        )
        .spawn(cancel.clone()),
    );
    let listener = TcpListener::bind(&cfg.bind).await?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    println!(
        "webcare demo: the desk is at {base} (SQLite: {})",
        cfg.database_url.0
    );
    println!("fake Facebook/Instagram/WhatsApp/X APIs at {}", fakes.base);
    println!("admin token (shown once): {token}");
    println!("try:  curl -H 'Authorization: Bearer {token}' {base}/api/v1/cases");
    println!();
    let app = webcare_api::router(state);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    // Kept alive for the whole demo (the poller and outbox keep talking to it).
    let fakes = Arc::new(fakes);
    let generator = tokio::spawn(generate(base, token, fakes.clone()));
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        r = generator => { if let Ok(Err(e)) = r { eprintln!("generator stopped: {e:#}"); } tokio::signal::ctrl_c().await.ok(); }
    }
    println!("stopping the demo");
    cancel.cancel();
    for w in workers {
        let _ = w.await;
    }
    server.abort();
    drop(fakes);
    store.close().await;
    Ok(())
}

fn feed(comment_id: &str, parent: &str, from: (&str, &str), text: &str, now: i64) -> Value {
    json!({"object": "page", "entry": [{"id": PAGE, "time": now, "changes": [{"field": "feed", "value": {
        "item": "comment", "verb": "add", "comment_id": comment_id, "post_id": format!("{PAGE}_822112233445566"),
        "parent_id": parent, "from": {"id": from.0, "name": from.1}, "message": text, "created_time": now}}]}]})
}

async fn generate(base: String, token: String, fakes: Arc<FakePlatforms>) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let post_meta = |body: Value| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let raw = body.to_string();
            let res = client
                .post(format!("{base}/webhooks/meta"))
                .header(
                    "X-Hub-Signature-256",
                    sign_meta(APP_SECRET.as_bytes(), raw.as_bytes()),
                )
                .header("content-type", "application/json")
                .body(raw)
                .send()
                .await?;
            anyhow::ensure!(
                res.status().is_success(),
                "webhook answered {}",
                res.status()
            );
            Ok::<(), anyhow::Error>(())
        }
    };
    let run = uuid::Uuid::now_v7().simple().to_string()[..8].to_owned();
    let step = Duration::from_secs(3);
    let now = || chrono::Utc::now().timestamp();
    let post_id = format!("{PAGE}_822112233445566");
    let c1 = format!("822112233445566_{run}1");

    println!("→ Facebook: Fatima comments on the page's post about a broken streetlight");
    post_meta(feed(&c1, &post_id, ("6987654321012345", "Fatima El Amrani"), "De lantaarnpaal bij de Kerkstraat 12 is al een week kapot 💡 Het is 's avonds echt donker.", now())).await?;
    tokio::time::sleep(step).await;
    println!("→ Facebook: she adds a reply in the same thread (joins her case)");
    post_meta(feed(
        &format!("822112233445566_{run}2"),
        &c1,
        ("6987654321012345", "Fatima El Amrani"),
        "Er ligt nu ook glas op de stoep.",
        now(),
    ))
    .await?;
    tokio::time::sleep(step).await;
    println!("→ Messenger: a question about the afvalkalender");
    let ms = chrono::Utc::now().timestamp_millis();
    post_meta(json!({"object": "page", "entry": [{"id": PAGE, "time": ms, "messaging": [{"sender": {"id": "2400000000000001"}, "recipient": {"id": PAGE},
        "timestamp": ms, "message": {"mid": format!("m_{run}_1"), "text": "Wanneer wordt het oud papier opgehaald? De afvalkalender-app laat voor de Dorpsstraat niets zien."}}]}]})).await?;
    tokio::time::sleep(step).await;
    println!("→ WhatsApp: a parking-permit question with a BSN in it (flagged `bsn`)");
    post_meta(json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "31308001400", "phone_number_id": WA},
        "contacts": [{"profile": {"name": "Sanne Bakker"}, "wa_id": "31612345678"}],
        "messages": [{"from": "31612345678", "id": format!("wamid.{run}1"), "timestamp": now().to_string(), "type": "text",
            "text": {"body": "Hoi! Mijn BSN is 123456782. Kan ik mijn parkeervergunning voor de binnenstad verlengen?"}}]}}]}]})).await?;
    tokio::time::sleep(step).await;
    println!("→ Instagram: a compliment for the groenvoorziening");
    post_meta(json!({"object": "instagram", "entry": [{"id": IG, "time": ms, "messaging": [{"sender": {"id": "5300000000000009"}, "recipient": {"id": IG},
        "timestamp": chrono::Utc::now().timestamp_millis(), "message": {"mid": format!("ig_{run}_1"), "text": "Wat ziet het Wilhelminapark er mooi uit! Complimenten aan de groenploeg 🌷👏"}}]}]})).await?;
    tokio::time::sleep(step).await;
    println!(
        "→ X: @kees_utrecht mentions the municipality (the poller fetches it from the fake X API)"
    );
    let xid = 1_900_000_000_000_000_000u64
        + (chrono::Utc::now().timestamp_millis() as u64 % 1_000_000_000);
    fakes.x_add_mention(json!({"id": xid.to_string(), "text": "@gemeente de prullenbak op het Neude puilt uit, al sinds zaterdag 🗑️",
        "author_id": "801", "conversation_id": xid.to_string(), "created_at": chrono::Utc::now().to_rfc3339(),
        "edit_history_tweet_ids": [xid.to_string()]}));
    tokio::time::sleep(Duration::from_secs(7)).await;

    // An agent answers two cases through the REST API; the outbox sends them to the fakes.
    let cases: Value = client
        .get(format!("{base}/api/v1/cases?limit=50"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let items = cases["items"].as_array().cloned().unwrap_or_default();
    println!(
        "\n{} cases in the inbox; an agent answers two of them:",
        items.len()
    );
    for c in items.iter().take(2) {
        let id = c["id"].as_str().unwrap_or_default();
        let res = client
            .post(format!("{base}/api/v1/cases/{id}/replies"))
            .bearer_auth(&token)
            .json(&json!({"text": "Dank voor uw bericht! We hebben het doorgezet naar de juiste afdeling en laten het u binnen 2 werkdagen weten."}))
            .send()
            .await?;
        let body: Value = res.json().await.unwrap_or_default();
        println!(
            "← reply to case {id}: {} ({})",
            body["state"], body["visibility"]
        );
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    for r in fakes.requests().iter().filter(|r| r.method == "POST") {
        println!("   fake platform received POST {} {}", r.path, r.json);
    }
    println!("\nThe demo keeps running: explore the API with the token above; Ctrl-C stops it.");
    Ok(())
}
