//! `ingest`: signed Meta webhook deliveries (or normalised `POST /api/v1/messages`) from many
//! concurrent connections against a real `webcare serve`, timed until every unique message is
//! stored and threaded; then the same messages through the simplest correct sqlx code (multi-row
//! INSERT ... ON CONFLICT DO NOTHING in transactions of 256 rows, one connection) into an
//! equivalent table with the same unique key, on the same database: the floor.

use crate::common::*;
use crate::workload::{self, Workload};
use anyhow::{bail, Context};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Via {
    /// Signed Meta webhooks to `/webhooks/meta` when the endpoint exists, else the API.
    Auto,
    Meta,
    Api,
}

pub struct Sizes {
    pub unique: usize,
    pub concurrency: usize,
}

pub fn sizes(quick: bool) -> Sizes {
    Sizes {
        unique: if quick { 10_000 } else { 200_000 },
        concurrency: 128,
    }
}

/// A prepared request: path, body, optional signature.
struct Prepared {
    url: String,
    body: workload::bytes_like::Body,
    signature: Option<String>,
}

pub struct LoadResult {
    pub sent: usize,
    pub elapsed_to_stored: Duration,
    pub acks: Vec<Duration>,
    pub statuses: BTreeMap<u16, usize>,
    pub transport_errors: usize,
    pub stored: i64,
    pub all_stored: bool,
}

/// Decides how to send: `/webhooks/meta` answers anything but 404 once it exists.
pub async fn probe_meta(client: &reqwest::Client, base: &str) -> anyhow::Result<bool> {
    let res = client
        .post(format!("{base}/webhooks/meta"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await?;
    Ok(res.status() != reqwest::StatusCode::NOT_FOUND)
}

/// Creates the workload's channel accounts on the server; returns their ids in workload order.
pub async fn create_accounts(
    client: &reqwest::Client,
    base: &str,
    w: &Workload,
) -> anyhow::Result<Vec<Uuid>> {
    let mut ids = Vec::new();
    for a in &w.accounts {
        ids.push(create_account(client, base, a.create_body()).await?);
    }
    Ok(ids)
}

/// Sends the workload with `concurrency` requests in flight and waits until `expected` messages
/// are in the `messages` table (counted with `counter`, above `baseline`), at most 300 s.
#[allow(clippy::too_many_arguments)]
pub async fn run_load(
    client: &reqwest::Client,
    base: &str,
    w: &Workload,
    account_ids: &[Uuid],
    via_meta: bool,
    concurrency: usize,
    counter: &Pool,
    baseline: i64,
) -> anyhow::Result<LoadResult> {
    let prepared: Vec<Prepared> = if via_meta {
        w.deliveries
            .iter()
            .map(|d| Prepared {
                url: format!("{base}/webhooks/meta"),
                body: d.body.clone(),
                signature: Some(d.signature.clone()),
            })
            .collect()
    } else {
        let bodies: Vec<workload::bytes_like::Body> = w
            .messages
            .iter()
            .map(|(a, m)| {
                let v = serde_json::json!({
                    "channelAccountId": account_ids[*a],
                    "platformMessageId": m.platform_message_id,
                    "inReplyTo": m.in_reply_to,
                    "conversationKey": m.conversation_key,
                    "visibility": m.visibility.as_str(),
                    "author": {"platformUserId": m.author.platform_user_id, "handle": m.author.handle,
                               "displayName": m.author.display_name},
                    "text": m.text,
                    "sentAt": m.sent_at.to_rfc3339(),
                    "attachments": m.attachments.iter().map(|a| serde_json::json!({
                        "kind": a.kind, "url": a.url, "mimeType": a.mime_type,
                        "platformMediaId": a.platform_media_id, "caption": a.caption, "filename": a.filename,
                    })).collect::<Vec<_>>(),
                });
                std::sync::Arc::new(serde_json::to_vec(&v).expect("json"))
            })
            .collect();
        w.deliveries
            .iter()
            .map(|d| Prepared {
                url: format!("{base}/api/v1/messages"),
                body: bodies[d.message].clone(),
                signature: None,
            })
            .collect()
    };
    let expected = baseline + w.messages.len() as i64;

    let start = Instant::now();
    let results: Vec<(Duration, Option<u16>)> = futures::stream::iter(prepared)
        .map(|p| {
            let client = client.clone();
            async move {
                let t = Instant::now();
                let mut req = client
                    .post(&p.url)
                    .header("content-type", "application/json")
                    .body(p.body.to_vec());
                req = match &p.signature {
                    Some(sig) => req.header("x-hub-signature-256", sig),
                    None => req.bearer_auth(ADMIN_TOKEN),
                };
                let status = match req.send().await {
                    Ok(res) => {
                        let s = res.status().as_u16();
                        let _ = res.bytes().await;
                        Some(s)
                    }
                    Err(_) => None,
                };
                (t.elapsed(), status)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let sent = results.len();
    // Processing may be asynchronous (the webhook answers after journaling): poll the store.
    let mut stored;
    let deadline = Instant::now() + Duration::from_secs(300);
    let all_stored = loop {
        stored = counter.count("SELECT COUNT(*) FROM messages").await?;
        if stored >= expected {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let elapsed_to_stored = start.elapsed();
    let mut acks: Vec<Duration> = results.iter().map(|r| r.0).collect();
    acks.sort();
    let mut statuses = BTreeMap::new();
    let mut transport_errors = 0;
    for (_, s) in &results {
        match s {
            Some(s) => *statuses.entry(*s).or_insert(0) += 1,
            None => transport_errors += 1,
        }
    }
    Ok(LoadResult {
        sent,
        elapsed_to_stored,
        acks,
        statuses,
        transport_errors,
        stored: stored - baseline,
        all_stored,
    })
}

pub async fn run(
    db: Db,
    pg_url: &str,
    quick: bool,
    via: Via,
    unique: Option<usize>,
    rules: usize,
) -> anyhow::Result<Report> {
    let mut report = Report::new("ingest", db);
    let sz = sizes(quick);
    let unique = unique.unwrap_or(sz.unique);
    let bin = webcare_binary()?;
    let w = workload::build(unique, 42)?;
    let bdb = BenchDb::fresh(db, pg_url).await?;
    let result = run_inner(
        &bdb,
        &bin,
        &w,
        via,
        sz.concurrency,
        quick,
        rules,
        &mut report,
    )
    .await;
    bdb.drop_db().await;
    result?;
    Ok(report)
}

// The benchmark's knobs, passed through once; a struct for them would only be unpacked again.
#[allow(clippy::too_many_arguments)]
async fn run_inner(
    bdb: &BenchDb,
    bin: &std::path::PathBuf,
    w: &Workload,
    via: Via,
    concurrency: usize,
    quick: bool,
    rules: usize,
    report: &mut Report,
) -> anyhow::Result<()> {
    let server = Server::start(bin, &bdb.url, &[]).await?;
    let client = http_client(concurrency * 2)?;
    let ids = create_accounts(&client, &server.base, w).await?;
    add_rules(&client, &server.base, rules).await?;
    report.metric(
        "routing_rules",
        rules as f64,
        "rules in force: each new case is tried against them in the ingest transaction",
    );
    let has_meta = probe_meta(&client, &server.base).await?;
    let via_meta = match via {
        Via::Meta if !has_meta => {
            server.stop().await;
            bail!("--via meta: POST /webhooks/meta answers 404 on this build: the Meta webhook endpoint is not merged yet (use --via api)");
        }
        Via::Meta => true,
        Via::Api => false,
        Via::Auto => has_meta,
    };
    let counter = bdb.pool(2).await?;
    let load = run_load(
        &client,
        &server.base,
        w,
        &ids,
        via_meta,
        concurrency,
        &counter,
        0,
    )
    .await;
    let cases = counter
        .count("SELECT COUNT(*) FROM cases")
        .await
        .unwrap_or(-1);
    let contacts = counter
        .count("SELECT COUNT(*) FROM contacts")
        .await
        .unwrap_or(-1);
    server.stop().await;
    let load = load?;

    let unique = w.messages.len();
    let ours = unique as f64 / load.elapsed_to_stored.as_secs_f64();
    report.info(
        "workload",
        format!("{unique} msgs"),
        format!(
            "{} deliveries ({} duplicate), {} in flight, via {}{}",
            w.deliveries.len(),
            w.deliveries.iter().filter(|d| d.duplicate).count(),
            concurrency,
            if via_meta {
                "POST /webhooks/meta (signed)"
            } else {
                "POST /api/v1/messages"
            },
            if quick { ", --quick" } else { "" }
        ),
    );
    if !via_meta && via == Via::Auto {
        report.note("POST /webhooks/meta answered 404 (endpoint not merged yet): measured through POST /api/v1/messages with the same messages; the Meta parse and signature check are not in the figure.");
    }
    report.metric(
        "via_meta",
        if via_meta { 1.0 } else { 0.0 },
        "1 = signed Meta webhooks, 0 = normalised API",
    );
    report.metric(
        "msgs_per_s",
        ours,
        "target >= 5000 (DESIGN 13), until every unique message is stored",
    );
    report.metric(
        "ack_p50_ms",
        percentile_ms(&load.acks, 50.0),
        "HTTP answer time per delivery",
    );
    report.metric("ack_p99_ms", percentile_ms(&load.acks, 99.0), "");
    report.info(
        "statuses",
        format!("{:?}", load.statuses),
        format!("transport errors: {}", load.transport_errors),
    );
    if !load.all_stored {
        report.note(format!(
            "NOT every message was stored within 300 s: {} of {unique}",
            load.stored
        ));
    }
    report.metric(
        "messages_stored",
        load.stored as f64,
        format!("expected {unique}"),
    );
    report.must_be_zero(
        "messages_lost",
        (unique as i64 - load.stored).max(0) as f64,
        "unique messages not stored within 300 s; must be 0",
    );
    report.must_be_zero(
        "duplicates_stored",
        (load.stored - unique as i64).max(0) as f64,
        "must be 0 (10% of deliveries are retries)",
    );
    report.metric("cases", cases as f64, "cases opened by threading");
    report.metric("contacts", contacts as f64, "");
    report.note("'stored' means message + contact + case + thread key + the SLA reaction clock, committed in one ingest transaction.");

    let floor = floor(bdb, w).await.context("floor run")?;
    let floor_rate = unique as f64 / floor.as_secs_f64();
    report.metric(
        "floor_msgs_per_s",
        floor_rate,
        "multi-row INSERT .. ON CONFLICT DO NOTHING, 256 rows/tx, 1 connection",
    );
    report.metric(
        "ratio_to_floor",
        floor_rate / ours,
        "floor / ours; target <= 3 (DESIGN 13)",
    );
    counter.close().await;
    Ok(())
}

/// Puts `n` routing rules in force through the admin API. Their actions only add a label, so
/// the threading and assignment of the load stay the same as without rules.
async fn add_rules(client: &reqwest::Client, base: &str, n: usize) -> anyhow::Result<()> {
    for spec in crate::routing::sample_rules(7, n) {
        let body = serde_json::json!({
            "name": spec.name, "conditions": spec.conditions,
            "actions": {"labels": ["regel"]},
        });
        let res = client
            .post(format!("{base}/api/v1/routing-rules"))
            .bearer_auth(crate::common::ADMIN_TOKEN)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(
            res.status() == 201,
            "adding a routing rule answered {}: {}",
            res.status(),
            res.text().await.unwrap_or_default()
        );
    }
    Ok(())
}

const FLOOR_BATCH: usize = 256;

/// The floor: every delivery's message (duplicates too, in delivery order) into an equivalent
/// table with the same unique key, by the simplest correct sqlx code. Returns the elapsed time.
async fn floor(bdb: &BenchDb, w: &Workload) -> anyhow::Result<Duration> {
    let pool = bdb.pool(1).await?;
    let rows: Vec<&(usize, webcare_domain::inbound::InboundMessage)> = w
        .deliveries
        .iter()
        .map(|d| &w.messages[d.message])
        .collect();
    let account_ids: Vec<Uuid> = (0..w.accounts.len()).map(|_| Uuid::now_v7()).collect();
    let now = chrono::Utc::now().timestamp_millis();
    macro_rules! floor_insert {
        ($p:expr, $db:ty, $ddl:expr) => {{
            sqlx::raw_sql($ddl).execute($p).await?;
            let start = Instant::now();
            for chunk in rows.chunks(FLOOR_BATCH) {
                let mut tx = $p.begin().await?;
                let mut q: sqlx::QueryBuilder<'_, $db> = sqlx::QueryBuilder::new(
                    "INSERT INTO floor_messages (id, channel_account_id, platform_message_id, in_reply_to, \
                     conversation_key, direction, visibility, author, text, sent_at, received_at, attachments) ",
                );
                q.push_values(chunk.iter(), |mut b, (a, m)| {
                    b.push_bind(Uuid::now_v7())
                        .push_bind(account_ids[*a])
                        .push_bind(&m.platform_message_id)
                        .push_bind(&m.in_reply_to)
                        .push_bind(&m.conversation_key)
                        .push_bind(m.direction.as_str())
                        .push_bind(m.visibility.as_str())
                        .push_bind(sqlx::types::Json(&m.author))
                        .push_bind(&m.text)
                        .push_bind(m.sent_at.timestamp_millis())
                        .push_bind(now)
                        .push_bind(sqlx::types::Json(&m.attachments));
                });
                q.push(" ON CONFLICT (channel_account_id, platform_message_id) DO NOTHING");
                q.build().execute(&mut *tx).await?;
                tx.commit().await?;
            }
            let elapsed = start.elapsed();
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM floor_messages").fetch_one($p).await?;
            if n != w.messages.len() as i64 {
                bail!("floor stored {n} rows, expected {}", w.messages.len());
            }
            elapsed
        }};
    }
    let elapsed = match &pool {
        Pool::Sqlite(p) => floor_insert!(
            p,
            sqlx::Sqlite,
            "CREATE TABLE floor_messages (id BLOB PRIMARY KEY NOT NULL, channel_account_id BLOB NOT NULL, \
             platform_message_id TEXT NOT NULL, in_reply_to TEXT, conversation_key TEXT, direction TEXT NOT NULL, \
             visibility TEXT NOT NULL, author TEXT NOT NULL, text TEXT NOT NULL, sent_at INTEGER NOT NULL, \
             received_at INTEGER NOT NULL, attachments TEXT NOT NULL, UNIQUE (channel_account_id, platform_message_id))"
        ),
        Pool::Pg(p) => floor_insert!(
            p,
            sqlx::Postgres,
            "CREATE TABLE floor_messages (id UUID PRIMARY KEY, channel_account_id UUID NOT NULL, \
             platform_message_id TEXT NOT NULL, in_reply_to TEXT, conversation_key TEXT, direction TEXT NOT NULL, \
             visibility TEXT NOT NULL, author JSONB NOT NULL, text TEXT NOT NULL, sent_at BIGINT NOT NULL, \
             received_at BIGINT NOT NULL, attachments JSONB NOT NULL, UNIQUE (channel_account_id, platform_message_id))"
        ),
    };
    pool.close().await;
    Ok(elapsed)
}
