//! Versioned settings (the retention terms, the cost model): a table `(version, effective_from,
//! <value>, created_by, created_at)` where each change is the next version, in force from its
//! effective time. Two admins saving after the same version: the second is a conflict, so no
//! change is lost unseen.

use crate::db::{json, query, Db};
use crate::time::{from_ms, to_ms};
use crate::Result;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::types::Json;

/// A change to a versioned setting.
#[derive(Debug)]
pub struct NewVersion<'a, T: ?Sized> {
    /// The version the change was made on (`None`: there is none yet).
    pub after: Option<i64>,
    pub value: &'a T,
    pub effective_from: DateTime<Utc>,
    pub actor: &'a str,
}

// Copy for any value: only a reference is held (a derive would ask `T: Copy`).
impl<T: ?Sized> Clone for NewVersion<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: ?Sized> Copy for NewVersion<'_, T> {}

/// Where a setting's versions are kept.
pub(crate) struct Table {
    pub name: &'static str,
    /// The column with the value (JSON).
    pub column: &'static str,
    /// What a conflict says.
    pub stale: &'static str,
}

/// Every version, oldest first: (version, effective from, value).
pub(crate) async fn load<T>(db: &Db, t: &Table) -> Result<Vec<(i64, DateTime<Utc>, T)>>
where
    T: DeserializeOwned + Send + Unpin + 'static,
{
    let rows: Vec<(i64, i64, Json<T>)> = query(format!(
        "SELECT version, effective_from, {} FROM {} ORDER BY version",
        t.column, t.name
    ))
    .fetch_all(db.read())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(v, from, value)| (v, from_ms(from), value.0))
        .collect())
}

/// Stores the change as the next version; answers its number and effective time.
pub(crate) async fn save<T: Serialize + ?Sized>(
    db: &Db,
    t: &Table,
    v: NewVersion<'_, T>,
) -> Result<(i64, DateTime<Utc>)> {
    let version = v.after.unwrap_or(0) + 1;
    let from = to_ms(v.effective_from);
    query(format!(
        "INSERT INTO {} (version, effective_from, {}, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
        t.name, t.column
    ))
    .bind(version)
    .bind(from)
    .bind(json(v.value))
    .bind(v.actor)
    .bind(to_ms(Utc::now()))
    .execute(db.write())
    .await
    .map_err(|e| e.conflict_if_unique(t.stale))?;
    Ok((version, from_ms(from)))
}
