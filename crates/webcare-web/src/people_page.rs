//! Beheer: users (`/beheer/gebruikers`), teams (`/beheer/teams`) and departments
//! (`/beheer/afdelingen`). The KCC reads teams and departments, team leads the users; admins add
//! and change them through the use cases the API's `/users`, `/teams` and `/departments` call
//! (`webcare_desk::people`), so the checks, the audit entries and the roles are the API's. The
//! pages are one template: a table, and a form for a new item or the one being edited.

use crate::pages::{allowed, api_error_page, error_page, render, Layout};
use crate::routing_page::{get, opts, Fields, Opt, Shown};
use crate::secret_page::{Confirm, Input, SecretPage};
use crate::session::WebUser;
use crate::WebState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use std::collections::HashMap;
use uuid::Uuid;
use webcare_api::auth::{roles, Policy, Principal};
use webcare_desk::people::{
    self, ContactPerson, DepartmentChange, NewDepartment, TeamChange, UserChange,
};
use webcare_desk::{DeskError, DeskResult, STALE};
use webcare_domain::Role;
use webcare_store::agent::{DepartmentRecord, TeamRecord, UserRecord};

pub(crate) struct Row {
    id: Uuid,
    name: String,
    cells: Vec<String>,
}

/// One input of the form; `kind` is `text`, `number`, `password`, `date`, `textarea`,
/// `datelines` (a textarea of lines that start with a date, with the date hint), `select` or
/// `multiselect`.
pub(crate) struct Field {
    pub key: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    pub value: String,
    pub error: String,
    pub options: Vec<Opt>,
}

#[derive(Template)]
#[template(path = "beheer_list.html")]
struct ListPage {
    layout: Layout,
    may_change: bool,
    deletable: bool,
    base: &'static str,
    caption: &'static str,
    new_title: &'static str,
    edit_title: &'static str,
    headers: &'static [&'static str],
    rows: Vec<Row>,
    editing: Option<Uuid>,
    /// The edited item's version (`versie`), sent back so a stale form is a conflict.
    version: String,
    confirm_delete: bool,
    fields: Vec<Field>,
    general: String,
}

/// What differs between the pages.
pub(crate) trait Kind: Sized {
    /// Who may read the list (the API's role for listing these).
    type Readers: Policy;
    /// Who may add, change (and delete) items: the API's role for that.
    type Writers: Policy;
    /// Whether items can be deleted (`POST {BASE}/{id}/verwijder`).
    const DELETABLE: bool = false;
    /// Whether deleting asks first (`GET {BASE}/{id}/verwijder`), for what cannot be undone.
    const CONFIRM_DELETE: bool = false;
    /// What the question before deleting explains.
    const DELETE_EXPLAIN: &'static str = "Dit is niet terug te draaien.";
    const BASE: &'static str;
    const TITLE: &'static str;
    const CAPTION: &'static str;
    const NEW: &'static str;
    const EDIT: &'static str;
    const HEADERS: &'static [&'static str];
    /// The form's inputs: (key, label, kind, choices for a select).
    const INPUTS: &'static [(&'static str, &'static str, &'static str)];

    async fn list(web: &WebState) -> DeskResult<Vec<Self>>;
    fn id(&self) -> Uuid;
    fn name(&self) -> String;
    fn cells(&self) -> Vec<String>;
    fn fields(&self) -> Fields;
    /// A select's choices (value, label).
    async fn options(_web: &WebState, _key: &str) -> DeskResult<Vec<(String, String)>> {
        Ok(Vec::new())
    }
    /// The form field a use case's field name belongs to.
    fn field_of(name: &str) -> &'static str;
    /// A clash with a stored item as a field's message, where one field explains it.
    fn clash() -> Option<(&'static str, &'static str)> {
        None
    }
    /// Adds (`id` none) or changes the item as the form says.
    async fn save(web: &WebState, p: &Principal, id: Option<Uuid>, f: &Fields) -> DeskResult<()>;
    /// Deletes item `id` (only called when `DELETABLE`).
    async fn delete(_web: &WebState, _p: &Principal, _id: Uuid) -> DeskResult<()> {
        Err(DeskError::NotFound("item".into()))
    }
}

async fn view<K: Kind>(
    web: &WebState,
    user: &WebUser,
    status: StatusCode,
    s: Shown,
    items: Vec<K>,
) -> Response {
    let mut fields = Vec::new();
    for (key, label, kind) in K::INPUTS {
        let options = match K::options(web, key).await {
            Ok(o) => o,
            Err(e) => return api_error_page(e.into()),
        };
        // A password is never sent back to the browser.
        let value = match *kind {
            "password" => String::new(),
            _ => get(&s.form, key).to_owned(),
        };
        fields.push(Field {
            key,
            label,
            kind,
            options: opts(options, |v| s.form.iter().any(|(k, f)| k == key && f == v)),
            error: s.errors.get(*key).cloned().unwrap_or_default(),
            value,
        });
    }
    render(
        status,
        ListPage {
            layout: Layout::of(user, K::TITLE),
            may_change: K::Writers::ROLES.contains(&user.principal.role),
            deletable: K::DELETABLE,
            base: K::BASE,
            caption: K::CAPTION,
            new_title: K::NEW,
            edit_title: K::EDIT,
            headers: K::HEADERS,
            rows: items
                .iter()
                .map(|t| Row {
                    id: t.id(),
                    name: t.name(),
                    cells: t.cells(),
                })
                .collect(),
            editing: s.editing,
            version: get(&s.form, "versie").to_owned(),
            confirm_delete: K::CONFIRM_DELETE,
            fields,
            general: s.general,
        },
    )
}

/// `GET` a Beheer list (`?bewerk=<id>`: with that item in the form): the KCC reads.
pub(crate) async fn page<K: Kind>(
    web: WebState,
    user: WebUser,
    q: HashMap<String, String>,
) -> Response {
    if let Err(r) = allowed::<K::Readers>(&user) {
        return r;
    }
    let items = match K::list(&web).await {
        Ok(items) => items,
        Err(e) => return api_error_page(e.into()),
    };
    let chosen = q
        .get("bewerk")
        .and_then(|v| Uuid::parse_str(v).ok())
        .and_then(|v| items.iter().find(|t| t.id() == v));
    let shown = match chosen {
        Some(t) => Shown {
            editing: Some(t.id()),
            form: t.fields(),
            ..Default::default()
        },
        None => Shown::default(),
    };
    view(&web, &user, StatusCode::OK, shown, items).await
}

/// A use case's validation message in Dutch.
fn message(field: &str, code: &str, reason: &str) -> String {
    if let Some(m) = crate::channel_settings::message(field, code, reason) {
        return m;
    }
    match code {
        "form" => reason.to_owned(),
        "required" if field == "afdeling" => {
            "Kies de vakafdeling van een gebruiker met de rol Vakafdeling.".into()
        }
        "required" => "Vul dit veld in.".to_owned(),
        "too_long" => format!(
            "Te lang: hoogstens {} tekens.",
            reason
                .trim_start_matches("at most ")
                .trim_end_matches(" characters")
        ),
        "invalid" if field == "email" => "Vul een e-mailadres in.".to_owned(),
        "invalid" if reason.starts_with("1 to ") => format!(
            "Vul dit veld in, met hoogstens {} tekens.",
            reason
                .trim_start_matches("1 to ")
                .trim_end_matches(" characters")
        ),
        "invalid" => "Gebruik geen regeleinden of tabs.".to_owned(),
        "out_of_range" if field == "waarschuwing" => {
            "Kies een percentage groter dan 0 en kleiner dan 100.".into()
        }
        "out_of_range" if matches!(field, "reactie" | "afhandeling" | "vakafdeling") => {
            "Kies een termijn van 1 minuut tot tien jaar.".into()
        }
        "unknown_calendar" => "Deze kalender bestaat niet.".into(),
        "out_of_range" if field == "max" => {
            "Kies een aantal van 1 tot 10.000, of laat het leeg.".into()
        }
        "out_of_range" => "Kies een antwoordtijd van 1 tot 525.600 werkminuten (een jaar).".into(),
        "too_many" => "Hoogstens 50 contactpersonen.".to_owned(),
        "unknown_variables" => format!(
            "Onbekende variabele: {}. Gebruik alleen {}.",
            reason
                .trim_start_matches("unknown variables: ")
                .split(';')
                .next()
                .unwrap_or_default(),
            webcare_domain::canned::VARIABLES
                .iter()
                .map(|v| format!("{{{{{v}}}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        "unclosed_variable" => "Sluit elke {{ af met }}.".to_owned(),
        "unknown_team" => match reason.strip_prefix("no such team: ") {
            Some(names) => format!("Onbekend team: {names}."),
            None => "Dit team bestaat niet.".to_owned(),
        },
        "unknown_department" => "Deze vakafdeling bestaat niet.".to_owned(),
        "unknown_key" => format!(
            "Dit platform gebruikt dit geheim niet; het neemt alleen {}.",
            reason.split("take: ").nth(1).unwrap_or_default()
        ),
        "incomplete" => "Vul voor OAuth 1.0a alle vier in: consumer key, consumer secret, \
                         access token en access token secret."
            .to_owned(),
        "not_allowed" if field == "afdeling" => {
            "Alleen gebruikers met de rol Vakafdeling horen bij een vakafdeling.".into()
        }
        _ => reason.to_owned(),
    }
}

/// `POST` a Beheer form (with an id in the path: a change): back to the list (303), or the page
/// again with the messages beside the fields and nothing changed. `K::Writers` only.
pub(crate) async fn post<K: Kind>(
    web: WebState,
    user: WebUser,
    id: Option<String>,
    f: Fields,
) -> Response {
    let p = match allowed::<K::Writers>(&user) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let id = match id.map(|id| Uuid::parse_str(&id)).transpose() {
        Ok(id) => id,
        Err(_) => return error_page(StatusCode::NOT_FOUND, "Dit bestaat niet."),
    };
    let mut s = Shown {
        editing: id,
        ..Default::default()
    };
    let status = match K::save(&web, &p, id, &f).await {
        Ok(()) => return Redirect::to(K::BASE).into_response(),
        Err(DeskError::Invalid(ps)) => {
            for p in ps {
                let field = K::field_of(&p.name);
                let text = message(field, &p.code, &p.reason);
                s.errors.entry(field.to_owned()).or_insert(text);
            }
            s.general = "Niet opgeslagen; zie de meldingen bij de velden.".into();
            StatusCode::BAD_REQUEST
        }
        Err(DeskError::Conflict(m)) if m == STALE => {
            s.general = "Niet opgeslagen: dit is intussen door iemand anders gewijzigd. \
                         Open het opnieuw en breng uw wijziging dan aan."
                .into();
            StatusCode::CONFLICT
        }
        Err(DeskError::Conflict(m)) => {
            s.general = match K::clash() {
                Some((field, text)) => {
                    s.errors.insert(field.to_owned(), text.to_owned());
                    "Niet opgeslagen; zie de meldingen bij de velden.".into()
                }
                None => format!("Niet opgeslagen: {m}."),
            };
            StatusCode::CONFLICT
        }
        Err(DeskError::NotFound(_)) => {
            return error_page(StatusCode::NOT_FOUND, "Dit bestaat niet (meer).")
        }
        Err(e) => return api_error_page(e.into()),
    };
    s.form = f;
    match K::list(&web).await {
        Ok(items) => view(&web, &user, status, s, items).await,
        Err(e) => api_error_page(e.into()),
    }
}

/// `POST {BASE}/{id}/verwijder`: deletes the item and goes back to the list. `K::Writers` only.
pub(crate) async fn remove<K: Kind>(web: WebState, user: WebUser, id: String) -> Response {
    let p = match allowed::<K::Writers>(&user) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(id) = Uuid::parse_str(&id) else {
        return error_page(StatusCode::NOT_FOUND, "Dit bestaat niet.");
    };
    match K::delete(&web, &p, id).await {
        Ok(()) => Redirect::to(K::BASE).into_response(),
        Err(DeskError::NotFound(_)) => {
            error_page(StatusCode::NOT_FOUND, "Dit bestaat niet (meer).")
        }
        Err(e) => api_error_page(e.into()),
    }
}

/// `GET {BASE}/{id}/verwijder`: asks before deleting (`K::CONFIRM_DELETE`). `K::Writers` only.
pub(crate) async fn confirm_remove<K: Kind>(web: WebState, user: WebUser, id: String) -> Response {
    if let Err(r) = allowed::<K::Writers>(&user) {
        return r;
    }
    let gone = || error_page(StatusCode::NOT_FOUND, "Dit bestaat niet (meer).");
    let Ok(id) = Uuid::parse_str(&id) else {
        return gone();
    };
    let items = match K::list(&web).await {
        Ok(items) => items,
        Err(e) => return api_error_page(e.into()),
    };
    let Some(item) = items.iter().find(|t| t.id() == id) else {
        return gone();
    };
    let input = Input {
        key: "",
        label: "",
        value: String::new(),
        error: String::new(),
    };
    SecretPage {
        confirm: Some(Confirm {
            action: format!("{}/{id}/verwijder", K::BASE),
            question: format!("„{}” verwijderen?", item.name()),
            explain: K::DELETE_EXPLAIN,
            button: "Verwijderen",
        }),
        ..SecretPage::new(&user, K::TITLE, K::BASE, input)
    }
    .show()
}

fn page_error(field: &str, message: &str) -> DeskError {
    DeskError::invalid(field, "form", message)
}

pub(crate) fn pairs(all: &[(&str, &str)]) -> Vec<(String, String)> {
    all.iter()
        .map(|(k, l)| ((*k).to_owned(), (*l).to_owned()))
        .collect()
}

// ------------------------------------------------------------------------------ users

const ROLES: [(&str, &str); 5] = [
    ("agent", "Medewerker KCC"),
    ("teamlead", "Teamleider"),
    ("department", "Vakafdeling"),
    ("admin", "Beheerder"),
    ("privacy_officer", "Privacyfunctionaris"),
];

const ACTIVE: [(&str, &str); 2] = [("ja", "Ja"), ("nee", "Nee (kan niet aanmelden)")];

/// A user with the name of their department.
pub struct UserRow {
    user: UserRecord,
    department: String,
}

impl Kind for UserRow {
    type Readers = roles::Lead;
    type Writers = roles::AdminOnly;
    const BASE: &'static str = "/beheer/gebruikers";
    const TITLE: &'static str = "Gebruikers";
    const CAPTION: &'static str = "De gebruikers van de desk";
    const NEW: &'static str = "Nieuwe gebruiker";
    const EDIT: &'static str = "Gebruiker bewerken";
    const HEADERS: &'static [&'static str] =
        &["Naam", "E-mail", "Rol", "Teams", "Vakafdeling", "Actief"];
    const INPUTS: &'static [(&'static str, &'static str, &'static str)] = &[
        ("naam", "Naam", "text"),
        ("email", "E-mailadres", "text"),
        ("rol", "Rol", "select"),
        ("teams", "Teams (kies er een of meer)", "multiselect"),
        (
            "afdeling",
            "Vakafdeling (alleen voor de rol Vakafdeling)",
            "select",
        ),
        ("actief", "Actief", "select"),
        (
            "wachtwoord",
            "Nieuw wachtwoord om lokaal aan te melden (leeg: niet veranderen)",
            "password",
        ),
    ];

    async fn list(web: &WebState) -> DeskResult<Vec<Self>> {
        let users = web.app.store.list_users(None, 200).await?.items;
        let departments = web.app.store.list_departments(None, 200).await?.items;
        Ok(users
            .into_iter()
            .map(|user| UserRow {
                department: user
                    .department_id
                    .and_then(|d| departments.iter().find(|x| x.id == d))
                    .map(|d| d.name.clone())
                    .unwrap_or_default(),
                user,
            })
            .collect())
    }

    fn id(&self) -> Uuid {
        self.user.id
    }

    fn name(&self) -> String {
        self.user.name.clone()
    }

    fn cells(&self) -> Vec<String> {
        let u = &self.user;
        let role = ROLES
            .iter()
            .find(|(k, _)| *k == u.role.as_str())
            .map_or(u.role.as_str(), |(_, l)| l);
        vec![
            u.name.clone(),
            u.email.clone(),
            role.to_owned(),
            u.teams.join("\n"),
            self.department.clone(),
            if u.active { "ja" } else { "nee" }.to_owned(),
        ]
    }

    fn fields(&self) -> Fields {
        let u = &self.user;
        let mut f: Fields = vec![
            ("naam".into(), u.name.clone()),
            ("email".into(), u.email.clone()),
            ("rol".into(), u.role.as_str().to_owned()),
            (
                "afdeling".into(),
                u.department_id.map(|d| d.to_string()).unwrap_or_default(),
            ),
            ("actief".into(), if u.active { "ja" } else { "nee" }.into()),
        ];
        f.extend(u.teams.iter().map(|t| ("teams".to_owned(), t.clone())));
        f
    }

    async fn options(web: &WebState, key: &str) -> DeskResult<Vec<(String, String)>> {
        Ok(match key {
            "rol" => pairs(&ROLES),
            "actief" => pairs(&ACTIVE),
            "teams" => {
                let teams = web.app.store.list_teams(None, 200).await?.items;
                teams
                    .into_iter()
                    .map(|t| (t.name.clone(), t.name))
                    .collect()
            }
            "afdeling" => {
                let all = web.app.store.list_departments(None, 200).await?.items;
                std::iter::once((String::new(), "Geen".to_owned()))
                    .chain(all.into_iter().map(|d| (d.id.to_string(), d.name)))
                    .collect()
            }
            _ => Vec::new(),
        })
    }

    fn field_of(name: &str) -> &'static str {
        match name {
            "email" => "email",
            "teams" => "teams",
            "departmentId" | "afdeling" => "afdeling",
            "rol" => "rol",
            "wachtwoord" => "wachtwoord",
            _ => "naam",
        }
    }

    fn clash() -> Option<(&'static str, &'static str)> {
        Some(("email", "Er is al een gebruiker met dit e-mailadres."))
    }

    async fn save(web: &WebState, p: &Principal, id: Option<Uuid>, f: &Fields) -> DeskResult<()> {
        let role = get(f, "rol")
            .parse::<Role>()
            .ok()
            .filter(|r| ROLES.iter().any(|(k, _)| *k == r.as_str()))
            .ok_or_else(|| page_error("rol", "Kies een rol."))?;
        let department_id = match get(f, "afdeling") {
            "" => None,
            v => Some(
                Uuid::parse_str(v).map_err(|_| page_error("afdeling", "Kies een vakafdeling."))?,
            ),
        };
        let password = get(f, "wachtwoord");
        let hash = match password {
            "" => None,
            pw => {
                crate::password::check_policy(pw).map_err(|m| {
                    page_error("wachtwoord", &format!("Het wachtwoord moet {m} hebben."))
                })?;
                let pw = pw.to_owned();
                let hashed = tokio::task::spawn_blocking(move || crate::password::hash(&pw))
                    .await
                    .map_err(|e| DeskError::Internal(e.into()))?;
                Some(hashed.map_err(|e| {
                    DeskError::Internal(std::io::Error::other(e.to_string()).into())
                })?)
            }
        };
        let teams: Vec<String> = f
            .iter()
            .filter(|(k, v)| k == "teams" && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect();
        let change = UserChange {
            name: Some(get(f, "naam").to_owned()),
            email: Some(get(f, "email").to_owned()),
            role: Some(role),
            teams: Some(teams),
            department_id: Some(department_id),
            active: Some(get(f, "actief") != "nee"),
            subject: None,
        };
        let u = match id {
            None => people::create_user(&web.app, p, change).await?,
            Some(id) => people::update_user(&web.app, p, id, change).await?,
        };
        if let Some(hash) = hash {
            web.app.store.set_password_hash(u.id, &hash).await?;
            people::audit(
                &web.app,
                p,
                "user.password_set",
                serde_json::json!({"userId": u.id}),
            )
            .await?;
        }
        Ok(())
    }
}

// ------------------------------------------------------------------------------ teams

const AUTO_ASSIGN: [(&str, &str); 3] = [
    ("off", "Niet automatisch"),
    ("round_robin", "Om de beurt"),
    ("least_loaded", "Wie de minste open zaken heeft"),
];

impl Kind for TeamRecord {
    type Readers = roles::ReadPeople;
    type Writers = roles::AdminOnly;
    const BASE: &'static str = "/beheer/teams";
    const TITLE: &'static str = "Teams";
    const CAPTION: &'static str = "De teams van het KCC";
    const NEW: &'static str = "Nieuw team";
    const EDIT: &'static str = "Team bewerken";
    const HEADERS: &'static [&'static str] = &[
        "Naam",
        "Automatisch toewijzen",
        "Hoogstens open zaken per medewerker",
    ];
    const INPUTS: &'static [(&'static str, &'static str, &'static str)] = &[
        ("naam", "Naam", "text"),
        ("toewijzen", "Nieuwe zaken automatisch toewijzen", "select"),
        (
            "max",
            "Hoogstens open zaken per medewerker (leeg: geen grens)",
            "number",
        ),
    ];

    async fn list(web: &WebState) -> DeskResult<Vec<Self>> {
        Ok(web.app.store.list_teams(None, 200).await?.items)
    }

    fn id(&self) -> Uuid {
        self.id
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn cells(&self) -> Vec<String> {
        let auto = AUTO_ASSIGN
            .iter()
            .find(|(k, _)| *k == self.auto_assign)
            .map_or("?", |(_, l)| l);
        let max = self
            .max_open_per_agent
            .map_or("geen".into(), |m| m.to_string());
        vec![self.name.clone(), auto.to_owned(), max]
    }

    fn fields(&self) -> Fields {
        vec![
            ("naam".into(), self.name.clone()),
            ("toewijzen".into(), self.auto_assign.clone()),
            (
                "max".into(),
                self.max_open_per_agent
                    .map(|m| m.to_string())
                    .unwrap_or_default(),
            ),
        ]
    }

    async fn options(_web: &WebState, key: &str) -> DeskResult<Vec<(String, String)>> {
        Ok(match key {
            "toewijzen" => pairs(&AUTO_ASSIGN),
            _ => Vec::new(),
        })
    }

    fn field_of(name: &str) -> &'static str {
        match name {
            "maxOpenPerAgent" | "max" => "max",
            _ => "naam",
        }
    }

    async fn save(web: &WebState, p: &Principal, id: Option<Uuid>, f: &Fields) -> DeskResult<()> {
        let auto = AUTO_ASSIGN
            .iter()
            .find(|(k, _)| *k == get(f, "toewijzen"))
            .map_or("off", |(k, _)| k);
        let max = match get(f, "max").trim() {
            "" => None,
            v => Some(v.parse::<i64>().map_err(|_| {
                page_error(
                    "max",
                    "Vul een aantal in (een heel getal), of laat het leeg.",
                )
            })?),
        };
        let name = get(f, "naam");
        match id {
            None => people::create_team(&web.app, p, name, auto, max).await?,
            Some(id) => {
                let change = TeamChange {
                    name: Some(name.to_owned()),
                    auto_assign: Some(auto),
                    max_open_per_agent: Some(max),
                };
                people::update_team(&web.app, p, id, change).await?
            }
        };
        Ok(())
    }
}

// ------------------------------------------------------------------------------ departments

/// A contact person as a line of the form: `naam; e-mail; telefoon`.
fn person_line(p: &ContactPerson) -> String {
    let mut parts = vec![p.name.clone()];
    match (&p.email, &p.phone) {
        (Some(e), Some(t)) => parts.extend([e.clone(), t.clone()]),
        (Some(e), None) => parts.push(e.clone()),
        (None, Some(t)) => parts.extend([String::new(), t.clone()]),
        (None, None) => {}
    }
    parts.join("; ")
}

fn person_lines(d: &DepartmentRecord) -> String {
    let lines: Vec<String> = people::contact_persons(d).iter().map(person_line).collect();
    lines.join("\n")
}

/// The form's contact persons: one a line, `naam; e-mail; telefoon`.
fn persons(text: &str) -> Vec<ContactPerson> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split(';').map(str::trim);
            let mut next = || parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
            ContactPerson {
                name: next().unwrap_or_default(),
                email: next(),
                phone: next(),
            }
        })
        .collect()
}

impl Kind for DepartmentRecord {
    type Readers = roles::ReadPeople;
    type Writers = roles::AdminOnly;
    const BASE: &'static str = "/beheer/afdelingen";
    const TITLE: &'static str = "Vakafdelingen";
    const CAPTION: &'static str = "Vakafdelingen waar het KCC zaken naar doorzet";
    const NEW: &'static str = "Nieuwe vakafdeling";
    const EDIT: &'static str = "Vakafdeling bewerken";
    const HEADERS: &'static [&'static str] =
        &["Naam", "Antwoordtijd (werkminuten)", "Contactpersonen"];
    const INPUTS: &'static [(&'static str, &'static str, &'static str)] = &[
        ("naam", "Naam", "text"),
        (
            "minuten",
            "Afgesproken antwoordtijd in werkminuten (480 is een werkdag)",
            "number",
        ),
        (
            "contactpersonen",
            "Contactpersonen, één per regel: naam; e-mail; telefoon",
            "textarea",
        ),
    ];

    async fn list(web: &WebState) -> DeskResult<Vec<Self>> {
        Ok(web.app.store.list_departments(None, 200).await?.items)
    }

    fn id(&self) -> Uuid {
        self.id
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.answer_minutes.to_string(),
            person_lines(self),
        ]
    }

    fn fields(&self) -> Fields {
        vec![
            ("naam".into(), self.name.clone()),
            ("minuten".into(), self.answer_minutes.to_string()),
            ("contactpersonen".into(), person_lines(self)),
        ]
    }

    fn field_of(name: &str) -> &'static str {
        match name.split('[').next().unwrap_or(name) {
            "answerMinutes" | "minuten" => "minuten",
            "contactPersons" => "contactpersonen",
            _ => "naam",
        }
    }

    async fn save(web: &WebState, p: &Principal, id: Option<Uuid>, f: &Fields) -> DeskResult<()> {
        let minutes = get(f, "minuten").trim().parse::<i64>().map_err(|_| {
            page_error(
                "minuten",
                "Vul de antwoordtijd in werkminuten in (een heel getal).",
            )
        })?;
        let (name, people_) = (
            get(f, "naam").to_owned(),
            persons(get(f, "contactpersonen")),
        );
        match id {
            None => {
                let new = NewDepartment {
                    name,
                    contact_persons: people_,
                    answer_minutes: minutes,
                    calendar_id: None,
                };
                people::create_department(&web.app, p, new).await?
            }
            Some(id) => {
                let change = DepartmentChange {
                    name: Some(name),
                    contact_persons: Some(people_),
                    answer_minutes: Some(minutes),
                    calendar_id: None,
                };
                people::update_department(&web.app, p, id, change).await?
            }
        };
        Ok(())
    }
}

// ------------------------------------------------------------------------------ handlers

/// `GET {BASE}` of a Beheer list, as a route.
pub(crate) async fn list_route<K: Kind>(
    State(web): State<WebState>,
    user: WebUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    page::<K>(web, user, q).await
}

/// `POST {BASE}` (a new item) and `POST {BASE}/{id}` (a change), as a route.
pub(crate) async fn save_route<K: Kind>(
    State(web): State<WebState>,
    user: WebUser,
    id: Option<Path<String>>,
    Form(f): Form<Fields>,
) -> Response {
    post::<K>(web, user, id.map(|Path(id)| id), f).await
}

/// `GET {BASE}/{id}/verwijder`, the question, as a route.
pub(crate) async fn confirm_route<K: Kind>(
    State(web): State<WebState>,
    user: WebUser,
    Path(id): Path<String>,
) -> Response {
    confirm_remove::<K>(web, user, id).await
}

/// `POST {BASE}/{id}/verwijder`, as a route.
pub(crate) async fn remove_route<K: Kind>(
    State(web): State<WebState>,
    user: WebUser,
    Path(id): Path<String>,
) -> Response {
    remove::<K>(web, user, id).await
}

pub async fn users(
    State(web): State<WebState>,
    user: WebUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    page::<UserRow>(web, user, q).await
}

/// `POST /beheer/gebruikers` (a new user) and `POST /beheer/gebruikers/{id}` (a change).
pub async fn save_user(
    State(web): State<WebState>,
    user: WebUser,
    id: Option<Path<String>>,
    Form(f): Form<Fields>,
) -> Response {
    post::<UserRow>(web, user, id.map(|Path(id)| id), f).await
}

pub async fn teams(
    State(web): State<WebState>,
    user: WebUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    page::<TeamRecord>(web, user, q).await
}

/// `POST /beheer/teams` (a new team) and `POST /beheer/teams/{id}` (a change).
pub async fn save_team(
    State(web): State<WebState>,
    user: WebUser,
    id: Option<Path<String>>,
    Form(f): Form<Fields>,
) -> Response {
    post::<TeamRecord>(web, user, id.map(|Path(id)| id), f).await
}

pub async fn departments(
    State(web): State<WebState>,
    user: WebUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    page::<DepartmentRecord>(web, user, q).await
}

/// `POST /beheer/afdelingen` (a new department) and `POST /beheer/afdelingen/{id}` (a change).
pub async fn save_department(
    State(web): State<WebState>,
    user: WebUser,
    id: Option<Path<String>>,
    Form(f): Form<Fields>,
) -> Response {
    post::<DepartmentRecord>(web, user, id.map(|Path(id)| id), f).await
}
