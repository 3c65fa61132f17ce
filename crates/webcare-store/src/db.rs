//! The one dialect seam: a database handle over either backend, SQL text with `$n` placeholders
//! (SQLite accepts them too) and its arguments as values, run on a pool or in a transaction.
//! Store code writes each statement once, as an ordinary string, and branches on the backend
//! only through [`Dialect`]. Dispatch is a `match` per statement: nothing next to the round trip.
//!
//! Why not generic over `sqlx::Database`: every function then carries a wall of `Encode`/`Type`/
//! `Executor` bounds, and `QueryBuilder<DB>` cannot be used generically at all (its arguments'
//! type is invariant in the lifetime). Values in an enum ([`Arg`]) avoid both.

use crate::agent_events::EventRecord;
use crate::Result;
use serde_json::value::RawValue;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::types::Json;
use sqlx::{Arguments, FromRow, PgConnection, PgPool, SqliteConnection, SqlitePool, Transaction};
use std::borrow::Cow;
use uuid::Uuid;

/// The SQL differences between the backends, and the one way to branch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Case-insensitive `LIKE` (SQLite's `LIKE` is, for ASCII).
    pub fn ilike(self) -> &'static str {
        match self {
            Dialect::Sqlite => "LIKE",
            Dialect::Postgres => "ILIKE",
        }
    }

    /// Row lock that lets another node's claim skip the rows this one took.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Row lock until the transaction ends (SQLite's write transaction already excludes others).
    pub fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// The join after a `(VALUES ...) AS p` list of keys. SQLite: `CROSS JOIN` keeps the pairs as
    /// the outer loop; without statistics it may instead scan a whole partial index
    /// (messages_reply_to) and probe the pairs, which grows with the table (seen as 2,300 -> 343
    /// msgs/s over 200,000 messages). PostgreSQL plans this join well by cost and has no
    /// `CROSS JOIN ... ON`.
    pub fn pairs_join(self) -> &'static str {
        match self {
            Dialect::Sqlite => " CROSS JOIN ",
            Dialect::Postgres => " JOIN ",
        }
    }

    /// SQLite's ` INDEXED BY index` after a table name, where its planner (without statistics)
    /// picks a worse index; PostgreSQL plans by cost.
    pub fn indexed_by(self, index: &str) -> String {
        match self {
            Dialect::Sqlite => format!(" INDEXED BY {index}"),
            Dialect::Postgres => String::new(),
        }
    }
}

impl Dialect {
    /// A raw journal delivery that still holds its body (an emptied one is zero bytes).
    pub fn body_not_empty(self) -> &'static str {
        match self {
            Dialect::Sqlite => "length(body) > 0",
            Dialect::Postgres => "octet_length(body) > 0",
        }
    }

    /// Appends `SELECT contact_id ...` of the identities whose names contain every word
    /// (SQLite: the FTS5 table; PostgreSQL: the `tsvector` GIN index of migration 0004).
    pub fn push_name_words(self, q: &mut Query, words: &[String]) {
        match self {
            Dialect::Sqlite => {
                // Each word quoted: nothing the caller types is FTS syntax.
                let m: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
                q.push("SELECT contact_id FROM contacts_fts WHERE contacts_fts MATCH ")
                    .push_bind(m.join(" "));
            }
            Dialect::Postgres => {
                q.push(
                    "SELECT contact_id FROM contact_identities WHERE to_tsvector('dutch', \
                     coalesce(display_name, '') || ' ' || coalesce(handle, '')) \
                     @@ plainto_tsquery('dutch', ",
                )
                .push_bind(words.join(" "))
                .push(")");
            }
        }
    }
}

impl Dialect {
    /// `AND <the case's labels contain label>`.
    pub fn push_label(self, q: &mut Query, label: &str) {
        match self {
            Dialect::Sqlite => {
                q.push(
                    " AND EXISTS (SELECT 1 FROM json_each(cases.labels) WHERE json_each.value = ",
                )
                .push_bind(label)
                .push(")");
            }
            Dialect::Postgres => {
                q.push(" AND cases.labels ? ").push_bind(label);
            }
        }
    }

    /// `AND <the case matches every search word in its messages or its contact's names>`.
    pub fn push_case_search(self, q: &mut Query, words: &[String]) {
        match self {
            Dialect::Sqlite => {
                // Every word must occur (FTS5 implicit AND); each is quoted, so nothing is syntax.
                let m: String = words
                    .iter()
                    .map(|w| format!("\"{w}\""))
                    .collect::<Vec<_>>()
                    .join(" ");
                q.push(
                    " AND (cases.id IN (SELECT m.case_id FROM messages m WHERE m.rowid IN \
                     (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ",
                )
                .push_bind(&m)
                .push(
                    ")) OR cases.contact_id IN (SELECT ci.contact_id FROM contact_identities ci \
                     WHERE ci.rowid IN (SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ",
                )
                .push_bind(m)
                .push(")))");
            }
            Dialect::Postgres => {
                let words = words.join(" ");
                // The expressions match the GIN expression indexes of migration 0004. One `IN`
                // over a `UNION`, not two `IN`s joined by `OR`: PostgreSQL can only turn the
                // former into a semi-join that starts from the few matching cases; with the `OR`
                // it walked every case in id order testing both sets (1.4 to 2 s at 1,000,000
                // cases for a rare word).
                q.push(
                    " AND cases.id IN (SELECT m.case_id FROM messages m \
                     WHERE to_tsvector('dutch', m.text) @@ plainto_tsquery('dutch', ",
                )
                .push_bind(&words)
                .push(
                    ") UNION SELECT c2.id FROM contact_identities ci \
                     JOIN cases c2 ON c2.contact_id = ci.contact_id WHERE \
                     to_tsvector('dutch', coalesce(ci.display_name, '') || ' ' || \
                     coalesce(ci.handle, '')) @@ plainto_tsquery('dutch', ",
                )
                .push_bind(words)
                .push("))");
            }
        }
    }
}

/// A value bound to a placeholder: the types the store binds.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Uuid(Option<Uuid>),
    I64(Option<i64>),
    I32(Option<i32>),
    F64(Option<f64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    /// Serialised JSON text: written to the statement as it is (a `Value` tree would be built
    /// and then walked again for every message the ingest writes).
    Json(Option<Box<RawValue>>),
    /// Ids as one PostgreSQL array (`= ANY($n)`, [`Query::push_in_ids`]); SQLite has no arrays.
    Uuids(Vec<Uuid>),
}

/// A JSON value to bind (`Json(&x).into()` would need the backend's encoder; this serialises once).
pub(crate) fn json<T: serde::Serialize + ?Sized>(v: &T) -> Arg {
    // Serialising our own records cannot fail (no non-string map keys); null is the safe fallback.
    Arg::Json(Some(serde_json::value::to_raw_value(v).unwrap_or_else(
        |_| RawValue::from_string("null".into()).expect("null is JSON"),
    )))
}

/// An optional JSON value to bind (NULL when absent).
pub(crate) fn json_opt<T: serde::Serialize>(v: Option<&T>) -> Arg {
    match v {
        Some(v) => json(v),
        None => Arg::Json(None),
    }
}

macro_rules! arg_from {
    ($variant:ident: $($t:ty => $conv:expr),* $(,)?) => {$(
        impl From<$t> for Arg {
            fn from(v: $t) -> Arg {
                #[allow(clippy::redundant_closure_call)]
                Arg::$variant(($conv)(v))
            }
        }
    )*};
}
arg_from!(Uuid: Uuid => Some, Option<Uuid> => |v| v, &Uuid => |v: &Uuid| Some(*v));
arg_from!(I64: i64 => Some, Option<i64> => |v| v, u32 => |v| Some(i64::from(v)));
arg_from!(I32: i32 => Some, Option<i32> => |v| v);
arg_from!(F64: f64 => Some, Option<f64> => |v| v);
arg_from!(Bool: bool => Some, Option<bool> => |v| v);
arg_from!(Text:
    String => Some,
    Option<String> => |v| v,
    &str => |v: &str| Some(v.to_owned()),
    &String => |v: &String| Some(v.clone()),
    Option<&str> => |v: Option<&str>| v.map(str::to_owned),
    &Option<String> => |v: &Option<String>| v.clone(),
);
arg_from!(Bytes: Vec<u8> => Some, Option<Vec<u8>> => |v| v);

impl From<serde_json::Value> for Arg {
    fn from(v: serde_json::Value) -> Arg {
        json(&v)
    }
}

/// Rows decodable from both backends (any `#[derive(FromRow)]` struct or tuple of our types).
pub(crate) trait FromBoth:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> FromBoth for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

/// A statement: SQL with `$n` placeholders and the values for them, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    sql: String,
    args: Vec<Arg>,
    /// Where `push_bind` wrote its placeholders: (byte offset, length), in order.
    pushed: Vec<(usize, usize)>,
}

impl Query {
    pub fn new(sql: impl Into<String>) -> Query {
        Query {
            sql: sql.into(),
            args: Vec::new(),
            pushed: Vec::new(),
        }
    }

    /// Binds the next `$n`.
    pub fn bind(mut self, v: impl Into<Arg>) -> Query {
        self.args.push(v.into());
        self
    }

    /// Appends SQL text (dynamic SQL; the `QueryBuilder` of this seam).
    pub fn push(&mut self, sql: &str) -> &mut Query {
        self.sql.push_str(sql);
        self
    }

    /// Ends a list query with its keyset page: ids after `after`, ordered by id, one row more
    /// than `limit` (so [`crate::sql::into_page`] can tell whether another page follows).
    pub fn page_by_id(&mut self, after: Option<uuid::Uuid>, limit: u32) -> &mut Query {
        if let Some(a) = after {
            self.push(" AND id > ").push_bind(a);
        }
        self.push(" ORDER BY id LIMIT ")
            .push_bind(i64::from(limit) + 1)
    }

    /// Ends the query with its keyset page after `after` ([`Query::page_by_id`]) and reads it:
    /// rows `R` as records `T`, with whether another page follows.
    pub async fn fetch_page<'e, R, T>(
        mut self,
        after: Option<uuid::Uuid>,
        limit: u32,
        ex: impl Into<Exec<'e>>,
        key: impl Fn(&T) -> uuid::Uuid,
    ) -> Result<crate::records::Page<T>>
    where
        R: FromBoth + Into<T>,
    {
        self.page_by_id(after, limit);
        let rows: Vec<R> = self.fetch_all(ex).await?;
        let items = rows.into_iter().map(Into::into).collect();
        Ok(crate::sql::into_page(items, limit, key))
    }

    /// Appends a placeholder for `v`.
    pub fn push_bind(&mut self, v: impl Into<Arg>) -> &mut Query {
        self.args.push(v.into());
        let n = self.args.len().to_string();
        self.pushed.push((self.sql.len(), n.len() + 1));
        self.sql.push('$');
        self.sql.push_str(&n);
        self
    }

    /// Appends ` IN (v1, v2, ...)` (SQLite) or ` = ANY($n)` with the ids bound as one array
    /// (PostgreSQL): one argument for a batch of 1,000 ids instead of 1,000, which PostgreSQL
    /// would otherwise parse, bind and plan through (`x IN (...)` is `x = ANY(ARRAY[...])`).
    pub fn push_in_ids(&mut self, d: Dialect, ids: &[Uuid]) -> &mut Query {
        match d {
            Dialect::Sqlite => self.push(" IN ").push_list(ids.iter().copied()),
            Dialect::Postgres => self
                .push(" = ANY(")
                .push_bind(Arg::Uuids(ids.to_vec()))
                .push(")"),
        }
    }

    /// Appends `(v1, v2, ...)` as placeholders: the list of an `IN`.
    pub fn push_list<A: Into<Arg>>(&mut self, vs: impl IntoIterator<Item = A>) -> &mut Query {
        self.sql.push('(');
        self.push_separated(vs);
        self.sql.push(')');
        self
    }

    /// Appends `v1, v2, ...` as placeholders, separated by commas.
    pub fn push_separated<A: Into<Arg>>(&mut self, vs: impl IntoIterator<Item = A>) -> &mut Query {
        for (i, v) in vs.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.push_bind(v);
        }
        self
    }

    /// Appends `CASE id WHEN $id THEN $value ... END`: per-row values for a set-wise `UPDATE`
    /// whose rows are found through the primary key (`WHERE id IN`). (An `UPDATE ... FROM
    /// (VALUES ...)` let PostgreSQL hash-join a scan of the whole table.)
    pub fn push_case_by_id<A: Into<Arg>>(
        &mut self,
        rows: impl IntoIterator<Item = (Uuid, A)>,
    ) -> &mut Query {
        self.sql.push_str("CASE id");
        for (id, v) in rows {
            self.push(" WHEN ")
                .push_bind(id)
                .push(" THEN ")
                .push_bind(v);
        }
        self.sql.push_str(" END");
        self
    }

    /// Appends `VALUES (..), (..)`: one parenthesised row of placeholders per item.
    pub fn push_values<R, I>(&mut self, rows: R) -> &mut Query
    where
        R: IntoIterator<Item = I>,
        I: IntoIterator<Item = Arg>,
    {
        self.sql.push_str("VALUES ");
        for (i, row) in rows.into_iter().enumerate() {
            self.sql.push_str(if i > 0 { ", " } else { "" });
            self.push_list(row);
        }
        self
    }

    pub async fn fetch_all<'e, T: FromBoth>(self, ex: impl Into<Exec<'e>>) -> Result<Vec<T>> {
        let sql = self.sql.as_str();
        let lite = sqlite_sql(sql, &self.pushed, self.args.len());
        Ok(match ex.into() {
            Exec::SqlitePool(p) => {
                sqlx::query_as_with(&lite, sqlite_args(self.args)?)
                    .fetch_all(p)
                    .await?
            }
            Exec::Sqlite(c) => {
                sqlx::query_as_with(&lite, sqlite_args(self.args)?)
                    .fetch_all(c)
                    .await?
            }
            Exec::PgPool(p) => {
                sqlx::query_as_with(sql, pg_args(self.args)?)
                    .fetch_all(p)
                    .await?
            }
            Exec::Pg(c) => {
                sqlx::query_as_with(sql, pg_args(self.args)?)
                    .fetch_all(c)
                    .await?
            }
        })
    }

    pub async fn fetch_optional<'e, T: FromBoth>(
        self,
        ex: impl Into<Exec<'e>>,
    ) -> Result<Option<T>> {
        let sql = self.sql.as_str();
        let lite = sqlite_sql(sql, &self.pushed, self.args.len());
        Ok(match ex.into() {
            Exec::SqlitePool(p) => {
                sqlx::query_as_with(&lite, sqlite_args(self.args)?)
                    .fetch_optional(p)
                    .await?
            }
            Exec::Sqlite(c) => {
                sqlx::query_as_with(&lite, sqlite_args(self.args)?)
                    .fetch_optional(c)
                    .await?
            }
            Exec::PgPool(p) => {
                sqlx::query_as_with(sql, pg_args(self.args)?)
                    .fetch_optional(p)
                    .await?
            }
            Exec::Pg(c) => {
                sqlx::query_as_with(sql, pg_args(self.args)?)
                    .fetch_optional(c)
                    .await?
            }
        })
    }

    pub async fn fetch_one<'e, T: FromBoth>(self, ex: impl Into<Exec<'e>>) -> Result<T> {
        self.fetch_optional(ex)
            .await?
            .ok_or(crate::StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// The first column of every row.
    pub async fn scalars<'e, T>(self, ex: impl Into<Exec<'e>>) -> Result<Vec<T>>
    where
        (T,): FromBoth,
    {
        let rows: Vec<(T,)> = self.fetch_all(ex).await?;
        Ok(rows.into_iter().map(|(v,)| v).collect())
    }

    /// The first column of the first row, if there is a row.
    pub async fn scalar_optional<'e, T>(self, ex: impl Into<Exec<'e>>) -> Result<Option<T>>
    where
        (T,): FromBoth,
    {
        let row: Option<(T,)> = self.fetch_optional(ex).await?;
        Ok(row.map(|(v,)| v))
    }

    /// The first column of the one row.
    pub async fn scalar<'e, T>(self, ex: impl Into<Exec<'e>>) -> Result<T>
    where
        (T,): FromBoth,
    {
        let (v,): (T,) = self.fetch_one(ex).await?;
        Ok(v)
    }

    /// Runs the statement; answers the number of rows it changed.
    pub async fn execute<'e>(self, ex: impl Into<Exec<'e>>) -> Result<u64> {
        let sql = self.sql.as_str();
        let lite = sqlite_sql(sql, &self.pushed, self.args.len());
        Ok(match ex.into() {
            Exec::SqlitePool(p) => sqlx::query_with(&lite, sqlite_args(self.args)?)
                .execute(p)
                .await?
                .rows_affected(),
            Exec::Sqlite(c) => sqlx::query_with(&lite, sqlite_args(self.args)?)
                .execute(c)
                .await?
                .rows_affected(),
            Exec::PgPool(p) => sqlx::query_with(sql, pg_args(self.args)?)
                .execute(p)
                .await?
                .rows_affected(),
            Exec::Pg(c) => sqlx::query_with(sql, pg_args(self.args)?)
                .execute(c)
                .await?
                .rows_affected(),
        })
    }
}

/// The statement as SQLite gets it: when every value was pushed (dynamic SQL), with plain `?`
/// placeholders, which number themselves in order. SQLite finds each named or numbered one
/// (`$n`, `?n`) by a linear search of those seen before, when preparing and again when binding:
/// quadratic in their count. A multi-row insert of 256 messages (4,352 values) took 60 ms with
/// `$n`, 0.2 ms with `?`.
fn sqlite_sql<'a>(sql: &'a str, pushed: &[(usize, usize)], args: usize) -> Cow<'a, str> {
    if pushed.is_empty() || pushed.len() != args {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut last = 0;
    for &(at, len) in pushed {
        out.push_str(&sql[last..at]);
        out.push('?');
        last = at + len;
    }
    out.push_str(&sql[last..]);
    Cow::Owned(out)
}

/// Shorthand for [`Query::new`].
pub(crate) fn query(sql: impl Into<String>) -> Query {
    Query::new(sql)
}

fn encode_err(e: sqlx::error::BoxDynError) -> crate::StoreError {
    crate::StoreError::Database(sqlx::Error::Encode(e))
}

macro_rules! add_args {
    ($a:ident, $args:expr, $uuids:expr) => {
        for arg in $args {
            match arg {
                Arg::Uuid(v) => $a.add(v),
                Arg::I64(v) => $a.add(v),
                Arg::I32(v) => $a.add(v),
                Arg::F64(v) => $a.add(v),
                Arg::Bool(v) => $a.add(v),
                Arg::Text(v) => $a.add(v),
                Arg::Bytes(v) => $a.add(v),
                Arg::Json(v) => $a.add(v.map(Json)),
                #[allow(clippy::redundant_closure_call)]
                Arg::Uuids(v) => ($uuids)(&mut $a, v),
            }
            .map_err(encode_err)?;
        }
    };
}

fn sqlite_args(args: Vec<Arg>) -> Result<SqliteArguments<'static>> {
    let mut a = SqliteArguments::default();
    add_args!(a, args, |_: &mut SqliteArguments, _: Vec<Uuid>| {
        Err::<(), sqlx::error::BoxDynError>("SQLite binds no arrays: push_in_ids lists them".into())
    });
    Ok(a)
}

fn pg_args(args: Vec<Arg>) -> Result<PgArguments> {
    let mut a = PgArguments::default();
    a.reserve(args.len(), 0);
    add_args!(a, args, |a: &mut PgArguments, v: Vec<Uuid>| a.add(v));
    Ok(a)
}

/// Where a statement runs: a pool (autocommit) or a connection inside a transaction.
pub(crate) enum Exec<'a> {
    SqlitePool(&'a SqlitePool),
    PgPool(&'a PgPool),
    Sqlite(&'a mut SqliteConnection),
    Pg(&'a mut PgConnection),
}

/// The database: SQLite's reader pool and its one write connection, or a PostgreSQL pool.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

impl Db {
    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite { .. } => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    /// For reads outside a transaction (SQLite: the reader pool, beside the writer).
    pub fn read(&self) -> Exec<'_> {
        match self {
            Db::Sqlite { read, .. } => Exec::SqlitePool(read),
            Db::Postgres(p) => Exec::PgPool(p),
        }
    }

    /// For a single autocommit write (SQLite: the one write connection, in turn).
    pub fn write(&self) -> Exec<'_> {
        match self {
            Db::Sqlite { write, .. } => Exec::SqlitePool(write),
            Db::Postgres(p) => Exec::PgPool(p),
        }
    }

    /// A reader connection, for several statements outside a transaction.
    pub async fn acquire_read(&self) -> Result<PoolConn> {
        Ok(match self {
            Db::Sqlite { read, .. } => PoolConn::Sqlite(read.acquire().await?),
            Db::Postgres(p) => PoolConn::Pg(p.acquire().await?),
        })
    }

    /// A write transaction. SQLite's starts with `BEGIN IMMEDIATE`, so a writer in another
    /// process waits on the busy timeout instead of failing on a lock upgrade.
    pub async fn begin(&self) -> Result<Tx> {
        let start = std::time::Instant::now();
        let tx = match self {
            Db::Sqlite { write, .. } => Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => Tx::Pg(p.begin().await?),
        };
        metrics::histogram!(crate::DB_BEGIN_WAIT).record(start.elapsed().as_secs_f64());
        Ok(tx)
    }
}

/// A write transaction on either backend; rolled back when dropped uncommitted.
pub(crate) enum Tx {
    Sqlite(Transaction<'static, sqlx::Sqlite>),
    Pg(Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    pub fn dialect(&self) -> Dialect {
        match self {
            Tx::Sqlite(_) => Dialect::Sqlite,
            Tx::Pg(_) => Dialect::Postgres,
        }
    }

    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(t) => Conn::Sqlite(t),
            Tx::Pg(t) => Conn::Pg(t),
        }
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Pg(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// A connection taken from a pool; back to the pool when dropped.
pub(crate) enum PoolConn {
    Sqlite(PoolConnection<sqlx::Sqlite>),
    Pg(PoolConnection<sqlx::Postgres>),
}

impl PoolConn {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            PoolConn::Sqlite(c) => Conn::Sqlite(c),
            PoolConn::Pg(c) => Conn::Pg(c),
        }
    }
}

/// A borrowed connection inside a transaction: what helpers that run several statements in
/// their caller's transaction take.
pub(crate) enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Pg(&'a mut PgConnection),
}

impl Conn<'_> {
    pub fn dialect(&self) -> Dialect {
        match self {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Pg(_) => Dialect::Postgres,
        }
    }
}

impl<'a> From<&'a mut SqliteConnection> for Conn<'a> {
    fn from(c: &'a mut SqliteConnection) -> Self {
        Conn::Sqlite(c)
    }
}

impl<'a> From<&'a mut PgConnection> for Conn<'a> {
    fn from(c: &'a mut PgConnection) -> Self {
        Conn::Pg(c)
    }
}

impl<'a> From<&'a mut Tx> for Exec<'a> {
    fn from(t: &'a mut Tx) -> Self {
        match t {
            Tx::Sqlite(t) => Exec::Sqlite(t),
            Tx::Pg(t) => Exec::Pg(t),
        }
    }
}

impl<'a, 'b> From<&'a mut Conn<'b>> for Exec<'a> {
    fn from(c: &'a mut Conn<'b>) -> Self {
        match c {
            Conn::Sqlite(c) => Exec::Sqlite(c),
            Conn::Pg(c) => Exec::Pg(c),
        }
    }
}

/// What the store implementations share, whichever backend: the database and this process's
/// live-event feed, the routing and SLA caches, and the reopen window.
pub(crate) struct Core {
    pub db: Db,
    pub events: tokio::sync::broadcast::Sender<EventRecord>,
    pub routing: crate::routing::RoutingCache,
    pub themes: crate::themes::ThemeCache,
    pub sla: crate::sla::SlaState,
    pub reopen_window: chrono::Duration,
    /// Whether messages and forwards are registered in Open Klant.
    pub openklant: bool,
}

impl Core {
    pub fn new(db: Db, opts: &crate::ConnectOptions) -> Core {
        Core {
            db,
            events: crate::agent_events::event_feed(),
            routing: Default::default(),
            themes: Default::default(),
            sla: Default::default(),
            reopen_window: opts.reopen_window,
            openklant: opts.openklant,
        }
    }
}

/// A store over the seam. Traits converted to it are implemented once, for every `SqlCore`.
pub(crate) trait SqlCore: Send + Sync {
    fn core(&self) -> &Core;
    fn db(&self) -> &Db {
        &self.core().db
    }
    fn events(&self) -> &tokio::sync::broadcast::Sender<EventRecord> {
        &self.core().events
    }
    /// The routing rules in force, compiled; a save empties it.
    fn routing(&self) -> &crate::routing::RoutingCache {
        &self.core().routing
    }
    /// The theme suggestion model, cached per node.
    fn themes(&self) -> &crate::themes::ThemeCache {
        &self.core().themes
    }
    /// The SLA engine's cached configuration and wake-up signal.
    fn sla(&self) -> &crate::sla::SlaState {
        &self.core().sla
    }
    /// How long after resolving a citizen's message reopens the case rather than starting one.
    fn reopen_window(&self) -> chrono::Duration {
        self.core().reopen_window
    }
    /// Whether messages and forwards are registered in Open Klant (jobs enqueued).
    fn openklant(&self) -> bool {
        self.core().openklant
    }
}
