//! The citizen's record (issue 15) on both databases: contact search, detail and changes; link,
//! unlink and merge (a merge undone by unlinking); suggestions that never link; the inbox by
//! contact and a case's other open cases; department scope; the read audit and the access log.

use super::*;
use reqwest::Method;
use webcare_e2e::expect_problem;

crate::both!(
    contacts_are_searched_read_and_changed,
    merge_link_and_unlink_move_identities_and_cases,
    suggestions_find_the_same_citizen_and_never_link,
    reads_are_audited_by_contact_and_departments_see_their_own,
    an_export_holds_everything_about_the_contact,
    the_readable_export_names_what_the_json_holds,
    an_erase_leaves_no_trace_of_the_citizen,
);

/// An account of `kind` whose cases go to the `kcc` team.
async fn account(app: &TestApp, kind: &str, external: &str) -> String {
    let b = admin_post(
        app,
        "/api/v1/channel-accounts",
        json!({"kind": kind, "name": external, "externalId": external, "defaultTeam": "kcc"}),
        201,
    )
    .await;
    b["id"].as_str().unwrap().to_owned()
}

/// A citizen message (private) from `author` (platformUserId, handle, displayName); its case id.
async fn say(app: &TestApp, account: &str, id: &str, author: Value, text: &str) -> String {
    let body = json!({
        "channelAccountId": account, "platformMessageId": id, "visibility": "private",
        "author": author, "text": text, "sentAt": chrono::Utc::now().to_rfc3339(),
    });
    let m = admin_post(app, "/api/v1/messages", body, 201).await;
    m["caseId"].as_str().unwrap().to_owned()
}

async fn contact_of(app: &TestApp, case: &str) -> String {
    let (s, c) = send(app.get(&format!("/api/v1/cases/{case}"))).await;
    assert_eq!(s, 200, "{c}");
    c["contactId"].as_str().unwrap().to_owned()
}

fn ids(v: &Value, key: &str) -> Vec<String> {
    let mut out: Vec<String> = v[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn contacts_are_searched_read_and_changed(app: TestApp, _idp: Idp) {
    let wa = account(&app, "whatsapp", "31308001400").await;
    let x = account(&app, "x", "146000").await;
    let sanne_case = say(
        &app,
        &wa,
        "wamid.1",
        json!({"platformUserId": "31612345678", "displayName": "Sanne de Vries"}),
        "Mijn container is niet geleegd",
    )
    .await;
    let kees_case = say(
        &app,
        &x,
        "tw-1",
        json!({"platformUserId": "801", "handle": "keesj", "displayName": "Kees Jansen"}),
        "Lantaarnpaal kapot",
    )
    .await;
    let sanne = contact_of(&app, &sanne_case).await;
    let kees = contact_of(&app, &kees_case).await;

    // Search by a word of the name, a handle (with @, any case), a platform user id, and a phone
    // number typed any way (it is the WhatsApp id).
    for (q, want) in [
        ("sanne", &sanne),
        ("Jansen", &kees),
        ("@KeesJ", &kees),
        ("801", &kees),
        ("06-12345678", &sanne),
        ("+31 6 1234 5678", &sanne),
    ] {
        let (s, r) = send(app.get("/api/v1/contacts").query(&[("q", q)])).await;
        assert_eq!(s, 200, "{q}: {r}");
        assert_eq!(ids(&r, "items"), vec![want.clone()], "{q}");
    }
    let (_, r) = send(app.get("/api/v1/contacts?q=nobody")).await;
    assert!(r["items"].as_array().unwrap().is_empty());
    // Cursor pages in id order.
    let (_, p1) = send(app.get("/api/v1/contacts?limit=1")).await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 1);
    let next = p1["next"].as_str().expect("a next link").to_owned();
    let (_, p2) = send(app.get(&next)).await;
    assert_eq!(p2["items"].as_array().unwrap().len(), 1);
    assert!(p2["next"].is_null());
    assert_eq!(
        sorted(vec![
            p1["items"][0]["id"].as_str().unwrap().into(),
            p2["items"][0]["id"].as_str().unwrap().into()
        ]),
        sorted(vec![sanne.clone(), kees.clone()])
    );
    // Bad input is a 400 naming the parameter.
    for (query, name) in [
        ("q=%20%20", "q"),
        ("limit=0", "limit"),
        ("cursor=nope", "cursor"),
        ("colour=red", "colour"),
    ] {
        let res = app
            .get(&format!("/api/v1/contacts?{query}"))
            .send()
            .await
            .unwrap();
        let p = expect_problem(res, 400).await;
        assert_eq!(p["invalidParams"][0]["name"], name, "{query}: {p}");
    }
    let long = "a".repeat(201);
    let res = app
        .get(&format!("/api/v1/contacts?q={long}"))
        .send()
        .await
        .unwrap();
    expect_problem(res, 400).await;

    // One contact: identities with their channel, cases with status and zaak link, messages.
    let (s, c) = send(app.get(&format!("/api/v1/contacts/{sanne}"))).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["identities"][0]["channel"], "whatsapp");
    assert_eq!(c["identities"][0]["platformUserId"], "31612345678");
    assert_eq!(c["cases"][0]["id"], sanne_case.as_str());
    assert_eq!(c["cases"][0]["status"], "new");
    assert!(c["cases"][0]["zaakUrl"].is_null());
    assert_eq!(c["openCases"], 1);
    assert_eq!(
        c["latestMessages"][0]["text"],
        "Mijn container is niet geleegd"
    );
    assert_eq!(c["doNotAutoReply"], false);
    let res = app
        .get(&format!("/api/v1/contacts/{}", uuid::Uuid::now_v7()))
        .send()
        .await
        .unwrap();
    expect_problem(res, 404).await;
    let res = app.get("/api/v1/contacts/not-a-uuid").send().await.unwrap();
    expect_problem(res, 400).await;

    // Changes: name, notes, phone (normalised), the flag; null clears.
    let (s, c) = send(app.patch(
        &format!("/api/v1/contacts/{kees}"),
        &json!({"displayName": "K. Jansen", "notes": "Belt vaak over verlichting", "phone": "06 87 65 43 21", "doNotAutoReply": true}),
    ))
    .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["displayName"], "K. Jansen");
    assert_eq!(c["phone"], "31687654321");
    assert_eq!(c["doNotAutoReply"], true);
    let (_, c) = send(app.get(&format!("/api/v1/contacts/{kees}"))).await;
    assert_eq!(c["notes"], "Belt vaak over verlichting");
    // The recorded number and the whole given name find the contact too.
    for q in ["0687654321", "k. jansen"] {
        let (_, r) = send(app.get("/api/v1/contacts").query(&[("q", q)])).await;
        assert_eq!(ids(&r, "items"), vec![kees.clone()], "{q}");
    }
    // Invalid changes are refused whole: nothing changes.
    for (body, name) in [
        (json!({"phone": "bel me maar", "notes": "x"}), "phone"),
        (json!({"displayName": " ", "notes": "x"}), "displayName"),
        (json!({"notes": "n".repeat(10_001)}), "notes"),
        (json!({"doNotAutoReply": "ja"}), "doNotAutoReply"),
        (json!({"favouriteColour": "red"}), "favouriteColour"),
    ] {
        let res = app
            .patch(&format!("/api/v1/contacts/{kees}"), &body)
            .send()
            .await
            .unwrap();
        let p = expect_problem(res, 400).await;
        assert_eq!(p["invalidParams"][0]["name"], name, "{p}");
    }
    let (_, c) = send(app.get(&format!("/api/v1/contacts/{kees}"))).await;
    assert_eq!(c["notes"], "Belt vaak over verlichting");
    assert_eq!(c["displayName"], "K. Jansen");
    let (s, c) = send(app.patch(
        &format!("/api/v1/contacts/{kees}"),
        &json!({"notes": null, "phone": null}),
    ))
    .await;
    assert_eq!(s, 200);
    assert!(c["phone"].is_null());
    assert_eq!(c["displayName"], "K. Jansen", "fields not given stay");
    assert_eq!(c["doNotAutoReply"], true);
    let res = app
        .patch(
            &format!("/api/v1/contacts/{}", uuid::Uuid::now_v7()),
            &json!({"notes": "x"}),
        )
        .send()
        .await
        .unwrap();
    expect_problem(res, 404).await;
}

async fn merge_link_and_unlink_move_identities_and_cases(app: TestApp, _idp: Idp) {
    let wa = account(&app, "whatsapp", "31308001400").await;
    let fb = account(&app, "facebook_page", "1049612345").await;
    let x = account(&app, "x", "146000").await;
    let wa_case = say(
        &app,
        &wa,
        "wamid.1",
        json!({"platformUserId": "31612345678", "displayName": "Sanne"}),
        "container",
    )
    .await;
    let fb_case = say(
        &app,
        &fb,
        "fb-1",
        json!({"platformUserId": "fb-sanne", "displayName": "Sanne de Vries"}),
        "nog steeds niet geleegd",
    )
    .await;
    let x_case = say(
        &app,
        &x,
        "tw-1",
        json!({"platformUserId": "901", "handle": "sannedv", "displayName": "Sanne"}),
        "@gemeente container!",
    )
    .await;
    let (w, f, xc) = (
        contact_of(&app, &wa_case).await,
        contact_of(&app, &fb_case).await,
        contact_of(&app, &x_case).await,
    );
    // Before: the WhatsApp case shows no other open case.
    let (_, c) = send(app.get(&format!("/api/v1/cases/{wa_case}"))).await;
    assert_eq!(c["otherOpenCases"], json!([]));

    // Merge the Facebook contact into the WhatsApp one: its identity and case move.
    let (s, m) = send(app.post(
        &format!("/api/v1/contacts/{w}/merge"),
        &json!({"contactId": f}),
    ))
    .await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["toContactId"], w.as_str());
    assert_eq!(m["caseIds"], json!([fb_case]));
    let (_, c) = send(app.get(&format!("/api/v1/contacts/{w}"))).await;
    assert_eq!(c["identities"].as_array().unwrap().len(), 2);
    assert_eq!(
        ids(&c, "cases"),
        sorted(vec![wa_case.clone(), fb_case.clone()])
    );
    let fb_identity = c["identities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["channel"] == "facebook_page")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, gone) = send(app.get(&format!("/api/v1/contacts/{f}"))).await;
    assert_eq!(gone["mergedInto"], w.as_str());
    assert_eq!(gone["identities"], json!([]));
    // A merged-away contact is not listed, cannot be merged or changed again.
    let (_, all) = send(app.get("/api/v1/contacts")).await;
    assert!(!ids(&all, "items").contains(&f));
    let res = app
        .post(
            &format!("/api/v1/contacts/{xc}/merge"),
            &json!({"contactId": f}),
        )
        .send()
        .await
        .unwrap();
    expect_problem(res, 409).await;
    let res = app
        .patch(&format!("/api/v1/contacts/{f}"), &json!({"notes": "x"}))
        .send()
        .await
        .unwrap();
    expect_problem(res, 409).await;
    let res = app
        .post(
            &format!("/api/v1/contacts/{w}/merge"),
            &json!({"contactId": w}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_problem(res, 400).await["invalidParams"][0]["name"],
        "contactId"
    );
    let res = app
        .post(
            &format!("/api/v1/contacts/{w}/merge"),
            &json!({"contactId": uuid::Uuid::now_v7()}),
        )
        .send()
        .await
        .unwrap();
    expect_problem(res, 404).await;

    // The inbox by contact, and a case shows the citizen's other open cases on any channel.
    let (_, inbox) = send(app.get(&format!("/api/v1/cases?contactId={w}"))).await;
    assert_eq!(
        ids(&inbox, "items"),
        sorted(vec![wa_case.clone(), fb_case.clone()])
    );
    let (_, c) = send(app.get(&format!("/api/v1/cases/{wa_case}"))).await;
    assert_eq!(ids(&c, "otherOpenCases"), vec![fb_case.clone()]);
    // A closed case is not open.
    let (s, b) = send(app.patch(
        &format!("/api/v1/cases/{fb_case}"),
        &json!({"status": "closed"}),
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    let (_, c) = send(app.get(&format!("/api/v1/cases/{wa_case}"))).await;
    assert_eq!(c["otherOpenCases"], json!([]));

    // Link the X identity: it moves with its case; the emptied contact counts as merged.
    let (_, xcontact) = send(app.get(&format!("/api/v1/contacts/{xc}"))).await;
    let x_identity = xcontact["identities"][0]["id"].as_str().unwrap().to_owned();
    let (s, m) = send(app.post(
        &format!("/api/v1/contacts/{w}/identities"),
        &json!({"identityId": x_identity}),
    ))
    .await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["caseIds"], json!([x_case]));
    let (_, c) = send(app.get(&format!("/api/v1/contacts/{w}"))).await;
    assert_eq!(c["identities"].as_array().unwrap().len(), 3);
    let (_, gone) = send(app.get(&format!("/api/v1/contacts/{xc}"))).await;
    assert_eq!(gone["mergedInto"], w.as_str());
    let res = app
        .post(
            &format!("/api/v1/contacts/{w}/identities"),
            &json!({"identityId": x_identity}),
        )
        .send()
        .await
        .unwrap();
    expect_problem(res, 409).await;
    let res = app
        .post(
            &format!("/api/v1/contacts/{w}/identities"),
            &json!({"identityId": "nope"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_problem(res, 400).await["invalidParams"][0]["name"],
        "identityId"
    );

    // Unlink undoes the merge: the Facebook identity becomes a contact with its own case.
    let (s, m) = send(app.delete(&format!("/api/v1/contacts/{w}/identities/{fb_identity}"))).await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["caseIds"], json!([fb_case]));
    let split = m["toContactId"].as_str().unwrap().to_owned();
    let (_, c) = send(app.get(&format!("/api/v1/contacts/{split}"))).await;
    assert_eq!(c["displayName"], "Sanne de Vries");
    assert_eq!(ids(&c, "cases"), vec![fb_case.clone()]);
    assert_eq!(ids(&c, "identities"), vec![fb_identity.clone()]);
    let (_, c) = send(app.get(&format!("/api/v1/contacts/{w}"))).await;
    assert_eq!(
        ids(&c, "cases"),
        sorted(vec![wa_case.clone(), x_case.clone()])
    );
    // A new message of that identity now lands with its own contact.
    let again = say(
        &app,
        &fb,
        "fb-2",
        json!({"platformUserId": "fb-sanne", "displayName": "Sanne de Vries"}),
        "hallo?",
    )
    .await;
    assert_eq!(contact_of(&app, &again).await, split);
    // The only identity cannot be unlinked; an identity of another contact is not found.
    let res = app
        .delete(&format!(
            "/api/v1/contacts/{split}/identities/{fb_identity}"
        ))
        .send()
        .await
        .unwrap();
    expect_problem(res, 409).await;
    let res = app
        .delete(&format!("/api/v1/contacts/{w}/identities/{fb_identity}"))
        .send()
        .await
        .unwrap();
    expect_problem(res, 404).await;
    let res = app
        .delete(&format!("/api/v1/contacts/{w}/identities/xyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_problem(res, 400).await["invalidParams"][0]["name"],
        "identityId"
    );

    // Two agents merging the same two contacts in opposite directions at once: one wins, the
    // other is refused; never a cycle.
    let a = contact_of(
        &app,
        &say(&app, &fb, "fb-a", json!({"platformUserId": "fb-a"}), "a").await,
    )
    .await;
    let b = contact_of(
        &app,
        &say(&app, &fb, "fb-b", json!({"platformUserId": "fb-b"}), "b").await,
    )
    .await;
    let (ab, ba) = tokio::join!(
        send(app.post(
            &format!("/api/v1/contacts/{a}/merge"),
            &json!({"contactId": b})
        )),
        send(app.post(
            &format!("/api/v1/contacts/{b}/merge"),
            &json!({"contactId": a})
        )),
    );
    let mut statuses = vec![ab.0, ba.0];
    statuses.sort();
    assert_eq!(statuses, vec![200, 409], "{ab:?} {ba:?}");
    let (_, ca) = send(app.get(&format!("/api/v1/contacts/{a}"))).await;
    let (_, cb) = send(app.get(&format!("/api/v1/contacts/{b}"))).await;
    assert_eq!(
        [ca["mergedInto"].is_null(), cb["mergedInto"].is_null()]
            .iter()
            .filter(|live| **live)
            .count(),
        1,
        "{ca} {cb}"
    );

    // Every change is in the audit, on both contacts.
    let (_, log) = send(app.get(&format!("/api/v1/contacts/{split}/access-log"))).await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"contact.identity_unlinked"),
        "{actions:?}"
    );
    let (_, log) = send(app.get(&format!("/api/v1/contacts/{w}/access-log?limit=200"))).await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "contact.merged",
        "contact.identity_linked",
        "contact.identity_unlinked",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

async fn suggestions_find_the_same_citizen_and_never_link(app: TestApp, _idp: Idp) {
    let wa = account(&app, "whatsapp", "31308001400").await;
    let fb = account(&app, "facebook_page", "1049612345").await;
    let x = account(&app, "x", "146000").await;
    let ig = account(&app, "instagram", "178414").await;
    let w = contact_of(
        &app,
        &say(
            &app,
            &wa,
            "wamid.1",
            json!({"platformUserId": "31612345678", "displayName": "Sanne"}),
            "a",
        )
        .await,
    )
    .await;
    let f = contact_of(
        &app,
        &say(
            &app,
            &fb,
            "fb-1",
            json!({"platformUserId": "fb-sanne", "displayName": "Sanne de Vries"}),
            "b",
        )
        .await,
    )
    .await;
    let tw = contact_of(
        &app,
        &say(
            &app,
            &x,
            "tw-1",
            json!({"platformUserId": "901", "handle": "SanneDV", "displayName": "Sanne de Vries"}),
            "c",
        )
        .await,
    )
    .await;
    let insta = contact_of(
        &app,
        &say(&app, &ig, "ig-1", json!({"platformUserId": "ig-77", "handle": "sannedv", "displayName": "sanne  de vries"}), "d").await,
    )
    .await;
    let other_ig = contact_of(
        &app,
        &say(&app, &ig, "ig-2", json!({"platformUserId": "ig-78", "handle": "sannedv_", "displayName": "Sanne de Vries"}), "e").await,
    )
    .await;
    let suggestions = |id: String| {
        let app = &app;
        async move {
            let (s, r) = send(app.get(&format!("/api/v1/contacts/{id}/suggestions"))).await;
            assert_eq!(s, 200, "{r}");
            r["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    (
                        i["contact"]["id"].as_str().unwrap().to_owned(),
                        i["reasons"].clone(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    // No number recorded on the Facebook contact yet: nothing.
    assert!(suggestions(w.clone()).await.is_empty());
    // The agent records the number from the Facebook profile: now both ways.
    let (s, _) = send(app.patch(
        &format!("/api/v1/contacts/{f}"),
        &json!({"phone": "+31 (0)6 1234 5678"}),
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        suggestions(w.clone()).await,
        vec![(f.clone(), json!(["same_phone_number"]))]
    );
    assert_eq!(
        suggestions(f.clone()).await,
        vec![(w.clone(), json!(["same_phone_number"]))]
    );
    // Same handle and name on X and Instagram; a similar handle is not the same.
    assert_eq!(
        suggestions(tw.clone()).await,
        vec![(insta.clone(), json!(["same_name_and_handle"]))]
    );
    assert!(!suggestions(insta.clone())
        .await
        .iter()
        .any(|(id, _)| *id == other_ig));
    // Suggesting linked nothing.
    for c in [&w, &f, &tw, &insta] {
        let (_, body) = send(app.get(&format!("/api/v1/contacts/{c}"))).await;
        assert_eq!(body["identities"].as_array().unwrap().len(), 1);
        assert!(body["mergedInto"].is_null());
    }
    // A merged contact is no longer suggested.
    send(app.post(
        &format!("/api/v1/contacts/{w}/merge"),
        &json!({"contactId": f}),
    ))
    .await;
    assert!(suggestions(w.clone()).await.is_empty());
    let res = app
        .get(&format!(
            "/api/v1/contacts/{}/suggestions",
            uuid::Uuid::now_v7()
        ))
        .send()
        .await
        .unwrap();
    expect_problem(res, 404).await;
}

async fn reads_are_audited_by_contact_and_departments_see_their_own(app: TestApp, idp: Idp) {
    team(&app, "kcc").await;
    let dept = department(&app, "Afval").await;
    let acc = account_for_team(&app, "web", "kcc").await;
    let anna_id = user(&app, json!({"name": "Anna", "email": "anna@gemeente.test", "subject": "anna", "role": "agent", "teams": ["kcc"]})).await;
    user(&app, json!({"name": "Dirk", "email": "dirk@gemeente.test", "subject": "dirk", "role": "department", "departmentId": dept})).await;
    let anna = idp.token(Key::Rsa1, json!({"sub": "anna"}));
    let dirk = idp.token(Key::Rsa1, json!({"sub": "dirk"}));
    let kees_case = citizen_message(&app, &acc, "k1", ("u1", "Kees"), "container vol").await;
    let els_case = citizen_message(&app, &acc, "e1", ("u2", "Els"), "boom om").await;
    let kees = contact_of(&app, &kees_case).await;
    let els = contact_of(&app, &els_case).await;

    // Anna reads Kees's case and contact; a search is not a read of anyone's record.
    let (s, _) = send(with(
        &app,
        Method::GET,
        &format!("/api/v1/cases/{kees_case}"),
        &anna,
    ))
    .await;
    assert_eq!(s, 200);
    let (s, _) = send(with(
        &app,
        Method::GET,
        &format!("/api/v1/contacts/{kees}"),
        &anna,
    ))
    .await;
    assert_eq!(s, 200);
    let (s, r) = send(with(&app, Method::GET, "/api/v1/contacts?q=kees", &anna)).await;
    assert_eq!(s, 200);
    assert_eq!(ids(&r, "items"), vec![kees.clone()]);
    let (s, log) = send(app.get(&format!("/api/v1/contacts/{kees}/access-log"))).await;
    assert_eq!(s, 200, "{log}");
    let anna_actor = format!("user:{anna_id}:anna@gemeente.test");
    let rows: Vec<(String, String, Value)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
                e["caseId"].clone(),
            )
        })
        .collect();
    // contactId of the case read above as admin (contact_of) comes first, then Anna's two reads,
    // then this look at the log itself.
    let anna_rows: Vec<_> = rows.iter().filter(|r| r.0 == anna_actor).collect();
    assert_eq!(
        anna_rows,
        vec![
            &(anna_actor.clone(), "case.read".into(), json!(kees_case)),
            &(anna_actor.clone(), "contact.read".into(), Value::Null),
        ],
        "{rows:?}"
    );
    assert_eq!(rows.last().unwrap().1, "contact.access_log_read");
    assert!(log["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["at"].is_string() && e["id"].is_string()));
    // Nothing about Els's record is in Kees's log, and hers has only the admin's reads.
    let (_, log) = send(app.get(&format!("/api/v1/contacts/{els}/access-log"))).await;
    assert!(log["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["actor"] != anna_actor.as_str() && e["caseId"] != kees_case.as_str()));
    // Paged like every list.
    let (_, p1) = send(app.get(&format!("/api/v1/contacts/{kees}/access-log?limit=1"))).await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 1);
    assert!(p1["next"].is_string());
    // Only the admin reads the log.
    let res = with(
        &app,
        Method::GET,
        &format!("/api/v1/contacts/{kees}/access-log"),
        &anna,
    )
    .send()
    .await
    .unwrap();
    expect_problem(res, 403).await;

    // The department user sees no contact until a case of it is forwarded to the department.
    let (s, r) = send(with(&app, Method::GET, "/api/v1/contacts", &dirk)).await;
    assert_eq!(s, 200);
    assert!(r["items"].as_array().unwrap().is_empty());
    let res = with(
        &app,
        Method::GET,
        &format!("/api/v1/contacts/{kees}"),
        &dirk,
    )
    .send()
    .await
    .unwrap();
    expect_problem(res, 404).await;
    let (s, b) = send(app.post(
        &format!("/api/v1/cases/{kees_case}/forward"),
        &json!({"departmentId": dept, "question": "Kan de container worden geleegd?"}),
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    let (_, r) = send(with(&app, Method::GET, "/api/v1/contacts", &dirk)).await;
    assert_eq!(ids(&r, "items"), vec![kees.clone()]);
    let (s, c) = send(with(
        &app,
        Method::GET,
        &format!("/api/v1/contacts/{kees}"),
        &dirk,
    ))
    .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(ids(&c, "cases"), vec![kees_case.clone()]);
    let res = with(&app, Method::GET, &format!("/api/v1/contacts/{els}"), &dirk)
        .send()
        .await
        .unwrap();
    expect_problem(res, 404).await;
    // Departments do not change contacts.
    let res = with(
        &app,
        Method::PATCH,
        &format!("/api/v1/contacts/{kees}"),
        &dirk,
    )
    .json(&json!({"notes": "x"}))
    .send()
    .await
    .unwrap();
    expect_problem(res, 403).await;
    // Dirk's read is in Kees's log too.
    let (_, log) = send(app.get(&format!("/api/v1/contacts/{kees}/access-log?limit=200"))).await;
    assert!(log["items"].as_array().unwrap().iter().any(|e| e["actor"]
        .as_str()
        .unwrap()
        .contains("dirk@gemeente.test")
        && e["action"] == "contact.read"));
}

/// The contact of case `keep` with the contact of case `other` merged into it and `notes`
/// recorded; its id.
async fn merged_with_notes(app: &TestApp, keep: &str, other: &str, notes: &str) -> String {
    let contact = contact_of(app, keep).await;
    let merged = contact_of(app, other).await;
    let (s, b) = send(app.post(
        &format!("/api/v1/contacts/{contact}/merge"),
        &json!({"contactId": merged}),
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = send(app.patch(
        &format!("/api/v1/contacts/{contact}"),
        &json!({"notes": notes}),
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    contact
}

async fn an_export_holds_everything_about_the_contact(app: TestApp, idp: Idp) {
    team(&app, "kcc").await;
    let dept = department(&app, "Afval").await;
    let wa = account(&app, "whatsapp", "31308001400").await;
    let fb = account(&app, "facebook_page", "1049612345").await;
    user(&app, json!({"name": "Anna", "email": "anna@gemeente.test", "subject": "anna", "role": "agent", "teams": ["kcc"]})).await;
    let anna = idp.token(Key::Rsa1, json!({"sub": "anna"}));
    let c1 = say(
        &app,
        &wa,
        "wamid.1",
        json!({"platformUserId": "31612345678", "displayName": "Sanne"}),
        "Container niet geleegd",
    )
    .await;
    say(
        &app,
        &wa,
        "wamid.2",
        json!({"platformUserId": "31612345678", "displayName": "Sanne"}),
        "Nog steeds niet",
    )
    .await;
    let c2 = say(
        &app,
        &fb,
        "fb-1",
        json!({"platformUserId": "fb-sanne", "displayName": "Sanne de Vries"}),
        "Hallo gemeente",
    )
    .await;
    let other = say(
        &app,
        &fb,
        "fb-2",
        json!({"platformUserId": "fb-kees", "displayName": "Kees"}),
        "Iets anders",
    )
    .await;
    let sanne = merged_with_notes(&app, &c1, &c2, "Woont aan de Dorpsstraat").await;
    let (s, _) = send(app.post(
        &format!("/api/v1/cases/{c1}/notes"),
        &json!({"text": "Route 4 gemist"}),
    ))
    .await;
    assert_eq!(s, 201);
    let (s, b) = send(app.post(
        &format!("/api/v1/cases/{c1}/forward"),
        &json!({"departmentId": dept, "question": "Kan de container worden geleegd?"}),
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = send(with(
        &app,
        Method::GET,
        &format!("/api/v1/contacts/{sanne}"),
        &anna,
    ))
    .await;
    assert_eq!(s, 200);

    let res = app
        .client
        .post(app.url(&format!("/api/v1/contacts/{sanne}/export")))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let doc: Value = res.json().await.expect("the export is one JSON document");
    assert_eq!(doc["contact"]["id"], sanne.as_str());
    assert_eq!(doc["notes"], "Woont aan de Dorpsstraat");
    assert_eq!(doc["contact"]["identities"].as_array().unwrap().len(), 2);
    assert_eq!(ids(&doc, "cases"), sorted(vec![c1.clone(), c2.clone()]));
    assert!(!ids(&doc, "cases").contains(&other));
    let texts: Vec<&str> = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["messages"].as_array().unwrap())
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        sorted(texts.iter().map(|t| t.to_string()).collect()),
        sorted(vec![
            "Container niet geleegd".into(),
            "Nog steeds niet".into(),
            "Hallo gemeente".into()
        ])
    );
    let case1 = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == c1.as_str())
        .unwrap();
    assert_eq!(case1["notes"][0]["text"], "Route 4 gemist");
    assert_eq!(
        case1["forwards"][0]["question"],
        "Kan de container worden geleegd?"
    );
    assert_eq!(case1["status"], "forwarded");
    // Who read the data, this export included.
    let log: Vec<(String, String)> = doc["accessLog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        log.iter()
            .any(|(a, x)| a.contains("anna@gemeente.test") && x == "contact.read"),
        "{log:?}"
    );
    assert_eq!(log.last().unwrap().1, "contact.exported");
    // Admin only; an unknown contact is a 404.
    let res = with(
        &app,
        Method::POST,
        &format!("/api/v1/contacts/{sanne}/export"),
        &anna,
    )
    .send()
    .await
    .unwrap();
    expect_problem(res, 403).await;
    let res = app
        .client
        .post(app.url(&format!("/api/v1/contacts/{}/export", uuid::Uuid::now_v7())))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    expect_problem(res, 404).await;
}

/// Text as the readable export writes it (escaped).
fn html_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

async fn export_as(app: &TestApp, contact: &str, format: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!(
            "/api/v1/contacts/{contact}/export?format={format}"
        )))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap()
}

async fn the_readable_export_names_what_the_json_holds(app: TestApp, _idp: Idp) {
    team(&app, "kcc").await;
    let wa = account(&app, "whatsapp", "31308001400").await;
    let x = account(&app, "x", "146000").await;
    let c1 = say(
        &app,
        &wa,
        "wamid.1",
        json!({"platformUserId": "31612345678", "displayName": "Sanne"}),
        "<script>alert('hallo')</script> Container niet geleegd",
    )
    .await;
    let c2 = say(
        &app,
        &x,
        "x-1",
        json!({"platformUserId": "x-sanne", "handle": "sanne_dv", "displayName": "Sanne & co"}),
        "Lantaarnpaal \"kapot\" bij nr. 4",
    )
    .await;
    let sanne = merged_with_notes(&app, &c1, &c2, "Belt liever <b>niet</b>").await;

    let res = export_as(&app, &sanne, "json").await;
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    let res = export_as(&app, &sanne, "html").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(&format!("contact-{sanne}.html")));
    let html = res.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html><html lang=\"nl\">"));
    assert!(html.ends_with("</html>"), "the whole page was written");
    // No external assets: nothing is fetched when the citizen opens it.
    for tag in ["<script", "<link", "src=", "<img"] {
        assert!(!html.contains(tag), "{tag} in the summary");
    }
    assert!(html.contains("&lt;script&gt;alert(&#39;hallo&#39;)&lt;/script&gt;"));
    assert!(html.contains("Belt liever &lt;b&gt;niet&lt;/b&gt;"));
    // Every case, identity and message of the JSON is named in the summary.
    assert_eq!(ids(&doc, "cases"), sorted(vec![c1.clone(), c2.clone()]));
    for case in doc["cases"].as_array().unwrap() {
        assert!(html.contains(&format!("Zaak {}", case["id"].as_str().unwrap())));
        for m in case["messages"].as_array().unwrap() {
            let text = m["text"].as_str().unwrap();
            assert!(html.contains(&html_text(text)), "{text} missing");
        }
    }
    let identities = doc["contact"]["identities"].as_array().unwrap();
    assert_eq!(identities.len(), 2);
    for i in identities {
        for key in ["platformUserId", "displayName"] {
            let v = i[key].as_str().unwrap();
            assert!(html.contains(&html_text(v)), "{key} {v} missing");
        }
    }
    assert!(html.contains("sanne_dv"));
    // The access log, this summary's own export included.
    assert!(html.contains("Gegevens uitgevoerd (export)"));
    let (_, log) = send(app.get(&format!("/api/v1/contacts/{sanne}/access-log?limit=200"))).await;
    let exports = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "contact.exported")
        .count();
    assert_eq!(exports, 2, "both downloads are recorded");
    // An unknown format is a 400 and records nothing.
    let res = export_as(&app, &sanne, "pdf").await;
    let p = expect_problem(res, 400).await;
    assert_eq!(p["invalidParams"][0]["name"], "format", "{p}");
    let (_, log) = send(app.get(&format!("/api/v1/contacts/{sanne}/access-log?limit=200"))).await;
    assert_eq!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "contact.exported")
            .count(),
        2
    );
}

/// Every row of every text, JSON or binary column in the desk's database that contains `needle`,
/// as `table.column` (the scan an auditor would run after an erase).
pub(super) async fn rows_naming(app: &TestApp, needle: &str) -> Vec<String> {
    rows_naming_each(app, &[needle.to_owned()])
        .await
        .pop()
        .unwrap_or_default()
}

/// [`rows_naming`] for each of `needles` (in their order), in one scan: one query per column
/// tests them all, so a test with dozens of needles does not scan the schema dozens of times.
pub(super) async fn rows_naming_each(app: &TestApp, needles: &[String]) -> Vec<Vec<String>> {
    let mut found = vec![Vec::new(); needles.len()];
    let mut note = |t: &str, c: &str, hits: Vec<(i64,)>| {
        for (i,) in hits {
            found[i as usize].push(format!("{t}.{c}"));
        }
    };
    match app.backend {
        webcare_e2e::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            let tables: Vec<(String,)> = sqlx::query_as(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            let list = serde_json::to_string(needles).unwrap();
            for (t,) in tables {
                let cols: Vec<(i64, String, String, i64, Option<String>, i64)> =
                    sqlx::query_as(&format!("PRAGMA table_info({t})"))
                        .fetch_all(&pool)
                        .await
                        .unwrap();
                for (_, c, _, _, _, _) in cols {
                    let hits: Vec<(i64,)> = sqlx::query_as(&format!(
                        "SELECT n.key FROM json_each(?) n WHERE EXISTS (SELECT 1 FROM {t} \
                         WHERE instr(CAST({c} AS BLOB), CAST(n.value AS BLOB)) > 0)"
                    ))
                    .bind(&list)
                    .fetch_all(&pool)
                    .await
                    .unwrap();
                    note(&t, &c, hits);
                }
            }
            pool.close().await;
        }
        webcare_e2e::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            let cols: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT table_name::text, column_name::text, data_type::text \
                 FROM information_schema.columns WHERE table_schema = current_schema() \
                 AND table_name NOT LIKE '_sqlx%'",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            for (t, c, ty) in cols {
                let test = match ty.as_str() {
                    "bytea" => format!("position(convert_to(n.needle, 'UTF8') in {c}) > 0"),
                    _ => format!("strpos({c}::text, n.needle) > 0"),
                };
                let hits: Vec<(i64,)> = sqlx::query_as(&format!(
                    "SELECT n.i - 1 FROM unnest($1::text[]) WITH ORDINALITY AS n(needle, i) \
                     WHERE EXISTS (SELECT 1 FROM {t} WHERE {test})"
                ))
                .bind(needles)
                .fetch_all(&pool)
                .await
                .unwrap();
                note(&t, &c, hits);
            }
            pool.close().await;
        }
    }
    found
}

/// AVG art. 17: after an erase, no table holds the citizen's name, ids, phone, words or notes,
/// on any channel (a scan of every column); another citizen's data stays; the audit says that
/// an erase happened, by whom and why; the case counts stay for the reports.
async fn an_erase_leaves_no_trace_of_the_citizen(app: TestApp, _idp: Idp) {
    team(&app, "kcc").await;
    let wa = account(&app, "whatsapp", "31308001400").await;
    const PAGE: &str = "1049612399";
    let fb = admin_post(
        &app,
        "/api/v1/channel-accounts",
        json!({"kind": "facebook_page", "name": "Gemeente", "externalId": PAGE, "defaultTeam": "kcc",
               "credentials": {"appSecret": "erase-app-secret", "verifyToken": "v"}}),
        201,
    )
    .await["id"]
    .as_str()
    .unwrap()
    .to_owned();
    let c1 = say(
        &app,
        &wa,
        "wamid.e1",
        json!({"platformUserId": "31687654321", "displayName": "Sanne Jansen"}),
        "Mijn container aan de Lindelaan is niet geleegd",
    )
    .await;
    // The same citizen on Messenger, through the signed webhook (so the journal holds the raw
    // delivery).
    post_messenger(
        &app,
        b"erase-app-secret",
        PAGE,
        "psid-sanne-77",
        "m_erase_1",
        "Hallo, ik ben Sanne Jansen van de Lindelaan",
    )
    .await;
    let mut c2 = None;
    for _ in 0..100 {
        let (_, list) = send(app.get("/api/v1/cases?limit=50")).await;
        c2 = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["channelAccountId"] == fb.as_str())
            .map(|c| c["id"].as_str().unwrap().to_owned());
        if c2.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let c2 = c2.expect("the Messenger message became a case");
    let kees = say(
        &app,
        &wa,
        "wamid.k1",
        json!({"platformUserId": "31611112222", "displayName": "Kees Bakker"}),
        "Lantaarnpaal Kerkstraat stuk",
    )
    .await;
    let sanne = contact_of(&app, &c1).await;
    let other = contact_of(&app, &c2).await;
    send(app.post(
        &format!("/api/v1/contacts/{sanne}/merge"),
        &json!({"contactId": other}),
    ))
    .await;
    send(app.patch(
        &format!("/api/v1/contacts/{sanne}"),
        &json!({"notes": "Belt vaak over de Lindelaan", "phone": "+31687654321"}),
    ))
    .await;
    let (s, _) = send(app.post(
        &format!("/api/v1/cases/{c1}/notes"),
        &json!({"text": "Sanne Jansen gebeld over de Lindelaan"}),
    ))
    .await;
    assert_eq!(s, 201);

    // Not while a case is open.
    let res = app
        .post(
            &format!("/api/v1/contacts/{sanne}/erase"),
            &json!({"reason": "Verzoek van de burger, 6 december 2026"}),
        )
        .send()
        .await
        .unwrap();
    expect_problem(res, 409).await;
    for case in [&c1, &c2] {
        let (s, b) = send(app.patch(
            &format!("/api/v1/cases/{case}"),
            &json!({"status": "closed", "noReplyReason": "Verwijderd op verzoek"}),
        ))
        .await;
        assert_eq!(s, 200, "{b}");
    }
    let needles = [
        "Sanne",
        "Jansen",
        "31687654321",
        "psid-sanne-77",
        "Lindelaan",
    ]
    .map(String::from);
    for (n, found) in needles.iter().zip(rows_naming_each(&app, &needles).await) {
        assert!(!found.is_empty(), "{n} is stored before");
    }
    let (s, erased) = send(app.post(
        &format!("/api/v1/contacts/{sanne}/erase"),
        &json!({"reason": "Verzoek van de burger, 6 december 2026"}),
    ))
    .await;
    assert_eq!(s, 200, "{erased}");
    assert_eq!(erased["cases"], 2);
    assert_eq!(erased["identities"], 2);
    assert!(erased["journalEntries"].as_u64().unwrap() >= 1, "{erased}");
    for (n, left) in needles.iter().zip(rows_naming_each(&app, &needles).await) {
        assert!(left.is_empty(), "{n} is still in {left:?}");
    }
    // Another citizen's data stays; the cases stay for the reports, without their words.
    assert!(!rows_naming(&app, "Kees Bakker").await.is_empty());
    assert!(!rows_naming(&app, "Kerkstraat").await.is_empty());
    let (s, case) = send(app.get(&format!("/api/v1/cases/{c1}"))).await;
    assert_eq!(s, 200);
    assert_eq!(case["status"], "closed");
    let (s, _) = send(app.get(&format!("/api/v1/cases/{kees}"))).await;
    assert_eq!(s, 200);
    // The audit says an erase happened, by whom and why.
    let (s, log) = send(app.get(&format!("/api/v1/contacts/{sanne}/access-log?limit=100"))).await;
    assert_eq!(s, 200, "{log}");
    let items: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "contact.erased")
        .collect();
    assert_eq!(items.len(), 1, "{log}");
    assert_eq!(
        items[0]["detail"]["reason"],
        "Verzoek van de burger, 6 december 2026"
    );
    // Erased is erased: a second erase finds nothing left to name.
    let (s, again) = send(app.post(
        &format!("/api/v1/contacts/{sanne}/erase"),
        &json!({"reason": "nogmaals"}),
    ))
    .await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["identities"], 0);
}
