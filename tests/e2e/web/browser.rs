//! The web app in a real browser: Debian's chromium, headless, through chromedriver (WebDriver,
//! fantoccini), against the desk with its connector workers and the fake platforms. One agent's
//! day on one case: a Facebook comment arrives live, is claimed, answered with a canned answer
//! (the fake platform receives it, the state turns to sent), forwarded, answered by the
//! department, resolved; before that, an admin adds the routing rule that labels it (Beheer).
//! On SQLite; the pages' store paths run on PostgreSQL in `super`.
//!
//! Without chromedriver the test is skipped, unless `CI` is set (then it fails).
//! `UPDATE_SCREENSHOTS=1` writes the inbox and case screenshots to `docs/screenshots/`.

use super::{desk_user, PASSWORD};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::time::Duration;
use webcare_e2e::connectors::ConnApp;
use webcare_e2e::Backend;

const PAGE: &str = "104961234567890";
const POST: &str = "104961234567890_822112233445566";
const WAIT: Duration = Duration::from_secs(15);

struct Driver {
    _process: tokio::process::Child,
    url: String,
}

async fn chromedriver() -> Option<Driver> {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let process = match tokio::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(p) => p,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping the browser test: chromedriver is not available ({e})");
            return None;
        }
        Err(e) => panic!("chromedriver is required in CI: {e}"),
    };
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(Driver {
                _process: process,
                url,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver did not start");
}

async fn browser(driver: &Driver) -> Client {
    browser_at(driver, Screen::Laptop).await
}

/// The two widths the issue names: a 1280 px laptop and a phone (390 CSS px, emulated: headless
/// Chromium's windows are at least 500 px wide).
#[derive(Clone, Copy, Debug)]
enum Screen {
    Laptop,
    Phone,
}

async fn browser_at(driver: &Driver, screen: Screen) -> Client {
    let mut options = json!({"args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                                      "--disable-gpu", "--window-size=1280,900", "--lang=nl-NL"]});
    if let Screen::Phone = screen {
        options["mobileEmulation"] =
            json!({"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3.0}});
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a browser session")
}

fn comment(id: &str, from: (&str, &str), message: &str) -> String {
    json!({"object": "page", "entry": [{"id": PAGE, "time": 1773125114, "changes": [
        {"field": "feed", "value": {
            "item": "comment", "verb": "add", "comment_id": id, "post_id": POST, "parent_id": POST,
            "from": {"id": from.0, "name": from.1}, "message": message,
            "created_time": chrono::Utc::now().timestamp(),
            "post": {"id": POST, "status_type": "added_photos", "is_published": true}}}]}]})
    .to_string()
}

async fn sign_in(c: &Client, base: &str, email: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    c.find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys(email)
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Css("form[action='/login'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(WAIT)
        .for_url(url::Url::parse(&format!("{base}/inbox")).unwrap())
        .await
        .expect("signed in, on the inbox");
}

async fn sign_out(c: &Client) {
    c.find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Id("password"))
        .await
        .unwrap();
}

async fn text_of(c: &Client, css: &str) -> String {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Waits until the element's text contains `want`.
async fn until_text(c: &Client, css: &str, want: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut last = String::new();
    while tokio::time::Instant::now() < deadline {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            last = e.text().await.unwrap_or_default();
            if last.contains(want) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never showed {want:?}; last: {last:?}");
}

/// Clicks the element, finding it again if htmx swapped it meanwhile (a live refresh).
async fn click(c: &Client, css: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let r = match c.find(Locator::Css(css)).await {
            Ok(e) => e.click().await,
            Err(e) => Err(e),
        };
        match r {
            Ok(()) => return,
            Err(e) if tokio::time::Instant::now() >= deadline => panic!("click {css}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), png).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_day_in_the_browser() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let app = ConnApp::spawn(Backend::Sqlite).await.unwrap();
    crate::agent::team(&app, "kcc").await;
    app.account("facebook_page", PAGE).await;
    let dept = crate::agent::department(&app, "Openbare ruimte").await;
    desk_user(
        &app,
        json!({"name": "Anna de Vries", "email": "anna@gemeente.test", "role": "agent", "teams": ["kcc"]}),
    )
    .await;
    desk_user(
        &app,
        json!({"name": "Piet Hendriks", "email": "piet@gemeente.test", "role": "department", "departmentId": dept}),
    )
    .await;
    crate::agent::admin_post(
        &app,
        "/api/v1/canned-answers",
        json!({"title": "Bedankt", "text": "Dag {{voornaam}}, dank voor uw melding. We pakken het op. Groet, {{agent}}"}),
        201,
    )
    .await;
    desk_user(
        &app,
        json!({"name": "Ada Beheer", "email": "ada@gemeente.test", "role": "admin"}),
    )
    .await;
    let base = app.base.clone();
    let c = browser(&driver).await;

    // The admin adds a routing rule on the Beheer page; the comment below is routed by it.
    sign_in(&c, &base, "ada@gemeente.test").await;
    click(&c, "nav a[href='/beheer/routering']").await;
    for (id, text) in [
        ("naam", "Straatverlichting"),
        ("trefwoorden", "lantaarn*"),
        ("labels", "verlichting"),
    ] {
        c.find(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }
    c.find(Locator::Css("#team option[value='kcc']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(&c, "#save-rule").await;
    until_text(&c, ".wc-rule h2", "1. Straatverlichting").await;
    sign_out(&c).await;

    sign_in(&c, &base, "anna@gemeente.test").await;
    // A marker on the page: it is still there after the comment arrives, so the row came live
    // (SSE + htmx swap), not by a reload.
    c.execute("window.__noReload = true;", vec![])
        .await
        .unwrap();
    // Give the page time to open its event stream before the comment arrives.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let body = comment(
        "822112233445566_1001",
        ("6100000000001", "Karin <i>Bakker</i>"),
        "De lantaarnpaal bij de school is kapot <script>alert(1)</script>",
    );
    let res = app.post_meta(&body).await;
    assert_eq!(res.status(), 200);
    // The new case appears in the inbox live.
    until_text(&c, "a.wc-case-link", "Karin <i>Bakker</i>").await;
    let still = c
        .execute("return window.__noReload === true;", vec![])
        .await
        .unwrap();
    assert_eq!(still, json!(true), "the inbox was not reloaded");
    assert!(text_of(&c, "tr.wc-row").await.contains("Facebook"));
    screenshot(&c, "inbox.png").await;

    click(&c, "a.wc-case-link").await;
    until_text(&c, "#case-status", "Nieuw").await;
    // The citizen's markup is text, not markup.
    assert_eq!(text_of(&c, "#citizen").await, "Karin <i>Bakker</i>");
    assert!(text_of(&c, ".wc-message .wc-text")
        .await
        .contains("<script>alert(1)</script>"));
    let case_url = c.current_url().await.unwrap();
    let case_id = case_url.path().trim_start_matches("/cases/").to_owned();
    assert_eq!(
        app.case(&case_id).await["labels"],
        json!(["verlichting"]),
        "routed by the rule added on the page"
    );

    c.find(Locator::Id("claim"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_text(&c, "#case-status", "Open").await;

    // A canned answer, filled in for this case by the server, into the reply box.
    c.find(Locator::Css("#templateId option:nth-child(2)"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The textarea is swapped in by htmx: read it until it holds the filled-in answer.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let v = match c.find(Locator::Id("reply-text")).await {
            Ok(e) => e.prop("value").await.ok().flatten().unwrap_or_default(),
            Err(_) => String::new(),
        };
        if v.contains("Dag Karin") {
            assert_eq!(
                v,
                "Dag Karin, dank voor uw melding. We pakken het op. Groet, Anna"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the canned answer was not filled in: {v:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.find(Locator::Id("send-reply"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The delivery state turns to sent on the page (live), and the fake platform has it.
    until_text(&c, "#replies", "verstuurd").await;
    let sent = app.fakes.requests_to("POST", "comments");
    assert!(
        sent.iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains("dank voor uw melding")),
        "Facebook received the reply: {:?}",
        sent.iter().map(|r| r.path.clone()).collect::<Vec<_>>()
    );
    screenshot(&c, "case.png").await;

    // A POST without the CSRF token is refused.
    c.execute(
        "var f = document.querySelector(\"form[action$='/notes']\"); \
         f.querySelector(\"input[name=csrf]\").remove(); \
         f.querySelector('textarea').value = 'zonder token'; f.submit();",
        vec![],
    )
    .await
    .unwrap();
    until_text(&c, "main", "CSRF").await;
    c.goto(case_url.as_str()).await.unwrap();
    assert!(!text_of(&c, "main").await.contains("zonder token"));

    // Forward to the department with a question.
    c.find(Locator::Css(&format!(
        "#departmentId option[value='{dept}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    c.find(Locator::Id("question"))
        .await
        .unwrap()
        .send_keys("Kunnen jullie de lantaarnpaal deze week maken?")
        .await
        .unwrap();
    c.find(Locator::Id("forward"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_text(&c, "#case-status", "Doorgezet").await;
    sign_out(&c).await;

    // The department answers; another case is not theirs (403 page).
    sign_in(&c, &base, "piet@gemeente.test").await;
    let other = comment(
        "822112233445566_1002",
        ("6100000000002", "Joost"),
        "Wanneer is de markt?",
    );
    assert_eq!(app.post_meta(&other).await.status(), 200);
    app.settle().await;
    let cases = app.cases().await;
    let other_id = cases
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .find(|id| *id != case_id)
        .unwrap();
    c.goto(&format!("{base}/cases/{other_id}")).await.unwrap();
    until_text(&c, "h1", "Geen toegang").await;
    c.goto(&format!("{base}/inbox")).await.unwrap();
    click(&c, &format!("a[href='/cases/{case_id}']")).await;
    c.find(Locator::Id("answer-text"))
        .await
        .unwrap()
        .send_keys("De paal wordt donderdag vervangen.")
        .await
        .unwrap();
    c.find(Locator::Id("send-answer"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(WAIT)
        .for_url(url::Url::parse(&format!("{base}/inbox")).unwrap())
        .await
        .unwrap();
    sign_out(&c).await;

    // Back at the KCC: the answer is there; resolve.
    sign_in(&c, &base, "anna@gemeente.test").await;
    c.goto(case_url.as_str()).await.unwrap();
    until_text(&c, "#pending-answer", "donderdag vervangen").await;
    c.find(Locator::Id("resolve"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_text(&c, "#case-status", "Afgehandeld").await;
    assert_eq!(app.case(&case_id).await["status"], "resolved");
    c.close().await.unwrap();
}

/// Every page fits a 1280 px laptop and a 390 px phone: the page itself never scrolls sideways
/// (WCAG 1.4.10, reflow). A report table wider than the screen scrolls inside its own region.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_a_laptop_and_a_phone() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let app = ConnApp::spawn(Backend::Sqlite).await.unwrap();
    crate::agent::team(&app, "kcc").await;
    app.account("facebook_page", PAGE).await;
    crate::agent::department(&app, "Openbare ruimte").await;
    desk_user(
        &app,
        json!({"name": "Ada Beheer", "email": "ada@gemeente.test", "role": "admin"}),
    )
    .await;
    let body = comment(
        "822112233445566_1001",
        ("6100000000001", "Karin Bakker-van den Heuvel"),
        "De lantaarnpaal bij de Burgemeester van Walsumstraat is al drie weken kapot en het is \
         daar 's avonds aardedonker: https://www.gemeente.example/melding/openbare-verlichting/123456",
    );
    assert_eq!(app.post_meta(&body).await.status(), 200);
    app.settle().await;
    let case = app.cases().await[0].clone();
    let case_id = case["id"].as_str().unwrap().to_owned();
    let contact_id = case["contactId"].as_str().unwrap().to_owned();

    let mut pages = vec![
        "/inbox".to_owned(),
        format!("/cases/{case_id}"),
        format!("/burgers/{contact_id}"),
        "/board".to_owned(),
        "/privacy".to_owned(),
        format!("/privacy/burgers/{contact_id}"),
    ];
    for report in webcare_api::routes::reports::ReportKind::ALL.map(|k| k.as_str()) {
        pages.push(format!(
            "/rapportages?rapport={report}&groep1=channel&groep2=visibility"
        ));
    }
    for beheer in [
        "routering",
        "kanalen",
        "teams",
        "gebruikers",
        "afdelingen",
        "kalenders",
        "sla-normen",
        "standaardantwoorden",
        "themas",
        "webhooks",
        "tokens",
        "zaaksysteem",
        "kostenmodel",
    ] {
        pages.push(format!("/beheer/{beheer}"));
    }

    let base = app.base.clone();
    let mut too_wide = Vec::new();
    for screen in [Screen::Laptop, Screen::Phone] {
        let c = browser_at(&driver, screen).await;
        sign_in(&c, &base, "ada@gemeente.test").await;
        for path in &pages {
            c.goto(&format!("{base}{path}")).await.unwrap();
            let h1 = text_of(&c, "h1").await;
            assert!(!h1.contains("Geen toegang"), "{path}: {h1}");
            let (page, window, wide) = page_and_window_width(&c).await;
            if let Screen::Phone = screen {
                assert_eq!(window, 390, "the phone is emulated at 390 px");
            }
            if page > window {
                too_wide.push(format!(
                    "{path} on {screen:?}: {page} px in {window} px ({wide})"
                ));
            }
        }
        c.close().await.unwrap();
    }
    assert!(
        too_wide.is_empty(),
        "pages that scroll sideways: {too_wide:#?}"
    );
}

/// The document's scroll width and the window's layout width, in CSS pixels, and the elements
/// that reach past the window (for the failure message).
async fn page_and_window_width(c: &Client) -> (u64, u64, String) {
    let v = c
        .execute(
            "var w = document.documentElement.clientWidth, out = []; \
             document.querySelectorAll('body *').forEach(function (e) { \
               var r = e.getBoundingClientRect(); \
               if (r.right > w + 0.5) out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') \
                 + (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/ +/).join('.') : '') \
                 + ' ' + Math.round(r.right)); }); \
             return [document.documentElement.scrollWidth, w, out.slice(0, 2).concat(out.slice(-2)).join(', ')];",
            vec![],
        )
        .await
        .unwrap();
    let w = |i: usize| v[i].as_u64().unwrap_or_else(|| panic!("a width: {v}"));
    (w(0), w(1), v[2].as_str().unwrap_or_default().to_owned())
}
