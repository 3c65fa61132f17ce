//! How the desk authenticates to X, chosen from the account's credential keys.
//!
//! - **OAuth 1.0a user context** (`consumerKey`, `consumerSecret`, `accessToken`,
//!   `accessTokenSecret`): the keys a municipality gets from X's developer portal for its own
//!   account. They do not expire, and X accepts them for posting replies, sending DMs and reading
//!   DM events. Each request is signed (HMAC-SHA1 over method, URL and query, RFC 5849 section 3.4);
//!   X does not sign JSON bodies, so `POST /2/tweets` signs only the URL.
//! - **OAuth 2.0 bearer**: `bearerToken` (app-only: mentions, tweet lookup) or, without the
//!   OAuth 1.0a set, `accessToken` taken as an OAuth 2.0 user-context token.
//!
//! Reads that X allows app-only prefer the bearer token, so they do not spend the user's limits.

use oauth1_request as oauth;
use std::fmt;
use std::num::NonZeroU64;
use subtle::ConstantTimeEq;

/// The four OAuth 1.0a secrets of an account. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuth1Keys {
    pub consumer_key: String,
    pub consumer_secret: String,
    pub token: String,
    pub token_secret: String,
}

impl fmt::Debug for OAuth1Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OAuth1Keys { <redacted> }")
    }
}

/// What a request needs from X.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XAccess {
    /// Public data: mentions, tweet lookup, our own timeline.
    App,
    /// Acting as the account, or its private data: posting, DMs.
    User,
}

/// The credential one request is sent with.
#[derive(Clone, PartialEq, Eq)]
pub enum XAuth {
    OAuth1(OAuth1Keys),
    Bearer(String),
}

impl fmt::Debug for XAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XAuth::OAuth1(_) => f.write_str("XAuth::OAuth1(<redacted>)"),
            XAuth::Bearer(_) => f.write_str("XAuth::Bearer(<redacted>)"),
        }
    }
}

/// The four OAuth 1.0a keys, when all are set (empty counts as missing).
pub fn oauth1_keys<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Option<OAuth1Keys> {
    let key = |k: &str| get(k).filter(|s| !s.is_empty()).map(str::to_owned);
    Some(OAuth1Keys {
        consumer_key: key("consumerKey")?,
        consumer_secret: key("consumerSecret")?,
        token: key("accessToken")?,
        token_secret: key("accessTokenSecret")?,
    })
}

impl XAuth {
    /// Picks the credential for `access` from an account's credential keys; `None` when the
    /// account has nothing usable.
    pub fn select<'a>(
        get: impl Fn(&str) -> Option<&'a str> + Copy,
        access: XAccess,
    ) -> Option<XAuth> {
        let bearer = |k: &str| {
            get(k)
                .filter(|s| !s.is_empty())
                .map(|s| XAuth::Bearer(s.to_owned()))
        };
        let oauth1 = || oauth1_keys(get).map(XAuth::OAuth1);
        match access {
            XAccess::App => bearer("bearerToken")
                .or_else(oauth1)
                .or_else(|| bearer("accessToken")),
            XAccess::User => oauth1().or_else(|| bearer("accessToken")),
        }
    }

    /// The `Authorization` header value for `method` on `url` (which may carry a query).
    pub fn header(&self, method: &str, url: &str) -> String {
        match self {
            XAuth::Bearer(t) => format!("Bearer {t}"),
            XAuth::OAuth1(keys) => oauth1_header(keys, method, url, None, None),
        }
    }
}

/// Signs a request with OAuth 1.0a HMAC-SHA1. The query parameters of `url` are part of the
/// signature; `nonce` and `timestamp` are fresh unless given (tests and verification give them).
pub fn oauth1_header(
    keys: &OAuth1Keys,
    method: &str,
    url: &str,
    nonce: Option<&str>,
    timestamp: Option<u64>,
) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    // Signed over the decoded values: the library encodes them the RFC 5849 way.
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let params = oauth::ParameterList::new(params);
    let mut builder = oauth::Builder::<_, &str>::new(
        oauth::Credentials::new(keys.consumer_key.as_str(), keys.consumer_secret.as_str()),
        oauth::HMAC_SHA1,
    );
    builder
        .token(oauth::Credentials::new(
            keys.token.as_str(),
            keys.token_secret.as_str(),
        ))
        .nonce(nonce)
        .timestamp(timestamp.and_then(NonZeroU64::new));
    builder.authorize(&method.to_ascii_uppercase(), base, &params)
}

/// The `oauth_*` parameters of an `Authorization: OAuth ...` header, values decoded.
pub fn oauth1_params(header: &str) -> Option<Vec<(String, String)>> {
    let rest = header.strip_prefix("OAuth ")?;
    rest.split(',')
        .map(|part| {
            let (k, v) = part.trim().split_once('=')?;
            let v = v.strip_prefix('"')?.strip_suffix('"')?;
            let v = percent_encoding::percent_decode_str(v).decode_utf8().ok()?;
            Some((k.to_owned(), v.into_owned()))
        })
        .collect()
}

/// Checks a request's OAuth 1.0a signature against the keys (what X does on its side; the fake
/// X server uses it). Constant-time on the signature.
pub fn oauth1_verify(keys: &OAuth1Keys, method: &str, url: &str, header: &str) -> bool {
    let Some(params) = oauth1_params(header) else {
        return false;
    };
    let get = |k: &str| {
        params
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.as_str())
    };
    let (Some(nonce), Some(ts), Some(sig)) = (
        get("oauth_nonce"),
        get("oauth_timestamp").and_then(|t| t.parse::<u64>().ok()),
        get("oauth_signature"),
    ) else {
        return false;
    };
    if get("oauth_consumer_key") != Some(keys.consumer_key.as_str())
        || get("oauth_token") != Some(keys.token.as_str())
        || get("oauth_signature_method") != Some("HMAC-SHA1")
    {
        return false;
    }
    let expected = oauth1_header(keys, method, url, Some(nonce), Some(ts));
    let expected = oauth1_params(&expected).unwrap_or_default();
    let expected = expected
        .iter()
        .find(|(k, _)| k == "oauth_signature")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    bool::from(expected.as_bytes().ct_eq(sig.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// X's published worked example ("Creating a signature", developer.x.com): these inputs sign
    /// to `hCtSmYh+iHYCEqBWrE7C7hYmtUk=`. The example also has `oauth_version=1.0` and a form
    /// body; the body travels as query here, which RFC 5849 signs the same way.
    #[test]
    fn signs_x_published_example() {
        let keys = OAuth1Keys {
            consumer_key: "xvz1evFS4wEEPTGEFPHBog".into(),
            consumer_secret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw".into(),
            token: "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb".into(),
            token_secret: "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE".into(),
        };
        let params = oauth::ParameterList::new([
            ("include_entities", "true"),
            (
                "status",
                "Hello Ladies + Gentlemen, a signed OAuth request!",
            ),
        ]);
        let mut b = oauth::Builder::<_, &str>::new(
            oauth::Credentials::new(keys.consumer_key.as_str(), keys.consumer_secret.as_str()),
            oauth::HMAC_SHA1,
        );
        b.token(oauth::Credentials::new(
            keys.token.as_str(),
            keys.token_secret.as_str(),
        ))
        .nonce("kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg")
        .timestamp(NonZeroU64::new(1318622958))
        .version(true);
        let header = b.authorize(
            "POST",
            "https://api.twitter.com/1.1/statuses/update.json",
            &params,
        );
        let sig = oauth1_params(&header)
            .unwrap()
            .into_iter()
            .find(|(k, _)| k == "oauth_signature")
            .unwrap()
            .1;
        assert_eq!(sig, "hCtSmYh+iHYCEqBWrE7C7hYmtUk=");
    }

    fn keys() -> OAuth1Keys {
        OAuth1Keys {
            consumer_key: "ck".into(),
            consumer_secret: "cs".into(),
            token: "1564318547221393408-tok".into(),
            token_secret: "ts".into(),
        }
    }

    #[test]
    fn a_signed_request_verifies_and_a_changed_one_does_not() {
        let url = "http://127.0.0.1:9/2/dm_events?max_results=100&dm_event.fields=id,text";
        let h = XAuth::OAuth1(keys()).header("GET", url);
        assert!(h.starts_with("OAuth "), "{h}");
        assert!(oauth1_verify(&keys(), "GET", url, &h));
        // Another query, method, path or secret: refused.
        assert!(!oauth1_verify(
            &keys(),
            "GET",
            "http://127.0.0.1:9/2/dm_events?max_results=99&dm_event.fields=id,text",
            &h
        ));
        assert!(!oauth1_verify(&keys(), "POST", url, &h));
        let mut other = keys();
        other.token_secret = "other".into();
        assert!(!oauth1_verify(&other, "GET", url, &h));
        assert!(!oauth1_verify(&keys(), "GET", url, "Bearer ck"));
        assert!(!oauth1_verify(&keys(), "GET", url, "OAuth garbage"));
    }

    #[test]
    fn each_request_gets_its_own_nonce() {
        let url = "http://127.0.0.1:9/2/tweets";
        let a = XAuth::OAuth1(keys()).header("POST", url);
        let b = XAuth::OAuth1(keys()).header("POST", url);
        let nonce = |h: &str| {
            oauth1_params(h)
                .unwrap()
                .into_iter()
                .find(|(k, _)| k == "oauth_nonce")
                .unwrap()
                .1
        };
        assert_ne!(nonce(&a), nonce(&b));
    }

    #[test]
    fn app_reads_prefer_the_bearer_and_user_actions_the_oauth1_keys() {
        const ALL: &[(&str, &str)] = &[
            ("bearerToken", "app"),
            ("consumerKey", "ck"),
            ("consumerSecret", "cs"),
            ("accessToken", "at"),
            ("accessTokenSecret", "ats"),
        ];
        let get = |set: &'static [(&'static str, &'static str)]| {
            move |k: &str| set.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)
        };
        assert_eq!(
            XAuth::select(get(ALL), XAccess::App),
            Some(XAuth::Bearer("app".into()))
        );
        assert!(matches!(
            XAuth::select(get(ALL), XAccess::User),
            Some(XAuth::OAuth1(k)) if k.token == "at" && k.token_secret == "ats"
        ));
        // Without the OAuth 1.0a set, accessToken is an OAuth 2.0 user token.
        const OAUTH2: &[(&str, &str)] = &[("accessToken", "at2"), ("consumerSecret", "cs")];
        assert_eq!(
            XAuth::select(get(OAUTH2), XAccess::User),
            Some(XAuth::Bearer("at2".into()))
        );
        assert_eq!(
            XAuth::select(get(OAUTH2), XAccess::App),
            Some(XAuth::Bearer("at2".into()))
        );
        const EMPTY: &[(&str, &str)] = &[("bearerToken", "")];
        assert_eq!(XAuth::select(get(EMPTY), XAccess::App), None);
        assert!(!format!("{:?}", XAuth::select(get(ALL), XAccess::User)).contains("ats"));
    }
}
