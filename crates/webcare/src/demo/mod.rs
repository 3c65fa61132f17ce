//! `webcare demo`: a living desk on SQLite with local fake platforms. Citizens write steadily on
//! every channel and theme (`traffic`), through the real signed webhooks and, for X, the real
//! poller against the fake X API. A team with two agents, a team lead, a department with its user
//! and canned answers are seeded; one agent (Bram) answers his cases by himself after a while, so
//! replies go out to the fakes, and the norms are short on a 24/7 clock, so warnings and breaches
//! show within minutes. A broken streetlight becomes a zaak in a local fake Open Zaak (a routing
//! rule with "create zaak"), forwarded to the department. Nothing reaches the internet.

mod seed;
pub mod traffic;

use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use traffic::{DeliveryKind, Traffic, IG, PAGE, WA, X_ME};
use webcare::app::{App, Workers};
use webcare::config::{Config, Secret};
use webcare_connectors::signature::sign_meta;
use webcare_domain::ChannelKind;
use webcare_fakes::zgw::FakeOpenZaak;
use webcare_fakes::FakePlatforms;
use webcare_store::{ChannelAccount, Credentials, NewChannelAccount, Store};

const APP_SECRET: &str = "demo-meta-app-secret";
/// The demo's fake Open Zaak: its JWT-ZGW secret and the municipality's RSIN (a valid 11-proef).
const ZGW_SECRET: &str = "demo-zgw-secret-for-the-local-fake";
const RSIN: &str = "002220647";

/// The desk's ZGW settings for the fake Open Zaak, with its catalogue's types.
fn zgw_settings(oz: &FakeOpenZaak) -> webcare_desk::zgw::ZgwSettings {
    let c = &oz.catalogus;
    webcare_desk::zgw::ZgwSettings {
        zaken_url: oz.zaken_url(),
        catalogi_url: oz.catalogi_url(),
        client_id: oz.client_id.clone(),
        secret: ZGW_SECRET.into(),
        rsin: RSIN.into(),
        vertrouwelijkheid: "zaakvertrouwelijk".into(),
        zaaktypen: [("default".to_owned(), c.zaaktype.clone())].into(),
        zaaktypen_per_kind: Default::default(),
        // Looked up in the fake's Catalogi API by the zaaktype, as a municipality may leave them.
        statustypen: None,
        resultaattype: c.resultaattype.clone(),
        roltype_afdeling: c.roltype_afdeling.clone(),
        // The demo takes no abonnement: nothing notifies it.
        notificaties_url: None,
        callback_auth: None,
        public_url: None,
    }
}

/// How the demo runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Time between two citizen messages.
    pub interval: Duration,
    /// How long Bram takes before he answers a case assigned to him.
    pub answer_after: Duration,
}

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

pub async fn run(mut cfg: Config, opts: DemoOptions) -> anyhow::Result<()> {
    if cfg.database_url.0 == Config::default().database_url.0 {
        cfg.database_url.0 = "sqlite://data/webcare-demo.db".into();
    }
    anyhow::ensure!(
        cfg.database_url.0.starts_with("sqlite:"),
        "the demo runs on SQLite; unset WEBCARE_DATABASE_URL"
    );
    // A short norm on a 24/7 clock (calendar minutes): a warning after 4 minutes, a breach after 5.
    cfg.sla.minutes_kind = "calendar".into();
    cfg.sla.reaction_minutes = 5;
    cfg.sla.resolution_minutes = 60;
    cfg.sla.department_minutes = 30;
    cfg.sla.worker = true;
    let admin = webcare_store::token::generate();
    cfg.admin_token = Some(Secret(admin.clone()));

    let fakes = FakePlatforms::start()
        .await
        .context("starting the fake platforms")?;
    fakes.x_set_user(X_ME);
    for (id, handle, name) in traffic::x_users() {
        fakes.x_add_user(&id, &handle, name);
    }
    let oz = FakeOpenZaak::start("webcare-demo", ZGW_SECRET)
        .await
        .context("starting the fake Open Zaak")?;
    cfg.zgw = Some(zgw_settings(&oz));
    let mut workers = Workers::all(&cfg);
    if let Some(o) = workers.connectors.as_mut().and_then(|c| c.outbox.as_mut()) {
        o.base_backoff = chrono::Duration::seconds(1);
    }
    let app = App::start(&cfg, workers).await?;
    for (kind, name, id) in [
        (ChannelKind::FacebookPage, "Gemeente Facebook", PAGE),
        (ChannelKind::Instagram, "Gemeente Instagram", IG),
        (ChannelKind::Whatsapp, "Gemeente WhatsApp", WA),
        (ChannelKind::X, "@gemeente op X", X_ME),
    ] {
        account(&app.store, kind, name, id, &fakes.base).await?;
    }
    let base = format!("http://{}", app.addr);
    let desk = seed::seed(&app.store, &base, &admin).await?;
    seed::zaak_rule(&base, &admin, &oz.catalogus.zaaktype).await?;

    println!(
        "webcare demo: the desk is at {base} (SQLite: {})",
        cfg.database_url.0
    );
    println!("fake Facebook/Instagram/WhatsApp/X APIs at {}", fakes.base);
    println!(
        "fake Open Zaak at {}: a broken streetlight becomes a zaak (GET /api/v1/cases/{{id}}/zaak)",
        oz.base
    );
    println!("norms: reaction 5 min, resolution 60 min, department 30 min, 24/7 (warning at 80 %)");
    println!(
        "web app: open {base}/ and sign in (password {}):",
        seed::DEMO_PASSWORD
    );
    for s in desk
        .sign_ins
        .iter()
        .filter(|s| s.role != webcare_domain::Role::Department)
    {
        println!("  {:<26} {}", format!("{} ({}):", s.name, s.role), s.email);
    }
    for s in desk
        .sign_ins
        .iter()
        .filter(|s| s.role == webcare_domain::Role::Department)
    {
        println!("  {:<26} {}", format!("{} ({}):", s.name, s.role), s.email);
    }
    println!("API: sign in with a bearer token (each shown once):");
    println!("  admin (functioneel beheer): {admin}");
    for s in &desk.sign_ins {
        println!("  {:<26} {}", format!("{} ({}):", s.name, s.role), s.token);
    }
    println!(
        "try:  curl -H 'Authorization: Bearer {}' '{base}/api/v1/cases?assignee=me'",
        desk.sign_ins[0].token
    );
    println!("      curl -N -H 'Authorization: Bearer {admin}' {base}/api/v1/events");
    println!();

    let fakes = Arc::new(fakes);
    let citizens = tokio::spawn(citizens(base.clone(), fakes.clone(), opts.interval));
    let colleague = tokio::spawn(seed::colleague(
        base,
        admin,
        desk.bram.clone(),
        opts.answer_after,
    ));
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        r = citizens => if let Ok(Err(e)) = r { eprintln!("the citizens stopped: {e:#}"); },
    }
    colleague.abort();
    println!("stopping the demo");
    app.shutdown().await
}

/// Posts the next citizen message every `interval`, forever.
async fn citizens(
    base: String,
    fakes: Arc<FakePlatforms>,
    interval: Duration,
) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let run = uuid::Uuid::now_v7().simple().to_string()[..8].to_owned();
    let mut traffic = Traffic::new(rand::random(), &run);
    loop {
        let d = traffic.next(chrono::Utc::now());
        match d.kind {
            DeliveryKind::Meta(body) => {
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
                    "the webhook answered {}",
                    res.status()
                );
            }
            // The poller fetches it from the fake X API within seconds.
            DeliveryKind::XMention(m) => fakes.x_add_mention(m),
        }
        println!("→ {:<9} {} [{}]", d.channel.label(), d.line, d.theme);
        tokio::time::sleep(interval).await;
    }
}
