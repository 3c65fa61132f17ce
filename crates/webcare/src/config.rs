//! Configuration: built-in defaults, then a TOML file (`--config` or `WEBCARE_CONFIG`), then
//! `WEBCARE_*` environment variables (`__` for nesting). Secrets also come from `<NAME>_FILE`
//! variables (Docker and Kubernetes secrets) and are redacted in `Debug`.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// A secret string: never printed.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IngestConfig {
    /// Concurrent writer tasks; default 1 on SQLite (one writer at a time), 4 on PostgreSQL.
    pub writers: Option<usize>,
    /// Most messages written in one transaction.
    pub max_batch: usize,
    /// How long an accepted webhook delivery stays reserved for the node that accepted it. If
    /// that node dies before processing it, the journal sweep (of any node) takes it after this.
    pub journal_lease_seconds: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            writers: None,
            max_batch: 256,
            journal_lease_seconds: 60,
        }
    }
}

/// The HTTP server's limits (see `webcare::http`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// A request head not fully received in this time closes the connection.
    pub header_read_timeout_seconds: u64,
    /// A request not answered in this time (body read included) is answered 503. Streamed
    /// bodies (live events) are not limited.
    pub request_timeout_seconds: u64,
    /// A connection with no request in progress for this long is closed.
    pub idle_timeout_seconds: u64,
    /// Open connections at most; past it a new connection is answered 503 and closed. Unset:
    /// half the process's open-file limit (at most 4096), so the database and logs keep theirs.
    pub max_connections: Option<usize>,
    /// On shutdown, open connections get this long to finish their request; then they are
    /// closed.
    pub shutdown_grace_seconds: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            header_read_timeout_seconds: 10,
            request_timeout_seconds: 30,
            idle_timeout_seconds: 60,
            max_connections: None,
            shutdown_grace_seconds: 10,
        }
    }
}

impl HttpConfig {
    pub fn limits(&self) -> crate::http::Limits {
        use std::time::Duration;
        crate::http::Limits {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds),
            request_timeout: Duration::from_secs(self.request_timeout_seconds),
            idle_timeout: Duration::from_secs(self.idle_timeout_seconds),
            max_connections: self
                .max_connections
                .unwrap_or_else(|| (open_file_limit().unwrap_or(1024) / 2).clamp(16, 4096)),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_seconds),
        }
    }
}

/// The soft limit on open files (Linux: `/proc/self/limits`), when it can be read.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Prometheus `/metrics` (see `webcare::metrics`): off unless `bind` or `token` is set.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct MetricsConfig {
    /// Serve `/metrics` on this separate address, without a token: keep it on a network only
    /// the scraper reaches.
    pub bind: Option<String>,
    /// Serve `/metrics` on the main address to callers sending `Authorization: Bearer <token>`
    /// (at least 24 characters).
    pub token: Option<Secret>,
}

impl MetricsConfig {
    pub fn enabled(&self) -> bool {
        self.bind.is_some() || self.token.is_some()
    }
}

/// Retention (issue 15): the worker of the `retention` role and the journal's short term. The
/// terms per case kind are the admin's (`/api/v1/retention/terms`), not configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RetentionSettings {
    /// The key of the HMAC-SHA256 that replaces platform user ids in anonymised data (at least
    /// 32 characters; keep it stable: a new key no longer groups a conversation across runs).
    /// Also `WEBCARE_RETENTION__HASH_KEY_FILE`. Without it the retention worker does not run.
    pub hash_key: Option<Secret>,
    /// Days a raw platform delivery keeps its body in the journal.
    pub journal_days: u32,
    /// When the worker runs, Europe/Amsterdam time: `HH:MM-HH:MM` or `always`.
    pub window: String,
    /// Cases anonymised per transaction.
    pub batch: u32,
    /// Milliseconds the worker pauses after each batch (0: none), to leave the inbox's
    /// requests a core while a long run goes on.
    pub pause_ms: u64,
    /// How often the worker looks whether a run is due, in seconds.
    pub check_seconds: u64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            hash_key: None,
            journal_days: 30,
            window: "01:00-05:00".into(),
            batch: 1000,
            pause_ms: 0,
            check_seconds: 300,
        }
    }
}

impl RetentionSettings {
    /// The worker's settings; `None` without a hash key.
    pub fn worker(&self) -> Option<webcare_workers::retention::RetentionConfig> {
        let key = self.hash_key.as_ref()?;
        let window = webcare_domain::retention::Window::parse(&self.window).ok()?;
        let mut cfg = webcare_workers::retention::RetentionConfig::new(
            webcare_desk::retention::RunSettings {
                key: key.0.as_bytes().to_vec(),
                journal_days: self.journal_days,
                batch: self.batch,
            },
            window,
        );
        cfg.check_every = std::time::Duration::from_secs(self.check_seconds.max(1));
        cfg.pause = std::time::Duration::from_millis(self.pause_ms);
        Some(cfg)
    }
}

/// SLA defaults (used when no SLA policy matches a case) and the timer worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SlaSettings {
    /// Reaction norm in minutes (default 240 business minutes = 4 hours of opening time).
    pub reaction_minutes: u32,
    /// Resolution norm in minutes (default 1440 business minutes).
    pub resolution_minutes: u32,
    /// Department answer norm in minutes (default 480 business minutes).
    pub department_minutes: u32,
    /// `business` (opening hours only, default) or `calendar`.
    pub minutes_kind: String,
    /// Fraction of the norm at which a warning fires (default 0.8).
    pub warning_at: f64,
    /// Whether a process answer stops the reaction clock (default true).
    pub process_answer_stops_reaction: bool,
    /// Run the SLA timer worker in this process (default true).
    pub worker: bool,
}

impl Default for SlaSettings {
    fn default() -> Self {
        Self {
            reaction_minutes: 240,
            resolution_minutes: 1440,
            department_minutes: 480,
            minutes_kind: "business".into(),
            warning_at: 0.8,
            process_answer_stops_reaction: true,
            worker: true,
        }
    }
}

/// OIDC sign-in for agents: bearer JWTs from the municipality's identity provider for the API,
/// and (with `redirect_url`) sign-in to the web app by the authorization code flow with PKCE.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OidcConfig {
    /// Expected `iss` claim.
    pub issuer: String,
    /// Expected `aud` claim (the desk's client id).
    pub audience: String,
    /// Where the provider publishes its signing keys (JWKS).
    pub jwks_url: String,
    /// Least seconds between two key-set fetches on an unknown key id.
    #[serde(default = "default_jwks_refresh")]
    pub min_refresh_seconds: u64,
    /// Web sign-in is on when this is set: our callback as registered at the provider,
    /// `https://<desk>/login/oidc/callback`.
    #[serde(default)]
    pub redirect_url: Option<String>,
    /// The web app's client id at the provider; default `audience`.
    #[serde(default)]
    pub client_id: Option<String>,
    /// For a confidential client; write-only (never logged or shown).
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// Default: from `<issuer>/.well-known/openid-configuration`.
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// On the sign-in button: "Inloggen met <provider_name>".
    #[serde(default = "default_provider_name")]
    pub provider_name: String,
    /// The ID token claim that names the desk user: `email` or `sub` (the user's `subject`).
    #[serde(default)]
    pub user_claim: OidcUserClaim,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum OidcUserClaim {
    #[default]
    Email,
    Sub,
}

fn default_jwks_refresh() -> u64 {
    30
}

/// Empty names (not a valid configuration by itself): for `..Default::default()` in code.
impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            audience: String::new(),
            jwks_url: String::new(),
            min_refresh_seconds: default_jwks_refresh(),
            redirect_url: None,
            client_id: None,
            client_secret: None,
            authorization_endpoint: None,
            token_endpoint: None,
            provider_name: default_provider_name(),
            user_claim: OidcUserClaim::Email,
        }
    }
}

fn default_provider_name() -> String {
    "de inlogdienst van de gemeente".into()
}

impl OidcConfig {
    pub fn settings(&self) -> webcare_api::oidc::OidcSettings {
        webcare_api::oidc::OidcSettings {
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            jwks_url: self.jwks_url.clone(),
            min_refresh_interval: std::time::Duration::from_secs(self.min_refresh_seconds),
        }
    }

    /// The web sign-in's settings; `None` when `redirect_url` is not set.
    pub fn web(&self) -> Option<webcare_web::oidc_login::WebOidcSettings> {
        use webcare_web::oidc_login::UserClaim;
        Some(webcare_web::oidc_login::WebOidcSettings {
            provider_name: self.provider_name.clone(),
            issuer: self.issuer.clone(),
            client_id: self
                .client_id
                .clone()
                .unwrap_or_else(|| self.audience.clone()),
            client_secret: self.client_secret.as_ref().map(|s| s.0.clone()),
            redirect_url: self.redirect_url.clone()?,
            authorization_endpoint: self.authorization_endpoint.clone(),
            token_endpoint: self.token_endpoint.clone(),
            jwks_url: self.jwks_url.clone(),
            user_claim: match self.user_claim {
                OidcUserClaim::Email => UserClaim::Email,
                OidcUserClaim::Sub => UserClaim::Sub,
            },
            min_refresh_interval: std::time::Duration::from_secs(self.min_refresh_seconds),
        })
    }
}

fn is_http_url(u: &str) -> bool {
    u.starts_with("https://") || u.starts_with("http://")
}

impl SlaSettings {
    pub fn defaults(&self) -> anyhow::Result<webcare_store::sla::SlaDefaults> {
        let minutes_kind = match self.minutes_kind.as_str() {
            "business" => webcare_domain::sla::MinutesKind::Business,
            "calendar" => webcare_domain::sla::MinutesKind::Calendar,
            other => anyhow::bail!("sla.minutes_kind must be business or calendar, not {other}"),
        };
        anyhow::ensure!(
            self.warning_at > 0.0 && self.warning_at < 1.0,
            "sla.warning_at must lie strictly between 0 and 1"
        );
        for (name, v) in [
            ("reaction_minutes", self.reaction_minutes),
            ("resolution_minutes", self.resolution_minutes),
            ("department_minutes", self.department_minutes),
        ] {
            anyhow::ensure!(
                (1..=5_260_320).contains(&v),
                "sla.{name} must be between 1 and 5260320 (ten years)"
            );
        }
        Ok(webcare_store::sla::SlaDefaults {
            reaction_minutes: self.reaction_minutes,
            resolution_minutes: self.resolution_minutes,
            department_minutes: self.department_minutes,
            minutes_kind,
            warning_at: self.warning_at,
            process_answer_stops_reaction: self.process_answer_stops_reaction,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `sqlite://path` (default: a file in ./data) or `postgres://...`.
    pub database_url: Secret,
    pub bind: String,
    /// Bootstraps an admin API token at start-up (at least 24 characters).
    pub admin_token: Option<Secret>,
    pub log_format: LogFormat,
    /// Largest request body in bytes.
    pub body_limit_bytes: usize,
    pub max_db_connections: u32,
    /// Days after resolution in which a new citizen message reopens a case.
    pub reopen_window_days: i64,
    pub ingest: IngestConfig,
    pub http: HttpConfig,
    pub metrics: MetricsConfig,
    pub sla: SlaSettings,
    pub retention: RetentionSettings,
    /// OIDC sign-in; off when absent.
    pub oidc: Option<OidcConfig>,
    /// What this process does: `all`, or some of api, ingest, sla, outbox, pollers, webhooks,
    /// retention
    /// (`WEBCARE_ROLES=api,sla`; `serve --roles` overrides). See docs/OPERATIONS.md.
    pub roles: crate::roles::Roles,
    /// The municipality's zaaksysteem (Open Zaak); off when absent (or set through the admin
    /// API, whose stored settings take precedence).
    pub zgw: Option<webcare_desk::zgw::ZgwSettings>,
    /// How long a zaak job sent by a node stays that node's: a node that dies mid-call leaves
    /// it to another (or its own restart) after this.
    pub zaak_lease_seconds: u64,
    /// The municipality's Open Klant (Klantinteracties API); off when absent.
    pub openklant: Option<webcare_desk::openklant::OpenKlantSettings>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: Secret("sqlite://data/webcare.db".into()),
            bind: "127.0.0.1:8080".into(),
            admin_token: None,
            log_format: LogFormat::Text,
            body_limit_bytes: 4 * 1024 * 1024,
            max_db_connections: 16,
            reopen_window_days: 7,
            ingest: IngestConfig::default(),
            http: HttpConfig::default(),
            metrics: MetricsConfig::default(),
            sla: SlaSettings::default(),
            retention: RetentionSettings::default(),
            oidc: None,
            roles: crate::roles::Roles::all(),
            zgw: None,
            zaak_lease_seconds: 60,
            openklant: None,
        }
    }
}

/// Secrets that may also be given as a file path in `WEBCARE_<NAME>_FILE`.
const FILE_SECRETS: &[&str] = &[
    "DATABASE_URL",
    "ADMIN_TOKEN",
    "RETENTION__HASH_KEY",
    "ZGW__SECRET",
    "ZGW__CALLBACK_AUTH",
    "OIDC__CLIENT_SECRET",
    "OPENKLANT__TOKEN",
];

impl Config {
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            anyhow::ensure!(f.exists(), "config file {} does not exist", f.display());
            fig = fig.merge(Toml::file(f));
        }
        for name in FILE_SECRETS {
            if let Ok(path) = std::env::var(format!("WEBCARE_{name}_FILE")) {
                let value = std::fs::read_to_string(&path).map_err(|e| {
                    anyhow::anyhow!("cannot read WEBCARE_{name}_FILE ({path}): {e}")
                })?;
                // `RETENTION__HASH_KEY` is the nested key `retention.hash_key`, and so on.
                let key = name.to_lowercase().replace("__", ".");
                fig = fig.merge((key, value.trim().to_owned()));
            }
        }
        fig = fig.merge(
            Env::prefixed("WEBCARE_")
                .split("__")
                .filter(|k| !k.as_str().ends_with("_file") && k.as_str() != "config"),
        );
        let cfg: Config = fig.extract()?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if let Some(t) = &self.admin_token {
            anyhow::ensure!(
                t.0.len() >= 24,
                "admin_token must be at least 24 characters (use `openssl rand -base64 32`)"
            );
        }
        if let Some(k) = &self.retention.hash_key {
            anyhow::ensure!(
                k.0.len() >= 32,
                "retention.hash_key must be at least 32 characters (use `openssl rand -base64 32`)"
            );
        }
        webcare_domain::retention::Window::parse(&self.retention.window)
            .map_err(|e| anyhow::anyhow!("retention.window: {e}"))?;
        anyhow::ensure!(
            (1..=5000).contains(&self.retention.batch),
            "retention.batch must be between 1 and 5000"
        );
        anyhow::ensure!(
            self.retention.pause_ms <= 10_000,
            "retention.pause_ms must be at most 10000"
        );
        anyhow::ensure!(
            (1..=3650).contains(&self.retention.journal_days),
            "retention.journal_days must be between 1 and 3650"
        );
        anyhow::ensure!(
            (1..=2000).contains(&self.ingest.max_batch),
            "ingest.max_batch must be between 1 and 2000"
        );
        anyhow::ensure!(
            self.zaak_lease_seconds >= 1,
            "zaak_lease_seconds must be at least 1"
        );
        anyhow::ensure!(
            self.ingest.journal_lease_seconds >= 1,
            "ingest.journal_lease_seconds must be at least 1"
        );
        if let Some(t) = &self.metrics.token {
            anyhow::ensure!(
                t.0.len() >= 24,
                "metrics.token must be at least 24 characters"
            );
        }
        let h = &self.http;
        anyhow::ensure!(
            h.header_read_timeout_seconds >= 1
                && h.request_timeout_seconds >= 1
                && h.idle_timeout_seconds >= 1,
            "http timeouts must be at least 1 second"
        );
        anyhow::ensure!(
            h.max_connections != Some(0),
            "http.max_connections must be at least 1"
        );
        anyhow::ensure!(
            self.reopen_window_days >= 0,
            "reopen_window_days must not be negative"
        );
        if let Some(o) = &self.oidc {
            anyhow::ensure!(
                o.jwks_url.starts_with("https://") || o.jwks_url.starts_with("http://"),
                "oidc.jwks_url must be an http(s) URL"
            );
            anyhow::ensure!(
                !o.issuer.is_empty() && !o.audience.is_empty(),
                "oidc.issuer and oidc.audience must be set"
            );
            if let Some(r) = &o.redirect_url {
                anyhow::ensure!(
                    is_http_url(r) && r.ends_with(webcare_web::oidc_login::CALLBACK_PATH),
                    "oidc.redirect_url must be the desk's own http(s) URL ending in {}",
                    webcare_web::oidc_login::CALLBACK_PATH
                );
                anyhow::ensure!(
                    is_http_url(&o.issuer),
                    "oidc.issuer must be an http(s) URL for web sign-in (discovery)"
                );
            }
            for (name, v) in [
                ("authorization_endpoint", &o.authorization_endpoint),
                ("token_endpoint", &o.token_endpoint),
            ] {
                if let Some(v) = v {
                    anyhow::ensure!(is_http_url(v), "oidc.{name} must be an http(s) URL");
                }
            }
        }
        anyhow::ensure!(
            self.body_limit_bytes >= 1024,
            "body_limit_bytes must be at least 1024"
        );
        self.sla.defaults()?;
        if let Some(z) = &self.zgw {
            z.check().map_err(|e| anyhow::anyhow!(e))?;
        }
        if let Some(o) = &self.openklant {
            o.check().map_err(|e| anyhow::anyhow!(e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
// figment's Jail API returns its large error type by design.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn defaults_then_file_then_env() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "w.toml",
                "bind = \"0.0.0.0:9000\"\nlog_format = \"json\"\n[ingest]\nmax_batch = 64\n",
            )?;
            jail.set_env("WEBCARE_BIND", "127.0.0.1:7000");
            jail.set_env("WEBCARE_INGEST__WRITERS", "3");
            let cfg = Config::load(Some(Path::new("w.toml"))).unwrap();
            assert_eq!(cfg.bind, "127.0.0.1:7000", "env wins over the file");
            assert_eq!(cfg.log_format, LogFormat::Json, "file wins over defaults");
            assert_eq!(cfg.ingest.max_batch, 64);
            assert_eq!(cfg.ingest.writers, Some(3));
            assert_eq!(cfg.database_url.0, "sqlite://data/webcare.db");
            Ok(())
        });
    }

    #[test]
    fn secrets_come_from_files_and_never_print() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("admin", "abcdefghijklmnopqrstuvwxyz012345\n")?;
            jail.set_env("WEBCARE_ADMIN_TOKEN_FILE", "admin");
            let cfg = Config::load(None).unwrap();
            assert_eq!(
                cfg.admin_token.as_ref().unwrap().0,
                "abcdefghijklmnopqrstuvwxyz012345"
            );
            assert!(!format!("{cfg:?}").contains("abcdefghij"));
            Ok(())
        });
    }

    #[test]
    fn retention_settings_come_from_files_and_are_checked() {
        figment::Jail::expect_with(|jail| {
            // No key: no worker.
            assert!(Config::load(None).unwrap().retention.worker().is_none());
            jail.create_file("key", "0123456789abcdefghijklmnopqrstuvwxyz\n")?;
            jail.set_env("WEBCARE_RETENTION__HASH_KEY_FILE", "key");
            jail.set_env("WEBCARE_RETENTION__WINDOW", "22:00-04:00");
            let cfg = Config::load(None).unwrap();
            assert!(!format!("{cfg:?}").contains("0123456789"));
            let w = cfg.retention.worker().expect("a key: the worker runs");
            assert_eq!(w.run.key, b"0123456789abcdefghijklmnopqrstuvwxyz");
            assert_eq!(w.run.journal_days, 30);
            assert!(w
                .window
                .contains(chrono::NaiveTime::from_hms_opt(23, 0, 0).unwrap()));
            jail.set_env("WEBCARE_RETENTION__WINDOW", "nachts");
            assert!(Config::load(None).is_err());
            jail.set_env("WEBCARE_RETENTION__WINDOW", "always");
            jail.create_file("key", "short")?;
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn oidc_comes_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("WEBCARE_OIDC__ISSUER", "https://idp.example");
            jail.set_env("WEBCARE_OIDC__AUDIENCE", "webcare");
            jail.set_env("WEBCARE_OIDC__JWKS_URL", "https://idp.example/jwks");
            let cfg = Config::load(None).unwrap();
            let o = cfg.oidc.unwrap();
            assert_eq!(o.audience, "webcare");
            assert_eq!(o.min_refresh_seconds, 30);
            jail.set_env("WEBCARE_OIDC__JWKS_URL", "file:///etc/passwd");
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn web_sign_in_is_on_with_a_redirect_url_and_its_secret_is_redacted() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("WEBCARE_OIDC__ISSUER", "https://idp.example");
            jail.set_env("WEBCARE_OIDC__AUDIENCE", "webcare");
            jail.set_env("WEBCARE_OIDC__JWKS_URL", "https://idp.example/jwks");
            let o = Config::load(None).unwrap().oidc.unwrap();
            assert!(
                o.web().is_none(),
                "bearer tokens only without a redirect URL"
            );
            jail.set_env(
                "WEBCARE_OIDC__REDIRECT_URL",
                "https://desk.example/login/oidc/callback",
            );
            jail.set_env("WEBCARE_OIDC__USER_CLAIM", "sub");
            jail.create_file("secret", "s3cret-value\n")?;
            jail.set_env("WEBCARE_OIDC__CLIENT_SECRET_FILE", "secret");
            let cfg = Config::load(None).unwrap();
            let w = cfg.oidc.as_ref().unwrap().web().unwrap();
            assert_eq!(w.client_id, "webcare", "the audience by default");
            assert_eq!(w.client_secret.as_deref(), Some("s3cret-value"));
            assert_eq!(w.user_claim, webcare_web::oidc_login::UserClaim::Sub);
            assert!(w.authorization_endpoint.is_none(), "from discovery");
            assert!(!format!("{cfg:?}").contains("s3cret"));
            assert!(!format!("{w:?}").contains("s3cret"));
            jail.set_env(
                "WEBCARE_OIDC__REDIRECT_URL",
                "https://desk.example/elsewhere",
            );
            assert!(Config::load(None).is_err());
            jail.set_env(
                "WEBCARE_OIDC__REDIRECT_URL",
                "https://desk.example/login/oidc/callback",
            );
            jail.set_env("WEBCARE_OIDC__TOKEN_ENDPOINT", "ftp://idp.example/token");
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn sla_defaults_come_from_config_and_are_checked() {
        figment::Jail::expect_with(|jail| {
            let d = Config::load(None).unwrap().sla.defaults().unwrap();
            assert_eq!(
                (
                    d.reaction_minutes,
                    d.resolution_minutes,
                    d.department_minutes
                ),
                (240, 1440, 480)
            );
            jail.set_env("WEBCARE_SLA__REACTION_MINUTES", "120");
            jail.set_env("WEBCARE_SLA__MINUTES_KIND", "calendar");
            let d = Config::load(None).unwrap().sla.defaults().unwrap();
            assert_eq!(d.reaction_minutes, 120);
            assert_eq!(d.minutes_kind, webcare_domain::sla::MinutesKind::Calendar);
            jail.set_env("WEBCARE_SLA__WARNING_AT", "1.5");
            assert!(Config::load(None).is_err());
            jail.set_env("WEBCARE_SLA__WARNING_AT", "0.8");
            jail.set_env("WEBCARE_SLA__MINUTES_KIND", "weekdays");
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }

    fn zgw_env(jail: &mut figment::Jail) {
        let oz = "https://openzaak.example.nl";
        for (k, v) in [
            ("ZAKEN_URL", format!("{oz}/zaken/api/v1")),
            ("CATALOGI_URL", format!("{oz}/catalogi/api/v1")),
            ("CLIENT_ID", "webcare".into()),
            ("RSIN", "002220647".into()),
            (
                "ZAAKTYPEN__DEFAULT",
                format!("{oz}/catalogi/api/v1/zaaktypen/1"),
            ),
            (
                "ZAAKTYPEN__AFVAL",
                format!("{oz}/catalogi/api/v1/zaaktypen/2"),
            ),
            (
                "ZAAKTYPEN_PER_KIND__KLACHT",
                format!("{oz}/catalogi/api/v1/zaaktypen/3"),
            ),
            (
                "STATUSTYPEN__ONTVANGEN",
                format!("{oz}/catalogi/api/v1/statustypen/1"),
            ),
            (
                "STATUSTYPEN__IN_BEHANDELING",
                format!("{oz}/catalogi/api/v1/statustypen/2"),
            ),
            (
                "STATUSTYPEN__AFGEROND",
                format!("{oz}/catalogi/api/v1/statustypen/3"),
            ),
            (
                "RESULTAATTYPE",
                format!("{oz}/catalogi/api/v1/resultaattypen/1"),
            ),
            (
                "ROLTYPE_AFDELING",
                format!("{oz}/catalogi/api/v1/roltypen/1"),
            ),
        ] {
            jail.set_env(format!("WEBCARE_ZGW__{k}"), v);
        }
    }

    #[test]
    fn zgw_is_off_unless_configured_and_its_secret_comes_from_a_file() {
        figment::Jail::expect_with(|jail| {
            assert!(Config::load(None).unwrap().zgw.is_none());
            zgw_env(jail);
            jail.create_file("zgw-secret", "een-heel-geheim-zgw-secret\n")?;
            jail.set_env("WEBCARE_ZGW__SECRET_FILE", "zgw-secret");
            let cfg = Config::load(None).unwrap();
            let z = cfg.zgw.as_ref().unwrap();
            assert_eq!(z.secret, "een-heel-geheim-zgw-secret");
            assert_eq!(z.vertrouwelijkheid, "zaakvertrouwelijk");
            assert!(z
                .zaaktype_for(None, Some("afval"))
                .ends_with("/zaaktypen/2"));
            assert!(z
                .zaaktype_for(None, Some("groen"))
                .ends_with("/zaaktypen/1"));
            // A klacht is a klacht zaak whatever its theme.
            let klacht = Some(webcare_domain::CaseKind::Klacht);
            assert!(z
                .zaaktype_for(klacht, Some("afval"))
                .ends_with("/zaaktypen/3"));
            assert!(!format!("{cfg:?}").contains("een-heel-geheim"));
            assert_eq!(z.callback_auth, None);
            Ok(())
        });
    }

    #[test]
    fn the_notificaties_callback_auth_comes_from_a_file_and_is_never_shown() {
        figment::Jail::expect_with(|jail| {
            zgw_env(jail);
            jail.set_env("WEBCARE_ZGW__SECRET", "een-zgw-secret");
            jail.create_file("callback-auth", "Bearer een-geheime-callback\n")?;
            jail.set_env("WEBCARE_ZGW__CALLBACK_AUTH_FILE", "callback-auth");
            jail.set_env(
                "WEBCARE_ZGW__NOTIFICATIES_URL",
                "https://on.example.nl/api/v1",
            );
            let cfg = Config::load(None).unwrap();
            let z = cfg.zgw.as_ref().unwrap();
            assert_eq!(
                z.callback_auth.as_deref(),
                Some("Bearer een-geheime-callback")
            );
            assert_eq!(
                z.notificaties_url.as_deref(),
                Some("https://on.example.nl/api/v1")
            );
            assert!(!format!("{cfg:?}").contains("een-geheime-callback"));
            Ok(())
        });
    }

    #[test]
    fn zgw_from_the_file_as_the_readme_shows_it() {
        figment::Jail::expect_with(|jail| {
            let oz = "https://openzaak.gemeente.nl";
            jail.create_file(
                "w.toml",
                &format!(
                    "[zgw]\nzaken_url = \"{oz}/zaken/api/v1\"\ncatalogi_url = \"{oz}/catalogi/api/v1\"\n\
                     client_id = \"webcare\"\nsecret = \"s\"\nrsin = \"002220647\"\n\
                     resultaattype = \"{oz}/r/1\"\nroltype_afdeling = \"{oz}/rt/1\"\n\
                     [zgw.zaaktypen]\ndefault = \"{oz}/zt/1\"\n\
                     [zgw.zaaktypen_per_kind]\nklacht = \"{oz}/zt/2\"\n\
                     [zgw.statustypen]\nontvangen = \"{oz}/st/1\"\nin_behandeling = \"{oz}/st/2\"\nafgerond = \"{oz}/st/3\"\n"
                ),
            )?;
            let cfg = Config::load(Some(Path::new("w.toml"))).unwrap();
            let z = cfg.zgw.unwrap();
            assert_eq!(z.rsin, "002220647");
            assert_eq!(z.zaaktypen_per_kind["klacht"], format!("{oz}/zt/2"));
            assert_eq!(
                z.statustypen.as_ref().unwrap().afgerond,
                format!("{oz}/st/3")
            );
            Ok(())
        });
    }

    #[test]
    fn openklant_is_off_unless_configured_and_its_token_comes_from_a_file() {
        figment::Jail::expect_with(|jail| {
            assert!(Config::load(None).unwrap().openklant.is_none());
            jail.create_file(
                "w.toml",
                "[openklant]\nurl = \"https://openklant.gemeente.nl/klantinteracties/api/v1\"\n\
                 [openklant.actoren]\nStadsbeheer = \"https://openklant.gemeente.nl/klantinteracties/api/v1/actoren/1\"\n",
            )?;
            jail.create_file("ok-token", "een-geheim-open-klant-token\n")?;
            jail.set_env("WEBCARE_OPENKLANT__TOKEN_FILE", "ok-token");
            let cfg = Config::load(Some(Path::new("w.toml"))).unwrap();
            let o = cfg.openklant.as_ref().unwrap();
            assert_eq!(o.token, "een-geheim-open-klant-token");
            assert!(o.actor_for("Stadsbeheer").unwrap().ends_with("/actoren/1"));
            assert!(!format!("{cfg:?}").contains("een-geheim-open-klant-token"));
            jail.set_env("WEBCARE_OPENKLANT__URL", "geen-url");
            assert!(Config::load(Some(Path::new("w.toml"))).is_err());
            Ok(())
        });
    }

    #[test]
    fn a_wrong_rsin_is_a_clear_start_up_error() {
        figment::Jail::expect_with(|jail| {
            zgw_env(jail);
            jail.set_env("WEBCARE_ZGW__SECRET", "s");
            jail.set_env("WEBCARE_ZGW__RSIN", "002220648");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("11-proef"), "{err}");
            jail.set_env("WEBCARE_ZGW__RSIN", "002220647");
            jail.set_env("WEBCARE_ZGW__VERTROUWELIJKHEID", "heel_geheim");
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn a_short_admin_token_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("WEBCARE_ADMIN_TOKEN", "short");
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }
}
