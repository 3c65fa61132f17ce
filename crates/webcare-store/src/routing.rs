//! Routing rule sets (issue 14), versioned: every change stores the whole ordered list as the
//! next version, so what decided a case can always be read back, and two admins changing the
//! rules at once cannot overwrite each other (the second is told to reload: the version is the
//! primary key). Plain SQL over either backend.

use crate::time::{from_ms, to_ms};
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{Database, Decode, Encode, Executor, Pool, Type};
use uuid::Uuid;
use webcare_domain::routing::RuleSpec;

/// One rule of a set, with the id it keeps across versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRule {
    pub id: Uuid,
    pub spec: RuleSpec,
}

/// A version of the rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSetRecord {
    pub version: i64,
    pub effective_from: DateTime<Utc>,
    pub rules: Vec<StoredRule>,
    pub created_by: String,
}

#[async_trait]
pub trait RoutingRules: Send + Sync {
    /// The newest version, if the rules were ever set.
    async fn routing_rules(&self) -> Result<Option<RuleSetRecord>>;
    /// Stores `rules` as the version after `after` (`None`: the first), effective now.
    /// [`StoreError::Conflict`] when another change took that version first.
    async fn save_routing_rules(
        &self,
        after: Option<i64>,
        rules: &[StoredRule],
        actor: &str,
    ) -> Result<RuleSetRecord>;
}

type Row = (i64, i64, Json<Vec<StoredRule>>, String);

pub(crate) async fn current<DB>(pool: &Pool<DB>) -> Result<Option<RuleSetRecord>>
where
    DB: Database,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'r> Row: sqlx::FromRow<'r, DB::Row>,
{
    let row: Option<Row> = sqlx::query_as(
        "SELECT version, effective_from, rules, created_by FROM routing_rule_sets \
         ORDER BY version DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(version, from, rules, created_by)| RuleSetRecord {
        version,
        effective_from: from_ms(from),
        rules: rules.0,
        created_by,
    }))
}

pub(crate) async fn save<DB>(
    pool: &Pool<DB>,
    after: Option<i64>,
    rules: &[StoredRule],
    actor: &str,
) -> Result<RuleSetRecord>
where
    DB: Database,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB> + Decode<'a, DB>,
    for<'a> String: Encode<'a, DB> + Type<DB>,
    for<'a> Json<Vec<StoredRule>>: Encode<'a, DB> + Type<DB>,
{
    let now = Utc::now();
    let version = after.unwrap_or(0) + 1;
    sqlx::query(
        "INSERT INTO routing_rule_sets (version, effective_from, rules, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $2)",
    )
    .bind(version)
    .bind(to_ms(now))
    .bind(Json(rules.to_vec()))
    .bind(actor.to_owned())
    .execute(pool)
    .await
    .map_err(|e| {
        match crate::sql::conflict_on_unique(e, "the routing rules changed meanwhile") {
            StoreError::Conflict(m) => StoreError::Conflict(m),
            other => other,
        }
    })?;
    Ok(RuleSetRecord {
        version,
        effective_from: crate::time::from_ms(to_ms(now)),
        rules: rules.to_vec(),
        created_by: actor.to_owned(),
    })
}

/// Implements [`RoutingRules`] for a store with `pool` (reads) and `wpool` (writes).
macro_rules! impl_routing_rules {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::routing::RoutingRules for $store {
            async fn routing_rules(
                &self,
            ) -> $crate::Result<Option<$crate::routing::RuleSetRecord>> {
                $crate::routing::current(&self.pool).await
            }
            async fn save_routing_rules(
                &self,
                after: Option<i64>,
                rules: &[$crate::routing::StoredRule],
                actor: &str,
            ) -> $crate::Result<$crate::routing::RuleSetRecord> {
                $crate::routing::save(&self.wpool, after, rules, actor).await
            }
        }
    };
}
pub(crate) use impl_routing_rules;
