//! The cost model (issue 16, DESIGN 10): the admin's model, versioned with an effective time,
//! like the retention terms. Computing with it is `webcare_domain::costs`.

use crate::error::{DeskError, DeskResult, InvalidParam};
use crate::principal::Principal;
use crate::Desk;
use chrono::{DateTime, Duration, Utc};
use webcare_domain::costs::{in_force, CostModel, CostModelVersion};
use webcare_store::versions::NewVersion;

/// The stored versions and the model in force now (the research's defaults when none was ever
/// stored).
#[derive(Debug, Clone)]
pub struct ModelNow {
    pub in_force: CostModel,
    pub versions: Vec<CostModelVersion>,
}

/// The model, every version and the one in force at `now`.
pub async fn model(desk: &Desk, now: DateTime<Utc>) -> DeskResult<ModelNow> {
    let versions = desk.store.cost_models().await?;
    Ok(ModelNow {
        in_force: in_force(&versions, now),
        versions,
    })
}

/// Stores `model` as the next version after `seen` (the newest version the caller saw; `None`
/// when it saw none), in force from `effective_from` (now when absent; never in the past, so the
/// costs already reported for a past period stay what they were).
pub async fn set_model(
    desk: &Desk,
    p: &Principal,
    seen: Option<i64>,
    model: CostModel,
    effective_from: Option<DateTime<Utc>>,
) -> DeskResult<CostModelVersion> {
    let now = Utc::now();
    let mut bad: Vec<InvalidParam> = model
        .check()
        .into_iter()
        .map(|e| InvalidParam::new(format!("model.{}", e.field), "invalid", e.reason))
        .collect();
    if effective_from.is_some_and(|t| t < now - Duration::minutes(1)) {
        bad.push(InvalidParam::new(
            "effectiveFrom",
            "invalid",
            "now or later: a change does not rewrite the costs of a past period",
        ));
    }
    if !bad.is_empty() {
        return Err(DeskError::Invalid(bad));
    }
    let newest = desk.store.cost_models().await?.last().map(|v| v.version);
    if newest != seen {
        return Err(DeskError::Conflict(format!(
            "the cost model changed meanwhile (the newest version is {})",
            newest.unwrap_or(0)
        )));
    }
    Ok(desk
        .store
        .save_cost_model(NewVersion {
            after: seen,
            value: &model,
            effective_from: effective_from.unwrap_or(now),
            actor: &p.actor(),
        })
        .await?)
}
