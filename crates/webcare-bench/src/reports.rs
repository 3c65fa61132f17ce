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

const REPORTS: [&str; 7] = [
    "volume",
    "reaction",
    "resolution",
    "norms",
    "forwarding",
    "agents",
    // The period's cost under the cost model, allocated by answered questions (issue 16).
    "costs",
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
    let (pool, seed_s) = c.seed(1, crate::inbox::Messages::None).await?;
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
    // A server with pre-aggregated facts (migration 0036) is also timed on the raw path: the
    // stored facts emptied before every request (which then computes and stores them again).
    let stored = pool.count(EMPTY_COUNT).await.is_ok();
    let mut worst: f64 = 0.0;
    let mut r = Ok(());
    for name in REPORTS {
        let url = format!(
            "{}/api/v1/reports/{name}?from={from}&to={to}&groupBy=week,channel",
            server.base
        );
        if stored {
            match time_raw(&client, &pool, &url, reps).await {
                Ok(median) => report.metric(
                    &format!("{name}_raw_ms"),
                    median,
                    format!("median of {reps}, the stored facts emptied before each request"),
                ),
                Err(e) => {
                    r = Err(e);
                    break;
                }
            }
        }
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
        r = export(
            &client,
            &server,
            &pool,
            (from, to),
            (from_ms, to_ms),
            report,
        )
        .await;
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

/// Counts the stored report facts (fails when the server's schema has none).
const EMPTY_COUNT: &str = "SELECT COUNT(*) FROM case_report_facts WHERE facts IS NOT NULL";

/// Empties the stored report facts, so the next report reads the raw rows.
async fn empty_facts(pool: &Pool) -> anyhow::Result<()> {
    pool.exec("UPDATE case_report_facts SET facts = NULL, version = NULL")
        .await
}

/// The median time of `reps` requests, each after the stored facts were emptied.
async fn time_raw(
    client: &reqwest::Client,
    pool: &Pool,
    url: &str,
    reps: usize,
) -> anyhow::Result<f64> {
    let mut times: Vec<Duration> = Vec::with_capacity(reps);
    for _ in 0..reps {
        empty_facts(pool).await?;
        times.push(timed_get(client, url).await?.0);
    }
    times.sort();
    Ok(percentile_ms(&times, 50.0))
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

/// The columns of the floor's CSV: the case row as stored (no clocks or message counts, which the
/// export adds), so the floor is the least any export of these cases does.
#[derive(sqlx::FromRow, serde::Serialize)]
struct FloorRow {
    id: uuid::Uuid,
    first_message_at: i64,
    channel_kind: Option<String>,
    channel_account_id: uuid::Uuid,
    theme: Option<String>,
    kind: Option<String>,
    target_group: Option<String>,
    team: Option<String>,
    department_id: Option<uuid::Uuid>,
    assignee: Option<String>,
    status: String,
    priority: String,
    resolved_at: Option<i64>,
}

/// The export floor: the year's cases read with one streamed query and written with the csv
/// crate to a sink. Answers the rows and the time.
async fn export_floor(pool: &Pool, from_ms: i64, to_ms: i64) -> anyhow::Result<(usize, Duration)> {
    use futures::TryStreamExt;
    let sql = format!(
        "SELECT id, first_message_at, channel_kind, channel_account_id, theme, kind, target_group, \
         team, department_id, assignee, status, priority, resolved_at FROM cases \
         WHERE merged_into IS NULL AND first_message_at >= {from_ms} AND first_message_at < {to_ms} \
         ORDER BY first_message_at, id"
    );
    let mut w = csv::Writer::from_writer(std::io::sink());
    let mut rows = 0;
    let t = Instant::now();
    match pool {
        Pool::Sqlite(p) => {
            let mut s = sqlx::query_as::<_, FloorRow>(&sql).fetch(p);
            while let Some(r) = s.try_next().await? {
                w.serialize(r)?;
                rows += 1;
            }
        }
        Pool::Pg(p) => {
            let mut s = sqlx::query_as::<_, FloorRow>(&sql).fetch(p);
            while let Some(r) = s.try_next().await? {
                w.serialize(r)?;
                rows += 1;
            }
        }
    }
    w.flush()?;
    Ok((rows, t.elapsed()))
}

/// One CSV download of the per-case export, read chunk by chunk while the server's resident
/// memory is sampled: (data rows, time, peak VmRSS in MiB during the download).
async fn export_once(
    client: &reqwest::Client,
    url: &str,
    pid: u32,
) -> anyhow::Result<(usize, Duration, f64)> {
    let sampler = tokio::spawn(async move {
        let mut peak: f64 = 0.0;
        while let Some((rss, _)) = rss_mb(pid) {
            peak = peak.max(rss);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        peak
    });
    let t = Instant::now();
    let mut res = client
        .get(url)
        .bearer_auth(ADMIN_TOKEN)
        .header("accept", "text/csv")
        .send()
        .await?;
    anyhow::ensure!(res.status() == 200, "{url}: {}", res.status());
    let mut lines = 0;
    while let Some(chunk) = res.chunk().await? {
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let el = t.elapsed();
    let (rss_now, _) = rss_mb(pid).unwrap_or((f64::NAN, f64::NAN));
    sampler.abort();
    let peak = sampler.await.unwrap_or(rss_now).max(rss_now);
    // The header is one line; the seed's texts hold no line breaks.
    Ok((lines.saturating_sub(1), el, peak))
}

/// The per-case CSV export of the whole year against its floor, and the server's memory while
/// it streams half the year and then the whole year (flat: the same peak for twice the rows).
async fn export(
    client: &reqwest::Client,
    server: &Server,
    pool: &Pool,
    (from, to): (chrono::NaiveDate, chrono::NaiveDate),
    (from_ms, to_ms): (i64, i64),
    report: &mut Report,
) -> anyhow::Result<()> {
    let (floor_rows, floor_el) = export_floor(pool, from_ms, to_ms).await?;
    let floor_rate = floor_rows as f64 / floor_el.as_secs_f64().max(1e-6);
    report.metric(
        "export_floor_rows_per_s",
        floor_rate,
        format!("{floor_rows} case rows: one streamed SELECT written with the csv crate to a sink"),
    );
    let (rss_before, _) = rss_mb(server.pid).unwrap_or((f64::NAN, f64::NAN));
    report.metric(
        "export_rss_before_mb",
        rss_before,
        "server VmRSS before the exports",
    );
    let half = from + (to - from) / 2;
    let url =
        |to: chrono::NaiveDate| format!("{}/api/v1/reports/cases?from={from}&to={to}", server.base);
    if pool.count(EMPTY_COUNT).await.is_ok() {
        // The raw path (which stores the facts again for the timed exports below).
        empty_facts(pool).await?;
        let (rows, el, _) = export_once(client, &url(to), server.pid).await?;
        report.metric(
            "export_raw_rows_per_s",
            rows as f64 / el.as_secs_f64().max(1e-6),
            format!("{rows} rows, the stored facts emptied before"),
        );
        report.metric(
            "export_stored_cases",
            pool.count(EMPTY_COUNT).await? as f64,
            "cases with stored facts after it",
        );
    }
    let (half_rows, _, half_peak) = export_once(client, &url(half), server.pid).await?;
    report.metric(
        "export_half_rss_peak_mb",
        half_peak,
        format!("server VmRSS peak while streaming half the year ({half_rows} rows)"),
    );
    let (rows, el, peak) = export_once(client, &url(to), server.pid).await?;
    anyhow::ensure!(
        rows == floor_rows,
        "the export streamed {rows} rows, the floor read {floor_rows}"
    );
    let rate = rows as f64 / el.as_secs_f64().max(1e-6);
    report.metric(
        "export_rows_per_s",
        rate,
        format!("{rows} rows of the year as CSV over HTTP; target >= 50,000 (issue 16)"),
    );
    report.metric(
        "export_ratio",
        floor_rate / rate.max(1e-6),
        "floor rate / export rate",
    );
    report.metric(
        "export_rss_peak_mb",
        peak,
        "server VmRSS peak while streaming the whole year (flat: about the half-year peak)",
    );
    Ok(())
}
