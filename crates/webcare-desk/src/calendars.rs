//! Opening-hours calendars (admin): a new calendar, and a new version of one from an effective
//! instant (earlier instants keep their version, so past figures never change). For the API's
//! `/calendars` and the web app's Beheer page.

use crate::error::{DeskError, DeskResult, InvalidParam};
use crate::people::audit;
use crate::principal::Principal;
use crate::Desk;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use webcare_domain::sla::{CalendarSpec, FieldError};
use webcare_domain::Role;
use webcare_store::sla::CalendarRecord;

/// Domain validation errors as `invalidParams`.
pub fn field_errors(errors: Vec<FieldError>) -> DeskError {
    DeskError::Invalid(
        errors
            .into_iter()
            .map(|e| InvalidParam::new(e.name, e.code, e.reason))
            .collect(),
    )
}

/// Every problem of a name and a spec.
fn check(name: &str, spec: &CalendarSpec) -> DeskResult<()> {
    let mut errors = spec.validate().err().unwrap_or_default();
    if name.trim().is_empty() {
        errors.insert(0, FieldError::new("name", "required", "must not be empty"));
    } else if name.chars().count() > 200 {
        errors.insert(
            0,
            FieldError::new("name", "too_long", "at most 200 characters"),
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(field_errors(errors))
    }
}

async fn audit_calendar(desk: &Desk, p: &Principal, action: &str, id: Uuid) -> DeskResult<()> {
    audit(desk, p, action, serde_json::json!({ "id": id })).await
}

/// A new calendar, its first version in force from `from`.
pub async fn create_calendar(
    desk: &Desk,
    p: &Principal,
    name: &str,
    from: DateTime<Utc>,
    spec: CalendarSpec,
) -> DeskResult<CalendarRecord> {
    p.require(&[Role::Admin])?;
    check(name, &spec)?;
    let cal = desk.store.create_calendar(name.trim(), from, spec).await?;
    audit_calendar(desk, p, "calendar.created", cal.id).await?;
    Ok(cal)
}

/// A version of calendar `id` from `from` (replacing one with exactly that instant), and its
/// name. `seen`: when the editor's copy was last changed (a form); a later change makes this
/// one a conflict.
pub async fn put_version(
    desk: &Desk,
    p: &Principal,
    id: Uuid,
    name: &str,
    from: DateTime<Utc>,
    spec: CalendarSpec,
    seen: Option<DateTime<Utc>>,
) -> DeskResult<CalendarRecord> {
    p.require(&[Role::Admin])?;
    check(name, &spec)?;
    let gone = || DeskError::NotFound("calendar".into());
    if let Some(seen) = seen {
        let current = desk.store.get_calendar(id).await?.ok_or_else(gone)?;
        if current.updated_at != seen {
            return Err(DeskError::Conflict(crate::STALE.into()));
        }
    }
    let cal = desk
        .store
        .put_calendar_version(id, Some(name.trim().to_owned()), from, spec)
        .await?
        .ok_or_else(gone)?;
    audit_calendar(desk, p, "calendar.updated", id).await?;
    Ok(cal)
}
