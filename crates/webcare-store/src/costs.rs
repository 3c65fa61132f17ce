//! The cost model's versions (issue 16, DESIGN 10), stored like the retention terms: each change
//! is the whole model as the next version; the primary key makes two concurrent changes conflict.
//! What a period costs is computed in `webcare_domain::costs`.

use crate::db::{json, query, SqlCore};
use crate::time::{from_ms, to_ms};
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use webcare_domain::costs::{CostModel, CostModelVersion};

#[async_trait]
pub trait CostModels: Send + Sync {
    /// Every stored version of the model, oldest first.
    async fn cost_models(&self) -> Result<Vec<CostModelVersion>>;
    /// Stores `model` as the version after `after` (`None`: the first), in force from
    /// `effective_from`. [`crate::StoreError::Conflict`] when another change took that version.
    async fn save_cost_model(
        &self,
        after: Option<i64>,
        model: &CostModel,
        effective_from: DateTime<Utc>,
        actor: &str,
    ) -> Result<CostModelVersion>;
}

#[async_trait]
impl<S: SqlCore> CostModels for S {
    async fn cost_models(&self) -> Result<Vec<CostModelVersion>> {
        let rows: Vec<(i64, i64, Json<CostModel>)> = query(
            "SELECT version, effective_from, model FROM cost_model_versions ORDER BY version",
        )
        .fetch_all(self.db().read())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(version, from, model)| CostModelVersion {
                version,
                effective_from: from_ms(from),
                model: model.0,
            })
            .collect())
    }

    async fn save_cost_model(
        &self,
        after: Option<i64>,
        model: &CostModel,
        effective_from: DateTime<Utc>,
        actor: &str,
    ) -> Result<CostModelVersion> {
        let version = after.unwrap_or(0) + 1;
        let from = to_ms(effective_from);
        query(
            "INSERT INTO cost_model_versions (version, effective_from, model, created_by, \
             created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(version)
        .bind(from)
        .bind(json(model))
        .bind(actor)
        .bind(to_ms(Utc::now()))
        .execute(self.db().write())
        .await
        .map_err(|e| e.conflict_if_unique("the cost model changed meanwhile"))?;
        Ok(CostModelVersion {
            version,
            effective_from: from_ms(from),
            model: model.clone(),
        })
    }
}
