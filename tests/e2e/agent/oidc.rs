//! OIDC bearer JWTs: RS256 and ES256 from a local JWKS, mapped to users by `sub` or `email`;
//! expired, wrongly signed, wrong-audience and wrong-issuer tokens are 401; an unknown `kid`
//! refreshes the key set once; API tokens keep working.

use super::*;
use reqwest::Method;
use webcare_domain::Role;
use webcare_e2e::expect_problem;

crate::both!(
    oidc_tokens_map_to_users_and_bad_tokens_are_401,
    an_unknown_kid_refreshes_the_key_set,
);

async fn oidc_tokens_map_to_users_and_bad_tokens_are_401(app: TestApp, idp: Idp) {
    team(&app, "kcc").await;
    let anna = user(
        &app,
        json!({"name": "Anna de Vries", "email": "Anna@Gemeente.test", "subject": "sub-anna", "role": "agent", "teams": ["kcc"]}),
    )
    .await;
    user(
        &app,
        json!({"name": "Lars Lead", "email": "lars@gemeente.test", "role": "teamlead"}),
    )
    .await;

    // RS256, mapped by subject.
    let t = idp.token(Key::Rsa1, json!({"sub": "sub-anna"}));
    let (s, b) = send(with(&app, Method::GET, "/api/v1/cases?assignee=me", &t)).await;
    assert_eq!(s, 200, "{b}");
    // ES256, mapped by e-mail (case-insensitive), to a team lead who may see the board.
    let t = idp.token(
        Key::Ec1,
        json!({"sub": "unknown-sub", "email": "LARS@gemeente.test"}),
    );
    let (s, b) = send(with(&app, Method::GET, "/api/v1/board", &t)).await;
    assert_eq!(s, 200, "{b}");
    // The agent is not a team lead.
    let t = idp.token(Key::Rsa1, json!({"sub": "sub-anna"}));
    let (s, _) = send(with(&app, Method::GET, "/api/v1/board", &t)).await;
    assert_eq!(s, 403);

    let now = chrono::Utc::now().timestamp();
    let bad = [
        (
            "expired",
            idp.token(Key::Rsa1, json!({"sub": "sub-anna", "exp": now - 120})),
        ),
        (
            "wrong audience",
            idp.token(Key::Rsa1, json!({"sub": "sub-anna", "aud": "other-app"})),
        ),
        (
            "wrong issuer",
            idp.token(
                Key::Rsa1,
                json!({"sub": "sub-anna", "iss": "https://evil.test"}),
            ),
        ),
        (
            "unknown user",
            idp.token(
                Key::Rsa1,
                json!({"sub": "nobody", "email": "nobody@gemeente.test"}),
            ),
        ),
        // Signed by a key the provider does not publish, under a published kid.
        ("wrong key", {
            let t = idp.token(Key::Rsa2, json!({"sub": "sub-anna"}));
            let good = idp.token(Key::Rsa1, json!({"sub": "sub-anna"}));
            let (gh, _) = good.split_once('.').unwrap();
            let (_, rest) = t.split_once('.').unwrap();
            format!("{gh}.{rest}")
        }),
        ("tampered", {
            let t = idp.token(Key::Rsa1, json!({"sub": "sub-anna"}));
            let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
            let other = idp.token(Key::Rsa1, json!({"sub": "sub-anna", "role": "admin"}));
            parts[1] = other.split('.').nth(1).unwrap().to_owned();
            parts[2] = t.split('.').nth(2).unwrap().to_owned();
            parts.join(".")
        }),
        ("garbage", "a.b.c".to_owned()),
    ];
    for (what, token) in bad {
        let res = with(&app, Method::GET, "/api/v1/cases", &token)
            .send()
            .await
            .unwrap();
        let body = expect_problem(res, 401).await;
        assert!(body["detail"].is_string(), "{what}: {body}");
    }
    // HS256 with the public key as secret (algorithm confusion) is refused.
    let now = chrono::Utc::now().timestamp();
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            kid: Some("rsa-1".into()),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        },
        &json!({"sub": "sub-anna", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 60}),
        &jsonwebtoken::EncodingKey::from_secret(RSA1_JWK.as_bytes()),
    )
    .unwrap();
    let res = with(&app, Method::GET, "/api/v1/cases", &hs)
        .send()
        .await
        .unwrap();
    expect_problem(res, 401).await;

    // A deactivated user can no longer sign in.
    let (s, _) = send(app.patch(&format!("/api/v1/users/{anna}"), &json!({"active": false}))).await;
    assert_eq!(s, 200);
    let t = idp.token(Key::Rsa1, json!({"sub": "sub-anna"}));
    let res = with(&app, Method::GET, "/api/v1/cases", &t)
        .send()
        .await
        .unwrap();
    expect_problem(res, 401).await;

    // API tokens keep working next to OIDC.
    let agent = app.token(Role::Agent).await;
    let (s, _) = send(with(&app, Method::GET, "/api/v1/cases", &agent)).await;
    assert_eq!(s, 200);
}

async fn an_unknown_kid_refreshes_the_key_set(app: TestApp, idp: Idp) {
    user(
        &app,
        json!({"name": "Admin", "email": "admin@gemeente.test", "subject": "sub-admin", "role": "admin"}),
    )
    .await;
    let t = idp.token(Key::Rsa1, json!({"sub": "sub-admin"}));
    for _ in 0..3 {
        let (s, _) = send(with(&app, Method::GET, "/api/v1/users", &t)).await;
        assert_eq!(s, 200);
    }
    assert_eq!(
        idp.fetches.load(Ordering::SeqCst),
        1,
        "keys are cached after the first fetch"
    );
    // rsa-2 is not published yet: one refresh, still unknown, 401.
    let t2 = idp.token(Key::Rsa2, json!({"sub": "sub-admin"}));
    let res = with(&app, Method::GET, "/api/v1/users", &t2)
        .send()
        .await
        .unwrap();
    expect_problem(res, 401).await;
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 2);
    // The provider rotates rsa-2 in: the next unknown kid refreshes and the token is accepted.
    idp.rotate_in_rsa2();
    let (s, b) = send(with(&app, Method::GET, "/api/v1/users", &t2)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 3);
    let (s, _) = send(with(&app, Method::GET, "/api/v1/users", &t2)).await;
    assert_eq!(s, 200);
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 3, "rsa-2 is cached now");
}
