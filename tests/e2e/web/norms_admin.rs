//! Beheer: the SLA norms page over plain HTTP. The admin adds a norm (matching on channel,
//! theme, kind and priority; norms in hours and minutes) and changes it as a new version from a
//! later date (the old version stays); the form's and the domain's refusals are told in Dutch
//! beside the fields; a stale form is a conflict; other roles get a 403 page.

use super::channels::admin_and_lead;
use super::{between, desk};
use crate::agent::send;
use chrono::{DateTime, Days, TimeZone, Utc};
use chrono_tz::Europe::Amsterdam;
use serde_json::{json, Value};
use webcare_e2e::{both_backends, TestApp};

both_backends!(the_admin_keeps_the_sla_norms_on_the_page);

const PAGE: &str = "/beheer/sla-normen";

async fn policies(app: &TestApp) -> Vec<Value> {
    let (s, b) = send(app.get("/api/v1/sla-policies")).await;
    assert_eq!(s, 200, "{b}");
    b["items"].as_array().cloned().unwrap_or_default()
}

/// `base` with `changes` in place of its values.
fn with(base: &[(&str, &str)], changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = base
        .iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .chain(changes)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    f.dedup();
    f
}

fn refs(f: &[(String, String)]) -> Vec<(&str, &str)> {
    f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn errors_shown(body: &str, expected: &[(&str, &str)]) {
    for (field, text) in expected {
        assert!(
            body.contains(&format!(r#"id="{field}-error">{text}"#)),
            "{field}: {body}"
        );
    }
}

async fn the_admin_keeps_the_sla_norms_on_the_page(app: TestApp) {
    desk(&app).await;
    let (ada, tessa) = admin_and_lead(&app).await;
    let (s, cal) = send(app.post("/api/v1/calendars", &json!({"name": "KCC-tijden"}))).await;
    assert_eq!(s, 201, "{cal}");
    let cal = cal["id"].as_str().unwrap().to_owned();
    let before = policies(&app).await.len();
    let today = Utc::now().with_timezone(&Amsterdam).date_naive();

    let p = ada.get(PAGE).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p
        .body
        .contains(r#"href="/beheer/sla-normen">SLA-normen</a>"#));
    assert!(p
        .body
        .contains(r#"<option value="whatsapp">WhatsApp</option>"#));

    let form = [
        ("naam", "Klachten via WhatsApp"),
        ("volgorde", "5"),
        ("kanaal", "whatsapp"),
        ("account", ""),
        ("thema", "afval"),
        ("rubriek", "klacht"),
        ("prioriteit", "high"),
        ("reactie", "2:30"),
        ("afhandeling", "40:00"),
        ("vakafdeling", ""),
        ("telwijze", "business"),
        ("waarschuwing", "75"),
        ("kalender", cal.as_str()),
        ("vanaf", ""),
    ];
    // The form's refusals, all at once, in Dutch beside the fields; nothing made.
    let yesterday = (today - Days::new(1)).to_string();
    let bad = with(
        &form,
        &[
            ("volgorde", "tien"),
            ("reactie", "vier uur"),
            ("vanaf", &yesterday),
        ],
    );
    let p = ada.post(PAGE, &refs(&bad)).await;
    assert_eq!(p.status, 400, "{}", p.body);
    errors_shown(
        &p.body,
        &[
            ("volgorde", "Vul een heel getal in, bijvoorbeeld 10."),
            (
                "reactie",
                "Schrijf de termijn als uren:minuten, bijvoorbeeld 4:00 of 0:30.",
            ),
            (
                "vanaf",
                "Kies vandaag of een latere datum: wat al voorbij is, blijft zoals het was.",
            ),
        ],
    );
    assert!(p.body.contains(r#"value="vier uur""#));
    // The domain's.
    let bad = with(
        &form,
        &[("naam", " "), ("waarschuwing", "150"), ("reactie", "0:00")],
    );
    let p = ada.post(PAGE, &refs(&bad)).await;
    assert_eq!(p.status, 400, "{}", p.body);
    errors_shown(
        &p.body,
        &[
            ("naam", "Vul dit veld in."),
            (
                "waarschuwing",
                "Kies een percentage groter dan 0 en kleiner dan 100.",
            ),
            ("reactie", "Kies een termijn van 1 minuut tot tien jaar."),
        ],
    );
    assert_eq!(policies(&app).await.len(), before);

    // A norm.
    let p = ada.post(PAGE, &form).await;
    assert_eq!((p.status, p.location()), (303, PAGE), "{}", p.body);
    let all = policies(&app).await;
    let made: Vec<&Value> = all
        .iter()
        .filter(|p| p["name"] == "Klachten via WhatsApp")
        .collect();
    assert_eq!(made.len(), 1, "{all:?}");
    let n = made[0];
    assert_eq!(
        n["match"],
        json!({"channelKind": "whatsapp", "theme": "afval", "kind": "klacht", "priority": "high"})
    );
    assert_eq!(
        (
            n["order"].clone(),
            n["reactionMinutes"].clone(),
            n["resolutionMinutes"].clone()
        ),
        (json!(5), json!(150), json!(2400))
    );
    assert_eq!(n["departmentMinutes"], Value::Null);
    assert_eq!(n["warningAt"], json!(0.75));
    assert_eq!(n["calendarId"], cal.as_str());
    let from: DateTime<Utc> = n["effectiveFrom"].as_str().unwrap().parse().unwrap();
    assert!((Utc::now() - from).num_seconds().abs() < 60, "{from}");
    let id = n["id"].as_str().unwrap().to_owned();
    let p = ada.get(PAGE).await;
    for cell in [
        ">2 u 30 min</td>",
        ">40 u</td>",
        ">75 %</td>",
        ">KCC-tijden</td>",
    ] {
        assert!(p.body.contains(cell), "{cell}: {}", p.body);
    }
    assert!(
        p.body.contains("rubriek klacht\nprioriteit hoog"),
        "{}",
        p.body
    );

    // A new version from three days on: the first stays as it was.
    let p = ada.get(&format!("{PAGE}?bewerk={id}")).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p
        .body
        .contains(r#"id="reactie" name="reactie" value="2:30""#));
    let version = between(&p.body, r#"name="versie" value=""#, "\"")
        .expect("the version in the form")
        .to_owned();
    let later = today + Days::new(3);
    // Typed the Dutch way, as the hint under the field asks.
    let later_s = later.format("%d-%m-%Y").to_string();
    assert!(p.body.contains(r#"id="vanaf" name="vanaf" value="" inputmode="numeric" autocomplete="off" placeholder="dd-mm-jjjj" aria-describedby="vanaf-hint">"#), "{}", p.body);
    assert!(!p.body.contains(r#"type="date""#));
    let edit = format!("{PAGE}/{id}");
    let change = with(
        &form,
        &[
            ("reactie", "1:00"),
            ("vanaf", &later_s),
            ("versie", &version),
        ],
    );
    let refs = refs(&change);
    let p = ada.post(&edit, &refs).await;
    assert_eq!((p.status, p.location()), (303, PAGE), "{}", p.body);
    let all = policies(&app).await;
    let mut versions: Vec<&Value> = all
        .iter()
        .filter(|p| p["name"] == "Klachten via WhatsApp")
        .collect();
    versions.sort_by_key(|v| v["effectiveFrom"].as_str().unwrap().to_owned());
    assert_eq!(versions.len(), 2, "{all:?}");
    assert_eq!(versions[0]["reactionMinutes"], 150);
    assert_eq!(versions[1]["reactionMinutes"], 60);
    let midnight = Amsterdam
        .from_local_datetime(&later.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc);
    let from: DateTime<Utc> = versions[1]["effectiveFrom"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(from, midnight);

    // The same form again, now stale: a conflict, nothing changed.
    let p = ada.post(&edit, &refs).await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.body.contains("intussen door iemand anders gewijzigd"));
    let again = policies(&app).await;
    assert_eq!(again, all);

    // Without the CSRF token, or not the admin: refused, nothing changed.
    assert_eq!(ada.post_raw(&edit, &refs).await.status, 403);
    assert_eq!(tessa.get(PAGE).await.status, 403);
    assert_eq!(tessa.post(PAGE, &refs).await.status, 403);
    assert_eq!(tessa.post(&edit, &refs).await.status, 403);
    assert_eq!(policies(&app).await, all);
}
