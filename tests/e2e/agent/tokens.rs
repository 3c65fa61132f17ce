//! API tokens belong to users (issue 12): the caller of a user's token is that user, as after an
//! OIDC sign-in; tokens are shown once, listed without secrets, revoked at once; each user
//! manages their own, the admin all.

use super::*;
use reqwest::Method;
use webcare_domain::Role;
use webcare_e2e::expect_problem;

crate::both!(
    a_users_token_acts_as_the_user,
    tokens_are_listed_and_revoked_by_their_owner_or_the_admin,
    setup_and_integration_tokens_keep_working,
);

/// Creates a token through the API with `caller`, asserting 201; returns (id, secret).
async fn create_token(app: &TestApp, caller: &str, body: Value) -> (String, String) {
    let (s, b) = send(with(app, Method::POST, "/api/v1/tokens", caller).json(&body)).await;
    assert_eq!(s, 201, "{b}");
    assert!(
        b.get("tokenHash").is_none() && b.get("hash").is_none(),
        "{b}"
    );
    let secret = b["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("wc_"), "{b}");
    (b["id"].as_str().unwrap().to_owned(), secret)
}

async fn a_users_token_acts_as_the_user(app: TestApp, idp: Idp) {
    let t = team(&app, "kcc").await;
    let acc = account_for_team(&app, "web", "kcc").await;
    let anna = user(&app, json!({"name": "Anna", "email": "anna@gemeente.test", "subject": "anna", "role": "agent", "teams": ["kcc"]})).await;
    // A case that nobody is given, to claim; then auto-assignment to Anna (the only agent).
    let unassigned = citizen_message(&app, &acc, "m0", ("u0", "Jan"), "vraag nul").await;
    let (s, _) = send(app.patch(
        &format!("/api/v1/teams/{}", t["id"].as_str().unwrap()),
        &json!({"autoAssign": "round_robin"}),
    ))
    .await;
    assert_eq!(s, 200);
    let auto = citizen_message(&app, &acc, "m1", ("u1", "Piet"), "vraag een").await;
    let (_, c) = send(app.get(&format!("/api/v1/cases/{auto}"))).await;
    assert_eq!(c["assignee"], anna.as_str(), "{c}");

    // The admin makes Anna a token.
    let (_, secret) = create_token(
        &app,
        &app.admin_token,
        json!({"name": "anna laptop", "userId": anna}),
    )
    .await;
    // assignee=me with her token finds the case auto-assigned to her, as her sign-in does.
    let oidc = idp.token(Key::Rsa1, json!({"sub": "anna"}));
    for caller in [&secret, &oidc] {
        let (s, mine) = send(with(&app, Method::GET, "/api/v1/cases?assignee=me", caller)).await;
        assert_eq!(s, 200, "{mine}");
        let ids: Vec<&str> = mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![auto.as_str()], "{mine}");
    }
    // A claim shows Anna, and the audit trail names her, not the token.
    let (s, b) = send(with(
        &app,
        Method::POST,
        &format!("/api/v1/cases/{unassigned}/claim"),
        &secret,
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["assignee"], anna.as_str());
    let (_, audit) = send(app.get(&format!("/api/v1/audit-events?caseId={unassigned}"))).await;
    let actors: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert!(!actors.is_empty(), "{audit}");
    assert!(
        actors
            .iter()
            .all(|a| a.starts_with(&format!("user:{anna}:")) || a.starts_with("system:")),
        "{actors:?}"
    );
    // The user's role is the one in force now: a team lead's board opens to the same token.
    let (s, _) = send(with(&app, Method::GET, "/api/v1/board", &secret)).await;
    assert_eq!(s, 403);
    let (s, _) = send(app.patch(
        &format!("/api/v1/users/{anna}"),
        &json!({"role": "teamlead"}),
    ))
    .await;
    assert_eq!(s, 200);
    let (s, _) = send(with(&app, Method::GET, "/api/v1/board", &secret)).await;
    assert_eq!(s, 200);
    // A deactivated user's token stops working.
    let (s, _) = send(app.patch(&format!("/api/v1/users/{anna}"), &json!({"active": false}))).await;
    assert_eq!(s, 200);
    let res = with(&app, Method::GET, "/api/v1/cases", &secret)
        .send()
        .await
        .unwrap();
    expect_problem(res, 401).await;
}

async fn tokens_are_listed_and_revoked_by_their_owner_or_the_admin(app: TestApp, idp: Idp) {
    team(&app, "kcc").await;
    let anna = user(&app, json!({"name": "Anna", "email": "anna@gemeente.test", "subject": "anna", "role": "agent", "teams": ["kcc"]})).await;
    let bob = user(&app, json!({"name": "Bob", "email": "bob@gemeente.test", "subject": "bob", "role": "agent", "teams": ["kcc"]})).await;
    let anna_oidc = idp.token(Key::Rsa1, json!({"sub": "anna"}));
    let bob_oidc = idp.token(Key::Ec1, json!({"sub": "bob"}));

    // Anna makes her own token after signing in; the secret works and is shown this once.
    let (a1, a1_secret) = create_token(&app, &anna_oidc, json!({"name": "laptop"})).await;
    let (_, b1_secret) = create_token(&app, &bob_oidc, json!({"name": "telefoon"})).await;
    // She may not make one for Bob.
    let res = with(&app, Method::POST, "/api/v1/tokens", &anna_oidc)
        .json(&json!({"name": "stiekem", "userId": bob}))
        .send()
        .await
        .unwrap();
    expect_problem(res, 403).await;
    // Nor an integration token.
    let res = with(&app, Method::POST, "/api/v1/tokens", &anna_oidc)
        .json(&json!({"name": "koppeling", "role": "integration"}))
        .send()
        .await
        .unwrap();
    expect_problem(res, 403).await;

    // Using the token records its last use (in the background, at most once a minute).
    let (s, _) = send(with(&app, Method::GET, "/api/v1/cases", &a1_secret)).await;
    assert_eq!(s, 200);
    let mut listed = Value::Null;
    for _ in 0..50 {
        let (s, b) = send(with(&app, Method::GET, "/api/v1/tokens", &a1_secret)).await;
        assert_eq!(s, 200, "{b}");
        listed = b;
        if listed["items"][0]["lastUsedAt"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Anna sees her own token only, without its secret or hash.
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["id"], a1.as_str());
    assert_eq!(items[0]["userId"], anna.as_str());
    assert_eq!(items[0]["name"], "laptop");
    assert!(items[0]["lastUsedAt"].is_string(), "{listed}");
    let mut keys: Vec<&str> = items[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["createdAt", "id", "lastUsedAt", "name", "role", "userId"],
        "never the secret or its hash"
    );

    // Bob can neither list nor revoke Anna's tokens.
    let res = with(
        &app,
        Method::GET,
        &format!("/api/v1/tokens?userId={anna}"),
        &bob_oidc,
    )
    .send()
    .await
    .unwrap();
    expect_problem(res, 403).await;
    let (_, bobs) = send(with(&app, Method::GET, "/api/v1/tokens", &b1_secret)).await;
    assert!(
        bobs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["userId"] == bob.as_str()),
        "{bobs}"
    );
    let res = with(
        &app,
        Method::DELETE,
        &format!("/api/v1/tokens/{a1}"),
        &b1_secret,
    )
    .send()
    .await
    .unwrap();
    expect_problem(res, 404).await;
    let (s, _) = send(with(&app, Method::GET, "/api/v1/cases", &a1_secret)).await;
    assert_eq!(s, 200, "Anna's token still works");

    // The admin sees everyone's, or one user's.
    let (_, all) = send(app.get("/api/v1/tokens")).await;
    let users: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["userId"].as_str())
        .collect();
    assert!(
        users.contains(&anna.as_str()) && users.contains(&bob.as_str()),
        "{all}"
    );
    let (_, annas) = send(app.get(&format!("/api/v1/tokens?userId={anna}"))).await;
    assert_eq!(annas["items"].as_array().unwrap().len(), 1, "{annas}");

    // Anna revokes her token: the next request with it is a 401, and it is no longer listed.
    let (s, _) = send(with(
        &app,
        Method::DELETE,
        &format!("/api/v1/tokens/{a1}"),
        &anna_oidc,
    ))
    .await;
    assert_eq!(s, 204);
    let res = with(&app, Method::GET, "/api/v1/cases", &a1_secret)
        .send()
        .await
        .unwrap();
    expect_problem(res, 401).await;
    let (_, annas) = send(with(&app, Method::GET, "/api/v1/tokens", &anna_oidc)).await;
    assert!(annas["items"].as_array().unwrap().is_empty(), "{annas}");
    let res = with(
        &app,
        Method::DELETE,
        &format!("/api/v1/tokens/{a1}"),
        &anna_oidc,
    )
    .send()
    .await
    .unwrap();
    expect_problem(res, 404).await;
    // The admin may revoke anyone's.
    let (_, bobs) = send(with(&app, Method::GET, "/api/v1/tokens", &b1_secret)).await;
    let b1 = bobs["items"][0]["id"].as_str().unwrap().to_owned();
    let (s, _) = send(app.delete(&format!("/api/v1/tokens/{b1}"))).await;
    assert_eq!(s, 204);
    let res = with(&app, Method::GET, "/api/v1/cases", &b1_secret)
        .send()
        .await
        .unwrap();
    expect_problem(res, 401).await;
    // Both changes are in the audit trail, by their actors.
    let (_, audit) = send(app.get("/api/v1/audit-events")).await;
    let revoked: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "token.revoked")
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(revoked.len(), 2, "{audit}");
    assert!(revoked
        .iter()
        .any(|a| a.starts_with(&format!("user:{anna}:"))));
}

async fn setup_and_integration_tokens_keep_working(app: TestApp, _idp: Idp) {
    // The bootstrap admin (no user) makes an integration token; it ingests as before.
    team(&app, "kcc").await;
    let acc = account_for_team(&app, "web", "kcc").await;
    let (id, secret) = create_token(
        &app,
        &app.admin_token,
        json!({"name": "zaaksysteem", "role": "integration"}),
    )
    .await;
    let body = json!({
        "channelAccountId": acc, "platformMessageId": "i1", "visibility": "private",
        "author": {"platformUserId": "u1"}, "text": "hallo", "sentAt": chrono::Utc::now().to_rfc3339(),
    });
    let (s, b) = send(with(&app, Method::POST, "/api/v1/messages", &secret).json(&body)).await;
    assert_eq!(s, 201, "{b}");
    // An integration token has no tokens of its own to manage.
    let res = with(&app, Method::GET, "/api/v1/tokens", &secret)
        .send()
        .await
        .unwrap();
    expect_problem(res, 403).await;
    // The admin sees it, without a user.
    let (_, all) = send(app.get("/api/v1/tokens")).await;
    let it = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(it["role"], "integration");
    assert!(it["userId"].is_null());
    // Without a user and without role 'integration' there is nobody to make a token for.
    let res = app
        .post("/api/v1/tokens", &json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 400).await;
    assert_eq!(p["invalidParams"][0]["name"], "userId");
    // A role token made by the CLI (no user) still acts role-wide.
    let agent = app.token(Role::Agent).await;
    let (s, _) = send(with(&app, Method::GET, "/api/v1/cases", &agent)).await;
    assert_eq!(s, 200);
}
