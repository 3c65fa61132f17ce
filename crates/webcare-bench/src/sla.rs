//! `sla`: deadline and business-time computations per second with the fast calendar walk
//! (`webcare_domain::sla`) against the naive minute-by-minute reference (`sla::naive`) in the same
//! run, over realistic municipal calendars and the usual norms (120, 240 and 1440 business
//! minutes); every naive answer is also compared with the fast one.
//!
//! Then `breach_delay_p50_ms`/`breach_delay_p99_ms`: due instant to recorded breach with 100,000
//! running clocks (`--quick`: 20,000; `--n` sets it) on a real `webcare serve`; see
//! [`crate::breach`].

use crate::common::*;
use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::time::Instant;
use webcare_domain::sla::BusinessHours;
use webcare_domain::sla::{Calendar, CalendarSpec};

/// Realistic calendars: a plain KCC week, a split day with evening and Saturday openings and
/// Goede Vrijdag closed, and a webcare desk open seven days a week with closures.
pub fn calendars() -> Vec<(&'static str, Calendar)> {
    let specs = [
        (
            "kcc-weekdays",
            r#"{"timeZone":"Europe/Amsterdam","weekly":{
                "monday":[["08:30","17:00"]],"tuesday":[["08:30","17:00"]],"wednesday":[["08:30","17:00"]],
                "thursday":[["08:30","17:00"]],"friday":[["08:30","17:00"]]},
               "holidays":{"set":"nl","goodFriday":false}}"#,
        ),
        (
            "split-evenings-saturday",
            r#"{"timeZone":"Europe/Amsterdam","weekly":{
                "monday":[["08:30","12:30"],["13:00","17:00"]],
                "tuesday":[["08:30","12:30"],["13:00","17:00"],["18:00","20:00"]],
                "wednesday":[["08:30","12:30"],["13:00","17:00"],["18:00","20:00"]],
                "thursday":[["08:30","12:30"],["13:00","17:00"],["18:00","20:00"]],
                "friday":[["08:30","12:30"]],"saturday":[["10:00","14:00"]]},
               "holidays":{"set":"nl","goodFriday":true},
               "closures":[{"date":"2026-02-16","reason":"carnaval"},{"date":"2026-12-31"}],
               "extraOpenings":[{"date":"2026-03-14","intervals":[["10:00","14:00"]]}]}"#,
        ),
        (
            "webcare-7-days",
            r#"{"timeZone":"Europe/Amsterdam","weekly":{
                "monday":[["08:00","22:00"]],"tuesday":[["08:00","22:00"]],"wednesday":[["08:00","22:00"]],
                "thursday":[["08:00","22:00"]],"friday":[["08:00","22:00"]],"saturday":[["09:00","17:00"]],
                "sunday":[["12:00","17:00"]]},
               "holidays":{"set":"nl"},"closures":[{"date":"2026-12-25"}]}"#,
        ),
    ];
    specs
        .iter()
        .map(|(name, json)| {
            let spec: CalendarSpec = serde_json::from_str(json).expect("calendar spec parses");
            (*name, spec.validate().expect("calendar spec validates"))
        })
        .collect()
}

pub const NORMS: [i64; 3] = [120, 240, 1440];

/// Whole-minute starts over 2026 (covering DST changes and every holiday), so the naive
/// reference (minute-granular) applies to exactly the same inputs.
fn starts(n: usize, seed: u64) -> Vec<DateTime<Utc>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    (0..n)
        .map(|_| from + Duration::minutes(rng.gen_range(0..365 * 24 * 60)))
        .collect()
}

pub async fn run(db: Db, pg_url: &str, quick: bool, n: Option<usize>) -> anyhow::Result<Report> {
    let mut report = Report::new("sla", db);
    let cals = calendars();
    let inputs = starts(4096, 11);
    let fast_budget = std::time::Duration::from_millis(if quick { 1500 } else { 5000 });
    let naive_n = if quick { 300 } else { 1500 };

    // Fast deadlines: rounds over every calendar x norm x start until the time budget is used.
    let mut fast_n = 0u64;
    let start = Instant::now();
    while start.elapsed() < fast_budget {
        for (_, cal) in &cals {
            for &norm in &NORMS {
                for &s in &inputs {
                    black_box(cal.deadline_minutes(black_box(s), norm).ok());
                }
                fast_n += inputs.len() as u64;
            }
        }
    }
    let fast_rate = fast_n as f64 / start.elapsed().as_secs_f64();

    // Fast business time: start to start + 3 days (a typical open clock asked "how much used").
    let mut bt_n = 0u64;
    let start = Instant::now();
    while start.elapsed() < fast_budget / 2 {
        for (_, cal) in &cals {
            for &s in &inputs {
                black_box(cal.business_seconds_between(s, s + Duration::hours(72)));
            }
            bt_n += inputs.len() as u64;
        }
    }
    let bt_rate = bt_n as f64 / start.elapsed().as_secs_f64();

    // Naive reference on the same kind of inputs, checked against the fast answer.
    let mut mismatches = 0u64;
    let mut naive_done = 0u64;
    let start = Instant::now();
    for (i, &s) in inputs.iter().cycle().take(naive_n).enumerate() {
        let (_, cal) = &cals[i % cals.len()];
        let norm = NORMS[(i / cals.len()) % NORMS.len()];
        let naive = webcare_domain::sla::naive::deadline(cal, s, norm);
        naive_done += 1;
        if naive != cal.deadline_minutes(s, norm).ok() {
            mismatches += 1;
        }
    }
    let naive_elapsed = start.elapsed();
    // The fast answers timed inside that loop are negligible (>1000x faster).
    let naive_rate = naive_done as f64 / naive_elapsed.as_secs_f64();

    report.info(
        "inputs",
        format!("{} calendars x {:?} min", cals.len(), NORMS),
        format!(
            "{} whole-minute starts over 2026 (DST, holidays){}",
            inputs.len(),
            if quick { ", --quick" } else { "" }
        ),
    );
    report.metric(
        "deadlines_per_s",
        fast_rate,
        "target >= 1,000,000 (DESIGN 13), one core",
    );
    report.metric(
        "business_time_per_s",
        bt_rate,
        "business seconds in [start, start + 72 h)",
    );
    report.metric(
        "naive_deadlines_per_s",
        naive_rate,
        "minute-by-minute reference",
    );
    report.metric("speedup_vs_naive", fast_rate / naive_rate, "");
    report.must_be_zero(
        "naive_mismatches",
        mismatches as f64,
        format!("of {naive_done} compared; must be 0"),
    );

    let plan = crate::breach::Plan::new(quick, n);
    let b = crate::breach::measure(db, pg_url, plan).await?;
    report.info(
        "breach_setup",
        format!("{} clocks", plan.clocks),
        format!(
            "{} due in the run over {} s, the rest days later; seeded set-wise in {:.1} s{}",
            plan.due_in_run,
            plan.window.as_secs(),
            b.seed_secs,
            if quick { ", --quick" } else { "" }
        ),
    );
    report.metric(
        "breach_clocks",
        plan.clocks as f64,
        "running clocks in the database",
    );
    report.metric(
        "breach_rate_per_s",
        plan.due_in_run as f64 / plan.window.as_secs_f64(),
        "breaches falling due per second during the run",
    );
    report.metric(
        "breaches_measured",
        b.fired.len() as f64,
        format!(
            "{} due before the server was ready + 1 s left out",
            b.excluded
        ),
    );
    report.must_be_zero(
        "breaches_missing",
        b.missing as f64,
        "due in the run, not recorded; must be 0",
    );
    report.metric(
        "warnings_fired",
        b.warnings as f64,
        "warnings that fell in the run",
    );
    report.metric(
        "breach_delay_p50_ms",
        percentile_ms(&b.fired, 50.0),
        "firedAt - dueAt",
    );
    report.metric(
        "breach_delay_p99_ms",
        percentile_ms(&b.fired, 99.0),
        "target <= 1000 (DESIGN 13)",
    );
    report.metric(
        "breach_delay_max_ms",
        b.fired
            .last()
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0),
        "",
    );
    report.metric(
        "breach_seen_p99_ms",
        percentile_ms(&b.seen, 99.0),
        "first seen committed by a reader polling every 10 ms, minus dueAt",
    );
    report.metric(
        "breaches_notified",
        b.notified.len() as f64,
        "live event recorded by the end of the run (3 s after the last due instant)",
    );
    report.metric(
        "breach_notify_p99_ms",
        percentile_ms(&b.notified, 99.0),
        "notifiedAt - dueAt of those",
    );
    Ok(report)
}
