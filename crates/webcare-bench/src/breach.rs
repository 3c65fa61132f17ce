//! Breach delay: the time from a clock's due instant to its recorded breach, with many running
//! clocks, measured on a real `webcare serve` (whose SLA timer worker does the firing).
//!
//! 1. A fresh, migrated database gets `clocks` open cases with a running reaction clock each,
//!    seeded set-wise (multi-row INSERTs of 1,000 rows, one transaction per 25,000). A quarter of
//!    them fall due during the run, their starts evenly spread over `window`, so the worker fires
//!    continuously; the rest fall due days later and only sit in the timer index. Each clock's
//!    warning falls 4 s before its due instant (80 % of a 20 s budget); warnings that would fall
//!    before the first due instant are seeded as already fired, the rest fire during the run too.
//!    A row's due, warning and timer instants are the ones the desk computes for its segments
//!    (`ClockRecord::recompute`): a start at a fractional second counts from the next whole
//!    second, so every clock falls due on a whole second and the breaches come in per-second
//!    groups, as on a desk. (Seeded from the exact start, the instants lay up to a second early;
//!    the timer then cleared them without firing, and every such breach went missing.)
//! 2. The server starts after seeding (so its worker plans over every clock); its first due
//!    instant lies a few seconds after start-up.
//! 3. Two figures per breach: `firedAt - dueAt` from the alerts table (`firedAt` is the instant the
//!    worker's pass began), and the instant a separate reader first saw the committed alert (it
//!    polls every 10 ms for new breaches) minus `dueAt`, which also counts the transaction.
//!
//! The notification of each breach (live event and webhook queue, delivered by the worker's
//! notifier) is timed too: `notifiedAt - dueAt`, for the breaches notified by the end of the run.
//!
//! Clocks count calendar minutes on a calendar open around the clock, so opening hours play no
//! part in when they fall due, and every warning and breach is also notified during the run (live
//! event and webhook queue), as on a desk that is open.

use crate::common::*;
use anyhow::{bail, Context};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use uuid::Uuid;
use webcare_domain::sla::clocks::{new_clock, Norms};
use webcare_domain::sla::{
    Budget, CalendarSpec, CalendarVersions, ClockKind, ClockStatus, MinutesKind, Segment,
};

/// Sizes of one measurement.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Running clocks in the database.
    pub clocks: usize,
    /// Of those, how many fall due during the run.
    pub due_in_run: usize,
    /// Over how long their due instants are spread.
    pub window: std::time::Duration,
}

impl Plan {
    pub fn new(quick: bool, n: Option<usize>) -> Plan {
        let clocks = n.unwrap_or(if quick { 20_000 } else { 100_000 }).max(4);
        Plan {
            clocks,
            due_in_run: clocks / 4,
            window: std::time::Duration::from_secs(if quick { 10 } else { 50 }),
        }
    }
}

/// What was measured.
pub struct BreachDelay {
    /// `firedAt - dueAt` per breach of a clock due in the run, sorted.
    pub fired: Vec<std::time::Duration>,
    /// First seen committed by a reader, minus `dueAt`, sorted.
    pub seen: Vec<std::time::Duration>,
    /// `notifiedAt - dueAt` of the breaches notified by the end of the run, sorted.
    pub notified: Vec<std::time::Duration>,
    /// Clocks due in the run without a recorded breach (must be 0).
    pub missing: usize,
    /// Clocks due before the server was ready + 1 s (left out of the figures).
    pub excluded: usize,
    pub warnings: i64,
    pub seed_secs: f64,
}

/// How long the server gets to start after seeding before the first clock falls due.
const START_ALLOWANCE: Duration = Duration::seconds(5);
/// Poll interval of the reader that sees alerts committed.
const POLL: std::time::Duration = std::time::Duration::from_millis(10);
const BUDGET_SECONDS: i64 = 20;
const WARNING_FRACTION: f64 = 0.8;

pub async fn measure(db: Db, pg_url: &str, plan: Plan) -> anyhow::Result<BreachDelay> {
    let bin = webcare_binary()?;
    let bench = BenchDb::fresh(db, pg_url).await?;
    let result = measure_on(&bench, &bin, plan).await;
    bench.drop_db().await;
    result
}

async fn measure_on(
    bench: &BenchDb,
    bin: &std::path::PathBuf,
    plan: Plan,
) -> anyhow::Result<BreachDelay> {
    bench.migrate().await?;
    let pool = bench.pool(4).await?;
    let seed_start = std::time::Instant::now();
    let spec = always_open()?;
    let cal = CalendarVersions::single(
        spec.validate()
            .map_err(|e| anyhow::anyhow!("bench calendar does not validate: {e:?}"))?,
    );
    let (account, contact, calendar) = seed_account(&pool, &spec).await?;
    // The clocks due later first: their pace tells how long the ones due in the run take.
    let later = plan.clocks - plan.due_in_run;
    let now = Utc::now();
    let later_rows: Vec<ClockSeed> = (0..later)
        .map(|i| {
            // Due 2 to 30 days from now, a day's budget: nothing of these fires in the run.
            let due = now
                + Duration::days(2)
                + Duration::seconds((i as i64 * 28 * 86_400) / later.max(1) as i64);
            ClockSeed::new(due, 86_400, now, &cal)
        })
        .collect();
    let t = std::time::Instant::now();
    seed_clocks(&pool, (account, contact, calendar), &later_rows).await?;
    let per_row = if later > 0 {
        t.elapsed().as_secs_f64() / later as f64
    } else {
        0.000_1
    };
    let estimate = Duration::milliseconds((per_row * plan.due_in_run as f64 * 1500.0) as i64);
    let first = Utc::now() + estimate + START_ALLOWANCE;
    let window_ms = plan.window.as_millis() as i64;
    let in_run: Vec<ClockSeed> = (0..plan.due_in_run)
        .map(|i| {
            let due =
                first + Duration::milliseconds((i as i64 * window_ms) / plan.due_in_run as i64);
            ClockSeed::new(due, BUDGET_SECONDS, first, &cal)
        })
        .collect();
    let first_due = in_run.first().map_or(first, |c| c.due);
    seed_clocks(&pool, (account, contact, calendar), &in_run).await?;
    let seed_secs = seed_start.elapsed().as_secs_f64();
    if Utc::now() >= first_due {
        bail!("seeding took longer than estimated; the first clocks fell due before the server started");
    }

    let server = Server::start(bin, &bench.url, &[]).await?;
    let ready = Utc::now();
    let measured_from = first_due.max(ready + Duration::seconds(1));
    let last_due = in_run.last().map_or(first_due, |c| c.due);

    // The reader: every new breach, with the instant its query began.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = tokio::spawn(watch_breaches(bench.pool(1).await?, stop.clone()));
    let until = last_due + Duration::seconds(3);
    while Utc::now() < until {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let seen_at = reader.await.context("breach reader")??;
    server.stop().await;

    let alerts = breaches(&pool).await?;
    let warnings = pool
        .count("SELECT COUNT(*) FROM sla_alerts WHERE status = 'warning'")
        .await?;
    pool.close().await;

    let due_in_run: HashSet<i64> = in_run.iter().map(|c| c.due.timestamp_millis()).collect();
    let from_ms = measured_from.timestamp_millis();
    let mut fired = Vec::new();
    let mut seen = Vec::new();
    let mut notified = Vec::new();
    let mut recorded = 0usize;
    for (id, due, fired_at, notified_at) in alerts {
        if !due_in_run.contains(&due) {
            continue;
        }
        recorded += 1;
        if due < from_ms {
            continue;
        }
        fired.push(ms_duration(fired_at - due));
        if let Some(n) = notified_at {
            notified.push(ms_duration(n - due));
        }
        if let Some(at) = seen_at.get(&id) {
            seen.push(ms_duration(at - due));
        }
    }
    fired.sort_unstable();
    seen.sort_unstable();
    notified.sort_unstable();
    let excluded = in_run
        .iter()
        .filter(|c| c.due.timestamp_millis() < from_ms)
        .count();
    Ok(BreachDelay {
        fired,
        seen,
        notified,
        missing: plan.due_in_run.saturating_sub(recorded),
        excluded,
        warnings,
        seed_secs,
    })
}

fn ms_duration(ms: i64) -> std::time::Duration {
    std::time::Duration::from_millis(ms.max(0) as u64)
}

/// One seeded clock: started `budget` seconds before about `due`, with the instants the desk
/// computes for it (due on the next whole second from there).
struct ClockSeed {
    started_at: DateTime<Utc>,
    due: DateTime<Utc>,
    budget: i64,
    warning_at: DateTime<Utc>,
    /// Warning seeded as already fired (it would fall before the server runs).
    warned: bool,
    next_fire_at: i64,
}

impl ClockSeed {
    fn new(
        about_due: DateTime<Utc>,
        budget: i64,
        server_from: DateTime<Utc>,
        cal: &CalendarVersions,
    ) -> Self {
        let started_at = about_due - Duration::seconds(budget);
        let norms = Norms {
            minutes: Some(1),
            kind: MinutesKind::Calendar,
            warning_at: WARNING_FRACTION,
            calendar_id: None,
            policy_name: Some("bench".into()),
        };
        let mut c = new_clock(
            Uuid::nil(),
            Uuid::nil(),
            ClockKind::Reaction,
            0,
            &norms,
            1,
            started_at,
            "citizen message",
        );
        c.budget = Budget {
            seconds: budget,
            kind: MinutesKind::Calendar,
        };
        c.recompute(cal, started_at);
        let (due, warning_at) = (
            c.due_at.expect("a calendar budget has a due instant"),
            c.warning_at
                .expect("a calendar budget has a warning instant"),
        );
        let warned = warning_at < server_from;
        if warned {
            c.status = ClockStatus::Warning;
        }
        ClockSeed {
            started_at,
            due,
            budget,
            warning_at,
            warned,
            next_fire_at: c.next_fire().expect("a running clock has a next timer"),
        }
    }

    fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    fn next_fire_at(&self) -> i64 {
        self.next_fire_at
    }
}

/// A calendar open 24/7 (no holidays).
fn always_open() -> anyhow::Result<CalendarSpec> {
    let day = r#"[["00:00","24:00"]]"#;
    Ok(serde_json::from_str(&format!(
        r#"{{"timeZone":"Europe/Amsterdam","weekly":{{"monday":{day},"tuesday":{day},"wednesday":{day},
           "thursday":{day},"friday":{day},"saturday":{day},"sunday":{day}}},"holidays":{{"set":"none"}}}}"#
    ))?)
}

/// A channel account, a contact and the calendar `spec`.
async fn seed_account(pool: &Pool, spec: &CalendarSpec) -> anyhow::Result<(Uuid, Uuid, Uuid)> {
    let account = Uuid::now_v7();
    let contact = Uuid::now_v7();
    let calendar = Uuid::now_v7();
    let now = Utc::now().timestamp_millis();
    macro_rules! seed {
        ($p:expr) => {{
            sqlx::query("INSERT INTO channel_accounts (id, kind, name, external_id, created_at, updated_at) VALUES ($1, 'api', 'Bench', 'bench-breach', $2, $2)")
                .bind(account).bind(now).execute($p).await?;
            sqlx::query("INSERT INTO contacts (id, display_name, created_at, updated_at) VALUES ($1, 'Burger', $2, $2)")
                .bind(contact).bind(now).execute($p).await?;
            sqlx::query("INSERT INTO sla_calendars (id, name, created_at, updated_at) VALUES ($1, '24/7', $2, $2)")
                .bind(calendar).bind(now).execute($p).await?;
            sqlx::query("INSERT INTO sla_calendar_versions (calendar_id, effective_from, spec, created_at) VALUES ($1, 0, $2, $3)")
                .bind(calendar).bind(sqlx::types::Json(spec)).bind(now).execute($p).await?;
            sqlx::query("UPDATE sla_config_rev SET rev = rev + 1 WHERE id = 1").execute($p).await?;
        }};
    }
    match pool {
        Pool::Sqlite(p) => seed!(p),
        Pool::Pg(p) => seed!(p),
    }
    Ok((account, contact, calendar))
}

/// Open cases with one running reaction clock each, as the desk stores them.
async fn seed_clocks(
    pool: &Pool,
    (account, contact, calendar): (Uuid, Uuid, Uuid),
    rows: &[ClockSeed],
) -> anyhow::Result<()> {
    let now = Utc::now().timestamp_millis();
    macro_rules! seed {
        ($p:expr, $db:ty) => {{
            for tx_rows in rows.chunks(25_000) {
                let mut tx = $p.begin().await?;
                for chunk in tx_rows.chunks(1_000) {
                    let ids: Vec<(Uuid, Uuid)> = chunk.iter().map(|_| (Uuid::now_v7(), Uuid::now_v7())).collect();
                    let mut q: sqlx::QueryBuilder<'_, $db> = sqlx::QueryBuilder::new(
                        "INSERT INTO cases (id, channel_account_id, contact_id, status, priority, labels, \
                         first_message_at, last_message_at, due_at, due_sort, sla_status, created_at, updated_at) ",
                    );
                    q.push_values(chunk.iter().zip(&ids), |mut b, (c, (case, _))| {
                        let start = c.started_at().timestamp_millis();
                        b.push_bind(*case).push_bind(account).push_bind(contact).push_bind("open")
                            .push_bind("normal").push_bind(sqlx::types::Json(Vec::<String>::new())).push_bind(start).push_bind(start)
                            .push_bind(c.due.timestamp_millis()).push_bind(c.due.timestamp_millis())
                            .push_bind(if c.warned { "warning" } else { "within" })
                            .push_bind(start).push_bind(now);
                    });
                    q.build().execute(&mut *tx).await?;
                    let mut q: sqlx::QueryBuilder<'_, $db> = sqlx::QueryBuilder::new(
                        "INSERT INTO sla_clocks (id, case_id, kind, run, segments, budget_seconds, minutes_kind, \
                         warning_fraction, calendar_id, policy_name, state, status, started_at, due_at, warning_at, next_fire_at, updated_at) ",
                    );
                    q.push_values(chunk.iter().zip(&ids), |mut b, (c, (case, clock))| {
                        let segments = vec![Segment {
                            from: c.started_at(),
                            to: None,
                            running: true,
                            reason: Some("citizen message".into()),
                        }];
                        b.push_bind(*clock).push_bind(*case).push_bind("reaction").push_bind(0i32)
                            .push_bind(sqlx::types::Json(segments)).push_bind(c.budget).push_bind("calendar")
                            .push_bind(WARNING_FRACTION).push_bind(calendar).push_bind("bench").push_bind("running")
                            .push_bind(if c.warned { "warning" } else { "within" })
                            .push_bind(c.started_at().timestamp_millis()).push_bind(c.due.timestamp_millis())
                            .push_bind(c.warning_at.timestamp_millis()).push_bind(c.next_fire_at()).push_bind(now);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
        }};
    }
    match pool {
        Pool::Sqlite(p) => seed!(p, sqlx::Sqlite),
        Pool::Pg(p) => seed!(p, sqlx::Postgres),
    }
    Ok(())
}

/// Every breach as (alert id, dueAt ms, firedAt ms, notifiedAt ms).
async fn breaches(pool: &Pool) -> anyhow::Result<Vec<(Uuid, i64, i64, Option<i64>)>> {
    const SQL: &str =
        "SELECT id, due_at, fired_at, notified_at FROM sla_alerts WHERE status = 'breached'";
    Ok(match pool {
        Pool::Sqlite(p) => sqlx::query_as(SQL).fetch_all(p).await?,
        Pool::Pg(p) => sqlx::query_as(SQL).fetch_all(p).await?,
    })
}

/// Polls for new breaches until `stop`; answers when each was first seen (in ms), by the instant
/// the query that returned it began (the commit happened before that). Alert ids are UUIDv7 from
/// one server process, so they grow in commit order and `id > last` finds the new ones.
async fn watch_breaches(
    pool: Pool,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<std::collections::HashMap<Uuid, i64>> {
    // `id > $1` from the nil id on: one range probe of the primary key per poll. (An
    // `$1 IS NULL OR id > $1` form plans generically as a scan of every alert, and the watcher
    // then took a fifth of a core from the server it measures.)
    const SQL: &str = "SELECT id FROM sla_alerts WHERE id > $1 AND status = 'breached' ORDER BY id";
    let mut seen = std::collections::HashMap::new();
    let mut last = Uuid::nil();
    while !stop.load(Ordering::SeqCst) {
        let at = Utc::now().timestamp_millis();
        let ids: Vec<Uuid> = match &pool {
            Pool::Sqlite(p) => sqlx::query_scalar(SQL).bind(last).fetch_all(p).await?,
            Pool::Pg(p) => sqlx::query_scalar(SQL).bind(last).fetch_all(p).await?,
        };
        for id in ids {
            seen.entry(id).or_insert(at);
            last = last.max(id);
        }
        tokio::time::sleep(POLL).await;
    }
    pool.close().await;
    Ok(seen)
}
