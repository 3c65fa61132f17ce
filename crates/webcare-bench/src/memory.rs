//! `memory`: resident memory of `webcare serve` (VmRSS / VmHWM from /proc) idle after start with
//! N cases stored, after a round of inbox queries, and at its peak under the ingest load.

use crate::common::*;
use crate::inbox::{self, CaseRun};
use crate::{ingest, workload};
use std::time::Duration;

pub async fn run(c: &CaseRun, report: &mut Report) -> anyhow::Result<()> {
    let (bdb, bin, quick) = (&c.bdb, &c.bin, c.quick);
    let (pool, _) = c.seed(2, crate::inbox::Messages::None).await?;
    c.analyze(&pool).await?;
    c.report_cases(report, "stored", "the full run stores 1,000,000");
    let server = Server::start(bin, &bdb.url, &[]).await?;
    let r = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (idle, _) =
            rss_mb(server.pid).ok_or_else(|| anyhow::anyhow!("no /proc status for the server"))?;
        report.metric(
            "rss_idle_mb",
            idle,
            "VmRSS 2 s after start; target <= 100 (DESIGN 13)",
        );

        // A round of inbox pages, as agents open the desk in the morning.
        let client = http_client(256)?;
        for i in 0..200 {
            let q = match i % 3 {
                0 => "assignee=none".to_owned(),
                1 => format!("assignee=agent{:02}", i % inbox::AGENTS),
                _ => format!("team=team{}", i % inbox::TEAMS),
            };
            client
                .get(format!("{}/api/v1/cases?{q}&limit=50", server.base))
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await?
                .bytes()
                .await?;
        }
        let (after_inbox, _) = rss_mb(server.pid).unwrap_or((f64::NAN, f64::NAN));
        report.metric("rss_after_inbox_mb", after_inbox, "after 200 inbox pages");

        // An ingest load (5,000 messages quick, 20,000 full), sampling memory while it runs.
        let w = workload::build(if quick { 5_000 } else { 20_000 }, 43)?;
        let ids = ingest::create_accounts(&client, &server.base, &w).await?;
        let via_meta = ingest::probe_meta(&client, &server.base).await?;
        let pid = server.pid;
        let sampler = tokio::spawn(async move {
            let mut peak: f64 = 0.0;
            while let Some((rss, hwm)) = rss_mb(pid) {
                peak = peak.max(rss).max(hwm);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            peak
        });
        let baseline = pool.count("SELECT COUNT(*) FROM messages").await?;
        let load = ingest::run_load(
            &client,
            &server.base,
            &w,
            &ids,
            via_meta,
            128,
            &pool,
            baseline,
        )
        .await?;
        let (_, hwm) = rss_mb(server.pid).unwrap_or((f64::NAN, f64::NAN));
        sampler.abort();
        report.metric(
            "rss_peak_mb",
            hwm,
            "VmHWM after the ingest load (128 in flight)",
        );
        report.info(
            "ingest_load",
            format!("{} msgs", w.messages.len()),
            format!(
                "{} deliveries via {}, {} stored in {:.1} s",
                load.sent,
                if via_meta {
                    "/webhooks/meta"
                } else {
                    "/api/v1/messages"
                },
                load.stored,
                load.elapsed_to_stored.as_secs_f64()
            ),
        );
        anyhow::Ok(())
    }
    .await;
    server.stop().await;
    pool.close().await;
    r
}
