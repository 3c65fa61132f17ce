//! Beheer: the calendars page over plain HTTP. The admin makes a calendar with several intervals
//! a day, an evening opening, a closure and an extra opening; sees the Dutch holidays as they
//! apply and the next ten openings; saves a new version from a later date (the past stays);
//! the domain's refusals are told in Dutch beside the fields; a stale form is a conflict; other
//! roles get a 403 page. The closures and extra openings are typed and shown as dd-mm-jjjj (ISO
//! pasted in is taken too); a bad line is refused by its number.

use super::channels::admin_and_lead;
use super::{between, desk};
use crate::agent::send;
use chrono::{Datelike, Days, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Europe::Amsterdam;
use serde_json::{json, Value};
use webcare_domain::out_of_hours::date_nl as nl;
use webcare_e2e::{both_backends, TestApp};

both_backends!(
    the_admin_keeps_the_calendars_on_the_page,
    closures_and_openings_take_and_show_dd_mm_jjjj
);

/// The first date after `from` on `day`.
fn next(from: NaiveDate, day: Weekday) -> NaiveDate {
    (1..=7)
        .map(|i| from + Days::new(i))
        .find(|d| d.weekday() == day)
        .unwrap()
}

async fn calendars(app: &TestApp) -> Vec<Value> {
    let (s, b) = send(app.get("/api/v1/calendars")).await;
    assert_eq!(s, 200, "{b}");
    b["items"].as_array().cloned().unwrap_or_default()
}

async fn calendar(app: &TestApp, id: &str) -> Value {
    let (s, b) = send(app.get(&format!("/api/v1/calendars/{id}"))).await;
    assert_eq!(s, 200, "{b}");
    b
}

fn preview(body: &str) -> Vec<&str> {
    body.split(r#"<li class="utrecht-ordered-list__item">"#)
        .skip(1)
        .filter_map(|s| s.split("</li>").next())
        .collect()
}

async fn the_admin_keeps_the_calendars_on_the_page(app: TestApp) {
    desk(&app).await;
    let (ada, tessa) = admin_and_lead(&app).await;
    let today = Utc::now().with_timezone(&Amsterdam).date_naive();

    let p = ada.get("/beheer/kalenders").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains(r#"href="/beheer/kalenders">Kalenders</a>"#));
    assert!(p
        .body
        .contains(r#"id="maandag" name="maandag" value="08:30-17:00""#));
    // No calendar yet: a sentence says so (and what holds meanwhile), not an empty table.
    assert!(
        p.body
            .contains(r#"id="no-calendars">Er is nog geen kalender."#),
        "{}",
        p.body
    );
    assert!(!p.body.contains("wc-inbox"));

    // The domain's refusals, in Dutch beside the fields; nothing made.
    let bad = [
        ("naam", " "),
        ("maandag", "08:30-12:00, 11:00-17:00"),
        ("dinsdag", "13:00-12:00"),
        ("woensdag", "8 tot 12"),
        ("feestdagen", "nl"),
        ("sluitingen", "2026-13-01 fout"),
    ];
    let p = ada.post("/beheer/kalenders", &bad).await;
    assert_eq!(p.status, 400, "{}", p.body);
    for (field, text) in [
        ("naam", "Vul een naam in."),
        (
            "maandag",
            "11:00-17:00 overlapt met 08:30-12:00; tijdvakken op één dag mogen elkaar niet overlappen.",
        ),
        ("dinsdag", "13:00-12:00: het einde moet na het begin liggen."),
        ("woensdag", "„8” is geen tijdvak"),
        (
            "sluitingen",
            "Regel 1: „2026-13-01” is geen datum; schrijf hem als dd-mm-jjjj, bijvoorbeeld 24-12-2026.",
        ),
    ] {
        assert!(
            p.body.contains(&format!(r#"id="{field}-error">{text}"#)),
            "{field}: {}",
            p.body
        );
    }
    assert!(p.body.contains(r#"value="08:30-12:00, 11:00-17:00""#));
    assert!(calendars(&app).await.is_empty());

    // A calendar: split days, an evening opening, a closure, an extra Saturday opening.
    let closed = next(today, Weekday::Wed);
    let saturday = next(today, Weekday::Sat);
    let (closed_s, saturday_s) = (closed.to_string(), saturday.to_string());
    let closure = format!("{closed_s} personeelsdag");
    let extra = format!("{saturday_s} 10:00-14:00 koopzaterdag");
    let form = [
        ("naam", "KCC"),
        ("maandag", "08:30-12:00, 13:00-17:00"),
        ("dinsdag", "08:30-12:00 13:00-17:00 18:00-20:00"),
        ("woensdag", "08:30-17:00"),
        ("donderdag", "08:30-17:00"),
        ("vrijdag", "08:30-17:00"),
        ("zaterdag", ""),
        ("zondag", ""),
        ("feestdagen", "nl"),
        ("goedevrijdag", "nee"),
        ("sluitingen", closure.as_str()),
        ("extra", extra.as_str()),
    ];
    let p = ada.post("/beheer/kalenders", &form).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let all = calendars(&app).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let id = all[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(p.location(), format!("/beheer/kalenders/{id}"));
    let c = calendar(&app, &id).await;
    assert_eq!(c["name"], "KCC");
    assert_eq!(c["timeZone"], "Europe/Amsterdam");
    assert_eq!(
        c["weekly"]["monday"],
        json!([["08:30", "12:00"], ["13:00", "17:00"]])
    );
    assert_eq!(
        c["weekly"]["tuesday"],
        json!([["08:30", "12:00"], ["13:00", "17:00"], ["18:00", "20:00"]])
    );
    assert_eq!(c["weekly"]["saturday"], json!([]));
    assert_eq!(
        c["closures"],
        json!([{"date": closed_s, "reason": "personeelsdag"}])
    );
    assert_eq!(
        c["extraOpenings"],
        json!([{"date": saturday_s, "intervals": [["10:00", "14:00"]], "reason": "koopzaterdag"}])
    );

    // The calendar: the next ten openings, the holidays as they apply, the versions.
    let page = format!("/beheer/kalenders/{id}");
    let p = ada.get(&page).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let list = preview(&p.body);
    assert_eq!(list.len(), 10, "{}", p.body);
    assert!(
        list.contains(&format!("{}, 10:00-14:00", nl(saturday)).as_str()),
        "{list:?}"
    );
    let tuesday = next(today, Weekday::Tue);
    // The Tuesday's evening, when the preview goes on past it (on a Tuesday, next Tuesday's
    // last opening is past the tenth).
    let last_tuesday = list
        .iter()
        .rposition(|o| o.starts_with(&format!("{},", nl(tuesday))));
    if last_tuesday.is_some_and(|i| i + 1 < list.len()) {
        assert!(
            list.contains(&format!("{}, 18:00-20:00", nl(tuesday)).as_str()),
            "{list:?}"
        );
    }
    assert!(
        !list.iter().any(|o| o.starts_with(&nl(closed))),
        "closed on {closed}: {list:?}"
    );
    assert!(!list.iter().any(|o| o.starts_with("zondag")), "{list:?}");
    assert!(p.body.contains("Eerste Kerstdag, "), "{}", p.body);
    let kerst = between(&p.body, "Eerste Kerstdag, ", "</tr>").unwrap();
    assert!(kerst.contains(">gesloten</td>"), "{kerst}");
    // Goede Vrijdag is a day off only when chosen: here it is open, as on any Friday.
    let gv = between(&p.body, "Goede Vrijdag, ", "</tr>").unwrap();
    assert!(gv.contains(">open 08:30-17:00</td>"), "{gv}");
    assert!(p
        .body
        .contains("<td class=\"utrecht-table__cell\">altijd</td>"));

    // A new version from next week: the first one stays as it was.
    let version = between(&p.body, r#"name="versie" value=""#, "\"")
        .expect("the version in the form")
        .to_owned();
    let from = today + Days::new(7);
    let from_s = from.to_string();
    let mut change: Vec<(&str, &str)> = form.to_vec();
    change.retain(|(k, _)| *k != "maandag");
    change.extend([
        ("maandag", "09:00-12:00"),
        ("vanaf", from_s.as_str()),
        ("versie", version.as_str()),
    ]);
    let p = ada.post(&page, &change).await;
    assert_eq!((p.status, p.location()), (303, page.as_str()), "{}", p.body);
    let c = calendar(&app, &id).await;
    let versions = c["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{c}");
    assert_eq!(
        versions[0]["weekly"]["monday"],
        json!([["08:30", "12:00"], ["13:00", "17:00"]])
    );
    assert_eq!(versions[1]["weekly"]["monday"], json!([["09:00", "12:00"]]));
    let midnight = Amsterdam
        .from_local_datetime(&from.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(
        versions[1]["effectiveFrom"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<Utc>>()
            .unwrap(),
        midnight
    );
    let p = ada.get(&page).await;
    assert!(p.body.contains(r#"value="09:00-12:00""#), "{}", p.body);
    let fresh = between(&p.body, r#"name="versie" value=""#, "\"")
        .unwrap()
        .to_owned();

    // A date in the past is refused (with the other problems), nothing changed.
    let yesterday = (today - Days::new(1)).to_string();
    let mut past: Vec<(&str, &str)> = form.to_vec();
    past.retain(|(k, _)| *k != "vrijdag");
    past.extend([
        ("vrijdag", "17:00-08:30"),
        ("vanaf", yesterday.as_str()),
        ("versie", fresh.as_str()),
    ]);
    let p = ada.post(&page, &past).await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains(
        r#"id="vanaf-error">Kies vandaag of een latere datum: wat al voorbij is, blijft zoals het was."#
    ), "{}", p.body);
    assert!(p
        .body
        .contains(r#"id="vrijdag-error">17:00-08:30: het einde moet na het begin liggen."#));
    // The stale form: a conflict.
    let p = ada.post(&page, &change).await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.body.contains("intussen door iemand anders gewijzigd"));
    assert_eq!(calendar(&app, &id).await["versions"], c["versions"]);

    // Without the CSRF token, or not the admin: refused, nothing changed.
    assert_eq!(ada.post_raw(&page, &change).await.status, 403);
    assert_eq!(ada.post_raw("/beheer/kalenders", &form).await.status, 403);
    for path in ["/beheer/kalenders", page.as_str()] {
        assert_eq!(tessa.get(path).await.status, 403, "{path}");
        assert_eq!(tessa.post(path, &form).await.status, 403, "{path}");
    }
    assert_eq!(calendars(&app).await.len(), 1);
    assert_eq!(calendar(&app, &id).await["versions"], c["versions"]);
    assert_eq!(ada.get("/beheer/kalenders/geen-id").await.status, 404);
}

/// The text of the form's textarea `key`.
fn textarea<'a>(body: &'a str, key: &str) -> &'a str {
    let open = format!(r#"<textarea class="utrecht-textarea" id="{key}" name="{key}""#);
    let rest = between(body, &open, "</textarea>").expect("the textarea");
    rest.split_once('>').expect("the tag's end").1
}

async fn closures_and_openings_take_and_show_dd_mm_jjjj(app: TestApp) {
    desk(&app).await;
    let (ada, _) = admin_and_lead(&app).await;
    let today = Utc::now().with_timezone(&Amsterdam).date_naive();
    let (closed, saturday) = (
        next(today, Weekday::Wed),
        next(today + Days::new(7), Weekday::Sat),
    );
    let dutch = |d: NaiveDate| d.format("%d-%m-%Y").to_string();
    // Dutch dates, a blank line, and an ISO date pasted in.
    let closures = format!(
        "{} personeelsdag\n\n{} verhuizing",
        dutch(closed),
        closed + Days::new(7)
    );
    let extra = format!("{} 10:00-14:00 koopzaterdag", dutch(saturday));
    let mut form = vec![
        ("naam", "KCC"),
        ("maandag", "08:30-17:00"),
        ("feestdagen", "nl"),
        ("goedevrijdag", "nee"),
        ("sluitingen", closures.as_str()),
        ("extra", extra.as_str()),
    ];
    let p = ada.post("/beheer/kalenders", &form).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let page = p.location().to_owned();
    let id = page.rsplit('/').next().unwrap().to_owned();
    let c = calendar(&app, &id).await;
    assert_eq!(
        c["closures"],
        json!([
            {"date": closed.to_string(), "reason": "personeelsdag"},
            {"date": (closed + Days::new(7)).to_string(), "reason": "verhuizing"},
        ]),
        "{c}"
    );
    assert_eq!(c["extraOpenings"][0]["date"], saturday.to_string(), "{c}");

    // The page shows them as typed (the ISO one too, now in dd-mm-jjjj), with the hint.
    let p = ada.get(&page).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let shown = format!(
        "{} personeelsdag\n{} verhuizing",
        dutch(closed),
        dutch(closed + Days::new(7))
    );
    assert_eq!(textarea(&p.body, "sluitingen"), shown);
    assert_eq!(textarea(&p.body, "extra"), extra);
    assert!(
        p.body.contains(r#"aria-describedby="sluitingen-hint">"#),
        "{}",
        p.body
    );
    assert!(p.body.contains(
        r#"id="sluitingen-hint">Schrijf de datum als dd-mm-jjjj, bijvoorbeeld 24-12-2026.</p>"#
    ));
    // The holidays' long Dutch dates in the tables too.
    assert!(
        p.body.contains(&format!(">{}</th>", nl(closed))),
        "{}",
        p.body
    );

    // What the page shows is what it takes: saved back unchanged, the same dates.
    let version = between(&p.body, r#"name="versie" value=""#, "\"")
        .unwrap()
        .to_owned();
    let extra_shown = textarea(&p.body, "extra").to_owned();
    form.retain(|(k, _)| !matches!(*k, "sluitingen" | "extra"));
    form.extend([
        ("sluitingen", shown.as_str()),
        ("extra", extra_shown.as_str()),
        ("versie", version.as_str()),
    ]);
    let p = ada.post(&page, &form).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let again = calendar(&app, &id).await;
    assert_eq!(again["closures"], c["closures"], "{again}");
    assert_eq!(again["extraOpenings"], c["extraOpenings"], "{again}");

    // A bad date is refused by its line (blank lines counted), beside the field; nothing
    // changed.
    let p = ada.get(&page).await;
    let fresh = between(&p.body, r#"name="versie" value=""#, "\"")
        .unwrap()
        .to_owned();
    let bad = format!("{} personeelsdag\n\n32-12-2026 fout", dutch(closed));
    form.retain(|(k, _)| !matches!(*k, "sluitingen" | "versie"));
    form.extend([("sluitingen", bad.as_str()), ("versie", fresh.as_str())]);
    let p = ada.post(&page, &form).await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(
        p.body.contains(
            r#"id="sluitingen-error">Regel 3: „32-12-2026” is geen datum; schrijf hem als dd-mm-jjjj, bijvoorbeeld 24-12-2026."#
        ),
        "{}",
        p.body
    );
    assert!(
        p.body.contains(
            r#"aria-describedby="sluitingen-hint sluitingen-error" aria-invalid="true">"#
        ),
        "{}",
        p.body
    );
    // What was typed stays on the form.
    assert_eq!(textarea(&p.body, "sluitingen"), bad);
    assert_eq!(calendar(&app, &id).await, again);
}
