//! Users, teams and departments (vakafdelingen): the admin adds and changes them, through the
//! API's `/users`, `/teams` and `/departments` or the web app's Beheer pages; both call these
//! functions. Each
//! change is checked as a whole (every problem at once) and audited.

use crate::error::{DeskError, DeskResult, InvalidParam};
use crate::principal::Principal;
use crate::Desk;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webcare_domain::Role;
use webcare_store::agent::{DepartmentRecord, TeamRecord, UserRecord};
use webcare_store::NewAuditEvent;

/// Records an admin's change in the audit trail.
pub async fn audit(
    desk: &Desk,
    p: &Principal,
    action: &str,
    detail: serde_json::Value,
) -> DeskResult<()> {
    desk.store
        .record_audit(NewAuditEvent {
            actor: p.actor(),
            action: action.into(),
            case_id: None,
            detail,
        })
        .await?;
    Ok(())
}

/// A text field: not empty, at most `max` characters, no control characters.
pub fn check_text(errs: &mut Vec<InvalidParam>, name: &str, v: &str, max: usize) {
    if v.trim().is_empty() {
        errs.push(InvalidParam::new(name, "required", "must not be empty"));
    } else if v.chars().count() > max {
        errs.push(InvalidParam::new(
            name,
            "too_long",
            format!("at most {max} characters"),
        ));
    } else if v.chars().any(char::is_control) {
        errs.push(InvalidParam::new(
            name,
            "invalid",
            "must not contain control characters",
        ));
    }
}

/// `Ok` when nothing was found wrong.
pub fn checked(errs: Vec<InvalidParam>) -> DeskResult<()> {
    if errs.is_empty() {
        Ok(())
    } else {
        Err(DeskError::Invalid(errs))
    }
}

// ------------------------------------------------------------------------------ users

/// A new user's fields, or a change to a user: what is `None` stays as it is (for a new user:
/// empty, no department, active).
#[derive(Debug, Default)]
pub struct UserChange {
    pub name: Option<String>,
    pub email: Option<String>,
    pub subject: Option<Option<String>>,
    pub role: Option<Role>,
    pub teams: Option<Vec<String>>,
    pub department_id: Option<Option<Uuid>>,
    pub active: Option<bool>,
}

/// Checks a user's fields against each other and the stored teams and departments.
async fn check_user(desk: &Desk, u: &UserRecord) -> DeskResult<()> {
    let mut errs = Vec::new();
    check_text(&mut errs, "name", &u.name, 200);
    let email_ok = u.email.len() <= 254
        && u.email.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !u.email.chars().any(char::is_whitespace)
        });
    if !email_ok {
        errs.push(InvalidParam::new(
            "email",
            "invalid",
            "must be an e-mail address",
        ));
    }
    if let Some(s) = &u.subject {
        check_text(&mut errs, "subject", s, 255);
    }
    for t in &u.teams {
        check_text(&mut errs, "teams", t, 100);
    }
    if errs.is_empty() && !u.teams.is_empty() {
        let known = desk.store.team_names(&u.teams).await?;
        let unknown: Vec<&str> = u
            .teams
            .iter()
            .filter(|t| !known.contains(t))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            errs.push(InvalidParam::new(
                "teams",
                "unknown_team",
                format!("no such team: {}", unknown.join(", ")),
            ));
        }
    }
    match (u.role, u.department_id) {
        (Role::Department, None) => errs.push(InvalidParam::new(
            "departmentId",
            "required",
            "a department user needs a department",
        )),
        (Role::Department, Some(d)) if desk.store.get_department(d).await?.is_none() => {
            errs.push(InvalidParam::new(
                "departmentId",
                "unknown_department",
                "no such department",
            ));
        }
        (Role::Department, Some(_)) => {}
        (_, Some(_)) => errs.push(InvalidParam::new(
            "departmentId",
            "not_allowed",
            "only department users belong to a department",
        )),
        _ => {}
    }
    checked(errs)
}

/// Adds a desk user.
pub async fn create_user(desk: &Desk, p: &Principal, c: UserChange) -> DeskResult<UserRecord> {
    let now = Utc::now();
    let mut u = UserRecord {
        id: Uuid::nil(),
        name: String::new(),
        email: String::new(),
        subject: None,
        role: Role::Agent,
        teams: Vec::new(),
        department_id: None,
        active: true,
        created_at: now,
        updated_at: now,
    };
    apply(&mut u, c);
    check_user(desk, &u).await?;
    let u = desk.store.create_user(u).await?;
    audit(desk, p, "user.created", serde_json::json!({"userId": u.id})).await?;
    Ok(u)
}

fn apply(u: &mut UserRecord, c: UserChange) {
    if let Some(v) = c.name {
        u.name = v.trim().to_owned();
    }
    if let Some(v) = c.email {
        u.email = v.trim().to_lowercase();
    }
    if let Some(v) = c.subject {
        u.subject = v;
    }
    if let Some(v) = c.role {
        u.role = v;
    }
    if let Some(v) = c.teams {
        u.teams = v;
    }
    if let Some(v) = c.department_id {
        u.department_id = v;
    }
    if let Some(v) = c.active {
        u.active = v;
    }
}

/// Changes user `id`.
pub async fn update_user(
    desk: &Desk,
    p: &Principal,
    id: Uuid,
    c: UserChange,
) -> DeskResult<UserRecord> {
    let mut u = desk
        .store
        .get_user(id)
        .await?
        .ok_or_else(|| DeskError::NotFound("user".into()))?;
    apply(&mut u, c);
    check_user(desk, &u).await?;
    let u = desk.store.save_user(u).await?;
    audit(desk, p, "user.updated", serde_json::json!({"userId": u.id})).await?;
    Ok(u)
}

// ------------------------------------------------------------------------------ teams

/// A change to a team; what is `None` stays as it is.
#[derive(Debug, Default)]
pub struct TeamChange {
    pub name: Option<String>,
    /// `off`, `round_robin` or `least_loaded`.
    pub auto_assign: Option<&'static str>,
    pub max_open_per_agent: Option<Option<i64>>,
}

fn check_team(t: &TeamRecord) -> DeskResult<()> {
    let mut errs = Vec::new();
    check_text(&mut errs, "name", &t.name, 100);
    if t.max_open_per_agent
        .is_some_and(|m| !(1..=10_000).contains(&m))
    {
        errs.push(InvalidParam::new(
            "maxOpenPerAgent",
            "out_of_range",
            "between 1 and 10000",
        ));
    }
    checked(errs)
}

/// Adds a team.
pub async fn create_team(
    desk: &Desk,
    p: &Principal,
    name: &str,
    auto_assign: &str,
    max_open_per_agent: Option<i64>,
) -> DeskResult<TeamRecord> {
    let now = Utc::now();
    let t = TeamRecord {
        id: Uuid::nil(),
        name: name.trim().to_owned(),
        auto_assign: auto_assign.into(),
        max_open_per_agent,
        created_at: now,
        updated_at: now,
    };
    check_team(&t)?;
    let t = desk.store.create_team(t).await?;
    audit(desk, p, "team.created", serde_json::json!({"teamId": t.id})).await?;
    Ok(t)
}

/// Changes team `id`.
pub async fn update_team(
    desk: &Desk,
    p: &Principal,
    id: Uuid,
    c: TeamChange,
) -> DeskResult<TeamRecord> {
    let mut t = desk
        .store
        .get_team(id)
        .await?
        .ok_or_else(|| DeskError::NotFound("team".into()))?;
    if let Some(v) = c.name {
        t.name = v.trim().to_owned();
    }
    if let Some(v) = c.auto_assign {
        t.auto_assign = v.into();
    }
    if let Some(v) = c.max_open_per_agent {
        t.max_open_per_agent = v;
    }
    check_team(&t)?;
    let t = desk.store.save_team(t).await?;
    audit(desk, p, "team.updated", serde_json::json!({"teamId": t.id})).await?;
    Ok(t)
}

// ------------------------------------------------------------------------------ departments

// Who to ask at a department. (No doc comment: it would become the schema's description.)
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactPerson {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// A department's contact persons as stored.
pub fn contact_persons(d: &DepartmentRecord) -> Vec<ContactPerson> {
    serde_json::from_value(d.contact_persons.clone()).unwrap_or_default()
}

/// A new department.
#[derive(Debug)]
pub struct NewDepartment {
    pub name: String,
    pub contact_persons: Vec<ContactPerson>,
    /// The agreed answer time (werkafspraak), in business minutes.
    pub answer_minutes: i64,
    pub calendar_id: Option<Uuid>,
}

/// A change to a department; what is `None` stays as it is.
#[derive(Debug, Default)]
pub struct DepartmentChange {
    pub name: Option<String>,
    pub contact_persons: Option<Vec<ContactPerson>>,
    pub answer_minutes: Option<i64>,
    pub calendar_id: Option<Option<Uuid>>,
}

fn check_department(name: &str, people: &[ContactPerson], minutes: i64) -> DeskResult<()> {
    let mut errs = Vec::new();
    check_text(&mut errs, "name", name, 200);
    if !(1..=525_600).contains(&minutes) {
        errs.push(InvalidParam::new(
            "answerMinutes",
            "out_of_range",
            "between 1 and 525600 (a year)",
        ));
    }
    if people.len() > 50 {
        errs.push(InvalidParam::new(
            "contactPersons",
            "too_many",
            "at most 50",
        ));
    }
    for (i, p) in people.iter().enumerate() {
        check_text(
            &mut errs,
            &format!("contactPersons[{i}].name"),
            &p.name,
            200,
        );
    }
    checked(errs)
}

/// Adds a department.
pub async fn create_department(
    desk: &Desk,
    p: &Principal,
    b: NewDepartment,
) -> DeskResult<DepartmentRecord> {
    check_department(&b.name, &b.contact_persons, b.answer_minutes)?;
    let now = Utc::now();
    let d = desk
        .store
        .create_department(DepartmentRecord {
            id: Uuid::nil(),
            name: b.name.trim().to_owned(),
            contact_persons: serde_json::to_value(&b.contact_persons).unwrap_or_default(),
            answer_minutes: b.answer_minutes,
            calendar_id: b.calendar_id,
            created_at: now,
            updated_at: now,
        })
        .await?;
    audit(
        desk,
        p,
        "department.created",
        serde_json::json!({"departmentId": d.id}),
    )
    .await?;
    Ok(d)
}

/// Changes department `id`.
pub async fn update_department(
    desk: &Desk,
    p: &Principal,
    id: Uuid,
    c: DepartmentChange,
) -> DeskResult<DepartmentRecord> {
    let mut d = desk
        .store
        .get_department(id)
        .await?
        .ok_or_else(|| DeskError::NotFound("department".into()))?;
    let mut people = contact_persons(&d);
    if let Some(v) = c.name {
        d.name = v.trim().to_owned();
    }
    if let Some(v) = c.contact_persons {
        people = v;
    }
    if let Some(v) = c.answer_minutes {
        d.answer_minutes = v;
    }
    if let Some(v) = c.calendar_id {
        d.calendar_id = v;
    }
    check_department(&d.name, &people, d.answer_minutes)?;
    d.contact_persons = serde_json::to_value(&people).unwrap_or_default();
    let d = desk.store.save_department(d).await?;
    audit(
        desk,
        p,
        "department.updated",
        serde_json::json!({"departmentId": d.id}),
    )
    .await?;
    Ok(d)
}
