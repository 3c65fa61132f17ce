//! A fake Open Klant 2: the Klantinteracties API 0.9 calls the desk makes (`/klantcontacten`,
//! `/partijen`, `/digitaleadressen`, `/betrokkenen`, `/onderwerpobjecten`, `/internetaken`, and
//! their look-ups), under `/klantinteracties/api/v1` on `127.0.0.1:0`, with Open Klant's rules:
//!
//! - `Authorization: Token <token>` (Django REST framework's TokenAuthentication): none or a
//!   wrong one is 401 with Open Klant's `detail`.
//! - Every request body is validated against the Klantinteracties document in `specs/zgw/` (a
//!   partij against its `soortPartij`'s serializer, as the document's discriminator says); a body
//!   that fails gets the 400 `ValidatieFout` with `invalidParams` and is recorded in
//!   [`FakeOpenKlant::violations`], which a test asserts is empty.
//! - A reference (`{"uuid": ...}`) to a klantcontact, partij or actor that does not exist is
//!   400 `does_not_exist`, as Open Klant answers it.
//! - Created resources get `uuid` and `url`; a klantcontact lists its betrokkenen,
//!   onderwerpobjecten and interne taken (the read-only fields the desk looks at on a retry).
//!
//! - Lists are paged as Open Klant pages them (`count`, `next`, `previous`, `?page=`);
//!   [`FakeOpenKlant::set_page_size`] makes the pages small.
//!
//! Knobs: [`FakeOpenKlant::fail_next`] (5xx for the next calls),
//! [`FakeOpenKlant::drop_after_commit`] (store, then answer 500) and
//! [`FakeOpenKlant::delay_posts`] (a slow create).

use super::schema;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use jsonschema::Validator;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use uuid::Uuid;

/// The Klantinteracties API 0.9.0 document of Open Klant 2, as published.
pub const KLANTINTERACTIES_YAML: &str =
    include_str!("../../../../specs/zgw/openklant-klantinteracties-0.9.0.openapi.yaml");

const BASE_PATH: &str = "/klantinteracties/api/v1";

struct Validators {
    klantcontact: Validator,
    partij: HashMap<&'static str, Validator>,
    digitaal_adres: Validator,
    betrokkene: Validator,
    onderwerpobject: Validator,
    internetaak: Validator,
}

static VALIDATORS: LazyLock<Result<Validators, String>> = LazyLock::new(|| {
    let spec = schema::Spec::parse(KLANTINTERACTIES_YAML)?;
    let mut partij = HashMap::new();
    for soort in ["persoon", "organisatie", "contactpersoon"] {
        partij.insert(soort, spec.validator(&format!("{soort}_PartijSerializer"))?);
    }
    Ok(Validators {
        klantcontact: spec.validator("Klantcontact")?,
        partij,
        digitaal_adres: spec.validator("DigitaalAdres")?,
        betrokkene: spec.validator("Betrokkene")?,
        onderwerpobject: spec.validator("Onderwerpobject")?,
        internetaak: spec.validator("InterneTaak")?,
    })
});

fn validators() -> &'static Validators {
    match &*VALIDATORS {
        Ok(v) => v,
        // `start` refuses to run without them.
        Err(e) => panic!("the Klantinteracties API document: {e}"),
    }
}

/// Every error a body has against `v`, as Open Klant names them.
pub fn check_body(schema_name: &str, body: &Value) -> Vec<schema::Invalid> {
    let v = validators();
    let validator = match schema_name {
        "Klantcontact" => &v.klantcontact,
        "DigitaalAdres" => &v.digitaal_adres,
        "Betrokkene" => &v.betrokkene,
        "Onderwerpobject" => &v.onderwerpobject,
        "InterneTaak" => &v.internetaak,
        "Partij" => {
            // Open Klant's serializer requires these keys (null or empty allowed) beyond what
            // the document lists (its `test_create_partij_only_required`).
            let missing: Vec<schema::Invalid> = [
                "digitaleAdressen",
                "voorkeursDigitaalAdres",
                "rekeningnummers",
                "voorkeursRekeningnummer",
            ]
            .into_iter()
            .filter(|k| body.get(*k).is_none())
            .map(|k| schema::Invalid {
                name: k.into(),
                code: "required".into(),
                reason: "Dit veld is vereist.".into(),
            })
            .collect();
            if !missing.is_empty() {
                return missing;
            }
            let soort = body["soortPartij"].as_str().unwrap_or_default();
            match v.partij.get(soort) {
                Some(p) => p,
                None => {
                    return vec![schema::Invalid {
                        name: "soortPartij".into(),
                        code: if body["soortPartij"].is_null() {
                            "required".into()
                        } else {
                            "invalid_choice".into()
                        },
                        reason: "Kies een geldige soort partij.".into(),
                    }]
                }
            }
        }
        other => panic!("no validator for {other}"),
    };
    schema::check(validator, body)
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct OpenKlantRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub json: Value,
    /// The status the fake answered.
    pub status: u16,
}

#[derive(Default)]
struct State {
    requests: Vec<OpenKlantRequest>,
    violations: Vec<String>,
    /// Resource name (`klantcontacten`, ...) -> its objects, in creation order.
    resources: HashMap<&'static str, Vec<Value>>,
    fail: Vec<u16>,
    drop_after_commit: u32,
    /// Lists answer pages of this many (Open Klant's default is 100).
    page_size: Option<usize>,
    /// Resource name -> how long a POST to it takes.
    delays: HashMap<String, std::time::Duration>,
}

impl State {
    fn all(&self, resource: &str) -> &[Value] {
        self.resources.get(resource).map_or(&[], |v| v.as_slice())
    }

    fn find(&self, resource: &str, uuid: &str) -> Option<usize> {
        self.all(resource).iter().position(|o| o["uuid"] == uuid)
    }
}

/// The running fake. Dropping it stops the server.
pub struct FakeOpenKlant {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub token: String,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

struct Shared {
    base: String,
    token: String,
    state: Arc<Mutex<State>>,
}

impl FakeOpenKlant {
    /// Starts on a random port, accepting `Authorization: Token <token>`.
    pub async fn start(token: &str) -> std::io::Result<FakeOpenKlant> {
        if let Err(e) = &*VALIDATORS {
            return Err(std::io::Error::other(format!(
                "the Klantinteracties API document: {e}"
            )));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::new(Shared {
            base: base.clone(),
            token: token.to_owned(),
            state: state.clone(),
        });
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let s = shared.clone();
                async move {
                    let resource = uri.path().trim_end_matches('/').rsplit('/').next();
                    let delay = (method == Method::POST)
                        .then(|| {
                            let st = s.state.lock().unwrap_or_else(|e| e.into_inner());
                            resource.and_then(|r| st.delays.get(r).copied())
                        })
                        .flatten();
                    if let Some(d) = delay {
                        tokio::time::sleep(d).await;
                    }
                    handle(&s, method, uri, headers, body)
                }
            },
        );
        let stop = crate::serve(listener, app);
        Ok(FakeOpenKlant {
            base,
            token: token.to_owned(),
            state,
            stop: Some(stop),
        })
    }

    /// The Klantinteracties API's base URL.
    pub fn url(&self) -> String {
        format!("{}{BASE_PATH}", self.base)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An actor (an organisatorische eenheid) as the municipality registered it; answers its URL.
    pub fn add_actor(&self, naam: &str) -> String {
        let uuid = Uuid::new_v4();
        let url = format!("{}/actoren/{uuid}", self.url());
        self.lock()
            .resources
            .entry("actoren")
            .or_default()
            .push(json!({
                "uuid": uuid.to_string(), "url": url, "naam": naam,
                "soortActor": "organisatorische_eenheid", "indicatieActief": true,
            }));
        url
    }

    /// A klantcontact someone else registered (not through the desk); answers its URL.
    pub fn add_klantcontact(&self, kanaal: &str, onderwerp: &str) -> String {
        let uuid = Uuid::new_v4();
        let url = format!("{}/klantcontacten/{uuid}", self.url());
        self.lock().resources.entry("klantcontacten").or_default().push(json!({
            "uuid": uuid.to_string(), "url": url, "kanaal": kanaal, "onderwerp": onderwerp,
            "taal": "nld", "vertrouwelijk": false, "hadBetrokkenen": [], "gingOverOnderwerpobjecten": [],
            "leiddeTotInterneTaken": [], "omvatteBijlagen": [], "hadBetrokkenActoren": [],
        }));
        url
    }

    /// A betrokkene someone else made (e.g. for a phone call registered in Open Klant): the
    /// partij at `partij_url` took part in the klantcontact at `klantcontact_url`. Answers its URL.
    pub fn add_betrokkene(&self, klantcontact_url: &str, partij_url: &str) -> String {
        let uuid = |u: &str| {
            u.trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or(u)
                .to_owned()
        };
        let body = json!({"wasPartij": {"uuid": uuid(partij_url)},
            "hadKlantcontact": {"uuid": uuid(klantcontact_url)}, "rol": "klant", "initiator": true});
        let shared = Shared {
            base: self.base.clone(),
            token: self.token.clone(),
            state: self.state.clone(),
        };
        let mut st = self.lock();
        let r = create(&shared, &mut st, "betrokkenen", "Betrokkene", body);
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "the betrokkene's references exist"
        );
        st.all("betrokkenen").last().expect("made")["url"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Lists answer pages of `n` from now on, with `next` to the following page.
    pub fn set_page_size(&self, n: usize) {
        self.lock().page_size = Some(n.max(1));
    }

    /// Every POST to `resource` (e.g. `partijen`) takes `d` before it is handled.
    pub fn delay_posts(&self, resource: &str, d: std::time::Duration) {
        self.lock().delays.insert(resource.to_owned(), d);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<OpenKlantRequest> {
        self.lock().requests.clone()
    }

    /// Every body that failed the spec, every missing or wrong token and every call to a path
    /// the desk has no business calling: a test of the desk asserts this is empty.
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    /// The stored objects of a resource (`klantcontacten`, `partijen`, `digitaleadressen`,
    /// `betrokkenen`, `onderwerpobjecten`, `internetaken`).
    pub fn objects(&self, resource: &str) -> Vec<Value> {
        self.lock().all(resource).to_vec()
    }

    /// The next `n` calls answer `status` (e.g. 503) and change nothing.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.lock().fail.extend(std::iter::repeat_n(status, n));
    }

    /// The next `n` creating calls (POST) are stored, then answered 500.
    pub fn drop_after_commit(&self, n: u32) {
        self.lock().drop_after_commit = n;
    }
}

impl Drop for FakeOpenKlant {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

// Open Klant sends no `API-Version` header.
const API: super::answer::Api = super::answer::Api { version: None };

/// A `Fout` with a numeric status (an injected one may be any).
fn problem(status: u16, code: &str, title: &str, detail: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    API.fout(status, code, title, detail)
}

fn does_not_exist(name: &str) -> Response {
    API.invalid(&[schema::Invalid {
        name: name.into(),
        code: "does_not_exist".into(),
        reason: "Ongeldige uuid - object bestaat niet.".into(),
    }])
}

fn handle(s: &Shared, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut rec = OpenKlantRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        json: json.clone(),
        status: 0,
    };
    let mut st = s.state.lock().unwrap_or_else(|e| e.into_inner());
    let answer = route(s, &mut st, &headers, &method, &uri, json, &body);
    rec.status = answer.status().as_u16();
    st.requests.push(rec);
    answer
}

fn route(
    s: &Shared,
    st: &mut State,
    headers: &HeaderMap,
    method: &Method,
    uri: &Uri,
    body: Value,
    raw: &[u8],
) -> Response {
    let path = uri.path().trim_end_matches('/');
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    match auth.and_then(|a| a.strip_prefix("Token ")) {
        None => {
            st.violations
                .push(format!("{method} {path}: no Token authorization"));
            return problem(
                401,
                "not_authenticated",
                "Authenticatiegegevens zijn niet opgegeven.",
                "Authenticatiegegevens zijn niet opgegeven.",
            );
        }
        Some(t) if t != s.token => {
            st.violations
                .push(format!("{method} {path}: a wrong token"));
            return problem(
                401,
                "authentication_failed",
                "Ongeldige token.",
                "Ongeldige token.",
            );
        }
        Some(_) => {}
    }
    if !st.fail.is_empty() {
        let status = st.fail.remove(0);
        return problem(status, "error", "A server error occurred.", "injected");
    }
    let Some(rest) = path.strip_prefix(BASE_PATH) else {
        st.violations
            .push(format!("{method} {path}: not under {BASE_PATH}"));
        return problem(404, "not_found", "Niet gevonden.", "Niet gevonden.");
    };
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    if method == Method::POST {
        let ct = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !ct.starts_with("application/json") || body.is_null() && !raw.is_empty() {
            st.violations
                .push(format!("POST {path}: not a JSON body ({ct})"));
            return problem(415, "unsupported_media_type", "Unsupported media type", ct);
        }
    }
    let q: HashMap<String, String> = uri
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect::<HashMap<String, String>>()
        })
        .unwrap_or_default();
    match (method.as_str(), segments.as_slice()) {
        // Open Klant filters `onderwerp` by "icontains" (its KlantcontactFilterSet).
        ("GET", ["klantcontacten"]) => list(&s.base, uri, st, "klantcontacten", |o| {
            q.get("onderwerp").is_none_or(|v| {
                o["onderwerp"]
                    .as_str()
                    .is_some_and(|s| s.to_lowercase().contains(&v.to_lowercase()))
            }) && q.get("kanaal").is_none_or(|v| o["kanaal"] == v.as_str())
        }),
        ("GET", ["digitaleadressen"]) => list(&s.base, uri, st, "digitaleadressen", |o| {
            q.get("adres").is_none_or(|v| o["adres"] == v.as_str())
                && q.get("soortDigitaalAdres")
                    .is_none_or(|v| o["soortDigitaalAdres"] == v.as_str())
        }),
        ("GET", ["internetaken"]) => list(&s.base, uri, st, "internetaken", |o| {
            q.get("aanleidinggevendKlantcontact__uuid")
                .is_none_or(|v| o["aanleidinggevendKlantcontact"]["uuid"] == v.as_str())
                && q.get("toegewezenAanActor__uuid").is_none_or(|v| {
                    o["toegewezenAanActoren"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x["uuid"] == v.as_str()))
                })
        }),
        ("GET", [resource, uuid]) => match st.find(resource, uuid) {
            Some(i) => API.json(StatusCode::OK, st.all(resource)[i].clone()),
            None => problem(404, "not_found", "Niet gevonden.", "Niet gevonden."),
        },
        ("POST", ["klantcontacten"]) => create(s, st, "klantcontacten", "Klantcontact", body),
        ("POST", ["partijen"]) => create(s, st, "partijen", "Partij", body),
        ("POST", ["digitaleadressen"]) => create(s, st, "digitaleadressen", "DigitaalAdres", body),
        ("POST", ["betrokkenen"]) => create(s, st, "betrokkenen", "Betrokkene", body),
        ("POST", ["onderwerpobjecten"]) => {
            create(s, st, "onderwerpobjecten", "Onderwerpobject", body)
        }
        ("POST", ["internetaken"]) => create(s, st, "internetaken", "InterneTaak", body),
        _ => {
            st.violations
                .push(format!("{method} {path}: not a route the desk should call"));
            problem(404, "not_found", "Niet gevonden.", "Niet gevonden.")
        }
    }
}

/// A page of `resource`'s objects that `keep` takes, with Open Klant's `count`, `next` and
/// `previous` (URLs with `page`, 1-based, as Django REST framework's page number pagination).
fn list(
    base: &str,
    uri: &Uri,
    st: &State,
    resource: &str,
    keep: impl Fn(&Value) -> bool,
) -> Response {
    let found: Vec<&Value> = st.all(resource).iter().filter(|o| keep(o)).collect();
    let size = st.page_size.unwrap_or(100);
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let page = pairs
        .iter()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let link = |n: usize| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.extend_pairs(pairs.iter().filter(|(k, _)| k != "page"));
        q.append_pair("page", &n.to_string());
        json!(format!("{base}{}?{}", uri.path(), q.finish()))
    };
    let results: Vec<Value> = found
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .map(|o| (*o).clone())
        .collect();
    let next = if page * size < found.len() {
        link(page + 1)
    } else {
        Value::Null
    };
    let previous = if page > 1 {
        link(page - 1)
    } else {
        Value::Null
    };
    API.json(
        StatusCode::OK,
        json!({"count": found.len(), "next": next, "previous": previous, "results": results}),
    )
}

/// The references a body makes: (field, resource it must exist in, uuid).
fn references(resource: &str, body: &Value) -> Vec<(String, &'static str, String)> {
    let mut out = Vec::new();
    let mut one = |field: &str, target: &'static str, v: &Value| {
        if let Some(u) = v["uuid"].as_str() {
            out.push((field.to_owned(), target, u.to_owned()));
        }
    };
    match resource {
        "digitaleadressen" => one(
            "verstrektDoorPartij",
            "partijen",
            &body["verstrektDoorPartij"],
        ),
        "betrokkenen" => {
            one("wasPartij", "partijen", &body["wasPartij"]);
            one(
                "hadKlantcontact",
                "klantcontacten",
                &body["hadKlantcontact"],
            );
        }
        "onderwerpobjecten" => one("klantcontact", "klantcontacten", &body["klantcontact"]),
        "internetaken" => {
            one(
                "aanleidinggevendKlantcontact",
                "klantcontacten",
                &body["aanleidinggevendKlantcontact"],
            );
            for (i, a) in body["toegewezenAanActoren"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                one(&format!("toegewezenAanActoren.{i}"), "actoren", a);
            }
        }
        _ => {}
    }
    out
}

fn create(
    s: &Shared,
    st: &mut State,
    resource: &'static str,
    schema_name: &str,
    body: Value,
) -> Response {
    let invalid = check_body(schema_name, &body);
    if !invalid.is_empty() {
        for i in &invalid {
            st.violations.push(format!(
                "POST {resource}: {} {} ({})",
                i.name, i.code, i.reason
            ));
        }
        return API.invalid(&invalid);
    }
    for (field, target, uuid) in references(resource, &body) {
        if st.find(target, &uuid).is_none() {
            return does_not_exist(&field);
        }
    }
    let uuid = Uuid::new_v4().to_string();
    let url = format!("{}{BASE_PATH}/{resource}/{uuid}", s.base);
    let mut obj = body;
    let o = obj.as_object_mut().expect("validated as an object");
    o.insert("uuid".into(), json!(uuid));
    o.insert("url".into(), json!(url));
    let fk = json!({"uuid": uuid, "url": url});
    match resource {
        "klantcontacten" => {
            for k in [
                "gingOverOnderwerpobjecten",
                "hadBetrokkenActoren",
                "omvatteBijlagen",
                "hadBetrokkenen",
                "leiddeTotInterneTaken",
            ] {
                o.insert(k.into(), json!([]));
            }
        }
        "internetaken" => {
            o.insert(
                "toegewezenOp".into(),
                json!(chrono::Utc::now().to_rfc3339()),
            );
        }
        _ => {}
    }
    // The klantcontact lists what points at it (its read-only fields).
    let back = match resource {
        "betrokkenen" => Some(("hadKlantcontact", "hadBetrokkenen")),
        "onderwerpobjecten" => Some(("klantcontact", "gingOverOnderwerpobjecten")),
        "internetaken" => Some(("aanleidinggevendKlantcontact", "leiddeTotInterneTaken")),
        _ => None,
    };
    if let Some((field, list)) = back {
        if let Some(k) = o[field]["uuid"].as_str().map(str::to_owned) {
            if let Some(i) = st.find("klantcontacten", &k) {
                let kc = &mut st.resources.get_mut("klantcontacten").expect("found")[i];
                if let Some(a) = kc[list].as_array_mut() {
                    a.push(fk.clone());
                }
            }
        }
    }
    st.resources.entry(resource).or_default().push(obj.clone());
    if st.drop_after_commit > 0 {
        st.drop_after_commit -= 1;
        return problem(
            500,
            "error",
            "A server error occurred.",
            "dropped after commit",
        );
    }
    let mut r = API.json(StatusCode::CREATED, obj);
    if let Ok(v) = HeaderValue::from_str(&url) {
        r.headers_mut().insert("location", v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn klantcontact() -> Value {
        json!({"kanaal": "X", "onderwerp": "Bericht van inwoner via X (1)", "inhoud": "Lamp kapot",
            "indicatieContactGelukt": true, "taal": "nld", "vertrouwelijk": false,
            "plaatsgevondenOp": "2026-12-07T09:30:00Z", "metadata": {"platformMessageId": "1"}})
    }

    #[tokio::test]
    async fn the_token_is_enforced_and_a_refused_body_gets_invalid_params() {
        let ok = FakeOpenKlant::start("goed").await.unwrap();
        let c = reqwest::Client::new();
        let url = format!("{}/klantcontacten", ok.url());
        let none = c.get(&url).send().await.unwrap();
        assert_eq!(none.status(), 401);
        let wrong = c
            .get(&url)
            .header("Authorization", "Token fout")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401);
        assert_eq!(ok.violations().len(), 2);
        let mut body = klantcontact();
        body.as_object_mut().unwrap().remove("vertrouwelijk");
        let res = c
            .post(&url)
            .header("Authorization", "Token goed")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["invalidParams"][0]["name"], "vertrouwelijk");
        assert_eq!(problem["invalidParams"][0]["code"], "required");
        assert!(ok.objects("klantcontacten").is_empty());
        let res = c
            .post(&url)
            .header("Authorization", "Token goed")
            .json(&klantcontact())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let made: Value = res.json().await.unwrap();
        assert!(made["url"].as_str().unwrap().starts_with(&url));
        assert_eq!(made["hadBetrokkenen"], json!([]));
    }

    #[test]
    fn the_desks_bodies_pass_and_a_missing_required_field_is_refused() {
        assert_eq!(check_body("Klantcontact", &klantcontact()), vec![]);
        let mut body = klantcontact();
        body.as_object_mut().unwrap().remove("taal");
        let errs = check_body("Klantcontact", &body);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].name, "taal");
        assert_eq!(errs[0].code, "required");
        let mut long = klantcontact();
        long["kanaal"] = json!("k".repeat(51));
        assert_eq!(check_body("Klantcontact", &long)[0].name, "kanaal");
        // The domain's bodies are what the spec asks.
        use webcare_domain::openklant as ok;
        assert_eq!(check_body("Partij", &ok::partij_request()), vec![]);
        let u = Uuid::new_v4().to_string();
        let adres = ok::digitaal_adres_request(&u, None, "x:1");
        assert_eq!(check_body("DigitaalAdres", &adres), vec![]);
        let b = ok::betrokkene_request(&u, &u, true);
        assert_eq!(check_body("Betrokkene", &b), vec![]);
        let o = ok::onderwerpobject_request(&u, "http://oz/zaken/api/v1/zaken/1");
        assert_eq!(check_body("Onderwerpobject", &o), vec![]);
        let t = ok::internetaak_request(&u, &u, "Stadsbeheer", Some("Graag repareren"));
        assert_eq!(check_body("InterneTaak", &t), vec![]);
        let mut t = t;
        t["status"] = json!("klaar");
        assert_eq!(check_body("InterneTaak", &t)[0].name, "status");
        let mut p = ok::partij_request();
        p.as_object_mut().unwrap().remove("indicatieActief");
        assert_eq!(check_body("Partij", &p)[0].name, "indicatieActief");
        // Open Klant requires the address keys the document leaves optional.
        let mut p = ok::partij_request();
        p.as_object_mut().unwrap().remove("digitaleAdressen");
        assert_eq!(check_body("Partij", &p)[0].name, "digitaleAdressen");
    }
}
