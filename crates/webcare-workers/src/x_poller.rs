//! The X poller: per X account, mentions (`GET /2/users/:id/mentions` with `since_id` and
//! pagination), DMs (`GET /2/dm_events`), and a periodic delete re-check of the open cases' posts
//! (`GET /2/tweets?ids=`, in batches of 100: `resource-not-found` marks the message deleted),
//! because polling never reports deletions.
//!
//! * Every fetched page is journaled (durable, raw) and processed through the same path as the
//!   webhooks (dedupe, threading, echoes, edits via `edit_history_tweet_ids`). The cursor in the
//!   database (`poll_cursors`) is advanced only after every page of the poll is processed; a crash
//!   in between re-fetches from the old cursor and the store dedupes.
//! * Rate limits: a 429 waits until `x-rate-limit-reset`; an exhausted window
//!   (`x-rate-limit-remaining: 0`) also waits for its reset; other errors back off exponentially
//!   (5 s doubling, at most 15 minutes).
//! * Multi-node: a named lease per account (`x-poll:<account id>`) so two nodes never poll the
//!   same account at once; the holder renews it each round.
//! * Settings per account: `pollIntervalSeconds` (default 60), `deleteCheckIntervalSeconds`
//!   (default 900). Auth: `Authorization: Bearer` with the account's `bearerToken` (app-only is
//!   allowed for mentions), else its `accessToken`; DMs need the user `accessToken`.

use crate::outbox::platform_base;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;
use webcare_connectors::x::{
    parse_dm_events_page, parse_mentions_page, parse_tweet_lookup_missing, RateLimit, XAccess,
    XAuth,
};
use webcare_desk::ingest::journal;
use webcare_desk::metrics as m;
use webcare_desk::Ingestor;
use webcare_store::connectors::{JournalSource, NewJournalEntry};
use webcare_store::{ChannelAccount, Store, StoreError};

pub const TWEET_FIELDS: &str = "author_id,conversation_id,created_at,entities,attachments,in_reply_to_user_id,referenced_tweets,lang,edit_history_tweet_ids,note_tweet";
pub const EXPANSIONS: &str = "author_id,attachments.media_keys,referenced_tweets.id";
pub const USER_FIELDS: &str = "username,name";
pub const MEDIA_FIELDS: &str = "url,preview_image_url,type,variants,alt_text";
pub const DM_FIELDS: &str = "id,text,event_type,created_at,dm_conversation_id,sender_id,participant_ids,referenced_tweets,attachments";

#[derive(Debug, Clone)]
pub struct PollerConfig {
    /// How often the loop looks for accounts that are due.
    pub tick: Duration,
    /// `max_results` per page (5..=100).
    pub page_size: u32,
    /// Most pages fetched per poll (X keeps only the latest 800 mentions anyway).
    pub max_pages: u32,
    pub lease_ttl: chrono::Duration,
    /// This node's name in the lease table.
    pub holder: String,
    pub http_timeout: Duration,
}

impl Default for PollerConfig {
    fn default() -> Self {
        Self {
            tick: Duration::from_secs(1),
            page_size: 100,
            max_pages: 8,
            lease_ttl: chrono::Duration::seconds(120),
            holder: format!("node-{}", Uuid::now_v7()),
            http_timeout: Duration::from_secs(20),
        }
    }
}

/// Why a poll stopped early.
#[derive(Debug)]
pub enum PollError {
    /// Rate limited: try again at this time.
    RateLimited(DateTime<Utc>),
    /// Another error: back off.
    Failed(String),
}

impl From<StoreError> for PollError {
    fn from(e: StoreError) -> Self {
        PollError::Failed(e.to_string())
    }
}

fn setting_secs(a: &ChannelAccount, key: &str, default: u64) -> u64 {
    a.settings
        .get(key)
        .and_then(|v| v.as_u64())
        .filter(|v| *v >= 1)
        .unwrap_or(default)
}

/// The credential for `access` (see [`XAuth::select`]).
fn auth(a: &ChannelAccount, access: XAccess) -> Option<XAuth> {
    XAuth::select(|k| a.credentials.get(k), access)
}

const NO_READ_CREDENTIAL: &str =
    "no bearerToken, accessToken or OAuth 1.0a keys (consumerKey, consumerSecret, accessToken, accessTokenSecret)";

struct Page {
    body: Vec<u8>,
}

async fn get(
    client: &reqwest::Client,
    cfg: &PollerConfig,
    url: &str,
    auth: &XAuth,
) -> Result<Page, PollError> {
    let res = client
        .get(url)
        .header(reqwest::header::AUTHORIZATION, auth.header("GET", url))
        .timeout(cfg.http_timeout)
        .send()
        .await
        .map_err(|e| PollError::Failed(format!("no response from X: {e}")))?;
    let status = res.status().as_u16();
    let headers = crate::header_pairs(res.headers());
    let body = res
        .bytes()
        .await
        .map_err(|e| PollError::Failed(e.to_string()))?
        .to_vec();
    let limit = RateLimit::from_headers(&headers);
    if status == 429 {
        let reset = limit
            .and_then(|l| l.reset_at())
            .unwrap_or_else(|| Utc::now() + chrono::Duration::seconds(60));
        return Err(PollError::RateLimited(reset));
    }
    if !(200..300).contains(&status) {
        let detail = webcare_connectors::x::parse_x_errors(&body)
            .first()
            .map(|e| e.summary())
            .unwrap_or_default();
        return Err(PollError::Failed(format!(
            "X answered HTTP {status} {detail}"
        )));
    }
    Ok(Page { body })
}

/// Journals and processes one fetched page; `Err` unless it was processed.
async fn store_page(
    poll: &Poll<'_>,
    account: &ChannelAccount,
    source: JournalSource,
    body: &[u8],
) -> Result<(), PollError> {
    let Poll {
        store, ingestor, ..
    } = *poll;
    // Journaled already leased to this poller, then processed like any delivery.
    let entry = NewJournalEntry {
        source,
        channel_account_id: Some(account.id),
        body: body.to_vec(),
        received_at: Utc::now(),
    };
    let stored = store
        .journal_append_many(vec![entry], Some(journal::LEASE))
        .await?;
    let Some(id) = stored.first().map(|e| e.id) else {
        return Err(PollError::Failed("the page was not journaled".into()));
    };
    journal::process_batch(store, ingestor, stored).await;
    match store.journal_get(id).await?.map(|e| e.state) {
        Some(s) if s == "processed" => Ok(()),
        other => Err(PollError::Failed(format!(
            "page not processed yet ({other:?}); it stays in the journal"
        ))),
    }
}

fn max_id(a: Option<String>, b: &str) -> Option<String> {
    let n = |s: &str| s.parse::<u128>().unwrap_or(0);
    match a {
        Some(a) if n(&a) >= n(b) => Some(a),
        _ => Some(b.to_owned()),
    }
}

/// What every poll needs: where its pages are journaled and processed, and how they are fetched.
#[derive(Clone, Copy)]
pub struct Poll<'a> {
    pub store: &'a Arc<dyn Store>,
    pub ingestor: &'a Ingestor,
    pub client: &'a reqwest::Client,
    pub cfg: &'a PollerConfig,
}

/// One mentions poll: every page since the cursor, then the cursor. Returns the pages fetched.
pub async fn poll_mentions(poll: &Poll<'_>, account: &ChannelAccount) -> Result<u32, PollError> {
    let Poll {
        store, client, cfg, ..
    } = *poll;
    let base = platform_base(account).unwrap_or_default();
    let auth = auth(account, XAccess::App).ok_or(PollError::Failed(NO_READ_CREDENTIAL.into()))?;
    let since = store.get_cursor(account.id, "mentions").await?;
    let mut newest: Option<String> = None;
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = format!(
            "{}/2/users/{}/mentions?max_results={}&tweet.fields={TWEET_FIELDS}&expansions={EXPANSIONS}&user.fields={USER_FIELDS}&media.fields={MEDIA_FIELDS}",
            base.trim_end_matches('/'),
            account.external_id,
            cfg.page_size.clamp(5, 100)
        );
        if let Some(s) = &since {
            url.push_str(&format!("&since_id={s}"));
        }
        if let Some(t) = &next {
            url.push_str(&format!("&pagination_token={t}"));
        }
        let page = get(client, cfg, &url, &auth).await?;
        let parsed = parse_mentions_page(&page.body, &account.external_id)
            .map_err(|e| PollError::Failed(format!("unreadable mentions page: {e}")))?;
        pages += 1;
        if parsed.result_count > 0 || !parsed.events.is_empty() {
            store_page(poll, account, JournalSource::XMentions, &page.body).await?;
        }
        if let Some(n) = &parsed.newest_id {
            newest = max_id(newest, n);
        }
        match parsed.next_token {
            Some(t) if pages < cfg.max_pages => next = Some(t),
            _ => break,
        }
    }
    // Only now, with every page stored: advance the cursor.
    if let Some(n) = newest {
        store.set_cursor(account.id, "mentions", &n).await?;
    }
    Ok(pages)
}

/// One DM poll: newest first until an event at or below the cursor.
pub async fn poll_dms(poll: &Poll<'_>, account: &ChannelAccount) -> Result<u32, PollError> {
    let Poll {
        store, client, cfg, ..
    } = *poll;
    let base = platform_base(account).unwrap_or_default();
    let Some(auth) = auth(account, XAccess::User) else {
        return Ok(0); // DMs need user context; mentions still work.
    };
    let cursor = store.get_cursor(account.id, "dm_events").await?;
    let n = |s: &str| s.parse::<u128>().unwrap_or(0);
    let mut newest: Option<String> = None;
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = format!(
            "{}/2/dm_events?max_results={}&event_types=MessageCreate&dm_event.fields={DM_FIELDS}&expansions=sender_id,attachments.media_keys&user.fields={USER_FIELDS}",
            base.trim_end_matches('/'),
            cfg.page_size.clamp(1, 100)
        );
        if let Some(t) = &next {
            url.push_str(&format!("&pagination_token={t}"));
        }
        let page = get(client, cfg, &url, &auth).await?;
        let parsed = parse_dm_events_page(&page.body, &account.external_id)
            .map_err(|e| PollError::Failed(format!("unreadable DM page: {e}")))?;
        pages += 1;
        let root: serde_json::Value = serde_json::from_slice(&page.body).unwrap_or_default();
        let ids: Vec<String> = root["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["id"].as_str().map(str::to_owned))
            .collect();
        if !ids.is_empty() {
            store_page(poll, account, JournalSource::XDmEvents, &page.body).await?;
        }
        for id in &ids {
            newest = max_id(newest, id);
        }
        let reached_cursor = cursor
            .as_deref()
            .is_some_and(|c| ids.iter().any(|id| n(id) <= n(c)));
        match parsed.next_token {
            Some(t) if !reached_cursor && pages < cfg.max_pages => next = Some(t),
            _ => break,
        }
    }
    if let Some(nw) = newest {
        if cursor.as_deref().is_none_or(|c| n(&nw) > n(c)) {
            store.set_cursor(account.id, "dm_events", &nw).await?;
        }
    }
    Ok(pages)
}

/// Re-checks the open cases' posts; returns how many were found deleted.
pub async fn check_deletes(
    store: &Arc<dyn Store>,
    client: &reqwest::Client,
    cfg: &PollerConfig,
    account: &ChannelAccount,
) -> Result<usize, PollError> {
    let base = platform_base(account).unwrap_or_default();
    let auth = auth(account, XAccess::App).ok_or(PollError::Failed(NO_READ_CREDENTIAL.into()))?;
    let open = store.open_case_messages(account.id, 1000).await?;
    let ids: Vec<String> = open
        .into_iter()
        .map(|m| m.platform_message_id)
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    let mut deleted = 0;
    for chunk in ids.chunks(100) {
        let url = format!(
            "{}/2/tweets?ids={}&tweet.fields=id",
            base.trim_end_matches('/'),
            chunk.join(",")
        );
        let page = get(client, cfg, &url, &auth).await?;
        let missing = parse_tweet_lookup_missing(&page.body)
            .map_err(|e| PollError::Failed(format!("unreadable lookup: {e}")))?;
        for id in missing.iter().filter(|m| chunk.contains(m)) {
            if store.apply_delete(account.id, id, Utc::now()).await? {
                deleted += 1;
            }
        }
    }
    Ok(deleted)
}

#[derive(Default)]
struct Due {
    poll_at: Option<DateTime<Utc>>,
    delete_check_at: Option<DateTime<Utc>>,
    failures: u32,
}

fn backoff(failures: u32) -> chrono::Duration {
    (chrono::Duration::seconds(5) * (1i32 << failures.min(8))).min(chrono::Duration::minutes(15))
}

/// Polls every X account when due, until `cancel` fires.
pub async fn run(
    store: Arc<dyn Store>,
    ingestor: Ingestor,
    client: reqwest::Client,
    cfg: PollerConfig,
    cancel: tokio_util::sync::CancellationToken,
) {
    let mut due: HashMap<Uuid, Due> = HashMap::new();
    let mut held: Vec<String> = Vec::new();
    loop {
        match store.accounts_of_kind(webcare_domain::ChannelKind::X).await {
            Ok(accounts) => {
                // A disabled account is not polled (its API quota is not spent either).
                for a in accounts.into_iter().filter(|a| a.enabled) {
                    let now = Utc::now();
                    let d = due.entry(a.id).or_default();
                    if d.poll_at.is_some_and(|t| t > now) {
                        continue;
                    }
                    let lease = format!("x-poll:{}", a.id);
                    match store
                        .try_lease(&lease, &cfg.holder, now, cfg.lease_ttl)
                        .await
                    {
                        Ok(true) => {
                            if !held.contains(&lease) {
                                held.push(lease);
                            }
                        }
                        Ok(false) => {
                            // Another node polls it; look again in a while.
                            d.poll_at = Some(now + chrono::Duration::seconds(10));
                            continue;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "x poller: lease failed");
                            continue;
                        }
                    }
                    let interval =
                        chrono::Duration::seconds(
                            setting_secs(&a, "pollIntervalSeconds", 60) as i64
                        );
                    let result = async {
                        let poll = Poll {
                            store: &store,
                            ingestor: &ingestor,
                            client: &client,
                            cfg: &cfg,
                        };
                        poll_mentions(&poll, &a).await?;
                        poll_dms(&poll, &a).await?;
                        if d.delete_check_at.is_none_or(|t| t <= Utc::now()) {
                            let n = check_deletes(&store, &client, &cfg, &a).await?;
                            if n > 0 {
                                tracing::info!(account = %a.id, deleted = n, "x: deleted posts found");
                            }
                            d.delete_check_at = Some(
                                Utc::now()
                                    + chrono::Duration::seconds(setting_secs(
                                        &a,
                                        "deleteCheckIntervalSeconds",
                                        900,
                                    )
                                        as i64),
                            );
                        }
                        Ok::<(), PollError>(())
                    }
                    .await;
                    d.poll_at = Some(match result {
                        Ok(()) => {
                            d.failures = 0;
                            metrics::gauge!(m::POLLER_LAST_SUCCESS, "platform" => "x", "account" => a.id.to_string())
                                .set(Utc::now().timestamp() as f64);
                            Utc::now() + interval
                        }
                        Err(PollError::RateLimited(reset)) => {
                            tracing::info!(account = %a.id, %reset, "x: rate limited; waiting for the reset");
                            metrics::counter!(m::POLLER_RATE_LIMITED, "platform" => "x")
                                .increment(1);
                            let wait =
                                (reset - Utc::now()).num_milliseconds().max(0) as f64 / 1000.0;
                            metrics::counter!(m::POLLER_RATE_LIMIT_WAIT, "platform" => "x")
                                .increment(wait.ceil() as u64);
                            reset.max(Utc::now() + chrono::Duration::seconds(1))
                        }
                        Err(PollError::Failed(e)) => {
                            d.failures += 1;
                            let wait = backoff(d.failures);
                            tracing::warn!(account = %a.id, error = %e, wait_s = wait.num_seconds(), "x poll failed; backing off");
                            Utc::now() + wait
                        }
                    });
                }
            }
            Err(e) => tracing::warn!(error = %e, "x poller: listing accounts failed"),
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(cfg.tick) => {}
        }
    }
    for lease in held {
        let _ = store.release_lease(&lease, &cfg.holder).await;
    }
}
