//! Cross-cutting HTTP behaviour: the `API-Version` and security headers on every answer, and a
//! problem+json body for every error, including the ones axum and tower produce themselves
//! (404 for an unknown path or a trailing slash, 405, 413, a panic's 500).

use crate::error::{problem_response, PROBLEM_JSON};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

pub const API_VERSION: &str = "1.0.0";

pub async fn conventions(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let status = res.status();
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if (status.is_client_error() || status.is_server_error()) && !is_problem {
        let detail = match status {
            StatusCode::NOT_FOUND => {
                "no resource at this path (paths have no trailing slash)".to_string()
            }
            StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed on this path".to_string(),
            StatusCode::PAYLOAD_TOO_LARGE => "the request body is over the size limit".to_string(),
            other => other.canonical_reason().unwrap_or("error").to_string(),
        };
        let allow = res.headers().get(header::ALLOW).cloned();
        res = problem_response(status, detail, vec![]);
        if let Some(allow) = allow {
            res.headers_mut().insert(header::ALLOW, allow);
        }
    }
    let h = res.headers_mut();
    h.insert("api-version", HeaderValue::from_static(API_VERSION));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// The answer when a handler panics: the panic is logged, the client gets a plain 500 problem.
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = msg, "handler panicked");
    problem_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "an internal error occurred; it has been logged".into(),
        vec![],
    )
}
