//! `webcare journal`: the operator's view of the webhook journal. Deliveries are journaled before
//! they are processed; an entry that keeps failing is parked as `failed` with its error. These
//! commands count entries, list the failed ones (never their bodies: they hold citizens' messages)
//! and put failed entries back to pending, for the running desk's journal sweep to process.

use clap::Subcommand;
use uuid::Uuid;
use webcare_store::Store;

#[derive(Subcommand)]
pub enum JournalCommand {
    /// Entries per state: pending, processed, failed.
    Stats,
    /// Failed entries, oldest first: id, source, received, attempts, error (never the body).
    Failed {
        /// At most this many.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        limit: u32,
    },
    /// Put failed entries back to pending; the running desk's journal sweep then processes them.
    Replay {
        /// Only this entry (it must be failed).
        #[arg(long)]
        id: Option<Uuid>,
    },
}

/// Longest error shown per entry, in characters.
const MAX_ERROR_CHARS: usize = 200;

pub async fn run(store: &dyn Store, command: JournalCommand) -> anyhow::Result<()> {
    match command {
        JournalCommand::Stats => {
            let s = store.journal_stats().await?;
            println!("pending    {}", s.pending);
            println!("processed  {}", s.processed);
            println!("failed     {}", s.failed);
        }
        JournalCommand::Failed { limit } => {
            let total = store.journal_stats().await?.failed;
            let mut shown = 0u32;
            let mut after = None;
            println!(
                "{:<36}  {:<11}  {:<24}  {:>8}  error",
                "id", "source", "received", "attempts"
            );
            while shown < limit {
                let page = store
                    .journal_failed(after, (limit - shown).min(500))
                    .await?;
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                for e in &page {
                    println!(
                        "{:<36}  {:<11}  {:<24}  {:>8}  {}",
                        e.id,
                        e.source.as_str(),
                        e.received_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                        e.attempts,
                        one_line(e.error.as_deref().unwrap_or("-"))
                    );
                }
                shown += page.len() as u32;
            }
            let more = total - i64::from(shown);
            if more > 0 {
                println!("... and {more} more failed entries (use --limit)");
            }
        }
        JournalCommand::Replay { id } => {
            let n = store.journal_replay(id).await?;
            match id {
                Some(id) if n == 0 => {
                    anyhow::bail!("no failed journal entry {id}")
                }
                _ => println!(
                    "{n} failed {} put back to pending; the desk's journal sweep processes {}",
                    if n == 1 { "entry" } else { "entries" },
                    if n == 1 { "it" } else { "them" }
                ),
            }
        }
    }
    Ok(())
}

/// An error on one line, cut to [`MAX_ERROR_CHARS`], control characters replaced.
fn one_line(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_ERROR_CHARS)
        .collect();
    if s.chars().count() > MAX_ERROR_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn errors_are_one_short_line() {
        assert_eq!(one_line("a\nb\tc"), "a b c");
        let long = "x".repeat(300);
        let shown = one_line(&long);
        assert_eq!(shown.chars().count(), 201);
        assert!(shown.ends_with('…'));
        assert_eq!(one_line("é"), "é");
    }
}
