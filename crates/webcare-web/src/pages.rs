//! The pages. Each handler parses, checks the role as the API does, calls the functions the API
//! handlers call, and renders. Citizens' text reaches the templates as plain strings: askama
//! escapes it (nothing here is marked safe).

use crate::format;
use crate::session::WebUser;
use crate::WebState;
use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, Utc};
use futures::stream::{Stream, StreamExt};
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use tokio_stream::wrappers::BroadcastStream;
use uuid::Uuid;
use webcare_api::auth::{roles, Authorized, Policy};
use webcare_api::error::ApiError;
use webcare_desk::{canned, case_work, platform_actions, replies, DeskError};
use webcare_domain::classification::ListName;
use webcare_domain::urgency::Urgency;
use webcare_domain::{CaseStatus, Direction, Role, Visibility};
use webcare_store::agent::AuditFilter;
use webcare_store::platform_actions::PlatformActionKind;
use webcare_store::{CaseFilter, CaseRecord, CaseSort, PageRequest};

// ------------------------------------------------------------------------------ layout

/// What the base template needs on every page.
pub struct Layout {
    pub title: String,
    pub user: Option<String>,
    pub csrf: String,
    pub css: String,
    pub js: String,
    pub lead: bool,
    pub admin: bool,
    /// The privacy officer's page (`/privacy`) is in the menu (privacy officer, admin).
    pub privacy: bool,
}

impl Layout {
    pub fn anonymous(title: &str) -> Layout {
        Layout {
            title: title.into(),
            user: None,
            csrf: String::new(),
            css: crate::assets::own_css(),
            js: crate::assets::own_js(),
            lead: false,
            admin: false,
            privacy: false,
        }
    }

    pub(crate) fn of(user: &WebUser, title: impl Into<String>) -> Layout {
        let role = user.principal.role;
        Layout {
            title: title.into(),
            user: Some(user.principal.name.clone()),
            csrf: user.csrf.clone(),
            css: crate::assets::own_css(),
            js: crate::assets::own_js(),
            lead: matches!(role, Role::Teamlead | Role::Admin),
            admin: role == Role::Admin,
            privacy: matches!(role, Role::PrivacyOfficer | Role::Admin),
        }
    }
}

pub fn render(status: StatusCode, t: impl Template) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "Er ging iets mis.").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    message: String,
}

/// A plain error page (403, 404, 500, ...) in Dutch.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = match status {
        StatusCode::FORBIDDEN => "Geen toegang",
        StatusCode::NOT_FOUND => "Niet gevonden",
        s if s.is_server_error() => "Storing",
        _ => "Dat lukte niet",
    };
    render(
        status,
        ErrorPage {
            layout: Layout::anonymous(title),
            status: status.as_u16(),
            message: message.into(),
        },
    )
}

/// An API error as a page: what a form can show next to its fields is handled by the caller.
pub(crate) fn api_error_page(e: ApiError) -> Response {
    match e {
        ApiError::Desk(DeskError::Forbidden(_)) => error_page(
            StatusCode::FORBIDDEN,
            "Uw rol geeft geen toegang tot deze pagina of actie.",
        ),
        ApiError::Desk(DeskError::NotFound(_)) => error_page(
            StatusCode::NOT_FOUND,
            "Deze zaak bestaat niet of is niet voor u zichtbaar.",
        ),
        ApiError::Desk(DeskError::Internal(e)) => {
            tracing::error!(error = ?e, "page failed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Er ging iets mis; het is vastgelegd.",
            )
        }
        other => error_page(other.status(), &other.to_string()),
    }
}

pub(crate) fn allowed<P: Policy>(user: &WebUser) -> Result<Authorized<P>, Response> {
    Authorized::<P>::check(user.principal.clone()).map_err(api_error_page)
}

pub async fn home(user: Option<WebUser>) -> Redirect {
    match user {
        Some(u) if u.principal.role == Role::Teamlead => Redirect::to("/board"),
        Some(u) if u.principal.role == Role::PrivacyOfficer => Redirect::to("/privacy"),
        Some(_) => Redirect::to("/inbox"),
        None => Redirect::to("/login"),
    }
}

// ------------------------------------------------------------------------------ inbox

#[derive(Clone, Copy, PartialEq, Eq)]
enum View {
    New,
    Mine,
    Team,
    Waiting,
    Forwarded,
    Urgent,
}

const VIEWS: [(View, &str, &str); 6] = [
    (View::New, "nieuw", "Nieuw"),
    (View::Mine, "mijn", "Mijn zaken"),
    (View::Team, "team", "Team"),
    (View::Waiting, "wacht", "Wacht op burger"),
    (View::Forwarded, "doorgezet", "Doorgezet"),
    (View::Urgent, "urgent", "Bijna te laat / Te laat"),
];

fn view_of(user: &WebUser, key: Option<&str>) -> (View, &'static str) {
    // A department user has one view: the department's forwarded cases.
    if user.principal.role == Role::Department {
        return (View::Forwarded, "doorgezet");
    }
    VIEWS
        .iter()
        .find(|(_, k, _)| Some(*k) == key)
        .map(|(v, k, _)| (*v, *k))
        .unwrap_or((View::New, "nieuw"))
}

pub struct Row {
    id: Uuid,
    channel: &'static str,
    channel_icon: &'static str,
    citizen: String,
    preview: String,
    status: &'static str,
    assignee: String,
    age: String,
    due_iso: String,
    due_text: String,
    urgency_css: &'static str,
    urgency_label: &'static str,
}

pub struct Tab {
    key: &'static str,
    label: &'static str,
    current: bool,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    layout: Layout,
    tabs: Vec<Tab>,
    view: &'static str,
    q: String,
    q_error: String,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "inbox_rows.html")]
struct InboxRows {
    rows: Vec<Row>,
}

/// Checks the search text as the API's `q` does.
fn search_text(q: Option<&String>) -> Result<Option<String>, String> {
    let Some(q) = q.map(|q| q.trim()).filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    if q.chars().count() > 200 {
        return Err("Zoek op hoogstens 200 tekens.".into());
    }
    if webcare_store::agent::search_words(q).is_empty() {
        return Err("Zoek op minstens één woord.".into());
    }
    Ok(Some(q.to_owned()))
}

async fn inbox_data(
    web: &WebState,
    user: &WebUser,
    view: View,
    q: Option<String>,
) -> Result<Vec<Row>, ApiError> {
    let p = Authorized::<roles::ReadScopedCases>::check(user.principal.clone())?;
    let me = p.assignee_key();
    let base = CaseFilter {
        q,
        scope: p.case_scope(),
        ..Default::default()
    };
    let filters: Vec<CaseFilter> = match view {
        View::New => vec![CaseFilter {
            status: Some(CaseStatus::New),
            ..base
        }],
        View::Mine => vec![CaseFilter {
            status: Some(CaseStatus::Open),
            assignee: Some(Some(me)),
            ..base
        }],
        View::Team => vec![CaseFilter {
            status: Some(CaseStatus::Open),
            ..base
        }],
        View::Waiting => vec![CaseFilter {
            status: Some(CaseStatus::WaitingOnCitizen),
            ..base
        }],
        View::Forwarded => vec![CaseFilter {
            status: Some(CaseStatus::Forwarded),
            ..base
        }],
        View::Urgent => vec![
            CaseFilter {
                sla_status: Some(webcare_domain::sla::clock::ClockStatus::Breached),
                ..base.clone()
            },
            CaseFilter {
                sla_status: Some(webcare_domain::sla::clock::ClockStatus::Warning),
                ..base
            },
        ],
    };
    let store = &web.app.store;
    let mut cases: Vec<CaseRecord> = Vec::new();
    for f in filters {
        let page = store
            .list_cases(
                f,
                PageRequest {
                    limit: 50,
                    sort: CaseSort::DueAt,
                    ..Default::default()
                },
            )
            .await?;
        for c in page.items {
            if !cases.iter().any(|x| x.id == c.id) {
                cases.push(c);
            }
        }
    }
    cases.sort_by_key(|c| (c.due_at.is_none(), c.due_at, c.id));
    let names = user_names(web).await;
    let now = Utc::now();
    // Everything a row shows is on the case row (channel, citizen, first line, SLA state):
    // one query for the page, none per row.
    Ok(cases
        .iter()
        .map(|c| {
            let mut r = row(c, now);
            if let Some(a) = &c.assignee {
                r.assignee = names.get(a).cloned().unwrap_or_else(|| a.clone());
            }
            r
        })
        .collect())
}

fn row(c: &CaseRecord, now: DateTime<Utc>) -> Row {
    use webcare_domain::sla::ClockStatus;
    // The fired state of the running clocks; past the due time it is late even if the breach
    // timer has not fired yet.
    let urgency = match (c.sla_status, c.due_at) {
        (_, Some(due)) if now >= due => Urgency::Breached,
        (Some(ClockStatus::Breached), _) => Urgency::Breached,
        (Some(ClockStatus::Warning), _) => Urgency::Warning,
        (_, Some(_)) => Urgency::Within,
        (_, None) => Urgency::None,
    };
    let kind = c.channel_kind;
    Row {
        id: c.id,
        channel: kind.map_or("?", format::channel),
        channel_icon: kind.map_or("?", format::channel_icon),
        citizen: c
            .author_name
            .clone()
            .or(c.author_handle.clone())
            .unwrap_or_else(|| "Onbekend".into()),
        preview: c.preview.clone().unwrap_or_default(),
        status: format::status(c.status),
        assignee: String::new(),
        age: format::duration(now - c.first_message_at),
        due_iso: c.due_at.map(|d| d.to_rfc3339()).unwrap_or_default(),
        due_text: c.due_at.map(format::datetime).unwrap_or_default(),
        urgency_css: urgency.css(),
        urgency_label: urgency.label(),
    }
}

pub async fn inbox(
    State(web): State<WebState>,
    user: WebUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (view, key) = view_of(&user, q.get("view").map(String::as_str));
    let (search, q_error) = match search_text(q.get("q")) {
        Ok(s) => (s, String::new()),
        Err(e) => (None, e),
    };
    let rows = if q_error.is_empty() {
        match inbox_data(&web, &user, view, search).await {
            Ok(r) => r,
            Err(e) => return api_error_page(e),
        }
    } else {
        Vec::new()
    };
    let tabs = if user.principal.role == Role::Department {
        Vec::new()
    } else {
        VIEWS
            .iter()
            .map(|(v, k, l)| Tab {
                key: k,
                label: l,
                current: *v == view,
            })
            .collect()
    };
    let status = if q_error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render(
        status,
        InboxPage {
            layout: Layout::of(&user, "Inbox"),
            tabs,
            view: key,
            q: q.get("q").cloned().unwrap_or_default(),
            q_error,
            rows,
        },
    )
}

/// The rows alone: what htmx swaps in when a live event says the inbox changed.
pub async fn inbox_rows(
    State(web): State<WebState>,
    user: WebUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (view, _) = view_of(&user, q.get("view").map(String::as_str));
    let Ok(search) = search_text(q.get("q")) else {
        return render(StatusCode::BAD_REQUEST, InboxRows { rows: Vec::new() });
    };
    match inbox_data(&web, &user, view, search).await {
        Ok(rows) => render(StatusCode::OK, InboxRows { rows }),
        Err(e) => api_error_page(e),
    }
}

/// The live events this user may see, named for what htmx should refresh: `case` (the inbox
/// and board), `sla` (the board) and `reply-<case id>` (that case's delivery states).
pub async fn live(
    State(web): State<WebState>,
    user: WebUser,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Response> {
    let p = allowed::<roles::ReadScopedCases>(&user)?.0;
    let events = BroadcastStream::new(web.app.store.subscribe_events()).filter_map(move |r| {
        let out = match r {
            Ok(e) if webcare_desk::live::may_see(&p, &e.event) => {
                let kind = &e.event.kind;
                let name = if kind.starts_with("reply.") {
                    e.event
                        .case_id
                        .map_or("reply".to_owned(), |id| format!("reply-{id}"))
                } else if kind.starts_with("sla.") {
                    "sla".to_owned()
                } else {
                    "case".to_owned()
                };
                Some(Ok(Event::default().event(name).data(e.seq.to_string())))
            }
            _ => None,
        };
        async move { out }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

// ------------------------------------------------------------------------------ board

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    layout: Layout,
    by_status: Vec<(String, i64)>,
    warnings: i64,
    breaches: i64,
    agents: Vec<(String, i64)>,
    unassigned: i64,
    oldest: String,
    /// The themes spiking now (issue 16), for the team lead to alert communications.
    spikes: Vec<String>,
}

pub async fn board(State(web): State<WebState>, user: WebUser) -> Response {
    if let Err(r) = allowed::<roles::Lead>(&user) {
        return r;
    }
    let b = match web.app.store.board(Utc::now()).await {
        Ok(b) => b,
        Err(e) => return api_error_page(e.into()),
    };
    let spikes = match web.app.store.open_spikes().await {
        Ok(s) => s,
        Err(e) => return api_error_page(e.into()),
    };
    let names = user_names(&web).await;
    render(
        StatusCode::OK,
        BoardPage {
            spikes: spikes
                .into_iter()
                .map(|s| {
                    let usual = format!("{:.1}", s.usual).replace('.', ",");
                    let since = format::datetime(s.started_at);
                    format!(
                        "{}: {} in het uur voor {since}, gewoonlijk {usual}",
                        s.theme, s.last_hour
                    )
                })
                .collect(),
            layout: Layout::of(&user, "Teamoverzicht"),
            by_status: b
                .open_by_status
                .into_iter()
                .map(|(s, n)| {
                    let label = s
                        .parse::<CaseStatus>()
                        .map_or(s.clone(), |s| format::status(s).to_owned());
                    (label, n)
                })
                .collect(),
            warnings: b.sla_warnings,
            breaches: b.sla_breaches,
            agents: b
                .agent_load
                .into_iter()
                .map(|(a, n)| (names.get(&a).cloned().unwrap_or(a), n))
                .collect(),
            unassigned: b.unassigned,
            oldest: b
                .oldest_unanswered_at
                .map(|t| {
                    format!(
                        "{} ({})",
                        format::datetime(t),
                        format::duration(Utc::now() - t)
                    )
                })
                .unwrap_or_else(|| "geen".into()),
        },
    )
}

/// User ids (as assignees are stored) to names.
pub(crate) async fn user_names(web: &WebState) -> HashMap<String, String> {
    web.app
        .store
        .list_users(None, 500)
        .await
        .map(|p| {
            p.items
                .into_iter()
                .map(|u| (u.id.to_string(), u.name))
                .collect()
        })
        .unwrap_or_default()
}

// ------------------------------------------------------------------------------ case

pub struct MessageView {
    id: Uuid,
    inbound: bool,
    public: bool,
    author: String,
    text: String,
    at: String,
    edits: Vec<String>,
    deleted: bool,
    bsn: bool,
    /// "Verbergen op het platform" is offered: a citizen's public message on a channel that can
    /// hide it, to a user who may reply, and not asked for yet.
    hideable: bool,
    /// Where hiding it on the platform is: in de wachtrij, verborgen, mislukt (with the reason);
    /// empty when never asked.
    hidden: String,
}

pub struct ReplyView {
    text: String,
    state: &'static str,
    state_css: &'static str,
    reason: String,
    at: String,
}

pub struct ClockLine {
    name: &'static str,
    state: String,
    due: String,
    css: &'static str,
    label: &'static str,
}

pub struct ForwardView {
    department: String,
    question: String,
    answer: String,
    returned: String,
}

/// Form errors: which form, and per field the message in Dutch.
#[derive(Default)]
pub struct Errors {
    form: &'static str,
    fields: BTreeMap<String, String>,
    general: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    layout: Layout,
    id: Uuid,
    status: &'static str,
    channel: &'static str,
    citizen: String,
    /// The citizen's page (`/burgers/{id}`).
    contact_id: Uuid,
    handles: Vec<String>,
    messages: Vec<MessageView>,
    bsn_warning: bool,
    /// The canned answer that moves the citizen to a private message, offered beside the BSN
    /// warning when the user may use it.
    move_to_private: Option<Uuid>,
    clocks: Vec<ClockLine>,
    replies: Vec<ReplyView>,
    notes: Vec<(String, String, String)>,
    audit: Vec<(String, String, String)>,
    forwards: Vec<ForwardView>,
    pending_answer: String,
    can_work: bool,
    can_claim: bool,
    can_answer: bool,
    canned: Vec<(Uuid, String)>,
    departments: Vec<(Uuid, String)>,
    agents: Vec<(Uuid, String)>,
    assignee: String,
    /// The case's theme (empty: none) and the themes to choose from: the admin's active themes,
    /// and the case's own even when it is retired.
    theme: String,
    themes: Vec<String>,
    /// The model's suggestion when the case came in, e.g. "Afval (82%)"; empty when none.
    suggestion: String,
    /// The satisfaction survey in one line; empty when none was scheduled.
    survey: String,
    reply_id: Uuid,
    values: HashMap<String, String>,
    errors: Errors,
    /// The zaak and the Open Klant registrations.
    links: crate::case_links::Links,
}

impl CasePage {
    fn err(&self, form: &str, field: &str) -> String {
        if self.errors.form == form {
            self.errors.fields.get(field).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    }

    fn general(&self, form: &str) -> String {
        if self.errors.form == form {
            self.errors.general.clone()
        } else {
            String::new()
        }
    }

    fn value(&self, form: &str, field: &str) -> String {
        if self.errors.form == form {
            self.values.get(field).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    }
}

#[derive(Template)]
#[template(path = "replies.html")]
struct RepliesPartial {
    replies: Vec<ReplyView>,
}

/// The case if the user may see it. Unlike the API (404, so existence does not leak to other
/// callers), a signed-in desk user who follows a link to another department's case gets a
/// 403 page: they are told it exists but is not theirs.
async fn case_for(web: &WebState, user: &WebUser, id: &str) -> Result<CaseRecord, Response> {
    let p = allowed::<roles::ReadScopedCases>(user)?;
    let Ok(id) = Uuid::parse_str(id) else {
        return Err(error_page(StatusCode::NOT_FOUND, "Deze zaak bestaat niet."));
    };
    match web.app.store.get_case(id).await {
        Ok(Some(c)) if p.case_scope().allows(&c) => Ok(c),
        Ok(Some(_)) => Err(error_page(
            StatusCode::FORBIDDEN,
            "Deze zaak is niet aan uw afdeling of team toegewezen.",
        )),
        Ok(None) => Err(error_page(StatusCode::NOT_FOUND, "Deze zaak bestaat niet.")),
        Err(e) => Err(api_error_page(e.into())),
    }
}

/// A hide action's state as the case page says it.
fn hide_state(state: &str, error: Option<String>) -> String {
    match state {
        "pending" => "verbergen op het platform: in de wachtrij".into(),
        "done" => "verborgen op het platform".into(),
        "failed" => format!(
            "verbergen op het platform mislukt: {}",
            error.as_deref().unwrap_or("onbekende reden")
        ),
        other => format!("verbergen op het platform: {other}"),
    }
}

fn reply_views(list: Vec<webcare_store::connectors::ReplyRecord>) -> Vec<ReplyView> {
    use webcare_domain::inbound::DeliveryState as D;
    list.into_iter()
        .map(|r| ReplyView {
            text: r.text,
            state: match r.state {
                D::Pending => "in de wachtrij",
                D::Sending => "wordt verstuurd",
                D::Sent => "verstuurd",
                D::Delivered => "afgeleverd",
                D::Read => "gelezen",
                D::Failed => "mislukt",
            },
            state_css: match r.state {
                D::Failed => "delivery-failed",
                D::Pending | D::Sending => "delivery-pending",
                _ => "delivery-ok",
            },
            reason: r.failure_reason.unwrap_or_default(),
            at: format::datetime(r.created_at),
        })
        .collect()
}

async fn case_view(
    web: &WebState,
    user: &WebUser,
    c: CaseRecord,
    errors: Errors,
    values: HashMap<String, String>,
) -> Response {
    match case_view_inner(web, user, c, errors, values).await {
        Ok(r) => r,
        Err(e) => api_error_page(e),
    }
}

async fn case_view_inner(
    web: &WebState,
    user: &WebUser,
    c: CaseRecord,
    errors: Errors,
    values: HashMap<String, String>,
) -> Result<Response, ApiError> {
    let store = &web.app.store;
    let id = c.id;
    let p = &user.principal;
    let can_work = p.require(roles::CaseWork::ROLES).is_ok();
    let can_answer =
        p.require(roles::DepartmentWork::ROLES).is_ok() && c.status == CaseStatus::Forwarded;
    let (messages, contact, replies, forwards, pending, account, survey, actions) = tokio::try_join!(
        store.case_messages(id),
        store.get_contact(c.contact_id),
        store.case_replies(id),
        store.list_forwards(id),
        store.department_answer(id),
        store.get_channel_account(c.channel_account_id),
        store.case_survey(id),
        store.case_platform_actions(id),
    )?;
    let can_hide = p.require(roles::Reply::ROLES).is_ok()
        && account
            .as_ref()
            .is_some_and(|a| platform_actions::can_hide(a.kind));
    let hidden: HashMap<Uuid, String> = actions
        .into_iter()
        .filter(|a| a.kind == PlatformActionKind::Hide)
        .filter_map(|a| Some((a.message_id?, hide_state(&a.state, a.last_error))))
        .collect();
    let sla = store.case_clock_views(id, Utc::now()).await?;
    let (_, lists) = webcare_desk::classification::current(&web.app).await?;
    let links = crate::case_links::of(&web.app, p, id).await?;
    let departments = store.list_departments(None, 200).await?.items;
    let dept_names: HashMap<Uuid, String> =
        departments.iter().map(|d| (d.id, d.name.clone())).collect();
    let (notes, audit, canned_list, agents) = if can_work {
        let notes = store.list_notes(id).await?;
        let audit = store
            .list_audit(
                AuditFilter {
                    case_id: Some(id),
                    ..Default::default()
                },
                None,
                100,
            )
            .await?
            .items;
        let canned_list = store.list_canned(None, None, None, 200).await?.items;
        let agents = store.list_users(None, 500).await?.items;
        (notes, audit, canned_list, agents)
    } else {
        Default::default()
    };
    // AVG: reading a citizen's messages is recorded, as the API's case read is.
    store
        .record_audit(webcare_store::NewAuditEvent {
            actor: p.actor(),
            action: "case.read".into(),
            case_id: Some(id),
            detail: serde_json::json!({"via": "web"}),
        })
        .await?;
    let now = Utc::now();
    let messages: Vec<MessageView> = messages
        .into_iter()
        .map(|m| MessageView {
            id: m.id,
            hideable: can_hide
                && m.direction == Direction::Inbound
                && m.visibility == Visibility::Public
                && !hidden.contains_key(&m.id),
            hidden: hidden.get(&m.id).cloned().unwrap_or_default(),
            inbound: m.direction == Direction::Inbound,
            public: m.visibility == Visibility::Public,
            author: m
                .author
                .display_name
                .clone()
                .or(m.author.handle.clone())
                .unwrap_or(m.author.platform_user_id.clone()),
            text: m.text,
            at: format::datetime(m.sent_at),
            edits: m.edit_history.into_iter().map(|e| e.text).collect(),
            deleted: m.deleted_at.is_some(),
            bsn: m.flags.iter().any(|f| f == "bsn"),
        })
        .collect();
    let bsn_warning = messages.iter().any(|m| m.bsn);
    let clocks = sla
        .into_iter()
        .map(|(kind, v)| {
            use webcare_domain::sla::clock::{ClockKind as K, ClockState as S};
            let running = v.state == S::Running;
            let u = if running {
                Urgency::at(now, v.due_at, v.warning_at)
            } else {
                Urgency::None
            };
            ClockLine {
                name: match kind {
                    K::Reaction => "Reactie",
                    K::NextReaction => "Volgende reactie",
                    K::Resolution => "Afhandeling",
                    K::Department => "Afdeling",
                },
                state: match v.state {
                    S::Running => "loopt".to_owned(),
                    S::Paused => "gepauzeerd".to_owned(),
                    S::Met => "gehaald".to_owned(),
                    S::Missed => "niet gehaald".to_owned(),
                    other => other.as_str().to_owned(),
                },
                due: v.due_at.map(format::datetime).unwrap_or_default(),
                css: u.css(),
                label: u.label(),
            }
        })
        .collect();
    let me = p.assignee_key();
    let canned: Vec<(Uuid, String)> = canned_list
        .into_iter()
        .filter(|x| canned::may_use(p, x))
        .map(|x| (x.id, x.title))
        .collect();
    let move_to_private = canned
        .iter()
        .find(|(_, title)| title == webcare_domain::canned::MOVE_TO_PRIVATE.0)
        .map(|(id, _)| *id);
    let assignee = c
        .assignee
        .as_deref()
        .map(|a| {
            agents
                .iter()
                .find(|u| u.id.to_string() == a)
                .map_or(a.to_owned(), |u| u.name.clone())
        })
        .unwrap_or_default();
    let page = CasePage {
        layout: Layout::of(user, "Zaak"),
        id,
        status: format::status(c.status),
        channel: account.as_ref().map_or("?", |a| format::channel(a.kind)),
        citizen: contact
            .as_ref()
            .and_then(|k| k.display_name.clone())
            .unwrap_or_else(|| "Onbekend".into()),
        contact_id: c.contact_id,
        handles: contact
            .map(|k| {
                k.identities
                    .into_iter()
                    .filter_map(|i| i.handle.or(i.display_name))
                    .collect()
            })
            .unwrap_or_default(),
        messages,
        bsn_warning,
        move_to_private,
        clocks,
        replies: reply_views(replies),
        notes: notes
            .into_iter()
            .map(|n| (n.author, format::datetime(n.created_at), n.text))
            .collect(),
        audit: audit
            .into_iter()
            .map(|a| (format::datetime(a.at), a.actor, a.action))
            .collect(),
        forwards: forwards
            .into_iter()
            .map(|f| ForwardView {
                department: dept_names
                    .get(&f.department_id)
                    .cloned()
                    .unwrap_or_default(),
                question: f.question,
                answer: f.answer.unwrap_or_default(),
                returned: f.return_reason.unwrap_or_default(),
            })
            .collect(),
        pending_answer: pending.unwrap_or_default(),
        can_work,
        can_claim: can_work
            && c.assignee.as_deref() != Some(me.as_str())
            && !matches!(c.status, CaseStatus::Resolved | CaseStatus::Closed),
        can_answer,
        canned,
        departments: departments.into_iter().map(|d| (d.id, d.name)).collect(),
        agents: agents
            .into_iter()
            .filter(|u| u.active && u.role != Role::Department)
            .map(|u| (u.id, u.name))
            .collect(),
        assignee,
        theme: c.theme.clone().unwrap_or_default(),
        themes: lists
            .offered(ListName::Themes, c.theme.as_deref())
            .into_iter()
            .map(|e| e.name.clone())
            .collect(),
        suggestion: c.suggested_theme.as_ref().map_or_else(String::new, |s| {
            format!("{} ({:.0}%)", s.theme, s.confidence * 100.0)
        }),
        survey: survey
            .as_ref()
            .map_or_else(String::new, crate::format::survey),
        reply_id: Uuid::now_v7(),
        values,
        errors: Errors {
            form: errors.form,
            fields: errors.fields,
            general: errors.general,
        },
        links,
    };
    let status = if page.errors.form.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(render(status, page))
}

pub async fn case_page(
    State(web): State<WebState>,
    user: WebUser,
    Path(id): Path<String>,
) -> Response {
    match case_for(&web, &user, &id).await {
        Ok(c) => case_view(&web, &user, c, Errors::default(), HashMap::new()).await,
        Err(r) => r,
    }
}

/// The delivery states of the case's replies (refreshed live on `reply-<id>` events).
pub async fn case_replies(
    State(web): State<WebState>,
    user: WebUser,
    Path(id): Path<String>,
) -> Response {
    let c = match case_for(&web, &user, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match web.app.store.case_replies(c.id).await {
        Ok(list) => render(
            StatusCode::OK,
            RepliesPartial {
                replies: reply_views(list),
            },
        ),
        Err(e) => api_error_page(e.into()),
    }
}

#[derive(Template)]
#[template(path = "reply_text.html")]
struct ReplyText {
    text: String,
    error: String,
}

/// The chosen canned answer, filled in for this case, as the reply box's textarea.
pub async fn canned_preview(
    State(web): State<WebState>,
    user: WebUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let c = match case_for(&web, &user, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let p = match allowed::<roles::CaseWork>(&user) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(tid) = q.get("templateId").and_then(|t| Uuid::parse_str(t).ok()) else {
        return render(
            StatusCode::OK,
            ReplyText {
                text: String::new(),
                error: String::new(),
            },
        );
    };
    match canned::render_canned(&web.app, &p, tid, Some(c.id), BTreeMap::new()).await {
        Ok(text) => render(
            StatusCode::OK,
            ReplyText {
                text,
                error: String::new(),
            },
        ),
        Err(e) => render(
            StatusCode::OK,
            ReplyText {
                text: String::new(),
                error: match e {
                    DeskError::Invalid(ps) => ps
                        .iter()
                        .map(|p| format::invalid_param(&p.code, &p.reason))
                        .collect::<Vec<_>>()
                        .join(" "),
                    other => other.to_string(),
                },
            },
        ),
    }
}

// ------------------------------------------------------------------------------ actions

type FormMap = HashMap<String, String>;

/// After an action: back to the case (303), or the case page again with the API's validation
/// messages next to the fields of `form` and nothing changed.
async fn after(
    web: &WebState,
    user: &WebUser,
    id: Uuid,
    form: &'static str,
    values: FormMap,
    r: Result<(), DeskError>,
) -> Response {
    let mut errors = Errors {
        form,
        ..Default::default()
    };
    match r {
        Ok(()) => return Redirect::to(&format!("/cases/{id}")).into_response(),
        Err(DeskError::Invalid(ps)) => {
            for p in ps {
                errors
                    .fields
                    .insert(p.name.clone(), format::invalid_param(&p.code, &p.reason));
            }
        }
        Err(DeskError::Conflict(m)) => errors.general = format!("Dat kan nu niet: {m}"),
        Err(e @ DeskError::InvalidTransition { .. }) => {
            errors.general = format!("Dat kan niet in deze status: {e}")
        }
        Err(e) => return api_error_page(e.into()),
    }
    match web.app.store.get_case(id).await {
        Ok(Some(c)) => case_view(web, user, c, errors, values).await,
        Ok(None) => error_page(StatusCode::NOT_FOUND, "Deze zaak bestaat niet."),
        Err(e) => api_error_page(e.into()),
    }
}

fn field(f: &FormMap, k: &str) -> String {
    f.get(k).cloned().unwrap_or_default()
}

fn uuid_field(f: &FormMap, k: &str, what: &str) -> Result<Uuid, DeskError> {
    Uuid::parse_str(f.get(k).map(String::as_str).unwrap_or("").trim())
        .map_err(|_| DeskError::invalid(k, "required", format!("kies {what}")))
}

/// What a form posted to `.../{id}/...` carries: the signed-in user, the path's id, the form.
pub(crate) async fn user_path_form<F: serde::de::DeserializeOwned>(
    req: Request,
    web: &WebState,
) -> Result<(WebUser, String, F), Response> {
    let (mut parts, body) = req.into_parts();
    let user = WebUser::from_request_parts(&mut parts, web).await?;
    let Path(id) = Path::<String>::from_request_parts(&mut parts, web)
        .await
        .map_err(IntoResponse::into_response)?;
    let Form(f) = Form::<F>::from_request(Request::from_parts(parts, body), web)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((user, id, f))
}

/// A form posted to an action on a case: the user, the case id and the form, then the case
/// (which the user must be able to see) and the action's policy `P`, checked in that order.
pub struct CaseForm<P: Policy> {
    web: WebState,
    user: WebUser,
    id: Uuid,
    p: Authorized<P>,
    f: FormMap,
}

impl<P: Policy> FromRequest<WebState> for CaseForm<P> {
    type Rejection = Response;

    async fn from_request(req: Request, web: &WebState) -> Result<Self, Response> {
        let (user, id, f) = user_path_form::<FormMap>(req, web).await?;
        let id = case_for(web, &user, &id).await?.id;
        let p = allowed::<P>(&user)?;
        Ok(CaseForm {
            web: web.clone(),
            user,
            id,
            p,
            f,
        })
    }
}

impl<P: Policy> CaseForm<P> {
    fn field(&self, k: &str) -> String {
        field(&self.f, k)
    }

    /// See [`after`]; `form` names the form that was posted.
    async fn after<T>(self, form: &'static str, r: Result<T, DeskError>) -> Response {
        after(&self.web, &self.user, self.id, form, self.f, r.map(|_| ())).await
    }
}

pub async fn claim(State(web): State<WebState>, user: WebUser, Path(id): Path<String>) -> Response {
    let id = match case_for(&web, &user, &id).await {
        Ok(c) => c.id,
        Err(r) => return r,
    };
    let p = match allowed::<roles::CaseWork>(&user) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let r = case_work::claim_case(&web.app, &p, id).await.map(|_| ());
    after(&web, &user, id, "claim", FormMap::new(), r).await
}

pub async fn assign(a: CaseForm<roles::CaseWork>) -> Response {
    let assignee = a.field("assignee");
    let patch = serde_json::json!({ "assignee": (!assignee.is_empty()).then_some(assignee) });
    let r = match serde_json::from_value::<case_work::CasePatch>(patch) {
        Ok(b) => case_work::patch_case(&a.web.app, &a.p, a.id, b).await,
        Err(e) => Err(DeskError::invalid("assignee", "invalid", e.to_string())),
    };
    a.after("assign", r).await
}

/// Sets (or clears) the case's theme; an agent's tag also teaches the theme suggestions.
pub async fn set_theme(a: CaseForm<roles::CaseWork>) -> Response {
    let theme = a.field("theme");
    let patch = serde_json::json!({ "theme": (!theme.is_empty()).then_some(theme) });
    let r = match serde_json::from_value::<case_work::CasePatch>(patch) {
        Ok(b) => case_work::patch_case(&a.web.app, &a.p, a.id, b).await,
        Err(e) => Err(DeskError::invalid("theme", "invalid", e.to_string())),
    };
    a.after("theme", r).await
}

pub async fn resolve(a: CaseForm<roles::CaseWork>) -> Response {
    let patch = serde_json::json!({
        "status": "resolved",
        "confirmUndelivered": a.f.contains_key("confirmUndelivered"),
    });
    let r = match serde_json::from_value::<case_work::CasePatch>(patch) {
        Ok(b) => case_work::patch_case(&a.web.app, &a.p, a.id, b).await,
        Err(e) => return api_error_page(ApiError::BadRequest(e.to_string())),
    };
    a.after("resolve", r).await
}

pub async fn reply(a: CaseForm<roles::Reply>) -> Response {
    let f = &a.f;
    let r = async {
        let text = field(f, "text");
        let template_id = match f.get("templateId").map(|s| s.trim()) {
            None | Some("") => None,
            Some(t) => Some(Uuid::parse_str(t).map_err(|_| {
                DeskError::invalid("templateId", "unknown", "no canned answer with this id")
            })?),
        };
        // The form's reply id makes a double submit one reply (the API's Idempotency-Key).
        let reply_id = f
            .get("replyId")
            .and_then(|s| Uuid::parse_str(s).ok())
            .unwrap_or_else(Uuid::now_v7);
        let body = replies::NewReplyBody {
            text: (!text.trim().is_empty()).then_some(text),
            visibility: match f.get("visibility").map(String::as_str) {
                Some("public") => Some(Visibility::Public),
                Some("private") => Some(Visibility::Private),
                _ => None,
            },
            process_answer: f.contains_key("processAnswer"),
            template_id,
            whatsapp_template: None,
        };
        replies::create_reply(&a.web.app, &a.p, a.id, reply_id, body).await
    }
    .await;
    a.after("reply", r).await
}

pub async fn forward(a: CaseForm<roles::CaseWork>) -> Response {
    let r = match uuid_field(&a.f, "departmentId", "een afdeling") {
        Ok(department_id) => {
            let question = a.field("question");
            let b = case_work::ForwardRequest {
                department_id,
                question,
            };
            case_work::forward_case(&a.web.app, &a.p, a.id, b).await
        }
        Err(e) => Err(e),
    };
    a.after("forward", r).await
}

pub async fn answer(a: CaseForm<roles::DepartmentWork>) -> Response {
    let b = case_work::DepartmentAnswer {
        text: a.field("text"),
    };
    let r = case_work::answer_forward(&a.web.app, &a.p, a.id, b).await;
    // The answered case leaves the department's scope: back to its inbox.
    if r.is_ok() && a.user.principal.role == Role::Department {
        return Redirect::to("/inbox").into_response();
    }
    a.after("answer", r).await
}

pub async fn hand_back(a: CaseForm<roles::CaseWork>) -> Response {
    let b = case_work::ReturnRequest {
        reason: a.field("reason"),
    };
    let r = case_work::return_case(&a.web.app, &a.p, a.id, b).await;
    a.after("return", r).await
}

/// Hides a citizen's public message on its platform, as
/// `POST /api/v1/cases/{id}/messages/{messageId}/hide` does; the outbox sends it.
pub async fn hide(a: CaseForm<roles::Reply>) -> Response {
    let r = match uuid_field(&a.f, "messageId", "een bericht") {
        Ok(m) => platform_actions::hide_message(&a.web.app, &a.p, a.id, m).await,
        Err(e) => Err(e),
    };
    a.after("hide", r).await
}

pub async fn note(a: CaseForm<roles::CaseWork>) -> Response {
    let b = case_work::NewNote {
        text: a.field("text"),
    };
    let r = case_work::add_note_to(&a.web.app, &a.p, a.id, b).await;
    a.after("note", r).await
}
