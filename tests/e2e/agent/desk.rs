//! Case work through the API: PATCH with the status machine, claim, notes, merge, bulk, inbox
//! filters and full-text search, audit trail, canned answers, board.

use super::*;
use reqwest::Method;
use webcare_domain::Role;
use webcare_e2e::expect_problem;

crate::both!(
    patch_follows_the_status_machine_and_is_audited,
    claim_notes_and_bulk_actions,
    merge_moves_messages_and_links_contacts,
    inbox_filters_and_full_text_search,
    audit_events_are_filtered_and_paged,
    canned_answers_render_with_case_data,
    replies_from_canned_answers,
    the_board_counts_the_desk,
);

async fn patch_follows_the_status_machine_and_is_audited(app: TestApp, _idp: Idp) {
    team(&app, "kcc").await;
    let acc = account_for_team(&app, "web", "kcc").await;
    let case = citizen_message(
        &app,
        &acc,
        "m1",
        ("u1", "Jan Jansen"),
        "Mijn container is niet geleegd",
    )
    .await;
    let path = format!("/api/v1/cases/{case}");

    // new -> waiting_on_citizen is allowed; waiting -> forwarded must go through /forward.
    let (s, b) = send(app.patch(&path, &json!({"status": "resolved", "priority": "high", "theme": "Afval", "kind": "melding", "targetGroup": "burger", "labels": ["container", "container", "noord"], "team": "kcc"}))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "resolved");
    assert_eq!(b["priority"], "high");
    assert_eq!(b["labels"], json!(["container", "noord"]));
    assert!(b["resolvedAt"].is_string());
    // resolved -> waiting_on_citizen is not in the table: 409 with what is allowed.
    let res = app
        .patch(&path, &json!({"status": "waiting_on_citizen"}))
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 409).await;
    assert_eq!(p["allowed"], json!(["open", "closed"]));
    // Bad input names the field and changes nothing.
    for (body, field) in [
        (json!({"theme": "Voetbal"}), "theme"),
        (json!({"status": "forwarded"}), "status"),
        (json!({"labels": [""]}), "labels"),
        (json!({"assignee": "not-a-user"}), "assignee"),
        (json!({"team": "nope"}), "team"),
        (json!({"priority": "extreme"}), "priority"),
        (json!({"bogus": 1}), "bogus"),
        (json!({}), "body"),
    ] {
        let res = app.patch(&path, &body).send().await.unwrap();
        let p = expect_problem(res, 400).await;
        assert_eq!(p["invalidParams"][0]["name"], field, "{body}");
    }
    let (_, now) = send(app.get(&path)).await;
    assert_eq!(now["status"], "resolved");
    assert_eq!(now["theme"], "Afval");
    // Clearing with null.
    let (s, b) = send(app.patch(&path, &json!({"theme": null, "status": "open"}))).await;
    assert_eq!(s, 200, "{b}");
    assert!(b["theme"].is_null());
    assert_eq!(b["status"], "open");
    // Unknown case: 404.
    let res = app
        .patch(
            &format!("/api/v1/cases/{}", uuid::Uuid::now_v7()),
            &json!({"priority": "low"}),
        )
        .send()
        .await
        .unwrap();
    expect_problem(res, 404).await;

    let (_, audit) = send(app.get(&format!("/api/v1/audit-events?caseId={case}"))).await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "case.updated").count(),
        2,
        "{actions:?}"
    );
    assert!(
        actions.contains(&"case.read"),
        "reads are audited: {actions:?}"
    );
    let first = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "case.updated")
        .unwrap();
    assert_eq!(
        first["detail"]["changes"]["status"],
        json!(["new", "resolved"])
    );
    assert!(first["actor"]
        .as_str()
        .unwrap()
        .starts_with("token:test-admin:"));
}

async fn claim_notes_and_bulk_actions(app: TestApp, idp: Idp) {
    team(&app, "kcc").await;
    let acc = account_for_team(&app, "web", "kcc").await;
    let anna = user(&app, json!({"name": "Anna", "email": "anna@gemeente.test", "subject": "anna", "role": "agent", "teams": ["kcc"]})).await;
    user(&app, json!({"name": "Bob", "email": "bob@gemeente.test", "subject": "bob", "role": "agent", "teams": ["kcc"]})).await;
    let ta = idp.token(Key::Rsa1, json!({"sub": "anna"}));
    let tb = idp.token(Key::Ec1, json!({"sub": "bob"}));
    let c1 = citizen_message(&app, &acc, "m1", ("u1", "Jan"), "vraag een").await;
    let c2 = citizen_message(&app, &acc, "m2", ("u2", "Piet"), "vraag twee").await;
    let c3 = citizen_message(&app, &acc, "m3", ("u3", "Klaas"), "vraag drie").await;

    let (s, b) = send(with(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{c1}/claim"),
        &ta,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["assignee"], anna);
    assert_eq!(b["status"], "open", "claiming a new case opens it");
    // Claiming again is fine; Bob cannot take it.
    let (s, _) = send(with(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{c1}/claim"),
        &ta,
    ))
    .await;
    assert_eq!(s, 200);
    let res = with(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{c1}/claim"),
        &tb,
    )
    .send()
    .await
    .unwrap();
    expect_problem(res, 409).await;
    // assignee=me is the caller's.
    let (_, mine) = send(with(&app, Method::GET, "/api/v1/cases?assignee=me", &ta)).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], c1.as_str());
    let (_, unassigned) = send(with(&app, Method::GET, "/api/v1/cases?assignee=none", &ta)).await;
    assert_eq!(unassigned["items"].as_array().unwrap().len(), 2);

    // Notes.
    let (s, notes) = send(
        with(
            &app,
            Method::POST,
            &format!("/api/v1/cases/{c1}/notes"),
            &ta,
        )
        .json(&json!({"text": "Gebeld met afval, komt morgen"})),
    )
    .await;
    assert_eq!(s, 201, "{notes}");
    assert_eq!(notes[0]["text"], "Gebeld met afval, komt morgen");
    assert!(notes[0]["author"]
        .as_str()
        .unwrap()
        .starts_with(&format!("user:{anna}:")));
    let res = with(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{c1}/notes"),
        &ta,
    )
    .json(&json!({"text": "  "}))
    .send()
    .await
    .unwrap();
    let p = expect_problem(res, 400).await;
    assert_eq!(p["invalidParams"][0]["name"], "text");
    let (_, notes) = send(with(
        &app,
        Method::GET,
        &format!("/api/v1/cases/{c1}/notes"),
        &tb,
    ))
    .await;
    assert_eq!(notes.as_array().unwrap().len(), 1);

    // Bulk: resolve three, one of which cannot be (already resolved), one unknown.
    let (s, _) = send(app.patch(
        &format!("/api/v1/cases/{c3}"),
        &json!({"status": "resolved"}),
    ))
    .await;
    assert_eq!(s, 200);
    let ghost = uuid::Uuid::now_v7().to_string();
    let (s, r) = send(app.post(
        "/api/v1/cases/bulk",
        &json!({"caseIds": [c1, c2, c3, ghost], "action": "resolve"}),
    ))
    .await;
    assert_eq!(s, 200, "{r}");
    let statuses: Vec<u64> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![200, 200, 409, 404]);
    assert_eq!(r["results"][0]["case"]["status"], "resolved");
    let (s, r) = send(app.post(
        "/api/v1/cases/bulk",
        &json!({"caseIds": [c1, c2], "action": "tag", "labels": ["storing"]}),
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(r["results"][1]["case"]["labels"], json!(["storing"]));
    let (s, r) = send(app.post(
        "/api/v1/cases/bulk",
        &json!({"caseIds": [c2], "action": "assign", "assignee": anna}),
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(r["results"][0]["case"]["assignee"], anna.as_str());
    for (body, field) in [
        (json!({"caseIds": [], "action": "resolve"}), "caseIds"),
        (json!({"caseIds": [c1], "action": "assign"}), "assignee"),
        (json!({"caseIds": [c1], "action": "tag"}), "labels"),
        (json!({"caseIds": [c1, c1], "action": "resolve"}), "caseIds"),
        (json!({"caseIds": [c1], "action": "explode"}), "action"),
    ] {
        let res = app.post("/api/v1/cases/bulk", &body).send().await.unwrap();
        let p = expect_problem(res, 400).await;
        assert_eq!(p["invalidParams"][0]["name"], field, "{body}");
    }
}

async fn merge_moves_messages_and_links_contacts(app: TestApp, _idp: Idp) {
    let web = account_for_team(&app, "web", "kcc").await;
    let wa = account_for_team(&app, "wa", "kcc").await;
    let a = citizen_message(
        &app,
        &web,
        "w1",
        ("jan-web", "Jan Jansen"),
        "Wanneer wordt het grofvuil opgehaald?",
    )
    .await;
    let b = citizen_message(
        &app,
        &wa,
        "a1",
        ("31612345678", "Jan"),
        "Grofvuil ophalen, wanneer?",
    )
    .await;
    let (_, before_b) = send(app.get(&format!("/api/v1/cases/{b}"))).await;
    let (s, merged) = send(app.post(
        &format!("/api/v1/cases/{a}/merge"),
        &json!({"intoCaseId": b}),
    ))
    .await;
    assert_eq!(s, 200, "{merged}");
    assert_eq!(merged["id"], b.as_str());
    let (_, into) = send(app.get(&format!("/api/v1/cases/{b}"))).await;
    assert_eq!(
        into["messages"].as_array().unwrap().len(),
        2,
        "messages moved"
    );
    assert_eq!(
        into["contact"]["identities"].as_array().unwrap().len(),
        2,
        "identities linked"
    );
    assert_eq!(into["contactId"], before_b["contactId"]);
    let (_, from) = send(app.get(&format!("/api/v1/cases/{a}"))).await;
    assert_eq!(from["status"], "closed");
    assert_eq!(from["messages"].as_array().unwrap().len(), 0);
    // Each inbox row says what its case holds now: the surviving case the citizen's latest
    // line, the merged one nothing.
    assert_eq!(into["preview"], "Grofvuil ophalen, wanneer?");
    assert_eq!(into["authorName"], "Jan");
    assert_eq!(from["preview"], "");
    assert_eq!(from["lastInboundAt"], Value::Null);
    let (_, fw) = send(app.get(&format!("/api/v1/cases/{a}/forwards"))).await;
    assert_eq!(fw["mergedInto"], b.as_str());
    // Merging a closed case again, or into itself, is refused.
    let res = app
        .post(
            &format!("/api/v1/cases/{a}/merge"),
            &json!({"intoCaseId": b}),
        )
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 409).await;
    assert!(p["allowed"].is_array());
    let res = app
        .post(
            &format!("/api/v1/cases/{b}/merge"),
            &json!({"intoCaseId": b}),
        )
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 400).await;
    assert_eq!(p["invalidParams"][0]["name"], "intoCaseId");
    // A new message from the citizen on the merged channel threads into the surviving case.
    let c = citizen_message(&app, &web, "w2", ("jan-web", "Jan Jansen"), "Nog een vraag").await;
    assert_ne!(c, a, "the closed, merged case is not reused");
}

async fn inbox_filters_and_full_text_search(app: TestApp, _idp: Idp) {
    let acc = account_for_team(&app, "web", "kcc").await;
    let lamp = citizen_message(
        &app,
        &acc,
        "s1",
        ("u1", "Jan Jansen"),
        "De lantaarnpalen in de Dorpsstraat branden niet",
    )
    .await;
    let tree = citizen_message(
        &app,
        &acc,
        "s2",
        ("u2", "Marieke Bakker"),
        "Er ligt een omgevallen boom op het fietspad",
    )
    .await;
    let bin = citizen_message(
        &app,
        &acc,
        "s3",
        ("u3", "Émile Çelik"),
        "Mijn container is niet geleegd",
    )
    .await;
    // Each row says what it is, from the same query: channel, citizen, first line, SLA state.
    let (s, list) = send(app.get("/api/v1/cases?sort=dueAt")).await;
    assert_eq!(s, 200);
    let row = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == bin.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["channelKind"], "api");
    assert_eq!(row["authorName"], "Émile Çelik");
    assert_eq!(row["preview"], "Mijn container is niet geleegd");
    assert_eq!(row["slaStatus"], "within");
    assert!(row["dueAt"].is_string() && row["lastInboundAt"].is_string());
    send(app.patch(
        &format!("/api/v1/cases/{lamp}"),
        &json!({"labels": ["storing", "verlichting"], "priority": "high"}),
    ))
    .await;
    send(app.patch(
        &format!("/api/v1/cases/{tree}"),
        &json!({"labels": ["storing"]}),
    ))
    .await;

    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let q = |s: &str| format!("/api/v1/cases?{s}");
    let (_, r) = send(app.get(&q("labels=storing"))).await;
    assert_eq!(ids(&r), vec![tree.clone(), lamp.clone()]);
    let (_, r) = send(app.get(&q("labels=storing,verlichting"))).await;
    assert_eq!(ids(&r), vec![lamp.clone()]);
    let (_, r) = send(app.get(&q("priority=high"))).await;
    assert_eq!(ids(&r), vec![lamp.clone()]);
    // Full text over message text.
    let (s, r) = send(app.get(&q("q=boom"))).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(ids(&r), vec![tree.clone()]);
    let (_, r) = send(app.get(&q("q=CONTAINER%20geleegd"))).await;
    assert_eq!(ids(&r), vec![bin.clone()]);
    // ... and over contact names (case-insensitive; SQLite also folds accents, PostgreSQL's
    // `dutch` configuration does not).
    let (_, r) = send(app.get(&q("q=bakker"))).await;
    assert_eq!(ids(&r), vec![tree.clone()]);
    let (_, r) = send(app.get(&q("q=%C3%87ELIK"))).await;
    assert_eq!(ids(&r), vec![bin.clone()]);
    if app.backend == Backend::Sqlite {
        let (_, r) = send(app.get(&q("q=celik"))).await;
        assert_eq!(ids(&r), vec![bin.clone()]);
    }
    // Query syntax is just words.
    let (s, r) = send(app.get(&q("q=boom%22%20OR%20*"))).await;
    assert_eq!(s, 200, "{r}");
    let (_, r) = send(app.get(&q("q=zwembad"))).await;
    assert!(ids(&r).is_empty());
    let res = app.get(&q("q=%22%2A%22")).send().await.unwrap();
    let p = expect_problem(res, 400).await;
    assert_eq!(p["invalidParams"][0]["name"], "q");
    // Date range.
    let (_, all) = send(app.get(&q("sort=oldest"))).await;
    let created: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["createdAt"].as_str().unwrap().to_owned())
        .collect();
    let (_, r) = send(app.get(&q(&format!(
        "createdFrom={}&sort=oldest",
        urlenc(&created[1])
    ))))
    .await;
    assert_eq!(ids(&r), vec![tree.clone(), bin.clone()]);
    let (_, r) = send(app.get(&q(&format!("createdTo={}", urlenc(&created[1]))))).await;
    assert_eq!(ids(&r), vec![lamp.clone()]);
    let res = app
        .get(&q(
            "createdFrom=2026-01-02T00:00:00Z&createdTo=2026-01-01T00:00:00Z",
        ))
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 400).await;
    assert_eq!(p["invalidParams"][0]["name"], "createdTo");
    // Pagination stays stable while a new case arrives.
    let (_, p1) = send(app.get(&q("limit=2&labels=storing"))).await;
    assert_eq!(ids(&p1), vec![tree.clone(), lamp.clone()]);
    let (_, p1) = send(app.get(&q("limit=2"))).await;
    citizen_message(&app, &acc, "s4", ("u4", "Nieuw"), "nieuw").await;
    let next = p1["next"].as_str().unwrap().to_owned();
    let (_, p2) = send(app.get(&next)).await;
    assert_eq!(ids(&p2), vec![lamp.clone()]);
    // Views.
    let (_, r) = send(app.get(&q("status=new&assignee=none"))).await;
    assert_eq!(ids(&r).len(), 4);
}

fn urlenc(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

async fn audit_events_are_filtered_and_paged(app: TestApp, idp: Idp) {
    team(&app, "kcc").await;
    let acc = account_for_team(&app, "web", "kcc").await;
    let anna = user(&app, json!({"name": "Anna", "email": "anna@gemeente.test", "subject": "anna", "role": "agent", "teams": ["kcc"]})).await;
    let ta = idp.token(Key::Rsa1, json!({"sub": "anna"}));
    let c = citizen_message(&app, &acc, "m1", ("u1", "Jan"), "vraag").await;
    let other = citizen_message(&app, &acc, "m2", ("u2", "Piet"), "vraag").await;
    for _ in 0..3 {
        let (s, _) = send(with(&app, Method::GET, &format!("/api/v1/cases/{c}"), &ta)).await;
        assert_eq!(s, 200);
    }
    send(with(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{c}/claim"),
        &ta,
    ))
    .await;
    send(app.get(&format!("/api/v1/cases/{other}"))).await;

    let (s, r) = send(app.get(&format!("/api/v1/audit-events?userId={anna}&limit=2"))).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["items"].as_array().unwrap().len(), 2);
    let (_, r2) = send(app.get(r["next"].as_str().unwrap())).await;
    assert_eq!(r2["items"].as_array().unwrap().len(), 2);
    assert!(r2["next"].is_null());
    let all: Vec<&Value> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(r2["items"].as_array().unwrap())
        .collect();
    assert!(all.iter().all(|a| a["caseId"] == c.as_str()));
    assert_eq!(all.iter().filter(|a| a["action"] == "case.read").count(), 3);
    assert_eq!(all.last().unwrap()["action"], "case.claimed");
    let (_, r) = send(app.get(&format!("/api/v1/audit-events?caseId={other}"))).await;
    assert_eq!(r["items"].as_array().unwrap().len(), 1);
    let future = "2099-01-01T00:00:00Z";
    let (_, r) = send(app.get(&format!("/api/v1/audit-events?from={future}"))).await;
    assert!(r["items"].as_array().unwrap().is_empty());
    let (_, r) = send(app.get(&format!("/api/v1/audit-events?to={future}&caseId={c}"))).await;
    assert_eq!(r["items"].as_array().unwrap().len(), 4);
    let res = app
        .get("/api/v1/audit-events?caseId=nope")
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 400).await;
    assert_eq!(p["invalidParams"][0]["name"], "caseId");
    // Only admins read the trail.
    let res = with(&app, Method::GET, "/api/v1/audit-events", &ta)
        .send()
        .await
        .unwrap();
    expect_problem(res, 403).await;
}

async fn canned_answers_render_with_case_data(app: TestApp, _idp: Idp) {
    team(&app, "kcc").await;
    team(&app, "stadsbeheer").await;
    let acc = account_for_team(&app, "web", "kcc").await;
    let c = citizen_message(
        &app,
        &acc,
        "m1",
        ("u1", "Anna de Vries"),
        "Wanneer is het stadskantoor open?",
    )
    .await;
    let lead = app.token(Role::Teamlead).await;
    let (s, a) = send(with(&app, Method::POST, "/api/v1/canned-answers", &lead).json(&json!({
        "team": "kcc", "title": "Openingstijden",
        "text": "Hoi {{voornaam}}, het stadskantoor is open {{openingstijden}}. Groet, {{agent}} ({{zaaknummer}})"
    }))).await;
    assert_eq!(s, 201, "{a}");
    let id = a["id"].as_str().unwrap().to_owned();
    send(
        with(&app, Method::POST, "/api/v1/canned-answers", &lead).json(
            &json!({"team": "stadsbeheer", "title": "Boom", "text": "We komen de boom bekijken."}),
        ),
    )
    .await;
    send(
        with(&app, Method::POST, "/api/v1/canned-answers", &lead)
            .json(&json!({"title": "Bedankt", "text": "Bedankt voor je bericht!"})),
    )
    .await;
    // Unknown variables are named.
    let res = with(&app, Method::POST, "/api/v1/canned-answers", &lead)
        .json(&json!({"title": "x", "text": "Hoi {{naam}} {{bsn}}"}))
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 400).await;
    assert_eq!(p["invalidParams"][0]["name"], "text");
    assert!(p["invalidParams"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("bsn, naam"));
    // Per team (plus desk-wide), searchable.
    let agent = app.token(Role::Agent).await;
    let (_, r) = send(with(
        &app,
        Method::GET,
        "/api/v1/canned-answers?team=kcc",
        &agent,
    ))
    .await;
    let titles: Vec<&str> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["Openingstijden", "Bedankt"]);
    let (_, r) = send(with(
        &app,
        Method::GET,
        "/api/v1/canned-answers?q=STADSKANTOOR",
        &agent,
    ))
    .await;
    assert_eq!(r["items"].as_array().unwrap().len(), 1);
    let (_, r) = send(with(
        &app,
        Method::GET,
        "/api/v1/canned-answers?q=100%25",
        &agent,
    ))
    .await;
    assert!(r["items"].as_array().unwrap().is_empty());
    // Rendered for the case.
    let (s, r) = send(
        with(
            &app,
            Method::POST,
            &format!("/api/v1/canned-answers/{id}/render"),
            &agent,
        )
        .json(&json!({
            "caseId": c, "values": {"openingstijden": "ma-vr 9:00-17:00"}
        })),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let text = r["text"].as_str().unwrap();
    assert!(
        text.starts_with(
            "Hoi Anna, het stadskantoor is open ma-vr 9:00-17:00. Groet, test-agent ("
        ),
        "{text}"
    );
    let res = with(
        &app,
        Method::POST,
        &format!("/api/v1/canned-answers/{id}/render"),
        &agent,
    )
    .json(&json!({"values": {"iban": "x"}}))
    .send()
    .await
    .unwrap();
    let p = expect_problem(res, 400).await;
    assert_eq!(p["invalidParams"][0]["name"], "values.iban");
    // A case that does not exist is bad input in the body, not a missing canned answer.
    let res = with(
        &app,
        Method::POST,
        &format!("/api/v1/canned-answers/{id}/render"),
        &agent,
    )
    .json(&json!({"caseId": uuid::Uuid::now_v7()}))
    .send()
    .await
    .unwrap();
    let p = expect_problem(res, 400).await;
    assert_eq!(p["invalidParams"][0]["name"], "caseId");
    // Edit and delete.
    let (s, r) = send(
        with(
            &app,
            Method::PATCH,
            &format!("/api/v1/canned-answers/{id}"),
            &lead,
        )
        .json(&json!({"team": null})),
    )
    .await;
    assert_eq!(s, 200);
    assert!(r["team"].is_null());
    let (s, _) = send(with(
        &app,
        Method::DELETE,
        &format!("/api/v1/canned-answers/{id}"),
        &lead,
    ))
    .await;
    assert_eq!(s, 204);
    let (s, _) = send(with(
        &app,
        Method::DELETE,
        &format!("/api/v1/canned-answers/{id}"),
        &lead,
    ))
    .await;
    assert_eq!(s, 404);
}

async fn the_board_counts_the_desk(app: TestApp, _idp: Idp) {
    team(&app, "kcc").await;
    let acc = account_for_team(&app, "web", "kcc").await;
    let a = citizen_message(&app, &acc, "m1", ("u1", "Jan"), "een").await;
    let b = citizen_message(&app, &acc, "m2", ("u2", "Piet"), "twee").await;
    let c = citizen_message(&app, &acc, "m3", ("u3", "Kees"), "drie").await;
    send(app.patch(
        &format!("/api/v1/cases/{b}"),
        &json!({"status": "waiting_on_citizen", "assignee": "me"}),
    ))
    .await;
    send(app.patch(
        &format!("/api/v1/cases/{c}"),
        &json!({"status": "resolved"}),
    ))
    .await;
    let lead = app.token(Role::Teamlead).await;
    let (s, r) = send(with(&app, Method::GET, "/api/v1/board", &lead)).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        r["openByStatus"],
        json!({"new": 1, "waiting_on_citizen": 1})
    );
    assert_eq!(r["unassigned"], 1);
    assert_eq!(r["agentLoad"], json!({"token:test-admin": 1}));
    assert_eq!(r["oldestUnansweredCaseId"], a.as_str());
    assert_eq!(r["arrivalsLastHour"], json!({"api": 3}));
    assert_eq!(r["slaWarnings"], 0);
    assert_eq!(r["slaBreaches"], 0);
    // Received 61 minutes ago (its id is of now): no longer an arrival of the last hour.
    let early = chrono::Utc::now() - chrono::Duration::minutes(61);
    let sql = "UPDATE messages SET received_at = $1 WHERE platform_message_id = 'm3'";
    super::retention::exec(&app, sql, early.timestamp_millis(), None).await;
    let (_, r) = send(with(&app, Method::GET, "/api/v1/board", &lead)).await;
    assert_eq!(r["arrivalsLastHour"], json!({"api": 2}), "{r}");
}

async fn replies_from_canned_answers(app: TestApp, idp: Idp) {
    team(&app, "kcc").await;
    team(&app, "stadsbeheer").await;
    let acc = account_for_team(&app, "web", "kcc").await;
    let case = citizen_message(
        &app,
        &acc,
        "m1",
        ("u1", "Jan Jansen"),
        "Mijn container is niet geleegd",
    )
    .await;
    user(&app, json!({"name": "Anna de Boer", "email": "anna@gemeente.test", "subject": "anna", "role": "agent", "teams": ["kcc"]})).await;
    let anna = idp.token(Key::Rsa1, json!({"sub": "anna"}));
    let lead = app.token(Role::Teamlead).await;
    let mut canned = Vec::new();
    for (team, text) in [
        (
            json!("kcc"),
            "Hoi {{voornaam}}, we legen de container morgen. Groet, {{agent}}",
        ),
        (json!("stadsbeheer"), "We komen de boom bekijken."),
        (json!(null), "Uw vraag ligt bij de afdeling {{afdeling}}."),
    ] {
        let (s, c) = send(
            with(&app, Method::POST, "/api/v1/canned-answers", &lead)
                .json(&json!({"team": team, "title": "t", "text": text})),
        )
        .await;
        assert_eq!(s, 201, "{c}");
        canned.push(c["id"].as_str().unwrap().to_owned());
    }
    let (kcc, sb, zaak) = (&canned[0], &canned[1], &canned[2]);
    let path = format!("/api/v1/cases/{case}/replies");
    // Her team's answer, filled in for the case, with her name.
    let (s, r) =
        send(with(&app, Method::POST, &path, &anna).json(&json!({"templateId": kcc}))).await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(
        r["text"],
        "Hoi Jan, we legen de container morgen. Groet, Anna"
    );
    assert_eq!(r["cannedAnswerId"], kcc.as_str());
    // Refused, naming templateId: another team's answer (with or without text), an unknown id,
    // and a variable the case cannot fill.
    let unknown = uuid::Uuid::now_v7().to_string();
    for (body, code) in [
        (json!({"templateId": sb}), "not_allowed"),
        (
            json!({"templateId": sb, "text": "Eigen tekst"}),
            "not_allowed",
        ),
        (json!({"templateId": unknown}), "unknown"),
        (json!({"templateId": zaak}), "unrenderable_variable"),
    ] {
        let res = with(&app, Method::POST, &path, &anna)
            .json(&body)
            .send()
            .await
            .unwrap();
        let p = expect_problem(res, 400).await;
        assert_eq!(p["invalidParams"][0]["name"], "templateId", "{p}");
        assert_eq!(p["invalidParams"][0]["code"], code, "{p}");
        if code == "unrenderable_variable" {
            assert!(
                p["invalidParams"][0]["reason"]
                    .as_str()
                    .unwrap()
                    .contains("{{afdeling}}"),
                "{p}"
            );
        }
    }
    // Text and templateId: her (edited) text is sent, the canned answer recorded as used, even
    // one she could not have sent unedited.
    let (s, r) = send(
        with(&app, Method::POST, &path, &anna)
            .json(&json!({"templateId": zaak, "text": "Uw melding is doorgezet naar Afval."})),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["text"], "Uw melding is doorgezet naar Afval.");
    assert_eq!(r["cannedAnswerId"], zaak.as_str());
    // A team lead may use any team's answer.
    let (s, r) =
        send(with(&app, Method::POST, &path, &lead).json(&json!({"templateId": sb}))).await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["text"], "We komen de boom bekijken.");
    // Nothing was stored for the refused ones; neither text nor a template is refused too.
    let res = with(&app, Method::POST, &path, &anna)
        .json(&json!({"visibility": "private"}))
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 400).await;
    assert_eq!(p["invalidParams"][0]["name"], "text");
    let (_, list) = send(with(&app, Method::GET, &path, &anna)).await;
    let used: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cannedAnswerId"].as_str().unwrap())
        .collect();
    assert_eq!(used, vec![kcc.as_str(), zaak.as_str(), sb.as_str()]);
    // The audit trail records which canned answer each reply used.
    let (_, audit) = send(app.get(&format!("/api/v1/audit-events?caseId={case}"))).await;
    let recorded: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "reply.created")
        .map(|a| a["detail"]["cannedAnswerId"].as_str().unwrap())
        .collect();
    assert_eq!(recorded.len(), 3);
    for c in [kcc, zaak, sb] {
        assert!(recorded.contains(&c.as_str()));
    }
}
