//! `reports`: N cases over the last year (the inbox suite's seed), each with a citizen message and
//! a reply, a met reaction clock, and a resolution clock when resolved; then every report over the
//! whole year grouped by week x channel through HTTP against a real `webcare serve`, next to its
//! floor measured in the same run: one SQL statement that reads the same rows (cases of the period
//! with their message counts and clock rows) and groups them by week and channel in the database.

use crate::common::*;
use crate::inbox::CaseRun;
use anyhow::Context;
use std::time::{Duration, Instant};

pub fn default_cases(quick: bool) -> usize {
    if quick {
        20_000
    } else {
        600_000
    }
}

const REPORTS: [&str; 6] = [
    "volume",
    "reaction",
    "resolution",
    "norms",
    "forwarding",
    "agents",
];

/// The SQL that differs per backend: a new UUID, a UUID as text, an epoch-ms column as an
/// RFC 3339 text, and a text as JSON.
struct Dialect {
    new_id: &'static str,
    id_text: &'static str,
    rfc3339: fn(&str) -> String,
    json: fn(&str) -> String,
}

fn dialect(db: Db) -> Dialect {
    match db {
        Db::Sqlite => Dialect {
            new_id: "randomblob(16)",
            id_text: "hex(id)",
            rfc3339: |ms| format!("strftime('%Y-%m-%dT%H:%M:%SZ', ({ms}) / 1000, 'unixepoch')"),
            json: |t| t.to_owned(),
        },
        Db::Postgres => Dialect {
            new_id: "gen_random_uuid()",
            id_text: "id::text",
            rfc3339: |ms| {
                format!("to_char(to_timestamp(({ms}) / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
            },
            json: |t| format!("({t})::jsonb"),
        },
    }
}

/// Adds to every seeded case a citizen message, a reply 1 to 121 minutes later, a reaction clock
/// stopped by that reply, and for resolved and closed cases a resolution clock (one set-wise
/// `INSERT ... SELECT` each).
pub(crate) async fn seed_facts(pool: &Pool, db: Db) -> anyhow::Result<()> {
    let d = dialect(db);
    let (new_id, id_text) = (d.new_id, d.id_text);
    // Whole seconds: the segments' JSON has second precision.
    let first = "(first_message_at / 1000 * 1000)";
    let reply = format!("({first} + (first_message_at % 7200000) / 1000 * 1000 + 60000)");
    pool.exec(&format!(
        "INSERT INTO messages (id, case_id, channel_account_id, platform_message_id, direction, visibility, \
         author, text, sent_at, received_at) \
         SELECT {new_id}, id, channel_account_id, 'in-' || {id_text}, 'inbound', 'private', {}, 'Vraag', \
         first_message_at, first_message_at FROM cases",
        (d.json)("'{\"platformUserId\": \"burger\"}'")
    ))
    .await
    .context("seeding citizen messages")?;
    pool.exec(&format!(
        "INSERT INTO messages (id, case_id, channel_account_id, platform_message_id, direction, visibility, \
         author, text, sent_at, received_at) \
         SELECT {new_id}, id, channel_account_id, 'out-' || {id_text}, 'outbound', 'private', {}, 'Antwoord', \
         {reply}, {reply} FROM cases",
        (d.json)("'{\"platformUserId\": \"gemeente\"}'")
    ))
    .await
    .context("seeding replies")?;
    let segment = |from: &str, to: &str| {
        (d.json)(&format!(
            "'[{{\"from\":\"' || {} || '\",\"to\":\"' || {} || '\",\"running\":true}}]'",
            (d.rfc3339)(from),
            (d.rfc3339)(to)
        ))
    };
    let clock = |kind: &str, budget: i64, stop: &str, reason: &str, filter: &str| {
        format!(
            "INSERT INTO sla_clocks (id, case_id, kind, run, segments, budget_seconds, minutes_kind, \
             warning_fraction, state, status, started_at, stopped_at, updated_at, stop_reason) \
             SELECT {new_id}, id, '{kind}', 0, {}, {budget}, 'business', 0.8, \
             CASE WHEN {stop} - {first} <= {budget} * 1000 THEN 'met' ELSE 'missed' END, 'within', \
             {first}, {stop}, {stop}, '{reason}' FROM cases {filter}",
            segment(first, stop)
        )
    };
    pool.exec(&clock("reaction", 14_400, &reply, "reply", ""))
        .await
        .context("seeding reaction clocks")?;
    pool.exec(&clock(
        "resolution",
        86_400,
        "resolved_at",
        "resolved",
        "WHERE resolved_at IS NOT NULL",
    ))
    .await
    .context("seeding resolution clocks")?;
    Ok(())
}

/// The floor: the same rows read and grouped by week and channel in one statement.
fn floor_sql(db: Db, from: i64, to: i64) -> String {
    let week = match db {
        Db::Sqlite => "strftime('%Y-%W', first_message_at / 1000, 'unixepoch')",
        Db::Postgres => "to_char(to_timestamp(first_message_at / 1000), 'IYYY-IW')",
    };
    format!(
        "SELECT COUNT(*) FROM (SELECT {week} AS w, c.channel_kind, COUNT(*) AS cases, \
         SUM((SELECT COUNT(*) FROM messages m WHERE m.case_id = c.id)) AS messages, \
         SUM((SELECT COUNT(*) FROM sla_clocks k WHERE k.case_id = c.id AND k.state = 'met')) AS met \
         FROM cases c WHERE c.merged_into IS NULL AND c.first_message_at >= {from} AND c.first_message_at < {to} \
         GROUP BY 1, 2) g"
    )
}

pub async fn run(c: &CaseRun, report: &mut Report) -> anyhow::Result<()> {
    let (bdb, bin, n, quick) = (&c.bdb, &c.bin, c.n, c.quick);
    let (pool, seed_s) = c.seed(1).await?;
    let t = Instant::now();
    seed_facts(&pool, bdb.db).await?;
    let seed_s = seed_s + t.elapsed().as_secs_f64();
    c.analyze(&pool).await?;
    let what = "seeded over a year, 2 messages and 1-2 clocks each";
    c.report_cases(report, what, "the full run seeds 600,000");
    report.metric("seed_s", seed_s, "bulk seed time");

    // The whole seeded year (and a day either side), in Amsterdam dates.
    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Duration::days(367);
    let to = today + chrono::Duration::days(1);
    let (from_ms, to_ms) = (
        from.and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis()
            - 3_600_000,
        to.and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis(),
    );
    let reps = if quick { 3 } else { 5 };

    let floor = floor_sql(bdb.db, from_ms, to_ms);
    let mut times = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        let groups = pool.count(&floor).await?;
        times.push(t.elapsed());
        std::hint::black_box(groups);
    }
    times.sort();
    let floor_ms = percentile_ms(&times, 50.0);
    report.metric(
        "floor_ms",
        floor_ms,
        "one SQL statement: cases of the year with message and clock counts, by week x channel",
    );

    let server = Server::start(bin, &bdb.url, &[]).await?;
    let client = http_client(1)?;
    let mut worst: f64 = 0.0;
    let mut r = Ok(());
    for name in REPORTS {
        let url = format!(
            "{}/api/v1/reports/{name}?from={from}&to={to}&groupBy=week,channel",
            server.base
        );
        match time_report(&client, &url, reps).await {
            Ok((median, rows)) => {
                worst = worst.max(median);
                report.metric(
                    &format!("{name}_ms"),
                    median,
                    format!("median of {reps}; {rows} rows; target <= 500 (issue 16)"),
                );
                report.metric(
                    &format!("{name}_ratio"),
                    median / floor_ms.max(0.001),
                    "to the floor",
                );
            }
            Err(e) => {
                r = Err(e);
                break;
            }
        }
    }
    if r.is_ok() {
        report.metric("worst_report_ms", worst, "target <= 500 (issue 16)");
        report.metric(
            "cases_per_s",
            n as f64 / (worst / 1000.0).max(0.001),
            "cases read and summarised per second by the slowest report",
        );
    }
    server.stop().await;
    pool.close().await;
    r
}

/// The median time of `reps` requests (after one warm-up), and the rows of the last answer.
async fn time_report(
    client: &reqwest::Client,
    url: &str,
    reps: usize,
) -> anyhow::Result<(f64, usize)> {
    let mut times: Vec<Duration> = Vec::with_capacity(reps);
    let mut rows = 0;
    for i in 0..=reps {
        let (el, body) = timed_get(client, url).await?;
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        rows = v["rows"].as_array().map_or(0, Vec::len);
        if i > 0 {
            times.push(el);
        }
    }
    times.sort();
    Ok((percentile_ms(&times, 50.0), rows))
}
