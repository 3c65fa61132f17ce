//! X rate-limit headers: `x-rate-limit-{limit,remaining,reset}` (reset in epoch seconds), and the
//! 24-hour buckets some endpoints add (`x-app-limit-24hour-*`, `x-user-limit-24hour-*`).

use crate::headers::HeaderSource;
use chrono::{DateTime, Utc};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u64,
    pub remaining: u64,
    pub reset_epoch_s: i64,
}

impl RateLimit {
    /// The 15-minute window from `x-rate-limit-*`; `None` unless all three headers parse.
    pub fn from_headers<H: HeaderSource + ?Sized>(headers: &H) -> Option<RateLimit> {
        Self::with_prefix(headers, "x-rate-limit")
    }

    /// The app's 24-hour bucket (`x-app-limit-24hour-*`).
    pub fn app_24h<H: HeaderSource + ?Sized>(headers: &H) -> Option<RateLimit> {
        Self::with_prefix(headers, "x-app-limit-24hour")
    }

    /// The user's 24-hour bucket (`x-user-limit-24hour-*`).
    pub fn user_24h<H: HeaderSource + ?Sized>(headers: &H) -> Option<RateLimit> {
        Self::with_prefix(headers, "x-user-limit-24hour")
    }

    fn with_prefix<H: HeaderSource + ?Sized>(headers: &H, prefix: &str) -> Option<RateLimit> {
        let get = |suffix: &str| headers.header(&format!("{prefix}-{suffix}")).map(str::trim);
        Some(RateLimit {
            limit: get("limit")?.parse().ok()?,
            remaining: get("remaining")?.parse().ok()?,
            reset_epoch_s: get("reset")?.parse().ok()?,
        })
    }

    pub fn is_exhausted(&self) -> bool {
        self.remaining == 0
    }

    pub fn reset_at(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(self.reset_epoch_s, 0)
    }

    /// How long until the window resets (zero when it already has).
    pub fn wait(&self, now: DateTime<Utc>) -> Duration {
        Duration::from_secs(
            u64::try_from(self.reset_epoch_s.saturating_sub(now.timestamp())).unwrap_or(0),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_x_headers() {
        let h = [
            ("x-rate-limit-limit", "450"),
            ("x-rate-limit-remaining", "0"),
            ("X-Rate-Limit-Reset", "1773139500"),
            ("x-user-limit-24hour-limit", "1440"),
            ("x-user-limit-24hour-remaining", "1439"),
            ("x-user-limit-24hour-reset", "1773200000"),
        ];
        let rl = RateLimit::from_headers(&h).unwrap();
        assert_eq!(
            rl,
            RateLimit {
                limit: 450,
                remaining: 0,
                reset_epoch_s: 1773139500
            }
        );
        assert!(rl.is_exhausted());
        let now = DateTime::from_timestamp(1773139400, 0).unwrap();
        assert_eq!(rl.wait(now), Duration::from_secs(100));
        assert_eq!(rl.wait(now + chrono::Duration::hours(1)), Duration::ZERO);
        assert_eq!(RateLimit::user_24h(&h).unwrap().remaining, 1439);
        assert!(RateLimit::app_24h(&h).is_none());
        assert!(RateLimit::from_headers(&[("x-rate-limit-limit", "x")]).is_none());
    }
}
