pub mod audit;
pub mod board;
pub mod calendars;
pub mod canned;
pub mod case_work;
pub mod cases;
pub mod channel_accounts;
pub mod classification;
pub mod contact_export;
pub mod contacts;
pub mod cost_model;
pub mod deliveries;
pub mod events;
pub mod health;
pub mod klantcontacten;
pub mod messages;
pub mod notificaties;
pub mod people;
pub mod platform_actions;
pub mod replies;
pub mod reports;
pub mod retention;
pub mod routing_rules;
pub mod sla;
pub mod survey_comments;
pub mod themes;
pub mod tokens;
pub mod webhook_subscriptions;
pub mod webhooks;
pub mod zaak;
pub mod zgw;

use crate::error::ApiError;
use base64::Engine;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;
use webcare_desk::DeskError;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// The query of a list that takes nothing but the page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageQuery {
    /// Opaque: the `cursor` of this list's `next` link; anything else is refused (400).
    #[param(pattern = r"^[A-Za-z0-9_-]{1,200}$")]
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

impl PageQuery {
    /// See [`page_request`].
    pub fn page(&self) -> Result<webcare_store::PageRequest, ApiError> {
        page_request(self.cursor.as_deref(), self.limit)
    }
}

/// The record, or a 404 naming what was not found.
pub fn found<T>(record: Option<T>, what: &str) -> Result<T, ApiError> {
    record.ok_or_else(|| ApiError::Desk(DeskError::NotFound(what.into())))
}

/// Checks `limit` (1..=200, default 50).
pub fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(l) if (1..=MAX_LIMIT).contains(&l) => Ok(l),
        Some(_) => Err(ApiError::invalid(
            "limit",
            "out_of_range",
            format!("between 1 and {MAX_LIMIT}"),
        )),
    }
}

/// The page a list query asks for: its cursor and limit checked.
pub fn page_request(
    cursor: Option<&str>,
    limit: Option<u32>,
) -> Result<webcare_store::PageRequest, ApiError> {
    Ok(webcare_store::PageRequest {
        after: decode_cursor(cursor)?,
        limit: page_limit(limit)?,
        ..Default::default()
    })
}

/// Cursors are opaque to clients: a version tag and the last item's id, base64url encoded.
pub fn encode_cursor(after: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{after}"))
}

pub fn decode_cursor(cursor: Option<&str>) -> Result<Option<Uuid>, ApiError> {
    let Some(c) = cursor else { return Ok(None) };
    let s = cursor_text(c)?;
    let id = s.strip_prefix("v1:").ok_or_else(bad_cursor)?;
    Uuid::parse_str(id).map(Some).map_err(|_| bad_cursor())
}

fn bad_cursor() -> ApiError {
    ApiError::invalid(
        "cursor",
        "invalid_cursor",
        "not a cursor from a `next` link of this list",
    )
}

/// A cursor's text (base64url), before its version tag is read.
fn cursor_text(c: &str) -> Result<String, ApiError> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| bad_cursor())?;
    String::from_utf8(raw).map_err(|_| bad_cursor())
}

/// A keyset cursor with a sort value: `v2:<due_ms>:<uuid>` (for `sort=dueAt`).
pub fn encode_cursor_v2(due: i64, after: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v2:{due}:{after}"))
}

/// Decodes a v1 (`None` sort value) or v2 cursor.
pub fn decode_cursor_any(cursor: Option<&str>) -> Result<Option<(Option<i64>, Uuid)>, ApiError> {
    let Some(c) = cursor else { return Ok(None) };
    let s = cursor_text(c)?;
    if let Some(rest) = s.strip_prefix("v2:") {
        let (due, id) = rest.split_once(':').ok_or_else(bad_cursor)?;
        let due: i64 = due.parse().map_err(|_| bad_cursor())?;
        let id = Uuid::parse_str(id).map_err(|_| bad_cursor())?;
        return Ok(Some((Some(due), id)));
    }
    decode_cursor(Some(c)).map(|o| o.map(|id| (None, id)))
}

/// The `next` link: the same path and query with the cursor replaced.
pub fn next_link(path: &str, query: &[(String, String)], after: Option<Uuid>) -> Option<String> {
    next_link_cursor(path, query, after.map(encode_cursor))
}

/// The `next` link with an already encoded cursor.
pub fn next_link_cursor(
    path: &str,
    query: &[(String, String)],
    cursor: Option<String>,
) -> Option<String> {
    let cursor = cursor?;
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in query.iter().filter(|(k, _)| k != "cursor") {
        ser.append_pair(k, v);
    }
    ser.append_pair("cursor", &cursor);
    Some(format!("{path}?{}", ser.finish()))
}

/// The query pairs of a request, for rebuilding links.
pub fn query_pairs(uri: &axum::http::Uri) -> Vec<(String, String)> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_rejected() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(Some(&encode_cursor(id))).unwrap(), Some(id));
        assert!(decode_cursor(Some("nope")).is_err());
        assert!(decode_cursor(Some("djE6bm90LWEtdXVpZA")).is_err());
        assert_eq!(decode_cursor(None).unwrap(), None);
    }

    #[test]
    fn next_links_keep_filters_and_replace_the_cursor() {
        let id = Uuid::now_v7();
        let q = vec![
            ("status".to_string(), "new".to_string()),
            ("cursor".to_string(), "old".to_string()),
        ];
        let link = next_link("/api/v1/cases", &q, Some(id)).unwrap();
        assert!(link.starts_with("/api/v1/cases?status=new&cursor="));
        assert!(!link.contains("old"));
        assert!(next_link("/x", &q, None).is_none());
    }
}
