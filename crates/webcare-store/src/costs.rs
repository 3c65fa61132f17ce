//! The cost model's versions (issue 16, DESIGN 10), stored like the retention terms: each change
//! is the whole model as the next version; the primary key makes two concurrent changes conflict.
//! What a period costs is computed in `webcare_domain::costs`.

use crate::db::SqlCore;
use crate::versions::{self, NewVersion, Table};
use crate::Result;
use async_trait::async_trait;
use webcare_domain::costs::{CostModel, CostModelVersion};

const TABLE: Table = Table {
    name: "cost_model_versions",
    column: "model",
    stale: "the cost model changed meanwhile",
};

#[async_trait]
pub trait CostModels: Send + Sync {
    /// Every stored version of the model, oldest first.
    async fn cost_models(&self) -> Result<Vec<CostModelVersion>>;
    /// Stores the change as the version after `after` (`None`: the first), in force from its
    /// effective time. [`crate::StoreError::Conflict`] when another change took that version.
    async fn save_cost_model(&self, v: NewVersion<'_, CostModel>) -> Result<CostModelVersion>;
}

#[async_trait]
impl<S: SqlCore> CostModels for S {
    async fn cost_models(&self) -> Result<Vec<CostModelVersion>> {
        let rows = versions::load(self.db(), &TABLE).await?;
        Ok(rows
            .into_iter()
            .map(|(version, effective_from, model)| CostModelVersion {
                version,
                effective_from,
                model,
            })
            .collect())
    }

    async fn save_cost_model(&self, v: NewVersion<'_, CostModel>) -> Result<CostModelVersion> {
        let (version, effective_from) = versions::save(self.db(), &TABLE, v).await?;
        Ok(CostModelVersion {
            version,
            effective_from,
            model: v.value.clone(),
        })
    }
}
