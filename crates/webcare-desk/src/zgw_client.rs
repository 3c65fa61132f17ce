//! Calls to the municipality's ZGW APIs (Zaken, Catalogi, Notificaties) as one user, each with a
//! fresh JWT-ZGW. The zaak and notificaties workers send their jobs with it; the admin use cases
//! (`zgw_admin`) register the abonnement with it.

use crate::zgw::ZgwSettings;
use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;
use webcare_domain::zgw as rules;

/// Why a call did not succeed.
#[derive(Debug)]
pub enum CallError {
    /// Try again (after at least this long, when the server said).
    Transient(String, Option<Duration>),
    /// The server refused it: the job fails with this reason.
    Refused(String),
}

/// The HTTP client for the zaaksysteem's APIs, with this per-call timeout.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .build()
        .unwrap_or_default()
}

/// Calls as one user (a job's agent, or the desk itself).
pub struct Call<'a> {
    pub client: &'a reqwest::Client,
    pub settings: &'a ZgwSettings,
    pub user: &'a str,
    pub user_name: &'a str,
}

impl Call<'_> {
    fn token(&self) -> String {
        let claims = rules::jwt_claims(
            &self.settings.client_id,
            self.user,
            self.user_name,
            Utc::now(),
        );
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(self.settings.secret.as_bytes()),
        )
        .unwrap_or_default()
    }

    pub async fn get(&self, url: &str) -> Result<Value, CallError> {
        self.send(Method::GET, url, None).await
    }

    /// POSTs to a resource of the Zaken API (`zaken`, `statussen`, ...).
    pub async fn post<B: serde::Serialize>(
        &self,
        resource: &str,
        body: &B,
    ) -> Result<Value, CallError> {
        let url = format!(
            "{}/{resource}",
            self.settings.zaken_url.trim_end_matches('/')
        );
        self.send_json(Method::POST, &url, body).await
    }

    /// Sends `body` to an absolute URL.
    pub async fn send_json<B: serde::Serialize>(
        &self,
        method: Method,
        url: &str,
        body: &B,
    ) -> Result<Value, CallError> {
        let body = serde_json::to_value(body).map_err(|e| CallError::Refused(e.to_string()))?;
        self.send(method, url, Some(body)).await
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
    ) -> Result<Value, CallError> {
        // A fresh token per call (Open Zaak expires them an hour after `iat`); the CRS headers
        // Open Zaak demands on zaken, harmless on the other resources.
        let mut req = self
            .client
            .request(method, url)
            .bearer_auth(self.token())
            .header("Accept-Crs", "EPSG:4326")
            .header("Content-Crs", "EPSG:4326");
        if let Some(b) = &body {
            req = req.json(b);
        }
        send(req, "the ZGW API").await
    }
}

/// Sends a request to a municipal API (ZGW, Open Klant) and sorts its answer: the JSON body on
/// success; a network error, 5xx, 408 or 429 is transient (with `Retry-After`), another status
/// refused with the server's reason (`server` names it in a network error).
pub async fn send(req: reqwest::RequestBuilder, server: &str) -> Result<Value, CallError> {
    let res = req
        .send()
        .await
        .map_err(|e| CallError::Transient(format!("{server} unreachable: {e}"), None))?;
    let status = res.status();
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = res.text().await.unwrap_or_default();
    let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(json);
    }
    let why = reason(status, &json);
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        Err(CallError::Transient(why, retry_after))
    } else {
        Err(CallError::Refused(why))
    }
}

/// A refusal in a line: status, code, title and each invalid field.
pub fn reason(status: StatusCode, body: &Value) -> String {
    let mut out = format!("{}", status.as_u16());
    for k in ["code", "title", "detail"] {
        if let Some(v) = body[k].as_str().filter(|v| !v.is_empty()) {
            out.push_str(": ");
            out.push_str(v);
        }
    }
    if let Some(params) = body["invalidParams"].as_array() {
        for p in params {
            out.push_str(&format!(
                "; {} ({}): {}",
                p["name"].as_str().unwrap_or_default(),
                p["code"].as_str().unwrap_or_default(),
                p["reason"].as_str().unwrap_or_default()
            ));
        }
    }
    out.chars().take(1000).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_its_fields() {
        let body = serde_json::json!({"code": "invalid", "title": "Invalid input.", "invalidParams": [
            {"name": "zaaktype", "code": "bad-url", "reason": "Onbekend"}]});
        assert_eq!(
            reason(StatusCode::BAD_REQUEST, &body),
            "400: invalid: Invalid input.; zaaktype (bad-url): Onbekend"
        );
    }
}
