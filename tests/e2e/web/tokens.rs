//! Beheer: the API tokens page over plain HTTP. Each desk user makes and revokes their own tokens
//! (the secret shown once, on the answer to the form), the admin sees and revokes everyone's;
//! another user's token is not found.

use super::{between, desk, desk_user, Web};
use crate::agent::send;
use serde_json::{json, Value};
use webcare_e2e::{both_backends, TestApp};

both_backends!(desk_users_manage_their_api_tokens_on_the_page);

async fn named(app: &TestApp, name: &str) -> Option<Value> {
    let (s, b) = send(app.get("/api/v1/tokens")).await;
    assert_eq!(s, 200, "{b}");
    b["items"]
        .as_array()
        .and_then(|all| all.iter().find(|t| t["name"] == name).cloned())
}

async fn status_with(app: &TestApp, secret: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/api/v1/tokens", app.base))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn desk_users_manage_their_api_tokens_on_the_page(app: TestApp) {
    desk(&app).await;
    desk_user(
        &app,
        json!({"name": "Ada Beheer", "email": "ada@gemeente.test", "role": "admin", "teams": []}),
    )
    .await;
    let anna = Web::sign_in(&app, "anna@gemeente.test").await;
    let p = anna.get("/beheer/tokens").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains(r#"href="/beheer/tokens">API-tokens</a>"#));
    assert!(p
        .body
        .contains(r#"<label class="utrecht-form-label" for="naam">"#));
    assert!(p.body.contains("Laatst gebruikt"), "{}", p.body);

    let p = anna.post("/beheer/tokens", &[("naam", " laptop ")]).await;
    assert_eq!(p.status, 201, "{}", p.body);
    let secret = between(&p.body, r#"id="geheim" value=""#, "\"")
        .expect("the secret on the page")
        .to_owned();
    assert!(secret.len() > 20, "{secret}");
    assert!(p.body.contains("nooit meer te zien"), "{}", p.body);
    let t = named(&app, "laptop").await.expect("the new token");
    assert!(t["userId"].is_string(), "{t}");
    let id = t["id"].as_str().unwrap().to_owned();
    assert_eq!(status_with(&app, &secret).await, 200);

    // The list names it, never its secret.
    let p = anna.get("/beheer/tokens").await;
    assert!(p.body.contains(">laptop</td>"), "{}", p.body);
    assert!(!p.body.contains(&secret));
    assert!(p
        .body
        .contains(&format!(r#"href="/beheer/tokens/{id}/intrekken""#)));

    // A bad name: a Dutch message beside the field, nothing made.
    let p = anna.post("/beheer/tokens", &[("naam", "  ")]).await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(
        p.body.contains(
            r#"id="naam-error">Vul een naam in van hoogstens 100 tekens, zonder regeleinden of tabs."#
        ),
        "{}",
        p.body
    );
    assert!(!p.body.contains("id=\"geheim\""));

    // Without the CSRF token: refused.
    assert_eq!(
        anna.post_raw("/beheer/tokens", &[("naam", "x")])
            .await
            .status,
        403
    );
    let revoke = format!("/beheer/tokens/{id}/intrekken");
    assert_eq!(anna.post_raw(&revoke, &[]).await.status, 403);

    // Another desk user neither sees nor revokes it; the admin sees everyone's.
    let bea = Web::sign_in(&app, "bea@gemeente.test").await;
    let p = bea.get("/beheer/tokens").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(!p.body.contains(">laptop</td>"), "{}", p.body);
    assert_eq!(bea.get(&revoke).await.status, 404);
    assert_eq!(bea.post(&revoke, &[]).await.status, 404);
    let ada = Web::sign_in(&app, "ada@gemeente.test").await;
    let p = ada.get("/beheer/tokens").await;
    assert!(p.body.contains(">laptop</td>"), "{}", p.body);
    assert!(p.body.contains("Anna de Vries"), "{}", p.body);
    assert_eq!(status_with(&app, &secret).await, 200);

    // Revoked after the confirmation: the secret no longer works.
    let p = anna.get(&revoke).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains(&format!(r#"action="{revoke}""#)),
        "{}",
        p.body
    );
    assert!(p.body.contains("„laptop” intrekken?"), "{}", p.body);
    let p = anna.post(&revoke, &[]).await;
    assert_eq!(
        (p.status, p.location()),
        (303, "/beheer/tokens"),
        "{}",
        p.body
    );
    assert_eq!(status_with(&app, &secret).await, 401);
    assert!(named(&app, "laptop").await.is_none());
    assert_eq!(anna.post(&revoke, &[]).await.status, 404);
}
