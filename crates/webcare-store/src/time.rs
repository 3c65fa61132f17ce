//! Times are stored as epoch milliseconds in both backends (range queries are integer compares).

use chrono::{DateTime, TimeZone, Utc};

pub fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub fn opt_from_ms(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.map(from_ms)
}

/// A stored time as a row decodes it: `#[sqlx(try_from = "Millis")]` on a `DateTime<Utc>` field
/// reads the column's milliseconds, so a record needs no row struct of its own.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub struct Millis(i64);

impl From<Millis> for DateTime<Utc> {
    fn from(m: Millis) -> Self {
        from_ms(m.0)
    }
}

/// [`Millis`] for a nullable column: `#[sqlx(try_from = "OptMillis")]` on an
/// `Option<DateTime<Utc>>` field.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub struct OptMillis(Option<i64>);

impl From<OptMillis> for Option<DateTime<Utc>> {
    fn from(m: OptMillis) -> Self {
        opt_from_ms(m.0)
    }
}
