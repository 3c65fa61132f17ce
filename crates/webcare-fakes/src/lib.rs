//! Local fake platforms for tests and `webcare demo`: one axum server on `127.0.0.1:0` that speaks
//! enough of the Graph API (Facebook comment replies, Instagram comment replies, the Messenger /
//! Instagram Send API, WhatsApp Cloud API messages), the X API v2 (mentions, DM events, tweet
//! lookup, our own tweets, `POST /2/tweets`, DM send) and a generic `api` channel callback, in the
//! real wire formats (see `shared/PLATFORMS.md`), including X rate-limit headers and error bodies.
//! May use: webcare-connectors (to sign and check like the platforms do); never used by `serve`.
//!
//! Every request is recorded (method, path, query, `Authorization`, headers, body) so tests can
//! assert on exactly what the desk sent, and faults can be injected one request at a time: 429 with
//! a reset, 500, a slow answer (client timeout), a malformed body, or any Graph/X error.
#![forbid(unsafe_code)]

pub mod oidc;
pub mod zgw;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use webcare_connectors::x::oauth1_verify;
pub use webcare_connectors::x::OAuth1Keys;

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    /// The `Authorization` header, verbatim.
    pub auth: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body as JSON (`Null` when it is not JSON).
    pub json: Value,
    /// The fault that answered it, if any.
    pub fault: Option<String>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A fault for the next matching request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// 429 (X) or Graph code 4 (Meta), resetting after `reset_in_s` seconds.
    RateLimited { reset_in_s: i64 },
    /// 500 with the platform's generic error body.
    ServerError,
    /// Answer normally, but only after this delay (the desk's client times out first; the
    /// platform still acted, as a real one would).
    Slow(Duration),
    /// 200 with a truncated JSON body.
    Malformed,
    /// A Graph error: `{"error":{"message","type","code","error_subcode","fbtrace_id"}}`.
    Graph {
        status: u16,
        code: i64,
        subcode: Option<i64>,
        message: String,
    },
    /// An X problem: `{"title","detail","type","status"}`.
    XProblem {
        status: u16,
        problem_type: String,
        title: String,
        detail: String,
    },
}

impl Fault {
    /// WhatsApp outside the 24-hour window.
    pub fn whatsapp_re_engagement() -> Fault {
        Fault::Graph {
            status: 400,
            code: 131047,
            subcode: None,
            message: "Re-engagement message".into(),
        }
    }
    /// Messenger outside the allowed window.
    pub fn messenger_outside_window() -> Fault {
        Fault::Graph {
            status: 400,
            code: 10,
            subcode: Some(2018278),
            message: "(#10) This message is sent outside of allowed window.".into(),
        }
    }
    /// An expired page token.
    pub fn invalid_token() -> Fault {
        Fault::Graph {
            status: 400,
            code: 190,
            subcode: Some(463),
            message: "Error validating access token: Session has expired".into(),
        }
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    faults: Vec<(String, String, Fault)>,
    next: u64,
    x_user_id: String,
    /// Mentions, oldest first.
    mentions: Vec<Value>,
    users: Vec<Value>,
    /// DM events, oldest first.
    dm_events: Vec<Value>,
    /// Our own posts (replies sent through `POST /2/tweets`), oldest first.
    our_tweets: Vec<Value>,
    deleted: HashSet<String>,
    /// When set, the `api` callback answers every send with this message id (a receiver that
    /// acknowledges with a fixed id); otherwise `cb-<n>`.
    callback_id: Option<String>,
    /// When set, X's user-context endpoints (posting, DMs) demand a valid OAuth 1.0a signature
    /// made with these keys, as X does; otherwise they take any `Authorization`.
    x_oauth1: Option<OAuth1Keys>,
}

/// The running fake. Dropping it stops the server.
pub struct FakePlatforms {
    /// `http://127.0.0.1:<port>`: use as the channel account's `apiBaseUrl`.
    pub base: String,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakePlatforms {
    pub async fn start() -> std::io::Result<FakePlatforms> {
        Self::start_on("127.0.0.1:0").await
    }

    pub async fn start_on(addr: &str) -> std::io::Result<FakePlatforms> {
        let state = Arc::new(Mutex::new(State {
            next: 1,
            ..Default::default()
        }));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let s = state.clone();
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let s = s.clone();
                async move { handle(s, method, uri, headers, body).await }
            },
        );
        Ok(FakePlatforms {
            base,
            state,
            stop: Some(serve(listener, app)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Requests with `method` whose path contains `path_part`.
    pub fn requests_to(&self, method: &str, path_part: &str) -> Vec<Recorded> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.method == method && r.path.contains(path_part))
            .cloned()
            .collect()
    }

    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    /// The next `method` request whose path contains `path_part` gets `fault` (each injected fault
    /// answers one request; inject several for several).
    pub fn inject(&self, method: &str, path_part: &str, fault: Fault) {
        self.lock()
            .faults
            .push((method.to_owned(), path_part.to_owned(), fault));
    }

    /// Demand OAuth 1.0a signatures with these keys on posting and DM endpoints.
    pub fn x_require_oauth1(&self, keys: OAuth1Keys) {
        self.lock().x_oauth1 = Some(keys);
    }

    /// The `api` callback answers every send with `{"id": id}` (the same id each time).
    pub fn callback_answers_id(&self, id: &str) {
        self.lock().callback_id = Some(id.to_owned());
    }

    /// Our X account's user id (for DM events we send and our own tweets).
    pub fn x_set_user(&self, our_user_id: &str) {
        self.lock().x_user_id = our_user_id.to_owned();
    }

    /// A user for `includes.users`.
    pub fn x_add_user(&self, id: &str, username: &str, name: &str) {
        self.lock()
            .users
            .push(json!({"id": id, "username": username, "name": name}));
    }

    /// A mention (v2 tweet object); newer ids later.
    pub fn x_add_mention(&self, tweet: Value) {
        self.lock().mentions.push(tweet);
    }

    /// An edit: the tweet `original` gets a new version `new_id` with `text`; timelines now show
    /// only the new version.
    pub fn x_edit(&self, original: &str, new_id: &str, text: &str) {
        let mut s = self.lock();
        let Some(pos) = s
            .mentions
            .iter()
            .position(|t| t["id"] == original || t["edit_history_tweet_ids"][0] == original)
        else {
            return;
        };
        let mut t = s.mentions.remove(pos);
        let mut hist = t["edit_history_tweet_ids"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| vec![json!(original)]);
        hist.push(json!(new_id));
        t["id"] = json!(new_id);
        t["text"] = json!(text);
        t["edit_history_tweet_ids"] = Value::Array(hist);
        s.mentions.push(t);
    }

    /// Deletes a tweet: lookups answer `resource-not-found`, timelines drop it.
    pub fn x_delete(&self, id: &str) {
        let mut s = self.lock();
        s.deleted.insert(id.to_owned());
        s.mentions.retain(|t| t["id"] != id);
    }

    /// A DM event (v2 `MessageCreate` object); newer later.
    pub fn x_add_dm_event(&self, event: Value) {
        self.lock().dm_events.push(event);
    }

    /// Our own tweets as `GET /2/users/:id/tweets` shows them.
    pub fn x_our_tweets(&self) -> Vec<Value> {
        self.lock().our_tweets.clone()
    }
}

impl Drop for FakePlatforms {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Serves `app` on `listener` until the answered sender is used or dropped.
pub(crate) fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
) -> tokio::sync::oneshot::Sender<()> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    stop
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn json_response(status: StatusCode, body: Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

fn with_rate_headers(mut r: Response, remaining: u64, reset: i64) -> Response {
    let h = r.headers_mut();
    h.insert("x-rate-limit-limit", HeaderValue::from(450u64));
    h.insert("x-rate-limit-remaining", HeaderValue::from(remaining));
    h.insert("x-rate-limit-reset", HeaderValue::from(reset));
    r
}

fn graph_error(status: u16, code: i64, subcode: Option<i64>, message: &str) -> Response {
    let mut err = json!({
        "message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AFakeTraceId123",
    });
    if let Some(s) = subcode {
        err["error_subcode"] = json!(s);
    }
    if matches!(code, 1 | 2 | 4 | 17) {
        err["is_transient"] = json!(true);
    }
    if code >= 130000 {
        err["error_data"] = json!({"messaging_product": "whatsapp", "details": message});
    }
    json_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        json!({ "error": err }),
    )
}

fn x_problem(status: u16, problem_type: &str, title: &str, detail: &str) -> Response {
    let mut r = json_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        json!({"title": title, "detail": detail, "type": problem_type, "status": status}),
    );
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

async fn handle(
    state: Arc<Mutex<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or("").to_owned();
    let is_x = path.starts_with("/2/");
    let fault = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        let pos = s
            .faults
            .iter()
            .position(|(m, p, _)| m.eq_ignore_ascii_case(method.as_str()) && path.contains(p));
        let fault = pos.map(|i| s.faults.remove(i).2);
        s.requests.push(Recorded {
            method: method.to_string(),
            path: path.clone(),
            query: query.clone(),
            auth: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect(),
            json: serde_json::from_slice(&body).unwrap_or(Value::Null),
            body: body.to_vec(),
            fault: fault.as_ref().map(|f| format!("{f:?}")),
        });
        fault
    };
    let reset = now_s() + 900;
    match fault {
        Some(Fault::RateLimited { reset_in_s }) => {
            let reset = now_s() + reset_in_s;
            return if is_x {
                with_rate_headers(
                    x_problem(429, "about:blank", "Too Many Requests", "Too Many Requests"),
                    0,
                    reset,
                )
            } else {
                let mut r = graph_error(400, 4, None, "(#4) Application request limit reached");
                r.headers_mut()
                    .insert("retry-after", HeaderValue::from(reset_in_s.max(0)));
                r
            };
        }
        Some(Fault::ServerError) => {
            return if is_x {
                x_problem(
                    500,
                    "about:blank",
                    "Internal Server Error",
                    "Internal Server Error",
                )
            } else {
                graph_error(
                    500,
                    2,
                    None,
                    "An unexpected error has occurred. Please retry your request later.",
                )
            };
        }
        Some(Fault::Malformed) => {
            return json_response_raw(StatusCode::OK, "{\"id\": \"12");
        }
        Some(Fault::Graph {
            status,
            code,
            subcode,
            message,
        }) => return graph_error(status, code, subcode, &message),
        Some(Fault::XProblem {
            status,
            problem_type,
            title,
            detail,
        }) => {
            return with_rate_headers(
                x_problem(status, &problem_type, &title, &detail),
                100,
                reset,
            )
        }
        Some(Fault::Slow(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(keys) = &s.x_oauth1 {
        if x_user_context(method.as_str(), &path) && !oauth1_ok(keys, &method, &uri, &headers) {
            // X's answer to a missing or bad signature.
            return x_problem(401, "about:blank", "Unauthorized", "Unauthorized");
        }
    }
    let n = s.next;
    s.next += 1;
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), pct_decode(v))
        })
        .collect();
    let param = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    match (method.as_str(), segs.as_slice()) {
        // ---------------------------------------------------------------- Graph / WhatsApp
        ("POST", [v, id, "comments"]) if v.starts_with('v') => {
            if json["message"].as_str().is_none_or(str::is_empty) {
                return graph_error(400, 100, None, "(#100) Missing message");
            }
            let prefix = id.split('_').next().unwrap_or(id);
            json_response(StatusCode::OK, json!({"id": format!("{prefix}_{}", 900_000 + n)}))
        }
        ("POST", [v, _id, "replies"]) if v.starts_with('v') => {
            json_response(StatusCode::OK, json!({"id": format!("{}", 17_900_000_000u64 + n)}))
        }
        ("POST", [v, _id, "messages"]) if v.starts_with('v') => {
            if json["messaging_product"] == "whatsapp" {
                let to = json["to"].as_str().unwrap_or("").to_owned();
                json_response(
                    StatusCode::OK,
                    json!({"messaging_product": "whatsapp",
                        "contacts": [{"input": to, "wa_id": to}],
                        "messages": [{"id": format!("wamid.FAKE{n:08}"), "message_status": "accepted"}]}),
                )
            } else {
                let rid = json["recipient"]["id"]
                    .as_str()
                    .or(json["recipient"]["comment_id"].as_str())
                    .unwrap_or("")
                    .to_owned();
                json_response(
                    StatusCode::OK,
                    json!({"recipient_id": rid, "message_id": format!("m_fake{n:08}")}),
                )
            }
        }
        // ---------------------------------------------------------------- X
        ("POST", ["2", "tweets"]) => {
            let id = format!("{}", 1_900_000_000_000_000_000u64 + n);
            let text = json["text"].as_str().unwrap_or("").to_owned();
            let mut tweet = json!({"id": id, "text": text, "author_id": s.x_user_id,
                "edit_history_tweet_ids": [id], "created_at": "2026-03-10T09:00:00.000Z"});
            if let Some(to) = json["reply"]["in_reply_to_tweet_id"].as_str() {
                tweet["referenced_tweets"] = json!([{"type": "replied_to", "id": to}]);
            }
            s.our_tweets.push(tweet);
            with_rate_headers(
                json_response(
                    StatusCode::CREATED,
                    json!({"data": {"id": id, "text": text, "edit_history_tweet_ids": [id]}}),
                ),
                99,
                reset,
            )
        }
        ("POST", ["2", "dm_conversations", "with", pid, "messages"]) => {
            let id = format!("{}", 1_800_000_000_000_000_000u64 + n);
            let ours = s.x_user_id.clone();
            let conv = dm_conv(&ours, pid);
            let text = json["text"].as_str().unwrap_or("").to_owned();
            s.dm_events.push(json!({"id": id, "event_type": "MessageCreate", "text": text,
                "sender_id": ours, "participant_ids": [ours, pid], "dm_conversation_id": conv,
                "created_at": "2026-03-10T09:00:00.000Z"}));
            with_rate_headers(
                json_response(
                    StatusCode::CREATED,
                    json!({"data": {"dm_conversation_id": conv, "dm_event_id": id}}),
                ),
                14,
                reset,
            )
        }
        ("GET", ["2", "users", _id, "mentions"]) => {
            let since = param("since_id").and_then(|v| v.parse::<u128>().ok());
            let items: Vec<Value> = s
                .mentions
                .iter()
                .rev()
                .filter(|t| {
                    let id = t["id"].as_str().and_then(|v| v.parse::<u128>().ok()).unwrap_or(0);
                    since.is_none_or(|sid| id > sid)
                })
                .cloned()
                .collect();
            let users = s.users.clone();
            with_rate_headers(page(items, &param, Some(users), true), 449, reset)
        }
        ("GET", ["2", "users", _id, "tweets"]) => {
            let items: Vec<Value> = s.our_tweets.iter().rev().cloned().collect();
            with_rate_headers(page(items, &param, None, true), 899, reset)
        }
        ("GET", ["2", "dm_events"]) => {
            let items: Vec<Value> = s.dm_events.iter().rev().cloned().collect();
            let users = s.users.clone();
            with_rate_headers(page(items, &param, Some(users), false), 14, reset)
        }
        ("GET", ["2", "tweets"]) => {
            let ids = param("ids").unwrap_or_default();
            let mut data = Vec::new();
            let mut errors = Vec::new();
            for id in ids.split(',').filter(|i| !i.is_empty()) {
                let found = s
                    .mentions
                    .iter()
                    .chain(s.our_tweets.iter())
                    .find(|t| {
                        t["id"] == id
                            || t["edit_history_tweet_ids"]
                                .as_array()
                                .is_some_and(|h| h.iter().any(|x| x == id))
                    })
                    .filter(|_| !s.deleted.contains(id));
                match found {
                    Some(t) => data.push(t.clone()),
                    None => errors.push(json!({
                        "value": id, "detail": format!("Could not find tweet with ids: [{id}]."),
                        "title": "Not Found Error", "resource_type": "tweet", "parameter": "ids",
                        "resource_id": id, "type": "https://api.twitter.com/2/problems/resource-not-found"})),
                }
            }
            let mut body = json!({});
            if !data.is_empty() {
                body["data"] = Value::Array(data);
            }
            if !errors.is_empty() {
                body["errors"] = Value::Array(errors);
            }
            with_rate_headers(json_response(StatusCode::OK, body), 299, reset)
        }
        // ---------------------------------------------------------------- hide and delete
        // Graph: hide a comment (`is_hidden` on Facebook, `hide` on Instagram) or delete one.
        ("POST", [v, _id]) if v.starts_with('v') && (json["is_hidden"] == true || json["hide"] == true) => {
            json_response(StatusCode::OK, json!({"success": true}))
        }
        ("DELETE", [v, _id]) if v.starts_with('v') => {
            json_response(StatusCode::OK, json!({"success": true}))
        }
        ("DELETE", ["2", "tweets", id]) => {
            s.deleted.insert((*id).to_owned());
            with_rate_headers(
                json_response(StatusCode::OK, json!({"data": {"deleted": true}})),
                49,
                reset,
            )
        }
        // ---------------------------------------------------------------- api channel callback
        ("POST", ["callback", ..]) => {
            let id = s.callback_id.clone().unwrap_or_else(|| format!("cb-{n}"));
            json_response(StatusCode::OK, json!({ "id": id }))
        }
        _ if is_x => with_rate_headers(
            x_problem(
                404,
                "about:blank",
                "Not Found",
                "Sorry, that page does not exist.",
            ),
            100,
            reset,
        ),
        _ => graph_error(
            400,
            100,
            Some(33),
            "Unsupported post request. Object does not exist, cannot be loaded due to missing permissions, or does not support this operation",
        ),
    }
}

/// Endpoints X serves only in user context.
fn x_user_context(method: &str, path: &str) -> bool {
    (method == "POST" && (path == "/2/tweets" || path.starts_with("/2/dm_conversations/")))
        || path.starts_with("/2/dm_events")
}

/// Verifies the signature over the URL as the client addressed it.
fn oauth1_ok(keys: &OAuth1Keys, method: &Method, uri: &Uri, headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(host), Some(auth)) = (header("host"), header("authorization")) else {
        return false;
    };
    let url = match uri.query() {
        Some(q) => format!("http://{host}{}?{q}", uri.path()),
        None => format!("http://{host}{}", uri.path()),
    };
    oauth1_verify(keys, method.as_str(), &url, auth)
}

fn json_response_raw(status: StatusCode, body: &'static str) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

fn dm_conv(a: &str, b: &str) -> String {
    let key = |s: &str| (s.parse::<u128>().unwrap_or(0), s.to_owned());
    if key(a) <= key(b) {
        format!("{a}-{b}")
    } else {
        format!("{b}-{a}")
    }
}

/// A v2 page over `items` (newest first): `max_results` (default 10), `pagination_token` = offset.
fn page(
    items: Vec<Value>,
    param: &dyn Fn(&str) -> Option<String>,
    users: Option<Vec<Value>>,
    ids_meta: bool,
) -> Response {
    let max = param("max_results")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(10)
        .clamp(1, 100);
    let offset = param("pagination_token")
        .and_then(|v| v.strip_prefix("tok").and_then(|n| n.parse::<usize>().ok()))
        .unwrap_or(0);
    let slice: Vec<Value> = items.iter().skip(offset).take(max).cloned().collect();
    if slice.is_empty() {
        return json_response(StatusCode::OK, json!({"meta": {"result_count": 0}}));
    }
    let mut meta = json!({"result_count": slice.len()});
    if ids_meta {
        meta["newest_id"] = slice[0]["id"].clone();
        meta["oldest_id"] = slice[slice.len() - 1]["id"].clone();
    }
    if offset + max < items.len() {
        meta["next_token"] = json!(format!("tok{}", offset + max));
    }
    let mut body = json!({"data": slice, "meta": meta});
    if let Some(u) = users {
        body["includes"] = json!({ "users": u });
    }
    json_response(StatusCode::OK, body)
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match h {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
