//! X error bodies: RFC 7807 problems (`{"title","detail","type",…}`) and the older
//! `{"errors":[{"code","message"}]}`; a 200 may carry `errors` next to `data`.

use crate::json::{arr_at, id_at, int_at, str_at};
use serde_json::Value;

/// One X error, from whichever shape it came in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct XApiError {
    /// Problem `type` URI, e.g. `https://api.x.com/2/problems/resource-not-found`.
    pub problem_type: Option<String>,
    pub title: Option<String>,
    pub detail: Option<String>,
    pub status: Option<u16>,
    /// v1.1 numeric code (88 = rate limit, 187 = duplicate, 144 = no status with that id, …).
    pub code: Option<i64>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub value: Option<String>,
}

impl XApiError {
    fn type_is(&self, suffix: &str) -> bool {
        self.problem_type
            .as_deref()
            .is_some_and(|t| t.ends_with(suffix))
    }

    pub fn is_resource_not_found(&self) -> bool {
        self.type_is("/resource-not-found")
            || self.title.as_deref() == Some("Not Found Error")
            || matches!(self.code, Some(144 | 8 | 34))
    }

    pub fn is_not_authorized(&self) -> bool {
        self.type_is("/not-authorized-for-resource")
            || self.type_is("/client-forbidden")
            || self.title.as_deref() == Some("Forbidden")
            || self.title.as_deref() == Some("Authorization Error")
    }

    pub fn is_usage_capped(&self) -> bool {
        self.type_is("/usage-capped") || self.title.as_deref() == Some("UsageCapExceeded")
    }

    pub fn is_rate_limited(&self) -> bool {
        self.status == Some(429)
            || self.code == Some(88)
            || self.title.as_deref() == Some("Too Many Requests")
    }

    /// A one-line readable summary: detail (or message) with the title/code.
    pub fn summary(&self) -> String {
        let main = self
            .detail
            .as_deref()
            .or(self.title.as_deref())
            .unwrap_or("unknown X error");
        match (&self.title, self.code) {
            (Some(t), _) if self.detail.is_some() && t != main => format!("{t}: {main}"),
            (_, Some(c)) => format!("{c} {main}"),
            _ => main.to_owned(),
        }
    }
}

/// All errors in an X response body; empty when it is not JSON or has none.
pub fn parse_x_errors(raw_body: &[u8]) -> Vec<XApiError> {
    serde_json::from_slice::<Value>(raw_body)
        .map(|v| errors_in(&v))
        .unwrap_or_default()
}

pub(crate) fn errors_in(root: &Value) -> Vec<XApiError> {
    let mut out = Vec::new();
    if root.get("title").is_some() || root.get("type").is_some() {
        out.push(one(root));
    }
    out.extend(arr_at(root, &["errors"]).iter().map(one));
    out
}

fn one(e: &Value) -> XApiError {
    XApiError {
        problem_type: str_at(e, &["type"]).map(str::to_owned),
        title: str_at(e, &["title"]).map(str::to_owned),
        detail: str_at(e, &["detail"])
            .or_else(|| str_at(e, &["message"]))
            .map(str::to_owned),
        status: int_at(e, &["status"]).and_then(|s| u16::try_from(s).ok()),
        code: int_at(e, &["code"]),
        resource_type: str_at(e, &["resource_type"]).map(str::to_owned),
        resource_id: id_at(e, &["resource_id"]),
        value: id_at(e, &["value"]),
    }
}
