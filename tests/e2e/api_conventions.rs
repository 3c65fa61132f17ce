//! DESIGN §9: auth on every route, problem+json for every error, headers, limits, OpenAPI.

use serde_json::json;
use webcare_domain::Role;
use webcare_e2e::{both_backends, expect_problem, TestApp};

both_backends!(
    health_and_readiness,
    every_api_route_needs_a_token_and_the_right_role,
    errors_are_problem_json_with_security_headers,
    bad_bodies_and_queries_name_the_field,
    bodies_over_the_limit_are_413,
    a_bad_body_lists_every_invalid_field_in_plain_words,
    a_body_that_is_not_json_is_415,
    openapi_is_public_and_matches_the_committed_copy,
);

async fn health_and_readiness(app: TestApp) {
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

async fn every_api_route_needs_a_token_and_the_right_role(app: TestApp) {
    let id = uuid::Uuid::now_v7();
    let routes: Vec<(&str, String)> = vec![
        ("POST", "/api/v1/messages".into()),
        ("GET", "/api/v1/cases".into()),
        ("GET", format!("/api/v1/cases/{id}")),
        ("GET", "/api/v1/channel-accounts".into()),
        ("POST", "/api/v1/channel-accounts".into()),
        ("GET", format!("/api/v1/channel-accounts/{id}")),
        ("PATCH", format!("/api/v1/channel-accounts/{id}")),
        ("DELETE", format!("/api/v1/channel-accounts/{id}")),
    ];
    let department = app.token(Role::Department).await;
    for (method, path) in &routes {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let res = app
            .client
            .request(m.clone(), app.url(path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let body = expect_problem(res, 401).await;
        assert!(
            body["detail"].as_str().unwrap().contains("Bearer"),
            "{method} {path}: {body}"
        );
        let res = app
            .client
            .request(m.clone(), app.url(path))
            .bearer_auth("wc_not-a-token")
            .send()
            .await
            .unwrap();
        expect_problem(res, 401).await;
        // Department users read only the cases forwarded to them (scoped, tested in agent.rs);
        // none of the other routes is theirs.
        if *method == "GET" && path.starts_with("/api/v1/cases") {
            continue;
        }
        let res = app
            .client
            .request(m, app.url(path))
            .bearer_auth(&department)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        expect_problem(res, 403).await;
    }
    // Integrations may ingest but not administer.
    let integration = app.token(Role::Integration).await;
    let res = app
        .client
        .get(app.url("/api/v1/channel-accounts"))
        .bearer_auth(&integration)
        .send()
        .await
        .unwrap();
    expect_problem(res, 403).await;
    // Agents read cases but cannot ingest.
    let agent = app.token(Role::Agent).await;
    let res = app
        .client
        .get(app.url("/api/v1/cases"))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .client
        .post(app.url("/api/v1/messages"))
        .bearer_auth(&agent)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_problem(res, 403).await;
}

async fn errors_are_problem_json_with_security_headers(app: TestApp) {
    let res = app.get("/api/v1/cases/").send().await.unwrap();
    assert_eq!(res.headers()["api-version"], "1.0.0");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert!(res.headers().contains_key("x-request-id"));
    expect_problem(res, 404).await;
    let res = app.get("/api/v1/cases/not-a-uuid").send().await.unwrap();
    let body = expect_problem(res, 400).await;
    assert_eq!(body["invalidParams"][0]["name"], "id");
    let res = app
        .get(&format!("/api/v1/cases/{}", uuid::Uuid::now_v7()))
        .send()
        .await
        .unwrap();
    expect_problem(res, 404).await;
    let res = app
        .client
        .put(app.url("/api/v1/cases"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    expect_problem(res, 405).await;
    let ok = app.get("/api/v1/cases").send().await.unwrap();
    assert_eq!(ok.headers()["api-version"], "1.0.0");
    assert_eq!(ok.headers()["cache-control"], "no-store");
}

async fn bad_bodies_and_queries_name_the_field(app: TestApp) {
    let res = app
        .client
        .post(app.url("/api/v1/channel-accounts"))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body("{\"kind\": ")
        .send()
        .await
        .unwrap();
    let body = expect_problem(res, 400).await;
    assert_eq!(body["invalidParams"][0]["code"], "malformed_json");
    let res = app
        .post(
            "/api/v1/channel-accounts",
            &json!({"kind": "myspace", "name": "x", "externalId": "1"}),
        )
        .send()
        .await
        .unwrap();
    let body = expect_problem(res, 400).await;
    assert_eq!(body["invalidParams"][0]["name"], "kind");
    let res = app.post("/api/v1/channel-accounts", &json!({"kind": "x", "name": "x", "externalId": "1", "credentials": {"password": "p"}, "apiBaseUrl": "ftp://x"})).send().await.unwrap();
    let body = expect_problem(res, 400).await;
    let names: Vec<&str> = body["invalidParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"credentials.password") && names.contains(&"apiBaseUrl"),
        "{names:?}"
    );
    let res = app
        .client
        .post(app.url("/api/v1/channel-accounts"))
        .bearer_auth(&app.admin_token)
        .body("kind=x")
        .send()
        .await
        .unwrap();
    expect_problem(res, 415).await;
    for q in [
        "limit=0",
        "limit=201",
        "limit=abc",
        "cursor=bogus",
        "status=pending",
        "nonsense=1",
    ] {
        let res = app.get(&format!("/api/v1/cases?{q}")).send().await.unwrap();
        let body = expect_problem(res, 400).await;
        assert!(
            !body["invalidParams"].as_array().unwrap().is_empty(),
            "{q}: {body}"
        );
    }
    assert_eq!(app.store.count_cases().await.unwrap(), 0);
    let res = app.get("/api/v1/channel-accounts").send().await.unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["items"].as_array().unwrap().is_empty(),
        "nothing was stored"
    );
}

async fn bodies_over_the_limit_are_413(app: TestApp) {
    let big = "a".repeat(5 * 1024 * 1024);
    let res = app
        .post("/api/v1/messages", &json!({"text": big}))
        .send()
        .await
        .unwrap();
    expect_problem(res, 413).await;
    assert_eq!(app.store.count_messages().await.unwrap(), 0);
}

async fn openapi_is_public_and_matches_the_committed_copy(app: TestApp) {
    let res = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let served: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        served["openapi"].as_str().unwrap().chars().next(),
        Some('3')
    );
    // Paths are relative to the one server, `/api/v1`.
    assert_eq!(served["servers"][0]["url"], "/api/v1");
    assert!(served["paths"]["/messages"]["post"].is_object());
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json");
    let generated = webcare_api::openapi_json();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, format!("{generated}\n")).unwrap();
    }
    let committed =
        std::fs::read_to_string(path).expect("openapi.json is committed at the repository root");
    assert_eq!(
        committed.trim_end(),
        generated.trim_end(),
        "openapi.json drifted from the code: run `UPDATE_OPENAPI=1 cargo test -p webcare-e2e openapi` and commit it"
    );
    let committed: serde_json::Value = serde_json::from_str(&committed).unwrap();
    assert_eq!(
        committed, served,
        "the served document is the committed one"
    );
}

/// What a bad body's problem says, as (name, code) pairs, after checking that no reason shows
/// the parser's internals.
fn params(body: &serde_json::Value) -> Vec<(String, String)> {
    let params = body["invalidParams"].as_array().expect("invalidParams");
    for p in params {
        let reason = p["reason"].as_str().unwrap();
        for internal in [
            "line ",
            "column",
            "invalid type",
            "expected",
            "u32",
            "struct ",
            "`",
        ] {
            assert!(!reason.contains(internal), "parser text in {p}");
        }
    }
    params
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn a_bad_body_lists_every_invalid_field_in_plain_words(app: TestApp) {
    let account = app.channel_account("api", "web-1").await;
    // Three wrong types, one of them nested: three entries, not the first only.
    let res = app
        .post(
            "/api/v1/messages",
            &json!({
                "channelAccountId": account, "platformMessageId": 42,
                "author": {"platformUserId": "u1", "handle": 7},
                "text": ["not", "text"], "sentAt": "2024-05-01T09:30:00Z",
            }),
        )
        .send()
        .await
        .unwrap();
    let body = expect_problem(res, 400).await;
    let got = params(&body);
    assert_eq!(got.len(), 3, "{body}");
    for name in ["platformMessageId", "author.handle", "text"] {
        assert!(
            got.contains(&(name.into(), "type".into())),
            "{name}: {body}"
        );
    }
    let handle = body["invalidParams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "author.handle")
        .unwrap();
    assert_eq!(handle["reason"], "must be a string or null", "{body}");
    assert_eq!(body["detail"], "the request has 3 invalid parameters");
    // Missing, unknown and badly formatted fields, all at once.
    let res = app
        .post(
            "/api/v1/messages",
            &json!({"channelAccountId": "not-a-uuid", "author": {}, "sentAt": "gisteren", "colour": "red"}),
        )
        .send()
        .await
        .unwrap();
    let body = expect_problem(res, 400).await;
    let got = params(&body);
    for want in [
        ("channelAccountId", "format"),
        ("platformMessageId", "required"),
        ("author.platformUserId", "required"),
        ("sentAt", "format"),
        ("colour", "unknown"),
    ] {
        assert!(
            got.contains(&(want.0.into(), want.1.into())),
            "{want:?}: {body}"
        );
    }
    // An enum value out of range names the values that are allowed.
    let res = app
        .post(
            "/api/v1/channel-accounts",
            &json!({"kind": "myspace", "name": 1, "externalId": "1"}),
        )
        .send()
        .await
        .unwrap();
    let body = expect_problem(res, 400).await;
    let got = params(&body);
    assert!(got.contains(&("kind".into(), "enum".into())), "{body}");
    assert!(got.contains(&("name".into(), "type".into())), "{body}");
    // Malformed JSON is one clear entry, without a position.
    for raw in ["{\"text\": ", "", "[1, 2"] {
        let res = app
            .client
            .post(app.url("/api/v1/messages"))
            .bearer_auth(&app.admin_token)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let body = expect_problem(res, 400).await;
        assert_eq!(
            params(&body),
            vec![("body".to_owned(), "malformed_json".to_owned())],
            "{raw}: {body}"
        );
    }
    assert_eq!(app.store.count_messages().await.unwrap(), 0);
}

async fn a_body_that_is_not_json_is_415(app: TestApp) {
    let good = json!({"kind": "api", "name": "web", "externalId": "1"}).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut req = app
            .client
            .post(app.url("/api/v1/channel-accounts"))
            .bearer_auth(&app.admin_token)
            .body(good.clone());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let body = expect_problem(req.send().await.unwrap(), 415).await;
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("application/json"),
            "{body}"
        );
    }
    // A JSON media type with parameters, or a +json type, is read.
    for ct in [
        "application/json; charset=utf-8",
        "application/merge-patch+json",
    ] {
        let res = app
            .client
            .post(app.url("/api/v1/channel-accounts"))
            .bearer_auth(&app.admin_token)
            .header("content-type", ct)
            .body(json!({"kind": "api", "name": "web", "externalId": ct}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{ct}");
    }
    // The OpenAPI document says so for every route with a body.
    let doc: serde_json::Value = serde_json::from_str(&webcare_api::openapi_json()).unwrap();
    let mut with_body = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op.get("requestBody").is_some() {
                with_body += 1;
                for status in ["400", "415"] {
                    assert!(
                        op["responses"][status].is_object(),
                        "{method} {path} documents no {status}"
                    );
                }
            }
        }
    }
    assert!(with_body >= 20, "{with_body}");
}
