//! `webcare`: the desk's one binary.
#![forbid(unsafe_code)]

mod demo;
mod journal;
mod serve;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use webcare::app::open_store;
use webcare::config::Config;
use webcare_domain::Role;

#[derive(Parser)]
#[command(
    name = "webcare",
    version,
    about = "Social-media inbox and ticketing desk for Dutch municipalities"
)]
struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = "WEBCARE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the desk: the API and the workers, or only the given roles.
    Serve {
        /// `all` (the default), or a comma-separated list of api, ingest, sla, outbox, pollers,
        /// webhooks; overrides `roles` in the configuration.
        #[arg(long)]
        roles: Option<webcare::roles::Roles>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage desk users' local sign-in for the web app.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Inspect the journal of webhook deliveries and replay failed ones.
    Journal {
        #[command(subcommand)]
        command: journal::JournalCommand,
    },
    /// Write a consistent copy of the SQLite database to a new file while the desk runs. (A
    /// PostgreSQL desk is backed up with pg_dump; see deploy/README.md.)
    Backup {
        /// The backup file to create; an existing file is never overwritten.
        #[arg(long)]
        to: PathBuf,
    },
    /// Exit 0 when the desk at `url` answers 2xx within five seconds (for container health
    /// checks: the image has no curl).
    Probe {
        #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
        url: String,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Run a living desk with local fake platforms, seeded people and a steady stream of citizen
    /// messages.
    Demo {
        /// Seconds between two citizen messages.
        #[arg(long, default_value_t = 12.0)]
        interval_seconds: f64,
        /// Seconds before the demo agent Bram answers a case assigned to him.
        #[arg(long, default_value_t = 90.0)]
        answer_after_seconds: f64,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token; it is printed once, as the last word of the output.
    Create {
        #[arg(long)]
        role: Role,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Set a user's web app password (argon2id), read from the first line of stdin so it stays
    /// out of the shell history and the process list. Signs the user out of every browser.
    SetPassword {
        /// The user's e-mail address.
        #[arg(long)]
        email: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    webcare_store::crash::arm_from_env();
    if let Command::Openapi = cli.command {
        println!("{}", webcare_api::openapi_json());
        return Ok(());
    }
    if let Command::Probe { url } = &cli.command {
        return probe(url);
    }
    let mut cfg = Config::load(cli.config.as_deref())?;
    if let Command::Serve { roles: Some(r) } = &cli.command {
        cfg.roles = r.clone();
    }
    serve::init_tracing(cfg.log_format);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cli.command {
            Command::Serve { .. } => serve::serve(cfg).await,
            Command::Migrate => {
                let store = open_store(&cfg).await?;
                store.ready().await?;
                println!("migrations applied ({})", store.backend());
                store.close().await;
                Ok(())
            }
            Command::Token {
                command: TokenCommand::Create { role, name },
            } => {
                anyhow::ensure!(!name.trim().is_empty(), "--name must not be empty");
                let store = open_store(&cfg).await?;
                let token = webcare_store::token::generate();
                store
                    .create_token(&name, role, &webcare_store::token::hash(&token))
                    .await?;
                store.close().await;
                println!("created {role} token '{name}'; it is shown once: {token}");
                Ok(())
            }
            Command::User {
                command: UserCommand::SetPassword { email },
            } => {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                let password = line.trim_end_matches(['\r', '\n']);
                webcare_web::password::check_policy(password)
                    .map_err(|e| anyhow::anyhow!("the password is refused: {e}"))?;
                let store = open_store(&cfg).await?;
                let user = store
                    .find_user_for_login(None, Some(&email.trim().to_lowercase()))
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no active user with e-mail address {email}"))?;
                let hash = webcare_web::password::hash(password)
                    .map_err(|e| anyhow::anyhow!("hashing the password failed: {e}"))?;
                store.set_password_hash(user.id, &hash).await?;
                store.close().await;
                println!("password set for {} ({})", user.email, user.role);
                Ok(())
            }
            Command::Backup { to } => {
                let store = open_store(&cfg).await?;
                let started = std::time::Instant::now();
                let result = store.backup_to(&to).await;
                store.close().await;
                result?;
                let bytes = std::fs::metadata(&to).map(|m| m.len()).unwrap_or(0);
                println!(
                    "backup written to {} ({bytes} bytes in {:.1} s)",
                    to.display(),
                    started.elapsed().as_secs_f64()
                );
                Ok(())
            }
            Command::Journal { command } => {
                let store = open_store(&cfg).await?;
                let result = journal::run(store.as_ref(), command).await;
                store.close().await;
                result
            }
            Command::Demo {
                interval_seconds,
                answer_after_seconds,
            } => {
                let secs = |s: f64, name: &str| {
                    anyhow::ensure!(
                        s.is_finite() && (0.01..=86_400.0).contains(&s),
                        "--{name} must be between 0.01 and 86400"
                    );
                    Ok(std::time::Duration::from_secs_f64(s))
                };
                let opts = demo::DemoOptions {
                    interval: secs(interval_seconds, "interval-seconds")?,
                    answer_after: secs(answer_after_seconds, "answer-after-seconds")?,
                };
                demo::run(cfg, opts).await
            }
            Command::Openapi | Command::Probe { .. } => {
                unreachable!("handled before the runtime starts")
            }
        }
    })
}

/// `webcare probe`: a GET without configuration, logging or a database.
fn probe(url: &str) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let res = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()?
            .get(url)
            .send()
            .await?;
        anyhow::ensure!(res.status().is_success(), "{url} answered {}", res.status());
        Ok(())
    })
}
