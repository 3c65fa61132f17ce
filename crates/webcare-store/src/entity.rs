//! The desk's small configuration records (users, teams, departments, canned answers): each is a
//! row `id, <fields>, created_at, updated_at`, written whole, so one create, save, get and list
//! serve them all. A record says its table, its fields in bind order and their values.

use crate::db::{query, Arg, Db, FromBoth, Query};
use crate::sql::into_page;
use crate::time::to_ms;
use crate::{Page, Result, StoreError};
use chrono::Utc;
use uuid::Uuid;

pub(crate) trait Entity: Sized + Send + Sync {
    const TABLE: &'static str;
    /// The columns between `id` and `created_at`, in the order of [`Entity::values`].
    const FIELDS: &'static [&'static str];
    /// Its name in a 404 ("user not found").
    const NAME: &'static str;
    /// What a clash on one of its unique indexes means, for the 409.
    const CLASH: &'static str;
    type Row: FromBoth;

    fn id(&self) -> Uuid;
    fn values(&self) -> Vec<Arg>;
    fn from_row(row: Self::Row) -> Result<Self>;
}

/// One [`Entity`] impl: `entity!(Record, Row, table, name, clash, |r| { column => value, ... })`.
/// The records differ only in these, so the rest is written once here. A row converts with
/// `TryFrom` (a plain `From` has `Infallible` for its error).
macro_rules! entity {
    ($rec:ty, $row:ty, $table:literal, $name:literal, $clash:literal,
     |$r:ident| { $($col:literal => $val:expr),+ $(,)? }) => {
        impl $crate::entity::Entity for $rec {
            const TABLE: &'static str = $table;
            const FIELDS: &'static [&'static str] = &[$($col),+];
            const NAME: &'static str = $name;
            const CLASH: &'static str = $clash;
            type Row = $row;
            fn id(&self) -> ::uuid::Uuid {
                self.id
            }
            fn values(&self) -> Vec<$crate::db::Arg> {
                let $r = self;
                vec![$($val.into()),+]
            }
            fn from_row(row: $row) -> $crate::Result<Self> {
                <$rec>::try_from(row).map_err($crate::StoreError::from)
            }
        }
    };
}
pub(crate) use entity;

/// Its columns, as `SELECT` and `RETURNING` list them.
pub(crate) fn cols<E: Entity>() -> String {
    format!("id, {}, created_at, updated_at", E::FIELDS.join(", "))
}

/// `$1` the id, then the fields, then the time of the change.
fn bound<E: Entity>(sql: String, id: Uuid, e: &E) -> Query {
    let mut q = query(sql).bind(id);
    for v in e.values() {
        q = q.bind(v);
    }
    q.bind(to_ms(Utc::now()))
}

/// Stores `e` under a new id; created and updated now.
pub(crate) async fn create<E: Entity>(db: &Db, e: &E) -> Result<E> {
    let now = E::FIELDS.len() + 2;
    let values: Vec<String> = (1..now).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO {} ({cols}) VALUES ({}, ${now}, ${now}) RETURNING {cols}",
        E::TABLE,
        values.join(", "),
        cols = cols::<E>()
    );
    let row: E::Row = bound(sql, Uuid::now_v7(), e)
        .fetch_one(db.write())
        .await
        .map_err(|err| err.conflict_if_unique(E::CLASH))?;
    E::from_row(row)
}

/// Overwrites the stored record with `e`'s id; [`StoreError::NotFound`] when there is none.
pub(crate) async fn save<E: Entity>(db: &Db, e: &E) -> Result<E> {
    let sets: Vec<String> = E::FIELDS
        .iter()
        .enumerate()
        .map(|(i, f)| format!("{f} = ${}", i + 2))
        .collect();
    let sql = format!(
        "UPDATE {} SET {}, updated_at = ${} WHERE id = $1 RETURNING {}",
        E::TABLE,
        sets.join(", "),
        E::FIELDS.len() + 2,
        cols::<E>()
    );
    let row: Option<E::Row> = bound(sql, e.id(), e)
        .fetch_optional(db.write())
        .await
        .map_err(|err| err.conflict_if_unique(E::CLASH))?;
    E::from_row(row.ok_or_else(|| StoreError::NotFound(E::NAME.into()))?)
}

pub(crate) async fn get<E: Entity>(db: &Db, id: Uuid) -> Result<Option<E>> {
    let row: Option<E::Row> = query(format!(
        "SELECT {} FROM {} WHERE id = $1",
        cols::<E>(),
        E::TABLE
    ))
    .bind(id)
    .fetch_optional(db.read())
    .await?;
    row.map(E::from_row).transpose()
}

/// A page of records in id order, after `after`.
pub(crate) async fn list<E: Entity>(db: &Db, after: Option<Uuid>, limit: u32) -> Result<Page<E>> {
    let mut q = query(format!(
        "SELECT {} FROM {} WHERE 1 = 1",
        cols::<E>(),
        E::TABLE
    ));
    q.page_by_id(after, limit);
    let rows: Vec<E::Row> = q.fetch_all(db.read()).await?;
    let items = rows
        .into_iter()
        .map(E::from_row)
        .collect::<Result<Vec<E>>>()?;
    Ok(into_page(items, limit, E::id))
}
