//! A fake Open Notificaties (Notificaties API 1.0): the abonnement calls the desk makes
//! (`GET`/`POST /api/v1/abonnement`, `GET`/`PUT /api/v1/abonnement/{uuid}`) with JWT-ZGW as
//! Open Zaak checks it, every body validated against the Notificaties API document in
//! `specs/zgw/` (a failure is a 400 `ValidatieFout` and a recorded violation). Like Open
//! Notificaties it tries a new or changed abonnement's callback first (a test message with the
//! abonnement's `auth`; anything but 204 refuses the abonnement), and [`FakeOpenNotificaties::publish`]
//! delivers a notification to every abonnement whose kanaal and filters match.

use super::schema::{self, Spec};
use super::ZgwRequest;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use jsonschema::Validator;
use serde_json::{json, Value};
use std::sync::{Arc, LazyLock, Mutex};
use uuid::Uuid;

/// The Notificaties API 1.0 document, as published.
pub const NOTIFICATIES_YAML: &str =
    include_str!("../../../../specs/zgw/notificaties-api-1.0.0.vng.openapi.yaml");

static ABONNEMENT: LazyLock<Result<Validator, String>> =
    LazyLock::new(|| Spec::parse(NOTIFICATIES_YAML)?.validator("Abonnement"));

#[derive(Default)]
struct State {
    requests: Vec<ZgwRequest>,
    violations: Vec<String>,
    abonnementen: Vec<Value>,
}

struct Shared {
    base: String,
    client_id: String,
    secret: String,
    state: Mutex<State>,
    http: reqwest::Client,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running fake. Dropping it stops the server.
pub struct FakeOpenNotificaties {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeOpenNotificaties {
    /// Starts on a random port, accepting JWTs of `client_id` signed with `secret`.
    pub async fn start(client_id: &str, secret: &str) -> std::io::Result<FakeOpenNotificaties> {
        if let Err(e) = &*ABONNEMENT {
            return Err(std::io::Error::other(format!(
                "the Notificaties API document: {e}"
            )));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            base: base.clone(),
            client_id: client_id.to_owned(),
            secret: secret.to_owned(),
            state: Mutex::new(State::default()),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        });
        let s = shared.clone();
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let s = s.clone();
                async move { handle(&s, method, uri, headers, body).await }
            },
        );
        let stop = crate::serve(listener, app);
        Ok(FakeOpenNotificaties {
            base,
            shared,
            stop: Some(stop),
        })
    }

    /// The Notificaties API's base, as the desk's `zgw.notificaties_url`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v1", self.base)
    }

    pub fn abonnementen(&self) -> Vec<Value> {
        self.shared.lock().abonnementen.clone()
    }

    pub fn requests(&self) -> Vec<ZgwRequest> {
        self.shared.lock().requests.clone()
    }

    /// Every body that failed the spec, and every missing or wrong token: a test asserts this
    /// is empty.
    pub fn violations(&self) -> Vec<String> {
        self.shared.lock().violations.clone()
    }

    /// Delivers `message` (a Notificaties API `Message`) to every abonnement on its kanaal whose
    /// filters its kenmerken match, with the abonnement's `auth`; answers each callback's status.
    pub async fn publish(&self, message: &Value) -> Vec<u16> {
        let targets: Vec<(String, String)> = self
            .shared
            .lock()
            .abonnementen
            .iter()
            .filter(|a| matches(a, message))
            .map(|a| {
                (
                    a["callbackUrl"].as_str().unwrap_or_default().to_owned(),
                    a["auth"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let mut out = Vec::new();
        for (url, auth) in targets {
            out.push(deliver(&self.shared.http, &url, &auth, message).await);
        }
        out
    }
}

impl Drop for FakeOpenNotificaties {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// The kanalen the fake's Open Notificaties has, with the kenmerken an abonnement may filter on:
/// Open Zaak registers `zaken`, Open Klant `klantcontacten`. An abonnement on another kanaal,
/// or filtering on a kenmerk its kanaal does not have, is refused as Open Notificaties does.
pub const KANALEN: [(&str, &[&str]); 2] = [
    (
        "zaken",
        &["bronorganisatie", "zaaktype", "vertrouwelijkheidaanduiding"],
    ),
    ("klantcontacten", &[]),
];

/// Open Notificaties' own checks of an abonnement's kanalen (beyond the document's).
fn kanaal_problems(body: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for (i, k) in body["kanalen"].as_array().into_iter().flatten().enumerate() {
        let naam = k["naam"].as_str().unwrap_or_default();
        let Some((_, kenmerken)) = KANALEN.iter().find(|(n, _)| *n == naam) else {
            out.push(
                json!({"name": format!("kanalen.{i}.naam"), "code": "kanaal-bestaat-niet",
                "reason": format!("Kanaal met naam '{naam}' bestaat niet.")}),
            );
            continue;
        };
        for key in k["filters"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            if !kenmerken.contains(&key.as_str()) {
                out.push(
                    json!({"name": format!("kanalen.{i}.filters"), "code": "kenmerken-inconsistent",
                    "reason": format!("Kenmerk '{key}' hoort niet bij kanaal '{naam}'.")}),
                );
            }
        }
    }
    out
}

/// Whether an abonnement takes `message`: a kanaal of its name whose every filter equals the
/// message's kenmerk (`*` any value).
fn matches(abonnement: &Value, message: &Value) -> bool {
    abonnement["kanalen"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|k| {
            k["naam"] == message["kanaal"]
                && k["filters"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .all(|(key, want)| want == "*" || message["kenmerken"][key.as_str()] == *want)
        })
}

async fn deliver(http: &reqwest::Client, url: &str, auth: &str, message: &Value) -> u16 {
    match http
        .post(url)
        .header("authorization", auth)
        .json(message)
        .send()
        .await
    {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

const API: super::answer::Api = super::answer::Api {
    version: Some("1.0.0"),
};

fn json_response(status: StatusCode, body: Value) -> Response {
    API.json(status, body)
}

fn fout(status: StatusCode, code: &str, title: &str, detail: &str) -> Response {
    API.fout(status, code, title, detail)
}

fn validatie_fout(params: Vec<Value>) -> Response {
    API.validatie_fout(params)
}

async fn handle(s: &Shared, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut rec = ZgwRequest::of(&method, &uri, &headers, &json);
    let r = route(s, &method, &uri, &headers, json).await;
    rec.status = r.status().as_u16();
    s.lock().requests.push(rec);
    r
}

async fn route(
    s: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Value,
) -> Response {
    let path = uri.path().trim_end_matches('/');
    if let Err(why) = super::check_jwt_of(&s.client_id, &s.secret, headers) {
        s.lock().violations.push(format!("{method} {path}: {why}"));
        return fout(
            StatusCode::FORBIDDEN,
            "not_authenticated",
            "Authenticatiegegevens zijn niet opgegeven.",
            &why,
        );
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["api", "v1", "abonnement"]) => {
            json_response(StatusCode::OK, Value::Array(s.lock().abonnementen.clone()))
        }
        ("GET", ["api", "v1", "abonnement", uuid]) => {
            let url = format!("{}/api/v1/abonnement/{uuid}", s.base);
            match s
                .lock()
                .abonnementen
                .iter()
                .find(|a| a["url"] == url.as_str())
            {
                Some(a) => json_response(StatusCode::OK, a.clone()),
                None => fout(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "Niet gevonden.",
                    "Niet gevonden.",
                ),
            }
        }
        ("POST", ["api", "v1", "abonnement"]) => {
            if let Some(r) = check_body(s, path, &body).await {
                return r;
            }
            let url = format!("{}/api/v1/abonnement/{}", s.base, Uuid::new_v4());
            let mut a = body;
            a["url"] = json!(url);
            s.lock().abonnementen.push(a.clone());
            let mut r = json_response(StatusCode::CREATED, a);
            if let Ok(v) = HeaderValue::from_str(&url) {
                r.headers_mut().insert("location", v);
            }
            r
        }
        ("PUT", ["api", "v1", "abonnement", uuid]) => {
            let url = format!("{}/api/v1/abonnement/{uuid}", s.base);
            if !s
                .lock()
                .abonnementen
                .iter()
                .any(|a| a["url"] == url.as_str())
            {
                return fout(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "Niet gevonden.",
                    "Niet gevonden.",
                );
            }
            if let Some(r) = check_body(s, path, &body).await {
                return r;
            }
            let mut a = body;
            a["url"] = json!(url);
            let mut st = s.lock();
            if let Some(slot) = st
                .abonnementen
                .iter_mut()
                .find(|x| x["url"] == url.as_str())
            {
                *slot = a.clone();
            }
            json_response(StatusCode::OK, a)
        }
        _ => {
            s.lock()
                .violations
                .push(format!("{method} {path}: not a route the desk should call"));
            fout(
                StatusCode::NOT_FOUND,
                "not_found",
                "Niet gevonden.",
                "Niet gevonden.",
            )
        }
    }
}

/// The spec's checks, then Open Notificaties' own: the callback answers a test message sent
/// with the abonnement's auth with 204.
async fn check_body(s: &Shared, path: &str, body: &Value) -> Option<Response> {
    let v = match &*ABONNEMENT {
        Ok(v) => v,
        Err(e) => return Some(fout(StatusCode::INTERNAL_SERVER_ERROR, "error", "spec", e)),
    };
    let invalid = schema::check(v, body);
    if !invalid.is_empty() {
        let mut st = s.lock();
        for i in &invalid {
            st.violations
                .push(format!("{path}: {} {} ({})", i.name, i.code, i.reason));
        }
        return Some(validatie_fout(
            invalid
                .iter()
                .map(|i| json!({"name": i.name, "code": i.code, "reason": i.reason}))
                .collect(),
        ));
    }
    let wrong = kanaal_problems(body);
    if !wrong.is_empty() {
        let mut st = s.lock();
        for w in &wrong {
            st.violations.push(format!("{path}: {w}"));
        }
        return Some(validatie_fout(wrong));
    }
    let test = json!({
        "kanaal": "test", "hoofdObject": "http://some.url", "resource": "some_resource",
        "resourceUrl": "http://some.url", "actie": "unknown",
        "aanmaakdatum": chrono::Utc::now().to_rfc3339(), "kenmerken": {},
    });
    let callback = body["callbackUrl"].as_str().unwrap_or_default();
    let auth = body["auth"].as_str().unwrap_or_default();
    let status = deliver(&s.http, callback, auth, &test).await;
    if status != 204 {
        return Some(validatie_fout(vec![json!({"name": "callbackUrl",
            "code": "invalid-callback-url",
            "reason": format!("De callback-URL antwoordde {status} op een testbericht, geen 204.")})]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_abonnement_names_known_kanalen_and_their_kenmerken_only() {
        let a = |kanalen: Value| json!({"kanalen": kanalen});
        let ok = a(
            json!([{"naam": "zaken", "filters": {"bronorganisatie": "002220647"}},
            {"naam": "klantcontacten", "filters": {}}]),
        );
        assert_eq!(kanaal_problems(&ok), Vec::<Value>::new());
        let unknown = kanaal_problems(&a(json!([{"naam": "documenten", "filters": {}}])));
        assert_eq!(unknown[0]["code"], "kanaal-bestaat-niet");
        assert_eq!(unknown[0]["name"], "kanalen.0.naam");
        let filter = a(json!([{"naam": "klantcontacten", "filters": {"bronorganisatie": "x"}}]));
        assert_eq!(
            kanaal_problems(&filter)[0]["code"],
            "kenmerken-inconsistent"
        );
    }
}
