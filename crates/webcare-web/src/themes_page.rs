//! Beheer: the classification lists and theme rules (`/beheer/themas`, admin). One form per list
//! (themes with their UPL URIs; kinds and target groups by their fixed codes, with a Dutch text
//! and retiring) and one for the rules (a theme before resolving, spike detection), each with
//! the version the admin read: a change made meanwhile is a 409 with the page reloaded. They
//! store through the use cases `PUT /api/v1/themes`, `/kinds`, `/target-groups` and
//! `/theme-rules` call (`webcare_desk::classification`), so the same input is refused.

use crate::pages::{api_error_page, render, Layout};
use crate::routing_page::{get, Fields};
use crate::session::WebUser;
use crate::WebState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use webcare_api::auth::{roles, Authorized};
use webcare_desk::{classification, DeskError, InvalidParam};
use webcare_domain::classification::{
    Classification, Entry, ListName, SpikeRule, MAX_ENTRIES, MAX_NAME, MAX_URI,
};

const BASE: &str = "/beheer/themas";
/// Above a form whose refusals are all beside its inputs.
const BESIDE: &str = "Niet opgeslagen; zie de meldingen bij de velden.";
/// Empty rows offered for new themes.
const EMPTY_ROWS: usize = 3;

#[derive(Default)]
struct Row {
    index: usize,
    name: String,
    label: String,
    upl: String,
    retired: bool,
    /// The refusals beside this row's inputs.
    name_error: String,
    label_error: String,
    upl_error: String,
}

struct ListForm {
    key: &'static str,
    title: &'static str,
    fixed: bool,
    rows: Vec<Row>,
    /// The version this form was read at.
    version: i64,
    /// What is wrong with the list as a whole (or a stale form), above its table.
    errors: Vec<String>,
}

#[derive(Template)]
#[template(path = "themes_admin.html")]
struct ThemesPage {
    layout: Layout,
    /// The version the rules form was read at.
    version: i64,
    lists: Vec<ListForm>,
    require: bool,
    spike_on: bool,
    factor: String,
    minimum: String,
    weeks: String,
    rule_errors: Vec<String>,
    factor_error: String,
    minimum_error: String,
    weeks_error: String,
}

const LISTS: [(&str, &str, ListName); 3] = [
    ("themas", "Thema's", ListName::Themes),
    ("soorten", "Soorten", ListName::Kinds),
    ("doelgroepen", "Doelgroepen", ListName::TargetGroups),
];

fn page_of(user: &WebUser, version: i64, c: &Classification) -> ThemesPage {
    let lists = LISTS
        .iter()
        .map(|(key, title, l)| {
            let fixed = l.codes().is_some();
            let mut rows: Vec<Row> = c
                .list(*l)
                .iter()
                .map(|e| Row {
                    name: e.name.clone(),
                    label: e.label.clone().unwrap_or_default(),
                    upl: e.upl_uri.clone().unwrap_or_default(),
                    retired: e.retired,
                    ..Row::default()
                })
                .collect();
            if !fixed {
                rows.extend((0..EMPTY_ROWS).map(|_| Row::default()));
            }
            for (i, r) in rows.iter_mut().enumerate() {
                r.index = i;
            }
            ListForm {
                key,
                title,
                fixed,
                rows,
                version,
                errors: Vec::new(),
            }
        })
        .collect();
    ThemesPage {
        layout: Layout::of(user, "Thema's, soorten en doelgroepen"),
        version,
        lists,
        require: c.require_theme_to_resolve,
        spike_on: c.spike.enabled,
        factor: c.spike.factor.to_string().replace('.', ","),
        minimum: c.spike.min_count.to_string(),
        weeks: c.spike.weeks.to_string(),
        rule_errors: Vec::new(),
        factor_error: String::new(),
        minimum_error: String::new(),
        weeks_error: String::new(),
    }
}

async fn current(web: &WebState, user: &WebUser) -> Result<ThemesPage, Response> {
    let (version, c) = classification::current(&web.app)
        .await
        .map_err(|e| api_error_page(e.into()))?;
    Ok(page_of(user, version, &c))
}

/// `GET /beheer/themas`.
pub async fn page(State(web): State<WebState>, user: WebUser) -> Response {
    if let Err(e) = Authorized::<roles::AdminOnly>::check(user.principal.clone()) {
        return api_error_page(e);
    }
    match current(&web, &user).await {
        Ok(p) => render(StatusCode::OK, p),
        Err(r) => r,
    }
}

/// The rows of a list form as typed, numbered as on the page.
fn rows_of(f: &Fields) -> Vec<Row> {
    (0..)
        .map_while(|i| {
            let key = |k: &str| format!("{k}_{i}");
            f.iter().any(|(n, _)| n == &key("naam")).then(|| Row {
                index: i,
                name: get(f, &key("naam")).to_owned(),
                label: get(f, &key("tekst")).to_owned(),
                upl: get(f, &key("upl")).to_owned(),
                retired: !get(f, &key("uit")).is_empty(),
                ..Row::default()
            })
        })
        .collect()
}

/// The entries of a list form, each with the page's row it came from; a row with an empty
/// name is left out (so the API's `items[i]` is not always row `i`).
fn entries(rows: &[Row]) -> Vec<(usize, Entry)> {
    let opt = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    rows.iter()
        .filter(|r| !r.name.trim().is_empty())
        .map(|r| {
            let e = Entry {
                name: r.name.trim().to_owned(),
                label: opt(&r.label),
                upl_uri: opt(&r.upl),
                retired: r.retired,
            };
            (r.index, e)
        })
        .collect()
}

/// A refusal of a list or the rules in Dutch.
fn dutch(p: &InvalidParam) -> String {
    let field = p.name.rsplit('.').next().unwrap_or_default();
    match (field, p.code.as_str()) {
        (_, "too_long") => format!("Te lang: hoogstens {MAX_NAME} tekens."),
        (_, "duplicate") => "Deze naam staat al in de lijst (hoofdletters tellen niet).".into(),
        ("uplUri", "not_allowed") => "Alleen een thema heeft een UPL-URI.".into(),
        ("uplUri", _) => {
            format!("Vul een volledig http- of https-adres in (hoogstens {MAX_URI} tekens).")
        }
        ("name" | "label", _) if p.reason.contains("control") => {
            "Gebruik geen tabs of regeleinden.".into()
        }
        ("name", _) => "Vul een naam in.".into(),
        ("label", _) => "Vul een tekst in, of laat het vak leeg.".into(),
        ("factor", _) => "Vul een getal van 1 tot en met 100 in, bijvoorbeeld 2,5.".into(),
        ("minCount", _) => "Vul een heel getal van 1 tot en met 10000 in.".into(),
        ("weeks", _) => "Vul een heel getal van 1 tot en met 52 in.".into(),
        (_, "too_many") => format!("Te veel regels: hoogstens {MAX_ENTRIES}."),
        (_, "empty") => "Houd minstens één thema in gebruik.".into(),
        (_, "fixed_codes") => {
            "Elke vaste code hoort één keer in de lijst; geef een eigen tekst of zet de code \
             buiten gebruik."
                .into()
        }
        (_, "in_use") => format!(
            "Dit thema staat op zaken en kan niet weg: zet het buiten gebruik ({}).",
            p.reason
                .strip_prefix("cases carry ")
                .and_then(|r| r.split(':').next())
                .unwrap_or_default()
        ),
        _ => p.reason.clone(),
    }
}

/// The row (`items[3].uplUri`: 3) of a refusal, if it names one.
fn item_of(name: &str) -> Option<usize> {
    name.strip_prefix("items[")?.split(']').next()?.parse().ok()
}

fn number<T: std::str::FromStr>(f: &Fields, k: &str) -> Option<T> {
    get(f, k).trim().replace(',', ".").parse().ok()
}

/// `POST /beheer/themas`: one list, or the rules. A refusal shows the form as typed with the
/// messages beside the inputs; a stale form shows the lists as they are now.
pub async fn save(State(web): State<WebState>, user: WebUser, Form(f): Form<Fields>) -> Response {
    let caller = match Authorized::<roles::AdminOnly>::check(user.principal.clone()) {
        Ok(c) => c,
        Err(e) => return api_error_page(e),
    };
    let seen = get(&f, "versie").trim().parse::<i64>().ok();
    let which = get(&f, "lijst");
    let list = LISTS.iter().find(|(k, _, _)| *k == which);
    let rows = rows_of(&f);
    let (r, rows_of_items) = match list {
        Some((_, _, l)) => {
            let (at, items): (Vec<usize>, Vec<Entry>) = entries(&rows).into_iter().unzip();
            let r = classification::set_list(&web.app, &caller.0, seen, *l, items).await;
            (r, at)
        }
        None => {
            let spike = SpikeRule {
                enabled: !get(&f, "piek").is_empty(),
                // Unreadable numbers are refused by the rule's own bounds.
                factor: number(&f, "factor").unwrap_or(f64::NAN),
                min_count: number(&f, "minimum").unwrap_or(0),
                weeks: number(&f, "weken").unwrap_or(0),
            };
            let require = !get(&f, "verplicht").is_empty();
            let r = classification::set_rules(&web.app, &caller.0, seen, require, spike).await;
            (r, Vec::new())
        }
    };
    let ps = match r {
        Ok(_) => return Redirect::to(BASE).into_response(),
        Err(DeskError::Invalid(ps)) => ps,
        Err(DeskError::Conflict(_)) => {
            let mut page = match current(&web, &user).await {
                Ok(p) => p,
                Err(r) => return r,
            };
            let stale = "Iemand anders heeft de lijsten intussen gewijzigd. Er is niets \
                         opgeslagen; hieronder staan ze zoals ze nu zijn. Breng uw wijziging \
                         opnieuw aan."
                .to_owned();
            match page.lists.iter_mut().find(|l| l.key == which) {
                Some(l) => l.errors = vec![stale],
                None => page.rule_errors = vec![stale],
            }
            return render(StatusCode::CONFLICT, page);
        }
        Err(e) => return api_error_page(e.into()),
    };
    let mut page = match current(&web, &user).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match page.lists.iter_mut().find(|l| l.key == which) {
        Some(l) => {
            // The list as typed (with the version it was read at, so a save made from it is
            // still checked), each refusal beside its input.
            l.version = seen.unwrap_or(l.version);
            l.rows = rows;
            for p in &ps {
                let row = item_of(&p.name)
                    .and_then(|i| rows_of_items.get(i))
                    .and_then(|r| l.rows.get_mut(*r));
                let text = dutch(p);
                match (row, p.name.rsplit('.').next()) {
                    (Some(r), Some("name")) => r.name_error = text,
                    (Some(r), Some("label")) => r.label_error = text,
                    (Some(r), Some("uplUri")) => r.upl_error = text,
                    _ => l.errors.push(text),
                }
            }
            if l.errors.is_empty() {
                l.errors.push(BESIDE.into());
            }
        }
        None => {
            page.version = seen.unwrap_or(page.version);
            page.require = !get(&f, "verplicht").is_empty();
            page.spike_on = !get(&f, "piek").is_empty();
            page.factor = get(&f, "factor").to_owned();
            page.minimum = get(&f, "minimum").to_owned();
            page.weeks = get(&f, "weken").to_owned();
            for p in &ps {
                let text = dutch(p);
                match p.name.as_str() {
                    "spike.factor" => page.factor_error = text,
                    "spike.minCount" => page.minimum_error = text,
                    "spike.weeks" => page.weeks_error = text,
                    _ => page.rule_errors.push(text),
                }
            }
            if page.rule_errors.is_empty() {
                page.rule_errors.push(BESIDE.into());
            }
        }
    }
    render(StatusCode::BAD_REQUEST, page)
}
