//! The outbox worker: claims due replies, builds the platform request (pure, in
//! `webcare_connectors::outbound`), sends it, and records the answer.
//!
//! # Exactly once, and what is guaranteed per platform
//!
//! A claimed reply is marked `sending` (with a lease) in its own committed transaction before the
//! HTTP call, and its answer is recorded afterwards. If the process dies in between, the reply
//! stays `sending`; once the lease runs out the next claim returns it **in doubt**, and it is
//! never re-sent blindly:
//!
//! * **X post replies**: our recent posts are looked up (`GET /2/users/:id/tweets`); a post
//!   replying to the same tweet with the same text is the send, and its id is recorded. Only
//!   when the lookup shows none is the reply sent again. Exactly once (within X's lookup window
//!   of our latest 100 posts).
//! * **X DMs**: the same with `GET /2/dm_events` (our `MessageCreate` to the same participant
//!   with the same text). Exactly once.
//! * **Facebook comments, Messenger, Instagram**: the platform echoes our message (a feed change
//!   from the page, `is_echo`) to the webhook; an echo with the same text and target adopts the
//!   in-doubt reply (see `Connectors::link_echo`). The worker waits `in_doubt_grace` for that;
//!   without an echo it marks the reply `failed` with a reason asking the agent to check the
//!   conversation. At most once: never a second send.
//! * **WhatsApp**: no echo for API sends, and statuses name only the `wamid` we never recorded:
//!   after the grace the reply fails with the same "check before resending" reason. At most once.
//! * **`api` channels**: re-sent with the same `Idempotency-Key` header (the reply id); exactly
//!   once for receivers that honour the key, at least once otherwise.
//!
//! # Delivery-state events
//!
//! Every recorded outcome (sent, retry scheduled, failed) is published as a `reply.updated` live
//! event (`webcare_desk::live::reply_updated`); statuses from the platform are published by the journal.
//!
//! # Auto-replies
//!
//! An out-of-hours auto-reply (`auto_reply`) is sent like any reply but is no answer by an agent:
//! it does not stop the reaction clock ([`answered`]).
//!
//! # Never twice, and never for ever
//!
//! A platform's "already exists" answer (Graph 506 duplicate post, X duplicate content, an `api`
//! receiver's 409 for a known `Idempotency-Key`) is recorded as sent. A platform message id that
//! another reply already holds (a receiver answering the same id twice) is recorded too: the
//! outbox's platform id is not unique (migration 0012), so recording never fails on it and the
//! reply is not sent again. Transient failures and in-doubt checks count as attempts; after
//! `max_attempts` (exponential backoff in between, [`RetryPolicy`]) the reply is parked as
//! `failed` with its reason, which the case's replies show and a `reply.updated` event carries.
//!
//! A transport timeout on a *normal* send is classified transient and retried: the platform may
//! have acted (no platform here takes an idempotency key), so that one case can duplicate on
//! Meta and X; the echo linking above then records both under the reply.

use chrono::{Duration, Utc};
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;
use webcare_connectors::outbound::{
    build_request, delivery_route, parse_send_response, transport_failure, Credentials,
    OutboundReply, RefusalKind, RetryPolicy, RetryStep, SendOutcome, WindowInfo,
};
use webcare_connectors::x::{XAccess, XAuth};
use webcare_domain::{ChannelKind, Visibility};
use webcare_store::connectors::{ClaimedReply, ReplyRecord, ReplyTemplate};
use webcare_store::{ChannelAccount, Store, StoreError};

/// Outbox settings.
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    /// How long a claim reserves a reply; a worker that dies frees it after this.
    pub lease: Duration,
    pub http_timeout: std::time::Duration,
    /// Transient failures are retried this often before the reply fails.
    pub max_attempts: i64,
    /// First retry delay; doubles per attempt (capped at 10 minutes).
    pub base_backoff: Duration,
    /// How long an in-doubt Meta reply waits for its echo before it is failed.
    pub in_doubt_grace: Duration,
    pub graph_version: String,
    pub poll_interval: std::time::Duration,
    pub batch: u32,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            lease: Duration::seconds(60),
            http_timeout: std::time::Duration::from_secs(20),
            max_attempts: 8,
            base_backoff: Duration::seconds(5),
            in_doubt_grace: Duration::minutes(10),
            graph_version: "v21.0".into(),
            poll_interval: std::time::Duration::from_millis(250),
            batch: 16,
        }
    }
}

pub const GRAPH_BASE: &str = "https://graph.facebook.com";
pub const X_BASE: &str = "https://api.x.com";

pub fn platform_base(account: &ChannelAccount) -> Option<String> {
    match account.kind {
        ChannelKind::Api => account.callback_url.clone(),
        ChannelKind::X => Some(
            account
                .api_base_url
                .clone()
                .unwrap_or_else(|| X_BASE.into()),
        ),
        _ => Some(
            account
                .api_base_url
                .clone()
                .unwrap_or_else(|| GRAPH_BASE.into()),
        ),
    }
}

/// The credential a reply is sent with; `None` when the account lacks it.
pub(crate) fn send_credentials(account: &ChannelAccount) -> Option<Credentials> {
    let get = |k: &str| account.credentials.get(k).filter(|s| !s.is_empty());
    match account.kind {
        ChannelKind::Api => get("webhookSecret").map(Credentials::bearer),
        ChannelKind::X => match XAuth::select(|k| account.credentials.get(k), XAccess::User)? {
            XAuth::OAuth1(keys) => Some(Credentials {
                access_token: String::new(),
                x_oauth1: Some(keys),
            }),
            XAuth::Bearer(token) => Some(Credentials::bearer(token)),
        },
        _ => get("accessToken").map(Credentials::bearer),
    }
}

/// One pass: claim what is due and handle it. Returns how many replies were handled.
pub async fn tick(
    store: &Arc<dyn Store>,
    client: &reqwest::Client,
    cfg: &OutboxConfig,
) -> Result<usize, StoreError> {
    let claimed = store
        .claim_replies(Utc::now(), cfg.lease, cfg.batch)
        .await?;
    let n = claimed.len();
    let outbox = Outbox { store, client, cfg };
    let jobs = claimed.into_iter().map(|c| async move {
        let id = c.reply.id;
        if let Err(e) = outbox.handle(c).await {
            // The lease runs out and the reply comes back in doubt: never lost, never resent blindly.
            tracing::warn!(reply = %id, error = %e, "outbox: recording a reply outcome failed");
        }
    });
    futures::future::join_all(jobs).await;
    // Hides and deletions on the platforms go out through the same durable outbox.
    Ok(n + crate::platform_actions::tick(store, client, cfg).await?)
}

/// Runs the outbox until `cancel` fires.
pub async fn run(
    store: Arc<dyn Store>,
    client: reqwest::Client,
    cfg: OutboxConfig,
    cancel: tokio_util::sync::CancellationToken,
) {
    loop {
        let busy = match tick(&store, &client, &cfg).await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::warn!(error = %e, "outbox: claiming replies failed");
                false
            }
        };
        if !busy {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(cfg.poll_interval) => {}
            }
        } else if cancel.is_cancelled() {
            break;
        }
    }
}

/// Fails the reply with `reason` and publishes the new state.
async fn fail(store: &Arc<dyn Store>, id: Uuid, reason: &str) -> Result<(), StoreError> {
    store.reply_failed(id, reason).await?;
    webcare_desk::live::reply_updated_by_id(store, id).await;
    Ok(())
}

/// A read before the send failed (the database went away for a moment): nothing went out, so the
/// claim is given back for a prompt retry instead of leaving the reply in doubt until its lease
/// runs out (for Meta that ends in "check the conversation"). If giving it back fails too, the
/// lease decides, as after a crash.
async fn release(store: &Arc<dyn Store>, r: &ReplyRecord, e: StoreError) -> Result<(), StoreError> {
    store
        .reply_retry(
            r.id,
            &format!("not sent yet: {e}"),
            Utc::now() + Duration::seconds(2),
        )
        .await?;
    Err(e)
}

/// The retry schedule: `max_attempts`, doubling from `base_backoff`, at most 10 minutes apart.
pub(crate) fn policy(cfg: &OutboxConfig) -> RetryPolicy {
    RetryPolicy {
        max_attempts: cfg.max_attempts,
        base: cfg.base_backoff,
        cap: Duration::minutes(10),
    }
}

fn backoff(cfg: &OutboxConfig, attempts: i64) -> Duration {
    policy(cfg).backoff(attempts)
}

/// Records a sent reply (an empty platform id: the reply id stands in) and stops the clocks.
async fn record_sent(
    store: &Arc<dyn Store>,
    account: &ChannelAccount,
    r: &ReplyRecord,
    platform_message_id: String,
    sent_text: Option<&str>,
) -> Result<(), StoreError> {
    let pmid = if platform_message_id.is_empty() {
        r.id.to_string()
    } else {
        platform_message_id
    };
    let at = Utc::now();
    // A sent reply is recorded here (and in `Connectors::link_echo` when an echo adopts an
    // in-doubt reply), with the reaction clocks stopping in the same transaction. The platform id may be one
    // another reply holds already: recorded all the same (never a reason to send again).
    let rec = store
        .reply_sent(r.id, &pmid, &account.external_id, at, sent_text)
        .await?;
    if let Err(e) = webcare_desk::live::answered(store, &rec, at).await {
        tracing::error!(case_id = %r.case_id, error = %e, "could not publish the sent reply");
    }
    webcare_store::crash::crash_point("reply.after_commit");
    tracing::info!(reply = %r.id, case = %r.case_id, platform_message_id = %pmid, state = rec.state.as_str(), "reply sent");
    Ok(())
}

async fn record(
    store: &Arc<dyn Store>,
    cfg: &OutboxConfig,
    account: &ChannelAccount,
    r: &ReplyRecord,
    outcome: SendOutcome,
    sent_text: Option<&str>,
) -> Result<(), StoreError> {
    let result = match &outcome {
        SendOutcome::Sent { .. } | SendOutcome::AlreadySent { .. } => "sent",
        SendOutcome::Transient { .. } => "retry",
        SendOutcome::Permanent { .. } => "failed",
    };
    metrics::counter!(webcare_desk::metrics::OUTBOX_RESULTS, "platform" => account.kind.as_str(), "result" => result)
        .increment(1);
    match outcome {
        SendOutcome::Sent {
            platform_message_id,
        } => record_sent(store, account, r, platform_message_id, sent_text).await,
        SendOutcome::AlreadySent {
            platform_message_id,
            detail,
        } => {
            // An earlier attempt went out and its answer was lost: sent, never sent again.
            tracing::info!(reply = %r.id, %detail, "the platform already has this reply; recorded as sent");
            let pmid = platform_message_id.unwrap_or_default();
            record_sent(store, account, r, pmid, sent_text).await
        }
        SendOutcome::Transient {
            reason,
            retry_after,
        } => {
            let retry_after = retry_after.and_then(|d| Duration::from_std(d).ok());
            match policy(cfg).after_failure(r.attempts, retry_after) {
                RetryStep::GiveUp => {
                    tracing::warn!(reply = %r.id, %reason, "reply failed after retries");
                    fail(
                        store,
                        r.id,
                        &format!("gave up after {} attempts: {reason}", r.attempts),
                    )
                    .await
                }
                RetryStep::RetryIn(wait) => {
                    tracing::info!(reply = %r.id, %reason, wait_s = wait.num_seconds(), "reply will be retried");
                    store.reply_retry(r.id, &reason, Utc::now() + wait).await?;
                    webcare_desk::live::reply_updated_by_id(store, r.id).await;
                    Ok(())
                }
            }
        }
        SendOutcome::Permanent { reason } => {
            tracing::info!(reply = %r.id, %reason, "reply failed");
            fail(store, r.id, &reason).await
        }
    }
}

/// What a pass of the outbox works with.
#[derive(Clone, Copy)]
struct Outbox<'a> {
    store: &'a Arc<dyn Store>,
    client: &'a reqwest::Client,
    cfg: &'a OutboxConfig,
}

impl Outbox<'_> {
    async fn handle(&self, c: ClaimedReply) -> Result<(), StoreError> {
        let store = self.store;
        let r = &c.reply;
        let account = match store.get_channel_account(r.channel_account_id).await {
            Ok(a) => a,
            Err(e) if !c.in_doubt => return release(store, r, e).await,
            Err(e) => return Err(e),
        };
        let Some(account) = account else {
            return fail(
                store,
                r.id,
                "the channel account was removed; the reply cannot be sent",
            )
            .await;
        };
        if c.in_doubt {
            return self.recover(&account, &c).await;
        }
        self.send(&account, r).await
    }

    async fn send(&self, account: &ChannelAccount, r: &ReplyRecord) -> Result<(), StoreError> {
        let Outbox { store, client, cfg } = *self;
        let now = Utc::now();
        // The reply endpoint refuses replies without a route; the account may have changed since.
        if let Err(no) = delivery_route(account.kind, account.callback_url.as_deref(), |k| {
            account.credentials.get(k)
        }) {
            return fail(store, r.id, &no.reason).await;
        }
        let (Some(base), Some(credentials)) = (platform_base(account), send_credentials(account))
        else {
            return fail(store, r.id, "the channel account cannot send this reply").await;
        };
        let last = match store.last_citizen_message(r.case_id).await {
            Ok(l) => l,
            Err(e) => return release(store, r, e).await,
        };
        let out = OutboundReply {
            kind: account.kind,
            account_external_id: account.external_id.clone(),
            reply_id: r.id,
            text: r.text.clone(),
            visibility: r.visibility,
            in_reply_to_platform_id: r.in_reply_to.clone(),
            recipient_platform_user_id: r.recipient.clone(),
            window: WindowInfo {
                last_citizen_message_at: last.map(|m| m.sent_at),
            },
            now,
            template: r
                .whatsapp_template
                .as_ref()
                .map(webcare_desk::replies::whatsapp_template),
        };
        let req = match build_request(&out, &base, &cfg.graph_version, &credentials) {
            Ok(req) => req,
            // A survey is no answer anyone waits for: outside the platform's window (WhatsApp
            // without an approved template) it is skipped and recorded, not failed.
            Err(refused)
                if refused.kind == RefusalKind::OutsideWindow
                    && r.author == webcare_store::surveys::ACTOR =>
            {
                let reason = webcare_domain::survey::skip_reason(account.kind);
                tracing::info!(reply = %r.id, %reason, "survey skipped");
                store.skip_survey(r.id, reason, now).await?;
                return Ok(());
            }
            Err(refused) => {
                let reason = match &refused.alternative {
                    Some(alt) => format!("{}; {alt}", refused.reason),
                    None => refused.reason.clone(),
                };
                return fail(store, r.id, &reason).await;
            }
        };
        // A template goes out instead of the text (outside the window, or no text): the case's
        // history shows which template was sent.
        let sent_text = (req.json_body["type"] == "template")
            .then(|| r.whatsapp_template.as_ref().map(ReplyTemplate::describe))
            .flatten();
        let mut http = client
            .post(&req.url)
            .timeout(cfg.http_timeout)
            .body(req.body_bytes());
        for (k, v) in &req.headers {
            http = http.header(k, v);
        }
        // The claim ("sending") is committed; nothing went out yet.
        webcare_store::crash::crash_point("outbox.before_send");
        let outcome = match http.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                let headers = crate::header_pairs(res.headers());
                match res.bytes().await {
                    Ok(body) => {
                        parse_send_response(account.kind, status, &headers, &body, Utc::now())
                    }
                    Err(e) => transport_failure(&e.to_string()),
                }
            }
            Err(e) => transport_failure(&e.to_string()),
        };
        // The platform has the reply; nothing is recorded yet.
        webcare_store::crash::crash_point("outbox.after_send");
        record(store, cfg, account, r, outcome, sent_text.as_deref()).await
    }

    /// An in-doubt reply: find out whether the earlier send arrived before sending again.
    async fn recover(&self, account: &ChannelAccount, c: &ClaimedReply) -> Result<(), StoreError> {
        let Outbox { store, client, cfg } = *self;
        let r = &c.reply;
        // Each in-doubt claim counts as an attempt: a reply whose outcome cannot be recorded is not
        // checked (or, on `api` channels, re-sent) for ever.
        let used_up = r.attempts > cfg.max_attempts;
        let give_up = |what: &str| {
            format!(
                "gave up after {} attempts: {what}; check the conversation before sending it again",
                r.attempts
            )
        };
        match account.kind {
            ChannelKind::X => match x_lookup(client, cfg, account, r).await {
                Ok(Some(id)) => {
                    tracing::info!(reply = %r.id, platform_message_id = %id, "in-doubt reply was sent before the crash; recorded, not resent");
                    record(
                        store,
                        cfg,
                        account,
                        r,
                        SendOutcome::Sent {
                            platform_message_id: id,
                        },
                        None,
                    )
                    .await
                }
                Ok(None) if used_up => {
                    fail(
                        store,
                        r.id,
                        &give_up("the reply could not be recorded as sent"),
                    )
                    .await
                }
                Ok(None) => {
                    tracing::info!(reply = %r.id, "in-doubt reply not found on X; sending it now");
                    self.send(account, r).await
                }
                Err(e) if used_up => {
                    fail(
                        store,
                        r.id,
                        &give_up(&format!("X could not be asked whether it arrived ({e})")),
                    )
                    .await
                }
                Err(e) => {
                    tracing::warn!(reply = %r.id, error = %e, "X lookup for an in-doubt reply failed; will look again");
                    store
                        .reply_hold(r.id, Utc::now() + backoff(cfg, r.attempts))
                        .await
                }
            },
            ChannelKind::Api if used_up => {
                fail(
                    store,
                    r.id,
                    &give_up("the reply could not be recorded as sent"),
                )
                .await
            }
            // Re-sent with the same `Idempotency-Key`: a receiver that already has it answers 409,
            // which is recorded as sent.
            ChannelKind::Api => self.send(account, r).await,
            _ => {
                let since = c.lease_expired_at.unwrap_or(r.updated_at);
                let deadline = since + cfg.in_doubt_grace;
                if Utc::now() < deadline {
                    store.reply_hold(r.id, deadline).await
                } else {
                    fail(
                    store,
                    r.id,
                    &format!(
                        "the desk stopped while sending this reply and {} offers no way to check whether it arrived: check the conversation before sending it again",
                        account.kind
                    ),
                )
                .await
                }
            }
        }
    }
}

/// Looks for the in-doubt reply among our own posts (public) or DM events (private).
async fn x_lookup(
    client: &reqwest::Client,
    cfg: &OutboxConfig,
    account: &ChannelAccount,
    r: &ReplyRecord,
) -> Result<Option<String>, String> {
    let base = platform_base(account).unwrap_or_else(|| X_BASE.into());
    let access = match r.visibility {
        Visibility::Public => XAccess::App,
        Visibility::Private => XAccess::User,
    };
    let auth = XAuth::select(|k| account.credentials.get(k), access).ok_or("no X credential")?;
    let url = match r.visibility {
        Visibility::Public => format!(
            "{}/2/users/{}/tweets?max_results=100&tweet.fields=referenced_tweets,created_at,author_id",
            base.trim_end_matches('/'),
            account.external_id
        ),
        Visibility::Private => format!(
            "{}/2/dm_events?max_results=100&event_types=MessageCreate&dm_event.fields=id,text,sender_id,participant_ids,created_at",
            base.trim_end_matches('/')
        ),
    };
    let res = client
        .get(&url)
        .header(reqwest::header::AUTHORIZATION, auth.header("GET", &url))
        .timeout(cfg.http_timeout)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!("HTTP {}", res.status()));
    }
    let body: Value = res.json().await.map_err(|e| e.to_string())?;
    let items = body["data"].as_array().cloned().unwrap_or_default();
    let found = items.iter().find(|t| {
        if t["text"].as_str() != Some(r.text.as_str()) {
            return false;
        }
        match r.visibility {
            Visibility::Public => t["referenced_tweets"].as_array().is_some_and(|refs| {
                refs.iter().any(|x| {
                    x["type"] == "replied_to" && x["id"].as_str() == r.in_reply_to.as_deref()
                })
            }),
            Visibility::Private => {
                t["sender_id"].as_str() == Some(account.external_id.as_str())
                    && r.recipient.as_deref().is_none_or(|to| {
                        t["participant_ids"]
                            .as_array()
                            .is_some_and(|p| p.iter().any(|x| x.as_str() == Some(to)))
                    })
            }
        }
    });
    Ok(found.and_then(|t| t["id"].as_str().map(str::to_owned)))
}
