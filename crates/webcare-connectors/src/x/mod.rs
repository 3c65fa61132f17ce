//! X (Twitter): Account Activity webhook payloads (v1.1 objects), v2 API responses for the pollers
//! (mentions, DM events, tweet lookup), error bodies and rate-limit headers.
//!
//! Conversation keys: `x:conv:{conversation_id}` for public threads, `x:dm:{smaller}-{larger}`
//! (X's own one-to-one DM conversation id) for DMs.

mod activity;
mod auth;
mod errors;
mod rate_limit;
mod v2;

pub use activity::parse_account_activity;
pub use auth::{
    oauth1_header, oauth1_keys, oauth1_params, oauth1_verify, OAuth1Keys, XAccess, XAuth,
};
pub use errors::{parse_x_errors, XApiError};
pub use rate_limit::RateLimit;
pub use v2::{
    parse_dm_events_page, parse_mentions_page, parse_tweet_lookup_missing, DmEventsPage,
    MentionsPage,
};

use chrono::{DateTime, Utc};

/// X ids are snowflakes: the top bits are milliseconds since 2010-11-04T01:42:54.657Z. Used only
/// when a payload carries no timestamp of its own.
pub fn snowflake_time(id: &str) -> Option<DateTime<Utc>> {
    let n: u64 = id.parse().ok()?;
    let ms = (n >> 22).checked_add(1_288_834_974_657)?;
    DateTime::from_timestamp_millis(i64::try_from(ms).ok()?)
}

/// X's one-to-one DM conversation id: `"{smaller}-{larger}"`, compared as numbers (ids have
/// different lengths, so a string comparison would be wrong).
pub fn dm_conversation_id(a: &str, b: &str) -> String {
    let key = |s: &str| (s.parse::<u64>().ok(), s.len(), s.to_owned());
    let (lo, hi) = if key(a) <= key(b) { (a, b) } else { (b, a) };
    format!("{lo}-{hi}")
}

/// v1.1 `type` / v2 media `type` to the desk's attachment kinds.
pub(crate) fn media_kind(t: &str) -> &str {
    match t {
        "photo" => "image",
        "animated_gif" => "gif",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflake_decodes_to_the_tweet_time() {
        // Snowflake 1460323737035677698: (id >> 22) + epoch offset = 2021-11-15T19:08:05.069Z.
        let t = snowflake_time("1460323737035677698").unwrap();
        assert_eq!(t.to_rfc3339(), "2021-11-15T19:08:05.069+00:00");
        assert!(snowflake_time("not a number").is_none());
    }

    #[test]
    fn dm_conversation_ids_order_numerically() {
        assert_eq!(dm_conversation_id("9", "10"), "9-10");
        assert_eq!(dm_conversation_id("10", "9"), "9-10");
        assert_eq!(
            dm_conversation_id("1564318547221393408", "783214"),
            "783214-1564318547221393408"
        );
    }
}
