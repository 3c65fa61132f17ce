//! People and access: users, teams and departments; an agent sees its teams' cases, a department
//! user only what is forwarded to its department; the department flow end to end.

use super::*;
use reqwest::Method;
use webcare_domain::Role;
use webcare_e2e::expect_problem;

crate::both!(
    users_teams_and_departments_are_validated,
    agents_see_their_teams_and_departments_their_forwards,
    the_department_flow_forward_answer_return_and_report,
    teams_auto_assign_new_cases,
);

async fn teams_auto_assign_new_cases(app: TestApp, _idp: Idp) {
    let t = team(&app, "kcc").await;
    let tid = t["id"].as_str().unwrap().to_owned();
    let acc = account_for_team(&app, "web", "kcc").await;
    let a = user(
        &app,
        json!({"name": "A", "email": "a@gemeente.test", "role": "agent", "teams": ["kcc"]}),
    )
    .await;
    let b = user(
        &app,
        json!({"name": "B", "email": "b@gemeente.test", "role": "agent", "teams": ["kcc"]}),
    )
    .await;
    user(&app, json!({"name": "C", "email": "c@gemeente.test", "role": "agent", "teams": ["kcc"], "active": false})).await;
    let assignee = |case: String| {
        let app = &app;
        async move {
            let (_, c) = send(app.get(&format!("/api/v1/cases/{case}"))).await;
            c["assignee"].as_str().map(str::to_owned)
        }
    };
    // Off: nobody gets it.
    let c0 = citizen_message(&app, &acc, "m0", ("u0", "X"), "nul").await;
    assert_eq!(assignee(c0).await, None);
    // Round robin with a cap of 2: a, b, a, b, then nobody.
    let (s, _) = send(app.patch(
        &format!("/api/v1/teams/{tid}"),
        &json!({"autoAssign": "round_robin", "maxOpenPerAgent": 2}),
    ))
    .await;
    assert_eq!(s, 200);
    let mut got = Vec::new();
    for i in 1..=5 {
        let c = citizen_message(
            &app,
            &acc,
            &format!("m{i}"),
            (&format!("u{i}"), "X"),
            "vraag",
        )
        .await;
        got.push(assignee(c).await);
    }
    let (a, b) = (Some(a), Some(b));
    assert_eq!(got, vec![a.clone(), b.clone(), a.clone(), b.clone(), None]);
    // Least loaded: resolve two of a's cases, a has fewest now.
    let (_, mine) = send(app.get(&format!("/api/v1/cases?assignee={}", a.clone().unwrap()))).await;
    for c in mine["items"].as_array().unwrap() {
        send(app.patch(
            &format!("/api/v1/cases/{}", c["id"].as_str().unwrap()),
            &json!({"status": "resolved"}),
        ))
        .await;
    }
    send(app.patch(
        &format!("/api/v1/teams/{tid}"),
        &json!({"autoAssign": "least_loaded"}),
    ))
    .await;
    let c = citizen_message(&app, &acc, "m9", ("u9", "X"), "vraag").await;
    assert_eq!(assignee(c.clone()).await, a);
    let (_, audit) = send(app.get(&format!("/api/v1/audit-events?caseId={c}"))).await;
    assert!(audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["actor"] == "system:auto-assign"));
}

async fn users_teams_and_departments_are_validated(app: TestApp, _idp: Idp) {
    let t = team(&app, "kcc").await;
    assert_eq!(t["autoAssign"], "off");
    let res = app
        .post("/api/v1/teams", &json!({"name": "kcc"}))
        .send()
        .await
        .unwrap();
    expect_problem(res, 409).await;
    let (s, t2) = send(app.patch(
        &format!("/api/v1/teams/{}", t["id"].as_str().unwrap()),
        &json!({"autoAssign": "least_loaded", "maxOpenPerAgent": 12}),
    ))
    .await;
    assert_eq!(s, 200, "{t2}");
    assert_eq!(t2["autoAssign"], "least_loaded");
    assert_eq!(t2["maxOpenPerAgent"], 12);
    let res = app
        .patch(
            &format!("/api/v1/teams/{}", t["id"].as_str().unwrap()),
            &json!({"maxOpenPerAgent": 0}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_problem(res, 400).await["invalidParams"][0]["name"],
        "maxOpenPerAgent"
    );

    let dept = department(&app, "Openbare ruimte").await;
    let (_, d) = send(app.get("/api/v1/departments")).await;
    assert_eq!(d["items"][0]["contactPersons"][0]["name"], "Piet");
    assert_eq!(d["items"][0]["answerMinutes"], 480);
    let res = app
        .post(
            "/api/v1/departments",
            &json!({"name": "X", "answerMinutes": 0}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_problem(res, 400).await["invalidParams"][0]["name"],
        "answerMinutes"
    );
    let (s, d2) = send(app.patch(
        &format!("/api/v1/departments/{dept}"),
        &json!({"answerMinutes": 960}),
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(d2["answerMinutes"], 960);

    for (body, field) in [
        (
            json!({"name": "A", "email": "a@gemeente.test", "role": "department"}),
            "departmentId",
        ),
        (
            json!({"name": "A", "email": "a@gemeente.test", "role": "agent", "departmentId": dept}),
            "departmentId",
        ),
        (
            json!({"name": "A", "email": "a@gemeente.test", "role": "department", "departmentId": uuid::Uuid::now_v7()}),
            "departmentId",
        ),
        (
            json!({"name": "A", "email": "a@gemeente.test", "role": "agent", "teams": ["geen"]}),
            "teams",
        ),
        (
            json!({"name": "A", "email": "geen-email", "role": "agent"}),
            "email",
        ),
        (
            json!({"name": "", "email": "a@gemeente.test", "role": "agent"}),
            "name",
        ),
        (
            json!({"name": "A", "email": "a@gemeente.test", "role": "integration"}),
            "role",
        ),
    ] {
        let res = app.post("/api/v1/users", &body).send().await.unwrap();
        let p = expect_problem(res, 400).await;
        assert_eq!(p["invalidParams"][0]["name"], field, "{body}");
    }
    let (_, none) = send(app.get("/api/v1/users")).await;
    assert!(
        none["items"].as_array().unwrap().is_empty(),
        "nothing stored on bad input"
    );
    let u = user(
        &app,
        json!({"name": "Anna", "email": "Anna@Gemeente.test", "role": "agent", "teams": ["kcc"]}),
    )
    .await;
    let res = app
        .post(
            "/api/v1/users",
            &json!({"name": "Anna 2", "email": "anna@gemeente.test", "role": "agent"}),
        )
        .send()
        .await
        .unwrap();
    expect_problem(res, 409).await;
    let (s, got) = send(app.get(&format!("/api/v1/users/{u}"))).await;
    assert_eq!(s, 200);
    assert_eq!(got["email"], "anna@gemeente.test");
    assert_eq!(got["teams"], json!(["kcc"]));
    assert_eq!(got["active"], true);
    let (s, got) = send(app.patch(
        &format!("/api/v1/users/{u}"),
        &json!({"role": "department", "departmentId": dept, "teams": []}),
    ))
    .await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got["departmentId"], dept.as_str());
    let res = app
        .get(&format!("/api/v1/users/{}", uuid::Uuid::now_v7()))
        .send()
        .await
        .unwrap();
    expect_problem(res, 404).await;
}

async fn agents_see_their_teams_and_departments_their_forwards(app: TestApp, idp: Idp) {
    team(&app, "kcc").await;
    team(&app, "stadsbeheer").await;
    let dept = department(&app, "Afval").await;
    let other_dept = department(&app, "Verkeer").await;
    let kcc = account_for_team(&app, "kcc-acc", "kcc").await;
    let sb = account_for_team(&app, "sb-acc", "stadsbeheer").await;
    user(&app, json!({"name": "Anna", "email": "anna@gemeente.test", "subject": "anna", "role": "agent", "teams": ["kcc"]})).await;
    user(&app, json!({"name": "Dirk", "email": "dirk@gemeente.test", "subject": "dirk", "role": "department", "departmentId": dept})).await;
    let anna = idp.token(Key::Rsa1, json!({"sub": "anna"}));
    let dirk = idp.token(Key::Rsa1, json!({"sub": "dirk"}));
    let mine = citizen_message(&app, &kcc, "k1", ("u1", "Jan"), "vraag").await;
    let theirs = citizen_message(&app, &sb, "s1", ("u2", "Piet"), "boom").await;
    let fwd = citizen_message(&app, &sb, "s2", ("u3", "Kees"), "container").await;
    let fwd_other = citizen_message(&app, &sb, "s3", ("u4", "Els"), "verkeerslicht").await;

    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, r) = send(with(&app, Method::GET, "/api/v1/cases", &anna)).await;
    assert_eq!(ids(&r), vec![mine.clone()]);
    let res = with(&app, Method::GET, &format!("/api/v1/cases/{theirs}"), &anna)
        .send()
        .await
        .unwrap();
    expect_problem(res, 404).await;
    let res = with(
        &app,
        Method::PATCH,
        &format!("/api/v1/cases/{theirs}"),
        &anna,
    )
    .json(&json!({"priority": "high"}))
    .send()
    .await
    .unwrap();
    expect_problem(res, 404).await;
    // Assigned to her in another team: visible.
    let (_, u) = send(app.get("/api/v1/users")).await;
    let anna_id = u["items"][0]["id"].as_str().unwrap().to_owned();
    send(app.patch(
        &format!("/api/v1/cases/{theirs}"),
        &json!({"assignee": anna_id}),
    ))
    .await;
    let (_, r) = send(with(&app, Method::GET, "/api/v1/cases", &anna)).await;
    assert_eq!(ids(&r), vec![theirs.clone(), mine.clone()]);

    // The department user sees nothing until a case is forwarded to the department.
    let (s, r) = send(with(&app, Method::GET, "/api/v1/cases", &dirk)).await;
    assert_eq!(s, 200);
    assert!(ids(&r).is_empty());
    for (case, d) in [(&fwd, &dept), (&fwd_other, &other_dept)] {
        let (s, b) = send(app.post(
            &format!("/api/v1/cases/{case}/forward"),
            &json!({"departmentId": d, "question": "Kan de container worden geleegd?"}),
        ))
        .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["status"], "forwarded");
    }
    let (_, r) = send(with(&app, Method::GET, "/api/v1/cases", &dirk)).await;
    assert_eq!(ids(&r), vec![fwd.clone()]);
    let (s, _) = send(with(
        &app,
        Method::GET,
        &format!("/api/v1/cases/{fwd}"),
        &dirk,
    ))
    .await;
    assert_eq!(s, 200);
    let res = with(
        &app,
        Method::GET,
        &format!("/api/v1/cases/{fwd_other}"),
        &dirk,
    )
    .send()
    .await
    .unwrap();
    expect_problem(res, 404).await;
    let res = with(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{fwd_other}/department-answer"),
        &dirk,
    )
    .json(&json!({"text": "x"}))
    .send()
    .await
    .unwrap();
    expect_problem(res, 404).await;
    // Departments do not work cases.
    let res = with(&app, Method::PATCH, &format!("/api/v1/cases/{fwd}"), &dirk)
        .json(&json!({"priority": "low"}))
        .send()
        .await
        .unwrap();
    expect_problem(res, 403).await;
    // A department token without a user sees every forwarded case.
    let dept_token = app.token(Role::Department).await;
    let (_, r) = send(with(&app, Method::GET, "/api/v1/cases", &dept_token)).await;
    assert_eq!(ids(&r), vec![fwd_other.clone(), fwd.clone()]);
}

async fn the_department_flow_forward_answer_return_and_report(app: TestApp, idp: Idp) {
    let dept = department(&app, "Afval").await;
    user(&app, json!({"name": "Dirk", "email": "dirk@gemeente.test", "subject": "dirk", "role": "department", "departmentId": dept})).await;
    let dirk = idp.token(Key::Ec1, json!({"sub": "dirk"}));
    let acc = account_for_team(&app, "web", "kcc").await;
    let c = citizen_message(
        &app,
        &acc,
        "m1",
        ("u1", "Jan"),
        "Mijn container is niet geleegd",
    )
    .await;
    citizen_message(&app, &acc, "m2", ("u2", "Piet"), "Andere vraag").await;

    // Answering before a forward: not visible to the department.
    let res = with(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{c}/department-answer"),
        &dirk,
    )
    .json(&json!({"text": "x"}))
    .send()
    .await
    .unwrap();
    expect_problem(res, 404).await;
    for (body, field) in [
        (
            json!({"departmentId": uuid::Uuid::now_v7(), "question": "?"}),
            "departmentId",
        ),
        (json!({"departmentId": dept, "question": ""}), "question"),
        (json!({"question": "?"}), "departmentId"),
    ] {
        let res = app
            .post(&format!("/api/v1/cases/{c}/forward"), &body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            expect_problem(res, 400).await["invalidParams"][0]["name"],
            field
        );
    }
    let (s, b) = send(app.post(
        &format!("/api/v1/cases/{c}/forward"),
        &json!({"departmentId": dept, "question": "Wanneer wordt de container geleegd?"}),
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["departmentId"], dept.as_str());
    // Forwarding a forwarded case again is not a move of the status machine.
    let res = app
        .post(
            &format!("/api/v1/cases/{c}/forward"),
            &json!({"departmentId": dept, "question": "?"}),
        )
        .send()
        .await
        .unwrap();
    assert!(expect_problem(res, 409).await["allowed"].is_array());
    // Handing back before there is an answer: 409.
    let res = app
        .post(
            &format!("/api/v1/cases/{c}/department-answer/return"),
            &json!({"reason": "?"}),
        )
        .send()
        .await
        .unwrap();
    expect_problem(res, 409).await;

    let (s, b) = send(
        with(
            &app,
            Method::POST,
            &format!("/api/v1/cases/{c}/department-answer"),
            &dirk,
        )
        .json(&json!({"text": "De container wordt donderdag geleegd."})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "open", "back with the KCC");
    // The department no longer sees it.
    let res = with(&app, Method::GET, &format!("/api/v1/cases/{c}"), &dirk)
        .send()
        .await
        .unwrap();
    expect_problem(res, 404).await;
    let (_, f) = send(app.get(&format!("/api/v1/cases/{c}/forwards"))).await;
    assert_eq!(f["pendingAnswer"], "De container wordt donderdag geleegd.");
    assert_eq!(
        f["forwards"][0]["answeredBy"]
            .as_str()
            .unwrap()
            .split(':')
            .next(),
        Some("user")
    );

    // The agent hands it back: forwarded again, a new question opens.
    let (s, b) = send(app.post(
        &format!("/api/v1/cases/{c}/department-answer/return"),
        &json!({"reason": "Welke donderdag? Graag een datum."}),
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "forwarded");
    let (_, f) = send(app.get(&format!("/api/v1/cases/{c}/forwards"))).await;
    assert!(f["pendingAnswer"].is_null());
    let fw = f["forwards"].as_array().unwrap();
    assert_eq!(fw.len(), 2);
    assert_eq!(fw[0]["returnReason"], "Welke donderdag? Graag een datum.");
    assert_eq!(fw[1]["question"], "Welke donderdag? Graag een datum.");
    let (s, _) = send(
        with(
            &app,
            Method::POST,
            &format!("/api/v1/cases/{c}/department-answer"),
            &dirk,
        )
        .json(&json!({"text": "Donderdag 26 november."})),
    )
    .await;
    assert_eq!(s, 200);

    let lead = app.token(Role::Teamlead).await;
    let (s, r) = send(with(
        &app,
        Method::GET,
        "/api/v1/reports/departments",
        &lead,
    ))
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["cases"], 2);
    assert_eq!(r["forwardedCases"], 1);
    assert_eq!(r["forwardedShare"], 0.5);
    let d = &r["departments"][0];
    assert_eq!(d["name"], "Afval");
    assert_eq!(d["forwards"], 2);
    assert_eq!(d["answered"], 2);
    assert_eq!(d["answeredInTime"], 2);
    assert_eq!(d["inTimeShare"], 1.0);
    assert_eq!(d["open"], 0);
    let res = with(
        &app,
        Method::GET,
        "/api/v1/reports/departments?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        &lead,
    )
    .send()
    .await
    .unwrap();
    expect_problem(res, 400).await;

    // Every step is in the audit trail.
    let (_, a) = send(app.get(&format!("/api/v1/audit-events?caseId={c}"))).await;
    let actions: Vec<&str> = a["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["action"].as_str().unwrap())
        .collect();
    for want in [
        "case.forwarded",
        "case.department_answered",
        "case.department_answer_returned",
    ] {
        assert!(actions.contains(&want), "{want} in {actions:?}");
    }
}
