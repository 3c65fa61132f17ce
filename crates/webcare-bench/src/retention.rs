//! `retention`: N cases over the last year (the inbox suite's seed: 67% resolved or closed,
//! n/10 contacts), each with a citizen message and a reply and their clocks (the reports
//! suite's facts); terms of one day, so every finished case has expired. Then the retention
//! run as the worker does it (`webcare_store::retention`: the pre-selection by kind, one
//! transaction per batch of 1,000 that blanks and hashes, the contacts left with nothing to
//! keep), in this process over the store, next to its floor measured in the same run: the two
//! set-wise statements that blank every finished case's messages and mark the cases, at once.
//! The floor is undone (the marks cleared) before the run; its blanked texts stay, which costs
//! the run nothing.

use crate::common::*;
use crate::inbox::CaseRun;
use std::time::Instant;
use webcare_domain::retention::Terms;
use webcare_store::retention::kinds;

pub fn default_cases(quick: bool) -> usize {
    if quick {
        20_000
    } else {
        300_000
    }
}

const FINISHED: &str = "status IN ('resolved', 'closed')";

pub async fn run(c: &CaseRun, report: &mut Report) -> anyhow::Result<()> {
    let (pool, _) = c.seed(1).await?;
    crate::reports::seed_facts(&pool, c.bdb.db).await?;
    c.analyze(&pool).await?;
    c.report_cases(
        report,
        "seeded over a year, 2 messages and 1-2 clocks each",
        "the full run seeds 300,000",
    );
    let finished = pool
        .count(&format!("SELECT COUNT(*) FROM cases WHERE {FINISHED}"))
        .await?;
    report.metric("finished_cases", finished as f64, "resolved or closed");

    // The floor: blank and mark every finished case in two statements, then clear the marks.
    let t = Instant::now();
    pool.exec(&format!(
        "UPDATE messages SET text = '' WHERE case_id IN (SELECT id FROM cases WHERE {FINISHED})"
    ))
    .await?;
    pool.exec(&format!(
        "UPDATE cases SET anonymised_at = 1 WHERE {FINISHED}"
    ))
    .await?;
    let floor_s = t.elapsed().as_secs_f64();
    pool.exec("UPDATE cases SET anonymised_at = NULL").await?;
    c.analyze(&pool).await?;
    report.metric(
        "floor_cases_per_s",
        finished as f64 / floor_s.max(1e-9),
        "two set-wise UPDATEs: the messages blanked, the cases marked",
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
    };
    let now = chrono::Utc::now();
    let key = b"bench-retention-key-of-32-characters".to_vec();
    let t = Instant::now();
    let mut done = webcare_store::retention::Anonymised::default();
    for kind in kinds() {
        let mut after = None;
        loop {
            let (page, next) = store.expired_cases(kind, &terms, now, after, 1000).await?;
            let ids: Vec<_> = page.iter().map(|e| e.id).collect();
            done += store.anonymise_cases(&ids, &key, now).await?;
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
    }
    let run_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        done.cases == finished as u64,
        "the run anonymised {} of {finished} finished cases",
        done.cases
    );
    let per_s = done.cases as f64 / run_s.max(1e-9);
    report.metric("run_s", run_s, "the whole run, batches of 1,000");
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
    store.close().await;
    Ok(())
}
