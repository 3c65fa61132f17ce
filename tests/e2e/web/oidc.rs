//! Web sign-in through the municipality's identity provider (authorization code + PKCE) against
//! the fake provider of `webcare-fakes`: the happy path, and every way a sign-in must fail without
//! a session: a wrong state, a replayed code, a wrong PKCE verifier, an expired ID token, a wrong
//! nonce and a person who is not a desk user.

use super::{between, client, page, Page, Web};
use crate::agent::{user, RSA1, RSA1_JWK};
use serde_json::json;
use webcare_e2e::{Backend, TestApp};
use webcare_fakes::oidc::{FakeOidc, FakeOidcClient};

const CLIENT_ID: &str = "webcare-web";
const SECRET: &str = "geheim:met&tekens";
/// The desk's callback as registered at the provider; the tests call the real desk's address.
const REDIRECT: &str = "https://desk.gemeente.test/login/oidc/callback";

pub struct OidcDesk {
    app: TestApp,
    idp: FakeOidc,
}

impl OidcDesk {
    pub async fn spawn(backend: Backend) -> Option<OidcDesk> {
        Self::spawn_by(backend, webcare::config::OidcUserClaim::Email).await
    }

    async fn spawn_by(
        backend: Backend,
        user_claim: webcare::config::OidcUserClaim,
    ) -> Option<OidcDesk> {
        let idp = FakeOidc::start(FakeOidcClient {
            client_id: CLIENT_ID.into(),
            client_secret: Some(SECRET.into()),
            redirect_uri: REDIRECT.into(),
            rsa_pem: RSA1.into(),
            jwk: serde_json::from_str(RSA1_JWK).unwrap(),
        })
        .await;
        // Only the issuer, the keys, the client and the redirect URL: the endpoints come from
        // discovery.
        let app = TestApp::spawn_with_oidc(
            backend,
            webcare::config::OidcConfig {
                issuer: idp.issuer.clone(),
                audience: "webcare-api".into(),
                jwks_url: idp.jwks_url(),
                min_refresh_seconds: 0,
                client_id: Some(CLIENT_ID.into()),
                client_secret: Some(webcare::config::Secret(SECRET.into())),
                redirect_url: Some(REDIRECT.into()),
                provider_name: "Gemeente Voorbeeld".into(),
                user_claim,
                ..Default::default()
            },
        )
        .await?;
        user(
            &app,
            json!({"name": "Anna de Vries", "email": "anna@gemeente.test", "subject": "sub-anna", "role": "agent"}),
        )
        .await;
        Some(OidcDesk { app, idp })
    }
}

fn cookie_of(p: &Page, name: &str) -> Option<String> {
    p.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// A sign-in up to the provider's redirect back: the flow cookie (`name=value`) and the
/// callback's path and query on the desk.
async fn to_provider_and_back(d: &OidcDesk) -> (String, String) {
    let c = client();
    let start = page(
        c.get(format!("{}/login/oidc", d.app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(start.status, 303, "{}", start.body);
    let set = cookie_of(&start, "webcare_oidc").expect("the flow cookie");
    for attr in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/login/oidc",
        "Max-Age=600",
    ] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    let authorize = start.location().to_owned();
    assert!(
        authorize.starts_with(&format!("{}/authorize?", d.idp.issuer)),
        "discovered: {authorize}"
    );
    let back = page(c.get(&authorize).send().await.unwrap()).await;
    assert!(
        back.status == 303 || back.status == 302,
        "the provider redirects back: {} {}",
        back.status,
        back.body
    );
    let callback = back
        .location()
        .strip_prefix("https://desk.gemeente.test")
        .expect("to the registered redirect URI")
        .to_owned();
    (set.split(';').next().unwrap().to_owned(), callback)
}

async fn callback(d: &OidcDesk, cookie: &str, path: &str) -> Page {
    page(
        client()
            .get(format!("{}{path}", d.app.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A refusal: the sign-in page with `msg`, no session, and the flow cookie cleared.
fn assert_refused(p: &Page, status: u16, msg: &str) {
    assert_eq!(p.status, status, "{}", p.body);
    assert!(p.body.contains(msg), "{msg} in {}", p.body);
    assert!(
        p.body.contains("Inloggen met Gemeente Voorbeeld"),
        "both ways to sign in stay on the page"
    );
    assert!(cookie_of(p, "webcare_session").is_none(), "no session");
    let cleared = cookie_of(p, "webcare_oidc").expect("the flow cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

webcare_e2e::both_backends!(
    app = super::OidcDesk;
    an_agent_signs_in_through_the_identity_provider,
    a_wrong_state_is_refused,
    a_replayed_code_is_refused,
    a_wrong_pkce_verifier_is_refused,
    an_expired_id_token_is_refused,
    a_wrong_nonce_is_refused,
    a_person_without_a_desk_account_is_refused,
);

async fn an_agent_signs_in_through_the_identity_provider(d: OidcDesk) {
    let login = page(
        client()
            .get(format!("{}/login", d.app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        login
            .body
            .contains(r#"href="/login/oidc">Inloggen met Gemeente Voorbeeld</a>"#),
        "{}",
        login.body
    );
    // Found by e-mail, whatever its case; the local password form stays.
    d.idp
        .sign_in_as(json!({"sub": "other-sub", "email": "Anna@Gemeente.test"}));
    let (flow, path) = to_provider_and_back(&d).await;
    let p = callback(&d, &flow, &path).await;
    assert_eq!((p.status, p.location()), (303, "/inbox"), "{}", p.body);
    let session = cookie_of(&p, "webcare_session").expect("a session");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"));
    assert!(cookie_of(&p, "webcare_oidc").unwrap().contains("Max-Age=0"));
    let web = Web {
        base: d.app.base.clone(),
        client: client(),
        cookie: session.split(';').next().unwrap().to_owned(),
        csrf: String::new(),
    };
    let inbox = web.get("/inbox").await;
    assert_eq!(inbox.status, 200, "{}", inbox.body);
    assert!(inbox.body.contains("Anna de Vries"));
    assert!(between(&inbox.body, r#"<meta name="csrf-token" content=""#, "\"").is_some());
    assert_eq!(d.idp.tokens_issued(), 1);
    // The sign-in is audited, with how.
    let (_, audit) = crate::agent::send(d.app.get("/api/v1/audit-events")).await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["detail"]["via"] == "oidc"),
        "{audit}"
    );
}

async fn a_wrong_state_is_refused(d: OidcDesk) {
    d.idp.sign_in_as(json!({"email": "anna@gemeente.test"}));
    let (flow, path) = to_provider_and_back(&d).await;
    let state = between(&path, "state=", "&")
        .unwrap_or_else(|| path.split("state=").nth(1).unwrap())
        .to_owned();
    let forged = path.replace(&state, "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ");
    let p = callback(&d, &flow, &forged).await;
    assert_refused(&p, 400, "hoort niet bij deze browser");
    // Nor without the flow cookie (a sign-in started in another browser).
    let p = callback(&d, "other=1", &path).await;
    assert_refused(&p, 400, "verlopen of al gebruikt");
    assert_eq!(d.idp.tokens_issued(), 0, "the code was never traded");
}

async fn a_replayed_code_is_refused(d: OidcDesk) {
    d.idp.sign_in_as(json!({"email": "anna@gemeente.test"}));
    let (flow, path) = to_provider_and_back(&d).await;
    assert_eq!(callback(&d, &flow, &path).await.status, 303);
    // The same callback again (a browser that kept the cookie): this state is used.
    let p = callback(&d, &flow, &path).await;
    assert_refused(&p, 400, "al gebruikt");
    // The old code under a fresh sign-in's state and verifier: the provider refuses it.
    let (flow2, path2) = to_provider_and_back(&d).await;
    let old_code = between(&path, "code=", "&").unwrap();
    let new_code = between(&path2, "code=", "&").unwrap();
    let p = callback(&d, &flow2, &path2.replace(new_code, old_code)).await;
    assert_refused(&p, 401, "niet geaccepteerd");
    assert_eq!(d.idp.refused(), ["invalid_grant"]);
    assert_eq!(d.idp.tokens_issued(), 1);
}

async fn a_wrong_pkce_verifier_is_refused(d: OidcDesk) {
    d.idp.sign_in_as(json!({"email": "anna@gemeente.test"}));
    let (flow, path) = to_provider_and_back(&d).await;
    // The same state and nonce, another verifier.
    let mut parts: Vec<&str> = flow.split('.').collect();
    let other = "A".repeat(43);
    parts[2] = &other;
    let p = callback(&d, &parts.join("."), &path).await;
    assert_refused(&p, 401, "niet geaccepteerd");
    assert_eq!(d.idp.refused(), ["invalid_grant"]);
}

async fn an_expired_id_token_is_refused(d: OidcDesk) {
    d.idp.sign_in_as(json!({"email": "anna@gemeente.test"}));
    let now = chrono::Utc::now().timestamp();
    d.idp
        .spoil_id_tokens(json!({"iat": now - 900, "exp": now - 600}));
    let (flow, path) = to_provider_and_back(&d).await;
    let p = callback(&d, &flow, &path).await;
    assert_refused(&p, 401, "is verlopen");
}

async fn a_wrong_nonce_is_refused(d: OidcDesk) {
    d.idp.sign_in_as(json!({"email": "anna@gemeente.test"}));
    d.idp
        .spoil_id_tokens(json!({"nonce": "een-andere-inlogpoging"}));
    let (flow, path) = to_provider_and_back(&d).await;
    let p = callback(&d, &flow, &path).await;
    assert_refused(&p, 401, "hoort niet bij deze inlogpoging");
    // Without a nonce at all, too.
    d.idp.spoil_id_tokens(json!({"nonce": null}));
    let (flow, path) = to_provider_and_back(&d).await;
    let p = callback(&d, &flow, &path).await;
    assert_refused(&p, 401, "hoort niet bij deze inlogpoging");
}

async fn a_person_without_a_desk_account_is_refused(d: OidcDesk) {
    // Anna's subject, but the desk maps by e-mail: no user is created for an unknown address.
    d.idp
        .sign_in_as(json!({"sub": "sub-anna", "email": "onbekend@gemeente.test"}));
    let (flow, path) = to_provider_and_back(&d).await;
    let p = callback(&d, &flow, &path).await;
    assert_refused(&p, 403, "geen account in de desk");
    let (_, users) = crate::agent::send(d.app.get("/api/v1/users")).await;
    assert!(!users.to_string().contains("onbekend@"), "{users}");
    // A known address the provider says is not verified is refused as well.
    d.idp
        .sign_in_as(json!({"email": "anna@gemeente.test", "email_verified": false}));
    let (flow, path) = to_provider_and_back(&d).await;
    let p = callback(&d, &flow, &path).await;
    assert_refused(&p, 403, "geen account in de desk");
}

/// The desk told to name users by the `sub` claim.
mod by_subject {
    use super::*;

    pub struct BySub(OidcDesk);

    impl BySub {
        pub async fn spawn(backend: Backend) -> Option<BySub> {
            OidcDesk::spawn_by(backend, webcare::config::OidcUserClaim::Sub)
                .await
                .map(BySub)
        }
    }

    webcare_e2e::both_backends!(app = super::BySub; users_are_found_by_subject_when_so_configured);

    async fn users_are_found_by_subject_when_so_configured(d: BySub) {
        let d = d.0;
        // Anna's address but another subject: by `sub`, that is nobody.
        d.idp
            .sign_in_as(json!({"sub": "someone-else", "email": "anna@gemeente.test"}));
        let (flow, path) = to_provider_and_back(&d).await;
        assert_refused(
            &callback(&d, &flow, &path).await,
            403,
            "geen account in de desk",
        );
        d.idp
            .sign_in_as(json!({"sub": "sub-anna", "email": "ander@adres.test"}));
        let (flow, path) = to_provider_and_back(&d).await;
        let p = callback(&d, &flow, &path).await;
        assert_eq!((p.status, p.location()), (303, "/inbox"), "{}", p.body);
    }
}

/// Without web sign-in configured: no button, and its routes are a 404 page.
mod not_configured {
    use super::*;

    webcare_e2e::both_backends!(without_oidc_the_sign_in_page_has_only_the_password_form);

    async fn without_oidc_the_sign_in_page_has_only_the_password_form(app: TestApp) {
        let login = page(
            client()
                .get(format!("{}/login", app.base))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(login.status, 200);
        assert!(!login.body.contains("Inloggen met"), "{}", login.body);
        assert!(login.body.contains(r#"name="password""#));
        for path in ["/login/oidc", "/login/oidc/callback?code=x&state=y"] {
            let p = page(
                client()
                    .get(format!("{}{path}", app.base))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(p.status, 404, "{path}");
            assert!(cookie_of(&p, "webcare_session").is_none());
        }
    }
}
