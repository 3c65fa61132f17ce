//! Beheer: the classification lists and theme rules (`/beheer/themas`, admin). One form per list
//! (themes with their UPL URIs; kinds and target groups by their fixed codes, with a Dutch text
//! and retiring) and one for the rules (a theme before resolving, spike detection), each with
//! the version the admin read: a change made meanwhile is a 409 with the page reloaded. They
//! store through the use cases `PUT /api/v1/themes`, `/kinds`, `/target-groups` and
//! `/theme-rules` call (`webcare_desk::classification`), so the same input is refused.

use crate::format::invalid_param;
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
use webcare_desk::{classification, DeskError};
use webcare_domain::classification::{Classification, Entry, ListName, SpikeRule};

const BASE: &str = "/beheer/themas";
/// Empty rows offered for new themes.
const EMPTY_ROWS: usize = 3;

struct Row {
    index: usize,
    name: String,
    label: String,
    upl: String,
    retired: bool,
}

struct ListForm {
    key: &'static str,
    title: &'static str,
    fixed: bool,
    rows: Vec<Row>,
    errors: Vec<String>,
}

#[derive(Template)]
#[template(path = "themes_admin.html")]
struct ThemesPage {
    layout: Layout,
    version: i64,
    lists: Vec<ListForm>,
    require: bool,
    spike_on: bool,
    factor: String,
    minimum: String,
    weeks: String,
    rule_errors: Vec<String>,
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
                    index: 0,
                    name: e.name.clone(),
                    label: e.label.clone().unwrap_or_default(),
                    upl: e.upl_uri.clone().unwrap_or_default(),
                    retired: e.retired,
                })
                .collect();
            if !fixed {
                rows.extend((0..EMPTY_ROWS).map(|_| Row {
                    index: 0,
                    name: String::new(),
                    label: String::new(),
                    upl: String::new(),
                    retired: false,
                }));
            }
            for (i, r) in rows.iter_mut().enumerate() {
                r.index = i;
            }
            ListForm {
                key,
                title,
                fixed,
                rows,
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

/// The entries of a list form; a row with an empty name is left out.
fn entries(f: &Fields) -> Vec<Entry> {
    let mut out = Vec::new();
    for i in 0.. {
        let key = |k: &str| format!("{k}_{i}");
        if !f.iter().any(|(n, _)| n == &key("naam")) {
            break;
        }
        let name = get(f, &key("naam")).trim();
        if name.is_empty() {
            continue;
        }
        let opt = |k: &str| Some(get(f, &key(k)).trim().to_owned()).filter(|v| !v.is_empty());
        out.push(Entry {
            name: name.to_owned(),
            label: opt("tekst"),
            upl_uri: opt("upl"),
            retired: !get(f, &key("uit")).is_empty(),
        });
    }
    out
}

fn number<T: std::str::FromStr>(f: &Fields, k: &str) -> Option<T> {
    get(f, k).trim().replace(',', ".").parse().ok()
}

/// `POST /beheer/themas`: one list, or the rules.
pub async fn save(State(web): State<WebState>, user: WebUser, Form(f): Form<Fields>) -> Response {
    let caller = match Authorized::<roles::AdminOnly>::check(user.principal.clone()) {
        Ok(c) => c,
        Err(e) => return api_error_page(e),
    };
    let seen = get(&f, "versie").trim().parse::<i64>().ok();
    let which = get(&f, "lijst");
    let list = LISTS.iter().find(|(k, _, _)| *k == which);
    let r = match list {
        Some((_, _, l)) => {
            classification::set_list(&web.app, &caller.0, seen, *l, entries(&f)).await
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
            classification::set_rules(&web.app, &caller.0, seen, require, spike).await
        }
    };
    let (status, errors) = match r {
        Ok(_) => return Redirect::to(BASE).into_response(),
        Err(DeskError::Invalid(ps)) => (
            StatusCode::BAD_REQUEST,
            ps.iter()
                .map(|p| format!("{}: {}", p.name, invalid_param(&p.code, &p.reason)))
                .collect(),
        ),
        Err(DeskError::Conflict(_)) => (
            StatusCode::CONFLICT,
            vec!["De lijsten zijn intussen gewijzigd. Breng uw wijziging opnieuw aan.".to_owned()],
        ),
        Err(e) => return api_error_page(e.into()),
    };
    let mut page = match current(&web, &user).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match page.lists.iter_mut().find(|l| l.key == which) {
        Some(l) => l.errors = errors,
        None => page.rule_errors = errors,
    }
    render(status, page)
}
