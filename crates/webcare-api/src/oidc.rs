//! OIDC bearer tokens for agents: JWTs from the municipality's identity provider, verified
//! against the provider's JWKS (RS256 or ES256), with issuer, audience and expiry checked. Keys are
//! cached; a token signed with an unknown `kid` triggers one refresh of the key set (at most once
//! per `min_refresh_interval`, so garbage tokens cannot make us hammer the provider).

use crate::error::ApiError;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, RwLock};
use webcare_desk::DeskError;

/// What the desk needs to know about the identity provider.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub issuer: String,
    pub audience: String,
    pub jwks_url: String,
    /// Least time between two key-set fetches triggered by unknown key ids.
    pub min_refresh_interval: Duration,
}

/// The claims we use; the rest of the token is ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct OidcClaims {
    pub sub: Option<String>,
    pub email: Option<String>,
    /// Set by the web sign-in's authorization request; checked there (the API ignores it).
    #[serde(default)]
    pub nonce: Option<String>,
    /// As the provider sends it (a boolean, or by some providers the string "true"/"false").
    #[serde(default)]
    pub email_verified: Option<serde_json::Value>,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, DecodingKey>,
    /// Keys without a `kid`, tried in order.
    anonymous: Vec<DecodingKey>,
    fetched_at: Option<Instant>,
}

pub struct OidcVerifier {
    settings: OidcSettings,
    http: reqwest::Client,
    cache: RwLock<KeyCache>,
    refresh: Mutex<()>,
}

impl std::fmt::Debug for OidcVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcVerifier")
            .field("issuer", &self.settings.issuer)
            .finish_non_exhaustive()
    }
}

fn unauthorized(why: &str) -> ApiError {
    ApiError::Unauthorized(format!("invalid bearer token: {why}"))
}

impl OidcVerifier {
    pub fn new(settings: OidcSettings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self {
            settings,
            http,
            cache: RwLock::new(KeyCache::default()),
            refresh: Mutex::new(()),
        }
    }

    /// Verifies signature, issuer, audience and expiry; answers the claims or a 401.
    pub async fn verify(&self, token: &str) -> Result<OidcClaims, ApiError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| unauthorized("malformed"))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(unauthorized("only RS256 and ES256 are accepted"));
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = 30;

        let kid = header.kid.clone();
        let keys = match self.keys_for(kid.as_deref(), false).await? {
            Some(k) => k,
            None => self
                .keys_for(kid.as_deref(), true)
                .await?
                .ok_or_else(|| unauthorized("signed with an unknown key"))?,
        };
        let mut last = unauthorized("bad signature");
        for key in &keys {
            match jsonwebtoken::decode::<OidcClaims>(token, key, &validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) => {
                    use jsonwebtoken::errors::ErrorKind::*;
                    last = unauthorized(match e.kind() {
                        ExpiredSignature => "expired",
                        InvalidAudience => "wrong audience",
                        InvalidIssuer => "wrong issuer",
                        ImmatureSignature => "not valid yet",
                        MissingRequiredClaim(_) => "a required claim is missing",
                        _ => "bad signature",
                    });
                }
            }
        }
        Err(last)
    }

    /// The candidate keys for `kid` from the cache; with `refresh`, after fetching the key set
    /// again (unless it was fetched very recently). `None` when no key fits.
    async fn keys_for(
        &self,
        kid: Option<&str>,
        refresh: bool,
    ) -> Result<Option<Vec<DecodingKey>>, ApiError> {
        if refresh {
            let _one = self.refresh.lock().await;
            let due = self
                .cache
                .read()
                .await
                .fetched_at
                .is_none_or(|t| t.elapsed() >= self.settings.min_refresh_interval);
            if due {
                self.fetch().await?;
            }
        }
        let cache = self.cache.read().await;
        let found = match kid {
            Some(k) => cache.keys.get(k).map(|key| vec![key.clone()]),
            None => {
                let all: Vec<DecodingKey> = cache
                    .anonymous
                    .iter()
                    .chain(cache.keys.values())
                    .cloned()
                    .collect();
                (!all.is_empty()).then_some(all)
            }
        };
        Ok(found)
    }

    async fn fetch(&self) -> Result<(), ApiError> {
        let res = self
            .http
            .get(&self.settings.jwks_url)
            .send()
            .await
            .and_then(|r| r.error_for_status());
        let set: JwkSet = match res {
            Ok(r) => r.json().await.map_err(|e| {
                tracing::warn!(error = %e, "the identity provider's key set is not valid JSON");
                ApiError::Desk(DeskError::Unavailable(
                    "the identity provider's key set is unreadable".into(),
                ))
            })?,
            Err(e) => {
                tracing::warn!(error = %e, "cannot fetch the identity provider's key set");
                // Count the attempt, so a down provider is not asked on every request.
                self.cache.write().await.fetched_at = Some(Instant::now());
                return Err(ApiError::Desk(DeskError::Unavailable(
                    "the identity provider cannot be reached; retry later".into(),
                )));
            }
        };
        let mut cache = KeyCache {
            fetched_at: Some(Instant::now()),
            ..Default::default()
        };
        for jwk in &set.keys {
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            match &jwk.common.key_id {
                Some(kid) => {
                    cache.keys.insert(kid.clone(), key);
                }
                None => cache.anonymous.push(key),
            }
        }
        *self.cache.write().await = cache;
        Ok(())
    }
}

/// A JWT has three dot-separated parts; our API tokens never contain a dot.
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}
