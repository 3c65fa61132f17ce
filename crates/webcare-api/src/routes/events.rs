//! `GET /api/v1/events`: Server-Sent Events of what the caller may see, resumable with
//! `Last-Event-ID`, with heartbeats.

use crate::auth::{roles, Authorized};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::{self, Stream, StreamExt};
use std::convert::Infallible;
use std::time::Duration;
use tokio_stream::wrappers::BroadcastStream;
use webcare_desk::live::may_see;
use webcare_store::agent_events::EventRecord;

/// One open stream, for the `webcare_sse_subscribers` gauge.
struct Subscriber;

impl Subscriber {
    fn new() -> Self {
        metrics::gauge!(crate::metrics::SSE_SUBSCRIBERS).increment(1.0);
        Subscriber
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        metrics::gauge!(crate::metrics::SSE_SUBSCRIBERS).decrement(1.0);
    }
}

fn to_sse(e: &EventRecord) -> Event {
    let data = serde_json::json!({
        "seq": e.seq,
        "at": e.at,
        "type": e.event.kind,
        "caseId": e.event.case_id,
        "data": e.event.payload,
    });
    Event::default()
        .id(e.seq.to_string())
        .event(e.event.kind.clone())
        .data(data.to_string())
}

/// The live event stream (`text/event-stream`): `case.created`, `case.updated`,
/// `message.received`, `reply.updated`, `sla.warning`, `sla.breached`, ... Each event's `id` is its sequence
/// number; reconnect with `Last-Event-ID` to get what was missed. A comment line every 15 s keeps
/// the connection alive.
#[utoipa::path(
    get, path = "/api/v1/events", tag = "events",
    params(("Last-Event-ID" = Option<i64>, Header, description = "Resume after this event")),
    responses((status = 200, description = "An event stream", content_type = "text/event-stream"),
              (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn stream_events(
    State(state): State<AppState>,
    p: Authorized<roles::ReadScopedCases>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let last: Option<i64> = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .filter(|n: &i64| *n >= 0)
                .ok_or_else(|| {
                    ApiError::invalid("Last-Event-ID", "invalid", "an event id from this stream")
                })?,
        ),
    };
    // Subscribe before reading the backlog, so nothing falls between the two.
    let live = BroadcastStream::new(state.store.subscribe_events());
    let mut backlog = Vec::new();
    let mut upto = last.unwrap_or(i64::MAX);
    if let Some(mut after) = last {
        loop {
            let page = state.store.events_after(after, 500).await?;
            let done = page.len() < 500;
            if let Some(l) = page.last() {
                after = l.seq;
            }
            backlog.extend(page);
            if done || backlog.len() >= 10_000 {
                break;
            }
        }
        upto = after;
    }
    let principal = p.0.clone();
    let principal2 = p.0.clone();
    let replay = stream::iter(
        backlog
            .into_iter()
            .filter(move |e| may_see(&principal, &e.event))
            .map(|e| Ok(to_sse(&e))),
    );
    // Counted while the stream lives: the guard goes with the stream when the client leaves.
    let subscribed = Subscriber::new();
    let live = live.filter_map(move |r| {
        let _ = &subscribed;
        let out = match r {
            // Skip what the backlog already had; a lagging client loses live events but can
            // reconnect with its last id.
            Ok(e) if (last.is_none() || e.seq > upto) && may_see(&principal2, &e.event) => {
                Some(Ok(to_sse(&e)))
            }
            _ => None,
        };
        async move { out }
    });
    Ok(Sse::new(replay.chain(live)).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("heartbeat"),
    ))
}
