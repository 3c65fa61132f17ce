//! Names every invalid field of a JSON body that did not parse. serde stops at the first error and
//! words it for programmers (`invalid type: integer, expected a string at line 1 column 10`); the
//! body's JSON schema, the one utoipa generates for the OpenAPI document, finds all of them at
//! once. Each becomes an `invalidParams` entry: the field as a JSON path (`author.handle`,
//! `attachments[0].url`), a code (`type`, `required`, `unknown`, `format`, `enum`, ...) and a
//! plain reason ("must be a string").
//!
//! Only the error path uses this: a body that parses is never validated twice.

use crate::error::InvalidParam;
use axum::http::Method;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::LazyLock;

/// The request body validators of the API, by method and route path (`/api/v1/cases/{id}`).
static VALIDATORS: LazyLock<HashMap<(Method, String), Validator>> = LazyLock::new(build);

fn build() -> HashMap<(Method, String), Validator> {
    let (_, doc) = crate::api_routes();
    let doc = match serde_json::to_value(&doc) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "the OpenAPI document does not serialise");
            return HashMap::new();
        }
    };
    let components = doc.get("components").cloned().unwrap_or(Value::Null);
    let mut out = HashMap::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, op) in item {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") else {
                continue;
            };
            // `#/components/schemas/...` references resolve against the root: give it the
            // document's components.
            let mut root = schema.clone();
            if let Some(obj) = root.as_object_mut() {
                obj.insert("components".into(), components.clone());
            }
            match jsonschema::draft202012::options()
                .should_validate_formats(true)
                .build(&root)
            {
                Ok(v) => {
                    out.insert((method, path.clone()), v);
                }
                Err(e) => tracing::warn!(%path, error = %e, "no body validator for this route"),
            }
        }
    }
    out
}

/// Every schema violation of `body` for the route, as `invalidParams`; empty when the route has no
/// schema or the schema finds nothing (then the caller falls back to serde's first error).
pub fn invalid_params(method: &Method, route: &str, body: &Value) -> Vec<InvalidParam> {
    let Some(v) = VALIDATORS.get(&(method.clone(), route.to_owned())) else {
        return vec![];
    };
    let mut out = Vec::new();
    for e in v.iter_errors(body) {
        push_error(&e, &mut out);
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert((p.name.clone(), p.code.clone())));
    out
}

fn push_error(e: &ValidationError<'_>, out: &mut Vec<InvalidParam>) {
    let at = json_path(e.instance_path().iter());
    let mut push =
        |name: String, code: &str, reason: String| out.push(InvalidParam::new(name, code, reason));
    match e.kind() {
        ValidationErrorKind::Required { property } => {
            let field = property.as_str().unwrap_or_default();
            push(child(&at, field), "required", "is required".into());
        }
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            for field in unexpected {
                push(child(&at, field), "unknown", "is not a known field".into());
            }
        }
        ValidationErrorKind::Type { kind } => {
            push(name(&at), "type", format!("must be {}", type_words(kind)));
        }
        ValidationErrorKind::Format { format } => {
            push(
                name(&at),
                "format",
                format!("must be {}", format_words(format)),
            );
        }
        ValidationErrorKind::Enum { options } => {
            push(
                name(&at),
                "enum",
                format!("must be one of: {}", list(options)),
            );
        }
        ValidationErrorKind::Constant { expected_value } => {
            push(name(&at), "enum", format!("must be {expected_value}"));
        }
        ValidationErrorKind::MinLength { limit } => push(
            name(&at),
            "too_short",
            format!("must be at least {limit} character{}", plural(*limit)),
        ),
        ValidationErrorKind::MaxLength { limit } => push(
            name(&at),
            "too_long",
            format!("must be at most {limit} character{}", plural(*limit)),
        ),
        ValidationErrorKind::MinItems { limit } => push(
            name(&at),
            "too_short",
            format!("must have at least {limit} item{}", plural(*limit)),
        ),
        ValidationErrorKind::MaxItems { limit } => push(
            name(&at),
            "too_long",
            format!("must have at most {limit} item{}", plural(*limit)),
        ),
        ValidationErrorKind::Minimum { limit } => push(
            name(&at),
            "out_of_range",
            format!("must be at least {limit}"),
        ),
        ValidationErrorKind::Maximum { limit } => push(
            name(&at),
            "out_of_range",
            format!("must be at most {limit}"),
        ),
        ValidationErrorKind::ExclusiveMinimum { limit } => push(
            name(&at),
            "out_of_range",
            format!("must be more than {limit}"),
        ),
        ValidationErrorKind::ExclusiveMaximum { limit } => push(
            name(&at),
            "out_of_range",
            format!("must be less than {limit}"),
        ),
        ValidationErrorKind::Pattern { .. } => push(
            name(&at),
            "format",
            "does not have the expected form".into(),
        ),
        ValidationErrorKind::UniqueItems => {
            push(name(&at), "invalid", "must not repeat an item".into())
        }
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            one_of(&at, context, out)
        }
        _ => push(name(&at), "invalid", "is not valid here".into()),
    }
}

/// A value that matches none of several forms. utoipa writes an optional reference as
/// `oneOf: [{type: null}, {$ref}]` and a tagged enum as one object form per variant: report the
/// errors of the form the value comes closest to (the one its type matches), or else the types
/// that would have done.
fn one_of(at: &str, branches: &[Vec<ValidationError<'static>>], out: &mut Vec<InvalidParam>) {
    let type_only = |errs: &Vec<ValidationError<'static>>| {
        errs.iter().all(|e| {
            matches!(e.kind(), ValidationErrorKind::Type { .. })
                && json_path(e.instance_path().iter()) == at
        })
    };
    let close: Vec<&Vec<ValidationError<'static>>> =
        branches.iter().filter(|b| !type_only(b)).collect();
    if let [errs] = close.as_slice() {
        for e in errs.iter() {
            push_error(e, out);
        }
        return;
    }
    if close.is_empty() {
        let mut words: Vec<String> = branches
            .iter()
            .flatten()
            .filter_map(|e| match e.kind() {
                ValidationErrorKind::Type { kind } => Some(type_words(kind)),
                _ => None,
            })
            .collect();
        words.dedup();
        if !words.is_empty() {
            out.push(InvalidParam::new(
                name(at),
                "type",
                format!("must be {}", words.join(" or ")),
            ));
            return;
        }
    }
    out.push(InvalidParam::new(
        name(at),
        "invalid",
        "does not match any of the allowed forms",
    ));
}

/// `/author/handle` -> `author.handle`; `/attachments/0/url` -> `attachments[0].url`.
fn json_path<'a>(segments: impl Iterator<Item = LocationSegment<'a>>) -> String {
    let mut s = String::new();
    for seg in segments {
        match seg {
            LocationSegment::Index(i) => s.push_str(&format!("[{i}]")),
            LocationSegment::Property(p) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(&p);
            }
        }
    }
    s
}

/// The name of a value at a path; the whole body is `body`.
fn name(at: &str) -> String {
    if at.is_empty() {
        "body".into()
    } else {
        at.into()
    }
}

fn child(at: &str, field: &str) -> String {
    if at.is_empty() {
        field.into()
    } else {
        format!("{at}.{field}")
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn list(options: &Value) -> String {
    match options {
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// "a string", "an integer or null".
fn type_words(kind: &TypeKind) -> String {
    let names: Vec<String> = match kind {
        TypeKind::Single(t) => vec![t.to_string()],
        TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect(),
    };
    // "a string or null", not "null or a string".
    let mut names = names;
    names.sort_by_key(|n| n == "null");
    let words: Vec<&str> = names
        .iter()
        .map(|n| match n.as_str() {
            "string" => "a string",
            "integer" => "a whole number",
            "number" => "a number",
            "boolean" => "true or false",
            "object" => "an object",
            "array" => "an array",
            "null" => "null",
            _ => "another type",
        })
        .collect();
    words.join(" or ")
}

fn format_words(format: &str) -> String {
    match format {
        "uuid" => "a UUID".into(),
        "date-time" => "a date and time in RFC 3339 form (2024-05-01T09:30:00Z)".into(),
        "date" => "a date (2024-05-01)".into(),
        "time" => "a time (09:30:00Z)".into(),
        "email" => "an e-mail address".into(),
        "uri" | "url" => "an absolute URL".into(),
        other => format!("in the '{other}' format"),
    }
}

/// serde's first error in plain words, for when the schema has none (a rule the schema does not
/// state, or a route without a schema): (code, reason). Positions and Rust type names are left
/// out.
pub fn serde_reason(message: &str) -> (&'static str, String) {
    let msg = match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    let expected = |m: &str| {
        m.rsplit_once(", expected ")
            .map(|(_, e)| expected_words(e))
            .unwrap_or_else(|| "of another type".into())
    };
    if msg.starts_with("missing field `") {
        ("required", "is required".into())
    } else if msg.starts_with("unknown field `") {
        ("unknown", "is not a known field".into())
    } else if let Some(rest) = msg.strip_prefix("unknown variant `") {
        let options = rest
            .split_once("expected one of ")
            .map(|(_, o)| o.replace('`', ""))
            .or_else(|| {
                rest.split_once("expected ")
                    .map(|(_, o)| o.replace('`', ""))
            })
            .unwrap_or_default();
        ("enum", format!("must be one of: {options}"))
    } else if msg.starts_with("invalid type: ") {
        ("type", format!("must be {}", expected(msg)))
    } else if msg.starts_with("invalid value: ") || msg.starts_with("invalid length ") {
        ("invalid", format!("must be {}", expected(msg)))
    } else {
        // A message of our own domain types ("a handle is at most 100 characters").
        ("invalid", msg.to_owned())
    }
}

/// serde's "expected" phrase without Rust names: `u32` -> "a whole number of 0 or more".
fn expected_words(e: &str) -> String {
    let e = e.trim();
    let unsigned = ["u8", "u16", "u32", "u64", "u128", "usize"];
    let signed = ["i8", "i16", "i32", "i64", "i128", "isize"];
    if unsigned.contains(&e) {
        "a whole number of 0 or more".into()
    } else if signed.contains(&e) {
        "a whole number".into()
    } else if e == "f32" || e == "f64" {
        "a number".into()
    } else if e.starts_with("struct ") || e == "a map" {
        "an object".into()
    } else if e.starts_with("enum ") || e.starts_with("variant ") {
        "one of the allowed values".into()
    } else if e == "a sequence" || e.starts_with("tuple") || e.starts_with("a tuple") {
        "an array".into()
    } else if e == "a borrowed string" || e == "a char" {
        "a string".into()
    } else if e == "a boolean" {
        "true or false".into()
    } else {
        e.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(route: &str, body: Value) -> Vec<(String, String)> {
        invalid_params(&Method::POST, route, &body)
            .into_iter()
            .map(|p| (p.name, p.code))
            .collect()
    }

    #[test]
    fn every_type_error_is_named_with_its_path() {
        let got = params(
            "/api/v1/messages",
            json!({"channelAccountId": 5, "platformMessageId": true, "author": {"handle": 7}, "text": []}),
        );
        for want in [
            "channelAccountId",
            "platformMessageId",
            "author.handle",
            "text",
        ] {
            assert!(
                got.iter().any(|(n, c)| n == want && c == "type"),
                "{want} missing in {got:?}"
            );
        }
    }

    #[test]
    fn missing_unknown_and_format_errors_are_named() {
        let got = params(
            "/api/v1/channel-accounts",
            json!({"kind": "facebook", "externalId": "1", "surprise": 1, "calendarId": "not-a-uuid"}),
        );
        assert!(got.contains(&("name".into(), "required".into())), "{got:?}");
        assert!(
            got.contains(&("surprise".into(), "unknown".into())),
            "{got:?}"
        );
        assert!(
            got.contains(&("calendarId".into(), "format".into())),
            "{got:?}"
        );
    }

    #[test]
    fn serde_messages_lose_positions_and_rust_names() {
        let (code, reason) =
            serde_reason("invalid type: integer `5`, expected a string at line 1 column 10");
        assert_eq!((code, reason.as_str()), ("type", "must be a string"));
        let (code, reason) = serde_reason("invalid type: string \"x\", expected u32");
        assert_eq!(
            (code, reason.as_str()),
            ("type", "must be a whole number of 0 or more")
        );
        let (code, reason) =
            serde_reason("unknown variant `myspace`, expected one of `facebook`, `x`");
        assert_eq!(
            (code, reason.as_str()),
            ("enum", "must be one of: facebook, x")
        );
        assert_eq!(serde_reason("missing field `text`").0, "required");
    }

    #[test]
    fn paths_read_like_json() {
        use std::borrow::Cow;
        let segs = vec![
            LocationSegment::Property(Cow::Borrowed("attachments")),
            LocationSegment::Index(0),
            LocationSegment::Property(Cow::Borrowed("url")),
        ];
        assert_eq!(json_path(segs.into_iter()), "attachments[0].url");
    }
}
