//! `sla`: deadline and business-time computations per second with the fast calendar walk
//! (`webcare_domain::sla`) against the naive minute-by-minute reference (`sla::naive`) in the same
//! run, over realistic municipal calendars and the usual norms (120, 240 and 1440 business
//! minutes); every naive answer is also compared with the fast one.
//!
//! `breach_delay_p99_ms` (due instant to recorded breach, 100,000 running clocks) needs the SLA
//! worker; see [`breach_delay`] for how it plugs in.

use crate::common::*;
use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::time::Instant;
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

pub async fn run(db: Db, quick: bool) -> anyhow::Result<Report> {
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
    report.metric(
        "naive_mismatches",
        mismatches as f64,
        format!("of {naive_done} compared; must be 0"),
    );

    match breach_delay(db).await {
        Some(p99) => report.metric("breach_delay_p99_ms", p99, "target <= 1000 (DESIGN 13)"),
        None => report.info(
            "breach_delay_p99_ms",
            "n/a",
            "not measured by this suite yet: see BENCHMARKS.md (the sla::breach_delay e2e harness)",
        ),
    }
    Ok(report)
}

/// Time from a due instant to the recorded breach with 100,000 running clocks, p99 in ms.
///
/// `None` until the SLA worker exists. To finish it once issue 4 is merged:
/// 1. `BenchDb::fresh` + `migrate`, then seed 100,000 cases whose reaction clocks are due spread
///    over the next 10 s (and 90% due much later, so the timer wheel holds all 100,000) directly
///    into the SLA tables with one multi-row INSERT per 1,000 rows (see `inbox::seed_cases`);
/// 2. `Server::start` the real binary (the worker runs in `serve`);
/// 3. poll the breach records (their recorded-at minus the clock's due instant) until every clock
///    due in the window has one, and take the p99 of the differences.
async fn breach_delay(_db: Db) -> Option<f64> {
    None
}
