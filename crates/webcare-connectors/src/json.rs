//! Lenient accessors over `serde_json::Value`: a missing or oddly typed field is `None`, never an
//! error, because platforms add, drop and retype fields (ids as numbers or strings, times as numbers
//! or numeric strings).

use chrono::{DateTime, Utc};
use serde_json::Value;

/// The value at a path of object keys.
pub(crate) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, key| cur.get(key))
}

/// A non-empty string at a path.
pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// An id at a path: a non-empty string, or an integer rendered as a string (Meta's `app_id`, X's
/// numeric `id` next to `id_str`).
pub(crate) fn id_at(v: &Value, path: &[&str]) -> Option<String> {
    match at(v, path)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}

/// The array at a path, or an empty slice.
pub(crate) fn arr_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// An integer from a number (integral or float) or a numeric string.
pub(crate) fn int_at(v: &Value, path: &[&str]) -> Option<i64> {
    as_int(at(v, path)?)
}

pub(crate) fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn from_secs(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

pub(crate) fn from_millis(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// Epoch seconds at a path (number or numeric string).
pub(crate) fn secs_at(v: &Value, path: &[&str]) -> Option<DateTime<Utc>> {
    int_at(v, path).and_then(from_secs)
}

/// Epoch milliseconds at a path (number or numeric string).
pub(crate) fn millis_at(v: &Value, path: &[&str]) -> Option<DateTime<Utc>> {
    int_at(v, path).and_then(from_millis)
}

/// Epoch seconds or milliseconds, told apart by size: Meta's `entry[].time` is seconds for feed
/// changes and milliseconds for messaging. 10^11 s is the year 5138; 10^11 ms is 1973.
pub(crate) fn secs_or_millis_at(v: &Value, path: &[&str]) -> Option<DateTime<Utc>> {
    let n = int_at(v, path)?;
    // unsigned_abs: a hostile `-1e300` saturates to i64::MIN, whose `abs()` overflows.
    if n.unsigned_abs() >= 100_000_000_000 {
        from_millis(n)
    } else {
        from_secs(n)
    }
}

/// An RFC 3339 timestamp at a path (X v2 `created_at`).
pub(crate) fn rfc3339_at(v: &Value, path: &[&str]) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(str_at(v, path)?)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_and_times_accept_numbers_and_strings() {
        let v = json!({"a": 123, "b": "456", "c": "", "t": "1773136107", "f": 1773136107.0});
        assert_eq!(id_at(&v, &["a"]).as_deref(), Some("123"));
        assert_eq!(id_at(&v, &["b"]).as_deref(), Some("456"));
        assert_eq!(id_at(&v, &["c"]), None);
        assert_eq!(secs_at(&v, &["t"]), secs_at(&v, &["f"]));
        assert!(secs_at(&v, &["missing"]).is_none());
    }

    #[test]
    fn extreme_times_are_absent_not_a_panic() {
        let v = json!({"min": i64::MIN, "max": i64::MAX, "neg": -1e300, "big": 1e300});
        for key in ["min", "max", "neg", "big"] {
            assert!(secs_or_millis_at(&v, &[key]).is_none(), "{key}");
            assert!(secs_at(&v, &[key]).is_none(), "{key}");
            assert!(millis_at(&v, &[key]).is_none(), "{key}");
        }
    }

    #[test]
    fn seconds_and_millis_are_told_apart() {
        let v = json!({"s": 1773125114, "ms": 1773139267500_i64});
        assert_eq!(
            secs_or_millis_at(&v, &["s"]).unwrap().timestamp(),
            1773125114
        );
        assert_eq!(
            secs_or_millis_at(&v, &["ms"]).unwrap().timestamp_millis(),
            1773139267500
        );
    }

    #[test]
    fn absurd_times_are_none_not_panics() {
        let v = json!({"t": i64::MAX, "u": i64::MIN, "f": 1e300});
        assert!(secs_at(&v, &["t"]).is_none());
        assert!(millis_at(&v, &["u"]).is_none());
        let _ = secs_at(&v, &["f"]);
    }
}
