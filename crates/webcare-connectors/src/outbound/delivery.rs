//! Whether a reply can be delivered at all (a delivery route), and the retry schedule of the
//! outbox: pure rules, shared by the reply endpoint (refuse at once) and the outbox worker.

use crate::x::{XAccess, XAuth};
use chrono::Duration;
use webcare_domain::model::ChannelKind;

/// Why a channel account offers no way to deliver a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoRoute {
    /// A stable code: `no_callback_url` or `no_credential`.
    pub code: &'static str,
    /// For the agent, with what to do about it.
    pub reason: String,
}

/// A reply on a channel account of `kind` can be delivered when the account has somewhere to send
/// it and the credential to send it with: an `api` account needs a `callbackUrl` and its
/// `webhookSecret` (the callback is signed); X the user-context keys (the four OAuth 1.0a keys or
/// an `accessToken`); Meta accounts an `accessToken`. `credential` reads the account's
/// credential keys.
pub fn delivery_route<'a>(
    kind: ChannelKind,
    callback_url: Option<&str>,
    credential: impl Fn(&str) -> Option<&'a str> + Copy,
) -> Result<(), NoRoute> {
    if kind == ChannelKind::Api && callback_url.is_none_or(|u| u.trim().is_empty()) {
        return Err(NoRoute {
            code: "no_callback_url",
            reason: "the api channel account has no callbackUrl, so a reply cannot be delivered: \
                     set one on the channel account, or answer the citizen another way"
                .to_owned(),
        });
    }
    let has = |k: &str| credential(k).is_some_and(|v| !v.is_empty());
    let missing = match kind {
        ChannelKind::Api => (!has("webhookSecret")).then_some("webhookSecret"),
        ChannelKind::X => XAuth::select(credential, XAccess::User)
            .is_none()
            .then_some("accessToken (or the four OAuth 1.0a keys)"),
        _ => (!has("accessToken")).then_some("accessToken"),
    };
    match missing {
        Some(key) => Err(NoRoute {
            code: "no_credential",
            reason: format!(
                "the channel account has no {key} credential, so a reply cannot be sent: reconnect it"
            ),
        }),
        None => Ok(()),
    }
}

/// How often and how patiently the outbox retries a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts (sends, or checks of an in-doubt send) before the reply is parked as failed.
    pub max_attempts: i64,
    /// The wait after the first attempt; it doubles per attempt.
    pub base: Duration,
    /// The longest wait between attempts.
    pub cap: Duration,
}

/// What to do after an attempt that may succeed later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryStep {
    /// Try again after this wait.
    RetryIn(Duration),
    /// Attempts are used up: park the reply as failed.
    GiveUp,
}

impl RetryPolicy {
    /// The exponential backoff after attempt number `attempts` (1-based): `base`, `2 base`,
    /// `4 base`, ..., never more than `cap`.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let factor = 1i32 << (attempts - 1).clamp(0, 20);
        self.base
            .checked_mul(factor)
            .unwrap_or(self.cap)
            .min(self.cap)
    }

    /// After attempt `attempts` failed transiently: retry after the backoff (or the platform's
    /// `retry_after`, when longer), or give up once `max_attempts` are used.
    pub fn after_failure(&self, attempts: i64, retry_after: Option<Duration>) -> RetryStep {
        if attempts >= self.max_attempts {
            return RetryStep::GiveUp;
        }
        let wait = self.backoff(attempts);
        RetryStep::RetryIn(retry_after.map_or(wait, |ra| wait.max(ra)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> + Copy {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)
    }

    #[test]
    fn api_channels_need_a_callback_url_and_secret() {
        let secret = [("webhookSecret", "s")];
        let e = delivery_route(ChannelKind::Api, None, creds(&secret)).unwrap_err();
        assert_eq!(e.code, "no_callback_url");
        assert!(e.reason.contains("callbackUrl"), "{}", e.reason);
        assert_eq!(
            delivery_route(ChannelKind::Api, Some("  "), creds(&secret))
                .unwrap_err()
                .code,
            "no_callback_url"
        );
        assert_eq!(
            delivery_route(
                ChannelKind::Api,
                Some("https://zaak.example/cb"),
                creds(&[])
            )
            .unwrap_err()
            .code,
            "no_credential"
        );
        assert!(delivery_route(
            ChannelKind::Api,
            Some("https://zaak.example/cb"),
            creds(&secret)
        )
        .is_ok());
    }

    #[test]
    fn platforms_need_their_send_credential() {
        let token = [("accessToken", "t")];
        for kind in [
            ChannelKind::FacebookPage,
            ChannelKind::Instagram,
            ChannelKind::Whatsapp,
            ChannelKind::X,
        ] {
            assert!(delivery_route(kind, None, creds(&token)).is_ok(), "{kind}");
            let e = delivery_route(kind, None, creds(&[("accessToken", "")])).unwrap_err();
            assert_eq!(e.code, "no_credential", "{kind}");
            assert!(e.reason.contains("accessToken"), "{}", e.reason);
        }
        // An app-only bearer token cannot post on X.
        assert!(delivery_route(ChannelKind::X, None, creds(&[("bearerToken", "b")])).is_err());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            max_attempts: 8,
            base: Duration::seconds(5),
            cap: Duration::minutes(10),
        };
        let waits: Vec<i64> = (1..=9).map(|a| p.backoff(a).num_seconds()).collect();
        assert_eq!(waits, vec![5, 10, 20, 40, 80, 160, 320, 600, 600]);
        assert_eq!(p.backoff(0), Duration::seconds(5));
        assert_eq!(p.backoff(i64::MAX), Duration::minutes(10));
    }

    #[test]
    fn attempts_are_capped_and_platform_waits_win_when_longer() {
        let p = RetryPolicy {
            max_attempts: 3,
            base: Duration::seconds(1),
            cap: Duration::minutes(10),
        };
        assert_eq!(
            p.after_failure(1, None),
            RetryStep::RetryIn(Duration::seconds(1))
        );
        assert_eq!(
            p.after_failure(2, Some(Duration::seconds(30))),
            RetryStep::RetryIn(Duration::seconds(30))
        );
        assert_eq!(
            p.after_failure(2, Some(Duration::milliseconds(1))),
            RetryStep::RetryIn(Duration::seconds(2))
        );
        assert_eq!(p.after_failure(3, None), RetryStep::GiveUp);
        assert_eq!(p.after_failure(161, None), RetryStep::GiveUp);
    }
}
