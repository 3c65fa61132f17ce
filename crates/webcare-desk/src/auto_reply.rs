//! The out-of-hours auto-reply, per channel account (`outOfHoursReply` in the account's
//! settings: on or off, default off, and an optional own text).
//!
//! When a citizen message comes in while the case's calendar is closed, the desk queues one
//! auto-reply for the case in the outbox; the outbox worker sends it like any reply, and it does
//! not stop the reaction clock (see `crate::live::answered`).
//!
//! * **Once per case**: a unique index on `outbox_replies (case_id) WHERE auto_reply` makes the
//!   database refuse a second one, so duplicate deliveries, journal retries, concurrent writers and
//!   several nodes cannot send two. A case in which anything was replied already gets none.
//! * **Out of the ingest transaction**: [`AutoReplier::after_commit`] is called by the ingest
//!   writer after each batch commits. It is synchronous and does no IO: it picks the new citizen
//!   messages of accounts that have the auto-reply on (from the ingest side's account cache,
//!   `ingest::accounts`, refreshed every 2 s and at once for an account it does not know yet) and only
//!   then spawns a task that does the work. With the auto-reply off everywhere, ingest pays one
//!   hash lookup per new message.
//! * Best effort: a crash between the ingest commit and the task loses that auto-reply (never the
//!   message). A new account's setting applies at once; switching it on or off later takes
//!   effect at once on this node and within the cache's TTL on every other.
//! * The text is checked against the channel's limits before it is queued; a text the platform
//!   would refuse is logged and not sent.

use crate::ingest::accounts::AccountCache;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;
use uuid::Uuid;
use webcare_connectors::outbound::WindowInfo;
use webcare_domain::{out_of_hours, Direction, Visibility};
use webcare_store::connectors::NewReply;
use webcare_store::{AccountSettings, ChannelAccount, IngestOutcome, Store, StoreError};

/// The settings key.
pub const SETTING: &str = "outOfHoursReply";
/// Who queued it, in the audit trail and as the reply's author.
pub const ACTOR: &str = "system:auto-reply";
/// Longest own text.
pub const MAX_TEXT: usize = 1000;

/// A channel account's out-of-hours auto-reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutOfHoursReply {
    /// Send it (default off).
    #[serde(default)]
    pub enabled: bool,
    /// Own text; `null` for the default ("Bedankt voor uw bericht. We zijn nu gesloten; vanaf
    /// {{volgendeopening}} helpen we u graag verder."). May use `{{volgendeopening}}` (e.g.
    /// "maandag 08:30") and `{{openingstijden}}`.
    #[serde(default)]
    pub text: Option<String>,
}

impl OutOfHoursReply {
    /// The setting as stored in the account's settings (off when absent or unreadable).
    pub fn of(settings: &AccountSettings) -> Self {
        settings
            .get(SETTING)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    /// Problems with the setting for an account of `kind`, as `(field, code, reason)`.
    pub fn problems(&self, kind: webcare_domain::ChannelKind) -> Vec<(String, String, String)> {
        let field = format!("{SETTING}.text");
        let mut out = Vec::new();
        let Some(text) = &self.text else {
            return out;
        };
        if text.trim().is_empty() || text.chars().count() > MAX_TEXT {
            out.push((
                field,
                "invalid".into(),
                format!("1 to {MAX_TEXT} characters, or null for the default text"),
            ));
            return out;
        }
        if let Err(e) = out_of_hours::check_text(text) {
            out.push((
                field,
                "unknown_variables".into(),
                format!("{e}; known: {}", out_of_hours::VARIABLES.join(", ")),
            ));
            return out;
        }
        // Filled in with long values, it must fit the channel (X posts: 280 characters).
        let example = webcare_domain::canned::render_with(
            text,
            out_of_hours::VARIABLES,
            &[
                ("volgendeopening", "woensdag 30 september 2026 08:30"),
                (
                    "openingstijden",
                    "maandag t/m vrijdag 08:30-17:00; zaterdag 10:00-12:00",
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        )
        .unwrap_or_default();
        for vis in [Visibility::Public, Visibility::Private] {
            let max = webcare_connectors::outbound::channel_limits(kind, vis).max_chars;
            let len = webcare_connectors::outbound::text_length(kind, vis, &example);
            if len > max {
                out.push((
                    field.clone(),
                    "too_long".into(),
                    format!(
                        "filled in it is about {len} characters; {kind} {vis} replies allow {max}"
                    ),
                ));
                break;
            }
        }
        out
    }
}

/// A new citizen message that may need an auto-reply.
#[derive(Debug, Clone)]
struct Candidate {
    account: Uuid,
    case: Uuid,
    platform_message_id: String,
    author: String,
    visibility: Visibility,
    received_at: chrono::DateTime<Utc>,
}

/// Queues out-of-hours auto-replies after ingest commits. Cheap to clone.
#[derive(Clone)]
pub struct AutoReplier {
    store: Arc<dyn Store>,
    /// The ingest side's one account cache (`crate::ingest::accounts`).
    accounts: AccountCache,
}

/// Whether `a` answers out of hours by itself.
fn auto_reply_on(a: &ChannelAccount) -> bool {
    OutOfHoursReply::of(&a.settings).enabled
}

impl AutoReplier {
    pub fn new(store: Arc<dyn Store>, accounts: AccountCache) -> Self {
        Self { store, accounts }
    }

    /// The ingest hook: called with a committed batch's outcomes. No IO here; the work (if any)
    /// runs in a spawned task.
    pub fn after_commit(&self, results: &[Result<IngestOutcome, StoreError>]) {
        let known = self.accounts.fresh();
        let mut candidates = Vec::new();
        for o in results.iter().filter_map(|r| r.as_ref().ok()) {
            let m = &o.message;
            if !o.created || m.direction != Direction::Inbound {
                continue;
            }
            // Accounts known to have it off are dropped here; those on, and unknown (new) ones,
            // go to the task.
            if known.as_ref().is_some_and(|k| {
                k.get(&m.channel_account_id)
                    .is_some_and(|a| !auto_reply_on(a))
            }) {
                continue;
            }
            candidates.push(Candidate {
                account: m.channel_account_id,
                case: m.case_id,
                platform_message_id: m.platform_message_id.clone(),
                author: m.author.platform_user_id.clone(),
                visibility: m.visibility,
                received_at: m.received_at,
            });
        }
        if candidates.is_empty() {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.handle(candidates).await {
                tracing::warn!(error = %e, "out-of-hours auto-reply skipped");
            }
        });
    }

    async fn handle(&self, candidates: Vec<Candidate>) -> Result<(), StoreError> {
        let wanted: Vec<Uuid> = candidates.iter().map(|c| c.account).collect();
        let accounts = self.accounts.with_ids(&wanted).await?;
        let mut seen = HashSet::new();
        for c in candidates {
            let Some(account) = accounts.get(&c.account).filter(|a| auto_reply_on(a)) else {
                continue;
            };
            // The first new message of a case in this batch decides.
            if !seen.insert(c.case) {
                continue;
            }
            if let Err(e) = self.one(account, &c).await {
                tracing::warn!(case = %c.case, error = %e, "out-of-hours auto-reply failed");
            }
        }
        Ok(())
    }

    async fn one(&self, account: &ChannelAccount, c: &Candidate) -> Result<(), StoreError> {
        let store = &self.store;
        // Once per case (the unique index is the guard; this read only saves work), and none in
        // a conversation someone has already answered.
        if !store.case_replies(c.case).await?.is_empty() {
            return Ok(());
        }
        let Some(case) = store.get_case(c.case).await? else {
            return Ok(());
        };
        if case.status == webcare_domain::CaseStatus::Closed {
            return Ok(());
        }
        // The desk marked this citizen "do not auto-reply" (e.g. a known complainant whom a
        // person answers, or someone who asked not to get automatic messages).
        if store
            .contact_profile(case.contact_id)
            .await?
            .is_some_and(|c| c.no_auto_reply)
        {
            return Ok(());
        }
        let cal = crate::case_calendar::case_calendar(store, c.case, account.calendar_id).await?;
        let setting = OutOfHoursReply::of(&account.settings);
        let now = Utc::now();
        let text = match out_of_hours::auto_reply_text(
            setting.text.as_deref(),
            &cal,
            c.received_at,
            now,
        ) {
            Ok(Some(t)) => t,
            Ok(None) => return Ok(()), // open
            Err(e) => {
                tracing::warn!(account = %account.id, error = %e, "auto-reply text cannot be filled in");
                return Ok(());
            }
        };
        // Answer the message the way it came: a public comment publicly, a DM privately.
        let (in_reply_to, recipient) = match c.visibility {
            Visibility::Public => (Some(c.platform_message_id.clone()), Some(c.author.clone())),
            Visibility::Private => (None, Some(c.author.clone())),
        };
        let new = NewReply {
            id: Uuid::now_v7(),
            case_id: c.case,
            channel_account_id: account.id,
            text,
            visibility: c.visibility,
            in_reply_to,
            recipient,
            process_answer: false,
            author: ACTOR.into(),
            canned_answer_id: None,
            whatsapp_template: None,
            auto_reply: true,
        };
        let window = WindowInfo {
            last_citizen_message_at: Some(c.received_at),
        };
        match crate::replies::queue(store, account, new, window, now).await {
            Ok((reply, true)) => {
                tracing::info!(case = %c.case, reply = %reply.id, "out-of-hours auto-reply queued")
            }
            Ok((_, false)) => {}
            // Nobody waits for this answer: what the platform would refuse, an account without
            // a delivery route, or a failed write is logged and not sent.
            Err(e) => {
                tracing::warn!(account = %account.id, case = %c.case, reason = ?e, "out-of-hours auto-reply not queued")
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use webcare_domain::ChannelKind;

    fn setting(text: Option<&str>) -> OutOfHoursReply {
        OutOfHoursReply {
            enabled: true,
            text: text.map(str::to_owned),
        }
    }

    #[test]
    fn stored_setting_round_trips_and_defaults_to_off() {
        let mut settings = AccountSettings::new();
        assert_eq!(OutOfHoursReply::of(&settings), OutOfHoursReply::default());
        let s = setting(Some("Dicht tot {{volgendeopening}}."));
        settings.insert(SETTING.into(), serde_json::to_value(&s).unwrap());
        assert_eq!(OutOfHoursReply::of(&settings), s);
        // Something unreadable (written by hand) counts as off, never as an error at ingest.
        settings.insert(SETTING.into(), serde_json::json!("yes"));
        assert!(!OutOfHoursReply::of(&settings).enabled);
    }

    #[test]
    fn texts_are_checked_for_variables_and_the_channel() {
        assert!(setting(None).problems(ChannelKind::X).is_empty());
        assert!(setting(Some("Gesloten; {{openingstijden}}"))
            .problems(ChannelKind::X)
            .is_empty());
        let codes = |s: OutOfHoursReply, k| {
            s.problems(k)
                .into_iter()
                .map(|(f, c, _)| format!("{f}:{c}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            codes(setting(Some("Hoi {{agent}}")), ChannelKind::Whatsapp),
            vec!["outOfHoursReply.text:unknown_variables"]
        );
        assert_eq!(
            codes(setting(Some(" ")), ChannelKind::Whatsapp),
            vec!["outOfHoursReply.text:invalid"]
        );
        // 250 characters fit a WhatsApp message but not an X post once the opening is filled in.
        let long = format!("{} {{{{volgendeopening}}}}", "a".repeat(250));
        assert!(setting(Some(&long))
            .problems(ChannelKind::Whatsapp)
            .is_empty());
        assert_eq!(
            codes(setting(Some(&long)), ChannelKind::X),
            vec!["outOfHoursReply.text:too_long"]
        );
    }
}
