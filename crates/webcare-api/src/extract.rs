//! Extractors that answer bad input with problem+json naming every invalid field, in plain words,
//! instead of axum's plain text rejections or the parser's own messages.

use crate::error::{ApiError, InvalidParam};
use crate::routes::PageQuery;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use webcare_desk::DeskError;

/// A JSON body. A body without a JSON `Content-Type` is a 415; malformed JSON is one 400; a body
/// with wrong types, missing or unknown fields is a 400 naming every invalid field (see
/// [`crate::body_schema`]); a body over the limit is a 413.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                let ct = ct.split(';').next().unwrap_or("").trim();
                ct.eq_ignore_ascii_case("application/json") || ct.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON, with 'Content-Type: application/json'".into(),
            ));
        }
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(|p| (req.method().clone(), p.as_str().to_owned()));
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("the request body is over the size limit".into())
            } else {
                ApiError::BadRequest("the request body could not be read".into())
            }
        })?;
        parse_body(&bytes, route.as_ref().map(|(m, p)| (m, p.as_str()))).map(ApiJson)
    }
}

/// Parses JSON, answering errors as `invalidParams` with JSON paths (no route schema: serde's
/// first error only).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    parse_body(bytes, None)
}

/// Parses a body for `route` (method and route path). When it does not parse, every invalid
/// field is found against the route's schema; serde's first error stands in when the schema
/// finds none.
fn parse_body<T: DeserializeOwned>(
    bytes: &[u8],
    route: Option<(&Method, &str)>,
) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let err = match serde_path_to_error::deserialize(de) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let path = err.path().to_string();
    let inner = err.into_inner();
    // Not JSON at all, even where serde stopped at a type error first (`[1, 2` for an object).
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        let reason = if bytes.iter().all(u8::is_ascii_whitespace) {
            "is empty; send a JSON object"
        } else {
            "is not valid JSON"
        };
        return Err(ApiError::invalid("body", "malformed_json", reason));
    };
    let first = serde_param(&path, &inner);
    let mut params = match route {
        Some((method, route)) => crate::body_schema::invalid_params(method, route, &value),
        None => vec![],
    };
    // serde's error too when the schema does not state its rule (a domain type's own check).
    if !params.iter().any(|p| p.name == first.name) {
        params.push(first);
    }
    Err(ApiError::Desk(DeskError::Invalid(params)))
}

fn serde_param(path: &str, e: &serde_json::Error) -> InvalidParam {
    let message = e.to_string();
    let (code, reason) = crate::body_schema::serde_reason(&message);
    InvalidParam::new(field_name(path, &message), code, reason)
}

/// serde reports a missing or unknown field at its parent's path; name the field itself.
fn field_name(path: &str, reason: &str) -> String {
    let field = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|p| reason.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    match (path, field) {
        (".", Some(f)) => f.to_string(),
        (".", None) => "body".to_string(),
        // serde_path_to_error may already end the path with the unknown field itself.
        (p, Some(f)) if p == f || p.ends_with(&format!(".{f}")) => p.to_string(),
        (p, Some(f)) => format!("{p}.{f}"),
        (p, None) => p.to_string(),
    }
}

/// Query parameters, with the same 400 answer on bad input.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded_de(q);
        de.map(ApiQuery)
    }
}

/// A list's query: its own parameters (`T`) and the page (`cursor` and `limit`, read as
/// [`PageQuery`]), each with the same 400 answer on bad input as [`ApiQuery`]. The OpenAPI
/// document names both: `params(T, PageQuery)`.
pub struct ApiListQuery<T>(pub T, pub PageQuery);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiListQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ApiQueries(own, page) = ApiQueries::from_request_parts(parts, state).await?;
        Ok(ApiListQuery(own, page))
    }
}

/// The keys of a query struct that [`ApiQueries`] reads apart from the rest.
pub trait QueryKeys {
    const KEYS: &'static [&'static str];
}

impl QueryKeys for PageQuery {
    const KEYS: &'static [&'static str] = &["cursor", "limit"];
}

/// A query read as two structs: `U`'s keys go to `U`, every other key to `T` (so each may refuse
/// unknown keys). Bad input is the same 400 as [`ApiQuery`]'s.
pub struct ApiQueries<T, U>(pub T, pub U);

impl<S, T, U> FromRequestParts<S> for ApiQueries<T, U>
where
    S: Send + Sync,
    T: DeserializeOwned,
    U: DeserializeOwned + QueryKeys,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let pairs = form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes());
        let (theirs, own): (Vec<_>, Vec<_>) = pairs.partition(|(k, _)| U::KEYS.contains(&&**k));
        let encode = |p: Vec<_>| {
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(p)
                .finish()
        };
        Ok(ApiQueries(
            serde_urlencoded_de(&encode(own))?,
            serde_urlencoded_de(&encode(theirs))?,
        ))
    }
}

fn serde_urlencoded_de<T: DeserializeOwned>(q: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let name = match field_name(&path, &message).as_str() {
            "body" => "query".to_string(),
            n => n.to_string(),
        };
        let (code, reason) = match crate::body_schema::serde_reason(&message) {
            // A query value is text: a number that does not parse is not a wrong JSON type.
            ("invalid", _) | ("type", _) => ("invalid", message),
            (code, reason) => (code, reason),
        };
        ApiError::Desk(DeskError::Invalid(vec![InvalidParam::new(
            name, code, reason,
        )]))
    })
}

/// A `Uuid` path parameter; a malformed id is a 400 naming the parameter, not a 500 or a 422.
pub struct IdPath(pub uuid::Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        uuid::Uuid::parse_str(&raw)
            .map(IdPath)
            .map_err(|_| ApiError::invalid("id", "invalid_uuid", format!("'{raw}' is not a UUID")))
    }
}

/// The two `Uuid` parameters of a path like `/cases/{id}/messages/{messageId}`, the second
/// named `second` in a 400 when malformed.
pub async fn two_ids<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
    second: &str,
) -> Result<(uuid::Uuid, uuid::Uuid), ApiError> {
    let axum::extract::Path((a, b)) =
        axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let parse = |name: &str, raw: &str| {
        uuid::Uuid::parse_str(raw)
            .map_err(|_| ApiError::invalid(name, "invalid_uuid", format!("'{raw}' is not a UUID")))
    };
    Ok((parse("id", &a)?, parse(second, &b)?))
}
