//! Retention (issue 15) on both databases: the terms (versioned, validated), legal holds, the
//! preview, and a run of the retention worker over generated finished cases of different ages
//! that anonymises exactly the expired ones (not the held ones), equals its preview, leaves no
//! trace of their citizens in any table, and leaves every report figure as it was.

use super::contacts::rows_naming_each;
use super::*;
use chrono::{Duration as Days, Utc};
use webcare_domain::Role;
use webcare_e2e::expect_problem;

crate::both!(
    a_retention_run_anonymises_exactly_the_expired_cases,
    retention_terms_are_versioned_and_validated,
    retention_routes_are_for_admins_and_privacy,
    audit_rows_are_kept_for_their_own_term,
);

/// One generated case: its kind, theme, days since its closing, how it ends, and its hold.
struct Spec {
    kind: Option<&'static str>,
    theme: Option<&'static str>,
    age: i64,
    /// `closed`, `resolved`, or `None`: still open.
    end: Option<&'static str>,
    hold: Hold,
    expired: bool,
}

#[derive(PartialEq)]
enum Hold {
    None,
    Case,
    Contact,
}

const fn spec(
    kind: Option<&'static str>,
    theme: Option<&'static str>,
    age: i64,
    end: Option<&'static str>,
    hold: Hold,
    expired: bool,
) -> Spec {
    Spec {
        kind,
        theme,
        age,
        end,
        hold,
        expired,
    }
}

/// The terms (Selectielijst defaults, and 30 days for a melding about Afval) decide these.
const CASES: [Spec; 11] = [
    spec(Some("vraag"), None, 400, Some("closed"), Hold::None, true),
    spec(Some("vraag"), None, 300, Some("closed"), Hold::None, false),
    spec(
        Some("melding"),
        None,
        2000,
        Some("resolved"),
        Hold::None,
        true,
    ),
    spec(
        Some("melding"),
        None,
        1000,
        Some("closed"),
        Hold::None,
        false,
    ),
    spec(
        Some("klacht"),
        None,
        1900,
        Some("closed"),
        Hold::Case,
        false,
    ),
    spec(
        Some("vraag"),
        None,
        500,
        Some("closed"),
        Hold::Contact,
        false,
    ),
    spec(None, None, 400, Some("closed"), Hold::None, true),
    spec(Some("vraag"), None, 800, None, Hold::None, false),
    spec(
        Some("melding"),
        Some("Afval"),
        100,
        Some("closed"),
        Hold::None,
        true,
    ),
    spec(
        Some("melding"),
        Some("Wonen"),
        100,
        Some("closed"),
        Hold::None,
        false,
    ),
    spec(
        Some("compliment"),
        None,
        366,
        Some("resolved"),
        Hold::None,
        true,
    ),
];

/// The strings that name citizen `i`: its name, platform user id, words and a note's words.
fn needles(i: usize) -> [String; 4] {
    [
        format!("Naam{i:02}Jansma"),
        format!("3169000{i:04}"),
        format!("Woord{i:02}Lindelaan"),
        format!("Notitie{i:02}Kerkpad"),
    ]
}

/// Runs `sql` with the values `ms` and `id` ($1, $2) on the desk's database itself.
pub(super) async fn exec(app: &TestApp, sql: &str, ms: i64, id: Option<uuid::Uuid>) {
    match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            let mut q = sqlx::query(sql).bind(ms);
            if let Some(id) = id {
                q = q.bind(id);
            }
            q.execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            let mut q = sqlx::query(sql).bind(ms);
            if let Some(id) = id {
                q = q.bind(id);
            }
            q.execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

/// Sets the closing of case `id` to `at` (a case closed long ago), in the database itself.
async fn backdate(app: &TestApp, id: &str, at: chrono::DateTime<Utc>) {
    let sql = "UPDATE cases SET \
        closed_at = CASE WHEN closed_at IS NULL THEN NULL ELSE $1 END, \
        resolved_at = CASE WHEN resolved_at IS NULL THEN NULL ELSE $1 END WHERE id = $2";
    exec(app, sql, at.timestamp_millis(), Some(id.parse().unwrap())).await;
}

/// A signed Messenger delivery, journalled and processed, then made 40 days old: its raw body
/// is past the journal's 30-day term.
async fn old_delivery(app: &TestApp) {
    const PAGE: &str = "1049612400";
    admin_post(
        app,
        "/api/v1/channel-accounts",
        json!({"kind": "facebook_page", "name": "Gemeente", "externalId": PAGE, "defaultTeam": "kcc",
               "credentials": {"appSecret": "retention-app-secret", "verifyToken": "v"}}),
        201,
    )
    .await;
    post_messenger(
        app,
        b"retention-app-secret",
        PAGE,
        "psid-oud-12",
        "m_ret_1",
        "Een oud bericht",
    )
    .await;
    let old = (Utc::now() - Days::days(40)).timestamp_millis();
    for _ in 0..100 {
        exec(
            app,
            "UPDATE webhook_journal SET received_at = $1",
            old,
            None,
        )
        .await;
        let (_, p) = send(app.get("/api/v1/retention/preview")).await;
        if p["journalEntries"] == 1 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the delivery was not processed");
}

/// Every report the desk answers, over every case (arrival from 2015 to 2030).
async fn all_reports(app: &TestApp) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        "volume",
        "volume?groupBy=kind,theme",
        "volume?groupBy=month,channel",
        "reaction",
        "reaction?groupBy=kind",
        "resolution",
        "resolution?groupBy=theme",
        "norms",
        "forwarding",
        "agents",
    ] {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!("/api/v1/reports/{path}{sep}from=2015-01-01&to=2030-01-01");
        let (s, mut v) = send(app.get(&url)).await;
        assert_eq!(s, 200, "{url}: {v}");
        v.as_object_mut().unwrap().remove("generatedAt");
        out.push(v);
    }
    out
}

async fn a_retention_run_anonymises_exactly_the_expired_cases(app: TestApp, _idp: Idp) {
    team(&app, "kcc").await;
    let wa = app.channel_account("whatsapp", "31308002200").await;
    let dept = department(&app, "Afvalbeheer").await;
    let now = Utc::now();
    let mut cases = Vec::new();
    for (i, c) in CASES.iter().enumerate() {
        let [name, user, words, note] = needles(i);
        let sent = now - Days::days(c.age + 3);
        let m = admin_post(
            &app,
            "/api/v1/messages",
            json!({
                "channelAccountId": wa, "platformMessageId": format!("wamid.ret{i}"),
                "visibility": "private", "conversationKey": format!("wa:{user}"),
                "author": {"platformUserId": user, "displayName": name},
                "text": format!("Mijn vraag over de {words}"), "sentAt": sent.to_rfc3339(),
            }),
            201,
        )
        .await;
        let case = m["caseId"].as_str().unwrap().to_owned();
        let mut patch = json!({"kind": c.kind, "theme": c.theme});
        patch.as_object_mut().unwrap().retain(|_, v| !v.is_null());
        if patch != json!({}) {
            let (s, b) = send(app.patch(&format!("/api/v1/cases/{case}"), &patch)).await;
            assert_eq!(s, 200, "{b}");
        }
        admin_post(
            &app,
            &format!("/api/v1/cases/{case}/notes"),
            json!({"text": format!("{note}: {name} belde")}),
            201,
        )
        .await;
        if i % 3 == 0 {
            // A forward and its answer: the forwarding report counts them.
            let (s, b) = send(app.post(
                &format!("/api/v1/cases/{case}/forward"),
                &json!({"departmentId": dept, "question": format!("Wat weten jullie van {words}?")}),
            ))
            .await;
            assert_eq!(s, 200, "{b}");
        }
        if let Some(end) = c.end {
            let (s, b) = send(app.patch(
                &format!("/api/v1/cases/{case}"),
                &json!({"status": end, "noReplyReason": "Afgehandeld"}),
            ))
            .await;
            assert_eq!(s, 200, "{b}");
            backdate(&app, &case, now - Days::days(c.age)).await;
        }
        cases.push(case);
    }
    let contact_of = |i: usize| {
        let app = &app;
        let case = cases[i].clone();
        async move {
            let (s, c) = send(app.get(&format!("/api/v1/cases/{case}"))).await;
            assert_eq!(s, 200, "{c}");
            c["contactId"].as_str().unwrap().to_owned()
        }
    };
    for (i, c) in CASES.iter().enumerate() {
        let path = match c.hold {
            Hold::None => continue,
            Hold::Case => format!("/api/v1/cases/{}/legal-hold", cases[i]),
            Hold::Contact => format!("/api/v1/contacts/{}/legal-hold", contact_of(i).await),
        };
        // A hold needs its reason.
        let res = app
            .post(&path, &json!({"reason": " "}))
            .send()
            .await
            .unwrap();
        let p = expect_problem(res, 400).await;
        assert_eq!(p["invalidParams"][0]["name"], "reason", "{p}");
        let (s, b) =
            send(app.post(&path, &json!({"reason": "Formele klacht in behandeling"}))).await;
        assert_eq!(s, 204, "{b}");
    }
    // A held contact cannot be erased.
    let held = contact_of(5).await;
    let res = app
        .post(
            &format!("/api/v1/contacts/{held}/erase"),
            &json!({"reason": "Verzoek van de burger"}),
        )
        .send()
        .await
        .unwrap();
    expect_problem(res, 409).await;
    // The hold is audited under the contact.
    let (s, log) = send(app.get(&format!("/api/v1/contacts/{held}/access-log?limit=100"))).await;
    assert_eq!(s, 200, "{log}");
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "contact.legal_hold_set"
                && a["detail"]["reason"] == "Formele klacht in behandeling"),
        "{log}"
    );
    // A melding about Afval is kept 30 days.
    let mut terms = json!({"version": 0, "terms": {
        "defaultDays": 365,
        "kinds": {"vraag": 365, "melding": 1825, "klacht": 1825, "compliment": 365, "overig": 365},
        "themes": [{"kind": "melding", "theme": "Afval", "days": 30}]}});
    let (s, b) = send(
        app.client
            .put(app.url("/api/v1/retention/terms"))
            .bearer_auth(&app.admin_token)
            .json(&terms),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    terms["version"] = json!(1);

    let all: Vec<String> = (0..CASES.len()).flat_map(needles).collect();
    for (n, found) in all.iter().zip(rows_naming_each(&app, &all).await) {
        assert!(!found.is_empty(), "{n} is stored before");
    }
    old_delivery(&app).await;
    let before = all_reports(&app).await;

    let (s, preview) = send(app.get("/api/v1/retention/preview")).await;
    assert_eq!(s, 200, "{preview}");
    let expired: Vec<usize> = (0..CASES.len()).filter(|i| CASES[*i].expired).collect();
    assert_eq!(preview["cases"], expired.len(), "{preview}");
    assert_eq!(preview["journalEntries"], 1, "{preview}");
    let count = |kind: Value| {
        preview["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kind"] == kind)
            .map_or(0, |k| k["cases"].as_u64().unwrap())
    };
    assert_eq!(count(json!("vraag")), 1, "{preview}");
    assert_eq!(count(json!("melding")), 2, "{preview}");
    assert_eq!(count(json!("compliment")), 1, "{preview}");
    assert_eq!(count(Value::Null), 1, "{preview}");
    assert_eq!(count(json!("klacht")), 0, "{preview}");
    // The oldest closing among the meldingen is the one of 2000 days ago.
    let melding = preview["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "melding")
        .unwrap();
    let oldest: chrono::DateTime<Utc> = melding["oldestClosing"].as_str().unwrap().parse().unwrap();
    assert!(
        (oldest - (now - Days::days(2000))).num_seconds().abs() < 2,
        "{preview}"
    );
    // The preview changed nothing.
    let (_, again) = send(app.get("/api/v1/retention/preview")).await;
    assert_eq!(again["kinds"], preview["kinds"]);

    // The worker's run (under its lease), in batches of 2 to cross batch boundaries.
    let cfg = webcare_workers::retention::RetentionConfig::new(
        webcare_desk::retention::RunSettings {
            key: b"a-test-key-of-at-least-32-characters".to_vec(),
            journal_days: 30,
            batch: 2,
        },
        webcare_domain::retention::Window::Always,
    );
    let stop = tokio_util::sync::CancellationToken::new();
    let run = webcare_workers::retention::run_leased(app.desk(), &cfg, Utc::now(), &stop)
        .await
        .unwrap()
        .expect("the lease is free");
    assert_eq!(run.anonymised.cases, expired.len() as u64, "{run:?}");
    assert!(!run.interrupted);
    assert_eq!(run.journal_entries, 1, "{run:?}");
    // Each expired case had one message.
    assert_eq!(run.anonymised.messages, expired.len() as u64, "{run:?}");
    // Every expired case's citizen has no other case: each contact is anonymised too.
    assert_eq!(run.anonymised.contacts, expired.len() as u64, "{run:?}");

    let mut left_after = rows_naming_each(&app, &all).await.into_iter();
    for (i, c) in CASES.iter().enumerate() {
        for n in needles(i) {
            let left = left_after.next().unwrap();
            if c.expired {
                assert!(left.is_empty(), "case {i}: {n} is still in {left:?}");
            } else {
                assert!(!left.is_empty(), "case {i}: {n} was removed");
            }
        }
    }
    // Every report figure is as it was.
    assert_eq!(all_reports(&app).await, before);
    // The cases stay, marked; their status, kind and theme too.
    for i in &expired {
        let (s, c) = send(app.get(&format!("/api/v1/cases/{}", cases[*i]))).await;
        assert_eq!(s, 200, "{c}");
        assert_eq!(c["kind"], json!(CASES[*i].kind), "{c}");
        assert_eq!(c["theme"], json!(CASES[*i].theme), "{c}");
        assert_eq!(c["status"], CASES[*i].end.unwrap(), "{c}");
    }
    // Nothing is left for the next run; a second run does nothing.
    let (_, after) = send(app.get("/api/v1/retention/preview")).await;
    assert_eq!(after["cases"], 0, "{after}");
    assert_eq!(after["journalEntries"], 0, "{after}");
    let again = webcare_workers::retention::run_leased(app.desk(), &cfg, Utc::now(), &stop)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.anonymised.cases, 0);

    // Once the hold is lifted, the held case's term applies.
    let (s, _) = send(app.delete(&format!("/api/v1/cases/{}/legal-hold", cases[4]))).await;
    assert_eq!(s, 204);
    let (_, after) = send(app.get("/api/v1/retention/preview")).await;
    assert_eq!(after["cases"], 1, "{after}");
    assert_eq!(after["kinds"][0]["kind"], "klacht", "{after}");
}

async fn retention_terms_are_versioned_and_validated(app: TestApp, _idp: Idp) {
    let put = |body: Value| {
        app.client
            .put(app.url("/api/v1/retention/terms"))
            .bearer_auth(&app.admin_token)
            .json(&body)
    };
    // The Selectielijst defaults before anything is stored.
    let (s, t) = send(app.get("/api/v1/retention/terms")).await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["version"], 0);
    assert_eq!(t["inForce"]["kinds"]["vraag"], 365);
    assert_eq!(t["inForce"]["kinds"]["melding"], 1825);
    assert_eq!(t["inForce"]["kinds"]["klacht"], 1825);
    assert_eq!(t["inForce"]["auditDays"], 730);

    let good = json!({"defaultDays": 400, "kinds": {"vraag": 400}, "themes": []});
    for (bad, field) in [
        (json!({"defaultDays": 0}), "terms.defaultDays"),
        (
            json!({"defaultDays": 10, "auditDays": 0}),
            "terms.auditDays",
        ),
        (
            json!({"defaultDays": 10, "kinds": {"vraag": 40000}}),
            "terms.kinds.vraag",
        ),
        (
            json!({"defaultDays": 10, "themes": [{"kind": "melding", "theme": "", "days": 5}]}),
            "terms.themes[0].theme",
        ),
    ] {
        let res = put(json!({"version": 0, "terms": bad}))
            .send()
            .await
            .unwrap();
        let p = expect_problem(res, 400).await;
        assert_eq!(p["invalidParams"][0]["name"], field, "{p}");
    }
    // Unknown kinds and fields are refused as well.
    for bad in [
        json!({"version": 0, "terms": {"defaultDays": 10, "kinds": {"vragen": 5}}}),
        json!({"version": 0, "terms": good, "extra": 1}),
        json!({"version": 0, "terms": good, "effectiveFrom": "2020-01-01T00:00:00Z"}),
    ] {
        let res = put(bad).send().await.unwrap();
        expect_problem(res, 400).await;
    }
    let (_, t) = send(app.get("/api/v1/retention/terms")).await;
    assert_eq!(t["version"], 0, "nothing was stored: {t}");

    let (s, v1) = send(put(json!({"version": 0, "terms": good}))).await;
    assert_eq!(s, 200, "{v1}");
    assert_eq!(v1["version"], 1);
    // A change on an outdated version is a conflict.
    let res = put(json!({"version": 0, "terms": good}))
        .send()
        .await
        .unwrap();
    expect_problem(res, 409).await;
    // A version that takes effect later is stored but not in force yet.
    let later = (Utc::now() + Days::days(30)).to_rfc3339();
    let (s, v2) = send(put(json!({"version": 1, "effectiveFrom": later,
        "terms": {"defaultDays": 700}})))
    .await;
    assert_eq!(s, 200, "{v2}");
    let (_, t) = send(app.get("/api/v1/retention/terms")).await;
    assert_eq!(t["version"], 2, "{t}");
    assert_eq!(t["inForce"]["defaultDays"], 400, "{t}");
    assert_eq!(t["versions"].as_array().unwrap().len(), 2, "{t}");
}

async fn retention_routes_are_for_admins_and_privacy(app: TestApp, _idp: Idp) {
    let case = uuid::Uuid::now_v7();
    for role in [
        Role::Agent,
        Role::Teamlead,
        Role::Department,
        Role::Integration,
    ] {
        let token = app.token(role).await;
        for (method, path) in [
            (reqwest::Method::GET, "/api/v1/retention/preview".to_owned()),
            (reqwest::Method::GET, "/api/v1/retention/terms".to_owned()),
            (reqwest::Method::PUT, "/api/v1/retention/terms".to_owned()),
            (
                reqwest::Method::POST,
                format!("/api/v1/cases/{case}/legal-hold"),
            ),
            (
                reqwest::Method::DELETE,
                format!("/api/v1/contacts/{case}/legal-hold"),
            ),
        ] {
            let res = app
                .client
                .request(method.clone(), app.url(&path))
                .bearer_auth(&token)
                .json(&json!({"reason": "x"}))
                .send()
                .await
                .unwrap();
            expect_problem(res, 403).await;
        }
    }
    // The privacy officer previews, reads the terms and sets holds, but does not change the
    // terms, and does no case work.
    let po = app.token(Role::PrivacyOfficer).await;
    let as_po = |m: reqwest::Method, path: &str| {
        app.client
            .request(m, app.url(path))
            .bearer_auth(&po)
            .json(&json!({"reason": "Formele klacht"}))
    };
    let (s, p) = send(as_po(reqwest::Method::GET, "/api/v1/retention/preview")).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["cases"], 0);
    let (s, _) = send(as_po(reqwest::Method::GET, "/api/v1/retention/terms")).await;
    assert_eq!(s, 200);
    let res = as_po(reqwest::Method::PUT, "/api/v1/retention/terms")
        .send()
        .await
        .unwrap();
    expect_problem(res, 403).await;
    let res = as_po(reqwest::Method::GET, "/api/v1/cases")
        .send()
        .await
        .unwrap();
    expect_problem(res, 403).await;
    let (s, _) = send(as_po(
        reqwest::Method::POST,
        &format!("/api/v1/cases/{case}/legal-hold"),
    ))
    .await;
    assert_eq!(s, 404);
    // A desk user may be a privacy officer (the role lists of migration 0022).
    admin_post(
        &app,
        "/api/v1/users",
        json!({"name": "P", "email": "fg@gemeente.test", "role": "privacy_officer"}),
        201,
    )
    .await;
    // An unknown case or contact is a 404.
    let (s, _) = send(app.post(
        &format!("/api/v1/cases/{case}/legal-hold"),
        &json!({"reason": "Formele klacht"}),
    ))
    .await;
    assert_eq!(s, 404);
    let (s, _) = send(app.delete(&format!("/api/v1/contacts/{case}/legal-hold"))).await;
    assert_eq!(s, 404);
}

/// The audit keeps its rows for its own term (`auditDays`, two years by default): a run past it
/// deletes the older rows, in batches, except the record that a contact was erased.
async fn audit_rows_are_kept_for_their_own_term(app: TestApp, _idp: Idp) {
    for action in ["case.viewed", "contact.viewed", "contact.erased"] {
        app.store
            .record_audit(webcare_store::NewAuditEvent {
                actor: "token:test".into(),
                action: action.into(),
                case_id: None,
                detail: json!({}),
            })
            .await
            .unwrap();
    }
    let audit = || async {
        app.store
            .list_audit(Default::default(), None, 1000)
            .await
            .unwrap()
            .items
    };
    let before = audit().await.len();
    assert!(before >= 3);
    let settings = webcare_desk::retention::RunSettings {
        key: b"a-test-key-of-at-least-32-characters".to_vec(),
        journal_days: 30,
        batch: 2,
    };
    let desk = app.desk();
    let r = webcare_desk::retention::run(desk, &settings, Utc::now(), &|| true)
        .await
        .unwrap();
    assert_eq!(r.audit_rows, 0, "within the term");
    assert_eq!(audit().await.len(), before);
    let later = Utc::now() + Days::days(731);
    let p = webcare_desk::retention::preview(desk, later, 30)
        .await
        .unwrap();
    assert_eq!(p.audit_rows as usize, before - 1);
    let r = webcare_desk::retention::run(desk, &settings, later, &|| true)
        .await
        .unwrap();
    assert_eq!(r.audit_rows as usize, before - 1);
    let left = audit().await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].action, "contact.erased");
}
