//! A fake Open Zaak: the Zaken API 1.5.1 calls the desk makes (`/zaken`, `/statussen`,
//! `/resultaten`, `/rollen`) and the Catalogi API 1.3.1 lookups (`/zaaktypen/{uuid}`,
//! `/statustypen?zaaktype=`), on one axum server on `127.0.0.1:0`, with Open Zaak's rules:
//!
//! - JWT-ZGW: HS256 with the configured secret, `iss`, `iat` (at most an hour old) and
//!   `client_id`; otherwise 403.
//! - `Accept-Crs`/`Content-Crs: EPSG:4326` on zaken POST and GET; otherwise 412.
//! - Every request body is validated against the Zaken API document in `specs/zgw/`; a body that
//!   fails gets the 400 `ValidatieFout` and is recorded in [`FakeOpenZaak::violations`], which a
//!   test asserts is empty.
//! - An eindstatus without a resultaat is refused with 400 `resultaat-does-not-exist`.
//!
//! Knobs: [`FakeOpenZaak::fail_next`] (5xx for the next calls),
//! [`FakeOpenZaak::drop_after_commit`] (store, then answer 500, as a crash between the zaaksysteem's
//! commit and the desk's record of it looks to the desk) and [`FakeOpenZaak::stall_after_commit`]
//! (store, then hold the answer back: the window a crash test kills the desk in).
//!
//! The Catalogi API lists the statustypen out of volgnummer order, and the Zaken API lists
//! statussen and rollen by `zaak`, `statustype`, `roltype`, `betrokkeneType` and the
//! organisatorische eenheid's identificatie, as the desk looks them up before a retry.

mod answer;
pub mod notificaties;
pub mod openklant;
pub mod schema;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use jsonschema::Validator;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use uuid::Uuid;

struct Validators {
    zaak: Validator,
    status: Validator,
    resultaat: Validator,
    rol: Validator,
    rol_by_type: HashMap<&'static str, Validator>,
}

static VALIDATORS: LazyLock<Result<Validators, String>> = LazyLock::new(|| {
    let spec = schema::Spec::parse(schema::ZAKEN_YAML)?;
    let mut rol_by_type = HashMap::new();
    for t in [
        "natuurlijk_persoon",
        "niet_natuurlijk_persoon",
        "vestiging",
        "organisatorische_eenheid",
        "medewerker",
    ] {
        rol_by_type.insert(t, spec.validator(&format!("{t}_Rol"))?);
    }
    Ok(Validators {
        zaak: spec.validator("Zaak")?,
        status: spec.validator("Status")?,
        resultaat: spec.validator("Resultaat")?,
        rol: spec.validator("Rol")?,
        rol_by_type,
    })
});

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct ZgwRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub json: Value,
    /// The status the fake answered.
    pub status: u16,
}

impl ZgwRequest {
    /// The request as it came in (its status set once answered).
    pub(crate) fn of(method: &Method, uri: &Uri, headers: &HeaderMap, json: &Value) -> Self {
        ZgwRequest {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: uri.query().unwrap_or_default().to_owned(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
                .collect(),
            json: json.clone(),
            status: 0,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    requests: Vec<ZgwRequest>,
    violations: Vec<String>,
    zaken: Vec<Value>,
    statussen: Vec<Value>,
    resultaten: Vec<Value>,
    rollen: Vec<Value>,
    /// The next calls answer this status (5xx) without acting.
    fail: Vec<u16>,
    /// The next this many creating calls are stored and then answered 500.
    drop_after_commit: u32,
    /// The next this many creating calls are stored and then answered only after a long wait.
    stall_after_commit: u32,
    next_number: u64,
}

/// The catalogue the fake serves: one zaaktype with three statustypen (the last the eindstatus),
/// a resultaattype and a roltype for an organisatorische eenheid.
#[derive(Debug, Clone)]
pub struct Catalogus {
    pub zaaktype: String,
    pub statustype_ontvangen: String,
    pub statustype_in_behandeling: String,
    pub statustype_afgerond: String,
    pub resultaattype: String,
    pub roltype_afdeling: String,
}

/// The running fake. Dropping it stops the server.
pub struct FakeOpenZaak {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub client_id: String,
    pub secret: String,
    pub catalogus: Catalogus,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

struct Shared {
    base: String,
    client_id: String,
    secret: String,
    catalogus: Catalogus,
    state: Arc<Mutex<State>>,
}

impl FakeOpenZaak {
    /// Starts on a random port, accepting JWTs of `client_id` signed with `secret`.
    pub async fn start(client_id: &str, secret: &str) -> std::io::Result<FakeOpenZaak> {
        if let Err(e) = &*VALIDATORS {
            return Err(std::io::Error::other(format!(
                "the Zaken API document: {e}"
            )));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let cat = format!("{base}/catalogi/api/v1");
        let catalogus = Catalogus {
            zaaktype: format!("{cat}/zaaktypen/{}", Uuid::new_v4()),
            statustype_ontvangen: format!("{cat}/statustypen/{}", Uuid::new_v4()),
            statustype_in_behandeling: format!("{cat}/statustypen/{}", Uuid::new_v4()),
            statustype_afgerond: format!("{cat}/statustypen/{}", Uuid::new_v4()),
            resultaattype: format!("{cat}/resultaattypen/{}", Uuid::new_v4()),
            roltype_afdeling: format!("{cat}/roltypen/{}", Uuid::new_v4()),
        };
        let state = Arc::new(Mutex::new(State {
            next_number: 1,
            ..Default::default()
        }));
        let shared = Arc::new(Shared {
            base: base.clone(),
            client_id: client_id.to_owned(),
            secret: secret.to_owned(),
            catalogus: catalogus.clone(),
            state: state.clone(),
        });
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let s = shared.clone();
                async move {
                    let r = handle(&s, method, uri, headers, body);
                    if r.extensions().get::<Stalled>().is_some() {
                        // Committed; the answer comes too late for anyone still waiting.
                        tokio::time::sleep(std::time::Duration::from_secs(120)).await;
                    }
                    r
                }
            },
        );
        let stop = crate::serve(listener, app);
        Ok(FakeOpenZaak {
            base,
            client_id: client_id.to_owned(),
            secret: secret.to_owned(),
            catalogus,
            state,
            stop: Some(stop),
        })
    }

    pub fn zaken_url(&self) -> String {
        format!("{}/zaken/api/v1", self.base)
    }

    pub fn catalogi_url(&self) -> String {
        format!("{}/catalogi/api/v1", self.base)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<ZgwRequest> {
        self.lock().requests.clone()
    }

    /// Every request body that failed the spec, and every missing header or token: a test of the
    /// desk asserts this is empty.
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    pub fn zaken(&self) -> Vec<Value> {
        self.lock().zaken.clone()
    }

    pub fn statussen(&self) -> Vec<Value> {
        self.lock().statussen.clone()
    }

    pub fn resultaten(&self) -> Vec<Value> {
        self.lock().resultaten.clone()
    }

    pub fn rollen(&self) -> Vec<Value> {
        self.lock().rollen.clone()
    }

    /// A behandelaar sets a status on the zaak in Open Zaak itself (not through the desk): for
    /// the eindstatus with a resultaat first, as Open Zaak demands. Answers the status's URL,
    /// the `resourceUrl` of the notification Open Zaak would send.
    pub fn set_status_in_zaaksysteem(&self, zaak_url: &str, statustype: &str) -> Option<String> {
        let mut st = self.lock();
        let zi = st.zaken.iter().position(|z| z["url"] == zaak_url)?;
        let eind = statustype == self.catalogus.statustype_afgerond;
        if eind && st.zaken[zi]["resultaat"].is_null() {
            let url = format!("{}/zaken/api/v1/resultaten/{}", self.base, Uuid::new_v4());
            st.zaken[zi]["resultaat"] = json!(url);
            st.resultaten.push(json!({"url": url, "zaak": zaak_url,
                "resultaattype": self.catalogus.resultaattype, "toelichting": "Afgehandeld"}));
        }
        let uuid = Uuid::new_v4();
        let url = format!("{}/zaken/api/v1/statussen/{uuid}", self.base);
        let status = json!({"url": url, "uuid": uuid.to_string(), "zaak": zaak_url,
            "statustype": statustype, "datumStatusGezet": chrono::Utc::now().to_rfc3339(),
            "statustoelichting": "Gezet door de behandelaar", "indicatieLaatstGezetteStatus": true,
            "zaakinformatieobjecten": []});
        st.zaken[zi]["status"] = json!(url);
        if eind {
            st.zaken[zi]["einddatum"] = json!(chrono::Utc::now().date_naive().to_string());
        }
        st.statussen.push(status);
        Some(url)
    }

    /// The next `n` calls answer `status` (e.g. 500 or 503) and change nothing.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.lock().fail.extend(std::iter::repeat_n(status, n));
    }

    /// The next `n` creating calls (POST) are stored, then answered 500.
    pub fn drop_after_commit(&self, n: u32) {
        self.lock().drop_after_commit = n;
    }

    /// The next `n` creating calls (POST) are stored, then answered only two minutes later: the
    /// window in which a crash test kills the desk between Open Zaak's commit and its record.
    pub fn stall_after_commit(&self, n: u32) {
        self.lock().stall_after_commit = n;
    }
}

impl Drop for FakeOpenZaak {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

const API: answer::Api = answer::Api {
    version: Some("1.5.1"),
};

fn json_response(status: StatusCode, body: Value) -> Response {
    API.json(status, body)
}

/// The Zaken API's `Fout`.
fn fout(status: u16, code: &str, title: &str, detail: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    API.fout(status, code, title, detail)
}

/// The Zaken API's `ValidatieFout`.
fn validatie_fout(invalid: &[schema::Invalid]) -> Response {
    API.invalid(invalid)
}

fn handle(s: &Shared, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut rec = ZgwRequest::of(&method, &uri, &headers, &json);
    let mut st = s.state.lock().unwrap_or_else(|e| e.into_inner());
    let r = route(s, &mut st, &method, &uri, &headers, &body, json);
    rec.status = r.status().as_u16();
    st.requests.push(rec);
    r
}

fn route(
    s: &Shared,
    st: &mut State,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    raw: &[u8],
    body: Value,
) -> Response {
    let path = uri.path().trim_end_matches('/');
    if let Err(why) = check_jwt(s, headers) {
        st.violations.push(format!("{method} {path}: {why}"));
        return fout(
            403,
            "not_authenticated",
            "Authenticatiegegevens zijn niet opgegeven.",
            &why,
        );
    }
    if !st.fail.is_empty() {
        let status = st.fail.remove(0);
        return fout(status, "error", "A server error occurred.", "injected");
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let is_post = method == Method::POST;
    if is_post {
        let ct = header(headers, "content-type").unwrap_or_default();
        if !ct.starts_with("application/json") || body.is_null() && !raw.is_empty() {
            st.violations
                .push(format!("POST {path}: not a JSON body ({ct})"));
            return fout(415, "unsupported_media_type", "Unsupported media type", ct);
        }
    }
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["zaken", "api", "v1", "zaken"]) => {
            if let Some(r) = check_crs(st, headers, path, true) {
                return r;
            }
            create_zaak(s, st, body)
        }
        ("GET", ["zaken", "api", "v1", "zaken"]) => {
            if let Some(r) = check_crs(st, headers, path, false) {
                return r;
            }
            let q: HashMap<String, String> = uri
                .query()
                .map(|q| {
                    url_pairs(q)
                        .into_iter()
                        .collect::<HashMap<String, String>>()
                })
                .unwrap_or_default();
            let found: Vec<Value> = st
                .zaken
                .iter()
                .filter(|z| {
                    q.get("identificatie")
                        .is_none_or(|i| z["identificatie"] == i.as_str())
                        && q.get("bronorganisatie")
                            .is_none_or(|b| z["bronorganisatie"] == b.as_str())
                })
                .cloned()
                .collect();
            json_response(
                StatusCode::OK,
                json!({"count": found.len(), "next": null, "previous": null, "results": found}),
            )
        }
        ("GET", ["zaken", "api", "v1", "zaken", _uuid]) => {
            if let Some(r) = check_crs(st, headers, path, false) {
                return r;
            }
            let url = format!("{}{}", s.base, path);
            match st.zaken.iter().find(|z| z["url"] == url.as_str()) {
                Some(z) => json_response(StatusCode::OK, z.clone()),
                None => fout(404, "not_found", "Niet gevonden.", "Niet gevonden."),
            }
        }
        ("POST", ["zaken", "api", "v1", "statussen"]) => create_status(s, st, body),
        ("GET", ["zaken", "api", "v1", "statussen", _uuid]) => {
            let url = format!("{}{}", s.base, path);
            match st.statussen.iter().find(|z| z["url"] == url.as_str()) {
                Some(z) => json_response(StatusCode::OK, z.clone()),
                None => fout(404, "not_found", "Niet gevonden.", "Niet gevonden."),
            }
        }
        ("GET", ["zaken", "api", "v1", "statussen"]) => {
            let q: HashMap<String, String> = uri
                .query()
                .map(|q| url_pairs(q).into_iter().collect())
                .unwrap_or_default();
            let found = filtered(&st.statussen, &q, &["zaak", "statustype"]);
            paginated(found)
        }
        ("GET", ["zaken", "api", "v1", "rollen"]) => {
            let q: HashMap<String, String> = uri
                .query()
                .map(|q| url_pairs(q).into_iter().collect())
                .unwrap_or_default();
            let mut found = filtered(&st.rollen, &q, &["zaak", "roltype", "betrokkeneType"]);
            if let Some(id) =
                q.get("betrokkeneIdentificatie__organisatorischeEenheid__identificatie")
            {
                found.retain(|r| r["betrokkeneIdentificatie"]["identificatie"] == id.as_str());
            }
            paginated(found)
        }
        ("POST", ["zaken", "api", "v1", "resultaten"]) => create_resultaat(s, st, body),
        ("POST", ["zaken", "api", "v1", "rollen"]) => create_rol(s, st, body),
        ("GET", ["catalogi", "api", "v1", "zaaktypen", _uuid]) => {
            let url = format!("{}{}", s.base, path);
            if url != s.catalogus.zaaktype {
                return fout(404, "not_found", "Niet gevonden.", "Niet gevonden.");
            }
            json_response(StatusCode::OK, zaaktype(s))
        }
        ("GET", ["catalogi", "api", "v1", "statustypen"]) => {
            let q: HashMap<String, String> = uri
                .query()
                .map(|q| url_pairs(q).into_iter().collect())
                .unwrap_or_default();
            // Not in volgnummer order: the desk must sort them itself.
            let mut all = statustypen(s);
            all.rotate_left(2);
            let found: Vec<Value> = all
                .into_iter()
                .filter(|t| {
                    q.get("zaaktype")
                        .is_none_or(|z| t["zaaktype"] == z.as_str())
                })
                .collect();
            json_response(
                StatusCode::OK,
                json!({"count": found.len(), "next": null, "previous": null, "results": found}),
            )
        }
        _ => {
            st.violations
                .push(format!("{method} {path}: not a route the desk should call"));
            fout(404, "not_found", "Niet gevonden.", "Niet gevonden.")
        }
    }
}

/// The items whose listed fields equal the query's values (a field not in the query: any).
fn filtered(items: &[Value], q: &HashMap<String, String>, fields: &[&str]) -> Vec<Value> {
    items
        .iter()
        .filter(|i| {
            fields
                .iter()
                .all(|f| q.get(*f).is_none_or(|v| i[*f] == v.as_str()))
        })
        .cloned()
        .collect()
}

fn paginated(found: Vec<Value>) -> Response {
    json_response(
        StatusCode::OK,
        json!({"count": found.len(), "next": null, "previous": null, "results": found}),
    )
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn url_pairs(q: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

#[derive(serde::Deserialize)]
struct Claims {
    iss: Option<String>,
    iat: Option<i64>,
    client_id: Option<String>,
}

fn check_jwt(s: &Shared, headers: &HeaderMap) -> Result<(), String> {
    check_jwt_of(&s.client_id, &s.secret, headers)
}

/// JWT-ZGW as Open Zaak and Open Notificaties check it: HS256 with the client's secret, `iss`,
/// `client_id` and an `iat` within the last hour.
pub(crate) fn check_jwt_of(
    expected_client: &str,
    secret: &str,
    headers: &HeaderMap,
) -> Result<(), String> {
    let auth = header(headers, "authorization").ok_or("no Authorization header")?;
    let token = auth
        .strip_prefix("Bearer ")
        .ok_or("Authorization is not a Bearer token")?;
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    // Open Zaak expires a token an hour after `iat`; `exp` is not required.
    v.required_spec_claims.clear();
    v.validate_exp = false;
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        &v,
    )
    .map_err(|e| format!("the JWT does not verify: {e}"))?;
    let c = data.claims;
    let iss = c.iss.ok_or("the JWT has no iss")?;
    let client_id = c.client_id.ok_or("the JWT has no client_id")?;
    let iat = c.iat.ok_or("the JWT has no iat")?;
    if client_id != expected_client || iss.is_empty() {
        return Err(format!("unknown client_id {client_id}"));
    }
    let now = chrono::Utc::now().timestamp();
    if iat > now + 60 || now - iat > 3600 {
        return Err("the JWT's iat is not within the last hour".into());
    }
    Ok(())
}

fn check_crs(st: &mut State, headers: &HeaderMap, path: &str, post: bool) -> Option<Response> {
    let mut missing = Vec::new();
    if header(headers, "accept-crs") != Some("EPSG:4326") {
        missing.push("Accept-Crs");
    }
    if post && header(headers, "content-crs") != Some("EPSG:4326") {
        missing.push("Content-Crs");
    }
    if missing.is_empty() {
        return None;
    }
    let why = format!("'{}' header ontbreekt", missing.join("', '"));
    st.violations.push(format!("{path}: {why}"));
    Some(fout(
        412,
        "precondition_failed",
        "Precondition failed",
        &why,
    ))
}

fn validate(st: &mut State, path: &str, v: &Validator, body: &Value) -> Option<Response> {
    let invalid = schema::check(v, body);
    if invalid.is_empty() {
        return None;
    }
    for i in &invalid {
        st.violations
            .push(format!("POST {path}: {} {} ({})", i.name, i.code, i.reason));
    }
    Some(validatie_fout(&invalid))
}

fn one_invalid(name: &str, code: &str, reason: &str) -> Response {
    validatie_fout(&[schema::Invalid {
        name: name.into(),
        code: code.into(),
        reason: reason.into(),
    }])
}

fn validators() -> &'static Validators {
    match &*VALIDATORS {
        Ok(v) => v,
        // `start` refuses to run without them.
        Err(e) => panic!("the Zaken API document: {e}"),
    }
}

/// Answers a created resource: 201, or 500 after storing when "drop after commit" is armed.
/// Marks a response the server holds back (see [`FakeOpenZaak::stall_after_commit`]).
#[derive(Clone, Copy)]
struct Stalled;

fn created(st: &mut State, url: &str, body: Value) -> Response {
    if st.stall_after_commit > 0 {
        st.stall_after_commit -= 1;
        let mut r = json_response(StatusCode::CREATED, body);
        r.extensions_mut().insert(Stalled);
        return r;
    }
    if st.drop_after_commit > 0 {
        st.drop_after_commit -= 1;
        return fout(
            500,
            "error",
            "A server error occurred.",
            "dropped after commit",
        );
    }
    let mut r = json_response(StatusCode::CREATED, body);
    if let Ok(v) = HeaderValue::from_str(url) {
        r.headers_mut().insert("location", v);
    }
    r
}

fn create_zaak(s: &Shared, st: &mut State, body: Value) -> Response {
    let path = "/zaken/api/v1/zaken";
    if let Some(r) = validate(st, path, &validators().zaak, &body) {
        return r;
    }
    if body["zaaktype"] != s.catalogus.zaaktype.as_str() {
        return one_invalid(
            "zaaktype",
            "bad-url",
            "De URL is geen zaaktype van de Catalogi API.",
        );
    }
    for field in ["bronorganisatie", "verantwoordelijkeOrganisatie"] {
        let v = body[field].as_str().unwrap_or_default();
        if !elfproef(v) {
            return one_invalid(field, "invalid", "Onjuist RSIN (11-proef).");
        }
    }
    let identificatie = match body["identificatie"].as_str() {
        Some(i) if !i.is_empty() => i.to_owned(),
        _ => {
            let n = st.next_number;
            st.next_number += 1;
            format!("ZAAK-2026-{n:010}")
        }
    };
    if st.zaken.iter().any(|z| {
        z["identificatie"] == identificatie.as_str()
            && z["bronorganisatie"] == body["bronorganisatie"]
    }) {
        return one_invalid(
            "identificatie",
            "identificatie-niet-uniek",
            "Deze identificatie bestaat al binnen de bronorganisatie.",
        );
    }
    let uuid = Uuid::new_v4();
    let url = format!("{}/zaken/api/v1/zaken/{uuid}", s.base);
    let mut zaak = body;
    let obj = zaak.as_object_mut().expect("validated as an object");
    for (k, v) in [
        ("url", json!(url)),
        ("uuid", json!(uuid.to_string())),
        ("identificatie", json!(identificatie)),
        (
            "registratiedatum",
            json!(chrono::Utc::now().date_naive().to_string()),
        ),
        ("einddatum", Value::Null),
        ("status", Value::Null),
        ("resultaat", Value::Null),
        ("rollen", json!([])),
        ("deelzaken", json!([])),
        ("eigenschappen", json!([])),
        ("zaakinformatieobjecten", json!([])),
        ("zaakobjecten", json!([])),
        ("betalingsindicatieWeergave", json!("")),
    ] {
        obj.insert(k.to_owned(), v);
    }
    st.zaken.push(zaak.clone());
    created(st, &url, zaak)
}

fn zaak_index(s: &Shared, st: &State, body: &Value) -> Option<usize> {
    let url = body["zaak"].as_str()?;
    url.strip_prefix(&s.base)?;
    st.zaken.iter().position(|z| z["url"] == url)
}

fn create_status(s: &Shared, st: &mut State, body: Value) -> Response {
    if let Some(r) = validate(st, "/zaken/api/v1/statussen", &validators().status, &body) {
        return r;
    }
    let Some(zi) = zaak_index(s, st, &body) else {
        return one_invalid("zaak", "bad-url", "De URL is geen zaak van deze Zaken API.");
    };
    let types = statustypen(s);
    let Some(t) = types.iter().find(|t| t["url"] == body["statustype"]) else {
        return one_invalid("statustype", "bad-url", "Onbekend statustype.");
    };
    let eind = t["isEindstatus"] == true;
    if eind && st.zaken[zi]["resultaat"].is_null() {
        return one_invalid(
            "nonFieldErrors",
            "resultaat-does-not-exist",
            "De zaak heeft geen resultaat; zet eerst een resultaat.",
        );
    }
    let uuid = Uuid::new_v4();
    let url = format!("{}/zaken/api/v1/statussen/{uuid}", s.base);
    let mut status = body;
    status["url"] = json!(url);
    status["uuid"] = json!(uuid.to_string());
    status["indicatieLaatstGezetteStatus"] = json!(true);
    status["zaakinformatieobjecten"] = json!([]);
    st.zaken[zi]["status"] = json!(url);
    if eind {
        st.zaken[zi]["einddatum"] = json!(chrono::Utc::now().date_naive().to_string());
    }
    st.statussen.push(status.clone());
    created(st, &url, status)
}

fn create_resultaat(s: &Shared, st: &mut State, body: Value) -> Response {
    if let Some(r) = validate(
        st,
        "/zaken/api/v1/resultaten",
        &validators().resultaat,
        &body,
    ) {
        return r;
    }
    let Some(zi) = zaak_index(s, st, &body) else {
        return one_invalid("zaak", "bad-url", "De URL is geen zaak van deze Zaken API.");
    };
    if body["resultaattype"] != s.catalogus.resultaattype.as_str() {
        return one_invalid("resultaattype", "bad-url", "Onbekend resultaattype.");
    }
    if !st.zaken[zi]["resultaat"].is_null() {
        return one_invalid("zaak", "unique", "De zaak heeft al een resultaat.");
    }
    let uuid = Uuid::new_v4();
    let url = format!("{}/zaken/api/v1/resultaten/{uuid}", s.base);
    let mut r = body;
    r["url"] = json!(url);
    r["uuid"] = json!(uuid.to_string());
    st.zaken[zi]["resultaat"] = json!(url);
    st.resultaten.push(r.clone());
    created(st, &url, r)
}

fn create_rol(s: &Shared, st: &mut State, body: Value) -> Response {
    let vs = validators();
    // The discriminator picks the schema with the betrokkene's own fields.
    let v = body["betrokkeneType"]
        .as_str()
        .and_then(|t| vs.rol_by_type.get(t))
        .unwrap_or(&vs.rol);
    if let Some(r) = validate(st, "/zaken/api/v1/rollen", v, &body) {
        return r;
    }
    let Some(zi) = zaak_index(s, st, &body) else {
        return one_invalid("zaak", "bad-url", "De URL is geen zaak van deze Zaken API.");
    };
    if body["roltype"] != s.catalogus.roltype_afdeling.as_str() {
        return one_invalid("roltype", "bad-url", "Onbekend roltype.");
    }
    let uuid = Uuid::new_v4();
    let url = format!("{}/zaken/api/v1/rollen/{uuid}", s.base);
    let mut r = body;
    r["url"] = json!(url);
    r["uuid"] = json!(uuid.to_string());
    r["omschrijving"] = json!("Behandelende afdeling");
    r["omschrijvingGeneriek"] = json!("behandelaar");
    r["registratiedatum"] = json!(chrono::Utc::now().to_rfc3339());
    r["statussen"] = json!([]);
    if let Some(rollen) = st.zaken[zi]["rollen"].as_array_mut() {
        rollen.push(json!(url));
    }
    st.rollen.push(r.clone());
    created(st, &url, r)
}

fn zaaktype(s: &Shared) -> Value {
    let c = &s.catalogus;
    json!({
        "url": c.zaaktype,
        "identificatie": "WEBCARE-MELDING",
        "omschrijving": "Melding openbare ruimte",
        "vertrouwelijkheidaanduiding": "zaakvertrouwelijk",
        "doorlooptijd": "P14D",
        "servicenorm": "P5D",
        "concept": false,
        "statustypen": [c.statustype_ontvangen, c.statustype_in_behandeling, c.statustype_afgerond],
        "resultaattypen": [c.resultaattype],
        "roltypen": [c.roltype_afdeling],
    })
}

fn statustypen(s: &Shared) -> Vec<Value> {
    let c = &s.catalogus;
    [
        (&c.statustype_ontvangen, 1, "Ontvangen", false),
        (&c.statustype_in_behandeling, 2, "In behandeling", false),
        (&c.statustype_afgerond, 3, "Afgerond", true),
    ]
    .into_iter()
    .map(|(url, volgnummer, omschrijving, eind)| {
        json!({
            "url": url, "omschrijving": omschrijving, "omschrijvingGeneriek": omschrijving,
            "statustekst": "", "zaaktype": c.zaaktype, "volgnummer": volgnummer,
            "isEindstatus": eind, "informeren": false,
        })
    })
    .collect()
}

/// The 11-proef Open Zaak applies to RSINs: written here apart from the desk's, so the fake
/// checks the desk instead of agreeing with it by construction.
fn elfproef(s: &str) -> bool {
    const WEIGHTS: [i64; 9] = [9, 8, 7, 6, 5, 4, 3, 2, -1];
    s.len() == 9
        && s.bytes().all(|c| c.is_ascii_digit())
        && s.bytes()
            .zip(WEIGHTS)
            .map(|(c, w)| i64::from(c - b'0') * w)
            .sum::<i64>()
            % 11
            == 0
}
