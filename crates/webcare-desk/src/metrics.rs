//! The names of the Prometheus metrics the desk records (through the `metrics` facade; the
//! binary installs the exporter and serves `/metrics` when configured, else recording is a
//! no-op). One place for the names, so the dashboard in `deploy/` and the code agree.

/// Counter: HTTP requests by `method`, `route` (the route template, `unmatched` for 404s) and
/// `status`.
pub const HTTP_REQUESTS: &str = "webcare_http_requests_total";
/// Histogram (seconds): time to the response head, by `method` and `route`.
pub const HTTP_DURATION: &str = "webcare_http_request_duration_seconds";
/// Counter: webhook deliveries journaled, by `source`.
pub const WEBHOOK_ACCEPTED: &str = "webcare_webhook_deliveries_accepted_total";
/// Counter: messages handed to the ingestor, by `outcome`: `stored`, `duplicate`, `failed`.
pub const INGEST_MESSAGES: &str = "webcare_ingest_messages_total";
/// Counter: messages corrected by the input contract, by `flag`.
pub const INGEST_CORRECTED: &str = "webcare_ingest_corrected_total";
/// Counter: items of accepted deliveries not stored (unknown account, refused).
pub const INGEST_REJECTED: &str = "webcare_ingest_rejected_items_total";
/// Counter: journal entries parked as failed.
pub const JOURNAL_PARKED: &str = "webcare_journal_parked_total";
/// Gauges, sampled at scrape time: journal entries pending, parked (failed), and the age in
/// seconds of the oldest pending one.
pub const JOURNAL_PENDING: &str = "webcare_journal_pending";
pub const JOURNAL_FAILED: &str = "webcare_journal_failed";
pub const JOURNAL_OLDEST_PENDING_AGE: &str = "webcare_journal_oldest_pending_age_seconds";
/// Counter: outbox send results by `platform` and `result`: `sent`, `retry`, `failed`.
pub const OUTBOX_RESULTS: &str = "webcare_outbox_results_total";
/// Counter: SLA alerts delivered, by `status` (`warning`, `breached`).
pub const SLA_ALERTS: &str = "webcare_sla_alerts_total";
/// Histogram (seconds): how long after its due time an SLA alert was recorded (timer lag).
pub const SLA_TIMER_LAG: &str = "webcare_sla_timer_lag_seconds";
/// Gauge: open live-event (SSE) streams.
pub const SSE_SUBSCRIBERS: &str = "webcare_sse_subscribers";
/// Gauges, sampled at scrape time: database connections open and in use.
pub const DB_CONNECTIONS_OPEN: &str = "webcare_db_connections_open";
pub const DB_CONNECTIONS_IN_USE: &str = "webcare_db_connections_in_use";
/// Gauges, sampled at scrape time: replies waiting in the outbox (`pending` or being sent) and
/// parked as failed.
pub const OUTBOX_PENDING: &str = "webcare_outbox_pending";
pub const OUTBOX_FAILED: &str = "webcare_outbox_failed";
/// Gauge, sampled at scrape time: SLA clocks with a warning or breach still to fire (the
/// timer's queue).
pub const SLA_CLOCKS_ARMED: &str = "webcare_sla_clocks_armed";
/// Gauge, sampled at scrape time: outbound webhook deliveries not yet delivered.
pub const WEBHOOK_DELIVERIES_PENDING: &str = "webcare_webhook_deliveries_pending";
/// Gauge: when a poller last finished a poll of an account, as a Unix time, by `platform` and
/// `account` (poller lag: `time() - webcare_poller_last_success_timestamp_seconds`).
pub const POLLER_LAST_SUCCESS: &str = "webcare_poller_last_success_timestamp_seconds";
/// Counter: polls stopped by the platform's rate limit, by `platform`.
pub const POLLER_RATE_LIMITED: &str = "webcare_poller_rate_limited_total";
/// Counter: seconds pollers waited for a rate-limit reset, by `platform`.
pub const POLLER_RATE_LIMIT_WAIT: &str = "webcare_poller_rate_limit_wait_seconds_total";
/// Histogram (seconds): a write transaction's wait for its connection (recorded by the store).
pub use webcare_store::DB_BEGIN_WAIT;
