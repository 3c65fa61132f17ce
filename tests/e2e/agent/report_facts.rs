//! The pre-aggregated report facts (migration 0036, `docs/REPORTS.md`, "Pre-aggregation") never
//! change a figure: on the hand-built week of `reports.rs` (a merged case, a reopened case, a
//! forward answered late, a holding answer, a case needing no reply, open cases), every report
//! with several groupings and the per-case export answer the same with the stored facts emptied
//! before every request (the raw rows only), filled, and after writes that must empty a case's
//! row (a new citizen message, a forward, a reopen). Both databases.

use super::reports::{build_week, first_case_at, local, message, reply, resolve};
use super::*;
use uuid::Uuid;
use webcare_domain::CaseStatus;
use webcare_e2e::TestApp;

webcare_e2e::both_backends!(stored_report_facts_equal_the_raw_rows);

const PERIOD: &str = "from=2026-02-23&to=2026-03-16";
const REPORTS: [&str; 9] = [
    "volume",
    "reaction",
    "resolution",
    "norms",
    "forwarding",
    "departments",
    "agents",
    "satisfaction",
    "costs",
];
const GROUPINGS: [&str; 4] = [
    "",
    "&groupBy=week,channel",
    "&groupBy=theme,month",
    "&groupBy=agent,priority",
];

/// Runs `sql` on the test's database; answers the rows it changed.
async fn exec(app: &TestApp, sql: &str) -> u64 {
    match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            let n = sqlx::query(sql)
                .execute(&pool)
                .await
                .unwrap()
                .rows_affected();
            pool.close().await;
            n
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            let n = sqlx::query(sql)
                .execute(&pool)
                .await
                .unwrap()
                .rows_affected();
            pool.close().await;
            n
        }
    }
}

/// Cases with stored facts.
async fn stored(app: &TestApp) -> i64 {
    let sql = "SELECT COUNT(*) FROM case_report_facts WHERE facts IS NOT NULL";
    match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
    }
}

async fn empty_all(app: &TestApp) {
    exec(
        app,
        "UPDATE case_report_facts SET facts = NULL, version = NULL",
    )
    .await;
}

/// Whether `case`'s facts are stored.
async fn is_stored(app: &TestApp, case: Uuid) -> bool {
    let sql = "SELECT COUNT(*) FROM case_report_facts WHERE facts IS NOT NULL AND case_id = $1";
    let n: i64 = match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            let n = sqlx::query_scalar(sql)
                .bind(case)
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            n
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            let n = sqlx::query_scalar(sql)
                .bind(case)
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            n
        }
    };
    n == 1
}

/// Every report in every grouping, and the export; with `raw`, the stored facts are emptied
/// before each request.
async fn answers(app: &TestApp, raw: bool) -> Vec<(String, Value)> {
    let mut paths: Vec<String> = REPORTS
        .iter()
        .flat_map(|r| {
            GROUPINGS
                .iter()
                .map(move |g| format!("/api/v1/reports/{r}?{PERIOD}{g}"))
        })
        .collect();
    paths.push(format!("/api/v1/reports/cases?{PERIOD}&limit=200"));
    let mut out = Vec::new();
    for path in paths {
        if raw {
            empty_all(app).await;
        }
        let (s, mut v) = send(app.get(&path)).await;
        strip_time(&mut v);
        // Not every report takes every grouping: a refusal must at least be the same each time.
        assert!(s == 200 || s == 400, "{path}: {s} {v}");
        out.push((path, json!({"status": s, "body": v})));
    }
    out
}

/// Drops the answer's own time, which differs between any two requests.
fn strip_time(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        o.remove("generatedAt");
    }
}

/// The answers of `a` and `b` are equal, path by path.
fn assert_same(a: &[(String, Value)], b: &[(String, Value)], what: &str) {
    assert_eq!(a.len(), b.len());
    for ((p, x), (_, y)) in a.iter().zip(b) {
        assert_eq!(x, y, "{what}: {p}");
    }
}

async fn stored_report_facts_equal_the_raw_rows(app: TestApp) {
    let w = build_week(&app).await;
    let before = answers(&app, true).await;
    let raw = before.clone();
    let ok = raw.iter().filter(|(_, v)| v["status"] == 200).count();
    assert!(ok > REPORTS.len(), "most reports answer: {ok}");

    // One report fills the rows of the settled cases; the open ones (a clock running) stay empty.
    send(app.get(&format!("/api/v1/reports/volume?{PERIOD}"))).await;
    let filled = stored(&app).await;
    let f = first_case_at(&app, local(7, 12, 0)).await;
    let a = first_case_at(&app, local(2, 9, 0)).await;
    let e = first_case_at(&app, local(5, 13, 0)).await;
    assert!(filled >= 4, "A, C, D and E are settled: {filled}");
    assert!(is_stored(&app, a).await && is_stored(&app, e).await);
    assert!(!is_stored(&app, f).await, "F waits for its reaction");
    assert_same(&raw, &answers(&app, false).await, "filled");

    // The reports read the stored row: E given A's stored facts counts A's messages.
    let copy = format!(
        "UPDATE case_report_facts SET facts = (SELECT facts FROM case_report_facts WHERE case_id = {}) \
         WHERE case_id = {}",
        lit(&app, a),
        lit(&app, e)
    );
    assert_eq!(exec(&app, &copy).await, 1);
    let volume = format!("/api/v1/reports/volume?{PERIOD}");
    let (_, mut v) = send(app.get(&volume)).await;
    strip_time(&mut v);
    assert_ne!(
        json!({"status": 200, "body": v}),
        raw[0].1,
        "the stored row is read"
    );
    empty_all(&app).await;
    send(app.get(&volume)).await;

    // Writes that change a case's facts empty its row in their own transaction.
    message(&app, w.acc1, "a", "a5", local(6, 10, 0), false).await;
    assert!(!is_stored(&app, a).await, "a new message empties the row");
    app.store
        .on_status_change(e, CaseStatus::Resolved, CaseStatus::Open, local(6, 9, 0))
        .await
        .unwrap();
    assert!(!is_stored(&app, e).await, "a reopen empties the row");
    let (s, v) = send(app.post(
        &format!("/api/v1/cases/{e}/forward"),
        &json!({"departmentId": w.dept, "question": "Klopt dit?"}),
    ))
    .await;
    assert_eq!(s, 200, "{v}");
    app.store
        .on_forward(e, None, None, local(6, 9, 30))
        .await
        .unwrap();
    app.store
        .on_department_answer(e, local(6, 11, 0))
        .await
        .unwrap();
    reply(&app, w.acc2, "e", "e2", e, local(6, 11, 30), false).await;
    resolve(&app, e, local(6, 12, 0)).await;
    let raw = answers(&app, true).await;
    send(app.get(&volume)).await;
    assert!(is_stored(&app, e).await, "E is settled again");
    assert_same(&raw, &answers(&app, false).await, "after the changes");
    // The answers changed (E's forward and reopen count), so the comparison above is not of two
    // unchanged states.
    assert_ne!(raw, before);
}

/// An SQL literal of `id` for the test's database.
fn lit(app: &TestApp, id: Uuid) -> String {
    match app.backend {
        Backend::Sqlite => format!("X'{}'", id.simple()),
        Backend::Postgres => format!("'{id}'"),
    }
}
