//! The web app (issue 13) over plain HTTP on both databases: sign-in, sessions and CSRF, the
//! role rules of the pages, escaping of citizens' text, and form validation. The browser test
//! (`browser`) drives the same pages in a real Chromium.

mod browser;
mod calendars;
mod canned;
mod case_links;
mod channels;
mod contact;
mod costs;
mod norms;
mod norms_admin;
mod oidc;
mod people;
mod privacy;
mod reports;
mod routing;
mod themes;
mod themes_admin;
mod tokens;
mod webhooks;
mod zaaksysteem;

use crate::agent::{account_for_team, citizen_message, department, user};
use serde_json::json;
use webcare_e2e::{both_backends, TestApp};

pub const PASSWORD: &str = "een lang genoeg wachtwoord";

/// A browser-like client: keeps the session cookie, follows no redirects, and sends the page's
/// CSRF token with its forms.
pub struct Web {
    pub base: String,
    pub client: reqwest::Client,
    pub cookie: String,
    pub csrf: String,
}

pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn page(res: reqwest::Response) -> Page {
    Page {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: res.text().await.unwrap(),
    }
}

/// Creates a user with a password; answers the user id.
pub async fn desk_user(app: &TestApp, body: serde_json::Value) -> String {
    let id = user(app, body).await;
    let hash = webcare_web::password::hash(PASSWORD).unwrap();
    app.store
        .set_password_hash(id.parse().unwrap(), &hash)
        .await
        .unwrap();
    id
}

pub async fn try_sign_in(base: &str, email: &str, password: &str) -> Page {
    let res = client()
        .post(format!("{base}/login"))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    page(res).await
}

impl Web {
    pub async fn sign_in(app: &TestApp, email: &str) -> Web {
        Web::sign_in_at(&app.base, email).await
    }

    /// Signs in at the desk at `base` (an app other than a `TestApp`).
    pub async fn sign_in_at(base: &str, email: &str) -> Web {
        let p = try_sign_in(base, email, PASSWORD).await;
        assert_eq!(p.status, 303, "sign in: {}", p.body);
        assert_eq!(p.location(), "/inbox");
        let set = p.headers["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax"),
            "{set}"
        );
        let cookie = set.split(';').next().unwrap().to_owned();
        let mut web = Web {
            base: base.to_owned(),
            client: client(),
            cookie,
            csrf: String::new(),
        };
        let inbox = web.get("/inbox").await;
        assert_eq!(inbox.status, 200, "{}", inbox.body);
        web.csrf = between(&inbox.body, r#"<meta name="csrf-token" content=""#, "\"")
            .expect("the page carries a CSRF token")
            .to_owned();
        web
    }

    pub async fn get(&self, path: &str) -> Page {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        page(res).await
    }

    /// A form POST with the session's CSRF token.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let mut f: Vec<(&str, &str)> = form.to_vec();
        f.push(("csrf", &self.csrf));
        self.post_raw(path, &f).await
    }

    /// A form POST exactly as given (no CSRF token added).
    pub async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .form(form)
            .send()
            .await
            .unwrap();
        page(res).await
    }
}

pub fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)?;
    Some(&s[i..i + j])
}

/// A KCC team with an agent, an account, and a department with its user.
pub struct Desk {
    pub account: String,
    pub department: String,
    pub other_department: String,
}

pub async fn desk(app: &TestApp) -> Desk {
    crate::agent::team(app, "kcc").await;
    let account = account_for_team(app, "web-desk", "kcc").await;
    let department = department(app, "Openbare ruimte").await;
    let other_department = crate::agent::department(app, "Burgerzaken").await;
    desk_user(
        app,
        json!({"name": "Anna de Vries", "email": "anna@gemeente.test", "role": "agent", "teams": ["kcc"]}),
    )
    .await;
    desk_user(
        app,
        json!({"name": "Piet Hendriks", "email": "piet@gemeente.test", "role": "department", "departmentId": department}),
    )
    .await;
    desk_user(
        app,
        json!({"name": "Bea Jansen", "email": "bea@gemeente.test", "role": "department", "departmentId": other_department}),
    )
    .await;
    Desk {
        account,
        department,
        other_department,
    }
}

pub(crate) async fn case_json(app: &TestApp, id: &str) -> serde_json::Value {
    app.get(&format!("/api/v1/cases/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

both_backends!(
    pages_need_a_session_and_posts_need_the_csrf_token,
    sign_in_is_rate_limited_per_account,
    a_department_user_gets_a_403_page_on_another_departments_case,
    citizens_markup_is_shown_as_text,
    bad_form_input_shows_dutch_messages_and_changes_nothing,
    the_agent_works_a_case_through_the_pages,
    the_team_lead_sees_the_board,
);

async fn pages_need_a_session_and_posts_need_the_csrf_token(app: TestApp) {
    let d = desk(&app).await;
    let case = citizen_message(
        &app,
        &d.account,
        "m1",
        ("u1", "Karin"),
        "Lantaarnpaal kapot",
    )
    .await;
    // Without a session: to the sign-in page, for pages and for actions.
    let anon = Web {
        base: app.base.clone(),
        client: client(),
        cookie: "webcare_session=forged".into(),
        csrf: String::new(),
    };
    let p = anon.get("/inbox").await;
    assert_eq!((p.status, p.location()), (303, "/login"));
    let p = anon.post_raw(&format!("/cases/{case}/claim"), &[]).await;
    assert_eq!((p.status, p.location()), (303, "/login"));
    // A wrong password is refused in Dutch, without a cookie.
    let p = try_sign_in(&app.base, "anna@gemeente.test", "verkeerd wachtwoord").await;
    assert_eq!(p.status, 401);
    assert!(p.body.contains("horen niet bij elkaar"), "{}", p.body);
    assert!(!p.headers.contains_key("set-cookie"));

    let web = Web::sign_in(&app, "anna@gemeente.test").await;
    let p = web.get("/inbox").await;
    let csp = p.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(p.headers["cache-control"], "no-store");
    assert_eq!(p.headers["x-content-type-options"], "nosniff");
    assert!(
        p.body.contains(&format!("/cases/{case}")),
        "the new case is in the inbox"
    );
    // Assets come from the binary with long cache headers.
    let css = web.get("/assets/htmx-2.0.11.min.js").await;
    assert_eq!(css.status, 200);
    assert!(css.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));

    // A POST without the token, or with another one, is refused and changes nothing.
    let p = web.post_raw(&format!("/cases/{case}/claim"), &[]).await;
    assert_eq!(p.status, 403);
    assert!(p.body.contains("CSRF"), "{}", p.body);
    let p = web
        .post_raw(
            &format!("/cases/{case}/claim"),
            &[("csrf", "not-the-token")],
        )
        .await;
    assert_eq!(p.status, 403);
    assert_eq!(
        case_json(&app, &case).await["assignee"],
        serde_json::Value::Null
    );
    // With the token (as htmx sends it, in a header) the claim goes through.
    let res = web
        .client
        .post(format!("{}/cases/{case}/claim", app.base))
        .header("cookie", &web.cookie)
        .header("x-csrf-token", &web.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let c = case_json(&app, &case).await;
    assert_eq!(c["status"], "open");
    assert!(c["assignee"].is_string());

    // Signing out ends the session: the old cookie no longer works.
    let p = web.post("/logout", &[]).await;
    assert_eq!((p.status, p.location()), (303, "/login"));
    let p = web.get("/inbox").await;
    assert_eq!((p.status, p.location()), (303, "/login"));
}

async fn sign_in_is_rate_limited_per_account(app: TestApp) {
    desk(&app).await;
    for _ in 0..5 {
        let p = try_sign_in(&app.base, "anna@gemeente.test", "verkeerd wachtwoord").await;
        assert_eq!(p.status, 401);
    }
    // Now even the right password waits; another account is not affected.
    let p = try_sign_in(&app.base, "anna@gemeente.test", PASSWORD).await;
    assert_eq!(p.status, 429);
    assert!(p.body.contains("Te veel mislukte pogingen"));
    let p = try_sign_in(&app.base, "piet@gemeente.test", PASSWORD).await;
    assert_eq!(p.status, 303);
}

async fn a_department_user_gets_a_403_page_on_another_departments_case(app: TestApp) {
    let d = desk(&app).await;
    let mine = citizen_message(&app, &d.account, "m1", ("u1", "Karin"), "Boom omgevallen").await;
    let theirs = citizen_message(&app, &d.account, "m2", ("u2", "Joost"), "Paspoort kwijt").await;
    for (case, dept) in [(&mine, &d.department), (&theirs, &d.other_department)] {
        let (s, b) = crate::agent::send(app.post(
            &format!("/api/v1/cases/{case}/forward"),
            &json!({"departmentId": dept, "question": "Kunnen jullie dit oppakken?"}),
        ))
        .await;
        assert_eq!(s, 200, "{b}");
    }
    let piet = Web::sign_in(&app, "piet@gemeente.test").await;
    let inbox = piet.get("/inbox").await;
    assert!(inbox.body.contains(&format!("/cases/{mine}")));
    assert!(!inbox.body.contains(&format!("/cases/{theirs}")));
    assert_eq!(piet.get(&format!("/cases/{mine}")).await.status, 200);
    let p = piet.get(&format!("/cases/{theirs}")).await;
    assert_eq!(p.status, 403);
    assert!(p.body.contains("Geen toegang"), "{}", p.body);
    assert!(!p.body.contains("Paspoort kwijt"));
    // Nor can the department act on it, or use the KCC's actions on its own case.
    let p = piet
        .post(&format!("/cases/{theirs}/answer"), &[("text", "Opgelost")])
        .await;
    assert_eq!(p.status, 403);
    let p = piet.post(&format!("/cases/{mine}/claim"), &[]).await;
    assert_eq!(p.status, 403);
    // The board is for team leads.
    assert_eq!(piet.get("/board").await.status, 403);
}

async fn citizens_markup_is_shown_as_text(app: TestApp) {
    let d = desk(&app).await;
    let case = citizen_message(
        &app,
        &d.account,
        "m1",
        ("u1", "<b id=\"evil-name\">Mallory</b>"),
        "<script>alert('xss')</script><img src=x onerror=alert(1)>",
    )
    .await;
    let web = Web::sign_in(&app, "anna@gemeente.test").await;
    for path in ["/inbox".to_owned(), format!("/cases/{case}")] {
        let p = web.get(&path).await;
        assert_eq!(p.status, 200);
        assert!(!p.body.contains("<script>alert"), "{path}");
        assert!(!p.body.contains("<img src=x"), "{path}");
        assert!(!p.body.contains("<b id=\"evil-name\">"), "{path}");
        // askama escapes with numeric references.
        assert!(
            p.body
                .contains("&#60;b id=&#34;evil-name&#34;&#62;Mallory&#60;/b&#62;"),
            "{path}: {}",
            p.body
        );
    }
    let p = web.get(&format!("/cases/{case}")).await;
    assert!(p.body.contains("&#60;script&#62;alert("), "{}", p.body);
}

async fn bad_form_input_shows_dutch_messages_and_changes_nothing(app: TestApp) {
    let d = desk(&app).await;
    let case = citizen_message(
        &app,
        &d.account,
        "m1",
        ("u1", "Karin"),
        "Wanneer is de markt?",
    )
    .await;
    let web = Web::sign_in(&app, "anna@gemeente.test").await;
    let before = case_json(&app, &case).await;
    // Forward without a question: the field says so, in Dutch; the case is not forwarded.
    let p = web
        .post(
            &format!("/cases/{case}/forward"),
            &[("departmentId", &d.department), ("question", "  ")],
        )
        .await;
    assert_eq!(p.status, 400);
    let msg = between(&p.body, r#"id="question-error">"#, "<").unwrap();
    assert_eq!(msg, "Vul dit veld in.");
    // No department chosen.
    let p = web
        .post(
            &format!("/cases/{case}/forward"),
            &[("departmentId", ""), ("question", "Vraag")],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(
        between(&p.body, r#"id="departmentId-error">"#, "<").is_some(),
        "{}",
        p.body
    );
    // The typed question is kept in the form.
    assert!(p.body.contains(">Vraag</textarea>"));
    // An empty reply.
    let p = web
        .post(
            &format!("/cases/{case}/reply"),
            &[("text", ""), ("templateId", "")],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(
        between(&p.body, r#"id="text-error">"#, "<").is_some(),
        "{}",
        p.body
    );
    let after = case_json(&app, &case).await;
    assert_eq!(before["status"], after["status"]);
    assert_eq!(before["updatedAt"], after["updatedAt"]);
    let (_, replies) = crate::agent::send(app.get(&format!("/api/v1/cases/{case}/replies"))).await;
    assert_eq!(replies, json!([]));
    // A search without words.
    let p = web.get("/inbox?q=%21%21%21").await;
    assert_eq!(p.status, 400);
    assert!(p.body.contains("Zoek op minstens één woord."));
}

async fn the_agent_works_a_case_through_the_pages(app: TestApp) {
    let d = desk(&app).await;
    let (_, canned) = crate::agent::send(app.post(
        "/api/v1/canned-answers",
        &json!({"title": "Bedankt", "text": "Dag {{voornaam}}, dank voor uw bericht. Groet, {{agent}}"}),
    ))
    .await;
    let canned_id = canned["id"].as_str().unwrap().to_owned();
    let case = citizen_message(
        &app,
        &d.account,
        "m1",
        ("u1", "Karin Bakker"),
        "Afval niet opgehaald",
    )
    .await;
    let anna = Web::sign_in(&app, "anna@gemeente.test").await;
    assert_eq!(
        anna.post(&format!("/cases/{case}/claim"), &[]).await.status,
        303
    );
    // The canned answer, filled in for this case, for the reply box.
    let p = anna
        .get(&format!("/cases/{case}/canned?templateId={canned_id}"))
        .await;
    assert!(
        p.body
            .contains("Dag Karin, dank voor uw bericht. Groet, Anna"),
        "{}",
        p.body
    );
    let p = anna
        .post(
            &format!("/cases/{case}/reply"),
            &[
                ("text", ""),
                ("templateId", &canned_id),
                ("replyId", "0190a0a0-0000-7000-8000-000000000001"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    // The same form sent twice is one reply.
    anna.post(
        &format!("/cases/{case}/reply"),
        &[
            ("text", ""),
            ("templateId", &canned_id),
            ("replyId", "0190a0a0-0000-7000-8000-000000000001"),
        ],
    )
    .await;
    let (_, replies) = crate::agent::send(app.get(&format!("/api/v1/cases/{case}/replies"))).await;
    assert_eq!(replies.as_array().unwrap().len(), 1);
    assert_eq!(
        replies[0]["text"],
        "Dag Karin, dank voor uw bericht. Groet, Anna"
    );
    let p = anna
        .post(
            &format!("/cases/{case}/forward"),
            &[
                ("departmentId", &d.department),
                ("question", "Kan de wagen nog langs?"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(case_json(&app, &case).await["status"], "forwarded");
    let piet = Web::sign_in(&app, "piet@gemeente.test").await;
    let p = piet
        .post(
            &format!("/cases/{case}/answer"),
            &[("text", "Morgen komt de wagen langs.")],
        )
        .await;
    assert_eq!((p.status, p.location()), (303, "/inbox"));
    let p = anna.get(&format!("/cases/{case}")).await;
    assert!(p.body.contains("Morgen komt de wagen langs."));
    let p = anna
        .post(
            &format!("/cases/{case}/notes"),
            &[("text", "Burger gebeld")],
        )
        .await;
    assert_eq!(p.status, 303);
    // The reply is not delivered (no outbox worker here): resolving needs the confirmation.
    let p = anna.post(&format!("/cases/{case}/resolve"), &[]).await;
    assert_eq!(p.status, 400);
    assert!(p.body.contains("Dat kan nu niet"), "{}", p.body);
    let p = anna
        .post(
            &format!("/cases/{case}/resolve"),
            &[("confirmUndelivered", "1")],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(case_json(&app, &case).await["status"], "resolved");
    let (_, audit) =
        crate::agent::send(app.get(&format!("/api/v1/audit-events?caseId={case}"))).await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    for a in [
        "case.claimed",
        "reply.created",
        "case.forwarded",
        "case.department_answered",
        "case.note_added",
        "case.updated",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

async fn the_team_lead_sees_the_board(app: TestApp) {
    let d = desk(&app).await;
    citizen_message(
        &app,
        &d.account,
        "m1",
        ("u1", "Karin"),
        "Hoe laat is het zwembad open?",
    )
    .await;
    desk_user(
        &app,
        json!({"name": "Tessa Smit", "email": "tessa@gemeente.test", "role": "teamlead", "teams": ["kcc"]}),
    )
    .await;
    let tessa = Web::sign_in(&app, "tessa@gemeente.test").await;
    let p = tessa.get("/board").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("Teamoverzicht") && p.body.contains("Te laat"));
    assert!(
        p.body.contains(r#"sse-connect="/live""#),
        "the board is live"
    );
    // The board counts what the store's board counts: one new case.
    assert!(p.body.contains("<th class=\"utrecht-table__header-cell\" scope=\"row\">Nieuw</th><td class=\"utrecht-table__cell\">1</td>"), "{}", p.body);
    // Agents are sent to the inbox, not the board.
    let anna = Web::sign_in(&app, "anna@gemeente.test").await;
    assert_eq!(anna.get("/board").await.status, 403);
}
