//! Beheer: the opening-hours calendars (`/beheer/kalenders`, admin). The list, and per calendar
//! its weekly hours (several intervals a day), closures, extra openings, the Dutch holidays of
//! the coming year as they apply, the versions, and a preview of the next ten openings from the
//! domain's calendar math (Europe/Amsterdam, nl-NL dates). A change is a new version from an
//! effective date (today or later: the past is never rewritten) through the use cases the
//! API's `/calendars` calls (`webcare_desk::calendars`); the form carries the calendar's
//! `updatedAt`, so a stale form is a conflict.

use crate::format::{clock, iso_date, parse_date, shown_date};
use crate::pages::{allowed, api_error_page, error_page, render, Layout};
use crate::people_page::pairs;
use crate::people_page::Field;
use crate::routing_page::{get, opts, Fields};
use crate::session::WebUser;
use crate::WebState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, Datelike, Days, NaiveDate, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;
use uuid::Uuid;
use webcare_api::auth::roles;
use webcare_desk::calendars;
use webcare_desk::{DeskError, InvalidParam, STALE};
use webcare_domain::out_of_hours::{date_nl as day_long, WEEKDAYS};
use webcare_domain::sla::calendar::{
    ClosureSpec, ExtraOpeningSpec, HolidaysSpec, IntervalSpec, WeeklySpec,
};
use webcare_domain::sla::holidays::dutch_holidays;
use webcare_domain::sla::{CalendarSpec, CalendarVersions};
use webcare_store::sla::CalendarRecord;
use webcare_store::PageRequest;

const BASE: &str = "/beheer/kalenders";
const ZONE: &str = "Europe/Amsterdam";
/// The spec's days, Monday first, as the form's weekday inputs ([`WEEKDAYS`]).
const SPEC_DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const PREVIEW: usize = 10;

pub struct ListRow {
    name: String,
    href: String,
    now: String,
    versions: usize,
}

/// A line of a table: a heading cell and its text.
pub struct Line {
    head: String,
    text: String,
}

/// What the page shows of one calendar.
pub struct Shown {
    weekly: Vec<Line>,
    openings: Vec<String>,
    holidays: Vec<Line>,
    closures: Vec<Line>,
    extras: Vec<Line>,
    versions: Vec<Line>,
}

#[derive(Template)]
#[template(path = "calendars.html")]
struct CalendarsPage {
    layout: Layout,
    general: String,
    rows: Vec<ListRow>,
    shown: Option<Shown>,
    action: String,
    form_title: &'static str,
    version: String,
    fields: Vec<Field>,
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn intervals_text(list: &[IntervalSpec]) -> String {
    list.iter()
        .map(|[a, b]| format!("{a}-{b}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn hours_text(hours: &[(u32, u32)]) -> String {
    if hours.is_empty() {
        return "gesloten".into();
    }
    hours
        .iter()
        .map(|(a, b)| format!("{}-{}", clock(*a), clock(*b)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn with_reason(head: String, reason: &Option<String>) -> String {
    match reason {
        Some(r) if !r.is_empty() => format!("{head} {r}"),
        _ => head,
    }
}

/// The form of a spec (and name).
fn form_of(name: &str, spec: &CalendarSpec) -> Fields {
    let mut f: Fields = vec![("naam".into(), name.to_owned())];
    for (key, (_, list)) in WEEKDAYS.iter().zip(spec.weekly.days()) {
        f.push(((*key).into(), intervals_text(list)));
    }
    f.push(("feestdagen".into(), spec.holidays.set.clone()));
    let gf = if spec.holidays.good_friday {
        "ja"
    } else {
        "nee"
    };
    f.push(("goedevrijdag".into(), gf.into()));
    let closures: Vec<String> = spec
        .closures
        .iter()
        .map(|c| with_reason(shown_date(&c.date), &c.reason))
        .collect();
    f.push(("sluitingen".into(), closures.join("\n")));
    let extras: Vec<String> = spec
        .extra_openings
        .iter()
        .map(|x| {
            let times: Vec<String> = x
                .intervals
                .iter()
                .map(|[a, b]| format!("{a}-{b}"))
                .collect();
            with_reason(
                format!("{} {}", shown_date(&x.date), times.join(" ")),
                &x.reason,
            )
        })
        .collect();
    f.push(("extra".into(), extras.join("\n")));
    f
}

/// `08:30-12:00, 13:00-17:00` as intervals; what is not a `from-to` pair goes to the domain as
/// it is, which refuses it by name.
fn intervals(text: &str) -> Vec<IntervalSpec> {
    let text = text.replace('–', "-").replace(" -", "-").replace("- ", "-");
    text.split([',', ';', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.split_once('-') {
            Some((a, b)) => [a.trim().to_owned(), b.trim().to_owned()],
            None => [s.to_owned(), String::new()],
        })
        .collect()
}

fn is_interval(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_digit()) && word.contains(['-', '–'])
}

fn reason_of(words: &[&str]) -> Option<String> {
    Some(words.join(" ")).filter(|r| !r.is_empty())
}

/// The spec the form says, in `zone`.
fn spec_of(f: &Fields, zone: &str) -> CalendarSpec {
    let mut weekly = WeeklySpec::default();
    for (i, key) in WEEKDAYS.iter().enumerate() {
        if let Some(day) = weekly.day_mut(i) {
            *day = intervals(get(f, key));
        }
    }
    let closures = get(f, "sluitingen")
        .lines()
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let (date, rest) = words.split_first()?;
            Some(ClosureSpec {
                date: iso_date(date),
                reason: reason_of(rest),
            })
        })
        .collect();
    let extra_openings = get(f, "extra")
        .lines()
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let (date, rest) = words.split_first()?;
            let times = rest.iter().take_while(|w| is_interval(w)).count();
            let spans = rest[..times].join(",");
            Some(ExtraOpeningSpec {
                date: iso_date(date),
                intervals: intervals(&spans),
                reason: reason_of(&rest[times..]),
            })
        })
        .collect();
    CalendarSpec {
        time_zone: zone.to_owned(),
        weekly,
        holidays: HolidaysSpec {
            set: get(f, "feestdagen").to_owned(),
            good_friday: get(f, "goedevrijdag") == "ja",
        },
        closures,
        extra_openings,
    }
}

/// The field of the form a spec path belongs to, and the line (1-based) for the lists.
fn field_of(name: &str) -> (&'static str, Option<usize>) {
    let index = |rest: &str| {
        rest.trim_start_matches('[')
            .split(']')
            .next()
            .and_then(|i| i.parse::<usize>().ok())
    };
    if let Some(rest) = name.strip_prefix("weekly.") {
        let day = rest.split('[').next().unwrap_or_default();
        let i = SPEC_DAYS.iter().position(|d| *d == day).unwrap_or(0);
        return (WEEKDAYS[i], None);
    }
    if let Some(rest) = name.strip_prefix("closures") {
        return ("sluitingen", index(rest).map(|i| i + 1));
    }
    if let Some(rest) = name.strip_prefix("extraOpenings") {
        return ("extra", index(rest).map(|i| i + 1));
    }
    match name {
        "holidays.set" => ("feestdagen", None),
        "vanaf" => ("vanaf", None),
        _ => ("naam", None),
    }
}

/// The interval a spec path names (`weekly.monday[1]`, `extraOpenings[0].intervals[2]`), as
/// the admin typed it.
fn interval_at(spec: &CalendarSpec, name: &str) -> String {
    let last = |s: &str| {
        s.rsplit('[')
            .next()
            .and_then(|i| i.trim_end_matches(']').parse::<usize>().ok())
    };
    let list: Option<&[IntervalSpec]> = if let Some(rest) = name.strip_prefix("weekly.") {
        let day = rest.split('[').next().unwrap_or_default();
        spec.weekly
            .days()
            .into_iter()
            .find(|(d, _)| *d == day)
            .map(|(_, l)| l)
    } else {
        let line = field_of(name).1.unwrap_or(0);
        spec.extra_openings
            .get(line.wrapping_sub(1))
            .map(|x| x.intervals.as_slice())
    };
    match (list, last(name)) {
        (Some(l), Some(i)) => match l.get(i) {
            Some([a, b]) if b.is_empty() => a.clone(),
            Some([a, b]) => format!("{a}-{b}"),
            None => String::new(),
        },
        _ => String::new(),
    }
}

/// The line (1-based) of `text` that holds its `item`-th entry (1-based): blank lines are no
/// entry, but the admin counts them.
fn line_of(text: &str, item: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .nth(item.wrapping_sub(1))
        .map_or(item, |(n, _)| n + 1)
}

/// The date of a closure or extra opening a spec path names, as the admin typed it.
fn date_at(spec: &CalendarSpec, name: &str) -> String {
    let (field, line) = field_of(name);
    let i = line.unwrap_or(0).wrapping_sub(1);
    let date = match field {
        "sluitingen" => spec.closures.get(i).map(|c| &c.date),
        _ => spec.extra_openings.get(i).map(|x| &x.date),
    };
    date.cloned().unwrap_or_default()
}

/// A refusal of the domain or the use case in Dutch; `form` as posted, for the line numbers.
fn message(spec: &CalendarSpec, form: &Fields, p: &InvalidParam) -> String {
    let at = interval_at(spec, &p.name);
    let text = match p.code.as_str() {
        "required" => "Vul een naam in.".to_owned(),
        "too_long" => "Te lang: hoogstens 200 tekens.".to_owned(),
        "overlap" => {
            let other = p
                .reason
                .rsplit('(')
                .next()
                .unwrap_or_default()
                .trim_end_matches(')');
            format!(
                "{at} overlapt met {other}; tijdvakken op één dag mogen elkaar niet overlappen."
            )
        }
        "end_before_start" => format!("{at}: het einde moet na het begin liggen."),
        "invalid_time" => {
            format!("„{at}” is geen tijdvak; schrijf het als 08:30-12:00 (van 00:00 tot 24:00).")
        }
        "invalid_date" => format!(
            "„{}” is geen datum; schrijf hem als dd-mm-jjjj, bijvoorbeeld 24-12-2026.",
            date_at(spec, &p.name)
        ),
        "conflict" => "Deze datum staat ook bij de sluitingen.".to_owned(),
        "duplicate_date" => {
            "Deze datum staat twee keer bij de extra openingen; zet de tijden op één regel."
                .to_owned()
        }
        "unknown_holiday_set" => "Kies of de feestdagen gelden.".to_owned(),
        // The page's own refusals ("form") are Dutch already.
        _ => p.reason.clone(),
    };
    match field_of(&p.name) {
        (field, Some(item)) => format!("Regel {}: {text}", line_of(get(form, field), item)),
        (_, None) => text,
    }
}

/// The form's inputs, `f`'s values, `errors` beside them; `edit` adds the effective date.
fn fields(f: &Fields, errors: &BTreeMap<&'static str, String>, edit: bool) -> Vec<Field> {
    let mut out = Vec::new();
    let mut push = |key: &'static str, label: &'static str, kind: &'static str, options| {
        out.push(Field {
            key,
            label,
            kind,
            value: get(f, key).to_owned(),
            error: errors.get(key).cloned().unwrap_or_default(),
            options,
        });
    };
    push("naam", "Naam", "text", Vec::new());
    let labels = [
        "Maandag (bijvoorbeeld 08:30-12:00, 13:00-17:00; leeg: gesloten)",
        "Dinsdag",
        "Woensdag",
        "Donderdag",
        "Vrijdag",
        "Zaterdag",
        "Zondag",
    ];
    for (key, label) in WEEKDAYS.iter().zip(labels) {
        push(key, label, "text", Vec::new());
    }
    let chosen = |key: &'static str| move |v: &str| get(f, key) == v;
    let sets = pairs(&[
        ("nl", "Nederlandse feestdagen: gesloten"),
        ("none", "Feestdagen tellen niet"),
    ]);
    push(
        "feestdagen",
        "Feestdagen",
        "select",
        opts(sets, chosen("feestdagen")),
    );
    let gf = pairs(&[("nee", "Nee, open"), ("ja", "Ja, gesloten")]);
    push(
        "goedevrijdag",
        "Goede Vrijdag gesloten",
        "select",
        opts(gf, chosen("goedevrijdag")),
    );
    push(
        "sluitingen",
        "Sluitingen, één per regel: datum en reden (24-12-2026 kerstavond)",
        "datelines",
        Vec::new(),
    );
    push(
        "extra",
        "Extra openingen, één per regel: datum, tijden en reden (19-12-2026 10:00-14:00 koopzaterdag)",
        "datelines",
        Vec::new(),
    );
    if edit {
        push(
            "vanaf",
            "Geldig vanaf (vandaag of later; leeg: meteen)",
            "date",
            Vec::new(),
        );
    }
    out
}

fn zone_of(spec: &CalendarSpec) -> Tz {
    spec.time_zone
        .parse()
        .unwrap_or(chrono_tz::Europe::Amsterdam)
}

/// The first instant of local `date`.
fn midnight(tz: Tz, date: NaiveDate) -> Option<DateTime<Utc>> {
    let t = date.and_hms_opt(0, 0, 0)?;
    let local = tz.from_local_datetime(&t).earliest().or_else(|| {
        // Midnight in a DST gap: the first hour of the day that exists.
        tz.from_local_datetime(&(t + chrono::Duration::hours(1)))
            .earliest()
    })?;
    Some(local.with_timezone(&Utc))
}

/// The instant a change from the form's date takes effect: now for today (or no date), local
/// midnight for a later date; an earlier date is refused (the past is never rewritten).
pub(crate) fn effective_from(
    f: &Fields,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, DeskError> {
    let today = now.with_timezone(&tz).date_naive();
    let refuse = |why: &str| DeskError::invalid("vanaf", "form", why);
    match get(f, "vanaf").trim() {
        "" => Ok(now),
        v => match crate::format::parse_date(v).ok_or(()) {
            Err(()) => Err(refuse(crate::format::DATE_HINT)),
            Ok(d) if d < today => Err(refuse(
                "Kies vandaag of een latere datum: wat al voorbij is, blijft zoals het was.",
            )),
            Ok(d) if d == today => Ok(now),
            Ok(d) => midnight(tz, d).ok_or_else(|| refuse("Kies een bestaande datum.")),
        },
    }
}

fn summary(spec: &CalendarSpec) -> String {
    let days: Vec<String> = spec
        .weekly
        .days()
        .iter()
        .enumerate()
        .filter(|(_, (_, l))| !l.is_empty())
        .map(|(i, (_, l))| format!("{}: {}", WEEKDAYS[i], intervals_text(l)))
        .collect();
    if days.is_empty() {
        "nooit open".into()
    } else {
        days.join("\n")
    }
}

async fn all(web: &WebState) -> Result<Vec<CalendarRecord>, Response> {
    let page = PageRequest {
        limit: 200,
        ..Default::default()
    };
    match web.app.store.list_calendars(page).await {
        Ok(p) => Ok(p.items),
        Err(e) => Err(api_error_page(DeskError::from(e).into())),
    }
}

/// The spec in force at `at`, of a calendar's versions (sorted).
fn in_force(c: &CalendarRecord, at: DateTime<Utc>) -> Option<&CalendarSpec> {
    let first = c.versions.first()?;
    let v = c
        .versions
        .iter()
        .rev()
        .find(|v| v.effective_from <= at)
        .unwrap_or(first);
    Some(&v.spec)
}

fn list_rows(items: &[CalendarRecord], now: DateTime<Utc>) -> Vec<ListRow> {
    items
        .iter()
        .map(|c| ListRow {
            name: c.name.clone(),
            href: format!("{BASE}/{}", c.id),
            now: in_force(c, now).map(summary).unwrap_or_default(),
            versions: c.versions.len(),
        })
        .collect()
}

/// A stretch of the preview: `maandag 7 december 2026, 08:30-12:00`, with the end's date when
/// it runs past midnight.
fn opening_text(tz: Tz, (a, b): (DateTime<Utc>, DateTime<Utc>)) -> String {
    let (a, b) = (a.with_timezone(&tz), b.with_timezone(&tz));
    let day = day_long(a.date_naive());
    let next_midnight = a
        .date_naive()
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0));
    let until = if b.date_naive() == a.date_naive() || Some(b.naive_local()) == next_midnight {
        // A stretch to midnight ends at 24:00 of its own day.
        let end = if b.date_naive() == a.date_naive() {
            b.format("%H:%M").to_string()
        } else {
            "24:00".into()
        };
        end
    } else {
        format!("{} {}", day_long(b.date_naive()), b.format("%H:%M"))
    };
    format!("{day}, {}-{until}", a.format("%H:%M"))
}

/// A spec's `2026-12-24` as the holidays beside it: `donderdag 24 december 2026`.
fn long_date(iso: &str) -> String {
    parse_date(iso).map_or_else(|| iso.to_owned(), day_long)
}

fn shown(c: &CalendarRecord, versions: &CalendarVersions, now: DateTime<Utc>) -> Shown {
    let spec = in_force(c, now)
        .cloned()
        .unwrap_or_else(|| spec_of(&Vec::new(), ZONE));
    let tz = zone_of(&spec);
    let today = now.with_timezone(&tz).date_naive();
    let weekly = spec
        .weekly
        .days()
        .iter()
        .enumerate()
        .map(|(i, (_, l))| Line {
            head: WEEKDAYS[i].to_owned(),
            text: if l.is_empty() {
                "gesloten".into()
            } else {
                intervals_text(l)
            },
        })
        .collect();
    let openings = versions
        .openings(now, PREVIEW)
        .into_iter()
        .map(|o| opening_text(tz, o))
        .collect();
    let year_on = today.checked_add_days(Days::new(365)).unwrap_or(today);
    let holidays = (today.year()..=year_on.year())
        .flat_map(|y| dutch_holidays(y, true))
        .filter(|(d, _)| (today..=year_on).contains(d))
        .map(|(d, name)| {
            let noon = d
                .and_hms_opt(12, 0, 0)
                .and_then(|t| tz.from_local_datetime(&t).earliest())
                .map_or(now, |t| t.with_timezone(&Utc));
            let hours = versions.in_force(noon).hours_on(d);
            Line {
                head: format!("{name}, {}", day_long(d)),
                text: if hours.is_empty() {
                    "gesloten".into()
                } else {
                    format!("open {}", hours_text(&hours))
                },
            }
        })
        .collect();
    let closures = spec
        .closures
        .iter()
        .map(|x| Line {
            head: long_date(&x.date),
            text: x.reason.clone().unwrap_or_default(),
        })
        .collect();
    let extras = spec
        .extra_openings
        .iter()
        .map(|x| Line {
            head: long_date(&x.date),
            text: with_reason(intervals_text(&x.intervals), &x.reason),
        })
        .collect();
    let versions = c
        .versions
        .iter()
        .map(|v| Line {
            head: if v.effective_from <= DateTime::<Utc>::UNIX_EPOCH {
                "altijd".into()
            } else {
                crate::format::datetime(v.effective_from)
            },
            text: summary(&v.spec),
        })
        .collect();
    Shown {
        weekly,
        openings,
        holidays,
        closures,
        extras,
        versions,
    }
}

/// The default of a new calendar: weekdays 08:30-17:00.
fn new_form() -> Fields {
    let mut spec = spec_of(&Vec::new(), ZONE);
    for i in 0..5 {
        if let Some(day) = spec.weekly.day_mut(i) {
            day.push(["08:30".into(), "17:00".into()]);
        }
    }
    spec.holidays = HolidaysSpec::default();
    form_of("", &spec)
}

struct View<'a> {
    status: StatusCode,
    form: Fields,
    errors: BTreeMap<&'static str, String>,
    general: String,
    /// The calendar edited, with its validated versions.
    calendar: Option<(&'a CalendarRecord, CalendarVersions)>,
    rows: Vec<ListRow>,
}

fn show(user: &WebUser, v: View<'_>) -> Response {
    let now = Utc::now();
    let (title, action, form_title, version, shown) = match &v.calendar {
        Some((c, versions)) => (
            format!("Kalender {}", c.name),
            format!("{BASE}/{}", c.id),
            "Wijzigen (een nieuwe versie)",
            get(&v.form, "versie").to_owned(),
            Some(shown(c, versions, now)),
        ),
        None => (
            "Kalenders".to_owned(),
            BASE.to_owned(),
            "Nieuwe kalender",
            String::new(),
            None,
        ),
    };
    let fields = fields(&v.form, &v.errors, v.calendar.is_some());
    render(
        v.status,
        CalendarsPage {
            layout: Layout::of(user, title),
            general: v.general,
            rows: v.rows,
            shown,
            action,
            form_title,
            version,
            fields,
        },
    )
}

/// `GET /beheer/kalenders`.
pub async fn list(State(web): State<WebState>, user: WebUser) -> Response {
    if let Err(r) = allowed::<roles::AdminOnly>(&user) {
        return r;
    }
    let items = match all(&web).await {
        Ok(items) => items,
        Err(r) => return r,
    };
    let view = View {
        status: StatusCode::OK,
        form: new_form(),
        errors: BTreeMap::new(),
        general: String::new(),
        calendar: None,
        rows: list_rows(&items, Utc::now()),
    };
    show(&user, view)
}

fn gone() -> Response {
    error_page(StatusCode::NOT_FOUND, "Deze kalender bestaat niet (meer).")
}

async fn calendar(
    web: &WebState,
    id: &str,
) -> Result<(CalendarRecord, CalendarVersions), Response> {
    let id = Uuid::parse_str(id).map_err(|_| gone())?;
    let store = &web.app.store;
    let fail = |e: webcare_store::StoreError| api_error_page(DeskError::from(e).into());
    let c = store
        .get_calendar(id)
        .await
        .map_err(fail)?
        .ok_or_else(gone)?;
    let v = store
        .calendar_versions(id)
        .await
        .map_err(fail)?
        .ok_or_else(gone)?;
    Ok((c, v))
}

/// `GET /beheer/kalenders/{id}`: the calendar, its preview, and the form with its latest
/// version.
pub async fn page(State(web): State<WebState>, user: WebUser, Path(id): Path<String>) -> Response {
    if let Err(r) = allowed::<roles::AdminOnly>(&user) {
        return r;
    }
    let (c, versions) = match calendar(&web, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut form = match c.versions.last() {
        Some(v) => form_of(&c.name, &v.spec),
        None => new_form(),
    };
    form.push(("versie".into(), stamp(c.updated_at)));
    let view = View {
        status: StatusCode::OK,
        form,
        errors: BTreeMap::new(),
        general: String::new(),
        calendar: Some((&c, versions)),
        rows: Vec::new(),
    };
    show(&user, view)
}

/// The refusal as messages beside the fields.
fn refused(
    spec: &CalendarSpec,
    form: &Fields,
    e: DeskError,
) -> Result<(StatusCode, BTreeMap<&'static str, String>, String), Response> {
    let mut errors: BTreeMap<&'static str, String> = BTreeMap::new();
    let fields_text = "Niet opgeslagen; zie de meldingen bij de velden.".to_owned();
    match e {
        DeskError::Invalid(ps) => {
            for p in &ps {
                let text = message(spec, form, p);
                errors
                    .entry(field_of(&p.name).0)
                    .and_modify(|t| {
                        // A start and an end both unreadable say the same thing once.
                        if !t.contains(&text) {
                            t.push(' ');
                            t.push_str(&text);
                        }
                    })
                    .or_insert(text);
            }
            Ok((StatusCode::BAD_REQUEST, errors, fields_text))
        }
        DeskError::Conflict(m) if m == STALE => Ok((
            StatusCode::CONFLICT,
            errors,
            "Niet opgeslagen: deze kalender is intussen door iemand anders gewijzigd. \
             Open hem opnieuw en breng uw wijziging dan aan."
                .into(),
        )),
        DeskError::NotFound(_) => Err(gone()),
        e => Err(api_error_page(e.into())),
    }
}

/// `POST /beheer/kalenders`: a new calendar, in force always (like the API's default).
pub async fn create(State(web): State<WebState>, user: WebUser, Form(f): Form<Fields>) -> Response {
    let p = match allowed::<roles::AdminOnly>(&user) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let spec = spec_of(&f, ZONE);
    let from = DateTime::<Utc>::UNIX_EPOCH;
    let name = get(&f, "naam");
    let result = calendars::create_calendar(&web.app, &p, name, from, spec.clone()).await;
    answer(&web, &user, &spec, f, result, None).await
}

/// `POST /beheer/kalenders/{id}`: a new version from the chosen date; back to the calendar.
pub async fn update(
    State(web): State<WebState>,
    user: WebUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let p = match allowed::<roles::AdminOnly>(&user) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (c, versions) = match calendar(&web, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let zone = c
        .versions
        .last()
        .map_or_else(|| ZONE.to_owned(), |v| v.spec.time_zone.clone());
    let spec = spec_of(&f, &zone);
    let seen = DateTime::parse_from_rfc3339(get(&f, "versie"))
        .ok()
        .map(|t| t.with_timezone(&Utc));
    let result = match effective_from(&f, zone_of(&spec), Utc::now()) {
        Ok(from) => {
            let name = get(&f, "naam");
            calendars::put_version(&web.app, &p, c.id, name, from, spec.clone(), seen).await
        }
        // The date refused: say what else is wrong at once.
        Err(DeskError::Invalid(mut ps)) => {
            let more = spec.validate().err().unwrap_or_default();
            ps.extend(
                more.into_iter()
                    .map(|e| InvalidParam::new(e.name, e.code, e.reason)),
            );
            Err(DeskError::Invalid(ps))
        }
        Err(e) => Err(e),
    };
    answer(&web, &user, &spec, f, result, Some((&c, versions))).await
}

/// Where a save leads: to the calendar, or the form again with the refusal beside the fields
/// (with the calendar edited, or the list for a new one).
async fn answer(
    web: &WebState,
    user: &WebUser,
    spec: &CalendarSpec,
    form: Fields,
    result: Result<CalendarRecord, DeskError>,
    calendar: Option<(&CalendarRecord, CalendarVersions)>,
) -> Response {
    let e = match result {
        Ok(c) => return Redirect::to(&format!("{BASE}/{}", c.id)).into_response(),
        Err(e) => e,
    };
    let (status, errors, general) = match refused(spec, &form, e) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let rows = if calendar.is_some() {
        Vec::new()
    } else {
        match all(web).await {
            Ok(items) => list_rows(&items, Utc::now()),
            Err(r) => return r,
        }
    };
    let view = View {
        status,
        form,
        errors,
        general,
        calendar,
        rows,
    };
    show(user, view)
}
