//! Beheer: the cost model (`/beheer/kostenmodel`, admin). One form with a row per line (and a
//! few empty rows to add one; a row left empty is left out), an effective date and the version
//! the admin read: a change made meanwhile is a 409 with the form kept. It stores through the same
//! use case as `PUT /api/v1/cost-model` (`webcare_desk::costs`), so the same lines are refused,
//! here in Dutch beside the field.

use crate::pages::{api_error_page, render, Layout};
use crate::routing_page::{get, Fields};
use crate::session::WebUser;
use crate::WebState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{TimeZone, Utc};
use chrono_tz::Europe::Amsterdam;
use std::collections::HashMap;
use webcare_api::auth::{roles, Authorized};
use webcare_desk::{costs, DeskError};
use webcare_domain::costs::{CostLine, CostModel, LineKind, Per, MAX_LINES};

const BASE: &str = "/beheer/kostenmodel";
/// Empty rows offered for new lines.
const EMPTY_ROWS: usize = 3;

/// One row of the form, as text (what was typed stays on a refused form).
#[derive(Default, Clone)]
struct LineRow {
    /// The row's number in the form (its fields' suffix).
    index: usize,
    name: String,
    staff: bool,
    hours: String,
    salary: String,
    amount: String,
    monthly: bool,
    yearly: String,
    errors: HashMap<&'static str, String>,
}

impl LineRow {
    fn error(&self, field: &str) -> &str {
        self.errors.get(field).map_or("", String::as_str)
    }
}

struct VersionRow {
    version: i64,
    from: String,
    total: String,
    in_force: bool,
}

#[derive(Template)]
#[template(path = "cost_model.html")]
struct CostModelPage {
    layout: Layout,
    general: String,
    version: i64,
    yearly_total: String,
    rows: Vec<LineRow>,
    from: String,
    from_error: String,
    versions: Vec<VersionRow>,
}

/// Euros the Dutch way: `49.410,00`.
fn euros(cents: i64) -> String {
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("€ {grouped},{:02}", cents % 100)
}

/// A number as typed in a Dutch form: `0,5`, `29250`, `29.250` or `29.250,50`.
fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim().replace([' ', '€'], "");
    let plain = if s.contains(',') {
        s.replace('.', "").replace(',', ".")
    } else if s.split('.').skip(1).all(|g| g.len() == 3) && s.contains('.') {
        // Dots between groups of three digits are thousands.
        s.replace('.', "")
    } else {
        s
    };
    plain.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A number shown in the form: a decimal comma, no needless decimals.
fn shown(v: Option<f64>) -> String {
    v.map(|v| {
        let s = format!("{v:.2}");
        let s = s.trim_end_matches('0').trim_end_matches('.').to_owned();
        s.replace('.', ",")
    })
    .unwrap_or_default()
}

fn row_of(l: &CostLine) -> LineRow {
    LineRow {
        name: l.name.clone(),
        staff: l.kind == LineKind::Staff,
        hours: shown(l.hours_per_week),
        salary: shown(l.yearly_salary),
        amount: shown(l.amount),
        monthly: l.per == Some(Per::Month),
        yearly: euros(l.yearly_cents()),
        errors: HashMap::new(),
        index: 0,
    }
}

fn with_empty_rows(mut rows: Vec<LineRow>) -> Vec<LineRow> {
    rows.extend((0..EMPTY_ROWS).map(|_| LineRow {
        staff: true,
        ..LineRow::default()
    }));
    numbered(rows)
}

fn numbered(mut rows: Vec<LineRow>) -> Vec<LineRow> {
    for (i, r) in rows.iter_mut().enumerate() {
        r.index = i;
    }
    rows
}

async fn page_of(web: &WebState, user: &WebUser) -> Result<CostModelPage, Response> {
    let m = costs::model(&web.app, Utc::now())
        .await
        .map_err(|e| api_error_page(e.into()))?;
    let now = Utc::now();
    let current = m
        .versions
        .iter()
        .filter(|v| v.effective_from <= now)
        .max_by_key(|v| (v.effective_from, v.version))
        .map(|v| v.version);
    Ok(CostModelPage {
        layout: Layout::of(user, "Kostenmodel"),
        general: String::new(),
        version: m.versions.last().map_or(0, |v| v.version),
        yearly_total: euros(m.in_force.yearly_cents()),
        rows: with_empty_rows(m.in_force.lines.iter().map(row_of).collect()),
        from: String::new(),
        from_error: String::new(),
        versions: m
            .versions
            .iter()
            .map(|v| VersionRow {
                version: v.version,
                from: v
                    .effective_from
                    .with_timezone(&Amsterdam)
                    .format("%d-%m-%Y %H:%M")
                    .to_string(),
                total: euros(v.model.yearly_cents()),
                in_force: Some(v.version) == current,
            })
            .collect(),
    })
}

/// `GET /beheer/kostenmodel`.
pub async fn page(State(web): State<WebState>, user: WebUser) -> Response {
    if let Err(e) = Authorized::<roles::AdminOnly>::check(user.principal.clone()) {
        return api_error_page(e);
    }
    match page_of(&web, &user).await {
        Ok(p) => render(StatusCode::OK, p),
        Err(r) => r,
    }
}

/// The rows of the form, and the model they make (rows left empty are left out). A number that
/// cannot be read is refused beside its field.
fn read_form(f: &Fields) -> (Vec<LineRow>, Vec<usize>, CostModel, bool) {
    let mut rows = Vec::new();
    let mut kept = Vec::new();
    let mut lines = Vec::new();
    let mut bad = false;
    for i in 0.. {
        let key = |k: &str| format!("{k}_{i}");
        if !f.iter().any(|(n, _)| n == &key("naam")) {
            break;
        }
        let mut row = LineRow {
            name: get(f, &key("naam")).to_owned(),
            staff: get(f, &key("soort")) != "vast",
            hours: get(f, &key("uren")).to_owned(),
            salary: get(f, &key("salaris")).to_owned(),
            amount: get(f, &key("bedrag")).to_owned(),
            monthly: get(f, &key("per")) == "maand",
            ..LineRow::default()
        };
        let empty = [&row.name, &row.hours, &row.salary, &row.amount]
            .iter()
            .all(|v| v.trim().is_empty());
        if !empty {
            let mut number = |field: &'static str, text: &str| -> Option<f64> {
                if text.trim().is_empty() {
                    return None;
                }
                let v = parse_number(text);
                if v.is_none() {
                    row.errors
                        .insert(field, "Vul een getal in, bijvoorbeeld 1.250 of 0,5.".into());
                    bad = true;
                }
                v
            };
            let (hours, salary, amount) =
                (row.hours.clone(), row.salary.clone(), row.amount.clone());
            let line = if row.staff {
                CostLine {
                    name: row.name.trim().to_owned(),
                    kind: LineKind::Staff,
                    hours_per_week: number("uren", &hours),
                    yearly_salary: number("salaris", &salary),
                    amount: None,
                    per: None,
                }
            } else {
                CostLine {
                    name: row.name.trim().to_owned(),
                    kind: LineKind::Fixed,
                    hours_per_week: None,
                    yearly_salary: None,
                    amount: number("bedrag", &amount),
                    per: Some(if row.monthly { Per::Month } else { Per::Year }),
                }
            };
            kept.push(rows.len());
            lines.push(line);
        }
        rows.push(row);
    }
    (rows, kept, CostModel { lines }, bad)
}

/// The Dutch refusal for a field of a line.
fn dutch(field: &str) -> (&'static str, &'static str) {
    match field {
        "name" => ("naam", "Geef de regel een naam (hoogstens 200 tekens)."),
        "hoursPerWeek" => (
            "uren",
            "Vul de uren per week in: meer dan 0, hoogstens twee decimalen.",
        ),
        "yearlySalary" => (
            "salaris",
            "Vul het jaarsalaris in: 0 of meer, hoogstens twee decimalen.",
        ),
        _ => (
            "bedrag",
            "Vul het bedrag in: 0 of meer, hoogstens twee decimalen.",
        ),
    }
}

/// Shows the refusal of `field` (`lines[3].amount`: the fourth kept row's amount) beside it; a
/// refusal of the whole model in `general`. `keep`: an earlier refusal of the field stays.
fn place(rows: &mut [LineRow], kept: &[usize], general: &mut String, field: &str, keep: bool) {
    let parsed = field
        .strip_prefix("lines[")
        .and_then(|r| r.split_once("]."))
        .and_then(|(i, f)| Some((*kept.get(i.parse::<usize>().ok()?)?, f)));
    match parsed {
        Some((row, f)) => {
            let (key, text) = dutch(f);
            let e = rows[row].errors.entry(key);
            if keep {
                e.or_insert_with(|| text.into());
            } else {
                *e.or_default() = text.into();
            }
        }
        None => *general = format!("Hoogstens {MAX_LINES} regels."),
    }
}

/// `POST /beheer/kostenmodel`: a new version of the model.
pub async fn save(State(web): State<WebState>, user: WebUser, Form(f): Form<Fields>) -> Response {
    let caller = match Authorized::<roles::AdminOnly>::check(user.principal.clone()) {
        Ok(c) => c,
        Err(e) => return api_error_page(e),
    };
    let mut page = match page_of(&web, &user).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (mut rows, kept, model, mut bad) = read_form(&f);
    page.from = get(&f, "vanaf").to_owned();
    let today = Utc::now().with_timezone(&Amsterdam).date_naive();
    let effective_from = match page.from.trim() {
        "" => None,
        d => match crate::format::parse_date(d).ok_or(()) {
            Ok(d) if d < today => {
                page.from_error = "Kies vandaag of een latere datum.".into();
                bad = true;
                None
            }
            // Today: from now on (midnight has passed).
            Ok(d) if d == today => None,
            Ok(d) => Amsterdam
                .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
                .earliest()
                .map(|t| t.with_timezone(&Utc)),
            Err(_) => {
                page.from_error = "Vul een datum in (dd-mm-jjjj).".into();
                bad = true;
                None
            }
        },
    };
    // The domain's refusals, beside the fields (a number that could not be read keeps its own).
    for e in model.check() {
        bad = true;
        place(&mut rows, &kept, &mut page.general, &e.field, true);
    }
    let seen: i64 = get(&f, "versie").trim().parse().unwrap_or(-1);
    let status = if bad {
        StatusCode::BAD_REQUEST
    } else {
        match costs::set_model(
            &web.app,
            &caller.0,
            (seen > 0).then_some(seen),
            model,
            effective_from,
        )
        .await
        {
            Ok(_) => return Redirect::to(BASE).into_response(),
            Err(DeskError::Invalid(ps)) => {
                for p in ps {
                    match p.name.strip_prefix("model.") {
                        Some(field) => place(&mut rows, &kept, &mut page.general, field, false),
                        None => page.from_error = "Kies vandaag of een latere datum.".into(),
                    }
                }
                StatusCode::BAD_REQUEST
            }
            Err(DeskError::Conflict(_)) => {
                page.general = "Het kostenmodel is intussen gewijzigd. Laad de pagina opnieuw en \
                                breng uw wijziging opnieuw aan."
                    .into();
                StatusCode::CONFLICT
            }
            Err(e) => return api_error_page(e.into()),
        }
    };
    if page.general.is_empty() && status == StatusCode::BAD_REQUEST {
        page.general = "Het kostenmodel is niet opgeslagen; zie de velden hieronder.".into();
    }
    page.rows = numbered(rows);
    render(status, page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dutch_numbers_are_read_and_shown() {
        for (typed, value) in [
            ("29250", Some(29_250.0)),
            ("29.250", Some(29_250.0)),
            ("1.250,50", Some(1_250.5)),
            ("0,5", Some(0.5)),
            ("12.5", Some(12.5)),
            ("€ 750", Some(750.0)),
            ("veel", None),
            ("", None),
        ] {
            assert_eq!(parse_number(typed), value, "{typed}");
        }
        assert_eq!(shown(Some(0.5)), "0,5");
        assert_eq!(shown(Some(29_250.0)), "29250");
        assert_eq!(shown(Some(0.0)), "0");
        assert_eq!(euros(4_941_000), "€ 49.410,00");
        assert_eq!(euros(96_526), "€ 965,26");
        assert_eq!(euros(5), "€ 0,05");
    }
}
