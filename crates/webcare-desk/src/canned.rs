//! Canned answers: adding, changing and deleting them (the API's `/canned-answers` and the web
//! app's Beheer page), which answers a caller may use, the variables a case has values for, and
//! the rendering (the API's preview, the web app's reply box, and a reply with `templateId`). The
//! template rules themselves are pure (`webcare_domain::canned`).

use crate::error::{DeskError, DeskResult};
use crate::principal::Principal;
use crate::Desk;
use chrono::Utc;
use std::collections::BTreeMap;
use uuid::Uuid;
use webcare_domain::canned::{self, TemplateError};
use webcare_store::agent::CannedRecord;

const MAX_TEXT: usize = 5_000;

/// A new canned answer's fields, or a change to one: what is `None` stays as it is (for a new
/// answer: empty and desk-wide).
#[derive(Debug, Default)]
pub struct CannedChange {
    /// The team it belongs to; `Some(None)`: desk-wide.
    pub team: Option<Option<String>>,
    pub title: Option<String>,
    pub text: Option<String>,
}

fn apply(c: &mut CannedRecord, change: CannedChange) {
    if let Some(v) = change.team {
        c.team = v;
    }
    if let Some(v) = change.title {
        c.title = v.trim().to_owned();
    }
    if let Some(v) = change.text {
        c.text = v;
    }
}

/// The first problem with an answer: its title, its text (length, then an unknown variable),
/// then its team.
async fn check(desk: &Desk, c: &CannedRecord) -> DeskResult<()> {
    if c.title.trim().is_empty() || c.title.chars().count() > 200 {
        return Err(DeskError::invalid(
            "title",
            "invalid",
            "1 to 200 characters",
        ));
    }
    if c.text.trim().is_empty() || c.text.chars().count() > MAX_TEXT {
        return Err(DeskError::invalid(
            "text",
            "invalid",
            format!("1 to {MAX_TEXT} characters"),
        ));
    }
    canned::check(&c.text).map_err(|e| template_error("text", e))?;
    if let Some(t) = &c.team {
        if desk
            .store
            .team_names(std::slice::from_ref(t))
            .await?
            .is_empty()
        {
            return Err(DeskError::invalid("team", "unknown_team", "no such team"));
        }
    }
    Ok(())
}

/// Adds a canned answer.
pub async fn create_canned(
    desk: &Desk,
    p: &Principal,
    change: CannedChange,
) -> DeskResult<CannedRecord> {
    let now = Utc::now();
    let mut c = CannedRecord {
        id: Uuid::nil(),
        team: None,
        title: String::new(),
        text: String::new(),
        created_at: now,
        updated_at: now,
    };
    apply(&mut c, change);
    check(desk, &c).await?;
    let c = desk.store.create_canned(c).await?;
    let detail = serde_json::json!({"id": c.id});
    crate::people::audit(desk, p, "canned_answer.created", detail).await?;
    Ok(c)
}

fn not_found() -> DeskError {
    DeskError::NotFound("canned answer".into())
}

/// Changes canned answer `id`.
pub async fn update_canned(
    desk: &Desk,
    p: &Principal,
    id: Uuid,
    change: CannedChange,
) -> DeskResult<CannedRecord> {
    let mut c = desk.store.get_canned(id).await?.ok_or_else(not_found)?;
    apply(&mut c, change);
    check(desk, &c).await?;
    let c = desk.store.save_canned(c).await?;
    let detail = serde_json::json!({"id": c.id});
    crate::people::audit(desk, p, "canned_answer.updated", detail).await?;
    Ok(c)
}

/// Deletes canned answer `id`.
pub async fn delete_canned(desk: &Desk, p: &Principal, id: Uuid) -> DeskResult<()> {
    if !desk.store.delete_canned(id).await? {
        return Err(not_found());
    }
    let detail = serde_json::json!({"id": id});
    crate::people::audit(desk, p, "canned_answer.deleted", detail).await
}

/// Whether `p` may use canned answer `c`: desk-wide answers are for everyone, a team's answers
/// for that team's members (and callers who see every case: team leads, admins, tokens).
pub fn may_use(p: &Principal, c: &CannedRecord) -> bool {
    use webcare_store::agent::CaseScope;
    match (&c.team, p.case_scope()) {
        (None, _) | (_, CaseScope::All) => true,
        (Some(t), CaseScope::Teams { teams, .. }) => teams.contains(t),
        (Some(_), CaseScope::Department(_)) => false,
    }
}

/// The canned-answer variables as far as `case` has them: `agent` (the caller's first name),
/// `voornaam` (the contact's first name), `openingstijden` (the case's calendar in words),
/// `zaaknummer` (the zaak's number, or the case id while no zaak is linked) and `afdeling` (the
/// department the case is with). Reading the contact's name is recorded as a read of contact data.
/// The preview (`render`) and a reply with `templateId` both use these.
pub async fn case_values(
    desk: &Desk,
    p: &Principal,
    case: &webcare_store::CaseRecord,
    canned_id: Uuid,
) -> DeskResult<BTreeMap<String, String>> {
    let mut values = BTreeMap::new();
    values.insert("agent".to_owned(), canned::first_name(&p.name));
    // The zaak's identificatie as the zaaksysteem knows it, once the desk made the zaak; a zaak
    // linked by URL only gives its URL's last segment.
    let identificatie = desk.store.case_zaak(case.id).await?.identificatie;
    values.insert(
        "zaaknummer".to_owned(),
        identificatie.unwrap_or_else(|| canned::zaaknummer(case.zaak_url.as_deref(), case.id)),
    );
    if let Some(d) = case.department_id {
        if let Some(d) = desk.store.get_department(d).await? {
            values.insert("afdeling".to_owned(), d.name);
        }
    }
    let account_calendar = desk
        .store
        .get_channel_account(case.channel_account_id)
        .await?
        .and_then(|a| a.calendar_id);
    let cal = crate::case_calendar::case_calendar(&desk.store, case.id, account_calendar).await?;
    values.insert(
        "openingstijden".to_owned(),
        webcare_domain::out_of_hours::opening_hours_nl(cal.in_force(Utc::now())),
    );
    if let Some(contact) = desk.store.get_contact(case.contact_id).await? {
        let name = contact
            .display_name
            .or_else(|| {
                contact
                    .identities
                    .iter()
                    .find_map(|i| i.display_name.clone())
            })
            .unwrap_or_default();
        values.insert("voornaam".to_owned(), canned::first_name(&name));
        // Reading the contact's name is a read of contact data.
        desk.store
            .record_audit(webcare_store::NewAuditEvent {
                actor: p.actor(),
                action: "contact.read".into(),
                case_id: Some(case.id),
                detail: serde_json::json!({"for": "canned_answer", "cannedAnswerId": canned_id}),
            })
            .await?;
    }
    Ok(values)
}

pub fn template_error(field: &str, e: TemplateError) -> DeskError {
    let code = match e {
        TemplateError::Unknown(_) => "unknown_variables",
        TemplateError::Unclosed(_) => "unclosed_variable",
        TemplateError::Missing(_) => "missing_value",
    };
    DeskError::invalid(
        field,
        code,
        format!("{e}; known: {}", canned::VARIABLES.join(", ")),
    )
}

/// A canned answer filled in for a case (and `extra` values): the API's preview and the web
/// app's reply box.
pub async fn render_canned(
    desk: &Desk,
    p: &Principal,
    id: Uuid,
    case_id: Option<Uuid>,
    extra: BTreeMap<String, String>,
) -> DeskResult<String> {
    let c = desk.store.get_canned(id).await?.ok_or_else(not_found)?;
    let mut values = BTreeMap::new();
    values.insert("agent".to_owned(), canned::first_name(&p.name));
    if let Some(case_id) = case_id {
        // The body names the case: one that does not exist (or is out of the caller's scope)
        // is bad input, not a missing canned answer.
        let case = crate::case_work::visible_case(desk, p, case_id)
            .await
            .map_err(|e| match e {
                DeskError::NotFound(_) => {
                    DeskError::invalid("caseId", "unknown_case", "no such case")
                }
                other => other,
            })?;
        values = case_values(desk, p, &case, id).await?;
    }
    values.extend(extra);
    canned::render(&c.text, &values).map_err(|e| template_error("text", e))
}
