//! What the fake ZGW-family servers (Open Zaak, Open Notificaties, Open Klant) answer alike:
//! JSON, or problem+json for an error, with the API's version header, and the Common Ground
//! `Fout` and `ValidatieFout` bodies.

use super::schema;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use uuid::Uuid;

/// One fake API: the `API-Version` it answers with, if it sends one.
pub(crate) struct Api {
    pub version: Option<&'static str>,
}

impl Api {
    pub fn json(&self, status: StatusCode, body: Value) -> Response {
        let mut r = (status, body.to_string()).into_response();
        let ct = if status.is_success() {
            "application/json"
        } else {
            "application/problem+json"
        };
        r.headers_mut()
            .insert("content-type", HeaderValue::from_static(ct));
        if let Some(v) = self.version {
            r.headers_mut()
                .insert("api-version", HeaderValue::from_static(v));
        }
        r
    }

    /// The `Fout` body.
    pub fn fout(&self, status: StatusCode, code: &str, title: &str, detail: &str) -> Response {
        self.json(
            status,
            json!({
                "type": format!("http://127.0.0.1/ref/fouten/{code}/"),
                "code": code, "title": title, "status": status.as_u16(), "detail": detail,
                "instance": format!("urn:uuid:{}", Uuid::new_v4()),
            }),
        )
    }

    /// The `ValidatieFout` body with its `invalidParams`.
    pub fn validatie_fout(&self, params: Vec<Value>) -> Response {
        self.json(
            StatusCode::BAD_REQUEST,
            json!({
                "type": "http://127.0.0.1/ref/fouten/ValidationError/",
                "code": "invalid", "title": "Invalid input.", "status": 400, "detail": "",
                "instance": format!("urn:uuid:{}", Uuid::new_v4()),
                "invalidParams": params,
            }),
        )
    }

    /// A `ValidatieFout` for what the spec validator found.
    pub fn invalid(&self, invalid: &[schema::Invalid]) -> Response {
        let params = invalid
            .iter()
            .map(|i| json!({"name": i.name, "code": i.code, "reason": i.reason}))
            .collect();
        self.validatie_fout(params)
    }
}
