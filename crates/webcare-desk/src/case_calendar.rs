//! The opening-hours calendar a case is handled in: the one its reaction clock counts in (the
//! SLA policy's calendar, else the channel account's), else the account's, else the built-in
//! default. Used for `{{openingstijden}}` and the out-of-hours auto-reply, so what the citizen is
//! told matches how the desk's clocks run.

use std::sync::Arc;
use uuid::Uuid;
use webcare_domain::sla::{CalendarVersions, ClockKind};
use webcare_store::{Store, StoreError};

pub async fn case_calendar(
    store: &Arc<dyn Store>,
    case_id: Uuid,
    account_calendar: Option<Uuid>,
) -> Result<CalendarVersions, StoreError> {
    let clocks = store.case_clocks(case_id).await?;
    let id = clocks
        .iter()
        .filter(|c| matches!(c.kind, ClockKind::Reaction | ClockKind::NextReaction))
        .max_by_key(|c| (c.run, c.started_at))
        .map_or(account_calendar, |c| c.calendar_id);
    Ok(match id {
        Some(id) => store.calendar_versions(id).await?,
        None => None,
    }
    .unwrap_or_else(|| webcare_store::sla::default_calendar().clone()))
}
