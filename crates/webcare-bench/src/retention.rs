//! `retention`: N cases over the last year (the inbox suite's seed: 67% resolved or closed,
//! n/10 contacts), each with a citizen message and a reply and their clocks (the reports
//! suite's facts), two live events and a note; terms of one day, so every case finished a day
//! ago has expired. Then the retention run as the worker does it (`webcare_store::retention`:
//! the pre-selection by kind, one transaction per batch of 1,000 cases, or
//! `WEBCARE_BENCH_RETENTION_BATCH`, that blanks and hashes, the contacts left with nothing to
//! keep), in this process over the store, next to its floor
//! measured in the same run: the set-wise statements that blank every expired case's messages,
//! notes and events and mark the cases, at once. The floor is undone (the marks cleared) before
//! the run; its blanked texts stay, which costs the run nothing. The inbox's list queries are
//! timed beside the run through HTTP (`GET /api/v1/cases?...` of a real `webcare serve` over the
//! same database, paced), and for as long without it. `WEBCARE_BENCH_RETENTION_PAUSE_MS` makes
//! the run pause between batches as the worker's `retention.pause_ms` does (default 0).

use crate::common::*;
use crate::inbox::CaseRun;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use webcare_domain::retention::Terms;
use webcare_store::retention::{kinds, ExpiryQuery};

pub fn default_cases(quick: bool) -> usize {
    if quick {
        20_000
    } else {
        300_000
    }
}

pub async fn run(c: &CaseRun, report: &mut Report) -> anyhow::Result<()> {
    // Every case finished more than a day ago has expired under terms of one day.
    let now = chrono::Utc::now();
    let cutoff = (now - chrono::Duration::days(1)).timestamp_millis();
    let expired = format!(
        "status IN ('resolved', 'closed') AND COALESCE(closed_at, resolved_at) <= {cutoff}"
    );
    let (pool, _) = c.seed(1, crate::inbox::Messages::None).await?;
    crate::reports::seed_facts(&pool, c.bdb.db).await?;
    // What the desk logs per case besides: two live events and an internal note.
    let payload = match c.bdb.db {
        Db::Sqlite => "'{\"text\": \"Vraag\"}'",
        Db::Postgres => "'{\"text\": \"Vraag\"}'::jsonb",
    };
    for kind in ["case.created", "message.received"] {
        pool.exec(&format!(
            "INSERT INTO events (at, kind, case_id, payload) \
             SELECT first_message_at, '{kind}', id, {payload} FROM cases"
        ))
        .await?;
    }
    let new_id = match c.bdb.db {
        Db::Sqlite => "randomblob(16)",
        Db::Postgres => "gen_random_uuid()",
    };
    pool.exec(&format!(
        "INSERT INTO case_notes (id, case_id, author, text, created_at) \
         SELECT {new_id}, id, 'agent01', 'Burger gebeld', first_message_at FROM cases"
    ))
    .await?;
    c.analyze(&pool).await?;
    c.report_cases(
        report,
        "seeded over a year, 2 messages, 1-2 clocks, 2 events and a note each",
        "the full run seeds 300,000",
    );
    let finished = pool
        .count(&format!("SELECT COUNT(*) FROM cases WHERE {expired}"))
        .await?;
    report.metric(
        "expired_cases",
        finished as f64,
        "resolved or closed more than a day ago",
    );

    // The floor: blank and mark every expired case set-wise, then clear the marks.
    let t = Instant::now();
    for (table, set) in [
        ("messages", "text = ''"),
        ("case_notes", "text = ''"),
        ("events", "payload = '{}'"),
    ] {
        pool.exec(&format!(
            "UPDATE {table} SET {set} WHERE case_id IN (SELECT id FROM cases WHERE {expired})"
        ))
        .await?;
    }
    pool.exec(&format!(
        "UPDATE cases SET anonymised_at = 1 WHERE {expired}"
    ))
    .await?;
    let floor_s = t.elapsed().as_secs_f64();
    pool.exec("UPDATE cases SET anonymised_at = NULL").await?;
    c.analyze(&pool).await?;
    report.metric(
        "floor_cases_per_s",
        finished as f64 / floor_s.max(1e-9),
        "set-wise UPDATEs: messages, notes and events blanked, the cases marked",
    );
    pool.close().await;

    let store =
        webcare_store::connect(&c.bdb.url, webcare_store::ConnectOptions::default()).await?;
    let terms = Terms {
        default_days: 1,
        kinds: webcare_domain::CaseKind::ALL
            .iter()
            .map(|k| (*k, 1))
            .collect(),
        themes: Vec::new(),
        ..Terms::default()
    };
    let key = b"bench-retention-key-of-32-characters".to_vec();
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let pause = Duration::from_millis(env("WEBCARE_BENCH_RETENTION_PAUSE_MS", 0));
    let batch = env("WEBCARE_BENCH_RETENTION_BATCH", 1000).clamp(1, 5000) as u32;
    report.metric(
        "pause_ms",
        pause.as_secs_f64() * 1000.0,
        "the run's pause between batches (WEBCARE_BENCH_RETENTION_PAUSE_MS)",
    );
    report.metric(
        "batch",
        f64::from(batch),
        "cases per transaction (WEBCARE_BENCH_RETENTION_BATCH)",
    );
    // The inbox through HTTP (the target), or `WEBCARE_BENCH_RETENTION_INBOX=sql`: its
    // list queries as raw SQL on a pool of their own, as the suite did before (to compare runs
    // with builds that only have that).
    let server = Server::start(&c.bin, &c.bdb.url, &[]).await?;
    let inbox = if std::env::var("WEBCARE_BENCH_RETENTION_INBOX").as_deref() == Ok("sql") {
        report.info(
            "inbox",
            "sql",
            "list queries as raw SQL on a pool of their own",
        );
        Inbox::Sql(c.bdb.pool(1).await?)
    } else {
        report.info(
            "inbox",
            "http",
            "GET /api/v1/cases?...&limit=50 of webcare serve",
        );
        Inbox::Http(http_client(1)?, server.base.clone())
    };
    let inbox = Arc::new(inbox);
    // The inbox alone first, for as long as a run at the target rate would take.
    let idle = (finished as f64 / 10_000.0).clamp(3.0, 20.0);
    let ((), idle_times) = beside_inbox(&inbox, async {
        tokio::time::sleep(Duration::from_secs_f64(idle)).await;
        Ok(())
    })
    .await?;
    let t = Instant::now();
    let (done, run_times) = beside_inbox(&inbox, async {
        let mut done = webcare_store::retention::Anonymised::default();
        for kind in kinds() {
            let mut q = ExpiryQuery::first(kind, &terms, now, batch);
            loop {
                let (page, next) = store.expired_cases(&q).await?;
                let ids: Vec<_> = page.iter().map(|e| e.id).collect();
                done += store.anonymise_cases(&ids, &key, now).await?;
                if !pause.is_zero() && !ids.is_empty() {
                    tokio::time::sleep(pause).await;
                }
                match next {
                    Some(n) => q.after = Some(n),
                    None => break,
                }
            }
        }
        Ok(done)
    })
    .await?;
    let run_s = t.elapsed().as_secs_f64();
    server.stop().await;
    anyhow::ensure!(
        done.cases == finished as u64,
        "the run anonymised {} of {finished} expired cases",
        done.cases
    );
    let per_s = done.cases as f64 / run_s.max(1e-9);
    report.metric("run_s", run_s, "the whole run");
    report.metric("cases_per_s", per_s, "target >= 10,000 (issue 15)");
    report.metric(
        "contacts_anonymised",
        done.contacts as f64,
        "contacts left with nothing to keep",
    );
    report.metric(
        "ratio",
        (finished as f64 / floor_s.max(1e-9)) / per_s.max(1e-9),
        "the floor's rate to the run's",
    );
    let (idle_p99, run_p99) = (
        percentile_ms(&idle_times, 99.0),
        percentile_ms(&run_times, 99.0),
    );
    for (name, times, p99) in [
        ("inbox_idle", &idle_times, idle_p99),
        ("inbox_during_run", &run_times, run_p99),
    ] {
        report.metric(
            &format!("{name}_p50_ms"),
            percentile_ms(times, 50.0),
            format!("{} list requests", times.len()),
        );
        report.metric(&format!("{name}_p99_ms"), p99, "target <= 10 (DESIGN 13)");
    }
    report.metric(
        "inbox_p99_ratio",
        run_p99 / idle_p99.max(1e-9),
        "the inbox's p99 during the run to without it",
    );
    store.close().await;
    Ok(())
}

/// What an agent's screen waits between two list requests: a busy desk, not a flood that
/// would take a core of this machine from the run.
const PACE: Duration = Duration::from_millis(10);

/// Where the inbox's list requests go.
enum Inbox {
    Http(reqwest::Client, String),
    Sql(Pool),
}

impl Inbox {
    /// The `i`th list request (the list queries in turn), timed.
    async fn request(&self, i: usize) -> anyhow::Result<Duration> {
        Ok(match self {
            Inbox::Http(client, base) => {
                let queries = crate::inbox::list_http();
                let (http, param) = queries[i % queries.len()];
                let q = crate::inbox::fill_http(http, param, i / queries.len());
                timed_get(client, &format!("{base}/api/v1/cases?{q}&limit=50"))
                    .await?
                    .0
            }
            Inbox::Sql(pool) => {
                let queries = crate::inbox::list_sql();
                let (sql, param) = &queries[i % queries.len()];
                crate::inbox::timed_sql(pool, sql, param(i / queries.len())).await?
            }
        })
    }
}

/// Runs `work` while the inbox's list requests (in turn, paced, one at a time) are timed in
/// another task; its outcome and the sorted request times.
async fn beside_inbox<T>(
    inbox: &Arc<Inbox>,
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<(T, Vec<Duration>)> {
    let stop = Arc::new(AtomicBool::new(false));
    let looping = tokio::spawn({
        let (stop, inbox) = (stop.clone(), inbox.clone());
        async move {
            let round = crate::inbox::list_http().len();
            let mut times = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let took = inbox.request(i).await?;
                // The first round warms the connection and the server's statements.
                if i >= round {
                    times.push(took);
                }
                i += 1;
                tokio::time::sleep(PACE).await;
            }
            times.sort();
            anyhow::Ok(times)
        }
    });
    let out = work.await;
    stop.store(true, Ordering::Relaxed);
    let times = looping.await??;
    Ok((out?, times))
}
