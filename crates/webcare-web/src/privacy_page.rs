//! The privacy officer's page (`/privacy`, issue 15; the admin too): the retention terms in force,
//! what the next retention run would anonymise, legal holds on a case or a citizen, and for a
//! citizen's request who read their data (the access log) and the export. It calls the API's own
//! handlers (`webcare_api::routes::{retention, contacts}`), so the page allows, audits and refuses
//! exactly what the API does.

use crate::format::{self, datetime};
use crate::pages::{allowed, api_error_page, render, Layout};
use crate::session::WebUser;
use crate::WebState;
use askama::Template;
use axum::extract::{Form, FromRequestParts, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;
use webcare_api::auth::roles;
use webcare_api::error::ApiError;
use webcare_api::extract::{ApiJson, ApiQuery, IdPath};
use webcare_api::routes::contact_export::{ExportFormat, ExportQuery};
use webcare_api::routes::contacts as contacts_api;
use webcare_api::routes::retention::{self as api, LegalHold};
use webcare_api::routes::PageQuery;
use webcare_desk::DeskError;
use webcare_domain::retention::Terms;
use webcare_domain::{dutch, CaseKind, Role};

const BASE: &str = "/privacy";
/// Rows of the access log shown on the page; the export holds them all.
const LOG_ROWS: u32 = 200;

fn kind_label(k: Option<CaseKind>) -> String {
    dutch::kind(k).into()
}

/// `365` days as "365 dagen (1 jaar)" where it is whole years.
fn days_label(days: u32) -> String {
    if days > 0 && days.is_multiple_of(365) {
        let y = days / 365;
        format!("{days} dagen ({y} jaar)")
    } else {
        format!("{days} dagen")
    }
}

pub struct Row {
    pub cells: Vec<String>,
}

/// The legal-hold form as typed, with its messages.
#[derive(Default, Deserialize)]
pub struct HoldForm {
    #[serde(default)]
    soort: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    reden: String,
    #[serde(default)]
    actie: String,
}

/// One term of the admin's form: the API's name for it (`defaultDays`, `auditDays`,
/// `kinds.melding`), the label, the value as typed and its message.
pub struct TermField {
    name: String,
    label: String,
    value: String,
    error: String,
}

fn term_fields(t: &Terms) -> Vec<TermField> {
    let field = |name: String, label: String, days: u32| TermField {
        name,
        label,
        value: days.to_string(),
        error: String::new(),
    };
    let mut out: Vec<TermField> = CaseKind::ALL
        .iter()
        .map(|k| {
            let days = t.kinds.get(k).copied().unwrap_or(t.default_days);
            field(format!("kinds.{k}"), kind_label(Some(*k)), days)
        })
        .collect();
    out.push(field(
        "defaultDays".into(),
        "Al het andere".into(),
        t.default_days,
    ));
    out.push(field("auditDays".into(), AUDIT_LABEL.into(), t.audit_days));
    out
}

/// The audit's own term, as the page names it.
const AUDIT_LABEL: &str = "Auditlog (wie zag of wijzigde wat)";

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    layout: Layout,
    terms_version: i64,
    terms: Vec<Row>,
    /// The terms in force, which a change starts from (themes are kept as they are).
    in_force: Terms,
    /// The admin changes the terms here (the privacy officer reads them).
    can_edit: bool,
    edit: Vec<TermField>,
    terms_error: String,
    preview_at: String,
    preview_cases: u64,
    preview: Vec<Row>,
    journal_entries: u64,
    audit_rows: u64,
    hold: HoldForm,
    id_error: String,
    reden_error: String,
    hold_error: String,
    notice: String,
    burger: String,
    burger_error: String,
}

async fn privacy_page(web: &WebState, user: &WebUser) -> Result<PrivacyPage, Response> {
    let caller = allowed::<roles::Privacy>(user)?;
    let Json(t) = api::get_terms(State(web.app.clone()), caller)
        .await
        .map_err(api_error_page)?;
    let caller = allowed::<roles::Privacy>(user)?;
    let Json(p) = api::preview(State(web.app.clone()), caller)
        .await
        .map_err(api_error_page)?;
    let mut terms: Vec<Row> = t
        .in_force
        .kinds
        .iter()
        .map(|(k, d)| Row {
            cells: vec![kind_label(Some(*k)), String::new(), days_label(*d)],
        })
        .collect();
    terms.extend(t.in_force.themes.iter().map(|th| Row {
        cells: vec![
            kind_label(Some(th.kind)),
            th.theme.clone(),
            days_label(th.days),
        ],
    }));
    terms.push(Row {
        cells: vec![
            "Al het andere".into(),
            String::new(),
            days_label(t.in_force.default_days),
        ],
    });
    terms.push(Row {
        cells: vec![
            AUDIT_LABEL.into(),
            String::new(),
            days_label(t.in_force.audit_days),
        ],
    });
    Ok(PrivacyPage {
        layout: Layout::of(user, "Privacy"),
        terms_version: t.version,
        terms,
        can_edit: user.principal.role == Role::Admin,
        edit: term_fields(&t.in_force),
        in_force: t.in_force,
        terms_error: String::new(),
        preview_at: datetime(p.at),
        preview_cases: p.cases,
        preview: p
            .kinds
            .iter()
            .map(|k| Row {
                cells: vec![
                    kind_label(k.kind),
                    k.cases.to_string(),
                    datetime(k.oldest_closing),
                ],
            })
            .collect(),
        journal_entries: p.journal_entries,
        audit_rows: p.audit_rows,
        hold: HoldForm::default(),
        id_error: String::new(),
        reden_error: String::new(),
        hold_error: String::new(),
        notice: String::new(),
        burger: String::new(),
        burger_error: String::new(),
    })
}

/// `GET /privacy` (privacy officer, admin).
pub async fn page(
    State(web): State<WebState>,
    user: WebUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut page = match privacy_page(&web, &user).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    page.notice = match q.get("klaar").map(String::as_str) {
        Some("geplaatst") => {
            "De bewaarplicht is geplaatst: dit wordt niet geanonimiseerd zolang die geldt.".into()
        }
        Some("opgeheven") => "De bewaarplicht is opgeheven.".into(),
        Some("termijnen") => "De nieuwe bewaartermijnen gelden vanaf nu.".into(),
        _ => String::new(),
    };
    render(StatusCode::OK, page)
}

/// `POST /privacy/termijnen` (admin): a new version of the retention terms, the audit's own
/// term with them, as `PUT /api/v1/retention/terms`; the terms per theme stay as they are. Bad
/// input is shown next to the fields and changes nothing.
pub async fn save_terms(
    State(web): State<WebState>,
    user: WebUser,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let mut page = match privacy_page(&web, &user).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let caller = match allowed::<roles::AdminOnly>(&user) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut terms = page.in_force.clone();
    for field in &mut page.edit {
        field.value = f.get(&field.name).cloned().unwrap_or_default();
        let Ok(days) = field.value.trim().parse::<u32>() else {
            field.error = "Vul een aantal dagen in (een heel getal).".into();
            continue;
        };
        match field.name.as_str() {
            "defaultDays" => terms.default_days = days,
            "auditDays" => terms.audit_days = days,
            kind => {
                if let Some(k) = CaseKind::ALL.iter().find(|k| kind == format!("kinds.{k}")) {
                    terms.kinds.insert(*k, days);
                }
            }
        }
    }
    if page.edit.iter().all(|e| e.error.is_empty()) {
        let body = ApiJson(api::NewRetentionTerms {
            version: f
                .get("versie")
                .and_then(|v| v.parse().ok())
                .unwrap_or(page.terms_version),
            effective_from: None,
            terms,
        });
        match api::put_terms(State(web.app.clone()), caller, body).await {
            Ok(_) => return Redirect::to(&format!("{BASE}?klaar=termijnen")).into_response(),
            Err(ApiError::Desk(DeskError::Invalid(ps))) => {
                for p in ps {
                    let name = p.name.trim_start_matches("terms.");
                    match page.edit.iter_mut().find(|e| e.name == name) {
                        Some(e) => e.error = format::invalid_param(&p.code, &p.reason),
                        None => page.terms_error = format::invalid_param(&p.code, &p.reason),
                    }
                }
            }
            Err(ApiError::Desk(DeskError::Conflict(_))) => {
                page.terms_error =
                    "De termijnen zijn intussen gewijzigd; laad de pagina opnieuw.".into();
            }
            Err(e) => return api_error_page(e),
        }
    }
    if page.terms_error.is_empty() {
        page.terms_error = "Niets gewijzigd; zie de melding bij het veld.".into();
    }
    render(StatusCode::BAD_REQUEST, page)
}

/// `POST /privacy/bewaarplicht`: place or lift a legal hold on a case or a citizen, as
/// `POST|DELETE /api/v1/{cases|contacts}/{id}/legal-hold`. Bad input is shown next to the fields
/// and changes nothing.
pub async fn hold(State(web): State<WebState>, user: WebUser, Form(f): Form<HoldForm>) -> Response {
    let mut page = match privacy_page(&web, &user).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let place = f.actie != "opheffen";
    let case = f.soort != "burger";
    let id = Uuid::parse_str(f.id.trim()).ok();
    if id.is_none() {
        page.id_error = "Vul het nummer (UUID) van de zaak of burger in.".into();
    }
    let reason = f.reden.trim();
    if place && (reason.is_empty() || reason.chars().count() > 500) {
        page.reden_error =
            "Geef een reden op (1 tot 500 tekens), bijvoorbeeld „formele klacht in behandeling”."
                .into();
    }
    let result = match id {
        Some(id) if page.reden_error.is_empty() => {
            let caller = match allowed::<roles::Privacy>(&user) {
                Ok(c) => c,
                Err(r) => return r,
            };
            let (s, path) = (State(web.app.clone()), IdPath(id));
            let body = || {
                ApiJson(LegalHold {
                    reason: reason.to_owned(),
                })
            };
            Some(match (case, place) {
                (true, true) => api::hold_case(s, caller, path, body()).await,
                (true, false) => api::release_case(s, caller, path).await,
                (false, true) => api::hold_contact(s, caller, path, body()).await,
                (false, false) => api::release_contact(s, caller, path).await,
            })
        }
        _ => None,
    };
    match result {
        Some(Ok(_)) => {
            let done = if place { "geplaatst" } else { "opgeheven" };
            return Redirect::to(&format!("{BASE}?klaar={done}")).into_response();
        }
        Some(Err(ApiError::Desk(DeskError::NotFound(_)))) => {
            page.id_error = if case {
                "Er is geen zaak met dit nummer.".into()
            } else {
                "Er is geen burger met dit nummer.".into()
            };
        }
        Some(Err(ApiError::Desk(DeskError::Invalid(_)))) => {
            page.reden_error = "Geef een reden op (1 tot 500 tekens).".into();
        }
        Some(Err(ApiError::Desk(DeskError::Conflict(why)))) => {
            page.hold_error = format!("Dat kan nu niet: {why}");
        }
        Some(Err(e)) => return api_error_page(e),
        None => {}
    }
    if page.hold_error.is_empty() {
        page.hold_error = "Niets gewijzigd; zie de melding bij het veld.".into();
    }
    page.hold = f;
    render(StatusCode::BAD_REQUEST, page)
}

#[derive(Template)]
#[template(path = "privacy_contact.html")]
struct AccessLogPage {
    layout: Layout,
    id: String,
    rows: Vec<Row>,
    more: bool,
}

fn contact_id(raw: &str) -> Option<Uuid> {
    Uuid::parse_str(raw.trim()).ok()
}

/// `GET /privacy/inzage?burger=<id>`: the form on `/privacy` leads here; a bad number is shown
/// at the field.
pub async fn lookup(
    State(web): State<WebState>,
    user: WebUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let raw = q.get("burger").cloned().unwrap_or_default();
    match contact_id(&raw) {
        Some(id) => Redirect::to(&format!("{BASE}/burgers/{id}")).into_response(),
        None => {
            let mut page = match privacy_page(&web, &user).await {
                Ok(p) => p,
                Err(r) => return r,
            };
            page.burger = raw;
            page.burger_error = "Vul het nummer (UUID) van de burger in.".into();
            render(StatusCode::BAD_REQUEST, page)
        }
    }
}

/// The citizen of a `/privacy/burgers/{id}` path whose record the user may see: 404 for a
/// malformed id, the 403 page for another role.
pub struct Citizen {
    id: Uuid,
    caller: webcare_api::auth::Authorized<roles::ContactPrivacy>,
}

impl FromRequestParts<WebState> for Citizen {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &WebState,
    ) -> Result<Self, Response> {
        let user = WebUser::from_request_parts(parts, state).await?;
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        let id = contact_id(&raw).ok_or_else(not_found)?;
        let caller = allowed::<roles::ContactPrivacy>(&user)?;
        Ok(Citizen { id, caller })
    }
}

fn not_found() -> Response {
    crate::pages::error_page(StatusCode::NOT_FOUND, "Deze burger bestaat niet.")
}

/// `GET /privacy/burgers/{id}`: who read or changed this citizen's data (the API's access log,
/// which records this look too), and the export.
pub async fn access_log(
    State(web): State<WebState>,
    user: WebUser,
    Citizen { id, caller }: Citizen,
) -> Response {
    let uri: Uri = format!("/api/v1/contacts/{id}/access-log")
        .parse()
        .expect("a path");
    let log = contacts_api::access_log(
        State(web.app.clone()),
        caller,
        IdPath(id),
        uri,
        ApiQuery(PageQuery {
            cursor: None,
            limit: Some(LOG_ROWS),
        }),
    )
    .await;
    let Json(list) = match log {
        Ok(l) => l,
        Err(ApiError::Desk(DeskError::NotFound(_))) => return not_found(),
        Err(e) => return api_error_page(e),
    };
    render(
        StatusCode::OK,
        AccessLogPage {
            layout: Layout::of(&user, "Inzage burger"),
            id: id.to_string(),
            more: list.next.is_some(),
            rows: list
                .items
                .iter()
                .map(|a| Row {
                    cells: vec![
                        datetime(a.at),
                        dutch::audit_actor(&a.actor).to_owned(),
                        dutch::audit_action(&a.action).to_owned(),
                        a.case_id.map(|c| c.to_string()).unwrap_or_default(),
                    ],
                })
                .collect(),
        },
    )
}

/// The export form: which of the two forms the officer downloads.
#[derive(Default, Deserialize)]
pub struct ExportForm {
    #[serde(default)]
    formaat: String,
}

/// `POST /privacy/burgers/{id}/export`: everything about the citizen as a JSON download or
/// (`formaat=html`) the readable summary, as `POST /api/v1/contacts/{id}/export` streams it (and
/// records it in the access log).
pub async fn export(
    State(web): State<WebState>,
    Citizen { id, caller }: Citizen,
    Form(f): Form<ExportForm>,
) -> Response {
    let format = match f.formaat.as_str() {
        "html" => ExportFormat::Html,
        _ => ExportFormat::Json,
    };
    let q = ApiQuery(ExportQuery {
        format: Some(format),
    });
    match contacts_api::export(State(web.app.clone()), caller, IdPath(id), q).await {
        Ok(r) => r,
        Err(ApiError::Desk(DeskError::NotFound(_))) => not_found(),
        Err(e) => api_error_page(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_read_in_days_and_years() {
        assert_eq!(days_label(1825), "1825 dagen (5 jaar)");
        assert_eq!(days_label(30), "30 dagen");
    }
}
