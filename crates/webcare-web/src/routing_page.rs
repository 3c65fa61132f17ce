//! Beheer: the routing rules (`/beheer/routering`, issues 13 and 14). Team leads read the rules in
//! force and try them on a sample text; admins add, change, move and remove rules. Every change
//! calls the use case the API's `/routing-rules` calls (`webcare_desk::routing`) with the version
//! the page showed, so an edit made on a page that is out of date is a conflict, never a lost
//! update.

use crate::format;
use crate::pages::{allowed, api_error_page, error_page, render, user_path_form, Layout};
use crate::session::WebUser;
use crate::WebState;
use askama::Template;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{NaiveTime, Weekday};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;
use webcare_api::auth::{roles, Authorized};
use webcare_desk::routing::{self, RoutingTest, RulePatch, Tried};
use webcare_desk::DeskError;
use webcare_domain::classification::ListName;
use webcare_domain::routing::{Actions, Conditions, OpeningHours, RuleSpec};
use webcare_domain::{ChannelKind, Priority, Visibility};
use webcare_store::routing::StoredRule;

const PATH: &str = "/beheer/routering";

/// A posted form as its pairs: check boxes repeat a key.
pub(crate) type Fields = Vec<(String, String)>;

pub(crate) fn get<'a>(f: &'a [(String, String)], k: &str) -> &'a str {
    f.iter()
        .find(|(n, _)| n == k)
        .map_or("", |(_, v)| v.as_str())
}

fn all<'a>(f: &'a [(String, String)], k: &'a str) -> impl Iterator<Item = &'a str> {
    f.iter()
        .filter(move |(n, _)| n == k)
        .map(|(_, v)| v.as_str())
}

/// A comma-separated list, trimmed, without empty items.
fn items(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn text(s: &str) -> Option<String> {
    Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned)
}

pub struct Opt {
    pub(crate) value: String,
    pub(crate) label: String,
    pub(crate) selected: bool,
}

pub(crate) fn opts<'a>(
    all: impl IntoIterator<Item = (String, String)>,
    chosen: impl Fn(&str) -> bool + 'a,
) -> Vec<Opt> {
    all.into_iter()
        .map(|(value, label)| Opt {
            selected: chosen(&value),
            value,
            label,
        })
        .collect()
}

/// A select's choices with "(geen)" first, the form's value selected.
pub(crate) fn select(form: &[(String, String)], k: &str, all: Vec<(String, String)>) -> Vec<Opt> {
    let current = get(form, k);
    let none = (String::new(), "(geen)".to_owned());
    opts(std::iter::once(none).chain(all), |v| v == current)
}

fn visibility_label(v: Visibility) -> &'static str {
    match v {
        Visibility::Public => "openbaar",
        Visibility::Private => "privé",
    }
}

pub(crate) fn priority_label(p: Priority) -> &'static str {
    match p {
        Priority::Low => "laag",
        Priority::Normal => "normaal",
        Priority::High => "hoog",
        Priority::Urgent => "spoed",
    }
}

fn hours_label(h: OpeningHours) -> &'static str {
    match h {
        OpeningHours::Within => "binnen openingstijden",
        OpeningHours::Outside => "buiten openingstijden",
    }
}

const WEEKDAYS: [(Weekday, &str); 7] = [
    (Weekday::Mon, "maandag"),
    (Weekday::Tue, "dinsdag"),
    (Weekday::Wed, "woensdag"),
    (Weekday::Thu, "donderdag"),
    (Weekday::Fri, "vrijdag"),
    (Weekday::Sat, "zaterdag"),
    (Weekday::Sun, "zondag"),
];

fn weekday_key(d: Weekday) -> String {
    d.to_string().to_lowercase()
}

fn weekday_label(d: Weekday) -> &'static str {
    WEEKDAYS
        .iter()
        .find(|(w, _)| *w == d)
        .map_or("?", |(_, l)| l)
}

fn quoted(v: &[String]) -> String {
    v.iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a rule's conditions ask, in Dutch.
fn conditions_text(c: &Conditions) -> String {
    let mut parts = Vec::new();
    let join = |v: Vec<&str>| v.join(" of ");
    if !c.channel_kinds.is_empty() {
        let v = c
            .channel_kinds
            .iter()
            .map(|k| format::channel(*k))
            .collect();
        parts.push(format!("kanaal {}", join(v)));
    }
    if !c.channel_account_ids.is_empty() {
        parts.push(format!(
            "{} gekozen account(s)",
            c.channel_account_ids.len()
        ));
    }
    if let Some(v) = c.visibility {
        parts.push(format!("bericht {}", visibility_label(v)));
    }
    if !c.themes.is_empty() {
        parts.push(format!("thema {}", quoted(&c.themes)));
    }
    if !c.kinds.is_empty() {
        parts.push(format!(
            "rubriek {}",
            join(c.kinds.iter().map(|k| k.as_str()).collect())
        ));
    }
    if !c.target_groups.is_empty() {
        parts.push(format!(
            "doelgroep {}",
            join(c.target_groups.iter().map(|k| k.as_str()).collect())
        ));
    }
    if !c.keywords.is_empty() {
        parts.push(format!(
            "tekst bevat {}",
            quoted(&c.keywords).replace(", ", " of ")
        ));
    }
    if let Some(p) = &c.pattern {
        parts.push(format!("tekst past op patroon '{p}'"));
    }
    if !c.flags.is_empty() {
        parts.push(format!("kenmerk {}", c.flags.join(" en ")));
    }
    if !c.weekdays.is_empty() {
        parts.push(format!(
            "op {}",
            join(c.weekdays.iter().map(|d| weekday_label(*d)).collect())
        ));
    }
    match (c.time_from, c.time_to) {
        (Some(a), Some(b)) => parts.push(format!("van {} tot {}", hhmm(a), hhmm(b))),
        (Some(a), None) => parts.push(format!("vanaf {}", hhmm(a))),
        (None, Some(b)) => parts.push(format!("voor {}", hhmm(b))),
        (None, None) => {}
    }
    if let Some(h) = c.opening_hours {
        parts.push(hours_label(h).to_owned());
    }
    if parts.is_empty() {
        "elk bericht".to_owned()
    } else {
        parts.join("; ")
    }
}

/// What a rule's actions do, in Dutch.
fn actions_text(a: &Actions, departments: &HashMap<Uuid, String>) -> String {
    let mut parts = Vec::new();
    if let Some(t) = &a.team {
        parts.push(format!("naar team {t}"));
    }
    if let Some(d) = a.department_id {
        let name = departments
            .get(&d)
            .cloned()
            .unwrap_or_else(|| d.to_string());
        parts.push(format!("doorzetten naar {name}"));
    }
    if let Some(p) = a.priority {
        parts.push(format!("prioriteit {}", priority_label(p)));
    }
    if let Some(t) = &a.theme {
        parts.push(format!("thema '{t}' (als de zaak er geen heeft)"));
    }
    if let Some(k) = a.kind {
        parts.push(format!("rubriek {k} (als de zaak er geen heeft)"));
    }
    if let Some(g) = a.target_group {
        parts.push(format!("doelgroep {g} (als de zaak er geen heeft)"));
    }
    if !a.labels.is_empty() {
        parts.push(format!("labels {}", a.labels.join(", ")));
    }
    if let Some(z) = &a.create_zaak {
        parts.push(format!("zaak aanmaken van zaaktype {z}"));
    }
    parts.join("; ")
}

/// An audit actor as people read it: `user:<id>:<email>` as the email, `token:<name>:<id>` as
/// the token's name.
fn actor_name(actor: &str) -> &str {
    match actor.split(':').collect::<Vec<_>>().as_slice() {
        ["user", _, email] => email,
        ["token", name, _] => name,
        _ => actor,
    }
}

fn hhmm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

/// A rule as the form shows it.
fn rule_fields(r: &StoredRule) -> Fields {
    let (s, c, a) = (&r.spec, &r.spec.conditions, &r.spec.actions);
    let mut f: Fields = vec![
        ("naam".into(), s.name.clone()),
        ("trefwoorden".into(), c.keywords.join(", ")),
        ("patroon".into(), c.pattern.clone().unwrap_or_default()),
        ("themas".into(), c.themes.join(", ")),
        ("kenmerken".into(), c.flags.join(", ")),
        ("van".into(), c.time_from.map(hhmm).unwrap_or_default()),
        ("tot".into(), c.time_to.map(hhmm).unwrap_or_default()),
        (
            "zichtbaarheid".into(),
            c.visibility.map_or("", |v| v.as_str()).into(),
        ),
        (
            "openingstijden".into(),
            c.opening_hours.map_or("", hours_key).into(),
        ),
        ("team".into(), a.team.clone().unwrap_or_default()),
        (
            "afdeling".into(),
            a.department_id.map(|d| d.to_string()).unwrap_or_default(),
        ),
        (
            "prioriteit".into(),
            a.priority.map_or("", |p| p.as_str()).into(),
        ),
        ("actieThema".into(), a.theme.clone().unwrap_or_default()),
        ("labels".into(), a.labels.join(", ")),
        ("zaaktype".into(), a.create_zaak.clone().unwrap_or_default()),
    ];
    if s.enabled {
        f.push(("actief".into(), "1".into()));
    }
    f.extend(
        c.channel_kinds
            .iter()
            .map(|k| ("kanaal".into(), k.as_str().into())),
    );
    f.extend(c.weekdays.iter().map(|d| ("dag".into(), weekday_key(*d))));
    f
}

fn hours_key(h: OpeningHours) -> &'static str {
    match h {
        OpeningHours::Within => "within",
        OpeningHours::Outside => "outside",
    }
}

/// A field the page checks itself (times, choices) before the use case checks the rule.
fn bad(field: &str, message: &str) -> DeskError {
    DeskError::invalid(field, "form", message)
}

fn parse_time(f: &[(String, String)], k: &str) -> Result<Option<NaiveTime>, DeskError> {
    let v = get(f, k).trim();
    if v.is_empty() {
        return Ok(None);
    }
    NaiveTime::parse_from_str(v, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(v, "%H:%M:%S"))
        .map(Some)
        .map_err(|_| bad(k, "Vul een tijd in als uu:mm, bijvoorbeeld 17:00."))
}

fn parse_choice<T: std::str::FromStr>(
    f: &[(String, String)],
    k: &str,
) -> Result<Option<T>, DeskError> {
    match get(f, k).trim() {
        "" => Ok(None),
        v => v
            .parse()
            .map(Some)
            .map_err(|_| bad(k, "Kies een van de mogelijkheden.")),
    }
}

/// The rule the form describes; what the form does not show (accounts, rubrieken, doelgroepen)
/// is kept from `base`, the rule as it is.
fn rule_from(f: &[(String, String)], base: &RuleSpec) -> Result<RuleSpec, DeskError> {
    let hours = match get(f, "openingstijden") {
        "within" => Some(OpeningHours::Within),
        "outside" => Some(OpeningHours::Outside),
        _ => None,
    };
    let department_id = match get(f, "afdeling").trim() {
        "" => None,
        v => Some(Uuid::parse_str(v).map_err(|_| bad("afdeling", "Kies een bestaande afdeling."))?),
    };
    let mut channel_kinds = Vec::new();
    for k in all(f, "kanaal") {
        channel_kinds.push(
            k.parse()
                .map_err(|_| bad("kanaal", "Kies een van de kanalen."))?,
        );
    }
    let mut weekdays = Vec::new();
    for d in all(f, "dag") {
        weekdays.push(
            d.parse()
                .map_err(|_| bad("dag", "Kies een van de dagen."))?,
        );
    }
    let conditions = Conditions {
        channel_kinds,
        visibility: parse_choice(f, "zichtbaarheid")?,
        themes: items(get(f, "themas")),
        keywords: items(get(f, "trefwoorden")),
        pattern: text(get(f, "patroon")),
        flags: items(get(f, "kenmerken")),
        weekdays,
        time_from: parse_time(f, "van")?,
        time_to: parse_time(f, "tot")?,
        opening_hours: hours,
        ..base.conditions.clone()
    };
    let actions = Actions {
        team: text(get(f, "team")),
        department_id,
        priority: parse_choice(f, "prioriteit")?,
        theme: text(get(f, "actieThema")),
        labels: items(get(f, "labels")),
        create_zaak: text(get(f, "zaaktype")),
        ..base.actions.clone()
    };
    Ok(RuleSpec {
        name: get(f, "naam").trim().to_owned(),
        enabled: !get(f, "actief").is_empty(),
        conditions,
        actions,
    })
}

/// The form field a use case's field name belongs to.
fn form_field(name: &str) -> &'static str {
    match name.split('[').next().unwrap_or(name) {
        "name" => "naam",
        "conditions.keywords" => "trefwoorden",
        "conditions.pattern" => "patroon",
        "conditions.themes" => "themas",
        "conditions.flags" => "kenmerken",
        "conditions.timeFrom" => "van",
        "conditions.timeTo" => "tot",
        "actions" => "acties",
        "actions.team" => "team",
        "actions.departmentId" => "afdeling",
        "actions.labels" => "labels",
        "actions.createZaak" => "zaaktype",
        "text" => "p_tekst",
        // The page's own checks name the form's fields.
        "van" => "van",
        "tot" => "tot",
        "afdeling" => "afdeling",
        _ => "",
    }
}

/// A use case's validation message in Dutch, by its code.
fn message(code: &str, reason: &str) -> String {
    let most = reason
        .trim_start_matches("at most ")
        .trim_end_matches(" characters");
    match code {
        "form" => reason.to_owned(),
        "invalid" => "Geef de regel een naam van 1 tot 200 tekens.".into(),
        "too_many" => format!("Te veel: hoogstens {most}."),
        "too_long" => format!("Te lang: hoogstens {most} tekens."),
        "invalid_keyword" => "Een trefwoord is een woord of woordgroep van hoogstens 100 tekens; \
                              een * mag alleen aan het begin of eind van één woord."
            .into(),
        "invalid_pattern" => format!("Dit is geen geldig patroon (reguliere expressie): {reason}"),
        "empty_interval" => "De eindtijd moet verschillen van de begintijd.".into(),
        "no_action" => "Een regel moet iets doen: kies minstens één actie.".into(),
        "unknown_team" => "Kies een bestaand team.".into(),
        "maximum" => "Kies een plaats in de lijst van hoogstens 500 regels.".into(),
        "invalid_url" => {
            "Vul de URL van het zaaktype in de Catalogi API in (http of https).".into()
        }
        other => format::invalid_param(other, reason),
    }
}

pub struct RuleLine {
    id: Uuid,
    number: usize,
    name: String,
    enabled: bool,
    conditions: String,
    actions: String,
    up: Option<usize>,
    down: Option<usize>,
}

/// What a try answered.
pub struct TryView {
    matched: bool,
    text: String,
}

/// What a Beheer page shows besides its list: the form (a new item, or the one being edited)
/// with its errors; here also the try form with its answer.
#[derive(Default)]
pub(crate) struct Shown {
    pub(crate) editing: Option<Uuid>,
    pub(crate) form: Fields,
    pub(crate) errors: BTreeMap<String, String>,
    pub(crate) general: String,
    pub(crate) sample: Fields,
    pub(crate) result: Option<TryView>,
}

#[derive(Template)]
#[template(path = "routing.html")]
struct RoutingPage {
    layout: Layout,
    admin: bool,
    version: i64,
    since: String,
    rules: Vec<RuleLine>,
    editing: Option<Uuid>,
    editing_name: String,
    form: Fields,
    errors: BTreeMap<String, String>,
    general: String,
    channels: Vec<Opt>,
    weekdays: Vec<Opt>,
    visibility: Vec<Opt>,
    hours: Vec<Opt>,
    teams: Vec<Opt>,
    departments: Vec<Opt>,
    priorities: Vec<Opt>,
    sample: Fields,
    sample_channels: Vec<Opt>,
    sample_visibility: Vec<Opt>,
    sample_hours: Vec<Opt>,
    result: Option<TryView>,
    /// The admin's active themes, offered in the theme fields.
    themes: Vec<String>,
}

impl RoutingPage {
    fn value(&self, k: &str) -> &str {
        get(&self.form, k)
    }

    fn checked(&self, k: &str) -> bool {
        !get(&self.form, k).is_empty()
    }

    fn sample_value(&self, k: &str) -> &str {
        get(&self.sample, k)
    }

    fn err(&self, k: &str) -> String {
        self.errors.get(k).cloned().unwrap_or_default()
    }
}

fn kinds() -> Vec<(String, String)> {
    ChannelKind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), format::channel(*k).to_owned()))
        .collect()
}

fn visibilities() -> Vec<(String, String)> {
    Visibility::ALL
        .iter()
        .map(|v| (v.as_str().to_owned(), visibility_label(*v).to_owned()))
        .collect()
}

fn opening_hours() -> Vec<(String, String)> {
    [OpeningHours::Within, OpeningHours::Outside]
        .into_iter()
        .map(|h| (hours_key(h).to_owned(), hours_label(h).to_owned()))
        .collect()
}

/// The page: the rules in force, and what `shown` adds; `status` 400 or 409 after a refused form.
async fn show(web: &WebState, user: &WebUser, status: StatusCode, s: Shown) -> Response {
    let store = &web.app.store;
    let loaded = async {
        let set = store.routing_rules().await?;
        let teams = store.list_teams(None, 200).await?.items;
        let departments = store.list_departments(None, 200).await?.items;
        let (_, lists) = store.classification().await?;
        Ok::<_, webcare_store::StoreError>((set, teams, departments, lists))
    };
    let (set, teams, departments, lists) = match loaded.await {
        Ok(r) => r,
        Err(e) => return api_error_page(e.into()),
    };
    let names: HashMap<Uuid, String> = departments.iter().map(|d| (d.id, d.name.clone())).collect();
    let (version, since, rules) = match set {
        Some(r) => (
            r.version,
            format!(
                "{} door {}",
                format::datetime(r.effective_from),
                actor_name(&r.created_by)
            ),
            r.rules,
        ),
        None => (0, String::new(), Vec::new()),
    };
    let n = rules.len();
    let editing_name = s
        .editing
        .and_then(|id| rules.iter().find(|r| r.id == id))
        .map(|r| r.spec.name.clone())
        .unwrap_or_default();
    let lines = rules
        .into_iter()
        .enumerate()
        .map(|(i, r)| RuleLine {
            id: r.id,
            number: i + 1,
            name: r.spec.name,
            enabled: r.spec.enabled,
            conditions: conditions_text(&r.spec.conditions),
            actions: actions_text(&r.spec.actions, &names),
            up: i.checked_sub(1),
            down: (i + 1 < n).then_some(i + 1),
        })
        .collect();
    let f = &s.form;
    let chosen_kinds: Vec<&str> = all(f, "kanaal").collect();
    let chosen_days: Vec<&str> = all(f, "dag").collect();
    let page = RoutingPage {
        themes: lists
            .offered(ListName::Themes, None)
            .into_iter()
            .map(|e| e.name.clone())
            .collect(),
        layout: Layout::of(user, "Routeringsregels"),
        admin: user.principal.role == webcare_domain::Role::Admin,
        version,
        since,
        rules: lines,
        editing: s.editing,
        editing_name,
        channels: opts(kinds(), |v| chosen_kinds.contains(&v)),
        weekdays: opts(
            WEEKDAYS
                .iter()
                .map(|(d, l)| (weekday_key(*d), (*l).to_owned())),
            |v| chosen_days.contains(&v),
        ),
        visibility: select(f, "zichtbaarheid", visibilities()),
        hours: select(f, "openingstijden", opening_hours()),
        teams: select(
            f,
            "team",
            teams
                .into_iter()
                .map(|t| (t.name.clone(), t.name))
                .collect(),
        ),
        departments: select(
            f,
            "afdeling",
            departments
                .into_iter()
                .map(|d| (d.id.to_string(), d.name))
                .collect(),
        ),
        priorities: select(
            f,
            "prioriteit",
            Priority::ALL
                .iter()
                .map(|p| (p.as_str().to_owned(), priority_label(*p).to_owned()))
                .collect(),
        ),
        sample_channels: opts(kinds(), |v| v == get(&s.sample, "p_kanaal")),
        sample_visibility: opts(visibilities(), |v| v == get(&s.sample, "p_zichtbaarheid")),
        sample_hours: opts(opening_hours(), |v| v == get(&s.sample, "p_openingstijden")),
        form: s.form,
        errors: s.errors,
        general: s.general,
        sample: s.sample,
        result: s.result,
    };
    render(status, page)
}

/// `GET /beheer/routering[?bewerk=<id>]`: the rules, and the form for a new or the chosen rule.
pub async fn page(
    State(web): State<WebState>,
    user: WebUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = allowed::<roles::Lead>(&user) {
        return r;
    }
    let mut shown = Shown {
        form: vec![("actief".into(), "1".into())],
        ..Default::default()
    };
    if let Some(id) = q.get("bewerk").and_then(|id| Uuid::parse_str(id).ok()) {
        match routing::rules_in_force(&web.app).await {
            Ok((_, rules)) => match rules.iter().find(|r| r.id == id) {
                Some(r) => {
                    shown.editing = Some(id);
                    shown.form = rule_fields(r);
                }
                None => return gone(),
            },
            Err(e) => return api_error_page(e.into()),
        }
    }
    show(&web, &user, StatusCode::OK, shown).await
}

fn gone() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Deze routeringsregel bestaat niet (meer).",
    )
}

/// The version the posted page showed: what the change must apply to.
fn seen(f: &[(String, String)]) -> Option<i64> {
    Some(get(f, "versie").parse().unwrap_or(-1))
}

/// After a change: back to the list (303), or the page again with the refusal and nothing
/// changed (400 with the messages beside the fields, 409 when the rules changed meanwhile).
async fn after<T>(
    web: &WebState,
    user: &WebUser,
    editing: Option<Uuid>,
    form: Fields,
    r: Result<T, DeskError>,
) -> Response {
    let mut shown = Shown {
        editing,
        form,
        ..Default::default()
    };
    let status = match r {
        Ok(_) => return Redirect::to(PATH).into_response(),
        Err(DeskError::Invalid(ps)) => {
            for p in ps {
                let text = message(&p.code, &p.reason);
                match form_field(&p.name) {
                    "" => shown.general = text,
                    k => {
                        shown.errors.entry(k.to_owned()).or_insert(text);
                    }
                }
            }
            if shown.general.is_empty() {
                shown.general =
                    "De regel is niet opgeslagen; zie de meldingen bij de velden.".into();
            }
            StatusCode::BAD_REQUEST
        }
        Err(DeskError::Conflict(_)) => {
            shown.general = "De regels zijn intussen door iemand anders gewijzigd. Er is niets \
                             opgeslagen: bekijk de regels zoals ze nu zijn en probeer het opnieuw."
                .into();
            StatusCode::CONFLICT
        }
        Err(DeskError::NotFound(_)) => return gone(),
        Err(e) => return api_error_page(e.into()),
    };
    show(web, user, status, shown).await
}

/// `POST /beheer/routering`: a new rule, last in the list.
pub async fn create(State(web): State<WebState>, user: WebUser, Form(f): Form<Fields>) -> Response {
    let p = match allowed::<roles::AdminOnly>(&user) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let base = RuleSpec {
        name: String::new(),
        enabled: true,
        conditions: Conditions::default(),
        actions: Actions::default(),
    };
    let r = match rule_from(&f, &base) {
        Ok(spec) => routing::add_rule(&web.app, &p, seen(&f), spec, None).await,
        Err(e) => Err(e),
    };
    after(&web, &user, None, f, r).await
}

/// A form posted on one rule: the admin, the rule's id from the path and the form.
pub struct RuleForm {
    web: WebState,
    user: WebUser,
    p: Authorized<roles::AdminOnly>,
    id: Uuid,
    f: Fields,
}

impl FromRequest<WebState> for RuleForm {
    type Rejection = Response;

    async fn from_request(req: Request, web: &WebState) -> Result<Self, Response> {
        let (user, id, f) = user_path_form::<Fields>(req, web).await?;
        let p = allowed::<roles::AdminOnly>(&user)?;
        let id = Uuid::parse_str(&id).map_err(|_| gone())?;
        Ok(RuleForm {
            web: web.clone(),
            user,
            p,
            id,
            f,
        })
    }
}

impl RuleForm {
    /// See [`after`]; `editing` keeps the form on the rule being edited.
    async fn after<T>(self, editing: bool, r: Result<T, DeskError>) -> Response {
        let (editing, form) = if editing {
            (Some(self.id), self.f)
        } else {
            (None, Vec::new())
        };
        after(&self.web, &self.user, editing, form, r).await
    }
}

/// `POST /beheer/routering/{id}`: the rule as the form says.
pub async fn update(a: RuleForm) -> Response {
    let r = async {
        let (_, rules) = routing::rules_in_force(&a.web.app).await?;
        let base = rules
            .into_iter()
            .find(|r| r.id == a.id)
            .ok_or_else(|| DeskError::NotFound("routing rule".into()))?
            .spec;
        let spec = rule_from(&a.f, &base)?;
        let patch = RulePatch {
            name: Some(spec.name),
            enabled: Some(spec.enabled),
            conditions: Some(spec.conditions),
            actions: Some(spec.actions),
            position: None,
            effective_from: None,
        };
        routing::change_rule(&a.web.app, &a.p, seen(&a.f), a.id, patch).await
    }
    .await;
    a.after(true, r).await
}

/// `POST /beheer/routering/{id}/verplaats`: the rule to place `positie` (from 0).
pub async fn move_rule(a: RuleForm) -> Response {
    let r = match get(&a.f, "positie").parse::<u32>() {
        Ok(position) => {
            let patch = RulePatch {
                position: Some(position),
                ..Default::default()
            };
            routing::change_rule(&a.web.app, &a.p, seen(&a.f), a.id, patch).await
        }
        Err(_) => Err(bad("positie", "Kies een plaats in de lijst.")),
    };
    a.after(false, r).await
}

/// `POST /beheer/routering/{id}/verwijder`.
pub async fn remove(a: RuleForm) -> Response {
    let r = routing::remove_rule(&a.web.app, &a.p, seen(&a.f), a.id).await;
    a.after(false, r).await
}

/// `POST /beheer/routering/probeer`: which rule would take the sample text, and why.
pub async fn try_rules(
    State(web): State<WebState>,
    user: WebUser,
    Form(f): Form<Fields>,
) -> Response {
    if let Err(r) = allowed::<roles::Lead>(&user) {
        return r;
    }
    let sample = RoutingTest {
        channel_kind: get(&f, "p_kanaal").parse().unwrap_or(ChannelKind::Api),
        channel_account_id: None,
        visibility: get(&f, "p_zichtbaarheid").parse().ok(),
        text: get(&f, "p_tekst").to_owned(),
        flags: Vec::new(),
        theme: None,
        kind: None,
        target_group: None,
        at: None,
        opening_hours: match get(&f, "p_openingstijden") {
            "outside" => Some(OpeningHours::Outside),
            _ => Some(OpeningHours::Within),
        },
    };
    let mut shown = Shown {
        form: vec![("actief".into(), "1".into())],
        ..Default::default()
    };
    let status = match routing::try_rules(&web.app, &sample).await {
        Ok(t) => {
            shown.result = Some(try_view(t));
            StatusCode::OK
        }
        Err(DeskError::Invalid(ps)) => {
            for p in ps {
                shown
                    .errors
                    .insert("p_tekst".into(), message(&p.code, &p.reason));
            }
            StatusCode::BAD_REQUEST
        }
        Err(e) => return api_error_page(e.into()),
    };
    shown.sample = f;
    show(&web, &user, status, shown).await
}

fn try_view(t: Tried) -> TryView {
    match t.hit {
        Some((i, rule, reasons)) => TryView {
            matched: true,
            text: format!(
                "Regel {} ('{}') past, in versie {}: {}.",
                i + 1,
                rule.spec.name,
                t.version,
                reasons.join(", ")
            ),
        },
        None => TryView {
            matched: false,
            text: format!(
                "Geen regel past (versie {}): de zaak gaat naar het standaardteam van het account.",
                t.version
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Fields {
        v.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_form_keeps_what_it_does_not_show() {
        let mut base = RuleSpec {
            name: "Oud".into(),
            enabled: true,
            conditions: Conditions::default(),
            actions: Actions::default(),
        };
        base.conditions.kinds = vec![webcare_domain::CaseKind::Klacht];
        let f = pairs(&[
            ("naam", " Avond "),
            ("kanaal", "x"),
            ("kanaal", "whatsapp"),
            ("dag", "sat"),
            ("trefwoorden", "boom, , *takken "),
            ("van", "17:00"),
            ("tot", "08:30"),
            ("openingstijden", "outside"),
            ("team", "groen"),
            ("prioriteit", "high"),
        ]);
        let spec = rule_from(&f, &base).unwrap();
        assert_eq!(spec.name, "Avond");
        assert!(!spec.enabled, "unchecked");
        let c = &spec.conditions;
        assert_eq!(c.channel_kinds, [ChannelKind::X, ChannelKind::Whatsapp]);
        assert_eq!(c.keywords, ["boom", "*takken"]);
        assert_eq!(c.weekdays, [Weekday::Sat]);
        assert_eq!(c.kinds, base.conditions.kinds, "kept");
        assert_eq!(
            conditions_text(c),
            "kanaal X of WhatsApp; rubriek klacht; tekst bevat 'boom' of '*takken'; op zaterdag; \
             van 17:00 tot 08:30; buiten openingstijden"
        );
        assert_eq!(
            actions_text(&spec.actions, &HashMap::new()),
            "naar team groen; prioriteit hoog"
        );
        // The form as it shows the rule reads back as the same rule.
        let stored = StoredRule {
            id: Uuid::nil(),
            spec: spec.clone(),
        };
        assert_eq!(rule_from(&rule_fields(&stored), &base).unwrap(), spec);
    }

    #[test]
    fn bad_times_are_named_by_their_field() {
        let base = RuleSpec {
            name: String::new(),
            enabled: true,
            conditions: Conditions::default(),
            actions: Actions::default(),
        };
        let Err(DeskError::Invalid(ps)) = rule_from(&pairs(&[("van", "25:99")]), &base) else {
            panic!("refused");
        };
        assert_eq!(form_field(&ps[0].name), "van");
        assert_eq!(form_field("conditions.keywords[3]"), "trefwoorden");
        assert_eq!(
            message("too_long", "at most 500 characters"),
            "Te lang: hoogstens 500 tekens."
        );
        assert_eq!(
            actor_name("user:0191:ada@gemeente.test"),
            "ada@gemeente.test"
        );
        assert_eq!(actor_name("token:bootstrap:0191"), "bootstrap");
    }
}
